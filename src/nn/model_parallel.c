/* src/nn/model_parallel.c — data-parallel graph models: one replica of the model per device of a
 * device set (replica 0 is the model the caller holds) and, with MPI, per rank. A gradient pass
 * checks the whole batch, gives every device a contiguous share (equal shares over every device
 * of every rank), runs each replica's forward and backward in its own host thread, reads the
 * trained parameters' gradients, the state tensors (batch-norm running statistics) and the
 * objective back, and sums them in device order weighted by share / batch, in double: the result
 * does not depend on timing. Across ranks the sums are added in rank order (mpi.c). The sum goes
 * to every replica; the optimizer then updates every replica alike, so replicas stay identical
 * (devices of different models or drivers: replica 0 updates and is copied). Settings and
 * anything written outside a step reach the replicas before the next step. A failure stops the
 * step naming the device, with parameters and statistics as before. */
#define _POSIX_C_SOURCE 200809L
#include "nn/model.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct clnn__mpar {
  clnn_device_set *set;   /* NULL: the model's own context only (MPI alone) */
  int n;                  /* local replicas */
  clnn_model **r;         /* [n]; r[0] is the model */
  char (*label)[160];     /* [n] "device 1 (pthread-...)" */
  int identical;          /* every device the same model and driver */
  int stale;              /* replica 0 changed outside a step: copy it to the others */
  clnn__mpi *mpi;
  int rank, nranks;
  size_t ntrain, nstate;  /* floats of trained gradients and of state */
  float **host;           /* [n][ntrain + nstate + 1] read-backs */
  double *acc;
  float *flat;
  float loss;             /* the last step's objective over the whole batch */
  uint64_t image_copies;  /* parameter images written to other replicas (a test hook reads it) */
};

typedef struct worker {
  clnn__mpar *par;
  int k;
  clnn_feed feeds[CLNN__G_MAX_IN];
  int num_feeds;
  size_t count, offset;
  clnn_status st;
  char msg[1024];
  const char *fn;
} worker;

/* ---- replicas and copies through host memory ---- */

static void par_free(clnn__mpar *p) {
  if (!p) return;
  for (int k = 1; k < p->n; k++) clnn_model_destroy(p->r[k]);
  for (int k = 0; p->host && k < p->n; k++) free(p->host[k]);
  free(p->host);
  free(p->r);
  free(p->label);
  free(p->acc);
  free(p->flat);
  if (p->mpi) clnn__mpi_detach(p->mpi);
  free(p);
}

void clnn__m_par_destroy(clnn_model *m) {
  par_free(m->par);
  m->par = NULL;
}

static clnn_status par_new(clnn_model *m, clnn_device_set *set, int n, clnn__mpar **out) {
  clnn__mpar *p = calloc(1, sizeof(*p));
  if (!p) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate data-parallel state");
  p->set = set;
  p->n = n;
  p->nranks = 1;
  p->stale = 1;
  p->identical = 1;
  p->r = calloc((size_t)n, sizeof(*p->r));
  p->label = calloc((size_t)n, sizeof(*p->label));
  p->host = calloc((size_t)n, sizeof(*p->host));
  if (!p->r || !p->label || !p->host) {
    par_free(p);
    return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate data-parallel state");
  }
  p->r[0] = m;
  uint64_t sig0 = 0;
  for (int k = 0; k < n; k++) {
    clnn_context *ctx = set ? clnn_device_set_context(set, k) : m->ctx;
    clnn_device_info info;
    clnn_device_info_init(&info);
    clnn_context_device_info(ctx, &info);
    snprintf(p->label[k], sizeof p->label[k], "device %d (%.120s)", k, info.name);
    uint64_t sig = clnn__nn_device_signature(&info);
    if (k == 0) sig0 = sig;
    else p->identical &= sig == sig0;
  }
  for (size_t i = 0; i < m->num_params; i++) {
    const clnn__gparam *gp = &m->graph.g.params[m->params[i].gp];
    if (gp->state) p->nstate += gp->numel;
    else p->ntrain += gp->numel;
  }
  size_t total = p->ntrain + p->nstate + 1;
  p->acc = malloc(total * sizeof(double));
  p->flat = malloc(total * sizeof(float));
  for (int k = 0; k < n && p->acc && p->flat; k++)
    if (!(p->host[k] = malloc(total * sizeof(float)))) break;
  if (!p->acc || !p->flat || !p->host[n - 1]) {
    par_free(p);
    return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate %zu floats for gradients", total);
  }
  *out = p;
  return CLNN_SUCCESS;
}

