/* src/nn/parallel_api.c — the public settings of data-parallel networks (device count, how
 * batches are split), joining MPI, the internal test hooks, and the MPI entry points of builds
 * without MPI. */
#define _POSIX_C_SOURCE 200809L
#include "nn/parallel.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- split settings and inspection ---- */

int clnn_net_num_devices(const clnn_net *net) {
  if (!net) return 0;
  return net->par ? net->par->nglobal : 1;
}

clnn_status clnn_net_set_split(clnn_net *net, clnn_split_mode mode, const double *weights,
                               int count) {
  const char *fn = "clnn_net_set_split";
  if (!net) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: net is NULL", fn);
  if ((int)mode < CLNN_SPLIT_AUTO || (int)mode > CLNN_SPLIT_FIXED)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: unknown mode %d", fn, (int)mode);
  int W = clnn_net_num_devices(net);
  if (mode != CLNN_SPLIT_FIXED) {
    if (weights || count)
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: only CLNN_SPLIT_FIXED takes weights "
                         "(pass NULL and 0)", fn);
  } else {
    if (!weights) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: weights is NULL", fn);
    if (count != W)
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: count is %d but the network trains on "
                         "%d device(s)", fn, count, W);
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
  if (!net->par) return CLNN_SUCCESS; /* one device: it takes every sample */
  clnn__nn_par *par = net->par;
  par->mode = mode;
  par->measured = 0;
  par->meas_from = par->steps > PAR_MEASURE_FIRST ? par->steps : PAR_MEASURE_FIRST;
  for (int k = 0; k < par->nlocal; k++) par->meas_n[k] = par->meas_t[k] = 0;
  double total = 0;
  if (mode == CLNN_SPLIT_FIXED)
    for (int g = 0; g < W; g++) total += weights[g];
  for (int g = 0; g < W; g++) {
    par->weights[g] = mode == CLNN_SPLIT_FIXED ? weights[g] : 0;
    par->shares[g] = mode == CLNN_SPLIT_FIXED ? weights[g] / total : 1.0 / W;
  }
  return CLNN_SUCCESS;
}

clnn_status clnn_net_get_split(const clnn_net *net, double *shares, int count, int *measured) {
  const char *fn = "clnn_net_get_split";
  if (!net || !shares)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn, !net ? "net" : "shares");
  int W = clnn_net_num_devices(net);
  if (count != W)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: count is %d but the network trains on "
                       "%d device(s)", fn, count, W);
  if (!net->par) {
    shares[0] = 1.0;
    if (measured) *measured = 0;
    return CLNN_SUCCESS;
  }
  for (int g = 0; g < W; g++) shares[g] = net->par->shares[g];
  if (measured) *measured = net->par->measured;
  return CLNN_SUCCESS;
}

/* ---- MPI ---- */

