/* tests/test_host_lengths.c — every public function that reads or writes a host
 * buffer takes its element count and checks it before touching the buffer. Each buffer below is
 * allocated on the heap with exactly the (short) length that is passed, so under the sanitizer
 * build (-DCLNN_SANITIZE=ON, tools/test-hardening.sh) a read or write past it would be a reported
 * heap overflow; before 0.2 these calls had no count and read past the buffer (the upload, the LSTM
 * time-major copy, the label check). Every refusal is CLNN_ERROR_INVALID_ARGUMENT naming the count,
 * and changes nothing (parameters and step count as before); the right counts still work.
 * Also: a network or model that one thread is inside a call on refuses a
 * second thread with CLNN_ERROR_INVALID_ARGUMENT instead of racing on its buffers. */
#include "nn/model.h"
#include "nn/nn_internal.h"
#include "test_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static clnn_context *ctx;

#define MSG(needle) \
  TU_CHECK(strstr(clnn_last_error(), (needle)) != NULL, "message names %s: %s", (needle), clnn_last_error())

/* A heap copy of exactly n elements (n >= 1 is allocated even for 0, so that NULL means NULL). */
static float *fbuf(size_t n) {
  float *p = malloc((n ? n : 1) * sizeof *p);
  for (size_t i = 0; i < n; i++) p[i] = 0.01f * (float)(i % 97);
  return p;
}
static int32_t *ibuf(size_t n, int32_t classes) {
  int32_t *p = malloc((n ? n : 1) * sizeof *p);
  for (size_t i = 0; i < n; i++) p[i] = (int32_t)i % classes;
  return p;
}

static float *params(clnn_net *net, size_t *count) {
  size_t total = 0, n = clnn_net_num_params(net);
  for (size_t i = 0; i < n; i++) {
    clnn_tensor *v;
    clnn_net_param(net, clnn_net_param_name(net, i), &v, NULL);
    total += clnn_tensor_numel(v);
  }
  float *all = malloc(total * sizeof *all), *p = all;
  for (size_t i = 0; i < n; i++) {
    clnn_tensor *v;
    clnn_net_param(net, clnn_net_param_name(net, i), &v, NULL);
    TU_OK(clnn_tensor_read(v, p, clnn_tensor_numel(v)));
    p += clnn_tensor_numel(v);
  }
  *count = total;
  return all;
}

