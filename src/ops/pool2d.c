/* src/ops/pool2d.c — host side of 2-D pooling (cl/pool2d.cl, cl/pool2d_cpu.cl,
 * cl/pool2d_avg_cpu.cl): parameters and output dims, max and average pooling forward and
 * backward, global average pooling forward and backward. Max-pool backward either goes through
 * the per-window argmax indices its forward kept (clnn_maxpool2d_forward_indices /
 * clnn_maxpool2d_backward_indices) or recomputes them from x
 * into workspace slot 3 (except on CPU devices with enough planes, where each work-item takes a
 * run of planes and recomputes and routes dy in one pass). CPU devices run the row-wise kernels of
 * cl/pool2d_cpu.cl (max) and cl/pool2d_avg_cpu.cl (average), other devices one output per
 * work-item. */
#include "internal.h"

#include <limits.h>

/* The kernels this file launches. */
static clnn__kernel_ref k_avgpool_backward = CLNN_KERNEL_REF("pool2d", "avgpool_backward");
static clnn__kernel_ref k_avgpool_backward_cpu = CLNN_KERNEL_REF("pool2d_avg_cpu", "avgpool_backward_cpu");
static clnn__kernel_ref k_avgpool_forward = CLNN_KERNEL_REF("pool2d", "avgpool_forward");
static clnn__kernel_ref k_avgpool_forward_cpu = CLNN_KERNEL_REF("pool2d_avg_cpu", "avgpool_forward_cpu");
static clnn__kernel_ref k_global_avgpool_backward = CLNN_KERNEL_REF("pool2d", "global_avgpool_backward");
static clnn__kernel_ref k_global_avgpool_forward = CLNN_KERNEL_REF("pool2d", "global_avgpool_forward");
static clnn__kernel_ref k_maxpool_argmax = CLNN_KERNEL_REF("pool2d", "maxpool_argmax");
static clnn__kernel_ref k_maxpool_backward = CLNN_KERNEL_REF("pool2d", "maxpool_backward");
static clnn__kernel_ref k_maxpool_backward_cpu = CLNN_KERNEL_REF("pool2d_cpu", "maxpool_backward_cpu");
static clnn__kernel_ref k_maxpool_backward_indices_cpu =
    CLNN_KERNEL_REF("pool2d_cpu", "maxpool_backward_indices_cpu");
static clnn__kernel_ref k_maxpool_forward = CLNN_KERNEL_REF("pool2d", "maxpool_forward");
static clnn__kernel_ref k_maxpool_forward_cpu = CLNN_KERNEL_REF("pool2d_cpu", "maxpool_forward_cpu");
static clnn__kernel_ref k_maxpool_forward_indices =
    CLNN_KERNEL_REF("pool2d", "maxpool_forward_indices");
static clnn__kernel_ref k_maxpool_forward_indices_cpu =
    CLNN_KERNEL_REF("pool2d_cpu", "maxpool_forward_indices_cpu");

void clnn_pool2d_params_init(clnn_pool2d_params *p, int k) {
  if (!p) return;
  p->struct_size = (uint32_t)sizeof *p;
  p->kernel_h = p->kernel_w = k;
  p->stride_h = p->stride_w = k;
  p->pad_top = p->pad_bottom = p->pad_left = p->pad_right = 0;
  p->count_include_pad = 0;
}

static clnn_status pool_check_params(const char *fn, const clnn_pool2d_params *p) {
  if (!p) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: params is NULL", fn);
  if (p->kernel_h < 1 || p->kernel_w < 1)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: kernel size %dx%d; both must be >= 1", fn,
                       p->kernel_h, p->kernel_w);
  if (p->kernel_h > INT_MAX / 8 || p->kernel_w > INT_MAX / 8)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: kernel size %dx%d is too large", fn,
                       p->kernel_h, p->kernel_w);
  if (p->stride_h < 1 || p->stride_w < 1)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: stride %dx%d; both must be >= 1", fn,
                       p->stride_h, p->stride_w);
  if (p->pad_top < 0 || p->pad_bottom < 0 || p->pad_left < 0 || p->pad_right < 0)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: negative padding (top %d, bottom %d, left %d, right %d)", fn,
                       p->pad_top, p->pad_bottom, p->pad_left, p->pad_right);
  if (p->pad_top >= p->kernel_h || p->pad_bottom >= p->kernel_h)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: padding top %d / bottom %d must be smaller than the kernel height %d",
                       fn, p->pad_top, p->pad_bottom, p->kernel_h);
  if (p->pad_left >= p->kernel_w || p->pad_right >= p->kernel_w)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: padding left %d / right %d must be smaller than the kernel width %d",
                       fn, p->pad_left, p->pad_right, p->kernel_w);
  if (p->count_include_pad != 0 && p->count_include_pad != 1)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: count_include_pad is %d; it must be 0 or 1",
                       fn, p->count_include_pad);
  return CLNN_SUCCESS;
}

