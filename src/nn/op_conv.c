/* src/nn/op_conv.c — graph ops over the convolution and pooling operators: conv2d, transposed
 * conv2d, max/avg pooling and global average pooling (NCHW samples [C, H, W]). */
#include "nn/graph.h"
#include "nn/model.h" /* clnn__gexec's grads (max pooling keeps its indices only for backward) */

#include <string.h>

/* Attribute layout shared by conv2d and conv_transpose2d. */
enum { A_K = 0, A_KH, A_KW, A_SH, A_SW, A_PT, A_PB, A_PL, A_PR, A_DH, A_DW, A_GROUPS, A_BIAS };
#define CONV_ATTRS                                                                               \
  {"out_channels", "kernel_h", "kernel_w", "stride_h", "stride_w", "pad_top", "pad_bottom",      \
   "pad_left", "pad_right", "dilation_h", "dilation_w", "groups", "bias", NULL}

static void conv_params(const clnn__gnode *n, clnn_conv2d_params *p) {
  clnn_conv2d_params_init(p);
  p->stride_h = n->ia[A_SH];
  p->stride_w = n->ia[A_SW];
  p->pad_top = n->ia[A_PT];
  p->pad_bottom = n->ia[A_PB];
  p->pad_left = n->ia[A_PL];
  p->pad_right = n->ia[A_PR];
  p->dilation_h = n->ia[A_DH];
  p->dilation_w = n->ia[A_DW];
  p->groups = n->ia[A_GROUPS];
}

static clnn_status need_chw(clnn__graph *g, clnn__gnode *n, const clnn__gvalue **x) {
  char sh[96];
  *x = clnn__g_in(g, n, 0);
  if ((*x)->dtype != CLNN_FLOAT32 || (*x)->ndim != 3)
    return clnn__g_fail(n, CLNN_ERROR_SHAPE_MISMATCH, "needs [N, C, H, W] images, got %s",
                        clnn__g_shape_str(*x, sh, sizeof sh));
  return CLNN_SUCCESS;
}

static clnn_status conv_infer_common(clnn__graph *g, clnn__gnode *n, int params, int transposed) {
  const clnn__gvalue *x;
  clnn_status st = need_chw(g, n, &x);
  if (st != CLNN_SUCCESS) return st;
  if (n->ia[A_K] < 1 || n->ia[A_KH] < 1 || n->ia[A_KW] < 1)
    return clnn__g_fail(n, CLNN_ERROR_INVALID_ARGUMENT,
                        "out_channels %d and kernel %dx%d must be >= 1", n->ia[A_K], n->ia[A_KH],
                        n->ia[A_KW]);
  clnn_conv2d_params p;
  conv_params(n, &p);
  size_t G = p.groups > 0 ? (size_t)p.groups : 1, K = (size_t)n->ia[A_K];
  size_t xd[4] = {1, x->dims[0], x->dims[1], x->dims[2]}, yd[4];
  size_t wd[4] = {transposed ? x->dims[0] : K, transposed ? K / G : x->dims[0] / G,
                  (size_t)n->ia[A_KH], (size_t)n->ia[A_KW]};
  if (p.groups < 1 || x->dims[0] % G || K % G)
    return clnn__g_fail(n, CLNN_ERROR_SHAPE_MISMATCH,
                        "groups %d must divide the input channels %zu and out_channels %zu",
                        p.groups, x->dims[0], K);
  st = transposed ? clnn_conv_transpose2d_output_dims(xd, wd, &p, yd)
                  : clnn_conv2d_output_dims(xd, wd, &p, yd);
  if (st != CLNN_SUCCESS)
    return clnn__g_fail(n, st, "input [N, %zu, %zu, %zu]: %s", x->dims[0], x->dims[1], x->dims[2],
                        clnn_last_error());
  clnn__gvalue *y = clnn__g_out(g, n, 0);
  y->dtype = CLNN_FLOAT32;
  y->ndim = 3;
  y->dims[0] = yd[1];
  y->dims[1] = yd[2];
  y->dims[2] = yd[3];
  if (!params) return CLNN_SUCCESS;
  double rf = (double)wd[2] * (double)wd[3], fan_in, fan_out;
  if (!transposed) {
    fan_in = (double)wd[1] * rf;
    fan_out = (double)wd[0] / (double)G * rf;
  } else {
    fan_in = (double)wd[0] / (double)G * rf / ((double)p.stride_h * (double)p.stride_w);
    if (fan_in < 1.0) fan_in = 1.0;
    fan_out = (double)wd[1] * rf;
  }
  st = clnn__g_param(g, n, "weight", 4, wd, 0, CLNN__GINIT_FAN, fan_in, fan_out);
  if (st == CLNN_SUCCESS && n->ia[A_BIAS])
    st = clnn__g_param(g, n, "bias", 1, &K, 0, CLNN__GINIT_ZERO, 0, 0);
  return st;
}

