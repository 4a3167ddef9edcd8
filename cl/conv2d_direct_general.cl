/* cl/conv2d_direct_general.cl — the direct convolution kernels for CPU devices that a network
 * with only a one-input-channel first layer does not need (those are in cl/conv2d_direct.cl, in
 * the CPU training unit), used by src/ops/conv2d_direct.c; a program of its own, built the first
 * time one of them runs:
 *   conv2d_flat_forward_k{1,8}_cpu         y = act(beta*y + conv(x, w) + bias) for stride 1 with
 *                                          an output as large as the input, blocks of 1 or 8
 *                                          output channels of one group per work-item, any taps
 *                                          (DIRECT forced, depthwise backward-data)
 *   conv2d_flat_bwd_filter_k4_cpu          dw = beta*dw + sum over n, pixels of dy * x, blocks of
 *                                          4 output channels by 5 filter columns
 *   conv2d_band_dw_forward_3x3_cpu         depthwise 3x3 on a zero-padded copy of the plane in
 *                                          local memory, bands of 8 output rows
 *   conv2d_band_forward_k16_cpu            any stride and dilation, several input channels per
 *                                          group (RGB stems): a band of output rows' input in
 *                                          local memory split into column phases, blocks of 16
 *                                          output channels
 *   conv2d_band_bwd_filter_k16_cpu         its backward-filter: a whole padded, phase-split
 *                                          input plane in local memory, blocks of 4 output
 *                                          channels by 4 filter columns
 *   conv2d_band_wino_forward_cpu           row stride 2, 5 to 8 filter rows (the stem):
 *                                          Winograd F(2,4) along the output rows on the band's
 *                                          transformed rows, blocks of 4 output channels
 *   conv2d_band_wino_filter                its transformed taps (any device class)
 * The flat kernels walk planes as flat runs of 16 pixels (see cl/conv2d_direct.cl); in
 * backward-filter each dy vector feeds every tap of the block (blocking along S). The band
 * kernels copy the plane into local memory with its padding as zeros first, so their loops need
 * no masks. Sums run in a fixed order inside one work-item: deterministic, no atomics. Every
 * work-group is one work-item (PoCL runs each as one task). cl/common.h (with the flat_* and
 * band_zero/band_copy_plane helpers) is prepended by the runtime. */

/* Forward: the work-item for (image n, block of KB output channels of one group) computes the
 * block's planes run by run: for each input channel of the group and tap (r, s), one masked
 * vector of x feeds KB FMAs (weights broadcast; channels past the group's end repeat its last
 * channel's weights and are not stored, so the hot loop has no per-channel branch). flip = 1
 * reads tap (R-1-r, S-1-s)'s weight (backward-data as a forward pass). RR, SS > 0: the kernel is
 * for RR x SS filters only and its tap loops are unrolled (0: any R, S; the two instances below
 * take any). Runs whose taps all stay inside the plane and inside
 * existing rows (all but the first and last few rows) take the fast path: per tap one masked
 * vector load (the column mask, computed once per filter column) and KB FMAs. Global:
 * (N * groups * blocks per group). */
