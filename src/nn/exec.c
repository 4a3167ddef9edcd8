/* src/nn/exec.c — the multi-device executor: data-parallel training of a model over the devices
 * of a device set and (with src/nn/mpi.c) over MPI ranks. Sequential networks train through it
 * too, as the graph models they build.
 *
 * One replica of the model per local device (replica 0 is the model the caller holds). A step:
 * check the whole batch; agree with the other ranks (batch size, apply, whether anything changed
 * outside training); copy the first replica's (rank 0's) parameters and optimizer state to the
 * others when something did; split the batch into contiguous shares (equal, measured from the
 * devices' speeds, or fixed by the caller); every device runs forward and backward on its share
 * in its own host thread, reading each parameter's gradient back to host memory (non-blocking)
 * as soon as backward has finished it; the calling thread sums each gradient as soon as every
 * device has delivered it, in device order, weighted by share/batch, in double (deterministic
 * whatever the timing); MPI ranks then add their sums in rank order (mpi.c); the sum is written
 * to every replica, and only then does every replica apply the optimizer (after a device copy of
 * the parameters and optimizer state that a failure restores). Batch-norm running statistics
 * travel with the gradients and become the share-weighted mean of the replicas' values. */
#define _POSIX_C_SOURCE 200809L
#include "nn/exec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


uint64_t clnn__nn_device_signature(const clnn_device_info *d) {
  uint64_t h = CLNN__FNV_BASIS;
  h = clnn__fnv1a(h, d->platform_name, strlen(d->platform_name));
  h = clnn__fnv1a(h, d->name, strlen(d->name));
  h = clnn__fnv1a(h, d->vendor, strlen(d->vendor));
  h = clnn__fnv1a(h, d->driver_version, strlen(d->driver_version));
  h = clnn__fnv1a(h, d->device_version, strlen(d->device_version));
  unsigned u[3] = {d->compute_units, d->clock_mhz, d->preferred_vector_width_float};
  return clnn__fnv1a(h, u, sizeof u);
}

/* ---- creation and destruction ---- */

void clnn__x_free_backups(x_worker *w) {
  if (!w->backup) return;
  for (size_t i = 0; i < w->nbackup; i++) clnn_tensor_destroy(w->backup[i]);
  free(w->backup);
  w->backup = NULL;
  w->nbackup = 0;
}

static void free_state_copies(clnn__x *x) {
  for (size_t i = 0; x->state_copy && i < x->nparams; i++) clnn_tensor_destroy(x->state_copy[i]);
  free(x->state_copy);
  x->state_copy = NULL;
}


void clnn__x_destroy(clnn__x *x) {
  if (!x) return;
  clnn__x_stop_threads(x);
  for (int k = 0; k < x->nlocal; k++) {
    x_worker *w = &x->w[k];
    clnn__x_free_backups(w);
    if (k > 0) clnn_model_destroy(w->m);
    free(w->host);
    free(w->ev);
    free(w->pass_scratch);
    free(w->obj_parts);
    free(w->obj_ev);
  }
  if (x->sync_ready) {
    pthread_mutex_destroy(&x->mu);
    pthread_cond_destroy(&x->cv);
    pthread_cond_destroy(&x->go);
  }
  clnn__mpi_detach(x->mpi);
  free(x->w);
  free(x->off);
  free(x->items);
  free(x->item_of_param);
  free(x->sum);
  free(x->image);
  free(x->state_before);
  free_state_copies(x);
  free(x->weights);
  free(x->shares);
  free(x->counts);
  free(x->meas_n);
  free(x->meas_t);
  free(x->rank_count);
  free(x);
}

/* Per-global-device arrays for nglobal devices, equal shares. */
clnn_status clnn__x_alloc_global(clnn__x *x, int nglobal) {
  double *wt = calloc((size_t)nglobal, sizeof(double));
  double *sh = calloc((size_t)nglobal, sizeof(double));
  size_t *ct = calloc((size_t)nglobal, sizeof(size_t));
  if (!wt || !sh || !ct) {
    free(wt);
    free(sh);
    free(ct);
    return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate the device split");
  }
  free(x->weights);
  free(x->shares);
  free(x->counts);
  x->weights = wt;
  x->shares = sh;
  x->counts = ct;
  x->nglobal = nglobal;
  for (int g = 0; g < nglobal; g++) x->shares[g] = 1.0 / (double)nglobal;
  x->mode = CLNN_SPLIT_AUTO;
  x->measured = 0;
  x->meas_from = x->steps > X_MEASURE_FIRST ? x->steps : X_MEASURE_FIRST;
  return CLNN_SUCCESS;
}

