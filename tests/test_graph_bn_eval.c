/* tests/test_graph_bn_eval.c — gradients through a graph's batch norm in evaluation mode (running
 * statistics): conv -> batchnorm -> relu -> dense -> softmax cross-entropy with non-trivial
 * running statistics, scale and shift. The input gradient and every trainable parameter's
 * gradient (batch norm's scale and shift included) against central finite differences of the
 * eval-mode objective; the same with the batch norm's scale frozen and its shift trainable (the
 * betas differ), and with the whole backbone frozen (input gradient only: saliency maps); the
 * running statistics are left unchanged by eval-mode forwards and backwards. */
#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { B = 3, C = 2, H = 5, W = 5, K = 3, CLASSES = 4 };

typedef struct fd_case {
  clnn_model *m;
  clnn_feed feeds[2];
} fd_case;

static double objective(void *user) {
  fd_case *c = user;
  float l = 0;
  clnn_model_forward(c->m, c->feeds, 2, B, &l);
  return l;
}

/* Writes host values into the parameter (or state) called name. */
static void set_param(clnn_model *m, const char *name, const float *v, size_t n) {
  clnn_tensor *t = NULL;
  TU_OK(clnn_model_param(m, name, &t, NULL));
  if (t) TU_OK(clnn_tensor_write(t, v, n));
}

static clnn_model *build(clnn_context *ctx, int *x, int *lab) {
  size_t in[3] = {C, H, W};
  clnn_graph *g = NULL;
  int h, y, loss;
  clnn_conv2d_params same;
  clnn_conv2d_params_init(&same);
  same.pad_top = same.pad_bottom = same.pad_left = same.pad_right = 1;
  TU_OK(clnn_graph_create(&g));
  TU_OK(clnn_graph_input(g, "x", CLNN_FLOAT32, 3, in, x));
  TU_OK(clnn_graph_input(g, "label", CLNN_INT32, 0, NULL, lab));
  TU_OK(clnn_graph_conv2d(g, "conv", *x, K, 3, 3, &same, 1, &h));
  TU_OK(clnn_graph_batchnorm(g, "bn", h, 0, 0, &h));
  TU_OK(clnn_graph_activation(g, NULL, h, CLNN_ACT_RELU, 0, &h));
  TU_OK(clnn_graph_flatten(g, NULL, h, &h));
  TU_OK(clnn_graph_dense(g, "fc", h, CLASSES, 1, &y));
  TU_OK(clnn_graph_loss(g, "ce", CLNN_LOSS_SOFTMAX_CROSS_ENTROPY, y, *lab, 1.0f, &loss));
  clnn_model *m = NULL;
  TU_OK(clnn_model_create(ctx, g, 11, &m));
  clnn_graph_destroy(g);
  if (!m) return NULL;
  /* statistics and affine parameters far from the defaults (0, 1, 1, 0) */
  float rm[K] = {0.3f, -0.2f, 0.1f}, rv[K] = {0.5f, 2.0f, 1.3f};
  float sc[K] = {1.5f, -0.7f, 0.9f}, sh[K] = {0.2f, -0.1f, 0.4f};
  set_param(m, "bn.running_mean", rm, K);
  set_param(m, "bn.running_var", rv, K);
  set_param(m, "bn.weight", sc, K);
  set_param(m, "bn.bias", sh, K);
  TU_OK(clnn_model_set_mode(m, CLNN_MODE_EVAL));
  TU_OK(clnn_model_input_grad(m, *x, 1));
  return m;
}

/* Gradients of the eval-mode objective against finite differences; `frozen` is a prefix of
 * parameters to freeze (NULL: none). */
