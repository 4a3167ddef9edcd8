/* cl/attention.cl — scaled dot-product attention, multi-head, forward and backward, tiled in the
 * manner of FlashAttention-2 (Dao 2023): the [Tq, Tk] score matrix of a (batch, head) is never
 * stored. Forward walks the keys in tiles held in local memory with an online softmax and saves
 * the log-sum-exp of every query row; backward recomputes the weights from it.
 *
 * Element (b, h, t, d) of q, o, dO, dq lives at b*qsb + h*qsh + t*qst + d, of k, v, dk, dv at
 * b*ksb + h*ksh + t*kst + d (the host passes the strides of its layout). Masks: key j is seen by
 * query i when j < len (len = lens[b] when has_len, else Tk) and, when causal, j <= i + Tk - Tq.
 * Dropout on the weights uses the Philox4x32-10 stream of cl/dropout.cl: weight (b, h, i, j) is
 * element a = offset + ((b*H + h)*Tq + i)*Tk + j, kept when word (a & 3) of
 * philox((lo32(a >> 2), hi32(a >> 2), 0, 0), (key0, key1)) >= thr, and scaled by dscale; thr == 0
 * means no dropout.
 *
 * Deterministic without atomics: forward and dq give each query row to one work-item, dk/dv each
 * key row to one work-item, and every sum runs in a fixed order. Launch: (rows rounded up to the
 * local size, B*H) with local size (BQ, 1); the key or query tile (`tile` rows) is loaded into
 * local memory by the whole work-group. Dh <= ATTN_DMAX and tile <= ATTN_TMAX (host checks).
 * The inner loops take the tile's rows four at a time (attn_dot4): four independent fma chains
 * per step instead of one, each summed in the same order as a single row would be. */

#define ATTN_DMAX 128
#define ATTN_TMAX 64

#define ATTN_M0 0xD2511F53u
#define ATTN_M1 0xCD9E8D57u
#define ATTN_W0 0x9E3779B9u
#define ATTN_W1 0xBB67AE85u

