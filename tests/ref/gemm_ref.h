/* tests/ref/gemm_ref.h — plain-C reference GEMM (row-major, double accumulation). */
#ifndef CLNN_GEMM_REF_H
#define CLNN_GEMM_REF_H
#include <stddef.h>
/* c[m x n] = alpha * op(a) * op(b) + beta * c; a is m x k (k x m if ta), b is k x n (n x k if tb). */
void ref_gemm(int ta, int tb, size_t m, size_t n, size_t k, float alpha, const float *a, const float *b,
              float beta, float *c);
#endif
