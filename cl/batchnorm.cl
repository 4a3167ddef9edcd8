/* cl/batchnorm.cl — batch normalisation per channel (axis 1) of x [N, C, S...] viewed as
 * [N, C, S] with S the product of the spatial dimensions (S = 1 for [N, C]).
 *
 * Reductions are deterministic: a work-group of (LX, LY) work-items owns LX consecutive channels;
 * each of the LY lanes sums a fixed subset of a channel's N*S elements in a fixed order, and a
 * tree in local memory combines the lanes. LY = 1 (CPU devices) makes one work-item walk its
 * channel row by row, eight elements at a time. The launch shape comes from the host; sizes and
 * hyper-parameters are kernel arguments, so nothing here is a -D parameter. */

/* Sum over channel c of f(x) with f(x) = x - shift (kind 0) or (x - shift)^2 (kind 1), over this
 * lane's share of the channel. `kind` is a literal at every call, so the branches fold. */
inline float bn_channel_sum(__global const float *x, size_t c, size_t N, size_t C, size_t S,
                            size_t ly, size_t LY, float shift, int kind) {
  float total = 0.0f;
  if (LY == 1) {
    for (size_t n = 0; n < N; n++) {
      __global const float *p = x + (n * C + c) * S;
      float8 a8 = (float8)(0.0f);
      size_t s = 0;
      for (; s + 8 <= S; s += 8) {
        float8 d = vload8(0, p + s) - shift;
        a8 += kind ? d * d : d;
      }
      float r = 0.0f;
      for (; s < S; s++) {
        float d = p[s] - shift;
        r += kind ? d * d : d;
      }
      total += ((a8.s0 + a8.s1) + (a8.s2 + a8.s3)) + ((a8.s4 + a8.s5) + (a8.s6 + a8.s7)) + r;
    }
  } else if (S >= LY) {
    for (size_t n = 0; n < N; n++) {
      __global const float *p = x + (n * C + c) * S;
      for (size_t s = ly; s < S; s += LY) {
        float d = p[s] - shift;
        total += kind ? d * d : d;
      }
    }
  } else {
    size_t m = N * S;
    for (size_t j = ly; j < m; j += LY) {
      size_t n = j / S, s = j - n * S;
      float d = x[(n * C + c) * S + s] - shift;
      total += kind ? d * d : d;
    }
  }
  return total;
}

/* Sums over channel c of dy and of dy * (x - mean), this lane's share. */
inline float2 bn_channel_sum2(__global const float *x, __global const float *dy, size_t c,
                              size_t N, size_t C, size_t S, size_t ly, size_t LY, float mean) {
  float2 total = (float2)(0.0f);
  if (LY == 1) {
    for (size_t n = 0; n < N; n++) {
      size_t base = (n * C + c) * S;
      float8 a8 = (float8)(0.0f), b8 = (float8)(0.0f);
      size_t s = 0;
      for (; s + 8 <= S; s += 8) {
        float8 g = vload8(0, dy + base + s);
        a8 += g;
        b8 += g * (vload8(0, x + base + s) - mean);
      }
      float ra = 0.0f, rb = 0.0f;
      for (; s < S; s++) {
        float g = dy[base + s];
        ra += g;
        rb += g * (x[base + s] - mean);
      }
      total.x += ((a8.s0 + a8.s1) + (a8.s2 + a8.s3)) + ((a8.s4 + a8.s5) + (a8.s6 + a8.s7)) + ra;
      total.y += ((b8.s0 + b8.s1) + (b8.s2 + b8.s3)) + ((b8.s4 + b8.s5) + (b8.s6 + b8.s7)) + rb;
    }
  } else if (S >= LY) {
    for (size_t n = 0; n < N; n++) {
      size_t base = (n * C + c) * S;
      for (size_t s = ly; s < S; s += LY) {
        float g = dy[base + s];
        total.x += g;
        total.y += g * (x[base + s] - mean);
      }
    }
  } else {
    size_t m = N * S;
    for (size_t j = ly; j < m; j += LY) {
      size_t n = j / S, s = j - n * S;
      size_t i = (n * C + c) * S + s;
      float g = dy[i];
      total.x += g;
      total.y += g * (x[i] - mean);
    }
  }
  return total;
}

