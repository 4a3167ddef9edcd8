/* src/ops/lstm.c — LSTM operators: the fused gate cell forward/backward (one step) and a full
 * layer over a sequence, forward and backward through time. Kernels in cl/lstm.cl.
 *
 * Layer forward: the input projection of every step is one GEMM into the reserve's gate area,
 * then per step one recurrent GEMM (beta 1 into that step's gate slice) and the fused step
 * kernel, which adds the bias, writes the biased pre-activations back, c_t into the reserve and
 * h_t into y. The reverse direction visits steps T-1..0; with per-sample lengths, steps past a
 * sample's length write zeros and are skipped by the state and the gradients (the kernels check
 * t < len[n]), and the reverse direction starts each sample at its own last step.
 *
 * Reserve layout (clnn_lstm_reserve_numel = 5*T*N*H floats):
 *   [0, T*N*4H)           gate pre-activations of every step (bias included), [T, N, 4H]
 *   [T*N*4H, T*N*5H)      cell state c_t of every step, [T, N, H]
 * h_prev is y at the previous step (or h0), so backward needs x, y, the reserve and the weights.
 *
 * Layer backward: per step in the reverse of the forward's order, the step kernel writes
 * dgates_t into a [T, N, 4H] workspace (slot 3) and the carried dc into slot 4; then dh_prev =
 * dgates_t * W_hh (GEMM into slot 4). After the loop: dh0 from the first steps' dgates, dx =
 * dgates_all * W_ih and dW_ih = dgates_all^T * x as one GEMM each, dW_hh over the T-1 steps with
 * a previous y as one GEMM over k = (T-1)*N (+ dgates_first^T * h0), and dbias as a two-pass
 * column sum in fixed order (slot 5). Nothing is read back to the host inside the loops. */
#include "rnn_common.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#define LSTM_PROGRAM "lstm"

/* The kernels this file launches. */
static clnn__kernel_ref k_lstm_gates_bwd = CLNN_KERNEL_REF(LSTM_PROGRAM, "lstm_gates_bwd");
static clnn__kernel_ref k_lstm_gates_fwd = CLNN_KERNEL_REF(LSTM_PROGRAM, "lstm_gates_fwd");
static clnn__kernel_ref k_lstm_scale = CLNN_KERNEL_REF(LSTM_PROGRAM, "lstm_scale");
static clnn__kernel_ref k_lstm_step_fwd = CLNN_KERNEL_REF(LSTM_PROGRAM, "lstm_step_fwd");
static clnn__kernel_ref k_lstm_step_bwd = CLNN_KERNEL_REF(LSTM_PROGRAM, "lstm_step_bwd");
static clnn__kernel_ref k_lstm_gather_rows = CLNN_KERNEL_REF(LSTM_PROGRAM, "lstm_gather_rows");

size_t clnn_lstm_reserve_numel(size_t seq_len, size_t batch, size_t hidden) {
  return clnn__rnn_reserve_numel(seq_len, batch, hidden);
}

/* ---------------------------------------------------------------------------------------------- */
/* Fused gates, one step                                                                          */
/* ---------------------------------------------------------------------------------------------- */

/* gates [N, 4H] gives N and H; checks the size limits the kernels have. */
static clnn_status lstm_gate_dims(const char *fn, const clnn_tensor *gates, size_t *N, size_t *H) {
  char got[96];
  if (gates->ndim != 2 || gates->dims[1] % 4 != 0)
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH,
                       "%s: gates has shape %s, expected [N, 4H] (2-D, columns a multiple of 4)",
                       fn, clnn__dims_str(gates, got, sizeof got));
  *N = gates->dims[0];
  *H = gates->dims[1] / 4;
  if (*N > INT_MAX || *H > INT_MAX / 4)
    return clnn__error(CLNN_ERROR_UNSUPPORTED, "%s: gates %s is larger than the kernels support",
                       fn, clnn__dims_str(gates, got, sizeof got));
  return CLNN_SUCCESS;
}

