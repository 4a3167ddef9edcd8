/* tests/test_net.c — the network API: a two-layer perceptron learns XOR (reproducibly from its
 * seed); an LSTM learns to predict noisy sine waves below a stated loss; LSTM parameters start as
 * documented (forget-gate bias 1, other biases 0; through the graph API too); gradients of whole
 * networks (conv, transposed conv, pooling, batch norm, dense, LSTM, every activation) match
 * central finite differences; every optimizer lowers a loss; parameter names, shapes and the
 * summary; sequence layouts and batch-size changes; a layer whose shapes do not fit is an error
 * naming it; every error path returns a status with a message and changes nothing; the README's
 * example (tests/readme_example.c) compiles, runs, prints ten epochs and saves a network that
 * scores what it printed last (at least 80%). */
#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static clnn_context *ctx;

/* The README's network example, compiled here verbatim and run on the shipped data. */
#define main readme_example_main
#include "readme_example.c"
#undef main

static clnn_net *new_net(int ndim, const size_t *dims, uint64_t seed);

static void test_readme_example(void) {
  const char *src = getenv("CLNN_SOURCE_DIR");
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/data/digits", src ? src : "..");
  char *argv[] = {"readme_example", dir, NULL};
  int rc = 0;
  char *out = tu_run_captured(readme_example_main, 2, argv, &rc);
  TU_CHECK(rc == 0, "the README example failed (%s)", clnn_last_error());
  /* ten lines "epoch E: loss L, test accuracy A%"; the last one's accuracy is the saved network's */
  int epochs = 0, last_epoch = 0;
  float last_acc = -1, loss = 0;
  for (char *line = out; line && *line;) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = 0;
    int e;
    float l, pct;
    if (sscanf(line, "epoch %d: loss %f, test accuracy %f%%", &e, &l, &pct) == 3) {
      epochs++;
      last_epoch = e;
      last_acc = pct;
      loss = l;
    }
    line = nl ? nl + 1 : NULL;
  }
  free(out);
  TU_CHECK(epochs == 10 && last_epoch == 10, "the README example printed %d epoch lines (last %d), want 10",
           epochs, last_epoch);
  TU_CHECK(loss > 0 && loss < 0.5f, "the README example's last epoch loss %g, want in (0, 0.5)", loss);
  /* what it saved is the trained network: the same layers loaded from the file score what the
   * program printed last, above the stated level (chance is 10%) */
  char a[1100], b[1100];
  snprintf(a, sizeof a, "%s/test-images-idx3-ubyte", dir);
  snprintf(b, sizeof b, "%s/test-labels-idx1-ubyte", dir);
  clnn_dataset *test = NULL;
  size_t in[3] = {1, 8, 8};
  clnn_net *net = new_net(3, in, 1);
  float acc = 0;
  TU_OK(clnn_net_add_conv2d(net, 16, 3, 1, 1));
  TU_OK(clnn_net_add_activation(net, CLNN_ACT_RELU, 0));
  TU_OK(clnn_net_add_maxpool2d(net, 2, 2, 0));
  TU_OK(clnn_net_add_flatten(net));
  TU_OK(clnn_net_add_dense(net, 10));
  TU_OK(clnn_dataset_load_idx(a, b, &test));
  TU_OK(clnn_net_load(net, "digits.safetensors"));
  if (test) TU_OK(clnn_net_evaluate(net, test, 360, NULL, &acc));
  printf("readme example: the saved network scores %.2f%% on the test digits (printed %.1f%%; stated level 80%%)\n",
         100.0 * acc, last_acc);
  TU_CHECK(acc >= 0.80f, "the README example's saved network: test accuracy %.4f, want >= 0.80", acc);
  TU_CHECK(fabs(100.0 * acc - last_acc) <= 0.051, "the saved network scores %.2f%%, the program printed %.1f%%",
           100.0 * acc, last_acc);
  clnn_net_destroy(net);
  clnn_dataset_destroy(test);
  remove("digits.safetensors");
}

/* Checks that `call` returned `want` with a message containing `needle`. */
#define EXPECT_ERR(call, want, needle)                                                            \
  do {                                                                                           \
    clnn_status s_ = (call);                                                                     \
    TU_CHECK(s_ == (want), "%s: got %s, want %s (%s)", #call, clnn_status_string(s_),            \
             clnn_status_string(want), clnn_last_error());                                       \
    TU_CHECK(strstr(clnn_last_error(), (needle)) != NULL, "%s: message '%s' lacks '%s'", #call,  \
             clnn_last_error(), (needle));                                                       \
  } while (0)

static clnn_net *new_net(int ndim, const size_t *dims, uint64_t seed) {
  clnn_net *net = NULL;
  TU_OK(clnn_net_create(ctx, ndim, dims, seed, &net));
  if (!net) exit(1);
  return net;
}

/* ---- XOR ---- */

static void test_xor(void) {
  const float x[8] = {0, 0, 0, 1, 1, 0, 1, 1};
  const float t[4] = {0, 1, 1, 0};
  const int32_t lab[4] = {0, 1, 1, 0};
  float out[2][4];
  for (int run = 0; run < 2; run++) {
    size_t in = 2;
    clnn_net *net = new_net(1, &in, 1234);
    TU_OK(clnn_net_add_dense(net, 8));
    TU_OK(clnn_net_add_activation(net, CLNN_ACT_TANH, 0));
    TU_OK(clnn_net_add_dense(net, 1));
    TU_OK(clnn_net_set_loss(net, CLNN_LOSS_BCE_WITH_LOGITS));
    clnn_optimizer_config opt;
    clnn_optimizer_config_init(&opt, CLNN_OPTIM_ADAM, 0.05f);
    TU_OK(clnn_net_set_optimizer(net, &opt));
    float loss = 0, first = 0;
    for (int step = 0; step < 300; step++) {
      TU_OK(clnn_net_train_step(net, x, 4 * 2, 4, NULL, 0, t, 4,
                                step == 0 || step == 299 ? &loss : NULL));
      if (step == 0) first = loss;
    }
    float acc = 0;
    TU_OK(clnn_net_accuracy(net, x, 4 * 2, lab, 4, 4, 4, &acc));
    TU_OK(clnn_net_predict(net, x, 4 * 2, 4, out[run], 4));
    if (run == 0)
      printf("xor: loss %.4f -> %.4f, accuracy %.2f, outputs %.2f %.2f %.2f %.2f\n", first, loss,
             acc, out[0][0], out[0][1], out[0][2], out[0][3]);
    TU_CHECK(loss < 0.05f, "xor loss %g after 300 steps (want < 0.05)", loss);
    TU_CHECK(acc == 1.0f, "xor accuracy %g", acc);
    TU_CHECK(clnn_net_step_count(net) == 300, "step count");
    clnn_net_destroy(net);
  }
  TU_CHECK(memcmp(out[0], out[1], sizeof out[0]) == 0, "same seed: bit-identical run");
}

