/* tests/test_graph_gru.c — the GRU node of the graph layer: its forward against the plain-C
 * reference with the model's own parameters (batch-first values, every step and the last state);
 * PyTorch's parameter names, shapes and initialisation range; gradients of every parameter and of
 * the input against central finite differences through two stacked GRUs, one of them applied
 * twice with shared parameters (accumulating betas); a model file round trip; errors that name
 * the node and change nothing. Sequence options (clnn_graph_gru_ex, the LSTM's design): lengths,
 * h0 from a value, h_n given out and bidirectional, with every parameter's and input's (x, h0)
 * gradient against finite differences of <seed_y, y> + <seed_h, h_n> on three configurations,
 * the same sequences padded to two lengths giving the same outputs and gradients, the
 * bidirectional node against two single-direction nodes (the second fed each sample reversed),
 * and a model file round trip of the bidirectional node with lengths and state. */
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

/* ---- sequence options (clnn_graph_gru_ex) ---- */
enum { SN = 3, SH = 4 };
static const int32_t LENS[SN] = {5, 2, 4};

typedef struct scase {
  clnn_model *m;
  int x, len, h0, y, hn;
  int bi, retseq, state;
  size_t T;
  float *xb, *h0b, *sy, *sh;
  int32_t lens[SN];
  clnn_feed feeds[3];
  int nfeeds;
} scase;

static void sbuild(clnn_context *ctx, scase *c, size_t T, int bi, int retseq, int state) {
  memset(c, 0, sizeof *c);
  c->T = T, c->bi = bi, c->retseq = retseq, c->state = state;
  clnn_graph *g = NULL;
  TU_OK(clnn_graph_create(&g));
  size_t xd[2] = {T, F}, sd[2] = {bi ? 2 : SH, SH};
  TU_OK(clnn_graph_input(g, "x", CLNN_FLOAT32, 2, xd, &c->x));
  TU_OK(clnn_graph_input(g, "len", CLNN_INT32, 0, NULL, &c->len));
  clnn_graph_rnn_options o;
  clnn_graph_rnn_options_init(&o);
  o.hidden = SH;
  o.return_sequences = retseq;
  o.bidirectional = bi;
  o.state_outputs = state;
  o.lengths = c->len;
  if (state) {
    TU_OK(clnn_graph_input(g, "h0", CLNN_FLOAT32, bi ? 2 : 1, sd, &c->h0));
    o.h0 = c->h0;
  }
  c->hn = -1;
  TU_OK(clnn_graph_gru_ex(g, "rnn", c->x, &o, &c->y, &c->hn));
  TU_OK(clnn_graph_output(g, c->y));
  if (state) TU_OK(clnn_graph_output(g, c->hn));
  TU_OK(clnn_model_create(ctx, g, 11, &c->m));
  clnn_graph_destroy(g);
  const size_t D = bi ? 2 : 1, ny = SN * (retseq ? T : 1) * D * SH, ns = SN * D * SH;
  c->xb = tu_fvec(SN * T * F, -1, 1);
  c->h0b = tu_fvec(ns, -0.8f, 0.8f);
  c->sy = tu_fvec(ny, -1, 1), c->sh = tu_fvec(ns, -1, 1);
  memcpy(c->lens, LENS, sizeof LENS);
  c->feeds[c->nfeeds++] = (clnn_feed){c->x, c->xb, SN * T * F, NULL};
  c->feeds[c->nfeeds++] = (clnn_feed){c->len, c->lens, SN, NULL};
  if (state) c->feeds[c->nfeeds++] = (clnn_feed){c->h0, c->h0b, ns, NULL};
}

static void scase_free(scase *c) {
  clnn_model_destroy(c->m);
  free(c->xb), free(c->h0b), free(c->sy), free(c->sh);
}

static double sobjective(void *user) {
  scase *c = user;
  if (clnn_model_forward(c->m, c->feeds, c->nfeeds, SN, NULL) != CLNN_SUCCESS) return NAN;
  double s = tu_dot_value(c->m, c->y, c->sy);
  if (c->state) s += tu_dot_value(c->m, c->hn, c->sh);
  return s;
}