#define CONV_FLAT_FORWARD(NAME, KB, NA, RR, SS, UNROLL)                                                   \
  __kernel void NAME(__global const float *restrict x, __global const float *restrict w,       \
                     __global const float *restrict bias, __global float *restrict y, int C,    \
                     int H, int W, int K, int R_, int S_, int pt, int pl, int dh, int dw,       \
                     int groups, int flip, int total, int has_bias, int act, float act_alpha,   \
                     float beta) {                                                              \
    const int id = get_global_id(0);                                                            \
    if (id >= total) return;                                                                    \
    const int R = RR ? RR : R_, S = SS ? SS : S_;                                               \
    const int Cg = C / groups, Kg = K / groups, kpg = (Kg + KB - 1) / KB;                       \
    const int n = id / (groups * kpg), gb = id % (groups * kpg);                                \
    const int g = gb / kpg, k0 = g * Kg + (gb % kpg) * KB;                                      \
    const int nk = min(KB, g * Kg + Kg - k0);                                                   \
    const int HW = H * W, RS = R * S;                                                           \
    __global const float *xg = x + ((long)n * C + (long)g * Cg) * HW;                           \
    __global float *yk = y + ((long)n * K + k0) * HW;                                           \
    __global const float *wb = w + (long)k0 * Cg * RS;                                          \
    float b[KB];                                                                                \
    for (int j = 0; j < KB; j++) b[j] = (has_bias && j < nk) ? bias[k0 + j] : 0.0f;            \
    /* offsets of the first and last tap; runs whose loads all stay in the plane */             \
    const int off_lo = -pt * W - pl, off_hi = ((R - 1) * dh - pt) * W + (S - 1) * dw - pl;      \
    int16 hv, wv;                                                                               \
    flat_coords(0, W, &hv, &wv);                                                                \
    for (int i0 = 0; i0 < HW; i0 += 16, flat_next(W, &hv, &wv)) {                               \
      const int full = i0 + 16 <= HW;                                                           \
      const int fast = full && i0 + off_lo >= 0 && i0 + 15 + off_hi < HW && hv.s0 - pt >= 0 &&  \
                       hv.sf + (R - 1) * dh - pt < H;                                           \
      /* NA independent sums per channel (FMA latency: one channel has a single chain) */       \
      float16 acc[KB][NA];                                                                      \
      _Pragma("unroll") for (int j = 0; j < KB; j++)                                            \
        _Pragma("unroll") for (int a = 0; a < NA; a++) acc[j][a] = (float16)(0.0f);                               \
      if (fast) {                                                                               \
        for (int c = 0; c < Cg; c++) {                                                          \
          __global const float *xc = xg + (long)c * HW + i0;                                    \
          __global const float *wc = wb + (long)c * RS;                                         \
          UNROLL for (int s = 0; s < S; s++) {                                                 \
            const int coff = s * dw - pl;                                                       \
            const int16 cm = (wv >= (int16)(-coff)) & (wv < (int16)(W - coff));                 \
            UNROLL for (int r = 0; r < R; r++) {                                               \
              const int wi = flip ? RS - 1 - (r * S + s) : r * S + s;                           \
              const float16 v =                                                                 \
                  select((float16)(0.0f), vload16(0, xc + ((r * dh - pt) * W + coff)), cm);     \
              _Pragma("unroll") for (int j = 0; j < KB; j++)                                    \
                acc[j][r % NA] = fma(v, (float16)(wc[(long)min(j, nk - 1) * Cg * RS + wi]), acc[j][r % NA]); \
            }                                                                                   \
          }                                                                                     \
        }                                                                                       \
      } else {                                                                                  \
        const int16 valid = full ? (int16)(-1) : FLAT_LANES < (int16)(HW - i0);                \
        for (int c = 0; c < Cg; c++) {                                                          \
          __global const float *xc = xg + (long)c * HW;                                         \
          __global const float *wc = wb + (long)c * RS;                                         \
          for (int s = 0; s < S; s++) {                                                         \
            const int coff = s * dw - pl;                                                       \
            const int16 cm = valid & (wv >= (int16)(-coff)) & (wv < (int16)(W - coff));         \
            for (int r = 0; r < R; r++) {                                                       \
              const int roff = r * dh - pt;                                                     \
              const int16 m = cm & (hv >= (int16)(-roff)) & (hv < (int16)(H - roff));           \
              const int wi = flip ? RS - 1 - (r * S + s) : r * S + s;                           \
              const float16 v = flat_tap(xc, i0 + roff * W + coff, HW, m);                     \
              for (int j = 0; j < KB; j++)                                                      \
                acc[j][0] = fma(v, (float16)(wc[(long)min(j, nk - 1) * Cg * RS + wi]), acc[j][0]); \
            }                                                                                   \
          }                                                                                     \
        }                                                                                       \
      }                                                                                         \
      const int cnt = min(16, HW - i0);                                                         \
      _Pragma("unroll") for (int j = 0; j < KB; j++) {                                          \
        float16 t = acc[j][0];                                                                  \
        _Pragma("unroll") for (int a = 1; a < NA; a++) t += acc[j][a];                                            \
        if (j < nk) flat_store(yk + (long)j * HW + i0, t, cnt, b[j], beta, act, act_alpha);    \
      }                                                                                         \
    }                                                                                           \
  }

CONV_FLAT_FORWARD(conv2d_flat_forward_k1_cpu, 1, 1, 0, 0, )
CONV_FLAT_FORWARD(conv2d_flat_forward_k8_cpu, 8, 1, 0, 0, )

/* Backward-filter: the work-item for (block of KB output channels of one group, input channel
 * cl of the group, filter row r, block of SB filter columns from s0) sums dy * x over images
 * and runs: per run, KB dy vectors and SB masked x vectors, KB*SB FMAs into vector sums that
 * are reduced to scalars in a fixed order at the end. Global: (groups * K-blocks * Cg * R *
 * S-blocks). */
