/* tests/test_graph.c — graph models: the same network built as a graph and as a sequential
 * clnn_net trains to the same bits; gradients of an Inception-style block with a residual, a
 * permute, a product, shared weights, batch norm, and three weighted losses (one written with
 * graph ops) against central finite differences, for parameters and the input; backward from a
 * caller's seed; freezing (no gradient written, weights bit-identical, lr 0); determinism;
 * schedules; shape errors that name the node and leave the graph unchanged. */
#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The README's graph example, compiled here verbatim and run on the shipped data: the residual
 * network must learn (>= 85% test accuracy after 25 epochs; 91.9% here) and the file alone must give the
 * same accuracy. */
#define main readme_graph_example_main
#include "readme_graph_example.c"
#undef main

static void readme_example(void) {
  const char *src = getenv("CLNN_SOURCE_DIR");
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/data/digits", src ? src : "..");
  char *argv[] = {"readme_graph_example", dir, NULL};
  int rc = 0;
  char *out = tu_run_captured(readme_graph_example_main, 2, argv, &rc);
  TU_CHECK(rc == 0, "the README graph example failed (%s)", clnn_last_error());
  /* its one line: the trained model's test accuracy, and the same from the file alone */
  float acc = -1, acc_file = -2;
  const char *line = strstr(out, "test accuracy ");
  int got = line ? sscanf(line, "test accuracy %f%%, loaded from the file alone %f%%", &acc, &acc_file) : 0;
  TU_CHECK(got == 2, "the README graph example printed no accuracy line: \"%s\"", out);
  TU_CHECK(acc >= 85.0f, "the README graph example's test accuracy %.1f%%, want >= 85%%", acc);
  TU_CHECK(acc_file == acc, "the README graph example's model loaded from the file scores %.1f%%, trained %.1f%%",
           acc_file, acc);
  free(out);
  remove("residual.safetensors");
}

/* ---- 1. a graph and a clnn_net with the same layers train to the same bits ---- */

static void same_as_sequential(clnn_context *ctx) {
  size_t in[3] = {1, 8, 8};
  clnn_net *net = NULL;
  TU_OK(clnn_net_create(ctx, 3, in, 7, &net));
  TU_OK(clnn_net_add_conv2d(net, 8, 3, 1, 1));
  TU_OK(clnn_net_add_activation(net, CLNN_ACT_RELU, 0));
  TU_OK(clnn_net_add_maxpool2d(net, 2, 2, 0));
  TU_OK(clnn_net_add_flatten(net));
  TU_OK(clnn_net_add_dense(net, 10));

  clnn_graph *g = NULL;
  int x, lab, h, y, loss;
  clnn_conv2d_params cp;
  clnn_conv2d_params_init(&cp);
  cp.pad_top = cp.pad_bottom = cp.pad_left = cp.pad_right = 1;
  clnn_pool2d_params pp;
  clnn_pool2d_params_init(&pp, 2);
  TU_OK(clnn_graph_create(&g));
  TU_OK(clnn_graph_input(g, "x", CLNN_FLOAT32, 3, in, &x));
  TU_OK(clnn_graph_input(g, "label", CLNN_INT32, 0, NULL, &lab));
  TU_OK(clnn_graph_conv2d(g, NULL, x, 8, 3, 3, &cp, 1, &h));
  TU_OK(clnn_graph_activation(g, NULL, h, CLNN_ACT_RELU, 0, &h));
  TU_OK(clnn_graph_pool2d(g, NULL, h, 1, &pp, &h));
  TU_OK(clnn_graph_flatten(g, NULL, h, &h));
  TU_OK(clnn_graph_dense(g, NULL, h, 10, 1, &y));
  TU_OK(clnn_graph_loss(g, NULL, CLNN_LOSS_SOFTMAX_CROSS_ENTROPY, y, lab, 1.0f, &loss));
  TU_OK(clnn_graph_output(g, y));
  clnn_model *m = NULL;
  TU_OK(clnn_model_create(ctx, g, 7, &m));
  clnn_graph_destroy(g);
  if (!m) return;
  TU_CHECK(clnn_model_num_params(m) == 4, "4 parameters, got %zu", clnn_model_num_params(m));

  enum { B = 16 };
  float xb[B * 64];
  int32_t lb[B];
  tu_seed(11);
  int same_loss = 1;
  for (int step = 0; step < 6; step++) {
    tu_fill_uniform(xb, B * 64, 0.0f, 1.0f);
    for (int i = 0; i < B; i++) lb[i] = (int32_t)((step * 7 + i * 3) % 10);
    float l1 = -1, l2 = -2;
    TU_OK(clnn_net_train_step(net, xb, B * 64, B, lb, B, NULL, 0, &l1));
    clnn_feed f[2] = {{x, xb, B * 64, NULL}, {lab, lb, B, NULL}};
    TU_OK(clnn_model_train_step(m, f, 2, B, &l2));
    same_loss &= l1 == l2;
  }
  TU_CHECK(same_loss, "graph and sequential losses are the same bits over 6 Adam steps");
  const char *names[] = {"conv1.weight", "conv1.bias", "dense1.weight", "dense1.bias"};
  for (int i = 0; i < 4; i++) {
    clnn_tensor *a = NULL, *b = NULL;
    TU_OK(clnn_net_param(net, names[i], &a, NULL));
    TU_OK(clnn_model_param(m, names[i], &b, NULL));
    if (!a || !b) continue;
    float *va = tu_read(a), *vb = tu_read(b);
    TU_CHECK(memcmp(va, vb, clnn_tensor_numel(a) * sizeof(float)) == 0,
             "%s is bit-identical after 6 steps", names[i]);
    free(va);
    free(vb);
  }
  float pred[B * 10];
  clnn_feed f1 = {x, xb, B * 64, NULL};
  TU_OK(clnn_model_predict(m, &f1, 1, B, -1, pred, B * 10));
  float pred2[B * 10];
  TU_OK(clnn_net_predict(net, xb, B * 64, B, pred2, B * 10));
  TU_CHECK(memcmp(pred, pred2, sizeof pred) == 0, "predictions are the same bits");
  clnn_model_destroy(m);
  clnn_net_destroy(net);
}

