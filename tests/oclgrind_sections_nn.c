/* tests/oclgrind_sections_nn.c — the later sections of tests/test_oclgrind_kernels.c (included
 * there, not built on its own): LSTM, optimizers, the bench kernels, whole networks, and the
 * sequence operators (embedding, layer and RMS norm, attention). They use that file's tensor pool
 * (R, U, S, CASE, release_all) and value record (record_or_compare). */
static void lstm(clnn_context *ctx) {
  const size_t gs[][2] = {{1, 1}, {3, 5}}; /* N, H */
  for (int i = 0; i < 2; i++) {
    size_t n = gs[i][0], h = gs[i][1];
    clnn_tensor *g = R(ctx, n, 4 * h), *cp = R(ctx, n, h), *c = U(ctx, n, h), *hh = U(ctx, n, h);
    CASE(clnn_lstm_gates_forward(ctx, g, cp, c, hh));
    CASE(clnn_lstm_gates_backward(ctx, g, cp, c, R(ctx, n, h), R(ctx, n, h), U(ctx, n, 4 * h), U(ctx, n, h)));
    CASE(clnn_lstm_gates_backward(ctx, g, cp, c, R(ctx, n, h), NULL, U(ctx, n, 4 * h), U(ctx, n, h)));
    release_all();
  }
  const size_t ls[][4] = {{1, 1, 1, 1}, {3, 2, 4, 5}, {1, 2, 3, 2}}; /* T, N, I, H */
  for (int i = 0; i < 3; i++) {
    size_t T = ls[i][0], N = ls[i][1], I = ls[i][2], H = ls[i][3];
    clnn_tensor *x = R(ctx, T, N, I), *wih = R(ctx, 4 * H, I), *whh = R(ctx, 4 * H, H), *b = R(ctx, 4 * H);
    clnn_tensor *h0 = R(ctx, N, H), *c0 = R(ctx, N, H);
    clnn_tensor *y = U(ctx, T, N, H), *hn = U(ctx, N, H), *cn = U(ctx, N, H);
    clnn_tensor *res = S(ctx, clnn_lstm_reserve_numel(T, N, H));
    CASE(clnn_lstm_forward(ctx, x, wih, whh, b, h0, c0, y, hn, cn, res));
    clnn_tensor *dy = R(ctx, T, N, H), *dhn = R(ctx, N, H), *dcn = R(ctx, N, H);
    CASE(clnn_lstm_backward(ctx, x, wih, whh, h0, c0, y, res, dy, dhn, dcn, 0.0f, U(ctx, T, N, I),
                            U(ctx, 4 * H, I), U(ctx, 4 * H, H), U(ctx, 4 * H), U(ctx, N, H), U(ctx, N, H)));
    CASE(clnn_lstm_backward(ctx, x, wih, whh, h0, c0, y, res, dy, NULL, NULL, 1.0f, R(ctx, T, N, I),
                            R(ctx, 4 * H, I), R(ctx, 4 * H, H), R(ctx, 4 * H), NULL, NULL));
    /* zero initial state, no bias, only the last state's gradient */
    clnn_tensor *y2 = U(ctx, T, N, H), *res2 = S(ctx, clnn_lstm_reserve_numel(T, N, H));
    CASE(clnn_lstm_forward(ctx, x, wih, whh, NULL, NULL, NULL, y2, NULL, NULL, res2));
    CASE(clnn_lstm_backward(ctx, x, wih, whh, NULL, NULL, y2, res2, NULL, dhn, NULL, 0.0f, U(ctx, T, N, I),
                            U(ctx, 4 * H, I), U(ctx, 4 * H, H), U(ctx, 4 * H), NULL, NULL));
    /* the reverse direction with per-sample lengths {T, 1} and initial state: steps past a length,
     * a start in the middle of the sequence and the gathered first-step rows */
    const int32_t lens[2] = {(int32_t)T, 1};
    clnn_rnn_params lp;
    clnn_rnn_params_init(&lp);
    lp.lengths = lens, lp.num_lengths = N, lp.reverse = 1;
    clnn_tensor *y3 = U(ctx, T, N, H), *res3 = S(ctx, clnn_lstm_reserve_numel(T, N, H));
    CASE(clnn_lstm_forward_ex(ctx, &lp, x, wih, whh, b, h0, c0, y3, U(ctx, N, H), U(ctx, N, H), res3));
    CASE(clnn_lstm_backward_ex(ctx, &lp, x, wih, whh, h0, c0, y3, res3, dy, dhn, dcn, 0.0f, U(ctx, T, N, I),
                               U(ctx, 4 * H, I), U(ctx, 4 * H, H), U(ctx, 4 * H), U(ctx, N, H), U(ctx, N, H)));
    release_all();
  }
}

