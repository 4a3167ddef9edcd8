/* src/ops/elementwise.c — host side of the elementwise basics (cl/elementwise.cl): clnn_add,
 * clnn_mul, clnn_scale, clnn_axpy and clnn_bias_add. Validates every argument, then launches one
 * chunked 1-D kernel. */
#include "internal.h"

#include <math.h>

/* Chunked 1-D launch shape: CPU devices get a few large contiguous chunks per compute unit and
 * work-groups of one work-item (so PoCL spreads them over cores); GPUs get one float4 per
 * work-item in work-groups of 128. */
static void ew_plan(const clnn_context *ctx, size_t n, size_t *chunk, size_t *global,
                    size_t *local) {
  if (ctx->device_class == CLNN_DEVICE_CLASS_CPU) {
    size_t cu = ctx->info.compute_units ? ctx->info.compute_units : 1;
    size_t items = cu * 4;
    size_t c = (n + items - 1) / items;
    c = (c + 63) & ~(size_t)63;
    if (c < 4096) c = 4096;
    *chunk = c;
    *local = 1;
  } else {
    *chunk = 4;
    *local = 128;
    if (ctx->info.max_work_group_size && *local > ctx->info.max_work_group_size)
      *local = ctx->info.max_work_group_size;
  }
  *global = (n + *chunk - 1) / *chunk;
  if (*global == 0) *global = 1;
}

static clnn_status ew_binary(clnn_context *ctx, const char *fn, const char *kernel,
                             const clnn_tensor *a, const clnn_tensor *b, clnn_tensor *y) {
  clnn_status s;
  if ((s = clnn__check_tensor(ctx, a, "a")) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_tensor(ctx, b, "b")) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_tensor(ctx, y, "y")) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_same_numel(fn, b, "b", a, "a")) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_same_numel(fn, y, "y", a, "a")) != CLNN_SUCCESS) return s;
  size_t chunk, global, local;
  ew_plan(ctx, a->numel, &chunk, &global, &local);
  return CLNN_RUN(ctx, "elementwise", kernel, 1, &global, &local, CLNN_ARG_MEM(a->mem),
                  CLNN_ARG_MEM(b->mem), CLNN_ARG_MEM(y->mem), CLNN_ARG_ULONG(a->numel),
                  CLNN_ARG_ULONG(chunk));
}

clnn_status clnn_add(clnn_context *ctx, const clnn_tensor *a, const clnn_tensor *b,
                     clnn_tensor *y) {
  return ew_binary(ctx, "clnn_add", "ew_add", a, b, y);
}

clnn_status clnn_mul(clnn_context *ctx, const clnn_tensor *a, const clnn_tensor *b,
                     clnn_tensor *y) {
  return ew_binary(ctx, "clnn_mul", "ew_mul", a, b, y);
}

clnn_status clnn_scale(clnn_context *ctx, float alpha, clnn_tensor *x) {
  clnn_status s;
  if ((s = clnn__check_tensor(ctx, x, "x")) != CLNN_SUCCESS) return s;
  if (!isfinite(alpha))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_scale: alpha is %g; it must be finite",
                       (double)alpha);
  size_t chunk, global, local;
  ew_plan(ctx, x->numel, &chunk, &global, &local);
  return CLNN_RUN(ctx, "elementwise", "ew_scale", 1, &global, &local, CLNN_ARG_MEM(x->mem),
                  CLNN_ARG_FLOAT(alpha), CLNN_ARG_ULONG(x->numel), CLNN_ARG_ULONG(chunk));
}

clnn_status clnn_axpy(clnn_context *ctx, float alpha, const clnn_tensor *x, clnn_tensor *y) {
  clnn_status s;
  if ((s = clnn__check_tensor(ctx, x, "x")) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_tensor(ctx, y, "y")) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_same_numel("clnn_axpy", y, "y", x, "x")) != CLNN_SUCCESS) return s;
  if (!isfinite(alpha))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_axpy: alpha is %g; it must be finite",
                       (double)alpha);
  size_t chunk, global, local;
  ew_plan(ctx, x->numel, &chunk, &global, &local);
  return CLNN_RUN(ctx, "elementwise", "ew_axpy", 1, &global, &local, CLNN_ARG_MEM(x->mem),
                  CLNN_ARG_MEM(y->mem), CLNN_ARG_FLOAT(alpha), CLNN_ARG_ULONG(x->numel),
                  CLNN_ARG_ULONG(chunk));
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
  size_t chunk, global, local;
  ew_plan(ctx, y->numel, &chunk, &global, &local);
  return CLNN_RUN(ctx, "elementwise", "ew_bias_add", 1, &global, &local, CLNN_ARG_MEM(bias->mem),
                  CLNN_ARG_MEM(y->mem), CLNN_ARG_ULONG(y->numel), CLNN_ARG_ULONG(chunk),
                  CLNN_ARG_ULONG(inner), CLNN_ARG_UINT(bias->numel));
}
