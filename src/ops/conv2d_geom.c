/* src/ops/conv2d_geom.c — the argument side of convolution: error messages, parameter and shape
 * checks, output sizes (clnn_conv2d_output_dims, clnn_conv_transpose2d_output_dims) and the
 * geometry (conv_geom) that the passes in conv2d.c and conv2d_direct.c use. */
#include "internal.h"
#include "conv2d_direct.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------- */
/* Errors                                                                                         */
/* ---------------------------------------------------------------------------------------------- */

clnn_status clnn__conv_fail(clnn_status s, const char *fn, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return clnn__error(s, "%s: %s", fn, msg);
}

/* ---------------------------------------------------------------------------------------------- */
/* Geometry and validation                                                                        */
/* ---------------------------------------------------------------------------------------------- */

void clnn_conv2d_params_init(clnn_conv2d_params *p) {
  if (!p) return;
  memset(p, 0, sizeof *p);
  p->struct_size = (uint32_t)sizeof *p;
  p->stride_h = p->stride_w = 1;
  p->dilation_h = p->dilation_w = 1;
  p->groups = 1;
}

static clnn_status check_params(const char *fn, const clnn_conv2d_params *p) {
  if (!p) return clnn__conv_fail(CLNN_ERROR_INVALID_ARGUMENT, fn, "params is NULL");
  if (p->stride_h < 1 || p->stride_w < 1)
    return clnn__conv_fail(CLNN_ERROR_INVALID_ARGUMENT, fn, "stride must be >= 1 (got stride_h = %d, stride_w = %d)",
                p->stride_h, p->stride_w);
  if (p->dilation_h < 1 || p->dilation_w < 1)
    return clnn__conv_fail(CLNN_ERROR_INVALID_ARGUMENT, fn,
                "dilation must be >= 1 (got dilation_h = %d, dilation_w = %d)", p->dilation_h,
                p->dilation_w);
  if (p->pad_top < 0 || p->pad_bottom < 0 || p->pad_left < 0 || p->pad_right < 0)
    return clnn__conv_fail(CLNN_ERROR_INVALID_ARGUMENT, fn,
                "padding must be >= 0 (got pad_top = %d, pad_bottom = %d, pad_left = %d, "
                "pad_right = %d)",
                p->pad_top, p->pad_bottom, p->pad_left, p->pad_right);
  if (p->groups < 1)
    return clnn__conv_fail(CLNN_ERROR_INVALID_ARGUMENT, fn, "groups must be >= 1 (got %d)", p->groups);
  return CLNN_SUCCESS;
}

static clnn_status check_dims4(const char *fn, const char *name, const size_t d[4]) {
  if (!d) return clnn__conv_fail(CLNN_ERROR_INVALID_ARGUMENT, fn, "%s is NULL", name);
  for (int i = 0; i < 4; i++) {
    if (d[i] == 0) return clnn__conv_fail(CLNN_ERROR_INVALID_ARGUMENT, fn, "%s[%d] is 0", name, i);
    if (d[i] > (size_t)INT_MAX)
      return clnn__conv_fail(CLNN_ERROR_UNSUPPORTED, fn, "%s[%d] = %zu is larger than 2^31-1", name, i, d[i]);
  }
  return CLNN_SUCCESS;
}

/* Fails unless v fits the kernels' 32-bit index arithmetic. */
clnn_status clnn__conv_check_int(const char *fn, const char *what, uint64_t v) {
  if (v > (uint64_t)INT_MAX)
    return clnn__conv_fail(CLNN_ERROR_UNSUPPORTED, fn, "%s = %llu exceeds 2^31-1, the kernels' index range", what,
                (unsigned long long)v);
  return CLNN_SUCCESS;
}

