/* src/nn/nn_internal.h — what the sequential network's files (net.c, net_train.c, net_graph.c,
 * net_parallel.c, layers.c, checkpoint.c) share: the network, layer and parameter structs and
 * their cross-file entry points (prefix clnn__nn_, so the shared library does not export them).
 * What graph models, datasets and the multi-device executor share too is in nn_common.h, which
 * does not know the network's structs. */
#ifndef CLNN_NN_INTERNAL_H
#define CLNN_NN_INTERNAL_H

#include "nn/nn_common.h"

#include <stddef.h>
#include <stdint.h>

#define CLNN__NN_NAME_MAX 48   /* layer names: 1..47 characters */
#define CLNN__NN_PNAME_MAX 80  /* "<layer>.<role>" */
#define CLNN__NN_MAX_LPARAMS 6 /* parameters and state tensors one layer owns */

typedef enum clnn__nn_kind {
  CLNN__NN_CONV = 0,
  CLNN__NN_CONVT,
  CLNN__NN_MAXPOOL,
  CLNN__NN_AVGPOOL,
  CLNN__NN_GAP,
  CLNN__NN_DENSE,
  CLNN__NN_ACT,
  CLNN__NN_DROPOUT,
  CLNN__NN_BN,
  CLNN__NN_FLATTEN,
  CLNN__NN_LSTM
} clnn__nn_kind;

/* Parameter roles (their names after the layer's: "conv1.weight"). */
typedef enum clnn__nn_role {
  CLNN__NN_WEIGHT = 0,
  CLNN__NN_BIAS,
  CLNN__NN_WEIGHT_IH,
  CLNN__NN_WEIGHT_HH,
  CLNN__NN_RUNNING_MEAN,
  CLNN__NN_RUNNING_VAR
} clnn__nn_role;

typedef struct clnn__nn_layer {
  clnn__nn_kind kind;
  char name[CLNN__NN_NAME_MAX];
  /* per-sample shapes; seq: 1 time-major sequence [T, F] on the device, 0 not, -1 "whatever the
   * network input turns out to be" (elementwise layers placed before anything decides it) */
  int in_ndim, out_ndim;
  size_t in_dims[4], out_dims[4];
  int in_seq, out_seq;
  /* configuration */
  int out_channels, kh, kw, has_bias; /* conv, conv transpose */
  clnn_conv2d_params conv;
  clnn_pool2d_params pool;
  clnn_activation act;
  float alpha;
  float p;                            /* dropout */
  float momentum, eps;                /* batch norm */
  int hidden, return_seq;             /* LSTM */
  int units;                          /* dense */
  /* parameters: indices into net->params, in role order */
  int num_params;
  int pidx[CLNN__NN_MAX_LPARAMS];
  /* the names "<layer>.<role>" of its parameter and state tensors, in role order, kept by
   * clnn__nn_name_params when the layer is added or renamed: the inspection calls (const) read
   * them before the network is finalised */
  int num_pnames;
  char pnames[CLNN__NN_MAX_LPARAMS][CLNN__NN_PNAME_MAX];
  unsigned pstate; /* bit r: pnames[r] is state (batch-norm running statistics), not trainable */
} clnn__nn_layer;

typedef struct clnn__nn_param {
  char name[CLNN__NN_PNAME_MAX];
  int layer;
  clnn__nn_role role;
  int trainable;      /* 0: state (batch-norm running statistics) */
  int ndim;
  size_t dims[4];
  size_t numel;
  clnn_tensor *value; /* owned */
  clnn_tensor *grad;  /* owned; NULL for state */
  clnn_tensor *opt[2];/* the model's optimizer slots; NULL when the optimizer has fewer */
} clnn__nn_param;

struct clnn_net {
  clnn__busy busy; /* in use by a thread (training, inference, checkpoints) */
  clnn_context *ctx;
  uint64_t seed;
  int in_ndim;
  size_t in_dims[4];
  int input_seq; /* -1 undecided until a layer decides; finalize makes it 0 */

