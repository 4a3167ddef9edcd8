/* tests/test_conv2d_igemm.c — the implicit-GEMM forward convolution (CLNN_CONV_ALGO_IMPLICIT_GEMM,
 * cl/conv2d_igemm.cl) forced, against the plain-C reference (tests/ref/conv_ref.c), in a
 * CPU-class and a GPU-class context: shapes around its 64 x 64 output tiles and 16-deep
 * reduction chunks (1x1, 3x3 pad 1, 5x5, stride 2, dilation 2, groups, odd sizes, C*R*S not a
 * multiple of 16, K and N*P*Q above one tile, N > 1), fused bias with identity, ReLU and the
 * other activations; beta 0, 1 and 0.5 through the transposed convolution's backward-data (the
 * same forward pass with beta); the smaller work-groups it falls back to when the kernel's limit
 * is below 256 (8x8, 4x4) and UNSUPPORTED below 16; the backward passes it hands to im2col;
 * AUTO's opt-in ($CLNN_CONV_IGEMM=1 when a GPU-class context is created) seen through the launch log; and
 * AUTO under a tuned file's conv.igemm (0, 1, malformed values) in both classes, with the
 * environment's override, seen through clnn__conv2d_last_algo and checked against the reference. */
#define _POSIX_C_SOURCE 200809L
#include "conv_test_util.h"
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static clnn_context *ctx;


/* Device result of t vs want, for sums of `len` products of values in [-1, 1]. */
static void expect(const clnn_tensor *t, const float *want, size_t len, const char *name, const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s [igemm, %s class] %s", name,
           ctx->device_class == CLNN_DEVICE_CLASS_GPU ? "gpu" : "cpu", what);
  float *got = tu_read(t);
  tu_allclose(got, want, clnn_tensor_numel(t), 1e-4f, 3e-6f * sqrtf((float)len) + 1e-6f, msg);
  free(got);
}

/* Forward with bias and act (and without bias, identity), output pre-filled with NaN; the
 * backward passes forced to IMPLICIT_GEMM (they run im2col) against the reference too. */
static void check_forward(const tcase *t, clnn_activation act, float alpha) {
  conv_ref_geom g = geom_of(t);
  if (!TU_CHECK(conv_ref_geom_conv(&g), "%s: reference geometry invalid", t->name)) return;
  clnn_conv2d_params p = params_of(t);
  size_t xd[4] = {t->n, t->c, t->h, t->w}, wd[4] = {t->k, t->c / t->groups, t->r, t->s};
  size_t yd[4] = {t->n, t->k, g.p, g.q}, bd[1] = {t->k};
  size_t nx = xd[0] * xd[1] * xd[2] * xd[3], nw = wd[0] * wd[1] * wd[2] * wd[3];
  size_t ny = yd[0] * yd[1] * yd[2] * yd[3], len = wd[1] * wd[2] * wd[3];
  float *x = rnd(nx), *w = rnd(nw), *b = rnd(t->k), *dy = rnd(ny), *nan_y = filled(ny, NAN);
  float *y_ref = malloc(ny * 4), *y0_ref = malloc(ny * 4), *dx_ref = malloc(nx * 4), *dw_ref = malloc(nw * 4);
  conv_ref_forward(&g, x, w, b, act, alpha, y_ref);
  conv_ref_forward(&g, x, w, NULL, CLNN_ACT_IDENTITY, 0.0f, y0_ref);
  conv_ref_backward_data(&g, dy, w, 0.0f, dx_ref);
  conv_ref_backward_filter(&g, x, dy, 0.0f, dw_ref);
  clnn_tensor *tx = tu_tensor(ctx, 4, xd, x), *tw = tu_tensor(ctx, 4, wd, w), *tb = tu_tensor(ctx, 1, bd, b);
  clnn_tensor *ty = tu_tensor(ctx, 4, yd, nan_y), *tdy = tu_tensor(ctx, 4, yd, dy);
  clnn_tensor *tdx = tu_tensor(ctx, 4, xd, NULL), *tdw = tu_tensor(ctx, 4, wd, NULL);
  const clnn_conv_algo A = CLNN_CONV_ALGO_IMPLICIT_GEMM;
  TU_OK(clnn_conv2d_forward(ctx, &p, A, tx, tw, tb, act, alpha, ty));
  expect(ty, y_ref, len, t->name, "forward + bias + act");
  TU_OK(clnn_tensor_write(ty, nan_y, ny));
  TU_OK(clnn_conv2d_forward(ctx, &p, A, tx, tw, NULL, CLNN_ACT_IDENTITY, 0.0f, ty));
  expect(ty, y0_ref, len, t->name, "forward");
  TU_OK(clnn_conv2d_backward_data(ctx, &p, A, tdy, tw, 0.0f, tdx));
  expect(tdx, dx_ref, (size_t)(t->k / t->groups) * t->r * t->s, t->name, "backward-data (im2col)");
  TU_OK(clnn_conv2d_backward_filter(ctx, &p, A, tx, tdy, 0.0f, tdw));
  expect(tdw, dw_ref, yd[0] * yd[2] * yd[3], t->name, "backward-filter (im2col)");
  clnn_tensor_destroy(tx); clnn_tensor_destroy(tw); clnn_tensor_destroy(tb); clnn_tensor_destroy(ty);
  clnn_tensor_destroy(tdy); clnn_tensor_destroy(tdx); clnn_tensor_destroy(tdw);
  free(x); free(w); free(b); free(dy); free(nan_y); free(y_ref); free(y0_ref); free(dx_ref); free(dw_ref);
}

