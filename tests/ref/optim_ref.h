/* tests/ref/optim_ref.h — plain-C references of the optimizers, written from the PyTorch
 * documentation (torch.optim.SGD, Adam, AdamW, RMSprop, Adagrad; torch.nn.utils.clip_grad_norm_).
 * State is stored as float, as PyTorch stores it for float32 parameters; each element's update is
 * computed in double. One call is one step over n elements. */
#ifndef CLNN_OPTIM_REF_H
#define CLNN_OPTIM_REF_H
#include <stddef.h>

/* velocity may be NULL when momentum == 0; first: the first step (buf = grad, no dampening). */
void ref_sgd_step(size_t n, float *param, const float *grad, float *velocity, double lr,
                  double momentum, double dampening, double weight_decay, int nesterov, int first);
/* decoupled: AdamW. step counts from 1. */
void ref_adam_step(size_t n, float *param, const float *grad, float *m, float *v, double lr,
                   double beta1, double beta2, double eps, double weight_decay, int decoupled,
                   int step);
/* momentum_buf may be NULL when momentum == 0. */
void ref_rmsprop_step(size_t n, float *param, const float *grad, float *square_avg,
                      float *momentum_buf, double lr, double alpha, double eps,
                      double weight_decay, double momentum);
void ref_adagrad_step(size_t n, float *param, const float *grad, float *sum, double lr,
                      double eps, double weight_decay);
/* Global L2 norm of count arrays (sizes[i] elements each), in double; scales them in place by
 * min(1, max_norm / (norm + 1e-6)); returns the norm before clipping. */
double ref_clip_grad_norm(float *const *grads, const size_t *sizes, size_t count, double max_norm);
#endif
