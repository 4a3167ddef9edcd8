/* src/ops/conv2d_direct.c — host side of the direct convolution kernels for CPU devices
 * (cl/conv2d_direct.cl: one input channel per group, in the CPU training unit; the others in
 * cl/conv2d_direct_general.cl, a program of its own), which src/ops/conv2d.c picks for
 * CLNN_CONV_ALGO_DIRECT on CPU devices when the shape allows (stride 1, output plane the size of the input; the band forward: any
 * stride, several input channels per group) and for AUTO on the shapes where they measured
 * fastest (see src/ops/conv2d_algo.c), and the Winograd band forward that
 * CLNN_CONV_ALGO_WINOGRAD runs for row-stride-2 layers with 5 to 8 filter rows. Arguments are checked by the
 * caller; these only launch. Each work-item owns whole output planes (or filter taps), so
 * work-groups are single work-items: PoCL runs each as one task spread over the cores. The
 * kernels that keep a padded plane in local memory run where it fits half the device's local
 * memory (PoCL: 1 MiB), else the flat kernels do. */
#include "conv2d_direct.h"

#define FLAT_PROGRAM "conv2d_direct"            /* one input channel per group */
#define GENERAL_PROGRAM "conv2d_direct_general" /* the others: a program of its own */

/* The kernels this file launches. */
static clnn__kernel_ref k_flat_forward_c1_k16_5x5_cpu = CLNN_KERNEL_REF(FLAT_PROGRAM, "conv2d_flat_forward_c1_k16_5x5_cpu");
static clnn__kernel_ref k_flat_forward_c1_k16_3x3_cpu = CLNN_KERNEL_REF(FLAT_PROGRAM, "conv2d_flat_forward_c1_k16_3x3_cpu");
static clnn__kernel_ref k_band_dw_forward_3x3_cpu = CLNN_KERNEL_REF(GENERAL_PROGRAM, "conv2d_band_dw_forward_3x3_cpu");
static clnn__kernel_ref k_flat_forward_k8_cpu = CLNN_KERNEL_REF(GENERAL_PROGRAM, "conv2d_flat_forward_k8_cpu");
static clnn__kernel_ref k_flat_forward_k1_cpu = CLNN_KERNEL_REF(GENERAL_PROGRAM, "conv2d_flat_forward_k1_cpu");
static clnn__kernel_ref k_flat_bwd_filter_c1_5x5_cpu = CLNN_KERNEL_REF(FLAT_PROGRAM, "conv2d_flat_bwd_filter_c1_5x5_cpu");
static clnn__kernel_ref k_flat_bwd_filter_c1_3x3_cpu = CLNN_KERNEL_REF(FLAT_PROGRAM, "conv2d_flat_bwd_filter_c1_3x3_cpu");
static clnn__kernel_ref k_flat_bwd_filter_k4_cpu = CLNN_KERNEL_REF(GENERAL_PROGRAM, "conv2d_flat_bwd_filter_k4_cpu");
static clnn__kernel_ref k_band_forward_k16_cpu = CLNN_KERNEL_REF(GENERAL_PROGRAM, "conv2d_band_forward_k16_cpu");
static clnn__kernel_ref k_band_bwd_filter_k16_cpu = CLNN_KERNEL_REF(GENERAL_PROGRAM, "conv2d_band_bwd_filter_k16_cpu");
static clnn__kernel_ref k_band_wino_forward_cpu = CLNN_KERNEL_REF(GENERAL_PROGRAM, "conv2d_band_wino_forward_cpu");
static clnn__kernel_ref k_band_wino_filter = CLNN_KERNEL_REF(GENERAL_PROGRAM, "conv2d_band_wino_filter");

int clnn__conv_flat_applies(const conv_geom *g) {
  return g->sh == 1 && g->sw == 1 && g->P == g->H && g->Q == g->W;
}

int clnn__conv_flat_data_applies(const conv_geom *g) { return clnn__conv_flat_applies(g) && g->Cg == 1; }

static clnn_status flat_run(clnn_context *ctx, clnn__kernel_ref *kernel, size_t items,
                            const clnn__arg *args, size_t nargs) {
  size_t global[1] = {items}, local[1] = {1};
  return clnn__run(ctx, kernel, 1, global, local, args, nargs);
}
#define FLAT_RUN(ctx, kernel, items, ...)                                                         \
  flat_run((ctx), (kernel), (items), (const clnn__arg[]){__VA_ARGS__},                           \
           sizeof((const clnn__arg[]){__VA_ARGS__}) / sizeof(clnn__arg))