clnn_status clnn_model_create_parallel(clnn_device_set *set, const clnn_graph *g, uint64_t seed,
                                       clnn_model **out) {
  const char *fn = "clnn_model_create_parallel";
  if (!set || !g || !out)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: set, graph or out is NULL", fn);
  int n = clnn_device_set_size(set);
  clnn_model *m = NULL;
  clnn_status st = clnn__m_create(clnn_device_set_context(set, 0), &g->g, seed, &m, fn);
  if (st != CLNN_SUCCESS) return st;
  st = par_new(m, set, n, &m->par);
  for (int k = 1; k < n && st == CLNN_SUCCESS; k++) {
    st = clnn__m_create(clnn_device_set_context(set, k), &g->g, seed, &m->par->r[k], fn);
    if (st != CLNN_SUCCESS) {
      char keep[768];
      snprintf(keep, sizeof keep, "%s", clnn_last_error());
      st = clnn__error(st, "%s: creating the replica on %s: %s", fn, m->par->label[k], keep);
    }
  }
  if (st != CLNN_SUCCESS) {
    clnn_model_destroy(m);
    return st;
  }
  *out = m;
  return CLNN_SUCCESS;
}

int clnn_model_num_devices(const clnn_model *m) {
  if (!m) return 0;
  return m->par ? m->par->n * m->par->nranks : 1;
}

/* Parameter values, state and optimizer slots of `src` into host memory (to_host) or from it
 * into `dst`; returns the floats moved. */
static size_t image_numel(const clnn_model *m) {
  size_t n = 0;
  for (size_t i = 0; i < m->num_params; i++) {
    size_t e = m->graph.g.params[m->params[i].gp].numel;
    n += e * (1 + (m->params[i].opt[0] != NULL) + (m->params[i].opt[1] != NULL));
  }
  return n;
}

static clnn_status image_io(clnn_model *m, float *buf, int to_host) {
  size_t off = 0;
  for (size_t i = 0; i < m->num_params; i++) {
    size_t e = m->graph.g.params[m->params[i].gp].numel;
    clnn_tensor *ts[3] = {m->params[i].value, m->params[i].opt[0], m->params[i].opt[1]};
    for (int k = 0; k < 3; k++) {
      if (!ts[k]) continue;
      clnn_status st = to_host ? clnn_tensor_read(ts[k], buf + off, e)
                               : clnn_tensor_write(ts[k], buf + off, e);
      if (st != CLNN_SUCCESS) return st;
      off += e;
    }
  }
  return CLNN_SUCCESS;
}

