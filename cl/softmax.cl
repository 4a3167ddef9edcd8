/* cl/softmax.cl — softmax and log-softmax over the last axis (rows of length C), forward and
 * backward, in two shapes the host chooses between:
 *   *_rows: one work-item per row (a chunk of rows per work-item), three passes over the row with
 *           16-wide vector loops and fixed-order folds; for CPU devices.
 *   *_wg:   one work-group per row (local size a power of two); strided passes and tree
 *           reductions in local memory; for GPUs.
 * The work-group kernels never return early: PoCL (seen with its CPU device) mis-executes kernels
 * that return before a barrier even when the whole work-group returns, so a group past the last
 * row runs its loops over zero elements instead.
 * Numerically stable: exponentials are of x - max(row), so logits of +-1e4 stay finite. `mode`
 * is 0 for softmax and 1 for log-softmax. Gradient outputs take beta (0 overwrites without
 * reading dx). */

/* The row helpers run 16-wide vector loops (one AVX-512 register, two AVX2 ones; vector exp is
 * much faster than scalar exp on CPU devices), folded in a fixed order, then a scalar tail. */
float sm_fold16(float16 v) {
  float8 a = v.lo + v.hi;
  float4 b = a.lo + a.hi;
  return (b.x + b.y) + (b.z + b.w);
}

/* max over xr[0..C), NaNs skipped as with fmax; a compare-select, which CPU devices run as a
 * plain vector max (PoCL's vector fmax measured 3x slower here) */
float sm_row_max(__global const float *xr, ulong C) {
  float16 m16 = (float16)(-INFINITY);
  ulong j = 0;
  for (; j + 16 <= C; j += 16) {
    float16 a = vload16(0, xr + j);
    m16 = a > m16 ? a : m16;
  }
  float8 m8 = m16.lo > m16.hi ? m16.lo : m16.hi;
  float4 m4 = m8.lo > m8.hi ? m8.lo : m8.hi;
  float2 m2 = m4.lo > m4.hi ? m4.lo : m4.hi;
  float m = m2.x > m2.y ? m2.x : m2.y;
  for (; j < C; j++) m = xr[j] > m ? xr[j] : m;
  return m;
}

/* sum over xr[0..C) of exp(xr[j] - m) */
float sm_row_sumexp(__global const float *xr, ulong C, float m) {
  float16 s16 = (float16)(0.0f);
  ulong j = 0;
  for (; j + 16 <= C; j += 16) s16 += exp(vload16(0, xr + j) - m);
  float s = sm_fold16(s16);
  for (; j < C; j++) s += exp(xr[j] - m);
  return s;
}

/* sum over j of a[j] * b[j] */
float sm_row_dot(__global const float *a, __global const float *b, ulong C) {
  float16 s16 = (float16)(0.0f);
  ulong j = 0;
  for (; j + 16 <= C; j += 16) s16 += vload16(0, a + j) * vload16(0, b + j);
  float s = sm_fold16(s16);
  for (; j < C; j++) s += a[j] * b[j];
  return s;
}

/* sum over j of a[j] */
float sm_row_sum(__global const float *a, ulong C) {
  float16 s16 = (float16)(0.0f);
  ulong j = 0;
  for (; j + 16 <= C; j += 16) s16 += vload16(0, a + j);
  float s = sm_fold16(s16);
  for (; j < C; j++) s += a[j];
  return s;
}

__kernel void softmax_forward_rows(__global const float *x, __global float *y, ulong rows,
                                   ulong chunk, ulong C, int mode) {
  ulong r0 = (ulong)get_global_id(0) * chunk;
  ulong r1 = min(r0 + chunk, rows);
  for (ulong r = r0; r < r1; r++) {
    __global const float *xr = x + r * C;
    __global float *yr = y + r * C;
    float m = sm_row_max(xr, C);
    float s = sm_row_sumexp(xr, C, m);
    ulong j = 0;
    if (mode) {
      float ls = log(s);
      for (; j + 16 <= C; j += 16) vstore16((vload16(0, xr + j) - m) - ls, 0, yr + j);
      for (; j < C; j++) yr[j] = (xr[j] - m) - ls;
    } else {
      float inv = 1.0f / s;
      for (; j + 16 <= C; j += 16) vstore16(exp(vload16(0, xr + j) - m) * inv, 0, yr + j);
      for (; j < C; j++) yr[j] = exp(xr[j] - m) * inv;
    }
  }
}