/* beta 0 (over NaN), 1 and 0.5 (over random values): the transposed convolution's backward-data
 * is this forward pass, dx = beta*dx + conv(dy, w) with t's geometry read as the transposed one. */
static void check_beta(const tcase *t) {
  conv_ref_geom g = geom_of(t);
  if (!TU_CHECK(conv_ref_geom_transpose(&g), "%s: reference geometry invalid", t->name)) return;
  clnn_conv2d_params p = params_of(t);
  size_t xd[4] = {t->n, t->c, t->h, t->w}, wd[4] = {t->c, t->k / t->groups, t->r, t->s};
  size_t yd[4] = {t->n, t->k, g.p, g.q};
  size_t nx = xd[0] * xd[1] * xd[2] * xd[3], nw = wd[0] * wd[1] * wd[2] * wd[3];
  size_t ny = yd[0] * yd[1] * yd[2] * yd[3], len = (size_t)(t->k / t->groups) * t->r * t->s;
  float *w = rnd(nw), *dy = rnd(ny), *dx0 = rnd(nx), *nan_x = filled(nx, NAN), *want = malloc(nx * 4);
  clnn_tensor *tw = tu_tensor(ctx, 4, wd, w), *tdy = tu_tensor(ctx, 4, yd, dy), *tdx = tu_tensor(ctx, 4, xd, NULL);
  const float betas[3] = {0.0f, 1.0f, 0.5f};
  for (int bi = 0; bi < 3; bi++) {
    const float *pre = bi ? dx0 : nan_x;
    memcpy(want, dx0, nx * 4);
    conv_ref_transpose_backward_data(&g, dy, w, betas[bi], want);
    TU_OK(clnn_tensor_write(tdx, pre, nx));
    TU_OK(clnn_conv_transpose2d_backward_data(ctx, &p, CLNN_CONV_ALGO_IMPLICIT_GEMM, tdy, tw, betas[bi], tdx));
    expect(tdx, want, len, t->name, bi == 0 ? "beta=0" : bi == 1 ? "beta=1" : "beta=0.5");
  }
  clnn_tensor_destroy(tw); clnn_tensor_destroy(tdy); clnn_tensor_destroy(tdx);
  free(w); free(dy); free(dx0); free(nan_x); free(want);
}

/* ---- the launch log: which conv kernels a call ran ---- */

static int igemm_launches, other_conv_launches;
static void on_log(clnn_log_level level, const char *msg, void *user) {
  (void)user;
  if (level != CLNN_LOG_DEBUG || strncmp(msg, "launch ", 7)) return;
  if (!strncmp(msg + 7, "conv2d_igemm/", 13)) igemm_launches++;
  else if (!strncmp(msg + 7, "conv2d/", 7)) other_conv_launches++;
}

