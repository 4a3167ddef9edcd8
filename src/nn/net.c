/* src/nn/net.c — the network: creation, first-use finalisation (parameters, optimizer state,
 * buffer graph), activation and gradient buffers allocated for the largest batch seen and reused
 * through per-batch-size views, the training step (upload, forward, loss, backward, optimizer
 * step, with no read-back unless the loss is asked for), inference, accuracy and evaluation,
 * parameter access by name and the summary table. */
#include "nn_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- optimizer configuration ---- */

void clnn_optimizer_config_init(clnn_optimizer_config *cfg, clnn_optimizer_type type, float lr) {
  if (!cfg) return;
  memset(cfg, 0, sizeof(*cfg));
  cfg->type = type;
  cfg->lr = lr;
  cfg->beta1 = 0.9f;
  cfg->beta2 = 0.999f;
  cfg->alpha = 0.99f;
  cfg->eps = type == CLNN_OPTIM_ADAGRAD ? 1e-10f : 1e-8f;
  cfg->weight_decay = type == CLNN_OPTIM_ADAMW ? 0.01f : 0.0f;
}

const char *clnn__nn_opt_name(clnn_optimizer_type type) {
  switch (type) {
    case CLNN_OPTIM_SGD: return "sgd";
    case CLNN_OPTIM_ADAM: return "adam";
    case CLNN_OPTIM_ADAMW: return "adamw";
    case CLNN_OPTIM_RMSPROP: return "rmsprop";
    case CLNN_OPTIM_ADAGRAD: return "adagrad";
  }
  return "?";
}

int clnn__nn_opt_slots(const clnn_optimizer_config *cfg, const char *names[2]) {
  switch (cfg->type) {
    case CLNN_OPTIM_SGD:
      if (cfg->momentum == 0.0f) return 0;
      names[0] = "momentum_buffer";
      return 1;
    case CLNN_OPTIM_ADAM:
    case CLNN_OPTIM_ADAMW:
      names[0] = "exp_avg";
      names[1] = "exp_avg_sq";
      return 2;
    case CLNN_OPTIM_RMSPROP:
      names[0] = "square_avg";
      if (cfg->momentum == 0.0f) return 1;
      names[1] = "momentum_buffer";
      return 2;
    case CLNN_OPTIM_ADAGRAD:
      names[0] = "sum";
      return 1;
  }
  return 0;
}

static clnn_status check_opt(const clnn_optimizer_config *c) { return clnn__nn_check_opt(c); }

/* New zeroed optimizer slots for every trainable parameter into `slots` [num_params * 2]. */
static clnn_status alloc_opt(clnn_net *net, const clnn_optimizer_config *cfg, clnn_tensor **slots) {
  const char *names[2];
  int ns = clnn__nn_opt_slots(cfg, names);
  clnn_status st = CLNN_SUCCESS;
  for (size_t i = 0; i < net->num_params && st == CLNN_SUCCESS; i++) {
    clnn__nn_param *p = &net->params[i];
    slots[2 * i] = slots[2 * i + 1] = NULL;
    if (!p->trainable) continue;
    for (int k = 0; k < ns && st == CLNN_SUCCESS; k++) {
      st = clnn_tensor_create(net->ctx, p->ndim, p->dims, &slots[2 * i + k]);
      if (st == CLNN_SUCCESS) st = clnn_tensor_fill(slots[2 * i + k], 0.0f);
    }
  }
  if (st != CLNN_SUCCESS)
    for (size_t i = 0; i < 2 * net->num_params; i++) {
      clnn_tensor_destroy(slots[i]);
      slots[i] = NULL;
    }
  return st;
}

/* Replaces the optimizer state by fresh zeroed slots for cfg (all or nothing). */
static clnn_status install_opt(clnn_net *net, const clnn_optimizer_config *cfg) {
  size_t n = 2 * net->num_params;
  clnn_tensor **slots = calloc(n ? n : 1, sizeof(*slots));
  if (!slots) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate optimizer state");
  clnn_status st = alloc_opt(net, cfg, slots);
  if (st == CLNN_SUCCESS) {
    for (size_t i = 0; i < net->num_params; i++) {
      clnn__nn_param *p = &net->params[i];
      for (int k = 0; k < 2; k++) {
        clnn_tensor_destroy(p->opt[k]);
        p->opt[k] = slots[2 * i + k];
      }
    }
  }
  free(slots);
  return st;
}

clnn_status clnn__nn_opt_reset(clnn_net *net) {
  for (size_t i = 0; i < net->num_params; i++)
    for (int k = 0; k < 2; k++)
      if (net->params[i].opt[k]) {
        clnn_status st = clnn_tensor_fill(net->params[i].opt[k], 0.0f);
        if (st != CLNN_SUCCESS) return st;
      }
  net->step = 0;
  return CLNN_SUCCESS;
}

/* ---- create / destroy ---- */

clnn_status clnn_net_create(clnn_context *ctx, int ndim, const size_t *input_dims, uint64_t seed,
                            clnn_net **out) {
  if (!ctx || !input_dims || !out)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_create: %s is NULL",
                       !ctx ? "ctx" : !input_dims ? "input_dims" : "out");
  if (ndim < 1 || ndim > 4)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_create: ndim %d is not in 1..4 (a "
                       "sample's dims, without the batch)", ndim);
  for (int i = 0; i < ndim; i++)
    if (input_dims[i] == 0)
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_create: input_dims[%d] is 0", i);
  if (clnn__nn_prod(ndim, input_dims) == 0)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_create: input size overflows");
  clnn_net *net = calloc(1, sizeof(*net));
  if (!net) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate a network");
  net->ctx = ctx;
  net->seed = seed;
  net->in_ndim = ndim;
  for (int i = 0; i < ndim; i++) net->in_dims[i] = input_dims[i];
  net->input_seq = -1;
  net->loss = CLNN_LOSS_SOFTMAX_CROSS_ENTROPY;
  clnn_optimizer_config_init(&net->opt, CLNN_OPTIM_ADAM, 1e-3f);
  *out = net;
  return CLNN_SUCCESS;
}