/* Replica 0's settings (optimizer, groups, schedule, counters, trainable flags, mode) on r. */
static clnn_status copy_settings(clnn_model *r, const clnn_model *m) {
  const char *a[2], *b[2];
  int slots_differ = clnn__nn_opt_slots(&r->opt, a) != clnn__nn_opt_slots(&m->opt, b) ||
                     r->opt.type != m->opt.type;
  r->opt = m->opt;
  if (slots_differ) {
    clnn_status st = clnn__m_alloc_opt(r);
    if (st != CLNN_SUCCESS) return st;
  }
  if (r->num_groups != m->num_groups) {
    clnn__mgroup *g = realloc(r->groups, (size_t)(m->num_groups ? m->num_groups : 1) * sizeof(*g));
    if (!g) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot copy parameter groups");
    r->groups = g;
    r->num_groups = m->num_groups;
  }
  if (m->num_groups) memcpy(r->groups, m->groups, (size_t)m->num_groups * sizeof(*m->groups));
  r->sched = m->sched;
  r->step = m->step;
  r->seed = m->seed;
  r->train_forwards = m->train_forwards;
  r->mode = m->mode;
  for (size_t i = 0; i < m->num_params; i++)
    if (r->params[i].trainable != m->params[i].trainable) {
      r->params[i].trainable = m->params[i].trainable;
      r->grad_dirty = 1;
    }
  return CLNN_SUCCESS;
}

/* Replica 0's parameters, state and optimizer slots to every other replica (and, with MPI,
 * rank 0's to every rank). */
static clnn_status sync_replicas(clnn__mpar *p, int from_rank0) {
  clnn_model *m = p->r[0];
  size_t n = image_numel(m);
  float *buf = malloc((n ? n : 1) * sizeof(float));
  if (!buf) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate %zu floats", n);
  clnn_status st = image_io(m, buf, 1);
  if (st == CLNN_SUCCESS && from_rank0) {
    st = clnn__mpi_bcast(p->mpi, buf, n * sizeof(float));
    if (st == CLNN_SUCCESS) {
      uint64_t c[3] = {m->step, m->train_forwards, m->seed};
      st = clnn__mpi_bcast(p->mpi, c, sizeof c);
      m->step = c[0];
      m->train_forwards = c[1];
      m->seed = c[2];
    }
    if (st == CLNN_SUCCESS && p->rank != 0) st = image_io(m, buf, 0);
  }
  for (int k = 1; k < p->n && st == CLNN_SUCCESS; k++) {
    st = copy_settings(p->r[k], m);
    if (st == CLNN_SUCCESS) st = image_io(p->r[k], buf, 0);
    if (st == CLNN_SUCCESS) p->image_copies++;
  }
  free(buf);
  return st;
}

/* Parameters handed out by clnn_model_param since the last step: stale when one differs from the
 * second replica's copy (replicas hold the same bits after a step, so it was written), or, with
 * MPI or one local replica, when any was handed out. Clears the marks. */
static clnn_status check_exposed(clnn__mpar *p) {
  clnn_model *m = p->r[0], *other = p->n > 1 ? p->r[1] : NULL;
  clnn_status st = CLNN_SUCCESS;
  float *a = NULL, *b = NULL;
  size_t cap = 0;
  for (size_t i = 0; i < m->num_params; i++) {
    clnn__mparam *q = &m->params[i];
    if (!q->exposed) continue;
    q->exposed = 0;
    if (p->stale || st != CLNN_SUCCESS) continue; /* (every mark is cleared) */
    if (!other || p->mpi) {
      p->stale = 1;
      continue;
    }
    size_t n = clnn_tensor_numel(q->value);
    if (n > cap) {
      free(a);
      free(b);
      a = malloc(n * sizeof(float));
      b = malloc(n * sizeof(float));
      cap = a && b ? n : 0;
      if (!cap) {
        st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate %zu floats", 2 * n);
        continue;
      }
    }
    st = clnn_tensor_read(q->value, a, n);
    if (st == CLNN_SUCCESS) st = clnn_tensor_read(other->params[i].value, b, n);
    if (st == CLNN_SUCCESS && memcmp(a, b, n * sizeof(float)) != 0) p->stale = 1;
  }
  free(a);
  free(b);
  return st;
}

/* ---- the gradient pass ---- */

