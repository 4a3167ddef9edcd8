/* src/nn/op_dense.c — graph ops that work per element or per row: dense (over the last dim),
 * activations, dropout, softmax / log-softmax. */
#include "nn/graph.h"

#include <stdio.h>
#include <string.h>

static clnn_status need_float(clnn__graph *g, clnn__gnode *n, const clnn__gvalue **x) {
  char sh[96];
  *x = clnn__g_in(g, n, 0);
  if ((*x)->dtype != CLNN_FLOAT32)
    return clnn__g_fail(n, CLNN_ERROR_SHAPE_MISMATCH, "needs a float value, got %s",
                        clnn__g_shape_str(*x, sh, sizeof sh));
  return CLNN_SUCCESS;
}

/* Output = input's shape and dtype. */
static clnn_status same_infer(clnn__graph *g, clnn__gnode *n, int params) {
  const clnn__gvalue *x;
  clnn_status st = need_float(g, n, &x);
  if (st != CLNN_SUCCESS) return st;
  clnn__gvalue *y = clnn__g_out(g, n, 0);
  y->dtype = CLNN_FLOAT32;
  y->ndim = x->ndim;
  memcpy(y->dims, x->dims, sizeof y->dims);
  return CLNN_SUCCESS;
}

/* [rows, last] views of a value's tensor (rows = N * the leading per-sample dims). */
static clnn_status rows_view(clnn__gexec *x, const clnn__gnode *n, int slot, clnn_tensor *t,
                             clnn_tensor **out) {
  int nd = clnn_tensor_ndim(t);
  size_t last = clnn_tensor_dim(t, nd - 1);
  size_t d[2] = {clnn_tensor_numel(t) / last, last};
  return clnn__g_view(x, n, slot, t, 2, d, out);
}

/* ---- dense ---- */

static clnn_status dense_infer(clnn__graph *g, clnn__gnode *n, int params) {
  const clnn__gvalue *x;
  clnn_status st = need_float(g, n, &x);
  if (st != CLNN_SUCCESS) return st;
  if (n->ia[0] < 1)
    return clnn__g_fail(n, CLNN_ERROR_INVALID_ARGUMENT, "units %d must be >= 1", n->ia[0]);
  clnn__gvalue *y = clnn__g_out(g, n, 0);
  y->dtype = CLNN_FLOAT32;
  y->ndim = x->ndim;
  memcpy(y->dims, x->dims, sizeof y->dims);
  y->dims[x->ndim - 1] = (size_t)n->ia[0];
  if (!params) return CLNN_SUCCESS;
  size_t units = (size_t)n->ia[0], in_f = x->dims[x->ndim - 1];
  size_t wd[2] = {units, in_f};
  st = clnn__g_param(g, n, "weight", 2, wd, 0, CLNN__GINIT_FAN, (double)in_f, (double)units);
  if (st == CLNN_SUCCESS && n->ia[1])
    st = clnn__g_param(g, n, "bias", 1, &units, 0, CLNN__GINIT_ZERO, 0, 0);
  return st;
}

static clnn_status dense_forward(clnn__gexec *x, const clnn__gnode *n) {
  clnn_tensor *xv, *yv;
  clnn_status st = rows_view(x, n, 0, clnn__g_val(x, n->in[0]), &xv);
  if (st == CLNN_SUCCESS) st = rows_view(x, n, 1, clnn__g_val(x, n->out[0]), &yv);
  if (st != CLNN_SUCCESS) return st;
  return clnn_dense_forward(clnn__g_ctx(x), xv, clnn__g_pval(x, n, 0),
                            n->ia[1] ? clnn__g_pval(x, n, 1) : NULL, yv);
}

