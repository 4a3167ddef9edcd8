/* src/nn/onnx_seq.c — ONNX ops of sequence models mapped onto clnn's graph: Gather (an embedding
 * when a constant table is indexed by integer ids; slices of a value by constant indices; folded
 * on constants), LayerNormalization and the layer norm that older exporters write out
 * (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add: recognised as one pattern), and
 * LSTM and GRU (forward direction, zero initial state; LSTM weights converted from ONNX's gate
 * order i, o, f, c to clnn's i, f, g, o, GRU weights from z, r, h to r, z, n, GRU only with
 * linear_before_reset 1 as PyTorch exports). An LSTM or GRU of layout 0 is time-major; the
 * Transpose, Squeeze and Gather (h_n[-1]) nodes that PyTorch's batch_first export puts around it
 * become layout marks on batch-first clnn values (CLNN__OX_TIME_MAJOR, ...) instead of data
 * movement. */
#include "nn/onnx.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static clnn_dtype value_dtype(const clnn__ox *o, int v) { return o->gr->g.values[v].dtype; }

/* ---- layouts around an LSTM ---- */

clnn_status clnn__ox_layout_op(clnn__ox *o, int *done) {
  *done = 0;
  const char *nm = clnn__ox_in_name(o, 0);
  clnn__ox_sym *s = nm ? clnn__ox_find(o, nm) : NULL;
  if (!s || s->is_const) return CLNN_SUCCESS;
  size_t d[CLNN_MAX_DIMS];
  int nd = clnn_graph_value_dims(o->gr, s->value, d), to = -1;
  if (!strcmp(o->node->op_type, "Transpose")) {
    int64_t perm[8];
    int n = clnn__ox_attr_ints(o, "perm", perm, 8), swap01 = n == nd + 1 && n >= 2;
    for (int i = 0; swap01 && i < n; i++) swap01 = perm[i] == (i == 0 ? 1 : i == 1 ? 0 : i);
    if (!swap01) return CLNN_SUCCESS;
    if (s->layout == CLNN__OX_BATCH_FIRST) to = CLNN__OX_TIME_MAJOR;
    else if (s->layout == CLNN__OX_TIME_MAJOR) to = CLNN__OX_BATCH_FIRST;
  } else if (!strcmp(o->node->op_type, "Gather")) {
    /* h_n[-1] or h_n[0] of a one-direction, one-layer LSTM: the state itself */
    const char *in = clnn__ox_in_name(o, 1);
    clnn__ox_sym *c = in ? clnn__ox_find(o, in) : NULL;
    int64_t ax = clnn__ox_attr_i(o, "axis", 0), i[1];
    if (s->layout == CLNN__OX_DIR_STATE && (ax == 0 || ax == -3) && c && c->is_const &&
        c->ndim == 0 && clnn__ox_const_ints(c, i, 1) == 1 && (i[0] == 0 || i[0] == -1))
      to = CLNN__OX_BATCH_FIRST;
  } else if (s->layout == CLNN__OX_SEQ_DIR || s->layout == CLNN__OX_DIR_STATE) { /* Squeeze */
    int64_t ax[2];
    int n = -1;
    if (o->opset < 13) {
      n = clnn__ox_attr_ints(o, "axes", ax, 1);
    } else if (clnn__ox_in_name(o, 1)) {
      clnn__ox_sym *c = clnn__ox_find(o, clnn__ox_in_name(o, 1));
      n = c && c->is_const ? clnn__ox_const_ints(c, ax, 1) : -1;
    }
    int rank = s->layout == CLNN__OX_SEQ_DIR ? 4 : 3;
    if (n != 1) return CLNN_SUCCESS;
    if (ax[0] < 0) ax[0] += rank;
    if (s->layout == CLNN__OX_SEQ_DIR && ax[0] == 1) to = CLNN__OX_TIME_MAJOR;
    if (s->layout == CLNN__OX_DIR_STATE && ax[0] == 0) to = CLNN__OX_BATCH_FIRST;
  }
  if (to < 0) return CLNN_SUCCESS;
  *done = 1;
  clnn_status st = clnn__ox_only_outputs(o, 1);
  return st == CLNN_SUCCESS ? clnn__ox_bind_layout(o, o->node->output[0], s->value, to) : st;
}

/* ---- Gather ---- */

