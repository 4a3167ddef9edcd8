/* tests/ref/lstm_ref.h — plain-C reference of the LSTM operators (gate order i, f, g, o as in
 * PyTorch), double precision throughout, written independently of cl/lstm.cl and
 * src/ops/lstm.c: the one-step gate cell forward and backward, and a full layer forward and
 * backward through time (which recomputes its own forward; it needs no reserve). */
#ifndef CLNN_LSTM_REF_H
#define CLNN_LSTM_REF_H

#include <stddef.h>

/* gates [N, 4H] pre-activations, c_prev [N, H] -> c, h [N, H]. */
void lstm_ref_gates_forward(size_t N, size_t H, const float *gates, const float *c_prev, float *c,
                            float *h);
/* Gradients of the cell: dh [N, H], dc [N, H] (NULL: zero) -> dgates [N, 4H], dc_prev [N, H]
 * (overwritten). The cell state is recomputed from gates and c_prev. */
void lstm_ref_gates_backward(size_t N, size_t H, const float *gates, const float *c_prev,
                             const float *dh, const float *dc, float *dgates, float *dc_prev);

/* Layer over a sequence, double in and out. x [T, N, I], w_ih [4H, I], w_hh [4H, H], bias [4H],
 * h0, c0 [N, H]; bias, h0, c0 may be NULL (zeros). Writes y [T, N, H] and h_n, c_n [N, H]; any
 * output may be NULL. */
void lstm_ref_forward_d(size_t T, size_t N, size_t I, size_t H, const double *x, const double *w_ih,
                        const double *w_hh, const double *bias, const double *h0, const double *c0,
                        double *y, double *h_n, double *c_n);
/* Backward through time: dy [T, N, H], dh_n, dc_n [N, H] (each NULL: zero) -> dx [T, N, I],
 * dw_ih [4H, I], dw_hh [4H, H], dbias [4H], dh0, dc0 [N, H], overwritten; each may be NULL. */
void lstm_ref_backward_d(size_t T, size_t N, size_t I, size_t H, const double *x,
                         const double *w_ih, const double *w_hh, const double *bias,
                         const double *h0, const double *c0, const double *dy, const double *dh_n,
                         const double *dc_n, double *dx, double *dw_ih, double *dw_hh,
                         double *dbias, double *dh0, double *dc0);

/* The same with float arrays (converted to double inside, results rounded to float). */
void lstm_ref_forward(size_t T, size_t N, size_t I, size_t H, const float *x, const float *w_ih,
                      const float *w_hh, const float *bias, const float *h0, const float *c0,
                      float *y, float *h_n, float *c_n);
void lstm_ref_backward(size_t T, size_t N, size_t I, size_t H, const float *x, const float *w_ih,
                       const float *w_hh, const float *bias, const float *h0, const float *c0,
                       const float *dy, const float *dh_n, const float *dc_n, float *dx,
                       float *dw_ih, float *dw_hh, float *dbias, float *dh0, float *dc0);

#endif
