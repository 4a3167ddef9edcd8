/* src/ops/batchnorm.c — batch normalisation per channel (axis 1) over every other axis of x
 * [N, C] or [N, C, spatial...]: training forward (batch statistics, running-statistics update),
 * inference forward, and backward for x, scale and shift of both (the inference backward treats
 * the running statistics as constants). Kernels in cl/batchnorm.cl; channel
 * reductions are deterministic (fixed-order lanes and a local-memory tree, no atomics). Every
 * argument is validated before anything is enqueued, so a failing call writes nothing. */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The kernels this file launches. */
static clnn__kernel_ref k_bn_apply = CLNN_KERNEL_REF("batchnorm", "bn_apply");
static clnn__kernel_ref k_bn_apply_rows = CLNN_KERNEL_REF("batchnorm", "bn_apply_rows");
static clnn__kernel_ref k_bn_bwd_data = CLNN_KERNEL_REF("batchnorm", "bn_bwd_data");
static clnn__kernel_ref k_bn_bwd_data_rows = CLNN_KERNEL_REF("batchnorm", "bn_bwd_data_rows");
static clnn__kernel_ref k_bn_bwd_reduce = CLNN_KERNEL_REF("batchnorm", "bn_bwd_reduce");
static clnn__kernel_ref k_bn_bwd_data_inference =
    CLNN_KERNEL_REF("batchnorm", "bn_bwd_data_inference");
static clnn__kernel_ref k_bn_bwd_data_inference_rows =
    CLNN_KERNEL_REF("batchnorm", "bn_bwd_data_inference_rows");
static clnn__kernel_ref k_bn_stats = CLNN_KERNEL_REF("batchnorm", "bn_stats");

/* x viewed as [N, C, S]. */
typedef struct bn_shape {
  size_t n, c, s, m; /* m = n*s, the elements per channel */
  char str[128];     /* x's shape, for messages */
} bn_shape;

static clnn_status get_shape(const char *fn, const clnn_tensor *x, const char *name, bn_shape *sh) {
  clnn__dims_str(x, sh->str, sizeof sh->str);
  if (x->ndim < 2)
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: %s has shape %s; it must be [N, C] or "
                       "[N, C, H, W] (2 to 5 dimensions, channels on axis 1)", fn, name, sh->str);
  sh->n = x->dims[0];
  sh->c = x->dims[1];
  sh->s = 1;
  for (int i = 2; i < x->ndim; i++) sh->s *= x->dims[i]; /* no overflow: numel fits */
  sh->m = sh->n * sh->s;
  return CLNN_SUCCESS;
}

/* t (if not NULL) is on ctx and is 1-D [C]. */
static clnn_status check_channel(const char *fn, const clnn_context *ctx, const clnn_tensor *t,
                                 const char *name, const bn_shape *sh, const char *xname) {
  if (!t) return CLNN_SUCCESS;
  clnn_status s = clnn__check_tensor_in(fn, ctx, t, name);
  if (s) return s;
  if (t->ndim == 1 && t->dims[0] == sh->c) return CLNN_SUCCESS;
  char a[128];
  return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: %s has shape %s, expected [%zu] (C of %s %s)",
                     fn, name, clnn__dims_str(t, a, sizeof a), sh->c, xname, sh->str);
}

/* t has exactly x's shape. */
static clnn_status check_like(const char *fn, const clnn_tensor *t, const char *name,
                              const bn_shape *sh, const clnn_tensor *x, const char *xname) {
  int same = t->ndim == x->ndim;
  for (int i = 0; same && i < x->ndim; i++) same = t->dims[i] == x->dims[i];
  if (same) return CLNN_SUCCESS;
  char a[128];
  return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: %s has shape %s, expected %s (the shape of %s)",
                     fn, name, clnn__dims_str(t, a, sizeof a), sh->str, xname);
}

static clnn_status check_eps(const char *fn, float eps) {
  if (isfinite(eps) && eps > 0.0f) return CLNN_SUCCESS;
  return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: eps is %g; it must be finite and > 0", fn,
                     (double)eps);
}

