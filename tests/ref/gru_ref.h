/* tests/ref/gru_ref.h — plain-C reference of the GRU layer (PyTorch's nn.GRU equations, gate
 * order r, z, n, b_hn inside the reset product), double precision, written independently of
 * cl/gru.cl and src/ops/gru.c: forward and backward through time with optional per-sample
 * lengths (the backward recomputes its own forward; it needs no reserve). */
#ifndef CLNN_GRU_REF_H
#define CLNN_GRU_REF_H

#include <stddef.h>
#include <stdint.h>

/* x [T, N, I], w_ih [3H, I], w_hh [3H, H], b_ih, b_hh [3H], h0 [N, H]; b_ih, b_hh, h0 may be NULL
 * (zeros); lengths NULL or N values in [1, T] (y is zero at t >= lengths[n] and the state stays).
 * Writes y [T, N, H] and h_n [N, H]; either may be NULL. */
void gru_ref_forward_d(size_t T, size_t N, size_t I, size_t H, const double *x, const double *w_ih,
                       const double *w_hh, const double *b_ih, const double *b_hh,
                       const double *h0, const int32_t *lengths, double *y, double *h_n);
/* Gradients of L = sum dy*y + sum dh_n*h_n (dy, dh_n NULL: zero) -> dx [T, N, I], dw_ih [3H, I],
 * dw_hh [3H, H], db_ih, db_hh [3H], dh0 [N, H], overwritten; each may be NULL. */
void gru_ref_backward_d(size_t T, size_t N, size_t I, size_t H, const double *x,
                        const double *w_ih, const double *w_hh, const double *b_ih,
                        const double *b_hh, const double *h0, const int32_t *lengths,
                        const double *dy, const double *dh_n, double *dx, double *dw_ih,
                        double *dw_hh, double *db_ih, double *db_hh, double *dh0);

#endif
