/* src/nn/model_json.c — the JSON that makes a model file self-describing, read and written with
 * cJSON: the graph ({"version":1,"inputs":[...],"nodes":[...],"outputs":[...],"losses":[...]},
 * attributes named by each op table's iattr/fattr lists, so nothing here knows an op kind) and the
 * optimizer settings (configuration, parameter groups, schedule, frozen parameters). Reading
 * rebuilds the graph through clnn__g_add_node, which infers and checks every shape again; any
 * problem is CLNN_ERROR_FORMAT naming the file and the node, and nothing is returned. */
#include "nn/model_io.h"

#include <cjson/cJSON.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EXACT 9007199254740992.0 /* 2^53: larger integers are not exact in JSON readers */

/* ---- writing ---- */

/* Adds item to obj under key (to an array when key is NULL) and returns it; a NULL item or obj,
 * or a failure, sets *oom, frees item and returns NULL (so later puts into it are no-ops). */
static cJSON *put(cJSON *obj, const char *key, cJSON *item, int *oom) {
  if (!item || !obj ||
      !(key ? cJSON_AddItemToObject(obj, key, item) : cJSON_AddItemToArray(obj, item))) {
    cJSON_Delete(item);
    *oom = 1;
    return NULL;
  }
  return item;
}

static cJSON *dims_json(int ndim, const size_t *dims, int *oom) {
  cJSON *a = cJSON_CreateArray();
  for (int i = 0; a && i < ndim; i++) put(a, NULL, cJSON_CreateNumber((double)dims[i]), oom);
  return a;
}

static char *print_and_free(cJSON *root, int oom) {
  char *s = (root && !oom) ? cJSON_PrintUnformatted(root) : NULL;
  cJSON_Delete(root);
  return s;
}

char *clnn__mj_graph_write(const clnn__graph *g, const char *keep) {
  int oom = 0;
  char *w = calloc(g->num_nodes ? (size_t)g->num_nodes : 1, 1);
  cJSON *root = cJSON_CreateObject();
  if (!w || !root) {
    free(w);
    cJSON_Delete(root);
    return NULL;
  }
  /* the nodes to write: kept ones, the producers of outputs and losses, and everything a written
   * node reads or shares parameters with (always earlier nodes, so one backward pass) */
  for (int i = 0; i < g->num_outputs; i++)
    if (g->values[g->outputs[i]].producer >= 0) w[g->values[g->outputs[i]].producer] = 1;
  for (int i = 0; i < g->num_losses; i++)
    if (g->values[g->losses[i].value].producer >= 0) w[g->values[g->losses[i].value].producer] = 1;
  for (int i = g->num_nodes - 1; i >= 0; i--) {
    if (keep && !keep[i] && !w[i]) continue;
    w[i] = 1;
    const clnn__gnode *n = &g->nodes[i];
    if (n->shares >= 0) w[n->shares] = 1;
    for (int k = 0; k < n->num_in; k++)
      if (g->values[n->in[k]].producer >= 0) w[g->values[n->in[k]].producer] = 1;
  }

  put(root, "version", cJSON_CreateNumber(CLNN__MJ_VERSION), &oom);
  cJSON *inputs = put(root, "inputs", cJSON_CreateArray(), &oom);
  for (int i = 0; i < g->num_inputs && !oom; i++) {
    const clnn__gvalue *v = &g->values[g->inputs[i]];
    cJSON *o = put(inputs, NULL, cJSON_CreateObject(), &oom);
    put(o, "name", cJSON_CreateString(v->name), &oom);
    put(o, "dtype", cJSON_CreateString(v->dtype == CLNN_INT32 ? "int32" : "float32"), &oom);
    put(o, "dims", dims_json(v->ndim, v->dims, &oom), &oom);
  }
  cJSON *nodes = put(root, "nodes", cJSON_CreateArray(), &oom);
  for (int i = 0; i < g->num_nodes && !oom; i++) {
    if (!w[i]) continue;
    const clnn__gnode *n = &g->nodes[i];
    cJSON *o = put(nodes, NULL, cJSON_CreateObject(), &oom);
    put(o, "name", cJSON_CreateString(n->name), &oom);
    put(o, "kind", cJSON_CreateString(n->op->kind), &oom);
    cJSON *in = put(o, "inputs", cJSON_CreateArray(), &oom);
    for (int k = 0; k < n->num_in; k++)
      put(in, NULL, cJSON_CreateString(g->values[n->in[k]].name), &oom);
    cJSON *ia = put(o, "ia", cJSON_CreateObject(), &oom);
    for (int k = 0; k < CLNN__G_IATTRS && n->op->iattr[k]; k++)
      put(ia, n->op->iattr[k], cJSON_CreateNumber(n->ia[k]), &oom);
    cJSON *fa = put(o, "fa", cJSON_CreateObject(), &oom);
    for (int k = 0; k < CLNN__G_FATTRS && n->op->fattr[k]; k++)
      put(fa, n->op->fattr[k], cJSON_CreateNumber((double)n->fa[k]), &oom);
    if (n->shares >= 0) put(o, "shares", cJSON_CreateString(g->nodes[n->shares].name), &oom);
    const clnn__gvalue *v = &g->values[n->out[0]];
    put(o, "dims", dims_json(v->ndim, v->dims, &oom), &oom);
  }
  cJSON *outs = put(root, "outputs", cJSON_CreateArray(), &oom);
  for (int i = 0; i < g->num_outputs; i++)
    put(outs, NULL, cJSON_CreateString(g->values[g->outputs[i]].name), &oom);
  cJSON *losses = put(root, "losses", cJSON_CreateArray(), &oom);
  for (int i = 0; i < g->num_losses && !oom; i++) {
    cJSON *o = put(losses, NULL, cJSON_CreateObject(), &oom);
    put(o, "value", cJSON_CreateString(g->values[g->losses[i].value].name), &oom);
    put(o, "weight", cJSON_CreateNumber((double)g->losses[i].weight), &oom);
  }
  free(w);
  return print_and_free(root, oom);
}

