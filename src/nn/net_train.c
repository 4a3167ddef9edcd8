/* src/nn/net_train.c — training and inference of a sequential network through its graph model:
 * argument checks (everything that can be checked before anything runs), the pass (the model's
 * training pass with the network's loss as the model's loss outside its graph; on several
 * devices the multi-device executor's step), the optimizer step (the model's), epochs over a
 * dataset, predict, accuracy and evaluate. */
#include "nn/model.h"
#include "nn/nn_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t out_numel(const clnn_net *net) {
  const clnn__nn_layer *l = &net->layers[net->num_layers - 1];
  return clnn__nn_prod(l->out_ndim, l->out_dims);
}

static int output_seq(const clnn_net *net) {
  const clnn__nn_layer *l = &net->layers[net->num_layers - 1];
  return clnn__nn_seq(net, l->out_seq);
}

/* Classes (last output dim) and predictions per sample. */
static size_t out_classes(const clnn_net *net) {
  const clnn__nn_layer *l = &net->layers[net->num_layers - 1];
  return l->out_dims[l->out_ndim - 1];
}

static void out_rows(const clnn_net *net, size_t *classes, size_t *rows_per_sample) {
  const clnn__nn_layer *l = &net->layers[net->num_layers - 1];
  *classes = l->out_dims[l->out_ndim - 1];
  *rows_per_sample = out_numel(net) / *classes;
}

/* Element count of a host buffer that the caller states but clnn already knows (an internal
 * caller passing a buffer it sized itself): not checked again. */
#define KNOWN_COUNT SIZE_MAX

/* Checks that the loss can apply to the output and its targets, and that the caller's label or
 * target buffer holds exactly what n samples need (labels_count / targets_count: the element
 * counts the caller gave; KNOWN_COUNT for buffers clnn sized itself). The count is checked before
 * any label is read. */
static clnn_status check_targets(clnn_net *net, size_t n, const int32_t *labels,
                                 size_t labels_count, const float *targets, size_t targets_count,
                                 const char *fn) {
  if (net->loss == CLNN_LOSS_SOFTMAX_CROSS_ENTROPY) {
    if (!labels)
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: labels is NULL (the loss is softmax "
                         "cross-entropy)", fn);
    const clnn__nn_layer *l = &net->layers[net->num_layers - 1];
    int seq = output_seq(net);
    if (!(l->out_ndim == 1 || (seq && l->out_ndim == 2))) {
      char s[64];
      return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: softmax cross-entropy needs an output "
                         "of [classes] (or [T, classes] per time step) but layer '%s' gives %s",
                         fn, l->name, clnn__dims_str_raw(l->out_ndim, l->out_dims, s, sizeof s));
    }
    size_t C = l->out_dims[l->out_ndim - 1];
    size_t T = seq ? l->out_dims[0] : 1, rows = n * T;
    if (labels_count != KNOWN_COUNT && labels_count != rows)
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: labels_count is %zu but %zu samples "
                         "need %zu labels%s", fn, labels_count, n, rows,
                         seq ? " (one per time step)" : "");
    for (size_t r = 0; r < rows; r++)
      if (labels[r] < 0 || (size_t)labels[r] >= C)
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: labels[%zu] = %d is not in [0, %zu)",
                           fn, r, (int)labels[r], C);
    return CLNN_SUCCESS;
  }
  if (!targets)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: targets is NULL (the loss is %s)", fn,
                       net->loss == CLNN_LOSS_MSE ? "MSE" : "BCE with logits");
  size_t need = n * out_numel(net);
  if (targets_count != KNOWN_COUNT && targets_count != need)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: targets_count is %zu but %zu samples of "
                       "%zu outputs need %zu", fn, targets_count, n, out_numel(net), need);
  return CLNN_SUCCESS;
}

/* ---- the loss on the model's output ---- */

/* The loss of the model's current output into net->loss_t and, when grad, its gradient (the
 * model's loss outside its graph, of the network's current kind). */
static clnn_status net_loss(clnn_net *net, size_t n, const int32_t *labels, const float *targets,
                            int grad) {
  net->model->xl.kind = net->loss;
  return clnn__m_xloss_eval(net->model, n, labels, targets, grad);
}

