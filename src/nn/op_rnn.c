/* src/nn/op_rnn.c — the graph's recurrent nodes, LSTM and GRU, one mechanism for both:
 * batch-first [T, F] sequences, permuted to the operators' time-major layout in node scratch;
 * optional per-sample lengths (an int32 input []), initial state from graph values and the final
 * state given out as values, and bidirectional (the reverse direction's parameters are
 * "<name>.*_reverse", as PyTorch names them; its outputs follow the forward direction's on the
 * feature axis, its state is index 1 of the [2, hidden] state values).
 *
 * ia = {hidden, return_sequences, bidirectional, lengths, initial_state, state_outputs}; inputs
 * x, then lengths (when ia[3]), then h0 (and c0 for the LSTM) when ia[4]; outputs y, then h_n
 * (and c_n) when ia[5]. Parameters per direction: LSTM weight_ih [4H, F], weight_hh [4H, H],
 * bias [4H]; GRU weight_ih_l0 [3H, F], weight_hh_l0 [3H, H], bias_ih_l0, bias_hh_l0 [3H]. */
#include "nn/graph.h"
#include "nn/model.h"

#include <stdio.h>
#include <string.h>

enum { A_HIDDEN, A_RETSEQ, A_BIDIR, A_LENGTHS, A_STATE_IN, A_STATE_OUT };

/* scratch slots; per-direction ones take d = 0 (forward) or 1 (reverse) */
enum {
  S_XT = 0,     /* x time-major [T, N, F] */
  S_YT = 1,     /* + 2d: every h_t of direction d [T, N, H] */
  S_RES = 2,    /* + 2d: its reserve */
  S_TMP = 5,    /* [N, T, H]: one direction's outputs batch-first (bidirectional) */
  S_DYT = 6,    /* dy of one direction, time-major [T, N, H] */
  S_DXT = 7,    /* + d: dx from direction d, time-major [T, N, F] */
  S_H0 = 9,     /* + d: h0 of direction d [N, H] (bidirectional) */
  S_C0 = 11,    /* + d */
  S_HN = 13,    /* + d: h_n of direction d (bidirectional), then dh_n in backward */
  S_CN = 15,    /* + d: c_n, then dc_n */
  S_DH0 = 17,   /* + d: dh0 of direction d */
  S_DC0 = 19    /* + d */
};
/* view slots: [N, 1, H] views of the per-direction state buffers for box copies */
enum { V_H0 = 0, V_C0 = 2, V_HN = 4, V_CN = 6, V_DH0 = 8, V_DC0 = 10 };

/* 1 for the LSTM (which has a cell state), 0 for the GRU */
static int has_cell(const clnn__gnode *n) { return n->op == &clnn__op_lstm; }

/* y, then h_n (and the LSTM's c_n) with state outputs */
static int lstm_outputs(const int *ia) { return ia[A_STATE_OUT] ? 3 : 1; }
static int gru_outputs(const int *ia) { return ia[A_STATE_OUT] ? 2 : 1; }