/* Gather of constants along axis 0 (shape arithmetic, tables). */
static clnn_status gather_fold(clnn__ox *o, clnn__ox_sym *data, clnn__ox_sym *idx, int64_t axis) {
  if ((axis != 0 && axis != -data->ndim) || data->ndim < 1 || !idx->i ||
      idx->ndim + data->ndim - 1 > CLNN__OX_MAX_RANK)
    return clnn__ox_unsupported(o, "Gather of constants along axis %lld (clnn folds axis 0 with "
                                   "integer indices)", (long long)axis);
  size_t rows = (size_t)data->dims[0], row = rows ? data->numel / rows : 0;
  int ok = 1;
  size_t esz = data->f ? sizeof(float) : sizeof(int64_t), n = clnn__mul_size(idx->numel, row, &ok);
  char *buf = ok && n <= ((size_t)1 << 40) / esz ? clnn__ox_budget_alloc(o, n * esz) : NULL;
  if (!buf) return clnn__ox_format(o, "the gathered constant holds more data than the file");
  const char *src = data->f ? (const char *)data->f : (const char *)data->i;
  for (size_t k = 0; k < idx->numel; k++) {
    int64_t r = idx->i[k] < 0 ? idx->i[k] + (int64_t)rows : idx->i[k];
    if (r < 0 || r >= (int64_t)rows) {
      free(buf);
      return clnn__ox_format(o, "index %lld out of range for %zu rows", (long long)idx->i[k], rows);
    }
    memcpy(buf + k * row * esz, src + (size_t)r * row * esz, row * esz);
  }
  int64_t dims[CLNN__OX_MAX_RANK];
  int nd = 0;
  for (int i = 0; i < idx->ndim; i++) dims[nd++] = idx->dims[i];
  for (int i = 1; i < data->ndim; i++) dims[nd++] = data->dims[i];
  return clnn__ox_bind_const(o, o->node->output[0], nd, dims, data->f ? (float *)buf : NULL,
                             data->f ? NULL : (int64_t *)buf);
}

/* Gather of a value by constant indices along a per-sample axis: slices (and a concat). */
static clnn_status gather_slices(clnn__ox *o, clnn__ox_sym *data, clnn__ox_sym *idx,
                                 int64_t axis) {
  size_t d[CLNN_MAX_DIMS];
  int nd = clnn_graph_value_dims(o->gr, data->value, d), pa = clnn__ox_sample_axis(axis, nd);
  if (pa < 0)
    return clnn__ox_unsupported(o, "Gather along the batch axis (axis %lld); clnn gathers within "
                                   "each sample", (long long)axis);
  if (!idx->i || idx->ndim > 1 || idx->numel < 1 || idx->numel > 16)
    return clnn__ox_unsupported(o, "Gather of a value needs a scalar or 1-D constant of 1..16 "
                                   "integer indices");
  size_t at[16];
  for (size_t k = 0; k < idx->numel; k++) {
    int64_t r = idx->i[k] < 0 ? idx->i[k] + (int64_t)d[pa] : idx->i[k];
    if (r < 0 || r >= (int64_t)d[pa])
      return clnn__ox_format(o, "index %lld out of range for an axis of %zu", (long long)idx->i[k],
                             d[pa]);
    at[k] = (size_t)r;
  }
  char name[CLNN__G_NAME_MAX], sub[CLNN__G_NAME_MAX];
  clnn__ox_pick_name(o, NULL, name);
  int run = 1, y, parts[16];
  for (size_t k = 1; k < idx->numel; k++) run = run && at[k] == at[0] + k;
  clnn_status st = CLNN_SUCCESS;
  if (run) {
    st = clnn__ox_builder(o, clnn_graph_slice(o->gr, name, data->value, pa, at[0], idx->numel, &y));
  } else {
    for (size_t k = 0; k < idx->numel && st == CLNN_SUCCESS; k++) {
      char tag[16];
      snprintf(tag, sizeof tag, "%zu", k);
      clnn__ox_sub_name(o, name, tag, sub);
      st = clnn__ox_builder(o, clnn_graph_slice(o->gr, sub, data->value, pa, at[k], 1, &parts[k]));
    }
    if (st == CLNN_SUCCESS)
      st = clnn__ox_builder(o, clnn_graph_concat(o->gr, name, pa, (int)idx->numel, parts, &y));
  }
  if (st == CLNN_SUCCESS && idx->ndim == 0) { /* a scalar index drops the axis */
    size_t od[CLNN_MAX_DIMS];
    int on = 0;
    for (int i = 0; i < nd; i++)
      if (i != pa) od[on++] = d[i];
    clnn__ox_sub_name(o, name, "drop", sub);
    st = clnn__ox_reshape_to(o, sub, y, on, od, &y);
  }
  return st == CLNN_SUCCESS ? clnn__ox_bind(o, y) : st;
}