static void sgradients(scase *c) {
  TU_OK(clnn_model_forward(c->m, c->feeds, c->nfeeds, SN, NULL));
  const size_t D = c->bi ? 2 : 1;
  clnn_feed seeds[2] = {{c->y, c->sy, SN * (c->retseq ? c->T : 1) * D * SH, NULL},
                        {c->hn, c->sh, SN * D * SH, NULL}};
  TU_OK(clnn_model_backward(c->m, seeds, c->state ? 2 : 1));
}

static void regrad(void *user) { sgradients(user); }
static void check_input_grad(scase *c, int v, float *host, size_t n, const char *what) {
  tu_fd_input_grad(c->m, v, host, n, regrad, sobjective, c, what);
}

static void seq_finite_differences(clnn_context *ctx, int bi, int retseq, int state) {
  scase c;
  tu_seed(200 + bi * 4 + retseq * 2 + state);
  sbuild(ctx, &c, 5, bi, retseq, state);
  if (!c.m) return;
  TU_OK(clnn_model_input_grad(c.m, c.x, 1));
  if (state) TU_OK(clnn_model_input_grad(c.m, c.h0, 1));
  size_t np = clnn_model_num_params(c.m);
  TU_CHECK(np == (size_t)(bi ? 8 : 4), "%d parameters, got %zu", bi ? 8 : 4, np);
  if (bi) {
    clnn_tensor *w = NULL;
    TU_OK(clnn_model_param(c.m, "rnn.weight_hh_l0_reverse", &w, NULL));
    TU_CHECK(w && clnn_tensor_dim(w, 0) == 3 * SH && clnn_tensor_dim(w, 1) == SH,
             "rnn.weight_hh_l0_reverse is [3H, H]");
  }
  sgradients(&c);
  tu_fd_params(c.m, 2e-3, sobjective, &c);
  char what[96];
  snprintf(what, sizeof what, "gru dx (bi=%d retseq=%d state=%d)", bi, retseq, state);
  check_input_grad(&c, c.x, c.xb, SN * c.T * F, what);
  if (state) {
    snprintf(what, sizeof what, "gru dh0 (bi=%d retseq=%d)", bi, retseq);
    check_input_grad(&c, c.h0, c.h0b, SN * (bi ? 2 : 1) * SH, what);
  }
  scase_free(&c);
}

static float *value_of(clnn_model *m, int v) {
  clnn_tensor *t = NULL;
  TU_OK(clnn_model_value(m, v, &t));
  return t ? tu_read(t) : calloc(1, sizeof(float));
}

/* Copies parameter `from` of model a into parameter `to` of model b. */
static void copy_param(clnn_model *a, const char *from, clnn_model *b, const char *to) {
  clnn_tensor *pa = NULL, *pb = NULL;
  TU_OK(clnn_model_param(a, from, &pa, NULL));
  TU_OK(clnn_model_param(b, to, &pb, NULL));
  if (!pa || !pb) return;
  float *h = tu_read(pa);
  TU_OK(clnn_tensor_write(pb, h, clnn_tensor_numel(pb)));
  free(h);
}

static const char *const PNAMES[8] = {
    "rnn.weight_ih_l0",         "rnn.weight_hh_l0",         "rnn.bias_ih_l0",
    "rnn.bias_hh_l0",           "rnn.weight_ih_l0_reverse", "rnn.weight_hh_l0_reverse",
    "rnn.bias_ih_l0_reverse",   "rnn.bias_hh_l0_reverse"};

/* The same sequences padded to T = 5 and T = 9 (other padding values): equal outputs on the
 * real steps, equal final state and equal parameter and input gradients; then the
 * bidirectional model with lengths and state through a model file. */
