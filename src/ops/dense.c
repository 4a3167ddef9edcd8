/* src/ops/dense.c — fully connected layers: y = x·Wᵀ + b and its gradients. The matrix products
 * go through clnn__gemm (CLBlast, or clnn's CPU GEMM); cl/dense.cl adds the bias after the
 * forward GEMM and computes the bias gradient as deterministic column sums of dy. Every argument
 * is validated before anything is enqueued, so a failing call writes nothing. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

/* The kernels this file launches. */
static clnn__kernel_ref k_dense_bias_add = CLNN_KERNEL_REF("dense", "dense_bias_add");
static clnn__kernel_ref k_dense_bias_grad = CLNN_KERNEL_REF("dense", "dense_bias_grad");

static clnn_status check_2d(const char *fn, const clnn_tensor *t, const char *name,
                            const char *layout) {
  if (t->ndim == 2) return CLNN_SUCCESS;
  char a[128];
  return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: %s has shape %s; it must be 2-D %s", fn, name,
                     clnn__dims_str(t, a, sizeof a), layout);
}

/* t must be exactly `dims`; the message names t's shape, the expected one and where the
 * expectation comes from. */
static clnn_status check_shape(const char *fn, const clnn_tensor *t, const char *name, int ndim,
                               const size_t *dims, const char *why) {
  int same = t->ndim == ndim;
  for (int i = 0; same && i < ndim; i++) same = t->dims[i] == dims[i];
  if (same) return CLNN_SUCCESS;
  char a[128], b[128];
  return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: %s has shape %s, expected %s (%s)", fn, name,
                     clnn__dims_str(t, a, sizeof a), clnn__dims_str_raw(ndim, dims, b, sizeof b),
                     why);
}

clnn_status clnn_dense_forward(clnn_context *ctx, const clnn_tensor *x, const clnn_tensor *w,
                               const clnn_tensor *b, clnn_tensor *y) {
  static const char fn[] = "clnn_dense_forward";
  clnn_status s;
  if ((s = clnn__check_tensor_in(fn, ctx, x, "x")) || (s = clnn__check_tensor_in(fn, ctx, w, "w")) ||
      (b && (s = clnn__check_tensor_in(fn, ctx, b, "b"))) || (s = clnn__check_tensor_in(fn, ctx, y, "y")))
    return s;
  if ((s = check_2d(fn, x, "x", "[N, I]")) || (s = check_2d(fn, w, "w", "[O, I]"))) return s;
  size_t n = x->dims[0], in = x->dims[1], out = w->dims[0];
  char xs[128];
  clnn__dims_str(x, xs, sizeof xs);
  char why_y[192];
  if (w->dims[1] != in) {
    char ws[128];
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: w has shape %s but x has shape %s; w must "
                       "be [O, %zu] (w [O, I], x [N, I])", fn, clnn__dims_str(w, ws, sizeof ws), xs, in);
  }
  snprintf(why_y, sizeof why_y, "[N, O] from x %s and w [%zu, %zu]", xs, out, in);
  size_t ydims[2] = {n, out};
  if ((s = check_shape(fn, y, "y", 2, ydims, why_y))) return s;
  if (b) {
    size_t bdims[1] = {out};
    if ((s = check_shape(fn, b, "b", 1, bdims, "[O], O from w [O, I]"))) return s;
  }
  if ((s = clnn__check_alias(fn, y, "y", x, "x")) || (s = clnn__check_alias(fn, y, "y", w, "w")) ||
      (s = clnn__check_alias(fn, y, "y", b, "b")))
    return s;

  s = clnn__gemm(ctx, 0, 1, n, out, in, 1.0f, x->mem, 0, in, w->mem, 0, in, 0.0f, y->mem, 0, out);
  if (s != CLNN_SUCCESS || !b) return s;
  /* a fixed work-group shape: PoCL compiles a kernel once per local size, and one it picks itself
   * follows the global size, so every new layer width would compile it again */
  size_t global[2] = {out, n}, local[2] = {clnn__local_pow2(ctx, &k_dense_bias_add, 64, 64), 1};
  return CLNN_RUN(ctx, &k_dense_bias_add, 2, global, local, CLNN_ARG_MEM(y->mem),
                  CLNN_ARG_MEM(b->mem), CLNN_ARG_ULONG(n), CLNN_ARG_ULONG(out));
}

