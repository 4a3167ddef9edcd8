/* cl/conv2d_direct.cl — direct convolution for CPU devices with one input channel per group (the
 * first layer of a CNN on grey images: LeNet's, the digits and MNIST examples'; depthwise
 * backward-filter), used by src/ops/conv2d_direct.c for stride 1 with an output as large as the
 * input (P == H, Q == W: "same" padding, any dilation):
 *   conv2d_flat_forward_c1_k16_{5x5,3x3}_cpu  y = act(beta*y + conv(x, w) + bias): blocks of 16
 *                                          output channels per work-item, weights in private
 *                                          memory
 *   conv2d_flat_bwd_filter_c1_{5x5,3x3}_cpu  dw = beta*dw + sum over n, pixels of dy * x: one
 *                                          output channel's every tap per work-item, padded
 *                                          planes in local memory
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
 * channel of the block (register blocking along K). The padded-plane kernels copy the plane into
 * local memory with its padding as zeros first, so their loops need no masks. Sums run in a fixed
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
          if (j < nk) *(__global float16_unaligned *)(yk + (long)j * HW + i0) = o;              \
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
 * RR x SS taps, any dilation: the work-item for output channel k sums dy[n, k] * x[n, g] over
 * every image into RR*SS vector sums (all its taps). Per image it copies x's plane into xl and
 * dy's plane into dyl, both with rows Wp = W + Z floats apart, where the Z = max(pl, pr) zero
 * columns after each row serve as the right padding of that row and the left padding of the
 * next (pr = (SS-1)*dw - pl), and dyl has zero rows above and below. Lanes then walk the
 * H*Wp floats as flat runs of 16 (no per-row chunks: LeNet's 28-wide rows take 30 floats, not
 * 32; depthwise 56-wide 57, not 64): lane j = u*Wp + q meets x[u, q + s*dw - pl] at xb[j + s*dw
 * - pl] and dy[u + pt - r*dh, q] at db[j + (pt - r*dh)*Wp], zeros wherever either lies in the
 * padding, so the loop needs no masks, bounds checks or gathers. Per run: SS x loads kept in
 * registers and RR dy loads for RR*SS FMAs, and a prefetch of one cache line of the next image's
 * dy plane, so that its copy does not wait for memory (dy is the one operand too large for the
 * caches: LeNet's is 6.4 MB; asking for the whole plane at once did not help, one line per run
 * saved 7-12% of the CPU time under load). The zeros are written once; each image overwrites
 * only the rows. The sums are reduced over lanes in a fixed order at the end: deterministic, no
 * atomics. Work-groups of one work-item, global K; local sizes from the host (XM, DM: the
 * front margins of xl and dyl, multiples of 16 at least pl and ((RR-1)*dh - pt)*Wp). */
/* A hint that the cache line at global address P will be read soon, where the runtime says the
 * compiler makes it a prefetch (CLNN_CL_PREFETCH: PoCL); nothing elsewhere (Oclgrind, for one,
 * cannot run a kernel that calls __builtin_prefetch). */
#if defined(CLNN_CL_PREFETCH)
#define C1_PREFETCH(P) __builtin_prefetch((const void *)(ulong)(P))
#endif
#ifndef C1_PREFETCH
#define C1_PREFETCH(P) ((void)0)
#endif
/* One sweep of the runs for filter rows [R0, R1): SS x loads kept in registers, R1 - R0 dy loads;
 * the first sweep also asks for one cache line of the next image's dy plane per run (pf). */
#define C1_BWD_FILTER_ROWS(R0, R1, SS)                                                          \
  for (int j = 0; j < J; j += 16) {                                                             \
    if (R0 == 0) C1_PREFETCH(pf + j);                                                           \
    float16 xv[SS];                                                                             \
    _Pragma("unroll") for (int s = 0; s < SS; s++) xv[s] = vload16(0, xb + j + s * dw - pl);    \
    _Pragma("unroll") for (int r = R0; r < R1; r++) {                                           \
      const float16 d = vload16(0, db + j + (pt - r * dh) * Wp);                                \
      _Pragma("unroll") for (int s = 0; s < SS; s++)                                            \
        acc[r * SS + s] = fma(d, xv[s], acc[r * SS + s]);                                       \
    }                                                                                           \
  }
#define CONV_FLAT_BWD_FILTER_C1(NAME, RR, SS, RA)                                               \
  CLNN_OUTLINE void NAME##_channel(__global const float *restrict x,                            \
                     __global const float *restrict dy, __global float *restrict dw_out, int N, \
                     int C, int H, int W, int K, int pt, int pl, int dh, int dw, int groups,    \
                     int Wp, int XM, int XL, int DM, int DL, float beta, __local float *xl,     \
                     __local float *dyl, int k) {                                               \
    const int g = k / (K / groups), HW = H * W, RS = RR * SS, J = H * Wp;                       \
    band_zero(xl, XL);                                                                          \
    band_zero(dyl, DL);                                                                         \
    __local float *xb = xl + XM, *db = dyl + DM;                                                \
    float16 acc[RR * SS];                                                                       \
    _Pragma("unroll") for (int t = 0; t < RS; t++) acc[t] = (float16)(0.0f);                    \
    for (int n = 0; n < N; n++) {                                                               \
      band_copy_plane(x + ((long)n * C + g) * HW, H, W, xb, Wp);                                \
      band_copy_plane(dy + ((long)n * K + k) * HW, H, W, db, Wp);                               \
      __global const float *pf = dy + ((long)min(n + 1, N - 1) * K + k) * HW; /* J >= HW */      \
      C1_BWD_FILTER_ROWS(0, RA, SS)                                                             \
      if (RA < RR) C1_BWD_FILTER_ROWS(RA, RR, SS)                                               \
    }                                                                                           \
    for (int t = 0; t < RS; t++) {                                                              \
      const float16 a = acc[t];                                                                 \
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
                     int pt, int pl, int dh, int dw, int groups, int Wp, int XM, int XL,        \
                     int DM, int DL, float beta, __local float *xl, __local float *dyl) {       \
    const int k = get_global_id(0);                                                             \
    if (k < K)                                                                                  \
      NAME##_channel(x, dy, dw_out, N, C, H, W, K, pt, pl, dh, dw, groups, Wp, XM, XL, DM, DL,  \
                     beta, xl, dyl, k);                                                         \
  }
CONV_FLAT_BWD_FILTER_C1_KERNEL(conv2d_flat_bwd_filter_c1_5x5_cpu)
CONV_FLAT_BWD_FILTER_C1_KERNEL(conv2d_flat_bwd_filter_c1_3x3_cpu)
