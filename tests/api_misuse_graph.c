/* tests/api_misuse_graph.c — the API-misuse rows of graph models (every clnn_graph_* and
 * clnn_model_* function, model files, ONNX). Not a test of its own: tests/test_api_misuse.c
 * includes it, so the rows use that file's macros (ROW, VROW, GROW, ...), counters and coverage
 * check. */
/* ---- graph models (src/nn/graph.c, op_*.c, autodiff.c, model*.c, model_io.c) ---- */

/* The host-visible state of a model: every parameter's values, its trainable flag and current
 * learning rate, the step count, the trainable total and the optimizer's learning rate. */
static size_t model_state(clnn_model *m, float *buf, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < clnn_model_num_params(m); i++) {
    const char *name = clnn_model_param_name(m, i);
    clnn_tensor *t = NULL;
    float lr = -1;
    if (clnn_model_param(m, name, &t, NULL) != CLNN_SUCCESS || !t) continue;
    size_t k = clnn_tensor_numel(t);
    if (n + k + 2 > cap) break;
    clnn_tensor_read(t, buf + n, k);
    n += k;
    buf[n++] = (float)clnn_model_param_trainable(m, name);
    clnn_model_current_lr(m, name, &lr);
    buf[n++] = lr;
  }
  float lr = -1;
  clnn_model_current_lr(m, NULL, &lr);
  if (n + 3 <= cap) {
    buf[n++] = (float)clnn_model_step_count(m);
    buf[n++] = (float)clnn_model_num_trainable(m);
    buf[n++] = lr;
  }
  return n;
}

static char gsum0[16384], gsum1[16384];
static float mstate0[4096], mstate1[4096];