static void destroy_plan(clnn_net *net, clnn__nn_plan *p) {
  if (p->lv) {
    for (int i = 0; i < net->num_layers; i++) {
      clnn__nn_lview *v = &p->lv[i];
      clnn_tensor *ts[] = {v->x, v->y, v->dx, v->dy, v->seq_y, v->reserve, v->y4, v->dy4};
      for (size_t k = 0; k < sizeof ts / sizeof ts[0]; k++) clnn_tensor_destroy(ts[k]);
    }
    free(p->lv);
  }
  clnn_tensor *ts[] = {p->input, p->output, p->logits, p->dlogits, p->doutput, p->target};
  for (size_t k = 0; k < sizeof ts / sizeof ts[0]; k++) clnn_tensor_destroy(ts[k]);
  memset(p, 0, sizeof(*p));
}

static void destroy_plans(clnn_net *net) {
  for (int i = 0; i < CLNN__NN_PLANS; i++) destroy_plan(net, &net->plans[i]);
}

static void free_act(clnn_net *net) {
  if (net->act)
    for (int i = 0; i <= net->num_layers; i++) {
      clnn_tensor_destroy(net->act[i]);
      net->act[i] = NULL;
    }
  if (net->extra)
    for (int i = 0; i < net->num_layers; i++) {
      clnn_tensor_destroy(net->extra[i]);
      clnn_tensor_destroy(net->reserve[i]);
      net->extra[i] = net->reserve[i] = NULL;
    }
  clnn_tensor_destroy(net->target);
  net->target = NULL;
  net->act_cap = 0;
}

static void free_grad(clnn_net *net) {
  if (net->grad)
    for (int i = 0; i <= net->num_layers; i++) {
      clnn_tensor_destroy(net->grad[i]);
      net->grad[i] = NULL;
    }
  net->grad_cap = 0;
}

/* Releases what clnn__nn_finalize builds (parameters with their gradients and optimizer state,
 * batch-norm saves, the loss scalars, the per-layer tables) and resets it: a failed finalize
 * leaves the network as it was, and destroy frees the rest. */
static void release_finalized(clnn_net *net) {
  for (size_t i = 0; i < net->num_params; i++) {
    clnn__nn_param *p = &net->params[i];
    clnn_tensor_destroy(p->value);
    clnn_tensor_destroy(p->grad);
    clnn_tensor_destroy(p->opt[0]);
    clnn_tensor_destroy(p->opt[1]);
  }
  free(net->params);
  net->params = NULL;
  net->num_params = 0;
  if (net->bn_save)
    for (int i = 0; i < 2 * net->num_layers; i++) clnn_tensor_destroy(net->bn_save[i]);
  clnn_tensor_destroy(net->loss_t);
  clnn_tensor_destroy(net->loss_sum);
  clnn_tensor_destroy(net->state_backup);
  net->loss_t = net->loss_sum = net->state_backup = NULL;
  free(net->root);
  free(net->propagate);
  free(net->grad_needed);
  free(net->act);
  free(net->grad);
  free(net->extra);
  free(net->reserve);
  free(net->bn_save);
  net->root = net->propagate = NULL;
  net->grad_needed = NULL;
  net->act = net->grad = net->extra = net->reserve = net->bn_save = NULL;
}

void clnn_net_destroy(clnn_net *net) {
  if (!net) return;
  clnn__nn_par_destroy(net); /* replicas on other devices, MPI communicator */
  destroy_plans(net);
  free_act(net);
  free_grad(net);
  release_finalized(net);
  free(net->stage);
  free(net->stage_lab);
  free(net->layers);
  free(net);
}

/* ---- settings ---- */

clnn_status clnn_net_set_loss(clnn_net *net, clnn_loss loss) {
  if (!net) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_set_loss: net is NULL");
  if ((int)loss < 0 || (int)loss > CLNN_LOSS_MSE)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_set_loss: unknown loss %d",
                       (int)loss);
  net->loss = loss;
  return CLNN_SUCCESS;
}

clnn_status clnn_net_set_optimizer(clnn_net *net, const clnn_optimizer_config *cfg) {
  if (!net || !cfg)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_set_optimizer: %s is NULL",
                       !net ? "net" : "cfg");
  clnn_status st = check_opt(cfg);
  if (st != CLNN_SUCCESS) return st;
  if (net->finalized) {
    st = install_opt(net, cfg);
    if (st != CLNN_SUCCESS) return st;
  }
  net->opt = *cfg;
  net->step = 0;
  net->replicas_stale = 1;
  return CLNN_SUCCESS;
}

clnn_status clnn_net_set_learning_rate(clnn_net *net, float lr) {
  if (!net) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_set_learning_rate: net is NULL");
  if (!(lr >= 0.0f) || !isfinite(lr))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_set_learning_rate: lr %g must be "
                       ">= 0", (double)lr);
  net->opt.lr = lr;
  return CLNN_SUCCESS;
}

/* ---- finalisation ---- */

static int has_params(const clnn__nn_layer *l) {
  return l->kind == CLNN__NN_CONV || l->kind == CLNN__NN_CONVT || l->kind == CLNN__NN_DENSE ||
         l->kind == CLNN__NN_BN || l->kind == CLNN__NN_LSTM;
}

