/* tests/mpi/test_mpi.c — data-parallel training across MPI ranks; run as `mpiexec -n 2 test_mpi`
 * (tests/mpi.cmake registers it when clnn is built with -DCLNN_WITH_MPI=ON). Not a tests/test_*.c
 * file on purpose: it must not run without mpiexec.
 *
 * Checked, on 2 ranks with one device each and then with two PoCL devices each (4 in all):
 * ranks start identical (rank 0's parameters win) and hold the same bits after every step; 20
 * Adam steps (with dropout) and a 3:1 split between ranks give rank 0's one-process run on the
 * same global batches to the stated tolerance; gradients from clnn_net_compute_gradients; a
 * parameter written on rank 0 only reaches rank 1; a fault on rank 1 fails the step on both ranks
 * (rank 0's message names rank 1) with nothing changed, and training then continues; ranks that
 * disagree on the batch size or whose labels are refused fail together; measured splits agree on
 * every rank. */
#define _POSIX_C_SOURCE 200809L
#include <mpi.h>

#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

clnn_status clnn__nn_par_inject_fault(clnn_net *net, int device, int phase, cl_int err);
clnn_status clnn__nn_par_set_delay(clnn_net *net, int device, double seconds);
clnn_model *clnn__nn_par_replica(clnn_net *net, int device);
enum { FAULT_BACKWARD = 1 };

/* The stated tolerance (as tests/test_multi_device.c): every parameter after 20 steps. */
#define PAR_RTOL 1e-4f
#define PAR_ATOL 1e-5f

static int rank, nranks;
static clnn_context *ctx;

enum { B = 32, C = 10, IN = 64, NB = 8 };
static float X[NB][B * IN];
static int32_t Y[NB][B];

static void make_data(void) {
  tu_seed(4242); /* the same global batches on every rank */
  for (int b = 0; b < NB; b++)
    for (int i = 0; i < B; i++) {
      int32_t label = (int32_t)tu_uniform(0, C);
      if (label >= C) label = C - 1;
      Y[b][i] = label;
      for (int j = 0; j < IN; j++)
        X[b][i * IN + j] = tu_uniform(-0.5f, 0.5f) + ((j * C / IN) == label ? 1.0f : 0.0f);
    }
}

/* The digits CNN of examples/digits_cnn.c, smaller: conv 8 - ReLU - conv 8 - ReLU - maxpool -
 * dropout 0.25 - flatten - dense 32 - ReLU - dense 10; Adam. */
static clnn_net *cnn(clnn_device_set *set, uint64_t seed) {
  size_t in[3] = {1, 8, 8};
  clnn_net *net = NULL;
  if (set) TU_OK(clnn_net_create_parallel(set, 3, in, seed, &net));
  else TU_OK(clnn_net_create(ctx, 3, in, seed, &net));
  if (!net) exit(1);
  TU_OK(clnn_net_add_conv2d(net, 8, 3, 1, 1));
  TU_OK(clnn_net_add_activation(net, CLNN_ACT_RELU, 0));
  TU_OK(clnn_net_add_conv2d(net, 8, 3, 1, 1));
  TU_OK(clnn_net_add_activation(net, CLNN_ACT_RELU, 0));
  TU_OK(clnn_net_add_maxpool2d(net, 2, 2, 0));
  TU_OK(clnn_net_add_dropout(net, 0.25f));
  TU_OK(clnn_net_add_flatten(net));
  TU_OK(clnn_net_add_dense(net, 32));
  TU_OK(clnn_net_add_activation(net, CLNN_ACT_RELU, 0));
  TU_OK(clnn_net_add_dense(net, C));
  clnn_optimizer_config opt;
  clnn_optimizer_config_init(&opt, CLNN_OPTIM_ADAM, 2e-3f);
  TU_OK(clnn_net_set_optimizer(net, &opt));
  return net;
}

