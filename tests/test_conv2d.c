/* tests/test_conv2d.c — convolution: every algorithm forced on its own against the plain-C
 * reference (tests/ref/conv_ref.c) over many shapes, forward (with fused bias and activation),
 * backward-data, backward-filter and bias gradient with beta 0 (outputs pre-filled with NaN),
 * beta 1 and beta 0.5 (over random prefills); the chunked im2col paths; transposed convolution; gradients against central finite
 * differences of the double-precision reference loss; bit-identical reruns; workspace queries and
 * no reallocation in steady state; and every documented error path (right status, output left
 * untouched). */
#include "conv_test_util.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Test hook in src/ops/conv2d.c: the column-buffer bound (0 restores 64 MiB); returns the old one. */
size_t clnn__conv2d_set_workspace_limit(size_t bytes);
/* Test hook in src/ops/conv2d.c: -1 keeps DIRECT off the whole-plane kernels (0 restores). */
int clnn__conv2d_set_flat(int mode);

static clnn_context *ctx;

static const clnn_conv_algo ALGOS[] = {CLNN_CONV_ALGO_IM2COL_GEMM, CLNN_CONV_ALGO_1X1_GEMM,
                                       CLNN_CONV_ALGO_DIRECT, CLNN_CONV_ALGO_IMPLICIT_GEMM,
                                       CLNN_CONV_ALGO_AUTO};
static const char *algo_name(clnn_conv_algo a) {
  switch (a) {
    case CLNN_CONV_ALGO_AUTO: return "auto";
    case CLNN_CONV_ALGO_IM2COL_GEMM: return "im2col";
    case CLNN_CONV_ALGO_1X1_GEMM: return "1x1";
    case CLNN_CONV_ALGO_DIRECT: return "direct";
    case CLNN_CONV_ALGO_IMPLICIT_GEMM: return "igemm";
    case CLNN_CONV_ALGO_WINOGRAD: return "winograd";
  }
  return "?";
}

static int applies_1x1(const tcase *t) {
  return t->r == 1 && t->s == 1 && t->sh == 1 && t->sw == 1 && !t->pt && !t->pb && !t->pl &&
         !t->pr && t->groups == 1;
}

static float *copy(const float *src, size_t n) {
  float *a = malloc(n * sizeof(float));
  memcpy(a, src, n * sizeof(float));
  return a;
}

/* Tolerance for a sum of `len` products of values in [-1, 1]. */
static int close_enough(const float *got, const float *want, size_t n, size_t len, const char *what) {
  float atol = 3e-6f * sqrtf((float)len) + 1e-6f;
  return tu_allclose(got, want, n, 1e-4f, atol, what);
}

/* Device result of tensor t vs want (and frees the copy). */
static void expect(const clnn_tensor *t, const float *want, size_t len, const char *fmt,
                   const char *name, const char *algo, const char *pass) {
  char what[256];
  snprintf(what, sizeof what, fmt, name, algo, pass);
  float *got = tu_read(t);
  close_enough(got, want, clnn_tensor_numel(t), len, what);
  free(got);
}

/* ---- conv2d forward / backward for every algorithm vs the reference ---- */

/* F_BETA1: also the accumulating betas below, over random prefills */
enum { F_BIAS = 1, F_BETA1 = 2, F_NO_AUTO = 4 };
static const float BETAS[2] = {1.0f, 0.5f};

static void check_case(const tcase *t, int flags, clnn_activation act, float act_alpha) {
  conv_ref_geom g = geom_of(t);
  if (!TU_CHECK(conv_ref_geom_conv(&g), "%s: reference geometry invalid", t->name)) return;
  clnn_conv2d_params p = params_of(t);
  size_t xd[4] = {t->n, t->c, t->h, t->w}, wd[4] = {t->k, t->c / t->groups, t->r, t->s}, yd[4];
  TU_OK(clnn_conv2d_output_dims(xd, wd, &p, yd));
  TU_CHECK(yd[0] == (size_t)t->n && yd[1] == (size_t)t->k && yd[2] == (size_t)g.p &&
               yd[3] == (size_t)g.q,
           "%s: output dims [%zu, %zu, %zu, %zu], expected [%d, %d, %d, %d]", t->name, yd[0], yd[1],
           yd[2], yd[3], t->n, t->k, g.p, g.q);
  size_t nx = xd[0] * xd[1] * xd[2] * xd[3], nw = wd[0] * wd[1] * wd[2] * wd[3];
  size_t ny = (size_t)t->n * t->k * g.p * g.q, bd[1] = {t->k};
  float *x = rnd(nx), *w = rnd(nw), *b = rnd(t->k), *dy = rnd(ny);
  float *y_ref = malloc(ny * 4), *dx_ref = malloc(nx * 4), *dw_ref = malloc(nw * 4);
  float *nan_x = filled(nx, NAN), *nan_w = filled(nw, NAN), *nan_y = filled(ny, NAN);
  conv_ref_forward(&g, x, w, (flags & F_BIAS) ? b : NULL, act, act_alpha, y_ref);
  conv_ref_backward_data(&g, dy, w, 0.0f, dx_ref);
  conv_ref_backward_filter(&g, x, dy, 0.0f, dw_ref);
  /* with F_BETA1: beta 1 and 0.5 over random prefills (expected = gradient + beta * prefill) */
  float *dx0 = NULL, *dw0 = NULL, *dxb_ref[2] = {NULL, NULL}, *dwb_ref[2] = {NULL, NULL};
  if (flags & F_BETA1) {
    dx0 = rnd(nx);
    dw0 = rnd(nw);
    for (int bi = 0; bi < 2; bi++) {
      dxb_ref[bi] = copy(dx0, nx);
      dwb_ref[bi] = copy(dw0, nw);
      conv_ref_backward_data(&g, dy, w, BETAS[bi], dxb_ref[bi]);
      conv_ref_backward_filter(&g, x, dy, BETAS[bi], dwb_ref[bi]);
    }
  }
  clnn_tensor *tx = tu_tensor(ctx, 4, xd, x), *tw = tu_tensor(ctx, 4, wd, w);
  clnn_tensor *tb = tu_tensor(ctx, 1, bd, b), *ty = tu_tensor(ctx, 4, yd, NULL);
  clnn_tensor *tdy = tu_tensor(ctx, 4, yd, dy), *tdx = tu_tensor(ctx, 4, xd, NULL);
  clnn_tensor *tdw = tu_tensor(ctx, 4, wd, NULL);
  size_t len_f = (size_t)(t->c / t->groups) * t->r * t->s;
  size_t len_d = (size_t)(t->k / t->groups) * t->r * t->s, len_w = (size_t)t->n * g.p * g.q;
  for (size_t ai = 0; ai < sizeof ALGOS / sizeof ALGOS[0]; ai++) {
    clnn_conv_algo a = ALGOS[ai];
    if (a == CLNN_CONV_ALGO_1X1_GEMM && !applies_1x1(t)) continue;
    if (a == CLNN_CONV_ALGO_AUTO && (flags & F_NO_AUTO)) continue;
    const char *an = algo_name(a);
    put(ty, nan_y);
    TU_OK(clnn_conv2d_forward(ctx, &p, a, tx, tw, (flags & F_BIAS) ? tb : NULL, act, act_alpha, ty));
    expect(ty, y_ref, len_f, "%s [%s] %s", t->name, an, "forward");
    put(tdx, nan_x);
    TU_OK(clnn_conv2d_backward_data(ctx, &p, a, tdy, tw, 0.0f, tdx));
    expect(tdx, dx_ref, len_d, "%s [%s] %s", t->name, an, "backward-data beta=0");
    put(tdw, nan_w);
    TU_OK(clnn_conv2d_backward_filter(ctx, &p, a, tx, tdy, 0.0f, tdw));
    expect(tdw, dw_ref, len_w, "%s [%s] %s", t->name, an, "backward-filter beta=0");
    for (int bi = 0; bi < 2 && (flags & F_BETA1); bi++) {
      put(tdx, dx0);
      TU_OK(clnn_conv2d_backward_data(ctx, &p, a, tdy, tw, BETAS[bi], tdx));
      expect(tdx, dxb_ref[bi], len_d, "%s [%s] %s", t->name, an,
             bi ? "backward-data beta=0.5" : "backward-data beta=1");
      put(tdw, dw0);
      TU_OK(clnn_conv2d_backward_filter(ctx, &p, a, tx, tdy, BETAS[bi], tdw));
      expect(tdw, dwb_ref[bi], len_w, "%s [%s] %s", t->name, an,
             bi ? "backward-filter beta=0.5" : "backward-filter beta=1");
    }
  }
  /* bias gradient, beta 0 over NaN, beta 1 and 0.5 over random values */
  {
    float *db_ref = malloc(t->k * 4), *db0 = rnd(t->k), *nan_b = filled(t->k, NAN);
    conv_ref_backward_bias(t->n, t->k, g.p * g.q, dy, 0.0f, db_ref);
    put(tb, nan_b);
    TU_OK(clnn_conv2d_backward_bias(ctx, tdy, 0.0f, tb));
    expect(tb, db_ref, len_w, "%s [%s] %s", t->name, "-", "backward-bias beta=0");
    for (int bi = 0; bi < 2; bi++) {
      memcpy(db_ref, db0, t->k * 4);
      conv_ref_backward_bias(t->n, t->k, g.p * g.q, dy, BETAS[bi], db_ref);
      put(tb, db0);
      TU_OK(clnn_conv2d_backward_bias(ctx, tdy, BETAS[bi], tb));
      expect(tb, db_ref, len_w, "%s [%s] %s", t->name, "-",
             bi ? "backward-bias beta=0.5" : "backward-bias beta=1");
    }
    free(db_ref); free(db0); free(nan_b);
  }
  clnn_tensor_destroy(tx); clnn_tensor_destroy(tw); clnn_tensor_destroy(tb);
  clnn_tensor_destroy(ty); clnn_tensor_destroy(tdy); clnn_tensor_destroy(tdx);
  clnn_tensor_destroy(tdw);
  free(x); free(w); free(b); free(dy); free(y_ref); free(dx_ref); free(dw_ref);
  free(nan_x); free(nan_w); free(nan_y); free(dx0); free(dw0);
  for (int bi = 0; bi < 2; bi++) { free(dxb_ref[bi]); free(dwb_ref[bi]); }
}

