/* src/nn/onnx_ops.c — one function per ONNX op type, mapping a node onto clnn's graph builder
 * (onnx_import.c calls clnn__ox_map_node for each node in file order). ONNX values carry the
 * batch as axis 0, clnn's as an implicit axis: ONNX axis a is clnn's per-sample axis a - 1, and an
 * op that works along the batch axis is unsupported. Weights and other parameters come from
 * constants (initializers), queued for the model with clnn__ox_load_param. */
#include "nn/onnx.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char clnn__ox_supported[] =
    "Conv, ConvTranspose (2-D), MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool, Gemm, "
    "MatMul (constant B), Add, Sub, Mul, Div (values of one shape, [C,1,..] or scalar operands), "
    "Relu, LeakyRelu, Elu, Sigmoid, Tanh, Softplus, Gelu, Softmax, LogSoftmax, "
    "BatchNormalization, Dropout, Flatten, Reshape, Squeeze, Unsqueeze, Identity, Transpose, "
    "Concat, Split, Slice, Constant, Shape, Gather (embedding, constant indices), "
    "LayerNormalization (and the written-out ReduceMean form), LSTM and GRU (forward)";

/* ---- convolution and pooling ---- */

typedef struct win2 {
  int64_t k[2], s[2], d[2], p[4]; /* kernel, strides, dilations, pads top, left, bottom, right */
} win2;

/* strides, dilations, pads and auto_pad of a 2-D window over input [C, H, W]. */
static clnn_status window(clnn__ox *o, const size_t *xd, win2 *w, int transposed) {
  int64_t v[4];
  for (int i = 0; i < 2; i++) w->s[i] = w->d[i] = 1;
  for (int i = 0; i < 4; i++) w->p[i] = 0;
  int n;
  if ((n = clnn__ox_attr_ints(o, "strides", v, 2)) >= 0) {
    if (n != 2) return clnn__ox_unsupported(o, "strides has %d entries (2-D only)", n);
    w->s[0] = v[0], w->s[1] = v[1];
  }
  if ((n = clnn__ox_attr_ints(o, "dilations", v, 2)) >= 0) {
    if (n != 2) return clnn__ox_unsupported(o, "dilations has %d entries (2-D only)", n);
    w->d[0] = v[0], w->d[1] = v[1];
  }
  if ((n = clnn__ox_attr_ints(o, "pads", v, 4)) >= 0) {
    if (n != 4) return clnn__ox_unsupported(o, "pads has %d entries (2-D only)", n);
    w->p[0] = v[0], w->p[1] = v[1], w->p[2] = v[2], w->p[3] = v[3];
  }
  for (int i = 0; i < 4; i++)
    if (w->p[i] < 0 || w->p[i] > 1 << 20 || (i < 2 && (w->s[i] < 1 || w->d[i] < 1 ||
                                                       w->s[i] > 1 << 20 || w->d[i] > 1 << 20)))
      return clnn__ox_format(o, "strides, dilations or pads out of range");
  const Onnx__AttributeProto *ap = clnn__ox_attr(o, "auto_pad");
  if (!ap || clnn__ox_attr_s_is(o, "auto_pad", "NOTSET")) return CLNN_SUCCESS;
  if (clnn__ox_attr_s_is(o, "auto_pad", "VALID")) {
    for (int i = 0; i < 4; i++) w->p[i] = 0;
    return CLNN_SUCCESS;
  }
  int upper = clnn__ox_attr_s_is(o, "auto_pad", "SAME_UPPER");
  if (!upper && !clnn__ox_attr_s_is(o, "auto_pad", "SAME_LOWER"))
    return clnn__ox_unsupported(o, "auto_pad is not NOTSET, VALID, SAME_UPPER or SAME_LOWER");
  if (transposed) return clnn__ox_unsupported(o, "auto_pad SAME_* of ConvTranspose");
  for (int i = 0; i < 2; i++) {
    int64_t in = (int64_t)xd[1 + i], out = (in + w->s[i] - 1) / w->s[i];
    int64_t total = (out - 1) * w->s[i] + (w->k[i] - 1) * w->d[i] + 1 - in;
    if (total < 0) total = 0;
    w->p[i] = upper ? total / 2 : total - total / 2;
    w->p[2 + i] = total - w->p[i];
  }
  return CLNN_SUCCESS;
}

