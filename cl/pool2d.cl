/* cl/pool2d.cl — 2-D pooling over NCHW planes, one output (or dx element) per work-item: max and
 * average forward and backward, global average forward and backward (the kernels GPU-class
 * devices run; CPU devices run cl/pool2d_cpu.cl's row kernels, and these for global pooling and
 * for max-pool backward on few planes). The window helpers (pool_window_argmax, avgpool_divisor)
 * are in cl/common.h, which both files use.
 *
 * Every kernel is 1-D over chunks of its output: work-item g handles flat indices
 * [g*chunk, min((g+1)*chunk, total)) (large chunks on CPU devices, chunk 1 on GPUs), decoding the
 * first index and then stepping the (plane, row, column) position incrementally.
 * Backward kernels are gathers: each dx element visits the output windows that contain it, in
 * a fixed order, so there are no atomics and results are deterministic. Max-pool backward
 * gathers through each window's first maximum: kept by maxpool_forward_indices, or recomputed
 * from x (maxpool_argmax, into a workspace). A window spans rows [p*sh - pt, p*sh - pt + kh)
 * and columns [q*sw - pl, q*sw - pl + kw); the host guarantees padding < kernel size, so every
 * window holds at least one in-bounds element. */

/* Decodes flat output index `idx` of [planes, P, Q] into (plane, p, q). */
#define POOL_DECODE(idx, P, Q, plane, p, q) \
  do {                                      \
    ulong t_ = (idx) / (ulong)(Q);          \
    q = (int)((idx) - t_ * (ulong)(Q));     \
    plane = t_ / (ulong)(P);                \
    p = (int)(t_ - plane * (ulong)(P));     \
  } while (0)

#define POOL_STEP(P, Q, plane, p, q) \
  do {                               \
    if (++q == (Q)) {                \
      q = 0;                         \
      if (++p == (P)) {              \
        p = 0;                       \
        plane++;                     \
      }                              \
    }                                \
  } while (0)

#define POOL_RANGE(total, chunk)                   \
  ulong start = (ulong)get_global_id(0) * (chunk); \
  if (start >= (total)) return;                    \
  ulong end = min(start + (chunk), (total));

/* y[plane, p, q] = max over the window. total = planes * P * Q. */
__kernel void maxpool_forward(__global const float *x, __global float *y, ulong total, ulong chunk,
                              int H, int W, int P, int Q, int kh, int kw, int sh, int sw, int pt,
                              int pl) {
  POOL_RANGE(total, chunk)
  ulong plane;
  int p, q;
  POOL_DECODE(start, P, Q, plane, p, q);
  for (ulong i = start; i < end; i++) {
    __global const float *xp = x + plane * (ulong)H * (ulong)W;
    y[i] = xp[pool_window_argmax(xp, H, W, p * sh - pt, q * sw - pl, kh, kw)];
    POOL_STEP(P, Q, plane, p, q);
  }
}

/* maxpool_forward that also keeps idx[i] = the flat index (h*W + w) of the window's first maximum
 * within its plane, for maxpool_backward (the gather) to route dy through. */
__kernel void maxpool_forward_indices(__global const float *x, __global float *y,
                                      __global int *idx, ulong total, ulong chunk, int H, int W,
                                      int P, int Q, int kh, int kw, int sh, int sw, int pt,
                                      int pl) {
  POOL_RANGE(total, chunk)
  ulong plane;
  int p, q;
  POOL_DECODE(start, P, Q, plane, p, q);
  for (ulong i = start; i < end; i++) {
    __global const float *xp = x + plane * (ulong)H * (ulong)W;
    const int a = pool_window_argmax(xp, H, W, p * sh - pt, q * sw - pl, kh, kw);
    y[i] = xp[a];
    idx[i] = a;
    POOL_STEP(P, Q, plane, p, q);
  }
}

/* Range of output positions o (0 <= o < O) whose window [o*s - pad, o*s - pad + k) contains i. */
#define POOL_COVER(i, k, s, pad, O, lo, hi)                 \
  do {                                                      \
    int a_ = (i) + (pad) - (k) + 1;                         \
    lo = a_ <= 0 ? 0 : (a_ + (s) - 1) / (s);                \
    hi = min(((i) + (pad)) / (s), (O) - 1);                 \
  } while (0)

/* Max-pool backward, pass 1: arg[plane, p, q] = index within the plane (h*W + w) of the first
 * maximum of window (p, q), recomputed from x. total = planes * P * Q. */
__kernel void maxpool_argmax(__global const float *x, __global int *arg, ulong total, ulong chunk,
                             int H, int W, int P, int Q, int kh, int kw, int sh, int sw, int pt,
                             int pl) {
  POOL_RANGE(total, chunk)
  ulong plane;
  int p, q;
  POOL_DECODE(start, P, Q, plane, p, q);
  for (ulong i = start; i < end; i++) {
    __global const float *xp = x + plane * (ulong)H * (ulong)W;
    arg[i] = pool_window_argmax(xp, H, W, p * sh - pt, q * sw - pl, kh, kw);
    POOL_STEP(P, Q, plane, p, q);
  }
}