clnn_status clnn__nn_finalize(clnn_net *net) {
  if (net->finalized) return CLNN_SUCCESS;
  int L = net->num_layers;
  if (L == 0)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "the network has no layers; add some first");
  int saved_input_seq = net->input_seq;
  if (net->input_seq < 0) net->input_seq = 0;
  clnn_status st = CLNN_SUCCESS;
  net->root = calloc((size_t)L + 1, sizeof(int));
  net->propagate = calloc((size_t)L, sizeof(int));
  net->grad_needed = calloc((size_t)L + 1, 1);
  net->act = calloc((size_t)L + 1, sizeof(clnn_tensor *));
  net->grad = calloc((size_t)L + 1, sizeof(clnn_tensor *));
  net->extra = calloc((size_t)L, sizeof(clnn_tensor *));
  net->reserve = calloc((size_t)L, sizeof(clnn_tensor *));
  net->bn_save = calloc(2 * (size_t)L, sizeof(clnn_tensor *));
  if (!net->root || !net->propagate || !net->grad_needed || !net->act || !net->grad ||
      !net->extra || !net->reserve || !net->bn_save) {
    st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate the network's buffer tables");
    goto fail;
  }
  /* buffer graph */
  int seen = 0;
  for (int i = 0; i < L; i++) {
    const clnn__nn_layer *l = &net->layers[i];
    net->root[i + 1] = l->alias ? net->root[i] : i + 1;
    net->propagate[i] = seen;
    if (has_params(l)) seen = 1;
  }
  net->grad_needed[net->root[L]] = 1;
  for (int i = 0; i < L; i++)
    if (net->propagate[i] || net->layers[i].kind == CLNN__NN_BN)
      net->grad_needed[net->root[i]] = 1;
  st = clnn__nn_create_params(net);
  if (st != CLNN_SUCCESS) goto fail;
  for (int i = 0; i < L && st == CLNN_SUCCESS; i++) {
    if (net->layers[i].kind != CLNN__NN_BN) continue;
    size_t C = clnn__nn_lparam(net, i, CLNN__NN_WEIGHT)->numel;
    st = clnn_tensor_create(net->ctx, 1, &C, &net->bn_save[2 * i]);
    if (st == CLNN_SUCCESS) st = clnn_tensor_create(net->ctx, 1, &C, &net->bn_save[2 * i + 1]);
  }
  size_t one = 1;
  if (st == CLNN_SUCCESS) st = clnn_tensor_create(net->ctx, 1, &one, &net->loss_t);
  if (st == CLNN_SUCCESS) st = clnn_tensor_create(net->ctx, 1, &one, &net->loss_sum);
  if (st == CLNN_SUCCESS) st = install_opt(net, &net->opt);
  if (st != CLNN_SUCCESS) goto fail;
  net->finalized = 1;
  return CLNN_SUCCESS;
fail:
  release_finalized(net);
  net->input_seq = saved_input_seq;
  return st;
}

/* ---- buffers and views ---- */

/* Per-sample numel of buffer k (0: input, i+1: layer i's output). */
static size_t buf_numel(const clnn_net *net, int k) {
  if (k == 0) return clnn__nn_prod(net->in_ndim, net->in_dims);
  const clnn__nn_layer *l = &net->layers[k - 1];
  return clnn__nn_prod(l->out_ndim, l->out_dims);
}

static clnn_status alloc_1d(clnn_net *net, size_t per_sample, size_t cap, clnn_tensor **out) {
  int ok = 1;
  size_t n = clnn__mul_size(per_sample, cap, &ok);
  if (!ok) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "batch of %zu overflows size_t", cap);
  return clnn_tensor_create(net->ctx, 1, &n, out);
}

static clnn_status ensure_act(clnn_net *net, size_t batch) {
  if (batch <= net->act_cap) return CLNN_SUCCESS;
  destroy_plans(net);
  free_act(net);
  int L = net->num_layers;
  clnn_status st = CLNN_SUCCESS;
  for (int k = 0; k <= L && st == CLNN_SUCCESS; k++)
    if (net->root[k] == k) st = alloc_1d(net, buf_numel(net, k), batch, &net->act[k]);
  for (int i = 0; i < L && st == CLNN_SUCCESS; i++) {
    const clnn__nn_layer *l = &net->layers[i];
    if (l->kind != CLNN__NN_LSTM) continue;
    size_t T = l->in_dims[0], H = (size_t)l->hidden;
    if (!l->return_seq) st = alloc_1d(net, T * H, batch, &net->extra[i]);
    if (st == CLNN_SUCCESS) {
      size_t r = clnn_lstm_reserve_numel(T, batch, H);
      if (r == 0) st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "LSTM reserve size overflows");
      else st = clnn_tensor_create(net->ctx, 1, &r, &net->reserve[i]);
    }
  }
  if (st == CLNN_SUCCESS) st = alloc_1d(net, buf_numel(net, L), batch, &net->target);
  if (st != CLNN_SUCCESS) {
    free_act(net);
    return st;
  }
  net->act_cap = batch;
  return CLNN_SUCCESS;
}

static clnn_status ensure_grad(clnn_net *net, size_t batch) {
  if (batch <= net->grad_cap) return CLNN_SUCCESS;
  destroy_plans(net);
  free_grad(net);
  clnn_status st = CLNN_SUCCESS;
  for (int k = 0; k <= net->num_layers && st == CLNN_SUCCESS; k++)
    if (net->root[k] == k && net->grad_needed[k])
      st = alloc_1d(net, buf_numel(net, k), batch, &net->grad[k]);
  if (st != CLNN_SUCCESS) {
    free_grad(net);
    return st;
  }
  net->grad_cap = batch;
  return CLNN_SUCCESS;
}

/* The device shape of buffer k for batch n: [n, dims...], or [T, n, F] for sequences. */
static int full_shape(const clnn_net *net, int k, size_t n, size_t *dims) {
  int ndim, seq;
  const size_t *d;
  if (k == 0) {
    ndim = net->in_ndim;
    d = net->in_dims;
    seq = net->input_seq > 0;
  } else {
    const clnn__nn_layer *l = &net->layers[k - 1];
    ndim = l->out_ndim;
    d = l->out_dims;
    seq = clnn__nn_seq(net, l->out_seq);
  }
  if (seq) {
    dims[0] = d[0];
    dims[1] = n;
    dims[2] = d[1];
    return 3;
  }
  dims[0] = n;
  for (int i = 0; i < ndim; i++) dims[i + 1] = d[i];
  return ndim + 1;
}