static void graph_model(void) {
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
  /* A model row on `m`: parameters, flags, learning rates and step count are unchanged. */
#define MROW(fn, what, want, call)                                                               \
  do {                                                                                           \
    size_t ns0_ = model_state(m, mstate0, 4096);                                                 \
    ROW(fn, what, want, call);                                                                   \
    size_t ns1_ = model_state(m, mstate1, 4096);                                                 \
    TU_CHECK(ns0_ == ns1_ && !memcmp(mstate0, mstate1, ns0_ * sizeof(float)),                    \
             "%s (%s): the failing call changed the model's parameters or settings", #fn, what); \
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

  /* ---- models ---- */
  clnn_model *m = (clnn_model *)&rows;
  ROW(clnn_model_create, "ctx NULL", INV, clnn_model_create(NULL, g, 1, &m));
  ROW(clnn_model_create, "graph NULL", INV, clnn_model_create(ctx, NULL, 1, &m));
  ROW(clnn_model_create, "out NULL", INV, clnn_model_create(ctx, g, 1, NULL));
  clnn_graph *empty = NULL;
  TU_OK(clnn_graph_create(&empty));
  ROW(clnn_model_create, "an empty graph (no output, no loss)", INV, clnn_model_create(ctx, empty, 1, &m));
  TU_OK(clnn_graph_input(empty, "in", CLNN_FLOAT32, 1, vec, &o));
  ROW(clnn_model_create, "a graph with an input but no output or loss", INV, clnn_model_create(ctx, empty, 1, &m));
  clnn_graph_destroy(empty);
  TU_CHECK(m == (clnn_model *)&rows || m == NULL, "clnn_model_create: *out untouched or NULL on failure");
  VROW(clnn_model_destroy, "NULL is a no-op", clnn_model_destroy(NULL), 1);
  VROW(clnn_model_graph, "NULL", , clnn_model_graph(NULL) == NULL);
  clnn_graph_destroy(g);

  /* the model under test: x [4] -> fc (dense 3) -> y, cross-entropy against lab; a dead branch
   * "side" (neither output nor loss) */
  size_t four[1] = {4};
  int y = -1, side = -1, ce = -1;
  g = NULL;
  TU_OK(clnn_graph_create(&g));
  TU_OK(clnn_graph_input(g, "x", CLNN_FLOAT32, 1, four, &x));
  TU_OK(clnn_graph_input(g, "lab", CLNN_INT32, 0, NULL, &lab));
  TU_OK(clnn_graph_dense(g, "fc", x, 3, 1, &y));
  TU_OK(clnn_graph_dense(g, "side", x, 2, 1, &side));
  TU_OK(clnn_graph_loss(g, "ce", CLNN_LOSS_SOFTMAX_CROSS_ENTROPY, y, lab, 1.0f, &ce));
  TU_OK(clnn_graph_output(g, y));
  m = NULL;
  TU_OK(clnn_model_create(ctx, g, 5, &m));
  /* the same without a loss, for the calls that need one */
  clnn_model *nl = NULL;
  clnn_graph *gn = NULL;
  int nx = -1, ny = -1;
  TU_OK(clnn_graph_create(&gn));
  TU_OK(clnn_graph_input(gn, "x", CLNN_FLOAT32, 1, four, &nx));
  TU_OK(clnn_graph_dense(gn, "fc", nx, 3, 1, &ny));
  TU_OK(clnn_graph_output(gn, ny));
  TU_OK(clnn_model_create(ctx, gn, 5, &nl));
  clnn_graph_destroy(gn);
  if (!m || !nl) {
    clnn_graph_destroy(g);
    clnn_model_destroy(m);
    clnn_model_destroy(nl);
    return;
  }
  TU_CHECK(clnn_graph_num_values(clnn_model_graph(m)) == clnn_graph_num_values(g), "the model's graph");
  clnn_graph_destroy(g); /* the model keeps its own copy */

  enum { B = 2 };
  float xb[B * 4 + 1], yb[B * 3 + 1], loss = -1;
  for (int i = 0; i < B * 4 + 1; i++) xb[i] = 0.1f * (float)(i - 3);
  for (int i = 0; i < B * 3 + 1; i++) yb[i] = -5.0f;
  int32_t lb[B] = {0, 2}, lbig[B] = {0, 3}, lneg[B] = {-1, 1};
  clnn_tensor *xt = T(ctx, B, 4), *xo = T(other, B, 4), *x5 = T(ctx, B, 5);
  clnn_feed good[2] = {{x, xb, B * 4, NULL}, {lab, lb, B, NULL}};
  clnn_feed f[3];
#define FEEDS(a, b) (f[0] = (a), f[1] = (b), f)
  clnn_feed fx = good[0], fl = good[1];
  clnn_feed fx_count = {x, xb, B * 4 + 1, NULL}, fx_both = {x, xb, B * 4, xt}, fx_none = {x, NULL, 0, NULL};
  clnn_feed fx_other = {x, NULL, 0, xo}, fx_t5 = {x, NULL, 0, x5}, f99 = {99, xb, B * 4, NULL};
  clnn_feed fneg = {-1, xb, B * 4, NULL}, fy = {y, yb, B * 3, NULL}, fl_big = {lab, lbig, B, NULL};
  clnn_feed fl_neg = {lab, lneg, B, NULL}, fl_float_t = {lab, NULL, 0, xt}, fl_count = {lab, lb, B - 1, NULL};

  VROW(clnn_model_step_count, "NULL", , clnn_model_step_count(NULL) == 0);
  VROW(clnn_model_num_params, "NULL", , clnn_model_num_params(NULL) == 0);
  VROW(clnn_model_num_params, "the dead branch has none", , clnn_model_num_params(m) == 2);
  VROW(clnn_model_param_name, "NULL", , clnn_model_param_name(NULL, 0) == NULL);
  VROW(clnn_model_param_name, "index 999", , clnn_model_param_name(m, 999) == NULL);
  VROW(clnn_model_param_name, "index = num_params", , clnn_model_param_name(m, clnn_model_num_params(m)) == NULL);
  VROW(clnn_model_num_trainable, "NULL", , clnn_model_num_trainable(NULL) == 0);
  VROW(clnn_model_param_trainable, "NULL", , clnn_model_param_trainable(NULL, "fc.weight") == -1);
  VROW(clnn_model_param_trainable, "name NULL", , clnn_model_param_trainable(m, NULL) == -1);
  VROW(clnn_model_param_trainable, "unknown name", , clnn_model_param_trainable(m, "nope.weight") == -1);
  VROW(clnn_model_param_trainable, "the dead branch's weight", , clnn_model_param_trainable(m, "side.weight") == -1);
  clnn_tensor *pv = (clnn_tensor *)&rows, *pg = (clnn_tensor *)&rows;
  MROW(clnn_model_param, "model NULL", INV, clnn_model_param(NULL, "fc.weight", &pv, &pg));
  MROW(clnn_model_param, "name NULL", INV, clnn_model_param(m, NULL, &pv, &pg));
  MROW(clnn_model_param, "unknown name", INV, clnn_model_param(m, "nope.weight", &pv, &pg));
  MROW(clnn_model_param, "a node's name, not a parameter's", INV, clnn_model_param(m, "fc", &pv, &pg));
  TU_CHECK(pv == (clnn_tensor *)&rows && pg == (clnn_tensor *)&rows, "clnn_model_param: out-pointers untouched");

  MROW(clnn_model_set_mode, "model NULL", INV, clnn_model_set_mode(NULL, CLNN_MODE_EVAL));
  MROW(clnn_model_set_mode, "mode 7", INV, clnn_model_set_mode(m, (clnn_mode)7));
  MROW(clnn_model_set_mode, "mode -1", INV, clnn_model_set_mode(m, (clnn_mode)-1));

  /* backward, value and grad before any forward */
  clnn_tensor *tv = (clnn_tensor *)&rows;
  MROW(clnn_model_backward, "before any forward", INV, clnn_model_backward(m, NULL, 0));
  MROW(clnn_model_value, "before any forward", INV, clnn_model_value(m, y, &tv));
  MROW(clnn_model_grad, "before any backward", INV, clnn_model_grad(m, y, &tv));
  MROW(clnn_model_optimizer_step, "model NULL", INV, clnn_model_optimizer_step(NULL));

  /* forward: feeds */
  MROW(clnn_model_forward, "model NULL", INV, clnn_model_forward(NULL, good, 2, B, &loss));
  MROW(clnn_model_forward, "batch 0", INV, clnn_model_forward(m, good, 2, 0, &loss));
  MROW(clnn_model_forward, "num_feeds -1", INV, clnn_model_forward(m, good, -1, B, &loss));
  MROW(clnn_model_forward, "feeds NULL, num_feeds 2", INV, clnn_model_forward(m, NULL, 2, B, &loss));
  MROW(clnn_model_forward, "no feeds (inputs needed)", INV, clnn_model_forward(m, NULL, 0, B, &loss));
  MROW(clnn_model_forward, "the label input missing", INV, clnn_model_forward(m, &fx, 1, B, &loss));
  MROW(clnn_model_forward, "the image input missing", INV, clnn_model_forward(m, &fl, 1, B, &loss));
  MROW(clnn_model_forward, "count = batch * numel + 1", INV, clnn_model_forward(m, FEEDS(fx_count, fl), 2, B, &loss));
  MROW(clnn_model_forward, "both host and tensor", INV, clnn_model_forward(m, FEEDS(fx_both, fl), 2, B, &loss));
  MROW(clnn_model_forward, "neither host nor tensor", INV, clnn_model_forward(m, FEEDS(fx_none, fl), 2, B, &loss));
  MROW(clnn_model_forward, "a tensor feed of [2, 5]", INV, clnn_model_forward(m, FEEDS(fx_t5, fl), 2, B, &loss));
  MROW(clnn_model_forward, "a tensor feed from another context", CTXM,
       clnn_model_forward(m, FEEDS(fx_other, fl), 2, B, &loss));
  MROW(clnn_model_forward, "a tensor feed for an int32 input", INV,
       clnn_model_forward(m, FEEDS(fx, fl_float_t), 2, B, &loss));
  MROW(clnn_model_forward, "a feed's value 99", INV, clnn_model_forward(m, FEEDS(fx, f99), 2, B, &loss));
  MROW(clnn_model_forward, "a feed's value -1", INV, clnn_model_forward(m, FEEDS(fx, fneg), 2, B, &loss));
  MROW(clnn_model_forward, "a feed for a node's output, not an input", INV,
       (f[2] = fy, clnn_model_forward(m, FEEDS(fx, fl), 3, B, &loss)));
  MROW(clnn_model_forward, "the same input fed twice", INV, clnn_model_forward(m, FEEDS(fx, fx), 2, B, &loss));
  MROW(clnn_model_forward, "label 3 of 3 classes", INV, clnn_model_forward(m, FEEDS(fx, fl_big), 2, B, &loss));
  MROW(clnn_model_forward, "label -1", INV, clnn_model_forward(m, FEEDS(fx, fl_neg), 2, B, &loss));
  MROW(clnn_model_forward, "label count = batch - 1", INV, clnn_model_forward(m, FEEDS(fx, fl_count), 2, B, &loss));
  TU_CHECK(loss == -1, "clnn_model_forward: *loss untouched by the failures (%g)", loss);
  MROW(clnn_model_value, "after failed forwards", INV, clnn_model_value(m, y, &tv));
  MROW(clnn_model_compute_gradients, "model NULL", INV, clnn_model_compute_gradients(NULL, good, 2, B, &loss));
  MROW(clnn_model_compute_gradients, "batch 0", INV, clnn_model_compute_gradients(m, good, 2, 0, &loss));
  MROW(clnn_model_compute_gradients, "the label input missing", INV, clnn_model_compute_gradients(m, &fx, 1, B, &loss));
  MROW(clnn_model_compute_gradients, "label 3 of 3 classes", INV,
       clnn_model_compute_gradients(m, FEEDS(fx, fl_big), 2, B, &loss));
  ROW(clnn_model_compute_gradients, "a graph without a loss", INV, clnn_model_compute_gradients(nl, &fx, 1, B, &loss));
  MROW(clnn_model_train_step, "model NULL", INV, clnn_model_train_step(NULL, good, 2, B, &loss));
  MROW(clnn_model_train_step, "batch 0", INV, clnn_model_train_step(m, good, 2, 0, &loss));
  MROW(clnn_model_train_step, "label 3 of 3 classes", INV, clnn_model_train_step(m, FEEDS(fx, fl_big), 2, B, &loss));
  MROW(clnn_model_train_step, "the same input fed twice", INV, clnn_model_train_step(m, FEEDS(fx, fx), 2, B, &loss));
  MROW(clnn_model_train_step, "count = batch * numel + 1", INV, clnn_model_train_step(m, FEEDS(fx_count, fl), 2, B, &loss));
  ROW(clnn_model_train_step, "a graph without a loss", INV, clnn_model_train_step(nl, &fx, 1, B, &loss));
  TU_CHECK(loss == -1 && clnn_model_step_count(m) == 0 && clnn_model_step_count(nl) == 0,
           "failed steps: no loss written (%g), no optimizer step counted (%llu)", loss,
           (unsigned long long)clnn_model_step_count(m));

  /* predict */
  MROW(clnn_model_predict, "model NULL", INV, clnn_model_predict(NULL, &fx, 1, B, -1, yb, B * 3));
  MROW(clnn_model_predict, "y NULL", INV, clnn_model_predict(m, &fx, 1, B, -1, NULL, B * 3));
  MROW(clnn_model_predict, "y_count = batch * 3 - 1", INV, clnn_model_predict(m, &fx, 1, B, -1, yb, B * 3 - 1));
  MROW(clnn_model_predict, "batch 0", INV, clnn_model_predict(m, &fx, 1, 0, -1, yb, 0));
  MROW(clnn_model_predict, "output 99", INV, clnn_model_predict(m, &fx, 1, B, 99, yb, B * 3));
  MROW(clnn_model_predict, "output = the int32 input", INV, clnn_model_predict(m, &fl, 1, B, lab, yb, B));
  MROW(clnn_model_predict, "output = the dead branch (not kept)", INV, clnn_model_predict(m, &fx, 1, B, side, yb, B * 2));
  MROW(clnn_model_predict, "x not fed", INV, clnn_model_predict(m, &fl, 1, B, -1, yb, B * 3));
  MROW(clnn_model_predict, "x fed twice", INV, clnn_model_predict(m, FEEDS(fx, fx), 2, B, -1, yb, B * 3));
  for (int i = 0; i < B * 3 + 1; i++) TU_CHECK(yb[i] == -5.0f, "clnn_model_predict: y untouched on failure");

  /* backward after a predict, then after a forward: seeds */
  TU_OK(clnn_model_predict(m, &fx, 1, B, -1, yb, B * 3));
  MROW(clnn_model_backward, "after a predict", INV, clnn_model_backward(m, NULL, 0));
  MROW(clnn_model_grad, "after a predict, before any backward", INV, clnn_model_grad(m, y, &tv));
  TU_OK(clnn_model_forward(m, good, 2, B, &loss));
  float seed6[B * 3 + 1] = {1, 2, 3, 4, 5, 6, 7};
  clnn_feed sy = {y, seed6, B * 3, NULL}, sy_count = {y, seed6, B * 3 + 1, NULL}, sx = {x, xb, B * 4, NULL};
  clnn_feed s99 = {99, seed6, B * 3, NULL}, sce = {ce, seed6, 1, NULL}, sy_both = {y, seed6, B * 3, xt};
  MROW(clnn_model_backward, "model NULL", INV, clnn_model_backward(NULL, NULL, 0));
  MROW(clnn_model_backward, "seeds NULL, num_seeds 1", INV, clnn_model_backward(m, NULL, 1));
  MROW(clnn_model_backward, "num_seeds -1", INV, clnn_model_backward(m, &sy, -1));
  MROW(clnn_model_backward, "a seed's value 99", INV, clnn_model_backward(m, &s99, 1));
  MROW(clnn_model_backward, "a seed for an input", INV, clnn_model_backward(m, &sx, 1));
  MROW(clnn_model_backward, "a seed for the scalar loss", INV, clnn_model_backward(m, &sce, 1));
  MROW(clnn_model_backward, "seed count = batch * 3 + 1", INV, clnn_model_backward(m, &sy_count, 1));
  MROW(clnn_model_backward, "a seed with both host and tensor", INV, clnn_model_backward(m, &sy_both, 1));
  clnn_feed two_seeds[2] = {sy, sy};
  MROW(clnn_model_backward, "two seeds for one value", INV, clnn_model_backward(m, two_seeds, 2));
  MROW(clnn_model_grad, "after a forward, before any backward", INV, clnn_model_grad(m, y, &tv));
  TU_OK(clnn_model_input_grad(m, x, 1));
  MROW(clnn_model_backward, "input gradients requested after the forward", INV, clnn_model_backward(m, NULL, 0));
  TU_OK(clnn_model_input_grad(m, x, 0));

  /* value and grad */
  MROW(clnn_model_value, "model NULL", INV, clnn_model_value(NULL, y, &tv));
  MROW(clnn_model_value, "t NULL", INV, clnn_model_value(m, y, NULL));
  MROW(clnn_model_value, "v 99", INV, clnn_model_value(m, 99, &tv));
  MROW(clnn_model_value, "v -1", INV, clnn_model_value(m, -1, &tv));
  MROW(clnn_model_value, "the dead branch (not computed)", INV, clnn_model_value(m, side, &tv));
  TU_OK(clnn_model_compute_gradients(m, good, 2, B, &loss));
  MROW(clnn_model_grad, "model NULL", INV, clnn_model_grad(NULL, y, &tv));
  MROW(clnn_model_grad, "t NULL", INV, clnn_model_grad(m, y, NULL));
  MROW(clnn_model_grad, "v 99", INV, clnn_model_grad(m, 99, &tv));
  MROW(clnn_model_grad, "v -1", INV, clnn_model_grad(m, -1, &tv));
  MROW(clnn_model_grad, "the int32 labels (no gradient)", INV, clnn_model_grad(m, lab, &tv));
  MROW(clnn_model_grad, "x without clnn_model_input_grad", INV, clnn_model_grad(m, x, &tv));
  MROW(clnn_model_grad, "the dead branch", INV, clnn_model_grad(m, side, &tv));
  TU_CHECK(tv == (clnn_tensor *)&rows, "clnn_model_value, clnn_model_grad: *t untouched on failure");
  /* a failed call leaves the last forward's values and gradients readable */
  clnn_tensor *tl = NULL;
  MROW(clnn_model_forward, "label 3 of 3 classes, after a good forward", INV,
       clnn_model_forward(m, FEEDS(fx, fl_big), 2, B, NULL));
  ROW(clnn_model_value, "the loss, after a failed forward", OK, clnn_model_value(m, ce, &tl));
  MROW(clnn_model_predict, "y_count wrong, after a good forward", INV, clnn_model_predict(m, &fx, 1, B, -1, yb, 5));
  MROW(clnn_model_predict, "x not fed, after a good forward", INV, clnn_model_predict(m, &fl, 1, B, -1, yb, B * 3));
  ROW(clnn_model_value, "the loss, after a failed predict", OK, clnn_model_value(m, ce, &tl));
  ROW(clnn_model_grad, "the output's gradient, after a failed predict", OK, clnn_model_grad(m, y, &tl));
  float xb3[3 * 4], yb3[3 * 3];
  for (int i = 0; i < 12; i++) xb3[i] = 0.02f * (float)i;
  clnn_feed fx3 = {x, xb3, 3 * 4, NULL};
  TU_OK(clnn_model_predict(m, &fx3, 1, 3, -1, yb3, 3 * 3)); /* another batch size: another plan */
  MROW(clnn_model_grad, "after a predict (batch 3) that followed the backward (batch 2)", INV,
       clnn_model_grad(m, y, &tv));

  /* input gradients */
  MROW(clnn_model_input_grad, "model NULL", INV, clnn_model_input_grad(NULL, x, 1));
  MROW(clnn_model_input_grad, "input 99", INV, clnn_model_input_grad(m, 99, 1));
  MROW(clnn_model_input_grad, "input -1", INV, clnn_model_input_grad(m, -1, 1));
  MROW(clnn_model_input_grad, "a node's output, not an input", INV, clnn_model_input_grad(m, y, 1));
  MROW(clnn_model_input_grad, "the int32 input", INV, clnn_model_input_grad(m, lab, 1));

  /* freezing, optimizer, groups, schedules */
  size_t matched = 777;
  MROW(clnn_model_set_trainable, "model NULL", INV, clnn_model_set_trainable(NULL, "fc", 0, &matched));
  MROW(clnn_model_set_trainable, "prefix matches nothing", INV, clnn_model_set_trainable(m, "zzz", 0, &matched));
  MROW(clnn_model_set_trainable, "prefix of the dead branch", INV, clnn_model_set_trainable(m, "side", 0, &matched));
  TU_CHECK(matched == 777, "clnn_model_set_trainable: *matched untouched on failure (%zu)", matched);
  clnn_optimizer_config oc;
  clnn_optimizer_config_init(&oc, CLNN_OPTIM_SGD, 0.1f);
  MROW(clnn_model_set_optimizer, "model NULL", INV, clnn_model_set_optimizer(NULL, &oc));
  MROW(clnn_model_set_optimizer, "cfg NULL", INV, clnn_model_set_optimizer(m, NULL));
  oc.lr = -1;
  MROW(clnn_model_set_optimizer, "lr -1", INV, clnn_model_set_optimizer(m, &oc));
  oc.lr = NAN;
  MROW(clnn_model_set_optimizer, "lr NaN", INV, clnn_model_set_optimizer(m, &oc));
  oc.lr = 0.1f;
  oc.type = (clnn_optimizer_type)99;
  MROW(clnn_model_set_optimizer, "type 99", INV, clnn_model_set_optimizer(m, &oc));
  clnn_optimizer_config_init(&oc, CLNN_OPTIM_ADAM, 1e-3f);
  oc.beta1 = 1.0f;
  MROW(clnn_model_set_optimizer, "beta1 = 1", INV, clnn_model_set_optimizer(m, &oc));
  clnn_optimizer_config_init(&oc, CLNN_OPTIM_ADAM, 1e-3f);
  oc.clip_grad_norm = -1.0f;
  MROW(clnn_model_set_optimizer, "clip_grad_norm -1", INV, clnn_model_set_optimizer(m, &oc));
  MROW(clnn_model_set_param_group, "model NULL", INV, clnn_model_set_param_group(NULL, "fc", 0.1f, 0));
  MROW(clnn_model_set_param_group, "prefix NULL", INV, clnn_model_set_param_group(m, NULL, 0.1f, 0));
  MROW(clnn_model_set_param_group, "lr -0.1", INV, clnn_model_set_param_group(m, "fc", -0.1f, 0));
  MROW(clnn_model_set_param_group, "lr NaN", INV, clnn_model_set_param_group(m, "fc", NAN, 0));
  MROW(clnn_model_set_param_group, "lr infinite", INV, clnn_model_set_param_group(m, "fc", INFINITY, 0));
  MROW(clnn_model_set_param_group, "weight_decay -1", INV, clnn_model_set_param_group(m, "fc", 0.1f, -1.0f));
  MROW(clnn_model_set_param_group, "prefix matches nothing", INV, clnn_model_set_param_group(m, "zzz", 0.1f, 0));
  MROW(clnn_model_set_param_group, "prefix longer than any name", INV,
       clnn_model_set_param_group(m, "fc.weightabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij", 0.1f, 0));
  MROW(clnn_model_set_learning_rate, "model NULL", INV, clnn_model_set_learning_rate(NULL, 0.1f));
  MROW(clnn_model_set_learning_rate, "lr -1", INV, clnn_model_set_learning_rate(m, -1));
  MROW(clnn_model_set_learning_rate, "lr NaN", INV, clnn_model_set_learning_rate(m, NAN));
  MROW(clnn_model_set_learning_rate, "lr infinite", INV, clnn_model_set_learning_rate(m, INFINITY));
  clnn_schedule s;
  clnn_schedule_init(&s);
  s.type = CLNN_SCHEDULE_COSINE;
  s.warmup_steps = 10;
  s.total_steps = 20;
  s.min_ratio = 0.1f;
  MROW(clnn_model_set_schedule, "model NULL", INV, clnn_model_set_schedule(NULL, &s));
  MROW(clnn_model_set_schedule, "s NULL", INV, clnn_model_set_schedule(m, NULL));
  s.type = (clnn_schedule_type)99;
  MROW(clnn_model_set_schedule, "type 99", INV, clnn_model_set_schedule(m, &s));
  s.type = (clnn_schedule_type)-1;
  MROW(clnn_model_set_schedule, "type -1", INV, clnn_model_set_schedule(m, &s));
  s.type = CLNN_SCHEDULE_COSINE;
  s.warmup_steps = 20;
  MROW(clnn_model_set_schedule, "cosine, warmup = total", INV, clnn_model_set_schedule(m, &s));
  s.warmup_steps = 30;
  MROW(clnn_model_set_schedule, "cosine, warmup > total", INV, clnn_model_set_schedule(m, &s));
  s.warmup_steps = 0;
  s.total_steps = 0;
  MROW(clnn_model_set_schedule, "cosine, total 0", INV, clnn_model_set_schedule(m, &s));
  s.total_steps = 20;
  s.min_ratio = 1.5f;
  MROW(clnn_model_set_schedule, "cosine, min_ratio 1.5", INV, clnn_model_set_schedule(m, &s));
  s.min_ratio = NAN;
  MROW(clnn_model_set_schedule, "cosine, min_ratio NaN", INV, clnn_model_set_schedule(m, &s));
  s.min_ratio = 0.1f;
  s.type = CLNN_SCHEDULE_STEP;
  s.step_size = 0;
  s.gamma = 0.5f;
  MROW(clnn_model_set_schedule, "step, step_size 0", INV, clnn_model_set_schedule(m, &s));
  s.step_size = 5;
  s.gamma = 0;
  MROW(clnn_model_set_schedule, "step, gamma 0", INV, clnn_model_set_schedule(m, &s));
  s.gamma = NAN;
  MROW(clnn_model_set_schedule, "step, gamma NaN", INV, clnn_model_set_schedule(m, &s));
  float lr = -3;
  MROW(clnn_model_current_lr, "model NULL", INV, clnn_model_current_lr(NULL, NULL, &lr));
  MROW(clnn_model_current_lr, "lr NULL", INV, clnn_model_current_lr(m, NULL, NULL));
  MROW(clnn_model_current_lr, "unknown parameter", INV, clnn_model_current_lr(m, "nope.weight", &lr));
  TU_CHECK(lr == -3, "clnn_model_current_lr: *lr untouched on failure");
  TU_OK(clnn_model_current_lr(m, NULL, &lr));
  TU_CHECK(lr == 1e-3f, "the failed calls left Adam's default learning rate (%g)", lr);
  TU_CHECK(clnn_model_step_count(m) == 0, "no optimizer step so far (%llu)", (unsigned long long)clnn_model_step_count(m));
  TU_OK(clnn_model_train_step(m, good, 2, B, &loss));
  TU_CHECK(clnn_model_step_count(m) == 1, "one step counted (%llu)", (unsigned long long)clnn_model_step_count(m));
  MROW(clnn_model_train_step, "label -1, after a step", INV, clnn_model_train_step(m, FEEDS(fx, fl_neg), 2, B, &loss));
  TU_CHECK(clnn_model_step_count(m) == 1, "still one step counted (%llu)", (unsigned long long)clnn_model_step_count(m));

  /* dataset loops */
  float dx[6 * 4], dx5[6 * 5];
  int32_t dl[6] = {0, 1, 2, 0, 1, 2}, dl_big[6] = {0, 1, 2, 0, 1, 5};
  for (int i = 0; i < 6 * 5; i++) {
    if (i < 24) dx[i] = 0.05f * (float)i;
    dx5[i] = 0.01f * (float)i;
  }
  clnn_dataset *ds = NULL, *ds5 = NULL, *ds_big = NULL;
  TU_OK(clnn_dataset_create(6, 1, four, dx, 6 * 4, dl, 6, &ds));
  TU_OK(clnn_dataset_create(6, 1, vec, dx5, 6 * 5, dl, 6, &ds5));
  TU_OK(clnn_dataset_create(6, 1, four, dx, 6 * 4, dl_big, 6, &ds_big));
  float ml = -1, acc = -1;
  MROW(clnn_model_train_epoch, "model NULL", INV, clnn_model_train_epoch(NULL, ds, 4, x, lab, &ml));
  MROW(clnn_model_train_epoch, "ds NULL", INV, clnn_model_train_epoch(m, NULL, 4, x, lab, &ml));
  MROW(clnn_model_train_epoch, "batch_size 0", INV, clnn_model_train_epoch(m, ds, 0, x, lab, &ml));
  MROW(clnn_model_train_epoch, "x 99", INV, clnn_model_train_epoch(m, ds, 4, 99, lab, &ml));
  MROW(clnn_model_train_epoch, "x is the int32 input", INV, clnn_model_train_epoch(m, ds, 4, lab, lab, &ml));
  MROW(clnn_model_train_epoch, "labels is the float input", INV, clnn_model_train_epoch(m, ds, 4, x, x, &ml));
  MROW(clnn_model_train_epoch, "x is a node's output", INV, clnn_model_train_epoch(m, ds, 4, y, lab, &ml));
  MROW(clnn_model_train_epoch, "samples of 5 values for an input of 4", INV, clnn_model_train_epoch(m, ds5, 4, x, lab, &ml));
  MROW(clnn_model_train_epoch, "a label 5 of 3 classes (in the last batch)", INV, clnn_model_train_epoch(m, ds_big, 4, x, lab, &ml));
  ROW(clnn_model_train_epoch, "a graph without a loss (or labels)", INV, clnn_model_train_epoch(nl, ds, 4, nx, nx, &ml));
  TU_CHECK(ml == -1, "clnn_model_train_epoch: *mean_loss untouched on failure");
  MROW(clnn_model_evaluate, "model NULL", INV, clnn_model_evaluate(NULL, ds, 4, x, lab, -1, &ml, &acc));
  MROW(clnn_model_evaluate, "ds NULL", INV, clnn_model_evaluate(m, NULL, 4, x, lab, -1, &ml, &acc));
  MROW(clnn_model_evaluate, "batch_size 0", INV, clnn_model_evaluate(m, ds, 0, x, lab, -1, &ml, &acc));
  MROW(clnn_model_evaluate, "output 99", INV, clnn_model_evaluate(m, ds, 4, x, lab, 99, &ml, &acc));
  MROW(clnn_model_evaluate, "output = the dead branch", INV, clnn_model_evaluate(m, ds, 4, x, lab, side, &ml, &acc));
  MROW(clnn_model_evaluate, "output = the scalar loss (not class scores)", INV,
       clnn_model_evaluate(m, ds, 4, x, lab, ce, &ml, &acc));
  MROW(clnn_model_evaluate, "labels -1", INV, clnn_model_evaluate(m, ds, 4, x, -1, -1, &ml, &acc));
  MROW(clnn_model_evaluate, "samples of 5 values for an input of 4", INV, clnn_model_evaluate(m, ds5, 4, x, lab, -1, &ml, &acc));
  MROW(clnn_model_evaluate, "a label 5 of 3 classes", INV, clnn_model_evaluate(m, ds_big, 4, x, lab, -1, &ml, &acc));
  TU_CHECK(ml == -1 && acc == -1, "clnn_model_evaluate: results untouched on failure");
  MROW(clnn_model_evaluate, "both results NULL (allowed)", OK, clnn_model_evaluate(m, ds, 4, x, lab, -1, NULL, NULL));

  /* model files */
  char dir[] = "/tmp/clnn-misuse-XXXXXX", path[96], path2[96];
  if (!mkdtemp(dir)) snprintf(dir, sizeof dir, "/tmp");
  snprintf(path, sizeof path, "%s/m.safetensors", dir);
  snprintf(path2, sizeof path2, "%s/missing.safetensors", dir);
  char miss[16] = "unchanged", unexp[16] = "unchanged";
  clnn_model *lm = (clnn_model *)&rows;
  clnn_graph *lg = (clnn_graph *)&rows;
  MROW(clnn_model_save, "model NULL", INV, clnn_model_save(NULL, path, 0));
  MROW(clnn_model_save, "path NULL", INV, clnn_model_save(m, NULL, 0));
  MROW(clnn_model_save, "unknown flags", INV, clnn_model_save(m, path, 0x40));
  MROW(clnn_model_save, "directory that does not exist", CLNN_ERROR_IO,
       clnn_model_save(m, "/nonexistent-dir/m.safetensors", 0));
  MROW(clnn_model_save, "path is a directory", CLNN_ERROR_IO, clnn_model_save(m, dir, 0));
  ROW(clnn_model_load_file, "ctx NULL", INV, clnn_model_load_file(NULL, path, &lm));
  ROW(clnn_model_load_file, "path NULL", INV, clnn_model_load_file(ctx, NULL, &lm));
  ROW(clnn_model_load_file, "out NULL", INV, clnn_model_load_file(ctx, path, NULL));
  ROW(clnn_model_load_file, "no such file", CLNN_ERROR_IO, clnn_model_load_file(ctx, path2, &lm));
  ROW(clnn_model_load_file, "a directory", CLNN_ERROR_IO, clnn_model_load_file(ctx, dir, &lm));
  ROW(clnn_model_load_file, "not a safetensors file", CLNN_ERROR_FORMAT, clnn_model_load_file(ctx, "/proc/self/status", &lm));
  TU_CHECK(lm == (clnn_model *)&rows || lm == NULL, "clnn_model_load_file: *out untouched or NULL on failure");
  ROW(clnn_graph_load, "path NULL", INV, clnn_graph_load(NULL, &lg));
  ROW(clnn_graph_load, "out NULL", INV, clnn_graph_load(path, NULL));
  ROW(clnn_graph_load, "no such file", CLNN_ERROR_IO, clnn_graph_load(path2, &lg));
  ROW(clnn_graph_load, "not a safetensors file", CLNN_ERROR_FORMAT, clnn_graph_load("/proc/self/status", &lg));
  TU_CHECK(lg == (clnn_graph *)&rows || lg == NULL, "clnn_graph_load: *out untouched or NULL on failure");
  /* ONNX files (src/nn/onnx_*.c) */
  ROW(clnn_model_load_onnx, "ctx NULL", INV, clnn_model_load_onnx(NULL, path, &lm));
  ROW(clnn_model_load_onnx, "path NULL", INV, clnn_model_load_onnx(ctx, NULL, &lm));
  ROW(clnn_model_load_onnx, "out NULL", INV, clnn_model_load_onnx(ctx, path, NULL));
  ROW(clnn_model_load_onnx, "no such file", CLNN_ERROR_IO, clnn_model_load_onnx(ctx, path2, &lm));
  ROW(clnn_model_load_onnx, "a directory", CLNN_ERROR_IO, clnn_model_load_onnx(ctx, dir, &lm));
  ROW(clnn_model_load_onnx, "not an ONNX file", CLNN_ERROR_FORMAT, clnn_model_load_onnx(ctx, "/proc/self/status", &lm));
  TU_CHECK(lm == (clnn_model *)&rows || lm == NULL, "clnn_model_load_onnx: *out untouched or NULL on failure");
  ROW(clnn_graph_load_onnx, "path NULL", INV, clnn_graph_load_onnx(NULL, &lg));
  ROW(clnn_graph_load_onnx, "out NULL", INV, clnn_graph_load_onnx(path, NULL));
  ROW(clnn_graph_load_onnx, "no such file", CLNN_ERROR_IO, clnn_graph_load_onnx(path2, &lg));
  ROW(clnn_graph_load_onnx, "not an ONNX file", CLNN_ERROR_FORMAT, clnn_graph_load_onnx("/proc/self/status", &lg));
  TU_CHECK(lg == (clnn_graph *)&rows || lg == NULL, "clnn_graph_load_onnx: *out untouched or NULL on failure");
  MROW(clnn_model_save_onnx, "model NULL", INV, clnn_model_save_onnx(NULL, path));
  MROW(clnn_model_save_onnx, "path NULL", INV, clnn_model_save_onnx(m, NULL));
  MROW(clnn_model_save_onnx, "directory that does not exist", CLNN_ERROR_IO,
       clnn_model_save_onnx(m, "/nonexistent-dir/m.onnx"));
  MROW(clnn_model_save_onnx, "path is a directory", CLNN_ERROR_IO, clnn_model_save_onnx(m, dir));
  MROW(clnn_model_load, "model NULL", INV, clnn_model_load(NULL, path, 1, NULL, 0, NULL, 0));
  MROW(clnn_model_load, "path NULL", INV, clnn_model_load(m, NULL, 1, NULL, 0, NULL, 0));
  MROW(clnn_model_load, "strict 2", INV, clnn_model_load(m, path, 2, NULL, 0, NULL, 0));
  MROW(clnn_model_load, "missing NULL with size 16", INV, clnn_model_load(m, path, 0, NULL, 16, unexp, 16));
  MROW(clnn_model_load, "unexpected NULL with size 16", INV, clnn_model_load(m, path, 0, miss, 16, NULL, 16));
  MROW(clnn_model_load, "no such file", CLNN_ERROR_IO, clnn_model_load(m, path2, 0, miss, 16, unexp, 16));
  MROW(clnn_model_load, "not a safetensors file", CLNN_ERROR_FORMAT,
       clnn_model_load(m, "/proc/self/status", 0, miss, 16, unexp, 16));
  TU_CHECK(!strcmp(miss, "unchanged") && !strcmp(unexp, "unchanged"), "clnn_model_load: lists untouched on failure");
  /* a real file of another model: shapes that do not fit */
  if (clnn_model_save(nl, path, 0) == CLNN_SUCCESS) {
    clnn_graph *g3 = NULL;
    clnn_model *m3 = NULL;
    int x3, y3;
    size_t seven[1] = {7};
    TU_OK(clnn_graph_create(&g3));
    TU_OK(clnn_graph_input(g3, "x", CLNN_FLOAT32, 1, seven, &x3));
    TU_OK(clnn_graph_dense(g3, "fc", x3, 3, 1, &y3));
    TU_OK(clnn_graph_output(g3, y3));
    TU_OK(clnn_model_create(ctx, g3, 1, &m3));
    clnn_graph_destroy(g3);
    if (m3) {
      clnn_model *keep = m;
      m = m3;
      MROW(clnn_model_load, "fc.weight [3, 4] into [3, 7], strict", CLNN_ERROR_FORMAT,
           clnn_model_load(m, path, 1, NULL, 0, NULL, 0));
      MROW(clnn_model_load, "fc.weight [3, 4] into [3, 7], not strict", CLNN_ERROR_FORMAT,
           clnn_model_load(m, path, 0, miss, 16, unexp, 16));
      m = keep;
      clnn_model_destroy(m3);
    }
    ROW(clnn_model_load, "the model's own file, strict (fine)", OK, clnn_model_load(nl, path, 1, NULL, 0, NULL, 0));
  } else {
    TU_CHECK(0, "clnn_model_save of a small model: %s", clnn_last_error());
  }
  remove(path);
  remove(dir);

  clnn_dataset_destroy(ds);
  clnn_dataset_destroy(ds5);
  clnn_dataset_destroy(ds_big);
  clnn_model_destroy(nl);
  clnn_model_destroy(m);
#undef FEEDS
#undef MROW
#undef GROWN
#undef GROW
}