#define CONV_FLAT_BWD_FILTER(NAME, KB, SB)                                                      \
  __kernel void NAME(__global const float *restrict x, __global const float *restrict dy,      \
                     __global float *restrict dw_out, int N, int C, int H, int W, int K, int R, \
                     int S, int pt, int pl, int dh, int dw, int groups, int total, float beta) { \
    const int id = get_global_id(0);                                                            \
    if (id >= total) return;                                                                    \
    const int Cg = C / groups, Kg = K / groups, kpg = (Kg + KB - 1) / KB;                       \
    const int nsb = (S + SB - 1) / SB;                                                          \
    const int sbi = id % nsb, r = (id / nsb) % R, cl = (id / (nsb * R)) % Cg;                   \
    const int gb = id / (nsb * R * Cg), g = gb / kpg, k0 = g * Kg + (gb % kpg) * KB;           \
    const int nk = min(KB, g * Kg + Kg - k0), s0 = sbi * SB, ns = min(SB, S - s0);             \
    const int c = g * Cg + cl, HW = H * W, RS = R * S;                                          \
    const int roff = r * dh - pt;                                                               \
    const int off_lo = roff * W + s0 * dw - pl, off_hi = roff * W + (s0 + ns - 1) * dw - pl;    \
    float16 acc[KB][SB];                                                                        \
    _Pragma("unroll") for (int j = 0; j < KB; j++)                                              \
      _Pragma("unroll") for (int t = 0; t < SB; t++) acc[j][t] = (float16)(0.0f);                                 \
    for (int n = 0; n < N; n++) {                                                               \
      __global const float *xc = x + ((long)n * C + c) * HW;                                    \
      __global const float *dyk = dy + ((long)n * K + k0) * HW;                                 \
      for (int i0 = 0; i0 < HW; i0 += 16) {                                                     \
        int16 hv, wv;                                                                           \
        flat_coords(i0, W, &hv, &wv);                                                           \
        const int full = i0 + 16 <= HW;                                                         \
        const int16 valid = full ? (int16)(-1) : FLAT_LANES < (int16)(HW - i0);                \
        const int16 rm = valid & (hv >= (int16)(-roff)) & (hv < (int16)(H - roff));             \
        if (!any(rm)) continue;                                                                 \
        const int inside = full && i0 + off_lo >= 0 && i0 + 15 + off_hi < HW;                   \
        float16 d[KB];                                                                          \
        _Pragma("unroll") for (int j = 0; j < KB; j++)                                          \
          d[j] = j >= nk ? (float16)(0.0f)                                                      \
                 : full  ? vload16(0, dyk + (long)j * HW + i0)                                  \
                         : flat_gather(dyk + (long)j * HW, i0, HW, valid);                      \
        __global const float *xr = xc + i0 + roff * W;                                          \
        if (inside && all(rm)) {                                                                \
          _Pragma("unroll") for (int t = 0; t < SB; t++) {                                      \
            if (t < ns) {                                                                       \
              const int coff = (s0 + t) * dw - pl;                                              \
              const int16 m = (wv >= (int16)(-coff)) & (wv < (int16)(W - coff));                \
              const float16 v = select((float16)(0.0f), vload16(0, xr + coff), m);             \
              _Pragma("unroll") for (int j = 0; j < KB; j++) acc[j][t] = fma(d[j], v, acc[j][t]); \
            }                                                                                   \
          }                                                                                     \
        } else {                                                                                \
          _Pragma("unroll") for (int t = 0; t < SB; t++) {                                      \
            if (t < ns) {                                                                       \
              const int coff = (s0 + t) * dw - pl;                                              \
              const int16 m = rm & (wv >= (int16)(-coff)) & (wv < (int16)(W - coff));           \
              const float16 v = flat_tap(xc, i0 + roff * W + coff, HW, m);                      \
              _Pragma("unroll") for (int j = 0; j < KB; j++) acc[j][t] = fma(d[j], v, acc[j][t]); \
            }                                                                                   \
          }                                                                                     \
        }                                                                                       \
      }                                                                                         \
    }                                                                                           \
    for (int j = 0; j < nk; j++)                                                                \
      for (int t = 0; t < ns; t++) {                                                            \
        const float16 a = acc[j][t];                                                            \
        const float8 a8 = a.lo + a.hi;                                                          \
        const float4 a4 = a8.lo + a8.hi;                                                        \
        const float2 a2 = a4.lo + a4.hi;                                                        \
        const float v = a2.x + a2.y;                                                            \
        __global float *o = dw_out + ((long)(k0 + j) * Cg + cl) * RS + r * S + s0 + t;          \
        *o = beta == 0.0f ? v : beta * *o + v;                                                  \
      }                                                                                         \
  }

CONV_FLAT_BWD_FILTER(conv2d_flat_bwd_filter_k4_cpu, 4, 5)

/* d[keep .. cnt) = act(beta*d + v + b), lanes below keep left as they are (cnt <= 16; beta == 0
 * never reads d except to keep lanes). */
inline void band_store(__global float *d, float16 v, int keep, int cnt, float b, float beta,
                       int act, float alpha) {
  if (cnt == 16 && (act == CLNN_ACT_ID_IDENTITY || act == CLNN_ACT_ID_RELU)) {
    const float16 old = (beta != 0.0f || keep > 0) ? vload16(0, d) : (float16)(0.0f);
    if (beta != 0.0f) v = (float16)(beta) * old + v;
    v += (float16)(b);
    if (act == CLNN_ACT_ID_RELU) v = fmax(v, (float16)(0.0f));
    if (keep > 0) v = select(old, v, FLAT_LANES >= (int16)(keep));
    store16(d, v);
    return;
  }
  float t[16];
  vstore16(v, 0, t);
  for (int l = keep; l < cnt; l++) {
    float u = t[l];
    if (beta != 0.0f) u = beta * d[l] + u;
    d[l] = clnn_act_apply(act, alpha, u + b);
  }
}

