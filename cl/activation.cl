/* cl/activation.cl — activation functions, forward and backward, elementwise.
 *
 * The formulas are written once as type-generic macros (T is float or float16) so that each
 * chunk runs a float16 body (vector math builtins: several times faster than scalar erf/exp on
 * CPU devices) and a scalar tail with the same expression. The forward formulas are those of
 * clnn_act_apply in cl/common.h (which conv2d's fused activation uses). Backward computes act'
 * from the saved input x or the saved output y.
 * Both kernels are 1-D over chunks: work-item g handles [g*chunk, min((g+1)*chunk, n)); the host
 * picks chunk per device class. Each activation has its own loop (the switch is outside it). */

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

/* ---- act'(x) in terms of y = act(x) (the host allows these only where y determines it) ---- */
#define ADY_RELU(T, y, a) select((T)(0.0f), (T)(1.0f), (y) > (T)(0.0f))
#define ADY_LEAKY_RELU(T, y, a) select((T)(a), (T)(1.0f), (y) > (T)(0.0f))
/* for x <= 0: alpha * exp(x) = y + alpha */
#define ADY_ELU(T, y, a) select((y) + (T)(a), (T)(1.0f), (y) > (T)(0.0f))
#define ADY_SIGMOID(T, y, a) ((y) * ((T)(1.0f) - (y)))
#define ADY_TANH(T, y, a) ((T)(1.0f) - (y) * (y))

#define ACT_RANGE(n, chunk)                        \
  ulong start = (ulong)get_global_id(0) * (chunk); \
  if (start >= (n)) return;                        \
  ulong end = min(start + (chunk), (n));

__kernel void act_forward(__global const float *x, __global float *y, ulong n, ulong chunk,
                          int act, float alpha) {
  ACT_RANGE(n, chunk)
#define ACT_FWD_CASE(ID, F)                                                               \
  case ID: {                                                                              \
    ulong i = start;                                                                      \
    for (; i + 16 <= end; i += 16) vstore16(F(float16, vload16(0, x + i), alpha), 0, y + i);   \
    for (; i < end; i++) y[i] = F(float, x[i], alpha);                                    \
    break;                                                                                \
  }
  switch (act) {
    ACT_FWD_CASE(CLNN_ACT_ID_RELU, AF_RELU)
    ACT_FWD_CASE(CLNN_ACT_ID_LEAKY_RELU, AF_LEAKY_RELU)
    ACT_FWD_CASE(CLNN_ACT_ID_ELU, AF_ELU)
    ACT_FWD_CASE(CLNN_ACT_ID_SIGMOID, AF_SIGMOID)
    ACT_FWD_CASE(CLNN_ACT_ID_TANH, AF_TANH)
    ACT_FWD_CASE(CLNN_ACT_ID_GELU, AF_GELU)
    ACT_FWD_CASE(CLNN_ACT_ID_SOFTPLUS, AF_SOFTPLUS)
    ACT_FWD_CASE(CLNN_ACT_ID_IDENTITY, AF_IDENTITY)
    default: break; /* the host checks the id */
  }
#undef ACT_FWD_CASE
}

/* dx = beta*dx + dy * act'(.) where s is the saved x (from_y 0) or y (from_y 1). beta == 0
 * overwrites dx without reading it (so NaN garbage in dx does not survive). */
__kernel void act_backward(__global const float *s, __global const float *dy, __global float *dx,
                           ulong n, ulong chunk, int act, float alpha, int from_y, float beta) {
  ACT_RANGE(n, chunk)
#define ACT_BWD_LOOP(D)                                                                   \
  {                                                                                       \
    ulong i = start;                                                                      \
    if (beta == 0.0f) {                                                                   \
      for (; i + 16 <= end; i += 16)                                                        \
        vstore16(vload16(0, dy + i) * D(float16, vload16(0, s + i), alpha), 0, dx + i);       \
      for (; i < end; i++) dx[i] = dy[i] * D(float, s[i], alpha);                         \
    } else {                                                                              \
      for (; i + 16 <= end; i += 16)                                                        \
        vstore16(fma((float16)(beta), vload16(0, dx + i),                                    \
                    vload16(0, dy + i) * D(float16, vload16(0, s + i), alpha)),              \
                0, dx + i);                                                               \
      for (; i < end; i++) dx[i] = fma(beta, dx[i], dy[i] * D(float, s[i], alpha));       \
    }                                                                                     \
  }
#define ACT_BWD_CASE_XY(ID, DX, DY) \
  case ID:                          \
    if (from_y)                     \
      ACT_BWD_LOOP(DY)              \
    else                            \
      ACT_BWD_LOOP(DX)              \
    break;
#define ACT_ONE(T, v, a) ((T)(1.0f))
  switch (act) {
    ACT_BWD_CASE_XY(CLNN_ACT_ID_RELU, ADX_RELU, ADY_RELU)
    ACT_BWD_CASE_XY(CLNN_ACT_ID_LEAKY_RELU, ADX_LEAKY_RELU, ADY_LEAKY_RELU)
    ACT_BWD_CASE_XY(CLNN_ACT_ID_ELU, ADX_ELU, ADY_ELU)
    ACT_BWD_CASE_XY(CLNN_ACT_ID_SIGMOID, ADX_SIGMOID, ADY_SIGMOID)
    ACT_BWD_CASE_XY(CLNN_ACT_ID_TANH, ADX_TANH, ADY_TANH)
    case CLNN_ACT_ID_GELU:
      ACT_BWD_LOOP(ADX_GELU)
      break;
    case CLNN_ACT_ID_SOFTPLUS:
      ACT_BWD_LOOP(ADX_SOFTPLUS)
      break;
    case CLNN_ACT_ID_IDENTITY: /* s is read but does not matter (the host passes dy) */
      ACT_BWD_LOOP(ACT_ONE)
      break;
    default: break; /* the host checks the id */
  }
#undef ACT_ONE
#undef ACT_BWD_CASE_XY
#undef ACT_BWD_LOOP
}
