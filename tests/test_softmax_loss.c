/* tests/test_softmax_loss.c — softmax and log-softmax (forward, backward, beta) and the losses
 * (softmax cross-entropy with int32 labels, BCE with logits, MSE) against the plain-C reference:
 * batch 1, C = 1, odd sizes, 1000+ classes, many rows, logits of +-1e4, the CPU (row per
 * work-item) and GPU (row per work-group) kernels; means that are exact for any batch size and
 * repeat bit for bit; backward against central finite differences; every error path leaving
 * the outputs untouched. */
#include "internal.h"
#include "softmax_ref.h"
#include "test_util.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static clnn_context *ctx, *ctx2;
#define SENTINEL 11.5f


static int all_finite(const float *a, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(a[i])) return 0;
  return 1;
}

/* Log-softmax y = (x - max) - log(sum exp(x - max)) subtracts two terms that may be much larger
 * than y, so its error is a few ulps of those terms, not of y: |got - want| <= 4 eps (|x - max| +
 * |log sum| + 1) per element (about 5e-7 next to the maximum, where y is near 0). That holds for
 * any summation order and any conforming exp/log (PoCL's and a GPU's differ in the last bit),
 * and still catches a missing term or a wrong constant (errors of order 1). */
static void logsm_close(const float *got, const float *x, const float *want, size_t rows, size_t C,
                        const char *what) {
  double worst = 0;
  size_t wi = 0;
  int finite = 1;
  for (size_t r = 0; r < rows; r++) {
    const float *xr = x + r * C;
    double m = -INFINITY, sum = 0;
    for (size_t j = 0; j < C; j++) m = xr[j] > m ? xr[j] : m;
    for (size_t j = 0; j < C; j++) sum += exp((double)xr[j] - m);
    double ls = fabs(log(sum));
    for (size_t j = 0; j < C; j++) {
      size_t i = r * C + j;
      if (!isfinite(got[i])) finite = 0;
      double tol = 4.0 * FLT_EPSILON * (fabs((double)xr[j] - m) + ls + 1.0);
      double e = fabs((double)got[i] - want[i]) / tol;
      if (!(e <= worst)) {
        worst = isnan(e) ? INFINITY : e;
        wi = i;
      }
    }
  }
  size_t n = rows * C;
  tu_check_(finite && worst <= 1.0, __FILE__, __LINE__,
            "%s: element %zu of %zu: got %.9g want %.9g (error %.3g x tol)", what, wi, n,
            n > 0 ? got[wi] : 0.f, n > 0 ? want[wi] : 0.f, worst);
}

static float read_scalar(const clnn_tensor *t) {
  float v;
  if (clnn_tensor_read(t, &v, 1) != CLNN_SUCCESS) return NAN;
  return v;
}

/* ---------------------------------------------------------------------------------------------- */

