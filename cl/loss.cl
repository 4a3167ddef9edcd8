/* cl/loss.cl — losses with their gradients: fused softmax cross-entropy (integer labels), binary
 * cross-entropy with logits, mean squared error.
 *
 * Deterministic reductions without atomics, in two stages: a first kernel writes one partial sum
 * per row (cross-entropy) or per chunk of elements (BCE, MSE) into a workspace and the gradient
 * (of the mean) in the same pass; `loss_finish` then sums the partials with one work-group in a
 * fixed order (strided compensated sums, then a tree) and writes the mean. Chunk sizes and the
 * work-group size come from the host and depend only on the device, so results repeat bit for
 * bit. Flags want_loss / want_grad say which outputs exist (unused buffer arguments are
 * placeholders and never touched). */

/* ---------------------------------------------------------------------------------------------- */
/* Softmax cross-entropy: row r has logits x[r*C .. r*C+C) and label labels[r] (checked on the    */
/* host). row_loss[r] = log(sum exp(x - m)) - (x[label] - m); dx = (softmax - onehot) * inv_n.    */
/* ---------------------------------------------------------------------------------------------- */

__kernel void xent_rows(__global const float *x, __global const int *labels,
                        __global float *row_loss, __global float *dx, ulong rows, ulong chunk,
                        ulong C, int want_loss, int want_grad, float inv_n) {
  ulong r0 = (ulong)get_global_id(0) * chunk;
  ulong r1 = min(r0 + chunk, rows);
  for (ulong r = r0; r < r1; r++) {
    __global const float *xr = x + r * C;
    int lab = labels[r];
    /* 16-wide vector loops (vector exp is much faster on CPU devices), fixed-order folds */
    float16 m16 = (float16)(-INFINITY);
    ulong j = 0;
    for (; j + 16 <= C; j += 16) m16 = fmax(m16, vload16(0, xr + j));
    float8 m8 = fmax(m16.lo, m16.hi);
    float4 m4 = fmax(m8.lo, m8.hi);
    float m = fmax(fmax(m4.x, m4.y), fmax(m4.z, m4.w));
    for (; j < C; j++) m = fmax(m, xr[j]);
    float16 s16 = (float16)(0.0f);
    for (j = 0; j + 16 <= C; j += 16) s16 += exp(vload16(0, xr + j) - m);
    float8 s8 = s16.lo + s16.hi;
    float4 s4 = s8.lo + s8.hi;
    float s = (s4.x + s4.y) + (s4.z + s4.w);
    for (; j < C; j++) s += exp(xr[j] - m);
    int valid = lab >= 0 && (ulong)lab < C;
    if (want_loss) row_loss[r] = valid ? log(s) - (xr[lab] - m) : NAN;
    if (want_grad) {
      __global float *dxr = dx + r * C;
      float inv_s = 1.0f / s;
      /* the label's column first (dx may alias x), then every column, then the label's again */
      float hot = valid ? (exp(xr[lab] - m) * inv_s - 1.0f) * inv_n : 0.0f;
      for (j = 0; j + 16 <= C; j += 16)
        vstore16(exp(vload16(0, xr + j) - m) * inv_s * inv_n, 0, dxr + j);
      for (; j < C; j++) dxr[j] = exp(xr[j] - m) * inv_s * inv_n;
      if (valid) dxr[lab] = hot;
    }
  }
}

/* Tree reduction over the work-group (local size a power of two); op 0 max, 1 sum. */
float loss_wg_reduce(__local float *scratch, float v, int op) {
  uint lid = get_local_id(0), L = get_local_size(0);
  scratch[lid] = v;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint h = L >> 1; h > 0; h >>= 1) {
    if (lid < h)
      scratch[lid] = op ? scratch[lid] + scratch[lid + h] : fmax(scratch[lid], scratch[lid + h]);
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  float r = scratch[0];
  barrier(CLK_LOCAL_MEM_FENCE);
  return r;
}

