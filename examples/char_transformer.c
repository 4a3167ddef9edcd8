/* examples/char_transformer.c — a small decoder-only Transformer language model over characters,
 * built with the graph API (clnn_graph_*, clnn_model_*) and trained on English text shipped with
 * the project (data/text/fortunes.txt, about 320 KB; see data/text/README.md). Reports held-out
 * bits per character against a bigram model of the same text and exits 1 when it does not beat
 * the bigram by --min-gain bits (the test tests/examples_seq.cmake runs a short version).
 *
 *   char_transformer [--data FILE] [--steps N] [--batch N] [--ctx T] [--dim D] [--layers L]
 *                    [--heads H] [--lr X] [--seed N] [--min-gain G] [--eval-chars N]
 *                    [--sample N] [--device SEL]
 *
 * Model: token embedding "tok" [96, D] plus a learned position embedding "pos" [T, D] (an
 * embedding of the positions 0..T-1, fed as a second int32 input); L pre-norm blocks, each
 * h += MHA(LN(h)) (causal, H heads) and h += W2 GELU(W1 LN(h)) (4D hidden); a final layer norm;
 * an untied output layer "head" [96]; softmax cross-entropy. AdamW (weight decay 0.01, gradient
 * norm clipped to 1) with linear warm-up over the first 10% of the steps, then cosine decay to
 * 10% (clnn_model_set_schedule). Training windows are drawn at random from the first 90% of the
 * text; the last 10% is held out. Held-out windows of T overlap by half and score only their
 * second half (the first half's labels are the ignore index -100), so every scored character
 * has at least T/2 characters of context. The bigram baseline is smoothed by add-alpha with the
 * alpha (of 0.01, 0.03, 0.1, 0.3, 1) that is best on the held-out text itself, which favours the
 * baseline. After training it samples text (temperature 0.8) by re-running the window for each
 * character: keys and values are not carried from step to step here. */
#define EXAMPLE_NAME "char_transformer"
#include "example_util.h"

#include <math.h>

#define VOCAB 96 /* '\n' -> 0, ' '..'~' -> 1..95 */

static int32_t char_id(int c) { return c == '\n' ? 0 : (c >= 32 && c < 127) ? c - 31 : -1; }
static int id_char(int32_t id) { return id == 0 ? '\n' : id + 31; }

/* The text as ids (other bytes dropped). */
static int32_t *load_text(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "char_transformer: cannot open %s (--data FILE)\n", path);
    exit(1);
  }
  size_t cap = 1 << 20, len = 0;
  int32_t *ids = malloc(cap * sizeof *ids);
  int c;
  while (ids && (c = fgetc(f)) != EOF) {
    int32_t id = char_id(c);
    if (id < 0) continue;
    if (len == cap) ids = realloc(ids, (cap *= 2) * sizeof *ids);
    if (ids) ids[len++] = id;
  }
  fclose(f);
  if (!ids) {
    fprintf(stderr, "char_transformer: out of memory\n");
    exit(1);
  }
  *n = len;
  return ids;
}

/* Held-out bits per character of an add-alpha bigram model counted on the training text. */
static double bigram_bpc(const int32_t *text, size_t n_train, size_t n, double *alpha_out) {
  static double counts[VOCAB][VOCAB], rows[VOCAB];
  memset(counts, 0, sizeof counts);
  memset(rows, 0, sizeof rows);
  for (size_t i = 1; i < n_train; i++) {
    counts[text[i - 1]][text[i]] += 1;
    rows[text[i - 1]] += 1;
  }
  static const double alphas[] = {0.01, 0.03, 0.1, 0.3, 1.0};
  double best = 1e9;
  for (size_t a = 0; a < sizeof alphas / sizeof *alphas; a++) {
    double bits = 0;
    for (size_t i = n_train + 1; i < n; i++)
      bits -= log2((counts[text[i - 1]][text[i]] + alphas[a]) /
                   (rows[text[i - 1]] + alphas[a] * VOCAB));
    bits /= (double)(n - n_train - 1);
    if (bits < best) {
      best = bits;
      *alpha_out = alphas[a];
    }
  }
  return best;
}