static float *params_of(clnn_net *net, size_t *n, int grads) {
  size_t np = clnn_net_num_params(net), total = 0;
  clnn_tensor **ts = calloc(np, sizeof *ts);
  for (size_t i = 0; i < np; i++) {
    clnn_tensor *v = NULL, *g = NULL;
    TU_OK(clnn_net_param(net, clnn_net_param_name(net, i), &v, &g));
    ts[i] = grads ? g : v;
    total += clnn_tensor_numel(ts[i]);
  }
  float *out = malloc((total ? total : 1) * sizeof(float)), *p = out;
  for (size_t i = 0; i < np; i++) {
    if (!ts[i]) continue;
    TU_OK(clnn_tensor_read(ts[i], p, clnn_tensor_numel(ts[i])));
    p += clnn_tensor_numel(ts[i]);
  }
  free(ts);
  *n = total;
  return out;
}

/* Every rank's vector equals rank 0's, bit for bit (checked on every rank). */
static void same_on_every_rank(const float *v, size_t n, const char *what) {
  float *r0 = malloc((n ? n : 1) * sizeof(float));
  memcpy(r0, v, n * sizeof(float));
  MPI_Bcast(r0, (int)n, MPI_FLOAT, 0, MPI_COMM_WORLD);
  int same = memcmp(r0, v, n * sizeof(float)) == 0, all = 0;
  MPI_Allreduce(&same, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  TU_CHECK(all, "%s: every rank holds rank 0's bits", what);
  free(r0);
}

static void close_to(const float *got, const float *want, size_t n, const char *what) {
  double worst = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)got[i] - want[i]);
    if (d > worst) worst = d;
  }
  printf("  %s: max |difference| %.3g over %zu values\n", what, worst, n);
  tu_allclose(got, want, n, PAR_RTOL, PAR_ATOL, what);
}

/* Trains `steps` steps on every rank and, on rank 0, the same global batches in one process;
 * compares. `set`: each rank's device set (NULL: its context). */
static void compare(clnn_device_set *set, const double *weights, int steps, const char *what) {
  /* a different seed per rank: rank 0's initial parameters must win */
  clnn_net *net = cnn(set, 7 + (uint64_t)rank * 1000);
  TU_OK(clnn_net_set_mpi(net, NULL));
  int ndev = clnn_net_num_devices(net);
  printf("rank %d: %s: %d devices in all\n", rank, what, ndev);
  if (weights) TU_OK(clnn_net_set_split(net, CLNN_SPLIT_FIXED, weights, ndev));
  float lp[64] = {0};
  for (int s = 0; s < steps; s++) TU_OK(clnn_net_train_step(net, X[s % NB], B * IN, B, Y[s % NB], B,
                                                            NULL, 0, &lp[s]));
  size_t n;
  float *p = params_of(net, &n, 0);
  same_on_every_rank(p, n, what);
  same_on_every_rank(lp, (size_t)steps, "losses");
  if (rank == 0) {
    clnn_net *one = cnn(NULL, 7);
    float l1 = 0;
    for (int s = 0; s < steps; s++) {
      TU_OK(clnn_net_train_step(one, X[s % NB], B * IN, B, Y[s % NB], B, NULL, 0, &l1));
      TU_CHECK(fabsf(lp[s] - l1) <= 1e-4f + 1e-4f * fabsf(l1), "%s: step %d loss %.7f vs %.7f "
               "in one process", what, s, lp[s], l1);
    }
    printf("%s: loss %.5f (one process %.5f)\n", what, lp[steps - 1], l1);
    size_t n1;
    float *q = params_of(one, &n1, 0);
    TU_CHECK(n1 == n, "parameter counts");
    close_to(p, q, n, what);
    free(q);
    clnn_net_destroy(one);
  }
  free(p);
  clnn_net_destroy(net);
}

/* A graph model (a residual block, dropout, two heads' worth of structure) across the ranks
 * (and each rank's devices when `set`) against one process. */
