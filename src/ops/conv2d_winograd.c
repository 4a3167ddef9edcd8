/* src/ops/conv2d_winograd.c — host side of the Winograd convolution F(4x4, 3x3)
 * (cl/conv2d_winograd.cl, a program of its own, so networks that never use it never build it),
 * which src/ops/conv2d.c runs for CLNN_CONV_ALGO_WINOGRAD and for AUTO where it measured faster
 * (clnn__conv_resolve_algo in src/ops/conv2d_algo.c). Each pass transforms the filters once, then walks the batch's tiles in
 * chunks whose transformed tiles fit the column-buffer limit: transform the chunk's input tiles,
 * one strided-batched GEMM over the 36 positions (clnn__gemm_batched: CLBlast on the GPU
 * class, clnn's CPU GEMM on the CPU class), transform back with bias, activation and beta fused.
 * Backward-data is the same forward over dy with the filters flipped and K, C swapped;
 * backward-filter sums per-position GEMMs of transformed dy and input tiles over the chunks
 * (GEMM beta 1) and transforms the sum back into dw once. Workspace slot 0 holds the transformed
 * filters (or the filter gradient's sum) followed by the chunk's transformed input tiles, slot 1
 * the chunk's GEMM output (or transformed dy). F(4x4) rather than F(2x2): 4 times fewer
 * multiplications than a direct sum (F(2x2): 2.25) and transformed tiles 2.25 times the input
 * (F(2x2): 4); measured on PoCL (2-core Zen 5, conv_res3x3_56 and _14, minima of 10 runs, load
 * 3-4), F(2x2) with one tile per work-item took 1.1-1.5x F(4x4)'s time on res3x3_56 and 0.6-0.9x
 * on res3x3_14 before the CPU block kernels, which exist for F(4x4) only. Fp32 error: the
 * transforms multiply by entries up to 8 and divide by 24, so the error is larger than im2col's
 * (clnn-bench's relative error on those shapes 0.5-2e-5). */
#include "conv2d_winograd.h"

#include <limits.h>

#define WINO_PROGRAM "conv2d_winograd"

/* The kernels this file launches. */
static clnn__kernel_ref k_input = CLNN_KERNEL_REF(WINO_PROGRAM, "conv2d_wino_input");
static clnn__kernel_ref k_filter = CLNN_KERNEL_REF(WINO_PROGRAM, "conv2d_wino_filter");
static clnn__kernel_ref k_output = CLNN_KERNEL_REF(WINO_PROGRAM, "conv2d_wino_output");
static clnn__kernel_ref k_dy = CLNN_KERNEL_REF(WINO_PROGRAM, "conv2d_wino_dy");
static clnn__kernel_ref k_filter_grad = CLNN_KERNEL_REF(WINO_PROGRAM, "conv2d_wino_filter_grad");
/* CPU-class tile transforms: blocks of 4 tiles, chunks of whole tile rows. */
static clnn__kernel_ref k_input_cpu = CLNN_KERNEL_REF(WINO_PROGRAM, "conv2d_wino_input_cpu");
static clnn__kernel_ref k_output_cpu = CLNN_KERNEL_REF(WINO_PROGRAM, "conv2d_wino_output_cpu");
static clnn__kernel_ref k_dy_cpu = CLNN_KERNEL_REF(WINO_PROGRAM, "conv2d_wino_dy_cpu");

int clnn__conv_wino_applies(const conv_geom *g) {
  if (g->R != 3 || g->S != 3 || g->sh != 1 || g->sw != 1 || g->dh != 1 || g->dw != 1 || g->G != 1) return 0;
  if (g->pt > 2 || g->pb > 2 || g->pl > 2 || g->pr > 2) return 0;
  /* the batch's tiles over the larger of the input and output planes fit an int */
  uint64_t hh = (uint64_t)(g->H > g->P ? g->H : g->P), ww = (uint64_t)(g->W > g->Q ? g->W : g->Q);
  return (uint64_t)g->N * ((hh + 3) / 4) * ((ww + 3) / 4) <= (uint64_t)INT_MAX;
}

/* One pass as a forward convolution: Ci input channels of Hin x Win, paddings pt, pl, Co output
 * channels of Ho x Wo; tiles th x tw per image, T in all, Tc per chunk. */
typedef struct wino_plan {
  int m, a2; /* output tile size 4, positions (m+2)^2 = 36 */
  int Ci, Hin, Win, pt, pl, Co, Ho, Wo;
  int th, tw;
  size_t T, Tc;
} wino_plan;