static clnn_status rnn_infer(clnn__graph *g, clnn__gnode *n, int params) {
  const clnn__gvalue *x = clnn__g_in(g, n, 0);
  const int cell = has_cell(n), S = cell ? 2 : 1; /* state tensors: h (and c) */
  char sh[96];
  for (int k = A_RETSEQ; k <= A_STATE_OUT; k++)
    if (n->ia[k] != 0 && n->ia[k] != 1)
      return clnn__g_fail(n, CLNN_ERROR_INVALID_ARGUMENT, "attribute %s is %d; it must be 0 or 1",
                          n->op->iattr[k], n->ia[k]);
  const int want_in = 1 + n->ia[A_LENGTHS] + S * n->ia[A_STATE_IN];
  if (n->num_in != want_in)
    return clnn__g_fail(n, CLNN_ERROR_INVALID_ARGUMENT,
                        "takes x%s%s: %d inputs, got %d", n->ia[A_LENGTHS] ? ", lengths" : "",
                        n->ia[A_STATE_IN] ? (cell ? ", h0, c0" : ", h0") : "", want_in,
                        n->num_in);
  if (x->dtype != CLNN_FLOAT32 || x->ndim != 2)
    return clnn__g_fail(n, CLNN_ERROR_SHAPE_MISMATCH, "needs sequences [N, T, F], got %s",
                        clnn__g_shape_str(x, sh, sizeof sh));
  if (n->ia[A_HIDDEN] < 1)
    return clnn__g_fail(n, CLNN_ERROR_INVALID_ARGUMENT, "hidden %d must be >= 1",
                        n->ia[A_HIDDEN]);
  const size_t H = (size_t)n->ia[A_HIDDEN], F = x->dims[1], D = n->ia[A_BIDIR] ? 2 : 1;
  if (n->ia[A_LENGTHS]) {
    const clnn__gvalue *l = clnn__g_in(g, n, 1);
    if (l->dtype != CLNN_INT32 || l->ndim != 0)
      return clnn__g_fail(n, CLNN_ERROR_SHAPE_MISMATCH,
                          "lengths must be int32 with one per sample ([]), got %s",
                          clnn__g_shape_str(l, sh, sizeof sh));
  }
  /* state values: [H] per sample, or [2, H] for both directions */
  const int sndim = D == 2 ? 2 : 1;
  const size_t sdims[2] = {D == 2 ? 2 : H, H};
  char want[48];
  snprintf(want, sizeof want, D == 2 ? "[2, %zu]" : "[%zu]", H);
  for (int k = 0; n->ia[A_STATE_IN] && k < S; k++) {
    const clnn__gvalue *s = clnn__g_in(g, n, 1 + n->ia[A_LENGTHS] + k);
    int ok = s->dtype == CLNN_FLOAT32 && s->ndim == sndim;
    for (int i = 0; ok && i < sndim; i++) ok = s->dims[i] == sdims[i];
    if (!ok)
      return clnn__g_fail(n, CLNN_ERROR_SHAPE_MISMATCH,
                          "initial state %s must be float %s per sample (hidden %zu%s), got %s",
                          k ? "c0" : "h0", want, H, D == 2 ? ", 2 directions" : "",
                          clnn__g_shape_str(s, sh, sizeof sh));
  }
  clnn__gvalue *y = clnn__g_out(g, n, 0);
  y->dtype = CLNN_FLOAT32;
  if (n->ia[A_RETSEQ]) {
    y->ndim = 2;
    y->dims[0] = x->dims[0];
    y->dims[1] = D * H;
  } else {
    y->ndim = 1;
    y->dims[0] = D * H;
  }
  for (int k = 1; n->ia[A_STATE_OUT] && k <= S; k++) {
    clnn__gvalue *s = clnn__g_out(g, n, k);
    s->dtype = CLNN_FLOAT32;
    s->ndim = sndim;
    memcpy(s->dims, sdims, sizeof sdims);
  }
  if (!params) return CLNN_SUCCESS;
  clnn_status st = CLNN_SUCCESS;
  if (!cell) { /* GRU: PyTorch's names; every parameter uniform in +-1/sqrt(hidden) as there */
    static const char *const groles[2][4] = {
        {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"},
        {"weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse",
         "bias_hh_l0_reverse"}};
    const size_t gdims[3][2] = {{3 * H, F}, {3 * H, H}, {3 * H, 0}};
    for (size_t d = 0; d < D && st == CLNN_SUCCESS; d++)
      for (int k = 0; k < 4 && st == CLNN_SUCCESS; k++)
        st = clnn__g_param(g, n, groles[d][k], k < 2 ? 2 : 1, gdims[k < 2 ? k : 2], 0,
                           CLNN__GINIT_UNIFORM, (double)H, 0);
    return st;
  }
  size_t wih[2] = {4 * H, F}, whh[2] = {4 * H, H}, b = 4 * H;
  static const char *const roles[2][3] = {{"weight_ih", "weight_hh", "bias"},
                                          {"weight_ih_reverse", "weight_hh_reverse",
                                           "bias_reverse"}};
  for (size_t d = 0; d < D && st == CLNN_SUCCESS; d++) {
    st = clnn__g_param(g, n, roles[d][0], 2, wih, 0, CLNN__GINIT_FAN, (double)F, (double)H);
    if (st == CLNN_SUCCESS)
      st = clnn__g_param(g, n, roles[d][1], 2, whh, 0, CLNN__GINIT_FAN, (double)H, (double)H);
    if (st == CLNN_SUCCESS)
      st = clnn__g_param(g, n, roles[d][2], 1, &b, 0, CLNN__GINIT_LSTM_BIAS, 0, 0);
  }
  return st;
}

static const int tn_perm[3] = {1, 0, 2}; /* [N, T, F] <-> [T, N, F] */

typedef struct rnn_run {
  clnn_context *ctx;
  size_t N, T, F, H;
  int D, cell, P; /* directions; LSTM or GRU; parameters per direction */
  clnn_rnn_params p[2];
  clnn_tensor *xt, *yt[2], *res[2];
} rnn_run;

/* Sizes, sequence options and the scratch both passes use. */
static clnn_status rnn_setup(clnn__gexec *x, const clnn__gnode *n, rnn_run *r) {
  clnn_tensor *xi = clnn__g_val(x, n->in[0]);
  r->ctx = clnn__g_ctx(x);
  r->N = clnn_tensor_dim(xi, 0), r->T = clnn_tensor_dim(xi, 1), r->F = clnn_tensor_dim(xi, 2);
  r->H = (size_t)n->ia[A_HIDDEN];
  r->D = n->ia[A_BIDIR] ? 2 : 1;
  r->cell = has_cell(n);
  r->P = r->cell ? 3 : 4;
  for (int d = 0; d < 2; d++) {
    clnn_rnn_params_init(&r->p[d]);
    r->p[d].reverse = d;
  }
  if (n->ia[A_LENGTHS]) {
    size_t count;
    const int32_t *lens = clnn__g_ids(x, n->in[1], &count);
    if (!lens)
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "node '%s' (%s): its lengths were not fed",
                         n->name, n->op->kind);
    for (int d = 0; d < 2; d++) r->p[d].lengths = lens, r->p[d].num_lengths = count;
  }
  size_t dx[3] = {r->T, r->N, r->F}, dy[3] = {r->T, r->N, r->H};
  size_t rn = r->cell ? clnn_lstm_reserve_numel(r->T, r->N, r->H)
                      : clnn_gru_reserve_numel(r->T, r->N, r->H);
  clnn_status st = clnn__g_scratch(x, n, S_XT, 3, dx, &r->xt);
  for (int d = 0; d < r->D && st == CLNN_SUCCESS; d++) {
    st = clnn__g_scratch(x, n, S_YT + 2 * d, 3, dy, &r->yt[d]);
    if (st == CLNN_SUCCESS) st = clnn__g_scratch(x, n, S_RES + 2 * d, 1, &rn, &r->res[d]);
  }
  return st;
}