/* The forward kernel on input `in` [N, C, H, W] with weights w [K, C/groups, R, S] (flip: taps
 * reversed), paddings pt/pl, into out [N, K, H, W]:
 *  - depthwise 3x3 without row dilation: the band kernel (conv_dw3x3, 2x144x56x56, under load
 *    ~9 on the 2-core Zen guest: 0.38-0.42 ms against 0.44-0.90 ms for the flat one-channel
 *    kernel it replaces; its flipped backward-data 0.38 vs 0.45-0.77 ms);
 *  - one input channel per group, 3x3 or 5x5, more than 8 output channels per group (so a
 *    16-channel block wastes less than half its FMAs): the c1 kernels (conv_lenet5x5, 64x1x28x28
 *    -> 32: 0.95-1.0 ms against 2.1-2.7 ms for the 8-channel kernel with unrolled 5x5 taps it
 *    replaces, same load);
 *  - otherwise blocks of 8 output channels share each input vector when a group has several
 *    output channels, else 1. */
static clnn_status flat_forward(clnn_context *ctx, int N, int C, int H, int W, int K, int R, int S,
                                int pt, int pl, int dh, int dw, int G, int flip, cl_mem in,
                                cl_mem w, cl_mem bias, int act, float alpha, float beta, cl_mem out) {
  const int Cg = C / G, Kg = K / G;
  if (Cg == 1 && Kg == 1 && R == 3 && S == 3 && dh == 1) {
    /* the band kernel's padded plane in local memory (see cl/conv2d_direct.cl) */
    const size_t rb = 8, wd = ((size_t)W + 15) / 16 * 16, hr = ((size_t)H + rb - 1) / rb * rb;
    const size_t xl = (hr + R - 1) * (wd + (size_t)(S - 1) * dw) * sizeof(float);
    const size_t planes = (size_t)N * G;
    if (xl <= ctx->info.local_mem_bytes / 2)
      return FLAT_RUN(ctx, &k_band_dw_forward_3x3_cpu, planes, CLNN_ARG_MEM(in), CLNN_ARG_MEM(w),
                      CLNN_ARG_MEM(bias), CLNN_ARG_MEM(out), CLNN_ARG_INT(H), CLNN_ARG_INT(W),
                      CLNN_ARG_INT(pt), CLNN_ARG_INT(pl), CLNN_ARG_INT(dw), CLNN_ARG_INT(G),
                      CLNN_ARG_INT(flip), CLNN_ARG_INT(planes), CLNN_ARG_INT(bias != NULL),
                      CLNN_ARG_INT(act), CLNN_ARG_FLOAT(alpha), CLNN_ARG_FLOAT(beta),
                      CLNN_ARG_LOCAL(xl));
  }
  clnn__kernel_ref *c1 = NULL;
  if (Cg == 1 && R == 5 && S == 5 && Kg > 8) c1 = &k_flat_forward_c1_k16_5x5_cpu;
  else if (Cg == 1 && R == 3 && S == 3 && Kg > 8) c1 = &k_flat_forward_c1_k16_3x3_cpu;
  if (c1) {
    const int kb = 16;
    size_t blocks = (size_t)N * G * ((Kg + kb - 1) / kb);
    return FLAT_RUN(ctx, c1, blocks, CLNN_ARG_MEM(in), CLNN_ARG_MEM(w), CLNN_ARG_MEM(bias),
                    CLNN_ARG_MEM(out), CLNN_ARG_INT(C), CLNN_ARG_INT(H), CLNN_ARG_INT(W),
                    CLNN_ARG_INT(K), CLNN_ARG_INT(pt), CLNN_ARG_INT(pl), CLNN_ARG_INT(dh),
                    CLNN_ARG_INT(dw), CLNN_ARG_INT(G), CLNN_ARG_INT(flip), CLNN_ARG_INT(blocks),
                    CLNN_ARG_INT(bias != NULL), CLNN_ARG_INT(act), CLNN_ARG_FLOAT(alpha),
                    CLNN_ARG_FLOAT(beta), CLNN_ARG_LONG((long long)N * C * H * W));
  }
  int kb = Kg >= 2 ? 8 : 1;
  size_t blocks = (size_t)N * G * ((Kg + kb - 1) / kb);
  clnn__kernel_ref *kernel = kb == 8 ? &k_flat_forward_k8_cpu : &k_flat_forward_k1_cpu;
  return FLAT_RUN(ctx, kernel, blocks,
                  CLNN_ARG_MEM(in), CLNN_ARG_MEM(w), CLNN_ARG_MEM(bias), CLNN_ARG_MEM(out),
                  CLNN_ARG_INT(C), CLNN_ARG_INT(H), CLNN_ARG_INT(W), CLNN_ARG_INT(K), CLNN_ARG_INT(R),
                  CLNN_ARG_INT(S), CLNN_ARG_INT(pt), CLNN_ARG_INT(pl), CLNN_ARG_INT(dh),
                  CLNN_ARG_INT(dw), CLNN_ARG_INT(G), CLNN_ARG_INT(flip), CLNN_ARG_INT(blocks),
                  CLNN_ARG_INT(bias != NULL), CLNN_ARG_INT(act), CLNN_ARG_FLOAT(alpha),
                  CLNN_ARG_FLOAT(beta));
}

