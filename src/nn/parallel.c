/* src/nn/parallel.c — data-parallel training of one network over the devices of a device set and
 * (with src/nn/mpi.c) over MPI ranks.
 *
 * One replica of the network per local device (replica 0 is the network the caller holds). A
 * step: check the whole batch; agree with the other ranks (batch size, apply, whether anything
 * changed outside training); copy the first replica's (rank 0's) parameters and optimizer state
 * to the others when something did; split the batch into contiguous shares; every device runs
 * forward and backward on its share in its own host thread, reading each layer's parameter
 * gradients back to host memory (non-blocking) as soon as that layer's backward is enqueued; the
 * calling thread sums each parameter's gradients as soon as every device has delivered them, in
 * device order, weighted by share/batch, in double (deterministic whatever the timing); MPI ranks
 * then add their sums in rank order (mpi.c); the sum is written to every replica, and only then
 * does every replica apply the optimizer (after a device copy of the parameters and optimizer
 * state that a failure restores). Batch-norm running statistics travel with the gradients and
 * become the share-weighted mean of the replicas' values. */
#define _POSIX_C_SOURCE 200809L
#include "nn_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/parallel.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static clnn_context *worker_ctx(const clnn__nn_par *par, const clnn_net *net, int k) {
  return par->set ? clnn_device_set_context(par->set, k) : net->ctx;
}

/* ---- creation and destruction ---- */

void clnn__par_free_backups(clnn_net *net, par_worker *w) {
  if (!w->backup) return;
  for (size_t i = 0; i < 3 * net->num_params; i++) clnn_tensor_destroy(w->backup[i]);
  free(w->backup);
  w->backup = NULL;
}

void clnn__nn_par_destroy(clnn_net *net) {
  clnn__nn_par *par = net ? net->par : NULL;
  if (!par) return;
  for (int k = 0; k < par->nlocal; k++) {
    par_worker *w = &par->w[k];
    if (w->net) clnn__par_free_backups(w->net, w);
    if (k > 0) clnn_net_destroy(w->net);
    free(w->host);
    free(w->ev);
  }
  if (par->sync_ready) {
    pthread_mutex_destroy(&par->mu);
    pthread_cond_destroy(&par->cv);
  }
  clnn__mpi_detach(par->mpi);
  free(par->w);
  free(par->off);
  free(par->items);
  free(par->item_of_param);
  free(par->sum);
  free(par->state_before);
  free(par->weights);
  free(par->shares);
  free(par->counts);
  free(par->meas_n);
  free(par->meas_t);
  free(par->rank_count);
  free(par);
  net->par = NULL;
}

/* Per-global-device arrays for nglobal devices, equal shares. */
clnn_status clnn__par_alloc_global(clnn__nn_par *par, int nglobal) {
  double *wt = calloc((size_t)nglobal, sizeof(double));
  double *sh = calloc((size_t)nglobal, sizeof(double));
  size_t *ct = calloc((size_t)nglobal, sizeof(size_t));
  if (!wt || !sh || !ct) {
    free(wt);
    free(sh);
    free(ct);
    return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate the device split");
  }
  free(par->weights);
  free(par->shares);
  free(par->counts);
  par->weights = wt;
  par->shares = sh;
  par->counts = ct;
  par->nglobal = nglobal;
  for (int g = 0; g < nglobal; g++) par->shares[g] = 1.0 / (double)nglobal;
  par->mode = CLNN_SPLIT_AUTO;
  par->measured = 0;
  par->meas_from = par->steps > PAR_MEASURE_FIRST ? par->steps : PAR_MEASURE_FIRST;
  return CLNN_SUCCESS;
}

/* The data-parallel state for `set` (NULL: the network's own context only). */
clnn_status clnn__par_create(clnn_net *net, clnn_device_set *set) {
  int n = set ? clnn_device_set_size(set) : 1;
  clnn__nn_par *par = calloc(1, sizeof *par);
  if (!par) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate the data-parallel state");
  par->set = set;
  par->nlocal = n;
  par->nranks = 1;
  par->max_local = n;
  par->w = calloc((size_t)n, sizeof *par->w);
  par->meas_n = calloc((size_t)n, sizeof(double));
  par->meas_t = calloc((size_t)n, sizeof(double));
  clnn_status st = (!par->w || !par->meas_n || !par->meas_t)
                       ? clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate the data-parallel state")
                       : clnn__par_alloc_global(par, n);
  if (st != CLNN_SUCCESS) {
    free(par->w);
    free(par->meas_n);
    free(par->meas_t);
    free(par->weights);
    free(par->shares);
    free(par->counts);
    free(par);
    return st;
  }
  uint64_t sig0 = 0;
  par->identical = 1;
  for (int k = 0; k < n; k++) {
    par_worker *w = &par->w[k];
    clnn_device_info info;
    clnn_device_info_init(&info);
    clnn_context_device_info(worker_ctx(par, net, k), &info);
    w->par = par;
    w->global = k;
    w->signature = clnn__nn_device_signature(&info);
    if (k == 0) sig0 = w->signature;
    else if (w->signature != sig0) par->identical = 0;
    if (info.platform_index >= 0)
      snprintf(w->label, sizeof w->label, "device %d (%d:%d %s)", k, info.platform_index,
               info.device_index, info.name);
    else snprintf(w->label, sizeof w->label, "device %d (%s)", k, info.name);
  }
  par->w[0].net = net;
  net->par = par;
  net->replicas_stale = 1;
  return CLNN_SUCCESS;
}

