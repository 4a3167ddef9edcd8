/* tests/test_graph_gru.c — the GRU node of the graph layer: its forward against the plain-C
 * reference with the model's own parameters (batch-first values, every step and the last state);
 * PyTorch's parameter names, shapes and initialisation range; gradients of every parameter and of
 * the input against central finite differences through two stacked GRUs, one of them applied
 * twice with shared parameters (accumulating betas); a model file round trip; errors that name
 * the node and change nothing. */
#include "gru_ref.h"
#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { B = 3, T = 4, F = 3, H1 = 5, H2 = 4, C = 3 };

static float g_x[B * T * F];
static int32_t g_lab[B];

/* ---- forward against the reference ---- */
static void forward_vs_reference(clnn_context *ctx) {
  for (int seq = 0; seq < 2; seq++) {
    clnn_graph *g = NULL;
    int x, y;
    size_t xd[2] = {T, F};
    TU_OK(clnn_graph_create(&g));
    TU_OK(clnn_graph_input(g, "x", CLNN_FLOAT32, 2, xd, &x));
    TU_OK(clnn_graph_gru(g, "rnn", x, H1, seq, &y));
    TU_OK(clnn_graph_output(g, y));
    clnn_model *m = NULL;
    TU_OK(clnn_model_create(ctx, g, 11, &m));
    clnn_graph_destroy(g);
    if (!m) return;
    TU_CHECK(clnn_model_num_params(m) == 4, "a GRU node has 4 parameters, got %zu",
             clnn_model_num_params(m));
    static const char *const names[4] = {"rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0",
                                         "rnn.bias_hh_l0"};
    const size_t numel[4] = {3 * H1 * F, 3 * H1 * H1, 3 * H1, 3 * H1};
    double *p[4];
    const double lim = 1.0 / sqrt((double)H1);
    for (int k = 0; k < 4; k++) {
      clnn_tensor *v = NULL;
      TU_OK(clnn_model_param(m, names[k], &v, NULL));
      p[k] = malloc(numel[k] * sizeof(double));
      if (!v) {
        memset(p[k], 0, numel[k] * sizeof(double));
        continue;
      }
      TU_CHECK(clnn_tensor_numel(v) == numel[k], "%s has %zu elements, expected %zu", names[k],
               clnn_tensor_numel(v), numel[k]);
      float *h = tu_read(v);
      double mx = 0, ss = 0;
      for (size_t i = 0; i < numel[k]; i++) {
        p[k][i] = h[i];
        mx = fmax(mx, fabs(h[i]));
        ss += (double)h[i] * h[i];
      }
      /* uniform in +-lim: every value inside, spread like lim^2/3 (loosely, few samples) */
      TU_CHECK(mx <= lim && mx > 0.5 * lim, "%s: max |value| %.4f within (lim/2, lim = %.4f]",
               names[k], mx, lim);
      const double var = ss / (double)numel[k];
      TU_CHECK(var > 0.15 * lim * lim && var < 0.6 * lim * lim,
               "%s: mean square %.4f near lim^2/3 = %.4f", names[k], var, lim * lim / 3);
      free(h);
    }
    const size_t out_n = seq ? (size_t)B * T * H1 : (size_t)B * H1;
    float *got = malloc(out_n * sizeof(float));
    clnn_feed feed = {x, g_x, B * T * F, NULL};
    TU_OK(clnn_model_predict(m, &feed, 1, B, -1, got, out_n));
    /* reference: time-major x */
    double *xt = malloc(sizeof(double) * T * B * F), *yt = malloc(sizeof(double) * T * B * H1),
           *hn = malloc(sizeof(double) * B * H1);
    for (int b = 0; b < B; b++)
      for (int t = 0; t < T; t++)
        for (int f = 0; f < F; f++) xt[(t * B + b) * F + f] = g_x[(b * T + t) * F + f];
    gru_ref_forward_d(T, B, F, H1, xt, p[0], p[1], p[2], p[3], NULL, NULL, yt, hn);
    float *want = malloc(out_n * sizeof(float));
    for (int b = 0; b < B; b++)
      for (int j = 0; j < H1; j++) {
        if (!seq) want[b * H1 + j] = (float)hn[b * H1 + j];
        else
          for (int t = 0; t < T; t++) want[(b * T + t) * H1 + j] = (float)yt[(t * B + b) * H1 + j];
      }
    tu_allclose(got, want, out_n, 1e-4f, 1e-5f,
                seq ? "graph gru (sequences) vs reference" : "graph gru (last state) vs reference");
    for (int k = 0; k < 4; k++) free(p[k]);
    free(got), free(want), free(xt), free(yt), free(hn);
    clnn_model_destroy(m);
  }
}

/* ---- gradients through a small graph ---- */
typedef struct gcase {
  clnn_model *m;
  clnn_feed feeds[2];
} gcase;

static double objective(void *user) {
  gcase *c = user;
  float l = 0;
  clnn_model_forward(c->m, c->feeds, 2, B, &l);
  return l;
}

/* x [T, F] -> g1 (sequences) and g1 again on 0.5 x (shared parameters) -> sum -> g2 (last
 * state) -> dense -> softmax cross-entropy. */
