/* tests/test_graph_seq.c — the sequence nodes of the graph layer: embedding, layer norm, RMS norm,
 * attention (causal, key lengths, q = k = v from one value), the multi-head attention block and
 * softmax cross-entropy over [N, T, V] with an ignore index. Gradients of every parameter and of
 * a float input against central finite differences through a pre-norm block that exercises beta
 * accumulation (values feeding several nodes, shared parameters, differing betas; also for a
 * shared batch norm); the loss
 * against a host computation over the counted tokens (and 0 when none counts), on both launch
 * shapes of the operator; attention dropout; a model file round trip; errors that name the node
 * and change nothing. */
#include "internal.h"
#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { B = 3, T = 5, D = 8, V = 7, C = 6, IGN = -100 };

typedef struct seq_case {
  clnn_model *m;
  clnn_feed feeds[4];
  int nfeeds;
} seq_case;

static double objective(void *user) {
  seq_case *c = user;
  float l = 0;
  clnn_model_forward(c->m, c->feeds, c->nfeeds, B, &l);
  return l;
}

/* ids [T] -> embedding + x -> pre-norm causal multi-head attention (residual) -> RMS norm ->
 * self-attention with q = k = v and key lengths (residual) -> layer norm sharing ln1's
 * parameters -> dense -> cross-entropy ignoring IGN. */
static clnn_graph *build(int *x, int *ids, int *lab, int *len, int *logits) {
  clnn_graph *g = NULL;
  size_t td[1] = {T}, xd[2] = {T, D};
  int e, h, n1, a, h2, n2, sa, h3, n3, loss;
  TU_OK(clnn_graph_create(&g));
  TU_OK(clnn_graph_input(g, "ids", CLNN_INT32, 1, td, ids));
  TU_OK(clnn_graph_input(g, "x", CLNN_FLOAT32, 2, xd, x));
  TU_OK(clnn_graph_input(g, "label", CLNN_INT32, 1, td, lab));
  TU_OK(clnn_graph_input(g, "len", CLNN_INT32, 0, NULL, len));
  TU_OK(clnn_graph_embedding(g, "emb", *ids, V, D, &e));
  TU_OK(clnn_graph_add(g, "in", e, *x, &h));
  TU_OK(clnn_graph_layer_norm(g, "ln1", h, 0, 1, &n1));
  TU_OK(clnn_graph_multihead_attention(g, "mha", n1, 2, 1, 0.0f, &a));
  TU_OK(clnn_graph_add(g, "res1", h, a, &h2));
  TU_OK(clnn_graph_rms_norm(g, "rms", h2, 0, 1, &n2)); /* its input's beta is 1, its params' 0 */
  TU_OK(clnn_graph_attention(g, "sa", n2, n2, n2, *len, 4, 0, 0.0f, &sa));
  TU_OK(clnn_graph_add(g, "res2", h2, sa, &h3));
  TU_OK(clnn_graph_apply(g, "ln2", "ln1", h3, &n3)); /* ln1's parameters accumulate */
  TU_OK(clnn_graph_dense(g, "head", n3, C, 1, logits));
  TU_OK(clnn_graph_cross_entropy(g, "ce", *logits, *lab, IGN, 1.0f, &loss));
  TU_OK(clnn_graph_output(g, *logits));
  return g;
}

static float *g_xb;
static int32_t g_ids[B * T], g_lab[B * T], g_len[B];

static void make_data(void) {
  g_xb = malloc(sizeof(float) * B * T * D);
  tu_seed(21);
  tu_fill_uniform(g_xb, B * T * D, -1.0f, 1.0f);
  for (int i = 0; i < B * T; i++) {
    g_ids[i] = (int32_t)((i * 5 + 1) % V);
    g_lab[i] = (i % 4 == 3) ? IGN : (int32_t)((i * 3 + 2) % C);
  }
  g_len[0] = T;
  g_len[1] = 2;
  g_len[2] = 4;
}