/* A full shape folded to 2-D [rows, last dim] (rows = product of the others). */
static int rows_shape(int ndim, const size_t *full, size_t *dims) {
  size_t rows = 1;
  for (int i = 0; i < ndim - 1; i++) rows *= full[i];
  dims[0] = rows;
  dims[1] = full[ndim - 1];
  return 2;
}

static clnn_status view(clnn_net *net, const clnn_tensor *base, int ndim, const size_t *dims,
                        clnn_tensor **out) {
  *out = NULL;
  if (!base) return CLNN_SUCCESS;
  return clnn_tensor_wrap(net->ctx, clnn_tensor_cl_mem(base), ndim, dims, out);
}

/* Input and output shapes layer i's operator wants for batch n. */
static void op_shapes(const clnn_net *net, int i, size_t n, int *xn, size_t *xd, int *yn,
                      size_t *yd) {
  const clnn__nn_layer *l = &net->layers[i];
  *xn = full_shape(net, i, n, xd);
  *yn = full_shape(net, i + 1, n, yd);
  int in_seq = clnn__nn_seq(net, l->in_seq);
  if ((l->kind == CLNN__NN_DENSE || l->kind == CLNN__NN_BN) && in_seq) {
    *xn = rows_shape(*xn, xd, xd);
    *yn = rows_shape(*yn, yd, yd);
  }
}

static clnn_status build_plan(clnn_net *net, clnn__nn_plan *p, size_t n, int with_grads) {
  int L = net->num_layers;
  memset(p, 0, sizeof(*p));
  p->lv = calloc((size_t)L, sizeof(*p->lv));
  if (!p->lv) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate views");
  p->batch = n;
  p->with_grads = with_grads;
  clnn_status st = CLNN_SUCCESS;
  size_t xd[5], yd[5], d[5];
  int xn, yn, dn;
  for (int i = 0; i < L && st == CLNN_SUCCESS; i++) {
    const clnn__nn_layer *l = &net->layers[i];
    clnn__nn_lview *v = &p->lv[i];
    if (l->kind == CLNN__NN_FLATTEN) continue;
    op_shapes(net, i, n, &xn, xd, &yn, yd);
    int bx = net->root[i], by = net->root[i + 1];
    st = view(net, net->act[bx], xn, xd, &v->x);
    if (st == CLNN_SUCCESS) st = view(net, net->act[by], yn, yd, &v->y);
    if (st == CLNN_SUCCESS && with_grads) {
      st = view(net, net->grad[bx], xn, xd, &v->dx);
      if (st == CLNN_SUCCESS) st = view(net, net->grad[by], yn, yd, &v->dy);
    }
    if (st != CLNN_SUCCESS) break;
    if (l->kind == CLNN__NN_GAP) {
      size_t d4[4] = {n, l->in_dims[0], 1, 1};
      st = view(net, net->act[by], 4, d4, &v->y4);
      if (st == CLNN_SUCCESS && with_grads) st = view(net, net->grad[by], 4, d4, &v->dy4);
    } else if (l->kind == CLNN__NN_LSTM) {
      size_t T = l->in_dims[0], H = (size_t)l->hidden;
      if (!l->return_seq) {
        size_t sd[3] = {T, n, H};
        st = view(net, net->extra[i], 3, sd, &v->seq_y);
      }
      size_t r = clnn_lstm_reserve_numel(T, n, H);
      if (st == CLNN_SUCCESS) {
        if (r == 0 || r > clnn_tensor_numel(net->reserve[i]))
          st = clnn__error(CLNN_ERROR_INTERNAL, "LSTM reserve for batch %zu (%zu floats) exceeds "
                           "the one allocated", n, r);
        else st = view(net, net->reserve[i], 1, &r, &v->reserve);
      }
    }
  }
  if (st == CLNN_SUCCESS) {
    dn = full_shape(net, 0, n, d);
    st = view(net, net->act[0], dn, d, &p->input);
  }
  if (st == CLNN_SUCCESS) {
    int k = net->root[L];
    dn = full_shape(net, L, n, d);
    st = view(net, net->act[k], dn, d, &p->output);
    if (st == CLNN_SUCCESS) st = view(net, net->target, dn, d, &p->target);
    if (st == CLNN_SUCCESS && with_grads) st = view(net, net->grad[k], dn, d, &p->doutput);
    size_t r2[2];
    rows_shape(dn, d, r2);
    if (st == CLNN_SUCCESS) st = view(net, net->act[k], 2, r2, &p->logits);
    if (st == CLNN_SUCCESS && with_grads) st = view(net, net->grad[k], 2, r2, &p->dlogits);
  }
  if (st != CLNN_SUCCESS) destroy_plan(net, p);
  return st;
}

/* Views for batch n, with gradient views if asked (allocating buffers as needed). */
static clnn_status get_plan(clnn_net *net, size_t n, int with_grads, clnn__nn_plan **out) {
  clnn_status st = ensure_act(net, n);
  if (st == CLNN_SUCCESS && with_grads) st = ensure_grad(net, n);
  if (st != CLNN_SUCCESS) return st;
  net->plan_clock++;
  clnn__nn_plan *victim = NULL;
  for (int i = 0; i < CLNN__NN_PLANS; i++) {
    clnn__nn_plan *p = &net->plans[i];
    if (p->batch == n && (p->with_grads || !with_grads)) {
      p->last_use = net->plan_clock;
      *out = p;
      return CLNN_SUCCESS;
    }
  }
  for (int i = 0; i < CLNN__NN_PLANS; i++) {
    clnn__nn_plan *p = &net->plans[i];
    if (p->batch == n) { victim = p; break; } /* same batch, now with gradients */
  }
  if (!victim)
    for (int i = 0; i < CLNN__NN_PLANS; i++) {
      clnn__nn_plan *p = &net->plans[i];
      if (!victim || p->batch == 0 || (victim->batch != 0 && p->last_use < victim->last_use))
        victim = p;
      if (p->batch == 0) break;
    }
  destroy_plan(net, victim);
  st = build_plan(net, victim, n, with_grads);
  if (st != CLNN_SUCCESS) return st;
  victim->last_use = net->plan_clock;
  *out = victim;
  return CLNN_SUCCESS;
}

