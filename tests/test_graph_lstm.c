/* tests/test_graph_lstm.c — the graph's LSTM node with sequence options (clnn_graph_lstm_ex):
 * per-sample lengths from an int32 input, initial state from values and the final state given
 * out, bidirectional. Every parameter's and input's (x, h0, c0) gradient against central finite
 * differences of the objective <seed_y, y> + <seed_h, h_n> + <seed_c, c_n> on three
 * configurations; outputs past a length exactly zero; the same sequences padded to two lengths
 * give the same outputs and gradients (within 1e-6); state carried step by step equals one call
 * over the whole sequence; model file round trips (unidirectional with state outputs,
 * bidirectional with lengths and state) keep the attributes; errors name the node or
 * the argument and change nothing. */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N = 3, F = 3, H = 4 };
static const int32_t LENS[N] = {5, 2, 4};

typedef struct lcase {
  clnn_model *m;
  int x, len, h0, c0, y, hn, cn;
  int bi, retseq, state;
  size_t T;
  float *xb, *h0b, *c0b, *sy, *sh, *sc;
  int32_t lens[N];
  clnn_feed feeds[4];
  int nfeeds;
} lcase;

static void build(clnn_context *ctx, lcase *c, size_t T, int bi, int retseq, int state,
                  int lengths) {
  memset(c, 0, sizeof *c);
  c->T = T, c->bi = bi, c->retseq = retseq, c->state = state;
  clnn_graph *g = NULL;
  TU_OK(clnn_graph_create(&g));
  size_t xd[2] = {T, F}, sd[2] = {bi ? 2 : H, H};
  TU_OK(clnn_graph_input(g, "x", CLNN_FLOAT32, 2, xd, &c->x));
  clnn_graph_rnn_options o;
  clnn_graph_rnn_options_init(&o);
  o.hidden = H;
  o.return_sequences = retseq;
  o.bidirectional = bi;
  o.state_outputs = state;
  if (lengths) {
    TU_OK(clnn_graph_input(g, "len", CLNN_INT32, 0, NULL, &c->len));
    o.lengths = c->len;
  }
  if (state) {
    TU_OK(clnn_graph_input(g, "h0", CLNN_FLOAT32, bi ? 2 : 1, sd, &c->h0));
    TU_OK(clnn_graph_input(g, "c0", CLNN_FLOAT32, bi ? 2 : 1, sd, &c->c0));
    o.h0 = c->h0, o.c0 = c->c0;
  }
  c->hn = c->cn = -1;
  TU_OK(clnn_graph_lstm_ex(g, "rnn", c->x, &o, &c->y, &c->hn, &c->cn));
  TU_OK(clnn_graph_output(g, c->y));
  if (state) {
    TU_OK(clnn_graph_output(g, c->hn));
    TU_OK(clnn_graph_output(g, c->cn));
  }
  TU_OK(clnn_model_create(ctx, g, 11, &c->m));
  clnn_graph_destroy(g);
  const size_t D = bi ? 2 : 1, ny = N * (retseq ? T : 1) * D * H, ns = N * D * H;
  c->xb = tu_fvec(N * T * F, -1, 1);
  c->h0b = tu_fvec(ns, -0.8f, 0.8f), c->c0b = tu_fvec(ns, -1, 1);
  c->sy = tu_fvec(ny, -1, 1), c->sh = tu_fvec(ns, -1, 1), c->sc = tu_fvec(ns, -1, 1);
  memcpy(c->lens, LENS, sizeof LENS);
  c->feeds[c->nfeeds++] = (clnn_feed){c->x, c->xb, N * T * F, NULL};
  if (lengths) c->feeds[c->nfeeds++] = (clnn_feed){c->len, c->lens, N, NULL};
  if (state) {
    c->feeds[c->nfeeds++] = (clnn_feed){c->h0, c->h0b, ns, NULL};
    c->feeds[c->nfeeds++] = (clnn_feed){c->c0, c->c0b, ns, NULL};
  }
}

static void lcase_free(lcase *c) {
  clnn_model_destroy(c->m);
  free(c->xb), free(c->h0b), free(c->c0b), free(c->sy), free(c->sh), free(c->sc);
}

