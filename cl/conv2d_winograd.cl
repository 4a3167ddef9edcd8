/* cl/conv2d_winograd.cl — Winograd convolution F(4x4, 3x3) for 3x3 filters at stride 1
 * (src/ops/conv2d_winograd.c; CLNN_CONV_ALGO_WINOGRAD): 6x6 input tiles, 36 positions. Between
 * the transforms the host runs one batched GEMM per position:
 *   forward   V[pos][ci][t] = (B^T d B)   input tile t of channel ci     (conv2d_wino_input)
 *             U[pos][co][ci] = (G g G^T)  filter of (co, ci), or flipped (conv2d_wino_filter)
 *             M[pos] = U[pos] x V[pos]     (Co x Ci) x (Ci x T)
 *             y = act(beta*y + A^T M A + bias)                            (conv2d_wino_output)
 *   backward-data: the forward over dy with flipped filters, K and C swapped, padding 2 - pad.
 *   backward-filter: D[pos][k][t] = (A dy A^T) (conv2d_wino_dy); dU[pos] = sum over chunks of
 *             D[pos] x V[pos]^T (K x C); dw = beta*dw + G^T dU G  (conv2d_wino_filter_grad)
 * Tiles are numbered over the batch (n, tile row, tile column) row-major; a chunk is the tiles
 * t0 .. t0+Tc-1 and its buffers are indexed by t - t0. Input taps outside the image, and dy
 * outside the output, read as zero (partial edge tiles). The one-tile-per-work-item kernels run
 * on every device class; CPU-class contexts run the *_cpu block kernels at the end of this file
 * for the tile transforms (explicit float16 / float4 vectors, 4 tiles per work-item). Every
 * kernel checks its ids. cl/common.h is prepended by the runtime. */

/* The 1-D transforms as straight-line code on scalars or vectors: O(i) = sum over k of T[i][k] *
 * D(k). B^T (inputs), G (filters), A^T (outputs), A (dy, backward-filter) and G^T (filter
 * gradient), from the points 0, 1, -1, 2, -2 (and infinity). */
#define WINO_BT4(O, D)                                                                            \
  O(0) = 4.0f * D(0) - 5.0f * D(2) + D(4);                                                        \
  O(1) = D(3) + D(4) - 4.0f * (D(1) + D(2));                                                      \
  O(2) = D(4) - D(3) + 4.0f * (D(1) - D(2));                                                      \
  O(3) = D(4) - D(2) + 2.0f * (D(3) - D(1));                                                      \
  O(4) = D(4) - D(2) + 2.0f * (D(1) - D(3));                                                      \
  O(5) = 4.0f * D(1) - 5.0f * D(3) + D(5);
#define WINO_G4(O, D)                                                                             \
  O(0) = 0.25f * D(0);                                                                            \
  O(1) = (-1.0f / 6) * (D(0) + D(1) + D(2));                                                      \
  O(2) = (-1.0f / 6) * (D(0) - D(1) + D(2));                                                      \
  O(3) = (1.0f / 24) * D(0) + (1.0f / 12) * D(1) + (1.0f / 6) * D(2);                             \
  O(4) = (1.0f / 24) * D(0) - (1.0f / 12) * D(1) + (1.0f / 6) * D(2);                             \
  O(5) = D(2);
#define WINO_AT4(O, D)                                                                            \
  O(0) = D(0) + D(1) + D(2) + D(3) + D(4);                                                        \
  O(1) = D(1) - D(2) + 2.0f * (D(3) - D(4));                                                      \
  O(2) = D(1) + D(2) + 4.0f * (D(3) + D(4));                                                      \
  O(3) = D(1) - D(2) + 8.0f * (D(3) - D(4)) + D(5);
#define WINO_A4(O, D)                                                                             \
  O(0) = D(0);                                                                                    \
  O(1) = D(0) + D(1) + D(2) + D(3);                                                               \
  O(2) = D(0) - D(1) + D(2) - D(3);                                                               \
  O(3) = D(0) + 2.0f * D(1) + 4.0f * D(2) + 8.0f * D(3);                                          \
  O(4) = D(0) - 2.0f * D(1) + 4.0f * D(2) - 8.0f * D(3);                                          \
  O(5) = D(3);
