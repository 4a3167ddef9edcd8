/* src/nn/exec_split.c — how the multi-device executor splits a batch: contiguous shares by
 * largest remainder, shares measured from the devices' speeds (gathered over MPI ranks, so every
 * rank computes the same ones), and the split settings of models and networks. */
#define _POSIX_C_SOURCE 200809L
#include "nn/exec.h"

#include <math.h>
#include <stdlib.h>

/* ---- the split ---- */

/* counts[g] for a batch of N from shares (largest remainder; ties to the lower index). */
void clnn__nn_split_counts(const double *shares, int W, size_t N, size_t *counts) {
  double total = 0;
  for (int g = 0; g < W; g++) total += shares[g] > 0 ? shares[g] : 0;
  size_t used = 0;
  for (int g = 0; g < W; g++) {
    double s = total > 0 ? (shares[g] > 0 ? shares[g] : 0) / total : 1.0 / W;
    double c = floor((double)N * s);
    counts[g] = c > (double)N ? N : (size_t)c;
    used += counts[g];
  }
  while (used > N) { /* rounding overshoot: take from the largest */
    int big = 0;
    for (int g = 1; g < W; g++)
      if (counts[g] > counts[big]) big = g;
    counts[big]--;
    used--;
  }
  while (used < N) {
    int best = -1;
    double bf = -1;
    for (int g = 0; g < W; g++) {
      double s = total > 0 ? (shares[g] > 0 ? shares[g] : 0) / total : 1.0 / W;
      double f = (double)N * s - (double)counts[g];
      if (f > bf) {
        bf = f;
        best = g;
      }
    }
    counts[best]++;
    used++;
  }
}

static int measuring(const clnn__x *x) {
  if (x->measured) return 0;
  return x->mode == CLNN_SPLIT_MEASURE || (x->mode == CLNN_SPLIT_AUTO && !x->identical);
}

/* After a successful step: accumulate the speeds and, at the end of the window, set the shares
 * (the same on every rank: the speeds are gathered and the arithmetic is the same). */
clnn_status clnn__x_measure_update(clnn__x *x) {
  if (!measuring(x)) return CLNN_SUCCESS;
  uint64_t s = x->steps; /* this step's index */
  if (s < x->meas_from) return CLNN_SUCCESS;
  for (int k = 0; k < x->nlocal; k++) {
    x->meas_n[k] += (double)x->w[k].n;
    x->meas_t[k] += x->w[k].seconds;
  }
  if (s + 1 < x->meas_from + X_MEASURE_STEPS) return CLNN_SUCCESS;
  double *speed = calloc((size_t)x->nglobal + (size_t)x->max_local * (size_t)x->nranks + 1,
                         sizeof(double));
  if (!speed) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate device speeds");
  double *all = speed + x->nglobal;
  double local[CLNN_MAX_SET_DEVICES] = {0};
  for (int k = 0; k < x->nlocal; k++)
    local[k] = x->meas_t[k] > 0 ? x->meas_n[k] / x->meas_t[k] : 0;
  clnn_status st = CLNN_SUCCESS;
  if (x->mpi) {
    st = clnn__mpi_allgather(x->mpi, local, (size_t)x->max_local * sizeof(double), all);
    /* rank r's devices are all[r * max_local ...]; their global indices follow rank order */
    int g = 0;
    for (int r = 0; r < x->nranks && st == CLNN_SUCCESS; r++)
      for (int k = 0; k < x->rank_count[r] && g < x->nglobal; k++)
        speed[g++] = all[(size_t)r * (size_t)x->max_local + (size_t)k];
  } else {
    for (int k = 0; k < x->nlocal; k++) speed[k] = local[k];
  }
  if (st == CLNN_SUCCESS) {
    double total = 0;
    for (int g = 0; g < x->nglobal; g++) total += speed[g];
    for (int g = 0; g < x->nglobal; g++)
      x->shares[g] = total > 0 ? speed[g] / total : 1.0 / x->nglobal;
    x->measured = 1;
    clnn__log(CLNN_LOG_INFO, "data-parallel split measured over %d steps: first device %.3f of "
              "each batch", X_MEASURE_STEPS, x->shares[0]);
  }
  free(speed);
  return st;
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
