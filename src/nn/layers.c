/* src/nn/layers.c — the network's layers: the clnn_net_add_* calls with shape inference (errors
 * name the layer), parameter creation and seeded He / Xavier initialisation, and each layer's
 * forward and backward pass on the public operators. */
#include "nn_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- names and shapes ---- */

size_t clnn__nn_prod(int ndim, const size_t *dims) {
  size_t p = 1;
  int ok = 1;
  for (int i = 0; i < ndim; i++) p = clnn__mul_size(p, dims[i], &ok);
  return ok ? p : 0;
}

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

const char *clnn__nn_act_name(clnn_activation act) {
  switch (act) {
    case CLNN_ACT_IDENTITY: return "identity";
    case CLNN_ACT_RELU: return "relu";
    case CLNN_ACT_LEAKY_RELU: return "leaky_relu";
    case CLNN_ACT_ELU: return "elu";
    case CLNN_ACT_SIGMOID: return "sigmoid";
    case CLNN_ACT_TANH: return "tanh";
    case CLNN_ACT_GELU: return "gelu";
    case CLNN_ACT_SOFTPLUS: return "softplus";
  }
  return "activation";
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
      l->alias = 1;
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
  return CLNN_SUCCESS;
}

/* ---- parameters ---- */

clnn__nn_param *clnn__nn_lparam(clnn_net *net, int i, clnn__nn_role r) {
  const clnn__nn_layer *l = &net->layers[i];
  for (int k = 0; k < l->num_params; k++)
    if (net->params[l->pidx[k]].role == r) return &net->params[l->pidx[k]];
  return NULL;
}

typedef struct pspec {
  int layer;
  clnn__nn_role role;
  int trainable;
  int ndim;
  size_t dims[4];
} pspec;

/* The parameters layer i owns. */
static int layer_pspecs(const clnn_net *net, int i, pspec *out) {
  const clnn__nn_layer *l = &net->layers[i];
  int n = 0;
#define PS(r, t, nd, a, b, c, e)                                                                   \
  do {                                                                                           \
    out[n].layer = i;                                                                            \
    out[n].role = (r);                                                                           \
    out[n].trainable = (t);                                                                      \
    out[n].ndim = (nd);                                                                          \
    out[n].dims[0] = (a);                                                                        \
    out[n].dims[1] = (b);                                                                        \
    out[n].dims[2] = (c);                                                                        \
    out[n].dims[3] = (e);                                                                        \
    n++;                                                                                         \
  } while (0)
  size_t g = (size_t)(l->conv.groups > 0 ? l->conv.groups : 1);
  switch (l->kind) {
    case CLNN__NN_CONV:
      PS(CLNN__NN_WEIGHT, 1, 4, (size_t)l->out_channels, l->in_dims[0] / g, (size_t)l->kh,
         (size_t)l->kw);
      if (l->has_bias) PS(CLNN__NN_BIAS, 1, 1, (size_t)l->out_channels, 0, 0, 0);
      break;
    case CLNN__NN_CONVT:
      PS(CLNN__NN_WEIGHT, 1, 4, l->in_dims[0], (size_t)l->out_channels / g, (size_t)l->kh,
         (size_t)l->kw);
      if (l->has_bias) PS(CLNN__NN_BIAS, 1, 1, (size_t)l->out_channels, 0, 0, 0);
      break;
    case CLNN__NN_DENSE: {
      size_t in_f = l->in_dims[l->in_ndim - 1];
      PS(CLNN__NN_WEIGHT, 1, 2, (size_t)l->units, in_f, 0, 0);
      PS(CLNN__NN_BIAS, 1, 1, (size_t)l->units, 0, 0, 0);
      break;
    }
    case CLNN__NN_BN: {
      size_t C = clnn__nn_seq(net, l->in_seq) ? l->in_dims[1] : l->in_dims[0];
      PS(CLNN__NN_WEIGHT, 1, 1, C, 0, 0, 0);
      PS(CLNN__NN_BIAS, 1, 1, C, 0, 0, 0);
      PS(CLNN__NN_RUNNING_MEAN, 0, 1, C, 0, 0, 0);
      PS(CLNN__NN_RUNNING_VAR, 0, 1, C, 0, 0, 0);
      break;
    }
    case CLNN__NN_LSTM: {
      size_t H = (size_t)l->hidden;
      PS(CLNN__NN_WEIGHT_IH, 1, 2, 4 * H, l->in_dims[1], 0, 0);
      PS(CLNN__NN_WEIGHT_HH, 1, 2, 4 * H, H, 0, 0);
      PS(CLNN__NN_BIAS, 1, 1, 4 * H, 0, 0, 0);
      break;
    }
    default:
      break;
  }
#undef PS
  return n;
}