/* ---- LSTM: next value of noisy sine waves ---- */

static void sine_batch(size_t n, size_t T, float *x, float *y) {
  for (size_t b = 0; b < n; b++) {
    float freq = tu_uniform(0.15f, 0.45f), phase = tu_uniform(0.0f, 6.2831853f);
    for (size_t t = 0; t <= T; t++) {
      float v = sinf(freq * (float)t + phase);
      if (t < T) x[b * T + t] = v + tu_uniform(-0.05f, 0.05f);
      else y[b] = v;
    }
  }
}

static void test_lstm_learns(void) {
  const size_t T = 16, B = 32;
  size_t in[2] = {T, 1};
  clnn_net *net = new_net(2, in, 7);
  TU_OK(clnn_net_add_lstm(net, 24, 0));
  TU_OK(clnn_net_add_dense(net, 1));
  TU_OK(clnn_net_set_loss(net, CLNN_LOSS_MSE));
  clnn_optimizer_config opt;
  clnn_optimizer_config_init(&opt, CLNN_OPTIM_ADAM, 0.01f);
  TU_OK(clnn_net_set_optimizer(net, &opt));
  float x[32 * 16], y[32], loss = 0;
  tu_seed(99);
  double t0 = 0;
  (void)t0;
  for (int step = 0; step < 400; step++) {
    sine_batch(B, T, x, y);
    TU_OK(clnn_net_train_step(net, x, B * T, B, NULL, 0, y, B, NULL));
  }
  /* held-out loss: mean over 4 fresh batches, in inference mode */
  double mse = 0;
  for (int k = 0; k < 4; k++) {
    float pred[32];
    sine_batch(B, T, x, y);
    TU_OK(clnn_net_predict(net, x, B * T, B, pred, B));
    for (size_t b = 0; b < B; b++) mse += (double)(pred[b] - y[b]) * (pred[b] - y[b]);
  }
  mse /= 4.0 * (double)B;
  TU_OK(clnn_net_compute_gradients(net, x, B * T, B, NULL, 0, y, B, &loss));
  printf("lstm: held-out MSE %.5f after 400 steps (sine variance 0.5; stated level 0.01)\n", mse);
  TU_CHECK(mse < 0.01, "LSTM held-out MSE %g, want < 0.01", mse);
  TU_CHECK(fabs(loss - mse) < 0.05, "training-mode loss %g close to predict MSE %g", loss, mse);
  clnn_net_destroy(net);
}

/* ---- LSTM initialisation as documented: biases zero except the forget gate's quarter (1) ---- */

/* bias [4H] (gates i, f, g, o) is 0, 1 on [H, 2H); weight [4H, F] is not all zero and lies in the
 * Glorot-uniform bound of one gate, sqrt(6 / (F + H)) (plus a rounding margin). */
static void check_lstm_init(const char *who, clnn_tensor *bias, clnn_tensor *weight, size_t H, size_t F) {
  float *b = tu_read(bias), *w = tu_read(weight);
  int bias_ok = clnn_tensor_numel(bias) == 4 * H;
  for (size_t i = 0; bias_ok && i < 4 * H; i++) bias_ok = b[i] == (i >= H && i < 2 * H ? 1.0f : 0.0f);
  TU_CHECK(bias_ok, "%s: LSTM bias is 0 except 1 on the forget gate [H, 2H) (H %zu; b[0] %g, b[H] %g)", who, H,
           b[0], b[H]);
  double bound = sqrt(6.0 / (double)(F + H)) * 1.0001, amax = 0;
  for (size_t i = 0; i < 4 * H * F; i++) amax = fabs(w[i]) > amax ? fabs(w[i]) : amax;
  TU_CHECK(amax > 0 && amax <= bound, "%s: LSTM weight_ih max |w| %g, want in (0, %g]", who, amax, bound);
  free(b);
  free(w);
}

static void test_lstm_init(void) {
  /* the network API: two stacked LSTMs (the second one's input is the first one's hidden state) */
  size_t in[2] = {3, 4};
  clnn_net *net = new_net(2, in, 11);
  TU_OK(clnn_net_add_lstm(net, 5, 1));
  TU_OK(clnn_net_add_lstm(net, 7, 0));
  static const char *names[2][2] = {{"lstm1.bias", "lstm1.weight_ih"}, {"lstm2.bias", "lstm2.weight_ih"}};
  static const size_t H[2] = {5, 7}, F[2] = {4, 5};
  for (int l = 0; l < 2; l++) {
    clnn_tensor *b = NULL, *w = NULL;
    TU_OK(clnn_net_param(net, names[l][0], &b, NULL));
    TU_OK(clnn_net_param(net, names[l][1], &w, NULL));
    if (b && w) check_lstm_init(names[l][0], b, w, H[l], F[l]);
  }
  clnn_net_destroy(net);
  /* the graph API */
  clnn_graph *g = NULL;
  int x = -1, h = -1;
  TU_OK(clnn_graph_create(&g));
  TU_OK(clnn_graph_input(g, "x", CLNN_FLOAT32, 2, in, &x));
  TU_OK(clnn_graph_lstm(g, "enc", x, 6, 0, &h));
  TU_OK(clnn_graph_output(g, h));
  clnn_model *m = NULL;
  TU_OK(clnn_model_create(ctx, g, 5, &m));
  clnn_graph_destroy(g);
  if (m) {
    clnn_tensor *b = NULL, *w = NULL;
    TU_OK(clnn_model_param(m, "enc.bias", &b, NULL));
    TU_OK(clnn_model_param(m, "enc.weight_ih", &w, NULL));
    if (b && w) check_lstm_init("graph enc.bias", b, w, 6, 4);
    clnn_model_destroy(m);
  }
}

/* ---- inspection is const: it allocates nothing and leaves layers addable ---- */

/* The names and trainable count the inspection calls give (before finalisation: from the layers)
 * equal those of the finalised parameter table. */