static clnn_context *worker_ctx(const clnn__x *x, clnn_model *m, int k) {
  return x->set ? clnn_device_set_context(x->set, k) : clnn__m_context(m);
}

clnn_status clnn__x_create(clnn_model *m, clnn_device_set *set, const char *fn) {
  int n = set ? clnn_device_set_size(set) : 1;
  clnn__x *x = calloc(1, sizeof *x);
  if (!x) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate the data-parallel state");
  x->set = set;
  x->nlocal = n;
  x->nranks = 1;
  x->max_local = n;
  x->stale = 1;
  x->w = calloc((size_t)n, sizeof *x->w);
  x->meas_n = calloc((size_t)n, sizeof(double));
  x->meas_t = calloc((size_t)n, sizeof(double));
  clnn_status st = CLNN_SUCCESS;
  if (!x->w || !x->meas_n || !x->meas_t)
    st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate the data-parallel state");
  if (st == CLNN_SUCCESS) st = clnn__x_alloc_global(x, n);
  if (st == CLNN_SUCCESS && pthread_mutex_init(&x->mu, NULL) != 0)
    st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot create a mutex");
  if (st == CLNN_SUCCESS && pthread_cond_init(&x->cv, NULL) != 0) {
    pthread_mutex_destroy(&x->mu);
    st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot create a condition variable");
  }
  if (st == CLNN_SUCCESS && pthread_cond_init(&x->go, NULL) != 0) {
    pthread_cond_destroy(&x->cv);
    pthread_mutex_destroy(&x->mu);
    st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot create a condition variable");
  }
  if (st == CLNN_SUCCESS) x->sync_ready = 1;
  if (st != CLNN_SUCCESS) {
    x->nlocal = 0; /* (no worker holds anything yet) */
    clnn__x_destroy(x);
    return st;
  }
  uint64_t sig0 = 0;
  x->identical = 1;
  for (int k = 0; k < n; k++) {
    x_worker *w = &x->w[k];
    clnn_device_info info;
    clnn_device_info_init(&info);
    clnn_context_device_info(worker_ctx(x, m, k), &info);
    w->x = x;
    w->global = k;
    w->signature = clnn__nn_device_signature(&info);
    if (k == 0) sig0 = w->signature;
    else if (w->signature != sig0) x->identical = 0;
    if (info.platform_index >= 0)
      snprintf(w->label, sizeof w->label, "device %d (%d:%d %s)", k, info.platform_index,
               info.device_index, info.name);
    else snprintf(w->label, sizeof w->label, "device %d (%s)", k, info.name);
  }
  x->w[0].m = m;
  for (int k = 1; k < n && st == CLNN_SUCCESS; k++) {
    st = clnn__m_replicate(m, worker_ctx(x, m, k), &x->w[k].m, fn);
    if (st != CLNN_SUCCESS) {
      char keep[X_MSG];
      snprintf(keep, sizeof keep, "%s", clnn_last_error());
      st = clnn__error(st, "%s: creating the replica on %s: %s", fn, x->w[k].label, keep);
    }
  }
  if (st != CLNN_SUCCESS) {
    clnn__x_destroy(x);
    return st;
  }
  clnn__m_set_executor(m, x);
  return CLNN_SUCCESS;
}

