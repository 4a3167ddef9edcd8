/* cl/conv2d.cl — 2-D convolution kernels (NCHW, fp32) used by src/ops/conv2d.c:
 *   conv2d_im2col            x -> column matrix for the im2col + GEMM path
 *   conv2d_col2im            column-matrix gradient -> dx, as a gather (no atomics)
 *   conv2d_gather_rows       [N, K, PQ] -> [K, N*PQ] so a batch reduces inside one GEMM
 *   conv2d_bias_act          y = act(y + bias[k]) after a GEMM
 *   conv2d_direct_forward    direct forward (any shape; fused bias, activation and beta)
 *   conv2d_direct_backward_data, conv2d_direct_backward_filter (the GPU class's bias gradient
 *   and depthwise filter gradient are tree reductions in cl/conv2d_reduce.cl)
 * and CPU-shaped variants the host picks on CPU devices (second half of the file):
 *   conv2d_im2col_cpu, conv2d_col2im_cpu, conv2d_col2im_flat_cpu, conv2d_gather_rows_cpu,
 *   conv2d_bias_act_cpu, conv2d_backward_bias_cpu (depthwise DIRECT's row kernels are in
 *   cl/conv2d_dw_cpu.cl, a program of its own)
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

/* The element-per-work-item kernels the host runs on GPU-class devices only (CPU devices run
 * the *_cpu kernels below instead), left out of CPU builds: less for PoCL's front end to parse
 * and optimise. The direct kernels after them stay in both: CPU devices fall back to them where
 * no CPU kernel applies. */
#if CLNN_DEVICE_CLASS != CLNN_DEVICE_CLASS_CPU
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

#endif /* CLNN_DEVICE_CLASS != CLNN_DEVICE_CLASS_CPU */

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

/* ============================================================================================== */
/* CPU-shaped kernels (chosen by the host on CPU devices: the device class decides the shape).  */
/* Each work-item owns whole rows: it streams a contiguous run of its output with explicit        */
/* float16 loads and stores, keeps its sums in vector registers, and uses no local memory and no  */
/* barriers. Every sum still runs in a fixed order inside one work-item (deterministic).          */
/* ============================================================================================== */
/* (Built for the CPU class only: no other class launches them.) */
#if CLNN_DEVICE_CLASS == CLNN_DEVICE_CLASS_CPU

/* dst[0 .. n) = 0 */
inline void conv_zero_run(__global float *dst, int n) {
  int i = 0;
  for (; i + 16 <= n; i += 16) store16(dst + i, (float16)(0.0f));
  /* the tails stay scalar: LLVM's vectoriser would add masked and strided copies of each tail
   * loop (at every inlined call), code generation time for a few elements per row */
  #pragma clang loop vectorize(disable) unroll(disable)
  for (; i < n; i++) dst[i] = 0.0f;
}

/* dst[i] = src[i*stride] for i < n; the caller guarantees every src[i*stride] is in bounds (and
 * reads nothing else: the stride-2 vector path only reads past the last element it needs when
 * a later element exists). */
inline void conv_copy_run(__global float *dst, __global const float *src, int n, int stride) {
  int i = 0;
  if (stride == 1) {
    for (; i + 16 <= n; i += 16) vstore16(vload16(0, src + i), 0, dst + i);
  } else if (stride == 2) {
    for (; i + 16 < n; i += 16) {
      const float16 a = vload16(0, src + 2 * i), b = vload16(0, src + 2 * i + 16);
      vstore16((float16)(a.even, b.even), 0, dst + i);
    }
  }
  #pragma clang loop vectorize(disable) unroll(disable)
  for (; i < n; i++) dst[i] = src[(long)i * stride];
}

#define CONV_LANES ((int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))

/* Lanes i = 0..15 of row[start + i*stride], 0 where start + i*stride is outside [0, limit).
 * (Runs crossing an end of the row go element by element: a variable-index shuffle instead
 * measured 1.6x slower on PoCL.) */
inline float16 conv_load16(__global const float *row, int start, int stride, int limit) {
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
    t[i] = (j >= 0 && j < limit) ? row[j] : 0.0f;
  }
  return vload16(0, t);
}

