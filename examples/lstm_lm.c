/* examples/lstm_lm.c — a character-level LSTM language model built with the graph API: embedding
 * -> 2 LSTM layers -> dense, trained on the English text the char_transformer example uses
 * (data/text/fortunes.txt; see data/text/README.md). Reports held-out bits per character against
 * a bigram model of the same text and exits 1 when it does not beat the bigram by --min-gain
 * bits (tests/examples_seq.cmake runs a short version); then samples text one character at a
 * time with the LSTM state carried from step to step.
 *
 *   lstm_lm [--data FILE] [--steps N] [--batch N] [--ctx T] [--embed E] [--hidden H] [--lr X]
 *           [--seed N] [--min-gain G] [--eval-chars N] [--sample N] [--device SEL]
 *
 * Model: embedding "emb" [96, E] -> LSTM "lstm1" (H, every step) -> LSTM "lstm2" (H, every step)
 * -> dense "head" [96]; softmax cross-entropy. Each LSTM takes its initial state (h0, c0) as
 * graph inputs and gives its final state out (clnn_graph_lstm_ex with state_outputs), so
 * training is truncated backpropagation through time: the batch is B contiguous streams of the
 * training text (the first 90%), each step takes the next T characters of every stream and
 * starts from the state the previous step ended with. Adam (gradient norm clipped to 1), the
 * learning rate decayed by cosine to 10%. Held out: the last 10% of the text as B streams, read
 * window after window with the state carried, so every character is scored with all the text
 * before it in its stream as context. Sampling (temperature 0.8) uses a second model built for
 * T = 1 with the trained parameters: one step per character, the state fed back — no window is
 * recomputed. */
#define EXAMPLE_NAME "lstm_lm"
#include "example_util.h"
#include "text_util.h"

typedef struct lm {
  clnn_model *m;
  int ids, tgt, logits, loss;
  int h0[2], c0[2], hn[2], cn[2]; /* per layer */
  size_t T;
} lm;

static lm build(clnn_context *ctx, size_t T, int E, int H, uint64_t seed) {
  lm s;
  memset(&s, 0, sizeof s);
  s.T = T;
  clnn_graph *g = NULL;
  size_t td[1] = {T}, hd[1] = {(size_t)H};
  int h;
  CHECK(clnn_graph_create(&g));
  CHECK(clnn_graph_input(g, "ids", CLNN_INT32, 1, td, &s.ids));
  CHECK(clnn_graph_input(g, "target", CLNN_INT32, 1, td, &s.tgt));
  CHECK(clnn_graph_embedding(g, "emb", s.ids, VOCAB, E, &h));
  for (int l = 0; l < 2; l++) {
    char name[32];
    snprintf(name, sizeof name, "h0_%d", l + 1);
    CHECK(clnn_graph_input(g, name, CLNN_FLOAT32, 1, hd, &s.h0[l]));
    snprintf(name, sizeof name, "c0_%d", l + 1);
    CHECK(clnn_graph_input(g, name, CLNN_FLOAT32, 1, hd, &s.c0[l]));
    clnn_graph_rnn_options o;
    clnn_graph_rnn_options_init(&o);
    o.hidden = H;
    o.return_sequences = 1;
    o.h0 = s.h0[l];
    o.c0 = s.c0[l];
    o.state_outputs = 1;
    snprintf(name, sizeof name, "lstm%d", l + 1);
    CHECK(clnn_graph_lstm_ex(g, name, h, &o, &h, &s.hn[l], &s.cn[l]));
  }
  CHECK(clnn_graph_dense(g, "head", h, VOCAB, 1, &s.logits));
  CHECK(clnn_graph_cross_entropy(g, "xent", s.logits, s.tgt, -100, 1.0f, &s.loss));
  CHECK(clnn_graph_output(g, s.logits));
  for (int l = 0; l < 2; l++) {
    CHECK(clnn_graph_output(g, s.hn[l]));
    CHECK(clnn_graph_output(g, s.cn[l]));
  }
  CHECK(clnn_model_create(ctx, g, seed, &s.m));
  clnn_graph_destroy(g);
  return s;
}

/* Host state of B sequences: h and c of both layers, [4][B * H] (h1, c1, h2, c2). */
typedef struct state {
  float *v[4];
  size_t n;
} state;

static state state_new(size_t B, int H) {
  state st;
  st.n = B * (size_t)H;
  for (int k = 0; k < 4; k++) {
    st.v[k] = calloc(st.n, sizeof(float));
    if (!st.v[k]) exit(1);
  }
  return st;
}

/* The feeds of one call: ids, target (may be NULL: not fed), and the state. */
static int feeds_of(const lm *s, const state *st, size_t B, const int32_t *ids,
                    const int32_t *tgt, clnn_feed *f) {
  int k = 0;
  f[k++] = (clnn_feed){s->ids, ids, B * s->T, NULL};
  if (tgt) f[k++] = (clnn_feed){s->tgt, tgt, B * s->T, NULL};
  for (int l = 0; l < 2; l++) {
    f[k++] = (clnn_feed){s->h0[l], st->v[2 * l], st->n, NULL};
    f[k++] = (clnn_feed){s->c0[l], st->v[2 * l + 1], st->n, NULL};
  }
  return k;
}