static clnn_status conv_infer(clnn__graph *g, clnn__gnode *n, int params) {
  return conv_infer_common(g, n, params, 0);
}
static clnn_status convt_infer(clnn__graph *g, clnn__gnode *n, int params) {
  return conv_infer_common(g, n, params, 1);
}

/* A conv2d node keeps its forward's im2col columns (node scratch slot 0, C*R*S x N*P*Q floats,
 * allocated once per batch plan) for the backward-filter when a backward may follow, the weight
 * takes a gradient and both passes run im2col-GEMM on clnn's CPU GEMM
 * (clnn__conv2d_kept_cols_numel); the backward then skips its im2col. The condition is the same
 * in both passes (a trainable-flag change in between is refused). */
enum { S_COLS = 0 };
static clnn_status conv_kept_cols(clnn__gexec *x, const clnn__gnode *n, const clnn_conv2d_params *p,
                                  clnn_tensor **cols) {
  *cols = NULL;
  if (n->op != &clnn__op_conv2d || !x->grads || !x->m->params[x->m->pmap[n->param[0]]].trainable)
    return CLNN_SUCCESS;
  size_t numel = clnn__conv2d_kept_cols_numel(clnn__g_ctx(x), p, clnn__g_val(x, n->in[0]),
                                              clnn__g_pval(x, n, 0));
  return numel ? clnn__g_scratch(x, n, S_COLS, 1, &numel, cols) : CLNN_SUCCESS;
}

static clnn_status conv_forward(clnn__gexec *x, const clnn__gnode *n) {
  clnn_conv2d_params p;
  conv_params(n, &p);
  clnn_tensor *b = n->ia[A_BIAS] ? clnn__g_pval(x, n, 1) : NULL, *cols;
  clnn_status st = conv_kept_cols(x, n, &p, &cols);
  if (st != CLNN_SUCCESS) return st;
  if (cols)
    return clnn__conv2d_forward_keep(clnn__g_ctx(x), &p, clnn__g_val(x, n->in[0]), clnn__g_pval(x, n, 0), b,
                                     CLNN_ACT_IDENTITY, 0.0f, clnn__g_val(x, n->out[0]), cols);
  if (n->op == &clnn__op_conv2d)
    return clnn_conv2d_forward(clnn__g_ctx(x), &p, CLNN_CONV_ALGO_AUTO, clnn__g_val(x, n->in[0]),
                               clnn__g_pval(x, n, 0), b, CLNN_ACT_IDENTITY, 0.0f,
                               clnn__g_val(x, n->out[0]));
  return clnn_conv_transpose2d_forward(clnn__g_ctx(x), &p, CLNN_CONV_ALGO_AUTO,
                                       clnn__g_val(x, n->in[0]), clnn__g_pval(x, n, 0), b,
                                       clnn__g_val(x, n->out[0]));
}

