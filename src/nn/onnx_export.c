/* src/nn/onnx_export.c — clnn_model_save_onnx: the nodes that a model's outputs need, written as
 * an ONNX opset-13 ModelProto (protobuf-c) for inference: inputs and outputs [N, ...] with a
 * symbolic batch, parameters and batch-norm statistics as float initializers (read back from the
 * device), dropout as Identity, embeddings as Gather of int64 ids, layer norm, RMS norm and
 * attention written out in opset-13 ops, LSTM as ONNX's LSTM (time-major, between Transposes). Each clnn value keeps its
 * name as the ONNX value name. */
#include "internal.h"
#include "nn/onnx.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ex {
  clnn_model *m;
  const clnn__graph *g;
  void **mem; /* every allocation, freed at the end */
  size_t nmem, cap_mem;
  int oom;
  Onnx__GraphProto *graph;
  size_t cap_node, cap_init;
  char *done_param; /* [graph params]: initializer written */
  int tmp;          /* counter for helper value names */
} ex;

static void *ex_alloc(ex *e, size_t n) {
  if (e->oom) return NULL;
  if (e->nmem == e->cap_mem) {
    size_t cap = e->cap_mem ? 2 * e->cap_mem : 256;
    void **p = realloc(e->mem, cap * sizeof(*p));
    if (!p) {
      e->oom = 1;
      return NULL;
    }
    e->mem = p;
    e->cap_mem = cap;
  }
  void *p = calloc(1, n ? n : 1);
  if (!p) {
    e->oom = 1;
    return NULL;
  }
  e->mem[e->nmem++] = p;
  return p;
}

static char *ex_str(ex *e, const char *s) {
  char *p = ex_alloc(e, strlen(s) + 1);
  if (p) strcpy(p, s);
  return p;
}

/* Appends item to a pointer array (*arr holding *n, capacity *cap). */
static void push(ex *e, void ***arr, size_t *n, size_t *cap, void *item) {
  if (e->oom || !item) {
    e->oom = 1;
    return;
  }
  if (*n == *cap) {
    size_t c = *cap ? 2 * *cap : 16;
    void **p = ex_alloc(e, c * sizeof(void *));
    if (!p) return;
    if (*n) memcpy(p, *arr, *n * sizeof(void *));
    *arr = p;
    *cap = c;
  }
  (*arr)[(*n)++] = item;
}

/* ---- building blocks ---- */

static Onnx__NodeProto *node(ex *e, const char *op, const char *name, int nin, const char *const *in,
                             const char *out) {
  Onnx__NodeProto *n = ex_alloc(e, sizeof(*n));
  char **ins = ex_alloc(e, (size_t)(nin ? nin : 1) * sizeof(char *));
  char **outs = ex_alloc(e, sizeof(char *));
  if (!n || !ins || !outs) return NULL;
  onnx__node_proto__init(n);
  n->op_type = ex_str(e, op);
  n->name = ex_str(e, name);
  for (int k = 0; k < nin; k++) ins[k] = ex_str(e, in[k]);
  n->n_input = (size_t)nin;
  n->input = ins;
  outs[0] = ex_str(e, out);
  n->n_output = 1;
  n->output = outs;
  push(e, (void ***)&e->graph->node, &e->graph->n_node, &e->cap_node, n);
  return n;
}

static void add_attr(ex *e, Onnx__NodeProto *n, Onnx__AttributeProto *a) {
  if (!n || !a) {
    e->oom = 1;
    return;
  }
  size_t cap = n->n_attribute; /* small lists: grow by one */
  Onnx__AttributeProto **p = ex_alloc(e, (cap + 1) * sizeof(*p));
  if (!p) return;
  if (cap) memcpy(p, n->attribute, cap * sizeof(*p));
  p[cap] = a;
  n->attribute = p;
  n->n_attribute = cap + 1;
}

static Onnx__AttributeProto *new_attr(ex *e, const char *name, Onnx__AttributeProto__AttributeType t) {
  Onnx__AttributeProto *a = ex_alloc(e, sizeof(*a));
  if (!a) return NULL;
  onnx__attribute_proto__init(a);
  a->name = ex_str(e, name);
  a->has_type = 1;
  a->type = t;
  return a;
}