/* Depthwise forward (one input and one output channel per group) without row dilation, RR x SS
 * taps: the work-item for plane (n, g) copies x's plane into xl with its padding as zeros (as
 * the c1 backward-filter of cl/conv2d_direct.cl does) and computes the output in chunks of 16
 * columns by bands of RB rows: each of the RB + RR - 1 input rows of a band is loaded once per tap column and
 * feeds the RB output rows it meets, RB*RR*SS FMAs for SS*(RB + RR - 1) loads, no masks. Rows of
 * 16 or more columns end with a chunk at W - 16 whose lanes the previous chunk stored are kept;
 * narrower rows store their first W lanes. flip = 1 reverses the taps (backward-data as a
 * forward pass). Work-groups of one work-item, global N * groups; xl as for the backward-filter
 * (Hr + RR - 1 rows of Wp floats, Hr = H rounded up to RB). */
#define CONV_BAND_DW_FORWARD(NAME, RR, SS, RB)                                                  \
  __kernel void NAME(__global const float *restrict x, __global const float *restrict w,       \
                     __global const float *restrict bias, __global float *restrict y, int H,    \
                     int W, int pt, int pl, int dw, int groups, int flip, int total,            \
                     int has_bias, int act, float act_alpha, float beta, __local float *xl) {   \
    const int id = get_global_id(0);                                                            \
    if (id >= total) return;                                                                    \
    const int g = id % groups, HW = H * W, RS = RR * SS;                                        \
    const int Wd = (W + 15) / 16 * 16, Hr = (H + RB - 1) / RB * RB;                             \
    const int Wp = Wd + (SS - 1) * dw, Hp = Hr + RR - 1;                                        \
    float wp[RR * SS];                                                                          \
    _Pragma("unroll") for (int t = 0; t < RS; t++) wp[t] = w[(long)g * RS + (flip ? RS - 1 - t : t)]; \
    const float b = has_bias ? bias[g] : 0.0f;                                                  \
    band_zero(xl, Hp * Wp);                                                                     \
    band_copy_plane(x + (long)id * HW, H, W, xl + pt * Wp + pl, Wp);                            \
    __global float *yp = y + (long)id * HW;                                                     \
    const int relu = act == CLNN_ACT_ID_RELU, plain = beta == 0.0f && W >= 16 &&                \
                     (act == CLNN_ACT_ID_IDENTITY || relu);                                     \
    for (int h0 = 0; h0 < Hr; h0 += RB) {                                                       \
      for (int c = 0; c < W; c += 16) {                                                         \
        const int c0 = W >= 16 ? min(c, W - 16) : 0;                                            \
        float16 acc[RB * RR]; /* one sum per (output row, tap row): short FMA chains */         \
        _Pragma("unroll") for (int j = 0; j < RB * RR; j++) acc[j] = (float16)(0.0f);           \
        __local const float *xr = xl + h0 * Wp + c0;                                            \
        _Pragma("unroll") for (int u = 0; u < RB + RR - 1; u++)                                 \
          _Pragma("unroll") for (int s = 0; s < SS; s++) {                                      \
            const float16 v = vload16(0, xr + u * Wp + s * dw);                                 \
            _Pragma("unroll") for (int j = 0; j < RB; j++)                                      \
              if (u - j >= 0 && u - j < RR)                                                     \
                acc[j * RR + u - j] = fma(v, (float16)(wp[(u - j) * SS + s]), acc[j * RR + u - j]); \
          }                                                                                     \
        _Pragma("unroll") for (int j = 0; j < RB; j++) {                                        \
          _Pragma("unroll") for (int r = 1; r < RR; r++) acc[j * RR] += acc[j * RR + r];        \
        }                                                                                       \
        if (plain && h0 + RB <= H) { /* whole vectors, no beta, no act but ReLU */            \
          const int16 fresh = FLAT_LANES >= (int16)(c - c0); /* lanes the last chunk adds */   \
          _Pragma("unroll") for (int j = 0; j < RB; j++) {                                      \
            __global float *d = yp + (h0 + j) * W + c0;                                         \
            float16 o = acc[j * RR] + (float16)(b);                                             \
            if (relu) o = fmax(o, (float16)(0.0f));                                             \
            if (c != c0) o = select(vload16(0, d), o, fresh);                                   \
            store16(d, o);                                                                      \
          }                                                                                     \
        } else {                                                                                \
          for (int j = 0; j < RB && h0 + j < H; j++)                                            \
            band_store(yp + (h0 + j) * W + c0, acc[j * RR], c - c0, min(16, W - c0), b, beta,   \
                       act, act_alpha);                                                         \
        }                                                                                       \
      }                                                                                         \
    }                                                                                           \
  }

CONV_BAND_DW_FORWARD(conv2d_band_dw_forward_3x3_cpu, 3, 3, 8)

/* Row h of a channel plane (rows W wide) into its sw column phases in local memory (phase ph at
 * lr + ph*Wph, index i holding column i*sw + ph - pl, zero outside [0, W)); h outside [0, H): all
 * zeros. At stride 2 the columns whose 32-float source lies inside the row take two vector loads
 * and their even lanes. */
