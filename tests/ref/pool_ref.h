/* tests/ref/pool_ref.h — plain-C reference of 2-D pooling over NCHW, forward and backward, in
 * double. Backward passes scatter each dy into its window (the kernels gather), so the two are
 * written differently. Output sizes come from pool_ref_out (floor mode). */
#ifndef CLNN_POOL_REF_H
#define CLNN_POOL_REF_H
#include <stddef.h>
#include <stdint.h>

typedef struct pool_ref_params {
  int kh, kw, sh, sw, pt, pb, pl, pr;
  int count_include_pad;
} pool_ref_params;

/* Output size along one axis: (in + pad_a + pad_b - k) / s + 1. */
int pool_ref_out(int in, int k, int s, int pad_a, int pad_b);

void pool_ref_max_forward(const pool_ref_params *p, int N, int C, int H, int W, const float *x,
                          float *y);
/* idx[n, c, oh, ow] = the flat index h*W + w within its plane of the window's first maximum
 * (the element pool_ref_max_forward returns; PyTorch's max_pool2d indices). */
void pool_ref_max_indices(const pool_ref_params *p, int N, int C, int H, int W, const float *x,
                          int32_t *idx);
/* dx = beta*dx + dy routed to the first maximum of each window (row-major scan; NaN counts as
 * the maximum, the first NaN wins). beta == 0: dx is not read. */
void pool_ref_max_backward(const pool_ref_params *p, int N, int C, int H, int W, const float *x,
                           const float *dy, float beta, float *dx);
void pool_ref_avg_forward(const pool_ref_params *p, int N, int C, int H, int W, const float *x,
                          float *y);
void pool_ref_avg_backward(const pool_ref_params *p, int N, int C, int H, int W, const float *dy,
                           float beta, float *dx);
/* y[n, c] = mean over H, W; dx = beta*dx + dy[n, c] / (H*W) */
void pool_ref_global_avg_forward(int N, int C, int H, int W, const float *x, float *y);
void pool_ref_global_avg_backward(int N, int C, int H, int W, const float *dy, float beta,
                                  float *dx);
/* sum of r * maxpool(x) (max 1) or r * avgpool(x) (max 0), in double */
double pool_ref_loss(const pool_ref_params *p, int max, int N, int C, int H, int W,
                     const float *x, const float *r);
#endif
