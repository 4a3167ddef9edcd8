/* cl/common.h — definitions shared by every clnn kernel and by the host.
 *
 * This file is valid C11 and valid OpenCL C. It is prepended to every kernel source when a program
 * is built, and included by the host (include/clnn.h uses the same numbers), so it is the single
 * source of truth for numbers both sides use. Keep it to #defines and tiny inline helpers guarded
 * by __OPENCL_VERSION__. */
#ifndef CLNN_CL_COMMON_H
#define CLNN_CL_COMMON_H

/* Activation ids: the values of clnn_activation in include/clnn.h (src/ops/activation.c checks at
 * compile time that the two agree). */
#define CLNN_ACT_ID_IDENTITY 0
#define CLNN_ACT_ID_RELU 1
#define CLNN_ACT_ID_LEAKY_RELU 2
#define CLNN_ACT_ID_ELU 3
#define CLNN_ACT_ID_SIGMOID 4
#define CLNN_ACT_ID_TANH 5
#define CLNN_ACT_ID_GELU 6
#define CLNN_ACT_ID_SOFTPLUS 7
#define CLNN_ACT_ID_COUNT 8

/* Device classes the host passes as -DCLNN_DEVICE_CLASS=... so kernels can pick a shape. */
#define CLNN_DEVICE_CLASS_CPU 0
#define CLNN_DEVICE_CLASS_GPU 1
#define CLNN_DEVICE_CLASS_ACCELERATOR 2

#ifdef __OPENCL_VERSION__
#ifndef CLNN_DEVICE_CLASS
#define CLNN_DEVICE_CLASS CLNN_DEVICE_CLASS_GPU /* which device class this build targets */
#endif

/* A kernel's body kept out of line on CPU devices: PoCL compiles each kernel three times over
 * at its first launch (the kernel and its two work-group launchers each inline the whole body),
 * so a kernel that only calls a CLNN_OUTLINE function with its work-item ids has its body
 * compiled once -- measured about half of the kernel's code generation time, for one call per
 * work-item. Only for bodies without barriers (PoCL inlines those anyway). Other classes inline
 * as usual. */
#if CLNN_DEVICE_CLASS == CLNN_DEVICE_CLASS_CPU
#define CLNN_OUTLINE __attribute__((noinline))
#else
#define CLNN_OUTLINE
#endif
/* A per-item body inlined into the loop of its CLNN_OUTLINE function over a work-group's items
 * (where one call per item would cost run time). Its pointer parameters carry no restrict:
 * inlining a restrict parameter leaves llvm.experimental.noalias.scope.decl calls, which
 * Oclgrind cannot run. */
#define CLNN_ITEM_INLINE __attribute__((always_inline)) inline

/* Convolution index ranges (cl/conv2d*.cl). Smallest i >= 0 with i*stride + off >= 0, i.e.
 * ceil(-off / stride) clamped at 0. */
inline int conv_first(int off, int stride) { return off >= 0 ? 0 : (-off + stride - 1) / stride; }
/* One past the largest i with i*stride + off <= limit - 1, clamped to [0, n]. */
inline int conv_end(int off, int stride, int limit, int n) {
  int last = limit - 1 - off;
  if (last < 0) return 0;
  return min(n, last / stride + 1);
}

/* For strides b (usually 1 or 2) in hot loops, where an integer division costs more than the
 * rest of the loop body (measured 2x on depthwise backward-data): CONV_MOD(a, b) is nonzero iff
 * b does not divide a; CONV_DIV(a, b) is a / b for a multiple a of b (exact, any sign). */
#define CONV_MOD(a, b) ((b) == 1 ? 0 : (b) == 2 ? ((a) & 1) : (a) % (b))
#define CONV_DIV(a, b) ((b) == 1 ? (a) : (b) == 2 ? ((a) >> 1) : (a) / (b))

/* Strided loads for the CPU kernels (cl/conv2d_dw_cpu.cl, cl/pool2d_cpu.cl): lanes i = 0..15 of
 * row[start + i*stride], all in bounds (stride 2 also reads row[start + 31]). One loader per
 * stride: the hot loops are instantiated once per loader (LD16_BY_STRIDE, below), since
 * a stride test inside them measured 2x slower on PoCL even when never taken. */