inline void band_split_row(__global const float *xc, int h, int H, int W, int sw, int pl,
                           int Wph, __local float *lr) {
  if (h < 0 || h >= H) {
    band_zero(lr, sw * Wph);
    return;
  }
  __global const float *xr = xc + (long)h * W;
  for (int ph = 0; ph < sw; ph++) {
    __local float *d = lr + ph * Wph;
    int i = 0;
    if (sw == 2) {
      for (; i < Wph; i++) { /* left edge, up to the first column >= 0 */
        const int col = i * 2 + ph - pl;
        if (col >= 0) break;
        d[i] = 0.0f;
      }
      for (; i + 16 <= Wph && i * 2 + ph - pl + 32 <= W; i += 16) {
        const int c0 = i * 2 + ph - pl;
        const float16 a = vload16(0, xr + c0), b = vload16(0, xr + c0 + 16);
        *(__local float16_unaligned *)(d + i) = (float16)(a.even, b.even);
      }
    }
    for (; i < Wph; i++) {
      const int col = i * sw + ph - pl;
      d[i] = (col >= 0 && col < W) ? xr[col] : 0.0f;
    }
  }
}

/* Forward for any stride and dilation with a few input channels per group (the 3-channel 7x7
 * stride-2 stem of ImageNet networks): the work-item for (image n, group g, band of PB output
 * rows from p0) first copies the band's input rows of the group's channels into local memory,
 * zero-padded and with each row split into its sw column phases (padded column u at phase u % sw,
 * index u / sw), so that the 16 outputs q0 .. q0+15 of tap (r, s) read the 16 consecutive floats
 * at phase (s*dw) % sw, index q0 + (s*dw) / sw: one unaligned vector load, no masks. Then for
 * each block of 16 output channels of the group, each output row of the band and run of 16
 * output columns, every tap's vector feeds 16 FMAs (weights broadcast from global; channels past
 * the group's end repeat its last channel's weights and are not stored; the block's weights are
 * copied first into local memory as wl [Cg*R*S][16], so each FMA's weight is a constant offset
 * from one address: a broadcast operand). Local layout of the band xl
 * [Cg][BR][sw][Wph] with BR = (PB-1)*sh + (R-1)*dh + 1 rows and Wph >= ceil(Q/16)*16 +
 * (S-1)*dw/sw. Global: N * groups * bands. */
__kernel void conv2d_band_forward_k16_cpu(__global const float *restrict x,
                                          __global const float *restrict w,
                                          __global const float *restrict bias,
                                          __global float *restrict y, int C, int H, int W, int K,
                                          int R, int S, int P, int Q, int sh, int sw, int pt,
                                          int pl, int dh, int dw, int groups, int PB, int BR,
                                          int Wph, int total, int has_bias, int act,
                                          float act_alpha, float beta, __local float *xl,
                                          __local float *wl) {
  const int id = get_global_id(0);
  if (id >= total) return;
  const int bands = (P + PB - 1) / PB, Cg = C / groups, Kg = K / groups;
  const int n = id / (groups * bands), gb = id % (groups * bands);
  const int g = gb / bands, p0 = (gb % bands) * PB, p1 = min(P, p0 + PB);
  const int CRS = Cg * R * S;
  __global const float *xg = x + ((long)n * C + (long)g * Cg) * H * W;
  for (int c = 0; c < Cg; c++)
    for (int row = 0; row < BR; row++)
      band_split_row(xg + (long)c * H * W, p0 * sh + row - pt, H, W, sw, pl, Wph,
                     xl + (c * BR + row) * sw * Wph);
  const int relu = act == CLNN_ACT_ID_RELU, plain = beta == 0.0f &&
                   (act == CLNN_ACT_ID_IDENTITY || relu);
  for (int kb = 0; kb < Kg; kb += 16) {
    const int k0 = g * Kg + kb, nk = min(16, Kg - kb);
    float b[16];
    for (int j = 0; j < 16; j++) b[j] = (has_bias && j < nk) ? bias[k0 + j] : 0.0f;
    for (int t = 0; t < CRS; t++)
      for (int j = 0; j < 16; j++) wl[t * 16 + j] = w[(long)(k0 + min(j, nk - 1)) * CRS + t];
    for (int p = p0; p < p1; p++) {
      const int vr = (p - p0) * sh;
      __global float *yp = y + ((long)n * K + k0) * P * Q + (long)p * Q;
      for (int q0 = 0; q0 < Q; q0 += 16) {
        float16 acc[16];
        _Pragma("unroll") for (int j = 0; j < 16; j++) acc[j] = (float16)(0.0f);
        for (int c = 0; c < Cg; c++)
          for (int r = 0; r < R; r++) {
            __local const float *lr = xl + (c * BR + vr + r * dh) * sw * Wph + q0;
            __local const float *wr = wl + (c * R + r) * S * 16;
            /* tap s reads phase (s*dw) % sw at index (s*dw) / sw, stepped without a division */
            for (int s = 0, ph = 0, idx = 0; s < S; s++) {
              const float16 v = vload16(0, lr + ph * Wph + idx);
              for (ph += dw; ph >= sw; ph -= sw) idx++;
              _Pragma("unroll") for (int j = 0; j < 16; j++)
                acc[j] = fma(v, (float16)(wr[s * 16 + j]), acc[j]);
            }
          }
        const int cnt = min(16, Q - q0);
        if (plain && cnt == 16) {
          _Pragma("unroll") for (int j = 0; j < 16; j++) {
            float16 o = acc[j] + (float16)(b[j]);
            if (relu) o = fmax(o, (float16)(0.0f));
            if (j < nk) store16(yp + (long)j * P * Q + q0, o);
          }
        } else {
          for (int j = 0; j < nk; j++)
            flat_store(yp + (long)j * P * Q + q0, acc[j], cnt, b[j], beta, act, act_alpha);
        }
      }
    }
  }
}

