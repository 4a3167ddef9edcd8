/* src/gemm/gemm_paths.h — the two GEMM implementations src/gemm.c chooses between, and CLBlast's
 * per-context setup. Offsets and leading dimensions in floats, row-major, as in src/internal.h.
 * Both read the context's tuned parameters (ctx->tune, resolved at context creation); neither
 * resolves or reads tuning files. */
#ifndef CLNN_GEMM_PATHS_H
#define CLNN_GEMM_PATHS_H

#include "internal.h"

/* clnn's own CPU-shaped GEMM (src/gemm/gemm_cpu.c, cl/gemm_cpu.cl). The caller has checked that
 * k > 0 and that every size and leading dimension fits an int. */
clnn_status clnn__gemm_cpu(clnn_context *ctx, int ta, int tb, size_t m, size_t n, size_t k, float alpha, cl_mem a,
                           size_t a_off, size_t lda, size_t a_stride, cl_mem b, size_t b_off, size_t ldb,
                           size_t b_stride, float beta, cl_mem c, size_t c_off, size_t ldc, size_t c_stride,
                           size_t batch);

/* The same over a reduction in segments (see clnn__gemm_kseg in src/internal.h); kseg = k with
 * a_ks = b_ks = 0 is clnn__gemm_cpu. */
clnn_status clnn__gemm_cpu_kseg(clnn_context *ctx, int ta, int tb, size_t m, size_t n, size_t k, size_t kseg,
                                float alpha, cl_mem a, size_t a_off, size_t lda, size_t a_stride, size_t a_ks,
                                cl_mem b, size_t b_off, size_t ldb, size_t b_stride, size_t b_ks, float beta,
                                cl_mem c, size_t c_off, size_t ldc, size_t c_stride, size_t batch);

/* CLBlast's SGEMM (src/gemm/gemm_clblast.c, the only file that includes CLBlast); k > 0. */
clnn_status clnn__gemm_clblast(clnn_context *ctx, int ta, int tb, size_t m, size_t n, size_t k, float alpha,
                               cl_mem a, size_t a_off, size_t lda, size_t a_stride, cl_mem b, size_t b_off,
                               size_t ldb, size_t b_stride, float beta, cl_mem c, size_t c_off, size_t ldc,
                               size_t c_stride, size_t batch);
/* C = beta * C for one m x n matrix (a GEMM with k = 0, which CLBlast rejects). */
clnn_status clnn__gemm_scale_c(clnn_context *ctx, size_t m, size_t n, float beta, cl_mem c, size_t c_off,
                               size_t ldc);
/* CLBlastOverrideParameters for single precision on ctx's device. CLBlast keeps overrides per
 * device for the whole process, so the last context created on a device decides them for every
 * context on that device. */
clnn_status clnn__gemm_clblast_override(clnn_context *ctx, const char *kernel, size_t count,
                                        const char **names, const size_t *values);
/* Applies the CLBlast overrides of ctx->tune (logs the ones CLBlast refuses). */
void clnn__gemm_clblast_apply_tuned(clnn_context *ctx);
/* Drops CLBlast's process-wide program cache when ctx used CLBlast (see the file). */
void clnn__gemm_clblast_release(clnn_context *ctx);

#endif /* CLNN_GEMM_PATHS_H */
