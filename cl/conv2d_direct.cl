/* cl/conv2d_direct.cl — direct convolution for CPU devices with one input channel per group (the
 * first layer of a CNN on grey images: LeNet's, the digits and MNIST examples'; depthwise
 * backward-filter), used by src/ops/conv2d_direct.c for stride 1 with an output as large as the
 * input (P == H, Q == W: "same" padding, any dilation):
 *   conv2d_flat_forward_c1_k16_{5x5,3x3}_cpu  y = act(beta*y + conv(x, w) + bias): blocks of 16
 *                                          output channels per work-item, weights in private
 *                                          memory
 *   conv2d_flat_bwd_filter_c1_{5x5,3x3}_cpu  dw = beta*dw + sum over n, pixels of dy * x: one
 *                                          output channel's every tap per work-item, a window
 *                                          of dy rows in registers
 * Backward-data of such a layer is the forward kernel run on dy with the taps flipped (flip = 1,
 * paddings mirrored). The direct kernels for several input channels per group, depthwise forward
 * and other strides are in cl/conv2d_direct_general.cl, a program of its own: these four are in
 * the CPU training unit (src/ops/program.c), which every CNN builds, and PoCL's front end costs
 * about 0.05 s per kernel in a program whether it runs or not.
 *
 * The flat kernels walk a plane of H*W pixels as flat runs of 16 consecutive pixels (one
 * float16; rows of any width, several rows per vector on narrow planes, no partial row chunks).
 * Output pixel i reads input pixel i + (r*dh - pt)*W + s*dw - pl for tap (r, s) wherever that
 * tap's row and column exist, so each tap is one vector load (a per-lane gather only where a load
 * would leave the buffer) and one lane mask. Each loaded vector feeds the FMAs of every output
 * channel of the block (register blocking along K). Sums run in a fixed
 * order inside one work-item: deterministic, no atomics. Every work-group is one work-item (PoCL
 * runs each as one task); each kernel only calls its body, a CLNN_OUTLINE function, so PoCL
 * compiles the body once instead of in the kernel and in each of its two work-group launchers
 * (0.46-0.60 -> 0.24-0.30 s for the 3x3 forward at its first launch). cl/common.h, with the
 * helpers these kernels share with cl/conv2d_direct_general.cl (flat_*, band_zero,
 * band_copy_plane), is prepended by the runtime. */

/* Forward for one input channel per group (Cg == 1: a first layer on grey images, and the
 * backward-data of such a layer's transposed convolution), RR x SS taps (each filter row's SS taps
 * x KB channels unrolled, the RR rows a loop: fully unrolled, PoCL's code generation took
 * 1.3 s for 3x3 and 4.6 s for 5x5 at first launch, for no faster a kernel), more than 8
 * output channels per group (depthwise has its band kernel in cl/conv2d_direct_general.cl): the
 * work-item for (image n, block of KB output channels of group g) copies the block's KB*RR*SS weights into private
 * memory once (zeros past the group's last channel, taps reversed for flip), then per run of 16
 * pixels loads each tap's input vector once and feeds it to KB FMAs whose weight is a constant
 * offset into that copy (no per-channel branch or address in the hot loop). Each run's KB sums
 * start at the bias and stay in registers. Lanes whose tap column lies in the padding are masked
 * per tap (column masks computed once per run); a tap vector is a plain load wherever the 16
 * elements lie inside x's buffer (all but the first and last plane's edge runs), else the
 * per-lane gather of flat_tap. Runs whose tap rows all exist need only the column masks; the
 * others (near the top and bottom of the plane) also mask by tap row and loop only over the
 * filter rows that some lane meets (LeNet 5x5 pad 2: 3-4% fewer FMAs). Whole vectors without
 * beta and with identity or ReLU take a plain store (the general one's per-lane branches cost
 * more than the FMAs). Global: N * groups * blocks. */
/* The tap loops of CONV_FLAT_FORWARD_C1 with tap vector LOAD (r, s in scope), filter rows
 * [R0, R1). */
#define C1_OFF ((r * dh - pt) * W + s * dw - pl)
#define C1_TAPS(KB, SS, R0, R1, LOAD)                                                           \
  {                                                                                             \
    _Pragma("nounroll") for (int r = R0; r < R1; r++)                                           \
      _Pragma("unroll") for (int s = 0; s < SS; s++) {                                          \
        const float16 v = LOAD;                                                                 \
        _Pragma("unroll") for (int j = 0; j < KB; j++)                                          \
          acc[j] = fma(v, (float16)(wp[j * RS + r * SS + s]), acc[j]);                          \
      }                                                                                         \
  }
