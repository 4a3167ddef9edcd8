/* src/nn/op_loss.c — graph ops that end in a scalar: the built-in losses (softmax
 * cross-entropy against int32 labels, binary cross-entropy with logits, mean squared error) and
 * the mean of a value, for losses written with graph ops. A scalar's gradient is the weight the
 * objective gives it (clnn__g_loss_weight). */
#include "nn/graph.h"
#include "nn/model.h"

#include <string.h>

static void scalar_out(clnn__graph *g, clnn__gnode *n) {
  clnn__gvalue *y = clnn__g_out(g, n, 0);
  y->dtype = CLNN_FLOAT32;
  y->ndim = 1;
  y->dims[0] = 1;
  y->batched = 0;
}

static clnn_status loss_infer(clnn__graph *g, clnn__gnode *n, int params) {
  const clnn__gvalue *p = clnn__g_in(g, n, 0), *t = clnn__g_in(g, n, 1);
  char sp[96], st[96];
  clnn__g_shape_str(p, sp, sizeof sp);
  clnn__g_shape_str(t, st, sizeof st);
  if (p->dtype != CLNN_FLOAT32)
    return clnn__g_fail(n, CLNN_ERROR_SHAPE_MISMATCH, "the prediction %s must be float", sp);
  if (n->ia[1] != 0 && (n->ia[1] != 1 || n->ia[0] != CLNN_LOSS_SOFTMAX_CROSS_ENTROPY))
    return clnn__g_fail(n, CLNN_ERROR_INVALID_ARGUMENT,
                        "ignore %d: an ignore index (1) is for softmax cross-entropy only",
                        n->ia[1]);
  switch (n->ia[0]) {
    case CLNN_LOSS_SOFTMAX_CROSS_ENTROPY: {
      int ok = t->dtype == CLNN_INT32 && p->ndim == t->ndim + 1 && p->ndim <= 2;
      for (int i = 0; ok && i < t->ndim; i++) ok = t->dims[i] == p->dims[i];
      if (!ok)
        return clnn__g_fail(n, CLNN_ERROR_SHAPE_MISMATCH,
                            "softmax cross-entropy needs logits [N, C] with int32 labels [N], or "
                            "[N, T, C] with [N, T]; got %s and %s", sp, st);
      break;
    }
    case CLNN_LOSS_BCE_WITH_LOGITS:
    case CLNN_LOSS_MSE: {
      int ok = t->dtype == CLNN_FLOAT32 && t->ndim == p->ndim;
      for (int i = 0; ok && i < t->ndim; i++) ok = t->dims[i] == p->dims[i];
      if (!ok)
        return clnn__g_fail(n, CLNN_ERROR_SHAPE_MISMATCH,
                            "needs a float target shaped like the prediction %s, got %s", sp, st);
      break;
    }
    default:
      return clnn__g_fail(n, CLNN_ERROR_INVALID_ARGUMENT, "loss kind %d is not a clnn_loss",
                          n->ia[0]);
  }
  scalar_out(g, n);
  return CLNN_SUCCESS;
}

/* The prediction as [rows, C]. */
static clnn_status pred_rows(clnn__gexec *x, const clnn__gnode *n, int slot, clnn_tensor *t,
                             clnn_tensor **out) {
  int nd = clnn_tensor_ndim(t);
  size_t c = clnn_tensor_dim(t, nd - 1), d[2] = {clnn_tensor_numel(t) / c, c};
  return clnn__g_view(x, n, slot, t, 2, d, out);
}

static clnn_status loss_forward(clnn__gexec *x, const clnn__gnode *n) {
  clnn_context *ctx = clnn__g_ctx(x);
  clnn_tensor *pred = clnn__g_val(x, n->in[0]), *loss = clnn__g_val(x, n->out[0]), *dpred = NULL;
  /* the gradient comes with the loss in one launch: keep it for backward */
  int grad = x->grads && clnn__g_grad(x, n->in[0]) != NULL;
  size_t pd[CLNN_MAX_DIMS];
  int nd = clnn_tensor_ndim(pred);
  for (int i = 0; i < nd; i++) pd[i] = clnn_tensor_dim(pred, i);
  clnn_status st = CLNN_SUCCESS;
  if (grad) st = clnn__g_scratch(x, n, 0, nd, pd, &dpred);
  if (st != CLNN_SUCCESS) return st;
  switch (n->ia[0]) {
    case CLNN_LOSS_SOFTMAX_CROSS_ENTROPY: {
      size_t count;
      const int32_t *ids = clnn__g_ids(x, n->in[1], &count);
      clnn_tensor *pv, *dv = NULL;
      st = pred_rows(x, n, 0, pred, &pv);
      if (st == CLNN_SUCCESS && dpred) st = pred_rows(x, n, 1, dpred, &dv);
      if (st != CLNN_SUCCESS) return st;
      if (n->ia[1])
        return clnn_softmax_cross_entropy_ignore(ctx, pv, ids, count, n->ia[2], loss, dv);
      return clnn_softmax_cross_entropy(ctx, pv, ids, count, loss, dv);
    }
    case CLNN_LOSS_BCE_WITH_LOGITS:
      return clnn_bce_with_logits(ctx, pred, clnn__g_val(x, n->in[1]), loss, dpred);
    default:
      return clnn_mse_loss(ctx, pred, clnn__g_val(x, n->in[1]), loss, dpred);
  }
}