static void eval_gradients(clnn_context *ctx, const char *frozen, const char *label) {
  int x, lab;
  clnn_model *m = build(ctx, &x, &lab);
  if (!m) return;
  if (frozen) {
    size_t matched = 0;
    TU_OK(clnn_model_set_trainable(m, frozen, 0, &matched));
    TU_CHECK(matched > 0, "%s: '%s' matches parameters", label, frozen);
  }
  float xb[B * C * H * W];
  int32_t lb[B] = {0, 3, 1};
  tu_seed(21);
  tu_fill_uniform(xb, B * C * H * W, -1.0f, 1.0f);
  fd_case c = {m, {{x, xb, B * C * H * W, NULL}, {lab, lb, B, NULL}}};
  clnn_tensor *rm = NULL, *rv = NULL;
  TU_OK(clnn_model_param(m, "bn.running_mean", &rm, NULL));
  TU_OK(clnn_model_param(m, "bn.running_var", &rv, NULL));
  float *rm0 = rm ? tu_read(rm) : NULL, *rv0 = rv ? tu_read(rv) : NULL;

  /* frozen parameters' gradients hold a sentinel that must survive */
  size_t np = clnn_model_num_params(m);
  for (size_t i = 0; i < np; i++) {
    const char *name = clnn_model_param_name(m, i);
    clnn_tensor *gr = NULL;
    TU_OK(clnn_model_param(m, name, NULL, &gr));
    if (gr && clnn_model_param_trainable(m, name) == 0) TU_OK(clnn_tensor_fill(gr, 123.0f));
  }
  float loss = 0;
  clnn_status st = clnn_model_compute_gradients(m, c.feeds, 2, B, &loss);
  TU_CHECK(st == CLNN_SUCCESS, "%s: compute_gradients in evaluation mode through batch norm: %s",
           label, st ? clnn_last_error() : "ok");
  if (st == CLNN_SUCCESS) {
    TU_CHECK(isfinite(loss) && loss > 0, "%s: objective %g", label, loss);
    /* every trained parameter (bn.weight and bn.bias included) against finite differences; the
     * step is small because ReLU's kink must not fall inside it */
    for (size_t i = 0; i < np; i++) {
      const char *name = clnn_model_param_name(m, i);
      clnn_tensor *v = NULL, *gr = NULL;
      TU_OK(clnn_model_param(m, name, &v, &gr));
      if (!gr) continue; /* running statistics: state, no gradient */
      if (clnn_model_param_trainable(m, name) == 0) {
        tu_check_all(gr, 123.0f, name);
        continue;
      }
      float *ga = tu_read(gr), *hv = tu_read(v);
      double worst = 0;
      int bad = tu_fd_check(hv, clnn_tensor_numel(v), 8, 7919, 3, 1e-3, 2e-3, 3e-2, ga, v,
                            objective, &c, name, &worst);
      TU_CHECK(!bad, "%s: %s gradient matches finite differences (worst %.2f of tolerance)",
               label, name, worst);
      free(ga);
      free(hv);
    }
    clnn_tensor *dx = NULL;
    TU_OK(clnn_model_compute_gradients(m, c.feeds, 2, B, NULL));
    TU_OK(clnn_model_grad(m, x, &dx));
    TU_CHECK(dx != NULL, "%s: the input has a gradient", label);
    if (dx) {
      float *ga = tu_read(dx);
      double worst = 0;
      int bad = tu_fd_check(xb, B * C * H * W, 24, 7, 1, 1e-3, 2e-3, 3e-2, ga, NULL, objective,
                            &c, "dx", &worst);
      TU_CHECK(!bad, "%s: input gradient matches finite differences (worst %.2f of tolerance)",
               label, worst);
      free(ga);
    }
  }
  /* evaluation mode never moves the running statistics */
  float *rm1 = rm ? tu_read(rm) : NULL, *rv1 = rv ? tu_read(rv) : NULL;
  TU_CHECK(rm0 && rm1 && memcmp(rm0, rm1, K * sizeof(float)) == 0 && rv0 && rv1 &&
               memcmp(rv0, rv1, K * sizeof(float)) == 0,
           "%s: running statistics unchanged by eval-mode forwards and backwards", label);
  free(rm0);
  free(rv0);
  free(rm1);
  free(rv1);
  clnn_model_destroy(m);
}

/* An eval-mode step trains through the batch norm: the loss on the batch goes down and the
 * batch norm's scale moves. */
static void eval_mode_fine_tuning(clnn_context *ctx) {
  int x, lab;
  clnn_model *m = build(ctx, &x, &lab);
  if (!m) return;
  float xb[B * C * H * W];
  int32_t lb[B] = {2, 0, 1};
  tu_seed(5);
  tu_fill_uniform(xb, B * C * H * W, -1.0f, 1.0f);
  clnn_feed f[2] = {{x, xb, B * C * H * W, NULL}, {lab, lb, B, NULL}};
  clnn_optimizer_config oc;
  clnn_optimizer_config_init(&oc, CLNN_OPTIM_SGD, 0.05f);
  TU_OK(clnn_model_set_optimizer(m, &oc));
  clnn_tensor *w = NULL;
  TU_OK(clnn_model_param(m, "bn.weight", &w, NULL));
  float *w0 = w ? tu_read(w) : NULL;
  float l0 = 0, l1 = 0;
  TU_OK(clnn_model_forward(m, f, 2, B, &l0));
  clnn_status st = CLNN_SUCCESS;
  for (int i = 0; i < 20 && st == CLNN_SUCCESS; i++) st = clnn_model_train_step(m, f, 2, B, NULL);
  TU_CHECK(st == CLNN_SUCCESS, "eval-mode train_step: %s", st ? clnn_last_error() : "ok");
  TU_OK(clnn_model_forward(m, f, 2, B, &l1));
  float *w1 = w ? tu_read(w) : NULL;
  TU_CHECK(l1 < 0.5f * l0, "20 eval-mode SGD steps: loss %g -> %g (want it halved)", l0, l1);
  TU_CHECK(w0 && w1 && memcmp(w0, w1, K * sizeof(float)) != 0, "bn.weight moved in eval mode");
  free(w0);
  free(w1);
  clnn_model_destroy(m);
}

int main(void) {
  clnn_context *ctx = tu_context();
  eval_gradients(ctx, NULL, "all trainable");
  eval_gradients(ctx, "bn.weight", "bn scale frozen");
  eval_gradients(ctx, "conv.", "conv frozen");
  eval_gradients(ctx, "bn.", "bn frozen");
  eval_gradients(ctx, "", "everything frozen (input gradient only)");
  eval_mode_fine_tuning(ctx);
  clnn_context_destroy(ctx);
  return tu_finish("test_graph_bn_eval");
}