static clnn_status need_image(clnn__ox *o, int nd) {
  if (nd != 3)
    return clnn__ox_unsupported(o, "clnn does this on 2-D images [N, C, H, W] only (got rank %d)",
                                nd + 1);
  return CLNN_SUCCESS;
}

static clnn_status map_conv(clnn__ox *o, int transposed) {
  int x = -1, nd = 0;
  size_t xd[CLNN_MAX_DIMS];
  clnn__ox_sym *w, *b = NULL;
  clnn_status st = clnn__ox_only_outputs(o, 1);
  if (st == CLNN_SUCCESS) st = clnn__ox_in_value(o, 0, &x, &nd, xd);
  if (st == CLNN_SUCCESS) st = need_image(o, nd);
  if (st == CLNN_SUCCESS) st = clnn__ox_in_const(o, 1, &w);
  if (st == CLNN_SUCCESS && clnn__ox_in_name(o, 2)) st = clnn__ox_in_const(o, 2, &b);
  if (st != CLNN_SUCCESS) return st;
  if (w->ndim != 4 || !w->f) return clnn__ox_unsupported(o, "the weight is not a 4-D float tensor");
  int64_t group = clnn__ox_attr_i(o, "group", 1);
  if (group < 1 || group > 1 << 20) return clnn__ox_format(o, "group %lld", (long long)group);
  int64_t K = transposed ? w->dims[1] * group : w->dims[0];
  if (K < 1 || K > 1 << 24) return clnn__ox_format(o, "the weight has %lld output channels", (long long)K);
  win2 win;
  win.k[0] = w->dims[2];
  win.k[1] = w->dims[3];
  int64_t ks[2];
  int nks = clnn__ox_attr_ints(o, "kernel_shape", ks, 2);
  if (nks >= 0 && (nks != 2 || ks[0] != win.k[0] || ks[1] != win.k[1]))
    return clnn__ox_format(o, "kernel_shape does not match the weight");
  if ((st = window(o, xd, &win, transposed)) != CLNN_SUCCESS) return st;
  if (transposed) {
    int64_t op[2];
    int n = clnn__ox_attr_ints(o, "output_padding", op, 2);
    if (clnn__ox_attr(o, "output_shape"))
      return clnn__ox_unsupported(o, "output_shape is not supported (give pads instead)");
    for (int i = 0; n == 2 && i < 2; i++) {
      /* extra output rows at the end: less cropping there, when there is cropping to undo */
      if (op[i] < 0 || op[i] > win.p[2 + i])
        return clnn__ox_unsupported(o, "output_padding %lld exceeds the end padding %lld",
                                    (long long)op[i], (long long)win.p[2 + i]);
      win.p[2 + i] -= op[i];
    }
  }
  if (b && (b->numel != (size_t)K || !b->f))
    return clnn__ox_format(o, "the bias has %zu elements for %lld channels", b->numel, (long long)K);
  clnn_conv2d_params p;
  clnn_conv2d_params_init(&p);
  p.stride_h = (int)win.s[0], p.stride_w = (int)win.s[1];
  p.dilation_h = (int)win.d[0], p.dilation_w = (int)win.d[1];
  p.pad_top = (int)win.p[0], p.pad_left = (int)win.p[1];
  p.pad_bottom = (int)win.p[2], p.pad_right = (int)win.p[3];
  p.groups = (int)group;
  char name[CLNN__G_NAME_MAX];
  clnn__ox_pick_name(o, clnn__ox_in_name(o, 1), name);
  int y;
  st = transposed ? clnn_graph_conv_transpose2d(o->gr, name, x, (int)K, (int)win.k[0],
                                                (int)win.k[1], &p, b != NULL, &y)
                  : clnn_graph_conv2d(o->gr, name, x, (int)K, (int)win.k[0], (int)win.k[1], &p,
                                      b != NULL, &y);
  if ((st = clnn__ox_builder(o, st)) != CLNN_SUCCESS) return st;
  st = clnn__ox_load_param(o, name, "weight", w->f, w->numel);
  if (st == CLNN_SUCCESS && b) st = clnn__ox_load_param(o, name, "bias", b->f, b->numel);
  return st == CLNN_SUCCESS ? clnn__ox_bind(o, y) : st;
}