/* ---- transposed convolution: x [N, C, H, W], w [C, K/G, R, S], y [N, K, P, Q] ---- */

static void check_transpose_case(const tcase *t) {
  conv_ref_geom g = geom_of(t);
  if (!TU_CHECK(conv_ref_geom_transpose(&g), "%s: reference geometry invalid", t->name)) return;
  clnn_conv2d_params p = params_of(t);
  size_t xd[4] = {t->n, t->c, t->h, t->w}, wd[4] = {t->c, t->k / t->groups, t->r, t->s}, yd[4];
  TU_OK(clnn_conv_transpose2d_output_dims(xd, wd, &p, yd));
  TU_CHECK(yd[0] == (size_t)t->n && yd[1] == (size_t)t->k && yd[2] == (size_t)g.p &&
               yd[3] == (size_t)g.q,
           "%s: transposed output dims [%zu, %zu, %zu, %zu], expected [%d, %d, %d, %d]", t->name,
           yd[0], yd[1], yd[2], yd[3], t->n, t->k, g.p, g.q);
  size_t nx = xd[0] * xd[1] * xd[2] * xd[3], nw = wd[0] * wd[1] * wd[2] * wd[3];
  size_t ny = (size_t)t->n * t->k * g.p * g.q, bd[1] = {t->k};
  float *x = rnd(nx), *w = rnd(nw), *b = rnd(t->k), *dy = rnd(ny);
  float *y_ref = malloc(ny * 4), *dx_ref = malloc(nx * 4), *dw_ref = malloc(nw * 4);
  float *dx0 = rnd(nx), *dw0 = rnd(nw), *dxb_ref[2], *dwb_ref[2];
  float *nan_x = filled(nx, NAN), *nan_w = filled(nw, NAN), *nan_y = filled(ny, NAN);
  conv_ref_transpose_forward(&g, x, w, b, y_ref);
  conv_ref_transpose_backward_data(&g, dy, w, 0.0f, dx_ref);
  conv_ref_transpose_backward_filter(&g, x, dy, 0.0f, dw_ref);
  for (int bi = 0; bi < 2; bi++) { /* beta 1 and 0.5 over random prefills */
    dxb_ref[bi] = copy(dx0, nx);
    dwb_ref[bi] = copy(dw0, nw);
    conv_ref_transpose_backward_data(&g, dy, w, BETAS[bi], dxb_ref[bi]);
    conv_ref_transpose_backward_filter(&g, x, dy, BETAS[bi], dwb_ref[bi]);
  }
  clnn_tensor *tx = tu_tensor(ctx, 4, xd, x), *tw = tu_tensor(ctx, 4, wd, w);
  clnn_tensor *tb = tu_tensor(ctx, 1, bd, b), *ty = tu_tensor(ctx, 4, yd, NULL);
  clnn_tensor *tdy = tu_tensor(ctx, 4, yd, dy), *tdx = tu_tensor(ctx, 4, xd, NULL);
  clnn_tensor *tdw = tu_tensor(ctx, 4, wd, NULL);
  size_t len = (size_t)t->c * t->r * t->s + (size_t)t->k * t->r * t->s;
  size_t len_w = (size_t)t->n * t->h * t->w;
  for (size_t ai = 0; ai < sizeof ALGOS / sizeof ALGOS[0]; ai++) {
    clnn_conv_algo a = ALGOS[ai];
    if (a == CLNN_CONV_ALGO_1X1_GEMM && !applies_1x1(t)) continue;
    const char *an = algo_name(a);
    put(ty, nan_y);
    TU_OK(clnn_conv_transpose2d_forward(ctx, &p, a, tx, tw, tb, ty));
    expect(ty, y_ref, len, "%s [%s] %s", t->name, an, "transposed forward");
    put(tdx, nan_x);
    TU_OK(clnn_conv_transpose2d_backward_data(ctx, &p, a, tdy, tw, 0.0f, tdx));
    expect(tdx, dx_ref, len, "%s [%s] %s", t->name, an, "transposed backward-data beta=0");
    put(tdw, nan_w);
    TU_OK(clnn_conv_transpose2d_backward_filter(ctx, &p, a, tx, tdy, 0.0f, tdw));
    expect(tdw, dw_ref, len_w, "%s [%s] %s", t->name, an, "transposed backward-filter beta=0");
    for (int bi = 0; bi < 2; bi++) {
      put(tdx, dx0);
      TU_OK(clnn_conv_transpose2d_backward_data(ctx, &p, a, tdy, tw, BETAS[bi], tdx));
      expect(tdx, dxb_ref[bi], len, "%s [%s] %s", t->name, an,
             bi ? "transposed backward-data beta=0.5" : "transposed backward-data beta=1");
      put(tdw, dw0);
      TU_OK(clnn_conv_transpose2d_backward_filter(ctx, &p, a, tx, tdy, BETAS[bi], tdw));
      expect(tdw, dwb_ref[bi], len_w, "%s [%s] %s", t->name, an,
             bi ? "transposed backward-filter beta=0.5" : "transposed backward-filter beta=1");
    }
  }
  /* no bias */
  conv_ref_transpose_forward(&g, x, w, NULL, y_ref);
  put(ty, nan_y);
  TU_OK(clnn_conv_transpose2d_forward(ctx, &p, CLNN_CONV_ALGO_AUTO, tx, tw, NULL, ty));
  expect(ty, y_ref, len, "%s [%s] %s", t->name, "auto", "transposed forward, no bias");
  clnn_tensor_destroy(tx); clnn_tensor_destroy(tw); clnn_tensor_destroy(tb);
  clnn_tensor_destroy(ty); clnn_tensor_destroy(tdy); clnn_tensor_destroy(tdx);
  clnn_tensor_destroy(tdw);
  free(x); free(w); free(b); free(dy); free(y_ref); free(dx_ref); free(dw_ref); free(dx0);
  free(dw0); free(nan_x); free(nan_w); free(nan_y);
  for (int bi = 0; bi < 2; bi++) { free(dxb_ref[bi]); free(dwb_ref[bi]); }
}