clnn_status clnn_net_set_mpi(clnn_net *net, const void *comm) {
  const char *fn = "clnn_net_set_mpi";
  if (!net) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: net is NULL", fn);
  if (net->par && net->par->mpi)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: the network is already joined to MPI", fn);
  clnn__mpi *m = NULL;
  int rank = 0, size = 1;
  clnn_status st = clnn__mpi_attach(comm, &m, &rank, &size);
  if (st != CLNN_SUCCESS) return st;
  /* local preparation; its outcome is shared so that every rank fails or none does */
  clnn_status local = clnn__nn_finalize(net);
  int created = 0;
  if (local == CLNN_SUCCESS && !net->par) {
    local = clnn__par_create(net, NULL);
    created = local == CLNN_SUCCESS;
  }
  char msg[PAR_MSG];
  snprintf(msg, sizeof msg, "%s", local != CLNN_SUCCESS ? clnn_last_error() : "");
  typedef struct {
    int32_t status, count;
    uint64_t sig[CLNN_MAX_SET_DEVICES];
  } rec;
  rec mine;
  memset(&mine, 0, sizeof mine);
  mine.status = (int32_t)local;
  if (local == CLNN_SUCCESS) {
    mine.count = net->par->nlocal;
    for (int k = 0; k < net->par->nlocal; k++) mine.sig[k] = net->par->w[k].signature;
  }
  rec *all = calloc((size_t)size, sizeof(rec));
  if (!all) st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "%s: out of host memory", fn);
  /* (an allocation failure here leaves the other ranks waiting in the gather: MPI reports it) */
  if (st == CLNN_SUCCESS) st = clnn__mpi_allgather(m, &mine, sizeof mine, all);
  if (st == CLNN_SUCCESS) {
    for (int r = 0; r < size; r++)
      if (all[r].status != CLNN_SUCCESS) {
        st = r == rank ? clnn__error(local, "%s: %s", fn, msg)
                       : clnn__error((clnn_status)all[r].status, "%s: rank %d could not prepare "
                                     "the network (see its error)", fn, r);
        break;
      }
  }
  if (st == CLNN_SUCCESS) {
    clnn__nn_par *par = net->par;
    int W = 0, first = 0, maxl = 0, identical = 1;
    for (int r = 0; r < size; r++) {
      if (r == rank) first = W;
      W += all[r].count;
      if (all[r].count > maxl) maxl = all[r].count;
      for (int k = 0; k < all[r].count; k++)
        if (all[r].sig[k] != all[0].sig[0]) identical = 0;
    }
    st = clnn__par_alloc_global(par, W);
    int *rc = st == CLNN_SUCCESS ? calloc((size_t)size, sizeof(int)) : NULL;
    if (st == CLNN_SUCCESS && !rc) st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "%s: out of host memory", fn);
    if (st == CLNN_SUCCESS) {
      free(par->rank_count);
      par->rank_count = rc;
      par->mpi = m;
      m = NULL;
      par->rank = rank;
      par->nranks = size;
      par->first_global = first;
      par->max_local = maxl;
      par->identical = identical;
      for (int k = 0; k < par->nlocal; k++) par->w[k].global = first + k;
      for (int r = 0; r < size; r++) par->rank_count[r] = all[r].count;
      net->replicas_stale = 1;
    }
  }
  free(all);
  if (st != CLNN_SUCCESS) {
    clnn__mpi_detach(m);
    if (created) clnn__nn_par_destroy(net);
  }
  return st;
}

clnn_status clnn_net_mpi_rank(const clnn_net *net, int *rank, int *size) {
  if (!net) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_mpi_rank: net is NULL");
  int mine = net->par && net->par->mpi;
  if (rank) *rank = mine ? net->par->rank : 0;
  if (size) *size = mine ? net->par->nranks : 1;
  return CLNN_SUCCESS;
}

/* ---- test hooks ---- */

static par_worker *hook_worker(clnn_net *net, int device) {
  if (!net || !net->par || device < 0 || device >= net->par->nlocal) return NULL;
  return &net->par->w[device];
}

clnn_status clnn__nn_par_inject_fault(clnn_net *net, int device, int phase, cl_int err) {
  par_worker *w = hook_worker(net, device);
  if (!w || phase < PAR_FAULT_NONE || phase > PAR_FAULT_APPLY)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn__nn_par_inject_fault: no device %d or "
                       "phase %d", device, phase);
  w->fault = phase;
  w->fault_err = err;
  return CLNN_SUCCESS;
}

clnn_status clnn__nn_par_set_delay(clnn_net *net, int device, double seconds) {
  par_worker *w = hook_worker(net, device);
  if (!w || !(seconds >= 0))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn__nn_par_set_delay: no device %d", device);
  w->delay = seconds;
  return CLNN_SUCCESS;
}

clnn_net *clnn__nn_par_replica(clnn_net *net, int device) {
  par_worker *w = hook_worker(net, device);
  return w ? w->net : NULL;
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
  return no_mpi("clnn_net_set_mpi");
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