uint4 attn_philox(uint4 c, uint2 k) {
  for (int r = 0; r < 10; r++) {
    if (r > 0) {
      k.x += ATTN_W0;
      k.y += ATTN_W1;
    }
    uint lo0 = ATTN_M0 * c.x, hi0 = mul_hi(ATTN_M0, c.x);
    uint lo1 = ATTN_M1 * c.z, hi1 = mul_hi(ATTN_M1, c.z);
    c = (uint4)(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
  }
  return c;
}

/* The Philox word of absolute element a. */
inline uint attn_word(ulong a, uint key0, uint key1) {
  ulong c = a >> 2;
  uint4 r = attn_philox((uint4)((uint)c, (uint)(c >> 32), 0u, 0u), (uint2)(key0, key1));
  uint w = (uint)(a & 3);
  return w == 0 ? r.x : w == 1 ? r.y : w == 2 ? r.z : r.w;
}

/* Mask and dropout arguments shared by every kernel. */
#define ATTN_GEOM_ARGS                                                                          \
  __global const int *lens, int has_len, ulong H, ulong Tq, ulong Tk, ulong Dh, ulong qsb,       \
      ulong qsh, ulong qst, ulong ksb, ulong ksh, ulong kst, float scale, int causal, uint thr,   \
      float dscale, uint key0, uint key1, ulong offset

/* Number of keys the rows [i0, i1) of this group may see (causal: up to i1 - 1 + Tk - Tq). */
inline size_t attn_key_end(size_t len, int causal, size_t i1, size_t Tq, size_t Tk) {
  return causal ? min(len, i1 + Tk - Tq) : len;
}

/* Copies rows [t0, t0 + n) of x (row stride st, base p) into the local tile (n x Dh, packed). */
inline void attn_load(__local float *tile, __global const float *p, size_t t0, size_t n,
                      size_t st, size_t Dh) {
  size_t lid = get_local_id(0), L = get_local_size(0);
  for (size_t e = lid; e < n * Dh; e += L) {
    size_t r = e / Dh, d = e - r * Dh;
    tile[e] = p[(t0 + r) * st + d];
  }
}

/* s[c] = sum over d of a[d] * b[c*Dh + d] for the four rows c = 0..3 of b, each summed in order
 * d = 0, 1, ... exactly as one row alone would be: four independent fma chains instead of one,
 * so the CPU is not stalled on a single chain's latency (results repeat bit for bit). */
inline void attn_dot4(const float *a, __local const float *b, size_t Dh, float *s) {
  float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
  __local const float *b1 = b + Dh, *b2 = b + 2 * Dh, *b3 = b + 3 * Dh;
  for (size_t d = 0; d < Dh; d++) {
    float x = a[d];
    s0 = fma(x, b[d], s0);
    s1 = fma(x, b1[d], s1);
    s2 = fma(x, b2[d], s2);
    s3 = fma(x, b3[d], s3);
  }
  s[0] = s0;
  s[1] = s1;
  s[2] = s2;
  s[3] = s3;
}

/* attn_dot4(a, b, Dh, s) and attn_dot4(c, e, Dh, t) in one loop: eight independent chains. */
inline void attn_dot4_pair(const float *a, __local const float *b, const float *c,
                           __local const float *e, size_t Dh, float *s, float *t) {
  float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f, t0 = 0.0f, t1 = 0.0f, t2 = 0.0f, t3 = 0.0f;
  __local const float *b1 = b + Dh, *b2 = b + 2 * Dh, *b3 = b + 3 * Dh;
  __local const float *e1 = e + Dh, *e2 = e + 2 * Dh, *e3 = e + 3 * Dh;
  for (size_t d = 0; d < Dh; d++) {
    float x = a[d], y = c[d];
    s0 = fma(x, b[d], s0);
    s1 = fma(x, b1[d], s1);
    s2 = fma(x, b2[d], s2);
    s3 = fma(x, b3[d], s3);
    t0 = fma(y, e[d], t0);
    t1 = fma(y, e1[d], t1);
    t2 = fma(y, e2[d], t2);
    t3 = fma(y, e3[d], t3);
  }
  s[0] = s0;
  s[1] = s1;
  s[2] = s2;
  s[3] = s3;
  t[0] = t0;
  t[1] = t1;
  t[2] = t2;
  t[3] = t3;
}

/* o = softmax(scale * q k^T, masked) (with dropout) v; lse[bh*Tq + i] = log-sum-exp of the masked
 * scaled scores of row i (want_lse). One work-item per query row. */
__kernel void attn_forward(__global const float *q, __global const float *k,
                           __global const float *v, __global float *o, __global float *lse,
                           int want_lse, ATTN_GEOM_ARGS, __local float *kt, __local float *vt,
                           ulong tile) {
  size_t lid = get_local_id(0), BQ = get_local_size(0);
  size_t bh = get_global_id(1), b = bh / H, h = bh - b * H;
  size_t i0 = get_group_id(0) * BQ, i = i0 + lid;
  int active = i < Tq;
  size_t len = has_len ? (size_t)lens[b] : Tk;
  size_t kend = attn_key_end(len, causal, min(i0 + BQ, (size_t)Tq), Tq, Tk);
  size_t kmax = active ? attn_key_end(len, causal, i + 1, Tq, Tk) : 0;
  __global const float *kb = k + b * ksb + h * ksh, *vb = v + b * ksb + h * ksh;
  float qr[ATTN_DMAX], acc[ATTN_DMAX], sc[ATTN_TMAX];
  for (size_t d = 0; d < Dh; d++) {
    qr[d] = active ? q[b * qsb + h * qsh + i * qst + d] * scale : 0.0f;
    acc[d] = 0.0f;
  }
  float m = -INFINITY, l = 0.0f;
  ulong arow = offset + (bh * Tq + i) * Tk;
  for (size_t t0 = 0; t0 < kend; t0 += tile) {
    size_t n = min((size_t)tile, kend - t0);
    barrier(CLK_LOCAL_MEM_FENCE); /* the previous tile is consumed */
    attn_load(kt, kb, t0, n, kst, Dh);
    attn_load(vt, vb, t0, n, kst, Dh);
    barrier(CLK_LOCAL_MEM_FENCE);
    if (!active || t0 >= kmax) continue;
    size_t nv = min(n, kmax - t0); /* keys of the tile this row sees */
    float tmax = -INFINITY;
    size_t jj = 0;
    for (; jj + 4 <= nv; jj += 4) attn_dot4(qr, kt + jj * Dh, Dh, sc + jj);
    for (; jj < nv; jj++) {
      __local const float *kr = kt + jj * Dh;
      float s = 0.0f;
      for (size_t d = 0; d < Dh; d++) s = fma(qr[d], kr[d], s);
      sc[jj] = s;
    }
    for (jj = 0; jj < nv; jj++) tmax = fmax(tmax, sc[jj]);
    float mn = fmax(m, tmax);
    float corr = exp(m - mn); /* 0 on the first tile (m = -inf) */
    l *= corr;
    for (size_t d = 0; d < Dh; d++) acc[d] *= corr;
    for (jj = 0; jj < nv; jj++) {
      float p = exp(sc[jj] - mn);
      l += p;
      if (thr) p = attn_word(arow + t0 + jj, key0, key1) >= thr ? p * dscale : 0.0f;
      sc[jj] = p;
    }
    /* weights four at a time; a block with a dropped (zero) weight goes one by one, skipping it */
    for (jj = 0; jj + 4 <= nv; jj += 4) {
      float p0 = sc[jj], p1 = sc[jj + 1], p2 = sc[jj + 2], p3 = sc[jj + 3];
      __local const float *v0 = vt + jj * Dh, *v1 = v0 + Dh, *v2 = v1 + Dh, *v3 = v2 + Dh;
      if (p0 != 0.0f && p1 != 0.0f && p2 != 0.0f && p3 != 0.0f) {
        for (size_t d = 0; d < Dh; d++)
          acc[d] = fma(p3, v3[d], fma(p2, v2[d], fma(p1, v1[d], fma(p0, v0[d], acc[d]))));
        continue;
      }
      for (size_t c = 0; c < 4; c++) {
        float p = sc[jj + c];
        __local const float *vr = v0 + c * Dh;
        if (p != 0.0f)
          for (size_t d = 0; d < Dh; d++) acc[d] = fma(p, vr[d], acc[d]);
      }
    }
    for (; jj < nv; jj++) {
      float p = sc[jj];
      if (p != 0.0f) {
        __local const float *vr = vt + jj * Dh;
        for (size_t d = 0; d < Dh; d++) acc[d] = fma(p, vr[d], acc[d]);
      }
    }
    m = mn;
  }
  if (!active) return;
  float inv = 1.0f / l;
  __global float *orow = o + b * qsb + h * qsh + i * qst;
  for (size_t d = 0; d < Dh; d++) orow[d] = acc[d] * inv;
  if (want_lse) lse[bh * Tq + i] = m + log(l);
}

/* delta[bh*Tq + i] = sum over d of dO[b, h, i, d] * o[b, h, i, d]. 2-D launch over (Tq, B*H). */
__kernel void attn_bwd_delta(__global const float *o, __global const float *dout,
                             __global float *delta, ulong H, ulong Tq, ulong Dh, ulong qsb,
                             ulong qsh, ulong qst) {
  size_t i = get_global_id(0), bh = get_global_id(1), b = bh / H, h = bh - b * H;
  if (i >= Tq) return;
  size_t at = b * qsb + h * qsh + i * qst;
  float s = 0.0f;
  for (size_t d = 0; d < Dh; d++) s = fma(dout[at + d], o[at + d], s);
  delta[bh * Tq + i] = s;
}

/* dk = beta*dk + scale * sum_i ds_ij q_i and dv = beta*dv + sum_i pd_ij dO_i for key row j, where
 * p_ij = exp(scale q_i.k_j - lse_i), pd_ij = p_ij * keep_ij * dscale (keep 1 without dropout),
 * ds_ij = p_ij (keep_ij dscale dO_i.v_j - delta_i). One work-item per key row; the query rows
 * go through local memory in tiles. Keys the mask hides from every query get beta*old. */
__kernel void attn_bwd_dkdv(__global const float *q, __global const float *k,
                            __global const float *v, __global const float *dout,
                            __global const float *lse, __global const float *delta, float beta,
                            int want_dk, __global float *dk, int want_dv, __global float *dv,
                            ATTN_GEOM_ARGS, __local float *qt, __local float *dot,
                            __local float *rowstat, ulong tile) {
  size_t lid = get_local_id(0), BK = get_local_size(0);
  size_t bh = get_global_id(1), b = bh / H, h = bh - b * H;
  size_t j0 = get_group_id(0) * BK, j = j0 + lid;
  size_t len = has_len ? (size_t)lens[b] : Tk;
  int active = j < Tk, valid = j < len;
  /* first query row any key of the group is seen by (causal: i >= j - (Tk - Tq)) */
  size_t shift = Tk - Tq;
  size_t istart = causal && j0 > shift ? j0 - shift : 0;
  size_t iend = j0 < len ? Tq : 0;
  size_t kat = b * ksb + h * ksh + j * kst;
  float kr[ATTN_DMAX], vr[ATTN_DMAX], dka[ATTN_DMAX], dva[ATTN_DMAX];
  for (size_t d = 0; d < Dh; d++) {
    kr[d] = valid ? k[kat + d] * scale : 0.0f;
    vr[d] = valid ? v[kat + d] : 0.0f;
    dka[d] = 0.0f;
    dva[d] = 0.0f;
  }
  __global const float *qb = q + b * qsb + h * qsh, *db = dout + b * qsb + h * qsh;
  ulong acol = offset + bh * Tq * Tk + j;
  for (size_t t0 = istart; t0 < iend; t0 += tile) {
    size_t n = min((size_t)tile, iend - t0);
    barrier(CLK_LOCAL_MEM_FENCE);
    attn_load(qt, qb, t0, n, qst, Dh);
    attn_load(dot, db, t0, n, qst, Dh);
    for (size_t e = lid; e < n; e += BK) {
      rowstat[e] = lse[bh * Tq + t0 + e];
      rowstat[ATTN_TMAX + e] = delta[bh * Tq + t0 + e];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (!valid) continue;
    /* queries of the tile this key is seen by: i >= j - shift when causal */
    size_t ii = causal && j > t0 + shift ? min(n, j - shift - t0) : 0;
    for (; ii + 4 <= n; ii += 4) { /* four queries at a time: the same sums, in the same order */
      float s[4], dp[4], pd[4], ds[4];
      __local const float *q0 = qt + ii * Dh, *g0 = dot + ii * Dh;
      attn_dot4_pair(kr, q0, vr, g0, Dh, s, dp);
      for (int c = 0; c < 4; c++) {
        size_t i = t0 + ii + c;
        float p = exp(s[c] - rowstat[ii + c]), keep = 1.0f;
        if (thr) keep = attn_word(acol + i * Tk, key0, key1) >= thr ? dscale : 0.0f;
        pd[c] = p * keep;
        ds[c] = p * (dp[c] * keep - rowstat[ATTN_TMAX + ii + c]);
      }
      __local const float *q1 = q0 + Dh, *q2 = q1 + Dh, *q3 = q2 + Dh;
      __local const float *g1 = g0 + Dh, *g2 = g1 + Dh, *g3 = g2 + Dh;
      for (size_t d = 0; d < Dh; d++) {
        dva[d] = fma(pd[3], g3[d], fma(pd[2], g2[d], fma(pd[1], g1[d], fma(pd[0], g0[d], dva[d]))));
        dka[d] = fma(ds[3], q3[d], fma(ds[2], q2[d], fma(ds[1], q1[d], fma(ds[0], q0[d], dka[d]))));
      }
    }
    for (; ii < n; ii++) {
      size_t i = t0 + ii;
      __local const float *qi = qt + ii * Dh, *gi = dot + ii * Dh;
      float s = 0.0f, dp = 0.0f;
      for (size_t d = 0; d < Dh; d++) {
        s = fma(qi[d], kr[d], s);
        dp = fma(gi[d], vr[d], dp);
      }
      float p = exp(s - rowstat[ii]);
      float keep = 1.0f;
      if (thr) keep = attn_word(acol + i * Tk, key0, key1) >= thr ? dscale : 0.0f;
      float pd = p * keep, ds = p * (dp * keep - rowstat[ATTN_TMAX + ii]);
      for (size_t d = 0; d < Dh; d++) {
        dva[d] = fma(pd, gi[d], dva[d]);
        dka[d] = fma(ds, qi[d], dka[d]);
      }
    }
  }
  if (!active) return;
  for (size_t d = 0; d < Dh; d++) {
    float gk = dka[d] * scale, gv = dva[d];
    if (want_dk) dk[kat + d] = beta == 0.0f ? gk : beta * dk[kat + d] + gk;
    if (want_dv) dv[kat + d] = beta == 0.0f ? gv : beta * dv[kat + d] + gv;
  }
}

/* dq = beta*dq + scale * sum_j ds_ij k_j for query row i (ds as in attn_bwd_dkdv). One work-item
 * per query row; key and value rows go through local memory in tiles, as in the forward. */
__kernel void attn_bwd_dq(__global const float *q, __global const float *k,
                          __global const float *v, __global const float *dout,
                          __global const float *lse, __global const float *delta, float beta,
                          __global float *dq, ATTN_GEOM_ARGS, __local float *kt,
                          __local float *vt, ulong tile) {
  size_t lid = get_local_id(0), BQ = get_local_size(0);
  size_t bh = get_global_id(1), b = bh / H, h = bh - b * H;
  size_t i0 = get_group_id(0) * BQ, i = i0 + lid;
  int active = i < Tq;
  size_t len = has_len ? (size_t)lens[b] : Tk;
  size_t kend = attn_key_end(len, causal, min(i0 + BQ, (size_t)Tq), Tq, Tk);
  size_t kmax = active ? attn_key_end(len, causal, i + 1, Tq, Tk) : 0;
  __global const float *kb = k + b * ksb + h * ksh, *vb = v + b * ksb + h * ksh;
  size_t qat = b * qsb + h * qsh + i * qst;
  float qr[ATTN_DMAX], gr[ATTN_DMAX], dqa[ATTN_DMAX];
  for (size_t d = 0; d < Dh; d++) {
    qr[d] = active ? q[qat + d] * scale : 0.0f;
    gr[d] = active ? dout[qat + d] : 0.0f;
    dqa[d] = 0.0f;
  }
  float li = active ? lse[bh * Tq + i] : 0.0f, di = active ? delta[bh * Tq + i] : 0.0f;
  ulong arow = offset + (bh * Tq + i) * Tk;
  for (size_t t0 = 0; t0 < kend; t0 += tile) {
    size_t n = min((size_t)tile, kend - t0);
    barrier(CLK_LOCAL_MEM_FENCE);
    attn_load(kt, kb, t0, n, kst, Dh);
    attn_load(vt, vb, t0, n, kst, Dh);
    barrier(CLK_LOCAL_MEM_FENCE);
    if (!active || t0 >= kmax) continue;
    size_t nv = min(n, kmax - t0);
    size_t jj = 0;
    for (; jj + 4 <= nv; jj += 4) { /* four keys at a time: the same sums, in the same order */
      float s[4], dp[4], ds[4];
      attn_dot4_pair(qr, kt + jj * Dh, gr, vt + jj * Dh, Dh, s, dp);
      for (int c = 0; c < 4; c++) {
        float p = exp(s[c] - li), keep = 1.0f;
        if (thr) keep = attn_word(arow + t0 + jj + c, key0, key1) >= thr ? dscale : 0.0f;
        ds[c] = p * (dp[c] * keep - di);
      }
      __local const float *k0 = kt + jj * Dh, *k1 = k0 + Dh, *k2 = k1 + Dh, *k3 = k2 + Dh;
      for (size_t d = 0; d < Dh; d++)
        dqa[d] = fma(ds[3], k3[d], fma(ds[2], k2[d], fma(ds[1], k1[d], fma(ds[0], k0[d], dqa[d]))));
    }
    for (; jj < nv; jj++) {
      __local const float *kr = kt + jj * Dh, *vr = vt + jj * Dh;
      float s = 0.0f, dp = 0.0f;
      for (size_t d = 0; d < Dh; d++) {
        s = fma(qr[d], kr[d], s);
        dp = fma(gr[d], vr[d], dp);
      }
      float p = exp(s - li);
      float keep = 1.0f;
      if (thr) keep = attn_word(arow + t0 + jj, key0, key1) >= thr ? dscale : 0.0f;
      float ds = p * (dp * keep - di);
      for (size_t d = 0; d < Dh; d++) dqa[d] = fma(ds, kr[d], dqa[d]);
    }
  }
  if (!active) return;
  for (size_t d = 0; d < Dh; d++) {
    float g = dqa[d] * scale;
    dq[qat + d] = beta == 0.0f ? g : beta * dq[qat + d] + g;
  }
}
