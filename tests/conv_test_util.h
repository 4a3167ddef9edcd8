/* tests/conv_test_util.h — what the convolution tests share (test_conv2d*.c): a test case's
 * shape and options (tcase), its clnn_conv2d_params and reference geometry, random / filled /
 * copied host arrays, writing a tensor, checking a result against a reference, and the
 * finite-difference check of both backward passes. */
#ifndef CLNN_TESTS_CONV_TEST_UTIL_H
#define CLNN_TESTS_CONV_TEST_UTIL_H

#include "conv_ref.h"
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tcase {
  const char *name;
  int n, c, h, w, k, r, s;
  int sh, sw, pt, pb, pl, pr, dh, dw, groups;
} tcase;

static inline clnn_conv2d_params params_of(const tcase *t) {
  clnn_conv2d_params p;
  clnn_conv2d_params_init(&p);
  p.stride_h = t->sh, p.stride_w = t->sw;
  p.pad_top = t->pt, p.pad_bottom = t->pb, p.pad_left = t->pl, p.pad_right = t->pr;
  p.dilation_h = t->dh, p.dilation_w = t->dw;
  p.groups = t->groups;
  return p;
}

static inline conv_ref_geom geom_of(const tcase *t) {
  conv_ref_geom g = {t->n,  t->c,  t->h,  t->w,  t->k,  t->r,  t->s,      t->sh, t->sw,
                     t->pt, t->pb, t->pl, t->pr, t->dh, t->dw, t->groups, 0,     0};
  return g;
}

/* The fused activations the convolution tests run on a pass, and the alpha each takes. */
static const clnn_activation CONV_TEST_ACTS[7] = {CLNN_ACT_RELU, CLNN_ACT_LEAKY_RELU, CLNN_ACT_ELU, CLNN_ACT_SIGMOID,
                                                  CLNN_ACT_TANH, CLNN_ACT_GELU, CLNN_ACT_SOFTPLUS};
static inline float conv_test_alpha(clnn_activation a) {
  return a == CLNN_ACT_LEAKY_RELU ? 0.1f : a == CLNN_ACT_ELU ? 0.7f : 0.0f;
}

/* n uniform floats in [-1, 1). */
static inline float *rnd(size_t n) {
  float *a = malloc(n * sizeof(float));
  if (!a) abort();
  tu_fill_uniform(a, n, -1.0f, 1.0f);
  return a;
}
/* n copies of v. */
static inline float *filled(size_t n, float v) {
  float *a = malloc(n * sizeof(float));
  if (!a) abort();
  for (size_t i = 0; i < n; i++) a[i] = v;
  return a;
}

/* A malloc'd copy of src[0 .. n). */
static inline float *copy_of(const float *src, size_t n) {
  float *a = malloc(n * sizeof(float));
  if (!a) abort();
  memcpy(a, src, n * sizeof(float));
  return a;
}

/* Writes host (the tensor's whole size) into t. */
static inline void put(clnn_tensor *t, const float *host) { TU_OK(clnn_tensor_write(t, host, clnn_tensor_numel(t))); }

/* Device result of t against want, sums of `len` products of values in [-1, 1] (absolute
 * tolerance atol_scale * sqrt(len)), and t's guard zone; messages "name [label] what". */
static inline void conv_expect(const clnn_tensor *t, const float *want, size_t len, float atol_scale,
                               const char *label, const char *name, const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s [%s] %s", name, label, what);
  float *got = tu_read(t);
  tu_allclose(got, want, clnn_tensor_numel(t), 1e-4f, atol_scale * sqrtf((float)len) + 1e-6f, msg);
  free(got);
  tu_check_guard(t, msg);
}

/* The forward pass with beta 0 (over NaN), 1 and 0.5, run with `algo` through the transposed
 * convolution's backward-data (its "dy" is t's input, its "dx" t's output), against the
 * reference; tolerance and label as conv_expect. */