/* The flat layout of this step (the trained set can change between steps) and its buffers. */
static clnn_status layout(clnn__x *x, clnn_model *m) {
  size_t np = clnn__m_count(m);
  if (np != x->nparams || !x->off) {
    free_state_copies(x);
    free(x->off);
    free(x->items);
    free(x->item_of_param);
    x->off = calloc(np ? np : 1, sizeof(size_t));
    x->items = calloc(np + 1, sizeof(x_item));
    x->item_of_param = calloc(np ? np : 1, sizeof(int));
    x->state_copy = calloc(np ? np : 1, sizeof(clnn_tensor *));
    x->nparams = np;
    int ok = x->off && x->items && x->item_of_param && x->state_copy;
    for (int k = 0; k < x->nlocal; k++) {
      x_worker *w = &x->w[k];
      size_t nobj = (size_t)clnn__m_objective_parts(w->m);
      free(w->pass_scratch);
      free(w->obj_parts);
      free(w->obj_ev);
      w->pass_scratch = calloc(2 * (np ? np : 1), sizeof(int));
      w->obj_parts = calloc(nobj, sizeof(float));
      w->obj_ev = calloc(nobj, sizeof(cl_event));
      ok = ok && w->pass_scratch && w->obj_parts && w->obj_ev;
    }
    if (!ok) {
      x->nparams = 0;
      return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate the gradient layout");
    }
  }
  size_t o = 0;
  for (size_t i = 0; i < np; i++) {
    clnn__mref r = clnn__m_ref(m, i);
    if (r.trainable && !r.state) {
      x->off[i] = o;
      o += r.numel;
    }
  }
  x->state_off = o;
  for (size_t i = 0; i < np; i++) {
    clnn__mref r = clnn__m_ref(m, i);
    if (r.state) {
      x->off[i] = o;
      o += r.numel;
    }
  }
  x->loss_off = o;
  x->flat_n = o + 1;
  /* read-back order: backward finishes the last parameters first; then state and objective */
  int ni = 0;
  for (size_t i = np; i-- > 0;) {
    clnn__mref r = clnn__m_ref(m, i);
    x->item_of_param[i] = -1;
    if (!r.trainable || r.state) continue;
    x->items[ni] = (x_item){(int)i, x->off[i], r.numel};
    x->item_of_param[i] = ni++;
  }
  x->ntrain_items = ni;
  for (size_t i = 0; i < np; i++) {
    clnn__mref r = clnn__m_ref(m, i);
    if (!r.state) continue;
    x->items[ni] = (x_item){(int)i, x->off[i], r.numel};
    x->item_of_param[i] = ni++;
  }
  x->items[ni++] = (x_item){-1, x->loss_off, 1};
  x->nitems = ni;
  if (x->flat_n <= x->cap_n && x->sum) return CLNN_SUCCESS;
  free(x->sum);
  free(x->state_before);
  x->cap_n = 0;
  x->sum = calloc(x->flat_n, sizeof(float));
  x->state_before = calloc(x->flat_n, sizeof(float));
  if (!x->sum || !x->state_before)
    return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate %zu floats for gradients",
                       x->flat_n);
  for (int k = 0; k < x->nlocal; k++) {
    x_worker *w = &x->w[k];
    free(w->host);
    free(w->ev);
    w->host = calloc(x->flat_n, sizeof(float));
    w->ev = calloc(np + 1, sizeof(cl_event));
    if (!w->host || !w->ev)
      return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate %zu floats for %s's "
                         "gradients", x->flat_n, w->label);
  }
  x->cap_n = x->flat_n;
  return CLNN_SUCCESS;
}

/* ---- rollback ---- */

/* Puts every replica back as it was before the step: state from the host copy, and (when the
 * update had started) values and optimizer slots from the device copies. */
static void rollback(clnn__x *x, int restore_values, clnn__mcount c) {
  /* replica 0's state before the step, from its device copies */
  clnn_model *m0 = x->w[0].m;
  clnn_status read = clnn__context_finish(clnn__m_context(m0));
  for (size_t i = 0; i < clnn__m_count(m0) && read == CLNN_SUCCESS; i++)
    if (clnn__m_ref(m0, i).state)
      read = x->state_copy[i] ? clnn_tensor_read(x->state_copy[i], x->state_before + x->off[i],
                                                 clnn__m_ref(m0, i).numel)
                              : CLNN_ERROR_INTERNAL;
  if (read != CLNN_SUCCESS) x->stale = 1; /* (no state to restore: refreshed next step) */
  for (int k = 0; k < x->nlocal; k++) {
    x_worker *w = &x->w[k];
    clnn_model *r = w->m;
    clnn_status st = clnn__context_finish(clnn__m_context(r));
    for (size_t i = 0; i < clnn__m_count(r); i++) {
      clnn__mref p = clnn__m_ref(r, i);
      if (p.state) {
        clnn_status s = read != CLNN_SUCCESS ? read
                        : clnn_tensor_write(p.value, x->state_before + x->off[i], p.numel);
        if (s != CLNN_SUCCESS) st = s;
      } else if (restore_values && w->backup && p.trainable) {
        clnn_tensor *dst[3] = {p.value, p.opt[0], p.opt[1]};
        for (int t = 0; t < 3; t++)
          if (dst[t] && w->backup[3 * i + (size_t)t]) {
            clnn_status s = clnn_tensor_copy(dst[t], w->backup[3 * i + (size_t)t]);
            if (s != CLNN_SUCCESS) st = s;
          }
      }
    }
    if (clnn__context_finish(clnn__m_context(r)) != CLNN_SUCCESS) st = CLNN_ERROR_OPENCL;
    clnn__m_set_counters(r, c);
    /* a replica that could not be restored is refreshed from the first one at the next step */
    if (st != CLNN_SUCCESS) x->stale = 1;
  }
}