/* The feeds of a training call: the input, and the labels or targets of the loss. */
static int train_feeds(const clnn_net *net, const float *x, size_t batch, const int32_t *labels,
                       const float *targets, clnn_feed f[2]) {
  f[0] = (clnn_feed){net->in_v, x, batch * clnn__nn_prod(net->in_ndim, net->in_dims), NULL};
  if (net->loss == CLNN_LOSS_SOFTMAX_CROSS_ENTROPY)
    f[1] = (clnn_feed){net->label_v, labels, batch * (out_numel(net) / out_classes(net)), NULL};
  else f[1] = (clnn_feed){net->target_v, targets, batch * out_numel(net), NULL};
  return 2;
}

/* The network's settings on its model before a training call. */
static void settings_to_model(clnn_net *net) {
  clnn_model *m = net->model;
  m->seed = net->seed; /* (a checkpoint may have brought another dropout seed) */
  m->train_forwards = net->train_forwards;
  m->step = net->step;
  m->opt = net->opt;
  m->xl.kind = net->loss;
  m->mode = CLNN_MODE_TRAIN;
}

static clnn_status check_batch_args(clnn_net *net, const float *x, size_t x_count, size_t batch,
                                    const char *fn);

/* The loss and every trained gradient are finite (clnn_net_set_check_finite): the model's check,
 * with the loss named as the network's users know it. */
static clnn_status check_finite(clnn_net *net, const char *fn) {
  float loss = 0.0f;
  clnn_status st = clnn__m_objective(net->model, &loss);
  if (st == CLNN_SUCCESS && !isfinite(loss))
    return clnn__error(CLNN_ERROR_NOT_FINITE, "%s: the loss is %g: training diverged (lower the "
                       "learning rate, clip gradients); nothing was updated", fn, (double)loss);
  return st == CLNN_SUCCESS ? clnn__m_check_finite(net->model, loss, fn) : st;
}

/* ---- the pass ---- */

static clnn_status train_local(clnn_net *net, const float *x, size_t batch, const int32_t *labels,
                               const float *targets, int apply, const char *fn) {
  clnn_status st = check_batch_args(net, x, KNOWN_COUNT, batch, fn);
  if (st == CLNN_SUCCESS) st = check_targets(net, batch, labels, KNOWN_COUNT, targets, KNOWN_COUNT, fn);
  if (st != CLNN_SUCCESS) return st;
  clnn_feed f[2];
  int nf = train_feeds(net, x, batch, labels, targets, f);
  settings_to_model(net);
  st = clnn__m_pass(net->model, f, nf, batch, 0, NULL, NULL, NULL, NULL, fn);
  if (st == CLNN_SUCCESS) net->train_forwards = net->model->train_forwards;
  if (st == CLNN_SUCCESS && apply && net->check_finite) st = check_finite(net, fn);
  if (st == CLNN_SUCCESS && apply) st = clnn__nn_optimizer_step(net);
  return st;
}

/* The model's update with the network's optimizer settings and step count. */
clnn_status clnn__nn_optimizer_step(clnn_net *net) {
  if (net->step == UINT64_MAX) /* refused at load; never reached by training */
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "the optimizer step count would overflow");
  net->model->opt = net->opt;
  net->model->step = net->step;
  clnn_status st = clnn__m_step(net->model);
  if (st == CLNN_SUCCESS) net->step = net->model->step;
  return st;
}

/* net, x and batch, and that x holds exactly batch samples (x_count: the caller's element count,
 * KNOWN_COUNT for a buffer clnn sized itself); finalizes the network. */
static clnn_status check_batch_args(clnn_net *net, const float *x, size_t x_count, size_t batch,
                                    const char *fn) {
  if (!net) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: net is NULL", fn);
  if (!x) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: x is NULL", fn);
  if (batch == 0) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: batch is 0", fn);
  int ok = 1;
  size_t in_numel = clnn__nn_prod(net->in_ndim, net->in_dims);
  size_t need = clnn__mul_size(batch, in_numel, &ok);
  if (!ok) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: batch %zu overflows", fn, batch);
  if (x_count != KNOWN_COUNT && x_count != need)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: x_count is %zu but %zu samples of %zu "
                       "inputs need %zu", fn, x_count, batch, in_numel, need);
  return clnn__nn_finalize(net);
}

