/* examples/finetune_pretrain.c — the first half of the fine-tuning example: trains a CNN graph
 * model on the digits 0-4 of data/digits only (a subset made with clnn_dataset_create) and saves
 * it with clnn_model_save. examples/finetune_digits.c then loads the file without this program's
 * definition, puts a new head on it and fine-tunes it on the digits 5-9. Exits 1 when the test
 * accuracy on the digits 0-4 is below 97% or the file cannot be written.
 *
 *   finetune_pretrain [--data DIR | DIR] [--out FILE] [--epochs N] [--seed N] [--device SEL]
 *
 * Network: conv 3x3x32 (pad 1, "conv1") - ReLU - conv 3x3x64 (pad 1, "conv2") - ReLU - max pool
 * 2x2 - flatten - dropout 0.25 - dense 128 ("fc") - ReLU (node "features": the value before the
 * head) - dense 5 ("head"); softmax cross-entropy on the label; Adam lr 1e-3. Every epoch trains
 * on a fresh copy of the subset with each image shifted by a random -1..1 pixels per axis. The
 * file (default finetune_pretrain.safetensors) holds the graph and the parameters. */
#include <clnn.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  timespec_get(&ts, TIME_UTC);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define CHECK(call)                                                                              \
  do {                                                                                           \
    clnn_status s_ = (call);                                                                     \
    if (s_ != CLNN_SUCCESS) {                                                                    \
      fprintf(stderr, "finetune_pretrain: %s failed: %s: %s\n", #call, clnn_status_string(s_),  \
              clnn_last_error());                                                                \
      exit(1);                                                                                   \
    }                                                                                            \
  } while (0)

static int file_exists(const char *p) {
  FILE *f = fopen(p, "rb");
  if (f) fclose(f);
  return f != NULL;
}

/* data/digits under the working directory, else the copy next to this source file. */
static void default_data_dir(char *buf, size_t size) {
  snprintf(buf, size, "data/digits");
  char probe[1100];
  snprintf(probe, sizeof probe, "%s/train-images-idx3-ubyte", buf);
  if (file_exists(probe)) return;
  const char *src = __FILE__;
  const char *slash = strrchr(src, '/');
  if (slash) snprintf(buf, size, "%.*s/../data/digits", (int)(slash - src), src);
}

static clnn_dataset *load(const char *dir, const char *split) {
  char a[1200], b[1200];
  snprintf(a, sizeof a, "%s/%s-images-idx3-ubyte", dir, split);
  snprintf(b, sizeof b, "%s/%s-labels-idx1-ubyte", dir, split);
  clnn_dataset *ds = NULL;
  CHECK(clnn_dataset_load_idx(a, b, &ds));
  return ds;
}

/* The samples of ds whose label is in lo..hi, labels minus lo; shift: each image moved by a
 * random -1..1 pixels per axis (zero fill). */
