/* cl/pool2d.cl — 2-D pooling over NCHW planes: max and average forward and backward, global
 * average forward and backward.
 *
 * Every kernel is 1-D over chunks of its output: work-item g handles flat indices
 * [g*chunk, min((g+1)*chunk, total)) (large chunks on CPU devices, chunk 1 on GPUs), decoding the
 * first index and then stepping the (plane, row, column) position incrementally.
 * Backward kernels are gathers: each dx element visits the output windows that contain it, in
 * a fixed order, so there are no atomics and results are deterministic. Max-pool backward first
 * recomputes each window's first maximum from x (maxpool_argmax, into a workspace), then
 * gathers. A window spans rows [p*sh - pt, p*sh - pt + kh)
 * and columns [q*sw - pl, q*sw - pl + kw); the host guarantees padding < kernel size, so every
 * window holds at least one in-bounds element. */

/* Flat index (h*W + w) of the first maximum of a window (NaN counts as the maximum; the first
 * NaN wins). Scans rows then columns. */
int pool_window_argmax(__global const float *xp, int H, int W, int h0, int w0, int kh, int kw) {
  int hs = max(h0, 0), he = min(h0 + kh, H);
  int ws = max(w0, 0), we = min(w0 + kw, W);
  int best_i = hs * W + ws;
  float best = xp[best_i];
  for (int h = hs; h < he; h++) {
    for (int w = ws; w < we; w++) {
      float v = xp[h * W + w];
      if (v > best || (isnan(v) && !isnan(best))) {
        best = v;
        best_i = h * W + w;
      }
    }
  }
  return best_i;
}

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
 * beta == 0 overwrites without reading dx. */
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

/* Divisor of average window (p, q): the in-bounds element count, or with count_include_pad the
 * window clipped to the padded extent [-pt, H + pb) x [-pl, W + pr) (as PyTorch does). */