/* AUTO picks the implicit GEMM for the forward pass only with $CLNN_CONV_IGEMM=1 (read when the
 * context is created) on a GPU-class context, and only for dense (not 1x1, not depthwise)
 * convolutions. */
static void check_auto(int gpu_class) {
  const tcase t = {"auto 3x3", 2, 4, 9, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  clnn_conv2d_params p = params_of(&t);
  size_t xd[4] = {2, 4, 9, 9}, wd[4] = {8, 4, 3, 3}, yd[4] = {2, 8, 9, 9};
  clnn_set_log_callback(on_log, CLNN_LOG_DEBUG, NULL);
  for (int opt_in = 0; opt_in < 2; opt_in++) {
    if (opt_in) setenv("CLNN_CONV_IGEMM", "1", 1);
    else unsetenv("CLNN_CONV_IGEMM");
    clnn_context *c = NULL;
    TU_OK(clnn_context_create(NULL, &c));
    unsetenv("CLNN_CONV_IGEMM"); /* (read at creation: the context keeps it) */
    if (!c) break;
    c->device_class = gpu_class ? CLNN_DEVICE_CLASS_GPU : CLNN_DEVICE_CLASS_CPU;
    clnn_tensor *tx = tu_tensor(c, 4, xd, NULL), *tw = tu_tensor(c, 4, wd, NULL), *ty = tu_tensor(c, 4, yd, NULL);
    TU_OK(clnn_tensor_fill(tx, 0.5f));
    TU_OK(clnn_tensor_fill(tw, 0.25f));
    igemm_launches = other_conv_launches = 0;
    TU_OK(clnn_conv2d_forward(c, &p, CLNN_CONV_ALGO_AUTO, tx, tw, NULL, CLNN_ACT_RELU, 0.0f, ty));
    TU_OK(clnn_context_finish(c));
    int want = opt_in && gpu_class;
    TU_CHECK(igemm_launches == want && other_conv_launches == (want ? 0 : 2),
             "AUTO forward (%s class, CLNN_CONV_IGEMM %s): %d implicit-GEMM and %d other conv2d "
             "launches, expected %d and %d", gpu_class ? "gpu" : "cpu", opt_in ? "=1" : "unset",
             igemm_launches, other_conv_launches, want, want ? 0 : 2);
    float *y = tu_read(ty);
    TU_CHECK(fabsf(y[40] - 36 * 0.125f) < 1e-5f, "AUTO forward interior value %g, expected %g", y[40], 36 * 0.125);
    free(y);
    clnn_tensor_destroy(tx); clnn_tensor_destroy(tw); clnn_tensor_destroy(ty);
    clnn_context_destroy(c);
  }
  clnn_set_log_callback(NULL, CLNN_LOG_ERROR, NULL);
}

/* A context created under a tuned file holding `text`, of the given class. */
static clnn_context *tuned_context(const char *text, int gpu_class) {
  char path[] = "/tmp/clnn-test-igemm-tune-XXXXXX";
  int fd = mkstemp(path);
  if (!TU_CHECK(fd >= 0, "cannot create a tuned file")) return NULL;
  TU_CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text), "cannot write the tuned file");
  close(fd);
  clnn_context_options o;
  clnn_context_options_init(&o);
  o.device_class = gpu_class ? CLNN_DEVICE_GPU : CLNN_DEVICE_CPU;
  clnn_context *c = NULL;
  setenv("CLNN_TUNE", path, 1);
  TU_OK(clnn_context_create(&o, &c));
  unsetenv("CLNN_TUNE");
  remove(path);
  return c;
}

/* AUTO's forward under the tuned parameter conv.igemm: the implicit GEMM exactly where the context
 * is GPU-class and the file says 1 (or $CLNN_CONV_IGEMM=1 at the context's creation says so; =0
 * overrides a 1), im2col otherwise; malformed values leave the default, 0; the result equals the
 * reference every time. */