clnn_status clnn__conv_flat_forward(clnn_context *ctx, const conv_geom *g, cl_mem x, cl_mem w,
                                    cl_mem bias, int act, float act_alpha, float beta, cl_mem y) {
  return flat_forward(ctx, g->N, g->C, g->H, g->W, g->K, g->R, g->S, g->pt, g->pl, g->dh, g->dw,
                      g->G, 0, x, w, bias, act, act_alpha, beta, y);
}

/* With one input channel per group, dx[n, c] = sum over the group's output channels k and taps
 * of w[k, 0, r, s] * dy[n, k, h + pt - r*dh, w + pl - s*dw]: the forward kernel over dy as
 * input (K channels, groups G, so K/G per group) into dx (C = G outputs, one per group), with
 * weight index (c*Kg + kl)*R*S (w's own layout, since Cg == 1) of the reversed tap, and
 * paddings (R-1)*dh - pt = pb and (S-1)*dw - pl = pr (P == H, Q == W). */
clnn_status clnn__conv_flat_backward_data(clnn_context *ctx, const conv_geom *g, cl_mem dy,
                                          cl_mem w, float beta, cl_mem dx) {
  return flat_forward(ctx, g->N, g->K, g->H, g->W, g->C, g->R, g->S, (g->R - 1) * g->dh - g->pt,
                      (g->S - 1) * g->dw - g->pl, g->dh, g->dw, g->G, 1, dy, w, NULL, 0, 0.0f,
                      beta, dx);
}

/* The c1 backward-filter kernels (see cl/conv2d_direct.cl): one input channel per group, 3x3
 * or 5x5, any plane size (no local memory). */
static int c1_filter_applies(const conv_geom *g) {
  return g->Cg == 1 && g->R == g->S && (g->R == 5 || g->R == 3);
}

int clnn__conv_flat_c1_filter_applies(const clnn_context *ctx, const conv_geom *g) {
  (void)ctx;
  return clnn__conv_flat_applies(g) && c1_filter_applies(g);
}

/* One input channel per group, 3x3 or 5x5 (depthwise included): one work-item per output
 * channel with every tap's sum in registers, walking the rows with a window of dy rows
 * (conv_lenet5x5 with one PoCL thread under load ~4: 0.85 ms against 1.01 ms for the
 * padded-plane kernel it replaced, and 2.7-2.8 ms for the blocked kernel below). Otherwise
 * work-items: groups * K-blocks * Cg * R * S-blocks, blocks of 4 output channels by 5 taps
 * (each dy vector feeds 5 taps, each x vector 4 channels). */
