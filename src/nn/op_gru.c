/* src/nn/op_gru.c — the graph's GRU node: batch-first [T, F] sequences on the device, permuted
 * to the operator's time-major layout in scratch buffers; zero initial state; every step's output
 * or only the last. */
#include "nn/graph.h"
#include "nn/model.h"

#include <stdio.h>
#include <string.h>

/* ---- GRU: ia = {hidden, return_sequences}; params weight_ih_l0 [3H, F], weight_hh_l0 [3H, H],
 * bias_ih_l0, bias_hh_l0 [3H] (PyTorch's names and layout, initialised uniform in
 * +-1/sqrt(hidden) as PyTorch does). Scratch slots: 0 x time-major, 1 y time-major, 2 reserve,
 * 3 dy time-major, 4 dx time-major */

static clnn_status gru_infer(clnn__graph *g, clnn__gnode *n, int params) {
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
  size_t wih[2] = {3 * H, F}, whh[2] = {3 * H, H}, b = 3 * H;
  const double fan = (double)H; /* PyTorch: every parameter uniform in +-1/sqrt(hidden) */
  clnn_status st = clnn__g_param(g, n, "weight_ih_l0", 2, wih, 0, CLNN__GINIT_UNIFORM, fan, 0);
  if (st == CLNN_SUCCESS)
    st = clnn__g_param(g, n, "weight_hh_l0", 2, whh, 0, CLNN__GINIT_UNIFORM, fan, 0);
  if (st == CLNN_SUCCESS)
    st = clnn__g_param(g, n, "bias_ih_l0", 1, &b, 0, CLNN__GINIT_UNIFORM, fan, 0);
  if (st == CLNN_SUCCESS)
    st = clnn__g_param(g, n, "bias_hh_l0", 1, &b, 0, CLNN__GINIT_UNIFORM, fan, 0);
  return st;
}

static const int tn_perm[3] = {1, 0, 2}; /* [N, T, F] <-> [T, N, F] */

static clnn_status gru_buffers(clnn__gexec *x, const clnn__gnode *n, clnn_tensor **xt,
                               clnn_tensor **yt, clnn_tensor **res) {
  clnn_tensor *xi = clnn__g_val(x, n->in[0]);
  size_t N = clnn_tensor_dim(xi, 0), T = clnn_tensor_dim(xi, 1), F = clnn_tensor_dim(xi, 2);
  size_t H = (size_t)n->ia[0];
  size_t dx[3] = {T, N, F}, dy[3] = {T, N, H}, r = clnn_gru_reserve_numel(T, N, H);
  clnn_status st = clnn__g_scratch(x, n, 0, 3, dx, xt);
  if (st == CLNN_SUCCESS) st = clnn__g_scratch(x, n, 1, 3, dy, yt);
  if (st == CLNN_SUCCESS) st = clnn__g_scratch(x, n, 2, 1, &r, res);
  return st;
}

static clnn_status gru_forward(clnn__gexec *x, const clnn__gnode *n) {
  clnn_context *ctx = clnn__g_ctx(x);
  clnn_tensor *xt, *yt, *res, *y = clnn__g_val(x, n->out[0]);
  clnn_status st = gru_buffers(x, n, &xt, &yt, &res);
  if (st == CLNN_SUCCESS) st = clnn_permute(ctx, tn_perm, 1.0f, clnn__g_val(x, n->in[0]), 0.0f, xt);
  if (st == CLNN_SUCCESS)
    st = clnn_gru_forward(ctx, NULL, xt, clnn__g_pval(x, n, 0), clnn__g_pval(x, n, 1),
                          clnn__g_pval(x, n, 2), clnn__g_pval(x, n, 3), NULL, yt,
                          n->ia[1] ? NULL : y, res);
  if (st == CLNN_SUCCESS && n->ia[1]) st = clnn_permute(ctx, tn_perm, 1.0f, yt, 0.0f, y);
  return st;
}

static clnn_status gru_backward(clnn__gexec *x, const clnn__gnode *n) {
  clnn_context *ctx = clnn__g_ctx(x);
  clnn_tensor *xt, *yt, *res, *dyt = NULL, *dhn = NULL, *dxt = NULL, *dx = NULL;
  clnn_tensor *dp[4] = {NULL, NULL, NULL, NULL};
  float bp = 0, bx = 0, b;
  clnn_status st = gru_buffers(x, n, &xt, &yt, &res);
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
  for (int k = 0; k < 4; k++)
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
    st = clnn_gru_backward(ctx, NULL, xt, wih, whh, NULL, res, dyt, dhn, 0.0f, dxt, NULL,
                           NULL, NULL, NULL, NULL);
    if (st == CLNN_SUCCESS)
      st = clnn_gru_backward(ctx, NULL, xt, wih, whh, NULL, res, dyt, dhn, bp, NULL, dp[0],
                             dp[1], dp[2], dp[3], NULL);
  } else {
    st = clnn_gru_backward(ctx, NULL, xt, wih, whh, NULL, res, dyt, dhn, bp, tx ? dxt : NULL,
                           dp[0], dp[1], dp[2], dp[3], NULL);
  }
  if (st == CLNN_SUCCESS && tx) st = clnn_permute(ctx, tn_perm, 1.0f, dxt, bx, dx);
  return st;
}

const clnn__op clnn__op_gru = {"gru", {"hidden", "return_sequences", NULL}, {NULL}, 0, 1, 1,
                               gru_infer, gru_forward, gru_backward};

clnn_status clnn_graph_gru(clnn_graph *g, const char *name, int x, int hidden,
                           int return_sequences, int *out) {
  const char *fn = "clnn_graph_gru";
  if (!g || !out) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: graph or out is NULL", fn);
  int ia[CLNN__G_IATTRS] = {hidden, return_sequences ? 1 : 0};
  return clnn__g_add_node(&g->g, &clnn__op_gru, name, 1, &x, ia, NULL, -1, out, fn);
}
