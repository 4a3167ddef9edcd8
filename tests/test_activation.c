/* tests/test_activation.c — activations (forward, backward from x / y / both, beta) and the
 * elementwise basics (add, mul, scale, axpy, bias_add) against the plain-C reference on several
 * shapes and with both the CPU and the GPU launch shapes; backward against central finite
 * differences; every error path leaves the output untouched. */
#include "activation_ref.h"
#include "internal.h"
#include "test_util.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static clnn_context *ctx, *ctx2;
static const char *act_names[] = {"identity", "relu", "leaky_relu", "elu",
                                  "sigmoid",  "tanh", "gelu",       "softplus"};
#define SENTINEL 7.25f

static float act_alpha(int act) {
  return act == CLNN_ACT_LEAKY_RELU ? 0.1f : act == CLNN_ACT_ELU ? 1.3f : 0.0f;
}

/* Can the derivative be taken from y alone (with this test's alpha)? */
static int act_y_ok(int act) {
  return act == CLNN_ACT_IDENTITY || act == CLNN_ACT_RELU || act == CLNN_ACT_LEAKY_RELU ||
         act == CLNN_ACT_ELU || act == CLNN_ACT_SIGMOID || act == CLNN_ACT_TANH;
}

static float *fill_new(size_t n, float v) {
  float *a = malloc(n * sizeof(float));
  for (size_t i = 0; i < n; i++) a[i] = v;
  return a;
}


/* Per-op tolerances that hold on any conforming OpenCL device. OpenCL C bounds exp at 3 ulp,
 * tanh 5, log1p 2, erf 16; the formulas add a few roundings. Each op's error is then at most
 * ULPS[op] units of FLT_EPSILON times the magnitude of the terms it combines (act_fwd_mag,
 * act_bwd_mag, in double), which can be much larger than the result after cancellation
 * (1 + erf(x/sqrt 2) near x = -4, 1 - tanh^2 near saturation, alpha*(exp(x) - 1) near 0).
 * Still a few ulps: a wrong constant, a missing scale or a mishandled beta is off by orders of
 * magnitude more. Order: identity, relu, leaky_relu, elu, sigmoid, tanh, gelu, softplus. */
static const double ACT_FWD_ULPS[] = {1, 1, 2, 8, 8, 8, 24, 8};
static const double ACT_BWD_ULPS[] = {2, 2, 3, 12, 16, 20, 32, 12};

static double sigm(double x) { return 1.0 / (1.0 + exp(-x)); }

static double act_fwd_mag(int act, double alpha, double x) {
  switch (act) {
    case CLNN_ACT_LEAKY_RELU: return x > 0 ? x : fabs(alpha * x);
    case CLNN_ACT_ELU: return x > 0 ? x : fabs(alpha) * (exp(x) + 1.0);
    case CLNN_ACT_SIGMOID: return sigm(x);
    case CLNN_ACT_TANH: return fabs(tanh(x));
    case CLNN_ACT_GELU: return fabs(x);                      /* 0.5 |x| (1 + |erf|) */
    case CLNN_ACT_SOFTPLUS: return act_ref_value(act, 0, x) + sigm(x); /* log1p and exp's error */
    default: return fabs(x);
  }
}

/* Magnitude of the derivative's terms, from x or from y (which carries the forward's error). */
static double act_deriv_mag(int act, double alpha, double x) {
  switch (act) {
    case CLNN_ACT_LEAKY_RELU: return x > 0 ? 1.0 : fabs(alpha);
    case CLNN_ACT_ELU: return x > 0 ? 1.0 : fabs(alpha) * (exp(x) + 1.0);
    case CLNN_ACT_SIGMOID: return sigm(x);                     /* y (1 - y) with y off by ulps of y */
    case CLNN_ACT_TANH: return 1.0 + tanh(x) * tanh(x);        /* 1 - y^2 */
    case CLNN_ACT_GELU: return 1.0 + fabs(x) * exp(-0.5 * x * x); /* Phi + x phi */
    case CLNN_ACT_SOFTPLUS: return sigm(x);
    default: return 1.0;
  }
}

/* ---------------------------------------------------------------------------------------------- */

