/* src/ops/elementwise.c — host side of the elementwise basics (cl/elementwise.cl): clnn_add,
 * clnn_mul, clnn_scale, clnn_axpy and clnn_bias_add. Validates every argument, then launches one
 * chunked 1-D kernel. */
#include "internal.h"

#include <math.h>

/* The kernels this file launches. */
static clnn__kernel_ref k_ew_add = CLNN_KERNEL_REF("elementwise", "ew_add");
static clnn__kernel_ref k_ew_axpy = CLNN_KERNEL_REF("elementwise", "ew_axpy");
static clnn__kernel_ref k_ew_bias_add = CLNN_KERNEL_REF("elementwise", "ew_bias_add");
static clnn__kernel_ref k_ew_mul = CLNN_KERNEL_REF("elementwise", "ew_mul");
static clnn__kernel_ref k_ew_scale = CLNN_KERNEL_REF("elementwise", "ew_scale");

static clnn_status ew_binary(clnn_context *ctx, const char *fn, clnn__kernel_ref *kernel,
                             const clnn_tensor *a, const clnn_tensor *b, clnn_tensor *y) {
  clnn_status s;
  if ((s = clnn__check_tensor(ctx, a, "a")) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_tensor(ctx, b, "b")) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_tensor(ctx, y, "y")) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_same_numel(fn, b, "b", a, "a")) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_same_numel(fn, y, "y", a, "a")) != CLNN_SUCCESS) return s;
  const clnn__launch l = clnn__launch_1d(ctx, kernel, a->numel, CLNN_LAUNCH_ELEMENTWISE(4));
  return CLNN_RUN(ctx, kernel, 1, &l.global, &l.local, CLNN_ARG_MEM(a->mem),
                  CLNN_ARG_MEM(b->mem), CLNN_ARG_MEM(y->mem), CLNN_ARG_ULONG(a->numel),
                  CLNN_ARG_ULONG(l.chunk));
}

clnn_status clnn_add(clnn_context *ctx, const clnn_tensor *a, const clnn_tensor *b,
                     clnn_tensor *y) {
  return ew_binary(ctx, "clnn_add", &k_ew_add, a, b, y);
}

clnn_status clnn_mul(clnn_context *ctx, const clnn_tensor *a, const clnn_tensor *b,
                     clnn_tensor *y) {
  return ew_binary(ctx, "clnn_mul", &k_ew_mul, a, b, y);
}

clnn_status clnn_scale(clnn_context *ctx, float alpha, clnn_tensor *x) {
  clnn_status s;
  if ((s = clnn__check_tensor(ctx, x, "x")) != CLNN_SUCCESS) return s;
  if (!isfinite(alpha))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_scale: alpha is %g; it must be finite",
                       (double)alpha);
  const clnn__launch l = clnn__launch_1d(ctx, &k_ew_scale, x->numel, CLNN_LAUNCH_ELEMENTWISE(4));
  return CLNN_RUN(ctx, &k_ew_scale, 1, &l.global, &l.local, CLNN_ARG_MEM(x->mem),
                  CLNN_ARG_FLOAT(alpha), CLNN_ARG_ULONG(x->numel), CLNN_ARG_ULONG(l.chunk));
}

clnn_status clnn_axpy(clnn_context *ctx, float alpha, const clnn_tensor *x, clnn_tensor *y) {
  clnn_status s;
  if ((s = clnn__check_tensor(ctx, x, "x")) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_tensor(ctx, y, "y")) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_same_numel("clnn_axpy", y, "y", x, "x")) != CLNN_SUCCESS) return s;
  if (!isfinite(alpha))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_axpy: alpha is %g; it must be finite",
                       (double)alpha);
  const clnn__launch l = clnn__launch_1d(ctx, &k_ew_axpy, x->numel, CLNN_LAUNCH_ELEMENTWISE(4));
  return CLNN_RUN(ctx, &k_ew_axpy, 1, &l.global, &l.local, CLNN_ARG_MEM(x->mem),
                  CLNN_ARG_MEM(y->mem), CLNN_ARG_FLOAT(alpha), CLNN_ARG_ULONG(x->numel),
                  CLNN_ARG_ULONG(l.chunk));
}

clnn_status clnn_bias_add(clnn_context *ctx, const clnn_tensor *bias, clnn_tensor *y) {
  clnn_status s;
  if ((s = clnn__check_tensor(ctx, bias, "bias")) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_tensor(ctx, y, "y")) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_alias("clnn_bias_add", y, "y", bias, "bias")) != CLNN_SUCCESS) return s;
  char sy[96], sb[96];
  if (y->ndim < 2)
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH,
                       "clnn_bias_add: y has shape %s; it must have 2 to 5 dimensions with the "
                       "channels on axis 1",
                       clnn__dims_str(y, sy, sizeof sy));
  if (y->dims[1] != bias->numel)
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH,
                       "clnn_bias_add: y has shape %s (%zu channels on axis 1) but bias has shape "
                       "%s (%zu elements)",
                       clnn__dims_str(y, sy, sizeof sy), y->dims[1],
                       clnn__dims_str(bias, sb, sizeof sb), bias->numel);
  if (bias->numel > UINT32_MAX)
    return clnn__error(CLNN_ERROR_UNSUPPORTED, "clnn_bias_add: %zu channels is more than 2^32-1",
                       bias->numel);
  size_t inner = 1;
  for (int d = 2; d < y->ndim; d++) inner *= y->dims[d];
  const clnn__launch l = clnn__launch_1d(ctx, &k_ew_bias_add, y->numel, CLNN_LAUNCH_ELEMENTWISE(4));
  return CLNN_RUN(ctx, &k_ew_bias_add, 1, &l.global, &l.local, CLNN_ARG_MEM(bias->mem),
                  CLNN_ARG_MEM(y->mem), CLNN_ARG_ULONG(y->numel), CLNN_ARG_ULONG(l.chunk),
                  CLNN_ARG_ULONG(inner), CLNN_ARG_UINT(bias->numel));
}