/* ---- 2. finite differences through a branched graph ---- */

typedef struct fd_case {
  clnn_model *m;
  clnn_feed feeds[3];
  size_t batch;
} fd_case;

static double objective(void *user) {
  fd_case *c = user;
  float l = 0;
  clnn_model_forward(c->m, c->feeds, 3, c->batch, &l);
  return l;
}

static void finite_differences(clnn_context *ctx) {
  enum { B = 4, C = 2, H = 5, W = 5 };
  size_t in[3] = {C, H, W}, tgt_dims[1] = {3};
  clnn_graph *g = NULL;
  int x, lab, tgt, b1, b2, b3, b3s, cat, t, s, r, r2, pr, fl, y, l1, l2, mean, sq;
  clnn_conv2d_params same;
  clnn_conv2d_params_init(&same);
  same.pad_top = same.pad_bottom = same.pad_left = same.pad_right = 1;
  clnn_pool2d_params ap;
  clnn_pool2d_params_init(&ap, 3);
  ap.stride_h = ap.stride_w = 1;
  ap.pad_top = ap.pad_bottom = ap.pad_left = ap.pad_right = 1;
  TU_OK(clnn_graph_create(&g));
  TU_OK(clnn_graph_input(g, "x", CLNN_FLOAT32, 3, in, &x));
  TU_OK(clnn_graph_input(g, "label", CLNN_INT32, 0, NULL, &lab));
  TU_OK(clnn_graph_input(g, "target", CLNN_FLOAT32, 1, tgt_dims, &tgt));
  TU_OK(clnn_graph_conv2d(g, "b1", x, 3, 1, 1, NULL, 1, &b1));            /* 1x1 branch */
  TU_OK(clnn_graph_conv2d(g, "b2", x, 3, 3, 3, &same, 1, &b2));           /* 3x3 branch */
  TU_OK(clnn_graph_pool2d(g, "b3pool", x, 0, &ap, &b3));                  /* pool branch ... */
  TU_OK(clnn_graph_apply(g, "b3", "b1", b3, &b3s));                       /* ... shares b1 */
  int parts[3] = {b1, b2, b3s};
  TU_OK(clnn_graph_concat(g, "cat", 0, 3, parts, &cat));                  /* [9, 5, 5] */
  TU_OK(clnn_graph_batchnorm(g, "bn", cat, 0, 0, &cat));
  TU_OK(clnn_graph_activation(g, NULL, cat, CLNN_ACT_TANH, 0, &t));
  TU_OK(clnn_graph_slice(g, "s", t, 0, 1, 2, &s));                        /* [2, 5, 5] */
  TU_OK(clnn_graph_add(g, "res", s, x, &r));                              /* residual */
  int perm[3] = {0, 2, 1};
  TU_OK(clnn_graph_permute(g, "perm", r, perm, &r2));
  TU_OK(clnn_graph_mul(g, "prod", r2, r2, &pr));
  TU_OK(clnn_graph_flatten(g, NULL, pr, &fl));
  TU_OK(clnn_graph_dense(g, "head", fl, 3, 1, &y));
  TU_OK(clnn_graph_loss(g, "ce", CLNN_LOSS_SOFTMAX_CROSS_ENTROPY, y, lab, 1.0f, &l1));
  TU_OK(clnn_graph_loss(g, "mse", CLNN_LOSS_MSE, y, tgt, 0.5f, &l2));
  TU_OK(clnn_graph_scale(g, "sq_in", t, 0.3f, &sq));
  TU_OK(clnn_graph_mul(g, "sq", sq, sq, &sq));
  TU_OK(clnn_graph_mean(g, "reg", sq, &mean));                            /* a custom loss */
  TU_OK(clnn_graph_add_loss(g, mean, 2.0f));
  clnn_model *m = NULL;
  TU_OK(clnn_model_create(ctx, g, 3, &m));
  clnn_graph_destroy(g);
  if (!m) return;
  TU_OK(clnn_model_input_grad(m, x, 1));
  float xb[B * C * H * W], tb[B * 3];
  int32_t lb[B] = {0, 2, 1, 2};
  tu_seed(5);
  tu_fill_uniform(xb, B * C * H * W, -1.0f, 1.0f);
  tu_fill_uniform(tb, B * 3, -1.0f, 1.0f);
  fd_case c = {m, {{x, xb, B * C * H * W, NULL}, {lab, lb, B, NULL}, {tgt, tb, B * 3, NULL}}, B};
  float loss = 0;
  TU_OK(clnn_model_compute_gradients(m, c.feeds, 3, B, &loss));
  TU_CHECK(isfinite(loss) && loss > 0, "objective %g", loss);
  /* analytic gradients, each read before the finite differences run more forwards */
  tu_fd_params(m, 3e-3, objective, &c);
  clnn_tensor *dx = NULL;
  TU_OK(clnn_model_compute_gradients(m, c.feeds, 3, B, NULL));
  TU_OK(clnn_model_grad(m, x, &dx));
  if (dx) {
    float *ga = tu_read(dx);
    /* the input: perturb the host copy */
    int bad = tu_fd_check(xb, B * C * H * W, 8, 131, 5, 1e-2, 3e-3, 3e-2, ga, NULL, objective, &c,
                          "dx", NULL);
    TU_CHECK(!bad, "input gradient matches finite differences");
    free(ga);
  }
  /* the same bits twice */
  float *g1 = NULL, *g2 = NULL;
  clnn_tensor *wg = NULL;
  TU_OK(clnn_model_param(m, "b1.weight", NULL, &wg));
  TU_OK(clnn_model_compute_gradients(m, c.feeds, 3, B, NULL));
  g1 = tu_read(wg);
  TU_OK(clnn_model_compute_gradients(m, c.feeds, 3, B, NULL));
  g2 = tu_read(wg);
  TU_CHECK(memcmp(g1, g2, clnn_tensor_numel(wg) * sizeof(float)) == 0,
           "shared-weight gradient is the same bits run to run");
  free(g1);
  free(g2);

  /* freezing: b2 gets no gradient written; lr 0 leaves everything; a step keeps b2's bits */
  size_t matched = 0;
  TU_OK(clnn_model_set_trainable(m, "b2.", 0, &matched));
  TU_CHECK(matched == 2, "b2. matches 2 parameters, got %zu", matched);
  TU_CHECK(clnn_model_param_trainable(m, "b2.weight") == 0, "b2.weight is frozen");
  clnn_tensor *b2w = NULL, *b2g = NULL;
  TU_OK(clnn_model_param(m, "b2.weight", &b2w, &b2g));
  TU_OK(clnn_tensor_fill(b2g, 123.0f));
  float *before = tu_read(b2w);
  clnn_optimizer_config oc;
  clnn_optimizer_config_init(&oc, CLNN_OPTIM_SGD, 0.1f);
  TU_OK(clnn_model_set_optimizer(m, &oc));
  TU_OK(clnn_model_train_step(m, c.feeds, 3, B, NULL));
  tu_check_all(b2g, 123.0f, "frozen b2.weight's gradient (never written)");
  float *after = tu_read(b2w);
  TU_CHECK(memcmp(before, after, clnn_tensor_numel(b2w) * sizeof(float)) == 0,
           "frozen b2.weight is bit-identical after a step");
  free(before);
  free(after);
  clnn_tensor *hw = NULL;
  TU_OK(clnn_model_param(m, "head.weight", &hw, NULL));
  TU_OK(clnn_model_set_learning_rate(m, 0.0f));
  before = tu_read(hw);
  TU_OK(clnn_model_train_step(m, c.feeds, 3, B, NULL));
  after = tu_read(hw);
  TU_CHECK(memcmp(before, after, clnn_tensor_numel(hw) * sizeof(float)) == 0,
           "lr 0: head.weight unchanged");
  free(before);
  free(after);
  clnn_model_destroy(m);
}