/* The smallest batch every batch-norm layer can train on: 2 where a layer sees one value per
 * channel per sample (its input is [C]), else 1. *layer receives that layer's index. */
static size_t bn_min_batch(const clnn_net *net, int *layer) {
  for (int i = 0; i < net->num_layers; i++) {
    const clnn__nn_layer *l = &net->layers[i];
    if (l->kind != CLNN__NN_BN) continue;
    size_t C = clnn__nn_seq(net, l->in_seq) ? l->in_dims[1] : l->in_dims[0];
    if (C && clnn__nn_prod(l->in_ndim, l->in_dims) / C <= 1) {
      if (layer) *layer = i;
      return 2;
    }
  }
  return 1;
}

static clnn_status check_bn_batch(const clnn_net *net, size_t batch, const char *fn) {
  int li = 0;
  if (batch >= bn_min_batch(net, &li)) return CLNN_SUCCESS;
  return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: a batch of %zu gives batch-norm layer '%s' one "
                     "value per channel; its batch variance is undefined (train on 2 or more "
                     "samples)", fn, batch, net->layers[li].name);
}

/* Non-trainable state (batch-norm running statistics) is copied aside before a step and put back
 * if the step fails, so that a failed step changes nothing. */
static clnn_status state_copy(clnn_net *net, int restore) {
  size_t total = 0;
  for (size_t i = 0; i < net->num_params; i++)
    if (!net->params[i].trainable) total += net->params[i].numel;
  if (total == 0) return CLNN_SUCCESS;
  if (!net->state_backup) {
    if (restore) return CLNN_SUCCESS;
    clnn_status st = clnn_tensor_create(net->ctx, 1, &total, &net->state_backup);
    if (st != CLNN_SUCCESS) return st;
  }
  size_t off = 0;
  for (size_t i = 0; i < net->num_params; i++) {
    const clnn__nn_param *p = &net->params[i];
    if (p->trainable) continue;
    cl_mem a = p->value->mem, b = net->state_backup->mem;
    size_t bytes = p->numel * sizeof(float);
    cl_int err = restore ? clEnqueueCopyBuffer(net->ctx->queue, b, a, off, 0, bytes, 0, NULL, NULL)
                         : clEnqueueCopyBuffer(net->ctx->queue, a, b, 0, off, bytes, 0, NULL, NULL);
    if (err != CL_SUCCESS) return clnn__cl_error(err, "saving the batch-norm running statistics");
    off += bytes;
  }
  return CLNN_SUCCESS;
}

/* The same, split across devices and MPI ranks when the network has several (through the
 * multi-device executor, which restores its own state on failure). Everything that can be
 * checked is checked before anything runs; a later failure (device, memory) restores the running
 * statistics. The loss goes to *loss when loss is not NULL: read from the device on one device,
 * the executor's host sum on several. */
