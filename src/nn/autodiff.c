/* src/nn/autodiff.c — automatic backward. A value needs a gradient when a trained parameter or
 * an input whose gradient was asked for lies upstream of it; backward visits the active nodes in
 * reverse order, skips a node whose outputs received no gradient, and accumulates where a value
 * feeds several nodes through the operators' beta (first contribution 0, the rest 1): no float
 * atomics, the same bits run to run. Frozen parts launch no gradient kernels. */
#include "nn/model.h"

#include <stdlib.h>
#include <string.h>

clnn_status clnn__m_prepare_grads(clnn_model *m) {
  const clnn__graph *g = &m->graph.g;
  char *req = calloc((size_t)g->num_values + 1, 1);
  if (!req) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate gradient flags");
  for (int v = 0; v < g->num_values; v++)
    req[v] = g->values[v].producer < 0 && m->want_input_grad[v];
  for (int i = 0; i < g->num_nodes; i++) {
    const clnn__gnode *n = &g->nodes[i];
    if (!m->live[i] || !n->op->backward) continue;
    int r = 0;
    for (int k = 0; k < n->num_in; k++) r |= req[n->in[k]];
    for (int k = 0; k < n->num_params; k++) r |= m->params[m->pmap[n->param[k]]].trainable;
    for (int k = 0; k < n->num_out; k++) req[n->out[k]] = (char)r;
  }
  /* int32 values never carry a gradient */
  for (int v = 0; v < g->num_values; v++)
    if (g->values[v].dtype != CLNN_FLOAT32) req[v] = 0;
  /* gradient buffers that are no longer needed stay (freezing again costs nothing); new ones
   * are allocated by the next plan (clnn__m_plan) */
  memcpy(m->requires, req, (size_t)g->num_values);
  free(req);
  m->grad_dirty = 0;
  return CLNN_SUCCESS;
}

int clnn__g_dx(clnn__gexec *x, const clnn__gnode *n, int k, clnn_tensor **dx, float *beta) {
  clnn_model *m = x->m;
  int v = n->in[k];
  if (!m->requires[v] || !x->plan->grad[v]) return 0;
  *dx = x->plan->grad[v];
  *beta = m->written[v] ? 1.0f : 0.0f;
  m->written[v] = 1;
  return 1;
}

int clnn__g_dparam(clnn__gexec *x, const clnn__gnode *n, int k, clnn_tensor **grad, float *beta) {
  clnn_model *m = x->m;
  int p = m->pmap[n->param[k]];
  if (!m->params[p].trainable) return 0;
  *grad = m->params[p].grad;
  *beta = m->pwritten[p] ? 1.0f : 0.0f;
  m->pwritten[p] = 1;
  return 1;
}

float clnn__g_loss_weight(const clnn__gexec *x, int v) {
  const clnn__graph *g = &x->m->graph.g;
  for (int i = 0; i < g->num_losses; i++)
    if (g->losses[i].value == v) return g->losses[i].weight;
  return 0.0f;
}

static int is_loss(const clnn__graph *g, int v) {
  for (int i = 0; i < g->num_losses; i++)
    if (g->losses[i].value == v && g->losses[i].weight != 0.0f) return 1;
  return 0;
}

static clnn_status check_seeds(clnn_model *m, const clnn_feed *seeds, int num_seeds,
                               const char *fn) {
  const clnn__graph *g = &m->graph.g;
  size_t batch = m->exec.plan->batch;
  if (num_seeds < 0 || (num_seeds > 0 && !seeds))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: %d seeds with seeds %s", fn, num_seeds,
                       seeds ? "set" : "NULL");
  for (int i = 0; i < num_seeds; i++) {
    const clnn_feed *s = &seeds[i];
    clnn_status st = clnn__g_check_value(g, s->value, fn, "a seed's value");
    if (st != CLNN_SUCCESS) return st;
    const clnn__gvalue *v = &g->values[s->value];
    if (!v->batched || v->dtype != CLNN_FLOAT32)
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                         "%s: seed %d: '%s' is not a float batched value", fn, i, v->name);
    if (v->producer < 0 || !m->active[v->producer])
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                         "%s: seed %d: '%s' was not computed by the last forward", fn, i, v->name);
    if (!m->requires[s->value])
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                         "%s: seed %d: no gradient flows through '%s' (no trained parameter or "
                         "requested input before it)", fn, i, v->name);
    for (int j = 0; j < i; j++)
      if (seeds[j].value == s->value)
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: two seeds for '%s'", fn, v->name);
    size_t want = batch * clnn__nn_prod(v->ndim, v->dims);
    if ((s->host != NULL) == (s->tensor != NULL))
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                         "%s: seed %d ('%s'): set exactly one of host and tensor", fn, i, v->name);
    if (s->host && s->count != want)
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                         "%s: seed %d ('%s'): count %zu, the batch of %zu needs %zu", fn, i,
                         v->name, s->count, batch, want);
    if (s->tensor && clnn_tensor_context(s->tensor) != m->ctx)
      return clnn__error(CLNN_ERROR_CONTEXT_MISMATCH,
                         "%s: seed %d ('%s'): the tensor is on another context than the model", fn,
                         i, v->name);
    if (s->tensor && clnn_tensor_numel(s->tensor) != want)
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                         "%s: seed %d ('%s'): the tensor must be on the model's context with %zu "
                         "elements", fn, i, v->name, want);
  }
  return CLNN_SUCCESS;
}