typedef struct cfg {
  int steps, batch, T, D, layers, heads;
  float lr;
} cfg;

static clnn_graph *build(const cfg *c, int *ids, int *pos, int *tgt, int *logits) {
  clnn_graph *g = NULL;
  size_t td[1] = {(size_t)c->T};
  int h, p, a, n, m, loss;
  char name[64];
  CHECK(clnn_graph_create(&g));
  CHECK(clnn_graph_input(g, "ids", CLNN_INT32, 1, td, ids));
  CHECK(clnn_graph_input(g, "pos", CLNN_INT32, 1, td, pos));
  CHECK(clnn_graph_input(g, "target", CLNN_INT32, 1, td, tgt));
  CHECK(clnn_graph_embedding(g, "tok", *ids, VOCAB, c->D, &h));
  CHECK(clnn_graph_embedding(g, "pos_emb", *pos, c->T, c->D, &p));
  CHECK(clnn_graph_add(g, "embed", h, p, &h));
  for (int l = 0; l < c->layers; l++) {
    snprintf(name, sizeof name, "b%d.ln1", l);
    CHECK(clnn_graph_layer_norm(g, name, h, 0, 1, &n));
    snprintf(name, sizeof name, "b%d.attn", l);
    CHECK(clnn_graph_multihead_attention(g, name, n, c->heads, 1, 0.0f, &a));
    snprintf(name, sizeof name, "b%d.res1", l);
    CHECK(clnn_graph_add(g, name, h, a, &h));
    snprintf(name, sizeof name, "b%d.ln2", l);
    CHECK(clnn_graph_layer_norm(g, name, h, 0, 1, &n));
    snprintf(name, sizeof name, "b%d.fc1", l);
    CHECK(clnn_graph_dense(g, name, n, 4 * c->D, 1, &m));
    snprintf(name, sizeof name, "b%d.gelu", l);
    CHECK(clnn_graph_activation(g, name, m, CLNN_ACT_GELU, 0, &m));
    snprintf(name, sizeof name, "b%d.fc2", l);
    CHECK(clnn_graph_dense(g, name, m, c->D, 1, &m));
    snprintf(name, sizeof name, "b%d.res2", l);
    CHECK(clnn_graph_add(g, name, h, m, &h));
  }
  CHECK(clnn_graph_layer_norm(g, "ln_f", h, 0, 1, &n));
  CHECK(clnn_graph_dense(g, "head", n, VOCAB, 1, logits));
  CHECK(clnn_graph_cross_entropy(g, "xent", *logits, *tgt, -100, 1.0f, &loss));
  CHECK(clnn_graph_output(g, *logits));
  return g;
}

/* uniform in [0, 1) from splitmix64 (rng_next) */
static double rng_uniform(void) { return (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0); }

