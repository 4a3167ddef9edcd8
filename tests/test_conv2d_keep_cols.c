/* tests/test_conv2d_keep_cols.c — a graph conv2d node in training keeps its forward's im2col
 * columns for the backward-filter (clnn__conv2d_forward_keep / clnn__conv2d_backward_filter_kept):
 * a small CNN trained a few Adam steps with the kept columns and with them off ends with
 * bit-identical parameters, in one chunk and in several (a small column-workspace limit); the
 * backward really reads the kept buffer (zeroed, the filter gradient is zero); the filter gradients
 * through it match central finite differences; predict and evaluation (no backward) and a frozen
 * weight allocate no kept buffer. */
#include "test_util.h"

#include "internal.h"
#include "nn/model.h"

#include <stdlib.h>
#include <string.h>

size_t clnn__conv2d_set_workspace_limit(size_t bytes);

enum { B = 8, CIN = 2, HW = 8, CLASSES = 4 };

typedef struct net {
  clnn_model *m;
  int x, lab;
  float xb[B * CIN * HW * HW];
  int32_t lb[B];
  clnn_feed f[2];
} net;

/* x [2, 8, 8] -> conv1 (8, 3x3, pad 1) ReLU -> conv2 (8, 3x3, pad 1, stride 2) ReLU -> max-pool 2
 * -> dense 4 -> softmax cross-entropy (smooth: tanh and average pooling, for finite
 * differences). Both convolutions have several input channels, so AUTO runs im2col-GEMM for their
 * forward and filter gradient. */
static void build_act(clnn_context *ctx, net *n, int smooth) {
  size_t in[3] = {CIN, HW, HW};
  clnn_graph *g = NULL;
  int h, y, loss;
  clnn_conv2d_params cp;
  clnn_conv2d_params_init(&cp);
  cp.pad_top = cp.pad_bottom = cp.pad_left = cp.pad_right = 1;
  clnn_conv2d_params cs = cp;
  cs.stride_h = cs.stride_w = 2;
  clnn_pool2d_params pp;
  clnn_pool2d_params_init(&pp, 2);
  memset(n, 0, sizeof *n);
  TU_OK(clnn_graph_create(&g));
  TU_OK(clnn_graph_input(g, "x", CLNN_FLOAT32, 3, in, &n->x));
  TU_OK(clnn_graph_input(g, "label", CLNN_INT32, 0, NULL, &n->lab));
  TU_OK(clnn_graph_conv2d(g, "conv1", n->x, 8, 3, 3, &cp, 1, &h));
  const clnn_activation act = smooth ? CLNN_ACT_TANH : CLNN_ACT_RELU;
  TU_OK(clnn_graph_activation(g, NULL, h, act, 0, &h));
  TU_OK(clnn_graph_conv2d(g, "conv2", h, 8, 3, 3, &cs, 1, &h));
  TU_OK(clnn_graph_activation(g, NULL, h, act, 0, &h));
  TU_OK(clnn_graph_pool2d(g, NULL, h, !smooth, &pp, &h));
  TU_OK(clnn_graph_flatten(g, NULL, h, &h));
  TU_OK(clnn_graph_dense(g, "fc", h, CLASSES, 1, &y));
  TU_OK(clnn_graph_loss(g, NULL, CLNN_LOSS_SOFTMAX_CROSS_ENTROPY, y, n->lab, 1.0f, &loss));
  TU_OK(clnn_graph_output(g, y));
  TU_OK(clnn_model_create(ctx, g, 7, &n->m));
  clnn_graph_destroy(g);
  n->f[0] = (clnn_feed){n->x, n->xb, sizeof n->xb / sizeof n->xb[0], NULL};
  n->f[1] = (clnn_feed){n->lab, n->lb, B, NULL};
}

static void build(clnn_context *ctx, net *n) { build_act(ctx, n, 0); }

