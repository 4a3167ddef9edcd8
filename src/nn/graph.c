/* src/nn/graph.c — the graph builder: values, nodes, parameters, names, shared-weight nodes,
 * losses and outputs, and the public inspection calls. Each op kind's builder lives in its
 * op_*.c file and comes through clnn__g_add_node, which checks the node with the op's infer and
 * leaves the graph unchanged on failure. */
#include "nn/graph.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const clnn__op *const clnn__ops[] = {
    &clnn__op_conv2d,  &clnn__op_conv_transpose2d, &clnn__op_pool2d,  &clnn__op_global_avgpool,
    &clnn__op_dense,   &clnn__op_activation,       &clnn__op_dropout, &clnn__op_softmax,
    &clnn__op_batchnorm, &clnn__op_lstm,           &clnn__op_add,     &clnn__op_mul,
    &clnn__op_scale,   &clnn__op_concat,           &clnn__op_slice,   &clnn__op_reshape,
    &clnn__op_permute, &clnn__op_loss,             &clnn__op_mean,
    &clnn__op_embedding, &clnn__op_layer_norm, &clnn__op_rms_norm, &clnn__op_attention,
    &clnn__op_gru,     NULL};

const clnn__op *clnn__op_find(const char *kind) {
  for (int i = 0; clnn__ops[i]; i++)
    if (strcmp(clnn__ops[i]->kind, kind) == 0) return clnn__ops[i];
  return NULL;
}

/* Automatic names follow clnn_net's layer names: "conv1", "maxpool1", "relu2", "bn1", ... */
static const char *auto_prefix(const clnn__op *op, const int *ia) {
  if (op == &clnn__op_conv2d) return "conv";
  if (op == &clnn__op_conv_transpose2d) return "conv_transpose";
  if (op == &clnn__op_pool2d) return ia && ia[0] ? "maxpool" : "avgpool";
  if (op == &clnn__op_batchnorm) return "bn";
  if (op == &clnn__op_activation && ia && ia[0] >= CLNN_ACT_IDENTITY && ia[0] <= CLNN_ACT_SOFTPLUS)
    return clnn__nn_act_name((clnn_activation)ia[0]);
  return op->kind;
}


void clnn__g_init(clnn__graph *g) { memset(g, 0, sizeof(*g)); }

void clnn__g_free(clnn__graph *g) {
  if (!g) return;
  free(g->values);
  free(g->nodes);
  free(g->params);
  free(g->inputs);
  free(g->outputs);
  free(g->losses);
  clnn__g_init(g);
}

#define DUP_ARRAY(field, count)                                                                  \
  do {                                                                                           \
    if (src->count) {                                                                            \
      dst->field = malloc((size_t)src->count * sizeof(*src->field));                             \
      if (!dst->field) goto oom;                                                                 \
      memcpy(dst->field, src->field, (size_t)src->count * sizeof(*src->field));                  \
    }                                                                                            \
  } while (0)

clnn_status clnn__g_copy(clnn__graph *dst, const clnn__graph *src) {
  clnn__g_init(dst);
  DUP_ARRAY(values, num_values);
  DUP_ARRAY(nodes, num_nodes);
  DUP_ARRAY(params, num_params);
  DUP_ARRAY(inputs, num_inputs);
  DUP_ARRAY(outputs, num_outputs);
  DUP_ARRAY(losses, num_losses);
  dst->num_values = dst->cap_values = src->num_values;
  dst->num_nodes = dst->cap_nodes = src->num_nodes;
  dst->num_params = dst->cap_params = src->num_params;
  dst->num_inputs = dst->cap_inputs = src->num_inputs;
  dst->num_outputs = dst->cap_outputs = src->num_outputs;
  dst->num_losses = dst->cap_losses = src->num_losses;
  return CLNN_SUCCESS;
oom:
  clnn__g_free(dst);
  return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot copy a graph");
}