clnn_status clnn__ox_gather(clnn__ox *o) {
  clnn_status st = clnn__ox_only_outputs(o, 1);
  clnn__ox_sym *data = st == CLNN_SUCCESS ? clnn__ox_in_sym(o, 0, &st) : NULL;
  clnn__ox_sym *idx = st == CLNN_SUCCESS ? clnn__ox_in_sym(o, 1, &st) : NULL;
  if (st != CLNN_SUCCESS) return st;
  int64_t axis = clnn__ox_attr_i(o, "axis", 0);
  if (data->is_const && idx->is_const) return gather_fold(o, data, idx, axis);
  if (!data->is_const) {
    if (!idx->is_const)
      return clnn__ox_unsupported(o, "Gather with computed indices of a computed value (clnn: "
                                     "a constant table indexed by ids, or constant indices)");
    return gather_slices(o, data, idx, axis);
  }
  /* a constant table [V, D] indexed by ids: an embedding */
  if (axis != 0 && axis != -data->ndim)
    return clnn__ox_unsupported(o, "Gather of a constant table along axis %lld (clnn: rows of a "
                                   "2-D table, axis 0, as an embedding)", (long long)axis);
  if (data->ndim != 2 || !data->f || data->dims[0] < 1 || data->dims[1] < 1 ||
      data->dims[0] > INT32_MAX || data->dims[1] > INT32_MAX)
    return clnn__ox_unsupported(o, "the table '%.80s' is not a 2-D float constant (an embedding "
                                   "[vocab, dim])", data->name);
  if (value_dtype(o, idx->value) != CLNN_INT32)
    return clnn__ox_unsupported(o, "the indices '%.80s' are float values; clnn's embedding takes "
                                   "integer ids from an int64 or int32 graph input", idx->name);
  char name[CLNN__G_NAME_MAX];
  clnn__ox_pick_name(o, data->name, name);
  int y;
  st = clnn__ox_builder(o, clnn_graph_embedding(o->gr, name, idx->value, (int)data->dims[0],
                                                (int)data->dims[1], &y));
  if (st == CLNN_SUCCESS) st = clnn__ox_load_param(o, name, "weight", data->f, data->numel);
  return st == CLNN_SUCCESS ? clnn__ox_bind(o, y) : st;
}

/* ---- layer norm ---- */

/* Layer norm of x over per-sample axes pa..nd-1 (flattened to one when several), with weight
 * scale and bias (NULL: zeros) of that many elements each. */
static clnn_status build_layer_norm(clnn__ox *o, const char *hint, int x, int pa, float eps,
                                    const clnn__ox_sym *scale, const clnn__ox_sym *bias,
                                    const char *bind_to) {
  size_t d[CLNN_MAX_DIMS], D = 1;
  int nd = clnn_graph_value_dims(o->gr, x, d);
  for (int i = pa; i < nd; i++) D *= d[i];
  if (scale && (!scale->f || scale->numel != D))
    return clnn__ox_unsupported(o, "the scale has %zu elements for %zu normalised ones (clnn: "
                                   "one per element)", scale->numel, D);
  if (bias && (!bias->f || bias->numel != D))
    return clnn__ox_unsupported(o, "the bias has %zu elements for %zu normalised ones", bias->numel,
                                D);
  char name[CLNN__G_NAME_MAX], sub[CLNN__G_NAME_MAX];
  clnn__ox_node_name(o, hint, name);
  clnn_status st = CLNN_SUCCESS;
  int v = x, y;
  if (pa < nd - 1) {
    size_t fd[CLNN_MAX_DIMS];
    for (int i = 0; i < pa; i++) fd[i] = d[i];
    fd[pa] = D;
    clnn__ox_sub_name(o, name, "flat", sub);
    st = clnn__ox_reshape_to(o, sub, x, pa + 1, fd, &v);
  }
  if (!(eps > 0.0f)) eps = FLT_MIN; /* clnn reads 0 as its default */
  if (st == CLNN_SUCCESS)
    st = clnn__ox_builder(o, clnn_graph_layer_norm(o->gr, name, v, eps, scale != NULL, &y));
  if (st == CLNN_SUCCESS && pa < nd - 1) {
    clnn__ox_sub_name(o, name, "shape", sub);
    st = clnn__ox_reshape_to(o, sub, y, nd, d, &y);
  }
  if (st == CLNN_SUCCESS && scale) st = clnn__ox_load_param(o, name, "weight", scale->f, D);
  if (st == CLNN_SUCCESS && scale) {
    float *z = bias ? NULL : calloc(D, sizeof(float));
    if (!bias && !z) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "ONNX import: out of memory");
    st = clnn__ox_load_param(o, name, "bias", bias ? bias->f : z, D);
    free(z);
  }
  return st == CLNN_SUCCESS ? clnn__ox_bind_value(o, bind_to, y) : st;
}

