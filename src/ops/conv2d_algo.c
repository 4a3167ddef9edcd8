/* src/ops/conv2d_algo.c — which algorithm a convolution pass runs: AUTO's per-shape rules (with
 * the measurements behind each), the checks of a forced algorithm, the CPU class's choice between
 * the whole-plane and band direct kernels, and the label clnn-bench prints for each; plus the two
 * test hooks that reach the chunked and non-flat paths with small shapes. */
#include "conv2d_algo.h"

#include <stdint.h>

#define CONV_WS_LIMIT_DEFAULT ((size_t)64 << 20) /* bytes of column buffer (+ dy copy) per chunk */

/* Chunking bound for the column buffers. Only tests change it (to reach the chunked paths with
 * small shapes) through clnn__conv2d_set_workspace_limit, which is not part of the API. */
size_t clnn__conv_ws_limit = CONV_WS_LIMIT_DEFAULT;
size_t clnn__conv2d_set_workspace_limit(size_t bytes);
size_t clnn__conv2d_set_workspace_limit(size_t bytes) {
  size_t old = clnn__conv_ws_limit;
  clnn__conv_ws_limit = bytes ? bytes : CONV_WS_LIMIT_DEFAULT;
  return old;
}

/* Whole-plane direct kernels (src/ops/conv2d_direct.c) for DIRECT on CPU devices: 0 where they
 * apply (the default), -1 never (the row kernels and the one-output-per-work-item kernels run
 * instead). Only tests change it, through clnn__conv2d_set_flat, to reach both. */
int clnn__conv_flat_mode = 0;
int clnn__conv2d_set_flat(int mode);
int clnn__conv2d_set_flat(int mode) {
  int old = clnn__conv_flat_mode;
  clnn__conv_flat_mode = mode;
  return old;
}

int clnn__conv_is_1x1(const conv_geom *g) {
  return g->R == 1 && g->S == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pb == 0 &&
         g->pl == 0 && g->pr == 0 && g->G == 1;
}
int clnn__conv_is_depthwise(const conv_geom *g) { return g->G > 1 && g->Cg == 1; }

/* AUTO, measured on PoCL (2-core Zen 5): 1x1 -> 1X1_GEMM; depthwise -> DIRECT (~15x IM2COL);
 * dense 3x3 -> IM2COL (~80x the one-output-per-work-item DIRECT, ~4x for groups of 4 channels).
 * On CPU devices, one input channel (LeNet's first layer: 1 -> 32, 28x28, 5x5, pad 2, batch 64;
 * the digits and MNIST examples' first layers, 3x3) with a same-size output -> DIRECT's
 * one-input-channel kernels for forward (0.98 vs 3.1 ms for IM2COL, medians under load ~11)
 * and backward-filter (1.5 vs 3.5 ms), IM2COL for backward-data (1.7 vs 4.3 ms). A few input
 * channels (2 to 4: RGB stems) where the flat kernels do not apply (stride > 1): DIRECT's band
 * kernels for forward and backward-filter, where the GEMM would have a reduction of only C*R*S
 * (forward) or C*R*S outputs per output channel and the column buffer costs more to write than
 * the FMAs (conv_stem7x7, 2x3x224x224 -> 64, 7x7 stride 2, minima interleaved with IM2COL:
 * 4 rounds of 15 runs at load ~3: forward 2.29-2.74 vs 3.07-4.57 ms, backward-filter 2.85-4.17
 * vs 3.57-4.51 ms; PyTorch's fastest 2.72 and 3.0 ms). Backward-data keeps IM2COL. With more
 * input channels the band forward loses (conv_1x1_s2, 256 channels: 1.3-3.0 vs 0.64-1.2 ms). */