static const char *sched_name(clnn_schedule_type t) {
  return t == CLNN_SCHEDULE_STEP ? "step" : t == CLNN_SCHEDULE_COSINE ? "cosine" : "constant";
}

char *clnn__mj_opt_write(const clnn_model *m) {
  int oom = 0;
  const clnn_optimizer_config *c = &m->opt;
  cJSON *root = cJSON_CreateObject();
  put(root, "type", cJSON_CreateString(clnn__nn_opt_name(c->type)), &oom);
  put(root, "lr", cJSON_CreateNumber((double)c->lr), &oom);
  put(root, "weight_decay", cJSON_CreateNumber((double)c->weight_decay), &oom);
  put(root, "momentum", cJSON_CreateNumber((double)c->momentum), &oom);
  put(root, "dampening", cJSON_CreateNumber((double)c->dampening), &oom);
  put(root, "nesterov", cJSON_CreateNumber(c->nesterov ? 1 : 0), &oom);
  put(root, "beta1", cJSON_CreateNumber((double)c->beta1), &oom);
  put(root, "beta2", cJSON_CreateNumber((double)c->beta2), &oom);
  put(root, "alpha", cJSON_CreateNumber((double)c->alpha), &oom);
  put(root, "eps", cJSON_CreateNumber((double)c->eps), &oom);
  put(root, "clip_grad_norm", cJSON_CreateNumber((double)c->clip_grad_norm), &oom);
  cJSON *groups = put(root, "groups", cJSON_CreateArray(), &oom);
  for (int i = 0; i < m->num_groups && !oom; i++) {
    cJSON *o = put(groups, NULL, cJSON_CreateObject(), &oom);
    put(o, "prefix", cJSON_CreateString(m->groups[i].prefix), &oom);
    put(o, "lr", cJSON_CreateNumber((double)m->groups[i].lr), &oom);
    put(o, "weight_decay", cJSON_CreateNumber((double)m->groups[i].weight_decay), &oom);
  }
  cJSON *s = put(root, "schedule", cJSON_CreateObject(), &oom);
  put(s, "type", cJSON_CreateString(sched_name(m->sched.type)), &oom);
  put(s, "step_size", cJSON_CreateNumber((double)m->sched.step_size), &oom);
  put(s, "gamma", cJSON_CreateNumber((double)m->sched.gamma), &oom);
  put(s, "warmup_steps", cJSON_CreateNumber((double)m->sched.warmup_steps), &oom);
  put(s, "total_steps", cJSON_CreateNumber((double)m->sched.total_steps), &oom);
  put(s, "min_ratio", cJSON_CreateNumber((double)m->sched.min_ratio), &oom);
  cJSON *frozen = put(root, "frozen", cJSON_CreateArray(), &oom);
  for (size_t i = 0; i < m->num_params && !oom; i++) {
    const clnn__gparam *gp = &m->graph.g.params[m->params[i].gp];
    if (!gp->state && !m->params[i].trainable)
      put(frozen, NULL, cJSON_CreateString(gp->name), &oom);
  }
  return print_and_free(root, oom);
}