#define CONV_FLAT_FORWARD_C1(NAME, KB, RR, SS)                                                   \
  CLNN_OUTLINE void NAME##_block(__global const float *restrict x, __global const float *restrict w,\
                     __global const float *restrict bias, __global float *restrict y, int C,    \
                     int H, int W, int K, int pt, int pl, int dh, int dw, int groups, int flip, \
                     int has_bias, int act, float act_alpha, float beta, long xlen, int id) {   \
    const int Kg = K / groups, kpg = (Kg + KB - 1) / KB;                                        \
    const int n = id / (groups * kpg), gb = id % (groups * kpg);                                \
    const int g = gb / kpg, k0 = g * Kg + (gb % kpg) * KB;                                      \
    const int nk = min(KB, g * Kg + Kg - k0);                                                   \
    const int HW = H * W, RS = RR * SS;                                                         \
    const int relu = act == CLNN_ACT_ID_RELU, plain = beta == 0.0f &&                           \
                     (act == CLNN_ACT_ID_IDENTITY || relu);                                     \
    const long xoff = ((long)n * C + g) * HW;                                                   \
    __global const float *xg = x + xoff;                                                        \
    __global float *yk = y + ((long)n * K + k0) * HW;                                           \
    float wp[KB * RR * SS], b[KB];                                                              \
    for (int j = 0; j < KB; j++) {                                                              \
      b[j] = (has_bias && j < nk) ? bias[k0 + j] : 0.0f;                                        \
      for (int t = 0; t < RS; t++)                                                              \
        wp[j * RS + t] = j < nk ? w[(long)(k0 + j) * RS + (flip ? RS - 1 - t : t)] : 0.0f;      \
    }                                                                                           \
    const int off_lo = -pt * W - pl, off_hi = ((RR - 1) * dh - pt) * W + (SS - 1) * dw - pl;    \
    int16 hv, wv;                                                                               \
    flat_coords(0, W, &hv, &wv);                                                                \
    for (int i0 = 0; i0 < HW; i0 += 16, flat_next(W, &hv, &wv)) {                               \
      int16 cm[SS];                                                                             \
      _Pragma("unroll") for (int s = 0; s < SS; s++) {                                          \
        const int coff = s * dw - pl;                                                           \
        cm[s] = (wv >= (int16)(-coff)) & (wv < (int16)(W - coff));                              \
      }                                                                                         \
      float16 acc[KB];                                                                          \
      _Pragma("unroll") for (int j = 0; j < KB; j++) acc[j] = (float16)(b[j]); /* bias first */ \
      __global const float *xr = xg + i0;                                                       \
      /* the filter rows whose tap row exists for some lane of the run (all but edge runs) */ \
      const int h0 = hv.s0 - pt, h1 = hv.sf - pt;                                               \
      if (xoff + i0 + off_lo >= 0 && xoff + i0 + 15 + off_hi < xlen) {                          \
        if (h0 >= 0 && h1 + (RR - 1) * dh < H) /* every tap row exists */                       \
          C1_TAPS(KB, SS, 0, RR, select((float16)(0.0f), vload16(0, xr + C1_OFF), cm[s]))       \
        else {                                                                                  \
          int r0 = 0, r1 = RR;                                                                  \
          while (r0 < RR && h1 + r0 * dh < 0) r0++;                                             \
          while (r1 > r0 && h0 + (r1 - 1) * dh >= H) r1--;                                      \
          C1_TAPS(KB, SS, r0, r1,                                                               \
                  select((float16)(0.0f), vload16(0, xr + C1_OFF),                              \
                         cm[s] & (hv >= (int16)(pt - r * dh)) & (hv < (int16)(H + pt - r * dh)))) \
        }                                                                                       \
      } else { /* a run at either end of x's buffer: rolled loops (rare, and less to compile) */ \
        _Pragma("nounroll") for (int r = 0; r < RR; r++)                                        \
          _Pragma("nounroll") for (int s = 0; s < SS; s++) {                                    \
            const int16 m = (wv >= (int16)(pl - s * dw)) & (wv < (int16)(W + pl - s * dw)) &     \
                            (hv >= (int16)(pt - r * dh)) & (hv < (int16)(H + pt - r * dh));     \
            const float16 v = flat_tap(xg, i0 + C1_OFF, HW, m);                                 \
            _Pragma("unroll") for (int j = 0; j < KB; j++)                                      \
              acc[j] = fma(v, (float16)(wp[j * RS + r * SS + s]), acc[j]);                      \
          }                                                                                     \
      }                                                                                         \
      const int cnt = min(16, HW - i0);                                                         \
      if (plain && cnt == 16) { /* whole vectors, no beta, no act but ReLU */                   \
        _Pragma("unroll") for (int j = 0; j < KB; j++) {                                        \
          const float16 o = relu ? fmax(acc[j], (float16)(0.0f)) : acc[j];                      \
          if (j < nk) store16(yk + (long)j * HW + i0, o);                                       \
        }                                                                                       \
      } else { /* through memory, so that acc stays in registers on the paths above */          \
        float16 t[KB];                                                                          \
        _Pragma("unroll") for (int j = 0; j < KB; j++) t[j] = acc[j];                           \
        for (int j = 0; j < nk; j++)                                                            \
          flat_store(yk + (long)j * HW + i0, t[j], cnt, 0.0f, beta, act, act_alpha);           \
      }                                                                                         \
    }                                                                                           \
  }