/* Whether layer i's weights get He initialisation: the next layer that is not batch norm or
 * dropout is a ReLU-family activation. */
static void resolve_init(clnn_net *net, int i) {
  clnn__nn_layer *l = &net->layers[i];
  l->he_init = 0;
  l->he_gain = 1.0f;
  for (int j = i + 1; j < net->num_layers; j++) {
    const clnn__nn_layer *n = &net->layers[j];
    if (n->kind == CLNN__NN_BN || n->kind == CLNN__NN_DROPOUT) continue;
    if (n->kind == CLNN__NN_ACT) {
      if (n->act == CLNN_ACT_RELU || n->act == CLNN_ACT_ELU || n->act == CLNN_ACT_GELU) {
        l->he_init = 1;
        l->he_gain = sqrtf(2.0f);
      } else if (n->act == CLNN_ACT_LEAKY_RELU) {
        l->he_init = 1;
        l->he_gain = sqrtf(2.0f / (1.0f + n->alpha * n->alpha));
      }
    }
    break;
  }
}

static void init_values(const clnn_net *net, const clnn__nn_param *p, float *v) {
  const clnn__nn_layer *l = &net->layers[p->layer];
  uint64_t s = clnn__nn_hash_str(net->seed * 0x9E3779B97F4A7C15ULL + 0x1234567ULL, p->name);
  size_t n = p->numel;
  if (p->role == CLNN__NN_BIAS) {
    for (size_t i = 0; i < n; i++) v[i] = 0.0f;
    if (l->kind == CLNN__NN_LSTM) /* forget gate (second quarter) starts open */
      for (size_t i = n / 4; i < n / 2; i++) v[i] = 1.0f;
    return;
  }
  if (l->kind == CLNN__NN_BN) {
    float c = (p->role == CLNN__NN_WEIGHT || p->role == CLNN__NN_RUNNING_VAR) ? 1.0f : 0.0f;
    for (size_t i = 0; i < n; i++) v[i] = c;
    return;
  }
  double fan_in, fan_out;
  if (l->kind == CLNN__NN_LSTM) {
    fan_in = (double)p->dims[1];
    fan_out = (double)p->dims[0] / 4.0;
  } else if (l->kind == CLNN__NN_DENSE) {
    fan_in = (double)p->dims[1];
    fan_out = (double)p->dims[0];
  } else { /* conv [K, C/g, R, S]; conv transpose [C, K/g, R, S] */
    double rf = (double)p->dims[2] * (double)p->dims[3];
    if (l->kind == CLNN__NN_CONV) {
      fan_in = (double)p->dims[1] * rf;
      fan_out = (double)p->dims[0] / (double)l->conv.groups * rf;
    } else {
      double st = (double)l->conv.stride_h * (double)l->conv.stride_w;
      fan_in = (double)p->dims[0] / (double)l->conv.groups * rf / st;
      if (fan_in < 1.0) fan_in = 1.0;
      fan_out = (double)p->dims[1] * rf;
    }
  }
  if (l->he_init && l->kind != CLNN__NN_LSTM) {
    double std = (double)l->he_gain / sqrt(fan_in);
    for (size_t i = 0; i < n; i += 2) { /* Box-Muller: two normals per pair of uniforms */
      double u1 = 1.0 - clnn__nn_uniform01(&s), u2 = clnn__nn_uniform01(&s);
      double r = sqrt(-2.0 * log(u1)), a = 6.283185307179586 * u2;
      v[i] = (float)(std * r * cos(a));
      if (i + 1 < n) v[i + 1] = (float)(std * r * sin(a));
    }
  } else {
    double lim = sqrt(6.0 / (fan_in + fan_out));
    for (size_t i = 0; i < n; i++) v[i] = (float)((2.0 * clnn__nn_uniform01(&s) - 1.0) * lim);
  }
}

