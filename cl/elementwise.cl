/* cl/elementwise.cl — elementwise basics: add, mul, scale, axpy, bias_add (over axis 1).
 *
 * Every kernel is 1-D over "chunks": work-item g handles the contiguous elements
 * [g*chunk, min((g+1)*chunk, n)). The host picks chunk per device class: large chunks (one per
 * core or a few) on CPU devices, chunk 4 (one float4 per work-item, coalesced) on GPUs. Sizes
 * are kernel arguments; work-items past the end return. Outputs may alias inputs: each element
 * is read and written by the same work-item, reads first. */

#define EW_RANGE(n, chunk)                        \
  ulong start = (ulong)get_global_id(0) * (chunk); \
  if (start >= (n)) return;                        \
  ulong end = min(start + (chunk), (n));           \
  ulong i = start;

/* y = a + b */
__kernel void ew_add(__global const float *a, __global const float *b, __global float *y, ulong n,
                     ulong chunk) {
  EW_RANGE(n, chunk)
  for (; i + 4 <= end; i += 4) vstore4(vload4(0, a + i) + vload4(0, b + i), 0, y + i);
  for (; i < end; i++) y[i] = a[i] + b[i];
}

/* y = a * b */
__kernel void ew_mul(__global const float *a, __global const float *b, __global float *y, ulong n,
                     ulong chunk) {
  EW_RANGE(n, chunk)
  for (; i + 4 <= end; i += 4) vstore4(vload4(0, a + i) * vload4(0, b + i), 0, y + i);
  for (; i < end; i++) y[i] = a[i] * b[i];
}

/* x = alpha * x */
__kernel void ew_scale(__global float *x, float alpha, ulong n, ulong chunk) {
  EW_RANGE(n, chunk)
  for (; i + 4 <= end; i += 4) vstore4(alpha * vload4(0, x + i), 0, x + i);
  for (; i < end; i++) x[i] = alpha * x[i];
}

/* y = alpha * x + y */
__kernel void ew_axpy(__global const float *x, __global float *y, float alpha, ulong n,
                      ulong chunk) {
  EW_RANGE(n, chunk)
  for (; i + 4 <= end; i += 4)
    vstore4(fma((float4)(alpha), vload4(0, x + i), vload4(0, y + i)), 0, y + i);
  for (; i < end; i++) y[i] = fma(alpha, x[i], y[i]);
}

/* y[o, c, k] += bias[c] for y viewed as [outer, channels, inner] (inner = product of the dims
 * after axis 1). Walks its chunk one constant-bias segment at a time. */
__kernel void ew_bias_add(__global const float *bias, __global float *y, ulong n, ulong chunk,
                          ulong inner, uint channels) {
  EW_RANGE(n, chunk)
  ulong row = start / inner;
  ulong k = start - row * inner;
  uint c = (uint)(row % channels);
  while (i < end) {
    ulong seg_end = min(end, i + (inner - k));
    float b = bias[c];
    for (; i < seg_end; i++) y[i] += b;
    k = 0;
    c = (c + 1 == channels) ? 0u : c + 1;
  }
}
