/* examples/mnist_cnn.c — a CNN on MNIST (or any IDX image set) from a directory the user names:
 * the same program path as digits_cnn (IDX loading, shuffled mini-batches, train, evaluate,
 * checkpoint, --eval), with a network sized for 28x28 images. The directory holds the four IDX
 * files, as distributed (decompress the .gz files first):
 *
 *   train-images-idx3-ubyte  train-labels-idx1-ubyte  t10k-images-idx3-ubyte  t10k-labels-idx1-ubyte
 *
 * (test-images-idx3-ubyte / test-labels-idx1-ubyte are accepted in place of the t10k names, so it
 * also runs on data/digits). Network: conv 3x3x32 (pad 1) - ReLU - max pool 2 - conv 3x3x64 (pad 1)
 * - ReLU - max pool 2 - dropout 0.25 - flatten - dense 128 - ReLU - dropout 0.5 - dense 10; Adam.
 * The classic result for such a network on MNIST is >= 98.5% test accuracy after a few epochs.
 *
 *   mnist_cnn --data DIR [--epochs N] [--batch N] [--lr X] [--seed N] [--limit N]
 *             [--checkpoint FILE] [--device SEL]
 *   mnist_cnn --data DIR --eval FILE */
#define EXAMPLE_NAME "mnist_cnn"
#include "example_util.h"

static void usage(void) {
  fprintf(stderr,
          "usage: mnist_cnn --data DIR [--epochs N] [--batch N] [--lr X] [--seed N] [--limit N]\n"
          "                 [--checkpoint FILE] [--device SEL]\n"
          "       mnist_cnn --data DIR --eval FILE\n"
          "DIR holds train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and\n"
          "t10k-labels-idx1-ubyte (MNIST, decompressed). --limit N trains on the first N images.\n");
}

static clnn_status build(clnn_context *ctx, const size_t in[3], uint64_t seed, float lr,
                         clnn_net **out) {
  clnn_net *net = NULL;
  clnn_status s = clnn_net_create(ctx, 3, in, seed, &net);
  if (s == CLNN_SUCCESS) s = clnn_net_add_conv2d(net, 32, 3, 1, 1);
  if (s == CLNN_SUCCESS) s = clnn_net_add_activation(net, CLNN_ACT_RELU, 0);
  if (s == CLNN_SUCCESS) s = clnn_net_add_maxpool2d(net, 2, 2, 0);
  if (s == CLNN_SUCCESS) s = clnn_net_add_conv2d(net, 64, 3, 1, 1);
  if (s == CLNN_SUCCESS) s = clnn_net_add_activation(net, CLNN_ACT_RELU, 0);
  if (s == CLNN_SUCCESS) s = clnn_net_add_maxpool2d(net, 2, 2, 0);
  if (s == CLNN_SUCCESS) s = clnn_net_add_dropout(net, 0.25f);
  if (s == CLNN_SUCCESS) s = clnn_net_add_flatten(net);
  if (s == CLNN_SUCCESS) s = clnn_net_add_dense(net, 128);
  if (s == CLNN_SUCCESS) s = clnn_net_add_activation(net, CLNN_ACT_RELU, 0);
  if (s == CLNN_SUCCESS) s = clnn_net_add_dropout(net, 0.5f);
  if (s == CLNN_SUCCESS) s = clnn_net_add_dense(net, 10);
  clnn_optimizer_config opt;
  clnn_optimizer_config_init(&opt, CLNN_OPTIM_ADAM, lr);
  if (s == CLNN_SUCCESS) s = clnn_net_set_optimizer(net, &opt);
  if (s != CLNN_SUCCESS) {
    clnn_net_destroy(net);
    return s;
  }
  *out = net;
  return CLNN_SUCCESS;
}

