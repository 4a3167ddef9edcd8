/* tests/ref/softmax_ref.c — plain-C reference of softmax, log-softmax and the losses (see
 * softmax_ref.h), in double. */
#include "softmax_ref.h"

#include <math.h>
#include <stdlib.h>

/* log(sum exp(x_j)) of one row, shifted by its maximum */
static double logsumexp(const float *x, size_t C) {
  double m = -INFINITY;
  for (size_t j = 0; j < C; j++)
    if (x[j] > m) m = x[j];
  double s = 0;
  for (size_t j = 0; j < C; j++) s += exp((double)x[j] - m);
  return m + log(s);
}

void softmax_ref_forward(const float *x, float *y, size_t rows, size_t C, int log_) {
  for (size_t r = 0; r < rows; r++) {
    double lse = logsumexp(x + r * C, C);
    for (size_t j = 0; j < C; j++) {
      double l = (double)x[r * C + j] - lse;
      y[r * C + j] = (float)(log_ ? l : exp(l));
    }
  }
}

void softmax_ref_backward(const float *y, const float *dy, float beta, float *dx, size_t rows,
                          size_t C, int log_) {
  for (size_t r = 0; r < rows; r++) {
    const float *yr = y + r * C, *dyr = dy + r * C;
    double s = 0;
    for (size_t j = 0; j < C; j++) s += log_ ? (double)dyr[j] : (double)dyr[j] * yr[j];
    for (size_t j = 0; j < C; j++) {
      double g = log_ ? dyr[j] - exp((double)yr[j]) * s : yr[j] * (dyr[j] - s);
      float *d = &dx[r * C + j];
      *d = (float)(beta == 0.0f ? g : (double)beta * *d + g);
    }
  }
}

double softmax_ref_loss(const float *x, const float *w, size_t rows, size_t C, int log_) {
  double loss = 0;
  for (size_t r = 0; r < rows; r++) {
    double lse = logsumexp(x + r * C, C);
    for (size_t j = 0; j < C; j++) {
      double l = (double)x[r * C + j] - lse;
      loss += (double)w[r * C + j] * (log_ ? l : exp(l));
    }
  }
  return loss;
}

double softmax_ref_xent(const float *x, const int32_t *labels, size_t N, size_t C, float *dx) {
  double total = 0;
  for (size_t r = 0; r < N; r++) {
    double lse = logsumexp(x + r * C, C);
    total += lse - x[r * C + labels[r]];
    if (dx)
      for (size_t j = 0; j < C; j++) {
        double p = exp((double)x[r * C + j] - lse);
        dx[r * C + j] = (float)((p - (j == (size_t)labels[r] ? 1.0 : 0.0)) / (double)N);
      }
  }
  return total / (double)N;
}

double softmax_ref_bce(const float *x, const float *t, size_t n, float *dx) {
  double total = 0;
  for (size_t i = 0; i < n; i++) {
    double xi = x[i], ti = t[i];
    /* -[t log s(x) + (1-t) log(1 - s(x))] = softplus(x) - t*x, softplus written stably */
    double sp = xi > 0 ? xi + log1p(exp(-xi)) : log1p(exp(xi));
    total += sp - ti * xi;
    if (dx) {
      double s = xi >= 0 ? 1.0 / (1.0 + exp(-xi)) : exp(xi) / (1.0 + exp(xi));
      dx[i] = (float)((s - ti) / (double)n);
    }
  }
  return total / (double)n;
}

double softmax_ref_mse(const float *p, const float *t, size_t n, float *dx) {
  double total = 0;
  for (size_t i = 0; i < n; i++) {
    double d = (double)p[i] - t[i];
    total += d * d;
    if (dx) dx[i] = (float)(2.0 * d / (double)n);
  }
  return total / (double)n;
}
