/* src/nn/model_run.c — the passes of a model: checking and uploading what a call feeds, forward
 * over the nodes a call needs, predict, reading values and the objective, compute_gradients and
 * train_step, and the dataset loops (train_epoch, evaluate), which check everything before the
 * first step. */
#include "nn/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

clnn_status clnn__m_upload(clnn_model *m, int v, const float *src, size_t n, clnn_tensor *dst);

static size_t value_count(const clnn__gvalue *v, size_t batch) {
  size_t n = clnn__nn_prod(v->ndim, v->dims);
  return v->batched ? n * batch : n;
}

static void mark_active(const clnn__graph *g, const char *live, char *active, int v) {
  int p = g->values[v].producer;
  if (p < 0 || active[p] || !live[p]) return;
  active[p] = 1;
  for (int k = 0; k < g->nodes[p].num_in; k++) mark_active(g, live, active, g->nodes[p].in[k]);
}

/* Sets m->active to what `target` (or, with -1, every output and loss) needs. */
static void select_nodes(clnn_model *m, int target) {
  const clnn__graph *g = &m->graph.g;
  memset(m->active, 0, (size_t)g->num_nodes + 1);
  if (target >= 0) {
    mark_active(g, m->live, m->active, target);
    return;
  }
  for (int i = 0; i < g->num_outputs; i++) mark_active(g, m->live, m->active, g->outputs[i]);
  for (int i = 0; i < g->num_losses; i++) mark_active(g, m->live, m->active, g->losses[i].value);
}

static int input_needed(const clnn_model *m, int v) {
  const clnn__graph *g = &m->graph.g;
  for (int i = 0; i < g->num_nodes; i++)
    if (m->active[i])
      for (int k = 0; k < g->nodes[i].num_in; k++)
        if (g->nodes[i].in[k] == v) return 1;
  return 0;
}

/* Labels of every active softmax cross-entropy against the number of classes (an ignore index
 * skipped), embedding ids against the vocabulary, attention key lengths against the keys. */
static clnn_status check_labels(const clnn_model *m, int v, const int32_t *ids, size_t count,
                                const char *fn) {
  const clnn__graph *g = &m->graph.g;
  for (int i = 0; i < g->num_nodes; i++) {
    const clnn__gnode *n = &g->nodes[i];
    if (!m->active[i]) continue;
    size_t lo = 0, hi; /* ids must be in [lo, hi) */
    int skip = 0, ignored = 0;
    const char *what = "labels";
    if (n->op == &clnn__op_loss && n->ia[0] == CLNN_LOSS_SOFTMAX_CROSS_ENTROPY && n->in[1] == v) {
      const clnn__gvalue *p = &g->values[n->in[0]];
      hi = p->dims[p->ndim - 1];
      skip = n->ia[1];
      ignored = n->ia[2];
    } else if (n->op == &clnn__op_embedding && n->in[0] == v) {
      hi = (size_t)n->ia[0];
      what = "ids";
    } else if (n->op == &clnn__op_attention && n->num_in == 4 && n->in[3] == v) {
      lo = 1;
      hi = g->values[n->in[1]].dims[0] + 1;
      what = "key lengths";
    } else {
      continue;
    }
    for (size_t j = 0; j < count; j++)
      if (!(skip && ids[j] == ignored) && (ids[j] < (int64_t)lo || (size_t)ids[j] >= hi))
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                           "%s: '%s'[%zu] is %d; node '%s' (%s) needs %s in %zu..%zu%s", fn,
                           g->values[v].name, j, (int)ids[j], n->name, n->op->kind, what, lo,
                           hi - 1, skip ? " or the ignore index" : "");
  }
  return CLNN_SUCCESS;
}

