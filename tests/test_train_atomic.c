/* tests/test_train_atomic.c — a training call that fails changes nothing.
 * clnn_net_train_epoch checks every label (and the output's shape) before its first step, so a
 * bad label in the last batch leaves parameters and step count alone; a last batch of 1 into a
 * batch-norm layer that would see one value per channel is merged into the batch before it (the
 * epoch succeeds); a train step of 1 sample into such a layer is refused before anything runs; a
 * step that fails after its forward pass (an optimizer that refuses its hyper-parameters) puts the
 * batch-norm running statistics back; a step count at its limit is refused up front. */
#include "internal.h"
#include "nn/nn_internal.h"
#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static clnn_context *ctx;

/* [6] -> dense 8 -> batch norm ([C]: one value per channel per sample) -> relu -> dense 3 */
static clnn_net *bn_net(void) {
  size_t in = 6;
  clnn_net *net = NULL;
  TU_OK(clnn_net_create(ctx, 1, &in, 7, &net));
  TU_OK(clnn_net_add_dense(net, 8));
  TU_OK(clnn_net_add_batchnorm(net, 0, 0));
  TU_OK(clnn_net_add_activation(net, CLNN_ACT_RELU, 0));
  TU_OK(clnn_net_add_dense(net, 3));
  return net;
}

/* Every parameter and state tensor, concatenated (caller frees). */
static float *snapshot(clnn_net *net, size_t *count) {
  size_t total = 0;
  for (size_t i = 0; i < clnn_net_num_params(net); i++) {
    clnn_tensor *v;
    clnn_net_param(net, clnn_net_param_name(net, i), &v, NULL);
    total += clnn_tensor_numel(v);
  }
  float *all = malloc(total * sizeof *all);
  size_t at = 0;
  for (size_t i = 0; i < clnn_net_num_params(net); i++) {
    clnn_tensor *v;
    clnn_net_param(net, clnn_net_param_name(net, i), &v, NULL);
    clnn_tensor_read(v, all + at, clnn_tensor_numel(v));
    at += clnn_tensor_numel(v);
  }
  *count = total;
  return all;
}

static void unchanged(clnn_net *net, const float *before, size_t n, uint64_t step, const char *what) {
  size_t m = 0;
  float *now = snapshot(net, &m);
  TU_CHECK(m == n && memcmp(now, before, n * sizeof(float)) == 0, "%s: parameters and running "
           "statistics unchanged", what);
  TU_CHECK(clnn_net_step_count(net) == step, "%s: step count %llu, expected %llu", what,
           (unsigned long long)clnn_net_step_count(net), (unsigned long long)step);
  free(now);
}

static clnn_dataset *dataset(size_t n, int bad_last) {
  size_t dims = 6;
  float *x = malloc(n * 6 * sizeof *x);
  int32_t *y = malloc(n * sizeof *y);
  tu_fill_uniform(x, n * 6, -1, 1);
  for (size_t i = 0; i < n; i++) y[i] = (int32_t)(i % 3);
  if (bad_last) y[n - 1] = 3; /* not a class of the 3 outputs */
  clnn_dataset *ds = NULL;
  TU_OK(clnn_dataset_create(n, 1, &dims, x, n * 6, y, n, &ds));
  free(x);
  free(y);
  return ds;
}

int main(void) {
  ctx = tu_context();
  tu_seed(20);
  clnn_net *net = bn_net();
  float x[8 * 6];
  int32_t y[8] = {0, 1, 2, 0, 1, 2, 0, 1};
  tu_fill_uniform(x, 8 * 6, -1, 1);
  TU_OK(clnn_net_train_step(net, x, 8 * 6, 8, y, 8, NULL, 0, NULL)); /* a first step: state is not all zero */
  size_t n = 0;
  float *before = snapshot(net, &n);

  /* a bad label in the very last batch: refused before the first step */
  clnn_dataset *bad = dataset(21, 1);
  TU_STATUS(clnn_net_train_epoch(net, bad, 4, NULL), CLNN_ERROR_INVALID_ARGUMENT);
  TU_CHECK(strstr(clnn_last_error(), "nothing was trained") != NULL, "message: %s", clnn_last_error());
  unchanged(net, before, n, 1, "bad label in the last batch");
  clnn_dataset_destroy(bad);

  /* one sample into batch norm over [C]: refused up front */
  TU_STATUS(clnn_net_train_step(net, x, 6, 1, y, 1, NULL, 0, NULL), CLNN_ERROR_SHAPE_MISMATCH);
  unchanged(net, before, n, 1, "train step of 1 into batch norm");

  /* a failure after the forward pass (the optimizer refuses a NaN learning rate, set behind the
   * API's back): the running statistics the forward updated are put back */
  float lr = net->opt.lr;
  net->opt.lr = NAN;
  clnn_status s = clnn_net_train_step(net, x, 8 * 6, 8, y, 8, NULL, 0, NULL);
  TU_CHECK(s != CLNN_SUCCESS, "a NaN learning rate fails the step");
  net->opt.lr = lr;
  unchanged(net, before, n, 1, "step failing in the optimizer");

  /* a step count at its limit: refused before anything runs */
  uint64_t saved = net->step;
  net->step = UINT64_MAX;
  TU_STATUS(clnn_net_train_step(net, x, 8 * 6, 8, y, 8, NULL, 0, NULL), CLNN_ERROR_INVALID_ARGUMENT);
  net->step = saved;
  unchanged(net, before, n, 1, "step count at its limit");

  /* an epoch whose last batch would be 1 sample: merged into the batch before (21 = 5 * 4 + 1) */
  clnn_dataset *ds = dataset(21, 0);
  float loss = -1;
  TU_OK(clnn_net_train_epoch(net, ds, 4, &loss));
  TU_CHECK(clnn_net_step_count(net) == 1 + 5, "5 steps: the last batch of 1 joined the one before "
           "(step count %llu)", (unsigned long long)clnn_net_step_count(net));
  TU_CHECK(loss > 0 && loss < 10, "epoch loss %g", loss);
  clnn_dataset_destroy(ds);
  /* a dataset of one sample cannot train a batch-norm layer at all: refused */
  clnn_dataset *one = dataset(1, 0);
  free(before);
  before = snapshot(net, &n);
  TU_STATUS(clnn_net_train_epoch(net, one, 4, NULL), CLNN_ERROR_SHAPE_MISMATCH);
  unchanged(net, before, n, 6, "epoch of one sample into batch norm");
  clnn_dataset_destroy(one);

  free(before);
  clnn_net_destroy(net);
  clnn_context_destroy(ctx);
  return tu_finish("test_train_atomic");
}
