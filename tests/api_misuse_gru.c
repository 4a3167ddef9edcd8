/* tests/api_misuse_gru.c — the API-misuse rows of the GRU operators (clnn_gru_*). Not a test of
 * its own: tests/test_api_misuse.c includes it, so the rows use that file's macros, counters and
 * coverage check. */

static void gru_ops(void) {
  /* T = 2, N = 2, I = 4, H = 3 */
  const int32_t lens[2] = {2, 1}, long_len[2] = {3, 1}, zero_len[2] = {1, 0};
  size_t res_n = clnn_gru_reserve_numel(2, 2, 3);
  VROW(clnn_gru_reserve_numel, "zero sizes", , clnn_gru_reserve_numel(0, 0, 0) == 0);
  VROW(clnn_gru_reserve_numel, "overflowing sizes", , clnn_gru_reserve_numel(SIZE_MAX / 2, 4, 4) == 0);
  clnn_tensor *x = T(ctx, 2, 2, 4), *wih = T(ctx, 9, 4), *whh = T(ctx, 9, 3), *b = T(ctx, 9);
  clnn_tensor *y = T(ctx, 2, 2, 3), *hn = T(ctx, 2, 3), *res = W(ctx, 1, &res_n), *small = T(ctx, 3);
  clnn_tensor *wih5 = T(ctx, 9, 5), *wih8 = T(ctx, 8, 4), *x2 = T(ctx, 4, 4), *h4 = T(ctx, 2, 4);
  clnn_tensor *dx = T(ctx, 2, 2, 4), *dwih = T(ctx, 9, 4), *dwhh = T(ctx, 9, 3), *db = T(ctx, 9);
  clnn_tensor *db2 = T(ctx, 9), *dh0 = T(ctx, 2, 3), *b8 = T(ctx, 8);
  ROW(clnn_gru_forward, "ctx NULL", INV, clnn_gru_forward(NULL, NULL, x, wih, whh, b, b, NULL, y, hn, res));
  ROW(clnn_gru_forward, "x NULL", INV, clnn_gru_forward(ctx, NULL, NULL, wih, whh, b, b, NULL, y, hn, res));
  ROW(clnn_gru_forward, "y NULL", INV, clnn_gru_forward(ctx, NULL, x, wih, whh, b, b, NULL, NULL, hn, res));
  ROW(clnn_gru_forward, "x 2-D", SHAPE, clnn_gru_forward(ctx, NULL, x2, wih, whh, b, b, NULL, y, hn, res));
  ROW(clnn_gru_forward, "w_ih rows not 3H", SHAPE, clnn_gru_forward(ctx, NULL, x, wih8, whh, b, b, NULL, y, hn, res));
  ROW(clnn_gru_forward, "w_ih inputs differ from x", SHAPE,
      clnn_gru_forward(ctx, NULL, x, wih5, whh, b, b, NULL, y, hn, res));
  ROW(clnn_gru_forward, "b_hh length differs", SHAPE, clnn_gru_forward(ctx, NULL, x, wih, whh, b, b8, NULL, y, hn, res));
  ROW(clnn_gru_forward, "h0 shape differs", SHAPE, clnn_gru_forward(ctx, NULL, x, wih, whh, b, b, h4, y, hn, res));
  ROW(clnn_gru_forward, "reserve too small", SHAPE, clnn_gru_forward(ctx, NULL, x, wih, whh, b, b, NULL, y, hn, small));
  ROW(clnn_gru_forward, "a length > T", INV, clnn_gru_forward(ctx, RNN_P(long_len, 2, 0), x, wih, whh, b, b, NULL, y, hn, res));
  ROW(clnn_gru_forward, "a length 0", INV, clnn_gru_forward(ctx, RNN_P(zero_len, 2, 0), x, wih, whh, b, b, NULL, y, hn, res));
  ROW(clnn_gru_forward, "reverse 2", INV, clnn_gru_forward(ctx, RNN_P(NULL, 0, 2), x, wih, whh, b, b, NULL, y, hn, res));
  ROW(clnn_gru_forward, "num_lengths != N", INV, clnn_gru_forward(ctx, RNN_P(lens, 1, 0), x, wih, whh, b, b, NULL, y, hn, res));
  ROW(clnn_gru_forward, "w_hh from another context", CTXM,
      clnn_gru_forward(ctx, NULL, x, wih, T(other, 9, 3), b, b, NULL, y, hn, res));
  ROW(clnn_gru_backward, "ctx NULL", INV,
      clnn_gru_backward(NULL, RNN_P(lens, 2, 0), x, wih, whh, NULL, res, y, hn, 0, dx, dwih, dwhh, db, db2, dh0));
  ROW(clnn_gru_backward, "reserve NULL", INV,
      clnn_gru_backward(ctx, RNN_P(lens, 2, 0), x, wih, whh, NULL, NULL, y, hn, 0, dx, dwih, dwhh, db, db2, dh0));
  ROW(clnn_gru_backward, "dw_ih shape differs", SHAPE,
      clnn_gru_backward(ctx, RNN_P(lens, 2, 0), x, wih, whh, NULL, res, y, hn, 0, dx, wih5, dwhh, db, db2, dh0));
  ROW(clnn_gru_backward, "db_ih length differs", SHAPE,
      clnn_gru_backward(ctx, RNN_P(lens, 2, 0), x, wih, whh, NULL, res, y, hn, 0, dx, dwih, dwhh, b8, db2, dh0));
  ROW(clnn_gru_backward, "dh0 shape differs", SHAPE,
      clnn_gru_backward(ctx, RNN_P(lens, 2, 0), x, wih, whh, NULL, res, y, hn, 0, dx, dwih, dwhh, db, db2, h4));
  ROW(clnn_gru_backward, "a length > T", INV,
      clnn_gru_backward(ctx, RNN_P(long_len, 2, 0), x, wih, whh, NULL, res, y, hn, 0, dx, dwih, dwhh, db, db2, dh0));
  ROW(clnn_gru_backward, "reverse -1", INV,
      clnn_gru_backward(ctx, RNN_P(lens, 2, -1), x, wih, whh, NULL, res, y, hn, 0, dx, dwih, dwhh, db, db2, dh0));
  ROW(clnn_gru_backward, "num_lengths != N", INV,
      clnn_gru_backward(ctx, RNN_P(lens, 3, 0), x, wih, whh, NULL, res, y, hn, 0, dx, dwih, dwhh, db, db2, dh0));
  ROW(clnn_gru_backward, "db_ih and db_hh the same tensor", INV,
      clnn_gru_backward(ctx, RNN_P(lens, 2, 0), x, wih, whh, NULL, res, y, hn, 0, dx, dwih, dwhh, db, db, dh0));
  ROW(clnn_gru_backward, "beta NaN", INV,
      clnn_gru_backward(ctx, RNN_P(lens, 2, 0), x, wih, whh, NULL, res, y, hn, NAN, dx, dwih, dwhh, db, db2, dh0));
  ROW(clnn_gru_backward, "dx from another context", CTXM,
      clnn_gru_backward(ctx, RNN_P(lens, 2, 0), x, wih, whh, NULL, res, y, hn, 0, T(other, 2, 2, 4), dwih, dwhh, db, db2, dh0));
}
