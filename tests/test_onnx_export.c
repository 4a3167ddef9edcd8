/* tests/test_onnx_export.c — clnn's ONNX exports run in ONNX Runtime: each model is saved with
 * clnn_model_save_onnx and tests/onnx/ort_compare.sh runs the file on the same batch (ONNX Runtime
 * from the venv that tests/onnx/ort_venv.sh makes under the build tree; without it, the ONNX
 * checker and a NumPy reference, as that script prints) and compares its output with clnn's
 * predictions within 1e-4 + 1e-4 |clnn| (float32 rounding, other summation orders):
 * - a sequential CNN built with clnn_net (conv - batch norm - ReLU - max pool - strided conv -
 *   ReLU - flatten - dense), trained 3 steps so the batch-norm statistics are not the initial
 *   ones, saved with clnn_net_save and read back as a model (clnn_model_load_file);
 * - a graph model with skip connections: conv branches joined by add and concat, global average
 *   pooling, a dense head, log-softmax;
 * - a sequence model: embedding of int32 ids (int64 in the file), layer norm (written out in
 *   opset-13 ops), LSTM returning sequences, dense; and one whose LSTM returns the last state;
 * - a small transformer block: embedding, layer norm, causal multi-head self-attention (2 heads;
 *   MatMul / Softmax with a constant mask in the file), residual add, RMS norm, dense.
 * Every export but the transformer's (clnn does not import MatMul of two computed values) is
 * also imported back (clnn_model_load_onnx) and must predict what the original does within
 * 1e-5. The Python half is skipped (the import half still runs) when Debian's
 * python3-onnx or numpy is missing. */
#define _POSIX_C_SOURCE 200809L
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/clnn-onnx-export-XXXXXX";
static int ort_runs, ort_skips;

static void write_raw(const char *path, const void *p, size_t bytes) {
  FILE *f = fopen(path, "wb");
  int ok = f && fwrite(p, 1, bytes, f) == bytes;
  if (f && fclose(f) != 0) ok = 0;
  TU_CHECK(ok, "wrote %s", path);
}

/* Exports m as <name>.onnx, checks it in the runtime against y (ny values) for input x (feed
 * count nx: float, or int32 ids when ids), and imports it back. */
static void check_export(clnn_context *ctx, clnn_model *m, const char *name, const void *x,
                         size_t nx, int ids, size_t batch, const float *y, size_t ny,
                         int import_back) {
  char path[512], xin[512], yout[512], cmd[2048];
  snprintf(path, sizeof path, "%s/%s.onnx", tmpdir, name);
  snprintf(xin, sizeof xin, "%s/%s.in", tmpdir, name);
  snprintf(yout, sizeof yout, "%s/%s.out", tmpdir, name);
  TU_OK(clnn_model_save_onnx(m, path));
  write_raw(xin, x, nx * 4);
  write_raw(yout, y, ny * sizeof(float));
  const char *src = getenv("CLNN_SOURCE_DIR"), *venv = getenv("CLNN_ORT_VENV");
  snprintf(cmd, sizeof cmd, "sh %s/tests/onnx/ort_compare.sh '%s' %s %s %s%s", src ? src : ".",
           venv ? venv : "", path, xin, yout, ids ? " --int-input" : "");
  int rc = system(cmd);
  rc = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  if (rc == 77) {
    printf("%s: the runtime check was skipped (see above)\n", name);
    ort_skips++;
  } else {
    TU_CHECK(rc == 0, "%s: the export runs in the runtime with clnn's outputs (rc %d)", name, rc);
    ort_runs++;
  }
  if (!import_back) return;
  /* and back into clnn */
  clnn_model *back = NULL;
  TU_OK(clnn_model_load_onnx(ctx, path, &back));
  if (!back) {
    printf("%s: %s\n", name, clnn_last_error());
    return;
  }
  float *y2 = calloc(ny, sizeof(float));
  clnn_feed fd = {clnn_graph_input_value(clnn_model_graph(back), 0), x, nx, NULL};
  TU_OK(clnn_model_predict(back, &fd, 1, batch, -1, y2, ny));
  TU_CHECK(tu_allclose(y2, y, ny, 1e-5f, 1e-5f, name), "%s: imported back, the same predictions",
           name);
  free(y2);
  clnn_model_destroy(back);
}

