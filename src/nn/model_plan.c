/* src/nn/model_plan.c — per-batch buffer planning of a model: base buffers for values and
 * gradients sized for the largest batch seen, per-batch plans of views into them (a few batch
 * sizes kept, least recently used replaced), node scratch buffers, and the accessors the ops
 * use during a pass (clnn__g_*). */
#include "nn/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- accessors for the ops ---- */

clnn_context *clnn__g_ctx(const clnn__gexec *x) { return x->m->ctx; }
size_t clnn__g_batch(const clnn__gexec *x) { return x->plan->batch; }
int clnn__g_training(const clnn__gexec *x) { return x->training; }
clnn_tensor *clnn__g_val(clnn__gexec *x, int v) { return x->plan->val[v]; }
clnn_tensor *clnn__g_grad(clnn__gexec *x, int v) {
  return x->m->requires[v] ? x->plan->grad[v] : NULL;
}

const int32_t *clnn__g_ids(clnn__gexec *x, int v, size_t *count) {
  *count = x->m->ids_count[v];
  return x->m->ids[v];
}

clnn_tensor *clnn__g_pval(clnn__gexec *x, const clnn__gnode *n, int k) {
  return x->m->params[x->m->pmap[n->param[k]]].value;
}

/* A dropout node's stream: from its name, or (attribute "stream" k > 0, what clnn_net's layers
 * use) from k; the offset counts training forwards and, on a device holding part of a batch, the
 * elements of the samples before its share. */
void clnn__g_dropout_key(const clnn__gexec *x, const clnn__gnode *n, uint64_t *seed,
                         uint64_t *offset) {
  const clnn_model *m = x->m;
  uint64_t s = n->ia[0] > 0 ? m->seed ^ (0xD1B54A32D192ED03ULL * (uint64_t)n->ia[0])
                            : clnn__nn_hash_str(m->seed ^ 0xD1B54A32D192ED03ULL, n->name);
  *seed = clnn__nn_splitmix64(&s);
  const clnn__gvalue *v = &m->graph.g.values[n->in[0]];
  *offset = (m->fwd_key << 32) + (uint64_t)m->sample_offset * clnn__nn_prod(v->ndim, v->dims);
}

static clnn_status slot_check(const clnn__gnode *n, int slot) {
  if (slot < 0 || slot >= CLNN__G_SLOTS)
    return clnn__error(CLNN_ERROR_INTERNAL, "node '%s': slot %d", n->name, slot);
  return CLNN_SUCCESS;
}

static int node_index(const clnn__gexec *x, const clnn__gnode *n) {
  return (int)(n - x->m->graph.g.nodes);
}

clnn_status clnn__g_view(clnn__gexec *x, const clnn__gnode *n, int slot, const clnn_tensor *t,
                         int ndim, const size_t *dims, clnn_tensor **out) {
  clnn_status st = slot_check(n, slot);
  if (st != CLNN_SUCCESS) return st;
  clnn_tensor **cell = &x->plan->view[node_index(x, n) * CLNN__G_SLOTS + slot];
  if (*cell && clnn_tensor_cl_mem(*cell) == clnn_tensor_cl_mem(t) && clnn_tensor_ndim(*cell) == ndim) {
    int same = 1;
    for (int i = 0; i < ndim; i++) same = same && clnn_tensor_dim(*cell, i) == dims[i];
    if (same) {
      *out = *cell;
      return CLNN_SUCCESS;
    }
  }
  clnn_tensor_destroy(*cell);
  *cell = NULL;
  st = clnn_tensor_wrap(x->m->ctx, clnn_tensor_cl_mem(t), ndim, dims, cell);
  *out = *cell;
  return st;
}

clnn_status clnn__g_scratch(clnn__gexec *x, const clnn__gnode *n, int slot, int ndim,
                            const size_t *dims, clnn_tensor **out) {
  clnn_status st = slot_check(n, slot);
  if (st != CLNN_SUCCESS) return st;
  clnn_tensor **cell = &x->plan->scratch[node_index(x, n) * CLNN__G_SLOTS + slot];
  if (*cell) {
    int same = clnn_tensor_ndim(*cell) == ndim;
    for (int i = 0; same && i < ndim; i++) same = clnn_tensor_dim(*cell, i) == dims[i];
    if (same) {
      *out = *cell;
      return CLNN_SUCCESS;
    }
    clnn_tensor_destroy(*cell);
    *cell = NULL;
  }
  st = clnn_tensor_create(x->m->ctx, ndim, dims, cell);
  *out = *cell;
  return st;
}

clnn_status clnn__g_accum(clnn_context *ctx, float alpha, const clnn_tensor *src, float beta,
                          clnn_tensor *dst) {
  if (beta == 0.0f) {
    clnn_status st = clnn_tensor_copy(dst, src);
    if (st == CLNN_SUCCESS && alpha != 1.0f) st = clnn_scale(ctx, alpha, dst);
    return st;
  }
  return clnn_axpy(ctx, alpha, src, dst);
}

/* ---- plans ---- */

static void plan_free(clnn_model *m, clnn__gplan *p) {
  const clnn__graph *g = &m->graph.g;
  if (p->val)
    for (int i = 0; i < g->num_values; i++) clnn_tensor_destroy(p->val[i]);
  if (p->grad)
    for (int i = 0; i < g->num_values; i++) clnn_tensor_destroy(p->grad[i]);
  size_t slots = (size_t)g->num_nodes * CLNN__G_SLOTS;
  for (size_t i = 0; p->view && i < slots; i++) clnn_tensor_destroy(p->view[i]);
  for (size_t i = 0; p->scratch && i < slots; i++) clnn_tensor_destroy(p->scratch[i]);
  free(p->val);
  free(p->grad);
  free(p->view);
  free(p->scratch);
  memset(p, 0, sizeof(*p));
}