/* ---- 3. backward from a caller's seed; input gradient of a model without a loss ---- */

static void seeded_backward(clnn_context *ctx) {
  size_t in[1] = {4};
  clnn_graph *g = NULL;
  int x, h, y;
  TU_OK(clnn_graph_create(&g));
  TU_OK(clnn_graph_input(g, "z", CLNN_FLOAT32, 1, in, &x));
  TU_OK(clnn_graph_dense(g, "fc", x, 3, 1, &h));
  TU_OK(clnn_graph_activation(g, NULL, h, CLNN_ACT_SIGMOID, 0, &y));
  TU_OK(clnn_graph_output(g, y));
  clnn_model *m = NULL;
  TU_OK(clnn_model_create(ctx, g, 1, &m));
  clnn_graph_destroy(g);
  if (!m) return;
  TU_OK(clnn_model_input_grad(m, x, 1));
  float z[8] = {0.1f, -0.2f, 0.3f, 0.5f, -1.0f, 0.7f, 0.2f, 0.0f}, seed[6] = {1, 2, 3, -1, 0.5f, 0};
  clnn_feed f = {x, z, 8, NULL}, s = {y, seed, 6, NULL};
  TU_OK(clnn_model_forward(m, &f, 1, 2, NULL));
  TU_OK(clnn_model_backward(m, &s, 1));
  clnn_tensor *dz = NULL;
  TU_OK(clnn_model_grad(m, x, &dz));
  float *ga = dz ? tu_read(dz) : NULL;
  /* reference: objective = sum(seed * y), by finite differences on z */
  int bad = 0;
  for (int i = 0; ga && i < 8; i++) {
    float yv[6];
    double o[2];
    float save = z[i];
    for (int sgn = 0; sgn < 2; sgn++) {
      z[i] = save + (sgn ? -1e-2f : 1e-2f);
      clnn_model_predict(m, &f, 1, 2, y, yv, 6);
      o[sgn] = 0;
      for (int k = 0; k < 6; k++) o[sgn] += (double)seed[k] * yv[k];
    }
    z[i] = save;
    double num = (o[0] - o[1]) / 2e-2;
    if (fabs(num - ga[i]) > 1e-3 + 2e-2 * fabs(num)) bad = 1;
  }
  TU_CHECK(ga && !bad, "backward from a seed gives the input gradient of <seed, y>");
  free(ga);
  TU_STATUS(clnn_model_compute_gradients(m, &f, 1, 2, NULL), CLNN_ERROR_INVALID_ARGUMENT);
  clnn_model_destroy(m);
}

