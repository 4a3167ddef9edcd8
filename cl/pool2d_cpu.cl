/* cl/pool2d_cpu.cl — 2-D max pooling over NCHW planes, the kernels CPU devices run: max-pool
 * forward (with or without the argmax indices), max-pool backward (recomputing the maxima, or
 * through kept indices); average pooling is in cl/pool2d_avg_cpu.cl, a program of its own (a
 * plain CNN step does not launch it; PoCL's front end costs about 0.05 s per kernel in a program
 * whether it runs or not). Each work-item owns whole output rows, dx rows or
 * runs of planes; results are those of cl/pool2d.cl's one-output-per-work-item kernels (the same
 * first maximum, sums in the same order). Built in one program with cl/pool2d.cl on CPU devices;
 * pool_window_argmax and the row helpers (pool_ld*_8, POOL_BY_STRIDE8, LD16_BY_STRIDE,
 * pool_interior) come from cl/common.h. */

/* The value at pool_window_argmax (the first maximum; the first NaN if any), without its index. */
float pool_window_max(__global const float *xp, int H, int W, int h0, int w0, int kh, int kw) {
  const int hs = max(h0, 0), he = min(h0 + kh, H);
  const int ws = max(w0, 0), we = min(w0 + kw, W);
  float best = -INFINITY;
  for (int h = hs; h < he; h++) {
    __global const float *r = xp + h * W;
    for (int w = ws; w < we; w++) {
      const float v = r[w];
      best = (v > best || (isnan(v) && !isnan(best))) ? v : best;
    }
  }
  return best;
}

/* ============================================================================================== */
/* CPU-shaped kernels (the host picks them on CPU devices): each work-item owns whole rows (or a  */
/* whole plane), no local memory, no barriers; sums and the argmax scan run in the same order as  */
/* cl/pool2d.cl's kernels. Columns whose windows lie inside the row are done 16 at a time with    */
/* plain vector loads, the loop instantiated once per stride (1, 2, other: a stride test or an    */
/* integer division inside these loops measured about 2x slower on PoCL); the max-pool forward   */
/* kernels keep vectors for stride 1 and 2-/3-wide stride 2 only (code generation time). The few  */
/* columns whose windows hang over an end of the row are done one by one (pool_window_max,       */
/* pool_window_argmax); so are the max-pool forward's other strides.                             */
/* ============================================================================================== */

/* Vector lanes where a scan's first maximum `best` gives way to `v`: v > best, or v is NaN and
 * best is not (the first NaN wins). Written as !(v <= best) && best == best: two compares, where
 * isgreater | (isnan & ~isnan) took three compares and two integer tests per isnan on PoCL (the
 * max-pool kernels spend most of their time here). Vectors only (the scalar ~ of 1 is not 0). */
#define POOL_TAKES(v, best) (~((v) <= (best)) & ((best) == (best)))

/* The first maximum (value and flat index h*W + w) of the 16 windows q0 .. q0+15 of output row
 * p, all inside the row, scanning rows then columns as pool_window_argmax. */
#define POOL_MAX_SCAN(LD, xp, W, hs, he, q0, kw, sw, pl, best, arg)                             \
  do {                                                                                          \
    best = (float16)(-INFINITY);                                                                \
    arg = (int16)((hs) * (W) + (q0) * (sw) - (pl)) + POOL_LANES * (sw);                         \
    for (int h_ = (hs); h_ < (he); h_++) {                                                      \
      __global const float *row_ = (xp) + (long)h_ * (W) + ((q0) * (sw) - (pl));                \
      for (int s_ = 0; s_ < (kw); s_++) {                                                       \
        const float16 v_ = LD(row_, s_, (sw));                                                  \
        const int16 m_ = POOL_TAKES(v_, best);                      \
        best = select(best, v_, m_);                                                            \
        arg = select(arg, (int16)(h_ * (W) + (q0) * (sw) - (pl) + s_) + POOL_LANES * (sw), m_); \
      }                                                                                         \
    }                                                                                           \
  } while (0)

/* 2-wide windows at stride 2 from column 0 (kw == sw == 2, pl == 0; the examples' 2x2 pools):
 * windows [0, n) of an output row, n = min(Q, W / 2) (all inside the row), rows [hs, he). Per input
 * row the two taps of N windows are the even and odd lanes of 2N contiguous floats; each row's
 * first maximum (even tap first), then the rows' in order, as POOL_MAX_SCAN (the same value, the
 * same first maximum). N = 16, 8 or 4 by the row's length, the last chunk overlapping the one
 * before (it rewrites equal values), so rows of 4 to 15 windows are vectors too; rows of fewer
 * than 4 windows are left to the caller. irow may be 0 (no indices). */
#define POOL_PAIR16(r, e, o)                                                    \
  { const float16 a_ = vload16(0, r), b_ = vload16(0, (r) + 16);                \
    e = (float16)(a_.even, b_.even); o = (float16)(a_.odd, b_.odd); }