static void check_auto_tuned(void) {
  static const struct { const char *text; int on; } files[] = {
      {"format = 1\nconv.igemm = 1\n", 1},
      {"format = 1\nconv.igemm = 0\n", 0},
      {"conv.igemm = 2\nconv.igemm = yes\nconv.igemm = -1\nconv.igemm =\n", 0},
  };
  static const char *envs[3] = {NULL, "0", "1"};
  const tcase t = {"auto tuned 3x3 pad1 5->12 11x10", 2, 5, 11, 10, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  conv_ref_geom g = geom_of(&t);
  if (!TU_CHECK(conv_ref_geom_conv(&g), "%s: reference geometry invalid", t.name)) return;
  clnn_conv2d_params p = params_of(&t);
  size_t xd[4] = {2, 5, 11, 10}, wd[4] = {12, 5, 3, 3}, yd[4] = {2, 12, g.p, g.q}, bd[1] = {12};
  size_t ny = yd[0] * yd[1] * yd[2] * yd[3];
  float *x = rnd(2 * 5 * 11 * 10), *w = rnd(12 * 5 * 9), *b = rnd(12), *want = malloc(ny * 4);
  conv_ref_forward(&g, x, w, b, CLNN_ACT_RELU, 0.0f, want);
  clnn_context *saved = ctx;
  for (int gpu = 0; gpu < 2; gpu++)
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++)
      for (int e = 0; e < 3; e++) {
        if (envs[e]) setenv("CLNN_CONV_IGEMM", envs[e], 1);
        else unsetenv("CLNN_CONV_IGEMM");
        ctx = tuned_context(files[f].text, gpu);
        unsetenv("CLNN_CONV_IGEMM");
        if (!ctx) continue;
        const int tuned_on = envs[e] ? envs[e][0] == '1' : files[f].on, on = gpu && tuned_on;
        char what[160];
        snprintf(what, sizeof what, "AUTO, %s class, conv.igemm %d, CLNN_CONV_IGEMM %s", gpu ? "gpu" : "cpu",
                 files[f].on, envs[e] ? envs[e] : "unset");
        TU_CHECK(ctx->tune.conv_igemm == tuned_on, "%s: conv_igemm %d, expected %d", what,
                 ctx->tune.conv_igemm, tuned_on);
        char desc[512];
        clnn__gemm_describe(ctx, desc, sizeof desc);
        TU_CHECK(strstr(desc, tuned_on ? "conv forward implicit-gemm" : "conv forward im2col") != NULL,
                 "%s: description \"%s\" does not name the conv forward choice", what, desc);
        clnn_tensor *tx = tu_tensor(ctx, 4, xd, x), *tw = tu_tensor(ctx, 4, wd, w), *tb = tu_tensor(ctx, 1, bd, b);
        clnn_tensor *ty = tu_tensor(ctx, 4, yd, NULL);
        const char *want_algo = on ? "implicit-gemm" : "im2col-gemm";
        TU_OK(clnn_tensor_fill(ty, NAN));
        TU_OK(clnn_conv2d_forward(ctx, &p, CLNN_CONV_ALGO_AUTO, tx, tw, tb, CLNN_ACT_RELU, 0.0f, ty));
        TU_CHECK(!strcmp(clnn__conv2d_last_algo(), want_algo), "%s: ran %s, expected %s", what,
                 clnn__conv2d_last_algo(), want_algo);
        expect(ty, want, 5 * 9, t.name, what);
        clnn_tensor_destroy(tx); clnn_tensor_destroy(tw); clnn_tensor_destroy(tb); clnn_tensor_destroy(ty);
        clnn_context_destroy(ctx);
      }
  ctx = saved;
  free(x); free(w); free(b); free(want);
}