static clnn_status check_feeds(clnn_model *m, const clnn_feed *feeds, int num_feeds, size_t batch,
                               const char *fn) {
  const clnn__graph *g = &m->graph.g;
  if (batch == 0 || batch > ((size_t)1 << 31))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: batch %zu", fn, batch);
  if (num_feeds < 0 || (num_feeds > 0 && !feeds))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: %d feeds with feeds %s", fn, num_feeds,
                       feeds ? "set" : "NULL");
  for (int i = 0; i < num_feeds; i++) {
    const clnn_feed *f = &feeds[i];
    clnn_status st = clnn__g_check_value(g, f->value, fn, "a feed's value");
    if (st != CLNN_SUCCESS) return st;
    const clnn__gvalue *v = &g->values[f->value];
    if (v->producer >= 0)
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: feed %d: '%s' is not an input", fn, i,
                         v->name);
    for (int j = 0; j < i; j++)
      if (feeds[j].value == f->value)
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: input '%s' is fed twice", fn,
                           v->name);
    size_t want = batch * clnn__nn_prod(v->ndim, v->dims);
    if ((f->host != NULL) == (f->tensor != NULL))
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                         "%s: feed %d ('%s'): set exactly one of host and tensor", fn, i, v->name);
    if (f->tensor && clnn_tensor_context(f->tensor) != m->ctx)
      return clnn__error(CLNN_ERROR_CONTEXT_MISMATCH,
                         "%s: feed %d ('%s'): the tensor is on another context than the model", fn,
                         i, v->name);
    if (f->tensor && (v->dtype != CLNN_FLOAT32 || clnn_tensor_numel(f->tensor) != want))
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                         "%s: feed %d ('%s'): a tensor feed must be float, on the model's "
                         "context, with batch x %zu = %zu elements", fn, i, v->name,
                         want / batch, want);
    if (f->host && f->count != want)
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                         "%s: feed %d ('%s'): count %zu, but a batch of %zu needs %zu", fn, i,
                         v->name, f->count, batch, want);
    if (f->host && v->dtype == CLNN_INT32) {
      st = check_labels(m, f->value, (const int32_t *)f->host, f->count, fn);
      if (st != CLNN_SUCCESS) return st;
    }
  }
  for (int i = 0; i < g->num_inputs; i++) {
    int v = g->inputs[i], fed = 0;
    for (int j = 0; j < num_feeds; j++) fed |= feeds[j].value == v;
    if (!fed && input_needed(m, v))
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: input '%s' is needed but not fed", fn,
                         g->values[v].name);
  }
  /* batch norm in training needs more than one value per channel */
  if (m->mode == CLNN_MODE_TRAIN)
    for (int i = 0; i < g->num_nodes; i++) {
      const clnn__gnode *n = &g->nodes[i];
      if (!m->active[i] || n->op != &clnn__op_batchnorm) continue;
      const clnn__gvalue *x = &g->values[n->in[0]];
      if (batch * clnn__nn_prod(x->ndim - 1, x->dims + 1) < 2)
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                           "%s: node '%s' (batchnorm) in training mode needs more than one value "
                           "per channel; a batch of %zu has one", fn, n->name, batch);
    }
  return CLNN_SUCCESS;
}

static clnn_status upload(clnn_model *m, const clnn_feed *feeds, int num_feeds) {
  clnn__gplan *p = m->exec.plan;
  memset(m->ids, 0, (size_t)m->graph.g.num_values * sizeof(*m->ids));
  for (int i = 0; i < num_feeds; i++) {
    const clnn_feed *f = &feeds[i];
    clnn_status st = CLNN_SUCCESS;
    if (m->graph.g.values[f->value].dtype == CLNN_INT32) {
      /* a copy, so that backward can read the ids after the caller reused its memory */
      int v = f->value;
      if (m->ids_keep_cap[v] < f->count) {
        int32_t *b = realloc(m->ids_keep[v], f->count * sizeof(int32_t));
        if (!b) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "out of memory for %zu ids", f->count);
        m->ids_keep[v] = b;
        m->ids_keep_cap[v] = f->count;
      }
      memcpy(m->ids_keep[v], f->host, f->count * sizeof(int32_t));
      m->ids[v] = m->ids_keep[v];
      m->ids_count[v] = f->count;
    } else if (f->tensor) {
      st = clnn_tensor_copy(p->val[f->value], f->tensor);
    } else {
      st = clnn__m_upload(m, f->value, (const float *)f->host, f->count, p->val[f->value]);
    }
    if (st != CLNN_SUCCESS) return st;
  }
  return CLNN_SUCCESS;
}

