/* src/nn/model_io.c — model files: safetensors (8-byte little-endian header size, JSON header, raw
 * little-endian F32 data; the layout of clnn_net_save, src/nn/checkpoint.c) whose "__metadata__"
 * also holds the graph and the optimizer settings as JSON strings (model_json.c), so that the file
 * alone rebuilds the model. The header is read (model_st.c: size, entries, exact tiling) and
 * written with cJSON. Before the device is touched every tensor is checked against the model (and,
 * when a model is rebuilt, against its graph before the model is created); only the tensors that
 * are loaded are read, so memory is bounded by the model. A failed load changes nothing. Saving
 * goes through an exclusively created temporary renamed over the path (safefile.c). */
#define _POSIX_C_SOURCE 200809L
#include "nn/model_io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_COUNT ((uint64_t)1 << 53) /* step counts beyond this cannot come from training */

/* ---- host byte order ---- */

static void to_le(float *p, size_t n) {
  const uint32_t one = 1;
  unsigned char c;
  memcpy(&c, &one, 1);
  if (c == 1) return;
  unsigned char *b = (unsigned char *)p;
  for (size_t i = 0; i < n; i++, b += 4) {
    unsigned char t = b[0];
    b[0] = b[3];
    b[3] = t;
    t = b[1];
    b[1] = b[2];
    b[2] = t;
  }
}

/* ---- the tensors of a model ---- */

typedef struct mtensor {
  char name[CLNN__G_PNAME_MAX + 48];
  clnn_tensor *t;
  const clnn__gparam *gp;
  int slot;                 /* -1: the parameter, else an optimizer slot */
  const clnn__ms_entry *fe; /* the file's entry (loading) */
} mtensor;

/* Parameters (and, with_opt, every optimizer slot the model holds) in the model's order. */
static clnn_status model_tensors(const clnn_model *m, int with_opt, mtensor **out, size_t *count) {
  const char *slots[2] = {NULL, NULL};
  int ns = with_opt ? clnn__nn_opt_slots(&m->opt, slots) : 0;
  size_t n = m->num_params * (size_t)(1 + ns);
  mtensor *t = calloc(n ? n : 1, sizeof(*t));
  if (!t) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "model files: out of host memory");
  size_t k = 0;
  for (size_t i = 0; i < m->num_params; i++) {
    const clnn__gparam *gp = &m->graph.g.params[m->params[i].gp];
    snprintf(t[k].name, sizeof t[k].name, "%s", gp->name);
    t[k].t = m->params[i].value;
    t[k].gp = gp;
    t[k++].slot = -1;
  }
  for (size_t i = 0; i < m->num_params; i++)
    for (int s = 0; s < ns; s++) {
      if (!m->params[i].opt[s]) continue;
      const clnn__gparam *gp = &m->graph.g.params[m->params[i].gp];
      snprintf(t[k].name, sizeof t[k].name, "optimizer.%s.%s", gp->name, slots[s]);
      t[k].t = m->params[i].opt[s];
      t[k].gp = gp;
      t[k++].slot = s;
    }
  *out = t;
  *count = k;
  return CLNN_SUCCESS;
}

/* ---- save ---- */

/* Adds item to obj under key and returns it; a NULL item or obj, or a failure, sets *oom, frees
 * item and returns NULL (so later puts into it are no-ops). */
static cJSON *put(cJSON *obj, const char *key, cJSON *item, int *oom) {
  if (!item || !obj || !cJSON_AddItemToObject(obj, key, item)) {
    cJSON_Delete(item);
    *oom = 1;
    return NULL;
  }
  return item;
}

static void push(cJSON *arr, double v, int *oom) {
  cJSON *n = cJSON_CreateNumber(v);
  if (!n || !arr || !cJSON_AddItemToArray(arr, n)) {
    cJSON_Delete(n);
    *oom = 1;
  }
}

static void put_u64(cJSON *obj, const char *key, uint64_t v, int *oom) {
  char b[32];
  snprintf(b, sizeof b, "%llu", (unsigned long long)v);
  put(obj, key, cJSON_CreateString(b), oom);
}