#define CONV_FLAT_FORWARD_C1_KERNEL(NAME)                                                       \
  __kernel void NAME(__global const float *restrict x, __global const float *restrict w,       \
                     __global const float *restrict bias, __global float *restrict y, int C,    \
                     int H, int W, int K, int pt, int pl, int dh, int dw, int groups, int flip, \
                     int total, int has_bias, int act, float act_alpha, float beta, long xlen) {\
    const int id = get_global_id(0);                                                            \
    if (id < total)                                                                             \
      NAME##_block(x, w, bias, y, C, H, W, K, pt, pl, dh, dw, groups, flip, has_bias, act,      \
                   act_alpha, beta, xlen, id);                                                  \
  }

CONV_FLAT_FORWARD_C1(conv2d_flat_forward_c1_k16_5x5_cpu, 16, 5, 5)
CONV_FLAT_FORWARD_C1(conv2d_flat_forward_c1_k16_3x3_cpu, 16, 3, 3)
CONV_FLAT_FORWARD_C1_KERNEL(conv2d_flat_forward_c1_k16_5x5_cpu)
CONV_FLAT_FORWARD_C1_KERNEL(conv2d_flat_forward_c1_k16_3x3_cpu)

/* Backward-filter for one input channel per group (Cg == 1: LeNet's first layer, depthwise),
 * RR x SS taps, any dilation, any plane size: the work-item for output channel k sums
 * dw[k, r, s] = sum over n, u, q of dy[n, k, u, q] * x[n, g, u + r*dh - pt, q + s*dw - pl] into
 * RR*SS vector sums whose lanes are 16 columns q of a strip of the plane (strips of 16 columns
 * from the left, the last one partial), straight from the global buffers, no copies. It walks
 * down the rows v of x (in dh phases, so that rows a tap row apart are consecutive steps): x row
 * v meets dy rows u = v + pt - r*dh, r = 0..RR-1, which stay in a window of RR registers (one
 * dy row loaded per step), and per step it loads x row v at each tap column's shift and feeds
 * it to that column's RR FMAs. 5x5 sums tap columns 0-2 over every image first, then 3-4, so
 * that the 15 or 10 sums, the window and the x vector fit the 32 vector registers (25 sums at
 * once spilled): 7 loads per 25 FMAs, where the padded-plane kernel this replaces made 15, most
 * split across cache lines, and copied both planes into local memory per image (conv_lenet5x5
 * with one PoCL thread, 2-core Zen 4 under load ~4: 1.01 -> 0.85 ms; conv_dw3x3 0.34 -> 0.20 ms,
 * though a 28-wide row takes 32 lanes here and took 30 there). Lanes whose x column lies in the padding or
 * whose dy column lies past the row are zeros (masked loads, masks set once per strip); rows of
 * x outside the plane are never visited, dy rows outside it are zeros. The few rows whose loads
 * would leave a buffer (the first rows of the first plane, the last of the last) go through one
 * rolled loop nest with per-lane loads into separate sums. Sums run in a fixed order (pass,
 * image, strip, row) and are reduced over lanes in a fixed order at the end: deterministic, no
 * atomics. Work-groups of one work-item, global K. */