static clnn_model *graph_model(clnn_device_set *set, uint64_t seed, int *x, int *lab) {
  clnn_graph *g = NULL;
  size_t in[3] = {1, 8, 8};
  int h, r, y, loss;
  clnn_conv2d_params cp;
  clnn_conv2d_params_init(&cp);
  cp.pad_top = cp.pad_bottom = cp.pad_left = cp.pad_right = 1;
  TU_OK(clnn_graph_create(&g));
  TU_OK(clnn_graph_input(g, "x", CLNN_FLOAT32, 3, in, x));
  TU_OK(clnn_graph_input(g, "label", CLNN_INT32, 0, NULL, lab));
  TU_OK(clnn_graph_conv2d(g, "stem", *x, 4, 3, 3, &cp, 1, &h));
  TU_OK(clnn_graph_activation(g, NULL, h, CLNN_ACT_RELU, 0, &h));
  TU_OK(clnn_graph_conv2d(g, "branch", h, 4, 3, 3, &cp, 1, &r));
  TU_OK(clnn_graph_add(g, "skip", r, h, &h));
  TU_OK(clnn_graph_activation(g, NULL, h, CLNN_ACT_RELU, 0, &h));
  TU_OK(clnn_graph_dropout(g, NULL, h, 0.25f, &h));
  TU_OK(clnn_graph_flatten(g, NULL, h, &h));
  TU_OK(clnn_graph_dense(g, "head", h, C, 1, &y));
  TU_OK(clnn_graph_loss(g, NULL, CLNN_LOSS_SOFTMAX_CROSS_ENTROPY, y, *lab, 1.0f, &loss));
  TU_OK(clnn_graph_output(g, y));
  clnn_model *m = NULL;
  if (set) TU_OK(clnn_model_create_parallel(set, g, seed, &m));
  else TU_OK(clnn_model_create(ctx, g, seed, &m));
  clnn_graph_destroy(g);
  if (!m) exit(1);
  clnn_optimizer_config opt;
  clnn_optimizer_config_init(&opt, CLNN_OPTIM_ADAM, 2e-3f);
  TU_OK(clnn_model_set_optimizer(m, &opt));
  return m;
}

static float *model_params(clnn_model *m, size_t *n) {
  size_t np = clnn_model_num_params(m), total = 0;
  for (size_t i = 0; i < np; i++) {
    clnn_tensor *t = NULL;
    TU_OK(clnn_model_param(m, clnn_model_param_name(m, i), &t, NULL));
    total += clnn_tensor_numel(t);
  }
  float *v = malloc(total * sizeof(float));
  size_t k = 0;
  for (size_t i = 0; i < np; i++) {
    clnn_tensor *t = NULL;
    TU_OK(clnn_model_param(m, clnn_model_param_name(m, i), &t, NULL));
    TU_OK(clnn_tensor_read(t, v + k, clnn_tensor_numel(t)));
    k += clnn_tensor_numel(t);
  }
  *n = total;
  return v;
}

static void compare_model(clnn_device_set *set, int steps, const char *what) {
  int x, lab;
  clnn_model *m = graph_model(set, 11 + (uint64_t)rank * 1000, &x, &lab); /* rank 0's wins */
  TU_OK(clnn_model_set_mpi(m, NULL));
  printf("rank %d: %s: %d devices in all\n", rank, what, clnn_model_num_devices(m));
  float lp[64] = {0};
  for (int s = 0; s < steps; s++) {
    clnn_feed f[2] = {{x, X[s % NB], B * IN, NULL}, {lab, Y[s % NB], B, NULL}};
    TU_OK(clnn_model_train_step(m, f, 2, B, &lp[s]));
  }
  size_t n;
  float *p = model_params(m, &n);
  same_on_every_rank(p, n, what);
  same_on_every_rank(lp, (size_t)steps, "graph model losses");
  if (rank == 0) {
    int x1, l1;
    clnn_model *one = graph_model(NULL, 11, &x1, &l1);
    float lo = 0;
    for (int s = 0; s < steps; s++) {
      clnn_feed f[2] = {{x1, X[s % NB], B * IN, NULL}, {l1, Y[s % NB], B, NULL}};
      TU_OK(clnn_model_train_step(one, f, 2, B, &lo));
    }
    TU_CHECK(fabsf(lp[steps - 1] - lo) <= 1e-4f + 1e-4f * fabsf(lo), "%s: loss %.7f vs %.7f in "
             "one process", what, lp[steps - 1], lo);
    size_t n1;
    float *q = model_params(one, &n1);
    TU_CHECK(n1 == n, "parameter counts");
    close_to(p, q, n, what);
    free(q);
    clnn_model_destroy(one);
  }
  free(p);
  clnn_model_destroy(m);
}

