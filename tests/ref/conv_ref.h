/* tests/ref/conv_ref.h — plain-C reference convolution (naive loops, double accumulation):
 * conv2d forward / backward-data / backward-filter / bias gradient and transposed convolution
 * forward / backward-data / backward-filter. Written from the definitions, independently of the
 * device kernels; used only by the tests. NCHW, fp32 in and out. */
#ifndef CLNN_CONV_REF_H
#define CLNN_CONV_REF_H

#include <stddef.h>

/* The geometry of one convolution. For conv2d: x [n, c, h, w], weights [k, c/groups, r, s],
 * y [n, k, p, q] with p, q from conv_ref_out_size. For the transposed convolution the same struct
 * describes x [n, c, h, w], weights [c, k/groups, r, s], y [n, k, p, q] with p, q from
 * conv_ref_tout_size. */
typedef struct conv_ref_geom {
  int n, c, h, w;   /* input */
  int k, r, s;      /* output channels, filter height and width */
  int stride_h, stride_w;
  int pad_top, pad_bottom, pad_left, pad_right;
  int dil_h, dil_w;
  int groups;
  int p, q;         /* output height and width (filled by conv_ref_geom_conv / _transpose) */
} conv_ref_geom;

/* Computes g->p, g->q for a convolution; returns 0 if the geometry is invalid. */
int conv_ref_geom_conv(conv_ref_geom *g);
/* Computes g->p, g->q for a transposed convolution; returns 0 if invalid. */
int conv_ref_geom_transpose(conv_ref_geom *g);

/* Activation in double (ids as clnn_activation). */
double conv_ref_act(int act, double alpha, double v);

/* y = act(conv(x, wt) + bias); bias may be NULL. */
void conv_ref_forward(const conv_ref_geom *g, const float *x, const float *wt, const float *bias,
                      int act, float act_alpha, float *y);
/* Same, in double, written to yd (for finite-difference losses). */
void conv_ref_forward_d(const conv_ref_geom *g, const float *x, const float *wt,
                        const float *bias, double *yd);
/* dx = beta*dx + dL/dx for dy = dL/dy. */
void conv_ref_backward_data(const conv_ref_geom *g, const float *dy, const float *wt, float beta,
                            float *dx);
/* dw = beta*dw + dL/dw. */
void conv_ref_backward_filter(const conv_ref_geom *g, const float *x, const float *dy, float beta,
                              float *dw);
/* db[k] = beta*db + sum over n, p, q of dy[n, k, p, q]; dims n, k, spatial = p*q. */
void conv_ref_backward_bias(int n, int k, int spatial, const float *dy, float beta, float *db);

/* Transposed convolution (geometry from conv_ref_geom_transpose): y = convT(x, wt) + bias. */
void conv_ref_transpose_forward(const conv_ref_geom *g, const float *x, const float *wt,
                                const float *bias, float *y);
void conv_ref_transpose_forward_d(const conv_ref_geom *g, const float *x, const float *wt,
                                  double *yd);
void conv_ref_transpose_backward_data(const conv_ref_geom *g, const float *dy, const float *wt,
                                      float beta, float *dx);
void conv_ref_transpose_backward_filter(const conv_ref_geom *g, const float *x, const float *dy,
                                        float beta, float *dw);

#endif