/* The header text, padded with spaces to a multiple of 8 bytes. */
static char *save_header(clnn_model *m, const mtensor *t, size_t nt, int with_opt, size_t *len) {
  int oom = 0;
  cJSON *root = cJSON_CreateObject();
  cJSON *meta = put(root, "__metadata__", cJSON_CreateObject(), &oom);
  put(meta, "format", cJSON_CreateString("clnn-model"), &oom);
  put(meta, "clnn_version", cJSON_CreateString(CLNN_VERSION_STRING), &oom);
  char *graph = clnn__mj_graph_write(&m->graph.g, m->live);
  char *opt = clnn__mj_opt_write(m);
  put(meta, "graph", graph ? cJSON_CreateString(graph) : NULL, &oom);
  put(meta, "optimizer", opt ? cJSON_CreateString(opt) : NULL, &oom);
  free(graph);
  free(opt);
  if (with_opt) {
    put_u64(meta, "step", m->step, &oom);
    put_u64(meta, "train_forwards", m->train_forwards, &oom);
    put_u64(meta, "seed", m->seed, &oom);
  }
  uint64_t off = 0;
  for (size_t i = 0; i < nt && !oom; i++) {
    cJSON *e = put(root, t[i].name, cJSON_CreateObject(), &oom);
    put(e, "dtype", cJSON_CreateString("F32"), &oom);
    cJSON *shape = put(e, "shape", cJSON_CreateArray(), &oom);
    cJSON *o = put(e, "data_offsets", cJSON_CreateArray(), &oom);
    for (int d = 0; d < t[i].gp->ndim; d++) push(shape, (double)t[i].gp->dims[d], &oom);
    push(o, (double)off, &oom);
    off += (uint64_t)t[i].gp->numel * 4;
    push(o, (double)off, &oom);
  }
  char *s = (oom || !root) ? NULL : cJSON_PrintUnformatted(root);
  cJSON_Delete(root);
  if (!s) return NULL;
  size_t n = strlen(s), padded = (n + 7) / 8 * 8;
  char *p = realloc(s, padded + 1);
  if (!p) {
    free(s);
    return NULL;
  }
  memset(p + n, ' ', padded - n);
  p[padded] = 0;
  *len = padded;
  return p;
}

clnn_status clnn_model_save(clnn_model *m, const char *path, int flags) {
  const char *fn = "clnn_model_save";
  if (!m || !path)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn, !m ? "model" : "path");
  if (flags & ~CLNN_SAVE_OPTIMIZER)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: unknown flags 0x%x", fn, flags);
  int with_opt = (flags & CLNN_SAVE_OPTIMIZER) != 0;
  mtensor *t = NULL;
  size_t nt = 0, hlen = 0, max_numel = 1;
  clnn_status st = model_tensors(m, with_opt, &t, &nt);
  if (st != CLNN_SUCCESS) return st;
  for (size_t i = 0; i < nt; i++) {
    if (t[i].gp->numel > max_numel) max_numel = t[i].gp->numel;
    if (clnn_tensor_numel(t[i].t) != t[i].gp->numel) {
      st = clnn__error(CLNN_ERROR_INTERNAL, "%s: tensor '%s' has %zu elements, its parameter %zu",
                       fn, t[i].name, clnn_tensor_numel(t[i].t), t[i].gp->numel);
      free(t);
      return st;
    }
  }
  char *h = save_header(m, t, nt, with_opt, &hlen);
  float *host = malloc(max_numel * sizeof(float));
  if (!h || !host) {
    st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "%s: out of host memory", fn);
    goto done;
  }
  /* only a regular file (or a symlink, which the rename replaces) is replaced */
  struct stat pst;
  if (lstat(path, &pst) == 0 && !S_ISREG(pst.st_mode) && !S_ISLNK(pst.st_mode)) {
    st = clnn__error(CLNN_ERROR_IO, "%s: '%s' exists and is not a regular file", fn, path);
    goto done;
  }
  clnn__remove_stale_temps(path);
  clnn__atomic_file af;
  if (clnn__atomic_begin(path, &af) != 0) {
    st = clnn__error(CLNN_ERROR_IO, "%s: cannot create a temporary file beside '%s': %s", fn, path,
                     strerror(errno));
    goto done;
  }
  unsigned char len8[8];
  for (int i = 0; i < 8; i++) len8[i] = (unsigned char)(((uint64_t)hlen >> (8 * i)) & 0xff);
  int ok = clnn__atomic_write(&af, len8, 8) == 0 && clnn__atomic_write(&af, h, hlen) == 0;
  for (size_t i = 0; i < nt && ok && st == CLNN_SUCCESS; i++) {
    st = clnn_tensor_read(t[i].t, host, t[i].gp->numel);
    if (st != CLNN_SUCCESS) break;
    to_le(host, t[i].gp->numel);
    ok = clnn__atomic_write(&af, host, t[i].gp->numel * 4) == 0;
  }
  if (st != CLNN_SUCCESS || !ok) {
    int err = errno;
    clnn__atomic_abort(&af);
    if (st == CLNN_SUCCESS)
      st = clnn__error(CLNN_ERROR_IO, "%s: cannot write '%s': %s", fn, path, strerror(err));
  } else if (clnn__atomic_commit(&af) != 0) {
    st = clnn__error(CLNN_ERROR_IO, "%s: cannot write '%s' (fsync or rename): %s", fn, path,
                     strerror(errno));
  }