/* Device copies of values and optimizer slots taken before the update. */
static clnn_status take_backup(x_worker *w) {
  clnn_model *r = w->m;
  size_t np = clnn__m_count(r);
  if (w->backup && w->nbackup != 3 * np) clnn__x_free_backups(w);
  if (!w->backup) {
    w->backup = calloc(3 * (np ? np : 1), sizeof(clnn_tensor *));
    if (!w->backup) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate backups");
    w->nbackup = 3 * np;
  }
  clnn_status st = CLNN_SUCCESS;
  for (size_t i = 0; i < np && st == CLNN_SUCCESS; i++) {
    clnn__mref p = clnn__m_ref(r, i);
    if (!p.trainable) continue;
    clnn_tensor *src[3] = {p.value, p.opt[0], p.opt[1]};
    for (int t = 0; t < 3 && st == CLNN_SUCCESS; t++) {
      clnn_tensor **b = &w->backup[3 * i + (size_t)t];
      if (!src[t]) continue;
      if (*b && clnn_tensor_numel(*b) != p.numel) {
        clnn_tensor_destroy(*b);
        *b = NULL;
      }
      if (!*b) st = clnn_tensor_create(clnn__m_context(r), p.ndim, p.dims, b);
      if (st == CLNN_SUCCESS) st = clnn_tensor_copy(*b, src[t]);
    }
  }
  return st;
}

/* ---- the step ---- */

static clnn_status fail_worker(const char *fn, const x_worker *w, int rank, int nranks) {
  char where[64] = "";
  if (nranks > 1) snprintf(where, sizeof where, "rank %d, ", rank);
  return clnn__error(w->st, "%s: %s%s failed: %s; the step was abandoned and the parameters are "
                     "as before it", fn, where, w->label, w->msg);
}

static void worker_failed(x_worker *w, clnn_status st) {
  w->st = st;
  snprintf(w->msg, sizeof w->msg, "%s", clnn_last_error());
}

/* Agreement across ranks on the step (no-op without MPI). v: stale, N, -N, apply, -apply,
 * refusing rank + 1. */
static clnn_status agree(clnn__x *x, int *stale, size_t batch, int apply, int bad,
                         const char *fn) {
  if (!x->mpi) return CLNN_SUCCESS;
  long long v[6] = {*stale, (long long)batch, -(long long)batch, apply, -apply,
                    bad ? x->rank + 1 : 0};
  clnn_status st = clnn__mpi_max(x->mpi, v, 6);
  if (st != CLNN_SUCCESS) return st;
  if (bad) return CLNN_ERROR_INVALID_ARGUMENT; /* the caller keeps its own message */
  if (v[5])
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: rank %lld could not start the step (see "
                       "its error); no rank trained", fn, v[5] - 1);
  if (v[1] != -v[2])
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: the ranks disagree on the batch size "
                       "(from %lld to %lld samples); every rank must pass the same global batch",
                       fn, -v[2], v[1]);
  if (v[3] != -v[4])
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: some ranks train (a training step) "
                       "while others only compute gradients", fn);
  *stale = (int)v[0];
  return CLNN_SUCCESS;
}

/* Every rank learns whether any failed; the first failing rank's error (in rank order) becomes
 * everyone's. `st` and `msg`: this rank's result. */
