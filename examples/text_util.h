/* examples/text_util.h — what the character-level language-model examples share: the 96-symbol
 * alphabet ('\n' and printable ASCII), loading a text file as ids, a held-out add-alpha bigram
 * baseline, and sampling from logits at a temperature. Include after example_util.h. */
#ifndef CLNN_EXAMPLE_TEXT_UTIL_H
#define CLNN_EXAMPLE_TEXT_UTIL_H

#include <math.h>

#define VOCAB 96 /* '\n' -> 0, ' '..'~' -> 1..95 */

static inline int32_t char_id(int c) { return c == '\n' ? 0 : (c >= 32 && c < 127) ? c - 31 : -1; }
static inline int id_char(int32_t id) { return id == 0 ? '\n' : id + 31; }

/* The text as ids (other bytes dropped); exits on failure. */
static inline int32_t *load_text(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, EXAMPLE_NAME ": cannot open %s (--data FILE)\n", path);
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
    fprintf(stderr, EXAMPLE_NAME ": out of memory\n");
    exit(1);
  }
  *n = len;
  return ids;
}

/* Held-out bits per character (text[n_train..n)) of an add-alpha bigram model counted on the
 * training text, with the alpha of 0.01, 0.03, 0.1, 0.3, 1 that is best on the held-out text. */
static inline double bigram_bpc(const int32_t *text, size_t n_train, size_t n, double *alpha_out) {
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

/* uniform in [0, 1) from splitmix64 (rng_next) */
static inline double rng_uniform(void) {
  return (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0);
}

/* A symbol drawn from softmax(row / temperature) over VOCAB logits. */
static inline int32_t sample_logits(const float *row, double temperature) {
  double mx = -1e30, sum = 0, p[VOCAB];
  for (int j = 0; j < VOCAB; j++) mx = row[j] > mx ? row[j] : mx;
  for (int j = 0; j < VOCAB; j++) sum += (p[j] = exp((row[j] - mx) / temperature));
  double u = rng_uniform() * sum;
  int j = 0;
  while (j < VOCAB - 1 && (u -= p[j]) > 0) j++;
  return j;
}

#endif