static void test_activations(const char *shape_name) {
  static const size_t shapes[][6] = {{1, 1}, {1, 7}, {2, 3, 1001}, {4, 2, 3, 5, 7}, {1, 100003}};
  for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
    int ndim = (int)shapes[si][0];
    const size_t *dims = &shapes[si][1];
    size_t n = 1;
    for (int d = 0; d < ndim; d++) n *= dims[d];
    float *x = malloc(n * sizeof(float)), *dy = malloc(n * sizeof(float));
    float *want = malloc(n * sizeof(float)), *d0 = malloc(n * sizeof(float));
    double *mag = malloc(n * sizeof(double));
    tu_fill_uniform(x, n, -4.0f, 4.0f);
    tu_fill_uniform(dy, n, -1.0f, 1.0f);
    tu_fill_uniform(d0, n, -1.0f, 1.0f);
    clnn_tensor *tx = tu_tensor(ctx, ndim, dims, x), *ty = tu_guarded(ctx, ndim, dims);
    clnn_tensor *tdy = tu_tensor(ctx, ndim, dims, dy), *tdx = tu_guarded(ctx, ndim, dims);
    for (int act = 0; act < CLNN_ACT_ID_COUNT; act++) {
      float alpha = act_alpha(act);
      char what[160];
      /* forward */
      act_ref_forward(act, alpha, x, want, n);
      TU_OK(clnn_tensor_fill(ty, NAN));
      TU_OK(clnn_activation_forward(ctx, act, alpha, tx, ty));
      float *got = tu_read(ty);
      snprintf(what, sizeof what, "[%s] %s forward n=%zu", shape_name, act_names[act], n);
      for (size_t i = 0; i < n; i++) mag[i] = act_fwd_mag(act, alpha, x[i]);
      tu_close_ulps(got, want, mag, ACT_FWD_ULPS[act], n, what);
      free(got);

      /* backward: from x, from y, from both; beta 0 (over NaN), 1 and 0.5 */
      for (int src = 0; src < 3; src++) {
        if (src > 0 && !act_y_ok(act)) continue;
        const clnn_tensor *sx = src == 1 ? NULL : tx, *sy = src == 0 ? NULL : ty;
        static const float betas[] = {0.0f, 1.0f, 0.5f};
        for (int bi = 0; bi < 3; bi++) {
          float beta = betas[bi];
          if (beta == 0.0f) {
            TU_OK(clnn_tensor_fill(tdx, NAN));
          } else {
            TU_OK(clnn_tensor_write(tdx, d0, n));
            memcpy(want, d0, n * sizeof(float));
          }
          act_ref_backward(act, alpha, x, dy, beta, want, n);
          TU_OK(clnn_activation_backward(ctx, act, alpha, sx, sy, tdy, beta, tdx));
          got = tu_read(tdx);
          snprintf(what, sizeof what, "[%s] %s backward from %s beta=%g n=%zu", shape_name,
                   act_names[act], src == 0 ? "x" : src == 1 ? "y" : "x and y", beta, n);
          for (size_t i = 0; i < n; i++)
            mag[i] = fabs(dy[i]) * act_deriv_mag(act, alpha, x[i]) + (beta != 0.0f ? fabs(beta * d0[i]) : 0.0);
          tu_close_ulps(got, want, mag, ACT_BWD_ULPS[act], n, what);
          free(got);
        }
      }
      /* identity needs neither saved tensor */
      if (act == CLNN_ACT_IDENTITY) {
        TU_OK(clnn_tensor_fill(tdx, NAN));
        TU_OK(clnn_activation_backward(ctx, act, alpha, NULL, NULL, tdy, 0.0f, tdx));
        got = tu_read(tdx);
        tu_allclose(got, dy, n, 0, 0, "identity backward without x or y");
        free(got);
      }
    }
    /* in place: y = act(y) */
    if (n > 1000) {
      int act = CLNN_ACT_GELU;
      act_ref_forward(act, 0, x, want, n);
      clnn_tensor *t = tu_tensor(ctx, ndim, dims, x);
      TU_OK(clnn_activation_forward(ctx, act, 0, t, t));
      float *got = tu_read(t);
      for (size_t i = 0; i < n; i++) mag[i] = act_fwd_mag(act, 0, x[i]);
      tu_close_ulps(got, want, mag, ACT_FWD_ULPS[act], n, "gelu forward in place");
      free(got);
      clnn_tensor_destroy(t);
    }
    tu_check_guard(ty, "activation forward output");
    tu_check_guard(tdx, "activation backward output");
    clnn_tensor_destroy(tx);
    clnn_tensor_destroy(ty);
    clnn_tensor_destroy(tdy);
    clnn_tensor_destroy(tdx);
    free(x);
    free(dy);
    free(want);
    free(d0);
    free(mag);
  }
}

