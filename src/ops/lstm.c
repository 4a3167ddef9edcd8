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
#include "internal.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#define LSTM_PROGRAM "lstm"
#define LSTM_COLSUM_ROWS 64 /* rows per work-item in the first pass of the bias column sum */

/* The kernels this file launches. */
static clnn__kernel_ref k_lstm_colsum_final = CLNN_KERNEL_REF(LSTM_PROGRAM, "lstm_colsum_final");
static clnn__kernel_ref k_lstm_colsum_partial = CLNN_KERNEL_REF(LSTM_PROGRAM, "lstm_colsum_partial");
static clnn__kernel_ref k_lstm_gates_bwd = CLNN_KERNEL_REF(LSTM_PROGRAM, "lstm_gates_bwd");
static clnn__kernel_ref k_lstm_gates_fwd = CLNN_KERNEL_REF(LSTM_PROGRAM, "lstm_gates_fwd");
static clnn__kernel_ref k_lstm_scale = CLNN_KERNEL_REF(LSTM_PROGRAM, "lstm_scale");
static clnn__kernel_ref k_lstm_step_fwd = CLNN_KERNEL_REF(LSTM_PROGRAM, "lstm_step_fwd");
static clnn__kernel_ref k_lstm_step_bwd = CLNN_KERNEL_REF(LSTM_PROGRAM, "lstm_step_bwd");
static clnn__kernel_ref k_lstm_gather_rows = CLNN_KERNEL_REF(LSTM_PROGRAM, "lstm_gather_rows");

typedef struct lstm_dims {
  size_t T, N, I, H, G; /* steps, batch, input size, hidden size, 4*H */
} lstm_dims;

static clnn_status lstm_tensor(const char *fn, const clnn_context *ctx, const clnn_tensor *t,
                               const char *name, int optional) {
  if (!t && optional) return CLNN_SUCCESS;
  if (!t) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn, name);
  clnn_status s = clnn__check_tensor(ctx, t, name);
  return clnn__prefix_error(fn, s);
}

/* t (if not NULL) must have exactly `ndim` dims equal to `want`; `sym` names them ("[N, H]") and
 * `from` says where they come from. */
static clnn_status lstm_shape(const char *fn, const clnn_tensor *t, const char *name, int ndim,
                              const size_t *want, const char *sym, const char *from) {
  if (!t) return CLNN_SUCCESS;
  int ok = t->ndim == ndim;
  for (int i = 0; ok && i < ndim; i++) ok = t->dims[i] == want[i];
  if (ok) return CLNN_SUCCESS;
  char got[96], want_s[96];
  clnn__dims_str(t, got, sizeof got);
  clnn__dims_str_raw(ndim, want, want_s, sizeof want_s);
  return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: %s has shape %s, expected %s = %s (%s)", fn,
                     name, got, sym, want_s, from);
}

/* No tensor in outs[] may appear twice or be one of ins[]. */
static clnn_status lstm_distinct(const char *fn, const clnn_tensor *const *outs,
                                 const char *const *out_names, int n_outs,
                                 const clnn_tensor *const *ins, const char *const *in_names,
                                 int n_ins) {
  for (int a = 0; a < n_outs; a++) {
    if (!outs[a]) continue;
    for (int b = a + 1; b < n_outs; b++)
      if (outs[a] == outs[b] || (outs[b] && outs[a]->mem == outs[b]->mem))
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: outputs %s and %s are the same tensor",
                           fn, out_names[a], out_names[b]);
    for (int b = 0; b < n_ins; b++)
      if (ins[b] && (outs[a] == ins[b] || outs[a]->mem == ins[b]->mem))
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                           "%s: output %s is the same tensor as input %s", fn, out_names[a],
                           in_names[b]);
  }
  return CLNN_SUCCESS;
}

/* 64 work-items, or fewer where the kernel allows fewer (CL_KERNEL_WORK_GROUP_SIZE). */
static size_t lstm_local(clnn_context *ctx, clnn__kernel_ref *kernel) {
  size_t l = clnn__kernel_wg_limit(ctx, kernel);
  return l > 64 ? 64 : l;
}