static void check_names_match_finalised(clnn_net *net, const char *what) {
  size_t n = clnn_net_num_params(net), trainable = clnn_net_num_trainable(net);
  char(*names)[80] = calloc(n ? n : 1, sizeof *names);
  for (size_t i = 0; i < n; i++) {
    const char *nm = clnn_net_param_name(net, i);
    snprintf(names[i], sizeof names[i], "%s", nm ? nm : "(null)");
  }
  TU_CHECK(clnn_net_param_name(net, n) == NULL, "%s: no name past the last", what);
  TU_OK(clnn_net_param(net, names[0], NULL, NULL)); /* finalises */
  TU_CHECK(clnn_net_num_params(net) == n, "%s: %zu tensors before finalisation, %zu after", what, n,
           clnn_net_num_params(net));
  TU_CHECK(clnn_net_num_trainable(net) == trainable, "%s: %zu trainable scalars before finalisation, %zu after",
           what, trainable, clnn_net_num_trainable(net));
  size_t total = 0;
  for (size_t i = 0; i < n && i < clnn_net_num_params(net); i++) {
    const char *nm = clnn_net_param_name(net, i);
    TU_CHECK(nm && !strcmp(nm, names[i]), "%s: tensor %zu is %s after finalisation, %s before", what, i,
             nm ? nm : "NULL", names[i]);
    clnn_tensor *g = NULL, *v = NULL;
    TU_OK(clnn_net_param(net, names[i], &v, &g));
    if (g) total += clnn_tensor_numel(v);
  }
  TU_CHECK(total == trainable, "%s: the tensors with gradients hold %zu scalars, counted %zu", what, total,
           trainable);
  free(names);
}

static void test_inspection_is_const(void) {
  size_t in[3] = {2, 6, 6};
  clnn_net *net = new_net(3, in, 3);
  clnn_conv2d_params p;
  clnn_conv2d_params_init(&p);
  p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 1;
  TU_OK(clnn_net_add_conv2d_ex(net, 3, 3, 3, &p, 0)); /* no bias */
  TU_OK(clnn_net_add_batchnorm(net, 0, 0));
  TU_OK(clnn_net_add_activation(net, CLNN_ACT_RELU, 0));
  TU_OK(clnn_net_add_conv_transpose2d(net, 2, 2, 2, 0));
  TU_OK(clnn_net_add_flatten(net));
  TU_OK(clnn_net_add_dense(net, 4));
  /* inspecting changes nothing: layers can still be added and renamed afterwards */
  TU_CHECK(clnn_net_num_params(net) == 9 && clnn_net_num_trainable(net) > 0, "9 named tensors before use, got %zu",
           clnn_net_num_params(net));
  char buf[2048];
  TU_OK(clnn_net_summary(net, buf, sizeof buf));
  TU_OK(clnn_net_add_batchnorm(net, 0, 0));
  TU_OK(clnn_net_set_layer_name(net, -1, "head_bn"));
  TU_CHECK(clnn_net_num_params(net) == 13, "13 named tensors after adding a batch norm, got %zu",
           clnn_net_num_params(net));
  const char *last = clnn_net_param_name(net, 12);
  TU_CHECK(last && !strcmp(last, "head_bn.running_var"), "the last tensor is %s", last ? last : "NULL");
  check_names_match_finalised(net, "conv/bn/conv_t/dense");
  TU_STATUS(clnn_net_add_dense(net, 2), CLNN_ERROR_INVALID_ARGUMENT); /* clnn_net_param finalised it */
  clnn_net_destroy(net);
  size_t seq[2] = {4, 3};
  net = new_net(2, seq, 3);
  TU_OK(clnn_net_add_lstm(net, 5, 1));
  TU_OK(clnn_net_add_batchnorm(net, 0, 0));
  TU_OK(clnn_net_add_lstm(net, 4, 0));
  TU_OK(clnn_net_add_dense(net, 2));
  check_names_match_finalised(net, "lstm/bn/lstm/dense");
  clnn_net_destroy(net);
}

/* ---- gradients vs finite differences ---- */

static void fd_check(clnn_net *net, const float *x, size_t x_count, size_t batch,
                     const int32_t *labels, size_t labels_count, const float *targets,
                     size_t targets_count, const char *pname, int probes) {
  clnn_tensor *w = NULL, *g = NULL;
  TU_OK(clnn_net_param(net, pname, &w, &g));
  if (!w || !g) return;
  size_t n = clnn_tensor_numel(w);
  float base;
  TU_OK(clnn_net_compute_gradients(net, x, x_count, batch, labels, labels_count, targets,
                                   targets_count, &base));
  float *wv = tu_read(w), *gv = tu_read(g);
  double worst = 0;
  for (int k = 0; k < probes; k++) {
    size_t i = ((size_t)k * 7919u + 13u) % n;
    float h = 4e-3f, orig = wv[i], lp, lm;
    wv[i] = orig + h;
    TU_OK(clnn_tensor_write(w, wv, n));
    TU_OK(clnn_net_compute_gradients(net, x, x_count, batch, labels, labels_count, targets,
                                     targets_count, &lp));
    wv[i] = orig - h;
    TU_OK(clnn_tensor_write(w, wv, n));
    TU_OK(clnn_net_compute_gradients(net, x, x_count, batch, labels, labels_count, targets,
                                     targets_count, &lm));
    wv[i] = orig;
    TU_OK(clnn_tensor_write(w, wv, n));
    double fd = ((double)lp - lm) / (2.0 * h);
    double err = fabs(fd - gv[i]) / (2e-3 + 5e-2 * fabs(fd));
    if (err > worst) worst = err;
    TU_CHECK(err <= 1.0, "%s[%zu]: analytic %.6g, finite difference %.6g", pname, i, gv[i], fd);
  }
  printf("  grad %-22s ok (worst %.2f of tolerance)\n", pname, worst);
  free(wv);
  free(gv);
}