/* One work-group per row. */
__kernel void xent_wg(__global const float *x, __global const int *labels,
                      __global float *row_loss, __global float *dx, ulong rows, ulong C,
                      int want_loss, int want_grad, float inv_n, __local float *scratch) {
  ulong r = get_group_id(0);
  int in_range = r < rows;
  ulong Cr = in_range ? C : 0; /* no early return before a barrier (see cl/softmax.cl) */
  uint lid = get_local_id(0), L = get_local_size(0);
  __global const float *xr = x + r * C;
  int lab = in_range ? labels[r] : -1;
  int valid = lab >= 0 && (ulong)lab < C;
  float m = -INFINITY;
  for (ulong j = lid; j < Cr; j += L) m = fmax(m, xr[j]);
  m = loss_wg_reduce(scratch, m, 0);
  float s = 0.0f;
  for (ulong j = lid; j < Cr; j += L) s += exp(xr[j] - m);
  s = loss_wg_reduce(scratch, s, 1);
  if (want_loss && in_range && lid == 0) row_loss[r] = valid ? log(s) - (xr[lab] - m) : NAN;
  if (want_grad) {
    __global float *dxr = dx + r * C;
    float inv_s = 1.0f / s;
    for (ulong j = lid; j < Cr; j += L) {
      float p = exp(xr[j] - m) * inv_s;
      dxr[j] = ((valid && j == (ulong)lab) ? p - 1.0f : p) * inv_n;
    }
  }
}

/* ---------------------------------------------------------------------------------------------- */
/* Elementwise losses: work-item g handles elements [g*chunk, min((g+1)*chunk, n)), writes        */
/* partial[g] (compensated sum of its chunk) and the gradient of the mean.                        */
/* ---------------------------------------------------------------------------------------------- */

#define LOSS_KAHAN_ADD(sum, comp, v) \
  do {                               \
    float y_ = (v) - (comp);         \
    float t_ = (sum) + y_;           \
    (comp) = (t_ - (sum)) - y_;      \
    (sum) = t_;                      \
  } while (0)

/* l = max(x, 0) - x*t + log1p(exp(-|x|)); dl/dx = sigmoid(x) - t. */
__kernel void bce_partial(__global const float *x, __global const float *t,
                          __global float *partial, __global float *dx, ulong n, ulong chunk,
                          int want_loss, int want_grad, float inv_n) {
  ulong g = get_global_id(0);
  ulong start = g * chunk;
  if (start >= n) return;
  ulong end = min(start + chunk, n);
  float sum = 0.0f, comp = 0.0f;
  for (ulong i = start; i < end; i++) {
    float xi = x[i], ti = t[i];
    float e = exp(-fabs(xi));
    if (want_loss) LOSS_KAHAN_ADD(sum, comp, fmax(xi, 0.0f) - xi * ti + log1p(e));
    if (want_grad) {
      /* sigmoid(x) - t, with 1 - sigmoid(x) = e/(1+e) for x >= 0 so that t near 1 keeps its
       * precision */
      float q = e / (1.0f + e);
      dx[i] = (xi >= 0.0f ? (1.0f - ti) - q : q - ti) * inv_n;
    }
  }
  if (want_loss) partial[g] = sum;
}

/* l = (p - t)^2; dl/dp = 2 (p - t). */
__kernel void mse_partial(__global const float *p, __global const float *t,
                          __global float *partial, __global float *dp, ulong n, ulong chunk,
                          int want_loss, int want_grad, float inv_n) {
  ulong g = get_global_id(0);
  ulong start = g * chunk;
  if (start >= n) return;
  ulong end = min(start + chunk, n);
  float sum = 0.0f, comp = 0.0f;
  float two_inv_n = 2.0f * inv_n;
  for (ulong i = start; i < end; i++) {
    float d = p[i] - t[i];
    if (want_loss) LOSS_KAHAN_ADD(sum, comp, d * d);
    if (want_grad) dp[i] = d * two_inv_n;
  }
  if (want_loss) partial[g] = sum;
}

/* loss[0] = (sum of partial[0..count)) / denom, by one work-group of L (a power of two) work-items:
 * work-item l sums partial[l], partial[l+L], ... in order (compensated), then a tree. */
__kernel void loss_finish(__global const float *partial, ulong count, __global float *loss,
                          float denom, __local float *scratch) {
  int first = get_group_id(0) == 0; /* the host launches one group; no early return */
  ulong cnt = first ? count : 0;
  uint lid = get_local_id(0), L = get_local_size(0);
  float sum = 0.0f, comp = 0.0f;
  for (ulong i = lid; i < cnt; i += L) LOSS_KAHAN_ADD(sum, comp, partial[i]);
  float total = loss_wg_reduce(scratch, sum, 1);
  if (first && lid == 0) loss[0] = total / denom;
}