  clnn__nn_layer *layers;
  int num_layers, cap_layers;

  clnn__nn_param *params; /* created by finalize */
  size_t num_params;
  int finalized;

  clnn_loss loss;
  clnn_optimizer_config opt;
  uint64_t step;           /* optimizer steps taken (Adam's t) */
  uint64_t train_forwards; /* training forwards run (dropout stream offset) */

  /* the network runs as a graph model (src/nn/net_graph.c, model*.c): made at finalisation;
   * params[i].value, .grad and .opt are the model's tensors. The loss (any kind, set any time)
   * is the model's loss outside the graph (model_xloss.c) on the output, with the labels or
   * targets fed to the graph inputs "label" / "target". */
  struct clnn_model *model;
  int in_v, out_v;         /* the model's input and output values */
  int label_v, target_v;   /* its label and target inputs */
  clnn_tensor *loss_t;     /* [1] the last pass's loss (the model's) */
  clnn_tensor *loss_sum;   /* [1] */
  clnn_tensor *state_backup; /* net.c: non-trainable state (batch-norm running statistics) as
                                it was before the current step, restored if the step fails */

  /* several devices (net_parallel.c): the model trains through the multi-device executor
   * (exec.c), made at finalisation on this set with the split asked for before */
  clnn_device_set *devset;     /* NULL: the network's own context */
  clnn_split_mode split_mode;
  double split_w[CLNN_MAX_SET_DEVICES];
  int check_finite;            /* clnn_net_set_check_finite */
};

/* ---- in-memory reader (checkpoint.c): a fuzzing entry point of tests/fuzz/ ---- */
/* clnn_net_load on a whole safetensors file held in memory; `path` names it in messages. */
clnn_status clnn__nn_load_memory(clnn_net *net, const unsigned char *buf, size_t size,
                                 const char *path);

/* ---- layer shapes and names (layers.c) ---- */
/* The resolved seq flag of a layer shape flag. */
int clnn__nn_seq(const clnn_net *net, int flag);
const char *clnn__nn_kind_name(clnn__nn_kind kind);
const char *clnn__nn_role_name(clnn__nn_role role);
/* Fills l->pnames / num_pnames / pstate from its kind and name (the tensors its graph node
 * creates, in the same order). */
void clnn__nn_name_params(clnn__nn_layer *l);

/* ---- layers.c ---- */
/* Appends layer `l` (kind and configuration filled in) after shape inference; on failure returns
 * a status naming the layer and leaves the network unchanged. */
clnn_status clnn__nn_append(clnn_net *net, clnn__nn_layer *l);

/* ---- net.c ---- */
/* Makes the network's graph model, parameter table and optimizer state on first use. */
clnn_status clnn__nn_finalize(clnn_net *net);
/* Resets every optimizer slot to zero. */
clnn_status clnn__nn_opt_reset(clnn_net *net);
/* Checks a training call's arguments for a whole batch (x, batch, labels or targets, and the
 * caller's element counts of x, labels and targets: x_count = batch * input numel, labels_count
 * = batch (* T), targets_count = batch * output numel; the count of the pointer the loss does not
 * use is ignored) and finalises the network; changes nothing else. */
clnn_status clnn__nn_check_train_args(clnn_net *net, const float *x, size_t x_count, size_t batch,
                                      const int32_t *labels, size_t labels_count,
                                      const float *targets, size_t targets_count, const char *fn);
/* The optimizer step on this network alone (clipping, update, step count). */
clnn_status clnn__nn_optimizer_step(clnn_net *net);

/* ---- net_parallel.c ---- */
/* At finalisation: the executor for the network's model on its device set, with its split. */
clnn_status clnn__nn_par_attach(clnn_net *net);

#endif /* CLNN_NN_INTERNAL_H */
