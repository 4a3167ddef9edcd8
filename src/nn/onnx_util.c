/* src/nn/onnx_util.c — helpers that every ONNX op mapping uses (onnx_ops.c, onnx_shape.c): the
 * node's attributes, its operands as clnn values or constants, its outputs, and names for the
 * clnn nodes it becomes. */
#include "nn/onnx.h"

#include <stdio.h>
#include <string.h>

/* ---- attributes and operands ---- */

const Onnx__AttributeProto *clnn__ox_attr(const clnn__ox *o, const char *name) {
  for (size_t k = 0; k < o->node->n_attribute; k++)
    if (o->node->attribute[k]->name && strcmp(o->node->attribute[k]->name, name) == 0)
      return o->node->attribute[k];
  return NULL;
}

int64_t clnn__ox_attr_i(const clnn__ox *o, const char *name, int64_t def) {
  const Onnx__AttributeProto *a = clnn__ox_attr(o, name);
  return a && a->has_i ? a->i : def;
}

float clnn__ox_attr_f(const clnn__ox *o, const char *name, float def) {
  const Onnx__AttributeProto *a = clnn__ox_attr(o, name);
  return a && a->has_f ? a->f : def;
}

/* Up to cap ints of a list attribute; -1 when absent, cap + 1 when longer. */
int clnn__ox_attr_ints(const clnn__ox *o, const char *name, int64_t *out, int cap) {
  const Onnx__AttributeProto *a = clnn__ox_attr(o, name);
  if (!a) return -1;
  if (a->n_ints > (size_t)cap) return cap + 1;
  for (size_t k = 0; k < a->n_ints; k++) out[k] = a->ints[k];
  return (int)a->n_ints;
}

int clnn__ox_attr_s_is(const clnn__ox *o, const char *name, const char *v) {
  const Onnx__AttributeProto *a = clnn__ox_attr(o, name);
  size_t n = strlen(v);
  return a && a->has_s && a->s.len == n && memcmp(a->s.data, v, n) == 0;
}

const char *clnn__ox_in_name(const clnn__ox *o, int k) {
  return (size_t)k < o->node->n_input && o->node->input[k] && o->node->input[k][0]
             ? o->node->input[k]
             : NULL;
}

int clnn__ox_num_in(const clnn__ox *o) {
  int n = (int)o->node->n_input;
  while (n > 0 && !clnn__ox_in_name(o, n - 1)) n--;
  return n;
}

clnn__ox_sym *clnn__ox_in_sym(clnn__ox *o, int k, clnn_status *st) {
  const char *nm = clnn__ox_in_name(o, k);
  clnn__ox_sym *s = nm ? clnn__ox_find(o, nm) : NULL;
  if (!s)
    *st = nm ? clnn__ox_format(o, "input %d '%.80s' is not defined before the node", k, nm)
             : clnn__ox_format(o, "input %d is missing", k);
  else if (s->layout != CLNN__OX_BATCH_FIRST) {
    *st = clnn__ox_unsupported(o, "input %d '%.80s' has the batch on ONNX axis %d (a Transpose "
                                  "of the batch axis, or an LSTM's time-major output); clnn takes "
                                  "such a value only into an LSTM of layout 0, Transpose(perm "
                                  "1,0,...) back, or Squeeze of the LSTM's direction axis", k, nm,
                               s->layout == CLNN__OX_SEQ_DIR ? 2 : 1);
    return NULL;
  }
  return s;
}

/* A value operand with its per-sample dims. */
clnn_status clnn__ox_in_value(clnn__ox *o, int k, int *v, int *nd, size_t *dims) {
  clnn_status st = CLNN_SUCCESS;
  clnn__ox_sym *s = clnn__ox_in_sym(o, k, &st);
  if (!s) return st;
  if (s->is_const)
    return clnn__ox_unsupported(o, "input %d '%.80s' is a constant; clnn needs a computed value "
                                   "there", k, s->name);
  *v = s->value;
  size_t d[CLNN_MAX_DIMS];
  int n = clnn_graph_value_dims(o->gr, s->value, d);
  if (nd) *nd = n;
  if (dims) memcpy(dims, d, sizeof(size_t) * (size_t)(n > 0 ? n : 0));
  return CLNN_SUCCESS;
}

clnn_status clnn__ox_in_const(clnn__ox *o, int k, clnn__ox_sym **out) {
  clnn_status st = CLNN_SUCCESS;
  clnn__ox_sym *s = clnn__ox_in_sym(o, k, &st);
  if (!s) return st;
  if (!s->is_const)
    return clnn__ox_unsupported(o, "input %d '%.80s' must be a constant (an initializer) for "
                                   "clnn", k, s->name);
  *out = s;
  return CLNN_SUCCESS;
}