/* ---- gradients vs central finite differences of the double-precision reference loss ---- */

typedef struct fd_state {
  conv_ref_geom g;
  int transposed;
  float *x, *w, *b;
  const float *gy; /* loss = sum of y * gy */
  double *yd;
  size_t ny;
} fd_state;

static double fd_loss(void *user) {
  fd_state *f = user;
  if (f->transposed) conv_ref_transpose_forward_d(&f->g, f->x, f->w, f->yd);
  else conv_ref_forward_d(&f->g, f->x, f->w, NULL, f->yd);
  size_t sp = (size_t)f->g.p * f->g.q;
  double l = 0;
  for (size_t i = 0; i < f->ny; i++) l += (f->yd[i] + f->b[(i / sp) % (size_t)f->g.k]) * f->gy[i];
  return l;
}

static void fd_compare(fd_state *f, float *param, const float *grad, size_t n, const char *name,
                       const char *what) {
  int bad = 0;
  for (int t = 0; t < 6; t++) {
    size_t i = (size_t)(tu_uniform(0.0f, 1.0f) * (float)n) % n;
    double num = tu_fd(param, i, 1e-2f, fd_loss, f);
    if (fabs(num - grad[i]) > 2e-3 * (1.0 + fabs(num))) {
      bad = 1;
      printf("  %s %s[%zu]: analytic %.7g, finite difference %.7g\n", name, what, i, grad[i], num);
    }
  }
  TU_CHECK(!bad, "%s: %s gradient disagrees with finite differences", name, what);
}

static void check_fd(const tcase *t, int transposed) {
  fd_state f;
  f.g = geom_of(t);
  f.transposed = transposed;
  int ok = transposed ? conv_ref_geom_transpose(&f.g) : conv_ref_geom_conv(&f.g);
  if (!TU_CHECK(ok, "%s: reference geometry invalid", t->name)) return;
  clnn_conv2d_params p = params_of(t);
  size_t xd[4] = {t->n, t->c, t->h, t->w};
  size_t wd[4] = {t->k, t->c / t->groups, t->r, t->s};
  if (transposed) { wd[0] = t->c; wd[1] = t->k / t->groups; }
  size_t yd[4] = {t->n, t->k, f.g.p, f.g.q}, bd[1] = {t->k};
  size_t nx = xd[0] * xd[1] * xd[2] * xd[3], nw = wd[0] * wd[1] * wd[2] * wd[3];
  f.ny = yd[0] * yd[1] * yd[2] * yd[3];
  f.x = rnd(nx); f.w = rnd(nw); f.b = rnd(t->k);
  float *gy = rnd(f.ny);
  f.gy = gy;
  f.yd = malloc(f.ny * sizeof(double));
  clnn_tensor *tx = tu_tensor(ctx, 4, xd, f.x), *tw = tu_tensor(ctx, 4, wd, f.w);
  clnn_tensor *tdy = tu_tensor(ctx, 4, yd, gy), *tdx = tu_tensor(ctx, 4, xd, NULL);
  clnn_tensor *tdw = tu_tensor(ctx, 4, wd, NULL), *tdb = tu_tensor(ctx, 1, bd, NULL);
  if (transposed) {
    TU_OK(clnn_conv_transpose2d_backward_data(ctx, &p, CLNN_CONV_ALGO_AUTO, tdy, tw, 0.0f, tdx));
    TU_OK(clnn_conv_transpose2d_backward_filter(ctx, &p, CLNN_CONV_ALGO_AUTO, tx, tdy, 0.0f, tdw));
  } else {
    TU_OK(clnn_conv2d_backward_data(ctx, &p, CLNN_CONV_ALGO_AUTO, tdy, tw, 0.0f, tdx));
    TU_OK(clnn_conv2d_backward_filter(ctx, &p, CLNN_CONV_ALGO_AUTO, tx, tdy, 0.0f, tdw));
  }
  TU_OK(clnn_conv2d_backward_bias(ctx, tdy, 0.0f, tdb));
  float *gx = tu_read(tdx), *gw = tu_read(tdw), *gb = tu_read(tdb);
  fd_compare(&f, f.x, gx, nx, t->name, "x");
  fd_compare(&f, f.w, gw, nw, t->name, "w");
  fd_compare(&f, f.b, gb, (size_t)t->k, t->name, "bias");
  clnn_tensor_destroy(tx); clnn_tensor_destroy(tw); clnn_tensor_destroy(tdy);
  clnn_tensor_destroy(tdx); clnn_tensor_destroy(tdw); clnn_tensor_destroy(tdb);
  free(gx); free(gw); free(gb); free(f.x); free(f.w); free(f.b); free(gy); free(f.yd);
}

/* ---- bias gradient over sizes around a work-group (tree reductions on GPU-class devices):
 * N, K and N*P*Q of 1, 7, 257, 300, beta 0 over NaN, 1 and 0.5 ---- */
static void check_bias_sizes(void) {
  static const size_t sizes[][3] = {{1, 1, 1}, {7, 3, 1}, {3, 2, 300}, {300, 2, 7}, {2, 7, 257}, {1, 300, 1}};
  for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++) {
    size_t n = sizes[c][0], k = sizes[c][1], sp = sizes[c][2], yd[3] = {n, k, sp}, bd[1] = {k};
    float *dy = rnd(n * k * sp), *db0 = rnd(k), *nan_b = filled(k, NAN), *ref = malloc(k * 4);
    clnn_tensor *tdy = tu_tensor(ctx, 3, yd, dy), *tb = tu_tensor(ctx, 1, bd, nan_b);
    char name[64];
    snprintf(name, sizeof name, "bias N=%zu K=%zu PQ=%zu", n, k, sp);
    for (int bi = -1; bi < 2; bi++) {
      float beta = bi < 0 ? 0.0f : BETAS[bi];
      memcpy(ref, db0, k * 4);
      conv_ref_backward_bias((int)n, (int)k, (int)sp, dy, beta, ref);
      put(tb, bi < 0 ? nan_b : db0);
      TU_OK(clnn_conv2d_backward_bias(ctx, tdy, beta, tb));
      expect(tb, ref, n * sp, "%s [%s] %s", name, "-", bi < 0 ? "beta=0" : bi ? "beta=0.5" : "beta=1");
    }
    clnn_tensor_destroy(tdy); clnn_tensor_destroy(tb);
    free(dy); free(db0); free(nan_b); free(ref);
  }
}

/* ---- determinism: every pass of every algorithm twice, bit for bit ---- */