clnn_status clnn__nn_create_params(clnn_net *net) {
  pspec specs[CLNN__NN_MAX_LPARAMS];
  size_t total = 0;
  for (int i = 0; i < net->num_layers; i++) total += (size_t)layer_pspecs(net, i, specs);
  clnn__nn_param *ps = total ? calloc(total, sizeof(*ps)) : NULL;
  if (total && !ps) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate parameters");
  /* trainable parameters first, then state, each in layer order */
  size_t k = 0;
  for (int pass = 0; pass < 2; pass++) {
    for (int i = 0; i < net->num_layers; i++) {
      clnn__nn_layer *l = &net->layers[i];
      if (pass == 0) l->num_params = 0;
      int n = layer_pspecs(net, i, specs);
      for (int j = 0; j < n; j++) {
        if (specs[j].trainable != (pass == 0)) continue;
        clnn__nn_param *p = &ps[k];
        p->layer = i;
        p->role = specs[j].role;
        p->trainable = specs[j].trainable;
        p->ndim = specs[j].ndim;
        memcpy(p->dims, specs[j].dims, sizeof(p->dims));
        p->numel = clnn__nn_prod(p->ndim, p->dims);
        snprintf(p->name, sizeof p->name, "%s.%s", l->name, clnn__nn_role_name(p->role));
        l->pidx[l->num_params++] = (int)k;
        k++;
      }
    }
  }
  for (int i = 0; i < net->num_layers; i++) resolve_init(net, i);
  clnn_status st = CLNN_SUCCESS;
  float *host = NULL;
  size_t host_cap = 0;
  for (size_t i = 0; i < total && st == CLNN_SUCCESS; i++) {
    clnn__nn_param *p = &ps[i];
    st = clnn_tensor_create(net->ctx, p->ndim, p->dims, &p->value);
    if (st == CLNN_SUCCESS && p->trainable) {
      st = clnn_tensor_create(net->ctx, p->ndim, p->dims, &p->grad);
      if (st == CLNN_SUCCESS) st = clnn_tensor_fill(p->grad, 0.0f);
    }
    if (st != CLNN_SUCCESS) break;
    if (p->numel > host_cap) {
      float *h = realloc(host, p->numel * sizeof(float));
      if (!h) {
        st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate %zu floats", p->numel);
        break;
      }
      host = h;
      host_cap = p->numel;
    }
    init_values(net, p, host);
    st = clnn_tensor_write(p->value, host, p->numel);
  }
  free(host);
  if (st != CLNN_SUCCESS) {
    for (size_t i = 0; i < total; i++) {
      clnn_tensor_destroy(ps[i].value);
      clnn_tensor_destroy(ps[i].grad);
    }
    free(ps);
    for (int i = 0; i < net->num_layers; i++) net->layers[i].num_params = 0;
    return st;
  }
  net->params = ps;
  net->num_params = total;
  return CLNN_SUCCESS;
}

/* ---- forward and backward ---- */

static clnn_tensor *pv(clnn_net *net, int i, clnn__nn_role r) {
  clnn__nn_param *p = clnn__nn_lparam(net, i, r);
  return p ? p->value : NULL;
}

static clnn_tensor *pg(clnn_net *net, int i, clnn__nn_role r) {
  clnn__nn_param *p = clnn__nn_lparam(net, i, r);
  return p ? p->grad : NULL;
}

static uint64_t dropout_seed(const clnn_net *net, int i) {
  uint64_t s = net->seed ^ (0xD1B54A32D192ED03ULL * (uint64_t)(i + 1));
  return clnn__nn_splitmix64(&s);
}

/* Dropout stream offset of layer i in this forward: the forward count, plus (for a replica that
 * holds samples sample_offset.. of a batch split across devices) the index of its first element
 * in the whole batch, so every device draws the mask a one-device run would. Sequences are
 * time-major ([T, N, F]): a replica's elements are not one block of the whole batch's, so they
 * draw other (equally random) masks. */
static uint64_t dropout_offset(const clnn_net *net, int i) {
  const clnn__nn_layer *l = &net->layers[i];
  uint64_t off = net->train_forwards << 32;
  if (net->sample_offset && !clnn__nn_seq(net, l->in_seq))
    off += (uint64_t)net->sample_offset * (uint64_t)clnn__nn_prod(l->in_ndim, l->in_dims);
  return off;
}