static clnn_status pool_output_dims(const char *fn, const size_t x_dims[4],
                                    const clnn_pool2d_params *p, size_t y_dims[4]) {
  clnn_status s;
  if ((s = pool_check_params(fn, p)) != CLNN_SUCCESS) return s;
  if (!x_dims || !y_dims)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                       !x_dims ? "x_dims" : "y_dims");
  for (int d = 0; d < 4; d++)
    if (x_dims[d] == 0)
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: input dimension %d is 0", fn, d);
  size_t H = x_dims[2], W = x_dims[3];
  if (H > INT_MAX / 4 || W > INT_MAX / 4 || H * W > INT_MAX)
    return clnn__error(CLNN_ERROR_UNSUPPORTED, "%s: input plane %zux%zu is too large (at most %d "
                       "elements)", fn, H, W, INT_MAX);
  size_t ph = H + (size_t)p->pad_top + (size_t)p->pad_bottom;
  size_t pw = W + (size_t)p->pad_left + (size_t)p->pad_right;
  if (ph < (size_t)p->kernel_h || pw < (size_t)p->kernel_w)
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH,
                       "%s: kernel %dx%d is larger than the padded input %zux%zu (input %zux%zu)",
                       fn, p->kernel_h, p->kernel_w, ph, pw, H, W);
  int ok = 1;
  size_t planes = clnn__mul_size(x_dims[0], x_dims[1], &ok);
  clnn__mul_size(clnn__mul_size(planes, H, &ok), W, &ok);
  if (!ok)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: input element count overflows size_t",
                       fn);
  size_t P = (ph - (size_t)p->kernel_h) / (size_t)p->stride_h + 1;
  size_t Q = (pw - (size_t)p->kernel_w) / (size_t)p->stride_w + 1;
  if (P * Q > INT_MAX)
    return clnn__error(CLNN_ERROR_UNSUPPORTED, "%s: output plane %zux%zu is too large (at most %d "
                       "elements)", fn, P, Q, INT_MAX);
  y_dims[0] = x_dims[0];
  y_dims[1] = x_dims[1];
  y_dims[2] = P;
  y_dims[3] = Q;
  return CLNN_SUCCESS;
}

clnn_status clnn_pool2d_output_dims(const size_t x_dims[4], const clnn_pool2d_params *p,
                                    size_t y_dims[4]) {
  clnn_pool2d_params p_in;
  CLNN__STRUCT_IN(CLNN__POOL2D_PARAMS, "clnn_pool2d_output_dims", "p", p, p_in);
  return pool_output_dims("clnn_pool2d_output_dims", x_dims, p, y_dims);
}

/* Chunked 1-D launch: CPU devices 8 contiguous chunks per compute unit of at least min_chunk
 * elements; GPUs one element per work-item in work-groups of 128. */
static clnn__launch pool_launch(clnn_context *ctx, clnn__kernel_ref *kernel, size_t n, size_t min_chunk) {
  return clnn__launch_1d(ctx, kernel, n, (clnn__launch_policy){8, min_chunk, 1, 1, 128});
}

/* CPU devices run the row-wise kernels (cl/pool2d_cpu.cl, cl/pool2d_avg_cpu.cl): one output row (or dx row) per
 * work-item, 16 outputs per vector. Returns 0 when the shape does not fit their int indexing. */
static int pool_rows_cpu(const clnn_context *ctx, const clnn_tensor *in) {
  return ctx->device_class == CLNN_DEVICE_CLASS_CPU && in->dims[0] * in->dims[1] <= (size_t)INT_MAX;
}

/* Launch of a *_cpu kernel over (rows, planes): up to 16 rows per work-group (PoCL runs a
 * work-group as one task; per-row groups measured 2x slower on pool_avg2 from task overhead). */