static void sequential_cnn(clnn_context *ctx) {
  enum { B = 4 };
  size_t dims[3] = {3, 10, 10};
  clnn_net *net = NULL;
  TU_OK(clnn_net_create(ctx, 3, dims, 7, &net));
  TU_OK(clnn_net_add_conv2d(net, 6, 3, 1, 1));
  TU_OK(clnn_net_add_batchnorm(net, 0.5f, 1e-5f));
  TU_OK(clnn_net_add_activation(net, CLNN_ACT_RELU, 0));
  TU_OK(clnn_net_add_maxpool2d(net, 2, 0, 0));
  TU_OK(clnn_net_add_conv2d(net, 8, 3, 2, 1));
  TU_OK(clnn_net_add_activation(net, CLNN_ACT_LEAKY_RELU, 0.1f));
  TU_OK(clnn_net_add_flatten(net));
  TU_OK(clnn_net_add_dense(net, 5));
  TU_OK(clnn_net_set_loss(net, CLNN_LOSS_SOFTMAX_CROSS_ENTROPY));
  float x[B * 300], y[B * 5];
  int32_t lab[B];
  for (int i = 0; i < B * 300; i++) x[i] = sinf(0.37f * (float)i) + 0.1f * (float)(i % 7);
  for (int i = 0; i < B; i++) lab[i] = i % 5;
  for (int s = 0; s < 3; s++)
    TU_OK(clnn_net_train_step(net, x, B * 300, B, lab, B, NULL, 0, NULL));
  TU_OK(clnn_net_predict(net, x, B * 300, B, y, B * 5));
  char path[512];
  snprintf(path, sizeof path, "%s/net.safetensors", tmpdir);
  TU_OK(clnn_net_save(net, path, 0));
  clnn_model *m = NULL;
  TU_OK(clnn_model_load_file(ctx, path, &m));
  if (m) check_export(ctx, m, "sequential_cnn", x, B * 300, 0, B, y, B * 5, 1);
  clnn_model_destroy(m);
  clnn_net_destroy(net);
}

static void graph_cnn(clnn_context *ctx) {
  enum { B = 3 };
  size_t img[3] = {2, 8, 8};
  clnn_conv2d_params same;
  clnn_conv2d_params_init(&same);
  same.pad_top = same.pad_bottom = same.pad_left = same.pad_right = 1;
  clnn_graph *g = NULL;
  int x, a, b, s, c, cat, gap, y, parts[2];
  TU_OK(clnn_graph_create(&g));
  TU_OK(clnn_graph_input(g, "image", CLNN_FLOAT32, 3, img, &x));
  TU_OK(clnn_graph_conv2d(g, "stem", x, 4, 3, 3, &same, 1, &a));
  TU_OK(clnn_graph_batchnorm(g, "stem_bn", a, 0, 0, &a));
  TU_OK(clnn_graph_activation(g, "stem_relu", a, CLNN_ACT_RELU, 0, &a));
  TU_OK(clnn_graph_conv2d(g, "branch", a, 4, 3, 3, &same, 0, &b));
  TU_OK(clnn_graph_activation(g, "branch_gelu", b, CLNN_ACT_GELU, 0, &b));
  TU_OK(clnn_graph_add(g, "skip", a, b, &s));                      /* residual add */
  TU_OK(clnn_graph_conv2d(g, "side", x, 2, 1, 1, NULL, 1, &c));
  int xs[2] = {s, c};
  TU_OK(clnn_graph_concat(g, "join", 0, 2, xs, &cat));            /* [6, 8, 8] */
  size_t halves[2] = {3, 3};
  TU_OK(clnn_graph_split(g, "halves", cat, 0, 2, halves, parts));
  TU_OK(clnn_graph_mul(g, "gate", parts[0], parts[1], &cat));
  TU_OK(clnn_graph_global_avgpool(g, "gap", cat, &gap));
  TU_OK(clnn_graph_dense(g, "head", gap, 4, 1, &y));
  TU_OK(clnn_graph_softmax(g, "logp", y, 1, &y));
  TU_OK(clnn_graph_output(g, y));
  clnn_model *m = NULL;
  TU_OK(clnn_model_create(ctx, g, 11, &m));
  clnn_graph_destroy(g);
  if (!m) return;
  float xv[B * 128], yv[B * 4];
  for (int i = 0; i < B * 128; i++) xv[i] = cosf(0.21f * (float)i);
  clnn_feed fd = {x, xv, B * 128, NULL};
  /* a few training-mode forwards move the batch-norm statistics */
  for (int k = 0; k < 2; k++) TU_OK(clnn_model_forward(m, &fd, 1, B, NULL));
  TU_OK(clnn_model_predict(m, &fd, 1, B, -1, yv, B * 4));
  check_export(ctx, m, "graph_cnn", xv, B * 128, 0, B, yv, B * 4, 1);
  clnn_model_destroy(m);
}

