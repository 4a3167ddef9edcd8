/* tests/test_determinism.c — the same training run twice gives bit-identical parameters: the
 * digits CNN of the demo (two 3x3x32 convolutions with ReLU, max pooling, dropout, dense 128,
 * dense 10; Adam) trained for 12 steps of batch 32 from the same seed on the same device, once in
 * this context and once more in a second, separately created context (programs rebuilt or loaded
 * from the cache), ends with every parameter and every optimizer moment equal bit for bit, and
 * with bit-identical batch losses. A different seed gives different parameters (the comparison can
 * fail). Dropout is active, so its counter-based masks are covered too. */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

#define STEPS 12
#define BATCH 32


typedef struct run {
  float loss[STEPS];
  unsigned char *state; /* the checkpoint with optimizer state: every parameter and moment */
  size_t state_size;
} run;

static run train(clnn_context *ctx, clnn_dataset *ds, uint64_t seed) {
  run r;
  memset(&r, 0, sizeof r);
  clnn_net *net = tu_digits_cnn(ctx, seed);
  size_t numel = clnn_dataset_sample_numel(ds);
  float *x = malloc(BATCH * numel * sizeof(float));
  int32_t labels[BATCH];
  TU_OK(clnn_dataset_shuffle(ds, 99));
  for (int s = 0; s < STEPS; s++) {
    TU_OK(clnn_dataset_batch(ds, (size_t)s * BATCH, BATCH, x, BATCH * numel, labels, BATCH));
    TU_OK(clnn_net_train_step(net, x, BATCH * numel, BATCH, labels, BATCH, NULL, 0, &r.loss[s]));
  }
  const char *tree = getenv("CLNN_BINARY_TREE");
  char p[1200];
  snprintf(p, sizeof p, "%s/test_determinism.safetensors", tree ? tree : ".");
  TU_OK(clnn_net_save(net, p, CLNN_SAVE_OPTIMIZER));
  r.state = tu_read_file(p, &r.state_size);
  TU_CHECK(r.state != NULL && r.state_size > 100000, "checkpoint of the run");
  remove(p);
  free(x);
  clnn_net_destroy(net);
  return r;
}

int main(void) {
  clnn_context *ctx = tu_context();
  const char *src = getenv("CLNN_SOURCE_DIR");
  char a[1200], b[1200];
  snprintf(a, sizeof a, "%s/data/digits/train-images-idx3-ubyte", src ? src : "..");
  snprintf(b, sizeof b, "%s/data/digits/train-labels-idx1-ubyte", src ? src : "..");
  clnn_dataset *ds = NULL;
  TU_OK(clnn_dataset_load_idx(a, b, &ds));
  if (!ds) return tu_finish("test_determinism");

  run r1 = train(ctx, ds, 1), r2 = train(ctx, ds, 1);
  clnn_context *ctx2 = NULL;
  clnn_context_options o;
  clnn_context_options_init(&o);
  TU_OK(clnn_context_create(&o, &ctx2));
  run r3 = train(ctx2, ds, 1);
  run r4 = train(ctx, ds, 2);

  TU_CHECK(r1.state_size == r2.state_size && !memcmp(r1.state, r2.state, r1.state_size),
           "same seed, same context: parameters and optimizer state bit-identical");
  TU_CHECK(r1.state_size == r3.state_size && !memcmp(r1.state, r3.state, r1.state_size),
           "same seed, second context: parameters and optimizer state bit-identical");
  TU_CHECK(!memcmp(r1.loss, r2.loss, sizeof r1.loss) && !memcmp(r1.loss, r3.loss, sizeof r1.loss),
           "batch losses bit-identical");
  TU_CHECK(r1.state_size == r4.state_size && memcmp(r1.state, r4.state, r1.state_size) != 0,
           "another seed gives other parameters");
  TU_CHECK(r1.loss[STEPS - 1] < r1.loss[0], "the loss falls (%g -> %g)", r1.loss[0], r1.loss[STEPS - 1]);
  printf("%d steps of batch %d, %zu-byte checkpoints: runs 1, 2 (same context) and 3 (new context) %s; "
         "final loss %.9g\n",
         STEPS, BATCH, r1.state_size,
         (!memcmp(r1.state, r2.state, r1.state_size) && !memcmp(r1.state, r3.state, r1.state_size)) ? "identical"
                                                                                                     : "DIFFER",
         r1.loss[STEPS - 1]);
  free(r1.state);
  free(r2.state);
  free(r3.state);
  free(r4.state);
  clnn_dataset_destroy(ds);
  clnn_context_destroy(ctx2);
  clnn_context_destroy(ctx);
  return tu_finish("test_determinism");
}