static clnn_status map_pool(clnn__ox *o, int max) {
  int x = -1, nd = 0;
  size_t xd[CLNN_MAX_DIMS];
  clnn_status st = clnn__ox_only_outputs(o, 1);
  if (st == CLNN_SUCCESS) st = clnn__ox_in_value(o, 0, &x, &nd, xd);
  if (st == CLNN_SUCCESS) st = need_image(o, nd);
  if (st != CLNN_SUCCESS) return st;
  win2 win;
  if (clnn__ox_attr_ints(o, "kernel_shape", win.k, 2) != 2)
    return clnn__ox_unsupported(o, "kernel_shape is not 2 entries (2-D pooling only)");
  if (win.k[0] < 1 || win.k[1] < 1 || win.k[0] > 1 << 20 || win.k[1] > 1 << 20)
    return clnn__ox_format(o, "kernel_shape out of range");
  if ((st = window(o, xd, &win, 0)) != CLNN_SUCCESS) return st;
  if (win.d[0] != 1 || win.d[1] != 1) return clnn__ox_unsupported(o, "dilated pooling");
  int cip = (int)clnn__ox_attr_i(o, "count_include_pad", 0);
  if (clnn__ox_attr_i(o, "ceil_mode", 0)) {
    if (!max && cip) return clnn__ox_unsupported(o, "ceil_mode with count_include_pad");
    /* the extra windows of ceil mode are end padding (that max and exclusive-average pooling
     * ignore), as long as each starts inside the input or the start padding */
    for (int i = 0; i < 2; i++) {
      int64_t span = (int64_t)xd[1 + i] + win.p[i] + win.p[2 + i] - win.k[i];
      if (span < 0) break;
      int64_t out = (span + win.s[i] - 1) / win.s[i] + 1;
      if ((out - 1) * win.s[i] >= (int64_t)xd[1 + i] + win.p[i]) out--;
      int64_t extra = (out - 1) * win.s[i] + win.k[i] - ((int64_t)xd[1 + i] + win.p[i] + win.p[2 + i]);
      if (extra > 0) win.p[2 + i] += extra;
    }
  }
  clnn_pool2d_params p;
  clnn_pool2d_params_init(&p, 1);
  p.kernel_h = (int)win.k[0], p.kernel_w = (int)win.k[1];
  p.stride_h = (int)win.s[0], p.stride_w = (int)win.s[1];
  p.pad_top = (int)win.p[0], p.pad_left = (int)win.p[1];
  p.pad_bottom = (int)win.p[2], p.pad_right = (int)win.p[3];
  p.count_include_pad = cip ? 1 : 0;
  char name[CLNN__G_NAME_MAX];
  clnn__ox_pick_name(o, NULL, name);
  int y;
  st = clnn__ox_builder(o, clnn_graph_pool2d(o->gr, name, x, max, &p, &y));
  return st == CLNN_SUCCESS ? clnn__ox_bind(o, y) : st;
}

static clnn_status map_global_pool(clnn__ox *o, int max) {
  int x = -1, nd = 0, y;
  size_t xd[CLNN_MAX_DIMS];
  clnn_status st = clnn__ox_only_outputs(o, 1);
  if (st == CLNN_SUCCESS) st = clnn__ox_in_value(o, 0, &x, &nd, xd);
  if (st == CLNN_SUCCESS) st = need_image(o, nd);
  if (st != CLNN_SUCCESS) return st;
  char name[CLNN__G_NAME_MAX], rname[CLNN__G_NAME_MAX];
  clnn__ox_pick_name(o, NULL, name);
  if (max) {
    clnn_pool2d_params p;
    clnn_pool2d_params_init(&p, 1);
    p.kernel_h = (int)xd[1], p.kernel_w = (int)xd[2];
    st = clnn__ox_builder(o, clnn_graph_pool2d(o->gr, name, x, 1, &p, &y));
    return st == CLNN_SUCCESS ? clnn__ox_bind(o, y) : st;
  }
  st = clnn__ox_builder(o, clnn_graph_global_avgpool(o->gr, name, x, &y));
  size_t d[3] = {xd[0], 1, 1};
  clnn__ox_sub_name(o, name, "4d", rname);
  if (st == CLNN_SUCCESS) st = clnn__ox_reshape_to(o, rname, y, 3, d, &y);
  return st == CLNN_SUCCESS ? clnn__ox_bind(o, y) : st;
}

/* ---- dense ---- */


