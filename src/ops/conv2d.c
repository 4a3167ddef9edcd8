/* src/ops/conv2d.c — 2-D convolution (NCHW, fp32): forward with fused bias and activation,
 * backward-data, backward-filter, bias gradient, and transposed convolution built from the same
 * passes (its forward is backward-data, its backward-data is forward, its backward-filter is
 * backward-filter with x and dy swapped).
 *
 * Algorithms (clnn_conv_algo):
 *   IM2COL_GEMM  x -> column matrix in workspace slot 0 (kernel conv2d_im2col), then CLBlast GEMM
 *                per group, batched over the images of a chunk (or over groups when there are
 *                more groups than images). Chunks keep the column buffer under 64 MiB:
 *                whole images side by side when they fit, else slices of one image's output
 *                pixels. Backward-data: GEMM into the column buffer, then conv2d_col2im, a
 *                gather (each input pixel sums what it fed), so no atomics. Backward-filter: the
 *                chunk's images side by side in one GEMM (dy rearranged into slot 1), summed
 *                over chunks through GEMM beta = 1.
 *   1X1_GEMM     1x1 filter, stride 1, no padding, groups 1: GEMM directly on x / dy.
 *   DIRECT       conv2d_direct_* kernels: any shape; the automatic choice for depthwise.
 *   IMPLICIT_GEMM  forward only (src/ops/conv2d_igemm.c, cl/conv2d_igemm.cl): a tiled GEMM
 *                that gathers the image patches into local memory itself, so no column buffer
 *                and no separate bias/activation pass; its backward passes run IM2COL_GEMM.
 * Device shapes (by device class): on CPU devices im2col, col2im, the batch gather, bias + activation,
 * the bias gradient and depthwise DIRECT run the *_cpu kernels of cl/conv2d.cl (work-items own
 * row runs or planes, float16 registers, no local memory or barriers); other devices run the
 * one-element-per-work-item kernels; with stride 1 and a same-size output, DIRECT on CPU devices
 * runs the whole-plane kernels of src/ops/conv2d_direct.c instead (see use_flat), and its
 * forward and backward-filter with several input channels per group at other strides their band kernels (use_band). AUTO's rule,
 * chosen per pass by measurement on PoCL, is clnn__conv_resolve_algo in src/ops/conv2d_algo.c.
 * Every argument is checked before anything is enqueued, and workspaces are acquired before the
 * first kernel, so a failing call writes nothing. */
#include "conv2d_algo.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONV_PROGRAM "conv2d"
#define CONV_C2I_RB 4 /* dx rows per work-item of conv2d_col2im_cpu (as in cl/conv2d.cl) */
#define CONV_DIRECT_QV_GUESS 4           /* outputs per work-item of conv2d_direct_forward; the
                                            kernel's grid-stride loop is correct for any value */

/* The kernels this file launches. */
static clnn__kernel_ref k_conv2d_backward_bias_wg = CLNN_KERNEL_REF("conv2d_reduce", "conv2d_backward_bias_wg");
static clnn__kernel_ref k_conv2d_dw_backward_filter_wg = CLNN_KERNEL_REF("conv2d_reduce", "conv2d_dw_backward_filter_wg");
static clnn__kernel_ref k_conv2d_backward_bias_cpu = CLNN_KERNEL_REF(CONV_PROGRAM, "conv2d_backward_bias_cpu");
static clnn__kernel_ref k_conv2d_bias_act = CLNN_KERNEL_REF(CONV_PROGRAM, "conv2d_bias_act");
static clnn__kernel_ref k_conv2d_bias_act_cpu = CLNN_KERNEL_REF(CONV_PROGRAM, "conv2d_bias_act_cpu");
static clnn__kernel_ref k_conv2d_col2im = CLNN_KERNEL_REF(CONV_PROGRAM, "conv2d_col2im");
static clnn__kernel_ref k_conv2d_col2im_cpu = CLNN_KERNEL_REF(CONV_PROGRAM, "conv2d_col2im_cpu");
static clnn__kernel_ref k_conv2d_col2im_flat_cpu = CLNN_KERNEL_REF(CONV_PROGRAM, "conv2d_col2im_flat_cpu");
static clnn__kernel_ref k_conv2d_direct_backward_data = CLNN_KERNEL_REF(CONV_PROGRAM, "conv2d_direct_backward_data");
static clnn__kernel_ref k_conv2d_direct_backward_filter = CLNN_KERNEL_REF(CONV_PROGRAM, "conv2d_direct_backward_filter");
static clnn__kernel_ref k_conv2d_direct_forward = CLNN_KERNEL_REF(CONV_PROGRAM, "conv2d_direct_forward");
static clnn__kernel_ref k_conv2d_dw_backward_data_cpu = CLNN_KERNEL_REF("conv2d_dw_cpu", "conv2d_dw_backward_data_cpu");
static clnn__kernel_ref k_conv2d_dw_backward_filter_cpu = CLNN_KERNEL_REF("conv2d_dw_cpu", "conv2d_dw_backward_filter_cpu");
static clnn__kernel_ref k_conv2d_dw_forward_cpu = CLNN_KERNEL_REF("conv2d_dw_cpu", "conv2d_dw_forward_cpu");
static clnn__kernel_ref k_conv2d_gather_rows = CLNN_KERNEL_REF(CONV_PROGRAM, "conv2d_gather_rows");
static clnn__kernel_ref k_conv2d_gather_rows_cpu = CLNN_KERNEL_REF(CONV_PROGRAM, "conv2d_gather_rows_cpu");
static clnn__kernel_ref k_conv2d_im2col = CLNN_KERNEL_REF(CONV_PROGRAM, "conv2d_im2col");
static clnn__kernel_ref k_conv2d_im2col_cpu = CLNN_KERNEL_REF(CONV_PROGRAM, "conv2d_im2col_cpu");

/* ---------------------------------------------------------------------------------------------- */
/* Workspace plan (the algorithm choice is in src/ops/conv2d_algo.c)                              */
/* ---------------------------------------------------------------------------------------------- */

/* How a pass walks the batch: chunks of nb whole images side by side (L = P*Q), or, when one
 * image's columns exceed the limit, one image at a time in slices of L output pixels. The
 * column buffer is rows x (nb*L) floats. */
typedef struct conv_plan {
  size_t nb, L;
} conv_plan;

static conv_plan make_plan(const conv_geom *g, size_t bytes_per_column) {
  conv_plan pl;
  size_t maxj = clnn__conv_ws_limit / bytes_per_column;
  if (maxj < 1) maxj = 1;
  size_t pq = (size_t)g->P * g->Q;
  if (pq <= maxj) {
    pl.nb = maxj / pq;
    if (pl.nb > (size_t)g->N) pl.nb = (size_t)g->N;
    pl.L = pq;
  } else {
    pl.nb = 1;
    pl.L = maxj;
  }
  return pl;
}