static int grow(void **p, int *cap, int need, size_t elem) {
  if (need <= *cap) return 1;
  int nc = *cap ? *cap * 2 : 16;
  while (nc < need) nc *= 2;
  void *q = realloc(*p, (size_t)nc * elem);
  if (!q) return 0;
  *p = q;
  *cap = nc;
  return 1;
}

int clnn__g_name_ok(const char *name) {
  size_t n = name ? strlen(name) : 0;
  if (n == 0 || n >= CLNN__G_NAME_MAX) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-' || c == '.'))
      return 0;
  }
  return 1;
}

int clnn__g_find_node(const clnn__graph *g, const char *name) {
  for (int i = 0; i < g->num_nodes; i++)
    if (strcmp(g->nodes[i].name, name) == 0) return i;
  return -1;
}

int clnn__g_find_value(const clnn__graph *g, const char *name) {
  for (int i = 0; i < g->num_values; i++)
    if (strcmp(g->values[i].name, name) == 0) return i;
  return -1;
}

const char *clnn__g_shape_str(const clnn__gvalue *v, char *buf, size_t size) {
  size_t dims[CLNN_MAX_DIMS];
  int nd = 0;
  if (v->batched) {
    int len = snprintf(buf, size, "[N");
    for (int i = 0; i < v->ndim && len > 0 && (size_t)len < size; i++)
      len += snprintf(buf + len, size - (size_t)len, ", %zu", v->dims[i]);
    if (len > 0 && (size_t)len < size) snprintf(buf + len, size - (size_t)len, "]");
    if (v->dtype == CLNN_INT32 && len > 0 && (size_t)len + 7 < size) strcat(buf, " int32");
    return buf;
  }
  for (int i = 0; i < v->ndim; i++) dims[nd++] = v->dims[i];
  return clnn__dims_str_raw(nd, dims, buf, size);
}

int clnn__g_full_dims(const clnn__gvalue *v, size_t batch, size_t *dims) {
  if (!v->batched) {
    for (int i = 0; i < v->ndim; i++) dims[i] = v->dims[i];
    return v->ndim;
  }
  dims[0] = batch;
  for (int i = 0; i < v->ndim; i++) dims[i + 1] = v->dims[i];
  return v->ndim + 1;
}

int clnn__g_axis(int axis, int ndim) {
  if (axis < 0) axis += ndim;
  return (axis < 0 || axis >= ndim) ? -1 : axis;
}

clnn_status clnn__g_check_value(const clnn__graph *g, int v, const char *node, const char *arg) {
  if (v < 0 || v >= g->num_values)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: %s is %d, which is not a value of the graph (it has %d)", node, arg, v,
                       g->num_values);
  return CLNN_SUCCESS;
}

clnn_status clnn__g_fail(const clnn__gnode *n, clnn_status status, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return clnn__error(status, "node '%s' (%s): %s", n->name, n->op->kind, msg);
}

clnn__gvalue *clnn__g_in(clnn__graph *g, const clnn__gnode *n, int k) {
  return &g->values[n->in[k]];
}
clnn__gvalue *clnn__g_out(clnn__graph *g, const clnn__gnode *n, int k) {
  return &g->values[n->out[k]];
}

/* Parameters declared by the node being added land after num_params and are committed with it. */
/* (pending parameters are counted in g->pending_params) */

clnn_status clnn__g_param(clnn__graph *g, clnn__gnode *n, const char *role, int ndim,
                          const size_t *dims, int state, clnn__ginit init, double fan_in,
                          double fan_out) {
  if (n->num_params >= CLNN__G_MAX_PARAMS)
    return clnn__g_fail(n, CLNN_ERROR_INTERNAL, "too many parameters");
  int idx = g->num_params + g->pending_params;
  if (!grow((void **)&g->params, &g->cap_params, idx + 1, sizeof(*g->params)))
    return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot grow the parameter table");
  clnn__gparam *p = &g->params[idx];
  memset(p, 0, sizeof(*p));
  snprintf(p->name, sizeof p->name, "%s.%s", n->name, role);
  p->ndim = ndim;
  p->numel = 1;
  for (int i = 0; i < ndim; i++) {
    p->dims[i] = dims[i];
    p->numel *= dims[i];
  }
  p->state = state;
  p->init = init;
  p->fan_in = fan_in;
  p->fan_out = fan_out;
  p->owner = g->num_nodes;
  n->param[n->num_params++] = idx;
  g->pending_params++;
  return CLNN_SUCCESS;
}

