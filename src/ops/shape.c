/* src/ops/shape.c — host side of the shape operators (cl/shape.cl): clnn_permute and
 * clnn_copy_region (one general strided-copy kernel, dims coalesced on the host), clnn_mul_acc,
 * clnn_reduce_sum (two launches: chunk partials into workspace slot 3, then one work-group sums
 * them in a fixed order) and clnn_broadcast_scalar. Every argument is validated before anything
 * is enqueued, so a failing call writes nothing. */
#include "internal.h"

#include <math.h>
#include <stdio.h>

/* The kernels this file launches. */
static clnn__kernel_ref k_shape_broadcast = CLNN_KERNEL_REF("shape", "shape_broadcast");
static clnn__kernel_ref k_shape_copy = CLNN_KERNEL_REF("shape", "shape_copy");
static clnn__kernel_ref k_shape_mul_acc = CLNN_KERNEL_REF("shape", "shape_mul_acc");
static clnn__kernel_ref k_shape_sum_finish = CLNN_KERNEL_REF("shape", "shape_sum_finish");
static clnn__kernel_ref k_shape_sum_partial = CLNN_KERNEL_REF("shape", "shape_sum_partial");

static clnn_status check_scalars(const char *fn, int has_alpha, float alpha, float beta) {
  if (has_alpha && !isfinite(alpha))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: alpha is %g; it must be finite", fn,
                       (double)alpha);
  clnn_status s = clnn__check_beta(beta);
  return clnn__prefix_error(fn, s);
}

/* Row-major strides of t, in elements. */
static void strides_of(const clnn_tensor *t, size_t *st) {
  size_t s = 1;
  for (int d = t->ndim - 1; d >= 0; d--) {
    st[d] = s;
    s *= t->dims[d];
  }
}

/* ---- the strided copy ---- */

/* Launches shape_copy over the box `size` (nd dims) with per-dim strides xs / ys and element
 * offsets xoff / yoff. Drops dims of size 1, merges dims that are contiguous on both sides, pads
 * to 5 dims. The box is not empty. */
static clnn_status strided_copy(clnn_context *ctx, int nd, const size_t *size, const size_t *xs,
                                const size_t *ys, size_t xoff, size_t yoff, float alpha,
                                cl_mem x, float beta, cl_mem y) {
  size_t n[CLNN_MAX_DIMS], a[CLNN_MAX_DIMS], b[CLNN_MAX_DIMS];
  int m = 0;
  for (int d = 0; d < nd; d++) {
    if (size[d] == 1) continue;
    if (m > 0 && a[m - 1] == xs[d] * size[d] && b[m - 1] == ys[d] * size[d]) {
      n[m - 1] *= size[d]; /* dim d continues dim m-1 on both sides */
      a[m - 1] = xs[d];
      b[m - 1] = ys[d];
      continue;
    }
    n[m] = size[d];
    a[m] = xs[d];
    b[m] = ys[d];
    m++;
  }
  size_t N[5] = {1, 1, 1, 1, 1}, XS[5] = {0}, YS[5] = {0};
  for (int k = 0; k < m; k++) {
    N[5 - m + k] = n[k];
    XS[5 - m + k] = a[k];
    YS[5 - m + k] = b[k];
  }
  if (m == 0) XS[4] = YS[4] = 1;
  size_t total = N[0] * N[1] * N[2] * N[3] * N[4];
  const clnn__launch l = clnn__launch_1d(ctx, &k_shape_copy, total, CLNN_LAUNCH_ELEMENTWISE(4));
  return CLNN_RUN(ctx, &k_shape_copy, 1, &l.global, &l.local, CLNN_ARG_MEM(x), CLNN_ARG_MEM(y),
                  CLNN_ARG_ULONG(total), CLNN_ARG_ULONG(l.chunk), CLNN_ARG_ULONG(N[1]),
                  CLNN_ARG_ULONG(N[2]), CLNN_ARG_ULONG(N[3]), CLNN_ARG_ULONG(N[4]),
                  CLNN_ARG_ULONG(XS[0]), CLNN_ARG_ULONG(XS[1]), CLNN_ARG_ULONG(XS[2]),
                  CLNN_ARG_ULONG(XS[3]), CLNN_ARG_ULONG(XS[4]), CLNN_ARG_ULONG(YS[0]),
                  CLNN_ARG_ULONG(YS[1]), CLNN_ARG_ULONG(YS[2]), CLNN_ARG_ULONG(YS[3]),
                  CLNN_ARG_ULONG(YS[4]), CLNN_ARG_ULONG(xoff), CLNN_ARG_ULONG(yoff),
                  CLNN_ARG_FLOAT(alpha), CLNN_ARG_FLOAT(beta));
}

