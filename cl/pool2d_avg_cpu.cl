/* cl/pool2d_avg_cpu.cl — 2-D average pooling over NCHW planes, the kernels CPU devices run
 * (forward one output row per work-item, backward one dx row per work-item; the same sums in the
 * same order as cl/pool2d.cl's avgpool kernels). A program of its own, built the first time a
 * network average-pools (the max-pool kernels are in cl/pool2d_cpu.cl, in the CPU training
 * unit). avgpool_divisor, CONV_MOD/CONV_DIV and the row helpers (ld16_*, pool_ld*_8,
 * POOL_BY_STRIDE8, LD16_BY_STRIDE, pool_interior) come from cl/common.h. */

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
  const int2 in = pool_interior(W, Q, kw, sw, pl);
#define AVGF_POINT(q)                                                                           \
  {                                                                                             \
    const int w0_ = (q) * sw - pl;                                                              \
    const int ws_ = max(w0_, 0), we_ = min(w0_ + kw, W);                                        \
    float sum_ = 0.0f;                                                                          \
    for (int h = hs; h < he; h++)                                                               \
      for (int w = ws_; w < we_; w++) sum_ += xp[h * W + w];                                    \
    yrow[q] = sum_ / (float)avgpool_divisor(h0, w0_, H, W, kh, kw, pb, pr, count_include_pad);  \
  }
  for (int q = 0; q < in.x; q++) AVGF_POINT(q)
  /* interior windows span kw columns: the divisor depends on the row only */
  const float div = (float)avgpool_divisor(h0, in.x * sw - pl, H, W, kh, kw, pb, pr, count_include_pad);
  int q0 = in.x;
  /* 2-wide windows at stride 2: per input row the two taps are the even and odd lanes of
   * contiguous loads (no spare column read: windows up to b2 reach q*2 - pl + 1 <= W - 1, all
   * of the same width, so div holds); sums in the same order as below. */
  const int last2 = W - 2 + pl;
  const int b2 = last2 < 0 ? 0 : min(Q, last2 / 2 + 1);
  if (sw == 2 && kw == 2 && b2 - in.x >= 16) {
    while (q0 < b2) {
      if (q0 + 16 > b2) q0 = b2 - 16; /* a short tail: one more chunk ending at b2 */
      float16 sum = (float16)(0.0f);
      for (int h = hs; h < he; h++) {
        __global const float *row = xp + (long)h * W + (q0 * 2 - pl);
        const float16 a = vload16(0, row), b = vload16(0, row + 16);
        sum += (float16)(a.even, b.even);
        sum += (float16)(a.odd, b.odd);
      }
      vstore16(sum / (float16)(div), 0, yrow + q0);
      q0 += 16;
    }
  } else if (sw == 2 && kw == 2 && b2 - in.x >= 8) { /* two 8-lane chunks, overlapping */
    for (int c_ = 0; c_ < 2; c_++) {
      const int qa = c_ ? b2 - 8 : in.x;
      float8 sum = (float8)(0.0f);
      for (int h = hs; h < he; h++) {
        const float16 a = vload16(0, xp + (long)h * W + (qa * 2 - pl));
        sum += a.even;
        sum += a.odd;
      }
      vstore8(sum / (float8)(div), 0, yrow + qa);
    }
    q0 = b2;
  }
#define AVGF_CHUNKS(LD)                                                                         \
  while (q0 < in.y) {                                                                           \
    if (q0 + 16 > in.y) {                                                                       \
      if (in.y - in.x < 16) break;                                                              \
      q0 = in.y - 16;                                                                           \
    }                                                                                           \
    float16 sum = (float16)(0.0f);                                                              \
    for (int h = hs; h < he; h++) {                                                             \
      __global const float *row = xp + (long)h * W + (q0 * sw - pl);                            \
      for (int s = 0; s < kw; s++) sum += LD(row, s, sw);                                       \
    }                                                                                           \
    vstore16(sum / (float16)(div), 0, yrow + q0);                                               \
    q0 += 16;                                                                                   \
  }
  LD16_BY_STRIDE(sw, AVGF_CHUNKS);
