/* src/gemm.c — GEMM: the public clnn_gemm / clnn_gemm_batched over tensors and the raw row-major
 * entry points operators use. This file chooses the path of each call: clnn's own CPU-shaped GEMM
 * (src/gemm/gemm_cpu.c) where the context's tuned parameters ask for it on a CPU-class context, else
 * CLBlast (src/gemm/gemm_clblast.c). Tuned parameters are the context's (ctx->tune, resolved once
 * at context creation by src/gemm/tune_config.c); nothing here reads files. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"
#include "gemm/gemm_paths.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static _Thread_local const char *last_path = "none";
const char *clnn__gemm_last_path(void) { return last_path; }

void clnn__gemm_context_init(clnn_context *ctx) {
  clnn__gemm_clblast_apply_tuned(ctx);
  clnn__log(CLNN_LOG_DEBUG, "tuned parameters for %s: %s", ctx->info.name, ctx->tune.source);
}

void clnn__gemm_context_release(clnn_context *ctx) { clnn__gemm_clblast_release(ctx); }

/* clnn's GEMM runs on CPU-class contexts whose tuned parameters say so (measured faster than
 * CLBlast there), unless the context forces CLBlast. */
static int own_gemm_selected(const clnn_context *ctx) {
  return ctx->tune.own_gemm && ctx->device_class == CLNN_DEVICE_CLASS_CPU;
}

void clnn__gemm_describe(const clnn_context *ctx, char *buf, size_t size) {
  clnn__tune_describe_params(&ctx->tune, own_gemm_selected(ctx), buf, size);
}

static int fits_int(size_t v) { return v <= (size_t)INT_MAX; }

clnn_status clnn__gemm_batched(clnn_context *ctx, int ta, int tb, size_t m, size_t n, size_t k, float alpha,
                               cl_mem a, size_t a_off, size_t lda, size_t a_stride, cl_mem b, size_t b_off,
                               size_t ldb, size_t b_stride, float beta, cl_mem c, size_t c_off, size_t ldc,
                               size_t c_stride, size_t batch) {
  if (m == 0 || n == 0 || batch == 0) return CLNN_SUCCESS;
  if (k == 0) {
    for (size_t i = 0; i < batch; i++) {
      clnn_status s = clnn__gemm_scale_c(ctx, m, n, beta, c, c_off + i * c_stride, ldc);
      if (s != CLNN_SUCCESS) return s;
    }
    return CLNN_SUCCESS;
  }
  /* clnn's kernels take int sizes: CLBlast takes what does not fit */
  if (!ctx->force_clblast && own_gemm_selected(ctx) && fits_int(m) && fits_int(n) && fits_int(k) &&
      fits_int(lda) && fits_int(ldb) && fits_int(ldc) && fits_int(batch)) {
    last_path = "clnn-cpu";
    return clnn__gemm_cpu(ctx, ta, tb, m, n, k, alpha, a, a_off, lda, a_stride, b, b_off, ldb, b_stride, beta, c,
                          c_off, ldc, c_stride, batch);
  }
  last_path = "clblast";
  return clnn__gemm_clblast(ctx, ta, tb, m, n, k, alpha, a, a_off, lda, a_stride, b, b_off, ldb, b_stride, beta, c,
                            c_off, ldc, c_stride, batch);
}

int clnn__gemm_kseg_available(const clnn_context *ctx) { return !ctx->force_clblast && own_gemm_selected(ctx); }

size_t clnn__gemm_cpu_panel(const clnn_context *ctx) {
  if (!clnn__gemm_kseg_available(ctx)) return 0;
  /* the defaults of src/gemm/gemm_cpu.c where the tuned parameters leave them unset */
  return (size_t)(ctx->tune.vw ? ctx->tune.vw : 16) * (size_t)(ctx->tune.nv ? ctx->tune.nv : 2);
}

clnn_status clnn__gemm_kseg(clnn_context *ctx, int ta, int tb, size_t m, size_t n, size_t k, size_t kseg, float alpha,
                            cl_mem a, size_t a_off, size_t lda, size_t a_stride, size_t a_ks, cl_mem b, size_t b_off,
                            size_t ldb, size_t b_stride, size_t b_ks, float beta, cl_mem c, size_t c_off, size_t ldc,
                            size_t c_stride, size_t batch) {
  if (kseg >= k)
    return clnn__gemm_batched(ctx, ta, tb, m, n, k, alpha, a, a_off, lda, a_stride, b, b_off, ldb, b_stride, beta,
                              c, c_off, ldc, c_stride, batch);
  if (!clnn__gemm_kseg_available(ctx))
    return clnn__error(CLNN_ERROR_UNSUPPORTED, "gemm: a segmented reduction needs clnn's CPU GEMM");
  if (m == 0 || n == 0 || batch == 0) return CLNN_SUCCESS;
  if (kseg == 0 || !fits_int(m) || !fits_int(n) || !fits_int(k) || !fits_int(lda) || !fits_int(ldb) ||
      !fits_int(ldc) || !fits_int(batch))
    return clnn__error(CLNN_ERROR_UNSUPPORTED, "gemm: segmented reduction sizes do not fit an int");
  last_path = "clnn-cpu";
  return clnn__gemm_cpu_kseg(ctx, ta, tb, m, n, k, kseg, alpha, a, a_off, lda, a_stride, a_ks, b, b_off, ldb,
                             b_stride, b_ks, beta, c, c_off, ldc, c_stride, batch);
}

