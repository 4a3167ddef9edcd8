/* src/nn/model.c — a graph on a context: which nodes are live, the parameter table and its
 * initialisation, non-blocking input uploads, parameter access and trainable flags. The
 * per-batch buffer plans and the accessors the ops use are in model_plan.c; the passes
 * (forward, predict, training) in model_run.c, backward in autodiff.c. */
#include "nn/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- creation ---- */

static const clnn__gnode *single_consumer(const clnn__graph *g, const char *live, int v) {
  const clnn__gnode *found = NULL;
  for (int i = 0; i < g->num_nodes; i++) {
    if (!live[i]) continue;
    for (int k = 0; k < g->nodes[i].num_in; k++)
      if (g->nodes[i].in[k] == v) {
        if (found) return NULL;
        found = &g->nodes[i];
      }
  }
  return found;
}

/* He-normal gain for the weights of node n when what follows it (through batch norm or
 * dropout) is a ReLU-family activation, else 0 (Glorot). */
static double he_gain(const clnn__graph *g, const char *live, const clnn__gnode *n) {
  if (n->op == &clnn__op_lstm) return 0.0;
  int v = n->out[0];
  for (;;) {
    const clnn__gnode *c = single_consumer(g, live, v);
    if (!c) return 0.0;
    if (c->op == &clnn__op_batchnorm || c->op == &clnn__op_dropout) {
      v = c->out[0];
      continue;
    }
    if (c->op != &clnn__op_activation) return 0.0;
    clnn_activation a = (clnn_activation)c->ia[0];
    /* (float gains, as clnn_net computes them, so both draw the same values) */
    if (a == CLNN_ACT_RELU || a == CLNN_ACT_ELU || a == CLNN_ACT_GELU) return (double)sqrtf(2.0f);
    if (a == CLNN_ACT_LEAKY_RELU) return (double)sqrtf(2.0f / (1.0f + c->fa[0] * c->fa[0]));
    return 0.0;
  }
}

/* The same draws as clnn_net's layers: seeded by the model seed and the parameter's name. */
static void init_values(uint64_t seed, const clnn__gparam *p, double gain, float *v) {
  uint64_t s = clnn__nn_hash_str(seed * 0x9E3779B97F4A7C15ULL + 0x1234567ULL, p->name);
  size_t n = p->numel;
  switch (p->init) {
    case CLNN__GINIT_ZERO:
    case CLNN__GINIT_ONE:
      for (size_t i = 0; i < n; i++) v[i] = p->init == CLNN__GINIT_ONE ? 1.0f : 0.0f;
      return;
    case CLNN__GINIT_LSTM_BIAS:
      for (size_t i = 0; i < n; i++) v[i] = (i >= n / 4 && i < n / 2) ? 1.0f : 0.0f;
      return;
    case CLNN__GINIT_FAN:
      break;
    case CLNN__GINIT_NORMAL:
      gain = 1.0; /* std 1/sqrt(fan_in) */
      break;
    case CLNN__GINIT_UNIFORM: {
      const double lim = 1.0 / sqrt(p->fan_in);
      for (size_t i = 0; i < n; i++) v[i] = (float)((2.0 * clnn__nn_uniform01(&s) - 1.0) * lim);
      return;
    }
  }
  if (gain > 0.0) {
    double std = gain / sqrt(p->fan_in);
    for (size_t i = 0; i < n; i += 2) {
      double u1 = 1.0 - clnn__nn_uniform01(&s), u2 = clnn__nn_uniform01(&s);
      double r = sqrt(-2.0 * log(u1)), a = 6.283185307179586 * u2;
      v[i] = (float)(std * r * cos(a));
      if (i + 1 < n) v[i + 1] = (float)(std * r * sin(a));
    }
  } else {
    double lim = sqrt(6.0 / (p->fan_in + p->fan_out));
    for (size_t i = 0; i < n; i++) v[i] = (float)((2.0 * clnn__nn_uniform01(&s) - 1.0) * lim);
  }
}

static void mark_live(const clnn__graph *g, char *live, int v) {
  int p = g->values[v].producer;
  if (p < 0 || live[p]) return;
  live[p] = 1;
  const clnn__gnode *n = &g->nodes[p];
  for (int k = 0; k < n->num_in; k++) mark_live(g, live, n->in[k]);
}