static clnn_status train_core(clnn_net *net, const float *x, size_t x_count, size_t batch,
                              const int32_t *labels, size_t labels_count, const float *targets,
                              size_t targets_count, int apply, float *loss_out, const char *fn) {
  clnn_status st = check_batch_args(net, x, KNOWN_COUNT, batch, fn);
  if (st == CLNN_SUCCESS) st = check_bn_batch(net, batch, fn);
  if (st == CLNN_SUCCESS && apply && net->step == UINT64_MAX)
    st = clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: the optimizer step count would overflow", fn);
  if (st != CLNN_SUCCESS) return st;
  /* The caller's buffer lengths and labels are checked before anything reads them; with MPI
   * inside the ranks' agreement (exec.c), so that a rank that refuses does not leave the
   * others waiting. */
  if (net->model->par) {
    clnn_status pre = clnn__nn_check_train_args(net, x, x_count, batch, labels, labels_count,
                                                targets, targets_count, fn);
    clnn_feed f[2];
    int nf = train_feeds(net, x, batch, labels, targets, f);
    float loss = 0.0f;
    settings_to_model(net);
    st = clnn__x_train(net->model, f, nf, batch, apply, &loss, pre, fn);
    /* with MPI the first step may have brought rank 0's settings and slots */
    clnn_model *m = net->model;
    net->step = m->step;
    net->train_forwards = m->train_forwards;
    net->seed = m->seed;
    net->opt = m->opt;
    net->loss = m->xl.kind;
    for (size_t i = 0; i < net->num_params; i++)
      for (int k = 0; k < 2; k++) net->params[i].opt[k] = m->params[i].opt[k];
    if (st == CLNN_SUCCESS && loss_out) *loss_out = loss;
    return st;
  }
  if ((st = clnn__nn_check_train_args(net, x, x_count, batch, labels, labels_count, targets,
                                      targets_count, fn)) != CLNN_SUCCESS ||
      (st = state_copy(net, 0)) != CLNN_SUCCESS)
    return st;
  st = train_local(net, x, batch, labels, targets, apply, fn);
  if (st != CLNN_SUCCESS) {
    char keep[1024];
    snprintf(keep, sizeof keep, "%s", clnn_last_error());
    state_copy(net, 1);
    clnn__error(st, "%s", keep);
  }
  if (st == CLNN_SUCCESS && loss_out) st = clnn_tensor_read(net->loss_t, loss_out, 1);
  return st;
}

clnn_status clnn__nn_check_train_args(clnn_net *net, const float *x, size_t x_count, size_t batch,
                                      const int32_t *labels, size_t labels_count,
                                      const float *targets, size_t targets_count, const char *fn) {
  clnn_status st = check_batch_args(net, x, x_count, batch, fn);
  if (st == CLNN_SUCCESS)
    st = check_targets(net, batch, labels, labels_count, targets, targets_count, fn);
  return st;
}

static clnn_status net_train_step_impl(clnn_net *net, const float *x, size_t x_count, size_t batch,
                                const int32_t *labels, size_t labels_count, const float *targets,
                                size_t targets_count, float *loss) {
  return train_core(net, x, x_count, batch, labels, labels_count, targets, targets_count, 1, loss,
                    "clnn_net_train_step");
}

static clnn_status net_compute_gradients_impl(clnn_net *net, const float *x, size_t x_count,
                                       size_t batch, const int32_t *labels, size_t labels_count,
                                       const float *targets, size_t targets_count, float *loss) {
  return train_core(net, x, x_count, batch, labels, labels_count, targets, targets_count, 0, loss,
                    "clnn_net_compute_gradients");
}

/* The dataset's samples have the network's input shape. */
static clnn_status check_dataset_fits(const clnn_net *net, const clnn_dataset *ds, const char *fn) {
  size_t dims[CLNN_MAX_DIMS];
  int nd = clnn_dataset_sample_dims(ds, dims);
  if (nd != net->in_ndim || memcmp(dims, net->in_dims, (size_t)nd * sizeof(size_t)) != 0) {
    char a[64], b[64];
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: dataset samples are %s but the network "
                       "takes %s", fn, clnn__dims_str_raw(nd, dims, a, sizeof a),
                       clnn__dims_str_raw(net->in_ndim, net->in_dims, b, sizeof b));
  }
  return CLNN_SUCCESS;
}

/* The dataset's labels fit the network's output: one class index per sample in [0, classes). */
static clnn_status check_epoch_data(clnn_net *net, const clnn_dataset *ds, const char *fn) {
  const clnn__nn_layer *l = &net->layers[net->num_layers - 1];
  if (output_seq(net) || l->out_ndim != 1) {
    char s[64];
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: the dataset has one label per sample, so "
                       "the output must be [classes], but layer '%s' gives %s%s", fn, l->name,
                       clnn__dims_str_raw(l->out_ndim, l->out_dims, s, sizeof s),
                       output_seq(net) ? " per time step (use clnn_net_train_step)" : "");
  }
  size_t C = l->out_dims[0], n = clnn_dataset_size(ds);
  const int32_t *lab = clnn_dataset_labels(ds);
  for (size_t i = 0; i < n; i++)
    if (lab[i] < 0 || (size_t)lab[i] >= C)
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: sample %zu (file order) has label %d, "
                         "not in [0, %zu) for the output of layer '%s'; nothing was trained", fn,
                         i, (int)lab[i], C, l->name);
  return CLNN_SUCCESS;
}