/* A per-direction [N, H] state buffer (scratch slot) and its [N, 1, H] view (view slot). */
static clnn_status state_buf(clnn__gexec *x, const clnn__gnode *n, const rnn_run *r, int slot,
                             int vslot, clnn_tensor **buf, clnn_tensor **view) {
  size_t d2[2] = {r->N, r->H}, d3[3] = {r->N, 1, r->H};
  clnn_status st = clnn__g_scratch(x, n, slot, 2, d2, buf);
  if (st == CLNN_SUCCESS && view) st = clnn__g_view(x, n, vslot, *buf, 3, d3, view);
  return st;
}

/* Box copy between a [N, 2, H] state value and direction d's [N, 1, H] view: to_value 1 writes
 * the value (beta*value + view), 0 reads it into the view. */
static clnn_status state_box(const rnn_run *r, clnn_tensor *value, int d, clnn_tensor *view,
                             int to_value, float beta) {
  size_t box[3] = {r->N, 1, r->H}, at[3] = {0, (size_t)d, 0}, zero[3] = {0, 0, 0};
  return to_value ? clnn_copy_region(r->ctx, 3, box, 1.0f, view, zero, beta, value, at)
                  : clnn_copy_region(r->ctx, 3, box, 1.0f, value, at, 0.0f, view, zero);
}

