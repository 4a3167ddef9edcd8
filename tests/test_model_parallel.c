/* tests/test_model_parallel.c — graph models on several devices (two PoCL devices unless
 * POCL_DEVICES says otherwise; fewer than 2 devices is a failure): 20 steps of Adam with dropout
 * on 2 devices give every parameter of the one-device run within 1e-5 + 1e-4 |value| and every
 * replica the same bits; gradients and the epoch loss agree with one device; batch norm keeps
 * replicas identical with the running mean of one device; a frozen parameter stays bit-identical
 * everywhere; a parameter written on the first replica reaches the others; what is not supported
 * (tensor feeds, input gradients) is refused with the model unchanged. A branched (residual)
 * model with a fixed 3:1 split stays within the same tolerance of one device; a fault injected
 * into one device's backward, read-back or update fails the step naming the device with every
 * replica's parameters, batch-norm statistics and step count as before, and training goes on as
 * if it had not been tried; a slowed device gets a smaller measured share; with two weighted
 * losses each step's objective is the one-device objective. */
#define _POSIX_C_SOURCE 200809L
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

clnn_model *clnn__m_par_replica(clnn_model *m, int k); /* test hooks (src/nn/exec_api.c) */
uint64_t clnn__m_par_image_copies(const clnn_model *m);
clnn_status clnn__m_par_inject_fault(clnn_model *m, int device, int phase, cl_int err);
clnn_status clnn__m_par_set_delay(clnn_model *m, int device, double seconds);
enum { FAULT_BACKWARD = 1, FAULT_READBACK = 2, FAULT_APPLY = 3 };

enum { B = 30, IN = 64, STEPS = 20 };
static float X[4][B * IN];
static int32_t Y[4][B];

static clnn_graph *make_graph(int bn, int *x, int *lab) {
  clnn_graph *g = NULL;
  size_t in[3] = {1, 8, 8};
  int h, y, loss;
  clnn_conv2d_params cp;
  clnn_conv2d_params_init(&cp);
  cp.pad_top = cp.pad_bottom = cp.pad_left = cp.pad_right = 1;
  TU_OK(clnn_graph_create(&g));
  TU_OK(clnn_graph_input(g, "x", CLNN_FLOAT32, 3, in, x));
  TU_OK(clnn_graph_input(g, "label", CLNN_INT32, 0, NULL, lab));
  TU_OK(clnn_graph_conv2d(g, NULL, *x, 6, 3, 3, &cp, 1, &h));
  if (bn) TU_OK(clnn_graph_batchnorm(g, NULL, h, 0, 0, &h));
  TU_OK(clnn_graph_activation(g, NULL, h, CLNN_ACT_RELU, 0, &h));
  TU_OK(clnn_graph_dropout(g, NULL, h, 0.2f, &h));
  TU_OK(clnn_graph_flatten(g, NULL, h, &h));
  TU_OK(clnn_graph_dense(g, "head", h, 10, 1, &y));
  TU_OK(clnn_graph_loss(g, NULL, CLNN_LOSS_SOFTMAX_CROSS_ENTROPY, y, *lab, 1.0f, &loss));
  TU_OK(clnn_graph_output(g, y));
  return g;
}

static float *params_of(clnn_model *m, size_t *count) {
  size_t total = 0, n = clnn_model_num_params(m);
  for (size_t i = 0; i < n; i++) {
    clnn_tensor *t = NULL;
    clnn_model_param(m, clnn_model_param_name(m, i), &t, NULL);
    total += clnn_tensor_numel(t);
  }
  float *v = malloc(total * sizeof(float));
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    clnn_tensor *t = NULL;
    clnn_model_param(m, clnn_model_param_name(m, i), &t, NULL);
    clnn_tensor_read(t, v + k, clnn_tensor_numel(t));
    k += clnn_tensor_numel(t);
  }
  *count = total;
  return v;
}

static void replicas_identical(clnn_model *par, int ndev, const char *what) {
  size_t n0;
  float *p0 = params_of(clnn__m_par_replica(par, 0), &n0);
  for (int k = 1; k < ndev; k++) {
    size_t nk;
    float *pk = params_of(clnn__m_par_replica(par, k), &nk);
    TU_CHECK(nk == n0 && memcmp(p0, pk, n0 * sizeof(float)) == 0,
             "%s: replica %d holds the same bits as replica 0", what, k);
    free(pk);
  }
  free(p0);
}