static void test_gradients(void) {
  printf("gradients vs finite differences:\n");
  tu_seed(5);
  { /* image path: conv, activations, pools, batch norm, transposed conv, dense */
    size_t in[3] = {2, 6, 6};
    clnn_net *net = new_net(3, in, 11);
    TU_OK(clnn_net_add_conv2d(net, 4, 3, 1, 1));
    TU_OK(clnn_net_add_batchnorm(net, 0, 0));
    TU_OK(clnn_net_add_activation(net, CLNN_ACT_TANH, 0));
    TU_OK(clnn_net_add_avgpool2d(net, 2, 0, 0));
    TU_OK(clnn_net_add_conv_transpose2d(net, 3, 2, 2, 0));
    TU_OK(clnn_net_add_activation(net, CLNN_ACT_SOFTPLUS, 0));
    TU_OK(clnn_net_add_maxpool2d(net, 3, 3, 0));
    TU_OK(clnn_net_add_activation(net, CLNN_ACT_ELU, 1.0f));
    TU_OK(clnn_net_add_conv2d(net, 5, 1, 1, 0));
    TU_OK(clnn_net_add_activation(net, CLNN_ACT_GELU, 0));
    TU_OK(clnn_net_add_global_avgpool(net));
    TU_OK(clnn_net_add_dense(net, 6));
    TU_OK(clnn_net_add_activation(net, CLNN_ACT_SIGMOID, 0));
    TU_OK(clnn_net_add_dense(net, 3));
    float x[4 * 72];
    tu_fill_uniform(x, 4 * 72, -1, 1);
    int32_t lab[4] = {0, 2, 1, 2};
    const char *names[] = {"conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias",
                           "conv_transpose1.weight", "conv_transpose1.bias", "conv2.weight",
                           "dense1.weight", "dense2.weight", "dense2.bias"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) fd_check(net, x, 4 * 72, 4, lab, 4, NULL, 0, names[k], 6);
    clnn_net_destroy(net);
  }
  { /* flat path: leaky ReLU, batch norm on features, MSE */
    size_t in = 5;
    clnn_net *net = new_net(1, &in, 12);
    TU_OK(clnn_net_add_dense(net, 7));
    TU_OK(clnn_net_add_activation(net, CLNN_ACT_LEAKY_RELU, 0.1f));
    TU_OK(clnn_net_add_batchnorm(net, 0.2f, 1e-3f));
    TU_OK(clnn_net_add_dense(net, 2));
    float x[6 * 5], t[6 * 2];
    tu_fill_uniform(x, 30, -1, 1);
    tu_fill_uniform(t, 12, -1, 1);
    TU_OK(clnn_net_set_loss(net, CLNN_LOSS_MSE));
    fd_check(net, x, 6 * 5, 6, NULL, 0, t, 6 * 2, "dense1.weight", 8);
    fd_check(net, x, 6 * 5, 6, NULL, 0, t, 6 * 2, "bn1.weight", 4);
    fd_check(net, x, 6 * 5, 6, NULL, 0, t, 6 * 2, "dense2.bias", 2);
    clnn_net_destroy(net);
  }
  { /* sequences: stacked LSTMs, per-step dense, per-step cross-entropy */
    size_t in[2] = {5, 3};
    clnn_net *net = new_net(2, in, 13);
    TU_OK(clnn_net_add_lstm(net, 6, 1));
    TU_OK(clnn_net_add_lstm(net, 4, 1));
    TU_OK(clnn_net_add_dense(net, 3));
    float x[3 * 15];
    tu_fill_uniform(x, 45, -1, 1);
    int32_t lab[3 * 5];
    for (int i = 0; i < 15; i++) lab[i] = i % 3;
    fd_check(net, x, 3 * 15, 3, lab, 3 * 5, NULL, 0, "lstm1.weight_ih", 6);
    fd_check(net, x, 3 * 15, 3, lab, 3 * 5, NULL, 0, "lstm1.weight_hh", 6);
    fd_check(net, x, 3 * 15, 3, lab, 3 * 5, NULL, 0, "lstm2.bias", 6);
    fd_check(net, x, 3 * 15, 3, lab, 3 * 5, NULL, 0, "dense1.weight", 4);
    clnn_net_destroy(net);
  }
  { /* LSTM returning its last state, BCE */
    size_t in[2] = {4, 2};
    clnn_net *net = new_net(2, in, 14);
    TU_OK(clnn_net_add_lstm(net, 5, 0));
    TU_OK(clnn_net_add_dense(net, 2));
    TU_OK(clnn_net_set_loss(net, CLNN_LOSS_BCE_WITH_LOGITS));
    float x[3 * 8], t[3 * 2] = {0, 1, 1, 1, 0, 0};
    tu_fill_uniform(x, 24, -1, 1);
    fd_check(net, x, 3 * 8, 3, NULL, 0, t, 3 * 2, "lstm1.weight_ih", 6);
    fd_check(net, x, 3 * 8, 3, NULL, 0, t, 3 * 2, "lstm1.weight_hh", 6);
    clnn_net_destroy(net);
  }
}

/* ---- sequences: layouts and batch sizes ---- */

static void test_layouts(void) {
  size_t in[2] = {6, 3};
  clnn_net *net = new_net(2, in, 21);
  TU_OK(clnn_net_add_lstm(net, 8, 1));
  TU_OK(clnn_net_add_dense(net, 2));
  size_t d[CLNN_MAX_DIMS];
  TU_CHECK(clnn_net_output_dims(net, -1, d) == 2 && d[0] == 6 && d[1] == 2, "per-step output");
  float x[5 * 18], all[5 * 12], one[12];
  tu_seed(3);
  tu_fill_uniform(x, 90, -1, 1);
  TU_OK(clnn_net_predict(net, x, 5 * 18, 5, all, 60));
  int same = 1;
  for (size_t b = 0; b < 5; b++) {
    TU_OK(clnn_net_predict(net, x + b * 18, 18, 1, one, 12));
    for (int i = 0; i < 12; i++)
      if (fabsf(one[i] - all[b * 12 + i]) > 1e-5f) same = 0;
  }
  TU_CHECK(same, "batch-first layout: a batch gives each sample's own outputs");
  /* batch sizes change freely: train 4, predict 7, train 3, predict 5 again */
  int32_t lab[7 * 6];
  for (int i = 0; i < 42; i++) lab[i] = i % 2;
  float big[7 * 18];
  tu_fill_uniform(big, 126, -1, 1);
  TU_OK(clnn_net_train_step(net, big, 4 * 18, 4, lab, 4 * 6, NULL, 0, NULL));
  float out7[7 * 12];
  TU_OK(clnn_net_predict(net, big, 7 * 18, 7, out7, 84));
  TU_OK(clnn_net_train_step(net, big, 3 * 18, 3, lab, 3 * 6, NULL, 0, NULL));
  TU_OK(clnn_net_train_step(net, big, 7 * 18, 7, lab, 7 * 6, NULL, 0, NULL));
  TU_OK(clnn_net_predict(net, x, 5 * 18, 5, all, 60));
  float acc;
  TU_OK(clnn_net_accuracy(net, big, 7 * 18, lab, 7 * 6, 7, 3, &acc));
  TU_CHECK(acc >= 0.0f && acc <= 1.0f, "per-step accuracy %g", acc);
  clnn_net_destroy(net);

  /* image network: a batch equals its samples one by one, in train and eval buffers alike */
  size_t im[3] = {1, 8, 8};
  net = new_net(3, im, 22);
  TU_OK(clnn_net_add_conv2d(net, 4, 3, 1, 1));
  TU_OK(clnn_net_add_activation(net, CLNN_ACT_RELU, 0));
  TU_OK(clnn_net_add_maxpool2d(net, 2, 0, 0));
  TU_OK(clnn_net_add_dropout(net, 0.5f));
  TU_OK(clnn_net_add_flatten(net));
  TU_OK(clnn_net_add_dense(net, 10));
  float xi[3 * 64], yi[30], y1[10];
  tu_fill_uniform(xi, 192, 0, 1);
  TU_OK(clnn_net_predict(net, xi, 3 * 64, 3, yi, 30));
  same = 1;
  for (int b = 0; b < 3; b++) {
    TU_OK(clnn_net_predict(net, xi + b * 64, 64, 1, y1, 10));
    for (int i = 0; i < 10; i++)
      if (fabsf(y1[i] - yi[b * 10 + i]) > 1e-5f) same = 0;
  }
  TU_CHECK(same, "image batch equals its samples (dropout off in inference)");
  clnn_net_destroy(net);
}

