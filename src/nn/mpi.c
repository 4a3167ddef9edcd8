/* src/nn/mpi.c — the MPI side of data-parallel training (built only with -DCLNN_WITH_MPI=ON):
 * initialisation helpers, a private duplicate of the caller's communicator with errors returned
 * instead of fatal, and the collectives the multi-device executor (exec.c) uses. The gradient sum is deterministic: a
 * reduce-scatter written as MPI_Alltoallv (rank r receives slice r of every rank's vector) whose
 * slices each rank adds in rank order, in double, followed by MPI_Allgatherv of the summed
 * slices. Only data movement is left to MPI, so every rank gets the same bits whatever the
 * timing, the network or the MPI implementation (MPI_Allreduce's order of additions is not fixed
 * by the standard). Each rank sends and receives about 2 (P-1)/P of the vector, as a ring
 * all-reduce does. MPI failures are CLNN_ERROR_IO with MPI's error string. */
#include "nn_internal.h"

#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct clnn__mpi {
  MPI_Comm comm;
  int rank, size;
  float *recv; /* reduce-scatter scratch */
  size_t recv_cap;
};

#define SUM_SEGMENT ((size_t)1 << 26) /* floats per round: counts stay far below INT_MAX */
#define BCAST_SEGMENT ((size_t)1 << 30)

static int we_initialised = 0;

static clnn_status mpi_fail(int rc, const char *what) {
  char s[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(rc, s, &len) != MPI_SUCCESS) snprintf(s, sizeof s, "MPI error %d", rc);
  return clnn__error(CLNN_ERROR_IO, "%s failed: %s", what, s);
}

int clnn_mpi_available(void) { return 1; }

clnn_status clnn_mpi_init(int *argc, char ***argv, int *rank, int *size) {
  int inited = 0, finalized = 0;
  MPI_Initialized(&inited);
  MPI_Finalized(&finalized);
  if (finalized)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_mpi_init: MPI was already finalised");
  if (!inited) {
    int provided = 0;
    int rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "clnn_mpi_init: MPI_Init_thread");
    we_initialised = 1;
  }
  int r = 0, n = 1;
  int rc = MPI_Comm_rank(MPI_COMM_WORLD, &r);
  if (rc == MPI_SUCCESS) rc = MPI_Comm_size(MPI_COMM_WORLD, &n);
  if (rc != MPI_SUCCESS) return mpi_fail(rc, "clnn_mpi_init: MPI_Comm_rank/size");
  if (rank) *rank = r;
  if (size) *size = n;
  return CLNN_SUCCESS;
}

clnn_status clnn_mpi_finalize(void) {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!we_initialised || finalized) return CLNN_SUCCESS;
  we_initialised = 0;
  int rc = MPI_Finalize();
  if (rc != MPI_SUCCESS) return mpi_fail(rc, "clnn_mpi_finalize: MPI_Finalize");
  return CLNN_SUCCESS;
}

clnn_status clnn__mpi_attach(const void *comm, clnn__mpi **out, int *rank, int *size) {
  *out = NULL;
  int inited = 0, finalized = 0;
  MPI_Initialized(&inited);
  MPI_Finalized(&finalized);
  if (!inited || finalized)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_set_mpi: MPI is %s (call "
                       "clnn_mpi_init or MPI_Init first)", finalized ? "finalised" : "not initialised");
  MPI_Comm base = comm ? *(const MPI_Comm *)comm : MPI_COMM_WORLD;
  if (base == MPI_COMM_NULL)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_set_mpi: comm is MPI_COMM_NULL");
  clnn__mpi *m = calloc(1, sizeof *m);
  if (!m) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "clnn_net_set_mpi: out of host memory");
  int rc = MPI_Comm_dup(base, &m->comm);
  if (rc != MPI_SUCCESS) {
    free(m);
    return mpi_fail(rc, "clnn_net_set_mpi: MPI_Comm_dup");
  }
  MPI_Comm_set_errhandler(m->comm, MPI_ERRORS_RETURN);
  rc = MPI_Comm_rank(m->comm, &m->rank);
  if (rc == MPI_SUCCESS) rc = MPI_Comm_size(m->comm, &m->size);
  if (rc != MPI_SUCCESS) {
    MPI_Comm_free(&m->comm);
    free(m);
    return mpi_fail(rc, "clnn_net_set_mpi: MPI_Comm_rank/size");
  }
  *rank = m->rank;
  *size = m->size;
  *out = m;
  return CLNN_SUCCESS;
}