clnn_status clnn_dense_backward_data(clnn_context *ctx, const clnn_tensor *dy, const clnn_tensor *w,
                                     float beta, clnn_tensor *dx) {
  static const char fn[] = "clnn_dense_backward_data";
  clnn_status s;
  if ((s = clnn__check_tensor_in(fn, ctx, dy, "dy")) || (s = clnn__check_tensor_in(fn, ctx, w, "w")) ||
      (s = clnn__check_tensor_in(fn, ctx, dx, "dx")))
    return s;
  if ((s = clnn__check_beta(beta))) return clnn__prefix_error(fn, s);
  if ((s = check_2d(fn, dy, "dy", "[N, O]")) || (s = check_2d(fn, w, "w", "[O, I]"))) return s;
  size_t n = dy->dims[0], out = dy->dims[1], in = w->dims[1];
  if (w->dims[0] != out) {
    char ws[128], ds[128];
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: w has shape %s but dy has shape %s; w's "
                       "first dimension must be O = %zu (dy [N, O], w [O, I])", fn,
                       clnn__dims_str(w, ws, sizeof ws), clnn__dims_str(dy, ds, sizeof ds), out);
  }
  char why[192], ds[128], ws[128];
  snprintf(why, sizeof why, "[N, I] from dy %s and w %s", clnn__dims_str(dy, ds, sizeof ds),
           clnn__dims_str(w, ws, sizeof ws));
  size_t dxdims[2] = {n, in};
  if ((s = check_shape(fn, dx, "dx", 2, dxdims, why))) return s;
  if ((s = clnn__check_alias(fn, dx, "dx", dy, "dy")) || (s = clnn__check_alias(fn, dx, "dx", w, "w")))
    return s;
  return clnn__gemm(ctx, 0, 0, n, in, out, 1.0f, dy->mem, 0, out, w->mem, 0, in, beta, dx->mem, 0,
                    in);
}

/* Launch shape of the bias-gradient column sums: GPUs get 32 columns x 8 row lanes per
 * work-group (coalesced row reads, tree over the lanes); CPUs get 16 columns x 1 lane (the
 * group's first work-item walks the rows in order, its 16 columns as one vector). */
static void bias_grad_plan(clnn_context *ctx, size_t local[2]) {
  if (ctx->device_class == CLNN_DEVICE_CLASS_CPU) {
    local[0] = 16;
    local[1] = 1;
  } else {
    local[0] = 32;
    local[1] = 8;
  }
  size_t max_wg = clnn__kernel_wg_limit(ctx, &k_dense_bias_grad); /* the kernel's limit */
  while (local[0] * local[1] > max_wg && local[1] > 1) local[1] /= 2;
  while (local[0] * local[1] > max_wg && local[0] > 1) local[0] /= 2;
}

clnn__kernel_ref *clnn__bias_grad_kernel(void) { return &k_dense_bias_grad; }

/* db[cols] = beta*db + column sums of dy[rows, cols]; arguments already checked. */
clnn_status clnn__bias_grad(clnn_context *ctx, cl_mem dy, size_t rows, size_t cols, float beta,
                            cl_mem db) {
  size_t local[2];
  bias_grad_plan(ctx, local);
  size_t global[2] = {(cols + local[0] - 1) / local[0] * local[0], local[1]};
  return CLNN_RUN(ctx, &k_dense_bias_grad, 2, global, local, CLNN_ARG_MEM(dy),
                  CLNN_ARG_MEM(db), CLNN_ARG_ULONG(rows), CLNN_ARG_ULONG(cols),
                  CLNN_ARG_FLOAT(beta), CLNN_ARG_LOCAL(local[0] * local[1] * sizeof(float)));
}

clnn_status clnn_dense_backward_weights(clnn_context *ctx, const clnn_tensor *x,
                                        const clnn_tensor *dy, float beta, clnn_tensor *dw,
                                        clnn_tensor *db) {
  static const char fn[] = "clnn_dense_backward_weights";
  clnn_status s;
  if ((s = clnn__check_tensor_in(fn, ctx, x, "x")) || (s = clnn__check_tensor_in(fn, ctx, dy, "dy")) ||
      (s = clnn__check_tensor_in(fn, ctx, dw, "dw")) || (db && (s = clnn__check_tensor_in(fn, ctx, db, "db"))))
    return s;
  if ((s = clnn__check_beta(beta))) return clnn__prefix_error(fn, s);
  if ((s = check_2d(fn, x, "x", "[N, I]")) || (s = check_2d(fn, dy, "dy", "[N, O]"))) return s;
  size_t n = x->dims[0], in = x->dims[1], out = dy->dims[1];
  char xs[128], ds[128];
  clnn__dims_str(x, xs, sizeof xs);
  clnn__dims_str(dy, ds, sizeof ds);
  if (dy->dims[0] != n)
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: x has shape %s but dy has shape %s; their "
                       "first dimensions (the batch N) must be equal", fn, xs, ds);
  char why[320];
  snprintf(why, sizeof why, "[O, I] from dy %s and x %s", ds, xs);
  size_t dwdims[2] = {out, in};
  if ((s = check_shape(fn, dw, "dw", 2, dwdims, why))) return s;
  if (db) {
    size_t dbdims[1] = {out};
    snprintf(why, sizeof why, "[O] from dy %s", ds);
    if ((s = check_shape(fn, db, "db", 1, dbdims, why))) return s;
  }
  if ((s = clnn__check_alias(fn, dw, "dw", x, "x")) || (s = clnn__check_alias(fn, dw, "dw", dy, "dy")) ||
      (s = clnn__check_alias(fn, db, "db", x, "x")) || (s = clnn__check_alias(fn, db, "db", dy, "dy")) ||
      (s = clnn__check_alias(fn, db, "db", dw, "dw")))
    return s;
  s = clnn__gemm(ctx, 1, 0, out, in, n, 1.0f, dy->mem, 0, out, x->mem, 0, in, beta, dw->mem, 0, in);
  if (s != CLNN_SUCCESS || !db) return s;
  return clnn__bias_grad(ctx, dy->mem, n, out, beta, db->mem);
}