clnn_status clnn__m_run(clnn_model *m, const clnn_feed *feeds, int num_feeds, size_t batch,
                        int training, int grads, int target, const char *fn) {
  /* the nodes of the last forward stay selected until this call's checks pass */
  size_t nn = (size_t)m->graph.g.num_nodes + 1;
  char *before = m->active_saved;
  memcpy(before, m->active, nn);
  select_nodes(m, target);
  clnn_status st = check_feeds(m, feeds, num_feeds, batch, fn);
  if (st != CLNN_SUCCESS) memcpy(m->active, before, nn);
  if (st != CLNN_SUCCESS) return st;
  memset(m->written, 0, (size_t)m->graph.g.num_values); /* no gradient of this pass yet */
  clnn__gplan *p;
  st = clnn__m_plan(m, batch, &p);
  if (st != CLNN_SUCCESS) return st;
  m->have_forward = 0;
  m->exec.plan = p;
  m->exec.training = training;
  m->exec.grads = grads;
  st = upload(m, feeds, num_feeds);
  if (st != CLNN_SUCCESS) return st;
  if (training) m->fwd_key = m->train_forwards++;
  const clnn__graph *g = &m->graph.g;
  for (int i = 0; i < g->num_nodes && st == CLNN_SUCCESS; i++)
    if (m->active[i]) st = g->nodes[i].op->forward(&m->exec, &g->nodes[i]);
  if (st == CLNN_SUCCESS) m->have_forward = 1;
  return st;
}

clnn_status clnn__m_check(clnn_model *m, const clnn_feed *feeds, int num_feeds, size_t batch,
                          const char *fn) {
  size_t nn = (size_t)m->graph.g.num_nodes + 1;
  char *before = m->active_saved;
  memcpy(before, m->active, nn);
  select_nodes(m, -1);
  clnn_status st = check_feeds(m, feeds, num_feeds, batch, fn);
  memcpy(m->active, before, nn);
  return st;
}

/* The objective of the last forward: the weighted sum of the active losses (reads back). */
clnn_status clnn__m_objective(clnn_model *m, float *loss) {
  const clnn__graph *g = &m->graph.g;
  if (m->xl.on) return clnn_tensor_read(m->xl.loss, loss, 1);
  double total = 0.0;
  for (int i = 0; i < g->num_losses; i++) {
    int v = g->losses[i].value;
    if (!m->active[g->values[v].producer]) continue;
    float f;
    clnn_status st = clnn_tensor_read(m->exec.plan->val[v], &f, 1);
    if (st != CLNN_SUCCESS) return st;
    total += (double)g->losses[i].weight * (double)f;
  }
  *loss = (float)total;
  return CLNN_SUCCESS;
}

static clnn_status model_forward_impl(clnn_model *m, const clnn_feed *feeds, int num_feeds, size_t batch,
                               float *loss) {
  const char *fn = "clnn_model_forward";
  if (!m) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: model is NULL", fn);
  clnn_status st = clnn__m_run(m, feeds, num_feeds, batch, m->mode == CLNN_MODE_TRAIN, 1, -1, fn);
  if (st == CLNN_SUCCESS && loss) st = clnn__m_objective(m, loss);
  return st;
}

static clnn_status need_losses(const clnn_model *m, const char *fn) {
  if (m->graph.g.num_losses == 0)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: the graph has no loss (clnn_graph_loss, clnn_graph_add_loss); use "
                       "clnn_model_forward and clnn_model_backward with seeds", fn);
  return CLNN_SUCCESS;
}

/* What a model on several devices refuses: tensor feeds, input gradients, too many feeds. */
static clnn_status check_parallel(const clnn_model *m, const clnn_feed *feeds, int num_feeds,
                                  const char *fn) {
  const clnn__graph *g = &m->graph.g;
  if (num_feeds > CLNN__G_MAX_IN)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: at most %d feeds on several devices", fn,
                       CLNN__G_MAX_IN);
  for (int i = 0; i < num_feeds && feeds; i++)
    if (feeds[i].tensor)
      return clnn__error(CLNN_ERROR_UNSUPPORTED,
                         "%s: a model on several devices takes host feeds (feed %d is a tensor)",
                         fn, i);
  for (int v = 0; v < g->num_values; v++)
    if (m->want_input_grad[v])
      return clnn__error(CLNN_ERROR_UNSUPPORTED,
                         "%s: input gradients are not gathered across devices ('%s')", fn,
                         g->values[v].name);
  return CLNN_SUCCESS;
}