static double objective(void *user) {
  lcase *c = user;
  if (clnn_model_forward(c->m, c->feeds, c->nfeeds, N, NULL) != CLNN_SUCCESS) return NAN;
  double s = tu_dot_value(c->m, c->y, c->sy);
  if (c->state) s += tu_dot_value(c->m, c->hn, c->sh) + tu_dot_value(c->m, c->cn, c->sc);
  return s;
}

static void gradients(lcase *c) {
  TU_OK(clnn_model_forward(c->m, c->feeds, c->nfeeds, N, NULL));
  clnn_feed seeds[3] = {{c->y, c->sy, 0, NULL}, {c->hn, c->sh, 0, NULL}, {c->cn, c->sc, 0, NULL}};
  const size_t D = c->bi ? 2 : 1;
  seeds[0].count = N * (c->retseq ? c->T : 1) * D * H;
  seeds[1].count = seeds[2].count = N * D * H;
  TU_OK(clnn_model_backward(c->m, seeds, c->state ? 3 : 1));
}

static void regrad(void *user) { gradients(user); }
static void check_input_grad(lcase *c, int v, float *host, size_t n, const char *what) {
  tu_fd_input_grad(c->m, v, host, n, regrad, objective, c, what);
}

static void finite_differences(clnn_context *ctx, int bi, int retseq, int state) {
  lcase c;
  tu_seed(100 + bi * 4 + retseq * 2 + state);
  build(ctx, &c, 5, bi, retseq, state, 1);
  if (!c.m) return;
  TU_OK(clnn_model_input_grad(c.m, c.x, 1));
  if (state) {
    TU_OK(clnn_model_input_grad(c.m, c.h0, 1));
    TU_OK(clnn_model_input_grad(c.m, c.c0, 1));
  }
  size_t np = clnn_model_num_params(c.m);
  TU_CHECK(np == (size_t)(bi ? 6 : 3), "%d parameters, got %zu", bi ? 6 : 3, np);
  if (bi) {
    clnn_tensor *w = NULL;
    TU_OK(clnn_model_param(c.m, "rnn.weight_hh_reverse", &w, NULL));
    TU_CHECK(w && clnn_tensor_dim(w, 0) == 4 * H && clnn_tensor_dim(w, 1) == H,
             "rnn.weight_hh_reverse is [4H, H]");
  }
  gradients(&c);
  tu_fd_params(c.m, 2e-3, objective, &c);
  gradients(&c);
  char what[96];
  snprintf(what, sizeof what, "dx (bi=%d retseq=%d state=%d)", bi, retseq, state);
  check_input_grad(&c, c.x, c.xb, N * c.T * F, what);
  if (state) {
    const size_t ns = N * (bi ? 2 : 1) * H;
    snprintf(what, sizeof what, "dh0 (bi=%d retseq=%d)", bi, retseq);
    check_input_grad(&c, c.h0, c.h0b, ns, what);
    snprintf(what, sizeof what, "dc0 (bi=%d retseq=%d)", bi, retseq);
    check_input_grad(&c, c.c0, c.c0b, ns, what);
  }
  if (retseq) { /* zeros past each length */
    clnn_tensor *y = NULL;
    TU_OK(clnn_model_forward(c.m, c.feeds, c.nfeeds, N, NULL));
    TU_OK(clnn_model_value(c.m, c.y, &y));
    float *h = tu_read(y);
    const size_t W = (bi ? 2 : 1) * H;
    int zero = 1;
    for (size_t n = 0; n < N; n++)
      for (size_t t = (size_t)LENS[n]; t < c.T; t++)
        for (size_t j = 0; j < W; j++) zero &= h[(n * c.T + t) * W + j] == 0.0f;
    TU_CHECK(zero, "outputs past each length are zero (bi=%d)", bi);
    free(h);
  }
  lcase_free(&c);
}

/* The same sequences padded to T = 5 and T = 9 (other padding values): equal outputs on the
 * real steps, equal final state and equal parameter and input gradients. */
