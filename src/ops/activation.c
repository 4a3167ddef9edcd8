/* src/ops/activation.c — host side of the activation functions (cl/activation.cl):
 * clnn_activation_forward and clnn_activation_backward (from the saved input or output). */
#include "internal.h"

#include <math.h>

/* The kernels this file launches: one per activation (cl/activation.cl), indexed by its id, so
 * that PoCL generates code only for the activations a network uses. Backward has one kernel per
 * saved tensor where the formula differs (_x from the input, _y from the output); ReLU and leaky
 * ReLU use the same one for both, and the entries left out have no formula from y. */
#define ACT_REF(name) CLNN_KERNEL_REF("activation", name)
static clnn__kernel_ref k_act_forward[CLNN_ACT_ID_COUNT] = {
    [CLNN_ACT_ID_IDENTITY] = ACT_REF("act_forward_identity"),
    [CLNN_ACT_ID_RELU] = ACT_REF("act_forward_relu"),
    [CLNN_ACT_ID_LEAKY_RELU] = ACT_REF("act_forward_leaky_relu"),
    [CLNN_ACT_ID_ELU] = ACT_REF("act_forward_elu"),
    [CLNN_ACT_ID_SIGMOID] = ACT_REF("act_forward_sigmoid"),
    [CLNN_ACT_ID_TANH] = ACT_REF("act_forward_tanh"),
    [CLNN_ACT_ID_GELU] = ACT_REF("act_forward_gelu"),
    [CLNN_ACT_ID_SOFTPLUS] = ACT_REF("act_forward_softplus"),
};
static clnn__kernel_ref k_act_backward_x[CLNN_ACT_ID_COUNT] = {
    [CLNN_ACT_ID_IDENTITY] = ACT_REF("act_backward_identity"),
    [CLNN_ACT_ID_RELU] = ACT_REF("act_backward_relu"),
    [CLNN_ACT_ID_LEAKY_RELU] = ACT_REF("act_backward_leaky_relu"),
    [CLNN_ACT_ID_ELU] = ACT_REF("act_backward_elu_x"),
    [CLNN_ACT_ID_SIGMOID] = ACT_REF("act_backward_sigmoid_x"),
    [CLNN_ACT_ID_TANH] = ACT_REF("act_backward_tanh_x"),
    [CLNN_ACT_ID_GELU] = ACT_REF("act_backward_gelu_x"),
    [CLNN_ACT_ID_SOFTPLUS] = ACT_REF("act_backward_softplus_x"),
};
static clnn__kernel_ref k_act_backward_y[CLNN_ACT_ID_COUNT] = {
    [CLNN_ACT_ID_RELU] = ACT_REF("act_backward_relu"),
    [CLNN_ACT_ID_LEAKY_RELU] = ACT_REF("act_backward_leaky_relu"),
    [CLNN_ACT_ID_ELU] = ACT_REF("act_backward_elu_y"),
    [CLNN_ACT_ID_SIGMOID] = ACT_REF("act_backward_sigmoid_y"),
    [CLNN_ACT_ID_TANH] = ACT_REF("act_backward_tanh_y"),
};
#undef ACT_REF

/* The kernels take the activation as its CLNN_ACT_ID_* number (cl/common.h), the API as a
 * clnn_activation (include/clnn.h). The compiler holds the two lists together: every enum value
 * must equal its id (the static assertions) and have a case in clnn__act_name (a missing case is
 * an error: -Wswitch is raised to an error there), so a new activation cannot reach one list
 * without the other. */
_Static_assert((int)CLNN_ACT_IDENTITY == CLNN_ACT_ID_IDENTITY, "CLNN_ACT_IDENTITY != CLNN_ACT_ID_IDENTITY");
_Static_assert((int)CLNN_ACT_RELU == CLNN_ACT_ID_RELU, "CLNN_ACT_RELU != CLNN_ACT_ID_RELU");
_Static_assert((int)CLNN_ACT_LEAKY_RELU == CLNN_ACT_ID_LEAKY_RELU, "CLNN_ACT_LEAKY_RELU != CLNN_ACT_ID_LEAKY_RELU");
_Static_assert((int)CLNN_ACT_ELU == CLNN_ACT_ID_ELU, "CLNN_ACT_ELU != CLNN_ACT_ID_ELU");
_Static_assert((int)CLNN_ACT_SIGMOID == CLNN_ACT_ID_SIGMOID, "CLNN_ACT_SIGMOID != CLNN_ACT_ID_SIGMOID");
_Static_assert((int)CLNN_ACT_TANH == CLNN_ACT_ID_TANH, "CLNN_ACT_TANH != CLNN_ACT_ID_TANH");
_Static_assert((int)CLNN_ACT_GELU == CLNN_ACT_ID_GELU, "CLNN_ACT_GELU != CLNN_ACT_ID_GELU");
_Static_assert((int)CLNN_ACT_SOFTPLUS == CLNN_ACT_ID_SOFTPLUS, "CLNN_ACT_SOFTPLUS != CLNN_ACT_ID_SOFTPLUS");
_Static_assert(CLNN_ACT_ID_COUNT == (int)CLNN_ACT_SOFTPLUS + 1, "CLNN_ACT_ID_COUNT is not one past the last activation");

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic error "-Wswitch"
#endif
const char *clnn__act_name(clnn_activation act) {
  switch (act) { /* no default: every clnn_activation needs a case */
    case CLNN_ACT_IDENTITY: return "identity";
    case CLNN_ACT_RELU: return "relu";
    case CLNN_ACT_LEAKY_RELU: return "leaky_relu";
    case CLNN_ACT_ELU: return "elu";
    case CLNN_ACT_SIGMOID: return "sigmoid";
    case CLNN_ACT_TANH: return "tanh";
    case CLNN_ACT_GELU: return "gelu";
    case CLNN_ACT_SOFTPLUS: return "softplus";
  }
  return NULL;
}
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

