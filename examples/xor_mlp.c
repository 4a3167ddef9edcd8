/* examples/xor_mlp.c — the smallest backprop example: a two-layer perceptron (2 -> 8 tanh -> 1)
 * learns XOR with binary cross-entropy and Adam. Prints the device, the loss, accuracy and
 * samples/s every 50 steps, and the learned truth table; exits 1 if XOR was not learned.
 *
 *   xor_mlp [--steps N] [--seed N] [--device SEL] */
#define EXAMPLE_NAME "xor_mlp"
#include "example_util.h"

#include <math.h>

int main(int argc, char **argv) {
  int steps = 300;
  unsigned long long seed = 1;
  const char *device = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--steps") == 0) steps = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--seed") == 0) seed = strtoull(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--device") == 0) device = argv[i + 1];
    else {
      fprintf(stderr, "usage: xor_mlp [--steps N] [--seed N] [--device SEL]\n");
      return 2;
    }
  }
  if (argc % 2 == 0 || steps < 1) {
    fprintf(stderr, "usage: xor_mlp [--steps N] [--seed N] [--device SEL]\n");
    return 2;
  }

  clnn_context *ctx = context_on(device, 0);

  const float x[8] = {0, 0, 0, 1, 1, 0, 1, 1};
  const float target[4] = {0, 1, 1, 0};
  const int32_t labels[4] = {0, 1, 1, 0};
  size_t in = 2;
  clnn_net *net = NULL;
  CHECK(clnn_net_create(ctx, 1, &in, seed, &net));
  CHECK(clnn_net_add_dense(net, 8));
  CHECK(clnn_net_add_activation(net, CLNN_ACT_TANH, 0));
  CHECK(clnn_net_add_dense(net, 1));
  CHECK(clnn_net_set_loss(net, CLNN_LOSS_BCE_WITH_LOGITS));
  clnn_optimizer_config opt;
  clnn_optimizer_config_init(&opt, CLNN_OPTIM_ADAM, 0.05f);
  CHECK(clnn_net_set_optimizer(net, &opt));

  double t0 = now();
  float loss = 0, acc = 0;
  for (int s = 1; s <= steps; s++) {
    int report = s % 50 == 0 || s == steps;
    CHECK(clnn_net_train_step(net, x, 8, 4, NULL, 0, target, 4, report ? &loss : NULL));
    if (report) {
      CHECK(clnn_net_accuracy(net, x, 8, labels, 4, 4, 4, &acc));
      printf("step %4d  loss %.5f  accuracy %3.0f%%  %.0f samples/s\n", s, loss, 100.0 * acc,
             4.0 * s / (now() - t0));
    }
  }
  float y[4];
  CHECK(clnn_net_predict(net, x, 8, 4, y, 4));
  printf("a b | xor  p(1)\n");
  for (int i = 0; i < 4; i++)
    printf("%g %g |  %d   %.3f\n", x[2 * i], x[2 * i + 1], labels[i], 1.0 / (1.0 + exp(-y[i])));
  int learned = acc == 1.0f && loss < 0.1f;
  printf("%s\n", learned ? "XOR learned" : "XOR NOT learned");
  clnn_net_destroy(net);
  clnn_context_destroy(ctx);
  return learned ? 0 : 1;
}
