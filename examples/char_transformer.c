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
 * baseline. After training it samples text (temperature 0.8) with keys and values carried from
 * step to step (a decoder graph that takes one token and the cached keys and values, below),
 * checking its logits against re-running the whole window and timing both. */
#define EXAMPLE_NAME "char_transformer"
#include "example_util.h"

#include "text_util.h"

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

/* ---- sampling with carried keys and values ----
 * The decoder graph takes one new token at position `pos` and, per block, the keys and values of
 * the tokens before it (graph inputs kc_l, vc_l [T-1, D], the first len-1 rows valid): its own
 * key and value are computed by the block's projections and put in front of the cache (attention
 * does not depend on the keys' order; position information comes from the position embedding),
 * and attention over the 1 + T-1 keys masks every key from `len` on (clnn_graph_attention's key
 * lengths). Node names equal the training graph's, so its parameters are the trained model's
 * (copied by name). It gives out the logits and every block's new key and value, which the host
 * appends to the cache. When T positions are used, the cache restarts from the last T/2
 * characters. */
#define MAX_BLOCKS 16

typedef struct decoder {
  clnn_context *ctx;
  clnn_model *m;
  int tok, pos, len, logits, kc[MAX_BLOCKS], vc[MAX_BLOCKS], k[MAX_BLOCKS], v[MAX_BLOCKS];
  size_t T, D, count; /* count: tokens in the cache, the next token's position */
  int layers;
  clnn_tensor *kcache[MAX_BLOCKS], *vcache[MAX_BLOCKS]; /* device [1, T-1, D] */
} decoder;

static void build_decoder(clnn_context *ctx, const cfg *c, clnn_model *trained, decoder *d) {
  memset(d, 0, sizeof *d);
  d->ctx = ctx, d->T = (size_t)c->T, d->D = (size_t)c->D, d->layers = c->layers;
  clnn_graph *g = NULL;
  size_t one[1] = {1}, cd[2] = {d->T - 1, d->D};
  int h, p, n, q, k, v, kk, vv, a, mm;
  char name[64];
  CHECK(clnn_graph_create(&g));
  CHECK(clnn_graph_input(g, "ids", CLNN_INT32, 1, one, &d->tok));
  CHECK(clnn_graph_input(g, "pos", CLNN_INT32, 1, one, &d->pos));
  CHECK(clnn_graph_input(g, "len", CLNN_INT32, 0, NULL, &d->len));
  CHECK(clnn_graph_embedding(g, "tok", d->tok, VOCAB, c->D, &h));
  CHECK(clnn_graph_embedding(g, "pos_emb", d->pos, c->T, c->D, &p));
  CHECK(clnn_graph_add(g, "embed", h, p, &h));
  for (int l = 0; l < c->layers; l++) {
#define NM(fmt) (snprintf(name, sizeof name, fmt, l), name)
    CHECK(clnn_graph_input(g, NM("kc%d"), CLNN_FLOAT32, 2, cd, &d->kc[l]));
    CHECK(clnn_graph_input(g, NM("vc%d"), CLNN_FLOAT32, 2, cd, &d->vc[l]));
    CHECK(clnn_graph_layer_norm(g, NM("b%d.ln1"), h, 0, 1, &n));
    CHECK(clnn_graph_dense(g, NM("b%d.attn.q"), n, c->D, 1, &q));
    CHECK(clnn_graph_dense(g, NM("b%d.attn.k"), n, c->D, 1, &k));
    CHECK(clnn_graph_dense(g, NM("b%d.attn.v"), n, c->D, 1, &v));
    d->k[l] = k, d->v[l] = v;
    int ks[2] = {k, d->kc[l]}, vs[2] = {v, d->vc[l]};
    CHECK(clnn_graph_concat(g, NM("b%d.attn.keys"), 0, 2, ks, &kk));
    CHECK(clnn_graph_concat(g, NM("b%d.attn.values"), 0, 2, vs, &vv));
    CHECK(clnn_graph_attention(g, NM("b%d.attn.attn"), q, kk, vv, d->len, c->heads, 0, 0.0f, &a));
    CHECK(clnn_graph_dense(g, NM("b%d.attn.out"), a, c->D, 1, &a));
    CHECK(clnn_graph_add(g, NM("b%d.res1"), h, a, &h));
    CHECK(clnn_graph_layer_norm(g, NM("b%d.ln2"), h, 0, 1, &n));
    CHECK(clnn_graph_dense(g, NM("b%d.fc1"), n, 4 * c->D, 1, &mm));
    CHECK(clnn_graph_activation(g, NM("b%d.gelu"), mm, CLNN_ACT_GELU, 0, &mm));
    CHECK(clnn_graph_dense(g, NM("b%d.fc2"), mm, c->D, 1, &mm));
    CHECK(clnn_graph_add(g, NM("b%d.res2"), h, mm, &h));
#undef NM
  }
  CHECK(clnn_graph_layer_norm(g, "ln_f", h, 0, 1, &n));
  CHECK(clnn_graph_dense(g, "head", n, VOCAB, 1, &d->logits));
  CHECK(clnn_graph_output(g, d->logits));
  for (int l = 0; l < c->layers; l++) {
    CHECK(clnn_graph_output(g, d->k[l]));
    CHECK(clnn_graph_output(g, d->v[l]));
  }
  CHECK(clnn_model_create(ctx, g, 1, &d->m));
  clnn_graph_destroy(g);
  CHECK(clnn_model_set_mode(d->m, CLNN_MODE_EVAL));
  for (size_t i = 0; i < clnn_model_num_params(trained); i++) { /* the trained parameters */
    const char *pn = clnn_model_param_name(trained, i);
    clnn_tensor *src = NULL, *dst = NULL;
    CHECK(clnn_model_param(trained, pn, &src, NULL));
    CHECK(clnn_model_param(d->m, pn, &dst, NULL));
    size_t cnt = clnn_tensor_numel(src);
    float *buf = malloc(cnt * sizeof *buf);
    if (!buf) exit(1);
    CHECK(clnn_tensor_read(src, buf, cnt));
    CHECK(clnn_tensor_write(dst, buf, cnt));
    free(buf);
  }
  size_t cdims[3] = {1, d->T - 1, d->D};
  for (int l = 0; l < c->layers; l++) {
    CHECK(clnn_tensor_create(ctx, 3, cdims, &d->kcache[l]));
    CHECK(clnn_tensor_create(ctx, 3, cdims, &d->vcache[l]));
    CHECK(clnn_tensor_fill(d->kcache[l], 0.0f));
    CHECK(clnn_tensor_fill(d->vcache[l], 0.0f));
  }
}