static clnn_status rnn_forward(clnn__gexec *x, const clnn__gnode *n) {
  rnn_run r;
  clnn_status st = rnn_setup(x, n, &r);
  if (st != CLNN_SUCCESS) return st;
  clnn_context *ctx = r.ctx;
  const int bi = r.D == 2, retseq = n->ia[A_RETSEQ], sin = n->ia[A_STATE_IN];
  const int sout = n->ia[A_STATE_OUT], cell = r.cell, P = r.P;
  const int k_h0 = 1 + n->ia[A_LENGTHS];
  clnn_tensor *y = clnn__g_val(x, n->out[0]);
  clnn_tensor *hn_v = sout ? clnn__g_val(x, n->out[1]) : NULL;
  clnn_tensor *cn_v = sout && cell ? clnn__g_val(x, n->out[2]) : NULL;
  st = clnn_permute(ctx, tn_perm, 1.0f, clnn__g_val(x, n->in[0]), 0.0f, r.xt);
  for (int d = 0; d < r.D && st == CLNN_SUCCESS; d++) {
    clnn_tensor *h0 = NULL, *c0 = NULL, *hn = NULL, *cn = NULL, *vw;
    if (sin && !bi) {
      h0 = clnn__g_val(x, n->in[k_h0]);
      if (cell) c0 = clnn__g_val(x, n->in[k_h0 + 1]);
    } else if (sin) {
      st = state_buf(x, n, &r, S_H0 + d, V_H0 + d, &h0, &vw);
      if (st == CLNN_SUCCESS) st = state_box(&r, clnn__g_val(x, n->in[k_h0]), d, vw, 0, 0);
      if (st == CLNN_SUCCESS && cell) st = state_buf(x, n, &r, S_C0 + d, V_C0 + d, &c0, &vw);
      if (st == CLNN_SUCCESS && cell)
        st = state_box(&r, clnn__g_val(x, n->in[k_h0 + 1]), d, vw, 0, 0);
    }
    if (st == CLNN_SUCCESS && !bi) {
      hn = sout ? hn_v : retseq ? NULL : y;
      cn = cn_v;
    } else if (st == CLNN_SUCCESS && (sout || !retseq)) {
      st = state_buf(x, n, &r, S_HN + d, 0, &hn, NULL);
      if (st == CLNN_SUCCESS && sout && cell)
        st = state_buf(x, n, &r, S_CN + d, 0, &cn, NULL);
    }
    if (st == CLNN_SUCCESS && cell)
      st = clnn_lstm_forward_ex(ctx, &r.p[d], r.xt, clnn__g_pval(x, n, P * d),
                                clnn__g_pval(x, n, P * d + 1), clnn__g_pval(x, n, P * d + 2), h0,
                                c0, r.yt[d], hn, cn, r.res[d]);
    else if (st == CLNN_SUCCESS)
      st = clnn_gru_forward(ctx, &r.p[d], r.xt, clnn__g_pval(x, n, P * d),
                            clnn__g_pval(x, n, P * d + 1), clnn__g_pval(x, n, P * d + 2),
                            clnn__g_pval(x, n, P * d + 3), h0, r.yt[d], hn, r.res[d]);
    if (st != CLNN_SUCCESS || !bi) continue;
    /* both directions side by side: outputs on the feature axis, state at index d */
    if (retseq) {
      clnn_tensor *tmp;
      size_t nth[3] = {r.N, r.T, r.H}, at[3] = {0, 0, (size_t)d * r.H}, zero[3] = {0, 0, 0};
      st = clnn__g_scratch(x, n, S_TMP, 3, nth, &tmp);
      if (st == CLNN_SUCCESS) st = clnn_permute(ctx, tn_perm, 1.0f, r.yt[d], 0.0f, tmp);
      if (st == CLNN_SUCCESS) st = clnn_copy_region(ctx, 3, nth, 1.0f, tmp, zero, 0.0f, y, at);
    } else {
      size_t box[2] = {r.N, r.H}, at[2] = {0, (size_t)d * r.H}, zero[2] = {0, 0};
      st = clnn_copy_region(ctx, 2, box, 1.0f, hn, zero, 0.0f, y, at);
    }
    if (st == CLNN_SUCCESS && sout) {
      clnn_tensor *v;
      st = clnn__g_view(x, n, V_HN + d, hn, 3, (size_t[3]){r.N, 1, r.H}, &v);
      if (st == CLNN_SUCCESS) st = state_box(&r, hn_v, d, v, 1, 0.0f);
      if (st == CLNN_SUCCESS && cell)
        st = clnn__g_view(x, n, V_CN + d, cn, 3, (size_t[3]){r.N, 1, r.H}, &v);
      if (st == CLNN_SUCCESS && cell) st = state_box(&r, cn_v, d, v, 1, 0.0f);
    }
  }
  if (st != CLNN_SUCCESS || bi) return st;
  if (retseq) return clnn_permute(ctx, tn_perm, 1.0f, r.yt[0], 0.0f, y);
  if (sout) return clnn_tensor_copy(y, hn_v); /* the last hidden state is also h_n */
  return CLNN_SUCCESS;
}