static clnn_status create_params(clnn_model *m, clnn__m_init_fn given, void *ud) {
  const clnn__graph *g = &m->graph.g;
  size_t count = 0;
  for (int i = 0; i < g->num_params; i++) m->pmap[i] = -1;
  /* a parameter is live when a live node uses it (its owner or a node sharing it) */
  char *used = calloc((size_t)g->num_params + 1, 1);
  if (!used) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate parameters");
  for (int i = 0; i < g->num_nodes; i++)
    if (m->live[i])
      for (int k = 0; k < g->nodes[i].num_params; k++) used[g->nodes[i].param[k]] = 1;
  for (int pass = 0; pass < 2; pass++) /* trainable parameters first, then state */
    for (int i = 0; i < g->num_params; i++)
      if (used[i] && g->params[i].state == pass) m->pmap[i] = (int)count++;
  free(used);
  m->params = calloc(count ? count : 1, sizeof(*m->params));
  if (!m->params) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate parameters");
  m->num_params = count;
  m->pwritten = calloc(count ? count : 1, 1);
  if (!m->pwritten) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate parameters");
  float *host = NULL;
  size_t host_cap = 0;
  clnn_status st = CLNN_SUCCESS;
  for (int i = 0; i < g->num_params && st == CLNN_SUCCESS; i++) {
    if (m->pmap[i] < 0) continue;
    const clnn__gparam *gp = &g->params[i];
    clnn__mparam *p = &m->params[m->pmap[i]];
    p->gp = i;
    p->trainable = !gp->state;
    st = clnn_tensor_create(m->ctx, gp->ndim, gp->dims, &p->value);
    if (st == CLNN_SUCCESS && !gp->state) st = clnn_tensor_create(m->ctx, gp->ndim, gp->dims, &p->grad);
    if (st == CLNN_SUCCESS && p->grad) st = clnn_tensor_fill(p->grad, 0.0f);
    if (st != CLNN_SUCCESS) break;
    if (gp->numel > host_cap) {
      float *h = realloc(host, gp->numel * sizeof(float));
      if (!h) {
        st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate %zu floats", gp->numel);
        break;
      }
      host = h;
      host_cap = gp->numel;
    }
    const float *v = given ? given(ud, gp->name, gp->numel) : NULL;
    if (!v) {
      init_values(m->seed, gp, he_gain(g, m->live, &g->nodes[gp->owner]), host);
      v = host;
    }
    st = clnn_tensor_write(p->value, v, gp->numel);
  }
  free(host);
  return st;
}

static clnn_status create(clnn_context *ctx, const clnn__graph *src, uint64_t seed,
                          clnn_model **out, const char *fn, int with_opt, clnn__m_init_fn given,
                          void *ud) {
  if (src->num_outputs == 0 && src->num_losses == 0)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: the graph has no output and no loss (clnn_graph_output, "
                       "clnn_graph_loss)", fn);
  clnn_status live = clnn__context_check_live(ctx, fn);
  if (live != CLNN_SUCCESS) return live;
  clnn_model *m = calloc(1, sizeof(*m));
  if (!m) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "%s: out of memory", fn);
  m->ctx = ctx;
  m->seed = seed;
  m->grad_dirty = 1;
  m->mode = CLNN_MODE_TRAIN;
  clnn_optimizer_config_init(&m->opt, CLNN_OPTIM_ADAM, 1e-3f);
  clnn_schedule_init(&m->sched);
  clnn_status st = clnn__g_copy(&m->graph.g, src);
  if (st != CLNN_SUCCESS) {
    free(m);
    return st;
  }
  clnn__context_hold(ctx, fn); /* checked above: cannot fail; clnn_model_destroy drops it */
  const clnn__graph *g = &m->graph.g;
  size_t nv = (size_t)g->num_values + 1, nn = (size_t)g->num_nodes + 1;
  m->live = calloc(nn, 1);
  m->active = calloc(nn, 1);
  m->active_saved = calloc(nn, 1);
  m->pmap = calloc((size_t)g->num_params + 1, sizeof(int));
  m->want_input_grad = calloc(nv, 1);
  m->requires = calloc(nv, 1);
  m->written = calloc(nv, 1);
  m->vbase = calloc(nv, sizeof(*m->vbase));
  m->gbase = calloc(nv, sizeof(*m->gbase));
  m->stage = calloc(nv, sizeof(*m->stage));
  m->ids = calloc(nv, sizeof(*m->ids));
  m->ids_count = calloc(nv, sizeof(*m->ids_count));
  m->ids_keep = calloc(nv, sizeof(*m->ids_keep));
  m->ids_keep_cap = calloc(nv, sizeof(*m->ids_keep_cap));
  if (!m->live || !m->active || !m->active_saved || !m->pmap || !m->want_input_grad ||
      !m->requires || !m->written ||
      !m->vbase || !m->gbase || !m->stage || !m->ids || !m->ids_count || !m->ids_keep ||
      !m->ids_keep_cap) {
    clnn_model_destroy(m);
    return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "%s: out of memory", fn);
  }
  for (int i = 0; i < g->num_outputs; i++) mark_live(g, m->live, g->outputs[i]);
  for (int i = 0; i < g->num_losses; i++) mark_live(g, m->live, g->losses[i].value);
  st = create_params(m, given, ud);
  if (st == CLNN_SUCCESS && with_opt) st = clnn__m_alloc_opt(m);
  if (st != CLNN_SUCCESS) {
    clnn_model_destroy(m);
    return st;
  }
  m->exec.m = m;
  *out = m;
  return CLNN_SUCCESS;
}