/* Convolution geometry from x [N, C, H, W] and w [K, C/groups, R, S]. */
clnn_status clnn__conv_geom(const char *fn, const size_t xd[4], const size_t wd[4],
                             const clnn_conv2d_params *p, conv_geom *g) {
  clnn_conv2d_params p_in; /* the caller's params in this library's layout */
  CLNN__STRUCT_IN(CLNN__CONV2D_PARAMS, fn, "p", p, p_in);
  clnn_status s;
  if ((s = check_params(fn, p)) || (s = check_dims4(fn, "x dims", xd)) ||
      (s = check_dims4(fn, "w dims", wd)))
    return s;
  uint64_t N = xd[0], C = xd[1], H = xd[2], W = xd[3], K = wd[0], R = wd[2], S = wd[3];
  uint64_t G = (uint64_t)p->groups;
  if (C % G != 0)
    return clnn__conv_fail(CLNN_ERROR_INVALID_ARGUMENT, fn,
                "groups (%d) does not divide the input channels (x dim 1, C = %llu)", p->groups,
                (unsigned long long)C);
  if (K % G != 0)
    return clnn__conv_fail(CLNN_ERROR_INVALID_ARGUMENT, fn,
                "groups (%d) does not divide the output channels (w dim 0, K = %llu)", p->groups,
                (unsigned long long)K);
  if ((uint64_t)wd[1] * G != C)
    return clnn__conv_fail(CLNN_ERROR_SHAPE_MISMATCH, fn,
                "w dim 1 is %zu but x has C = %llu channels and groups = %d, so it must be C/groups "
                "= %llu",
                wd[1], (unsigned long long)C, p->groups, (unsigned long long)(C / G));
  uint64_t hp = H + (uint64_t)p->pad_top + (uint64_t)p->pad_bottom;
  uint64_t wp = W + (uint64_t)p->pad_left + (uint64_t)p->pad_right;
  uint64_t eh = (R - 1) * (uint64_t)p->dilation_h + 1, ew = (S - 1) * (uint64_t)p->dilation_w + 1;
  if (eh > hp)
    return clnn__conv_fail(CLNN_ERROR_SHAPE_MISMATCH, fn,
                "the filter (R = %llu rows, dilation_h = %d: extent %llu) is larger than the padded "
                "input height (H + pad_top + pad_bottom = %llu)",
                (unsigned long long)R, p->dilation_h, (unsigned long long)eh,
                (unsigned long long)hp);
  if (ew > wp)
    return clnn__conv_fail(CLNN_ERROR_SHAPE_MISMATCH, fn,
                "the filter (S = %llu columns, dilation_w = %d: extent %llu) is larger than the "
                "padded input width (W + pad_left + pad_right = %llu)",
                (unsigned long long)S, p->dilation_w, (unsigned long long)ew,
                (unsigned long long)wp);
  uint64_t P = (hp - eh) / (uint64_t)p->stride_h + 1, Q = (wp - ew) / (uint64_t)p->stride_w + 1;
  uint64_t Cg = C / G;
  if ((s = clnn__conv_check_int(fn, "padded input height", hp)) || (s = clnn__conv_check_int(fn, "padded input width", wp)) ||
      (s = clnn__conv_check_int(fn, "C*H*W", C * H * W)) || (s = clnn__conv_check_int(fn, "K*P*Q", K * P * Q)) ||
      (s = clnn__conv_check_int(fn, "N*C", N * C)) || (s = clnn__conv_check_int(fn, "N*K", N * K)) ||
      (s = clnn__conv_check_int(fn, "C*R*S", C * R * S)) || (s = clnn__conv_check_int(fn, "K*(C/groups)*R*S", K * Cg * R * S)))
    return s;
  g->N = (int)N; g->C = (int)C; g->H = (int)H; g->W = (int)W;
  g->K = (int)K; g->R = (int)R; g->S = (int)S; g->P = (int)P; g->Q = (int)Q;
  g->sh = p->stride_h; g->sw = p->stride_w;
  g->pt = p->pad_top; g->pb = p->pad_bottom; g->pl = p->pad_left; g->pr = p->pad_right;
  g->dh = p->dilation_h; g->dw = p->dilation_w;
  g->G = p->groups; g->Cg = (int)Cg; g->Kg = (int)(K / G);
  return CLNN_SUCCESS;
}

/* Transposed convolution x [N, C, H, W], w [C, K/groups, R, S] -> y [N, K, Ho, Wo], expressed as
 * the convolution it is the data gradient of: conv input [N, K, Ho, Wo], conv weights w (as
 * [K_conv = C, C_conv/groups = K/groups, R, S]), conv output [N, C, H, W]. */