/* Reads replica k's trained gradients, state and objective into par->host[k]. */
static clnn_status read_back(clnn__mpar *p, int k, double objective) {
  clnn_model *r = p->r[k];
  float *h = p->host[k];
  size_t gt = 0, gs = p->ntrain;
  for (size_t i = 0; i < r->num_params; i++) {
    const clnn__gparam *gp = &r->graph.g.params[r->params[i].gp];
    clnn_status st;
    if (gp->state) {
      st = clnn_tensor_read(r->params[i].value, h + gs, gp->numel);
      gs += gp->numel;
    } else {
      if (r->params[i].trainable) st = clnn_tensor_read(r->params[i].grad, h + gt, gp->numel);
      else st = CLNN_SUCCESS;
      gt += gp->numel;
    }
    if (st != CLNN_SUCCESS) return st;
  }
  h[p->ntrain + p->nstate] = (float)objective;
  return CLNN_SUCCESS;
}

static void *worker_run(void *arg) {
  worker *w = arg;
  clnn__mpar *p = w->par;
  clnn_model *r = p->r[w->k];
  r->sample_offset = w->offset;
  clnn_status st = clnn__m_run(r, w->feeds, w->num_feeds, w->count, r->mode == CLNN_MODE_TRAIN, 1,
                               -1, w->fn);
  if (st == CLNN_SUCCESS) st = clnn__m_backward(r, NULL, 0, w->fn);
  float obj = 0.0f;
  if (st == CLNN_SUCCESS) st = clnn__m_objective(r, &obj);
  if (st == CLNN_SUCCESS) st = read_back(p, w->k, obj);
  r->sample_offset = 0;
  w->st = st;
  if (st != CLNN_SUCCESS) snprintf(w->msg, sizeof w->msg, "%s", clnn_last_error());
  return NULL;
}

/* Writes the summed gradients and the averaged state into every replica. */
static clnn_status distribute(clnn__mpar *p) {
  for (int k = 0; k < p->n; k++) {
    clnn_model *r = p->r[k];
    size_t gt = 0, gs = p->ntrain;
    for (size_t i = 0; i < r->num_params; i++) {
      const clnn__gparam *gp = &r->graph.g.params[r->params[i].gp];
      clnn_status st = CLNN_SUCCESS;
      if (gp->state) {
        st = clnn_tensor_write(r->params[i].value, p->flat + gs, gp->numel);
        gs += gp->numel;
      } else {
        if (r->params[i].trainable) st = clnn_tensor_write(r->params[i].grad, p->flat + gt, gp->numel);
        gt += gp->numel;
      }
      if (st != CLNN_SUCCESS) return st;
    }
  }
  return CLNN_SUCCESS;
}

/* The samples of a host feed from `first`, `count` of them. */
static clnn_feed slice(const clnn_model *m, const clnn_feed *f, size_t first, size_t count) {
  const clnn__gvalue *v = &m->graph.g.values[f->value];
  size_t per = clnn__nn_prod(v->ndim, v->dims), bytes = v->dtype == CLNN_INT32 ? sizeof(int32_t)
                                                                                 : sizeof(float);
  clnn_feed s = *f;
  s.host = (const char *)f->host + first * per * bytes;
  s.count = count * per;
  return s;
}

