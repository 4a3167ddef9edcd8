/* src/ops/conv2d_direct.h — shared by src/ops/conv2d.c and src/ops/conv2d_direct.c: the
 * convolution geometry and the whole-plane ("flat") direct kernels for CPU devices. */
#ifndef CLNN_OPS_CONV2D_DIRECT_H
#define CLNN_OPS_CONV2D_DIRECT_H

#include "internal.h"

typedef struct conv_geom {
  int N, C, H, W;                    /* x [N, C, H, W] */
  int K, R, S;                       /* w [K, C/G, R, S] */
  int P, Q;                          /* y [N, K, P, Q] */
  int sh, sw, pt, pb, pl, pr, dh, dw;
  int G, Cg, Kg;                     /* groups, channels per group in and out */
} conv_geom;

/* 1 when the flat kernels of cl/conv2d_direct.cl compute this convolution: stride 1 and an
 * output plane the size of the input (P == H, Q == W), any padding split, dilation and groups.
 * Backward-data also needs one input channel per group (clnn__conv_flat_data_applies). */
int clnn__conv_flat_applies(const conv_geom *g);
int clnn__conv_flat_data_applies(const conv_geom *g);

/* y = act(beta*y + conv(x, w) + bias) (bias may be NULL). */
clnn_status clnn__conv_flat_forward(clnn_context *ctx, const conv_geom *g, cl_mem x, cl_mem w,
                                    cl_mem bias, int act, float act_alpha, float beta, cl_mem y);
/* dx = beta*dx + the data gradient, as a forward pass over dy with flipped taps (Cg == 1). */
clnn_status clnn__conv_flat_backward_data(clnn_context *ctx, const conv_geom *g, cl_mem dy,
                                          cl_mem w, float beta, cl_mem dx);
/* dw = beta*dw + the filter gradient. */
clnn_status clnn__conv_flat_backward_filter(clnn_context *ctx, const conv_geom *g, cl_mem x,
                                            cl_mem dy, float beta, cl_mem dw);

#endif