/* Reduction launch shape: CPUs walk a channel with one work-item (LY = 1, vectorised rows);
 * GPUs give a channel 256 lanes when it has spatial extent, else 32 channels x 8 lanes so that
 * neighbouring work-items read neighbouring channels of a row. */
static void reduce_plan(clnn_context *ctx, const bn_shape *sh, clnn__kernel_ref *kernel, size_t local[2],
                        size_t global[2]) {
  if (ctx->device_class == CLNN_DEVICE_CLASS_CPU) {
    local[0] = 1;
    local[1] = 1;
  } else if (sh->s == 1) {
    local[0] = 32;
    local[1] = 8;
  } else {
    local[0] = 1;
    local[1] = 256;
  }
  size_t max_wg = clnn__kernel_wg_limit(ctx, kernel); /* the kernel's limit */
  while (local[0] * local[1] > max_wg && local[1] > 1) local[1] /= 2;
  while (local[0] * local[1] > max_wg && local[0] > 1) local[0] /= 2;
  global[0] = (sh->c + local[0] - 1) / local[0] * local[0];
  global[1] = local[1];
}

/* Elementwise launch. CPU devices with rows of at least 16 elements: the *_rows kernels, each
 * work-item a run of whole (n, c) rows, about 8 work-items per compute unit, work-groups of one
 * (so PoCL spreads them over the cores). Otherwise one element per work-item over (C, N) when
 * S == 1, else (S, N*C); see bn_index in the kernel. */
typedef struct ew_launch {
  int rows;             /* 1: the *_rows kernel */
  cl_uint dim;
  size_t global[2];
  size_t local[2];      /* used when rows */
  size_t rows_per_item; /* when rows */
} ew_launch;

static ew_launch elementwise_plan(const clnn_context *ctx, const bn_shape *sh) {
  ew_launch l;
  memset(&l, 0, sizeof l);
  if (ctx->device_class == CLNN_DEVICE_CLASS_CPU && sh->s >= 16) {
    size_t rows = sh->n * sh->c;
    size_t items = (ctx->info.compute_units ? ctx->info.compute_units : 1) * 8;
    l.rows = 1;
    l.dim = 1;
    l.rows_per_item = (rows + items - 1) / items;
    l.global[0] = (rows + l.rows_per_item - 1) / l.rows_per_item;
    l.local[0] = 1;
  } else if (sh->s == 1) {
    l.dim = 2;
    l.global[0] = sh->c;
    l.global[1] = sh->n;
  } else {
    l.dim = 2;
    l.global[0] = sh->s;
    l.global[1] = sh->n * sh->c;
  }
  return l;
}

/* Runs bn_apply (or bn_apply_rows): y = (x - mean) * invstd(stat) * scale + shift. */
static clnn_status run_apply(clnn_context *ctx, const bn_shape *sh, cl_mem x, cl_mem y,
                             cl_mem mean, cl_mem stat, int stat_is_var, float eps,
                             const clnn_tensor *scale, const clnn_tensor *shift) {
  ew_launch l = elementwise_plan(ctx, sh);
  clnn__arg args[] = {CLNN_ARG_MEM(x), CLNN_ARG_MEM(y), CLNN_ARG_ULONG(sh->n),
                      CLNN_ARG_ULONG(sh->c), CLNN_ARG_ULONG(sh->s), CLNN_ARG_MEM(mean),
                      CLNN_ARG_MEM(stat), CLNN_ARG_INT(stat_is_var), CLNN_ARG_FLOAT(eps),
                      CLNN_ARG_INT(scale != NULL), CLNN_ARG_MEM(scale ? scale->mem : NULL),
                      CLNN_ARG_INT(shift != NULL), CLNN_ARG_MEM(shift ? shift->mem : NULL),
                      CLNN_ARG_ULONG(l.rows_per_item)};
  size_t nargs = sizeof args / sizeof *args;
  return clnn__run(ctx, l.rows ? &k_bn_apply_rows : &k_bn_apply, l.dim, l.global,
                   l.rows ? l.local : NULL, args, l.rows ? nargs : nargs - 1);
}

