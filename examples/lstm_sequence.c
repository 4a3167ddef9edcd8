/* examples/lstm_sequence.c — two stacked LSTMs learn to predict the next value of noisy sine
 * waves (random frequency and phase, noise +-0.05) from the previous 20 values. Prints the device
 * and, per epoch, the training loss, a held-out MSE and sequences/s. The stated goal: held-out MSE
 * below 0.01 (the waves' variance is 0.5, so that is 98% of it explained); exits 1 if missed.
 *
 *   lstm_sequence [--epochs N] [--seed N] [--device SEL] */
#define EXAMPLE_NAME "lstm_sequence"
#include "example_util.h"

#include <math.h>

#define T 20
#define BATCH 32
#define BATCHES_PER_EPOCH 50
#define GOAL 0.01

static uint64_t rng;
static float uniform(float lo, float hi) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return lo + (hi - lo) * (float)((double)(rng >> 11) / 9007199254740992.0);
}

/* n sequences [n, T, 1] and the value that follows each [n, 1]. */
static void make_batch(size_t n, float *x, float *y) {
  for (size_t b = 0; b < n; b++) {
    float freq = uniform(0.1f, 0.5f), phase = uniform(0.0f, 6.2831853f);
    for (int t = 0; t <= T; t++) {
      float v = sinf(freq * (float)t + phase);
      if (t < T) x[b * T + t] = v + uniform(-0.05f, 0.05f);
      else y[b] = v;
    }
  }
}

int main(int argc, char **argv) {
  int epochs = 8;
  unsigned long long seed = 1;
  const char *device = NULL;
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc) {
      fprintf(stderr, "usage: lstm_sequence [--epochs N] [--seed N] [--device SEL]\n");
      return 2;
    }
    if (strcmp(argv[i], "--epochs") == 0) epochs = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--seed") == 0) seed = strtoull(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--device") == 0) device = argv[i + 1];
    else {
      fprintf(stderr, "usage: lstm_sequence [--epochs N] [--seed N] [--device SEL]\n");
      return 2;
    }
  }
  if (epochs < 1) return 2;
  rng = seed * 0x9E3779B97F4A7C15ULL + 1;

  clnn_context *ctx = context_on(device, 0);

  size_t in[2] = {T, 1}; /* a sample is a sequence of T values of 1 feature */
  clnn_net *net = NULL;
  CHECK(clnn_net_create(ctx, 2, in, seed, &net));
  CHECK(clnn_net_add_lstm(net, 32, 1)); /* every hidden state: feeds the next LSTM */
  CHECK(clnn_net_add_lstm(net, 32, 0)); /* the last hidden state */
  CHECK(clnn_net_add_dense(net, 1));
  CHECK(clnn_net_set_loss(net, CLNN_LOSS_MSE));
  clnn_optimizer_config opt;
  clnn_optimizer_config_init(&opt, CLNN_OPTIM_ADAM, 5e-3f);
  opt.clip_grad_norm = 1.0f;
  CHECK(clnn_net_set_optimizer(net, &opt));
  static char summary[2048];
  CHECK(clnn_net_summary(net, summary, sizeof summary));
  printf("%s", summary);

  /* a fixed held-out set */
  static float vx[256 * T], vy[256], vp[256];
  make_batch(256, vx, vy);
  static float x[BATCH * T], y[BATCH];
  double mse = 1e9;
  double start = now();
  for (int e = 1; e <= epochs; e++) {
    if (e == epochs * 3 / 4 + 1) CHECK(clnn_net_set_learning_rate(net, 1e-3f));
    double t0 = now(), sum = 0;
    for (int k = 0; k < BATCHES_PER_EPOCH; k++) {
      make_batch(BATCH, x, y);
      float loss;
      /* read the loss of every 10th step only; the others run ahead without waiting */
      CHECK(clnn_net_train_step(net, x, BATCH * T, BATCH, NULL, 0, y, BATCH,
                                k % 10 == 9 ? &loss : NULL));
      if (k % 10 == 9) sum += loss;
    }
    double dt = now() - t0;
    CHECK(clnn_net_predict(net, vx, 256 * T, 256, vp, 256));
    mse = 0;
    for (int i = 0; i < 256; i++) mse += (double)(vp[i] - vy[i]) * (vp[i] - vy[i]);
    mse /= 256;
    printf("epoch %2d  train loss %.5f  held-out MSE %.5f  %.0f sequences/s  (%.1f s)\n", e,
           sum / (BATCHES_PER_EPOCH / 10), mse, BATCH * BATCHES_PER_EPOCH / dt, now() - start);
    fflush(stdout);
  }
  printf("held-out MSE %.5f: %s the stated goal of %.2f\n", mse, mse < GOAL ? "below" : "ABOVE",
         GOAL);
  clnn_net_destroy(net);
  clnn_context_destroy(ctx);
  return mse < GOAL ? 0 : 1;
}
