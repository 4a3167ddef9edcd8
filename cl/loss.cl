/* cl/loss.cl — losses with their gradients: fused softmax cross-entropy (integer labels), binary
 * cross-entropy with logits, mean squared error.
 *
 * Deterministic reductions without float atomics: each work-group (or work-item) writes one
 * partial sum of its rows (cross-entropy) or chunk of elements (BCE, MSE) and the gradient (of
 * the mean) in the same pass; the partials are then summed in a fixed order (strided compensated
 * sums, then a tree): for BCE and MSE by a second launch, `loss_finish`; for cross-entropy in the
 * same launch by the last work-group to finish (int atomics only, see below). Chunk sizes and the
 * work-group size come from the host and depend only on the device, so results repeat bit for
 * bit. Flags want_loss / want_grad say which outputs exist (unused buffer arguments are
 * placeholders and never touched). */

#define LOSS_KAHAN_ADD(sum, comp, v) \
  do {                               \
    float y_ = (v) - (comp);         \
    float t_ = (sum) + y_;           \
    (comp) = (t_ - (sum)) - y_;      \
    (sum) = t_;                      \
  } while (0)

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

/* ---------------------------------------------------------------------------------------------- */
/* Softmax cross-entropy in one launch: row r has logits x[r*C .. r*C+C) and label labels[r]      */
/* (checked on the host); its loss is log(sum exp(x - m)) - (x[label] - m) and its gradient       */
/* dx = (softmax - onehot) * inv_n. Each work-group sums its rows' losses in order into one       */
/* partial; the mean is finished in the same launch by the last group to arrive:                  */
/*   work-item 0 publishes the group's partial with an atomic exchange, fences, and takes a       */
/*   ticket from an int counter (labels[rows], uploaded as 0 with the labels); the group with the */
/*   last ticket reads every partial with atomic reads in index order (strided over its work-     */
/*   items, then a tree) and writes loss[0].                                                      */
/* Every cross-group access is an int atomic (OpenCL 1.2 orders nothing else between groups), no  */
/* float atomics are used, and the order of the sum does not depend on which group is last, so    */
/* the mean repeats bit for bit. Every work-item of every group calls this (uniform control flow).*/
/* ---------------------------------------------------------------------------------------------- */

/* A label the host staged for a row that an ignore index skips: the row adds nothing to the
 * loss, its gradient is zero, and the mean divides by the counted rows (denom) only. */
#define XENT_IGNORED (-1)