clnn_status clnn__m_par_gradients(clnn_model *m, const clnn_feed *feeds, int num_feeds,
                                  size_t batch, float *loss, const char *fn) {
  clnn__mpar *p = m->par;
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
  clnn_status st = clnn__m_check(m, feeds, num_feeds, batch, fn);
  if (st != CLNN_SUCCESS) return st;
  /* every rank passes the same global batch */
  if (p->mpi) {
    long long b[2] = {(long long)batch, -(long long)batch};
    st = clnn__mpi_max(p->mpi, b, 2);
    if (st == CLNN_SUCCESS && b[0] != -b[1])
      st = clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: the ranks pass different batch sizes "
                       "(%lld to %lld)", fn, -b[1], b[0]);
    if (st != CLNN_SUCCESS) return st;
  }
  st = check_exposed(p);
  if (st != CLNN_SUCCESS) return st;
  if (p->mpi) { /* written on any rank: rank 0's copy goes everywhere */
    long long stale = p->stale;
    st = clnn__mpi_max(p->mpi, &stale, 1);
    if (st != CLNN_SUCCESS) return st;
    p->stale = (int)stale;
  }
  if (p->stale) {
    st = sync_replicas(p, p->mpi != NULL);
    if (st != CLNN_SUCCESS) return st;
    p->stale = 0;
  } else {
    for (int k = 1; k < p->n && st == CLNN_SUCCESS; k++) st = copy_settings(p->r[k], m);
    if (st != CLNN_SUCCESS) return st;
  }
  /* shares: contiguous, equal over every device of every rank */
  int G = p->n * p->nranks;
  double *shares = calloc((size_t)G, sizeof(double));
  size_t *counts = calloc((size_t)G, sizeof(size_t));
  worker *w = calloc((size_t)p->n, sizeof(worker));
  pthread_t *th = calloc((size_t)p->n, sizeof(pthread_t));
  int *started = calloc((size_t)p->n, sizeof(int));
  float *state0 = malloc((p->nstate ? p->nstate : 1) * sizeof(float));
  if (!shares || !counts || !w || !th || !started || !state0) {
    st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "%s: out of memory", fn);
    goto done;
  }
  clnn__nn_split_counts(shares, G, batch, counts);
  /* the state as it was, to put back if the step fails */
  size_t gs = 0;
  for (size_t i = 0; i < m->num_params && st == CLNN_SUCCESS; i++) {
    const clnn__gparam *gp = &g->params[m->params[i].gp];
    if (!gp->state) continue;
    st = clnn_tensor_read(m->params[i].value, state0 + gs, gp->numel);
    gs += gp->numel;
  }
  size_t first = 0;
  for (int gi = 0; gi < p->rank * p->n; gi++) first += counts[gi];
  for (int k = 0; k < p->n && st == CLNN_SUCCESS; k++) {
    w[k].par = p;
    w[k].k = k;
    w[k].fn = fn;
    w[k].count = counts[p->rank * p->n + k];
    w[k].offset = first;
    w[k].num_feeds = num_feeds;
    for (int i = 0; i < num_feeds; i++) w[k].feeds[i] = slice(m, &feeds[i], first, w[k].count);
    first += w[k].count;
  }
  /* each device in its own thread (the first step, which builds the kernels, one at a time);
   * replica 0 in the calling thread */
  int serial = m->step == 0 && m->train_forwards == 0;
  for (int k = 1; k < p->n && st == CLNN_SUCCESS; k++) {
    if (w[k].count == 0 || serial) continue;
    if (pthread_create(&th[k], NULL, worker_run, &w[k]) == 0) started[k] = 1;
  }
  for (int k = 0; k < p->n && st == CLNN_SUCCESS; k++)
    if (w[k].count && !started[k]) worker_run(&w[k]);
  for (int k = 0; k < p->n; k++)
    if (started[k]) pthread_join(th[k], NULL);
  int failed = -1;
  for (int k = 0; k < p->n && st == CLNN_SUCCESS; k++)
    if (w[k].count && w[k].st != CLNN_SUCCESS && failed < 0) failed = k;
  if (failed >= 0)
    st = clnn__error(w[failed].st, "%s: on %s (rank %d): %s", fn, p->label[failed], p->rank,
                     w[failed].msg);
  if (p->mpi) { /* a failure on one rank fails the step on every rank */
    long long bad = st != CLNN_SUCCESS ? 1 + p->rank : 0;
    clnn_status s2 = clnn__mpi_max(p->mpi, &bad, 1);
    if (st == CLNN_SUCCESS && s2 != CLNN_SUCCESS) st = s2;
    if (st == CLNN_SUCCESS && bad)
      st = clnn__error(CLNN_ERROR_OPENCL, "%s: the step failed on rank %lld", fn, bad - 1);
  }
  if (st == CLNN_SUCCESS) {
    size_t total = p->ntrain + p->nstate + 1;
    for (size_t j = 0; j < total; j++) p->acc[j] = 0.0;
    for (int k = 0; k < p->n; k++) {
      if (!w[k].count) continue;
      double wt = (double)w[k].count / (double)batch;
      const float *h = p->host[k];
      for (size_t j = 0; j < total; j++) p->acc[j] += wt * (double)h[j];
    }
    for (size_t j = 0; j < total; j++) p->flat[j] = (float)p->acc[j];
    if (p->mpi) st = clnn__mpi_sum(p->mpi, p->flat, total);
    if (st == CLNN_SUCCESS) st = distribute(p);
    if (st == CLNN_SUCCESS) {
      p->loss = p->flat[total - 1];
      if (loss) *loss = p->loss;
      uint64_t tf = m->train_forwards; /* replica 0 counted its forward: all agree */
      for (int k = 0; k < p->n; k++) p->r[k]->train_forwards = tf;
    }
  }
  if (st != CLNN_SUCCESS) { /* statistics as before the step, on every replica */
    char keep[1024];
    snprintf(keep, sizeof keep, "%s", clnn_last_error());
    for (int k = 0; k < p->n; k++) {
      clnn_model *r = p->r[k];
      size_t o = 0;
      for (size_t i = 0; i < r->num_params; i++) {
        const clnn__gparam *gp = &g->params[r->params[i].gp];
        if (!gp->state) continue;
        clnn_tensor_write(r->params[i].value, state0 + o, gp->numel);
        o += gp->numel;
      }
    }
    clnn__error(st, "%s", keep);
  }