static clnn_status net_train_epoch_impl(clnn_net *net, clnn_dataset *ds, size_t batch_size,
                                 float *mean_loss) {
  const char *fn = "clnn_net_train_epoch";
  if (!net || !ds)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn, !net ? "net" : "ds");
  if (batch_size == 0) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: batch_size is 0", fn);
  if (net->loss != CLNN_LOSS_SOFTMAX_CROSS_ENTROPY)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: trains on the dataset's labels, which "
                       "needs the softmax cross-entropy loss", fn);
  clnn_status cs = check_dataset_fits(net, ds, fn);
  if (cs != CLNN_SUCCESS) return cs;
  size_t n = clnn_dataset_size(ds), numel = clnn_dataset_sample_numel(ds);
  if (batch_size > n) batch_size = n;
  clnn_status st = clnn__nn_finalize(net);
  if (st != CLNN_SUCCESS) return st;
  /* Everything that can fail on the data is checked before the first step: one label per
   * sample, every label a class of the output, no batch that batch norm cannot train on. */
  if ((st = check_epoch_data(net, ds, fn)) != CLNN_SUCCESS) return st;
  size_t last = n % batch_size, steps = n / batch_size + (last != 0), done_steps = 0;
  int merge = 0;
  if (n < bn_min_batch(net, NULL)) return check_bn_batch(net, n, fn);
  if (last && last < bn_min_batch(net, NULL)) { /* a last batch of 1 joins the one before */
    merge = 1;
    steps--;
  }
  uint64_t step0 = net->step;
  if (net->step > UINT64_MAX - steps)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: the optimizer step count would overflow", fn);
  size_t cap = batch_size + (size_t)merge;
  float *xb = malloc(cap * numel * sizeof(float));
  int32_t *yb = malloc(cap * sizeof(int32_t));
  if (!xb || !yb) {
    free(xb);
    free(yb);
    return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "%s: cannot allocate a batch", fn);
  }
  /* the mean loss: summed on the device on one device (no read per step), on the host from the
   * executor's sums on several */
  int par = net->model->par != NULL;
  double host_sum = 0.0;
  st = clnn_tensor_fill(net->loss_sum, 0.0f);
  for (size_t first = 0; first < n && st == CLNN_SUCCESS; first += batch_size) {
    size_t count = n - first < batch_size ? n - first : batch_size;
    if (merge && n - first == batch_size + 1) count = batch_size + 1;
    float step_loss = 0.0f;
    st = clnn_dataset_batch_augmented(ds, first, count, xb, count * numel, yb, count);
    if (st == CLNN_SUCCESS)
      st = train_core(net, xb, count * numel, count, yb, count, NULL, 0, 1,
                      par && mean_loss ? &step_loss : NULL, fn);
    if (st == CLNN_SUCCESS) done_steps++;
    if (st == CLNN_SUCCESS && mean_loss && par)
      host_sum += (double)((float)count / (float)n) * (double)step_loss;
    else if (st == CLNN_SUCCESS && mean_loss)
      st = clnn_axpy(net->ctx, (float)count / (float)n, net->loss_t, net->loss_sum);
    if (count == batch_size + 1) break;
  }
  free(xb);
  free(yb);
  if (st != CLNN_SUCCESS && net->step != step0) {
    char keep[1024];
    snprintf(keep, sizeof keep, "%s", clnn_last_error());
    clnn__error(st, "%s (after %zu of the epoch's %zu steps had been applied; "
                "clnn_net_step_count says how far training got)", keep, done_steps, steps);
  }
  if (st == CLNN_SUCCESS && mean_loss && par) *mean_loss = (float)host_sum;
  else if (st == CLNN_SUCCESS && mean_loss) st = clnn_tensor_read(net->loss_sum, mean_loss, 1);
  return st;
}

/* Inference forward of batch samples; the output stays in the model. */
static clnn_status infer_core(clnn_net *net, const float *x, size_t batch, const char *fn) {
  clnn_status st = check_batch_args(net, x, KNOWN_COUNT, batch, fn);
  if (st != CLNN_SUCCESS) return st;
  clnn_feed in = {net->in_v, x, batch * clnn__nn_prod(net->in_ndim, net->in_dims), NULL};
  return clnn__m_run(net->model, &in, 1, batch, 0, 0, net->out_v, fn);
}

