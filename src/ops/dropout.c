/* src/ops/dropout.c — host side of inverted dropout (cl/dropout.cl): the mask comes from
 * Philox4x32-10 keyed by (seed, offset + element index), so forward and backward regenerate the
 * same mask without storing it. */
#include "internal.h"

#include <math.h>

/* The kernels this file launches. */
static clnn__kernel_ref k_dropout_apply = CLNN_KERNEL_REF("dropout", "dropout_apply");

static clnn_status dropout_run(clnn_context *ctx, const char *fn, float p, uint64_t seed,
                               uint64_t offset, const clnn_tensor *in, const char *in_name,
                               float beta, clnn_tensor *out, const char *out_name) {
  clnn_status s;
  if ((s = clnn__check_tensor(ctx, in, in_name)) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_tensor(ctx, out, out_name)) != CLNN_SUCCESS) return s;
  if (!(p >= 0.0f && p < 1.0f)) /* also rejects NaN */
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: dropout probability p is %g; it must be in [0, 1)", fn, (double)p);
  if ((s = clnn__check_beta(beta)) != CLNN_SUCCESS) return s;
  int same = in->ndim == out->ndim;
  for (int d = 0; same && d < in->ndim; d++) same = in->dims[d] == out->dims[d];
  if (!same) {
    char sa[96], sb[96];
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: %s has shape %s but %s has shape %s", fn,
                       out_name, clnn__dims_str(out, sa, sizeof sa), in_name,
                       clnn__dims_str(in, sb, sizeof sb));
  }
  /* p = 0 is the identity: a plain copy (bit for bit, subnormals included) when overwriting. */
  if (p == 0.0f && beta == 0.0f) return clnn_tensor_copy(out, in);
  /* Keep when the 32-bit word >= thr: probability (2^32 - thr) / 2^32 = 1 - p (to 2^-32). p has
   * a 24-bit mantissa, so p * 2^32 is exact in double and below 2^32. */
  cl_uint thr = (cl_uint)((double)p * 4294967296.0);
  float scale = (float)(1.0 / (1.0 - (double)p));
  size_t n = in->numel;
  const clnn__launch l = clnn__launch_1d(ctx, &k_dropout_apply, n, CLNN_LAUNCH_ELEMENTWISE(4));
  return CLNN_RUN(ctx, &k_dropout_apply, 1, &l.global, &l.local, CLNN_ARG_MEM(in->mem),
                  CLNN_ARG_MEM(out->mem), CLNN_ARG_ULONG(n), CLNN_ARG_ULONG(l.chunk),
                  CLNN_ARG_ULONG(offset), CLNN_ARG_UINT((cl_uint)(seed & 0xFFFFFFFFu)),
                  CLNN_ARG_UINT((cl_uint)(seed >> 32)), CLNN_ARG_UINT(thr), CLNN_ARG_FLOAT(scale),
                  CLNN_ARG_FLOAT(beta));
}

clnn_status clnn_dropout_forward(clnn_context *ctx, float p, uint64_t seed, uint64_t offset,
                                 const clnn_tensor *x, clnn_tensor *y) {
  return dropout_run(ctx, "clnn_dropout_forward", p, seed, offset, x, "x", 0.0f, y, "y");
}

clnn_status clnn_dropout_backward(clnn_context *ctx, float p, uint64_t seed, uint64_t offset,
                                  const clnn_tensor *dy, float beta, clnn_tensor *dx) {
  return dropout_run(ctx, "clnn_dropout_backward", p, seed, offset, dy, "dy", beta, dx, "dx");
}