static clnn_status agree_failure(clnn__x *x, clnn_status st, const char *msg) {
  if (!x->mpi) return st;
  long long bad = st != CLNN_SUCCESS;
  clnn_status ms = clnn__mpi_max(x->mpi, &bad, 1);
  if (ms != CLNN_SUCCESS) return ms;
  if (!bad) return CLNN_SUCCESS;
  typedef struct {
    int32_t status;
    char msg[X_MSG - 4];
  } rec;
  rec mine;
  memset(&mine, 0, sizeof mine);
  mine.status = (int32_t)st;
  if (st != CLNN_SUCCESS) snprintf(mine.msg, sizeof mine.msg, "%s", msg);
  rec *all = calloc((size_t)x->nranks, sizeof(rec));
  if (!all) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate error records");
  ms = clnn__mpi_allgather(x->mpi, &mine, sizeof mine, all);
  clnn_status out = st != CLNN_SUCCESS ? st : CLNN_ERROR_INTERNAL;
  if (ms == CLNN_SUCCESS) {
    for (int r = 0; r < x->nranks; r++)
      if (all[r].status != CLNN_SUCCESS) {
        all[r].msg[sizeof all[r].msg - 1] = 0;
        out = r == x->rank ? st : (clnn_status)all[r].status;
        if (r != x->rank || st == CLNN_SUCCESS) clnn__error(out, "%s", all[r].msg);
        else clnn__error(out, "%s", msg);
        break;
      }
  } else {
    out = ms;
  }
  free(all);
  return out;
}

/* Runs every local device on its share and sums their read-backs into x->sum. On a device
 * failure returns its error (naming it); the caller rolls back. */
static clnn_status run_devices(clnn__x *x, const clnn_feed *feeds, int num_feeds, size_t batch,
                               const char *fn) {
  size_t first = 0;
  for (int g = 0; g < x->first_global; g++) first += x->counts[g];
  double wgt[CLNN_MAX_SET_DEVICES];
  for (int k = 0; k < x->nlocal; k++) {
    x_worker *w = &x->w[k];
    w->n = x->counts[x->first_global + k];
    w->offset = first;
    w->num_feeds = num_feeds;
    for (int i = 0; i < num_feeds; i++) w->feeds[i] = clnn__m_slice(w->m, &feeds[i], first, w->n);
    first += w->n;
    w->fn = fn;
    w->progress = 0;
    w->done = 0;
    w->st = CLNN_SUCCESS;
    w->msg[0] = 0;
    w->seconds = 0;
    wgt[k] = (double)w->n / (double)batch;
  }
  /* The first step builds the kernels: one device after another (compilers and the on-disk
   * cache are then never used by two threads at once). Afterwards one thread per device, started
   * once and kept: each step hands them a new generation. */
  int threads = x->nlocal > 1 && x->steps > 0;
  if (threads) {
    pthread_mutex_lock(&x->mu);
    for (int k = 0; k < x->nlocal; k++) {
      x_worker *w = &x->w[k];
      if (!w->threaded) {
        w->seen = x->gen;
        w->threaded = pthread_create(&w->thread, NULL, clnn__x_worker_loop, w) == 0;
      }
    }
    x->gen++;
    pthread_cond_broadcast(&x->go);
    pthread_mutex_unlock(&x->mu);
    for (int k = 0; k < x->nlocal; k++)
      if (!x->w[k].threaded) clnn__x_worker_run(&x->w[k]); /* no thread to be had: run it here */
  } else {
    for (int k = 0; k < x->nlocal; k++) clnn__x_worker_run(&x->w[k]);
  }
  /* Sum each item as soon as every device has read it back, in device order, in double. */
  int failed = 0;
  pthread_mutex_lock(&x->mu);
  for (int j = 0; j < x->nitems && !failed; j++) {
    for (;;) {
      int all = 1;
      for (int k = 0; k < x->nlocal; k++) {
        const x_worker *w = &x->w[k];
        if (w->done && w->st != CLNN_SUCCESS) failed = 1;
        if (w->progress <= j) all = 0;
      }
      if (failed || all) break;
      pthread_cond_wait(&x->cv, &x->mu);
    }
    if (failed) break;
    pthread_mutex_unlock(&x->mu);
    const x_item *it = &x->items[j];
    for (size_t e = it->off; e < it->off + it->len; e++) {
      double acc = 0.0;
      for (int k = 0; k < x->nlocal; k++)
        if (x->w[k].n) acc += wgt[k] * (double)x->w[k].host[e];
      x->sum[e] = (float)acc;
    }
    pthread_mutex_lock(&x->mu);
  }
  for (int k = 0; k < x->nlocal; k++) /* every worker has ended its step */
    while (!x->w[k].done) pthread_cond_wait(&x->cv, &x->mu);
  pthread_mutex_unlock(&x->mu);
  for (int k = 0; k < x->nlocal; k++)
    if (x->w[k].st != CLNN_SUCCESS) return fail_worker(fn, &x->w[k], x->rank, x->nranks);
  return CLNN_SUCCESS;
}

