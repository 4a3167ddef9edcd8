/* A residual CNN as a graph, trained on the digits, saved, and loaded back without its source
 * (README example; test_graph builds and runs it). */
#include <clnn.h>
#include <stdio.h>

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "data/digits";
  char a[512], b[512];
  clnn_context *ctx = NULL;
  clnn_dataset *train = NULL, *test = NULL;
  clnn_graph *g = NULL;
  clnn_model *m = NULL, *loaded = NULL;
  size_t img[3] = {1, 8, 8};
  int x, label, h, r, logits, loss;
  float acc = 0, acc2 = 0;
  clnn_conv2d_params same;                                   /* 3x3, padding 1 */
  clnn_conv2d_params_init(&same);
  same.pad_top = same.pad_bottom = same.pad_left = same.pad_right = 1;
  clnn_pool2d_params pool;                                   /* 2x2, stride 2 */
  clnn_pool2d_params_init(&pool, 2);
  snprintf(a, sizeof a, "%s/train-images-idx3-ubyte", dir);
  snprintf(b, sizeof b, "%s/train-labels-idx1-ubyte", dir);
  if (clnn_context_create(NULL, &ctx) || clnn_dataset_load_idx(a, b, &train)) goto fail;
  snprintf(a, sizeof a, "%s/test-images-idx3-ubyte", dir);
  snprintf(b, sizeof b, "%s/test-labels-idx1-ubyte", dir);
  if (clnn_dataset_load_idx(a, b, &test) || clnn_graph_create(&g) ||
      clnn_graph_input(g, "image", CLNN_FLOAT32, 3, img, &x) ||
      clnn_graph_input(g, "label", CLNN_INT32, 0, NULL, &label) ||
      clnn_graph_conv2d(g, NULL, x, 16, 3, 3, &same, 1, &h) ||          /* "conv1" */
      clnn_graph_activation(g, NULL, h, CLNN_ACT_RELU, 0, &h) ||
      clnn_graph_conv2d(g, NULL, h, 16, 3, 3, &same, 1, &r) ||          /* residual branch */
      clnn_graph_add(g, "skip", r, h, &h) ||                            /* relu(h + f(h)) */
      clnn_graph_activation(g, NULL, h, CLNN_ACT_RELU, 0, &h) ||
      clnn_graph_pool2d(g, NULL, h, 1, &pool, &h) || clnn_graph_flatten(g, NULL, h, &h) ||
      clnn_graph_dense(g, "head", h, 10, 1, &logits) ||
      clnn_graph_loss(g, NULL, CLNN_LOSS_SOFTMAX_CROSS_ENTROPY, logits, label, 1.0f, &loss) ||
      clnn_graph_output(g, logits) || clnn_model_create(ctx, g, 42, &m))  /* Adam, lr 1e-3 */
    goto fail;
  for (int epoch = 1; epoch <= 25; epoch++)
    if (clnn_dataset_shuffle(train, (uint64_t)epoch) ||
        clnn_model_train_epoch(m, train, 32, x, label, NULL))
      goto fail;
  if (clnn_model_evaluate(m, test, 360, x, label, logits, NULL, &acc) ||
      clnn_model_save(m, "residual.safetensors", 0) ||                  /* graph + weights */
      clnn_model_load_file(ctx, "residual.safetensors", &loaded) ||     /* no source needed */
      clnn_graph_find(clnn_model_graph(loaded), "image", &x) ||
      clnn_graph_find(clnn_model_graph(loaded), "label", &label) ||
      clnn_model_evaluate(loaded, test, 360, x, label, -1, NULL, &acc2))
    goto fail;
  printf("test accuracy %.1f%%, loaded from the file alone %.1f%%\n", 100.0 * acc, 100.0 * acc2);
  clnn_model_destroy(loaded);
  clnn_model_destroy(m);
  clnn_graph_destroy(g);
  clnn_dataset_destroy(train);
  clnn_dataset_destroy(test);
  clnn_context_destroy(ctx);
  return acc >= 0.85f && acc2 == acc ? 0 : 1;             /* it learned; the file is the model */
fail:
  fprintf(stderr, "clnn: %s\n", clnn_last_error());
  return 1;
}