static void close_to_one_device(clnn_device_set *set, int ndev) {
  int x, lab;
  clnn_graph *g = make_graph(0, &x, &lab);
  clnn_model *one = NULL, *par = NULL;
  TU_OK(clnn_model_create(clnn_device_set_context(set, 0), g, 5, &one));
  TU_OK(clnn_model_create_parallel(set, g, 5, &par));
  clnn_graph_destroy(g);
  if (!one || !par) return;
  TU_CHECK(clnn_model_num_devices(par) == ndev, "%d devices", clnn_model_num_devices(par));
  float l1 = 0, l2 = 0;
  for (int s = 0; s < STEPS; s++) {
    size_t b = s == 7 ? 7 : B; /* an uneven batch too */
    clnn_feed f[2] = {{x, X[s % 4], b * IN, NULL}, {lab, Y[s % 4], b, NULL}};
    TU_OK(clnn_model_train_step(one, f, 2, b, &l1));
    TU_OK(clnn_model_train_step(par, f, 2, b, &l2));
  }
  TU_CHECK(fabsf(l1 - l2) <= 1e-4f * (1.0f + fabsf(l1)), "loss %g vs %g after %d steps", l1, l2,
           STEPS);
  size_t n1, n2;
  float *p1 = params_of(one, &n1), *p2 = params_of(par, &n2);
  TU_CHECK(n1 == n2 && tu_allclose(p2, p1, n1, 1e-4f, 1e-5f, "2 devices vs 1 after 20 Adam steps"),
           "every parameter within 1e-5 + 1e-4 |value| of one device");
  free(p1);
  free(p2);
  replicas_identical(par, ndev, "after 20 steps");
  /* gradients of one batch */
  clnn_feed f[2] = {{x, X[1], B * IN, NULL}, {lab, Y[1], B, NULL}};
  TU_OK(clnn_model_compute_gradients(one, f, 2, B, &l1));
  TU_OK(clnn_model_compute_gradients(par, f, 2, B, &l2));
  clnn_tensor *g1 = NULL, *g2 = NULL;
  TU_OK(clnn_model_param(one, "head.weight", NULL, &g1));
  TU_OK(clnn_model_param(par, "head.weight", NULL, &g2));
  float *a = tu_read(g1), *b = tu_read(g2);
  TU_CHECK(tu_allclose(b, a, clnn_tensor_numel(g1), 1e-3f, 1e-6f, "gradient"),
           "compute_gradients agrees with one device");
  free(a);
  free(b);
  /* a frozen parameter stays bit-identical on every replica; a written one reaches them */
  TU_OK(clnn_model_set_trainable(par, "conv1.", 0, NULL));
  clnn_tensor *hw = NULL;
  TU_OK(clnn_model_param(par, "head.bias", &hw, NULL));
  TU_OK(clnn_tensor_fill(hw, 0.25f));
  size_t nb;
  float *before = params_of(par, &nb);
  TU_OK(clnn_model_train_step(par, f, 2, B, NULL));
  replicas_identical(par, ndev, "after freezing and writing");
  clnn_tensor *cw = NULL;
  TU_OK(clnn_model_param(clnn__m_par_replica(par, ndev - 1), "conv1.weight", &cw, NULL));
  float *cwv = tu_read(cw);
  TU_CHECK(memcmp(cwv, before, clnn_tensor_numel(cw) * sizeof(float)) == 0,
           "frozen conv1.weight unchanged on the last replica");
  free(cwv);
  free(before);
  /* not supported on several devices: refused, nothing changes */
  TU_OK(clnn_model_input_grad(par, x, 1));
  size_t na;
  float *p_a = params_of(par, &na);
  TU_STATUS(clnn_model_train_step(par, f, 2, B, NULL), CLNN_ERROR_UNSUPPORTED);
  TU_OK(clnn_model_input_grad(par, x, 0));
  clnn_tensor *xt = tu_tensor(clnn_device_set_context(set, 0), 1, (size_t[1]){B * IN}, X[0]);
  clnn_feed ft[2] = {{x, NULL, 0, xt}, {lab, Y[0], B, NULL}};
  TU_STATUS(clnn_model_train_step(par, ft, 2, B, NULL), CLNN_ERROR_UNSUPPORTED);
  float *p_b = params_of(par, &na);
  TU_CHECK(memcmp(p_a, p_b, na * sizeof(float)) == 0, "refused steps changed nothing");
  free(p_a);
  free(p_b);
  clnn_tensor_destroy(xt);
  clnn_model_destroy(one);
  clnn_model_destroy(par);
}