static clnn_status map_gemm(clnn__ox *o, int matmul) {
  int x = -1, nd = 0;
  size_t xd[CLNN_MAX_DIMS];
  clnn__ox_sym *w, *c = NULL;
  clnn_status st = clnn__ox_only_outputs(o, 1);
  if (st == CLNN_SUCCESS) st = clnn__ox_in_value(o, 0, &x, &nd, xd);
  if (st == CLNN_SUCCESS) st = clnn__ox_in_const(o, 1, &w);
  if (st == CLNN_SUCCESS && !matmul && clnn__ox_in_name(o, 2)) st = clnn__ox_in_const(o, 2, &c);
  if (st != CLNN_SUCCESS) return st;
  float alpha = matmul ? 1.0f : clnn__ox_attr_f(o, "alpha", 1.0f), beta = matmul ? 1.0f : clnn__ox_attr_f(o, "beta", 1.0f);
  int tb = matmul ? 0 : (int)clnn__ox_attr_i(o, "transB", 0);
  if (!matmul && (clnn__ox_attr_i(o, "transA", 0) || nd != 1))
    return clnn__ox_unsupported(o, "Gemm with transA or an input that is not [N, F]");
  if (w->ndim != 2 || !w->f)
    return clnn__ox_unsupported(o, "B is not a 2-D float constant (clnn's dense layer)");
  size_t F = xd[nd - 1];
  size_t units = (size_t)(tb ? w->dims[0] : w->dims[1]), fin = (size_t)(tb ? w->dims[1] : w->dims[0]);
  if (fin != F || units < 1 || units > 1 << 30)
    return clnn__ox_format(o, "B is %lldx%lld for %zu input features", (long long)w->dims[0],
                           (long long)w->dims[1], F);
  if (c && (!c->f || (c->numel != units && c->numel != 1) || (c->ndim == 2 && c->dims[0] != 1)))
    return clnn__ox_unsupported(o, "C must be a float constant of shape [units], [1, units] or "
                                   "a scalar");
  /* MatMul followed by Add of a constant [units]: a dense layer with a bias */
  const char *bind_to = o->node->output[0], *other;
  int add = matmul ? clnn__ox_sole_consumer(o, bind_to) : -1;
  if (add >= 0) {
    const Onnx__NodeProto *an = o->graph->node[add];
    clnn__ox_sym *bs = NULL;
    if (!strcmp(an->op_type, "Add") && an->n_output == 1 && clnn__ox_other_input(an, bind_to, &other) &&
        (bs = clnn__ox_find(o, other)) && bs->is_const && bs->f && bs->numel == units &&
        bs->ndim >= 1 && bs->dims[bs->ndim - 1] == (int64_t)units) {
      c = bs;
      bind_to = an->output[0];
      o->skip[add] = 1;
    }
  }
  char name[CLNN__G_NAME_MAX];
  clnn__ox_pick_name(o, clnn__ox_in_name(o, 1), name);
  int y;
  if ((st = clnn__ox_builder(o, clnn_graph_dense(o->gr, name, x, (int)units, c != NULL, &y))) !=
      CLNN_SUCCESS)
    return st;
  /* clnn's weight is [units, F] */
  float *wt = malloc(units * F * sizeof(float) + units * sizeof(float));
  if (!wt) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "ONNX import: out of memory");
  for (size_t u = 0; u < units; u++)
    for (size_t f = 0; f < F; f++) wt[u * F + f] = alpha * (tb ? w->f[u * F + f] : w->f[f * units + u]);
  st = clnn__ox_load_param(o, name, "weight", wt, units * F);
  if (st == CLNN_SUCCESS && c) {
    float *bb = wt + units * F;
    for (size_t u = 0; u < units; u++) bb[u] = beta * c->f[c->numel == 1 ? 0 : u];
    st = clnn__ox_load_param(o, name, "bias", bb, units);
  }
  free(wt);
  return st == CLNN_SUCCESS ? clnn__ox_bind_value(o, bind_to, y) : st;
}

/* ---- elementwise ---- */

static int all_ones_from(int nd, const size_t *d, int from) {
  for (int i = from; i < nd; i++)
    if (d[i] != 1) return 0;
  return 1;
}