done:
  free(shares);
  free(counts);
  free(w);
  free(th);
  free(started);
  free(state0);
  return st;
}

/* The optimizer on every replica (devices that round differently: replica 0, then copied). */
clnn_status clnn__m_par_step(clnn_model *m, clnn_status (*step)(clnn_model *)) {
  clnn__mpar *p = m->par;
  clnn_status st = step(m);
  if (st != CLNN_SUCCESS) return st;
  if (p->identical) {
    for (int k = 1; k < p->n && st == CLNN_SUCCESS; k++) st = step(p->r[k]);
  } else {
    st = sync_replicas(p, 0);
  }
  if (st != CLNN_SUCCESS) p->stale = 1; /* a failure: copy replica 0 again before the next step */
  return st;
}

void clnn__m_par_mark_stale(clnn_model *m) {
  if (m && m->par) m->par->stale = 1;
}

clnn_status clnn_model_set_mpi(clnn_model *m, const void *comm) {
  const char *fn = "clnn_model_set_mpi";
  if (!m) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: model is NULL", fn);
  if (m->par && m->par->mpi)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: the model is already joined to MPI", fn);
  clnn__mpi *mpi = NULL;
  int rank = 0, size = 1;
  clnn_status st = clnn__mpi_attach(comm, &mpi, &rank, &size);
  if (st != CLNN_SUCCESS) return st;
  if (!m->par) {
    st = par_new(m, NULL, 1, &m->par);
    if (st != CLNN_SUCCESS) {
      clnn__mpi_detach(mpi);
      return st;
    }
  }
  m->par->mpi = mpi;
  m->par->rank = rank;
  m->par->nranks = size;
  m->par->stale = 1;
  return CLNN_SUCCESS;
}

/* Test hook (not API): replica k of a model on several devices (NULL when out of range). */
uint64_t clnn__m_par_image_copies(const clnn_model *m) { return m && m->par ? m->par->image_copies : 0; }

clnn_model *clnn__m_par_replica(clnn_model *m, int k);
clnn_model *clnn__m_par_replica(clnn_model *m, int k) {
  if (!m || !m->par) return k == 0 ? m : NULL;
  return k >= 0 && k < m->par->n ? m->par->r[k] : NULL;
}