/* im2col, row-wise: the work-item for column-matrix row (c, r, s) and image n0 + nl writes that
 * row's L entries for the image (output pixels pq0 .. pq0+L-1) as one contiguous run: zeros where
 * the tap falls in the padding, a (vector) copy of the input row segment elsewhere.
 * col[(c*R + r)*S + s][nl*L + pq - pq0]. */
CLNN_ITEM_INLINE void conv_im2col_row(__global const float *x,
                                      __global float *col, int C, int H, int W, int R,
                                      int S, int P, int Q, int sh, int sw, int pt, int pl, int dh,
                                      int dw, int n0, int L, int pq0, int J, int nb, int row,
                                      int nl) {
  if (row >= C * R * S || nl >= nb) return;
  const int c = row / (R * S), rs = row % (R * S), r = rs / S, s = rs % S;
  __global const float *xc = x + ((long)(n0 + nl) * C + c) * (long)H * W;
  const long base = (long)row * J + (long)nl * L - pq0; /* col index of pixel pq is base + pq */
  const int woff = s * dw - pl;
  const int qa0 = conv_first(woff, sw), qb0 = conv_end(woff, sw, W, Q);
  const int pq1 = pq0 + L;
  if (sh == 1 && sw == 1 && Q == W) {
    /* Rows of x and of the output have the same length, so the whole run is one shifted copy of
     * the flat image (pixel pq reads x[pq + shift]), zero outside the valid rows; the few
     * entries per row whose tap column is in the padding are then zeroed over what the copy
     * brought in from the neighbouring row. Narrow images (14x14, 28x28) stay vector-wide. */
    const int shift = (r * dh - pt) * W + woff;
    const int p_lo = max(0, pt - r * dh), p_hi = min(P, H + pt - r * dh);
    int a = max(pq0, p_lo * Q), b = min(pq1, p_hi * Q);
    if (a > b) a = b = pq0;
    const int ca = max(a, -shift), cb = max(ca, min(b, H * W - shift));
    __global float *dst = col + (base + pq0); /* entry pq is dst[pq - pq0] */
    conv_zero_run(dst, ca - pq0);
    conv_copy_run(dst + (ca - pq0), xc + ((long)ca + shift), cb - ca, 1);
    conv_zero_run(dst + (cb - pq0), pq1 - cb);
    if (qa0 > 0 || qb0 < Q) {
      for (int p = a / Q; p * Q < b; p++) {
        const int rs0 = p * Q, lo = max(a, rs0), hi = min(b, rs0 + Q);
        #pragma clang loop vectorize(disable) unroll(disable)
        for (int i = lo; i < min(hi, rs0 + qa0); i++) dst[i - pq0] = 0.0f;
        #pragma clang loop vectorize(disable) unroll(disable)
        for (int i = max(lo, rs0 + qb0); i < hi; i++) dst[i - pq0] = 0.0f;
      }
    }
    return;
  }
  for (int p = pq0 / Q; p * Q < pq1; p++) {
    const int qlo = max(0, pq0 - p * Q), qhi = min(Q, pq1 - p * Q);
    __global float *dst = col + (base + (long)p * Q + qlo); /* entry q is dst[q - qlo] */
    const int h = p * sh - pt + r * dh;
    if (h < 0 || h >= H) {
      conv_zero_run(dst, qhi - qlo);
      continue;
    }
    const int qa = clamp(qa0, qlo, qhi), qb = clamp(qb0, qa, qhi);
    conv_zero_run(dst, qa - qlo);
    conv_copy_run(dst + (qa - qlo), xc + (long)h * W + (long)qa * sw + woff, qb - qa, sw);
    conv_zero_run(dst + (qb - qlo), qhi - qb);
  }
}

/* Column-matrix rows [row0, row0 + n) of image n0 + nl, out of line (CLNN_OUTLINE). */
CLNN_OUTLINE void conv_im2col_rows(__global const float *restrict x, __global float *restrict col,
                                   int C, int H, int W, int R, int S, int P, int Q, int sh, int sw,
                                   int pt, int pl, int dh, int dw, int n0, int L, int pq0, int J,
                                   int nb, int row0, int n, int nl) {
  for (int row = row0; row < row0 + n; row++)
    conv_im2col_row(x, col, C, H, W, R, S, P, Q, sh, sw, pt, pl, dh, dw, n0, L, pq0, J, nb, row,
                    nl);
}

