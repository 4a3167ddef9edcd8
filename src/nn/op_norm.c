/* src/nn/op_norm.c — graph ops with saved state between forward and backward: batch
 * normalisation (over per-sample axis 0) and the LSTM (batch-first [T, F] sequences on the
 * device, permuted to the operator's time-major layout in scratch buffers). */
#include "nn/graph.h"
#include "nn/model.h"

#include <stdio.h>
#include <string.h>

/* ---- batch norm: fa = {momentum, eps}; params weight, bias, running_mean, running_var ---- */

static clnn_status bn_infer(clnn__graph *g, clnn__gnode *n, int params) {
  const clnn__gvalue *x = clnn__g_in(g, n, 0);
  char sh[96];
  if (x->dtype != CLNN_FLOAT32)
    return clnn__g_fail(n, CLNN_ERROR_SHAPE_MISMATCH, "needs a float value, got %s",
                        clnn__g_shape_str(x, sh, sizeof sh));
  if (!(n->fa[0] > 0.0f && n->fa[0] <= 1.0f) || !(n->fa[1] > 0.0f && n->fa[1] < 1.0f))
    return clnn__g_fail(n, CLNN_ERROR_INVALID_ARGUMENT,
                        "momentum %g must be in (0, 1] and eps %g in (0, 1)", (double)n->fa[0],
                        (double)n->fa[1]);
  clnn__gvalue *y = clnn__g_out(g, n, 0);
  y->dtype = CLNN_FLOAT32;
  y->ndim = x->ndim;
  memcpy(y->dims, x->dims, sizeof y->dims);
  if (!params) return CLNN_SUCCESS;
  size_t c = x->dims[0];
  clnn_status st = clnn__g_param(g, n, "weight", 1, &c, 0, CLNN__GINIT_ONE, 0, 0);
  if (st == CLNN_SUCCESS) st = clnn__g_param(g, n, "bias", 1, &c, 0, CLNN__GINIT_ZERO, 0, 0);
  if (st == CLNN_SUCCESS)
    st = clnn__g_param(g, n, "running_mean", 1, &c, 1, CLNN__GINIT_ZERO, 0, 0);
  if (st == CLNN_SUCCESS) st = clnn__g_param(g, n, "running_var", 1, &c, 1, CLNN__GINIT_ONE, 0, 0);
  return st;
}

static clnn_status bn_forward(clnn__gexec *x, const clnn__gnode *n) {
  clnn_context *ctx = clnn__g_ctx(x);
  clnn_tensor *xi = clnn__g_val(x, n->in[0]), *y = clnn__g_val(x, n->out[0]);
  clnn_tensor *w = clnn__g_pval(x, n, 0), *b = clnn__g_pval(x, n, 1);
  clnn_tensor *rm = clnn__g_pval(x, n, 2), *rv = clnn__g_pval(x, n, 3);
  if (!clnn__g_training(x))
    return clnn_batchnorm_forward_inference(ctx, xi, w, b, rm, rv, n->fa[1], y);
  clnn_tensor *sm, *si;
  size_t c = clnn_tensor_dim(xi, 1);
  clnn_status st = clnn__g_scratch(x, n, 0, 1, &c, &sm);
  if (st == CLNN_SUCCESS) st = clnn__g_scratch(x, n, 1, 1, &c, &si);
  if (st != CLNN_SUCCESS) return st;
  return clnn_batchnorm_forward_training(ctx, xi, w, b, n->fa[0], n->fa[1], rm, rv, y, sm, si);
}

static clnn_status bn_backward(clnn__gexec *x, const clnn__gnode *n) {
  clnn_context *ctx = clnn__g_ctx(x);
  if (!clnn__g_training(x))
    return clnn__error(CLNN_ERROR_UNSUPPORTED,
                       "node '%s' (batchnorm): a gradient through batch norm in evaluation mode "
                       "is not supported; freeze what comes before it or train in training mode",
                       n->name);
  clnn_tensor *xi = clnn__g_val(x, n->in[0]), *dy = clnn__g_grad(x, n->out[0]);
  clnn_tensor *sm, *si, *dw = NULL, *db = NULL, *dx = NULL;
  size_t c = clnn_tensor_dim(xi, 1);
  float bw = 0, bb = 0, bx = 0;
  clnn_status st = clnn__g_scratch(x, n, 0, 1, &c, &sm);
  if (st == CLNN_SUCCESS) st = clnn__g_scratch(x, n, 1, 1, &c, &si);
  if (st != CLNN_SUCCESS) return st;
  int tw = clnn__g_dparam(x, n, 0, &dw, &bw), tb = clnn__g_dparam(x, n, 1, &db, &bb);
  int tx = clnn__g_dx(x, n, 0, &dx, &bx);
  float bp = tw ? bw : bb;
  if (tx && (!(tw || tb) || bx == bp))
    return clnn_batchnorm_backward(ctx, xi, dy, clnn__g_pval(x, n, 0), sm, si, bx, dx,
                                   tw ? dw : NULL, tb ? db : NULL);
  /* the parameters' and the input's betas differ (or no input gradient): parameters first, with
   * the input's gradient into a scratch buffer, then accumulated */
  size_t d[CLNN_MAX_DIMS];
  int nd = clnn_tensor_ndim(xi);
  for (int i = 0; i < nd; i++) d[i] = clnn_tensor_dim(xi, i);
  clnn_tensor *tmp;
  st = clnn__g_scratch(x, n, 2, nd, d, &tmp);
  /* the operator applies the one beta to dx too: a stale buffer must not be accumulated */
  if (st == CLNN_SUCCESS && bp != 0.0f) st = clnn_tensor_fill(tmp, 0.0f);
  if (st == CLNN_SUCCESS)
    st = clnn_batchnorm_backward(ctx, xi, dy, clnn__g_pval(x, n, 0), sm, si, bp, tmp,
                                 tw ? dw : NULL, tb ? db : NULL);
  if (st == CLNN_SUCCESS && tx) st = clnn__g_accum(ctx, 1.0f, tmp, bx, dx);
  return st;
}