static void sequence(clnn_context *ctx, int return_sequences) {
  enum { B = 3, T = 6, V = 13, D = 8, H = 5 };
  clnn_graph *g = NULL;
  size_t t = T;
  int ids, e, y;
  TU_OK(clnn_graph_create(&g));
  TU_OK(clnn_graph_input(g, "ids", CLNN_INT32, 1, &t, &ids));
  TU_OK(clnn_graph_embedding(g, "emb", ids, V, D, &e));
  TU_OK(clnn_graph_layer_norm(g, "ln", e, 1e-5f, 1, &e));
  TU_OK(clnn_graph_lstm(g, "lstm", e, H, return_sequences, &y));
  TU_OK(clnn_graph_dense(g, "out", y, 3, 1, &y));
  TU_OK(clnn_graph_output(g, y));
  clnn_model *m = NULL;
  TU_OK(clnn_model_create(ctx, g, 5, &m));
  clnn_graph_destroy(g);
  if (!m) return;
  /* layer norm's weight and bias away from 1 and 0, so they are tested */
  clnn_tensor *w = NULL, *bias = NULL;
  TU_OK(clnn_model_param(m, "ln.weight", &w, NULL));
  TU_OK(clnn_model_param(m, "ln.bias", &bias, NULL));
  float lw[D], lb[D];
  for (int i = 0; i < D; i++) lw[i] = 0.5f + 0.1f * (float)i, lb[i] = 0.05f * (float)(i - 3);
  if (w && bias) {
    TU_OK(clnn_tensor_write(w, lw, D));
    TU_OK(clnn_tensor_write(bias, lb, D));
  }
  int32_t iv[B * T];
  for (int i = 0; i < B * T; i++) iv[i] = (i * 7 + 3) % V;
  size_t ny = return_sequences ? B * T * 3 : B * 3;
  float yv[B * T * 3];
  clnn_feed fd = {ids, iv, B * T, NULL};
  TU_OK(clnn_model_predict(m, &fd, 1, B, -1, yv, ny));
  check_export(ctx, m, return_sequences ? "emb_ln_lstm_seq" : "emb_ln_lstm_last", iv, B * T, 1, B,
               yv, ny, 1);
  clnn_model_destroy(m);
}

static void transformer(clnn_context *ctx) {
  enum { B = 2, T = 5, V = 11, D = 8 };
  clnn_graph *g = NULL;
  size_t t = T;
  int ids, e, h, a, y;
  TU_OK(clnn_graph_create(&g));
  TU_OK(clnn_graph_input(g, "ids", CLNN_INT32, 1, &t, &ids));
  TU_OK(clnn_graph_embedding(g, "emb", ids, V, D, &e));
  TU_OK(clnn_graph_layer_norm(g, "ln", e, 1e-5f, 1, &h));
  TU_OK(clnn_graph_multihead_attention(g, "attn", h, 2, 1, 0.0f, &a));
  TU_OK(clnn_graph_add(g, "residual", e, a, &h));
  TU_OK(clnn_graph_rms_norm(g, "rms", h, 1e-6f, 1, &h));
  TU_OK(clnn_graph_dense(g, "out", h, 4, 1, &y));
  TU_OK(clnn_graph_output(g, y));
  clnn_model *m = NULL;
  TU_OK(clnn_model_create(ctx, g, 9, &m));
  clnn_graph_destroy(g);
  if (!m) return;
  clnn_tensor *w = NULL;
  TU_OK(clnn_model_param(m, "rms.weight", &w, NULL));
  float rw[D];
  for (int i = 0; i < D; i++) rw[i] = 1.5f - 0.1f * (float)i;
  if (w) TU_OK(clnn_tensor_write(w, rw, D));
  int32_t iv[B * T];
  for (int i = 0; i < B * T; i++) iv[i] = (i * 5 + 2) % V;
  float yv[B * T * 4];
  clnn_feed fd = {ids, iv, B * T, NULL};
  TU_OK(clnn_model_predict(m, &fd, 1, B, -1, yv, B * T * 4));
  check_export(ctx, m, "transformer", iv, B * T, 1, B, yv, B * T * 4, 0);
  clnn_model_destroy(m);
}

int main(void) {
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 1;
  }
  clnn_context *ctx = tu_context();
  sequential_cnn(ctx);
  graph_cnn(ctx);
  sequence(ctx, 1);
  sequence(ctx, 0);
  transformer(ctx);
  printf("test_onnx_export: %d exports checked in the runtime, %d runtime checks skipped\n",
         ort_runs, ort_skips);
  clnn_context_destroy(ctx);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (system(cmd) != 0) printf("could not remove %s\n", tmpdir);
  return tu_finish("test_onnx_export");
}