static void optim(clnn_context *ctx) {
  const size_t ns[] = {1, 7, 300};
  for (int i = 0; i < 3; i++) {
    size_t n = ns[i];
    clnn_tensor *p = R(ctx, n), *g = R(ctx, n);
    clnn_sgd_params sgd = {(uint32_t)sizeof(clnn_sgd_params), 0.1f, 0.0f, 0.0f, 0.0f, 0, 0};
    CASE(clnn_sgd_step(ctx, &sgd, p, g, NULL));
    clnn_tensor *vel = U(ctx, n);
    sgd.momentum = 0.9f;
    sgd.weight_decay = 0.01f;
    sgd.first_step = 1; /* velocity is not read */
    CASE(clnn_sgd_step(ctx, &sgd, p, g, vel));
    sgd.first_step = 0;
    sgd.nesterov = 1;
    CASE(clnn_sgd_step(ctx, &sgd, p, g, vel));
    sgd.nesterov = 0;
    sgd.dampening = 0.5f;
    CASE(clnn_sgd_step(ctx, &sgd, p, g, vel));
    clnn_adam_params adam = {(uint32_t)sizeof(clnn_adam_params), 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 0};
    clnn_tensor *m = R(ctx, n), *v = RP(ctx, n);
    CASE(clnn_adam_step(ctx, &adam, 1, p, g, m, v));
    adam.decoupled_weight_decay = 1;
    CASE(clnn_adam_step(ctx, &adam, 2, p, g, m, v));
    clnn_rmsprop_params rms = {(uint32_t)sizeof(clnn_rmsprop_params), 1e-2f, 0.99f, 1e-8f, 0.0f, 0.0f};
    clnn_tensor *sq = RP(ctx, n);
    CASE(clnn_rmsprop_step(ctx, &rms, p, g, sq, NULL));
    rms.momentum = 0.9f;
    rms.weight_decay = 0.1f;
    CASE(clnn_rmsprop_step(ctx, &rms, p, g, sq, R(ctx, n)));
    clnn_adagrad_params ada = {(uint32_t)sizeof(clnn_adagrad_params), 1e-2f, 1e-10f, 0.1f};
    CASE(clnn_adagrad_step(ctx, &ada, p, g, RP(ctx, n)));
  }
  clnn_tensor *gr[3] = {R(ctx, 1), R(ctx, 7), R(ctx, 300)};
  float norm = 0;
  CASE(clnn_clip_grad_norm(ctx, gr, 3, 0.1f, &norm));
  CASE(clnn_clip_grad_norm(ctx, gr, 1, 100.0f, NULL));
  CASE(clnn_clip_grad_norm(ctx, gr + 2, 1, 0.0f, &norm));
  release_all();
}

/* cl/bench.cl (clnn-bench's peak measurement; not used by operators), launched directly. */
/* The kernels of cl/bench.cl (the clnn-bench peak kernels). */
static clnn__kernel_ref k_bench_copy1 = CLNN_KERNEL_REF("bench", "bench_copy1");
static clnn__kernel_ref k_bench_copy4 = CLNN_KERNEL_REF("bench", "bench_copy4");
static clnn__kernel_ref k_bench_copy16 = CLNN_KERNEL_REF("bench", "bench_copy16");
static clnn__kernel_ref k_bench_fma1 = CLNN_KERNEL_REF("bench", "bench_fma1");
static clnn__kernel_ref k_bench_fma4 = CLNN_KERNEL_REF("bench", "bench_fma4");
static clnn__kernel_ref k_bench_fma16 = CLNN_KERNEL_REF("bench", "bench_fma16");

