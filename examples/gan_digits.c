/* examples/gan_digits.c — an unconditional GAN on the 8x8 handwritten digits in data/digits, with
 * two graph models (clnn_model) trained against each other, and an independent judge of what it
 * draws. Exits 1 when the judge's thresholds are missed (the test tests/examples.cmake runs it).
 *
 *   gan_digits [--data DIR | DIR] [--steps N] [--batch N] [--seed N] [--device SEL]
 *
 * 1. The judge: a small CNN classifier (conv 3x3x32 - ReLU - conv 3x3x32 - ReLU - max pool 2x2 -
 *    dense 128 - ReLU - dense 10) trained for 20 epochs on the digits, each image shifted by a
 *    random -1..1 pixels per epoch; it must reach >= 95% test accuracy.
 * 2. The GAN. Generator G: noise z [32] - dense 128 - BN - ReLU - dense 256 - BN - ReLU -
 *    dense 64 - sigmoid (pixels in [0, 1]). Discriminator D: image [64] - dense 256 - leaky ReLU
 *    0.2 - dense 128 - leaky ReLU 0.2 - dense 1 (a logit), binary cross-entropy with logits. Two
 *    Adam optimizers (lr 1e-3 / 1e-3, betas 0.5 and 0.999). Each step:
 *      - G forward on noise (clnn_model_forward; the images stay on the device: clnn_model_value);
 *      - D train_step on a real batch (target 0.9: one-sided label smoothing) and on the fake
 *        batch, fed as a device tensor (clnn_feed.tensor), target 0;
 *      - D forward on the fake batch with target 1 and backward with the input gradient on
 *        (clnn_model_input_grad); clnn_model_grad(D, x) is d loss / d image, the seed of
 *        clnn_model_backward(G) on G's output; clnn_model_optimizer_step(G). (D's own gradients
 *        from that backward are never applied: its next train_step overwrites them.)
 * 3. The verdict on 1,000 samples of G (evaluation mode): >= 70% must get a class with softmax
 *    confidence >= 0.9 from the judge, and >= 8 of the 10 classes must appear among those. The
 *    seed is fixed (--seed, default 1), so a run is reproducible on one device. */
#define EXAMPLE_NAME "gan_digits"
#include "example_util.h"

#include <math.h>

enum { ZDIM = 32, NSAMPLES = 1000, JUDGE_EPOCHS = 20 };

/* Box-Muller on splitmix64 (rng_next): reproducible noise on every machine */
static double rng_uniform(void) { return ((double)(rng_next() >> 11) + 0.5) * 0x1.0p-53; }
static void fill_normal(float *z, size_t n) {
  for (size_t i = 0; i < n; i += 2) {
    double r = sqrt(-2.0 * log(rng_uniform())), t = 6.283185307179586 * rng_uniform();
    z[i] = (float)(r * cos(t));
    if (i + 1 < n) z[i + 1] = (float)(r * sin(t));
  }
}

/* ---- the judge: a digits classifier ---- */

static clnn_model *train_judge(clnn_context *ctx, clnn_dataset *train, clnn_dataset *test,
                               uint64_t seed, int *x_out, float *acc_out) {
  int x, lab, h, y, loss;
  clnn_graph *g = digits_graph(&x, &lab);
  h = conv_pool_flat(g, x, 32, 32);
  CHECK(clnn_graph_dense(g, "fc", h, 128, 1, &h));
  CHECK(clnn_graph_activation(g, NULL, h, CLNN_ACT_RELU, 0, &h));
  CHECK(clnn_graph_dense(g, "head", h, 10, 1, &y));
  CHECK(clnn_graph_loss(g, "loss", CLNN_LOSS_SOFTMAX_CROSS_ENTROPY, y, lab, 1.0f, &loss));
  clnn_model *m = model_of(ctx, g, y, seed, 0);
  float acc = 0, l = 0;
  for (int e = 1; e <= JUDGE_EPOCHS; e++) {
    /* every image shifted by -1..1 pixels on each axis (zero fill), afresh each epoch: the judge
     * gets more accurate (about 98% test accuracy against about 95% without) */
    clnn_dataset *aug = digits_subset(train, 0, 9, 1);
    CHECK(clnn_dataset_shuffle(aug, seed * 7919ULL + (uint64_t)e));
    CHECK(clnn_model_train_epoch(m, aug, 32, x, lab, &l));
    clnn_dataset_destroy(aug);
  }
  CHECK(clnn_model_evaluate(m, test, 360, x, lab, -1, NULL, &acc));
  *x_out = x;
  *acc_out = acc;
  return m;
}