/* Integers of a constant (int64 or float) into out; count or -1. */
int clnn__ox_const_ints(const clnn__ox_sym *s, int64_t *out, int cap) {
  if (s->numel > (size_t)cap) return -1;
  for (size_t k = 0; k < s->numel; k++) {
    if (s->i) {
      out[k] = s->i[k];
    } else {
      float v = s->f[k]; /* a float constant used as integers: finite and in range, or refused */
      if (!(v >= -4.6e18f && v <= 4.6e18f)) return -1;
      out[k] = (int64_t)v;
    }
  }
  return (int)s->numel;
}

/* Only outputs 0..keep-1 may be used. */
clnn_status clnn__ox_only_outputs(clnn__ox *o, size_t keep) {
  for (size_t k = keep; k < o->node->n_output; k++)
    if (o->node->output[k] && o->node->output[k][0])
      return clnn__ox_unsupported(o, "output %zu ('%.80s') is not supported (only the first %zu)",
                                  k, o->node->output[k], keep);
  if (o->node->n_output < 1 || !o->node->output[0] || !o->node->output[0][0])
    return clnn__ox_format(o, "the node has no output");
  return CLNN_SUCCESS;
}

clnn_status clnn__ox_bind(clnn__ox *o, int v) { return clnn__ox_bind_value(o, o->node->output[0], v); }

/* Name of the node's main clnn node: a weight initializer "X.weight" gives "X" (so parameters keep
 * PyTorch's names), else the ONNX node name, else the op type. */
void clnn__ox_pick_name(clnn__ox *o, const char *weight, char name[CLNN__G_NAME_MAX]) {
  char hint[CLNN__G_NAME_MAX];
  size_t n = weight ? strlen(weight) : 0;
  if (n > 7 && n - 7 < sizeof hint && strcmp(weight + n - 7, ".weight") == 0) {
    memcpy(hint, weight, n - 7);
    hint[n - 7] = 0;
    if (clnn__g_name_ok(hint)) {
      clnn__ox_node_name(o, hint, name);
      return;
    }
  }
  clnn__ox_node_name(o, o->node->name && o->node->name[0] ? o->node->name : o->node->op_type,
                     name);
}

void clnn__ox_sub_name(clnn__ox *o, const char *base, const char *suffix,
                     char name[CLNN__G_NAME_MAX]) {
  char hint[CLNN__G_NAME_MAX + 16];
  snprintf(hint, sizeof hint, "%.50s_%s", base, suffix);
  clnn__ox_node_name(o, hint, name);
}

clnn_status clnn__ox_reshape_to(clnn__ox *o, const char *name, int x, int nd, const size_t *dims,
                              int *out) {
  if (nd < 1 || nd > CLNN_MAX_DIMS - 1)
    return clnn__ox_unsupported(o, "the result would have %d dims per sample (clnn: 1..%d)", nd,
                                CLNN_MAX_DIMS - 1);
  return clnn__ox_builder(o, clnn_graph_reshape(o->gr, name, x, nd, dims, out));
}

/* ---- look-ahead for fused patterns ---- */

static int is_graph_output(const clnn__ox *o, const char *name) {
  for (size_t k = 0; k < o->graph->n_output; k++)
    if (o->graph->output[k]->name && strcmp(o->graph->output[k]->name, name) == 0) return 1;
  return 0;
}

int clnn__ox_consumers(const clnn__ox *o, const char *name, int *idx, int cap) {
  const Onnx__GraphProto *g = o->graph;
  int n = 0;
  for (size_t k = (size_t)o->node_index + 1; k < g->n_node; k++) {
    if (o->live && !o->live[k]) continue;
    for (size_t i = 0; i < g->node[k]->n_input; i++)
      if (g->node[k]->input[i] && strcmp(g->node[k]->input[i], name) == 0) {
        if (n < cap) idx[n] = (int)k;
        n++;
        break;
      }
  }
  return n;
}

int clnn__ox_sole_consumer(const clnn__ox *o, const char *name) {
  int k = -1;
  if (!name || is_graph_output(o, name) || clnn__ox_consumers(o, name, &k, 1) != 1) return -1;
  return k;
}

int clnn__ox_used(const clnn__ox *o, const char *name) {
  int k;
  return name && name[0] && (is_graph_output(o, name) || clnn__ox_consumers(o, name, &k, 1) > 0);
}

