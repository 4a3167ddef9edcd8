/* tests/test_conv2d_direct.c — the CPU-class direct kernels for one input channel per group
 * (cl/conv2d_direct.cl: the c1 forward in blocks of 16 output channels, the banded depthwise
 * forward and its flipped use as backward-data, the c1 backward-filter walking the rows with a
 * window of dy rows, which also serves depthwise 3x3 and 5x5) and the band
 * forward and backward-filter for any stride with several input channels per group, forced with
 * CLNN_CONV_ALGO_DIRECT against the plain-C reference (tests/ref/conv_ref.c) on every shape class
 * they can be chosen for: 3x3 and 5x5, K not a multiple of the 16-channel block, groups,
 * asymmetric padding, column dilation, batch 1, planes narrower than 16 (several rows per vector,
 * or a band chunk with fewer lanes than 16), rows of 16, rows ending in a partial chunk, heights
 * not a multiple of the band, the first and last plane of the buffer; fused bias with identity,
 * ReLU (the plain-store path), leaky ReLU and sigmoid (the general one); beta 0 (NaN prefill), 1
 * and 0.5 for both backward passes and for the forward pass (reached through the transposed
 * convolution's backward-data); outputs with a guard zone (no write past the end); shapes whose
 * padded plane does not fit the local-memory bound (the older kernels take them); the neighbours
 * that keep the older kernels (row dilation, depthwise x2 forward); the label AUTO reports;
 * gradients against central finite differences of the double-precision reference; and bit-
 * identical reruns. These kernels exist for CPU-class contexts only (src/ops/conv2d.c: use_flat),
 * so the tests run on a CPU-class context (the default one on PoCL; a context switched to the CPU
 * class when the device or $CLNN_DEVICE_CLASS says otherwise). */
#include "conv_test_util.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static clnn_context *ctx;
static const clnn_conv_algo DIRECT = CLNN_CONV_ALGO_DIRECT;

static void expect(const clnn_tensor *t, const float *want, size_t len, const char *name, const char *what) {
  conv_expect(t, want, len, 3e-6f, "direct", name, what);
}

static const float BETAS[3] = {0.0f, 1.0f, 0.5f};

/* Forward (with bias + act, and plain), backward-data and backward-filter with beta 0, 1, 0.5,
 * DIRECT forced; `label` (when set) is what clnn__conv2d_last_algo must report for AUTO's
 * forward on this shape. */