static void bench_kernels(clnn_context *ctx) {
  clnn_tensor *a = R(ctx, 64), *b = S(ctx, 64);
  cl_mem am = clnn_tensor_cl_mem(a), bm = clnn_tensor_cl_mem(b);
  clnn__kernel_ref *fma[] = {&k_bench_fma1, &k_bench_fma4, &k_bench_fma16};
  const size_t items[] = {5, 3, 2}; /* floats per item 1, 4, 16: within 64 */
  for (int i = 0; i < 3; i++) {
    const size_t local = 1;
    CASE(CLNN_RUN(ctx, fma[i], 1, &items[i], &local, CLNN_ARG_MEM(bm), CLNN_ARG_INT(3),
                  CLNN_ARG_FLOAT(0.5f)));
  }
  size_t g = 61;
  CASE(CLNN_RUN(ctx, &k_bench_copy1, 1, &g, NULL, CLNN_ARG_MEM(am), CLNN_ARG_MEM(bm), CLNN_ARG_INT(61)));
  g = 16;
  CASE(CLNN_RUN(ctx, &k_bench_copy4, 1, &g, NULL, CLNN_ARG_MEM(am), CLNN_ARG_MEM(bm), CLNN_ARG_INT(15)));
  g = 2;
  CASE(CLNN_RUN(ctx, &k_bench_copy16, 1, &g, NULL, CLNN_ARG_MEM(am), CLNN_ARG_MEM(bm), CLNN_ARG_INT(3),
                CLNN_ARG_INT(2)));
  release_all();
}

/* Whole networks, one training step and a prediction each (the operators through the layers'
 * views and shared buffers). */
static void networks(clnn_context *ctx) {
  size_t in[3] = {1, 5, 5};
  clnn_net *net = NULL;
  TU_OK(clnn_net_create(ctx, 3, in, 7, &net));
  TU_OK(clnn_net_add_conv2d(net, 2, 3, 1, 1));
  TU_OK(clnn_net_add_batchnorm(net, 0, 0));
  TU_OK(clnn_net_add_activation(net, CLNN_ACT_RELU, 0));
  TU_OK(clnn_net_add_maxpool2d(net, 2, 0, 0));
  TU_OK(clnn_net_add_dropout(net, 0.5f));
  TU_OK(clnn_net_add_flatten(net));
  TU_OK(clnn_net_add_dense(net, 3));
  float x[3 * 25], y[3 * 3], loss = 0;
  tu_fill_uniform(x, 75, 0, 1);
  int32_t labels[3] = {0, 2, 1};
  CASE(clnn_net_train_step(net, x, 3 * 25, 3, labels, 3, NULL, 0, &loss));
  CASE(clnn_net_predict(net, x, 3 * 25, 3, y, 9));
  record_or_compare(&loss, 1, "conv network training loss");
  /* Adam's first step moves every parameter by about lr * sign(gradient): a gradient near 0
   * whose sign differs between the passes moves a weight by up to 2e-3 (lr 1e-3) */
  record_or_compare_tol(y, 9, 2e-2f, "conv network prediction after one step");
  clnn_net_destroy(net);

  size_t sin[2] = {3, 2}; /* [T, F] */
  TU_OK(clnn_net_create(ctx, 2, sin, 7, &net));
  TU_OK(clnn_net_add_lstm(net, 4, 1));
  TU_OK(clnn_net_add_lstm(net, 3, 0));
  TU_OK(clnn_net_add_dense(net, 2));
  TU_OK(clnn_net_set_loss(net, CLNN_LOSS_MSE));
  float sx[2 * 6], st[2 * 2], sy[4];
  tu_fill_uniform(sx, 12, -1, 1);
  tu_fill_uniform(st, 4, -1, 1);
  CASE(clnn_net_train_step(net, sx, 2 * 6, 2, NULL, 0, st, 2 * 2, &loss));
  CASE(clnn_net_predict(net, sx, 2 * 6, 2, sy, 4));
  record_or_compare(&loss, 1, "LSTM network training loss");
  record_or_compare_tol(sy, 4, 2e-2f, "LSTM network prediction after one step");
  clnn_net_destroy(net);
}

/* embedding, layer norm, RMS norm, attention (both layouts, masks, dropout, T not a multiple of
 * the tile) */