clnn_status clnn__conv_flat_backward_filter(clnn_context *ctx, const conv_geom *g, cl_mem x,
                                            cl_mem dy, float beta, cl_mem dw) {
  if (c1_filter_applies(g))
    return FLAT_RUN(ctx, g->R == 5 ? &k_flat_bwd_filter_c1_5x5_cpu : &k_flat_bwd_filter_c1_3x3_cpu,
                    (size_t)g->K, CLNN_ARG_MEM(x), CLNN_ARG_MEM(dy), CLNN_ARG_MEM(dw),
                    CLNN_ARG_INT(g->N), CLNN_ARG_INT(g->C), CLNN_ARG_INT(g->H), CLNN_ARG_INT(g->W),
                    CLNN_ARG_INT(g->K), CLNN_ARG_INT(g->pt), CLNN_ARG_INT(g->pl), CLNN_ARG_INT(g->dh),
                    CLNN_ARG_INT(g->dw), CLNN_ARG_INT(g->G), CLNN_ARG_FLOAT(beta),
                    CLNN_ARG_LONG((long long)g->N * g->C * g->H * g->W),
                    CLNN_ARG_LONG((long long)g->N * g->K * g->H * g->W));
  const int kb = 4, sb = 5;
  size_t items = (size_t)g->G * ((g->Kg + kb - 1) / kb) * g->Cg * g->R * ((g->S + sb - 1) / sb);
  return FLAT_RUN(ctx, &k_flat_bwd_filter_k4_cpu, items, CLNN_ARG_MEM(x), CLNN_ARG_MEM(dy),
                  CLNN_ARG_MEM(dw), CLNN_ARG_INT(g->N), CLNN_ARG_INT(g->C), CLNN_ARG_INT(g->H),
                  CLNN_ARG_INT(g->W), CLNN_ARG_INT(g->K), CLNN_ARG_INT(g->R), CLNN_ARG_INT(g->S),
                  CLNN_ARG_INT(g->pt), CLNN_ARG_INT(g->pl), CLNN_ARG_INT(g->dh), CLNN_ARG_INT(g->dw),
                  CLNN_ARG_INT(g->G), CLNN_ARG_INT(items), CLNN_ARG_FLOAT(beta));
}

/* The band kernel's plan: PB output rows per work-item (at most 8, fewer where that gives under
 * 8 work-items per compute unit), BR input rows, Wph floats per column phase, and the local bytes
 * of its padded, phase-split copy of the band. 0 where even one output row's band and the copy of
 * 16 output channels' weights do not fit half the device's local memory. */
static size_t band_plan(const clnn_context *ctx, const conv_geom *g, int *pb, int *br, int *wph) {
  size_t cu = ctx->info.compute_units ? ctx->info.compute_units : 1;
  size_t want = 8 * cu, rows = (size_t)g->N * g->G * g->P;
  int PB = (int)(rows / want);
  if (PB > 8) PB = 8;
  if (PB < 1) PB = 1;
  const int Wph = (g->Q + 15) / 16 * 16 + (g->S - 1) * g->dw / g->sw + 1;
  for (; PB >= 1; PB /= 2) {
    const int BR = (PB - 1) * g->sh + (g->R - 1) * g->dh + 1;
    size_t bytes = (size_t)g->Cg * BR * g->sw * Wph * sizeof(float);
    size_t wbytes = (size_t)g->Cg * g->R * g->S * 16 * sizeof(float); /* the weights' copy */
    if (bytes + wbytes <= ctx->info.local_mem_bytes / 2) {
      *pb = PB;
      *br = BR;
      *wph = Wph;
      return bytes;
    }
  }
  return 0;
}

/* The band backward-filter's local bytes: a whole padded, phase-split input plane (Hp rows of
 * sw phases of Wph floats) and the 16 output channels' sums. */
static size_t band_bwd_filter_bytes(const conv_geom *g, int *hp, int *wph, size_t *sums) {
  *hp = (g->P - 1) * g->sh + (g->R - 1) * g->dh + 1;
  *wph = (g->Q + 15) / 16 * 16 + (g->S - 1) * g->dw / g->sw + 1;
  *sums = (size_t)16 * g->R * g->S * sizeof(float);
  return (size_t)*hp * g->sw * *wph * sizeof(float);
}

int clnn__conv_band_applies(const clnn_context *ctx, const conv_geom *g, int bwd_filter) {
  int pb, br, wph;
  if (bwd_filter) {
    size_t sums, bytes = band_bwd_filter_bytes(g, &pb, &wph, &sums);
    return bytes + sums <= ctx->info.local_mem_bytes / 2;
  }
  return band_plan(ctx, g, &pb, &br, &wph) != 0;
}

