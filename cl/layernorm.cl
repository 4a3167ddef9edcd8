/* cl/layernorm.cl — layer normalisation and RMS normalisation over the last dimension of x viewed
 * as [R, D] (R rows of D contiguous elements), forward and backward.
 *
 * One work-group per row for the row kernels: its L lanes (L a power of two from the host, 1 on
 * CPU devices) each walk a fixed strided subset of the row and a local-memory tree combines them,
 * so every sum has a fixed order and results repeat bit for bit. `rms` selects RMS norm (no mean:
 * mean = 0, no bias, no mean term in the backward). The parameter gradients are column sums over
 * the rows: P parts of consecutive rows are summed by ln_bwd_params_part into a workspace, then
 * ln_bwd_params_finish adds the parts in order. P depends only on R, so results are deterministic.
 * On CPU devices ln_bwd_rows makes the parts and dx in one pass, a work-item per block of rows
 * (ln_bwd_data and ln_bwd_params_part serve the other devices). */

/* Sum of v over the work-group's lanes; every lane gets the total. Reached by every lane. */
inline float ln_group_sum(__local float *scratch, float v) {
  size_t lid = get_local_id(0), L = get_local_size(0);
  if (L == 1) return v;
  scratch[lid] = v;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (size_t h = L / 2; h > 0; h >>= 1) {
    if (lid < h) scratch[lid] += scratch[lid + h];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  float r = scratch[0];
  barrier(CLK_LOCAL_MEM_FENCE);
  return r;
}

/* CPU devices run a row on one work-item (L == 1); there a single running sum is one long chain
 * of dependent adds. These helpers read the row eight floats at a time into eight independent
 * partial sums, added in a fixed order at the end (the scalar tail last), so the sums still
 * repeat bit for bit. */
inline float ln_hsum8(float8 a) {
  return ((a.s0 + a.s1) + (a.s2 + a.s3)) + ((a.s4 + a.s5) + (a.s6 + a.s7));
}

/* sum over d of (xr[d] - c), or of (xr[d] - c)^2 when `square`. */
inline float ln_row_sum(__global const float *xr, size_t D, float c, int square) {
  size_t D8 = D / 8;
  float8 acc = (float8)(0.0f);
  for (size_t k = 0; k < D8; k++) {
    float8 t = vload8(k, xr) - c;
    acc = square ? fma(t, t, acc) : acc + t;
  }
  float s = ln_hsum8(acc);
  for (size_t d = D8 * 8; d < D; d++) {
    float t = xr[d] - c;
    s = square ? fma(t, t, s) : s + t;
  }
  return s;
}

/* y = (x - mean) * rstd * w + b per row (rms: y = x * rstd * w); save_mean/save_rstd[r] get the
 * row's statistics when `save` (save_mean only without rms). y may be x. Launch: R groups of L. */
__kernel void ln_forward(__global const float *x, __global float *y, ulong R, ulong D, float eps,
                         int rms, int has_w, __global const float *w, int has_b,
                         __global const float *b, int save, __global float *save_mean,
                         __global float *save_rstd, __local float *scratch) {
  size_t r = get_group_id(0), lid = get_local_id(0), L = get_local_size(0);
  if (r >= R) return; /* uniform over the group */
  __global const float *xr = x + r * D;
  __global float *yr = y + r * D;
  float mean = 0.0f, var;
  if (L == 1) {
    if (!rms) mean = ln_row_sum(xr, D, 0.0f, 0) / (float)D;
    var = ln_row_sum(xr, D, mean, 1) / (float)D;
  } else {
    if (!rms) {
      float s = 0.0f;
      for (size_t d = lid; d < D; d += L) s += xr[d];
      mean = ln_group_sum(scratch, s) / (float)D;
    }
    float ss = 0.0f;
    for (size_t d = lid; d < D; d += L) {
      float t = xr[d] - mean;
      ss += t * t;
    }
    var = ln_group_sum(scratch, ss) / (float)D;
  }
  float rstd = 1.0f / sqrt(var + eps);
  size_t dstart = lid;
  if (L == 1) { /* eight at a time (the stride L is not known to the compiler) */
    size_t D8 = D / 8;
    for (size_t k = 0; k < D8; k++) {
      float8 v = (vload8(k, xr) - mean) * rstd;
      if (has_w) v *= vload8(k, w);
      if (has_b) v += vload8(k, b);
      vstore8(v, k, yr);
    }
    dstart = D8 * 8;
  }
  for (size_t d = dstart; d < D; d += L) {
    float v = (xr[d] - mean) * rstd;
    if (has_w) v *= w[d];
    if (has_b) v += b[d];
    yr[d] = v;
  }
  if (save && lid == 0) {
    if (!rms) save_mean[r] = mean;
    save_rstd[r] = rstd;
  }
}

/* dx = beta*dx + rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * w, xhat = (x - mean) *
 * rstd (rms: no mean(g) term, mean = 0). beta == 0: dx is not read. dx may be x or dy. Launch as
 * ln_forward. */
__kernel void ln_bwd_data(__global const float *x, __global const float *dy, ulong R, ulong D,
                          int rms, int has_w, __global const float *w,
                          __global const float *save_mean, __global const float *save_rstd,
                          float beta, __global float *dx, __local float *scratch) {
  size_t r = get_group_id(0), lid = get_local_id(0), L = get_local_size(0);
  if (r >= R) return;
  __global const float *xr = x + r * D, *dyr = dy + r * D;
  __global float *dxr = dx + r * D;
  float mean = rms ? 0.0f : save_mean[r], rstd = save_rstd[r];
  float sg = 0.0f, sgx = 0.0f;
  for (size_t d = lid; d < D; d += L) {
    float g = has_w ? dyr[d] * w[d] : dyr[d];
    sg += g;
    sgx += g * ((xr[d] - mean) * rstd);
  }
  float inv_d = 1.0f / (float)D;
  float a = rms ? 0.0f : ln_group_sum(scratch, sg) * inv_d;
  float c = ln_group_sum(scratch, sgx) * inv_d;
  for (size_t d = lid; d < D; d += L) {
    float g = has_w ? dyr[d] * w[d] : dyr[d];
    float xhat = (xr[d] - mean) * rstd;
    float v = rstd * (g - a - xhat * c);
    dxr[d] = beta == 0.0f ? v : beta * dxr[d] + v;
  }
}

/* Part p of the column sums: rows [p*rows_per_part, min((p+1)*rows_per_part, R)):
 * part[p*D + d] = sum dy * xhat (dweight), part[(P + p)*D + d] = sum dy (dbias, when want_b).
 * 2-D launch over (D, P). */
__kernel void ln_bwd_params_part(__global const float *x, __global const float *dy, ulong R,
                                 ulong D, int rms, __global const float *save_mean,
                                 __global const float *save_rstd, ulong rows_per_part, ulong P,
                                 int want_b, __global float *part) {
  size_t d = get_global_id(0), p = get_global_id(1);
  if (d >= D || p >= P) return;
  size_t r0 = p * rows_per_part, r1 = min((size_t)R, r0 + (size_t)rows_per_part);
  float sw = 0.0f, sb = 0.0f;
  for (size_t r = r0; r < r1; r++) {
    float g = dy[r * D + d];
    float mean = rms ? 0.0f : save_mean[r];
    sw += g * ((x[r * D + d] - mean) * save_rstd[r]);
    sb += g;
  }
  part[p * D + d] = sw;
  if (want_b) part[(P + p) * D + d] = sb;
}

/* Layer-norm backward for CPU devices in one pass over x and dy: work-item p takes the rows
 * [p*rows_per_part, ...) in order; for each row it first adds the row to its part of the
 * parameter gradients (when want_params; the parts and their column-sum order are those of
 * ln_bwd_params_part) and then writes the row of dx as ln_bwd_data does (dx may be x or dy: a row
 * is read before it is written). Eight floats at a time. 1-D launch over P. */
__kernel void ln_bwd_rows(__global const float *x, __global const float *dy, ulong R, ulong D,
                          int rms, int has_w, __global const float *w,
                          __global const float *save_mean, __global const float *save_rstd,
                          float beta, __global float *dx, ulong rows_per_part, ulong P,
                          int want_params, int want_b, __global float *part) {
  size_t p = get_global_id(0);
  if (p >= P) return;
  size_t r0 = p * rows_per_part, r1 = min((size_t)R, r0 + (size_t)rows_per_part);
  size_t D8 = D / 8;
  __global float *pw = part + p * D, *pb = part + (P + p) * D;
  if (want_params)
    for (size_t d = 0; d < D; d++) {
      pw[d] = 0.0f;
      if (want_b) pb[d] = 0.0f;
    }
  float inv_d = 1.0f / (float)D;
  for (size_t r = r0; r < r1; r++) {
    __global const float *xr = x + r * D, *dyr = dy + r * D;
    __global float *dxr = dx + r * D;
    float mean = rms ? 0.0f : save_mean[r], rstd = save_rstd[r];
    float8 ag = (float8)(0.0f), agx = (float8)(0.0f);
    for (size_t k = 0; k < D8; k++) {
      float8 d8 = vload8(k, dyr), xhat = (vload8(k, xr) - mean) * rstd;
      if (want_params) {
        vstore8(vload8(k, pw) + d8 * xhat, k, pw);
        if (want_b) vstore8(vload8(k, pb) + d8, k, pb);
      }
      float8 g = has_w ? d8 * vload8(k, w) : d8;
      ag += g;
      agx += g * xhat;
    }
    float sg = ln_hsum8(ag), sgx = ln_hsum8(agx);
    for (size_t d = D8 * 8; d < D; d++) {
      float g0 = dyr[d], xhat = (xr[d] - mean) * rstd;
      if (want_params) {
        pw[d] += g0 * xhat;
        if (want_b) pb[d] += g0;
      }
      float g = has_w ? g0 * w[d] : g0;
      sg += g;
      sgx += g * xhat;
    }
    float a = rms ? 0.0f : sg * inv_d, c = sgx * inv_d;
    for (size_t k = 0; k < D8; k++) {
      float8 g = vload8(k, dyr);
      if (has_w) g *= vload8(k, w);
      float8 xhat = (vload8(k, xr) - mean) * rstd;
      float8 v = rstd * (g - a - xhat * c);
      vstore8(beta == 0.0f ? v : beta * vload8(k, dxr) + v, k, dxr);
    }
    for (size_t d = D8 * 8; d < D; d++) {
      float g = has_w ? dyr[d] * w[d] : dyr[d];
      float xhat = (xr[d] - mean) * rstd;
      float v = rstd * (g - a - xhat * c);
      dxr[d] = beta == 0.0f ? v : beta * dxr[d] + v;
    }
  }
}

/* dweight[d] = beta*dweight[d] + sum over p of part[p*D + d]; dbias likewise from the second
 * half (beta == 0: not read). 1-D launch over D. */
__kernel void ln_bwd_params_finish(__global const float *part, ulong D, ulong P, float beta,
                                   int has_dw, __global float *dw, int has_db,
                                   __global float *db) {
  size_t d = get_global_id(0);
  if (d >= D) return;
  if (has_dw) {
    float s = 0.0f;
    for (size_t p = 0; p < P; p++) s += part[p * D + d];
    dw[d] = beta == 0.0f ? s : beta * dw[d] + s;
  }
  if (has_db) {
    float s = 0.0f;
    for (size_t p = 0; p < P; p++) s += part[(P + p) * D + d];
    db[d] = beta == 0.0f ? s : beta * db[d] + s;
  }
}