static void batch(net *n, int step) {
  tu_seed(100 + (uint64_t)step);
  tu_fill_uniform(n->xb, sizeof n->xb / sizeof n->xb[0], -1.0f, 1.0f);
  for (int i = 0; i < B; i++) n->lb[i] = (int32_t)((step * 3 + i) % CLASSES);
}

/* The kept-columns buffer of node `name` in the model's current batch plan (NULL: none). */
static clnn_tensor *kept(const net *n, const char *name) {
  const clnn_model *m = n->m;
  if (!m->exec.plan) return NULL;
  for (int i = 0; i < m->graph.g.num_nodes; i++)
    if (strcmp(m->graph.g.nodes[i].name, name) == 0) return m->exec.plan->scratch[i * CLNN__G_SLOTS];
  return NULL;
}

/* 4 Adam steps with kept columns on or off; the parameters read back in model order. */
static float *train(clnn_context *ctx, int keep, int expect_kept, size_t *count) {
  net n;
  int was = clnn__conv2d_set_keep_cols(keep);
  build(ctx, &n);
  float *all = NULL;
  *count = 0;
  if (!n.m) goto out;
  for (int step = 0; step < 4; step++) {
    batch(&n, step);
    TU_OK(clnn_model_train_step(n.m, n.f, 2, B, NULL));
  }
  TU_CHECK((kept(&n, "conv1") != NULL) == expect_kept && (kept(&n, "conv2") != NULL) == expect_kept,
           "kept columns %s: conv1 and conv2 %s a kept buffer", keep ? "on" : "off",
           expect_kept ? "have" : "have no");
  size_t np = clnn_model_num_params(n.m);
  for (size_t i = 0; i < np; i++) {
    clnn_tensor *v = NULL;
    TU_OK(clnn_model_param(n.m, clnn_model_param_name(n.m, i), &v, NULL));
    size_t k = v ? clnn_tensor_numel(v) : 0;
    float *h = v ? tu_read(v) : NULL;
    float *grown = realloc(all, (*count + k) * sizeof(float));
    if (grown && h) {
      all = grown;
      memcpy(all + *count, h, k * sizeof(float));
      *count += k;
    } else if (grown) {
      all = grown;
    }
    free(h);
  }
out:
  clnn_model_destroy(n.m);
  clnn__conv2d_set_keep_cols(was);
  return all;
}

static void same_bits(clnn_context *ctx, int applies, size_t ws_limit, const char *what) {
  size_t old = clnn__conv2d_set_workspace_limit(ws_limit), na = 0, nb = 0;
  float *a = train(ctx, 1, applies, &na), *b = train(ctx, 0, 0, &nb);
  TU_CHECK(a && b && na == nb && na > 0 && memcmp(a, b, na * sizeof(float)) == 0,
           "%s: every parameter bit-identical after 4 steps with and without kept columns", what);
  free(a);
  free(b);
  clnn__conv2d_set_workspace_limit(old);
}

/* Zeroed kept columns give a zero filter gradient: the backward-filter read them. */
static void backward_reads_kept(clnn_context *ctx) {
  net n;
  build(ctx, &n);
  if (!n.m) return;
  batch(&n, 0);
  TU_OK(clnn_model_forward(n.m, n.f, 2, B, NULL));
  clnn_tensor *cols = kept(&n, "conv2"), *w = NULL, *gw = NULL;
  TU_CHECK(cols != NULL, "conv2 kept its columns in a training forward");
  if (cols) TU_OK(clnn_tensor_fill(cols, 0.0f));
  TU_OK(clnn_model_backward(n.m, NULL, 0));
  TU_OK(clnn_model_param(n.m, "conv2.weight", &w, &gw));
  if (gw) {
    float *h = tu_read(gw);
    int zero = 1;
    for (size_t i = 0; i < clnn_tensor_numel(gw); i++) zero &= h[i] == 0.0f;
    TU_CHECK(zero, "zeroed kept columns give a zero conv2 weight gradient (the backward read them)");
    free(h);
  }
  /* a fresh forward writes them again: the gradient is no longer zero */
  TU_OK(clnn_model_compute_gradients(n.m, n.f, 2, B, NULL));
  if (gw) {
    float *h = tu_read(gw);
    int nonzero = 0;
    for (size_t i = 0; i < clnn_tensor_numel(gw); i++) nonzero |= h[i] != 0.0f;
    TU_CHECK(nonzero, "after a new forward the conv2 weight gradient is not zero");
    free(h);
  }
  clnn_model_destroy(n.m);
}