clnn_status clnn__g_add_node(clnn__graph *g, const clnn__op *op, const char *name, int num_in,
                             const int *in, const int *ia, const float *fa, int shares,
                             int *outs, const char *fn) {
  clnn__gnode n;
  memset(&n, 0, sizeof n);
  n.op = op;
  n.shares = shares;
  if (name) {
    if (!clnn__g_name_ok(name))
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                         "%s: name '%s' is not 1..%d characters of [A-Za-z0-9_.-]", fn, name,
                         CLNN__G_NAME_MAX - 1);
    if (clnn__g_find_node(g, name) >= 0 || clnn__g_find_value(g, name) >= 0)
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: the name '%s' is taken", fn, name);
    snprintf(n.name, sizeof n.name, "%s", name);
  } else {
    unsigned k = 0;
    do {
      k++;
      snprintf(n.name, sizeof n.name, "%s%u", auto_prefix(op, ia), k);
    } while (clnn__g_find_node(g, n.name) >= 0 || clnn__g_find_value(g, n.name) >= 0);
  }
  if (op->variadic ? (num_in < 1 || num_in > CLNN__G_MAX_IN) : num_in != op->num_inputs)
    return clnn__g_fail(&n, CLNN_ERROR_INVALID_ARGUMENT, "takes %s%d inputs, got %d",
                        op->variadic ? "1 to " : "", op->variadic ? CLNN__G_MAX_IN : op->num_inputs,
                        num_in);
  if (!in && num_in) return clnn__g_fail(&n, CLNN_ERROR_INVALID_ARGUMENT, "inputs are NULL");
  for (int k = 0; k < num_in; k++) {
    clnn_status st = clnn__g_check_value(g, in[k], n.name, "an input");
    if (st != CLNN_SUCCESS) return st;
    if (!g->values[in[k]].batched && op != &clnn__op_mean)
      return clnn__g_fail(&n, CLNN_ERROR_INVALID_ARGUMENT,
                          "input '%s' is a scalar loss; losses can only be outputs or added to "
                          "the objective", g->values[in[k]].name);
    n.in[k] = in[k];
  }
  n.num_in = num_in;
  if (ia) memcpy(n.ia, ia, sizeof n.ia);
  if (fa) memcpy(n.fa, fa, sizeof n.fa);
  n.num_out = op->count_outputs ? op->count_outputs(n.ia) : op->num_outputs ? op->num_outputs : n.ia[0];
  if (n.num_out < 1 || n.num_out > CLNN__G_MAX_OUT)
    return clnn__g_fail(&n, CLNN_ERROR_INVALID_ARGUMENT, "%d outputs (1..%d)", n.num_out,
                        CLNN__G_MAX_OUT);
  /* reserve room for the outputs, then let infer fill them in */
  if (!grow((void **)&g->values, &g->cap_values, g->num_values + n.num_out, sizeof(*g->values)) ||
      !grow((void **)&g->nodes, &g->cap_nodes, g->num_nodes + 1, sizeof(*g->nodes)))
    return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot grow the graph");
  for (int k = 0; k < n.num_out; k++) {
    clnn__gvalue *v = &g->values[g->num_values + k];
    memset(v, 0, sizeof(*v));
    if (n.num_out == 1)
      snprintf(v->name, sizeof v->name, "%s", n.name);
    else
      snprintf(v->name, sizeof v->name, "%.*s:%d", CLNN__G_NAME_MAX - 5, n.name, k);
    v->batched = 1;
    v->producer = g->num_nodes;
    v->out_index = k;
    n.out[k] = g->num_values + k;
  }
  g->pending_params = 0;
  clnn_status st = op->infer(g, &n, shares < 0);
  if (st == CLNN_SUCCESS && shares >= 0) {
    /* the shared node's parameters, with equal shapes */
    clnn__gnode probe = n;
    probe.num_params = 0;
    g->pending_params = 0;
    int base = g->num_params;
    st = op->infer(g, &probe, 1);
    const clnn__gnode *s = &g->nodes[shares];
    if (st == CLNN_SUCCESS && probe.num_params != s->num_params)
      st = clnn__g_fail(&n, CLNN_ERROR_SHAPE_MISMATCH, "cannot share the parameters of '%s'",
                        s->name);
    for (int k = 0; st == CLNN_SUCCESS && k < s->num_params; k++) {
      const clnn__gparam *a = &g->params[s->param[k]], *b = &g->params[base + k];
      if (a->numel != b->numel || a->ndim != b->ndim ||
          memcmp(a->dims, b->dims, sizeof(size_t) * (size_t)a->ndim) != 0)
        st = clnn__g_fail(&n, CLNN_ERROR_SHAPE_MISMATCH,
                          "parameter %s of '%s' does not fit this input", a->name, s->name);
    }
    g->pending_params = 0;
    n.num_params = s->num_params;
    for (int k = 0; k < s->num_params; k++) n.param[k] = s->param[k];
  }
  if (st != CLNN_SUCCESS) {
    g->pending_params = 0;
    return st;
  }
  g->num_params += g->pending_params;
  g->pending_params = 0;
  g->nodes[g->num_nodes++] = n;
  g->num_values += n.num_out;
  if (outs)
    for (int k = 0; k < n.num_out; k++) outs[k] = n.out[k];
  return CLNN_SUCCESS;
}