/* Gradient reaching direction d's h_n: from y (return_sequences 0) and from the h_n output;
 * *out NULL when none. Summed (or sliced, bidirectional) into scratch when needed. */
static clnn_status grad_hn(clnn__gexec *x, const clnn__gnode *n, const rnn_run *r, int d,
                           int cell, clnn_tensor **out) {
  const int bi = r->D == 2;
  clnn_tensor *from_y = (!cell && !n->ia[A_RETSEQ]) ? clnn__g_grad(x, n->out[0]) : NULL;
  clnn_tensor *from_s = n->ia[A_STATE_OUT] ? clnn__g_grad(x, n->out[cell ? 2 : 1]) : NULL;
  *out = NULL;
  if (!from_y && !from_s) return CLNN_SUCCESS;
  if (!bi && !(from_y && from_s)) {
    *out = from_y ? from_y : from_s;
    return CLNN_SUCCESS;
  }
  clnn_tensor *buf, *view;
  clnn_status st = state_buf(x, n, r, (cell ? S_CN : S_HN) + d, (cell ? V_CN : V_HN) + d, &buf,
                             &view);
  if (st != CLNN_SUCCESS) return st;
  float beta = 0.0f;
  if (from_y) {
    size_t box[2] = {r->N, r->H}, at[2] = {0, bi ? (size_t)d * r->H : 0}, zero[2] = {0, 0};
    st = clnn_copy_region(r->ctx, 2, box, 1.0f, from_y, at, 0.0f, buf, zero);
    beta = 1.0f;
  }
  if (st == CLNN_SUCCESS && from_s) {
    if (!bi) {
      st = clnn__g_accum(r->ctx, 1.0f, from_s, beta, buf);
    } else {
      size_t box[3] = {r->N, 1, r->H}, at[3] = {0, (size_t)d, 0}, zero[3] = {0, 0, 0};
      st = clnn_copy_region(r->ctx, 3, box, 1.0f, from_s, at, beta, view, zero);
    }
  }
  *out = buf;
  return st;
}

/* Direction d's backward through the LSTM or GRU operator; dp NULL: no parameter gradients. */
static clnn_status rnn_backward_call(const rnn_run *r, int d, clnn_tensor *wih, clnn_tensor *whh,
                                     clnn_tensor *h0, clnn_tensor *c0, clnn_tensor *dyt,
                                     clnn_tensor *dhn, clnn_tensor *dcn, float beta,
                                     clnn_tensor *dxt, clnn_tensor *const *dp, clnn_tensor *dh0,
                                     clnn_tensor *dc0) {
  clnn_tensor *const none[4] = {NULL, NULL, NULL, NULL};
  if (!dp) dp = none;
  if (r->cell)
    return clnn_lstm_backward_ex(r->ctx, &r->p[d], r->xt, wih, whh, h0, c0, r->yt[d], r->res[d],
                                 dyt, dhn, dcn, beta, dxt, dp[0], dp[1], dp[2], dh0, dc0);
  return clnn_gru_backward(r->ctx, &r->p[d], r->xt, wih, whh, h0, r->res[d], dyt, dhn, beta, dxt,
                           dp[0], dp[1], dp[2], dp[3], dh0);
}