/* Reading every parameter between steps copies nothing to the replicas; writing one copies once. */
static void reads_copy_nothing(clnn_device_set *set, int ndev) {
  int x, lab;
  clnn_graph *g = make_graph(1, &x, &lab);
  clnn_model *par = NULL;
  TU_OK(clnn_model_create_parallel(set, g, 5, &par));
  clnn_graph_destroy(g);
  if (!par) return;
  clnn_feed f[2] = {{x, X[0], B * IN, NULL}, {lab, Y[0], B, NULL}};
  TU_OK(clnn_model_train_step(par, f, 2, B, NULL));
  uint64_t c0 = clnn__m_par_image_copies(par);
  TU_CHECK(c0 >= 1, "the first step copied the parameters to the replicas (%llu images)", (unsigned long long)c0);
  size_t n;
  free(params_of(par, &n)); /* clnn_model_param and a read of every parameter */
  TU_OK(clnn_model_train_step(par, f, 2, B, NULL));
  uint64_t c1 = clnn__m_par_image_copies(par);
  TU_CHECK(c1 == c0, "reading every parameter between steps copied %llu parameter images, want 0",
           (unsigned long long)(c1 - c0));
  replicas_identical(par, ndev, "after reading every parameter");
  clnn_tensor *hb = NULL;
  TU_OK(clnn_model_param(par, "head.bias", &hb, NULL));
  TU_OK(clnn_tensor_fill(hb, 0.125f));
  TU_OK(clnn_model_train_step(par, f, 2, B, NULL));
  uint64_t c2 = clnn__m_par_image_copies(par);
  TU_CHECK(c2 == c1 + (uint64_t)(ndev - 1), "a written parameter: %llu images copied, want %d",
           (unsigned long long)(c2 - c1), ndev - 1);
  replicas_identical(par, ndev, "after writing a parameter");
  clnn_model_destroy(par);
}

static void batch_norm_and_epoch(clnn_device_set *set, int ndev) {
  int x, lab;
  clnn_graph *g = make_graph(1, &x, &lab);
  clnn_model *one = NULL, *par = NULL;
  TU_OK(clnn_model_create(clnn_device_set_context(set, 0), g, 9, &one));
  TU_OK(clnn_model_create_parallel(set, g, 9, &par));
  clnn_graph_destroy(g);
  if (!one || !par) return;
  clnn_feed f[2] = {{x, X[2], B * IN, NULL}, {lab, Y[2], B, NULL}};
  TU_OK(clnn_model_train_step(one, f, 2, B, NULL));
  TU_OK(clnn_model_train_step(par, f, 2, B, NULL));
  replicas_identical(par, ndev, "batch norm");
  clnn_tensor *m1 = NULL, *m2 = NULL;
  TU_OK(clnn_model_param(one, "bn1.running_mean", &m1, NULL));
  TU_OK(clnn_model_param(par, "bn1.running_mean", &m2, NULL));
  float *a = tu_read(m1), *b = tu_read(m2);
  TU_CHECK(tu_allclose(b, a, clnn_tensor_numel(m1), 1e-4f, 1e-6f, "running mean"),
           "the running mean is one device's after a step");
  free(a);
  free(b);
  /* an epoch: the mean loss of the whole dataset */
  clnn_dataset *ds = NULL;
  size_t sd[3] = {1, 8, 8};
  TU_OK(clnn_dataset_create(4 * B, 3, sd, &X[0][0], (4 * B) * IN, &Y[0][0], 4 * B, &ds));
  float e1 = 0, e2 = 0;
  TU_OK(clnn_model_train_epoch(one, ds, 32, x, lab, &e1));
  TU_OK(clnn_model_train_epoch(par, ds, 32, x, lab, &e2));
  TU_CHECK(fabsf(e1 - e2) < 2e-2f * (1.0f + fabsf(e1)), "epoch loss %g on 1 device, %g on %d "
           "(batch norm normalises each device's share)", e1, e2, ndev);
  replicas_identical(par, ndev, "after an epoch");
  clnn_dataset_destroy(ds);
  clnn_model_destroy(one);
  clnn_model_destroy(par);
}

