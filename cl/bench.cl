/* cl/bench.cl — the two kernels clnn-bench runs first to measure the device's own peak: a chain
 * of independent FMAs (arithmetic peak) and a streaming copy (memory bandwidth). Not used by the
 * library's operators. Each comes in three vector widths (1, 4 and 16 floats per work-item):
 * CPUs want wide vectors per work-item, GPUs many scalar work-items; the bench keeps the fastest.
 */

/* BENCH_FMA_CHAINS independent accumulators hide the FMA latency (4 cycles x 2 pipes on CPUs). */
#ifndef BENCH_FMA_CHAINS
#define BENCH_FMA_CHAINS 12 /* independent FMA chains per work-item */
#endif

#define BENCH_FMA_KERNEL(NAME, T, LANES)                                                         \
  __kernel void NAME(__global T *out, int iters, float s) {                                      \
    T acc[BENCH_FMA_CHAINS];                                                                     \
    const T m = (T)(s), c = (T)(0.9999f);                                                        \
    _Pragma("unroll") for (int i = 0; i < BENCH_FMA_CHAINS; i++)                                 \
      acc[i] = (T)((float)get_global_id(0) * 1e-9f + (float)i * 1e-7f);                          \
    for (int it = 0; it < iters; it++) {                                                         \
      _Pragma("unroll") for (int i = 0; i < BENCH_FMA_CHAINS; i++) acc[i] = fma(acc[i], c, m);   \
    }                                                                                            \
    T sum = acc[0];                                                                              \
    _Pragma("unroll") for (int i = 1; i < BENCH_FMA_CHAINS; i++) sum += acc[i];                  \
    out[get_global_id(0)] = sum; /* keeps the work from being optimised away */                  \
  }

BENCH_FMA_KERNEL(bench_fma1, float, 1)
BENCH_FMA_KERNEL(bench_fma4, float4, 4)
BENCH_FMA_KERNEL(bench_fma16, float16, 16)

/* dst = src over n floats; each work-item copies `per` consecutive vectors (n is a multiple of
 * 16 * per for the vector kernels; the host sizes the buffers so). */
__kernel void bench_copy1(__global const float *src, __global float *dst, int n) {
  const int i = get_global_id(0);
  if (i < n) dst[i] = src[i];
}
__kernel void bench_copy4(__global const float4 *src, __global float4 *dst, int n4) {
  const int i = get_global_id(0);
  if (i < n4) dst[i] = src[i];
}
__kernel void bench_copy16(__global const float16 *src, __global float16 *dst, int n16, int per) {
  const long i0 = (long)get_global_id(0) * per;
  for (int j = 0; j < per; j++)
    if (i0 + j < n16) dst[i0 + j] = src[i0 + j];
}
