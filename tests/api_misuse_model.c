/* tests/api_misuse_model.c — the API-misuse rows of graph models (every clnn_model_* function:
 * parameters, modes, forward/backward/predict feeds and seeds, values and gradients, freezing,
 * optimizers, schedules, dataset loops, model files and ONNX files). Not a test of its own:
 * tests/test_api_misuse.c includes it, so the rows use that file's macros (ROW, VROW, ...),
 * counters and coverage check; the graph builder's rows are in tests/api_misuse_graph.c. */

/* The host-visible state of a model: every parameter's values, its trainable flag and current
 * learning rate, the step count, the trainable total and the optimizer's learning rate. */
static size_t model_state(clnn_model *m, float *buf, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < clnn_model_num_params(m); i++) {
    const char *name = clnn_model_param_name(m, i);
    clnn_tensor *t = NULL;
    float lr = -1;
    if (clnn_model_param(m, name, &t, NULL) != CLNN_SUCCESS || !t) continue;
    size_t k = clnn_tensor_numel(t);
    if (n + k + 2 > cap) break;
    clnn_tensor_read(t, buf + n, k);
    n += k;
    buf[n++] = (float)clnn_model_param_trainable(m, name);
    clnn_model_current_lr(m, name, &lr);
    buf[n++] = lr;
  }
  float lr = -1;
  clnn_model_current_lr(m, NULL, &lr);
  if (n + 3 <= cap) {
    buf[n++] = (float)clnn_model_step_count(m);
    buf[n++] = (float)clnn_model_num_trainable(m);
    buf[n++] = lr;
  }
  return n;
}

static float mstate0[4096], mstate1[4096];