/* A residual model: relu(conv(x)) + conv1x1(x), optionally batch norm, dropout, a dense head. */
static clnn_graph *make_residual(int bn, int *x, int *lab) {
  clnn_graph *g = NULL;
  size_t in[3] = {1, 8, 8};
  int h, s, y, loss;
  clnn_conv2d_params cp, c1;
  clnn_conv2d_params_init(&cp);
  clnn_conv2d_params_init(&c1);
  cp.pad_top = cp.pad_bottom = cp.pad_left = cp.pad_right = 1;
  TU_OK(clnn_graph_create(&g));
  TU_OK(clnn_graph_input(g, "x", CLNN_FLOAT32, 3, in, x));
  TU_OK(clnn_graph_input(g, "label", CLNN_INT32, 0, NULL, lab));
  TU_OK(clnn_graph_conv2d(g, "conv1", *x, 4, 3, 3, &cp, 1, &h));
  if (bn) TU_OK(clnn_graph_batchnorm(g, "bn1", h, 0, 0, &h));
  TU_OK(clnn_graph_activation(g, NULL, h, CLNN_ACT_RELU, 0, &h));
  TU_OK(clnn_graph_conv2d(g, "skip", *x, 4, 1, 1, &c1, 0, &s));
  TU_OK(clnn_graph_add(g, NULL, h, s, &h));
  TU_OK(clnn_graph_dropout(g, NULL, h, 0.2f, &h));
  TU_OK(clnn_graph_flatten(g, NULL, h, &h));
  TU_OK(clnn_graph_dense(g, "head", h, 10, 1, &y));
  TU_OK(clnn_graph_loss(g, NULL, CLNN_LOSS_SOFTMAX_CROSS_ENTROPY, y, *lab, 1.0f, &loss));
  TU_OK(clnn_graph_output(g, y));
  return g;
}

static void fixed_split(clnn_device_set *set, int ndev) {
  int x, lab;
  clnn_graph *g = make_residual(0, &x, &lab);
  clnn_model *one = NULL, *par = NULL;
  TU_OK(clnn_model_create(clnn_device_set_context(set, 0), g, 21, &one));
  TU_OK(clnn_model_create_parallel(set, g, 21, &par));
  clnn_graph_destroy(g);
  if (!one || !par) return;
  double w[CLNN_MAX_SET_DEVICES], sh[CLNN_MAX_SET_DEVICES];
  for (int k = 0; k < ndev; k++) w[k] = k == 0 ? 3.0 : 1.0;
  TU_OK(clnn_model_set_split(par, CLNN_SPLIT_FIXED, w, ndev));
  int measured = -1;
  TU_OK(clnn_model_get_split(par, sh, ndev, &measured));
  TU_CHECK(fabs(sh[0] - 3.0 / (ndev + 2)) < 1e-12 && measured == 0, "fixed shares %g (measured %d)",
           sh[0], measured);
  float l1 = 0, l2 = 0;
  for (int s = 0; s < STEPS; s++) {
    size_t b = s == 3 ? 1 : s == 4 ? 7 : B; /* a batch too small for some devices, an uneven one */
    clnn_feed f[2] = {{x, X[s % 4], b * IN, NULL}, {lab, Y[s % 4], b, NULL}};
    TU_OK(clnn_model_train_step(one, f, 2, b, &l1));
    TU_OK(clnn_model_train_step(par, f, 2, b, &l2));
  }
  TU_CHECK(fabsf(l1 - l2) <= 1e-4f * (1.0f + fabsf(l1)), "split 3:1: loss %g vs %g", l1, l2);
  size_t n1, n2;
  float *p1 = params_of(one, &n1), *p2 = params_of(par, &n2);
  TU_CHECK(n1 == n2 && tu_allclose(p2, p1, n1, 1e-4f, 1e-5f, "residual model, split 3:1, 20 steps"),
           "every parameter within 1e-5 + 1e-4 |value| of one device with a fixed split");
  free(p1);
  free(p2);
  replicas_identical(par, ndev, "after 20 steps split 3:1");
  TU_OK(clnn_model_get_split(par, sh, ndev, &measured));
  TU_CHECK(fabs(sh[0] - 3.0 / (ndev + 2)) < 1e-12 && measured == 0, "the fixed split stays");
  /* a slowed device gets a smaller measured share */
  TU_OK(clnn_model_set_split(par, CLNN_SPLIT_MEASURE, NULL, 0));
  TU_OK(clnn__m_par_set_delay(par, 1, 0.15));
  for (int s = 0; s < 4; s++) {
    clnn_feed f[2] = {{x, X[s], B * IN, NULL}, {lab, Y[s], B, NULL}};
    TU_OK(clnn_model_train_step(par, f, 2, B, NULL));
  }
  TU_OK(clnn__m_par_set_delay(par, 1, 0.0));
  TU_OK(clnn_model_get_split(par, sh, ndev, &measured));
  printf("measured split with device 1 slowed down: %.3f %.3f (measured %d)\n", sh[0], sh[1],
         measured);
  TU_CHECK(measured == 1 && sh[1] < sh[0], "the slowed device's share is smaller");
  replicas_identical(par, ndev, "after the measured steps");
  clnn_model_destroy(one);
  clnn_model_destroy(par);
}

