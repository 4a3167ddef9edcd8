/* src/nn/onnx_import.c — reads .onnx files (protobuf-c, onnx.pb-c.c generated at build time from
 * onnx.proto) into a clnn graph and, for clnn_model_load_onnx, a model whose parameters are the
 * file's initializers. Every ONNX value is a clnn value with the batch as its first axis (ONNX
 * dims [N, d1, ...] are clnn's per-sample [d1, ...]); initializers and Constant outputs are
 * constants that ops take as parameters (weights, biases, statistics) or attributes (shapes,
 * axes). The node mappings live in onnx_ops.c. Memory is bounded by the file size: protobuf-c
 * allocates through a counting allocator with a budget proportional to it, nesting is checked
 * before decoding, decoded tensors, the parameters queued from them and constants folded at import
 * come out of a budget of three times that size. */
#include "nn/onnx.h"

#include <errno.h>
#include <limits.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OX_MAX_FILE ((size_t)2 << 30) /* protobuf's own limit */
#define OX_MAX_DEPTH 64               /* nested messages the reader accepts */

/* ---- errors ---- */

static const char *node_name(const clnn__ox *o) {
  return o->node && o->node->name && o->node->name[0] ? o->node->name : "(unnamed)";
}

static clnn_status ox_verror(clnn__ox *o, clnn_status st, const char *fmt, va_list ap) {
  char msg[1024];
  vsnprintf(msg, sizeof msg, fmt, ap);
  if (o->node)
    return clnn__error(st, "ONNX file '%s': node %d '%.80s' (%.40s): %s", o->path, o->node_index,
                       node_name(o), o->node->op_type ? o->node->op_type : "?", msg);
  return clnn__error(st, "ONNX file '%s': %s", o->path, msg);
}

clnn_status clnn__ox_unsupported(clnn__ox *o, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  clnn_status st = ox_verror(o, CLNN_ERROR_UNSUPPORTED, fmt, ap);
  va_end(ap);
  return st;
}

clnn_status clnn__ox_format(clnn__ox *o, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  clnn_status st = ox_verror(o, CLNN_ERROR_FORMAT, fmt, ap);
  va_end(ap);
  return st;
}

static clnn_status ox_oom(clnn__ox *o) {
  return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "ONNX file '%s': out of memory", o->path);
}

clnn_status clnn__ox_builder(clnn__ox *o, clnn_status st) {
  if (st == CLNN_SUCCESS || st == CLNN_ERROR_OUT_OF_MEMORY) return st;
  char msg[768];
  snprintf(msg, sizeof msg, "%s", clnn_last_error());
  /* shapes that do not fit are a malformed file; arguments clnn refuses are its limits */
  if (st == CLNN_ERROR_SHAPE_MISMATCH) return clnn__ox_format(o, "%s", msg);
  return clnn__ox_unsupported(o, "%s", msg);
}

/* ---- a counting allocator for protobuf-c ---- */

typedef struct ox_arena {
  size_t used, cap;
} ox_arena;

typedef union ox_hdr {
  size_t n;
  max_align_t align;
} ox_hdr;

static void *ox_alloc(void *ud, size_t n) {
  ox_arena *a = ud;
  if (n > a->cap - a->used || n > SIZE_MAX - sizeof(ox_hdr)) return NULL;
  ox_hdr *h = malloc(sizeof(ox_hdr) + n);
  if (!h) return NULL;
  h->n = n;
  a->used += n;
  return h + 1;
}

static void ox_free(void *ud, void *p) {
  if (!p) return;
  ox_arena *a = ud;
  ox_hdr *h = (ox_hdr *)p - 1;
  a->used -= h->n;
  free(h);
}

/* ---- nesting check: protobuf-c recurses once per nested message; any length-delimited field
 * that parses as a message counts as one ---- */

