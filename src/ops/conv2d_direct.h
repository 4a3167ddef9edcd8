/* src/ops/conv2d_direct.h — shared by src/ops/conv2d.c, conv2d_geom.c, conv2d_direct.c and
 * conv2d_igemm.c: the convolution geometry with its checks, the whole-plane ("flat") direct
 * kernels for CPU devices and the implicit-GEMM forward kernel. */
#ifndef CLNN_OPS_CONV2D_DIRECT_H
#define CLNN_OPS_CONV2D_DIRECT_H

#include "internal.h"

#include <stdint.h>

typedef struct conv_geom {
  int N, C, H, W;                    /* x [N, C, H, W] */
  int K, R, S;                       /* w [K, C/G, R, S] */
  int P, Q;                          /* y [N, K, P, Q] */
  int sh, sw, pt, pb, pl, pr, dh, dw;
  int G, Cg, Kg;                     /* groups, channels per group in and out */
} conv_geom;

/* ---- src/ops/conv2d_geom.c: errors, checks and geometry ---- */
/* CLNN_ERROR-style failure "fn: message". */
clnn_status clnn__conv_fail(clnn_status s, const char *fn, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* v fits an int (the kernels' index type). */
clnn_status clnn__conv_check_int(const char *fn, const char *what, uint64_t v);
/* The geometry of a convolution x [N,C,H,W] * w [K,C/G,R,S], or of a transposed one (w
 * [C,K/G,R,S]); every parameter and size checked. */
clnn_status clnn__conv_geom(const char *fn, const size_t xd[4], const size_t wd[4],
                            const clnn_conv2d_params *p, conv_geom *g);
clnn_status clnn__conv_geom_transpose(const char *fn, const size_t xd[4], const size_t wd[4],
                                      const clnn_conv2d_params *p, conv_geom *g);

/* The six entry points that take tensors, for clnn__conv_check_call. */
typedef enum clnn__conv_entry {
  CLNN__CONV_FORWARD,
  CLNN__CONV_BACKWARD_DATA,
  CLNN__CONV_BACKWARD_FILTER,
  CLNN__CONV_TRANSPOSE_FORWARD,
  CLNN__CONV_TRANSPOSE_BACKWARD_DATA,
  CLNN__CONV_TRANSPOSE_BACKWARD_FILTER
} clnn__conv_entry;
/* What one call passed: its three 4-D tensors in argument order, and the extras some take. */
typedef struct clnn__conv_args {
  const clnn_tensor *t[3];
  const clnn_tensor *bias;      /* the forward calls (may be NULL) */
  int has_beta;                 /* the backward calls */
  float beta;
  int has_act;                  /* clnn_conv2d_forward */
  clnn_activation act;
  float act_alpha;
} clnn__conv_args;
/* The entry point's public name ("clnn_conv2d_forward", ...). */
const char *clnn__conv_entry_name(clnn__conv_entry e);
/* Every check of entry point e, in one order for all six: ctx, the three tensors (on ctx, 4-D),
 * bias or beta, the geometry (from the tensors that play x and w), the shape of the tensor that
 * plays y, bias size and activation, and that the written tensor shares no buffer with the
 * others. Fills g; on failure the message starts with the entry point's name. */
clnn_status clnn__conv_check_call(clnn_context *ctx, clnn__conv_entry e, const clnn_conv2d_params *p,
                                  const clnn__conv_args *a, conv_geom *g);
/* Runs entry point e (src/ops/conv2d.c): checks, algorithm, workspaces, then the pass; `cols`:
 * kept im2col columns or NULL (see clnn__conv2d_kept_cols_numel). */
clnn_status clnn__conv2d_run(clnn_context *ctx, clnn__conv_entry e, const clnn_conv2d_params *p,
                             clnn_conv_algo algo, const clnn__conv_args *a, const clnn_tensor *cols);
/* 1 when the kernels of cl/conv2d_direct.cl compute this convolution: stride 1 and an
 * output plane the size of the input (P == H, Q == W), any padding split, dilation and groups.
 * Backward-data also needs one input channel per group (clnn__conv_flat_data_applies). */
int clnn__conv_flat_applies(const conv_geom *g);
int clnn__conv_flat_data_applies(const conv_geom *g);
/* 1 when the flat backward-filter for one input channel per group (3x3 or 5x5, any plane size)
 * computes this convolution's filter gradient. */
int clnn__conv_flat_c1_filter_applies(const clnn_context *ctx, const conv_geom *g);

/* y = act(beta*y + conv(x, w) + bias) (bias may be NULL). */
clnn_status clnn__conv_flat_forward(clnn_context *ctx, const conv_geom *g, cl_mem x, cl_mem w,
                                    cl_mem bias, int act, float act_alpha, float beta, cl_mem y);
/* dx = beta*dx + the data gradient, as a forward pass over dy with flipped taps (Cg == 1). */
clnn_status clnn__conv_flat_backward_data(clnn_context *ctx, const conv_geom *g, cl_mem dy,
                                          cl_mem w, float beta, cl_mem dx);
/* dw = beta*dw + the filter gradient. */
clnn_status clnn__conv_flat_backward_filter(clnn_context *ctx, const conv_geom *g, cl_mem x,
                                            cl_mem dy, float beta, cl_mem dw);
/* The band kernels (any stride and dilation, a few input channels per group: the ImageNet
 * stem): 1 where the forward's padded input band of one output row (bwd_filter 0), or the
 * backward-filter's padded input plane (bwd_filter 1), fits half the device's local memory. */
int clnn__conv_band_applies(const clnn_context *ctx, const conv_geom *g, int bwd_filter);
/* y = act(beta*y + conv(x, w) + bias) (bias may be NULL). */
clnn_status clnn__conv_band_forward(clnn_context *ctx, const conv_geom *g, cl_mem x, cl_mem w,
                                    cl_mem bias, int act, float act_alpha, float beta, cl_mem y);
/* The band forward with Winograd F(2,4) along the output rows (CPU class; row stride 2, row
 * dilation 1, 5 to 8 filter rows (fewer would multiply more than a direct sum), at most 16
 * filter columns, groups 1: the 7x7 stride-2 stem), run for
 * CLNN_CONV_ALGO_WINOGRAD's forward where the 3x3 Winograd does not apply: 1 where its band of
 * one tile row fits half the device's local memory; the bytes of its transformed taps (workspace
 * slot 0); the pass, with ws0 at least that large. */
int clnn__conv_band_wino_applies(const clnn_context *ctx, const conv_geom *g);
size_t clnn__conv_band_wino_workspace(const conv_geom *g);
clnn_status clnn__conv_band_wino_forward(clnn_context *ctx, const conv_geom *g, cl_mem x, cl_mem w,
                                         cl_mem bias, int act, float act_alpha, float beta, cl_mem y,
                                         cl_mem ws0);
/* dw = beta*dw + the filter gradient. */
clnn_status clnn__conv_band_backward_filter(clnn_context *ctx, const conv_geom *g, cl_mem x,
                                            cl_mem dy, float beta, cl_mem dw);

/* ---- src/ops/conv2d_igemm.c: implicit-GEMM forward ---- */
/* 1 when the implicit-GEMM kernel can run this convolution on ctx's device: N*P*Q fits its int
 * indices and a work-group of at least 4x4 and its 8.3 KiB of local memory fit the device. */
int clnn__conv_igemm_applies(clnn_context *ctx, const conv_geom *g);
/* 1 when AUTO may pick the implicit GEMM for a forward pass: a GPU-class context whose tuned
 * parameters say conv.igemm = 1 (clnn-tune's measurement; off by default), or with
 * $CLNN_CONV_IGEMM=1; $CLNN_CONV_IGEMM=0 turns it off (see clnn__conv_resolve_algo). */
int clnn__conv_igemm_auto(const clnn_context *ctx);
/* y = act(beta*y + conv(x, w) + bias) (bias may be NULL) without a column buffer. */
clnn_status clnn__conv_igemm_forward(clnn_context *ctx, const conv_geom *g, cl_mem x, cl_mem w,
                                     cl_mem bias, int act, float act_alpha, float beta, cl_mem y);

#endif