clnn_status clnn_lstm_gates_forward(clnn_context *ctx, const clnn_tensor *gates,
                                    const clnn_tensor *c_prev, clnn_tensor *c, clnn_tensor *h) {
  static const char fn[] = "clnn_lstm_gates_forward";
  if (!ctx) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: ctx is NULL", fn);
  clnn_status s;
  if ((s = clnn__rnn_tensor(fn, ctx, gates, "gates", 0)) ||
      (s = clnn__rnn_tensor(fn, ctx, c_prev, "c_prev", 0)) ||
      (s = clnn__rnn_tensor(fn, ctx, c, "c", 0)) || (s = clnn__rnn_tensor(fn, ctx, h, "h", 0)))
    return s;
  size_t N, H;
  if ((s = lstm_gate_dims(fn, gates, &N, &H))) return s;
  char from[128], gs[96];
  snprintf(from, sizeof from, "N, H from gates %s", clnn__dims_str(gates, gs, sizeof gs));
  const size_t nh[2] = {N, H};
  if ((s = clnn__rnn_shape(fn, c_prev, "c_prev", 2, nh, "[N, H]", from)) ||
      (s = clnn__rnn_shape(fn, c, "c", 2, nh, "[N, H]", from)) ||
      (s = clnn__rnn_shape(fn, h, "h", 2, nh, "[N, H]", from)))
    return s;
  const clnn_tensor *outs[] = {c, h};
  const char *const out_names[] = {"c", "h"};
  const clnn_tensor *ins[] = {gates, c_prev};
  const char *const in_names[] = {"gates", "c_prev"};
  if ((s = clnn__rnn_distinct(fn, outs, out_names, 2, ins, in_names, 2))) return s;

  const size_t local = clnn__rnn_local(ctx, &k_lstm_gates_fwd), global = N * H;
  cl_mem g = gates->mem;
  return CLNN_RUN(ctx, &k_lstm_gates_fwd, 1, &global, &local, CLNN_ARG_MEM(g), CLNN_ARG_ULONG(0),
                  CLNN_ARG_MEM(g), CLNN_ARG_INT(0), CLNN_ARG_MEM(c_prev->mem), CLNN_ARG_ULONG(0),
                  CLNN_ARG_INT(1), CLNN_ARG_MEM(c->mem), CLNN_ARG_ULONG(0), CLNN_ARG_MEM(h->mem),
                  CLNN_ARG_ULONG(0), CLNN_ARG_MEM(g), CLNN_ARG_INT(0), CLNN_ARG_MEM(g),
                  CLNN_ARG_INT(0), CLNN_ARG_INT(N), CLNN_ARG_INT(H));
}

