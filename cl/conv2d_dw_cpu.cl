/* cl/conv2d_dw_cpu.cl — depthwise convolution (one input channel per group) for CPU devices,
 * used by src/ops/conv2d.c for CLNN_CONV_ALGO_DIRECT (AUTO's choice for depthwise layers) where
 * the whole-plane kernels of cl/conv2d_direct.cl do not apply:
 *   conv2d_dw_forward_cpu          y = act(beta*y + conv(x, w) + bias), one output row per work-item
 *   conv2d_dw_backward_data_cpu    dx = beta*dx + sum of what each input pixel fed
 *   conv2d_dw_backward_filter_cpu  dw = beta*dw + sum over n and pixels of dy * x, per tap
 * Work-items own row runs, keep sums in float16 registers and use no local memory or barriers;
 * every sum runs in a fixed order (deterministic). A program of its own, so a network without
 * depthwise layers never builds it. cl/common.h is prepended by the runtime. */

/* Output columns [qa, qb) whose every tap column (q*sw - pl + s*dw, s < S) lies inside [0, W),
 * with one more column to spare at stride 2 (conv_load16_in reads it). */
inline int2 conv_interior(int W, int Q, int S, int sw, int pl, int dw) {
  const int qa = min(Q, conv_first(-pl, sw));
  const int qb = max(qa, conv_end(-pl + (S - 1) * dw + (sw == 2 ? 1 : 0), sw, W, Q));
  return (int2)(qa, qb);
}

/* y[q] = act(beta*y[q] + v + b) for one output. */
inline void conv_store1_act(__global float *yq, float v, float b, float beta, int act, float alpha) {
  if (beta != 0.0f) v = beta * *yq + v;
  *yq = clnn_act_apply(act, alpha, v + b);
}

/* Depthwise forward (C/groups == 1; K/groups output channels per input channel): the work-item
 * for output row (n, k, p) computes the columns whose taps all fall inside the input 16 at a
 * time with plain vector loads (one FMA per tap), and the few padding columns at either end one
 * by one. Taps are summed in (r, s) order everywhere. y = act(beta*y + conv + bias); beta == 0
 * never reads y. Global: (P, N*K). */
__kernel void conv2d_dw_forward_cpu(__global const float *restrict x,
                                    __global const float *restrict w,
                                    __global const float *restrict bias,
                                    __global float *restrict y, int C, int H, int W, int K, int R,
                                    int S, int P, int Q, int sh, int sw, int pt, int pl, int dh,
                                    int dw, int NK, int has_bias, int act, float act_alpha,
                                    float beta) {
  const int p = get_global_id(0);
  const int nk = get_global_id(1);
  if (p >= P || nk >= NK) return;
  const int n = nk / K, k = nk % K, c = k / (K / C);
  __global const float *xc = x + ((long)n * C + c) * (long)H * W;
  __global const float *wk = w + (long)k * R * S;
  __global float *yrow = y + ((long)nk * P + p) * Q;
  const float b = has_bias ? bias[k] : 0.0f;
  const int h0 = p * sh - pt;
  const int r_lo = conv_first(h0, dh), r_hi = conv_end(h0, dh, H, R);
  const int2 in = conv_interior(W, Q, S, sw, pl, dw);
  /* one column, bounds checked */
#define DW_POINT(q)                                                                             \
  {                                                                                             \
    float a_ = 0.0f;                                                                            \
    for (int r = r_lo; r < r_hi; r++) {                                                         \
      __global const float *xrow = xc + (long)(h0 + r * dh) * W;                                \
      for (int s = 0; s < S; s++) {                                                             \
        const int ww = (q) * sw - pl + s * dw;                                                  \
        if (ww >= 0 && ww < W) a_ = fma(wk[r * S + s], xrow[ww], a_);                           \
      }                                                                                         \
    }                                                                                           \
    conv_store1_act(yrow + (q), a_, b, beta, act, act_alpha);                                   \
  }
  for (int q = 0; q < in.x; q++) DW_POINT(q)
  int q0 = in.x;
  /* beta == 0: a short tail becomes one more full chunk ending at in.y (equal values stored twice) */
  const int tail_shift = beta == 0.0f && in.y - in.x >= 16;
#define DW_CHUNKS(LD)                                                                           \
  while (q0 < in.y) {                                                                           \
    if (q0 + 16 > in.y) {                                                                       \
      if (!tail_shift) break;                                                                   \
      q0 = in.y - 16;                                                                           \
    }                                                                                           \
    float16 acc = (float16)(0.0f);                                                              \
    for (int r = r_lo; r < r_hi; r++) {                                                         \
      __global const float *xrow = xc + (long)(h0 + r * dh) * W + (q0 * sw - pl);              \
      for (int s = 0; s < S; s++) acc = fma((float16)(wk[r * S + s]), LD(xrow, s * dw, sw), acc); \
    }                                                                                           \
    if (act == CLNN_ACT_ID_IDENTITY) {                                                          \
      float16 v = acc;                                                                          \
      if (beta != 0.0f) v = (float16)(beta) * vload16(0, yrow + q0) + v;                        \
      vstore16(v + (float16)(b), 0, yrow + q0);                                                 \
    } else {                                                                                    \
      float t[16];                                                                              \
      vstore16(acc, 0, t);                                                                      \
      for (int l = 0; l < 16; l++) conv_store1_act(yrow + q0 + l, t[l], b, beta, act, act_alpha); \
    }                                                                                           \
    q0 += 16;                                                                                   \
  }
  LD16_BY_STRIDE(sw, DW_CHUNKS);
  for (int q = max(q0, in.x); q < Q; q++) DW_POINT(q)
#undef DW_CHUNKS
#undef DW_POINT
}