/* Elementwise op (0 add, 1 sub, 2 mul, 3 div) of two constants of one shape (or a scalar). */
static clnn_status fold(clnn__ox *o, int op, clnn__ox_sym *a, clnn__ox_sym *b) {
  clnn__ox_sym *big = a->numel >= b->numel ? a : b;
  if ((a->numel != b->numel && a->numel != 1 && b->numel != 1) || !!a->f != !!b->f)
    return clnn__ox_unsupported(o, "constant operands of different shapes or types");
  int fl = a->f != NULL;
  void *buf = clnn__ox_budget_alloc(o, big->numel * 8);
  if (!buf) return clnn__ox_format(o, "more constant data than the file holds");
  float *f = fl ? buf : NULL;
  int64_t *iv = fl ? NULL : buf;
  for (size_t k = 0; k < big->numel; k++) {
    size_t ka = a->numel == 1 ? 0 : k, kb = b->numel == 1 ? 0 : k;
    if (fl) {
      float x = a->f[ka], y = b->f[kb];
      f[k] = op == 0 ? x + y : op == 1 ? x - y : op == 2 ? x * y : x / y;
    } else {
      int64_t x = a->i[ka], y = b->i[kb];
      iv[k] = op == 0 ? x + y : op == 1 ? x - y : op == 2 ? x * y : (y ? x / y : 0);
    }
  }
  return clnn__ox_bind_const(o, o->node->output[0], big->ndim, big->dims, f, iv);
}

/* ---- Gelu written out: Div(x, sqrt 2) -> Erf -> Add(1) -> Mul(x) -> Mul(0.5) (PyTorch's export
 * before opset 20, and clnn's own) becomes one exact GELU ---- */

static int scalar_is(clnn__ox *o, const char *name, float v) {
  float got;
  return clnn__ox_scalar(o, name, &got) && fabsf(got - v) <= 1e-4f * fabsf(v);
}

static clnn_status try_gelu(clnn__ox *o, int x, const char *xname, int *done) {
  *done = 0;
  const Onnx__GraphProto *g = o->graph;
  const char *cur = o->node->output[0], *other;
  int c[4];
  static const char *const ops[4] = {"Erf", "Add", "Mul", "Mul"};
  for (int k = 0; k < 4; k++) {
    c[k] = clnn__ox_sole_consumer(o, cur);
    if (c[k] < 0 || strcmp(g->node[c[k]]->op_type, ops[k]) || g->node[c[k]]->n_output != 1) return CLNN_SUCCESS;
    const Onnx__NodeProto *n = g->node[c[k]];
    if (k == 0 && n->n_input != 1) return CLNN_SUCCESS;
    if (k == 1 && (!clnn__ox_other_input(n, cur, &other) || !scalar_is(o, other, 1.0f))) return CLNN_SUCCESS;
    if (k == 2 && (!clnn__ox_other_input(n, cur, &other) || strcmp(other, xname))) return CLNN_SUCCESS;
    if (k == 3 && (!clnn__ox_other_input(n, cur, &other) || !scalar_is(o, other, 0.5f))) return CLNN_SUCCESS;
    cur = n->output[0];
  }
  const Onnx__NodeProto *last = g->node[c[3]];
  char name[CLNN__G_NAME_MAX];
  clnn__ox_node_name(o, last->name && last->name[0] ? last->name : "gelu", name);
  int y;
  clnn_status st = clnn__ox_builder(o, clnn_graph_activation(o->gr, name, x, CLNN_ACT_GELU, 0, &y));
  if (st == CLNN_SUCCESS) st = clnn__ox_bind_value(o, last->output[0], y);
  for (int k = 0; k < 4; k++) o->skip[c[k]] = 1;
  *done = st == CLNN_SUCCESS;
  return st;
}