/* Tree sum of v over the LY lanes of each of the LX channels of the work-group; every work-item
 * gets its channel's total. Must be reached by every work-item of the group. */
inline float bn_lane_sum(__local float *scratch, float v, size_t lx, size_t ly, size_t LX,
                         size_t LY) {
  scratch[ly * LX + lx] = v;
  for (size_t stride = LY / 2; stride > 0; stride /= 2) {
    barrier(CLK_LOCAL_MEM_FENCE);
    if (ly < stride) scratch[ly * LX + lx] += scratch[(ly + stride) * LX + lx];
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  float total = scratch[lx];
  barrier(CLK_LOCAL_MEM_FENCE);
  return total;
}

/* Training statistics. Two passes over x (mean, then the sum of squared deviations from it).
 * save_mean = mean, save_invstd = 1/sqrt(biased var + eps); if update_running:
 * running_mean = (1-momentum)*running_mean + momentum*mean and
 * running_var = (1-momentum)*running_var + momentum*unbias*var, unbias = m/(m-1).
 * inv_m = 1/(N*S). Global (C rounded up to LX, LY); local (LX, LY), LY a power of two;
 * scratch: LX*LY floats. */
__kernel void bn_stats(__global const float *x, ulong N, ulong C, ulong S, float inv_m,
                       float unbias, float momentum, float eps, __global float *save_mean,
                       __global float *save_invstd, int update_running,
                       __global float *running_mean, __global float *running_var,
                       __local float *scratch) {
  size_t c = get_global_id(0);
  size_t lx = get_local_id(0), ly = get_local_id(1);
  size_t LX = get_local_size(0), LY = get_local_size(1);
  int valid = c < C;
  float part = valid ? bn_channel_sum(x, c, N, C, S, ly, LY, 0.0f, 0) : 0.0f;
  float mean = bn_lane_sum(scratch, part, lx, ly, LX, LY) * inv_m;
  part = valid ? bn_channel_sum(x, c, N, C, S, ly, LY, mean, 1) : 0.0f;
  float var = bn_lane_sum(scratch, part, lx, ly, LX, LY) * inv_m;
  if (!valid || ly != 0) return;
  save_mean[c] = mean;
  save_invstd[c] = 1.0f / sqrt(var + eps);
  if (update_running) {
    running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * mean;
    running_var[c] = (1.0f - momentum) * running_var[c] + momentum * (var * unbias);
  }
}

/* Index of element (i0, i1) of the 2-D launch and its channel: (C, N) when S == 1, else
 * (S, N*C). Returns 0 outside the tensor. */
inline int bn_index(size_t N, size_t C, size_t S, size_t *idx, size_t *c) {
  size_t i0 = get_global_id(0), i1 = get_global_id(1);
  if (S == 1) {
    if (i0 >= C || i1 >= N) return 0;
    *c = i0;
    *idx = i1 * C + i0;
  } else {
    if (i0 >= S || i1 >= N * C) return 0;
    *c = i1 % C;
    *idx = i1 * S + i0;
  }
  return 1;
}

/* Per-channel affine map of the forward: y = (x - mean) * k + b with k = invstd * scale,
 * b = shift; invstd = stat, or 1/sqrt(stat + eps) when stat_is_var (inference). */
inline void bn_forward_coef(size_t c, __global const float *mean, __global const float *stat,
                            int stat_is_var, float eps, int has_scale, __global const float *scale,
                            int has_shift, __global const float *shift, float *m, float *k,
                            float *b) {
  float inv = stat_is_var ? 1.0f / sqrt(stat[c] + eps) : stat[c];
  *m = mean[c];
  *k = has_scale ? inv * scale[c] : inv;
  *b = has_shift ? shift[c] : 0.0f;
}

/* y = (x - mean[c]) * invstd[c] * scale[c] + shift[c] (see bn_forward_coef; scale/shift are
 * used only when has_scale/has_shift, else 1 and 0). One element per work-item, 2-D launch as
 * bn_index. y may be x. */
__kernel void bn_apply(__global const float *x, __global float *y, ulong N, ulong C, ulong S,
                       __global const float *mean, __global const float *stat, int stat_is_var,
                       float eps, int has_scale, __global const float *scale, int has_shift,
                       __global const float *shift) {
  size_t idx, c;
  if (!bn_index(N, C, S, &idx, &c)) return;
  float m, k, b;
  bn_forward_coef(c, mean, stat, stat_is_var, eps, has_scale, scale, has_shift, shift, &m, &k, &b);
  y[idx] = (x[idx] - m) * k + b;
}

/* The same for CPU devices when S > 1: work-item g owns the (n, c) rows [g*rows_per_item,
 * (g+1)*rows_per_item) of S contiguous elements each, eight at a time. */
__kernel void bn_apply_rows(__global const float *x, __global float *y, ulong N, ulong C,
                            ulong S, __global const float *mean, __global const float *stat,
                            int stat_is_var, float eps, int has_scale,
                            __global const float *scale, int has_shift,
                            __global const float *shift, ulong rows_per_item) {
  size_t first = get_global_id(0) * rows_per_item, rows = N * C;
  size_t last = min(rows, first + (size_t)rows_per_item);
  for (size_t row = first; row < last; row++) {
    float m, k, b;
    bn_forward_coef(row % C, mean, stat, stat_is_var, eps, has_scale, scale, has_shift, shift, &m,
                    &k, &b);
    __global const float *p = x + row * S;
    __global float *q = y + row * S;
    size_t s = 0;
    for (; s + 8 <= S; s += 8) vstore8((vload8(0, p + s) - m) * k + b, 0, q + s);
    for (; s < S; s++) q[s] = (p[s] - m) * k + b;
  }
}

/* Backward reductions: sum_dy[c] = sum dy, sum_dyxhat[c] = sum dy * (x - mean) * invstd, written
 * to sums[c] and sums[C + c]; dscale = beta*dscale + sum_dyxhat and dshift = beta*dshift + sum_dy
 * when requested (beta == 0: not read). invstd = stat, or 1/sqrt(stat + eps) when stat_is_var
 * (the inference backward: mean and stat are the running statistics). Launch as bn_stats. */
__kernel void bn_bwd_reduce(__global const float *x, __global const float *dy, ulong N, ulong C,
                            ulong S, __global const float *mean, __global const float *stat,
                            int stat_is_var, float eps, __global float *sums, float beta,
                            int has_dscale,
                            __global float *dscale, int has_dshift, __global float *dshift,
                            __local float *scratch) {
  size_t c = get_global_id(0);
  size_t lx = get_local_id(0), ly = get_local_id(1);
  size_t LX = get_local_size(0), LY = get_local_size(1);
  int valid = c < C;
  float2 part = valid ? bn_channel_sum2(x, dy, c, N, C, S, ly, LY, mean[c]) : (float2)(0.0f);
  float sdy = bn_lane_sum(scratch, part.x, lx, ly, LX, LY);
  float sdyx = bn_lane_sum(scratch, part.y, lx, ly, LX, LY);
  if (!valid || ly != 0) return;
  float sdyxhat = sdyx * (stat_is_var ? 1.0f / sqrt(stat[c] + eps) : stat[c]);
  sums[c] = sdy;
  sums[C + c] = sdyxhat;
  if (has_dscale) dscale[c] = beta == 0.0f ? sdyxhat : beta * dscale[c] + sdyxhat;
  if (has_dshift) dshift[c] = beta == 0.0f ? sdy : beta * dshift[c] + sdy;
}

/* Per-channel coefficients of dx = k * (dy - a - (x - mean) * q): k = scale*invstd,
 * a = sum_dy/m, q = invstd * sum_dyxhat/m. */
inline void bn_backward_coef(size_t c, size_t C, __global const float *mean,
                             __global const float *invstd, int has_scale,
                             __global const float *scale, __global const float *sums,
                             float inv_m, float *m, float *k, float *a, float *q) {
  float is = invstd[c];
  *m = mean[c];
  *k = has_scale ? scale[c] * is : is;
  *a = sums[c] * inv_m;
  *q = is * (sums[C + c] * inv_m);
}

/* dx = beta*dx + scale*invstd*(dy - sum_dy/m - xhat*sum_dyxhat/m), xhat = (x - mean)*invstd
 * (beta == 0: dx is not read). One element per work-item, launch as bn_apply. */
__kernel void bn_bwd_data(__global const float *x, __global const float *dy, ulong N, ulong C,
                          ulong S, __global const float *mean, __global const float *invstd,
                          int has_scale, __global const float *scale, __global const float *sums,
                          float inv_m, float beta, __global float *dx) {
  size_t idx, c;
  if (!bn_index(N, C, S, &idx, &c)) return;
  float m, k, a, q;
  bn_backward_coef(c, C, mean, invstd, has_scale, scale, sums, inv_m, &m, &k, &a, &q);
  float g = k * (dy[idx] - a - (x[idx] - m) * q);
  dx[idx] = beta == 0.0f ? g : beta * dx[idx] + g;
}

/* The same for CPU devices when S > 1, rows as bn_apply_rows. */
__kernel void bn_bwd_data_rows(__global const float *x, __global const float *dy, ulong N,
                               ulong C, ulong S, __global const float *mean,
                               __global const float *invstd, int has_scale,
                               __global const float *scale, __global const float *sums,
                               float inv_m, float beta, __global float *dx, ulong rows_per_item) {
  size_t first = get_global_id(0) * rows_per_item, rows = N * C;
  size_t last = min(rows, first + (size_t)rows_per_item);
  for (size_t row = first; row < last; row++) {
    float m, k, a, q;
    bn_backward_coef(row % C, C, mean, invstd, has_scale, scale, sums, inv_m, &m, &k, &a, &q);
    size_t base = row * S, s = 0;
    if (beta == 0.0f) {
      for (; s + 8 <= S; s += 8) {
        float8 g = k * (vload8(0, dy + base + s) - a - (vload8(0, x + base + s) - m) * q);
        vstore8(g, 0, dx + base + s);
      }
      for (; s < S; s++) dx[base + s] = k * (dy[base + s] - a - (x[base + s] - m) * q);
    } else {
      for (; s + 8 <= S; s += 8) {
        float8 g = k * (vload8(0, dy + base + s) - a - (vload8(0, x + base + s) - m) * q);
        vstore8(beta * vload8(0, dx + base + s) + g, 0, dx + base + s);
      }
      for (; s < S; s++)
        dx[base + s] = beta * dx[base + s] + k * (dy[base + s] - a - (x[base + s] - m) * q);
    }
  }
}

/* Backward of the inference forward (running statistics, which are constants here):
 * dx = beta*dx + dy * scale*invstd with invstd = 1/sqrt(running_var + eps) (beta == 0: dx is not
 * read). One element per work-item, launch as bn_apply. dx may be dy. */
__kernel void bn_bwd_data_inference(__global const float *dy, ulong N, ulong C, ulong S,
                                    __global const float *running_var, float eps, int has_scale,
                                    __global const float *scale, float beta, __global float *dx) {
  size_t idx, c;
  if (!bn_index(N, C, S, &idx, &c)) return;
  float is = 1.0f / sqrt(running_var[c] + eps);
  float g = dy[idx] * (has_scale ? scale[c] * is : is);
  dx[idx] = beta == 0.0f ? g : beta * dx[idx] + g;
}

/* The same for CPU devices when S > 1, rows as bn_apply_rows. */
__kernel void bn_bwd_data_inference_rows(__global const float *dy, ulong N, ulong C, ulong S,
                                         __global const float *running_var, float eps,
                                         int has_scale, __global const float *scale, float beta,
                                         __global float *dx, ulong rows_per_item) {
  size_t first = get_global_id(0) * rows_per_item, rows = N * C;
  size_t last = min(rows, first + (size_t)rows_per_item);
  for (size_t row = first; row < last; row++) {
    size_t c = row % C, base = row * S, s = 0;
    float is = 1.0f / sqrt(running_var[c] + eps);
    float k = has_scale ? scale[c] * is : is;
    if (beta == 0.0f) {
      for (; s + 8 <= S; s += 8) vstore8(k * vload8(0, dy + base + s), 0, dx + base + s);
      for (; s < S; s++) dx[base + s] = k * dy[base + s];
    } else {
      for (; s + 8 <= S; s += 8)
        vstore8(beta * vload8(0, dx + base + s) + k * vload8(0, dy + base + s), 0, dx + base + s);
      for (; s < S; s++) dx[base + s] = beta * dx[base + s] + k * dy[base + s];
    }
  }
}
