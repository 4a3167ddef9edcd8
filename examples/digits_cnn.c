/* examples/digits_cnn.c — clnn's demo: trains a small CNN on the handwritten-digits data shipped in
 * data/digits (8x8 images, 1,437 for training, 360 for testing), prints the device and, per epoch,
 * the loss, accuracies and images/s, saves a safetensors checkpoint, and with --eval evaluates a
 * saved checkpoint.
 *
 *   digits_cnn [--data DIR] [--epochs N] [--batch N] [--lr X] [--seed N] [--checkpoint FILE]
 *              [--device SEL | --devices LIST] [--mpi] [--augment] [--time-first-step]
 *   digits_cnn [--data DIR] --eval FILE
 *
 * Several devices: --devices all (or a list such as 0:0,0:1; default $CLNN_DEVICES when set)
 * trains data-parallel on every device of the list. Several processes: under mpirun (detected
 * from the launcher's environment, or forced with --mpi) each rank trains on its share of every
 * batch, e.g. `mpirun -np 2 digits_cnn`; rank 0 prints, evaluates and saves.
 *
 * --augment trains on augmented batches (clnn_dataset_set_augmentation, seeded from --seed):
 * shifts of up to 1 pixel, rotations of up to 10 degrees and Gaussian noise of 0.05; no flips
 * (a mirrored digit is another symbol). Evaluation always sees the images as they are.
 *
 * --time-first-step prints when the first training step of the process completed (seconds since
 * main started; on a cold start most of it is kernel compilation): bench/cold_start.sh reads it.
 *
 * Network: conv 3x3x32 (pad 1) - ReLU - conv 3x3x32 (pad 1) - ReLU - max pool 2x2 - dropout 0.25 -
 * flatten - dense 128 - ReLU - dense 10; softmax cross-entropy; Adam. */
#define EXAMPLE_NAME "digits_cnn"
#include "example_util.h"

static void usage(void) {
  fprintf(stderr,
          "usage: digits_cnn [--data DIR] [--epochs N] [--batch N] [--lr X] [--seed N]\n"
          "                  [--checkpoint FILE] [--device SEL | --devices LIST] [--mpi]\n"
          "                  [--augment] [--time-first-step]\n"
          "       digits_cnn [--data DIR] --eval FILE\n"
          "Trains a CNN on the handwritten digits in DIR (IDX files; default data/digits),\n"
          "saves FILE (default digits_cnn.safetensors); --eval evaluates a saved FILE.\n"
          "--devices all|LIST trains on several devices; under mpirun (or with --mpi) every\n"
          "rank trains on its share of each batch.\n"
          "--augment trains on randomly shifted, rotated and noisy copies of each batch.\n"
          "--time-first-step prints the time from start to the first completed training step.\n");
}

/* Started by an MPI launcher (Open MPI, MPICH/Hydra, PMIx, Slurm's PMI)? */
static int under_mpi_launcher(void) {
  const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"};
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
    if (getenv(vars[i])) return 1;
  return 0;
}

/* The network; the same function builds it for training and for --eval. With a device set it
 * trains data-parallel on every device of the set; with `mpi` across the MPI ranks too. */
static clnn_status build(clnn_context *ctx, clnn_device_set *set, int mpi, uint64_t seed, float lr,
                         clnn_net **out) {
  size_t in[3] = {1, 8, 8};
  clnn_net *net = NULL;
  clnn_status s = set ? clnn_net_create_parallel(set, 3, in, seed, &net)
                      : clnn_net_create(ctx, 3, in, seed, &net);
  if (s == CLNN_SUCCESS) s = clnn_net_add_conv2d(net, 32, 3, 1, 1);
  if (s == CLNN_SUCCESS) s = clnn_net_add_activation(net, CLNN_ACT_RELU, 0);
  if (s == CLNN_SUCCESS) s = clnn_net_add_conv2d(net, 32, 3, 1, 1);
  if (s == CLNN_SUCCESS) s = clnn_net_add_activation(net, CLNN_ACT_RELU, 0);
  if (s == CLNN_SUCCESS) s = clnn_net_add_maxpool2d(net, 2, 2, 0);
  if (s == CLNN_SUCCESS) s = clnn_net_add_dropout(net, 0.25f);
  if (s == CLNN_SUCCESS) s = clnn_net_add_flatten(net);
  if (s == CLNN_SUCCESS) s = clnn_net_add_dense(net, 128);
  if (s == CLNN_SUCCESS) s = clnn_net_add_activation(net, CLNN_ACT_RELU, 0);
  if (s == CLNN_SUCCESS) s = clnn_net_add_dense(net, 10);
  if (s == CLNN_SUCCESS) s = clnn_net_set_loss(net, CLNN_LOSS_SOFTMAX_CROSS_ENTROPY);
  clnn_optimizer_config opt;
  clnn_optimizer_config_init(&opt, CLNN_OPTIM_ADAM, lr);
  if (s == CLNN_SUCCESS) s = clnn_net_set_optimizer(net, &opt);
  if (s == CLNN_SUCCESS && mpi) s = clnn_net_set_mpi(net, NULL); /* MPI_COMM_WORLD */
  if (s != CLNN_SUCCESS) {
    clnn_net_destroy(net);
    return s;
  }
  *out = net;
  return CLNN_SUCCESS;
}

