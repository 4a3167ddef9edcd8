/* cl/conv2d.cl — 2-D convolution kernels (NCHW, fp32) used by src/ops/conv2d.c:
 *   conv2d_im2col            x -> column matrix for the im2col + GEMM path
 *   conv2d_col2im            column-matrix gradient -> dx, as a gather (no atomics)
 *   conv2d_gather_rows       [N, K, PQ] -> [K, N*PQ] so a batch reduces inside one GEMM
 *   conv2d_bias_act          y = act(y + bias[k]) after a GEMM
 *   conv2d_direct_forward    direct forward (any shape; fused bias, activation and beta)
 *   conv2d_direct_backward_data, conv2d_direct_backward_filter, conv2d_backward_bias
 *
 * Shapes: x [N, C, H, W], w [K, C/G, R, S], y [N, K, P, Q]; output pixel (p, q) reads input
 * (p*sh - pt + r*dh, q*sw - pl + s*dw). Every per-call size is a kernel argument; every kernel
 * checks its global id against the sizes (the host may round the global size up). Sums run in a
 * fixed order inside one work-item: results are deterministic and use no atomics.
 * cl/common.h is prepended by the runtime. */

#ifndef CONV_DIRECT_QV
#if CLNN_DEVICE_CLASS == CLNN_DEVICE_CLASS_CPU
#define CONV_DIRECT_QV 4 /* outputs along Q per work-item of conv2d_direct_forward */
#else
#define CONV_DIRECT_QV 1 /* outputs along Q per work-item of conv2d_direct_forward */
#endif
#endif

/* Smallest i >= 0 with i*stride + off >= 0, i.e. ceil(-off / stride) clamped at 0. */
inline int conv_first(int off, int stride) { return off >= 0 ? 0 : (-off + stride - 1) / stride; }
/* One past the largest i with i*stride + off <= limit - 1, clamped to [0, n]. */
inline int conv_end(int off, int stride, int limit, int n) {
  int last = limit - 1 - off;
  if (last < 0) return 0;
  return min(n, last / stride + 1);
}

/* col[(c*R + r)*S + s][j] for j = nl*L + (pq - pq0), image n0 + nl, output pixel pq; zeros where
 * the filter tap falls in the padding. Global: (J, C). */
__kernel void conv2d_im2col(__global const float *restrict x, __global float *restrict col,
                            int C, int H, int W, int R, int S, int P, int Q, int sh, int sw,
                            int pt, int pl, int dh, int dw, int n0, int L, int pq0, int J) {
  const int j = get_global_id(0);
  const int c = get_global_id(1);
  (void)P; /* shared argument list with conv2d_col2im */
  if (j >= J || c >= C) return;
  const int nl = j / L;
  const int pq = pq0 + j % L;
  const int p = pq / Q, q = pq % Q;
  __global const float *xc = x + ((long)(n0 + nl) * C + c) * (long)H * W;
  __global float *colc = col + (long)c * R * S * J + j;
  const int h0 = p * sh - pt, w0 = q * sw - pl;
  for (int r = 0; r < R; r++) {
    const int h = h0 + r * dh;
    const int hv = h >= 0 && h < H;
    for (int s = 0; s < S; s++) {
      const int ww = w0 + s * dw;
      float v = 0.0f;
      if (hv && ww >= 0 && ww < W) v = xc[h * W + ww];
      colc[(long)(r * S + s) * J] = v;
    }
  }
}

/* dx[n, c, h, w] = beta*dx + sum of the column entries that pixel fed (for pq in
 * [pq0, pq0 + L)); beta == 0 overwrites without reading dx. Global: (H*W, nb*C). */
__kernel void conv2d_col2im(__global const float *restrict dcol, __global float *restrict dx,
                            int C, int H, int W, int R, int S, int P, int Q, int sh, int sw,
                            int pt, int pl, int dh, int dw, int n0, int nb, int L, int pq0,
                            int J, float beta) {
  const int hw = get_global_id(0);
  const int nc = get_global_id(1);
  if (hw >= H * W || nc >= nb * C) return;
  const int nl = nc / C, c = nc % C;
  const int h = hw / W, x = hw % W;
  __global const float *colc = dcol + (long)c * R * S * J + (long)nl * L - pq0;
  float acc = 0.0f;
  for (int r = 0; r < R; r++) {
    const int hh = h + pt - r * dh;
    if (hh < 0) break;
    if (hh % sh != 0) continue;
    const int p = hh / sh;
    if (p >= P) continue;
    for (int s = 0; s < S; s++) {
      const int ww = x + pl - s * dw;
      if (ww < 0) break;
      if (ww % sw != 0) continue;
      const int q = ww / sw;
      if (q >= Q) continue;
      const int pq = p * Q + q;
      if (pq < pq0 || pq >= pq0 + L) continue;
      acc += colc[(long)(r * S + s) * J + pq];
    }
  }
  const long i = ((long)(n0 + nl) * C + c) * (long)H * W + hw;
  dx[i] = beta == 0.0f ? acc : beta * dx[i] + acc;
}

