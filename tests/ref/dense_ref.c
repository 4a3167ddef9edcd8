/* tests/ref/dense_ref.c — plain-C reference of the dense layer (double accumulation). */
#include "dense_ref.h"

void ref_dense_forward(const float *x, const float *w, const float *b, size_t n, size_t in,
                       size_t out, float *y) {
  for (size_t r = 0; r < n; r++)
    for (size_t o = 0; o < out; o++) {
      double acc = b ? (double)b[o] : 0.0;
      for (size_t i = 0; i < in; i++) acc += (double)x[r * in + i] * w[o * in + i];
      y[r * out + o] = (float)acc;
    }
}

void ref_dense_backward_data(const float *dy, const float *w, size_t n, size_t in, size_t out,
                             float beta, float *dx) {
  for (size_t r = 0; r < n; r++)
    for (size_t i = 0; i < in; i++) {
      double acc = 0.0;
      for (size_t o = 0; o < out; o++) acc += (double)dy[r * out + o] * w[o * in + i];
      if (beta != 0.0f) acc += (double)beta * dx[r * in + i];
      dx[r * in + i] = (float)acc;
    }
}

void ref_dense_backward_weights(const float *x, const float *dy, size_t n, size_t in, size_t out,
                                float beta, float *dw, float *db) {
  for (size_t o = 0; o < out; o++) {
    for (size_t i = 0; i < in; i++) {
      double acc = 0.0;
      for (size_t r = 0; r < n; r++) acc += (double)dy[r * out + o] * x[r * in + i];
      if (beta != 0.0f) acc += (double)beta * dw[o * in + i];
      dw[o * in + i] = (float)acc;
    }
    if (db) {
      double acc = 0.0;
      for (size_t r = 0; r < n; r++) acc += dy[r * out + o];
      if (beta != 0.0f) acc += (double)beta * db[o];
      db[o] = (float)acc;
    }
  }
}

double ref_dense_loss(const float *x, const float *w, const float *b, const float *r, size_t n,
                      size_t in, size_t out) {
  double loss = 0.0;
  for (size_t k = 0; k < n; k++)
    for (size_t o = 0; o < out; o++) {
      double y = b ? (double)b[o] : 0.0;
      for (size_t i = 0; i < in; i++) y += (double)x[k * in + i] * w[o * in + i];
      loss += (double)r[k * out + o] * y;
    }
  return loss;
}
