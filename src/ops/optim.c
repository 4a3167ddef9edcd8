/* src/ops/optim.c — optimizers as fused, in-place kernels over parameter, gradient and state
 * tensors (SGD with momentum/dampening/Nesterov/weight decay, Adam and AdamW with bias
 * correction, RMSProp with optional momentum, AdaGrad; PyTorch semantics), and gradient clipping
 * by global L2 norm computed on the device with a deterministic two-stage reduction. Kernels in
 * cl/optim.cl. Hyper-parameters are validated and every argument checked before anything is
 * enqueued, so a failing call changes nothing. */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void clnn_sgd_params_init(clnn_sgd_params *p, float lr) {
  if (!p) return;
  memset(p, 0, sizeof *p);
  p->struct_size = (uint32_t)sizeof *p;
  p->lr = lr;
}

void clnn_adam_params_init(clnn_adam_params *p, float lr) {
  if (!p) return;
  memset(p, 0, sizeof *p);
  p->struct_size = (uint32_t)sizeof *p;
  p->lr = lr;
  p->beta1 = 0.9f;
  p->beta2 = 0.999f;
  p->eps = 1e-8f;
}

void clnn_rmsprop_params_init(clnn_rmsprop_params *p, float lr) {
  if (!p) return;
  memset(p, 0, sizeof *p);
  p->struct_size = (uint32_t)sizeof *p;
  p->lr = lr;
  p->alpha = 0.99f;
  p->eps = 1e-8f;
}

void clnn_adagrad_params_init(clnn_adagrad_params *p, float lr) {
  if (!p) return;
  memset(p, 0, sizeof *p);
  p->struct_size = (uint32_t)sizeof *p;
  p->lr = lr;
  p->eps = 1e-10f;
}

/* The kernels this file launches. */
static clnn__kernel_ref k_adagrad_step = CLNN_KERNEL_REF("optim", "adagrad_step");
static clnn__kernel_ref k_adam_step = CLNN_KERNEL_REF("optim", "adam_step");
static clnn__kernel_ref k_clip_finish = CLNN_KERNEL_REF("optim", "clip_finish");
static clnn__kernel_ref k_clip_scale = CLNN_KERNEL_REF("optim", "clip_scale");
static clnn__kernel_ref k_clip_sumsq_partial = CLNN_KERNEL_REF("optim", "clip_sumsq_partial");
static clnn__kernel_ref k_rmsprop_step = CLNN_KERNEL_REF("optim", "rmsprop_step");
static clnn__kernel_ref k_sgd_step = CLNN_KERNEL_REF("optim", "sgd_step");

/* param, grad and the state tensors (NULLs skipped): on ctx, same numel, distinct buffers. */
static clnn_status check_operands(const char *fn, const clnn_context *ctx,
                                  const clnn_tensor *const *t, const char *const *names, int count) {
  clnn_status s;
  for (int i = 0; i < count; i++) {
    if (!t[i]) continue;
    if ((s = clnn__check_tensor_in(fn, ctx, t[i], names[i]))) return s;
    if (i > 0 && (s = clnn__check_same_numel(fn, t[i], names[i], t[0], "param"))) return s;
  }
  return clnn__check_distinct(fn, t, names, count);
}

/* lo <= v (<= hi or < hi), v finite. */
static clnn_status check_range(const char *fn, const char *name, float v, double lo, double hi,
                               int hi_open) {
  int ok = isfinite(v) && v >= lo && (hi_open ? v < hi : v <= hi);
  if (ok) return CLNN_SUCCESS;
  if (isinf(hi))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: %s is %g; it must be finite and >= %g",
                       fn, name, (double)v, lo);
  return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: %s is %g; it must be in [%g, %g%c", fn,
                     name, (double)v, lo, hi, hi_open ? ')' : ']');
}
#define CHECK_NONNEG(fn, name, v) check_range(fn, name, v, 0.0, INFINITY, 0)