static wino_plan make_wino_plan(const conv_geom *g, int pass, size_t limit) {
  wino_plan p;
  p.m = 4;
  p.a2 = 36;
  if (pass == CLNN__WINO_BWD_DATA) { /* dx = conv(dy, flipped w): padding 2 - pad */
    p.Ci = g->K, p.Hin = g->P, p.Win = g->Q, p.pt = 2 - g->pt, p.pl = 2 - g->pl;
    p.Co = g->C, p.Ho = g->H, p.Wo = g->W;
  } else {
    p.Ci = g->C, p.Hin = g->H, p.Win = g->W, p.pt = g->pt, p.pl = g->pl;
    p.Co = g->K, p.Ho = g->P, p.Wo = g->Q;
  }
  p.th = (p.Ho + p.m - 1) / p.m;
  p.tw = (p.Wo + p.m - 1) / p.m;
  p.T = (size_t)g->N * p.th * p.tw;
  size_t per_tile = (size_t)p.a2 * ((size_t)p.Ci + p.Co) * sizeof(float);
  p.Tc = limit / per_tile;
  if (p.Tc < 1) p.Tc = 1;
  if (p.Tc > p.T) p.Tc = p.T;
  if (p.Tc >= (size_t)p.tw) p.Tc -= p.Tc % (size_t)p.tw; /* whole tile rows where they fit */
  return p;
}

void clnn__conv_wino_workspace(const conv_geom *g, int pass, size_t limit, size_t *ws0, size_t *ws1) {
  wino_plan p = make_wino_plan(g, pass, limit);
  size_t filt = (size_t)p.a2 * p.Co * p.Ci;
  *ws0 = (filt + (size_t)p.a2 * p.Ci * p.Tc) * sizeof(float);
  *ws1 = (size_t)p.a2 * p.Co * p.Tc * sizeof(float);
}

/* 2-D launch over (n0, n1): work-groups of up to 64 work-items along dimension 0. */
static clnn_status wino_run(clnn_context *ctx, clnn__kernel_ref *ref, size_t n0, size_t n1,
                            const clnn__arg *args, size_t nargs) {
  size_t global[2] = {n0, n1}, local[2] = {clnn__local_pow2(ctx, ref, 64, n0), 1};
  return clnn__run(ctx, ref, 2, global, local, args, nargs);
}
#define WINO_RUN(ctx, ref, n0, n1, ...)                                                           \
  wino_run((ctx), (ref), (n0), (n1), (const clnn__arg[]){__VA_ARGS__},                           \
           sizeof((const clnn__arg[]){__VA_ARGS__}) / sizeof(clnn__arg))

/* CPU-class contexts run the block kernels for F(4x4) where the chunks are whole tile rows. */
static int use_cpu_kernels(const clnn_context *ctx, const wino_plan *p) {
  return ctx->device_class == CLNN_DEVICE_CLASS_CPU && p->Tc % (size_t)p->tw == 0;
}
/* Blocks of 4 tiles in tc tiles of whole tile rows. */
static size_t blocks(const wino_plan *p, size_t tc) { return tc / (size_t)p->tw * (((size_t)p->tw + 3) / 4); }

/* The block kernels: work-groups of up to 4 work-items along dimension 0 (PoCL spreads them over
 * the cores). */
static clnn_status cpu_run(clnn_context *ctx, clnn__kernel_ref *ref, size_t n0, size_t n1, const clnn__arg *args,
                           size_t nargs) {
  size_t l = 1;
  while (l < 4 && l * 2 <= n0) l *= 2;
  size_t global[2] = {n0, n1}, local[2] = {l, 1};
  return clnn__run(ctx, ref, 2, global, local, args, nargs);
}
#define CPU_RUN(ctx, ref, n0, n1, ...)                                                            \
  cpu_run((ctx), (ref), (n0), (n1), (const clnn__arg[]){__VA_ARGS__},                            \
          sizeof((const clnn__arg[]){__VA_ARGS__}) / sizeof(clnn__arg))

/* The forward-shaped pass of plan p: out = act(beta*out + conv(in, filter) + bias), the filter
 * w as given (flip 0) or flipped with K and C swapped (flip 1: backward-data). The filters are
 * transformed in w's own layout, U[pos][K][C] (taps reversed for flip), so each work-item reads
 * 16 whole filters in a row; backward-data's GEMM reads U transposed (the transform of the
 * flipped filters with K and C swapped measured 1.77 ms on res3x3_14 against 0.93 ms in w's
 * layout, its reads 9 KiB apart). */