/* dst[k][nl*PQ + pq] = src[n0 + nl][k][pq]: images side by side. Global: (PQ, K, nb). */
__kernel void conv2d_gather_rows(__global const float *restrict src, __global float *restrict dst,
                                 int K, int PQ, int n0, int nb) {
  const int pq = get_global_id(0);
  const int k = get_global_id(1);
  const int nl = get_global_id(2);
  if (pq >= PQ || k >= K || nl >= nb) return;
  dst[(long)k * nb * PQ + (long)nl * PQ + pq] = src[((long)(n0 + nl) * K + k) * PQ + pq];
}

/* y[n, k, pq] = act(y + bias[k]) (bias ignored when has_bias is 0). Global: (PQ, N*K). */
__kernel void conv2d_bias_act(__global float *restrict y, __global const float *restrict bias,
                              int has_bias, int K, int PQ, int NK, int act, float act_alpha) {
  const int pq = get_global_id(0);
  const int nk = get_global_id(1);
  if (pq >= PQ || nk >= NK) return;
  const long i = (long)nk * PQ + pq;
  float v = y[i];
  if (has_bias) v += bias[nk % K];
  y[i] = clnn_act_apply(act, act_alpha, v);
}

/* y = act(beta*y + conv(x, w) + bias); beta == 0 never reads y. Each work-item computes blocks
 * of CONV_DIRECT_QV neighbouring outputs along Q, striding over blocks by the global size of
 * dimension 0, so any global size is correct (the host's guess of QV only affects speed).
 * Global: (about ceil(Q/QV), P, N*K). */
__kernel void conv2d_direct_forward(__global const float *restrict x,
                                    __global const float *restrict w,
                                    __global const float *restrict bias, __global float *restrict y,
                                    int C, int H, int W, int K, int R, int S, int P, int Q, int sh,
                                    int sw, int pt, int pl, int dh, int dw, int groups, int NK,
                                    int has_bias, int act, float act_alpha, float beta) {
  const int p = get_global_id(1);
  const int nk = get_global_id(2);
  if (p >= P || nk >= NK) return;
  const int n = nk / K, k = nk % K;
  const int Cg = C / groups, Kg = K / groups, g = k / Kg;
  __global const float *xg = x + ((long)n * C + (long)g * Cg) * (long)H * W;
  __global const float *wk = w + (long)k * Cg * R * S;
  __global float *yrow = y + ((long)nk * P + p) * Q;
  const float b = has_bias ? bias[k] : 0.0f;
  const int h0 = p * sh - pt;
  const int r_lo = conv_first(h0, dh), r_hi = conv_end(h0, dh, H, R);
  for (int q0 = (int)get_global_id(0) * CONV_DIRECT_QV; q0 < Q;
       q0 += (int)get_global_size(0) * CONV_DIRECT_QV) {
    float acc[CONV_DIRECT_QV];
    for (int i = 0; i < CONV_DIRECT_QV; i++) acc[i] = 0.0f;
    const int w0 = q0 * sw - pl;
    for (int c = 0; c < Cg; c++) {
      __global const float *xc = xg + (long)c * H * W;
      __global const float *wc = wk + c * R * S;
      for (int r = r_lo; r < r_hi; r++) {
        __global const float *xrow = xc + (h0 + r * dh) * W;
        for (int s = 0; s < S; s++) {
          const float wv = wc[r * S + s];
          const int ws = w0 + s * dw;
          for (int i = 0; i < CONV_DIRECT_QV; i++) {
            const int ww = ws + i * sw;
            if (ww >= 0 && ww < W) acc[i] = fma(xrow[ww], wv, acc[i]);
          }
        }
      }
    }
    for (int i = 0; i < CONV_DIRECT_QV; i++) {
      const int q = q0 + i;
      if (q < Q) {
        float v = acc[i];
        if (beta != 0.0f) v = beta * yrow[q] + v;
        yrow[q] = clnn_act_apply(act, act_alpha, v + b);
      }
    }
  }
}