/* The judge's verdict on n images: how many get a class with confidence >= 0.9, and per class
 * how many of those. */
static int judge(clnn_model *cls, int cx, const float *img, size_t n, int counts[10]) {
  float *logits = malloc(n * 10 * sizeof(float));
  if (!logits) exit(1);
  clnn_feed f = {cx, img, n * 64, NULL};
  CHECK(clnn_model_predict(cls, &f, 1, n, -1, logits, n * 10));
  int confident = 0;
  memset(counts, 0, 10 * sizeof(int));
  for (size_t i = 0; i < n; i++) {
    const float *l = logits + i * 10;
    int best = 0;
    for (int k = 1; k < 10; k++)
      if (l[k] > l[best]) best = k;
    double sum = 0;
    for (int k = 0; k < 10; k++) sum += exp((double)(l[k] - l[best]));
    if (1.0 / sum >= 0.9) {
      confident++;
      counts[best]++;
    }
  }
  free(logits);
  return confident;
}

static void print_row_of_samples(const float *img, int count) {
  static const char shades[] = " .:-=+*#%@";
  for (int r = 0; r < 8; r++) {
    for (int i = 0; i < count; i++) {
      for (int c = 0; c < 8; c++) {
        float v = img[i * 64 + r * 8 + c];
        int k = (int)(v * 9.99f);
        k = k < 0 ? 0 : k > 9 ? 9 : k;
        putchar(shades[k]);
        putchar(shades[k]);
      }
      printf("  ");
    }
    printf("\n");
  }
}

