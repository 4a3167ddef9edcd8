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
} clnn__ox_sym;

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
  char *skip;              /* [n_node]: nodes already mapped by a fused pattern */
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
/* A new constant: takes ownership of f or i (one of them) on success and on failure. */
clnn_status clnn__ox_bind_const(clnn__ox *o, const char *name, int ndim, const int64_t *dims,
                                float *f, int64_t *i);
/* Decodes a TensorProto into a constant's fields (FLOAT, DOUBLE, INT32, INT64, BOOL). */
clnn_status clnn__ox_tensor(clnn__ox *o, const Onnx__TensorProto *t, const char *what,
                            clnn__ox_sym *out);
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

/* ---- onnx_shape.c ---- */
clnn_status clnn__ox_reshape_like(clnn__ox *o, const char *kind);
clnn_status clnn__ox_transpose(clnn__ox *o);
clnn_status clnn__ox_concat(clnn__ox *o);
clnn_status clnn__ox_split(clnn__ox *o);
clnn_status clnn__ox_slice(clnn__ox *o);
clnn_status clnn__ox_constant(clnn__ox *o);
clnn_status clnn__ox_shape(clnn__ox *o);

#endif /* CLNN_ONNX_H */
