/* src/nn/op_struct.c — structural graph ops: add (equal shapes, or a per-sample [C] or [1]
 * operand broadcast over the rest), mul, scale, concat, slice (and split, as slices), reshape
 * (and flatten) and permute. Built on the elementwise and shape operators. */
#include "nn/graph.h"
#include "nn/model.h"

#include <stdio.h>
#include <string.h>

static int same_shape(const clnn__gvalue *a, const clnn__gvalue *b) {
  if (a->ndim != b->ndim) return 0;
  for (int i = 0; i < a->ndim; i++)
    if (a->dims[i] != b->dims[i]) return 0;
  return 1;
}

static void copy_shape(clnn__gvalue *y, const clnn__gvalue *x) {
  y->dtype = CLNN_FLOAT32;
  y->ndim = x->ndim;
  memcpy(y->dims, x->dims, sizeof y->dims);
}

static clnn_status floats_only(clnn__graph *g, clnn__gnode *n) {
  char sh[96];
  for (int k = 0; k < n->num_in; k++)
    if (clnn__g_in(g, n, k)->dtype != CLNN_FLOAT32)
      return clnn__g_fail(n, CLNN_ERROR_SHAPE_MISMATCH, "input %d is %s; float values only", k,
                          clnn__g_shape_str(clnn__g_in(g, n, k), sh, sizeof sh));
  return CLNN_SUCCESS;
}

/* ---- add ---- */
/* ia[0]: 0 equal shapes, 1 b is [C] over a's axis 0, 2 b is [1] (set by infer). */

static clnn_status add_infer(clnn__graph *g, clnn__gnode *n, int params) {
  clnn_status st = floats_only(g, n);
  if (st != CLNN_SUCCESS) return st;
  const clnn__gvalue *a = clnn__g_in(g, n, 0), *b = clnn__g_in(g, n, 1);
  char sa[96], sb[96];
  if (same_shape(a, b))
    n->ia[0] = 0;
  else if (b->ndim == 1 && b->dims[0] == 1)
    n->ia[0] = 2;
  else if (b->ndim == 1 && a->ndim >= 2 && b->dims[0] == a->dims[0])
    n->ia[0] = 1;
  else
    return clnn__g_fail(n, CLNN_ERROR_SHAPE_MISMATCH,
                        "cannot add %s and %s: needs equal shapes, or a second operand of shape "
                        "[N, C] (C = the first's axis 0) or [N, 1]",
                        clnn__g_shape_str(a, sa, sizeof sa), clnn__g_shape_str(b, sb, sizeof sb));
  if (n->op == &clnn__op_mul && n->ia[0] != 0)
    return clnn__g_fail(n, CLNN_ERROR_SHAPE_MISMATCH, "mul needs equal shapes, got %s and %s",
                        clnn__g_shape_str(a, sa, sizeof sa), clnn__g_shape_str(b, sb, sizeof sb));
  copy_shape(clnn__g_out(g, n, 0), a);
  return CLNN_SUCCESS;
}

/* b broadcast: y viewed as [1, N*C, S] and b as [N*C]. */
static clnn_status bcast_views(clnn__gexec *x, const clnn__gnode *n, int slot, clnn_tensor *big,
                               clnn_tensor *small, clnn_tensor **bigv, clnn_tensor **smallv) {
  size_t rows = clnn_tensor_numel(small), s = clnn_tensor_numel(big) / rows;
  size_t d3[4] = {1, rows, s, 1}, d1[1] = {rows};
  clnn_status st = clnn__g_view(x, n, slot, big, 4, d3, bigv);
  if (st == CLNN_SUCCESS) st = clnn__g_view(x, n, slot + 1, small, 1, d1, smallv);
  return st;
}

static clnn_status add_forward(clnn__gexec *x, const clnn__gnode *n) {
  clnn_context *ctx = clnn__g_ctx(x);
  clnn_tensor *a = clnn__g_val(x, n->in[0]), *b = clnn__g_val(x, n->in[1]);
  clnn_tensor *y = clnn__g_val(x, n->out[0]);
  if (n->ia[0] == 0) return clnn_add(ctx, a, b, y);
  clnn_tensor *yv, *bv;
  clnn_status st = bcast_views(x, n, 0, y, b, &yv, &bv);
  if (st == CLNN_SUCCESS) st = clnn_tensor_copy(y, a);
  if (st == CLNN_SUCCESS) st = clnn_bias_add(ctx, bv, yv);
  return st;
}