static void check_case(const tcase *t, clnn_activation act, float alpha, const char *label) {
  conv_ref_geom g = geom_of(t);
  if (!TU_CHECK(conv_ref_geom_conv(&g), "%s: reference geometry invalid", t->name)) return;
  clnn_conv2d_params p = params_of(t);
  size_t xd[4] = {t->n, t->c, t->h, t->w}, wd[4] = {t->k, t->c / t->groups, t->r, t->s};
  size_t yd[4] = {t->n, t->k, g.p, g.q}, bd[1] = {t->k};
  size_t nx = xd[0] * xd[1] * xd[2] * xd[3], nw = wd[0] * wd[1] * wd[2] * wd[3];
  size_t ny = yd[0] * yd[1] * yd[2] * yd[3];
  size_t len_f = wd[1] * wd[2] * wd[3], len_d = (size_t)(t->k / t->groups) * t->r * t->s;
  size_t len_w = (size_t)t->n * g.p * g.q;
  float *x = rnd(nx), *w = rnd(nw), *b = rnd(t->k), *dy = rnd(ny);
  float *dx0 = rnd(nx), *dw0 = rnd(nw), *nan_x = filled(nx, NAN), *nan_w = filled(nw, NAN), *nan_y = filled(ny, NAN);
  float *y_ref = malloc(ny * 4), *y0_ref = malloc(ny * 4);
  conv_ref_forward(&g, x, w, b, act, alpha, y_ref);
  conv_ref_forward(&g, x, w, NULL, CLNN_ACT_IDENTITY, 0.0f, y0_ref);
  clnn_tensor *tx = tu_tensor(ctx, 4, xd, x), *tw = tu_tensor(ctx, 4, wd, w), *tb = tu_tensor(ctx, 1, bd, b);
  clnn_tensor *tdy = tu_tensor(ctx, 4, yd, dy);
  clnn_tensor *ty = tu_guarded(ctx, 4, yd), *tdx = tu_guarded(ctx, 4, xd), *tdw = tu_guarded(ctx, 4, wd);
  put(ty, nan_y);
  TU_OK(clnn_conv2d_forward(ctx, &p, DIRECT, tx, tw, tb, act, alpha, ty));
  expect(ty, y_ref, len_f, t->name, "forward + bias + act");
  put(ty, nan_y);
  TU_OK(clnn_conv2d_forward(ctx, &p, DIRECT, tx, tw, NULL, CLNN_ACT_IDENTITY, 0.0f, ty));
  expect(ty, y0_ref, len_f, t->name, "forward");
  if (label) {
    put(ty, nan_y);
    TU_OK(clnn_conv2d_forward(ctx, &p, CLNN_CONV_ALGO_AUTO, tx, tw, NULL, CLNN_ACT_IDENTITY, 0.0f, ty));
    expect(ty, y0_ref, len_f, t->name, "forward (auto)");
    /* AUTO's forward of an RGB stem with 7 or 8 filter rows at row stride 2 is the Winograd band
     * (tests/test_conv2d_winograd_band.c) */
    const char *fwd = strcmp(label, "direct-band") == 0 && t->sh == 2 && t->dh == 1 && t->r >= 7 &&
                              t->r <= 8 && t->s <= 16 && t->groups == 1 ? "winograd-band" : label;
    TU_CHECK(strcmp(clnn__conv2d_last_algo(), fwd) == 0, "%s: AUTO forward ran %s, expected %s", t->name,
             clnn__conv2d_last_algo(), fwd);
  }
  for (int bi = 0; bi < 3; bi++) {
    const float beta = BETAS[bi];
    char what[64];
    float *dx_ref = copy_of(dx0, nx), *dw_ref = copy_of(dw0, nw);
    conv_ref_backward_data(&g, dy, w, beta, dx_ref);
    conv_ref_backward_filter(&g, x, dy, beta, dw_ref);
    put(tdx, bi ? dx0 : nan_x);
    TU_OK(clnn_conv2d_backward_data(ctx, &p, DIRECT, tdy, tw, beta, tdx));
    snprintf(what, sizeof what, "backward-data beta=%g", beta);
    expect(tdx, dx_ref, len_d, t->name, what);
    put(tdw, bi ? dw0 : nan_w);
    TU_OK(clnn_conv2d_backward_filter(ctx, &p, DIRECT, tx, tdy, beta, tdw));
    snprintf(what, sizeof what, "backward-filter beta=%g", beta);
    expect(tdw, dw_ref, len_w, t->name, what);
    if (label && strcmp(label, "direct-band") == 0) { /* AUTO's backward-filter runs it too */
      put(tdw, bi ? dw0 : nan_w);
      TU_OK(clnn_conv2d_backward_filter(ctx, &p, CLNN_CONV_ALGO_AUTO, tx, tdy, beta, tdw));
      expect(tdw, dw_ref, len_w, t->name, "backward-filter (auto)");
      TU_CHECK(strcmp(clnn__conv2d_last_algo(), label) == 0, "%s: AUTO backward-filter ran %s, expected %s",
               t->name, clnn__conv2d_last_algo(), label);
    }
    free(dx_ref);
    free(dw_ref);
  }
  clnn_tensor_destroy(tx); clnn_tensor_destroy(tw); clnn_tensor_destroy(tb); clnn_tensor_destroy(tdy);
  clnn_tensor_destroy(ty); clnn_tensor_destroy(tdx); clnn_tensor_destroy(tdw);
  free(x); free(w); free(b); free(dy); free(dx0); free(dw0); free(nan_x); free(nan_w); free(nan_y);
  free(y_ref); free(y0_ref);
}

/* The forward pass with beta: the transposed convolution whose backward-data is t's convolution
 * (x [N, K, H, W] of the transposed one is t's output, its w [K, C/G, R, S] t's weights), so
 * dx = beta*dx + conv(dy, w) with dy of t's input shape: beta 0 over NaN, 1 and 0.5. */
static void check_forward_beta(const tcase *t) { conv_check_forward_beta(ctx, t, DIRECT, 3e-6f, "direct"); }

