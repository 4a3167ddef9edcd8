/* src/ops/layernorm.c — layer normalisation and RMS normalisation over the last dimension (x
 * viewed as [R, D]), forward and backward for x, weight and bias. Kernels in cl/layernorm.cl;
 * every reduction has a fixed order (no atomics), so results repeat bit for bit. Every argument is
 * validated before anything is enqueued, so a failing call writes nothing. */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The kernels this file launches. */
static clnn__kernel_ref k_ln_bwd_data = CLNN_KERNEL_REF("layernorm", "ln_bwd_data");
static clnn__kernel_ref k_ln_bwd_params_finish = CLNN_KERNEL_REF("layernorm", "ln_bwd_params_finish");
static clnn__kernel_ref k_ln_bwd_params_part = CLNN_KERNEL_REF("layernorm", "ln_bwd_params_part");
static clnn__kernel_ref k_ln_bwd_rows = CLNN_KERNEL_REF("layernorm", "ln_bwd_rows");
static clnn__kernel_ref k_ln_forward = CLNN_KERNEL_REF("layernorm", "ln_forward");

typedef struct ln_shape {
  size_t r, d;   /* rows, row length (x's last dimension) */
  char str[128]; /* x's shape, for messages */
} ln_shape;

/* t has exactly x's shape. */
static clnn_status check_like(const char *fn, const clnn_tensor *t, const char *name,
                              const clnn_tensor *x, const ln_shape *sh) {
  int same = t->ndim == x->ndim;
  for (int i = 0; same && i < x->ndim; i++) same = t->dims[i] == x->dims[i];
  if (same) return CLNN_SUCCESS;
  char a[128];
  return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: %s has shape %s, expected %s (the shape of x)",
                     fn, name, clnn__dims_str(t, a, sizeof a), sh->str);
}

/* t (if not NULL) is on ctx and 1-D [D]. */
static clnn_status check_param(const char *fn, const clnn_context *ctx, const clnn_tensor *t,
                               const char *name, const ln_shape *sh) {
  if (!t) return CLNN_SUCCESS;
  clnn_status s = clnn__check_tensor_in(fn, ctx, t, name);
  if (s) return s;
  if (t->ndim == 1 && t->dims[0] == sh->d) return CLNN_SUCCESS;
  char a[128];
  return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: %s has shape %s, expected [%zu] (the last "
                     "dimension of x %s)", fn, name, clnn__dims_str(t, a, sizeof a), sh->d, sh->str);
}

/* t (if not NULL) is on ctx and holds R elements (one per row). */
static clnn_status check_stat(const char *fn, const clnn_context *ctx, const clnn_tensor *t,
                              const char *name, const ln_shape *sh) {
  if (!t) return CLNN_SUCCESS;
  clnn_status s = clnn__check_tensor_in(fn, ctx, t, name);
  if (s) return s;
  if (t->numel == sh->r) return CLNN_SUCCESS;
  char a[128];
  return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: %s has shape %s; it must hold %zu elements, "
                     "one per row of x %s", fn, name, clnn__dims_str(t, a, sizeof a), sh->r, sh->str);
}

static clnn_status check_eps(const char *fn, float eps) {
  if (isfinite(eps) && eps > 0.0f) return CLNN_SUCCESS;
  return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: eps is %g; it must be finite and > 0", fn,
                     (double)eps);
}

static void get_shape(const clnn_tensor *x, ln_shape *sh) {
  clnn__dims_str(x, sh->str, sizeof sh->str);
  sh->d = x->dims[x->ndim - 1];
  sh->r = x->numel / sh->d;
}

static cl_mem mem_or_null(const clnn_tensor *t) { return t ? t->mem : NULL; }

/* Lanes per row: 1 on CPU devices (one work-item walks a row), else a power of two up to 256
 * that does not exceed the row much, nor the kernel's work-group limit. */