static clnn_status conv_backward(clnn__gexec *x, const clnn__gnode *n) {
  clnn_context *ctx = clnn__g_ctx(x);
  clnn_conv2d_params p;
  conv_params(n, &p);
  int tr = n->op == &clnn__op_conv_transpose2d;
  clnn_tensor *dy = clnn__g_grad(x, n->out[0]), *xin = clnn__g_val(x, n->in[0]), *t, *cols;
  float beta;
  clnn_status st = conv_kept_cols(x, n, &p, &cols);
  if (st == CLNN_SUCCESS && n->ia[A_BIAS] && clnn__g_dparam(x, n, 1, &t, &beta))
    st = clnn_conv2d_backward_bias(ctx, dy, beta, t);
  if (st == CLNN_SUCCESS && clnn__g_dparam(x, n, 0, &t, &beta))
    st = tr     ? clnn_conv_transpose2d_backward_filter(ctx, &p, CLNN_CONV_ALGO_AUTO, xin, dy, beta, t)
         : cols ? clnn__conv2d_backward_filter_kept(ctx, &p, xin, dy, beta, t, cols)
                : clnn_conv2d_backward_filter(ctx, &p, CLNN_CONV_ALGO_AUTO, xin, dy, beta, t);
  if (st == CLNN_SUCCESS && clnn__g_dx(x, n, 0, &t, &beta))
    st = tr ? clnn_conv_transpose2d_backward_data(ctx, &p, CLNN_CONV_ALGO_AUTO, dy,
                                                  clnn__g_pval(x, n, 0), beta, t)
            : clnn_conv2d_backward_data(ctx, &p, CLNN_CONV_ALGO_AUTO, dy, clnn__g_pval(x, n, 0),
                                        beta, t);
  return st;
}

const clnn__op clnn__op_conv2d = {"conv2d", CONV_ATTRS, {NULL}, 0, 1, 1,
                                  conv_infer, conv_forward, conv_backward, NULL};
const clnn__op clnn__op_conv_transpose2d = {"conv_transpose2d", CONV_ATTRS, {NULL}, 0, 1, 1,
                                            convt_infer, conv_forward, conv_backward, NULL};

static clnn_status add_conv(clnn_graph *g, const clnn__op *op, const char *name, int x, int k,
                            int kh, int kw, const clnn_conv2d_params *p, int bias, int *out,
                            const char *fn) {
  if (!g || !out) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: graph or out is NULL", fn);
  clnn_conv2d_params d;
  CLNN__STRUCT_IN(CLNN__CONV2D_PARAMS, fn, "p", p, d);
  if (!p) {
    clnn_conv2d_params_init(&d);
    p = &d;
  }
  int ia[CLNN__G_IATTRS] = {k, kh, kw, p->stride_h, p->stride_w, p->pad_top, p->pad_bottom,
                            p->pad_left, p->pad_right, p->dilation_h, p->dilation_w, p->groups,
                            bias ? 1 : 0};
  return clnn__g_add_node(&g->g, op, name, 1, &x, ia, NULL, -1, out, fn);
}

clnn_status clnn_graph_conv2d(clnn_graph *g, const char *name, int x, int out_channels,
                              int kernel_h, int kernel_w, const clnn_conv2d_params *p, int bias,
                              int *out) {
  return add_conv(g, &clnn__op_conv2d, name, x, out_channels, kernel_h, kernel_w, p, bias, out,
                  "clnn_graph_conv2d");
}

clnn_status clnn_graph_conv_transpose2d(clnn_graph *g, const char *name, int x, int out_channels,
                                        int kernel_h, int kernel_w, const clnn_conv2d_params *p,
                                        int bias, int *out) {
  return add_conv(g, &clnn__op_conv_transpose2d, name, x, out_channels, kernel_h, kernel_w, p,
                  bias, out, "clnn_graph_conv_transpose2d");
}

/* ---- pooling ---- */

enum { P_MAX = 0, P_KH, P_KW, P_SH, P_SW, P_PT, P_PB, P_PL, P_PR, P_CIP };

