/* cl/conv2d_reduce.cl — GPU-class convolution gradients that are sums over the whole batch,
 * as work-group tree reductions (src/ops/conv2d.c picks them outside the CPU class):
 *   conv2d_backward_bias_wg      db[k] = beta*db + sum over n, pq of dy[n, k, pq]
 *   conv2d_dw_backward_filter_wg dw of a depthwise convolution (one input channel per group)
 * One work-group per output value; its L = LN*LP work-items (powers of two) take images
 * a, a+LN, ... and, inside each, positions b, b+LP, ... (lane = a*LP + b), then add their partial
 * sums in local memory in a fixed tree order: deterministic, no atomics. scratch: L floats.
 * cl/common.h is prepended by the runtime. */

/* Tree sum of the L values in scratch (L a power of two); every work-item must reach it. */
inline float conv_group_sum(__local float *scratch, float v) {
  const uint lid = get_local_id(0), L = get_local_size(0);
  scratch[lid] = v;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint h = L >> 1; h > 0; h >>= 1) {
    if (lid < h) scratch[lid] += scratch[lid + h];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  return scratch[0];
}

/* Global: (K*L); local: (L); LP divides L. */
__kernel void conv2d_backward_bias_wg(__global const float *restrict dy, __global float *restrict db,
                                      int N, int K, int PQ, int LP, float beta,
                                      __local float *scratch) {
  const int k = get_group_id(0), lid = get_local_id(0), LN = get_local_size(0) / LP;
  const int a = lid / LP, b = lid % LP;
  float acc = 0.0f;
  for (int n = a; n < N; n += LN) {
    __global const float *d = dy + ((long)n * K + k) * PQ;
    for (int i = b; i < PQ; i += LP) acc += d[i];
  }
  const float v = conv_group_sum(scratch, acc);
  if (lid == 0 && k < K) db[k] = beta == 0.0f ? v : beta * db[k] + v;
}

/* dw[k, 0, r, s] = beta*dw + sum over n, p, q of dy[n, k, p, q] * x[n, k / (K/C), p*sh + r*dh - pt,
 * q*sw + s*dw - pl], for C == groups. Work-group g computes dw element g (k = g / RS); lanes
 * split images by a and output columns by b. Global: (K*R*S*L); local: (L). */
__kernel void conv2d_dw_backward_filter_wg(__global const float *restrict x,
                                           __global const float *restrict dy,
                                           __global float *restrict dw_out, int N, int C, int H,
                                           int W, int K, int R, int S, int P, int Q, int sh, int sw,
                                           int pt, int pl, int dh, int dw, int LP, float beta,
                                           __local float *scratch) {
  const int i = get_group_id(0), lid = get_local_id(0), LN = get_local_size(0) / LP;
  const int a = lid / LP, b = lid % LP;
  const int RS = R * S, k = i / RS, r = (i % RS) / S, s = i % S;
  const int c = k / (K / C);
  const int hoff = r * dh - pt, woff = s * dw - pl;
  const int p_lo = conv_first(hoff, sh), p_hi = conv_end(hoff, sh, H, P);
  const int q_lo = conv_first(woff, sw), q_hi = conv_end(woff, sw, W, Q);
  float acc = 0.0f;
  if (i < K * RS) {
    for (int n = a; n < N; n += LN) {
      __global const float *xc = x + ((long)n * C + c) * (long)H * W;
      __global const float *dyk = dy + ((long)n * K + k) * (long)P * Q;
      for (int p = p_lo; p < p_hi; p++) {
        __global const float *xrow = xc + (p * sh + hoff) * W + woff;
        __global const float *drow = dyk + p * Q;
        for (int q = q_lo + b; q < q_hi; q += LP) acc = fma(drow[q], xrow[q * sw], acc);
      }
    }
  }
  const float v = conv_group_sum(scratch, acc);
  if (lid == 0 && i < K * RS) dw_out[i] = beta == 0.0f ? v : beta * dw_out[i] + v;
}
