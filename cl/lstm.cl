/* cl/lstm.cl — LSTM kernels (host side: src/ops/lstm.c).
 *
 * - lstm_gates_fwd / lstm_gates_bwd: the fused gate cell, forward and backward, gate order i, f, g,
 *   o (PyTorch). One work-item per (n, j) element of the [N, H] state; it reads the four gate
 *   pre-activations of row n at columns j, H+j, 2H+j, 3H+j of the [N, 4H] gate matrix.
 * - lstm_colsum_partial / lstm_colsum_final: deterministic column sum of a [rows, cols] matrix
 *   (the bias gradient), in two passes with a fixed summation order, no atomics.
 * - lstm_scale: buf = beta * buf (beta 0 writes zeros), for a gradient that gets no contribution.
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

/* partial[chunk, col] = sum of src[row, col] (row-major [rows, cols]) over the rows
 * chunk*rows_per .. min(rows, (chunk+1)*rows_per) - 1, in row order. Global size cols * chunks. */
kernel void lstm_colsum_partial(global const float *src, int rows, int cols, int rows_per,
                                int chunks, global float *partial) {
  const size_t idx = get_global_id(0);
  if (idx >= (size_t)cols * (size_t)chunks) return;
  const size_t chunk = idx / (size_t)cols, col = idx % (size_t)cols;
  const size_t r0 = chunk * (size_t)rows_per;
  size_t r1 = r0 + (size_t)rows_per;
  if (r1 > (size_t)rows) r1 = (size_t)rows;
  float s = 0.0f;
  for (size_t r = r0; r < r1; r++) s += src[r * (size_t)cols + col];
  partial[idx] = s;
}

/* dst[col] = blend(beta, dst[col], sum over chunks of partial[chunk, col]) in chunk order. */
kernel void lstm_colsum_final(global const float *partial, int chunks, int cols, float beta,
                              global float *dst) {
  const size_t col = get_global_id(0);
  if (col >= (size_t)cols) return;
  float s = 0.0f;
  for (int k = 0; k < chunks; k++) s += partial[(size_t)k * (size_t)cols + col];
  dst[col] = lstm_blend(beta, dst[col], s);
}

/* buf[i] = beta * buf[i] for i < n (zeros when beta is 0). */
kernel void lstm_scale(global float *buf, ulong n, float beta) {
  const size_t i = get_global_id(0);
  if (i >= n) return;
  buf[i] = beta == 0.0f ? 0.0f : beta * buf[i];
}