/* Backward-data through clnn's CPU GEMM (panels of `panel` columns) with nb whole images side by
 * side: gathering their dy rows first (K x nb*PQ, one pass over dy) lets one GEMM cover every
 * image's pixels, so the partial last panel of each image goes. Done where that saves at least
 * 1/20 of the panels: res3x3_14 (196 pixels, N 2) computes 13 panels instead of 14, 4.52-4.68 vs
 * 4.98-5.07 ms of GEMM on one PoCL thread (minima of 60 runs, 4 interleaved rounds, load 8; the
 * gather costs 0.03-0.05 ms). */
static int bwd_data_gathers(size_t panel, size_t nb, size_t L, size_t pq) {
  if (!panel || nb < 2 || L != pq) return 0;
  size_t apart = nb * ((pq + panel - 1) / panel), together = (nb * pq + panel - 1) / panel;
  return (apart - together) * 20 >= apart;
}

/* Workspace bytes of slots 0 and 1 for one pass of a (resolved) algorithm. `panel`: the panel
 * width of the context's CPU GEMM (clnn__gemm_cpu_panel; 0: CLBlast). Where it is nonzero the
 * GEMM takes a reduction in segments (clnn__gemm_kseg), so the filter gradient reads dy (and, for
 * 1x1, x) in place instead of gathering several images' rows side by side. */
static void pass_workspace(const conv_geom *g, clnn_conv_algo algo, enum conv_pass pass, size_t panel,
                           size_t *ws0, size_t *ws1, conv_plan *plan_out) {
  const int seg = panel != 0;
  size_t crs = (size_t)g->C * g->R * g->S;
  conv_plan pl = {1, 1};
  *ws0 = *ws1 = 0;
  if (algo == CLNN_CONV_ALGO_WINOGRAD && !clnn__conv_wino_applies(g)) {
    *ws0 = clnn__conv_band_wino_workspace(g); /* the forward's Winograd band */
  } else if (algo == CLNN_CONV_ALGO_WINOGRAD) {
    clnn__conv_wino_workspace(g, (int)pass, clnn__conv_ws_limit, ws0, ws1);
  } else if (algo == CLNN_CONV_ALGO_IM2COL_GEMM) {
    if (pass != PASS_BWD_FILTER) {
      pl = make_plan(g, crs * sizeof(float));
      *ws0 = crs * pl.nb * pl.L * sizeof(float);
      if (pass == PASS_BWD_DATA && bwd_data_gathers(panel, pl.nb, pl.L, (size_t)g->P * g->Q))
        *ws1 = (size_t)g->K * pl.nb * pl.L * sizeof(float);
    } else if (seg) {
      pl = make_plan(g, crs * sizeof(float));
      *ws0 = crs * pl.nb * pl.L * sizeof(float);
    } else {
      pl = make_plan(g, (crs + (size_t)g->K) * sizeof(float));
      *ws0 = crs * pl.nb * pl.L * sizeof(float);
      *ws1 = pl.nb > 1 ? (size_t)g->K * pl.nb * pl.L * sizeof(float) : 0;
    }
  } else if (algo == CLNN_CONV_ALGO_1X1_GEMM && pass == PASS_BWD_FILTER && seg) {
    pl.nb = (size_t)g->N; /* one GEMM over every image's pixels, no workspace */
    pl.L = (size_t)g->P * g->Q;
  } else if (algo == CLNN_CONV_ALGO_1X1_GEMM && pass == PASS_BWD_FILTER && g->N > 1) {
    pl = make_plan(g, ((size_t)g->C + (size_t)g->K) * sizeof(float));
    if (pl.nb > 1) {
      *ws0 = (size_t)g->C * pl.nb * pl.L * sizeof(float);
      *ws1 = (size_t)g->K * pl.nb * pl.L * sizeof(float);
    }
  }
  if (plan_out) *plan_out = pl;
}

/* Acquires the workspace slots a pass needs (before anything is enqueued). */
static clnn_status acquire(const char *fn, clnn_context *ctx, const conv_geom *g,
                           clnn_conv_algo algo, enum conv_pass pass, cl_mem *m0, cl_mem *m1,
                           conv_plan *plan) {
  size_t b0, b1;
  pass_workspace(g, algo, pass, clnn__gemm_cpu_panel(ctx), &b0, &b1, plan);
  *m0 = *m1 = NULL;
  clnn_status s;
  if (b0 && (s = clnn__workspace(ctx, 0, b0, m0))) return clnn__prefix_error(fn, s);
  if (b1 && (s = clnn__workspace(ctx, 1, b1, m1))) return clnn__prefix_error(fn, s);
  return CLNN_SUCCESS;
}

clnn_status clnn_conv2d_workspace_size(clnn_context *ctx, const clnn_conv2d_params *p,
                                       clnn_conv_algo algo, const size_t x_dims[4],
                                       const size_t w_dims[4], size_t *bytes) {
  const char *fn = "clnn_conv2d_workspace_size";
  if (!ctx) return clnn__conv_fail(CLNN_ERROR_INVALID_ARGUMENT, fn, "ctx is NULL");
  if (!bytes) return clnn__conv_fail(CLNN_ERROR_INVALID_ARGUMENT, fn, "bytes is NULL");
  conv_geom g;
  clnn_conv_algo a = CLNN_CONV_ALGO_AUTO;
  clnn_status s;
  if ((s = clnn__conv_geom(fn, x_dims, w_dims, p, &g))) return s;
  size_t best = 0;
  for (int pass = PASS_FWD; pass <= PASS_BWD_FILTER; pass++) {
    size_t b0, b1;
    if ((s = clnn__conv_resolve_algo(fn, ctx, &g, algo, (enum conv_pass)pass, &a))) return s;
    pass_workspace(&g, a, (enum conv_pass)pass, clnn__gemm_cpu_panel(ctx), &b0, &b1, NULL);
    if (b0 + b1 > best) best = b0 + b1;
  }
  *bytes = best;
  return CLNN_SUCCESS;
}

/* ---------------------------------------------------------------------------------------------- */
/* Launch helpers                                                                                 */
/* ---------------------------------------------------------------------------------------------- */

/* Work-group shape: powers of two covering the global size, at most 64 work-items in all and
 * never more than the kernel allows (CL_KERNEL_WORK_GROUP_SIZE). */
static void pick_local(clnn_context *ctx, clnn__kernel_ref *kernel, int dims, const size_t *global, size_t *local) {
  size_t left = 64, lim = clnn__kernel_wg_limit(ctx, kernel);
  if (lim < left) left = lim;
  for (int d = 0; d < dims; d++) {
    size_t l = 1;
    while (l < global[d] && l * 2 <= left) l *= 2;
    local[d] = l;
    left /= l;
  }
}