static void padding_invariance(clnn_context *ctx) {
  lcase a, b;
  tu_seed(7);
  build(ctx, &a, 5, 1, 1, 1, 1);
  tu_seed(7);
  build(ctx, &b, 9, 1, 1, 1, 1);
  if (!a.m || !b.m) return;
  for (size_t n = 0; n < N; n++)
    for (size_t t = 0; t < 9; t++)
      for (size_t f = 0; f < F; f++)
        b.xb[(n * 9 + t) * F + f] = t < (size_t)LENS[n] ? a.xb[(n * 5 + t) * F + f] : 3.5f;
  memcpy(b.h0b, a.h0b, N * 2 * H * 4), memcpy(b.c0b, a.c0b, N * 2 * H * 4);
  memcpy(b.sh, a.sh, N * 2 * H * 4), memcpy(b.sc, a.sc, N * 2 * H * 4);
  for (size_t n = 0; n < N; n++)
    for (size_t t = 0; t < 9; t++)
      for (size_t j = 0; j < 2 * H; j++)
        b.sy[(n * 9 + t) * 2 * H + j] = t < 5 ? a.sy[(n * 5 + t) * 2 * H + j] : 1.0f;
  const char *names[6] = {"rnn.weight_ih", "rnn.weight_hh", "rnn.bias", "rnn.weight_ih_reverse",
                          "rnn.weight_hh_reverse", "rnn.bias_reverse"};
  for (int k = 0; k < 6; k++) { /* the same parameters */
    clnn_tensor *pa = NULL, *pb = NULL;
    TU_OK(clnn_model_param(a.m, names[k], &pa, NULL));
    TU_OK(clnn_model_param(b.m, names[k], &pb, NULL));
    float *h = tu_read(pa);
    TU_OK(clnn_tensor_write(pb, h, clnn_tensor_numel(pb)));
    free(h);
  }
  TU_OK(clnn_model_input_grad(a.m, a.x, 1));
  TU_OK(clnn_model_input_grad(b.m, b.x, 1));
  gradients(&a);
  gradients(&b);
  const double worst = tu_param_grad_diff(a.m, b.m);
  clnn_tensor *ya, *yb, *dxa, *dxb, *hna, *hnb;
  TU_OK(clnn_model_value(a.m, a.y, &ya));
  TU_OK(clnn_model_value(b.m, b.y, &yb));
  TU_OK(clnn_model_grad(a.m, a.x, &dxa));
  TU_OK(clnn_model_grad(b.m, b.x, &dxb));
  TU_OK(clnn_model_value(a.m, a.hn, &hna));
  TU_OK(clnn_model_value(b.m, b.hn, &hnb));
  float *y1 = tu_read(ya), *y2 = tu_read(yb), *d1 = tu_read(dxa), *d2 = tu_read(dxb);
  float *s1 = tu_read(hna), *s2 = tu_read(hnb);
  double wy = 0, wd = 0, ws = 0;
  int pad_zero = 1;
  tu_compare_padded(y1, y2, N, 5, 9, 2 * H, &wy, &pad_zero);
  tu_compare_padded(d1, d2, N, 5, 9, F, &wd, &pad_zero);
  for (size_t i = 0; i < N * 2 * H; i++) ws = fmax(ws, fabs((double)s1[i] - s2[i]));
  TU_CHECK(worst <= 1e-6 && wy <= 1e-6 && wd <= 1e-6 && ws <= 1e-6,
           "padding to 5 and to 9 steps: outputs, final state, dx and parameter gradients agree "
           "within 1e-6 (largest differences %.3g, %.3g, %.3g, %.3g)", wy, ws, wd, worst);
  TU_CHECK(pad_zero, "padded outputs and input gradients are zero");
  /* a bidirectional model with lengths and state through a model file */
  const char *path = "test_graph_lstm_bi.clnn";
  TU_OK(clnn_model_save(a.m, path, 0));
  clnn_model *m2 = NULL;
  TU_OK(clnn_model_load_file(ctx, path, &m2));
  if (m2) {
    float *p1 = malloc(N * 5 * 2 * H * sizeof(float)), *p2 = malloc(N * 5 * 2 * H * sizeof(float));
    TU_OK(clnn_model_predict(a.m, a.feeds, a.nfeeds, N, a.y, p1, N * 5 * 2 * H));
    TU_OK(clnn_model_predict(m2, a.feeds, a.nfeeds, N, a.y, p2, N * 5 * 2 * H));
    TU_CHECK(!memcmp(p1, p2, N * 5 * 2 * H * sizeof(float)),
             "the loaded bidirectional model gives the same outputs");
    TU_CHECK(clnn_model_num_params(m2) == 6, "the loaded model has both directions' parameters");
    free(p1), free(p2);
    clnn_model_destroy(m2);
  }
  remove(path);
  free(y1), free(y2), free(d1), free(d2), free(s1), free(s2);
  lcase_free(&a);
  lcase_free(&b);
}