static clnn_status check_eps(const char *fn, float eps) {
  if (isfinite(eps) && eps > 0.0f) return CLNN_SUCCESS;
  return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: eps is %g; it must be finite and > 0", fn,
                     (double)eps);
}

static clnn_status check_params_ptr(const char *fn, const clnn_context *ctx, const void *p) {
  if (!ctx) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: context is NULL", fn);
  if (!p) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: params is NULL", fn);
  return CLNN_SUCCESS;
}

/* Elementwise launch: the elementwise policy on CPU devices; on GPUs one element per work-item
 * (chunk 0) in work-groups of 256. */
static clnn__launch optim_launch(clnn_context *ctx, size_t n, clnn__kernel_ref *kernel) {
  return clnn__launch_1d(ctx, kernel, n, (clnn__launch_policy){4, 4096, 64, 0, 256});
}

clnn_status clnn_sgd_step(clnn_context *ctx, const clnn_sgd_params *p, clnn_tensor *param,
                          const clnn_tensor *grad, clnn_tensor *velocity) {
  static const char fn[] = "clnn_sgd_step";
  clnn_sgd_params p_in;
  CLNN__STRUCT_IN(CLNN__SGD_PARAMS, fn, "p", p, p_in);
  clnn_status s;
  if ((s = check_params_ptr(fn, ctx, p))) return s;
  if ((s = clnn__check_tensor_in(fn, ctx, param, "param")) || (s = clnn__check_tensor_in(fn, ctx, grad, "grad")))
    return s;
  const clnn_tensor *ops[] = {param, grad, velocity};
  const char *names[] = {"param", "grad", "velocity"};
  if ((s = check_operands(fn, ctx, ops, names, 3))) return s;
  if ((s = CHECK_NONNEG(fn, "lr", p->lr)) || (s = CHECK_NONNEG(fn, "momentum", p->momentum)) ||
      (s = check_range(fn, "dampening", p->dampening, 0.0, 1.0, 0)) ||
      (s = CHECK_NONNEG(fn, "weight_decay", p->weight_decay)))
    return s;
  if (p->nesterov && (p->momentum <= 0.0f || p->dampening != 0.0f))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: Nesterov momentum needs momentum > 0 "
                       "and dampening 0 (momentum %g, dampening %g)", fn, (double)p->momentum,
                       (double)p->dampening);
  int use_mom = p->momentum > 0.0f;
  if (use_mom && !velocity)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: momentum is %g but velocity is NULL; "
                       "momentum needs a velocity tensor", fn, (double)p->momentum);
  clnn__launch pl = optim_launch(ctx, param->numel, &k_sgd_step);
  return CLNN_RUN(ctx, &k_sgd_step, 1, &pl.global, &pl.local, CLNN_ARG_MEM(param->mem),
                  CLNN_ARG_MEM(grad->mem), CLNN_ARG_MEM(use_mom ? velocity->mem : NULL),
                  CLNN_ARG_ULONG(param->numel), CLNN_ARG_ULONG(pl.chunk), CLNN_ARG_FLOAT(p->lr),
                  CLNN_ARG_FLOAT(p->momentum), CLNN_ARG_FLOAT(1.0 - (double)p->dampening),
                  CLNN_ARG_FLOAT(p->weight_decay), CLNN_ARG_INT(use_mom),
                  CLNN_ARG_INT(p->nesterov != 0), CLNN_ARG_INT(p->first_step != 0));
}