#undef AVGF_CHUNKS
  if (q0 < in.y && in.y - in.x >= 8) { /* 8 <= interior < 16: two 8-lane chunks, overlapping */
#define AVGF_CHUNKS8(LD)                                                                        \
  for (int c_ = 0; c_ < 2; c_++) {                                                              \
    const int qa = c_ ? in.y - 8 : in.x;                                                        \
    float8 sum = (float8)(0.0f);                                                                \
    for (int h = hs; h < he; h++) {                                                             \
      __global const float *row = xp + (long)h * W + (qa * sw - pl);                            \
      for (int s = 0; s < kw; s++) sum += LD(row, s, sw);                                       \
    }                                                                                           \
    vstore8(sum / (float8)(div), 0, yrow + qa);                                                 \
  }
    POOL_BY_STRIDE8(sw, AVGF_CHUNKS8);
#undef AVGF_CHUNKS8
    q0 = in.y;
  }
  for (int q = max(q0, in.x); q < Q; q++) AVGF_POINT(q)
#undef AVGF_POINT
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

/* Lanes i = 0..15 of row[start + i] (stride 1), `fill` where the index is outside [0, limit). */
inline float16 pool_load16(__global const float *row, int start, int stride, int limit, float fill) {
  if (stride == 1 && start >= 0 && start + 16 <= limit) return vload16(0, row + start);
  float t[16];
  for (int i = 0; i < 16; i++) {
    const int j = start + i * stride;
    t[i] = (j >= 0 && j < limit) ? row[j] : fill;
  }
  return vload16(0, t);
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
  if (kh == sh && kw == sw && pt == 0 && pl == 0 && pb == 0 && pr == 0) {
    /* Non-overlapping windows, no padding: dx row h lies in window row p = h / sh alone (none
     * past the last window), each window is whole, so each element is one dy value divided by
     * kh*kw (either divisor convention) -- the same single term the general path sums. */
    const int p = h / sh;
    const int wq = p < P ? Q * sw : 0; /* columns [wq, W) lie in no window */
    __global const float *dyrow = dyp + (long)min(p, P - 1) * Q;
    const float div = (float)(kh * kw);
#define AVGB_STORE(N, d, g)                                                                       if (beta == 0.0f) vstore##N((g), 0, (d));                                                       else vstore##N(fma((float##N)(beta), vload##N(0, (d)), (g)), 0, (d));
    int w = 0;
    if (sw == 2) {
      for (; w + 16 <= wq; w += 16) {
        const float8 v = vload8(0, dyrow + (w >> 1)) / (float8)(div);
        const float16 g = shuffle(v, (uint16)(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7));
        AVGB_STORE(16, dxrow + w, g)
      }
      if (w + 8 <= wq) {
        const float4 v = vload4(0, dyrow + (w >> 1)) / (float4)(div);
        const float8 g = shuffle(v, (uint8)(0, 0, 1, 1, 2, 2, 3, 3));
        AVGB_STORE(8, dxrow + w, g)
        w += 8;
      }
      if (w + 4 <= wq) {
        const float2 v = vload2(0, dyrow + (w >> 1)) / (float2)(div);
        const float4 g = (float4)(v.x, v.x, v.y, v.y);
        AVGB_STORE(4, dxrow + w, g)
        w += 4;
      }
    } else if (sw == 1) {
      for (; w + 16 <= wq; w += 16) {
        const float16 g = vload16(0, dyrow + w) / (float16)(div);
        AVGB_STORE(16, dxrow + w, g)
      }
    }
#undef AVGB_STORE
    for (; w < wq; w++) {
      const float g = dyrow[w / sw] / div;
      dxrow[w] = beta == 0.0f ? g : fma(beta, dxrow[w], g);
    }
    for (; w < W; w++) dxrow[w] = beta == 0.0f ? 0.0f : fma(beta, dxrow[w], 0.0f);
    return;
  }
  for (int ph = 0; ph < sw && ph < W; ph++) {
    const int M = (W - ph + sw - 1) / sw;
    for (int m0 = 0; m0 < M; m0 += 16) {
      float16 acc = (float16)(0.0f);
      for (int r = kh - 1; r >= 0; r--) {
        const int hh = h + pt - r;
        if (hh < 0 || CONV_MOD(hh, sh) != 0) continue;
        const int p = CONV_DIV(hh, sh);
        if (p >= P) continue;
        for (int s = kw - 1; s >= 0; s--) {
          const int ww = ph + pl - s;
          if (CONV_MOD(ww, sw) != 0) continue;
          const int q0 = m0 + CONV_DIV(ww, sw); /* lane l reads window q0 + l */
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
