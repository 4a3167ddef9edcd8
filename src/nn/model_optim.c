/* src/nn/model_optim.c — a model's optimizer: settings, slots for the trained parameters,
 * parameter groups (learning rate and weight decay by name prefix), schedules (step, cosine with
 * linear warm-up) and the update itself, with optional gradient clipping. */
#include "nn/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void clnn__m_free_opt(clnn_model *m) {
  for (size_t i = 0; m->params && i < m->num_params; i++)
    for (int k = 0; k < 2; k++) {
      clnn_tensor_destroy(m->params[i].opt[k]);
      m->params[i].opt[k] = NULL;
    }
}

/* Slots for every parameter that can be trained (frozen ones too: unfreezing keeps working). */
clnn_status clnn__m_alloc_opt(clnn_model *m) {
  const char *names[2];
  int slots = clnn__nn_opt_slots(&m->opt, names);
  clnn__m_free_opt(m);
  for (size_t i = 0; i < m->num_params; i++) {
    const clnn__gparam *gp = &m->graph.g.params[m->params[i].gp];
    if (gp->state) continue;
    for (int k = 0; k < slots; k++) {
      clnn_status st = clnn_tensor_create(m->ctx, gp->ndim, gp->dims, &m->params[i].opt[k]);
      if (st == CLNN_SUCCESS) st = clnn_tensor_fill(m->params[i].opt[k], 0.0f);
      if (st != CLNN_SUCCESS) {
        clnn__m_free_opt(m);
        return st;
      }
    }
  }
  return CLNN_SUCCESS;
}

clnn_status clnn__m_install_opt(clnn_model *m, const clnn_optimizer_config *cfg) {
  const char *names[2];
  int slots = clnn__nn_opt_slots(cfg, names);
  size_t n = 2 * (m->num_params ? m->num_params : 1);
  clnn_tensor **t = calloc(n, sizeof(*t));
  if (!t) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate optimizer state");
  clnn_status st = CLNN_SUCCESS;
  for (size_t i = 0; i < m->num_params && st == CLNN_SUCCESS; i++) {
    const clnn__gparam *gp = &m->graph.g.params[m->params[i].gp];
    for (int k = 0; k < slots && !gp->state && st == CLNN_SUCCESS; k++) {
      st = clnn_tensor_create(m->ctx, gp->ndim, gp->dims, &t[2 * i + (size_t)k]);
      if (st == CLNN_SUCCESS) st = clnn_tensor_fill(t[2 * i + (size_t)k], 0.0f);
    }
  }
  if (st == CLNN_SUCCESS) {
    clnn__m_free_opt(m);
    for (size_t i = 0; i < m->num_params; i++)
      for (int k = 0; k < 2; k++) m->params[i].opt[k] = t[2 * i + (size_t)k];
    m->opt = *cfg;
  } else {
    for (size_t i = 0; i < n; i++) clnn_tensor_destroy(t[i]);
  }
  free(t);
  return st;
}

clnn_status clnn_model_set_optimizer(clnn_model *m, const clnn_optimizer_config *cfg) {
  const char *fn = "clnn_model_set_optimizer";
  if (!m || !cfg) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: model or cfg is NULL", fn);
  clnn_optimizer_config cfg_in;
  CLNN__STRUCT_IN(CLNN__OPTIMIZER_CONFIG, fn, "cfg", cfg, cfg_in);
  clnn_status st = clnn__nn_check_opt(cfg);
  if (st != CLNN_SUCCESS) return st;
  clnn_optimizer_config old = m->opt;
  m->opt = *cfg;
  st = clnn__m_alloc_opt(m);
  if (st != CLNN_SUCCESS) {
    m->opt = old;
    clnn_status st2 = clnn__m_alloc_opt(m);
    (void)st2;
    return st;
  }
  m->step = 0;
  clnn__x_mark_stale(m->par); /* fresh slots on every replica */
  return CLNN_SUCCESS;
}