clnn_status clnn_adam_step(clnn_context *ctx, const clnn_adam_params *p, int step,
                           clnn_tensor *param, const clnn_tensor *grad, clnn_tensor *m,
                           clnn_tensor *v) {
  static const char fn[] = "clnn_adam_step";
  clnn_adam_params p_in;
  CLNN__STRUCT_IN(CLNN__ADAM_PARAMS, fn, "p", p, p_in);
  clnn_status s;
  if ((s = check_params_ptr(fn, ctx, p))) return s;
  if ((s = clnn__check_tensor_in(fn, ctx, param, "param")) || (s = clnn__check_tensor_in(fn, ctx, grad, "grad")) ||
      (s = clnn__check_tensor_in(fn, ctx, m, "m")) || (s = clnn__check_tensor_in(fn, ctx, v, "v")))
    return s;
  const clnn_tensor *ops[] = {param, grad, m, v};
  const char *names[] = {"param", "grad", "m", "v"};
  if ((s = check_operands(fn, ctx, ops, names, 4))) return s;
  if ((s = CHECK_NONNEG(fn, "lr", p->lr)) ||
      (s = check_range(fn, "beta1", p->beta1, 0.0, 1.0, 1)) ||
      (s = check_range(fn, "beta2", p->beta2, 0.0, 1.0, 1)) || (s = check_eps(fn, p->eps)) ||
      (s = CHECK_NONNEG(fn, "weight_decay", p->weight_decay)))
    return s;
  if (step < 1)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: step is %d; it counts from 1", fn, step);
  double bc1 = 1.0 - pow((double)p->beta1, step);
  double bc2 = 1.0 - pow((double)p->beta2, step);
  int decoupled = p->decoupled_weight_decay != 0;
  double decay = decoupled ? 1.0 - (double)p->lr * p->weight_decay : 1.0;
  clnn__launch pl = optim_launch(ctx, param->numel, &k_adam_step);
  return CLNN_RUN(ctx, &k_adam_step, 1, &pl.global, &pl.local, CLNN_ARG_MEM(param->mem),
                  CLNN_ARG_MEM(grad->mem), CLNN_ARG_MEM(m->mem), CLNN_ARG_MEM(v->mem),
                  CLNN_ARG_ULONG(param->numel), CLNN_ARG_ULONG(pl.chunk),
                  CLNN_ARG_FLOAT((double)p->lr / bc1), CLNN_ARG_FLOAT(p->beta1),
                  CLNN_ARG_FLOAT(1.0 - (double)p->beta1), CLNN_ARG_FLOAT(p->beta2),
                  CLNN_ARG_FLOAT(1.0 - (double)p->beta2), CLNN_ARG_FLOAT(p->eps),
                  CLNN_ARG_FLOAT(decoupled ? 0.0f : p->weight_decay), CLNN_ARG_FLOAT(decay),
                  CLNN_ARG_FLOAT(1.0 / sqrt(bc2)));
}

clnn_status clnn_rmsprop_step(clnn_context *ctx, const clnn_rmsprop_params *p, clnn_tensor *param,
                              const clnn_tensor *grad, clnn_tensor *square_avg,
                              clnn_tensor *momentum_buf) {
  static const char fn[] = "clnn_rmsprop_step";
  clnn_rmsprop_params p_in;
  CLNN__STRUCT_IN(CLNN__RMSPROP_PARAMS, fn, "p", p, p_in);
  clnn_status s;
  if ((s = check_params_ptr(fn, ctx, p))) return s;
  if ((s = clnn__check_tensor_in(fn, ctx, param, "param")) || (s = clnn__check_tensor_in(fn, ctx, grad, "grad")) ||
      (s = clnn__check_tensor_in(fn, ctx, square_avg, "square_avg")))
    return s;
  const clnn_tensor *ops[] = {param, grad, square_avg, momentum_buf};
  const char *names[] = {"param", "grad", "square_avg", "momentum_buf"};
  if ((s = check_operands(fn, ctx, ops, names, 4))) return s;
  if ((s = CHECK_NONNEG(fn, "lr", p->lr)) ||
      (s = check_range(fn, "alpha", p->alpha, 0.0, 1.0, 0)) || (s = check_eps(fn, p->eps)) ||
      (s = CHECK_NONNEG(fn, "weight_decay", p->weight_decay)) ||
      (s = CHECK_NONNEG(fn, "momentum", p->momentum)))
    return s;
  int use_mom = p->momentum > 0.0f;
  if (use_mom && !momentum_buf)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: momentum is %g but momentum_buf is "
                       "NULL; momentum needs a buffer", fn, (double)p->momentum);
  clnn__launch pl = optim_launch(ctx, param->numel, &k_rmsprop_step);
  return CLNN_RUN(ctx, &k_rmsprop_step, 1, &pl.global, &pl.local,
                  CLNN_ARG_MEM(param->mem), CLNN_ARG_MEM(grad->mem),
                  CLNN_ARG_MEM(square_avg->mem), CLNN_ARG_MEM(use_mom ? momentum_buf->mem : NULL),
                  CLNN_ARG_ULONG(param->numel), CLNN_ARG_ULONG(pl.chunk), CLNN_ARG_FLOAT(p->lr),
                  CLNN_ARG_FLOAT(p->alpha), CLNN_ARG_FLOAT(1.0 - (double)p->alpha),
                  CLNN_ARG_FLOAT(p->eps), CLNN_ARG_FLOAT(p->weight_decay),
                  CLNN_ARG_FLOAT(p->momentum), CLNN_ARG_INT(use_mom));
}

