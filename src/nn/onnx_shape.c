/* src/nn/onnx_shape.c — ONNX ops that change shapes, mapped onto clnn's reshape, permute,
 * concat, split and slice (Flatten, Reshape, Squeeze, Unsqueeze, Identity, Transpose, Concat,
 * Split, Slice), and constants (Constant, Shape, reshapes of constants). ONNX axis a is clnn's
 * per-sample axis a - 1; ops along the batch axis are unsupported. */
#include "nn/onnx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- shapes ---- */

/* Identity or Reshape of a constant: a constant with the new dims. */
static clnn_status const_reshape(clnn__ox *o, clnn__ox_sym *c, const char *kind) {
  int64_t d[CLNN__OX_MAX_RANK], s[CLNN__OX_MAX_RANK];
  int nd = c->ndim;
  memcpy(d, c->dims, sizeof d);
  if (strcmp(kind, "Reshape") == 0) {
    clnn__ox_sym *sh;
    clnn_status st = o->opset < 5 ? CLNN_ERROR_UNSUPPORTED : clnn__ox_in_const(o, 1, &sh);
    if (st != CLNN_SUCCESS) return clnn__ox_unsupported(o, "Reshape of a constant");
    nd = clnn__ox_const_ints(sh, s, CLNN__OX_MAX_RANK);
    size_t known = 1;
    int infer = -1;
    for (int i = 0; i < nd; i++) {
      d[i] = s[i] == 0 && i < c->ndim ? c->dims[i] : s[i];
      if (d[i] == -1 && infer < 0) infer = i;
      else if (d[i] < 0) return clnn__ox_format(o, "target dim %lld", (long long)d[i]);
      else known *= (size_t)d[i];
    }
    if (infer >= 0 && known) d[infer] = (int64_t)(c->numel / known), known *= (size_t)d[infer];
    if (nd < 0 || known != c->numel) return clnn__ox_format(o, "reshape of %zu elements", c->numel);
  } else if (strcmp(kind, "Identity") != 0) {
    return clnn__ox_unsupported(o, "%s of a constant", kind);
  }
  size_t esz = c->f ? sizeof(float) : sizeof(int64_t);
  void *buf = clnn__ox_budget_alloc(o, c->numel * esz);
  if (!buf) return clnn__ox_format(o, "more constant data than the file holds");
  if (c->numel) memcpy(buf, c->f ? (void *)c->f : (void *)c->i, c->numel * esz);
  return clnn__ox_bind_const(o, o->node->output[0], nd, d, c->f ? buf : NULL, c->f ? NULL : buf);
}

