/* src/nn/layers.c — the sequential network's layers: the clnn_net_add_* calls with shape
 * inference (errors name the layer) and naming. The layers run as graph nodes (net_graph.c),
 * whose op tables hold parameters, initialisation, forward and backward. */
#include "nn_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- names and shapes ---- */

int clnn__nn_seq(const clnn_net *net, int flag) {
  if (flag < 0) return net->input_seq > 0;
  return flag;
}

const char *clnn__nn_kind_name(clnn__nn_kind kind) {
  switch (kind) {
    case CLNN__NN_CONV: return "conv2d";
    case CLNN__NN_CONVT: return "conv_transpose2d";
    case CLNN__NN_MAXPOOL: return "maxpool2d";
    case CLNN__NN_AVGPOOL: return "avgpool2d";
    case CLNN__NN_GAP: return "global_avgpool";
    case CLNN__NN_DENSE: return "dense";
    case CLNN__NN_ACT: return "activation";
    case CLNN__NN_DROPOUT: return "dropout";
    case CLNN__NN_BN: return "batchnorm";
    case CLNN__NN_FLATTEN: return "flatten";
    case CLNN__NN_LSTM: return "lstm";
  }
  return "?";
}

const char *clnn__nn_role_name(clnn__nn_role role) {
  switch (role) {
    case CLNN__NN_WEIGHT: return "weight";
    case CLNN__NN_BIAS: return "bias";
    case CLNN__NN_WEIGHT_IH: return "weight_ih";
    case CLNN__NN_WEIGHT_HH: return "weight_hh";
    case CLNN__NN_RUNNING_MEAN: return "running_mean";
    case CLNN__NN_RUNNING_VAR: return "running_var";
  }
  return "?";
}

/* Prefix of automatic layer names. */
static const char *name_prefix(const clnn__nn_layer *l) {
  switch (l->kind) {
    case CLNN__NN_CONV: return "conv";
    case CLNN__NN_CONVT: return "conv_transpose";
    case CLNN__NN_MAXPOOL: return "maxpool";
    case CLNN__NN_AVGPOOL: return "avgpool";
    case CLNN__NN_GAP: return "global_avgpool";
    case CLNN__NN_DENSE: return "dense";
    case CLNN__NN_ACT: return clnn__nn_act_name(l->act);
    case CLNN__NN_DROPOUT: return "dropout";
    case CLNN__NN_BN: return "bn";
    case CLNN__NN_FLATTEN: return "flatten";
    case CLNN__NN_LSTM: return "lstm";
  }
  return "layer";
}

static int name_taken(const clnn_net *net, const char *name, int except) {
  for (int i = 0; i < net->num_layers; i++)
    if (i != except && strcmp(net->layers[i].name, name) == 0) return 1;
  return 0;
}

/* The layer's description for error messages: "layer 3 'dense1' (dense)". */
static const char *ldesc(const clnn__nn_layer *l, int index, char *buf, size_t size) {
  snprintf(buf, size, "layer %d '%s' (%s)", index, l->name, clnn__nn_kind_name(l->kind));
  return buf;
}

/* ---- shape inference ---- */

#define SHAPE_ERR(...) clnn__error(CLNN_ERROR_SHAPE_MISMATCH, __VA_ARGS__)