/* Depthwise backward-data: the work-item for dx row (n, c, h) gathers dy * w over its
 * channel's K/groups output channels and the taps that reach it, in (k, r, s) order, per column
 * phase ph = w mod sw (consecutive elements of a phase read consecutive dy columns): 16
 * elements at a time with plain vector loads where every tap's dy column exists, one by one
 * near the ends of the row. Global: (H, N*C). */
__kernel void conv2d_dw_backward_data_cpu(__global const float *restrict dy,
                                          __global const float *restrict w,
                                          __global float *restrict dx, int C, int H, int W, int K,
                                          int R, int S, int P, int Q, int sh, int sw, int pt,
                                          int pl, int dh, int dw, int NC, float beta) {
  const int h = get_global_id(0);
  const int nc = get_global_id(1);
  if (h >= H || nc >= NC) return;
  const int n = nc / C, c = nc % C, Kg = K / C;
  __global float *dxrow = dx + (long)nc * H * W + (long)h * W;
  __global const float *dyn = dy + (long)n * K * P * Q;
  for (int ph = 0; ph < sw && ph < W; ph++) {
    const int M = (W - ph + sw - 1) / sw; /* elements w = ph + sw*m, m < M */
    /* element m of tap s reads dy column m + (ph + pl - s*dw)/sw (taps with a remainder skip this
     * phase); interior: elements for which every tap's column is inside [0, Q) */
    int mlo = 0, mhi = M;
    for (int s = 0; s < S; s++) {
      const int ww = ph + pl - s * dw;
      if (CONV_MOD(ww, sw) != 0) continue;
      mlo = max(mlo, -(CONV_DIV(ww, sw)));
      mhi = min(mhi, Q - CONV_DIV(ww, sw));
    }
    mlo = min(mlo, M);
    mhi = max(mhi, mlo);
#define DWB_POINT(m)                                                                            \
  {                                                                                             \
    float a_ = 0.0f;                                                                            \
    for (int kl = 0; kl < Kg; kl++) {                                                           \
      const int k = c * Kg + kl;                                                                \
      for (int r = 0; r < R; r++) {                                                             \
        const int hh = h + pt - r * dh;                                                         \
        if (hh < 0) break;                                                                      \
        if (CONV_MOD(hh, sh) != 0 || CONV_DIV(hh, sh) >= P) continue;                                             \
        __global const float *dyrow = dyn + ((long)k * P + CONV_DIV(hh, sh)) * Q;                        \
        for (int s = 0; s < S; s++) {                                                           \
          const int ww = ph + pl - s * dw;                                                      \
          if (CONV_MOD(ww, sw) != 0) continue;                                                           \
          const int q = (m) + CONV_DIV(ww, sw);                                                          \
          if (q >= 0 && q < Q) a_ = fma(w[((long)k * R + r) * S + s], dyrow[q], a_);            \
        }                                                                                       \
      }                                                                                         \
    }                                                                                           \
    __global float *d_ = dxrow + ph + (long)sw * (m);                                           \
    *d_ = beta == 0.0f ? a_ : beta * *d_ + a_;                                                  \
  }
    for (int m = 0; m < mlo; m++) DWB_POINT(m)
    int m0 = mlo;
    /* beta == 0 and contiguous stores: a short tail becomes one more chunk ending at mhi */
    const int tail_shift = beta == 0.0f && sw == 1 && mhi - mlo >= 16;
    while (m0 < mhi) {
      if (m0 + 16 > mhi) {
        if (!tail_shift) break;
        m0 = mhi - 16;
      }
      float16 acc = (float16)(0.0f);
      for (int kl = 0; kl < Kg; kl++) {
        const int k = c * Kg + kl;
        for (int r = 0; r < R; r++) {
          const int hh = h + pt - r * dh;
          if (hh < 0) break;
          if (CONV_MOD(hh, sh) != 0 || CONV_DIV(hh, sh) >= P) continue;
          __global const float *dyrow = dyn + ((long)k * P + CONV_DIV(hh, sh)) * Q + m0;
          for (int s = 0; s < S; s++) {
            const int ww = ph + pl - s * dw;
            if (CONV_MOD(ww, sw) != 0) continue;
            acc = fma((float16)(w[((long)k * R + r) * S + s]), vload16(0, dyrow + CONV_DIV(ww, sw)), acc);
          }
        }
      }
      if (sw == 1) {
        conv_store16_beta(dxrow + ph + m0, acc, beta);
      } else {
        float t[16];
        vstore16(acc, 0, t);
        for (int l = 0; l < 16; l++) {
          __global float *d = dxrow + ph + (long)sw * (m0 + l);
          *d = beta == 0.0f ? t[l] : beta * *d + t[l];
        }
      }
      m0 += 16;
    }
    for (int m = max(m0, mlo); m < M; m++) DWB_POINT(m)
#undef DWB_POINT
  }
}

