/* tests/test_conv2d_winograd.c — the Winograd convolution F(4x4, 3x3) (CLNN_CONV_ALGO_WINOGRAD,
 * cl/conv2d_winograd.cl) forced on 3x3 stride-1 shapes against the plain-C reference (tests/ref/conv_ref.c): planes whose height and
 * width are not multiples of the tile (partial edge tiles), 1x1 and 2x3 planes, C and K not
 * multiples of 4 or 16, batch 1 and several, paddings 0, 1, 2 and asymmetric; forward with fused
 * bias and every activation; forward with beta (the transposed convolution's backward-data),
 * backward-data and backward-filter with beta 0 (over NaN), 1 and 0.5; the transposed
 * convolution's forward (with bias) and backward-filter; outputs with a guard zone;
 * a shape that takes several workspace chunks; gradients against central finite differences of
 * the double-precision reference; the error for every shape Winograd does not apply to (and
 * that a refused call writes nothing); the shapes AUTO runs it for. On a CPU-class context the tile transforms run the block
 * kernels (4 tiles per work-item) where chunks hold whole tile rows and the one-tile kernels
 * otherwise (a workspace limit below one tile row); the GPU-class pass (CLNN_DEVICE_CLASS=gpu)
 * runs the one-tile kernels with CLBlast's GEMM. Tolerances: Winograd's fp32 error is larger than
 * a direct sum's (the transforms multiply by entries up to 8 and the filter transform divides by
 * 24), so the absolute tolerance is 2e-5 times the square root of the sum's length, where the
 * direct kernels' tests use 3e-6. */
#include "conv_test_util.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t clnn__conv2d_set_workspace_limit(size_t bytes);

static clnn_context *ctx;
static const clnn_conv_algo WINO = CLNN_CONV_ALGO_WINOGRAD;

static void expect(const clnn_tensor *t, const float *want, size_t len, const char *name, const char *what) {
  conv_expect(t, want, len, 2e-5f, "winograd", name, what);
}

static const float BETAS[3] = {0.0f, 1.0f, 0.5f};

/* Forward (with bias + act, and plain), forward with beta, backward-data and backward-filter
 * with beta 0, 1, 0.5, all forced to WINOGRAD. */
