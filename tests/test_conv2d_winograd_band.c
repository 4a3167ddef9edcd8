/* tests/test_conv2d_winograd_band.c — the Winograd band forward (F(2,4) along output rows,
 * conv2d_band_wino_forward_cpu in cl/conv2d_direct_general.cl), which CLNN_CONV_ALGO_WINOGRAD
 * runs on CPU-class contexts for the forward pass of row-stride-2 convolutions with 5 to 8
 * filter rows, against the plain-C reference (tests/ref/conv_ref.c): the 7x7 stride-2 stem with
 * an odd number of output rows (a last tile row of one row) and fewer than 16 output columns;
 * output rows in several bands of 4 tile rows with a partial last band; runs of 16 columns with
 * a tail; column stride 1 and 3, column dilation 2, 5, 6 and 8 filter rows, asymmetric and zero
 * padding, one input channel, K not a multiple of 4 (a partial block of 4 channels); fused bias
 * and every activation; beta 0 (over NaN), 1 and 0.5 through the transposed convolution's
 * backward-data (a forward pass with beta; each shape's sizes map back through the transposed
 * geometry); outputs with a guard zone. Forced WINOGRAD's
 * backward passes on these shapes run what AUTO picks and match the reference. AUTO runs the
 * band for the RGB stem's forward only. Shapes it does not take (9 filter rows, row dilation 2,
 * groups 2, 4 filter rows) are refused unchanged; on the GPU class (CLNN_DEVICE_CLASS=gpu) every
 * one of them is. Tolerance: that of tests/test_conv2d_winograd.c (2e-5 times the square root
 * of the sum's length; the transforms multiply by up to 3 and divide by 6). */
#include "conv_test_util.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static clnn_context *ctx;
static const clnn_conv_algo WINO = CLNN_CONV_ALGO_WINOGRAD;

static void expect(const clnn_tensor *t, const float *want, size_t len, const char *name, const char *what) {
  conv_expect(t, want, len, 2e-5f, "winograd band", name, what);
}

static int is_band(void) { return strcmp(clnn__conv2d_last_algo(), "winograd-band") == 0; }

/* Forward forced to WINOGRAD with bias and act, and plain; forward with beta 0, 1, 0.5 (the
 * transposed convolution's backward-data); backward-data and backward-filter forced to WINOGRAD
 * (AUTO's algorithms). */
static void check_case(const tcase *t, clnn_activation act, float alpha) {
  conv_ref_geom g = geom_of(t);
  if (!TU_CHECK(conv_ref_geom_conv(&g), "%s: reference geometry invalid", t->name)) return;
  clnn_conv2d_params p = params_of(t);
  size_t xd[4] = {t->n, t->c, t->h, t->w}, wd[4] = {t->k, t->c, t->r, t->s};
  size_t yd[4] = {t->n, t->k, g.p, g.q}, bd[1] = {t->k};
  size_t nx = xd[0] * xd[1] * xd[2] * xd[3], nw = wd[0] * wd[1] * wd[2] * wd[3], ny = yd[0] * yd[1] * yd[2] * yd[3];
  size_t len_f = (size_t)t->c * t->r * t->s;
  float *x = rnd(nx), *w = rnd(nw), *b = rnd(t->k), *dy = rnd(ny);
  float *nan_y = filled(ny, NAN), *y_ref = malloc(ny * 4), *y0_ref = malloc(ny * 4);
  float *dx_ref = filled(nx, 0.0f), *dw_ref = filled(nw, 0.0f);
  conv_ref_forward(&g, x, w, b, act, alpha, y_ref);
  conv_ref_forward(&g, x, w, NULL, CLNN_ACT_IDENTITY, 0.0f, y0_ref);
  conv_ref_backward_data(&g, dy, w, 0.0f, dx_ref);
  conv_ref_backward_filter(&g, x, dy, 0.0f, dw_ref);
  clnn_tensor *tx = tu_tensor(ctx, 4, xd, x), *tw = tu_tensor(ctx, 4, wd, w), *tb = tu_tensor(ctx, 1, bd, b);
  clnn_tensor *tdy = tu_tensor(ctx, 4, yd, dy);
  clnn_tensor *ty = tu_guarded(ctx, 4, yd), *tdx = tu_guarded(ctx, 4, xd), *tdw = tu_guarded(ctx, 4, wd);
  put(ty, nan_y);
  TU_OK(clnn_conv2d_forward(ctx, &p, WINO, tx, tw, tb, act, alpha, ty));
  expect(ty, y_ref, len_f, t->name, "forward + bias + act");
  TU_CHECK(is_band(), "%s: forced WINOGRAD ran %s", t->name, clnn__conv2d_last_algo());
  put(ty, nan_y);
  TU_OK(clnn_conv2d_forward(ctx, &p, WINO, tx, tw, NULL, CLNN_ACT_IDENTITY, 0.0f, ty));
  expect(ty, y0_ref, len_f, t->name, "forward");
  conv_check_forward_beta(ctx, t, WINO, 2e-5f, "winograd band");
  TU_CHECK(is_band(), "%s: forced WINOGRAD with beta ran %s", t->name, clnn__conv2d_last_algo());
  TU_OK(clnn_conv2d_backward_data(ctx, &p, WINO, tdy, tw, 0.0f, tdx));
  TU_CHECK(!is_band(), "%s: backward-data ran the forward-only band", t->name);
  expect(tdx, dx_ref, (size_t)t->k * t->r * t->s, t->name, "backward-data (as AUTO)");
  TU_OK(clnn_conv2d_backward_filter(ctx, &p, WINO, tx, tdy, 0.0f, tdw));
  TU_CHECK(!is_band(), "%s: backward-filter ran the forward-only band", t->name);
  expect(tdw, dw_ref, (size_t)t->n * g.p * g.q, t->name, "backward-filter (as AUTO)");
  clnn_tensor_destroy(tx); clnn_tensor_destroy(tw); clnn_tensor_destroy(tb); clnn_tensor_destroy(tdy);
  clnn_tensor_destroy(ty); clnn_tensor_destroy(tdx); clnn_tensor_destroy(tdw);
  free(x); free(w); free(b); free(dy); free(nan_y); free(y_ref); free(y0_ref);
  free(dx_ref); free(dw_ref);
}

