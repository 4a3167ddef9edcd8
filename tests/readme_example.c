/* Trains a small CNN on the shipped digits and saves it (README example; test_net builds and runs it). */
#include <clnn.h>
#include <stdio.h>

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "data/digits";    /* the IDX files shipped with clnn */
  char a[512], b[512];
  clnn_context *ctx = NULL;
  clnn_dataset *train = NULL, *test = NULL;
  clnn_net *net = NULL;
  size_t in[3] = {1, 8, 8};                                  /* one sample: [C, H, W] */
  float loss = 0, acc = 0;
  snprintf(a, sizeof a, "%s/train-images-idx3-ubyte", dir);
  snprintf(b, sizeof b, "%s/train-labels-idx1-ubyte", dir);
  if (clnn_context_create(NULL, &ctx) || clnn_dataset_load_idx(a, b, &train)) goto fail;
  snprintf(a, sizeof a, "%s/test-images-idx3-ubyte", dir);
  snprintf(b, sizeof b, "%s/test-labels-idx1-ubyte", dir);
  if (clnn_dataset_load_idx(a, b, &test) || clnn_net_create(ctx, 3, in, 42, &net) ||
      clnn_net_add_conv2d(net, 16, 3, 1, 1) ||               /* 16 filters 3x3, stride 1, pad 1 */
      clnn_net_add_activation(net, CLNN_ACT_RELU, 0) || clnn_net_add_maxpool2d(net, 2, 2, 0) ||
      clnn_net_add_flatten(net) || clnn_net_add_dense(net, 10))  /* softmax CE + Adam: defaults */
    goto fail;
  for (int epoch = 1; epoch <= 10; epoch++) {
    if (clnn_dataset_shuffle(train, (uint64_t)epoch) || clnn_net_train_epoch(net, train, 32, &loss) ||
        clnn_net_evaluate(net, test, 360, NULL, &acc))
      goto fail;
    printf("epoch %d: loss %.3f, test accuracy %.1f%%\n", epoch, loss, 100.0 * acc);
  }
  if (clnn_net_save(net, "digits.safetensors", CLNN_SAVE_OPTIMIZER)) goto fail;
  clnn_net_destroy(net);
  clnn_dataset_destroy(train);
  clnn_dataset_destroy(test);
  clnn_context_destroy(ctx);
  return 0;
fail:
  fprintf(stderr, "clnn: %s\n", clnn_last_error());
  return 1;
}