static int finite_nonneg(float v) { return v >= 0.0f && isfinite(v); }

clnn_status clnn_model_set_learning_rate(clnn_model *m, float lr) {
  if (!m) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_model_set_learning_rate: model is NULL");
  if (!finite_nonneg(lr))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "clnn_model_set_learning_rate: lr %g must be >= 0", (double)lr);
  m->opt.lr = lr;
  return CLNN_SUCCESS;
}

clnn_status clnn_model_set_check_finite(clnn_model *m, int on) {
  if (!m)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_model_set_check_finite: model is NULL");
  m->check_finite = on ? 1 : 0;
  return CLNN_SUCCESS;
}

clnn_status clnn_model_set_param_group(clnn_model *m, const char *prefix, float lr,
                                       float weight_decay) {
  const char *fn = "clnn_model_set_param_group";
  if (!m || !prefix)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: model or prefix is NULL", fn);
  if (!finite_nonneg(lr) || !finite_nonneg(weight_decay))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: lr %g and weight_decay %g must be >= 0",
                       fn, (double)lr, (double)weight_decay);
  if (strlen(prefix) >= CLNN__G_PNAME_MAX)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: prefix is longer than %d characters", fn,
                       CLNN__G_PNAME_MAX - 1);
  size_t matched = 0;
  for (size_t i = 0; i < m->num_params; i++)
    matched += strncmp(clnn__m_param_name(m, i), prefix, strlen(prefix)) == 0;
  if (!matched)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: no parameter's name starts with '%s'", fn,
                       prefix);
  for (int i = 0; i < m->num_groups; i++)
    if (strcmp(m->groups[i].prefix, prefix) == 0) {
      m->groups[i].lr = lr;
      m->groups[i].weight_decay = weight_decay;
      return CLNN_SUCCESS;
    }
  clnn__mgroup *g = realloc(m->groups, (size_t)(m->num_groups + 1) * sizeof(*g));
  if (!g) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "%s: out of memory", fn);
  m->groups = g;
  snprintf(g[m->num_groups].prefix, sizeof g[m->num_groups].prefix, "%s", prefix);
  g[m->num_groups].lr = lr;
  g[m->num_groups].weight_decay = weight_decay;
  m->num_groups++;
  return CLNN_SUCCESS;
}

void clnn_schedule_init(clnn_schedule *s) {
  if (!s) return;
  memset(s, 0, sizeof *s);
  s->struct_size = (uint32_t)sizeof *s;
  s->type = CLNN_SCHEDULE_CONSTANT;
}

clnn_status clnn_model_set_schedule(clnn_model *m, const clnn_schedule *s) {
  const char *fn = "clnn_model_set_schedule";
  if (!m || !s) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: model or s is NULL", fn);
  clnn_schedule s_in;
  CLNN__STRUCT_IN(CLNN__SCHEDULE, fn, "s", s, s_in);
  switch (s->type) {
    case CLNN_SCHEDULE_CONSTANT:
      break;
    case CLNN_SCHEDULE_STEP:
      if (s->step_size < 1 || !(s->gamma > 0.0f) || !isfinite(s->gamma))
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                           "%s: step schedule needs step_size >= 1 and gamma > 0", fn);
      break;
    case CLNN_SCHEDULE_COSINE:
      if (s->warmup_steps >= s->total_steps || !(s->min_ratio >= 0.0f && s->min_ratio <= 1.0f))
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                           "%s: cosine schedule needs warmup_steps < total_steps and min_ratio "
                           "in [0, 1]", fn);
      break;
    default:
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: schedule type %d", fn, (int)s->type);
  }
  m->sched = *s;
  return CLNN_SUCCESS;
}