static size_t row_lanes(clnn_context *ctx, const ln_shape *sh, clnn__kernel_ref *kernel) {
  if (ctx->device_class == CLNN_DEVICE_CLASS_CPU) return 1;
  size_t L = 32, max_wg = clnn__kernel_wg_limit(ctx, kernel);
  while (L < 256 && L < sh->d) L *= 2;
  while (L > max_wg && L > 1) L /= 2;
  return L;
}

static clnn_status forward(const char *fn, clnn_context *ctx, int rms, const clnn_tensor *x,
                           const clnn_tensor *weight, const clnn_tensor *bias, float eps,
                           clnn_tensor *y, clnn_tensor *save_mean, clnn_tensor *save_rstd) {
  clnn_status s;
  ln_shape sh;
  if ((s = clnn__check_tensor_in(fn, ctx, x, "x")) || (s = clnn__check_tensor_in(fn, ctx, y, "y"))) return s;
  get_shape(x, &sh);
  if ((s = check_like(fn, y, "y", x, &sh)) || (s = check_param(fn, ctx, weight, "weight", &sh)) ||
      (s = check_param(fn, ctx, bias, "bias", &sh)) ||
      (s = check_stat(fn, ctx, save_mean, "save_mean", &sh)) ||
      (s = check_stat(fn, ctx, save_rstd, "save_rstd", &sh)))
    return s;
  if (!rms && !save_mean != !save_rstd)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: save_mean and save_rstd must both be "
                       "given or both be NULL", fn);
  if ((s = check_eps(fn, eps))) return s;
  /* y may be x; the statistics must be distinct from everything, y from the parameters */
  const clnn_tensor *outs[] = {y, save_mean, save_rstd}, *ins[] = {x, weight, bias};
  const char *onames[] = {"y", "save_mean", "save_rstd"}, *inames[] = {"x", "weight", "bias"};
  if ((s = clnn__check_cross(fn, outs, onames, 3, outs, onames, 3)) ||
      (s = clnn__check_cross(fn, outs + 1, onames + 1, 2, ins, inames, 3)) ||
      (s = clnn__check_cross(fn, outs, onames, 1, ins + 1, inames + 1, 2)))
    return s;
  size_t L = row_lanes(ctx, &sh, &k_ln_forward), global = sh.r * L;
  return CLNN_RUN(ctx, &k_ln_forward, 1, &global, &L, CLNN_ARG_MEM(x->mem),
                  CLNN_ARG_MEM(y->mem), CLNN_ARG_ULONG(sh.r), CLNN_ARG_ULONG(sh.d),
                  CLNN_ARG_FLOAT(eps), CLNN_ARG_INT(rms), CLNN_ARG_INT(weight != NULL),
                  CLNN_ARG_MEM(mem_or_null(weight)), CLNN_ARG_INT(bias != NULL),
                  CLNN_ARG_MEM(mem_or_null(bias)), CLNN_ARG_INT(save_rstd != NULL),
                  CLNN_ARG_MEM(mem_or_null(save_mean)), CLNN_ARG_MEM(mem_or_null(save_rstd)),
                  CLNN_ARG_LOCAL(L * sizeof(float)));
}