/* ---- reading ---- */

/* CLNN_ERROR_FORMAT "model file 'path': what: ..." */
static clnn_status ferr(const char *path, const char *what, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static clnn_status ferr(const char *path, const char *what, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return clnn__error(CLNN_ERROR_FORMAT, "model file '%s': %s: %s", path, what, msg);
}

/* An integral JSON number in [lo, hi]. */
static int get_int(const cJSON *it, double lo, double hi, double *out) {
  if (!cJSON_IsNumber(it)) return 0;
  double d = it->valuedouble;
  if (!isfinite(d) || floor(d) != d || d < lo || d > hi) return 0;
  *out = d;
  return 1;
}

/* A finite JSON number that fits a float. */
static int get_float(const cJSON *it, float *out) {
  if (!cJSON_IsNumber(it)) return 0;
  double d = it->valuedouble;
  if (!isfinite(d) || fabs(d) > FLT_MAX) return 0;
  *out = (float)d;
  return 1;
}

/* A string member that is 1..cap-1 bytes (NULL when absent or not such a string). */
static const char *get_str(const cJSON *obj, const char *key, size_t cap) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!cJSON_IsString(it) || !it->valuestring) return NULL;
  size_t n = strlen(it->valuestring);
  return (n && n < cap) ? it->valuestring : NULL;
}

static const char *dims_text(int ndim, const size_t *dims, char *buf, size_t size) {
  return clnn__dims_str_raw(ndim, dims, buf, size);
}

/* The builder's message without its "node 'n' (kind): " prefix (the caller names the node). */
static const char *builder_msg(const char *name, const char *kind) {
  const char *e = clnn_last_error();
  char pre[CLNN__G_NAME_MAX + 64];
  snprintf(pre, sizeof pre, "node '%s' (%s): ", name, kind);
  return strncmp(e, pre, strlen(pre)) == 0 ? e + strlen(pre) : e;
}

static clnn_status read_inputs(clnn_graph *gr, const cJSON *arr, const char *path) {
  if (!cJSON_IsArray(arr)) return ferr(path, "graph", "\"inputs\" is not an array");
  if (cJSON_GetArraySize(arr) > CLNN__MJ_MAX_NODES)
    return ferr(path, "graph", "more than %d inputs", CLNN__MJ_MAX_NODES);
  int i = 0;
  for (const cJSON *o = arr->child; o; o = o->next, i++) {
    const char *name = get_str(o, "name", CLNN__G_NAME_MAX);
    const char *dt = get_str(o, "dtype", 16);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "dims");
    if (!cJSON_IsObject(o) || !name || !dt || !cJSON_IsArray(d))
      return ferr(path, "graph", "input %d is not {\"name\", \"dtype\", \"dims\"}", i);
    clnn_dtype dtype;
    if (strcmp(dt, "float32") == 0)
      dtype = CLNN_FLOAT32;
    else if (strcmp(dt, "int32") == 0)
      dtype = CLNN_INT32;
    else
      return ferr(path, "graph", "input '%s' has dtype '%s' (float32 or int32)", name, dt);
    size_t dims[CLNN_MAX_DIMS];
    int nd = 0;
    for (const cJSON *x = d->child; x; x = x->next) {
      double v;
      if (nd == CLNN_MAX_DIMS - 1 || !get_int(x, 1, (double)((size_t)1 << 40), &v))
        return ferr(path, "graph", "input '%s': dims are not 0..%d integers in 1..2^40", name,
                    CLNN_MAX_DIMS - 1);
      dims[nd++] = (size_t)v;
    }
    int id;
    if (clnn_graph_input(gr, name, dtype, nd, dims, &id) != CLNN_SUCCESS)
      return ferr(path, "graph", "input '%s': %s", name, clnn_last_error());
  }
  return CLNN_SUCCESS;
}

