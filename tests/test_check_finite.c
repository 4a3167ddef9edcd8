/* tests/test_check_finite.c — the optional non-finite check: a network (and a graph model) driven
 * to divergence by a huge learning rate stops with CLNN_ERROR_NOT_FINITE naming the loss or a
 * gradient, with every parameter as before the failing step; without the check the same run ends
 * with non-finite weights (so the check is what stops it); with the check on a sane run trains as
 * before (the same bits as without it). The graph model's check also on two devices, where it
 * checks the summed gradients on the host. */
#define _POSIX_C_SOURCE 200809L
#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { B = 8, F = 4 };

static clnn_net *make_net(clnn_context *ctx, float lr) {
  size_t in[1] = {F};
  clnn_net *net = NULL;
  TU_OK(clnn_net_create(ctx, 1, in, 3, &net));
  TU_OK(clnn_net_add_dense(net, 8));
  TU_OK(clnn_net_add_activation(net, CLNN_ACT_RELU, 0));
  TU_OK(clnn_net_add_dense(net, 1));
  TU_OK(clnn_net_set_loss(net, CLNN_LOSS_MSE));
  clnn_optimizer_config oc;
  clnn_optimizer_config_init(&oc, CLNN_OPTIM_SGD, lr);
  TU_OK(clnn_net_set_optimizer(net, &oc));
  return net;
}

static float *weights(clnn_net *net, size_t *n) {
  clnn_tensor *t = NULL;
  TU_OK(clnn_net_param(net, "dense1.weight", &t, NULL));
  *n = clnn_tensor_numel(t);
  return tu_read(t);
}

static void network(clnn_context *ctx) {
  float x[B * F], y[B];
  tu_seed(8);
  tu_fill_uniform(x, B * F, -1, 1);
  tu_fill_uniform(y, B, 10, 20);
  /* without the check: the weights end non-finite */
  clnn_net *a = make_net(ctx, 1e18f);
  for (int s = 0; s < 6; s++) clnn_net_train_step(a, x, B * F, B, NULL, 0, y, B, NULL);
  size_t n;
  float *w = weights(a, &n);
  int bad = 0;
  for (size_t i = 0; i < n; i++) bad |= !isfinite(w[i]);
  TU_CHECK(bad, "without the check the diverging run ends with non-finite weights");
  free(w);
  clnn_net_destroy(a);
  /* with it: a clear error at the first non-finite step, nothing updated by that step */
  clnn_net *b = make_net(ctx, 1e18f);
  TU_OK(clnn_net_set_check_finite(b, 1));
  clnn_status st = CLNN_SUCCESS;
  int steps = 0;
  float *before = NULL;
  while (st == CLNN_SUCCESS && steps < 10) {
    free(before);
    before = weights(b, &n);
    st = clnn_net_train_step(b, x, B * F, B, NULL, 0, y, B, NULL);
    steps++;
  }
  TU_CHECK(st == CLNN_ERROR_NOT_FINITE, "stopped with CLNN_ERROR_NOT_FINITE (got %s after %d steps)",
           clnn_status_string(st), steps);
  TU_CHECK(strstr(clnn_last_error(), "loss") || strstr(clnn_last_error(), "gradient of '"),
           "the message names the loss or a gradient: %s", clnn_last_error());
  float *after = weights(b, &n);
  TU_CHECK(before && memcmp(before, after, n * sizeof(float)) == 0,
           "the failing step updated nothing");
  uint64_t sc = clnn_net_step_count(b);
  TU_CHECK(sc == (uint64_t)(steps - 1), "step count %llu after %d steps, the last refused",
           (unsigned long long)sc, steps);
  free(before);
  free(after);
  clnn_net_destroy(b);
  /* a sane run gives the same bits with and without the check */
  clnn_net *c = make_net(ctx, 1e-2f), *d = make_net(ctx, 1e-2f);
  TU_OK(clnn_net_set_check_finite(d, 1));
  for (int s = 0; s < 5; s++) {
    TU_OK(clnn_net_train_step(c, x, B * F, B, NULL, 0, y, B, NULL));
    TU_OK(clnn_net_train_step(d, x, B * F, B, NULL, 0, y, B, NULL));
  }
  float *wc = weights(c, &n), *wd = weights(d, &n);
  TU_CHECK(memcmp(wc, wd, n * sizeof(float)) == 0, "the check changes no bit of a sane run");
  free(wc);
  free(wd);
  clnn_net_destroy(c);
  clnn_net_destroy(d);
}

