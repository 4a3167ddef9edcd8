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
 * BLAS specifies. Sums are plain fp32 FMAs in k order, independent of scheduling.
 *
 * Code size: PoCL generates machine code for a kernel at its first launch, and for three entry
 * points (the kernel and two work-group functions), each with the kernel's body inlined. The
 * bodies here are therefore functions kept out of line (CLNN_OUTLINE: one copy, called from the
 * three entry points), the K loop exists once per layout of X, and the scalar edge code is loops
 * rather than one copy per row. That took the first launches of gemm_w, gemm_n and gemm_pack from about
 * 1.9 s of PoCL code generation to about 0.45 s, at the same or better run time. */

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
#elif GEMM_VW == 8
#define GEMM_VF float8
#define GEMM_VLOAD vload8
#elif GEMM_VW == 4
#define GEMM_VF float4
#define GEMM_VLOAD vload4
#else
#error "GEMM_VW must be 4, 8 or 16"
#endif

/* Unaligned vector stores. PoCL's vstore16 becomes three stores (16, 16 and 32 bytes); a store
 * through a pointer to a vector type with 4-byte alignment is one instruction. Clang (PoCL's
 * compiler) takes the alignment attribute on a vector typedef; other compilers get vstoreN. */
#if defined(__clang__)
typedef GEMM_VF gemm_vf_u __attribute__((aligned(4)));
typedef float16 gemm_f16_u __attribute__((aligned(4)));
#define GEMM_VSTORE(val, off, p) (*(__global gemm_vf_u *)((p) + (long)(off) * GEMM_VW) = (val))
#define GEMM_VSTORE16(val, p) (*(__global gemm_f16_u *)(p) = (val))
#define GEMM_SHUFFLE16(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#if GEMM_VW == 16
#define GEMM_VSTORE vstore16
#elif GEMM_VW == 8
#define GEMM_VSTORE vstore8
#else
#define GEMM_VSTORE vstore4
#endif
#define GEMM_VSTORE16(val, p) vstore16(val, 0, p)
#define GEMM_SHUFFLE16(a, b, ...) shuffle2(a, b, (uint16)(__VA_ARGS__))
#endif

/* Plain scalar loops for the element-wise edge code: LLVM's vectoriser turns strided accesses
 * into gathers, scatters and runtime checks that cost code generation time and save nothing
 * measurable next to the K loop. */
#define GEMM_SCALAR_LOOP _Pragma("clang loop vectorize(disable) unroll(disable)")

/* Y [K x cols] -> P[batch][ceil(cols/nr)][K][nr], zero-padded past cols. Y(k, c) is
 * S[s_off + sg*s_ks + kk*lds + c] (trans 0) or S[s_off + sg*s_ks + c*lds + kk] (trans 1), where
 * k lies in segment sg = k / kseg at kk = k % kseg (kseg = K: one segment). nr is a multiple of
 * GEMM_VW. Each work-item packs GEMM_PACK_K consecutive k of one panel, 16 at a time. Global:
 * trans 0: (ceil(cols/nr), ceil(K/GEMM_PACK_K), batch), consecutive work-items reading on along
 * the same rows of S; trans 1: (ceil(K/GEMM_PACK_K), ceil(cols/nr), batch), consecutive
 * work-items reading on along the same columns of S (runs of GEMM_PACK_K floats per column). */
#define GEMM_PACK_K 64

/* Transposes 16 rows of 16 floats in registers: four rounds that swap the off-diagonal b x b
 * blocks of every 2b x 2b block (b = 8, 4, 2, 1), 64 two-source shuffles in all. Lane l of the
 * new top row: top[l], or bottom[l - b] where l & b; of the new bottom row: top[l + b], or
 * bottom[l] where l & b (indices 16.. name the second source). */
#define GEMM_T16_ROUND(b, LO, HI)                                                                \
  _Pragma("unroll") for (int i = 0; i < 16; i++)                                                 \
    if ((i & (b)) == 0) {                                                                        \
      const float16 top = t[i], bottom = t[i + (b)];                                             \
      t[i] = GEMM_SHUFFLE16(top, bottom, LO);                                                    \
      t[i + (b)] = GEMM_SHUFFLE16(top, bottom, HI);                                              \
    }