static clnn_status launch(clnn_context *ctx, clnn__kernel_ref *kernel, cl_uint dims,
                          const size_t *global, const clnn__arg *args, size_t nargs) {
  size_t local[3];
  pick_local(ctx, kernel, (int)dims, global, local);
  return clnn__run(ctx, kernel, dims, global, local, args, nargs);
}
#define LAUNCH(ctx, kernel, dims, global, ...)                                                    \
  launch((ctx), (kernel), (dims), (global), (const clnn__arg[]){__VA_ARGS__},                    \
         sizeof((const clnn__arg[]){__VA_ARGS__}) / sizeof(clnn__arg))

/* CPU-shaped kernels (*_cpu in cl/conv2d.cl): each work-item streams whole rows, so work-groups
 * are small (a few work-items along dimension 0) and there are enough of them to spread over
 * the cores. */

static clnn_status launch_cpu(clnn_context *ctx, clnn__kernel_ref *kernel, cl_uint dims,
                              const size_t *global, const clnn__arg *args, size_t nargs) {
  size_t local[3] = {1, 1, 1};
  size_t l = 1;
  while (l < 4 && l * 2 <= global[0]) l *= 2;
  local[0] = l;
  return clnn__run(ctx, kernel, dims, global, local, args, nargs);
}
#define LAUNCH_CPU(ctx, kernel, dims, global, ...)                                                \
  launch_cpu((ctx), (kernel), (dims), (global), (const clnn__arg[]){__VA_ARGS__},                \
             sizeof((const clnn__arg[]){__VA_ARGS__}) / sizeof(clnn__arg))

/* Tree reductions (cl/conv2d_reduce.cl): one work-group of L work-items per output value, L a
 * power of two up to 256 and the kernel's limit, covering about `want` terms; the lanes split
 * into L/LP images at a time and LP positions (a power of two up to `inner`) inside each. */
static clnn_status launch_reduce(clnn_context *ctx, clnn__kernel_ref *kernel, size_t outputs, size_t want,
                                 size_t inner, const clnn__arg *args, size_t nargs) {
  size_t L = clnn__local_pow2(ctx, kernel, 256, want), LP = 1;
  while (LP * 2 <= L && LP * 2 <= inner) LP *= 2;
  clnn__arg all[24];
  if (nargs + 3 > sizeof all / sizeof all[0]) return clnn__error(CLNN_ERROR_INTERNAL, "launch_reduce: too many arguments");
  memcpy(all, args, nargs * sizeof *args);
  /* The kernel's last three arguments: LP, beta (the caller's last), scratch. */
  all[nargs] = all[nargs - 1];
  all[nargs - 1] = CLNN_ARG_INT(LP);
  all[nargs + 1] = CLNN_ARG_LOCAL(L * sizeof(float));
  size_t global[1] = {outputs * L}, local[1] = {L};
  return clnn__run(ctx, kernel, 1, global, local, all, nargs + 2);
}
#define LAUNCH_REDUCE(ctx, kernel, outputs, want, inner, ...)                                     \
  launch_reduce((ctx), (kernel), (outputs), (want), (inner), (const clnn__arg[]){__VA_ARGS__},     \
                sizeof((const clnn__arg[]){__VA_ARGS__}) / sizeof(clnn__arg))

static _Thread_local const char *last_algo = "none";
const char *clnn__conv2d_last_algo(void) { return last_algo; }

#define GEOM_ARGS(g)                                                                              \
  CLNN_ARG_INT((g)->C), CLNN_ARG_INT((g)->H), CLNN_ARG_INT((g)->W), CLNN_ARG_INT((g)->R),         \
      CLNN_ARG_INT((g)->S), CLNN_ARG_INT((g)->P), CLNN_ARG_INT((g)->Q), CLNN_ARG_INT((g)->sh),    \
      CLNN_ARG_INT((g)->sw), CLNN_ARG_INT((g)->pt), CLNN_ARG_INT((g)->pl), CLNN_ARG_INT((g)->dh), \
      CLNN_ARG_INT((g)->dw)

static clnn_status run_im2col(clnn_context *ctx, const conv_geom *g, cl_mem x, cl_mem col,
                              size_t n0, size_t L, size_t pq0, size_t J) {
  if (on_cpu(ctx)) {
    size_t nb = J / L;
    size_t global[2] = {(size_t)g->C * g->R * g->S, nb};
    return LAUNCH_CPU(ctx, &k_conv2d_im2col_cpu, 2, global, CLNN_ARG_MEM(x), CLNN_ARG_MEM(col),
                      GEOM_ARGS(g), CLNN_ARG_INT(n0), CLNN_ARG_INT(L), CLNN_ARG_INT(pq0),
                      CLNN_ARG_INT(J), CLNN_ARG_INT(nb));
  }
  size_t global[2] = {J, (size_t)g->C};
  return LAUNCH(ctx, &k_conv2d_im2col, 2, global, CLNN_ARG_MEM(x), CLNN_ARG_MEM(col), GEOM_ARGS(g),
                CLNN_ARG_INT(n0), CLNN_ARG_INT(L), CLNN_ARG_INT(pq0), CLNN_ARG_INT(J));
}

static clnn_status run_col2im(clnn_context *ctx, const conv_geom *g, cl_mem col, cl_mem dx,
                              size_t n0, size_t nb, size_t L, size_t pq0, size_t J, float beta) {
  if (on_cpu(ctx) && g->sh == 1 && g->sw == 1 && g->Q == g->W &&
      nb * g->C >= 4 * (ctx->info.compute_units ? ctx->info.compute_units : 1)) {
    size_t global[1] = {nb * g->C};
    return LAUNCH_CPU(ctx, &k_conv2d_col2im_flat_cpu, 1, global, CLNN_ARG_MEM(col), CLNN_ARG_MEM(dx),
                      GEOM_ARGS(g), CLNN_ARG_INT(n0), CLNN_ARG_INT(nb), CLNN_ARG_INT(L),
                      CLNN_ARG_INT(pq0), CLNN_ARG_INT(J), CLNN_ARG_FLOAT(beta));
  }
  if (on_cpu(ctx)) {
    size_t global[2] = {((size_t)g->H + CONV_C2I_RB - 1) / CONV_C2I_RB, nb * g->C};
    return LAUNCH_CPU(ctx, &k_conv2d_col2im_cpu, 2, global, CLNN_ARG_MEM(col), CLNN_ARG_MEM(dx),
                      GEOM_ARGS(g), CLNN_ARG_INT(n0), CLNN_ARG_INT(nb), CLNN_ARG_INT(L),
                      CLNN_ARG_INT(pq0), CLNN_ARG_INT(J), CLNN_ARG_FLOAT(beta));
  }
  size_t global[2] = {(size_t)g->H * g->W, nb * g->C};
  return LAUNCH(ctx, &k_conv2d_col2im, 2, global, CLNN_ARG_MEM(col), CLNN_ARG_MEM(dx), GEOM_ARGS(g),
                CLNN_ARG_INT(n0), CLNN_ARG_INT(nb), CLNN_ARG_INT(L), CLNN_ARG_INT(pq0),
                CLNN_ARG_INT(J), CLNN_ARG_FLOAT(beta));
}