/* Forward forced to WINOGRAD refused with CLNN_ERROR_UNSUPPORTED naming the algorithm, the
 * workspace query too, and the output unchanged. */
static void check_refused(const tcase *t) {
  conv_ref_geom g = geom_of(t);
  if (!TU_CHECK(conv_ref_geom_conv(&g), "%s: reference geometry invalid", t->name)) return;
  clnn_conv2d_params p = params_of(t);
  size_t xd[4] = {t->n, t->c, t->h, t->w}, wd[4] = {t->k, t->c / t->groups, t->r, t->s};
  size_t yd[4] = {t->n, t->k, g.p, g.q}, bytes = 0;
  size_t ny = yd[0] * yd[1] * yd[2] * yd[3];
  float *y0 = rnd(ny), *x0 = rnd(xd[0] * xd[1] * xd[2] * xd[3]), *w0 = rnd(wd[0] * wd[1] * wd[2] * wd[3]);
  clnn_tensor *tx = tu_tensor(ctx, 4, xd, x0), *tw = tu_tensor(ctx, 4, wd, w0), *ty = tu_tensor(ctx, 4, yd, y0);
  TU_CHECK(clnn_conv2d_workspace_size(ctx, &p, WINO, xd, wd, &bytes) == CLNN_ERROR_UNSUPPORTED &&
               strstr(clnn_last_error(), "WINOGRAD"),
           "%s: workspace_size did not refuse WINOGRAD (%s)", t->name, clnn_last_error());
  TU_CHECK(clnn_conv2d_forward(ctx, &p, WINO, tx, tw, NULL, CLNN_ACT_IDENTITY, 0.0f, ty) == CLNN_ERROR_UNSUPPORTED &&
               strstr(clnn_last_error(), "row stride 2"),
           "%s: forward did not refuse WINOGRAD (%s)", t->name, clnn_last_error());
  float *y = tu_read(ty);
  TU_CHECK(!memcmp(y, y0, ny * 4), "%s: a refused call changed its output", t->name);
  clnn_tensor_destroy(tx); clnn_tensor_destroy(tw); clnn_tensor_destroy(ty);
  free(y); free(y0); free(x0); free(w0);
}

