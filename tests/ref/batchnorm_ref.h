/* tests/ref/batchnorm_ref.h — plain-C reference of batch normalisation (PyTorch semantics),
 * double accumulation. x is viewed as [N, C, S] (S = product of the spatial dims, 1 for [N, C]);
 * statistics per channel over N*S elements. scale/shift may be NULL (1 and 0). */
#ifndef CLNN_BATCHNORM_REF_H
#define CLNN_BATCHNORM_REF_H
#include <stddef.h>

/* Training forward: batch mean and biased variance; y = (x - mean)/sqrt(var + eps)*scale + shift;
 * save_mean/save_invstd (may be NULL) get mean and 1/sqrt(var + eps); running_mean/running_var
 * (may be NULL) are updated with momentum, running_var with the unbiased variance. */
void ref_batchnorm_forward_training(const float *x, size_t n, size_t c, size_t s,
                                    const float *scale, const float *shift, float momentum,
                                    float eps, float *running_mean, float *running_var, float *y,
                                    float *save_mean, float *save_invstd);
/* Inference forward from running statistics. */
void ref_batchnorm_forward_inference(const float *x, size_t n, size_t c, size_t s,
                                     const float *scale, const float *shift,
                                     const float *running_mean, const float *running_var,
                                     float eps, float *y);
/* Backward: dx = beta*dx + grad (beta == 0: dx not read); dscale/dshift likewise (may be NULL). */
void ref_batchnorm_backward(const float *x, const float *dy, size_t n, size_t c, size_t s,
                            const float *scale, const float *save_mean, const float *save_invstd,
                            float beta, float *dx, float *dscale, float *dshift);
/* sum of r * y with y the training-mode forward output, all in double (finite-difference loss). */
double ref_batchnorm_training_loss(const float *x, size_t n, size_t c, size_t s,
                                   const float *scale, const float *shift, float eps,
                                   const float *r);
/* Inference-mode backward (running statistics are constants): dx = beta*dx + dy*scale*invstd,
 * dscale = beta*dscale + sum dy*(x - running_mean)*invstd, dshift = beta*dshift + sum dy, with
 * invstd = 1/sqrt(running_var + eps); dx, dscale, dshift may each be NULL. */
void ref_batchnorm_backward_inference(const float *x, const float *dy, size_t n, size_t c,
                                      size_t s, const float *scale, const float *running_mean,
                                      const float *running_var, float eps, float beta, float *dx,
                                      float *dscale, float *dshift);
/* sum of r * y with y the inference-mode forward output, in double (finite-difference loss). */
double ref_batchnorm_inference_loss(const float *x, size_t n, size_t c, size_t s,
                                    const float *scale, const float *shift,
                                    const float *running_mean, const float *running_var,
                                    float eps, const float *r);
#endif