/* dx[n, c, h, w] = beta*dx + sum over the outputs that read it of dy * w (a gather).
 * Global: (W, H, N*C). */
__kernel void conv2d_direct_backward_data(__global const float *restrict dy,
                                          __global const float *restrict w,
                                          __global float *restrict dx, int C, int H, int W, int K,
                                          int R, int S, int P, int Q, int sh, int sw, int pt,
                                          int pl, int dh, int dw, int groups, int NC, float beta) {
  const int x = get_global_id(0);
  const int h = get_global_id(1);
  const int nc = get_global_id(2);
  if (x >= W || h >= H || nc >= NC) return;
  const int n = nc / C, c = nc % C;
  const int Cg = C / groups, Kg = K / groups, g = c / Cg, cl = c % Cg;
  const long PQ = (long)P * Q;
  __global const float *dyg = dy + ((long)n * K + (long)g * Kg) * PQ;
  __global const float *wg = w + ((long)g * Kg * Cg + cl) * R * S;
  const long wk_stride = (long)Cg * R * S;
  float acc = 0.0f;
  for (int r = 0; r < R; r++) {
    const int hh = h + pt - r * dh;
    if (hh < 0) break;
    if (hh % sh != 0) continue;
    const int p = hh / sh;
    if (p >= P) continue;
    for (int s = 0; s < S; s++) {
      const int ww = x + pl - s * dw;
      if (ww < 0) break;
      if (ww % sw != 0) continue;
      const int q = ww / sw;
      if (q >= Q) continue;
      __global const float *d = dyg + p * Q + q;
      __global const float *wv = wg + r * S + s;
      for (int kl = 0; kl < Kg; kl++) acc = fma(d[kl * PQ], wv[kl * wk_stride], acc);
    }
  }
  const long i = ((long)nc * H + h) * W + x;
  dx[i] = beta == 0.0f ? acc : beta * dx[i] + acc;
}

/* dw[k, cl, r, s] = beta*dw + sum over n, p, q of dy[n, k, p, q] * x[n, c, ...].
 * Global: (K*Cg*R*S). */
__kernel void conv2d_direct_backward_filter(__global const float *restrict x,
                                            __global const float *restrict dy,
                                            __global float *restrict dw_out, int N, int C, int H,
                                            int W, int K, int R, int S, int P, int Q, int sh,
                                            int sw, int pt, int pl, int dh, int dw, int groups,
                                            float beta) {
  const int i = get_global_id(0);
  const int Cg = C / groups, Kg = K / groups;
  const int RS = R * S;
  if (i >= K * Cg * RS) return;
  const int k = i / (Cg * RS);
  const int rem = i % (Cg * RS);
  const int cl = rem / RS, r = (rem % RS) / S, s = rem % S;
  const int c = (k / Kg) * Cg + cl;
  const int hoff = r * dh - pt, woff = s * dw - pl;
  const int p_lo = conv_first(hoff, sh), p_hi = conv_end(hoff, sh, H, P);
  const int q_lo = conv_first(woff, sw), q_hi = conv_end(woff, sw, W, Q);
  float acc = 0.0f;
  for (int n = 0; n < N; n++) {
    __global const float *xc = x + ((long)n * C + c) * (long)H * W;
    __global const float *dyk = dy + ((long)n * K + k) * (long)P * Q;
    for (int p = p_lo; p < p_hi; p++) {
      const int base = (p * sh + hoff) * W + woff; /* + q*sw is inside row p*sh + hoff */
      __global const float *drow = dyk + p * Q;
      for (int q = q_lo; q < q_hi; q++) acc = fma(drow[q], xc[base + q * sw], acc);
    }
  }
  dw_out[i] = beta == 0.0f ? acc : beta * dw_out[i] + acc;
}

/* db[k] = beta*db + sum over n and pq of dy[n, k, pq]. Global: (K). */
__kernel void conv2d_backward_bias(__global const float *restrict dy, __global float *restrict db,
                                   int N, int K, int PQ, float beta) {
  const int k = get_global_id(0);
  if (k >= K) return;
  float acc = 0.0f;
  for (int n = 0; n < N; n++) {
    __global const float *d = dy + ((long)n * K + k) * PQ;
    float part = 0.0f;
    for (int i = 0; i < PQ; i++) part += d[i];
    acc += part;
  }
  db[k] = beta == 0.0f ? acc : beta * db[k] + acc;
}