/* One fault: the step fails naming the device, and nothing changed on any replica. */
static void one_fault(clnn_device_set *set, int ndev, int device, int phase, const char *what) {
  int x, lab;
  clnn_graph *g = make_residual(1, &x, &lab);
  /* `twin` trains alike but never sees the fault */
  clnn_model *twin = NULL, *par = NULL;
  TU_OK(clnn_model_create_parallel(set, g, 33, &twin));
  TU_OK(clnn_model_create_parallel(set, g, 33, &par));
  clnn_graph_destroy(g);
  if (!twin || !par) return;
  double w[CLNN_MAX_SET_DEVICES];
  for (int k = 0; k < ndev; k++) w[k] = k == 0 ? 3.0 : 1.0;
  TU_OK(clnn_model_set_split(par, CLNN_SPLIT_FIXED, w, ndev));
  TU_OK(clnn_model_set_split(twin, CLNN_SPLIT_FIXED, w, ndev));
  for (int s = 0; s < 3; s++) {
    clnn_feed f[2] = {{x, X[s], B * IN, NULL}, {lab, Y[s], B, NULL}};
    TU_OK(clnn_model_train_step(twin, f, 2, B, NULL));
    TU_OK(clnn_model_train_step(par, f, 2, B, NULL));
  }
  size_t n0, n1;
  float *before0 = params_of(clnn__m_par_replica(par, 0), &n0);
  float *before1 = params_of(clnn__m_par_replica(par, 1), &n1);
  uint64_t steps = clnn_model_step_count(par);
  TU_OK(clnn__m_par_inject_fault(par, device, phase, CL_OUT_OF_RESOURCES));
  clnn_feed f3[2] = {{x, X[3], B * IN, NULL}, {lab, Y[3], B, NULL}};
  clnn_status st = clnn_model_train_step(par, f3, 2, B, NULL);
  char label[32];
  snprintf(label, sizeof label, "device %d (", device);
  TU_CHECK(st == CLNN_ERROR_OPENCL, "%s: the step fails with CLNN_ERROR_OPENCL (%s)", what,
           clnn_status_string(st));
  TU_CHECK(strstr(clnn_last_error(), label) && strstr(clnn_last_error(), "CL_OUT_OF_RESOURCES") &&
               strstr(clnn_last_error(), "as before"),
           "%s: the message names the device and the error: %s", what, clnn_last_error());
  printf("%s: %s\n", what, clnn_last_error());
  TU_CHECK(clnn_model_step_count(par) == steps, "%s: step count unchanged", what);
  float *after0 = params_of(clnn__m_par_replica(par, 0), &n0);
  float *after1 = params_of(clnn__m_par_replica(par, 1), &n1);
  TU_CHECK(memcmp(before0, after0, n0 * sizeof(float)) == 0,
           "%s: parameters and batch-norm statistics unchanged on device 0", what);
  TU_CHECK(memcmp(before1, after1, n1 * sizeof(float)) == 0,
           "%s: parameters and batch-norm statistics unchanged on device 1", what);
  /* training goes on as if the failed step had never been tried */
  for (int s = 3; s < 6; s++) {
    clnn_feed f[2] = {{x, X[s % 4], B * IN, NULL}, {lab, Y[s % 4], B, NULL}};
    TU_OK(clnn_model_train_step(twin, f, 2, B, NULL));
    TU_OK(clnn_model_train_step(par, f, 2, B, NULL));
  }
  replicas_identical(par, ndev, what);
  size_t na, nb;
  float *a = params_of(twin, &na), *b = params_of(par, &nb);
  TU_CHECK(na == nb && memcmp(a, b, na * sizeof(float)) == 0,
           "%s: after 3 more steps every parameter and statistic has the bits of a model that "
           "never tried the failed step", what);
  TU_CHECK(clnn_model_step_count(par) == clnn_model_step_count(twin), "%s: step counts", what);
  free(a);
  free(b);
  free(before0);
  free(before1);
  free(after0);
  free(after1);
  clnn_model_destroy(twin);
  clnn_model_destroy(par);
}