static void padding_invariance(clnn_context *ctx) {
  scase a, b;
  tu_seed(7);
  sbuild(ctx, &a, 5, 1, 1, 1);
  tu_seed(7);
  sbuild(ctx, &b, 9, 1, 1, 1);
  if (!a.m || !b.m) return;
  for (size_t n = 0; n < SN; n++)
    for (size_t t = 0; t < 9; t++)
      for (size_t f = 0; f < F; f++)
        b.xb[(n * 9 + t) * F + f] = t < (size_t)LENS[n] ? a.xb[(n * 5 + t) * F + f] : 3.5f;
  memcpy(b.h0b, a.h0b, SN * 2 * SH * 4), memcpy(b.sh, a.sh, SN * 2 * SH * 4);
  for (size_t n = 0; n < SN; n++)
    for (size_t t = 0; t < 9; t++)
      for (size_t j = 0; j < 2 * SH; j++)
        b.sy[(n * 9 + t) * 2 * SH + j] = t < 5 ? a.sy[(n * 5 + t) * 2 * SH + j] : 1.0f;
  for (int k = 0; k < 8; k++) copy_param(a.m, PNAMES[k], b.m, PNAMES[k]);
  TU_OK(clnn_model_input_grad(a.m, a.x, 1));
  TU_OK(clnn_model_input_grad(b.m, b.x, 1));
  TU_OK(clnn_model_input_grad(a.m, a.h0, 1));
  TU_OK(clnn_model_input_grad(b.m, b.h0, 1));
  sgradients(&a);
  sgradients(&b);
  const double worst = tu_param_grad_diff(a.m, b.m);
  clnn_tensor *dxa = NULL, *dxb = NULL, *dha = NULL, *dhb = NULL;
  TU_OK(clnn_model_grad(a.m, a.x, &dxa));
  TU_OK(clnn_model_grad(b.m, b.x, &dxb));
  TU_OK(clnn_model_grad(a.m, a.h0, &dha));
  TU_OK(clnn_model_grad(b.m, b.h0, &dhb));
  if (!dxa || !dxb || !dha || !dhb) return;
  float *y1 = value_of(a.m, a.y), *y2 = value_of(b.m, b.y), *d1 = tu_read(dxa), *d2 = tu_read(dxb);
  float *s1 = value_of(a.m, a.hn), *s2 = value_of(b.m, b.hn), *e1 = tu_read(dha),
        *e2 = tu_read(dhb);
  double wy = 0, wd = 0, ws = 0;
  int pad_zero = 1;
  tu_compare_padded(y1, y2, SN, 5, 9, 2 * SH, &wy, &pad_zero);
  tu_compare_padded(d1, d2, SN, 5, 9, F, &wd, &pad_zero);
  for (size_t i = 0; i < SN * 2 * SH; i++) {
    ws = fmax(ws, fabs((double)s1[i] - s2[i]));
    wd = fmax(wd, fabs((double)e1[i] - e2[i]));
  }
  TU_CHECK(worst <= 1e-6 && wy <= 1e-6 && wd <= 1e-6 && ws <= 1e-6,
           "gru padded to 5 and to 9 steps: outputs, final state, dx/dh0 and parameter "
           "gradients agree within 1e-6 (largest differences %.3g, %.3g, %.3g, %.3g)",
           wy, ws, wd, worst);
  TU_CHECK(pad_zero, "gru: padded outputs and input gradients are zero");
  const char *path = "test_graph_gru_bi.clnn";
  TU_OK(clnn_model_save(a.m, path, 0));
  clnn_model *m2 = NULL;
  TU_OK(clnn_model_load_file(ctx, path, &m2));
  if (m2) {
    const size_t ny = SN * 5 * 2 * SH;
    float *p1 = malloc(ny * sizeof(float)), *p2 = malloc(ny * sizeof(float));
    TU_OK(clnn_model_predict(a.m, a.feeds, a.nfeeds, SN, a.y, p1, ny));
    TU_OK(clnn_model_predict(m2, a.feeds, a.nfeeds, SN, a.y, p2, ny));
    TU_CHECK(!memcmp(p1, p2, ny * sizeof(float)),
             "the loaded bidirectional GRU model gives the same outputs");
    TU_CHECK(clnn_model_num_params(m2) == 8, "the loaded GRU has both directions' parameters");
    free(p1), free(p2);
    clnn_model_destroy(m2);
  }
  remove(path);
  free(y1), free(y2), free(d1), free(d2), free(s1), free(s2), free(e1), free(e2);
  scase_free(&a);
  scase_free(&b);
}