static void free_decoder(decoder *d) {
  for (int l = 0; l < d->layers; l++) {
    clnn_tensor_destroy(d->kcache[l]);
    clnn_tensor_destroy(d->vcache[l]);
  }
  clnn_model_destroy(d->m);
}

/* One token through the decoder at position d->count: its logits into lg[VOCAB]; its keys and
 * values join the cache. */
static void decode_step(decoder *d, int32_t id, float *lg) {
  int32_t pos = (int32_t)d->count, len = (int32_t)d->count + 1;
  clnn_feed f[3 + 2 * MAX_BLOCKS] = {{d->tok, &id, 1, NULL}, {d->pos, &pos, 1, NULL},
                                     {d->len, &len, 1, NULL}};
  int nf = 3;
  for (int l = 0; l < d->layers; l++) {
    f[nf++] = (clnn_feed){d->kc[l], NULL, 0, d->kcache[l]};
    f[nf++] = (clnn_feed){d->vc[l], NULL, 0, d->vcache[l]};
  }
  CHECK(clnn_model_forward(d->m, f, nf, 1, NULL));
  /* the new keys and values join the device cache (no host round trip); the logits are read */
  clnn_tensor *t = NULL;
  if (d->count < d->T - 1) {
    size_t box[3] = {1, 1, d->D}, from[3] = {0, 0, 0}, at[3] = {0, d->count, 0};
    for (int l = 0; l < d->layers; l++) {
      CHECK(clnn_model_value(d->m, d->k[l], &t));
      CHECK(clnn_copy_region(d->ctx, 3, box, 1.0f, t, from, 0.0f, d->kcache[l], at));
      CHECK(clnn_model_value(d->m, d->v[l], &t));
      CHECK(clnn_copy_region(d->ctx, 3, box, 1.0f, t, from, 0.0f, d->vcache[l], at));
    }
  }
  CHECK(clnn_model_value(d->m, d->logits, &t));
  CHECK(clnn_tensor_read(t, lg, VOCAB));
  d->count++;
}