/* Fetches (builds) every kernel a call will launch before anything is enqueued, so a build
 * failure cannot leave outputs half written. */
static clnn_status lstm_kernels(clnn_context *ctx, const char *fn, clnn__kernel_ref *const *kernels,
                                int count) {
  for (int i = 0; i < count; i++) {
    cl_kernel k;
    clnn_status s = clnn__kernel(ctx, kernels[i], &k);
    if (s != CLNN_SUCCESS) return clnn__prefix_error(fn, s);
  }
  return CLNN_SUCCESS;
}

size_t clnn_lstm_reserve_numel(size_t seq_len, size_t batch, size_t hidden) {
  int ok = 1;
  size_t n = clnn__mul_size(seq_len, batch, &ok);
  n = clnn__mul_size(n, hidden, &ok);
  n = clnn__mul_size(n, 5, &ok);
  if (!ok || n > SIZE_MAX / sizeof(float)) return 0;
  return n;
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
  if ((s = lstm_tensor(fn, ctx, gates, "gates", 0)) ||
      (s = lstm_tensor(fn, ctx, c_prev, "c_prev", 0)) || (s = lstm_tensor(fn, ctx, c, "c", 0)) ||
      (s = lstm_tensor(fn, ctx, h, "h", 0)))
    return s;
  size_t N, H;
  if ((s = lstm_gate_dims(fn, gates, &N, &H))) return s;
  char from[128], gs[96];
  snprintf(from, sizeof from, "N, H from gates %s", clnn__dims_str(gates, gs, sizeof gs));
  const size_t nh[2] = {N, H};
  if ((s = lstm_shape(fn, c_prev, "c_prev", 2, nh, "[N, H]", from)) ||
      (s = lstm_shape(fn, c, "c", 2, nh, "[N, H]", from)) ||
      (s = lstm_shape(fn, h, "h", 2, nh, "[N, H]", from)))
    return s;
  const clnn_tensor *outs[] = {c, h};
  const char *const out_names[] = {"c", "h"};
  const clnn_tensor *ins[] = {gates, c_prev};
  const char *const in_names[] = {"gates", "c_prev"};
  if ((s = lstm_distinct(fn, outs, out_names, 2, ins, in_names, 2))) return s;

  const size_t local = lstm_local(ctx, &k_lstm_gates_fwd), global = N * H;
  cl_mem g = gates->mem;
  return CLNN_RUN(ctx, &k_lstm_gates_fwd, 1, &global, &local, CLNN_ARG_MEM(g),
                  CLNN_ARG_ULONG(0), CLNN_ARG_MEM(g), CLNN_ARG_INT(0), CLNN_ARG_MEM(c_prev->mem),
                  CLNN_ARG_ULONG(0), CLNN_ARG_INT(1), CLNN_ARG_MEM(c->mem), CLNN_ARG_ULONG(0),
                  CLNN_ARG_MEM(h->mem), CLNN_ARG_ULONG(0), CLNN_ARG_MEM(g), CLNN_ARG_INT(0),
                  CLNN_ARG_MEM(g), CLNN_ARG_INT(0), CLNN_ARG_INT(N), CLNN_ARG_INT(H));
}