clnn_status clnn_lstm_gates_backward(clnn_context *ctx, const clnn_tensor *gates,
                                     const clnn_tensor *c_prev, const clnn_tensor *c,
                                     const clnn_tensor *dh, const clnn_tensor *dc,
                                     clnn_tensor *dgates, clnn_tensor *dc_prev) {
  static const char fn[] = "clnn_lstm_gates_backward";
  if (!ctx) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: ctx is NULL", fn);
  clnn_status s;
  if ((s = clnn__rnn_tensor(fn, ctx, gates, "gates", 0)) ||
      (s = clnn__rnn_tensor(fn, ctx, c_prev, "c_prev", 0)) ||
      (s = clnn__rnn_tensor(fn, ctx, c, "c", 0)) || (s = clnn__rnn_tensor(fn, ctx, dh, "dh", 0)) ||
      (s = clnn__rnn_tensor(fn, ctx, dc, "dc", 1)) ||
      (s = clnn__rnn_tensor(fn, ctx, dgates, "dgates", 0)) ||
      (s = clnn__rnn_tensor(fn, ctx, dc_prev, "dc_prev", 0)))
    return s;
  size_t N, H;
  if ((s = lstm_gate_dims(fn, gates, &N, &H))) return s;
  char from[128], gs[96];
  snprintf(from, sizeof from, "N, H from gates %s", clnn__dims_str(gates, gs, sizeof gs));
  const size_t nh[2] = {N, H}, ng[2] = {N, 4 * H};
  if ((s = clnn__rnn_shape(fn, c_prev, "c_prev", 2, nh, "[N, H]", from)) ||
      (s = clnn__rnn_shape(fn, c, "c", 2, nh, "[N, H]", from)) ||
      (s = clnn__rnn_shape(fn, dh, "dh", 2, nh, "[N, H]", from)) ||
      (s = clnn__rnn_shape(fn, dc, "dc", 2, nh, "[N, H]", from)) ||
      (s = clnn__rnn_shape(fn, dgates, "dgates", 2, ng, "[N, 4H]", from)) ||
      (s = clnn__rnn_shape(fn, dc_prev, "dc_prev", 2, nh, "[N, H]", from)))
    return s;
  /* dc_prev may be dc (an in-place update of the carried cell gradient). */
  const clnn_tensor *outs[] = {dgates, dc_prev};
  const char *const out_names[] = {"dgates", "dc_prev"};
  const clnn_tensor *ins[] = {gates, c_prev, c, dh};
  const char *const in_names[] = {"gates", "c_prev", "c", "dh"};
  if ((s = clnn__rnn_distinct(fn, outs, out_names, 2, ins, in_names, 4))) return s;
  if (dc && dgates->mem == dc->mem)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: output dgates is the same tensor as input dc", fn);

  const size_t local = clnn__rnn_local(ctx, &k_lstm_gates_bwd), global = N * H;
  cl_mem g = gates->mem;
  return CLNN_RUN(ctx, &k_lstm_gates_bwd, 1, &global, &local, CLNN_ARG_MEM(g), CLNN_ARG_ULONG(0),
                  CLNN_ARG_MEM(c_prev->mem), CLNN_ARG_ULONG(0), CLNN_ARG_INT(1),
                  CLNN_ARG_MEM(c->mem), CLNN_ARG_ULONG(0), CLNN_ARG_MEM(dh->mem), CLNN_ARG_ULONG(0),
                  CLNN_ARG_INT(1), CLNN_ARG_MEM(g), CLNN_ARG_ULONG(0), CLNN_ARG_INT(0),
                  CLNN_ARG_MEM(dc ? dc->mem : g), CLNN_ARG_ULONG(0), CLNN_ARG_INT(dc != NULL),
                  CLNN_ARG_MEM(dgates->mem), CLNN_ARG_ULONG(0), CLNN_ARG_MEM(dc_prev->mem),
                  CLNN_ARG_ULONG(0), CLNN_ARG_INT(1), CLNN_ARG_FLOAT(0.0f), CLNN_ARG_INT(N),
                  CLNN_ARG_INT(H));
}

/* ---------------------------------------------------------------------------------------------- */
/* Full layer                                                                                     */
/* ---------------------------------------------------------------------------------------------- */

/* Checks what forward and backward share: x [T, N, I], w_ih [4H, I], w_hh [4H, H], h0/c0 [N, H]
 * (optional), y [T, N, H], reserve (at least clnn_lstm_reserve_numel floats). `from` receives the
 * text that explains expected shapes. */
static clnn_status lstm_check_layer(const char *fn, const clnn_tensor *x, const clnn_tensor *w_ih,
                                    const clnn_tensor *w_hh, const clnn_tensor *h0,
                                    const clnn_tensor *c0, const clnn_tensor *y,
                                    const clnn_tensor *reserve, clnn__rnn_dims *d, char *from,
                                    size_t from_size) {
  clnn_status s;
  if ((s = clnn__rnn_input_dims(fn, x, w_ih, 4, d, from, from_size))) return s;
  const size_t gh[2] = {d->G, d->H}, nh[2] = {d->N, d->H}, tnh[3] = {d->T, d->N, d->H};
  if ((s = clnn__rnn_shape(fn, w_hh, "w_hh", 2, gh, "[4H, H]", from)) ||
      (s = clnn__rnn_shape(fn, h0, "h0", 2, nh, "[N, H]", from)) ||
      (s = clnn__rnn_shape(fn, c0, "c0", 2, nh, "[N, H]", from)) ||
      (s = clnn__rnn_shape(fn, y, "y", 3, tnh, "[T, N, H]", from)))
    return s;
  const size_t need = clnn_lstm_reserve_numel(d->T, d->N, d->H);
  if ((s = clnn__rnn_check_sizes(fn, d, 1, need, from))) return s;
  return clnn__rnn_check_reserve(fn, reserve, need, "clnn_lstm_reserve_numel", from);
}

void clnn_rnn_params_init(clnn_rnn_params *p) {
  if (!p) return;
  memset(p, 0, sizeof *p);
  p->struct_size = (uint32_t)sizeof *p;
}

