/* tests/test_gemm_clblast_paths.c — every CLBlast call clnn makes, on both of CLBlast's paths.
 * The context forces CLBlast (force_clblast) and lowers CLBlast's direct/indirect threshold
 * (XGEMM_MIN_INDIRECT_SIZE) to THRESH, so shapes a little either side of THRESH^3 take the direct
 * and the indirect (pad/transpose + Xgemm) kernels while the test stays fast. A table of
 * transposes x batch strides (shared operand = stride 0, packed, padded) x sizes, with offsets,
 * leading dimensions wider than the matrix and beta 0 / non-zero, is checked against a plain-C
 * double reference; then the convolution passes that issue strided-batched calls (backward-data's
 * transposed A of stride 0, which CLBlast once read wrongly) are checked against tests/ref/conv_ref.c above the
 * threshold. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conv_ref.h"
#include "internal.h"
#include "test_util.h"

/* src/gemm/gemm_clblast.c (declared in src/gemm/gemm_paths.h): CLBlastOverrideParameters. */
clnn_status clnn__gemm_clblast_override(clnn_context *ctx, const char *kernel, size_t count,
                                        const char **names, const size_t *values);

#define THRESH 32 /* CLBlast takes the indirect kernel when m*n*k >= THRESH^3 (UseDirectKernel) */

enum { SHARE_NONE, SHARE_A, SHARE_B, SHARE_AB };
static const char *share_name[] = {"strided", "A shared", "B shared", "A+B shared"};

typedef struct gcase {
  int ta, tb, share;
  size_t m, n, k, batch;
  size_t pad;   /* extra columns in every leading dimension and gap between batch entries */
  size_t off;   /* offset of every operand's first element */
  float alpha, beta;
} gcase;

/* |got - want| <= 4 k eps * (sum over p of |alpha a b| + |beta c|): the forward-error bound of a
 * float dot product with some slack, so it holds for any summation order; garbage and NaN fail. */
static void run_case(clnn_context *ctx, const gcase *t) {
  size_t ar = t->ta ? t->k : t->m, ac = t->ta ? t->m : t->k; /* stored shapes, row-major */
  size_t br = t->tb ? t->n : t->k, bc = t->tb ? t->k : t->n;
  size_t lda = ac + t->pad, ldb = bc + t->pad, ldc = t->n + t->pad;
  size_t as = (t->share == SHARE_A || t->share == SHARE_AB) ? 0 : ar * lda + t->pad;
  size_t bs = (t->share == SHARE_B || t->share == SHARE_AB) ? 0 : br * ldb + t->pad;
  size_t cs = t->m * ldc + t->pad;
  size_t an = t->off + ar * lda + as * (t->batch - 1), bn = t->off + br * ldb + bs * (t->batch - 1);
  size_t cn = t->off + cs * t->batch;
  float *a = malloc(an * sizeof(float)), *b = malloc(bn * sizeof(float)), *c = malloc(cn * sizeof(float));
  tu_fill_uniform(a, an, -1, 1);
  tu_fill_uniform(b, bn, -1, 1);
  tu_fill_uniform(c, cn, -1, 1);
  size_t da[1] = {an}, db[1] = {bn}, dc[1] = {cn};
  clnn_tensor *A = tu_tensor(ctx, 1, da, a), *B = tu_tensor(ctx, 1, db, b), *C = tu_tensor(ctx, 1, dc, c);
  clnn_status s;
  if (t->batch == 1)
    s = clnn__gemm(ctx, t->ta, t->tb, t->m, t->n, t->k, t->alpha, A->mem, t->off, lda, B->mem, t->off, ldb,
                   t->beta, C->mem, t->off, ldc);
  else
    s = clnn__gemm_batched(ctx, t->ta, t->tb, t->m, t->n, t->k, t->alpha, A->mem, t->off, lda, as, B->mem,
                           t->off, ldb, bs, t->beta, C->mem, t->off, ldc, cs, t->batch);
  char what[200];
  snprintf(what, sizeof what, "%c%c %s %zux%zux%zu batch %zu pad %zu off %zu beta %g (%s, %s)",
           t->ta ? 'T' : 'N', t->tb ? 'T' : 'N', share_name[t->share], t->m, t->n, t->k, t->batch, t->pad,
           t->off, t->beta, t->m * t->n * t->k >= (size_t)THRESH * THRESH * THRESH ? "indirect" : "direct",
           clnn__gemm_last_path());
  TU_CHECK(s == CLNN_SUCCESS, "%s: %s", what, clnn_last_error());
  TU_CHECK(!strcmp(clnn__gemm_last_path(), "clblast"), "%s: did not go to CLBlast", what);
  float *got = tu_read(C);
  double worst = 0;
  size_t wi = 0, untouched_bad = 0;
  for (size_t q = 0; q < t->batch; q++)
    for (size_t i = 0; i < t->m; i++)
      for (size_t j = 0; j < t->n; j++) {
        const float *aq = a + t->off + q * as, *bq = b + t->off + q * bs;
        double acc = 0, mag = 0;
        for (size_t p = 0; p < t->k; p++) {
          double x = aq[t->ta ? p * lda + i : i * lda + p], y = bq[t->tb ? j * ldb + p : p * ldb + j];
          acc += x * y;
          mag += fabs(x * y);
        }
        size_t ci = t->off + q * cs + i * ldc + j;
        double want = t->alpha * acc + (t->beta != 0.0f ? t->beta * (double)c[ci] : 0.0);
        double tol = 4.0 * (double)(t->k + 1) * FLT_EPSILON * (fabs(t->alpha) * mag + fabs(t->beta * (double)c[ci]));
        double e = fabs((double)got[ci] - want) / tol;
        if (!(e <= worst)) {
          worst = isnan(e) ? INFINITY : e;
          wi = ci;
        }
      }
  /* Elements outside every C matrix (offset, padding columns, gaps) must be untouched. */
  for (size_t ci = 0; ci < cn; ci++) {
    int inside = 0;
    if (ci >= t->off) {
      size_t r = ci - t->off, q = r / cs, w = r % cs;
      inside = q < t->batch && w < t->m * ldc && w % ldc < t->n;
    }
    if (!inside && got[ci] != c[ci]) untouched_bad++;
  }
  TU_CHECK(worst <= 1.0, "%s: element %zu got %.8g (error %.3g x tol)", what, wi, got[wi], worst);
  TU_CHECK(untouched_bad == 0, "%s: %zu elements outside C changed", what, untouched_bad);
  free(a); free(b); free(c); free(got);
  clnn_tensor_destroy(A); clnn_tensor_destroy(B); clnn_tensor_destroy(C);
}