static int varint(const unsigned char **p, const unsigned char *end, uint64_t *v) {
  uint64_t r = 0;
  for (int s = 0; s < 64 && *p < end; s += 7) {
    unsigned char b = *(*p)++;
    r |= (uint64_t)(b & 0x7f) << s;
    if (!(b & 0x80)) {
      *v = r;
      return 1;
    }
  }
  return 0;
}

/* 1 if [p, end) is a well-formed message (fields only); *depth gets its nesting. -1: too deep. */
static int msg_depth(const unsigned char *p, const unsigned char *end, int level, int *depth) {
  if (level > OX_MAX_DEPTH) return -1;
  int deepest = level;
  while (p < end) {
    uint64_t key, len;
    if (!varint(&p, end, &key) || (key >> 3) == 0) return 0;
    switch (key & 7) {
      case 0:
        if (!varint(&p, end, &len)) return 0;
        break;
      case 1:
        if (end - p < 8) return 0;
        p += 8;
        break;
      case 5:
        if (end - p < 4) return 0;
        p += 4;
        break;
      case 2: {
        if (!varint(&p, end, &len) || len > (uint64_t)(end - p)) return 0;
        int d = level;
        /* only bodies that could hold a message field; raw tensor data rarely parse */
        if (len >= 2) {
          int r = msg_depth(p, p + len, level + 1, &d);
          if (r < 0) return -1;
          if (r == 0) d = level;
        }
        if (d > deepest) deepest = d;
        p += len;
        break;
      }
      default:
        return 0;
    }
  }
  *depth = deepest;
  return 1;
}

/* ---- the symbol table ---- */

clnn__ox_sym *clnn__ox_find(clnn__ox *o, const char *name) {
  if (!name || !name[0]) return NULL;
  for (int i = o->nsyms - 1; i >= 0; i--)
    if (strcmp(o->syms[i].name, name) == 0) return &o->syms[i];
  return NULL;
}

static clnn__ox_sym *new_sym(clnn__ox *o, const char *name) {
  if (o->nsyms == o->cap_syms) {
    int cap = o->cap_syms ? 2 * o->cap_syms : 64;
    clnn__ox_sym *s = realloc(o->syms, (size_t)cap * sizeof(*s));
    if (!s) return NULL;
    o->syms = s;
    o->cap_syms = cap;
  }
  clnn__ox_sym *s = &o->syms[o->nsyms++];
  memset(s, 0, sizeof(*s));
  s->name = name;
  return s;
}

clnn_status clnn__ox_bind_layout(clnn__ox *o, const char *name, int value, int layout) {
  if (!name || !name[0]) return CLNN_SUCCESS; /* an unused optional output */
  if (clnn__ox_find(o, name)) return clnn__ox_format(o, "value '%.80s' is defined twice", name);
  clnn__ox_sym *s = new_sym(o, name);
  if (!s) return ox_oom(o);
  s->value = value;
  s->layout = layout;
  return CLNN_SUCCESS;
}

clnn_status clnn__ox_bind_value(clnn__ox *o, const char *name, int value) {
  return clnn__ox_bind_layout(o, name, value, CLNN__OX_BATCH_FIRST);
}

clnn_status clnn__ox_bind_const(clnn__ox *o, const char *name, int ndim, const int64_t *dims,
                                float *f, int64_t *i) {
  clnn__ox_sym *s = NULL;
  if (!name || !name[0] || clnn__ox_find(o, name) || ndim > CLNN__OX_MAX_RANK ||
      !(s = new_sym(o, name))) {
    free(f);
    free(i);
    if (s == NULL && name && name[0] && !clnn__ox_find(o, name) && ndim <= CLNN__OX_MAX_RANK)
      return ox_oom(o);
    return clnn__ox_format(o, "constant '%.80s' is unnamed, defined twice or of rank > %d",
                           name ? name : "", CLNN__OX_MAX_RANK);
  }
  s->is_const = 1;
  s->ndim = ndim;
  s->numel = 1;
  for (int k = 0; k < ndim; k++) {
    s->dims[k] = dims[k];
    s->numel *= (size_t)dims[k];
  }
  s->f = f;
  s->i = i;
  return CLNN_SUCCESS;
}