static clnn_status wino_forward_pass(clnn_context *ctx, const conv_geom *g, const wino_plan *p, cl_mem in,
                                     cl_mem w, int flip, cl_mem bias, int act, float act_alpha,
                                     float beta, cl_mem out, cl_mem ws0, cl_mem ws1) {
  const size_t Co = (size_t)p->Co, Ci = (size_t)p->Ci, a2 = (size_t)p->a2, uoff = a2 * Co * Ci;
  const size_t wk = (size_t)g->K, wc = (size_t)g->C; /* w [K, C, 3, 3] */
  clnn_status s = WINO_RUN(ctx, &k_filter, (wc + 15) / 16, wk, CLNN_ARG_MEM(w), CLNN_ARG_MEM(ws0), CLNN_ARG_INT(g->K),
                           CLNN_ARG_INT(g->C), CLNN_ARG_INT(flip));
  for (size_t t0 = 0; t0 < p->T && !s; t0 += p->Tc) {
    const size_t tc = p->Tc < p->T - t0 ? p->Tc : p->T - t0;
    const int cpu = use_cpu_kernels(ctx, p);
    if (cpu)
      s = CPU_RUN(ctx, &k_input_cpu, blocks(p, tc), Ci, CLNN_ARG_MEM(in), CLNN_ARG_MEM(ws0),
                  CLNN_ARG_LONG((long long)uoff), CLNN_ARG_INT(p->Ci), CLNN_ARG_INT(p->Hin), CLNN_ARG_INT(p->Win),
                  CLNN_ARG_INT(p->pt), CLNN_ARG_INT(p->pl), CLNN_ARG_INT(p->th), CLNN_ARG_INT(p->tw),
                  CLNN_ARG_INT(t0 / p->tw), CLNN_ARG_INT(tc / p->tw), CLNN_ARG_INT(tc));
    else
      s = WINO_RUN(ctx, &k_input, tc, Ci, CLNN_ARG_MEM(in), CLNN_ARG_MEM(ws0), CLNN_ARG_LONG((long long)uoff),
                   CLNN_ARG_INT(p->Ci), CLNN_ARG_INT(p->Hin), CLNN_ARG_INT(p->Win), CLNN_ARG_INT(p->pt),
                   CLNN_ARG_INT(p->pl), CLNN_ARG_INT(p->th), CLNN_ARG_INT(p->tw), CLNN_ARG_INT(t0), CLNN_ARG_INT(tc));
    /* M[pos] (Co x tc) = U[pos] (Co x Ci, or stored Ci x Co for flip) * V[pos] (Ci x tc) */
    if (!s)
      s = clnn__gemm_batched(ctx, flip, 0, Co, tc, Ci, 1.0f, ws0, 0, flip ? Co : Ci, Co * Ci, ws0, uoff, tc, Ci * tc,
                             0.0f, ws1, 0, tc, Co * tc, a2);
    if (!s && cpu)
      s = CPU_RUN(ctx, &k_output_cpu, blocks(p, tc), Co, CLNN_ARG_MEM(ws1), CLNN_ARG_MEM(out), CLNN_ARG_MEM(bias),
                  CLNN_ARG_INT(p->Co), CLNN_ARG_INT(p->Ho), CLNN_ARG_INT(p->Wo), CLNN_ARG_INT(p->th),
                  CLNN_ARG_INT(p->tw), CLNN_ARG_INT(t0 / p->tw), CLNN_ARG_INT(tc / p->tw), CLNN_ARG_INT(tc),
                  CLNN_ARG_INT(bias != NULL), CLNN_ARG_INT(act), CLNN_ARG_FLOAT(act_alpha), CLNN_ARG_FLOAT(beta));
    else if (!s)
      s = WINO_RUN(ctx, &k_output, tc, Co, CLNN_ARG_MEM(ws1), CLNN_ARG_MEM(out), CLNN_ARG_MEM(bias),
                   CLNN_ARG_INT(p->Co), CLNN_ARG_INT(p->Ho), CLNN_ARG_INT(p->Wo), CLNN_ARG_INT(p->th),
                   CLNN_ARG_INT(p->tw), CLNN_ARG_INT(t0), CLNN_ARG_INT(tc), CLNN_ARG_INT(bias != NULL),
                   CLNN_ARG_INT(act), CLNN_ARG_FLOAT(act_alpha), CLNN_ARG_FLOAT(beta));
  }
  return s;
}

clnn_status clnn__conv_wino_forward(clnn_context *ctx, const conv_geom *g, cl_mem x, cl_mem w, cl_mem bias,
                                    int act, float act_alpha, float beta, cl_mem y, cl_mem ws0,
                                    cl_mem ws1, size_t limit) {
  wino_plan p = make_wino_plan(g, CLNN__WINO_FWD, limit);
  return wino_forward_pass(ctx, g, &p, x, w, 0, bias, act, act_alpha, beta, y, ws0, ws1);
}

