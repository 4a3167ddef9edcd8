/* tests/api_misuse_graph.c — the API-misuse rows of the graph builder (every clnn_graph_*
 * function: inputs, layer nodes, structure, losses and outputs, inspection). Not a test of its
 * own: tests/test_api_misuse.c includes it, so the rows use that file's macros (ROW, VROW, ...),
 * counters and coverage check; the rows of models built from graphs are in
 * tests/api_misuse_model.c. */
/* ---- graph builder (src/nn/graph.c, op_*.c) ---- */

static char gsum0[16384], gsum1[16384];

static void graph_builder(void) {
  /* A builder row on graph `g`: the graph (values, inputs, outputs, summary) is unchanged and *out
   * (the int `o`) untouched. */
#define GROW(fn, what, want, call)                                                               \
  do {                                                                                           \
    int nv_ = clnn_graph_num_values(g), ni_ = clnn_graph_num_inputs(g);                          \
    int no_ = clnn_graph_num_outputs(g);                                                         \
    clnn_graph_summary(g, gsum0, sizeof gsum0);                                                  \
    o = -7;                                                                                      \
    ROW(fn, what, want, call);                                                                   \
    clnn_graph_summary(g, gsum1, sizeof gsum1);                                                  \
    TU_CHECK(clnn_graph_num_values(g) == nv_ && clnn_graph_num_inputs(g) == ni_ &&               \
                 clnn_graph_num_outputs(g) == no_ && !strcmp(gsum0, gsum1),                      \
             "%s (%s): the failing call changed the graph (%d -> %d values)", #fn, what, nv_,    \
             clnn_graph_num_values(g));                                                          \
    TU_CHECK(o == -7, "%s (%s): *out written on failure (%d)", #fn, what, o);                    \
  } while (0)
  /* ... whose message names the node, as the header promises for builder problems */
#define GROWN(fn, what, want, node, call)                                                        \
  do {                                                                                           \
    GROW(fn, what, want, call);                                                                  \
    TU_CHECK(strstr(clnn_last_error(), node) != NULL, "%s (%s): the message does not name '%s': %s", \
             #fn, what, node, clnn_last_error());                                                \
  } while (0)

  clnn_graph *g = (clnn_graph *)&rows;
  int o = -7;
  ROW(clnn_graph_create, "out NULL", INV, clnn_graph_create(NULL));
  VROW(clnn_graph_destroy, "NULL is a no-op", clnn_graph_destroy(NULL), 1);
  g = NULL;
  TU_OK(clnn_graph_create(&g));
  if (!g) return;

  /* inputs */
  size_t img[3] = {2, 6, 6}, vec[1] = {5}, seqd[2] = {4, 3}, zero[1] = {0}, d5[5] = {1, 1, 1, 1, 1};
  size_t huge[2] = {SIZE_MAX / 2, 4};
  const char *n64 = "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd";
  GROW(clnn_graph_input, "graph NULL", INV, clnn_graph_input(NULL, "x", CLNN_FLOAT32, 3, img, &o));
  GROW(clnn_graph_input, "out NULL", INV, clnn_graph_input(g, "x", CLNN_FLOAT32, 3, img, NULL));
  GROW(clnn_graph_input, "name NULL", INV, clnn_graph_input(g, NULL, CLNN_FLOAT32, 3, img, &o));
  GROW(clnn_graph_input, "empty name", INV, clnn_graph_input(g, "", CLNN_FLOAT32, 3, img, &o));
  GROW(clnn_graph_input, "a space and '!' in the name", INV,
       clnn_graph_input(g, "bad name!", CLNN_FLOAT32, 3, img, &o));
  GROW(clnn_graph_input, "a '/' in the name", INV, clnn_graph_input(g, "a/b", CLNN_FLOAT32, 3, img, &o));
  GROW(clnn_graph_input, "64 characters", INV, clnn_graph_input(g, n64, CLNN_FLOAT32, 3, img, &o));
  GROW(clnn_graph_input, "dtype 7", INV, clnn_graph_input(g, "x", (clnn_dtype)7, 3, img, &o));
  GROW(clnn_graph_input, "dtype -1", INV, clnn_graph_input(g, "x", (clnn_dtype)-1, 3, img, &o));
  GROW(clnn_graph_input, "ndim -1", INV, clnn_graph_input(g, "x", CLNN_FLOAT32, -1, img, &o));
  GROW(clnn_graph_input, "ndim 5", INV, clnn_graph_input(g, "x", CLNN_FLOAT32, 5, d5, &o));
  GROW(clnn_graph_input, "dims NULL with ndim 1", INV, clnn_graph_input(g, "x", CLNN_FLOAT32, 1, NULL, &o));
  GROW(clnn_graph_input, "a zero dim", INV, clnn_graph_input(g, "x", CLNN_FLOAT32, 1, zero, &o));
  GROW(clnn_graph_input, "element count overflows", INV, clnn_graph_input(g, "x", CLNN_FLOAT32, 2, huge, &o));
  TU_CHECK(clnn_graph_num_values(g) == 0 && clnn_graph_num_inputs(g) == 0, "failed inputs left an empty graph");

  int x = -1, v = -1, lab = -1, sq = -1, h = -1, lossv = -1;
  TU_OK(clnn_graph_input(g, "x", CLNN_FLOAT32, 3, img, &x));      /* [2, 6, 6] */
  TU_OK(clnn_graph_input(g, "v", CLNN_FLOAT32, 1, vec, &v));      /* [5] */
  TU_OK(clnn_graph_input(g, "lab", CLNN_INT32, 0, NULL, &lab));   /* int32 [] */
  TU_OK(clnn_graph_input(g, "sq", CLNN_FLOAT32, 2, seqd, &sq));   /* [4, 3] */
  TU_OK(clnn_graph_dense(g, "d1", v, 3, 1, &h));                  /* [3] */
  TU_OK(clnn_graph_loss(g, "ce", CLNN_LOSS_SOFTMAX_CROSS_ENTROPY, h, lab, 1.0f, &lossv));
  GROW(clnn_graph_input, "name of an input", INV, clnn_graph_input(g, "x", CLNN_FLOAT32, 1, vec, &o));
  GROW(clnn_graph_input, "name of a node", INV, clnn_graph_input(g, "d1", CLNN_FLOAT32, 1, vec, &o));
  const int bad_ids[3] = {99, -1, 6}; /* 6 = num_values: one past the end */
  TU_CHECK(clnn_graph_num_values(g) == 6, "6 values so far (%d)", clnn_graph_num_values(g));

  /* conv2d and its transpose */
  clnn_conv2d_params cp, cb;
  clnn_conv2d_params_init(&cp);
  GROW(clnn_graph_conv2d, "graph NULL", INV, clnn_graph_conv2d(NULL, "c", x, 4, 3, 3, NULL, 1, &o));
  GROW(clnn_graph_conv2d, "out NULL", INV, clnn_graph_conv2d(g, "c", x, 4, 3, 3, NULL, 1, NULL));
  for (int i = 0; i < 3; i++) {
    char what[48];
    snprintf(what, sizeof what, "x = %d (not a value)", bad_ids[i]);
    GROW(clnn_graph_conv2d, what, INV, clnn_graph_conv2d(g, "c", bad_ids[i], 4, 3, 3, NULL, 1, &o));
  }
  GROWN(clnn_graph_conv2d, "out_channels 0", INV, "c_k0", clnn_graph_conv2d(g, "c_k0", x, 0, 3, 3, NULL, 1, &o));
  GROWN(clnn_graph_conv2d, "out_channels -2", INV, "c_kn", clnn_graph_conv2d(g, "c_kn", x, -2, 3, 3, NULL, 1, &o));
  GROWN(clnn_graph_conv2d, "kernel_h 0", INV, "c_h0", clnn_graph_conv2d(g, "c_h0", x, 4, 0, 3, NULL, 1, &o));
  GROWN(clnn_graph_conv2d, "kernel_w -1", INV, "c_w", clnn_graph_conv2d(g, "c_w", x, 4, 3, -1, NULL, 1, &o));
  cb = cp;
  cb.stride_h = 0;
  GROWN(clnn_graph_conv2d, "stride 0", INV, "c_s0", clnn_graph_conv2d(g, "c_s0", x, 4, 3, 3, &cb, 1, &o));
  cb = cp;
  cb.pad_left = -1;
  GROWN(clnn_graph_conv2d, "padding -1", INV, "c_p", clnn_graph_conv2d(g, "c_p", x, 4, 3, 3, &cb, 1, &o));
  cb = cp;
  cb.dilation_w = 0;
  GROWN(clnn_graph_conv2d, "dilation 0", INV, "c_dil", clnn_graph_conv2d(g, "c_dil", x, 4, 3, 3, &cb, 1, &o));
  cb = cp;
  cb.groups = 3;
  GROWN(clnn_graph_conv2d, "groups 3 do not divide 2 channels", SHAPE, "c_grp",
        clnn_graph_conv2d(g, "c_grp", x, 6, 3, 3, &cb, 1, &o));
  GROWN(clnn_graph_conv2d, "input [5], not an image", SHAPE, "c_vec",
        clnn_graph_conv2d(g, "c_vec", v, 4, 3, 3, NULL, 1, &o));
  GROWN(clnn_graph_conv2d, "kernel 9 larger than the 6x6 input", SHAPE, "c_big",
        clnn_graph_conv2d(g, "c_big", x, 4, 9, 9, NULL, 1, &o));
  GROWN(clnn_graph_conv2d, "an int32 input", SHAPE, "c_int", clnn_graph_conv2d(g, "c_int", lab, 4, 1, 1, NULL, 1, &o));
  GROW(clnn_graph_conv2d, "name taken by a node", INV, clnn_graph_conv2d(g, "d1", x, 4, 3, 3, NULL, 1, &o));
  GROW(clnn_graph_conv2d, "name taken by an input", INV, clnn_graph_conv2d(g, "v", x, 4, 3, 3, NULL, 1, &o));
  GROW(clnn_graph_conv2d, "a space in the name", INV, clnn_graph_conv2d(g, "my conv", x, 4, 3, 3, NULL, 1, &o));
  GROW(clnn_graph_conv2d, "64-character name", INV, clnn_graph_conv2d(g, n64, x, 4, 3, 3, NULL, 1, &o));
  GROW(clnn_graph_conv2d, "a scalar loss as input", INV, clnn_graph_conv2d(g, "c_l", lossv, 4, 1, 1, NULL, 1, &o));
  GROW(clnn_graph_conv_transpose2d, "graph NULL", INV,
       clnn_graph_conv_transpose2d(NULL, "t", x, 4, 3, 3, NULL, 1, &o));
  GROW(clnn_graph_conv_transpose2d, "out NULL", INV, clnn_graph_conv_transpose2d(g, "t", x, 4, 3, 3, NULL, 1, NULL));
  GROW(clnn_graph_conv_transpose2d, "x 99", INV, clnn_graph_conv_transpose2d(g, "t", 99, 4, 3, 3, NULL, 1, &o));
  GROWN(clnn_graph_conv_transpose2d, "out_channels 0", INV, "t_k0",
        clnn_graph_conv_transpose2d(g, "t_k0", x, 0, 3, 3, NULL, 1, &o));
  GROWN(clnn_graph_conv_transpose2d, "input [5], not an image", SHAPE, "t_vec",
        clnn_graph_conv_transpose2d(g, "t_vec", v, 4, 3, 3, NULL, 1, &o));
  cb = cp;
  cb.stride_w = -2;
  GROWN(clnn_graph_conv_transpose2d, "stride -2", INV, "t_s",
        clnn_graph_conv_transpose2d(g, "t_s", x, 4, 3, 3, &cb, 1, &o));

  /* pooling */
  clnn_pool2d_params pp, pb;
  clnn_pool2d_params_init(&pp, 2);
  GROW(clnn_graph_pool2d, "graph NULL", INV, clnn_graph_pool2d(NULL, "p", x, 1, &pp, &o));
  GROW(clnn_graph_pool2d, "params NULL", INV, clnn_graph_pool2d(g, "p", x, 1, NULL, &o));
  GROW(clnn_graph_pool2d, "out NULL", INV, clnn_graph_pool2d(g, "p", x, 1, &pp, NULL));
  GROW(clnn_graph_pool2d, "x -1", INV, clnn_graph_pool2d(g, "p", -1, 1, &pp, &o));
  pb = pp;
  pb.kernel_h = 0;
  GROWN(clnn_graph_pool2d, "kernel 0", INV, "p_k0", clnn_graph_pool2d(g, "p_k0", x, 1, &pb, &o));
  pb = pp;
  pb.stride_w = 0;
  GROWN(clnn_graph_pool2d, "stride 0", INV, "p_s0", clnn_graph_pool2d(g, "p_s0", x, 0, &pb, &o));
  pb = pp;
  pb.pad_top = 2;
  GROWN(clnn_graph_pool2d, "padding >= kernel", INV, "p_pad", clnn_graph_pool2d(g, "p_pad", x, 1, &pb, &o));
  pb = pp;
  pb.kernel_h = pb.kernel_w = 9;
  GROWN(clnn_graph_pool2d, "window 9 larger than the 6x6 input", SHAPE, "p_big",
        clnn_graph_pool2d(g, "p_big", x, 1, &pb, &o));
  GROWN(clnn_graph_pool2d, "input [4, 3], not an image", SHAPE, "p_seq", clnn_graph_pool2d(g, "p_seq", sq, 1, &pp, &o));
  GROW(clnn_graph_global_avgpool, "graph NULL", INV, clnn_graph_global_avgpool(NULL, "gap", x, &o));
  GROW(clnn_graph_global_avgpool, "out NULL", INV, clnn_graph_global_avgpool(g, "gap", x, NULL));
  GROW(clnn_graph_global_avgpool, "x 6 (= num_values)", INV, clnn_graph_global_avgpool(g, "gap", 6, &o));
  GROWN(clnn_graph_global_avgpool, "input [5], not an image", SHAPE, "gap_v",
        clnn_graph_global_avgpool(g, "gap_v", v, &o));
  GROWN(clnn_graph_global_avgpool, "an int32 input", SHAPE, "gap_i", clnn_graph_global_avgpool(g, "gap_i", lab, &o));

  /* dense, activation, dropout, batch norm, softmax, LSTM */
  GROW(clnn_graph_dense, "graph NULL", INV, clnn_graph_dense(NULL, "fc", v, 3, 1, &o));
  GROW(clnn_graph_dense, "out NULL", INV, clnn_graph_dense(g, "fc", v, 3, 1, NULL));
  GROW(clnn_graph_dense, "x 99", INV, clnn_graph_dense(g, "fc", 99, 3, 1, &o));
  GROWN(clnn_graph_dense, "units 0", INV, "fc_u0", clnn_graph_dense(g, "fc_u0", v, 0, 1, &o));
  GROWN(clnn_graph_dense, "units -3", INV, "fc_un", clnn_graph_dense(g, "fc_un", v, -3, 1, &o));
  GROWN(clnn_graph_dense, "an int32 input", SHAPE, "fc_int", clnn_graph_dense(g, "fc_int", lab, 3, 1, &o));
  GROW(clnn_graph_dense, "name taken", INV, clnn_graph_dense(g, "d1", v, 3, 1, &o));
  GROW(clnn_graph_dense, "a scalar loss as input", INV, clnn_graph_dense(g, "fc_l", lossv, 3, 1, &o));
  GROW(clnn_graph_activation, "graph NULL", INV, clnn_graph_activation(NULL, "a", v, CLNN_ACT_RELU, 0, &o));
  GROW(clnn_graph_activation, "out NULL", INV, clnn_graph_activation(g, "a", v, CLNN_ACT_RELU, 0, NULL));
  GROW(clnn_graph_activation, "x -1", INV, clnn_graph_activation(g, "a", -1, CLNN_ACT_RELU, 0, &o));
  GROWN(clnn_graph_activation, "activation 99", INV, "a_99",
        clnn_graph_activation(g, "a_99", v, (clnn_activation)99, 0, &o));
  GROWN(clnn_graph_activation, "activation -1", INV, "a_m1",
        clnn_graph_activation(g, "a_m1", v, (clnn_activation)-1, 0, &o));
  GROWN(clnn_graph_activation, "alpha NaN", INV, "a_nan", clnn_graph_activation(g, "a_nan", v, CLNN_ACT_LEAKY_RELU, NAN, &o));
  GROWN(clnn_graph_activation, "an int32 input", SHAPE, "a_int", clnn_graph_activation(g, "a_int", lab, CLNN_ACT_RELU, 0, &o));
  GROW(clnn_graph_dropout, "graph NULL", INV, clnn_graph_dropout(NULL, "dr", v, 0.5f, &o));
  GROW(clnn_graph_dropout, "out NULL", INV, clnn_graph_dropout(g, "dr", v, 0.5f, NULL));
  GROWN(clnn_graph_dropout, "p = 1", INV, "dr_1", clnn_graph_dropout(g, "dr_1", v, 1.0f, &o));
  GROWN(clnn_graph_dropout, "p < 0", INV, "dr_n", clnn_graph_dropout(g, "dr_n", v, -0.1f, &o));
  GROWN(clnn_graph_dropout, "p NaN", INV, "dr_nan", clnn_graph_dropout(g, "dr_nan", v, NAN, &o));
  GROWN(clnn_graph_dropout, "an int32 input", SHAPE, "dr_int", clnn_graph_dropout(g, "dr_int", lab, 0.5f, &o));
  GROW(clnn_graph_batchnorm, "graph NULL", INV, clnn_graph_batchnorm(NULL, "bn", x, 0, 0, &o));
  GROW(clnn_graph_batchnorm, "out NULL", INV, clnn_graph_batchnorm(g, "bn", x, 0, 0, NULL));
  GROW(clnn_graph_batchnorm, "x 99", INV, clnn_graph_batchnorm(g, "bn", 99, 0, 0, &o));
  GROWN(clnn_graph_batchnorm, "momentum 2", INV, "bn_m", clnn_graph_batchnorm(g, "bn_m", x, 2.0f, 0, &o));
  GROWN(clnn_graph_batchnorm, "momentum -0.5", INV, "bn_mn", clnn_graph_batchnorm(g, "bn_mn", x, -0.5f, 0, &o));
  GROWN(clnn_graph_batchnorm, "eps -1", INV, "bn_e", clnn_graph_batchnorm(g, "bn_e", x, 0, -1.0f, &o));
  GROWN(clnn_graph_batchnorm, "eps NaN", INV, "bn_nan", clnn_graph_batchnorm(g, "bn_nan", x, 0, NAN, &o));
  GROWN(clnn_graph_batchnorm, "an int32 input", SHAPE, "bn_int", clnn_graph_batchnorm(g, "bn_int", lab, 0, 0, &o));
  GROW(clnn_graph_softmax, "graph NULL", INV, clnn_graph_softmax(NULL, "sm", v, 0, &o));
  GROW(clnn_graph_softmax, "out NULL", INV, clnn_graph_softmax(g, "sm", v, 0, NULL));
  GROW(clnn_graph_softmax, "x 99", INV, clnn_graph_softmax(g, "sm", 99, 1, &o));
  GROWN(clnn_graph_softmax, "an int32 input", SHAPE, "sm_int", clnn_graph_softmax(g, "sm_int", lab, 0, &o));
  GROW(clnn_graph_lstm, "graph NULL", INV, clnn_graph_lstm(NULL, "l", sq, 4, 0, &o));
  GROW(clnn_graph_lstm, "out NULL", INV, clnn_graph_lstm(g, "l", sq, 4, 0, NULL));
  GROW(clnn_graph_lstm, "x 99", INV, clnn_graph_lstm(g, "l", 99, 4, 0, &o));
  GROWN(clnn_graph_lstm, "hidden 0", INV, "l_h0", clnn_graph_lstm(g, "l_h0", sq, 0, 0, &o));
  GROWN(clnn_graph_lstm, "hidden -4", INV, "l_hn", clnn_graph_lstm(g, "l_hn", sq, -4, 1, &o));
  GROWN(clnn_graph_lstm, "input [2, 6, 6], not a sequence", SHAPE, "l_img", clnn_graph_lstm(g, "l_img", x, 4, 0, &o));
  GROWN(clnn_graph_lstm, "input [5], not a sequence", SHAPE, "l_vec", clnn_graph_lstm(g, "l_vec", v, 4, 1, &o));
  GROW(clnn_graph_gru, "graph NULL", INV, clnn_graph_gru(NULL, "gr", sq, 4, 0, &o));
  GROW(clnn_graph_gru, "out NULL", INV, clnn_graph_gru(g, "gr", sq, 4, 0, NULL));
  GROW(clnn_graph_gru, "x 99", INV, clnn_graph_gru(g, "gr", 99, 4, 0, &o));
  GROWN(clnn_graph_gru, "hidden 0", INV, "gr_h0", clnn_graph_gru(g, "gr_h0", sq, 0, 0, &o));
  GROWN(clnn_graph_gru, "input [2, 6, 6], not a sequence", SHAPE, "gr_img", clnn_graph_gru(g, "gr_img", x, 4, 0, &o));
  GROWN(clnn_graph_gru, "input [5], not a sequence", SHAPE, "gr_vec", clnn_graph_gru(g, "gr_vec", v, 4, 1, &o));
  /* sequence layers (sq is [4, 3], lab int32 []) */
  GROW(clnn_graph_embedding, "graph NULL", INV, clnn_graph_embedding(NULL, "em", lab, 5, 4, &o));
  GROW(clnn_graph_embedding, "out NULL", INV, clnn_graph_embedding(g, "em", lab, 5, 4, NULL));
  GROW(clnn_graph_embedding, "ids 99", INV, clnn_graph_embedding(g, "em", 99, 5, 4, &o));
  GROWN(clnn_graph_embedding, "float ids", SHAPE, "em_f", clnn_graph_embedding(g, "em_f", v, 5, 4, &o));
  GROWN(clnn_graph_embedding, "vocab 0", INV, "em_v0", clnn_graph_embedding(g, "em_v0", lab, 0, 4, &o));
  GROWN(clnn_graph_embedding, "dim -1", INV, "em_dn", clnn_graph_embedding(g, "em_dn", lab, 5, -1, &o));
  GROW(clnn_graph_layer_norm, "graph NULL", INV, clnn_graph_layer_norm(NULL, "ln", sq, 0, 1, &o));
  GROW(clnn_graph_layer_norm, "out NULL", INV, clnn_graph_layer_norm(g, "ln", sq, 0, 1, NULL));
  GROW(clnn_graph_layer_norm, "x 99", INV, clnn_graph_layer_norm(g, "ln", 99, 0, 1, &o));
  GROWN(clnn_graph_layer_norm, "eps NaN", INV, "ln_nan", clnn_graph_layer_norm(g, "ln_nan", sq, NAN, 1, &o));
  GROWN(clnn_graph_layer_norm, "eps -1", INV, "ln_e", clnn_graph_layer_norm(g, "ln_e", sq, -1.0f, 0, &o));
  GROWN(clnn_graph_layer_norm, "an int32 input", SHAPE, "ln_int", clnn_graph_layer_norm(g, "ln_int", lab, 0, 1, &o));
  GROW(clnn_graph_rms_norm, "graph NULL", INV, clnn_graph_rms_norm(NULL, "rn", sq, 0, 1, &o));
  GROW(clnn_graph_rms_norm, "out NULL", INV, clnn_graph_rms_norm(g, "rn", sq, 0, 1, NULL));
  GROW(clnn_graph_rms_norm, "x 99", INV, clnn_graph_rms_norm(g, "rn", 99, 0, 1, &o));
  GROWN(clnn_graph_rms_norm, "eps infinite", INV, "rn_inf", clnn_graph_rms_norm(g, "rn_inf", sq, INFINITY, 1, &o));
  GROWN(clnn_graph_rms_norm, "an int32 input", SHAPE, "rn_int", clnn_graph_rms_norm(g, "rn_int", lab, 0, 0, &o));
  GROW(clnn_graph_attention, "graph NULL", INV, clnn_graph_attention(NULL, "at", sq, sq, sq, -1, 1, 0, 0, &o));
  GROW(clnn_graph_attention, "out NULL", INV, clnn_graph_attention(g, "at", sq, sq, sq, -1, 1, 0, 0, NULL));
  GROW(clnn_graph_attention, "q 99", INV, clnn_graph_attention(g, "at", 99, sq, sq, -1, 1, 0, 0, &o));
  GROW(clnn_graph_attention, "lengths 99", INV, clnn_graph_attention(g, "at", sq, sq, sq, 99, 1, 0, 0, &o));
  GROWN(clnn_graph_attention, "heads 2 do not divide 3", INV, "at_h2", clnn_graph_attention(g, "at_h2", sq, sq, sq, -1, 2, 0, 0, &o));
  GROWN(clnn_graph_attention, "heads 0", INV, "at_h0", clnn_graph_attention(g, "at_h0", sq, sq, sq, -1, 0, 0, 0, &o));
  GROWN(clnn_graph_attention, "k [5], not a sequence", SHAPE, "at_k", clnn_graph_attention(g, "at_k", sq, v, sq, -1, 1, 0, 0, &o));
  GROWN(clnn_graph_attention, "int32 q", SHAPE, "at_int", clnn_graph_attention(g, "at_int", lab, sq, sq, -1, 1, 0, 0, &o));
  GROWN(clnn_graph_attention, "float lengths", SHAPE, "at_lf", clnn_graph_attention(g, "at_lf", sq, sq, sq, v, 1, 0, 0, &o));
  GROWN(clnn_graph_attention, "dropout 1", INV, "at_p1", clnn_graph_attention(g, "at_p1", sq, sq, sq, -1, 1, 0, 1.0f, &o));
  GROWN(clnn_graph_attention, "dropout NaN", INV, "at_pn", clnn_graph_attention(g, "at_pn", sq, sq, sq, -1, 1, 0, NAN, &o));
  GROW(clnn_graph_multihead_attention, "graph NULL", INV, clnn_graph_multihead_attention(NULL, "mh", sq, 1, 1, 0, &o));
  GROW(clnn_graph_multihead_attention, "out NULL", INV, clnn_graph_multihead_attention(g, "mh", sq, 1, 1, 0, NULL));
  GROW(clnn_graph_multihead_attention, "name NULL (required)", INV, clnn_graph_multihead_attention(g, NULL, sq, 1, 1, 0, &o));
  GROW(clnn_graph_multihead_attention, "x 99", INV, clnn_graph_multihead_attention(g, "mh", 99, 1, 1, 0, &o));
  GROWN(clnn_graph_multihead_attention, "heads 2 do not divide 3", INV, "mh_h2", clnn_graph_multihead_attention(g, "mh_h2", sq, 2, 1, 0, &o));
  GROWN(clnn_graph_multihead_attention, "input [5], not a sequence", SHAPE, "mh_v", clnn_graph_multihead_attention(g, "mh_v", v, 1, 1, 0, &o));
  GROW(clnn_graph_multihead_attention, "name of 59 characters (its parts' names too long)", INV,
       clnn_graph_multihead_attention(g, "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghi", sq, 1, 1, 0, &o));

  /* structure */
  GROW(clnn_graph_add, "graph NULL", INV, clnn_graph_add(NULL, "s", v, v, &o));
  GROW(clnn_graph_add, "out NULL", INV, clnn_graph_add(g, "s", v, v, NULL));
  GROW(clnn_graph_add, "a 99", INV, clnn_graph_add(g, "s", 99, v, &o));
  GROW(clnn_graph_add, "b -1", INV, clnn_graph_add(g, "s", v, -1, &o));
  GROWN(clnn_graph_add, "[2, 6, 6] + [5]", SHAPE, "bad_add", clnn_graph_add(g, "bad_add", x, v, &o));
  GROWN(clnn_graph_add, "[5] + [3]", SHAPE, "bad_add2", clnn_graph_add(g, "bad_add2", v, h, &o));
  GROWN(clnn_graph_add, "int32 + int32", SHAPE, "add_int", clnn_graph_add(g, "add_int", lab, lab, &o));
  GROW(clnn_graph_add, "a scalar loss", INV, clnn_graph_add(g, "add_l", lossv, lossv, &o));
  GROW(clnn_graph_mul, "graph NULL", INV, clnn_graph_mul(NULL, "m", v, v, &o));
  GROW(clnn_graph_mul, "out NULL", INV, clnn_graph_mul(g, "m", v, v, NULL));
  GROW(clnn_graph_mul, "b 99", INV, clnn_graph_mul(g, "m", v, 99, &o));
  GROWN(clnn_graph_mul, "[5] * [3]", SHAPE, "bad_mul", clnn_graph_mul(g, "bad_mul", v, h, &o));
  int one_id = -1;
  size_t one_d[1] = {1};
  TU_OK(clnn_graph_input(g, "one", CLNN_FLOAT32, 1, one_d, &one_id)); /* [1]: add broadcasts it, mul does not */
  GROWN(clnn_graph_mul, "[5] * [1] (mul does not broadcast)", SHAPE, "mul_b", clnn_graph_mul(g, "mul_b", v, one_id, &o));
  GROW(clnn_graph_scale, "graph NULL", INV, clnn_graph_scale(NULL, "sc", v, 2.0f, &o));
  GROW(clnn_graph_scale, "out NULL", INV, clnn_graph_scale(g, "sc", v, 2.0f, NULL));
  GROW(clnn_graph_scale, "x 99", INV, clnn_graph_scale(g, "sc", 99, 2.0f, &o));
  GROWN(clnn_graph_scale, "alpha NaN", INV, "sc_nan", clnn_graph_scale(g, "sc_nan", v, NAN, &o));
  GROWN(clnn_graph_scale, "alpha infinite", INV, "sc_inf", clnn_graph_scale(g, "sc_inf", v, INFINITY, &o));
  GROWN(clnn_graph_scale, "an int32 input", SHAPE, "sc_int", clnn_graph_scale(g, "sc_int", lab, 2.0f, &o));
  int two[2] = {x, v}, same2[2] = {v, v}, with_bad[2] = {v, 99}, many[17];
  for (int i = 0; i < 17; i++) many[i] = v;
  GROW(clnn_graph_concat, "graph NULL", INV, clnn_graph_concat(NULL, "cat", 0, 2, same2, &o));
  GROW(clnn_graph_concat, "xs NULL", INV, clnn_graph_concat(g, "cat", 0, 2, NULL, &o));
  GROW(clnn_graph_concat, "out NULL", INV, clnn_graph_concat(g, "cat", 0, 2, same2, NULL));
  GROW(clnn_graph_concat, "count 0", INV, clnn_graph_concat(g, "cat", 0, 0, same2, &o));
  GROW(clnn_graph_concat, "count -1", INV, clnn_graph_concat(g, "cat", 0, -1, same2, &o));
  GROW(clnn_graph_concat, "count 17", INV, clnn_graph_concat(g, "cat", 0, 17, many, &o));
  GROW(clnn_graph_concat, "a value 99", INV, clnn_graph_concat(g, "cat", 0, 2, with_bad, &o));
  GROWN(clnn_graph_concat, "axis 1 of a 1-D value", INV, "cat_ax", clnn_graph_concat(g, "cat_ax", 1, 2, same2, &o));
  GROWN(clnn_graph_concat, "axis -2 of a 1-D value", INV, "cat_axn", clnn_graph_concat(g, "cat_axn", -2, 2, same2, &o));
  GROWN(clnn_graph_concat, "[2, 6, 6] with [5]", SHAPE, "cat_sh", clnn_graph_concat(g, "cat_sh", 0, 2, two, &o));
  GROW(clnn_graph_slice, "graph NULL", INV, clnn_graph_slice(NULL, "sl", x, 0, 0, 1, &o));
  GROW(clnn_graph_slice, "out NULL", INV, clnn_graph_slice(g, "sl", x, 0, 0, 1, NULL));
  GROW(clnn_graph_slice, "x 99", INV, clnn_graph_slice(g, "sl", 99, 0, 0, 1, &o));
  GROWN(clnn_graph_slice, "axis 3 of 3 dims", INV, "sl_ax", clnn_graph_slice(g, "sl_ax", x, 3, 0, 1, &o));
  GROWN(clnn_graph_slice, "start + length past the end", SHAPE, "sl_end", clnn_graph_slice(g, "sl_end", x, 1, 4, 3, &o));
  GROWN(clnn_graph_slice, "start past the end", SHAPE, "sl_st", clnn_graph_slice(g, "sl_st", x, 1, 6, 1, &o));
  GROW(clnn_graph_slice, "start + length wraps", INV, clnn_graph_slice(g, "sl_w", x, 1, 2, SIZE_MAX, &o));
  GROWN(clnn_graph_slice, "length 0 (an empty slice does not fit)", SHAPE, "sl_0", clnn_graph_slice(g, "sl_0", x, 1, 0, 0, &o));
  size_t sizes[3] = {2, 2, 2}, sizes_bad[2] = {2, 3}, sizes_zero[2] = {6, 0}, sizes_wrap[2] = {SIZE_MAX, 7};
  int outs[17];
  for (int i = 0; i < 17; i++) outs[i] = -7;
#define OUTS_UNTOUCHED() (outs[0] == -7 && outs[1] == -7 && outs[2] == -7)
  GROW(clnn_graph_split, "graph NULL", INV, clnn_graph_split(NULL, "sp", x, 1, 3, sizes, outs));
  GROW(clnn_graph_split, "sizes NULL", INV, clnn_graph_split(g, "sp", x, 1, 3, NULL, outs));
  GROW(clnn_graph_split, "outs NULL", INV, clnn_graph_split(g, "sp", x, 1, 3, sizes, NULL));
  GROW(clnn_graph_split, "x 99", INV, clnn_graph_split(g, "sp", 99, 1, 3, sizes, outs));
  GROW(clnn_graph_split, "count 0", INV, clnn_graph_split(g, "sp", x, 1, 0, sizes, outs));
  GROW(clnn_graph_split, "count 17", INV, clnn_graph_split(g, "sp", x, 1, 17, sizes, outs));
  GROW(clnn_graph_split, "axis 3 of 3 dims", INV, clnn_graph_split(g, "sp", x, 3, 3, sizes, outs));
  GROW(clnn_graph_split, "sizes sum to 5 of 6", SHAPE, clnn_graph_split(g, "sp", x, 1, 2, sizes_bad, outs));
  GROW(clnn_graph_split, "sizes sum wraps around to 6", INV, clnn_graph_split(g, "sp", x, 1, 2, sizes_wrap, outs));
  TU_CHECK(OUTS_UNTOUCHED(), "clnn_graph_split: outs untouched by the failures so far");
  GROW(clnn_graph_split, "a size of 0 (the second part: an empty slice)", SHAPE, clnn_graph_split(g, "spz", x, 1, 2, sizes_zero, outs));
  TU_CHECK(OUTS_UNTOUCHED(), "clnn_graph_split: outs untouched after a size of 0 (outs = %d, %d)", outs[0], outs[1]);
  for (int i = 0; i < 17; i++) outs[i] = -7;
  GROW(clnn_graph_split, "name whose parts would be 64 characters", INV,
       clnn_graph_split(g, "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijab", x, 1, 3, sizes, outs));
  GROW(clnn_graph_split, "name with a space", INV, clnn_graph_split(g, "s p", x, 1, 3, sizes, outs));
  int taken = -1;
  TU_OK(clnn_graph_scale(g, "sp.2", v, 1.0f, &taken)); /* the third part's name is taken */
  GROW(clnn_graph_split, "the third part's name is taken", INV, clnn_graph_split(g, "sp", x, 1, 3, sizes, outs));
  TU_CHECK(OUTS_UNTOUCHED(), "clnn_graph_split: outs untouched when a later part fails (outs = %d, %d, %d)",
           outs[0], outs[1], outs[2]);
  TU_CHECK(clnn_graph_find(g, "sp.0", &o) != CLNN_SUCCESS, "clnn_graph_split: no part left behind by a failure");
  for (int i = 0; i < 17; i++) outs[i] = -7;
#undef OUTS_UNTOUCHED
  size_t r30[2] = {3, 10}, r7[1] = {7}, r0[2] = {0, 5}, r5[5] = {1, 1, 1, 1, 72}, rbig[1] = {(size_t)1 << 40};
  GROW(clnn_graph_reshape, "graph NULL", INV, clnn_graph_reshape(NULL, "r", v, 1, vec, &o));
  GROW(clnn_graph_reshape, "dims NULL", INV, clnn_graph_reshape(g, "r", v, 1, NULL, &o));
  GROW(clnn_graph_reshape, "out NULL", INV, clnn_graph_reshape(g, "r", v, 1, vec, NULL));
  GROW(clnn_graph_reshape, "x 99", INV, clnn_graph_reshape(g, "r", 99, 1, vec, &o));
  GROWN(clnn_graph_reshape, "ndim 0", INV, "r_n0", clnn_graph_reshape(g, "r_n0", x, 0, r30, &o));
  GROWN(clnn_graph_reshape, "ndim 5", INV, "r_n5", clnn_graph_reshape(g, "r_n5", x, 5, r5, &o));
  GROWN(clnn_graph_reshape, "a zero dim", INV, "r_z", clnn_graph_reshape(g, "r_z", x, 2, r0, &o));
  GROWN(clnn_graph_reshape, "72 elements into 30", SHAPE, "r_30", clnn_graph_reshape(g, "r_30", x, 2, r30, &o));
  GROWN(clnn_graph_reshape, "5 elements into 7", SHAPE, "r_7", clnn_graph_reshape(g, "r_7", v, 1, r7, &o));
  GROW(clnn_graph_reshape, "a dim of 2^40", INV, clnn_graph_reshape(g, "r_big", v, 1, rbig, &o));
  GROW(clnn_graph_flatten, "graph NULL", INV, clnn_graph_flatten(NULL, "f", x, &o));
  GROW(clnn_graph_flatten, "out NULL", INV, clnn_graph_flatten(g, "f", x, NULL));
  GROW(clnn_graph_flatten, "x 99", INV, clnn_graph_flatten(g, "f", 99, &o));
  GROW(clnn_graph_flatten, "x -1", INV, clnn_graph_flatten(g, NULL, -1, &o));
  GROW(clnn_graph_flatten, "name taken", INV, clnn_graph_flatten(g, "d1", x, &o));
  GROWN(clnn_graph_flatten, "an int32 input", SHAPE, "f_int", clnn_graph_flatten(g, "f_int", lab, &o));
  const int perm[3] = {0, 2, 1}, pdup[3] = {0, 0, 1}, pbig[3] = {0, 1, 3}, pneg[3] = {-1, 0, 1};
  GROW(clnn_graph_permute, "graph NULL", INV, clnn_graph_permute(NULL, "pe", x, perm, &o));
  GROW(clnn_graph_permute, "perm NULL", INV, clnn_graph_permute(g, "pe", x, NULL, &o));
  GROW(clnn_graph_permute, "out NULL", INV, clnn_graph_permute(g, "pe", x, perm, NULL));
  GROW(clnn_graph_permute, "x 99", INV, clnn_graph_permute(g, "pe", 99, perm, &o));
  GROWN(clnn_graph_permute, "an axis twice", INV, "pe_dup", clnn_graph_permute(g, "pe_dup", x, pdup, &o));
  GROWN(clnn_graph_permute, "axis 3 of 3 dims", INV, "pe_big", clnn_graph_permute(g, "pe_big", x, pbig, &o));
  GROWN(clnn_graph_permute, "axis -1", INV, "pe_neg", clnn_graph_permute(g, "pe_neg", x, pneg, &o));
  GROWN(clnn_graph_permute, "an int32 input", SHAPE, "pe_int", clnn_graph_permute(g, "pe_int", lab, perm, &o));
  GROW(clnn_graph_apply, "graph NULL", INV, clnn_graph_apply(NULL, "ap", "d1", v, &o));
  GROW(clnn_graph_apply, "node NULL", INV, clnn_graph_apply(g, "ap", NULL, v, &o));
  GROW(clnn_graph_apply, "out NULL", INV, clnn_graph_apply(g, "ap", "d1", v, NULL));
  GROW(clnn_graph_apply, "no such node", INV, clnn_graph_apply(g, "ap", "nope", v, &o));
  GROW(clnn_graph_apply, "an input's name, not a node", INV, clnn_graph_apply(g, "ap", "v", v, &o));
  GROW(clnn_graph_apply, "a loss node", INV, clnn_graph_apply(g, "ap", "ce", h, &o));
  GROW(clnn_graph_apply, "x 99", INV, clnn_graph_apply(g, "ap", "d1", 99, &o));
  GROWN(clnn_graph_apply, "d1's weight [3, 5] on a [4, 3] input", SHAPE, "ap_sh",
        clnn_graph_apply(g, "ap_sh", "d1", sq, &o));
  GROW(clnn_graph_apply, "name taken", INV, clnn_graph_apply(g, "d1", "d1", v, &o));

  /* losses and outputs */
  size_t three[1] = {3};
  int tgt = -1;
  TU_OK(clnn_graph_input(g, "tgt", CLNN_FLOAT32, 1, three, &tgt)); /* [3] float, like h */
  GROW(clnn_graph_loss, "graph NULL", INV, clnn_graph_loss(NULL, "lo", CLNN_LOSS_MSE, h, tgt, 1.0f, &o));
  GROW(clnn_graph_loss, "out NULL", INV, clnn_graph_loss(g, "lo", CLNN_LOSS_MSE, h, tgt, 1.0f, NULL));
  GROW(clnn_graph_loss, "pred 99", INV, clnn_graph_loss(g, "lo", CLNN_LOSS_MSE, 99, tgt, 1.0f, &o));
  GROW(clnn_graph_loss, "target -1", INV, clnn_graph_loss(g, "lo", CLNN_LOSS_MSE, h, -1, 1.0f, &o));
  GROWN(clnn_graph_loss, "kind 99", INV, "lo_99", clnn_graph_loss(g, "lo_99", (clnn_loss)99, h, tgt, 1.0f, &o));
  GROWN(clnn_graph_loss, "kind -1", INV, "lo_m1", clnn_graph_loss(g, "lo_m1", (clnn_loss)-1, h, tgt, 1.0f, &o));
  GROW(clnn_graph_loss, "weight NaN", INV, clnn_graph_loss(g, "lo_w", CLNN_LOSS_MSE, h, tgt, NAN, &o));
  GROW(clnn_graph_loss, "weight infinite", INV, clnn_graph_loss(g, "lo_wi", CLNN_LOSS_MSE, h, tgt, INFINITY, &o));
  GROWN(clnn_graph_loss, "cross-entropy with a float target", SHAPE, "lo_ce",
        clnn_graph_loss(g, "lo_ce", CLNN_LOSS_SOFTMAX_CROSS_ENTROPY, h, tgt, 1.0f, &o));
  GROWN(clnn_graph_loss, "cross-entropy of [2, 6, 6] logits", SHAPE, "lo_ce3",
        clnn_graph_loss(g, "lo_ce3", CLNN_LOSS_SOFTMAX_CROSS_ENTROPY, x, lab, 1.0f, &o));
  GROWN(clnn_graph_loss, "MSE of [5] against [3]", SHAPE, "lo_mse",
        clnn_graph_loss(g, "lo_mse", CLNN_LOSS_MSE, v, tgt, 1.0f, &o));
  GROWN(clnn_graph_loss, "BCE with an int32 target", SHAPE, "lo_bce",
        clnn_graph_loss(g, "lo_bce", CLNN_LOSS_BCE_WITH_LOGITS, h, lab, 1.0f, &o));
  GROWN(clnn_graph_loss, "an int32 prediction", SHAPE, "lo_ip", clnn_graph_loss(g, "lo_ip", CLNN_LOSS_MSE, lab, lab, 1.0f, &o));
  GROW(clnn_graph_loss, "name taken", INV, clnn_graph_loss(g, "ce", CLNN_LOSS_MSE, h, tgt, 1.0f, &o));
  GROW(clnn_graph_cross_entropy, "graph NULL", INV, clnn_graph_cross_entropy(NULL, "xe", h, lab, -100, 1.0f, &o));
  GROW(clnn_graph_cross_entropy, "out NULL", INV, clnn_graph_cross_entropy(g, "xe", h, lab, -100, 1.0f, NULL));
  GROW(clnn_graph_cross_entropy, "labels 99", INV, clnn_graph_cross_entropy(g, "xe", h, 99, -100, 1.0f, &o));
  GROW(clnn_graph_cross_entropy, "weight NaN", INV, clnn_graph_cross_entropy(g, "xe", h, lab, -100, NAN, &o));
  GROWN(clnn_graph_cross_entropy, "float labels", SHAPE, "xe_f", clnn_graph_cross_entropy(g, "xe_f", h, tgt, -100, 1.0f, &o));
  GROWN(clnn_graph_cross_entropy, "int32 logits", SHAPE, "xe_i", clnn_graph_cross_entropy(g, "xe_i", lab, lab, -100, 1.0f, &o));
  GROWN(clnn_graph_cross_entropy, "[4, 3] logits against [] labels", SHAPE, "xe_t", clnn_graph_cross_entropy(g, "xe_t", sq, lab, -100, 1.0f, &o));
  GROW(clnn_graph_mean, "graph NULL", INV, clnn_graph_mean(NULL, "mn", v, &o));
  GROW(clnn_graph_mean, "out NULL", INV, clnn_graph_mean(g, "mn", v, NULL));
  GROW(clnn_graph_mean, "x 99", INV, clnn_graph_mean(g, "mn", 99, &o));
  GROWN(clnn_graph_mean, "an int32 input", SHAPE, "mn_int", clnn_graph_mean(g, "mn_int", lab, &o));
  GROWN(clnn_graph_mean, "a scalar (a loss)", SHAPE, "mn_l", clnn_graph_mean(g, "mn_l", lossv, &o));
  GROW(clnn_graph_add_loss, "graph NULL", INV, clnn_graph_add_loss(NULL, lossv, 1.0f));
  GROW(clnn_graph_add_loss, "value 99", INV, clnn_graph_add_loss(g, 99, 1.0f));
  GROW(clnn_graph_add_loss, "value -1", INV, clnn_graph_add_loss(g, -1, 1.0f));
  GROW(clnn_graph_add_loss, "a batched value, not a scalar", INV, clnn_graph_add_loss(g, h, 1.0f));
  GROW(clnn_graph_add_loss, "weight NaN", INV, clnn_graph_add_loss(g, lossv, NAN));
  GROW(clnn_graph_add_loss, "weight -infinity", INV, clnn_graph_add_loss(g, lossv, -INFINITY));
  GROW(clnn_graph_output, "graph NULL", INV, clnn_graph_output(NULL, h));
  GROW(clnn_graph_output, "value 99", INV, clnn_graph_output(g, 99));
  GROW(clnn_graph_clear_outputs, "graph NULL", INV, clnn_graph_clear_outputs(NULL));
  GROW(clnn_model_set_check_finite, "model NULL", INV, clnn_model_set_check_finite(NULL, 1));
  GROW(clnn_net_set_check_finite, "net NULL", INV, clnn_net_set_check_finite(NULL, 1));
  GROW(clnn_graph_output, "value -1", INV, clnn_graph_output(g, -1));
  GROW(clnn_graph_output, "value = num_values", INV, clnn_graph_output(g, clnn_graph_num_values(g)));

  /* inspection */
  size_t dd[CLNN_MAX_DIMS] = {7, 7, 7, 7, 7};
  int nvals = clnn_graph_num_values(g);
  VROW(clnn_graph_num_values, "NULL", , clnn_graph_num_values(NULL) == 0);
  VROW(clnn_graph_value_name, "NULL", , clnn_graph_value_name(NULL, 0) == NULL);
  VROW(clnn_graph_value_name, "v -1", , clnn_graph_value_name(g, -1) == NULL);
  VROW(clnn_graph_value_name, "v = num_values", , clnn_graph_value_name(g, nvals) == NULL);
  VROW(clnn_graph_value_dims, "NULL", , clnn_graph_value_dims(NULL, 0, dd) == -1 && dd[0] == 7);
  VROW(clnn_graph_value_dims, "v 99", , clnn_graph_value_dims(g, 99, dd) == -1 && dd[0] == 7);
  VROW(clnn_graph_value_dims, "v -1", , clnn_graph_value_dims(g, -1, dd) == -1 && dd[0] == 7);
  VROW(clnn_graph_value_dims, "v = num_values", , clnn_graph_value_dims(g, nvals, dd) == -1 && dd[0] == 7);
  VROW(clnn_graph_value_dims, "an int32 scalar: ndim 0", , clnn_graph_value_dims(g, lab, dd) == 0 && dd[0] == 7);
  ROW(clnn_graph_find, "graph NULL", INV, clnn_graph_find(NULL, "x", &o));
  ROW(clnn_graph_find, "name NULL", INV, clnn_graph_find(g, NULL, &o));
  ROW(clnn_graph_find, "value NULL", INV, clnn_graph_find(g, "x", NULL));
  o = -7;
  ROW(clnn_graph_find, "no such name", INV, clnn_graph_find(g, "nope", &o));
  ROW(clnn_graph_find, "empty name", INV, clnn_graph_find(g, "", &o));
  ROW(clnn_graph_find, "a parameter's name, not a value", INV, clnn_graph_find(g, "d1.weight", &o));
  TU_CHECK(o == -7, "clnn_graph_find: *value untouched on failure (%d)", o);
  VROW(clnn_graph_num_inputs, "NULL", , clnn_graph_num_inputs(NULL) == 0);
  VROW(clnn_graph_input_value, "NULL", , clnn_graph_input_value(NULL, 0) == -1);
  VROW(clnn_graph_input_value, "i -1", , clnn_graph_input_value(g, -1) == -1);
  VROW(clnn_graph_input_value, "i = num_inputs", , clnn_graph_input_value(g, clnn_graph_num_inputs(g)) == -1);
  VROW(clnn_graph_num_outputs, "NULL", , clnn_graph_num_outputs(NULL) == 0);
  VROW(clnn_graph_num_outputs, "none yet", , clnn_graph_num_outputs(g) == 0);
  VROW(clnn_graph_output_value, "NULL", , clnn_graph_output_value(NULL, 0) == -1);
  VROW(clnn_graph_output_value, "i 0 of none", , clnn_graph_output_value(g, 0) == -1);
  VROW(clnn_graph_output_value, "i -1", , clnn_graph_output_value(g, -1) == -1);
  char sbuf[24] = "unchanged";
  ROW(clnn_graph_summary, "graph NULL", INV, clnn_graph_summary(NULL, sbuf, sizeof sbuf));
  ROW(clnn_graph_summary, "buf NULL", INV, clnn_graph_summary(g, NULL, 100));
  ROW(clnn_graph_summary, "size 0", INV, clnn_graph_summary(g, sbuf, 0));
  TU_CHECK(!strcmp(sbuf, "unchanged"), "clnn_graph_summary: buf untouched on failure");
  ROW(clnn_graph_summary, "24-byte buffer (truncated, fine)", OK, clnn_graph_summary(g, sbuf, sizeof sbuf));
  TU_CHECK(strlen(sbuf) < sizeof sbuf, "clnn_graph_summary: NUL-terminated in a short buffer");
  TU_CHECK(clnn_graph_num_values(g) == nvals, "the failed calls left %d values (%d)", nvals,
           clnn_graph_num_values(g));
  clnn_graph_destroy(g);
#undef GROWN
#undef GROW
}
