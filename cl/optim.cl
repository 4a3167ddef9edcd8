/* cl/optim.cl — fused optimizer steps (SGD, Adam/AdamW, RMSProp, AdaGrad), each one pass over
 * param, grad and state, in place; and gradient clipping by global norm (sum-of-squares partials,
 * one deterministic final reduction, scale applied on the device).
 *
 * Launch shape, chosen by the host (all sizes and hyper-parameters are kernel arguments):
 *   chunk > 0 (CPU devices): work-item g owns elements [g*chunk, (g+1)*chunk) and walks them
 *     eight at a time with vload8/vstore8, then a scalar tail;
 *   chunk == 0 (GPUs): one element per work-item.
 * The update of each optimizer is written once as a macro over a type T (float or float8). */

/* Calls FN##_8(i, ...) for each group of eight elements at index i this work-item owns and
 * FN##_1(i, ...) for each single element (the tail, or every element when chunk == 0). A chunk
 * is walked by FN##_range, which OPTIM_RANGE defines out of line on CPU devices (CLNN_OUTLINE:
 * PoCL then compiles the loop once, not once in the kernel and once in each of its two
 * work-group launchers). */
#define OPTIM_FOR_EACH(n, chunk, FN, ...)                                            \
  if ((chunk) == 0) {                                                                \
    size_t i = get_global_id(0);                                                     \
    if (i < (n)) FN##_1(i, __VA_ARGS__);                                             \
  } else {                                                                           \
    size_t start = get_global_id(0) * (chunk);                                       \
    FN##_range(start, min((size_t)(n), start + (size_t)(chunk)), __VA_ARGS__);       \
  }
#define OPTIM_RANGE(FN, ARGS, ...)                                                   \
  CLNN_OUTLINE void FN##_range(size_t start, size_t end, ARGS) {                     \
    size_t i = start;                                                                \
    for (; i + 8 <= end; i += 8) FN##_8(i, __VA_ARGS__);                             \
    for (; i < end; i++) FN##_1(i, __VA_ARGS__);                                     \
  }

/* Each optimizer below: its update written once as a macro valid for float and float8, the
 * element functions NAME_8 (eight at i) and NAME_1 (one at i), and the kernel. */

/* ---- SGD (torch.optim.SGD) ----
 * g += wd*p (wd != 0); with momentum: v = first ? g : mom*v + (1-dampening)*g, then
 * g = nesterov ? g + mom*v : v; p -= lr*g. */
#define SGD_UPDATE(p, g, v)                                     \
  {                                                             \
    if (wd != 0.0f) g += wd * p;                                \
    if (use_mom) {                                              \
      if (first) v = g;                                         \
      else v = mom * v + damp1 * g;                             \
      if (nesterov) g += mom * v;                               \
      else g = v;                                               \
    }                                                           \
    p -= lr * g;                                                \
  }

#define SGD_ARGS                                                                               \
  __global float *restrict param, __global const float *restrict grad,                         \
      __global float *restrict vel, float lr, float mom, float damp1, float wd, int use_mom,    \
      int nesterov, int first

inline void sgd_8(size_t i, SGD_ARGS) {
  float8 p = vload8(0, param + i), g = vload8(0, grad + i);
  float8 v = use_mom && !first ? vload8(0, vel + i) : (float8)(0.0f);
  SGD_UPDATE(p, g, v);
  vstore8(p, 0, param + i);
  if (use_mom) vstore8(v, 0, vel + i);
}
inline void sgd_1(size_t i, SGD_ARGS) {
  float p = param[i], g = grad[i];
  float v = use_mom && !first ? vel[i] : 0.0f;
  SGD_UPDATE(p, g, v);
  param[i] = p;
  if (use_mom) vel[i] = v;
}

OPTIM_RANGE(sgd, SGD_ARGS, param, grad, vel, lr, mom, damp1, wd, use_mom, nesterov, first)

__kernel void sgd_step(__global float *restrict param, __global const float *restrict grad,
                       __global float *restrict vel, ulong n, ulong chunk, float lr, float mom,
                       float damp1, float wd, int use_mom, int nesterov, int first) {
  OPTIM_FOR_EACH(n, chunk, sgd, param, grad, vel, lr, mom, damp1, wd, use_mom, nesterov, first)
}

/* ---- Adam / AdamW (torch.optim.Adam, torch.optim.AdamW) ----
 * g += wd*p (L2, Adam only); p *= decay (1 - lr*wd, AdamW only; 1 otherwise);
 * m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2; p -= step_size * m / (sqrt(v)*inv_bc2_sqrt + eps)
 * with step_size = lr / (1 - b1^step) and inv_bc2_sqrt = 1/sqrt(1 - b2^step) from the host. */