clnn_status clnn__nn_layer_forward(clnn_net *net, int i, const clnn__nn_lview *v, int training) {
  clnn__nn_layer *l = &net->layers[i];
  clnn_context *ctx = net->ctx;
  switch (l->kind) {
    case CLNN__NN_CONV:
      return clnn_conv2d_forward(ctx, &l->conv, CLNN_CONV_ALGO_AUTO, v->x, pv(net, i, CLNN__NN_WEIGHT),
                                 pv(net, i, CLNN__NN_BIAS), CLNN_ACT_IDENTITY, 0.0f, v->y);
    case CLNN__NN_CONVT:
      return clnn_conv_transpose2d_forward(ctx, &l->conv, CLNN_CONV_ALGO_AUTO, v->x,
                                           pv(net, i, CLNN__NN_WEIGHT), pv(net, i, CLNN__NN_BIAS),
                                           v->y);
    case CLNN__NN_MAXPOOL: return clnn_maxpool2d_forward(ctx, &l->pool, v->x, v->y);
    case CLNN__NN_AVGPOOL: return clnn_avgpool2d_forward(ctx, &l->pool, v->x, v->y);
    case CLNN__NN_GAP: return clnn_global_avgpool_forward(ctx, v->x, v->y4);
    case CLNN__NN_DENSE:
      return clnn_dense_forward(ctx, v->x, pv(net, i, CLNN__NN_WEIGHT), pv(net, i, CLNN__NN_BIAS),
                                v->y);
    case CLNN__NN_ACT: return clnn_activation_forward(ctx, l->act, l->alpha, v->x, v->y);
    case CLNN__NN_DROPOUT:
      if (training && l->p > 0.0f)
        return clnn_dropout_forward(ctx, l->p, dropout_seed(net, i), dropout_offset(net, i),
                                    v->x, v->y);
      return clnn_tensor_copy(v->y, v->x);
    case CLNN__NN_BN: {
      clnn__nn_param *rm = clnn__nn_lparam(net, i, CLNN__NN_RUNNING_MEAN);
      clnn__nn_param *rv = clnn__nn_lparam(net, i, CLNN__NN_RUNNING_VAR);
      if (training)
        return clnn_batchnorm_forward_training(ctx, v->x, pv(net, i, CLNN__NN_WEIGHT),
                                               pv(net, i, CLNN__NN_BIAS), l->momentum, l->eps,
                                               rm->value, rv->value, v->y, net->bn_save[2 * i],
                                               net->bn_save[2 * i + 1]);
      return clnn_batchnorm_forward_inference(ctx, v->x, pv(net, i, CLNN__NN_WEIGHT),
                                              pv(net, i, CLNN__NN_BIAS), rm->value, rv->value,
                                              l->eps, v->y);
    }
    case CLNN__NN_FLATTEN: return CLNN_SUCCESS;
    case CLNN__NN_LSTM:
      return clnn_lstm_forward(ctx, v->x, pv(net, i, CLNN__NN_WEIGHT_IH),
                               pv(net, i, CLNN__NN_WEIGHT_HH), pv(net, i, CLNN__NN_BIAS), NULL,
                               NULL, l->return_seq ? v->y : v->seq_y, l->return_seq ? NULL : v->y,
                               NULL, v->reserve);
  }
  return clnn__error(CLNN_ERROR_INTERNAL, "unknown layer kind %d", (int)l->kind);
}

/* Backward of layer i: parameter gradients (overwritten) and, when net->propagate[i], the input
 * gradient v->dx (overwritten). The training forward that preceded it used the same views. */