/* WINOGRAD's band forward (F(2,4) along the output rows, src/ops/conv2d_direct.c) is AUTO's
 * choice for the forward pass on CPU-class contexts where it applies (row stride 2, row dilation
 * 1, groups 1) with 2 to 4 input channels and 7 or 8 filter rows: 10 multiplications per 2
 * outputs instead of 2*R (0.71 of the direct band's FMAs for 7 rows; with 5 or 6 rows 1.0 and
 * 0.83, not taken). conv_stem7x7 forward against the direct band, minima of 20 runs: one PoCL
 * thread 3.87-4.15 vs 4.42-4.51 ms, two 1.94-2.00 vs 2.21-2.22 ms (2 interleaved rounds); the
 * direct band was at about 93 % of the FMA peak clnn-bench measured (231 GFLOP/s), so no direct
 * kernel could gain much more. fp32 error: clnn-bench's relative error 7.9e-7 (the direct band:
 * 0, its sums in the reference's order). */
/* IMPLICIT_GEMM (forward) is AUTO's choice for the forward pass of a convolution that is neither
 * 1x1 nor depthwise only on a GPU-class context whose tuned parameters say conv.igemm = 1:
 * clnn-tune measures it against IM2COL_GEMM (bias and ReLU fused) on the device's GPU class and
 * turns it on only where it wins on the geometric mean over its shapes (on PoCL, a CPU, it loses).
 * $CLNN_CONV_IGEMM=1 / =0 overrides the tuned value (GPU class only); the CPU class never picks it
 * unless the caller forces it. */
/* WINOGRAD (F(4x4, 3x3), src/ops/conv2d_winograd.c) is AUTO's choice for all three passes on
 * CPU-class contexts where it applies with at least 64 input and 64 output channels, at least 32
 * output tiles of 4x4 in the batch and transformed filters (36*K*C floats) within the column-buffer
 * limit. Measured on PoCL (2-core Zen 5) against IM2COL_GEMM through clnn's CPU GEMM, minima:
 * clnn-bench conv_res3x3_56 (2x64x56x56 -> 64) forward 3.1 vs 5.3-6.1 ms, backward-data 3.1 vs
 * 6.2-6.5, backward-filter 3.0 vs 4.9-5.2; conv_res3x3_14 (2x256x14x14 -> 256, 32 tiles) 3.3-3.5
 * vs 4.8-4.9, 3.4-3.8 vs 4.9, 3.2-3.6 vs 4.9-5.1 (3 interleaved rounds, load 3.3-4.2); other
 * shapes (10-15 runs each, load ~6): 2x128x28x28 -> 128 3.1/3.4/3.2 vs 5.1/8.0/5.2 ms,
 * 2x64x28x28 -> 64 0.96/1.16/0.81 vs 1.42/1.72/1.37, 64x64x14x14 -> 64 24/23/23 vs 43/22/27,
 * 16x64x56x56 -> 64 58/52/64 vs 112/133/100. Where it loses: fewer channels (32x32x8x8 -> 32
 * even, 64x32x14x14 -> 64 backward-filter 11.4 vs 8.0 ms: clnn's CPU GEMM is slow on 64x32
 * products with a long reduction; 32x3x32x32 -> 16 2-3x slower) and few tiles (2x256x7x7 -> 256,
 * 8 tiles: 3.1/4.3/3.9 vs 1.7 ms; 8x512x4x4 -> 512 2.5x slower), where transforming the filters
 * costs more than the tiles save. The GPU class (CLBlast) was not measured: AUTO leaves it off
 * there. The examples' layers (at most 32 channels) keep their algorithms. */
static int wino_auto(const clnn_context *ctx, const conv_geom *g) {
  if (ctx->device_class != CLNN_DEVICE_CLASS_CPU || !clnn__conv_wino_applies(g) || g->C < 64 || g->K < 64)
    return 0;
  size_t tiles = (size_t)g->N * (((size_t)g->P + 3) / 4) * (((size_t)g->Q + 3) / 4);
  return tiles >= 32 && (uint64_t)36 * g->K * g->C * sizeof(float) <= clnn__conv_ws_limit;
}