const clnn__op clnn__op_batchnorm = {"batchnorm", {NULL}, {"momentum", "eps", NULL}, 0, 1, 1,
                                     bn_infer, bn_forward, bn_backward};

clnn_status clnn_graph_batchnorm(clnn_graph *g, const char *name, int x, float momentum,
                                 float eps, int *out) {
  const char *fn = "clnn_graph_batchnorm";
  if (!g || !out) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: graph or out is NULL", fn);
  float fa[CLNN__G_FATTRS] = {momentum == 0.0f ? 0.1f : momentum, eps == 0.0f ? 1e-5f : eps};
  return clnn__g_add_node(&g->g, &clnn__op_batchnorm, name, 1, &x, NULL, fa, -1, out, fn);
}

/* ---- LSTM: ia = {hidden, return_sequences}; params weight_ih, weight_hh, bias ---- */
/* scratch: 0 x time-major [T, N, F], 1 every h_t [T, N, H], 2 reserve, 3 dy time-major,
 * 4 dx time-major */

static clnn_status lstm_infer(clnn__graph *g, clnn__gnode *n, int params) {
  const clnn__gvalue *x = clnn__g_in(g, n, 0);
  char sh[96];
  if (x->dtype != CLNN_FLOAT32 || x->ndim != 2)
    return clnn__g_fail(n, CLNN_ERROR_SHAPE_MISMATCH, "needs sequences [N, T, F], got %s",
                        clnn__g_shape_str(x, sh, sizeof sh));
  if (n->ia[0] < 1)
    return clnn__g_fail(n, CLNN_ERROR_INVALID_ARGUMENT, "hidden %d must be >= 1", n->ia[0]);
  size_t H = (size_t)n->ia[0], F = x->dims[1];
  clnn__gvalue *y = clnn__g_out(g, n, 0);
  y->dtype = CLNN_FLOAT32;
  if (n->ia[1]) {
    y->ndim = 2;
    y->dims[0] = x->dims[0];
    y->dims[1] = H;
  } else {
    y->ndim = 1;
    y->dims[0] = H;
  }
  if (!params) return CLNN_SUCCESS;
  size_t wih[2] = {4 * H, F}, whh[2] = {4 * H, H}, b = 4 * H;
  clnn_status st = clnn__g_param(g, n, "weight_ih", 2, wih, 0, CLNN__GINIT_FAN, (double)F,
                                 (double)H);
  if (st == CLNN_SUCCESS)
    st = clnn__g_param(g, n, "weight_hh", 2, whh, 0, CLNN__GINIT_FAN, (double)H, (double)H);
  if (st == CLNN_SUCCESS) st = clnn__g_param(g, n, "bias", 1, &b, 0, CLNN__GINIT_LSTM_BIAS, 0, 0);
  return st;
}

static const int tn_perm[3] = {1, 0, 2}; /* [N, T, F] <-> [T, N, F] */

static clnn_status lstm_buffers(clnn__gexec *x, const clnn__gnode *n, clnn_tensor **xt,
                                clnn_tensor **yt, clnn_tensor **res) {
  clnn_tensor *xi = clnn__g_val(x, n->in[0]);
  size_t N = clnn_tensor_dim(xi, 0), T = clnn_tensor_dim(xi, 1), F = clnn_tensor_dim(xi, 2);
  size_t H = (size_t)n->ia[0];
  size_t dx[3] = {T, N, F}, dy[3] = {T, N, H}, r = clnn_lstm_reserve_numel(T, N, H);
  clnn_status st = clnn__g_scratch(x, n, 0, 3, dx, xt);
  if (st == CLNN_SUCCESS) st = clnn__g_scratch(x, n, 1, 3, dy, yt);
  if (st == CLNN_SUCCESS) st = clnn__g_scratch(x, n, 2, 1, &r, res);
  return st;
}