/* Attributes {"name": number} of one node into ia or fa, by the op table's names. */
static clnn_status read_attrs(const cJSON *obj, const char *const *names, int cap, int *ia,
                              float *fa, const char *node, const char *kind, const char *path) {
  if (!obj) return CLNN_SUCCESS; /* absent: every attribute 0 */
  const char *key = ia ? "ia" : "fa";
  if (!cJSON_IsObject(obj))
    return ferr(path, "graph", "node '%s' (%s): \"%s\" is not an object", node, kind, key);
  unsigned seen = 0;
  for (const cJSON *a = obj->child; a; a = a->next) {
    int k = 0;
    while (k < cap && names[k] && strcmp(names[k], a->string ? a->string : "") != 0) k++;
    if (k == cap || !names[k])
      return ferr(path, "graph", "node '%s' (%s) has no %s attribute '%s'", node, kind,
                  ia ? "integer" : "float", a->string ? a->string : "");
    if (seen & (1u << k))
      return ferr(path, "graph", "node '%s' (%s): attribute '%s' is given twice", node, kind,
                  names[k]);
    seen |= 1u << k;
    double v;
    if (ia ? !get_int(a, (double)INT_MIN, (double)INT_MAX, &v) : !get_float(a, &fa[k]))
      return ferr(path, "graph", "node '%s' (%s): attribute '%s' is not %s", node, kind, names[k],
                  ia ? "an int" : "a finite float");
    if (ia) ia[k] = (int)v;
  }
  return CLNN_SUCCESS;
}