clnn_status clnn__ox_layer_norm(clnn__ox *o) {
  int x = -1, nd = 0;
  size_t xd[CLNN_MAX_DIMS];
  clnn__ox_sym *scale = NULL, *bias = NULL;
  clnn_status st = clnn__ox_in_value(o, 0, &x, &nd, xd);
  if (st == CLNN_SUCCESS) st = clnn__ox_in_const(o, 1, &scale);
  if (st == CLNN_SUCCESS && clnn__ox_in_name(o, 2)) st = clnn__ox_in_const(o, 2, &bias);
  if (st != CLNN_SUCCESS) return st;
  for (size_t k = 1; k < o->node->n_output; k++)
    if (clnn__ox_used(o, o->node->output[k]))
      return clnn__ox_unsupported(o, "output %zu '%.80s' (%s) is used; clnn's layer norm gives Y "
                                     "only", k, o->node->output[k], k == 1 ? "Mean" : "InvStdDev");
  if (o->node->n_output < 1 || !o->node->output[0] || !o->node->output[0][0])
    return clnn__ox_format(o, "the node has no output");
  int64_t axis = clnn__ox_attr_i(o, "axis", -1);
  int pa = clnn__ox_sample_axis(axis, nd);
  if (pa < 0)
    return clnn__ox_unsupported(o, "axis %lld normalises over the batch axis (clnn normalises "
                                   "within each sample)", (long long)axis);
  return build_layer_norm(o, o->node->name && o->node->name[0] ? o->node->name : "layer_norm", x,
                          pa, clnn__ox_attr_f(o, "epsilon", 1e-5f), scale, bias,
                          o->node->output[0]);
}

/* The first axis of a ReduceMean node (keepdims 1) over a run of trailing axes of a rank-`rank`
 * value; -1 otherwise. */
static int64_t mean_axes(clnn__ox *o, const Onnx__NodeProto *n, int rank) {
  int64_t ax[8];
  int na = -1;
  for (size_t a = 0; a < n->n_attribute; a++) {
    const Onnx__AttributeProto *at = n->attribute[a];
    if (!strcmp(at->name, "keepdims") && at->has_i && at->i != 1) return -1;
    if (!strcmp(at->name, "axes")) {
      if (at->n_ints > 8) return -1;
      na = (int)at->n_ints;
      for (size_t k = 0; k < at->n_ints; k++) ax[k] = at->ints[k];
    }
  }
  if (na < 0 && n->n_input > 1 && n->input[1] && n->input[1][0]) { /* opset 18: an input */
    clnn__ox_sym *c = clnn__ox_find(o, n->input[1]);
    na = c && c->is_const ? clnn__ox_const_ints(c, ax, 8) : -1;
  }
  if (na < 1) return -1;
  int64_t first = rank;
  char seen[8] = {0};
  for (int k = 0; k < na; k++) {
    int64_t a = ax[k] < 0 ? ax[k] + rank : ax[k];
    if (a < 1 || a >= rank || seen[a]) return -1;
    seen[a] = 1;
    if (a < first) first = a;
  }
  return first + na == rank ? first : -1;
}

static int is_op(const clnn__ox *o, int k, const char *op) {
  return k >= 0 && !strcmp(o->graph->node[k]->op_type, op) && o->graph->node[k]->n_output >= 1;
}

static const char *out0(const clnn__ox *o, int k) { return o->graph->node[k]->output[0]; }

/* ReduceMean(x) -> Sub(x, mean) -> Pow(., 2) -> ReduceMean -> Add(eps) -> Sqrt -> Div(diff, .)
 * [-> Mul(weight) [-> Add(bias)]] over trailing axes: PyTorch's LayerNorm before opset 17. */