clnn_status clnn__ox_reshape_like(clnn__ox *o, const char *kind) {
  int x = -1, nd = 0, y;
  {
    clnn_status st0 = CLNN_SUCCESS;
    clnn__ox_sym *c = clnn__ox_in_sym(o, 0, &st0);
    if (!c) return st0;
    if (c->is_const) {
      st0 = clnn__ox_only_outputs(o, 1);
      return st0 != CLNN_SUCCESS ? st0 : const_reshape(o, c, kind);
    }
  }
  size_t xd[CLNN_MAX_DIMS], od[CLNN_MAX_DIMS];
  clnn_status st = clnn__ox_only_outputs(o, 1);
  if (st == CLNN_SUCCESS) st = clnn__ox_in_value(o, 0, &x, &nd, xd);
  if (st != CLNN_SUCCESS) return st;
  size_t total = 1;
  for (int i = 0; i < nd; i++) total *= xd[i];
  int on = 0;
  int64_t s[8] = {0};
  int ns;
  if (strcmp(kind, "Identity") == 0) return clnn__ox_bind(o, x);
  if (strcmp(kind, "Flatten") == 0) {
    int64_t axis = clnn__ox_attr_i(o, "axis", 1);
    if (axis < 0) axis += nd + 1;
    for (int i = 0; i < nd; i++)
      if (i + 1 < axis && xd[i] != 1) /* axis > 1 folds sample dims into the batch */
        return clnn__ox_unsupported(o, "Flatten axis %lld merges dimensions into the batch",
                                    (long long)axis);
    if (axis < 1) return clnn__ox_unsupported(o, "Flatten axis 0 merges the batch");
    od[on++] = total;
  } else if (strcmp(kind, "Reshape") == 0) {
    clnn__ox_sym *c;
    if (o->opset < 5) {
      ns = clnn__ox_attr_ints(o, "shape", s, 8);
    } else {
      if ((st = clnn__ox_in_const(o, 1, &c)) != CLNN_SUCCESS) return st;
      ns = clnn__ox_const_ints(c, s, 8);
    }
    if (ns < 2 || ns > CLNN_MAX_DIMS)
      return clnn__ox_unsupported(o, "target rank %d (clnn: [N, ...] of rank 2..%d)", ns,
                                  CLNN_MAX_DIMS);
    int infer = -1;
    size_t known = 1;
    for (int i = 1; i < ns; i++) {
      if (s[i] == 0 && i <= nd) s[i] = (int64_t)xd[i - 1];
      if (s[i] == -1 && infer < 0) {
        infer = i;
        continue;
      }
      if (s[i] < 1 || s[i] > ((int64_t)1 << 40)) return clnn__ox_format(o, "target dim %lld", (long long)s[i]);
      known *= (size_t)s[i];
    }
    int batch_ok = s[0] == 0 || (s[0] == -1 && infer < 0) || (o->batch > 0 && s[0] == o->batch);
    if (infer >= 0 && known && total % known == 0) s[infer] = (int64_t)(total / known), known = total;
    if (!batch_ok || known != total)
      return clnn__ox_unsupported(o, "the reshape moves data across the batch axis (clnn reshapes "
                                     "each sample)");
    for (int i = 1; i < ns; i++) od[on++] = (size_t)s[i];
  } else { /* Squeeze, Unsqueeze */
    int unsq = strcmp(kind, "Unsqueeze") == 0;
    if (o->opset < 13) {
      ns = clnn__ox_attr_ints(o, "axes", s, 8);
    } else if (clnn__ox_in_name(o, 1)) {
      clnn__ox_sym *c;
      if ((st = clnn__ox_in_const(o, 1, &c)) != CLNN_SUCCESS) return st;
      ns = clnn__ox_const_ints(c, s, 8);
    } else {
      ns = -1;
    }
    if (ns > 8 || (unsq && ns < 1)) return clnn__ox_unsupported(o, "axes missing or too many");
    int orank = unsq ? nd + 1 + ns : nd + 1;
    char mark[16] = {0};
    for (int i = 0; i < ns; i++) {
      int64_t a = s[i] < 0 ? s[i] + orank : s[i];
      if (a < 1 || a >= orank) return clnn__ox_unsupported(o, "axis %lld (the batch axis or out of range)", (long long)s[i]);
      mark[a] = 1;
    }
    if (unsq) {
      for (int i = 1, k = 0; i < orank; i++) od[on++] = mark[i] ? 1 : xd[k++];
    } else {
      for (int i = 1; i <= nd; i++)
        if (!(ns < 0 ? xd[i - 1] == 1 : mark[i])) od[on++] = xd[i - 1];
        else if (xd[i - 1] != 1) return clnn__ox_format(o, "squeezing axis %d of size %zu", i, xd[i - 1]);
    }
  }
  char name[CLNN__G_NAME_MAX];
  clnn__ox_pick_name(o, NULL, name);
  st = clnn__ox_reshape_to(o, name, x, on, od, &y);
  return st == CLNN_SUCCESS ? clnn__ox_bind(o, y) : st;
}

clnn_status clnn__ox_transpose(clnn__ox *o) {
  int x = -1, nd = 0, y;
  clnn_status st = clnn__ox_only_outputs(o, 1);
  if (st == CLNN_SUCCESS) st = clnn__ox_in_value(o, 0, &x, &nd, NULL);
  if (st != CLNN_SUCCESS) return st;
  int64_t perm[8];
  int n = clnn__ox_attr_ints(o, "perm", perm, 8);
  if (n != nd + 1 || perm[0] != 0)
    return clnn__ox_unsupported(o, "a transpose that moves the batch axis (perm must start with 0)");
  int p[CLNN_MAX_DIMS], ident = 1;
  for (int i = 0; i < nd; i++) {
    p[i] = (int)perm[i + 1] - 1;
    ident = ident && p[i] == i;
  }
  if (ident) return clnn__ox_bind(o, x);
  char name[CLNN__G_NAME_MAX];
  clnn__ox_pick_name(o, NULL, name);
  st = clnn__ox_builder(o, clnn_graph_permute(o->gr, name, x, p, &y));
  return st == CLNN_SUCCESS ? clnn__ox_bind(o, y) : st;
}