/* Depthwise backward-filter: the work-item for tap (k, r, s) sums dy * x over images and output
 * pixels: 16 pixels per vector FMA over the columns whose x column exists (plain loads); a
 * partial last chunk of those columns as one more vector over their last 16, with the lanes
 * already summed masked off; the edge columns one by one into a scalar sum; the lanes and the
 * scalar sum are added in a fixed order. Global: (R*S, K). */
__kernel void conv2d_dw_backward_filter_cpu(__global const float *restrict x,
                                            __global const float *restrict dy,
                                            __global float *restrict dw_out, int N, int C, int H,
                                            int W, int K, int R, int S, int P, int Q, int sh,
                                            int sw, int pt, int pl, int dh, int dw, float beta) {
  const int rs = get_global_id(0);
  const int k = get_global_id(1);
  if (rs >= R * S || k >= K) return;
  const int r = rs / S, s = rs % S, c = k / (K / C);
  const int hoff = r * dh - pt, woff = s * dw - pl;
  const int p_lo = conv_first(hoff, sh), p_hi = conv_end(hoff, sh, H, P);
  /* columns q with x column q*sw + woff inside [0, W) (one to spare at stride 2) */
  const int qa = min(Q, conv_first(woff, sw));
  const int qb = max(qa, conv_end(woff + (sw == 2 ? 1 : 0), sw, W, Q));
  const int qv = qa + (qb - qa) / 16 * 16; /* vector columns [qa, qv) */
  /* [qv, qb) as lanes of the vector over [qb - 16, qb) when the interior holds 16 columns */
  const int tail = qv < qb && qb - qa >= 16, t0 = qb - 16;
  const int16 fresh = (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) >= (int16)(qv - t0);
  const int q_scalar = tail ? qb : qv; /* scalar columns: [0, qa) and [q_scalar, Q) */
  float16 acc = (float16)(0.0f);
  float a1 = 0.0f;
  for (int n = 0; n < N; n++) {
    __global const float *xc = x + ((long)n * C + c) * (long)H * W;
    __global const float *dyk = dy + ((long)n * K + k) * (long)P * Q;
    for (int p = p_lo; p < p_hi; p++) {
      __global const float *xrow = xc + (long)(p * sh + hoff) * W + woff;
      __global const float *drow = dyk + (long)p * Q;
#define DWF_CHUNKS(LD)                                                                          \
  {                                                                                             \
    for (int q0 = qa; q0 < qv; q0 += 16)                                                        \
      acc = fma(vload16(0, drow + q0), LD(xrow, q0 * sw, sw), acc);                             \
    if (tail) {                                                                                 \
      const float16 prod = vload16(0, drow + t0) * LD(xrow, t0 * sw, sw);                       \
      acc += fresh ? prod : (float16)(0.0f);                                                    \
    }                                                                                           \
  }
      LD16_BY_STRIDE(sw, DWF_CHUNKS);
#undef DWF_CHUNKS
      for (int q = 0; q < qa; q++) {
        const int ww = q * sw + woff;
        if (ww >= 0 && ww < W) a1 = fma(drow[q], xrow[q * sw], a1);
      }
      for (int q = q_scalar; q < Q; q++) {
        const int ww = q * sw + woff;
        if (ww >= 0 && ww < W) a1 = fma(drow[q], xrow[q * sw], a1);
      }
    }
  }
  const float v = conv_hsum16(acc) + a1;
  __global float *d = dw_out + (long)k * R * S + rs;
  *d = beta == 0.0f ? v : beta * *d + v;
}
