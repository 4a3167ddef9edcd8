/* src/nn/onnx.h — internals of ONNX import and export, shared by onnx_import.c (file
 * reading, tensors, the symbol table, the public entry points), onnx_ops.c (one mapping function
 * per ONNX op type onto the graph builder), onnx_export.c and the tests. Files are read and
 * written with protobuf-c and the code protoc-c generates from Debian's onnx.proto at build time
 * (onnx.pb-c.h in the build tree). */
#ifndef CLNN_ONNX_H
#define CLNN_ONNX_H

#include "nn/graph.h"
#include "nn/model.h"

#include <onnx.pb-c.h>

#define CLNN__OX_MAX_RANK 6      /* ONNX tensors that clnn takes: [N] + up to 4 per-sample dims */
#define CLNN__OX_MIN_OPSET 1
#define CLNN__OX_MAX_OPSET 18
#define CLNN__OX_EXPORT_OPSET 13

/* One ONNX name: a clnn value (batch first: ONNX dims = [N, per-sample dims...]) or a constant
 * (an initializer or a Constant node's output), decoded to float or int64. */
typedef struct clnn__ox_sym {
  const char *name;  /* points into the decoded message */
  int is_const;
  int value;         /* clnn value id (not const) */
  int ndim;          /* const: its ONNX dims */
  int64_t dims[CLNN__OX_MAX_RANK];
  size_t numel;
  float *f;          /* const: float data (or NULL) */
  int64_t *i;        /* const: integer data (or NULL) */
  int layout;        /* value: where ONNX keeps the batch (CLNN__OX_BATCH_FIRST, ...) */
} clnn__ox_sym;

/* Where the batch axis of a value's ONNX shape is, over a batch-first clnn value. An LSTM or GRU
 * of layout 0 reads and writes sequences time-major, so PyTorch's batch_first export brackets it
 * with Transpose(perm 1,0,2) and Squeeze of the direction axis; these layouts let those nodes
 * map onto clnn's batch-first LSTM/GRU without moving data. Other ops refuse such values. */
enum {
  CLNN__OX_BATCH_FIRST = 0, /* ONNX [N, d1, ...] is clnn [d1, ...] */
  CLNN__OX_TIME_MAJOR = 1,  /* ONNX [T, N, d...] is clnn [T, d...] */
  CLNN__OX_SEQ_DIR = 2,     /* ONNX [T, 1, N, H] (an LSTM's or GRU's Y) is clnn [T, H] */
  CLNN__OX_DIR_STATE = 3    /* ONNX [1, N, H] (their Y_h) is clnn [H]: the same bytes */
};

/* A parameter value to write once the model exists: data (owned) into parameter `name`. */
typedef struct clnn__ox_load {
  char name[CLNN__G_PNAME_MAX];
  float *data;
  size_t count;
} clnn__ox_load;

typedef struct clnn__ox {
  clnn_graph *gr;
  const char *path;
  int64_t opset;
  int64_t batch;           /* the inputs' batch size when the file states one, else 0 */
  clnn__ox_sym *syms;
  int nsyms, cap_syms;
  clnn__ox_load *loads;
  int nloads, cap_loads;
  size_t budget;           /* bytes of decoded data still allowed (bounded by the file size) */
  const Onnx__GraphProto *graph;
  const Onnx__NodeProto *node; /* the node being mapped */
  int node_index;
  char *skip;              /* [n_node]: nodes already mapped by a fused pattern, or dead */
  char *live;              /* [n_node]: nodes that a graph output needs */
} clnn__ox;

/* ---- onnx_import.c ---- */
/* clnn_model_load_onnx (model_out; needs ctx) and clnn_graph_load_onnx (graph_out) on a whole
 * file in memory: the fuzzing entry point (tests/fuzz/fuzz_onnx.c). Malformed:
 * CLNN_ERROR_FORMAT; valid but beyond clnn (op, opset, dtype, attribute): CLNN_ERROR_UNSUPPORTED
 * naming the node. Nothing is returned on failure. */
clnn_status clnn__onnx_load_memory(clnn_context *ctx, const unsigned char *buf, size_t size,
                                   const char *path, clnn_model **model_out,
                                   clnn_graph **graph_out);
/* Decodes a serialized TensorProto (the test data's input_k.pb / output_k.pb) of float data:
 * *data (malloc'd) and its dims. CLNN_ERROR_FORMAT or CLNN_ERROR_UNSUPPORTED otherwise. */
clnn_status clnn__onnx_read_tensor(const unsigned char *buf, size_t size, int *ndim,
                                   int64_t dims[CLNN__OX_MAX_RANK], float **data, size_t *numel);
