/* src/nn/exec_sync.c — copies between the replicas of the multi-device executor and across MPI
 * ranks, through host memory: parameters, state and optimizer slots as one flat image, and the
 * synchronisation before a step when something changed outside training (a load, an optimizer
 * set, a written parameter). */
#define _POSIX_C_SOURCE 200809L
#include "nn/exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Floats of the image: every parameter's value, then its optimizer slots. */
size_t clnn__x_image_numel(clnn_model *m) {
  size_t n = 0;
  for (size_t i = 0; i < clnn__m_count(m); i++) {
    clnn__mref p = clnn__m_ref(m, i);
    n += p.numel * (size_t)(1 + (p.opt[0] != NULL) + (p.opt[1] != NULL));
  }
  return n;
}

/* Reads (to_host) or writes the image of m from/to buf: every transfer enqueued without a wait,
 * then one wait for them all (done on return). */
clnn_status clnn__x_image_io(clnn_model *m, float *buf, int to_host) {
  size_t o = 0;
  clnn_status st = CLNN_SUCCESS;
  for (size_t i = 0; i < clnn__m_count(m) && st == CLNN_SUCCESS; i++) {
    clnn__mref p = clnn__m_ref(m, i);
    clnn_tensor *ts[3] = {p.value, p.opt[0], p.opt[1]};
    for (int t = 0; t < 3 && st == CLNN_SUCCESS; t++) {
      if (!ts[t]) continue;
      st = to_host ? clnn__tensor_read_async(ts[t], buf + o, NULL)
                   : clnn__tensor_write_async(ts[t], buf + o);
      o += p.numel;
    }
  }
  /* (also after a refused enqueue: the transfers already enqueued use buf) */
  clnn_status fs = clnn__context_finish(clnn__m_context(m));
  return st != CLNN_SUCCESS ? st : fs;
}

/* With MPI: rank 0's optimizer settings, counters, loss kind, values and optimizer state to
 * every rank. */
static clnn_status sync_ranks(clnn__x *x, clnn_model *m) {
  /* settings first: they decide the optimizer slots, hence the image's size */
  struct {
    clnn_optimizer_config opt;
    clnn__mcount c;
    int32_t loss;
  } hdr;
  memset(&hdr, 0, sizeof hdr);
  hdr.opt = *clnn__m_optimizer(m);
  hdr.c = clnn__m_counters(m);
  hdr.loss = clnn__m_xloss_kind(m);
  clnn_status st = clnn__mpi_bcast(x->mpi, &hdr, sizeof hdr);
  if (st != CLNN_SUCCESS) return st;
  if (x->rank != 0) {
    st = clnn__m_take_optimizer(m, &hdr.opt);
    if (st != CLNN_SUCCESS) return st;
    clnn__m_set_counters(m, hdr.c);
    clnn__m_set_xloss_kind(m, hdr.loss);
  }
  size_t n = clnn__x_image_numel(m);
  float *buf = malloc((n ? n : 1) * sizeof(float));
  if (!buf) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate %zu floats", n);
  /* a failed read on rank 0 still takes part in the broadcast; its status decides after */
  clnn_status rs = x->rank == 0 ? clnn__x_image_io(m, buf, 1) : CLNN_SUCCESS;
  long long bad = rs != CLNN_SUCCESS;
  st = clnn__mpi_max(x->mpi, &bad, 1);
  if (st == CLNN_SUCCESS && bad)
    st = rs != CLNN_SUCCESS ? rs : clnn__error(CLNN_ERROR_OPENCL, "rank 0 could not read its "
                                               "parameters to broadcast them");
  if (st == CLNN_SUCCESS) st = clnn__mpi_bcast(x->mpi, buf, n * sizeof(float));
  if (st == CLNN_SUCCESS && x->rank != 0) st = clnn__x_image_io(m, buf, 0);
  free(buf);
  return st;
}

clnn_status clnn__x_sync(clnn__x *x, int any_stale) {
  if (!any_stale) return CLNN_SUCCESS;
  clnn_model *m = x->w[0].m;
  clnn_status st = x->mpi ? sync_ranks(x, m) : CLNN_SUCCESS;
  if (st != CLNN_SUCCESS) return st;
  if (x->nlocal > 1) {
    size_t n = clnn__x_image_numel(m);
    float *buf = malloc((n ? n : 1) * sizeof(float));
    if (!buf) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate %zu floats", n);
    st = clnn__x_image_io(m, buf, 1);
    for (int k = 1; k < x->nlocal && st == CLNN_SUCCESS; k++) {
      clnn_model *r = x->w[k].m;
      clnn__x_free_backups(&x->w[k]);
      st = clnn__m_copy_settings(r, m);
      if (st == CLNN_SUCCESS) st = clnn__x_image_io(r, buf, 0);
      if (st == CLNN_SUCCESS) x->image_copies++;
      if (st != CLNN_SUCCESS) {
        char keep[X_MSG];
        snprintf(keep, sizeof keep, "%s", clnn_last_error());
        st = clnn__error(st, "copying the parameters to %s: %s", x->w[k].label, keep);
      }
    }
    free(buf);
    if (st != CLNN_SUCCESS) return st;
  }
  clnn__x_free_backups(&x->w[0]);
  x->stale = 0;
  return CLNN_SUCCESS;
}

clnn_status clnn__x_check_exposed(clnn__x *x, int *stale) {
  clnn_model *m = x->w[0].m;
  clnn_model *other = x->nlocal > 1 ? x->w[1].m : NULL;
  clnn_status st = CLNN_SUCCESS;
  float *a = NULL, *b = NULL;
  size_t cap = 0;
  for (size_t i = 0; i < clnn__m_count(m); i++) {
    if (!clnn__m_take_exposed(m, i)) continue;
    if (*stale || st != CLNN_SUCCESS) continue; /* (every mark is cleared) */
    if (!other || x->mpi) { /* nothing local to compare with, or other ranks to reach */
      *stale = 1;
      continue;
    }
    clnn__mref p = clnn__m_ref(m, i);
    if (p.numel > cap) {
      free(a);
      free(b);
      a = malloc(p.numel * sizeof(float));
      b = malloc(p.numel * sizeof(float));
      cap = a && b ? p.numel : 0;
      if (!cap) {
        st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate %zu floats", 2 * p.numel);
        continue;
      }
    }
    /* every replica holds the same bits after a step: a difference is a write */
    st = clnn_tensor_read(p.value, a, p.numel);
    if (st == CLNN_SUCCESS) st = clnn_tensor_read(clnn__m_ref(other, i).value, b, p.numel);
    if (st == CLNN_SUCCESS && memcmp(a, b, p.numel * sizeof(float)) != 0) *stale = 1;
  }
  free(a);
  free(b);
  return st;
}
