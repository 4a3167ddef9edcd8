/* src/ops/conv2d_igemm.c — host side of the implicit-GEMM forward convolution
 * (cl/conv2d_igemm.cl), which src/ops/conv2d.c runs for CLNN_CONV_ALGO_IMPLICIT_GEMM's forward
 * pass (and so for a transposed convolution's backward-data); its backward passes use
 * IM2COL_GEMM. Arguments are checked by the caller; this picks the work-group shape and
 * launches. */
#include "conv2d_direct.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define IGEMM_PROGRAM "conv2d_igemm"
#define IGEMM_LOCAL_BYTES (16 * (64 + 1 + 64) * sizeof(float)) /* as declared in the kernel */

/* The kernel this file launches. */
static clnn__kernel_ref k_conv2d_igemm_forward = CLNN_KERNEL_REF(IGEMM_PROGRAM, "conv2d_igemm_forward");

/* Square work-group side: 16 (tiles of 64 channels x 64 pixels), else 8 or 4 where the kernel's
 * work-group limit is smaller (the kernel takes any side that is a multiple of 4 up to 16);
 * 0 where not even 4x4 fits or the device's local memory is smaller than the kernel's. */
static size_t igemm_side(clnn_context *ctx) {
  if (ctx->info.local_mem_bytes && ctx->info.local_mem_bytes < IGEMM_LOCAL_BYTES) return 0;
  size_t lim = clnn__kernel_wg_limit(ctx, &k_conv2d_igemm_forward);
  for (size_t side = 16; side >= 4; side /= 2)
    if (side * side <= lim) return side;
  return 0;
}

int clnn__conv_igemm_applies(clnn_context *ctx, const conv_geom *g) {
  uint64_t npq = (uint64_t)g->N * g->P * g->Q;
  return npq <= (uint64_t)INT_MAX - 64 && igemm_side(ctx) != 0;
}

int clnn__conv_igemm_auto(const clnn_context *ctx) {
  if (ctx->device_class != CLNN_DEVICE_CLASS_GPU) return 0;
  return ctx->tune.conv_igemm; /* ($CLNN_CONV_IGEMM included, read at context creation) */
}

clnn_status clnn__conv_igemm_forward(clnn_context *ctx, const conv_geom *g, cl_mem x, cl_mem w,
                                     cl_mem bias, int act, float act_alpha, float beta, cl_mem y) {
  const size_t side = igemm_side(ctx), tile = 4 * side;
  const size_t npq = (size_t)g->N * g->P * g->Q;
  size_t local[3] = {side, side, 1};
  size_t global[3] = {(npq + tile - 1) / tile * side, ((size_t)g->Kg + tile - 1) / tile * side,
                      (size_t)g->G};
  if (!side) return clnn__conv_fail(CLNN_ERROR_UNSUPPORTED, "conv2d implicit GEMM", "no work-group shape fits the device");
  return CLNN_RUN(ctx, &k_conv2d_igemm_forward, 3, global, local, CLNN_ARG_MEM(x), CLNN_ARG_MEM(w),
                  CLNN_ARG_MEM(bias), CLNN_ARG_MEM(y), CLNN_ARG_INT(g->C), CLNN_ARG_INT(g->H),
                  CLNN_ARG_INT(g->W), CLNN_ARG_INT(g->K), CLNN_ARG_INT(g->R), CLNN_ARG_INT(g->S),
                  CLNN_ARG_INT(g->P), CLNN_ARG_INT(g->Q), CLNN_ARG_INT(g->sh), CLNN_ARG_INT(g->sw),
                  CLNN_ARG_INT(g->pt), CLNN_ARG_INT(g->pl), CLNN_ARG_INT(g->dh), CLNN_ARG_INT(g->dw),
                  CLNN_ARG_INT(g->G), CLNN_ARG_INT(npq), CLNN_ARG_INT(bias != NULL),
                  CLNN_ARG_INT(act), CLNN_ARG_FLOAT(act_alpha), CLNN_ARG_FLOAT(beta));
}