/* A unidirectional model stepped one step at a time (state fed back) equals one call over the
 * sequence; then a save/load round trip gives the same outputs. */
static void carried_state(clnn_context *ctx) {
  const size_t T = 6;
  lcase full, step;
  tu_seed(3);
  build(ctx, &full, T, 0, 1, 1, 0);
  tu_seed(3);
  build(ctx, &step, 1, 0, 1, 1, 0);
  if (!full.m || !step.m) return;
  const char *names[3] = {"rnn.weight_ih", "rnn.weight_hh", "rnn.bias"};
  for (int k = 0; k < 3; k++) {
    clnn_tensor *pa = NULL, *pb = NULL;
    TU_OK(clnn_model_param(full.m, names[k], &pa, NULL));
    TU_OK(clnn_model_param(step.m, names[k], &pb, NULL));
    float *h = tu_read(pa);
    TU_OK(clnn_tensor_write(pb, h, clnn_tensor_numel(pb)));
    free(h);
  }
  float yf[N * T * H], ys[N * T * H], hs[N * H], cs[N * H], xs[N * F];
  TU_OK(clnn_model_predict(full.m, full.feeds, full.nfeeds, N, full.y, yf, N * T * H));
  memcpy(hs, full.h0b, sizeof hs);
  memcpy(cs, full.c0b, sizeof cs);
  clnn_feed f[3] = {{step.x, xs, N * F, NULL}, {step.h0, hs, N * H, NULL}, {step.c0, cs, N * H, NULL}};
  for (size_t t = 0; t < T; t++) {
    for (size_t n = 0; n < N; n++) memcpy(xs + n * F, full.xb + (n * T + t) * F, F * 4);
    clnn_tensor *ty, *th, *tc;
    TU_OK(clnn_model_forward(step.m, f, 3, N, NULL));
    TU_OK(clnn_model_value(step.m, step.y, &ty));
    TU_OK(clnn_model_value(step.m, step.hn, &th));
    TU_OK(clnn_model_value(step.m, step.cn, &tc));
    TU_OK(clnn_tensor_read(th, hs, N * H)); /* the state fed to the next step */
    TU_OK(clnn_tensor_read(tc, cs, N * H));
    float *y1 = tu_read(ty);
    for (size_t n = 0; n < N; n++) memcpy(ys + (n * T + t) * H, y1 + n * H, H * 4);
    free(y1);
  }
  double w = 0;
  for (size_t i = 0; i < N * T * H; i++) w = fmax(w, fabs((double)yf[i] - ys[i]));
  TU_CHECK(w <= 1e-5, "stepping with carried state equals the whole sequence (largest difference %.3g)", w);
  /* model file: attributes kept */
  const char *path = "test_graph_lstm_model.clnn";
  TU_OK(clnn_model_save(full.m, path, 0));
  clnn_model *m2 = NULL;
  TU_OK(clnn_model_load_file(ctx, path, &m2));
  if (m2) {
    float y2[N * T * H];
    TU_OK(clnn_model_predict(m2, full.feeds, full.nfeeds, N, full.y, y2, N * T * H));
    TU_CHECK(!memcmp(y2, yf, sizeof y2), "the loaded model gives the same outputs");
    const clnn_graph *g2 = clnn_model_graph(m2);
    TU_CHECK(g2 && clnn_graph_num_outputs(g2) == 3, "the loaded graph has y, h_n and c_n outputs");
    clnn_model_destroy(m2);
  }
  remove(path);
  lcase_free(&full);
  lcase_free(&step);
}