clnn_status clnn__ox_reduce_mean(clnn__ox *o) {
  int x = -1, nd = 0;
  size_t xd[CLNN_MAX_DIMS];
  clnn_status st = clnn__ox_in_value(o, 0, &x, &nd, xd);
  if (st != CLNN_SUCCESS) return st;
  const char *xname = clnn__ox_in_name(o, 0), *other = NULL;
  int64_t first = mean_axes(o, o->node, nd + 1);
  int k[9], c2[3];
  float two, eps;
  int ok = first >= 1 && o->node->n_output == 1;
  k[0] = o->node_index;
  k[1] = ok ? clnn__ox_sole_consumer(o, out0(o, k[0])) : -1;
  ok = ok && is_op(o, k[1], "Sub") && o->graph->node[k[1]]->n_input == 2 &&
       !strcmp(o->graph->node[k[1]]->input[0], xname) &&
       !strcmp(o->graph->node[k[1]]->input[1], out0(o, k[0]));
  const char *diff = ok ? out0(o, k[1]) : NULL;
  ok = ok && clnn__ox_consumers(o, diff, c2, 3) == 2;
  if (ok) { /* the two readers of the difference: Pow and Div, in either order */
    int pw = is_op(o, c2[0], "Pow") ? 0 : 1;
    k[2] = c2[pw];
    k[6] = c2[1 - pw];
  }
  ok = ok && is_op(o, k[2], "Pow") && clnn__ox_other_input(o->graph->node[k[2]], diff, &other) &&
       !strcmp(o->graph->node[k[2]]->input[0], diff) && clnn__ox_scalar(o, other, &two) &&
       two == 2.0f;
  k[3] = ok ? clnn__ox_sole_consumer(o, out0(o, k[2])) : -1;
  ok = ok && is_op(o, k[3], "ReduceMean") && mean_axes(o, o->graph->node[k[3]], nd + 1) == first;
  k[4] = ok ? clnn__ox_sole_consumer(o, out0(o, k[3])) : -1;
  ok = ok && is_op(o, k[4], "Add") &&
       clnn__ox_other_input(o->graph->node[k[4]], out0(o, k[3]), &other) &&
       clnn__ox_scalar(o, other, &eps);
  k[5] = ok ? clnn__ox_sole_consumer(o, out0(o, k[4])) : -1;
  ok = ok && is_op(o, k[5], "Sqrt") && o->graph->node[k[5]]->n_input == 1;
  ok = ok && clnn__ox_sole_consumer(o, out0(o, k[5])) == k[6] && is_op(o, k[6], "Div") &&
       o->graph->node[k[6]]->n_input == 2 && !strcmp(o->graph->node[k[6]]->input[0], diff) &&
       !strcmp(o->graph->node[k[6]]->input[1], out0(o, k[5]));
  if (!ok)
    return clnn__ox_unsupported(o, "ReduceMean outside a layer norm written out (ReduceMean, Sub, "
                                   "Pow 2, ReduceMean, Add eps, Sqrt, Div[, Mul weight[, Add "
                                   "bias]] over trailing axes) is not supported");
  int last = 6;
  clnn__ox_sym *scale = NULL, *bias = NULL;
  k[7] = clnn__ox_sole_consumer(o, out0(o, k[6]));
  if (is_op(o, k[7], "Mul") && clnn__ox_other_input(o->graph->node[k[7]], out0(o, k[6]), &other) &&
      (scale = clnn__ox_find(o, other)) && scale->is_const && scale->f) {
    last = 7;
    k[8] = clnn__ox_sole_consumer(o, out0(o, k[7]));
    if (is_op(o, k[8], "Add") &&
        clnn__ox_other_input(o->graph->node[k[8]], out0(o, k[7]), &other) &&
        (bias = clnn__ox_find(o, other)) && bias->is_const && bias->f)
      last = 8;
    else
      bias = NULL;
  } else {
    scale = NULL;
  }
  char hint[CLNN__G_NAME_MAX];
  clnn__ox_pick_name(o, scale ? scale->name : NULL, hint);
  st = build_layer_norm(o, hint, x, (int)first - 1, eps, scale, bias, out0(o, k[last]));
  for (int i = 1; st == CLNN_SUCCESS && i <= last; i++) o->skip[k[i]] = 1;
  return st;
}