static void free_syms(clnn__ox *o) {
  for (int k = 0; k < o->nsyms; k++) {
    free(o->syms[k].f);
    free(o->syms[k].i);
  }
  free(o->syms);
  for (int k = 0; k < o->nloads; k++) free(o->loads[k].data);
  free(o->loads);
  free(o->skip);
  free(o->live);
}

void *clnn__ox_budget_alloc(clnn__ox *o, size_t n) {
  if (n > o->budget) return NULL;
  void *p = malloc(n ? n : 1);
  if (p) o->budget -= n;
  return p;
}

clnn_status clnn__ox_load_param(clnn__ox *o, const char *node, const char *role,
                                const float *data, size_t count) {
  if (o->nloads == o->cap_loads) {
    int cap = o->cap_loads ? 2 * o->cap_loads : 64;
    clnn__ox_load *l = realloc(o->loads, (size_t)cap * sizeof(*l));
    if (!l) return ox_oom(o);
    o->loads = l;
    o->cap_loads = cap;
  }
  float *d = clnn__ox_budget_alloc(o, count * sizeof(float));
  if (!d) return clnn__ox_format(o, "more tensor data than the file holds");
  if (count) memcpy(d, data, count * sizeof(float));
  clnn__ox_load *l = &o->loads[o->nloads++];
  snprintf(l->name, sizeof l->name, "%s.%s", node, role);
  l->data = d;
  l->count = count;
  return CLNN_SUCCESS;
}

/* ---- tensors ---- */

static int get_le(const uint8_t *p, int bytes, uint64_t *v) {
  uint64_t r = 0;
  for (int k = bytes - 1; k >= 0; k--) r = (r << 8) | p[k];
  *v = r;
  return 1;
}

clnn_status clnn__ox_tensor(clnn__ox *o, const Onnx__TensorProto *t, const char *what,
                            clnn__ox_sym *out) {
  const char *nm = t->name ? t->name : "";
  if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
    return clnn__ox_unsupported(o, "%s '%.80s' keeps its data in an external file; clnn reads "
                                   "tensors stored in the .onnx file only", what, nm);
  if (t->segment) return clnn__ox_unsupported(o, "%s '%.80s' is segmented", what, nm);
  if (t->n_dims > CLNN__OX_MAX_RANK)
    return clnn__ox_unsupported(o, "%s '%.80s' has rank %zu (at most %d)", what, nm, t->n_dims,
                                CLNN__OX_MAX_RANK);
  size_t numel = 1;
  out->ndim = (int)t->n_dims;
  for (size_t k = 0; k < t->n_dims; k++) {
    if (t->dims[k] < 0 || t->dims[k] > ((int64_t)1 << 40))
      return clnn__ox_format(o, "%s '%.80s': dimension %zu is %lld", what, nm, k,
                             (long long)t->dims[k]);
    out->dims[k] = t->dims[k];
    int ok = 1;
    numel = clnn__mul_size(numel, (size_t)t->dims[k], &ok);
    if (!ok || numel > ((size_t)1 << 40))
      return clnn__ox_format(o, "%s '%.80s' has too many elements", what, nm);
  }
  out->numel = numel;
  int dt = t->has_data_type ? t->data_type : 0, bytes, is_float;
  switch (dt) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: bytes = 4; is_float = 1; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: bytes = 8; is_float = 1; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: bytes = 8; is_float = 0; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: bytes = 4; is_float = 0; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8: bytes = 1; is_float = 0; break;
    default:
      return clnn__ox_unsupported(o, "%s '%.80s' has ONNX data type %d (clnn takes float, double, "
                                     "int64, int32, int8, uint8 and bool tensors)", what, nm, dt);
  }
  size_t have;
  if (t->has_raw_data)
    have = t->raw_data.len / (size_t)bytes;
  else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
    have = t->n_float_data;
  else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE)
    have = t->n_double_data;
  else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT64)
    have = t->n_int64_data;
  else
    have = t->n_int32_data;
  if (have != numel || (t->has_raw_data && t->raw_data.len != numel * (size_t)bytes))
    return clnn__ox_format(o, "%s '%.80s' has %zu elements of data for %zu", what, nm, have,
                           numel);
  size_t esz = is_float ? sizeof(float) : sizeof(int64_t);
  void *buf = clnn__ox_budget_alloc(o, numel * esz);
  if (!buf) return clnn__ox_format(o, "%s '%.80s': more tensor data than the file holds", what, nm);
  float *f = is_float ? buf : NULL;
  int64_t *iv = is_float ? NULL : buf;
  for (size_t k = 0; k < numel; k++) {
    if (t->has_raw_data) {
      uint64_t u;
      get_le(t->raw_data.data + k * (size_t)bytes, bytes, &u);
      if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
        uint32_t u32 = (uint32_t)u;
        memcpy(&f[k], &u32, 4);
      } else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE) {
        double d;
        memcpy(&d, &u, 8);
        f[k] = (float)d;
      } else if (bytes == 8) {
        iv[k] = (int64_t)u;
      } else if (bytes == 4) {
        iv[k] = (int32_t)(uint32_t)u;
      } else {
        iv[k] = dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT8 ? (int8_t)(uint8_t)u : (int64_t)u;
      }
    } else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
      f[k] = t->float_data[k];
    } else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE) {
      f[k] = (float)t->double_data[k];
    } else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT64) {
      iv[k] = t->int64_data[k];
    } else {
      iv[k] = t->int32_data[k];
    }
  }
  out->f = f;
  out->i = iv;
  return CLNN_SUCCESS;
}

