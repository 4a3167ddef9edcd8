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
#define EXAMPLE_NAME "finetune_pretrain"
#include "example_util.h"

int main(int argc, char **argv) {
  char data[1024];
  default_data_dir(data, sizeof data);
  const char *out = "finetune_pretrain.safetensors", *device = NULL;
  int epochs = 15;
  unsigned long long seed = 1;
  const example_opt opts[] = {{"--out", OPT_STR, &out}, {"--epochs", OPT_INT, &epochs},
                              {"--seed", OPT_ULL, &seed}, {"--device", OPT_STR, &device}};
  int rc = parse_args(argc, argv,
                      "[--data DIR | DIR] [--out FILE] [--epochs N] [--seed N] [--device SEL]",
                      data, sizeof data, opts, sizeof opts / sizeof opts[0]);
  if (rc >= 0) return rc;
  if (epochs < 1) {
    fprintf(stderr, "finetune_pretrain: --epochs must be positive\n");
    return 2;
  }
  double start = now();
  clnn_context *ctx = context_on(device, 1);
  clnn_dataset *train_all = load_idx_split(data, "train");
  clnn_dataset *test_all = load_idx_split(data, "test");
  clnn_dataset *test = digits_subset(test_all, 0, 4, 0);
  rng_state = seed;
  printf("data: %s: digits 0-4 only: %zu test images (of %zu)\n", data, clnn_dataset_size(test),
         clnn_dataset_size(test_all));

  int x, lab, h, y, loss;
  clnn_graph *g = digits_graph(&x, &lab);
  h = conv_pool_flat(g, x, 32, 64);
  CHECK(clnn_graph_dropout(g, NULL, h, 0.25f, &h));
  CHECK(clnn_graph_dense(g, "fc", h, 128, 1, &h));
  CHECK(clnn_graph_activation(g, "features", h, CLNN_ACT_RELU, 0, &h));
  CHECK(clnn_graph_dense(g, "head", h, 5, 1, &y));
  CHECK(clnn_graph_loss(g, "loss", CLNN_LOSS_SOFTMAX_CROSS_ENTROPY, y, lab, 1.0f, &loss));
  clnn_model *m = model_of(ctx, g, y, seed, 1);
  printf("training: %d epochs, batch 32, Adam lr 0.001, seed %llu\n", epochs, seed);

  float acc = 0;
  for (int e = 1; e <= epochs; e++) {
    clnn_dataset *train = digits_subset(train_all, 0, 4, 1);
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