static uint64_t rng_state;
static uint64_t rng_next(void) {
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
static clnn_dataset *subset(const clnn_dataset *ds, int lo, int hi, int shift) {
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

int main(int argc, char **argv) {
  char data[1024];
  default_data_dir(data, sizeof data);
  const char *out = "finetune_pretrain.safetensors", *device = NULL;
  int epochs = 15;
  unsigned long long seed = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (a[0] != '-') { /* a bare argument: the data directory */
      snprintf(data, sizeof data, "%s", a);
      continue;
    }
    if (!v) {
      fprintf(stderr, "usage: finetune_pretrain [--data DIR | DIR] [--out FILE] [--epochs N] "
                      "[--seed N] [--device SEL]\n");
      return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 ? 0 : 2;
    }
    if (strcmp(a, "--data") == 0) snprintf(data, sizeof data, "%s", v);
    else if (strcmp(a, "--out") == 0) out = v;
    else if (strcmp(a, "--epochs") == 0) epochs = atoi(v);
    else if (strcmp(a, "--seed") == 0) seed = strtoull(v, NULL, 10);
    else if (strcmp(a, "--device") == 0) device = v;
    else {
      fprintf(stderr, "finetune_pretrain: unknown option %s\n", a);
      return 2;
    }
    i++;
  }
  if (epochs < 1) {
    fprintf(stderr, "finetune_pretrain: --epochs must be positive\n");
    return 2;
  }
  double start = now();
  clnn_context_options co;
  clnn_context_options_init(&co);
  co.device = device;
  clnn_context *ctx = NULL;
  CHECK(clnn_context_create(&co, &ctx));
  clnn_device_info info;
  CHECK(clnn_context_device_info(ctx, &info));
  printf("device: %s (%s, %u compute units)\n", info.name, info.platform_name, info.compute_units);
  clnn_dataset *train_all = load(data, "train"), *test_all = load(data, "test");
  clnn_dataset *test = subset(test_all, 0, 4, 0);
  rng_state = seed;
  printf("data: %s: digits 0-4 only: %zu test images (of %zu)\n", data, clnn_dataset_size(test),
         clnn_dataset_size(test_all));

  clnn_graph *g = NULL;
  int x, lab, h, y, loss;
  size_t img[3] = {1, 8, 8};
  clnn_conv2d_params cp;
  clnn_conv2d_params_init(&cp);
  cp.pad_top = cp.pad_bottom = cp.pad_left = cp.pad_right = 1;
  clnn_pool2d_params pp;
  clnn_pool2d_params_init(&pp, 2);
  CHECK(clnn_graph_create(&g));
  CHECK(clnn_graph_input(g, "image", CLNN_FLOAT32, 3, img, &x));
  CHECK(clnn_graph_input(g, "label", CLNN_INT32, 0, NULL, &lab));
  CHECK(clnn_graph_conv2d(g, "conv1", x, 32, 3, 3, &cp, 1, &h));
  CHECK(clnn_graph_activation(g, NULL, h, CLNN_ACT_RELU, 0, &h));
  CHECK(clnn_graph_conv2d(g, "conv2", h, 64, 3, 3, &cp, 1, &h));
  CHECK(clnn_graph_activation(g, NULL, h, CLNN_ACT_RELU, 0, &h));
  CHECK(clnn_graph_pool2d(g, "pool", h, 1, &pp, &h));
  CHECK(clnn_graph_flatten(g, NULL, h, &h));
  CHECK(clnn_graph_dropout(g, NULL, h, 0.25f, &h));
  CHECK(clnn_graph_dense(g, "fc", h, 128, 1, &h));
  CHECK(clnn_graph_activation(g, "features", h, CLNN_ACT_RELU, 0, &h));
  CHECK(clnn_graph_dense(g, "head", h, 5, 1, &y));
  CHECK(clnn_graph_loss(g, "loss", CLNN_LOSS_SOFTMAX_CROSS_ENTROPY, y, lab, 1.0f, &loss));
  CHECK(clnn_graph_output(g, y));
  static char summary[8192];
  CHECK(clnn_graph_summary(g, summary, sizeof summary));
  printf("%s", summary);
  clnn_model *m = NULL;
  CHECK(clnn_model_create(ctx, g, seed, &m));
  clnn_graph_destroy(g);
  printf("training: %d epochs, batch 32, Adam lr 0.001, seed %llu\n", epochs, seed);

  float acc = 0;
  for (int e = 1; e <= epochs; e++) {
    clnn_dataset *train = subset(train_all, 0, 4, 1);
    CHECK(clnn_dataset_shuffle(train, seed * 1000003ULL + (unsigned long long)e));
    float l = 0, tl = 0;
    CHECK(clnn_model_train_epoch(m, train, 32, x, lab, &l));
    CHECK(clnn_model_evaluate(m, test, 512, x, lab, -1, &tl, &acc));
    printf("epoch %2d  loss %.4f  test loss %.4f  test acc (0-4) %6.2f%%  (%zu images, %.1f s)\n",
           e, l, tl, 100.0 * acc, clnn_dataset_size(train), now() - start);
    fflush(stdout);
    clnn_dataset_destroy(train);
  }
  CHECK(clnn_model_save(m, out, 0));
  int ok = acc >= 0.97f;
  printf("final test accuracy on the digits 0-4 %.2f%% (%s the 97%% target); saved %s after "
         "%.1f s\n", 100.0 * acc, ok ? "meets" : "BELOW", out, now() - start);
  printf("next: finetune_digits --model %s\n", out);
  clnn_model_destroy(m);
  clnn_dataset_destroy(test);
  clnn_dataset_destroy(train_all);
  clnn_dataset_destroy(test_all);
  clnn_context_destroy(ctx);
  return ok ? 0 : 1;
}