/* Writes the summed gradients and the state into every replica; no wait. */
static clnn_status write_back(clnn__x *x) {
  for (int k = 0; k < x->nlocal; k++) {
    x_worker *w = &x->w[k];
    for (size_t i = 0; i < clnn__m_count(w->m); i++) {
      if (x->item_of_param[i] < 0) continue;
      clnn__mref p = clnn__m_ref(w->m, i);
      clnn_status st = clnn__tensor_write_async(p.state ? p.value : p.grad, x->sum + x->off[i]);
      if (st != CLNN_SUCCESS) {
        worker_failed(w, st);
        return st;
      }
    }
  }
  x->loss = x->sum[x->loss_off];
  return CLNN_SUCCESS;
}

/* Flushes every queue, then waits for each: devices finish concurrently. */
static clnn_status finish_all(clnn__x *x) {
  for (int k = 0; k < x->nlocal; k++) clnn__context_flush(clnn__m_context(x->w[k].m));
  for (int k = 0; k < x->nlocal; k++) {
    x_worker *w = &x->w[k];
    clnn_status st = clnn__context_finish(clnn__m_context(w->m));
    if (st != CLNN_SUCCESS && w->st == CLNN_SUCCESS) worker_failed(w, st);
  }
  for (int k = 0; k < x->nlocal; k++)
    if (x->w[k].st != CLNN_SUCCESS) return x->w[k].st;
  return CLNN_SUCCESS;
}

/* The optimizer update on every replica (or, for devices that differ, on the first device of
 * rank 0, whose values and optimizer state are then copied everywhere). */
static clnn_status apply_update(clnn__x *x) {
  clnn_status st = CLNN_SUCCESS;
  for (int k = 0; k < x->nlocal && st == CLNN_SUCCESS; k++) {
    x_worker *w = &x->w[k];
    st = take_backup(w);
    if (st == CLNN_SUCCESS && w->fault == X_FAULT_APPLY) {
      w->fault = X_FAULT_NONE;
      st = clnn__cl_error(w->fault_err, "clEnqueueNDRangeKernel (optimizer update, injected "
                          "fault)");
    }
    if (st == CLNN_SUCCESS && (x->identical || w->global == 0)) st = clnn__m_step(w->m);
    if (st != CLNN_SUCCESS) worker_failed(w, st);
  }
  if (x->identical) return st;
  /* devices differ: copy the first device's result (every rank takes part even after a local
   * failure, so that no rank waits for another in the broadcast) */
  clnn_model *m0 = x->w[0].m;
  size_t n = clnn__x_image_numel(m0);
  if (n > x->image_cap || !x->image) { /* kept across steps */
    free(x->image);
    x->image_cap = 0;
    x->image = malloc((n ? n : 1) * sizeof(float));
    if (x->image) x->image_cap = n;
  }
  float *buf = x->image;
  if (!buf && st == CLNN_SUCCESS)
    st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate %zu floats", n);
  if (st == CLNN_SUCCESS && x->w[0].global == 0) {
    st = clnn__x_image_io(m0, buf, 1);
    if (st != CLNN_SUCCESS) worker_failed(&x->w[0], st);
  }
  if (x->mpi) {
    long long bad = st != CLNN_SUCCESS;
    clnn_status ms = clnn__mpi_max(x->mpi, &bad, 1);
    if (ms == CLNN_SUCCESS && !bad) ms = clnn__mpi_bcast(x->mpi, buf, n * sizeof(float));
    if (st == CLNN_SUCCESS && ms == CLNN_SUCCESS && bad)
      ms = clnn__error(CLNN_ERROR_OPENCL, "another rank failed its update (see its error)");
    if (st == CLNN_SUCCESS) st = ms;
  }
  for (int k = 0; k < x->nlocal && st == CLNN_SUCCESS; k++) {
    x_worker *w = &x->w[k];
    if (w->global == 0) continue;
    clnn__m_set_counters(w->m, clnn__m_counters(m0)); /* the slots follow the first device */
    st = clnn__x_image_io(w->m, buf, 0);
    if (st != CLNN_SUCCESS) worker_failed(w, st);
  }
  return st;
}

/* The update on every replica with the step's bookkeeping: a failure on any device (or rank)
 * restores every replica's values, slots and state. */