/* im2col, one column-matrix row (c, r, s) of image n0 + nl per work-item, a work-group's rows
 * done by its first work-item (conv_im2col_rows: one call per group). Global: (C*R*S, nb). */
__kernel void conv2d_im2col_cpu(__global const float *restrict x, __global float *restrict col,
                                int C, int H, int W, int R, int S, int P, int Q, int sh, int sw,
                                int pt, int pl, int dh, int dw, int n0, int L, int pq0, int J,
                                int nb) {
  if (get_local_id(0) == 0)
    conv_im2col_rows(x, col, C, H, W, R, S, P, Q, sh, sw, pt, pl, dh, dw, n0, L, pq0, J, nb,
                     get_global_id(0), get_local_size(0), get_global_id(1));
}

/* The sums of col2im for elements w = ph + sw*m, m = m0 .. m0+15 (m < M) of dx row h: taps in
 * (r, s) order, 0 for lanes nothing reaches. */
inline float16 conv_col2im_acc(__global const float *colc, int h, int ph, int m0, int M, int R,
                               int S, int P, int Q, int sh, int sw, int pt, int pl, int dh,
                               int dw, int pq0, int pq1, int J) {
  float16 acc = (float16)(0.0f);
  for (int r = 0; r < R; r++) {
    const int hh = h + pt - r * dh;
    if (hh < 0) break;
    if (CONV_MOD(hh, sh) != 0) continue;
    const int p = CONV_DIV(hh, sh);
    if (p >= P) continue;
    const int qlo = max(0, pq0 - p * Q), qhi = min(Q, pq1 - p * Q);
    if (qlo >= qhi) continue;
    for (int s = 0; s < S; s++) {
      const int ww = ph + pl - s * dw; /* w + pl - s*dw = sw*m + ww */
      if (CONV_MOD(ww, sw) != 0) continue;
      const int qoff = CONV_DIV(ww, sw); /* element m reads pixel q = m + qoff of row p */
      const int ma = max(m0, qlo - qoff), mb = min(min(m0 + 16, M), qhi - qoff);
      if (ma >= mb) continue;
      /* colc[so + m] is the entry of element m (only read where valid) */
      const long so = (long)(r * S + s) * J + ((long)p * Q - pq0) + qoff;
      if (ma == m0 && mb == m0 + 16) {
        acc += vload16(0, colc + (so + m0));
      } else {
        float t[16];
        for (int i = 0; i < 16; i++) {
          const int m = m0 + i;
          t[i] = (m >= ma && m < mb) ? colc[so + m] : 0.0f;
        }
        acc += vload16(0, t);
      }
    }
  }
  return acc;
}

/* Stores phase vectors a0 (even columns w0, w0+2, ...) and a1 (odd columns) of a stride-2 row at
 * d[0 .. 32), interleaved, when all 32 columns exist (n == 32); else column by column. */
inline void conv_store_phases2(__global float *d, float16 a0, float16 a1, int n, float beta) {
  if (n >= 32) {
    conv_store16_beta(d, shuffle2(a0, a1, (uint16)(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23)), beta);
    conv_store16_beta(d + 16, shuffle2(a0, a1, (uint16)(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31)), beta);
    return;
  }
  float t[32];
  vstore16(a0, 0, t);
  vstore16(a1, 0, t + 16);
  for (int i = 0; i < n; i++) {
    const float v = t[(i & 1) * 16 + (i >> 1)];
    d[i] = beta == 0.0f ? v : beta * d[i] + v;
  }
}

/* col2im of dx row h for a 1x1 filter (one tap) at column stride sw = 1 or 2: element w holds
 * the column entry of pixel (p, q) where h + pt = p*sh and w + pl = q*sw, else 0 -- the generic
 * kernel's sum (0 + entry) without its per-chunk tap loops. 16 entries a chunk (16 columns, or 32
 * at stride 2); with beta == 0 the last chunk moves left to end at the row's end (its overlap
 * stored twice with the same values); chunks reaching past the pixels [pq0, pq1) element by
 * element. */