clnn_status clnn__conv_wino_backward_data(clnn_context *ctx, const conv_geom *g, cl_mem dy, cl_mem w,
                                          float beta, cl_mem dx, cl_mem ws0, cl_mem ws1, size_t limit) {
  wino_plan p = make_wino_plan(g, CLNN__WINO_BWD_DATA, limit);
  return wino_forward_pass(ctx, g, &p, dy, w, 1, NULL, (int)CLNN_ACT_IDENTITY, 0.0f, beta, dx, ws0, ws1);
}

clnn_status clnn__conv_wino_backward_filter(clnn_context *ctx, const conv_geom *g, cl_mem x, cl_mem dy,
                                            float beta, cl_mem dw, cl_mem ws0, cl_mem ws1, size_t limit) {
  wino_plan p = make_wino_plan(g, CLNN__WINO_BWD_FILTER, limit);
  const size_t K = (size_t)g->K, C = (size_t)g->C, a2 = (size_t)p.a2, voff = a2 * K * C;
  clnn_status s = CLNN_SUCCESS;
  for (size_t t0 = 0; t0 < p.T && !s; t0 += p.Tc) {
    const size_t tc = p.Tc < p.T - t0 ? p.Tc : p.T - t0;
    const int cpu = use_cpu_kernels(ctx, &p);
    if (cpu)
      s = CPU_RUN(ctx, &k_input_cpu, blocks(&p, tc), C, CLNN_ARG_MEM(x), CLNN_ARG_MEM(ws0),
                  CLNN_ARG_LONG((long long)voff), CLNN_ARG_INT(p.Ci), CLNN_ARG_INT(p.Hin), CLNN_ARG_INT(p.Win),
                  CLNN_ARG_INT(p.pt), CLNN_ARG_INT(p.pl), CLNN_ARG_INT(p.th), CLNN_ARG_INT(p.tw),
                  CLNN_ARG_INT(t0 / p.tw), CLNN_ARG_INT(tc / p.tw), CLNN_ARG_INT(tc));
    else
      s = WINO_RUN(ctx, &k_input, tc, C, CLNN_ARG_MEM(x), CLNN_ARG_MEM(ws0), CLNN_ARG_LONG((long long)voff),
                   CLNN_ARG_INT(p.Ci), CLNN_ARG_INT(p.Hin), CLNN_ARG_INT(p.Win), CLNN_ARG_INT(p.pt),
                   CLNN_ARG_INT(p.pl), CLNN_ARG_INT(p.th), CLNN_ARG_INT(p.tw), CLNN_ARG_INT(t0), CLNN_ARG_INT(tc));
    if (!s && cpu)
      s = CPU_RUN(ctx, &k_dy_cpu, blocks(&p, tc), K, CLNN_ARG_MEM(dy), CLNN_ARG_MEM(ws1), CLNN_ARG_INT(g->K),
                  CLNN_ARG_INT(g->P), CLNN_ARG_INT(g->Q), CLNN_ARG_INT(p.th), CLNN_ARG_INT(p.tw),
                  CLNN_ARG_INT(t0 / p.tw), CLNN_ARG_INT(tc / p.tw), CLNN_ARG_INT(tc));
    else if (!s)
      s = WINO_RUN(ctx, &k_dy, tc, K, CLNN_ARG_MEM(dy), CLNN_ARG_MEM(ws1), CLNN_ARG_INT(g->K),
                   CLNN_ARG_INT(g->P), CLNN_ARG_INT(g->Q), CLNN_ARG_INT(p.th), CLNN_ARG_INT(p.tw),
                   CLNN_ARG_INT(t0), CLNN_ARG_INT(tc));
    /* dU[pos] (K x C) (+)= D[pos] (K x tc) * V[pos]^T (tc x C) */
    if (!s)
      s = clnn__gemm_batched(ctx, 0, 1, K, C, tc, 1.0f, ws1, 0, tc, K * tc, ws0, voff, tc, C * tc,
                             t0 == 0 ? 0.0f : 1.0f, ws0, 0, C, K * C, a2);
  }
  if (!s)
    s = WINO_RUN(ctx, &k_filter_grad, (C + 15) / 16, K, CLNN_ARG_MEM(ws0), CLNN_ARG_MEM(dw), CLNN_ARG_INT(g->K),
                 CLNN_ARG_INT(g->C), CLNN_ARG_FLOAT(beta));
  return s;
}
