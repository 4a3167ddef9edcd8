/* src/nn/model_replica.c — what the multi-device executor (src/nn/exec*.c) needs of a model, as
 * functions: parameters, gradients, state and optimizer slots by index, a replica on another
 * context with the same settings, a training pass on a slice of the batch that reports each
 * parameter's gradient as soon as backward has finished it, its objective read back without a
 * wait, one replica's optimizer update, the step counters and the finite check. The executor
 * never touches a model's fields. */
#include "nn/model.h"

#include <stdlib.h>
#include <string.h>

size_t clnn__m_count(const clnn_model *m) { return m->num_params; }

clnn_context *clnn__m_context(const clnn_model *m) { return m->ctx; }

clnn__mref clnn__m_ref(clnn_model *m, size_t i) {
  const clnn__gparam *gp = &m->graph.g.params[m->params[i].gp];
  clnn__mref r;
  r.numel = gp->numel;
  r.ndim = gp->ndim;
  r.dims = gp->dims;
  r.state = gp->state;
  r.trainable = m->params[i].trainable;
  r.value = m->params[i].value;
  r.grad = m->params[i].grad;
  r.opt[0] = m->params[i].opt[0];
  r.opt[1] = m->params[i].opt[1];
  return r;
}

int clnn__m_take_exposed(clnn_model *m, size_t i) {
  int e = m->params[i].exposed;
  m->params[i].exposed = 0;
  return e;
}

int clnn__m_num_slots(const clnn_model *m) {
  const char *names[2];
  return clnn__nn_opt_slots(&m->opt, names);
}

clnn__mcount clnn__m_counters(const clnn_model *m) {
  clnn__mcount c = {m->step, m->train_forwards, m->seed};
  return c;
}

int clnn__m_xloss_kind(const clnn_model *m) { return m->xl.on ? (int)m->xl.kind : -1; }

void clnn__m_set_xloss_kind(clnn_model *m, int kind) {
  if (m->xl.on && kind >= 0) m->xl.kind = (clnn_loss)kind;
}

void clnn__m_set_counters(clnn_model *m, clnn__mcount c) {
  m->step = c.step;
  m->train_forwards = c.forwards;
  m->seed = c.seed;
}

const clnn_optimizer_config *clnn__m_optimizer(const clnn_model *m) { return &m->opt; }

clnn__x *clnn__m_executor(const clnn_model *m) { return m->par; }

void clnn__m_set_executor(clnn_model *m, clnn__x *x) { m->par = x; }

clnn_status clnn__m_take_optimizer(clnn_model *m, const clnn_optimizer_config *c) {
  int differ = clnn__m_num_slots(m) != clnn__nn_opt_slots(c, (const char *[2]){0}) ||
               m->opt.type != c->type;
  m->opt = *c;
  return differ ? clnn__m_alloc_opt(m) : CLNN_SUCCESS;
}

int clnn__m_checks_finite(const clnn_model *m) { return m->check_finite; }

/* src's settings (optimizer, groups, schedule, counters, trainable flags, mode) on dst; fresh
 * optimizer slots when their kind changed. */
clnn_status clnn__m_copy_settings(clnn_model *dst, const clnn_model *src) {
  int slots_differ = clnn__m_num_slots(dst) != clnn__m_num_slots(src) ||
                     dst->opt.type != src->opt.type;
  dst->opt = src->opt;
  if (slots_differ) {
    clnn_status st = clnn__m_alloc_opt(dst);
    if (st != CLNN_SUCCESS) return st;
  }
  if (dst->num_groups != src->num_groups) {
    clnn__mgroup *g = realloc(dst->groups, (size_t)(src->num_groups ? src->num_groups : 1) *
                                               sizeof(*g));
    if (!g) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot copy parameter groups");
    dst->groups = g;
    dst->num_groups = src->num_groups;
  }
  if (src->num_groups)
    memcpy(dst->groups, src->groups, (size_t)src->num_groups * sizeof(*src->groups));
  dst->sched = src->sched;
  dst->step = src->step;
  dst->seed = src->seed;
  dst->train_forwards = src->train_forwards;
  dst->mode = src->mode;
  if (src->xl.on && !dst->xl.on) {
    clnn_status st = clnn__m_xloss_init(dst, src->xl.kind, src->xl.pred, src->xl.label,
                                        src->xl.target);
    if (st != CLNN_SUCCESS) return st;
  }
  dst->xl.kind = src->xl.kind;
  for (size_t i = 0; i < src->num_params; i++)
    if (dst->params[i].trainable != src->params[i].trainable) {
      dst->params[i].trainable = src->params[i].trainable;
      dst->grad_dirty = 1;
    }
  return CLNN_SUCCESS;
}

clnn_status clnn__m_replicate(clnn_model *m, clnn_context *ctx, clnn_model **out,
                              const char *fn) {
  clnn_model *r = NULL;
  clnn_status st = clnn__m_create(ctx, &m->graph.g, m->seed, &r, fn);
  if (st == CLNN_SUCCESS) st = clnn__m_copy_settings(r, m);
  if (st != CLNN_SUCCESS) {
    clnn_model_destroy(r);
    return st;
  }
  *out = r;
  return CLNN_SUCCESS;
}

