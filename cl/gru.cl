/* cl/gru.cl — GRU kernels (host side: src/ops/gru.c).
 *
 * - gru_step_fwd / gru_step_bwd: one time step of the gate cell, forward and backward, gate order
 *   r, z, n (PyTorch), b_hn inside the reset product. One work-item per (n, j) element of the
 *   [N, H] state. Per step the reserve row of sample n holds 4H floats: r, z, n (activations) and
 *   W_hn h + b_hn, which backward needs for the reset gate's gradient.
 * - gru_scale (CLNN_RNN_SCALE_KERNEL in cl/common.h): buf = beta * buf (beta 0 writes zeros), for a gradient that
 *   gets no contribution.
 *
 * Step t of sample n works on position p of its sequence: p = t, or with reverse p = len - 1 - t
 * (len = lengths[n] with has_len, else T). Steps t >= len are past the sample's end: the state is
 * carried unchanged, the output at position t (padding) is zero and nothing flows back through
 * the gates. Position-indexed buffers ([T, N, ...]: the reserve's gate rows, y, dy, dgi) are
 * addressed by p inside the kernels; step-indexed ones (states, dgh) by the host's offsets.
 * Optional buffers come with a has_* flag (the host then passes any valid buffer, never read). */

/* The position step t of sample n works on, or -1 when the step is past the sample's end. */
inline int gru_pos(global const int *lengths, int has_len, int reverse, int t, int T, size_t n) {
  const int len = has_len ? lengths[n] : T;
  if (t >= len) return -1;
  return reverse ? len - 1 - t : t;
}

inline float gru_sigmoid(float x) { return 1.0f / (1.0f + exp(-x)); }

/* beta == 0 ? v : beta * old + v (beta 0 never reads old, so NaN garbage is overwritten). */
inline float gru_blend(float beta, float old, float v) { return beta == 0.0f ? v : beta * old + v; }

/* res [T, N, 4H]: at position p the input projection x W_ih^T in the first 3H columns (no bias);
 * gh [N, 3H] (has_gh; zeros otherwise) is h_prev W_hh^T. Overwrites the res row of (p, n) with
 * r, z, n and W_hn h + b_hn (a step past the end zeroes the row of position t); writes the new
 * state into h_out (at h_off), y [T, N, H] at (p, n) (zero at position t past the end), and hn
 * ([N, H], offset 0) when has_hn. */
kernel void gru_step_fwd(global float *res, global const float *gh, int has_gh,
                         global const float *b_ih, int has_bih, global const float *b_hh,
                         int has_bhh, global const float *h_prev, ulong hp_off, int has_hprev,
                         global float *h_out, ulong h_off, global float *y, global float *hn,
                         int has_hn, global const int *lengths, int has_len, int reverse, int t,
                         int T, int N, int H) {
  const size_t idx = get_global_id(0);
  if (idx >= (size_t)N * (size_t)H) return;
  const size_t n = idx / (size_t)H, j = idx % (size_t)H;
  const int p = gru_pos(lengths, has_len, reverse, t, T, n);
  const size_t row = (size_t)(p >= 0 ? p : t) * (size_t)N + n;
  global float *g = res + row * 4 * (size_t)H;
  const float hp = has_hprev ? h_prev[hp_off + idx] : 0.0f;
  float h = hp, out = 0.0f;
  if (p >= 0) {
    global const float *ghr = gh + n * 3 * (size_t)H;
    float ir = g[j], iz = g[H + j], in = g[2 * H + j];
    float hr = 0.0f, hz = 0.0f, hnn = 0.0f;
    if (has_gh) hr = ghr[j], hz = ghr[H + j], hnn = ghr[2 * H + j];
    if (has_bih) ir += b_ih[j], iz += b_ih[H + j], in += b_ih[2 * H + j];
    if (has_bhh) hr += b_hh[j], hz += b_hh[H + j], hnn += b_hh[2 * H + j];
    const float r = gru_sigmoid(ir + hr), z = gru_sigmoid(iz + hz);
    const float c = tanh(in + r * hnn);
    g[j] = r;
    g[H + j] = z;
    g[2 * H + j] = c;
    g[3 * H + j] = hnn;
    h = (1.0f - z) * c + z * hp;
    out = h;
  } else {
    g[j] = 0.0f, g[H + j] = 0.0f, g[2 * H + j] = 0.0f, g[3 * H + j] = 0.0f;
  }
  h_out[h_off + idx] = h;
  y[row * (size_t)H + j] = out;
  if (has_hn) hn[idx] = h;
}

/* Reverse of gru_step_fwd for step t. res [T, N, 4H] (r, z, n, W_hn h + b_hn at (p, n)), h_prev
 * as in the forward. The gradient reaching h_t is dy [T, N, H] at (p, n) (has_dy; none past the
 * end) + dh_in (has_dhin, at dhi_off: carried from step t+1, or dh_n). Writes dgi [T, N, 3H] at
 * (p, n) (pre-activation gradients of the input projection, = of b_ih; zeros at position t past
 * the end), dgh [N, 3H] at dgh_off (of W_hh h + b_hh, step-indexed) and, with has_dhout,
 * dh_out = blend(dh_beta, dh_out, dh * z) (the direct path; the host adds dgh W_hh). dh_out may
 * be the same memory as dh_in (each work-item reads its element before writing it). */
kernel void gru_step_bwd(global const float *res, global const float *h_prev, ulong hp_off,
                         int has_hprev, global const float *dy, int has_dy,
                         global const float *dh_in, ulong dhi_off, int has_dhin,
                         global float *dgi, global float *dgh, ulong dgh_off,
                         global float *dh_out, ulong dho_off, int has_dhout, float dh_beta,
                         global const int *lengths, int has_len, int reverse, int t, int T, int N,
                         int H) {
  const size_t idx = get_global_id(0);
  if (idx >= (size_t)N * (size_t)H) return;
  const size_t n = idx / (size_t)H, j = idx % (size_t)H;
  const int p = gru_pos(lengths, has_len, reverse, t, T, n);
  const size_t row = (size_t)(p >= 0 ? p : t) * (size_t)N + n;
  float dh = has_dhin ? dh_in[dhi_off + idx] : 0.0f;
  if (has_dy && p >= 0) dh += dy[row * (size_t)H + j];
  global float *gi = dgi + row * 3 * (size_t)H;
  global float *gh = dgh + dgh_off + n * 3 * (size_t)H;
  float carry = dh;
  if (p >= 0) {
    global const float *g = res + row * 4 * (size_t)H;
    const float r = g[j], z = g[H + j], c = g[2 * H + j], hnn = g[3 * H + j];
    const float hp = has_hprev ? h_prev[hp_off + idx] : 0.0f;
    const float dc = dh * (1.0f - z) * (1.0f - c * c);
    const float dz = dh * (hp - c) * z * (1.0f - z);
    const float dr = dc * hnn * r * (1.0f - r);
    gi[j] = dr, gi[H + j] = dz, gi[2 * H + j] = dc;
    gh[j] = dr, gh[H + j] = dz, gh[2 * H + j] = dc * r;
    carry = dh * z;
  } else {
    gi[j] = 0.0f, gi[H + j] = 0.0f, gi[2 * H + j] = 0.0f;
    gh[j] = 0.0f, gh[H + j] = 0.0f, gh[2 * H + j] = 0.0f;
  }
  if (has_dhout) dh_out[dho_off + idx] = gru_blend(dh_beta, dh_out[dho_off + idx], carry);
}

CLNN_RNN_SCALE_KERNEL(gru)
