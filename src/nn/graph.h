/* src/nn/graph.h — the graph layer's internals: values (inputs, op outputs), nodes, parameters,
 * the table that describes each op kind (shape inference, forward, backward, attribute names for
 * model files), and the per-batch execution state that ops read and write. Shared by graph.c
 * (builder), op_*.c (one table per op family), autodiff.c (backward schedule), model*.c (a graph
 * on a context). */
#ifndef CLNN_NN_GRAPH_INTERNAL_H
#define CLNN_NN_GRAPH_INTERNAL_H

#include "nn/nn_common.h"

#define CLNN__G_NAME_MAX 64   /* node and value names: 1..63 characters */
#define CLNN__G_PNAME_MAX 80  /* "<node>.<role>" */
#define CLNN__G_MAX_IN 16     /* inputs of one node (concat) */
#define CLNN__G_MAX_OUT 16    /* outputs of one node (split) */
#define CLNN__G_MAX_PARAMS 8  /* parameters and state tensors of one node */
#define CLNN__G_IATTRS 16
#define CLNN__G_FATTRS 4
#define CLNN__G_SLOTS 24      /* per-node scratch buffers and views per batch plan */
#define CLNN__G_PLANS 4

typedef struct clnn__graph clnn__graph;
typedef struct clnn__gexec clnn__gexec;
typedef struct clnn__gnode clnn__gnode;

typedef enum clnn__ginit {
  CLNN__GINIT_ZERO = 0,
  CLNN__GINIT_ONE,
  CLNN__GINIT_FAN,        /* He-normal when followed by a ReLU-family activation, else Glorot */
  CLNN__GINIT_LSTM_BIAS,  /* zero, forget-gate quarter one */
  CLNN__GINIT_NORMAL,     /* N(0, 1/fan_in): embeddings (fan_in 1: std 1, as PyTorch) */
  CLNN__GINIT_UNIFORM     /* uniform in +-1/sqrt(fan_in): recurrent layers, as PyTorch */
} clnn__ginit;

typedef struct clnn__gparam {
  char name[CLNN__G_PNAME_MAX];
  int ndim;
  size_t dims[4];
  size_t numel;
  int state;              /* 1: not trained (batch-norm running statistics) */
  clnn__ginit init;
  double fan_in, fan_out; /* for CLNN__GINIT_FAN (fan_in also for NORMAL and UNIFORM) */
  int owner;              /* node that created it */
} clnn__gparam;

typedef struct clnn__gvalue {
  char name[CLNN__G_NAME_MAX];
  clnn_dtype dtype;
  int ndim;               /* per-sample dims (batched) or whole dims (scalar losses: ndim 1, [1]) */
  size_t dims[4];
  int batched;            /* 1: [N, dims...] at run time; 0: a scalar (losses) */
  int producer;           /* node index; -1 for an input */
  int out_index;
} clnn__gvalue;

/* One op kind. Attribute k of a node is n->ia[k] (names in iattr) or n->fa[k] (fattr). */
typedef struct clnn__op {
  const char *kind;                               /* name in model files */
  const char *iattr[CLNN__G_IATTRS];              /* NULL-terminated */
  const char *fattr[CLNN__G_FATTRS];
  int variadic;                                   /* any number of inputs (1..MAX_IN) */
  int num_inputs;                                 /* otherwise exactly this many */
  int num_outputs;                                /* 0: ia[0] outputs (split) */
  /* Checks the node's attributes and input values, sets every output value's dtype and dims,
   * and (when params is nonzero) declares its parameters with clnn__g_param. Errors name the node
   * (clnn__g_fail). */
  clnn_status (*infer)(clnn__graph *g, clnn__gnode *n, int params);
  clnn_status (*forward)(clnn__gexec *x, const clnn__gnode *n);
  /* Adds this node's contribution to its inputs' and parameters' gradients (clnn__g_dx,
   * clnn__g_dparam say where and with which beta). NULL: the op has no gradient. */
  clnn_status (*backward)(clnn__gexec *x, const clnn__gnode *n);
  /* The output count when it depends on the attributes (the recurrent nodes: y, then h_n and the
   * LSTM's c_n with state outputs); NULL: num_outputs, or ia[0] when that is 0. */
  int (*count_outputs)(const int *ia);
} clnn__op;