#define WINO_GT4(O, D)                                                                            \
  O(0) = 0.25f * D(0) - (1.0f / 6) * (D(1) + D(2)) + (1.0f / 24) * (D(3) + D(4));                 \
  O(1) = (1.0f / 6) * (D(2) - D(1)) + (1.0f / 12) * (D(3) - D(4));                                \
  O(2) = (1.0f / 6) * (D(3) + D(4) - D(1) - D(2)) + D(5);

/* V[voff + (pos*C + c)*Tc + (t - t0)] = (B^T d B)[pos] for the input patch of tile t, channel c: rows
 * ty*m - pt .., columns tx*m - pl .. of in [N, C, H, W] (zero outside). Global: (Tc, C). */
#define WINO_INPUT_BODY(m, BT)                                                                    \
  const int a = m + 2;                                                                            \
  const int tl = get_global_id(0), c = get_global_id(1);                                          \
  if (tl >= Tc || c >= C) return;                                                                 \
  const int t = t0 + tl, tpi = th * tw, n = t / tpi, r = t - n * tpi, ty = r / tw, tx = r - ty * tw; \
  const int h0 = ty * m - pt, w0 = tx * m - pl;                                                   \
  __global const float *src = in + ((long)n * C + c) * H * W;                                     \
  float d[m + 2][m + 2], u[m + 2][m + 2], v[m + 2][m + 2];                                        \
  for (int i = 0; i < a; i++)                                                                     \
    for (int j = 0; j < a; j++) {                                                                 \
      const int h = h0 + i, w = w0 + j, hc = clamp(h, 0, H - 1), wc = clamp(w, 0, W - 1);        \
      const float x = src[hc * W + wc];                                                           \
      d[i][j] = (h == hc && w == wc) ? x : 0.0f;                                                  \
    }                                                                                             \
  for (int j = 0; j < a; j++) { /* u = B^T d, column j */                                        \
    BT(WINO_UO, WINO_DD)                                                        \
  }                                                                                               \
  for (int i = 0; i < a; i++) { /* v = u B, row i */                                             \
    BT(WINO_VO, WINO_UD)                                                                          \
  }                                                                                               \
  __global float *dst = V + voff + (long)c * Tc + tl;                                             \
  const long pstride = (long)C * Tc;                                                              \
  for (int i = 0; i < a; i++)                                                                     \
    for (int j = 0; j < a; j++) dst[(i * a + j) * pstride] = v[i][j];
#define WINO_UO(k) u[k][j]
#define WINO_DD(k) d[k][j]
#define WINO_VO(k) v[i][k]
#define WINO_UD(k) u[i][k]

/* U[(pos*Co + o)*Ci + i] = (G g G^T)[pos] with g the 3x3 filter w[o, i] (w [Co, Ci, 3, 3]), with
 * its taps reversed where flip is set (the backward-data filter, which the GEMM then reads
 * transposed). Each work-item takes 16 consecutive i as the lanes of float16 values, so it reads
 * 144 consecutive floats and stores rows of 16 (one per position) rather than 36 scattered
 * floats per filter. Global: (ceil(Ci/16), Co). */
#define WINO_FILTER_BODY(m, GG)                                                                   \
  const int a = m + 2;                                                                            \
  const int i0 = get_global_id(0) * 16, o = get_global_id(1);                                     \
  if (i0 >= Ci || o >= Co) return;                                                                \
  const int ni = min(16, Ci - i0);                                                                \
  float tmp[9 * 16]; /* tmp[tap*16 + lane] */                                                    \
  for (int l = 0; l < 16; l++) {                                                                  \
    __global const float *src = w + ((long)o * Ci + i0 + l) * 9;                                  \
    for (int rs = 0; rs < 9; rs++) tmp[(flip ? 8 - rs : rs) * 16 + l] = l < ni ? src[rs] : 0.0f;  \
  }                                                                                               \
  float16 d[3][3], u[m + 2][3], v[m + 2][m + 2];                                                  \
  for (int i = 0; i < 3; i++)                                                                     \
    for (int j = 0; j < 3; j++) d[i][j] = vload16(0, tmp + (i * 3 + j) * 16);                     \
  for (int j = 0; j < 3; j++) { /* u = G g */                                                    \
    GG(WINO_UO, WINO_DD)                                                                          \
  }                                                                                               \
  for (int i = 0; i < a; i++) { /* v = (G g) G^T */                                              \
    GG(WINO_VO, WINO_UD)                                                                          \
  }                                                                                               \
  __global float *dst = U + (long)o * Ci + i0;                                                    \
  const long pstride = (long)Co * Ci;                                                             \
  for (int i = 0; i < a; i++)                                                                     \
    for (int j = 0; j < a; j++) {                                                                 \
      if (ni == 16) {                                                                             \
        vstore16(v[i][j], 0, dst + (i * a + j) * pstride);                                        \
      } else {                                                                                    \
        float t16[16];                                                                            \
        vstore16(v[i][j], 0, t16);                                                                \
        for (int l = 0; l < ni; l++) dst[(i * a + j) * pstride + l] = t16[l];                     \
      }                                                                                           \
    }

