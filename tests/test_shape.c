/* tests/test_shape.c — the shape operators (clnn_permute, clnn_copy_region, clnn_mul_acc,
 * clnn_reduce_sum, clnn_broadcast_scalar) against the plain-C reference (tests/ref/shape_ref.c):
 * 1-5 dims and odd sizes, every permutation of a 3-D and a 4-D tensor and some of 5-D ones,
 * random and edge boxes, concatenation and padding as box copies, alpha/beta combinations (beta 0
 * over NaN-filled outputs, beta 1 accumulation), sums of 1 .. 2^20+3 elements against a double
 * reference and repeated bit for bit, with both the CPU and the GPU launch shapes; every error
 * path returns its status and leaves the outputs untouched. */
#include "internal.h"
#include "shape_ref.h"
#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static clnn_context *ctx, *ctx2;
#define SENTINEL 7.25f

/* alpha/beta combinations: overwrite (over NaN), accumulate, and general values. */
static const float combos[][2] = {{1.0f, 0.0f}, {1.0f, 1.0f}, {0.5f, 1.0f}, {-2.0f, 0.5f}, {3.0f, 0.0f}};
#define NCOMBOS (int)(sizeof combos / sizeof combos[0])

static size_t numel_of(int ndim, const size_t *dims) {
  size_t n = 1;
  for (int d = 0; d < ndim; d++) n *= dims[d];
  return n;
}

static float *rand_new(size_t n, float lo, float hi) {
  float *a = malloc(n * sizeof(float));
  tu_fill_uniform(a, n, lo, hi);
  return a;
}

/* Prepares output t (and its host mirror `want`) for a call with this beta: NaN when the call
 * must not read it, random values otherwise. */
static void prepare_out(clnn_tensor *t, float *want, size_t n, float beta) {
  if (beta == 0.0f) {
    TU_OK(clnn_tensor_fill(t, NAN));
    for (size_t i = 0; i < n; i++) want[i] = NAN; /* the reference does not read it either */
  } else {
    tu_fill_uniform(want, n, -1.0f, 1.0f);
    TU_OK(clnn_tensor_write(t, want, n));
  }
}

/* Exact for plain copies (alpha 1, beta 0), else a few float roundings. */
static void compare(const clnn_tensor *t, const float *want, size_t n, float alpha, float beta,
                    const char *what) {
  float *got = tu_read(t);
  int exact = alpha == 1.0f && beta == 0.0f;
  tu_allclose(got, want, n, exact ? 0.0f : 2e-6f, exact ? 0.0f : 2e-6f, what);
  free(got);
}

/* ---------------------------------------------------------------------------------------------- */

/* Runs permute of x (dims xd) by perm with every alpha/beta combination against the reference. */
static void check_permute(const char *label, int nd, const size_t *xd, const int *perm) {
  size_t n = numel_of(nd, xd), yd[5];
  for (int i = 0; i < nd; i++) yd[i] = xd[perm[i]];
  float *x = rand_new(n, -2.0f, 2.0f), *want = malloc(n * sizeof(float));
  clnn_tensor *tx = tu_tensor(ctx, nd, xd, x), *ty = tu_guarded(ctx, nd, yd);
  for (int c = 0; c < NCOMBOS; c++) {
    float alpha = combos[c][0], beta = combos[c][1];
    prepare_out(ty, want, n, beta);
    shape_ref_permute(nd, xd, perm, alpha, x, beta, want);
    TU_OK(clnn_permute(ctx, perm, alpha, tx, beta, ty));
    char what[200], ps[32] = "", ds[64] = "";
    for (int i = 0; i < nd; i++) {
      snprintf(ps + strlen(ps), sizeof ps - strlen(ps), "%d", perm[i]);
      snprintf(ds + strlen(ds), sizeof ds - strlen(ds), "%s%zu", i ? "x" : "", xd[i]);
    }
    snprintf(what, sizeof what, "[%s] permute %s by %s alpha=%g beta=%g", label, ds, ps, alpha, beta);
    compare(ty, want, n, alpha, beta, what);
  }
  tu_check_guard(ty, "permute output");
  clnn_tensor_destroy(tx);
  clnn_tensor_destroy(ty);
  free(x);
  free(want);
}