int avgpool_divisor(int h0, int w0, int H, int W, int kh, int kw, int pb, int pr,
                    int count_include_pad) {
  if (count_include_pad) return (min(h0 + kh, H + pb) - h0) * (min(w0 + kw, W + pr) - w0);
  return (min(h0 + kh, H) - max(h0, 0)) * (min(w0 + kw, W) - max(w0, 0));
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

/* ============================================================================================== */
/* CPU-shaped kernels (the host picks them on CPU devices): each work-item owns whole rows (or a  */
/* whole plane), 16 outputs per float16 vector, no local memory, no barriers; sums and the        */
/* argmax scan run in the same order as the kernels above.                                        */
/* ============================================================================================== */

/* Lanes i = 0..15 of row[start + i*stride], `fill` where the index is outside [0, limit). */
inline float16 pool_load16(__global const float *row, int start, int stride, int limit, float fill) {
  if (start >= 0) {
    if (stride == 1 && start + 16 <= limit) return vload16(0, row + start);
    if (stride == 2 && start + 32 <= limit) {
      const float16 a = vload16(0, row + start), b = vload16(0, row + start + 16);
      return (float16)(a.even, b.even);
    }
  }
  float t[16];
  for (int i = 0; i < 16; i++) {
    const int j = start + i * stride;
    t[i] = (j >= 0 && j < limit) ? row[j] : fill;
  }
  return vload16(0, t);
}

#define POOL_LANES ((int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))

/* Stores lanes 0 .. n-1 of v at dst[0 ..) (all 16 as one vector when n == 16). */
inline void pool_store16(__global float *dst, float16 v, int n) {
  if (n >= 16) {
    vstore16(v, 0, dst);
    return;
  }
  float t[16];
  vstore16(v, 0, t);
  for (int i = 0; i < n; i++) dst[i] = t[i];
}

/* The first maximum (value and flat index h*W + w) of the windows of output row p, columns
 * q0 .. q0+15, scanning rows then columns as pool_window_argmax. Padding reads as -inf, which
 * never replaces anything, and each lane starts at its first in-bounds element. */
#define POOL_MAX_SCAN(xp, H, W, p, q0, kh, kw, sh, sw, pt, pl, best, arg)                       \
  do {                                                                                          \
    const int h0_ = (p) * (sh) - (pt);                                                          \
    const int hs_ = max(h0_, 0), he_ = min(h0_ + (kh), (H));                                    \
    const int16 w0_ = ((int16)(q0) + POOL_LANES) * (sw) - (pl);                                 \
    best = (float16)(-INFINITY);                                                                \
    arg = (int16)(hs_ * (W)) + max(w0_, (int16)(0));                                            \
    for (int h_ = hs_; h_ < he_; h_++) {                                                        \
      __global const float *row_ = (xp) + (long)h_ * (W);                                       \
      for (int s_ = 0; s_ < (kw); s_++) {                                                       \
        const int start_ = (q0) * (sw) - (pl) + s_;                                             \
        const float16 v_ = pool_load16(row_, start_, (sw), (W), -INFINITY);                     \
        const int16 m_ = isgreater(v_, best) | (isnan(v_) & ~isnan(best));                      \
        best = select(best, v_, m_);                                                            \
        arg = select(arg, (int16)(h_ * (W) + start_) + POOL_LANES * (sw), m_);                  \
      }                                                                                         \
    }                                                                                           \
  } while (0)

/* Max-pool forward, one output row (plane, p) per work-item. Global: (P, planes). */
__kernel void maxpool_forward_cpu(__global const float *x, __global float *y, int planes, int H,
                                  int W, int P, int Q, int kh, int kw, int sh, int sw, int pt,
                                  int pl) {
  const int p = get_global_id(0);
  const int plane = get_global_id(1);
  if (p >= P || plane >= planes) return;
  __global const float *xp = x + (long)plane * H * W;
  __global float *yrow = y + ((long)plane * P + p) * Q;
  for (int q0 = 0; q0 < Q; q0 += 16) {
    float16 best;
    int16 arg;
    POOL_MAX_SCAN(xp, H, W, p, q0, kh, kw, sh, sw, pt, pl, best, arg);
    pool_store16(yrow + q0, best, Q - q0);
  }
}

/* Max-pool backward, one whole plane per work-item (a scatter it alone owns): dx = beta*dx (or 0),
 * then for each window in row-major order dx[first maximum] += dy. Each dx element therefore
 * sums its windows' gradients in the same order as maxpool_backward. Global: (planes). */
__kernel void maxpool_backward_cpu(__global const float *x, __global const float *dy,
                                   __global float *dx, int planes, int H, int W, int P, int Q,
                                   int kh, int kw, int sh, int sw, int pt, int pl, float beta) {
  const int plane = get_global_id(0);
  if (plane >= planes) return;
  const int HW = H * W;
  __global const float *xp = x + (long)plane * HW;
  __global const float *dyp = dy + (long)plane * P * Q;
  __global float *dxp = dx + (long)plane * HW;
  int i = 0;
  if (beta == 0.0f) {
    for (; i + 16 <= HW; i += 16) vstore16((float16)(0.0f), 0, dxp + i);
    for (; i < HW; i++) dxp[i] = 0.0f;
  } else {
    for (; i + 16 <= HW; i += 16) vstore16((float16)(beta) * vload16(0, dxp + i), 0, dxp + i);
    for (; i < HW; i++) dxp[i] = beta * dxp[i];
  }
  for (int p = 0; p < P; p++) {
    __global const float *dyrow = dyp + (long)p * Q;
    for (int q0 = 0; q0 < Q; q0 += 16) {
      float16 best;
      int16 arg;
      POOL_MAX_SCAN(xp, H, W, p, q0, kh, kw, sh, sw, pt, pl, best, arg);
      int a[16];
      vstore16(arg, 0, a);
      const int n = min(16, Q - q0);
      for (int l = 0; l < n; l++) dxp[a[l]] += dyrow[q0 + l];
    }
  }
}

/* Window sizes (avgpool_divisor) of the 16 windows q0 .. q0+15 of output row p, at least 1. */
inline float16 avgpool_divisor16(int p, int q0, int H, int W, int kh, int kw, int sh, int sw,
                                 int pt, int pl, int pb, int pr, int cip) {
  const int h0 = p * sh - pt;
  const int16 w0 = ((int16)(q0) + POOL_LANES) * sw - pl;
  int rows;
  int16 cols;
  if (cip) {
    rows = min(h0 + kh, H + pb) - h0;
    cols = min(w0 + kw, (int16)(W + pr)) - w0;
  } else {
    rows = min(h0 + kh, H) - max(h0, 0);
    cols = min(w0 + kw, (int16)(W)) - max(w0, (int16)(0));
  }
  return convert_float16(max((int16)(rows) * cols, (int16)(1)));
}

/* Average-pool forward, one output row per work-item. Global: (P, planes). */
__kernel void avgpool_forward_cpu(__global const float *x, __global float *y, int planes, int H,
                                  int W, int P, int Q, int kh, int kw, int sh, int sw, int pt,
                                  int pl, int pb, int pr, int count_include_pad) {
  const int p = get_global_id(0);
  const int plane = get_global_id(1);
  if (p >= P || plane >= planes) return;
  __global const float *xp = x + (long)plane * H * W;
  __global float *yrow = y + ((long)plane * P + p) * Q;
  const int h0 = p * sh - pt;
  const int hs = max(h0, 0), he = min(h0 + kh, H);
  for (int q0 = 0; q0 < Q; q0 += 16) {
    float16 sum = (float16)(0.0f);
    for (int h = hs; h < he; h++) {
      __global const float *row = xp + (long)h * W;
      for (int s = 0; s < kw; s++) sum += pool_load16(row, q0 * sw - pl + s, sw, W, 0.0f);
    }
    const float16 div = avgpool_divisor16(p, q0, H, W, kh, kw, sh, sw, pt, pl, pb, pr, count_include_pad);
    pool_store16(yrow + q0, sum / div, Q - q0);
  }
}

/* Average-pool backward, a gather per dx row (plane, h): for each column phase ph = w mod sw,
 * consecutive elements w = ph + sw*m see consecutive windows, so each tap is one vector load of
 * dy. Windows are visited p ascending, then q ascending, as avgpool_backward. Global: (H, planes). */
__kernel void avgpool_backward_cpu(__global const float *dy, __global float *dx, int planes, int H,
                                   int W, int P, int Q, int kh, int kw, int sh, int sw, int pt,
                                   int pl, int pb, int pr, int count_include_pad, float beta) {
  const int h = get_global_id(0);
  const int plane = get_global_id(1);
  if (h >= H || plane >= planes) return;
  __global const float *dyp = dy + (long)plane * P * Q;
  __global float *dxrow = dx + (long)plane * H * W + (long)h * W;
  for (int ph = 0; ph < sw && ph < W; ph++) {
    const int M = (W - ph + sw - 1) / sw;
    for (int m0 = 0; m0 < M; m0 += 16) {
      float16 acc = (float16)(0.0f);
      for (int r = kh - 1; r >= 0; r--) {
        const int hh = h + pt - r;
        if (hh < 0 || hh % sh != 0) continue;
        const int p = hh / sh;
        if (p >= P) continue;
        for (int s = kw - 1; s >= 0; s--) {
          const int ww = ph + pl - s;
          if (ww % sw != 0) continue;
          const int q0 = m0 + ww / sw; /* lane l reads window q0 + l */
          if (q0 >= Q || q0 + 16 <= 0) continue;
          const float16 v = pool_load16(dyp + (long)p * Q, q0, 1, Q, 0.0f);
          acc += v / avgpool_divisor16(p, q0, H, W, kh, kw, sh, sw, pt, pl, pb, pr, count_include_pad);
        }
      }
      if (sw == 1 && m0 + 16 <= M) {
        __global float *d = dxrow + ph + m0;
        if (beta == 0.0f) vstore16(acc, 0, d);
        else vstore16(fma((float16)(beta), vload16(0, d), acc), 0, d);
      } else {
        float t[16];
        vstore16(acc, 0, t);
        const int n = min(16, M - m0);
        for (int l = 0; l < n; l++) {
          __global float *d = dxrow + ph + (long)sw * (m0 + l);
          *d = beta == 0.0f ? t[l] : fma(beta, *d, t[l]);
        }
      }
    }
  }
}
