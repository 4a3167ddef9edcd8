/* tests/oclgrind_gru.c — the GRU section of tests/test_oclgrind_kernels.c (which includes it and
 * whose tensor helpers, CASE and release_all it uses): every kernel of cl/gru.cl on tiny shapes,
 * with and without biases, initial state and per-sample lengths, beta 0 and 1, T = 1 without h0
 * (dW_hh only scaled), and the reverse direction. */

static void gru(clnn_context *ctx) {
  const size_t ls[][4] = {{1, 1, 1, 1}, {3, 2, 4, 5}, {1, 2, 3, 2}}; /* T, N, I, H */
  for (int i = 0; i < 3; i++) {
    size_t T = ls[i][0], N = ls[i][1], I = ls[i][2], H = ls[i][3], G = 3 * H;
    const int32_t lens[2] = {(int32_t)T, 1};
    clnn_tensor *x = R(ctx, T, N, I), *wih = R(ctx, G, I), *whh = R(ctx, G, H), *bi = R(ctx, G), *bh = R(ctx, G);
    clnn_tensor *h0 = R(ctx, N, H), *y = U(ctx, T, N, H), *hn = U(ctx, N, H);
    clnn_tensor *res = S(ctx, clnn_gru_reserve_numel(T, N, H));
    CASE(clnn_gru_forward(ctx, RNN_P(lens, N, 0), x, wih, whh, bi, bh, h0, y, hn, res));
    clnn_tensor *dy = R(ctx, T, N, H), *dhn = R(ctx, N, H);
    CASE(clnn_gru_backward(ctx, RNN_P(lens, N, 0), x, wih, whh, h0, res, dy, dhn, 0.0f, U(ctx, T, N, I), U(ctx, G, I),
                           U(ctx, G, H), U(ctx, G), U(ctx, G), U(ctx, N, H)));
    CASE(clnn_gru_backward(ctx, RNN_P(lens, N, 0), x, wih, whh, h0, res, dy, NULL, 1.0f, R(ctx, T, N, I), R(ctx, G, I),
                           R(ctx, G, H), R(ctx, G), R(ctx, G), NULL));
    /* zero initial state, no biases, no lengths, only the last state's gradient */
    clnn_tensor *y2 = U(ctx, T, N, H), *res2 = S(ctx, clnn_gru_reserve_numel(T, N, H));
    CASE(clnn_gru_forward(ctx, NULL, x, wih, whh, NULL, NULL, NULL, y2, NULL, res2));
    CASE(clnn_gru_backward(ctx, NULL, x, wih, whh, NULL, res2, NULL, dhn, 0.0f, U(ctx, T, N, I), U(ctx, G, I),
                           U(ctx, G, H), U(ctx, G), U(ctx, G), U(ctx, N, H)));
    /* the reverse direction, with lengths */
    clnn_tensor *y3 = U(ctx, T, N, H), *res3 = S(ctx, clnn_gru_reserve_numel(T, N, H));
    CASE(clnn_gru_forward(ctx, RNN_P(lens, N, 1), x, wih, whh, bi, bh, h0, y3, U(ctx, N, H), res3));
    CASE(clnn_gru_backward(ctx, RNN_P(lens, N, 1), x, wih, whh, h0, res3, dy, dhn, 0.0f, U(ctx, T, N, I), U(ctx, G, I),
                           U(ctx, G, H), U(ctx, G), U(ctx, G), U(ctx, N, H)));
    release_all();
  }
}
