/* cl/activation.cl — activation functions, forward and backward, elementwise.
 *
 * The formulas are written once as type-generic macros (T is float or float16) so that each
 * chunk runs a float16 body (vector math builtins: several times faster than scalar erf/exp on
 * CPU devices) and a scalar tail with the same expression. The forward formulas are those of
 * clnn_act_apply in cl/common.h (which conv2d's fused activation uses). Backward computes act'
 * from the saved input x or the saved output y.
 * One kernel per activation (and, for backward, per saved tensor where the formula differs): PoCL
 * generates machine code for a kernel at its first launch, so a network pays only for the
 * activations it uses (one kernel switching over all of them made a ReLU network compile the
 * float16 erf, tanh, exp and log1p bodies too: about 1.8 s of a cold start on 2 cores).
 * Every kernel is 1-D over chunks: work-item g handles [g*chunk, min((g+1)*chunk, n)); the host
 * picks chunk per device class. */

/* ---- act(x) ---- */
#define AF_IDENTITY(T, x, a) (x)
#define AF_RELU(T, x, a) fmax((x), (T)(0.0f))
#define AF_LEAKY_RELU(T, x, a) select((T)(a) * (x), (x), (x) > (T)(0.0f))
#define AF_ELU(T, x, a) select((T)(a) * (exp(x) - (T)(1.0f)), (x), (x) > (T)(0.0f))
#define AF_SIGMOID(T, x, a) ((T)(1.0f) / ((T)(1.0f) + exp(-(x))))
#define AF_TANH(T, x, a) tanh(x)
#define AF_GELU(T, x, a) \
  ((T)(0.5f) * (x) * ((T)(1.0f) + erf((x) * (T)(0.70710678118654752f))))
#define AF_SOFTPLUS(T, x, a) select(log1p(exp(x)), (x), (x) > (T)(20.0f))

/* ---- act'(x) ---- */
#define ADX_RELU(T, x, a) select((T)(0.0f), (T)(1.0f), (x) > (T)(0.0f))
#define ADX_LEAKY_RELU(T, x, a) select((T)(a), (T)(1.0f), (x) > (T)(0.0f))
#define ADX_ELU(T, x, a) select((T)(a) * exp(x), (T)(1.0f), (x) > (T)(0.0f))
#define ADX_SIGMOID(T, x, a) (AF_SIGMOID(T, x, a) * ((T)(1.0f) - AF_SIGMOID(T, x, a)))
#define ADX_TANH(T, x, a) ((T)(1.0f) - tanh(x) * tanh(x))
/* Phi(x) + x * phi(x) */
#define ADX_GELU(T, x, a)                                            \
  ((T)(0.5f) * ((T)(1.0f) + erf((x) * (T)(0.70710678118654752f))) + \
   (x) * (T)(0.39894228040143268f) * exp((T)(-0.5f) * (x) * (x)))
#define ADX_SOFTPLUS(T, x, a) AF_SIGMOID(T, x, a)

/* ---- act'(x) in terms of y = act(x) (the host allows these only where y determines it; ReLU and
 * leaky ReLU use their act'(x) formulas on y: same sign) ---- */
/* for x <= 0: alpha * exp(x) = y + alpha */
#define ADY_ELU(T, y, a) select((y) + (T)(a), (T)(1.0f), (y) > (T)(0.0f))
#define ADY_SIGMOID(T, y, a) ((y) * ((T)(1.0f) - (y)))
#define ADY_TANH(T, y, a) ((T)(1.0f) - (y) * (y))

#define ACT_RANGE(n, chunk)                        \
  ulong start = (ulong)get_global_id(0) * (chunk); \
  if (start >= (n)) return;                        \
  ulong end = min(start + (chunk), (n));

/* y = act(x): act_forward_<name>(x, y, n, chunk, alpha). The chunk's loop is a function of its
 * own, out of line on CPU devices (CLNN_OUTLINE: PoCL compiles it once, not once in the kernel
 * and once in each of its two work-group launchers). */