clnn_status clnn_net_create_parallel(clnn_device_set *set, int ndim, const size_t *input_dims,
                                     uint64_t seed, clnn_net **out) {
  if (!set || !out)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_create_parallel: %s is NULL",
                       !set ? "set" : "out");
  if (clnn_device_set_size(set) < 1)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_create_parallel: the set is empty");
  clnn_net *net = NULL;
  clnn_status st = clnn_net_create(clnn_device_set_context(set, 0), ndim, input_dims, seed, &net);
  if (st != CLNN_SUCCESS) return st;
  st = clnn__par_create(net, set);
  if (st != CLNN_SUCCESS) {
    clnn_net_destroy(net);
    return st;
  }
  *out = net;
  return CLNN_SUCCESS;
}

/* A replica of the finalised network `net` on ctx: the same layers, settings and seed. */
static clnn_status make_replica(clnn_net *net, clnn_context *ctx, clnn_net **out) {
  clnn_net *r = NULL;
  clnn_status st = clnn_net_create(ctx, net->in_ndim, net->in_dims, net->seed, &r);
  if (st != CLNN_SUCCESS) return st;
  r->layers = malloc((size_t)net->num_layers * sizeof *r->layers);
  if (!r->layers) {
    clnn_net_destroy(r);
    return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate a replica's layers");
  }
  memcpy(r->layers, net->layers, (size_t)net->num_layers * sizeof *r->layers);
  r->num_layers = r->cap_layers = net->num_layers;
  r->input_seq = net->input_seq;
  r->loss = net->loss;
  r->opt = net->opt;
  st = clnn__nn_finalize(r);
  if (st != CLNN_SUCCESS) {
    clnn_net_destroy(r);
    return st;
  }
  *out = r;
  return CLNN_SUCCESS;
}

/* Finalises the network, makes the replicas, the flat layout and the host buffers (once). */
static clnn_status par_prepare(clnn_net *net) {
  clnn__nn_par *par = net->par;
  if (par->ready) return CLNN_SUCCESS;
  clnn_status st = clnn__nn_finalize(net);
  if (st != CLNN_SUCCESS) return st;
  for (int k = 1; k < par->nlocal && st == CLNN_SUCCESS; k++) {
    if (par->w[k].net) continue;
    st = make_replica(net, worker_ctx(par, net, k), &par->w[k].net);
    if (st != CLNN_SUCCESS) {
      char keep[PAR_MSG];
      snprintf(keep, sizeof keep, "%s", clnn_last_error());
      st = clnn__error(st, "creating the replica on %s: %s", par->w[k].label, keep);
    }
  }
  if (st != CLNN_SUCCESS) return st;
  size_t np = net->num_params;
  free(par->off);
  free(par->items);
  free(par->item_of_param);
  par->off = calloc(np ? np : 1, sizeof(size_t));
  par->items = calloc(np + 1, sizeof(par_item));
  par->item_of_param = calloc(np ? np : 1, sizeof(int));
  if (!par->off || !par->items || !par->item_of_param)
    return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate the gradient layout");
  size_t o = 0;
  for (size_t i = 0; i < np; i++)
    if (net->params[i].trainable) {
      par->off[i] = o;
      o += net->params[i].numel;
    }
  par->state_off = o;
  for (size_t i = 0; i < np; i++)
    if (!net->params[i].trainable) {
      par->off[i] = o;
      o += net->params[i].numel;
    }
  par->loss_off = o;
  par->flat_n = o + 1;
  /* read-back order: the order backward finishes layers (last first), then state and loss */
  int ni = 0;
  for (int l = net->num_layers - 1; l >= 0; l--)
    for (int j = 0; j < net->layers[l].num_params; j++) {
      int p = net->layers[l].pidx[j];
      if (!net->params[p].trainable) continue;
      par->items[ni] = (par_item){p, par->off[p], net->params[p].numel};
      par->item_of_param[p] = ni++;
    }
  par->ntrain_items = ni;
  for (size_t i = 0; i < np; i++)
    if (!net->params[i].trainable) {
      par->items[ni] = (par_item){(int)i, par->off[i], net->params[i].numel};
      par->item_of_param[i] = ni++;
    }
  par->items[ni++] = (par_item){-1, par->loss_off, 1};
  par->nitems = ni;
  free(par->sum);
  free(par->state_before);
  par->sum = calloc(par->flat_n, sizeof(float));
  par->state_before = calloc(par->flat_n, sizeof(float));
  if (!par->sum || !par->state_before)
    return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate %zu floats for gradients",
                       par->flat_n);
  for (int k = 0; k < par->nlocal; k++) {
    par_worker *w = &par->w[k];
    free(w->host);
    free(w->ev);
    w->host = calloc(par->flat_n, sizeof(float));
    w->ev = calloc((size_t)par->nitems, sizeof(cl_event));
    if (!w->host || !w->ev)
      return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate %zu floats for %s's "
                         "gradients", par->flat_n, w->label);
  }
  if (!par->sync_ready) {
    if (pthread_mutex_init(&par->mu, NULL) != 0)
      return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot create a mutex");
    if (pthread_cond_init(&par->cv, NULL) != 0) {
      pthread_mutex_destroy(&par->mu);
      return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot create a condition variable");
    }
    par->sync_ready = 1;
  }
  clnn__log(CLNN_LOG_DEBUG, "data-parallel network: %d local device(s), %d in all, %zu floats "
            "reduced per step", par->nlocal, par->nglobal, par->flat_n);
  par->ready = 1;
  return CLNN_SUCCESS;
}