static clnn_status ensure_stage(clnn_net *net, size_t floats, size_t labels) {
  if (floats > net->stage_cap) {
    float *s = realloc(net->stage, floats * sizeof(float));
    if (!s) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate %zu floats", floats);
    net->stage = s;
    net->stage_cap = floats;
  }
  if (labels > net->stage_lab_cap) {
    int32_t *s = realloc(net->stage_lab, labels * sizeof(int32_t));
    if (!s) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate %zu labels", labels);
    net->stage_lab = s;
    net->stage_lab_cap = labels;
  }
  return CLNN_SUCCESS;
}

/* [N, T, F] <-> [T, N, F] on the host. */
static void to_time_major(const float *src, float *dst, size_t N, size_t T, size_t F) {
  for (size_t n = 0; n < N; n++)
    for (size_t t = 0; t < T; t++) memcpy(dst + (t * N + n) * F, src + (n * T + t) * F, F * sizeof(float));
}
static void to_batch_major(const float *src, float *dst, size_t N, size_t T, size_t F) {
  for (size_t n = 0; n < N; n++)
    for (size_t t = 0; t < T; t++) memcpy(dst + (n * T + t) * F, src + (t * N + n) * F, F * sizeof(float));
}

static int output_seq(const clnn_net *net) {
  const clnn__nn_layer *l = &net->layers[net->num_layers - 1];
  return clnn__nn_seq(net, l->out_seq);
}

static size_t out_numel(const clnn_net *net) { return buf_numel(net, net->num_layers); }

/* Classes (last output dim) and predictions per sample. */
static void out_rows(const clnn_net *net, size_t *classes, size_t *rows_per_sample) {
  const clnn__nn_layer *l = &net->layers[net->num_layers - 1];
  *classes = l->out_dims[l->out_ndim - 1];
  *rows_per_sample = out_numel(net) / *classes;
}

static clnn_status upload_input(clnn_net *net, clnn__nn_plan *p, const float *x, size_t n) {
  size_t numel = buf_numel(net, 0) * n;
  if (net->input_seq > 0) {
    clnn_status st = ensure_stage(net, numel, 0);
    if (st != CLNN_SUCCESS) return st;
    to_time_major(x, net->stage, n, net->in_dims[0], net->in_dims[1]);
    return clnn_tensor_write(p->input, net->stage, numel);
  }
  return clnn_tensor_write(p->input, x, numel);
}

static clnn_status forward(clnn_net *net, clnn__nn_plan *p, int training) {
  for (int i = 0; i < net->num_layers; i++) {
    clnn_status st = clnn__nn_layer_forward(net, i, &p->lv[i], training);
    if (st != CLNN_SUCCESS) return st;
  }
  return CLNN_SUCCESS;
}

/* Checks that the loss can apply to the output and its targets, and stages time-major labels.
 * *labels_dev receives the labels in device row order (NULL for BCE/MSE). */
static clnn_status check_targets(clnn_net *net, size_t n, const int32_t *labels,
                                 const float *targets, const int32_t **labels_dev,
                                 const char *fn) {
  *labels_dev = NULL;
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
    for (size_t r = 0; r < rows; r++)
      if (labels[r] < 0 || (size_t)labels[r] >= C)
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: labels[%zu] = %d is not in [0, %zu)",
                           fn, r, (int)labels[r], C);
    if (seq) {
      clnn_status st = ensure_stage(net, 0, rows);
      if (st != CLNN_SUCCESS) return st;
      for (size_t b = 0; b < n; b++)
        for (size_t t = 0; t < T; t++) net->stage_lab[t * n + b] = labels[b * T + t];
      *labels_dev = net->stage_lab;
    } else {
      *labels_dev = labels;
    }
    return CLNN_SUCCESS;
  }
  if (!targets)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: targets is NULL (the loss is %s)", fn,
                       net->loss == CLNN_LOSS_MSE ? "MSE" : "BCE with logits");
  return CLNN_SUCCESS;
}

/* Loss (into net->loss_t) and, when `grad`, its gradient into the output's gradient buffer. */
static clnn_status compute_loss(clnn_net *net, clnn__nn_plan *p, size_t n,
                                const int32_t *labels_dev, const float *targets, int grad) {
  if (net->loss == CLNN_LOSS_SOFTMAX_CROSS_ENTROPY)
    return clnn_softmax_cross_entropy(net->ctx, p->logits, labels_dev,
                                      clnn_tensor_dim(p->logits, 0), net->loss_t,
                                      grad ? p->dlogits : NULL);
  size_t numel = out_numel(net) * n;
  clnn_status st;
  if (output_seq(net)) {
    const clnn__nn_layer *l = &net->layers[net->num_layers - 1];
    st = ensure_stage(net, numel, 0);
    if (st != CLNN_SUCCESS) return st;
    to_time_major(targets, net->stage, n, l->out_dims[0], l->out_dims[1]);
    st = clnn_tensor_write(p->target, net->stage, numel);
  } else {
    st = clnn_tensor_write(p->target, targets, numel);
  }
  if (st != CLNN_SUCCESS) return st;
  if (net->loss == CLNN_LOSS_MSE)
    return clnn_mse_loss(net->ctx, p->output, p->target, net->loss_t, grad ? p->doutput : NULL);
  return clnn_bce_with_logits(net->ctx, p->output, p->target, net->loss_t,
                              grad ? p->doutput : NULL);
}

static clnn_status backward(clnn_net *net, clnn__nn_plan *p, clnn__nn_layer_hook hook,
                            void *user) {
  for (int i = net->num_layers - 1; i >= 0; i--) {
    if (!has_params(&net->layers[i]) && !net->propagate[i]) continue;
    clnn_status st = clnn__nn_layer_backward(net, i, &p->lv[i]);
    if (st == CLNN_SUCCESS && hook) st = hook(user, i);
    if (st != CLNN_SUCCESS) return st;
  }
  return CLNN_SUCCESS;
}