/* After a forward: the final state becomes the next call's initial state. */
static void carry(const lm *s, state *st) {
  const int vals[4] = {s->hn[0], s->cn[0], s->hn[1], s->cn[1]};
  for (int k = 0; k < 4; k++) {
    clnn_tensor *t = NULL;
    CHECK(clnn_model_value(s->m, vals[k], &t));
    CHECK(clnn_tensor_read(t, st->v[k], st->n));
  }
}

int main(int argc, char **argv) {
  int steps = 1000, batch = 32, T = 32, E = 32, H = 128;
  float lr = 1e-2f;
  char data[1024];
  default_data_path(data, sizeof data, "data/text/fortunes.txt", NULL);
  const char *device = NULL;
  uint64_t seed = 1;
  double min_gain = 1.0;
  long eval_chars = 0, sample = 300;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) {
      fprintf(stderr, "usage: lstm_lm [--data FILE] [--steps N] [--batch N] [--ctx T] "
                      "[--embed E] [--hidden H] [--lr X] [--seed N] [--min-gain G] "
                      "[--eval-chars N] [--sample N] [--device SEL]\n");
      return 2;
    }
    i++;
    if (!strcmp(a, "--data")) snprintf(data, sizeof data, "%s", v);
    else if (!strcmp(a, "--steps")) steps = atoi(v);
    else if (!strcmp(a, "--batch")) batch = atoi(v);
    else if (!strcmp(a, "--ctx")) T = atoi(v);
    else if (!strcmp(a, "--embed")) E = atoi(v);
    else if (!strcmp(a, "--hidden")) H = atoi(v);
    else if (!strcmp(a, "--lr")) lr = (float)atof(v);
    else if (!strcmp(a, "--seed")) seed = strtoull(v, NULL, 10);
    else if (!strcmp(a, "--min-gain")) min_gain = atof(v);
    else if (!strcmp(a, "--eval-chars")) eval_chars = atol(v);
    else if (!strcmp(a, "--sample")) sample = atol(v);
    else if (!strcmp(a, "--device")) device = v;
    else {
      fprintf(stderr, "lstm_lm: unknown option %s\n", a);
      return 2;
    }
  }
  if (steps < 1 || batch < 1 || T < 1 || E < 1 || H < 1) {
    fprintf(stderr, "lstm_lm: steps, batch, ctx, embed, hidden >= 1\n");
    return 2;
  }
  size_t n;
  int32_t *text = load_text(data, &n);
  const size_t n_train = n - n / 10, B = (size_t)batch, Tz = (size_t)T;
  size_t n_eval = n - n_train - 1;
  if (eval_chars > 0 && (size_t)eval_chars < n_eval) n_eval = (size_t)eval_chars;
  const size_t stream = n_train / B, eval_stream = n_eval / B;
  if (stream < Tz + 1 || eval_stream < Tz) {
    fprintf(stderr, "lstm_lm: %s holds %zu characters; too few for %zu streams of %zu\n", data,
            n, B, Tz);
    return 1;
  }
  double alpha = 0;
  const double bigram = bigram_bpc(text, n_train, n, &alpha);
  printf("text: %s, %zu characters (%zu training, %zu held out)\n", data, n, n_train, n - n_train);
  printf("bigram baseline (add-%g): %.3f bits per character on the held-out text\n", alpha,
         bigram);

  clnn_context *ctx = context_on(device, 0);
  lm s = build(ctx, Tz, E, H, seed);
  clnn_optimizer_config oc;
  clnn_optimizer_config_init(&oc, CLNN_OPTIM_ADAM, lr);
  oc.clip_grad_norm = 1.0f;
  CHECK(clnn_model_set_optimizer(s.m, &oc));
  clnn_schedule sc;
  clnn_schedule_init(&sc);
  sc.type = CLNN_SCHEDULE_COSINE;
  sc.total_steps = (uint64_t)steps;
  sc.min_ratio = 0.1f;
  CHECK(clnn_model_set_schedule(s.m, &sc));
  printf("model: embedding %d -> LSTM(%d) -> LSTM(%d) -> dense %d, %zu parameters; %zu streams "
         "of %d characters per step (state carried), %d Adam steps, lr %g (cosine)\n",
         E, H, H, VOCAB, clnn_model_num_trainable(s.m), B, T, steps, (double)lr);

  int32_t *bx = malloc(B * Tz * sizeof *bx), *by = malloc(B * Tz * sizeof *by);
  size_t *pos = calloc(B, sizeof *pos);
  if (!bx || !by || !pos) return 1;
  state st = state_new(B, H);
  clnn_feed f[6];
  double t0 = now(), run = 0;
  int every = steps >= 10 ? steps / 10 : 1, runs = 0;
  for (int step = 1; step <= steps; step++) {
    for (size_t b = 0; b < B; b++) {
      if (pos[b] + Tz + 1 > stream) { /* back to the stream's start, from a zero state */
        pos[b] = 0;
        for (int k = 0; k < 4; k++) memset(st.v[k] + b * (size_t)H, 0, (size_t)H * sizeof(float));
      }
      const int32_t *src = text + b * stream + pos[b];
      memcpy(bx + b * Tz, src, Tz * sizeof *bx);
      memcpy(by + b * Tz, src + 1, Tz * sizeof *by);
      pos[b] += Tz;
    }
    float loss = 0;
    int log_step = step % every == 0 || step == steps;
    CHECK(clnn_model_train_step(s.m, f, feeds_of(&s, &st, B, bx, by, f), B,
                                step % 5 == 0 || log_step ? &loss : NULL));
    carry(&s, &st);
    if (step % 5 == 0 || log_step) run += loss, runs++;
    if (log_step) {
      printf("step %5d  train loss %.3f (%.3f bits/char)  %.1f s\n", step, run / runs,
             run / runs / log(2.0), now() - t0);
      fflush(stdout);
      run = 0;
      runs = 0;
    }
  }
  const double train_s = now() - t0;

  /* held out: B streams, windows of T in order, state carried; every character scored */
  CHECK(clnn_model_set_mode(s.m, CLNN_MODE_EVAL));
  for (int k = 0; k < 4; k++) memset(st.v[k], 0, st.n * sizeof(float));
  double nats = 0;
  size_t scored = 0;
  const double t1 = now();
  for (size_t w = 0; w + Tz <= eval_stream; w += Tz) {
    for (size_t b = 0; b < B; b++) {
      const int32_t *src = text + n_train + b * eval_stream + w;
      memcpy(bx + b * Tz, src, Tz * sizeof *bx);
      memcpy(by + b * Tz, src + 1, Tz * sizeof *by);
    }
    float loss = 0;
    CHECK(clnn_model_forward(s.m, f, feeds_of(&s, &st, B, bx, by, f), B, &loss));
    carry(&s, &st);
    nats += (double)loss * (double)(B * Tz);
    scored += B * Tz;
  }
  const double bpc = nats / (double)scored / log(2.0);
  printf("held-out: %.3f bits per character over %zu characters (%.1f s); bigram %.3f; gain "
         "%.3f bits\n", bpc, scored, now() - t1, bigram, bigram - bpc);

  if (sample > 0) {
    /* a T = 1 model with the trained parameters; state carried, one step per character */
    lm s1 = build(ctx, 1, E, H, seed);
    const char *const params[] = {"emb.weight",    "lstm1.weight_ih", "lstm1.weight_hh",
                                  "lstm1.bias",    "lstm2.weight_ih", "lstm2.weight_hh",
                                  "lstm2.bias",    "head.weight",     "head.bias"};
    for (size_t k = 0; k < sizeof params / sizeof *params; k++) {
      clnn_tensor *a = NULL, *b = NULL;
      CHECK(clnn_model_param(s.m, params[k], &a, NULL));
      CHECK(clnn_model_param(s1.m, params[k], &b, NULL));
      size_t cnt = clnn_tensor_numel(a);
      float *h = malloc(cnt * sizeof *h);
      if (!h) return 1;
      CHECK(clnn_tensor_read(a, h, cnt));
      CHECK(clnn_tensor_write(b, h, cnt));
      free(h);
    }
    CHECK(clnn_model_set_mode(s1.m, CLNN_MODE_EVAL));
    state s1st = state_new(1, H);
    const char *prompt = "The ";
    float lg[VOCAB];
    int32_t id = char_id(prompt[0]);
    rng_state = seed * 0x2545F4914F6CDD1DULL + 11;
    printf("sample (temperature 0.8, prompt \"%s\", state carried):\n---\n%s", prompt, prompt);
    const double t2 = now();
    long produced = 0;
    for (size_t k = 0; k + 1 < strlen(prompt) + (size_t)sample; k++) {
      clnn_feed fs[6];
      CHECK(clnn_model_predict(s1.m, fs, feeds_of(&s1, &s1st, 1, &id, NULL, fs), 1, s1.logits, lg,
                               VOCAB));
      carry(&s1, &s1st);
      if (k + 1 < strlen(prompt)) { /* still reading the prompt */
        id = char_id(prompt[k + 1]);
        continue;
      }
      id = sample_logits(lg, 0.8);
      putchar(id_char(id));
      produced++;
    }
    printf("\n---\nsampling: %ld characters in %.2f s (%.0f characters/s, one T = 1 step each)\n",
           produced, now() - t2, produced / (now() - t2));
    for (int k = 0; k < 4; k++) free(s1st.v[k]);
    clnn_model_destroy(s1.m);
  }
  const int ok = bigram - bpc >= min_gain;
  printf("lstm_lm: %.3f bits/char held out vs bigram %.3f (gain %.3f, needed %.3f), training "
         "%.1f s: %s\n", bpc, bigram, bigram - bpc, min_gain, train_s, ok ? "ok" : "FAILED");
  for (int k = 0; k < 4; k++) free(st.v[k]);
  clnn_model_destroy(s.m);
  clnn_context_destroy(ctx);
  free(bx);
  free(by);
  free(pos);
  free(text);
  return ok ? 0 : 1;
}
