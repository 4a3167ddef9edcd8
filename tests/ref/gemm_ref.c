/* tests/ref/gemm_ref.c — plain-C reference GEMM, the independent check for clnn_gemm. */
#include "gemm_ref.h"

void ref_gemm(int ta, int tb, size_t m, size_t n, size_t k, float alpha, const float *a, const float *b,
              float beta, float *c) {
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++) {
      double acc = 0;
      for (size_t p = 0; p < k; p++) {
        double av = ta ? a[p * m + i] : a[i * k + p];
        double bv = tb ? b[j * k + p] : b[p * n + j];
        acc += av * bv;
      }
      double old = beta == 0.0f ? 0.0 : (double)beta * c[i * n + j];
      c[i * n + j] = (float)(alpha * acc + old);
    }
}