static cl_mem mem_or_null(const clnn_tensor *t) { return t ? t->mem : NULL; }

clnn_status clnn_batchnorm_forward_training(clnn_context *ctx, const clnn_tensor *x,
                                            const clnn_tensor *scale, const clnn_tensor *shift,
                                            float momentum, float eps, clnn_tensor *running_mean,
                                            clnn_tensor *running_var, clnn_tensor *y,
                                            clnn_tensor *save_mean, clnn_tensor *save_invstd) {
  static const char fn[] = "clnn_batchnorm_forward_training";
  clnn_status s;
  bn_shape sh;
  if ((s = clnn__check_tensor_in(fn, ctx, x, "x")) || (s = clnn__check_tensor_in(fn, ctx, y, "y"))) return s;
  if ((s = get_shape(fn, x, "x", &sh)) || (s = check_like(fn, y, "y", &sh, x, "x"))) return s;
  if ((s = check_channel(fn, ctx, scale, "scale", &sh, "x")) ||
      (s = check_channel(fn, ctx, shift, "shift", &sh, "x")) ||
      (s = check_channel(fn, ctx, running_mean, "running_mean", &sh, "x")) ||
      (s = check_channel(fn, ctx, running_var, "running_var", &sh, "x")) ||
      (s = check_channel(fn, ctx, save_mean, "save_mean", &sh, "x")) ||
      (s = check_channel(fn, ctx, save_invstd, "save_invstd", &sh, "x")))
    return s;
  if (!running_mean != !running_var)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: running_mean and running_var must both "
                       "be given or both be NULL", fn);
  if (!save_mean != !save_invstd)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: save_mean and save_invstd must both be "
                       "given or both be NULL", fn);
  if (!(momentum >= 0.0f && momentum <= 1.0f))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: momentum is %g; it must be in [0, 1]",
                       fn, (double)momentum);
  if ((s = check_eps(fn, eps))) return s;
  if (sh.m < 2)
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: x has shape %s: only one value per channel "
                       "(N * H * W = 1), so the batch variance is undefined in training mode", fn,
                       sh.str);
  /* y may be x (in place); the per-channel outputs must be distinct from everything. */
  const clnn_tensor *all[] = {running_mean, running_var, save_mean, save_invstd, y, scale, shift};
  const char *names[] = {"running_mean", "running_var", "save_mean", "save_invstd", "y", "scale",
                         "shift"};
  if ((s = clnn__check_distinct(fn, all, names, 7))) return s;
  const clnn_tensor *ins[] = {x, running_mean, running_var, save_mean, save_invstd};
  const char *in_names[] = {"x", "running_mean", "running_var", "save_mean", "save_invstd"};
  if ((s = clnn__check_distinct(fn, ins, in_names, 5))) return s;

  cl_mem mean = mem_or_null(save_mean), invstd = mem_or_null(save_invstd);
  if (!save_mean) {
    if ((s = clnn__workspace(ctx, 3, sh.c * sizeof(float), &mean)) ||
        (s = clnn__workspace(ctx, 4, sh.c * sizeof(float), &invstd)))
      return s;
  }
  size_t local[2], global[2];
  reduce_plan(ctx, &sh, &k_bn_stats, local, global);
  s = CLNN_RUN(ctx, &k_bn_stats, 2, global, local, CLNN_ARG_MEM(x->mem),
               CLNN_ARG_ULONG(sh.n), CLNN_ARG_ULONG(sh.c), CLNN_ARG_ULONG(sh.s),
               CLNN_ARG_FLOAT(1.0 / (double)sh.m),
               CLNN_ARG_FLOAT((double)sh.m / (double)(sh.m - 1)), CLNN_ARG_FLOAT(momentum),
               CLNN_ARG_FLOAT(eps), CLNN_ARG_MEM(mean), CLNN_ARG_MEM(invstd),
               CLNN_ARG_INT(running_mean != NULL), CLNN_ARG_MEM(mem_or_null(running_mean)),
               CLNN_ARG_MEM(mem_or_null(running_var)),
               CLNN_ARG_LOCAL(local[0] * local[1] * sizeof(float)));
  if (s) return s;
  return run_apply(ctx, &sh, x->mem, y->mem, mean, invstd, 0, eps, scale, shift);
}

