/* cl/gemm_cpu.cl — clnn's GEMM shaped for CPU devices (PoCL and other CPU OpenCL drivers).
 *
 * Row-major C = alpha * op(A) * op(B) + beta * C, strided batched. The shape is the one CPU BLAS
 * libraries use, not the GPU one: no local memory, no barriers, one work-item per work-group, and
 * each work-item keeps a GEMM_MR x (GEMM_NV * GEMM_VW) block of the product in vector registers
 * (float16 = one AVX-512 register; 6 x 2 float16 = 12 accumulators) while it streams over K.
 *
 * Every product here is written as P = X * Y (P is rows x cols, inner dimension K):
 * - Y is the "vector" operand: each k contributes one row of NR = GEMM_NV*GEMM_VW columns, loaded
 *   as vectors. Y is read either in place (it must then be k-major: op(B) = B, or op(A)^T = A
 *   when A is transposed) or from a packed copy made by gemm_pack: column panels of NR columns,
 *   k-major and zero-padded ([batch][cols/NR][K][NR]). Packing costs one pass over Y and makes the
 *   inner loop read one contiguous run per k whatever the layout and leading dimension (power-of-
 *   two leading dimensions otherwise alias in the L1 cache).
 * - X is the "broadcast" operand, read in place: GEMM_MR scalars per k, each broadcast to a vector,
 *   with its rows contiguous in K (x_kc 1: X(r,k) = X[r*ldx + k]) or K as the slow index (x_kc 0:
 *   X(r,k) = X[k*ldx + r]).
 * - Either P = C (c_t 0, "cn": lanes run along C's rows, stored as vectors) or P = C^T (c_t 1,
 *   "ct": X = op(B)^T, Y = op(A)^T, stored element by element). The host picks the orientation
 *   that packs the smaller operand or none (src/gemm/gemm_cpu.c).
 * - Kernel gemm_w uses GEMM_NV vectors per row; gemm_n one vector and GEMM_MR_N rows (for
 *   narrow products such as a batch of 16 rows in the transposed orientation).
 *
 * The reduction may run in segments of kseg (conv2d's filter gradient sums over several images
 * without gathering them): segment sg of X starts sg*x_ks floats after the first, of Y sg*y_ks
 * (packed panels simply run on); kseg = K is one segment. The k order, and so every sum, is the
 * same as over the gathered operands.
 *
 * Edges: X rows past `rows` are clamped (a valid row is read and its result discarded); packed
 * panels are zero-padded; an in-place Y whose last panel is partial is read shifted left so that
 * it ends at the last column (columns already written by the previous panel are not stored
 * again). Stores are guarded. beta == 0 never reads C, so NaN/Inf garbage in C is overwritten, as
 * BLAS specifies. Sums are plain fp32 FMAs in k order, independent of scheduling. */

#ifndef GEMM_MR
#define GEMM_MR 6 /* rows of the product per register block (wide kernels) */
#endif
#ifndef GEMM_NV
#define GEMM_NV 2 /* vectors per row in the wide kernels: NR = GEMM_NV * GEMM_VW columns */
#endif
#ifndef GEMM_MR_N
#define GEMM_MR_N 12 /* rows per register block in the narrow (one-vector) kernels */
#endif
#ifndef GEMM_VW
#define GEMM_VW 16 /* vector width in floats: 16 (AVX-512), 8 (AVX2) or 4 (SSE/NEON) */
#endif
#ifndef GEMM_RT
#define GEMM_RT 1 /* register blocks (of GEMM_MR rows) per work-item, down the rows */
#endif
#ifndef GEMM_KU
#define GEMM_KU 2 /* unroll factor of the K loop */
#endif
#ifndef GEMM_ORDER
#define GEMM_ORDER 0 /* 0: dimension 0 of the grid runs down the rows (consecutive work-groups share
                        a panel of Y); 1: across the panels (they share rows of X) */
#endif