static clnn_status read_node(clnn_graph *gr, const cJSON *o, int idx, const char *path) {
  clnn__graph *g = &gr->g;
  const char *name = get_str(o, "name", CLNN__G_NAME_MAX);
  const char *kind = get_str(o, "kind", 64);
  const cJSON *ins = cJSON_GetObjectItemCaseSensitive(o, "inputs");
  if (!cJSON_IsObject(o) || !name || !kind || !cJSON_IsArray(ins))
    return ferr(path, "graph", "node %d is not {\"name\", \"kind\", \"inputs\", ...}", idx);
  const clnn__op *op = clnn__op_find(kind);
  if (!op) return ferr(path, "graph", "node '%s' has an unknown op kind '%s'", name, kind);
  int in[CLNN__G_MAX_IN], nin = 0;
  for (const cJSON *x = ins->child; x; x = x->next) {
    if (nin == CLNN__G_MAX_IN || !cJSON_IsString(x) || !x->valuestring)
      return ferr(path, "graph", "node '%s' (%s): \"inputs\" is not 1..%d value names", name, kind,
                  CLNN__G_MAX_IN);
    int v = clnn__g_find_value(g, x->valuestring);
    if (v < 0)
      return ferr(path, "graph", "node '%s' (%s): input '%.80s' is not a value defined before it",
                  name, kind, x->valuestring);
    in[nin++] = v;
  }
  int ia[CLNN__G_IATTRS] = {0};
  float fa[CLNN__G_FATTRS] = {0};
  clnn_status st = read_attrs(cJSON_GetObjectItemCaseSensitive(o, "ia"), op->iattr, CLNN__G_IATTRS,
                              ia, NULL, name, kind, path);
  if (st == CLNN_SUCCESS)
    st = read_attrs(cJSON_GetObjectItemCaseSensitive(o, "fa"), op->fattr, CLNN__G_FATTRS, NULL, fa,
                    name, kind, path);
  if (st != CLNN_SUCCESS) return st;
  int shares = -1;
  const cJSON *sh = cJSON_GetObjectItemCaseSensitive(o, "shares");
  if (sh) {
    if (!cJSON_IsString(sh) || !sh->valuestring ||
        (shares = clnn__g_find_node(g, sh->valuestring)) < 0)
      return ferr(path, "graph",
                  "node '%s' (%s) shares the parameters of '%.80s', which is not a "
                  "node defined before it",
                  name, kind, cJSON_IsString(sh) && sh->valuestring ? sh->valuestring : "?");
    /* what clnn_graph_apply makes: the same op and attributes as a one-input, one-output node
     * that owns its parameters */
    const clnn__gnode *s = &g->nodes[shares];
    if (s->op != op || s->shares >= 0 || s->num_in != 1 || s->num_out != 1 || nin != 1 ||
        op == &clnn__op_loss || memcmp(s->ia, ia, sizeof ia) != 0 ||
        memcmp(s->fa, fa, sizeof fa) != 0)
      return ferr(path, "graph",
                  "node '%s' (%s) cannot share the parameters of '%s' (%s): "
                  "sharing needs the same kind and attributes, one input and a node that owns "
                  "its parameters",
                  name, kind, s->name, s->op->kind);
  }
  st = clnn__g_add_node(g, op, name, nin, in, ia, fa, shares, NULL, "model file");
  if (st != CLNN_SUCCESS)
    return ferr(path, "graph", "node '%s' (%s): %s", name, kind, builder_msg(name, kind));
  /* the output shape the file states (if it does) must be the one inferred */
  const cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "dims");
  if (d) {
    const clnn__gvalue *v = &g->values[g->nodes[g->num_nodes - 1].out[0]];
    size_t dims[CLNN_MAX_DIMS];
    int nd = 0, same = cJSON_IsArray(d);
    for (const cJSON *x = same ? d->child : NULL; x && same; x = x->next) {
      double e;
      same = nd < CLNN_MAX_DIMS && get_int(x, 0, MAX_EXACT, &e);
      if (same) dims[nd++] = (size_t)e;
    }
    same = same && nd == v->ndim && memcmp(dims, v->dims, sizeof(size_t) * (size_t)nd) == 0;
    if (!same) {
      char a[96], b[96];
      return ferr(path, "graph",
                  "node '%s' (%s): the file gives its output shape as %s but its "
                  "inputs make it %s",
                  name, kind,
                  cJSON_IsArray(d) && nd <= CLNN_MAX_DIMS ? dims_text(nd, dims, a, sizeof a)
                                                          : "(not a shape)",
                  dims_text(v->ndim, v->dims, b, sizeof b));
    }
  }
  return CLNN_SUCCESS;
}

