/* tests/ref/shape_ref.h — plain-C reference of the shape operators (permute, box copies, the
 * accumulating product, sum, scalar broadcast), written directly from their definitions. Every
 * `beta` follows the library's rule: beta == 0 writes the output without reading it. */
#ifndef CLNN_SHAPE_REF_H
#define CLNN_SHAPE_REF_H
#include <stddef.h>

/* y = beta*y + alpha*transpose(x, perm); x has ndim dims xdims (y's dim i is x's dim perm[i]). */
void shape_ref_permute(int ndim, const size_t *xdims, const int *perm, float alpha, const float *x,
                       float beta, float *y);
/* dst[dst_start + i] = beta*dst[...] + alpha*src[src_start + i] for every i of the box `sizes`. */
void shape_ref_copy_region(int ndim, const size_t *sizes, float alpha, const float *src,
                           const size_t *src_dims, const size_t *src_start, float beta, float *dst,
                           const size_t *dst_dims, const size_t *dst_start);
/* y = beta*y + a*b */
void shape_ref_mul_acc(const float *a, const float *b, float beta, float *y, size_t n);
/* sum of x in double, and the sum of |x| (the scale of the rounding error of a float sum) */
double shape_ref_sum(const float *x, size_t n, double *abs_sum);
/* y = beta*y + alpha*x0 */
void shape_ref_broadcast(float alpha, float x0, float beta, float *y, size_t n);
#endif