clnn_status clnn_lstm_forward(clnn_context *ctx, const clnn_tensor *x, const clnn_tensor *w_ih,
                              const clnn_tensor *w_hh, const clnn_tensor *bias,
                              const clnn_tensor *h0, const clnn_tensor *c0, clnn_tensor *y,
                              clnn_tensor *h_n, clnn_tensor *c_n, clnn_tensor *reserve) {
  return clnn_lstm_forward_ex(ctx, NULL, x, w_ih, w_hh, bias, h0, c0, y, h_n, c_n, reserve);
}

clnn_status clnn_lstm_forward_ex(clnn_context *ctx, const clnn_rnn_params *p, const clnn_tensor *x,
                                 const clnn_tensor *w_ih, const clnn_tensor *w_hh,
                                 const clnn_tensor *bias, const clnn_tensor *h0,
                                 const clnn_tensor *c0, clnn_tensor *y, clnn_tensor *h_n,
                                 clnn_tensor *c_n, clnn_tensor *reserve) {
  static const char fn[] = "clnn_lstm_forward";
  if (!ctx) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: ctx is NULL", fn);
  clnn_rnn_params p_in;
  CLNN__STRUCT_IN(CLNN__RNN_PARAMS, fn, "params", p, p_in);
  clnn_status s;
  if ((s = clnn__rnn_tensor(fn, ctx, x, "x", 0)) ||
      (s = clnn__rnn_tensor(fn, ctx, w_ih, "w_ih", 0)) ||
      (s = clnn__rnn_tensor(fn, ctx, w_hh, "w_hh", 0)) ||
      (s = clnn__rnn_tensor(fn, ctx, bias, "bias", 1)) ||
      (s = clnn__rnn_tensor(fn, ctx, h0, "h0", 1)) ||
      (s = clnn__rnn_tensor(fn, ctx, c0, "c0", 1)) || (s = clnn__rnn_tensor(fn, ctx, y, "y", 0)) ||
      (s = clnn__rnn_tensor(fn, ctx, h_n, "h_n", 1)) ||
      (s = clnn__rnn_tensor(fn, ctx, c_n, "c_n", 1)) ||
      (s = clnn__rnn_tensor(fn, ctx, reserve, "reserve", 0)))
    return s;
  clnn__rnn_dims d;
  char from[256];
  if ((s = lstm_check_layer(fn, x, w_ih, w_hh, h0, c0, y, reserve, &d, from, sizeof from)))
    return s;
  const size_t g1[1] = {d.G}, nh[2] = {d.N, d.H};
  if ((s = clnn__rnn_shape(fn, bias, "bias", 1, g1, "[4H]", from)) ||
      (s = clnn__rnn_shape(fn, h_n, "h_n", 2, nh, "[N, H]", from)) ||
      (s = clnn__rnn_shape(fn, c_n, "c_n", 2, nh, "[N, H]", from)) ||
      (p && (s = clnn__rnn_check_params(fn, p->lengths, p->num_lengths, p->reverse, &d, from))))
    return s;
  /* h_n may be h0 and c_n may be c0 (carrying state across calls): h0 is read (by GEMMs) before
   * the first step's kernel, and each work-item reads its c0 element at the sample's first step,
   * no later than it writes c_n at the sample's last step. */
  const clnn_tensor *outs[] = {y, h_n, c_n, reserve};
  const char *const out_names[] = {"y", "h_n", "c_n", "reserve"};
  const clnn_tensor *ins[] = {x, w_ih, w_hh, bias};
  const char *const in_names[] = {"x", "w_ih", "w_hh", "bias"};
  if ((s = clnn__rnn_distinct(fn, outs, out_names, 4, ins, in_names, 4))) return s;
  const clnn_tensor *outs2[] = {y, reserve};
  const char *const out2_names[] = {"y", "reserve"};
  const clnn_tensor *ins2[] = {h0, c0};
  const char *const in2_names[] = {"h0", "c0"};
  if ((s = clnn__rnn_distinct(fn, outs2, out2_names, 2, ins2, in2_names, 2))) return s;
  clnn__kernel_ref *const kernels[] = {&k_lstm_step_fwd};
  if ((s = clnn__rnn_kernels(ctx, fn, kernels, 1))) return s;

  const size_t T = d.T, N = d.N, I = d.I, H = d.H, G = d.G;
  const size_t NH = N * H, NG = N * G, c_base = T * NG;
  const int rev = p && p->reverse, has_lens = p && p->lengths;
  /* The reverse direction with lengths starts samples in the middle of the sequence, where the
   * GEMM reads a zero row of y: the kernel adds p0 = h0 W_hh^T (workspace slot 3) there. */
  const int use_p0 = rev && has_lens && h0 && T > 1;
  cl_mem res = reserve->mem, dummy = res, lens = res, p0 = res;
  if (use_p0 && (s = clnn__workspace(ctx, 3, NG * sizeof(float), &p0)))
    return clnn__prefix_error(fn, s);
  if ((s = clnn__rnn_upload_lengths(ctx, p ? p->lengths : NULL, N, res, &lens)))
    return clnn__prefix_error(fn, s);
  /* Input projection of every step: gates[T*N, 4H] = x[T*N, I] * w_ih^T. */
  s = clnn__gemm(ctx, 0, 1, T * N, G, I, 1.0f, x->mem, 0, I, w_ih->mem, 0, I, 0.0f, res, 0, G);
  if (s) return s;
  if (use_p0 &&
      (s = clnn__gemm(ctx, 0, 1, N, G, H, 1.0f, h0->mem, 0, H, w_hh->mem, 0, H, 0.0f, p0, 0, G)))
    return s;
  const size_t local = clnn__rnn_local(ctx, &k_lstm_step_fwd), global = NH;
  for (size_t step = 0; step < T; step++) {
    const size_t t = rev ? T - 1 - step : step;
    /* gates_t += h_prev[N, H] * w_hh^T (skipped when h_prev is zero). */
    if (step > 0 || h0) {
      cl_mem hp = step > 0 ? y->mem : h0->mem;
      size_t hp_off = step > 0 ? (rev ? t + 1 : t - 1) * NH : 0;
      s = clnn__gemm(ctx, 0, 1, N, G, H, 1.0f, hp, hp_off, H, w_hh->mem, 0, H, 1.0f, res, t * NG,
                     G);
      if (s) return s;
    }
    s = CLNN_RUN(ctx, &k_lstm_step_fwd, 1, &global, &local, CLNN_ARG_MEM(res),
                 CLNN_ARG_ULONG(t * NG), CLNN_ARG_MEM(bias ? bias->mem : dummy),
                 CLNN_ARG_INT(bias != NULL), CLNN_ARG_MEM(p0), CLNN_ARG_INT(use_p0 && step > 0),
                 CLNN_ARG_MEM(res), CLNN_ARG_ULONG(c_base), CLNN_ARG_MEM(c0 ? c0->mem : dummy),
                 CLNN_ARG_INT(c0 != NULL), CLNN_ARG_MEM(y->mem), CLNN_ARG_INT(t), CLNN_ARG_INT(T),
                 CLNN_ARG_INT(rev), CLNN_ARG_MEM(lens), CLNN_ARG_INT(has_lens),
                 CLNN_ARG_MEM(h_n ? h_n->mem : dummy), CLNN_ARG_INT(h_n != NULL),
                 CLNN_ARG_MEM(c_n ? c_n->mem : dummy), CLNN_ARG_INT(c_n != NULL), CLNN_ARG_INT(N),
                 CLNN_ARG_INT(H));
    if (s) return s;
  }
  return CLNN_SUCCESS;
}