/* out[n, o, ty*m + i, tx*m + j] = act(beta*out + (A^T M A)[i][j] + bias[o]) for the output pixels
 * of tile t inside [Ho, Wo]; M[(pos*Co + o)*Tc + (t - t0)]. beta 0: out is not read. Global:
 * (Tc, Co). */
#define WINO_OUTPUT_BODY(m, AT)                                                                   \
  const int a = m + 2;                                                                            \
  const int tl = get_global_id(0), o = get_global_id(1);                                          \
  if (tl >= Tc || o >= Co) return;                                                                \
  const int t = t0 + tl, tpi = th * tw, n = t / tpi, r = t - n * tpi, ty = r / tw, tx = r - ty * tw; \
  const long pstride = (long)Co * Tc;                                                             \
  __global const float *src = M + (long)o * Tc + tl;                                              \
  float d[m + 2][m + 2], u[m][m + 2], v[m][m];                                                    \
  for (int i = 0; i < a; i++)                                                                     \
    for (int j = 0; j < a; j++) d[i][j] = src[(i * a + j) * pstride];                             \
  for (int j = 0; j < a; j++) { /* u = A^T d */                                                  \
    AT(WINO_UO, WINO_DD)                                                                          \
  }                                                                                               \
  for (int i = 0; i < m; i++) { /* v = u A */                                                    \
    AT(WINO_VO, WINO_UD)                                                                          \
  }                                                                                               \
  const float b = has_bias ? bias[o] : 0.0f;                                                      \
  __global float *dst = out + ((long)n * Co + o) * Ho * Wo;                                       \
  const int h0 = ty * m, w0 = tx * m;                                                             \
  for (int i = 0; i < m; i++)                                                                     \
    for (int j = 0; j < m; j++) {                                                                 \
      const int h = h0 + i, w = w0 + j;                                                           \
      if (h < Ho && w < Wo) {                                                                     \
        __global float *y = dst + h * Wo + w;                                                     \
        const float val = (beta != 0.0f ? beta * *y : 0.0f) + v[i][j] + b;                        \
        *y = act == CLNN_ACT_ID_IDENTITY ? val : act == CLNN_ACT_ID_RELU ? fmax(val, 0.0f)        \
                                                                         : clnn_act_apply(act, act_alpha, val); \
      }                                                                                           \
    }

/* D[(pos*K + k)*Tc + (t - t0)] = (A e A^T)[pos], e the m x m block of dy [N, K, P, Q] at tile t
 * (zero past P, Q). Global: (Tc, K). */
#define WINO_DY_BODY(m, AA)                                                                       \
  const int a = m + 2;                                                                            \
  const int tl = get_global_id(0), k = get_global_id(1);                                          \
  if (tl >= Tc || k >= K) return;                                                                 \
  const int t = t0 + tl, tpi = th * tw, n = t / tpi, r = t - n * tpi, ty = r / tw, tx = r - ty * tw; \
  __global const float *src = dy + ((long)n * K + k) * P * Q;                                     \
  const int h0 = ty * m, w0 = tx * m;                                                             \
  float d[m][m], u[m + 2][m], v[m + 2][m + 2];                                                    \
  for (int i = 0; i < m; i++)                                                                     \
    for (int j = 0; j < m; j++) {                                                                 \
      const int h = h0 + i, w = w0 + j, hc = min(h, P - 1), wc = min(w, Q - 1);                   \
      const float x = src[hc * Q + wc];                                                           \
      d[i][j] = (h == hc && w == wc) ? x : 0.0f;                                                  \
    }                                                                                             \
  for (int j = 0; j < m; j++) { /* u = A e */                                                    \
    AA(WINO_UO, WINO_DD)                                                                          \
  }                                                                                               \
  for (int i = 0; i < a; i++) { /* v = (A e) A^T */                                              \
    AA(WINO_VO, WINO_UD)                                                                          \
  }                                                                                               \
  __global float *dst = D + (long)k * Tc + tl;                                                    \
  const long pstride = (long)K * Tc;                                                              \
  for (int i = 0; i < a; i++)                                                                     \
    for (int j = 0; j < a; j++) dst[(i * a + j) * pstride] = v[i][j];