#define ADAM_UPDATE(p, g, m, v)                                 \
  {                                                             \
    if (wd != 0.0f) g += wd * p;                                \
    p *= decay;                                                 \
    m = b1 * m + omb1 * g;                                      \
    v = b2 * v + omb2 * (g * g);                                \
    p -= step_size * (m / (sqrt(v) * inv_bc2_sqrt + eps));      \
  }

#define ADAM_ARGS                                                                              \
  __global float *restrict param, __global const float *restrict grad,                         \
      __global float *restrict m_buf, __global float *restrict v_buf, float step_size,         \
      float b1, float omb1, float b2, float omb2, float eps, float wd, float decay,              \
      float inv_bc2_sqrt

inline void adam_8(size_t i, ADAM_ARGS) {
  float8 p = vload8(0, param + i), g = vload8(0, grad + i);
  float8 m = vload8(0, m_buf + i), v = vload8(0, v_buf + i);
  ADAM_UPDATE(p, g, m, v);
  vstore8(p, 0, param + i);
  vstore8(m, 0, m_buf + i);
  vstore8(v, 0, v_buf + i);
}
inline void adam_1(size_t i, ADAM_ARGS) {
  float p = param[i], g = grad[i], m = m_buf[i], v = v_buf[i];
  ADAM_UPDATE(p, g, m, v);
  param[i] = p;
  m_buf[i] = m;
  v_buf[i] = v;
}

OPTIM_RANGE(adam, ADAM_ARGS, param, grad, m_buf, v_buf, step_size, b1, omb1, b2, omb2, eps, wd, decay, inv_bc2_sqrt)

__kernel void adam_step(__global float *restrict param, __global const float *restrict grad,
                        __global float *restrict m_buf, __global float *restrict v_buf, ulong n,
                        ulong chunk, float step_size, float b1, float omb1, float b2, float omb2,
                        float eps, float wd, float decay, float inv_bc2_sqrt) {
  OPTIM_FOR_EACH(n, chunk, adam, param, grad, m_buf, v_buf, step_size, b1, omb1, b2, omb2, eps,
                 wd, decay, inv_bc2_sqrt)
}

/* ---- RMSProp (torch.optim.RMSprop, centered = False) ----
 * g += wd*p; sq = alpha*sq + (1-alpha)*g^2; avg = sqrt(sq) + eps;
 * momentum: buf = mom*buf + g/avg, p -= lr*buf; else p -= lr*g/avg. */
#define RMSPROP_UPDATE(p, g, sq, b)                             \
  {                                                             \
    if (wd != 0.0f) g += wd * p;                                \
    sq = alpha * sq + oma * (g * g);                            \
    if (use_mom) {                                              \
      b = mom * b + g / (sqrt(sq) + eps);                       \
      p -= lr * b;                                              \
    } else {                                                    \
      p -= lr * (g / (sqrt(sq) + eps));                         \
    }                                                           \
  }

#define RMSPROP_ARGS                                                                           \
  __global float *restrict param, __global const float *restrict grad,                         \
      __global float *restrict sq_buf, __global float *restrict mom_buf, float lr, float alpha, \
      float oma, float eps, float wd, float mom, int use_mom

inline void rmsprop_8(size_t i, RMSPROP_ARGS) {
  float8 p = vload8(0, param + i), g = vload8(0, grad + i), sq = vload8(0, sq_buf + i);
  float8 b = use_mom ? vload8(0, mom_buf + i) : (float8)(0.0f);
  RMSPROP_UPDATE(p, g, sq, b);
  vstore8(p, 0, param + i);
  vstore8(sq, 0, sq_buf + i);
  if (use_mom) vstore8(b, 0, mom_buf + i);
}
inline void rmsprop_1(size_t i, RMSPROP_ARGS) {
  float p = param[i], g = grad[i], sq = sq_buf[i];
  float b = use_mom ? mom_buf[i] : 0.0f;
  RMSPROP_UPDATE(p, g, sq, b);
  param[i] = p;
  sq_buf[i] = sq;
  if (use_mom) mom_buf[i] = b;
}

OPTIM_RANGE(rmsprop, RMSPROP_ARGS, param, grad, sq_buf, mom_buf, lr, alpha, oma, eps, wd, mom, use_mom)

__kernel void rmsprop_step(__global float *restrict param, __global const float *restrict grad,
                           __global float *restrict sq_buf, __global float *restrict mom_buf,
                           ulong n, ulong chunk, float lr, float alpha, float oma, float eps,
                           float wd, float mom, int use_mom) {
  OPTIM_FOR_EACH(n, chunk, rmsprop, param, grad, sq_buf, mom_buf, lr, alpha, oma, eps, wd, mom,
                 use_mom)
}

/* ---- AdaGrad (torch.optim.Adagrad, lr_decay = 0) ----
 * g += wd*p; sum += g^2; p -= lr * g / (sqrt(sum) + eps). */