int main(int argc, char **argv) {
  const double t_main = now();
  char data[1024];
  default_data_dir(data, sizeof data);
  int epochs = 30;
  size_t batch = 32;
  float lr = 1e-3f;
  unsigned long long seed = 1;
  const char *ckpt = "digits_cnn.safetensors", *eval = NULL, *device = NULL, *devices = NULL;
  int mpi = under_mpi_launcher(), augment = 0, time_first_step = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage();
      return 0;
    }
    if (strcmp(a, "--mpi") == 0) {
      mpi = 1;
      continue;
    }
    if (strcmp(a, "--augment") == 0) {
      augment = 1;
      continue;
    }
    if (strcmp(a, "--time-first-step") == 0) {
      time_first_step = 1;
      continue;
    }
    if (!v) {
      fprintf(stderr, "digits_cnn: %s needs a value (or is unknown)\n", a);
      usage();
      return 2;
    }
    if (strcmp(a, "--data") == 0) snprintf(data, sizeof data, "%s", v);
    else if (strcmp(a, "--epochs") == 0) epochs = atoi(v);
    else if (strcmp(a, "--batch") == 0) batch = (size_t)strtoul(v, NULL, 10);
    else if (strcmp(a, "--lr") == 0) lr = strtof(v, NULL);
    else if (strcmp(a, "--seed") == 0) seed = strtoull(v, NULL, 10);
    else if (strcmp(a, "--checkpoint") == 0) ckpt = v;
    else if (strcmp(a, "--eval") == 0) eval = v;
    else if (strcmp(a, "--device") == 0) device = v;
    else if (strcmp(a, "--devices") == 0) devices = v;
    else {
      fprintf(stderr, "digits_cnn: unknown option %s\n", a);
      usage();
      return 2;
    }
    i++;
  }
  if (epochs < 1 || batch < 1 || !(lr > 0)) {
    fprintf(stderr, "digits_cnn: --epochs, --batch and --lr must be positive\n");
    return 2;
  }
  if (device && devices) {
    fprintf(stderr, "digits_cnn: give --device or --devices, not both\n");
    return 2;
  }
  if (!device && !devices && !eval) {
    const char *env = getenv("CLNN_DEVICES");
    if (env && *env) devices = env;
  }
  if (eval) mpi = 0; /* evaluation runs in each process on its own */
  int rank = 0, ranks = 1;
  if (mpi) {
    if (!clnn_mpi_available()) {
      fprintf(stderr, "digits_cnn: started under MPI (or --mpi), but this clnn was built without "
                      "MPI (configure with -DCLNN_WITH_MPI=ON)\n");
      return 2;
    }
    CHECK(clnn_mpi_init(&argc, &argv, &rank, &ranks));
  }
  if (rank != 0) { /* rank 0 reports; the others train silently */
    if (!freopen("/dev/null", "w", stdout)) return 1;
  }

  clnn_context *ctx = NULL;
  clnn_device_set *set = NULL;
  if (devices) {
    CHECK(clnn_device_set_create(devices, NULL, &set));
    ctx = clnn_device_set_context(set, 0);
  } else {
    clnn_context_options co;
    clnn_context_options_init(&co);
    co.device = device;
    CHECK(clnn_context_create(&co, &ctx));
  }
  int ndev = set ? clnn_device_set_size(set) : 1;
  for (int d = 0; d < ndev; d++) {
    clnn_device_info info;
    clnn_device_info_init(&info);
    CHECK(clnn_context_device_info(set ? clnn_device_set_context(set, d) : ctx, &info));
    char which[16] = "";
    if (ndev > 1) snprintf(which, sizeof which, " %d", d);
    printf("device%s: %s (%s, %u compute units)\n", which, info.name, info.platform_name,
           info.compute_units);
  }
  if (mpi) printf("MPI: %d ranks, each on %d device(s) like these\n", ranks, ndev);

  clnn_dataset *train = NULL, *test = load_idx_split(data, "test");
  clnn_net *net = NULL;
  CHECK(build(ctx, set, mpi, seed, lr, &net));

  if (eval) {
    CHECK(clnn_net_load(net, eval));
    float loss, acc;
    double t0 = now();
    CHECK(clnn_net_evaluate(net, test, 360, &loss, &acc));
    double dt = now() - t0;
    printf("checkpoint %s: test loss %.4f, test accuracy %.2f%% (%zu images, %.0f images/s)\n",
           eval, loss, 100.0 * acc, clnn_dataset_size(test), (double)clnn_dataset_size(test) / dt);
    clnn_net_destroy(net);
    clnn_dataset_destroy(test);
    if (set) clnn_device_set_destroy(set);
    else clnn_context_destroy(ctx);
    return 0;
  }

  train = load_idx_split(data, "train");
  printf("data: %s: %zu training and %zu test images of 8x8\n", data, clnn_dataset_size(train),
         clnn_dataset_size(test));
  static char summary[4096];
  CHECK(clnn_net_summary(net, summary, sizeof summary));
  printf("%s", summary);
  printf("training: %d epochs, batch %zu, Adam lr %g, seed %llu", epochs, batch, (double)lr, seed);
  if (augment) {
    clnn_augment_options ao;
    clnn_augment_options_init(&ao);
    ao.max_shift = 1;
    ao.max_rotate_deg = 10.0f;
    ao.noise_std = 0.05f;
    ao.seed = seed;
    CHECK(clnn_dataset_set_augmentation(train, &ao));
    printf(", augmented (shift 1, rotation 10 deg, noise 0.05)");
  }
  if (clnn_net_num_devices(net) > 1)
    printf(", data-parallel on %d devices%s", clnn_net_num_devices(net), mpi ? " over MPI" : "");
  printf("\n");

  { /* Build every kernel once with a throwaway copy of the network (one training step and one
     * evaluation), so the epoch timings below measure training; the builds are cached on disk,
     * which makes later runs start at once. */
    double tc = now();
    clnn_net *warm = NULL;
    size_t wn = batch < clnn_dataset_size(train) ? batch : clnn_dataset_size(train);
    float *wx = malloc(wn * clnn_dataset_sample_numel(train) * sizeof(float));
    int32_t *wy = malloc(wn * sizeof(int32_t));
    if (!wx || !wy) return 1;
    CHECK(build(ctx, set, mpi, seed, lr, &warm));
    CHECK(clnn_dataset_batch(train, 0, wn, wx, wn * clnn_dataset_sample_numel(train), wy, wn));
    /* two steps: the first builds the kernels device after device, the second runs the devices
     * concurrently */
    CHECK(clnn_net_train_step(warm, wx, wn * clnn_dataset_sample_numel(train), wn, wy, wn, NULL, 0,
                              NULL));
    if (time_first_step) {
      for (int d = 0; d < ndev; d++) CHECK(clnn_context_finish(set ? clnn_device_set_context(set, d) : ctx));
      printf("first training step completed %.3f s after start\n", now() - t_main);
      fflush(stdout);
    }
    CHECK(clnn_net_train_step(warm, wx, wn * clnn_dataset_sample_numel(train), wn, wy, wn, NULL, 0,
                              NULL));
    float wl, wa;
    if (rank == 0) CHECK(clnn_net_evaluate(warm, test, 360, &wl, &wa));
    clnn_net_destroy(warm);
    free(wx);
    free(wy);
    printf("kernels ready in %.1f s\n", now() - tc);
  }
  double start = now(), train_time = 0;
  float test_acc = 0;
  for (int e = 1; e <= epochs; e++) {
    CHECK(clnn_dataset_shuffle(train, seed * 1000003ULL + (unsigned long long)e));
    double t0 = now();
    float loss;
    CHECK(clnn_net_train_epoch(net, train, batch, &loss));
    double dt = now() - t0;
    train_time += dt;
    float train_acc = 0, test_loss = 0;
    if (rank == 0) { /* the other ranks hold the same parameters; they wait for the next step */
      CHECK(clnn_net_evaluate(net, train, 512, NULL, &train_acc));
      CHECK(clnn_net_evaluate(net, test, 360, &test_loss, &test_acc));
    }
    printf("epoch %2d  loss %.4f  train acc %6.2f%%  test loss %.4f  test acc %6.2f%%  "
           "%6.0f images/s  (%.1f s)\n",
           e, loss, 100.0 * train_acc, test_loss, 100.0 * test_acc,
           (double)clnn_dataset_size(train) / dt, now() - start);
    fflush(stdout);
  }
  printf("final test accuracy %.2f%% (%s the 94%% target) after %.1f s (%.1f s training, %.0f "
         "images/s)\n", 100.0 * test_acc, test_acc >= 0.94f ? "meets" : "BELOW", now() - start,
         train_time, (double)epochs * (double)clnn_dataset_size(train) / train_time);
  if (rank == 0) {
    CHECK(clnn_net_save(net, ckpt, CLNN_SAVE_OPTIMIZER));
    printf("saved %s; evaluate it with: digits_cnn --eval %s\n", ckpt, ckpt);
  }
  clnn_net_destroy(net);
  clnn_dataset_destroy(train);
  clnn_dataset_destroy(test);
  if (set) clnn_device_set_destroy(set);
  else clnn_context_destroy(ctx);
  if (mpi) CHECK(clnn_mpi_finalize());
  return 0;
}