#if GEMM_VW == 16
#define GEMM_VF float16
#define GEMM_VLOAD vload16
#define GEMM_VSTORE vstore16
#elif GEMM_VW == 8
#define GEMM_VF float8
#define GEMM_VLOAD vload8
#define GEMM_VSTORE vstore8
#elif GEMM_VW == 4
#define GEMM_VF float4
#define GEMM_VLOAD vload4
#define GEMM_VSTORE vstore4
#else
#error "GEMM_VW must be 4, 8 or 16"
#endif

/* Y [K x cols] -> P[batch][ceil(cols/nr)][K][nr], zero-padded past cols. Y(k, c) is
 * S[s_off + sg*s_ks + kk*lds + c] (trans 0) or S[s_off + sg*s_ks + c*lds + kk] (trans 1), where
 * k lies in segment sg = k / kseg at kk = k % kseg (kseg = K: one segment). nr is a multiple of
 * GEMM_VW. Global: trans 0: (ceil(cols/nr), ceil(K/16), batch), each work-item packing 16 k of
 * one panel, consecutive work-items reading on along the same rows of S; trans 1:
 * (ceil(K/GEMM_PACK_K), ceil(cols/nr), batch), each work-item packing GEMM_PACK_K consecutive k
 * (16 at a time), so that consecutive work-items read on along the same columns of S (runs of
 * GEMM_PACK_K floats per column). */
#define GEMM_PACK_K 64

/* Transposes 16 rows of 16 floats in registers: four rounds that swap the off-diagonal b x b
 * blocks of every 2b x 2b block (b = 8, 4, 2, 1), 64 two-source shuffles in all. */
#define GEMM_T16_ROUND(b, LO, HI)                                                                \
  _Pragma("unroll") for (int i = 0; i < 16; i++)                                                 \
    if ((i & (b)) == 0) {                                                                        \
      const float16 top = t[i], bottom = t[i + (b)];                                             \
      t[i] = shuffle2(top, bottom, LO);                                                          \
      t[i + (b)] = shuffle2(top, bottom, HI);                                                    \
    }
