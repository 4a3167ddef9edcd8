/* tests/test_multi_device.c — several devices at once: device sets (lists, "all", CLNN_DEVICES,
 * wrapped contexts, every error path) and data-parallel training of networks across them. On a
 * machine with one CPU it asks PoCL for two devices (POCL_DEVICES="pthread pthread", unless the
 * variable is set) and uses every device (or $CLNN_DEVICES); fewer than 2 devices is a failure.
 *
 * Checked: a one-device set gives the same bits as a plain network; 2 devices (equal split and a
 * forced 3:1 split, uneven and tiny batches) give the parameters of one device to the stated
 * tolerance after 20 steps of SGD with momentum and of Adam, with dropout, and every replica holds
 * the same bits; gradients from clnn_net_compute_gradients; clnn_net_train_epoch; batch norm
 * (replicas identical, running mean as one device's); measured splits (a device slowed down by a
 * test hook gets a smaller share); a fault injected into one device's backward, read-back or
 * update stops the step with an error naming the device and leaves every parameter, statistic and
 * the step count as before, after which training continues exactly as if nothing had happened;
 * checkpoints and parameter writes reach every replica; sub-devices (clCreateSubDevices); devices
 * that differ (a whole device and a sub-device) get a measured split and identical replicas. */
#define _POSIX_C_SOURCE 200809L
#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* internal test hooks (src/nn/net_parallel.c, exec_api.c): a network trains as its graph model,
 * whose replicas on the other devices are models */
clnn_status clnn__nn_par_inject_fault(clnn_net *net, int device, int phase, cl_int err);
clnn_status clnn__nn_par_set_delay(clnn_net *net, int device, double seconds);
clnn_model *clnn__nn_par_replica(clnn_net *net, int device);
uint64_t clnn__nn_par_image_copies(const clnn_net *net); /* images clnn__x_sync wrote */
enum { FAULT_BACKWARD = 1, FAULT_READBACK = 2, FAULT_APPLY = 3 };

/* The stated tolerance: 2 devices vs 1 after 20 steps, every parameter. */
#define PAR_RTOL 1e-4f
#define PAR_ATOL 1e-5f

static clnn_device_set *set;
static int ndev;

#define EXPECT_ERR(call, want, needle)                                                            \
  do {                                                                                           \
    clnn_status s_ = (call);                                                                     \
    TU_CHECK(s_ == (want), "%s: got %s, want %s (%s)", #call, clnn_status_string(s_),            \
             clnn_status_string(want), clnn_last_error());                                       \
    TU_CHECK(strstr(clnn_last_error(), (needle)) != NULL, "%s: message '%s' lacks '%s'", #call,  \
             clnn_last_error(), (needle));                                                       \
  } while (0)

/* ---- data and networks ---- */

enum { B = 32, C = 4, IN = 64 };
static float X[8][B * IN];
static int32_t Y[8][B];

static void make_data(void) {
  tu_seed(777);
  for (int b = 0; b < 8; b++) {
    for (int i = 0; i < B; i++) {
      int32_t label = (int32_t)(tu_uniform(0, 4));
      if (label > 3) label = 3;
      Y[b][i] = label;
      for (int j = 0; j < IN; j++) /* a class-dependent blob plus noise */
        X[b][i * IN + j] = tu_uniform(-0.5f, 0.5f) + ((j / 16) == label ? 1.0f : 0.0f);
    }
  }
}

/* conv 8 3x3 - ReLU - maxpool 2 - [dropout 0.25] - [batch norm] - flatten - dense 16 - ReLU -
 * dense 4; on `s` (parallel) or `ctx` (plain). */
static clnn_net *cnn(clnn_device_set *s, clnn_context *ctx, int dropout, int bn,
                     clnn_optimizer_type opt_type) {
  size_t in[3] = {1, 8, 8};
  clnn_net *net = NULL;
  if (s) TU_OK(clnn_net_create_parallel(s, 3, in, 99, &net));
  else TU_OK(clnn_net_create(ctx, 3, in, 99, &net));
  if (!net) exit(1);
  TU_OK(clnn_net_add_conv2d(net, 8, 3, 1, 1));
  TU_OK(clnn_net_add_activation(net, CLNN_ACT_RELU, 0));
  TU_OK(clnn_net_add_maxpool2d(net, 2, 2, 0));
  if (dropout) TU_OK(clnn_net_add_dropout(net, 0.25f));
  if (bn) TU_OK(clnn_net_add_batchnorm(net, 0.1f, 1e-5f));
  TU_OK(clnn_net_add_flatten(net));
  TU_OK(clnn_net_add_dense(net, 16));
  TU_OK(clnn_net_add_activation(net, CLNN_ACT_RELU, 0));
  TU_OK(clnn_net_add_dense(net, C));
  clnn_optimizer_config opt;
  clnn_optimizer_config_init(&opt, opt_type, opt_type == CLNN_OPTIM_SGD ? 0.05f : 2e-3f);
  if (opt_type == CLNN_OPTIM_SGD) opt.momentum = 0.9f;
  TU_OK(clnn_net_set_optimizer(net, &opt));
  return net;
}

/* Every parameter and state tensor of `net`, concatenated (malloc'd; *n receives the count). The
 * tensors are found once by name and read directly. */
static float *params_of(clnn_net *net, size_t *n) {
  size_t np = clnn_net_num_params(net), total = 0;
  clnn_tensor **ts = calloc(np, sizeof *ts);
  for (size_t i = 0; i < np; i++) {
    TU_OK(clnn_net_param(net, clnn_net_param_name(net, i), &ts[i], NULL));
    total += clnn_tensor_numel(ts[i]);
  }
  float *out = malloc(total * sizeof(float)), *p = out;
  for (size_t i = 0; i < np; i++) {
    TU_OK(clnn_tensor_read(ts[i], p, clnn_tensor_numel(ts[i])));
    p += clnn_tensor_numel(ts[i]);
  }
  free(ts);
  *n = total;
  return out;
}