static void test_softmax(const char *shape_name) {
  static const size_t shapes[][4] = {{2, 1, 1},  {2, 1, 10},   {2, 7, 13},  {2, 3, 1000},
                                     {2, 128, 1000}, {2, 5, 1001}, {1, 17, 0}, {3, 2, 3, 37},
                                     {2, 1, 5000}, {2, 300, 3}};
  for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
    int ndim = (int)shapes[si][0];
    const size_t *dims = &shapes[si][1];
    size_t n = 1;
    for (int d = 0; d < ndim; d++) n *= dims[d];
    size_t C = dims[ndim - 1], rows = n / C;
    float *x = malloc(n * sizeof(float)), *dy = malloc(n * sizeof(float));
    float *want = malloc(n * sizeof(float)), *d0 = malloc(n * sizeof(float));
    tu_fill_uniform(x, n, -5.0f, 5.0f);
    tu_fill_uniform(dy, n, -1.0f, 1.0f);
    tu_fill_uniform(d0, n, -1.0f, 1.0f);
    clnn_tensor *tx = tu_tensor(ctx, ndim, dims, x), *ty = tu_guarded(ctx, ndim, dims);
    clnn_tensor *tdy = tu_tensor(ctx, ndim, dims, dy), *tdx = tu_guarded(ctx, ndim, dims);
    for (int lg = 0; lg <= 1; lg++) {
      char what[160];
      const char *name = lg ? "log_softmax" : "softmax";
      softmax_ref_forward(x, want, rows, C, lg);
      TU_OK(clnn_tensor_fill(ty, NAN));
      TU_OK(lg ? clnn_log_softmax_forward(ctx, tx, ty) : clnn_softmax_forward(ctx, tx, ty));
      float *y = tu_read(ty);
      snprintf(what, sizeof what, "[%s] %s forward rows=%zu C=%zu", shape_name, name, rows, C);
      if (lg) logsm_close(y, x, want, rows, C, what);
      else tu_allclose(y, want, n, 1e-5f, 1e-7f, what);
      if (!lg) { /* rows sum to 1 */
        double worst = 0;
        for (size_t r = 0; r < rows; r++) {
          double s = 0;
          for (size_t j = 0; j < C; j++) s += y[r * C + j];
          if (fabs(s - 1.0) > worst) worst = fabs(s - 1.0);
        }
        TU_CHECK(worst < 1e-5, "%s: softmax rows sum to 1 (worst |sum-1| %.3g)", what, worst);
      }
      /* backward from the device's y, beta 0 over NaN and beta 1 */
      for (int bi = 0; bi < TU_NBETAS; bi++) {
        const float beta = tu_betas[bi];
        if (beta != 0.0f) {
          TU_OK(clnn_tensor_write(tdx, d0, n));
          memcpy(want, d0, n * sizeof(float));
        } else {
          TU_OK(clnn_tensor_fill(tdx, NAN));
        }
        softmax_ref_backward(y, dy, beta, want, rows, C, lg);
        TU_OK(lg ? clnn_log_softmax_backward(ctx, ty, tdy, beta, tdx)
                 : clnn_softmax_backward(ctx, ty, tdy, beta, tdx));
        float *g = tu_read(tdx);
        snprintf(what, sizeof what, "[%s] %s backward beta=%g rows=%zu C=%zu", shape_name, name,
                 beta, rows, C);
        tu_allclose(g, want, n, 1e-4f, 1e-6f, what);
        free(g);
      }
      free(y);
    }
    /* in place */
    clnn_tensor *t = tu_tensor(ctx, ndim, dims, x);
    softmax_ref_forward(x, want, rows, C, 0);
    TU_OK(clnn_softmax_forward(ctx, t, t));
    float *y = tu_read(t);
    tu_allclose(y, want, n, 1e-5f, 1e-7f, "softmax in place");
    free(y);
    clnn_tensor_destroy(t);
    tu_check_guard(ty, "softmax forward output");
    tu_check_guard(tdx, "softmax backward output");
    clnn_tensor_destroy(tx);
    clnn_tensor_destroy(ty);
    clnn_tensor_destroy(tdy);
    clnn_tensor_destroy(tdx);
    free(x);
    free(dy);
    free(want);
    free(d0);
  }
}