clnn_status clnn_batchnorm_forward_inference(clnn_context *ctx, const clnn_tensor *x,
                                             const clnn_tensor *scale, const clnn_tensor *shift,
                                             const clnn_tensor *running_mean,
                                             const clnn_tensor *running_var, float eps,
                                             clnn_tensor *y) {
  static const char fn[] = "clnn_batchnorm_forward_inference";
  clnn_status s;
  bn_shape sh;
  if ((s = clnn__check_tensor_in(fn, ctx, x, "x")) || (s = clnn__check_tensor_in(fn, ctx, y, "y")) ||
      (s = clnn__check_tensor_in(fn, ctx, running_mean, "running_mean")) ||
      (s = clnn__check_tensor_in(fn, ctx, running_var, "running_var")))
    return s;
  if ((s = get_shape(fn, x, "x", &sh)) || (s = check_like(fn, y, "y", &sh, x, "x"))) return s;
  if ((s = check_channel(fn, ctx, scale, "scale", &sh, "x")) ||
      (s = check_channel(fn, ctx, shift, "shift", &sh, "x")) ||
      (s = check_channel(fn, ctx, running_mean, "running_mean", &sh, "x")) ||
      (s = check_channel(fn, ctx, running_var, "running_var", &sh, "x")))
    return s;
  if ((s = check_eps(fn, eps))) return s;
  const clnn_tensor *all[] = {y, scale, shift, running_mean, running_var};
  const char *names[] = {"y", "scale", "shift", "running_mean", "running_var"};
  if ((s = clnn__check_distinct(fn, all, names, 5))) return s;
  return run_apply(ctx, &sh, x->mem, y->mem, running_mean->mem, running_var->mem, 1, eps, scale,
                   shift);
}