/* One convolution pass set against the reference; algo IM2COL_GEMM or 1X1_GEMM. */
static void conv_case(clnn_context *ctx, clnn_conv_algo algo, int n, int c, int h, int wd_, int k, int rs,
                      int groups, int pad) {
  conv_ref_geom g = {n, c, h, wd_, k, rs, rs, 1, 1, pad, pad, pad, pad, 1, 1, groups, 0, 0};
  if (!conv_ref_geom_conv(&g)) {
    TU_CHECK(0, "bad test geometry");
    return;
  }
  clnn_conv2d_params p;
  clnn_conv2d_params_init(&p);
  p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = pad;
  p.groups = groups;
  size_t xd[4] = {n, c, h, wd_}, wd[4] = {k, c / groups, rs, rs}, yd[4] = {n, k, g.p, g.q};
  size_t xn = (size_t)n * c * h * wd_, wn = (size_t)k * (c / groups) * rs * rs, yn = (size_t)n * k * g.p * g.q;
  float *x = malloc(xn * 4), *w = malloc(wn * 4), *dy = malloc(yn * 4), *dx = malloc(xn * 4);
  float *dw = malloc(wn * 4), *y = malloc(yn * 4);
  tu_fill_uniform(x, xn, -1, 1);
  tu_fill_uniform(w, wn, -1, 1);
  tu_fill_uniform(dy, yn, -1, 1);
  tu_fill_uniform(dx, xn, -1, 1);
  tu_fill_uniform(dw, wn, -1, 1);
  clnn_tensor *X = tu_tensor(ctx, 4, xd, x), *W = tu_tensor(ctx, 4, wd, w), *DY = tu_tensor(ctx, 4, yd, dy);
  clnn_tensor *DX = tu_tensor(ctx, 4, xd, dx), *DW = tu_tensor(ctx, 4, wd, dw), *Y = tu_tensor(ctx, 4, yd, NULL);
  char what[160];
  int cgrs = c / groups * rs * rs, kg = k / groups;
  snprintf(what, sizeof what, "conv %s N=%d C=%d %dx%d K=%d %dx%d groups %d (GEMM %dx%dx%d per image)",
           algo == CLNN_CONV_ALGO_1X1_GEMM ? "1x1" : "im2col", n, c, h, wd_, k, rs, rs, groups, cgrs,
           g.p * g.q, kg);
  TU_CHECK((size_t)cgrs * g.p * g.q * kg >= (size_t)THRESH * THRESH * THRESH, "%s: below the threshold", what);
  /* The tolerance scales with the dot-product length and the data's magnitude (values in [-1, 1]). */
  float atol_bd = 4e-6f * (float)(kg * rs * rs), atol_f = 4e-6f * (float)cgrs, atol_bf = 4e-6f * (float)(n * g.p * g.q);
  char w2[200];
  TU_OK(clnn_conv2d_backward_data(ctx, &p, algo, DY, W, 1.0f, DX));
  conv_ref_backward_data(&g, dy, w, 1.0f, dx);
  float *got = tu_read(DX);
  snprintf(w2, sizeof w2, "%s backward-data beta 1", what);
  tu_allclose(got, dx, xn, 1e-5f, atol_bd, w2);
  free(got);
  TU_OK(clnn_conv2d_backward_data(ctx, &p, algo, DY, W, 0.0f, DX));
  conv_ref_backward_data(&g, dy, w, 0.0f, dx);
  got = tu_read(DX);
  snprintf(w2, sizeof w2, "%s backward-data beta 0", what);
  tu_allclose(got, dx, xn, 1e-5f, atol_bd, w2);
  free(got);
  TU_OK(clnn_conv2d_forward(ctx, &p, algo, X, W, NULL, CLNN_ACT_IDENTITY, 0.0f, Y));
  conv_ref_forward(&g, x, w, NULL, CLNN_ACT_IDENTITY, 0.0f, y);
  got = tu_read(Y);
  snprintf(w2, sizeof w2, "%s forward", what);
  tu_allclose(got, y, yn, 1e-5f, atol_f, w2);
  free(got);
  TU_OK(clnn_conv2d_backward_filter(ctx, &p, algo, X, DY, 1.0f, DW));
  conv_ref_backward_filter(&g, x, dy, 1.0f, dw);
  got = tu_read(DW);
  snprintf(w2, sizeof w2, "%s backward-filter beta 1", what);
  tu_allclose(got, dw, wn, 1e-5f, atol_bf, w2);
  free(got);
  free(x); free(w); free(dy); free(dx); free(dw); free(y);
  clnn_tensor_destroy(X); clnn_tensor_destroy(W); clnn_tensor_destroy(DY);
  clnn_tensor_destroy(DX); clnn_tensor_destroy(DW); clnn_tensor_destroy(Y);
}