static clnn_status apply_all(clnn__x *x, clnn__mcount c0, const char *fn) {
  for (int k = 0; k < x->nlocal; k++) x->w[k].st = CLNN_SUCCESS;
  clnn_status st = apply_update(x);
  clnn_status fs = finish_all(x);
  if (st == CLNN_SUCCESS) st = fs;
  if (st != CLNN_SUCCESS)
    for (int k = 0; k < x->nlocal; k++)
      if (x->w[k].st != CLNN_SUCCESS) {
        (void)fail_worker(fn, &x->w[k], x->rank, x->nranks);
        break;
      }
  char msg[X_MSG];
  snprintf(msg, sizeof msg, "%s", st != CLNN_SUCCESS ? clnn_last_error() : "");
  st = agree_failure(x, st, msg);
  if (st != CLNN_SUCCESS) {
    snprintf(msg, sizeof msg, "%s", clnn_last_error());
    rollback(x, 1, c0);
    return clnn__error(st, "%s", msg);
  }
  return CLNN_SUCCESS;
}

/* Device copies of replica 0's state (what a failed step puts back), enqueued before the step's
 * pass on its queue: no wait. */
static clnn_status save_state(clnn__x *x, clnn_model *m) {
  clnn_status st = CLNN_SUCCESS;
  for (size_t i = 0; i < clnn__m_count(m) && st == CLNN_SUCCESS; i++) {
    clnn__mref p = clnn__m_ref(m, i);
    if (!p.state) continue;
    clnn_tensor **c = &x->state_copy[i];
    if (*c && clnn_tensor_numel(*c) != p.numel) {
      clnn_tensor_destroy(*c);
      *c = NULL;
    }
    if (!*c) st = clnn_tensor_create(clnn__m_context(m), p.ndim, p.dims, c);
    if (st == CLNN_SUCCESS) st = clnn_tensor_copy(*c, p.value);
  }
  return st;
}

/* clnn_model_set_check_finite on the reduced vector, which the host already holds: the objective
 * and every trained gradient, in parameter order (what clnn__m_check_finite checks on one
 * device, with its messages). */
static clnn_status check_sums_finite(clnn__x *x, clnn_model *m, const char *fn) {
  if (!isfinite(x->loss))
    return clnn__error(CLNN_ERROR_NOT_FINITE, "%s: the objective is %g: training diverged (lower "
                       "the learning rate, clip gradients); nothing was updated", fn,
                       (double)x->loss);
  for (size_t i = 0; i < x->nparams; i++) {
    int j = x->item_of_param[i];
    if (j < 0 || j >= x->ntrain_items) continue;
    const x_item *it = &x->items[j];
    for (size_t e = 0; e < it->len; e++)
      if (!isfinite(x->sum[it->off + e]))
        return clnn__error(CLNN_ERROR_NOT_FINITE, "%s: the gradient of '%s' holds %g at element "
                           "%zu: training diverged (lower the learning rate, clip gradients); "
                           "nothing was updated", fn, clnn__m_param_name(m, i),
                           (double)x->sum[it->off + e], e);
  }
  return CLNN_SUCCESS;
}