/* Gradients (and, with apply, the update) of one batch, on one device or through the
 * multi-device executor (which checks the objective itself when asked to). */
static clnn_status gradients(clnn_model *m, const clnn_feed *feeds, int num_feeds, size_t batch,
                             int apply, float *loss, const char *fn) {
  clnn_status st = need_losses(m, fn);
  if (st == CLNN_SUCCESS && m->par) st = check_parallel(m, feeds, num_feeds, fn);
  if (st == CLNN_SUCCESS && m->par)
    return clnn__x_train(m, feeds, num_feeds, batch, apply, loss, CLNN_SUCCESS, fn);
  if (st == CLNN_SUCCESS)
    st = clnn__m_run(m, feeds, num_feeds, batch, m->mode == CLNN_MODE_TRAIN, 1, -1, fn);
  if (st == CLNN_SUCCESS) st = clnn__m_backward(m, NULL, 0, fn);
  if (st == CLNN_SUCCESS && loss) st = clnn__m_objective(m, loss);
  return st;
}

static clnn_status model_compute_gradients_impl(clnn_model *m, const clnn_feed *feeds, int num_feeds,
                                         size_t batch, float *loss) {
  const char *fn = "clnn_model_compute_gradients";
  if (!m) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: model is NULL", fn);
  return gradients(m, feeds, num_feeds, batch, 0, loss, fn);
}

/* The objective and every trained gradient are finite (clnn_model_set_check_finite). */
clnn_status clnn__m_check_finite(clnn_model *m, float loss, const char *fn) {
  clnn_status st = CLNN_SUCCESS;
  if (!isfinite(loss))
    return clnn__error(CLNN_ERROR_NOT_FINITE, "%s: the objective is %g: training diverged (lower "
                       "the learning rate, clip gradients); nothing was updated", fn, (double)loss);
  size_t n = 0;
  for (size_t i = 0; i < m->num_params; i++) n += m->params[i].trainable != 0;
  clnn_tensor **ts = malloc((n ? n : 1) * sizeof(*ts));
  char (*names)[CLNN__G_PNAME_MAX + 24] = malloc((n ? n : 1) * sizeof(*names));
  const char **np = malloc((n ? n : 1) * sizeof(*np));
  if (!ts || !names || !np) {
    st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "%s: the finite check: out of memory", fn);
  } else {
    size_t k = 0;
    for (size_t i = 0; i < m->num_params; i++) {
      if (!m->params[i].trainable) continue;
      ts[k] = m->params[i].grad;
      snprintf(names[k], sizeof names[k], "the gradient of '%s'", clnn__m_param_name(m, i));
      np[k] = names[k];
      k++;
    }
    st = clnn__nn_check_finite(ts, np, k, fn);
  }
  free(ts);
  free(names);
  free(np);
  return st;
}

static clnn_status model_train_step_impl(clnn_model *m, const clnn_feed *feeds, int num_feeds,
                                  size_t batch, float *loss) {
  const char *fn = "clnn_model_train_step";
  if (!m) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: model is NULL", fn);
  if (m->par) return gradients(m, feeds, num_feeds, batch, 1, loss, fn);
  float l = 0.0f;
  clnn_status st = gradients(m, feeds, num_feeds, batch, 0, NULL, fn);
  if (st == CLNN_SUCCESS && m->check_finite) st = clnn__m_objective(m, &l);
  if (st == CLNN_SUCCESS && m->check_finite) st = clnn__m_check_finite(m, l, fn);
  if (st == CLNN_SUCCESS) st = clnn__m_step(m);
  if (st == CLNN_SUCCESS && loss) { /* read once: the check above already has it */
    if (m->check_finite) *loss = l;
    else st = clnn__m_objective(m, loss);
  }
  return st;
}