/* ---- the split ---- */

static int measuring(const clnn__nn_par *par) {
  if (par->measured) return 0;
  return par->mode == CLNN_SPLIT_MEASURE || (par->mode == CLNN_SPLIT_AUTO && !par->identical);
}

/* After a successful step: accumulate the speeds and, at the end of the window, set the shares
 * (the same on every rank: the speeds are gathered and the arithmetic is the same). */
static clnn_status measure_update(clnn__nn_par *par) {
  if (!measuring(par)) return CLNN_SUCCESS;
  uint64_t s = par->steps; /* this step's index */
  if (s < par->meas_from) return CLNN_SUCCESS;
  for (int k = 0; k < par->nlocal; k++) {
    par->meas_n[k] += (double)par->w[k].n;
    par->meas_t[k] += par->w[k].seconds;
  }
  if (s + 1 < par->meas_from + PAR_MEASURE_STEPS) return CLNN_SUCCESS;
  double *speed = calloc((size_t)par->nglobal + (size_t)par->max_local * (size_t)par->nranks + 1,
                         sizeof(double));
  if (!speed) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate device speeds");
  double *all = speed + par->nglobal;
  double local[CLNN_MAX_SET_DEVICES] = {0};
  for (int k = 0; k < par->nlocal; k++)
    local[k] = par->meas_t[k] > 0 ? par->meas_n[k] / par->meas_t[k] : 0;
  clnn_status st = CLNN_SUCCESS;
  if (par->mpi) {
    st = clnn__mpi_allgather(par->mpi, local, (size_t)par->max_local * sizeof(double), all);
    /* rank r's devices are all[r * max_local ...]; their global indices follow rank order */
    int g = 0;
    for (int r = 0; r < par->nranks && st == CLNN_SUCCESS; r++)
      for (int k = 0; k < par->rank_count[r] && g < par->nglobal; k++)
        speed[g++] = all[(size_t)r * (size_t)par->max_local + (size_t)k];
  } else {
    for (int k = 0; k < par->nlocal; k++) speed[k] = local[k];
  }
  if (st == CLNN_SUCCESS) {
    double total = 0;
    for (int g = 0; g < par->nglobal; g++) total += speed[g];
    for (int g = 0; g < par->nglobal; g++)
      par->shares[g] = total > 0 ? speed[g] / total : 1.0 / par->nglobal;
    par->measured = 1;
    clnn__log(CLNN_LOG_INFO, "data-parallel split measured over %d steps: first device %.3f of "
              "each batch", PAR_MEASURE_STEPS, par->shares[0]);
  }
  free(speed);
  return st;
}

/* ---- one device's step (in its own thread, or inline) ---- */

static void publish(par_worker *w, int progress, int done) {
  clnn__nn_par *par = w->par;
  pthread_mutex_lock(&par->mu);
  if (progress >= 0) w->progress = progress;
  if (done) w->done = 1;
  pthread_cond_broadcast(&par->cv);
  pthread_mutex_unlock(&par->mu);
}