/* ---- 4. schedules ---- */

static void schedules(clnn_context *ctx) {
  size_t in[1] = {2};
  clnn_graph *g = NULL;
  int x, y;
  TU_OK(clnn_graph_create(&g));
  TU_OK(clnn_graph_input(g, "x", CLNN_FLOAT32, 1, in, &x));
  TU_OK(clnn_graph_dense(g, "fc", x, 1, 1, &y));
  TU_OK(clnn_graph_output(g, y));
  clnn_model *m = NULL;
  TU_OK(clnn_model_create(ctx, g, 1, &m));
  clnn_graph_destroy(g);
  if (!m) return;
  clnn_schedule s;
  clnn_schedule_init(&s);
  s.type = CLNN_SCHEDULE_COSINE;
  s.warmup_steps = 4;
  s.total_steps = 20;
  s.min_ratio = 0.1f;
  TU_OK(clnn_model_set_schedule(m, &s));
  TU_OK(clnn_model_set_param_group(m, "fc.bias", 0.5f, 0.0f));
  float lr = 0;
  TU_OK(clnn_model_current_lr(m, NULL, &lr));
  TU_CHECK(fabsf(lr - 1e-3f / 5.0f) < 1e-9f, "cosine warm-up step 1: lr %g", lr);
  TU_OK(clnn_model_current_lr(m, "fc.bias", &lr));
  TU_CHECK(fabsf(lr - 0.5f / 5.0f) < 1e-7f, "group lr with warm-up: %g", lr);
  s.type = CLNN_SCHEDULE_STEP;
  s.step_size = 0;
  TU_STATUS(clnn_model_set_schedule(m, &s), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_model_set_param_group(m, "nothing", 0.1f, 0.0f), CLNN_ERROR_INVALID_ARGUMENT);
  clnn_model_destroy(m);
}