static clnn_status pool_run_rows(clnn_context *ctx, clnn__kernel_ref *kernel, size_t rows, size_t planes,
                                 const clnn__arg *args, size_t nargs) {
  size_t global[2] = {rows, planes}, local[2] = {1, 1};
  while (local[0] < 16 && local[0] * 2 <= rows) local[0] *= 2;
  return clnn__run(ctx, kernel, 2, global, local, args, nargs);
}
#define POOL_RUN_ROWS(ctx, kernel, rows, planes, ...)                                           \
  pool_run_rows((ctx), (kernel), (rows), (planes), (const clnn__arg[]){__VA_ARGS__},           \
                sizeof((const clnn__arg[]){__VA_ARGS__}) / sizeof(clnn__arg))

static clnn_status pool_shape_error(const char *fn, const char *name, const clnn_tensor *t,
                                    const char *why, int ndim, const size_t *want) {
  char st[96], sw[96];
  return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: %s has shape %s but %s %s", fn, name,
                     clnn__dims_str(t, st, sizeof st), why,
                     clnn__dims_str_raw(ndim, want, sw, sizeof sw));
}

static int dims_equal(const clnn_tensor *t, int ndim, const size_t *dims) {
  if (t->ndim != ndim) return 0;
  for (int d = 0; d < ndim; d++)
    if (t->dims[d] != dims[d]) return 0;
  return 1;
}

static clnn_status pool_check_4d(const char *fn, const clnn_tensor *t, const char *name) {
  if (t->ndim == 4) return CLNN_SUCCESS;
  char st[96];
  return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: %s has shape %s; it must be 4-D [N, C, H, W]",
                     fn, name, clnn__dims_str(t, st, sizeof st));
}

/* Validates a pooling call. `in` is the input-shaped tensor (x or dx), `out` the output-shaped
 * one (y or dy); `x` (may be NULL) must have in's shape. */
static clnn_status pool_validate(clnn_context *ctx, const char *fn, const clnn_pool2d_params *p,
                                 const clnn_tensor *in, const char *in_name,
                                 const clnn_tensor *out, const char *out_name,
                                 const clnn_tensor *x, size_t y_dims[4]) {
  clnn_status s;
  if ((s = clnn__check_tensor(ctx, in, in_name)) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_tensor(ctx, out, out_name)) != CLNN_SUCCESS) return s;
  if (x && (s = clnn__check_tensor(ctx, x, "x")) != CLNN_SUCCESS) return s;
  if ((s = pool_check_4d(fn, in, in_name)) != CLNN_SUCCESS) return s;
  /* Windows overlap and read neighbours' inputs: no in-place pooling (forward or backward). */
  if ((s = clnn__check_alias(fn, in, in_name, out, out_name)) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_alias(fn, in, in_name, x, "x")) != CLNN_SUCCESS) return s;
  if ((s = pool_output_dims(fn, in->dims, p, y_dims)) != CLNN_SUCCESS) return s;
  if (x && !dims_equal(x, 4, in->dims))
    return pool_shape_error(fn, "x", x, "dx has shape", 4, in->dims);
  if (!dims_equal(out, 4, y_dims))
    return pool_shape_error(fn, out_name, out, "pooling this input gives", 4, y_dims);
  return CLNN_SUCCESS;
}

#define POOL_GEOM_ARGS(in, y_dims, p)                                                        \
  CLNN_ARG_INT((in)->dims[2]), CLNN_ARG_INT((in)->dims[3]), CLNN_ARG_INT((y_dims)[2]),       \
      CLNN_ARG_INT((y_dims)[3]), CLNN_ARG_INT((p)->kernel_h), CLNN_ARG_INT((p)->kernel_w),   \
      CLNN_ARG_INT((p)->stride_h), CLNN_ARG_INT((p)->stride_w), CLNN_ARG_INT((p)->pad_top),  \
      CLNN_ARG_INT((p)->pad_left)

