/* bench/graph_vs_sequential.c — clnn-bench-graph: training-step speed of a network run as a
 * sequential clnn_net and as the same layers run through the graph layer (clnn_model), side by
 * side in one run. The graph is made from the network itself (the same layers, names and
 * parameters), so only the executor differs. Rounds alternate between the two and the median of
 * each is reported; nothing is asserted. Usage: clnn-bench-graph [digits|mnist|both] [rounds]. */
#define _POSIX_C_SOURCE 200809L
#include "nn/graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static clnn_net *build(clnn_context *ctx, int mnist) {
  size_t in[3] = {1, mnist ? 28 : 8, mnist ? 28 : 8};
  clnn_net *net = NULL;
  clnn_status s = clnn_net_create(ctx, 3, in, 1, &net);
  if (s == CLNN_SUCCESS) s = clnn_net_add_conv2d(net, 32, 3, 1, 1);
  if (s == CLNN_SUCCESS) s = clnn_net_add_activation(net, CLNN_ACT_RELU, 0);
  if (s == CLNN_SUCCESS && mnist) s = clnn_net_add_maxpool2d(net, 2, 2, 0);
  if (s == CLNN_SUCCESS) s = clnn_net_add_conv2d(net, mnist ? 64 : 32, 3, 1, 1);
  if (s == CLNN_SUCCESS) s = clnn_net_add_activation(net, CLNN_ACT_RELU, 0);
  if (s == CLNN_SUCCESS) s = clnn_net_add_maxpool2d(net, 2, 2, 0);
  if (s == CLNN_SUCCESS) s = clnn_net_add_dropout(net, 0.25f);
  if (s == CLNN_SUCCESS) s = clnn_net_add_flatten(net);
  if (s == CLNN_SUCCESS) s = clnn_net_add_dense(net, 128);
  if (s == CLNN_SUCCESS) s = clnn_net_add_activation(net, CLNN_ACT_RELU, 0);
  if (s == CLNN_SUCCESS && mnist) s = clnn_net_add_dropout(net, 0.5f);
  if (s == CLNN_SUCCESS) s = clnn_net_add_dense(net, 10);
  if (s != CLNN_SUCCESS) {
    fprintf(stderr, "clnn-bench-graph: %s\n", clnn_last_error());
    clnn_net_destroy(net);
    return NULL;
  }
  return net;
}

static int run(clnn_context *ctx, int mnist, int rounds) {
  const char *name = mnist ? "mnist_cnn (28x28, batch 64)" : "digits_cnn (8x8, batch 32)";
  size_t batch = mnist ? 64 : 32, side = mnist ? 28 : 8, numel = side * side;
  int steps = mnist ? 5 : 40;
  clnn_net *net = build(ctx, mnist);
  if (!net) return 1;
  clnn_graph *g = NULL;
  clnn_model *m = NULL;
  float *x = malloc(batch * numel * sizeof(float));
  int32_t *lab = malloc(batch * sizeof(int32_t));
  double *tn = calloc((size_t)rounds, sizeof(double)), *tg = calloc((size_t)rounds, sizeof(double));
  int rc = 1;
  /* finalise the network first: the graph then describes exactly its layers */
  if (!x || !lab || !tn || !tg || clnn_net_num_params(net) == 0 || clnn__nn_to_graph(net, 0, &g) ||
      clnn_model_create(ctx, g, 1, &m)) {
    fprintf(stderr, "clnn-bench-graph: %s\n", clnn_last_error());
    goto done;
  }
  int xin, lin;
  if (clnn_graph_find(g, "input", &xin) || clnn_graph_find(g, "label", &lin)) goto done;
  srand(1);
  for (size_t i = 0; i < batch * numel; i++) x[i] = (float)rand() / (float)RAND_MAX;
  for (size_t i = 0; i < batch; i++) lab[i] = (int32_t)(i % 10);
  clnn_feed f[2] = {{xin, x, batch * numel, NULL}, {lin, lab, batch, NULL}};
  /* warm-up: kernels built, buffers allocated */
  for (int i = 0; i < 2; i++)
    if (clnn_net_train_step(net, x, batch * numel, batch, lab, batch, NULL, 0, NULL) ||
        clnn_model_train_step(m, f, 2, batch, NULL))
      goto fail;
  for (int r = 0; r < rounds; r++) {
    for (int which = 0; which < 2; which++) {
      int first_graph = r & 1; /* alternate which goes first */
      int graph = which ^ first_graph;
      if (clnn_context_finish(ctx)) goto fail;
      double t0 = now();
      for (int s = 0; s < steps; s++)
        if (graph ? clnn_model_train_step(m, f, 2, batch, NULL)
                  : clnn_net_train_step(net, x, batch * numel, batch, lab, batch, NULL, 0, NULL))
          goto fail;
      if (clnn_context_finish(ctx)) goto fail;
      (graph ? tg : tn)[r] = (now() - t0) / steps;
    }
  }
  qsort(tn, (size_t)rounds, sizeof(double), cmp);
  qsort(tg, (size_t)rounds, sizeof(double), cmp);
  double mn = tn[rounds / 2], mg = tg[rounds / 2];
  printf("%-28s sequential %8.3f ms/step %9.0f images/s | graph %8.3f ms/step %9.0f images/s | "
         "graph/sequential speed %.3f\n",
         name, 1e3 * mn, (double)batch / mn, 1e3 * mg, (double)batch / mg, mn / mg);
  rc = 0;
  goto done;
fail:
  fprintf(stderr, "clnn-bench-graph: %s\n", clnn_last_error());
done:
  clnn_model_destroy(m);
  clnn_graph_destroy(g);
  clnn_net_destroy(net);
  free(x);
  free(lab);
  free(tn);
  free(tg);
  return rc;
}

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "both";
  int rounds = argc > 2 ? atoi(argv[2]) : 9;
  if (rounds < 1 || (strcmp(which, "digits") && strcmp(which, "mnist") && strcmp(which, "both"))) {
    fprintf(stderr, "usage: clnn-bench-graph [digits|mnist|both] [rounds >= 1]\n");
    return 2;
  }
  clnn_context *ctx = NULL;
  if (clnn_context_create(NULL, &ctx)) {
    fprintf(stderr, "clnn-bench-graph: %s\n", clnn_last_error());
    return 1;
  }
  clnn_device_info info;
  clnn_device_info_init(&info);
  if (clnn_context_device_info(ctx, &info) == CLNN_SUCCESS) printf("device: %s\n", info.name);
  int rc = 0;
  if (strcmp(which, "mnist")) rc |= run(ctx, 0, rounds);
  if (strcmp(which, "digits")) rc |= run(ctx, 1, rounds);
  clnn_context_destroy(ctx);
  return rc;
}