static void errors(clnn_context *ctx) {
  clnn_graph *g = NULL;
  TU_OK(clnn_graph_create(&g));
  int x, len, h0, bad_h0, flen, y, hn, cn;
  size_t xd[2] = {4, F}, sd[1] = {H}, bd[1] = {H + 1}, one[1] = {1};
  TU_OK(clnn_graph_input(g, "x", CLNN_FLOAT32, 2, xd, &x));
  TU_OK(clnn_graph_input(g, "len", CLNN_INT32, 0, NULL, &len));
  TU_OK(clnn_graph_input(g, "flen", CLNN_FLOAT32, 1, one, &flen));
  TU_OK(clnn_graph_input(g, "h0", CLNN_FLOAT32, 1, sd, &h0));
  TU_OK(clnn_graph_input(g, "bad_h0", CLNN_FLOAT32, 1, bd, &bad_h0));
  clnn_graph_rnn_options o;
  clnn_graph_rnn_options_init(&o);
  o.hidden = H;
  int nodes = clnn_graph_num_values(g);
  o.h0 = bad_h0, o.c0 = h0;
  TU_CHECK(clnn_graph_lstm_ex(g, "l1", x, &o, &y, &hn, &cn) == CLNN_ERROR_SHAPE_MISMATCH,
           "h0 of the wrong shape");
  TU_MSG("h0");
  o.h0 = h0, o.c0 = -1;
  TU_CHECK(clnn_graph_lstm_ex(g, "l1", x, &o, &y, &hn, &cn) == CLNN_ERROR_INVALID_ARGUMENT,
           "h0 without c0");
  TU_MSG("c0");
  o.h0 = o.c0 = -1;
  o.lengths = flen;
  TU_CHECK(clnn_graph_lstm_ex(g, "l1", x, &o, &y, &hn, &cn) == CLNN_ERROR_SHAPE_MISMATCH,
           "float lengths");
  TU_MSG("lengths");
  o.lengths = len;
  o.state_outputs = 1;
  TU_CHECK(clnn_graph_lstm_ex(g, "l1", x, &o, &y, NULL, &cn) == CLNN_ERROR_INVALID_ARGUMENT,
           "state outputs without h_n");
  TU_MSG("h_n");
  o.bidirectional = 2;
  TU_CHECK(clnn_graph_lstm_ex(g, "l1", x, &o, &y, &hn, &cn) == CLNN_ERROR_INVALID_ARGUMENT,
           "bidirectional 2");
  TU_MSG("bidirectional");
  TU_CHECK(clnn_graph_num_values(g) == nodes, "nothing was added (no new values)");
  o.bidirectional = 0;
  o.state_outputs = 0;
  TU_OK(clnn_graph_lstm_ex(g, "l1", x, &o, &y, NULL, NULL));
  TU_OK(clnn_graph_output(g, y));
  clnn_model *m = NULL;
  TU_OK(clnn_model_create(ctx, g, 1, &m));
  clnn_graph_destroy(g);
  if (!m) return;
  float xb[2 * 4 * F] = {0}, out[2 * H];
  int32_t lens[2] = {4, 5};
  clnn_feed f[2] = {{x, xb, 2 * 4 * F, NULL}, {len, lens, 2, NULL}};
  TU_CHECK(clnn_model_predict(m, f, 2, 2, y, out, 2 * H) == CLNN_ERROR_INVALID_ARGUMENT,
           "a length longer than T");
  TU_MSG("lengths[1] is 5");
  lens[1] = 0;
  TU_CHECK(clnn_model_predict(m, f, 2, 2, y, out, 2 * H) == CLNN_ERROR_INVALID_ARGUMENT,
           "a length of 0");
  TU_MSG("lengths[1] is 0");
  clnn_model_destroy(m);
  clnn_graph_rnn_options_init(NULL);
}

int main(void) {
  clnn_context *ctx = tu_context();
  /* bidirectional, return_sequences, state in and out */
  finite_differences(ctx, 0, 1, 1);
  finite_differences(ctx, 1, 0, 1);
  finite_differences(ctx, 1, 1, 0);
  padding_invariance(ctx);
  carried_state(ctx);
  errors(ctx);
  clnn_context_destroy(ctx);
  return tu_finish("test_graph_lstm");
}