static void check_case(const tcase *t, clnn_activation act, float alpha) {
  conv_ref_geom g = geom_of(t);
  if (!TU_CHECK(conv_ref_geom_conv(&g), "%s: reference geometry invalid", t->name)) return;
  clnn_conv2d_params p = params_of(t);
  size_t xd[4] = {t->n, t->c, t->h, t->w}, wd[4] = {t->k, t->c, 3, 3};
  size_t yd[4] = {t->n, t->k, g.p, g.q}, bd[1] = {t->k};
  size_t nx = xd[0] * xd[1] * xd[2] * xd[3], nw = wd[0] * wd[1] * 9, ny = yd[0] * yd[1] * yd[2] * yd[3];
  size_t len_f = (size_t)t->c * 9, len_d = (size_t)t->k * 9, len_w = (size_t)t->n * g.p * g.q;
  float *x = rnd(nx), *w = rnd(nw), *b = rnd(t->k), *dy = rnd(ny);
  float *dx0 = rnd(nx), *dw0 = rnd(nw), *y0 = rnd(ny);
  float *nan_x = filled(nx, NAN), *nan_w = filled(nw, NAN), *nan_y = filled(ny, NAN);
  float *y_ref = malloc(ny * 4), *y0_ref = malloc(ny * 4);
  conv_ref_forward(&g, x, w, b, act, alpha, y_ref);
  conv_ref_forward(&g, x, w, NULL, CLNN_ACT_IDENTITY, 0.0f, y0_ref);
  clnn_tensor *tx = tu_tensor(ctx, 4, xd, x), *tw = tu_tensor(ctx, 4, wd, w), *tb = tu_tensor(ctx, 1, bd, b);
  clnn_tensor *tdy = tu_tensor(ctx, 4, yd, dy);
  clnn_tensor *ty = tu_guarded(ctx, 4, yd), *tdx = tu_guarded(ctx, 4, xd), *tdw = tu_guarded(ctx, 4, wd);
  put(ty, nan_y);
  TU_OK(clnn_conv2d_forward(ctx, &p, WINO, tx, tw, tb, act, alpha, ty));
  expect(ty, y_ref, len_f, t->name, "forward + bias + act");
  TU_CHECK(strcmp(clnn__conv2d_last_algo(), "winograd") == 0, "%s: forced WINOGRAD ran %s", t->name,
           clnn__conv2d_last_algo());
  put(ty, nan_y);
  TU_OK(clnn_conv2d_forward(ctx, &p, WINO, tx, tw, NULL, CLNN_ACT_IDENTITY, 0.0f, ty));
  expect(ty, y0_ref, len_f, t->name, "forward");
  for (int bi = 0; bi < 3; bi++) {
    const float beta = BETAS[bi];
    char what[64];
    /* forward with beta: the transposed convolution's backward-data of "dy" x into "dx" y */
    float *want = malloc(ny * 4);
    for (size_t i = 0; i < ny; i++) want[i] = y0_ref[i] + (bi ? beta * y0[i] : 0.0f);
    put(ty, bi ? y0 : nan_y);
    TU_OK(clnn_conv_transpose2d_backward_data(ctx, &p, WINO, tx, tw, beta, ty));
    snprintf(what, sizeof what, "forward beta=%g (transposed backward-data)", beta);
    expect(ty, want, len_f, t->name, what);
    free(want);
    float *dx_ref = copy_of(dx0, nx), *dw_ref = copy_of(dw0, nw);
    conv_ref_backward_data(&g, dy, w, beta, dx_ref);
    conv_ref_backward_filter(&g, x, dy, beta, dw_ref);
    put(tdx, bi ? dx0 : nan_x);
    TU_OK(clnn_conv2d_backward_data(ctx, &p, WINO, tdy, tw, beta, tdx));
    snprintf(what, sizeof what, "backward-data beta=%g", beta);
    expect(tdx, dx_ref, len_d, t->name, what);
    put(tdw, bi ? dw0 : nan_w);
    TU_OK(clnn_conv2d_backward_filter(ctx, &p, WINO, tx, tdy, beta, tdw));
    snprintf(what, sizeof what, "backward-filter beta=%g", beta);
    expect(tdw, dw_ref, len_w, t->name, what);
    free(dx_ref);
    free(dw_ref);
  }
  clnn_tensor_destroy(tx); clnn_tensor_destroy(tw); clnn_tensor_destroy(tb); clnn_tensor_destroy(tdy);
  clnn_tensor_destroy(ty); clnn_tensor_destroy(tdx); clnn_tensor_destroy(tdw);
  free(x); free(w); free(b); free(dy); free(dx0); free(dw0); free(y0);
  free(nan_x); free(nan_w); free(nan_y); free(y_ref); free(y0_ref);
}

static void check_fd(const tcase *t) { conv_check_fd(ctx, t, WINO); }

/* Shapes Winograd does not take: every entry point and the workspace query refuse with
 * CLNN_ERROR_UNSUPPORTED naming the algorithm, and the output keeps its contents. */