/* ---- optimizers ---- */

static void test_optimizers(void) {
  const clnn_optimizer_type types[] = {CLNN_OPTIM_SGD, CLNN_OPTIM_SGD, CLNN_OPTIM_ADAM,
                                       CLNN_OPTIM_ADAMW, CLNN_OPTIM_RMSPROP, CLNN_OPTIM_RMSPROP,
                                       CLNN_OPTIM_ADAGRAD};
  const float lrs[] = {0.1f, 0.05f, 0.01f, 0.01f, 0.005f, 0.002f, 0.1f};
  float x[16 * 4], t[16];
  tu_seed(31);
  tu_fill_uniform(x, 64, -1, 1);
  for (int i = 0; i < 16; i++) t[i] = 0.5f * x[4 * i] - x[4 * i + 1] + 0.25f * x[4 * i + 2] * x[4 * i + 3];
  for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
    size_t in = 4;
    clnn_net *net = new_net(1, &in, 40 + k);
    TU_OK(clnn_net_add_dense(net, 16));
    TU_OK(clnn_net_add_activation(net, CLNN_ACT_RELU, 0));
    TU_OK(clnn_net_add_dense(net, 1));
    TU_OK(clnn_net_set_loss(net, CLNN_LOSS_MSE));
    clnn_optimizer_config c;
    clnn_optimizer_config_init(&c, types[k], lrs[k]);
    if (k == 1) {
      c.momentum = 0.9f;
      c.nesterov = 1;
      c.weight_decay = 1e-4f;
    }
    if (k == 3) c.clip_grad_norm = 1.0f;
    if (k == 5) c.momentum = 0.5f;
    TU_OK(clnn_net_set_optimizer(net, &c));
    float first = 0, last = 0;
    for (int s = 0; s < 150; s++)
      TU_OK(clnn_net_train_step(net, x, 16 * 4, 16, NULL, 0, t, 16,
                                s == 0 ? &first : s == 149 ? &last : NULL));
    printf("optimizer %zu (type %d): MSE %.4f -> %.4f\n", k, (int)types[k], first, last);
    TU_CHECK(last < 0.3f * first, "optimizer %zu: loss %g -> %g did not fall enough", k, first,
             last);
    clnn_net_destroy(net);
  }
}

/* ---- names, shapes, summary ---- */

static clnn_net *digits_net(uint64_t seed) {
  size_t in[3] = {1, 8, 8};
  clnn_net *net = new_net(3, in, seed);
  TU_OK(clnn_net_add_conv2d(net, 32, 3, 1, 1));
  TU_OK(clnn_net_add_activation(net, CLNN_ACT_RELU, 0));
  TU_OK(clnn_net_add_conv2d(net, 32, 3, 1, 1));
  TU_OK(clnn_net_add_activation(net, CLNN_ACT_RELU, 0));
  TU_OK(clnn_net_add_maxpool2d(net, 2, 2, 0));
  TU_OK(clnn_net_add_dropout(net, 0.25f));
  TU_OK(clnn_net_add_flatten(net));
  TU_OK(clnn_net_add_dense(net, 128));
  TU_OK(clnn_net_add_batchnorm(net, 0, 0));
  TU_OK(clnn_net_add_activation(net, CLNN_ACT_RELU, 0));
  TU_OK(clnn_net_add_dense(net, 10));
  return net;
}

