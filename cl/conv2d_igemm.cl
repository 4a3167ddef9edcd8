/* cl/conv2d_igemm.cl — implicit-GEMM forward convolution (NCHW, fp32) for GPU-shaped devices,
 * used by src/ops/conv2d_igemm.c for CLNN_CONV_ALGO_IMPLICIT_GEMM:
 *   conv2d_igemm_forward   y = act(beta*y + conv(x, w) + bias), no column buffer
 *
 * Per group, the convolution is the product Y [Kg x N*P*Q] = W [Kg x Cg*R*S] * X' [Cg*R*S x
 * N*P*Q], where X' is im2col(x). Here X' is never stored: each work-group computes a TM x TN tile
 * of Y (TM = 4 * local size 1 output channels, TN = 4 * local size 0 output pixels) and walks
 * the reduction in chunks of IG_TK: it loads the weight tile and the image-patch tile (gathered
 * from x with stride, padding and dilation; zero outside the image) into local memory, then
 * every work-item accumulates a 4 x 4 register block. Work-item (lx, ly) owns channels
 * ly + i*WY and pixels lx + j*WX (i, j < 4), so neighbouring work-items store neighbouring
 * pixels. Bias, beta and the activation are applied in registers before the one store.
 *
 * The local size is the host's choice (16x16, or 8x8 / 4x4 where the kernel's work-group limit
 * is smaller); local size 1 must be a multiple of 4 and at most IG_MAX_WY, local size 0 at most
 * IG_MAX_WX. Local memory: IG_TK * (4*IG_MAX_WY + 1 + 4*IG_MAX_WX) floats = 8.3 KiB.
 * Sums over the reduction run in a fixed order: results are deterministic. Global: (ceil(NPQ /
 * TN) * WX, ceil(Kg / TM) * WY, G). cl/common.h is prepended by the runtime. */

#define IG_TK 16     /* reduction chunk (rows of the tiles in local memory) */
#define IG_MAX_WX 16 /* largest local size along pixels */
#define IG_MAX_WY 16 /* largest local size along output channels */
#define IG_TM_MAX (4 * IG_MAX_WY)
#define IG_TN_MAX (4 * IG_MAX_WX)

__kernel void conv2d_igemm_forward(__global const float *restrict x,
                                   __global const float *restrict w,
                                   __global const float *restrict bias,
                                   __global float *restrict y, int C, int H, int W, int K, int R,
                                   int S, int P, int Q, int sh, int sw, int pt, int pl, int dh,
                                   int dw, int G, int NPQ, int has_bias, int act, float act_alpha,
                                   float beta) {
  /* ws: weights, [IG_TK][TM] (+1 column of padding so the transposing store spreads over the
   * banks); xs: image patches, [IG_TK][TN]. */
  __local float ws[IG_TK * (IG_TM_MAX + 1)];
  __local float xs[IG_TK * IG_TN_MAX];
  const int WX = (int)get_local_size(0), WY = (int)get_local_size(1);
  const int lx = (int)get_local_id(0), ly = (int)get_local_id(1);
  const int TN = 4 * WX, TM = 4 * WY, WSTRIDE = TM + 1;
  const int tid = ly * WX + lx, nthreads = WX * WY;
  const int gi = (int)get_group_id(2);
  const int Kg = K / G, Cg = C / G, RS = R * S, CRS = Cg * RS, PQ = P * Q;
  const int k0 = (int)get_group_id(1) * TM; /* first output channel of the tile, in the group */
  const int j0 = (int)get_group_id(0) * TN; /* first output pixel (over N*P*Q) of the tile */
  __global const float *wg = w + (long)gi * Kg * CRS;

  /* The patch column this work-item loads is fixed for the whole reduction (nthreads is a
   * multiple of TN): decompose it once. */
  const int jl = tid % TN, kl0 = tid / TN, kl_step = nthreads / TN;
  const int jcol = j0 + jl;
  int h0 = 0, w0 = 0;
  __global const float *xn = x;
  const int jvalid = jcol < NPQ;
  if (jvalid) {
    const int n = jcol / PQ, pq = jcol - n * PQ, p = pq / Q, q = pq - p * Q;
    h0 = p * sh - pt;
    w0 = q * sw - pl;
    xn = x + ((long)n * C + (long)gi * Cg) * H * W;
  }

  float acc[4][4];
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) acc[i][j] = 0.0f;

  for (int c0 = 0; c0 < CRS; c0 += IG_TK) {
    /* weight tile: ws[kk][mm] = w[k0 + mm, c0 + kk], reading rows of w along the reduction */
    for (int e = tid; e < IG_TK * TM; e += nthreads) {
      const int kk = e % IG_TK, mm = e / IG_TK;
      const int k = k0 + mm, c = c0 + kk;
      ws[kk * WSTRIDE + mm] = (k < Kg && c < CRS) ? wg[(long)k * CRS + c] : 0.0f;
    }
    /* patch tile: xs[kk][jl] = x'[c0 + kk, jcol] (zero in the padding and past the ends) */
    for (int kk = kl0; kk < IG_TK; kk += kl_step) {
      const int c = c0 + kk;
      float v = 0.0f;
      if (jvalid && c < CRS) {
        const int ci = c / RS, rs = c - ci * RS, r = rs / S, s = rs - r * S;
        const int h = h0 + r * dh, ww = w0 + s * dw;
        if (h >= 0 && h < H && ww >= 0 && ww < W) v = xn[((long)ci * H + h) * W + ww];
      }
      xs[kk * TN + jl] = v;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int kk = 0; kk < IG_TK; kk++) {
      float a[4], b[4];
      for (int i = 0; i < 4; i++) a[i] = ws[kk * WSTRIDE + ly + i * WY];
      for (int j = 0; j < 4; j++) b[j] = xs[kk * TN + lx + j * WX];
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) acc[i][j] = fma(a[i], b[j], acc[i][j]);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }

  for (int j = 0; j < 4; j++) {
    const int col = j0 + lx + j * WX;
    if (col >= NPQ) continue;
    const int n = col / PQ, pq = col - n * PQ;
    for (int i = 0; i < 4; i++) {
      const int kl = k0 + ly + i * WY;
      if (kl >= Kg) continue;
      const int k = gi * Kg + kl;
      __global float *yo = y + ((long)n * K + k) * PQ + pq;
      float v = acc[i][j];
      if (beta != 0.0f) v = beta * *yo + v;
      *yo = clnn_act_apply(act, act_alpha, v + (has_bias ? bias[k] : 0.0f));
    }
  }
}