static inline void gemm_transpose16(float16 *t) {
  /* lane l of the new top row: top[l], or bottom[l - b] where l & b; of the new bottom row:
   * top[l + b], or bottom[l] where l & b (indices 16.. name the second source) */
  GEMM_T16_ROUND(8, ((uint16)(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23)),
                 ((uint16)(8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31)))
  GEMM_T16_ROUND(4, ((uint16)(0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27)),
                 ((uint16)(4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31)))
  GEMM_T16_ROUND(2, ((uint16)(0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29)),
                 ((uint16)(2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31)))
  GEMM_T16_ROUND(1, ((uint16)(0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30)),
                 ((uint16)(1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31)))
}
__kernel void gemm_pack(int K, int cols, int nr, int trans, __global const float *S, long s_off,
                        int lds, long s_bs, int kseg, long s_ks, __global float *P, long p_bs) {
  const int kq = get_global_id(trans ? 0 : 1), pb = get_global_id(trans ? 1 : 0), bat = get_global_id(2);
  const int panels = (cols + nr - 1) / nr, blocks = trans ? GEMM_PACK_K / 16 : 1;
  if (pb >= panels) return;
  for (int kb = kq * blocks; kb < (kq + 1) * blocks && kb * 16 < K; kb++) {
    const __global float *src = S + s_off + bat * s_bs;
    __global float *dst = P + bat * p_bs + (long)pb * K * nr;
    const int c0 = pb * nr, k0 = kb * 16, k1 = min(K, k0 + 16);
    const int full = c0 + nr <= cols;
    /* the segment of k0 and k0's index inside it; a block that crosses into the next segment
     * takes the element-wise path */
    const int sg = k0 / kseg, kk0 = k0 - sg * kseg;
    const __global float *seg = src + sg * s_ks;
    const int one_seg = kk0 + (k1 - k0) <= kseg;
    if (!trans && one_seg) {
      for (int k = k0; k < k1; k++) {
        const __global float *row = seg + (long)(kk0 + k - k0) * lds + c0;
        __global float *out = dst + (long)k * nr;
        if (full) {
          for (int v = 0; v < nr / GEMM_VW; v++) GEMM_VSTORE(GEMM_VLOAD(v, row), v, out);
        } else {
          for (int c = 0; c < nr; c++) out[c] = c0 + c < cols ? row[c] : 0.0f;
        }
      }
    } else if (trans && one_seg && k1 - k0 == 16 && nr % 16 == 0) {
      /* 16 columns at a time: their 16 consecutive k (contiguous in S) as 16 float16 rows,
       * transposed in registers, stored as 16 rows of the panel */
      for (int cg = 0; cg < nr; cg += 16) {
        float16 t[16];
        _Pragma("unroll") for (int i = 0; i < 16; i++)
          t[i] = c0 + cg + i < cols ? vload16(0, seg + (long)(c0 + cg + i) * lds + kk0) : (float16)(0.0f);
        gemm_transpose16(t);
        _Pragma("unroll") for (int i = 0; i < 16; i++) vstore16(t[i], 0, dst + (long)(k0 + i) * nr + cg);
      }
#if GEMM_VW % 16 != 0
    } else if (trans && one_seg && k1 - k0 == 16) {
      /* 16 consecutive k of column c are contiguous: load them as one float16, scatter down.
       * (Panels narrower than 16 columns or not a multiple of 16 only: with 16-float vectors nr
       * is always a multiple of 16 and the transpose above takes every whole block, so this
       * path is left out of the build, which saves PoCL about 0.08 s of code generation.) */
      for (int c = 0; c < nr; c++) {
        float16 col = (float16)(0.0f);
        if (c0 + c < cols) col = vload16(0, seg + (long)(c0 + c) * lds + kk0);
        __global float *out = dst + (long)k0 * nr + c;
        out[0 * nr] = col.s0; out[1 * nr] = col.s1; out[2 * nr] = col.s2; out[3 * nr] = col.s3;
        out[4 * nr] = col.s4; out[5 * nr] = col.s5; out[6 * nr] = col.s6; out[7 * nr] = col.s7;
        out[8 * nr] = col.s8; out[9 * nr] = col.s9; out[10 * nr] = col.sa; out[11 * nr] = col.sb;
        out[12 * nr] = col.sc; out[13 * nr] = col.sd; out[14 * nr] = col.se; out[15 * nr] = col.sf;
      }
#endif
    } else {
      for (int k = k0; k < k1; k++) {
        const int ks = k / kseg, kk = k - ks * kseg;
        const __global float *base = src + ks * s_ks;
        for (int c = 0; c < nr; c++) {
          const long at = trans ? (long)(c0 + c) * lds + kk : (long)kk * lds + c0 + c;
          dst[(long)k * nr + c] = c0 + c < cols ? base[at] : 0.0f;
        }
      }
    }
  }
}

#define GEMM_STR_(x) #x
#define GEMM_UNROLL(n) _Pragma(GEMM_STR_(unroll n))

/* One k step of the register block: NV vector loads of Y's row, MR broadcasts of X, MR*NV FMAs.
 * XAT(r, k) reads X(r, k); XNEXT moves X's pointer on by one k where that is how it is read. */
#define GEMM_STEP(MR, NV, XAT, XNEXT, k)                                                         \
  {                                                                                              \
    GEMM_VF yv[NV];                                                                              \
    _Pragma("unroll") for (int v = 0; v < (NV); v++) yv[v] = GEMM_VLOAD(v, y);                   \
    _Pragma("unroll") for (int r = 0; r < (MR); r++) {                                           \
      const GEMM_VF a = (GEMM_VF)(XAT(r, k));                                                    \
      _Pragma("unroll") for (int v = 0; v < (NV); v++) acc[r][v] = fma(a, yv[v], acc[r][v]);     \
    }                                                                                            \
    y += y_rs;                                                                                   \
    XNEXT                                                                                        \
  }

/* The K loop, unrolled GEMM_KU times by hand (an unroll pragma with a count makes PoCL's
 * compiler warn on the build log). */