static void check_refused(const tcase *t) {
  conv_ref_geom g = geom_of(t);
  if (!TU_CHECK(conv_ref_geom_conv(&g), "%s: reference geometry invalid", t->name)) return;
  clnn_conv2d_params p = params_of(t);
  size_t xd[4] = {t->n, t->c, t->h, t->w}, wd[4] = {t->k, t->c / t->groups, t->r, t->s};
  size_t yd[4] = {t->n, t->k, g.p, g.q}, bytes = 0;
  size_t ny = yd[0] * yd[1] * yd[2] * yd[3], nx = xd[0] * xd[1] * xd[2] * xd[3];
  size_t nw = wd[0] * wd[1] * wd[2] * wd[3];
  float *y0 = rnd(ny), *x0 = rnd(nx), *w0 = rnd(nw);
  clnn_tensor *tx = tu_tensor(ctx, 4, xd, x0), *tw = tu_tensor(ctx, 4, wd, w0), *ty = tu_tensor(ctx, 4, yd, y0);
  TU_CHECK(clnn_conv2d_workspace_size(ctx, &p, WINO, xd, wd, &bytes) == CLNN_ERROR_UNSUPPORTED &&
               strstr(clnn_last_error(), "WINOGRAD"),
           "%s: workspace_size did not refuse WINOGRAD (%s)", t->name, clnn_last_error());
  TU_CHECK(clnn_conv2d_forward(ctx, &p, WINO, tx, tw, NULL, CLNN_ACT_IDENTITY, 0.0f, ty) == CLNN_ERROR_UNSUPPORTED &&
               strstr(clnn_last_error(), "clnn_conv2d_forward") && strstr(clnn_last_error(), "algo"),
           "%s: forward did not refuse WINOGRAD (%s)", t->name, clnn_last_error());
  TU_CHECK(clnn_conv2d_backward_data(ctx, &p, WINO, ty, tw, 0.0f, tx) == CLNN_ERROR_UNSUPPORTED,
           "%s: backward-data did not refuse WINOGRAD", t->name);
  TU_CHECK(clnn_conv2d_backward_filter(ctx, &p, WINO, tx, ty, 0.0f, tw) == CLNN_ERROR_UNSUPPORTED,
           "%s: backward-filter did not refuse WINOGRAD", t->name);
  float *y = tu_read(ty), *x = tu_read(tx), *w = tu_read(tw);
  TU_CHECK(!memcmp(y, y0, ny * 4) && !memcmp(x, x0, nx * 4) && !memcmp(w, w0, nw * 4),
           "%s: a refused call changed its output", t->name);
  clnn_tensor_destroy(tx); clnn_tensor_destroy(tw); clnn_tensor_destroy(ty);
  free(y); free(x); free(w); free(y0); free(x0); free(w0);
}

/* The transposed convolution forced to WINOGRAD (its forward runs the backward-data pass, its
 * backward-filter the filter gradient with x and dy swapped): x [N, C, H, W], w [C, K, 3, 3]. */
static void check_transposed(const tcase *t) {
  conv_ref_geom g = geom_of(t);
  if (!TU_CHECK(conv_ref_geom_transpose(&g), "%s: reference geometry invalid", t->name)) return;
  clnn_conv2d_params p = params_of(t);
  size_t xd[4] = {t->n, t->c, t->h, t->w}, wd[4] = {t->c, t->k, 3, 3}, yd[4] = {t->n, t->k, g.p, g.q};
  size_t nx = xd[0] * xd[1] * xd[2] * xd[3], nw = wd[0] * wd[1] * 9, ny = yd[0] * yd[1] * yd[2] * yd[3];
  float *x = rnd(nx), *w = rnd(nw), *b = rnd(t->k), *dy = rnd(ny), *dw0 = rnd(nw);
  float *y_ref = malloc(ny * 4), *dw_ref = copy_of(dw0, nw);
  conv_ref_transpose_forward(&g, x, w, b, y_ref);
  conv_ref_transpose_backward_filter(&g, x, dy, 0.5f, dw_ref);
  size_t bd[1] = {t->k};
  clnn_tensor *tx = tu_tensor(ctx, 4, xd, x), *tw = tu_tensor(ctx, 4, wd, w), *tb = tu_tensor(ctx, 1, bd, b);
  clnn_tensor *tdy = tu_tensor(ctx, 4, yd, dy), *ty = tu_guarded(ctx, 4, yd), *tdw = tu_guarded(ctx, 4, wd);
  TU_OK(clnn_conv_transpose2d_forward(ctx, &p, WINO, tx, tw, tb, ty));
  expect(ty, y_ref, (size_t)t->c * 9, t->name, "transposed forward + bias");
  put(tdw, dw0);
  TU_OK(clnn_conv_transpose2d_backward_filter(ctx, &p, WINO, tx, tdy, 0.5f, tdw));
  expect(tdw, dw_ref, (size_t)t->n * t->h * t->w, t->name, "transposed backward-filter beta=0.5");
  clnn_tensor_destroy(tx); clnn_tensor_destroy(tw); clnn_tensor_destroy(tb); clnn_tensor_destroy(tdy);
  clnn_tensor_destroy(ty); clnn_tensor_destroy(tdw);
  free(x); free(w); free(b); free(dy); free(dw0); free(y_ref); free(dw_ref);
}

