/* tests/test_conv2d_gemm_paths.c — convolution's GEMM paths under each CPU-GEMM configuration:
 * the filter gradient that reads dy (and, for 1x1, x) in place through the segmented GEMM
 * (clnn__gemm_kseg: one segment per image, no gathered copies), with every image side by side, in
 * chunks of images with a remainder and in slices of one image's pixels; the data gradient that
 * gathers dy so that one GEMM covers several images' pixels (shapes where that saves panels:
 * 42 and 20 pixels per image); and the forward whose shared weights send the GEMM to the
 * transposed orientation; the 1x1 forward reading x in place or packed by its reduction length.
 * Each against the plain-C reference
 * (tests/ref/conv_ref.c) with beta 0 over NaN, 1 and 0.5 over random prefills, and bitwise equal
 * on a rerun; under tuned files that pack everything, keep operands in place, use odd tiles and
 * 8-float vectors, and with CLBlast forced (where the gathered path runs instead). */
#define _POSIX_C_SOURCE 200809L
#include "conv_test_util.h"
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Test hook in src/ops/conv2d.c: the column-buffer bound (0 restores 64 MiB); returns the old one. */
size_t clnn__conv2d_set_workspace_limit(size_t bytes);


static void expect(const clnn_tensor *t, const float *want, size_t len, const char *what) {
  float *got = tu_read(t);
  tu_allclose(got, want, clnn_tensor_numel(t), 1e-4f, 3e-6f * sqrtf((float)len) + 1e-6f, what);
  free(got);
}

/* The filter gradient of t with algorithm a (beta 0, 1, 0.5) and the forward, against the
 * reference; each result also rerun and compared bitwise. ws_limit 0: the default workspace. */