/* Logits of +-1e4: finite, correct results. */
static void test_extreme_logits(const char *shape_name) {
  enum { R = 3, C = 6 };
  const float x[R * C] = {1e4f,  1e4f - 1.0f, -1e4f, 0.0f,  5.0f,  -3.0f,
                          -1e4f, -1e4f,       -1e4f, -1e4f, -1e4f, -1e4f + 2.0f,
                          1e4f,  -1e4f,       1e4f,  -1e4f, 1e4f,  1e4f};
  size_t dims[2] = {R, C};
  float want[R * C];
  clnn_tensor *tx = tu_tensor(ctx, 2, dims, x), *ty = tu_tensor(ctx, 2, dims, NULL);
  char what[128];
  for (int lg = 0; lg <= 1; lg++) {
    TU_OK(lg ? clnn_log_softmax_forward(ctx, tx, ty) : clnn_softmax_forward(ctx, tx, ty));
    float *y = tu_read(ty);
    softmax_ref_forward(x, want, R, C, lg);
    snprintf(what, sizeof what, "[%s] %s of +-1e4 logits", shape_name, lg ? "log_softmax" : "softmax");
    TU_CHECK(all_finite(y, R * C), "%s: all finite", what);
    if (lg) logsm_close(y, x, want, R, C, what);
    else tu_allclose(y, want, R * C, 1e-5f, 1e-7f, what);
    if (!lg) {
      /* row 0: e/(1+e), 1/(1+e), the rest 0 */
      TU_CHECK(fabsf(y[0] - 0.7310586f) < 1e-6f && fabsf(y[1] - 0.2689414f) < 1e-6f,
               "softmax(1e4, 1e4-1, ...) = %g, %g", y[0], y[1]);
      TU_CHECK(fabsf(y[17] - 0.25f) < 1e-6f, "four tied maxima share 1/4: %g", y[17]);
    }
    free(y);
  }
  /* cross-entropy of the same logits */
  int32_t labels[R] = {2, 5, 0};
  size_t one = 1;
  clnn_tensor *tl = tu_tensor(ctx, 1, &one, NULL), *tg = tu_tensor(ctx, 2, dims, NULL);
  float gwant[R * C];
  double lw = softmax_ref_xent(x, labels, R, C, gwant);
  TU_OK(clnn_softmax_cross_entropy(ctx, tx, labels, R, tl, tg));
  float l = read_scalar(tl);
  float *g = tu_read(tg);
  TU_CHECK(isfinite(l) && fabs(l - lw) <= 1e-5 * fabs(lw), "[%s] xent of +-1e4 logits: %.9g want %.9g",
           shape_name, l, lw);
  TU_CHECK(all_finite(g, R * C), "[%s] xent gradient of +-1e4 logits finite", shape_name);
  tu_allclose(g, gwant, R * C, 1e-5f, 1e-7f, "xent gradient of +-1e4 logits");
  free(g);
  /* The CPU kernel shifts by a guess (the largest of the first 16 logits) and corrects it: rows
   * whose maximum lies 49 above the guess (kept), 100 above it (pass redone), a row near -100
   * with its maximum in the partial last vector, and a row whose first 16 logits are -inf; each
   * out of place and in place (exact maximum), against the double reference. */
  {
    enum { R2 = 4, C2 = 40 };
    float x2[R2 * C2], g2want[R2 * C2];
    tu_fill_uniform(x2, R2 * C2, -1.0f, 1.0f);
    x2[0 * C2 + 30] = 50.0f;
    x2[1 * C2 + 35] = 100.0f;
    for (int j = 0; j < C2; j++) x2[2 * C2 + j] -= 100.0f;
    x2[2 * C2 + 39] = -90.0f;
    for (int j = 0; j < 16; j++) x2[3 * C2 + j] = -INFINITY;
    int32_t lab2[R2] = {30, 3, 39, 20};
    double l2want = softmax_ref_xent(x2, lab2, R2, C2, g2want);
    size_t d2[2] = {R2, C2};
    for (int in_place = 0; in_place <= 1; in_place++) {
      clnn_tensor *t2 = tu_tensor(ctx, 2, d2, x2), *tg2 = in_place ? t2 : tu_tensor(ctx, 2, d2, NULL);
      snprintf(what, sizeof what, "[%s] xent with a shifted maximum%s", shape_name, in_place ? ", in place" : "");
      TU_OK(clnn_softmax_cross_entropy(ctx, t2, lab2, R2, tl, tg2));
      float l2 = read_scalar(tl);
      TU_CHECK(fabs(l2 - l2want) <= 1e-5 * fabs(l2want), "%s: loss %.9g want %.9g", what, l2, l2want);
      float *gg = tu_read(tg2);
      tu_allclose(gg, g2want, R2 * C2, 1e-5f, 1e-7f, what); /* p - 1 near p = 1: float rounding of p */
      free(gg);
      clnn_tensor_destroy(t2);
      if (!in_place) clnn_tensor_destroy(tg2);
    }
  }
  /* BCE of +-1e4 */
  const float bx[4] = {1e4f, -1e4f, 1e4f, -1e4f}, bt[4] = {1, 0, 0, 1};
  size_t four = 4;
  clnn_tensor *tbx = tu_tensor(ctx, 1, &four, bx), *tbt = tu_tensor(ctx, 1, &four, bt);
  clnn_tensor *tbg = tu_tensor(ctx, 1, &four, NULL);
  float bg_want[4];
  double bw = softmax_ref_bce(bx, bt, 4, bg_want);
  TU_OK(clnn_bce_with_logits(ctx, tbx, tbt, tl, tbg));
  l = read_scalar(tl);
  g = tu_read(tbg);
  TU_CHECK(isfinite(l) && fabs(l - bw) <= 1e-5 * fabs(bw), "bce of +-1e4 logits: %.9g want %.9g", l, bw);
  tu_allclose(g, bg_want, 4, 1e-6f, 1e-7f, "bce gradient of +-1e4 logits");
  free(g);
  clnn_tensor_destroy(tbx);
  clnn_tensor_destroy(tbt);
  clnn_tensor_destroy(tbg);
  clnn_tensor_destroy(tl);
  clnn_tensor_destroy(tg);
  clnn_tensor_destroy(tx);
  clnn_tensor_destroy(ty);
}