/* Backward vs central finite differences of L = sum w * act(x) (double reference). */
typedef struct fd_data {
  int act;
  float alpha;
  float *x, *w;
  size_t n;
} fd_data;

static double fd_loss(void *u) {
  fd_data *d = u;
  return act_ref_loss(d->act, d->alpha, d->x, d->w, d->n);
}

static void test_finite_differences(void) {
  enum { N = 12 };
  size_t dims[2] = {3, 4};
  for (int act = 0; act < CLNN_ACT_ID_COUNT; act++) {
    float x[N], w[N];
    for (int i = 0; i < N; i++) {
      float m = tu_uniform(0.3f, 2.0f); /* away from the kinks at 0 */
      x[i] = (i % 2) ? m : -m;
      w[i] = tu_uniform(-1.0f, 1.0f);
    }
    float alpha = act_alpha(act);
    clnn_tensor *tx = tu_tensor(ctx, 2, dims, x), *tw = tu_tensor(ctx, 2, dims, w);
    clnn_tensor *ty = tu_tensor(ctx, 2, dims, NULL), *tdx = tu_tensor(ctx, 2, dims, NULL);
    TU_OK(clnn_activation_forward(ctx, act, alpha, tx, ty));
    for (int src = 0; src < 2; src++) {
      if (src == 1 && !act_y_ok(act)) continue;
      TU_OK(clnn_activation_backward(ctx, act, alpha, src ? NULL : tx, src ? ty : NULL, tw, 0.0f,
                                     tdx));
      float *g = tu_read(tdx);
      fd_data d = {act, alpha, x, w, N};
      double worst = 0;
      for (int i = 0; i < N; i++) {
        double fd = tu_fd(x, i, 1e-3f, fd_loss, &d);
        double e = fabs(g[i] - fd) / (1e-3 + 1e-2 * fabs(fd));
        if (e > worst) worst = e;
      }
      TU_CHECK(worst <= 1.0, "%s backward (from %s) vs finite differences: error %.3g x tol",
               act_names[act], src ? "y" : "x", worst);
      free(g);
    }
    clnn_tensor_destroy(tx);
    clnn_tensor_destroy(tw);
    clnn_tensor_destroy(ty);
    clnn_tensor_destroy(tdx);
  }
}

/* ---------------------------------------------------------------------------------------------- */