/* AUTO's choice (src/ops/conv2d.c, wino_auto): every pass of t runs Winograd exactly when
 * `want` says so, and AUTO's forward matches the reference. */
static void check_auto(const tcase *t, int want) {
  conv_ref_geom g = geom_of(t);
  if (!TU_CHECK(conv_ref_geom_conv(&g), "%s: reference geometry invalid", t->name)) return;
  clnn_conv2d_params p = params_of(t);
  size_t xd[4] = {t->n, t->c, t->h, t->w}, wd[4] = {t->k, t->c, 3, 3}, yd[4] = {t->n, t->k, g.p, g.q};
  size_t nx = xd[0] * xd[1] * xd[2] * xd[3], nw = wd[0] * wd[1] * 9, ny = yd[0] * yd[1] * yd[2] * yd[3];
  float *x = rnd(nx), *w = rnd(nw), *want_y = malloc(ny * 4);
  conv_ref_forward(&g, x, w, NULL, CLNN_ACT_IDENTITY, 0.0f, want_y);
  clnn_tensor *tx = tu_tensor(ctx, 4, xd, x), *tw = tu_tensor(ctx, 4, wd, w), *ty = tu_guarded(ctx, 4, yd);
  clnn_tensor *tdx = tu_tensor(ctx, 4, xd, NULL), *tdw = tu_tensor(ctx, 4, wd, NULL);
  const char *ran[3];
  TU_OK(clnn_conv2d_forward(ctx, &p, CLNN_CONV_ALGO_AUTO, tx, tw, NULL, CLNN_ACT_IDENTITY, 0.0f, ty));
  ran[0] = clnn__conv2d_last_algo();
  expect(ty, want_y, (size_t)t->c * 9, t->name, "forward (auto)");
  TU_OK(clnn_conv2d_backward_data(ctx, &p, CLNN_CONV_ALGO_AUTO, ty, tw, 0.0f, tdx));
  ran[1] = clnn__conv2d_last_algo();
  TU_OK(clnn_conv2d_backward_filter(ctx, &p, CLNN_CONV_ALGO_AUTO, tx, ty, 0.0f, tdw));
  ran[2] = clnn__conv2d_last_algo();
  for (int i = 0; i < 3; i++)
    TU_CHECK((strcmp(ran[i], "winograd") == 0) == want, "%s: AUTO pass %d ran %s, Winograd expected: %d", t->name, i,
             ran[i], want);
  clnn_tensor_destroy(tx); clnn_tensor_destroy(tw); clnn_tensor_destroy(ty);
  clnn_tensor_destroy(tdx); clnn_tensor_destroy(tdw);
  free(x); free(w); free(want_y);
}