static clnn_status pick_output(const clnn_model *m, int *output, const char *fn) {
  const clnn__graph *g = &m->graph.g;
  if (*output < 0) {
    if (g->num_outputs == 0)
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                         "%s: the graph has no output (clnn_graph_output); name the value", fn);
    *output = g->outputs[0];
  }
  clnn_status st = clnn__g_check_value(g, *output, fn, "output");
  if (st != CLNN_SUCCESS) return st;
  const clnn__gvalue *v = &g->values[*output];
  if (v->dtype != CLNN_FLOAT32 || (v->producer >= 0 && !m->live[v->producer]))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: '%s' is not a float value the model computes (only outputs, losses "
                       "and what they need are kept)", fn, v->name);
  return CLNN_SUCCESS;
}

static clnn_status model_predict_impl(clnn_model *m, const clnn_feed *feeds, int num_feeds, size_t batch,
                               int output, float *y, size_t y_count) {
  const char *fn = "clnn_model_predict";
  if (!m || !y) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: model or y is NULL", fn);
  clnn_status st = pick_output(m, &output, fn);
  if (st != CLNN_SUCCESS) return st;
  const clnn__gvalue *v = &m->graph.g.values[output];
  size_t want = value_count(v, batch);
  if (y_count != want)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: y_count %zu, '%s' for a batch of %zu is %zu",
                       fn, y_count, v->name, batch, want);
  st = clnn__m_run(m, feeds, num_feeds, batch, 0, 0, output, fn);
  if (st == CLNN_SUCCESS) st = clnn_tensor_read(m->exec.plan->val[output], y, y_count);
  return st;
}

clnn_status clnn_model_value(clnn_model *m, int v, clnn_tensor **t) {
  const char *fn = "clnn_model_value";
  if (!m || !t) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: model or t is NULL", fn);
  clnn_status st = clnn__g_check_value(&m->graph.g, v, fn, "v");
  if (st != CLNN_SUCCESS) return st;
  const clnn__gvalue *val = &m->graph.g.values[v];
  int computed = val->producer < 0 || m->active[val->producer];
  if (!m->have_forward || !computed || !m->exec.plan->val[v])
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: '%s' was not computed by the last forward", fn, val->name);
  *t = m->exec.plan->val[v];
  return CLNN_SUCCESS;
}

/* ---- dataset loops ---- */

static clnn_status check_dataset_inputs(clnn_model *m, const clnn_dataset *ds, int x, int labels,
                                        const char *fn) {
  const clnn__graph *g = &m->graph.g;
  if (!ds) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: dataset is NULL", fn);
  clnn_status st = clnn__g_check_value(g, x, fn, "x");
  if (st == CLNN_SUCCESS) st = clnn__g_check_value(g, labels, fn, "labels");
  if (st != CLNN_SUCCESS) return st;
  const clnn__gvalue *xv = &g->values[x], *lv = &g->values[labels];
  if (xv->producer >= 0 || xv->dtype != CLNN_FLOAT32 ||
      clnn__nn_prod(xv->ndim, xv->dims) != clnn_dataset_sample_numel(ds))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: x must be a float input with the dataset's %zu values per sample", fn,
                       clnn_dataset_sample_numel(ds));
  if (lv->producer >= 0 || lv->dtype != CLNN_INT32 || lv->ndim != 0)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: labels must be an int32 input with one value per sample", fn);
  if (clnn_dataset_size(ds) == 0)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: the dataset is empty", fn);
  return check_labels(m, labels, clnn_dataset_labels(ds), clnn_dataset_size(ds), fn);
}

static clnn_status alloc_batch(const clnn_dataset *ds, size_t bs, float **xb, int32_t **lb) {
  *xb = malloc(bs * clnn_dataset_sample_numel(ds) * sizeof(float));
  *lb = malloc(bs * sizeof(int32_t));
  if (!*xb || !*lb) {
    free(*xb);
    free(*lb);
    return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate a batch of %zu samples", bs);
  }
  return CLNN_SUCCESS;
}

