/* clnn_seq.h — the sequence operators of clnn: LSTM and GRU (lengths, state, reverse
 * direction), embedding, layer and RMS normalisation, scaled dot-product attention; forward and
 * backward. Part of the public API: clnn.h includes it, and including it alone includes clnn.h.
 * The conventions at the top of clnn.h hold here too. */
#include "clnn.h" /* first: clnn.h includes this header after its own declarations */

#ifndef CLNN_SEQ_H
#define CLNN_SEQ_H

#ifdef __cplusplus
extern "C" {
#endif

/* ============================================================================================== */
/* LSTM (src/ops/lstm.c)                                                                          */
/* ============================================================================================== */

/* Fused gates for one step. gates [N, 4H] holds the pre-activations in the order i, f, g, o;
 * c_prev [N, H]. c = sigmoid(f)*c_prev + sigmoid(i)*tanh(g); h = sigmoid(o)*tanh(c). */
clnn_status clnn_lstm_gates_forward(clnn_context *ctx, const clnn_tensor *gates,
                                    const clnn_tensor *c_prev, clnn_tensor *c, clnn_tensor *h);
/* From dh (and dc from the next step, may be NULL) computes dgates [N, 4H] (overwritten) and
 * dc_prev [N, H] (overwritten). */
clnn_status clnn_lstm_gates_backward(clnn_context *ctx, const clnn_tensor *gates,
                                     const clnn_tensor *c_prev, const clnn_tensor *c,
                                     const clnn_tensor *dh, const clnn_tensor *dc,
                                     clnn_tensor *dgates, clnn_tensor *dc_prev);

/* One LSTM layer over a sequence: x [T, N, I], w_ih [4H, I], w_hh [4H, H], bias [4H] (may be
 * NULL), h0/c0 [N, H] (may be NULL: zeros). Writes y [T, N, H] (every h_t), h_n/c_n [N, H] (may
 * be NULL) and `reserve` (clnn_lstm_reserve_numel floats, a 1-D tensor), which backward needs. */
size_t clnn_lstm_reserve_numel(size_t seq_len, size_t batch, size_t hidden);
clnn_status clnn_lstm_forward(clnn_context *ctx, const clnn_tensor *x, const clnn_tensor *w_ih,
                              const clnn_tensor *w_hh, const clnn_tensor *bias,
                              const clnn_tensor *h0, const clnn_tensor *c0, clnn_tensor *y,
                              clnn_tensor *h_n, clnn_tensor *c_n, clnn_tensor *reserve);
/* Backward through time. dy [T, N, H] and dh_n/dc_n [N, H] may each be NULL (zero). Gradient
 * outputs dx, dw_ih, dw_hh, dbias, dh0, dc0 may each be NULL (not computed); they take beta. */
clnn_status clnn_lstm_backward(clnn_context *ctx, const clnn_tensor *x, const clnn_tensor *w_ih,
                               const clnn_tensor *w_hh, const clnn_tensor *h0,
                               const clnn_tensor *c0, const clnn_tensor *y,
                               const clnn_tensor *reserve, const clnn_tensor *dy,
                               const clnn_tensor *dh_n, const clnn_tensor *dc_n, float beta,
                               clnn_tensor *dx, clnn_tensor *dw_ih, clnn_tensor *dw_hh,
                               clnn_tensor *dbias, clnn_tensor *dh0, clnn_tensor *dc0);

/* Sequence options of the recurrent layers, shared by the LSTM (clnn_lstm_forward_ex /
 * clnn_lstm_backward_ex) and the GRU (clnn_gru_forward / clnn_gru_backward); backward must get
 * the same ones as the forward it follows. */
typedef struct clnn_rnn_params {
  uint32_t struct_size;   /* sizeof(clnn_rnn_params): clnn_rnn_params_init sets it */
  const int32_t *lengths; /* NULL, or N host sequence lengths in [1, T]: sample n has steps
                             0..lengths[n]-1; y is zero at later steps, which take no part in the
                             state or any gradient (dy there is ignored, dx there is zero; x
                             there must be finite, as it meets zero gradients), and
                             h_n/c_n (dh_n/dc_n) belong to the sample's last step. Copied before
                             the call returns. */
  size_t num_lengths;     /* entries in `lengths` (must be N when lengths is set) */
  int reverse;            /* 0 or 1: the reverse direction of a bidirectional layer: sample n runs
                             from step lengths[n]-1 (T-1 without lengths) down to step 0, starting
                             from h0 (and c0), and h_n (c_n) is its state after step 0 */
} clnn_rnn_params;

/* struct_size set, no lengths, forward direction. NULL is a no-op. */
void clnn_rnn_params_init(clnn_rnn_params *p);
/* clnn_lstm_forward / clnn_lstm_backward with sequence options (p NULL: as those). Bad lengths
 * (num_lengths != N, a length outside [1, T]) or reverse are CLNN_ERROR_INVALID_ARGUMENT naming
 * the field, before anything is written. */
clnn_status clnn_lstm_forward_ex(clnn_context *ctx, const clnn_rnn_params *p,
                                 const clnn_tensor *x, const clnn_tensor *w_ih,
                                 const clnn_tensor *w_hh, const clnn_tensor *bias,
                                 const clnn_tensor *h0, const clnn_tensor *c0, clnn_tensor *y,
                                 clnn_tensor *h_n, clnn_tensor *c_n, clnn_tensor *reserve);
clnn_status clnn_lstm_backward_ex(clnn_context *ctx, const clnn_rnn_params *p,
                                  const clnn_tensor *x, const clnn_tensor *w_ih,
                                  const clnn_tensor *w_hh, const clnn_tensor *h0,
                                  const clnn_tensor *c0, const clnn_tensor *y,
                                  const clnn_tensor *reserve, const clnn_tensor *dy,
                                  const clnn_tensor *dh_n, const clnn_tensor *dc_n, float beta,
                                  clnn_tensor *dx, clnn_tensor *dw_ih, clnn_tensor *dw_hh,
                                  clnn_tensor *dbias, clnn_tensor *dh0, clnn_tensor *dc0);

/* ============================================================================================== */
/* GRU (src/ops/gru.c)                                                                            */
/* ============================================================================================== */

/* One GRU layer over a sequence, PyTorch's nn.GRU equations and weight layout (gate rows in the
 * order r, z, n):
 *   r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)      z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
 *   n = tanh(W_in x + b_in + r * (W_hn h + b_hn))   h' = (1 - z) * n + z * h
 * (b_hn inside the reset product: ONNX's linear_before_reset = 1). x [T, N, I] (time-major, as
 * the LSTM), w_ih [3H, I], w_hh [3H, H], b_ih/b_hh [3H] (each may be NULL: zeros), h0 [N, H]
 * (may be NULL: zeros).
 * p: NULL (every sample runs all T steps, forward direction) or clnn_rnn_params (lengths,
 * reverse; bad ones are CLNN_ERROR_INVALID_ARGUMENT naming the field, before anything is written).
 * With p->lengths, sample n runs steps 0 .. lengths[n]-1 only: y[t, n, :] is zero for
 * t >= lengths[n], and the state is carried unchanged past its end, so h_n[n] is the state
 * after step lengths[n]-1.
 * x past a sample's length does not change y or h_n but must be finite (in backward it meets
 * zero gradients in dw_ih, and 0 * inf is NaN); dx there is zero.
 * p->reverse: 0, or 1 for the reverse direction of a bidirectional GRU: sample n runs from position
 * lengths[n]-1 (T-1 without lengths) down to 0, starting from h0; y stays indexed by position and
 * h_n is the state after position 0.
 * Writes y [T, N, H], h_n [N, H] (may be NULL; may be h0 to carry state across calls) and
 * `reserve` (at least clnn_gru_reserve_numel floats, any shape), which backward needs. */
size_t clnn_gru_reserve_numel(size_t seq_len, size_t batch, size_t hidden);
clnn_status clnn_gru_forward(clnn_context *ctx, const clnn_rnn_params *p, const clnn_tensor *x,
                             const clnn_tensor *w_ih, const clnn_tensor *w_hh,
                             const clnn_tensor *b_ih, const clnn_tensor *b_hh,
                             const clnn_tensor *h0, clnn_tensor *y, clnn_tensor *h_n,
                             clnn_tensor *reserve);
/* Backward through time, with the p, x, w_ih, w_hh, h0 and reserve of the forward
 * (the biases are not needed). dy [T, N, H] and dh_n [N, H] may each be NULL (zero); dy past a
 * sample's length is ignored (those outputs are constant zeros). Gradient outputs dx [T, N, I],
 * dw_ih, dw_hh, db_ih, db_hh, dh0 [N, H] may each be NULL (not computed); each is
 * beta * old + gradient (beta 0 overwrites). dh0 may be dh_n. */
clnn_status clnn_gru_backward(clnn_context *ctx, const clnn_rnn_params *p, const clnn_tensor *x,
                              const clnn_tensor *w_ih, const clnn_tensor *w_hh,
                              const clnn_tensor *h0, const clnn_tensor *reserve,
                              const clnn_tensor *dy, const clnn_tensor *dh_n, float beta,
                              clnn_tensor *dx, clnn_tensor *dw_ih, clnn_tensor *dw_hh,
                              clnn_tensor *db_ih, clnn_tensor *db_hh, clnn_tensor *dh0);

/* ============================================================================================== */
/* Embedding (src/ops/embedding.c)                                                                */
/* ============================================================================================== */

/* y[i, :] = table[ids[i], :] for the num_ids (>= 1) host ids, int32 in [0, V), with table [V, D].
 * y holds num_ids rows of D: numel num_ids*D and last dimension D ([num_ids, D], [N, T, D], ...).
 * An id outside [0, V) is CLNN_ERROR_INVALID_ARGUMENT naming its position, found before anything
 * is written. The ids are copied before the call returns: the caller may reuse them at once. */
clnn_status clnn_embedding_forward(clnn_context *ctx, const clnn_tensor *table, const int32_t *ids,
                                   size_t num_ids, clnn_tensor *y);
/* dtable = beta*dtable + the scatter-add of dy's rows: row v gets the sum of the rows dy[i, :]
 * with ids[i] == v (rows of ids that do not occur get beta*dtable). dy shaped as y above.
 * Deterministic without atomics: the ids are sorted on the host and each distinct id's rows are
 * summed in increasing position i, so the result repeats bit for bit. */
clnn_status clnn_embedding_backward(clnn_context *ctx, const int32_t *ids, size_t num_ids,
                                    const clnn_tensor *dy, float beta, clnn_tensor *dtable);

/* ============================================================================================== */
/* Layer and RMS normalisation (src/ops/layernorm.c)                                              */
/* ============================================================================================== */

/* Over the last dimension D of x (1 to 5 dimensions, R = numel/D rows):
 * y = (x - mean) * rstd * weight + bias per row, rstd = 1/sqrt(biased variance + eps). weight and
 * bias are [D] and may each be NULL (1 and 0). save_mean and save_rstd hold R elements each (any
 * shape, e.g. [R] or x's dims without the last) and receive what backward needs; both may be
 * NULL (no backward). y may be x (in place). eps finite and > 0. */
clnn_status clnn_layernorm_forward(clnn_context *ctx, const clnn_tensor *x,
                                   const clnn_tensor *weight, const clnn_tensor *bias, float eps,
                                   clnn_tensor *y, clnn_tensor *save_mean, clnn_tensor *save_rstd);
/* dx = beta*dx + dL/dx; dweight = beta*dweight + sum over rows of dy * xhat; dbias = beta*dbias +
 * sum over rows of dy, with xhat = (x - mean) * rstd from save_mean/save_rstd as the forward wrote
 * them. weight NULL means 1; dweight and dbias may be NULL (not computed). dx may be x or dy (in
 * place). Every sum has a fixed order: results repeat bit for bit. */
clnn_status clnn_layernorm_backward(clnn_context *ctx, const clnn_tensor *x, const clnn_tensor *dy,
                                    const clnn_tensor *weight, const clnn_tensor *save_mean,
                                    const clnn_tensor *save_rstd, float beta, clnn_tensor *dx,
                                    clnn_tensor *dweight, clnn_tensor *dbias);
/* RMS norm over the last dimension: y = x * rstd * weight, rstd = 1/sqrt(mean(x^2) + eps) per row;
 * weight [D] may be NULL (1); save_rstd (R elements) may be NULL. y may be x. */
clnn_status clnn_rmsnorm_forward(clnn_context *ctx, const clnn_tensor *x, const clnn_tensor *weight,
                                 float eps, clnn_tensor *y, clnn_tensor *save_rstd);
/* dx = beta*dx + dL/dx, dweight = beta*dweight + sum over rows of dy * x * rstd (dweight may be
 * NULL). dx may be x or dy. */
clnn_status clnn_rmsnorm_backward(clnn_context *ctx, const clnn_tensor *x, const clnn_tensor *dy,
                                  const clnn_tensor *weight, const clnn_tensor *save_rstd,
                                  float beta, clnn_tensor *dx, clnn_tensor *dweight);

/* ============================================================================================== */
/* Scaled dot-product attention (src/ops/attention.c)                                             */
/* ============================================================================================== */

typedef enum clnn_attention_layout {
  CLNN_ATTENTION_BHTD = 0, /* q [B, H, Tq, Dh]; k, v [B, H, Tk, Dh]; o like q */
  CLNN_ATTENTION_BTHD = 1  /* q [B, Tq, H*Dh]; k, v [B, Tk, H*Dh] (the heads side by side, as a
                              dense layer writes them: no transposes needed); o like q */
} clnn_attention_layout;

typedef struct clnn_attention_params {
  uint32_t struct_size; /* = sizeof(clnn_attention_params), set by clnn_attention_params_init */
  clnn_attention_layout layout;
  int heads;              /* H: >= 1 and dividing the last dimension for BTHD; 0 or dims[1] for
                             BHTD */
  float scale;            /* scores = scale * q.k; 0 means 1/sqrt(Dh); finite and >= 0 */
  int causal;             /* 1: query i sees keys j <= i + Tk - Tq (the queries are the last Tq
                             positions: j <= i when Tk == Tq); needs Tk >= Tq */
  const int32_t *lengths; /* NULL, or B host key lengths in [1, Tk]: keys j >= lengths[b] are
                             masked for batch b (key padding); copied before the call returns;
                             num_lengths (below) says how many there are */
  float dropout;          /* probability of dropping an attention weight, in [0, 1) */
  uint64_t seed, offset;  /* dropout stream, as clnn_dropout_*: weight (b, h, i, j) uses element
                             offset + ((b*H + h)*Tq + i)*Tk + j, so backward regenerates the mask;
                             advance offset by B*H*Tq*Tk per call for fresh masks */
  size_t num_lengths;     /* entries in `lengths` (must be B when lengths is set; ignored when
                             it is NULL): checked before any is read (since 0.2) */
} clnn_attention_params;

/* struct_size = sizeof(clnn_attention_params), layout BHTD, heads 0, scale 0, no mask, no
 * dropout. NULL is a no-op. */
void clnn_attention_params_init(clnn_attention_params *p);

/* o = dropout(softmax(scale * q k^T + mask)) v per batch and head. lse (B*H*Tq elements, e.g.
 * [B, H, Tq]; may be NULL when no backward follows) receives each query row's log-sum-exp of the
 * masked scaled scores, which backward needs. Tiled (FlashAttention-style online softmax): memory
 * is O(B*H*T*Dh), the [Tq, Tk] weights are never stored; deterministic. Dh <= 128
 * (CLNN_ERROR_UNSUPPORTED above). o must not share a buffer with q, k, v or lse. */
clnn_status clnn_attention_forward(clnn_context *ctx, const clnn_attention_params *p,
                                   const clnn_tensor *q, const clnn_tensor *k,
                                   const clnn_tensor *v, clnn_tensor *o, clnn_tensor *lse);
/* Gradients from dout (shaped as q) with the same params, the forward's o and lse:
 * dq = beta*dq + dL/dq, dk and dv likewise (each may be NULL: not computed). Deterministic, no
 * atomics; recomputes the weights tile by tile. Outputs must be distinct from every input. */
clnn_status clnn_attention_backward(clnn_context *ctx, const clnn_attention_params *p,
                                    const clnn_tensor *q, const clnn_tensor *k,
                                    const clnn_tensor *v, const clnn_tensor *o,
                                    const clnn_tensor *lse, const clnn_tensor *dout, float beta,
                                    clnn_tensor *dq, clnn_tensor *dk, clnn_tensor *dv);

#ifdef __cplusplus
}
#endif

#endif /* CLNN_SEQ_H */