clnn_status clnn__m_backward(clnn_model *m, const clnn_feed *seeds, int num_seeds,
                             const char *fn) {
  const clnn__graph *g = &m->graph.g;
  clnn__gexec *x = &m->exec;
  clnn__gplan *p = x->plan;
  clnn_status st = check_seeds(m, seeds, num_seeds, fn);
  if (st != CLNN_SUCCESS) return st;
  memset(m->written, 0, (size_t)g->num_values);
  memset(m->pwritten, 0, m->num_params ? m->num_params : 1);
  for (int v = 0; v < g->num_values; v++)
    if (!g->values[v].batched && is_loss(g, v)) m->written[v] = 1;
  for (int i = 0; i < num_seeds; i++) {
    const clnn_feed *s = &seeds[i];
    st = s->host ? clnn_tensor_write(p->grad[s->value], s->host, s->count)
                 : clnn_tensor_copy(p->grad[s->value], s->tensor);
    if (st != CLNN_SUCCESS) return st;
    m->written[s->value] = 1;
  }
  for (int i = g->num_nodes - 1; i >= 0 && st == CLNN_SUCCESS; i--) {
    const clnn__gnode *n = &g->nodes[i];
    if (!m->active[i] || !n->op->backward || !m->requires[n->out[0]]) continue;
    int any = 0;
    for (int k = 0; k < n->num_out; k++) any |= m->written[n->out[k]];
    if (!any) continue; /* nothing downstream of it reaches the objective */
    for (int k = 0; k < n->num_out && st == CLNN_SUCCESS; k++)
      if (!m->written[n->out[k]] && g->values[n->out[k]].batched) {
        st = clnn_tensor_fill(p->grad[n->out[k]], 0.0f);
        m->written[n->out[k]] = 1;
      }
    if (st == CLNN_SUCCESS) st = n->op->backward(x, n);
    if (st == CLNN_SUCCESS && m->node_hook) st = m->node_hook(m->hook_user, i);
  }
  /* parameters and requested inputs that no path reached get a zero gradient */
  for (size_t i = 0; i < m->num_params && st == CLNN_SUCCESS; i++)
    if (m->params[i].trainable && !m->pwritten[i]) st = clnn_tensor_fill(m->params[i].grad, 0.0f);
  for (int v = 0; v < g->num_values && st == CLNN_SUCCESS; v++)
    if (g->values[v].producer < 0 && m->want_input_grad[v] && !m->written[v] && p->grad[v]) {
      st = clnn_tensor_fill(p->grad[v], 0.0f);
      m->written[v] = 1;
    }
  return st;
}

clnn_status clnn_model_backward(clnn_model *m, const clnn_feed *seeds, int num_seeds) {
  const char *fn = "clnn_model_backward";
  if (!m) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: model is NULL", fn);
  if (!m->have_forward || !m->exec.grads)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: needs a clnn_model_forward first (predict does not keep what "
                       "backward needs)", fn);
  if (m->grad_dirty)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: trainable flags or input gradients changed after the forward; run "
                       "clnn_model_forward again", fn);
  return clnn__m_backward(m, seeds, num_seeds, fn);
}

clnn_status clnn_model_grad(clnn_model *m, int v, clnn_tensor **t) {
  const char *fn = "clnn_model_grad";
  if (!m || !t) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: model or t is NULL", fn);
  clnn_status st = clnn__g_check_value(&m->graph.g, v, fn, "v");
  if (st != CLNN_SUCCESS) return st;
  if (!m->have_forward || !m->exec.plan || !m->exec.plan->grad[v] || !m->written[v])
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: no gradient of '%s' was computed by the last backward", fn,
                       m->graph.g.values[v].name);
  *t = m->exec.plan->grad[v];
  return CLNN_SUCCESS;
}