/* The same for a replica (a model: the network's parameters, in the same order). */
static float *replica_params(clnn_model *m, size_t *n) {
  size_t np = clnn_model_num_params(m), total = 0;
  for (size_t i = 0; i < np; i++) {
    clnn_tensor *t = NULL;
    TU_OK(clnn_model_param(m, clnn_model_param_name(m, i), &t, NULL));
    total += clnn_tensor_numel(t);
  }
  float *out = malloc(total * sizeof(float)), *p = out;
  for (size_t i = 0; i < np; i++) {
    clnn_tensor *t = NULL;
    TU_OK(clnn_model_param(m, clnn_model_param_name(m, i), &t, NULL));
    TU_OK(clnn_tensor_read(t, p, clnn_tensor_numel(t)));
    p += clnn_tensor_numel(t);
  }
  *n = total;
  return out;
}

static float *replica_grads(clnn_model *m, size_t *n) {
  size_t np = clnn_model_num_params(m), total = 0;
  float *out = malloc(clnn_model_num_trainable(m) * sizeof(float) + 1), *p = out;
  for (size_t i = 0; i < np; i++) {
    clnn_tensor *g = NULL;
    TU_OK(clnn_model_param(m, clnn_model_param_name(m, i), NULL, &g));
    if (!g) continue;
    TU_OK(clnn_tensor_read(g, p, clnn_tensor_numel(g)));
    p += clnn_tensor_numel(g);
    total += clnn_tensor_numel(g);
  }
  *n = total;
  return out;
}

/* Gradients of the trainable parameters, concatenated. */
static float *grads_of(clnn_net *net, size_t *n) {
  size_t np = clnn_net_num_params(net), total = 0;
  float *out = malloc(clnn_net_num_trainable(net) * sizeof(float)), *p = out;
  for (size_t i = 0; i < np; i++) {
    clnn_tensor *g = NULL;
    TU_OK(clnn_net_param(net, clnn_net_param_name(net, i), NULL, &g));
    if (!g) continue;
    TU_OK(clnn_tensor_read(g, p, clnn_tensor_numel(g)));
    p += clnn_tensor_numel(g);
    total += clnn_tensor_numel(g);
  }
  *n = total;
  return out;
}

/* Max |a-b| and the check against the stated tolerance. */
static int close_to(const float *got, const float *want, size_t n, float rtol, float atol,
                    const char *what) {
  double worst_abs = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)got[i] - want[i]);
    if (d > worst_abs) worst_abs = d;
  }
  printf("  %s: max |difference| %.3g over %zu values\n", what, worst_abs, n);
  return tu_allclose(got, want, n, rtol, atol, what);
}

/* Every replica of a parallel network holds the bits of the first. */
static void replicas_identical(clnn_net *net, const char *what) {
  size_t n0, nk;
  float *p0 = params_of(net, &n0);
  for (int k = 1; k < ndev; k++) {
    clnn_model *r = clnn__nn_par_replica(net, k);
    TU_CHECK(r != NULL, "%s: replica %d exists", what, k);
    if (!r) continue;
    float *pk = replica_params(r, &nk);
    TU_CHECK(nk == n0 && memcmp(p0, pk, n0 * sizeof(float)) == 0,
             "%s: replica %d holds the same bits as replica 0", what, k);
    free(pk);
  }
  free(p0);
}

/* ---- device sets ---- */

static void test_device_sets(void) {
  clnn_context *c0 = clnn_device_set_context(set, 0);
  TU_CHECK(c0 != NULL && clnn_device_set_context(set, ndev) == NULL &&
               clnn_device_set_context(set, -1) == NULL && clnn_device_set_context(NULL, 0) == NULL,
           "device set context accessor");
  TU_CHECK(clnn_device_set_size(NULL) == 0, "size of NULL");
  char list[512] = "";
  size_t off = 0;
  for (int i = 0; i < ndev; i++) {
    clnn_device_info info;
    clnn_device_info_init(&info);
    TU_OK(clnn_context_device_info(clnn_device_set_context(set, i), &info));
    printf("set device %d: %d:%d %s\n", i, info.platform_index, info.device_index, info.name);
    off += (size_t)snprintf(list + off, sizeof list - off, "%s%d:%d", i ? "," : "",
                            info.platform_index, info.device_index);
    for (int j = 0; j < i; j++)
      TU_CHECK(clnn_device_set_context(set, j) != clnn_device_set_context(set, i),
               "distinct contexts");
  }
  /* the same devices as an explicit list, in reverse order, and through CLNN_DEVICES */
  clnn_device_set *s2 = NULL;
  TU_OK(clnn_device_set_create(list, NULL, &s2));
  TU_CHECK(clnn_device_set_size(s2) == ndev, "explicit list gives %d devices", ndev);
  TU_OK(clnn_device_set_finish(s2));
  clnn_device_set_destroy(s2);
  char first[32];
  snprintf(first, sizeof first, "%.*s", (int)strcspn(list, ","), list);
  setenv("CLNN_DEVICES", first, 1);
  s2 = NULL;
  TU_OK(clnn_device_set_create(NULL, NULL, &s2));
  TU_CHECK(clnn_device_set_size(s2) == 1, "CLNN_DEVICES=%s gives one device", first);
  clnn_device_set_destroy(s2);
  unsetenv("CLNN_DEVICES");
  /* a type listed twice takes two different devices when there are two */
  clnn_device_info i0, i1;
  clnn_device_info_init(&i0);
  clnn_device_info_init(&i1);
  clnn_context_device_info(clnn_device_set_context(set, 0), &i0);
  clnn_context_device_info(clnn_device_set_context(set, 1), &i1);
  if (i0.type == CLNN_DEVICE_CPU && i1.type == CLNN_DEVICE_CPU) {
    s2 = NULL;
    TU_OK(clnn_device_set_create(" cpu , cpu ", NULL, &s2));
    TU_CHECK(clnn_device_set_size(s2) == 2, "\"cpu,cpu\" gives two devices");
    if (clnn_device_set_size(s2) == 2) {
      clnn_device_info a, b;
      clnn_device_info_init(&a);
      clnn_device_info_init(&b);
      clnn_context_device_info(clnn_device_set_context(s2, 0), &a);
      clnn_context_device_info(clnn_device_set_context(s2, 1), &b);
      TU_CHECK(a.platform_index != b.platform_index || a.device_index != b.device_index,
               "\"cpu,cpu\" takes two different devices");
    }
    clnn_device_set_destroy(s2);
  }
  /* errors */
  clnn_device_set *bad = (clnn_device_set *)1;
  char dup[80];
  snprintf(dup, sizeof dup, "%s,%s", first, first);
  EXPECT_ERR(clnn_device_set_create(dup, NULL, &bad), CLNN_ERROR_DEVICE_NOT_FOUND, "already took");
  TU_CHECK(bad == NULL, "*out is NULL after a failure");
  EXPECT_ERR(clnn_device_set_create("no-such-device-xyz", NULL, &bad), CLNN_ERROR_DEVICE_NOT_FOUND,
             "the devices are");
  EXPECT_ERR(clnn_device_set_create("0:0,,0:1", NULL, &bad), CLNN_ERROR_INVALID_ARGUMENT, "empty");
  EXPECT_ERR(clnn_device_set_create("all", NULL, NULL), CLNN_ERROR_INVALID_ARGUMENT, "out");
  char many[1024] = "";
  for (int i = 0, o = 0; i <= ndev; i++) o += snprintf(many + o, sizeof many - (size_t)o, "%scpu", i ? "," : "");
  EXPECT_ERR(clnn_device_set_create(many, NULL, &bad), CLNN_ERROR_DEVICE_NOT_FOUND,
             "matches no device");
  /* wrapping */
  clnn_context *cs[2] = {c0, clnn_device_set_context(set, 1)};
  clnn_device_set *w = NULL;
  TU_OK(clnn_device_set_wrap(cs, 2, &w));
  TU_CHECK(clnn_device_set_size(w) == 2 && clnn_device_set_context(w, 1) == cs[1], "wrapped set");
  clnn_device_set_destroy(w); /* does not destroy the contexts */
  TU_OK(clnn_context_finish(c0));
  clnn_context *same[2] = {c0, c0};
  EXPECT_ERR(clnn_device_set_wrap(same, 2, &w), CLNN_ERROR_INVALID_ARGUMENT, "same context");
  EXPECT_ERR(clnn_device_set_wrap(cs, 0, &w), CLNN_ERROR_INVALID_ARGUMENT, "count");
  EXPECT_ERR(clnn_device_set_wrap(NULL, 2, &w), CLNN_ERROR_INVALID_ARGUMENT, "contexts is NULL");
  clnn_context *withnull[2] = {c0, NULL};
  EXPECT_ERR(clnn_device_set_wrap(withnull, 2, &w), CLNN_ERROR_INVALID_ARGUMENT, "contexts[1]");
  EXPECT_ERR(clnn_device_set_finish(NULL), CLNN_ERROR_INVALID_ARGUMENT, "NULL");
  clnn_device_set_destroy(NULL);
}