done:
  free(host);
  free(h);
  free(t);
  return st;
}

/* ---- load into a model ---- */

/* Appends name to a comma-separated list in buf (size bytes, NUL-terminated, truncated). */
static void list_add(char *buf, size_t size, size_t *len, const char *name) {
  if (!buf || !size) return;
  int w = snprintf(buf + *len, size - *len, "%s%s", *len ? "," : "", name);
  if (w < 0 || (size_t)w >= size - *len) {
    *len = size - 1;
    buf[*len] = 0;
  } else {
    *len += (size_t)w;
  }
}

/* Loads the file's tensors into m. strict: exactly the model's tensors plus, when the metadata has
 * a step count, the complete optimizer state (then step, train_forwards and seed too); otherwise
 * the optimizer state and step count restart. Not strict: parameters whose names match; the
 * file's optimizer entries are ignored. Everything is checked and read to host memory first. */
static clnn_status load_into(clnn_model *m, const clnn__ms_src *s, const clnn__ms_file *f,
                             int strict, char *missing, size_t missing_size, char *unexpected,
                             size_t unexpected_size, const char *path) {
  uint64_t step = 0, fwd = 0, seed = 0;
  int has_step = clnn__ms_meta_u64(f, "step", MAX_COUNT, &step);
  int has_fwd = clnn__ms_meta_u64(f, "train_forwards", MAX_COUNT, &fwd);
  int has_seed = clnn__ms_meta_u64(f, "seed", UINT64_MAX, &seed);
  if (has_step < 0 || has_fwd < 0 || has_seed < 0)
    return clnn__ms_bad(
        path, "metadata step, train_forwards or seed is not a decimal count (at most 2^53)");
  int with_opt = strict && has_step;
  if (with_opt) {
    /* the optimizer type of the state: a model file's settings JSON or a checkpoint's name */
    const char *o = clnn__ms_meta(f, "optimizer");
    int type = -1;
    if (o && o[0] != '{') {
      type = clnn__mj_opt_type(o); /* clnn_net_save's plain name */
    } else if (o) {
      clnn__mj_opt settings;
      clnn_status st = clnn__mj_opt_read(o, path, &settings);
      if (st != CLNN_SUCCESS) return st;
      type = (int)settings.cfg.type;
      clnn__mj_opt_free(&settings);
    }
    if (type != (int)m->opt.type) {
      clnn_status st = clnn__ms_bad(
          path,
          "holds optimizer state of %s but the model uses %s (set the same "
          "optimizer before loading)",
          type < 0 ? "an unknown optimizer" : clnn__nn_opt_name((clnn_optimizer_type)type),
          clnn__nn_opt_name(m->opt.type));
      return st;
    }
  }
  mtensor *t = NULL;
  size_t nt = 0;
  clnn_status st = model_tensors(m, with_opt, &t, &nt);
  if (st != CLNN_SUCCESS) return st;
  float *host = NULL;
  uint64_t total = 0;
  char *used = calloc(f->ne ? f->ne : 1, 1); /* file entries the model takes */
  if (!used) {
    st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "model file '%s': out of memory", path);
    goto done;
  }
  /* every model tensor against the file */
  for (size_t i = 0; i < nt; i++) {
    const clnn__ms_entry *e = clnn__ms_find(f, t[i].name);
    if (!e) {
      if (strict) {
        st = clnn__ms_bad(path, "has no tensor '%s'%s", t[i].name,
                          t[i].slot >= 0 ? " (incomplete "
                                           "optimizer state)"
                                         : "");
        goto done;
      }
      continue; /* missing */
    }
    const clnn__gparam *gp = t[i].gp;
    int same = e->ndim == gp->ndim && strcmp(e->dtype, "F32") == 0;
    for (int d = 0; same && d < gp->ndim; d++) same = e->shape[d] == (uint64_t)gp->dims[d];
    if (!same) {
      char a[160], b[96];
      st = clnn__ms_bad(path, "tensor '%s' is %s but the model's is F32 %s", t[i].name,
                        clnn__ms_entry_text(e, a, sizeof a),
                        clnn__dims_str_raw(gp->ndim, gp->dims, b, sizeof b));
      goto done;
    }
    t[i].fe = e;
    used[e - f->e] = 1;
    total += e->end - e->begin;
  }
  /* every file tensor against the model (the rest is unexpected when not strict) */
  for (const cJSON *it = f->root->child; strict && it; it = it->next) {
    const char *name = it->string;
    const clnn__ms_entry *e = strcmp(name, "__metadata__") == 0 ? NULL : clnn__ms_find(f, name);
    if (!e || used[e - f->e]) continue;
    st = clnn__ms_bad(path, "holds tensor '%.100s', which the model does not have%s", name,
                      strncmp(name, "optimizer.", 10) != 0 ? ""
                      : has_step ? " (optimizer state of another optimizer configuration?)"
                                 : " (optimizer state without a step count)");
    goto done;
  }
  /* read what is loaded into host memory (bounded by the model's own tensors) */
  host = malloc(total ? (size_t)total : 1);
  if (!host) {
    st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "model file '%s': cannot allocate %llu bytes", path,
                     (unsigned long long)total);
    goto done;
  }
  size_t at = 0;
  for (size_t i = 0; i < nt; i++) {
    if (!t[i].fe) continue;
    size_t n = (size_t)(t[i].fe->end - t[i].fe->begin);
    if (clnn__ms_read(s, f->data_off + t[i].fe->begin, host + at / 4, n) != 0) {
      st = clnn__error(CLNN_ERROR_IO, "model file '%s': cannot read: %s", path, strerror(errno));
      goto done;
    }
    to_le(host + at / 4, n / 4);
    at += n;
  }
  /* everything checked: write to the device */
  at = 0;
  for (size_t i = 0; i < nt && st == CLNN_SUCCESS; i++) {
    if (!t[i].fe) continue;
    st = clnn_tensor_write(t[i].t, host + at / 4, t[i].gp->numel);
    at += t[i].gp->numel * 4;
  }
  if (st == CLNN_SUCCESS && strict) {
    if (with_opt) {
      m->step = step;
      if (has_fwd > 0) m->train_forwards = fwd;
      if (has_seed > 0) m->seed = seed;
    } else {
      m->step = 0;
      for (size_t i = 0; i < m->num_params && st == CLNN_SUCCESS; i++)
        for (int k = 0; k < 2 && st == CLNN_SUCCESS; k++)
          if (m->params[i].opt[k]) st = clnn_tensor_fill(m->params[i].opt[k], 0.0f);
    }
  }
  if (st == CLNN_SUCCESS) { /* the lists: the model's order, then the file's */
    size_t len = 0;
    if (missing && missing_size) missing[0] = 0;
    for (size_t i = 0; !strict && i < nt; i++)
      if (!t[i].fe) list_add(missing, missing_size, &len, t[i].name);
    len = 0;
    if (unexpected && unexpected_size) unexpected[0] = 0;
    for (const cJSON *it = f->root->child; !strict && it; it = it->next) {
      const clnn__ms_entry *e =
          strcmp(it->string, "__metadata__") == 0 ? NULL : clnn__ms_find(f, it->string);
      if (e && !used[e - f->e] && strncmp(it->string, "optimizer.", 10) != 0)
        list_add(unexpected, unexpected_size, &len, it->string);
    }
  }