static void test_names(void) {
  clnn_net *net = digits_net(1);
  TU_CHECK(clnn_net_num_layers(net) == 11, "layers");
  TU_CHECK(strcmp(clnn_net_layer_name(net, 0), "conv1") == 0 &&
               strcmp(clnn_net_layer_name(net, 3), "relu2") == 0 &&
               strcmp(clnn_net_layer_name(net, 4), "maxpool1") == 0 &&
               strcmp(clnn_net_layer_name(net, 10), "dense2") == 0,
           "automatic layer names");
  TU_CHECK(clnn_net_layer_name(net, 11) == NULL && clnn_net_layer_name(net, -1) == NULL,
           "layer name out of range");
  size_t d[CLNN_MAX_DIMS];
  TU_CHECK(clnn_net_output_dims(net, 4, d) == 3 && d[0] == 32 && d[1] == 4 && d[2] == 4, "pool");
  TU_CHECK(clnn_net_output_dims(net, 6, d) == 1 && d[0] == 512, "flatten");
  TU_CHECK(clnn_net_output_dims(net, -1, d) == 1 && d[0] == 10, "output");
  TU_CHECK(clnn_net_output_dims(net, 12, d) == 0, "dims out of range");
  TU_OK(clnn_net_set_layer_name(net, 10, "logits"));
  char buf[4096];
  TU_OK(clnn_net_summary(net, buf, sizeof buf));
  printf("%s", buf);
  TU_CHECK(strstr(buf, "conv2") && strstr(buf, "logits") && strstr(buf, "[32, 4, 4]") &&
               strstr(buf, "trainable parameters: 76778"),
           "summary");
  char tiny[16];
  TU_OK(clnn_net_summary(net, tiny, sizeof tiny));
  TU_CHECK(strlen(tiny) == 15, "summary truncates");
  const char *want[] = {"conv1.weight", "conv1.bias",   "conv2.weight",    "conv2.bias",
                        "dense1.weight", "dense1.bias", "bn1.weight",      "bn1.bias",
                        "logits.weight", "logits.bias", "bn1.running_mean", "bn1.running_var"};
  TU_CHECK(clnn_net_num_params(net) == 12, "12 named tensors, got %zu", clnn_net_num_params(net));
  for (size_t i = 0; i < 12; i++) {
    const char *nm = clnn_net_param_name(net, i);
    TU_CHECK(nm && strcmp(nm, want[i]) == 0, "param %zu is %s, want %s", i, nm ? nm : "NULL",
             want[i]);
  }
  TU_CHECK(clnn_net_param_name(net, 12) == NULL, "param name out of range");
  clnn_tensor *w = NULL, *g = NULL;
  TU_OK(clnn_net_param(net, "conv2.weight", &w, &g));
  TU_CHECK(w && g && clnn_tensor_ndim(w) == 4 && clnn_tensor_dim(w, 0) == 32 &&
               clnn_tensor_dim(w, 1) == 32 && clnn_tensor_dim(w, 3) == 3 &&
               clnn_tensor_numel(g) == 9216,
           "conv2.weight shape");
  TU_OK(clnn_net_param(net, "bn1.running_var", &w, &g));
  TU_CHECK(g == NULL && clnn_tensor_numel(w) == 128, "state has no gradient");
  float *rv = tu_read(w);
  TU_CHECK(rv[0] == 1.0f && rv[127] == 1.0f, "running_var starts at 1");
  free(rv);
  TU_CHECK(clnn_net_num_trainable(net) == 76778, "trainable %zu", clnn_net_num_trainable(net));
  /* He init for conv1 (followed by ReLU): std sqrt(2/9) = 0.471; Xavier for logits */
  TU_OK(clnn_net_param(net, "conv1.weight", &w, NULL));
  float *cw = tu_read(w);
  double ss = 0;
  for (int i = 0; i < 288; i++) ss += (double)cw[i] * cw[i];
  double sd = sqrt(ss / 288);
  TU_CHECK(sd > 0.40 && sd < 0.55, "conv1 He std %g (want ~0.471)", sd);
  free(cw);
  TU_OK(clnn_net_param(net, "logits.weight", &w, NULL));
  float *lw = tu_read(w);
  float lim = sqrtf(6.0f / 138.0f), mx = 0;
  for (int i = 0; i < 1280; i++) mx = fmaxf(mx, fabsf(lw[i]));
  TU_CHECK(mx <= lim && mx > 0.9f * lim, "logits Xavier-uniform bound %g (limit %g)", mx, lim);
  free(lw);
  clnn_net_destroy(net);
  /* the same seed gives the same parameters; another seed others */
  clnn_net *a = digits_net(5), *b = digits_net(5), *c = digits_net(6);
  clnn_tensor *ta, *tb, *tc;
  TU_OK(clnn_net_param(a, "dense1.weight", &ta, NULL));
  TU_OK(clnn_net_param(b, "dense1.weight", &tb, NULL));
  TU_OK(clnn_net_param(c, "dense1.weight", &tc, NULL));
  float *va = tu_read(ta), *vb = tu_read(tb), *vc = tu_read(tc);
  TU_CHECK(memcmp(va, vb, 65536 * 4) == 0, "same seed, same init");
  TU_CHECK(memcmp(va, vc, 65536 * 4) != 0, "other seed, other init");
  free(va);
  free(vb);
  free(vc);
  clnn_net_destroy(a);
  clnn_net_destroy(b);
  clnn_net_destroy(c);
}

/* ---- errors ---- */