clnn_status clnn_batchnorm_backward(clnn_context *ctx, const clnn_tensor *x, const clnn_tensor *dy,
                                    const clnn_tensor *scale, const clnn_tensor *save_mean,
                                    const clnn_tensor *save_invstd, float beta, clnn_tensor *dx,
                                    clnn_tensor *dscale, clnn_tensor *dshift) {
  static const char fn[] = "clnn_batchnorm_backward";
  clnn_status s;
  bn_shape sh;
  if ((s = clnn__check_tensor_in(fn, ctx, x, "x")) || (s = clnn__check_tensor_in(fn, ctx, dy, "dy")) ||
      (s = clnn__check_tensor_in(fn, ctx, save_mean, "save_mean")) ||
      (s = clnn__check_tensor_in(fn, ctx, save_invstd, "save_invstd")) ||
      (s = clnn__check_tensor_in(fn, ctx, dx, "dx")))
    return s;
  if ((s = clnn__check_beta(beta))) return clnn__prefix_error(fn, s);
  if ((s = get_shape(fn, x, "x", &sh)) || (s = check_like(fn, dy, "dy", &sh, x, "x")) ||
      (s = check_like(fn, dx, "dx", &sh, x, "x")))
    return s;
  if ((s = check_channel(fn, ctx, scale, "scale", &sh, "x")) ||
      (s = check_channel(fn, ctx, save_mean, "save_mean", &sh, "x")) ||
      (s = check_channel(fn, ctx, save_invstd, "save_invstd", &sh, "x")) ||
      (s = check_channel(fn, ctx, dscale, "dscale", &sh, "x")) ||
      (s = check_channel(fn, ctx, dshift, "dshift", &sh, "x")))
    return s;
  /* dx may be x or dy (each element is read before it is written); the per-channel outputs must
   * be distinct from every other argument. */
  const clnn_tensor *all[] = {dscale, dshift, dx, scale, save_mean, save_invstd};
  const char *names[] = {"dscale", "dshift", "dx", "scale", "save_mean", "save_invstd"};
  if ((s = clnn__check_distinct(fn, all, names, 6))) return s;
  const clnn_tensor *more[] = {dscale, dshift, x, dy};
  const char *more_names[] = {"dscale", "dshift", "x", "dy"};
  if ((s = clnn__check_distinct(fn, more, more_names, 4))) return s;

  cl_mem sums;
  if ((s = clnn__workspace(ctx, 3, 2 * sh.c * sizeof(float), &sums))) return s;
  size_t local[2], global[2];
  reduce_plan(ctx, &sh, &k_bn_bwd_reduce, local, global);
  s = CLNN_RUN(ctx, &k_bn_bwd_reduce, 2, global, local, CLNN_ARG_MEM(x->mem),
               CLNN_ARG_MEM(dy->mem), CLNN_ARG_ULONG(sh.n), CLNN_ARG_ULONG(sh.c),
               CLNN_ARG_ULONG(sh.s), CLNN_ARG_MEM(save_mean->mem), CLNN_ARG_MEM(save_invstd->mem),
               CLNN_ARG_INT(0), CLNN_ARG_FLOAT(0.0f), CLNN_ARG_MEM(sums), CLNN_ARG_FLOAT(beta), CLNN_ARG_INT(dscale != NULL),
               CLNN_ARG_MEM(mem_or_null(dscale)), CLNN_ARG_INT(dshift != NULL),
               CLNN_ARG_MEM(mem_or_null(dshift)),
               CLNN_ARG_LOCAL(local[0] * local[1] * sizeof(float)));
  if (s) return s;
  ew_launch l = elementwise_plan(ctx, &sh);
  clnn__arg args[] = {CLNN_ARG_MEM(x->mem), CLNN_ARG_MEM(dy->mem), CLNN_ARG_ULONG(sh.n),
                      CLNN_ARG_ULONG(sh.c), CLNN_ARG_ULONG(sh.s), CLNN_ARG_MEM(save_mean->mem),
                      CLNN_ARG_MEM(save_invstd->mem), CLNN_ARG_INT(scale != NULL),
                      CLNN_ARG_MEM(mem_or_null(scale)), CLNN_ARG_MEM(sums),
                      CLNN_ARG_FLOAT(1.0 / (double)sh.m), CLNN_ARG_FLOAT(beta),
                      CLNN_ARG_MEM(dx->mem), CLNN_ARG_ULONG(l.rows_per_item)};
  size_t nargs = sizeof args / sizeof *args;
  return clnn__run(ctx, l.rows ? &k_bn_bwd_data_rows : &k_bn_bwd_data, l.dim, l.global,
                   l.rows ? l.local : NULL, args, l.rows ? nargs : nargs - 1);
}