void xent_publish_and_finish(float group_sum, __global int *partial, __global int *counter,
                             uint groups, __global float *loss, float denom,
                             __local float *scratch, __local int *is_last) {
  uint lid = get_local_id(0), L = get_local_size(0);
  if (lid == 0) {
    atomic_xchg(partial + get_group_id(0), as_int(group_sum));
    mem_fence(CLK_GLOBAL_MEM_FENCE);
    *is_last = atomic_inc(counter) == (int)groups - 1;
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  uint count = *is_last ? groups : 0;
  mem_fence(CLK_GLOBAL_MEM_FENCE);
  float sum = 0.0f, comp = 0.0f;
  for (uint i = lid; i < count; i += L) LOSS_KAHAN_ADD(sum, comp, as_float(atomic_or(partial + i, 0)));
  float total = loss_wg_reduce(scratch, sum, 1);
  if (count && lid == 0) loss[0] = total / denom;
}

/* Element-by-element loops (rows shorter than 16, the last few elements) stay scalar: LLVM's
 * vectoriser would add vector copies of each, code generation time for a few elements. */
#define XENT_SCALAR_LOOP _Pragma("clang loop vectorize(disable) unroll(disable)")

/* CPU devices: local size 1, rows [g*chunk, min((g+1)*chunk, rows)) for work-item g, with
 * 16-wide vector loops folded in a fixed order. A row whose length is not a multiple of 16 ends
 * with one vector over its last 16 elements, of which only the lanes not yet covered count
 * (rows shorter than 16 go element by element). Maxima use a compare-select (NaNs skipped as with
 * fmax, but a plain vector max on CPUs, where PoCL's fmax is 3x slower).
 * One pass over the row computes e = exp(x - m) for a guessed shift m (the largest of the first 16
 * logits), sums it, stores it to dx and tracks the true maximum M (the one-pass "online
 * normaliser" idea); M > m + 64 redoes the pass with m = M, which normal logits never need. The
 * loss uses the sum rescaled to M, so it is as exact as with a max pass first; dx = e / sum is
 * independent of the shift. A second pass over the (cached) row scales dx: one exp per element.
 * When dx aliases x (exact_max, set by the host) the shift is the exact maximum from a pass of
 * its own, since x is overwritten by the first pass; results then differ from the out-of-place
 * call in the last bits. x[label] is read first and the last vector keeps the lanes already
 * written, so aliasing is safe. */
float xent_max16(float16 m16) {
  float8 m8 = m16.lo > m16.hi ? m16.lo : m16.hi;
  float4 m4 = m8.lo > m8.hi ? m8.lo : m8.hi;
  float2 m2 = m4.lo > m4.hi ? m4.lo : m4.hi;
  return m2.x > m2.y ? m2.x : m2.y;
}

/* xent_rows' rows for work-item g, out of line (CLNN_OUTLINE; the publication after them has
 * barriers): returns their compensated loss sum. */
CLNN_OUTLINE float xent_rows_sum(__global const float *x, __global const int *labels,
                                 __global float *dx, uint rows, uint chunk, ulong C,
                                 int want_loss, int want_grad, int exact_max, float inv_n,
                                 uint g) {
  uint r0 = g * chunk, r1 = min(r0 + chunk, rows);
  ulong nv = C / 16, rem = C - nv * 16;
  int tail = rem && nv;      /* an overlapping last vector */
  ulong scalar_from = tail ? C : nv * 16;
  /* lanes of the last vector (over C-16 .. C-1) that the full vectors did not cover */
  int16 fresh = (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) >= (int16)(16 - (int)rem);
  float gsum = 0.0f, gcomp = 0.0f;
  for (uint r = r0; r < r1; r++) {
    __global const float *xr = x + r * C;
    __global float *dxr = dx + r * C;
    int lab = labels[r];
    if (lab == XENT_IGNORED) { /* an ignored row: no loss, a zero gradient */
      if (want_grad) {
        XENT_SCALAR_LOOP
        for (ulong j = 0; j < C; j++) dxr[j] = 0.0f;
      }
      continue;
    }
    int valid = lab >= 0 && (ulong)lab < C;
    /* the shift m: the exact row maximum when dx aliases x (x must survive a second pass), else
     * a guess, the maximum of the first 16 elements, corrected below */
    float m = -INFINITY;
    ulong probe = exact_max ? C : min(C, (ulong)16);
    if (probe >= 16) {
      float16 m16 = (float16)(-INFINITY);
      for (ulong v = 0; v < probe / 16; v++) {
        float16 a = vload16(v, xr);
        m16 = a > m16 ? a : m16;
      }
      if (probe == C && tail) {
        float16 a = vload16(0, xr + C - 16);
        m16 = a > m16 ? a : m16;
      }
      m = xent_max16(m16);
    }
    XENT_SCALAR_LOOP
    for (ulong j = probe >= 16 ? (probe == C ? scalar_from : probe) : 0; j < probe; j++)
      m = xr[j] > m ? xr[j] : m;
    float xlab = valid ? xr[lab] : 0.0f;
    /* one pass: e = exp(x - m) summed (and stored to dx) while the true maximum M is tracked; if
     * M exceeds the guess by more than 64 (e up to e^64: the sum cannot overflow for any C below
     * 2^31), the pass is redone with m = M */
    float s, M;
    for (int attempt = 0; attempt < 2; attempt++) {
      float16 s16 = (float16)(0.0f), m16 = (float16)(-INFINITY);
      for (ulong v = 0; v < nv; v++) {
        float16 a = vload16(v, xr);
        m16 = a > m16 ? a : m16;
        float16 e = exp(a - m);
        s16 += e;
        if (want_grad) vstore16(e, v, dxr);
      }
      if (tail) {
        /* lanes already covered may hold e (dx aliasing x): only fresh lanes count */
        float16 a = vload16(0, xr + C - 16);
        m16 = ((a > m16) & fresh) ? a : m16;
        float16 e = exp(a - m);
        s16 += fresh ? e : (float16)(0.0f);
        if (want_grad) vstore16(fresh ? e : vload16(0, dxr + C - 16), 0, dxr + C - 16);
      }
      float8 s8 = s16.lo + s16.hi;
      float4 s4 = s8.lo + s8.hi;
      s = (s4.x + s4.y) + (s4.z + s4.w);
      M = xent_max16(m16);
      XENT_SCALAR_LOOP
      for (ulong j = scalar_from; j < C; j++) {
        float xj = xr[j];
        M = xj > M ? xj : M;
        float e = exp(xj - m);
        s += e;
        if (want_grad) dxr[j] = e;
      }
      if (!(M - m > 64.0f)) break;
      m = M;
    }
    /* the sum shifted by the true maximum, so the loss is as exact as with a max pass first */
    if (want_loss) LOSS_KAHAN_ADD(gsum, gcomp, valid ? log(s * exp(m - M)) - (xlab - M) : NAN);
    if (want_grad) {
      float scale = inv_n / s;
      for (ulong v = 0; v < nv; v++) vstore16(vload16(v, dxr) * scale, v, dxr);
      if (tail) {
        float16 d = vload16(0, dxr + C - 16);
        vstore16(fresh ? d * scale : d, 0, dxr + C - 16);
      }
      XENT_SCALAR_LOOP
      for (ulong j = scalar_from; j < C; j++) dxr[j] *= scale;
      if (valid) dxr[lab] -= inv_n;
    }
  }
  return gsum;
}

__kernel void xent_rows(__global const float *x, __global int *labels, __global int *partial,
                        __global float *loss, __global float *dx, uint rows, uint chunk, ulong C,
                        int want_loss, int want_grad, int exact_max, float inv_n, float denom) {
  __local float scratch[1];
  __local int is_last;
  const float gsum = xent_rows_sum(x, labels, dx, rows, chunk, C, want_loss, want_grad,
                                   exact_max, inv_n, get_global_id(0));
  if (want_loss)
    xent_publish_and_finish(gsum, partial, labels + rows, get_num_groups(0), loss, denom,
                            scratch, &is_last);
}

/* GPUs: one work-group per row (local size a power of two; scratch holds one float per work-item),
 * strided passes and tree reductions. No early return before a barrier (see cl/softmax.cl). */
__kernel void xent_wg(__global const float *x, __global int *labels, __global int *partial,
                      __global float *loss, __global float *dx, uint rows, ulong C, int want_loss,
                      int want_grad, float inv_n, float denom, __local float *scratch) {
  __local int is_last;
  uint r = get_group_id(0);
  int in_range = r < rows;
  ulong Cr = in_range ? C : 0;
  uint lid = get_local_id(0), L = get_local_size(0);
  __global const float *xr = x + (ulong)r * C;
  int lab = in_range ? labels[r] : -1;
  int ignored = lab == XENT_IGNORED;
  int valid = lab >= 0 && (ulong)lab < C;
  float m = -INFINITY;
  for (ulong j = lid; j < Cr; j += L) m = fmax(m, xr[j]);
  m = loss_wg_reduce(scratch, m, 0);
  float s = 0.0f;
  for (ulong j = lid; j < Cr; j += L) s += exp(xr[j] - m);
  s = loss_wg_reduce(scratch, s, 1);
  float row_loss = ignored ? 0.0f : valid ? log(s) - (xr[lab] - m) : NAN; /* before dx (may alias x) */
  barrier(CLK_GLOBAL_MEM_FENCE); /* every work-item has read x[label] before dx is written */
  if (want_grad) {
    __global float *dxr = dx + (ulong)r * C;
    float inv_s = 1.0f / s;
    for (ulong j = lid; j < Cr; j += L) {
      float p = exp(xr[j] - m) * inv_s;
      dxr[j] = ignored ? 0.0f : ((valid && j == (ulong)lab) ? p - 1.0f : p) * inv_n;
    }
  }
  if (want_loss)
    xent_publish_and_finish(row_loss, partial, labels + rows, get_num_groups(0), loss, denom,
                            scratch, &is_last);
}

/* ---------------------------------------------------------------------------------------------- */
/* Elementwise losses: work-item g handles elements [g*chunk, min((g+1)*chunk, n)), writes        */
/* partial[g] (compensated sum of its chunk) and the gradient of the mean.                        */
/* ---------------------------------------------------------------------------------------------- */


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
