/* src/ops/conv2d_winograd.h — the Winograd convolution (src/ops/conv2d_winograd.c,
 * cl/conv2d_winograd.cl), F(4x4, 3x3), as src/ops/conv2d.c calls it for CLNN_CONV_ALGO_WINOGRAD: 3x3 filters,
 * stride 1, dilation 1, groups 1, each padding 0 to 2. Arguments are checked by the caller. */
#ifndef CLNN_OPS_CONV2D_WINOGRAD_H
#define CLNN_OPS_CONV2D_WINOGRAD_H

#include "conv2d_direct.h"

/* The passes, in the order of src/ops/conv2d.c's enum conv_pass. */
enum { CLNN__WINO_FWD = 0, CLNN__WINO_BWD_DATA = 1, CLNN__WINO_BWD_FILTER = 2 };

/* 1 when the Winograd kernels compute this convolution. */
int clnn__conv_wino_applies(const conv_geom *g);
/* Bytes of workspace slots 0 and 1 for one pass, with chunks of tiles under `limit` bytes. */
void clnn__conv_wino_workspace(const conv_geom *g, int pass, size_t limit, size_t *ws0, size_t *ws1);
/* Tests: the output tile size m (2 or 4; 0: the measured default); returns the old value. */
int clnn__conv2d_set_wino_tile(int m);

/* y = act(beta*y + conv(x, w) + bias) (bias may be NULL; act CLNN_ACT_ID_IDENTITY for none). */
clnn_status clnn__conv_wino_forward(clnn_context *ctx, const conv_geom *g, cl_mem x, cl_mem w, cl_mem bias,
                                    int act, float act_alpha, float beta, cl_mem y, cl_mem ws0,
                                    cl_mem ws1, size_t limit);
/* dx = beta*dx + conv's gradient with respect to x. */
clnn_status clnn__conv_wino_backward_data(clnn_context *ctx, const conv_geom *g, cl_mem dy, cl_mem w,
                                          float beta, cl_mem dx, cl_mem ws0, cl_mem ws1, size_t limit);
/* dw = beta*dw + conv's gradient with respect to w. */
clnn_status clnn__conv_wino_backward_filter(clnn_context *ctx, const conv_geom *g, cl_mem x, cl_mem dy,
                                            float beta, cl_mem dw, cl_mem ws0, cl_mem ws1, size_t limit);

#endif