static void test_gradients(void) {
  clnn_net *net = cnn(NULL, 11);
  TU_OK(clnn_net_set_mpi(net, NULL));
  float loss;
  TU_OK(clnn_net_compute_gradients(net, X[3], B * IN, B, Y[3], B, NULL, 0, &loss));
  size_t n;
  float *g = params_of(net, &n, 1);
  same_on_every_rank(g, n, "summed gradients");
  TU_CHECK(clnn_net_step_count(net) == 0, "compute_gradients takes no step");
  if (rank == 0) {
    clnn_net *one = cnn(NULL, 11);
    float l1;
    TU_OK(clnn_net_compute_gradients(one, X[3], B * IN, B, Y[3], B, NULL, 0, &l1));
    size_t n1;
    float *q = params_of(one, &n1, 1);
    printf("gradients: loss %.6f (one process %.6f)\n", loss, l1);
    close_to(g, q, n, "gradients of 2 ranks vs one process");
    free(q);
    clnn_net_destroy(one);
  }
  free(g);
  clnn_net_destroy(net);
}

/* Writes, faults and disagreements. */
static void test_failures(void) {
  clnn_net *net = cnn(NULL, 21);
  TU_OK(clnn_net_set_mpi(net, NULL));
  int r = -1, s = -1;
  TU_OK(clnn_net_mpi_rank(net, &r, &s));
  TU_CHECK(r == rank && s == nranks, "clnn_net_mpi_rank %d/%d", r, s);
  TU_CHECK(clnn_net_set_mpi(net, NULL) == CLNN_ERROR_INVALID_ARGUMENT, "joined twice is refused");
  for (int k = 0; k < 2; k++) TU_OK(clnn_net_train_step(net, X[k], B * IN, B, Y[k], B, NULL, 0,
                                                        NULL));
  /* a write on rank 0 only: the next step starts from rank 0's values everywhere */
  if (rank == 0) {
    clnn_tensor *b;
    TU_OK(clnn_net_param(net, "dense2.bias", &b, NULL));
    TU_OK(clnn_tensor_fill(b, 0.25f));
  }
  TU_OK(clnn_net_train_step(net, X[2], B * IN, B, Y[2], B, NULL, 0, NULL));
  size_t n;
  float *p = params_of(net, &n, 0);
  same_on_every_rank(p, n, "after a write on rank 0");
  /* a fault on rank 1: both ranks fail, nothing changes */
  uint64_t steps = clnn_net_step_count(net);
  if (rank == 1) TU_OK(clnn__nn_par_inject_fault(net, 0, FAULT_BACKWARD, CL_OUT_OF_RESOURCES));
  clnn_status st = clnn_net_train_step(net, X[3], B * IN, B, Y[3], B, NULL, 0, NULL);
  TU_CHECK(st == CLNN_ERROR_OPENCL, "rank %d: a fault on rank 1 fails the step (%s)", rank,
           clnn_status_string(st));
  TU_CHECK(strstr(clnn_last_error(), "rank 1, device 0") != NULL &&
               strstr(clnn_last_error(), "CL_OUT_OF_RESOURCES") != NULL,
           "rank %d: the message names rank 1's device: %s", rank, clnn_last_error());
  if (rank == 0) printf("fault on rank 1, seen on rank 0: %s\n", clnn_last_error());
  size_t n2;
  float *q = params_of(net, &n2, 0);
  TU_CHECK(n2 == n && memcmp(p, q, n * sizeof(float)) == 0 && clnn_net_step_count(net) == steps,
           "rank %d: parameters and step count as before the failed step", rank);
  free(q);
  /* ranks that disagree on the batch size */
  st = clnn_net_train_step(net, X[4], (rank == 0 ? B : B / 2) * IN, rank == 0 ? B : B / 2, Y[4],
                           rank == 0 ? B : B / 2, NULL, 0, NULL);
  TU_CHECK(st == CLNN_ERROR_INVALID_ARGUMENT && strstr(clnn_last_error(), "disagree"),
           "rank %d: batch sizes that differ are refused on every rank (%s)", rank,
           clnn_last_error());
  /* labels refused on rank 1 only */
  int32_t bad[B];
  memcpy(bad, Y[4], sizeof bad);
  if (rank == 1) bad[0] = C;
  st = clnn_net_train_step(net, X[4], B * IN, B, bad, B, NULL, 0, NULL);
  TU_CHECK(st == CLNN_ERROR_INVALID_ARGUMENT &&
               strstr(clnn_last_error(), rank == 1 ? "labels[0]" : "rank 1 could not start"),
           "rank %d: labels refused on rank 1 fail both ranks (%s)", rank, clnn_last_error());
  TU_CHECK(clnn_net_step_count(net) == steps, "no step taken");
  /* training continues, identical everywhere */
  for (int k = 4; k < 6; k++) TU_OK(clnn_net_train_step(net, X[k], B * IN, B, Y[k], B, NULL, 0,
                                                        NULL));
  free(p);
  p = params_of(net, &n, 0);
  same_on_every_rank(p, n, "after the failures");
  free(p);
  /* a measured split: rank 1's device slowed down; every rank computes the same shares */
  TU_OK(clnn_net_set_split(net, CLNN_SPLIT_MEASURE, NULL, 0));
  if (rank == 1) TU_OK(clnn__nn_par_set_delay(net, 0, 0.15));
  for (int k = 0; k < 4; k++) TU_OK(clnn_net_train_step(net, X[k], B * IN, B, Y[k], B, NULL, 0,
                                                        NULL));
  if (rank == 1) TU_OK(clnn__nn_par_set_delay(net, 0, 0.0));
  double sh[2] = {0, 0};
  int measured = 0;
  TU_OK(clnn_net_get_split(net, sh, 2, &measured));
  TU_CHECK(measured && sh[1] < sh[0], "rank %d: measured split %.3f %.3f", rank, sh[0], sh[1]);
  float shf[2] = {(float)sh[0], (float)sh[1]};
  same_on_every_rank(shf, 2, "measured shares");
  TU_OK(clnn_net_train_step(net, X[5], B * IN, B, Y[5], B, NULL, 0, NULL));
  p = params_of(net, &n, 0);
  same_on_every_rank(p, n, "after training on the measured split");
  free(p);
  clnn_net_destroy(net);
}