static void attr_int(ex *e, Onnx__NodeProto *n, const char *name, int64_t v) {
  Onnx__AttributeProto *a = new_attr(e, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
  if (a) a->has_i = 1, a->i = v;
  add_attr(e, n, a);
}

static void attr_float(ex *e, Onnx__NodeProto *n, const char *name, float v) {
  Onnx__AttributeProto *a = new_attr(e, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
  if (a) a->has_f = 1, a->f = v;
  add_attr(e, n, a);
}

static void attr_ints(ex *e, Onnx__NodeProto *n, const char *name, int cnt, const int64_t *v) {
  Onnx__AttributeProto *a = new_attr(e, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  int64_t *p = ex_alloc(e, (size_t)cnt * sizeof(int64_t));
  if (a && p) {
    memcpy(p, v, (size_t)cnt * sizeof(int64_t));
    a->n_ints = (size_t)cnt;
    a->ints = p;
  }
  add_attr(e, n, a);
}

/* An initializer of float (f) or int64 (i) data. */
static void init(ex *e, const char *name, int ndim, const int64_t *dims, const float *f,
                 const int64_t *i, size_t count) {
  Onnx__TensorProto *t = ex_alloc(e, sizeof(*t));
  int64_t *d = ex_alloc(e, (size_t)(ndim ? ndim : 1) * sizeof(int64_t));
  if (!t || !d) return;
  onnx__tensor_proto__init(t);
  t->name = ex_str(e, name);
  memcpy(d, dims, (size_t)ndim * sizeof(int64_t));
  t->n_dims = (size_t)ndim;
  t->dims = d;
  t->has_data_type = 1;
  if (f) {
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    float *p = ex_alloc(e, count * sizeof(float));
    if (p) memcpy(p, f, count * sizeof(float));
    t->n_float_data = count;
    t->float_data = p;
  } else {
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
    int64_t *p = ex_alloc(e, count * sizeof(int64_t));
    if (p) memcpy(p, i, count * sizeof(int64_t));
    t->n_int64_data = count;
    t->int64_data = p;
  }
  push(e, (void ***)&e->graph->initializer, &e->graph->n_initializer, &e->cap_init, t);
}

/* A fresh helper name "<base>__<what><k>". */
static const char *tmp_name(ex *e, const char *base, const char *what) {
  char buf[CLNN__G_PNAME_MAX + 32];
  snprintf(buf, sizeof buf, "%s__%s%d", base, what, e->tmp++);
  return ex_str(e, buf);
}

static const char *iconst(ex *e, const char *base, int count, const int64_t *v) {
  const char *nm = tmp_name(e, base, "c");
  int64_t d = count;
  init(e, nm, 1, &d, NULL, v, (size_t)count);
  return nm;
}

/* Parameter k of node n as an initializer named by the parameter (once); transposed [R, C] ->
 * [C, R] when transpose (a new name). Returns the name. */
static const char *param(ex *e, const clnn__gnode *n, int k, int transpose, clnn_status *st) {
  int gp = n->param[k];
  const clnn__gparam *p = &e->g->params[gp];
  clnn_tensor *t = e->m->params[e->m->pmap[gp]].value;
  if (e->done_param[gp] && !transpose) return p->name;
  float *buf = malloc(p->numel * sizeof(float) * 2);
  if (!buf) {
    e->oom = 1;
    return p->name;
  }
  *st = clnn_tensor_read(t, buf, p->numel);
  int64_t d[4];
  for (int i = 0; i < p->ndim; i++) d[i] = (int64_t)p->dims[i];
  const char *name = p->name;
  if (transpose) {
    float *tr = buf + p->numel;
    size_t R = p->dims[0], C = p->dims[1];
    for (size_t r = 0; r < R; r++)
      for (size_t c = 0; c < C; c++) tr[c * R + r] = buf[r * C + c];
    int64_t td[2] = {(int64_t)C, (int64_t)R};
    name = tmp_name(e, p->name, "T");
    init(e, name, 2, td, tr, NULL, p->numel);
  } else {
    init(e, name, p->ndim, d, buf, NULL, p->numel);
    e->done_param[gp] = 1;
  }
  free(buf);
  return name;
}

static Onnx__ValueInfoProto *value_info(ex *e, const clnn__gvalue *v) {
  Onnx__ValueInfoProto *vi = ex_alloc(e, sizeof(*vi));
  Onnx__TypeProto *tp = ex_alloc(e, sizeof(*tp));
  Onnx__TypeProto__Tensor *tt = ex_alloc(e, sizeof(*tt));
  Onnx__TensorShapeProto *sh = ex_alloc(e, sizeof(*sh));
  Onnx__TensorShapeProto__Dimension **dims = ex_alloc(e, (size_t)(v->ndim + 1) * sizeof(*dims));
  if (!vi || !tp || !tt || !sh || !dims) return NULL;
  onnx__value_info_proto__init(vi);
  onnx__type_proto__init(tp);
  onnx__type_proto__tensor__init(tt);
  onnx__tensor_shape_proto__init(sh);
  for (int i = 0; i <= v->ndim; i++) {
    Onnx__TensorShapeProto__Dimension *d = ex_alloc(e, sizeof(*d));
    if (!d) return NULL;
    onnx__tensor_shape_proto__dimension__init(d);
    if (i == 0) {
      d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
      d->dim_param = ex_str(e, "N");
    } else {
      d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
      d->dim_value = (int64_t)v->dims[i - 1];
    }
    dims[i] = d;
  }
  sh->n_dim = (size_t)v->ndim + 1;
  sh->dim = dims;
  tt->has_elem_type = 1;
  /* int32 inputs are embedding ids: int64, the type Gather's indices usually have */
  tt->elem_type = v->dtype == CLNN_INT32 ? ONNX__TENSOR_PROTO__DATA_TYPE__INT64
                                         : ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  tt->shape = sh;
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  vi->name = ex_str(e, v->name);
  vi->type = tp;
  return vi;
}

static clnn_status unsupported(const clnn__gnode *n, const char *why) {
  return clnn__error(CLNN_ERROR_UNSUPPORTED, "clnn_model_save_onnx: node '%s' (%s): %s", n->name,
                     n->op->kind, why);
}

/* ---- sequence layers ---- */

static const char *fconst(ex *e, const char *base, float v) {
  const char *c = tmp_name(e, base, "k");
  int64_t none = 0;
  init(e, c, 0, &none, &v, NULL, 1);
  return c;
}

/* Layer norm over the last axis written out in opset-13 ops (LayerNormalization is opset 17):
 * ReduceMean, Sub, Pow 2, ReduceMean, Add eps, Sqrt, Div[, Mul weight, Add bias], as PyTorch
 * exports nn.LayerNorm before opset 17 (and clnn's import recognises). */
static clnn_status export_layer_norm(ex *e, const clnn__gnode *n, const char *x, const char *y) {
  clnn_status st = CLNN_SUCCESS;
  int64_t last = -1;
  const char *mean = tmp_name(e, y, "mean"), *d = tmp_name(e, y, "diff"), *sq = tmp_name(e, y, "sq"),
             *var = tmp_name(e, y, "var"), *ve = tmp_name(e, y, "veps"), *sd = tmp_name(e, y, "std");
  const char *norm = n->ia[0] ? tmp_name(e, y, "norm") : y, *scaled = tmp_name(e, y, "scaled");
  Onnx__NodeProto *o = node(e, "ReduceMean", mean, 1, &x, mean);
  attr_ints(e, o, "axes", 1, &last);
  const char *a1[2] = {x, mean}, *a2[2] = {d, fconst(e, y, 2.0f)};
  node(e, "Sub", d, 2, a1, d);
  node(e, "Pow", sq, 2, a2, sq);
  o = node(e, "ReduceMean", var, 1, &sq, var);
  attr_ints(e, o, "axes", 1, &last);
  const char *a3[2] = {var, fconst(e, y, n->fa[0])}, *a4[2] = {d, sd};
  node(e, "Add", ve, 2, a3, ve);
  node(e, "Sqrt", sd, 1, &ve, sd);
  node(e, "Div", n->ia[0] ? norm : n->name, 2, a4, norm);
  if (n->ia[0]) {
    const char *a5[2] = {norm, param(e, n, 0, 0, &st)};
    node(e, "Mul", scaled, 2, a5, scaled);
    const char *a6[2] = {scaled, param(e, n, 1, 0, &st)};
    node(e, "Add", n->name, 2, a6, y);
  }
  return st;
}

/* RMS norm: x / Sqrt(ReduceMean(x^2) + eps) [* weight]. */
static clnn_status export_rms_norm(ex *e, const clnn__gnode *n, const char *x, const char *y) {
  clnn_status st = CLNN_SUCCESS;
  int64_t last = -1;
  const char *sq = tmp_name(e, y, "sq"), *ms = tmp_name(e, y, "ms"), *me = tmp_name(e, y, "meps"),
             *rt = tmp_name(e, y, "rms"), *norm = n->ia[0] ? tmp_name(e, y, "norm") : y;
  const char *a1[2] = {x, fconst(e, y, 2.0f)};
  node(e, "Pow", sq, 2, a1, sq);
  Onnx__NodeProto *o = node(e, "ReduceMean", ms, 1, &sq, ms);
  attr_ints(e, o, "axes", 1, &last);
  const char *a2[2] = {ms, fconst(e, y, n->fa[0])}, *a3[2] = {x, rt};
  node(e, "Add", me, 2, a2, me);
  node(e, "Sqrt", rt, 1, &me, rt);
  node(e, "Div", n->ia[0] ? norm : n->name, 2, a3, norm);
  if (n->ia[0]) {
    const char *a4[2] = {norm, param(e, n, 0, 0, &st)};
    node(e, "Mul", n->name, 2, a4, y);
  }
  return st;
}

/* Scaled dot-product attention on q [Tq, D], k, v [Tk, D] (per sample; heads side by side):
 * heads split out by Reshape and Transpose, MatMul, scale, a constant causal mask (-1e30 above
 * the allowed diagonal) added, Softmax, MatMul, and the heads put back side by side. */
static clnn_status export_attention(ex *e, const clnn__gnode *n, const char *y) {
  const clnn__graph *g = e->g;
  if (n->num_in == 4) return unsupported(n, "key lengths (an int32 input) are not exported yet");
  const clnn__gvalue *qv = &g->values[n->in[0]], *kv = &g->values[n->in[1]];
  int64_t Tq = (int64_t)qv->dims[0], Tk = (int64_t)kv->dims[0], D = (int64_t)qv->dims[1];
  int64_t H = n->ia[0], Dh = D / H;
  const char *heads[3];
  static const int64_t perm_q[4] = {0, 2, 1, 3}, perm_k[4] = {0, 2, 3, 1};
  for (int i = 0; i < 3; i++) {
    int64_t shape[4] = {0, i == 0 ? Tq : Tk, H, Dh};
    const char *in = g->values[n->in[i]].name, *r = tmp_name(e, y, "split"),
               *t = tmp_name(e, y, "heads");
    const char *a[2] = {in, iconst(e, y, 4, shape)};
    node(e, "Reshape", r, 2, a, r);
    Onnx__NodeProto *o = node(e, "Transpose", t, 1, &r, t);
    attr_ints(e, o, "perm", 4, i == 1 ? perm_k : perm_q);
    heads[i] = t;
  }
  float scale = n->fa[1] > 0.0f ? n->fa[1] : 1.0f / sqrtf((float)Dh);
  const char *sc = tmp_name(e, y, "scores"), *ss = tmp_name(e, y, "scaled"),
             *w = tmp_name(e, y, "weights"), *o4 = tmp_name(e, y, "context"),
             *ot = tmp_name(e, y, "merged");
  const char *a1[2] = {heads[0], heads[1]}, *a2[2] = {sc, fconst(e, y, scale)};
  node(e, "MatMul", sc, 2, a1, sc);
  node(e, "Mul", ss, 2, a2, ss);
  const char *logits = ss;
  if (n->ia[1]) {
    float *mask = malloc((size_t)(Tq * Tk) * sizeof(float));
    if (!mask) {
      e->oom = 1;
      return CLNN_SUCCESS;
    }
    for (int64_t i = 0; i < Tq; i++)
      for (int64_t j = 0; j < Tk; j++) mask[i * Tk + j] = j <= i + Tk - Tq ? 0.0f : -1e30f;
    const char *mn = tmp_name(e, y, "mask"), *ms = tmp_name(e, y, "masked");
    int64_t md[2] = {Tq, Tk};
    init(e, mn, 2, md, mask, NULL, (size_t)(Tq * Tk));
    free(mask);
    const char *a3[2] = {ss, mn};
    node(e, "Add", ms, 2, a3, ms);
    logits = ms;
  }
  Onnx__NodeProto *o = node(e, "Softmax", w, 1, &logits, w);
  attr_int(e, o, "axis", -1);
  const char *a4[2] = {w, heads[2]};
  node(e, "MatMul", o4, 2, a4, o4);
  o = node(e, "Transpose", ot, 1, &o4, ot);
  attr_ints(e, o, "perm", 4, perm_q);
  int64_t shape[3] = {0, Tq, D};
  const char *a5[2] = {ot, iconst(e, y, 3, shape)};
  node(e, "Reshape", n->name, 2, a5, y);
  return CLNN_SUCCESS;
}

/* Parameter k of node n read back to the host (malloc'd; NULL with e->oom or *st set). */
static float *param_host(ex *e, const clnn__gnode *n, int k, clnn_status *st) {
  const clnn__gparam *p = &e->g->params[n->param[k]];
  float *buf = malloc(p->numel * sizeof(float));
  if (!buf) {
    e->oom = 1;
    return NULL;
  }
  clnn_status s = clnn_tensor_read(e->m->params[e->m->pmap[n->param[k]]].value, buf, p->numel);
  if (s != CLNN_SUCCESS) {
    *st = s;
    free(buf);
    return NULL;
  }
  return buf;
}

/* clnn's LSTM (batch-first x [T, I], gates i, f, g, o, one bias) as ONNX's: Transpose to
 * time-major, LSTM with W, R in the gate order i, o, f, c and B = [bias, zeros], then Y squeezed
 * and transposed back (return_sequences) or Y_h squeezed. */
static clnn_status export_lstm(ex *e, const clnn__gnode *n, const char *x, const char *y) {
  static const int from[4] = {0, 3, 1, 2}; /* ONNX gate q is clnn gate from[q] */
  clnn_status st = CLNN_SUCCESS;
  const clnn__gvalue *xv = &e->g->values[n->in[0]];
  size_t H = (size_t)n->ia[0], I = xv->dims[1];
  float *wih = param_host(e, n, 0, &st), *whh = param_host(e, n, 1, &st), *b = param_host(e, n, 2, &st);
  float *W = malloc(4 * H * I * sizeof(float)), *R = malloc(4 * H * H * sizeof(float)),
        *B = calloc(8 * H, sizeof(float));
  if (wih && whh && b && W && R && B) {
    for (int q = 0; q < 4; q++) {
      size_t src = (size_t)from[q] * H;
      memcpy(W + (size_t)q * H * I, wih + src * I, H * I * sizeof(float));
      memcpy(R + (size_t)q * H * H, whh + src * H, H * H * sizeof(float));
      memcpy(B + (size_t)q * H, b + src, H * sizeof(float));
    }
    int64_t wd[3] = {1, 4 * (int64_t)H, (int64_t)I}, rd[3] = {1, 4 * (int64_t)H, (int64_t)H},
            bd[2] = {1, 8 * (int64_t)H};
    const char *wn = tmp_name(e, n->name, "W"), *rn = tmp_name(e, n->name, "R"),
               *bn = tmp_name(e, n->name, "B");
    init(e, wn, 3, wd, W, NULL, 4 * H * I);
    init(e, rn, 3, rd, R, NULL, 4 * H * H);
    init(e, bn, 2, bd, B, NULL, 8 * H);
    int64_t perm[3] = {1, 0, 2}, zero = 0, one = 1;
    const char *xt = tmp_name(e, y, "tm"), *yy = tmp_name(e, y, "Y"), *yh = tmp_name(e, y, "Y_h");
    Onnx__NodeProto *o = node(e, "Transpose", xt, 1, &x, xt);
    attr_ints(e, o, "perm", 3, perm);
    const char *in[4] = {xt, wn, rn, bn};
    o = node(e, "LSTM", tmp_name(e, n->name, "lstm"), 4, in, yy);
    if (o) { /* outputs Y and Y_h */
      char **outs = ex_alloc(e, 2 * sizeof(char *));
      if (outs) {
        outs[0] = (char *)yy;
        outs[1] = (char *)yh;
        o->output = outs;
        o->n_output = 2;
      }
    }
    attr_int(e, o, "hidden_size", (int64_t)H);
    if (n->ia[1]) {
      const char *sq = tmp_name(e, y, "sq"), *a[2] = {yy, iconst(e, y, 1, &one)};
      node(e, "Squeeze", sq, 2, a, sq);
      o = node(e, "Transpose", n->name, 1, &sq, y);
      attr_ints(e, o, "perm", 3, perm);
    } else {
      const char *a[2] = {yh, iconst(e, y, 1, &zero)};
      node(e, "Squeeze", n->name, 2, a, y);
    }
  } else if (st == CLNN_SUCCESS) {
    e->oom = 1;
  }
  free(wih);
  free(whh);
  free(b);
  free(W);
  free(R);
  free(B);
  return st;
}

/* ---- one node ---- */

static clnn_status export_node(ex *e, const clnn__gnode *n) {
  const clnn__graph *g = e->g;
  const char *x = g->values[n->in[0]].name, *y = g->values[n->out[0]].name;
  const clnn__gvalue *xv = &g->values[n->in[0]];
  const clnn__op *op = n->op;
  clnn_status st = CLNN_SUCCESS;
  Onnx__NodeProto *o;
  if (op == &clnn__op_conv2d || op == &clnn__op_conv_transpose2d) {
    const char *in[3] = {x, param(e, n, 0, 0, &st), n->ia[12] ? param(e, n, 1, 0, &st) : NULL};
    o = node(e, op == &clnn__op_conv2d ? "Conv" : "ConvTranspose", n->name, n->ia[12] ? 3 : 2, in, y);
    int64_t k[2] = {n->ia[1], n->ia[2]}, s[2] = {n->ia[3], n->ia[4]};
    int64_t pads[4] = {n->ia[5], n->ia[7], n->ia[6], n->ia[8]}, d[2] = {n->ia[9], n->ia[10]};
    attr_ints(e, o, "kernel_shape", 2, k);
    attr_ints(e, o, "strides", 2, s);
    attr_ints(e, o, "pads", 4, pads);
    attr_ints(e, o, "dilations", 2, d);
    attr_int(e, o, "group", n->ia[11]);
  } else if (op == &clnn__op_pool2d) {
    o = node(e, n->ia[0] ? "MaxPool" : "AveragePool", n->name, 1, &x, y);
    int64_t k[2] = {n->ia[1], n->ia[2]}, s[2] = {n->ia[3], n->ia[4]};
    int64_t pads[4] = {n->ia[5], n->ia[7], n->ia[6], n->ia[8]};
    attr_ints(e, o, "kernel_shape", 2, k);
    attr_ints(e, o, "strides", 2, s);
    attr_ints(e, o, "pads", 4, pads);
    if (!n->ia[0]) attr_int(e, o, "count_include_pad", n->ia[9]);
  } else if (op == &clnn__op_global_avgpool) {
    const char *t = tmp_name(e, y, "gap");
    node(e, "GlobalAveragePool", t, 1, &x, t);
    o = node(e, "Flatten", n->name, 1, &t, y);
    attr_int(e, o, "axis", 1);
  } else if (op == &clnn__op_dense) {
    if (xv->ndim == 1) {
      const char *in[3] = {x, param(e, n, 0, 0, &st), n->ia[1] ? param(e, n, 1, 0, &st) : NULL};
      o = node(e, "Gemm", n->name, n->ia[1] ? 3 : 2, in, y);
      attr_int(e, o, "transB", 1);
    } else {
      const char *in[2] = {x, param(e, n, 0, 1, &st)};
      const char *t = n->ia[1] ? tmp_name(e, y, "mm") : y;
      node(e, "MatMul", n->ia[1] ? t : n->name, 2, in, t);
      if (n->ia[1]) {
        const char *in2[2] = {t, param(e, n, 1, 0, &st)};
        node(e, "Add", n->name, 2, in2, y);
      }
    }
  } else if (op == &clnn__op_activation) {
    static const char *const names[] = {"Identity", "Relu", "LeakyRelu", "Elu",
                                        "Sigmoid",  "Tanh", NULL,        "Softplus"};
    int a = n->ia[0];
    if (a == CLNN_ACT_GELU) {
      /* 0.5 x (1 + erf(x / sqrt 2)), as opset 13 has no Gelu */
      float c[3] = {1.41421356237f, 1.0f, 0.5f};
      const char *cn[3];
      int64_t none = 0;
      for (int k = 0; k < 3; k++) {
        cn[k] = tmp_name(e, y, "k");
        init(e, cn[k], 0, &none, &c[k], NULL, 1);
      }
      const char *t1 = tmp_name(e, y, "div"), *t2 = tmp_name(e, y, "erf"),
                 *t3 = tmp_name(e, y, "add"), *t4 = tmp_name(e, y, "mul");
      const char *a1[2] = {x, cn[0]}, *a3[2] = {t2, cn[1]}, *a4[2] = {x, t3}, *a5[2] = {t4, cn[2]};
      node(e, "Div", t1, 2, a1, t1);
      node(e, "Erf", t2, 1, &t1, t2);
      node(e, "Add", t3, 2, a3, t3);
      node(e, "Mul", t4, 2, a4, t4);
      node(e, "Mul", n->name, 2, a5, y);
    } else if (a < 0 || a > CLNN_ACT_SOFTPLUS) {
      return unsupported(n, "unknown activation");
    } else {
      o = node(e, names[a], n->name, 1, &x, y);
      if (a == CLNN_ACT_LEAKY_RELU || a == CLNN_ACT_ELU) attr_float(e, o, "alpha", n->fa[0]);
    }
  } else if (op == &clnn__op_dropout) {
    node(e, "Identity", n->name, 1, &x, y);
  } else if (op == &clnn__op_batchnorm) {
    const char *in[5] = {x, param(e, n, 0, 0, &st), param(e, n, 1, 0, &st),
                         param(e, n, 2, 0, &st), param(e, n, 3, 0, &st)};
    o = node(e, "BatchNormalization", n->name, 5, in, y);
    attr_float(e, o, "epsilon", n->fa[1]);
    attr_float(e, o, "momentum", 1.0f - n->fa[0]);
  } else if (op == &clnn__op_softmax) {
    o = node(e, n->ia[0] ? "LogSoftmax" : "Softmax", n->name, 1, &x, y);
    attr_int(e, o, "axis", -1);
  } else if (op == &clnn__op_add || op == &clnn__op_mul) {
    const char *b = g->values[n->in[1]].name;
    if (n->ia[0] != 0) {
      /* b [N, C] or [N, 1] against a [N, C, ...]: b as [N, C, 1, ...] */
      int64_t shape[CLNN_MAX_DIMS] = {0};
      shape[1] = (int64_t)g->values[n->in[1]].dims[0];
      for (int i = 1; i < xv->ndim; i++) shape[1 + i] = 1;
      const char *sh = iconst(e, y, xv->ndim + 1, shape), *t = tmp_name(e, y, "b");
      const char *in[2] = {b, sh};
      node(e, "Reshape", t, 2, in, t);
      b = t;
    }
    const char *in[2] = {x, b};
    node(e, op == &clnn__op_add ? "Add" : "Mul", n->name, 2, in, y);
  } else if (op == &clnn__op_scale) {
    const char *c = tmp_name(e, y, "k");
    int64_t none = 0;
    init(e, c, 0, &none, &n->fa[0], NULL, 1);
    const char *in[2] = {x, c};
    node(e, "Mul", n->name, 2, in, y);
  } else if (op == &clnn__op_concat) {
    const char *in[CLNN__G_MAX_IN];
    for (int k = 0; k < n->num_in; k++) in[k] = g->values[n->in[k]].name;
    o = node(e, "Concat", n->name, n->num_in, in, y);
    attr_int(e, o, "axis", n->ia[0] + 1);
  } else if (op == &clnn__op_slice) {
    int64_t s = n->ia[1], en = (int64_t)n->ia[1] + n->ia[2], ax = n->ia[0] + 1;
    const char *in[4] = {x, iconst(e, y, 1, &s), iconst(e, y, 1, &en), iconst(e, y, 1, &ax)};
    node(e, "Slice", n->name, 4, in, y);
  } else if (op == &clnn__op_reshape) {
    const clnn__gvalue *yv = &g->values[n->out[0]];
    int64_t shape[CLNN_MAX_DIMS] = {0};
    for (int i = 0; i < yv->ndim; i++) shape[1 + i] = (int64_t)yv->dims[i];
    const char *in[2] = {x, iconst(e, y, yv->ndim + 1, shape)};
    node(e, "Reshape", n->name, 2, in, y);
  } else if (op == &clnn__op_permute) {
    int64_t perm[CLNN_MAX_DIMS] = {0};
    for (int i = 0; i < n->ia[0]; i++) perm[1 + i] = n->ia[1 + i] + 1;
    o = node(e, "Transpose", n->name, 1, &x, y);
    attr_ints(e, o, "perm", n->ia[0] + 1, perm);
  } else if (op == &clnn__op_embedding) {
    const char *in[2] = {param(e, n, 0, 0, &st), x};
    o = node(e, "Gather", n->name, 2, in, y);
    attr_int(e, o, "axis", 0);
  } else if (op == &clnn__op_layer_norm) {
    st = export_layer_norm(e, n, x, y);
  } else if (op == &clnn__op_rms_norm) {
    st = export_rms_norm(e, n, x, y);
  } else if (op == &clnn__op_attention) {
    st = export_attention(e, n, y);
  } else if (op == &clnn__op_lstm) {
    if (xv->ndim != 2) return unsupported(n, "an LSTM input that is not [T, F]");
    st = export_lstm(e, n, x, y);
  } else {
    return unsupported(n, "this op kind is not exported to ONNX yet (exported: conv2d, "
                          "conv_transpose2d, pool2d, global_avgpool, dense, activation, dropout, "
                          "batchnorm, softmax, add, mul, scale, concat, slice, reshape, permute, "
                          "embedding, layer_norm, rms_norm, attention, lstm)");
  }
  return st;
}

/* ---- the model ---- */

static clnn_status build(ex *e, Onnx__ModelProto *mp) {
  const clnn__graph *g = e->g;
  char *need = calloc((size_t)g->num_nodes + 1, 1);
  e->done_param = calloc((size_t)g->num_params + 1, 1);
  if (!need || !e->done_param) {
    free(need);
    return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "clnn_model_save_onnx: out of memory");
  }
  for (int i = 0; i < g->num_outputs; i++)
    if (g->values[g->outputs[i]].producer >= 0) need[g->values[g->outputs[i]].producer] = 1;
  for (int i = g->num_nodes - 1; i >= 0; i--) {
    if (!need[i]) continue;
    for (int k = 0; k < g->nodes[i].num_in; k++)
      if (g->values[g->nodes[i].in[k]].producer >= 0) need[g->values[g->nodes[i].in[k]].producer] = 1;
  }
  clnn_status st = CLNN_SUCCESS;
  Onnx__GraphProto *gp = e->graph;
  size_t cap_in = 0, cap_out = 0;
  for (int i = 0; i < g->num_inputs && st == CLNN_SUCCESS; i++) {
    const clnn__gvalue *v = &g->values[g->inputs[i]];
    int used = 0;
    for (int j = 0; j < g->num_nodes && !used; j++)
      for (int k = 0; need[j] && k < g->nodes[j].num_in; k++) used |= g->nodes[j].in[k] == g->inputs[i];
    for (int j = 0; j < g->num_outputs; j++) used |= g->outputs[j] == g->inputs[i];
    if (!used) continue;
    push(e, (void ***)&gp->input, &gp->n_input, &cap_in, value_info(e, v));
  }
  for (int i = 0; i < g->num_nodes && st == CLNN_SUCCESS && !e->oom; i++)
    if (need[i]) st = export_node(e, &g->nodes[i]);
  for (int i = 0; i < g->num_outputs && st == CLNN_SUCCESS; i++) {
    const clnn__gvalue *v = &g->values[g->outputs[i]];
    if (!v->batched || v->dtype != CLNN_FLOAT32)
      st = clnn__error(CLNN_ERROR_UNSUPPORTED, "clnn_model_save_onnx: output '%s' is not a "
                       "float per-sample value", v->name);
    else
      push(e, (void ***)&gp->output, &gp->n_output, &cap_out, value_info(e, v));
  }
  free(need);
  if (st == CLNN_SUCCESS && e->oom)
    st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "clnn_model_save_onnx: out of memory");
  (void)mp;
  return st;
}

clnn_status clnn_model_save_onnx(clnn_model *m, const char *path) {
  const char *fn = "clnn_model_save_onnx";
  if (!m || !path)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn, !m ? "model" : "path");
  ex e;
  memset(&e, 0, sizeof e);
  e.m = m;
  e.g = &m->graph.g;
  Onnx__ModelProto mp;
  Onnx__GraphProto gp;
  Onnx__OperatorSetIdProto os, *osp = &os;
  onnx__model_proto__init(&mp);
  onnx__graph_proto__init(&gp);
  onnx__operator_set_id_proto__init(&os);
  os.domain = (char *)"";
  os.has_version = 1;
  os.version = CLNN__OX_EXPORT_OPSET;
  mp.has_ir_version = 1;
  mp.ir_version = 7;
  mp.n_opset_import = 1;
  mp.opset_import = &osp;
  mp.producer_name = (char *)"clnn";
  mp.producer_version = (char *)CLNN_VERSION_STRING;
  gp.name = (char *)"clnn";
  mp.graph = &gp;
  e.graph = &gp;
  clnn_status st = build(&e, &mp);
  uint8_t *buf = NULL;
  size_t len = 0;
  if (st == CLNN_SUCCESS) {
    len = onnx__model_proto__get_packed_size(&mp);
    buf = malloc(len ? len : 1);
    if (!buf) st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "%s: out of memory", fn);
    else onnx__model_proto__pack(&mp, buf);
  }
  for (size_t i = 0; i < e.nmem; i++) free(e.mem[i]);
  free(e.mem);
  free(e.done_param);
  if (st != CLNN_SUCCESS) {
    free(buf);
    return st;
  }
  clnn__atomic_file af;
  if (clnn__atomic_begin(path, &af) != 0) {
    int err = errno;
    free(buf);
    return clnn__error(CLNN_ERROR_IO, "%s: cannot write '%s': %s", fn, path, clnn__file_error(err));
  }
  int bad = clnn__atomic_write(&af, buf, len) != 0;
  if (bad) clnn__atomic_abort(&af);
  if (bad || clnn__atomic_commit(&af) != 0) { /* commit cleans up after itself */
    int err = errno;
    free(buf);
    return clnn__error(CLNN_ERROR_IO, "%s: cannot write '%s': %s", fn, path, clnn__file_error(err));
  }
  free(buf);
  return CLNN_SUCCESS;
}