#define GEMM_KLOOP_BODY(MR, NV, XAT, XNEXT)                                                      \
  int k = 0;                                                                                     \
  for (; k + GEMM_KU <= KN; k += GEMM_KU) {                                                       \
    _Pragma("unroll") for (int u = 0; u < GEMM_KU; u++) GEMM_STEP(MR, NV, XAT, XNEXT, k + u)     \
  }                                                                                              \
  for (; k < KN; k++) GEMM_STEP(MR, NV, XAT, XNEXT, k)

/* X(r, k) = X[r*ldx + k] (x_kc 1: rows contiguous in K) or X[k*ldx + r] (x_kc 0: K the slow
 * index), rows past the end clamped to the last. A whole block of rows with K as the slow index
 * reads X at constant offsets from one pointer (the loads fold into the broadcasts); every other
 * case reads each row at its own offset from one pointer that moves on by one k per step. (One
 * kernel for both layouts: a kernel per layout cost PoCL another 0.5-0.6 s of code generation at
 * first use, and a training step used both.) */
#define GEMM_XS_AT(r, k) x[xo[r]]
#define GEMM_XR_FULL_AT(r, k) x[r]
#define GEMM_KLOOP_X(MR, NV)                                                                     \
  if (!x_kc && r0 + (MR) <= rows) {                                                              \
    const __global float *x = xs + r0;                                                           \
    GEMM_KLOOP_BODY(MR, NV, GEMM_XR_FULL_AT, x += ldx;)                                          \
  } else {                                                                                       \
    const __global float *x = xs;                                                                \
    const int x_rs = x_kc ? ldx : 1, x_step = x_kc ? 1 : ldx;                                    \
    int xo[MR];                                                                                  \
    _Pragma("unroll") for (int r = 0; r < (MR); r++) xo[r] = min(r0 + r, rows - 1) * x_rs;       \
    GEMM_KLOOP_BODY(MR, NV, GEMM_XS_AT, x += x_step;)                                            \
  }

/* The element-wise store loops (partial panels, and every store of the C^T orientation): left as
 * plain scalar loops, since LLVM's vectoriser turns a strided store into gathers, scatters and
 * runtime checks that cost about 0.1-0.3 s of PoCL's code generation per kernel and save nothing
 * measurable next to the K loop. */
#define GEMM_SCALAR_LOOP _Pragma("clang loop vectorize(disable) unroll(disable)")

/* One kernel per width (the orientation, c_t, and X's layout, x_kc, are arguments: each kernel
 * PoCL compiles costs 0.5 s or more at its first launch, and a training step uses both
 * orientations). The body is a macro so that both widths are fully unrolled by the compiler
 * with constant trip counts. */