/* Errors naming the file and the node being mapped. */
clnn_status clnn__ox_unsupported(clnn__ox *o, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
clnn_status clnn__ox_format(clnn__ox *o, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* The symbol of an ONNX name (NULL if unknown) and new symbols. */
clnn__ox_sym *clnn__ox_find(clnn__ox *o, const char *name);
clnn_status clnn__ox_bind_value(clnn__ox *o, const char *name, int value);
clnn_status clnn__ox_bind_layout(clnn__ox *o, const char *name, int value, int layout);
/* A new constant: takes ownership of f or i (one of them) on success and on failure. */
clnn_status clnn__ox_bind_const(clnn__ox *o, const char *name, int ndim, const int64_t *dims,
                                float *f, int64_t *i);
/* Decodes a TensorProto into a constant's fields (FLOAT, DOUBLE, INT32, INT64, BOOL). */
clnn_status clnn__ox_tensor(clnn__ox *o, const Onnx__TensorProto *t, const char *what,
                            clnn__ox_sym *out);
/* malloc within the decoding budget (bounded by the file size); NULL when it is spent. The
 * memory is free()d as usual (constants made with it go to clnn__ox_bind_const). */
void *clnn__ox_budget_alloc(clnn__ox *o, size_t n);
/* Queues a parameter write (copies count floats of data). */
clnn_status clnn__ox_load_param(clnn__ox *o, const char *node, const char *role,
                                const float *data, size_t count);
/* A clnn name for a node: the ONNX name (or hint) made valid and unique. */
void clnn__ox_node_name(clnn__ox *o, const char *hint, char name[CLNN__G_NAME_MAX]);
/* Wraps a graph builder's failure (its message) as this node's error. */
clnn_status clnn__ox_builder(clnn__ox *o, clnn_status st);

/* ---- onnx_ops.c ---- */
/* Maps o->node onto the graph (binding its outputs). */
clnn_status clnn__ox_map_node(clnn__ox *o);
/* "Conv, ConvTranspose, ..." */
extern const char clnn__ox_supported[];

/* ---- onnx_util.c: for the op mappings (o->node is the node being mapped) ---- */
const Onnx__AttributeProto *clnn__ox_attr(const clnn__ox *o, const char *name);
int64_t clnn__ox_attr_i(const clnn__ox *o, const char *name, int64_t def);
float clnn__ox_attr_f(const clnn__ox *o, const char *name, float def);
/* Up to cap ints of a list attribute; -1 when absent, cap + 1 when longer. */
int clnn__ox_attr_ints(const clnn__ox *o, const char *name, int64_t *out, int cap);
int clnn__ox_attr_s_is(const clnn__ox *o, const char *name, const char *v);
const char *clnn__ox_in_name(const clnn__ox *o, int k); /* NULL: absent */
int clnn__ox_num_in(const clnn__ox *o);
clnn__ox_sym *clnn__ox_in_sym(clnn__ox *o, int k, clnn_status *st);
/* Input k as a clnn value (with its per-sample dims), or as a constant. */
clnn_status clnn__ox_in_value(clnn__ox *o, int k, int *v, int *nd, size_t *dims);
clnn_status clnn__ox_in_const(clnn__ox *o, int k, clnn__ox_sym **out);
int clnn__ox_const_ints(const clnn__ox_sym *s, int64_t *out, int cap);
clnn_status clnn__ox_only_outputs(clnn__ox *o, size_t keep);
clnn_status clnn__ox_bind(clnn__ox *o, int v); /* output 0 */
void clnn__ox_pick_name(clnn__ox *o, const char *weight, char name[CLNN__G_NAME_MAX]);
void clnn__ox_sub_name(clnn__ox *o, const char *base, const char *suffix,
                       char name[CLNN__G_NAME_MAX]);
clnn_status clnn__ox_reshape_to(clnn__ox *o, const char *name, int x, int nd, const size_t *dims,
                                int *out);
/* Look-ahead for fused patterns, over the nodes after the current one that a graph output needs:
 * the one node reading `name` (-1 when none, several, or `name` is a graph output); how many
 * read it (into idx[cap]); whether a graph output or a live node reads it at all. */
int clnn__ox_sole_consumer(const clnn__ox *o, const char *name);
int clnn__ox_consumers(const clnn__ox *o, const char *name, int *idx, int cap);
int clnn__ox_used(const clnn__ox *o, const char *name);
/* A two-input node's other input than `name` (0 when it does not read name). */
int clnn__ox_other_input(const Onnx__NodeProto *n, const char *name, const char **other);
/* Whether `name` is a float scalar constant (known, or a later Constant node) equal to v within
 * 1e-4 relative; *got receives it when it is a scalar at all. */
int clnn__ox_scalar(clnn__ox *o, const char *name, float *got);
/* The graph node that outputs `name` (-1 when none). */
int clnn__ox_producer(const clnn__ox *o, const char *name);
/* Whether `name` is known to be all zeros: a zero constant, the output of a ConstantOfShape
 * whose value is zero (whatever its shape input), or Expand, Slice, Gather, Squeeze, Unsqueeze,
 * Reshape, Identity, Transpose or Cast of such zeros. */
int clnn__ox_is_zeros(clnn__ox *o, const char *name);

/* ---- onnx_seq.c: Gather, LayerNormalization (and its decomposed form), LSTM, GRU, and the
 * time-major layouts around them ---- */
clnn_status clnn__ox_gather(clnn__ox *o);
clnn_status clnn__ox_layer_norm(clnn__ox *o);
clnn_status clnn__ox_reduce_mean(clnn__ox *o); /* the decomposed layer norm */
clnn_status clnn__ox_lstm(clnn__ox *o);
clnn_status clnn__ox_gru(clnn__ox *o);
/* Transpose, Squeeze and Gather (h_n[-1]) of values in an LSTM's or GRU's layouts (*done 0: not such a
 * value or not such a use). */
clnn_status clnn__ox_layout_op(clnn__ox *o, int *done);

/* ---- onnx_shape.c ---- */
clnn_status clnn__ox_reshape_like(clnn__ox *o, const char *kind);
clnn_status clnn__ox_transpose(clnn__ox *o);
clnn_status clnn__ox_concat(clnn__ox *o);
clnn_status clnn__ox_split(clnn__ox *o);
clnn_status clnn__ox_slice(clnn__ox *o);
clnn_status clnn__ox_constant(clnn__ox *o);
clnn_status clnn__ox_shape(clnn__ox *o);

/* Per-sample axis of ONNX axis a of a rank-(nd + 1) value; -1 for the batch axis or out of
 * range (onnx_util.c). */
int clnn__ox_sample_axis(int64_t a, int nd);

#endif /* CLNN_ONNX_H */
