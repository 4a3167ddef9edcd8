/* tests/test_gemm.c — clnn_gemm and clnn_gemm_batched against the plain-C reference: square, thin,
 * odd and batched shapes, every transpose, alpha/beta; and the error paths. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gemm_ref.h"
#include "test_util.h"

static void check_case(clnn_context *ctx, int ta, int tb, size_t m, size_t n, size_t k, size_t batch,
                       float alpha, float beta) {
  size_t an = m * k, bn = k * n, cn = m * n;
  float *a = malloc(sizeof(float) * an * batch), *b = malloc(sizeof(float) * bn * batch);
  float *c = malloc(sizeof(float) * cn * batch), *want = malloc(sizeof(float) * cn * batch);
  tu_fill_uniform(a, an * batch, -1, 1);
  tu_fill_uniform(b, bn * batch, -1, 1);
  tu_fill_uniform(c, cn * batch, -1, 1);
  memcpy(want, c, sizeof(float) * cn * batch);
  for (size_t i = 0; i < batch; i++)
    ref_gemm(ta, tb, m, n, k, alpha, a + i * an, b + i * bn, beta, want + i * cn);
  int nd = batch > 1 ? 3 : 2, o = nd - 2;
  size_t ad[3] = {batch}, bd[3] = {batch}, cd[3] = {batch};
  ad[o] = ta ? k : m; ad[o + 1] = ta ? m : k;
  bd[o] = tb ? n : k; bd[o + 1] = tb ? k : n;
  cd[o] = m; cd[o + 1] = n;
  clnn_tensor *ta_ = tu_tensor(ctx, nd, ad, a), *tb_ = tu_tensor(ctx, nd, bd, b), *tc = tu_tensor(ctx, nd, cd, c);
  if (batch > 1) TU_OK(clnn_gemm_batched(ctx, ta, tb, alpha, ta_, tb_, beta, tc));
  else TU_OK(clnn_gemm(ctx, ta, tb, alpha, ta_, tb_, beta, tc));
  float *got = tu_read(tc);
  char what[128];
  snprintf(what, sizeof what, "gemm %c%c %zux%zux%zu batch %zu alpha %g beta %g", ta ? 'T' : 'N', tb ? 'T' : 'N',
           m, n, k, batch, alpha, beta);
  tu_allclose(got, want, cn * batch, 1e-4f, 1e-4f * (float)k, what);
  free(got); free(a); free(b); free(c); free(want);
  clnn_tensor_destroy(ta_); clnn_tensor_destroy(tb_); clnn_tensor_destroy(tc);
}

int main(void) {
  clnn_context *ctx = tu_context();
  tu_seed(1);
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++) {
      check_case(ctx, ta, tb, 37, 129, 65, 1, 1.0f, 0.0f); /* odd */
      check_case(ctx, ta, tb, 64, 64, 64, 1, 0.5f, 1.0f);  /* square, accumulate */
    }
  check_case(ctx, 0, 0, 1, 300, 17, 1, 1.0f, 0.0f);   /* thin */
  check_case(ctx, 0, 1, 300, 1, 17, 1, 2.0f, -1.0f);  /* thin */
  check_case(ctx, 0, 0, 128, 7, 256, 1, 1.0f, 0.0f);
  check_case(ctx, 0, 0, 13, 11, 9, 5, 1.0f, 0.0f);    /* batched */
  check_case(ctx, 1, 1, 8, 33, 20, 3, 1.5f, 0.5f);    /* batched, transposed */

  /* beta = 0 overwrites NaN garbage in C */
  {
    size_t d[2] = {3, 3};
    float a[9], nan9[9], want[9];
    tu_fill_uniform(a, 9, -1, 1);
    for (int i = 0; i < 9; i++) nan9[i] = NAN;
    ref_gemm(0, 0, 3, 3, 3, 1.0f, a, a, 0.0f, want);
    clnn_tensor *x = tu_tensor(ctx, 2, d, a), *c = tu_tensor(ctx, 2, d, nan9);
    TU_OK(clnn_gemm(ctx, 0, 0, 1.0f, x, x, 0.0f, c));
    float *got = tu_read(c);
    tu_allclose(got, want, 9, 1e-5f, 1e-5f, "beta=0 overwrites NaN");
    free(got);
    clnn_tensor_destroy(x);
    clnn_tensor_destroy(c);
  }

  /* error paths: output unchanged */
  {
    size_t d23[2] = {2, 3}, d33[2] = {3, 3}, d3[3] = {1, 3, 3};
    float sentinel[9];
    for (int i = 0; i < 9; i++) sentinel[i] = 42.0f;
    clnn_tensor *a = tu_tensor(ctx, 2, d23, sentinel), *c = tu_tensor(ctx, 2, d33, sentinel);
    clnn_tensor *b3 = tu_tensor(ctx, 3, d3, sentinel);
    TU_STATUS(clnn_gemm(ctx, 0, 0, 1.0f, a, a, 0.0f, c), CLNN_ERROR_SHAPE_MISMATCH); /* 2x3 * 2x3 */
    TU_STATUS(clnn_gemm(ctx, 0, 0, 1.0f, NULL, a, 0.0f, c), CLNN_ERROR_INVALID_ARGUMENT);
    TU_STATUS(clnn_gemm(NULL, 0, 0, 1.0f, a, a, 0.0f, c), CLNN_ERROR_INVALID_ARGUMENT);
    TU_STATUS(clnn_gemm(ctx, 0, 0, NAN, a, a, 0.0f, c), CLNN_ERROR_INVALID_ARGUMENT);
    TU_STATUS(clnn_gemm(ctx, 0, 0, 1.0f, b3, b3, 0.0f, c), CLNN_ERROR_SHAPE_MISMATCH);
    TU_STATUS(clnn_gemm_batched(ctx, 0, 0, 1.0f, a, a, 0.0f, c), CLNN_ERROR_SHAPE_MISMATCH);
    TU_CHECK(strstr(clnn_last_error(), "3-D") != NULL, "message names the expected rank: %s", clnn_last_error());
    clnn_context *other = NULL;
    TU_OK(clnn_context_create(NULL, &other));
    size_t d2[2] = {3, 2};
    clnn_tensor *foreign = tu_tensor(other, 2, d2, sentinel);
    TU_STATUS(clnn_gemm(ctx, 0, 0, 1.0f, foreign, foreign, 0.0f, c), CLNN_ERROR_CONTEXT_MISMATCH);
    clnn_tensor_destroy(foreign);
    clnn_context_destroy(other);
    float *got = tu_read(c);
    int unchanged = 1;
    for (int i = 0; i < 9; i++) unchanged &= got[i] == 42.0f;
    TU_CHECK(unchanged, "failed calls left c unchanged");
    free(got);
    clnn_tensor_destroy(a);
    clnn_tensor_destroy(b3);
    clnn_tensor_destroy(c);
  }
  clnn_context_destroy(ctx);
  return tu_finish("test_gemm");
}
