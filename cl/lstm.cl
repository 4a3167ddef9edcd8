/* cl/lstm.cl — LSTM kernels (host side: src/ops/lstm.c).
 *
 * - lstm_gates_fwd / lstm_gates_bwd: the fused gate cell, forward and backward, gate order i, f, g,
 *   o (PyTorch). One work-item per (n, j) element of the [N, H] state; it reads the four gate
 *   pre-activations of row n at columns j, H+j, 2H+j, 3H+j of the [N, 4H] gate matrix.
 * - lstm_scale (CLNN_RNN_SCALE_KERNEL in cl/common.h): buf = beta * buf (beta 0 writes zeros), for a gradient that
 *   gets no contribution.
 * - lstm_step_fwd / lstm_step_bwd: one step t of a layer over a sequence, either direction, with
 *   optional per-sample lengths: sample n is active at steps t < len[n] (len = T without
 *   lengths); its first step is 0 (forward) or len-1 (reverse), its last len-1 or 0. Inactive
 *   steps write zeros (y, c, dgates, the carried dc) and nothing else, so they take no part in
 *   the state or the gradients.
 * - lstm_gather_rows: row n of [N, 4H] from step first(n) of a [T, N, 4H] buffer.
 *
 * Every buffer argument comes with a float offset so the host can address step t inside
 * [T, N, ...] buffers; optional buffers come with a has_* flag (the host then passes any valid
 * buffer, never read). All sizes are kernel arguments. */

inline float lstm_sigmoid(float x) { return 1.0f / (1.0f + exp(-x)); }

/* out = beta == 0 ? v : beta * out + v (beta 0 never reads out, so NaN garbage is overwritten). */
inline float lstm_blend(float beta, float old, float v) {
  return beta == 0.0f ? v : beta * old + v;
}

/* gates [N, 4H] at g_off: pre-activations (input projection + recurrent part). With has_bias the
 * bias [4H] is added and the biased pre-activations are written back (backward reads them).
 * c_prev [N, H] at cp_off (zeros when !has_cprev). Writes c and h ([N, H] at their offsets) and,
 * when flagged, copies of them into hn / cn ([N, H], offset 0). */
kernel void lstm_gates_fwd(global float *gates, ulong g_off, global const float *bias,
                           int has_bias, global const float *c_prev, ulong cp_off, int has_cprev,
                           global float *c_out, ulong c_off, global float *h_out, ulong h_off,
                           global float *hn, int has_hn, global float *cn, int has_cn, int N,
                           int H) {
  const size_t idx = get_global_id(0);
  if (idx >= (size_t)N * (size_t)H) return;
  const size_t n = idx / (size_t)H, j = idx % (size_t)H;
  global float *g = gates + g_off + n * 4 * (size_t)H;
  float gi = g[j], gf = g[H + j], gg = g[2 * H + j], go = g[3 * H + j];
  if (has_bias) {
    gi += bias[j];
    gf += bias[H + j];
    gg += bias[2 * H + j];
    go += bias[3 * H + j];
    g[j] = gi;
    g[H + j] = gf;
    g[2 * H + j] = gg;
    g[3 * H + j] = go;
  }
  const float cp = has_cprev ? c_prev[cp_off + idx] : 0.0f;
  const float c = lstm_sigmoid(gf) * cp + lstm_sigmoid(gi) * tanh(gg);
  const float h = lstm_sigmoid(go) * tanh(c);
  c_out[c_off + idx] = c;
  h_out[h_off + idx] = h;
  if (has_hn) hn[idx] = h;
  if (has_cn) cn[idx] = c;
}

/* Reverse of lstm_gates_fwd for one step. gates [N, 4H] (biased pre-activations), c_prev (zeros
 * when !has_cprev) and c [N, H] from the forward pass. The gradient reaching h is dh_a + dh_b
 * (each optional: dy_t and the recurrent part), the one reaching c from the next step is dc_in
 * (optional). Writes dgates [N, 4H] (overwrite) and, with has_dcout, dc_out [N, H] =
 * blend(dc_beta, dc_out, dc * sigma(f)). dc_out may be the same memory as dc_in (each work-item
 * reads its element before writing it). */