static void finite_differences(clnn_context *ctx) {
  int x, ids, lab, len, logits;
  clnn_graph *g = build(&x, &ids, &lab, &len, &logits);
  clnn_model *m = NULL;
  TU_OK(clnn_model_create(ctx, g, 5, &m));
  clnn_graph_destroy(g);
  if (!m) return;
  TU_OK(clnn_model_input_grad(m, x, 1));
  seq_case c = {m,
                {{ids, g_ids, B * T, NULL},
                 {x, g_xb, B * T * D, NULL},
                 {lab, g_lab, B * T, NULL},
                 {len, g_len, B, NULL}},
                4};
  float loss = 0;
  TU_OK(clnn_model_compute_gradients(m, c.feeds, 4, B, &loss));
  TU_CHECK(isfinite(loss) && loss > 0, "objective %g", loss);
  size_t np = clnn_model_num_params(m);
  TU_CHECK(np == 14, "14 parameters (emb 1, ln1 2, mha 8, rms 1, head 2), got %zu", np);
  tu_fd_params(m, 2e-3, objective, &c);
  clnn_tensor *dx = NULL;
  TU_OK(clnn_model_compute_gradients(m, c.feeds, 4, B, NULL));
  TU_OK(clnn_model_grad(m, x, &dx));
  if (dx) {
    float *ga = tu_read(dx);
    int bad = tu_fd_check(g_xb, B * T * D, 10, 37, 5, 1e-2, 2e-3, 3e-2, ga, NULL, objective, &c,
                          "dx", NULL);
    TU_CHECK(!bad, "input gradient matches finite differences");
    free(ga);
  }
  /* the same bits run to run */
  clnn_tensor *eg = NULL;
  TU_OK(clnn_model_param(m, "emb.weight", NULL, &eg));
  TU_OK(clnn_model_compute_gradients(m, c.feeds, 4, B, NULL));
  float *g1 = tu_read(eg);
  TU_OK(clnn_model_compute_gradients(m, c.feeds, 4, B, NULL));
  float *g2 = tu_read(eg);
  TU_CHECK(!memcmp(g1, g2, clnn_tensor_numel(eg) * sizeof(float)),
           "embedding gradient is the same bits run to run");
  /* forward and backward as two calls, the caller's ids and lengths overwritten in between: the
   * model reads its own copies */
  int32_t ids2[B * T], len2[B];
  memcpy(ids2, g_ids, sizeof ids2);
  memcpy(len2, g_len, sizeof len2);
  c.feeds[0].host = ids2;
  c.feeds[3].host = len2;
  TU_OK(clnn_model_forward(m, c.feeds, 4, B, NULL));
  for (int i = 0; i < B * T; i++) ids2[i] = -1;
  for (int i = 0; i < B; i++) len2[i] = 0;
  TU_OK(clnn_model_backward(m, NULL, 0));
  free(g2);
  g2 = tu_read(eg);
  TU_CHECK(!memcmp(g1, g2, clnn_tensor_numel(eg) * sizeof(float)),
           "forward, caller's ids overwritten, backward: the same embedding gradient");
  c.feeds[0].host = g_ids;
  c.feeds[3].host = g_len;
  free(g1);
  free(g2);

  /* the loss is the mean over the counted tokens of the predicted logits */
  float *lg = malloc(sizeof(float) * B * T * C);
  TU_OK(clnn_model_predict(m, c.feeds, 4, B, logits, lg, B * T * C));
  TU_OK(clnn_model_forward(m, c.feeds, 4, B, &loss));
  double sum = 0;
  int counted = 0;
  for (int r = 0; r < B * T; r++) {
    if (g_lab[r] == IGN) continue;
    double mx = -1e30, s = 0;
    for (int j = 0; j < C; j++) mx = fmax(mx, lg[r * C + j]);
    for (int j = 0; j < C; j++) s += exp(lg[r * C + j] - mx);
    sum += log(s) + mx - lg[r * C + g_lab[r]];
    counted++;
  }
  TU_CHECK(fabs(loss - sum / counted) < 1e-5 * (1 + fabs(sum / counted)),
           "ignore index: loss %.7g is the mean over %d counted tokens %.7g", loss, counted,
           sum / counted);
  /* nothing counted: loss 0 and zero gradients */
  int32_t none[B * T];
  for (int i = 0; i < B * T; i++) none[i] = IGN;
  c.feeds[2].host = none;
  TU_OK(clnn_model_compute_gradients(m, c.feeds, 4, B, &loss));
  TU_CHECK(loss == 0.0f, "every label ignored: loss %g", loss);
  clnn_tensor *hg = NULL;
  TU_OK(clnn_model_param(m, "head.weight", NULL, &hg));
  if (hg) tu_check_all(hg, 0.0f, "head.weight's gradient with every label ignored");
  c.feeds[2].host = g_lab;
  /* labels out of range, ids out of range, lengths out of range: errors naming the node */
  int32_t badl[B * T], badi[B * T], badn[B] = {T, T + 1, 1};
  memcpy(badl, g_lab, sizeof badl);
  memcpy(badi, g_ids, sizeof badi);
  badl[4] = C;
  badi[7] = V;
  c.feeds[2].host = badl;
  TU_STATUS(clnn_model_forward(m, c.feeds, 4, B, NULL), CLNN_ERROR_INVALID_ARGUMENT);
  TU_CHECK(strstr(clnn_last_error(), "'ce'") != NULL, "label error names the node: %s",
           clnn_last_error());
  c.feeds[2].host = g_lab;
  c.feeds[0].host = badi;
  TU_STATUS(clnn_model_forward(m, c.feeds, 4, B, NULL), CLNN_ERROR_INVALID_ARGUMENT);
  TU_CHECK(strstr(clnn_last_error(), "'emb'") != NULL, "id error names the node: %s",
           clnn_last_error());
  c.feeds[0].host = g_ids;
  c.feeds[3].host = badn;
  TU_STATUS(clnn_model_forward(m, c.feeds, 4, B, NULL), CLNN_ERROR_INVALID_ARGUMENT);
  TU_CHECK(strstr(clnn_last_error(), "'sa'") != NULL, "length error names the node: %s",
           clnn_last_error());
  c.feeds[3].host = g_len;

  /* a model file rebuilds the same model */
  TU_OK(clnn_model_save(m, "graph_seq.safetensors", 0));
  clnn_model *m2 = NULL;
  TU_OK(clnn_model_load_file(ctx, "graph_seq.safetensors", &m2));
  if (m2) {
    float *lg2 = malloc(sizeof(float) * B * T * C);
    TU_OK(clnn_model_predict(m, c.feeds, 4, B, -1, lg, B * T * C));
    TU_OK(clnn_model_predict(m2, c.feeds, 4, B, -1, lg2, B * T * C));
    TU_CHECK(!memcmp(lg, lg2, sizeof(float) * B * T * C), "the loaded model predicts the same bits");
    free(lg2);
    clnn_model_destroy(m2);
  }
  remove("graph_seq.safetensors");
  free(lg);
  clnn_model_destroy(m);
}