/* Adds alpha * (the weighted objective of the last forward) to the device scalar `sum`. */
static clnn_status add_objective(clnn_model *m, clnn_tensor *sum, float alpha) {
  const clnn__graph *g = &m->graph.g;
  for (int i = 0; i < g->num_losses; i++) {
    int v = g->losses[i].value;
    if (!m->active[g->values[v].producer]) continue;
    clnn_status st = clnn_axpy(m->ctx, alpha * g->losses[i].weight, m->exec.plan->val[v], sum);
    if (st != CLNN_SUCCESS) return st;
  }
  return CLNN_SUCCESS;
}

static clnn_status model_train_epoch_impl(clnn_model *m, clnn_dataset *ds, size_t batch_size, int x,
                                   int labels, float *mean_loss) {
  const char *fn = "clnn_model_train_epoch";
  if (!m) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: model is NULL", fn);
  clnn_status st = check_dataset_inputs(m, ds, x, labels, fn);
  if (st == CLNN_SUCCESS) st = need_losses(m, fn);
  if (st != CLNN_SUCCESS) return st;
  size_t n = clnn_dataset_size(ds), bs = batch_size < n ? batch_size : n;
  if (batch_size == 0) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: batch_size is 0", fn);
  /* every batch size the epoch uses passes the checks before the first step */
  select_nodes(m, -1);
  size_t last = n % bs ? n % bs : bs;
  float *xb;
  int32_t *lb;
  st = alloc_batch(ds, bs, &xb, &lb);
  if (st != CLNN_SUCCESS) return st;
  size_t numel = clnn_dataset_sample_numel(ds);
  for (size_t trial = 0; trial < 2 && st == CLNN_SUCCESS; trial++) {
    size_t b = trial ? last : bs;
    memset(lb, 0, b * sizeof(int32_t));
    clnn_feed f[2] = {{x, xb, b * numel, NULL}, {labels, lb, b, NULL}};
    st = check_feeds(m, f, 2, b, fn);
  }
  clnn_tensor *sum = NULL;
  double host_sum = 0.0;
  size_t one = 1;
  if (st == CLNN_SUCCESS && mean_loss) st = clnn_tensor_create(m->ctx, 1, &one, &sum);
  if (sum) st = clnn_tensor_fill(sum, 0.0f);
  for (size_t first = 0; first < n && st == CLNN_SUCCESS; first += bs) {
    size_t b = n - first < bs ? n - first : bs;
    st = clnn_dataset_batch_augmented(ds, first, b, xb, b * numel, lb, b);
    clnn_feed f[2] = {{x, xb, b * numel, NULL}, {labels, lb, b, NULL}};
    float l = 0.0f; /* (on several devices the objective is on the host already) */
    if (st == CLNN_SUCCESS) st = clnn_model_train_step(m, f, 2, b, m->par ? &l : NULL);
    if (st == CLNN_SUCCESS && m->par) host_sum += (double)l * (double)b / (double)n;
    else if (st == CLNN_SUCCESS && sum) st = add_objective(m, sum, (float)b / (float)n);
  }
  if (st == CLNN_SUCCESS && sum) st = clnn_tensor_read(sum, mean_loss, 1);
  if (st == CLNN_SUCCESS && mean_loss && m->par) *mean_loss = (float)host_sum;
  clnn_tensor_destroy(sum);
  free(xb);
  free(lb);
  return st;
}