/* dw[k, c] = beta*dw[k, c] + G^T dU[., k, c] G (3x3), dU[(pos*K + k)*C + c]; beta 0: dw is not
 * read. Each work-item takes 16 consecutive c as float16 lanes (rows of 16 loads per position).
 * Global: (ceil(C/16), K). */
#define WINO_FILTER_GRAD_BODY(m, GT)                                                              \
  const int a = m + 2;                                                                            \
  const int c0 = get_global_id(0) * 16, k = get_global_id(1);                                     \
  if (c0 >= C || k >= K) return;                                                                  \
  const int nc = min(16, C - c0);                                                                 \
  const long pstride = (long)K * C;                                                               \
  __global const float *src = dU + (long)k * C + c0;                                              \
  float16 d[m + 2][m + 2], u[3][m + 2], v[3][3];                                                  \
  float tmp[9 * 16];                                                                              \
  for (int i = 0; i < a; i++)                                                                     \
    for (int j = 0; j < a; j++) {                                                                 \
      if (nc == 16) {                                                                             \
        d[i][j] = vload16(0, src + (i * a + j) * pstride);                                        \
      } else {                                                                                    \
        for (int l = 0; l < 16; l++) tmp[l] = l < nc ? src[(i * a + j) * pstride + l] : 0.0f;    \
        d[i][j] = vload16(0, tmp);                                                                \
      }                                                                                           \
    }                                                                                             \
  for (int j = 0; j < a; j++) { /* u = G^T d */                                                  \
    GT(WINO_UO, WINO_DD)                                                                          \
  }                                                                                               \
  for (int i = 0; i < 3; i++) { /* v = u G */                                                    \
    GT(WINO_VO, WINO_UD)                                                                          \
  }                                                                                               \
  for (int i = 0; i < 3; i++)                                                                     \
    for (int j = 0; j < 3; j++) vstore16(v[i][j], 0, tmp + (i * 3 + j) * 16);                     \
  __global float *dst = dw + ((long)k * C + c0) * 9;                                              \
  for (int l = 0; l < nc; l++)                                                                    \
    for (int rs = 0; rs < 9; rs++)                                                                \
      dst[l * 9 + rs] = (beta != 0.0f ? beta * dst[l * 9 + rs] : 0.0f) + tmp[rs * 16 + l];

/* The kernels for every device class (the GPU class runs only these). */
__kernel void conv2d_wino_input(__global const float *restrict in, __global float *restrict V, long voff, int C,
                                int H, int W, int pt, int pl, int th, int tw, int t0, int Tc) {
  WINO_INPUT_BODY(4, WINO_BT4)
}
__kernel void conv2d_wino_filter(__global const float *restrict w, __global float *restrict U, int Co, int Ci,
                                 int flip) {
  WINO_FILTER_BODY(4, WINO_G4)
}
__kernel void conv2d_wino_output(__global const float *restrict M, __global float *restrict out,
                                 __global const float *restrict bias, int Co, int Ho, int Wo, int th, int tw,
                                 int t0, int Tc, int has_bias, int act, float act_alpha, float beta) {
  WINO_OUTPUT_BODY(4, WINO_AT4)
}
__kernel void conv2d_wino_dy(__global const float *restrict dy, __global float *restrict D, int K, int P, int Q,
                             int th, int tw, int t0, int Tc) {
  WINO_DY_BODY(4, WINO_A4)
}
__kernel void conv2d_wino_filter_grad(__global const float *restrict dU, __global float *restrict dw, int K, int C,
                                      float beta) {
  WINO_FILTER_GRAD_BODY(4, WINO_GT4)
}

/* ---- CPU-shaped transforms: each work-item owns a block of 4 tiles along a tile
 * row (16 columns) of one channel and works on float16 rows (vertical pass) and float4 vectors
 * over its 4 tiles (horizontal pass). Chunks are whole tile rows: rows r0 .. r0+rows-1 of the
 * batch's N*th tile rows, tile t - t0 = (row - r0)*tw + column. Global: (rows * ceil(tw/4),
 * channels). ---- */