static void check_determinism(const tcase *t) {
  conv_ref_geom g = geom_of(t);
  conv_ref_geom_conv(&g);
  clnn_conv2d_params p = params_of(t);
  size_t xd[4] = {t->n, t->c, t->h, t->w}, wd[4] = {t->k, t->c / t->groups, t->r, t->s};
  size_t yd[4] = {t->n, t->k, g.p, g.q}, bd[1] = {t->k};
  size_t nx = xd[0] * xd[1] * xd[2] * xd[3], nw = wd[0] * wd[1] * wd[2] * wd[3];
  size_t ny = yd[0] * yd[1] * yd[2] * yd[3];
  float *x = rnd(nx), *w = rnd(nw), *b = rnd(t->k), *dy = rnd(ny);
  clnn_tensor *tx = tu_tensor(ctx, 4, xd, x), *tw = tu_tensor(ctx, 4, wd, w);
  clnn_tensor *tb = tu_tensor(ctx, 1, bd, b), *tdy = tu_tensor(ctx, 4, yd, dy);
  clnn_tensor *o[4] = {tu_tensor(ctx, 4, yd, NULL), tu_tensor(ctx, 4, xd, NULL),
                       tu_tensor(ctx, 4, wd, NULL), tu_tensor(ctx, 1, bd, NULL)};
  for (size_t ai = 0; ai < sizeof ALGOS / sizeof ALGOS[0]; ai++) {
    clnn_conv_algo a = ALGOS[ai];
    if (a == CLNN_CONV_ALGO_1X1_GEMM && !applies_1x1(t)) continue;
    float *first[4];
    for (int run = 0; run < 2; run++) {
      TU_OK(clnn_conv2d_forward(ctx, &p, a, tx, tw, tb, CLNN_ACT_RELU, 0.0f, o[0]));
      TU_OK(clnn_conv2d_backward_data(ctx, &p, a, tdy, tw, 0.0f, o[1]));
      TU_OK(clnn_conv2d_backward_filter(ctx, &p, a, tx, tdy, 0.0f, o[2]));
      TU_OK(clnn_conv2d_backward_bias(ctx, tdy, 0.0f, o[3]));
      for (int i = 0; i < 4; i++) {
        float *r = tu_read(o[i]);
        if (run == 0) {
          first[i] = r;
        } else {
          TU_CHECK(memcmp(r, first[i], clnn_tensor_numel(o[i]) * sizeof(float)) == 0,
                   "%s [%s]: output %d differs between two identical runs", t->name,
                   algo_name(a), i);
          free(r);
          free(first[i]);
        }
      }
    }
  }
  clnn_tensor_destroy(tx); clnn_tensor_destroy(tw); clnn_tensor_destroy(tb);
  clnn_tensor_destroy(tdy);
  for (int i = 0; i < 4; i++) clnn_tensor_destroy(o[i]);
  free(x); free(w); free(b); free(dy);
}

/* ---- workspace: sizes, bound, no reallocation in steady state ---- */

static void check_workspace(void) {
  clnn_conv2d_params p;
  clnn_conv2d_params_init(&p);
  p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 1;
  size_t xd[4] = {32, 256, 56, 56}, wd[4] = {256, 256, 3, 3}, bytes = 1;
  TU_OK(clnn_conv2d_workspace_size(ctx, &p, CLNN_CONV_ALGO_IM2COL_GEMM, xd, wd, &bytes));
  TU_CHECK(bytes > 0 && bytes <= ((size_t)64 << 20),
           "im2col workspace for a 32x256x56x56 3x3 conv is %zu bytes, expected (0, 64 MiB]", bytes);
  TU_OK(clnn_conv2d_workspace_size(ctx, &p, CLNN_CONV_ALGO_DIRECT, xd, wd, &bytes));
  TU_CHECK(bytes == 0, "direct workspace is %zu bytes, expected 0", bytes);
  TU_OK(clnn_conv2d_workspace_size(ctx, &p, CLNN_CONV_ALGO_AUTO, xd, wd, &bytes));
  TU_CHECK(bytes > 0, "auto (im2col) workspace for a 3x3 conv is 0");
  clnn_conv2d_params_init(&p);
  size_t wd1[4] = {64, 256, 1, 1}, xd1[4] = {1, 256, 14, 14};
  TU_OK(clnn_conv2d_workspace_size(ctx, &p, CLNN_CONV_ALGO_1X1_GEMM, xd1, wd1, &bytes));
  TU_CHECK(bytes == 0, "1x1 workspace with batch 1 is %zu bytes, expected 0", bytes);

  /* Two identical calls: the second must not grow (reallocate) the workspace. */
  clnn_conv2d_params_init(&p);
  p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 1;
  size_t x4[4] = {2, 5, 9, 9}, w4[4] = {4, 5, 3, 3}, y4[4] = {2, 4, 9, 9};
  clnn_tensor *tx = tu_tensor(ctx, 4, x4, NULL), *tw = tu_tensor(ctx, 4, w4, NULL);
  clnn_tensor *ty = tu_tensor(ctx, 4, y4, NULL), *tdw = tu_tensor(ctx, 4, w4, NULL);
  TU_OK(clnn_tensor_fill(tx, 0.5f));
  TU_OK(clnn_tensor_fill(tw, 0.25f));
  TU_OK(clnn_conv2d_forward(ctx, &p, CLNN_CONV_ALGO_IM2COL_GEMM, tx, tw, NULL, CLNN_ACT_IDENTITY, 0.0f, ty));
  TU_OK(clnn_conv2d_backward_filter(ctx, &p, CLNN_CONV_ALGO_IM2COL_GEMM, tx, ty, 0.0f, tdw));
  cl_mem m0 = ctx->workspace[0], m1 = ctx->workspace[1];
  size_t b0 = ctx->workspace_bytes[0], b1 = ctx->workspace_bytes[1];
  for (int i = 0; i < 3; i++) {
    TU_OK(clnn_conv2d_forward(ctx, &p, CLNN_CONV_ALGO_IM2COL_GEMM, tx, tw, NULL, CLNN_ACT_IDENTITY, 0.0f, ty));
    TU_OK(clnn_conv2d_backward_filter(ctx, &p, CLNN_CONV_ALGO_IM2COL_GEMM, tx, ty, 0.0f, tdw));
  }
  TU_CHECK(m0 && ctx->workspace[0] == m0 && ctx->workspace[1] == m1 &&
               ctx->workspace_bytes[0] == b0 && ctx->workspace_bytes[1] == b1,
           "workspace reallocated in steady state");
  clnn_tensor_destroy(tx); clnn_tensor_destroy(tw); clnn_tensor_destroy(ty); clnn_tensor_destroy(tdw);
}

/* ---- chunked im2col paths (a tiny workspace bound forces several chunks) ---- */