clnn_status clnn__conv_resolve_algo(const char *fn, clnn_context *ctx, const conv_geom *g,
                                clnn_conv_algo algo, enum conv_pass pass, clnn_conv_algo *out) {
  switch (algo) {
    case CLNN_CONV_ALGO_AUTO:
      if (clnn__conv_is_1x1(g)) *out = CLNN_CONV_ALGO_1X1_GEMM;
      else if (clnn__conv_is_depthwise(g)) *out = CLNN_CONV_ALGO_DIRECT;
      else if (ctx->device_class == CLNN_DEVICE_CLASS_CPU && g->C == 1 && g->G == 1 &&
               clnn__conv_flat_applies(g) && pass != PASS_BWD_DATA)
        *out = CLNN_CONV_ALGO_DIRECT;
      else if (pass == PASS_FWD && g->C >= 2 && g->C <= 4 && g->R >= 7 && clnn__conv_band_wino_applies(ctx, g))
        *out = CLNN_CONV_ALGO_WINOGRAD;
      else if (ctx->device_class == CLNN_DEVICE_CLASS_CPU && pass != PASS_BWD_DATA && g->G == 1 &&
               g->C >= 2 && g->C <= 4 && !clnn__conv_flat_applies(g) &&
               clnn__conv_band_applies(ctx, g, pass == PASS_BWD_FILTER))
        *out = CLNN_CONV_ALGO_DIRECT;
      else if (pass == PASS_FWD && clnn__conv_igemm_auto(ctx) && clnn__conv_igemm_applies(ctx, g))
        *out = CLNN_CONV_ALGO_IMPLICIT_GEMM;
      else if (wino_auto(ctx, g))
        *out = CLNN_CONV_ALGO_WINOGRAD;
      else *out = CLNN_CONV_ALGO_IM2COL_GEMM;
      return CLNN_SUCCESS;
    case CLNN_CONV_ALGO_IMPLICIT_GEMM:
      if (pass != PASS_FWD) {
        *out = CLNN_CONV_ALGO_IM2COL_GEMM; /* forward only: the backward passes keep im2col */
        return CLNN_SUCCESS;
      }
      if (!clnn__conv_igemm_applies(ctx, g))
        return clnn__conv_fail(CLNN_ERROR_UNSUPPORTED, fn,
                    "CLNN_CONV_ALGO_IMPLICIT_GEMM needs N*P*Q below 2^31 - 64 and a 4x4 work-group "
                    "with 8.3 KiB of local memory on the device (got N*P*Q = %llu, device work-group "
                    "limit %zu, local memory %llu bytes)",
                    (unsigned long long)g->N * g->P * g->Q, ctx->info.max_work_group_size,
                    (unsigned long long)ctx->info.local_mem_bytes);
      *out = algo;
      return CLNN_SUCCESS;
    case CLNN_CONV_ALGO_WINOGRAD:
      if (clnn__conv_wino_applies(g)) {
        *out = algo;
        return CLNN_SUCCESS;
      }
      if (clnn__conv_band_wino_applies(ctx, g)) { /* forward only: the backward passes as AUTO */
        if (pass == PASS_FWD) *out = algo;
        else return clnn__conv_resolve_algo(fn, ctx, g, CLNN_CONV_ALGO_AUTO, pass, out);
        return CLNN_SUCCESS;
      }
      return clnn__conv_fail(CLNN_ERROR_UNSUPPORTED, fn,
                  "algo CLNN_CONV_ALGO_WINOGRAD needs a 3x3 filter, stride 1, dilation 1, groups 1 "
                  "and each padding at most 2, or (CPU devices) row stride 2, row dilation 1, 5 "
                  "to 8 filter rows, at most 16 filter columns and groups 1 (got %dx%d filter, "
                  "stride %dx%d, dilation %dx%d, groups %d, padding %d/%d/%d/%d)",
                  g->R, g->S, g->sh, g->sw, g->dh, g->dw, g->G, g->pt, g->pb, g->pl, g->pr);
    case CLNN_CONV_ALGO_IM2COL_GEMM:
    case CLNN_CONV_ALGO_DIRECT:
      *out = algo;
      return CLNN_SUCCESS;
    case CLNN_CONV_ALGO_1X1_GEMM:
      if (!clnn__conv_is_1x1(g))
        return clnn__conv_fail(CLNN_ERROR_UNSUPPORTED, fn,
                    "CLNN_CONV_ALGO_1X1_GEMM needs a 1x1 filter, stride 1, no padding and groups 1 "
                    "(got %dx%d filter, stride %dx%d, padding %d/%d/%d/%d, groups %d)",
                    g->R, g->S, g->sh, g->sw, g->pt, g->pb, g->pl, g->pr, g->G);
      *out = algo;
      return CLNN_SUCCESS;
    default:
      return clnn__conv_fail(CLNN_ERROR_INVALID_ARGUMENT, fn, "algo %d is not a clnn_conv_algo", (int)algo);
  }
}