/* Lanes buf[e0 + l] where m (and inside the buffer of len floats), else 0: a masked vector load
 * wherever the 16 floats lie inside the buffer, else a rolled per-lane loop (only the first and
 * last planes of a buffer come here; rolled, it compiles faster, and a call out of line would
 * make the compiler keep the sums in memory). */
inline float16 c1_row(__global const float *buf, long e0, long len, int16 m) {
  if (e0 >= 0 && e0 + 16 <= len) return select((float16)(0.0f), vload16(0, buf + e0), m);
  float t[16];
  int mm[16];
  vstore16(m, 0, mm);
#pragma clang loop unroll(disable) vectorize(disable)
  for (int l = 0; l < 16; l++) t[l] = (mm[l] && e0 + l >= 0 && e0 + l < len) ? buf[e0 + l] : 0.0f;
  return vload16(0, t);
}
#define C1_DY select((float16)(0.0f), vload16(0, dy + dyo + (long)u * W + q0), dm)
/* One walk down the rows v in [V0, V1) of x for tap columns [S0, S1), in dh phases: win[i]
 * holds dy row v + pt - i*dh at the step for x row v (every load inside the buffers). */
#define C1_BWD_FILTER_WALK(RR, SS, S0, S1, V0, V1)                                              \
  for (int ph = 0; ph < min(dh, H); ph++) {                                                     \
    int v0 = ph;                                                                                \
    if (v0 < V0) v0 += (V0 - v0 + dh - 1) / dh * dh;                                            \
    if (v0 >= V1) continue;                                                                     \
    float16 win[RR];                                                                            \
    win[0] = (float16)(0.0f);                                                                   \
    _Pragma("unroll") for (int i = 1; i < RR; i++) {                                            \
      const int u = v0 + pt - i * dh;                                                           \
      win[i] = u >= 0 && u < H ? C1_DY : (float16)(0.0f);                                       \
    }                                                                                           \
    for (int v = v0; v < V1; v += dh) {                                                         \
      {                                                                                         \
        const int u = v + pt;                                                                   \
        win[0] = u < H ? C1_DY : (float16)(0.0f);                                               \
      }                                                                                         \
      _Pragma("unroll") for (int s = S0; s < S1; s++) {                                         \
        const float16 xv = select((float16)(0.0f),                                              \
                                  vload16(0, x + xo + (long)v * W + q0 + s * dw - pl), xm[s]);  \
        _Pragma("unroll") for (int i = 0; i < RR; i++)                                          \
          acc[i * SS + s] = fma(win[i], xv, acc[i * SS + s]);                                   \
      }                                                                                         \
      _Pragma("unroll") for (int i = RR - 1; i > 0; i--) win[i] = win[i - 1];                   \
    }                                                                                           \
  }
/* The x rows outside [VA, VB), whose loads could leave a buffer (the first and last planes
 * only), for every tap, in rolled loops with per-lane loads where needed, into esum (one small
 * copy of this code: two unrolled walks for them doubled the kernel's compile time). */
#define C1_BWD_FILTER_EDGE_ROWS(RR, SS, VA, VB)                                                 \
  _Pragma("nounroll") for (int v = 0; v < H; v++) {                                             \
    if (v == VA) v = VB;                                                                        \
    if (v >= H) break;                                                                          \
    _Pragma("nounroll") for (int r = 0; r < RR; r++) {                                          \
      const int u = v + pt - r * dh;                                                            \
      if (u < 0 || u >= H) continue;                                                            \
      const float16 d = c1_row(dy, dyo + (long)u * W + q0, dylen, dm);                          \
      _Pragma("nounroll") for (int s = 0; s < SS; s++) {                                        \
        const int16 cs = c + (int16)(s * dw - pl);                                              \
        const float16 xv = c1_row(x, xo + (long)v * W + q0 + s * dw - pl, xlen,                 \
                                  dm & (cs >= (int16)(0)) & (cs < (int16)(W)));                 \
        esum[r * SS + s] = fma(d, xv, esum[r * SS + s]);                                        \
      }                                                                                         \
    }                                                                                           \
  }
/* The sums of tap columns [S0, S1): every image's plane in strips of 16 columns; the rows whose
 * loads stay inside the buffers (all but at most a few of the first and last planes) walked
 * once, the others through C1_BWD_FILTER_EDGE_ROWS. */
