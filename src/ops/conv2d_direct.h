/* src/ops/conv2d_direct.h — shared by src/ops/conv2d.c, conv2d_geom.c and conv2d_direct.c: the
 * convolution geometry with its checks, and the whole-plane ("flat") direct kernels for CPU
 * devices. */
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
/* t is a 4-D tensor of ctx; t has dims [a, b, c, d]; out does not share in's buffer. */
clnn_status clnn__conv_check_t4(const char *fn, clnn_context *ctx, const clnn_tensor *t,
                                const char *name);
clnn_status clnn__conv_check_out_dims(const char *fn, const clnn_tensor *t, const char *name,
                                      size_t a, size_t b, size_t c, size_t d);

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