static clnn_status add_backward(clnn__gexec *x, const clnn__gnode *n) {
  clnn_context *ctx = clnn__g_ctx(x);
  clnn_tensor *dy = clnn__g_grad(x, n->out[0]), *d;
  float beta;
  clnn_status st = CLNN_SUCCESS;
  if (clnn__g_dx(x, n, 0, &d, &beta)) st = clnn__g_accum(ctx, 1.0f, dy, beta, d);
  if (st == CLNN_SUCCESS && clnn__g_dx(x, n, 1, &d, &beta)) {
    if (n->ia[0] == 0) return clnn__g_accum(ctx, 1.0f, dy, beta, d);
    clnn_tensor *dyv, *dv;
    st = bcast_views(x, n, 2, dy, d, &dyv, &dv);
    if (st == CLNN_SUCCESS) st = clnn_conv2d_backward_bias(ctx, dyv, beta, dv);
  }
  return st;
}

const clnn__op clnn__op_add = {"add", {"broadcast", NULL}, {NULL}, 0, 2, 1,
                               add_infer, add_forward, add_backward, NULL};

static clnn_status mul_forward(clnn__gexec *x, const clnn__gnode *n) {
  return clnn_mul(clnn__g_ctx(x), clnn__g_val(x, n->in[0]), clnn__g_val(x, n->in[1]),
                  clnn__g_val(x, n->out[0]));
}

static clnn_status mul_backward(clnn__gexec *x, const clnn__gnode *n) {
  clnn_tensor *dy = clnn__g_grad(x, n->out[0]), *d;
  float beta;
  clnn_status st = CLNN_SUCCESS;
  for (int k = 0; k < 2 && st == CLNN_SUCCESS; k++)
    if (clnn__g_dx(x, n, k, &d, &beta))
      st = clnn_mul_acc(clnn__g_ctx(x), dy, clnn__g_val(x, n->in[1 - k]), beta, d);
  return st;
}

const clnn__op clnn__op_mul = {"mul", {"broadcast", NULL}, {NULL}, 0, 2, 1,
                               add_infer, mul_forward, mul_backward, NULL};

static clnn_status two_input(clnn_graph *g, const clnn__op *op, const char *name, int a, int b,
                             int *out, const char *fn) {
  if (!g || !out) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: graph or out is NULL", fn);
  int in[2] = {a, b};
  return clnn__g_add_node(&g->g, op, name, 2, in, NULL, NULL, -1, out, fn);
}

clnn_status clnn_graph_add(clnn_graph *g, const char *name, int a, int b, int *out) {
  return two_input(g, &clnn__op_add, name, a, b, out, "clnn_graph_add");
}
clnn_status clnn_graph_mul(clnn_graph *g, const char *name, int a, int b, int *out) {
  return two_input(g, &clnn__op_mul, name, a, b, out, "clnn_graph_mul");
}

/* ---- scale ---- */

static clnn_status scale_infer(clnn__graph *g, clnn__gnode *n, int params) {
  clnn_status st = floats_only(g, n);
  if (st != CLNN_SUCCESS) return st;
  if (!(n->fa[0] == n->fa[0]) || n->fa[0] > 3.0e38f || n->fa[0] < -3.0e38f)
    return clnn__g_fail(n, CLNN_ERROR_INVALID_ARGUMENT, "alpha %g is not finite",
                        (double)n->fa[0]);
  copy_shape(clnn__g_out(g, n, 0), clnn__g_in(g, n, 0));
  return CLNN_SUCCESS;
}

static clnn_status scale_forward(clnn__gexec *x, const clnn__gnode *n) {
  return clnn__g_accum(clnn__g_ctx(x), n->fa[0], clnn__g_val(x, n->in[0]), 0.0f,
                       clnn__g_val(x, n->out[0]));
}

static clnn_status scale_backward(clnn__gexec *x, const clnn__gnode *n) {
  clnn_tensor *d;
  float beta;
  if (!clnn__g_dx(x, n, 0, &d, &beta)) return CLNN_SUCCESS;
  return clnn__g_accum(clnn__g_ctx(x), n->fa[0], clnn__g_grad(x, n->out[0]), beta, d);
}