int main(void) {
  int count = 0;
  if (clnn_device_count(&count) != CLNN_SUCCESS || count == 0) {
    fprintf(stderr, "FAIL: no OpenCL device\n");
    return 1;
  }
  clnn_context_options o;
  clnn_context_options_init(&o);
  o.force_clblast = 1;
  clnn_context *ctx = NULL;
  if (clnn_context_create(&o, &ctx) != CLNN_SUCCESS) {
    fprintf(stderr, "FAIL: context: %s\n", clnn_last_error());
    return 1;
  }
  const char *names[1] = {"XGEMM_MIN_INDIRECT_SIZE"};
  const size_t values[1] = {THRESH};
  TU_OK(clnn__gemm_clblast_override(ctx, "GemmRoutine", 1, names, values));
  tu_seed(16);
  /* Sizes: below THRESH^3 (direct); just above it (indirect), none a multiple of a tile (CLBlast
   * pads); above it with every dimension a multiple of 128, so no operand needs padding (the shape
   * class in which CLBlast 1.5.3 got a transposed stride-0 A wrong). */
  static const size_t sizes[3][3] = {{23, 19, 21}, {45, 37, 29}, {128, 128, 64}};
  int idx = 0;
  for (int sz = 0; sz < 3; sz++)
    for (int ta = 0; ta < 2; ta++)
      for (int tb = 0; tb < 2; tb++)
        for (int share = -1; share <= SHARE_AB; share++)
          for (int layout = 0; layout < 3; layout++, idx++) {
            /* packed at offset 0 (what CLBlast assumes), at an offset, with padded rows */
            gcase t = {ta, tb, share < 0 ? SHARE_NONE : share, sizes[sz][0], sizes[sz][1], sizes[sz][2],
                       share < 0 ? 1 : 3, (size_t)(layout == 2 ? 3 : 0), (size_t)(layout == 1 ? 5 : 0),
                       idx % 4 == 3 ? -0.5f : 1.0f, idx % 2 ? 0.0f : 0.75f};
            run_case(ctx, &t);
          }
  /* K = 0: C = beta * C (CLBlastSscal per row), and beta 0 with C full of NaN. */
  {
    gcase t = {0, 0, SHARE_NONE, 7, 9, 0, 1, 2, 3, 1.0f, 0.5f};
    run_case(ctx, &t);
  }
  /* The convolution passes above the threshold: backward-data issues a transposed, stride-0 A. */
  /* Odd sizes (CLBlast pads every operand), then sizes whose GEMM dimensions are multiples of 64
   * or 128 (no padding: the case CLBlast 1.5.3 got wrong). */
  conv_case(ctx, CLNN_CONV_ALGO_IM2COL_GEMM, 3, 8, 10, 10, 16, 3, 1, 1);
  conv_case(ctx, CLNN_CONV_ALGO_IM2COL_GEMM, 2, 128, 8, 16, 64, 3, 1, 1);
  conv_case(ctx, CLNN_CONV_ALGO_IM2COL_GEMM, 2, 128, 8, 16, 128, 3, 2, 1);
  conv_case(ctx, CLNN_CONV_ALGO_1X1_GEMM, 3, 40, 6, 6, 32, 1, 1, 0);
  conv_case(ctx, CLNN_CONV_ALGO_1X1_GEMM, 3, 128, 8, 16, 64, 1, 1, 0);
  clnn_context_destroy(ctx);
  return tu_finish("test_gemm_clblast_paths");
}