/* Every permutation of 0..nd-1 in lexicographic order, through visit (every `step`-th one). */
static void all_perms(const char *label, int nd, const size_t *xd, int step) {
  int total = 1, count = 0;
  for (int i = 0; i < nd; i++) total *= nd;
  for (int code = 0; code < total; code++) {
    int p[5], seen[5] = {0}, ok = 1;
    for (int i = nd - 1, c = code; i >= 0; i--, c /= nd) p[i] = c % nd;
    for (int i = 0; i < nd && ok; i++) ok = !seen[p[i]]++;
    if (ok && count++ % step == 0) check_permute(label, nd, xd, p);
  }
}

static void test_permute(const char *label) {
  const size_t d1[] = {7}, d2[] = {37, 129}, d3[] = {3, 5, 7}, d4[] = {2, 3, 4, 5};
  const size_t d5a[] = {2, 3, 1, 4, 5}, d5b[] = {3, 2, 5, 7, 2}, big[] = {64, 33, 65};
  all_perms(label, 1, d1, 1);
  all_perms(label, 2, d2, 1);
  all_perms(label, 3, d3, 1);
  all_perms(label, 4, d4, 1);
  all_perms(label, 5, d5a, 11);
  all_perms(label, 5, d5b, 17);
  const int rot[] = {2, 0, 1}, swap[] = {1, 0, 2};
  check_permute(label, 3, big, rot); /* many chunks on the CPU shape */
  check_permute(label, 3, big, swap);
}

/* ---------------------------------------------------------------------------------------------- */

static size_t rnd(size_t lo, size_t hi) { /* uniform in [lo, hi] */
  return lo + (size_t)tu_uniform(0.0f, (float)(hi - lo + 1) - 0.001f);
}

/* One box copy against the reference, with alpha/beta combination c. */
static void check_region(const char *label, int nd, const size_t *sd, const size_t *dd,
                         const size_t *sizes, const size_t *ss, const size_t *ds, int c) {
  size_t ns = numel_of(nd, sd), nd_ = numel_of(nd, dd);
  float alpha = combos[c][0], beta = combos[c][1];
  float *src = rand_new(ns, -2.0f, 2.0f), *want = malloc(nd_ * sizeof(float));
  clnn_tensor *tsrc = tu_tensor(ctx, nd, sd, src), *tdst = tu_guarded(ctx, nd, dd);
  /* Elements outside the box keep their value even with beta 0: fill with data, not NaN. */
  tu_fill_uniform(want, nd_, -1.0f, 1.0f);
  TU_OK(clnn_tensor_write(tdst, want, nd_));
  if (beta == 0.0f) { /* NaN inside the box must not leak */
    float *nanbox = malloc(ns * sizeof(float));
    for (size_t i = 0; i < ns; i++) nanbox[i] = NAN;
    shape_ref_copy_region(nd, sizes, 1.0f, nanbox, sd, ss, 0.0f, want, dd, ds);
    TU_OK(clnn_tensor_write(tdst, want, nd_));
    free(nanbox);
  }
  shape_ref_copy_region(nd, sizes, alpha, src, sd, ss, beta, want, dd, ds);
  TU_OK(clnn_copy_region(ctx, nd, sizes, alpha, tsrc, ss, beta, tdst, ds));
  char what[256];
  int k = snprintf(what, sizeof what, "[%s] copy_region alpha=%g beta=%g box", label, alpha, beta);
  for (int d = 0; d < nd && k < 200; d++)
    k += snprintf(what + k, sizeof what - k, " %zu@%zu->%zu/%zu->%zu", sizes[d], ss[d], sd[d], ds[d],
                  dd[d]);
  compare(tdst, want, nd_, alpha, beta, what);
  tu_check_guard(tdst, "copy_region output");
  clnn_tensor_destroy(tsrc);
  clnn_tensor_destroy(tdst);
  free(src);
  free(want);
}