/* ---- equivalence with one device ---- */

/* Trains `steps` steps of the same batches on a parallel network (split as given; NULL: equal)
 * and on a plain one on device 0, compares, and checks the replicas. */
static void compare_training(clnn_optimizer_type type, const double *weights, int steps,
                             const char *what) {
  clnn_net *par = cnn(set, NULL, 1, 0, type);
  clnn_net *one = cnn(NULL, clnn_device_set_context(set, 0), 1, 0, type);
  if (weights) TU_OK(clnn_net_set_split(par, CLNN_SPLIT_FIXED, weights, ndev));
  float lp = 0, l1 = 0;
  for (int s = 0; s < steps; s++) {
    TU_OK(clnn_net_train_step(par, X[s % 8], B * IN, B, Y[s % 8], B, NULL, 0, &lp));
    TU_OK(clnn_net_train_step(one, X[s % 8], B * IN, B, Y[s % 8], B, NULL, 0, &l1));
    if (s == 0 || s == steps - 1)
      TU_CHECK(fabsf(lp - l1) <= 1e-4f + 1e-4f * fabsf(l1), "%s: step %d loss %.7f vs %.7f", what,
               s, lp, l1);
  }
  printf("%s: loss %.5f (one device %.5f)\n", what, lp, l1);
  TU_CHECK(clnn_net_step_count(par) == (uint64_t)steps, "%s: step count", what);
  size_t n1, n2;
  float *a = params_of(par, &n1), *b = params_of(one, &n2);
  TU_CHECK(n1 == n2, "same parameter count");
  close_to(a, b, n1, PAR_RTOL, PAR_ATOL, what);
  free(a);
  free(b);
  replicas_identical(par, what);
  if (weights) {
    double sh[CLNN_MAX_SET_DEVICES];
    int measured = 1;
    TU_OK(clnn_net_get_split(par, sh, ndev, &measured));
    double tot = 0;
    for (int i = 0; i < ndev; i++) tot += weights[i];
    for (int i = 0; i < ndev; i++)
      TU_CHECK(fabs(sh[i] - weights[i] / tot) < 1e-12, "%s: share %d is %g", what, i, sh[i]);
    TU_CHECK(!measured, "fixed shares are not measured");
  }
  clnn_net_destroy(par);
  clnn_net_destroy(one);
}