static clnn_status dense_backward(clnn__gexec *x, const clnn__gnode *n) {
  clnn_context *ctx = clnn__g_ctx(x);
  clnn_tensor *xv, *dyv, *dw = NULL, *db = NULL, *dx;
  float bw = 0, bb = 0, beta;
  clnn_status st = rows_view(x, n, 0, clnn__g_val(x, n->in[0]), &xv);
  if (st == CLNN_SUCCESS) st = rows_view(x, n, 2, clnn__g_grad(x, n->out[0]), &dyv);
  if (st != CLNN_SUCCESS) return st;
  int tw = clnn__g_dparam(x, n, 0, &dw, &bw);
  int tb = n->ia[1] && clnn__g_dparam(x, n, 1, &db, &bb);
  if (st == CLNN_SUCCESS && tw) st = clnn_dense_backward_weights(ctx, xv, dyv, bw, dw, tb ? db : NULL);
  if (st == CLNN_SUCCESS && tb && !tw) {
    clnn_tensor *dy4;
    size_t d[4] = {clnn_tensor_dim(dyv, 0), clnn_tensor_dim(dyv, 1), 1, 1};
    st = clnn__g_view(x, n, 3, dyv, 4, d, &dy4);
    if (st == CLNN_SUCCESS) st = clnn_conv2d_backward_bias(ctx, dy4, bb, db);
  }
  if (st == CLNN_SUCCESS && clnn__g_dx(x, n, 0, &dx, &beta)) {
    clnn_tensor *dxv;
    st = rows_view(x, n, 4, dx, &dxv);
    if (st == CLNN_SUCCESS) st = clnn_dense_backward_data(ctx, dyv, clnn__g_pval(x, n, 0), beta, dxv);
  }
  return st;
}

const clnn__op clnn__op_dense = {"dense", {"units", "bias", NULL}, {NULL}, 0, 1, 1,
                                 dense_infer, dense_forward, dense_backward, NULL};

clnn_status clnn_graph_dense(clnn_graph *g, const char *name, int x, int units, int bias,
                             int *out) {
  const char *fn = "clnn_graph_dense";
  if (!g || !out) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: graph or out is NULL", fn);
  int ia[CLNN__G_IATTRS] = {units, bias ? 1 : 0};
  return clnn__g_add_node(&g->g, &clnn__op_dense, name, 1, &x, ia, NULL, -1, out, fn);
}

/* ---- activation ---- */

static clnn_status act_infer(clnn__graph *g, clnn__gnode *n, int params) {
  if (n->ia[0] < CLNN_ACT_IDENTITY || n->ia[0] > CLNN_ACT_SOFTPLUS)
    return clnn__g_fail(n, CLNN_ERROR_INVALID_ARGUMENT, "activation %d is not a clnn_activation",
                        n->ia[0]);
  if (!(n->fa[0] == n->fa[0]))
    return clnn__g_fail(n, CLNN_ERROR_INVALID_ARGUMENT, "alpha is NaN");
  return same_infer(g, n, params);
}

static clnn_status act_forward(clnn__gexec *x, const clnn__gnode *n) {
  return clnn_activation_forward(clnn__g_ctx(x), (clnn_activation)n->ia[0], n->fa[0],
                                 clnn__g_val(x, n->in[0]), clnn__g_val(x, n->out[0]));
}

static clnn_status act_backward(clnn__gexec *x, const clnn__gnode *n) {
  clnn_tensor *dx;
  float beta;
  if (!clnn__g_dx(x, n, 0, &dx, &beta)) return CLNN_SUCCESS;
  return clnn_activation_backward(clnn__g_ctx(x), (clnn_activation)n->ia[0], n->fa[0],
                                  clnn__g_val(x, n->in[0]), clnn__g_val(x, n->out[0]),
                                  clnn__g_grad(x, n->out[0]), beta, dx);
}

const clnn__op clnn__op_activation = {"activation", {"act", NULL}, {"alpha", NULL}, 0, 1, 1,
                                      act_infer, act_forward, act_backward, NULL};

clnn_status clnn_graph_activation(clnn_graph *g, const char *name, int x, clnn_activation act,
                                  float alpha, int *out) {
  const char *fn = "clnn_graph_activation";
  if (!g || !out) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: graph or out is NULL", fn);
  int ia[CLNN__G_IATTRS] = {(int)act};
  float fa[CLNN__G_FATTRS] = {alpha};
  return clnn__g_add_node(&g->g, &clnn__op_activation, name, 1, &x, ia, fa, -1, out, fn);
}

/* ---- dropout ---- */

static clnn_status dropout_infer(clnn__graph *g, clnn__gnode *n, int params) {
  if (!(n->fa[0] >= 0.0f && n->fa[0] < 1.0f))
    return clnn__g_fail(n, CLNN_ERROR_INVALID_ARGUMENT, "p %g must be in [0, 1)",
                        (double)n->fa[0]);
  if (n->ia[0] < 0)
    return clnn__g_fail(n, CLNN_ERROR_INVALID_ARGUMENT, "stream %d must be >= 0", n->ia[0]);
  return same_infer(g, n, params);
}