/* Two weighted losses (softmax cross-entropy, weight 1, and an auxiliary MSE head, weight 0.25):
 * the objective of each step on several devices (each device's parts read back and combined)
 * is the one-device objective. */
static void two_losses(clnn_device_set *set, int ndev) {
  clnn_graph *g = NULL;
  size_t in[1] = {IN}, one[1] = {1};
  int x, lab, t, h, y, a, l1, l2;
  TU_OK(clnn_graph_create(&g));
  TU_OK(clnn_graph_input(g, "x", CLNN_FLOAT32, 1, in, &x));
  TU_OK(clnn_graph_input(g, "label", CLNN_INT32, 0, NULL, &lab));
  TU_OK(clnn_graph_input(g, "aux_target", CLNN_FLOAT32, 1, one, &t));
  TU_OK(clnn_graph_dense(g, "hidden", x, 16, 1, &h));
  TU_OK(clnn_graph_activation(g, NULL, h, CLNN_ACT_RELU, 0, &h));
  TU_OK(clnn_graph_dense(g, "head", h, 10, 1, &y));
  TU_OK(clnn_graph_dense(g, "aux", h, 1, 1, &a));
  TU_OK(clnn_graph_loss(g, NULL, CLNN_LOSS_SOFTMAX_CROSS_ENTROPY, y, lab, 1.0f, &l1));
  TU_OK(clnn_graph_loss(g, NULL, CLNN_LOSS_MSE, a, t, 0.25f, &l2));
  clnn_model *solo = NULL, *par = NULL;
  TU_OK(clnn_model_create(clnn_device_set_context(set, 0), g, 13, &solo));
  TU_OK(clnn_model_create_parallel(set, g, 13, &par));
  clnn_graph_destroy(g);
  if (!solo || !par) return;
  float aux[B];
  for (int i = 0; i < B; i++) aux[i] = (float)(i % 5) - 2.0f;
  for (int s = 0; s < 3; s++) {
    clnn_feed f[3] = {{x, X[s], B * IN, NULL}, {lab, Y[s], B, NULL}, {t, aux, B, NULL}};
    float l_solo = 0, l_par = 0;
    TU_OK(clnn_model_train_step(solo, f, 3, B, &l_solo));
    TU_OK(clnn_model_train_step(par, f, 3, B, &l_par));
    TU_CHECK(fabsf(l_solo - l_par) <= 1e-5f + 1e-4f * fabsf(l_solo) && l_solo > 0.25f,
             "two losses, step %d: objective %g on %d devices, %g on one", s, (double)l_par,
             ndev, (double)l_solo);
  }
  clnn_model_destroy(solo);
  clnn_model_destroy(par);
}

static void faults(clnn_device_set *set, int ndev) {
  one_fault(set, ndev, 1, FAULT_BACKWARD, "fault in device 1's backward");
  one_fault(set, ndev, 0, FAULT_READBACK, "fault in device 0's gradient read-back");
  one_fault(set, ndev, 1, FAULT_APPLY, "fault in device 1's optimizer update");
}

int main(void) {
  setenv("POCL_DEVICES", "pthread pthread", 0);
  clnn_device_set *set = NULL;
  TU_OK(clnn_device_set_create("all", NULL, &set));
  int ndev = clnn_device_set_size(set);
  if (!TU_CHECK(ndev >= 2, "at least 2 devices (got %d; POCL_DEVICES=\"pthread pthread\")", ndev))
    return tu_finish("test_model_parallel");
  tu_seed(3);
  for (int b = 0; b < 4; b++) {
    tu_fill_uniform(X[b], B * IN, 0.0f, 1.0f);
    for (int i = 0; i < B; i++) Y[b][i] = (int32_t)((i * 7 + b) % 10);
  }
  close_to_one_device(set, ndev);
  reads_copy_nothing(set, ndev);
  batch_norm_and_epoch(set, ndev);
  fixed_split(set, ndev);
  two_losses(set, ndev);
  faults(set, ndev);
  clnn_device_set_destroy(set);
  return tu_finish("test_model_parallel");
}