/* ---------------------------------------------------------------------------------------------- */

static void test_xent(const char *shape_name) {
  /* C = 32 is whole 16-wide vectors, 13/17/1000/1001/5000 end in a partial one */
  static const size_t shapes[][2] = {{1, 1},    {1, 10},    {7, 13},   {128, 1000}, {33, 1001},
                                     {1000, 10}, {3, 5000}, {4099, 3}, {9, 32},     {5, 17}};
  size_t one = 1;
  clnn_tensor *tl = tu_guarded(ctx, 1, &one);
  for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
    size_t N = shapes[si][0], C = shapes[si][1], n = N * C;
    float *x = malloc(n * sizeof(float)), *gw = malloc(n * sizeof(float));
    int32_t *lab = malloc(N * sizeof(int32_t));
    tu_fill_uniform(x, n, -8.0f, 8.0f);
    for (size_t i = 0; i < N; i++) {
      lab[i] = (int32_t)tu_uniform(0.0f, (float)C);
      if (lab[i] >= (int32_t)C) lab[i] = (int32_t)C - 1;
    }
    size_t dims[2] = {N, C};
    clnn_tensor *tx = tu_tensor(ctx, 2, dims, x), *tg = tu_guarded(ctx, 2, dims);
    double lw = softmax_ref_xent(x, lab, N, C, gw);
    char what[160];
    snprintf(what, sizeof what, "[%s] xent N=%zu C=%zu", shape_name, N, C);
    TU_OK(clnn_tensor_fill(tl, NAN));
    TU_OK(clnn_tensor_fill(tg, NAN));
    TU_OK(clnn_softmax_cross_entropy(ctx, tx, lab, N, tl, tg));
    float l = read_scalar(tl);
    TU_CHECK(fabs(l - lw) <= 1e-5 * fabs(lw) + 1e-6, "%s: loss %.9g want %.9g", what, l, lw);
    float *g = tu_read(tg);
    tu_allclose(g, gw, n, 1e-4f, 1e-8f, what);
    free(g);
    /* loss only, then gradient only; then the same call again gives the same bits */
    TU_OK(clnn_tensor_fill(tl, NAN));
    TU_OK(clnn_softmax_cross_entropy(ctx, tx, lab, N, tl, NULL));
    float l2 = read_scalar(tl);
    TU_CHECK(memcmp(&l, &l2, sizeof l) == 0, "%s: loss-only call gives the same bits (%.9g, %.9g)",
             what, l, l2);
    TU_OK(clnn_tensor_fill(tl, SENTINEL));
    TU_OK(clnn_tensor_fill(tg, NAN));
    TU_OK(clnn_softmax_cross_entropy(ctx, tx, lab, N, NULL, tg));
    g = tu_read(tg);
    tu_allclose(g, gw, n, 1e-4f, 1e-8f, "xent gradient only");
    free(g);
    TU_CHECK(read_scalar(tl) == SENTINEL, "%s: loss untouched when not asked for", what);
    TU_OK(clnn_softmax_cross_entropy(ctx, tx, lab, N, NULL, NULL));
    tu_check_guard(tg, "xent gradient");
    /* in place: the gradient overwrites the logits (the CPU kernel then shifts by the exact
     * maximum instead of a guess, so the last bits may differ); the labels' memory is scribbled
     * over right after the call (it was copied) */
    TU_OK(clnn_softmax_cross_entropy(ctx, tx, lab, N, tl, tx));
    memset(lab, 0xff, N * sizeof(int32_t));
    float l3 = read_scalar(tl);
    TU_CHECK(fabs(l3 - lw) <= 1e-5 * fabs(lw) + 1e-6, "%s: in-place loss %.9g want %.9g", what, l3, lw);
    g = tu_read(tx);
    tu_allclose(g, gw, n, 1e-4f, 1e-8f, "xent gradient in place");
    free(g);
    clnn_tensor_destroy(tx);
    clnn_tensor_destroy(tg);
    free(x);
    free(gw);
    free(lab);
  }

  /* The mean divides by exactly N: N identical rows give the one-row loss, for many N. */
  static const size_t Ns[] = {1, 2, 3, 7, 64, 1000, 4097};
  float row[10];
  tu_fill_uniform(row, 10, -3.0f, 3.0f);
  int32_t lab1 = 4;
  double l1 = softmax_ref_xent(row, &lab1, 1, 10, NULL);
  float dev1 = NAN; /* the device's loss of the single row */
  for (size_t k = 0; k < sizeof Ns / sizeof Ns[0]; k++) {
    size_t N = Ns[k], dims[2] = {N, 10};
    float *x = malloc(N * 10 * sizeof(float));
    int32_t *lab = malloc(N * sizeof(int32_t));
    for (size_t i = 0; i < N; i++) {
      memcpy(x + i * 10, row, sizeof row);
      lab[i] = lab1;
    }
    clnn_tensor *tx = tu_tensor(ctx, 2, dims, x);
    TU_OK(clnn_softmax_cross_entropy(ctx, tx, lab, N, tl, NULL));
    float l = read_scalar(tl);
    if (N == 1) dev1 = l;
    TU_CHECK(fabs(l - l1) <= 1e-5 * fabs(l1), "[%s] mean of %zu identical rows: %.9g want %.9g",
             shape_name, N, l, l1);
    TU_CHECK(fabsf(l - dev1) <= 1.2e-7f * fabsf(dev1),
             "[%s] mean of %zu identical rows is the one-row loss to 1 ulp: %.9g vs %.9g",
             shape_name, N, l, dev1);
    clnn_tensor_destroy(tx);
    free(x);
    free(lab);
  }
  tu_check_guard(tl, "xent loss");
  clnn_tensor_destroy(tl);
}

