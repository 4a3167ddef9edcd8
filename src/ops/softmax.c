/* src/ops/softmax.c — host side of softmax and log-softmax over the last axis (cl/softmax.cl),
 * forward and backward. CPU devices run one work-item per row; GPUs one work-group per row. */
#include "internal.h"

/* The kernels this file launches. */
static clnn__kernel_ref k_softmax_backward_rows = CLNN_KERNEL_REF("softmax", "softmax_backward_rows");
static clnn__kernel_ref k_softmax_backward_wg = CLNN_KERNEL_REF("softmax", "softmax_backward_wg");
static clnn__kernel_ref k_softmax_forward_rows = CLNN_KERNEL_REF("softmax", "softmax_forward_rows");
static clnn__kernel_ref k_softmax_forward_wg = CLNN_KERNEL_REF("softmax", "softmax_forward_wg");

/* Launch shape for the softmax kernels: *wg says which kernel family; for the row kernels
 * `chunk` rows per work-item, for the work-group kernels `local` work-items per row. */
typedef struct sm_plan {
  int wg;
  size_t global, local, chunk;
} sm_plan;

static sm_plan sm_make_plan(clnn_context *ctx, clnn__kernel_ref *wg_kernel, size_t rows, size_t C) {
  sm_plan pl;
  pl.wg = ctx->device_class != CLNN_DEVICE_CLASS_CPU;
  if (pl.wg) { /* the largest power of two <= min(256, the kernel's limit), stopping at >= C */
    pl.local = clnn__local_pow2(ctx, wg_kernel, 256, C);
    pl.global = rows * pl.local;
    pl.chunk = 1;
    return pl;
  }
  size_t items = (ctx->info.compute_units ? ctx->info.compute_units : 1) * 4;
  pl.chunk = (rows + items - 1) / items;
  if (pl.chunk == 0) pl.chunk = 1;
  pl.local = 1;
  pl.global = (rows + pl.chunk - 1) / pl.chunk;
  return pl;
}

static clnn_status sm_forward(clnn_context *ctx, const char *fn, int mode, const clnn_tensor *x,
                              clnn_tensor *y) {
  clnn_status s;
  if ((s = clnn__check_tensor(ctx, x, "x")) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_tensor(ctx, y, "y")) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_same_shape(fn, y, "y", x, "x")) != CLNN_SUCCESS) return s;
  size_t C = x->dims[x->ndim - 1], rows = x->numel / C;
  const sm_plan pl = sm_make_plan(ctx, &k_softmax_forward_wg, rows, C);
  if (pl.wg)
    return CLNN_RUN(ctx, &k_softmax_forward_wg, 1, &pl.global, &pl.local,
                    CLNN_ARG_MEM(x->mem), CLNN_ARG_MEM(y->mem), CLNN_ARG_ULONG(rows),
                    CLNN_ARG_ULONG(C), CLNN_ARG_INT(mode), CLNN_ARG_LOCAL(pl.local * sizeof(float)));
  return CLNN_RUN(ctx, &k_softmax_forward_rows, 1, &pl.global, &pl.local,
                  CLNN_ARG_MEM(x->mem), CLNN_ARG_MEM(y->mem), CLNN_ARG_ULONG(rows),
                  CLNN_ARG_ULONG(pl.chunk), CLNN_ARG_ULONG(C), CLNN_ARG_INT(mode));
}

static clnn_status sm_backward(clnn_context *ctx, const char *fn, int mode, const clnn_tensor *y,
                               const clnn_tensor *dy, float beta, clnn_tensor *dx) {
  clnn_status s;
  if ((s = clnn__check_tensor(ctx, y, "y")) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_tensor(ctx, dy, "dy")) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_tensor(ctx, dx, "dx")) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_same_shape(fn, dy, "dy", y, "y")) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_same_shape(fn, dx, "dx", y, "y")) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_beta(beta)) != CLNN_SUCCESS) return s;
  size_t C = y->dims[y->ndim - 1], rows = y->numel / C;
  const sm_plan pl = sm_make_plan(ctx, &k_softmax_backward_wg, rows, C);
  if (pl.wg)
    return CLNN_RUN(ctx, &k_softmax_backward_wg, 1, &pl.global, &pl.local,
                    CLNN_ARG_MEM(y->mem), CLNN_ARG_MEM(dy->mem), CLNN_ARG_MEM(dx->mem),
                    CLNN_ARG_ULONG(rows), CLNN_ARG_ULONG(C), CLNN_ARG_INT(mode),
                    CLNN_ARG_FLOAT(beta), CLNN_ARG_LOCAL(pl.local * sizeof(float)));
  return CLNN_RUN(ctx, &k_softmax_backward_rows, 1, &pl.global, &pl.local,
                  CLNN_ARG_MEM(y->mem), CLNN_ARG_MEM(dy->mem), CLNN_ARG_MEM(dx->mem),
                  CLNN_ARG_ULONG(rows), CLNN_ARG_ULONG(pl.chunk), CLNN_ARG_ULONG(C),
                  CLNN_ARG_INT(mode), CLNN_ARG_FLOAT(beta));
}

clnn_status clnn_softmax_forward(clnn_context *ctx, const clnn_tensor *x, clnn_tensor *y) {
  return sm_forward(ctx, "clnn_softmax_forward", 0, x, y);
}

clnn_status clnn_log_softmax_forward(clnn_context *ctx, const clnn_tensor *x, clnn_tensor *y) {
  return sm_forward(ctx, "clnn_log_softmax_forward", 1, x, y);
}

clnn_status clnn_softmax_backward(clnn_context *ctx, const clnn_tensor *y, const clnn_tensor *dy,
                                  float beta, clnn_tensor *dx) {
  return sm_backward(ctx, "clnn_softmax_backward", 0, y, dy, beta, dx);
}

clnn_status clnn_log_softmax_backward(clnn_context *ctx, const clnn_tensor *y,
                                      const clnn_tensor *dy, float beta, clnn_tensor *dx) {
  return sm_backward(ctx, "clnn_log_softmax_backward", 1, y, dy, beta, dx);
}