/* ---- names ---- */

static int name_free(const clnn__graph *g, const char *name) {
  return clnn__g_find_node(g, name) < 0 && clnn__g_find_value(g, name) < 0;
}

void clnn__ox_node_name(clnn__ox *o, const char *hint, char name[CLNN__G_NAME_MAX]) {
  char base[CLNN__G_NAME_MAX - 8];
  size_t n = 0;
  for (const char *p = hint ? hint : ""; *p && n + 1 < sizeof base; p++) {
    char c = *p;
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '-' || c == '.';
    if (!ok && !n) continue; /* "/layer1/conv/Conv" -> "layer1_conv_Conv" */
    base[n++] = ok ? c : '_';
  }
  base[n] = 0;
  if (!n) snprintf(base, sizeof base, "node");
  const clnn__graph *g = &o->gr->g;
  snprintf(name, CLNN__G_NAME_MAX, "%s", base);
  for (int k = 2; !name_free(g, name); k++) snprintf(name, CLNN__G_NAME_MAX, "%s_%d", base, k);
}

/* ---- the model ---- */

static clnn_status read_inputs(clnn__ox *o) {
  const Onnx__GraphProto *gp = o->graph;
  for (size_t k = 0; k < gp->n_input; k++) {
    const Onnx__ValueInfoProto *vi = gp->input[k];
    const char *nm = vi->name;
    if (!nm || !nm[0]) return clnn__ox_format(o, "graph input %zu has no name", k);
    clnn__ox_sym *s = clnn__ox_find(o, nm);
    if (s && s->is_const) continue; /* an initializer listed as an input (IR < 4) */
    if (s) return clnn__ox_format(o, "graph input '%.80s' is listed twice", nm);
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
      return clnn__ox_unsupported(o, "graph input '%.80s' is not a tensor", nm);
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    int et = tt->has_elem_type ? tt->elem_type : 0;
    /* integer inputs (token ids for Gather) are clnn's host int32 inputs */
    int is_int = et == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 ||
                 et == ONNX__TENSOR_PROTO__DATA_TYPE__INT32;
    if (et != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && !is_int)
      return clnn__ox_unsupported(o, "graph input '%.80s' has ONNX data type %d; clnn's inputs "
                                     "are float (1), or int64 (7) / int32 (6) ids fed as int32",
                                  nm, et);
    const Onnx__TensorShapeProto *sh = tt->shape;
    int rank = sh ? (int)sh->n_dim : -1;
    if (rank < 2 - is_int || rank > CLNN_MAX_DIMS)
      return clnn__ox_unsupported(o, "graph input '%.80s' has rank %d; clnn takes inputs [N, ...] "
                                     "of rank %d..%d (the first axis is the batch)", nm, rank,
                                  2 - is_int, CLNN_MAX_DIMS);
    size_t dims[CLNN_MAX_DIMS];
    for (int d = 0; d < rank; d++) {
      const Onnx__TensorShapeProto__Dimension *dm = sh->dim[d];
      int known = dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
      if (d == 0) {
        if (known && dm->dim_value > 0 && !o->batch) o->batch = dm->dim_value;
        continue;
      }
      if (!known || dm->dim_value < 1 || dm->dim_value > ((int64_t)1 << 40))
        return clnn__ox_unsupported(o, "graph input '%.80s': dimension %d is not a fixed size "
                                       "(clnn needs every dimension but the batch)", nm, d);
      dims[d - 1] = (size_t)dm->dim_value;
    }
    char cname[CLNN__G_NAME_MAX];
    clnn__ox_node_name(o, nm, cname);
    int v;
    clnn_status st = clnn_graph_input(o->gr, cname, is_int ? CLNN_INT32 : CLNN_FLOAT32, rank - 1,
                                      dims, &v);
    if (st == CLNN_SUCCESS) st = clnn__ox_bind_value(o, nm, v);
    if (st != CLNN_SUCCESS) return clnn__ox_builder(o, st);
  }
  if (clnn_graph_num_inputs(o->gr) == 0) return clnn__ox_unsupported(o, "the graph has no inputs");
  return CLNN_SUCCESS;
}