#define ADAGRAD_UPDATE(p, g, s)                                 \
  {                                                             \
    if (wd != 0.0f) g += wd * p;                                \
    s += g * g;                                                 \
    p -= lr * (g / (sqrt(s) + eps));                            \
  }

#define ADAGRAD_ARGS                                                                           \
  __global float *restrict param, __global const float *restrict grad,                         \
      __global float *restrict sum_buf, float lr, float eps, float wd

inline void adagrad_8(size_t i, ADAGRAD_ARGS) {
  float8 p = vload8(0, param + i), g = vload8(0, grad + i), s = vload8(0, sum_buf + i);
  ADAGRAD_UPDATE(p, g, s);
  vstore8(p, 0, param + i);
  vstore8(s, 0, sum_buf + i);
}
inline void adagrad_1(size_t i, ADAGRAD_ARGS) {
  float p = param[i], g = grad[i], s = sum_buf[i];
  ADAGRAD_UPDATE(p, g, s);
  param[i] = p;
  sum_buf[i] = s;
}

OPTIM_RANGE(adagrad, ADAGRAD_ARGS, param, grad, sum_buf, lr, eps, wd)

__kernel void adagrad_step(__global float *restrict param, __global const float *restrict grad,
                           __global float *restrict sum_buf, ulong n, ulong chunk, float lr,
                           float eps, float wd) {
  OPTIM_FOR_EACH(n, chunk, adagrad, param, grad, sum_buf, lr, eps, wd)
}

/* ---- gradient clipping by global L2 norm ---- */

/* Tree sum over the work-group (local size a power of two); every work-item gets the total. */
inline float optim_group_sum(__local float *scratch, float v) {
  size_t l = get_local_id(0), L = get_local_size(0);
  scratch[l] = v;
  for (size_t stride = L / 2; stride > 0; stride /= 2) {
    barrier(CLK_LOCAL_MEM_FENCE);
    if (l < stride) scratch[l] += scratch[l + stride];
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  float total = scratch[0];
  barrier(CLK_LOCAL_MEM_FENCE);
  return total;
}

/* Stage 1: partials[offset + group] = sum of x^2 over this work-group's share of x[0, n).
 * chunk > 0: work-item g owns [g*chunk, (g+1)*chunk) (eight lanes, then a tail); chunk == 0:
 * work-items stride over x by the global size. scratch: local-size floats. */
__kernel void clip_sumsq_partial(__global const float *x, ulong n, ulong chunk,
                                 __global float *partials, ulong offset, __local float *scratch) {
  float acc = 0.0f;
  if (chunk == 0) {
    for (size_t i = get_global_id(0); i < n; i += get_global_size(0)) acc += x[i] * x[i];
  } else {
    size_t start = get_global_id(0) * chunk;
    size_t end = min((size_t)n, start + (size_t)chunk);
    size_t i = start;
    float8 a8 = (float8)(0.0f);
    for (; i + 8 <= end; i += 8) {
      float8 v = vload8(0, x + i);
      a8 += v * v;
    }
    for (; i < end; i++) acc += x[i] * x[i];
    acc += ((a8.s0 + a8.s1) + (a8.s2 + a8.s3)) + ((a8.s4 + a8.s5) + (a8.s6 + a8.s7));
  }
  float total = optim_group_sum(scratch, acc);
  if (get_local_id(0) == 0) partials[offset + get_group_id(0)] = total;
}

/* Stage 2, one work-group, over work = [partials (count floats) | norm | coefficient]:
 * work[count] = sqrt(sum of the partials) (the total norm) and work[count + 1] = the clip
 * coefficient min(1, max_norm / (norm + 1e-6)), NaN when the norm is NaN (as
 * torch.nn.utils.clip_grad_norm_, which propagates it). scratch: local-size floats. */
__kernel void clip_finish(__global float *work, ulong count, float max_norm,
                          __local float *scratch) {
  float acc = 0.0f;
  for (size_t i = get_local_id(0); i < count; i += get_local_size(0)) acc += work[i];
  float total = optim_group_sum(scratch, acc);
  if (get_local_id(0) != 0) return;
  float norm = sqrt(total);
  float coef = max_norm / (norm + 1e-6f);
  work[count] = norm;
  work[count + 1] = isnan(coef) ? coef : fmin(coef, 1.0f);
}

/* Stage 3: x *= coef[at] unless the coefficient is exactly 1 (nothing to do). */
inline void scale_8(size_t i, __global float *x, float c) { vstore8(vload8(0, x + i) * c, 0, x + i); }
inline void scale_1(size_t i, __global float *x, float c) { x[i] *= c; }
#define SCALE_ARGS __global float *x, float c
OPTIM_RANGE(scale, SCALE_ARGS, x, c)

__kernel void clip_scale(__global float *x, ulong n, ulong chunk, __global const float *coef,
                         ulong at) {
  float c = coef[at];
  if (c == 1.0f) return;
  OPTIM_FOR_EACH(n, chunk, scale, x, c)
}