static clnn_graph *build(int *x, int *lab, int *logits) {
  clnn_graph *g = NULL;
  size_t xd[2] = {T, F};
  int s1, xs, s2, s, h;
  int loss;
  TU_OK(clnn_graph_create(&g));
  TU_OK(clnn_graph_input(g, "x", CLNN_FLOAT32, 2, xd, x));
  TU_OK(clnn_graph_input(g, "label", CLNN_INT32, 0, NULL, lab));
  TU_OK(clnn_graph_gru(g, "g1", *x, H1, 1, &s1));
  TU_OK(clnn_graph_scale(g, "half", *x, 0.5f, &xs));
  TU_OK(clnn_graph_apply(g, "g1b", "g1", xs, &s2));
  TU_OK(clnn_graph_add(g, "sum", s1, s2, &s));
  TU_OK(clnn_graph_gru(g, "g2", s, H2, 0, &h));
  TU_OK(clnn_graph_dense(g, "head", h, C, 1, logits));
  TU_OK(clnn_graph_loss(g, "ce", CLNN_LOSS_SOFTMAX_CROSS_ENTROPY, *logits, *lab, 1.0f, &loss));
  TU_OK(clnn_graph_output(g, *logits));
  return g;
}

static void finite_differences(clnn_context *ctx) {
  int x, lab, logits;
  clnn_graph *g = build(&x, &lab, &logits);
  clnn_model *m = NULL;
  TU_OK(clnn_model_create(ctx, g, 5, &m));
  clnn_graph_destroy(g);
  if (!m) return;
  TU_OK(clnn_model_input_grad(m, x, 1));
  gcase c = {m, {{x, g_x, B * T * F, NULL}, {lab, g_lab, B, NULL}}};
  float loss = 0;
  TU_OK(clnn_model_compute_gradients(m, c.feeds, 2, B, &loss));
  TU_CHECK(isfinite(loss) && loss > 0, "objective %g", loss);
  size_t np = clnn_model_num_params(m);
  TU_CHECK(np == 10, "10 parameters (g1 4, g2 4, head 2), got %zu", np);
  tu_fd_params(m, 2e-3, objective, &c);
  clnn_tensor *dx = NULL;
  TU_OK(clnn_model_compute_gradients(m, c.feeds, 2, B, NULL));
  TU_OK(clnn_model_grad(m, x, &dx));
  if (dx) {
    float *ga = tu_read(dx);
    int bad = tu_fd_check(g_x, B * T * F, 12, 7, 1, 1e-2, 2e-3, 3e-2, ga, NULL, objective, &c,
                          "dx", NULL);
    TU_CHECK(!bad, "input gradient matches finite differences");
    free(ga);
  }

  /* a model file rebuilds the same model */
  float *lg = malloc(sizeof(float) * B * C), *lg2 = malloc(sizeof(float) * B * C);
  TU_OK(clnn_model_save(m, "graph_gru.safetensors", 0));
  clnn_model *m2 = NULL;
  TU_OK(clnn_model_load_file(ctx, "graph_gru.safetensors", &m2));
  if (m2) {
    TU_OK(clnn_model_predict(m, c.feeds, 2, B, -1, lg, B * C));
    TU_OK(clnn_model_predict(m2, c.feeds, 2, B, -1, lg2, B * C));
    TU_CHECK(!memcmp(lg, lg2, sizeof(float) * B * C), "the loaded model predicts the same bits");
    clnn_tensor *w = NULL;
    TU_OK(clnn_model_param(m2, "g2.bias_hh_l0", &w, NULL));
    TU_CHECK(w && clnn_tensor_numel(w) == 3 * H2, "loaded g2.bias_hh_l0 has 3*hidden elements");
    clnn_model_destroy(m2);
  }
  remove("graph_gru.safetensors");
  free(lg), free(lg2);
  clnn_model_destroy(m);
}

/* ---- errors name the node and leave the graph unchanged ---- */
static void errors(void) {
  clnn_graph *g = NULL;
  int x, v, o = -7;
  size_t xd[2] = {T, F}, vd[1] = {F};
  TU_OK(clnn_graph_create(&g));
  TU_OK(clnn_graph_input(g, "x", CLNN_FLOAT32, 2, xd, &x));
  TU_OK(clnn_graph_input(g, "v", CLNN_FLOAT32, 1, vd, &v));
  const int nv = clnn_graph_num_values(g);
  TU_STATUS(clnn_graph_gru(g, "bad_h", x, 0, 1, &o), CLNN_ERROR_INVALID_ARGUMENT);
  TU_CHECK(strstr(clnn_last_error(), "bad_h") && strstr(clnn_last_error(), "hidden 0"),
           "hidden 0 names the node and the value: %s", clnn_last_error());
  TU_STATUS(clnn_graph_gru(g, "bad_x", v, 4, 1, &o), CLNN_ERROR_SHAPE_MISMATCH);
  TU_CHECK(strstr(clnn_last_error(), "bad_x") && strstr(clnn_last_error(), "[N, T, F]"),
           "a non-sequence input names the node: %s", clnn_last_error());
  TU_STATUS(clnn_graph_gru(g, "bad_v", 99, 4, 1, &o), CLNN_ERROR_INVALID_ARGUMENT);
  TU_CHECK(o == -7 && clnn_graph_num_values(g) == nv, "failed calls change nothing");
  clnn_graph_destroy(g);
}

int main(void) {
  clnn_context *ctx = tu_context();
  tu_seed(77);
  tu_fill_uniform(g_x, B * T * F, -1.0f, 1.0f);
  for (int b = 0; b < B; b++) g_lab[b] = (int32_t)((b * 2 + 1) % C);
  forward_vs_reference(ctx);
  finite_differences(ctx);
  errors();
  clnn_context_destroy(ctx);
  return tu_finish("test_graph_gru");
}
