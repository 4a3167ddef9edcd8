/* src/nn/exec_api.c — the public face of the multi-device executor for models: creation on a
 * device set, the device count, joining MPI, and the internal test hooks
 * (injected faults, delays, replicas, image copies), and the MPI entry points of builds without
 * MPI. */
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

int clnn__x_num_devices(const clnn__x *x) { return x ? x->nglobal : 1; }

int clnn__x_joined_mpi(const clnn__x *x) { return x && x->mpi; }

void clnn__x_mark_stale(clnn__x *x) {
  if (x) x->stale = 1;
}

/* ---- MPI ---- */

clnn_status clnn__x_join_mpi(clnn_model *m, clnn_status pre, const void *comm, const char *what,
                             const char *fn) {
  clnn__x *x = m ? clnn__m_executor(m) : NULL;
  if (x && x->mpi)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: the %s is already joined to MPI", fn, what);
  clnn__mpi *mpi = NULL;
  int rank = 0, size = 1;
  clnn_status st = clnn__mpi_attach(comm, &mpi, &rank, &size);
  if (st != CLNN_SUCCESS) return st;
  /* local preparation; its outcome is shared so that every rank fails or none does */
  clnn_status local = pre;
  int created = 0;
  if (local == CLNN_SUCCESS && !x) {
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
  return clnn__x_join_mpi(m, CLNN_SUCCESS, comm, "model", fn);
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

/* ---- builds without MPI ---- */
#ifndef CLNN_WITH_MPI
static clnn_status no_mpi(const char *fn) {
  return clnn__error(CLNN_ERROR_UNSUPPORTED, "%s: this clnn was built without MPI (configure with "
                     "-DCLNN_WITH_MPI=ON and an MPI such as Open MPI installed)", fn);
}
int clnn_mpi_available(void) { return 0; }
clnn_status clnn_mpi_init(int *argc, char ***argv, int *rank, int *size) {
  (void)argc;
  (void)argv;
  if (rank) *rank = 0;
  if (size) *size = 1;
  return no_mpi("clnn_mpi_init");
}
clnn_status clnn_mpi_finalize(void) { return no_mpi("clnn_mpi_finalize"); }
clnn_status clnn__mpi_attach(const void *comm, clnn__mpi **out, int *rank, int *size) {
  (void)comm;
  *out = NULL;
  *rank = 0;
  *size = 1;
  return no_mpi("clnn_net_set_mpi / clnn_model_set_mpi");
}
void clnn__mpi_detach(clnn__mpi *m) { (void)m; }
clnn_status clnn__mpi_max(clnn__mpi *m, long long *v, int n) {
  (void)m, (void)v, (void)n;
  return no_mpi("MPI");
}
clnn_status clnn__mpi_allgather(clnn__mpi *m, const void *send, size_t bytes, void *recv) {
  (void)m, (void)send, (void)bytes, (void)recv;
  return no_mpi("MPI");
}
clnn_status clnn__mpi_bcast(clnn__mpi *m, void *buf, size_t bytes) {
  (void)m, (void)buf, (void)bytes;
  return no_mpi("MPI");
}
clnn_status clnn__mpi_sum(clnn__mpi *m, float *buf, size_t n) {
  (void)m, (void)buf, (void)n;
  return no_mpi("MPI");
}
#endif