static clnn_status read_output(clnn_net *net, size_t batch, float *y) {
  clnn_tensor *out;
  clnn_status st = clnn_model_value(net->model, net->out_v, &out);
  if (st == CLNN_SUCCESS) st = clnn_tensor_read(out, y, out_numel(net) * batch);
  return st;
}

static clnn_status net_predict_impl(clnn_net *net, const float *x, size_t x_count, size_t batch,
                             float *y, size_t y_count) {
  const char *fn = "clnn_net_predict";
  if (net && !y) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: y is NULL", fn);
  clnn_status st = check_batch_args(net, x, x_count, batch, fn);
  if (st != CLNN_SUCCESS) return st;
  if (y_count != out_numel(net) * batch)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: y_count is %zu but %zu samples of %zu "
                       "outputs need %zu", fn, y_count, batch, out_numel(net),
                       out_numel(net) * batch);
  st = infer_core(net, x, batch, fn);
  if (st == CLNN_SUCCESS) st = read_output(net, batch, y);
  return st;
}

/* Correct predictions among `rows` rows of `classes` outputs against labels. */
static size_t count_correct(const float *y, const int32_t *labels, size_t rows, size_t classes) {
  size_t correct = 0;
  for (size_t r = 0; r < rows; r++) {
    const float *o = y + r * classes;
    int32_t pred;
    if (classes == 1) {
      pred = o[0] > 0.0f;
    } else {
      size_t best = 0;
      for (size_t c = 1; c < classes; c++)
        if (o[c] > o[best]) best = c;
      pred = (int32_t)best;
    }
    if (pred == labels[r]) correct++;
  }
  return correct;
}

/* Shared by accuracy and evaluate: runs n samples in chunks; counts correct predictions and, if
 * want_loss, accumulates the mean loss on the device. */
static clnn_status eval_loop(clnn_net *net, const float *x, const int32_t *labels, size_t n,
                             size_t batch_size, int want_loss, size_t *correct, const char *fn) {
  size_t classes, rps;
  out_rows(net, &classes, &rps);
  size_t numel_in = clnn__nn_prod(net->in_ndim, net->in_dims), numel_out = out_numel(net);
  if (batch_size > n) batch_size = n;
  float *y = malloc(batch_size * numel_out * sizeof(float));
  if (!y) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "%s: cannot allocate outputs", fn);
  clnn_status st = CLNN_SUCCESS;
  *correct = 0;
  if (want_loss) st = clnn_tensor_fill(net->loss_sum, 0.0f);
  for (size_t first = 0; first < n && st == CLNN_SUCCESS; first += batch_size) {
    size_t count = n - first < batch_size ? n - first : batch_size;
    const int32_t *lab = labels + first * rps;
    if (want_loss) st = check_targets(net, count, lab, KNOWN_COUNT, NULL, KNOWN_COUNT, fn);
    if (st == CLNN_SUCCESS) st = infer_core(net, x + first * numel_in, count, fn);
    if (st == CLNN_SUCCESS && want_loss) {
      st = net_loss(net, count, lab, NULL, 0);
      if (st == CLNN_SUCCESS)
        st = clnn_axpy(net->ctx, (float)count / (float)n, net->loss_t, net->loss_sum);
    }
    if (st == CLNN_SUCCESS) st = read_output(net, count, y);
    if (st == CLNN_SUCCESS) *correct += count_correct(y, lab, count * rps, classes);
  }
  free(y);
  return st;
}

