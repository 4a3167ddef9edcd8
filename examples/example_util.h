/* examples/example_util.h — the pieces the example programs share: a wall clock, CHECK, the
 * default data path, the digits IDX files, a device context, pieces of the digits graphs, a
 * splitmix64 generator, digit subsets with random shifts and a table-driven option parser. Every
 * example .c file builds as a program of its own, so these are static (inline: an example that
 * does not use one gets no warning). Define EXAMPLE_NAME (the program's name, a string) before
 * including it. */
#ifndef CLNN_EXAMPLE_UTIL_H
#define CLNN_EXAMPLE_UTIL_H

#include <clnn.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef EXAMPLE_NAME
#error "define EXAMPLE_NAME before including example_util.h"
#endif

/* A failed clnn call ends the program with status 1, after printing the call and the error. */
#define CHECK(call)                                                                              \
  do {                                                                                           \
    clnn_status s_ = (call);                                                                     \
    if (s_ != CLNN_SUCCESS) {                                                                    \
      fprintf(stderr, EXAMPLE_NAME ": %s failed: %s: %s\n", #call, clnn_status_string(s_),       \
              clnn_last_error());                                                                \
      exit(1);                                                                                   \
    }                                                                                            \
  } while (0)

/* Seconds on the wall clock. */
static inline double now(void) {
  struct timespec ts;
  timespec_get(&ts, TIME_UTC);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int file_exists(const char *p) {
  FILE *f = fopen(p, "rb");
  if (f) fclose(f);
  return f != NULL;
}

/* The default path of shipped data: `rel` (e.g. "data/digits") under the working directory (the
 * repository root) when `rel`/`probe` (or `rel` itself when probe is NULL) exists there, else
 * the copy next to this source file (found through __FILE__, so a build tree anywhere works). */
static inline void default_data_path(char *buf, size_t size, const char *rel, const char *probe) {
  snprintf(buf, size, "%s", rel);
  char path[1100];
  if (probe) snprintf(path, sizeof path, "%s/%s", buf, probe);
  else snprintf(path, sizeof path, "%s", buf);
  if (file_exists(path)) return;
  const char *src = __FILE__;
  const char *slash = strrchr(src, '/');
  if (slash) snprintf(buf, size, "%.*s/../%s", (int)(slash - src), src, rel);
}

/* --data default of the digits examples: data/digits. */
static inline void default_data_dir(char *buf, size_t size) {
  default_data_path(buf, size, "data/digits", "train-images-idx3-ubyte");
}

/* One split ("train" or "test") of the IDX files in dir. */
static inline clnn_dataset *load_idx_split(const char *dir, const char *split) {
  char a[1200], b[1200];
  snprintf(a, sizeof a, "%s/%s-images-idx3-ubyte", dir, split);
  snprintf(b, sizeof b, "%s/%s-labels-idx1-ubyte", dir, split);
  clnn_dataset *ds = NULL;
  CHECK(clnn_dataset_load_idx(a, b, &ds));
  return ds;
}

/* A context on the device `device` selects (NULL: the default); prints its "device: NAME
 * (PLATFORM)" line, with ", N compute units" inside the parentheses when units is nonzero. */
static inline clnn_context *context_on(const char *device, int units) {
  clnn_context_options co;
  clnn_context_options_init(&co);
  co.device = device;
  clnn_context *ctx = NULL;
  CHECK(clnn_context_create(&co, &ctx));
  clnn_device_info info;
  clnn_device_info_init(&info);
  CHECK(clnn_context_device_info(ctx, &info));
  if (units)
    printf("device: %s (%s, %u compute units)\n", info.name, info.platform_name,
           info.compute_units);
  else printf("device: %s (%s)\n", info.name, info.platform_name);
  return ctx;
}

/* A new graph with the inputs of the digits examples: "image" [1, 8, 8] (float32) in *x and
 * "label" (int32) in *lab. */
static inline clnn_graph *digits_graph(int *x, int *lab) {
  clnn_graph *g = NULL;
  size_t img[3] = {1, 8, 8};
  CHECK(clnn_graph_create(&g));
  CHECK(clnn_graph_input(g, "image", CLNN_FLOAT32, 3, img, x));
  CHECK(clnn_graph_input(g, "label", CLNN_INT32, 0, NULL, lab));
  return g;
}

/* conv 3x3xc1 (pad 1, "conv1") - ReLU - conv 3x3xc2 (pad 1, "conv2") - ReLU - max pool 2x2
 * ("pool") - flatten on x; returns the flat value. */
static inline int conv_pool_flat(clnn_graph *g, int x, int c1, int c2) {
  int h;
  clnn_conv2d_params cp;
  clnn_conv2d_params_init(&cp);
  cp.pad_top = cp.pad_bottom = cp.pad_left = cp.pad_right = 1;
  clnn_pool2d_params pp;
  clnn_pool2d_params_init(&pp, 2);
  CHECK(clnn_graph_conv2d(g, "conv1", x, c1, 3, 3, &cp, 1, &h));
  CHECK(clnn_graph_activation(g, NULL, h, CLNN_ACT_RELU, 0, &h));
  CHECK(clnn_graph_conv2d(g, "conv2", h, c2, 3, 3, &cp, 1, &h));
  CHECK(clnn_graph_activation(g, NULL, h, CLNN_ACT_RELU, 0, &h));
  CHECK(clnn_graph_pool2d(g, "pool", h, 1, &pp, &h));
  CHECK(clnn_graph_flatten(g, NULL, h, &h));
  return h;
}

/* Marks y as g's output, prints g's summary when summary is nonzero, and creates the model of g
 * (the graph is destroyed). */
static inline clnn_model *model_of(clnn_context *ctx, clnn_graph *g, int y, uint64_t seed,
                                   int summary) {
  CHECK(clnn_graph_output(g, y));
  if (summary) {
    static char text[8192];
    CHECK(clnn_graph_summary(g, text, sizeof text));
    printf("%s", text);
  }
  clnn_model *m = NULL;
  CHECK(clnn_model_create(ctx, g, seed, &m));
  clnn_graph_destroy(g);
  return m;
}

/* splitmix64: a small reproducible generator (same numbers on every machine); seed it by
 * setting rng_state. */
static uint64_t rng_state;
static inline uint64_t rng_next(void) {
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/* The samples of ds (8x8 digit images [1, 8, 8]) whose label is in lo..hi, labels minus lo
 * (0, 9: every digit, labels unchanged); shift: each image moved by a random -1..1 pixels per
 * axis (zero fill), two draws of rng_next per sample kept. */
static inline clnn_dataset *digits_subset(const clnn_dataset *ds, int lo, int hi, int shift) {
  size_t n = clnn_dataset_size(ds), k = 0, dims[3] = {1, 8, 8};
  const float *src = clnn_dataset_data(ds);
  const int32_t *lab = clnn_dataset_labels(ds);
  float *x = calloc(n * 64, sizeof(float));
  int32_t *y = malloc(n * sizeof(int32_t));
  if (!x || !y) exit(1);
  for (size_t i = 0; i < n; i++) {
    if (lab[i] < lo || lab[i] > hi) continue;
    int dy = shift ? (int)(rng_next() % 3) - 1 : 0, dx = shift ? (int)(rng_next() % 3) - 1 : 0;
    for (int r = 0; r < 8; r++)
      for (int c = 0; c < 8; c++) {
        int sr = r - dy, sc = c - dx;
        if (sr >= 0 && sr < 8 && sc >= 0 && sc < 8)
          x[k * 64 + r * 8 + c] = src[i * 64 + sr * 8 + sc];
      }
    y[k++] = lab[i] - lo;
  }
  clnn_dataset *out = NULL;
  CHECK(clnn_dataset_create(k, 3, dims, x, k * 64, y, k, &out));
  free(x);
  free(y);
  return out;
}

/* One option of parse_args: "--name VALUE" stored in *dst as its kind says. */
typedef enum { OPT_INT, OPT_SIZE, OPT_FLOAT, OPT_ULL, OPT_STR } opt_kind;
typedef struct example_opt {
  const char *name;
  opt_kind kind;
  void *dst; /* int, size_t, float, unsigned long long or const char * */
} example_opt;

/* The command line of the digits examples: a bare argument or --data DIR sets data (a buffer of
 * data_size), every other option takes a value and is one of opts. Returns -1 when the program
 * goes on, else its exit status: 0 after --help / -h (the usage line printed), 2 on an error. */
static inline int parse_args(int argc, char **argv, const char *usage, char *data,
                             size_t data_size, const example_opt *opts, size_t nopts) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (a[0] != '-') { /* a bare argument: the data directory */
      snprintf(data, data_size, "%s", a);
      continue;
    }
    if (!v) {
      fprintf(stderr, "usage: " EXAMPLE_NAME " %s\n", usage);
      return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 ? 0 : 2;
    }
    size_t k = 0;
    while (k < nopts && strcmp(a, opts[k].name) != 0) k++;
    if (strcmp(a, "--data") == 0) snprintf(data, data_size, "%s", v);
    else if (k == nopts) {
      fprintf(stderr, EXAMPLE_NAME ": unknown option %s\n", a);
      return 2;
    } else {
      switch (opts[k].kind) {
      case OPT_INT: *(int *)opts[k].dst = atoi(v); break;
      case OPT_SIZE: *(size_t *)opts[k].dst = (size_t)strtoul(v, NULL, 10); break;
      case OPT_FLOAT: *(float *)opts[k].dst = strtof(v, NULL); break;
      case OPT_ULL: *(unsigned long long *)opts[k].dst = strtoull(v, NULL, 10); break;
      case OPT_STR: *(const char **)opts[k].dst = v; break;
      }
    }
    i++;
  }
  return -1;
}

#endif