static clnn_status act_check_params(const char *fn, clnn_activation act, float alpha) {
  if ((int)act < 0 || (int)act >= CLNN_ACT_ID_COUNT)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: activation %d is not a clnn_activation (0..%d)", fn, (int)act,
                       CLNN_ACT_ID_COUNT - 1);
  if ((act == CLNN_ACT_LEAKY_RELU || act == CLNN_ACT_ELU) && !isfinite(alpha))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: alpha of %s is %g; it must be finite", fn,
                       clnn__act_name(act), (double)alpha);
  return CLNN_SUCCESS;
}

clnn_status clnn_activation_forward(clnn_context *ctx, clnn_activation act, float alpha,
                                    const clnn_tensor *x, clnn_tensor *y) {
  const char *fn = "clnn_activation_forward";
  clnn_status s;
  if ((s = clnn__check_tensor(ctx, x, "x")) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_tensor(ctx, y, "y")) != CLNN_SUCCESS) return s;
  if ((s = act_check_params(fn, act, alpha)) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_same_shape(fn, y, "y", x, "x")) != CLNN_SUCCESS) return s;
  clnn__kernel_ref *k = &k_act_forward[act];
  const clnn__launch l = clnn__launch_1d(ctx, k, x->numel, CLNN_LAUNCH_ELEMENTWISE(1));
  return CLNN_RUN(ctx, k, 1, &l.global, &l.local, CLNN_ARG_MEM(x->mem), CLNN_ARG_MEM(y->mem),
                  CLNN_ARG_ULONG(x->numel), CLNN_ARG_ULONG(l.chunk), CLNN_ARG_FLOAT(alpha));
}

clnn_status clnn_activation_backward(clnn_context *ctx, clnn_activation act, float alpha,
                                     const clnn_tensor *x, const clnn_tensor *y,
                                     const clnn_tensor *dy, float beta, clnn_tensor *dx) {
  const char *fn = "clnn_activation_backward";
  clnn_status s;
  if ((s = clnn__check_tensor(ctx, dy, "dy")) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_tensor(ctx, dx, "dx")) != CLNN_SUCCESS) return s;
  if (x && (s = clnn__check_tensor(ctx, x, "x")) != CLNN_SUCCESS) return s;
  if (y && (s = clnn__check_tensor(ctx, y, "y")) != CLNN_SUCCESS) return s;
  if ((s = act_check_params(fn, act, alpha)) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_beta(beta)) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_same_shape(fn, dx, "dx", dy, "dy")) != CLNN_SUCCESS) return s;
  if (x && (s = clnn__check_same_shape(fn, x, "x", dy, "dy")) != CLNN_SUCCESS) return s;
  if (y && (s = clnn__check_same_shape(fn, y, "y", dy, "dy")) != CLNN_SUCCESS) return s;

  /* Which saved tensor the derivative is computed from. */
  const clnn_tensor *src = NULL;
  int from_y = 0;
  switch (act) {
    case CLNN_ACT_IDENTITY:
      break; /* needs neither */
    case CLNN_ACT_SIGMOID:
    case CLNN_ACT_TANH: /* from y is cheaper (no exp) */
      if (y) { src = y; from_y = 1; } else if (x) { src = x; }
      break;
    case CLNN_ACT_RELU:
      if (x) { src = x; } else if (y) { src = y; from_y = 1; }
      break;
    case CLNN_ACT_LEAKY_RELU:
    case CLNN_ACT_ELU:
      if (x) {
        src = x;
      } else if (y) {
        /* With alpha < 0 the sign of y no longer tells which side of 0 x was on. */
        if (!(alpha >= 0.0f))
          return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                             "%s: %s with negative alpha (%g) needs the saved input x; the "
                             "output y alone is ambiguous",
                             fn, clnn__act_name(act), (double)alpha);
        src = y;
        from_y = 1;
      }
      break;
    case CLNN_ACT_GELU:
    case CLNN_ACT_SOFTPLUS:
      if (!x)
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                           "%s: %s backward needs the saved input x (it is NULL)", fn,
                           clnn__act_name(act));
      src = x;
      break;
  }
  if (act != CLNN_ACT_IDENTITY && !src)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: %s backward needs the saved input x or output y; both are NULL", fn,
                       clnn__act_name(act));

  clnn__kernel_ref *k = from_y ? &k_act_backward_y[act] : &k_act_backward_x[act];
  if (!k->name)
    return clnn__error(CLNN_ERROR_INTERNAL, "%s: no backward kernel of %s from y", fn, clnn__act_name(act));
  const clnn__launch l = clnn__launch_1d(ctx, k, dy->numel, CLNN_LAUNCH_ELEMENTWISE(1));
  cl_mem smem = src ? src->mem : dy->mem; /* identity reads no saved tensor */
  return CLNN_RUN(ctx, k, 1, &l.global, &l.local, CLNN_ARG_MEM(smem), CLNN_ARG_MEM(dy->mem),
                  CLNN_ARG_MEM(dx->mem), CLNN_ARG_ULONG(dy->numel), CLNN_ARG_ULONG(l.chunk),
                  CLNN_ARG_FLOAT(alpha), CLNN_ARG_FLOAT(beta));
}