static void test_bce_mse(const char *shape_name) {
  static const size_t sizes[] = {1, 7, 91, 4096, 100003};
  size_t one = 1;
  clnn_tensor *tl = tu_guarded(ctx, 1, &one);
  for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
    size_t n = sizes[si];
    float *x = malloc(n * sizeof(float)), *t = malloc(n * sizeof(float));
    float *gw = malloc(n * sizeof(float));
    tu_fill_uniform(x, n, -10.0f, 10.0f);
    tu_fill_uniform(t, n, 0.0f, 1.0f);
    for (size_t i = 0; i < n; i += 3) t[i] = (float)(i % 2); /* hard targets too */
    size_t dims[2] = {1, n};
    if (n % 7 == 0) dims[0] = 7, dims[1] = n / 7;
    clnn_tensor *tx = tu_tensor(ctx, 2, dims, x), *tt = tu_tensor(ctx, 2, dims, t);
    clnn_tensor *tg = tu_guarded(ctx, 2, dims);
    for (int which = 0; which < 2; which++) {
      char what[128];
      snprintf(what, sizeof what, "[%s] %s n=%zu", shape_name, which ? "mse" : "bce", n);
      double lw = which ? softmax_ref_mse(x, t, n, gw) : softmax_ref_bce(x, t, n, gw);
      TU_OK(clnn_tensor_fill(tl, NAN));
      TU_OK(clnn_tensor_fill(tg, NAN));
      TU_OK(which ? clnn_mse_loss(ctx, tx, tt, tl, tg) : clnn_bce_with_logits(ctx, tx, tt, tl, tg));
      float l = read_scalar(tl);
      TU_CHECK(fabs(l - lw) <= 1e-6 * fabs(lw) + 1e-7, "%s: loss %.9g want %.9g", what, l, lw);
      float *g = tu_read(tg);
      tu_allclose(g, gw, n, 1e-5f, 1e-10f, what);
      free(g);
      /* repeat: the same bits; loss only; gradient only */
      TU_OK(which ? clnn_mse_loss(ctx, tx, tt, tl, NULL) : clnn_bce_with_logits(ctx, tx, tt, tl, NULL));
      float l2 = read_scalar(tl);
      TU_CHECK(memcmp(&l, &l2, sizeof l) == 0, "%s: repeat gives the same bits", what);
      TU_OK(clnn_tensor_fill(tl, SENTINEL));
      TU_OK(clnn_tensor_fill(tg, NAN));
      TU_OK(which ? clnn_mse_loss(ctx, tx, tt, NULL, tg) : clnn_bce_with_logits(ctx, tx, tt, NULL, tg));
      g = tu_read(tg);
      tu_allclose(g, gw, n, 1e-5f, 1e-10f, what);
      free(g);
      TU_CHECK(read_scalar(tl) == SENTINEL, "%s: loss untouched when not asked for", what);
    }
    tu_check_guard(tg, "bce/mse gradient");
    clnn_tensor_destroy(tx);
    clnn_tensor_destroy(tt);
    clnn_tensor_destroy(tg);
    free(x);
    free(t);
    free(gw);
  }
  tu_check_guard(tl, "bce/mse loss");
  clnn_tensor_destroy(tl);
}