done:
  free(used);
  free(host);
  free(t);
  return st;
}

/* ---- rebuilding a model from a file ---- */

/* Before the model is created: every parameter that the outputs and losses need is in the file
 * with its shape, so the file's size bounds what the model allocates. */
static clnn_status check_graph_params(const clnn__graph *g, const clnn__ms_file *f,
                                      const char *path) {
  char *need = calloc(g->num_nodes ? (size_t)g->num_nodes : 1, 1);
  if (!need) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "model file '%s': out of memory", path);
  for (int i = 0; i < g->num_outputs; i++)
    if (g->values[g->outputs[i]].producer >= 0) need[g->values[g->outputs[i]].producer] = 1;
  for (int i = 0; i < g->num_losses; i++)
    if (g->values[g->losses[i].value].producer >= 0)
      need[g->values[g->losses[i].value].producer] = 1;
  clnn_status st = CLNN_SUCCESS;
  for (int i = g->num_nodes - 1; i >= 0 && st == CLNN_SUCCESS; i--) {
    if (!need[i]) continue;
    const clnn__gnode *n = &g->nodes[i];
    for (int k = 0; k < n->num_in; k++)
      if (g->values[n->in[k]].producer >= 0) need[g->values[n->in[k]].producer] = 1;
    for (int k = 0; k < n->num_params && st == CLNN_SUCCESS; k++) {
      const clnn__gparam *p = &g->params[n->param[k]];
      const clnn__ms_entry *e = clnn__ms_find(f, p->name);
      int same = e && e->ndim == p->ndim && strcmp(e->dtype, "F32") == 0;
      for (int d = 0; same && d < p->ndim; d++) same = e->shape[d] == (uint64_t)p->dims[d];
      if (!same) {
        char a[160], b[96];
        st = clnn__ms_bad(
            path, "node '%s' (%s) needs parameter '%s' F32 %s; the file %s%s", n->name, n->op->kind,
            p->name, clnn__dims_str_raw(p->ndim, p->dims, b, sizeof b),
            e ? "holds " : "does not hold it", e ? clnn__ms_entry_text(e, a, sizeof a) : "");
      }
    }
  }
  free(need);
  return st;
}