/* AUTO's forward runs the band exactly when `want` says so, and matches the reference. */
static void check_auto(const tcase *t, int want) {
  conv_ref_geom g = geom_of(t);
  if (!TU_CHECK(conv_ref_geom_conv(&g), "%s: reference geometry invalid", t->name)) return;
  clnn_conv2d_params p = params_of(t);
  size_t xd[4] = {t->n, t->c, t->h, t->w}, wd[4] = {t->k, t->c, t->r, t->s}, yd[4] = {t->n, t->k, g.p, g.q};
  size_t ny = yd[0] * yd[1] * yd[2] * yd[3];
  float *x = rnd(xd[0] * xd[1] * xd[2] * xd[3]), *w = rnd(wd[0] * wd[1] * wd[2] * wd[3]), *want_y = malloc(ny * 4);
  conv_ref_forward(&g, x, w, NULL, CLNN_ACT_RELU, 0.0f, want_y);
  clnn_tensor *tx = tu_tensor(ctx, 4, xd, x), *tw = tu_tensor(ctx, 4, wd, w), *ty = tu_guarded(ctx, 4, yd);
  TU_OK(clnn_conv2d_forward(ctx, &p, CLNN_CONV_ALGO_AUTO, tx, tw, NULL, CLNN_ACT_RELU, 0.0f, ty));
  TU_CHECK(is_band() == want, "%s: AUTO's forward ran %s, the Winograd band expected: %d", t->name,
           clnn__conv2d_last_algo(), want);
  expect(ty, want_y, (size_t)t->c * t->r * t->s, t->name, "forward + relu (auto)");
  clnn_tensor_destroy(tx); clnn_tensor_destroy(tw); clnn_tensor_destroy(ty);
  free(x); free(w); free(want_y);
}

int main(void) {
  ctx = tu_context();
  tu_seed(20261206);
  const int cpu = ctx->device_class == CLNN_DEVICE_CLASS_CPU;
  /* name, N, C, H, W, K, R, S, stride h/w, pad t/b/l/r, dilation h/w, groups */
  static const tcase cases[] = {
      {"stem 3->18 29x29 7x7/2 pad3 (15x15 out)", 2, 3, 29, 29, 18, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1},
      {"stem bands 3->8 123x19 7x7/2 pad3 (62 rows)", 2, 3, 123, 19, 8, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1},
      {"wide 2->5 21x69 7x7/2 pad3 (35 columns)", 1, 2, 21, 69, 5, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1},
      {"stride 2x1 dilation w2 4->7 18x23 5x5 pad 1/2/4/0", 2, 4, 18, 23, 7, 5, 5, 2, 1, 1, 2, 4, 0, 1, 2, 1},
      {"8x3 stride 2x3 1->5 26x39 no padding", 1, 1, 26, 39, 5, 8, 3, 2, 3, 0, 0, 0, 0, 1, 1, 1},
      {"6x6/2 3->4 17x19 pad 2/3/1/2 batch3", 3, 3, 17, 19, 4, 6, 6, 2, 2, 2, 3, 1, 2, 1, 1, 1},
  };
  static const tcase refused[] = {
      {"9x9/2", 1, 3, 20, 20, 4, 9, 9, 2, 2, 4, 4, 4, 4, 1, 1, 1},
      {"7x7/2 row dilation 2", 1, 3, 30, 20, 4, 7, 7, 2, 2, 3, 3, 3, 3, 2, 1, 1},
      {"7x7/2 groups 2", 1, 4, 20, 20, 4, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 2},
      {"4x4/2", 1, 3, 20, 20, 4, 4, 4, 2, 2, 1, 1, 1, 1, 1, 1, 1},
  };
  if (cpu) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_case(&cases[i], CLNN_ACT_IDENTITY, 0.0f);
    for (size_t i = 0; i < 7; i++) check_case(&cases[i % 3], CONV_TEST_ACTS[i], conv_test_alpha(CONV_TEST_ACTS[i]));
  } else {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_refused(&cases[i]);
  }
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) check_refused(&refused[i]);

  /* AUTO: the band for the forward of 2 to 4 input channels, 7 or 8 filter rows (CPU class) */
  static const tcase autos[] = {
      {"auto stem 3->16 40x36 7x7/2", 2, 3, 40, 36, 16, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1},
      {"auto 1 channel 1->16 40x36 7x7/2", 2, 1, 40, 36, 16, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1},
      {"auto 8 channels 8->16 40x36 7x7/2", 2, 8, 40, 36, 16, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1},
      {"auto 5x5/2 3->16 40x36", 2, 3, 40, 36, 16, 5, 5, 2, 2, 2, 2, 2, 2, 1, 1, 1},
  };
  check_auto(&autos[0], cpu);
  for (size_t i = 1; i < sizeof autos / sizeof autos[0]; i++) check_auto(&autos[i], 0);

  clnn_context_destroy(ctx);
  return tu_finish("test_conv2d_winograd_band");
}