static void test_copy_region(const char *label) {
  /* Random boxes, 1 to 5 dims; every third one at the far edges of both tensors. */
  for (int t = 0; t < 80; t++) {
    int nd = 1 + t % 5;
    size_t sd[5], dd[5], sz[5], ss[5], ds[5];
    for (int d = 0; d < nd; d++) {
      sd[d] = rnd(1, nd <= 2 ? 40 : 7);
      dd[d] = rnd(1, nd <= 2 ? 40 : 7);
      size_t m = sd[d] < dd[d] ? sd[d] : dd[d];
      sz[d] = rnd(1, m);
      if (t % 3 == 0) {
        ss[d] = sd[d] - sz[d];
        ds[d] = dd[d] - sz[d];
      } else {
        ss[d] = rnd(0, sd[d] - sz[d]);
        ds[d] = rnd(0, dd[d] - sz[d]);
      }
    }
    check_region(label, nd, sd, dd, sz, ss, ds, t % NCOMBOS);
  }
  /* Whole tensor; a slice of one row; a large box (many chunks). */
  {
    size_t d[3] = {4, 5, 6}, z[3] = {0, 0, 0};
    check_region(label, 3, d, d, d, z, z, 0);
    size_t sd[2] = {9, 300}, dd[2] = {1, 300}, sz[2] = {1, 300}, ss[2] = {8, 0}, ds[2] = {0, 0};
    check_region(label, 2, sd, dd, sz, ss, ds, 0);
    size_t bd[4] = {3, 40, 37, 29}, bs[4] = {2, 40, 30, 29}, b0[4] = {1, 0, 7, 0}, b1[4] = {0, 0, 0, 0};
    for (int c = 0; c < NCOMBOS; c++) check_region(label, 4, bd, bs, bs, b0, b1, c);
  }
  /* Concatenation along axis 1: c[2, 8, 4] = [a[2, 3, 4], b[2, 5, 4]], then split back. */
  {
    size_t ad[3] = {2, 3, 4}, bd[3] = {2, 5, 4}, cd[3] = {2, 8, 4}, z[3] = {0, 0, 0}, o[3] = {0, 3, 0};
    float *a = rand_new(24, -1, 1), *b = rand_new(40, -1, 1), want[64];
    for (size_t i = 0; i < 2; i++)
      for (size_t j = 0; j < 8; j++)
        for (size_t k = 0; k < 4; k++)
          want[(i * 8 + j) * 4 + k] = j < 3 ? a[(i * 3 + j) * 4 + k] : b[(i * 5 + j - 3) * 4 + k];
    clnn_tensor *ta = tu_tensor(ctx, 3, ad, a), *tb = tu_tensor(ctx, 3, bd, b), *tc = tu_guarded(ctx, 3, cd);
    clnn_tensor *ta2 = tu_tensor(ctx, 3, ad, NULL), *tb2 = tu_tensor(ctx, 3, bd, NULL);
    TU_OK(clnn_tensor_fill(tc, NAN));
    TU_OK(clnn_copy_region(ctx, 3, ad, 1.0f, ta, z, 0.0f, tc, z));
    TU_OK(clnn_copy_region(ctx, 3, bd, 1.0f, tb, z, 0.0f, tc, o));
    compare(tc, want, 64, 1.0f, 0.0f, "concatenation by two box copies");
    TU_OK(clnn_copy_region(ctx, 3, ad, 1.0f, tc, z, 0.0f, ta2, z));
    TU_OK(clnn_copy_region(ctx, 3, bd, 1.0f, tc, o, 0.0f, tb2, z));
    compare(ta2, a, 24, 1.0f, 0.0f, "split, first part");
    compare(tb2, b, 40, 1.0f, 0.0f, "split, second part");
    tu_check_guard(tc, "concatenation output");
    clnn_tensor_destroy(ta);
    clnn_tensor_destroy(tb);
    clnn_tensor_destroy(tc);
    clnn_tensor_destroy(ta2);
    clnn_tensor_destroy(tb2);
    free(a);
    free(b);
  }
  /* Padding: x[3, 4] into the middle of zeros [5, 8]. */
  {
    size_t xd[2] = {3, 4}, pd[2] = {5, 8}, z[2] = {0, 0}, at[2] = {1, 2};
    float *x = rand_new(12, -1, 1), want[40] = {0};
    for (int i = 0; i < 3; i++)
      for (int j = 0; j < 4; j++) want[(i + 1) * 8 + j + 2] = x[i * 4 + j];
    clnn_tensor *tx = tu_tensor(ctx, 2, xd, x), *tp = tu_tensor(ctx, 2, pd, NULL);
    TU_OK(clnn_tensor_fill(tp, 0.0f));
    TU_OK(clnn_copy_region(ctx, 2, xd, 1.0f, tx, z, 0.0f, tp, at));
    compare(tp, want, 40, 1.0f, 0.0f, "padding by a box copy");
    /* A box with a zero size copies nothing. */
    size_t empty[2] = {0, 4};
    TU_OK(clnn_copy_region(ctx, 2, empty, 1.0f, tx, z, 0.0f, tp, z));
    compare(tp, want, 40, 1.0f, 0.0f, "empty box");
    clnn_tensor_destroy(tx);
    clnn_tensor_destroy(tp);
    free(x);
  }
}