static clnn_status read_outputs(clnn_graph *gr, const cJSON *outs, const cJSON *losses,
                                const char *path) {
  clnn__graph *g = &gr->g;
  if (outs && !cJSON_IsArray(outs)) return ferr(path, "graph", "\"outputs\" is not an array");
  for (const cJSON *x = outs ? outs->child : NULL; x; x = x->next) {
    int v = cJSON_IsString(x) && x->valuestring ? clnn__g_find_value(g, x->valuestring) : -1;
    if (v < 0)
      return ferr(path, "graph", "output '%.80s' is not a value of the graph",
                  cJSON_IsString(x) && x->valuestring ? x->valuestring : "?");
    for (int i = 0; i < g->num_outputs; i++)
      if (g->outputs[i] == v)
        return ferr(path, "graph", "output '%s' is listed twice", x->valuestring);
    if (clnn_graph_output(gr, v) != CLNN_SUCCESS)
      return ferr(path, "graph", "output '%s': %s", x->valuestring, clnn_last_error());
  }
  if (losses && !cJSON_IsArray(losses)) return ferr(path, "graph", "\"losses\" is not an array");
  for (const cJSON *o = losses ? losses->child : NULL; o; o = o->next) {
    const char *name = get_str(o, "value", CLNN__G_NAME_MAX);
    float w;
    if (!name || !get_float(cJSON_GetObjectItemCaseSensitive(o, "weight"), &w))
      return ferr(path, "graph", "a loss is not {\"value\": name, \"weight\": number}");
    int v = clnn__g_find_value(g, name);
    if (v < 0) return ferr(path, "graph", "loss '%s' is not a value of the graph", name);
    for (int i = 0; i < g->num_losses; i++)
      if (g->losses[i].value == v) return ferr(path, "graph", "loss '%s' is listed twice", name);
    if (clnn_graph_add_loss(gr, v, w) != CLNN_SUCCESS)
      return ferr(path, "graph", "loss '%s': %s", name, clnn_last_error());
  }
  return CLNN_SUCCESS;
}

clnn_status clnn__mj_graph_read(const char *json, const char *path, clnn_graph **out) {
  *out = NULL;
  clnn_status st;
  cJSON *root = clnn__ms_parse(json, strlen(json), path, "graph", &st);
  if (!root) return st;
  clnn_graph *gr = NULL;
  double ver;
  const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(root, "nodes");
  if (!cJSON_IsObject(root)) {
    st = ferr(path, "graph", "not a JSON object");
  } else if (!get_int(cJSON_GetObjectItemCaseSensitive(root, "version"), 0, INT_MAX, &ver) ||
             ver != CLNN__MJ_VERSION) {
    st = ferr(path, "graph",
              "no \"version\" %d (this clnn reads version %d graphs; a newer clnn "
              "wrote it?)",
              CLNN__MJ_VERSION, CLNN__MJ_VERSION);
  } else if (!cJSON_IsArray(nodes) || cJSON_GetArraySize(nodes) > CLNN__MJ_MAX_NODES) {
    st = ferr(path, "graph", "\"nodes\" is not an array of at most %d nodes", CLNN__MJ_MAX_NODES);
  } else if (clnn_graph_create(&gr) != CLNN_SUCCESS) {
    st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "model file '%s': out of memory", path);
  }
  if (st == CLNN_SUCCESS)
    st = read_inputs(gr, cJSON_GetObjectItemCaseSensitive(root, "inputs"), path);
  int i = 0;
  for (const cJSON *o = st == CLNN_SUCCESS ? nodes->child : NULL; o && st == CLNN_SUCCESS;
       o = o->next, i++)
    st = read_node(gr, o, i, path);
  if (st == CLNN_SUCCESS)
    st = read_outputs(gr, cJSON_GetObjectItemCaseSensitive(root, "outputs"),
                      cJSON_GetObjectItemCaseSensitive(root, "losses"), path);
  cJSON_Delete(root);
  if (st != CLNN_SUCCESS) {
    if (st != CLNN_ERROR_OUT_OF_MEMORY) st = CLNN_ERROR_FORMAT;
    clnn_graph_destroy(gr);
    return st;
  }
  *out = gr;
  return CLNN_SUCCESS;
}

/* ---- optimizer settings ---- */

int clnn__mj_opt_type(const char *name) {
  for (int t = CLNN_OPTIM_SGD; t <= CLNN_OPTIM_ADAGRAD; t++)
    if (strcmp(clnn__nn_opt_name((clnn_optimizer_type)t), name) == 0) return t;
  return -1;
}

void clnn__mj_opt_free(clnn__mj_opt *o) {
  free(o->groups);
  free(o->frozen);
  o->groups = NULL;
  o->frozen = NULL;
  o->num_groups = o->num_frozen = 0;
}

/* Optional float member: absent keeps *v. */
static int opt_float(const cJSON *obj, const char *key, float *v) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
  return !it || get_float(it, v);
}