clnn_status clnn__nn_optimizer_step(clnn_net *net) {
  const clnn_optimizer_config *c = &net->opt;
  clnn_status st = CLNN_SUCCESS;
  if (c->clip_grad_norm > 0.0f) {
    clnn_tensor **grads = malloc((net->num_params ? net->num_params : 1) * sizeof(*grads));
    if (!grads) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate gradient list");
    size_t count = 0;
    for (size_t i = 0; i < net->num_params; i++)
      if (net->params[i].trainable) grads[count++] = net->params[i].grad;
    if (count) st = clnn_clip_grad_norm(net->ctx, grads, count, c->clip_grad_norm, NULL);
    free(grads);
    if (st != CLNN_SUCCESS) return st;
  }
  if (net->step == UINT64_MAX) /* refused at load; never reached by training */
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "the optimizer step count would overflow");
  uint64_t step = net->step + 1;
  for (size_t i = 0; i < net->num_params && st == CLNN_SUCCESS; i++) {
    clnn__nn_param *p = &net->params[i];
    if (p->trainable)
      st = clnn__nn_update_param(net->ctx, c, c->lr, c->weight_decay, step, p->value, p->grad,
                                 p->opt);
  }
  if (st == CLNN_SUCCESS) net->step = step;
  return st;
}

static clnn_status check_batch_args(clnn_net *net, const float *x, size_t batch, const char *fn) {
  if (!net) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: net is NULL", fn);
  if (!x) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: x is NULL", fn);
  if (batch == 0) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: batch is 0", fn);
  int ok = 1;
  clnn__mul_size(batch, clnn__nn_prod(net->in_ndim, net->in_dims), &ok);
  if (!ok) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: batch %zu overflows", fn, batch);
  return clnn__nn_finalize(net);
}

/* Forward + loss + backward (+ optimizer step when `apply`) on this network's own device; the
 * loss stays in net->loss_t. */