static clnn_status model_evaluate_impl(clnn_model *m, const clnn_dataset *ds, size_t batch_size, int x,
                                int labels, int output, float *mean_loss, float *accuracy) {
  const char *fn = "clnn_model_evaluate";
  if (!m) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: model is NULL", fn);
  if (batch_size == 0) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: batch_size is 0", fn);
  clnn_status st = check_dataset_inputs(m, ds, x, labels, fn);
  if (st == CLNN_SUCCESS) st = pick_output(m, &output, fn);
  if (st != CLNN_SUCCESS) return st;
  const clnn__gvalue *ov = &m->graph.g.values[output];
  size_t classes = ov->dims[ov->ndim - 1], per = clnn__nn_prod(ov->ndim, ov->dims);
  if (per != classes || !ov->batched)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: accuracy needs an output of one row of class scores per sample", fn);
  size_t n = clnn_dataset_size(ds), bs = batch_size < n ? batch_size : n;
  float *xb, *yb = malloc(bs * per * sizeof(float));
  int32_t *lb;
  st = alloc_batch(ds, bs, &xb, &lb);
  if (st != CLNN_SUCCESS || !yb) {
    free(yb);
    if (st == CLNN_SUCCESS) {
      free(xb);
      free(lb);
    }
    return st != CLNN_SUCCESS ? st : clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "%s: out of memory", fn);
  }
  clnn_mode saved = m->mode;
  m->mode = CLNN_MODE_EVAL;
  double loss_sum = 0.0;
  size_t correct = 0, numel = clnn_dataset_sample_numel(ds);
  for (size_t first = 0; first < n && st == CLNN_SUCCESS; first += bs) {
    size_t b = n - first < bs ? n - first : bs;
    st = clnn_dataset_batch(ds, first, b, xb, b * numel, lb, b);
    clnn_feed f[2] = {{x, xb, b * numel, NULL}, {labels, lb, b, NULL}};
    int with_loss = mean_loss && m->graph.g.num_losses > 0;
    if (st == CLNN_SUCCESS) st = clnn__m_run(m, f, 2, b, 0, 0, with_loss ? -1 : output, fn);
    if (st == CLNN_SUCCESS && with_loss) {
      float l = 0.0f;
      st = clnn__m_objective(m, &l);
      loss_sum += (double)l * (double)b;
    }
    if (st == CLNN_SUCCESS && ov->producer >= 0 && !m->active[ov->producer])
      st = clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: '%s' is not computed", fn, ov->name);
    if (st == CLNN_SUCCESS) st = clnn_tensor_read(m->exec.plan->val[output], yb, b * per);
    for (size_t r = 0; st == CLNN_SUCCESS && r < b; r++) {
      size_t best = 0;
      for (size_t c = 1; c < classes; c++)
        if (yb[r * classes + c] > yb[r * classes + best]) best = c;
      correct += (int32_t)best == lb[r];
    }
  }
  m->mode = saved;
  if (st == CLNN_SUCCESS) {
    if (mean_loss) *mean_loss = (float)(loss_sum / (double)n);
    if (accuracy) *accuracy = (float)((double)correct / (double)n);
  }
  free(xb);
  free(lb);
  free(yb);
  return st;
}

/* ---- the public entry points: the model's in-use flag around each call ---- */

#define MODEL_BUSY(fn, call) CLNN__BUSY_CALL(m, "model", fn, call)

clnn_status clnn_model_forward(clnn_model *m, const clnn_feed *feeds, int num_feeds, size_t batch,
                               float *loss) {
  MODEL_BUSY("clnn_model_forward", model_forward_impl(m, feeds, num_feeds, batch, loss));
}

clnn_status clnn_model_compute_gradients(clnn_model *m, const clnn_feed *feeds, int num_feeds,
                                         size_t batch, float *loss) {
  MODEL_BUSY("clnn_model_compute_gradients",
             model_compute_gradients_impl(m, feeds, num_feeds, batch, loss));
}

clnn_status clnn_model_train_step(clnn_model *m, const clnn_feed *feeds, int num_feeds,
                                  size_t batch, float *loss) {
  MODEL_BUSY("clnn_model_train_step", model_train_step_impl(m, feeds, num_feeds, batch, loss));
}

clnn_status clnn_model_predict(clnn_model *m, const clnn_feed *feeds, int num_feeds, size_t batch,
                               int output, float *y, size_t y_count) {
  MODEL_BUSY("clnn_model_predict",
             model_predict_impl(m, feeds, num_feeds, batch, output, y, y_count));
}

clnn_status clnn_model_train_epoch(clnn_model *m, clnn_dataset *ds, size_t batch_size, int x,
                                   int labels, float *mean_loss) {
  MODEL_BUSY("clnn_model_train_epoch",
             model_train_epoch_impl(m, ds, batch_size, x, labels, mean_loss));
}

clnn_status clnn_model_evaluate(clnn_model *m, const clnn_dataset *ds, size_t batch_size, int x,
                                int labels, int output, float *mean_loss, float *accuracy) {
  MODEL_BUSY("clnn_model_evaluate", model_evaluate_impl(m, ds, batch_size, x, labels, output,
                                                        mean_loss, accuracy));
}