clnn_status clnn_maxpool2d_forward(clnn_context *ctx, const clnn_pool2d_params *p,
                                   const clnn_tensor *x, clnn_tensor *y) {
  clnn_pool2d_params p_in;
  CLNN__STRUCT_IN(CLNN__POOL2D_PARAMS, "clnn_maxpool2d_forward", "p", p, p_in);
  size_t yd[4];
  clnn_status s = pool_validate(ctx, "clnn_maxpool2d_forward", p, x, "x", y, "y", NULL, yd);
  if (s != CLNN_SUCCESS) return s;
  if (pool_rows_cpu(ctx, x))
    return POOL_RUN_ROWS(ctx, &k_maxpool_forward_cpu, yd[2], yd[0] * yd[1], CLNN_ARG_MEM(x->mem),
                         CLNN_ARG_MEM(y->mem), CLNN_ARG_INT(yd[0] * yd[1]), POOL_GEOM_ARGS(x, yd, p));
  clnn__launch l = pool_launch(ctx, &k_maxpool_forward, y->numel, 64);
  return CLNN_RUN(ctx, &k_maxpool_forward, 1, &l.global, &l.local, CLNN_ARG_MEM(x->mem),
                  CLNN_ARG_MEM(y->mem), CLNN_ARG_ULONG(y->numel), CLNN_ARG_ULONG(l.chunk),
                  POOL_GEOM_ARGS(x, yd, p));
}

clnn_status clnn_maxpool2d_backward(clnn_context *ctx, const clnn_pool2d_params *p,
                                    const clnn_tensor *x, const clnn_tensor *dy, float beta,
                                    clnn_tensor *dx) {
  clnn_pool2d_params p_in;
  CLNN__STRUCT_IN(CLNN__POOL2D_PARAMS, "clnn_maxpool2d_backward", "p", p, p_in);
  size_t yd[4];
  clnn_status s = clnn__check_tensor(ctx, x, "x"); /* required: the maxima are recomputed */
  if (s != CLNN_SUCCESS) return s;
  s = pool_validate(ctx, "clnn_maxpool2d_backward", p, dx, "dx", dy, "dy", x, yd);
  if (s != CLNN_SUCCESS) return s;
  if ((s = clnn__check_beta(beta)) != CLNN_SUCCESS) return s;
  /* CPU devices with enough planes to keep every core busy: one pass, each work-item taking a
   * run of planes it owns (no workspace): 4 runs per compute unit, each of at most 16K dx elements
   * (PoCL can still balance the runs when another process holds a core: 0.19 vs 0.24 ms median
   * of minima on pool_max2_28 against 8 runs at load 2.7-3.3; one work-group per plane made
   * thousands of PoCL tasks on pool_max2_14's small planes). */
  size_t planes = dx->dims[0] * dx->dims[1];
  size_t cu = ctx->info.compute_units ? ctx->info.compute_units : 1;
  if (pool_rows_cpu(ctx, dx) && planes >= 2 * cu) {
    size_t items = 4 * cu, per = (planes + items - 1) / items;
    size_t cap = 16384 / (dx->dims[2] * dx->dims[3]);
    if (per > cap) per = cap ? cap : 1;
    size_t global = (planes + per - 1) / per, local = 1;
    return CLNN_RUN(ctx, &k_maxpool_backward_cpu, 1, &global, &local, CLNN_ARG_MEM(x->mem),
                    CLNN_ARG_MEM(dy->mem), CLNN_ARG_MEM(dx->mem), CLNN_ARG_INT(planes),
                    CLNN_ARG_INT(per), POOL_GEOM_ARGS(dx, yd, p), CLNN_ARG_FLOAT(beta));
  }
  /* Pass 1: each window's first maximum (an int per output) into workspace slot 3. */
  int ok = 1;
  size_t arg_bytes = clnn__mul_size(dy->numel, sizeof(cl_int), &ok);
  if (!ok) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "clnn_maxpool2d_backward: dy too large");
  cl_kernel k;
  if ((s = clnn__kernel(ctx, &k_maxpool_backward, &k)) != CLNN_SUCCESS) return s;
  cl_mem arg;
  if ((s = clnn__workspace(ctx, 3, arg_bytes, &arg)) != CLNN_SUCCESS) return s;
  clnn__launch l = pool_launch(ctx, &k_maxpool_argmax, dy->numel, 64);
  s = CLNN_RUN(ctx, &k_maxpool_argmax, 1, &l.global, &l.local, CLNN_ARG_MEM(x->mem),
               CLNN_ARG_MEM(arg), CLNN_ARG_ULONG(dy->numel), CLNN_ARG_ULONG(l.chunk),
               POOL_GEOM_ARGS(dx, yd, p));
  if (s != CLNN_SUCCESS) return s;
  /* Pass 2: the gather over dx. */
  l = pool_launch(ctx, &k_maxpool_backward, dx->numel, 64);
  return CLNN_RUN(ctx, &k_maxpool_backward, 1, &l.global, &l.local, CLNN_ARG_MEM(arg),
                  CLNN_ARG_MEM(dy->mem), CLNN_ARG_MEM(dx->mem), CLNN_ARG_ULONG(dx->numel),
                  CLNN_ARG_ULONG(l.chunk), POOL_GEOM_ARGS(dx, yd, p), CLNN_ARG_FLOAT(beta));
}