static void test_equivalence(void) {
  /* a one-device set: the same bits as a plain network */
  clnn_device_set *s1 = NULL;
  clnn_context *c0 = clnn_device_set_context(set, 0);
  TU_OK(clnn_device_set_wrap(&c0, 1, &s1));
  clnn_net *p1 = cnn(s1, NULL, 1, 0, CLNN_OPTIM_ADAM), *one = cnn(NULL, c0, 1, 0, CLNN_OPTIM_ADAM);
  TU_CHECK(clnn_net_num_devices(p1) == 1 && clnn_net_num_devices(one) == 1, "num_devices 1");
  for (int s = 0; s < 5; s++) {
    TU_OK(clnn_net_train_step(p1, X[s], B * IN, B, Y[s], B, NULL, 0, NULL));
    TU_OK(clnn_net_train_step(one, X[s], B * IN, B, Y[s], B, NULL, 0, NULL));
  }
  size_t n1, n2;
  float *a = params_of(p1, &n1), *b = params_of(one, &n2);
  TU_CHECK(n1 == n2 && memcmp(a, b, n1 * sizeof(float)) == 0,
           "a one-device set gives the bits of a plain network");
  free(a);
  free(b);
  clnn_net_destroy(p1);
  clnn_net_destroy(one);
  clnn_device_set_destroy(s1);

  TU_CHECK(ndev >= 2, "at least two devices");
  compare_training(CLNN_OPTIM_SGD, NULL, 20, "sgd+momentum, equal split");
  compare_training(CLNN_OPTIM_ADAM, NULL, 20, "adam, equal split");
  double w[CLNN_MAX_SET_DEVICES];
  for (int i = 0; i < ndev; i++) w[i] = i == 0 ? 3.0 : 1.0;
  compare_training(CLNN_OPTIM_ADAM, w, 20, "adam, forced 3:1 split");
  compare_training(CLNN_OPTIM_SGD, w, 20, "sgd+momentum, forced 3:1 split");
}

/* Uneven and tiny batches: 7 samples split 3:1 (5 + 2), one sample (device 1 idle). */
static void test_small_batches(void) {
  clnn_net *par = cnn(set, NULL, 0, 0, CLNN_OPTIM_ADAM);
  clnn_net *one = cnn(NULL, clnn_device_set_context(set, 0), 0, 0, CLNN_OPTIM_ADAM);
  double w[CLNN_MAX_SET_DEVICES];
  for (int i = 0; i < ndev; i++) w[i] = i == 0 ? 3.0 : 1.0;
  TU_OK(clnn_net_set_split(par, CLNN_SPLIT_FIXED, w, ndev));
  size_t sizes[4] = {7, 1, 2, 31};
  for (int s = 0; s < 4; s++) {
    float lp, l1;
    TU_OK(clnn_net_train_step(par, X[s], sizes[s] * IN, sizes[s], Y[s], sizes[s], NULL, 0, &lp));
    TU_OK(clnn_net_train_step(one, X[s], sizes[s] * IN, sizes[s], Y[s], sizes[s], NULL, 0, &l1));
    TU_CHECK(fabsf(lp - l1) <= 1e-5f + 1e-4f * fabsf(l1), "batch %zu: loss %.7f vs %.7f",
             sizes[s], lp, l1);
  }
  size_t n1, n2;
  float *a = params_of(par, &n1), *b = params_of(one, &n2);
  close_to(a, b, n1, PAR_RTOL, PAR_ATOL, "batches of 7, 1, 2, 31 split 3:1");
  free(a);
  free(b);
  replicas_identical(par, "small batches");
  /* gradients only: the whole batch's mean gradient on every device */
  float lp, l1;
  TU_OK(clnn_net_compute_gradients(par, X[5], B * IN, B, Y[5], B, NULL, 0, &lp));
  TU_OK(clnn_net_compute_gradients(one, X[5], B * IN, B, Y[5], B, NULL, 0, &l1));
  a = grads_of(par, &n1);
  b = grads_of(one, &n2);
  TU_CHECK(n1 == n2, "gradient counts");
  close_to(a, b, n1, 1e-4f, 1e-6f, "compute_gradients, 3:1");
  clnn_model *r1 = clnn__nn_par_replica(par, 1);
  float *c = replica_grads(r1, &n2);
  TU_CHECK(memcmp(a, c, n1 * sizeof(float)) == 0, "replica 1 holds the summed gradient");
  free(a);
  free(b);
  free(c);
  TU_CHECK(clnn_net_step_count(par) == 4, "compute_gradients takes no step");
  clnn_net_destroy(par);
  clnn_net_destroy(one);
}

static void test_epoch(void) {
  clnn_dataset *ds = NULL;
  size_t dims[3] = {1, 8, 8};
  TU_OK(clnn_dataset_create(100, 3, dims, X[0], 100 * IN, Y[0], 100, &ds)); /* 100 samples of the first batches */
  clnn_net *par = cnn(set, NULL, 1, 0, CLNN_OPTIM_ADAM);
  clnn_net *one = cnn(NULL, clnn_device_set_context(set, 0), 1, 0, CLNN_OPTIM_ADAM);
  float lp = 0, l1 = 0;
  for (int e = 0; e < 2; e++) {
    TU_OK(clnn_dataset_shuffle(ds, 5 + (uint64_t)e));
    TU_OK(clnn_net_train_epoch(par, ds, 32, &lp));
    TU_OK(clnn_net_train_epoch(one, ds, 32, &l1));
  }
  printf("train_epoch: mean loss %.5f (one device %.5f)\n", lp, l1);
  TU_CHECK(fabsf(lp - l1) <= 1e-4f + 1e-4f * fabsf(l1), "epoch loss %.7f vs %.7f", lp, l1);
  size_t n1, n2;
  float *a = params_of(par, &n1), *b = params_of(one, &n2);
  close_to(a, b, n1, PAR_RTOL, PAR_ATOL, "2 epochs of clnn_net_train_epoch");
  free(a);
  free(b);
  float acc_p, acc_1;
  TU_OK(clnn_net_evaluate(par, ds, 64, NULL, &acc_p));
  TU_OK(clnn_net_evaluate(one, ds, 64, NULL, &acc_1));
  TU_CHECK(acc_p == acc_1, "evaluation accuracy %g vs %g", acc_p, acc_1);
  clnn_net_destroy(par);
  clnn_net_destroy(one);
  clnn_dataset_destroy(ds);
}

