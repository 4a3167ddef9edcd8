/* tests/ref/batchnorm_ref.c — plain-C reference of batch normalisation (double accumulation). */
#include "batchnorm_ref.h"

#include <math.h>

#define AT(nn, cc, ss) (((nn) * c + (cc)) * s + (ss))

static void channel_stats(const float *x, size_t n, size_t c, size_t s, size_t ch, double *mean,
                          double *var) {
  double sum = 0.0;
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < s; k++) sum += x[AT(i, ch, k)];
  double m = sum / (double)(n * s), ssd = 0.0;
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < s; k++) {
      double d = x[AT(i, ch, k)] - m;
      ssd += d * d;
    }
  *mean = m;
  *var = ssd / (double)(n * s);
}

void ref_batchnorm_forward_training(const float *x, size_t n, size_t c, size_t s,
                                    const float *scale, const float *shift, float momentum,
                                    float eps, float *running_mean, float *running_var, float *y,
                                    float *save_mean, float *save_invstd) {
  size_t m = n * s;
  for (size_t ch = 0; ch < c; ch++) {
    double mean, var;
    channel_stats(x, n, c, s, ch, &mean, &var);
    double invstd = 1.0 / sqrt(var + (double)eps);
    double g = scale ? scale[ch] : 1.0, b = shift ? shift[ch] : 0.0;
    for (size_t i = 0; i < n; i++)
      for (size_t k = 0; k < s; k++) y[AT(i, ch, k)] = (float)((x[AT(i, ch, k)] - mean) * invstd * g + b);
    if (save_mean) save_mean[ch] = (float)mean;
    if (save_invstd) save_invstd[ch] = (float)invstd;
    if (running_mean) {
      double mom = momentum;
      running_mean[ch] = (float)((1.0 - mom) * running_mean[ch] + mom * mean);
      running_var[ch] = (float)((1.0 - mom) * running_var[ch] + mom * var * (double)m / (double)(m - 1));
    }
  }
}

void ref_batchnorm_forward_inference(const float *x, size_t n, size_t c, size_t s,
                                     const float *scale, const float *shift,
                                     const float *running_mean, const float *running_var,
                                     float eps, float *y) {
  for (size_t ch = 0; ch < c; ch++) {
    double invstd = 1.0 / sqrt((double)running_var[ch] + eps);
    double g = scale ? scale[ch] : 1.0, b = shift ? shift[ch] : 0.0;
    for (size_t i = 0; i < n; i++)
      for (size_t k = 0; k < s; k++)
        y[AT(i, ch, k)] = (float)((x[AT(i, ch, k)] - (double)running_mean[ch]) * invstd * g + b);
  }
}

void ref_batchnorm_backward(const float *x, const float *dy, size_t n, size_t c, size_t s,
                            const float *scale, const float *save_mean, const float *save_invstd,
                            float beta, float *dx, float *dscale, float *dshift) {
  double m = (double)(n * s);
  for (size_t ch = 0; ch < c; ch++) {
    double mean = save_mean[ch], invstd = save_invstd[ch], g = scale ? scale[ch] : 1.0;
    double sdy = 0.0, sdyxhat = 0.0;
    for (size_t i = 0; i < n; i++)
      for (size_t k = 0; k < s; k++) {
        double d = dy[AT(i, ch, k)];
        sdy += d;
        sdyxhat += d * (x[AT(i, ch, k)] - mean) * invstd;
      }
    for (size_t i = 0; i < n; i++)
      for (size_t k = 0; k < s; k++) {
        size_t at = AT(i, ch, k);
        double xhat = (x[at] - mean) * invstd;
        double v = g * invstd * (dy[at] - sdy / m - xhat * sdyxhat / m);
        if (beta != 0.0f) v += (double)beta * dx[at];
        dx[at] = (float)v;
      }
    if (dscale) dscale[ch] = (float)(sdyxhat + (beta != 0.0f ? (double)beta * dscale[ch] : 0.0));
    if (dshift) dshift[ch] = (float)(sdy + (beta != 0.0f ? (double)beta * dshift[ch] : 0.0));
  }
}

double ref_batchnorm_training_loss(const float *x, size_t n, size_t c, size_t s,
                                   const float *scale, const float *shift, float eps,
                                   const float *r) {
  double loss = 0.0;
  for (size_t ch = 0; ch < c; ch++) {
    double mean, var;
    channel_stats(x, n, c, s, ch, &mean, &var);
    double invstd = 1.0 / sqrt(var + (double)eps);
    double g = scale ? scale[ch] : 1.0, b = shift ? shift[ch] : 0.0;
    for (size_t i = 0; i < n; i++)
      for (size_t k = 0; k < s; k++)
        loss += (double)r[AT(i, ch, k)] * ((x[AT(i, ch, k)] - mean) * invstd * g + b);
  }
  return loss;
}

void ref_batchnorm_backward_inference(const float *x, const float *dy, size_t n, size_t c,
                                      size_t s, const float *scale, const float *running_mean,
                                      const float *running_var, float eps, float beta, float *dx,
                                      float *dscale, float *dshift) {
  for (size_t ch = 0; ch < c; ch++) {
    double mean = running_mean[ch], invstd = 1.0 / sqrt((double)running_var[ch] + (double)eps);
    double g = scale ? scale[ch] : 1.0, sdy = 0.0, sdyxhat = 0.0;
    for (size_t i = 0; i < n; i++)
      for (size_t k = 0; k < s; k++) {
        size_t at = AT(i, ch, k);
        double d = dy[at];
        sdy += d;
        sdyxhat += d * (x[at] - mean) * invstd;
        if (dx) dx[at] = (float)(d * g * invstd + (beta != 0.0f ? (double)beta * dx[at] : 0.0));
      }
    if (dscale) dscale[ch] = (float)(sdyxhat + (beta != 0.0f ? (double)beta * dscale[ch] : 0.0));
    if (dshift) dshift[ch] = (float)(sdy + (beta != 0.0f ? (double)beta * dshift[ch] : 0.0));
  }
}

double ref_batchnorm_inference_loss(const float *x, size_t n, size_t c, size_t s,
                                    const float *scale, const float *shift,
                                    const float *running_mean, const float *running_var,
                                    float eps, const float *r) {
  double loss = 0.0;
  for (size_t ch = 0; ch < c; ch++) {
    double invstd = 1.0 / sqrt((double)running_var[ch] + (double)eps);
    double g = scale ? scale[ch] : 1.0, b = shift ? shift[ch] : 0.0;
    for (size_t i = 0; i < n; i++)
      for (size_t k = 0; k < s; k++)
        loss += (double)r[AT(i, ch, k)] * ((x[AT(i, ch, k)] - running_mean[ch]) * invstd * g + b);
  }
  return loss;
}