/* ---------------------------------------------------------------------------------------------- */

static const size_t vec_sizes[] = {1, 7, 1000, 100003};

static void test_mul_acc_broadcast(const char *label) {
  for (size_t si = 0; si < sizeof vec_sizes / sizeof vec_sizes[0]; si++) {
    size_t n = vec_sizes[si];
    float *a = rand_new(n, -2, 2), *b = rand_new(n, -2, 2), *want = malloc(n * sizeof(float));
    float *y0 = rand_new(n, -1, 1);
    clnn_tensor *ta = tu_tensor(ctx, 1, &n, a), *tb = tu_tensor(ctx, 1, &n, b);
    clnn_tensor *ty = tu_guarded(ctx, 1, &n);
    char what[160];
    for (int c = 0; c < NCOMBOS; c++) {
      float beta = combos[c][1];
      prepare_out(ty, want, n, beta);
      shape_ref_mul_acc(a, b, beta, want, n);
      TU_OK(clnn_mul_acc(ctx, ta, tb, beta, ty));
      snprintf(what, sizeof what, "[%s] mul_acc beta=%g n=%zu", label, beta, n);
      compare(ty, want, n, 2.0f, beta, what);

      /* broadcast of a device scalar */
      float alpha = combos[c][0];
      size_t one = 1;
      clnn_tensor *ts = tu_tensor(ctx, 1, &one, &a[0]);
      prepare_out(ty, want, n, beta);
      shape_ref_broadcast(alpha, a[0], beta, want, n);
      TU_OK(clnn_broadcast_scalar(ctx, alpha, ts, beta, ty));
      snprintf(what, sizeof what, "[%s] broadcast_scalar alpha=%g beta=%g n=%zu", label, alpha, beta, n);
      compare(ty, want, n, alpha, beta, what);
      clnn_tensor_destroy(ts);
    }
    /* y is a (beta 1 and beta 0), y is b */
    for (int bi = 0; bi < 2; bi++) {
      float beta = (float)bi;
      clnn_tensor *t = tu_tensor(ctx, 1, &n, y0);
      memcpy(want, y0, n * sizeof(float));
      shape_ref_mul_acc(y0, b, beta, want, n);
      TU_OK(clnn_mul_acc(ctx, t, tb, beta, t));
      snprintf(what, sizeof what, "[%s] mul_acc y=a beta=%g n=%zu", label, beta, n);
      compare(t, want, n, 2.0f, 1.0f, what);
      TU_OK(clnn_tensor_write(t, y0, n));
      memcpy(want, y0, n * sizeof(float));
      shape_ref_mul_acc(a, y0, beta, want, n);
      TU_OK(clnn_mul_acc(ctx, ta, t, beta, t));
      snprintf(what, sizeof what, "[%s] mul_acc y=b beta=%g n=%zu", label, beta, n);
      compare(t, want, n, 2.0f, 1.0f, what);
      clnn_tensor_destroy(t);
    }
    tu_check_guard(ty, "mul_acc / broadcast output");
    clnn_tensor_destroy(ta);
    clnn_tensor_destroy(tb);
    clnn_tensor_destroy(ty);
    free(a);
    free(b);
    free(want);
    free(y0);
  }
}

/* ---------------------------------------------------------------------------------------------- */

/* Tolerance of a float sum: |got - want| <= 2e-6 * (|alpha| * sum|x| + |beta * y0|) + 1e-30
 * (compensated chunk sums, then at most 8 levels of a float tree). */
