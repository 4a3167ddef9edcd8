/* src/nn/exec_api.c — the public face of the multi-device executor for models: creation on a
 * device set, the device count, how batches are split, joining MPI, and the internal test hooks
 * (injected faults, delays, replicas, image copies). */
#define _POSIX_C_SOURCE 200809L
#include "nn/exec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

clnn_status clnn_model_create_parallel(clnn_device_set *set, const clnn_graph *g, uint64_t seed,
                                       clnn_model **out) {
  const char *fn = "clnn_model_create_parallel";
  if (!set || !g || !out)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: set, graph or out is NULL", fn);
  if (clnn_device_set_size(set) < 1)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: the set is empty", fn);
  clnn_model *m = NULL;
  clnn_status st = clnn__m_create(clnn_device_set_context(set, 0), &g->g, seed, &m, fn);
  if (st == CLNN_SUCCESS) st = clnn__x_create(m, set, fn);
  if (st != CLNN_SUCCESS) {
    clnn_model_destroy(m);
    return st;
  }
  *out = m;
  return CLNN_SUCCESS;
}

int clnn_model_num_devices(const clnn_model *m) {
  if (!m) return 0;
  clnn__x *x = clnn__m_executor(m);
  return x ? x->nglobal : 1;
}

void clnn__x_mark_stale(clnn__x *x) {
  if (x) x->stale = 1;
}

/* ---- split settings ---- */

/* Checks a split for W devices (`what` names the object in messages) and sets it on x (NULL:
 * one device, nothing to keep). */
clnn_status clnn__x_set_split(clnn__x *x, int W, clnn_split_mode mode, const double *weights,
                              int count, const char *what, const char *fn) {
  if ((int)mode < CLNN_SPLIT_AUTO || (int)mode > CLNN_SPLIT_FIXED)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: unknown mode %d", fn, (int)mode);
  if (mode != CLNN_SPLIT_FIXED) {
    if (weights || count)
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: only CLNN_SPLIT_FIXED takes weights "
                         "(pass NULL and 0)", fn);
  } else {
    if (!weights) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: weights is NULL", fn);
    if (count != W)
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: count is %d but the %s trains on "
                         "%d device(s)", fn, count, what, W);
    double total = 0;
    for (int g = 0; g < count; g++) {
      if (!(weights[g] >= 0) || !isfinite(weights[g]))
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: weights[%d] = %g must be finite and "
                           ">= 0", fn, g, weights[g]);
      total += weights[g];
    }
    if (!(total > 0) || !isfinite(total))
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: the weights sum to %g; at least one "
                         "must be > 0", fn, total);
  }
  if (!x) return CLNN_SUCCESS; /* one device: it takes every sample */
  x->mode = mode;
  x->measured = 0;
  x->meas_from = x->steps > X_MEASURE_FIRST ? x->steps : X_MEASURE_FIRST;
  for (int k = 0; k < x->nlocal; k++) x->meas_n[k] = x->meas_t[k] = 0;
  double total = 0;
  if (mode == CLNN_SPLIT_FIXED)
    for (int g = 0; g < W; g++) total += weights[g];
  for (int g = 0; g < W; g++) {
    x->weights[g] = mode == CLNN_SPLIT_FIXED ? weights[g] : 0;
    x->shares[g] = mode == CLNN_SPLIT_FIXED ? weights[g] / total : 1.0 / W;
  }
  return CLNN_SUCCESS;
}

clnn_status clnn__x_get_split(const clnn__x *x, int W, double *shares, int count, int *measured,
                              const char *what, const char *fn) {
  if (count != W)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: count is %d but the %s trains on "
                       "%d device(s)", fn, count, what, W);
  for (int g = 0; g < W; g++) shares[g] = x ? x->shares[g] : 1.0;
  if (measured) *measured = x ? x->measured : 0;
  return CLNN_SUCCESS;
}

clnn_status clnn_model_set_split(clnn_model *m, clnn_split_mode mode, const double *weights,
                                 int count) {
  const char *fn = "clnn_model_set_split";
  if (!m) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: model is NULL", fn);
  return clnn__x_set_split(clnn__m_executor(m), clnn_model_num_devices(m), mode, weights, count,
                           "model", fn);
}

clnn_status clnn_model_get_split(const clnn_model *m, double *shares, int count, int *measured) {
  const char *fn = "clnn_model_get_split";
  if (!m || !shares)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn, !m ? "model" : "shares");
  return clnn__x_get_split(clnn__m_executor(m), clnn_model_num_devices(m), shares, count,
                           measured, "model", fn);
}

/* ---- MPI ---- */

