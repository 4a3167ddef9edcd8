/* tests/api_misuse_lstm.c — the API-misuse rows of the LSTM's sequence options: the operators
 * clnn_lstm_forward_ex / clnn_lstm_backward_ex (lengths, reverse) and the graph node
 * clnn_graph_lstm_ex (lengths, initial state, state outputs, bidirectional). Not a test of its
 * own: tests/test_api_misuse.c includes it, so the rows use that file's macros (ROW, VROW),
 * watched tensors and coverage check. */

/* A graph row: the graph keeps its values (nothing added), *out untouched, and the message names
 * `needle`. */
#define LROW(fn, what, want, needle, call)                                                      \
  do {                                                                                          \
    int nv_ = clnn_graph_num_values(g);                                                         \
    o = -7;                                                                                     \
    ROW(fn, what, want, call);                                                                  \
    TU_CHECK(clnn_graph_num_values(g) == nv_ && o == -7, "%s (%s): the graph changed", #fn,   \
             what);                                                                             \
    TU_CHECK(strstr(clnn_last_error(), needle) != NULL, "%s (%s): the message does not name "   \
             "'%s': %s", #fn, what, needle, clnn_last_error());                                 \
  } while (0)

static void lstm_sequence_options(void) {
  /* operators: x [2, 2, 4], H = 3 */
  size_t res_n = clnn_lstm_reserve_numel(2, 2, 3);
  clnn_tensor *lx = T(ctx, 2, 2, 4), *wih = T(ctx, 12, 4), *whh = T(ctx, 12, 3), *lb = T(ctx, 12);
  clnn_tensor *ly = T(ctx, 2, 2, 3), *res = W(ctx, 1, &res_n), *dx = T(ctx, 2, 2, 4);
  clnn_tensor *dwih = T(ctx, 12, 4), *dwhh = T(ctx, 12, 3), *db = T(ctx, 12);
  const int32_t lens_long[2] = {3, 1}, lens_zero[2] = {2, 0};
  clnn_rnn_params lp;
  clnn_rnn_params_init(&lp);
  lp.lengths = lens_long, lp.num_lengths = 2;
  ROW(clnn_lstm_forward_ex, "lengths[0] > T", INV,
      clnn_lstm_forward_ex(ctx, &lp, lx, wih, whh, lb, NULL, NULL, ly, NULL, NULL, res));
  lp.lengths = lens_zero;
  ROW(clnn_lstm_forward_ex, "a length of 0", INV,
      clnn_lstm_forward_ex(ctx, &lp, lx, wih, whh, lb, NULL, NULL, ly, NULL, NULL, res));
  ROW(clnn_lstm_forward_ex, "ctx NULL", INV,
      clnn_lstm_forward_ex(NULL, NULL, lx, wih, whh, lb, NULL, NULL, ly, NULL, NULL, res));
  lp.num_lengths = 1;
  ROW(clnn_lstm_backward_ex, "num_lengths differs from N", INV,
      clnn_lstm_backward_ex(ctx, &lp, lx, wih, whh, NULL, NULL, ly, res, ly, NULL, NULL, 0, dx, dwih,
                            dwhh, db, NULL, NULL));
  clnn_rnn_params lr;
  clnn_rnn_params_init(&lr);
  lr.reverse = 3;
  ROW(clnn_lstm_backward_ex, "reverse 3", INV,
      clnn_lstm_backward_ex(ctx, &lr, lx, wih, whh, NULL, NULL, ly, res, ly, NULL, NULL, 0, dx, dwih,
                            dwhh, db, NULL, NULL));
  VROW(clnn_rnn_params_init, "NULL is a no-op", clnn_rnn_params_init(NULL), 1);
  /* struct_size (docs/ABI.md): 0 and a newer, larger layout are refused, naming the _init */
  clnn_rnn_params_init(&lr);
  VROW(clnn_rnn_params_init, "sets struct_size", , lr.struct_size == sizeof lr);
  const uint32_t lsz[2] = {0, (uint32_t)sizeof lr + 8};
  for (int b = 0; b < 2; b++) {
    lr.struct_size = lsz[b];
    ROW(clnn_lstm_forward_ex, "bad struct_size", INV,
        clnn_lstm_forward_ex(ctx, &lr, lx, wih, whh, lb, NULL, NULL, ly, NULL, NULL, res));
    TU_CHECK(strstr(clnn_last_error(), "clnn_rnn_params_init") != NULL,
             "the message names clnn_rnn_params_init: %s", clnn_last_error());
    ROW(clnn_lstm_backward_ex, "bad struct_size", INV,
        clnn_lstm_backward_ex(ctx, &lr, lx, wih, whh, NULL, NULL, ly, res, ly, NULL, NULL, 0, dx,
                              dwih, dwhh, db, NULL, NULL));
  }

  /* graph node: sq [4, 3] (a sequence), v [5] */
  clnn_graph *g = NULL;
  int o = -7, sq = -1, v = -1;
  size_t seqd[2] = {4, 3}, vec[1] = {5};
  TU_OK(clnn_graph_create(&g));
  if (!g) return;
  TU_OK(clnn_graph_input(g, "sq", CLNN_FLOAT32, 2, seqd, &sq));
  TU_OK(clnn_graph_input(g, "v", CLNN_FLOAT32, 1, vec, &v));
  clnn_graph_rnn_options lo;
  VROW(clnn_graph_rnn_options_init, "NULL is a no-op", clnn_graph_rnn_options_init(NULL), 1);
  clnn_graph_rnn_options_init(&lo);
  lo.hidden = 4;
  lo.struct_size = 0;
  LROW(clnn_graph_lstm_ex, "struct_size 0", INV, "clnn_graph_rnn_options_init",
       clnn_graph_lstm_ex(g, "lx", sq, &lo, &o, NULL, NULL));
  lo.struct_size = (uint32_t)sizeof lo + 8;
  LROW(clnn_graph_lstm_ex, "struct_size of a newer layout", INV, "clnn_graph_rnn_options_init",
       clnn_graph_lstm_ex(g, "lx", sq, &lo, &o, NULL, NULL));
  lo.struct_size = (uint32_t)sizeof lo;
  LROW(clnn_graph_lstm_ex, "options NULL", INV, "options",
       clnn_graph_lstm_ex(g, "lx", sq, NULL, &o, NULL, NULL));
  ROW(clnn_graph_lstm_ex, "graph NULL", INV, clnn_graph_lstm_ex(NULL, "lx", sq, &lo, &o, NULL, NULL));
  lo.h0 = v;
  LROW(clnn_graph_lstm_ex, "h0 without c0", INV, "c0",
       clnn_graph_lstm_ex(g, "lx", sq, &lo, &o, NULL, NULL));
  lo.c0 = v;
  LROW(clnn_graph_lstm_ex, "h0 [5], not [hidden]", SHAPE, "lx_h0",
       clnn_graph_lstm_ex(g, "lx_h0", sq, &lo, &o, NULL, NULL));
  lo.h0 = lo.c0 = -1;
  lo.lengths = v;
  LROW(clnn_graph_lstm_ex, "float lengths", SHAPE, "lengths",
       clnn_graph_lstm_ex(g, "lx_len", sq, &lo, &o, NULL, NULL));
  lo.lengths = 99;
  LROW(clnn_graph_lstm_ex, "lengths 99", INV, "lx_99",
       clnn_graph_lstm_ex(g, "lx_99", sq, &lo, &o, NULL, NULL));
  lo.lengths = -1;
  lo.state_outputs = 1;
  LROW(clnn_graph_lstm_ex, "state_outputs without h_n", INV, "h_n",
       clnn_graph_lstm_ex(g, "lx", sq, &lo, &o, NULL, NULL));
  lo.state_outputs = 0;
  lo.bidirectional = 3;
  LROW(clnn_graph_lstm_ex, "bidirectional 3", INV, "bidirectional",
       clnn_graph_lstm_ex(g, "lx_bi", sq, &lo, &o, NULL, NULL));
  lo.bidirectional = 0;
  lo.hidden = 0;
  LROW(clnn_graph_lstm_ex, "hidden 0", INV, "hidden",
       clnn_graph_lstm_ex(g, "lx_h", sq, &lo, &o, NULL, NULL));
  /* the GRU node takes the same options */
  clnn_graph_rnn_options_init(&lo);
  lo.hidden = 4;
  lo.struct_size = 0;
  LROW(clnn_graph_gru_ex, "struct_size 0", INV, "clnn_graph_rnn_options_init",
       clnn_graph_gru_ex(g, "gx", sq, &lo, &o, NULL));
  lo.struct_size = (uint32_t)sizeof lo;
  LROW(clnn_graph_gru_ex, "options NULL", INV, "options",
       clnn_graph_gru_ex(g, "gx", sq, NULL, &o, NULL));
  ROW(clnn_graph_gru_ex, "graph NULL", INV, clnn_graph_gru_ex(NULL, "gx", sq, &lo, &o, NULL));
  lo.c0 = v;
  LROW(clnn_graph_gru_ex, "c0 set (a GRU has no cell state)", INV, "c0",
       clnn_graph_gru_ex(g, "gx", sq, &lo, &o, NULL));
  lo.c0 = -1;
  lo.h0 = v;
  LROW(clnn_graph_gru_ex, "h0 [5], not [hidden]", SHAPE, "gx_h0",
       clnn_graph_gru_ex(g, "gx_h0", sq, &lo, &o, NULL));
  lo.h0 = -1;
  lo.lengths = v;
  LROW(clnn_graph_gru_ex, "float lengths", SHAPE, "lengths",
       clnn_graph_gru_ex(g, "gx_len", sq, &lo, &o, NULL));
  lo.lengths = -1;
  lo.state_outputs = 1;
  LROW(clnn_graph_gru_ex, "state_outputs without h_n", INV, "h_n",
       clnn_graph_gru_ex(g, "gx", sq, &lo, &o, NULL));
  lo.state_outputs = 0;
  lo.bidirectional = 2;
  LROW(clnn_graph_gru_ex, "bidirectional 2", INV, "bidirectional",
       clnn_graph_gru_ex(g, "gx_bi", sq, &lo, &o, NULL));
  clnn_graph_destroy(g);
}
#undef LROW