struct clnn__gnode {
  const clnn__op *op;
  char name[CLNN__G_NAME_MAX];
  int num_in, num_out;
  int in[CLNN__G_MAX_IN];
  int out[CLNN__G_MAX_OUT];
  int ia[CLNN__G_IATTRS];
  float fa[CLNN__G_FATTRS];
  int num_params;
  int param[CLNN__G_MAX_PARAMS];  /* indices into the graph's parameters */
  int shares;                     /* -1, or the node whose parameters this one uses */
};

typedef struct clnn__gloss {
  int value;
  float weight;
} clnn__gloss;

struct clnn__graph {
  clnn__gvalue *values;
  int num_values, cap_values;
  clnn__gnode *nodes;
  int num_nodes, cap_nodes;
  clnn__gparam *params;
  int num_params, cap_params;
  int *inputs;          /* value ids of the inputs, in creation order */
  int num_inputs, cap_inputs;
  int *outputs;
  int num_outputs, cap_outputs;
  clnn__gloss *losses;
  int num_losses, cap_losses;
  int pending_params;      /* declared by the node being added, not yet committed */
};

/* The public handle wraps the internal graph (the model keeps its own copy). */
struct clnn_graph {
  clnn__graph g;
};

/* ---- op tables (op_*.c) ---- */
extern const clnn__op clnn__op_conv2d, clnn__op_conv_transpose2d, clnn__op_pool2d,
    clnn__op_global_avgpool, clnn__op_dense, clnn__op_activation, clnn__op_dropout,
    clnn__op_softmax, clnn__op_batchnorm, clnn__op_lstm, clnn__op_add, clnn__op_mul,
    clnn__op_scale, clnn__op_concat, clnn__op_slice, clnn__op_reshape, clnn__op_permute,
    clnn__op_loss, clnn__op_mean;
/* sequence ops (op_seq.c) */
extern const clnn__op clnn__op_embedding, clnn__op_layer_norm, clnn__op_rms_norm,
    clnn__op_attention;
/* the GRU node (op_rnn.c, with the LSTM) */
extern const clnn__op clnn__op_gru;
/* Every op kind, NULL-terminated (model files name them by kind). */
extern const clnn__op *const clnn__ops[];
const clnn__op *clnn__op_find(const char *kind);

/* ---- graph.c ---- */
void clnn__g_init(clnn__graph *g);
void clnn__g_free(clnn__graph *g);
clnn_status clnn__g_copy(clnn__graph *dst, const clnn__graph *src);
/* Checks a value id of g (name the argument in the message). */
clnn_status clnn__g_check_value(const clnn__graph *g, int v, const char *node, const char *arg);
/* Adds a node of kind `op` with inputs `in`, attributes and a name (NULL: automatic "<kind><k>")
 * after checking it with op->infer; on success *outs receive the output value ids (outs may be
 * NULL). shares: -1 or a node whose parameters the new node uses (same kind and attributes,
 * parameter shapes must match). On failure the graph is unchanged. */
clnn_status clnn__g_add_node(clnn__graph *g, const clnn__op *op, const char *name, int num_in,
                             const int *in, const int *ia, const float *fa, int shares,
                             int *outs, const char *fn);
/* For infer: declares parameter `role` of the node being added ("weight", "bias", ...). */
clnn_status clnn__g_param(clnn__graph *g, clnn__gnode *n, const char *role, int ndim,
                          const size_t *dims, int state, clnn__ginit init, double fan_in,
                          double fan_out);