int main(int argc, char **argv) {
  char data[1024];
  default_data_dir(data, sizeof data);
  int steps = 6000;
  size_t batch = 64;
  unsigned long long seed = 1;
  const char *device = NULL;
  const example_opt opts[] = {{"--steps", OPT_INT, &steps}, {"--batch", OPT_SIZE, &batch},
                              {"--seed", OPT_ULL, &seed}, {"--device", OPT_STR, &device}};
  int rc = parse_args(argc, argv,
                      "[--data DIR | DIR] [--steps N] [--batch N] [--seed N] [--device SEL]",
                      data, sizeof data, opts, sizeof opts / sizeof opts[0]);
  if (rc >= 0) return rc;
  if (steps < 1 || batch < 2) {
    fprintf(stderr, "gan_digits: --steps must be positive, --batch at least 2\n");
    return 2;
  }
  double start = now();
  clnn_context *ctx = context_on(device, 1);
  clnn_dataset *train = load_idx_split(data, "train"), *test = load_idx_split(data, "test");
  size_t ntrain = clnn_dataset_size(train);
  printf("data: %s: %zu training and %zu test images of 8x8\n", data, ntrain,
         clnn_dataset_size(test));

  /* 1. the judge */
  int cx = 0;
  float cacc = 0;
  rng_state = seed;
  clnn_model *cls = train_judge(ctx, train, test, seed, &cx, &cacc);
  printf("judge: CNN classifier, %d epochs: test accuracy %.2f%% (needs >= 95%%) (%.1f s)\n",
         JUDGE_EPOCHS, 100.0 * cacc, now() - start);
  if (cacc < 0.95f) {
    printf("FAILED: the judge is not accurate enough to judge the samples\n");
    return 1;
  }

  /* 2. the GAN: G and D */
  clnn_graph *g = NULL;
  int gz, gh, gout, dx, dt, dh, dlogit, dloss;
  size_t zdims[1] = {ZDIM}, xdims[1] = {64}, tdims[1] = {1};
  CHECK(clnn_graph_create(&g));
  CHECK(clnn_graph_input(g, "z", CLNN_FLOAT32, 1, zdims, &gz));
  CHECK(clnn_graph_dense(g, "g1", gz, 128, 1, &gh));
  CHECK(clnn_graph_batchnorm(g, "g1.bn", gh, 0, 0, &gh));
  CHECK(clnn_graph_activation(g, NULL, gh, CLNN_ACT_RELU, 0, &gh));
  CHECK(clnn_graph_dense(g, "g2", gh, 256, 1, &gh));
  CHECK(clnn_graph_batchnorm(g, "g2.bn", gh, 0, 0, &gh));
  CHECK(clnn_graph_activation(g, NULL, gh, CLNN_ACT_RELU, 0, &gh));
  CHECK(clnn_graph_dense(g, "g3", gh, 64, 1, &gh));
  CHECK(clnn_graph_activation(g, "pixels", gh, CLNN_ACT_SIGMOID, 0, &gout));
  clnn_model *G = model_of(ctx, g, gout, seed + 1, 0);

  CHECK(clnn_graph_create(&g));
  CHECK(clnn_graph_input(g, "x", CLNN_FLOAT32, 1, xdims, &dx));
  CHECK(clnn_graph_input(g, "target", CLNN_FLOAT32, 1, tdims, &dt));
  CHECK(clnn_graph_dense(g, "d1", dx, 256, 1, &dh));
  CHECK(clnn_graph_activation(g, NULL, dh, CLNN_ACT_LEAKY_RELU, 0.2f, &dh));
  CHECK(clnn_graph_dense(g, "d2", dh, 128, 1, &dh));
  CHECK(clnn_graph_activation(g, NULL, dh, CLNN_ACT_LEAKY_RELU, 0.2f, &dh));
  CHECK(clnn_graph_dense(g, "d3", dh, 1, 1, &dlogit));
  CHECK(clnn_graph_loss(g, "bce", CLNN_LOSS_BCE_WITH_LOGITS, dlogit, dt, 1.0f, &dloss));
  clnn_model *D = model_of(ctx, g, dlogit, seed + 2, 0);
  CHECK(clnn_model_input_grad(D, dx, 1));

  clnn_optimizer_config oc;
  clnn_optimizer_config_init(&oc, CLNN_OPTIM_ADAM, 1e-3f);
  oc.beta1 = 0.5f;
  oc.beta2 = 0.999f;
  CHECK(clnn_model_set_optimizer(G, &oc));
  CHECK(clnn_model_set_optimizer(D, &oc));
  printf("GAN: G %zu and D %zu trained scalars; %d steps of batch %zu, Adam lr 1e-3 betas "
         "(0.5, 0.999), seed %llu\n", clnn_model_num_trainable(G), clnn_model_num_trainable(D),
         steps, batch, seed);

  rng_state = seed * 0x2545F4914F6CDD1DULL;
  float *z = malloc(batch * ZDIM * sizeof(float)), *real = malloc(batch * 64 * sizeof(float));
  float *ones = malloc(batch * sizeof(float)), *zeros = calloc(batch, sizeof(float));
  float *smooth = malloc(batch * sizeof(float));
  float *zs = malloc(NSAMPLES * ZDIM * sizeof(float)), *samples = malloc(NSAMPLES * 64 * 4);
  if (!z || !real || !ones || !zeros || !smooth || !zs || !samples) return 1;
  for (size_t i = 0; i < batch; i++) ones[i] = 1.0f, smooth[i] = 0.9f;
  fill_normal(zs, NSAMPLES * ZDIM); /* the fixed noise of the verdict */
  clnn_feed zfeed_all = {gz, zs, NSAMPLES * ZDIM, NULL};

  size_t pos = ntrain; /* position in the shuffled training set */
  uint64_t epoch = 0;
  double ld_real = 0, ld_fake = 0, lg = 0, t_gan = now();
  int counts[10], confident = 0, classes = 0;
  for (int step = 1; step <= steps; step++) {
    if (pos + batch > ntrain) {
      CHECK(clnn_dataset_shuffle(train, seed * 1000003ULL + ++epoch));
      pos = 0;
    }
    CHECK(clnn_dataset_batch(train, pos, batch, real, batch * 64, NULL, 0));
    pos += batch;
    fill_normal(z, batch * ZDIM);

    /* G forward; its images stay on the device */
    clnn_feed fz = {gz, z, batch * ZDIM, NULL};
    CHECK(clnn_model_forward(G, &fz, 1, batch, NULL));
    clnn_tensor *fake = NULL;
    CHECK(clnn_model_value(G, gout, &fake));

    /* D: real -> 0.9, fake -> 0 */
    float l1 = 0, l2 = 0, l3 = 0;
    clnn_feed fr[2] = {{dx, real, batch * 64, NULL}, {dt, smooth, batch, NULL}};
    CHECK(clnn_model_train_step(D, fr, 2, batch, &l1));
    clnn_feed ff[2] = {{dx, NULL, 0, fake}, {dt, zeros, batch, NULL}};
    CHECK(clnn_model_train_step(D, ff, 2, batch, &l2));

    /* G: D forward on the fake batch with target 1; d loss / d image seeds G's backward */
    clnn_feed fg[2] = {{dx, NULL, 0, fake}, {dt, ones, batch, NULL}};
    CHECK(clnn_model_forward(D, fg, 2, batch, &l3));
    CHECK(clnn_model_backward(D, NULL, 0));
    clnn_tensor *dimg = NULL;
    CHECK(clnn_model_grad(D, dx, &dimg));
    clnn_feed seed_feed = {gout, NULL, 0, dimg};
    CHECK(clnn_model_backward(G, &seed_feed, 1));
    CHECK(clnn_model_optimizer_step(G));

    ld_real += l1;
    ld_fake += l2;
    lg += l3;
    if (step % 500 == 0 || step == steps) {
      int k = step % 500 == 0 ? 500 : step % 500;
      CHECK(clnn_model_predict(G, &zfeed_all, 1, NSAMPLES, -1, samples, NSAMPLES * 64));
      confident = judge(cls, cx, samples, NSAMPLES, counts);
      classes = 0;
      for (int c = 0; c < 10; c++) classes += counts[c] > 0;
      printf("step %5d  D loss real %.3f fake %.3f  G loss %.3f  confident %5.1f%%  classes %d "
             "[", step, ld_real / k, ld_fake / k, lg / k, 100.0 * confident / NSAMPLES, classes);
      for (int c = 0; c < 10; c++) printf("%s%d", c ? " " : "", counts[c]);
      printf("]  (%.1f s)\n", now() - start);
      fflush(stdout);
      ld_real = ld_fake = lg = 0;
    }
  }
  double gan_time = now() - t_gan;
  printf("samples (the first 10 of the verdict's 1,000):\n");
  print_row_of_samples(samples, 5);
  printf("\n");
  print_row_of_samples(samples + 5 * 64, 5);
  int ok = confident >= NSAMPLES * 7 / 10 && classes >= 8;
  printf("final: %.1f%% of %d samples confidently classified (needs >= 70%%), %d of 10 classes "
         "(needs >= 8): %s; GAN %.1f s, total %.1f s\n", 100.0 * confident / NSAMPLES, NSAMPLES,
         classes, ok ? "meets the target" : "BELOW the target", gan_time, now() - start);
  free(z), free(real), free(ones), free(zeros), free(smooth), free(zs), free(samples);
  clnn_model_destroy(G);
  clnn_model_destroy(D);
  clnn_model_destroy(cls);
  clnn_dataset_destroy(train);
  clnn_dataset_destroy(test);
  clnn_context_destroy(ctx);
  return ok ? 0 : 1;
}