inline float16 ld16_stride1(__global const float *row, int start, int stride) {
  (void)stride;
  return vload16(0, row + start);
}
inline float16 ld16_stride2(__global const float *row, int start, int stride) {
  (void)stride;
  const float16 a = vload16(0, row + start), b = vload16(0, row + start + 16);
  return (float16)(a.even, b.even);
}
inline float16 ld16_stride_n(__global const float *row, int start, int stride) {
  __global const float *r = row + start;
  return (float16)(r[0], r[stride], r[2 * stride], r[3 * stride], r[4 * stride], r[5 * stride],
                   r[6 * stride], r[7 * stride], r[8 * stride], r[9 * stride], r[10 * stride],
                   r[11 * stride], r[12 * stride], r[13 * stride], r[14 * stride], r[15 * stride]);
}
/* Horizontal sum of a float16 in a fixed order (cl/conv2d*.cl). */
inline float conv_hsum16(float16 v) {
  const float8 a = v.lo + v.hi;
  const float4 b = a.lo + a.hi;
  const float2 c = b.lo + b.hi;
  return c.x + c.y;
}

/* A float16 at any float-aligned address: a single unaligned vector store where vstore16 may
 * be split into pieces by the compiler's library. */
typedef float16 float16_unaligned __attribute__((aligned(4)));
/* d[0 .. 15] = v as one store (vstore16 may come out as several; see float16_unaligned). */
inline void store16(__global float *d, float16 v) { *(__global float16_unaligned *)d = v; }

/* d[0 .. n) = beta*d (beta == 0: zeros, d not read): the rows and runs of a gradient that no
 * term reaches (col2im, max-pool backward). Scalar tails: LLVM's vectoriser would add masked
 * copies of each tail loop at every inlined call (code generation time for a few elements). */
inline void scale_run(__global float *d, long n, float beta) {
  long i = 0;
  if (beta == 0.0f) {
    for (; i + 16 <= n; i += 16) store16(d + i, (float16)(0.0f));
    #pragma clang loop vectorize(disable) unroll(disable)
    for (; i < n; i++) d[i] = 0.0f;
  } else {
    for (; i + 16 <= n; i += 16) store16(d + i, (float16)(beta) * vload16(0, d + i));
    #pragma clang loop vectorize(disable) unroll(disable)
    for (; i < n; i++) d[i] = beta * d[i];
  }
}

/* d[0 .. 15] = beta*d + v (beta == 0: v, d not read) */
inline void conv_store16_beta(__global float *d, float16 v, float beta) {
  if (beta == 0.0f) store16(d, v);
  else store16(d, (float16)(beta) * vload16(0, d) + v);
}

/* Pooling window helpers (cl/pool2d.cl, cl/pool2d_cpu.cl). Flat index (h*W + w) of the first
 * maximum of the window at rows [h0, h0 + kh) and columns [w0, w0 + kw), clipped to the plane
 * (NaN counts as the maximum; the first NaN wins). Scans rows then columns. */
inline int pool_window_argmax(__global const float *xp, int H, int W, int h0, int w0, int kh, int kw) {
  int hs = max(h0, 0), he = min(h0 + kh, H);
  int ws = max(w0, 0), we = min(w0 + kw, W);
  int best_i = hs * W + ws;
  float best = xp[best_i];
  for (int h = hs; h < he; h++) {
    for (int w = ws; w < we; w++) {
      float v = xp[h * W + w];
      if (v > best || (isnan(v) && !isnan(best))) {
        best = v;
        best_i = h * W + w;
      }
    }
  }
  return best_i;
}
/* Divisor of an average window at (h0, w0): the in-bounds element count, or with
 * count_include_pad the window clipped to the padded extent [-pt, H + pb) x [-pl, W + pr) (as
 * PyTorch does). */
inline int avgpool_divisor(int h0, int w0, int H, int W, int kh, int kw, int pb, int pr,
                           int count_include_pad) {
  if (count_include_pad) return (min(h0 + kh, H + pb) - h0) * (min(w0 + kw, W + pr) - w0);
  return (min(h0 + kh, H) - max(h0, 0)) * (min(w0 + kw, W) - max(w0, 0));
}

