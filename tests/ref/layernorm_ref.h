/* tests/ref/layernorm_ref.h — plain-C reference of layer norm and RMS norm over the last
 * dimension (x viewed as [R, D]), double accumulation. rms = 1 selects RMS norm (mean 0, no
 * bias). weight/bias may be NULL (1 and 0). */
#ifndef CLNN_LAYERNORM_REF_H
#define CLNN_LAYERNORM_REF_H
#include <stddef.h>

/* y, and the row statistics mean/rstd (each may be NULL). */
void ref_layernorm_forward(const float *x, size_t R, size_t D, const float *weight,
                           const float *bias, float eps, int rms, float *y, float *mean,
                           float *rstd);
/* dx, dweight, dbias = beta*old + gradient (beta == 0: not read; dweight/dbias may be NULL), from
 * the saved statistics mean (ignored with rms) and rstd. */
void ref_layernorm_backward(const float *x, const float *dy, size_t R, size_t D,
                            const float *weight, const float *mean, const float *rstd, int rms,
                            float beta, float *dx, float *dweight, float *dbias);
/* sum of r * y, all in double (finite-difference loss). */
double ref_layernorm_loss(const float *x, size_t R, size_t D, const float *weight,
                          const float *bias, float eps, int rms, const float *r);
#endif