/* A set of value names (open addressing; the names point into the decoded message). */
typedef struct name_set {
  const char **slot;
  size_t mask;
} name_set;

static size_t name_hash(const char *s) {
  size_t h = 1469598103934665603ULL & SIZE_MAX;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * (size_t)1099511628211ULL;
  return h;
}

static void set_add(name_set *ns, const char *name) {
  size_t i = name_hash(name) & ns->mask;
  while (ns->slot[i] && strcmp(ns->slot[i], name)) i = (i + 1) & ns->mask;
  ns->slot[i] = name;
}

static int set_has(const name_set *ns, const char *name) {
  size_t i = name_hash(name) & ns->mask;
  for (; ns->slot[i]; i = (i + 1) & ns->mask)
    if (!strcmp(ns->slot[i], name)) return 1;
  return 0;
}

/* Marks the nodes that the graph outputs need (o->live); the others are skipped, so shape
 * arithmetic that only feeds an LSTM's zero initial state (PyTorch's export builds it from
 * Shape of the input) and unused outputs cost nothing. */
static clnn_status mark_live(clnn__ox *o) {
  const Onnx__GraphProto *gp = o->graph;
  size_t nn = gp->n_node, names = gp->n_output + 1, size = 16;
  for (size_t k = 0; k < nn; k++) names += gp->node[k]->n_input;
  while (size < 2 * names) size *= 2;
  o->live = calloc(nn ? nn : 1, 1);
  name_set need = {calloc(size, sizeof(const char *)), size - 1};
  if (!o->live || !need.slot) {
    free(need.slot);
    return ox_oom(o);
  }
  for (size_t k = 0; k < gp->n_output; k++)
    if (gp->output[k]->name) set_add(&need, gp->output[k]->name);
  /* a node is live when one of its outputs is needed; its inputs are then needed (a zero
   * initial state of an LSTM or GRU is not: the mapping checks it from the producer's
   * attributes) */
  for (size_t k = nn; k-- > 0;) {
    const Onnx__NodeProto *nd = gp->node[k];
    for (size_t i = 0; i < nd->n_output && !o->live[k]; i++)
      o->live[k] = nd->output[i] && nd->output[i][0] && set_has(&need, nd->output[i]);
    if (!o->live[k]) continue;
    /* the last zero-state input: initial_h 5 and initial_c 6 of an LSTM, initial_h 5 of a GRU */
    const size_t last_state = !strcmp(nd->op_type, "LSTM")  ? 6
                              : !strcmp(nd->op_type, "GRU") ? 5
                                                            : 0;
    for (size_t i = 0; i < nd->n_input; i++) {
      if (!nd->input[i] || !nd->input[i][0]) continue;
      if (i >= 5 && i <= last_state && clnn__ox_is_zeros(o, nd->input[i])) continue;
      set_add(&need, nd->input[i]);
    }
  }
  free(need.slot);
  for (size_t k = 0; k < nn; k++) o->skip[k] = !o->live[k];
  return CLNN_SUCCESS;
}

