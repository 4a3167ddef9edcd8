/* src/nn/op_norm.c — the graph's batch normalisation (over per-sample axis 0), with running
 * statistics as state parameters and saved statistics between forward and backward; in evaluation
 * mode the backward takes the running statistics as constants. (The recurrent
 * nodes, LSTM and GRU, are in op_rnn.c.) */
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

/* Evaluation mode: the running statistics are constants, y = (x - rm)*invstd*scale + shift.
 * One call when the input's and the parameters' betas agree, else one call per beta. */
static clnn_status bn_backward_eval(clnn__gexec *x, const clnn__gnode *n) {
  clnn_context *ctx = clnn__g_ctx(x);
  clnn_tensor *xi = clnn__g_val(x, n->in[0]), *dy = clnn__g_grad(x, n->out[0]);
  clnn_tensor *w = clnn__g_pval(x, n, 0), *rm = clnn__g_pval(x, n, 2), *rv = clnn__g_pval(x, n, 3);
  clnn_tensor *dw = NULL, *db = NULL, *dx = NULL;
  float bw = 0, bb = 0, bx = 0, eps = n->fa[1];
  int tw = clnn__g_dparam(x, n, 0, &dw, &bw), tb = clnn__g_dparam(x, n, 1, &db, &bb);
  int tx = clnn__g_dx(x, n, 0, &dx, &bx);
  if (!tw) dw = NULL;
  if (!tb) db = NULL;
  if (!tx) dx = NULL;
  if (dw && db && bw == bb && (!dx || bx == bw))
    return clnn_batchnorm_backward_inference(ctx, xi, dy, w, rm, rv, eps, bw, dx, dw, db);
  clnn_status st = CLNN_SUCCESS;
  if (dx) st = clnn_batchnorm_backward_inference(ctx, xi, dy, w, rm, rv, eps, bx, dx, NULL, NULL);
  if (st == CLNN_SUCCESS && dw && db && bw == bb)
    return clnn_batchnorm_backward_inference(ctx, xi, dy, w, rm, rv, eps, bw, NULL, dw, db);
  if (st == CLNN_SUCCESS && dw)
    st = clnn_batchnorm_backward_inference(ctx, xi, dy, w, rm, rv, eps, bw, NULL, dw, NULL);
  if (st == CLNN_SUCCESS && db)
    st = clnn_batchnorm_backward_inference(ctx, xi, dy, w, rm, rv, eps, bb, NULL, NULL, db);
  return st;
}

static clnn_status bn_backward(clnn__gexec *x, const clnn__gnode *n) {
  clnn_context *ctx = clnn__g_ctx(x);
  if (!clnn__g_training(x)) return bn_backward_eval(x, n);
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
                                     bn_infer, bn_forward, bn_backward, NULL};

clnn_status clnn_graph_batchnorm(clnn_graph *g, const char *name, int x, float momentum,
                                 float eps, int *out) {
  const char *fn = "clnn_graph_batchnorm";
  if (!g || !out) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: graph or out is NULL", fn);
  float fa[CLNN__G_FATTRS] = {momentum == 0.0f ? 0.1f : momentum, eps == 0.0f ? 1e-5f : eps};
  return clnn__g_add_node(&g->g, &clnn__op_batchnorm, name, 1, &x, NULL, fa, -1, out, fn);
}