static clnn_status net_accuracy_impl(clnn_net *net, const float *x, size_t x_count,
                              const int32_t *labels, size_t labels_count, size_t n,
                              size_t batch_size, float *accuracy) {
  const char *fn = "clnn_net_accuracy";
  if (net && (!labels || !accuracy))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                       !labels ? "labels" : "accuracy");
  if (net && batch_size == 0)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: batch_size is 0", fn);
  clnn_status st = check_batch_args(net, x, x_count, n, fn);
  if (st != CLNN_SUCCESS) return st;
  size_t correct, classes, rps;
  out_rows(net, &classes, &rps);
  if (labels_count != n * rps)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: labels_count is %zu but %zu samples need "
                       "%zu labels%s", fn, labels_count, n, n * rps,
                       rps > 1 ? " (one per prediction)" : "");
  st = eval_loop(net, x, labels, n, batch_size, 0, &correct, fn);
  if (st != CLNN_SUCCESS) return st;
  *accuracy = (float)((double)correct / ((double)n * (double)rps));
  return CLNN_SUCCESS;
}

static clnn_status net_evaluate_impl(clnn_net *net, const clnn_dataset *ds, size_t batch_size,
                              float *mean_loss, float *accuracy) {
  const char *fn = "clnn_net_evaluate";
  if (!net || !ds)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn, !net ? "net" : "ds");
  if (batch_size == 0) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: batch_size is 0", fn);
  if (mean_loss && net->loss != CLNN_LOSS_SOFTMAX_CROSS_ENTROPY)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: the loss on a dataset's labels needs "
                       "softmax cross-entropy", fn);
  clnn_status cs = check_dataset_fits(net, ds, fn);
  if (cs != CLNN_SUCCESS) return cs;
  size_t n = clnn_dataset_size(ds);
  clnn_status st = clnn__nn_finalize(net);
  if (st != CLNN_SUCCESS) return st;
  size_t classes, rps;
  out_rows(net, &classes, &rps);
  if (rps != 1)
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: the network gives %zu predictions per "
                       "sample but a dataset has one label per sample", fn, rps);
  size_t correct;
  st = eval_loop(net, clnn_dataset_data(ds), clnn_dataset_labels(ds), n, batch_size,
                 mean_loss != NULL, &correct, fn);
  if (st == CLNN_SUCCESS && mean_loss) st = clnn_tensor_read(net->loss_sum, mean_loss, 1);
  if (st == CLNN_SUCCESS && accuracy) *accuracy = (float)((double)correct / (double)n);
  return st;
}


/* ---- the public entry points: the network's in-use flag around each call ---- */

#define NET_BUSY(fn, call) CLNN__BUSY_CALL(net, "network", fn, call)

clnn_status clnn_net_train_step(clnn_net *net, const float *x, size_t x_count, size_t batch,
                                const int32_t *labels, size_t labels_count, const float *targets,
                                size_t targets_count, float *loss) {
  NET_BUSY("clnn_net_train_step", net_train_step_impl(net, x, x_count, batch, labels, labels_count,
                                                      targets, targets_count, loss));
}

clnn_status clnn_net_compute_gradients(clnn_net *net, const float *x, size_t x_count,
                                       size_t batch, const int32_t *labels, size_t labels_count,
                                       const float *targets, size_t targets_count, float *loss) {
  NET_BUSY("clnn_net_compute_gradients",
           net_compute_gradients_impl(net, x, x_count, batch, labels, labels_count, targets,
                                      targets_count, loss));
}

clnn_status clnn_net_train_epoch(clnn_net *net, clnn_dataset *ds, size_t batch_size,
                                 float *mean_loss) {
  NET_BUSY("clnn_net_train_epoch", net_train_epoch_impl(net, ds, batch_size, mean_loss));
}

clnn_status clnn_net_predict(clnn_net *net, const float *x, size_t x_count, size_t batch,
                             float *y, size_t y_count) {
  NET_BUSY("clnn_net_predict", net_predict_impl(net, x, x_count, batch, y, y_count));
}

clnn_status clnn_net_accuracy(clnn_net *net, const float *x, size_t x_count,
                              const int32_t *labels, size_t labels_count, size_t n,
                              size_t batch_size, float *accuracy) {
  NET_BUSY("clnn_net_accuracy", net_accuracy_impl(net, x, x_count, labels, labels_count, n,
                                                  batch_size, accuracy));
}

clnn_status clnn_net_evaluate(clnn_net *net, const clnn_dataset *ds, size_t batch_size,
                              float *mean_loss, float *accuracy) {
  NET_BUSY("clnn_net_evaluate", net_evaluate_impl(net, ds, batch_size, mean_loss, accuracy));
}