clnn_status clnn_adagrad_step(clnn_context *ctx, const clnn_adagrad_params *p, clnn_tensor *param,
                              const clnn_tensor *grad, clnn_tensor *sum) {
  static const char fn[] = "clnn_adagrad_step";
  clnn_adagrad_params p_in;
  CLNN__STRUCT_IN(CLNN__ADAGRAD_PARAMS, fn, "p", p, p_in);
  clnn_status s;
  if ((s = check_params_ptr(fn, ctx, p))) return s;
  if ((s = clnn__check_tensor_in(fn, ctx, param, "param")) || (s = clnn__check_tensor_in(fn, ctx, grad, "grad")) ||
      (s = clnn__check_tensor_in(fn, ctx, sum, "sum")))
    return s;
  const clnn_tensor *ops[] = {param, grad, sum};
  const char *names[] = {"param", "grad", "sum"};
  if ((s = check_operands(fn, ctx, ops, names, 3))) return s;
  if ((s = CHECK_NONNEG(fn, "lr", p->lr)) || (s = check_eps(fn, p->eps)) ||
      (s = CHECK_NONNEG(fn, "weight_decay", p->weight_decay)))
    return s;
  clnn__launch pl = optim_launch(ctx, param->numel, &k_adagrad_step);
  return CLNN_RUN(ctx, &k_adagrad_step, 1, &pl.global, &pl.local,
                  CLNN_ARG_MEM(param->mem), CLNN_ARG_MEM(grad->mem), CLNN_ARG_MEM(sum->mem),
                  CLNN_ARG_ULONG(param->numel), CLNN_ARG_ULONG(pl.chunk), CLNN_ARG_FLOAT(p->lr),
                  CLNN_ARG_FLOAT(p->eps), CLNN_ARG_FLOAT(p->weight_decay));
}

/* Sum-of-squares partials of one tensor: CPU devices one contiguous chunk per work-group of one
 * work-item; GPUs up to 64 work-groups of 256 striding over the tensor. */
typedef struct clip_plan {
  size_t chunk, groups, local;
} clip_plan;

/* The clipping reductions' work-group: 256 on GPUs, lowered to what both kernels allow. */
static size_t reduce_local(clnn_context *ctx) {
  if (ctx->device_class == CLNN_DEVICE_CLASS_CPU) return 1;
  size_t l = 256, max_wg = clnn__kernel_wg_limit(ctx, &k_clip_sumsq_partial),
         fin = clnn__kernel_wg_limit(ctx, &k_clip_finish);
  if (fin < max_wg) max_wg = fin;
  while (l > max_wg && l > 1) l /= 2;
  return l;
}