static void check_chunked(void) {
  /* (C*R*S) = 45 floats per column, 63 output pixels per image, N = 3. */
  tcase t = {"chunked 3x5x7x9 k4 3x3", 3, 5, 7, 9, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  size_t limits[] = {(45 + 4) * 4 * 63 * 2 + 100, /* two images per chunk, then one */
                     45 * 4 * 63,           /* one image per chunk */
                     45 * 4 * 20 + 7};      /* slices of 20 output pixels */
  for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
    clnn__conv2d_set_workspace_limit(limits[i]);
    char name[96];
    snprintf(name, sizeof name, "%s limit %zu", t.name, limits[i]);
    tcase u = t;
    u.name = name;
    check_case(&u, F_BIAS | F_BETA1 | F_NO_AUTO, CLNN_ACT_IDENTITY, 0.0f);
    tcase v = {"chunked grouped stride 2", 3, 4, 9, 7, 6, 3, 3, 2, 2, 1, 0, 0, 1, 1, 1, 2};
    snprintf(name, sizeof name, "%s limit %zu", v.name, limits[i]);
    v.name = name;
    check_case(&v, F_BETA1 | F_NO_AUTO, CLNN_ACT_IDENTITY, 0.0f);
    /* 1x1: (C + K) = 9 floats per column, 63 pixels per image */
    tcase w = {"chunked 1x1", 3, 5, 7, 9, 4, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1};
    snprintf(name, sizeof name, "%s limit %zu", w.name, limits[i] / 5);
    w.name = name;
    clnn__conv2d_set_workspace_limit(limits[i] / 5);
    check_case(&w, F_BETA1 | F_NO_AUTO, CLNN_ACT_IDENTITY, 0.0f);
    tcase tt = {"chunked transposed", 3, 4, 5, 6, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2};
    snprintf(name, sizeof name, "%s limit %zu", tt.name, limits[i] / 3);
    tt.name = name;
    clnn__conv2d_set_workspace_limit(limits[i] / 3);
    check_transpose_case(&tt);
  }
  /* Wide rows cut by pixel slices in mid-row (45 floats per column, 2*37 = 74 pixels per
   * image): slices of 23 and of 40 pixels, and whole images. */
  {
    tcase t2 = {"chunked wide 5x2x37 k4 3x3", 2, 5, 2, 37, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    tcase t3 = {"chunked wide stride2 5x5x45", 2, 5, 5, 45, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1};
    /* 1x1 stride 2, 45 floats per column as t2 (C = 41): 2*24 pixels per image, slices mid-row */
    tcase t5 = {"chunked wide 1x1 stride2 41x4x45", 2, 41, 4, 45, 4, 1, 1, 2, 2, 0, 0, 1, 1, 1, 1, 1};
    /* 9 channels of one image: the flat col2im over pixel slices (81 floats per column) */
    tcase t4 = {"chunked flat 1x9x3x20", 1, 9, 3, 20, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    size_t wl[] = {(45 + 4) * 4 * 23, (45 + 4) * 4 * 40, (45 + 4) * 4 * 74 * 2};
    for (size_t i = 0; i < 2; i++) {
      char name[96];
      size_t lim = (81 + 4) * 4 * (i ? 25 : 13);
      clnn__conv2d_set_workspace_limit(lim);
      tcase u = t4;
      snprintf(name, sizeof name, "%s limit %zu", t4.name, lim);
      u.name = name;
      check_case(&u, F_BETA1 | F_NO_AUTO, CLNN_ACT_IDENTITY, 0.0f);
    }
    for (size_t i = 0; i < sizeof wl / sizeof wl[0]; i++) {
      char name[96];
      clnn__conv2d_set_workspace_limit(wl[i]);
      tcase u = t2;
      snprintf(name, sizeof name, "%s limit %zu", t2.name, wl[i]);
      u.name = name;
      check_case(&u, F_BETA1 | F_NO_AUTO, CLNN_ACT_IDENTITY, 0.0f);
      const tcase *more[] = {&t3, &t5};
      for (size_t j = 0; j < 2; j++) {
        u = *more[j];
        snprintf(name, sizeof name, "%s limit %zu", u.name, wl[i]);
        u.name = name;
        check_case(&u, F_BETA1 | F_NO_AUTO, CLNN_ACT_IDENTITY, 0.0f);
      }
    }
  }
  clnn__conv2d_set_workspace_limit(0);
}

/* ---- error paths: right status, nothing written ---- */

#define SENTINEL 12345.0f

static void fill_sentinel(clnn_tensor *t) {
  float *h = filled(clnn_tensor_numel(t), SENTINEL);
  put(t, h);
  free(h);
}
static void expect_untouched(clnn_tensor *t, const char *what) {
  float *h = tu_read(t);
  size_t n = clnn_tensor_numel(t), bad = 0;
  for (size_t i = 0; i < n; i++) bad += h[i] != SENTINEL;
  TU_CHECK(bad == 0, "%s: output changed on error (%zu of %zu elements)", what, bad, n);
  free(h);
}
/* Runs `call`, expects `status` and a non-empty message, and `out` untouched. */
#define EXPECT_ERR(call, status, out)                                                              \
  do {                                                                                             \
    fill_sentinel(out);                                                                            \
    TU_STATUS(call, status);                                                                       \
    TU_CHECK(clnn_last_error()[0] != 0, "%s: empty error message", #call);                        \
    expect_untouched(out, #call);                                                                  \
  } while (0)

static void check_errors(void) {
  clnn_conv2d_params p, q;
  clnn_conv2d_params_init(&p);
  TU_CHECK(p.stride_h == 1 && p.stride_w == 1 && p.pad_top == 0 && p.pad_bottom == 0 &&
               p.pad_left == 0 && p.pad_right == 0 && p.dilation_h == 1 && p.dilation_w == 1 &&
               p.groups == 1,
           "clnn_conv2d_params_init defaults");
  clnn_conv2d_params_init(NULL); /* no crash */
  size_t xd[4] = {2, 4, 6, 6}, wd[4] = {6, 4, 3, 3}, yd[4] = {2, 6, 4, 4};
  size_t wdg[4] = {6, 2, 3, 3}, bd[1] = {6}, bd5[1] = {5}, x3[3] = {2, 4, 36};
  clnn_tensor *x = tu_tensor(ctx, 4, xd, NULL), *w = tu_tensor(ctx, 4, wd, NULL);
  clnn_tensor *y = tu_tensor(ctx, 4, yd, NULL), *b = tu_tensor(ctx, 1, bd, NULL);
  clnn_tensor *dx = tu_tensor(ctx, 4, xd, NULL), *dw = tu_tensor(ctx, 4, wd, NULL);
  clnn_tensor *wg = tu_tensor(ctx, 4, wdg, NULL), *b5 = tu_tensor(ctx, 1, bd5, NULL);
  clnn_tensor *xflat = tu_tensor(ctx, 3, x3, NULL);
  size_t ybad_d[4] = {2, 6, 5, 4}, ybig_d[4] = {2, 6, 6, 6};
  clnn_tensor *ybad = tu_tensor(ctx, 4, ybad_d, NULL), *ybig = tu_tensor(ctx, 4, ybig_d, NULL);
  TU_OK(clnn_tensor_fill(x, 1.0f));
  TU_OK(clnn_tensor_fill(w, 1.0f));
  TU_OK(clnn_tensor_fill(b, 1.0f));
  const clnn_conv_algo A = CLNN_CONV_ALGO_AUTO;
  const clnn_activation I = CLNN_ACT_IDENTITY;

  /* forward */
  EXPECT_ERR(clnn_conv2d_forward(NULL, &p, A, x, w, NULL, I, 0, y), CLNN_ERROR_INVALID_ARGUMENT, y);
  EXPECT_ERR(clnn_conv2d_forward(ctx, NULL, A, x, w, NULL, I, 0, y), CLNN_ERROR_INVALID_ARGUMENT, y);
  EXPECT_ERR(clnn_conv2d_forward(ctx, &p, A, NULL, w, NULL, I, 0, y), CLNN_ERROR_INVALID_ARGUMENT, y);
  EXPECT_ERR(clnn_conv2d_forward(ctx, &p, A, x, NULL, NULL, I, 0, y), CLNN_ERROR_INVALID_ARGUMENT, y);
  TU_STATUS(clnn_conv2d_forward(ctx, &p, A, x, w, NULL, I, 0, NULL), CLNN_ERROR_INVALID_ARGUMENT);
  EXPECT_ERR(clnn_conv2d_forward(ctx, &p, A, x, w, NULL, I, 0, ybad), CLNN_ERROR_SHAPE_MISMATCH, ybad);
  EXPECT_ERR(clnn_conv2d_forward(ctx, &p, A, xflat, w, NULL, I, 0, y), CLNN_ERROR_SHAPE_MISMATCH, y);
  EXPECT_ERR(clnn_conv2d_forward(ctx, &p, A, x, w, b5, I, 0, y), CLNN_ERROR_SHAPE_MISMATCH, y);
  EXPECT_ERR(clnn_conv2d_forward(ctx, &p, A, x, w, b, (clnn_activation)42, 0, y),
             CLNN_ERROR_INVALID_ARGUMENT, y);
  EXPECT_ERR(clnn_conv2d_forward(ctx, &p, (clnn_conv_algo)99, x, w, b, I, 0, y),
             CLNN_ERROR_INVALID_ARGUMENT, y);
  EXPECT_ERR(clnn_conv2d_forward(ctx, &p, CLNN_CONV_ALGO_1X1_GEMM, x, w, b, I, 0, y),
             CLNN_ERROR_UNSUPPORTED, y);
  TU_CHECK(strstr(clnn_last_error(), "1X1") != NULL, "forced 1x1 message names the algorithm: %s",
           clnn_last_error());
  q = p; q.pad_left = -1;
  EXPECT_ERR(clnn_conv2d_forward(ctx, &q, A, x, w, NULL, I, 0, y), CLNN_ERROR_INVALID_ARGUMENT, y);
  TU_CHECK(strstr(clnn_last_error(), "pad") != NULL, "negative padding message: %s", clnn_last_error());
  q = p; q.stride_h = 0;
  EXPECT_ERR(clnn_conv2d_forward(ctx, &q, A, x, w, NULL, I, 0, y), CLNN_ERROR_INVALID_ARGUMENT, y);
  TU_CHECK(strstr(clnn_last_error(), "stride") != NULL, "zero stride message: %s", clnn_last_error());
  q = p; q.dilation_w = 0;
  EXPECT_ERR(clnn_conv2d_forward(ctx, &q, A, x, w, NULL, I, 0, y), CLNN_ERROR_INVALID_ARGUMENT, y);
  TU_CHECK(strstr(clnn_last_error(), "dilation") != NULL, "zero dilation message: %s", clnn_last_error());
  q = p; q.groups = 0;
  EXPECT_ERR(clnn_conv2d_forward(ctx, &q, A, x, w, NULL, I, 0, y), CLNN_ERROR_INVALID_ARGUMENT, y);
  q = p; q.groups = 3; /* divides K = 6 but not C = 4 */
  EXPECT_ERR(clnn_conv2d_forward(ctx, &q, A, x, wg, NULL, I, 0, y), CLNN_ERROR_INVALID_ARGUMENT, y);
  TU_CHECK(strstr(clnn_last_error(), "groups") != NULL, "groups message: %s", clnn_last_error());
  q = p; q.groups = 4; /* divides C = 4 but not K = 6 */
  EXPECT_ERR(clnn_conv2d_forward(ctx, &q, A, x, wg, NULL, I, 0, y), CLNN_ERROR_INVALID_ARGUMENT, y);
  q = p; q.groups = 2; /* w dim 1 is 4, must be C/groups = 2 */
  EXPECT_ERR(clnn_conv2d_forward(ctx, &q, A, x, w, NULL, I, 0, y), CLNN_ERROR_SHAPE_MISMATCH, y);
  q = p; q.dilation_h = 4; /* extent 9 > 6 */
  EXPECT_ERR(clnn_conv2d_forward(ctx, &q, A, x, w, NULL, I, 0, y), CLNN_ERROR_SHAPE_MISMATCH, y);
  TU_CHECK(strstr(clnn_last_error(), "larger than the padded input") != NULL,
           "kernel larger than input message: %s", clnn_last_error());
  EXPECT_ERR(clnn_conv2d_forward(ctx, &p, A, x, w, NULL, I, 0, ybig), CLNN_ERROR_SHAPE_MISMATCH, ybig);
  EXPECT_ERR(clnn_conv2d_forward(ctx, &p, A, x, w, NULL, I, 0, x), CLNN_ERROR_SHAPE_MISMATCH, x);
  /* y aliasing an input (same buffer, right shape) */
  {
    size_t sq[4] = {1, 1, 4, 4}, k1[4] = {1, 1, 1, 1};
    clnn_tensor *s = tu_tensor(ctx, 4, sq, NULL), *k = tu_tensor(ctx, 4, k1, NULL);
    EXPECT_ERR(clnn_conv2d_forward(ctx, &p, A, s, k, NULL, I, 0, s), CLNN_ERROR_INVALID_ARGUMENT, s);
    clnn_tensor_destroy(s);
    clnn_tensor_destroy(k);
  }

  /* backward-data / backward-filter / bias */
  EXPECT_ERR(clnn_conv2d_backward_data(ctx, &p, A, y, w, NAN, dx), CLNN_ERROR_INVALID_ARGUMENT, dx);
  EXPECT_ERR(clnn_conv2d_backward_data(ctx, &p, A, ybad, w, 0, dx), CLNN_ERROR_SHAPE_MISMATCH, dx);
  EXPECT_ERR(clnn_conv2d_backward_data(NULL, &p, A, y, w, 0, dx), CLNN_ERROR_INVALID_ARGUMENT, dx);
  EXPECT_ERR(clnn_conv2d_backward_data(ctx, &p, CLNN_CONV_ALGO_1X1_GEMM, y, w, 0, dx),
             CLNN_ERROR_UNSUPPORTED, dx);
  q = p; q.pad_top = -2;
  EXPECT_ERR(clnn_conv2d_backward_data(ctx, &q, A, y, w, 0, dx), CLNN_ERROR_INVALID_ARGUMENT, dx);
  EXPECT_ERR(clnn_conv2d_backward_filter(ctx, &p, A, x, ybad, 0, dw), CLNN_ERROR_SHAPE_MISMATCH, dw);
  EXPECT_ERR(clnn_conv2d_backward_filter(ctx, &p, A, x, y, INFINITY, dw), CLNN_ERROR_INVALID_ARGUMENT, dw);
  EXPECT_ERR(clnn_conv2d_backward_filter(ctx, &p, A, x, y, 0, wg), CLNN_ERROR_SHAPE_MISMATCH, wg);
  EXPECT_ERR(clnn_conv2d_backward_filter(ctx, &p, CLNN_CONV_ALGO_1X1_GEMM, x, y, 0, dw),
             CLNN_ERROR_UNSUPPORTED, dw);
  q = p; q.stride_w = 0;
  EXPECT_ERR(clnn_conv2d_backward_filter(ctx, &q, A, x, y, 0, dw), CLNN_ERROR_INVALID_ARGUMENT, dw);
  EXPECT_ERR(clnn_conv2d_backward_bias(ctx, y, 0, b5), CLNN_ERROR_SHAPE_MISMATCH, b5);
  EXPECT_ERR(clnn_conv2d_backward_bias(ctx, y, NAN, b), CLNN_ERROR_INVALID_ARGUMENT, b);
  EXPECT_ERR(clnn_conv2d_backward_bias(NULL, y, 0, b), CLNN_ERROR_INVALID_ARGUMENT, b);
  EXPECT_ERR(clnn_conv2d_backward_bias(ctx, NULL, 0, b), CLNN_ERROR_INVALID_ARGUMENT, b);

  /* tensors from another context */
  {
    clnn_context *other = NULL;
    TU_OK(clnn_context_create(NULL, &other));
    if (other) {
      clnn_tensor *ox = tu_tensor(other, 4, xd, NULL), *ow = tu_tensor(other, 4, wd, NULL);
      EXPECT_ERR(clnn_conv2d_forward(ctx, &p, A, ox, w, NULL, I, 0, y), CLNN_ERROR_CONTEXT_MISMATCH, y);
      EXPECT_ERR(clnn_conv2d_forward(ctx, &p, A, x, ow, NULL, I, 0, y), CLNN_ERROR_CONTEXT_MISMATCH, y);
      EXPECT_ERR(clnn_conv2d_backward_data(ctx, &p, A, y, ow, 0, dx), CLNN_ERROR_CONTEXT_MISMATCH, dx);
      EXPECT_ERR(clnn_conv2d_backward_filter(ctx, &p, A, ox, y, 0, dw), CLNN_ERROR_CONTEXT_MISMATCH, dw);
      EXPECT_ERR(clnn_conv_transpose2d_forward(ctx, &p, A, y, ow, NULL, x), CLNN_ERROR_CONTEXT_MISMATCH, x);
      clnn_tensor_destroy(ox);
      clnn_tensor_destroy(ow);
      clnn_context_destroy(other);
    }
  }

  /* transposed: x [2, 6, 4, 4], w [6, 4, 3, 3] -> y [2, 4, 6, 6] (here: y = tensor x's shape) */
  {
    size_t tw_bad[4] = {4, 6, 3, 3};
    clnn_tensor *twb = tu_tensor(ctx, 4, tw_bad, NULL);
    EXPECT_ERR(clnn_conv_transpose2d_forward(ctx, &p, A, y, twb, NULL, x), CLNN_ERROR_SHAPE_MISMATCH, x);
    EXPECT_ERR(clnn_conv_transpose2d_forward(ctx, &p, A, y, w, b, x), CLNN_ERROR_SHAPE_MISMATCH, x);
    q = p; q.pad_top = q.pad_bottom = 4; /* (4-1)*1 + 2 + 1 - 8 < 1 */
    EXPECT_ERR(clnn_conv_transpose2d_forward(ctx, &q, A, y, w, NULL, x), CLNN_ERROR_SHAPE_MISMATCH, x);
    EXPECT_ERR(clnn_conv_transpose2d_forward(ctx, &p, A, y, w, NULL, ybig), CLNN_ERROR_SHAPE_MISMATCH, ybig);
    EXPECT_ERR(clnn_conv_transpose2d_backward_data(ctx, &p, A, ybig, w, 0, y), CLNN_ERROR_SHAPE_MISMATCH, y);
    EXPECT_ERR(clnn_conv_transpose2d_backward_data(ctx, &p, A, x, w, NAN, y), CLNN_ERROR_INVALID_ARGUMENT, y);
    EXPECT_ERR(clnn_conv_transpose2d_backward_filter(ctx, &p, A, y, ybig, 0, w), CLNN_ERROR_SHAPE_MISMATCH, w);
    EXPECT_ERR(clnn_conv_transpose2d_backward_filter(ctx, &p, CLNN_CONV_ALGO_1X1_GEMM, y, x, 0, w),
               CLNN_ERROR_UNSUPPORTED, w);
    q = p; q.groups = 4;
    EXPECT_ERR(clnn_conv_transpose2d_backward_filter(ctx, &q, A, y, x, 0, w), CLNN_ERROR_INVALID_ARGUMENT, w);
    clnn_tensor_destroy(twb);
  }

  /* output_dims / workspace_size: errors leave the outputs alone */
  {
    size_t out[4] = {7, 7, 7, 7}, bytes = 7;
    size_t huge[4] = {1, 4, (size_t)1 << 40, 6}, zero[4] = {1, 4, 0, 6};
    TU_STATUS(clnn_conv2d_output_dims(NULL, wd, &p, out), CLNN_ERROR_INVALID_ARGUMENT);
    TU_STATUS(clnn_conv2d_output_dims(xd, wd, NULL, out), CLNN_ERROR_INVALID_ARGUMENT);
    TU_STATUS(clnn_conv2d_output_dims(xd, wd, &p, NULL), CLNN_ERROR_INVALID_ARGUMENT);
    TU_STATUS(clnn_conv2d_output_dims(huge, wd, &p, out), CLNN_ERROR_UNSUPPORTED);
    TU_STATUS(clnn_conv2d_output_dims(zero, wd, &p, out), CLNN_ERROR_INVALID_ARGUMENT);
    q = p; q.pad_right = -1;
    TU_STATUS(clnn_conv2d_output_dims(xd, wd, &q, out), CLNN_ERROR_INVALID_ARGUMENT);
    q = p; q.groups = 4; /* does not divide the transposed input's 6 channels */
    TU_STATUS(clnn_conv_transpose2d_output_dims(yd, wd, &q, out), CLNN_ERROR_INVALID_ARGUMENT);
    TU_CHECK(out[0] == 7 && out[1] == 7 && out[2] == 7 && out[3] == 7, "output dims written on error");
    TU_STATUS(clnn_conv2d_workspace_size(ctx, &p, CLNN_CONV_ALGO_1X1_GEMM, xd, wd, &bytes),
              CLNN_ERROR_UNSUPPORTED);
    TU_STATUS(clnn_conv2d_workspace_size(NULL, &p, A, xd, wd, &bytes), CLNN_ERROR_INVALID_ARGUMENT);
    TU_STATUS(clnn_conv2d_workspace_size(ctx, &p, A, xd, wd, NULL), CLNN_ERROR_INVALID_ARGUMENT);
    TU_CHECK(bytes == 7, "workspace bytes written on error");
    /* valid transposed dims */
    TU_OK(clnn_conv_transpose2d_output_dims(yd, wd, &p, out));
    TU_CHECK(out[0] == 2 && out[1] == 4 && out[2] == 6 && out[3] == 6,
             "transposed dims [%zu, %zu, %zu, %zu], expected [2, 4, 6, 6]", out[0], out[1], out[2], out[3]);
  }
  clnn_tensor_destroy(x); clnn_tensor_destroy(w); clnn_tensor_destroy(y); clnn_tensor_destroy(b);
  clnn_tensor_destroy(dx); clnn_tensor_destroy(dw); clnn_tensor_destroy(wg); clnn_tensor_destroy(b5);
  clnn_tensor_destroy(xflat); clnn_tensor_destroy(ybad); clnn_tensor_destroy(ybig);
}

int main(void) {
  ctx = tu_context();
  tu_seed(20240603);

  /* name, N, C, H, W, K, R, S, stride h/w, pad t/b/l/r, dilation h/w, groups */
  static const tcase cases[] = {
      {"batch1 3->5 7x9 3x3 pad1", 1, 3, 7, 9, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
      {"5->17 13x13 3x3 stride2 pad1", 2, 5, 13, 13, 17, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
      {"17->5 7x9 3x3 dilation2 pad2", 2, 17, 7, 9, 5, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1},
      {"groups2 6->4 9x7 3x3 pad1", 3, 6, 9, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2},
      {"depthwise 5 13x13 3x3 stride2", 2, 5, 13, 13, 5, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 5},
      {"depthwise x2 3->6 7x9 3x3", 2, 3, 7, 9, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3},
      {"1x1 17->5 7x9", 3, 17, 7, 9, 5, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1},
      {"1x1 stride2 5->3 7x9", 2, 5, 7, 9, 3, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1},
      {"5x5 3->5 13x13 pad2", 2, 3, 13, 13, 5, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1},
      {"7x7 3->8 13x13 stride2 pad3", 1, 3, 13, 13, 8, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1},
      {"output 1x1 5->3 3x3", 2, 5, 3, 3, 3, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1},
      {"output 1x1 7x7 stride3", 1, 4, 7, 7, 3, 7, 7, 3, 3, 0, 0, 0, 0, 1, 1, 1},
      {"asymmetric pad 0/2/1/0 stride 2x1", 2, 3, 7, 9, 4, 3, 3, 2, 1, 0, 2, 1, 0, 1, 1, 1},
      {"mixed stride 1x2 dilation 2x1", 1, 5, 9, 11, 3, 3, 2, 1, 2, 1, 2, 0, 1, 2, 1, 1},
      {"groups4 dilation2 stride2", 2, 8, 11, 9, 12, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 4},
      {"1 row 1x9 kernel 1x3", 2, 3, 1, 9, 4, 1, 3, 1, 1, 0, 0, 1, 1, 1, 1, 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    check_case(&cases[i], F_BETA1, CLNN_ACT_IDENTITY, 0.0f);
  /* fused bias + activation */
  check_case(&cases[1], F_BIAS, CLNN_ACT_RELU, 0.0f);
  check_case(&cases[3], F_BIAS, CLNN_ACT_LEAKY_RELU, 0.1f);
  check_case(&cases[4], F_BIAS, CLNN_ACT_RELU, 0.0f);
  check_case(&cases[6], F_BIAS, CLNN_ACT_SIGMOID, 0.0f);
  check_case(&cases[0], F_BIAS, CLNN_ACT_IDENTITY, 0.0f);
  /* one realistic layer: 64 -> 64 channels, 56x56, 3x3, pad 1 */
  static const tcase big = {"realistic 64->64 56x56 3x3", 1, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  check_case(&big, F_BIAS | F_NO_AUTO, CLNN_ACT_RELU, 0.0f);
  check_bias_sizes();

  /* Rows wide enough for the CPU kernels' vector paths (16 lanes: interior, edge and partial
   * chunks), stride 2 (even-lane loads, column phases), dilation and depthwise. */
  static const tcase wide[] = {
      {"wide 3->4 5x40 3x3 pad1", 2, 3, 5, 40, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
      {"wide stride2 3->4 9x70 3x3 pad1", 2, 3, 9, 70, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
      {"wide stem-like 7x7 stride2 pad3", 1, 3, 11, 67, 5, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1},
      {"wide dilation2 asym pad 2->3", 1, 2, 6, 53, 3, 3, 3, 1, 1, 2, 0, 1, 3, 2, 2, 1},
      {"wide stride 1x3 pad 0/1/2/2", 2, 2, 6, 71, 3, 2, 5, 1, 3, 0, 1, 2, 2, 1, 1, 1},
      {"wide 1x1 stride2 4->3 6x66", 2, 4, 6, 66, 3, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1},
      /* col2im's one-tap rows: odd padding (entries in the odd lanes), stride 2x1 */
      {"wide 1x1 stride2 pad 1/0/1/0 3->4 7x67", 2, 3, 7, 67, 4, 1, 1, 2, 2, 1, 0, 1, 0, 1, 1, 1},
      {"wide 1x1 stride 2x1 pad 0/1/2/1 3->2 6x37", 2, 3, 6, 37, 2, 1, 1, 2, 1, 0, 1, 2, 1, 1, 1, 1},
      {"wide 1x1 3->5 4x37", 2, 3, 4, 37, 5, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1},
      {"wide depthwise 6 7x50 3x3 pad1", 2, 6, 7, 50, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 6},
      {"wide depthwise x2 stride2 5x5 pad2", 1, 3, 9, 69, 6, 5, 5, 2, 2, 2, 2, 2, 2, 1, 1, 3},
      {"wide depthwise dilation2 stride 1x3", 2, 4, 8, 61, 4, 3, 3, 1, 3, 2, 2, 2, 2, 2, 2, 4},
      /* narrow planes with many channels: the flat (whole-plane) col2im, several rows per vector */
      {"narrow 12->6 6x5 3x3 pad1", 2, 12, 6, 5, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
      {"narrow dilation2 10->3 7x6 pad2", 1, 10, 7, 6, 3, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1},
      {"narrow 9->4 11x19 5x5 pad2", 1, 9, 11, 19, 4, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1},
  };
  for (size_t i = 0; i < sizeof wide / sizeof wide[0]; i++)
    check_case(&wide[i], F_BETA1, CLNN_ACT_IDENTITY, 0.0f);
  check_case(&wide[7], F_BIAS, CLNN_ACT_RELU, 0.0f);
  check_case(&wide[8], F_BIAS | F_BETA1, CLNN_ACT_LEAKY_RELU, 0.1f);

  /* Stride 1 with a same-size output: DIRECT (and AUTO for one input channel) on CPU devices
   * runs the whole-plane kernels of cl/conv2d_direct.cl and cl/conv2d_direct_general.cl
   * (forward blocks of 1 and 8 output channels, generic and unrolled 3x3 / 5x5 taps,
   * backward-data as a flipped forward for one input channel per group, backward-filter in
   * blocks of 4 channels by 5 columns): planes not a
   * multiple of 16 pixels, narrower than 16 (several rows per vector), one column wide, K not a
   * multiple of the block, asymmetric padding and dilation. */
  static const tcase flat[] = {
      {"flat lenet-like 1->11 9x23 5x5 pad2", 3, 1, 9, 23, 11, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1},
      {"flat 1->5 5x7 3x3 pad1", 2, 1, 5, 7, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
      {"flat depthwise 4 20x21 3x3 pad1", 2, 4, 20, 21, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4},
      {"flat depthwise x2 asym pad 0/2/2/0 7x20", 1, 3, 7, 20, 6, 3, 3, 1, 1, 0, 2, 2, 0, 1, 1, 3},
      {"flat dilation2 2->6 8x19 3x3 pad2", 2, 2, 8, 19, 6, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1},
      {"flat 17x1 column 1->3 3x1 pad1", 2, 1, 17, 1, 3, 3, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1},
      {"flat depthwise 5x5 pad2 2 18x33", 1, 2, 18, 33, 2, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 2},
      {"flat 3->9 6x18 2x4 pad 1/0/2/1", 1, 3, 6, 18, 9, 2, 4, 1, 1, 1, 0, 2, 1, 1, 1, 1},
  };
  for (size_t i = 0; i < sizeof flat / sizeof flat[0]; i++)
    check_case(&flat[i], F_BETA1, CLNN_ACT_IDENTITY, 0.0f);
  check_case(&flat[0], F_BIAS, CLNN_ACT_RELU, 0.0f);
  check_case(&flat[2], F_BIAS | F_BETA1, CLNN_ACT_LEAKY_RELU, 0.1f);
  check_case(&flat[4], F_BIAS, CLNN_ACT_SIGMOID, 0.0f);
  /* the same shapes, and the wide depthwise ones, with DIRECT kept on the row kernels */
  clnn__conv2d_set_flat(-1);
  for (size_t i = 0; i < sizeof flat / sizeof flat[0]; i++)
    check_case(&flat[i], F_BETA1 | F_NO_AUTO, CLNN_ACT_IDENTITY, 0.0f);
  check_case(&wide[7], F_BIAS | F_BETA1 | F_NO_AUTO, CLNN_ACT_RELU, 0.0f);
  clnn__conv2d_set_flat(0);

  static const tcase tcases[] = {
      {"transposed 4->3 5x6 3x3 stride2 pad1", 2, 4, 5, 6, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
      {"transposed groups2 dilation2 asym", 1, 4, 4, 5, 6, 3, 2, 1, 2, 0, 1, 1, 0, 2, 1, 2},
      {"transposed 1x1", 2, 5, 3, 4, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1},
      {"transposed depthwise 4x4 stride2", 1, 3, 4, 4, 3, 4, 4, 2, 2, 1, 1, 1, 1, 1, 1, 3},
      /* stride 1, same size: backward-data is the whole-plane forward kernel with beta */
      {"transposed depthwise 3x3 stride1 pad1", 2, 3, 5, 18, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3},
      {"transposed 4->1 5x5 stride1 pad2", 1, 4, 6, 9, 1, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1},
  };
  for (size_t i = 0; i < sizeof tcases / sizeof tcases[0]; i++) check_transpose_case(&tcases[i]);

  check_chunked();

  /* finite differences, one small shape per parameter family */
  static const tcase fd[] = {
      {"fd basic pad1", 2, 3, 5, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
      {"fd stride2 asym pad", 1, 3, 7, 6, 2, 3, 3, 2, 2, 0, 1, 1, 0, 1, 1, 1},
      {"fd dilation2", 1, 2, 7, 7, 3, 3, 3, 1, 1, 1, 1, 1, 1, 2, 2, 1},
      {"fd groups2", 2, 4, 5, 5, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2},
      {"fd depthwise", 2, 3, 6, 5, 3, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 3},
      {"fd 1x1", 2, 4, 3, 5, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1},
      /* AUTO on CPU devices: whole-plane DIRECT kernels (one input channel; depthwise stride 1) */
      {"fd one channel 5x5 pad2", 2, 1, 6, 7, 3, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1},
      {"fd depthwise stride1 pad1", 2, 3, 6, 5, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3},
  };
  for (size_t i = 0; i < sizeof fd / sizeof fd[0]; i++) check_fd(&fd[i], 0);
  static const tcase fdt = {"fd transposed stride2 groups2", 2, 4, 3, 4, 2, 3, 3, 2, 2, 1, 0, 1, 1, 1, 1, 2};
  check_fd(&fdt, 1);

  /* The kernels for GPU-class devices (one output per work-item) on this device: a context that
   * is told it drives a GPU builds them instead of the CPU-shaped ones. */
  {
    clnn_context *cpu_ctx = ctx, *gpu_ctx = NULL;
    TU_OK(clnn_context_create(NULL, &gpu_ctx));
    if (gpu_ctx) {
      gpu_ctx->device_class = CLNN_DEVICE_CLASS_GPU; /* before any kernel is built */
      ctx = gpu_ctx;
      static const tcase gpu_cases[] = {
          {"gpu-shaped 3->4 5x40 3x3 pad1", 2, 3, 5, 40, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
          {"gpu-shaped stride2 dilation2 groups2", 2, 4, 11, 19, 6, 3, 3, 2, 2, 2, 1, 1, 2, 2, 2, 2},
          {"gpu-shaped depthwise x2 stride2", 1, 3, 9, 21, 6, 5, 5, 2, 2, 2, 2, 2, 2, 1, 1, 3},
      };
      for (size_t i = 0; i < sizeof gpu_cases / sizeof gpu_cases[0]; i++)
        check_case(&gpu_cases[i], F_BIAS | F_BETA1, CLNN_ACT_RELU, 0.0f);
      clnn__conv2d_set_workspace_limit(45 * 4 * 20 + 7);
      check_case(&cases[0], F_BETA1 | F_NO_AUTO, CLNN_ACT_IDENTITY, 0.0f);
      clnn__conv2d_set_workspace_limit(0);
      ctx = cpu_ctx;
      clnn_context_destroy(gpu_ctx);
    }
  }

  check_determinism(&cases[3]);
  check_determinism(&cases[6]);
  check_workspace();
  check_errors();

  clnn_context_destroy(ctx);
  return tu_finish("test_conv2d");
}