inline void conv_col2im_1tap_row(__global const float *colc, __global float *dxrow, int h, int W,
                                 int P, int Q, int sh, int sw, int pt, int pl, int pq0, int pq1,
                                 float beta) {
  const int hh = h + pt;
  const int p = hh >= 0 && CONV_MOD(hh, sh) == 0 ? CONV_DIV(hh, sh) : P;
  const int qlo = p < P ? max(0, pq0 - p * Q) : 0, qhi = p < P ? min(Q, pq1 - p * Q) : 0;
  if (qlo >= qhi) {
    scale_run(dxrow, W, beta);
    return;
  }
  __global const float *crow = colc + ((long)p * Q - pq0); /* pixel q's entry: crow[q] */
  const int step = sw == 1 ? 16 : 32;
  for (int w0 = 0; w0 < W; w0 += step) {
    if (beta == 0.0f && w0 + step > W && W >= step) w0 = W - step;
    const int odd = (w0 + pl) & 1;                                    /* sw == 2: lane 0 empty */
    const int q0 = sw == 1 ? w0 + pl : (w0 + pl + odd) >> 1; /* the chunk's first pixel */
    if (w0 + step <= W && q0 >= qlo && q0 + 16 <= qhi) {
      const float16 v = (float16)(0.0f) + vload16(0, crow + q0);
      if (sw == 1) conv_store16_beta(dxrow + w0, v, beta);
      else if (odd) conv_store_phases2(dxrow + w0, (float16)(0.0f), v, 32, beta);
      else conv_store_phases2(dxrow + w0, v, (float16)(0.0f), 32, beta);
      continue;
    }
    #pragma clang loop vectorize(disable) unroll(disable)
    for (int w = w0; w < min(W, w0 + step); w++) {
      const int ww = w + pl, q = sw == 1 ? ww : ww >> 1;
      const float a = 0.0f + ((sw == 1 || (ww & 1) == 0) && q >= qlo && q < qhi ? crow[q] : 0.0f);
      dxrow[w] = beta == 0.0f ? a : beta * dxrow[w] + a;
    }
  }
}

/* col2im, row-wise gather: the work-item for dx row (n0 + nl, c, h) sums, for each element, the
 * column entries it fed (taps in (r, s) order, as conv2d_col2im), 16 elements at a time in a
 * vector. Columns are handled by phase ph = w mod sw: within a phase, consecutive elements read
 * consecutive column entries, so interior runs are plain vector loads; with stride 2 the two
 * phases are interleaved back into contiguous stores. Only pixels pq0 .. pq0+L-1 contribute.
 * beta == 0 overwrites without reading dx. Global: (ceil(H/CONV_C2I_RB), nb*C). */
#ifndef CONV_C2I_RB
#define CONV_C2I_RB 4 /* dx rows per work-item of conv2d_col2im_cpu */
#endif