/* The operator on both launch shapes (CPU rows, GPU work-groups) against the host. */
static void ignore_operator(clnn_context *ctx) {
  enum { R = 37, K = 21 };
  float *x = malloc(sizeof(float) * R * K);
  tu_seed(3);
  tu_fill_uniform(x, R * K, -3.0f, 3.0f);
  int32_t lab[R];
  for (int r = 0; r < R; r++) lab[r] = (r % 3 == 1) ? 2 : (int32_t)((r * 7) % K);
  /* reference: ignore_index 2 (a class): rows labelled 2 are skipped */
  double sum = 0;
  int counted = 0;
  float *want = calloc(R * K, sizeof(float));
  for (int r = 0; r < R; r++) {
    if (lab[r] == 2) continue;
    counted++;
  }
  for (int r = 0; r < R; r++) {
    if (lab[r] == 2) continue;
    double mx = -1e30, s = 0;
    for (int j = 0; j < K; j++) mx = fmax(mx, x[r * K + j]);
    for (int j = 0; j < K; j++) s += exp(x[r * K + j] - mx);
    sum += log(s) + mx - x[r * K + lab[r]];
    for (int j = 0; j < K; j++)
      want[r * K + j] = (float)((exp(x[r * K + j] - mx) / s - (j == lab[r])) / counted);
  }
  size_t xd[2] = {R, K}, one[1] = {1};
  for (int shape = 0; shape < 2; shape++) {
    const int saved = ctx->device_class;
    if (shape) ctx->device_class = CLNN_DEVICE_CLASS_GPU;
    clnn_tensor *tx = tu_tensor(ctx, 2, xd, x), *tl = tu_tensor(ctx, 1, one, NULL);
    clnn_tensor *td = tu_tensor(ctx, 2, xd, NULL);
    TU_OK(clnn_softmax_cross_entropy_ignore(ctx, tx, lab, R, 2, tl, td));
    float l = 0, *gd = tu_read(td);
    clnn_tensor_read(tl, &l, 1);
    TU_CHECK(fabs(l - sum / counted) < 1e-5 * (1 + sum / counted), "%s: loss %.7g vs %.7g",
             shape ? "gpu-shape" : "cpu-shape", l, sum / counted);
    tu_allclose(gd, want, R * K, 1e-4f, 1e-6f, shape ? "gpu-shape gradient" : "cpu-shape gradient");
    /* in place (dlogits = logits) */
    TU_OK(clnn_softmax_cross_entropy_ignore(ctx, tx, lab, R, 2, tl, tx));
    free(gd);
    gd = tu_read(tx);
    tu_allclose(gd, want, R * K, 1e-4f, 1e-6f, "in-place gradient");
    free(gd);
    /* a label out of range that is not the ignore index: an error, nothing written */
    int32_t bad[R];
    memcpy(bad, lab, sizeof bad);
    bad[5] = K;
    TU_OK(clnn_tensor_fill(tl, 9.0f));
    TU_STATUS(clnn_softmax_cross_entropy_ignore(ctx, tx, bad, R, 2, tl, NULL),
              CLNN_ERROR_INVALID_ARGUMENT);
    tu_check_all(tl, 9.0f, "loss after a failed call");
    clnn_tensor_destroy(tx);
    clnn_tensor_destroy(tl);
    clnn_tensor_destroy(td);
    ctx->device_class = saved;
  }
  free(x);
  free(want);
}