static clnn_status infer(clnn_net *net, clnn__nn_layer *l, int index, int *new_input_seq) {
  char d[96], s[64];
  ldesc(l, index, d, sizeof d);
  clnn__dims_str_raw(l->in_ndim, l->in_dims, s, sizeof s);
  int in_seq = l->in_seq; /* -1: undecided network input */
  const size_t *x = l->in_dims;
  *new_input_seq = net->input_seq;
  /* kinds that cannot take a sequence decide that the network input is not one */
  int wants_seq = l->kind == CLNN__NN_LSTM;
  int elementwise = l->kind == CLNN__NN_ACT || l->kind == CLNN__NN_DROPOUT;
  if (in_seq < 0 && !elementwise) {
    *new_input_seq = wants_seq;
    in_seq = wants_seq;
  }
  int seq = in_seq; /* resolved (or -1 for elementwise layers on an undecided input) */
  l->out_seq = 0;
  switch (l->kind) {
    case CLNN__NN_CONV:
    case CLNN__NN_CONVT: {
      if (seq == 1 || l->in_ndim != 3)
        return SHAPE_ERR("%s: input %s%s is not an image [C, H, W]", d, s, seq == 1 ? " (a sequence)" : "");
      const clnn_conv2d_params *p = &l->conv;
      if (l->out_channels <= 0 || l->kh <= 0 || l->kw <= 0)
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: out_channels %d and kernel %dx%d "
                           "must be > 0", d, l->out_channels, l->kh, l->kw);
      if (p->stride_h < 1 || p->stride_w < 1 || p->dilation_h < 1 || p->dilation_w < 1 ||
          p->groups < 1 || p->pad_top < 0 || p->pad_bottom < 0 || p->pad_left < 0 ||
          p->pad_right < 0)
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: stride, dilation and groups must be "
                           ">= 1 and padding >= 0", d);
      size_t C = x[0], K = (size_t)l->out_channels, g = (size_t)p->groups;
      if (C % g || K % g)
        return SHAPE_ERR("%s: groups %d must divide the input channels %zu and the output "
                         "channels %zu", d, p->groups, C, K);
      size_t eh = (size_t)p->dilation_h * (size_t)(l->kh - 1) + 1;
      size_t ew = (size_t)p->dilation_w * (size_t)(l->kw - 1) + 1;
      size_t ph = (size_t)p->pad_top + (size_t)p->pad_bottom;
      size_t pw = (size_t)p->pad_left + (size_t)p->pad_right;
      size_t P, Q;
      if (l->kind == CLNN__NN_CONV) {
        if (x[1] + ph < eh || x[2] + pw < ew)
          return SHAPE_ERR("%s: input %s with padding %zu x %zu is smaller than the %dx%d kernel "
                           "(dilated %zu x %zu)", d, s, ph, pw, l->kh, l->kw, eh, ew);
        P = (x[1] + ph - eh) / (size_t)p->stride_h + 1;
        Q = (x[2] + pw - ew) / (size_t)p->stride_w + 1;
      } else {
        size_t fh = (x[1] - 1) * (size_t)p->stride_h + eh, fw = (x[2] - 1) * (size_t)p->stride_w + ew;
        if (fh <= ph || fw <= pw)
          return SHAPE_ERR("%s: input %s: padding %zu x %zu leaves no output", d, s, ph, pw);
        P = fh - ph;
        Q = fw - pw;
      }
      l->out_ndim = 3;
      l->out_dims[0] = K;
      l->out_dims[1] = P;
      l->out_dims[2] = Q;
      break;
    }
    case CLNN__NN_MAXPOOL:
    case CLNN__NN_AVGPOOL: {
      if (seq == 1 || l->in_ndim != 3)
        return SHAPE_ERR("%s: input %s%s is not an image [C, H, W]", d, s, seq == 1 ? " (a sequence)" : "");
      const clnn_pool2d_params *p = &l->pool;
      if (p->kernel_h < 1 || p->kernel_w < 1 || p->stride_h < 1 || p->stride_w < 1 ||
          p->pad_top < 0 || p->pad_bottom < 0 || p->pad_left < 0 || p->pad_right < 0 ||
          p->pad_top >= p->kernel_h || p->pad_bottom >= p->kernel_h ||
          p->pad_left >= p->kernel_w || p->pad_right >= p->kernel_w)
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: kernel and stride must be >= 1, "
                           "padding >= 0 and smaller than the kernel", d);
      size_t ph = (size_t)p->pad_top + (size_t)p->pad_bottom;
      size_t pw = (size_t)p->pad_left + (size_t)p->pad_right;
      if (x[1] + ph < (size_t)p->kernel_h || x[2] + pw < (size_t)p->kernel_w)
        return SHAPE_ERR("%s: input %s is smaller than the %dx%d window", d, s, p->kernel_h,
                         p->kernel_w);
      l->out_ndim = 3;
      l->out_dims[0] = x[0];
      l->out_dims[1] = (x[1] + ph - (size_t)p->kernel_h) / (size_t)p->stride_h + 1;
      l->out_dims[2] = (x[2] + pw - (size_t)p->kernel_w) / (size_t)p->stride_w + 1;
      break;
    }
    case CLNN__NN_GAP:
      if (seq == 1 || l->in_ndim != 3)
        return SHAPE_ERR("%s: input %s%s is not an image [C, H, W]", d, s, seq == 1 ? " (a sequence)" : "");
      l->out_ndim = 1;
      l->out_dims[0] = x[0];
      break;
    case CLNN__NN_DENSE:
      if (l->units <= 0)
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: units %d must be > 0", d, l->units);
      if (seq == 1) {
        l->out_ndim = 2;
        l->out_dims[0] = x[0];
        l->out_dims[1] = (size_t)l->units;
        l->out_seq = 1;
      } else if (l->in_ndim != 1) {
        return SHAPE_ERR("%s: input %s is not flat; dense needs [features] (add a flatten layer "
                         "before it)", d, s);
      } else {
        l->out_ndim = 1;
        l->out_dims[0] = (size_t)l->units;
      }
      break;
    case CLNN__NN_ACT:
      if ((int)l->act < 0 || (int)l->act > CLNN_ACT_SOFTPLUS)
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: unknown activation %d", d, (int)l->act);
      if (!isfinite(l->alpha))
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: alpha is not finite", d);
      /* fallthrough */
    case CLNN__NN_DROPOUT:
      if (l->kind == CLNN__NN_DROPOUT && !(l->p >= 0.0f && l->p < 1.0f))
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: drop probability %g is not in "
                           "[0, 1)", d, (double)l->p);
      l->out_ndim = l->in_ndim;
      memcpy(l->out_dims, x, sizeof(l->out_dims));
      l->out_seq = seq;
      break;
    case CLNN__NN_BN:
      if (!(l->momentum > 0.0f && l->momentum <= 1.0f) || !(l->eps > 0.0f) || !isfinite(l->eps))
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: momentum %g must be in (0, 1] and "
                           "eps %g > 0", d, (double)l->momentum, (double)l->eps);
      if (!(seq == 1 || l->in_ndim == 1 || l->in_ndim == 3))
        return SHAPE_ERR("%s: input %s: batch norm needs [C] or [C, H, W]", d, s);
      l->out_ndim = l->in_ndim;
      memcpy(l->out_dims, x, sizeof(l->out_dims));
      l->out_seq = seq;
      break;
    case CLNN__NN_FLATTEN:
      if (seq == 1)
        return SHAPE_ERR("%s: input %s is a time-major sequence; flatten takes images and "
                         "feature maps", d, s);
      l->out_ndim = 1;
      l->out_dims[0] = clnn__nn_prod(l->in_ndim, x);
      break;
    case CLNN__NN_LSTM:
      if (l->hidden <= 0)
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: hidden size %d must be > 0", d,
                           l->hidden);
      if (seq != 1 || l->in_ndim != 2)
        return SHAPE_ERR("%s: input %s is not a sequence [T, F]; an LSTM takes the network input "
                         "or the output of an LSTM that returns sequences", d, s);
      if (l->return_seq) {
        l->out_ndim = 2;
        l->out_dims[0] = x[0];
        l->out_dims[1] = (size_t)l->hidden;
        l->out_seq = 1;
      } else {
        l->out_ndim = 1;
        l->out_dims[0] = (size_t)l->hidden;
      }
      break;
  }
  if (clnn__nn_prod(l->out_ndim, l->out_dims) == 0)
    return SHAPE_ERR("%s: output size overflows", d);
  return CLNN_SUCCESS;
}