/* Work-items: groups * Cg * blocks of 16 output channels, each for all taps, or for half of them
 * where that gives under 8 work-items per compute unit (conv_stem7x7: 24, not 12; every one
 * copies the padded plane, but more of them balance the cores when one is busy). */
clnn_status clnn__conv_band_backward_filter(clnn_context *ctx, const conv_geom *g, cl_mem x,
                                            cl_mem dy, float beta, cl_mem dw) {
  int Hp, Wph;
  size_t sums, xl = band_bwd_filter_bytes(g, &Hp, &Wph, &sums);
  size_t cu = ctx->info.compute_units ? ctx->info.compute_units : 1;
  size_t items = (size_t)g->G * g->Cg * ((g->Kg + 15) / 16);
  /* halves of the kernel's blocks of 5 taps: at least 2 blocks */
  const int ts = items < 8 * cu && g->R * g->S > 5 ? 2 : 1;
  items *= (size_t)ts;
  return FLAT_RUN(ctx, &k_band_bwd_filter_k16_cpu, items, CLNN_ARG_MEM(x), CLNN_ARG_MEM(dy),
                  CLNN_ARG_MEM(dw), CLNN_ARG_INT(g->N), CLNN_ARG_INT(g->C), CLNN_ARG_INT(g->H),
                  CLNN_ARG_INT(g->W), CLNN_ARG_INT(g->K), CLNN_ARG_INT(g->R), CLNN_ARG_INT(g->S),
                  CLNN_ARG_INT(g->P), CLNN_ARG_INT(g->Q), CLNN_ARG_INT(g->sh), CLNN_ARG_INT(g->sw),
                  CLNN_ARG_INT(g->pt), CLNN_ARG_INT(g->pl), CLNN_ARG_INT(g->dh), CLNN_ARG_INT(g->dw),
                  CLNN_ARG_INT(g->G), CLNN_ARG_INT(Hp), CLNN_ARG_INT(Wph), CLNN_ARG_INT(ts),
                  CLNN_ARG_INT((int)items), CLNN_ARG_FLOAT(beta), CLNN_ARG_LOCAL(xl), CLNN_ARG_LOCAL(sums));
}

clnn_status clnn__conv_band_forward(clnn_context *ctx, const conv_geom *g, cl_mem x, cl_mem w,
                                    cl_mem bias, int act, float act_alpha, float beta, cl_mem y) {
  int PB = 1, BR = 1, Wph = 1;
  size_t xl = band_plan(ctx, g, &PB, &BR, &Wph);
  if (!xl) return clnn__error(CLNN_ERROR_INTERNAL, "conv2d band forward: the band does not fit local memory");
  size_t items = (size_t)g->N * g->G * ((g->P + PB - 1) / PB);
  return FLAT_RUN(ctx, &k_band_forward_k16_cpu, items, CLNN_ARG_MEM(x), CLNN_ARG_MEM(w),
                  CLNN_ARG_MEM(bias), CLNN_ARG_MEM(y), CLNN_ARG_INT(g->C), CLNN_ARG_INT(g->H),
                  CLNN_ARG_INT(g->W), CLNN_ARG_INT(g->K), CLNN_ARG_INT(g->R), CLNN_ARG_INT(g->S),
                  CLNN_ARG_INT(g->P), CLNN_ARG_INT(g->Q), CLNN_ARG_INT(g->sh), CLNN_ARG_INT(g->sw),
                  CLNN_ARG_INT(g->pt), CLNN_ARG_INT(g->pl), CLNN_ARG_INT(g->dh), CLNN_ARG_INT(g->dw),
                  CLNN_ARG_INT(g->G), CLNN_ARG_INT(PB), CLNN_ARG_INT(BR), CLNN_ARG_INT(Wph),
                  CLNN_ARG_INT((int)items), CLNN_ARG_INT(bias != NULL), CLNN_ARG_INT(act),
                  CLNN_ARG_FLOAT(act_alpha), CLNN_ARG_FLOAT(beta), CLNN_ARG_LOCAL(xl),
                  CLNN_ARG_LOCAL((size_t)g->Cg * g->R * g->S * 16 * sizeof(float)));
}