/* Attention dropout: training forwards differ, evaluation does not drop; a training step runs. */
static void attention_dropout(clnn_context *ctx) {
  clnn_graph *g = NULL;
  size_t xd[2] = {T, D};
  int x, y, l;
  TU_OK(clnn_graph_create(&g));
  TU_OK(clnn_graph_input(g, "x", CLNN_FLOAT32, 2, xd, &x));
  TU_OK(clnn_graph_multihead_attention(g, "mha", x, 2, 1, 0.5f, &y));
  TU_OK(clnn_graph_mean(g, "m", y, &l));
  TU_OK(clnn_graph_add_loss(g, l, 1.0f));
  TU_OK(clnn_graph_output(g, y));
  clnn_model *m = NULL;
  TU_OK(clnn_model_create(ctx, g, 1, &m));
  clnn_graph_destroy(g);
  if (!m) return;
  clnn_feed f = {x, g_xb, B * T * D, NULL};
  float l1 = 0, l2 = 0, p1[B * T * D], p2[B * T * D];
  TU_OK(clnn_model_forward(m, &f, 1, B, &l1));
  TU_OK(clnn_model_forward(m, &f, 1, B, &l2));
  TU_CHECK(l1 != l2, "two training forwards draw different dropout masks (%g, %g)", l1, l2);
  TU_OK(clnn_model_predict(m, &f, 1, B, -1, p1, B * T * D));
  TU_OK(clnn_model_predict(m, &f, 1, B, -1, p2, B * T * D));
  TU_CHECK(!memcmp(p1, p2, sizeof p1), "evaluation mode does not drop");
  TU_OK(clnn_model_train_step(m, &f, 1, B, &l1));
  TU_CHECK(isfinite(l1), "a training step with attention dropout: %g", l1);
  clnn_model_destroy(m);
}