/* dst [rows, nb*PQ] from src [N, rows, PQ], images n0 .. n0+nb-1. */
static clnn_status run_gather_rows(clnn_context *ctx, cl_mem src, cl_mem dst, size_t rows,
                                   size_t pq, size_t n0, size_t nb) {
  if (on_cpu(ctx)) {
    size_t global[2] = {rows, nb};
    return LAUNCH_CPU(ctx, &k_conv2d_gather_rows_cpu, 2, global, CLNN_ARG_MEM(src), CLNN_ARG_MEM(dst),
                      CLNN_ARG_INT(rows), CLNN_ARG_INT(pq), CLNN_ARG_INT(n0), CLNN_ARG_INT(nb));
  }
  size_t global[3] = {pq, rows, nb};
  return LAUNCH(ctx, &k_conv2d_gather_rows, 3, global, CLNN_ARG_MEM(src), CLNN_ARG_MEM(dst),
                CLNN_ARG_INT(rows), CLNN_ARG_INT(pq), CLNN_ARG_INT(n0), CLNN_ARG_INT(nb));
}

/* y [N, K, PQ] = act(y + bias). */
static clnn_status run_bias_act(clnn_context *ctx, cl_mem y, cl_mem bias, size_t N, size_t K,
                                size_t pq, clnn_activation act, float alpha) {
  if (on_cpu(ctx)) {
    size_t global[1] = {N * K};
    return LAUNCH_CPU(ctx, &k_conv2d_bias_act_cpu, 1, global, CLNN_ARG_MEM(y), CLNN_ARG_MEM(bias),
                      CLNN_ARG_INT(bias != NULL), CLNN_ARG_INT(K), CLNN_ARG_INT(pq), CLNN_ARG_INT(N * K),
                      CLNN_ARG_INT(act), CLNN_ARG_FLOAT(alpha));
  }
  size_t global[2] = {pq, N * K};
  return LAUNCH(ctx, &k_conv2d_bias_act, 2, global, CLNN_ARG_MEM(y), CLNN_ARG_MEM(bias),
                CLNN_ARG_INT(bias != NULL), CLNN_ARG_INT(K), CLNN_ARG_INT(pq), CLNN_ARG_INT(N * K),
                CLNN_ARG_INT(act), CLNN_ARG_FLOAT(alpha));
}

/* One GEMM per (group, image) pair, issued as strided-batched calls over whichever of the two
 * is larger. *_g and *_i are the per-group and per-image offsets of each operand. */
static clnn_status gemm_gi(clnn_context *ctx, int ta, int tb, size_t m, size_t n, size_t k,
                           cl_mem a, size_t a_off, size_t lda, size_t a_g, size_t a_i, cl_mem b,
                           size_t b_off, size_t ldb, size_t b_g, size_t b_i, float beta, cl_mem c,
                           size_t c_off, size_t ldc, size_t c_g, size_t c_i, size_t groups,
                           size_t images) {
  clnn_status s = CLNN_SUCCESS;
  if (images >= groups) {
    for (size_t g = 0; g < groups && !s; g++)
      s = clnn__gemm_batched(ctx, ta, tb, m, n, k, 1.0f, a, a_off + g * a_g, lda, a_i, b,
                             b_off + g * b_g, ldb, b_i, beta, c, c_off + g * c_g, ldc, c_i, images);
  } else {
    for (size_t i = 0; i < images && !s; i++)
      s = clnn__gemm_batched(ctx, ta, tb, m, n, k, 1.0f, a, a_off + i * a_i, lda, a_g, b,
                             b_off + i * b_i, ldb, b_g, beta, c, c_off + i * c_i, ldc, c_g, groups);
  }
  return s;
}

/* ---------------------------------------------------------------------------------------------- */
/* The three passes                                                                               */
/* ---------------------------------------------------------------------------------------------- */