/* ---- LSTM and GRU ---- */

static clnn_status lstm_weights(clnn__ox *o, const char *name, size_t H, size_t I,
                                const clnn__ox_sym *W, const clnn__ox_sym *R,
                                const clnn__ox_sym *B) {
  /* clnn gate q (i, f, g, o) is ONNX gate from[q] (ONNX order i, o, f, c) */
  static const int from[4] = {0, 2, 3, 1};
  size_t nw = 4 * H * I, nr = 4 * H * H;
  float *buf = malloc((nw + nr + 4 * H) * sizeof(float));
  if (!buf) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "ONNX import: out of memory");
  float *wih = buf, *whh = buf + nw, *b = whh + nr;
  for (int q = 0; q < 4; q++) {
    size_t src = (size_t)from[q] * H;
    memcpy(wih + (size_t)q * H * I, W->f + src * I, H * I * sizeof(float));
    memcpy(whh + (size_t)q * H * H, R->f + src * H, H * H * sizeof(float));
    for (size_t j = 0; j < H; j++)
      b[(size_t)q * H + j] = B ? B->f[src + j] + B->f[4 * H + src + j] : 0.0f;
  }
  clnn_status st = clnn__ox_load_param(o, name, "weight_ih", wih, nw);
  if (st == CLNN_SUCCESS) st = clnn__ox_load_param(o, name, "weight_hh", whh, nr);
  if (st == CLNN_SUCCESS) st = clnn__ox_load_param(o, name, "bias", b, 4 * H);
  free(buf);
  return st;
}

/* clnn gate q (r, z, n) of a GRU is ONNX gate from[q] (ONNX order z, r, h); the biases stay
 * apart (PyTorch's bias_ih and bias_hh are ONNX's Wb and Rb). */
static clnn_status gru_weights(clnn__ox *o, const char *name, size_t H, size_t I,
                               const clnn__ox_sym *W, const clnn__ox_sym *R,
                               const clnn__ox_sym *B) {
  static const int from[3] = {1, 0, 2};
  size_t nw = 3 * H * I, nr = 3 * H * H;
  float *buf = malloc((nw + nr + 6 * H) * sizeof(float));
  if (!buf) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "ONNX import: out of memory");
  float *wih = buf, *whh = buf + nw, *bih = whh + nr, *bhh = bih + 3 * H;
  for (int q = 0; q < 3; q++) {
    size_t src = (size_t)from[q] * H;
    memcpy(wih + (size_t)q * H * I, W->f + src * I, H * I * sizeof(float));
    memcpy(whh + (size_t)q * H * H, R->f + src * H, H * H * sizeof(float));
    for (size_t j = 0; j < H; j++) {
      bih[(size_t)q * H + j] = B ? B->f[src + j] : 0.0f;
      bhh[(size_t)q * H + j] = B ? B->f[3 * H + src + j] : 0.0f;
    }
  }
  clnn_status st = clnn__ox_load_param(o, name, "weight_ih_l0", wih, nw);
  if (st == CLNN_SUCCESS) st = clnn__ox_load_param(o, name, "weight_hh_l0", whh, nr);
  if (st == CLNN_SUCCESS) st = clnn__ox_load_param(o, name, "bias_ih_l0", bih, 3 * H);
  if (st == CLNN_SUCCESS) st = clnn__ox_load_param(o, name, "bias_hh_l0", bhh, 3 * H);
  free(buf);
  return st;
}