static clnn_status read_item(par_worker *w, int j) {
  clnn__nn_par *par = w->par;
  const par_item *it = &par->items[j];
  clnn_tensor *t;
  if (it->param < 0) t = w->net->loss_t;
  else {
    clnn__nn_param *p = &w->net->params[it->param];
    t = p->trainable ? p->grad : p->value;
  }
  cl_int err = clEnqueueReadBuffer(w->net->ctx->queue, clnn_tensor_cl_mem(t), CL_FALSE, 0,
                                   it->len * sizeof(float), w->host + it->off, 0, NULL, &w->ev[j]);
  if (err != CL_SUCCESS) {
    w->ev[j] = NULL;
    return clnn__cl_error(err, "clEnqueueReadBuffer (gradient read-back)");
  }
  return CLNN_SUCCESS;
}

/* After layer `layer`'s backward: read its parameter gradients back. */
static clnn_status after_layer(void *user, int layer) {
  par_worker *w = user;
  clnn__nn_par *par = w->par;
  if (w->fault == PAR_FAULT_BACKWARD) {
    w->fault = PAR_FAULT_NONE;
    return clnn__cl_error(w->fault_err, "clEnqueueNDRangeKernel (backward, injected fault)");
  }
  const clnn__nn_layer *l = &w->net->layers[layer];
  for (int j = 0; j < l->num_params; j++) {
    int p = l->pidx[j];
    if (!w->net->params[p].trainable) continue;
    clnn_status st = read_item(w, par->item_of_param[p]);
    if (st != CLNN_SUCCESS) return st;
  }
  return CLNN_SUCCESS;
}

static void *worker_run(void *arg) {
  par_worker *w = arg;
  clnn__nn_par *par = w->par;
  clnn_net *r = w->net;
  double t0 = now_s();
  clnn_status st = CLNN_SUCCESS;
  int enqueued = 0;
  for (int j = 0; j < par->nitems; j++) w->ev[j] = NULL;
  if (w->n > 0) {
    size_t in_numel = clnn__nn_prod(r->in_ndim, r->in_dims);
    const clnn__nn_layer *last = &r->layers[r->num_layers - 1];
    size_t out_numel = clnn__nn_prod(last->out_ndim, last->out_dims);
    size_t rows = out_numel / last->out_dims[last->out_ndim - 1]; /* labels per sample */
    r->sample_offset = w->offset;
    st = clnn__nn_train_pass(r, w->x + w->offset * in_numel, w->n,
                             w->labels ? w->labels + w->offset * rows : NULL,
                             w->targets ? w->targets + w->offset * out_numel : NULL, after_layer,
                             w, w->fn);
    for (int j = par->ntrain_items; j < par->nitems && st == CLNN_SUCCESS; j++)
      st = read_item(w, j);
    if (st == CLNN_SUCCESS) {
      cl_int err = clFlush(r->ctx->queue);
      if (err != CL_SUCCESS) st = clnn__cl_error(err, "clFlush");
    }
    enqueued = 1; /* (also after a failed pass: some reads may be in flight) */
    for (int j = 0; j < par->nitems && st == CLNN_SUCCESS; j++) {
      cl_int err = clWaitForEvents(1, &w->ev[j]);
      if (err == CL_SUCCESS) {
        cl_int exec = CL_COMPLETE;
        clGetEventInfo(w->ev[j], CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof exec, &exec, NULL);
        if (exec < 0) err = exec;
      }
      if (err == CL_SUCCESS && w->fault == PAR_FAULT_READBACK && j == par->ntrain_items / 2) {
        w->fault = PAR_FAULT_NONE;
        err = w->fault_err;
        st = clnn__cl_error(err, "clWaitForEvents (gradient read-back, injected fault)");
        break;
      }
      if (err != CL_SUCCESS) {
        st = clnn__cl_error(err, "clWaitForEvents (gradient read-back)");
        break;
      }
      publish(w, j + 1, 0);
    }
  }
  if (st != CLNN_SUCCESS && enqueued) clFinish(r->ctx->queue); /* nothing left writing */
  for (int j = 0; j < par->nitems; j++)
    if (w->ev[j]) {
      clReleaseEvent(w->ev[j]);
      w->ev[j] = NULL;
    }
  if (w->delay > 0) {
    struct timespec ts = {(time_t)w->delay, (long)((w->delay - floor(w->delay)) * 1e9)};
    nanosleep(&ts, NULL);
  }
  w->seconds = now_s() - t0;
  w->st = st;
  if (st != CLNN_SUCCESS) snprintf(w->msg, sizeof w->msg, "%s", clnn_last_error());
  else w->msg[0] = 0;
  publish(w, st == CLNN_SUCCESS ? par->nitems : -1, 1);
  return NULL;
}

