/* tests/ref/optim_ref.c — plain-C optimizer references (float state, double arithmetic). */
#include "optim_ref.h"

#include <math.h>

void ref_sgd_step(size_t n, float *param, const float *grad, float *velocity, double lr,
                  double momentum, double dampening, double weight_decay, int nesterov, int first) {
  for (size_t i = 0; i < n; i++) {
    double p = param[i], d_p = grad[i];
    if (weight_decay != 0.0) d_p = d_p + weight_decay * p;
    if (momentum != 0.0) {
      double buf = first ? d_p : momentum * (double)velocity[i] + (1.0 - dampening) * d_p;
      velocity[i] = (float)buf;
      buf = velocity[i]; /* the stored (float) buffer is what the update uses */
      d_p = nesterov ? d_p + momentum * buf : buf;
    }
    param[i] = (float)(p - lr * d_p);
  }
}

void ref_adam_step(size_t n, float *param, const float *grad, float *m, float *v, double lr,
                   double beta1, double beta2, double eps, double weight_decay, int decoupled,
                   int step) {
  double bias_correction1 = 1.0 - pow(beta1, step);
  double bias_correction2 = 1.0 - pow(beta2, step);
  double step_size = lr / bias_correction1;
  double bias_correction2_sqrt = sqrt(bias_correction2);
  for (size_t i = 0; i < n; i++) {
    double p = param[i], g = grad[i];
    if (decoupled) p *= 1.0 - lr * weight_decay;
    else if (weight_decay != 0.0) g += weight_decay * p;
    double exp_avg = (double)m[i] + (1.0 - beta1) * (g - (double)m[i]); /* lerp */
    double exp_avg_sq = beta2 * (double)v[i] + (1.0 - beta2) * g * g;
    m[i] = (float)exp_avg;
    v[i] = (float)exp_avg_sq;
    double denom = sqrt((double)v[i]) / bias_correction2_sqrt + eps;
    param[i] = (float)(p - step_size * (double)m[i] / denom);
  }
}

void ref_rmsprop_step(size_t n, float *param, const float *grad, float *square_avg,
                      float *momentum_buf, double lr, double alpha, double eps,
                      double weight_decay, double momentum) {
  for (size_t i = 0; i < n; i++) {
    double p = param[i], g = grad[i];
    if (weight_decay != 0.0) g += weight_decay * p;
    square_avg[i] = (float)(alpha * (double)square_avg[i] + (1.0 - alpha) * g * g);
    double avg = sqrt((double)square_avg[i]) + eps;
    if (momentum > 0.0) {
      momentum_buf[i] = (float)(momentum * (double)momentum_buf[i] + g / avg);
      param[i] = (float)(p - lr * (double)momentum_buf[i]);
    } else {
      param[i] = (float)(p - lr * g / avg);
    }
  }
}

void ref_adagrad_step(size_t n, float *param, const float *grad, float *sum, double lr,
                      double eps, double weight_decay) {
  for (size_t i = 0; i < n; i++) {
    double p = param[i], g = grad[i];
    if (weight_decay != 0.0) g += weight_decay * p;
    sum[i] = (float)((double)sum[i] + g * g);
    double std = sqrt((double)sum[i]) + eps;
    param[i] = (float)(p - lr * g / std);
  }
}

double ref_clip_grad_norm(float *const *grads, const size_t *sizes, size_t count, double max_norm) {
  double ss = 0.0;
  for (size_t t = 0; t < count; t++)
    for (size_t i = 0; i < sizes[t]; i++) ss += (double)grads[t][i] * grads[t][i];
  double norm = sqrt(ss);
  double coef = max_norm / (norm + 1e-6);
  if (!isnan(coef) && coef > 1.0) coef = 1.0;
  if (coef != 1.0)
    for (size_t t = 0; t < count; t++)
      for (size_t i = 0; i < sizes[t]; i++) grads[t][i] = (float)(grads[t][i] * coef);
  return norm;
}