/* Feeds hist[n-1] (hist: every token so far): when all T positions are used, the cache restarts
 * with the last T/2 tokens (re-read), else one step. */
static void decode_next(decoder *d, const int32_t *hist, size_t n, float *lg) {
  if (d->count == d->T) {
    d->count = 0;
    size_t keep = d->T / 2;
    for (size_t i = n - keep; i < n; i++) decode_step(d, hist[i], lg);
    return;
  }
  decode_step(d, hist[n - 1], lg);
}

/* Samples `sample` characters (temperature 0.8) with the cached decoder and, in lockstep, runs
 * the trained model over the whole window (the last T characters, positions from 0) for each
 * one, as sampling did before: the two must give the same logits while the window still starts
 * at the prompt (checked: largest difference below 1e-3), and their times are compared. Returns
 * 1 when they agree. */
static int sample_text(clnn_context *ctx, const cfg *c, clnn_model *m, int ids, int pos,
                       int logits, const int32_t *bp, long sample, uint64_t seed) {
  if (c->layers > MAX_BLOCKS || c->T < 2) {
    printf("sampling skipped: the cached decoder supports up to %d blocks and ctx >= 2\n",
           MAX_BLOCKS);
    return 1;
  }
  decoder d;
  build_decoder(ctx, c, m, &d);
  const size_t T = (size_t)c->T;
  const char *prompt = "The ";
  size_t n = 0, plen = strlen(prompt);
  int32_t *hist = malloc((plen + (size_t)sample) * sizeof *hist), *win = calloc(T, sizeof *win);
  float *lw = malloc(T * VOCAB * sizeof *lw), lc[VOCAB];
  if (!hist || !win || !lw) exit(1);
  rng_state = seed * 0x2545F4914F6CDD1DULL + 5;
  double t_cache = 0, t_window = 0, worst = 0, t0;
  size_t compared = 0;
  printf("sample (temperature 0.8, prompt \"%s\", keys and values carried):\n---\n%s", prompt,
         prompt);
  for (size_t i = 0; i < plen; i++) {
    hist[n++] = char_id(prompt[i]);
    t0 = now();
    decode_next(&d, hist, n, lc);
    t_cache += now() - t0;
  }
  clnn_feed fs[2] = {{ids, win, T, NULL}, {pos, bp, T, NULL}};
  for (long k = 0; k < sample; k++) {
    /* the window way: the last T characters run whole */
    size_t wl = n < T ? n : T;
    memcpy(win, hist + n - wl, wl * sizeof *win);
    t0 = now();
    CHECK(clnn_model_predict(m, fs, 2, 1, logits, lw, T * VOCAB));
    t_window += now() - t0;
    if (n <= T) { /* same positions: the logits must agree */
      for (int j = 0; j < VOCAB; j++) worst = fmax(worst, fabs((double)lc[j] - lw[(wl - 1) * VOCAB + j]));
      compared++;
    }
    int32_t id = sample_logits(lc, 0.8);
    putchar(id_char(id));
    hist[n++] = id;
    t0 = now();
    decode_next(&d, hist, n, lc);
    t_cache += now() - t0;
  }
  printf("\n---\n");
  const int ok = worst < 1e-3;
  printf("sampling: cached keys and values %.0f characters/s, recomputing the %zu-character window "
         "%.0f characters/s (%.1fx faster); logits of the first %zu characters agree within %.2g "
         "(%s)\n", (double)sample / t_cache, T, (double)sample / t_window, t_window / t_cache,
         compared, worst, ok ? "ok" : "FAILED: above 1e-3");
  free(hist);
  free(win);
  free(lw);
  free_decoder(&d);
  return ok;
}

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

  int cache_ok = 1;
  if (sample > 0) cache_ok = sample_text(ctx, &c, m, ids, pos, logits, bp, sample, seed);
  int ok = bigram - bpc >= min_gain && cache_ok;
  printf("char_transformer: %.3f bits/char held out vs bigram %.3f (gain %.3f, needed %.3f), "
         "training %.1f s%s: %s\n", bpc, bigram, bigram - bpc, min_gain, train_s,
         cache_ok ? "" : ", cached sampling differs from the window", ok ? "ok" : "FAILED");
  clnn_model_destroy(m);
  clnn_context_destroy(ctx);
  free(bx);
  free(by);
  free(bp);
  free(text);
  return ok ? 0 : 1;
}