clnn_status clnn__gemm(clnn_context *ctx, int ta, int tb, size_t m, size_t n, size_t k, float alpha, cl_mem a,
                       size_t a_off, size_t lda, cl_mem b, size_t b_off, size_t ldb, float beta, cl_mem c,
                       size_t c_off, size_t ldc) {
  return clnn__gemm_batched(ctx, ta, tb, m, n, k, alpha, a, a_off, lda, 0, b, b_off, ldb, 0, beta, c, c_off, ldc,
                            0, 1);
}

/* Shared checks of the public entry points: rows/cols of op(a), op(b), c in the last two dims. */
static clnn_status check_gemm(clnn_context *ctx, int ta, int tb, float alpha, float beta, const clnn_tensor *a,
                              const clnn_tensor *b, const clnn_tensor *c, int nd, const char *fn, size_t *m,
                              size_t *n, size_t *k) {
  clnn_status s;
  if ((s = clnn__check_tensor(ctx, a, "a")) || (s = clnn__check_tensor(ctx, b, "b")) ||
      (s = clnn__check_tensor(ctx, c, "c")))
    return clnn__error(s, "%s: %s", fn, clnn_last_error());
  if (!isfinite(alpha) || !isfinite(beta))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: alpha and beta must be finite", fn);
  if (a->ndim != nd || b->ndim != nd || c->ndim != nd)
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: a, b and c must be %d-D (got %d-D, %d-D, %d-D)", fn, nd,
                       a->ndim, b->ndim, c->ndim);
  int o = nd - 2;
  size_t am = ta ? a->dims[o + 1] : a->dims[o], ak = ta ? a->dims[o] : a->dims[o + 1];
  size_t bk = tb ? b->dims[o + 1] : b->dims[o], bn = tb ? b->dims[o] : b->dims[o + 1];
  char sa[96], sb[96], sc[96];
  if (ak != bk || c->dims[o] != am || c->dims[o + 1] != bn || (nd == 3 && (a->dims[0] != b->dims[0] || a->dims[0] != c->dims[0])))
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: shapes do not fit: op(a) from a%s%s, op(b) from b%s%s, c%s",
                       fn, clnn__dims_str(a, sa, sizeof sa), ta ? "^T" : "", clnn__dims_str(b, sb, sizeof sb),
                       tb ? "^T" : "", clnn__dims_str(c, sc, sizeof sc));
  /* c is written while a and b are still read (tiles, packing): no in-place GEMM. */
  if ((s = clnn__check_alias(fn, c, "c", a, "a")) || (s = clnn__check_alias(fn, c, "c", b, "b"))) return s;
  *m = am;
  *n = bn;
  *k = ak;
  return CLNN_SUCCESS;
}

clnn_status clnn_gemm(clnn_context *ctx, int trans_a, int trans_b, float alpha, const clnn_tensor *a,
                      const clnn_tensor *b, float beta, clnn_tensor *c) {
  size_t m, n, k;
  clnn_status s = check_gemm(ctx, trans_a, trans_b, alpha, beta, a, b, c, 2, "clnn_gemm", &m, &n, &k);
  if (s != CLNN_SUCCESS) return s;
  return clnn__gemm(ctx, trans_a, trans_b, m, n, k, alpha, a->mem, 0, a->dims[1], b->mem, 0, b->dims[1], beta,
                    c->mem, 0, c->dims[1]);
}

clnn_status clnn_gemm_batched(clnn_context *ctx, int trans_a, int trans_b, float alpha, const clnn_tensor *a,
                              const clnn_tensor *b, float beta, clnn_tensor *c) {
  size_t m, n, k;
  clnn_status s = check_gemm(ctx, trans_a, trans_b, alpha, beta, a, b, c, 3, "clnn_gemm_batched", &m, &n, &k);
  if (s != CLNN_SUCCESS) return s;
  return clnn__gemm_batched(ctx, trans_a, trans_b, m, n, k, alpha, a->mem, 0, a->dims[2], a->dims[1] * a->dims[2],
                            b->mem, 0, b->dims[2], b->dims[1] * b->dims[2], beta, c->mem, 0, c->dims[2],
                            c->dims[1] * c->dims[2], a->dims[0]);
}