clnn_status clnn__m_create(clnn_context *ctx, const clnn__graph *g, uint64_t seed,
                           clnn_model **out, const char *fn) {
  return create(ctx, g, seed, out, fn, 1, NULL, NULL);
}

clnn_status clnn__m_create_given(clnn_context *ctx, const clnn__graph *g, uint64_t seed,
                                 clnn__m_init_fn given, void *ud, clnn_model **out,
                                 const char *fn) {
  return create(ctx, g, seed, out, fn, 1, given, ud);
}

clnn_status clnn__m_create_bare(clnn_context *ctx, const clnn__graph *g, uint64_t seed,
                                clnn_model **out, const char *fn) {
  return create(ctx, g, seed, out, fn, 0, NULL, NULL);
}

clnn_status clnn_model_create(clnn_context *ctx, const clnn_graph *g, uint64_t seed,
                              clnn_model **out) {
  const char *fn = "clnn_model_create";
  if (!ctx || !g || !out)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: ctx, graph or out is NULL", fn);
  return clnn__m_create(ctx, &g->g, seed, out, fn);
}

static void stage_free(clnn__mstage *s) {
  for (int k = 0; k < 2; k++) {
    if (s->ev[k]) {
      clWaitForEvents(1, &s->ev[k]);
      clReleaseEvent(s->ev[k]);
    }
    free(s->buf[k]);
  }
  memset(s, 0, sizeof(*s));
}

void clnn_model_destroy(clnn_model *m) {
  if (!m) return;
  clnn__x_destroy(m->par); /* replicas on other devices, MPI communicator */
  clnn__m_xloss_free(m);
  if (m->vbase && m->gbase) clnn__m_drop_buffers(m);
  for (int i = 0; m->stage && i < m->graph.g.num_values; i++) stage_free(&m->stage[i]);
  clnn__m_free_opt(m);
  for (size_t i = 0; m->params && i < m->num_params; i++) {
    clnn_tensor_destroy(m->params[i].value);
    clnn_tensor_destroy(m->params[i].grad);
  }
  free(m->params);
  free(m->pwritten);
  free(m->live);
  free(m->active);
  free(m->active_saved);
  free(m->pmap);
  free(m->want_input_grad);
  free(m->requires);
  free(m->written);
  free(m->vbase);
  free(m->gbase);
  free(m->stage);
  free(m->ids);
  free(m->ids_count);
  for (int v = 0; m->ids_keep && v < m->graph.g.num_values; v++) free(m->ids_keep[v]);
  free(m->ids_keep);
  free(m->ids_keep_cap);
  free(m->groups);
  clnn__g_free(&m->graph.g);
  clnn_context *ctx = m->ctx;
  free(m);
  clnn__context_drop(ctx); /* frees a destroyed context with its last object */
}

const clnn_graph *clnn_model_graph(const clnn_model *m) { return m ? &m->graph : NULL; }

/* ---- non-blocking uploads ---- */

/* Copies n floats into the input's next staging buffer and enqueues a non-blocking write. */
clnn_status clnn__m_upload(clnn_model *m, int v, const float *src, size_t n, clnn_tensor *dst);
clnn_status clnn__m_upload(clnn_model *m, int v, const float *src, size_t n, clnn_tensor *dst) {
  clnn__mstage *s = &m->stage[v];
  int k = s->next;
  if (s->ev[k]) { /* the write that last read this buffer has normally long finished */
    cl_int err = clWaitForEvents(1, &s->ev[k]);
    clReleaseEvent(s->ev[k]);
    s->ev[k] = NULL;
    if (err != CL_SUCCESS) return clnn__cl_error(err, "clWaitForEvents (input upload)");
  }
  if (n > s->cap) {
    for (int j = 0; j < 2; j++) {
      if (s->ev[j]) {
        clWaitForEvents(1, &s->ev[j]);
        clReleaseEvent(s->ev[j]);
        s->ev[j] = NULL;
      }
      free(s->buf[j]);
      s->buf[j] = NULL;
    }
    s->cap = 0;
    s->buf[0] = malloc(n * sizeof(float));
    s->buf[1] = malloc(n * sizeof(float));
    if (!s->buf[0] || !s->buf[1]) {
      free(s->buf[0]);
      free(s->buf[1]);
      s->buf[0] = s->buf[1] = NULL;
      return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate %zu floats of staging", n);
    }
    s->cap = n;
  }
  memcpy(s->buf[k], src, n * sizeof(float));
  cl_command_queue q;
  clnn_status st = clnn_context_get_cl(m->ctx, NULL, NULL, &q);
  if (st != CLNN_SUCCESS) return st;
  cl_int err = clEnqueueWriteBuffer(q, clnn_tensor_cl_mem(dst), CL_FALSE, 0, n * sizeof(float),
                                    s->buf[k], 0, NULL, &s->ev[k]);
  if (err != CL_SUCCESS) {
    s->ev[k] = NULL;
    return clnn__cl_error(err, "clEnqueueWriteBuffer (input upload)");
  }
  s->next = 1 - k;
  return CLNN_SUCCESS;
}