__kernel void conv2d_col2im_cpu(__global const float *restrict dcol, __global float *restrict dx,
                                int C, int H, int W, int R, int S, int P, int Q, int sh, int sw,
                                int pt, int pl, int dh, int dw, int n0, int nb, int L, int pq0,
                                int J, float beta) {
  const int h_first = get_global_id(0) * CONV_C2I_RB;
  const int nc = get_global_id(1);
  if (h_first >= H || nc >= nb * C) return;
  const int nl = nc / C, c = nc % C;
  __global const float *colc = dcol + (long)c * R * S * J + (long)nl * L;
  const int pq1 = pq0 + L;
  for (int h = h_first; h < min(H, h_first + CONV_C2I_RB); h++) {
    __global float *dxrow = dx + ((long)(n0 + nl) * C + c) * (long)H * W + (long)h * W;
    if (R == 1 && S == 1 && sw <= 2) {
      conv_col2im_1tap_row(colc, dxrow, h, W, P, Q, sh, sw, pt, pl, pq0, pq1, beta);
      continue;
    }
    /* rows no tap reaches (stride > 1, slices): dx = beta*dx as plain vector stores */
    int hit = 0;
    for (int r = 0; r < R && !hit; r++) {
      const int hh = h + pt - r * dh;
      if (hh < 0) break;
      if (CONV_MOD(hh, sh) != 0) continue;
      const int p = CONV_DIV(hh, sh);
      hit = p < P && max(0, pq0 - p * Q) < min(Q, pq1 - p * Q);
    }
    if (!hit) {
      scale_run(dxrow, W, beta);
      continue;
    }
    if (sw == 2) {
      const int M0 = (W + 1) / 2, M1 = W / 2;
      /* With beta == 0 and an even width of at least 32, the last chunk is moved left to end at
       * the row's end (recomputing a few elements, stored again with the same values): every
       * chunk is a full vector one. */
      const int shift_last = beta == 0.0f && W >= 32 && (W & 1) == 0;
      for (int m0 = 0; m0 < M0; m0 += 16) {
        if (shift_last && m0 + 16 > M0) m0 = M0 - 16;
        const float16 a0 = conv_col2im_acc(colc, h, 0, m0, M0, R, S, P, Q, sh, sw, pt, pl, dh, dw, pq0, pq1, J);
        const float16 a1 = m0 < M1 ? conv_col2im_acc(colc, h, 1, m0, M1, R, S, P, Q, sh, sw, pt, pl, dh, dw, pq0, pq1, J)
                                   : (float16)(0.0f);
        conv_store_phases2(dxrow + 2 * m0, a0, a1, min(32, W - 2 * m0), beta);
      }
      continue;
    }
    for (int ph = 0; ph < sw && ph < W; ph++) {
      const int M = (W - ph + sw - 1) / sw; /* elements w = ph + sw*m, m < M */
      for (int m0 = 0; m0 < M; m0 += 16) {
        if (sw == 1 && beta == 0.0f && m0 + 16 > M && M >= 16) m0 = M - 16; /* as above */
        const float16 acc = conv_col2im_acc(colc, h, ph, m0, M, R, S, P, Q, sh, sw, pt, pl, dh, dw, pq0, pq1, J);
        if (sw == 1 && m0 + 16 <= M) {
          conv_store16_beta(dxrow + ph + m0, acc, beta);
        } else {
          float t[16];
          vstore16(acc, 0, t);
          const int n = min(16, M - m0);
          for (int i = 0; i < n; i++) {
            __global float *d = dxrow + ph + (long)sw * (m0 + i);
            *d = beta == 0.0f ? t[i] : beta * *d + t[i];
          }
        }
      }
    }
  }
}

/* col2im for stride 1 with Q == W (same-size rows): dx pixel hw of tap (r, s) reads column entry
 * pq = hw + off, off = (pt - r*dh)*Q + pl - s*dw, wherever its row and column are valid, so one
 * work-item walks its whole dx plane (n0 + nl, c) 16 flat pixels at a time with one vector load
 * and a lane mask per tap: no partial row chunks on narrow images. Taps in (r, s) order, as the
 * other col2im kernels. */