/* ---------------------------------------------------------------------------------------------- */
/* finite differences                                                                              */

typedef struct fd_data {
  int kind; /* 0 softmax, 1 log-softmax, 2 xent, 3 bce, 4 mse */
  float *x, *w;
  const int32_t *lab;
  size_t rows, C;
} fd_data;

static double fd_loss(void *u) {
  fd_data *d = u;
  size_t n = d->rows * d->C;
  switch (d->kind) {
    case 0:
    case 1: return softmax_ref_loss(d->x, d->w, d->rows, d->C, d->kind);
    case 2: return softmax_ref_xent(d->x, d->lab, d->rows, d->C, NULL);
    case 3: return softmax_ref_bce(d->x, d->w, n, NULL);
    default: return softmax_ref_mse(d->x, d->w, n, NULL);
  }
}

static void test_finite_differences(void) {
  enum { R = 3, C = 5, N = R * C };
  size_t dims[2] = {R, C}, one = 1;
  static const char *names[] = {"softmax", "log_softmax", "softmax cross-entropy",
                                "bce with logits", "mse"};
  for (int kind = 0; kind < 5; kind++) {
    float x[N], w[N];
    int32_t lab[R] = {0, 4, 2};
    tu_fill_uniform(x, N, -2.0f, 2.0f);
    tu_fill_uniform(w, N, kind >= 3 ? 0.0f : -1.0f, 1.0f);
    clnn_tensor *tx = tu_tensor(ctx, 2, dims, x), *tw = tu_tensor(ctx, 2, dims, w);
    clnn_tensor *ty = tu_tensor(ctx, 2, dims, NULL), *tdx = tu_tensor(ctx, 2, dims, NULL);
    clnn_tensor *tl = tu_tensor(ctx, 1, &one, NULL);
    switch (kind) {
      case 0:
        TU_OK(clnn_softmax_forward(ctx, tx, ty));
        TU_OK(clnn_softmax_backward(ctx, ty, tw, 0.0f, tdx));
        break;
      case 1:
        TU_OK(clnn_log_softmax_forward(ctx, tx, ty));
        TU_OK(clnn_log_softmax_backward(ctx, ty, tw, 0.0f, tdx));
        break;
      case 2: TU_OK(clnn_softmax_cross_entropy(ctx, tx, lab, R, tl, tdx)); break;
      case 3: TU_OK(clnn_bce_with_logits(ctx, tx, tw, tl, tdx)); break;
      default: TU_OK(clnn_mse_loss(ctx, tx, tw, tl, tdx)); break;
    }
    float *g = tu_read(tdx);
    fd_data d = {kind, x, w, lab, R, C};
    if (kind >= 2) {
      double lw = fd_loss(&d);
      float l = read_scalar(tl);
      TU_CHECK(fabs(l - lw) <= 1e-5 * fabs(lw), "%s: loss %.9g want %.9g", names[kind], l, lw);
    }
    double worst = 0;
    for (int i = 0; i < N; i++) {
      double fd = tu_fd(x, (size_t)i, 1e-3f, fd_loss, &d);
      double e = fabs(g[i] - fd) / (1e-4 + 1e-2 * fabs(fd));
      if (e > worst) worst = e;
    }
    TU_CHECK(worst <= 1.0, "%s gradient vs finite differences: error %.3g x tol", names[kind], worst);
    free(g);
    clnn_tensor_destroy(tx);
    clnn_tensor_destroy(tw);
    clnn_tensor_destroy(ty);
    clnn_tensor_destroy(tdx);
    clnn_tensor_destroy(tl);
  }
}