const clnn__op clnn__op_scale = {"scale", {NULL}, {"alpha", NULL}, 0, 1, 1,
                                 scale_infer, scale_forward, scale_backward, NULL};

clnn_status clnn_graph_scale(clnn_graph *g, const char *name, int x, float alpha, int *out) {
  const char *fn = "clnn_graph_scale";
  if (!g || !out) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: graph or out is NULL", fn);
  float fa[CLNN__G_FATTRS] = {alpha};
  return clnn__g_add_node(&g->g, &clnn__op_scale, name, 1, &x, NULL, fa, -1, out, fn);
}

/* ---- concat: ia[0] = axis (per sample) ---- */

static clnn_status concat_infer(clnn__graph *g, clnn__gnode *n, int params) {
  clnn_status st = floats_only(g, n);
  if (st != CLNN_SUCCESS) return st;
  const clnn__gvalue *a = clnn__g_in(g, n, 0);
  int axis = clnn__g_axis(n->ia[0], a->ndim);
  if (axis < 0)
    return clnn__g_fail(n, CLNN_ERROR_INVALID_ARGUMENT, "axis %d is outside the %d per-sample dims",
                        n->ia[0], a->ndim);
  n->ia[0] = axis;
  clnn__gvalue *y = clnn__g_out(g, n, 0);
  copy_shape(y, a);
  for (int k = 1; k < n->num_in; k++) {
    const clnn__gvalue *b = clnn__g_in(g, n, k);
    char sa[96], sb[96];
    int ok = b->ndim == a->ndim;
    for (int i = 0; ok && i < a->ndim; i++) ok = i == axis || a->dims[i] == b->dims[i];
    if (!ok)
      return clnn__g_fail(n, CLNN_ERROR_SHAPE_MISMATCH,
                          "input %d %s does not match input 0 %s outside axis %d", k,
                          clnn__g_shape_str(b, sb, sizeof sb), clnn__g_shape_str(a, sa, sizeof sa),
                          axis);
    y->dims[axis] += b->dims[axis];
  }
  return CLNN_SUCCESS;
}

/* Box copy of a whole [N, dims...] tensor `part` into (or out of) `whole` at `offset` along the
 * per-sample axis. */
static clnn_status part_copy(clnn_context *ctx, clnn_tensor *part, clnn_tensor *whole, int axis,
                             size_t offset, int into_whole, float beta) {
  int nd = clnn_tensor_ndim(part);
  size_t sizes[CLNN_MAX_DIMS], zero[CLNN_MAX_DIMS] = {0}, at[CLNN_MAX_DIMS] = {0};
  for (int i = 0; i < nd; i++) sizes[i] = clnn_tensor_dim(part, i);
  at[axis + 1] = offset;
  if (into_whole) return clnn_copy_region(ctx, nd, sizes, 1.0f, part, zero, beta, whole, at);
  return clnn_copy_region(ctx, nd, sizes, 1.0f, whole, at, beta, part, zero);
}

static clnn_status concat_forward(clnn__gexec *x, const clnn__gnode *n) {
  size_t off = 0;
  clnn_tensor *y = clnn__g_val(x, n->out[0]);
  for (int k = 0; k < n->num_in; k++) {
    clnn_tensor *a = clnn__g_val(x, n->in[k]);
    clnn_status st = part_copy(clnn__g_ctx(x), a, y, n->ia[0], off, 1, 0.0f);
    if (st != CLNN_SUCCESS) return st;
    off += clnn_tensor_dim(a, n->ia[0] + 1);
  }
  return CLNN_SUCCESS;
}

static clnn_status concat_backward(clnn__gexec *x, const clnn__gnode *n) {
  size_t off = 0;
  clnn_tensor *dy = clnn__g_grad(x, n->out[0]), *d;
  float beta;
  for (int k = 0; k < n->num_in; k++) {
    size_t len = clnn_tensor_dim(clnn__g_val(x, n->in[k]), n->ia[0] + 1);
    if (clnn__g_dx(x, n, k, &d, &beta)) {
      clnn_status st = part_copy(clnn__g_ctx(x), d, dy, n->ia[0], off, 0, beta);
      if (st != CLNN_SUCCESS) return st;
    }
    off += len;
  }
  return CLNN_SUCCESS;
}