/* y = beta*y + conv(x, w), then y = act(y + bias) when bias or act is given (beta is 0 then). */
static clnn_status pass_forward(clnn_context *ctx, const conv_geom *g, clnn_conv_algo algo,
                                cl_mem x, cl_mem w, cl_mem bias, clnn_activation act,
                                float act_alpha, float beta, cl_mem y, cl_mem ws0, cl_mem ws1,
                                const conv_plan *plan, cl_mem keep) {
  size_t N = g->N, K = g->K, C = g->C, PQ = (size_t)g->P * g->Q, HW = (size_t)g->H * g->W;
  size_t cgrs = (size_t)g->Cg * g->R * g->S;
  clnn_status s = CLNN_SUCCESS;
  if (algo == CLNN_CONV_ALGO_IMPLICIT_GEMM)
    return clnn__conv_igemm_forward(ctx, g, x, w, bias, (int)act, act_alpha, beta, y);
  if (algo == CLNN_CONV_ALGO_WINOGRAD && !clnn__conv_wino_applies(g))
    return clnn__conv_band_wino_forward(ctx, g, x, w, bias, (int)act, act_alpha, beta, y, ws0);
  if (algo == CLNN_CONV_ALGO_WINOGRAD)
    return clnn__conv_wino_forward(ctx, g, x, w, bias, (int)act, act_alpha, beta, y, ws0, ws1, clnn__conv_ws_limit);
  if (algo == CLNN_CONV_ALGO_DIRECT && clnn__conv_use_flat(ctx, g, PASS_FWD))
    return clnn__conv_flat_forward(ctx, g, x, w, bias, (int)act, act_alpha, beta, y);
  if (algo == CLNN_CONV_ALGO_DIRECT && clnn__conv_use_band(ctx, g, PASS_FWD))
    return clnn__conv_band_forward(ctx, g, x, w, bias, (int)act, act_alpha, beta, y);
  if (algo == CLNN_CONV_ALGO_DIRECT && on_cpu(ctx) && g->Cg == 1) {
    size_t global[2] = {(size_t)g->P, N * K};
    return LAUNCH_CPU(ctx, &k_conv2d_dw_forward_cpu, 2, global, CLNN_ARG_MEM(x), CLNN_ARG_MEM(w),
                      CLNN_ARG_MEM(bias), CLNN_ARG_MEM(y), CLNN_ARG_INT(g->C), CLNN_ARG_INT(g->H),
                      CLNN_ARG_INT(g->W), CLNN_ARG_INT(g->K), CLNN_ARG_INT(g->R), CLNN_ARG_INT(g->S),
                      CLNN_ARG_INT(g->P), CLNN_ARG_INT(g->Q), CLNN_ARG_INT(g->sh), CLNN_ARG_INT(g->sw),
                      CLNN_ARG_INT(g->pt), CLNN_ARG_INT(g->pl), CLNN_ARG_INT(g->dh),
                      CLNN_ARG_INT(g->dw), CLNN_ARG_INT(N * K), CLNN_ARG_INT(bias != NULL),
                      CLNN_ARG_INT(act), CLNN_ARG_FLOAT(act_alpha), CLNN_ARG_FLOAT(beta));
  }
  if (algo == CLNN_CONV_ALGO_DIRECT) {
    size_t qb = ((size_t)g->Q + CONV_DIRECT_QV_GUESS - 1) / CONV_DIRECT_QV_GUESS;
    size_t global[3] = {qb, (size_t)g->P, N * K};
    return LAUNCH(ctx, &k_conv2d_direct_forward, 3, global, CLNN_ARG_MEM(x), CLNN_ARG_MEM(w),
                  CLNN_ARG_MEM(bias), CLNN_ARG_MEM(y), CLNN_ARG_INT(g->C), CLNN_ARG_INT(g->H),
                  CLNN_ARG_INT(g->W), CLNN_ARG_INT(g->K), CLNN_ARG_INT(g->R), CLNN_ARG_INT(g->S),
                  CLNN_ARG_INT(g->P), CLNN_ARG_INT(g->Q), CLNN_ARG_INT(g->sh), CLNN_ARG_INT(g->sw),
                  CLNN_ARG_INT(g->pt), CLNN_ARG_INT(g->pl), CLNN_ARG_INT(g->dh),
                  CLNN_ARG_INT(g->dw), CLNN_ARG_INT(g->G), CLNN_ARG_INT(N * K),
                  CLNN_ARG_INT(bias != NULL), CLNN_ARG_INT(act), CLNN_ARG_FLOAT(act_alpha),
                  CLNN_ARG_FLOAT(beta));
  }
  if (algo == CLNN_CONV_ALGO_1X1_GEMM) {
    /* y[n] (K x HW) = w (K x C) * x[n] (C x HW) */
    s = gemm_gi(ctx, 0, 0, K, HW, C, w, 0, C, 0, 0, x, 0, HW, 0, C * HW, beta, y, 0, HW, 0, K * PQ,
                1, N);
  } else {
    size_t G = g->G, Kg = g->Kg;
    for (size_t n0 = 0; n0 < N && !s; n0 += plan->nb) {
      size_t nb = plan->nb < N - n0 ? plan->nb : N - n0;
      for (size_t pq0 = 0; pq0 < PQ && !s; pq0 += plan->L) {
        size_t L = plan->L < PQ - pq0 ? plan->L : PQ - pq0;
        size_t J = nb * L;
        /* kept columns (clnn__conv2d_forward_keep): the whole batch's in one launch, each chunk
         * then read in place (columns n0*PQ.., leading dimension N*PQ) */
        cl_mem col = keep ? keep : ws0;
        size_t col_off = keep ? n0 * PQ : 0, ldcol = keep ? N * PQ : J;
        if (!keep) s = run_im2col(ctx, g, x, ws0, n0, L, pq0, J);
        else if (n0 == 0) s = run_im2col(ctx, g, x, keep, 0, PQ, 0, N * PQ);
        /* y[n, group] (Kg x L) = w[group] (Kg x CgRS) * col[group rows, image n] (CgRS x L) */
        if (!s)
          s = gemm_gi(ctx, 0, 0, Kg, L, cgrs, w, 0, cgrs, Kg * cgrs, 0, col, col_off, ldcol, cgrs * ldcol, L,
                      beta, y, n0 * K * PQ + pq0, PQ, Kg * PQ, K * PQ, G, nb);
      }
    }
  }
  if (!s && (bias || act != CLNN_ACT_IDENTITY)) s = run_bias_act(ctx, y, bias, N, K, PQ, act, act_alpha);
  return s;
}

/* dx = beta*dx + conv's gradient with respect to x, for dy. */
static clnn_status pass_backward_data(clnn_context *ctx, const conv_geom *g, clnn_conv_algo algo,
                                      cl_mem dy, cl_mem w, float beta, cl_mem dx, cl_mem ws0,
                                      cl_mem ws1, const conv_plan *plan) {
  size_t N = g->N, K = g->K, C = g->C, PQ = (size_t)g->P * g->Q, HW = (size_t)g->H * g->W;
  size_t cgrs = (size_t)g->Cg * g->R * g->S;
  clnn_status s = CLNN_SUCCESS;
  if (algo == CLNN_CONV_ALGO_WINOGRAD)
    return clnn__conv_wino_backward_data(ctx, g, dy, w, beta, dx, ws0, ws1, clnn__conv_ws_limit);
  if (algo == CLNN_CONV_ALGO_DIRECT && clnn__conv_use_flat(ctx, g, PASS_BWD_DATA))
    return clnn__conv_flat_backward_data(ctx, g, dy, w, beta, dx);
  if (algo == CLNN_CONV_ALGO_DIRECT && on_cpu(ctx) && g->Cg == 1) {
    size_t global[2] = {(size_t)g->H, N * C};
    return LAUNCH_CPU(ctx, &k_conv2d_dw_backward_data_cpu, 2, global, CLNN_ARG_MEM(dy),
                      CLNN_ARG_MEM(w), CLNN_ARG_MEM(dx), CLNN_ARG_INT(g->C), CLNN_ARG_INT(g->H),
                      CLNN_ARG_INT(g->W), CLNN_ARG_INT(g->K), CLNN_ARG_INT(g->R), CLNN_ARG_INT(g->S),
                      CLNN_ARG_INT(g->P), CLNN_ARG_INT(g->Q), CLNN_ARG_INT(g->sh), CLNN_ARG_INT(g->sw),
                      CLNN_ARG_INT(g->pt), CLNN_ARG_INT(g->pl), CLNN_ARG_INT(g->dh),
                      CLNN_ARG_INT(g->dw), CLNN_ARG_INT(N * C), CLNN_ARG_FLOAT(beta));
  }
  if (algo == CLNN_CONV_ALGO_DIRECT) {
    size_t global[3] = {(size_t)g->W, (size_t)g->H, N * C};
    return LAUNCH(ctx, &k_conv2d_direct_backward_data, 3, global, CLNN_ARG_MEM(dy), CLNN_ARG_MEM(w),
                  CLNN_ARG_MEM(dx), CLNN_ARG_INT(g->C), CLNN_ARG_INT(g->H), CLNN_ARG_INT(g->W),
                  CLNN_ARG_INT(g->K), CLNN_ARG_INT(g->R), CLNN_ARG_INT(g->S), CLNN_ARG_INT(g->P),
                  CLNN_ARG_INT(g->Q), CLNN_ARG_INT(g->sh), CLNN_ARG_INT(g->sw), CLNN_ARG_INT(g->pt),
                  CLNN_ARG_INT(g->pl), CLNN_ARG_INT(g->dh), CLNN_ARG_INT(g->dw),
                  CLNN_ARG_INT(g->G), CLNN_ARG_INT(N * C), CLNN_ARG_FLOAT(beta));
  }
  if (algo == CLNN_CONV_ALGO_1X1_GEMM) {
    /* dx[n] (C x HW) = w^T (C x K) * dy[n] (K x HW) */
    return gemm_gi(ctx, 1, 0, C, HW, K, w, 0, C, 0, 0, dy, 0, HW, 0, K * PQ, beta, dx, 0, HW, 0,
                   C * HW, 1, N);
  }
  size_t G = g->G, Kg = g->Kg;
  for (size_t n0 = 0; n0 < N && !s; n0 += plan->nb) {
    size_t nb = plan->nb < N - n0 ? plan->nb : N - n0;
    for (size_t pq0 = 0; pq0 < PQ && !s; pq0 += plan->L) {
      size_t L = plan->L < PQ - pq0 ? plan->L : PQ - pq0;
      size_t J = nb * L;
      if (ws1 && bwd_data_gathers(clnn__gemm_cpu_panel(ctx), nb, L, PQ)) {
        /* col[group rows] (CgRS x J) = w[group]^T (CgRS x Kg) * dy[group] gathered (Kg x J) */
        s = run_gather_rows(ctx, dy, ws1, K, PQ, n0, nb);
        if (!s)
          s = clnn__gemm_batched(ctx, 1, 0, cgrs, J, Kg, 1.0f, w, 0, cgrs, Kg * cgrs, ws1, 0, J, Kg * J, 0.0f, ws0,
                                 0, J, cgrs * J, G);
        if (!s) s = run_col2im(ctx, g, ws0, dx, n0, nb, L, pq0, J, beta);
        continue;
      }
      /* col[group rows, image n] (CgRS x L) = w[group]^T (CgRS x Kg) * dy[n, group] (Kg x L) */
      s = gemm_gi(ctx, 1, 0, cgrs, L, Kg, w, 0, cgrs, Kg * cgrs, 0, dy, n0 * K * PQ + pq0, PQ,
                  Kg * PQ, K * PQ, 0.0f, ws0, 0, J, cgrs * J, L, G, nb);
      /* Later pixel slices of one image add to what the first slice wrote. */
      if (!s) s = run_col2im(ctx, g, ws0, dx, n0, nb, L, pq0, J, pq0 == 0 ? beta : 1.0f);
    }
  }
  return s;
}