clnn_status clnn__conv_geom_transpose(const char *fn, const size_t xd[4], const size_t wd[4],
                                  const clnn_conv2d_params *p, conv_geom *g) {
  clnn_conv2d_params p_in; /* the caller's params in this library's layout */
  CLNN__STRUCT_IN(CLNN__CONV2D_PARAMS, fn, "p", p, p_in);
  clnn_status s;
  if ((s = check_params(fn, p)) || (s = check_dims4(fn, "x dims", xd)) ||
      (s = check_dims4(fn, "w dims", wd)))
    return s;
  uint64_t C = xd[1], G = (uint64_t)p->groups;
  if (wd[0] != xd[1])
    return clnn__conv_fail(CLNN_ERROR_SHAPE_MISMATCH, fn,
                "w dim 0 is %zu but x has C = %zu channels (transposed weights are [C, K/groups, R, "
                "S])",
                wd[0], xd[1]);
  if (C % G != 0)
    return clnn__conv_fail(CLNN_ERROR_INVALID_ARGUMENT, fn,
                "groups (%d) does not divide the input channels (x dim 1, C = %llu)", p->groups,
                (unsigned long long)C);
  int64_t ho = ((int64_t)xd[2] - 1) * p->stride_h + ((int64_t)wd[2] - 1) * p->dilation_h + 1 -
               p->pad_top - p->pad_bottom;
  int64_t wo = ((int64_t)xd[3] - 1) * p->stride_w + ((int64_t)wd[3] - 1) * p->dilation_w + 1 -
               p->pad_left - p->pad_right;
  if (ho < 1)
    return clnn__conv_fail(CLNN_ERROR_SHAPE_MISMATCH, fn,
                "pad_top + pad_bottom = %lld leaves no output rows ((H-1)*stride_h + "
                "(R-1)*dilation_h + 1 = %lld)",
                (long long)p->pad_top + p->pad_bottom, (long long)(ho + p->pad_top + p->pad_bottom));
  if (wo < 1)
    return clnn__conv_fail(CLNN_ERROR_SHAPE_MISMATCH, fn,
                "pad_left + pad_right = %lld leaves no output columns ((W-1)*stride_w + "
                "(S-1)*dilation_w + 1 = %lld)",
                (long long)p->pad_left + p->pad_right, (long long)(wo + p->pad_left + p->pad_right));
  if ((s = clnn__conv_check_int(fn, "output height", (uint64_t)ho)) || (s = clnn__conv_check_int(fn, "output width", (uint64_t)wo)) ||
      (s = clnn__conv_check_int(fn, "output channels K = w dim 1 * groups", (uint64_t)wd[1] * G)))
    return s;
  size_t cx[4] = {xd[0], wd[1] * (size_t)G, (size_t)ho, (size_t)wo};
  if ((s = clnn__conv_geom(fn, cx, wd, p, g))) return s;
  if (g->P != (int)xd[2] || g->Q != (int)xd[3])
    return clnn__conv_fail(CLNN_ERROR_INTERNAL, fn, "transposed geometry does not round-trip");
  return CLNN_SUCCESS;
}

clnn_status clnn_conv2d_output_dims(const size_t x_dims[4], const size_t w_dims[4],
                                    const clnn_conv2d_params *p, size_t y_dims[4]) {
  const char *fn = "clnn_conv2d_output_dims";
  conv_geom g;
  if (!y_dims) return clnn__conv_fail(CLNN_ERROR_INVALID_ARGUMENT, fn, "y_dims is NULL");
  clnn_status s = clnn__conv_geom(fn, x_dims, w_dims, p, &g);
  if (s) return s;
  y_dims[0] = (size_t)g.N; y_dims[1] = (size_t)g.K; y_dims[2] = (size_t)g.P; y_dims[3] = (size_t)g.Q;
  return CLNN_SUCCESS;
}

clnn_status clnn_conv_transpose2d_output_dims(const size_t x_dims[4], const size_t w_dims[4],
                                              const clnn_conv2d_params *p, size_t y_dims[4]) {
  const char *fn = "clnn_conv_transpose2d_output_dims";
  conv_geom g;
  if (!y_dims) return clnn__conv_fail(CLNN_ERROR_INVALID_ARGUMENT, fn, "y_dims is NULL");
  clnn_status s = clnn__conv_geom_transpose(fn, x_dims, w_dims, p, &g);
  if (s) return s;
  y_dims[0] = (size_t)g.N; y_dims[1] = (size_t)g.C; y_dims[2] = (size_t)g.H; y_dims[3] = (size_t)g.W;
  return CLNN_SUCCESS;
}

/* t belongs to ctx and is 4-D. */
static clnn_status check_t4(const char *fn, clnn_context *ctx, const clnn_tensor *t, const char *name) {
  clnn_status s = clnn__check_tensor_in(fn, ctx, t, name);
  if (s) return s;
  if (t->ndim != 4) {
    char b[128];
    return clnn__conv_fail(CLNN_ERROR_SHAPE_MISMATCH, fn, "%s must be 4-D (NCHW), got shape %s", name,
                clnn__dims_str(t, b, sizeof b));
  }
  return CLNN_SUCCESS;
}