static void check_fd(const tcase *t) { conv_check_fd(ctx, t, DIRECT); }

/* Every pass twice, bit for bit. */
static void check_determinism(const tcase *t) {
  conv_ref_geom g = geom_of(t);
  if (!TU_CHECK(conv_ref_geom_conv(&g), "%s: reference geometry invalid", t->name)) return;
  clnn_conv2d_params p = params_of(t);
  size_t xd[4] = {t->n, t->c, t->h, t->w}, wd[4] = {t->k, t->c / t->groups, t->r, t->s};
  size_t yd[4] = {t->n, t->k, g.p, g.q};
  size_t nx = xd[0] * xd[1] * xd[2] * xd[3], nw = wd[0] * wd[1] * wd[2] * wd[3];
  size_t ny = yd[0] * yd[1] * yd[2] * yd[3];
  float *x = rnd(nx), *w = rnd(nw), *dy = rnd(ny);
  clnn_tensor *tx = tu_tensor(ctx, 4, xd, x), *tw = tu_tensor(ctx, 4, wd, w), *tdy = tu_tensor(ctx, 4, yd, dy);
  clnn_tensor *out[3] = {tu_tensor(ctx, 4, yd, NULL), tu_tensor(ctx, 4, xd, NULL), tu_tensor(ctx, 4, wd, NULL)};
  float *first[3] = {NULL, NULL, NULL};
  size_t n[3] = {ny, nx, nw};
  for (int rep = 0; rep < 2; rep++) {
    TU_OK(clnn_conv2d_forward(ctx, &p, DIRECT, tx, tw, NULL, CLNN_ACT_IDENTITY, 0.0f, out[0]));
    TU_OK(clnn_conv2d_backward_data(ctx, &p, DIRECT, tdy, tw, 0.0f, out[1]));
    TU_OK(clnn_conv2d_backward_filter(ctx, &p, DIRECT, tx, tdy, 0.0f, out[2]));
    for (int i = 0; i < 3; i++) {
      float *got = tu_read(out[i]);
      if (rep == 0) first[i] = got;
      else {
        TU_CHECK(memcmp(got, first[i], n[i] * sizeof(float)) == 0, "%s: pass %d differs between runs", t->name, i);
        free(got);
      }
    }
  }
  for (int i = 0; i < 3; i++) { clnn_tensor_destroy(out[i]); free(first[i]); }
  clnn_tensor_destroy(tx); clnn_tensor_destroy(tw); clnn_tensor_destroy(tdy);
  free(x); free(w); free(dy);
}