/* dw = beta*dw + conv's gradient with respect to w, for x and dy. */
static clnn_status pass_backward_filter(clnn_context *ctx, const conv_geom *g, clnn_conv_algo algo,
                                        cl_mem x, cl_mem dy, float beta, cl_mem dw, cl_mem ws0,
                                        cl_mem ws1, const conv_plan *plan, cl_mem kept) {
  size_t N = g->N, K = g->K, C = g->C, PQ = (size_t)g->P * g->Q;
  size_t cgrs = (size_t)g->Cg * g->R * g->S;
  clnn_status s = CLNN_SUCCESS;
  if (algo == CLNN_CONV_ALGO_WINOGRAD)
    return clnn__conv_wino_backward_filter(ctx, g, x, dy, beta, dw, ws0, ws1, clnn__conv_ws_limit);
  if (algo == CLNN_CONV_ALGO_DIRECT && clnn__conv_use_flat(ctx, g, PASS_BWD_FILTER))
    return clnn__conv_flat_backward_filter(ctx, g, x, dy, beta, dw);
  if (algo == CLNN_CONV_ALGO_DIRECT && clnn__conv_use_band(ctx, g, PASS_BWD_FILTER))
    return clnn__conv_band_backward_filter(ctx, g, x, dy, beta, dw);
  if (algo == CLNN_CONV_ALGO_DIRECT && on_cpu(ctx) && g->Cg == 1) {
    size_t global[2] = {(size_t)g->R * g->S, K};
    return LAUNCH_CPU(ctx, &k_conv2d_dw_backward_filter_cpu, 2, global, CLNN_ARG_MEM(x),
                      CLNN_ARG_MEM(dy), CLNN_ARG_MEM(dw), CLNN_ARG_INT(g->N), CLNN_ARG_INT(g->C),
                      CLNN_ARG_INT(g->H), CLNN_ARG_INT(g->W), CLNN_ARG_INT(g->K), CLNN_ARG_INT(g->R),
                      CLNN_ARG_INT(g->S), CLNN_ARG_INT(g->P), CLNN_ARG_INT(g->Q), CLNN_ARG_INT(g->sh),
                      CLNN_ARG_INT(g->sw), CLNN_ARG_INT(g->pt), CLNN_ARG_INT(g->pl),
                      CLNN_ARG_INT(g->dh), CLNN_ARG_INT(g->dw), CLNN_ARG_FLOAT(beta));
  }
  if (algo == CLNN_CONV_ALGO_DIRECT && g->Cg == 1 && g->C == g->G)
    /* Depthwise outside the CPU class: few outputs (K*R*S), each a sum over N*P*Q terms. */
    return LAUNCH_REDUCE(ctx, &k_conv2d_dw_backward_filter_wg, K * cgrs, N * (size_t)g->Q, (size_t)g->Q,
                         CLNN_ARG_MEM(x), CLNN_ARG_MEM(dy), CLNN_ARG_MEM(dw), CLNN_ARG_INT(g->N),
                         CLNN_ARG_INT(g->C), CLNN_ARG_INT(g->H), CLNN_ARG_INT(g->W), CLNN_ARG_INT(g->K),
                         CLNN_ARG_INT(g->R), CLNN_ARG_INT(g->S), CLNN_ARG_INT(g->P), CLNN_ARG_INT(g->Q),
                         CLNN_ARG_INT(g->sh), CLNN_ARG_INT(g->sw), CLNN_ARG_INT(g->pt), CLNN_ARG_INT(g->pl),
                         CLNN_ARG_INT(g->dh), CLNN_ARG_INT(g->dw), CLNN_ARG_FLOAT(beta));
  if (algo == CLNN_CONV_ALGO_DIRECT) {
    size_t global[1] = {K * cgrs};
    return LAUNCH(ctx, &k_conv2d_direct_backward_filter, 1, global, CLNN_ARG_MEM(x),
                  CLNN_ARG_MEM(dy), CLNN_ARG_MEM(dw), CLNN_ARG_INT(g->N), CLNN_ARG_INT(g->C),
                  CLNN_ARG_INT(g->H), CLNN_ARG_INT(g->W), CLNN_ARG_INT(g->K), CLNN_ARG_INT(g->R),
                  CLNN_ARG_INT(g->S), CLNN_ARG_INT(g->P), CLNN_ARG_INT(g->Q), CLNN_ARG_INT(g->sh),
                  CLNN_ARG_INT(g->sw), CLNN_ARG_INT(g->pt), CLNN_ARG_INT(g->pl),
                  CLNN_ARG_INT(g->dh), CLNN_ARG_INT(g->dw), CLNN_ARG_INT(g->G),
                  CLNN_ARG_FLOAT(beta));
  }
  if (algo == CLNN_CONV_ALGO_1X1_GEMM) {
    if (clnn__gemm_kseg_available(ctx) && N > 1)
      /* dw (K x C) = sum over n of dy[n] (K x PQ) * x[n]^T (PQ x C): one GEMM, one segment per image */
      return clnn__gemm_kseg(ctx, 0, 1, K, C, N * PQ, PQ, 1.0f, dy, 0, PQ, 0, K * PQ, x, 0, PQ, 0, C * PQ, beta,
                             dw, 0, C, 0, 1);
    if (plan->nb <= 1) {
      /* dw (K x C) = sum over n of dy[n] (K x PQ) * x[n]^T (PQ x C), one GEMM per image */
      for (size_t n = 0; n < N && !s; n++)
        s = clnn__gemm(ctx, 0, 1, K, C, PQ, 1.0f, dy, n * K * PQ, PQ, x, n * C * PQ, PQ,
                       n == 0 ? beta : 1.0f, dw, 0, C);
      return s;
    }
    for (size_t n0 = 0; n0 < N && !s; n0 += plan->nb) {
      size_t nb = plan->nb < N - n0 ? plan->nb : N - n0;
      size_t J = nb * PQ;
      s = run_gather_rows(ctx, x, ws0, C, PQ, n0, nb);
      if (!s) s = run_gather_rows(ctx, dy, ws1, K, PQ, n0, nb);
      if (!s) s = clnn__gemm(ctx, 0, 1, K, C, J, 1.0f, ws1, 0, J, ws0, 0, J, n0 == 0 ? beta : 1.0f, dw, 0, C);
    }
    return s;
  }
  size_t G = g->G, Kg = g->Kg;
  int first = 1;
  for (size_t n0 = 0; n0 < N && !s; n0 += plan->nb) {
    size_t nb = plan->nb < N - n0 ? plan->nb : N - n0;
    for (size_t pq0 = 0; pq0 < PQ && !s; pq0 += plan->L) {
      size_t L = plan->L < PQ - pq0 ? plan->L : PQ - pq0;
      size_t J = nb * L;
      /* kept columns (clnn__conv2d_backward_filter_kept): the forward's, chunk read in place */
      cl_mem col = kept ? kept : ws0;
      size_t col_off = kept ? n0 * PQ : 0, ldcol = kept ? N * PQ : J;
      if (!kept) s = run_im2col(ctx, g, x, ws0, n0, L, pq0, J);
      cl_mem a = dy;
      size_t a_off = n0 * K * PQ + pq0, lda = PQ, a_g = (size_t)Kg * PQ;
      if (!s && nb > 1 && clnn__gemm_kseg_available(ctx)) {
        /* dw[group] (+)= sum over the nb images of dy[n, group] (Kg x PQ) * their columns of col
         * (L = PQ here): dy read in place, one segment per image */
        s = clnn__gemm_kseg(ctx, 0, 1, Kg, cgrs, J, PQ, 1.0f, dy, n0 * K * PQ, PQ, Kg * PQ, K * PQ, col, col_off,
                            ldcol, cgrs * ldcol, PQ, first ? beta : 1.0f, dw, 0, cgrs, Kg * cgrs, G);
        first = 0;
        continue;
      }
      if (!s && nb > 1) {
        s = run_gather_rows(ctx, dy, ws1, K, PQ, n0, nb);
        a = ws1;
        a_off = 0;
        lda = J;
        a_g = Kg * J;
      }
      /* dw[group] (Kg x CgRS) (+)= dy[group] (Kg x J) * col[group rows]^T (J x CgRS) */
      if (!s)
        s = gemm_gi(ctx, 0, 1, Kg, cgrs, J, a, a_off, lda, a_g, 0, col, col_off, ldcol, cgrs * ldcol, 0,
                    first ? beta : 1.0f, dw, 0, cgrs, Kg * cgrs, 0, G, 1);
      first = 0;
    }
  }
  return s;
}