static clnn_status rnn_check_attrs(clnn__ox *o, int gru) {
  const char *kind = gru ? "GRU" : "LSTM";
  const Onnx__AttributeProto *dir = clnn__ox_attr(o, "direction");
  if (dir && !clnn__ox_attr_s_is(o, "direction", "forward"))
    return clnn__ox_unsupported(o, "direction '%.*s': clnn imports a forward %s only (no "
                                   "reverse or bidirectional)", dir->has_s ? (int)dir->s.len : 1,
                                dir->has_s ? (const char *)dir->s.data : "?", kind);
  const Onnx__AttributeProto *act = clnn__ox_attr(o, "activations");
  if (act) {
    static const char *const want[3] = {"Sigmoid", "Tanh", "Tanh"};
    const size_t na = gru ? 2 : 3;
    int ok = act->n_strings == na;
    for (size_t k = 0; ok && k < na; k++)
      ok = act->strings[k].len == strlen(want[k]) &&
           !memcmp(act->strings[k].data, want[k], act->strings[k].len);
    if (!ok)
      return clnn__ox_unsupported(o, "activations other than %s",
                                  gru ? "Sigmoid, Tanh" : "Sigmoid, Tanh, Tanh");
  }
  if (clnn__ox_attr(o, "clip")) return clnn__ox_unsupported(o, "clip (clnn does not clip cells)");
  if (!gru && clnn__ox_attr_i(o, "input_forget", 0))
    return clnn__ox_unsupported(o, "input_forget 1 (coupled input and forget gates)");
  if (gru && clnn__ox_attr_i(o, "linear_before_reset", 0) != 1)
    return clnn__ox_unsupported(o, "linear_before_reset 0 (the reset gate applied before the "
                                   "recurrent product); clnn's GRU is PyTorch's, "
                                   "linear_before_reset 1");
  int64_t layout = clnn__ox_attr_i(o, "layout", 0);
  if (layout != 0 && layout != 1) return clnn__ox_format(o, "layout %lld", (long long)layout);
  return CLNN_SUCCESS;
}