/* ---- 5. bad input ---- */

static void bad_input(clnn_context *ctx) {
  size_t in[3] = {3, 8, 8}, other[1] = {5};
  clnn_graph *g = NULL;
  int x, v, h, out = -7;
  TU_OK(clnn_graph_create(&g));
  TU_OK(clnn_graph_input(g, "x", CLNN_FLOAT32, 3, in, &x));
  TU_OK(clnn_graph_input(g, "v", CLNN_FLOAT32, 1, other, &v));
  int nv = clnn_graph_num_values(g);
  TU_STATUS(clnn_graph_dense(g, "d", v, 4, 1, &h), CLNN_SUCCESS);
  nv = clnn_graph_num_values(g);
  TU_STATUS(clnn_graph_add(g, "bad_add", x, h, &out), CLNN_ERROR_SHAPE_MISMATCH);
  TU_CHECK(strstr(clnn_last_error(), "bad_add") != NULL, "the error names the node: %s",
           clnn_last_error());
  TU_STATUS(clnn_graph_conv2d(g, "c", v, 4, 3, 3, NULL, 1, &out), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(clnn_graph_dense(g, NULL, 99, 4, 1, &out), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_graph_dense(g, "d", v, 4, 1, &out), CLNN_ERROR_INVALID_ARGUMENT); /* name taken */
  TU_STATUS(clnn_graph_input(g, "bad name!", CLNN_FLOAT32, 1, other, &out),
            CLNN_ERROR_INVALID_ARGUMENT);
  TU_CHECK(out == -7, "out untouched by failed calls");
  TU_CHECK(clnn_graph_num_values(g) == nv, "graph unchanged by failed calls");
  clnn_model *m = NULL;
  TU_STATUS(clnn_model_create(ctx, g, 1, &m), CLNN_ERROR_INVALID_ARGUMENT); /* no output */
  TU_OK(clnn_graph_output(g, h));
  TU_OK(clnn_graph_clear_outputs(g)); /* a head replaced: nothing left to run */
  TU_CHECK(clnn_graph_num_outputs(g) == 0, "clear_outputs drops the output marks");
  TU_STATUS(clnn_model_create(ctx, g, 1, &m), CLNN_ERROR_INVALID_ARGUMENT);
  TU_OK(clnn_graph_output(g, h));
  TU_OK(clnn_model_create(ctx, g, 1, &m));
  clnn_graph_destroy(g);
  if (!m) return;
  float buf[10] = {0}, y[8];
  clnn_feed f = {v, buf, 9, NULL};
  TU_STATUS(clnn_model_predict(m, &f, 1, 2, -1, y, 8), CLNN_ERROR_INVALID_ARGUMENT);
  f.count = 10;
  TU_STATUS(clnn_model_predict(m, &f, 1, 2, -1, y, 7), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_model_predict(m, NULL, 0, 2, -1, y, 8), CLNN_ERROR_INVALID_ARGUMENT);
  TU_OK(clnn_model_predict(m, &f, 1, 2, -1, y, 8));
  TU_STATUS(clnn_model_backward(m, NULL, 0), CLNN_ERROR_INVALID_ARGUMENT); /* after predict */
  TU_STATUS(clnn_model_set_trainable(m, "zzz", 0, NULL), CLNN_ERROR_INVALID_ARGUMENT);
  clnn_model_destroy(m);
}

int main(void) {
  clnn_context *ctx = tu_context();
  same_as_sequential(ctx);
  finite_differences(ctx);
  seeded_backward(ctx);
  schedules(ctx);
  bad_input(ctx);
  readme_example();
  clnn_context_destroy(ctx);
  return tu_finish("test_graph");
}