/* ---------------------------------------------------------------------------------------------- */
/* Kept columns (graph training, src/nn/op_conv.c)                                                */
/* ---------------------------------------------------------------------------------------------- */

/* The im2col of a training forward is the im2col its backward-filter would compute again (same
 * x, same chunks): where both passes run IM2COL_GEMM through clnn's CPU GEMM, the forward can
 * write the whole batch's columns into a buffer the caller keeps and the backward-filter read
 * them in place, chunk by chunk with the GEMM calls of the recomputing path (only the operand's
 * offset and leading dimension differ), so the filter gradient is bitwise the same. Cost: C*R*S x
 * N*P*Q floats per layer, kept from forward to backward; limited to CONV_KEEP_LIMIT bytes and to
 * whole-image chunks. $CLNN_CONV_KEEP_COLS=0 turns it off (read once); tests switch it with
 * clnn__conv2d_set_keep_cols. */
#define CONV_KEEP_LIMIT ((size_t)256 << 20)
static _Atomic int conv_keep_mode = -2; /* -2: $CLNN_CONV_KEEP_COLS not read yet; 0 off; 1 on */
int clnn__conv2d_set_keep_cols(int on) {
  int old = atomic_exchange(&conv_keep_mode, on ? 1 : 0);
  return old == -2 ? 1 : old;
}

static int keep_cols_enabled(void) {
  int m = atomic_load(&conv_keep_mode);
  if (m == -2) {
    const char *v = getenv("CLNN_CONV_KEEP_COLS");
    int want = !(v && v[0] == '0' && v[1] == 0);
    int expected = -2;
    atomic_compare_exchange_strong(&conv_keep_mode, &expected, want);
    m = atomic_load(&conv_keep_mode);
  }
  return m == 1;
}

static size_t kept_cols_numel(const conv_geom *g) {
  return (size_t)g->C * g->R * g->S * g->N * g->P * g->Q;
}

static int kept_cols_apply(clnn_context *ctx, const conv_geom *g) {
  clnn_conv_algo fwd, bwd;
  size_t crs = (size_t)g->C * g->R * g->S, pq = (size_t)g->P * g->Q;
  if (!keep_cols_enabled() || !clnn__gemm_cpu_panel(ctx)) return 0;
  if (clnn__conv_resolve_algo("kept columns", ctx, g, CLNN_CONV_ALGO_AUTO, PASS_FWD, &fwd) ||
      clnn__conv_resolve_algo("kept columns", ctx, g, CLNN_CONV_ALGO_AUTO, PASS_BWD_FILTER, &bwd) ||
      fwd != CLNN_CONV_ALGO_IM2COL_GEMM || bwd != CLNN_CONV_ALGO_IM2COL_GEMM)
    return 0;
  if (make_plan(g, crs * sizeof(float)).L != pq) return 0; /* slices of one image's pixels */
  size_t n = kept_cols_numel(g);
  return n <= (size_t)INT_MAX && (uint64_t)g->N * pq <= (uint64_t)INT_MAX &&
         n <= CONV_KEEP_LIMIT / sizeof(float);
}

size_t clnn__conv2d_kept_cols_numel(clnn_context *ctx, const clnn_conv2d_params *p,
                                    const clnn_tensor *x, const clnn_tensor *w) {
  conv_geom g;
  if (!ctx || !p || !x || !w || x->ndim != 4 || w->ndim != 4) return 0;
  if (clnn__conv_geom("kept columns", x->dims, w->dims, p, &g)) return 0; /* the pass reports it */
  return kept_cols_apply(ctx, &g) ? kept_cols_numel(&g) : 0;
}