static void check(clnn_context *ctx, const tcase *t, clnn_conv_algo a, size_t ws_limit, const char *config) {
  conv_ref_geom g = geom_of(t);
  if (!TU_CHECK(conv_ref_geom_conv(&g), "%s: reference geometry invalid", t->name)) return;
  clnn_conv2d_params p = params_of(t);
  size_t xd[4] = {t->n, t->c, t->h, t->w}, wd[4] = {t->k, t->c / t->groups, t->r, t->s}, yd[4];
  TU_OK(clnn_conv2d_output_dims(xd, wd, &p, yd));
  size_t nx = xd[0] * xd[1] * xd[2] * xd[3], nw = wd[0] * wd[1] * wd[2] * wd[3], ny = yd[0] * yd[1] * yd[2] * yd[3];
  float *x = rnd(nx), *w = rnd(nw), *dy = rnd(ny), *w0 = rnd(nw), *nan_w = filled(nw, NAN);
  float *y_ref = malloc(ny * sizeof(float)), *dw_ref = malloc(nw * sizeof(float));
  conv_ref_forward(&g, x, w, NULL, CLNN_ACT_IDENTITY, 0.0f, y_ref);
  clnn_tensor *tx = tu_tensor(ctx, 4, xd, x), *tw = tu_tensor(ctx, 4, wd, w), *ty = tu_tensor(ctx, 4, yd, NULL);
  clnn_tensor *tdy = tu_tensor(ctx, 4, yd, dy), *tdw = tu_tensor(ctx, 4, wd, NULL);
  size_t old = ws_limit ? clnn__conv2d_set_workspace_limit(ws_limit) : 0;
  size_t len_w = (size_t)t->n * g.p * g.q, len_f = (size_t)(t->c / t->groups) * t->r * t->s;
  char what[256];
  const float betas[3] = {0.0f, 1.0f, 0.5f};
  for (int bi = 0; bi < 3; bi++) {
    memcpy(dw_ref, bi ? w0 : nan_w, nw * sizeof(float));
    conv_ref_backward_filter(&g, x, dy, betas[bi], dw_ref);
    float *first = NULL;
    for (int run = 0; run < 2; run++) {
      put(tdw, bi ? w0 : nan_w);
      TU_OK(clnn_conv2d_backward_filter(ctx, &p, a, tx, tdy, betas[bi], tdw));
      snprintf(what, sizeof what, "[%s] %s %s ws %zu backward-filter beta %g", config, t->name,
               a == CLNN_CONV_ALGO_1X1_GEMM ? "1x1" : "im2col", ws_limit, betas[bi]);
      if (run == 0) {
        expect(tdw, dw_ref, len_w, what);
        first = tu_read(tdw);
      } else {
        float *again = tu_read(tdw);
        TU_CHECK(memcmp(first, again, nw * sizeof(float)) == 0, "%s: rerun differs bitwise", what);
        free(again);
      }
    }
    free(first);
  }
  /* backward-data: beta 0 over NaN, 1 and 0.5 over a random prefill; a rerun bitwise equal */
  float *x0 = rnd(nx), *nan_x = filled(nx, NAN), *dx_ref = malloc(nx * sizeof(float));
  clnn_tensor *tdx = tu_tensor(ctx, 4, xd, NULL);
  size_t len_d = (size_t)(t->k / t->groups) * t->r * t->s;
  for (int bi = 0; bi < 3; bi++) {
    memcpy(dx_ref, bi ? x0 : nan_x, nx * sizeof(float));
    conv_ref_backward_data(&g, dy, w, betas[bi], dx_ref);
    float *first = NULL;
    for (int run = 0; run < 2; run++) {
      put(tdx, bi ? x0 : nan_x);
      TU_OK(clnn_conv2d_backward_data(ctx, &p, a, tdy, tw, betas[bi], tdx));
      snprintf(what, sizeof what, "[%s] %s %s ws %zu backward-data beta %g", config, t->name,
               a == CLNN_CONV_ALGO_1X1_GEMM ? "1x1" : "im2col", ws_limit, betas[bi]);
      if (run == 0) {
        expect(tdx, dx_ref, len_d, what);
        first = tu_read(tdx);
      } else {
        float *again = tu_read(tdx);
        TU_CHECK(memcmp(first, again, nx * sizeof(float)) == 0, "%s: rerun differs bitwise", what);
        free(again);
      }
    }
    free(first);
  }
  clnn_tensor_destroy(tdx);
  free(x0); free(nan_x); free(dx_ref);
  float *nan_y = filled(ny, NAN);
  put(ty, nan_y); /* the forward overwrites it */
  free(nan_y);
  TU_OK(clnn_conv2d_forward(ctx, &p, a, tx, tw, NULL, CLNN_ACT_IDENTITY, 0.0f, ty));
  snprintf(what, sizeof what, "[%s] %s ws %zu forward", config, t->name, ws_limit);
  expect(ty, y_ref, len_f, what);
  if (ws_limit) clnn__conv2d_set_workspace_limit(old);
  clnn_tensor_destroy(tx); clnn_tensor_destroy(tw); clnn_tensor_destroy(ty);
  clnn_tensor_destroy(tdy); clnn_tensor_destroy(tdw);
  free(x); free(w); free(dy); free(w0); free(nan_w); free(y_ref); free(dw_ref);
}

typedef struct config {
  const char *name;
  const char *text; /* tuned-parameter file contents; NULL: CLBlast forced */
} config;

static const config configs[] = {
    {"built-in tiles", "gemm.own = 1\n"},
    {"pack everything", "gemm.own = 1\ngemm.pack_min = 0\ngemm.pack_min_k = 0\n"},
    {"in place where possible", "gemm.own = 1\ngemm.pack_min = 1000000000\n"},
    {"odd tiles 5x1 / narrow 7, rt 3, ku 3, pack from 40 rows and k 20",
     "gemm.own = 1\ngemm.mr = 5\ngemm.nv = 1\ngemm.mr_n = 7\n"
     "gemm.rt = 3\ngemm.ku = 3\ngemm.pack_min = 40\ngemm.pack_min_k = 20\n"},
    {"8-float vectors 4x3", "gemm.own = 1\ngemm.vw = 8\ngemm.mr = 4\ngemm.nv = 3\ngemm.mr_n = 9\n"
                            "gemm.pack_min = 20\ngemm.pack_min_k = 0\ngemm.order = 1\n"},
    {"CLBlast forced", NULL},
};