const clnn__op clnn__op_concat = {"concat", {"axis", NULL}, {NULL}, 1, 0, 1,
                                  concat_infer, concat_forward, concat_backward, NULL};

clnn_status clnn_graph_concat(clnn_graph *g, const char *name, int axis, int count,
                              const int *xs, int *out) {
  const char *fn = "clnn_graph_concat";
  if (!g || !xs || !out)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: graph, xs or out is NULL", fn);
  int ia[CLNN__G_IATTRS] = {axis};
  return clnn__g_add_node(&g->g, &clnn__op_concat, name, count, xs, ia, NULL, -1, out, fn);
}

/* ---- slice: ia = {axis, start, length} ---- */

static clnn_status slice_infer(clnn__graph *g, clnn__gnode *n, int params) {
  clnn_status st = floats_only(g, n);
  if (st != CLNN_SUCCESS) return st;
  const clnn__gvalue *a = clnn__g_in(g, n, 0);
  int axis = clnn__g_axis(n->ia[0], a->ndim);
  char sa[96];
  if (axis < 0)
    return clnn__g_fail(n, CLNN_ERROR_INVALID_ARGUMENT, "axis %d is outside the %d per-sample dims",
                        n->ia[0], a->ndim);
  if (n->ia[1] < 0 || n->ia[2] < 1 || (size_t)n->ia[1] + (size_t)n->ia[2] > a->dims[axis])
    return clnn__g_fail(n, CLNN_ERROR_SHAPE_MISMATCH,
                        "start %d, length %d do not fit axis %d of %s", n->ia[1], n->ia[2], axis,
                        clnn__g_shape_str(a, sa, sizeof sa));
  n->ia[0] = axis;
  clnn__gvalue *y = clnn__g_out(g, n, 0);
  copy_shape(y, a);
  y->dims[axis] = (size_t)n->ia[2];
  return CLNN_SUCCESS;
}

static clnn_status slice_forward(clnn__gexec *x, const clnn__gnode *n) {
  return part_copy(clnn__g_ctx(x), clnn__g_val(x, n->out[0]), clnn__g_val(x, n->in[0]), n->ia[0],
                   (size_t)n->ia[1], 0, 0.0f);
}

static clnn_status slice_backward(clnn__gexec *x, const clnn__gnode *n) {
  clnn_tensor *d;
  float beta;
  if (!clnn__g_dx(x, n, 0, &d, &beta)) return CLNN_SUCCESS;
  clnn_status st = beta == 0.0f ? clnn_tensor_fill(d, 0.0f) : CLNN_SUCCESS;
  if (st != CLNN_SUCCESS) return st;
  return part_copy(clnn__g_ctx(x), clnn__g_grad(x, n->out[0]), d, n->ia[0], (size_t)n->ia[1], 1,
                   1.0f);
}

const clnn__op clnn__op_slice = {"slice", {"axis", "start", "length", NULL}, {NULL}, 0, 1, 1,
                                 slice_infer, slice_forward, slice_backward, NULL};

clnn_status clnn_graph_slice(clnn_graph *g, const char *name, int x, int axis, size_t start,
                             size_t length, int *out) {
  const char *fn = "clnn_graph_slice";
  if (!g || !out) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: graph or out is NULL", fn);
  if (start > 0x7fffffff || length > 0x7fffffff)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: start %zu or length %zu is too large", fn,
                       start, length);
  int ia[CLNN__G_IATTRS] = {axis, (int)start, (int)length};
  return clnn__g_add_node(&g->g, &clnn__op_slice, name, 1, &x, ia, NULL, -1, out, fn);
}