CLNN_ITEM_INLINE void conv_col2im_flat_plane(__global const float *dcol,
                                             __global float *dx, int C, int H, int W,
                                             int R, int S, int P, int Q, int pt, int pl, int dh,
                                             int dw, int n0, int nb, int L, int pq0, int J,
                                             float beta, int nc) {
  if (nc >= nb * C) return;
  const int nl = nc / C, c = nc % C;
  const long cbase = (long)c * R * S * J + (long)nl * L - pq0; /* entry pq of tap rs: cbase + rs*J + pq */
  __global float *dxp = dx + ((long)(n0 + nl) * C + c) * (long)H * W;
  const int HW = H * W, pq1 = pq0 + L;
  int16 hv, wv; /* row and column of each lane's pixel */
  {
    int t[16], u[16];
    for (int l = 0; l < 16; l++) {
      t[l] = l / W;
      u[l] = l % W;
    }
    hv = vload16(0, t);
    wv = vload16(0, u);
  }
  for (int i0 = 0; i0 < HW; i0 += 16) {
    float16 acc = (float16)(0.0f);
    for (int r = 0; r < R; r++) {
      const int rowoff = r * dh - pt; /* output row p = h - rowoff */
      const int16 rmask = (hv >= rowoff) & (hv < P + rowoff);
      if (!any(rmask)) continue;
      for (int s = 0; s < S; s++) {
        const int coloff = s * dw - pl;
        const int e0 = i0 - rowoff * Q - coloff; /* entry of lane 0 */
        const int16 e = (int16)(e0) + CONV_LANES;
        const int16 m = rmask & (wv >= coloff) & (wv < Q + coloff) & (e >= pq0) & (e < pq1);
        if (!any(m)) continue;
        const long src = cbase + (long)(r * S + s) * J + e0;
        float16 v;
        if (e0 >= pq0 && e0 + 16 <= pq1) {
          v = vload16(0, dcol + src);
        } else {
          float t[16];
          int mm[16];
          vstore16(m, 0, mm);
          for (int l = 0; l < 16; l++) t[l] = mm[l] ? dcol[src + l] : 0.0f;
          v = vload16(0, t);
        }
        acc += select((float16)(0.0f), v, m);
      }
    }
    __global float *d = dxp + i0;
    if (i0 + 16 <= HW) {
      if (beta == 0.0f) vstore16(acc, 0, d);
      else vstore16((float16)(beta) * vload16(0, d) + acc, 0, d);
    } else {
      float t[16];
      vstore16(acc, 0, t);
      for (int l = 0; l < HW - i0; l++) d[l] = beta == 0.0f ? t[l] : beta * d[l] + t[l];
    }
    /* next 16 pixels */
    wv += 16;
    int16 wrap = wv >= W;
    while (any(wrap)) {
      wv -= select((int16)(0), (int16)(W), wrap);
      hv -= wrap; /* wrap is -1 where true */
      wrap = wv >= W;
    }
  }
}

/* dx planes [nc0, nc0 + n), out of line (CLNN_OUTLINE). */
CLNN_OUTLINE void conv_col2im_flat_planes(__global const float *restrict dcol,
                                          __global float *restrict dx, int C, int H, int W, int R,
                                          int S, int P, int Q, int pt, int pl, int dh, int dw,
                                          int n0, int nb, int L, int pq0, int J, float beta,
                                          int nc0, int n) {
  for (int nc = nc0; nc < nc0 + n; nc++)
    conv_col2im_flat_plane(dcol, dx, C, H, W, R, S, P, Q, pt, pl, dh, dw, n0, nb, L, pq0, J, beta,
                           nc);
}

/* col2im for stride 1 with Q == W, one dx plane per work-item, a work-group's planes done by its
 * first work-item (conv_col2im_flat_planes). Global: (nb*C). */
__kernel void conv2d_col2im_flat_cpu(__global const float *restrict dcol,
                                     __global float *restrict dx, int C, int H, int W, int R,
                                     int S, int P, int Q, int sh, int sw, int pt, int pl, int dh,
                                     int dw, int n0, int nb, int L, int pq0, int J, float beta) {
  (void)sh; (void)sw;
  if (get_local_id(0) == 0)
    conv_col2im_flat_planes(dcol, dx, C, H, W, R, S, P, Q, pt, pl, dh, dw, n0, nb, L, pq0, J, beta,
                            get_global_id(0), get_local_size(0));
}

/* y[n, k, :] = act(y + bias[k]) for one (n, k) plane per work-item, 16 at a time for identity,
 * ReLU and leaky ReLU (the same operations as clnn_act_apply), element by element for the other
 * activations and the tail. */
CLNN_ITEM_INLINE void conv_bias_act_plane(__global float *y,
                                          __global const float *bias, int has_bias, int K,
                                          int PQ, int NK, int act, float act_alpha, int nk) {
  if (nk >= NK) return;
  __global float *yp = y + (long)nk * PQ;
  const float b = has_bias ? bias[nk % K] : 0.0f;
  int i = 0;
  if (act == CLNN_ACT_ID_IDENTITY) {
    for (; i + 16 <= PQ; i += 16) vstore16(vload16(0, yp + i) + (float16)(b), 0, yp + i);
  } else if (act == CLNN_ACT_ID_RELU) {
    for (; i + 16 <= PQ; i += 16)
      vstore16(fmax(vload16(0, yp + i) + (float16)(b), (float16)(0.0f)), 0, yp + i);
  } else if (act == CLNN_ACT_ID_LEAKY_RELU) {
    for (; i + 16 <= PQ; i += 16) {
      const float16 v = vload16(0, yp + i) + (float16)(b);
      vstore16(select((float16)(act_alpha) * v, v, isgreater(v, (float16)(0.0f))), 0, yp + i);
    }
  }
  for (; i < PQ; i++) yp[i] = clnn_act_apply(act, act_alpha, yp[i] + b);
}