int main(void) {
  clnn_context *probe = tu_context();
  int is_cpu = probe->device_class == CLNN_DEVICE_CLASS_CPU;
  clnn_context_destroy(probe);
  char file[] = "/tmp/clnn-test-conv-gemm-XXXXXX";
  int fd = mkstemp(file);
  if (fd < 0) {
    perror("mkstemp");
    return 1;
  }
  close(fd);
  /* name, N, C, H, W, K, R, S, stride h/w, pad t/b/l/r, dilation h/w, groups */
  static const tcase one[] = {
      {"1x1 N3 5->7 6x5", 3, 5, 6, 5, 7, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1},
      {"1x1 N2 3->40 4x9", 2, 3, 4, 9, 40, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1},
  };
  static const tcase im2col[] = {
      {"3x3 N3 4->6 7x6 pad1", 3, 4, 7, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
      {"groups2 N3 6->4 9x7 stride2", 3, 6, 9, 7, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2},
      {"5x5 N2 3->20 8x8 pad2", 2, 3, 8, 8, 20, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1},
      /* shared weights, few pixels per image, long reduction: the forward's GEMM turns */
      {"3x3 N2 32->16 5x5 pad1", 2, 32, 5, 5, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
  };
  tu_seed(21);
  for (size_t ci = 0; ci < sizeof configs / sizeof configs[0]; ci++) {
    const config *cf = &configs[ci];
    if (cf->text && !is_cpu) {
      printf("note: %s skipped: the clnn-cpu GEMM applies to CPU-class contexts only\n", cf->name);
      continue;
    }
    clnn_context *ctx = tu_context_tuned(cf->text, file, cf->name);
    if (!ctx) continue;
    TU_CHECK(clnn__gemm_kseg_available(ctx) == (cf->text != NULL), "[%s] segmented GEMM available: %d", cf->name,
             clnn__gemm_kseg_available(ctx));
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) check(ctx, &one[i], CLNN_CONV_ALGO_1X1_GEMM, 0, cf->name);
    for (size_t i = 0; i < sizeof im2col / sizeof im2col[0]; i++) {
      const tcase *t = &im2col[i];
      conv_ref_geom g = geom_of(t);
      conv_ref_geom_conv(&g);
      size_t col = (size_t)t->c * t->r * t->s * sizeof(float), pq = (size_t)g.p * g.q;
      check(ctx, t, CLNN_CONV_ALGO_IM2COL_GEMM, 0, cf->name);          /* every image side by side */
      check(ctx, t, CLNN_CONV_ALGO_IM2COL_GEMM, 2 * pq * col, cf->name); /* chunks of 2 images */
      check(ctx, t, CLNN_CONV_ALGO_IM2COL_GEMM, (pq / 2 + 1) * col, cf->name); /* pixel slices */
    }
    /* The forward's GEMM with shared weights counts their packing once: with every operand
     * packed, the transposed orientation (w^T packed once, the columns read in place) wins. */
    if (cf->text && ci == 1) {
      const tcase *t = &im2col[3];
      check(ctx, t, CLNN_CONV_ALGO_IM2COL_GEMM, 0, cf->name);
      /* check() ends with the forward: its GEMM was the last one */
      const char *kn = clnn__own_gemm_last_kernel();
      TU_CHECK(strstr(kn, "_ct_") != NULL, "[%s] %s forward: kernel %s, expected the C^T orientation", cf->name,
               t->name, kn);
    }
    /* The 1x1 forward with the built-in tiles reads x in place where the reduction (input
     * channels) is short, even with 256 output channels (conv_1x1_56's shape class), and packs
     * it from 257 input channels. */
    if (cf->text && ci == 0) {
      static const struct {
        tcase t;
        const char *want;
      } packing[] = {
          {{"1x1 N2 64->256 6x6", 2, 64, 6, 6, 256, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1}, "_cn_w_inplace"},
          {{"1x1 N2 257->256 6x7", 2, 257, 6, 7, 256, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1}, "_cn_w_packed"},
      };
      for (size_t i = 0; i < sizeof packing / sizeof packing[0]; i++) {
        check(ctx, &packing[i].t, CLNN_CONV_ALGO_1X1_GEMM, 0, cf->name);
        const char *kn = clnn__own_gemm_last_kernel();
        TU_CHECK(strstr(kn, packing[i].want) != NULL, "[%s] %s forward: kernel %s, expected %s", cf->name,
                 packing[i].t.name, kn, packing[i].want);
      }
    }
    clnn_context_destroy(ctx);
  }
  remove(file);
  return tu_finish("test_conv2d_gemm_paths");
}