/* ---- rollback ---- */

/* Puts every replica back as it was before the step: state from the host copy, and (when the
 * update had started) values and optimizer state from the device copies. */
static void rollback(clnn_net *net, int restore_values, uint64_t step, uint64_t forwards) {
  clnn__nn_par *par = net->par;
  int ns = clnn__par_num_slots(net);
  for (int k = 0; k < par->nlocal; k++) {
    par_worker *w = &par->w[k];
    clnn_net *r = w->net;
    clnn_status st = CLNN_SUCCESS;
    clFinish(r->ctx->queue);
    for (size_t i = 0; i < r->num_params; i++) {
      clnn__nn_param *p = &r->params[i];
      if (!p->trainable) {
        clnn_status s = clnn_tensor_write(p->value, par->state_before + par->off[i], p->numel);
        if (s != CLNN_SUCCESS) st = s;
      } else if (restore_values && w->backup) {
        clnn_tensor *dst[3] = {p->value, ns > 0 ? p->opt[0] : NULL, ns > 1 ? p->opt[1] : NULL};
        for (int t = 0; t < 3; t++)
          if (dst[t] && w->backup[3 * i + (size_t)t]) {
            clnn_status s = clnn_tensor_copy(dst[t], w->backup[3 * i + (size_t)t]);
            if (s != CLNN_SUCCESS) st = s;
          }
      }
    }
    if (clFinish(r->ctx->queue) != CL_SUCCESS) st = CLNN_ERROR_OPENCL;
    r->step = step;
    r->train_forwards = forwards;
    r->sample_offset = 0;
    /* a replica that could not be restored is refreshed from the first one at the next step */
    if (st != CLNN_SUCCESS) net->replicas_stale = 1;
  }
}

/* Device copies of values and optimizer slots taken before the update. */
static clnn_status take_backup(clnn_net *r, par_worker *w) {
  int ns = clnn__par_num_slots(r);
  if (!w->backup) {
    w->backup = calloc(3 * (r->num_params ? r->num_params : 1), sizeof(clnn_tensor *));
    if (!w->backup) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate backups");
  }
  clnn_status st = CLNN_SUCCESS;
  for (size_t i = 0; i < r->num_params && st == CLNN_SUCCESS; i++) {
    clnn__nn_param *p = &r->params[i];
    if (!p->trainable) continue;
    clnn_tensor *src[3] = {p->value, ns > 0 ? p->opt[0] : NULL, ns > 1 ? p->opt[1] : NULL};
    for (int t = 0; t < 3 && st == CLNN_SUCCESS; t++) {
      clnn_tensor **b = &w->backup[3 * i + (size_t)t];
      if (!src[t]) continue;
      if (!*b) st = clnn_tensor_create(r->ctx, p->ndim, p->dims, b);
      if (st == CLNN_SUCCESS) st = clnn_tensor_copy(*b, src[t]);
    }
  }
  return st;
}

/* ---- the step ---- */

static clnn_status fail_worker(const char *fn, const par_worker *w, int rank, int nranks) {
  char where[64] = "";
  if (nranks > 1) snprintf(where, sizeof where, "rank %d, ", rank);
  return clnn__error(w->st, "%s: %s%s failed: %s; the step was abandoned and the parameters are "
                     "as before it", fn, where, w->label, w->msg);
}

/* Agreement across ranks on the step (no-op without MPI). v: stale, N, -N, apply, -apply,
 * refusing rank + 1. */
static clnn_status agree(clnn__nn_par *par, int *stale, size_t batch, int apply, int bad,
                         const char *fn) {
  if (!par->mpi) return CLNN_SUCCESS;
  long long v[6] = {*stale, (long long)batch, -(long long)batch, apply, -apply,
                    bad ? par->rank + 1 : 0};
  clnn_status st = clnn__mpi_max(par->mpi, v, 6);
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
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: some ranks train (clnn_net_train_step) "
                       "while others only compute gradients", fn);
  *stale = (int)v[0];
  return CLNN_SUCCESS;
}

/* Every rank learns whether any failed; the first failing rank's error (in rank order) becomes
 * everyone's. `st` and `msg`: this rank's result. */