static clnn_status map_binary(clnn__ox *o, int op) {
  static const char *const opname[] = {"Add", "Sub", "Mul", "Div"};
  clnn_status st = clnn__ox_only_outputs(o, 1);
  clnn__ox_sym *a = st == CLNN_SUCCESS ? clnn__ox_in_sym(o, 0, &st) : NULL;
  clnn__ox_sym *b = st == CLNN_SUCCESS ? clnn__ox_in_sym(o, 1, &st) : NULL;
  if (st != CLNN_SUCCESS) return st;
  if (a->is_const && b->is_const) return fold(o, op, a, b);
  if (o->opset < 7 && clnn__ox_attr_i(o, "broadcast", 0) && (a->is_const || b->is_const))
    return clnn__ox_unsupported(o, "opset-%lld broadcasting of a constant", (long long)o->opset);
  char name[CLNN__G_NAME_MAX], n2[CLNN__G_NAME_MAX];
  clnn__ox_pick_name(o, NULL, name);
  int y;
  if (a->is_const || b->is_const) {
    clnn__ox_sym *c = a->is_const ? a : b;
    int x = a->is_const ? b->value : a->value;
    if (c->numel != 1 || !c->f || (op >= 2 && c == a && op == 3) || op < 2)
      return clnn__ox_unsupported(o, "%s with a constant operand '%.80s' of %zu elements: clnn "
                                     "takes Mul by and Div by a scalar constant only (no constant "
                                     "tensors in graphs)", opname[op], c->name, c->numel);
    if (op == 3 && fabsf(c->f[0] - 1.41421356f) < 1e-4f) {
      int done;
      st = try_gelu(o, x, a->name, &done);
      if (st != CLNN_SUCCESS || done) return st;
    }
    float s = op == 2 ? c->f[0] : 1.0f / c->f[0];
    st = clnn__ox_builder(o, clnn_graph_scale(o->gr, name, x, s, &y));
    return st == CLNN_SUCCESS ? clnn__ox_bind(o, y) : st;
  }
  if (op == 3) return clnn__ox_unsupported(o, "Div of two computed values");
  size_t da[CLNN_MAX_DIMS], db[CLNN_MAX_DIMS];
  int na = clnn_graph_value_dims(o->gr, a->value, da), nb = clnn_graph_value_dims(o->gr, b->value, db);
  int va = a->value, vb = b->value, same = na == nb;
  for (int i = 0; same && i < na; i++) same = da[i] == db[i];
  if (op == 2) {
    if (!same)
      return clnn__ox_unsupported(o, "Mul of values of different shapes (no broadcasting)");
    st = clnn__ox_builder(o, clnn_graph_mul(o->gr, name, va, vb, &y));
    return st == CLNN_SUCCESS ? clnn__ox_bind(o, y) : st;
  }
  int neg_first = 0;
  if (!same) {
    /* broadcasting that clnn's add does: the second operand [C, 1, ...] or all ones */
    int a_small = na == nb && all_ones_from(na, da, 1) && !all_ones_from(nb, db, 1);
    if (a_small) {
      int t = va;
      va = vb, vb = t;
      size_t tmp[CLNN_MAX_DIMS];
      memcpy(tmp, da, sizeof tmp), memcpy(da, db, sizeof tmp), memcpy(db, tmp, sizeof tmp);
      neg_first = op == 1;
    }
    if (na != nb || !all_ones_from(nb, db, 1) || (db[0] != 1 && db[0] != da[0]))
      return clnn__ox_unsupported(o, "broadcasting between these shapes (clnn adds equal shapes, "
                                     "[C, 1, ...] or scalar operands per sample)");
    size_t one = db[0];
    clnn__ox_sub_name(o, name, "b", n2);
    if ((st = clnn__ox_reshape_to(o, n2, vb, 1, &one, &vb)) != CLNN_SUCCESS) return st;
  }
  if (op == 1) {
    /* a - b = a + (-1) b; with the operands swapped, -(b' - a') */
    clnn__ox_sub_name(o, name, "neg", n2);
    int *neg = neg_first ? &va : &vb;
    if ((st = clnn__ox_builder(o, clnn_graph_scale(o->gr, n2, *neg, -1.0f, neg))) != CLNN_SUCCESS)
      return st;
  }
  st = clnn__ox_builder(o, clnn_graph_add(o->gr, name, va, vb, &y));
  return st == CLNN_SUCCESS ? clnn__ox_bind(o, y) : st;
}

static clnn_status map_act(clnn__ox *o, clnn_activation act, float alpha) {
  int x = -1, y;
  clnn_status st = clnn__ox_only_outputs(o, 1);
  if (st == CLNN_SUCCESS) st = clnn__ox_in_value(o, 0, &x, NULL, NULL);
  if (st != CLNN_SUCCESS) return st;
  if (act == CLNN_ACT_GELU && clnn__ox_attr(o, "approximate") && !clnn__ox_attr_s_is(o, "approximate", "none"))
    return clnn__ox_unsupported(o, "Gelu approximate=tanh (clnn: the exact form)");
  char name[CLNN__G_NAME_MAX];
  clnn__ox_pick_name(o, NULL, name);
  st = clnn__ox_builder(o, clnn_graph_activation(o->gr, name, x, act, alpha, &y));
  return st == CLNN_SUCCESS ? clnn__ox_bind(o, y) : st;
}