clnn_status clnn_lstm_gates_backward(clnn_context *ctx, const clnn_tensor *gates,
                                     const clnn_tensor *c_prev, const clnn_tensor *c,
                                     const clnn_tensor *dh, const clnn_tensor *dc,
                                     clnn_tensor *dgates, clnn_tensor *dc_prev) {
  static const char fn[] = "clnn_lstm_gates_backward";
  if (!ctx) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: ctx is NULL", fn);
  clnn_status s;
  if ((s = lstm_tensor(fn, ctx, gates, "gates", 0)) ||
      (s = lstm_tensor(fn, ctx, c_prev, "c_prev", 0)) || (s = lstm_tensor(fn, ctx, c, "c", 0)) ||
      (s = lstm_tensor(fn, ctx, dh, "dh", 0)) || (s = lstm_tensor(fn, ctx, dc, "dc", 1)) ||
      (s = lstm_tensor(fn, ctx, dgates, "dgates", 0)) ||
      (s = lstm_tensor(fn, ctx, dc_prev, "dc_prev", 0)))
    return s;
  size_t N, H;
  if ((s = lstm_gate_dims(fn, gates, &N, &H))) return s;
  char from[128], gs[96];
  snprintf(from, sizeof from, "N, H from gates %s", clnn__dims_str(gates, gs, sizeof gs));
  const size_t nh[2] = {N, H}, ng[2] = {N, 4 * H};
  if ((s = lstm_shape(fn, c_prev, "c_prev", 2, nh, "[N, H]", from)) ||
      (s = lstm_shape(fn, c, "c", 2, nh, "[N, H]", from)) ||
      (s = lstm_shape(fn, dh, "dh", 2, nh, "[N, H]", from)) ||
      (s = lstm_shape(fn, dc, "dc", 2, nh, "[N, H]", from)) ||
      (s = lstm_shape(fn, dgates, "dgates", 2, ng, "[N, 4H]", from)) ||
      (s = lstm_shape(fn, dc_prev, "dc_prev", 2, nh, "[N, H]", from)))
    return s;
  /* dc_prev may be dc (an in-place update of the carried cell gradient). */
  const clnn_tensor *outs[] = {dgates, dc_prev};
  const char *const out_names[] = {"dgates", "dc_prev"};
  const clnn_tensor *ins[] = {gates, c_prev, c, dh};
  const char *const in_names[] = {"gates", "c_prev", "c", "dh"};
  if ((s = lstm_distinct(fn, outs, out_names, 2, ins, in_names, 4))) return s;
  if (dc && dgates->mem == dc->mem)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: output dgates is the same tensor as input dc", fn);

  const size_t local = lstm_local(ctx, &k_lstm_gates_bwd), global = N * H;
  cl_mem g = gates->mem;
  return CLNN_RUN(ctx, &k_lstm_gates_bwd, 1, &global, &local, CLNN_ARG_MEM(g),
                  CLNN_ARG_ULONG(0), CLNN_ARG_MEM(c_prev->mem), CLNN_ARG_ULONG(0), CLNN_ARG_INT(1),
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
                                    const clnn_tensor *reserve, lstm_dims *d, char *from,
                                    size_t from_size) {
  clnn_status s;
  char a[96], b[96];
  if (x->ndim != 3)
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: x has shape %s, expected [T, N, I] (3-D)",
                       fn, clnn__dims_str(x, a, sizeof a));
  d->T = x->dims[0];
  d->N = x->dims[1];
  d->I = x->dims[2];
  if (w_ih->ndim != 2 || w_ih->dims[0] % 4 != 0 || w_ih->dims[1] != d->I)
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH,
                       "%s: w_ih has shape %s, expected [4H, I] with I = %zu from x %s (2-D, rows "
                       "a multiple of 4)",
                       fn, clnn__dims_str(w_ih, a, sizeof a), d->I, clnn__dims_str(x, b, sizeof b));
  d->G = w_ih->dims[0];
  d->H = d->G / 4;
  snprintf(from, from_size, "T, N, I from x %s, H = rows/4 of w_ih %s",
           clnn__dims_str(x, a, sizeof a), clnn__dims_str(w_ih, b, sizeof b));
  const size_t gh[2] = {d->G, d->H}, nh[2] = {d->N, d->H}, tnh[3] = {d->T, d->N, d->H};
  if ((s = lstm_shape(fn, w_hh, "w_hh", 2, gh, "[4H, H]", from)) ||
      (s = lstm_shape(fn, h0, "h0", 2, nh, "[N, H]", from)) ||
      (s = lstm_shape(fn, c0, "c0", 2, nh, "[N, H]", from)) ||
      (s = lstm_shape(fn, y, "y", 3, tnh, "[T, N, H]", from)))
    return s;
  const size_t need = clnn_lstm_reserve_numel(d->T, d->N, d->H);
  int ok = need != 0;
  size_t tn = clnn__mul_size(d->T, d->N, &ok);
  clnn__mul_size(clnn__mul_size(tn, d->G, &ok), sizeof(float), &ok);
  if (!ok || tn > INT_MAX || d->G > INT_MAX || d->I > INT_MAX)
    return clnn__error(CLNN_ERROR_UNSUPPORTED, "%s: sizes too large (%s)", fn, from);
  if (reserve->numel < need)
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH,
                       "%s: reserve has shape %s (%zu floats), expected at least "
                       "clnn_lstm_reserve_numel(T, N, H) = %zu floats (%s)",
                       fn, clnn__dims_str(reserve, a, sizeof a), reserve->numel, need, from);
  return CLNN_SUCCESS;
}