#define GEMM_T16_LO8 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23
#define GEMM_T16_HI8 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31
#define GEMM_T16_LO4 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27
#define GEMM_T16_HI4 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31
#define GEMM_T16_LO2 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29
#define GEMM_T16_HI2 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31
#define GEMM_T16_LO1 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30
#define GEMM_T16_HI1 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31
static inline void gemm_transpose16(float16 *t) {
  GEMM_T16_ROUND(8, GEMM_T16_LO8, GEMM_T16_HI8)
  GEMM_T16_ROUND(4, GEMM_T16_LO4, GEMM_T16_HI4)
  GEMM_T16_ROUND(2, GEMM_T16_LO2, GEMM_T16_HI2)
  GEMM_T16_ROUND(1, GEMM_T16_LO1, GEMM_T16_HI1)
}

/* The packing of one work-item (kq: its GEMM_PACK_K-block of k, pb: its panel, bat: its matrix),
 * kept out of line (see the top of the file). Whole blocks of 16 k inside one segment take a
 * vector path (a copy of whole rows, or 16 x 16 transposes); the rest, an element-wise loop. */
CLNN_OUTLINE static void gemm_pack_block(int kq, int pb, int bat, int K, int cols, int nr,
                                                      int trans, __global const float *S, long s_off,
                                                      int lds, long s_bs, int kseg, long s_ks,
                                                      __global float *P, long p_bs) {
  if (pb >= (cols + nr - 1) / nr) return;
  const __global float *src = S + s_off + bat * s_bs;
  __global float *dst = P + bat * p_bs + (long)pb * K * nr;
  const int c0 = pb * nr, full = c0 + nr <= cols;
  for (int kb = kq * (GEMM_PACK_K / 16); kb < (kq + 1) * (GEMM_PACK_K / 16) && kb * 16 < K; kb++) {
    const int k0 = kb * 16, k1 = min(K, k0 + 16);
    /* the segment of k0 and k0's index inside it; a block that crosses into the next segment
     * takes the element-wise path */
    const int sg = k0 / kseg, kk0 = k0 - sg * kseg;
    const __global float *seg = src + sg * s_ks;
    const int one_seg = kk0 + (k1 - k0) <= kseg;
    if (!trans && one_seg && full) {
      for (int k = k0; k < k1; k++) {
        const __global float *row = seg + (long)(kk0 + k - k0) * lds + c0;
        __global float *out = dst + (long)k * nr;
        for (int v = 0; v < nr / GEMM_VW; v++) GEMM_VSTORE(GEMM_VLOAD(v, row), v, out);
      }
    } else if (trans && one_seg && k1 - k0 == 16 && nr % 16 == 0) {
      /* 16 columns at a time: their 16 consecutive k (contiguous in S) as 16 float16 rows,
       * transposed in registers, stored as 16 rows of the panel */
      GEMM_SCALAR_LOOP for (int cg = 0; cg < nr; cg += 16) {
        float16 t[16];
        _Pragma("unroll") for (int i = 0; i < 16; i++)
          t[i] = c0 + cg + i < cols ? vload16(0, seg + (long)(c0 + cg + i) * lds + kk0) : (float16)(0.0f);
        gemm_transpose16(t);
        _Pragma("unroll") for (int i = 0; i < 16; i++) GEMM_VSTORE16(t[i], dst + (long)(k0 + i) * nr + cg);
      }
#if GEMM_VW % 16 != 0
    } else if (trans && one_seg && k1 - k0 == 16) {
      /* 16 consecutive k of column c are contiguous: load them as one float16, scatter down.
       * (Panels narrower than 16 columns or not a multiple of 16 only: with 16-float vectors nr
       * is always a multiple of 16 and the transpose above takes every whole block, so this
       * path is left out of the build.) */
      GEMM_SCALAR_LOOP for (int c = 0; c < nr; c++) {
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
      /* partial panels, blocks that cross a segment boundary, the last partial block */
      const long c_step = trans ? lds : 1;
      GEMM_SCALAR_LOOP for (int k = k0; k < k1; k++) {
        const int ks = k / kseg, kk = k - ks * kseg;
        const __global float *from = src + ks * s_ks + (trans ? (long)kk : (long)kk * lds) + c0 * c_step;
        __global float *out = dst + (long)k * nr;
        GEMM_SCALAR_LOOP for (int c = 0; c < nr; c++) out[c] = c0 + c < cols ? from[c * c_step] : 0.0f;
      }
    }
  }
}

__kernel void gemm_pack(int K, int cols, int nr, int trans, __global const float *S, long s_off,
                        int lds, long s_bs, int kseg, long s_ks, __global float *P, long p_bs) {
  gemm_pack_block(get_global_id(trans ? 0 : 1), get_global_id(trans ? 1 : 0), get_global_id(2), K, cols,
                  nr, trans, S, s_off, lds, s_bs, kseg, s_ks, P, p_bs);
}

/* One k step of the register block: NV vector loads of Y's row, MR broadcasts of X (XAT(r) reads
 * X(r, k)), MR*NV FMAs; then Y's and X's pointers move on by one k. */
#define GEMM_STEP(MR, NV, XAT)                                                                   \
  {                                                                                              \
    GEMM_VF yv[NV];                                                                              \
    _Pragma("unroll") for (int v = 0; v < (NV); v++) yv[v] = GEMM_VLOAD(v, y);                   \
    _Pragma("unroll") for (int r = 0; r < (MR); r++) {                                           \
      const GEMM_VF a = (GEMM_VF)(XAT(r));                                                       \
      _Pragma("unroll") for (int v = 0; v < (NV); v++) acc[r][v] = fma(a, yv[v], acc[r][v]);     \
    }                                                                                            \
    y += y_rs;                                                                                   \
    x += x_step;                                                                                 \
  }

/* The K loop of a segment: GEMM_KU steps at a time, then one at a time (LLVM's own unrolling is
 * turned off: it would copy the step again). */
#define GEMM_KLOOP(MR, NV, XAT)                                                                  \
  {                                                                                              \
    int k = 0;                                                                                   \
    _Pragma("clang loop unroll(disable)") for (; k + GEMM_KU <= KN; k += GEMM_KU) {              \
      _Pragma("unroll") for (int u = 0; u < GEMM_KU; u++) GEMM_STEP(MR, NV, XAT)                 \
    }                                                                                            \
    _Pragma("clang loop unroll(disable)") for (; k < KN; k++) GEMM_STEP(MR, NV, XAT)             \
  }

/* X(r, k): a whole block of rows with K as the slow index (x_kc 0) is read at constant offsets
 * from one pointer (the loads fold into the broadcasts); every other case reads row r at offset
 * xo[r] (rows past the end clamped to the last). Both pointers move on by one k per step. */
#define GEMM_X_CONST(r) x[r]
#define GEMM_X_OFFSET(r) x[xo[r]]

/* The register block of one work-item (rg: its block of rows; c0: its panel's first column, cs:
 * the first column it loads; xb, yp, cb: its matrix's X, its panel of Y, its C), for gemm_w
 * (MR = GEMM_MR, NV = GEMM_NV) and gemm_n (GEMM_MR_N, 1), kept out of line (see the top of the
 * file) and called with as few arguments as possible (a call of the 24 kernel arguments cost 2%
 * at K = 32). The orientation (c_t) and X's layout (x_kc) are arguments: one kernel per width,
 * since every kernel costs code generation at its first launch and a training step uses both
 * orientations. */
#define GEMM_TILE(NAME, MR, NV)                                                                  \
  CLNN_OUTLINE static void NAME(                                                                  \
      int rg, int c0, int cs, int rows, int cols, int K, float alpha, float beta,                \
      __global const float *xb, int ldx, __global const float *yp, int y_rs, int x_kc, int c_t,  \
      int kseg, long x_ks, long y_ks, __global float *cb, int ldc) {                             \
    const int NR = (NV)*GEMM_VW;                                                                 \
    const int x_rs = x_kc ? ldx : 1, x_step = x_kc ? 1 : ldx;                                    \
    const int vec_store = !c_t && cs == c0 && c0 + NR <= cols;                                   \
    for (int t = 0; t < GEMM_RT; t++) {                                                          \
      const int r0 = (rg * GEMM_RT + t) * (MR);                                                  \
      if (r0 >= rows) break;                                                                     \
      int xo[MR];                                                                                \
      _Pragma("unroll") for (int r = 0; r < (MR); r++) xo[r] = min(r0 + r, rows - 1) * x_rs;     \
      GEMM_VF acc[MR][NV];                                                                       \
      _Pragma("unroll") for (int r = 0; r < (MR); r++)                                           \
        _Pragma("unroll") for (int v = 0; v < (NV); v++) acc[r][v] = (GEMM_VF)(0.0f);            \
      /* K in segments of kseg: segment sg of X starts x_ks floats after segment 0, of Y y_ks */ \
      for (int s0 = 0, sg = 0; s0 < K; s0 += kseg, sg++) {                                       \
        const int KN = min(kseg, K - s0);                                                        \
        const __global float *y = yp + sg * y_ks;                                                \
        if (!x_kc && r0 + (MR) <= rows) {                                                        \
          const __global float *x = xb + sg * x_ks + r0;                                         \
          GEMM_KLOOP(MR, NV, GEMM_X_CONST)                                                       \
        } else {                                                                                 \
          const __global float *x = xb + sg * x_ks;                                              \
          GEMM_KLOOP(MR, NV, GEMM_X_OFFSET)                                                      \
        }                                                                                        \
      }                                                                                          \
      const int nrows = min(MR, rows - r0);                                                      \
      if (vec_store) {                                                                           \
        /* whole panel, P = C: vector stores, row by row from the registers */                   \
        _Pragma("unroll") for (int r = 0; r < (MR); r++) {                                       \
          if (r < nrows) {                                                                       \
            __global float *crow = cb + (long)(r0 + r) * ldc + c0;                               \
            _Pragma("unroll") for (int v = 0; v < (NV); v++) {                                   \
              GEMM_VF o = (GEMM_VF)(alpha) * acc[r][v];                                          \
              if (beta != 0.0f) o = fma((GEMM_VF)(beta), GEMM_VLOAD(v, crow), o);                \
              GEMM_VSTORE(o, v, crow);                                                           \
            }                                                                                    \
          }                                                                                      \
        }                                                                                        \
      } else {                                                                                   \
        /* partial panels and P = C^T: element by element, one loop over the rows of the       \
         * block. P(r, l) is C[r*ldc + l] (cn) or C[l*ldc + r] (ct); lanes before c0 - cs were \
         * stored by the previous panel. */                                                      \
        GEMM_VF blk[(MR) * (NV)];                                                                \
        _Pragma("unroll") for (int r = 0; r < (MR); r++)                                         \
          _Pragma("unroll") for (int v = 0; v < (NV); v++) blk[r * (NV) + v] = acc[r][v];        \
        const float *b = (const float *)blk;                                                     \
        const long c_rs = c_t ? 1 : ldc, c_ls = c_t ? ldc : 1;                                   \
        const int l0 = c0 - cs, l1 = min(NR, cols - cs);                                         \
        __global float *cp = cb + (long)r0 * c_rs + (long)cs * c_ls;                             \
        GEMM_SCALAR_LOOP for (int r = 0; r < nrows; r++) {                                       \
          GEMM_SCALAR_LOOP for (int l = l0; l < l1; l++) {                                       \
            const long at = r * c_rs + l * c_ls;                                                 \
            float o = alpha * b[r * NR + l];                                                     \
            if (beta != 0.0f) o = fma(beta, cp[at], o);                                          \
            cp[at] = o;                                                                          \
          }                                                                                      \
        }                                                                                        \
      }                                                                                          \
    }                                                                                            \
  }

GEMM_TILE(gemm_tile_w, GEMM_MR, GEMM_NV)
GEMM_TILE(gemm_tile_n, GEMM_MR_N, 1)

/* The entry points: the work-item's place in the grid and its matrices, passed on to the tile
 * function. */
#define GEMM_KERNEL(NAME, TILE, NV)                                                              \
  __kernel void NAME(int rows, int cols, int K, float alpha, float beta,                         \
                     __global const float *X, long x_off, int ldx, long x_bs,                    \
                     __global const float *Y, long y_off, int y_rs, long y_ps, long y_bs,        \
                     int shift_edge, int x_kc, int c_t, int kseg, long x_ks, long y_ks,          \
                     __global float *C, long c_off, int ldc, long c_bs) {                        \
    const int NR = (NV)*GEMM_VW;                                                                 \
    const int pb = get_global_id(1 - GEMM_ORDER), bat = get_global_id(2), c0 = pb * NR;          \
    if (c0 >= cols) return;                                                                      \
    /* first column this panel loads: shifted left for a partial in-place panel */               \
    const int cs = (shift_edge && c0 + NR > cols) ? cols - NR : c0;                              \
    TILE(get_global_id(GEMM_ORDER), c0, cs, rows, cols, K, alpha, beta, X + x_off + bat * x_bs,  \
         ldx, Y + y_off + bat * y_bs + (shift_edge ? (long)cs : pb * y_ps), y_rs, x_kc, c_t,     \
         kseg, x_ks, y_ks, C + c_off + bat * c_bs, ldc);                                         \
  }

GEMM_KERNEL(gemm_w, gemm_tile_w, GEMM_NV)
GEMM_KERNEL(gemm_n, gemm_tile_n, 1)