static void test_elementwise(const char *shape_name) {
  static const size_t sizes[] = {1, 7, 4097, 100003};
  for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
    size_t n = sizes[si];
    float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
    float *want = malloc(n * sizeof(float)), *got;
    tu_fill_uniform(a, n, -3.0f, 3.0f);
    tu_fill_uniform(b, n, -3.0f, 3.0f);
    /* a as [n], b as [1, n]: equal element counts are enough */
    size_t d1[1] = {n}, d2[2] = {1, n};
    clnn_tensor *ta = tu_tensor(ctx, 1, d1, a), *tb = tu_tensor(ctx, 2, d2, b);
    clnn_tensor *ty = tu_guarded(ctx, 1, d1);
    char what[128];

    act_ref_add(a, b, want, n);
    TU_OK(clnn_tensor_fill(ty, NAN));
    TU_OK(clnn_add(ctx, ta, tb, ty));
    got = tu_read(ty);
    snprintf(what, sizeof what, "[%s] add n=%zu", shape_name, n);
    tu_allclose(got, want, n, 1e-6f, 1e-6f, what);
    free(got);

    act_ref_mul(a, b, want, n);
    TU_OK(clnn_mul(ctx, ta, tb, ty));
    got = tu_read(ty);
    snprintf(what, sizeof what, "[%s] mul n=%zu", shape_name, n);
    tu_allclose(got, want, n, 0, 0, what); /* one rounding of an exact product */
    free(got);

    /* y = a + b with y aliasing a, then y = y * b with y aliasing b */
    clnn_tensor *tc = tu_guarded(ctx, 1, d1);
    TU_OK(clnn_tensor_write(tc, a, n));
    act_ref_add(a, b, want, n);
    TU_OK(clnn_add(ctx, tc, tb, tc));
    got = tu_read(tc);
    snprintf(what, sizeof what, "[%s] add in place n=%zu", shape_name, n);
    tu_allclose(got, want, n, 1e-6f, 1e-6f, what);
    free(got);
    clnn_tensor *td = tu_guarded(ctx, 2, d2);
    TU_OK(clnn_tensor_write(td, b, n));
    act_ref_mul(a, b, want, n);
    TU_OK(clnn_mul(ctx, ta, td, td));
    got = tu_read(td);
    snprintf(what, sizeof what, "[%s] mul in place n=%zu", shape_name, n);
    tu_allclose(got, want, n, 0, 0, what);
    free(got);

    /* scale and axpy */
    memcpy(want, a, n * sizeof(float));
    act_ref_scale(-0.375f, want, n);
    TU_OK(clnn_tensor_write(tc, a, n));
    TU_OK(clnn_scale(ctx, -0.375f, tc));
    got = tu_read(tc);
    snprintf(what, sizeof what, "[%s] scale n=%zu", shape_name, n);
    tu_allclose(got, want, n, 0, 0, what);
    free(got);

    memcpy(want, b, n * sizeof(float));
    act_ref_axpy(1.7f, a, want, n);
    TU_OK(clnn_tensor_write(td, b, n));
    TU_OK(clnn_axpy(ctx, 1.7f, ta, td));
    got = tu_read(td);
    snprintf(what, sizeof what, "[%s] axpy n=%zu", shape_name, n);
    tu_allclose(got, want, n, 1e-6f, 1e-6f, what);
    free(got);

    tu_check_guard(ty, "add/mul output");
    tu_check_guard(tc, "add/scale output");
    tu_check_guard(td, "mul/axpy output");
    clnn_tensor_destroy(ta);
    clnn_tensor_destroy(tb);
    clnn_tensor_destroy(tc);
    clnn_tensor_destroy(td);
    clnn_tensor_destroy(ty);
    free(a);
    free(b);
    free(want);
  }

  /* bias_add over axis 1 of 2-D .. 5-D tensors */
  static const size_t bshapes[][6] = {
      {2, 5, 7}, {2, 1, 3}, {4, 2, 3, 5, 7}, {5, 2, 3, 2, 2, 3}, {3, 2, 17, 4097}, {2, 1, 1}};
  for (size_t si = 0; si < sizeof bshapes / sizeof bshapes[0]; si++) {
    int ndim = (int)bshapes[si][0];
    const size_t *dims = &bshapes[si][1];
    size_t n = 1, inner = 1;
    for (int d = 0; d < ndim; d++) n *= dims[d];
    for (int d = 2; d < ndim; d++) inner *= dims[d];
    size_t C = dims[1];
    float *y = malloc(n * sizeof(float)), *bias = malloc(C * sizeof(float));
    tu_fill_uniform(y, n, -1.0f, 1.0f);
    tu_fill_uniform(bias, C, -5.0f, 5.0f);
    clnn_tensor *ty = tu_guarded(ctx, ndim, dims), *tb = tu_tensor(ctx, 1, &C, bias);
    TU_OK(clnn_tensor_write(ty, y, n));
    TU_OK(clnn_bias_add(ctx, tb, ty));
    act_ref_bias_add(bias, y, n / (C * inner), C, inner);
    float *got = tu_read(ty);
    char what[128];
    snprintf(what, sizeof what, "[%s] bias_add %d-D n=%zu C=%zu", shape_name, ndim, n, C);
    tu_allclose(got, y, n, 1e-6f, 1e-6f, what);
    free(got);
    tu_check_guard(ty, "bias_add output");
    clnn_tensor_destroy(ty);
    clnn_tensor_destroy(tb);
    free(y);
    free(bias);
  }
}