/* ---- parameters ---- */

size_t clnn_model_num_params(const clnn_model *m) { return m ? m->num_params : 0; }

const char *clnn__m_param_name(const clnn_model *m, size_t i) {
  return m->graph.g.params[m->params[i].gp].name;
}

const char *clnn_model_param_name(const clnn_model *m, size_t index) {
  return (m && index < m->num_params) ? clnn__m_param_name(m, index) : NULL;
}

clnn__mparam *clnn__m_find_param(clnn_model *m, const char *name) {
  for (size_t i = 0; i < m->num_params; i++)
    if (strcmp(clnn__m_param_name(m, i), name) == 0) return &m->params[i];
  return NULL;
}

clnn_status clnn_model_param(clnn_model *m, const char *name, clnn_tensor **value,
                             clnn_tensor **grad) {
  if (!m || !name)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_model_param: model or name is NULL");
  clnn__mparam *p = clnn__m_find_param(m, name);
  if (!p) {
    char list[512];
    size_t len = 0;
    list[0] = '\0';
    for (size_t i = 0; i < m->num_params && len + 2 < sizeof list; i++) {
      int w = snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "",
                       clnn__m_param_name(m, i));
      if (w > 0) len += (size_t)w;
    }
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "clnn_model_param: no parameter '%s' (the model has: %s)", name, list);
  }
  if (value) *value = p->value;
  if (grad) *grad = p->grad;
  /* the caller may write to it: the next parallel step compares it with a replica (reading it
   * copies nothing) */
  p->exposed = 1;
  return CLNN_SUCCESS;
}

static int prefix_match(const char *name, const char *prefix) {
  return !prefix || strncmp(name, prefix, strlen(prefix)) == 0;
}

clnn_status clnn_model_set_trainable(clnn_model *m, const char *prefix, int trainable,
                                     size_t *matched) {
  if (!m) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_model_set_trainable: model is NULL");
  size_t count = 0;
  for (size_t i = 0; i < m->num_params; i++)
    if (!m->graph.g.params[m->params[i].gp].state && prefix_match(clnn__m_param_name(m, i), prefix))
      count++;
  if (count == 0)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "clnn_model_set_trainable: no trainable parameter's name starts with '%s'",
                       prefix ? prefix : "");
  for (size_t i = 0; i < m->num_params; i++)
    if (!m->graph.g.params[m->params[i].gp].state && prefix_match(clnn__m_param_name(m, i), prefix))
      m->params[i].trainable = trainable ? 1 : 0;
  m->grad_dirty = 1;
  if (matched) *matched = count;
  return CLNN_SUCCESS;
}

int clnn_model_param_trainable(const clnn_model *m, const char *name) {
  if (!m || !name) return -1;
  for (size_t i = 0; i < m->num_params; i++)
    if (strcmp(clnn__m_param_name(m, i), name) == 0) return m->params[i].trainable;
  return -1;
}

size_t clnn_model_num_trainable(const clnn_model *m) {
  size_t n = 0;
  for (size_t i = 0; m && i < m->num_params; i++)
    if (m->params[i].trainable) n += m->graph.g.params[m->params[i].gp].numel;
  return n;
}

clnn_status clnn_model_input_grad(clnn_model *m, int input, int on) {
  const char *fn = "clnn_model_input_grad";
  if (!m) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: model is NULL", fn);
  clnn_status st = clnn__g_check_value(&m->graph.g, input, fn, "input");
  if (st != CLNN_SUCCESS) return st;
  const clnn__gvalue *v = &m->graph.g.values[input];
  if (v->producer >= 0 || v->dtype != CLNN_FLOAT32)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: '%s' is not a float input of the graph",
                       fn, v->name);
  if (m->want_input_grad[input] != (on ? 1 : 0)) {
    m->want_input_grad[input] = on ? 1 : 0;
    m->grad_dirty = 1;
  }
  return CLNN_SUCCESS;
}

clnn_status clnn_model_set_mode(clnn_model *m, clnn_mode mode) {
  if (!m) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_model_set_mode: model is NULL");
  if (mode != CLNN_MODE_TRAIN && mode != CLNN_MODE_EVAL)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_model_set_mode: mode %d", (int)mode);
  m->mode = mode;
  return CLNN_SUCCESS;
}