static void pool_params(const clnn__gnode *n, clnn_pool2d_params *p) {
  clnn_pool2d_params_init(p, 1);
  p->kernel_h = n->ia[P_KH];
  p->kernel_w = n->ia[P_KW];
  p->stride_h = n->ia[P_SH];
  p->stride_w = n->ia[P_SW];
  p->pad_top = n->ia[P_PT];
  p->pad_bottom = n->ia[P_PB];
  p->pad_left = n->ia[P_PL];
  p->pad_right = n->ia[P_PR];
  p->count_include_pad = n->ia[P_CIP];
}

static clnn_status pool_infer(clnn__graph *g, clnn__gnode *n, int params) {
  const clnn__gvalue *x;
  clnn_status st = need_chw(g, n, &x);
  if (st != CLNN_SUCCESS) return st;
  clnn_pool2d_params p;
  pool_params(n, &p);
  size_t xd[4] = {1, x->dims[0], x->dims[1], x->dims[2]}, yd[4];
  st = clnn_pool2d_output_dims(xd, &p, yd);
  if (st != CLNN_SUCCESS)
    return clnn__g_fail(n, st, "input [N, %zu, %zu, %zu]: %s", x->dims[0], x->dims[1], x->dims[2],
                        clnn_last_error());
  clnn__gvalue *y = clnn__g_out(g, n, 0);
  y->dtype = CLNN_FLOAT32;
  y->ndim = 3;
  memcpy(y->dims, yd + 1, 3 * sizeof(size_t));
  return CLNN_SUCCESS;
}

/* Max pooling keeps each window's argmax indices (node scratch slot 0, y's shape) when a backward
 * may follow and x needs a gradient; backward then reads them instead of recomputing from x. The
 * condition is the same in both passes (a trainable-flag change in between is refused). */
enum { S_INDICES = 0 };
static int pool_keeps_indices(clnn__gexec *x, const clnn__gnode *n) {
  return n->ia[P_MAX] && x->grads && clnn__g_grad(x, n->in[0]) != NULL;
}

static clnn_status pool_indices(clnn__gexec *x, const clnn__gnode *n, const clnn_tensor *y,
                                clnn_tensor **out) {
  size_t d[4];
  for (int i = 0; i < 4; i++) d[i] = clnn_tensor_dim(y, i);
  return clnn__g_scratch(x, n, S_INDICES, 4, d, out);
}

static clnn_status pool_forward(clnn__gexec *x, const clnn__gnode *n) {
  clnn_pool2d_params p;
  pool_params(n, &p);
  clnn_tensor *xi = clnn__g_val(x, n->in[0]), *y = clnn__g_val(x, n->out[0]), *idx;
  if (pool_keeps_indices(x, n)) {
    clnn_status st = pool_indices(x, n, y, &idx);
    return st == CLNN_SUCCESS ? clnn_maxpool2d_forward_indices(clnn__g_ctx(x), &p, xi, y, idx) : st;
  }
  return n->ia[P_MAX] ? clnn_maxpool2d_forward(clnn__g_ctx(x), &p, xi, y)
                      : clnn_avgpool2d_forward(clnn__g_ctx(x), &p, xi, y);
}

static clnn_status pool_backward(clnn__gexec *x, const clnn__gnode *n) {
  clnn_pool2d_params p;
  pool_params(n, &p);
  clnn_tensor *dx, *idx;
  float beta;
  const int kept = pool_keeps_indices(x, n);
  if (!clnn__g_dx(x, n, 0, &dx, &beta)) return CLNN_SUCCESS;
  clnn_tensor *dy = clnn__g_grad(x, n->out[0]);
  if (kept) {
    clnn_status st = pool_indices(x, n, dy, &idx);
    if (st != CLNN_SUCCESS) return st;
    return clnn_maxpool2d_backward_indices(clnn__g_ctx(x), &p, idx, dy, beta, dx);
  }
  return n->ia[P_MAX] ? clnn_maxpool2d_backward(clnn__g_ctx(x), &p, clnn__g_val(x, n->in[0]), dy,
                                                beta, dx)
                      : clnn_avgpool2d_backward(clnn__g_ctx(x), &p, dy, beta, dx);
}

