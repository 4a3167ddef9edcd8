/* src/ops/gru.c — GRU layer over a sequence, forward and backward through time, with optional
 * per-sample lengths. Kernels in cl/gru.cl.
 *
 * Forward: the input projection of every step is one GEMM into the reserve's gate area (ldc 4H,
 * first 3H columns), then per step one recurrent GEMM h_{t-1} W_hh^T into a [N, 3H] workspace
 * (slot 3) and the fused step kernel, which adds both biases, overwrites the reserve row with
 * r, z, n and W_hn h + b_hn, and writes h_t into the reserve's state area and y.
 *
 * Reserve layout (clnn_gru_reserve_numel = 5*T*N*H floats):
 *   [0, T*N*4H)           per position and sample: r, z, n, W_hn h + b_hn, [T, N, 4H]
 *   [T*N*4H, T*N*5H)      state h_t after every step, [T, N, H] (carried past a sample's end,
 *                         where y is zero, so it is kept apart from y)
 *
 * Backward: per step in reverse, the step kernel writes the gate gradients dgi_t (input side,
 * slot 3, [T, N, 3H]) and dgh_t (recurrent side, slot 4, [T, N, 3H]) and the direct part dh * z
 * of dh_{t-1} into the carry (slot 4 after dgh); then dh_{t-1} += dgh_t W_hh (GEMM, beta 1; into
 * dh0 at t = 0). After the loop: dx = dgi W_ih, dW_ih = dgi^T x, dW_hh = dgh[1..]^T h[0..T-2]
 * (+ dgh_0^T h0) as one GEMM each, and db_ih / db_hh as two-pass column sums in fixed order
 * (slot 5). Lengths are uploaded to slot 2. Nothing is read back to the host.
 *
 * Reverse direction (reverse = 1): step t of sample n reads position lengths[n]-1-t (T-1-t
 * without lengths) inside the kernels. The reserve's gate rows, y, dy and dgi stay indexed by
 * position (so the input projection, dx and dW_ih are the same GEMMs); the states and dgh are
 * indexed by step (so the recurrent GEMMs and dW_hh are too). */
#include "rnn_common.h"

#define GRU_PROGRAM "gru"

static clnn__kernel_ref k_gru_step_fwd = CLNN_KERNEL_REF(GRU_PROGRAM, "gru_step_fwd");
static clnn__kernel_ref k_gru_step_bwd = CLNN_KERNEL_REF(GRU_PROGRAM, "gru_step_bwd");
static clnn__kernel_ref k_gru_scale = CLNN_KERNEL_REF(GRU_PROGRAM, "gru_scale");

size_t clnn_gru_reserve_numel(size_t seq_len, size_t batch, size_t hidden) {
  return clnn__rnn_reserve_numel(seq_len, batch, hidden);
}

/* Checks what forward and backward share: x [T, N, I], w_ih [3H, I], w_hh [3H, H], h0 [N, H]
 * (optional), lengths, reserve. `from` receives the text that explains expected shapes. */
static clnn_status gru_check(const char *fn, const clnn_tensor *x, const clnn_tensor *w_ih,
                             const clnn_tensor *w_hh, const clnn_tensor *h0, const int32_t *lengths,
                             size_t num_lengths, int reverse, const clnn_tensor *reserve,
                             clnn__rnn_dims *d, char *from, size_t from_size) {
  clnn_status s;
  if ((s = clnn__rnn_input_dims(fn, x, w_ih, 3, d, from, from_size))) return s;
  const size_t gh[2] = {d->G, d->H}, nh[2] = {d->N, d->H};
  if ((s = clnn__rnn_shape(fn, w_hh, "w_hh", 2, gh, "[3H, H]", from)) ||
      (s = clnn__rnn_shape(fn, h0, "h0", 2, nh, "[N, H]", from)))
    return s;
  const size_t need = clnn_gru_reserve_numel(d->T, d->N, d->H);
  if ((s = clnn__rnn_check_sizes(fn, d, 2, need, from)) ||
      (s = clnn__rnn_check_params(fn, lengths, num_lengths, reverse, d, from)))
    return s;
  return clnn__rnn_check_reserve(fn, reserve, need, "clnn_gru_reserve_numel", from);
}