/* The indices tensor of a max-pool call: a valid tensor of the output's shape, sharing no buffer
 * with a or b (either may be NULL). */
static clnn_status pool_check_indices(clnn_context *ctx, const char *fn, const clnn_tensor *idx,
                                      const size_t y_dims[4], const clnn_tensor *a,
                                      const char *a_name, const clnn_tensor *b,
                                      const char *b_name) {
  clnn_status s = clnn__check_tensor_in(fn, ctx, idx, "indices");
  if (s != CLNN_SUCCESS) return s;
  if ((s = clnn__check_alias(fn, idx, "indices", a, a_name)) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_alias(fn, idx, "indices", b, b_name)) != CLNN_SUCCESS) return s;
  if (!dims_equal(idx, 4, y_dims))
    return pool_shape_error(fn, "indices", idx, "pooling this input gives", 4, y_dims);
  return CLNN_SUCCESS;
}

clnn_status clnn_maxpool2d_forward_indices(clnn_context *ctx, const clnn_pool2d_params *p,
                                           const clnn_tensor *x, clnn_tensor *y,
                                           clnn_tensor *indices) {
  const char *fn = "clnn_maxpool2d_forward_indices";
  clnn_pool2d_params p_in;
  CLNN__STRUCT_IN(CLNN__POOL2D_PARAMS, fn, "p", p, p_in);
  size_t yd[4];
  clnn_status s = pool_validate(ctx, fn, p, x, "x", y, "y", NULL, yd);
  if (s == CLNN_SUCCESS) s = pool_check_indices(ctx, fn, indices, yd, x, "x", y, "y");
  if (s != CLNN_SUCCESS) return s;
  if (pool_rows_cpu(ctx, x))
    return POOL_RUN_ROWS(ctx, &k_maxpool_forward_indices_cpu, yd[2], yd[0] * yd[1],
                         CLNN_ARG_MEM(x->mem), CLNN_ARG_MEM(y->mem), CLNN_ARG_MEM(indices->mem),
                         CLNN_ARG_INT(yd[0] * yd[1]), POOL_GEOM_ARGS(x, yd, p));
  clnn__launch l = pool_launch(ctx, &k_maxpool_forward_indices, y->numel, 64);
  return CLNN_RUN(ctx, &k_maxpool_forward_indices, 1, &l.global, &l.local, CLNN_ARG_MEM(x->mem),
                  CLNN_ARG_MEM(y->mem), CLNN_ARG_MEM(indices->mem), CLNN_ARG_ULONG(y->numel),
                  CLNN_ARG_ULONG(l.chunk), POOL_GEOM_ARGS(x, yd, p));
}