static clnn_status train_local(clnn_net *net, const float *x, size_t batch, const int32_t *labels,
                               const float *targets, int apply, clnn__nn_layer_hook hook,
                               void *user, const char *fn) {
  clnn_status st = check_batch_args(net, x, batch, fn);
  if (st != CLNN_SUCCESS) return st;
  const int32_t *labels_dev;
  st = check_targets(net, batch, labels, targets, &labels_dev, fn);
  if (st != CLNN_SUCCESS) return st;
  clnn__nn_plan *p;
  st = get_plan(net, batch, 1, &p);
  if (st == CLNN_SUCCESS) st = upload_input(net, p, x, batch);
  if (st == CLNN_SUCCESS) st = forward(net, p, 1);
  if (st == CLNN_SUCCESS) st = compute_loss(net, p, batch, labels_dev, targets, 1);
  if (st == CLNN_SUCCESS) st = backward(net, p, hook, user);
  if (st == CLNN_SUCCESS) net->train_forwards++;
  if (st == CLNN_SUCCESS && apply) st = clnn__nn_optimizer_step(net);
  return st;
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

/* The same, split across devices and MPI ranks when the network has several (parallel.c, which
 * restores its own state on failure). Everything that can be checked is checked before anything
 * runs; a later failure (device, memory) restores the running statistics. */
static clnn_status train_core(clnn_net *net, const float *x, size_t batch, const int32_t *labels,
                              const float *targets, int apply, const char *fn) {
  clnn_status st = check_batch_args(net, x, batch, fn);
  if (st == CLNN_SUCCESS) st = check_bn_batch(net, batch, fn);
  if (st == CLNN_SUCCESS && apply && net->step == UINT64_MAX)
    st = clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: the optimizer step count would overflow", fn);
  if (st != CLNN_SUCCESS) return st;
  if (net->par) return clnn__nn_par_train(net, x, batch, labels, targets, apply, fn);
  const int32_t *labels_dev;
  if ((st = check_targets(net, batch, labels, targets, &labels_dev, fn)) != CLNN_SUCCESS ||
      (st = state_copy(net, 0)) != CLNN_SUCCESS)
    return st;
  st = train_local(net, x, batch, labels, targets, apply, NULL, NULL, fn);
  if (st != CLNN_SUCCESS) {
    char keep[1024];
    snprintf(keep, sizeof keep, "%s", clnn_last_error());
    state_copy(net, 1);
    clnn__error(st, "%s", keep);
  }
  return st;
}

clnn_status clnn__nn_train_pass(clnn_net *net, const float *x, size_t batch, const int32_t *labels,
                                const float *targets, clnn__nn_layer_hook hook, void *user,
                                const char *fn) {
  return train_local(net, x, batch, labels, targets, 0, hook, user, fn);
}

clnn_status clnn__nn_check_train_args(clnn_net *net, const float *x, size_t batch,
                                      const int32_t *labels, const float *targets, const char *fn) {
  clnn_status st = check_batch_args(net, x, batch, fn);
  const int32_t *labels_dev;
  if (st == CLNN_SUCCESS) st = check_targets(net, batch, labels, targets, &labels_dev, fn);
  return st;
}

clnn_status clnn_net_train_step(clnn_net *net, const float *x, size_t batch,
                                const int32_t *labels, const float *targets, float *loss) {
  clnn_status st = train_core(net, x, batch, labels, targets, 1, "clnn_net_train_step");
  if (st == CLNN_SUCCESS && loss) st = clnn_tensor_read(net->loss_t, loss, 1);
  return st;
}

clnn_status clnn_net_compute_gradients(clnn_net *net, const float *x, size_t batch,
                                       const int32_t *labels, const float *targets, float *loss) {
  clnn_status st = train_core(net, x, batch, labels, targets, 0, "clnn_net_compute_gradients");
  if (st == CLNN_SUCCESS && loss) st = clnn_tensor_read(net->loss_t, loss, 1);
  return st;
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

clnn_status clnn_net_train_epoch(clnn_net *net, clnn_dataset *ds, size_t batch_size,
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
  st = clnn_tensor_fill(net->loss_sum, 0.0f);
  for (size_t first = 0; first < n && st == CLNN_SUCCESS; first += batch_size) {
    size_t count = n - first < batch_size ? n - first : batch_size;
    if (merge && n - first == batch_size + 1) count = batch_size + 1;
    st = clnn_dataset_batch(ds, first, count, xb, yb);
    if (st == CLNN_SUCCESS) st = train_core(net, xb, count, yb, NULL, 1, fn);
    if (st == CLNN_SUCCESS) done_steps++;
    if (st == CLNN_SUCCESS && mean_loss)
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
  if (st == CLNN_SUCCESS && mean_loss) st = clnn_tensor_read(net->loss_sum, mean_loss, 1);
  return st;
}

/* Inference forward of batch samples; leaves the output in the plan. */
static clnn_status infer_core(clnn_net *net, const float *x, size_t batch, clnn__nn_plan **pp,
                              const char *fn) {
  clnn_status st = check_batch_args(net, x, batch, fn);
  if (st != CLNN_SUCCESS) return st;
  st = get_plan(net, batch, 0, pp);
  if (st == CLNN_SUCCESS) st = upload_input(net, *pp, x, batch);
  if (st == CLNN_SUCCESS) st = forward(net, *pp, 0);
  return st;
}

static clnn_status read_output(clnn_net *net, clnn__nn_plan *p, size_t batch, float *y) {
  size_t numel = out_numel(net) * batch;
  if (output_seq(net)) {
    const clnn__nn_layer *l = &net->layers[net->num_layers - 1];
    clnn_status st = ensure_stage(net, numel, 0);
    if (st == CLNN_SUCCESS) st = clnn_tensor_read(p->output, net->stage, numel);
    if (st == CLNN_SUCCESS) to_batch_major(net->stage, y, batch, l->out_dims[0], l->out_dims[1]);
    return st;
  }
  return clnn_tensor_read(p->output, y, numel);
}

clnn_status clnn_net_predict(clnn_net *net, const float *x, size_t batch, float *y,
                             size_t y_count) {
  const char *fn = "clnn_net_predict";
  if (net && !y) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: y is NULL", fn);
  clnn_status st = check_batch_args(net, x, batch, fn);
  if (st != CLNN_SUCCESS) return st;
  if (y_count != out_numel(net) * batch)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: y_count is %zu but %zu samples of %zu "
                       "outputs need %zu", fn, y_count, batch, out_numel(net),
                       out_numel(net) * batch);
  clnn__nn_plan *p;
  st = infer_core(net, x, batch, &p, fn);
  if (st == CLNN_SUCCESS) st = read_output(net, p, batch, y);
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
 * loss_sum_dev, accumulates the mean loss on the device. */
static clnn_status eval_loop(clnn_net *net, const float *x, const int32_t *labels, size_t n,
                             size_t batch_size, int want_loss, size_t *correct, const char *fn) {
  size_t classes, rps;
  out_rows(net, &classes, &rps);
  size_t numel_in = buf_numel(net, 0), numel_out = out_numel(net);
  if (batch_size > n) batch_size = n;
  float *y = malloc(batch_size * numel_out * sizeof(float));
  if (!y) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "%s: cannot allocate outputs", fn);
  clnn_status st = CLNN_SUCCESS;
  *correct = 0;
  if (want_loss) st = clnn_tensor_fill(net->loss_sum, 0.0f);
  for (size_t first = 0; first < n && st == CLNN_SUCCESS; first += batch_size) {
    size_t count = n - first < batch_size ? n - first : batch_size;
    clnn__nn_plan *p;
    const int32_t *lab = labels + first * rps;
    const int32_t *labels_dev = NULL;
    if (want_loss) st = check_targets(net, count, lab, NULL, &labels_dev, fn);
    if (st == CLNN_SUCCESS) st = infer_core(net, x + first * numel_in, count, &p, fn);
    if (st == CLNN_SUCCESS && want_loss) {
      st = compute_loss(net, p, count, labels_dev, NULL, 0);
      if (st == CLNN_SUCCESS)
        st = clnn_axpy(net->ctx, (float)count / (float)n, net->loss_t, net->loss_sum);
    }
    if (st == CLNN_SUCCESS) st = read_output(net, p, count, y);
    if (st == CLNN_SUCCESS) *correct += count_correct(y, lab, count * rps, classes);
  }
  free(y);
  return st;
}

clnn_status clnn_net_accuracy(clnn_net *net, const float *x, const int32_t *labels, size_t n,
                              size_t batch_size, float *accuracy) {
  const char *fn = "clnn_net_accuracy";
  if (net && (!labels || !accuracy))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                       !labels ? "labels" : "accuracy");
  if (net && batch_size == 0)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: batch_size is 0", fn);
  clnn_status st = check_batch_args(net, x, n, fn);
  if (st != CLNN_SUCCESS) return st;
  size_t correct, classes, rps;
  st = eval_loop(net, x, labels, n, batch_size, 0, &correct, fn);
  if (st != CLNN_SUCCESS) return st;
  out_rows(net, &classes, &rps);
  *accuracy = (float)((double)correct / ((double)n * (double)rps));
  return CLNN_SUCCESS;
}

clnn_status clnn_net_evaluate(clnn_net *net, const clnn_dataset *ds, size_t batch_size,
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

/* ---- inspection ---- */

int clnn_net_num_layers(const clnn_net *net) { return net ? net->num_layers : 0; }

const char *clnn_net_layer_name(const clnn_net *net, int layer) {
  if (!net || layer < 0 || layer >= net->num_layers) return NULL;
  return net->layers[layer].name;
}

int clnn_net_output_dims(const clnn_net *net, int layer, size_t dims[CLNN_MAX_DIMS]) {
  if (!net || !dims) return 0;
  if (layer == -1) layer = net->num_layers - 1;
  if (layer == -1) {
    for (int i = 0; i < net->in_ndim; i++) dims[i] = net->in_dims[i];
    return net->in_ndim;
  }
  if (layer < 0 || layer >= net->num_layers) return 0;
  const clnn__nn_layer *l = &net->layers[layer];
  for (int i = 0; i < l->out_ndim; i++) dims[i] = l->out_dims[i];
  return l->out_ndim;
}

size_t clnn_net_num_params(const clnn_net *net) {
  if (!net) return 0;
  if (clnn__nn_finalize((clnn_net *)net) != CLNN_SUCCESS) return 0;
  return net->num_params;
}

const char *clnn_net_param_name(const clnn_net *net, size_t index) {
  if (!net || clnn__nn_finalize((clnn_net *)net) != CLNN_SUCCESS) return NULL;
  if (index >= net->num_params) return NULL;
  return net->params[index].name;
}

clnn_status clnn_net_param(clnn_net *net, const char *name, clnn_tensor **value,
                           clnn_tensor **grad) {
  if (!net || !name)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_param: %s is NULL",
                       !net ? "net" : "name");
  clnn_status st = clnn__nn_finalize(net);
  if (st != CLNN_SUCCESS) return st;
  for (size_t i = 0; i < net->num_params; i++)
    if (strcmp(net->params[i].name, name) == 0) {
      if (value) *value = net->params[i].value;
      if (grad) *grad = net->params[i].grad;
      net->replicas_stale = 1; /* the caller may write to the tensor */
      return CLNN_SUCCESS;
    }
  char list[512];
  size_t k = 0;
  list[0] = 0;
  for (size_t i = 0; i < net->num_params && k + 4 < sizeof list; i++)
    k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", i ? ", " : "", net->params[i].name);
  return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_param: no tensor named '%s' (the "
                     "network has: %s)", name, list);
}

size_t clnn_net_num_trainable(const clnn_net *net) {
  if (!net || clnn__nn_finalize((clnn_net *)net) != CLNN_SUCCESS) return 0;
  size_t total = 0;
  for (size_t i = 0; i < net->num_params; i++)
    if (net->params[i].trainable) total += net->params[i].numel;
  return total;
}

uint64_t clnn_net_step_count(const clnn_net *net) { return net ? net->step : 0; }

/* Trainable scalars of layer i (computable before finalisation). */
static size_t layer_param_count(const clnn__nn_layer *l) {
  size_t g = (size_t)(l->conv.groups > 0 ? l->conv.groups : 1);
  switch (l->kind) {
    case CLNN__NN_CONV:
      return (size_t)l->out_channels * (l->in_dims[0] / g) * (size_t)(l->kh * l->kw) +
             (l->has_bias ? (size_t)l->out_channels : 0);
    case CLNN__NN_CONVT:
      return l->in_dims[0] * ((size_t)l->out_channels / g) * (size_t)(l->kh * l->kw) +
             (l->has_bias ? (size_t)l->out_channels : 0);
    case CLNN__NN_DENSE:
      return (size_t)l->units * (l->in_dims[l->in_ndim - 1] + 1);
    case CLNN__NN_BN: return 2 * l->out_dims[l->out_ndim - 1];
    case CLNN__NN_LSTM: {
      size_t H = (size_t)l->hidden;
      return 4 * H * (l->in_dims[1] + H + 1);
    }
    default: return 0;
  }
}

clnn_status clnn_net_summary(const clnn_net *net, char *buf, size_t size) {
  if (!net || !buf || size == 0)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_summary: %s",
                       !net ? "net is NULL" : !buf ? "buf is NULL" : "size is 0");
  size_t k = 0, total = 0;
  char s[64], kind[48];
#define APPEND(...)                                                                                \
  do {                                                                                           \
    if (k < size) {                                                                              \
      int w_ = snprintf(buf + k, size - k, __VA_ARGS__);                                         \
      if (w_ > 0) k += (size_t)w_;                                                               \
    }                                                                                            \
  } while (0)
  APPEND("%-16s %-22s %-18s %10s\n", "layer", "kind", "output", "params");
  APPEND("%-16s %-22s %-18s %10s\n", "input", "", clnn__dims_str_raw(net->in_ndim, net->in_dims, s, sizeof s), "");
  for (int i = 0; i < net->num_layers; i++) {
    const clnn__nn_layer *l = &net->layers[i];
    switch (l->kind) {
      case CLNN__NN_CONV:
      case CLNN__NN_CONVT:
        snprintf(kind, sizeof kind, "%s %dx%d/%d", l->kind == CLNN__NN_CONV ? "conv2d" : "conv_t2d",
                 l->kh, l->kw, l->conv.stride_h);
        break;
      case CLNN__NN_MAXPOOL:
      case CLNN__NN_AVGPOOL:
        snprintf(kind, sizeof kind, "%s %dx%d/%d", clnn__nn_kind_name(l->kind), l->pool.kernel_h,
                 l->pool.kernel_w, l->pool.stride_h);
        break;
      case CLNN__NN_ACT: snprintf(kind, sizeof kind, "%s", clnn__nn_act_name(l->act)); break;
      case CLNN__NN_DROPOUT: snprintf(kind, sizeof kind, "dropout %.2f", (double)l->p); break;
      case CLNN__NN_LSTM:
        snprintf(kind, sizeof kind, "lstm%s", l->return_seq ? " (sequence)" : " (last)");
        break;
      default: snprintf(kind, sizeof kind, "%s", clnn__nn_kind_name(l->kind)); break;
    }
    size_t pc = layer_param_count(l);
    total += pc;
    clnn__dims_str_raw(l->out_ndim, l->out_dims, s, sizeof s);
    if (clnn__nn_seq(net, l->out_seq) && l->out_ndim == 2) {
      size_t len = strlen(s);
      snprintf(s + len, sizeof s - len, " seq");
    }
    APPEND("%-16s %-22s %-18s %10zu\n", l->name, kind, s, pc);
  }
  APPEND("trainable parameters: %zu\n", total);
#undef APPEND
  if (k >= size) buf[size - 1] = 0;
  return CLNN_SUCCESS;
}