clnn_status clnn_gru_forward(clnn_context *ctx, const clnn_rnn_params *p, const clnn_tensor *x,
                             const clnn_tensor *w_ih, const clnn_tensor *w_hh,
                             const clnn_tensor *b_ih, const clnn_tensor *b_hh,
                             const clnn_tensor *h0, clnn_tensor *y, clnn_tensor *h_n,
                             clnn_tensor *reserve) {
  static const char fn[] = "clnn_gru_forward";
  if (!ctx) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: ctx is NULL", fn);
  clnn_rnn_params p_in;
  CLNN__STRUCT_IN(CLNN__RNN_PARAMS, fn, "params", p, p_in);
  const int32_t *lengths = p ? p->lengths : NULL;
  const size_t num_lengths = p ? p->num_lengths : 0;
  const int reverse = p ? p->reverse : 0;
  clnn_status s;
  if ((s = clnn__rnn_tensor(fn, ctx, x, "x", 0)) ||
      (s = clnn__rnn_tensor(fn, ctx, w_ih, "w_ih", 0)) ||
      (s = clnn__rnn_tensor(fn, ctx, w_hh, "w_hh", 0)) ||
      (s = clnn__rnn_tensor(fn, ctx, b_ih, "b_ih", 1)) ||
      (s = clnn__rnn_tensor(fn, ctx, b_hh, "b_hh", 1)) ||
      (s = clnn__rnn_tensor(fn, ctx, h0, "h0", 1)) || (s = clnn__rnn_tensor(fn, ctx, y, "y", 0)) ||
      (s = clnn__rnn_tensor(fn, ctx, h_n, "h_n", 1)) ||
      (s = clnn__rnn_tensor(fn, ctx, reserve, "reserve", 0)))
    return s;
  clnn__rnn_dims d;
  char from[256];
  if ((s = gru_check(fn, x, w_ih, w_hh, h0, lengths, num_lengths, reverse, reserve, &d, from,
                     sizeof from)))
    return s;
  const size_t g1[1] = {d.G}, nh[2] = {d.N, d.H}, tnh[3] = {d.T, d.N, d.H};
  if ((s = clnn__rnn_shape(fn, b_ih, "b_ih", 1, g1, "[3H]", from)) ||
      (s = clnn__rnn_shape(fn, b_hh, "b_hh", 1, g1, "[3H]", from)) ||
      (s = clnn__rnn_shape(fn, y, "y", 3, tnh, "[T, N, H]", from)) ||
      (s = clnn__rnn_shape(fn, h_n, "h_n", 2, nh, "[N, H]", from)))
    return s;
  /* h_n may be h0 (carrying state across calls): h0 is read at step 0, h_n written at the last
   * step (by the same work-item, after its read, when T = 1). */
  const clnn_tensor *outs[] = {y, h_n, reserve};
  const char *const out_names[] = {"y", "h_n", "reserve"};
  const clnn_tensor *ins[] = {x, w_ih, w_hh, b_ih, b_hh};
  const char *const in_names[] = {"x", "w_ih", "w_hh", "b_ih", "b_hh"};
  if ((s = clnn__rnn_distinct(fn, outs, out_names, 3, ins, in_names, 5))) return s;
  const clnn_tensor *outs2[] = {y, reserve}, *ins2[] = {h0};
  const char *const in2_names[] = {"h0"};
  const char *const out2_names[] = {"y", "reserve"};
  if ((s = clnn__rnn_distinct(fn, outs2, out2_names, 2, ins2, in2_names, 1))) return s;
  clnn__kernel_ref *const kernels[] = {&k_gru_step_fwd};
  if ((s = clnn__rnn_kernels(ctx, fn, kernels, 1))) return s;

  const size_t T = d.T, N = d.N, I = d.I, H = d.H, G = d.G;
  const size_t NH = N * H, R = 4 * H, h_base = T * N * R;
  cl_mem res = reserve->mem, ws_gh = NULL, lens = NULL;
  if ((s = clnn__workspace(ctx, 3, N * G * sizeof(float), &ws_gh)) ||
      (s = clnn__rnn_upload_lengths(ctx, lengths, N, res, &lens)))
    return clnn__prefix_error(fn, s);
  /* Input projection of every step: res[T*N, 0:3H] = x[T*N, I] * w_ih^T (row stride 4H). */
  if ((s = clnn__gemm(ctx, 0, 1, T * N, G, I, 1.0f, x->mem, 0, I, w_ih->mem, 0, I, 0.0f, res, 0,
                      R)))
    return s;
  const size_t local = clnn__rnn_local(ctx, &k_gru_step_fwd), global = NH;
  for (size_t t = 0; t < T; t++) {
    const int has_hp = t > 0 || h0;
    cl_mem hp = t > 0 ? res : (h0 ? h0->mem : res);
    const size_t hp_off = t > 0 ? h_base + (t - 1) * NH : 0;
    /* gh[N, 3H] = h_{t-1} * w_hh^T (skipped when h_{-1} is zero). */
    if (has_hp && (s = clnn__gemm(ctx, 0, 1, N, G, H, 1.0f, hp, hp_off, H, w_hh->mem, 0, H, 0.0f,
                                  ws_gh, 0, G)))
      return s;
    const int has_hn = t + 1 == T && h_n;
    s = CLNN_RUN(ctx, &k_gru_step_fwd, 1, &global, &local, CLNN_ARG_MEM(res), CLNN_ARG_MEM(ws_gh),
                 CLNN_ARG_INT(has_hp), CLNN_ARG_MEM(b_ih ? b_ih->mem : res),
                 CLNN_ARG_INT(b_ih != NULL), CLNN_ARG_MEM(b_hh ? b_hh->mem : res),
                 CLNN_ARG_INT(b_hh != NULL), CLNN_ARG_MEM(hp), CLNN_ARG_ULONG(hp_off),
                 CLNN_ARG_INT(has_hp), CLNN_ARG_MEM(res), CLNN_ARG_ULONG(h_base + t * NH),
                 CLNN_ARG_MEM(y->mem), CLNN_ARG_MEM(has_hn ? h_n->mem : res), CLNN_ARG_INT(has_hn),
                 CLNN_ARG_MEM(lens), CLNN_ARG_INT(lengths != NULL), CLNN_ARG_INT(reverse),
                 CLNN_ARG_INT(t), CLNN_ARG_INT(T), CLNN_ARG_INT(N), CLNN_ARG_INT(H));
    if (s) return s;
  }
  return CLNN_SUCCESS;
}