int clnn__ox_other_input(const Onnx__NodeProto *n, const char *name, const char **other) {
  if (n->n_input != 2 || !n->input[0] || !n->input[1]) return 0;
  if (!strcmp(n->input[0], name)) *other = n->input[1];
  else if (!strcmp(n->input[1], name)) *other = n->input[0];
  else return 0;
  return 1;
}

int clnn__ox_producer(const clnn__ox *o, const char *name) {
  const Onnx__GraphProto *g = o->graph;
  for (size_t k = 0; name && k < g->n_node; k++)
    for (size_t i = 0; i < g->node[k]->n_output; i++)
      if (g->node[k]->output[i] && strcmp(g->node[k]->output[i], name) == 0) return (int)k;
  return -1;
}

/* The "value" attribute tensor of a Constant or ConstantOfShape node (NULL when absent). */
static const Onnx__TensorProto *value_attr(const Onnx__NodeProto *n) {
  for (size_t a = 0; a < n->n_attribute; a++)
    if (!strcmp(n->attribute[a]->name, "value")) return n->attribute[a]->t;
  return NULL;
}

int clnn__ox_scalar(clnn__ox *o, const char *name, float *got) {
  const clnn__ox_sym *c = name ? clnn__ox_find(o, name) : NULL;
  if (c) {
    if (!c->is_const || c->numel != 1 || !c->f) return 0;
    *got = c->f[0];
    return 1;
  }
  int k = clnn__ox_producer(o, name);
  if (k < 0 || strcmp(o->graph->node[k]->op_type, "Constant")) return 0;
  const Onnx__TensorProto *t = value_attr(o->graph->node[k]);
  if (!t || !t->has_data_type || t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) return 0;
  if (t->n_float_data == 1) *got = t->float_data[0];
  else if (t->has_raw_data && t->raw_data.len == 4) memcpy(got, t->raw_data.data, 4);
  else return 0;
  return 1;
}

static int tensor_zeros(const Onnx__TensorProto *t) {
  if (!t) return 1; /* ConstantOfShape without a value: zeros */
  if (t->has_raw_data) {
    for (size_t k = 0; k < t->raw_data.len; k++)
      if (t->raw_data.data[k]) return 0;
    return 1;
  }
  for (size_t k = 0; k < t->n_float_data; k++)
    if (t->float_data[k] != 0.0f) return 0;
  for (size_t k = 0; k < t->n_int32_data; k++)
    if (t->int32_data[k]) return 0;
  for (size_t k = 0; k < t->n_int64_data; k++)
    if (t->int64_data[k]) return 0;
  for (size_t k = 0; k < t->n_double_data; k++)
    if (t->double_data[k] != 0.0) return 0;
  return 1;
}

/* Ops whose output is zeros when their input 0 is (whatever their other inputs): how PyTorch
 * shapes an LSTM's zero initial state (Expand of a zero, Slice per layer of a ConstantOfShape). */
static const char *const keeps_zeros[] = {"Expand", "Slice", "Gather", "Squeeze", "Unsqueeze",
                                          "Reshape", "Identity", "Transpose", "Cast"};

static int zeros_at(clnn__ox *o, const char *name, int depth) {
  const clnn__ox_sym *c = name ? clnn__ox_find(o, name) : NULL;
  if (c && c->is_const) {
    for (size_t k = 0; k < c->numel; k++)
      if (c->f ? c->f[k] != 0.0f : c->i[k] != 0) return 0;
    return 1;
  }
  int k = c ? -1 : clnn__ox_producer(o, name);
  if (k < 0 || depth > 16) return 0;
  const Onnx__NodeProto *n = o->graph->node[k];
  if (!strcmp(n->op_type, "ConstantOfShape")) return tensor_zeros(value_attr(n)); /* none: 0 */
  if (!strcmp(n->op_type, "Constant")) return value_attr(n) && tensor_zeros(value_attr(n));
  for (size_t i = 0; i < sizeof keeps_zeros / sizeof keeps_zeros[0]; i++)
    if (!strcmp(n->op_type, keeps_zeros[i]))
      return n->n_input >= 1 && n->input[0] && zeros_at(o, n->input[0], depth + 1);
  return 0;
}

int clnn__ox_is_zeros(clnn__ox *o, const char *name) { return zeros_at(o, name, 0); }

int clnn__ox_sample_axis(int64_t a, int nd) {
  if (a < 0) a += nd + 1;
  return a >= 1 && a <= nd ? (int)a - 1 : -1;
}