static clnn_status backward(const char *fn, clnn_context *ctx, int rms, const clnn_tensor *x,
                            const clnn_tensor *dy, const clnn_tensor *weight,
                            const clnn_tensor *save_mean, const clnn_tensor *save_rstd, float beta,
                            clnn_tensor *dx, clnn_tensor *dweight, clnn_tensor *dbias) {
  clnn_status s;
  ln_shape sh;
  if ((s = clnn__check_tensor_in(fn, ctx, x, "x")) || (s = clnn__check_tensor_in(fn, ctx, dy, "dy")) ||
      (!rms && (s = clnn__check_tensor_in(fn, ctx, save_mean, "save_mean"))) ||
      (s = clnn__check_tensor_in(fn, ctx, save_rstd, "save_rstd")) || (s = clnn__check_tensor_in(fn, ctx, dx, "dx")))
    return s;
  if ((s = clnn__check_beta(beta))) return clnn__prefix_error(fn, s);
  get_shape(x, &sh);
  if ((s = check_like(fn, dy, "dy", x, &sh)) || (s = check_like(fn, dx, "dx", x, &sh)) ||
      (s = check_param(fn, ctx, weight, "weight", &sh)) ||
      (s = check_stat(fn, ctx, save_mean, "save_mean", &sh)) ||
      (s = check_stat(fn, ctx, save_rstd, "save_rstd", &sh)) ||
      (s = check_param(fn, ctx, dweight, "dweight", &sh)) ||
      (s = check_param(fn, ctx, dbias, "dbias", &sh)))
    return s;
  /* dx may be x or dy; the parameter gradients must be distinct from every other argument, and
   * dx from weight and the statistics */
  const clnn_tensor *outs[] = {dx, dweight, dbias};
  const clnn_tensor *ins[] = {weight, save_mean, save_rstd, x, dy};
  const char *onames[] = {"dx", "dweight", "dbias"};
  const char *inames[] = {"weight", "save_mean", "save_rstd", "x", "dy"};
  if ((s = clnn__check_cross(fn, outs, onames, 3, outs, onames, 3)) ||
      (s = clnn__check_cross(fn, outs + 1, onames + 1, 2, ins, inames, 5)) ||
      (s = clnn__check_cross(fn, outs, onames, 1, ins, inames, 3)))
    return s;

  /* the parameter gradients are column sums over P parts of consecutive rows (P depends only on
   * R), added in order by ln_bwd_params_finish */
  size_t P = (sh.r + 15) / 16;
  if (P > 64) P = 64;
  size_t per = (sh.r + P - 1) / P;
  P = (sh.r + per - 1) / per;
  int want_params = dweight || dbias;
  cl_mem part = dx->mem; /* not read when no parameter gradient is wanted */
  if (want_params && (s = clnn__workspace(ctx, 3, 2 * P * sh.d * sizeof(float), &part))) return s;
  cl_mem mean_mem = rms ? save_rstd->mem : save_mean->mem;
  if (ctx->device_class == CLNN_DEVICE_CLASS_CPU) {
    /* one pass: a work-item per part does its rows' parameter sums and dx */
    const size_t one = 1; /* a fixed local size: one compiled variant whatever P is */
    s = CLNN_RUN(ctx, &k_ln_bwd_rows, 1, &P, &one, CLNN_ARG_MEM(x->mem), CLNN_ARG_MEM(dy->mem),
                 CLNN_ARG_ULONG(sh.r), CLNN_ARG_ULONG(sh.d), CLNN_ARG_INT(rms),
                 CLNN_ARG_INT(weight != NULL), CLNN_ARG_MEM(mem_or_null(weight)),
                 CLNN_ARG_MEM(mean_mem), CLNN_ARG_MEM(save_rstd->mem), CLNN_ARG_FLOAT(beta),
                 CLNN_ARG_MEM(dx->mem), CLNN_ARG_ULONG(per), CLNN_ARG_ULONG(P),
                 CLNN_ARG_INT(want_params), CLNN_ARG_INT(dbias != NULL), CLNN_ARG_MEM(part));
    if (s || !want_params) return s;
  } else if (want_params) {
    /* parameter gradients first: they read x and dy, which dx may overwrite */
    /* fixed local sizes (PoCL compiles a kernel once per local size; one it picks follows the
     * global size) */
    size_t g2[2] = {sh.d, P}, l2[2] = {clnn__local_pow2(ctx, &k_ln_bwd_params_part, 64, 64), 1};
    s = CLNN_RUN(ctx, &k_ln_bwd_params_part, 2, g2, l2, CLNN_ARG_MEM(x->mem),
                 CLNN_ARG_MEM(dy->mem), CLNN_ARG_ULONG(sh.r), CLNN_ARG_ULONG(sh.d),
                 CLNN_ARG_INT(rms), CLNN_ARG_MEM(mean_mem), CLNN_ARG_MEM(save_rstd->mem),
                 CLNN_ARG_ULONG(per), CLNN_ARG_ULONG(P), CLNN_ARG_INT(dbias != NULL),
                 CLNN_ARG_MEM(part));
    if (s) return s;
  }
  if (want_params) {
    size_t g1 = sh.d, l1 = clnn__local_pow2(ctx, &k_ln_bwd_params_finish, 64, 64);
    s = CLNN_RUN(ctx, &k_ln_bwd_params_finish, 1, &g1, &l1, CLNN_ARG_MEM(part),
                 CLNN_ARG_ULONG(sh.d), CLNN_ARG_ULONG(P), CLNN_ARG_FLOAT(beta),
                 CLNN_ARG_INT(dweight != NULL), CLNN_ARG_MEM(mem_or_null(dweight)),
                 CLNN_ARG_INT(dbias != NULL), CLNN_ARG_MEM(mem_or_null(dbias)));
    if (s || ctx->device_class == CLNN_DEVICE_CLASS_CPU) return s;
  }
  size_t L = row_lanes(ctx, &sh, &k_ln_bwd_data), global = sh.r * L;
  return CLNN_RUN(ctx, &k_ln_bwd_data, 1, &global, &L, CLNN_ARG_MEM(x->mem),
                  CLNN_ARG_MEM(dy->mem), CLNN_ARG_ULONG(sh.r), CLNN_ARG_ULONG(sh.d),
                  CLNN_ARG_INT(rms), CLNN_ARG_INT(weight != NULL),
                  CLNN_ARG_MEM(mem_or_null(weight)), CLNN_ARG_MEM(mean_mem),
                  CLNN_ARG_MEM(save_rstd->mem), CLNN_ARG_FLOAT(beta), CLNN_ARG_MEM(dx->mem),
                  CLNN_ARG_LOCAL(L * sizeof(float)));
}