/* Per entry point: its name, its tensors' names in argument order, which of them are the
 * geometry's input x, weights w and output y (the transposed convolution is described as the
 * convolution it is the data gradient of, so its x plays y), and which one it writes. */
static const struct {
  const char *fn;
  int transposed;
  const char *names[3];
  int x, w, y, out;
} entries[] = {
    [CLNN__CONV_FORWARD] = {"clnn_conv2d_forward", 0, {"x", "w", "y"}, 0, 1, 2, 2},
    [CLNN__CONV_BACKWARD_DATA] = {"clnn_conv2d_backward_data", 0, {"dy", "w", "dx"}, 2, 1, 0, 2},
    [CLNN__CONV_BACKWARD_FILTER] = {"clnn_conv2d_backward_filter", 0, {"x", "dy", "dw"}, 0, 2, 1, 2},
    [CLNN__CONV_TRANSPOSE_FORWARD] = {"clnn_conv_transpose2d_forward", 1, {"x", "w", "y"}, 0, 1, 2, 2},
    [CLNN__CONV_TRANSPOSE_BACKWARD_DATA] = {"clnn_conv_transpose2d_backward_data", 1, {"dy", "w", "dx"}, 2, 1, 0, 2},
    [CLNN__CONV_TRANSPOSE_BACKWARD_FILTER] = {"clnn_conv_transpose2d_backward_filter", 1, {"x", "dy", "dw"}, 0, 2, 1, 2},
};

const char *clnn__conv_entry_name(clnn__conv_entry e) { return entries[e].fn; }

clnn_status clnn__conv_check_call(clnn_context *ctx, clnn__conv_entry e, const clnn_conv2d_params *p,
                                  const clnn__conv_args *a, conv_geom *g) {
  const char *fn = entries[e].fn;
  const char *const *names = entries[e].names;
  const clnn_tensor *const *t = a->t;
  clnn_status s;
  if (!ctx) return clnn__conv_fail(CLNN_ERROR_INVALID_ARGUMENT, fn, "ctx is NULL");
  for (int i = 0; i < 3; i++)
    if ((s = check_t4(fn, ctx, t[i], names[i]))) return s;
  if (a->bias && (s = clnn__check_tensor_in(fn, ctx, a->bias, "bias"))) return s;
  if (a->has_beta && (s = clnn__check_beta(a->beta))) return clnn__prefix_error(fn, s);
  const clnn_tensor *x = t[entries[e].x], *w = t[entries[e].w], *y = t[entries[e].y];
  s = entries[e].transposed ? clnn__conv_geom_transpose(fn, x->dims, w->dims, p, g)
                            : clnn__conv_geom(fn, x->dims, w->dims, p, g);
  if (s) return s;
  /* the tensor that plays y: [N, K, P, Q], or for the transposed convolution [N, C, H, W] */
  size_t want[4] = {(size_t)g->N, (size_t)(entries[e].transposed ? g->C : g->K),
                    (size_t)(entries[e].transposed ? g->H : g->P), (size_t)(entries[e].transposed ? g->W : g->Q)};
  if ((s = clnn__check_dims(y, names[entries[e].y], 4, want))) return clnn__prefix_error(fn, s);
  if (a->bias && a->bias->numel != want[1])
    return clnn__conv_fail(CLNN_ERROR_SHAPE_MISMATCH, fn, "bias has %zu elements, expected K = %zu",
                           a->bias->numel, want[1]);
  if (a->has_act && ((int)a->act < 0 || (int)a->act >= CLNN_ACT_ID_COUNT))
    return clnn__conv_fail(CLNN_ERROR_INVALID_ARGUMENT, fn, "act %d is not a clnn_activation", (int)a->act);
  if (a->has_act && !isfinite(a->act_alpha))
    return clnn__conv_fail(CLNN_ERROR_INVALID_ARGUMENT, fn, "act_alpha must be finite");
  int o = entries[e].out;
  for (int i = 0; i < 3; i++)
    if (i != o && (s = clnn__check_alias(fn, t[o], names[o], t[i], names[i]))) return s;
  return clnn__check_alias(fn, t[o], names[o], a->bias, "bias");
}