/* Forward for row stride 2 (row dilation 1, filters of up to 8 rows: the 7x7 stride-2 stem)
 * with Winograd F(2,4) along the output rows, on CPU devices. Output rows 2t and 2t+1 (tile row
 * t) of tap row r = 2a + rho read input rows 4t + 2a + rho and 4t + 2a + rho + 2 (padded rows),
 * so per row phase rho each output column is a 4-tap correlation over the 5 rows d_l = padded row
 * 4t + 2l + rho (l = 0..4), which F(2,4) (points 0, 1, -1, 2, infinity) computes with 5
 * multiplications for 2 outputs instead of 8: transformed rows T = B^T d, transformed taps U =
 * G g (conv2d_band_wino_filter), outputs A^T (sum over channels, phases and filter columns of
 * U * T). 10 multiplications per 2 outputs replace 2*R (R = 7: 0.71 of the direct FMAs, labelled
 * effective). The work-item for (image n, band of PT tile rows) copies the band's input rows
 * zero-padded and split into column phases as the band forward does (layout [C][BR][sw][Wps],
 * BR = 4*(PT-1) + 10), transforms them into tl [PT][C][2][5][sw][Wps], then for each tile row,
 * run of 16 output columns and block of 4 output channels (channels innermost: the run's
 * transformed rows stay in L1 for every block; conv_stem7x7 one thread 3.65 against 3.79 ms
 * with the blocks outside the runs) keeps 4 x 5 vector sums: per channel,
 * row phase and filter column s, 5 unaligned vector loads (column phase (s*dw) % sw, index
 * (s*dw) / sw, as the band forward) and 20 FMAs whose weights come from U's 20 consecutive
 * floats (broadcast operands). Sums run in a fixed order: deterministic. Global: N * bands. */
inline void band_wino_transform(__local const float *d, int ld, __local float *t, int tld, int n) {
  for (int i = 0; i < n; i += 16) {
    const float16 d0 = vload16(0, d + i), d1 = vload16(0, d + ld + i), d2 = vload16(0, d + 2 * ld + i);
    const float16 d3 = vload16(0, d + 3 * ld + i), d4 = vload16(0, d + 4 * ld + i);
    vstore16(2.0f * (d0 - d2) - d1 + d3, 0, t + i);
    vstore16(d3 - d2 - 2.0f * d1, 0, t + tld + i);
    vstore16(2.0f * d1 - 3.0f * d2 + d3, 0, t + 2 * tld + i);
    vstore16(d3 - d1, 0, t + 3 * tld + i);
    vstore16(2.0f * (d1 - d3) - d2 + d4, 0, t + 4 * tld + i);
  }
}