int main(int argc, char **argv) {
  cfg c = {1500, 32, 64, 64, 2, 4, 2e-2f};
  char data[1024];
  default_data_path(data, sizeof data, "data/text/fortunes.txt", NULL);
  const char *device = NULL;
  uint64_t seed = 1;
  double min_gain = 1.0;
  long eval_chars = 0, sample = 300;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) {
      fprintf(stderr,
              "usage: char_transformer [--data FILE] [--steps N] [--batch N] [--ctx T] [--dim D] "
              "[--layers L] [--heads H] [--lr X] [--seed N] [--min-gain G] [--eval-chars N] "
              "[--sample N] [--device SEL]\n");
      return 2;
    }
    i++;
    if (!strcmp(a, "--data")) snprintf(data, sizeof data, "%s", v);
    else if (!strcmp(a, "--steps")) c.steps = atoi(v);
    else if (!strcmp(a, "--batch")) c.batch = atoi(v);
    else if (!strcmp(a, "--ctx")) c.T = atoi(v);
    else if (!strcmp(a, "--dim")) c.D = atoi(v);
    else if (!strcmp(a, "--layers")) c.layers = atoi(v);
    else if (!strcmp(a, "--heads")) c.heads = atoi(v);
    else if (!strcmp(a, "--lr")) c.lr = (float)atof(v);
    else if (!strcmp(a, "--seed")) seed = strtoull(v, NULL, 10);
    else if (!strcmp(a, "--min-gain")) min_gain = atof(v);
    else if (!strcmp(a, "--eval-chars")) eval_chars = atol(v);
    else if (!strcmp(a, "--sample")) sample = atol(v);
    else if (!strcmp(a, "--device")) device = v;
    else {
      fprintf(stderr, "char_transformer: unknown option %s\n", a);
      return 2;
    }
  }
  if (c.steps < 1 || c.batch < 1 || c.T < 4 || c.D < 1 || c.layers < 0 || c.heads < 1) {
    fprintf(stderr, "char_transformer: steps, batch, heads >= 1, ctx >= 4, layers >= 0\n");
    return 2;
  }
  size_t n;
  int32_t *text = load_text(data, &n);
  size_t n_train = n - n / 10, T = (size_t)c.T, B = (size_t)c.batch;
  if (n_train < 2 * T || n - n_train < 2 * T) {
    fprintf(stderr, "char_transformer: %s holds %zu characters; too few for windows of %zu\n",
            data, n, T);
    return 1;
  }
  double alpha = 0;
  double bigram = bigram_bpc(text, n_train, n, &alpha);
  printf("text: %s, %zu characters (%zu training, %zu held out)\n", data, n, n_train, n - n_train);
  printf("bigram baseline (add-%g): %.3f bits per character on the held-out text\n", alpha,
         bigram);

  clnn_context_options co;
  clnn_context_options_init(&co);
  co.device = device;
  clnn_context *ctx = NULL;
  CHECK(clnn_context_create(&co, &ctx));
  int ids, pos, tgt, logits;
  clnn_graph *g = build(&c, &ids, &pos, &tgt, &logits);
  clnn_model *m = NULL;
  CHECK(clnn_model_create(ctx, g, seed, &m));
  clnn_graph_destroy(g);
  clnn_optimizer_config oc;
  clnn_optimizer_config_init(&oc, CLNN_OPTIM_ADAMW, c.lr);
  oc.weight_decay = 0.01f;
  oc.clip_grad_norm = 1.0f;
  CHECK(clnn_model_set_optimizer(m, &oc));
  clnn_schedule sc;
  clnn_schedule_init(&sc);
  sc.type = CLNN_SCHEDULE_COSINE;
  sc.warmup_steps = (uint64_t)(c.steps / 10);
  sc.total_steps = (uint64_t)c.steps;
  sc.min_ratio = 0.1f;
  CHECK(clnn_model_set_schedule(m, &sc));
  printf("model: %d pre-norm blocks, d=%d, %d heads, context %d, %zu parameters; batch %d, "
         "%d AdamW steps, lr %g (warm-up %d, cosine)\n",
         c.layers, c.D, c.heads, c.T, clnn_model_num_trainable(m), c.batch, c.steps,
         (double)c.lr, c.steps / 10);

  int32_t *bx = malloc(B * T * sizeof *bx), *by = malloc(B * T * sizeof *by);
  int32_t *bp = malloc(B * T * sizeof *bp);
  if (!bx || !by || !bp) return 1;
  for (size_t i = 0; i < B * T; i++) bp[i] = (int32_t)(i % T);
  rng_state = seed * 0x2545F4914F6CDD1DULL + 7;
  clnn_feed f[3] = {{ids, bx, B * T, NULL}, {pos, bp, B * T, NULL}, {tgt, by, B * T, NULL}};
  double t0 = now(), run = 0;
  int every = c.steps >= 10 ? c.steps / 10 : 1, runs = 0;
  for (int step = 1; step <= c.steps; step++) {
    for (size_t b = 0; b < B; b++) {
      size_t s = (size_t)(rng_uniform() * (double)(n_train - T - 1));
      memcpy(bx + b * T, text + s, T * sizeof *bx);
      memcpy(by + b * T, text + s + 1, T * sizeof *by);
    }
    float loss = 0;
    /* the loss is read back (a device wait) only on logging steps */
    int log_step = step % every == 0 || step == c.steps;
    CHECK(clnn_model_train_step(m, f, 3, B, step % 5 == 0 || log_step ? &loss : NULL));
    if (step % 5 == 0 || log_step) {
      run += loss;
      runs++;
    }
    if (log_step) {
      printf("step %5d  train loss %.3f (%.3f bits/char)  %.1f s\n", step, run / runs,
             run / runs / log(2.0), now() - t0);
      fflush(stdout);
      run = 0;
      runs = 0;
    }
  }
  double train_s = now() - t0;

  /* held-out: windows of T with stride T/2, scoring the second half of each */
  CHECK(clnn_model_set_mode(m, CLNN_MODE_EVAL));
  size_t half = T / 2, avail = n - n_train - 1;
  if (eval_chars > 0 && (size_t)eval_chars < avail) avail = (size_t)eval_chars;
  size_t windows = (avail - T) / half + 1;
  double nats = 0;
  size_t scored = 0;
  double t1 = now();
  for (size_t w0 = 0; w0 < windows; w0 += B) {
    size_t nb = windows - w0 < B ? windows - w0 : B;
    for (size_t b = 0; b < nb; b++) {
      size_t s = n_train + (w0 + b) * half;
      memcpy(bx + b * T, text + s, T * sizeof *bx);
      for (size_t t = 0; t < T; t++) by[b * T + t] = (t < half && w0 + b > 0) ? -100 : text[s + t + 1];
    }
    size_t counted = 0;
    for (size_t i = 0; i < nb * T; i++) counted += by[i] != -100;
    clnn_feed fe[3] = {{ids, bx, nb * T, NULL}, {pos, bp, nb * T, NULL}, {tgt, by, nb * T, NULL}};
    float loss = 0;
    CHECK(clnn_model_forward(m, fe, 3, nb, &loss));
    nats += (double)loss * (double)counted;
    scored += counted;
  }
  double bpc = nats / (double)scored / log(2.0);
  printf("held-out: %.3f bits per character over %zu characters (%.1f s); bigram %.3f; gain "
         "%.3f bits\n", bpc, scored, now() - t1, bigram, bigram - bpc);

  if (sample > 0) {
    /* sampling: the last T characters (a prompt at first) run whole for each new character */
    const char *prompt = "The ";
    size_t len = strlen(prompt);
    int32_t *ctxt = calloc(T, sizeof *ctxt);
    float *lg = malloc(T * VOCAB * sizeof *lg);
    if (!ctxt || !lg) return 1;
    for (size_t i = 0; i < len; i++) ctxt[i] = char_id(prompt[i]);
    printf("sample (temperature 0.8, prompt \"%s\"):\n---\n%s", prompt, prompt);
    clnn_feed fs[2] = {{ids, ctxt, T, NULL}, {pos, bp, T, NULL}};
    for (long k = 0; k < sample; k++) {
      CHECK(clnn_model_predict(m, fs, 2, 1, logits, lg, T * VOCAB));
      const float *row = lg + (len - 1) * VOCAB;
      double mx = -1e30, sum = 0, p[VOCAB];
      for (int j = 0; j < VOCAB; j++) mx = row[j] > mx ? row[j] : mx;
      for (int j = 0; j < VOCAB; j++) sum += (p[j] = exp((row[j] - mx) / 0.8));
      double u = rng_uniform() * sum;
      int j = 0;
      while (j < VOCAB - 1 && (u -= p[j]) > 0) j++;
      putchar(id_char(j));
      if (len == T) {
        memmove(ctxt, ctxt + 1, (T - 1) * sizeof *ctxt);
        len--;
      }
      ctxt[len++] = j;
    }
    printf("\n---\n");
    free(ctxt);
    free(lg);
  }
  int ok = bigram - bpc >= min_gain;
  printf("char_transformer: %.3f bits/char held out vs bigram %.3f (gain %.3f, needed %.3f), "
         "training %.1f s: %s\n", bpc, bigram, bigram - bpc, min_gain, train_s, ok ? "ok" : "FAILED");
  clnn_model_destroy(m);
  clnn_context_destroy(ctx);
  free(bx);
  free(by);
  free(bp);
  free(text);
  return ok ? 0 : 1;
}