/* ---------------------------------------------------------------------------------------------- */

static void test_errors(void) {
  const clnn_status IA = CLNN_ERROR_INVALID_ARGUMENT, SM = CLNN_ERROR_SHAPE_MISMATCH,
                    CM = CLNN_ERROR_CONTEXT_MISMATCH;
  size_t d45[2] = {4, 5}, d54[2] = {5, 4}, d245[3] = {2, 4, 5}, one = 1, two = 2, d20[1] = {20};
  float s[40];
  for (int i = 0; i < 40; i++) s[i] = SENTINEL;
  clnn_tensor *x = tu_tensor(ctx, 2, d45, NULL), *y = tu_tensor(ctx, 2, d45, s);
  clnn_tensor *y54 = tu_tensor(ctx, 2, d54, s), *dx = tu_tensor(ctx, 2, d45, s);
  clnn_tensor *x3 = tu_tensor(ctx, 3, d245, NULL), *l = tu_tensor(ctx, 1, &one, s);
  clnn_tensor *l2 = tu_tensor(ctx, 1, &two, s), *f20 = tu_tensor(ctx, 1, d20, NULL);
  clnn_tensor *other = tu_tensor(ctx2, 2, d45, NULL), *ol = tu_tensor(ctx2, 1, &one, NULL);
  TU_OK(clnn_tensor_fill(x, 0.25f));
  TU_OK(clnn_tensor_fill(x3, 0.25f));
  TU_OK(clnn_tensor_fill(f20, 0.25f));

  /* softmax */
  TU_STATUS(clnn_softmax_forward(ctx, x, y54), SM);
  TU_CHECK(strstr(clnn_last_error(), "[5, 4]") && strstr(clnn_last_error(), "[4, 5]"),
           "message names both shapes: %s", clnn_last_error());
  TU_STATUS(clnn_softmax_forward(ctx, f20, y), SM); /* same count, different shape */
  TU_STATUS(clnn_log_softmax_forward(ctx, x, y54), SM);
  TU_STATUS(clnn_softmax_forward(ctx, NULL, y), IA);
  TU_STATUS(clnn_softmax_forward(ctx, x, NULL), IA);
  TU_STATUS(clnn_softmax_forward(NULL, x, y), IA);
  TU_STATUS(clnn_softmax_forward(ctx, other, y), CM);
  TU_STATUS(clnn_log_softmax_forward(ctx, other, y), CM);
  tu_check_all(y, SENTINEL, "softmax forward after errors");
  tu_check_all(y54, SENTINEL, "softmax forward after errors (y54)");
  TU_STATUS(clnn_softmax_backward(ctx, x, x, NAN, dx), IA);
  TU_STATUS(clnn_log_softmax_backward(ctx, x, x, INFINITY, dx), IA);
  TU_STATUS(clnn_softmax_backward(ctx, x, y54, 0, dx), SM);
  TU_STATUS(clnn_softmax_backward(ctx, x, x, 0, y54), SM);
  TU_STATUS(clnn_log_softmax_backward(ctx, x3, x, 0, dx), SM);
  TU_STATUS(clnn_softmax_backward(ctx, NULL, x, 0, dx), IA);
  TU_STATUS(clnn_softmax_backward(ctx, x, NULL, 0, dx), IA);
  TU_STATUS(clnn_softmax_backward(ctx, x, x, 0, NULL), IA);
  TU_STATUS(clnn_softmax_backward(ctx, x, other, 0, dx), CM);
  tu_check_all(dx, SENTINEL, "softmax backward after errors");

  /* cross-entropy: labels are checked on the host before anything is written */
  int32_t lab[4] = {0, 1, 4, 2}, bad_hi[4] = {0, 1, 5, 2}, bad_lo[4] = {0, -1, 1, 2};
  TU_STATUS(clnn_softmax_cross_entropy(ctx, x, bad_hi, 4, l, dx), IA);
  TU_CHECK(strstr(clnn_last_error(), "labels[2]") && strstr(clnn_last_error(), "5"),
           "message names the bad label: %s", clnn_last_error());
  TU_STATUS(clnn_softmax_cross_entropy(ctx, x, bad_lo, 4, l, dx), IA);
  TU_STATUS(clnn_softmax_cross_entropy(ctx, x, bad_hi, 4, l, NULL), IA);
  TU_STATUS(clnn_softmax_cross_entropy(ctx, x, bad_hi, 4, NULL, dx), IA);
  TU_STATUS(clnn_softmax_cross_entropy(ctx, x, NULL, 4, l, dx), IA);
  TU_STATUS(clnn_softmax_cross_entropy(ctx, x, lab, 3, l, dx), SM);
  TU_STATUS(clnn_softmax_cross_entropy(ctx, x, lab, 5, l, dx), SM);
  TU_STATUS(clnn_softmax_cross_entropy(ctx, x3, lab, 2, l, NULL), SM);
  TU_STATUS(clnn_softmax_cross_entropy(ctx, f20, lab, 4, l, NULL), SM);
  TU_STATUS(clnn_softmax_cross_entropy(ctx, x, lab, 4, l2, dx), SM);
  TU_STATUS(clnn_softmax_cross_entropy(ctx, x, lab, 4, l, y54), SM);
  TU_STATUS(clnn_softmax_cross_entropy(ctx, x, lab, 4, ol, dx), CM);
  TU_STATUS(clnn_softmax_cross_entropy(ctx, x, lab, 4, l, other), CM);
  TU_STATUS(clnn_softmax_cross_entropy(ctx, other, lab, 4, l, dx), CM);
  TU_STATUS(clnn_softmax_cross_entropy(NULL, x, lab, 4, l, dx), IA);
  tu_check_all(l, SENTINEL, "xent loss after errors");
  tu_check_all(l2, SENTINEL, "xent loss after errors (l2)");
  tu_check_all(dx, SENTINEL, "xent gradient after errors");
  tu_check_all(y54, SENTINEL, "xent gradient after errors (y54)");

  /* BCE and MSE */
  for (int which = 0; which < 2; which++) {
    clnn_status (*fn)(clnn_context *, const clnn_tensor *, const clnn_tensor *, clnn_tensor *,
                      clnn_tensor *) = which ? clnn_mse_loss : clnn_bce_with_logits;
    TU_STATUS(fn(ctx, x, y54, l, dx), SM);
    TU_STATUS(fn(ctx, x, f20, l, dx), SM);
    TU_STATUS(fn(ctx, x, x, l2, dx), SM);
    TU_STATUS(fn(ctx, x, x, l, y54), SM);
    TU_STATUS(fn(ctx, NULL, x, l, dx), IA);
    TU_STATUS(fn(ctx, x, NULL, l, dx), IA);
    TU_STATUS(fn(NULL, x, x, l, dx), IA);
    TU_STATUS(fn(ctx, x, other, l, dx), CM);
    TU_STATUS(fn(ctx, x, x, ol, dx), CM);
    TU_STATUS(fn(ctx, x, x, l, other), CM);
    tu_check_all(l, SENTINEL, which ? "mse loss after errors" : "bce loss after errors");
    tu_check_all(dx, SENTINEL, which ? "mse gradient after errors" : "bce gradient after errors");
    tu_check_all(y54, SENTINEL, "loss gradient after errors (y54)");
  }

  clnn_tensor_destroy(x);
  clnn_tensor_destroy(y);
  clnn_tensor_destroy(y54);
  clnn_tensor_destroy(dx);
  clnn_tensor_destroy(x3);
  clnn_tensor_destroy(l);
  clnn_tensor_destroy(l2);
  clnn_tensor_destroy(f20);
  clnn_tensor_destroy(other);
  clnn_tensor_destroy(ol);
}

int main(void) {
  ctx = tu_context();
  TU_OK(clnn_context_create(NULL, &ctx2));
  tu_seed(777);
  test_softmax("cpu shape");
  test_extreme_logits("cpu shape");
  test_xent("cpu shape");
  test_bce_mse("cpu shape");
  test_finite_differences();
  test_errors();
  /* The GPU kernels (a work-group per row, multi-work-item final reduction) on this device. */
  int saved = ctx->device_class;
  ctx->device_class = CLNN_DEVICE_CLASS_GPU;
  test_softmax("gpu shape");
  test_extreme_logits("gpu shape");
  test_xent("gpu shape");
  test_bce_mse("gpu shape");
  test_finite_differences();
  ctx->device_class = saved;
  clnn_context_destroy(ctx2);
  clnn_context_destroy(ctx);
  return tu_finish("test_softmax_loss");
}