static clip_plan clip_partial_plan(clnn_context *ctx, size_t n) {
  clip_plan p;
  p.local = reduce_local(ctx);
  if (ctx->device_class == CLNN_DEVICE_CLASS_CPU) {
    clnn__launch e = optim_launch(ctx, n, &k_clip_sumsq_partial);
    p.chunk = e.chunk;
    p.groups = e.global;
  } else {
    p.chunk = 0;
    p.groups = (n + p.local - 1) / p.local;
    if (p.groups > 64) p.groups = 64;
  }
  return p;
}

clnn_status clnn_clip_grad_norm(clnn_context *ctx, clnn_tensor *const *grads, size_t count,
                                float max_norm, float *total_norm) {
  static const char fn[] = "clnn_clip_grad_norm";
  clnn_status s;
  if (!ctx) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: context is NULL", fn);
  if (!grads) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: grads is NULL", fn);
  if (count == 0)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: count is 0; there are no gradients to "
                       "clip", fn);
  for (size_t i = 0; i < count; i++) {
    char name[48];
    snprintf(name, sizeof name, "grads[%zu]", i);
    if ((s = clnn__check_tensor_in(fn, ctx, grads[i], name))) return s;
    for (size_t j = 0; j < i; j++)
      if (grads[j]->mem == grads[i]->mem)
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: grads[%zu] and grads[%zu] share one "
                           "buffer; each gradient must appear once", fn, j, i);
  }
  if ((s = CHECK_NONNEG(fn, "max_norm", max_norm))) return s;

  size_t total = 0;
  for (size_t i = 0; i < count; i++) total += clip_partial_plan(ctx, grads[i]->numel).groups;
  cl_mem work;
  if ((s = clnn__workspace(ctx, 3, (total + 2) * sizeof(float), &work))) return s;
  size_t offset = 0;
  for (size_t i = 0; i < count; i++) {
    clip_plan p = clip_partial_plan(ctx, grads[i]->numel);
    size_t global = p.groups * p.local;
    s = CLNN_RUN(ctx, &k_clip_sumsq_partial, 1, &global, &p.local,
                 CLNN_ARG_MEM(grads[i]->mem), CLNN_ARG_ULONG(grads[i]->numel),
                 CLNN_ARG_ULONG(p.chunk), CLNN_ARG_MEM(work), CLNN_ARG_ULONG(offset),
                 CLNN_ARG_LOCAL(p.local * sizeof(float)));
    if (s) return s;
    offset += p.groups;
  }
  size_t local = reduce_local(ctx), global = local;
  s = CLNN_RUN(ctx, &k_clip_finish, 1, &global, &local, CLNN_ARG_MEM(work),
               CLNN_ARG_ULONG(total), CLNN_ARG_FLOAT(max_norm),
               CLNN_ARG_LOCAL(local * sizeof(float)));
  if (s) return s;
  for (size_t i = 0; i < count; i++) {
    clnn__launch pl = optim_launch(ctx, grads[i]->numel, &k_clip_scale);
    s = CLNN_RUN(ctx, &k_clip_scale, 1, &pl.global, &pl.local,
                 CLNN_ARG_MEM(grads[i]->mem), CLNN_ARG_ULONG(grads[i]->numel),
                 CLNN_ARG_ULONG(pl.chunk), CLNN_ARG_MEM(work), CLNN_ARG_ULONG(total + 1));
    if (s) return s;
  }
  if (total_norm) {
    float norm = 0.0f;
    cl_int err = clEnqueueReadBuffer(ctx->queue, work, CL_TRUE, total * sizeof(float),
                                     sizeof(float), &norm, 0, NULL, NULL);
    if (err != CL_SUCCESS) return clnn__cl_error(err, "clnn_clip_grad_norm: reading the norm");
    *total_norm = norm;
  }
  return CLNN_SUCCESS;
}