/* Batch norm: per-device batch statistics; replicas identical; running mean as one device's. */
static void test_batchnorm(void) {
  clnn_net *par = cnn(set, NULL, 0, 1, CLNN_OPTIM_ADAM);
  clnn_net *one = cnn(NULL, clnn_device_set_context(set, 0), 0, 1, CLNN_OPTIM_ADAM);
  float first = 0, last = 0;
  for (int s = 0; s < 12; s++) {
    TU_OK(clnn_net_train_step(par, X[s % 8], B * IN, B, Y[s % 8], B, NULL, 0,
                              s == 0 ? &first : &last));
    if (s == 0) TU_OK(clnn_net_train_step(one, X[0], B * IN, B, Y[0], B, NULL, 0, NULL));
  }
  printf("batch norm on %d devices: loss %.4f -> %.4f\n", ndev, first, last);
  TU_CHECK(last < first, "batch-norm network learns (%g -> %g)", first, last);
  replicas_identical(par, "batch norm");
  /* after one step from the same start the running mean is the whole batch's (a fresh pair) */
  clnn_net *p2 = cnn(set, NULL, 0, 1, CLNN_OPTIM_ADAM);
  TU_OK(clnn_net_train_step(p2, X[0], B * IN, B, Y[0], B, NULL, 0, NULL));
  clnn_tensor *ma, *mb;
  TU_OK(clnn_net_param(p2, "bn1.running_mean", &ma, NULL));
  TU_OK(clnn_net_param(one, "bn1.running_mean", &mb, NULL));
  float *a = tu_read(ma), *b = tu_read(mb);
  close_to(a, b, clnn_tensor_numel(ma), 1e-5f, 1e-6f, "running mean after one step");
  free(a);
  free(b);
  clnn_net_destroy(p2);
  clnn_net_destroy(par);
  clnn_net_destroy(one);
}

/* Splits: AUTO on identical devices is equal; MEASURE gives a slowed-down device less. */
static void test_split(void) {
  clnn_net *par = cnn(set, NULL, 0, 0, CLNN_OPTIM_SGD);
  double sh[CLNN_MAX_SET_DEVICES];
  int measured = -1;
  for (int s = 0; s < 5; s++) TU_OK(clnn_net_train_step(par, X[s], B * IN, B, Y[s], B, NULL, 0,
                                                        NULL));
  TU_OK(clnn_net_get_split(par, sh, ndev, &measured));
  clnn_device_info i0, i1;
  clnn_device_info_init(&i0);
  clnn_device_info_init(&i1);
  clnn_context_device_info(clnn_device_set_context(set, 0), &i0);
  clnn_context_device_info(clnn_device_set_context(set, 1), &i1);
  if (!strcmp(i0.name, i1.name) && !strcmp(i0.driver_version, i1.driver_version) &&
      i0.compute_units == i1.compute_units)
    TU_CHECK(!measured && fabs(sh[0] - 1.0 / ndev) < 1e-12, "identical devices: equal shares "
             "(%g, measured %d)", sh[0], measured);
  /* measured, with device 1 slowed down by 0.15 s per step */
  TU_OK(clnn_net_set_split(par, CLNN_SPLIT_MEASURE, NULL, 0));
  TU_OK(clnn__nn_par_set_delay(par, 1, 0.15));
  for (int s = 0; s < 4; s++) TU_OK(clnn_net_train_step(par, X[s], B * IN, B, Y[s], B, NULL, 0,
                                                        NULL));
  TU_OK(clnn__nn_par_set_delay(par, 1, 0.0));
  TU_OK(clnn_net_get_split(par, sh, ndev, &measured));
  printf("measured split with device 1 slowed down: %.3f %.3f (measured %d)\n", sh[0], sh[1],
         measured);
  TU_CHECK(measured == 1, "split measured after 4 steps");
  TU_CHECK(sh[1] < 0.3 && sh[0] > sh[1], "the slow device gets the smaller share (%g)", sh[1]);
  double tot = 0;
  for (int i = 0; i < ndev; i++) tot += sh[i];
  TU_CHECK(fabs(tot - 1.0) < 1e-9, "shares sum to 1 (%g)", tot);
  TU_OK(clnn_net_train_step(par, X[5], B * IN, B, Y[5], B, NULL, 0, NULL)); /* trains on the measured split */
  replicas_identical(par, "measured split");
  /* errors */
  double w[CLNN_MAX_SET_DEVICES] = {0};
  EXPECT_ERR(clnn_net_set_split(par, CLNN_SPLIT_FIXED, w, ndev), CLNN_ERROR_INVALID_ARGUMENT,
             "at least one");
  w[0] = -1;
  EXPECT_ERR(clnn_net_set_split(par, CLNN_SPLIT_FIXED, w, ndev), CLNN_ERROR_INVALID_ARGUMENT,
             "weights[0]");
  w[0] = NAN;
  EXPECT_ERR(clnn_net_set_split(par, CLNN_SPLIT_FIXED, w, ndev), CLNN_ERROR_INVALID_ARGUMENT,
             "finite");
  w[0] = 1;
  EXPECT_ERR(clnn_net_set_split(par, CLNN_SPLIT_FIXED, w, ndev + 1), CLNN_ERROR_INVALID_ARGUMENT,
             "count");
  EXPECT_ERR(clnn_net_set_split(par, CLNN_SPLIT_FIXED, NULL, ndev), CLNN_ERROR_INVALID_ARGUMENT,
             "weights is NULL");
  EXPECT_ERR(clnn_net_set_split(par, CLNN_SPLIT_AUTO, w, ndev), CLNN_ERROR_INVALID_ARGUMENT,
             "only CLNN_SPLIT_FIXED");
  EXPECT_ERR(clnn_net_set_split(par, (clnn_split_mode)7, NULL, 0), CLNN_ERROR_INVALID_ARGUMENT,
             "mode");
  EXPECT_ERR(clnn_net_set_split(NULL, CLNN_SPLIT_AUTO, NULL, 0), CLNN_ERROR_INVALID_ARGUMENT,
             "net is NULL");
  EXPECT_ERR(clnn_net_get_split(par, sh, 1, NULL), CLNN_ERROR_INVALID_ARGUMENT, "count");
  EXPECT_ERR(clnn_net_get_split(par, NULL, ndev, NULL), CLNN_ERROR_INVALID_ARGUMENT, "shares");
  TU_OK(clnn_net_set_split(par, CLNN_SPLIT_AUTO, NULL, 0));
  clnn_net_destroy(par);
}