static clnn_status load_source(clnn_context *ctx, const clnn__ms_src *s, const char *path,
                               clnn_model **model_out, clnn_graph **graph_out, const char *fn) {
  clnn__ms_file f;
  clnn_graph *g = NULL;
  clnn_model *m = NULL;
  clnn__mj_opt o;
  memset(&o, 0, sizeof o);
  clnn_status st = clnn__ms_open(s, path, &f);
  if (st != CLNN_SUCCESS) return st;
  const char *graph = clnn__ms_meta(&f, "graph");
  if (!graph) {
    st = clnn__ms_bad(path,
                      "holds no graph in its metadata (a checkpoint from clnn_net_save, or another "
                      "tool's file: load it into a model built in code with clnn_model_load)");
    goto done;
  }
  if ((st = clnn__mj_graph_read(graph, path, &g)) != CLNN_SUCCESS) goto done;
  if (model_out) {
    const char *opt = clnn__ms_meta(&f, "optimizer");
    /* clnn_net_save names only the optimizer type ("adam"): its defaults, so that its slots load */
    int net_opt = opt && opt[0] != '{' ? clnn__mj_opt_type(opt) : -1;
    if (opt && opt[0] != '{' && net_opt < 0) {
      st = clnn__ms_bad(path, "metadata optimizer '%.32s' is not an optimizer type", opt);
      goto done;
    }
    if (net_opt >= 0) opt = NULL;
    if (opt && (st = clnn__mj_opt_read(opt, path, &o)) != CLNN_SUCCESS) goto done;
    if ((st = check_graph_params(&g->g, &f, path)) != CLNN_SUCCESS) goto done;
    uint64_t seed = 0;
    if (clnn__ms_meta_u64(&f, "seed", UINT64_MAX, &seed) < 0) {
      st = clnn__ms_bad(path, "metadata seed is not a decimal number");
      goto done;
    }
    if ((st = clnn__m_create(ctx, &g->g, seed, &m, fn)) != CLNN_SUCCESS) {
      if (st == CLNN_ERROR_SHAPE_MISMATCH || st == CLNN_ERROR_INVALID_ARGUMENT)
        st = clnn__ms_bad(path, "%s", clnn_last_error());
      goto done;
    }
    if (opt && (st = clnn__mj_opt_apply(m, &o, path)) != CLNN_SUCCESS) goto done;
    if (net_opt >= 0) {
      clnn_optimizer_config cfg;
      clnn_optimizer_config_init(&cfg, (clnn_optimizer_type)net_opt, 1e-3f);
      if ((st = clnn_model_set_optimizer(m, &cfg)) != CLNN_SUCCESS) goto done;
    }
    st = load_into(m, s, &f, 1, NULL, 0, NULL, 0, path);
  }
done:
  clnn__mj_opt_free(&o);
  clnn__ms_free(&f);
  if (st != CLNN_SUCCESS) {
    clnn_model_destroy(m);
    clnn_graph_destroy(g);
    return st;
  }
  if (model_out) *model_out = m;
  if (graph_out)
    *graph_out = g;
  else
    clnn_graph_destroy(g);
  return CLNN_SUCCESS;
}

