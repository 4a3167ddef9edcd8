/* tools/tune/clnn_tune_conv.c — clnn-tune's convolution measurement (see clnn_tune_conv.h): the
 * GPU class's forward pass with im2col + GEMM and with the implicit GEMM, each forced, on three
 * bench shapes; the implicit GEMM wins only on the geometric mean. Public API only. */
#define _POSIX_C_SOURCE 200809L
#include "clnn_tune_conv.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double conv_now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct conv_shape {
  const char *name;
  size_t n, c, h, w, k, r, s;
  int stride, pad;
} conv_shape;

/* clnn-bench's conv_res3x3_14, conv_stem7x7 and conv_lenet5x5 (bench/bench_conv.c), same batch. */
static const conv_shape conv_shapes[CLNN_TUNE_CONV_SHAPES] = {
    {"res3x3_14 (2x256x14x14, 256 3x3)", 2, 256, 14, 14, 256, 3, 3, 1, 1},
    {"stem7x7 (2x3x224x224, 64 7x7 s2)", 2, 3, 224, 224, 64, 7, 7, 2, 3},
    {"lenet5x5 (64x1x28x28, 32 5x5)", 64, 1, 28, 28, 32, 5, 5, 1, 2},
};

static void fill_random(float *a, size_t n, uint64_t seed) {
  for (size_t i = 0; i < n; i++) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    a[i] = (float)((seed >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
  }
}

/* One forward call and its wall time (through clnn_context_finish); < 0 on failure. */
static double timed_forward(clnn_context *ctx, const clnn_conv2d_params *p, clnn_conv_algo algo, clnn_tensor *x,
                            clnn_tensor *w, clnn_tensor *b, clnn_tensor *y) {
  double t0 = conv_now_s();
  if (clnn_conv2d_forward(ctx, p, algo, x, w, b, CLNN_ACT_RELU, 0.0f, y) || clnn_context_finish(ctx)) return -1;
  return conv_now_s() - t0;
}

/* Measures shape `s` into `t`; 0 on success, else a message in note. */
static int measure_shape(clnn_context *ctx, const conv_shape *s, double until, int runs, clnn_tune_conv_time *t,
                         char *note, size_t note_size) {
  clnn_conv2d_params p;
  clnn_conv2d_params_init(&p);
  p.stride_h = p.stride_w = s->stride;
  p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = s->pad;
  const size_t P = (s->h + 2 * (size_t)s->pad - s->r) / (size_t)s->stride + 1;
  const size_t Q = (s->w + 2 * (size_t)s->pad - s->s) / (size_t)s->stride + 1;
  size_t xd[4] = {s->n, s->c, s->h, s->w}, wd[4] = {s->k, s->c, s->r, s->s}, bd[1] = {s->k},
         yd[4] = {s->n, s->k, P, Q};
  const size_t nx = s->n * s->c * s->h * s->w, nw = s->k * s->c * s->r * s->s, ny = s->n * s->k * P * Q;
  float *hx = malloc(nx * sizeof(float)), *hw = malloc(nw * sizeof(float)), *hb = malloc(s->k * sizeof(float));
  float *y1 = malloc(ny * sizeof(float)), *y2 = malloc(ny * sizeof(float));
  clnn_tensor *x = NULL, *w = NULL, *b = NULL, *ya = NULL, *yb = NULL;
  int rc = -1;
  if (!hx || !hw || !hb || !y1 || !y2) {
    snprintf(note, note_size, "out of host memory");
    goto done;
  }
  fill_random(hx, nx, 1);
  fill_random(hw, nw, 2);
  fill_random(hb, s->k, 3);
  if (clnn_tensor_create(ctx, 4, xd, &x) || clnn_tensor_create(ctx, 4, wd, &w) || clnn_tensor_create(ctx, 1, bd, &b) ||
      clnn_tensor_create(ctx, 4, yd, &ya) || clnn_tensor_create(ctx, 4, yd, &yb) || clnn_tensor_write(x, hx, nx) ||
      clnn_tensor_write(w, hw, nw) || clnn_tensor_write(b, hb, s->k) || clnn_tensor_fill(yb, NAN)) {
    snprintf(note, note_size, "%s: %s", s->name, clnn_last_error());
    goto done;
  }
  /* untimed calls (kernel builds), then the two outputs compared */
  if (timed_forward(ctx, &p, CLNN_CONV_ALGO_IM2COL_GEMM, x, w, b, ya) < 0 || clnn_tensor_read(ya, y1, ny)) {
    snprintf(note, note_size, "%s: im2col: %s", s->name, clnn_last_error());
    goto done;
  }
  if (timed_forward(ctx, &p, CLNN_CONV_ALGO_IMPLICIT_GEMM, x, w, b, yb) < 0 || clnn_tensor_read(yb, y2, ny)) {
    snprintf(note, note_size, "%s: implicit GEMM: %s", s->name, clnn_last_error());
    rc = 1; /* the implicit GEMM cannot run here: it loses */
    goto done;
  }
  double err = 0, scale = 0;
  for (size_t i = 0; i < ny; i++) {
    double d = fabs((double)y1[i] - (double)y2[i]);
    if (!(d <= err)) err = d; /* NaN included */
    if (fabs((double)y1[i]) > scale) scale = fabs((double)y1[i]);
  }
  if (!(err <= 1e-4 * (scale + 1.0))) {
    snprintf(note, note_size, "%s: the implicit GEMM disagrees with im2col (max difference %.3g of max |y| %.3g)",
             s->name, err, scale);
    rc = 1;
    goto done;
  }
  double best_i = 1e30, best_g = 1e30;
  for (int r = 0; r < runs && (r == 0 || conv_now_s() < until); r++) { /* interleaved: load hits both */
    double ti = timed_forward(ctx, &p, CLNN_CONV_ALGO_IM2COL_GEMM, x, w, b, ya);
    double tg = timed_forward(ctx, &p, CLNN_CONV_ALGO_IMPLICIT_GEMM, x, w, b, yb);
    if (ti < 0 || tg < 0) {
      snprintf(note, note_size, "%s: %s", s->name, clnn_last_error());
      rc = 1;
      goto done;
    }
    if (ti < best_i) best_i = ti;
    if (tg < best_g) best_g = tg;
  }
  t->im2col_ms = 1e3 * best_i;
  t->igemm_ms = 1e3 * best_g;
  rc = 0;
done:
  clnn_tensor_destroy(x);
  clnn_tensor_destroy(w);
  clnn_tensor_destroy(b);
  clnn_tensor_destroy(ya);
  clnn_tensor_destroy(yb);
  free(hx);
  free(hw);
  free(hb);
  free(y1);
  free(y2);
  return rc;
}

int clnn_tune_conv_measure(cl_context context, cl_device_id device, cl_command_queue queue, const char *tune_file,
                           const char *cache_dir, double until, int runs, clnn_tune_conv_time out[CLNN_TUNE_CONV_SHAPES],
                           char *note, size_t note_size) {
  for (int i = 0; i < CLNN_TUNE_CONV_SHAPES; i++) {
    out[i].name = conv_shapes[i].name;
    out[i].im2col_ms = out[i].igemm_ms = 0;
  }
  clnn_context_options o;
  clnn_context_options_init(&o);
  o.cache_dir = cache_dir;
  o.device_class = CLNN_DEVICE_GPU;
  clnn_context *ctx = NULL;
  setenv("CLNN_TUNE", tune_file, 1);
  clnn_status st = clnn_context_wrap(context, device, queue, &o, &ctx);
  unsetenv("CLNN_TUNE");
  if (st != CLNN_SUCCESS) {
    snprintf(note, note_size, "not measured: GPU-class context: %s", clnn_last_error());
    return 0;
  }
  double logsum = 0;
  int measured = 0;
  for (int i = 0; i < CLNN_TUNE_CONV_SHAPES; i++) {
    if (conv_now_s() >= until) break;
    int rc = measure_shape(ctx, &conv_shapes[i], until, runs, &out[i], note, note_size);
    if (rc != 0) {
      clnn_context_destroy(ctx);
      return 0; /* a failure of the implicit GEMM (or of anything) keeps im2col */
    }
    logsum += log(out[i].im2col_ms / out[i].igemm_ms);
    measured++;
  }
  clnn_context_destroy(ctx);
  if (!measured) {
    snprintf(note, note_size, "not measured: out of time");
    return 0;
  }
  const double ratio = exp(logsum / measured);
  const int on = ratio > 1.02;
  snprintf(note, note_size, "im2col / implicit-GEMM time, geometric mean over %d shape%s: %.3f (%s)", measured,
           measured == 1 ? "" : "s", ratio, on ? "implicit GEMM wins" : "im2col kept");
  return on;
}

void clnn_tune_conv_write(FILE *f, int file, const clnn_tune_conv_time t[CLNN_TUNE_CONV_SHAPES], int on,
                          const char *note) {
  const char *c = file ? "# " : "  ";
  fprintf(f, "%sconv forward on the GPU class, bias + ReLU fused (ms, best of the runs):\n", file ? "# " : "");
  for (int i = 0; i < CLNN_TUNE_CONV_SHAPES; i++)
    if (t[i].im2col_ms > 0)
      fprintf(f, "%s  %-36s im2col %9.3f  implicit GEMM %9.3f\n", c, t[i].name, t[i].im2col_ms, t[i].igemm_ms);
  fprintf(f, "%s  %s\n", c, note);
  if (file) fprintf(f, "conv.igemm = %d\n", on);
  else fprintf(f, "conv forward on the GPU class: %s (conv.igemm = %d)\n", on ? "implicit GEMM" : "im2col + GEMM", on);
}