int main(int argc, char **argv) {
  const char *data = NULL, *ckpt = "mnist_cnn.safetensors", *eval = NULL, *device = NULL;
  int epochs = 3;
  size_t batch = 64, limit = 0;
  float lr = 1e-3f;
  unsigned long long seed = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage();
      return 0;
    }
    if (!v) {
      fprintf(stderr, "mnist_cnn: %s needs a value (or is unknown)\n", a);
      usage();
      return 2;
    }
    if (strcmp(a, "--data") == 0) data = v;
    else if (strcmp(a, "--epochs") == 0) epochs = atoi(v);
    else if (strcmp(a, "--batch") == 0) batch = (size_t)strtoul(v, NULL, 10);
    else if (strcmp(a, "--lr") == 0) lr = strtof(v, NULL);
    else if (strcmp(a, "--seed") == 0) seed = strtoull(v, NULL, 10);
    else if (strcmp(a, "--limit") == 0) limit = (size_t)strtoul(v, NULL, 10);
    else if (strcmp(a, "--checkpoint") == 0) ckpt = v;
    else if (strcmp(a, "--eval") == 0) eval = v;
    else if (strcmp(a, "--device") == 0) device = v;
    else {
      fprintf(stderr, "mnist_cnn: unknown option %s\n", a);
      usage();
      return 2;
    }
    i++;
  }
  if (!data) {
    fprintf(stderr, "mnist_cnn: --data DIR is required (MNIST is not shipped; data/digits works "
                    "for a quick try)\n");
    usage();
    return 2;
  }
  if (epochs < 1 || batch < 1 || !(lr > 0)) {
    fprintf(stderr, "mnist_cnn: --epochs, --batch and --lr must be positive\n");
    return 2;
  }

  clnn_context *ctx = context_on(device, 1);

  char a[1200], b[1200];
  clnn_dataset *train = NULL, *test = NULL;
  snprintf(a, sizeof a, "%s/t10k-images-idx3-ubyte", data);
  snprintf(b, sizeof b, "%s/t10k-labels-idx1-ubyte", data);
  if (!file_exists(a)) {
    snprintf(a, sizeof a, "%s/test-images-idx3-ubyte", data);
    snprintf(b, sizeof b, "%s/test-labels-idx1-ubyte", data);
  }
  CHECK(clnn_dataset_load_idx(a, b, &test));
  size_t in[CLNN_MAX_DIMS];
  clnn_dataset_sample_dims(test, in);
  clnn_net *net = NULL;
  CHECK(build(ctx, in, seed, lr, &net));
  size_t nt = clnn_dataset_size(test);

  if (eval) {
    CHECK(clnn_net_load(net, eval));
    float loss, acc;
    double t0 = now();
    CHECK(clnn_net_evaluate(net, test, 500, &loss, &acc));
    printf("checkpoint %s: test loss %.4f, test accuracy %.2f%% (%zu images, %.0f images/s)\n",
           eval, loss, 100.0 * acc, nt, (double)nt / (now() - t0));
    clnn_net_destroy(net);
    clnn_dataset_destroy(test);
    clnn_context_destroy(ctx);
    return 0;
  }

  snprintf(a, sizeof a, "%s/train-images-idx3-ubyte", data);
  snprintf(b, sizeof b, "%s/train-labels-idx1-ubyte", data);
  CHECK(clnn_dataset_load_idx(a, b, &train));
  if (limit > 0 && limit < clnn_dataset_size(train)) { /* the first `limit` images */
    clnn_dataset *part = NULL;
    CHECK(clnn_dataset_create(limit, 3, in, clnn_dataset_data(train),
                              limit * clnn_dataset_sample_numel(train), clnn_dataset_labels(train),
                              limit, &part));
    clnn_dataset_destroy(train);
    train = part;
  }
  size_t n = clnn_dataset_size(train);
  printf("data: %s: %zu training and %zu test images of %zux%zu\n", data, n, nt, in[1], in[2]);
  static char summary[4096];
  CHECK(clnn_net_summary(net, summary, sizeof summary));
  printf("%s", summary);
  printf("training: %d epochs, batch %zu, Adam lr %g, seed %llu\n", epochs, batch, (double)lr, seed);

  { /* Build every kernel once with a throwaway copy of the network (one training step and one
     * evaluation), so the epoch timings below measure training; the builds are cached on disk,
     * which makes later runs start at once. */
    double tc = now();
    clnn_net *warm = NULL;
    size_t wn = batch < clnn_dataset_size(train) ? batch : clnn_dataset_size(train);
    float *wx = malloc(wn * clnn_dataset_sample_numel(train) * sizeof(float));
    int32_t *wy = malloc(wn * sizeof(int32_t));
    if (!wx || !wy) return 1;
    CHECK(build(ctx, in, seed, lr, &warm));
    CHECK(clnn_dataset_batch(train, 0, wn, wx, wn * clnn_dataset_sample_numel(train), wy, wn));
    CHECK(clnn_net_train_step(warm, wx, wn * clnn_dataset_sample_numel(train), wn, wy, wn, NULL, 0,
                              NULL));
    float wl, wa;
    CHECK(clnn_net_evaluate(warm, test, 500, &wl, &wa));
    clnn_net_destroy(warm);
    free(wx);
    free(wy);
    printf("kernels ready in %.1f s\n", now() - tc);
  }
  double start = now(), train_time = 0;
  float acc = 0;
  for (int e = 1; e <= epochs; e++) {
    CHECK(clnn_dataset_shuffle(train, seed * 1000003ULL + (unsigned long long)e));
    double t0 = now();
    float loss, test_loss;
    CHECK(clnn_net_train_epoch(net, train, batch, &loss));
    double dt = now() - t0;
    train_time += dt;
    CHECK(clnn_net_evaluate(net, test, 500, &test_loss, &acc));
    printf("epoch %2d  loss %.4f  test loss %.4f  test acc %6.2f%%  %6.0f images/s  (%.1f s)\n", e,
           loss, test_loss, 100.0 * acc, (double)n / dt, now() - start);
    fflush(stdout);
  }
  printf("final test accuracy %.2f%% after %.1f s (%.0f images/s training)\n", 100.0 * acc,
         now() - start, (double)epochs * (double)n / train_time);
  CHECK(clnn_net_save(net, ckpt, CLNN_SAVE_OPTIMIZER));
  printf("saved %s; evaluate it with: mnist_cnn --data %s --eval %s\n", ckpt, data, ckpt);
  clnn_net_destroy(net);
  clnn_dataset_destroy(train);
  clnn_dataset_destroy(test);
  clnn_context_destroy(ctx);
  return 0;
}