clnn_status clnn__nn_layer_backward(clnn_net *net, int i, const clnn__nn_lview *v) {
  clnn__nn_layer *l = &net->layers[i];
  clnn_context *ctx = net->ctx;
  int dx = net->propagate[i];
  clnn_status st = CLNN_SUCCESS;
  switch (l->kind) {
    case CLNN__NN_CONV:
      st = clnn_conv2d_backward_filter(ctx, &l->conv, CLNN_CONV_ALGO_AUTO, v->x, v->dy, 0.0f,
                                       pg(net, i, CLNN__NN_WEIGHT));
      if (st == CLNN_SUCCESS && l->has_bias)
        st = clnn_conv2d_backward_bias(ctx, v->dy, 0.0f, pg(net, i, CLNN__NN_BIAS));
      if (st == CLNN_SUCCESS && dx)
        st = clnn_conv2d_backward_data(ctx, &l->conv, CLNN_CONV_ALGO_AUTO, v->dy,
                                       pv(net, i, CLNN__NN_WEIGHT), 0.0f, v->dx);
      return st;
    case CLNN__NN_CONVT:
      st = clnn_conv_transpose2d_backward_filter(ctx, &l->conv, CLNN_CONV_ALGO_AUTO, v->x, v->dy,
                                                 0.0f, pg(net, i, CLNN__NN_WEIGHT));
      if (st == CLNN_SUCCESS && l->has_bias)
        st = clnn_conv2d_backward_bias(ctx, v->dy, 0.0f, pg(net, i, CLNN__NN_BIAS));
      if (st == CLNN_SUCCESS && dx)
        st = clnn_conv_transpose2d_backward_data(ctx, &l->conv, CLNN_CONV_ALGO_AUTO, v->dy,
                                                 pv(net, i, CLNN__NN_WEIGHT), 0.0f, v->dx);
      return st;
    case CLNN__NN_MAXPOOL:
      return dx ? clnn_maxpool2d_backward(ctx, &l->pool, v->x, v->dy, 0.0f, v->dx) : CLNN_SUCCESS;
    case CLNN__NN_AVGPOOL:
      return dx ? clnn_avgpool2d_backward(ctx, &l->pool, v->dy, 0.0f, v->dx) : CLNN_SUCCESS;
    case CLNN__NN_GAP:
      return dx ? clnn_global_avgpool_backward(ctx, v->dy4, 0.0f, v->dx) : CLNN_SUCCESS;
    case CLNN__NN_DENSE:
      st = clnn_dense_backward_weights(ctx, v->x, v->dy, 0.0f, pg(net, i, CLNN__NN_WEIGHT),
                                       pg(net, i, CLNN__NN_BIAS));
      if (st == CLNN_SUCCESS && dx)
        st = clnn_dense_backward_data(ctx, v->dy, pv(net, i, CLNN__NN_WEIGHT), 0.0f, v->dx);
      return st;
    case CLNN__NN_ACT:
      return dx ? clnn_activation_backward(ctx, l->act, l->alpha, v->x, v->y, v->dy, 0.0f, v->dx)
                : CLNN_SUCCESS;
    case CLNN__NN_DROPOUT:
      if (!dx) return CLNN_SUCCESS;
      if (l->p > 0.0f) /* same (seed, offset) as the forward: the same mask */
        return clnn_dropout_backward(ctx, l->p, dropout_seed(net, i), dropout_offset(net, i),
                                     v->dy, 0.0f, v->dx);
      return clnn_tensor_copy(v->dx, v->dy);
    case CLNN__NN_BN:
      return clnn_batchnorm_backward(ctx, v->x, v->dy, pv(net, i, CLNN__NN_WEIGHT),
                                     net->bn_save[2 * i], net->bn_save[2 * i + 1], 0.0f, v->dx,
                                     pg(net, i, CLNN__NN_WEIGHT), pg(net, i, CLNN__NN_BIAS));
    case CLNN__NN_FLATTEN: return CLNN_SUCCESS;
    case CLNN__NN_LSTM:
      return clnn_lstm_backward(ctx, v->x, pv(net, i, CLNN__NN_WEIGHT_IH),
                                pv(net, i, CLNN__NN_WEIGHT_HH), NULL, NULL,
                                l->return_seq ? v->y : v->seq_y, v->reserve,
                                l->return_seq ? v->dy : NULL, l->return_seq ? NULL : v->dy, NULL,
                                0.0f, dx ? v->dx : NULL, pg(net, i, CLNN__NN_WEIGHT_IH),
                                pg(net, i, CLNN__NN_WEIGHT_HH), pg(net, i, CLNN__NN_BIAS), NULL,
                                NULL);
  }
  return clnn__error(CLNN_ERROR_INTERNAL, "unknown layer kind %d", (int)l->kind);
}