clnn_status clnn_graph_split(clnn_graph *g, const char *name, int x, int axis, int count,
                             const size_t *sizes, int *outs) {
  const char *fn = "clnn_graph_split";
  if (!g || !sizes || !outs || !name)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: graph, name, sizes or outs is NULL", fn);
  clnn_status st = clnn__g_check_value(&g->g, x, fn, "x");
  if (st != CLNN_SUCCESS) return st;
  const clnn__gvalue *v = &g->g.values[x];
  int ax = clnn__g_axis(axis, v->ndim);
  if (count < 1 || count > CLNN__G_MAX_OUT || ax < 0)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: count %d (1..%d) or axis %d is invalid",
                       fn, count, CLNN__G_MAX_OUT, axis);
  size_t total = 0;
  for (int k = 0; k < count; k++) total += sizes[k];
  if (total != v->dims[ax])
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: sizes sum to %zu, axis %d of '%s' is %zu",
                       fn, total, ax, v->name, v->dims[ax]);
  int saved_nodes = g->g.num_nodes, saved_values = g->g.num_values, got[CLNN__G_MAX_OUT];
  size_t start = 0;
  for (int k = 0; k < count; k++) {
    char nm[CLNN__G_NAME_MAX + 8];
    snprintf(nm, sizeof nm, "%s.%d", name, k);
    st = clnn_graph_slice(g, nm, x, ax, start, sizes[k], &got[k]);
    if (st != CLNN_SUCCESS) { /* leave the graph as it was */
      g->g.num_nodes = saved_nodes;
      g->g.num_values = saved_values;
      return st;
    }
    start += sizes[k];
  }
  memcpy(outs, got, (size_t)count * sizeof(int));
  return CLNN_SUCCESS;
}

/* ---- reshape: ia[0] = ndim, ia[1..4] = dims ---- */

static clnn_status reshape_infer(clnn__graph *g, clnn__gnode *n, int params) {
  clnn_status st = floats_only(g, n);
  if (st != CLNN_SUCCESS) return st;
  const clnn__gvalue *a = clnn__g_in(g, n, 0);
  int nd = n->ia[0];
  size_t total = 1;
  char sa[96];
  if (nd < 1 || nd > CLNN_MAX_DIMS - 1)
    return clnn__g_fail(n, CLNN_ERROR_INVALID_ARGUMENT, "ndim %d (1..%d per sample)", nd,
                        CLNN_MAX_DIMS - 1);
  for (int i = 0; i < nd; i++) {
    if (n->ia[1 + i] < 1)
      return clnn__g_fail(n, CLNN_ERROR_INVALID_ARGUMENT, "dim %d is %d", i, n->ia[1 + i]);
    total *= (size_t)n->ia[1 + i];
  }
  if (total != clnn__nn_prod(a->ndim, a->dims))
    return clnn__g_fail(n, CLNN_ERROR_SHAPE_MISMATCH,
                        "%zu elements per sample cannot hold %s", total,
                        clnn__g_shape_str(a, sa, sizeof sa));
  clnn__gvalue *y = clnn__g_out(g, n, 0);
  y->dtype = CLNN_FLOAT32;
  y->ndim = nd;
  for (int i = 0; i < nd; i++) y->dims[i] = (size_t)n->ia[1 + i];
  return CLNN_SUCCESS;
}

static clnn_status reshape_forward(clnn__gexec *x, const clnn__gnode *n) {
  return clnn_tensor_copy(clnn__g_val(x, n->out[0]), clnn__g_val(x, n->in[0]));
}

static clnn_status reshape_backward(clnn__gexec *x, const clnn__gnode *n) {
  clnn_tensor *d;
  float beta;
  if (!clnn__g_dx(x, n, 0, &d, &beta)) return CLNN_SUCCESS;
  return clnn__g_accum(clnn__g_ctx(x), 1.0f, clnn__g_grad(x, n->out[0]), beta, d);
}

const clnn__op clnn__op_reshape = {"reshape", {"ndim", "d0", "d1", "d2", "d3", NULL}, {NULL},
                                   0, 1, 1, reshape_infer, reshape_forward, reshape_backward, NULL};

clnn_status clnn_graph_reshape(clnn_graph *g, const char *name, int x, int ndim,
                               const size_t *dims, int *out) {
  const char *fn = "clnn_graph_reshape";
  if (!g || !out || !dims)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: graph, dims or out is NULL", fn);
  int ia[CLNN__G_IATTRS] = {ndim};
  for (int i = 0; i < ndim && i < CLNN_MAX_DIMS - 1; i++) {
    if (dims[i] > 0x7fffffff)
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: dim %d is %zu", fn, i, dims[i]);
    ia[1 + i] = (int)dims[i];
  }
  return clnn__g_add_node(&g->g, &clnn__op_reshape, name, 1, &x, ia, NULL, -1, out, fn);
}