static clnn_status agree_failure(clnn__nn_par *par, clnn_status st, const char *msg,
                                 const char *fn) {
  if (!par->mpi) return st;
  long long bad = st != CLNN_SUCCESS;
  clnn_status ms = clnn__mpi_max(par->mpi, &bad, 1);
  if (ms != CLNN_SUCCESS) return ms;
  if (!bad) return CLNN_SUCCESS;
  typedef struct {
    int32_t status;
    char msg[PAR_MSG - 4];
  } rec;
  rec mine;
  memset(&mine, 0, sizeof mine);
  mine.status = (int32_t)st;
  if (st != CLNN_SUCCESS) snprintf(mine.msg, sizeof mine.msg, "%s", msg);
  rec *all = calloc((size_t)par->nranks, sizeof(rec));
  if (!all) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate error records");
  ms = clnn__mpi_allgather(par->mpi, &mine, sizeof mine, all);
  clnn_status out = st != CLNN_SUCCESS ? st : CLNN_ERROR_INTERNAL;
  if (ms == CLNN_SUCCESS) {
    for (int r = 0; r < par->nranks; r++)
      if (all[r].status != CLNN_SUCCESS) {
        all[r].msg[sizeof all[r].msg - 1] = 0;
        out = r == par->rank ? st : (clnn_status)all[r].status;
        if (r != par->rank || st == CLNN_SUCCESS) clnn__error(out, "%s", all[r].msg);
        else clnn__error(out, "%s", msg);
        break;
      }
  } else {
    out = ms;
  }
  free(all);
  (void)fn;
  return out;
}

/* Runs every local device on its share and sums their read-backs into par->sum. On a device
 * failure returns its error (naming it); the caller rolls back. */
static clnn_status run_devices(clnn_net *net, const float *x, const int32_t *labels,
                               const float *targets, size_t batch, const char *fn) {
  clnn__nn_par *par = net->par;
  size_t first = 0;
  for (int g = 0; g < par->first_global; g++) first += par->counts[g];
  double wgt[CLNN_MAX_SET_DEVICES];
  for (int k = 0; k < par->nlocal; k++) {
    par_worker *w = &par->w[k];
    w->n = par->counts[par->first_global + k];
    w->offset = first;
    first += w->n;
    w->x = x;
    w->labels = labels;
    w->targets = targets;
    w->fn = fn;
    w->progress = 0;
    w->done = 0;
    w->st = CLNN_SUCCESS;
    w->msg[0] = 0;
    w->threaded = 0;
    w->seconds = 0;
    wgt[k] = (double)w->n / (double)batch;
  }
  /* The first step builds the kernels: one device after another (compilers and the on-disk
   * cache are then never used by two threads at once). Afterwards one thread per device. */
  int threads = par->nlocal > 1 && par->steps > 0;
  if (threads) {
    for (int k = 0; k < par->nlocal; k++) {
      par_worker *w = &par->w[k];
      w->threaded = pthread_create(&w->thread, NULL, worker_run, w) == 0;
      if (!w->threaded) worker_run(w); /* no thread to be had: run it here */
    }
  } else {
    for (int k = 0; k < par->nlocal; k++) worker_run(&par->w[k]);
  }
  /* Sum each item as soon as every device has read it back, in device order, in double. */
  int failed = 0;
  pthread_mutex_lock(&par->mu);
  for (int j = 0; j < par->nitems && !failed; j++) {
    for (;;) {
      int all = 1;
      for (int k = 0; k < par->nlocal; k++) {
        const par_worker *w = &par->w[k];
        if (w->done && w->st != CLNN_SUCCESS) failed = 1;
        if (w->progress <= j) all = 0;
      }
      if (failed || all) break;
      pthread_cond_wait(&par->cv, &par->mu);
    }
    if (failed) break;
    pthread_mutex_unlock(&par->mu);
    const par_item *it = &par->items[j];
    for (size_t e = it->off; e < it->off + it->len; e++) {
      double acc = 0.0;
      for (int k = 0; k < par->nlocal; k++)
        if (par->w[k].n) acc += wgt[k] * (double)par->w[k].host[e];
      par->sum[e] = (float)acc;
    }
    pthread_mutex_lock(&par->mu);
  }
  pthread_mutex_unlock(&par->mu);
  for (int k = 0; k < par->nlocal; k++)
    if (par->w[k].threaded) pthread_join(par->w[k].thread, NULL);
  for (int k = 0; k < par->nlocal; k++)
    if (par->w[k].st != CLNN_SUCCESS) return fail_worker(fn, &par->w[k], par->rank, par->nranks);
  return CLNN_SUCCESS;
}