int main(void) {
  ctx = tu_context();
  tu_seed(20261207);
  /* name, N, C, H, W, K, R, S, stride h/w, pad t/b/l/r, dilation h/w, groups */
  static const tcase cases[] = {
      {"res-like 16->16 12x12 pad1", 2, 16, 12, 12, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
      {"odd 5->7 9x11 pad1 (partial tiles)", 1, 5, 9, 11, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
      {"13->21 7x10 pad1 batch3", 3, 13, 7, 10, 21, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
      {"no padding 6->5 10x9", 2, 6, 10, 9, 5, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1},
      {"padding 2 3->4 5x6", 2, 3, 5, 6, 4, 3, 3, 1, 1, 2, 2, 2, 2, 1, 1, 1},
      {"asymmetric padding 2/0/1/2 4->3 8x7", 1, 4, 8, 7, 3, 3, 3, 1, 1, 2, 0, 1, 2, 1, 1, 1},
      {"one pixel 3->2 1x1 pad1", 2, 3, 1, 1, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
      {"2x3 plane 1->1 pad1", 1, 1, 2, 3, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
      {"wide 40->33 6x29 pad1", 2, 40, 6, 29, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
  };
  static const tcase fd[] = {
      {"fd 3->4 6x7 pad1", 2, 3, 6, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
      {"fd 2->3 7x5 no padding", 1, 2, 7, 5, 3, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_case(&cases[i], CLNN_ACT_IDENTITY, 0.0f);
  for (size_t i = 0; i < 7; i++) check_case(&cases[i % 3], CONV_TEST_ACTS[i], conv_test_alpha(CONV_TEST_ACTS[i]));
  for (size_t i = 0; i < sizeof fd / sizeof fd[0]; i++) check_fd(&fd[i]);
  /* several workspace chunks: 36 * (24 + 20) * 4 = 6336 bytes per tile. 64 KiB: chunks of 10
   * tiles (2 tile rows of 5); 16 KiB: chunks of 2 tiles, less than a tile row (the one-tile
   * kernels on CPU-class contexts). The workspace must be far below the unchunked size. */
  static const tcase chunked = {"chunked 24->20 23x19 pad1 batch2", 2, 24, 23, 19, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  static const size_t limits[2] = {64 << 10, 16 << 10};
  for (int li = 0; li < 2; li++) {
    size_t bytes = 0;
    clnn_conv2d_params cp = params_of(&chunked);
    size_t xd[4] = {2, 24, 23, 19}, wd[4] = {20, 24, 3, 3};
    size_t old = clnn__conv2d_set_workspace_limit(limits[li]);
    TU_OK(clnn_conv2d_workspace_size(ctx, &cp, WINO, xd, wd, &bytes));
    const size_t filt = 36 * 20 * 24 * 4, tiles = 2 * 6 * 5;
    TU_CHECK(bytes - filt <= limits[li] && bytes - filt < 36 * (24 + 20) * 4 * tiles / 4,
             "chunked: workspace %zu bytes is not chunked under %zu", bytes, limits[li]);
    check_case(&chunked, li ? CLNN_ACT_SIGMOID : CLNN_ACT_RELU, 0.0f);
    clnn__conv2d_set_workspace_limit(old);
  }

  check_transposed(&cases[1]);
  check_transposed(&cases[4]);

  /* AUTO: Winograd on CPU-class contexts from 64 channels in and out and 32 tiles of 4x4 */
  static const tcase autos[] = {
      {"auto 64->64 16x16 batch2 (32 tiles)", 2, 64, 16, 16, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
      {"auto 64->64 12x12 batch2 (18 tiles)", 2, 64, 12, 12, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
      {"auto 32->64 16x16 batch2 (32 input channels)", 2, 32, 16, 16, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
  };
  const int cpu = ctx->device_class == CLNN_DEVICE_CLASS_CPU;
  check_auto(&autos[0], cpu);
  check_auto(&autos[1], 0);
  check_auto(&autos[2], 0);

  static const tcase refused[] = {
      {"5x5 filter", 1, 2, 8, 8, 3, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1},
      {"stride 2", 1, 2, 8, 8, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
      {"dilation 2", 1, 2, 8, 8, 3, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1},
      {"groups 2", 1, 4, 8, 8, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2},
      {"padding 3", 1, 2, 8, 8, 3, 3, 3, 1, 1, 3, 3, 3, 3, 1, 1, 1},
      {"1x3 filter", 1, 2, 8, 8, 3, 1, 3, 1, 1, 0, 0, 1, 1, 1, 1, 1},
  };
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) check_refused(&refused[i]);

  clnn_context_destroy(ctx);
  return tu_finish("test_conv2d_winograd");
}