void clnn_rnn_params_init(clnn_rnn_params *p) {
  if (!p) return;
  memset(p, 0, sizeof *p);
  p->struct_size = (uint32_t)sizeof *p;
}

/* Checks the sequence options against the batch and length: lengths (num_lengths == N, each in
 * [1, T]) and reverse (0 or 1). */
static clnn_status lstm_check_params(const char *fn, const clnn_rnn_params *p, const lstm_dims *d,
                                     const char *from) {
  if (!p) return CLNN_SUCCESS;
  if (p->reverse != 0 && p->reverse != 1)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: params->reverse is %d; it must be 0 or 1",
                       fn, p->reverse);
  if (!p->lengths) return CLNN_SUCCESS;
  if (p->num_lengths != d->N)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: params->num_lengths is %zu but the batch has %zu sequences (%s)", fn,
                       p->num_lengths, d->N, from);
  for (size_t i = 0; i < d->N; i++)
    if (p->lengths[i] < 1 || (size_t)p->lengths[i] > d->T)
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                         "%s: params->lengths[%zu] is %d; sequence lengths must be in [1, %zu] "
                         "(T of x)", fn, i, (int)p->lengths[i], d->T);
  return CLNN_SUCCESS;
}

/* Uploads the lengths into workspace slot 2 (or hands back a placeholder when there are none). */
static clnn_status lstm_upload_lengths(clnn_context *ctx, const clnn_rnn_params *p, size_t N,
                                       cl_mem placeholder, cl_mem *out) {
  if (!p || !p->lengths) {
    *out = placeholder;
    return CLNN_SUCCESS;
  }
  int32_t *staged;
  clnn_status s = clnn__staging(ctx, N * sizeof(int32_t), (void **)&staged);
  if (s) return s;
  memcpy(staged, p->lengths, N * sizeof(int32_t));
  return clnn__upload_staged(ctx, 2, N * sizeof(int32_t), out);
}

clnn_status clnn_lstm_forward(clnn_context *ctx, const clnn_tensor *x, const clnn_tensor *w_ih,
                              const clnn_tensor *w_hh, const clnn_tensor *bias,
                              const clnn_tensor *h0, const clnn_tensor *c0, clnn_tensor *y,
                              clnn_tensor *h_n, clnn_tensor *c_n, clnn_tensor *reserve) {
  return clnn_lstm_forward_ex(ctx, NULL, x, w_ih, w_hh, bias, h0, c0, y, h_n, c_n, reserve);
}