/* Writes the summed gradients (and the state, and the loss) into every replica; no wait. */
static clnn_status write_back(clnn_net *net) {
  clnn__nn_par *par = net->par;
  for (int k = 0; k < par->nlocal; k++) {
    par_worker *w = &par->w[k];
    clnn_net *r = w->net;
    for (size_t i = 0; i < r->num_params; i++) {
      clnn__nn_param *p = &r->params[i];
      clnn_tensor *t = p->trainable ? p->grad : p->value;
      cl_int err = clEnqueueWriteBuffer(r->ctx->queue, clnn_tensor_cl_mem(t), CL_FALSE, 0,
                                        p->numel * sizeof(float), par->sum + par->off[i], 0, NULL,
                                        NULL);
      if (err != CL_SUCCESS) {
        clnn__cl_error(err, "clEnqueueWriteBuffer (summed gradients)");
        snprintf(w->msg, sizeof w->msg, "%s", clnn_last_error());
        w->st = CLNN_ERROR_OPENCL;
        return CLNN_ERROR_OPENCL;
      }
    }
    if (k == 0) {
      cl_int err = clEnqueueWriteBuffer(r->ctx->queue, clnn_tensor_cl_mem(r->loss_t), CL_FALSE, 0,
                                        sizeof(float), par->sum + par->loss_off, 0, NULL, NULL);
      if (err != CL_SUCCESS) {
        clnn__cl_error(err, "clEnqueueWriteBuffer (loss)");
        snprintf(w->msg, sizeof w->msg, "%s", clnn_last_error());
        w->st = CLNN_ERROR_OPENCL;
        return CLNN_ERROR_OPENCL;
      }
    }
  }
  return CLNN_SUCCESS;
}

/* Flushes every queue, then waits for each: devices finish concurrently. */
static clnn_status finish_all(clnn__nn_par *par) {
  for (int k = 0; k < par->nlocal; k++) clFlush(par->w[k].net->ctx->queue);
  for (int k = 0; k < par->nlocal; k++) {
    par_worker *w = &par->w[k];
    cl_int err = clFinish(w->net->ctx->queue);
    if (err != CL_SUCCESS && w->st == CLNN_SUCCESS) {
      clnn__cl_error(err, "clFinish");
      snprintf(w->msg, sizeof w->msg, "%s", clnn_last_error());
      w->st = CLNN_ERROR_OPENCL;
    }
  }
  for (int k = 0; k < par->nlocal; k++)
    if (par->w[k].st != CLNN_SUCCESS) return par->w[k].st;
  return CLNN_SUCCESS;
}

/* The optimizer update on every replica (or, for devices that differ, on the first device of
 * rank 0, whose values and optimizer state are then copied everywhere). */
static clnn_status apply_update(clnn_net *net) {
  clnn__nn_par *par = net->par;
  clnn_status st = CLNN_SUCCESS;
  for (int k = 0; k < par->nlocal && st == CLNN_SUCCESS; k++) {
    par_worker *w = &par->w[k];
    st = take_backup(w->net, w);
    if (st == CLNN_SUCCESS && w->fault == PAR_FAULT_APPLY) {
      w->fault = PAR_FAULT_NONE;
      st = clnn__cl_error(w->fault_err, "clEnqueueNDRangeKernel (optimizer update, injected "
                          "fault)");
    }
    if (st == CLNN_SUCCESS && (par->identical || w->global == 0))
      st = clnn__nn_optimizer_step(w->net);
    if (st != CLNN_SUCCESS) {
      w->st = st;
      snprintf(w->msg, sizeof w->msg, "%s", clnn_last_error());
    }
  }
  if (par->identical) return st;
  /* devices differ: copy the first device's result (every rank takes part even after a local
   * failure, so that no rank waits for another in the broadcast) */
  size_t n = clnn__par_image_numel(net, 1, 1);
  float *buf = malloc((n ? n : 1) * sizeof(float));
  if (!buf && st == CLNN_SUCCESS) st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate %zu floats", n);
  if (st == CLNN_SUCCESS && par->w[0].global == 0) {
    st = clnn__par_image_io(net, buf, 1, 1, 1);
    if (st != CLNN_SUCCESS) {
      par->w[0].st = st;
      snprintf(par->w[0].msg, sizeof par->w[0].msg, "%s", clnn_last_error());
    }
  }
  if (par->mpi) {
    long long bad = st != CLNN_SUCCESS;
    clnn_status ms = clnn__mpi_max(par->mpi, &bad, 1);
    if (ms == CLNN_SUCCESS && !bad) ms = clnn__mpi_bcast(par->mpi, buf, n * sizeof(float));
    if (st == CLNN_SUCCESS && ms == CLNN_SUCCESS && bad)
      ms = clnn__error(CLNN_ERROR_OPENCL, "another rank failed its update (see its error)");
    if (st == CLNN_SUCCESS) st = ms;
  }
  for (int k = 0; k < par->nlocal && st == CLNN_SUCCESS; k++) {
    par_worker *w = &par->w[k];
    if (w->global == 0) continue;
    w->net->step = net->step; /* the slots follow the first device's step count */
    st = clnn__par_image_io(w->net, buf, 1, 1, 0);
    if (st != CLNN_SUCCESS) {
      w->st = st;
      snprintf(w->msg, sizeof w->msg, "%s", clnn_last_error());
    }
  }
  free(buf);
  return st;
}

