/* src/nn/net.c — the sequential network: a small builder over the graph layer. Creation,
 * settings, first-use finalisation (the layers become a graph model with the same names,
 * initialisation and results, and the network's loss as the model's loss outside its graph; the
 * network keeps a parameter table over the model's tensors and optimizer slots, which
 * checkpoints use), parameter access by
 * name and the summary table. Training and inference are in net_train.c. */
#include "nn/model.h"
#include "nn/nn_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- optimizer configuration ---- */

void clnn_optimizer_config_init(clnn_optimizer_config *cfg, clnn_optimizer_type type, float lr) {
  if (!cfg) return;
  memset(cfg, 0, sizeof(*cfg));
  cfg->struct_size = (uint32_t)sizeof *cfg;
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

/* The network's optimizer slots are its model's: point the parameter table at them. */
static void link_slots(clnn_net *net) {
  for (size_t i = 0; i < net->num_params; i++)
    for (int k = 0; k < 2; k++) net->params[i].opt[k] = net->model->params[i].opt[k];
}

/* Replaces the optimizer state by fresh zeroed slots for cfg (all or nothing). */
static clnn_status install_opt(clnn_net *net, const clnn_optimizer_config *cfg) {
  clnn_status st = clnn__m_install_opt(net->model, cfg);
  if (st != CLNN_SUCCESS) return st;
  link_slots(net);
  clnn__x_mark_stale(net->model->par); /* fresh slots on every device */
  return CLNN_SUCCESS;
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
  clnn_status live = clnn__context_check_live(ctx, "clnn_net_create");
  if (live != CLNN_SUCCESS) return live;
  clnn_net *net = calloc(1, sizeof(*net));
  if (!net) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate a network");
  clnn__context_hold(ctx, "clnn_net_create"); /* checked above: cannot fail */
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

/* Releases what clnn__nn_finalize builds (the model, the parameter table, the optimizer state,
 * the loss scalars): a failed finalize leaves the network as it was, and destroy frees the rest. */
static void release_finalized(clnn_net *net) {
  free(net->params); /* (values, gradients, slots and the loss scalar belong to the model) */
  net->params = NULL;
  net->num_params = 0;
  clnn_model_destroy(net->model);
  net->model = NULL;
  clnn_tensor_destroy(net->loss_sum);
  clnn_tensor_destroy(net->state_backup);
  net->loss_t = net->loss_sum = net->state_backup = NULL;
  for (int i = 0; i < net->num_layers; i++) net->layers[i].num_params = 0;
}

void clnn_net_destroy(clnn_net *net) {
  if (!net) return;
  release_finalized(net); /* (the model takes its replicas and MPI communicator with it) */
  free(net->layers);
  clnn_context *ctx = net->ctx;
  free(net);
  clnn__context_drop(ctx); /* frees a destroyed context with its last object */
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
  clnn_optimizer_config cfg_in;
  CLNN__STRUCT_IN(CLNN__OPTIMIZER_CONFIG, "clnn_net_set_optimizer", "cfg", cfg, cfg_in);
  clnn_status st = check_opt(cfg);
  if (st != CLNN_SUCCESS) return st;
  if (net->finalized) {
    st = install_opt(net, cfg);
    if (st != CLNN_SUCCESS) return st;
  }
  net->opt = *cfg;
  net->step = 0;
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

clnn_status clnn_net_set_check_finite(clnn_net *net, int on) {
  if (!net)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_set_check_finite: net is NULL");
  if (on && (net->devset || (net->model && net->model->par)))
    return clnn__error(CLNN_ERROR_UNSUPPORTED, "clnn_net_set_check_finite: a network on several "
                       "devices or ranks (the check runs on one device)");
  net->check_finite = on ? 1 : 0;
  return CLNN_SUCCESS;
}

/* ---- finalisation: the layers as a graph model ---- */

static int layer_named(const clnn_net *net, const char *name, size_t len) {
  for (int i = 0; i < net->num_layers; i++)
    if (strlen(net->layers[i].name) == len && strncmp(net->layers[i].name, name, len) == 0) return i;
  return -1;
}

static clnn__nn_role role_named(const char *role) {
  static const clnn__nn_role roles[] = {CLNN__NN_WEIGHT, CLNN__NN_BIAS, CLNN__NN_WEIGHT_IH,
                                        CLNN__NN_WEIGHT_HH, CLNN__NN_RUNNING_MEAN,
                                        CLNN__NN_RUNNING_VAR};
  for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
    if (strcmp(clnn__nn_role_name(roles[i]), role) == 0) return roles[i];
  return CLNN__NN_WEIGHT;
}

/* The parameter table over the model's tensors, in the model's order (trainable parameters
 * first, then state, each in layer order), and each layer's list of its parameters. */
static clnn_status param_table(clnn_net *net) {
  const clnn_model *m = net->model;
  const clnn__graph *g = &m->graph.g;
  for (int i = 0; i < net->num_layers; i++) net->layers[i].num_params = 0; /* (replicas copy
                                                                               the layers) */
  net->params = calloc(m->num_params ? m->num_params : 1, sizeof(*net->params));
  if (!net->params) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate parameters");
  net->num_params = m->num_params;
  for (size_t i = 0; i < m->num_params; i++) {
    const clnn__gparam *gp = &g->params[m->params[i].gp];
    clnn__nn_param *p = &net->params[i];
    const char *dot = strrchr(gp->name, '.');
    int layer = dot ? layer_named(net, gp->name, (size_t)(dot - gp->name)) : -1;
    if (layer < 0 || net->layers[layer].num_params >= CLNN__NN_MAX_LPARAMS)
      return clnn__error(CLNN_ERROR_INTERNAL, "parameter '%s' has no layer", gp->name);
    snprintf(p->name, sizeof p->name, "%s", gp->name);
    p->layer = layer;
    p->role = role_named(dot + 1);
    p->trainable = !gp->state;
    p->ndim = gp->ndim;
    memcpy(p->dims, gp->dims, sizeof(p->dims));
    p->numel = gp->numel;
    p->value = m->params[i].value;
    p->grad = m->params[i].grad;
    clnn__nn_layer *l = &net->layers[layer];
    l->pidx[l->num_params++] = (int)i;
  }
  return CLNN_SUCCESS;
}

clnn_status clnn__nn_finalize(clnn_net *net) {
  if (net->finalized) return CLNN_SUCCESS;
  if (net->num_layers == 0)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "the network has no layers; add some first");
  int saved_input_seq = net->input_seq;
  if (net->input_seq < 0) net->input_seq = 0;
  clnn_graph *g = NULL;
  clnn_status st = clnn__nn_to_graph(net, 1, &g);
  if (st == CLNN_SUCCESS)
    st = clnn__m_create_bare(net->ctx, &g->g, net->seed, &net->model, "clnn_net");
  if (st == CLNN_SUCCESS) {
    const clnn__graph *mg = &net->model->graph.g;
    net->in_v = clnn__g_find_value(mg, "input");
    net->out_v = mg->outputs[0];
    net->label_v = clnn__g_find_value(mg, "label");
    net->target_v = clnn__g_find_value(mg, "target");
    st = param_table(net);
  }
  clnn_graph_destroy(g);
  size_t one = 1;
  if (st == CLNN_SUCCESS)
    st = clnn__m_xloss_init(net->model, net->loss, net->out_v, net->label_v, net->target_v);
  if (st == CLNN_SUCCESS) net->loss_t = net->model->xl.loss;
  if (st == CLNN_SUCCESS) st = clnn_tensor_create(net->ctx, 1, &one, &net->loss_sum);
  if (st == CLNN_SUCCESS) st = install_opt(net, &net->opt);
  if (st == CLNN_SUCCESS) st = clnn__nn_par_attach(net);
  if (st != CLNN_SUCCESS) {
    release_finalized(net);
    net->input_seq = saved_input_seq;
    return st;
  }
  net->finalized = 1;
  return CLNN_SUCCESS;
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

/* Before finalisation the inspection calls read the names each layer keeps (trainable tensors
 * first, then state, each in layer order: the order of the finalised table); they change nothing. */
static const char *layer_pname(const clnn_net *net, size_t index, size_t *count) {
  size_t k = 0;
  for (int state = 0; state < 2; state++)
    for (int i = 0; i < net->num_layers; i++) {
      const clnn__nn_layer *l = &net->layers[i];
      for (int r = 0; r < l->num_pnames; r++)
        if (!!(l->pstate & (1u << r)) == state && k++ == index) return l->pnames[r];
    }
  if (count) *count = k;
  return NULL;
}

size_t clnn_net_num_params(const clnn_net *net) {
  if (!net) return 0;
  if (net->finalized) return net->num_params;
  size_t n = 0;
  layer_pname(net, (size_t)-1, &n);
  return n;
}

const char *clnn_net_param_name(const clnn_net *net, size_t index) {
  if (!net) return NULL;
  if (!net->finalized) return layer_pname(net, index, NULL);
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
      /* the caller may write to the tensor: the next parallel step compares it with a replica
       * (reading it copies nothing) */
      net->model->params[i].exposed = 1;
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

static size_t layer_param_count(const clnn_net *net, const clnn__nn_layer *l);

size_t clnn_net_num_trainable(const clnn_net *net) {
  if (!net) return 0;
  size_t total = 0;
  if (!net->finalized) {
    for (int i = 0; i < net->num_layers; i++) total += layer_param_count(net, &net->layers[i]);
    return total;
  }
  for (size_t i = 0; i < net->num_params; i++)
    if (net->params[i].trainable) total += net->params[i].numel;
  return total;
}

uint64_t clnn_net_step_count(const clnn_net *net) { return net ? net->step : 0; }

/* Trainable scalars of layer i (computable before finalisation). */
static size_t layer_param_count(const clnn_net *net, const clnn__nn_layer *l) {
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
    case CLNN__NN_BN: /* per channel (dim 0 of [C, ...]) or per feature of a sequence [T, F] */
      return 2 * (clnn__nn_seq(net, l->in_seq) ? l->out_dims[l->out_ndim - 1] : l->out_dims[0]);
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
    size_t pc = layer_param_count(net, l);
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