static void sequence(clnn_context *ctx) {
  const int32_t ids[7] = {2, 0, 2, 4, 4, 2, 1};
  clnn_tensor *tab = R(ctx, 5, 3), *e = R(ctx, 7, 3);
  CASE(clnn_embedding_forward(ctx, tab, ids, 7, U(ctx, 7, 3)));
  CASE(clnn_embedding_backward(ctx, ids, 7, e, 0.0f, U(ctx, 5, 3)));
  CASE(clnn_embedding_backward(ctx, ids, 7, e, 1.0f, R(ctx, 5, 3)));
  CASE(clnn_embedding_backward(ctx, ids, 1, R(ctx, 1, 3), 0.5f, R(ctx, 5, 3)));
  release_all();
  const size_t ln[][2] = {{1, 1}, {3, 5}, {4, 300}}; /* rows, D */
  for (int i = 0; i < 3; i++) {
    size_t r = ln[i][0], d = ln[i][1];
    clnn_tensor *x = R(ctx, r, d), *w = R(ctx, d), *b = R(ctx, d), *sm = U(ctx, r), *sr = U(ctx, r), *dy = R(ctx, r, d);
    CASE(clnn_layernorm_forward(ctx, x, w, b, 1e-5f, U(ctx, r, d), sm, sr));
    CASE(clnn_layernorm_forward(ctx, x, NULL, NULL, 1e-5f, U(ctx, r, d), NULL, NULL));
    CASE(clnn_layernorm_backward(ctx, x, dy, w, sm, sr, 0.0f, U(ctx, r, d), U(ctx, d), U(ctx, d)));
    CASE(clnn_layernorm_backward(ctx, x, dy, NULL, sm, sr, 1.0f, R(ctx, r, d), R(ctx, d), NULL));
    clnn_tensor *rr = U(ctx, r);
    CASE(clnn_rmsnorm_forward(ctx, x, w, 1e-5f, U(ctx, r, d), rr));
    CASE(clnn_rmsnorm_backward(ctx, x, dy, w, rr, 0.0f, U(ctx, r, d), U(ctx, d)));
    release_all();
  }
  const int32_t lens[2] = {9, 3};
  clnn_attention_params p;
  clnn_attention_params_init(&p);
  for (int c = 0; c < 3; c++) {
    p.causal = c > 0;
    p.lengths = c == 1 ? lens : NULL;
    p.num_lengths = 2;
    p.dropout = c == 2 ? 0.25f : 0.0f;
    p.seed = 11;
    size_t Tq = c == 2 ? 4 : 9, Dh = c == 1 ? 128 : 5;
    clnn_tensor *q = R(ctx, 2, 2, Tq, Dh), *k = R(ctx, 2, 2, 9, Dh), *v = R(ctx, 2, 2, 9, Dh), *lse = U(ctx, 2, 2, Tq);
    clnn_tensor *o = U(ctx, 2, 2, Tq, Dh), *dout = R(ctx, 2, 2, Tq, Dh);
    CASE(clnn_attention_forward(ctx, &p, q, k, v, o, lse));
    CASE(clnn_attention_backward(ctx, &p, q, k, v, o, lse, dout, 0.0f, U(ctx, 2, 2, Tq, Dh), U(ctx, 2, 2, 9, Dh),
                                 U(ctx, 2, 2, 9, Dh)));
    CASE(clnn_attention_backward(ctx, &p, q, k, v, o, lse, dout, 1.0f, R(ctx, 2, 2, Tq, Dh), NULL, R(ctx, 2, 2, 9, Dh)));
    release_all();
  }
  p.layout = CLNN_ATTENTION_BTHD;
  p.heads = 3;
  p.lengths = NULL;
  p.dropout = 0.0f;
  clnn_tensor *q = R(ctx, 1, 5, 6), *k = R(ctx, 1, 7, 6), *v = R(ctx, 1, 7, 6), *o = U(ctx, 1, 5, 6), *lse = U(ctx, 3, 5);
  CASE(clnn_attention_forward(ctx, &p, q, k, v, o, lse));
  CASE(clnn_attention_backward(ctx, &p, q, k, v, o, lse, R(ctx, 1, 5, 6), 0.0f, U(ctx, 1, 5, 6), U(ctx, 1, 7, 6),
                               U(ctx, 1, 7, 6)));
  release_all();
}