clnn_status clnn_lstm_forward_ex(clnn_context *ctx, const clnn_rnn_params *p,
                                 const clnn_tensor *x, const clnn_tensor *w_ih,
                                 const clnn_tensor *w_hh, const clnn_tensor *bias,
                                 const clnn_tensor *h0, const clnn_tensor *c0, clnn_tensor *y,
                                 clnn_tensor *h_n, clnn_tensor *c_n, clnn_tensor *reserve) {
  static const char fn[] = "clnn_lstm_forward";
  if (!ctx) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: ctx is NULL", fn);
  clnn_rnn_params p_in;
  CLNN__STRUCT_IN(CLNN__RNN_PARAMS, fn, "params", p, p_in);
  clnn_status s;
  if ((s = lstm_tensor(fn, ctx, x, "x", 0)) || (s = lstm_tensor(fn, ctx, w_ih, "w_ih", 0)) ||
      (s = lstm_tensor(fn, ctx, w_hh, "w_hh", 0)) || (s = lstm_tensor(fn, ctx, bias, "bias", 1)) ||
      (s = lstm_tensor(fn, ctx, h0, "h0", 1)) || (s = lstm_tensor(fn, ctx, c0, "c0", 1)) ||
      (s = lstm_tensor(fn, ctx, y, "y", 0)) || (s = lstm_tensor(fn, ctx, h_n, "h_n", 1)) ||
      (s = lstm_tensor(fn, ctx, c_n, "c_n", 1)) ||
      (s = lstm_tensor(fn, ctx, reserve, "reserve", 0)))
    return s;
  lstm_dims d;
  char from[256];
  if ((s = lstm_check_layer(fn, x, w_ih, w_hh, h0, c0, y, reserve, &d, from, sizeof from)))
    return s;
  const size_t g1[1] = {d.G}, nh[2] = {d.N, d.H};
  if ((s = lstm_shape(fn, bias, "bias", 1, g1, "[4H]", from)) ||
      (s = lstm_shape(fn, h_n, "h_n", 2, nh, "[N, H]", from)) ||
      (s = lstm_shape(fn, c_n, "c_n", 2, nh, "[N, H]", from)) ||
      (s = lstm_check_params(fn, p, &d, from)))
    return s;
  /* h_n may be h0 and c_n may be c0 (carrying state across calls): h0 is read (by GEMMs) before
   * the first step's kernel, and each work-item reads its c0 element at the sample's first step,
   * no later than it writes c_n at the sample's last step. */
  const clnn_tensor *outs[] = {y, h_n, c_n, reserve};
  const char *const out_names[] = {"y", "h_n", "c_n", "reserve"};
  const clnn_tensor *ins[] = {x, w_ih, w_hh, bias};
  const char *const in_names[] = {"x", "w_ih", "w_hh", "bias"};
  if ((s = lstm_distinct(fn, outs, out_names, 4, ins, in_names, 4))) return s;
  const clnn_tensor *outs2[] = {y, reserve};
  const char *const out2_names[] = {"y", "reserve"};
  const clnn_tensor *ins2[] = {h0, c0};
  const char *const in2_names[] = {"h0", "c0"};
  if ((s = lstm_distinct(fn, outs2, out2_names, 2, ins2, in2_names, 2))) return s;
  clnn__kernel_ref *const kernels[] = {&k_lstm_step_fwd};
  if ((s = lstm_kernels(ctx, fn, kernels, 1))) return s;

  const size_t T = d.T, N = d.N, I = d.I, H = d.H, G = d.G;
  const size_t NH = N * H, NG = N * G, c_base = T * NG;
  const int rev = p && p->reverse, has_lens = p && p->lengths;
  /* The reverse direction with lengths starts samples in the middle of the sequence, where the
   * GEMM reads a zero row of y: the kernel adds p0 = h0 W_hh^T (workspace slot 3) there. */
  const int use_p0 = rev && has_lens && h0 && T > 1;
  cl_mem res = reserve->mem, dummy = res, lens = res, p0 = res;
  if (use_p0 && (s = clnn__workspace(ctx, 3, NG * sizeof(float), &p0))) return clnn__prefix_error(fn, s);
  if ((s = lstm_upload_lengths(ctx, p, N, res, &lens))) return clnn__prefix_error(fn, s);
  /* Input projection of every step: gates[T*N, 4H] = x[T*N, I] * w_ih^T. */
  s = clnn__gemm(ctx, 0, 1, T * N, G, I, 1.0f, x->mem, 0, I, w_ih->mem, 0, I, 0.0f, res, 0, G);
  if (s) return s;
  if (use_p0 && (s = clnn__gemm(ctx, 0, 1, N, G, H, 1.0f, h0->mem, 0, H, w_hh->mem, 0, H, 0.0f, p0,
                                0, G)))
    return s;
  const size_t local = lstm_local(ctx, &k_lstm_step_fwd), global = NH;
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

clnn_status clnn_lstm_backward_ex(clnn_context *ctx, const clnn_rnn_params *p,
                                  const clnn_tensor *x, const clnn_tensor *w_ih,
                                  const clnn_tensor *w_hh, const clnn_tensor *h0,
                                  const clnn_tensor *c0, const clnn_tensor *y,
                                  const clnn_tensor *reserve, const clnn_tensor *dy,
                                  const clnn_tensor *dh_n, const clnn_tensor *dc_n, float beta,
                                  clnn_tensor *dx, clnn_tensor *dw_ih, clnn_tensor *dw_hh,
                                  clnn_tensor *dbias, clnn_tensor *dh0, clnn_tensor *dc0) {
  static const char fn[] = "clnn_lstm_backward";
  if (!ctx) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: ctx is NULL", fn);
  clnn_rnn_params p_in;
  CLNN__STRUCT_IN(CLNN__RNN_PARAMS, fn, "params", p, p_in);
  clnn_status s;
  if ((s = lstm_tensor(fn, ctx, x, "x", 0)) || (s = lstm_tensor(fn, ctx, w_ih, "w_ih", 0)) ||
      (s = lstm_tensor(fn, ctx, w_hh, "w_hh", 0)) || (s = lstm_tensor(fn, ctx, h0, "h0", 1)) ||
      (s = lstm_tensor(fn, ctx, c0, "c0", 1)) || (s = lstm_tensor(fn, ctx, y, "y", 0)) ||
      (s = lstm_tensor(fn, ctx, reserve, "reserve", 0)) ||
      (s = lstm_tensor(fn, ctx, dy, "dy", 1)) || (s = lstm_tensor(fn, ctx, dh_n, "dh_n", 1)) ||
      (s = lstm_tensor(fn, ctx, dc_n, "dc_n", 1)) || (s = lstm_tensor(fn, ctx, dx, "dx", 1)) ||
      (s = lstm_tensor(fn, ctx, dw_ih, "dw_ih", 1)) ||
      (s = lstm_tensor(fn, ctx, dw_hh, "dw_hh", 1)) ||
      (s = lstm_tensor(fn, ctx, dbias, "dbias", 1)) || (s = lstm_tensor(fn, ctx, dh0, "dh0", 1)) ||
      (s = lstm_tensor(fn, ctx, dc0, "dc0", 1)))
    return s;
  if ((s = clnn__check_beta(beta))) return clnn__prefix_error(fn, s);
  lstm_dims d;
  char from[256];
  if ((s = lstm_check_layer(fn, x, w_ih, w_hh, h0, c0, y, reserve, &d, from, sizeof from)))
    return s;
  const size_t nh[2] = {d.N, d.H}, tnh[3] = {d.T, d.N, d.H}, tni[3] = {d.T, d.N, d.I},
               gi[2] = {d.G, d.I}, gh[2] = {d.G, d.H}, g1[1] = {d.G};
  if ((s = lstm_shape(fn, dy, "dy", 3, tnh, "[T, N, H]", from)) ||
      (s = lstm_shape(fn, dh_n, "dh_n", 2, nh, "[N, H]", from)) ||
      (s = lstm_shape(fn, dc_n, "dc_n", 2, nh, "[N, H]", from)) ||
      (s = lstm_shape(fn, dx, "dx", 3, tni, "[T, N, I]", from)) ||
      (s = lstm_shape(fn, dw_ih, "dw_ih", 2, gi, "[4H, I]", from)) ||
      (s = lstm_shape(fn, dw_hh, "dw_hh", 2, gh, "[4H, H]", from)) ||
      (s = lstm_shape(fn, dbias, "dbias", 1, g1, "[4H]", from)) ||
      (s = lstm_shape(fn, dh0, "dh0", 2, nh, "[N, H]", from)) ||
      (s = lstm_shape(fn, dc0, "dc0", 2, nh, "[N, H]", from)) ||
      (s = lstm_check_params(fn, p, &d, from)))
    return s;
  /* dh0 may be dh_n and dc0 may be dc_n: dh_n is read inside the loop and dh0 written after it;
   * each work-item reads its dc_n element at the sample's last step, which the backward visits
   * before the sample's first step, where it writes dc0. */
  const clnn_tensor *outs[] = {dx, dw_ih, dw_hh, dbias, dh0, dc0};
  const char *const out_names[] = {"dx", "dw_ih", "dw_hh", "dbias", "dh0", "dc0"};
  const clnn_tensor *ins[] = {x, w_ih, w_hh, h0, c0, y, reserve, dy};
  const char *const in_names[] = {"x", "w_ih", "w_hh", "h0", "c0", "y", "reserve", "dy"};
  if ((s = lstm_distinct(fn, outs, out_names, 6, ins, in_names, 8))) return s;
  const clnn_tensor *outs2[] = {dx, dw_ih, dw_hh, dbias};
  const clnn_tensor *ins2[] = {dh_n, dc_n};
  const char *const in2_names[] = {"dh_n", "dc_n"};
  if ((s = lstm_distinct(fn, outs2, out_names, 4, ins2, in2_names, 2))) return s;
  if (!dx && !dw_ih && !dw_hh && !dbias && !dh0 && !dc0) return CLNN_SUCCESS; /* nothing asked */

  const size_t T = d.T, N = d.N, I = d.I, H = d.H, G = d.G;
  const size_t NH = N * H, NG = N * G, TN = T * N, c_base = T * NG;
  const int rev = p && p->reverse, has_lens = p && p->lengths;
  const int need_scale = dw_hh && !h0 && T == 1;
  /* Each sample's first step's dgates rows (dh0 and the h0 part of dw_hh need them): step 0
   * (forward), step T-1 (reverse), or gathered from step len-1 (reverse with lengths). */
  const int gather = rev && has_lens && (dh0 || (dw_hh && h0));
  const size_t chunks = (TN + LSTM_COLSUM_ROWS - 1) / LSTM_COLSUM_ROWS;
  clnn__kernel_ref *const kernels[] = {&k_lstm_step_bwd, dbias ? &k_lstm_colsum_partial : NULL,
                                       dbias ? &k_lstm_colsum_final : NULL,
                                       need_scale ? &k_lstm_scale : NULL,
                                       gather ? &k_lstm_gather_rows : NULL};
  for (int k = 0; k < 5; k++)
    if (kernels[k] && (s = lstm_kernels(ctx, fn, &kernels[k], 1))) return s;
  /* Workspaces, all acquired before anything is enqueued. ws_st: [0, NH) dh carried into the
   * next visited step (recurrent part); [NH, 2NH) dc carried; [2NH, 2NH + NG) the gathered
   * first-step dgates. */
  cl_mem ws_dg = NULL, ws_st = NULL, ws_part = NULL, lens = NULL;
  if ((s = clnn__workspace(ctx, 3, TN * G * sizeof(float), &ws_dg)) ||
      (s = clnn__workspace(ctx, 4, (2 * NH + (gather ? NG : 0)) * sizeof(float), &ws_st)) ||
      (dbias && (s = clnn__workspace(ctx, 5, chunks * G * sizeof(float), &ws_part))))
    return clnn__prefix_error(fn, s);
  cl_mem res = reserve->mem, dummy = res;
  if ((s = lstm_upload_lengths(ctx, p, N, res, &lens))) return clnn__prefix_error(fn, s);

  const size_t local = lstm_local(ctx, &k_lstm_step_bwd), global = NH;
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
  if (dbias) {
    const size_t g1n = chunks * G, g2n = G;
    if ((s = CLNN_RUN(ctx, &k_lstm_colsum_partial, 1, &g1n, &local,
                      CLNN_ARG_MEM(ws_dg), CLNN_ARG_INT(TN), CLNN_ARG_INT(G),
                      CLNN_ARG_INT(LSTM_COLSUM_ROWS), CLNN_ARG_INT(chunks), CLNN_ARG_MEM(ws_part))))
      return s;
    if ((s = CLNN_RUN(ctx, &k_lstm_colsum_final, 1, &g2n, &local,
                      CLNN_ARG_MEM(ws_part), CLNN_ARG_INT(chunks), CLNN_ARG_INT(G),
                      CLNN_ARG_FLOAT(beta), CLNN_ARG_MEM(dbias->mem))))
      return s;
  }
  return CLNN_SUCCESS;
}