void clnn__nn_name_params(clnn__nn_layer *l) {
  clnn__nn_role roles[CLNN__NN_MAX_LPARAMS];
  int n = 0;
  switch (l->kind) {
    case CLNN__NN_CONV:
    case CLNN__NN_CONVT:
    case CLNN__NN_DENSE:
      roles[n++] = CLNN__NN_WEIGHT;
      if (l->has_bias) roles[n++] = CLNN__NN_BIAS;
      break;
    case CLNN__NN_BN:
      roles[n++] = CLNN__NN_WEIGHT;
      roles[n++] = CLNN__NN_BIAS;
      roles[n++] = CLNN__NN_RUNNING_MEAN;
      roles[n++] = CLNN__NN_RUNNING_VAR;
      break;
    case CLNN__NN_LSTM:
      roles[n++] = CLNN__NN_WEIGHT_IH;
      roles[n++] = CLNN__NN_WEIGHT_HH;
      roles[n++] = CLNN__NN_BIAS;
      break;
    default: break;
  }
  l->num_pnames = n;
  l->pstate = 0;
  for (int r = 0; r < n; r++) {
    snprintf(l->pnames[r], sizeof l->pnames[r], "%s.%s", l->name, clnn__nn_role_name(roles[r]));
    if (roles[r] == CLNN__NN_RUNNING_MEAN || roles[r] == CLNN__NN_RUNNING_VAR) l->pstate |= 1u << r;
  }
}