clnn_status clnn_gru_backward(clnn_context *ctx, const clnn_rnn_params *p, const clnn_tensor *x,
                              const clnn_tensor *w_ih, const clnn_tensor *w_hh,
                              const clnn_tensor *h0, const clnn_tensor *reserve,
                              const clnn_tensor *dy, const clnn_tensor *dh_n, float beta,
                              clnn_tensor *dx, clnn_tensor *dw_ih, clnn_tensor *dw_hh,
                              clnn_tensor *db_ih, clnn_tensor *db_hh, clnn_tensor *dh0) {
  static const char fn[] = "clnn_gru_backward";
  if (!ctx) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: ctx is NULL", fn);
  clnn_rnn_params p_in;
  CLNN__STRUCT_IN(CLNN__RNN_PARAMS, fn, "params", p, p_in);
  const int32_t *lengths = p ? p->lengths : NULL;
  const size_t num_lengths = p ? p->num_lengths : 0;
  const int reverse = p ? p->reverse : 0;
  clnn_status s;
  if ((s = clnn__rnn_tensor(fn, ctx, x, "x", 0)) ||
      (s = clnn__rnn_tensor(fn, ctx, w_ih, "w_ih", 0)) ||
      (s = clnn__rnn_tensor(fn, ctx, w_hh, "w_hh", 0)) ||
      (s = clnn__rnn_tensor(fn, ctx, h0, "h0", 1)) ||
      (s = clnn__rnn_tensor(fn, ctx, reserve, "reserve", 0)) ||
      (s = clnn__rnn_tensor(fn, ctx, dy, "dy", 1)) ||
      (s = clnn__rnn_tensor(fn, ctx, dh_n, "dh_n", 1)) ||
      (s = clnn__rnn_tensor(fn, ctx, dx, "dx", 1)) ||
      (s = clnn__rnn_tensor(fn, ctx, dw_ih, "dw_ih", 1)) ||
      (s = clnn__rnn_tensor(fn, ctx, dw_hh, "dw_hh", 1)) ||
      (s = clnn__rnn_tensor(fn, ctx, db_ih, "db_ih", 1)) ||
      (s = clnn__rnn_tensor(fn, ctx, db_hh, "db_hh", 1)) ||
      (s = clnn__rnn_tensor(fn, ctx, dh0, "dh0", 1)))
    return s;
  if ((s = clnn__check_beta(beta))) return clnn__prefix_error(fn, s);
  clnn__rnn_dims d;
  char from[256];
  if ((s = gru_check(fn, x, w_ih, w_hh, h0, lengths, num_lengths, reverse, reserve, &d, from,
                     sizeof from)))
    return s;
  const size_t nh[2] = {d.N, d.H}, tnh[3] = {d.T, d.N, d.H}, tni[3] = {d.T, d.N, d.I},
               gi[2] = {d.G, d.I}, gh[2] = {d.G, d.H}, g1[1] = {d.G};
  if ((s = clnn__rnn_shape(fn, dy, "dy", 3, tnh, "[T, N, H]", from)) ||
      (s = clnn__rnn_shape(fn, dh_n, "dh_n", 2, nh, "[N, H]", from)) ||
      (s = clnn__rnn_shape(fn, dx, "dx", 3, tni, "[T, N, I]", from)) ||
      (s = clnn__rnn_shape(fn, dw_ih, "dw_ih", 2, gi, "[3H, I]", from)) ||
      (s = clnn__rnn_shape(fn, dw_hh, "dw_hh", 2, gh, "[3H, H]", from)) ||
      (s = clnn__rnn_shape(fn, db_ih, "db_ih", 1, g1, "[3H]", from)) ||
      (s = clnn__rnn_shape(fn, db_hh, "db_hh", 1, g1, "[3H]", from)) ||
      (s = clnn__rnn_shape(fn, dh0, "dh0", 2, nh, "[N, H]", from)))
    return s;
  /* dh0 may be dh_n: dh_n is read at the last step, dh0 written at step 0 (the same work-item
   * reads first when T = 1, and the GEMM that adds to dh0 runs after that kernel). */
  const clnn_tensor *outs[] = {dx, dw_ih, dw_hh, db_ih, db_hh, dh0};
  const char *const out_names[] = {"dx", "dw_ih", "dw_hh", "db_ih", "db_hh", "dh0"};
  const clnn_tensor *ins[] = {x, w_ih, w_hh, h0, reserve, dy};
  const char *const in_names[] = {"x", "w_ih", "w_hh", "h0", "reserve", "dy"};
  if ((s = clnn__rnn_distinct(fn, outs, out_names, 6, ins, in_names, 6))) return s;
  const clnn_tensor *ins2[] = {dh_n};
  const char *const in2_names[] = {"dh_n"};
  if ((s = clnn__rnn_distinct(fn, outs, out_names, 5, ins2, in2_names, 1))) return s;
  if (!dx && !dw_ih && !dw_hh && !db_ih && !db_hh && !dh0) return CLNN_SUCCESS; /* nothing asked */

  const size_t T = d.T, N = d.N, I = d.I, H = d.H, G = d.G;
  const size_t NH = N * H, NG = N * G, TN = T * N, R = 4 * H, h_base = TN * R;
  const int need_scale = dw_hh && !h0 && T == 1 && beta != 1.0f;
  const int sums = db_ih || db_hh;
  clnn__kernel_ref *const kernels[] = {&k_gru_step_bwd, sums ? clnn__bias_grad_kernel() : NULL,
                                       need_scale ? &k_gru_scale : NULL};
  if ((s = clnn__rnn_kernels(ctx, fn, kernels, 3))) return s;
  cl_mem ws_dgi = NULL, ws_dgh = NULL, lens = NULL, res = reserve->mem;
  if ((s = clnn__workspace(ctx, 3, TN * G * sizeof(float), &ws_dgi)) ||
      (s = clnn__workspace(ctx, 4, (TN * G + NH) * sizeof(float), &ws_dgh)) ||
      (s = clnn__rnn_upload_lengths(ctx, lengths, N, res, &lens)))
    return clnn__prefix_error(fn, s);

  const size_t carry = TN * G; /* the carried dh: ws_dgh after the [T, N, 3H] gradients */
  const size_t local = clnn__rnn_local(ctx, &k_gru_step_bwd), global = NH;
  for (size_t t = T; t-- > 0;) {
    const int last = t + 1 == T;
    const int has_hp = t > 0 || h0;
    cl_mem hp = t > 0 ? res : (h0 ? h0->mem : res);
    const size_t hp_off = t > 0 ? h_base + (t - 1) * NH : 0;
    const int has_dhin = last ? dh_n != NULL : 1;
    cl_mem dhin = last ? (dh_n ? dh_n->mem : res) : ws_dgh;
    const size_t dhin_off = last ? 0 : carry;
    const int has_dhout = t > 0 || dh0;
    cl_mem dhout = t > 0 ? ws_dgh : (dh0 ? dh0->mem : res);
    const size_t dhout_off = t > 0 ? carry : 0;
    s = CLNN_RUN(ctx, &k_gru_step_bwd, 1, &global, &local, CLNN_ARG_MEM(res), CLNN_ARG_MEM(hp),
                 CLNN_ARG_ULONG(hp_off), CLNN_ARG_INT(has_hp), CLNN_ARG_MEM(dy ? dy->mem : res),
                 CLNN_ARG_INT(dy != NULL), CLNN_ARG_MEM(dhin), CLNN_ARG_ULONG(dhin_off),
                 CLNN_ARG_INT(has_dhin), CLNN_ARG_MEM(ws_dgi), CLNN_ARG_MEM(ws_dgh),
                 CLNN_ARG_ULONG(t * NG), CLNN_ARG_MEM(dhout), CLNN_ARG_ULONG(dhout_off),
                 CLNN_ARG_INT(has_dhout), CLNN_ARG_FLOAT(t > 0 ? 0.0f : beta), CLNN_ARG_MEM(lens),
                 CLNN_ARG_INT(lengths != NULL), CLNN_ARG_INT(reverse), CLNN_ARG_INT(t),
                 CLNN_ARG_INT(T), CLNN_ARG_INT(N), CLNN_ARG_INT(H));
    if (s) return s;
    /* dh_{t-1}[N, H] += dgh_t[N, 3H] * w_hh[3H, H]. */
    if (has_dhout && (s = clnn__gemm(ctx, 0, 0, N, H, G, 1.0f, ws_dgh, t * NG, G, w_hh->mem, 0, H,
                                     1.0f, dhout, dhout_off, H)))
      return s;
  }
  /* dx[T*N, I] = dgi[T*N, 3H] * w_ih[3H, I]. */
  if (dx && (s = clnn__gemm(ctx, 0, 0, TN, I, G, 1.0f, ws_dgi, 0, G, w_ih->mem, 0, I, beta, dx->mem,
                            0, I)))
    return s;
  /* dw_ih[3H, I] = dgi^T * x. */
  if (dw_ih && (s = clnn__gemm(ctx, 1, 0, G, I, TN, 1.0f, ws_dgi, 0, G, x->mem, 0, I, beta,
                               dw_ih->mem, 0, I)))
    return s;
  /* dw_hh[3H, H] = sum_t dgh_t^T * h_{t-1}: dgh_0^T * h0, then steps 1..T-1 as one GEMM over
   * the reserve's states h[0..T-2]. */
  if (dw_hh) {
    float b = beta;
    if (h0) {
      if ((s = clnn__gemm(ctx, 1, 0, G, H, N, 1.0f, ws_dgh, 0, G, h0->mem, 0, H, b, dw_hh->mem, 0,
                          H)))
        return s;
      b = 1.0f;
    }
    if (T > 1) {
      if ((s = clnn__gemm(ctx, 1, 0, G, H, (T - 1) * N, 1.0f, ws_dgh, NG, G, res, h_base, H, b,
                          dw_hh->mem, 0, H)))
        return s;
    } else if (need_scale) {
      const size_t n = G * H;
      if ((s = CLNN_RUN(ctx, &k_gru_scale, 1, &n, &local, CLNN_ARG_MEM(dw_hh->mem),
                        CLNN_ARG_ULONG(n), CLNN_ARG_FLOAT(beta))))
        return s;
    }
  }
  if (db_ih && (s = clnn__bias_grad(ctx, ws_dgi, TN, G, beta, db_ih->mem)))
    return s;
  if (db_hh && (s = clnn__bias_grad(ctx, ws_dgh, TN, G, beta, db_hh->mem)))
    return s;
  return CLNN_SUCCESS;
}