static int opt_count(const cJSON *obj, const char *key, uint64_t *v) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
  double d;
  if (!it) return 1;
  if (!get_int(it, 0, MAX_EXACT, &d)) return 0;
  *v = (uint64_t)d;
  return 1;
}

clnn_status clnn__mj_opt_read(const char *json, const char *path, clnn__mj_opt *o) {
  memset(o, 0, sizeof(*o));
  clnn_status st;
  cJSON *root = clnn__ms_parse(json, strlen(json), path, "optimizer settings", &st);
  if (!root) return st;
  const char *tn = get_str(root, "type", 32);
  int type = tn ? clnn__mj_opt_type(tn) : -1;
  float lr = 0;
  if (!cJSON_IsObject(root) || type < 0 ||
      !get_float(cJSON_GetObjectItemCaseSensitive(root, "lr"), &lr)) {
    st = ferr(path, "optimizer settings", "no known \"type\" or no \"lr\"");
    goto done;
  }
  clnn_optimizer_config_init(&o->cfg, (clnn_optimizer_type)type, lr > 0 ? lr : 1e-3f);
  o->cfg.lr = lr;
  double nest = o->cfg.nesterov;
  const cJSON *jn = cJSON_GetObjectItemCaseSensitive(root, "nesterov");
  if (!opt_float(root, "weight_decay", &o->cfg.weight_decay) ||
      !opt_float(root, "momentum", &o->cfg.momentum) ||
      !opt_float(root, "dampening", &o->cfg.dampening) ||
      !opt_float(root, "beta1", &o->cfg.beta1) || !opt_float(root, "beta2", &o->cfg.beta2) ||
      !opt_float(root, "alpha", &o->cfg.alpha) || !opt_float(root, "eps", &o->cfg.eps) ||
      !opt_float(root, "clip_grad_norm", &o->cfg.clip_grad_norm) ||
      (jn && !get_int(jn, 0, 1, &nest))) {
    st = ferr(path, "optimizer settings", "a setting is not a finite number");
    goto done;
  }
  o->cfg.nesterov = (int)nest;
  const cJSON *groups = cJSON_GetObjectItemCaseSensitive(root, "groups");
  if (groups) {
    int n = cJSON_IsArray(groups) ? cJSON_GetArraySize(groups) : -1;
    if (n < 0 || n > CLNN__MJ_MAX_NODES) {
      st = ferr(path, "optimizer settings", "\"groups\" is not an array of at most %d groups",
                CLNN__MJ_MAX_NODES);
      goto done;
    }
    o->groups = calloc(n ? (size_t)n : 1, sizeof(*o->groups));
    if (!o->groups) {
      st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "model file '%s': out of memory", path);
      goto done;
    }
    for (const cJSON *x = groups->child; x; x = x->next) {
      clnn__mgroup *gp = &o->groups[o->num_groups];
      const cJSON *p = cJSON_GetObjectItemCaseSensitive(x, "prefix");
      if (!cJSON_IsString(p) || !p->valuestring || strlen(p->valuestring) >= sizeof gp->prefix ||
          !get_float(cJSON_GetObjectItemCaseSensitive(x, "lr"), &gp->lr) ||
          !get_float(cJSON_GetObjectItemCaseSensitive(x, "weight_decay"), &gp->weight_decay)) {
        st = ferr(path, "optimizer settings",
                  "group %d is not {\"prefix\", \"lr\", "
                  "\"weight_decay\"}",
                  o->num_groups);
        goto done;
      }
      snprintf(gp->prefix, sizeof gp->prefix, "%s", p->valuestring);
      o->num_groups++;
    }
  }
  const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "schedule");
  clnn_schedule_init(&o->sched);
  if (s) {
    const char *sn = get_str(s, "type", 16);
    int t = !sn                           ? -1
            : strcmp(sn, "constant") == 0 ? 0
            : strcmp(sn, "step") == 0     ? 1
            : strcmp(sn, "cosine") == 0   ? 2
                                          : -1;
    if (t < 0 || !opt_count(s, "step_size", &o->sched.step_size) ||
        !opt_float(s, "gamma", &o->sched.gamma) ||
        !opt_count(s, "warmup_steps", &o->sched.warmup_steps) ||
        !opt_count(s, "total_steps", &o->sched.total_steps) ||
        !opt_float(s, "min_ratio", &o->sched.min_ratio)) {
      st = ferr(path, "optimizer settings", "\"schedule\" is not a known schedule");
      goto done;
    }
    o->sched.type = (clnn_schedule_type)t;
  }
  const cJSON *fr = cJSON_GetObjectItemCaseSensitive(root, "frozen");
  if (fr) {
    int n = cJSON_IsArray(fr) ? cJSON_GetArraySize(fr) : -1;
    if (n < 0 || n > 4 * CLNN__MJ_MAX_NODES) {
      st = ferr(path, "optimizer settings", "\"frozen\" is not an array of parameter names");
      goto done;
    }
    o->frozen = calloc(n ? (size_t)n : 1, sizeof(*o->frozen));
    if (!o->frozen) {
      st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "model file '%s': out of memory", path);
      goto done;
    }
    for (const cJSON *x = fr->child; x; x = x->next) {
      if (!cJSON_IsString(x) || !x->valuestring || !x->valuestring[0] ||
          strlen(x->valuestring) >= CLNN__G_PNAME_MAX) {
        st = ferr(path, "optimizer settings", "\"frozen\" is not an array of parameter names");
        goto done;
      }
      snprintf(o->frozen[o->num_frozen++], CLNN__G_PNAME_MAX, "%s", x->valuestring);
    }
  }