static clnn_status rnn_backward(clnn__gexec *x, const clnn__gnode *n) {
  rnn_run r;
  clnn_status st = rnn_setup(x, n, &r);
  if (st != CLNN_SUCCESS) return st;
  clnn_context *ctx = r.ctx;
  const int bi = r.D == 2, retseq = n->ia[A_RETSEQ], sin = n->ia[A_STATE_IN];
  const int k_h0 = 1 + n->ia[A_LENGTHS], cell = r.cell, P = r.P;
  clnn_tensor *dy = retseq ? clnn__g_grad(x, n->out[0]) : NULL;
  /* where the inputs' gradients go (each asked once) */
  clnn_tensor *dx = NULL, *dh0_v = NULL, *dc0_v = NULL;
  float bx = 0, bh = 0, bc = 0;
  const int tx = clnn__g_dx(x, n, 0, &dx, &bx);
  const int th = sin && clnn__g_dx(x, n, k_h0, &dh0_v, &bh);
  const int tc = sin && cell && clnn__g_dx(x, n, k_h0 + 1, &dc0_v, &bc);
  for (int d = 0; d < r.D && st == CLNN_SUCCESS; d++) {
    clnn_tensor *dp[4] = {NULL, NULL, NULL, NULL}, *dyt = NULL, *dxt = NULL, *dhn, *dcn = NULL;
    clnn_tensor *h0 = NULL, *c0 = NULL, *dh0 = NULL, *dc0 = NULL, *vw, *vh = NULL, *vc = NULL;
    float bp = 0, b;
    int any_p = 0;
    for (int k = 0; k < P; k++)
      if (clnn__g_dparam(x, n, P * d + k, &dp[k], &b)) any_p = 1, bp = b;
    if (dy) {
      st = clnn__g_scratch(x, n, S_DYT, 3, (size_t[3]){r.T, r.N, r.H}, &dyt);
      if (st == CLNN_SUCCESS && !bi) {
        st = clnn_permute(ctx, tn_perm, 1.0f, dy, 0.0f, dyt);
      } else if (st == CLNN_SUCCESS) {
        clnn_tensor *tmp;
        size_t nth[3] = {r.N, r.T, r.H}, at[3] = {0, 0, (size_t)d * r.H}, zero[3] = {0, 0, 0};
        st = clnn__g_scratch(x, n, S_TMP, 3, nth, &tmp);
        if (st == CLNN_SUCCESS) st = clnn_copy_region(ctx, 3, nth, 1.0f, dy, at, 0.0f, tmp, zero);
        if (st == CLNN_SUCCESS) st = clnn_permute(ctx, tn_perm, 1.0f, tmp, 0.0f, dyt);
      }
    }
    if (st == CLNN_SUCCESS) st = grad_hn(x, n, &r, d, 0, &dhn);
    if (st == CLNN_SUCCESS && cell) st = grad_hn(x, n, &r, d, 1, &dcn);
    if (st == CLNN_SUCCESS && tx)
      st = clnn__g_scratch(x, n, S_DXT + d, 3, (size_t[3]){r.T, r.N, r.F}, &dxt);
    if (st == CLNN_SUCCESS && sin) {
      if (!bi) {
        h0 = clnn__g_val(x, n->in[k_h0]);
        if (cell) c0 = clnn__g_val(x, n->in[k_h0 + 1]);
      } else {
        st = state_buf(x, n, &r, S_H0 + d, V_H0 + d, &h0, &vw);
        if (st == CLNN_SUCCESS && cell) st = state_buf(x, n, &r, S_C0 + d, V_C0 + d, &c0, &vw);
      }
      if (st == CLNN_SUCCESS && th) st = state_buf(x, n, &r, S_DH0 + d, V_DH0 + d, &dh0, &vh);
      if (st == CLNN_SUCCESS && tc) st = state_buf(x, n, &r, S_DC0 + d, V_DC0 + d, &dc0, &vc);
    }
    if (st != CLNN_SUCCESS) return st;
    clnn_tensor *wih = clnn__g_pval(x, n, P * d), *whh = clnn__g_pval(x, n, P * d + 1);
    const int inputs = dxt || dh0 || dc0;
    if (inputs && any_p && bp != 0.0f) { /* shared weights accumulate: inputs' gradients first */
      st = rnn_backward_call(&r, d, wih, whh, h0, c0, dyt, dhn, dcn, 0.0f, dxt, NULL, dh0, dc0);
      if (st == CLNN_SUCCESS)
        st = rnn_backward_call(&r, d, wih, whh, h0, c0, dyt, dhn, dcn, bp, NULL, dp, NULL, NULL);
    } else {
      st = rnn_backward_call(&r, d, wih, whh, h0, c0, dyt, dhn, dcn, bp, dxt, dp, dh0, dc0);
    }
    if (st == CLNN_SUCCESS && tx) st = clnn_permute(ctx, tn_perm, 1.0f, dxt, d ? 1.0f : bx, dx);
    if (st == CLNN_SUCCESS && dh0)
      st = bi ? state_box(&r, dh0_v, d, vh, 1, bh) : clnn__g_accum(ctx, 1.0f, dh0, bh, dh0_v);
    if (st == CLNN_SUCCESS && dc0)
      st = bi ? state_box(&r, dc0_v, d, vc, 1, bc) : clnn__g_accum(ctx, 1.0f, dc0, bc, dc0_v);
  }
  return st;
}