static clnn_status map_softmax(clnn__ox *o, int log) {
  int x = -1, nd = 0, y;
  size_t xd[CLNN_MAX_DIMS];
  clnn_status st = clnn__ox_only_outputs(o, 1);
  if (st == CLNN_SUCCESS) st = clnn__ox_in_value(o, 0, &x, &nd, xd);
  if (st != CLNN_SUCCESS) return st;
  int64_t axis = clnn__ox_attr_i(o, "axis", o->opset >= 13 ? -1 : 1);
  if (axis < 0) axis += nd + 1;
  char name[CLNN__G_NAME_MAX], n2[CLNN__G_NAME_MAX];
  clnn__ox_pick_name(o, NULL, name);
  if (axis == nd) {
    st = clnn__ox_builder(o, clnn_graph_softmax(o->gr, name, x, log, &y));
  } else if (axis == 1 && o->opset < 13) {
    /* opsets < 13: over everything after the batch */
    size_t all = 1;
    for (int i = 0; i < nd; i++) all *= xd[i];
    clnn__ox_sub_name(o, name, "flat", n2);
    st = clnn__ox_reshape_to(o, n2, x, 1, &all, &x);
    if (st == CLNN_SUCCESS) st = clnn__ox_builder(o, clnn_graph_softmax(o->gr, name, x, log, &y));
    clnn__ox_sub_name(o, name, "shape", n2);
    if (st == CLNN_SUCCESS) st = clnn__ox_reshape_to(o, n2, y, nd, xd, &y);
  } else {
    return clnn__ox_unsupported(o, "axis %lld (clnn: the last axis)", (long long)axis);
  }
  return st == CLNN_SUCCESS ? clnn__ox_bind(o, y) : st;
}

static clnn_status map_batchnorm(clnn__ox *o) {
  int x = -1, nd = 0, y;
  size_t xd[CLNN_MAX_DIMS];
  clnn__ox_sym *p[4];
  clnn_status st = clnn__ox_only_outputs(o, 1);
  if (st == CLNN_SUCCESS) st = clnn__ox_in_value(o, 0, &x, &nd, xd);
  for (int k = 0; k < 4 && st == CLNN_SUCCESS; k++) st = clnn__ox_in_const(o, 1 + k, &p[k]);
  if (st != CLNN_SUCCESS) return st;
  if (o->opset < 9 && clnn__ox_attr_i(o, "spatial", 1) != 1)
    return clnn__ox_unsupported(o, "spatial=0");
  for (int k = 0; k < 4; k++)
    if (!p[k]->f || p[k]->numel != xd[0])
      return clnn__ox_format(o, "input %d has %zu elements for %zu channels", 1 + k, p[k]->numel,
                             xd[0]);
  float eps = clnn__ox_attr_f(o, "epsilon", 1e-5f), mom = 1.0f - clnn__ox_attr_f(o, "momentum", 0.9f);
  if (!(mom > 0.0f && mom <= 1.0f)) mom = 0.1f; /* ONNX momentum 1 (stats frozen): clnn's default */
  char name[CLNN__G_NAME_MAX];
  clnn__ox_pick_name(o, clnn__ox_in_name(o, 1), name);
  if ((st = clnn__ox_builder(o, clnn_graph_batchnorm(o->gr, name, x, mom, eps, &y))) != CLNN_SUCCESS)
    return st;
  static const char *const role[4] = {"weight", "bias", "running_mean", "running_var"};
  for (int k = 0; k < 4 && st == CLNN_SUCCESS; k++)
    st = clnn__ox_load_param(o, name, role[k], p[k]->f, p[k]->numel);
  return st == CLNN_SUCCESS ? clnn__ox_bind(o, y) : st;
}

static clnn_status map_dropout(clnn__ox *o) {
  int x = -1, y;
  clnn_status st = clnn__ox_only_outputs(o, 1);
  if (st == CLNN_SUCCESS) st = clnn__ox_in_value(o, 0, &x, NULL, NULL);
  if (st != CLNN_SUCCESS) return st;
  float ratio = clnn__ox_attr_f(o, "ratio", 0.5f);
  if (o->opset >= 12) {
    clnn__ox_sym *r;
    ratio = 0.5f;
    if (clnn__ox_in_name(o, 1)) {
      if ((st = clnn__ox_in_const(o, 1, &r)) != CLNN_SUCCESS) return st;
      if (r->numel != 1 || !r->f) return clnn__ox_format(o, "ratio is not a scalar");
      ratio = r->f[0];
    }
  }
  if (o->opset >= 12 && clnn__ox_in_name(o, 2)) {
    clnn__ox_sym *tm;
    if ((st = clnn__ox_in_const(o, 2, &tm)) != CLNN_SUCCESS) return st;
    if (tm->numel != 1 || (tm->i ? tm->i[0] : tm->f[0]) != 0)
      return clnn__ox_unsupported(o, "training_mode true (clnn drops out in training only)");
  }
  if (ratio == 0.0f) return clnn__ox_bind(o, x);
  char name[CLNN__G_NAME_MAX];
  clnn__ox_pick_name(o, NULL, name);
  st = clnn__ox_builder(o, clnn_graph_dropout(o->gr, name, x, ratio, &y));
  return st == CLNN_SUCCESS ? clnn__ox_bind(o, y) : st;
}