clnn_status clnn_layernorm_forward(clnn_context *ctx, const clnn_tensor *x,
                                   const clnn_tensor *weight, const clnn_tensor *bias, float eps,
                                   clnn_tensor *y, clnn_tensor *save_mean, clnn_tensor *save_rstd) {
  return forward("clnn_layernorm_forward", ctx, 0, x, weight, bias, eps, y, save_mean, save_rstd);
}

clnn_status clnn_layernorm_backward(clnn_context *ctx, const clnn_tensor *x, const clnn_tensor *dy,
                                    const clnn_tensor *weight, const clnn_tensor *save_mean,
                                    const clnn_tensor *save_rstd, float beta, clnn_tensor *dx,
                                    clnn_tensor *dweight, clnn_tensor *dbias) {
  return backward("clnn_layernorm_backward", ctx, 0, x, dy, weight, save_mean, save_rstd, beta, dx,
                  dweight, dbias);
}

clnn_status clnn_rmsnorm_forward(clnn_context *ctx, const clnn_tensor *x, const clnn_tensor *weight,
                                 float eps, clnn_tensor *y, clnn_tensor *save_rstd) {
  return forward("clnn_rmsnorm_forward", ctx, 1, x, weight, NULL, eps, y, NULL, save_rstd);
}

clnn_status clnn_rmsnorm_backward(clnn_context *ctx, const clnn_tensor *x, const clnn_tensor *dy,
                                  const clnn_tensor *weight, const clnn_tensor *save_rstd,
                                  float beta, clnn_tensor *dx, clnn_tensor *dweight) {
  return backward("clnn_rmsnorm_backward", ctx, 1, x, dy, weight, NULL, save_rstd, beta, dx,
                  dweight, NULL);
}