/* A fault in one device: error naming it, nothing changed, training continues exactly. */
static void fault_case(int device, int phase, const char *what) {
  clnn_net *a = cnn(set, NULL, 1, 1, CLNN_OPTIM_ADAM); /* faulted */
  clnn_net *b = cnn(set, NULL, 1, 1, CLNN_OPTIM_ADAM); /* twin without the fault */
  for (int s = 0; s < 3; s++) {
    TU_OK(clnn_net_train_step(a, X[s], B * IN, B, Y[s], B, NULL, 0, NULL));
    TU_OK(clnn_net_train_step(b, X[s], B * IN, B, Y[s], B, NULL, 0, NULL));
  }
  size_t n0, n1;
  float *before = params_of(a, &n0);
  float *before_r = replica_params(clnn__nn_par_replica(a, 1), &n1);
  uint64_t steps = clnn_net_step_count(a);
  TU_OK(clnn__nn_par_inject_fault(a, device, phase, CL_OUT_OF_RESOURCES));
  clnn_status st = clnn_net_train_step(a, X[3], B * IN, B, Y[3], B, NULL, 0, NULL);
  char label[32];
  snprintf(label, sizeof label, "device %d (", device);
  TU_CHECK(st == CLNN_ERROR_OPENCL, "%s: the step fails with CLNN_ERROR_OPENCL (%s)", what,
           clnn_status_string(st));
  TU_CHECK(strstr(clnn_last_error(), label) && strstr(clnn_last_error(), "CL_OUT_OF_RESOURCES") &&
               strstr(clnn_last_error(), "as before"),
           "%s: message names the device and the error: %s", what, clnn_last_error());
  printf("%s: %s\n", what, clnn_last_error());
  TU_CHECK(clnn_net_step_count(a) == steps, "%s: step count unchanged", what);
  float *after = params_of(a, &n0);
  float *after_r = replica_params(clnn__nn_par_replica(a, 1), &n1);
  TU_CHECK(memcmp(before, after, n0 * sizeof(float)) == 0,
           "%s: parameters and batch-norm statistics unchanged on device 0", what);
  TU_CHECK(memcmp(before_r, after_r, n1 * sizeof(float)) == 0,
           "%s: parameters and batch-norm statistics unchanged on device 1", what);
  /* training goes on as if the failed step had never been tried */
  for (int s = 3; s < 5; s++) {
    TU_OK(clnn_net_train_step(a, X[s], B * IN, B, Y[s], B, NULL, 0, NULL));
    TU_OK(clnn_net_train_step(b, X[s], B * IN, B, Y[s], B, NULL, 0, NULL));
  }
  float *pa = params_of(a, &n0), *pb = params_of(b, &n1);
  TU_CHECK(n0 == n1 && memcmp(pa, pb, n0 * sizeof(float)) == 0,
           "%s: after the failure, training gives the bits of a run without it", what);
  replicas_identical(a, what);
  free(before);
  free(before_r);
  free(after);
  free(after_r);
  free(pa);
  free(pb);
  clnn_net_destroy(a);
  clnn_net_destroy(b);
}

static void test_faults(void) {
  fault_case(1, FAULT_BACKWARD, "fault in device 1's backward");
  fault_case(0, FAULT_READBACK, "fault in device 0's gradient read-back");
  fault_case(1, FAULT_APPLY, "fault in device 1's optimizer update");
}

/* Checkpoints, loaded parameters and parameter writes reach every replica. */
static void test_sync(void) {
  clnn_net *a = cnn(set, NULL, 1, 1, CLNN_OPTIM_ADAM);
  for (int s = 0; s < 3; s++) TU_OK(clnn_net_train_step(a, X[s], B * IN, B, Y[s], B, NULL, 0, NULL));
  const char *path = "test_multi_device.safetensors";
  TU_OK(clnn_net_save(a, path, CLNN_SAVE_OPTIMIZER));
  clnn_net *b = cnn(set, NULL, 1, 1, CLNN_OPTIM_ADAM);
  TU_OK(clnn_net_load(b, path));
  remove(path);
  for (int s = 3; s < 5; s++) {
    TU_OK(clnn_net_train_step(a, X[s], B * IN, B, Y[s], B, NULL, 0, NULL));
    TU_OK(clnn_net_train_step(b, X[s], B * IN, B, Y[s], B, NULL, 0, NULL));
  }
  size_t n0, n1;
  float *pa = params_of(a, &n0), *pb = params_of(b, &n1);
  TU_CHECK(n0 == n1 && memcmp(pa, pb, n0 * sizeof(float)) == 0,
           "a loaded checkpoint resumes with the same bits on every device");
  replicas_identical(b, "after load");
  free(pa);
  free(pb);
  /* a parameter written through clnn_net_param reaches the other devices */
  clnn_tensor *bias;
  TU_OK(clnn_net_param(a, "dense2.bias", &bias, NULL));
  TU_OK(clnn_tensor_fill(bias, 0.5f));
  TU_OK(clnn_net_compute_gradients(a, X[6], B * IN, B, Y[6], B, NULL, 0, NULL));
  clnn_tensor *rb;
  TU_OK(clnn_model_param(clnn__nn_par_replica(a, 1), "dense2.bias", &rb, NULL));
  float *v = tu_read(rb);
  TU_CHECK(v[0] == 0.5f && v[C - 1] == 0.5f, "the written bias reached device 1 (%g)", v[0]);
  free(v);
  clnn_net_destroy(a);
  clnn_net_destroy(b);
}