/* ---- dispatch ---- */

clnn_status clnn__ox_map_node(clnn__ox *o) {
  const char *t = o->node->op_type;
  if (!strcmp(t, "Transpose") || !strcmp(t, "Squeeze") || !strcmp(t, "Gather")) {
    /* around a time-major LSTM or GRU */
    int done;
    clnn_status st = clnn__ox_layout_op(o, &done);
    if (st != CLNN_SUCCESS || done) return st;
  }
  if (!strcmp(t, "Gather")) return clnn__ox_gather(o);
  if (!strcmp(t, "LayerNormalization")) return clnn__ox_layer_norm(o);
  if (!strcmp(t, "ReduceMean")) return clnn__ox_reduce_mean(o);
  if (!strcmp(t, "LSTM")) return clnn__ox_lstm(o);
  if (!strcmp(t, "GRU")) return clnn__ox_gru(o);
  if (!strcmp(t, "Conv")) return map_conv(o, 0);
  if (!strcmp(t, "ConvTranspose")) return map_conv(o, 1);
  if (!strcmp(t, "MaxPool")) return map_pool(o, 1);
  if (!strcmp(t, "AveragePool")) return map_pool(o, 0);
  if (!strcmp(t, "GlobalAveragePool")) return map_global_pool(o, 0);
  if (!strcmp(t, "GlobalMaxPool")) return map_global_pool(o, 1);
  if (!strcmp(t, "Gemm")) return map_gemm(o, 0);
  if (!strcmp(t, "MatMul")) return map_gemm(o, 1);
  if (!strcmp(t, "Add")) return map_binary(o, 0);
  if (!strcmp(t, "Sub")) return map_binary(o, 1);
  if (!strcmp(t, "Mul")) return map_binary(o, 2);
  if (!strcmp(t, "Div")) return map_binary(o, 3);
  if (!strcmp(t, "Relu")) return map_act(o, CLNN_ACT_RELU, 0.0f);
  if (!strcmp(t, "LeakyRelu")) return map_act(o, CLNN_ACT_LEAKY_RELU, clnn__ox_attr_f(o, "alpha", 0.01f));
  if (!strcmp(t, "Elu")) return map_act(o, CLNN_ACT_ELU, clnn__ox_attr_f(o, "alpha", 1.0f));
  if (!strcmp(t, "Sigmoid")) return map_act(o, CLNN_ACT_SIGMOID, 0.0f);
  if (!strcmp(t, "Tanh")) return map_act(o, CLNN_ACT_TANH, 0.0f);
  if (!strcmp(t, "Softplus")) return map_act(o, CLNN_ACT_SOFTPLUS, 0.0f);
  if (!strcmp(t, "Gelu")) return map_act(o, CLNN_ACT_GELU, 0.0f);
  if (!strcmp(t, "Softmax")) return map_softmax(o, 0);
  if (!strcmp(t, "LogSoftmax")) return map_softmax(o, 1);
  if (!strcmp(t, "BatchNormalization")) return map_batchnorm(o);
  if (!strcmp(t, "Dropout")) return map_dropout(o);
  if (!strcmp(t, "Flatten") || !strcmp(t, "Reshape") || !strcmp(t, "Squeeze") ||
      !strcmp(t, "Unsqueeze") || !strcmp(t, "Identity"))
    return clnn__ox_reshape_like(o, t);
  if (!strcmp(t, "Transpose")) return clnn__ox_transpose(o);
  if (!strcmp(t, "Concat")) return clnn__ox_concat(o);
  if (!strcmp(t, "Split")) return clnn__ox_split(o);
  if (!strcmp(t, "Slice")) return clnn__ox_slice(o);
  if (!strcmp(t, "Constant")) return clnn__ox_constant(o);
  if (!strcmp(t, "Shape")) return clnn__ox_shape(o);
  return clnn__ox_unsupported(o, "op type '%.40s' is not supported; clnn imports %s", t,
                              clnn__ox_supported);
}