static inline void conv_check_forward_beta(clnn_context *ctx, const tcase *t, clnn_conv_algo algo,
                                           float atol_scale, const char *label) {
  conv_ref_geom g = geom_of(t);
  if (!TU_CHECK(conv_ref_geom_conv(&g), "%s: reference geometry invalid", t->name)) return;
  clnn_conv2d_params p = params_of(t);
  size_t in_d[4] = {t->n, t->c, t->h, t->w}, wd[4] = {t->k, t->c / t->groups, t->r, t->s};
  size_t out_d[4] = {t->n, t->k, g.p, g.q};
  size_t nin = in_d[0] * in_d[1] * in_d[2] * in_d[3], nw = wd[0] * wd[1] * wd[2] * wd[3];
  size_t nout = out_d[0] * out_d[1] * out_d[2] * out_d[3];
  float *in = rnd(nin), *w = rnd(nw), *out0 = rnd(nout), *nan_out = filled(nout, NAN);
  float *conv = malloc(nout * 4), *want = malloc(nout * 4);
  if (!conv || !want) abort();
  conv_ref_forward(&g, in, w, NULL, CLNN_ACT_IDENTITY, 0.0f, conv);
  clnn_tensor *tin = tu_tensor(ctx, 4, in_d, in), *tw = tu_tensor(ctx, 4, wd, w), *tout = tu_guarded(ctx, 4, out_d);
  static const float betas[3] = {0.0f, 1.0f, 0.5f};
  for (int bi = 0; bi < 3; bi++) {
    for (size_t i = 0; i < nout; i++) want[i] = conv[i] + (bi ? betas[bi] * out0[i] : 0.0f);
    put(tout, bi ? out0 : nan_out);
    TU_OK(clnn_conv_transpose2d_backward_data(ctx, &p, algo, tin, tw, betas[bi], tout));
    char what[64];
    snprintf(what, sizeof what, "forward beta=%g (transposed backward-data)", betas[bi]);
    conv_expect(tout, want, wd[1] * wd[2] * wd[3], atol_scale, label, t->name, what);
  }
  clnn_tensor_destroy(tin); clnn_tensor_destroy(tw); clnn_tensor_destroy(tout);
  free(in); free(w); free(out0); free(nan_out); free(conv); free(want);
}

/* Gradients of L = sum(gy * conv(x, w)) from backward-data and backward-filter run with `algo`,
 * against central differences of the double reference, every element of x and w. */
static inline void conv_check_fd(clnn_context *ctx, const tcase *t, clnn_conv_algo algo) {
  conv_ref_geom g = geom_of(t);
  if (!TU_CHECK(conv_ref_geom_conv(&g), "%s: reference geometry invalid", t->name)) return;
  clnn_conv2d_params p = params_of(t);
  size_t xd[4] = {t->n, t->c, t->h, t->w}, wd[4] = {t->k, t->c / t->groups, t->r, t->s};
  size_t yd[4] = {t->n, t->k, g.p, g.q};
  size_t nx = xd[0] * xd[1] * xd[2] * xd[3], nw = wd[0] * wd[1] * wd[2] * wd[3];
  size_t ny = yd[0] * yd[1] * yd[2] * yd[3];
  float *x = rnd(nx), *w = rnd(nw), *gy = rnd(ny);
  double *y_buf = malloc(ny * sizeof(double));
  if (!y_buf) abort();
  clnn_tensor *tx = tu_tensor(ctx, 4, xd, x), *tw = tu_tensor(ctx, 4, wd, w), *tdy = tu_tensor(ctx, 4, yd, gy);
  clnn_tensor *tdx = tu_tensor(ctx, 4, xd, NULL), *tdw = tu_tensor(ctx, 4, wd, NULL);
  TU_OK(clnn_conv2d_backward_data(ctx, &p, algo, tdy, tw, 0.0f, tdx));
  TU_OK(clnn_conv2d_backward_filter(ctx, &p, algo, tx, tdy, 0.0f, tdw));
  float *gx = tu_read(tdx), *gw = tu_read(tdw);
  for (int which = 0; which < 2; which++) {
    float *v = which ? w : x, *got = which ? gw : gx;
    size_t n = which ? nw : nx;
    int bad = 0;
    for (size_t i = 0; i < n && !bad; i++) {
      const float keep = v[i], h = 1e-2f;
      double l[2];
      for (int sgn = 0; sgn < 2; sgn++) {
        v[i] = keep + (sgn ? -h : h);
        conv_ref_forward_d(&g, x, w, NULL, y_buf);
        l[sgn] = 0.0;
        for (size_t j = 0; j < ny; j++) l[sgn] += gy[j] * y_buf[j];
      }
      v[i] = keep;
      const double fd = (l[0] - l[1]) / (2.0 * h);
      bad = !TU_CHECK(fabs(fd - got[i]) <= 1e-3 + 1e-3 * fabs(fd), "%s: d%s[%zu] = %g, finite difference %g",
                      t->name, which ? "w" : "x", i, got[i], fd);
    }
  }
  clnn_tensor_destroy(tx); clnn_tensor_destroy(tw); clnn_tensor_destroy(tdy);
  clnn_tensor_destroy(tdx); clnn_tensor_destroy(tdw);
  free(x); free(w); free(gy); free(y_buf); free(gx); free(gw);
}

#endif