clnn_status clnn_maxpool2d_backward_indices(clnn_context *ctx, const clnn_pool2d_params *p,
                                            const clnn_tensor *indices, const clnn_tensor *dy,
                                            float beta, clnn_tensor *dx) {
  const char *fn = "clnn_maxpool2d_backward_indices";
  clnn_pool2d_params p_in;
  CLNN__STRUCT_IN(CLNN__POOL2D_PARAMS, fn, "p", p, p_in);
  size_t yd[4];
  /* indices: checked once, in pool_check_indices (valid tensor, no shared buffer, y's shape) */
  clnn_status s = pool_validate(ctx, fn, p, dx, "dx", dy, "dy", NULL, yd);
  if (s == CLNN_SUCCESS) s = pool_check_indices(ctx, fn, indices, yd, dx, "dx", dy, "dy");
  if (s == CLNN_SUCCESS) s = clnn__check_beta(beta);
  if (s != CLNN_SUCCESS) return s;
  /* CPU devices with enough planes to keep every core busy: each work-item takes a run of planes
   * and scatters dy through the indices in window order (2x2 windows at stride 2 tiling the
   * plane: a vector gather instead); otherwise the gather over dx (maxpool_backward). */
  size_t planes = dx->dims[0] * dx->dims[1];
  size_t cu = ctx->info.compute_units ? ctx->info.compute_units : 1;
  if (pool_rows_cpu(ctx, dx) && planes >= 2 * cu) {
    /* 4 work-items per compute unit, a run of planes each (1, 4, 16 or 64 planes per item
     * measured the same on pool_max3s2; fewer PoCL tasks) */
    size_t items = 4 * cu, per = (planes + items - 1) / items;
    size_t global = (planes + per - 1) / per, local = 1;
    return CLNN_RUN(ctx, &k_maxpool_backward_indices_cpu, 1, &global, &local,
                    CLNN_ARG_MEM(indices->mem), CLNN_ARG_MEM(dy->mem), CLNN_ARG_MEM(dx->mem),
                    CLNN_ARG_INT(planes), CLNN_ARG_INT(per), CLNN_ARG_INT(dx->dims[2]),
                    CLNN_ARG_INT(dx->dims[3]), CLNN_ARG_INT(yd[2]), CLNN_ARG_INT(yd[3]),
                    CLNN_ARG_INT(p->kernel_h), CLNN_ARG_INT(p->kernel_w),
                    CLNN_ARG_INT(p->stride_h), CLNN_ARG_INT(p->stride_w), CLNN_ARG_INT(p->pad_top),
                    CLNN_ARG_INT(p->pad_left), CLNN_ARG_FLOAT(beta));
  }
  clnn__launch l = pool_launch(ctx, &k_maxpool_backward, dx->numel, 64);
  return CLNN_RUN(ctx, &k_maxpool_backward, 1, &l.global, &l.local, CLNN_ARG_MEM(indices->mem),
                  CLNN_ARG_MEM(dy->mem), CLNN_ARG_MEM(dx->mem), CLNN_ARG_ULONG(dx->numel),
                  CLNN_ARG_ULONG(l.chunk), POOL_GEOM_ARGS(dx, yd, p), CLNN_ARG_FLOAT(beta));
}

clnn_status clnn_avgpool2d_forward(clnn_context *ctx, const clnn_pool2d_params *p,
                                   const clnn_tensor *x, clnn_tensor *y) {
  clnn_pool2d_params p_in;
  CLNN__STRUCT_IN(CLNN__POOL2D_PARAMS, "clnn_avgpool2d_forward", "p", p, p_in);
  size_t yd[4];
  clnn_status s = pool_validate(ctx, "clnn_avgpool2d_forward", p, x, "x", y, "y", NULL, yd);
  if (s != CLNN_SUCCESS) return s;
  if (pool_rows_cpu(ctx, x))
    return POOL_RUN_ROWS(ctx, &k_avgpool_forward_cpu, yd[2], yd[0] * yd[1], CLNN_ARG_MEM(x->mem),
                         CLNN_ARG_MEM(y->mem), CLNN_ARG_INT(yd[0] * yd[1]), POOL_GEOM_ARGS(x, yd, p),
                         CLNN_ARG_INT(p->pad_bottom), CLNN_ARG_INT(p->pad_right),
                         CLNN_ARG_INT(p->count_include_pad));
  clnn__launch l = pool_launch(ctx, &k_avgpool_forward, y->numel, 64);
  return CLNN_RUN(ctx, &k_avgpool_forward, 1, &l.global, &l.local, CLNN_ARG_MEM(x->mem),
                  CLNN_ARG_MEM(y->mem), CLNN_ARG_ULONG(y->numel), CLNN_ARG_ULONG(l.chunk),
                  POOL_GEOM_ARGS(x, yd, p), CLNN_ARG_INT(p->pad_bottom),
                  CLNN_ARG_INT(p->pad_right), CLNN_ARG_INT(p->count_include_pad));
}