/* dx = beta*dx + g. softmax: g = y * (dy - sum(dy*y)); log-softmax: g = dy - exp(y)*sum(dy). */
__kernel void softmax_backward_rows(__global const float *y, __global const float *dy,
                                    __global float *dx, ulong rows, ulong chunk, ulong C, int mode,
                                    float beta) {
  ulong r0 = (ulong)get_global_id(0) * chunk;
  ulong r1 = min(r0 + chunk, rows);
  for (ulong r = r0; r < r1; r++) {
    __global const float *yr = y + r * C;
    __global const float *dyr = dy + r * C;
    __global float *dxr = dx + r * C;
    float dot = mode ? sm_row_sum(dyr, C) : sm_row_dot(dyr, yr, C);
    ulong j = 0;
    for (; j + 16 <= C; j += 16) {
      float16 yv = vload16(0, yr + j), dyv = vload16(0, dyr + j);
      float16 g = mode ? dyv - exp(yv) * dot : yv * (dyv - dot);
      vstore16(beta == 0.0f ? g : fma((float16)(beta), vload16(0, dxr + j), g), 0, dxr + j);
    }
    for (; j < C; j++) {
      float g = mode ? dyr[j] - exp(yr[j]) * dot : yr[j] * (dyr[j] - dot);
      dxr[j] = beta == 0.0f ? g : fma(beta, dxr[j], g);
    }
  }
}

/* Tree reduction of scratch[0..L) (L = local size, a power of two) into scratch[0]; op 0 is
 * max, 1 is sum. Every work-item returns the result; scratch may be reused afterwards. */
float sm_wg_reduce(__local float *scratch, float v, int op) {
  uint lid = get_local_id(0), L = get_local_size(0);
  scratch[lid] = v;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint h = L >> 1; h > 0; h >>= 1) {
    if (lid < h) scratch[lid] = op ? scratch[lid] + scratch[lid + h] : fmax(scratch[lid], scratch[lid + h]);
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  float r = scratch[0];
  barrier(CLK_LOCAL_MEM_FENCE);
  return r;
}

__kernel void softmax_forward_wg(__global const float *x, __global float *y, ulong rows, ulong C,
                                 int mode, __local float *scratch) {
  ulong r = get_group_id(0);
  ulong Cr = r < rows ? C : 0; /* no early return: every work-item must reach the barriers */
  uint lid = get_local_id(0), L = get_local_size(0);
  __global const float *xr = x + r * C;
  __global float *yr = y + r * C;
  float m = -INFINITY;
  for (ulong j = lid; j < Cr; j += L) m = fmax(m, xr[j]);
  m = sm_wg_reduce(scratch, m, 0);
  float s = 0.0f;
  for (ulong j = lid; j < Cr; j += L) s += exp(xr[j] - m);
  s = sm_wg_reduce(scratch, s, 1);
  if (mode) {
    float ls = log(s);
    for (ulong j = lid; j < Cr; j += L) yr[j] = (xr[j] - m) - ls;
  } else {
    float inv = 1.0f / s;
    for (ulong j = lid; j < Cr; j += L) yr[j] = exp(xr[j] - m) * inv;
  }
}

__kernel void softmax_backward_wg(__global const float *y, __global const float *dy,
                                  __global float *dx, ulong rows, ulong C, int mode, float beta,
                                  __local float *scratch) {
  ulong r = get_group_id(0);
  ulong Cr = r < rows ? C : 0; /* no early return: every work-item must reach the barriers */
  uint lid = get_local_id(0), L = get_local_size(0);
  __global const float *yr = y + r * C;
  __global const float *dyr = dy + r * C;
  __global float *dxr = dx + r * C;
  float dot = 0.0f;
  for (ulong j = lid; j < Cr; j += L) dot += mode ? dyr[j] : dyr[j] * yr[j];
  dot = sm_wg_reduce(scratch, dot, 1);
  for (ulong j = lid; j < Cr; j += L) {
    float g = mode ? dyr[j] - exp(yr[j]) * dot : yr[j] * (dyr[j] - dot);
    dxr[j] = beta == 0.0f ? g : fma(beta, dxr[j], g);
  }
}