/* The block's tile row R (over the batch), its image n and row ty, first column 4*b, tile count
 * nt (4, fewer at the right edge) and chunk-local index tl0 of its first tile. */
#define WINO_CPU_BLOCK                                                                            \
  const int tb = (tw + 3) / 4, rb = get_global_id(0), rl = rb / tb, b = rb - rl * tb;             \
  const int R = r0 + rl, n = R / th, ty = R - n * th, nt = min(4, tw - 4 * b);                    \
  const long tl0 = (long)rl * tw + 4 * b;

/* Stores v (4 tiles) at p, or its first nt lanes. */
inline void wino_store4(float4 v, int nt, __global float *p) {
  if (nt == 4) {
    vstore4(v, 0, p);
  } else {
    p[0] = v.s0;
    if (nt > 1) p[1] = v.s1;
    if (nt > 2) p[2] = v.s2;
  }
}
inline float4 wino_load4(int nt, __global const float *p) {
  if (nt == 4) return vload4(0, p);
  return (float4)(p[0], nt > 1 ? p[1] : 0.0f, nt > 2 ? p[2] : 0.0f, 0.0f);
}

__kernel void conv2d_wino_input_cpu(__global const float *restrict in, __global float *restrict V, long voff,
                                       int C, int H, int W, int pt, int pl, int th, int tw, int r0,
                                       int rows, int Tc) {
  const int c = get_global_id(1);
  if ((int)get_global_id(0) >= rows * ((tw + 3) / 4) || c >= C) return;
  WINO_CPU_BLOCK
  const int h0 = ty * 4 - pt, w0 = 16 * b - pl;
  __global const float *src = in + ((long)n * C + c) * H * W;
  float16 x[6], u[6];
  float2 xt[6], ut[6];
  for (int i = 0; i < 6; i++) {
    const int h = h0 + i;
    if (h < 0 || h >= H) {
      x[i] = (float16)(0.0f);
      xt[i] = (float2)(0.0f);
    } else if (w0 >= 0 && w0 + 18 <= W) {
      x[i] = vload16(0, src + h * W + w0);
      xt[i] = vload2(0, src + h * W + w0 + 16);
    } else {
      float tmp[18]; /* clamped loads, zero outside the row (no branches) */
      for (int j = 0; j < 18; j++) {
        const int wj = w0 + j, wc = clamp(wj, 0, W - 1);
        const float v = src[h * W + wc];
        tmp[j] = wj == wc ? v : 0.0f;
      }
      x[i] = vload16(0, tmp);
      xt[i] = vload2(0, tmp + 16);
    }
  }
#define WINO_O_(k) u[k]
#define WINO_D_(k) x[k]
  WINO_BT4(WINO_O_, WINO_D_) /* u = B^T x on whole rows */
#undef WINO_O_
#undef WINO_D_
#define WINO_O_(k) ut[k]
#define WINO_D_(k) xt[k]
  WINO_BT4(WINO_O_, WINO_D_)
#undef WINO_O_
#undef WINO_D_
  const long pstride = (long)C * Tc;
  __global float *dst = V + voff + (long)c * Tc + tl0;
  for (int i = 0; i < 6; i++) {
    /* column k of the 4 tiles: u[i][4T + k] */
    float4 e[6], v[6];
    e[0] = u[i].s048c;
    e[1] = u[i].s159d;
    e[2] = u[i].s26ae;
    e[3] = u[i].s37bf;
    e[4] = (float4)(u[i].s48c, ut[i].s0);
    e[5] = (float4)(u[i].s59d, ut[i].s1);
#define WINO_O_(k) v[k]
#define WINO_D_(k) e[k]
    WINO_BT4(WINO_O_, WINO_D_)
#undef WINO_O_
#undef WINO_D_
    for (int j = 0; j < 6; j++) wino_store4(v[j], nt, dst + (i * 6 + j) * pstride);
  }
}

