/* tests/ref/activation_ref.h — plain-C reference of the activations and the elementwise basics,
 * forward and backward, in double precision. Activation ids are clnn_activation values. */
#ifndef CLNN_ACTIVATION_REF_H
#define CLNN_ACTIVATION_REF_H
#include <stddef.h>

/* act(x) and act'(x) in double. */
double act_ref_value(int act, double alpha, double x);
double act_ref_deriv(int act, double alpha, double x);

/* y = act(x) */
void act_ref_forward(int act, float alpha, const float *x, float *y, size_t n);
/* dx = beta*dx + dy * act'(x) (beta == 0: dx is not read) */
void act_ref_backward(int act, float alpha, const float *x, const float *dy, float beta, float *dx,
                      size_t n);
/* sum over i of w[i] * act(x[i]), in double (a scalar loss for finite differences) */
double act_ref_loss(int act, float alpha, const float *x, const float *w, size_t n);

/* y = a + b; y = a * b; x = alpha * x; y = alpha * x + y */
void act_ref_add(const float *a, const float *b, float *y, size_t n);
void act_ref_mul(const float *a, const float *b, float *y, size_t n);
void act_ref_scale(float alpha, float *x, size_t n);
void act_ref_axpy(float alpha, const float *x, float *y, size_t n);
/* y[o, c, k] += bias[c] for y viewed as [outer, channels, inner] */
void act_ref_bias_add(const float *bias, float *y, size_t outer, size_t channels, size_t inner);
#endif
