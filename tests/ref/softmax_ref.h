/* tests/ref/softmax_ref.h — plain-C reference of softmax / log-softmax over the last axis and of
 * the losses (softmax cross-entropy with integer labels, BCE with logits, MSE), in double. */
#ifndef CLNN_SOFTMAX_REF_H
#define CLNN_SOFTMAX_REF_H
#include <stddef.h>
#include <stdint.h>

/* y = softmax(x) (log_ = 0) or log_softmax(x) (log_ = 1) per row of C */
void softmax_ref_forward(const float *x, float *y, size_t rows, size_t C, int log_);
/* dx = beta*dx + the gradient through softmax / log-softmax, from the forward output y */
void softmax_ref_backward(const float *y, const float *dy, float beta, float *dx, size_t rows,
                          size_t C, int log_);
/* sum of w * softmax(x) (or log_softmax), in double, for finite differences */
double softmax_ref_loss(const float *x, const float *w, size_t rows, size_t C, int log_);

/* Mean cross-entropy of softmax(logits) against labels; dx (may be NULL) gets its gradient. */
double softmax_ref_xent(const float *x, const int32_t *labels, size_t N, size_t C, float *dx);
/* Mean BCE with logits; dx (may be NULL) gets its gradient. */
double softmax_ref_bce(const float *x, const float *t, size_t n, float *dx);
/* Mean squared error; dx (may be NULL) gets its gradient. */
double softmax_ref_mse(const float *p, const float *t, size_t n, float *dx);
#endif