static clnn_graph *model_graph(int *x, int *t) {
  clnn_graph *g = NULL;
  size_t in[1] = {F}, one[1] = {1};
  int h, y, loss;
  TU_OK(clnn_graph_create(&g));
  TU_OK(clnn_graph_input(g, "x", CLNN_FLOAT32, 1, in, x));
  TU_OK(clnn_graph_input(g, "t", CLNN_FLOAT32, 1, one, t));
  TU_OK(clnn_graph_dense(g, "fc", *x, 8, 1, &h));
  TU_OK(clnn_graph_activation(g, NULL, h, CLNN_ACT_RELU, 0, &h));
  TU_OK(clnn_graph_dense(g, "out", h, 1, 1, &y));
  TU_OK(clnn_graph_loss(g, NULL, CLNN_LOSS_MSE, y, *t, 1.0f, &loss));
  return g;
}

/* The model on one context, or (set not NULL) on every device of the set: on several devices the
 * check runs on the summed gradients the host holds. */
static void model(clnn_context *ctx, clnn_device_set *set) {
  int x, t;
  clnn_graph *g = model_graph(&x, &t);
  clnn_model *m = NULL;
  if (set) TU_OK(clnn_model_create_parallel(set, g, 3, &m));
  else TU_OK(clnn_model_create(ctx, g, 3, &m));
  clnn_graph_destroy(g);
  if (!m) return;
  clnn_optimizer_config oc;
  clnn_optimizer_config_init(&oc, CLNN_OPTIM_SGD, 1e18f);
  TU_OK(clnn_model_set_optimizer(m, &oc));
  TU_OK(clnn_model_set_check_finite(m, 1));
  float xb[B * F], tb[B];
  tu_fill_uniform(xb, B * F, -1, 1);
  tu_fill_uniform(tb, B, 10, 20);
  clnn_feed f[2] = {{x, xb, B * F, NULL}, {t, tb, B, NULL}};
  clnn_status st = CLNN_SUCCESS;
  int steps = 0;
  while (st == CLNN_SUCCESS && steps < 10) {
    st = clnn_model_train_step(m, f, 2, B, NULL);
    steps++;
  }
  const char *where = set ? "on several devices" : "on one device";
  TU_CHECK(st == CLNN_ERROR_NOT_FINITE, "the model %s stopped with CLNN_ERROR_NOT_FINITE (%s)",
           where, clnn_last_error());
  TU_CHECK(strstr(clnn_last_error(), "objective") || strstr(clnn_last_error(), "gradient of '"),
           "the message %s names the objective or a gradient: %s", where, clnn_last_error());
  TU_CHECK(clnn_model_step_count(m) == (uint64_t)(steps - 1), "no update by the refused step %s",
           where);
  clnn_model_destroy(m);
}

int main(void) {
  setenv("POCL_DEVICES", "pthread pthread", 0); /* two devices for the parallel model */
  clnn_context *ctx = tu_context();
  network(ctx);
  model(ctx, NULL);
  clnn_device_set *set = NULL;
  TU_OK(clnn_device_set_create("all", NULL, &set));
  if (set && clnn_device_set_size(set) >= 2) model(NULL, set);
  else TU_CHECK(0, "two devices for the parallel model (POCL_DEVICES=\"pthread pthread\")");
  clnn_device_set_destroy(set);
  clnn_context_destroy(ctx);
  return tu_finish("test_check_finite");
}