void clnn__m_drop_buffers(clnn_model *m) {
  for (int i = 0; i < CLNN__G_PLANS; i++) plan_free(m, &m->plans[i]);
  for (int i = 0; i < m->graph.g.num_values; i++) {
    clnn_tensor_destroy(m->vbase[i]);
    clnn_tensor_destroy(m->gbase[i]);
    m->vbase[i] = m->gbase[i] = NULL;
  }
  m->cap = 0;
  m->have_forward = 0;
}

static size_t value_numel(const clnn__gvalue *v, size_t batch) {
  size_t n = clnn__nn_prod(v->ndim, v->dims);
  return v->batched ? n * batch : n;
}

/* Base buffers for every float value of a live node or input (and the gradient of every value
 * that needs one), for cap samples. */
static clnn_status ensure_bases(clnn_model *m, size_t batch) {
  const clnn__graph *g = &m->graph.g;
  if (batch > m->cap) {
    clnn__m_drop_buffers(m);
    m->cap = batch;
  }
  for (int v = 0; v < g->num_values; v++) {
    const clnn__gvalue *val = &g->values[v];
    if (val->dtype != CLNN_FLOAT32) continue;
    if (val->producer >= 0 && !m->live[val->producer]) continue;
    size_t n = value_numel(val, m->cap);
    clnn_status st = CLNN_SUCCESS;
    if (!m->vbase[v]) st = clnn_tensor_create(m->ctx, 1, &n, &m->vbase[v]);
    if (st == CLNN_SUCCESS && m->requires[v] && !m->gbase[v])
      st = clnn_tensor_create(m->ctx, 1, &n, &m->gbase[v]);
    if (st != CLNN_SUCCESS) return st;
  }
  return CLNN_SUCCESS;
}

/* Views of gradient buffers allocated after the plan was built (a parameter unfrozen, an input
 * gradient asked for). */
static clnn_status grad_views(clnn_model *m, clnn__gplan *p) {
  const clnn__graph *g = &m->graph.g;
  for (int v = 0; v < g->num_values; v++) {
    if (p->grad[v] || !m->gbase[v]) continue;
    size_t dims[CLNN_MAX_DIMS];
    int nd = clnn__g_full_dims(&g->values[v], p->batch, dims);
    clnn_status st = clnn_tensor_wrap(m->ctx, clnn_tensor_cl_mem(m->gbase[v]), nd, dims, &p->grad[v]);
    if (st != CLNN_SUCCESS) return st;
  }
  return CLNN_SUCCESS;
}

static clnn_status build_plan(clnn_model *m, clnn__gplan *p, size_t batch) {
  const clnn__graph *g = &m->graph.g;
  size_t slots = (size_t)g->num_nodes * CLNN__G_SLOTS;
  p->val = calloc((size_t)g->num_values, sizeof(*p->val));
  p->grad = calloc((size_t)g->num_values, sizeof(*p->grad));
  p->view = calloc(slots ? slots : 1, sizeof(*p->view));
  p->scratch = calloc(slots ? slots : 1, sizeof(*p->scratch));
  if (!p->val || !p->grad || !p->view || !p->scratch) {
    plan_free(m, p);
    return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate a batch plan");
  }
  p->batch = batch;
  for (int v = 0; v < g->num_values; v++) {
    size_t dims[CLNN_MAX_DIMS];
    int nd = clnn__g_full_dims(&g->values[v], batch, dims);
    clnn_status st = CLNN_SUCCESS;
    if (m->vbase[v]) st = clnn_tensor_wrap(m->ctx, clnn_tensor_cl_mem(m->vbase[v]), nd, dims, &p->val[v]);
    if (st == CLNN_SUCCESS && m->gbase[v])
      st = clnn_tensor_wrap(m->ctx, clnn_tensor_cl_mem(m->gbase[v]), nd, dims, &p->grad[v]);
    if (st != CLNN_SUCCESS) {
      plan_free(m, p);
      return st;
    }
  }
  return CLNN_SUCCESS;
}

clnn_status clnn__m_plan(clnn_model *m, size_t batch, clnn__gplan **out) {
  clnn_status st = CLNN_SUCCESS;
  if (m->grad_dirty) st = clnn__m_prepare_grads(m);
  if (st == CLNN_SUCCESS) st = ensure_bases(m, batch);
  if (st != CLNN_SUCCESS) return st;
  clnn__gplan *victim = &m->plans[0];
  for (int i = 0; i < CLNN__G_PLANS; i++) {
    clnn__gplan *p = &m->plans[i];
    if (p->batch == batch) {
      st = grad_views(m, p);
      if (st != CLNN_SUCCESS) return st;
      p->last_use = ++m->clock;
      *out = p;
      return CLNN_SUCCESS;
    }
    if (p->batch == 0 || (victim->batch != 0 && p->last_use < victim->last_use)) victim = p;
  }
  plan_free(m, victim);
  st = build_plan(m, victim, batch);
  if (st != CLNN_SUCCESS) return st;
  victim->last_use = ++m->clock;
  *out = victim;
  return CLNN_SUCCESS;
}