clnn_status clnn__nn_append(clnn_net *net, clnn__nn_layer *l) {
  if (net->finalized)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "cannot add a %s layer: the network has "
                       "already been used (layers are added before the first train, predict, "
                       "save, load or parameter access)", clnn__nn_kind_name(l->kind));
  int index = net->num_layers;
  /* name: <prefix><n>, the first n not taken */
  const char *prefix = name_prefix(l);
  int count = 1;
  for (int i = 0; i < net->num_layers; i++)
    if (net->layers[i].kind == l->kind &&
        (l->kind != CLNN__NN_ACT || net->layers[i].act == l->act))
      count++;
  do snprintf(l->name, sizeof l->name, "%s%d", prefix, count++);
  while (name_taken(net, l->name, -1));
  clnn__nn_name_params(l);
  /* input shape: the previous layer's output or the network input */
  if (index == 0) {
    l->in_ndim = net->in_ndim;
    memcpy(l->in_dims, net->in_dims, sizeof(l->in_dims));
    l->in_seq = net->input_seq;
  } else {
    const clnn__nn_layer *prev = &net->layers[index - 1];
    l->in_ndim = prev->out_ndim;
    memcpy(l->in_dims, prev->out_dims, sizeof(l->in_dims));
    l->in_seq = prev->out_seq < 0 ? net->input_seq : prev->out_seq;
  }
  int new_input_seq;
  clnn_status st = infer(net, l, index, &new_input_seq);
  if (st != CLNN_SUCCESS) return st;
  if (net->num_layers == net->cap_layers) {
    int cap = net->cap_layers ? net->cap_layers * 2 : 16;
    clnn__nn_layer *nl = realloc(net->layers, (size_t)cap * sizeof(*nl));
    if (!nl) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot grow the layer list");
    net->layers = nl;
    net->cap_layers = cap;
  }
  net->input_seq = new_input_seq;
  net->layers[net->num_layers++] = *l;
  return CLNN_SUCCESS;
}

/* ---- clnn_net_add_* ---- */

static clnn_status check_net(const clnn_net *net, const char *fn) {
  if (!net) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: net is NULL", fn);
  return CLNN_SUCCESS;
}

static clnn_status add_conv(clnn_net *net, int transposed, int out_channels, int kh, int kw,
                            const clnn_conv2d_params *p, int bias, const char *fn) {
  clnn_status st = check_net(net, fn);
  if (st != CLNN_SUCCESS) return st;
  if (!p) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: p is NULL", fn);
  clnn_conv2d_params p_in;
  CLNN__STRUCT_IN(CLNN__CONV2D_PARAMS, fn, "p", p, p_in);
  clnn__nn_layer l;
  memset(&l, 0, sizeof l);
  l.kind = transposed ? CLNN__NN_CONVT : CLNN__NN_CONV;
  l.out_channels = out_channels;
  l.kh = kh;
  l.kw = kw;
  l.conv = *p;
  l.has_bias = bias ? 1 : 0;
  return clnn__nn_append(net, &l);
}