const clnn__op clnn__op_pool2d = {
    "pool2d",
    {"max", "kernel_h", "kernel_w", "stride_h", "stride_w", "pad_top", "pad_bottom", "pad_left",
     "pad_right", "count_include_pad", NULL},
    {NULL}, 0, 1, 1, pool_infer, pool_forward, pool_backward, NULL};

clnn_status clnn_graph_pool2d(clnn_graph *g, const char *name, int x, int max_pooling,
                              const clnn_pool2d_params *p, int *out) {
  const char *fn = "clnn_graph_pool2d";
  if (!g || !p || !out)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: graph, params or out is NULL", fn);
  clnn_pool2d_params p_in;
  CLNN__STRUCT_IN(CLNN__POOL2D_PARAMS, fn, "p", p, p_in);
  int ia[CLNN__G_IATTRS] = {max_pooling ? 1 : 0, p->kernel_h, p->kernel_w, p->stride_h,
                            p->stride_w, p->pad_top, p->pad_bottom, p->pad_left, p->pad_right,
                            p->count_include_pad ? 1 : 0};
  return clnn__g_add_node(&g->g, &clnn__op_pool2d, name, 1, &x, ia, NULL, -1, out, fn);
}

/* ---- global average pooling: [C, H, W] -> [C] ---- */

static clnn_status gap_infer(clnn__graph *g, clnn__gnode *n, int params) {
  const clnn__gvalue *x;
  clnn_status st = need_chw(g, n, &x);
  if (st != CLNN_SUCCESS) return st;
  clnn__gvalue *y = clnn__g_out(g, n, 0);
  y->dtype = CLNN_FLOAT32;
  y->ndim = 1;
  y->dims[0] = x->dims[0];
  return CLNN_SUCCESS;
}

static clnn_status gap_view(clnn__gexec *x, const clnn__gnode *n, int slot, clnn_tensor *t,
                            clnn_tensor **out) {
  size_t d[4] = {clnn__g_batch(x), clnn_tensor_dim(t, 1), 1, 1};
  return clnn__g_view(x, n, slot, t, 4, d, out);
}

static clnn_status gap_forward(clnn__gexec *x, const clnn__gnode *n) {
  clnn_tensor *y4;
  clnn_status st = gap_view(x, n, 0, clnn__g_val(x, n->out[0]), &y4);
  if (st != CLNN_SUCCESS) return st;
  return clnn_global_avgpool_forward(clnn__g_ctx(x), clnn__g_val(x, n->in[0]), y4);
}

static clnn_status gap_backward(clnn__gexec *x, const clnn__gnode *n) {
  clnn_tensor *dx, *dy4;
  float beta;
  if (!clnn__g_dx(x, n, 0, &dx, &beta)) return CLNN_SUCCESS;
  clnn_status st = gap_view(x, n, 1, clnn__g_grad(x, n->out[0]), &dy4);
  if (st != CLNN_SUCCESS) return st;
  return clnn_global_avgpool_backward(clnn__g_ctx(x), dy4, beta, dx);
}

const clnn__op clnn__op_global_avgpool = {"global_avgpool", {NULL}, {NULL}, 0, 1, 1,
                                          gap_infer, gap_forward, gap_backward, NULL};

clnn_status clnn_graph_global_avgpool(clnn_graph *g, const char *name, int x, int *out) {
  const char *fn = "clnn_graph_global_avgpool";
  if (!g || !out) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: graph or out is NULL", fn);
  return clnn__g_add_node(&g->g, &clnn__op_global_avgpool, name, 1, &x, NULL, NULL, -1, out, fn);
}