/* Planes [nk0, nk0 + n), out of line (CLNN_OUTLINE). */
CLNN_OUTLINE void conv_bias_act_planes(__global float *restrict y,
                                       __global const float *restrict bias, int has_bias, int K,
                                       int PQ, int NK, int act, float act_alpha, int nk0, int n) {
  for (int nk = nk0; nk < nk0 + n; nk++)
    conv_bias_act_plane(y, bias, has_bias, K, PQ, NK, act, act_alpha, nk);
}

/* y = act(y + bias), one (n, k) plane per work-item, a work-group's planes done by its first
 * work-item (conv_bias_act_planes). Global: (N*K). */
__kernel void conv2d_bias_act_cpu(__global float *restrict y, __global const float *restrict bias,
                                  int has_bias, int K, int PQ, int NK, int act, float act_alpha) {
  if (get_local_id(0) == 0)
    conv_bias_act_planes(y, bias, has_bias, K, PQ, NK, act, act_alpha, get_global_id(0),
                         get_local_size(0));
}

/* db[k] = beta*db + sum over n and pq of dy[n, k, pq]: 16 running sums per work-item (one
 * channel), added in a fixed order at the end, plus a scalar sum of each plane's tail.
 * for channel k. */
CLNN_ITEM_INLINE void conv_backward_bias_channel(__global const float *dy,
                                                 __global float *db, int N, int K, int PQ,
                                                 float beta, int k) {
  if (k >= K) return;
  float16 acc = (float16)(0.0f);
  float tail = 0.0f;
  const int PQv = PQ / 16 * 16;
  for (int n = 0; n < N; n++) {
    __global const float *d = dy + ((long)n * K + k) * PQ;
    for (int i = 0; i < PQv; i += 16) acc += vload16(0, d + i);
    for (int i = PQv; i < PQ; i++) tail += d[i];
  }
  const float v = conv_hsum16(acc) + tail;
  db[k] = beta == 0.0f ? v : beta * db[k] + v;
}

/* Channels [k0, k0 + n), out of line (CLNN_OUTLINE). */
CLNN_OUTLINE void conv_backward_bias_channels(__global const float *restrict dy,
                                              __global float *restrict db, int N, int K, int PQ,
                                              float beta, int k0, int n) {
  for (int k = k0; k < k0 + n; k++) conv_backward_bias_channel(dy, db, N, K, PQ, beta, k);
}

/* db[k] = beta*db + the sum of dy over n and pq, one channel per work-item, a work-group's
 * channels done by its first work-item (conv_backward_bias_channels). Global: (K). */
__kernel void conv2d_backward_bias_cpu(__global const float *restrict dy, __global float *restrict db,
                                       int N, int K, int PQ, float beta) {
  if (get_local_id(0) == 0)
    conv_backward_bias_channels(dy, db, N, K, PQ, beta, get_global_id(0), get_local_size(0));
}

/* dst[k][nl*PQ + pq] = src[n0 + nl][k][pq], one row run per work-item. Global: (K, nb). */
__kernel void conv2d_gather_rows_cpu(__global const float *restrict src,
                                     __global float *restrict dst, int K, int PQ, int n0, int nb) {
  const int k = get_global_id(0);
  const int nl = get_global_id(1);
  if (k >= K || nl >= nb) return;
  conv_copy_run(dst + (long)k * nb * PQ + (long)nl * PQ, src + ((long)(n0 + nl) * K + k) * PQ, PQ, 1);
}

#endif /* CLNN_DEVICE_CLASS == CLNN_DEVICE_CLASS_CPU */