/* ---- public: create, inputs, outputs, losses, sharing ---- */

clnn_status clnn_graph_create(clnn_graph **out) {
  if (!out) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_graph_create: out is NULL");
  clnn_graph *g = calloc(1, sizeof(*g));
  if (!g) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "clnn_graph_create: out of memory");
  *out = g;
  return CLNN_SUCCESS;
}

void clnn_graph_destroy(clnn_graph *g) {
  if (!g) return;
  clnn__g_free(&g->g);
  free(g);
}

clnn_status clnn_graph_input(clnn_graph *gr, const char *name, clnn_dtype dtype, int ndim,
                             const size_t *dims, int *out) {
  const char *fn = "clnn_graph_input";
  if (!gr || !out) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: graph or out is NULL", fn);
  clnn__graph *g = &gr->g;
  if (!clnn__g_name_ok(name))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: name must be 1..%d characters of [A-Za-z0-9_.-]", fn,
                       CLNN__G_NAME_MAX - 1);
  if (clnn__g_find_value(g, name) >= 0 || clnn__g_find_node(g, name) >= 0)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: the name '%s' is taken", fn, name);
  if (dtype != CLNN_FLOAT32 && dtype != CLNN_INT32)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: '%s': dtype %d is not a clnn_dtype", fn,
                       name, (int)dtype);
  if (ndim < 0 || ndim > CLNN_MAX_DIMS - 1 || (ndim && !dims))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: '%s': ndim %d (0..%d per sample, dims not NULL)", fn, name, ndim,
                       CLNN_MAX_DIMS - 1);
  if (dtype == CLNN_FLOAT32 && ndim == 0)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: '%s': a float input needs at least one per-sample dim ([1] for a "
                       "scalar)", fn, name);
  size_t total = 1;
  for (int i = 0; i < ndim; i++) {
    int ok = 1;
    total = clnn__mul_size(total, dims[i], &ok);
    if (dims[i] == 0 || !ok || total > ((size_t)1 << 40))
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: '%s': dim %d is %zu", fn, name, i,
                         dims[i]);
  }
  if (!grow((void **)&g->values, &g->cap_values, g->num_values + 1, sizeof(*g->values)) ||
      !grow((void **)&g->inputs, &g->cap_inputs, g->num_inputs + 1, sizeof(*g->inputs)))
    return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "%s: out of memory", fn);
  clnn__gvalue *v = &g->values[g->num_values];
  memset(v, 0, sizeof(*v));
  snprintf(v->name, sizeof v->name, "%s", name);
  v->dtype = dtype;
  v->ndim = ndim;
  for (int i = 0; i < ndim; i++) v->dims[i] = dims[i];
  v->batched = 1;
  v->producer = -1;
  g->inputs[g->num_inputs++] = g->num_values;
  *out = g->num_values++;
  return CLNN_SUCCESS;
}