static void test_errors(void) {
  size_t in[3] = {1, 8, 8};
  clnn_net *net = NULL;
  EXPECT_ERR(clnn_net_create(NULL, 3, in, 0, &net), CLNN_ERROR_INVALID_ARGUMENT, "ctx");
  EXPECT_ERR(clnn_net_create(ctx, 0, in, 0, &net), CLNN_ERROR_INVALID_ARGUMENT, "ndim");
  EXPECT_ERR(clnn_net_create(ctx, 5, in, 0, &net), CLNN_ERROR_INVALID_ARGUMENT, "ndim");
  EXPECT_ERR(clnn_net_create(ctx, 3, NULL, 0, &net), CLNN_ERROR_INVALID_ARGUMENT, "input_dims");
  EXPECT_ERR(clnn_net_create(ctx, 3, in, 0, NULL), CLNN_ERROR_INVALID_ARGUMENT, "out");
  size_t zero[3] = {1, 0, 8};
  EXPECT_ERR(clnn_net_create(ctx, 3, zero, 0, &net), CLNN_ERROR_INVALID_ARGUMENT, "is 0");
  TU_CHECK(net == NULL, "*out untouched");
  clnn_net_destroy(NULL);

  /* NULL network */
  EXPECT_ERR(clnn_net_add_conv2d(NULL, 4, 3, 1, 1), CLNN_ERROR_INVALID_ARGUMENT, "NULL");
  EXPECT_ERR(clnn_net_add_dense(NULL, 4), CLNN_ERROR_INVALID_ARGUMENT, "NULL");
  EXPECT_ERR(clnn_net_add_lstm(NULL, 4, 0), CLNN_ERROR_INVALID_ARGUMENT, "NULL");
  EXPECT_ERR(clnn_net_add_flatten(NULL), CLNN_ERROR_INVALID_ARGUMENT, "NULL");
  EXPECT_ERR(clnn_net_add_activation(NULL, CLNN_ACT_RELU, 0), CLNN_ERROR_INVALID_ARGUMENT, "NULL");
  EXPECT_ERR(clnn_net_set_loss(NULL, CLNN_LOSS_MSE), CLNN_ERROR_INVALID_ARGUMENT, "NULL");
  EXPECT_ERR(clnn_net_train_step(NULL, (const float *)in, 64, 1, NULL, 0, NULL, 0, NULL),
             CLNN_ERROR_INVALID_ARGUMENT, "NULL");
  EXPECT_ERR(clnn_net_param(NULL, "x", NULL, NULL), CLNN_ERROR_INVALID_ARGUMENT, "NULL");
  EXPECT_ERR(clnn_net_save(NULL, "x", 0), CLNN_ERROR_INVALID_ARGUMENT, "NULL");
  EXPECT_ERR(clnn_net_load(NULL, "x"), CLNN_ERROR_INVALID_ARGUMENT, "NULL");
  TU_CHECK(clnn_net_num_layers(NULL) == 0 && clnn_net_num_params(NULL) == 0 &&
               clnn_net_layer_name(NULL, 0) == NULL && clnn_net_param_name(NULL, 0) == NULL &&
               clnn_net_step_count(NULL) == 0 && clnn_net_num_trainable(NULL) == 0,
           "NULL accessors");

  net = new_net(3, in, 1);
  /* an empty network cannot run */
  float x[4 * 64] = {0};
  int32_t lab[4] = {0, 1, 2, 3};
  EXPECT_ERR(clnn_net_train_step(net, x, 4 * 64, 4, lab, 4, NULL, 0, NULL), CLNN_ERROR_INVALID_ARGUMENT,
             "no layers");
  /* bad layer arguments */
  EXPECT_ERR(clnn_net_add_conv2d(net, 0, 3, 1, 1), CLNN_ERROR_INVALID_ARGUMENT, "conv1");
  EXPECT_ERR(clnn_net_add_conv2d(net, 4, 0, 1, 1), CLNN_ERROR_INVALID_ARGUMENT, "kernel");
  EXPECT_ERR(clnn_net_add_conv2d(net, 4, 3, 0, 1), CLNN_ERROR_INVALID_ARGUMENT, "stride");
  EXPECT_ERR(clnn_net_add_conv2d_ex(net, 4, 3, 3, NULL, 1), CLNN_ERROR_INVALID_ARGUMENT, "NULL");
  clnn_conv2d_params cp;
  clnn_conv2d_params_init(&cp);
  cp.groups = 3;
  EXPECT_ERR(clnn_net_add_conv2d_ex(net, 6, 3, 3, &cp, 1), CLNN_ERROR_SHAPE_MISMATCH, "groups");
  EXPECT_ERR(clnn_net_add_dropout(net, 1.0f), CLNN_ERROR_INVALID_ARGUMENT, "dropout1");
  EXPECT_ERR(clnn_net_add_dropout(net, -0.1f), CLNN_ERROR_INVALID_ARGUMENT, "[0, 1)");
  EXPECT_ERR(clnn_net_add_activation(net, (clnn_activation)42, 0), CLNN_ERROR_INVALID_ARGUMENT,
             "unknown activation");
  EXPECT_ERR(clnn_net_add_batchnorm(net, 2.0f, 0), CLNN_ERROR_INVALID_ARGUMENT, "momentum");
  EXPECT_ERR(clnn_net_add_maxpool2d(net, 0, 0, 0), CLNN_ERROR_INVALID_ARGUMENT, "kernel");
  EXPECT_ERR(clnn_net_add_maxpool2d(net, 2, 2, 2), CLNN_ERROR_INVALID_ARGUMENT, "padding");
  EXPECT_ERR(clnn_net_add_pool2d_ex(net, 1, NULL), CLNN_ERROR_INVALID_ARGUMENT, "NULL");
  EXPECT_ERR(clnn_net_add_dense(net, 0), CLNN_ERROR_INVALID_ARGUMENT, "units");
  TU_CHECK(clnn_net_num_layers(net) == 0, "failed adds left no layer");

  /* shapes that do not fit: the error names the layer */
  TU_OK(clnn_net_add_conv2d(net, 4, 3, 1, 1));
  TU_OK(clnn_net_add_activation(net, CLNN_ACT_RELU, 0));
  EXPECT_ERR(clnn_net_add_dense(net, 10), CLNN_ERROR_SHAPE_MISMATCH, "layer 2 'dense1' (dense)");
  EXPECT_ERR(clnn_net_add_dense(net, 10), CLNN_ERROR_SHAPE_MISMATCH, "flatten");
  EXPECT_ERR(clnn_net_add_conv2d(net, 4, 9, 1, 0), CLNN_ERROR_SHAPE_MISMATCH, "'conv2'");
  EXPECT_ERR(clnn_net_add_conv2d(net, 4, 9, 1, 0), CLNN_ERROR_SHAPE_MISMATCH, "[4, 8, 8]");
  EXPECT_ERR(clnn_net_add_maxpool2d(net, 9, 0, 0), CLNN_ERROR_SHAPE_MISMATCH, "'maxpool1'");
  EXPECT_ERR(clnn_net_add_lstm(net, 8, 0), CLNN_ERROR_SHAPE_MISMATCH, "'lstm1'");
  TU_CHECK(clnn_net_num_layers(net) == 2, "failed adds left the network unchanged");
  TU_OK(clnn_net_add_flatten(net));
  EXPECT_ERR(clnn_net_add_maxpool2d(net, 2, 0, 0), CLNN_ERROR_SHAPE_MISMATCH, "not an image");
  TU_OK(clnn_net_add_dense(net, 4));
  /* names */
  EXPECT_ERR(clnn_net_set_layer_name(net, 0, "bad name"), CLNN_ERROR_INVALID_ARGUMENT, "letters");
  EXPECT_ERR(clnn_net_set_layer_name(net, 0, "dense1"), CLNN_ERROR_INVALID_ARGUMENT, "already");
  EXPECT_ERR(clnn_net_set_layer_name(net, 0, ""), CLNN_ERROR_INVALID_ARGUMENT, "characters");
  EXPECT_ERR(clnn_net_set_layer_name(net, 9, "x"), CLNN_ERROR_INVALID_ARGUMENT, "layer 9");
  EXPECT_ERR(clnn_net_set_layer_name(net, 0, NULL), CLNN_ERROR_INVALID_ARGUMENT, "NULL");
  /* settings */
  EXPECT_ERR(clnn_net_set_loss(net, (clnn_loss)9), CLNN_ERROR_INVALID_ARGUMENT, "unknown loss");
  clnn_optimizer_config c;
  clnn_optimizer_config_init(&c, CLNN_OPTIM_ADAM, -1.0f); /* lr 0 is allowed: frozen training */
  EXPECT_ERR(clnn_net_set_optimizer(net, &c), CLNN_ERROR_INVALID_ARGUMENT, "lr");
  clnn_optimizer_config_init(&c, CLNN_OPTIM_ADAM, 1e-3f);
  c.beta1 = 1.0f;
  EXPECT_ERR(clnn_net_set_optimizer(net, &c), CLNN_ERROR_INVALID_ARGUMENT, "beta1");
  clnn_optimizer_config_init(&c, CLNN_OPTIM_SGD, 1e-3f);
  c.nesterov = 1;
  EXPECT_ERR(clnn_net_set_optimizer(net, &c), CLNN_ERROR_INVALID_ARGUMENT, "nesterov");
  c.type = (clnn_optimizer_type)17;
  EXPECT_ERR(clnn_net_set_optimizer(net, &c), CLNN_ERROR_INVALID_ARGUMENT, "unknown type");
  EXPECT_ERR(clnn_net_set_optimizer(net, NULL), CLNN_ERROR_INVALID_ARGUMENT, "cfg");
  EXPECT_ERR(clnn_net_set_learning_rate(net, -1.0f), CLNN_ERROR_INVALID_ARGUMENT, "lr");
  /* step arguments, checked before anything runs */
  clnn_tensor *w;
  TU_OK(clnn_net_param(net, "dense1.weight", &w, NULL));
  float *before = tu_read(w);
  EXPECT_ERR(clnn_net_train_step(net, NULL, 0, 4, lab, 4, NULL, 0, NULL), CLNN_ERROR_INVALID_ARGUMENT, "x is NULL");
  EXPECT_ERR(clnn_net_train_step(net, x, 0 * 64, 0, lab, 0, NULL, 0, NULL), CLNN_ERROR_INVALID_ARGUMENT, "batch is 0");
  EXPECT_ERR(clnn_net_train_step(net, x, 4 * 64, 4, NULL, 0, NULL, 0, NULL), CLNN_ERROR_INVALID_ARGUMENT, "labels");
  int32_t badlab[4] = {0, 1, 4, 2};
  EXPECT_ERR(clnn_net_train_step(net, x, 4 * 64, 4, badlab, 4, NULL, 0, NULL), CLNN_ERROR_INVALID_ARGUMENT,
             "labels[2] = 4 is not in [0, 4)");
  TU_OK(clnn_net_set_loss(net, CLNN_LOSS_MSE));
  EXPECT_ERR(clnn_net_train_step(net, x, 4 * 64, 4, lab, 4, NULL, 0, NULL), CLNN_ERROR_INVALID_ARGUMENT, "targets");
  float *after = tu_read(w);
  TU_CHECK(memcmp(before, after, 4 * 256 * sizeof(float)) == 0, "failed steps changed nothing");
  TU_CHECK(clnn_net_step_count(net) == 0, "no step counted");
  free(before);
  free(after);
  /* after first use */
  EXPECT_ERR(clnn_net_add_dense(net, 3), CLNN_ERROR_INVALID_ARGUMENT, "already been used");
  EXPECT_ERR(clnn_net_set_layer_name(net, 0, "c"), CLNN_ERROR_INVALID_ARGUMENT, "already been used");
  /* inference and inspection */
  float y[16];
  EXPECT_ERR(clnn_net_predict(net, x, 4 * 64, 4, y, 15), CLNN_ERROR_INVALID_ARGUMENT, "y_count");
  EXPECT_ERR(clnn_net_predict(net, x, 4 * 64, 4, NULL, 16), CLNN_ERROR_INVALID_ARGUMENT, "y is NULL");
  float acc;
  EXPECT_ERR(clnn_net_accuracy(net, x, 4 * 64, NULL, 0, 4, 2, &acc), CLNN_ERROR_INVALID_ARGUMENT, "labels");
  EXPECT_ERR(clnn_net_accuracy(net, x, 4 * 64, lab, 4, 4, 0, &acc), CLNN_ERROR_INVALID_ARGUMENT, "batch_size");
  EXPECT_ERR(clnn_net_param(net, "dense1.wieght", &w, NULL), CLNN_ERROR_INVALID_ARGUMENT,
             "dense1.weight");
  EXPECT_ERR(clnn_net_summary(net, NULL, 10), CLNN_ERROR_INVALID_ARGUMENT, "buf");
  /* datasets */
  size_t dd[1] = {5};
  float dx[10] = {0};
  clnn_dataset *ds;
  TU_OK(clnn_dataset_create(2, 1, dd, dx, 2 * 5, NULL, 0, &ds));
  EXPECT_ERR(clnn_net_evaluate(net, ds, 2, NULL, &acc), CLNN_ERROR_SHAPE_MISMATCH, "[5]");
  EXPECT_ERR(clnn_net_evaluate(net, ds, 2, &acc, NULL), CLNN_ERROR_INVALID_ARGUMENT, "softmax");
  EXPECT_ERR(clnn_net_train_epoch(net, ds, 2, NULL), CLNN_ERROR_INVALID_ARGUMENT, "softmax");
  TU_OK(clnn_net_set_loss(net, CLNN_LOSS_SOFTMAX_CROSS_ENTROPY));
  EXPECT_ERR(clnn_net_train_epoch(net, ds, 2, NULL), CLNN_ERROR_SHAPE_MISMATCH, "[5]");
  EXPECT_ERR(clnn_net_train_epoch(net, ds, 0, NULL), CLNN_ERROR_INVALID_ARGUMENT, "batch_size");
  EXPECT_ERR(clnn_net_train_epoch(net, NULL, 2, NULL), CLNN_ERROR_INVALID_ARGUMENT, "ds");
  clnn_dataset_destroy(ds);
  clnn_net_destroy(net);

  /* cross-entropy needs [classes] outputs */
  net = new_net(3, in, 1);
  TU_OK(clnn_net_add_conv2d(net, 2, 1, 1, 0));
  EXPECT_ERR(clnn_net_train_step(net, x, 4 * 64, 4, lab, 4, NULL, 0, NULL), CLNN_ERROR_SHAPE_MISMATCH,
             "'conv1'");
  clnn_net_destroy(net);
  /* sequences only into LSTMs; flatten refuses them */
  size_t sq[2] = {4, 3};
  net = new_net(2, sq, 1);
  TU_OK(clnn_net_add_activation(net, CLNN_ACT_TANH, 0));
  TU_OK(clnn_net_add_lstm(net, 4, 1));
  EXPECT_ERR(clnn_net_add_flatten(net), CLNN_ERROR_SHAPE_MISMATCH, "'flatten1'");
  EXPECT_ERR(clnn_net_add_conv2d(net, 2, 1, 1, 0), CLNN_ERROR_SHAPE_MISMATCH, "sequence");
  TU_OK(clnn_net_add_lstm(net, 3, 0));
  EXPECT_ERR(clnn_net_add_lstm(net, 3, 0), CLNN_ERROR_SHAPE_MISMATCH, "'lstm3'");
  clnn_net_destroy(net);
  net = new_net(2, sq, 1);
  EXPECT_ERR(clnn_net_add_dense(net, 3), CLNN_ERROR_SHAPE_MISMATCH, "flatten");
  clnn_net_destroy(net);
}

int main(void) {
  ctx = tu_context();
  test_errors();
  test_names();
  test_xor();
  test_layouts();
  test_optimizers();
  test_gradients();
  test_lstm_learns();
  test_lstm_init();
  test_inspection_is_const();
  test_readme_example();
  clnn_context_destroy(ctx);
  return tu_finish("test_net");
}