clnn_feed clnn__m_slice(const clnn_model *m, const clnn_feed *f, size_t first, size_t count) {
  const clnn__gvalue *v = &m->graph.g.values[f->value];
  size_t per = clnn__nn_prod(v->ndim, v->dims);
  size_t bytes = v->dtype == CLNN_INT32 ? sizeof(int32_t) : sizeof(float);
  clnn_feed s = *f;
  s.host = (const char *)f->host + first * per * bytes;
  s.count = count * per;
  return s;
}

/* ---- the pass ---- */

typedef struct ready_state {
  clnn_model *m;
  clnn__m_ready_fn ready;
  void *user;
  int *first;      /* [num_params]: the lowest active node using the parameter */
  int *reported;   /* [num_params] */
  int have_first;  /* first[] filled (from the forward's selection) */
} ready_state;

static clnn_status report(ready_state *s, size_t i) {
  if (s->reported[i] || !s->m->params[i].trainable) return CLNN_SUCCESS;
  s->reported[i] = 1;
  return s->ready(s->user, i);
}

/* After node `node`'s backward: a parameter whose lowest user this is has its whole gradient. */
static void find_first(ready_state *s) {
  clnn_model *m = s->m;
  for (size_t i = 0; i < m->num_params; i++) s->first[i] = -1;
  for (int j = m->graph.g.num_nodes - 1; j >= 0; j--) {
    const clnn__gnode *nd = &m->graph.g.nodes[j];
    if (!m->active[j]) continue;
    for (int k = 0; k < nd->num_params; k++)
      if (m->pmap[nd->param[k]] >= 0) s->first[m->pmap[nd->param[k]]] = j;
  }
  s->have_first = 1;
}

static clnn_status node_ready(void *user, int node) {
  ready_state *s = user;
  if (!s->have_first) find_first(s);
  const clnn__gnode *n = &s->m->graph.g.nodes[node];
  for (int k = 0; k < n->num_params; k++) {
    int i = s->m->pmap[n->param[k]];
    if (i < 0 || s->first[i] != node || !s->m->pwritten[i]) continue;
    clnn_status st = report(s, (size_t)i);
    if (st != CLNN_SUCCESS) return st;
  }
  return CLNN_SUCCESS;
}

clnn_status clnn__m_pass(clnn_model *m, const clnn_feed *feeds, int num_feeds, size_t n,
                         size_t offset, clnn__m_ready_fn ready, void *user, int *scratch,
                         float *objective, const char *fn) {
  ready_state s = {m, ready, user, scratch, scratch ? scratch + m->num_params : NULL, 0};
  clnn_status st = CLNN_SUCCESS;
  if (ready && !scratch)
    st = clnn__error(CLNN_ERROR_INTERNAL, "%s: the pass has no scratch for its reports", fn);
  for (size_t i = 0; ready && scratch && i < m->num_params; i++) s.reported[i] = 0;
  m->sample_offset = offset;
  if (st == CLNN_SUCCESS && ready) {
    m->node_hook = node_ready;
    m->hook_user = &s;
  }
  if (st == CLNN_SUCCESS && m->xl.on) {
    st = clnn__m_xloss_pass(m, feeds, num_feeds, n, fn);
  } else if (st == CLNN_SUCCESS) {
    st = clnn__m_run(m, feeds, num_feeds, n, m->mode == CLNN_MODE_TRAIN, 1, -1, fn);
    if (st == CLNN_SUCCESS) st = clnn__m_backward(m, NULL, 0, fn);
  }
  m->node_hook = NULL;
  m->hook_user = NULL;
  /* parameters no path reached got a zero gradient at the end of backward */
  for (size_t i = 0; ready && i < m->num_params && st == CLNN_SUCCESS; i++) st = report(&s, i);
  if (st == CLNN_SUCCESS && objective) st = clnn__m_objective(m, objective);
  m->sample_offset = 0;
  return st;
}

/* ---- the objective without a wait (clnn__m_objective's parts) ---- */

int clnn__m_objective_parts(const clnn_model *m) {
  return m->xl.on ? 1 : (m->graph.g.num_losses > 0 ? m->graph.g.num_losses : 1);
}

clnn_status clnn__m_objective_enqueue(clnn_model *m, float *parts, cl_event *ev) {
  const clnn__graph *g = &m->graph.g;
  int n = clnn__m_objective_parts(m);
  for (int i = 0; i < n; i++) {
    parts[i] = 0.0f;
    ev[i] = NULL;
  }
  if (m->xl.on) return clnn__tensor_read_async(m->xl.loss, &parts[0], &ev[0]);
  for (int i = 0; i < g->num_losses; i++) {
    int v = g->losses[i].value;
    if (!m->active[g->values[v].producer]) continue;
    clnn_tensor *t = m->exec.plan->val[v];
    if (clnn_tensor_numel(t) != 1)
      return clnn__error(CLNN_ERROR_INTERNAL, "loss '%s' holds %zu values", g->values[v].name,
                         clnn_tensor_numel(t));
    clnn_status st = clnn__tensor_read_async(t, &parts[i], &ev[i]);
    if (st != CLNN_SUCCESS) return st;
  }
  return CLNN_SUCCESS;
}

float clnn__m_objective_combine(const clnn_model *m, const float *parts) {
  const clnn__graph *g = &m->graph.g;
  if (m->xl.on) return parts[0];
  double total = 0.0; /* (as clnn__m_objective: weighted, in double, in loss order) */
  for (int i = 0; i < g->num_losses; i++)
    if (m->active[g->values[g->losses[i].value].producer])
      total += (double)g->losses[i].weight * (double)parts[i];
  return (float)total;
}
