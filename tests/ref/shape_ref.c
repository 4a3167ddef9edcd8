/* tests/ref/shape_ref.c — plain-C reference of the shape operators (see shape_ref.h). Walks the
 * source index space in row-major order with an explicit multi-index (unlike the kernel, which
 * walks the destination), in double. */
#include "shape_ref.h"

static float acc(float beta, float old, double v) {
  return beta == 0.0f ? (float)v : (float)((double)beta * old + v);
}

/* Advances the multi-index idx over dims (row-major); returns 0 after the last index. */
static int next_index(int ndim, const size_t *dims, size_t *idx) {
  for (int d = ndim - 1; d >= 0; d--) {
    if (++idx[d] < dims[d]) return 1;
    idx[d] = 0;
  }
  return 0;
}

static size_t offset(int ndim, const size_t *dims, const size_t *idx) {
  size_t o = 0;
  for (int d = 0; d < ndim; d++) o = o * dims[d] + idx[d];
  return o;
}

void shape_ref_permute(int ndim, const size_t *xdims, const int *perm, float alpha, const float *x,
                       float beta, float *y) {
  size_t ydims[5], xi[5] = {0}, yi[5];
  for (int i = 0; i < ndim; i++) ydims[i] = xdims[perm[i]];
  size_t k = 0;
  do {
    for (int i = 0; i < ndim; i++) yi[i] = xi[perm[i]];
    size_t o = offset(ndim, ydims, yi);
    y[o] = acc(beta, y[o], (double)alpha * x[k]);
    k++;
  } while (next_index(ndim, xdims, xi));
}

void shape_ref_copy_region(int ndim, const size_t *sizes, float alpha, const float *src,
                           const size_t *src_dims, const size_t *src_start, float beta, float *dst,
                           const size_t *dst_dims, const size_t *dst_start) {
  for (int d = 0; d < ndim; d++)
    if (sizes[d] == 0) return;
  size_t i[5] = {0}, si[5], di[5];
  do {
    for (int d = 0; d < ndim; d++) {
      si[d] = src_start[d] + i[d];
      di[d] = dst_start[d] + i[d];
    }
    size_t so = offset(ndim, src_dims, si), dof = offset(ndim, dst_dims, di);
    dst[dof] = acc(beta, dst[dof], (double)alpha * src[so]);
  } while (next_index(ndim, sizes, i));
}

void shape_ref_mul_acc(const float *a, const float *b, float beta, float *y, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = acc(beta, y[i], (double)a[i] * b[i]);
}

double shape_ref_sum(const float *x, size_t n, double *abs_sum) {
  double s = 0, as = 0;
  for (size_t i = 0; i < n; i++) {
    s += x[i];
    as += x[i] < 0 ? -(double)x[i] : x[i];
  }
  if (abs_sum) *abs_sum = as;
  return s;
}

void shape_ref_broadcast(float alpha, float x0, float beta, float *y, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = acc(beta, y[i], (double)alpha * x0);
}