static double objective(void *user) {
  net *n = user;
  float l = 0;
  clnn_model_forward(n->m, n->f, 2, B, &l);
  return l;
}

/* Every parameter's gradient (conv weights through the kept columns) against finite
 * differences, in several chunks. */
static void finite_differences(clnn_context *ctx) {
  size_t old = clnn__conv2d_set_workspace_limit(8 * 9 * sizeof(float) * 16 * 3);
  net n;
  build_act(ctx, &n, 1);
  if (n.m) {
    batch(&n, 1);
    TU_OK(clnn_model_compute_gradients(n.m, n.f, 2, B, NULL));
    TU_CHECK(kept(&n, "conv1") && kept(&n, "conv2"), "both convolutions kept their columns");
    tu_fd_params(n.m, 2e-3, objective, &n);
  }
  clnn_model_destroy(n.m);
  clnn__conv2d_set_workspace_limit(old);
}

/* No backward may follow predict or evaluate; a frozen weight takes no gradient. */
static void no_kept_buffer(clnn_context *ctx) {
  net n;
  build(ctx, &n);
  if (!n.m) return;
  batch(&n, 2);
  float pred[B * CLASSES];
  TU_OK(clnn_model_predict(n.m, n.f, 1, B, -1, pred, B * CLASSES));
  TU_CHECK(!kept(&n, "conv1") && !kept(&n, "conv2"), "predict allocates no kept columns");
  clnn_dataset *ds = NULL;
  size_t sd[3] = {CIN, HW, HW};
  TU_OK(clnn_dataset_create(B, 3, sd, n.xb, sizeof n.xb / sizeof n.xb[0], n.lb, B, &ds));
  float acc = -1;
  if (ds) TU_OK(clnn_model_evaluate(n.m, ds, B, n.x, n.lab, -1, NULL, &acc));
  TU_CHECK(!kept(&n, "conv1") && !kept(&n, "conv2"), "evaluate allocates no kept columns");
  clnn_dataset_destroy(ds);
  clnn_model_destroy(n.m);

  build(ctx, &n);
  if (!n.m) return;
  TU_OK(clnn_model_set_trainable(n.m, "conv2.weight", 0, NULL));
  for (int step = 0; step < 2; step++) {
    batch(&n, step);
    TU_OK(clnn_model_train_step(n.m, n.f, 2, B, NULL));
  }
  TU_CHECK(kept(&n, "conv1") && !kept(&n, "conv2"),
           "a frozen conv2 weight keeps no columns (conv1's trained weight does)");
  clnn_model_destroy(n.m);
}

int main(void) {
  clnn_context *ctx = tu_context();
  /* Kept columns need both passes on clnn's CPU GEMM (else the two paths are the same one). */
  int applies = clnn__gemm_cpu_panel(ctx) != 0;
  int was = clnn__conv2d_set_keep_cols(1);
  same_bits(ctx, applies, 0, "one chunk");
  /* conv1's columns are 18 x 64 floats per image, conv2's 72 x 16: chunks of 7 images and 1 */
  same_bits(ctx, applies, 72 * 16 * sizeof(float) * 7, "several chunks");
  if (applies) {
    backward_reads_kept(ctx);
    finite_differences(ctx);
    no_kept_buffer(ctx);
  } else {
    printf("test_conv2d_keep_cols: the context's GEMMs run on CLBlast: kept columns do not apply\n");
  }
  clnn__conv2d_set_keep_cols(was);
  clnn_context_destroy(ctx);
  return tu_finish("test_conv2d_keep_cols");
}