static clnn_status build(clnn__ox *o, const Onnx__ModelProto *mp) {
  o->opset = -1;
  for (size_t k = 0; k < mp->n_opset_import; k++) {
    const Onnx__OperatorSetIdProto *os = mp->opset_import[k];
    if ((!os->domain || !os->domain[0] || strcmp(os->domain, "ai.onnx") == 0) && os->has_version)
      o->opset = os->version;
  }
  if (o->opset < 0 && mp->n_opset_import == 0) o->opset = 1; /* IR 2: opset 1 */
  if (o->opset < CLNN__OX_MIN_OPSET || o->opset > CLNN__OX_MAX_OPSET)
    return clnn__ox_unsupported(o, "the model uses opset %lld of the default domain; clnn reads "
                                   "opsets %d to %d", (long long)o->opset, CLNN__OX_MIN_OPSET,
                                CLNN__OX_MAX_OPSET);
  o->graph = mp->graph;
  if (!o->graph) return clnn__ox_format(o, "the model has no graph");
  const Onnx__GraphProto *gp = o->graph;
  if (gp->n_sparse_initializer)
    return clnn__ox_unsupported(o, "sparse initializers are not supported");
  for (size_t k = 0; k < gp->n_initializer; k++) {
    clnn__ox_sym t;
    memset(&t, 0, sizeof t);
    clnn_status st = clnn__ox_tensor(o, gp->initializer[k], "initializer", &t);
    if (st == CLNN_SUCCESS)
      st = clnn__ox_bind_const(o, gp->initializer[k]->name, t.ndim, t.dims, t.f, t.i);
    if (st != CLNN_SUCCESS) return st;
  }
  clnn_status st = read_inputs(o);
  if (st != CLNN_SUCCESS) return st;
  o->skip = calloc(gp->n_node ? gp->n_node : 1, 1);
  if (!o->skip) return ox_oom(o);
  /* what the mappings' look-ahead (fused patterns) relies on */
  for (size_t k = 0; k < gp->n_node; k++) {
    const Onnx__NodeProto *n = gp->node[k];
    if (!n->op_type) return clnn__ox_format(o, "node %zu has no op_type", k);
    for (size_t a = 0; a < n->n_attribute; a++)
      if (!n->attribute[a]->name)
        return clnn__ox_format(o, "node %zu (%.40s): an attribute has no name", k, n->op_type);
  }
  for (size_t k = 0; k < gp->n_output; k++)
    if (!gp->output[k]->name) return clnn__ox_format(o, "graph output %zu has no name", k);
  if ((st = mark_live(o)) != CLNN_SUCCESS) return st;
  for (size_t k = 0; k < gp->n_node; k++) {
    if (o->skip[k]) continue;
    o->node = gp->node[k];
    o->node_index = (int)k;
    if (o->node->domain && o->node->domain[0] && strcmp(o->node->domain, "ai.onnx") != 0)
      return clnn__ox_unsupported(o, "domain '%.40s' is not supported (only the default ONNX "
                                     "domain)", o->node->domain);
    st = clnn__ox_map_node(o);
    if (st != CLNN_SUCCESS) return st;
  }
  o->node = NULL;
  if (gp->n_output == 0) return clnn__ox_format(o, "the graph has no outputs");
  for (size_t k = 0; k < gp->n_output; k++) {
    const char *nm = gp->output[k]->name;
    clnn__ox_sym *s = clnn__ox_find(o, nm);
    if (!s) return clnn__ox_format(o, "graph output '%.80s' is not computed", nm ? nm : "");
    if (s->is_const)
      return clnn__ox_unsupported(o, "graph output '%.80s' is a constant", nm);
    if (s->layout != CLNN__OX_BATCH_FIRST && s->layout != CLNN__OX_DIR_STATE)
      return clnn__ox_unsupported(o, "graph output '%.80s' is an LSTM's time-major sequence "
                                     "[T, N, ...] (clnn's outputs are batch-first)", nm);
    for (int i = 0; i < clnn_graph_num_outputs(o->gr); i++)
      if (clnn_graph_output_value(o->gr, i) == s->value)
        return clnn__ox_unsupported(o, "graph output '%.80s' repeats another output", nm);
    st = clnn_graph_output(o->gr, s->value);
    if (st != CLNN_SUCCESS) return clnn__ox_builder(o, st);
  }
  return CLNN_SUCCESS;
}