static clnn_status square_conv_params(int kernel, int stride, int padding,
                                      clnn_conv2d_params *p, const char *fn) {
  if (kernel < 1 || stride < 1 || padding < 0)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: kernel %d and stride %d must be >= 1 "
                       "and padding %d >= 0", fn, kernel, stride, padding);
  clnn_conv2d_params_init(p);
  p->stride_h = p->stride_w = stride;
  p->pad_top = p->pad_bottom = p->pad_left = p->pad_right = padding;
  return CLNN_SUCCESS;
}

clnn_status clnn_net_add_conv2d(clnn_net *net, int out_channels, int kernel, int stride,
                                int padding) {
  clnn_conv2d_params p;
  clnn_status st = square_conv_params(kernel, stride, padding, &p, "clnn_net_add_conv2d");
  if (st != CLNN_SUCCESS) return st;
  return add_conv(net, 0, out_channels, kernel, kernel, &p, 1, "clnn_net_add_conv2d");
}

clnn_status clnn_net_add_conv2d_ex(clnn_net *net, int out_channels, int kernel_h, int kernel_w,
                                   const clnn_conv2d_params *p, int bias) {
  return add_conv(net, 0, out_channels, kernel_h, kernel_w, p, bias, "clnn_net_add_conv2d_ex");
}

clnn_status clnn_net_add_conv_transpose2d(clnn_net *net, int out_channels, int kernel, int stride,
                                          int padding) {
  clnn_conv2d_params p;
  clnn_status st = square_conv_params(kernel, stride, padding, &p, "clnn_net_add_conv_transpose2d");
  if (st != CLNN_SUCCESS) return st;
  return add_conv(net, 1, out_channels, kernel, kernel, &p, 1, "clnn_net_add_conv_transpose2d");
}

clnn_status clnn_net_add_conv_transpose2d_ex(clnn_net *net, int out_channels, int kernel_h,
                                             int kernel_w, const clnn_conv2d_params *p, int bias) {
  return add_conv(net, 1, out_channels, kernel_h, kernel_w, p, bias,
                  "clnn_net_add_conv_transpose2d_ex");
}

clnn_status clnn_net_add_pool2d_ex(clnn_net *net, int max_pooling, const clnn_pool2d_params *p) {
  clnn_status st = check_net(net, "clnn_net_add_pool2d_ex");
  if (st != CLNN_SUCCESS) return st;
  if (!p) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_add_pool2d_ex: p is NULL");
  clnn_pool2d_params p_in;
  CLNN__STRUCT_IN(CLNN__POOL2D_PARAMS, "clnn_net_add_pool2d_ex", "p", p, p_in);
  clnn__nn_layer l;
  memset(&l, 0, sizeof l);
  l.kind = max_pooling ? CLNN__NN_MAXPOOL : CLNN__NN_AVGPOOL;
  l.pool = *p;
  return clnn__nn_append(net, &l);
}

static clnn_status add_pool(clnn_net *net, int max_pooling, int kernel, int stride, int padding,
                            const char *fn) {
  clnn_status st = check_net(net, fn);
  if (st != CLNN_SUCCESS) return st;
  if (kernel < 1 || stride < 0 || padding < 0)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: kernel %d must be >= 1, stride %d and "
                       "padding %d >= 0", fn, kernel, stride, padding);
  clnn_pool2d_params p;
  clnn_pool2d_params_init(&p, kernel);
  if (stride > 0) p.stride_h = p.stride_w = stride;
  p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = padding;
  clnn__nn_layer l;
  memset(&l, 0, sizeof l);
  l.kind = max_pooling ? CLNN__NN_MAXPOOL : CLNN__NN_AVGPOOL;
  l.pool = p;
  return clnn__nn_append(net, &l);
}

clnn_status clnn_net_add_maxpool2d(clnn_net *net, int kernel, int stride, int padding) {
  return add_pool(net, 1, kernel, stride, padding, "clnn_net_add_maxpool2d");
}

clnn_status clnn_net_add_avgpool2d(clnn_net *net, int kernel, int stride, int padding) {
  return add_pool(net, 0, kernel, stride, padding, "clnn_net_add_avgpool2d");
}