clnn_status clnn_permute(clnn_context *ctx, const int *perm, float alpha, const clnn_tensor *x,
                         float beta, clnn_tensor *y) {
  const char *fn = "clnn_permute";
  clnn_status s;
  if ((s = clnn__check_tensor_in(fn, ctx, x, "x")) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_tensor_in(fn, ctx, y, "y")) != CLNN_SUCCESS) return s;
  if (x == y || x->mem == y->mem)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: y is x (the same buffer); permute cannot work in place", fn);
  if (!perm) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: perm is NULL", fn);
  if ((s = check_scalars(fn, 1, alpha, beta)) != CLNN_SUCCESS) return s;
  int nd = x->ndim, seen[CLNN_MAX_DIMS] = {0};
  for (int i = 0; i < nd; i++) {
    if (perm[i] < 0 || perm[i] >= nd || seen[perm[i]])
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                         "%s: perm[%d] is %d; perm must be a permutation of 0..%d (x has %d "
                         "dimensions)",
                         fn, i, perm[i], nd - 1, nd);
    seen[perm[i]] = 1;
  }
  size_t want[CLNN_MAX_DIMS];
  for (int i = 0; i < nd; i++) want[i] = x->dims[perm[i]];
  int same = y->ndim == nd;
  for (int i = 0; same && i < nd; i++) same = y->dims[i] == want[i];
  if (!same) {
    char sx[96], sy[96], sw[96];
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH,
                       "%s: x has shape %s, so y must have the permuted shape %s, but y has shape "
                       "%s",
                       fn, clnn__dims_str(x, sx, sizeof sx),
                       clnn__dims_str_raw(nd, want, sw, sizeof sw), clnn__dims_str(y, sy, sizeof sy));
  }
  size_t xst[CLNN_MAX_DIMS], yst[CLNN_MAX_DIMS], xs[CLNN_MAX_DIMS];
  strides_of(x, xst);
  strides_of(y, yst);
  for (int i = 0; i < nd; i++) xs[i] = xst[perm[i]]; /* box dim i is y's dim i = x's dim perm[i] */
  return strided_copy(ctx, nd, y->dims, xs, yst, 0, 0, alpha, x->mem, beta, y->mem);
}

/* The box [start, start + sizes) lies inside t (overflow-safe). */
static clnn_status check_box(const char *fn, const clnn_tensor *t, const char *tn,
                             const char *startn, int ndim, const size_t *sizes,
                             const size_t *start) {
  for (int d = 0; d < ndim; d++) {
    if (start[d] > t->dims[d] || sizes[d] > t->dims[d] - start[d]) {
      char st[96];
      return clnn__error(CLNN_ERROR_SHAPE_MISMATCH,
                         "%s: on dimension %d the box %s[%d] = %zu, sizes[%d] = %zu does not lie "
                         "inside %s, which has shape %s",
                         fn, d, startn, d, start[d], d, sizes[d], tn,
                         clnn__dims_str(t, st, sizeof st));
    }
  }
  return CLNN_SUCCESS;
}

clnn_status clnn_copy_region(clnn_context *ctx, int ndim, const size_t *sizes, float alpha,
                             const clnn_tensor *src, const size_t *src_start, float beta,
                             clnn_tensor *dst, const size_t *dst_start) {
  const char *fn = "clnn_copy_region";
  clnn_status s;
  if ((s = clnn__check_tensor_in(fn, ctx, src, "src")) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_tensor_in(fn, ctx, dst, "dst")) != CLNN_SUCCESS) return s;
  if (src == dst || src->mem == dst->mem)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: dst is src (the same buffer); regions cannot be copied within one "
                       "tensor",
                       fn);
  if (!sizes) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: sizes is NULL", fn);
  if (!src_start) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: src_start is NULL", fn);
  if (!dst_start) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: dst_start is NULL", fn);
  if (ndim < 1 || ndim > CLNN_MAX_DIMS)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: ndim is %d; it must be 1..%d", fn, ndim,
                       CLNN_MAX_DIMS);
  if ((s = check_scalars(fn, 1, alpha, beta)) != CLNN_SUCCESS) return s;
  if (src->ndim != ndim || dst->ndim != ndim) {
    char ss[96], sd[96];
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH,
                       "%s: ndim is %d but src has shape %s and dst has shape %s; both must have "
                       "ndim dimensions",
                       fn, ndim, clnn__dims_str(src, ss, sizeof ss),
                       clnn__dims_str(dst, sd, sizeof sd));
  }
  if ((s = check_box(fn, src, "src", "src_start", ndim, sizes, src_start)) != CLNN_SUCCESS)
    return s;
  if ((s = check_box(fn, dst, "dst", "dst_start", ndim, sizes, dst_start)) != CLNN_SUCCESS)
    return s;
  for (int d = 0; d < ndim; d++)
    if (sizes[d] == 0) return CLNN_SUCCESS; /* an empty box copies nothing */
  size_t xs[CLNN_MAX_DIMS], ys[CLNN_MAX_DIMS], xoff = 0, yoff = 0;
  strides_of(src, xs);
  strides_of(dst, ys);
  for (int d = 0; d < ndim; d++) {
    xoff += src_start[d] * xs[d]; /* < numel: the start lies inside the tensor */
    yoff += dst_start[d] * ys[d];
  }
  return strided_copy(ctx, ndim, sizes, xs, ys, xoff, yoff, alpha, src->mem, beta, dst->mem);
}