CLNN_OUTLINE void band_wino_forward(__global const float *x, __global const float *u,
                                    __global const float *bias, __global float *y, int C, int H,
                                    int W, int K, int S, int P, int Q, int sw, int pt, int pl,
                                    int dw, int PT, int Wps, int has_bias, int act,
                                    float act_alpha, float beta, __local float *xl,
                                    __local float *tl, int id) {
  const int bands = (P + 2 * PT - 1) / (2 * PT), n = id / bands, t0 = (id % bands) * PT;
  const int tiles = min(PT, (P + 1) / 2 - t0), BRm = 4 * (PT - 1) + 10, BR = 4 * (tiles - 1) + 10;
  const int rs = sw * Wps;  /* one band row: its sw column phases */
  __global const float *xn = x + (long)n * C * H * W;
  for (int c = 0; c < C; c++)
    for (int v = 0; v < BR; v++)
      band_split_row(xn + (long)c * H * W, 4 * t0 - pt + v, H, W, sw, pl, Wps, xl + (c * BRm + v) * rs);
  /* rows d_l of tile row t, phase rho: band rows 4t + 2l + rho, 2 rows apart */
  for (int t = 0; t < tiles; t++)
    for (int c = 0; c < C; c++)
      for (int rho = 0; rho < 2; rho++)
        band_wino_transform(xl + (c * BRm + 4 * t + rho) * rs, 2 * rs,
                            tl + ((t * C + c) * 2 + rho) * 5 * rs, rs, rs);
  const int relu = act == CLNN_ACT_ID_RELU, plain = beta == 0.0f && (act == CLNN_ACT_ID_IDENTITY || relu);
  const int U4 = C * 2 * S * 20; /* floats of U per block of 4 output channels */
  int so[16]; /* tap column s's offset in a phase-split row: phase (s*dw) % sw, index (s*dw) / sw */
  for (int s = 0, ph = 0, idx = 0; s < S; s++) {
    so[s] = ph * Wps + idx;
    for (ph += dw; ph >= sw; ph -= sw) idx++;
  }
  for (int t = 0; t < tiles; t++) {
    const int p = 2 * (t0 + t), two = p + 1 < P;
    for (int q0 = 0; q0 < Q; q0 += 16) {
      const int cnt = min(16, Q - q0);
      for (int k0 = 0; k0 < K; k0 += 4) {
        __global const float *ub = u + (long)(k0 / 4) * U4;
        const int nk = min(4, K - k0);
        float16 m[4][5];
        _Pragma("unroll") for (int j = 0; j < 4; j++)
          _Pragma("unroll") for (int l = 0; l < 5; l++) m[j][l] = (float16)(0.0f);
        for (int cr = 0; cr < 2 * C; cr++) { /* channel c = cr / 2, row phase rho = cr % 2 */
          __local const float *tr = tl + (t * 2 * C + cr) * 5 * rs + q0;
          __global const float *ur = ub + cr * S * 20;
          for (int s = 0; s < S; s++) {
            __local const float *ts = tr + so[s];
            float16 tv[5];
            _Pragma("unroll") for (int l = 0; l < 5; l++) tv[l] = vload16(0, ts + l * rs);
            _Pragma("unroll") for (int l = 0; l < 5; l++)
              _Pragma("unroll") for (int j = 0; j < 4; j++)
                m[j][l] = fma(tv[l], (float16)(ur[s * 20 + l * 4 + j]), m[j][l]);
          }
        }
        for (int j = 0; j < nk; j++) {
          const float b = has_bias ? bias[k0 + j] : 0.0f;
          const float16 o0 = m[j][0] + m[j][1] + m[j][2] + m[j][3];
          const float16 o1 = m[j][1] - m[j][2] + 2.0f * m[j][3] + m[j][4];
          __global float *yp = y + (((long)n * K + k0 + j) * P + p) * Q + q0;
          if (plain && cnt == 16) {
            float16 a0 = o0 + (float16)(b), a1 = o1 + (float16)(b);
            if (relu) a0 = fmax(a0, (float16)(0.0f)), a1 = fmax(a1, (float16)(0.0f));
            store16(yp, a0);
            if (two) store16(yp + Q, a1);
          } else {
            flat_store(yp, o0, cnt, b, beta, act, act_alpha);
            if (two) flat_store(yp + Q, o1, cnt, b, beta, act, act_alpha);
          }
        }
      }
    }
  }
}

__kernel void conv2d_band_wino_forward_cpu(__global const float *restrict x,
                                           __global const float *restrict u,
                                           __global const float *restrict bias,
                                           __global float *restrict y, int C, int H, int W, int K,
                                           int S, int P, int Q, int sw, int pt, int pl, int dw,
                                           int PT, int Wps, int total, int has_bias, int act,
                                           float act_alpha, float beta, __local float *xl,
                                           __local float *tl) {
  const int id = get_global_id(0);
  if (id < total)
    band_wino_forward(x, u, bias, y, C, H, W, K, S, P, Q, sw, pt, pl, dw, PT, Wps, has_bias, act,
                      act_alpha, beta, xl, tl, id);
}

/* The transformed taps of conv2d_band_wino_forward_cpu: u [ceil(K/4)][C][2][S][5][4], for
 * output channel k = 4*kb + j, input channel c, row phase rho and filter column s, U = G g with
 * g_a = w[k][c][2a + rho][s] (zero past the filter's R rows or K channels). Global: ceil(K/4) *
 * C * 2 * S, one (kb, c, rho, s) each. */
__kernel void conv2d_band_wino_filter(__global const float *restrict w, __global float *restrict u,
                                      int K, int C, int R, int S, int total) {
  const int id = get_global_id(0);
  if (id >= total) return;
  const int s = id % S, rho = (id / S) % 2, c = (id / (2 * S)) % C, kb = id / (2 * S * C);
  __global float *o = u + (long)id * 20;
  for (int j = 0; j < 4; j++) {
    const int k = 4 * kb + j;
    float g[4];
    for (int a = 0; a < 4; a++) {
      const int r = 2 * a + rho;
      g[a] = (k < K && r < R) ? w[(((long)k * C + c) * R + r) * S + s] : 0.0f;
    }
    o[j] = 0.5f * g[0];
    o[4 + j] = -0.5f * (g[0] + g[1] + g[2] + g[3]);
    o[8 + j] = (g[1] + g[3] - g[0] - g[2]) / 6.0f;
    o[12 + j] = (g[0] + 2.0f * g[1] + 4.0f * g[2] + 8.0f * g[3]) / 6.0f;
    o[16 + j] = g[3];
  }
}

/* Sum of the 16 lanes of v, in a fixed order. */
inline float band_hsum(float16 v) {
  float8 a = v.lo + v.hi;
  float4 b = a.lo + a.hi;
  float2 c = b.lo + b.hi;
  return c.x + c.y;
}