clnn_status clnn__x_join_mpi(clnn_model *m, const void *comm, const char *what, const char *fn) {
  clnn__x *x = clnn__m_executor(m);
  if (x && x->mpi)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: the %s is already joined to MPI", fn, what);
  clnn__mpi *mpi = NULL;
  int rank = 0, size = 1;
  clnn_status st = clnn__mpi_attach(comm, &mpi, &rank, &size);
  if (st != CLNN_SUCCESS) return st;
  /* local preparation; its outcome is shared so that every rank fails or none does */
  clnn_status local = CLNN_SUCCESS;
  int created = 0;
  if (!x) {
    local = clnn__x_create(m, NULL, fn);
    created = local == CLNN_SUCCESS;
    x = clnn__m_executor(m);
  }
  char msg[X_MSG];
  snprintf(msg, sizeof msg, "%s", local != CLNN_SUCCESS ? clnn_last_error() : "");
  typedef struct {
    int32_t status, count;
    uint64_t sig[CLNN_MAX_SET_DEVICES];
  } rec;
  rec mine;
  memset(&mine, 0, sizeof mine);
  mine.status = (int32_t)local;
  if (local == CLNN_SUCCESS) {
    mine.count = x->nlocal;
    for (int k = 0; k < x->nlocal; k++) mine.sig[k] = x->w[k].signature;
  }
  rec *all = calloc((size_t)size, sizeof(rec));
  if (!all) st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "%s: out of host memory", fn);
  /* (an allocation failure here leaves the other ranks waiting in the gather: MPI reports it) */
  if (st == CLNN_SUCCESS) st = clnn__mpi_allgather(mpi, &mine, sizeof mine, all);
  if (st == CLNN_SUCCESS) {
    for (int r = 0; r < size; r++)
      if (all[r].status != CLNN_SUCCESS) {
        st = r == rank ? clnn__error(local, "%s: %s", fn, msg)
                       : clnn__error((clnn_status)all[r].status, "%s: rank %d could not prepare "
                                     "the %s (see its error)", fn, r, what);
        break;
      }
  }
  if (st == CLNN_SUCCESS) {
    int W = 0, first = 0, maxl = 0, identical = 1;
    for (int r = 0; r < size; r++) {
      if (r == rank) first = W;
      W += all[r].count;
      if (all[r].count > maxl) maxl = all[r].count;
      for (int k = 0; k < all[r].count; k++)
        if (all[r].sig[k] != all[0].sig[0]) identical = 0;
    }
    st = clnn__x_alloc_global(x, W);
    int *rc = st == CLNN_SUCCESS ? calloc((size_t)size, sizeof(int)) : NULL;
    if (st == CLNN_SUCCESS && !rc)
      st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "%s: out of host memory", fn);
    if (st == CLNN_SUCCESS) {
      free(x->rank_count);
      x->rank_count = rc;
      x->mpi = mpi;
      mpi = NULL;
      x->rank = rank;
      x->nranks = size;
      x->first_global = first;
      x->max_local = maxl;
      x->identical = identical;
      for (int k = 0; k < x->nlocal; k++) x->w[k].global = first + k;
      for (int r = 0; r < size; r++) x->rank_count[r] = all[r].count;
      x->stale = 1;
    }
  }
  free(all);
  if (st != CLNN_SUCCESS) {
    clnn__mpi_detach(mpi);
    if (created) {
      clnn__x_destroy(x);
      clnn__m_set_executor(m, NULL);
    }
  }
  return st;
}

clnn_status clnn_model_set_mpi(clnn_model *m, const void *comm) {
  const char *fn = "clnn_model_set_mpi";
  if (!m) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: model is NULL", fn);
  return clnn__x_join_mpi(m, comm, "model", fn);
}

clnn_status clnn__x_mpi_rank(const clnn__x *x, int *rank, int *size) {
  int mine = x && x->mpi;
  if (rank) *rank = mine ? x->rank : 0;
  if (size) *size = mine ? x->nranks : 1;
  return CLNN_SUCCESS;
}

/* ---- test hooks (not API; tests declare them) ---- */

static x_worker *hook_worker(const clnn_model *m, int device) {
  clnn__x *x = m ? clnn__m_executor(m) : NULL;
  if (!x || device < 0 || device >= x->nlocal) return NULL;
  return &x->w[device];
}

clnn_status clnn__m_par_inject_fault(clnn_model *m, int device, int phase, cl_int err);
clnn_status clnn__m_par_inject_fault(clnn_model *m, int device, int phase, cl_int err) {
  x_worker *w = hook_worker(m, device);
  if (!w || phase < X_FAULT_NONE || phase > X_FAULT_APPLY)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn__m_par_inject_fault: no device %d or "
                       "phase %d", device, phase);
  w->fault = phase;
  w->fault_err = err;
  return CLNN_SUCCESS;
}

clnn_status clnn__m_par_set_delay(clnn_model *m, int device, double seconds);
clnn_status clnn__m_par_set_delay(clnn_model *m, int device, double seconds) {
  x_worker *w = hook_worker(m, device);
  if (!w || !(seconds >= 0))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn__m_par_set_delay: no device %d", device);
  w->delay = seconds;
  return CLNN_SUCCESS;
}

clnn_model *clnn__m_par_replica(clnn_model *m, int k);
clnn_model *clnn__m_par_replica(clnn_model *m, int k) {
  if (m && !clnn__m_executor(m)) return k == 0 ? m : NULL;
  x_worker *w = hook_worker(m, k);
  return w ? w->m : NULL;
}

uint64_t clnn__m_par_image_copies(const clnn_model *m);
uint64_t clnn__m_par_image_copies(const clnn_model *m) {
  clnn__x *x = m ? clnn__m_executor(m) : NULL;
  return x ? x->image_copies : 0;
}