/* DIRECT on a CPU device runs the kernels of cl/conv2d_direct.cl where they apply and measured
 * faster (PoCL, 2-core Zen 5, under load: conv_dw3x3 forward 0.38 vs 1.20 ms for the row kernel,
 * backward-data 0.38 vs 1.47 ms; backward-filter with one output channel per group only where
 * the c1 kernel applies: conv_dw3x3 0.37 vs 1.05 ms of CPU time per call for its padded-plane
 * version, 0.20 ms with one thread for the row walk that replaced it). */
int clnn__conv_use_flat(const clnn_context *ctx, const conv_geom *g, enum conv_pass pass) {
  if (!on_cpu(ctx) || clnn__conv_flat_mode < 0 || !clnn__conv_flat_applies(g)) return 0;
  if (pass == PASS_BWD_DATA) return clnn__conv_flat_data_applies(g);
  if (pass == PASS_BWD_FILTER) return g->Kg >= 2 || clnn__conv_flat_c1_filter_applies(ctx, g);
  return 1;
}

/* DIRECT's forward and backward-filter on a CPU device where the flat kernels do not apply (stride > 1, or an output
 * smaller than the input) and a group has several input channels (one has the depthwise row
 * kernel): the band kernel of src/ops/conv2d_direct.c, where its band fits local memory. */
int clnn__conv_use_band(const clnn_context *ctx, const conv_geom *g, enum conv_pass pass) {
  return pass != PASS_BWD_DATA && on_cpu(ctx) && clnn__conv_flat_mode >= 0 && !clnn__conv_flat_applies(g) &&
         g->Cg > 1 && clnn__conv_band_applies(ctx, g, pass == PASS_BWD_FILTER);
}

/* The name of what a pass with resolved algorithm `al` runs (clnn-bench labels its rows with it):
 * the pass functions below branch the same way. */
const char *clnn__conv_algo_label(const clnn_context *ctx, const conv_geom *g, clnn_conv_algo al, enum conv_pass pass) {
  if (al == CLNN_CONV_ALGO_1X1_GEMM) return "1x1-gemm";
  if (al == CLNN_CONV_ALGO_IMPLICIT_GEMM) return "implicit-gemm";
  if (al == CLNN_CONV_ALGO_WINOGRAD) return clnn__conv_wino_applies(g) ? "winograd" : "winograd-band";
  if (al != CLNN_CONV_ALGO_DIRECT) return "im2col-gemm";
  if (clnn__conv_use_flat(ctx, g, pass)) return "direct-plane";
  if (clnn__conv_use_band(ctx, g, pass)) return "direct-band";
  if (on_cpu(ctx) && g->Cg == 1) return "direct-depthwise";
  return "direct";
}