/* The schedule's factor for optimizer step `step` (1-based). */
static double schedule_factor(const clnn_schedule *s, uint64_t step) {
  uint64_t t = step - 1; /* steps taken before this one */
  switch (s->type) {
    case CLNN_SCHEDULE_STEP:
      return pow((double)s->gamma, (double)(t / s->step_size));
    case CLNN_SCHEDULE_COSINE: {
      if (t < s->warmup_steps) return (double)(t + 1) / (double)(s->warmup_steps + 1);
      if (t >= s->total_steps) return s->min_ratio;
      double p = (double)(t - s->warmup_steps) / (double)(s->total_steps - s->warmup_steps);
      return s->min_ratio + (1.0 - s->min_ratio) * 0.5 * (1.0 + cos(3.141592653589793 * p));
    }
    default:
      return 1.0;
  }
}

/* Learning rate and weight decay of parameter i at step `step`. */
static void param_hyper(const clnn_model *m, size_t i, uint64_t step, float *lr, float *wd) {
  const char *name = clnn__m_param_name(m, i);
  size_t best = 0;
  *lr = m->opt.lr;
  *wd = m->opt.weight_decay;
  for (int k = 0; k < m->num_groups; k++) {
    size_t len = strlen(m->groups[k].prefix);
    if (len >= best && strncmp(name, m->groups[k].prefix, len) == 0) {
      best = len;
      *lr = m->groups[k].lr;
      *wd = m->groups[k].weight_decay;
    }
  }
  *lr = (float)((double)*lr * schedule_factor(&m->sched, step));
}

clnn_status clnn_model_current_lr(const clnn_model *m, const char *name, float *lr) {
  const char *fn = "clnn_model_current_lr";
  if (!m || !lr) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: model or lr is NULL", fn);
  float wd;
  if (!name) {
    *lr = (float)((double)m->opt.lr * schedule_factor(&m->sched, m->step + 1));
    return CLNN_SUCCESS;
  }
  for (size_t i = 0; i < m->num_params; i++)
    if (strcmp(clnn__m_param_name(m, i), name) == 0) {
      param_hyper(m, i, m->step + 1, lr, &wd);
      return CLNN_SUCCESS;
    }
  return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: no parameter '%s'", fn, name);
}

uint64_t clnn_model_step_count(const clnn_model *m) { return m ? m->step : 0; }

clnn_status clnn_model_optimizer_step(clnn_model *m) {
  const char *fn = "clnn_model_optimizer_step";
  if (!m) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: model is NULL", fn);
  return m->par ? clnn__x_apply(m, fn) : clnn__m_step(m);
}

/* One replica's update. */
clnn_status clnn__m_step(clnn_model *m) {
  const char *fn = "clnn_model_optimizer_step";
  if (m->step == UINT64_MAX)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: the step count is exhausted", fn);
  clnn_status st = CLNN_SUCCESS;
  size_t count = 0;
  for (size_t i = 0; i < m->num_params; i++) count += m->params[i].trainable != 0;
  if (m->opt.clip_grad_norm > 0.0f && count) {
    clnn_tensor **grads = malloc(count * sizeof(*grads));
    if (!grads) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "%s: out of memory", fn);
    size_t k = 0;
    for (size_t i = 0; i < m->num_params; i++)
      if (m->params[i].trainable) grads[k++] = m->params[i].grad;
    st = clnn_clip_grad_norm(m->ctx, grads, count, m->opt.clip_grad_norm, NULL);
    free(grads);
    if (st != CLNN_SUCCESS) return st;
  }
  uint64_t step = m->step + 1;
  for (size_t i = 0; i < m->num_params && st == CLNN_SUCCESS; i++) {
    clnn__mparam *p = &m->params[i];
    if (!p->trainable) continue;
    float lr, wd;
    param_hyper(m, i, step, &lr, &wd);
    st = clnn__nn_update_param(m->ctx, &m->opt, lr, wd, step, p->value, p->grad, p->opt);
  }
  if (st == CLNN_SUCCESS) m->step = step;
  return st;
}