clnn_status clnn__nn_par_train(clnn_net *net, const float *x, size_t x_count, size_t batch,
                               const int32_t *labels, size_t labels_count, const float *targets,
                               size_t targets_count, int apply, const char *fn) {
  clnn__nn_par *par = net->par;
  clnn_status st = clnn__nn_check_train_args(net, x, x_count, batch, labels, labels_count, targets,
                                             targets_count, fn);
  if (st == CLNN_SUCCESS) st = par_prepare(net);
  int stale = net->replicas_stale;
  for (int k = 1; k < par->nlocal && par->ready; k++) stale |= par->w[k].net->replicas_stale;
  if (st == CLNN_SUCCESS) st = clnn__par_check_exposed(net, &stale);
  /* every rank takes part in the agreement, even one whose arguments were refused */
  clnn_status ag = agree(par, &stale, batch, apply, st != CLNN_SUCCESS, fn);
  if (st != CLNN_SUCCESS) return st;
  if (ag != CLNN_SUCCESS) return ag;
  clnn__log(CLNN_LOG_DEBUG, "%s: %zu samples over %d device(s)", fn, batch, par->nglobal);
  st = clnn__par_sync(net, stale);
  if (stale) {
    char keep[PAR_MSG];
    snprintf(keep, sizeof keep, "%s", st != CLNN_SUCCESS ? clnn_last_error() : "");
    if (st != CLNN_SUCCESS) {
      char where[32] = "";
      if (par->mpi) snprintf(where, sizeof where, "rank %d: ", par->rank);
      st = clnn__error(st, "%s: %scopying the parameters to every device failed: %s", fn, where,
                       keep);
    }
    snprintf(keep, sizeof keep, "%s", st != CLNN_SUCCESS ? clnn_last_error() : "");
    st = agree_failure(par, st, keep, fn);
    if (st != CLNN_SUCCESS) return st;
  }
  uint64_t step0 = net->step, fwd0 = net->train_forwards;
  for (int k = 1; k < par->nlocal; k++) clnn__par_copy_settings(par->w[k].net, net);
  net->sample_offset = 0;
  if (par->mode != CLNN_SPLIT_FIXED && !par->measured)
    for (int g = 0; g < par->nglobal; g++) par->shares[g] = 1.0 / par->nglobal;
  clnn__nn_split_counts(par->shares, par->nglobal, batch, par->counts);

  st = run_devices(net, x, labels, targets, batch, fn);
  char msg[PAR_MSG];
  snprintf(msg, sizeof msg, "%s", st != CLNN_SUCCESS ? clnn_last_error() : "");
  st = agree_failure(par, st, msg, fn);
  if (st == CLNN_SUCCESS && par->mpi) st = clnn__mpi_sum(par->mpi, par->sum, par->flat_n);
  if (st != CLNN_SUCCESS) {
    snprintf(msg, sizeof msg, "%s", clnn_last_error());
    rollback(net, 0, step0, fwd0);
    return clnn__error(st, "%s", msg);
  }

  /* every device succeeded: write the sums back and apply the update */
  for (int k = 0; k < par->nlocal; k++) par->w[k].st = CLNN_SUCCESS;
  st = write_back(net);
  if (st == CLNN_SUCCESS && apply) st = apply_update(net);
  clnn_status fs = finish_all(par);
  if (st == CLNN_SUCCESS) st = fs;
  if (st != CLNN_SUCCESS) {
    for (int k = 0; k < par->nlocal; k++)
      if (par->w[k].st != CLNN_SUCCESS) {
        (void)fail_worker(fn, &par->w[k], par->rank, par->nranks);
        break;
      }
  }
  snprintf(msg, sizeof msg, "%s", st != CLNN_SUCCESS ? clnn_last_error() : "");
  st = agree_failure(par, st, msg, fn);
  if (st != CLNN_SUCCESS) {
    snprintf(msg, sizeof msg, "%s", clnn_last_error());
    rollback(net, apply, step0, fwd0);
    return clnn__error(st, "%s", msg);
  }
  for (int k = 0; k < par->nlocal; k++) {
    clnn_net *r = par->w[k].net;
    r->step = apply ? step0 + 1 : step0;
    r->train_forwards = fwd0 + 1;
    r->sample_offset = 0;
  }
  memcpy(par->state_before + par->state_off, par->sum + par->state_off,
         (par->loss_off - par->state_off) * sizeof(float));
  st = measure_update(par);
  par->steps++;
  return st;
}