#define GEMM_KERNEL(NAME, MR, NV, KLOOP)                                                            \
  __kernel void NAME(int rows, int cols, int K, float alpha, float beta,                         \
                     __global const float *X, long x_off, int ldx, long x_bs,                    \
                     __global const float *Y, long y_off, int y_rs, long y_ps, long y_bs,        \
                     int shift_edge, int x_kc, int c_t, int kseg, long x_ks, long y_ks,          \
                     __global float *C,                                                          \
                     long c_off, int ldc, long c_bs) {                                           \
    const int NR = (NV)*GEMM_VW;                                                                 \
    const int rg = get_global_id(GEMM_ORDER), pb = get_global_id(1 - GEMM_ORDER);                \
    const int bat = get_global_id(2);                                                            \
    const int c0 = pb * NR;                                                                      \
    if (c0 >= cols) return;                                                                      \
    /* first column this panel loads: shifted left for a partial in-place panel */               \
    const int cs = (shift_edge && c0 + NR > cols) ? cols - NR : c0;                              \
    const __global float *yp = Y + y_off + bat * y_bs + (shift_edge ? (long)cs : pb * y_ps);     \
    const __global float *xb = X + x_off + bat * x_bs;                                           \
    __global float *cb = C + c_off + bat * c_bs;                                                 \
    const int full = cs == c0 && c0 + NR <= cols;                                                \
    for (int t = 0; t < GEMM_RT; t++) {                                                          \
      const int r0 = (rg * GEMM_RT + t) * (MR);                                                  \
      if (r0 >= rows) break;                                                                     \
      GEMM_VF acc[MR][NV];                                                                       \
      _Pragma("unroll") for (int r = 0; r < (MR); r++)                                           \
        _Pragma("unroll") for (int v = 0; v < (NV); v++) acc[r][v] = (GEMM_VF)(0.0f);            \
      /* K in segments of kseg: segment sg of X starts x_ks floats after segment 0, of Y y_ks */ \
      for (int s0 = 0, sg = 0; s0 < K; s0 += kseg, sg++) {                                       \
        const int KN = min(kseg, K - s0);                                                        \
        const __global float *xs = xb + sg * x_ks;                                               \
        const __global float *y = yp + sg * y_ks;                                                \
        KLOOP(MR, NV)                                                                            \
      }                                                                                          \
      _Pragma("unroll") for (int r = 0; r < (MR); r++) {                                         \
        if (r0 + r < rows) {                                                                     \
          if (!c_t) {                                                                              \
            __global float *crow = cb + (long)(r0 + r) * ldc + cs;                               \
            if (full) {                                                                          \
              _Pragma("unroll") for (int v = 0; v < (NV); v++) {                                 \
                GEMM_VF o = (GEMM_VF)(alpha) * acc[r][v];                                        \
                if (beta != 0.0f) o = fma((GEMM_VF)(beta), GEMM_VLOAD(v, crow), o);              \
                GEMM_VSTORE(o, v, crow);                                                         \
              }                                                                                  \
            } else {                                                                             \
              float tmp[(NV)*GEMM_VW];                                                           \
              _Pragma("unroll") for (int v = 0; v < (NV); v++) GEMM_VSTORE(acc[r][v], v, tmp);   \
              GEMM_SCALAR_LOOP for (int l = 0; l < NR; l++) {                                                     \
                const int c = cs + l;                                                            \
                if (c >= c0 && c < cols) {                                                       \
                  float o = alpha * tmp[l];                                                      \
                  if (beta != 0.0f) o = fma(beta, crow[l], o);                                   \
                  crow[l] = o;                                                                   \
                }                                                                                \
              }                                                                                  \
            }                                                                                    \
          } else {                                                                               \
            /* P = C^T: product row r is C's column r0+r, lane l is C's row cs+l */              \
            float tmp[(NV)*GEMM_VW];                                                             \
            _Pragma("unroll") for (int v = 0; v < (NV); v++) GEMM_VSTORE(acc[r][v], v, tmp);     \
            __global float *ccol = cb + (long)cs * ldc + (r0 + r);                               \
            if (full) {                                                                          \
              if (beta != 0.0f) {                                                                \
                GEMM_SCALAR_LOOP for (int l = 0; l < NR; l++)                                                     \
                  ccol[(long)l * ldc] = fma(beta, ccol[(long)l * ldc], alpha * tmp[l]);          \
              } else {                                                                           \
                GEMM_SCALAR_LOOP for (int l = 0; l < NR; l++) ccol[(long)l * ldc] = alpha * tmp[l];               \
              }                                                                                  \
            } else {                                                                             \
              GEMM_SCALAR_LOOP for (int l = 0; l < NR; l++) {                                                     \
                const int c = cs + l;                                                            \
                if (c >= c0 && c < cols) {                                                       \
                  float o = alpha * tmp[l];                                                      \
                  if (beta != 0.0f) o = fma(beta, ccol[(long)l * ldc], o);                       \
                  ccol[(long)l * ldc] = o;                                                       \
                }                                                                                \
              }                                                                                  \
            }                                                                                    \
          }                                                                                      \
        }                                                                                        \
      }                                                                                          \
    }                                                                                            \
  }

GEMM_KERNEL(gemm_w, GEMM_MR, GEMM_NV, GEMM_KLOOP_X)
GEMM_KERNEL(gemm_n, GEMM_MR_N, 1, GEMM_KLOOP_X)