/* Max-pool backward, pass 2 (a gather): dx[plane, h, w] = beta*dx + sum of dy over the windows
 * whose first maximum is (h, w), windows visited in row-major order. total = planes * H * W.
 * beta == 0 overwrites without reading dx. arg comes from maxpool_argmax or
 * maxpool_forward_indices; only windows containing (h, w) are read, so any arg values are safe. */
__kernel void maxpool_backward(__global const int *arg, __global const float *dy,
                               __global float *dx, ulong total, ulong chunk, int H, int W, int P,
                               int Q, int kh, int kw, int sh, int sw, int pt, int pl, float beta) {
  POOL_RANGE(total, chunk)
  ulong plane;
  int h, w;
  POOL_DECODE(start, H, W, plane, h, w);
  for (ulong i = start; i < end; i++) {
    ulong obase = plane * (ulong)P * (ulong)Q;
    int p_lo, p_hi, q_lo, q_hi;
    POOL_COVER(h, kh, sh, pt, P, p_lo, p_hi);
    POOL_COVER(w, kw, sw, pl, Q, q_lo, q_hi);
    int self = h * W + w;
    float g = 0.0f;
    for (int p = p_lo; p <= p_hi; p++)
      for (int q = q_lo; q <= q_hi; q++) {
        ulong o = obase + (ulong)(p * Q + q);
        if (arg[o] == self) g += dy[o];
      }
    dx[i] = beta == 0.0f ? g : fma(beta, dx[i], g);
    POOL_STEP(H, W, plane, h, w);
  }
}

__kernel void avgpool_forward(__global const float *x, __global float *y, ulong total, ulong chunk,
                              int H, int W, int P, int Q, int kh, int kw, int sh, int sw, int pt,
                              int pl, int pb, int pr, int count_include_pad) {
  POOL_RANGE(total, chunk)
  ulong plane;
  int p, q;
  POOL_DECODE(start, P, Q, plane, p, q);
  for (ulong i = start; i < end; i++) {
    __global const float *xp = x + plane * (ulong)H * (ulong)W;
    int h0 = p * sh - pt, w0 = q * sw - pl;
    int hs = max(h0, 0), he = min(h0 + kh, H);
    int ws = max(w0, 0), we = min(w0 + kw, W);
    float sum = 0.0f;
    for (int h = hs; h < he; h++)
      for (int w = ws; w < we; w++) sum += xp[h * W + w];
    y[i] = sum / (float)avgpool_divisor(h0, w0, H, W, kh, kw, pb, pr, count_include_pad);
    POOL_STEP(P, Q, plane, p, q);
  }
}

__kernel void avgpool_backward(__global const float *dy, __global float *dx, ulong total,
                               ulong chunk, int H, int W, int P, int Q, int kh, int kw, int sh,
                               int sw, int pt, int pl, int pb, int pr, int count_include_pad,
                               float beta) {
  POOL_RANGE(total, chunk)
  ulong plane;
  int h, w;
  POOL_DECODE(start, H, W, plane, h, w);
  for (ulong i = start; i < end; i++) {
    __global const float *dyp = dy + plane * (ulong)P * (ulong)Q;
    int p_lo, p_hi, q_lo, q_hi;
    POOL_COVER(h, kh, sh, pt, P, p_lo, p_hi);
    POOL_COVER(w, kw, sw, pl, Q, q_lo, q_hi);
    float g = 0.0f;
    for (int p = p_lo; p <= p_hi; p++)
      for (int q = q_lo; q <= q_hi; q++)
        g += dyp[p * Q + q] / (float)avgpool_divisor(p * sh - pt, q * sw - pl, H, W, kh, kw, pb,
                                                     pr, count_include_pad);
    dx[i] = beta == 0.0f ? g : fma(beta, dx[i], g);
    POOL_STEP(H, W, plane, h, w);
  }
}

/* y[r] = mean of x[r*len .. r*len+len), r < rows; chunk = rows per work-item. Four partial sums
 * (fixed order), so the result does not depend on the launch shape. */
__kernel void global_avgpool_forward(__global const float *x, __global float *y, ulong rows,
                                     ulong chunk, ulong len) {
  POOL_RANGE(rows, chunk)
  for (ulong r = start; r < end; r++) {
    __global const float *xr = x + r * len;
    float4 acc = (float4)(0.0f);
    ulong k = 0;
    for (; k + 4 <= len; k += 4) acc += vload4(0, xr + k);
    float sum = (acc.x + acc.y) + (acc.z + acc.w);
    for (; k < len; k++) sum += xr[k];
    y[r] = sum / (float)len;
  }
}

/* dx[r*len + k] = beta*dx + dy[r]/len over flat elements [g*chunk, ...) of rows*len. */
__kernel void global_avgpool_backward(__global const float *dy, __global float *dx, ulong total,
                                      ulong chunk, ulong len, float beta) {
  POOL_RANGE(total, chunk)
  ulong r = start / len;
  ulong i = start;
  float inv = 1.0f / (float)len;
  while (i < end) {
    ulong seg_end = min(end, (r + 1) * len);
    float g = dy[r] * inv;
    if (beta == 0.0f) {
      for (; i < seg_end; i++) dx[i] = g;
    } else {
      for (; i < seg_end; i++) dx[i] = fma(beta, dx[i], g);
    }
    r++;
  }
}