clnn_status clnn__m_load_memory(clnn_context *ctx, const unsigned char *buf, size_t size,
                                const char *path, clnn_model **model_out, clnn_graph **graph_out) {
  if ((!buf && size) || !path || (!model_out && !graph_out) || (model_out && !ctx))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn__m_load_memory: NULL argument");
  clnn__ms_src s = {buf ? buf : (const unsigned char *)"", -1, (uint64_t)size};
  return load_source(ctx, &s, path, model_out, graph_out, "clnn_model_load_file");
}

/* Opens path as a source (a regular file only); -1 with the error recorded. */
static clnn_status open_src(const char *path, clnn__ms_src *s, const char *fn) {
  memset(s, 0, sizeof(*s));
  s->fd = clnn__open_regular(path, &s->size);
  if (s->fd < 0)
    return clnn__error(CLNN_ERROR_IO, "%s: cannot open '%s': %s", fn, path,
                       clnn__file_error(errno));
  return CLNN_SUCCESS;
}

clnn_status clnn_model_load_file(clnn_context *ctx, const char *path, clnn_model **out) {
  const char *fn = "clnn_model_load_file";
  if (!ctx || !path || !out)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                       !ctx    ? "ctx"
                       : !path ? "path"
                               : "out");
  clnn__ms_src s;
  clnn_status st = open_src(path, &s, fn);
  if (st != CLNN_SUCCESS) return st;
  st = load_source(ctx, &s, path, out, NULL, fn);
  close(s.fd);
  return st;
}

clnn_status clnn_graph_load(const char *path, clnn_graph **out) {
  const char *fn = "clnn_graph_load";
  if (!path || !out)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn, !path ? "path" : "out");
  clnn__ms_src s;
  clnn_status st = open_src(path, &s, fn);
  if (st != CLNN_SUCCESS) return st;
  st = load_source(NULL, &s, path, NULL, out, fn);
  close(s.fd);
  return st;
}

clnn_status clnn_model_load(clnn_model *m, const char *path, int strict, char *missing,
                            size_t missing_size, char *unexpected, size_t unexpected_size) {
  const char *fn = "clnn_model_load";
  if (!m || !path)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn, !m ? "model" : "path");
  if (strict != 0 && strict != 1)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: strict is %d (0 or 1)", fn, strict);
  if ((!missing && missing_size) || (!unexpected && unexpected_size))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: a NULL list with a nonzero size", fn);
  clnn__ms_src s;
  clnn_status st = open_src(path, &s, fn);
  if (st != CLNN_SUCCESS) return st;
  clnn__ms_file f;
  st = clnn__ms_open(&s, path, &f);
  if (st == CLNN_SUCCESS) {
    st = load_into(m, &s, &f, strict, missing, missing_size, unexpected, unexpected_size, path);
    clnn__ms_free(&f);
  }
  close(s.fd);
  if (st == CLNN_SUCCESS) clnn__x_mark_stale(m->par); /* the other devices get it too */
  return st;
}