/* name, N, C, H, W, K, R, S, stride h/w, pad t/b/l/r, dilation h/w, groups */
static const tcase cases[] = {
    {"1x1 5->7 6x5", 2, 5, 6, 5, 7, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1},
    {"3x3 pad1 3->5 7x9", 1, 3, 7, 9, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"5x5 pad2 4->6 9x11", 2, 4, 9, 11, 6, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1},
    {"stride2 3x3 pad1 6->9 13x11", 3, 6, 13, 11, 9, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
    {"dilation2 3x3 pad2 5->4 10x9", 2, 5, 10, 9, 4, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1},
    {"groups3 asym pad stride 2x1", 2, 6, 8, 7, 9, 3, 2, 2, 1, 0, 2, 1, 0, 1, 1, 3},
    /* more than one tile each way: K 70 (> 64), N*P*Q 3*15*13 = 585, C*R*S 7*9 = 63 (not a
     * multiple of 16) */
    {"tiles 7->70 15x13 3x3 pad1", 3, 7, 15, 13, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"tiles 1x1 33->65 9x8", 2, 33, 9, 8, 65, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1},
};
#define NCASES (sizeof cases / sizeof cases[0])

static void run_all(void) {
  for (size_t i = 0; i < NCASES; i++) check_forward(&cases[i], CLNN_ACT_RELU, 0.0f);
  check_forward(&cases[1], CLNN_ACT_IDENTITY, 0.0f);
  check_forward(&cases[3], CLNN_ACT_LEAKY_RELU, 0.1f);
  check_forward(&cases[4], CLNN_ACT_SIGMOID, 0.0f);
  check_beta(&cases[1]);
  check_beta(&cases[3]);
  check_beta(&cases[6]);
}

int main(void) {
  ctx = tu_context();
  tu_seed(20261206);
  const int gpu_first = ctx->device_class == CLNN_DEVICE_CLASS_GPU;
  run_all();
  check_auto(gpu_first);
  check_auto_tuned();

  /* The other device class, in its own context (set before any kernel is built). */
  clnn_context *first = ctx, *other = NULL;
  TU_OK(clnn_context_create(NULL, &other));
  if (other) {
    other->device_class = gpu_first ? CLNN_DEVICE_CLASS_CPU : CLNN_DEVICE_CLASS_GPU;
    ctx = other;
    run_all();
    check_auto(!gpu_first);
    clnn_context_destroy(other);
  }

  /* Work-group limits below 256: 8x8 and 4x4 tiles (the kernel's local size is the host's
   * choice), then UNSUPPORTED with nothing written. */
  const size_t limits[2] = {64, 16};
  for (int li = 0; li < 2; li++) {
    TU_OK(clnn_context_create(NULL, &ctx));
    if (!ctx) break;
    ctx->device_class = CLNN_DEVICE_CLASS_GPU;
    ctx->info.max_work_group_size = limits[li];
    check_forward(&cases[6], CLNN_ACT_RELU, 0.0f);
    check_forward(&cases[5], CLNN_ACT_RELU, 0.0f);
    check_beta(&cases[3]);
    clnn_context_destroy(ctx);
  }
  TU_OK(clnn_context_create(NULL, &ctx));
  if (ctx) {
    ctx->info.max_work_group_size = 8;
    clnn_conv2d_params p;
    clnn_conv2d_params_init(&p);
    size_t xd[4] = {1, 2, 4, 4}, wd[4] = {3, 2, 3, 3}, yd[4] = {1, 3, 2, 2}, bytes = 0;
    clnn_tensor *tx = tu_tensor(ctx, 4, xd, NULL), *tw = tu_tensor(ctx, 4, wd, NULL), *ty = tu_tensor(ctx, 4, yd, NULL);
    TU_OK(clnn_tensor_fill(ty, 7.0f));
    TU_CHECK(clnn_conv2d_forward(ctx, &p, CLNN_CONV_ALGO_IMPLICIT_GEMM, tx, tw, NULL, CLNN_ACT_IDENTITY, 0.0f, ty) ==
                 CLNN_ERROR_UNSUPPORTED && strstr(clnn_last_error(), "IMPLICIT_GEMM"),
             "work-group limit 8: forced implicit GEMM should be UNSUPPORTED naming it (%s)", clnn_last_error());
    TU_CHECK(clnn_conv2d_workspace_size(ctx, &p, CLNN_CONV_ALGO_IMPLICIT_GEMM, xd, wd, &bytes) == CLNN_ERROR_UNSUPPORTED,
             "work-group limit 8: implicit GEMM workspace query should be UNSUPPORTED");
    float *y = tu_read(ty);
    TU_CHECK(y[0] == 7.0f && y[11] == 7.0f, "a refused call wrote y (%g, %g)", y[0], y[11]);
    free(y);
    clnn_tensor_destroy(tx); clnn_tensor_destroy(tw); clnn_tensor_destroy(ty);
    clnn_context_destroy(ctx);
  }
  ctx = first;
  clnn_context_destroy(ctx);
  return tu_finish("test_conv2d_igemm");
}