/* Decodes the file with protobuf-c within a budget (and a nesting limit); NULL with the error. */
static Onnx__ModelProto *decode(clnn__ox *o, const unsigned char *buf, size_t size,
                                ProtobufCAllocator *al, clnn_status *st) {
  int depth = 0;
  int r = msg_depth(buf, buf + size, 0, &depth);
  if (r <= 0) {
    *st = clnn__ox_format(o, r < 0 ? "messages nest deeper than %d levels"
                                   : "not a protocol buffer (a .onnx file is an ONNX ModelProto)",
                          OX_MAX_DEPTH);
    return NULL;
  }
  Onnx__ModelProto *mp = onnx__model_proto__unpack(al, size, buf);
  if (!mp) *st = clnn__ox_format(o, "not a valid ONNX ModelProto (protobuf-c could not decode it)");
  return mp;
}

/* The model's initial values: the file's tensor for a parameter (sizes checked above). */
static const float *given_param(void *ud, const char *name, size_t numel) {
  const clnn__ox *o = ud;
  for (int k = 0; k < o->nloads; k++)
    if (strcmp(o->loads[k].name, name) == 0 && o->loads[k].count == numel) return o->loads[k].data;
  return NULL;
}

clnn_status clnn__onnx_load_memory(clnn_context *ctx, const unsigned char *buf, size_t size,
                                   const char *path, clnn_model **model_out,
                                   clnn_graph **graph_out) {
  if ((!buf && size) || !path || (!model_out && !graph_out) || (model_out && !ctx))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn__onnx_load_memory: NULL argument");
  if (!buf) buf = (const unsigned char *)"";
  clnn__ox o;
  memset(&o, 0, sizeof o);
  o.path = path;
  /* decoded tensors (about the file's size in floats) plus the parameters queued from them (a
   * copy, transposed or reordered for some ops): a file whose weights fill it needs 2x, so 3x
   * leaves room for names and repeats without letting a small file claim much */
  o.budget = 3 * size + 65536;
  ox_arena arena = {0, 64 * size + ((size_t)1 << 20)};
  ProtobufCAllocator al = {ox_alloc, ox_free, &arena};
  clnn_status st = CLNN_SUCCESS;
  Onnx__ModelProto *mp = decode(&o, buf, size, &al, &st);
  if (mp && clnn_graph_create(&o.gr) != CLNN_SUCCESS) st = ox_oom(&o);
  if (mp && st == CLNN_SUCCESS) st = build(&o, mp);
  /* every initializer fits the parameter its node declared (checked for the graph alone too) */
  for (int k = 0; st == CLNN_SUCCESS && k < o.nloads; k++) {
    const clnn__graph *gg = &o.gr->g;
    for (int i = 0; i < gg->num_params; i++)
      if (strcmp(gg->params[i].name, o.loads[k].name) == 0 && gg->params[i].numel != o.loads[k].count) {
        st = clnn__error(CLNN_ERROR_FORMAT, "ONNX file '%s': initializer for '%s' holds %zu values "
                         "but its node needs %zu", path, o.loads[k].name, o.loads[k].count,
                         gg->params[i].numel);
        break;
      }
  }
  clnn_model *m = NULL;
  if (st == CLNN_SUCCESS && model_out)
    st = clnn__m_create_given(ctx, &o.gr->g, 0, given_param, &o, &m, "clnn_model_load_onnx");
  if (mp) onnx__model_proto__free_unpacked(mp, &al);
  free_syms(&o);
  if (st != CLNN_SUCCESS) {
    clnn_model_destroy(m);
    clnn_graph_destroy(o.gr);
    return st;
  }
  if (model_out) *model_out = m;
  if (graph_out)
    *graph_out = o.gr;
  else
    clnn_graph_destroy(o.gr);
  return CLNN_SUCCESS;
}

