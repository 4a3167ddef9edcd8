/* tests/ref/activation_ref.c — plain-C reference of the activations and elementwise basics (see
 * activation_ref.h). Written from the textbook definitions, in double. */
#include "activation_ref.h"

#include <math.h>

enum { A_IDENTITY, A_RELU, A_LEAKY, A_ELU, A_SIGMOID, A_TANH, A_GELU, A_SOFTPLUS };

static double sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + exp(-x));
  double e = exp(x);
  return e / (1.0 + e);
}

double act_ref_value(int act, double alpha, double x) {
  switch (act) {
    case A_RELU: return x > 0 ? x : 0.0;
    case A_LEAKY: return x > 0 ? x : alpha * x;
    case A_ELU: return x > 0 ? x : alpha * expm1(x);
    case A_SIGMOID: return sigmoid(x);
    case A_TANH: return tanh(x);
    case A_GELU: return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    case A_SOFTPLUS: return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
    default: return x;
  }
}

double act_ref_deriv(int act, double alpha, double x) {
  const double pi = 3.14159265358979323846;
  switch (act) {
    case A_RELU: return x > 0 ? 1.0 : 0.0;
    case A_LEAKY: return x > 0 ? 1.0 : alpha;
    case A_ELU: return x > 0 ? 1.0 : alpha * exp(x);
    case A_SIGMOID: return sigmoid(x) * (1.0 - sigmoid(x));
    case A_TANH: return 1.0 - tanh(x) * tanh(x);
    case A_GELU: return 0.5 * (1.0 + erf(x / sqrt(2.0))) + x * exp(-0.5 * x * x) / sqrt(2.0 * pi);
    case A_SOFTPLUS: return sigmoid(x);
    default: return 1.0;
  }
}

void act_ref_forward(int act, float alpha, const float *x, float *y, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = (float)act_ref_value(act, alpha, x[i]);
}

void act_ref_backward(int act, float alpha, const float *x, const float *dy, float beta, float *dx,
                      size_t n) {
  for (size_t i = 0; i < n; i++) {
    double g = (double)dy[i] * act_ref_deriv(act, alpha, x[i]);
    dx[i] = (float)(beta == 0.0f ? g : (double)beta * dx[i] + g);
  }
}

double act_ref_loss(int act, float alpha, const float *x, const float *w, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += (double)w[i] * act_ref_value(act, alpha, x[i]);
  return s;
}

void act_ref_add(const float *a, const float *b, float *y, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = (float)((double)a[i] + b[i]);
}
void act_ref_mul(const float *a, const float *b, float *y, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = (float)((double)a[i] * b[i]);
}
void act_ref_scale(float alpha, float *x, size_t n) {
  for (size_t i = 0; i < n; i++) x[i] = (float)((double)alpha * x[i]);
}
void act_ref_axpy(float alpha, const float *x, float *y, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = (float)((double)alpha * x[i] + y[i]);
}
void act_ref_bias_add(const float *bias, float *y, size_t outer, size_t channels, size_t inner) {
  for (size_t o = 0; o < outer; o++)
    for (size_t c = 0; c < channels; c++)
      for (size_t k = 0; k < inner; k++) {
        size_t i = (o * channels + c) * inner + k;
        y[i] = (float)((double)y[i] + bias[c]);
      }
}