clnn_status clnn_graph_flatten(clnn_graph *g, const char *name, int x, int *out) {
  const char *fn = "clnn_graph_flatten";
  if (!g || !out) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: graph or out is NULL", fn);
  clnn_status st = clnn__g_check_value(&g->g, x, fn, "x");
  if (st != CLNN_SUCCESS) return st;
  size_t total = clnn__nn_prod(g->g.values[x].ndim, g->g.values[x].dims);
  char auto_name[CLNN__G_NAME_MAX];
  if (!name) {
    for (unsigned k = 1;; k++) {
      snprintf(auto_name, sizeof auto_name, "flatten%u", k);
      if (clnn__g_find_node(&g->g, auto_name) < 0 && clnn__g_find_value(&g->g, auto_name) < 0)
        break;
    }
    name = auto_name;
  }
  return clnn_graph_reshape(g, name, x, 1, &total, out);
}

/* ---- permute: ia[0] = ndim, ia[1..4] = perm ---- */

static clnn_status permute_infer(clnn__graph *g, clnn__gnode *n, int params) {
  clnn_status st = floats_only(g, n);
  if (st != CLNN_SUCCESS) return st;
  const clnn__gvalue *a = clnn__g_in(g, n, 0);
  int seen[CLNN_MAX_DIMS] = {0};
  if (n->ia[0] != a->ndim)
    return clnn__g_fail(n, CLNN_ERROR_SHAPE_MISMATCH, "perm has %d entries, the input %d dims",
                        n->ia[0], a->ndim);
  clnn__gvalue *y = clnn__g_out(g, n, 0);
  y->dtype = CLNN_FLOAT32;
  y->ndim = a->ndim;
  for (int i = 0; i < a->ndim; i++) {
    int p = n->ia[1 + i];
    if (p < 0 || p >= a->ndim || seen[p]++)
      return clnn__g_fail(n, CLNN_ERROR_INVALID_ARGUMENT, "perm is not a permutation of 0..%d",
                          a->ndim - 1);
    y->dims[i] = a->dims[p];
  }
  return CLNN_SUCCESS;
}

static clnn_status permute_forward(clnn__gexec *x, const clnn__gnode *n) {
  int perm[CLNN_MAX_DIMS] = {0};
  for (int i = 0; i < n->ia[0]; i++) perm[i + 1] = n->ia[1 + i] + 1;
  return clnn_permute(clnn__g_ctx(x), perm, 1.0f, clnn__g_val(x, n->in[0]), 0.0f,
                      clnn__g_val(x, n->out[0]));
}

static clnn_status permute_backward(clnn__gexec *x, const clnn__gnode *n) {
  clnn_tensor *d;
  float beta;
  if (!clnn__g_dx(x, n, 0, &d, &beta)) return CLNN_SUCCESS;
  int inv[CLNN_MAX_DIMS] = {0};
  for (int i = 0; i < n->ia[0]; i++) inv[n->ia[1 + i] + 1] = i + 1;
  return clnn_permute(clnn__g_ctx(x), inv, 1.0f, clnn__g_grad(x, n->out[0]), beta, d);
}

const clnn__op clnn__op_permute = {"permute", {"ndim", "p0", "p1", "p2", "p3", NULL}, {NULL},
                                   0, 1, 1, permute_infer, permute_forward, permute_backward, NULL};

clnn_status clnn_graph_permute(clnn_graph *g, const char *name, int x, const int *perm,
                               int *out) {
  const char *fn = "clnn_graph_permute";
  if (!g || !perm || !out)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: graph, perm or out is NULL", fn);
  clnn_status st = clnn__g_check_value(&g->g, x, fn, "x");
  if (st != CLNN_SUCCESS) return st;
  int ia[CLNN__G_IATTRS] = {g->g.values[x].ndim};
  for (int i = 0; i < g->g.values[x].ndim; i++) ia[1 + i] = perm[i];
  return clnn__g_add_node(&g->g, &clnn__op_permute, name, 1, &x, ia, NULL, -1, out, fn);
}