#define ACT_FORWARD_KERNEL(NAME, F)                                                               \
  CLNN_OUTLINE void act_forward_##NAME##_range(__global const float *x, __global float *y,        \
                                               ulong start, ulong end, float alpha) {             \
    ulong i = start;                                                                              \
    for (; i + 16 <= end; i += 16) vstore16(F(float16, vload16(0, x + i), alpha), 0, y + i);      \
    for (; i < end; i++) y[i] = F(float, x[i], alpha);                                            \
  }                                                                                               \
  __kernel void act_forward_##NAME(__global const float *x, __global float *y, ulong n,           \
                                   ulong chunk, float alpha) {                                    \
    ACT_RANGE(n, chunk)                                                                           \
    act_forward_##NAME##_range(x, y, start, end, alpha);                                          \
  }

ACT_FORWARD_KERNEL(identity, AF_IDENTITY)
ACT_FORWARD_KERNEL(relu, AF_RELU)
ACT_FORWARD_KERNEL(leaky_relu, AF_LEAKY_RELU)
ACT_FORWARD_KERNEL(elu, AF_ELU)
ACT_FORWARD_KERNEL(sigmoid, AF_SIGMOID)
ACT_FORWARD_KERNEL(tanh, AF_TANH)
ACT_FORWARD_KERNEL(gelu, AF_GELU)
ACT_FORWARD_KERNEL(softplus, AF_SOFTPLUS)

/* dx = beta*dx + dy * D(s) where s is the saved x or y (the kernel's name says which: _x, _y, or
 * neither where the formula is the same for both). beta == 0 overwrites dx without reading it (so
 * NaN garbage in dx does not survive). act_backward_<name>(s, dy, dx, n, chunk, alpha, beta) */
#define ACT_BACKWARD_KERNEL(NAME, D)                                                              \
  CLNN_OUTLINE void act_backward_##NAME##_range(__global const float *s, __global const float *dy, \
                                                __global float *dx, ulong start, ulong end,       \
                                                float alpha, float beta) {                        \
    ulong i = start;                                                                              \
    if (beta == 0.0f) {                                                                           \
      for (; i + 16 <= end; i += 16)                                                              \
        vstore16(vload16(0, dy + i) * D(float16, vload16(0, s + i), alpha), 0, dx + i);           \
      for (; i < end; i++) dx[i] = dy[i] * D(float, s[i], alpha);                                 \
    } else {                                                                                      \
      for (; i + 16 <= end; i += 16)                                                              \
        vstore16(fma((float16)(beta), vload16(0, dx + i),                                         \
                     vload16(0, dy + i) * D(float16, vload16(0, s + i), alpha)),                  \
                 0, dx + i);                                                                      \
      for (; i < end; i++) dx[i] = fma(beta, dx[i], dy[i] * D(float, s[i], alpha));              \
    }                                                                                             \
  }                                                                                               \
  __kernel void act_backward_##NAME(__global const float *s, __global const float *dy,            \
                                    __global float *dx, ulong n, ulong chunk, float alpha,        \
                                    float beta) {                                                 \
    ACT_RANGE(n, chunk)                                                                           \
    act_backward_##NAME##_range(s, dy, dx, start, end, alpha, beta);                              \
  }

/* identity: s is not read (the host passes dy) */
#define ACT_ONE(T, v, a) ((T)(1.0f))
ACT_BACKWARD_KERNEL(identity, ACT_ONE)
/* ReLU and leaky ReLU: x > 0 exactly where y > 0 (leaky with alpha >= 0: the host checks) */
ACT_BACKWARD_KERNEL(relu, ADX_RELU)
ACT_BACKWARD_KERNEL(leaky_relu, ADX_LEAKY_RELU)
ACT_BACKWARD_KERNEL(elu_x, ADX_ELU)
ACT_BACKWARD_KERNEL(elu_y, ADY_ELU)
ACT_BACKWARD_KERNEL(sigmoid_x, ADX_SIGMOID)
ACT_BACKWARD_KERNEL(sigmoid_y, ADY_SIGMOID)
ACT_BACKWARD_KERNEL(tanh_x, ADX_TANH)
ACT_BACKWARD_KERNEL(tanh_y, ADY_TANH)
ACT_BACKWARD_KERNEL(gelu_x, ADX_GELU)
ACT_BACKWARD_KERNEL(softplus_x, ADX_SOFTPLUS)
