/* cl/shape.cl — shape operators: one general strided copy (permute and box copies, up to 5 dims),
 * the accumulating product y = beta*y + a*b, the sum of every element (two-stage, deterministic)
 * and the broadcast of a device scalar.
 *
 * Indices are ulong throughout (tensors may exceed 2^32 elements). The 1-D kernels work on
 * "chunks" as cl/elementwise.cl does: work-item g handles the elements [g*chunk, min((g+1)*chunk,
 * n)); the host picks chunk per device class. Every kernel that takes `beta` never reads its
 * output when beta == 0 (NaN there must not leak through). */

#define SH_RANGE(n, chunk)                         \
  ulong start = (ulong)get_global_id(0) * (chunk); \
  if (start >= (n)) return;                        \
  ulong end = min(start + (chunk), (n));           \
  ulong i = start;

/* Strided copy over a box of n = n0*n1*n2*n3*n4 elements (the host coalesces dims and pads to 5
 * with leading dims of size 1):
 *   y[yoff + sum_d i_d*ys_d] = beta*y[...] + alpha*x[xoff + sum_d i_d*xs_d].
 * Work-item g handles box elements [g*chunk, ...) in row-major box order, one run along the last
 * dim at a time. x and y are different buffers (checked on the host). */
__kernel void shape_copy(__global const float *x, __global float *y, ulong n, ulong chunk,
                         ulong n1, ulong n2, ulong n3, ulong n4, ulong xs0, ulong xs1, ulong xs2,
                         ulong xs3, ulong xs4, ulong ys0, ulong ys1, ulong ys2, ulong ys3,
                         ulong ys4, ulong xoff, ulong yoff, float alpha, float beta) {
  SH_RANGE(n, chunk)
  ulong r = start;
  ulong i4 = r % n4;
  r /= n4;
  ulong i3 = r % n3;
  r /= n3;
  ulong i2 = r % n2;
  r /= n2;
  ulong i1 = r % n1;
  ulong i0 = r / n1;
  while (i < end) {
    ulong run = min(end - i, n4 - i4);
    __global const float *xp = x + (xoff + i0 * xs0 + i1 * xs1 + i2 * xs2 + i3 * xs3 + i4 * xs4);
    __global float *yp = y + (yoff + i0 * ys0 + i1 * ys1 + i2 * ys2 + i3 * ys3 + i4 * ys4);
    if (xs4 == 1 && ys4 == 1) { /* contiguous run on both sides (the common case) */
      if (beta == 0.0f)
        for (ulong j = 0; j < run; j++) yp[j] = alpha * xp[j];
      else
        for (ulong j = 0; j < run; j++) yp[j] = fma(beta, yp[j], alpha * xp[j]);
    } else {
      if (beta == 0.0f)
        for (ulong j = 0; j < run; j++) yp[j * ys4] = alpha * xp[j * xs4];
      else
        for (ulong j = 0; j < run; j++) yp[j * ys4] = fma(beta, yp[j * ys4], alpha * xp[j * xs4]);
    }
    i += run;
    i4 = 0;
    if (++i3 == n3) {
      i3 = 0;
      if (++i2 == n2) {
        i2 = 0;
        if (++i1 == n1) {
          i1 = 0;
          i0++;
        }
      }
    }
  }
}

/* y = beta*y + a*b. y may be a or b: each element is read and written by one work-item, reads
 * first. */
__kernel void shape_mul_acc(__global const float *a, __global const float *b, __global float *y,
                            ulong n, ulong chunk, float beta) {
  SH_RANGE(n, chunk)
  if (beta == 0.0f) {
    for (; i + 4 <= end; i += 4) vstore4(vload4(0, a + i) * vload4(0, b + i), 0, y + i);
    for (; i < end; i++) y[i] = a[i] * b[i];
  } else {
    for (; i + 4 <= end; i += 4)
      vstore4(fma((float4)(beta), vload4(0, y + i), vload4(0, a + i) * vload4(0, b + i)), 0, y + i);
    for (; i < end; i++) y[i] = fma(beta, y[i], a[i] * b[i]);
  }
}

/* y = beta*y + alpha*x[0] for every element of y. */
__kernel void shape_broadcast(__global const float *x, __global float *y, ulong n, ulong chunk,
                              float alpha, float beta) {
  SH_RANGE(n, chunk)
  float v = alpha * x[0];
  if (beta == 0.0f)
    for (; i < end; i++) y[i] = v;
  else
    for (; i < end; i++) y[i] = fma(beta, y[i], v);
}

/* ---------------------------------------------------------------------------------------------- */
/* Sum of every element, deterministic without float atomics: shape_sum_partial writes one        */
/* compensated (Kahan) sum per chunk into partial[g]; shape_sum_finish, one work-group of L (a    */
/* power of two) work-items, sums partial[l], partial[l+L], ... per work-item in order, then a    */
/* tree. Chunk and L depend only on n and the device, so the result repeats bit for bit.          */
/* ---------------------------------------------------------------------------------------------- */

#define SH_KAHAN_ADD(sum, comp, v) \
  do {                             \
    float y_ = (v) - (comp);       \
    float t_ = (sum) + y_;         \
    (comp) = (t_ - (sum)) - y_;    \
    (sum) = t_;                    \
  } while (0)

__kernel void shape_sum_partial(__global const float *x, __global float *partial, ulong n,
                                ulong chunk) {
  SH_RANGE(n, chunk)
  float sum = 0.0f, comp = 0.0f;
  for (; i < end; i++) SH_KAHAN_ADD(sum, comp, x[i]);
  partial[get_global_id(0)] = sum;
}

/* y[0] = beta*y[0] + alpha*(sum of partial[0..count)); launched as exactly one work-group. */
__kernel void shape_sum_finish(__global const float *partial, ulong count, __global float *y,
                               float alpha, float beta, __local float *scratch) {
  int first = get_group_id(0) == 0; /* the host launches one group; no early return */
  ulong cnt = first ? count : 0;
  uint lid = get_local_id(0), L = get_local_size(0);
  float sum = 0.0f, comp = 0.0f;
  for (ulong k = lid; k < cnt; k += L) SH_KAHAN_ADD(sum, comp, partial[k]);
  scratch[lid] = sum;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint h = L >> 1; h > 0; h >>= 1) {
    if (lid < h) scratch[lid] += scratch[lid + h];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (first && lid == 0) {
    float v = alpha * scratch[0];
    y[0] = beta == 0.0f ? v : fma(beta, y[0], v);
  }
}