clnn_status clnn_lstm_backward(clnn_context *ctx, const clnn_tensor *x, const clnn_tensor *w_ih,
                               const clnn_tensor *w_hh, const clnn_tensor *h0,
                               const clnn_tensor *c0, const clnn_tensor *y,
                               const clnn_tensor *reserve, const clnn_tensor *dy,
                               const clnn_tensor *dh_n, const clnn_tensor *dc_n, float beta,
                               clnn_tensor *dx, clnn_tensor *dw_ih, clnn_tensor *dw_hh,
                               clnn_tensor *dbias, clnn_tensor *dh0, clnn_tensor *dc0) {
  return clnn_lstm_backward_ex(ctx, NULL, x, w_ih, w_hh, h0, c0, y, reserve, dy, dh_n, dc_n, beta,
                               dx, dw_ih, dw_hh, dbias, dh0, dc0);
}

clnn_status clnn_lstm_backward_ex(clnn_context *ctx, const clnn_rnn_params *p, const clnn_tensor *x,
                                  const clnn_tensor *w_ih, const clnn_tensor *w_hh,
                                  const clnn_tensor *h0, const clnn_tensor *c0,
                                  const clnn_tensor *y, const clnn_tensor *reserve,
                                  const clnn_tensor *dy, const clnn_tensor *dh_n,
                                  const clnn_tensor *dc_n, float beta, clnn_tensor *dx,
                                  clnn_tensor *dw_ih, clnn_tensor *dw_hh, clnn_tensor *dbias,
                                  clnn_tensor *dh0, clnn_tensor *dc0) {
  static const char fn[] = "clnn_lstm_backward";
  if (!ctx) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: ctx is NULL", fn);
  clnn_rnn_params p_in;
  CLNN__STRUCT_IN(CLNN__RNN_PARAMS, fn, "params", p, p_in);
  clnn_status s;
  if ((s = clnn__rnn_tensor(fn, ctx, x, "x", 0)) ||
      (s = clnn__rnn_tensor(fn, ctx, w_ih, "w_ih", 0)) ||
      (s = clnn__rnn_tensor(fn, ctx, w_hh, "w_hh", 0)) ||
      (s = clnn__rnn_tensor(fn, ctx, h0, "h0", 1)) ||
      (s = clnn__rnn_tensor(fn, ctx, c0, "c0", 1)) || (s = clnn__rnn_tensor(fn, ctx, y, "y", 0)) ||
      (s = clnn__rnn_tensor(fn, ctx, reserve, "reserve", 0)) ||
      (s = clnn__rnn_tensor(fn, ctx, dy, "dy", 1)) ||
      (s = clnn__rnn_tensor(fn, ctx, dh_n, "dh_n", 1)) ||
      (s = clnn__rnn_tensor(fn, ctx, dc_n, "dc_n", 1)) ||
      (s = clnn__rnn_tensor(fn, ctx, dx, "dx", 1)) ||
      (s = clnn__rnn_tensor(fn, ctx, dw_ih, "dw_ih", 1)) ||
      (s = clnn__rnn_tensor(fn, ctx, dw_hh, "dw_hh", 1)) ||
      (s = clnn__rnn_tensor(fn, ctx, dbias, "dbias", 1)) ||
      (s = clnn__rnn_tensor(fn, ctx, dh0, "dh0", 1)) ||
      (s = clnn__rnn_tensor(fn, ctx, dc0, "dc0", 1)))
    return s;
  if ((s = clnn__check_beta(beta))) return clnn__prefix_error(fn, s);
  clnn__rnn_dims d;
  char from[256];
  if ((s = lstm_check_layer(fn, x, w_ih, w_hh, h0, c0, y, reserve, &d, from, sizeof from)))
    return s;
  const size_t nh[2] = {d.N, d.H}, tnh[3] = {d.T, d.N, d.H}, tni[3] = {d.T, d.N, d.I},
               gi[2] = {d.G, d.I}, gh[2] = {d.G, d.H}, g1[1] = {d.G};
  if ((s = clnn__rnn_shape(fn, dy, "dy", 3, tnh, "[T, N, H]", from)) ||
      (s = clnn__rnn_shape(fn, dh_n, "dh_n", 2, nh, "[N, H]", from)) ||
      (s = clnn__rnn_shape(fn, dc_n, "dc_n", 2, nh, "[N, H]", from)) ||
      (s = clnn__rnn_shape(fn, dx, "dx", 3, tni, "[T, N, I]", from)) ||
      (s = clnn__rnn_shape(fn, dw_ih, "dw_ih", 2, gi, "[4H, I]", from)) ||
      (s = clnn__rnn_shape(fn, dw_hh, "dw_hh", 2, gh, "[4H, H]", from)) ||
      (s = clnn__rnn_shape(fn, dbias, "dbias", 1, g1, "[4H]", from)) ||
      (s = clnn__rnn_shape(fn, dh0, "dh0", 2, nh, "[N, H]", from)) ||
      (s = clnn__rnn_shape(fn, dc0, "dc0", 2, nh, "[N, H]", from)) ||
      (p && (s = clnn__rnn_check_params(fn, p->lengths, p->num_lengths, p->reverse, &d, from))))
    return s;
  /* dh0 may be dh_n and dc0 may be dc_n: dh_n is read inside the loop and dh0 written after it;
   * each work-item reads its dc_n element at the sample's last step, which the backward visits
   * before the sample's first step, where it writes dc0. */
  const clnn_tensor *outs[] = {dx, dw_ih, dw_hh, dbias, dh0, dc0};
  const char *const out_names[] = {"dx", "dw_ih", "dw_hh", "dbias", "dh0", "dc0"};
  const clnn_tensor *ins[] = {x, w_ih, w_hh, h0, c0, y, reserve, dy};
  const char *const in_names[] = {"x", "w_ih", "w_hh", "h0", "c0", "y", "reserve", "dy"};
  if ((s = clnn__rnn_distinct(fn, outs, out_names, 6, ins, in_names, 8))) return s;
  const clnn_tensor *outs2[] = {dx, dw_ih, dw_hh, dbias};
  const clnn_tensor *ins2[] = {dh_n, dc_n};
  const char *const in2_names[] = {"dh_n", "dc_n"};
  if ((s = clnn__rnn_distinct(fn, outs2, out_names, 4, ins2, in2_names, 2))) return s;
  if (!dx && !dw_ih && !dw_hh && !dbias && !dh0 && !dc0) return CLNN_SUCCESS; /* nothing asked */

  const size_t T = d.T, N = d.N, I = d.I, H = d.H, G = d.G;
  const size_t NH = N * H, NG = N * G, TN = T * N, c_base = T * NG;
  const int rev = p && p->reverse, has_lens = p && p->lengths;
  const int need_scale = dw_hh && !h0 && T == 1;
  /* Each sample's first step's dgates rows (dh0 and the h0 part of dw_hh need them): step 0
   * (forward), step T-1 (reverse), or gathered from step len-1 (reverse with lengths). */
  const int gather = rev && has_lens && (dh0 || (dw_hh && h0));
  clnn__kernel_ref *const kernels[] = {&k_lstm_step_bwd, dbias ? clnn__bias_grad_kernel() : NULL,
                                       need_scale ? &k_lstm_scale : NULL,
                                       gather ? &k_lstm_gather_rows : NULL};
  if ((s = clnn__rnn_kernels(ctx, fn, kernels, 4))) return s;
  /* Workspaces, all acquired before anything is enqueued. ws_st: [0, NH) dh carried into the
   * next visited step (recurrent part); [NH, 2NH) dc carried; [2NH, 2NH + NG) the gathered
   * first-step dgates. */
  cl_mem ws_dg = NULL, ws_st = NULL, lens = NULL;
  if ((s = clnn__workspace(ctx, 3, TN * G * sizeof(float), &ws_dg)) ||
      (s = clnn__workspace(ctx, 4, (2 * NH + (gather ? NG : 0)) * sizeof(float), &ws_st)))
    return clnn__prefix_error(fn, s);
  cl_mem res = reserve->mem, dummy = res;
  if ((s = clnn__rnn_upload_lengths(ctx, p ? p->lengths : NULL, N, res, &lens)))
    return clnn__prefix_error(fn, s);

  const size_t local = clnn__rnn_local(ctx, &k_lstm_step_bwd), global = NH;
  for (size_t step = T; step-- > 0;) {
    const size_t t = rev ? T - 1 - step : step;
    s = CLNN_RUN(ctx, &k_lstm_step_bwd, 1, &global, &local, CLNN_ARG_MEM(res),
                 CLNN_ARG_ULONG(t * NG), CLNN_ARG_MEM(res), CLNN_ARG_ULONG(c_base),
                 CLNN_ARG_MEM(c0 ? c0->mem : dummy), CLNN_ARG_INT(c0 != NULL),
                 CLNN_ARG_MEM(dy ? dy->mem : dummy), CLNN_ARG_INT(dy != NULL), CLNN_ARG_MEM(ws_st),
                 CLNN_ARG_INT(step + 1 < T), CLNN_ARG_MEM(dh_n ? dh_n->mem : dummy),
                 CLNN_ARG_INT(dh_n != NULL), CLNN_ARG_MEM(dc_n ? dc_n->mem : dummy),
                 CLNN_ARG_INT(dc_n != NULL), CLNN_ARG_INT(t), CLNN_ARG_INT(T), CLNN_ARG_INT(rev),
                 CLNN_ARG_MEM(lens), CLNN_ARG_INT(has_lens), CLNN_ARG_MEM(ws_dg),
                 CLNN_ARG_ULONG(t * NG), CLNN_ARG_MEM(dc0 ? dc0->mem : dummy),
                 CLNN_ARG_INT(dc0 != NULL), CLNN_ARG_FLOAT(beta), CLNN_ARG_INT(N), CLNN_ARG_INT(H));
    if (s) return s;
    /* dh_prev[N, H] = dgates_t[N, 4H] * w_hh[4H, H], carried to the next visited step. */
    if (step > 0 && (s = clnn__gemm(ctx, 0, 0, N, H, G, 1.0f, ws_dg, t * NG, G, w_hh->mem, 0, H,
                                    0.0f, ws_st, 0, H)))
      return s;
  }
  cl_mem g0 = ws_dg;
  size_t g0_off = rev ? (T - 1) * NG : 0;
  if (gather) {
    const size_t gl = NG;
    if ((s = CLNN_RUN(ctx, &k_lstm_gather_rows, 1, &gl, &local, CLNN_ARG_MEM(ws_dg),
                      CLNN_ARG_MEM(lens), CLNN_ARG_INT(N), CLNN_ARG_INT(G), CLNN_ARG_MEM(ws_st),
                      CLNN_ARG_ULONG(2 * NH))))
      return s;
    g0 = ws_st;
    g0_off = 2 * NH;
  }
  /* dh0[N, H] = dgates_first[N, 4H] * w_hh. */
  if (dh0 && (s = clnn__gemm(ctx, 0, 0, N, H, G, 1.0f, g0, g0_off, G, w_hh->mem, 0, H, beta,
                             dh0->mem, 0, H)))
    return s;
  /* dx[T*N, I] = dgates[T*N, 4H] * w_ih[4H, I]. */
  if (dx && (s = clnn__gemm(ctx, 0, 0, TN, I, G, 1.0f, ws_dg, 0, G, w_ih->mem, 0, I, beta, dx->mem,
                            0, I)))
    return s;
  /* dw_ih[4H, I] = dgates^T * x. */
  if (dw_ih && (s = clnn__gemm(ctx, 1, 0, G, I, TN, 1.0f, ws_dg, 0, G, x->mem, 0, I, beta,
                               dw_ih->mem, 0, I)))
    return s;
  /* dw_hh[4H, H] = sum_t dgates_t^T * h_prev(t): dgates_first^T * h0, then the other steps as one
   * GEMM with h_prev = y at the previous step (t-1 forward, t+1 reverse; zero rows where a sample
   * has not started, so only real steps count). */
  if (dw_hh) {
    float b = beta;
    if (h0) {
      if ((s = clnn__gemm(ctx, 1, 0, G, H, N, 1.0f, g0, g0_off, G, h0->mem, 0, H, b, dw_hh->mem, 0,
                          H)))
        return s;
      b = 1.0f;
    }
    if (T > 1) {
      if ((s = clnn__gemm(ctx, 1, 0, G, H, (T - 1) * N, 1.0f, ws_dg, rev ? 0 : NG, G, y->mem,
                          rev ? NH : 0, H, b, dw_hh->mem, 0, H)))
        return s;
    } else if (need_scale && beta != 1.0f) {
      const size_t n = G * H, gl = n;
      if ((s = CLNN_RUN(ctx, &k_lstm_scale, 1, &gl, &local, CLNN_ARG_MEM(dw_hh->mem),
                        CLNN_ARG_ULONG(n), CLNN_ARG_FLOAT(beta))))
        return s;
    }
  }
  /* dbias[4H] = column sums of dgates[T*N, 4H], fixed order. */
  if (dbias && (s = clnn__bias_grad(ctx, ws_dg, TN, G, beta, dbias->mem)))
    return s;
  return CLNN_SUCCESS;
}