/* [1, 8, 8] -> conv -> flatten -> dense 3 (softmax cross-entropy) */
static void test_image_net(void) {
  size_t in[3] = {1, 8, 8};
  enum { B = 4, IN = 64, C = 3 };
  clnn_net *net = NULL;
  TU_OK(clnn_net_create(ctx, 3, in, 1, &net));
  TU_OK(clnn_net_add_conv2d(net, 2, 3, 1, 1));
  TU_OK(clnn_net_add_flatten(net));
  TU_OK(clnn_net_add_dense(net, C));
  size_t n0;
  float *before = params(net, &n0);
  float *xs = fbuf(B * IN - 1), *x = fbuf(B * IN), loss = -1;
  int32_t *ls = ibuf(B - 1, C), *l = ibuf(B, C);
  TU_STATUS(clnn_net_train_step(net, xs, B * IN - 1, B, l, B, NULL, 0, &loss),
            CLNN_ERROR_INVALID_ARGUMENT);
  MSG("x_count is 255 but 4 samples of 64 inputs need 256");
  TU_STATUS(clnn_net_train_step(net, x, B * IN, B, ls, B - 1, NULL, 0, &loss),
            CLNN_ERROR_INVALID_ARGUMENT);
  MSG("labels_count is 3 but 4 samples need 4 labels");
  TU_STATUS(clnn_net_compute_gradients(net, xs, B * IN - 1, B, l, B, NULL, 0, &loss),
            CLNN_ERROR_INVALID_ARGUMENT);
  MSG("x_count");
  TU_STATUS(clnn_net_compute_gradients(net, x, B * IN, B, ls, B - 1, NULL, 0, &loss),
            CLNN_ERROR_INVALID_ARGUMENT);
  MSG("labels_count");
  /* a count larger than what the batch needs is refused too (it says the caller's batch is off) */
  TU_STATUS(clnn_net_train_step(net, x, B * IN, B - 1, l, B, NULL, 0, &loss),
            CLNN_ERROR_INVALID_ARGUMENT);
  TU_CHECK(loss == -1 && clnn_net_step_count(net) == 0, "refused steps changed nothing");
  size_t n1;
  float *after = params(net, &n1);
  TU_CHECK(n0 == n1 && memcmp(before, after, n0 * sizeof(float)) == 0,
           "refused steps left the parameters alone");
  free(after);
  float *y = fbuf(B * C), acc = -1;
  TU_STATUS(clnn_net_predict(net, xs, B * IN - 1, B, y, B * C), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("x_count");
  TU_STATUS(clnn_net_accuracy(net, xs, B * IN - 1, l, B, B, 2, &acc), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("x_count");
  TU_STATUS(clnn_net_accuracy(net, x, B * IN, ls, B - 1, B, 2, &acc), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("labels_count");
  TU_CHECK(acc == -1, "accuracy untouched");
  /* the right counts work */
  TU_OK(clnn_net_train_step(net, x, B * IN, B, l, B, NULL, 0, &loss));
  TU_OK(clnn_net_compute_gradients(net, x, B * IN, B, l, B, NULL, 0, &loss));
  TU_OK(clnn_net_predict(net, x, B * IN, B, y, B * C));
  TU_OK(clnn_net_accuracy(net, x, B * IN, l, B, B, 3, &acc));
  TU_CHECK(clnn_net_step_count(net) == 1, "one step");
  free(before);
  free(xs);
  free(x);
  free(ls);
  free(l);
  free(y);
  clnn_net_destroy(net);
}

/* [T, F] -> LSTM (every step) -> dense: per-step labels (batch * T), the time-major copy; MSE on
 * the last state: targets. */
static void test_sequence_net(void) {
  enum { B = 3, T = 5, F = 2, C = 4 };
  size_t in[2] = {T, F};
  clnn_net *net = NULL;
  TU_OK(clnn_net_create(ctx, 2, in, 2, &net));
  TU_OK(clnn_net_add_lstm(net, 6, 1));
  TU_OK(clnn_net_add_dense(net, C));
  float *xs = fbuf(B * T * F - 1), *x = fbuf(B * T * F), loss = -1;
  int32_t *l1 = ibuf(B, C), *l = ibuf(B * T, C);
  TU_STATUS(clnn_net_train_step(net, xs, B * T * F - 1, B, l, B * T, NULL, 0, &loss),
            CLNN_ERROR_INVALID_ARGUMENT);
  MSG("x_count");
  /* one label per sample where the output has one per time step */
  TU_STATUS(clnn_net_train_step(net, x, B * T * F, B, l1, B, NULL, 0, &loss),
            CLNN_ERROR_INVALID_ARGUMENT);
  MSG("labels_count is 3 but 3 samples need 15 labels (one per time step)");
  float acc = -1;
  TU_STATUS(clnn_net_accuracy(net, x, B * T * F, l1, B, B, B, &acc), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("labels_count");
  TU_OK(clnn_net_train_step(net, x, B * T * F, B, l, B * T, NULL, 0, &loss));
  TU_OK(clnn_net_accuracy(net, x, B * T * F, l, B * T, B, 2, &acc));
  clnn_net_destroy(net);

  net = NULL;
  TU_OK(clnn_net_create(ctx, 2, in, 3, &net));
  TU_OK(clnn_net_add_lstm(net, 6, 0));
  TU_OK(clnn_net_add_dense(net, 2));
  TU_OK(clnn_net_set_loss(net, CLNN_LOSS_MSE));
  float *ts = fbuf(B * 2 - 1), *t = fbuf(B * 2);
  TU_STATUS(clnn_net_train_step(net, x, B * T * F, B, NULL, 0, ts, B * 2 - 1, &loss),
            CLNN_ERROR_INVALID_ARGUMENT);
  MSG("targets_count is 5 but 3 samples of 2 outputs need 6");
  TU_STATUS(clnn_net_compute_gradients(net, x, B * T * F, B, NULL, 0, ts, B * 2 - 1, &loss),
            CLNN_ERROR_INVALID_ARGUMENT);
  TU_CHECK(clnn_net_step_count(net) == 0, "nothing trained");
  /* the pointer the loss does not use and its count are ignored */
  TU_OK(clnn_net_train_step(net, x, B * T * F, B, l1, 12345, t, B * 2, &loss));
  free(xs);
  free(x);
  free(l1);
  free(l);
  free(ts);
  free(t);
  clnn_net_destroy(net);
}

static void test_datasets(void) {
  enum { N = 5, D = 3 };
  size_t dims[1] = {D};
  float *xs = fbuf(N * D - 1), *x = fbuf(N * D);
  int32_t *ls = ibuf(N - 1, 2), *l = ibuf(N, 2);
  clnn_dataset *ds = NULL;
  TU_STATUS(clnn_dataset_create(N, 1, dims, xs, N * D - 1, l, N, &ds), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("x_count is 14 but 5 samples of 3 floats need 15");
  TU_STATUS(clnn_dataset_create(N, 1, dims, x, N * D, ls, N - 1, &ds), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("labels_count is 4");
  TU_CHECK(ds == NULL, "*out untouched");
  /* no labels: labels_count is ignored */
  TU_OK(clnn_dataset_create(N, 1, dims, x, N * D, NULL, 7, &ds));
  clnn_dataset_destroy(ds);
  ds = NULL;
  TU_OK(clnn_dataset_create(N, 1, dims, x, N * D, l, N, &ds));
  float *bs = fbuf(2 * D - 1), *b = fbuf(2 * D);
  int32_t *bls = ibuf(1, 2), *bl = ibuf(2, 2);
  TU_STATUS(clnn_dataset_batch(ds, 1, 2, bs, 2 * D - 1, bl, 2), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("x_count is 5 but 2 samples of 3 floats need 6");
  TU_STATUS(clnn_dataset_batch(ds, 1, 2, b, 2 * D, bls, 1), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("labels_count is 1");
  TU_OK(clnn_dataset_batch(ds, 1, 2, b, 2 * D, bl, 2));
  TU_OK(clnn_dataset_batch(ds, 3, 2, b, 2 * D, NULL, 0));
  TU_CHECK(b[0] == x[3 * D] && b[2 * D - 1] == x[5 * D - 1], "batch copied");
  clnn_dataset_destroy(ds);
  free(xs);
  free(x);
  free(ls);
  free(l);
  free(bs);
  free(b);
  free(bls);
  free(bl);
}

/* ---- in-use flag ---- */

typedef struct other_call {
  clnn_net *net;
  clnn_model *model;
  clnn_status st;
  char msg[256];
} other_call;

static void *call_from_other_thread(void *arg) {
  other_call *c = arg;
  float x[4] = {1, 2, 3, 4}, y[2];
  if (c->net) {
    c->st = clnn_net_predict(c->net, x, 4, 1, y, 2);
  } else {
    clnn_feed f = {0, x, 4, NULL};
    c->st = clnn_model_predict(c->model, &f, 1, 1, -1, y, 2);
  }
  snprintf(c->msg, sizeof c->msg, "%s", clnn_last_error());
  return NULL;
}

static void run_other(other_call *c) {
  pthread_t t;
  TU_CHECK(pthread_create(&t, NULL, call_from_other_thread, c) == 0, "thread");
  pthread_join(t, NULL);
}

static void test_in_use(void) {
  size_t in = 4;
  clnn_net *net = NULL;
  TU_OK(clnn_net_create(ctx, 1, &in, 1, &net));
  TU_OK(clnn_net_add_dense(net, 2));
  /* this thread is inside a call on the network (held as a call holds it) */
  TU_OK(clnn__busy_enter(&net->busy, "network", "test"));
  other_call c = {net, NULL, CLNN_SUCCESS, ""};
  run_other(&c);
  TU_CHECK(c.st == CLNN_ERROR_INVALID_ARGUMENT && strstr(c.msg, "in use by another thread"),
           "a second thread is refused: %s", c.msg);
  /* the holding thread itself may call in (re-entry) */
  float x[4] = {1, 2, 3, 4}, y[2];
  TU_OK(clnn_net_predict(net, x, 4, 1, y, 2));
  clnn__busy_leave(&net->busy);
  run_other(&c);
  TU_CHECK(c.st == CLNN_SUCCESS, "after the call the other thread may use it: %s", c.msg);
  clnn_net_destroy(net);

  clnn_graph *g = NULL;
  int xv, yv;
  size_t d[1] = {4};
  TU_OK(clnn_graph_create(&g));
  TU_OK(clnn_graph_input(g, "x", CLNN_FLOAT32, 1, d, &xv));
  TU_OK(clnn_graph_dense(g, NULL, xv, 2, 1, &yv));
  TU_OK(clnn_graph_output(g, yv));
  clnn_model *m = NULL;
  TU_OK(clnn_model_create(ctx, g, 1, &m));
  clnn_graph_destroy(g);
  TU_OK(clnn__busy_enter(&m->busy, "model", "test"));
  other_call mc = {NULL, m, CLNN_SUCCESS, ""};
  run_other(&mc);
  TU_CHECK(mc.st == CLNN_ERROR_INVALID_ARGUMENT && strstr(mc.msg, "model is in use"),
           "a second thread is refused by the model: %s", mc.msg);
  clnn__busy_leave(&m->busy);
  run_other(&mc);
  TU_CHECK(mc.st == CLNN_SUCCESS, "then allowed: %s", mc.msg);
  clnn_model_destroy(m);
}

int main(void) {
  ctx = tu_context();
  test_image_net();
  test_sequence_net();
  test_datasets();
  test_in_use();
  clnn_context_destroy(ctx);
  return tu_finish("test_host_lengths");
}