clnn_status clnn__x_train(clnn_model *m, const clnn_feed *feeds, int num_feeds, size_t batch,
                          int apply, float *loss, clnn_status pre, const char *fn) {
  clnn__x *x = clnn__m_executor(m);
  clnn_status st = pre != CLNN_SUCCESS ? pre : clnn__m_check(m, feeds, num_feeds, batch, fn);
  if (st == CLNN_SUCCESS) st = layout(x, m);
  int stale = x->stale;
  if (st == CLNN_SUCCESS) st = clnn__x_check_exposed(x, &stale);
  /* every rank takes part in the agreement, even one whose arguments were refused */
  clnn_status ag = agree(x, &stale, batch, apply, st != CLNN_SUCCESS, fn);
  if (st != CLNN_SUCCESS) return st;
  if (ag != CLNN_SUCCESS) return ag;
  clnn__log(CLNN_LOG_DEBUG, "%s: %zu samples over %d device(s)", fn, batch, x->nglobal);
  st = clnn__x_sync(x, stale);
  if (stale) {
    char keep[X_MSG];
    snprintf(keep, sizeof keep, "%s", st != CLNN_SUCCESS ? clnn_last_error() : "");
    if (st != CLNN_SUCCESS) {
      char where[32] = "";
      if (x->mpi) snprintf(where, sizeof where, "rank %d: ", x->rank);
      st = clnn__error(st, "%s: %scopying the parameters to every device failed: %s", fn, where,
                       keep);
    }
    snprintf(keep, sizeof keep, "%s", st != CLNN_SUCCESS ? clnn_last_error() : "");
    st = agree_failure(x, st, keep);
    if (st != CLNN_SUCCESS) return st;
  }
  clnn__mcount c0 = clnn__m_counters(m);
  for (int k = 1; k < x->nlocal && st == CLNN_SUCCESS; k++)
    st = clnn__m_copy_settings(x->w[k].m, m);
  if (st == CLNN_SUCCESS) st = save_state(x, m);
  char msg[X_MSG];
  snprintf(msg, sizeof msg, "%s", st != CLNN_SUCCESS ? clnn_last_error() : "");
  st = agree_failure(x, st, msg);
  if (st != CLNN_SUCCESS) return st;
  if (x->mode != CLNN_SPLIT_FIXED && !x->measured)
    for (int g = 0; g < x->nglobal; g++) x->shares[g] = 1.0 / x->nglobal;
  clnn__nn_split_counts(x->shares, x->nglobal, batch, x->counts);

  st = run_devices(x, feeds, num_feeds, batch, fn);
  snprintf(msg, sizeof msg, "%s", st != CLNN_SUCCESS ? clnn_last_error() : "");
  st = agree_failure(x, st, msg);
  if (st == CLNN_SUCCESS && x->mpi) st = clnn__mpi_sum(x->mpi, x->sum, x->flat_n);
  if (st != CLNN_SUCCESS) {
    snprintf(msg, sizeof msg, "%s", clnn_last_error());
    rollback(x, 0, c0);
    return clnn__error(st, "%s", msg);
  }
  /* every device succeeded: write the sums back (and apply the update). A training step without
   * MPI waits once, after the update (apply_all): an error of the write-back surfaces there and
   * rolls the update back; otherwise the write-back is waited for here. */
  for (int k = 0; k < x->nlocal; k++) x->w[k].st = CLNN_SUCCESS;
  st = write_back(x);
  clnn_status fs = CLNN_SUCCESS;
  if (!apply || x->mpi || st != CLNN_SUCCESS) fs = finish_all(x);
  if (st == CLNN_SUCCESS) st = fs;
  if (st != CLNN_SUCCESS)
    for (int k = 0; k < x->nlocal; k++)
      if (x->w[k].st != CLNN_SUCCESS) {
        (void)fail_worker(fn, &x->w[k], x->rank, x->nranks);
        break;
      }
  snprintf(msg, sizeof msg, "%s", st != CLNN_SUCCESS ? clnn_last_error() : "");
  st = agree_failure(x, st, msg);
  if (st != CLNN_SUCCESS) {
    snprintf(msg, sizeof msg, "%s", clnn_last_error());
    rollback(x, 0, c0);
    return clnn__error(st, "%s", msg);
  }
  clnn__mcount c1 = clnn__m_counters(m); /* replica 0 counted its forward: all agree */
  c1.forwards = c0.forwards + 1;
  for (int k = 0; k < x->nlocal; k++) clnn__m_set_counters(x->w[k].m, c1);
  if (apply && clnn__m_checks_finite(m)) {
    st = check_sums_finite(x, m, fn);
    snprintf(msg, sizeof msg, "%s", st != CLNN_SUCCESS ? clnn_last_error() : "");
    st = agree_failure(x, st, msg);
    if (st != CLNN_SUCCESS) {
      snprintf(msg, sizeof msg, "%s", clnn_last_error());
      rollback(x, 0, c0);
      return clnn__error(st, "%s", msg);
    }
  }
  if (apply) {
    st = apply_all(x, c0, fn);
    if (st != CLNN_SUCCESS) return st;
  }
  if (loss) *loss = x->loss;
  st = clnn__x_measure_update(x);
  x->steps++;
  return st;
}

clnn_status clnn__x_apply(clnn_model *m, const char *fn) {
  clnn__x *x = clnn__m_executor(m);
  clnn_status st = layout(x, m);
  if (st == CLNN_SUCCESS) st = save_state(x, m);
  if (st != CLNN_SUCCESS) return st;
  return apply_all(x, clnn__m_counters(m), fn);
}