done:
  cJSON_Delete(root);
  if (st != CLNN_SUCCESS) clnn__mj_opt_free(o);
  return st;
}

static int is_frozen(const clnn__mj_opt *o, const char *name) {
  for (int i = 0; i < o->num_frozen; i++)
    if (strcmp(o->frozen[i], name) == 0) return 1;
  return 0;
}

clnn_status clnn__mj_opt_apply(clnn_model *m, const clnn__mj_opt *o, const char *path) {
  const char *what = "optimizer settings";
  if (clnn_model_set_optimizer(m, &o->cfg) != CLNN_SUCCESS)
    return ferr(path, what, "%s", clnn_last_error());
  for (int i = 0; i < o->num_frozen; i++)
    if (!clnn__m_find_param(m, o->frozen[i]))
      return ferr(path, what, "frozen parameter '%s' is not a parameter of the model",
                  o->frozen[i]);
  /* set_trainable works on prefixes: going from short names to long ones, the last call that
   * reaches a parameter is the one with its own name */
  size_t done_len = 0;
  for (int pass = 0; pass < 2 * CLNN__G_PNAME_MAX && o->num_frozen; pass++) {
    size_t next_len = (size_t)-1;
    for (size_t i = 0; i < m->num_params; i++) {
      const clnn__gparam *gp = &m->graph.g.params[m->params[i].gp];
      size_t len = strlen(gp->name);
      if (gp->state || len < done_len) continue;
      if (len > done_len) {
        if (len < next_len) next_len = len;
        continue;
      }
      int want = !is_frozen(o, gp->name);
      if (m->params[i].trainable != want &&
          clnn_model_set_trainable(m, gp->name, want, NULL) != CLNN_SUCCESS)
        return ferr(path, what, "%s", clnn_last_error());
    }
    if (next_len == (size_t)-1) break;
    done_len = next_len;
  }
  for (int i = 0; i < o->num_groups; i++)
    if (clnn_model_set_param_group(m, o->groups[i].prefix, o->groups[i].lr,
                                   o->groups[i].weight_decay) != CLNN_SUCCESS)
      return ferr(path, what, "group '%s': %s", o->groups[i].prefix, clnn_last_error());
  if (o->sched.type != CLNN_SCHEDULE_CONSTANT &&
      clnn_model_set_schedule(m, &o->sched) != CLNN_SUCCESS)
    return ferr(path, what, "schedule: %s", clnn_last_error());
  return CLNN_SUCCESS;
}