static clnn_status loss_backward(clnn__gexec *x, const clnn__gnode *n) {
  float w = clnn__g_loss_weight(x, n->out[0]), beta;
  clnn_tensor *d, *dpred = NULL;
  clnn_status st = CLNN_SUCCESS;
  int nd = 0;
  size_t pd[CLNN_MAX_DIMS];
  clnn_tensor *pred = clnn__g_val(x, n->in[0]);
  nd = clnn_tensor_ndim(pred);
  for (int i = 0; i < nd; i++) pd[i] = clnn_tensor_dim(pred, i);
  st = clnn__g_scratch(x, n, 0, nd, pd, &dpred);
  if (st != CLNN_SUCCESS) return st;
  if (clnn__g_dx(x, n, 0, &d, &beta)) st = clnn__g_accum(clnn__g_ctx(x), w, dpred, beta, d);
  /* MSE is symmetric: the target's gradient is minus the prediction's */
  if (st == CLNN_SUCCESS && n->ia[0] == CLNN_LOSS_MSE && clnn__g_dx(x, n, 1, &d, &beta))
    st = clnn__g_accum(clnn__g_ctx(x), -w, dpred, beta, d);
  return st;
}

/* ia = {kind, ignore (1: labels equal to ignore_index are skipped), ignore_index} */
const clnn__op clnn__op_loss = {"loss", {"kind", "ignore", "ignore_index", NULL}, {NULL}, 0, 2, 1,
                                loss_infer, loss_forward, loss_backward, NULL};

static clnn_status add_loss_node(clnn_graph *g, const char *name, const int *ia, int pred,
                                 int target, float weight, int *out, const char *fn) {
  if (!g || !out) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: graph or out is NULL", fn);
  if (!(weight == weight) || weight > 3.0e38f || weight < -3.0e38f)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: weight %g is not finite", fn,
                       (double)weight);
  int in[2] = {pred, target}, v;
  clnn_status st = clnn__g_add_node(&g->g, &clnn__op_loss, name, 2, in, ia, NULL, -1, &v, fn);
  if (st != CLNN_SUCCESS) return st;
  st = clnn_graph_add_loss(g, v, weight);
  if (st != CLNN_SUCCESS) { /* (only out of memory) */
    g->g.num_nodes--;
    g->g.num_values--;
    return st;
  }
  *out = v;
  return CLNN_SUCCESS;
}

clnn_status clnn_graph_loss(clnn_graph *g, const char *name, clnn_loss kind, int pred, int target,
                            float weight, int *out) {
  int ia[CLNN__G_IATTRS] = {(int)kind};
  return add_loss_node(g, name, ia, pred, target, weight, out, "clnn_graph_loss");
}

clnn_status clnn_graph_cross_entropy(clnn_graph *g, const char *name, int logits, int labels,
                                     int ignore_index, float weight, int *out) {
  int ia[CLNN__G_IATTRS] = {CLNN_LOSS_SOFTMAX_CROSS_ENTROPY, 1, ignore_index};
  return add_loss_node(g, name, ia, logits, labels, weight, out, "clnn_graph_cross_entropy");
}

/* ---- mean of everything: a scalar ---- */

static clnn_status mean_infer(clnn__graph *g, clnn__gnode *n, int params) {
  char sh[96];
  if (clnn__g_in(g, n, 0)->dtype != CLNN_FLOAT32 || !clnn__g_in(g, n, 0)->batched)
    return clnn__g_fail(n, CLNN_ERROR_SHAPE_MISMATCH, "needs a float batched value, got %s",
                        clnn__g_shape_str(clnn__g_in(g, n, 0), sh, sizeof sh));
  scalar_out(g, n);
  return CLNN_SUCCESS;
}

static clnn_status mean_forward(clnn__gexec *x, const clnn__gnode *n) {
  clnn_tensor *a = clnn__g_val(x, n->in[0]);
  return clnn_reduce_sum(clnn__g_ctx(x), 1.0f / (float)clnn_tensor_numel(a), a, 0.0f,
                         clnn__g_val(x, n->out[0]));
}

static clnn_status mean_backward(clnn__gexec *x, const clnn__gnode *n) {
  clnn_tensor *d;
  float beta;
  if (!clnn__g_dx(x, n, 0, &d, &beta)) return CLNN_SUCCESS;
  float v = clnn__g_loss_weight(x, n->out[0]) / (float)clnn_tensor_numel(d);
  if (beta == 0.0f) return clnn_tensor_fill(d, v);
  clnn_tensor *tmp;
  size_t dims[CLNN_MAX_DIMS];
  int nd = clnn_tensor_ndim(d);
  for (int i = 0; i < nd; i++) dims[i] = clnn_tensor_dim(d, i);
  clnn_status st = clnn__g_scratch(x, n, 0, nd, dims, &tmp);
  if (st == CLNN_SUCCESS) st = clnn_tensor_fill(tmp, v);
  if (st == CLNN_SUCCESS) st = clnn_axpy(clnn__g_ctx(x), 1.0f, tmp, d);
  return st;
}

const clnn__op clnn__op_mean = {"mean", {NULL}, {NULL}, 0, 1, 1,
                                mean_infer, mean_forward, mean_backward, NULL};

clnn_status clnn_graph_mean(clnn_graph *g, const char *name, int x, int *out) {
  const char *fn = "clnn_graph_mean";
  if (!g || !out) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: graph or out is NULL", fn);
  return clnn__g_add_node(&g->g, &clnn__op_mean, name, 1, &x, NULL, NULL, -1, out, fn);
}