void clnn__mpi_detach(clnn__mpi *m) {
  if (!m) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Comm_free(&m->comm);
  free(m->recv);
  free(m);
}

clnn_status clnn__mpi_max(clnn__mpi *m, long long *v, int n) {
  int rc = MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_LONG_LONG, MPI_MAX, m->comm);
  return rc == MPI_SUCCESS ? CLNN_SUCCESS : mpi_fail(rc, "MPI_Allreduce (max)");
}

clnn_status clnn__mpi_allgather(clnn__mpi *m, const void *send, size_t bytes, void *recv) {
  if (bytes > INT_MAX)
    return clnn__error(CLNN_ERROR_INTERNAL, "MPI_Allgather of %zu bytes", bytes);
  int rc = MPI_Allgather(send, (int)bytes, MPI_BYTE, recv, (int)bytes, MPI_BYTE, m->comm);
  return rc == MPI_SUCCESS ? CLNN_SUCCESS : mpi_fail(rc, "MPI_Allgather");
}

clnn_status clnn__mpi_bcast(clnn__mpi *m, void *buf, size_t bytes) {
  for (size_t o = 0; o < bytes; o += BCAST_SEGMENT) {
    size_t n = bytes - o < BCAST_SEGMENT ? bytes - o : BCAST_SEGMENT;
    int rc = MPI_Bcast((char *)buf + o, (int)n, MPI_BYTE, 0, m->comm);
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Bcast");
  }
  return CLNN_SUCCESS;
}

clnn_status clnn__mpi_sum(clnn__mpi *m, float *buf, size_t n) {
  int P = m->size;
  if (P == 1) return CLNN_SUCCESS;
  int *cnt = calloc(4 * (size_t)P, sizeof(int));
  if (!cnt) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "MPI sum: out of host memory");
  int *dsp = cnt + P, *rcnt = cnt + 2 * P, *rdsp = cnt + 3 * P;
  clnn_status st = CLNN_SUCCESS;
  for (size_t base = 0; base < n && st == CLNN_SUCCESS; base += SUM_SEGMENT) {
    size_t len = n - base < SUM_SEGMENT ? n - base : SUM_SEGMENT;
    float *seg = buf + base;
    /* slice j of this segment: [len*j/P, len*(j+1)/P) */
    for (int j = 0; j < P; j++) {
      size_t a = len * (size_t)j / (size_t)P, b = len * (size_t)(j + 1) / (size_t)P;
      dsp[j] = (int)a;
      cnt[j] = (int)(b - a);
    }
    size_t mine = (size_t)cnt[m->rank];
    size_t need = mine * (size_t)P;
    if (need > m->recv_cap) {
      float *r = realloc(m->recv, (need ? need : 1) * sizeof(float));
      if (!r) {
        st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "MPI sum: cannot allocate %zu floats", need);
        break;
      }
      m->recv = r;
      m->recv_cap = need;
    }
    for (int i = 0; i < P; i++) {
      rcnt[i] = (int)mine;
      rdsp[i] = (int)(mine * (size_t)i);
    }
    int rc = MPI_Alltoallv(seg, cnt, dsp, MPI_FLOAT, m->recv, rcnt, rdsp, MPI_FLOAT, m->comm);
    if (rc != MPI_SUCCESS) {
      st = mpi_fail(rc, "MPI_Alltoallv (gradient sum)");
      break;
    }
    /* this rank's slice: every rank's contribution, added in rank order */
    float *out = seg + dsp[m->rank];
    for (size_t e = 0; e < mine; e++) {
      double acc = 0.0;
      for (int i = 0; i < P; i++) acc += (double)m->recv[(size_t)i * mine + e];
      out[e] = (float)acc;
    }
    rc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, seg, cnt, dsp, MPI_FLOAT, m->comm);
    if (rc != MPI_SUCCESS) st = mpi_fail(rc, "MPI_Allgatherv (gradient sum)");
  }
  free(cnt);
  return st;
}
