/* tests/ref/dense_ref.h — plain-C reference of the dense (fully connected) layer, forward and
 * backward, with double accumulation. Row-major: x [N, I], w [O, I], b [O], y [N, O]. */
#ifndef CLNN_DENSE_REF_H
#define CLNN_DENSE_REF_H
#include <stddef.h>

/* y = x * w^T + b (b may be NULL). */
void ref_dense_forward(const float *x, const float *w, const float *b, size_t n, size_t in,
                       size_t out, float *y);
/* dx = beta*dx + dy * w (beta == 0: dx is not read). */
void ref_dense_backward_data(const float *dy, const float *w, size_t n, size_t in, size_t out,
                             float beta, float *dx);
/* dw = beta*dw + dy^T * x; db = beta*db + column sums of dy (db may be NULL). */
void ref_dense_backward_weights(const float *x, const float *dy, size_t n, size_t in, size_t out,
                                float beta, float *dw, float *db);
/* sum over y of r[n, o] * y[n, o] with y = x * w^T + b, all in double (a scalar loss for finite
 * differences; b may be NULL). */
double ref_dense_loss(const float *x, const float *w, const float *b, const float *r, size_t n,
                      size_t in, size_t out);
#endif