int main(void) {
  ctx = tu_context();
  tu_seed(20261206);
  /* The kernels under test are CPU-class only; on a device of another class (or with
   * CLNN_DEVICE_CLASS=gpu) a fresh context told it drives a CPU builds them instead. */
  if (ctx->device_class != CLNN_DEVICE_CLASS_CPU) {
    clnn_context_destroy(ctx);
    ctx = NULL;
    TU_OK(clnn_context_create(NULL, &ctx));
    if (!ctx) return tu_finish("test_conv2d_direct");
    ctx->device_class = CLNN_DEVICE_CLASS_CPU; /* before any kernel is built */
  }

  /* name, N, C, H, W, K, R, S, stride h/w, pad t/b/l/r, dilation h/w, groups */
  static const tcase c1[] = {
      /* c1 forward (blocks of 16), c1 backward-filter */
      {"c1 5x5 1->37 11x19 pad2", 2, 1, 11, 19, 37, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1},
      {"c1 5x5 batch1 1->16 28x28 pad2", 1, 1, 28, 28, 16, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1},
      {"c1 5x5 lenet-like 1->32 28x28", 4, 1, 28, 28, 32, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1},
      {"c1 3x3 1->20 7x9 pad1 (63-pixel planes)", 3, 1, 7, 9, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
      {"c1 3x3 digits-like 1->32 8x8", 5, 1, 8, 8, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
      {"c1 3x3 1->9 5x40 pad 0/2/2/0", 2, 1, 5, 40, 9, 3, 3, 1, 1, 0, 2, 2, 0, 1, 1, 1},
      {"c1 3x3 groups2 2->22 6x17", 2, 2, 6, 17, 22, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2},
      {"c1 3x3 column dilation2 1->12 6x21", 2, 1, 6, 21, 12, 3, 3, 1, 1, 1, 1, 2, 2, 1, 2, 1},
      {"c1 5x5 row dilation2 1->10 9x9", 1, 1, 9, 9, 10, 5, 5, 1, 1, 4, 4, 2, 2, 2, 1, 1},
      {"c1 3x3 row dilation3 pad 3/3/0/2 1->9 13x16", 3, 1, 13, 16, 9, 3, 3, 1, 1, 3, 3, 0, 2, 3, 1, 1},
      {"c1 3x3 one column 1->11 17x1", 2, 1, 17, 1, 11, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
      {"c1 5x5 one row 1->10 1x23", 2, 1, 1, 23, 10, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1},
      {"c1 3x3 depthwise x2 3->6 9x20 (bwd-filter)", 2, 3, 9, 20, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3},
  };
  static const tcase dw[] = {
      /* banded depthwise forward and backward-data */
      {"dw 3x3 5 13x37 pad1", 2, 5, 13, 37, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 5},
      {"dw 3x3 batch1 3 16x16", 1, 3, 16, 16, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3},
      {"dw 3x3 4 9x7 (rows narrower than 16)", 2, 4, 9, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4},
      {"dw 3x3 2 20x1 (one column)", 1, 2, 20, 1, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2},
      {"dw 3x3 3 11x33 pad 2/0/0/2", 2, 3, 11, 33, 3, 3, 3, 1, 1, 2, 0, 0, 2, 1, 1, 3},
      {"dw 3x3 column dilation2 2 10x25", 1, 2, 10, 25, 2, 3, 3, 1, 1, 1, 1, 2, 2, 1, 2, 2},
      {"dw 3x3 3 56x56", 2, 3, 56, 56, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3},
      {"dw 3x3 row dilation2 (older forward)", 1, 2, 9, 18, 2, 3, 3, 1, 1, 2, 2, 1, 1, 2, 1, 2},
      {"dw 5x5 4 12x30 pad2", 2, 4, 12, 30, 4, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 4},
      {"dw 3x3 3 batch5 15x15", 5, 3, 15, 15, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3},
  };
  for (size_t i = 0; i < sizeof c1 / sizeof c1[0]; i++) check_case(&c1[i], CLNN_ACT_IDENTITY, 0.0f, NULL);
  for (size_t i = 0; i < sizeof dw / sizeof dw[0]; i++) check_case(&dw[i], CLNN_ACT_IDENTITY, 0.0f, NULL);
  /* fused bias and activations: ReLU takes the plain stores, the others the general ones */
  check_case(&c1[0], CLNN_ACT_RELU, 0.0f, "direct-plane");
  check_case(&c1[3], CLNN_ACT_LEAKY_RELU, 0.1f, NULL);
  check_case(&c1[2], CLNN_ACT_SIGMOID, 0.0f, "direct-plane");
  check_case(&dw[0], CLNN_ACT_RELU, 0.0f, "direct-plane");
  check_case(&dw[2], CLNN_ACT_LEAKY_RELU, 0.1f, NULL);
  check_case(&dw[6], CLNN_ACT_TANH, 0.0f, NULL);
  /* forward with beta (transposed backward-data) */
  check_forward_beta(&c1[0]);
  check_forward_beta(&c1[4]);
  check_forward_beta(&dw[0]);
  check_forward_beta(&dw[2]);
  /* planes whose padded copy does not fit half the local memory: the older kernels (the c1
   * backward-filter needs no local memory: it runs on these too) */
  static const tcase big[] = {
      {"dw 3x3 2 370x370 (above the local-memory bound)", 1, 2, 370, 370, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2},
      {"c1 5x5 1->2 300x300 (above the local-memory bound)", 1, 1, 300, 300, 2, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1},
  };
  for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) check_case(&big[i], CLNN_ACT_IDENTITY, 0.0f, NULL);

  /* the band forward and backward-filter (several input channels per group, where the flat
   * kernels do not apply; backward-data runs the one-output-per-work-item kernel):
   * strides 1 to 3 in either direction, column phases, dilation (above the column stride too),
   * asymmetric padding, runs of 16
   * output columns with a partial last one, K not a multiple of 16, groups, batch 1, 1x1 */
  static const tcase band[] = {
      {"band stem-like 3->20 7x7 s2 pad3 23x41", 2, 3, 23, 41, 20, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1},
      {"band batch1 2->16 3x3 s2 pad1 16x40", 1, 2, 16, 40, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
      {"band 4->5 3x3 s2x3 pad 0/2/1/0 dil2 17x50", 2, 4, 17, 50, 5, 3, 3, 2, 3, 0, 2, 1, 0, 2, 2, 1},
      {"band groups2 4->34 5x5 s2 pad2 13x33", 2, 4, 13, 33, 34, 5, 5, 2, 2, 2, 2, 2, 2, 1, 1, 2},
      {"band 3->8 3x3 s1 no pad 10x21 (smaller output)", 2, 3, 10, 21, 8, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1},
      {"band 6->18 1x1 s2 9x35", 2, 6, 9, 35, 18, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1},
      {"band 3->4 3x3 s3x1 one column 20x1", 1, 3, 20, 1, 4, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
      {"band 4->64 3x3 s2 pad1 9x70 (16+ work-items: all taps each)", 3, 4, 9, 70, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
      {"band 2->3 1x5 s2 pad 0/0/2/2 8x40 (one block of taps)", 2, 2, 8, 40, 3, 1, 5, 2, 2, 0, 0, 2, 2, 1, 1, 1},
      /* column dilation above the column stride: a tap steps over more than one phase */
      {"band 3->6 3x3 s2x1 dil 1x3 pad1 12x30", 1, 3, 12, 30, 6, 3, 3, 2, 1, 1, 1, 1, 1, 1, 3, 1},
      {"band 2->5 3x4 s2 dil 1x3 pad 1/0/3/2 11x37", 2, 2, 11, 37, 5, 3, 4, 2, 2, 1, 0, 3, 2, 1, 3, 1},
      /* enough output rows for bands of several rows (a last band of fewer rows, a partial
       * block of channels) on up to 4 compute units */
      {"band pairs 3->9 3x3 s1 no pad 69x20", 4, 3, 69, 20, 9, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1},
      {"band pairs 3->20 7x7 s2 pad3 77x37", 2, 3, 77, 37, 20, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1},
  };
  for (size_t i = 0; i < sizeof band / sizeof band[0]; i++)
    check_case(&band[i], CLNN_ACT_IDENTITY, 0.0f, band[i].c <= 4 && band[i].groups == 1 ? "direct-band" : NULL);
  check_case(&band[0], CLNN_ACT_RELU, 0.0f, "direct-band");
  check_case(&band[3], CLNN_ACT_LEAKY_RELU, 0.1f, NULL);
  check_forward_beta(&band[0]);
  check_forward_beta(&band[3]);
  check_forward_beta(&band[5]);
  check_forward_beta(&band[11]);
  check_case(&band[12], CLNN_ACT_RELU, 0.0f, "direct-band");
  static const tcase band_big[] = {
      /* a band above the local-memory bound: the one-output-per-work-item kernel */
      {"band 64->2 3x3 s2 3x4400 (above the local-memory bound)", 1, 64, 3, 4400, 2, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, 1},
  };
  check_case(&band_big[0], CLNN_ACT_IDENTITY, 0.0f, NULL);

  static const tcase fd[] = {
      {"fd c1 5x5 1->17 6x7", 2, 1, 6, 7, 17, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1},
      {"fd dw 3x3 3 5x18", 1, 3, 5, 18, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3},
      {"fd dw 5x5 row dilation2 2 9x10", 2, 2, 9, 10, 2, 5, 5, 1, 1, 4, 4, 2, 2, 2, 1, 2},
      {"fd band 3->5 7x7 s2 pad3 9x11", 2, 3, 9, 11, 5, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1},
  };
  for (size_t i = 0; i < sizeof fd / sizeof fd[0]; i++) check_fd(&fd[i]);
  check_determinism(&c1[2]);
  check_determinism(&dw[0]);
  check_determinism(&dw[9]);
  check_determinism(&band[0]);

  clnn_context_destroy(ctx);
  return tu_finish("test_conv2d_direct");
}