/* Reading parameters between steps copies nothing to the replicas; writing one copies once. */
static void test_read_copies_nothing(void) {
  clnn_net *a = cnn(set, NULL, 1, 1, CLNN_OPTIM_ADAM);
  for (int s = 0; s < 2; s++) TU_OK(clnn_net_train_step(a, X[s], B * IN, B, Y[s], B, NULL, 0, NULL));
  uint64_t c0 = clnn__nn_par_image_copies(a);
  TU_CHECK(c0 >= 1, "the first step copied the parameters to the replicas (%llu images)", (unsigned long long)c0);
  /* read every parameter and its gradient (inspection, then clnn_net_param and a read) */
  size_t np = clnn_net_num_params(a);
  TU_CHECK(np > 0 && clnn_net_num_trainable(a) > 0, "the network has parameters (%zu)", np);
  for (size_t i = 0; i < np; i++) {
    clnn_tensor *v = NULL, *g = NULL;
    TU_OK(clnn_net_param(a, clnn_net_param_name(a, i), &v, &g));
    float *h = tu_read(v);
    free(h);
    if (g) free(tu_read(g));
  }
  TU_OK(clnn_net_train_step(a, X[2], B * IN, B, Y[2], B, NULL, 0, NULL));
  uint64_t c1 = clnn__nn_par_image_copies(a);
  TU_CHECK(c1 == c0, "reading every parameter between steps copied %llu parameter images, want 0",
           (unsigned long long)(c1 - c0));
  replicas_identical(a, "after reading every parameter");
  /* a written parameter is copied, once per other device, at the next step only */
  clnn_tensor *w;
  TU_OK(clnn_net_param(a, "dense1.weight", &w, NULL));
  TU_OK(clnn_tensor_fill(w, 0.01f));
  TU_OK(clnn_net_train_step(a, X[3], B * IN, B, Y[3], B, NULL, 0, NULL));
  uint64_t c2 = clnn__nn_par_image_copies(a);
  TU_CHECK(c2 == c1 + (uint64_t)(ndev - 1), "a written parameter: %llu images copied, want %d",
           (unsigned long long)(c2 - c1), ndev - 1);
  replicas_identical(a, "after writing a parameter");
  TU_OK(clnn_net_train_step(a, X[4], B * IN, B, Y[4], B, NULL, 0, NULL));
  TU_CHECK(clnn__nn_par_image_copies(a) == c2, "the step after the write copied again");
  clnn_net_destroy(a);
}

/* Two sub-devices of device 0 (clCreateSubDevices) as a wrapped set; then a set of devices that
 * differ (device 1 whole and a sub-device of device 0). */