/* The Winograd band's plan: PT tile rows (2 output rows each) per work-item, as many as give at
 * least 8 work-items per compute unit (at most 4: the band forward's 8 output rows), halved until
 * the band (xl: C*BR*sw*Wps floats, BR = 4*(PT-1) + 10 input rows) and its transform (tl:
 * PT*C*2*5*sw*Wps floats) fit half the local memory; Wps: a phase row's floats, a multiple of 16
 * covering the last run's taps. 0 where one tile row does not fit. */
static size_t band_wino_plan(const clnn_context *ctx, const conv_geom *g, int *pt, int *wps, size_t *tl) {
  size_t cu = ctx->info.compute_units ? ctx->info.compute_units : 1;
  size_t tiles = (size_t)g->N * (((size_t)g->P + 1) / 2);
  int PT = (int)(tiles / (8 * cu));
  if (PT > 4) PT = 4;
  if (PT < 1) PT = 1;
  const int Wps = ((g->Q + 15) / 16 * 16 + (g->S - 1) * g->dw / g->sw + 1 + 15) / 16 * 16;
  for (; PT >= 1; PT /= 2) {
    size_t row = (size_t)g->C * g->sw * Wps * sizeof(float);
    size_t xl = (size_t)(4 * (PT - 1) + 10) * row, t = (size_t)PT * 10 * row;
    if (xl + t <= ctx->info.local_mem_bytes / 2) {
      *pt = PT;
      *wps = Wps;
      *tl = t;
      return xl;
    }
  }
  return 0;
}

int clnn__conv_band_wino_applies(const clnn_context *ctx, const conv_geom *g) {
  int pt, wps;
  size_t tl;
  return ctx->device_class == CLNN_DEVICE_CLASS_CPU && g->G == 1 && g->sh == 2 && g->dh == 1 &&
         g->R >= 5 && g->R <= 8 && g->S <= 16 && band_wino_plan(ctx, g, &pt, &wps, &tl) != 0;
}

size_t clnn__conv_band_wino_workspace(const conv_geom *g) {
  return ((size_t)g->K + 3) / 4 * g->C * 2 * g->S * 20 * sizeof(float);
}

clnn_status clnn__conv_band_wino_forward(clnn_context *ctx, const conv_geom *g, cl_mem x, cl_mem w,
                                         cl_mem bias, int act, float act_alpha, float beta, cl_mem y,
                                         cl_mem ws0) {
  int PT = 1, Wps = 16;
  size_t tl, xl = band_wino_plan(ctx, g, &PT, &Wps, &tl);
  if (!xl) return clnn__error(CLNN_ERROR_INTERNAL, "conv2d Winograd band forward: the band does not fit local memory");
  const int filters = (g->K + 3) / 4 * g->C * 2 * g->S;
  clnn_status s = FLAT_RUN(ctx, &k_band_wino_filter, (size_t)filters, CLNN_ARG_MEM(w), CLNN_ARG_MEM(ws0),
                           CLNN_ARG_INT(g->K), CLNN_ARG_INT(g->C), CLNN_ARG_INT(g->R),
                           CLNN_ARG_INT(g->S), CLNN_ARG_INT(filters));
  if (s) return s;
  const size_t items = (size_t)g->N * ((g->P + 2 * PT - 1) / (2 * PT));
  return FLAT_RUN(ctx, &k_band_wino_forward_cpu, items, CLNN_ARG_MEM(x), CLNN_ARG_MEM(ws0),
                  CLNN_ARG_MEM(bias), CLNN_ARG_MEM(y), CLNN_ARG_INT(g->C), CLNN_ARG_INT(g->H),
                  CLNN_ARG_INT(g->W), CLNN_ARG_INT(g->K), CLNN_ARG_INT(g->S), CLNN_ARG_INT(g->P),
                  CLNN_ARG_INT(g->Q), CLNN_ARG_INT(g->sw), CLNN_ARG_INT(g->pt), CLNN_ARG_INT(g->pl),
                  CLNN_ARG_INT(g->dw), CLNN_ARG_INT(PT), CLNN_ARG_INT(Wps), CLNN_ARG_INT((int)items),
                  CLNN_ARG_INT(bias != NULL), CLNN_ARG_INT(act), CLNN_ARG_FLOAT(act_alpha),
                  CLNN_ARG_FLOAT(beta), CLNN_ARG_LOCAL(xl), CLNN_ARG_LOCAL(tl));
}