static void test_reduce_sum(const char *label) {
  const size_t sizes[] = {1, 7, 1000, (1u << 20) + 3};
  size_t one = 1;
  clnn_tensor *ty = tu_guarded(ctx, 1, &one);
  for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
    size_t n = sizes[si];
    for (int pos = 0; pos < 2; pos++) { /* mixed signs, then all positive (a large sum) */
      float *x = rand_new(n, pos ? 0.0f : -1.0f, 1.0f);
      clnn_tensor *tx = tu_tensor(ctx, 1, &n, x);
      double abs_sum, sum = shape_ref_sum(x, n, &abs_sum);
      for (int c = 0; c < NCOMBOS; c++) {
        float alpha = combos[c][0], beta = combos[c][1], y0 = 0.75f;
        if (beta == 0.0f)
          TU_OK(clnn_tensor_fill(ty, NAN));
        else
          TU_OK(clnn_tensor_write(ty, &y0, 1));
        TU_OK(clnn_reduce_sum(ctx, alpha, tx, beta, ty));
        float got;
        TU_OK(clnn_tensor_read(ty, &got, 1));
        double want = (double)alpha * sum + (beta == 0.0f ? 0.0 : (double)beta * y0);
        double tol = 2e-6 * (fabs((double)alpha) * abs_sum + fabs((double)beta * y0)) + 1e-30;
        TU_CHECK(fabs(got - want) <= tol,
                 "[%s] reduce_sum n=%zu %s alpha=%g beta=%g: got %.9g, want %.9g (tol %.3g)", label,
                 n, pos ? "positive" : "mixed", alpha, beta, got, want, tol);
      }
      /* Deterministic: the same bits twice. */
      float r1, r2;
      TU_OK(clnn_reduce_sum(ctx, 1.0f, tx, 0.0f, ty));
      TU_OK(clnn_tensor_read(ty, &r1, 1));
      TU_OK(clnn_reduce_sum(ctx, 1.0f, tx, 0.0f, ty));
      TU_OK(clnn_tensor_read(ty, &r2, 1));
      TU_CHECK(!memcmp(&r1, &r2, sizeof r1), "[%s] reduce_sum n=%zu repeats: %.9g then %.9g", label,
               n, r1, r2);
      clnn_tensor_destroy(tx);
      free(x);
    }
  }
  /* y may be x when x has one element. */
  float v = 2.5f;
  clnn_tensor *t = tu_tensor(ctx, 1, &one, &v);
  TU_OK(clnn_reduce_sum(ctx, 2.0f, t, 1.0f, t));
  TU_OK(clnn_tensor_read(t, &v, 1));
  TU_CHECK(v == 7.5f, "[%s] reduce_sum with y = x: %g, want 7.5", label, v);
  clnn_tensor_destroy(t);
  tu_check_guard(ty, "reduce_sum output");
  clnn_tensor_destroy(ty);
}

/* ---------------------------------------------------------------------------------------------- */