clnn_status clnn_graph_output(clnn_graph *gr, int value) {
  if (!gr) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_graph_output: graph is NULL");
  clnn__graph *g = &gr->g;
  clnn_status st = clnn__g_check_value(g, value, "clnn_graph_output", "value");
  if (st != CLNN_SUCCESS) return st;
  for (int i = 0; i < g->num_outputs; i++)
    if (g->outputs[i] == value) return CLNN_SUCCESS;
  if (!grow((void **)&g->outputs, &g->cap_outputs, g->num_outputs + 1, sizeof(*g->outputs)))
    return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "clnn_graph_output: out of memory");
  g->outputs[g->num_outputs++] = value;
  return CLNN_SUCCESS;
}

clnn_status clnn_graph_add_loss(clnn_graph *gr, int value, float weight) {
  const char *fn = "clnn_graph_add_loss";
  if (!gr) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: graph is NULL", fn);
  clnn__graph *g = &gr->g;
  clnn_status st = clnn__g_check_value(g, value, fn, "value");
  if (st != CLNN_SUCCESS) return st;
  if (g->values[value].batched)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: '%s' is not a scalar (use clnn_graph_mean or clnn_graph_loss)", fn,
                       g->values[value].name);
  if (!(weight == weight) || weight > 3.0e38f || weight < -3.0e38f)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: weight %g is not finite", fn,
                       (double)weight);
  for (int i = 0; i < g->num_losses; i++)
    if (g->losses[i].value == value) {
      g->losses[i].weight += weight;
      return CLNN_SUCCESS;
    }
  if (!grow((void **)&g->losses, &g->cap_losses, g->num_losses + 1, sizeof(*g->losses)))
    return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "%s: out of memory", fn);
  g->losses[g->num_losses].value = value;
  g->losses[g->num_losses].weight = weight;
  g->num_losses++;
  return CLNN_SUCCESS;
}

clnn_status clnn_graph_clear_outputs(clnn_graph *gr) {
  if (!gr) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_graph_clear_outputs: graph is NULL");
  gr->g.num_outputs = 0;
  gr->g.num_losses = 0;
  return CLNN_SUCCESS;
}

clnn_status clnn_graph_apply(clnn_graph *gr, const char *name, const char *node, int x, int *out) {
  const char *fn = "clnn_graph_apply";
  if (!gr || !node || !out)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: graph, node or out is NULL", fn);
  clnn__graph *g = &gr->g;
  int s = clnn__g_find_node(g, node);
  if (s < 0) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: no node named '%s'", fn, node);
  const clnn__gnode *src = &g->nodes[s];
  if (src->num_in != 1 || src->num_out != 1 || src->op == &clnn__op_loss)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: '%s' (%s) is not a one-input, one-output node", fn, node,
                       src->op->kind);
  int origin = src->shares >= 0 ? src->shares : s;
  clnn__gnode copy = *src; /* g->nodes may move while the node is added */
  return clnn__g_add_node(g, copy.op, name, 1, &x, copy.ia, copy.fa, origin, out, fn);
}