const clnn__op clnn__op_lstm = {
    "lstm",
    {"hidden", "return_sequences", "bidirectional", "lengths", "initial_state", "state_outputs",
     NULL},
    {NULL},
    1,
    0,
    0,
    rnn_infer,
    rnn_forward,
    rnn_backward,
    lstm_outputs};

/* The GRU node: its four parameters per direction sit where the LSTM's three do. */
const clnn__op clnn__op_gru = {
    "gru",
    {"hidden", "return_sequences", "bidirectional", "lengths", "initial_state", "state_outputs",
     NULL},
    {NULL},
    1,
    0,
    0,
    rnn_infer,
    rnn_forward,
    rnn_backward,
    gru_outputs};

void clnn_graph_rnn_options_init(clnn_graph_rnn_options *o) {
  if (!o) return;
  memset(o, 0, sizeof *o);
  o->struct_size = (uint32_t)sizeof *o;
  o->lengths = o->h0 = o->c0 = -1;
}

/* Adds an LSTM or GRU node from the options; c_n is the LSTM's cell state output. */
static clnn_status rnn_add(clnn_graph *g, const clnn__op *op, const char *fn, const char *name,
                           int x, const clnn_graph_rnn_options *o, int *out, int *h_n, int *c_n) {
  const int cell = op == &clnn__op_lstm;
  if (!g || !out || !o)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: graph, options or out is NULL", fn);
  clnn_graph_rnn_options o_in;
  CLNN__STRUCT_IN(CLNN__GRAPH_RNN_OPTIONS, fn, "options", o, o_in);
  if (cell && (o->h0 < 0) != (o->c0 < 0))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: h0 is %d and c0 is %d; give both initial state values or neither", fn,
                       o->h0, o->c0);
  if (!cell && o->c0 >= 0)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: c0 is %d; a GRU has no cell state (leave c0 at -1)", fn, o->c0);
  if (o->state_outputs && (!h_n || (cell && !c_n)))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: state_outputs is set but %s (where their ids go) is NULL", fn,
                       cell ? "h_n or c_n" : "h_n");
  int ia[CLNN__G_IATTRS] = {o->hidden, o->return_sequences, o->bidirectional,
                            o->lengths >= 0, o->h0 >= 0, o->state_outputs};
  int in[4] = {x}, num_in = 1, outs[3] = {-1, -1, -1};
  if (o->lengths >= 0) in[num_in++] = o->lengths;
  if (o->h0 >= 0) in[num_in++] = o->h0;
  if (cell && o->c0 >= 0) in[num_in++] = o->c0;
  clnn_status st = clnn__g_add_node(&g->g, op, name, num_in, in, ia, NULL, -1, outs, fn);
  if (st != CLNN_SUCCESS) return st;
  *out = outs[0];
  if (o->state_outputs) {
    *h_n = outs[1];
    if (cell) *c_n = outs[2];
  }
  return CLNN_SUCCESS;
}

clnn_status clnn_graph_lstm_ex(clnn_graph *g, const char *name, int x,
                               const clnn_graph_rnn_options *o, int *out, int *h_n, int *c_n) {
  return rnn_add(g, &clnn__op_lstm, "clnn_graph_lstm_ex", name, x, o, out, h_n, c_n);
}

clnn_status clnn_graph_gru_ex(clnn_graph *g, const char *name, int x,
                              const clnn_graph_rnn_options *o, int *out, int *h_n) {
  return rnn_add(g, &clnn__op_gru, "clnn_graph_gru_ex", name, x, o, out, h_n, NULL);
}

clnn_status clnn_graph_lstm(clnn_graph *g, const char *name, int x, int hidden,
                            int return_sequences, int *out) {
  const char *fn = "clnn_graph_lstm";
  if (!g || !out) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: graph or out is NULL", fn);
  int ia[CLNN__G_IATTRS] = {hidden, return_sequences ? 1 : 0};
  return clnn__g_add_node(&g->g, &clnn__op_lstm, name, 1, &x, ia, NULL, -1, out, fn);
}

clnn_status clnn_graph_gru(clnn_graph *g, const char *name, int x, int hidden,
                           int return_sequences, int *out) {
  const char *fn = "clnn_graph_gru";
  if (!g || !out) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: graph or out is NULL", fn);
  int ia[CLNN__G_IATTRS] = {hidden, return_sequences ? 1 : 0};
  return clnn__g_add_node(&g->g, &clnn__op_gru, name, 1, &x, ia, NULL, -1, out, fn);
}