#define C1_BWD_FILTER_PASS(RR, SS, S0, S1)                                                      \
  for (int n = 0; n < N; n++) {                                                                 \
    const long xo = ((long)n * C + g) * HW, dyo = ((long)n * K + k) * HW;                       \
    for (int q0 = 0; q0 < W; q0 += 16) {                                                        \
      const int16 c = FLAT_LANES + (int16)(q0), dm = c < (int16)(W);                            \
      int16 xm[SS];                                                                             \
      _Pragma("unroll") for (int s = 0; s < SS; s++) {                                          \
        const int16 cs = c + (int16)(s * dw - pl);                                              \
        xm[s] = dm & (cs >= (int16)(0)) & (cs < (int16)(W));                                    \
      }                                                                                         \
      /* x rows [va, vb) load inside x; dy rows below ub inside dy */                          \
      const long xs = xo + q0, xe = xlen - xs - hi - 1, de = dylen - 16 - dyo - q0;              \
      const int va = xs + lo >= 0 ? 0 : min((long)H, (-(xs + lo) + W - 1) / W);                \
      int vb = xe < 0 ? 0 : (int)min((long)H, xe / W + 1);                                      \
      const int ub = de < 0 ? 0 : (int)min((long)H, de / W + 1);                                 \
      if (ub < H) vb = min(vb, ub - pt);                                                        \
      vb = max(vb, va);                                                                         \
      C1_BWD_FILTER_WALK(RR, SS, S0, S1, va, vb)                                                \
      if (S0 == 0 && (va > 0 || vb < H)) /* once per plane: the first pass does every tap */   \
        C1_BWD_FILTER_EDGE_ROWS(RR, SS, va, vb)                                                 \
    }                                                                                           \
  }
#define CONV_FLAT_BWD_FILTER_C1(NAME, RR, SS, SA)                                               \
  CLNN_OUTLINE void NAME##_channel(__global const float *restrict x,                            \
                     __global const float *restrict dy, __global float *restrict dw_out, int N, \
                     int C, int H, int W, int K, int pt, int pl, int dh, int dw, int groups,    \
                     float beta, long xlen, long dylen, int k) {                                \
    const int g = k / (K / groups), HW = H * W, RS = RR * SS;                                   \
    const int lo = -pl, hi = 15 + (SS - 1) * dw - pl; /* x columns a row's loads span */        \
    float16 acc[RR * SS], esum[RR * SS]; /* the walks' sums, the edge rows' */                  \
    _Pragma("unroll") for (int t = 0; t < RS; t++) acc[t] = esum[t] = (float16)(0.0f);          \
    /* tap columns [0, SA) first, then the rest: 5x5 holds 15, then 10 sums in registers */    \
    C1_BWD_FILTER_PASS(RR, SS, 0, SA)                                                           \
    if (SA < SS) C1_BWD_FILTER_PASS(RR, SS, SA, SS)                                             \
    _Pragma("unroll") for (int t = 0; t < RS; t++) {                                            \
      const float16 a = acc[t] + esum[t];                                                       \
      const float8 a8 = a.lo + a.hi;                                                            \
      const float4 a4 = a8.lo + a8.hi;                                                          \
      const float2 a2 = a4.lo + a4.hi;                                                          \
      const float v = a2.x + a2.y;                                                              \
      __global float *o = dw_out + (long)k * RS + t;                                            \
      *o = beta == 0.0f ? v : beta * *o + v;                                                    \
    }                                                                                           \
  }

CONV_FLAT_BWD_FILTER_C1(conv2d_flat_bwd_filter_c1_5x5_cpu, 5, 5, 3)
CONV_FLAT_BWD_FILTER_C1(conv2d_flat_bwd_filter_c1_3x3_cpu, 3, 3, 3)
#define CONV_FLAT_BWD_FILTER_C1_KERNEL(NAME)                                                    \
  __kernel void NAME(__global const float *restrict x, __global const float *restrict dy,      \
                     __global float *restrict dw_out, int N, int C, int H, int W, int K,        \
                     int pt, int pl, int dh, int dw, int groups, float beta, long xlen,         \
                     long dylen) {                                                              \
    const int k = get_global_id(0);                                                             \
    if (k < K)                                                                                  \
      NAME##_channel(x, dy, dw_out, N, C, H, W, K, pt, pl, dh, dw, groups, beta, xlen, dylen, k); \
  }
CONV_FLAT_BWD_FILTER_C1_KERNEL(conv2d_flat_bwd_filter_c1_5x5_cpu)
CONV_FLAT_BWD_FILTER_C1_KERNEL(conv2d_flat_bwd_filter_c1_3x3_cpu)