#define POOL_PAIR8(r, e, o) { const float16 a_ = vload16(0, r); e = a_.even; o = a_.odd; }
#define POOL_PAIR4(r, e, o) { const float8 a_ = vload8(0, r); e = a_.even; o = a_.odd; }
#define POOL_MAX2S2_CHUNKS(N, LANES)                                                            \
  for (int q0 = 0; q0 < n; q0 += N) {                                                           \
    if (q0 + N > n) q0 = n - N;                                                                 \
    float##N best, e, o;                                                                        \
    POOL_PAIR##N(xp + (long)hs * W + 2 * q0, e, o);                                             \
    int##N take = POOL_TAKES(o, e);                                                             \
    best = select(e, o, take);                                                                  \
    int##N btap = select((int##N)(0), (int##N)(1), take), brow = (int##N)(hs);                  \
    for (int h_ = hs + 1; h_ < he; h_++) {                                                      \
      POOL_PAIR##N(xp + (long)h_ * W + 2 * q0, e, o);                                           \
      take = POOL_TAKES(o, e);                                                                  \
      const float##N rv = select(e, o, take);                                                   \
      const int##N m = POOL_TAKES(rv, best);                                                    \
      best = select(best, rv, m);                                                               \
      btap = select(btap, select((int##N)(0), (int##N)(1), take), m);                           \
      brow = select(brow, (int##N)(h_), m);                                                     \
    }                                                                                           \
    vstore##N(best, 0, yrow + q0);                                                              \
    if (irow) vstore##N(brow * W + 2 * ((int##N)(q0) + LANES) + btap, 0, irow + q0);           \
  }
CLNN_OUTLINE void pool_max2s2_row(__global const float *xp, int W, int hs, int he, int n,
                                  __global float *yrow, __global int *irow) {
  if (n >= 16) {
    POOL_MAX2S2_CHUNKS(16, POOL_LANES)
  } else if (n >= 8) {
    POOL_MAX2S2_CHUNKS(8, POOL_LANES.lo)
  } else if (n >= 4) {
    POOL_MAX2S2_CHUNKS(4, POOL_LANES.lo.lo)
  }
}
#undef POOL_MAX2S2_CHUNKS
#undef POOL_PAIR16
#undef POOL_PAIR8
#undef POOL_PAIR4

/* Output rows [p0, p1) of one plane (xp, yp, ip: its x, y and indices; ip may be 0) through
 * pool_max2s2_row, for rows it covers whole (kw = sw = 2, pl = 0, 4 <= Q <= W/2: the examples'
 * pools). The max-pool forward kernels call it once per work-group, from its first work-item:
 * small rows skip the general path's setup (2x2 pools on 14x14 planes measured about 10%
 * faster than one call per row). */
CLNN_OUTLINE void pool_max2s2_rows(__global const float *xp, int H, int W, int Q, int kh, int sh,
                                   int pt, int p0, int p1, __global float *yp, __global int *ip) {
  for (int p = p0; p < p1; p++) {
    const int h0 = p * sh - pt;
    pool_max2s2_row(xp, W, max(h0, 0), min(h0 + kh, H), Q, yp + (long)p * Q,
                    ip ? ip + (long)p * Q : 0);
  }
}

/* Max-pool forward of output row (plane, p), any shape (inlined in maxpool_forward_rows). */
CLNN_ITEM_INLINE void maxpool_forward_row(
    __global const float *x, __global float *y, int planes, int H, int W, int P, int Q, int kh,
    int kw, int sh, int sw, int pt, int pl, int p, int plane) {
  if (p >= P || plane >= planes) return;
  __global const float *xp = x + (long)plane * H * W;
  __global float *yrow = y + ((long)plane * P + p) * Q;
  const int h0 = p * sh - pt;
  const int hs = max(h0, 0), he = min(h0 + kh, H);
  if (kw == 2 && sw == 2 && pl == 0) {
    const int n = min(Q, W / 2) >= 4 ? min(Q, W / 2) : 0;
    pool_max2s2_row(xp, W, hs, he, n, yrow, 0);
    for (int q = n; q < Q; q++) yrow[q] = pool_window_max(xp, H, W, h0, q * 2, kh, 2);
    return;
  }
  const int2 in = pool_interior(W, Q, kw, sw, pl);
  /* the 3-wide stride-2 path below reads no spare column: its windows reach q*2 - pl + 2 <= W - 1;
   * with pl == 1 it also does windows 0..15 (window 0 over the left edge) as one chunk */
  const int last3 = W - 3 + pl;
  const int b3 = last3 < 0 ? 0 : min(Q, last3 / 2 + 1);
  const int fast3 = sw == 2 && kw == 3 && b3 - in.x >= 16;
  const int left3 = fast3 && pl == 1 && b3 >= 17;
  for (int q = left3 ? in.x : 0; q < in.x; q++)
    yrow[q] = pool_window_max(xp, H, W, h0, q * sw - pl, kh, kw);
  int q0 = in.x;
#define MAXF_PICK(best, v) select((best), (v), POOL_TAKES((v), (best)))
  if (left3) { /* window q: columns 2q - 1 (absent for q = 0: -inf, an identity), 2q, 2q + 1 */
    float16 best = (float16)(-INFINITY);
    for (int h_ = hs; h_ < he; h_++) {
      __global const float *row_ = xp + (long)h_ * W;
      const float16 a = vload16(0, row_), b = vload16(0, row_ + 16);
      const float16 e = (float16)(a.even, b.even), o = (float16)(a.odd, b.odd);
      const float16 o0 = (float16)(-INFINITY, o.s0, o.s1, o.s2, o.s3, o.s4, o.s5, o.s6, o.s7, o.s8,
                                   o.s9, o.sa, o.sb, o.sc, o.sd, o.se);
      best = MAXF_PICK(best, MAXF_PICK(MAXF_PICK(o0, e), o));
    }
    vstore16(best, 0, yrow);
    q0 = 16;
  }
  if (fast3) {
    /* 3-wide windows at stride 2: per input row, the three taps of 16 windows are the even
     * lanes, the odd lanes and the even lanes shifted by one of 33 contiguous floats; each row's
     * first maximum (taps in order), then the rows' in order -- by associativity of "first
     * maximum" (ties and NaN keep the earlier), the same value as the row-major scan. */
    while (q0 < b3) {
      if (q0 + 16 > b3) q0 = b3 - 16; /* a short tail: one more chunk ending at b3 */
      float16 best = (float16)(-INFINITY);
      for (int h_ = hs; h_ < he; h_++) {
        __global const float *row_ = xp + (long)h_ * W + (q0 * 2 - pl);
        const float16 a = vload16(0, row_), b = vload16(0, row_ + 16);
        const float16 e = (float16)(a.even, b.even), o = (float16)(a.odd, b.odd);
        const float16 e2 = (float16)(e.s1, e.s2, e.s3, e.s4, e.s5, e.s6, e.s7, e.s8, e.s9, e.sa,
                                     e.sb, e.sc, e.sd, e.se, e.sf, row_[32]);
        best = MAXF_PICK(best, MAXF_PICK(MAXF_PICK(e, o), e2));
      }
      vstore16(best, 0, yrow + q0);
      q0 += 16;
    }
  }
#undef MAXF_PICK
#define MAXF_CHUNKS(LD)                                                                         \
  while (q0 < in.y) {                                                                           \
    if (q0 + 16 > in.y) { /* a short tail: one more chunk ending at in.y (rewrites equal values) */ \
      if (in.y - in.x < 16) break;                                                              \
      q0 = in.y - 16;                                                                           \
    }                                                                                           \
    float16 best;                                                                               \
    int16 arg;                                                                                  \
    POOL_MAX_SCAN(LD, xp, W, hs, he, q0, kw, sw, pl, best, arg);                                \
    vstore16(best, 0, yrow + q0);                                                               \
    q0 += 16;                                                                                   \
  }
  /* other windows at stride 1, 16 (or 8) at a time; at larger strides (other than the 2- and
   * 3-wide stride-2 windows above) one by one below: a vector copy per stride measured about a
   * third of this kernel's code generation time, for shapes the examples do not use */
  if (sw == 1) MAXF_CHUNKS(ld16_stride1)
#undef MAXF_CHUNKS
  /* 8 <= interior < 16 (stride 1): two 8-lane chunks, overlapping */
  if (sw == 1 && q0 < in.y && in.y - in.x >= 8) {
#define MAXF_CHUNKS8(LD)                                                                        \
  for (int c_ = 0; c_ < 2; c_++) {                                                              \
    const int qa = c_ ? in.y - 8 : in.x;                                                        \
    float8 best = (float8)(-INFINITY);                                                          \
    for (int h_ = hs; h_ < he; h_++) {                                                          \
      __global const float *row_ = xp + (long)h_ * W + (qa * sw - pl);                          \
      for (int s_ = 0; s_ < kw; s_++) {                                                         \
        const float8 v_ = LD(row_, s_, sw);                                                     \
        best = select(best, v_, POOL_TAKES(v_, best));              \
      }                                                                                         \
    }                                                                                           \
    vstore8(best, 0, yrow + qa);                                                                \
  }
    MAXF_CHUNKS8(pool_ld1_8)
#undef MAXF_CHUNKS8
    q0 = in.y;
  }
  for (int q = max(q0, in.x); q < Q; q++) yrow[q] = pool_window_max(xp, H, W, h0, q * sw - pl, kh, kw);
}

/* Output rows [p0, p1) of a plane through maxpool_forward_row, out of line (CLNN_OUTLINE). */
CLNN_OUTLINE void maxpool_forward_rows(__global const float *x, __global float *y, int planes,
                                       int H, int W, int P, int Q, int kh, int kw, int sh, int sw,
                                       int pt, int pl, int p0, int p1, int plane) {
  for (int p = p0; p < p1; p++)
    maxpool_forward_row(x, y, planes, H, W, P, Q, kh, kw, sh, sw, pt, pl, p, plane);
}

/* Max-pool forward, one output row (plane, p) per work-item; a work-group's rows are done by its
 * first work-item in one out-of-line call (pool_max2s2_rows for the 2x2 rows it covers whole,
 * maxpool_forward_rows otherwise). Global: (P, planes). */
__kernel void maxpool_forward_cpu(__global const float *x, __global float *y, int planes, int H,
                                  int W, int P, int Q, int kh, int kw, int sh, int sw, int pt,
                                  int pl) {
  const int p = get_global_id(0);
  const int plane = get_global_id(1);
  if (kw == 2 && sw == 2 && pl == 0 && Q >= 4 && Q <= W / 2) { /* the work-group's rows */
    if (get_local_id(0) == 0 && plane < planes)
      pool_max2s2_rows(x + (long)plane * H * W, H, W, Q, kh, sh, pt, p,
                       min(p + (int)get_local_size(0), P), y + (long)plane * P * Q, 0);
    return;
  }
  if (get_local_id(0) == 0)
    maxpool_forward_rows(x, y, planes, H, W, P, Q, kh, kw, sh, sw, pt, pl, p,
                         min(p + (int)get_local_size(0), P), plane);
}

/* Flat indices (h*W + w) of the first maxima of the 16 windows whose tap-0 columns are c0 + 2*lane
 * (3 wide, stride 2), rows [hs, he): each row's first maximum (taps in order), then the rows' in
 * order, as maxpool_forward_cpu's 3-wide path; the maxima go to *best_out. c0 == -1: lane 0's
 * column -1 is absent (-inf, indexed as column 0, the window's first element). Reads columns
 * [max(c0, 0), c0 + 33). */
inline int16 pool_argmax3s2(__global const float *xp, int W, int hs, int he, int c0,
                           float16 *best_out) {
  float16 best = (float16)(-INFINITY);
  int16 brow = (int16)(hs), btap = (int16)(0); /* the first maximum's row and tap (0, 1, 2) */
  for (int h_ = hs; h_ < he; h_++) {
    __global const float *row_ = xp + (long)h_ * W;
    float16 t0, t1, t2;
    if (c0 < 0) {
      const float16 a = vload16(0, row_), b = vload16(0, row_ + 16);
      const float16 e = (float16)(a.even, b.even), o = (float16)(a.odd, b.odd);
      t0 = (float16)(-INFINITY, o.s0, o.s1, o.s2, o.s3, o.s4, o.s5, o.s6, o.s7, o.s8, o.s9, o.sa,
                     o.sb, o.sc, o.sd, o.se);
      t1 = e;
      t2 = o;
    } else {
      const float16 a = vload16(0, row_ + c0), b = vload16(0, row_ + c0 + 16);
      t0 = (float16)(a.even, b.even);
      t1 = (float16)(a.odd, b.odd);
      t2 = (float16)(t0.s1, t0.s2, t0.s3, t0.s4, t0.s5, t0.s6, t0.s7, t0.s8, t0.s9, t0.sa, t0.sb,
                     t0.sc, t0.sd, t0.se, t0.sf, row_[c0 + 32]);
    }
    float16 rv = t0;
    int16 rt = (int16)(0);
    int16 m = POOL_TAKES(t1, rv);
    rv = select(rv, t1, m);
    rt = select(rt, (int16)(1), m);
    m = POOL_TAKES(t2, rv);
    rv = select(rv, t2, m);
    rt = select(rt, (int16)(2), m);
    if (h_ == hs) {
      best = rv;
      btap = rt;
    } else {
      m = POOL_TAKES(rv, best);
      best = select(best, rv, m);
      btap = select(btap, rt, m);
      brow = select(brow, (int16)(h_), m);
    }
  }
  *best_out = best;
  /* lane 0's absent column -1 (c0 == -1) stands for column 0, the window's first element */
  return brow * W + max((int16)(c0) + POOL_LANES * 2 + btap, (int16)(0));
}

/* maxpool_forward_row that also writes idx (as maxpool_forward_indices), output row (plane, p):
 * 3-wide stride-2 windows through pool_argmax3s2, stride 1 through POOL_MAX_SCAN, 16 windows at
 * a time; edge windows, other strides and rows narrower than 16 windows one by one (inlined in
 * maxpool_forward_indices_rows). */
CLNN_ITEM_INLINE void maxpool_forward_indices_row(
    __global const float *x, __global float *y, __global int *idx, int planes, int H, int W, int P,
    int Q, int kh, int kw, int sh, int sw, int pt, int pl, int p, int plane) {
  if (p >= P || plane >= planes) return;
  __global const float *xp = x + (long)plane * H * W;
  __global float *yrow = y + ((long)plane * P + p) * Q;
  __global int *irow = idx + ((long)plane * P + p) * Q;
  const int h0 = p * sh - pt;
  const int hs = max(h0, 0), he = min(h0 + kh, H);
  if (kw == 2 && sw == 2 && pl == 0) {
    const int n = min(Q, W / 2) >= 4 ? min(Q, W / 2) : 0;
    pool_max2s2_row(xp, W, hs, he, n, yrow, irow);
    for (int q = n; q < Q; q++) {
      const int a = pool_window_argmax(xp, H, W, h0, q * 2, kh, 2);
      yrow[q] = xp[a];
      irow[q] = a;
    }
    return;
  }
  const int2 in = pool_interior(W, Q, kw, sw, pl);
  const int last3 = W - 3 + pl;
  const int b3 = last3 < 0 ? 0 : min(Q, last3 / 2 + 1);
  int qa = in.x, qb = in.x; /* windows [qa, qb) done 16 at a time */
  if (sw == 2 && kw == 3 && b3 - in.x >= 16) {
    qa = pl == 1 && b3 >= 17 ? 0 : in.x; /* window 0 (column -1 absent) in the first chunk */
    for (int q0 = qa; q0 < b3; q0 += 16) {
      if (q0 + 16 > b3) q0 = b3 - 16; /* a short tail: one more chunk ending at b3 */
      float16 best;
      const int16 arg = pool_argmax3s2(xp, W, hs, he, q0 * 2 - pl, &best);
      vstore16(best, 0, yrow + q0);
      vstore16(arg, 0, irow + q0);
    }
    qb = b3;
  } else if (sw == 1 && in.y - in.x >= 16) {
#define MAXFI_CHUNKS(LD)                                                                        \
  for (int q0 = in.x; q0 < in.y; q0 += 16) {                                                    \
    if (q0 + 16 > in.y) q0 = in.y - 16;                                                         \
    float16 best;                                                                               \
    int16 arg;                                                                                  \
    POOL_MAX_SCAN(LD, xp, W, hs, he, q0, kw, sw, pl, best, arg);                                \
    vstore16(best, 0, yrow + q0);                                                               \
    vstore16(arg, 0, irow + q0);                                                                \
  }
    MAXFI_CHUNKS(ld16_stride1)
#undef MAXFI_CHUNKS
    qb = in.y;
  }
  for (int q = 0; q < Q; q++) {
    if (q == qa) q = qb;
    if (q >= Q) break;
    const int a = pool_window_argmax(xp, H, W, h0, q * sw - pl, kh, kw);
    yrow[q] = xp[a];
    irow[q] = a;
  }
}

/* Output rows [p0, p1) of a plane through maxpool_forward_indices_row, out of line
 * (CLNN_OUTLINE). */
CLNN_OUTLINE void maxpool_forward_indices_rows(__global const float *x, __global float *y,
                                               __global int *idx, int planes, int H, int W, int P,
                                               int Q, int kh, int kw, int sh, int sw, int pt,
                                               int pl, int p0, int p1, int plane) {
  for (int p = p0; p < p1; p++)
    maxpool_forward_indices_row(x, y, idx, planes, H, W, P, Q, kh, kw, sh, sw, pt, pl, p, plane);
}

/* Max-pool forward with the argmax indices, one output row (plane, p) per work-item, a
 * work-group's rows by its first work-item as in maxpool_forward_cpu. Global: (P, planes). */
__kernel void maxpool_forward_indices_cpu(__global const float *x, __global float *y,
                                          __global int *idx, int planes, int H, int W, int P,
                                          int Q, int kh, int kw, int sh, int sw, int pt, int pl) {
  const int p = get_global_id(0);
  const int plane = get_global_id(1);
  if (kw == 2 && sw == 2 && pl == 0 && Q >= 4 && Q <= W / 2) { /* the work-group's rows */
    if (get_local_id(0) == 0 && plane < planes)
      pool_max2s2_rows(x + (long)plane * H * W, H, W, Q, kh, sh, pt, p,
                       min(p + (int)get_local_size(0), P), y + (long)plane * P * Q,
                       idx + (long)plane * P * Q);
    return;
  }
  if (get_local_id(0) == 0)
    maxpool_forward_indices_rows(x, y, idx, planes, H, W, P, Q, kh, kw, sh, sw, pt, pl, p,
                                 min(p + (int)get_local_size(0), P), plane);
}

/* Columns [c, c+8) of the two dx rows under output row p (lanes 0-7 the upper row, 8-15 the
 * lower) in the 2x2 stride-2 tiling: dx = beta*dx + dy where the window holding an element names
 * it in its index, else beta*dx (0 for beta*dx when beta == 0). ia and g: the indices and
 * gradients of windows c/2 .. c/2+3. */
inline float16 pool_max2s2_back8x2(__global const float *dx0, int p, int W, int c, int4 ia,
                                   float4 g, float beta) {
  const int8 e = (int8)(2 * p * W + c) + (int8)(0, 1, 2, 3, 4, 5, 6, 7);
  const float16 base = beta == 0.0f ? (float16)(0.0f)
                                    : (float16)(beta) * (float16)(vload8(0, dx0 + c),
                                                                  vload8(0, dx0 + W + c));
  return select(base, base + g.s0011223300112233, ia.s0011223300112233 == (int16)(e, e + W));
}

/* Max-pool backward through kept indices for 2x2 windows at stride 2 tiling the plane exactly
 * (H = 2P, W = 2Q >= 8, no padding), `rows` output rows from the start of a plane on: a gather,
 * each dx element written once from the window that holds it -- the scatter's bits for indices
 * the forward wrote (a window's index always lies in the window; any other index adds nothing).
 * Per output row, 4 windows (8 columns of its two dx rows) at a time; a row whose length is not
 * a multiple of 8 ends with a chunk overlapping the one before, computed from dx before either is
 * stored. Planes follow each other in idx, dy and dx: one loop over the rows. Rows of 8 columns
 * (digits' pool) 4 output rows at a time, a 16-window load each for 64 contiguous dx elements
 * (pool_max2_8: 7.0 against 10.5 us one row at a time), the last rows of a run one by one. */
/* A float8 at any float-aligned address: one store, where vstore8 came out as two on PoCL. */
typedef float8 pool_float8_unaligned __attribute__((aligned(4)));
inline void maxpool2s2_backward_rows(__global const int *irow, __global const float *drow,
                                     __global float *dx0, long rows, int P, int Q, float beta) {
  const int W = 2 * Q, ct = W - 8; /* ct: the last chunk's first column */
  int p = 0;
  if (W == 8) { /* digits' pool: 4 output rows (64 contiguous dx elements) per load */
    for (; rows >= 4; rows -= 4, irow += 16, drow += 16, dx0 += 64) {
      const int16 ia = vload16(0, irow);
      const float16 g = vload16(0, drow);
#define POOL_MAX2S2_BACK_W8(r, SW)                                                              \
  {                                                                                             \
    __global float16_unaligned *o_ = (__global float16_unaligned *)(dx0 + 16 * (r));           \
    const float16 b_ = beta == 0.0f ? (float16)(0.0f) : (float16)(beta) * *o_;                  \
    *o_ = select(b_, b_ + g.SW, ia.SW == (int16)(16 * p) + POOL_LANES);                         \
    p = p + 1 == P ? 0 : p + 1;                                                                 \
  }
      POOL_MAX2S2_BACK_W8(0, s0011223300112233)
      POOL_MAX2S2_BACK_W8(1, s4455667744556677)
      POOL_MAX2S2_BACK_W8(2, s8899aabb8899aabb)
      POOL_MAX2S2_BACK_W8(3, sccddeeffccddeeff)
#undef POOL_MAX2S2_BACK_W8
    }
  }
  for (; rows > 0; rows--, irow += Q, drow += Q, dx0 += 2 * W) {
    const float16 t = pool_max2s2_back8x2(dx0, p, W, ct, vload4(0, irow + ct / 2),
                                          vload4(0, drow + ct / 2), beta);
    for (int c = 0; c < ct; c += 8) {
      const float16 v = pool_max2s2_back8x2(dx0, p, W, c, vload4(0, irow + c / 2),
                                            vload4(0, drow + c / 2), beta);
      *(__global pool_float8_unaligned *)(dx0 + c) = v.lo;
      *(__global pool_float8_unaligned *)(dx0 + W + c) = v.hi;
    }
    *(__global pool_float8_unaligned *)(dx0 + ct) = t.lo;
    *(__global pool_float8_unaligned *)(dx0 + W + ct) = t.hi;
    p = p + 1 == P ? 0 : p + 1;
  }
}

/* Max-pool backward recomputing the maxima from x for 2x2 windows at stride 2 tiling the plane
 * exactly (as maxpool2s2_backward_rows, whose bits it gives): 16 columns of the two input rows a
 * (upper) and b (lower) of an output row at a time, each column pair's lanes both holding the
 * pair's even tap, odd tap and first maximum (in-lane swizzles). A lane takes dy (g, one per
 * window) where its row's first maximum (the odd tap where it beats the even one) is its window's
 * (the lower row's where it beats the upper's), as pool_max2s2_row: the kept index's element.
 * du, dl: dx's old values (read only when beta != 0); up, lo: the new. */
#define POOL_MAX2S2_GRAD16(a, b, g, du, dl, beta, up, lo)                                       \
  {                                                                                             \
    const float16 ae_ = (a).s0022446688aaccee, ao_ = (a).s1133557799bbddff;                     \
    const float16 be_ = (b).s0022446688aaccee, bo_ = (b).s1133557799bbddff;                     \
    const int16 ta_ = POOL_TAKES(ao_, ae_), tb_ = POOL_TAKES(bo_, be_);                         \
    const int16 m_ = POOL_TAKES(select(be_, bo_, tb_), select(ae_, ao_, ta_));                  \
    const int16 odd_ = -(POOL_LANES & 1); /* -1 in the lanes of odd columns */                  \
    const float16 g_ = (g).s0011223344556677;                                                   \
    up = beta == 0.0f ? (float16)(0.0f) : (float16)(beta) * (du);                               \
    lo = beta == 0.0f ? (float16)(0.0f) : (float16)(beta) * (dl);                               \
    up = select(up, up + g_, ~m_ & ~(ta_ ^ odd_));                                              \
    lo = select(lo, lo + g_, m_ & ~(tb_ ^ odd_));                                               \
  }
/* Elements [c, c+8) and [c+k, c+k+8) of a row as one vector (k = 8: 16 contiguous). */
#define POOL_LD8X2(row, c, k) (float16)(vload8(0, (row) + (c)), vload8(0, (row) + (c) + (k)))
/* Max-pool backward recomputing the maxima from x for 2x2 windows at stride 2 tiling the plane
 * exactly (H = 2P, W = 2Q >= 8, no padding), `rows` output rows from the start of a plane on (x0,
 * drow, dx0 there). Per output row 16 columns at a time, the last chunk (at ct) overlapping the
 * one before where W is not a multiple of 16 and computed from dx before either is stored; rows
 * of 9 to 15 columns as one chunk of their first and last 8 (k = W - 8), rows of 8 two output
 * rows a chunk (k = 2W; the last of an odd count alone, k = 0). */
inline void maxpool2s2_recompute_rows(__global const float *x0, __global const float *drow,
                                      __global float *dx0, long rows, int Q, float beta) {
  const int W = 2 * Q, pairs = W == 8, kw = W < 16 ? W - 8 : 8, ct = W < 16 ? 0 : W - 16;
  for (int n; rows > 0; rows -= n, x0 += 2 * W * n, drow += Q * n, dx0 += 2 * W * n) {
    n = pairs && rows >= 2 ? 2 : 1;
    const int k = pairs ? 2 * W * (n - 1) : kw, kg = pairs ? Q * (n - 1) : k / 2;
    float16 tu, tl, u, l;
    POOL_MAX2S2_GRAD16(POOL_LD8X2(x0, ct, k), POOL_LD8X2(x0 + W, ct, k),
                       (float8)(vload4(0, drow + ct / 2), vload4(0, drow + ct / 2 + kg)),
                       POOL_LD8X2(dx0, ct, k), POOL_LD8X2(dx0 + W, ct, k), beta, tu, tl)
    for (int c = 0; c < ct; c += 16) {
      POOL_MAX2S2_GRAD16(vload16(0, x0 + c), vload16(0, x0 + W + c), vload8(0, drow + c / 2),
                         vload16(0, dx0 + c), vload16(0, dx0 + W + c), beta, u, l)
      vstore16(u, 0, dx0 + c);
      vstore16(l, 0, dx0 + W + c);
    }
    vstore8(tu.lo, 0, dx0 + ct);
    vstore8(tl.lo, 0, dx0 + W + ct);
    vstore8(tu.hi, 0, dx0 + ct + k);
    vstore8(tl.hi, 0, dx0 + W + ct + k);
  }
}
#undef POOL_LD8X2
#undef POOL_MAX2S2_GRAD16

/* 3x3 windows at stride 2 (pool_max3s2, the ResNet stem's pool), backward through kept indices
 * as a gather: each dx element is written once from the windows that hold it -- at most 2x2,
 * since window (p, q) covers rows 2p - pt .. 2p - pt + 2 and columns 2q - pl .. 2q - pl + 2 --
 * adding their dy where their index names it, in row-major window order from beta*dx (or 0): the
 * scatter's bits for indices the forward wrote (a window's index always lies in the window; any
 * other index adds nothing). */

/* dx element e (column w) from beta*dx (or 0) in v; window rows [pa, pb] hold its row (none
 * when pb < pa). */
inline float pool_gather3s2(__global const int *ip, __global const float *dyp, int pa, int pb,
                            int Q, int pl, int e, int w, float v) {
  const int qh = (w + pl) >> 1;
  const int qa = max(qh - 1 + ((w + pl) & 1), 0), qb = min(qh, Q - 1);
  for (int p = pa; p <= pb; p++)
    for (int q = qa; q <= qb; q++)
      if (ip[p * Q + q] == e) v += dyp[p * Q + q];
  return v;
}

/* Window row p's part of 32 dx elements of its tap row k (0, 1, 2: dx row 2p - pt + k) from
 * windows q0 .. q0+16, columns c .. c+31 with c = 2*q0 + 1 - pl: column c + 2i (s, lane i) is
 * window q0+i's middle column and in no other window; column c + 2i + 1 (d, lane i) is window
 * q0+i's last column and window q0+i+1's first (that order). t0, t1: the indices of windows q0+i
 * and q0+i+1 less the element of lane i's s column in tap row 0; kw = k*W. */
#define POOL_GATHER3S2_ROW(t0, t1, g0, g1, kw, s, d)                                            \
  {                                                                                             \
    s = select(s, s + (g0), (t0) == (kw));                                                      \
    d = select(d, d + (g0), (t0) == (kw) + 1);                                                  \
    d = select(d, d + (g1), (t1) == (kw) + 1);                                                  \
  }

/* Planes [first, last) of maxpool_backward_indices_run for 3x3 windows at stride 2. Columns of
 * windows q0 .. q0+15 (window q0+16 in [0, Q) or the row's end) 32 at a time, down the plane:
 * per window row one load of the windows' indices and gradients for its three dx rows, the
 * third's sums carried to the next window row (whose first it is); the last chunk overlaps the
 * one before, whose columns it leaves as they were stored. Other columns one by one. Measured
 * 0.25 against the scatter's 0.32 ms on pool_max3s2 with one PoCL thread. */
CLNN_OUTLINE void maxpool3s2_backward_planes(__global const int *idx, __global const float *dy,
                                             __global float *dx, int first, int last, int H,
                                             int W, int P, int Q, int pt, int pl, float beta) {
  const int kf = pl >> 1; /* the first chunk's window: column 2*kf + 1 - pl >= 0 */
  /* the last chunk's first window: Q - 16 where the row holds window Q-1's last column (window
   * Q, absent, then matches nothing), else the last whose windows and columns all lie inside */
  const int kl = 2 * Q - pl <= W - 1 ? Q - 16
                 : W - 33 + pl < 0   ? -1
                                     : min(Q - 17, (W - 33 + pl) >> 1);
  const int cf = kl >= kf ? 2 * kf + 1 - pl : W, cl = kl >= kf ? 2 * kl + 1 - pl + 32 : W;
  const uint16 W0 = (uint16)(0), W1 = (uint16)(W), W2 = (uint16)(2 * W);
  for (int plane = first; plane < last; plane++) {
    __global const int *ip = idx + (long)plane * P * Q;
    __global const float *dyp = dy + (long)plane * P * Q;
    __global float *dxp = dx + (long)plane * H * W;
    for (int q0 = kf; q0 <= kl; q0 = q0 + 16 > kl && q0 < kl ? kl : q0 + 16) {
      const int c = 2 * q0 + 1 - pl;
      const int keep = q0 == kl ? max(2 * (kf + ((kl - kf + 15) / 16 - 1) * 16) + 33 - pl - c, 0)
                                : 0; /* the last chunk's columns the one before stored */
      const int full = q0 + 16 < Q;
      float16 s, d, cs = (float16)(0.0f), cd = (float16)(0.0f);
#define POOL_BASE3S2(r, s, d)                                                                   \
  if (beta == 0.0f) {                                                                           \
    s = d = (float16)(0.0f);                                                                    \
  } else {                                                                                      \
    const float16 a_ = vload16(0, dxp + (long)(r) * W + c);                                     \
    const float16 b_ = vload16(0, dxp + (long)(r) * W + c + 16);                                \
    s = (float16)(beta) * (float16)(a_.even, b_.even);                                          \
    d = (float16)(beta) * (float16)(a_.odd, b_.odd);                                            \
  }
#define POOL_STORE3S2(r, s, d)                                                                  \
  {                                                                                             \
    __global float *o_ = dxp + (long)(r) * W + c;                                               \
    float16 hi_ = (float16)((s).hi, (d).hi).s08192a3b4c5d6e7f;                                  \
    if (keep < 16) {                                                                            \
      float16 lo_ = (float16)((s).lo, (d).lo).s08192a3b4c5d6e7f;                                \
      if (keep > 0) lo_ = select(lo_, vload16(0, o_), POOL_LANES < keep);                       \
      store16(o_, lo_); /* one store (vstore16: in pieces on PoCL) */                           \
    } else if (keep > 16) {                                                                     \
      hi_ = select(hi_, vload16(0, o_ + 16), POOL_LANES + 16 < keep);                           \
    }                                                                                           \
    store16(o_ + 16, hi_);                                                                      \
  }
      if (pt == 0) { POOL_BASE3S2(0, cs, cd) } /* dx row 0: window row 0's tap row 0 */
      for (int p = 0; p < P; p++) {
        const int r0 = 2 * p - pt;
        __global const int *ir = ip + p * Q + q0;
        __global const float *gr = dyp + p * Q + q0;
        const int16 i0 = vload16(0, ir);
        const float16 g0 = vload16(0, gr);
        int16 i1;
        float16 g1;
        if (full) {
          i1 = vload16(0, ir + 1);
          g1 = vload16(0, gr + 1);
        } else { /* window q0+16 is absent: lane 15 matches nothing */
          i1 = (int16)(vload8(0, ir + 1), vload4(0, ir + 9), vload3(0, ir + 13), -1);
          g1 = (float16)(vload8(0, gr + 1), vload4(0, gr + 9), vload3(0, gr + 13), 0.0f);
        }
        const int16 e = (int16)(r0 * W + c) + 2 * POOL_LANES;
        const uint16 t0 = as_uint16(i0) - as_uint16(e), t1 = as_uint16(i1) - as_uint16(e);
        if (r0 >= 0) {
          POOL_GATHER3S2_ROW(t0, t1, g0, g1, W0, cs, cd)
          POOL_STORE3S2(r0, cs, cd)
        }
        if (r0 + 1 >= 0 && r0 + 1 < H) {
          POOL_BASE3S2(r0 + 1, s, d)
          POOL_GATHER3S2_ROW(t0, t1, g0, g1, W1, s, d)
          POOL_STORE3S2(r0 + 1, s, d)
        }
        if (r0 + 2 < H) {
          POOL_BASE3S2(r0 + 2, cs, cd)
          POOL_GATHER3S2_ROW(t0, t1, g0, g1, W2, cs, cd)
        }
      }
      /* the last window row's tap row 2, then rows in no window */
      for (int r = 2 * P - pt; r < H; r++) {
        if (r > 2 * P - pt) { POOL_BASE3S2(r, cs, cd) }
        POOL_STORE3S2(r, cs, cd)
      }
#undef POOL_BASE3S2
#undef POOL_STORE3S2
    }
    if (cf == 0 && cl == W) continue;
    for (int h = 0; h < H; h++) {
      __global float *dxr = dxp + (long)h * W;
      const int ph = (h + pt) >> 1;
      const int pa = max(ph - 1 + ((h + pt) & 1), 0), pb = min(ph, P - 1);
      for (int w = 0; w < W; w++) {
        if (w == cf) w = cl;
        if (w >= W) break;
        dxr[w] = pool_gather3s2(ip, dyp, pa, pb, Q, pl, h * W + w, w,
                                beta == 0.0f ? 0.0f : beta * dxr[w]);
      }
    }
  }
}
/* Max-pool backward through kept indices, planes [g*per, min((g+1)*per, planes)) per work-item
 * (a scatter into planes it alone owns): dx = beta*dx (or 0), then for each window in row-major
 * order dx[idx] += dy -- the order of maxpool_backward_cpu. The run's dx is scaled as one
 * contiguous range, in whole 16-float vectors just ahead of the windows that scatter into it
 * (still in cache; small planes need no scalar tail per row or plane, only one at the run's
 * end). Indices outside [0, H*W) are skipped. Exactly tiling 2x2 stride-2 windows take
 * maxpool2s2_backward_rows instead. maxpool_backward_indices_cpu's body (CLNN_OUTLINE), for
 * work-item g. */
CLNN_OUTLINE void maxpool_backward_indices_run(__global const int *idx, __global const float *dy,
                                               __global float *dx, int planes, int per, int H,
                                               int W, int P, int Q, int kh, int kw, int sh,
                                               int sw, int pt, int pl, float beta, int g) {
  const int first = g * per;
  const int last = min(first + per, planes);
  if (first >= last) return;
  const int HW = H * W, PQ = P * Q;
  if (kh == 2 && kw == 2 && sh == 2 && sw == 2 && pt == 0 && pl == 0 && H == 2 * P &&
      W == 2 * Q && W >= 8) {
    maxpool2s2_backward_rows(idx + (long)first * PQ, dy + (long)first * PQ,
                             dx + (long)first * HW, (long)(last - first) * P, P, Q, beta);
    return;
  }
  if (kh == 3 && kw == 3 && sh == 2 && sw == 2) {
    maxpool3s2_backward_planes(idx, dy, dx, first, last, H, W, P, Q, pt, pl, beta);
    return;
  }
  __global float *dxr = dx + (long)first * HW; /* the run's dx */
  const long run_end = (long)(last - first) * HW;
  long done = 0; /* dxr[0, done) scaled */
  for (int plane = first; plane < last; plane++) {
    __global const int *ip = idx + (long)plane * PQ;
    __global const float *dyp = dy + (long)plane * PQ;
    const long base = (long)(plane - first) * HW;
    __global float *dxp = dxr + base;
    for (int p = 0; p < P; p++) {
      const long need = base + (long)min(p * sh - pt + kh, H) * W; /* window rows end */
      if (need > done) {
        const long to = min(done + (need - done + 15) / 16 * 16, run_end);
        scale_run(dxr + done, to - done, beta);
        done = to;
      }
      __global const int *irow = ip + (long)p * Q;
      __global const float *drow = dyp + (long)p * Q;
      for (int q = 0; q < Q; q++) {
        const int a = irow[q];
        if ((uint)a < (uint)HW) dxp[a] += drow[q];
      }
    }
  }
  scale_run(dxr + done, run_end - done, beta);
}

/* Max-pool backward through kept indices, planes [g*per, min((g+1)*per, planes)) per work-item
 * g (maxpool_backward_indices_run). Global: (ceil(planes / per)). */
__kernel void maxpool_backward_indices_cpu(__global const int *idx, __global const float *dy,
                                           __global float *dx, int planes, int per, int H, int W,
                                           int P, int Q, int kh, int kw, int sh, int sw,
                                           int pt, int pl, float beta) {
  maxpool_backward_indices_run(idx, dy, dx, planes, per, H, W, P, Q, kh, kw, sh, sw, pt, pl, beta,
                               get_global_id(0));
}

/* Max-pool backward recomputing the maxima from x, one plane (a scatter into the plane it alone
 * owns): dx = beta*dx (or 0), then for each window in row-major order dx[first maximum] += dy --
 * each dx element sums its windows' gradients in the order of maxpool_backward and of
 * maxpool_backward_indices_cpu. Windows inside the row 16 at a time (POOL_MAX_SCAN; 3-wide stride
 * 2 through pool_argmax3s2), the others one by one. */
inline void maxpool_backward_plane(__global const float *xp, __global const float *dyp,
                                   __global float *dxp, int H, int W, int P, int Q, int kh,
                                   int kw, int sh, int sw, int pt, int pl, float beta) {
  scale_run(dxp, (long)H * W, beta);
  const int2 in = pool_interior(W, Q, kw, sw, pl);
  const int qv = in.x + (in.y - in.x) / 16 * 16; /* vector columns [in.x, qv) */
#define MAXB_ROWS(LD)                                                                           \
  for (int p = 0; p < P; p++) {                                                                 \
    __global const float *dyrow = dyp + (long)p * Q;                                            \
    const int h0 = p * sh - pt;                                                                 \
    const int hs = max(h0, 0), he = min(h0 + kh, H);                                            \
    for (int q = 0; q < in.x; q++)                                                              \
      dxp[pool_window_argmax(xp, H, W, h0, q * sw - pl, kh, kw)] += dyrow[q];                   \
    for (int q0 = in.x; q0 < qv; q0 += 16) {                                                    \
      float16 best;                                                                             \
      int16 arg;                                                                                \
      POOL_MAX_SCAN(LD, xp, W, hs, he, q0, kw, sw, pl, best, arg);                              \
      int a[16];                                                                                \
      vstore16(arg, 0, a);                                                                      \
      for (int l = 0; l < 16; l++) dxp[a[l]] += dyrow[q0 + l];                                  \
    }                                                                                           \
    for (int q = qv; q < Q; q++)                                                                \
      dxp[pool_window_argmax(xp, H, W, h0, q * sw - pl, kh, kw)] += dyrow[q];                   \
  }
  /* 3-wide windows at stride 2 (pool_argmax3s2): vector windows [qa, b3), window 0 included at
   * padding 1; the last chunk overlaps the one before and scatters only its new lanes. */
  const int last3 = W - 3 + pl;
  const int b3 = last3 < 0 ? 0 : min(Q, last3 / 2 + 1);
  if (sw == 2 && kw == 3 && b3 - in.x >= 16) {
    const int qa = pl == 1 && b3 >= 17 ? 0 : in.x;
    const int qb = qa + (b3 - qa) / 16 * 16;
    for (int p = 0; p < P; p++) {
      __global const float *dyrow = dyp + (long)p * Q;
      const int h0 = p * sh - pt;
      const int hs = max(h0, 0), he = min(h0 + kh, H);
      for (int q = 0; q < qa; q++)
        dxp[pool_window_argmax(xp, H, W, h0, q * 2 - pl, kh, kw)] += dyrow[q];
      float16 best;
      for (int q0 = qa; q0 < qb; q0 += 16) {
        int a[16];
        vstore16(pool_argmax3s2(xp, W, hs, he, q0 * 2 - pl, &best), 0, a);
        for (int l = 0; l < 16; l++) dxp[a[l]] += dyrow[q0 + l];
      }
      if (qb < b3) {
        const int q0 = b3 - 16;
        int a[16];
        vstore16(pool_argmax3s2(xp, W, hs, he, q0 * 2 - pl, &best), 0, a);
        for (int l = qb - q0; l < 16; l++) dxp[a[l]] += dyrow[q0 + l];
      }
      for (int q = b3; q < Q; q++)
        dxp[pool_window_argmax(xp, H, W, h0, q * 2 - pl, kh, kw)] += dyrow[q];
    }
  } else {
    LD16_BY_STRIDE(sw, MAXB_ROWS);
  }
#undef MAXB_ROWS
}

/* Max-pool backward recomputing the maxima from x, planes [g*per, min((g+1)*per, planes)) per
 * work-item: 2x2 stride-2 windows tiling the plane through maxpool2s2_recompute_rows, others plane
 * by plane (maxpool_backward_plane); the bits of maxpool_backward_indices_cpu on the forward's
 * indices. Global: (ceil(planes / per)). */
__kernel void maxpool_backward_cpu(__global const float *x, __global const float *dy,
                                   __global float *dx, int planes, int per, int H, int W, int P,
                                   int Q, int kh, int kw, int sh, int sw, int pt, int pl,
                                   float beta) {
  const int first = get_global_id(0) * per;
  const int last = min(first + per, planes);
  if (first >= last) return;
  const long HW = (long)H * W, PQ = (long)P * Q;
  if (kh == 2 && kw == 2 && sh == 2 && sw == 2 && pt == 0 && pl == 0 && H == 2 * P &&
      W == 2 * Q && W >= 8) {
    maxpool2s2_recompute_rows(x + first * HW, dy + first * PQ, dx + first * HW,
                              (long)(last - first) * P, Q, beta);
    return;
  }
  for (int plane = first; plane < last; plane++)
    maxpool_backward_plane(x + plane * HW, dy + plane * PQ, dx + plane * HW, H, W, P, Q, kh, kw,
                           sh, sw, pt, pl, beta);
}