static void test_errors(void) {
  const clnn_status IA = CLNN_ERROR_INVALID_ARGUMENT, SM = CLNN_ERROR_SHAPE_MISMATCH,
                    CM = CLNN_ERROR_CONTEXT_MISMATCH;
  size_t d234[3] = {2, 3, 4}, d423[3] = {4, 2, 3}, d432[3] = {4, 3, 2}, d24[2] = {6, 4};
  size_t d1[1] = {1}, d2[1] = {2}, d24n[1] = {24};
  float s24[24];
  for (int i = 0; i < 24; i++) s24[i] = SENTINEL;
  clnn_tensor *x = tu_tensor(ctx, 3, d234, NULL), *y = tu_tensor(ctx, 3, d423, s24);
  clnn_tensor *y432 = tu_tensor(ctx, 3, d432, s24), *y2d = tu_tensor(ctx, 2, d24, s24);
  clnn_tensor *ox = tu_tensor(ctx2, 3, d234, NULL), *oy = tu_tensor(ctx2, 3, d423, s24);
  clnn_tensor *s1 = tu_tensor(ctx, 1, d1, s24), *v2 = tu_tensor(ctx, 1, d2, s24);
  clnn_tensor *v24 = tu_tensor(ctx, 1, d24n, s24), *w24 = tu_tensor(ctx, 1, d24n, s24);
  TU_OK(clnn_tensor_fill(x, 0.5f));
  TU_OK(clnn_tensor_fill(ox, 0.5f));

  /* permute */
  const int p[3] = {2, 0, 1}, dup[3] = {2, 0, 0}, neg[3] = {2, -1, 0}, big[3] = {3, 0, 1};
  TU_STATUS(clnn_permute(NULL, p, 1, x, 0, y), IA);
  TU_STATUS(clnn_permute(ctx, NULL, 1, x, 0, y), IA);
  TU_CHECK(strstr(clnn_last_error(), "perm") != NULL, "message names perm: %s", clnn_last_error());
  TU_STATUS(clnn_permute(ctx, p, 1, NULL, 0, y), IA);
  TU_STATUS(clnn_permute(ctx, p, 1, x, 0, NULL), IA);
  TU_STATUS(clnn_permute(ctx, dup, 1, x, 0, y), IA);
  TU_STATUS(clnn_permute(ctx, neg, 1, x, 0, y), IA);
  TU_STATUS(clnn_permute(ctx, big, 1, x, 0, y), IA);
  TU_STATUS(clnn_permute(ctx, p, NAN, x, 0, y), IA);
  TU_STATUS(clnn_permute(ctx, p, 1, x, INFINITY, y), IA);
  TU_STATUS(clnn_permute(ctx, p, 1, y, 0, y), IA);
  TU_STATUS(clnn_permute(ctx, p, 1, x, 0, y432), SM);
  TU_CHECK(strstr(clnn_last_error(), "[4, 2, 3]") && strstr(clnn_last_error(), "[4, 3, 2]"),
           "permute error names the wanted and the given shape: %s", clnn_last_error());
  TU_STATUS(clnn_permute(ctx, p, 1, x, 0, y2d), SM);
  TU_STATUS(clnn_permute(ctx, p, 1, ox, 0, y), CM);
  TU_STATUS(clnn_permute(ctx, p, 1, x, 0, oy), CM);

  /* copy_region */
  size_t sz[3] = {2, 2, 2}, z[3] = {0, 0, 0}, edge[3] = {0, 1, 2}, past[3] = {0, 2, 0};
  size_t huge[3] = {2, 2, (size_t)-1}, hstart[3] = {0, 0, (size_t)-1};
  TU_STATUS(clnn_copy_region(NULL, 3, sz, 1, x, z, 0, y, z), IA);
  TU_STATUS(clnn_copy_region(ctx, 3, NULL, 1, x, z, 0, y, z), IA);
  TU_STATUS(clnn_copy_region(ctx, 3, sz, 1, NULL, z, 0, y, z), IA);
  TU_STATUS(clnn_copy_region(ctx, 3, sz, 1, x, NULL, 0, y, z), IA);
  TU_CHECK(strstr(clnn_last_error(), "src_start") != NULL, "message: %s", clnn_last_error());
  TU_STATUS(clnn_copy_region(ctx, 3, sz, 1, x, z, 0, NULL, z), IA);
  TU_STATUS(clnn_copy_region(ctx, 3, sz, 1, x, z, 0, y, NULL), IA);
  TU_STATUS(clnn_copy_region(ctx, 0, sz, 1, x, z, 0, y, z), IA);
  TU_STATUS(clnn_copy_region(ctx, 6, sz, 1, x, z, 0, y, z), IA);
  TU_STATUS(clnn_copy_region(ctx, 3, sz, NAN, x, z, 0, y, z), IA);
  TU_STATUS(clnn_copy_region(ctx, 3, sz, 1, x, z, NAN, y, z), IA);
  TU_STATUS(clnn_copy_region(ctx, 3, sz, 1, y, z, 0, y, edge), IA);
  TU_STATUS(clnn_copy_region(ctx, 2, sz, 1, x, z, 0, y, z), SM);
  TU_STATUS(clnn_copy_region(ctx, 3, sz, 1, x, z, 0, y2d, z), SM);
  TU_STATUS(clnn_copy_region(ctx, 3, sz, 1, x, past, 0, y, z), SM); /* 2+2 > 3 in src */
  TU_CHECK(strstr(clnn_last_error(), "src") != NULL, "message names src: %s", clnn_last_error());
  TU_STATUS(clnn_copy_region(ctx, 3, sz, 1, x, z, 0, y, edge), SM); /* 2+2 > 3 in dst dim 2 */
  TU_STATUS(clnn_copy_region(ctx, 3, huge, 1, x, z, 0, y, z), SM);   /* size overflows */
  TU_STATUS(clnn_copy_region(ctx, 3, sz, 1, x, hstart, 0, y, z), SM); /* start + size wraps */
  TU_STATUS(clnn_copy_region(ctx, 3, sz, 1, x, z, 0, y, hstart), SM);
  TU_STATUS(clnn_copy_region(ctx, 3, sz, 1, ox, z, 0, y, z), CM);
  TU_STATUS(clnn_copy_region(ctx, 3, sz, 1, x, z, 0, oy, z), CM);

  /* mul_acc */
  TU_STATUS(clnn_mul_acc(NULL, x, x, 0, v24), IA);
  TU_STATUS(clnn_mul_acc(ctx, NULL, x, 0, v24), IA);
  TU_STATUS(clnn_mul_acc(ctx, x, NULL, 0, v24), IA);
  TU_STATUS(clnn_mul_acc(ctx, x, x, 0, NULL), IA);
  TU_STATUS(clnn_mul_acc(ctx, x, x, NAN, v24), IA);
  TU_STATUS(clnn_mul_acc(ctx, x, v2, 0, v24), SM);
  TU_STATUS(clnn_mul_acc(ctx, x, x, 1, v2), SM);
  TU_STATUS(clnn_mul_acc(ctx, ox, x, 0, v24), CM);
  TU_STATUS(clnn_mul_acc(ctx, x, ox, 0, v24), CM);

  /* reduce_sum */
  TU_STATUS(clnn_reduce_sum(NULL, 1, x, 0, s1), IA);
  TU_STATUS(clnn_reduce_sum(ctx, 1, NULL, 0, s1), IA);
  TU_STATUS(clnn_reduce_sum(ctx, 1, x, 0, NULL), IA);
  TU_STATUS(clnn_reduce_sum(ctx, INFINITY, x, 0, s1), IA);
  TU_STATUS(clnn_reduce_sum(ctx, 1, x, NAN, s1), IA);
  TU_STATUS(clnn_reduce_sum(ctx, 1, x, 0, v2), SM);
  TU_CHECK(strstr(clnn_last_error(), "y") && strstr(clnn_last_error(), "[2]"), "message: %s",
           clnn_last_error());
  TU_STATUS(clnn_reduce_sum(ctx, 1, ox, 0, s1), CM);

  /* broadcast_scalar */
  TU_STATUS(clnn_broadcast_scalar(NULL, 1, s1, 0, w24), IA);
  TU_STATUS(clnn_broadcast_scalar(ctx, 1, NULL, 0, w24), IA);
  TU_STATUS(clnn_broadcast_scalar(ctx, 1, s1, 0, NULL), IA);
  TU_STATUS(clnn_broadcast_scalar(ctx, NAN, s1, 0, w24), IA);
  TU_STATUS(clnn_broadcast_scalar(ctx, 1, s1, -INFINITY, w24), IA);
  TU_STATUS(clnn_broadcast_scalar(ctx, 1, v2, 0, w24), SM);
  TU_STATUS(clnn_broadcast_scalar(ctx, 1, ox, 0, w24), CM);

  tu_check_all(y, SENTINEL, "permute / copy_region output after errors");
  tu_check_all(y432, SENTINEL, "permute output after errors (y432)");
  tu_check_all(y2d, SENTINEL, "output after errors (y2d)");
  tu_check_all(oy, SENTINEL, "output after errors (other context)");
  tu_check_all(v24, SENTINEL, "mul_acc output after errors");
  tu_check_all(v2, SENTINEL, "output after errors (v2)");
  tu_check_all(s1, SENTINEL, "reduce_sum output after errors");
  tu_check_all(w24, SENTINEL, "broadcast output after errors");
  clnn_tensor *all[] = {x, y, y432, y2d, ox, oy, s1, v2, v24, w24};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) clnn_tensor_destroy(all[i]);
}

int main(void) {
  ctx = tu_context();
  TU_OK(clnn_context_create(NULL, &ctx2));
  tu_seed(4321);
  test_errors();
  test_permute("cpu shape");
  test_copy_region("cpu shape");
  test_mul_acc_broadcast("cpu shape");
  test_reduce_sum("cpu shape");
  /* The GPU launch shapes (a few elements per work-item, work-groups of 128, a multi-work-item
   * final reduction) here. */
  int saved = ctx->device_class;
  ctx->device_class = CLNN_DEVICE_CLASS_GPU;
  test_permute("gpu shape");
  test_copy_region("gpu shape");
  test_mul_acc_broadcast("gpu shape");
  test_reduce_sum("gpu shape");
  ctx->device_class = saved;
  clnn_context_destroy(ctx2);
  clnn_context_destroy(ctx);
  return tu_finish("test_shape");
}
