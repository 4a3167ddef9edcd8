/* tests/ref/layernorm_ref.c — plain-C reference of layer norm and RMS norm (see layernorm_ref.h). */
#include "layernorm_ref.h"

#include <math.h>
#include <stdlib.h>

static void row_stats(const float *xr, size_t D, double eps, int rms, double *mean, double *rstd) {
  double m = 0.0, ss = 0.0;
  if (!rms) {
    for (size_t d = 0; d < D; d++) m += xr[d];
    m /= (double)D;
  }
  for (size_t d = 0; d < D; d++) ss += (xr[d] - m) * (xr[d] - m);
  *mean = m;
  *rstd = 1.0 / sqrt(ss / (double)D + eps);
}

void ref_layernorm_forward(const float *x, size_t R, size_t D, const float *weight,
                           const float *bias, float eps, int rms, float *y, float *mean,
                           float *rstd) {
  for (size_t r = 0; r < R; r++) {
    double m, rs;
    row_stats(x + r * D, D, eps, rms, &m, &rs);
    for (size_t d = 0; d < D; d++) {
      double v = (x[r * D + d] - m) * rs;
      if (weight) v *= weight[d];
      if (bias && !rms) v += bias[d];
      y[r * D + d] = (float)v;
    }
    if (mean) mean[r] = (float)m;
    if (rstd) rstd[r] = (float)rs;
  }
}

void ref_layernorm_backward(const float *x, const float *dy, size_t R, size_t D,
                            const float *weight, const float *mean, const float *rstd, int rms,
                            float beta, float *dx, float *dweight, float *dbias) {
  double *dw = calloc(D, sizeof(double)), *db = calloc(D, sizeof(double));
  for (size_t r = 0; r < R; r++) {
    double m = rms ? 0.0 : mean[r], rs = rstd[r], sg = 0.0, sgx = 0.0;
    for (size_t d = 0; d < D; d++) {
      double g = (double)dy[r * D + d] * (weight ? weight[d] : 1.0);
      double xh = (x[r * D + d] - m) * rs;
      sg += g;
      sgx += g * xh;
      dw[d] += (double)dy[r * D + d] * xh;
      db[d] += dy[r * D + d];
    }
    for (size_t d = 0; d < D; d++) {
      double g = (double)dy[r * D + d] * (weight ? weight[d] : 1.0);
      double xh = (x[r * D + d] - m) * rs;
      double v = rs * (g - (rms ? 0.0 : sg / (double)D) - xh * sgx / (double)D);
      dx[r * D + d] = (float)(beta == 0.0f ? v : (double)beta * dx[r * D + d] + v);
    }
  }
  for (size_t d = 0; d < D; d++) {
    if (dweight) dweight[d] = (float)(beta == 0.0f ? dw[d] : (double)beta * dweight[d] + dw[d]);
    if (dbias) dbias[d] = (float)(beta == 0.0f ? db[d] : (double)beta * dbias[d] + db[d]);
  }
  free(dw);
  free(db);
}

double ref_layernorm_loss(const float *x, size_t R, size_t D, const float *weight,
                          const float *bias, float eps, int rms, const float *r) {
  double total = 0.0;
  for (size_t i = 0; i < R; i++) {
    double m, rs;
    row_stats(x + i * D, D, eps, rms, &m, &rs);
    for (size_t d = 0; d < D; d++) {
      double v = (x[i * D + d] - m) * rs;
      if (weight) v *= weight[d];
      if (bias && !rms) v += bias[d];
      total += v * r[i * D + d];
    }
  }
  return total;
}