clnn_status clnn_batchnorm_backward_inference(clnn_context *ctx, const clnn_tensor *x,
                                              const clnn_tensor *dy, const clnn_tensor *scale,
                                              const clnn_tensor *running_mean,
                                              const clnn_tensor *running_var, float eps,
                                              float beta, clnn_tensor *dx, clnn_tensor *dscale,
                                              clnn_tensor *dshift) {
  static const char fn[] = "clnn_batchnorm_backward_inference";
  clnn_status s;
  bn_shape sh;
  if ((s = clnn__check_tensor_in(fn, ctx, x, "x")) || (s = clnn__check_tensor_in(fn, ctx, dy, "dy")) ||
      (s = clnn__check_tensor_in(fn, ctx, running_mean, "running_mean")) ||
      (s = clnn__check_tensor_in(fn, ctx, running_var, "running_var")))
    return s;
  if (dx && (s = clnn__check_tensor_in(fn, ctx, dx, "dx"))) return s;
  if (!dx && !dscale && !dshift)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: dx, dscale and dshift are all NULL; "
                       "nothing to compute", fn);
  if ((s = clnn__check_beta(beta))) return clnn__prefix_error(fn, s);
  if ((s = get_shape(fn, x, "x", &sh)) || (s = check_like(fn, dy, "dy", &sh, x, "x")) ||
      (dx && (s = check_like(fn, dx, "dx", &sh, x, "x"))))
    return s;
  if ((s = check_channel(fn, ctx, scale, "scale", &sh, "x")) ||
      (s = check_channel(fn, ctx, running_mean, "running_mean", &sh, "x")) ||
      (s = check_channel(fn, ctx, running_var, "running_var", &sh, "x")) ||
      (s = check_channel(fn, ctx, dscale, "dscale", &sh, "x")) ||
      (s = check_channel(fn, ctx, dshift, "dshift", &sh, "x")))
    return s;
  if ((s = check_eps(fn, eps))) return s;
  /* dx may be x or dy (the reductions read x before dx is written, and dx reads each element of
   * dy before writing it); the per-channel outputs must be distinct from every other argument. */
  const clnn_tensor *all[] = {dscale, dshift, dx, scale, running_mean, running_var};
  const char *names[] = {"dscale", "dshift", "dx", "scale", "running_mean", "running_var"};
  if ((s = clnn__check_distinct(fn, all, names, 6))) return s;
  const clnn_tensor *more[] = {dscale, dshift, x, dy};
  const char *more_names[] = {"dscale", "dshift", "x", "dy"};
  if ((s = clnn__check_distinct(fn, more, more_names, 4))) return s;

  if (dscale || dshift) {
    cl_mem sums;
    if ((s = clnn__workspace(ctx, 3, 2 * sh.c * sizeof(float), &sums))) return s;
    size_t local[2], global[2];
    reduce_plan(ctx, &sh, &k_bn_bwd_reduce, local, global);
    s = CLNN_RUN(ctx, &k_bn_bwd_reduce, 2, global, local, CLNN_ARG_MEM(x->mem),
                 CLNN_ARG_MEM(dy->mem), CLNN_ARG_ULONG(sh.n), CLNN_ARG_ULONG(sh.c),
                 CLNN_ARG_ULONG(sh.s), CLNN_ARG_MEM(running_mean->mem),
                 CLNN_ARG_MEM(running_var->mem), CLNN_ARG_INT(1), CLNN_ARG_FLOAT(eps),
                 CLNN_ARG_MEM(sums), CLNN_ARG_FLOAT(beta), CLNN_ARG_INT(dscale != NULL),
                 CLNN_ARG_MEM(mem_or_null(dscale)), CLNN_ARG_INT(dshift != NULL),
                 CLNN_ARG_MEM(mem_or_null(dshift)),
                 CLNN_ARG_LOCAL(local[0] * local[1] * sizeof(float)));
    if (s) return s;
  }
  if (!dx) return CLNN_SUCCESS;
  ew_launch l = elementwise_plan(ctx, &sh);
  clnn__arg args[] = {CLNN_ARG_MEM(dy->mem), CLNN_ARG_ULONG(sh.n), CLNN_ARG_ULONG(sh.c),
                      CLNN_ARG_ULONG(sh.s), CLNN_ARG_MEM(running_var->mem), CLNN_ARG_FLOAT(eps),
                      CLNN_ARG_INT(scale != NULL), CLNN_ARG_MEM(mem_or_null(scale)),
                      CLNN_ARG_FLOAT(beta), CLNN_ARG_MEM(dx->mem), CLNN_ARG_ULONG(l.rows_per_item)};
  size_t nargs = sizeof args / sizeof *args;
  return clnn__run(ctx, l.rows ? &k_bn_bwd_data_inference_rows : &k_bn_bwd_data_inference, l.dim,
                   l.global, l.rows ? l.local : NULL, args, l.rows ? nargs : nargs - 1);
}