/* ---- public: inspection ---- */

int clnn_graph_num_values(const clnn_graph *g) { return g ? g->g.num_values : 0; }

const char *clnn_graph_value_name(const clnn_graph *g, int v) {
  return (g && v >= 0 && v < g->g.num_values) ? g->g.values[v].name : NULL;
}

int clnn_graph_value_dims(const clnn_graph *g, int v, size_t dims[CLNN_MAX_DIMS]) {
  if (!g || !dims || v < 0 || v >= g->g.num_values) return -1;
  const clnn__gvalue *val = &g->g.values[v];
  for (int i = 0; i < val->ndim; i++) dims[i] = val->dims[i];
  return val->ndim;
}

clnn_status clnn_graph_find(const clnn_graph *g, const char *name, int *value) {
  if (!g || !name || !value)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_graph_find: an argument is NULL");
  int v = clnn__g_find_value(&g->g, name);
  if (v < 0) {
    int n = clnn__g_find_node(&g->g, name);
    if (n >= 0) v = g->g.nodes[n].out[0];
  }
  if (v < 0)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_graph_find: no value named '%s'", name);
  *value = v;
  return CLNN_SUCCESS;
}

int clnn_graph_num_inputs(const clnn_graph *g) { return g ? g->g.num_inputs : 0; }
int clnn_graph_input_value(const clnn_graph *g, int i) {
  return (g && i >= 0 && i < g->g.num_inputs) ? g->g.inputs[i] : -1;
}
int clnn_graph_num_outputs(const clnn_graph *g) { return g ? g->g.num_outputs : 0; }
int clnn_graph_output_value(const clnn_graph *g, int i) {
  return (g && i >= 0 && i < g->g.num_outputs) ? g->g.outputs[i] : -1;
}

clnn_status clnn_graph_summary(const clnn_graph *gr, char *buf, size_t size) {
  if (!gr || !buf || !size)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_graph_summary: an argument is NULL");
  const clnn__graph *g = &gr->g;
  size_t len = 0;
  char sh[96];
#define PUT(...)                                                                                 \
  do {                                                                                           \
    if (len < size) {                                                                            \
      int w_ = snprintf(buf + len, size - len, __VA_ARGS__);                                     \
      if (w_ > 0) len += (size_t)w_;                                                             \
    }                                                                                            \
  } while (0)
  buf[0] = '\0';
  PUT("%-20s %-18s %-28s %-22s %s\n", "node", "kind", "inputs", "output", "params");
  for (int i = 0; i < g->num_inputs; i++) {
    const clnn__gvalue *v = &g->values[g->inputs[i]];
    PUT("%-20s %-18s %-28s %-22s %d\n", v->name, "input", "-", clnn__g_shape_str(v, sh, sizeof sh),
        0);
  }
  for (int i = 0; i < g->num_nodes; i++) {
    const clnn__gnode *n = &g->nodes[i];
    char ins[128] = "";
    size_t il = 0;
    for (int k = 0; k < n->num_in && il < sizeof ins; k++) {
      int w = snprintf(ins + il, sizeof ins - il, "%s%s", k ? "," : "", g->values[n->in[k]].name);
      if (w > 0) il += (size_t)w;
    }
    size_t np = 0;
    if (n->shares < 0)
      for (int k = 0; k < n->num_params; k++) np += g->params[n->param[k]].numel;
    PUT("%-20s %-18s %-28.28s %-22s %zu%s\n", n->name, n->op->kind, ins,
        clnn__g_shape_str(&g->values[n->out[0]], sh, sizeof sh), np,
        n->shares >= 0 ? " (shared)" : "");
  }
#undef PUT
  if (len >= size && size > 4) memcpy(buf + size - 4, "...", 4);
  return CLNN_SUCCESS;
}