/* Applies activation `act` (a CLNN_ACT_ID_*) with parameter `alpha` (leaky slope, ELU alpha). */
inline float clnn_act_apply(int act, float alpha, float x) {
  switch (act) {
    case CLNN_ACT_ID_RELU: return fmax(x, 0.0f);
    case CLNN_ACT_ID_LEAKY_RELU: return x > 0.0f ? x : alpha * x;
    case CLNN_ACT_ID_ELU: return x > 0.0f ? x : alpha * (exp(x) - 1.0f);
    case CLNN_ACT_ID_SIGMOID: return 1.0f / (1.0f + exp(-x));
    case CLNN_ACT_ID_TANH: return tanh(x);
    case CLNN_ACT_ID_GELU: return 0.5f * x * (1.0f + erf(x * 0.70710678118654752f));
    case CLNN_ACT_ID_SOFTPLUS: return x > 20.0f ? x : log1p(exp(x));
    default: return x;
  }
}
/* The recurrent layers' scale kernel, one per program (gru.cl, lstm.cl expand it with their
 * prefix): P##_scale: buf[i] = beta * buf[i] for i < n (zeros when beta is 0), for a gradient
 * that gets no contribution. (Their bias gradients are column sums through dense_bias_grad.) */
#define CLNN_RNN_SCALE_KERNEL(P)                                                                  \
  kernel void P##_scale(global float *buf, ulong n, float beta) {                                 \
    const size_t i = get_global_id(0);                                                            \
    if (i >= n) return;                                                                           \
    buf[i] = beta == 0.0f ? 0.0f : beta * buf[i];                                                 \
  }
/* Helpers of the CPU direct-convolution kernels, shared by the programs of cl/conv2d_direct.cl
 * and cl/conv2d_direct_general.cl (built apart, so that a network whose first layer is the only
 * direct one does not build the others). The flat-run layout they work on is described at the
 * top of cl/conv2d_direct.cl. */

#define FLAT_LANES ((int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))

/* Row and column of the 16 pixels of the run starting at flat index i0 of a W-wide plane. */
inline void flat_coords(int i0, int W, int16 *hv, int16 *wv) {
  const int h0 = i0 / W;
  int16 q = (int16)(i0 - h0 * W) + FLAT_LANES;
  int16 h = (int16)(h0);
  int16 wrap = q >= (int16)(W);
  while (any(wrap)) {
    q -= select((int16)(0), (int16)(W), wrap);
    h -= wrap; /* wrap is -1 where true */
    wrap = q >= (int16)(W);
  }
  *hv = h;
  *wv = q;
}

/* Moves the coordinates of a run to the next run (16 pixels on). */
inline void flat_next(int W, int16 *hv, int16 *wv) {
  int16 q = *wv + (int16)(16), h = *hv;
  if (W >= 16) { /* at most one wrap per lane */
    const int16 wrap = q >= (int16)(W);
    q -= (int16)(W) & wrap;
    h -= wrap;
  } else {
    int16 wrap = q >= (int16)(W);
    while (any(wrap)) {
      q -= (int16)(W) & wrap;
      h -= wrap;
      wrap = q >= (int16)(W);
    }
  }
  *hv = h;
  *wv = q;
}

/* 16 lanes of plane[e0 + l], 0 where m is false or e0 + l is outside [0, n). */
inline float16 flat_gather(__global const float *plane, int e0, int n, int16 m) {
  float t[16];
  int mm[16];
  vstore16(m, 0, mm);
  for (int l = 0; l < 16; l++) {
    const int e = e0 + l;
    t[l] = (mm[l] && e >= 0 && e < n) ? plane[e] : 0.0f;
  }
  return vload16(0, t);
}

/* Tap vector of a run outside the fast path: lanes plane[e0 + l] where m, else 0 — a vector
 * load when the 16 elements lie in the plane, nothing when none does, a gather otherwise. */
inline float16 flat_tap(__global const float *plane, int e0, int n, int16 m) {
  if (e0 >= 0 && e0 + 16 <= n) return select((float16)(0.0f), vload16(0, plane + e0), m);
  if (e0 + 16 <= 0 || e0 >= n) return (float16)(0.0f); /* every lane's element is outside */
  return flat_gather(plane, e0, n, m);
}

