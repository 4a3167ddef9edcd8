/* src/nn/model_xloss.c — a loss computed outside a model's graph, on one value, of a kind that can
 * change between calls (the sequential network's loss): its buffers and views per batch size, the
 * loss and its gradient, and the training pass that seeds backward with that gradient. Replicas
 * on other devices carry it like any setting, so the multi-device executor trains such a model
 * as it trains any other. */
#include "nn/model.h"

#include <stdlib.h>

static size_t pred_numel(const clnn_model *m) {
  const clnn__gvalue *v = &m->graph.g.values[m->xl.pred];
  return clnn__nn_prod(v->ndim, v->dims);
}

static void drop_views(clnn__mxloss *xl) {
  clnn_tensor *ts[] = {xl->pred_v2, xl->dout_v2, xl->dout_full, xl->tgt_full};
  for (size_t k = 0; k < sizeof ts / sizeof ts[0]; k++) clnn_tensor_destroy(ts[k]);
  xl->pred_v2 = xl->dout_v2 = xl->dout_full = xl->tgt_full = NULL;
  xl->batch = 0;
}

void clnn__m_xloss_free(clnn_model *m) {
  clnn__mxloss *xl = &m->xl;
  drop_views(xl);
  clnn_tensor_destroy(xl->dout);
  clnn_tensor_destroy(xl->tgt);
  clnn_tensor_destroy(xl->loss);
  xl->dout = xl->tgt = xl->loss = NULL;
  xl->cap = 0;
  xl->on = 0;
}

clnn_status clnn__m_xloss_init(clnn_model *m, clnn_loss kind, int pred, int label, int target) {
  size_t one = 1;
  clnn_tensor *loss = NULL;
  clnn_status st = clnn_tensor_create(m->ctx, 1, &one, &loss);
  if (st != CLNN_SUCCESS) return st;
  clnn__m_xloss_free(m);
  m->xl.on = 1;
  m->xl.kind = kind;
  m->xl.pred = pred;
  m->xl.label = label;
  m->xl.target = target;
  m->xl.loss = loss;
  return CLNN_SUCCESS;
}

/* The gradient and target buffers and their views for a batch of n. */
static clnn_status ensure_io(clnn_model *m, size_t n) {
  clnn__mxloss *xl = &m->xl;
  if (xl->batch == n) return CLNN_SUCCESS;
  drop_views(xl);
  const clnn__gvalue *v = &m->graph.g.values[xl->pred];
  size_t per = pred_numel(m), classes = v->dims[v->ndim - 1];
  clnn_status st = CLNN_SUCCESS;
  if (n > xl->cap) {
    clnn_tensor_destroy(xl->dout);
    clnn_tensor_destroy(xl->tgt);
    xl->dout = xl->tgt = NULL;
    xl->cap = 0;
    size_t total = n * per;
    st = clnn_tensor_create(m->ctx, 1, &total, &xl->dout);
    if (st == CLNN_SUCCESS) st = clnn_tensor_create(m->ctx, 1, &total, &xl->tgt);
    if (st != CLNN_SUCCESS) return st;
    xl->cap = n;
  }
  size_t full[CLNN_MAX_DIMS], rows[2] = {n * (per / classes), classes};
  full[0] = n;
  for (int i = 0; i < v->ndim; i++) full[i + 1] = v->dims[i];
  st = clnn_tensor_wrap(m->ctx, clnn_tensor_cl_mem(xl->dout), v->ndim + 1, full, &xl->dout_full);
  if (st == CLNN_SUCCESS)
    st = clnn_tensor_wrap(m->ctx, clnn_tensor_cl_mem(xl->dout), 2, rows, &xl->dout_v2);
  if (st == CLNN_SUCCESS)
    st = clnn_tensor_wrap(m->ctx, clnn_tensor_cl_mem(xl->tgt), v->ndim + 1, full, &xl->tgt_full);
  if (st != CLNN_SUCCESS) {
    drop_views(xl);
    return st;
  }
  xl->batch = n;
  return CLNN_SUCCESS;
}

clnn_status clnn__m_xloss_eval(clnn_model *m, size_t n, const int32_t *labels,
                               const float *targets, int grad) {
  clnn__mxloss *xl = &m->xl;
  clnn_tensor *out = NULL;
  clnn_status st = ensure_io(m, n);
  if (st == CLNN_SUCCESS) st = clnn_model_value(m, xl->pred, &out);
  if (st != CLNN_SUCCESS) return st;
  if (xl->kind == CLNN_LOSS_SOFTMAX_CROSS_ENTROPY) {
    /* the prediction as [rows, classes]: a view kept while the model's buffer and batch stay */
    size_t d[2] = {clnn_tensor_dim(xl->dout_v2, 0), clnn_tensor_dim(xl->dout_v2, 1)};
    if (!xl->pred_v2 || clnn_tensor_cl_mem(xl->pred_v2) != clnn_tensor_cl_mem(out) ||
        clnn_tensor_dim(xl->pred_v2, 0) != d[0]) {
      clnn_tensor_destroy(xl->pred_v2);
      xl->pred_v2 = NULL;
      st = clnn_tensor_wrap(m->ctx, clnn_tensor_cl_mem(out), 2, d, &xl->pred_v2);
      if (st != CLNN_SUCCESS) return st;
    }
    return clnn_softmax_cross_entropy(m->ctx, xl->pred_v2, labels, d[0], xl->loss,
                                      grad ? xl->dout_v2 : NULL);
  }
  st = clnn_tensor_write(xl->tgt_full, targets, clnn_tensor_numel(xl->tgt_full));
  if (st != CLNN_SUCCESS) return st;
  if (xl->kind == CLNN_LOSS_MSE)
    return clnn_mse_loss(m->ctx, out, xl->tgt_full, xl->loss, grad ? xl->dout_full : NULL);
  return clnn_bce_with_logits(m->ctx, out, xl->tgt_full, xl->loss, grad ? xl->dout_full : NULL);
}

clnn_status clnn__m_xloss_pass(clnn_model *m, const clnn_feed *feeds, int num_feeds, size_t n,
                               const char *fn) {
  clnn__mxloss *xl = &m->xl;
  clnn_feed graph_feeds[CLNN__G_MAX_IN];
  const int32_t *labels = NULL;
  const float *targets = NULL;
  int ng = 0;
  for (int i = 0; i < num_feeds; i++) {
    if (feeds[i].value == xl->label) labels = feeds[i].host;
    else if (feeds[i].value == xl->target) targets = feeds[i].host;
    else if (ng < CLNN__G_MAX_IN) graph_feeds[ng++] = feeds[i];
  }
  clnn_status st = clnn__m_run(m, graph_feeds, ng, n, 1, 1, xl->pred, fn);
  if (st == CLNN_SUCCESS) st = clnn__m_xloss_eval(m, n, labels, targets, 1);
  clnn_feed seed = {xl->pred, NULL, 0, xl->dout_full};
  if (st == CLNN_SUCCESS) st = clnn__m_backward(m, &seed, 1, fn);
  return st;
}
