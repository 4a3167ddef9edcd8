/* cl/dropout.cl — inverted dropout driven by a counter-based generator, Philox4x32-10 (Salmon,
 * Moraes, Dror, Shaw: "Parallel random numbers: as easy as 1, 2, 3", SC 2011).
 *
 * Counter layout (tests/ref/dropout_ref.c implements the same): element i of a call uses the
 * absolute index a = offset + i (64-bit, wrapping). Philox runs on the counter
 * (lo32(a >> 2), hi32(a >> 2), 0, 0) with key (lo32(seed), hi32(seed)) and yields four words;
 * element a takes word a & 3. The element is kept when that word >= thr (thr = floor(p * 2^32),
 * computed by the host), i.e. with probability 1 - p, and kept elements are scaled by
 * `scale` = 1/(1-p). thr == 0 (p = 0) keeps everything without running Philox.
 *
 * One kernel serves forward and backward: out = beta*out + in * mask * scale, where beta == 0
 * overwrites out without reading it (forward: in = x, out = y; backward: in = dy, out = dx).
 * 1-D over chunks: work-item g handles [g*chunk, min((g+1)*chunk, n)). */

/* Element-by-element loops (chunk ends) stay scalar: LLVM's vectoriser would add vector copies
 * of them, code generation time for a few elements. */
#define DROPOUT_SCALAR_LOOP _Pragma("clang loop vectorize(disable) unroll(disable)")

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

uint4 philox4x32_10(uint4 c, uint2 k) {
  for (int r = 0; r < 10; r++) {
    if (r > 0) {
      k.x += PHILOX_W0;
      k.y += PHILOX_W1;
    }
    uint lo0 = PHILOX_M0 * c.x, hi0 = mul_hi(PHILOX_M0, c.x);
    uint lo1 = PHILOX_M1 * c.z, hi1 = mul_hi(PHILOX_M1, c.z);
    c = (uint4)(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
  }
  return c;
}

/* dropout_apply's body (CLNN_OUTLINE), for work-item g. */
CLNN_OUTLINE void dropout_chunk(__global const float *in, __global float *out, ulong n,
                                ulong chunk, ulong offset, uint key0, uint key1, uint thr,
                                float scale, float beta, ulong g) {
  ulong start = g * chunk;
  if (start >= n) return;
  ulong end = min(start + chunk, n);
  int acc = beta != 0.0f;
  ulong i = start;
  if (thr == 0u) { /* p = 0: identity */
    for (; i + 4 <= end; i += 4) {
      float4 g = vload4(0, in + i) * scale;
      if (acc) g = fma((float4)(beta), vload4(0, out + i), g);
      vstore4(g, 0, out + i);
    }
    DROPOUT_SCALAR_LOOP
    for (; i < end; i++) {
      float g = in[i] * scale;
      out[i] = acc ? fma(beta, out[i], g) : g;
    }
    return;
  }
  uint2 key = (uint2)(key0, key1);
  while (i < end) {
    if (((offset + i) & 3) == 0 && i + 64 <= end) {
      /* 16 blocks (64 elements) at a time: the 16 Philox states side by side in uint16 lanes
       * (structure of arrays), so the rounds run as wide vector operations on CPU devices */
      ulong c = (offset + i) >> 2;
      ulong16 cb = (ulong16)(c) + (ulong16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
      uint16 x0 = convert_uint16(cb), x1 = convert_uint16(cb >> 32);
      uint16 x2 = (uint16)(0u), x3 = (uint16)(0u);
      uint k0 = key0, k1 = key1;
      /* the rounds stay a loop: each is already 16 lanes wide, and unrolled ten times they
       * were most of this kernel's code generation time */
      _Pragma("nounroll") for (int r = 0; r < 10; r++) {
        uint16 lo0 = (uint16)(PHILOX_M0) * x0, hi0 = mul_hi((uint16)(PHILOX_M0), x0);
        uint16 lo1 = (uint16)(PHILOX_M1) * x2, hi1 = mul_hi((uint16)(PHILOX_M1), x2);
        x0 = hi1 ^ x1 ^ (uint16)(k0);
        x1 = lo1;
        x2 = hi0 ^ x3 ^ (uint16)(k1);
        x3 = lo0;
        k0 += PHILOX_W0; /* the key of the next round */
        k1 += PHILOX_W1;
      }
      /* block b holds the words (x0.sb, x1.sb, x2.sb, x3.sb) of elements i + 4b .. i + 4b + 3 */
#define DROPOUT_BLOCK(b, sb)                                                             \
  {                                                                                     \
    uint4 w = (uint4)(x0.sb, x1.sb, x2.sb, x3.sb);                                      \
    float4 m = select((float4)(0.0f), (float4)(scale), w >= (uint4)(thr));              \
    float4 g = vload4(0, in + i + 4 * b) * m;                                           \
    if (acc) g = fma((float4)(beta), vload4(0, out + i + 4 * b), g);                    \
    vstore4(g, 0, out + i + 4 * b);                                                     \
  }
      DROPOUT_BLOCK(0, s0) DROPOUT_BLOCK(1, s1) DROPOUT_BLOCK(2, s2) DROPOUT_BLOCK(3, s3)
      DROPOUT_BLOCK(4, s4) DROPOUT_BLOCK(5, s5) DROPOUT_BLOCK(6, s6) DROPOUT_BLOCK(7, s7)
      DROPOUT_BLOCK(8, s8) DROPOUT_BLOCK(9, s9) DROPOUT_BLOCK(10, sa) DROPOUT_BLOCK(11, sb)
      DROPOUT_BLOCK(12, sc) DROPOUT_BLOCK(13, sd) DROPOUT_BLOCK(14, se) DROPOUT_BLOCK(15, sf)
#undef DROPOUT_BLOCK
      i += 64;
      continue;
    }
    /* elsewhere (a partial block at either end of the chunk, the last whole blocks): one Philox
     * call per block of four, element by element */
    ulong a = offset + i;
    ulong c = a >> 2;
    uint4 r = philox4x32_10((uint4)((uint)c, (uint)(c >> 32), 0u, 0u), key);
    uint words[4] = {r.x, r.y, r.z, r.w};
    DROPOUT_SCALAR_LOOP
    for (uint w = (uint)(a & 3); w < 4u && i < end; w++, i++) {
      float g = in[i] * (words[w] >= thr ? scale : 0.0f);
      out[i] = acc ? fma(beta, out[i], g) : g;
    }
  }
}

__kernel void dropout_apply(__global const float *in, __global float *out, ulong n, ulong chunk,
                            ulong offset, uint key0, uint key1, uint thr, float scale,
                            float beta) {
  dropout_chunk(in, out, n, chunk, offset, key0, key1, thr, scale, beta, get_global_id(0));
}