kernel void lstm_gates_bwd(global const float *gates, ulong g_off, global const float *c_prev,
                           ulong cp_off, int has_cprev, global const float *c, ulong c_off,
                           global const float *dh_a, ulong dha_off, int has_dha,
                           global const float *dh_b, ulong dhb_off, int has_dhb,
                           global const float *dc_in, ulong dci_off, int has_dcin,
                           global float *dgates, ulong dg_off, global float *dc_out,
                           ulong dco_off, int has_dcout, float dc_beta, int N, int H) {
  const size_t idx = get_global_id(0);
  if (idx >= (size_t)N * (size_t)H) return;
  const size_t n = idx / (size_t)H, j = idx % (size_t)H;
  global const float *g = gates + g_off + n * 4 * (size_t)H;
  const float si = lstm_sigmoid(g[j]);
  const float sf = lstm_sigmoid(g[H + j]);
  const float tg = tanh(g[2 * H + j]);
  const float so = lstm_sigmoid(g[3 * H + j]);
  const float cp = has_cprev ? c_prev[cp_off + idx] : 0.0f;
  const float tc = tanh(c[c_off + idx]);
  float dh = 0.0f;
  if (has_dha) dh += dh_a[dha_off + idx];
  if (has_dhb) dh += dh_b[dhb_off + idx];
  float dc = has_dcin ? dc_in[dci_off + idx] : 0.0f;
  dc += dh * so * (1.0f - tc * tc);
  global float *dg = dgates + dg_off + n * 4 * (size_t)H;
  dg[j] = dc * tg * si * (1.0f - si);
  dg[H + j] = dc * cp * sf * (1.0f - sf);
  dg[2 * H + j] = dc * si * (1.0f - tg * tg);
  dg[3 * H + j] = dh * tc * so * (1.0f - so);
  if (has_dcout) dc_out[dco_off + idx] = lstm_blend(dc_beta, dc_out[dco_off + idx], dc * sf);
}

CLNN_RNN_SCALE_KERNEL(lstm)

/* Length of sample n (T without lengths). */
inline int lstm_len(global const int *lens, int has_lens, size_t n, int T) {
  return has_lens ? lens[n] : T;
}

/* Step t of the layer forward. gates [N, 4H] at g_off holds x_t W_ih^T plus the recurrent part
 * h_prev W_hh^T (the host's GEMM read y at the previous step, whose rows are zero for samples
 * that start at t in the middle of the sequence: for those, has_p0 adds p0 = h0 W_hh^T). Adds the
 * bias (and p0) and writes the pre-activations back; c_prev is c0 (or zero) at a sample's first
 * step, else the reserve's c at the previous step (t - 1, or t + 1 when reverse). Writes c and y
 * at step t (zeros when inactive), and h_n / c_n at the sample's last step. */
kernel void lstm_step_fwd(global float *gates, ulong g_off, global const float *bias, int has_bias,
                          global const float *p0, int has_p0, global float *c_all, ulong c_base,
                          global const float *c0, int has_c0, global float *y, int t, int T,
                          int reverse, global const int *lens, int has_lens, global float *hn,
                          int has_hn, global float *cn, int has_cn, int N, int H) {
  const size_t idx = get_global_id(0);
  if (idx >= (size_t)N * (size_t)H) return;
  const size_t n = idx / (size_t)H, j = idx % (size_t)H, NH = (size_t)N * (size_t)H;
  const int L = lstm_len(lens, has_lens, n, T);
  global float *c_t = c_all + c_base + (size_t)t * NH;
  global float *y_t = y + (size_t)t * NH;
  if (t >= L) {
    c_t[idx] = 0.0f;
    y_t[idx] = 0.0f;
    return;
  }
  const int first = reverse ? L - 1 : 0, last = reverse ? 0 : L - 1;
  global float *g = gates + g_off + n * 4 * (size_t)H;
  float gi = g[j], gf = g[H + j], gg = g[2 * H + j], go = g[3 * H + j];
  if (has_bias) {
    gi += bias[j];
    gf += bias[H + j];
    gg += bias[2 * H + j];
    go += bias[3 * H + j];
  }
  if (has_p0 && t == first) {
    global const float *q = p0 + n * 4 * (size_t)H;
    gi += q[j];
    gf += q[H + j];
    gg += q[2 * H + j];
    go += q[3 * H + j];
  }
  g[j] = gi;
  g[H + j] = gf;
  g[2 * H + j] = gg;
  g[3 * H + j] = go;
  const int prev = reverse ? t + 1 : t - 1;
  const float cp = t == first ? (has_c0 ? c0[idx] : 0.0f) : c_all[c_base + (size_t)prev * NH + idx];
  const float c = lstm_sigmoid(gf) * cp + lstm_sigmoid(gi) * tanh(gg);
  const float h = lstm_sigmoid(go) * tanh(c);
  c_t[idx] = c;
  y_t[idx] = h;
  if (t == last) {
    if (has_hn) hn[idx] = h;
    if (has_cn) cn[idx] = c;
  }
}