static void test_subdevices(void) {
  cl_device_id dev;
  TU_OK(clnn_context_get_cl(clnn_device_set_context(set, 0), NULL, &dev, NULL));
  cl_uint cu = 0;
  clGetDeviceInfo(dev, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
  cl_device_partition_property props[] = {CL_DEVICE_PARTITION_EQUALLY, cu >= 2 ? (cl_device_partition_property)(cu / 2) : 1, 0};
  cl_device_id sub[8];
  cl_uint nsub = 0;
  cl_int err = cu >= 2 ? clCreateSubDevices(dev, props, 8, sub, &nsub) : CL_INVALID_VALUE;
  if (err != CL_SUCCESS || nsub < 2) {
    printf("sub-devices: not available on this device (%d compute units, error %d); part "
           "skipped (the two-device tests above ran)\n", (int)cu, (int)err);
    for (cl_uint i = 0; err == CL_SUCCESS && i < nsub; i++) clReleaseDevice(sub[i]);
    return;
  }
  cl_context cc[2];
  cl_command_queue qq[2];
  clnn_context *ctxs[2];
  for (int i = 0; i < 2; i++) {
    cc[i] = clCreateContext(NULL, 1, &sub[i], NULL, NULL, &err);
    qq[i] = clCreateCommandQueue(cc[i], sub[i], 0, &err);
    TU_OK(clnn_context_wrap(cc[i], sub[i], qq[i], NULL, &ctxs[i]));
  }
  clnn_device_set *ss = NULL;
  TU_OK(clnn_device_set_wrap(ctxs, 2, &ss));
  clnn_net *par = cnn(ss, NULL, 1, 0, CLNN_OPTIM_ADAM);
  clnn_net *one = cnn(NULL, clnn_device_set_context(set, 0), 1, 0, CLNN_OPTIM_ADAM);
  for (int s = 0; s < 10; s++) {
    TU_OK(clnn_net_train_step(par, X[s % 8], B * IN, B, Y[s % 8], B, NULL, 0, NULL));
    TU_OK(clnn_net_train_step(one, X[s % 8], B * IN, B, Y[s % 8], B, NULL, 0, NULL));
  }
  size_t n1, n2;
  float *a = params_of(par, &n1), *b = params_of(one, &n2);
  close_to(a, b, n1, PAR_RTOL, PAR_ATOL, "2 sub-devices vs the whole device, 10 Adam steps");
  free(a);
  free(b);
  clnn_net_destroy(par);
  clnn_net_destroy(one);
  clnn_device_set_destroy(ss);
  /* devices that differ (device 1 whole, a sub-device of device 0 with fewer compute units):
   * measured split, the first device updates and its result is copied to the other */
  clnn_context *mixed[2] = {clnn_device_set_context(set, 1), ctxs[0]};
  TU_OK(clnn_device_set_wrap(mixed, 2, &ss));
  par = cnn(ss, NULL, 1, 1, CLNN_OPTIM_ADAM);
  one = cnn(NULL, clnn_device_set_context(set, 1), 1, 1, CLNN_OPTIM_ADAM);
  for (int s = 0; s < 6; s++) {
    TU_OK(clnn_net_train_step(par, X[s % 8], B * IN, B, Y[s % 8], B, NULL, 0, NULL));
  }
  double sh[2];
  int measured = 0;
  TU_OK(clnn_net_get_split(par, sh, 2, &measured));
  printf("mixed devices: measured split %.3f %.3f (measured %d)\n", sh[0], sh[1], measured);
  TU_CHECK(measured == 1, "devices that differ get a measured split");
  replicas_identical(par, "mixed devices");
  /* a fault in the second device's update: nothing changes; a fixed split to compare */
  size_t n0, nt;
  float *before = params_of(par, &n0);
  TU_OK(clnn__nn_par_inject_fault(par, 1, FAULT_APPLY, CL_OUT_OF_RESOURCES));
  TU_CHECK(clnn_net_train_step(par, X[0], B * IN, B, Y[0], B, NULL, 0, NULL) == CLNN_ERROR_OPENCL,
           "mixed devices: a failed update is an error");
  float *after = params_of(par, &nt);
  TU_CHECK(memcmp(before, after, n0 * sizeof(float)) == 0, "mixed devices: unchanged after a "
           "failed update");
  free(before);
  free(after);
  clnn_net_destroy(par);
  par = cnn(ss, NULL, 1, 0, CLNN_OPTIM_ADAM);
  clnn_net_destroy(one);
  one = cnn(NULL, clnn_device_set_context(set, 1), 1, 0, CLNN_OPTIM_ADAM);
  double w[2] = {1, 1};
  TU_OK(clnn_net_set_split(par, CLNN_SPLIT_FIXED, w, 2));
  for (int s = 0; s < 10; s++) {
    TU_OK(clnn_net_train_step(par, X[s % 8], B * IN, B, Y[s % 8], B, NULL, 0, NULL));
    TU_OK(clnn_net_train_step(one, X[s % 8], B * IN, B, Y[s % 8], B, NULL, 0, NULL));
  }
  a = params_of(par, &n1);
  b = params_of(one, &n2);
  close_to(a, b, n1, PAR_RTOL, PAR_ATOL, "mixed devices vs one device, 10 Adam steps");
  free(a);
  free(b);
  replicas_identical(par, "mixed devices, fixed split");
  clnn_net_destroy(par);
  clnn_net_destroy(one);
  clnn_device_set_destroy(ss);
  for (int i = 0; i < 2; i++) {
    clnn_context_destroy(ctxs[i]);
    clReleaseCommandQueue(qq[i]);
    clReleaseContext(cc[i]);
  }
  for (cl_uint i = 0; i < nsub; i++) clReleaseDevice(sub[i]);
}

static void test_errors(void) {
  size_t in[3] = {1, 8, 8};
  clnn_net *net = NULL;
  EXPECT_ERR(clnn_net_create_parallel(NULL, 3, in, 1, &net), CLNN_ERROR_INVALID_ARGUMENT, "set");
  EXPECT_ERR(clnn_net_create_parallel(set, 3, in, 1, NULL), CLNN_ERROR_INVALID_ARGUMENT, "out");
  EXPECT_ERR(clnn_net_create_parallel(set, 0, in, 1, &net), CLNN_ERROR_INVALID_ARGUMENT, "ndim");
  TU_CHECK(clnn_net_num_devices(NULL) == 0, "num_devices(NULL)");
  /* a parallel network refuses bad batches before any device works, and is unchanged */
  clnn_net *par = cnn(set, NULL, 0, 0, CLNN_OPTIM_SGD);
  TU_CHECK(clnn_net_num_devices(par) == ndev, "num_devices");
  int32_t badlab[B];
  memcpy(badlab, Y[0], sizeof badlab);
  badlab[B - 1] = C;
  EXPECT_ERR(clnn_net_train_step(par, X[0], B * IN, B, badlab, B, NULL, 0, NULL), CLNN_ERROR_INVALID_ARGUMENT,
             "labels[31]");
  EXPECT_ERR(clnn_net_train_step(par, X[0], 0 * IN, 0, Y[0], 0, NULL, 0, NULL), CLNN_ERROR_INVALID_ARGUMENT,
             "batch is 0");
  EXPECT_ERR(clnn_net_train_step(par, NULL, 0, B, Y[0], B, NULL, 0, NULL), CLNN_ERROR_INVALID_ARGUMENT,
             "x is NULL");
  TU_CHECK(clnn_net_step_count(par) == 0, "refused steps take no step");
  int rank = -1, size = -1;
  TU_OK(clnn_net_mpi_rank(par, &rank, &size));
  TU_CHECK(rank == 0 && size == 1, "not joined to MPI: rank 0 of 1");
  if (!clnn_mpi_available())
    EXPECT_ERR(clnn_net_set_mpi(par, NULL), CLNN_ERROR_UNSUPPORTED, "without MPI");
  else
    EXPECT_ERR(clnn_net_set_mpi(par, NULL), CLNN_ERROR_INVALID_ARGUMENT, "not initialised");
  EXPECT_ERR(clnn_net_set_mpi(NULL, NULL), CLNN_ERROR_INVALID_ARGUMENT, "net is NULL");
  EXPECT_ERR(clnn_net_mpi_rank(NULL, &rank, &size), CLNN_ERROR_INVALID_ARGUMENT, "NULL");
  TU_OK(clnn_net_train_step(par, X[0], B * IN, B, Y[0], B, NULL, 0, NULL));
  clnn_net_destroy(par);
  /* a plain network: one device, every split mode accepted */
  clnn_net *one = cnn(NULL, clnn_device_set_context(set, 0), 0, 0, CLNN_OPTIM_SGD);
  double sh[1], w1[1] = {2};
  TU_OK(clnn_net_set_split(one, CLNN_SPLIT_FIXED, w1, 1));
  TU_OK(clnn_net_get_split(one, sh, 1, NULL));
  TU_CHECK(sh[0] == 1.0, "a plain network takes every sample");
  clnn_net_destroy(one);
}

int main(void) {
  setenv("POCL_DEVICES", "pthread pthread", 0); /* two PoCL CPU devices, unless set */
  int count = 0;
  clnn_status s = clnn_device_count(&count);
  if (s != CLNN_SUCCESS) {
    fprintf(stderr, "FAIL: no OpenCL device: %s\n", clnn_last_error());
    return 1;
  }
  const char *sel = getenv("CLNN_DEVICES");
  s = clnn_device_set_create(sel && *sel ? sel : "all", NULL, &set);
  if (s != CLNN_SUCCESS) {
    fprintf(stderr, "FAIL: device set: %s\n", clnn_last_error());
    return 1;
  }
  ndev = clnn_device_set_size(set);
  printf("device set: %d devices\n", ndev);
  if (ndev < 2) {
    fprintf(stderr, "FAIL: this test needs at least two OpenCL devices (PoCL gives two with "
                    "POCL_DEVICES=\"pthread pthread\")\n");
    return 1;
  }
  make_data();
  test_device_sets();
  test_equivalence();
  test_small_batches();
  test_epoch();
  test_batchnorm();
  test_split();
  test_faults();
  test_sync();
  test_read_copies_nothing();
  test_subdevices();
  test_errors();
  clnn_device_set_destroy(set);
  return tu_finish("test_multi_device");
}