clnn_status clnn__onnx_read_tensor(const unsigned char *buf, size_t size, int *ndim,
                                   int64_t dims[CLNN__OX_MAX_RANK], float **data, size_t *numel) {
  clnn__ox o;
  memset(&o, 0, sizeof o);
  o.path = "<tensor>";
  o.budget = 2 * size + 4096;
  ox_arena arena = {0, 64 * size + ((size_t)1 << 20)};
  ProtobufCAllocator al = {ox_alloc, ox_free, &arena};
  Onnx__TensorProto *t = onnx__tensor_proto__unpack(&al, size, buf);
  if (!t) return clnn__ox_format(&o, "not a TensorProto");
  clnn__ox_sym s;
  memset(&s, 0, sizeof s);
  clnn_status st = clnn__ox_tensor(&o, t, "tensor", &s);
  onnx__tensor_proto__free_unpacked(t, &al);
  if (st != CLNN_SUCCESS) return st;
  if (!s.f) {
    free(s.i);
    return clnn__ox_unsupported(&o, "not a float tensor");
  }
  *ndim = s.ndim;
  memcpy(dims, s.dims, sizeof(int64_t) * (size_t)s.ndim);
  *data = s.f;
  *numel = s.numel;
  return CLNN_SUCCESS;
}

/* ---- public ---- */

static clnn_status load_path(clnn_context *ctx, const char *path, clnn_model **mo,
                             clnn_graph **go, const char *fn) {
  size_t size = 0;
  unsigned char *buf = clnn__read_regular(path, OX_MAX_FILE, &size);
  if (!buf)
    return clnn__error(errno == EFBIG ? CLNN_ERROR_FORMAT : CLNN_ERROR_IO,
                       "%s: cannot read '%s': %s", fn, path,
                       errno == EFBIG ? "larger than 2 GiB" : clnn__file_error(errno));
  clnn_status st = clnn__onnx_load_memory(ctx, buf, size, path, mo, go);
  free(buf);
  return st;
}

clnn_status clnn_model_load_onnx(clnn_context *ctx, const char *path, clnn_model **out) {
  const char *fn = "clnn_model_load_onnx";
  if (!ctx || !path || !out)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                       !ctx ? "ctx" : !path ? "path" : "out");
  return load_path(ctx, path, out, NULL, fn);
}

clnn_status clnn_graph_load_onnx(const char *path, clnn_graph **out) {
  const char *fn = "clnn_graph_load_onnx";
  if (!path || !out)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn, !path ? "path" : "out");
  return load_path(NULL, path, NULL, out, fn);
}