/* Step t of the layer backward (steps visited in the reverse of the forward's order). The
 * gradient reaching h is dy_t (has_dy) + the recurrent part dh_rec (has_rec: every step but the
 * first visited) + dh_n at the sample's last step; the one reaching c is dc_rec (has_rec) + dc_n
 * at the last step. Writes dgates_t and the carried dc (dc_rec's memory; zero after a sample's
 * first step), and at the first step dc0 = blend(beta, dc0, dc * sigma(f)). Inactive steps write
 * zero dgates and a zero carried dc. */
kernel void lstm_step_bwd(global const float *gates, ulong g_off, global const float *c_all,
                          ulong c_base, global const float *c0, int has_c0,
                          global const float *dy, int has_dy, global float *rec, int has_rec,
                          global const float *dhn, int has_dhn, global const float *dcn,
                          int has_dcn, int t, int T, int reverse, global const int *lens,
                          int has_lens, global float *dgates, ulong dg_off, global float *dc0,
                          int has_dc0, float beta, int N, int H) {
  const size_t idx = get_global_id(0);
  if (idx >= (size_t)N * (size_t)H) return;
  const size_t n = idx / (size_t)H, j = idx % (size_t)H, NH = (size_t)N * (size_t)H;
  const int L = lstm_len(lens, has_lens, n, T);
  global float *dg = dgates + dg_off + n * 4 * (size_t)H;
  global float *dc_carry = rec + NH; /* rec: [0, NH) dh_rec, [NH, 2NH) the carried dc */
  if (t >= L) {
    dg[j] = 0.0f;
    dg[H + j] = 0.0f;
    dg[2 * H + j] = 0.0f;
    dg[3 * H + j] = 0.0f;
    dc_carry[idx] = 0.0f;
    return;
  }
  const int first = reverse ? L - 1 : 0, last = reverse ? 0 : L - 1;
  global const float *g = gates + g_off + n * 4 * (size_t)H;
  const float si = lstm_sigmoid(g[j]);
  const float sf = lstm_sigmoid(g[H + j]);
  const float tg = tanh(g[2 * H + j]);
  const float so = lstm_sigmoid(g[3 * H + j]);
  const int prev = reverse ? t + 1 : t - 1;
  const float cp = t == first ? (has_c0 ? c0[idx] : 0.0f) : c_all[c_base + (size_t)prev * NH + idx];
  const float tc = tanh(c_all[c_base + (size_t)t * NH + idx]);
  float dh = has_dy ? dy[(size_t)t * NH + idx] : 0.0f;
  float dc = 0.0f;
  if (has_rec) {
    dh += rec[idx];
    dc += dc_carry[idx];
  }
  if (t == last) {
    if (has_dhn) dh += dhn[idx];
    if (has_dcn) dc += dcn[idx];
  }
  dc += dh * so * (1.0f - tc * tc);
  dg[j] = dc * tg * si * (1.0f - si);
  dg[H + j] = dc * cp * sf * (1.0f - sf);
  dg[2 * H + j] = dc * si * (1.0f - tg * tg);
  dg[3 * H + j] = dh * tc * so * (1.0f - so);
  if (t == first) {
    if (has_dc0) dc0[idx] = lstm_blend(beta, dc0[idx], dc * sf);
    dc_carry[idx] = 0.0f;
  } else {
    dc_carry[idx] = dc * sf;
  }
}

/* out[n, :] = src[first(n), n, :] for src [T, N, G] (first(n) = len[n] - 1: the reverse
 * direction's first step) into out at out_off. Global size N * G. */
kernel void lstm_gather_rows(global const float *src, global const int *lens, int N, int G,
                             global float *out, ulong out_off) {
  const size_t idx = get_global_id(0);
  if (idx >= (size_t)N * (size_t)G) return;
  const size_t n = idx / (size_t)G, col = idx % (size_t)G;
  const size_t t = (size_t)(lens[n] - 1);
  out[out_off + idx] = src[(t * (size_t)N + n) * (size_t)G + col];
}