/* ---------------------------------------------------------------------------------------------- */
/* Public entry points                                                                            */
/* ---------------------------------------------------------------------------------------------- */

/* The pass each tensor entry point runs: a transposed convolution's forward is the data gradient
 * of the convolution it transposes, its backward-data that convolution's forward, and its
 * backward-filter the filter gradient with x and dy swapped. */
static const enum conv_pass entry_pass[] = {
    [CLNN__CONV_FORWARD] = PASS_FWD,
    [CLNN__CONV_BACKWARD_DATA] = PASS_BWD_DATA,
    [CLNN__CONV_BACKWARD_FILTER] = PASS_BWD_FILTER,
    [CLNN__CONV_TRANSPOSE_FORWARD] = PASS_BWD_DATA,
    [CLNN__CONV_TRANSPOSE_BACKWARD_DATA] = PASS_FWD,
    [CLNN__CONV_TRANSPOSE_BACKWARD_FILTER] = PASS_BWD_FILTER,
};

/* Entry point e on the call's tensors a->t (in its argument order: the pass's input, weights or
 * second input, output): every check (src/ops/conv2d_geom.c), the algorithm and its workspaces,
 * all before the first kernel is enqueued, then the pass. With kept columns `cols` (NULL: none;
 * else the caller checked they apply, see clnn__conv2d_kept_cols_numel) the forward writes them,
 * the backward-filter reads them, and neither takes the column workspace. */
clnn_status clnn__conv2d_run(clnn_context *ctx, clnn__conv_entry e, const clnn_conv2d_params *p,
                             clnn_conv_algo algo, const clnn__conv_args *a, const clnn_tensor *cols) {
  const char *fn = clnn__conv_entry_name(e);
  const enum conv_pass pass = entry_pass[e];
  conv_geom g;
  clnn_conv_algo al;
  conv_plan plan;
  cl_mem ws0, ws1;
  clnn_status s;
  if ((s = clnn__conv_check_call(ctx, e, p, a, &g)) || (s = clnn__conv_resolve_algo(fn, ctx, &g, algo, pass, &al)))
    return s;
  cl_mem keep = cols ? cols->mem : NULL;
  if (keep) {
    if (!kept_cols_apply(ctx, &g) || cols->numel != kept_cols_numel(&g))
      return clnn__conv_fail(CLNN_ERROR_INTERNAL, fn, "kept columns do not apply or have the wrong size");
    size_t b0, b1;
    pass_workspace(&g, al, pass, clnn__gemm_cpu_panel(ctx), &b0, &b1, &plan);
    ws0 = ws1 = NULL;
  } else if ((s = acquire(fn, ctx, &g, al, pass, &ws0, &ws1, &plan)))
    return s;
  last_algo = clnn__conv_algo_label(ctx, &g, al, pass);
  cl_mem t0 = a->t[0]->mem, t1 = a->t[1]->mem, out = a->t[2]->mem, bias = a->bias ? a->bias->mem : NULL;
  const float beta = a->has_beta ? a->beta : 0.0f;
  switch (pass) {
    case PASS_FWD:
      return pass_forward(ctx, &g, al, t0, t1, bias, a->has_act ? a->act : CLNN_ACT_IDENTITY,
                          a->has_act ? a->act_alpha : 0.0f, beta, out, ws0, ws1, &plan, keep);
    case PASS_BWD_DATA:
      s = pass_backward_data(ctx, &g, al, t0, t1, beta, out, ws0, ws1, &plan);
      if (!s && bias) /* the transposed forward's bias */
        s = run_bias_act(ctx, out, bias, (size_t)g.N, (size_t)g.C, (size_t)g.H * g.W, CLNN_ACT_IDENTITY, 0.0f);
      return s;
    case PASS_BWD_FILTER:
      /* the transposed convolution's x is its convolution's output gradient, its dy the input */
      if (e == CLNN__CONV_TRANSPOSE_BACKWARD_FILTER) return pass_backward_filter(ctx, &g, al, t1, t0, beta, out, ws0, ws1, &plan, NULL);
      return pass_backward_filter(ctx, &g, al, t0, t1, beta, out, ws0, ws1, &plan, keep);
  }
  return clnn__conv_fail(CLNN_ERROR_INTERNAL, fn, "unknown pass");
}

clnn_status clnn_conv2d_backward_bias(clnn_context *ctx, const clnn_tensor *dy, float beta,
                                      clnn_tensor *db) {
  const char *fn = "clnn_conv2d_backward_bias";
  clnn_status s;
  if (!ctx) return clnn__conv_fail(CLNN_ERROR_INVALID_ARGUMENT, fn, "ctx is NULL");
  if ((s = clnn__check_tensor(ctx, dy, "dy")) || (s = clnn__check_tensor(ctx, db, "db")))
    return clnn__prefix_error(fn, s);
  if ((s = clnn__check_beta(beta))) return clnn__prefix_error(fn, s);
  if (dy->ndim < 2) {
    char b[128];
    return clnn__conv_fail(CLNN_ERROR_SHAPE_MISMATCH, fn, "dy must be [N, K, ...] (at least 2-D), got %s",
                clnn__dims_str(dy, b, sizeof b));
  }
  size_t N = dy->dims[0], K = dy->dims[1], sp = 1;
  for (int i = 2; i < dy->ndim; i++) sp *= dy->dims[i]; /* cannot overflow: dy exists */
  if (db->numel != K)
    return clnn__conv_fail(CLNN_ERROR_SHAPE_MISMATCH, fn, "db has %zu elements, expected K = dy dim 1 = %zu",
                db->numel, K);
  if ((s = clnn__check_alias(fn, db, "db", dy, "dy"))) return s;
  if ((s = clnn__conv_check_int(fn, "N*K", (uint64_t)N * K)) || (s = clnn__conv_check_int(fn, "spatial size", sp)) ||
      (s = clnn__conv_check_int(fn, "K*spatial", (uint64_t)K * sp)))
    return s;
  size_t global[1] = {K};
  if (on_cpu(ctx))
    return LAUNCH_CPU(ctx, &k_conv2d_backward_bias_cpu, 1, global, CLNN_ARG_MEM(dy->mem),
                      CLNN_ARG_MEM(db->mem), CLNN_ARG_INT(N), CLNN_ARG_INT(K), CLNN_ARG_INT(sp),
                      CLNN_ARG_FLOAT(beta));
  return LAUNCH_REDUCE(ctx, &k_conv2d_backward_bias_wg, K, N * sp, sp, CLNN_ARG_MEM(dy->mem),
                       CLNN_ARG_MEM(db->mem), CLNN_ARG_INT(N), CLNN_ARG_INT(K), CLNN_ARG_INT(sp),
                       CLNN_ARG_FLOAT(beta));
}