/* LSTM (gru 0) or GRU (gru 1): the same inputs up to initial_h and the same Y and Y_h. */
static clnn_status rnn_import(clnn__ox *o, int gru) {
  const char *kind = gru ? "GRU" : "LSTM";
  const int64_t G = gru ? 3 : 4; /* gates */
  clnn_status st = rnn_check_attrs(o, gru);
  if (st != CLNN_SUCCESS) return st;
  int layout = (int)clnn__ox_attr_i(o, "layout", 0);
  int64_t H = clnn__ox_attr_i(o, "hidden_size", 0);
  const char *xname = clnn__ox_in_name(o, 0);
  clnn__ox_sym *xs = xname ? clnn__ox_find(o, xname) : NULL;
  if (!xs) return clnn__ox_format(o, "input X is missing or not defined before the node");
  if (xs->is_const) return clnn__ox_unsupported(o, "X '%.80s' is a constant", xname);
  int want = layout ? CLNN__OX_BATCH_FIRST : CLNN__OX_TIME_MAJOR;
  if (xs->layout != want)
    return clnn__ox_unsupported(o, "X '%.80s' is %s but layout is %d; clnn's values are "
                                   "batch-first: an %s of layout 0 takes X through "
                                   "Transpose(perm 1,0,2) of a batch-first value (PyTorch's "
                                   "batch_first=True export), or use layout 1", xname,
                                xs->layout == CLNN__OX_BATCH_FIRST ? "[T, N, I] with the batch on "
                                "axis 1 (straight from a graph input)" : "time-major", layout,
                                kind);
  size_t xd[CLNN_MAX_DIMS];
  int nd = clnn_graph_value_dims(o->gr, xs->value, xd);
  if (nd != 2) return clnn__ox_unsupported(o, "X has rank %d (clnn: [T, N, I] or [N, T, I])", nd + 1);
  size_t T = xd[0], I = xd[1];
  clnn__ox_sym *W, *R, *B = NULL;
  if ((st = clnn__ox_in_const(o, 1, &W)) != CLNN_SUCCESS) return st;
  if ((st = clnn__ox_in_const(o, 2, &R)) != CLNN_SUCCESS) return st;
  if (clnn__ox_in_name(o, 3) && (st = clnn__ox_in_const(o, 3, &B)) != CLNN_SUCCESS) return st;
  if (H < 1 || H > 1 << 20) return clnn__ox_format(o, "hidden_size %lld", (long long)H);
  size_t h = (size_t)H;
  if (!W->f || W->ndim != 3 || W->dims[0] != 1 || W->dims[1] != G * H || W->dims[2] != (int64_t)I)
    return clnn__ox_format(o, "W is not a float [1, %zu, %zu] constant", (size_t)G * h, I);
  if (!R->f || R->ndim != 3 || R->dims[0] != 1 || R->dims[1] != G * H || R->dims[2] != H)
    return clnn__ox_format(o, "R is not a float [1, %zu, %zu] constant", (size_t)G * h, h);
  if (B && (!B->f || B->numel != 2 * (size_t)G * h))
    return clnn__ox_format(o, "B is not a float [1, %zu] constant", 2 * (size_t)G * h);
  const char *sl = clnn__ox_in_name(o, 4);
  if (sl) {
    clnn__ox_sym *c = clnn__ox_find(o, sl);
    int all_T = c && c->is_const && c->numel >= 1;
    for (size_t k = 0; all_T && k < c->numel; k++)
      all_T = c->i ? c->i[k] == (int64_t)T : c->f[k] == (float)T;
    if (!all_T)
      return clnn__ox_unsupported(o, "sequence_lens '%.80s' (per-sample lengths): clnn imports "
                                     "an %s that runs every sequence to its full length %zu",
                                  sl, kind, T);
  }
  static const char *const state[2] = {"initial_h", "initial_c"};
  for (int k = 0; k < (gru ? 1 : 2); k++) {
    const char *nm = clnn__ox_in_name(o, 5 + k);
    if (nm && !clnn__ox_is_zeros(o, nm))
      return clnn__ox_unsupported(o, "%s '%.80s' is not zeros: clnn imports an %s that starts "
                                     "from a zero state", state[k], nm, kind);
  }
  const char *peep = gru ? NULL : clnn__ox_in_name(o, 7);
  if (peep && !clnn__ox_is_zeros(o, peep))
    return clnn__ox_unsupported(o, "peephole weights P '%.80s' (clnn's LSTM has none)", peep);
  const char *y_name = o->node->n_output > 0 ? o->node->output[0] : NULL;
  const char *h_name = o->node->n_output > 1 ? o->node->output[1] : NULL;
  if (!gru && o->node->n_output > 2 && clnn__ox_used(o, o->node->output[2]))
    return clnn__ox_unsupported(o, "output Y_c '%.80s' (the last cell state) is used; clnn's LSTM "
                                   "node gives Y and Y_h", o->node->output[2]);
  int use_y = clnn__ox_used(o, y_name), use_h = clnn__ox_used(o, h_name);
  char name[CLNN__G_NAME_MAX], sub[CLNN__G_NAME_MAX];
  clnn__ox_pick_name(o, clnn__ox_in_name(o, 1), name);
  int y, last;
  st = clnn__ox_builder(o, gru ? clnn_graph_gru(o->gr, name, xs->value, (int)H, use_y, &y)
                               : clnn_graph_lstm(o->gr, name, xs->value, (int)H, use_y, &y));
  if (st == CLNN_SUCCESS)
    st = gru ? gru_weights(o, name, h, I, W, R, B) : lstm_weights(o, name, h, I, W, R, B);
  if (st != CLNN_SUCCESS) return st;
  if (use_y) {
    /* Y: ONNX [T, 1, N, H] (layout 0: a mark) or [N, T, 1, H] (layout 1: clnn [T, 1, H]) */
    int yv = y;
    size_t d3[3] = {T, 1, h};
    clnn__ox_sub_name(o, name, "Y", sub);
    if (layout) st = clnn__ox_reshape_to(o, sub, y, 3, d3, &yv);
    if (st == CLNN_SUCCESS)
      st = clnn__ox_bind_layout(o, y_name, yv, layout ? CLNN__OX_BATCH_FIRST : CLNN__OX_SEQ_DIR);
    if (st != CLNN_SUCCESS || !use_h) return st;
    clnn__ox_sub_name(o, name, "Y_h", sub);
    st = clnn__ox_builder(o, clnn_graph_slice(o->gr, sub, y, 0, T - 1, 1, &last)); /* [1, H] */
  } else if (use_h) {
    last = y; /* [H] */
  } else {
    return CLNN_SUCCESS;
  }
  /* Y_h: ONNX [1, N, H] (layout 0: clnn [H], the same bytes) or [N, 1, H] (clnn [1, H]) */
  size_t d[2] = {1, h}, ld[CLNN_MAX_DIMS];
  int lnd = clnn_graph_value_dims(o->gr, last, ld);
  clnn__ox_sub_name(o, name, "Y_h_shape", sub);
  if (st == CLNN_SUCCESS && lnd != (layout ? 2 : 1))
    st = clnn__ox_reshape_to(o, sub, last, layout ? 2 : 1, layout ? d : d + 1, &last);
  if (st == CLNN_SUCCESS)
    st = clnn__ox_bind_layout(o, h_name, last, layout ? CLNN__OX_BATCH_FIRST : CLNN__OX_DIR_STATE);
  return st;
}

clnn_status clnn__ox_lstm(clnn__ox *o) { return rnn_import(o, 0); }
clnn_status clnn__ox_gru(clnn__ox *o) { return rnn_import(o, 1); }