/* ---- elementwise product, broadcast ---- */

clnn_status clnn_mul_acc(clnn_context *ctx, const clnn_tensor *a, const clnn_tensor *b, float beta,
                         clnn_tensor *y) {
  const char *fn = "clnn_mul_acc";
  clnn_status s;
  if ((s = clnn__check_tensor_in(fn, ctx, a, "a")) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_tensor_in(fn, ctx, b, "b")) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_tensor_in(fn, ctx, y, "y")) != CLNN_SUCCESS) return s;
  if ((s = check_scalars(fn, 0, 0.0f, beta)) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_same_numel(fn, b, "b", a, "a")) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_same_numel(fn, y, "y", a, "a")) != CLNN_SUCCESS) return s;
  const clnn__launch l = clnn__launch_1d(ctx, &k_shape_mul_acc, a->numel, CLNN_LAUNCH_ELEMENTWISE(4));
  return CLNN_RUN(ctx, &k_shape_mul_acc, 1, &l.global, &l.local, CLNN_ARG_MEM(a->mem),
                  CLNN_ARG_MEM(b->mem), CLNN_ARG_MEM(y->mem), CLNN_ARG_ULONG(a->numel),
                  CLNN_ARG_ULONG(l.chunk), CLNN_ARG_FLOAT(beta));
}

static clnn_status check_one(const char *fn, const clnn_tensor *t, const char *name) {
  if (t->numel == 1) return CLNN_SUCCESS;
  char st[96];
  return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: %s has shape %s; it must have one element",
                     fn, name, clnn__dims_str(t, st, sizeof st));
}

clnn_status clnn_broadcast_scalar(clnn_context *ctx, float alpha, const clnn_tensor *x, float beta,
                                  clnn_tensor *y) {
  const char *fn = "clnn_broadcast_scalar";
  clnn_status s;
  if ((s = clnn__check_tensor_in(fn, ctx, x, "x")) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_tensor_in(fn, ctx, y, "y")) != CLNN_SUCCESS) return s;
  if ((s = check_scalars(fn, 1, alpha, beta)) != CLNN_SUCCESS) return s;
  if ((s = check_one(fn, x, "x")) != CLNN_SUCCESS) return s;
  if (x != y && x->mem == y->mem && y->numel > 1) /* two wrapped tensors on one buffer */
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: x and y share one OpenCL buffer; y would overwrite x while it is read",
                       fn);
  const clnn__launch l = clnn__launch_1d(ctx, &k_shape_broadcast, y->numel, CLNN_LAUNCH_ELEMENTWISE(4));
  return CLNN_RUN(ctx, &k_shape_broadcast, 1, &l.global, &l.local, CLNN_ARG_MEM(x->mem),
                  CLNN_ARG_MEM(y->mem), CLNN_ARG_ULONG(y->numel), CLNN_ARG_ULONG(l.chunk),
                  CLNN_ARG_FLOAT(alpha), CLNN_ARG_FLOAT(beta));
}

/* ---- sum ---- */

clnn_status clnn_reduce_sum(clnn_context *ctx, float alpha, const clnn_tensor *x, float beta,
                            clnn_tensor *y) {
  const char *fn = "clnn_reduce_sum";
  clnn_status s;
  if ((s = clnn__check_tensor_in(fn, ctx, x, "x")) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_tensor_in(fn, ctx, y, "y")) != CLNN_SUCCESS) return s;
  if ((s = check_scalars(fn, 1, alpha, beta)) != CLNN_SUCCESS) return s;
  if ((s = check_one(fn, y, "y")) != CLNN_SUCCESS) return s;

  size_t n = x->numel;
  const clnn__launch l = clnn__launch_1d(ctx, &k_shape_sum_partial, n,
                                         CLNN_LAUNCH_REDUCE);
  size_t global = l.global; /* the number of partials */
  /* the finishing work-group: the largest power of two <= min(256, the kernel's work-group limit,
   * the number of partials); one work-item on CPU devices */
  size_t L = ctx->device_class == CLNN_DEVICE_CLASS_CPU ? 1 : clnn__local_pow2(ctx, &k_shape_sum_finish, 256, global);
  cl_mem partial;
  if ((s = clnn__workspace(ctx, 3, global * sizeof(float), &partial)) != CLNN_SUCCESS) return s;
  s = CLNN_RUN(ctx, &k_shape_sum_partial, 1, &l.global, &l.local, CLNN_ARG_MEM(x->mem),
               CLNN_ARG_MEM(partial), CLNN_ARG_ULONG(n), CLNN_ARG_ULONG(l.chunk));
  if (s != CLNN_SUCCESS) return s;
  return CLNN_RUN(ctx, &k_shape_sum_finish, 1, &L, &L, CLNN_ARG_MEM(partial),
                  CLNN_ARG_ULONG(global), CLNN_ARG_MEM(y->mem), CLNN_ARG_FLOAT(alpha),
                  CLNN_ARG_FLOAT(beta), CLNN_ARG_LOCAL(L * sizeof(float)));
}