__kernel void conv2d_wino_output_cpu(__global const float *restrict M, __global float *restrict out,
                                        __global const float *restrict bias, int Co, int Ho, int Wo, int th,
                                        int tw, int r0, int rows, int Tc, int has_bias, int act,
                                        float act_alpha, float beta) {
  const int o = get_global_id(1);
  if ((int)get_global_id(0) >= rows * ((tw + 3) / 4) || o >= Co) return;
  WINO_CPU_BLOCK
  const long pstride = (long)Co * Tc;
  __global const float *src = M + (long)o * Tc + tl0;
  float4 d[6][6], u[4][6], v[4][4];
  for (int i = 0; i < 6; i++)
    for (int j = 0; j < 6; j++) d[i][j] = wino_load4(nt, src + (i * 6 + j) * pstride);
  for (int j = 0; j < 6; j++) {
#define WINO_O_(k) u[k][j]
#define WINO_D_(k) d[k][j]
    WINO_AT4(WINO_O_, WINO_D_)
#undef WINO_O_
#undef WINO_D_
  }
  for (int i = 0; i < 4; i++) {
#define WINO_O_(k) v[i][k]
#define WINO_D_(k) u[i][k]
    WINO_AT4(WINO_O_, WINO_D_)
#undef WINO_O_
#undef WINO_D_
  }
  const float bv = has_bias ? bias[o] : 0.0f;
  const uint16 mask = (uint16)(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  __global float *dst = out + ((long)n * Co + o) * Ho * Wo;
  const int w0 = 16 * b;
  for (int i = 0; i < 4; i++) {
    const int h = ty * 4 + i;
    if (h >= Ho) break;
    /* lane 4T + j: tile T's column j */
    float16 r = shuffle((float16)(v[i][0], v[i][1], v[i][2], v[i][3]), mask) + (float16)(bv);
    __global float *y = dst + (long)h * Wo + w0;
    const int nw = min(16, Wo - w0); /* columns inside the plane */
    float tmp[16];
    if (beta != 0.0f) {
      if (nw == 16) {
        r += beta * vload16(0, y);
      } else {
        for (int j = 0; j < 16; j++) tmp[j] = y[min(j, nw - 1)];
        r += beta * vload16(0, tmp);
      }
    }
    if (act == CLNN_ACT_ID_RELU) {
      r = fmax(r, (float16)(0.0f));
    } else if (act != CLNN_ACT_ID_IDENTITY) {
      vstore16(r, 0, tmp);
      for (int j = 0; j < 16; j++) tmp[j] = clnn_act_apply(act, act_alpha, tmp[j]);
      r = vload16(0, tmp);
    }
    if (nw == 16) {
      vstore16(r, 0, y);
    } else {
      vstore16(r, 0, tmp);
      for (int j = 0; j < nw; j++) y[j] = tmp[j];
    }
  }
}

__kernel void conv2d_wino_dy_cpu(__global const float *restrict dy, __global float *restrict D, int K, int P,
                                    int Q, int th, int tw, int r0, int rows, int Tc) {
  const int k = get_global_id(1);
  if ((int)get_global_id(0) >= rows * ((tw + 3) / 4) || k >= K) return;
  WINO_CPU_BLOCK
  __global const float *src = dy + ((long)n * K + k) * P * Q;
  const int w0 = 16 * b;
  float16 e[4], u[6];
  for (int i = 0; i < 4; i++) {
    const int h = ty * 4 + i;
    if (h >= P) {
      e[i] = (float16)(0.0f);
    } else if (w0 + 16 <= Q) {
      e[i] = vload16(0, src + (long)h * Q + w0);
    } else {
      float tmp[16];
      for (int j = 0; j < 16; j++) {
        const int wj = w0 + j, wc = min(wj, Q - 1);
        const float v = src[(long)h * Q + wc];
        tmp[j] = wj == wc ? v : 0.0f;
      }
      e[i] = vload16(0, tmp);
    }
  }
#define WINO_O_(k) u[k]
#define WINO_D_(k) e[k]
  WINO_A4(WINO_O_, WINO_D_) /* u = A e on whole rows */
#undef WINO_O_
#undef WINO_D_
  const long pstride = (long)K * Tc;
  __global float *dst = D + (long)k * Tc + tl0;
  for (int p = 0; p < 6; p++) {
    float4 f[4], v[6];
    f[0] = u[p].s048c;
    f[1] = u[p].s159d;
    f[2] = u[p].s26ae;
    f[3] = u[p].s37bf;
#define WINO_O_(k) v[k]
#define WINO_D_(k) f[k]
    WINO_A4(WINO_O_, WINO_D_)
#undef WINO_O_
#undef WINO_D_
    for (int q = 0; q < 6; q++) wino_store4(v[q], nt, dst + (p * 6 + q) * pstride);
  }
}