clnn_status clnn__ox_concat(clnn__ox *o) {
  int n = clnn__ox_num_in(o), xs[CLNN__G_MAX_IN], nd = 0, y;
  clnn_status st = clnn__ox_only_outputs(o, 1);
  if (n < 1 || n > CLNN__G_MAX_IN)
    return clnn__ox_unsupported(o, "%d inputs (clnn: 1..%d)", n, CLNN__G_MAX_IN);
  for (int k = 0; k < n && st == CLNN_SUCCESS; k++) st = clnn__ox_in_value(o, k, &xs[k], &nd, NULL);
  if (st != CLNN_SUCCESS) return st;
  int ax = clnn__ox_sample_axis(clnn__ox_attr_i(o, "axis", o->opset < 4 ? 1 : 0), nd);
  if (ax < 0) return clnn__ox_unsupported(o, "concatenation along the batch axis");
  char name[CLNN__G_NAME_MAX];
  clnn__ox_pick_name(o, NULL, name);
  st = clnn__ox_builder(o, clnn_graph_concat(o->gr, name, ax, n, xs, &y));
  return st == CLNN_SUCCESS ? clnn__ox_bind(o, y) : st;
}

clnn_status clnn__ox_split(clnn__ox *o) {
  int x, nd, outs[CLNN__G_MAX_OUT];
  size_t xd[CLNN_MAX_DIMS], sizes[CLNN__G_MAX_OUT];
  clnn_status st = clnn__ox_in_value(o, 0, &x, &nd, xd);
  if (st != CLNN_SUCCESS) return st;
  int ax = clnn__ox_sample_axis(clnn__ox_attr_i(o, "axis", 0), nd);
  int count = (int)o->node->n_output;
  if (ax < 0) return clnn__ox_unsupported(o, "a split along the batch axis");
  if (count < 1 || count > CLNN__G_MAX_OUT)
    return clnn__ox_unsupported(o, "%d outputs (clnn: 1..%d)", count, CLNN__G_MAX_OUT);
  int64_t s[CLNN__G_MAX_OUT] = {0};
  int ns = -1;
  if (o->opset < 13) {
    ns = clnn__ox_attr_ints(o, "split", s, CLNN__G_MAX_OUT);
  } else if (clnn__ox_in_name(o, 1)) {
    clnn__ox_sym *c;
    if ((st = clnn__ox_in_const(o, 1, &c)) != CLNN_SUCCESS) return st;
    ns = clnn__ox_const_ints(c, s, CLNN__G_MAX_OUT);
  }
  if (ns >= 0 && ns != count) return clnn__ox_format(o, "%d split sizes for %d outputs", ns, count);
  for (int k = 0; k < count; k++) {
    if (ns < 0 && xd[ax] % (size_t)count) return clnn__ox_unsupported(o, "an uneven split");
    int64_t v = ns < 0 ? (int64_t)(xd[ax] / (size_t)count) : s[k];
    if (v < 1) return clnn__ox_unsupported(o, "an empty split");
    sizes[k] = (size_t)v;
  }
  char name[CLNN__G_NAME_MAX];
  clnn__ox_pick_name(o, NULL, name);
  st = clnn__ox_builder(o, clnn_graph_split(o->gr, name, x, ax, count, sizes, outs));
  for (int k = 0; k < count && st == CLNN_SUCCESS; k++)
    st = clnn__ox_bind_value(o, o->node->output[k], outs[k]);
  return st;
}

clnn_status clnn__ox_slice(clnn__ox *o) {
  int x = -1, nd = 0;
  size_t xd[CLNN_MAX_DIMS];
  clnn_status st = clnn__ox_only_outputs(o, 1);
  if (st == CLNN_SUCCESS) st = clnn__ox_in_value(o, 0, &x, &nd, xd);
  if (st != CLNN_SUCCESS) return st;
  int64_t v[4][8];
  int n[4] = {-1, -1, -1, -1};
  if (o->opset < 10) {
    n[0] = clnn__ox_attr_ints(o, "starts", v[0], 8);
    n[1] = clnn__ox_attr_ints(o, "ends", v[1], 8);
    n[2] = clnn__ox_attr_ints(o, "axes", v[2], 8);
  } else {
    for (int k = 0; k < 4; k++) {
      clnn__ox_sym *c;
      if (!clnn__ox_in_name(o, 1 + k)) continue;
      if ((st = clnn__ox_in_const(o, 1 + k, &c)) != CLNN_SUCCESS) return st;
      n[k] = clnn__ox_const_ints(c, v[k], 8);
      if (n[k] < 0) return clnn__ox_unsupported(o, "more than 8 sliced axes");
    }
  }
  if (n[0] < 1 || n[1] != n[0] || (n[2] >= 0 && n[2] != n[0]) || (n[3] >= 0 && n[3] != n[0]))
    return clnn__ox_format(o, "starts, ends, axes and steps do not agree");
  char name[CLNN__G_NAME_MAX], nk[CLNN__G_NAME_MAX];
  clnn__ox_pick_name(o, NULL, name);
  int y = x;
  for (int k = 0; k < n[0]; k++) {
    int ax = clnn__ox_sample_axis(n[2] >= 0 ? v[2][k] : k, nd);
    if (ax < 0) return clnn__ox_unsupported(o, "a slice of the batch axis");
    if (n[3] >= 0 && v[3][k] != 1) return clnn__ox_unsupported(o, "steps other than 1");
    int64_t dim = (int64_t)xd[ax], b = v[0][k], e = v[1][k];
    if (b < 0) b += dim;
    if (e < 0) e += dim;
    b = b < 0 ? 0 : b > dim ? dim : b;
    e = e < 0 ? 0 : e > dim ? dim : e;
    if (e <= b) return clnn__ox_unsupported(o, "an empty slice");
    if (b == 0 && e == dim) continue;
    clnn__ox_sub_name(o, name, "s", nk);
    st = clnn__ox_builder(o, clnn_graph_slice(o->gr, k == n[0] - 1 ? name : nk, y, ax, (size_t)b,
                                              (size_t)(e - b), &y));
    if (st != CLNN_SUCCESS) return st;
  }
  return clnn__ox_bind(o, y);
}