static clnn_status lstm_forward(clnn__gexec *x, const clnn__gnode *n) {
  clnn_context *ctx = clnn__g_ctx(x);
  clnn_tensor *xt, *yt, *res, *y = clnn__g_val(x, n->out[0]);
  clnn_status st = lstm_buffers(x, n, &xt, &yt, &res);
  if (st == CLNN_SUCCESS) st = clnn_permute(ctx, tn_perm, 1.0f, clnn__g_val(x, n->in[0]), 0.0f, xt);
  if (st == CLNN_SUCCESS)
    st = clnn_lstm_forward(ctx, xt, clnn__g_pval(x, n, 0), clnn__g_pval(x, n, 1),
                           clnn__g_pval(x, n, 2), NULL, NULL, yt, n->ia[1] ? NULL : y, NULL, res);
  if (st == CLNN_SUCCESS && n->ia[1]) st = clnn_permute(ctx, tn_perm, 1.0f, yt, 0.0f, y);
  return st;
}

static clnn_status lstm_backward(clnn__gexec *x, const clnn__gnode *n) {
  clnn_context *ctx = clnn__g_ctx(x);
  clnn_tensor *xt, *yt, *res, *dyt = NULL, *dhn = NULL, *dxt = NULL, *dx = NULL;
  clnn_tensor *dp[3] = {NULL, NULL, NULL};
  float bp = 0, bx = 0, b;
  clnn_status st = lstm_buffers(x, n, &xt, &yt, &res);
  if (st != CLNN_SUCCESS) return st;
  clnn_tensor *dy = clnn__g_grad(x, n->out[0]);
  if (n->ia[1]) {
    st = clnn__g_scratch(x, n, 3, 3, (size_t[3]){clnn_tensor_dim(yt, 0), clnn_tensor_dim(yt, 1),
                                                 clnn_tensor_dim(yt, 2)}, &dyt);
    if (st == CLNN_SUCCESS) st = clnn_permute(ctx, tn_perm, 1.0f, dy, 0.0f, dyt);
  } else {
    dhn = dy;
  }
  int any_p = 0;
  for (int k = 0; k < 3; k++)
    if (clnn__g_dparam(x, n, k, &dp[k], &b)) {
      any_p = 1;
      bp = b;
    }
  int tx = clnn__g_dx(x, n, 0, &dx, &bx);
  if (st == CLNN_SUCCESS && tx)
    st = clnn__g_scratch(x, n, 4, 3, (size_t[3]){clnn_tensor_dim(xt, 0), clnn_tensor_dim(xt, 1),
                                                 clnn_tensor_dim(xt, 2)}, &dxt);
  if (st != CLNN_SUCCESS) return st;
  clnn_tensor *wih = clnn__g_pval(x, n, 0), *whh = clnn__g_pval(x, n, 1);
  if (tx && any_p && bp != 0.0f) { /* shared weights accumulate: the input gradient alone first */
    st = clnn_lstm_backward(ctx, xt, wih, whh, NULL, NULL, yt, res, dyt, dhn, NULL, 0.0f, dxt,
                            NULL, NULL, NULL, NULL, NULL);
    if (st == CLNN_SUCCESS)
      st = clnn_lstm_backward(ctx, xt, wih, whh, NULL, NULL, yt, res, dyt, dhn, NULL, bp, NULL,
                              dp[0], dp[1], dp[2], NULL, NULL);
  } else {
    st = clnn_lstm_backward(ctx, xt, wih, whh, NULL, NULL, yt, res, dyt, dhn, NULL, bp,
                            tx ? dxt : NULL, dp[0], dp[1], dp[2], NULL, NULL);
  }
  if (st == CLNN_SUCCESS && tx) st = clnn_permute(ctx, tn_perm, 1.0f, dxt, bx, dx);
  return st;
}

const clnn__op clnn__op_lstm = {"lstm", {"hidden", "return_sequences", NULL}, {NULL}, 0, 1, 1,
                                lstm_infer, lstm_forward, lstm_backward};

clnn_status clnn_graph_lstm(clnn_graph *g, const char *name, int x, int hidden,
                            int return_sequences, int *out) {
  const char *fn = "clnn_graph_lstm";
  if (!g || !out) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: graph or out is NULL", fn);
  int ia[CLNN__G_IATTRS] = {hidden, return_sequences ? 1 : 0};
  return clnn__g_add_node(&g->g, &clnn__op_lstm, name, 1, &x, ia, NULL, -1, out, fn);
}