/* For infer: a CLNN_ERROR_SHAPE_MISMATCH (or `status`) naming the node, its kind and the problem. */
clnn_status clnn__g_fail(const clnn__gnode *n, clnn_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* For infer: the input value k of n and the output value k. */
clnn__gvalue *clnn__g_in(clnn__graph *g, const clnn__gnode *n, int k);
clnn__gvalue *clnn__g_out(clnn__graph *g, const clnn__gnode *n, int k);
/* "[N, 3, 8, 8]"-style text of a value's shape. */
const char *clnn__g_shape_str(const clnn__gvalue *v, char *buf, size_t size);
/* Normalises a per-sample axis (negative counts from the end); -1 if out of range. */
int clnn__g_axis(int axis, int ndim);
int clnn__g_find_node(const clnn__graph *g, const char *name);
int clnn__g_find_value(const clnn__graph *g, const char *name);
int clnn__g_name_ok(const char *name);

/* ---- net_graph.c ---- */
/* The sequential network's layers as a graph (same names and parameters, input "input", the
 * network's loss against "label" or "target", the last layer as output). */
/* for_model: the graph the network trains as (inputs "label" and "target", no loss node: the
 * loss is the model's outside the graph); otherwise the graph files describe it with. */
clnn_status clnn__nn_to_graph(const clnn_net *net, int for_model, clnn_graph **out);

/* ---- execution state (model.c) ---- */
/* Per-batch state an op sees: full-shape device views of values and gradients, parameters,
 * scratch buffers. Ops call these; they never touch the model's fields. */
clnn_context *clnn__g_ctx(const clnn__gexec *x);
size_t clnn__g_batch(const clnn__gexec *x);
int clnn__g_training(const clnn__gexec *x);
/* The value's [N, dims...] tensor (NULL for int32 values, which stay on the host). */
clnn_tensor *clnn__g_val(clnn__gexec *x, int v);
/* Host ids of an int32 input value for this batch (batch * numel entries). */
const int32_t *clnn__g_ids(clnn__gexec *x, int v, size_t *count);
/* Gradient of value v (NULL when no gradient flows there). */
clnn_tensor *clnn__g_grad(clnn__gexec *x, int v);
/* Whether input k of n needs a gradient; when it does, *dx and *beta say where to write
 * (beta 0 for the first contribution, then 1). Call once per contribution. */
int clnn__g_dx(clnn__gexec *x, const clnn__gnode *n, int k, clnn_tensor **dx, float *beta);
/* Parameter k of the node: value tensor. */
clnn_tensor *clnn__g_pval(clnn__gexec *x, const clnn__gnode *n, int k);
/* Whether parameter k is trained; when it is, *grad and *beta as for clnn__g_dx. */
int clnn__g_dparam(clnn__gexec *x, const clnn__gnode *n, int k, clnn_tensor **grad, float *beta);
/* A view of tensor t with other dims (same or fewer elements), cached in slot `slot` of the
 * node for this batch plan. */
clnn_status clnn__g_view(clnn__gexec *x, const clnn__gnode *n, int slot, const clnn_tensor *t,
                         int ndim, const size_t *dims, clnn_tensor **out);
/* A device buffer owned by the node for this batch plan (slot 0..SLOTS-1), allocated on first
 * use with these dims; kept from forward to backward. */
clnn_status clnn__g_scratch(clnn__gexec *x, const clnn__gnode *n, int slot, int ndim,
                            const size_t *dims, clnn_tensor **out);
/* Stream seed and offset for a dropout node (stable across runs for the same seed and name). */
void clnn__g_dropout_key(const clnn__gexec *x, const clnn__gnode *n, uint64_t *seed,
                         uint64_t *offset);
/* The weight of loss value v in the objective (0 when not a loss) plus any caller-supplied seed. */
float clnn__g_loss_weight(const clnn__gexec *x, int v);

/* Full [N, dims...] dims of value v for batch N; returns ndim. */
int clnn__g_full_dims(const clnn__gvalue *v, size_t batch, size_t *dims);

#endif /* CLNN_NN_GRAPH_INTERNAL_H */