int main(int argc, char **argv) {
  setenv("POCL_DEVICES", "pthread pthread", 0); /* two PoCL devices per rank for the last part */
  TU_OK(clnn_mpi_init(&argc, &argv, &rank, &nranks));
  TU_CHECK(clnn_mpi_available(), "built with MPI");
  if (nranks != 2) {
    fprintf(stderr, "FAIL: run this test with mpiexec -n 2 (got %d ranks)\n", nranks);
    clnn_mpi_finalize();
    return 1;
  }
  ctx = tu_context();
  make_data();
  compare(NULL, NULL, 20, "2 ranks x 1 device, equal split, 20 Adam steps");
  double w[2] = {3, 1};
  compare(NULL, w, 20, "2 ranks x 1 device, 3:1 split, 20 Adam steps");
  compare_model(NULL, 20, "graph model: 2 ranks x 1 device, 20 Adam steps");
  test_gradients();
  test_failures();
  clnn_device_set *set = NULL;
  TU_OK(clnn_device_set_create("all", NULL, &set));
  if (set && clnn_device_set_size(set) >= 2) {
    compare(set, NULL, 12, "2 ranks x 2 devices, 12 Adam steps");
    compare_model(set, 12, "graph model: 2 ranks x 2 devices, 12 Adam steps");
  } else {
    printf("rank %d: fewer than 2 devices per rank: the 2 x 2 part is not run\n", rank);
    TU_CHECK(0, "two devices per rank (POCL_DEVICES)");
  }
  clnn_device_set_destroy(set);
  clnn_context_destroy(ctx);
  char name[32];
  snprintf(name, sizeof name, "test_mpi rank %d", rank);
  int rc = tu_finish(name);
  int worst = 0;
  MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  TU_OK(clnn_mpi_finalize());
  return worst;
}