/* The bidirectional node against two single-direction nodes with its parameters: the forward
 * one on x, the other on each sample's steps 0..len-1 reversed (its outputs reversed back). */
static void bidirectional_vs_two_runs(clnn_context *ctx) {
  scase bi, f, r;
  const size_t T5 = 5, W = 2 * SH;
  tu_seed(31);
  sbuild(ctx, &bi, T5, 1, 1, 1);
  sbuild(ctx, &f, T5, 0, 1, 1);
  sbuild(ctx, &r, T5, 0, 1, 1);
  if (!bi.m || !f.m || !r.m) return;
  for (int k = 0; k < 4; k++) {
    copy_param(bi.m, PNAMES[k], f.m, PNAMES[k]);
    copy_param(bi.m, PNAMES[4 + k], r.m, PNAMES[k]);
  }
  memcpy(f.xb, bi.xb, SN * T5 * F * sizeof(float));
  for (size_t n = 0; n < SN; n++) {
    const size_t L = (size_t)LENS[n];
    for (size_t t = 0; t < T5; t++)
      for (size_t j = 0; j < F; j++)
        r.xb[(n * T5 + t) * F + j] = bi.xb[(n * T5 + (t < L ? L - 1 - t : t)) * F + j];
    for (size_t j = 0; j < SH; j++) {
      f.h0b[n * SH + j] = bi.h0b[(n * 2 + 0) * SH + j];
      r.h0b[n * SH + j] = bi.h0b[(n * 2 + 1) * SH + j];
    }
  }
  TU_OK(clnn_model_forward(bi.m, bi.feeds, bi.nfeeds, SN, NULL));
  TU_OK(clnn_model_forward(f.m, f.feeds, f.nfeeds, SN, NULL));
  TU_OK(clnn_model_forward(r.m, r.feeds, r.nfeeds, SN, NULL));
  float *yb = value_of(bi.m, bi.y), *yf = value_of(f.m, f.y), *yr = value_of(r.m, r.y);
  float *hb = value_of(bi.m, bi.hn), *hf = value_of(f.m, f.hn), *hr = value_of(r.m, r.hn);
  double worst = 0;
  for (size_t n = 0; n < SN; n++) {
    const size_t L = (size_t)LENS[n];
    for (size_t t = 0; t < L; t++)
      for (size_t j = 0; j < SH; j++) {
        worst = fmax(worst, fabs((double)yb[(n * T5 + t) * W + j] - yf[(n * T5 + t) * SH + j]));
        worst = fmax(worst, fabs((double)yb[(n * T5 + t) * W + SH + j] -
                                 yr[(n * T5 + (L - 1 - t)) * SH + j]));
      }
    for (size_t j = 0; j < SH; j++) {
      worst = fmax(worst, fabs((double)hb[(n * 2) * SH + j] - hf[n * SH + j]));
      worst = fmax(worst, fabs((double)hb[(n * 2 + 1) * SH + j] - hr[n * SH + j]));
    }
  }
  TU_CHECK(worst <= 1e-5, "bidirectional GRU = forward run + run on reversed samples "
                          "(outputs and final states; largest difference %.3g)", worst);
  free(yb), free(yf), free(yr), free(hb), free(hf), free(hr);
  scase_free(&bi);
  scase_free(&f);
  scase_free(&r);
}

int main(void) {
  clnn_context *ctx = tu_context();
  tu_seed(77);
  tu_fill_uniform(g_x, B * T * F, -1.0f, 1.0f);
  for (int b = 0; b < B; b++) g_lab[b] = (int32_t)((b * 2 + 1) % C);
  forward_vs_reference(ctx);
  finite_differences(ctx);
  errors();
  seq_finite_differences(ctx, 0, 1, 1);
  seq_finite_differences(ctx, 1, 0, 1);
  seq_finite_differences(ctx, 1, 1, 0);
  padding_invariance(ctx);
  bidirectional_vs_two_runs(ctx);
  clnn_context_destroy(ctx);
  return tu_finish("test_graph_gru");
}