static clnn_status add_simple(clnn_net *net, clnn__nn_layer *l, const char *fn) {
  clnn_status st = check_net(net, fn);
  if (st != CLNN_SUCCESS) return st;
  return clnn__nn_append(net, l);
}

clnn_status clnn_net_add_global_avgpool(clnn_net *net) {
  clnn__nn_layer l;
  memset(&l, 0, sizeof l);
  l.kind = CLNN__NN_GAP;
  return add_simple(net, &l, "clnn_net_add_global_avgpool");
}

clnn_status clnn_net_add_dense(clnn_net *net, int units) {
  clnn__nn_layer l;
  memset(&l, 0, sizeof l);
  l.kind = CLNN__NN_DENSE;
  l.units = units;
  l.has_bias = 1;
  return add_simple(net, &l, "clnn_net_add_dense");
}

clnn_status clnn_net_add_activation(clnn_net *net, clnn_activation act, float alpha) {
  clnn__nn_layer l;
  memset(&l, 0, sizeof l);
  l.kind = CLNN__NN_ACT;
  l.act = act;
  l.alpha = alpha;
  if ((int)act < 0 || (int)act > CLNN_ACT_SOFTPLUS) {
    if (!net) return check_net(net, "clnn_net_add_activation");
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_add_activation: unknown "
                       "activation %d", (int)act);
  }
  return add_simple(net, &l, "clnn_net_add_activation");
}

clnn_status clnn_net_add_dropout(clnn_net *net, float p) {
  clnn__nn_layer l;
  memset(&l, 0, sizeof l);
  l.kind = CLNN__NN_DROPOUT;
  l.p = p;
  return add_simple(net, &l, "clnn_net_add_dropout");
}

clnn_status clnn_net_add_batchnorm(clnn_net *net, float momentum, float eps) {
  clnn__nn_layer l;
  memset(&l, 0, sizeof l);
  l.kind = CLNN__NN_BN;
  l.momentum = momentum == 0.0f ? 0.1f : momentum;
  l.eps = eps == 0.0f ? 1e-5f : eps;
  return add_simple(net, &l, "clnn_net_add_batchnorm");
}

clnn_status clnn_net_add_flatten(clnn_net *net) {
  clnn__nn_layer l;
  memset(&l, 0, sizeof l);
  l.kind = CLNN__NN_FLATTEN;
  return add_simple(net, &l, "clnn_net_add_flatten");
}

clnn_status clnn_net_add_lstm(clnn_net *net, int hidden, int return_sequences) {
  clnn__nn_layer l;
  memset(&l, 0, sizeof l);
  l.kind = CLNN__NN_LSTM;
  l.hidden = hidden;
  l.return_seq = return_sequences ? 1 : 0;
  return add_simple(net, &l, "clnn_net_add_lstm");
}

clnn_status clnn_net_set_layer_name(clnn_net *net, int layer, const char *name) {
  clnn_status st = check_net(net, "clnn_net_set_layer_name");
  if (st != CLNN_SUCCESS) return st;
  if (net->finalized)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_set_layer_name: the network has "
                       "already been used; layers are named before that");
  if (layer == -1) layer = net->num_layers - 1;
  if (layer < 0 || layer >= net->num_layers)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_set_layer_name: layer %d is not "
                       "in 0..%d", layer, net->num_layers - 1);
  if (!name) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_set_layer_name: name is NULL");
  size_t n = strlen(name);
  if (n == 0 || n >= CLNN__NN_NAME_MAX)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_set_layer_name: name must have "
                       "1..%d characters", CLNN__NN_NAME_MAX - 1);
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '_' || c == '-'))
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_set_layer_name: '%s': only "
                         "letters, digits, '_' and '-' are allowed", name);
  }
  if (name_taken(net, name, layer))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_set_layer_name: another layer is "
                       "already named '%s'", name);
  memcpy(net->layers[layer].name, name, n + 1);
  clnn__nn_name_params(&net->layers[layer]);
  return CLNN_SUCCESS;
}

/* ---- parameters ---- */