static void model_rows(void) {
  /* A model row on `m`: parameters, flags, learning rates and step count are unchanged. */
#define MROW(fn, what, want, call)                                                               \
  do {                                                                                           \
    size_t ns0_ = model_state(m, mstate0, 4096);                                                 \
    ROW(fn, what, want, call);                                                                   \
    size_t ns1_ = model_state(m, mstate1, 4096);                                                 \
    TU_CHECK(ns0_ == ns1_ && !memcmp(mstate0, mstate1, ns0_ * sizeof(float)),                    \
             "%s (%s): the failing call changed the model's parameters or settings", #fn, what); \
  } while (0)

  /* the model under test: x [4] -> fc (dense 3) -> y, cross-entropy against lab; a dead branch
   * "side" (neither output nor loss) */
  size_t four[1] = {4}, vec[1] = {5};
  int o = -7, x = -1, lab = -1, y = -1, side = -1, ce = -1;
  clnn_graph *g = NULL;
  TU_OK(clnn_graph_create(&g));
  if (!g) return;
  TU_OK(clnn_graph_input(g, "x", CLNN_FLOAT32, 1, four, &x));
  TU_OK(clnn_graph_input(g, "lab", CLNN_INT32, 0, NULL, &lab));
  TU_OK(clnn_graph_dense(g, "fc", x, 3, 1, &y));
  TU_OK(clnn_graph_dense(g, "side", x, 2, 1, &side));
  TU_OK(clnn_graph_loss(g, "ce", CLNN_LOSS_SOFTMAX_CROSS_ENTROPY, y, lab, 1.0f, &ce));
  TU_OK(clnn_graph_output(g, y));

  clnn_model *m = (clnn_model *)&rows;
  ROW(clnn_model_create, "ctx NULL", INV, clnn_model_create(NULL, g, 1, &m));
  ROW(clnn_model_create, "graph NULL", INV, clnn_model_create(ctx, NULL, 1, &m));
  ROW(clnn_model_create, "out NULL", INV, clnn_model_create(ctx, g, 1, NULL));
  clnn_graph *empty = NULL;
  TU_OK(clnn_graph_create(&empty));
  ROW(clnn_model_create, "an empty graph (no output, no loss)", INV, clnn_model_create(ctx, empty, 1, &m));
  TU_OK(clnn_graph_input(empty, "in", CLNN_FLOAT32, 1, vec, &o));
  ROW(clnn_model_create, "a graph with an input but no output or loss", INV, clnn_model_create(ctx, empty, 1, &m));
  clnn_graph_destroy(empty);
  TU_CHECK(m == (clnn_model *)&rows || m == NULL, "clnn_model_create: *out untouched or NULL on failure");
  VROW(clnn_model_destroy, "NULL is a no-op", clnn_model_destroy(NULL), 1);
  VROW(clnn_model_graph, "NULL", , clnn_model_graph(NULL) == NULL);

  m = NULL;
  TU_OK(clnn_model_create(ctx, g, 5, &m));
  /* the same without a loss, for the calls that need one */
  clnn_model *nl = NULL;
  clnn_graph *gn = NULL;
  int nx = -1, ny = -1;
  TU_OK(clnn_graph_create(&gn));
  TU_OK(clnn_graph_input(gn, "x", CLNN_FLOAT32, 1, four, &nx));
  TU_OK(clnn_graph_dense(gn, "fc", nx, 3, 1, &ny));
  TU_OK(clnn_graph_output(gn, ny));
  TU_OK(clnn_model_create(ctx, gn, 5, &nl));
  clnn_graph_destroy(gn);
  if (!m || !nl) {
    clnn_graph_destroy(g);
    clnn_model_destroy(m);
    clnn_model_destroy(nl);
    return;
  }
  TU_CHECK(clnn_graph_num_values(clnn_model_graph(m)) == clnn_graph_num_values(g), "the model's graph");
  clnn_graph_destroy(g); /* the model keeps its own copy */

  enum { B = 2 };
  float xb[B * 4 + 1], yb[B * 3 + 1], loss = -1;
  for (int i = 0; i < B * 4 + 1; i++) xb[i] = 0.1f * (float)(i - 3);
  for (int i = 0; i < B * 3 + 1; i++) yb[i] = -5.0f;
  int32_t lb[B] = {0, 2}, lbig[B] = {0, 3}, lneg[B] = {-1, 1};
  clnn_tensor *xt = T(ctx, B, 4), *xo = T(other, B, 4), *x5 = T(ctx, B, 5);
  clnn_feed good[2] = {{x, xb, B * 4, NULL}, {lab, lb, B, NULL}};
  clnn_feed f[3];
#define FEEDS(a, b) (f[0] = (a), f[1] = (b), f)
  clnn_feed fx = good[0], fl = good[1];
  clnn_feed fx_count = {x, xb, B * 4 + 1, NULL}, fx_both = {x, xb, B * 4, xt}, fx_none = {x, NULL, 0, NULL};
  clnn_feed fx_other = {x, NULL, 0, xo}, fx_t5 = {x, NULL, 0, x5}, f99 = {99, xb, B * 4, NULL};
  clnn_feed fneg = {-1, xb, B * 4, NULL}, fy = {y, yb, B * 3, NULL}, fl_big = {lab, lbig, B, NULL};
  clnn_feed fl_neg = {lab, lneg, B, NULL}, fl_float_t = {lab, NULL, 0, xt}, fl_count = {lab, lb, B - 1, NULL};

  VROW(clnn_model_step_count, "NULL", , clnn_model_step_count(NULL) == 0);
  VROW(clnn_model_num_params, "NULL", , clnn_model_num_params(NULL) == 0);
  VROW(clnn_model_num_params, "the dead branch has none", , clnn_model_num_params(m) == 2);
  VROW(clnn_model_param_name, "NULL", , clnn_model_param_name(NULL, 0) == NULL);
  VROW(clnn_model_param_name, "index 999", , clnn_model_param_name(m, 999) == NULL);
  VROW(clnn_model_param_name, "index = num_params", , clnn_model_param_name(m, clnn_model_num_params(m)) == NULL);
  VROW(clnn_model_num_trainable, "NULL", , clnn_model_num_trainable(NULL) == 0);
  VROW(clnn_model_param_trainable, "NULL", , clnn_model_param_trainable(NULL, "fc.weight") == -1);
  VROW(clnn_model_param_trainable, "name NULL", , clnn_model_param_trainable(m, NULL) == -1);
  VROW(clnn_model_param_trainable, "unknown name", , clnn_model_param_trainable(m, "nope.weight") == -1);
  VROW(clnn_model_param_trainable, "the dead branch's weight", , clnn_model_param_trainable(m, "side.weight") == -1);
  clnn_tensor *pv = (clnn_tensor *)&rows, *pg = (clnn_tensor *)&rows;
  MROW(clnn_model_param, "model NULL", INV, clnn_model_param(NULL, "fc.weight", &pv, &pg));
  MROW(clnn_model_param, "name NULL", INV, clnn_model_param(m, NULL, &pv, &pg));
  MROW(clnn_model_param, "unknown name", INV, clnn_model_param(m, "nope.weight", &pv, &pg));
  MROW(clnn_model_param, "a node's name, not a parameter's", INV, clnn_model_param(m, "fc", &pv, &pg));
  TU_CHECK(pv == (clnn_tensor *)&rows && pg == (clnn_tensor *)&rows, "clnn_model_param: out-pointers untouched");

  MROW(clnn_model_set_mode, "model NULL", INV, clnn_model_set_mode(NULL, CLNN_MODE_EVAL));
  MROW(clnn_model_set_mode, "mode 7", INV, clnn_model_set_mode(m, (clnn_mode)7));
  MROW(clnn_model_set_mode, "mode -1", INV, clnn_model_set_mode(m, (clnn_mode)-1));

  /* backward, value and grad before any forward */
  clnn_tensor *tv = (clnn_tensor *)&rows;
  MROW(clnn_model_backward, "before any forward", INV, clnn_model_backward(m, NULL, 0));
  MROW(clnn_model_value, "before any forward", INV, clnn_model_value(m, y, &tv));
  MROW(clnn_model_grad, "before any backward", INV, clnn_model_grad(m, y, &tv));
  MROW(clnn_model_optimizer_step, "model NULL", INV, clnn_model_optimizer_step(NULL));

  /* forward: feeds */
  MROW(clnn_model_forward, "model NULL", INV, clnn_model_forward(NULL, good, 2, B, &loss));
  MROW(clnn_model_forward, "batch 0", INV, clnn_model_forward(m, good, 2, 0, &loss));
  MROW(clnn_model_forward, "num_feeds -1", INV, clnn_model_forward(m, good, -1, B, &loss));
  MROW(clnn_model_forward, "feeds NULL, num_feeds 2", INV, clnn_model_forward(m, NULL, 2, B, &loss));
  MROW(clnn_model_forward, "no feeds (inputs needed)", INV, clnn_model_forward(m, NULL, 0, B, &loss));
  MROW(clnn_model_forward, "the label input missing", INV, clnn_model_forward(m, &fx, 1, B, &loss));
  MROW(clnn_model_forward, "the image input missing", INV, clnn_model_forward(m, &fl, 1, B, &loss));
  MROW(clnn_model_forward, "count = batch * numel + 1", INV, clnn_model_forward(m, FEEDS(fx_count, fl), 2, B, &loss));
  MROW(clnn_model_forward, "both host and tensor", INV, clnn_model_forward(m, FEEDS(fx_both, fl), 2, B, &loss));
  MROW(clnn_model_forward, "neither host nor tensor", INV, clnn_model_forward(m, FEEDS(fx_none, fl), 2, B, &loss));
  MROW(clnn_model_forward, "a tensor feed of [2, 5]", INV, clnn_model_forward(m, FEEDS(fx_t5, fl), 2, B, &loss));
  MROW(clnn_model_forward, "a tensor feed from another context", CTXM,
       clnn_model_forward(m, FEEDS(fx_other, fl), 2, B, &loss));
  MROW(clnn_model_forward, "a tensor feed for an int32 input", INV,
       clnn_model_forward(m, FEEDS(fx, fl_float_t), 2, B, &loss));
  MROW(clnn_model_forward, "a feed's value 99", INV, clnn_model_forward(m, FEEDS(fx, f99), 2, B, &loss));
  MROW(clnn_model_forward, "a feed's value -1", INV, clnn_model_forward(m, FEEDS(fx, fneg), 2, B, &loss));
  MROW(clnn_model_forward, "a feed for a node's output, not an input", INV,
       (f[2] = fy, clnn_model_forward(m, FEEDS(fx, fl), 3, B, &loss)));
  MROW(clnn_model_forward, "the same input fed twice", INV, clnn_model_forward(m, FEEDS(fx, fx), 2, B, &loss));
  MROW(clnn_model_forward, "label 3 of 3 classes", INV, clnn_model_forward(m, FEEDS(fx, fl_big), 2, B, &loss));
  MROW(clnn_model_forward, "label -1", INV, clnn_model_forward(m, FEEDS(fx, fl_neg), 2, B, &loss));
  MROW(clnn_model_forward, "label count = batch - 1", INV, clnn_model_forward(m, FEEDS(fx, fl_count), 2, B, &loss));
  TU_CHECK(loss == -1, "clnn_model_forward: *loss untouched by the failures (%g)", loss);
  MROW(clnn_model_value, "after failed forwards", INV, clnn_model_value(m, y, &tv));
  MROW(clnn_model_compute_gradients, "model NULL", INV, clnn_model_compute_gradients(NULL, good, 2, B, &loss));
  MROW(clnn_model_compute_gradients, "batch 0", INV, clnn_model_compute_gradients(m, good, 2, 0, &loss));
  MROW(clnn_model_compute_gradients, "the label input missing", INV, clnn_model_compute_gradients(m, &fx, 1, B, &loss));
  MROW(clnn_model_compute_gradients, "label 3 of 3 classes", INV,
       clnn_model_compute_gradients(m, FEEDS(fx, fl_big), 2, B, &loss));
  ROW(clnn_model_compute_gradients, "a graph without a loss", INV, clnn_model_compute_gradients(nl, &fx, 1, B, &loss));
  MROW(clnn_model_train_step, "model NULL", INV, clnn_model_train_step(NULL, good, 2, B, &loss));
  MROW(clnn_model_train_step, "batch 0", INV, clnn_model_train_step(m, good, 2, 0, &loss));
  MROW(clnn_model_train_step, "label 3 of 3 classes", INV, clnn_model_train_step(m, FEEDS(fx, fl_big), 2, B, &loss));
  MROW(clnn_model_train_step, "the same input fed twice", INV, clnn_model_train_step(m, FEEDS(fx, fx), 2, B, &loss));
  MROW(clnn_model_train_step, "count = batch * numel + 1", INV, clnn_model_train_step(m, FEEDS(fx_count, fl), 2, B, &loss));
  ROW(clnn_model_train_step, "a graph without a loss", INV, clnn_model_train_step(nl, &fx, 1, B, &loss));
  TU_CHECK(loss == -1 && clnn_model_step_count(m) == 0 && clnn_model_step_count(nl) == 0,
           "failed steps: no loss written (%g), no optimizer step counted (%llu)", loss,
           (unsigned long long)clnn_model_step_count(m));

  /* predict */
  MROW(clnn_model_predict, "model NULL", INV, clnn_model_predict(NULL, &fx, 1, B, -1, yb, B * 3));
  MROW(clnn_model_predict, "y NULL", INV, clnn_model_predict(m, &fx, 1, B, -1, NULL, B * 3));
  MROW(clnn_model_predict, "y_count = batch * 3 - 1", INV, clnn_model_predict(m, &fx, 1, B, -1, yb, B * 3 - 1));
  MROW(clnn_model_predict, "batch 0", INV, clnn_model_predict(m, &fx, 1, 0, -1, yb, 0));
  MROW(clnn_model_predict, "output 99", INV, clnn_model_predict(m, &fx, 1, B, 99, yb, B * 3));
  MROW(clnn_model_predict, "output = the int32 input", INV, clnn_model_predict(m, &fl, 1, B, lab, yb, B));
  MROW(clnn_model_predict, "output = the dead branch (not kept)", INV, clnn_model_predict(m, &fx, 1, B, side, yb, B * 2));
  MROW(clnn_model_predict, "x not fed", INV, clnn_model_predict(m, &fl, 1, B, -1, yb, B * 3));
  MROW(clnn_model_predict, "x fed twice", INV, clnn_model_predict(m, FEEDS(fx, fx), 2, B, -1, yb, B * 3));
  for (int i = 0; i < B * 3 + 1; i++) TU_CHECK(yb[i] == -5.0f, "clnn_model_predict: y untouched on failure");

  /* backward after a predict, then after a forward: seeds */
  TU_OK(clnn_model_predict(m, &fx, 1, B, -1, yb, B * 3));
  MROW(clnn_model_backward, "after a predict", INV, clnn_model_backward(m, NULL, 0));
  MROW(clnn_model_grad, "after a predict, before any backward", INV, clnn_model_grad(m, y, &tv));
  TU_OK(clnn_model_forward(m, good, 2, B, &loss));
  float seed6[B * 3 + 1] = {1, 2, 3, 4, 5, 6, 7};
  clnn_feed sy = {y, seed6, B * 3, NULL}, sy_count = {y, seed6, B * 3 + 1, NULL}, sx = {x, xb, B * 4, NULL};
  clnn_feed s99 = {99, seed6, B * 3, NULL}, sce = {ce, seed6, 1, NULL}, sy_both = {y, seed6, B * 3, xt};
  MROW(clnn_model_backward, "model NULL", INV, clnn_model_backward(NULL, NULL, 0));
  MROW(clnn_model_backward, "seeds NULL, num_seeds 1", INV, clnn_model_backward(m, NULL, 1));
  MROW(clnn_model_backward, "num_seeds -1", INV, clnn_model_backward(m, &sy, -1));
  MROW(clnn_model_backward, "a seed's value 99", INV, clnn_model_backward(m, &s99, 1));
  MROW(clnn_model_backward, "a seed for an input", INV, clnn_model_backward(m, &sx, 1));
  MROW(clnn_model_backward, "a seed for the scalar loss", INV, clnn_model_backward(m, &sce, 1));
  MROW(clnn_model_backward, "seed count = batch * 3 + 1", INV, clnn_model_backward(m, &sy_count, 1));
  MROW(clnn_model_backward, "a seed with both host and tensor", INV, clnn_model_backward(m, &sy_both, 1));
  clnn_feed two_seeds[2] = {sy, sy};
  MROW(clnn_model_backward, "two seeds for one value", INV, clnn_model_backward(m, two_seeds, 2));
  MROW(clnn_model_grad, "after a forward, before any backward", INV, clnn_model_grad(m, y, &tv));
  TU_OK(clnn_model_input_grad(m, x, 1));
  MROW(clnn_model_backward, "input gradients requested after the forward", INV, clnn_model_backward(m, NULL, 0));
  TU_OK(clnn_model_input_grad(m, x, 0));

  /* value and grad */
  MROW(clnn_model_value, "model NULL", INV, clnn_model_value(NULL, y, &tv));
  MROW(clnn_model_value, "t NULL", INV, clnn_model_value(m, y, NULL));
  MROW(clnn_model_value, "v 99", INV, clnn_model_value(m, 99, &tv));
  MROW(clnn_model_value, "v -1", INV, clnn_model_value(m, -1, &tv));
  MROW(clnn_model_value, "the dead branch (not computed)", INV, clnn_model_value(m, side, &tv));
  TU_OK(clnn_model_compute_gradients(m, good, 2, B, &loss));
  MROW(clnn_model_grad, "model NULL", INV, clnn_model_grad(NULL, y, &tv));
  MROW(clnn_model_grad, "t NULL", INV, clnn_model_grad(m, y, NULL));
  MROW(clnn_model_grad, "v 99", INV, clnn_model_grad(m, 99, &tv));
  MROW(clnn_model_grad, "v -1", INV, clnn_model_grad(m, -1, &tv));
  MROW(clnn_model_grad, "the int32 labels (no gradient)", INV, clnn_model_grad(m, lab, &tv));
  MROW(clnn_model_grad, "x without clnn_model_input_grad", INV, clnn_model_grad(m, x, &tv));
  MROW(clnn_model_grad, "the dead branch", INV, clnn_model_grad(m, side, &tv));
  TU_CHECK(tv == (clnn_tensor *)&rows, "clnn_model_value, clnn_model_grad: *t untouched on failure");
  /* a failed call leaves the last forward's values and gradients readable */
  clnn_tensor *tl = NULL;
  MROW(clnn_model_forward, "label 3 of 3 classes, after a good forward", INV,
       clnn_model_forward(m, FEEDS(fx, fl_big), 2, B, NULL));
  ROW(clnn_model_value, "the loss, after a failed forward", OK, clnn_model_value(m, ce, &tl));
  MROW(clnn_model_predict, "y_count wrong, after a good forward", INV, clnn_model_predict(m, &fx, 1, B, -1, yb, 5));
  MROW(clnn_model_predict, "x not fed, after a good forward", INV, clnn_model_predict(m, &fl, 1, B, -1, yb, B * 3));
  ROW(clnn_model_value, "the loss, after a failed predict", OK, clnn_model_value(m, ce, &tl));
  ROW(clnn_model_grad, "the output's gradient, after a failed predict", OK, clnn_model_grad(m, y, &tl));
  float xb3[3 * 4], yb3[3 * 3];
  for (int i = 0; i < 12; i++) xb3[i] = 0.02f * (float)i;
  clnn_feed fx3 = {x, xb3, 3 * 4, NULL};
  TU_OK(clnn_model_predict(m, &fx3, 1, 3, -1, yb3, 3 * 3)); /* another batch size: another plan */
  MROW(clnn_model_grad, "after a predict (batch 3) that followed the backward (batch 2)", INV,
       clnn_model_grad(m, y, &tv));

  /* input gradients */
  MROW(clnn_model_input_grad, "model NULL", INV, clnn_model_input_grad(NULL, x, 1));
  MROW(clnn_model_input_grad, "input 99", INV, clnn_model_input_grad(m, 99, 1));
  MROW(clnn_model_input_grad, "input -1", INV, clnn_model_input_grad(m, -1, 1));
  MROW(clnn_model_input_grad, "a node's output, not an input", INV, clnn_model_input_grad(m, y, 1));
  MROW(clnn_model_input_grad, "the int32 input", INV, clnn_model_input_grad(m, lab, 1));

  /* freezing, optimizer, groups, schedules */
  size_t matched = 777;
  MROW(clnn_model_set_trainable, "model NULL", INV, clnn_model_set_trainable(NULL, "fc", 0, &matched));
  MROW(clnn_model_set_trainable, "prefix matches nothing", INV, clnn_model_set_trainable(m, "zzz", 0, &matched));
  MROW(clnn_model_set_trainable, "prefix of the dead branch", INV, clnn_model_set_trainable(m, "side", 0, &matched));
  TU_CHECK(matched == 777, "clnn_model_set_trainable: *matched untouched on failure (%zu)", matched);
  clnn_optimizer_config oc;
  clnn_optimizer_config_init(&oc, CLNN_OPTIM_SGD, 0.1f);
  MROW(clnn_model_set_optimizer, "model NULL", INV, clnn_model_set_optimizer(NULL, &oc));
  MROW(clnn_model_set_optimizer, "cfg NULL", INV, clnn_model_set_optimizer(m, NULL));
  oc.lr = -1;
  MROW(clnn_model_set_optimizer, "lr -1", INV, clnn_model_set_optimizer(m, &oc));
  oc.lr = NAN;
  MROW(clnn_model_set_optimizer, "lr NaN", INV, clnn_model_set_optimizer(m, &oc));
  oc.lr = 0.1f;
  oc.type = (clnn_optimizer_type)99;
  MROW(clnn_model_set_optimizer, "type 99", INV, clnn_model_set_optimizer(m, &oc));
  clnn_optimizer_config_init(&oc, CLNN_OPTIM_ADAM, 1e-3f);
  oc.beta1 = 1.0f;
  MROW(clnn_model_set_optimizer, "beta1 = 1", INV, clnn_model_set_optimizer(m, &oc));
  clnn_optimizer_config_init(&oc, CLNN_OPTIM_ADAM, 1e-3f);
  oc.clip_grad_norm = -1.0f;
  MROW(clnn_model_set_optimizer, "clip_grad_norm -1", INV, clnn_model_set_optimizer(m, &oc));
  MROW(clnn_model_set_param_group, "model NULL", INV, clnn_model_set_param_group(NULL, "fc", 0.1f, 0));
  MROW(clnn_model_set_param_group, "prefix NULL", INV, clnn_model_set_param_group(m, NULL, 0.1f, 0));
  MROW(clnn_model_set_param_group, "lr -0.1", INV, clnn_model_set_param_group(m, "fc", -0.1f, 0));
  MROW(clnn_model_set_param_group, "lr NaN", INV, clnn_model_set_param_group(m, "fc", NAN, 0));
  MROW(clnn_model_set_param_group, "lr infinite", INV, clnn_model_set_param_group(m, "fc", INFINITY, 0));
  MROW(clnn_model_set_param_group, "weight_decay -1", INV, clnn_model_set_param_group(m, "fc", 0.1f, -1.0f));
  MROW(clnn_model_set_param_group, "prefix matches nothing", INV, clnn_model_set_param_group(m, "zzz", 0.1f, 0));
  MROW(clnn_model_set_param_group, "prefix longer than any name", INV,
       clnn_model_set_param_group(m, "fc.weightabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij", 0.1f, 0));
  MROW(clnn_model_set_learning_rate, "model NULL", INV, clnn_model_set_learning_rate(NULL, 0.1f));
  MROW(clnn_model_set_learning_rate, "lr -1", INV, clnn_model_set_learning_rate(m, -1));
  MROW(clnn_model_set_learning_rate, "lr NaN", INV, clnn_model_set_learning_rate(m, NAN));
  MROW(clnn_model_set_learning_rate, "lr infinite", INV, clnn_model_set_learning_rate(m, INFINITY));
  clnn_schedule s;
  clnn_schedule_init(&s);
  s.type = CLNN_SCHEDULE_COSINE;
  s.warmup_steps = 10;
  s.total_steps = 20;
  s.min_ratio = 0.1f;
  MROW(clnn_model_set_schedule, "model NULL", INV, clnn_model_set_schedule(NULL, &s));
  MROW(clnn_model_set_schedule, "s NULL", INV, clnn_model_set_schedule(m, NULL));
  s.type = (clnn_schedule_type)99;
  MROW(clnn_model_set_schedule, "type 99", INV, clnn_model_set_schedule(m, &s));
  s.type = (clnn_schedule_type)-1;
  MROW(clnn_model_set_schedule, "type -1", INV, clnn_model_set_schedule(m, &s));
  s.type = CLNN_SCHEDULE_COSINE;
  s.warmup_steps = 20;
  MROW(clnn_model_set_schedule, "cosine, warmup = total", INV, clnn_model_set_schedule(m, &s));
  s.warmup_steps = 30;
  MROW(clnn_model_set_schedule, "cosine, warmup > total", INV, clnn_model_set_schedule(m, &s));
  s.warmup_steps = 0;
  s.total_steps = 0;
  MROW(clnn_model_set_schedule, "cosine, total 0", INV, clnn_model_set_schedule(m, &s));
  s.total_steps = 20;
  s.min_ratio = 1.5f;
  MROW(clnn_model_set_schedule, "cosine, min_ratio 1.5", INV, clnn_model_set_schedule(m, &s));
  s.min_ratio = NAN;
  MROW(clnn_model_set_schedule, "cosine, min_ratio NaN", INV, clnn_model_set_schedule(m, &s));
  s.min_ratio = 0.1f;
  s.type = CLNN_SCHEDULE_STEP;
  s.step_size = 0;
  s.gamma = 0.5f;
  MROW(clnn_model_set_schedule, "step, step_size 0", INV, clnn_model_set_schedule(m, &s));
  s.step_size = 5;
  s.gamma = 0;
  MROW(clnn_model_set_schedule, "step, gamma 0", INV, clnn_model_set_schedule(m, &s));
  s.gamma = NAN;
  MROW(clnn_model_set_schedule, "step, gamma NaN", INV, clnn_model_set_schedule(m, &s));
  float lr = -3;
  MROW(clnn_model_current_lr, "model NULL", INV, clnn_model_current_lr(NULL, NULL, &lr));
  MROW(clnn_model_current_lr, "lr NULL", INV, clnn_model_current_lr(m, NULL, NULL));
  MROW(clnn_model_current_lr, "unknown parameter", INV, clnn_model_current_lr(m, "nope.weight", &lr));
  TU_CHECK(lr == -3, "clnn_model_current_lr: *lr untouched on failure");
  TU_OK(clnn_model_current_lr(m, NULL, &lr));
  TU_CHECK(lr == 1e-3f, "the failed calls left Adam's default learning rate (%g)", lr);
  TU_CHECK(clnn_model_step_count(m) == 0, "no optimizer step so far (%llu)", (unsigned long long)clnn_model_step_count(m));
  TU_OK(clnn_model_train_step(m, good, 2, B, &loss));
  TU_CHECK(clnn_model_step_count(m) == 1, "one step counted (%llu)", (unsigned long long)clnn_model_step_count(m));
  MROW(clnn_model_train_step, "label -1, after a step", INV, clnn_model_train_step(m, FEEDS(fx, fl_neg), 2, B, &loss));
  TU_CHECK(clnn_model_step_count(m) == 1, "still one step counted (%llu)", (unsigned long long)clnn_model_step_count(m));

  /* dataset loops */
  float dx[6 * 4], dx5[6 * 5];
  int32_t dl[6] = {0, 1, 2, 0, 1, 2}, dl_big[6] = {0, 1, 2, 0, 1, 5};
  for (int i = 0; i < 6 * 5; i++) {
    if (i < 24) dx[i] = 0.05f * (float)i;
    dx5[i] = 0.01f * (float)i;
  }
  clnn_dataset *ds = NULL, *ds5 = NULL, *ds_big = NULL;
  TU_OK(clnn_dataset_create(6, 1, four, dx, 6 * 4, dl, 6, &ds));
  TU_OK(clnn_dataset_create(6, 1, vec, dx5, 6 * 5, dl, 6, &ds5));
  TU_OK(clnn_dataset_create(6, 1, four, dx, 6 * 4, dl_big, 6, &ds_big));
  float ml = -1, acc = -1;
  MROW(clnn_model_train_epoch, "model NULL", INV, clnn_model_train_epoch(NULL, ds, 4, x, lab, &ml));
  MROW(clnn_model_train_epoch, "ds NULL", INV, clnn_model_train_epoch(m, NULL, 4, x, lab, &ml));
  MROW(clnn_model_train_epoch, "batch_size 0", INV, clnn_model_train_epoch(m, ds, 0, x, lab, &ml));
  MROW(clnn_model_train_epoch, "x 99", INV, clnn_model_train_epoch(m, ds, 4, 99, lab, &ml));
  MROW(clnn_model_train_epoch, "x is the int32 input", INV, clnn_model_train_epoch(m, ds, 4, lab, lab, &ml));
  MROW(clnn_model_train_epoch, "labels is the float input", INV, clnn_model_train_epoch(m, ds, 4, x, x, &ml));
  MROW(clnn_model_train_epoch, "x is a node's output", INV, clnn_model_train_epoch(m, ds, 4, y, lab, &ml));
  MROW(clnn_model_train_epoch, "samples of 5 values for an input of 4", INV, clnn_model_train_epoch(m, ds5, 4, x, lab, &ml));
  MROW(clnn_model_train_epoch, "a label 5 of 3 classes (in the last batch)", INV, clnn_model_train_epoch(m, ds_big, 4, x, lab, &ml));
  ROW(clnn_model_train_epoch, "a graph without a loss (or labels)", INV, clnn_model_train_epoch(nl, ds, 4, nx, nx, &ml));
  TU_CHECK(ml == -1, "clnn_model_train_epoch: *mean_loss untouched on failure");
  MROW(clnn_model_evaluate, "model NULL", INV, clnn_model_evaluate(NULL, ds, 4, x, lab, -1, &ml, &acc));
  MROW(clnn_model_evaluate, "ds NULL", INV, clnn_model_evaluate(m, NULL, 4, x, lab, -1, &ml, &acc));
  MROW(clnn_model_evaluate, "batch_size 0", INV, clnn_model_evaluate(m, ds, 0, x, lab, -1, &ml, &acc));
  MROW(clnn_model_evaluate, "output 99", INV, clnn_model_evaluate(m, ds, 4, x, lab, 99, &ml, &acc));
  MROW(clnn_model_evaluate, "output = the dead branch", INV, clnn_model_evaluate(m, ds, 4, x, lab, side, &ml, &acc));
  MROW(clnn_model_evaluate, "output = the scalar loss (not class scores)", INV,
       clnn_model_evaluate(m, ds, 4, x, lab, ce, &ml, &acc));
  MROW(clnn_model_evaluate, "labels -1", INV, clnn_model_evaluate(m, ds, 4, x, -1, -1, &ml, &acc));
  MROW(clnn_model_evaluate, "samples of 5 values for an input of 4", INV, clnn_model_evaluate(m, ds5, 4, x, lab, -1, &ml, &acc));
  MROW(clnn_model_evaluate, "a label 5 of 3 classes", INV, clnn_model_evaluate(m, ds_big, 4, x, lab, -1, &ml, &acc));
  TU_CHECK(ml == -1 && acc == -1, "clnn_model_evaluate: results untouched on failure");
  MROW(clnn_model_evaluate, "both results NULL (allowed)", OK, clnn_model_evaluate(m, ds, 4, x, lab, -1, NULL, NULL));

  /* model files */
  char dir[] = "/tmp/clnn-misuse-XXXXXX", path[96], path2[96];
  if (!mkdtemp(dir)) snprintf(dir, sizeof dir, "/tmp");
  snprintf(path, sizeof path, "%s/m.safetensors", dir);
  snprintf(path2, sizeof path2, "%s/missing.safetensors", dir);
  char miss[16] = "unchanged", unexp[16] = "unchanged";
  clnn_model *lm = (clnn_model *)&rows;
  clnn_graph *lg = (clnn_graph *)&rows;
  MROW(clnn_model_save, "model NULL", INV, clnn_model_save(NULL, path, 0));
  MROW(clnn_model_save, "path NULL", INV, clnn_model_save(m, NULL, 0));
  MROW(clnn_model_save, "unknown flags", INV, clnn_model_save(m, path, 0x40));
  MROW(clnn_model_save, "directory that does not exist", CLNN_ERROR_IO,
       clnn_model_save(m, "/nonexistent-dir/m.safetensors", 0));
  MROW(clnn_model_save, "path is a directory", CLNN_ERROR_IO, clnn_model_save(m, dir, 0));
  ROW(clnn_model_load_file, "ctx NULL", INV, clnn_model_load_file(NULL, path, &lm));
  ROW(clnn_model_load_file, "path NULL", INV, clnn_model_load_file(ctx, NULL, &lm));
  ROW(clnn_model_load_file, "out NULL", INV, clnn_model_load_file(ctx, path, NULL));
  ROW(clnn_model_load_file, "no such file", CLNN_ERROR_IO, clnn_model_load_file(ctx, path2, &lm));
  ROW(clnn_model_load_file, "a directory", CLNN_ERROR_IO, clnn_model_load_file(ctx, dir, &lm));
  ROW(clnn_model_load_file, "not a safetensors file", CLNN_ERROR_FORMAT, clnn_model_load_file(ctx, "/proc/self/status", &lm));
  TU_CHECK(lm == (clnn_model *)&rows || lm == NULL, "clnn_model_load_file: *out untouched or NULL on failure");
  ROW(clnn_graph_load, "path NULL", INV, clnn_graph_load(NULL, &lg));
  ROW(clnn_graph_load, "out NULL", INV, clnn_graph_load(path, NULL));
  ROW(clnn_graph_load, "no such file", CLNN_ERROR_IO, clnn_graph_load(path2, &lg));
  ROW(clnn_graph_load, "not a safetensors file", CLNN_ERROR_FORMAT, clnn_graph_load("/proc/self/status", &lg));
  TU_CHECK(lg == (clnn_graph *)&rows || lg == NULL, "clnn_graph_load: *out untouched or NULL on failure");
  /* ONNX files (src/nn/onnx_*.c) */
  ROW(clnn_model_load_onnx, "ctx NULL", INV, clnn_model_load_onnx(NULL, path, &lm));
  ROW(clnn_model_load_onnx, "path NULL", INV, clnn_model_load_onnx(ctx, NULL, &lm));
  ROW(clnn_model_load_onnx, "out NULL", INV, clnn_model_load_onnx(ctx, path, NULL));
  ROW(clnn_model_load_onnx, "no such file", CLNN_ERROR_IO, clnn_model_load_onnx(ctx, path2, &lm));
  ROW(clnn_model_load_onnx, "a directory", CLNN_ERROR_IO, clnn_model_load_onnx(ctx, dir, &lm));
  ROW(clnn_model_load_onnx, "not an ONNX file", CLNN_ERROR_FORMAT, clnn_model_load_onnx(ctx, "/proc/self/status", &lm));
  TU_CHECK(lm == (clnn_model *)&rows || lm == NULL, "clnn_model_load_onnx: *out untouched or NULL on failure");
  ROW(clnn_graph_load_onnx, "path NULL", INV, clnn_graph_load_onnx(NULL, &lg));
  ROW(clnn_graph_load_onnx, "out NULL", INV, clnn_graph_load_onnx(path, NULL));
  ROW(clnn_graph_load_onnx, "no such file", CLNN_ERROR_IO, clnn_graph_load_onnx(path2, &lg));
  ROW(clnn_graph_load_onnx, "not an ONNX file", CLNN_ERROR_FORMAT, clnn_graph_load_onnx("/proc/self/status", &lg));
  TU_CHECK(lg == (clnn_graph *)&rows || lg == NULL, "clnn_graph_load_onnx: *out untouched or NULL on failure");
  MROW(clnn_model_save_onnx, "model NULL", INV, clnn_model_save_onnx(NULL, path));
  MROW(clnn_model_save_onnx, "path NULL", INV, clnn_model_save_onnx(m, NULL));
  MROW(clnn_model_save_onnx, "directory that does not exist", CLNN_ERROR_IO,
       clnn_model_save_onnx(m, "/nonexistent-dir/m.onnx"));
  MROW(clnn_model_save_onnx, "path is a directory", CLNN_ERROR_IO, clnn_model_save_onnx(m, dir));
  MROW(clnn_model_load, "model NULL", INV, clnn_model_load(NULL, path, 1, NULL, 0, NULL, 0));
  MROW(clnn_model_load, "path NULL", INV, clnn_model_load(m, NULL, 1, NULL, 0, NULL, 0));
  MROW(clnn_model_load, "strict 2", INV, clnn_model_load(m, path, 2, NULL, 0, NULL, 0));
  MROW(clnn_model_load, "missing NULL with size 16", INV, clnn_model_load(m, path, 0, NULL, 16, unexp, 16));
  MROW(clnn_model_load, "unexpected NULL with size 16", INV, clnn_model_load(m, path, 0, miss, 16, NULL, 16));
  MROW(clnn_model_load, "no such file", CLNN_ERROR_IO, clnn_model_load(m, path2, 0, miss, 16, unexp, 16));
  MROW(clnn_model_load, "not a safetensors file", CLNN_ERROR_FORMAT,
       clnn_model_load(m, "/proc/self/status", 0, miss, 16, unexp, 16));
  TU_CHECK(!strcmp(miss, "unchanged") && !strcmp(unexp, "unchanged"), "clnn_model_load: lists untouched on failure");
  /* a real file of another model: shapes that do not fit */
  if (clnn_model_save(nl, path, 0) == CLNN_SUCCESS) {
    clnn_graph *g3 = NULL;
    clnn_model *m3 = NULL;
    int x3, y3;
    size_t seven[1] = {7};
    TU_OK(clnn_graph_create(&g3));
    TU_OK(clnn_graph_input(g3, "x", CLNN_FLOAT32, 1, seven, &x3));
    TU_OK(clnn_graph_dense(g3, "fc", x3, 3, 1, &y3));
    TU_OK(clnn_graph_output(g3, y3));
    TU_OK(clnn_model_create(ctx, g3, 1, &m3));
    clnn_graph_destroy(g3);
    if (m3) {
      clnn_model *keep = m;
      m = m3;
      MROW(clnn_model_load, "fc.weight [3, 4] into [3, 7], strict", CLNN_ERROR_FORMAT,
           clnn_model_load(m, path, 1, NULL, 0, NULL, 0));
      MROW(clnn_model_load, "fc.weight [3, 4] into [3, 7], not strict", CLNN_ERROR_FORMAT,
           clnn_model_load(m, path, 0, miss, 16, unexp, 16));
      m = keep;
      clnn_model_destroy(m3);
    }
    ROW(clnn_model_load, "the model's own file, strict (fine)", OK, clnn_model_load(nl, path, 1, NULL, 0, NULL, 0));
  } else {
    TU_CHECK(0, "clnn_model_save of a small model: %s", clnn_last_error());
  }
  remove(path);
  remove(dir);

  clnn_dataset_destroy(ds);
  clnn_dataset_destroy(ds5);
  clnn_dataset_destroy(ds_big);
  clnn_model_destroy(nl);
  clnn_model_destroy(m);
#undef FEEDS
#undef MROW
}