/* Shape and argument errors: the right status, the node named, the graph unchanged. */
static void errors(void) {
  clnn_graph *g = NULL;
  size_t xd[2] = {T, D}, kd[2] = {T - 2, D}, od[2] = {T, 6}, td[1] = {T};
  int x, k, o, ids, fl, len, lab, out = -7;
  TU_OK(clnn_graph_create(&g));
  TU_OK(clnn_graph_input(g, "x", CLNN_FLOAT32, 2, xd, &x));
  TU_OK(clnn_graph_input(g, "k", CLNN_FLOAT32, 2, kd, &k));
  TU_OK(clnn_graph_input(g, "o", CLNN_FLOAT32, 2, od, &o));
  TU_OK(clnn_graph_input(g, "ids", CLNN_INT32, 1, td, &ids));
  TU_OK(clnn_graph_input(g, "lab", CLNN_INT32, 1, td, &lab));
  TU_OK(clnn_graph_input(g, "fl", CLNN_FLOAT32, 1, td, &fl));
  TU_OK(clnn_graph_input(g, "len", CLNN_INT32, 1, td, &len)); /* [T]: not one per sample */
  int nv = clnn_graph_num_values(g);
#define BAD(call, status, node)                                                                  \
  do {                                                                                           \
    TU_STATUS(call, status);                                                                     \
    TU_CHECK(strstr(clnn_last_error(), node) != NULL, "%s: message names '%s': %s", #call, node, \
             clnn_last_error());                                                                 \
    TU_CHECK(clnn_graph_num_values(g) == nv && out == -7, "%s: graph and out unchanged", #call); \
  } while (0)
  BAD(clnn_graph_embedding(g, "e_float", fl, V, D, &out), CLNN_ERROR_SHAPE_MISMATCH, "e_float");
  BAD(clnn_graph_embedding(g, "e_v0", ids, 0, D, &out), CLNN_ERROR_INVALID_ARGUMENT, "e_v0");
  BAD(clnn_graph_embedding(g, "e_d0", ids, V, -1, &out), CLNN_ERROR_INVALID_ARGUMENT, "e_d0");
  BAD(clnn_graph_layer_norm(g, "ln_int", ids, 0, 1, &out), CLNN_ERROR_SHAPE_MISMATCH, "ln_int");
  BAD(clnn_graph_layer_norm(g, "ln_eps", x, -1.0f, 1, &out), CLNN_ERROR_INVALID_ARGUMENT, "ln_eps");
  BAD(clnn_graph_rms_norm(g, "rms_nan", x, NAN, 1, &out), CLNN_ERROR_INVALID_ARGUMENT, "rms_nan");
  BAD(clnn_graph_attention(g, "a_h3", x, x, x, -1, 3, 0, 0, &out), CLNN_ERROR_INVALID_ARGUMENT, "a_h3");
  BAD(clnn_graph_attention(g, "a_h0", x, x, x, -1, 0, 0, 0, &out), CLNN_ERROR_INVALID_ARGUMENT, "a_h0");
  BAD(clnn_graph_attention(g, "a_causal", x, k, k, -1, 2, 1, 0, &out), CLNN_ERROR_SHAPE_MISMATCH,
      "a_causal");
  BAD(clnn_graph_attention(g, "a_dim", x, o, o, -1, 2, 0, 0, &out), CLNN_ERROR_SHAPE_MISMATCH, "a_dim");
  BAD(clnn_graph_attention(g, "a_kv", x, x, k, -1, 2, 0, 0, &out), CLNN_ERROR_SHAPE_MISMATCH, "a_kv");
  BAD(clnn_graph_attention(g, "a_len", x, x, x, len, 2, 0, 0, &out), CLNN_ERROR_SHAPE_MISMATCH, "a_len");
  BAD(clnn_graph_attention(g, "a_lenf", x, x, x, fl, 2, 0, 0, &out), CLNN_ERROR_SHAPE_MISMATCH, "a_lenf");
  BAD(clnn_graph_attention(g, "a_p1", x, x, x, -1, 2, 0, 1.0f, &out), CLNN_ERROR_INVALID_ARGUMENT, "a_p1");
  BAD(clnn_graph_attention(g, "a_int", ids, ids, ids, -1, 1, 0, 0, &out), CLNN_ERROR_SHAPE_MISMATCH,
      "a_int");
  BAD(clnn_graph_multihead_attention(g, "mha_h3", x, 3, 1, 0, &out), CLNN_ERROR_INVALID_ARGUMENT,
      "mha_h3");
  BAD(clnn_graph_multihead_attention(g, "mha_vec", fl, 1, 1, 0, &out), CLNN_ERROR_SHAPE_MISMATCH,
      "mha_vec");
  TU_STATUS(clnn_graph_multihead_attention(g, NULL, x, 2, 1, 0, &out), CLNN_ERROR_INVALID_ARGUMENT);
  BAD(clnn_graph_cross_entropy(g, "ce_f", x, fl, IGN, 1.0f, &out), CLNN_ERROR_SHAPE_MISMATCH, "ce_f");
  BAD(clnn_graph_cross_entropy(g, "ce_t", k, lab, IGN, 1.0f, &out), CLNN_ERROR_SHAPE_MISMATCH, "ce_t");
  TU_CHECK(clnn_graph_find(g, "mha_h3.q", &out) != CLNN_SUCCESS && out == -7,
           "no part of a failed multi-head attention block stays");
#undef BAD
  clnn_graph_destroy(g);
}

/* Regression: a batch-norm node whose shared parameters were already written (beta 1) while
 * its input's gradient was not (beta 0) once accumulated a stale buffer into the input gradient
 * (src/nn/op_norm.c): the same layer-norm path (norm_backward) is checked above; here batch norm. */
typedef struct bn_case {
  clnn_model *m;
  clnn_feed f[2];
} bn_case;
static double bn_objective(void *user) {
  bn_case *c = user;
  float l = 0;
  clnn_model_forward(c->m, c->f, 2, 4, &l);
  return l;
}

static void shared_batchnorm(clnn_context *ctx) {
  clnn_graph *g = NULL;
  size_t d[3] = {2, 3, 3};
  int x, t, b1, s, b2, l;
  TU_OK(clnn_graph_create(&g));
  TU_OK(clnn_graph_input(g, "x", CLNN_FLOAT32, 3, d, &x));
  TU_OK(clnn_graph_input(g, "t", CLNN_FLOAT32, 3, d, &t));
  TU_OK(clnn_graph_batchnorm(g, "bn", x, 0, 0, &b1));
  TU_OK(clnn_graph_scale(g, "s", b1, 0.5f, &s));
  TU_OK(clnn_graph_apply(g, "bn2", "bn", s, &b2));
  TU_OK(clnn_graph_loss(g, "mse", CLNN_LOSS_MSE, b2, t, 1.0f, &l));
  clnn_model *m = NULL;
  TU_OK(clnn_model_create(ctx, g, 1, &m));
  clnn_graph_destroy(g);
  if (!m) return;
  TU_OK(clnn_model_input_grad(m, x, 1));
  float xb[72], tb[72], g1[72], g2[72];
  for (int i = 0; i < 72; i++) {
    xb[i] = (float)((i * 37) % 11) * 0.2f - 1.0f;
    tb[i] = (float)((i * 13) % 7) * 0.3f - 1.0f;
  }
  bn_case c = {m, {{x, xb, 72, NULL}, {t, tb, 72, NULL}}};
  clnn_tensor *dx = NULL;
  for (int r = 0; r < 2; r++) {
    TU_OK(clnn_model_compute_gradients(m, c.f, 2, 4, NULL));
    TU_OK(clnn_model_grad(m, x, &dx));
    if (dx) clnn_tensor_read(dx, r ? g2 : g1, 72);
  }
  TU_CHECK(!memcmp(g1, g2, sizeof g1), "shared batch norm: the input gradient repeats");
  int bad = 0;
  for (int k = 0; k < 6; k++) {
    size_t i = (size_t)(k * 13 + 2) % 72;
    double num = tu_fd(xb, i, 1e-2f, bn_objective, &c);
    if (fabs(num - g1[i]) > 2e-3 + 3e-2 * fabs(num)) {
      bad = 1;
      printf("  bn dx[%zu]: analytic %.6g, finite difference %.6g\n", i, g1[i], num);
    }
  }
  TU_CHECK(!bad, "shared batch norm: input gradient matches finite differences");
  clnn_model_destroy(m);
}

int main(void) {
  clnn_context *ctx = tu_context();
  make_data();
  finite_differences(ctx);
  ignore_operator(ctx);
  attention_dropout(ctx);
  errors();
  shared_batchnorm(ctx);
  free(g_xb);
  clnn_context_destroy(ctx);
  return tu_finish("test_graph_seq");
}