/* d[0 .. n) = act(beta*d + v + b) (n <= 16; beta == 0 never reads d). */
inline void flat_store(__global float *d, float16 v, int n, float b, float beta, int act,
                       float alpha) {
  if (n == 16 && (act == CLNN_ACT_ID_IDENTITY || act == CLNN_ACT_ID_RELU)) {
    if (beta != 0.0f) v = (float16)(beta) * vload16(0, d) + v;
    v += (float16)(b);
    if (act == CLNN_ACT_ID_RELU) v = fmax(v, (float16)(0.0f));
    vstore16(v, 0, d);
    return;
  }
  float t[16];
  vstore16(v, 0, t);
  for (int l = 0; l < n; l++) {
    float u = t[l];
    if (beta != 0.0f) u = beta * d[l] + u;
    d[l] = clnn_act_apply(act, alpha, u + b);
  }
}

/* dst[0 .. n) = 0, in vectors of 16 then floats. */
inline void band_zero(__local float *dst, int n) {
  int i = 0;
  for (; i + 16 <= n; i += 16) *(__local float16_unaligned *)(dst + i) = (float16)(0.0f);
  for (; i < n; i++) dst[i] = 0.0f;
}

/* Copies an H x W plane (rows W apart) to dst (rows ld apart): vectors of 16, the last one of a
 * row overlapping the one before it when W is not a multiple of 16; element by element below 16. */
inline void band_copy_plane(__global const float *src, int H, int W, __local float *dst, int ld) {
  for (int h = 0; h < H; h++) {
    __global const float *s = src + (long)h * W;
    __local float *d = dst + h * ld;
    if (W >= 16) {
      for (int w0 = 0; w0 + 16 <= W; w0 += 16) *(__local float16_unaligned *)(d + w0) = vload16(0, s + w0);
      if (W % 16) *(__local float16_unaligned *)(d + W - 16) = vload16(0, s + W - 16);
    } else {
      for (int w = 0; w < W; w++) d[w] = s[w];
    }
  }
}
/* Row helpers of the CPU pooling kernels (cl/pool2d_cpu.cl and cl/pool2d_avg_cpu.cl, built
 * apart). */
#define POOL_LANES ((int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))

/* 8-lane loads of a row at stride 1, 2 or any (rows too narrow for the 16-lane ld16_* above). */
inline float8 pool_ld1_8(__global const float *row, int start, int stride) {
  (void)stride;
  return vload8(0, row + start);
}
inline float8 pool_ld2_8(__global const float *row, int start, int stride) {
  (void)stride;
  return vload16(0, row + start).even;
}
inline float8 pool_ldn_8(__global const float *row, int start, int stride) {
  __global const float *r = row + start;
  return (float8)(r[0], r[stride], r[2 * stride], r[3 * stride], r[4 * stride], r[5 * stride],
                  r[6 * stride], r[7 * stride]);
}
#define POOL_BY_STRIDE8(stride, BODY)        \
  do {                                       \
    if ((stride) == 1) BODY(pool_ld1_8)      \
    else if ((stride) == 2) BODY(pool_ld2_8) \
    else BODY(pool_ldn_8)                    \
  } while (0)
/* Runs BODY(loader) with the ld16_* loader for `stride` (pooling and depthwise row kernels). */
#define LD16_BY_STRIDE(stride, BODY)               \
  do {                                             \
    if ((stride) == 1) BODY(ld16_stride1)          \
    else if ((stride) == 2) BODY(ld16_stride2)     \
    else BODY(ld16_stride_n)                       \
  } while (0)

/* Output columns [x, y) whose windows [q*sw - pl, q*sw - pl + kw) lie inside [0, W) (one more
 * column to spare at stride 2, which ld16_stride2 reads). */
inline int2 pool_interior(int W, int Q, int kw, int sw, int pl) {
  const int a = min(Q, pl <= 0 ? 0 : (pl + sw - 1) / sw);
  const int last = W - 1 - (kw - 1 + (sw == 2 ? 1 : 0) - pl); /* q*sw <= last */
  const int b = last < 0 ? 0 : min(Q, last / sw + 1);
  return (int2)(a, max(a, b));
}

#endif /* __OPENCL_VERSION__ */

#endif /* CLNN_CL_COMMON_H */