clnn_status clnn__ox_constant(clnn__ox *o) {
  clnn_status st = clnn__ox_only_outputs(o, 1);
  if (st != CLNN_SUCCESS) return st;
  const Onnx__AttributeProto *a;
  clnn__ox_sym t;
  memset(&t, 0, sizeof t);
  if ((a = clnn__ox_attr(o, "value")) && a->t) {
    st = clnn__ox_tensor(o, a->t, "Constant value", &t);
    if (st != CLNN_SUCCESS) return st;
    return clnn__ox_bind_const(o, o->node->output[0], t.ndim, t.dims, t.f, t.i);
  }
  int64_t one = 1;
  if ((a = clnn__ox_attr(o, "value_float")) && a->has_f) {
    float *f = malloc(sizeof(float));
    if (!f) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "ONNX import: out of memory");
    f[0] = a->f;
    return clnn__ox_bind_const(o, o->node->output[0], 0, &one, f, NULL);
  }
  if ((a = clnn__ox_attr(o, "value_int")) && a->has_i) {
    int64_t *i = malloc(sizeof(int64_t));
    if (!i) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "ONNX import: out of memory");
    i[0] = a->i;
    return clnn__ox_bind_const(o, o->node->output[0], 0, &one, NULL, i);
  }
  if ((a = clnn__ox_attr(o, "value_ints"))) {
    int64_t *i = malloc((a->n_ints ? a->n_ints : 1) * sizeof(int64_t)), d = (int64_t)a->n_ints;
    if (!i) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "ONNX import: out of memory");
    if (a->n_ints) memcpy(i, a->ints, a->n_ints * sizeof(int64_t));
    return clnn__ox_bind_const(o, o->node->output[0], 1, &d, NULL, i);
  }
  if ((a = clnn__ox_attr(o, "value_floats"))) {
    float *f = malloc((a->n_floats ? a->n_floats : 1) * sizeof(float));
    int64_t d = (int64_t)a->n_floats;
    if (!f) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "ONNX import: out of memory");
    if (a->n_floats) memcpy(f, a->floats, a->n_floats * sizeof(float));
    return clnn__ox_bind_const(o, o->node->output[0], 1, &d, f, NULL);
  }
  return clnn__ox_unsupported(o, "a Constant without value, value_float(s) or value_int(s)");
}

clnn_status clnn__ox_shape(clnn__ox *o) {
  int x = -1, nd = 0;
  size_t xd[CLNN_MAX_DIMS];
  clnn_status st = clnn__ox_only_outputs(o, 1);
  if (st == CLNN_SUCCESS) st = clnn__ox_in_value(o, 0, &x, &nd, xd);
  if (st != CLNN_SUCCESS) return st;
  if (o->batch <= 0 || clnn__ox_attr(o, "start") || clnn__ox_attr(o, "end"))
    return clnn__ox_unsupported(o, "Shape needs a fixed batch size in the inputs (and no start/end)");
  int64_t *i = malloc((size_t)(nd + 1) * sizeof(int64_t)), d = nd + 1;
  if (!i) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "ONNX import: out of memory");
  i[0] = o->batch;
  for (int k = 0; k < nd; k++) i[k + 1] = (int64_t)xd[k];
  return clnn__ox_bind_const(o, o->node->output[0], 1, &d, NULL, i);
}