/* ---------------------------------------------------------------------------------------------- */

static void test_errors(void) {
  size_t d34[2] = {3, 4}, d43[2] = {4, 3}, d12[1] = {12}, d5[1] = {5}, d3[1] = {3};
  float *s12 = fill_new(12, SENTINEL);
  clnn_tensor *x = tu_tensor(ctx, 2, d34, NULL), *y = tu_tensor(ctx, 2, d34, s12);
  clnn_tensor *y43 = tu_tensor(ctx, 2, d43, s12), *dx = tu_tensor(ctx, 2, d34, s12);
  clnn_tensor *x12 = tu_tensor(ctx, 1, d12, NULL), *v5 = tu_tensor(ctx, 1, d5, s12);
  clnn_tensor *other = tu_tensor(ctx2, 2, d34, NULL), *b3 = tu_tensor(ctx, 1, d3, NULL);
  TU_OK(clnn_tensor_fill(x, 0.5f));
  TU_OK(clnn_tensor_fill(x12, 0.5f));
  TU_OK(clnn_tensor_fill(b3, 0.5f));
  const clnn_status IA = CLNN_ERROR_INVALID_ARGUMENT, SM = CLNN_ERROR_SHAPE_MISMATCH,
                    CM = CLNN_ERROR_CONTEXT_MISMATCH;

  /* forward */
  TU_STATUS(clnn_activation_forward(ctx, CLNN_ACT_RELU, 0, NULL, y), IA);
  TU_STATUS(clnn_activation_forward(ctx, CLNN_ACT_RELU, 0, x, NULL), IA);
  TU_STATUS(clnn_activation_forward(NULL, CLNN_ACT_RELU, 0, x, y), IA);
  TU_STATUS(clnn_activation_forward(ctx, (clnn_activation)8, 0, x, y), IA);
  TU_STATUS(clnn_activation_forward(ctx, (clnn_activation)-1, 0, x, y), IA);
  TU_STATUS(clnn_activation_forward(ctx, CLNN_ACT_LEAKY_RELU, NAN, x, y), IA);
  TU_STATUS(clnn_activation_forward(ctx, CLNN_ACT_ELU, INFINITY, x, y), IA);
  TU_STATUS(clnn_activation_forward(ctx, CLNN_ACT_RELU, 0, x, y43), SM);
  TU_CHECK(strstr(clnn_last_error(), "[4, 3]") && strstr(clnn_last_error(), "[3, 4]"),
           "shape error names both shapes: %s", clnn_last_error());
  TU_STATUS(clnn_activation_forward(ctx, CLNN_ACT_RELU, 0, x12, y), SM);
  TU_STATUS(clnn_activation_forward(ctx, CLNN_ACT_RELU, 0, other, y), CM);
  tu_check_all(y, SENTINEL, "activation_forward after errors");
  tu_check_all(y43, SENTINEL, "activation_forward after errors (y43)");

  /* backward */
  TU_STATUS(clnn_activation_backward(ctx, CLNN_ACT_RELU, 0, x, NULL, NULL, 0, dx), IA);
  TU_STATUS(clnn_activation_backward(ctx, CLNN_ACT_RELU, 0, x, NULL, x, 0, NULL), IA);
  TU_STATUS(clnn_activation_backward(ctx, CLNN_ACT_RELU, 0, x, NULL, x, NAN, dx), IA);
  TU_STATUS(clnn_activation_backward(ctx, CLNN_ACT_RELU, 0, x, NULL, x, INFINITY, dx), IA);
  TU_STATUS(clnn_activation_backward(ctx, (clnn_activation)42, 0, x, NULL, x, 0, dx), IA);
  TU_STATUS(clnn_activation_backward(ctx, CLNN_ACT_RELU, 0, NULL, NULL, x, 0, dx), IA);
  TU_STATUS(clnn_activation_backward(ctx, CLNN_ACT_SIGMOID, 0, NULL, NULL, x, 0, dx), IA);
  TU_STATUS(clnn_activation_backward(ctx, CLNN_ACT_GELU, 0, NULL, x, x, 0, dx), IA);
  TU_CHECK(strstr(clnn_last_error(), "x") != NULL, "message: %s", clnn_last_error());
  TU_STATUS(clnn_activation_backward(ctx, CLNN_ACT_SOFTPLUS, 0, NULL, x, x, 0, dx), IA);
  TU_STATUS(clnn_activation_backward(ctx, CLNN_ACT_LEAKY_RELU, -0.5f, NULL, x, x, 0, dx), IA);
  TU_STATUS(clnn_activation_backward(ctx, CLNN_ACT_ELU, -1.0f, NULL, x, x, 0, dx), IA);
  TU_STATUS(clnn_activation_backward(ctx, CLNN_ACT_RELU, 0, x, NULL, x, 0, y43), SM);
  TU_STATUS(clnn_activation_backward(ctx, CLNN_ACT_RELU, 0, x12, NULL, x, 0, dx), SM);
  TU_STATUS(clnn_activation_backward(ctx, CLNN_ACT_RELU, 0, NULL, x12, x, 0, dx), SM);
  TU_STATUS(clnn_activation_backward(ctx, CLNN_ACT_RELU, 0, other, NULL, x, 0, dx), CM);
  TU_STATUS(clnn_activation_backward(ctx, CLNN_ACT_RELU, 0, x, other, x, 0, dx), CM);
  TU_STATUS(clnn_activation_backward(ctx, CLNN_ACT_RELU, 0, x, NULL, other, 0, dx), CM);
  tu_check_all(dx, SENTINEL, "activation_backward after errors");
  tu_check_all(y43, SENTINEL, "activation_backward after errors (y43)");

  /* elementwise */
  TU_STATUS(clnn_add(ctx, x, v5, y), SM);
  TU_STATUS(clnn_add(ctx, x, x, v5), SM);
  TU_STATUS(clnn_add(ctx, NULL, x, y), IA);
  TU_STATUS(clnn_add(ctx, x, other, y), CM);
  TU_STATUS(clnn_mul(ctx, x, x, v5), SM);
  TU_STATUS(clnn_mul(NULL, x, x, y), IA);
  TU_STATUS(clnn_scale(ctx, NAN, y), IA);
  TU_STATUS(clnn_scale(ctx, 1.0f, NULL), IA);
  TU_STATUS(clnn_scale(ctx, 1.0f, other), CM);
  TU_STATUS(clnn_axpy(ctx, 2.0f, x, v5), SM);
  TU_STATUS(clnn_axpy(ctx, INFINITY, x, y), IA);
  TU_STATUS(clnn_axpy(ctx, 2.0f, other, y), CM);
  TU_STATUS(clnn_bias_add(ctx, b3, v5), SM);   /* 1-D y */
  TU_STATUS(clnn_bias_add(ctx, v5, y), SM);    /* 5 biases for 4 channels */
  TU_CHECK(strstr(clnn_last_error(), "[3, 4]") && strstr(clnn_last_error(), "[5]"),
           "bias_add error names both shapes: %s", clnn_last_error());
  TU_STATUS(clnn_bias_add(ctx, NULL, y), IA);
  TU_STATUS(clnn_bias_add(ctx, b3, other), CM);
  tu_check_all(y, SENTINEL, "elementwise after errors");
  tu_check_all(v5, SENTINEL, "elementwise after errors (v5)");

  clnn_tensor_destroy(x);
  clnn_tensor_destroy(y);
  clnn_tensor_destroy(y43);
  clnn_tensor_destroy(dx);
  clnn_tensor_destroy(x12);
  clnn_tensor_destroy(v5);
  clnn_tensor_destroy(other);
  clnn_tensor_destroy(b3);
  free(s12);
}

int main(void) {
  ctx = tu_context();
  TU_OK(clnn_context_create(NULL, &ctx2));
  tu_seed(1234);
  test_activations("cpu shape");
  test_elementwise("cpu shape");
  test_finite_differences();
  test_errors();
  /* The GPU launch shapes (one element or float4 per work-item, work-groups of 128) here. */
  int saved = ctx->device_class;
  ctx->device_class = CLNN_DEVICE_CLASS_GPU;
  test_activations("gpu shape");
  test_elementwise("gpu shape");
  ctx->device_class = saved;
  clnn_context_destroy(ctx2);
  clnn_context_destroy(ctx);
  return tu_finish("test_activation");
}