static clnn_status dropout_forward(clnn__gexec *x, const clnn__gnode *n) {
  clnn_tensor *xi = clnn__g_val(x, n->in[0]), *y = clnn__g_val(x, n->out[0]);
  if (clnn__g_training(x) && n->fa[0] > 0.0f) {
    uint64_t seed, off;
    clnn__g_dropout_key(x, n, &seed, &off);
    return clnn_dropout_forward(clnn__g_ctx(x), n->fa[0], seed, off, xi, y);
  }
  return clnn_tensor_copy(y, xi);
}

static clnn_status dropout_backward(clnn__gexec *x, const clnn__gnode *n) {
  clnn_tensor *dx;
  float beta;
  if (!clnn__g_dx(x, n, 0, &dx, &beta)) return CLNN_SUCCESS;
  clnn_tensor *dy = clnn__g_grad(x, n->out[0]);
  float p = clnn__g_training(x) ? n->fa[0] : 0.0f;
  uint64_t seed, off;
  clnn__g_dropout_key(x, n, &seed, &off);
  return clnn_dropout_backward(clnn__g_ctx(x), p, seed, off, dy, beta, dx);
}

const clnn__op clnn__op_dropout = {"dropout", {"stream", NULL}, {"p", NULL}, 0, 1, 1,
                                   dropout_infer, dropout_forward, dropout_backward, NULL};

clnn_status clnn_graph_dropout(clnn_graph *g, const char *name, int x, float p, int *out) {
  const char *fn = "clnn_graph_dropout";
  if (!g || !out) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: graph or out is NULL", fn);
  float fa[CLNN__G_FATTRS] = {p};
  return clnn__g_add_node(&g->g, &clnn__op_dropout, name, 1, &x, NULL, fa, -1, out, fn);
}

/* ---- softmax / log-softmax over the last dim ---- */

static clnn_status softmax_forward(clnn__gexec *x, const clnn__gnode *n) {
  clnn_tensor *xv, *yv;
  clnn_status st = rows_view(x, n, 0, clnn__g_val(x, n->in[0]), &xv);
  if (st == CLNN_SUCCESS) st = rows_view(x, n, 1, clnn__g_val(x, n->out[0]), &yv);
  if (st != CLNN_SUCCESS) return st;
  return n->ia[0] ? clnn_log_softmax_forward(clnn__g_ctx(x), xv, yv)
                  : clnn_softmax_forward(clnn__g_ctx(x), xv, yv);
}

static clnn_status softmax_backward(clnn__gexec *x, const clnn__gnode *n) {
  clnn_tensor *dx, *yv, *dyv, *dxv;
  float beta;
  if (!clnn__g_dx(x, n, 0, &dx, &beta)) return CLNN_SUCCESS;
  clnn_status st = rows_view(x, n, 1, clnn__g_val(x, n->out[0]), &yv);
  if (st == CLNN_SUCCESS) st = rows_view(x, n, 2, clnn__g_grad(x, n->out[0]), &dyv);
  if (st == CLNN_SUCCESS) st = rows_view(x, n, 3, dx, &dxv);
  if (st != CLNN_SUCCESS) return st;
  return n->ia[0] ? clnn_log_softmax_backward(clnn__g_ctx(x), yv, dyv, beta, dxv)
                  : clnn_softmax_backward(clnn__g_ctx(x), yv, dyv, beta, dxv);
}

const clnn__op clnn__op_softmax = {"softmax", {"log", NULL}, {NULL}, 0, 1, 1,
                                   same_infer, softmax_forward, softmax_backward, NULL};

clnn_status clnn_graph_softmax(clnn_graph *g, const char *name, int x, int log, int *out) {
  const char *fn = "clnn_graph_softmax";
  if (!g || !out) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: graph or out is NULL", fn);
  int ia[CLNN__G_IATTRS] = {log ? 1 : 0};
  return clnn__g_add_node(&g->g, &clnn__op_softmax, name, 1, &x, ia, NULL, -1, out, fn);
}