clnn_status clnn_avgpool2d_backward(clnn_context *ctx, const clnn_pool2d_params *p,
                                    const clnn_tensor *dy, float beta, clnn_tensor *dx) {
  clnn_pool2d_params p_in;
  CLNN__STRUCT_IN(CLNN__POOL2D_PARAMS, "clnn_avgpool2d_backward", "p", p, p_in);
  size_t yd[4];
  clnn_status s = pool_validate(ctx, "clnn_avgpool2d_backward", p, dx, "dx", dy, "dy", NULL, yd);
  if (s != CLNN_SUCCESS) return s;
  if ((s = clnn__check_beta(beta)) != CLNN_SUCCESS) return s;
  if (pool_rows_cpu(ctx, dx))
    return POOL_RUN_ROWS(ctx, &k_avgpool_backward_cpu, dx->dims[2], dx->dims[0] * dx->dims[1],
                         CLNN_ARG_MEM(dy->mem), CLNN_ARG_MEM(dx->mem),
                         CLNN_ARG_INT(dx->dims[0] * dx->dims[1]), POOL_GEOM_ARGS(dx, yd, p),
                         CLNN_ARG_INT(p->pad_bottom), CLNN_ARG_INT(p->pad_right),
                         CLNN_ARG_INT(p->count_include_pad), CLNN_ARG_FLOAT(beta));
  clnn__launch l = pool_launch(ctx, &k_avgpool_backward, dx->numel, 64);
  return CLNN_RUN(ctx, &k_avgpool_backward, 1, &l.global, &l.local, CLNN_ARG_MEM(dy->mem),
                  CLNN_ARG_MEM(dx->mem), CLNN_ARG_ULONG(dx->numel), CLNN_ARG_ULONG(l.chunk),
                  POOL_GEOM_ARGS(dx, yd, p), CLNN_ARG_INT(p->pad_bottom),
                  CLNN_ARG_INT(p->pad_right), CLNN_ARG_INT(p->count_include_pad),
                  CLNN_ARG_FLOAT(beta));
}

/* in [N, C, H, W] and out [N, C, 1, 1]. */
static clnn_status gap_validate(clnn_context *ctx, const char *fn, const clnn_tensor *in,
                                const char *in_name, const clnn_tensor *out,
                                const char *out_name) {
  clnn_status s;
  if ((s = clnn__check_tensor(ctx, in, in_name)) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_tensor(ctx, out, out_name)) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_alias(fn, in, in_name, out, out_name)) != CLNN_SUCCESS) return s;
  if ((s = pool_check_4d(fn, in, in_name)) != CLNN_SUCCESS) return s;
  size_t want[4] = {in->dims[0], in->dims[1], 1, 1};
  if (!dims_equal(out, 4, want))
    return pool_shape_error(fn, out_name, out, "global pooling this input gives", 4, want);
  return CLNN_SUCCESS;
}

clnn_status clnn_global_avgpool_forward(clnn_context *ctx, const clnn_tensor *x, clnn_tensor *y) {
  clnn_status s = gap_validate(ctx, "clnn_global_avgpool_forward", x, "x", y, "y");
  if (s != CLNN_SUCCESS) return s;
  size_t rows = y->numel, len = x->dims[2] * x->dims[3];
  clnn__launch l = pool_launch(ctx, &k_global_avgpool_forward, rows, 1);
  return CLNN_RUN(ctx, &k_global_avgpool_forward, 1, &l.global, &l.local,
                  CLNN_ARG_MEM(x->mem), CLNN_ARG_MEM(y->mem), CLNN_ARG_ULONG(rows),
                  CLNN_ARG_ULONG(l.chunk), CLNN_ARG_ULONG(len));
}

clnn_status clnn_global_avgpool_backward(clnn_context *ctx, const clnn_tensor *dy, float beta,
                                         clnn_tensor *dx) {
  clnn_status s = gap_validate(ctx, "clnn_global_avgpool_backward", dx, "dx", dy, "dy");
  if (s != CLNN_SUCCESS) return s;
  if ((s = clnn__check_beta(beta)) != CLNN_SUCCESS) return s;
  size_t len = dx->dims[2] * dx->dims[3];
  clnn__launch l = pool_launch(ctx, &k_global_avgpool_backward, dx->numel, 4096);
  return CLNN_RUN(ctx, &k_global_avgpool_backward, 1, &l.global, &l.local,
                  CLNN_ARG_MEM(dy->mem), CLNN_ARG_MEM(dx->mem), CLNN_ARG_ULONG(dx->numel),
                  CLNN_ARG_ULONG(l.chunk), CLNN_ARG_ULONG(len), CLNN_ARG_FLOAT(beta));
}