/* Backward-filter for any stride and dilation with a few input channels per group (the stem):
 * the work-item for (group g, input channel cl of the group, block of 16 output channels of the
 * group, half TH of the taps) copies each image's channel plane into local memory zero-padded
 * and split into column phases as the band forward does (layout [Hp][sw][Wph], Hp = (P-1)*sh +
 * (R-1)*dh + 1 rows), then for sub-blocks of 4 output channels and blocks of 4 of its taps
 * (taps t = r*S + s in order, so a block may span two filter rows: 13 blocks for 7x7, not 14)
 * sums dy * x over the image's output rows and runs of 16 output columns: per run 4 dy vectors
 * (lanes past Q zero) and 4 unaligned x vectors, 16 FMAs into vector sums, reduced to scalars in
 * a fixed order into a local array sl [16][R*S] that ends as dw = beta*dw + sl (beta 0 never
 * reads dw). Each tap's sum has one owner and a fixed order: deterministic. Global: groups * Cg *
 * blocks * TS (TS tap halves: 1 or 2). */
#define BAND_TB 5 /* taps per block */
__kernel void conv2d_band_bwd_filter_k16_cpu(__global const float *restrict x,
                                             __global const float *restrict dy,
                                             __global float *restrict dwt, int N, int C, int H,
                                             int W, int K, int R, int S, int P, int Q, int sh,
                                             int sw, int pt, int pl, int dh, int dw, int groups,
                                             int Hp, int Wph, int TS, int total, float beta,
                                             __local float *xl, __local float *sl) {
  const int id = get_global_id(0);
  if (id >= total) return;
  const int Cg = C / groups, Kg = K / groups, kbpg = (Kg + 15) / 16, RS = R * S;
  const int th = id % TS, gid = id / TS;
  const int g = gid / (Cg * kbpg), rem = gid % (Cg * kbpg);
  const int cl = rem / kbpg, k0 = g * Kg + (rem % kbpg) * 16, nk = min(16, g * Kg + Kg - k0);
  /* this work-item's taps: blocks of 4, the first half of the blocks or the rest */
  const int tblocks = (RS + BAND_TB - 1) / BAND_TB, tb0 = th * ((tblocks + 1) / 2);
  const int tb1 = TS == 1 ? tblocks : min(tblocks, tb0 + (tblocks + 1) / 2);
  for (int t = 0; t < 16 * RS; t++) sl[t] = 0.0f;
  for (int n = 0; n < N; n++) {
    __global const float *xc = x + ((long)n * C + (long)g * Cg + cl) * H * W;
    for (int v = 0; v < Hp; v++) band_split_row(xc, v - pt, H, W, sw, pl, Wph, xl + v * sw * Wph);
    for (int j4 = 0; j4 < nk; j4 += 4) {
      __global const float *dyk[4];
      for (int jj = 0; jj < 4; jj++) dyk[jj] = dy + ((long)n * K + k0 + min(j4 + jj, nk - 1)) * P * Q;
      for (int tb = tb0; tb < tb1; tb++) {
        int xo[BAND_TB];
        for (int tt = 0; tt < BAND_TB; tt++) {
          const int t = min(tb * BAND_TB + tt, RS - 1), r = t / S, off = (t % S) * dw;
          xo[tt] = r * dh * sw * Wph + (off % sw) * Wph + off / sw;
        }
        float16 acc[4][BAND_TB];
        _Pragma("unroll") for (int jj = 0; jj < 4; jj++)
          _Pragma("unroll") for (int tt = 0; tt < BAND_TB; tt++) acc[jj][tt] = (float16)(0.0f);
        for (int p = 0; p < P; p++) {
          __local const float *xr = xl + p * sh * sw * Wph;
          const long po = (long)p * Q;
          for (int q0 = 0; q0 < Q; q0 += 16) {
            float16 d[4];
            if (q0 + 16 <= Q) {
              _Pragma("unroll") for (int jj = 0; jj < 4; jj++) d[jj] = vload16(0, dyk[jj] + po + q0);
            } else {
              _Pragma("unroll") for (int jj = 0; jj < 4; jj++) {
                float t[16];
                for (int l = 0; l < 16; l++) t[l] = q0 + l < Q ? dyk[jj][po + q0 + l] : 0.0f;
                d[jj] = vload16(0, t);
              }
            }
            _Pragma("unroll") for (int tt = 0; tt < BAND_TB; tt++) {
              const float16 xv = vload16(0, xr + xo[tt] + q0);
              _Pragma("unroll") for (int jj = 0; jj < 4; jj++) acc[jj][tt] = fma(d[jj], xv, acc[jj][tt]);
            }
          }
        }
        for (int jj = 0; jj < 4 && j4 + jj < nk; jj++)
          for (int tt = 0; tt < BAND_TB && tb * BAND_TB + tt < RS; tt++)
            sl[(j4 + jj) * RS + tb * BAND_TB + tt] += band_hsum(acc[jj][tt]);
      }
    }
  }
  for (int j = 0; j < nk; j++)
    for (int t = tb0 * BAND_TB; t < min(RS, tb1 * BAND_TB); t++) {
      __global float *o = dwt + ((long)(k0 + j) * Cg + cl) * RS + t;
      *o = beta == 0.0f ? sl[j * RS + t] : beta * *o + sl[j * RS + t];
    }
}
