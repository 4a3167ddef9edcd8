/* src/nn/checkpoint.c — safetensors checkpoints: an 8-byte little-endian header size, a JSON header
 * ({"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}})
 * and the raw little-endian data. Saving writes an exclusively created, locked temporary in the
 * same directory (never through a planted symlink), fsyncs it, renames it into place and fsyncs
 * the directory; temporaries that killed saves left are removed first (src/runtime/safefile.c).
 * Loading opens regular files only (a FIFO is refused, not waited on), reads and parses the header
 * with the model files' safetensors reader (src/nn/model_st.c, cJSON), refuses data larger than
 * the network's tensors could make it, checks every entry and the metadata against the network
 * (names, dtypes, shapes, offsets that tile the data exactly, a possible step count) and only then
 * reads each tensor (pread: memory is bounded by the network) and writes it to the device, so a
 * bad file changes nothing. */
#define _POSIX_C_SOURCE 200809L
#include "nn_internal.h"
#include "nn/model_io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Step and forward counts above 2^53 cannot come from training (and are not exact in the double
 * that JSON readers use): such metadata is refused. */
#define MAX_META_COUNT ((uint64_t)1 << 53)
#define MAX_NAME 256

/* ---- growable string ---- */

typedef struct sbuf {
  char *p;
  size_t n, cap;
  int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t len) {
  if (b->oom) return;
  if (b->n + len + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->n + len + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, len);
  b->n += len;
  b->p[b->n] = 0;
}

static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_fmt(sbuf *b, const char *fmt, unsigned long long v) {
  char t[32];
  int k = snprintf(t, sizeof t, fmt, v);
  sb_put(b, t, (size_t)k);
}

/* A JSON string literal (our names are plain ASCII, but escape anyway). */
static void sb_json_str(sbuf *b, const char *s) {
  sb_put(b, "\"", 1);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      sb_put(b, e, 2);
    } else if (c < 0x20) {
      char e[8];
      snprintf(e, sizeof e, "\\u%04x", c);
      sb_put(b, e, 6);
    } else {
      sb_put(b, (const char *)&c, 1);
    }
  }
  sb_put(b, "\"", 1);
}

/* ---- little-endian floats ---- */

static int host_is_le(void) {
  const uint32_t one = 1;
  unsigned char c;
  memcpy(&c, &one, 1);
  return c == 1;
}

static void swap4(void *data, size_t count) {
  unsigned char *p = data;
  for (size_t i = 0; i < count; i++, p += 4) {
    unsigned char t = p[0];
    p[0] = p[3];
    p[3] = t;
    t = p[1];
    p[1] = p[2];
    p[2] = t;
  }
}

/* ---- the tensors a network saves ---- */

typedef struct centry {
  char name[MAX_NAME];
  clnn_tensor *t;          /* destination / source */
  int ndim;
  size_t dims[4];
  size_t numel;
  /* from the file */
  int found;
  uint64_t begin, end;
} centry;

/* Parameters and state, then (if with_opt) optimizer slots as "optimizer.<param>.<slot>". */
static clnn_status expected_entries(clnn_net *net, int with_opt, centry **out, size_t *count) {
  const char *slots[2];
  int ns = with_opt ? clnn__nn_opt_slots(&net->opt, slots) : 0;
  size_t n = net->num_params;
  for (size_t i = 0; i < net->num_params; i++)
    if (net->params[i].trainable) n += (size_t)ns;
  centry *e = calloc(n ? n : 1, sizeof(*e));
  if (!e) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate the checkpoint table");
  size_t k = 0;
  for (size_t i = 0; i < net->num_params; i++) {
    clnn__nn_param *p = &net->params[i];
    snprintf(e[k].name, MAX_NAME, "%s", p->name);
    e[k].t = p->value;
    e[k].ndim = p->ndim;
    memcpy(e[k].dims, p->dims, sizeof(p->dims));
    e[k].numel = p->numel;
    k++;
  }
  for (size_t i = 0; i < net->num_params; i++) {
    clnn__nn_param *p = &net->params[i];
    if (!p->trainable) continue;
    for (int s = 0; s < ns; s++) {
      snprintf(e[k].name, MAX_NAME, "optimizer.%s.%s", p->name, slots[s]);
      e[k].t = p->opt[s];
      e[k].ndim = p->ndim;
      memcpy(e[k].dims, p->dims, sizeof(p->dims));
      e[k].numel = p->numel;
      k++;
    }
  }
  *out = e;
  *count = k;
  return CLNN_SUCCESS;
}

/* ---- save ---- */

clnn_status clnn_net_save(clnn_net *net, const char *path, int flags) {
  if (!net || !path)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_save: %s is NULL",
                       !net ? "net" : "path");
  if (flags & ~CLNN_SAVE_OPTIMIZER)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_save: unknown flags 0x%x", flags);
  clnn_status st = clnn__nn_finalize(net);
  if (st != CLNN_SUCCESS) return st;
  int with_opt = (flags & CLNN_SAVE_OPTIMIZER) != 0;
  centry *e = NULL;
  size_t ne = 0;
  st = expected_entries(net, with_opt, &e, &ne);
  if (st != CLNN_SUCCESS) return st;

  /* header */
  sbuf h = {0};
  sb_str(&h, "{\"__metadata__\":{\"format\":\"pt\",\"producer\":\"clnn " CLNN_VERSION_STRING "\"");
  if (with_opt) {
    sb_str(&h, ",\"optimizer\":");
    sb_json_str(&h, clnn__nn_opt_name(net->opt.type));
    sb_fmt(&h, ",\"step\":\"%llu\"", (unsigned long long)net->step);
    sb_fmt(&h, ",\"train_forwards\":\"%llu\"", (unsigned long long)net->train_forwards);
    sb_fmt(&h, ",\"seed\":\"%llu\"", (unsigned long long)net->seed);
  }
  /* the architecture, so clnn_model_load_file and clnn-predict rebuild the network from the file
   * alone (a network that the graph layer cannot express is saved without it) */
  clnn_graph *graph = NULL;
  char *graph_json = NULL;
  if (clnn__nn_to_graph(net, 0, &graph) == CLNN_SUCCESS) graph_json = clnn__mj_graph_write(&graph->g, NULL);
  clnn_graph_destroy(graph);
  if (graph_json) {
    sb_str(&h, ",\"graph\":");
    sb_json_str(&h, graph_json);
    free(graph_json);
  }
  sb_str(&h, "}");
  uint64_t off = 0;
  size_t max_numel = 0;
  for (size_t i = 0; i < ne; i++) {
    sb_str(&h, ",");
    sb_json_str(&h, e[i].name);
    sb_str(&h, ":{\"dtype\":\"F32\",\"shape\":[");
    for (int d = 0; d < e[i].ndim; d++) sb_fmt(&h, d ? ",%llu" : "%llu", e[i].dims[d]);
    sb_fmt(&h, "],\"data_offsets\":[%llu,", off);
    off += (uint64_t)e[i].numel * 4;
    sb_fmt(&h, "%llu]}", off);
    if (e[i].numel > max_numel) max_numel = e[i].numel;
  }
  sb_str(&h, "}");
  while (!h.oom && h.n % 8) sb_str(&h, " "); /* data starts 8-byte aligned */
  float *host = malloc((max_numel ? max_numel : 1) * sizeof(float));
  if (h.oom || !host) {
    st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "clnn_net_save: out of host memory");
    goto done;
  }
  /* Only a regular file (or a symlink, which the rename replaces, never writes through) is
   * replaced; a directory, FIFO, socket or device at `path` is refused. */
  struct stat pst;
  if (lstat(path, &pst) == 0 && !S_ISREG(pst.st_mode) && !S_ISLNK(pst.st_mode)) {
    st = clnn__error(CLNN_ERROR_IO, "clnn_net_save: '%s' exists and is not a regular file", path);
    goto done;
  }
  clnn__remove_stale_temps(path);
  clnn__atomic_file af;
  if (clnn__atomic_begin(path, &af) != 0) {
    st = clnn__error(CLNN_ERROR_IO, "clnn_net_save: cannot create a temporary file beside '%s': %s",
                     path, strerror(errno));
    goto done;
  }
  unsigned char len8[8];
  for (int i = 0; i < 8; i++) len8[i] = (unsigned char)(((uint64_t)h.n >> (8 * i)) & 0xff);
  int ok = clnn__atomic_write(&af, len8, 8) == 0 && clnn__atomic_write(&af, h.p, h.n) == 0;
  for (size_t i = 0; i < ne && ok && st == CLNN_SUCCESS; i++) {
    st = clnn_tensor_read(e[i].t, host, e[i].numel);
    if (st != CLNN_SUCCESS) break;
    if (!host_is_le()) swap4(host, e[i].numel);
    ok = clnn__atomic_write(&af, host, e[i].numel * 4) == 0;
  }
  if (st != CLNN_SUCCESS || !ok) {
    int err = errno;
    clnn__atomic_abort(&af);
    if (st == CLNN_SUCCESS)
      st = clnn__error(CLNN_ERROR_IO, "clnn_net_save: cannot write '%s': %s", path, strerror(err));
  } else if (clnn__atomic_commit(&af) != 0) {
    st = clnn__error(CLNN_ERROR_IO, "clnn_net_save: cannot write '%s' (fsync or rename): %s", path,
                     strerror(errno));
  }
done:
  free(host);
  free(h.p);
  free(e);
  return st;
}

/* The data after the header cannot exceed every tensor the network has plus two optimizer slots
 * per trainable one (the largest checkpoint it can load). */
static clnn_status check_data_size(const clnn_net *net, uint64_t data_size, const char *path) {
  uint64_t most = 0;
  for (size_t i = 0; i < net->num_params; i++)
    most += (uint64_t)net->params[i].numel * 4 * (net->params[i].trainable ? 3 : 1);
  if (data_size <= most) return CLNN_SUCCESS;
  return clnn__error(CLNN_ERROR_FORMAT, "clnn_net_load: '%s': %llu bytes of data follow the header; "
                     "this network's largest checkpoint holds %llu (trailing data, or another "
                     "network's file)", path, (unsigned long long)data_size, (unsigned long long)most);
}

/* Checks a parsed file against the network and loads it: every tensor known, F32, of the
 * network's shape; every parameter and state tensor present; optimizer state complete for the
 * network's optimizer when the file has any; only then the device writes. */
static clnn_status load_source(clnn_net *net, const clnn__ms_src *src, const char *path) {
  clnn__ms_file f;
  clnn_status st = clnn__ms_open(src, path, &f);
  if (st != CLNN_SUCCESS) return st;
  centry *e = NULL;
  float *host = NULL;
  size_t ne = 0;
  if ((st = check_data_size(net, f.data_size, path)) != CLNN_SUCCESS) goto done;
  /* the optimizer: a type name (clnn_net_save) or a model file's settings */
  const char *opt = clnn__ms_meta(&f, "optimizer");
  int with_opt = opt != NULL, type = -1;
  if (opt && opt[0] == '{') {
    clnn__mj_opt o;
    memset(&o, 0, sizeof o);
    if ((st = clnn__mj_opt_read(opt, path, &o)) == CLNN_SUCCESS) type = (int)o.cfg.type;
    clnn__mj_opt_free(&o);
    if (st != CLNN_SUCCESS) goto done;
  } else if (opt) {
    type = clnn__mj_opt_type(opt);
  }
  if (with_opt && type != (int)net->opt.type) {
    st = clnn__error(CLNN_ERROR_FORMAT, "clnn_net_load: '%s' holds %.40s optimizer state but the "
                     "network uses %s (set the same optimizer before loading)", path,
                     type >= 0 ? clnn__nn_opt_name((clnn_optimizer_type)type) : opt,
                     clnn__nn_opt_name(net->opt.type));
    goto done;
  }
  uint64_t step = 0, forwards = 0, seed = 0;
  int has_step = clnn__ms_meta_u64(&f, "step", MAX_META_COUNT, &step);
  int has_fw = clnn__ms_meta_u64(&f, "train_forwards", MAX_META_COUNT, &forwards);
  int has_seed = clnn__ms_meta_u64(&f, "seed", UINT64_MAX, &seed);
  if (has_step < 0 || has_fw < 0 || has_seed < 0) {
    st = clnn__error(CLNN_ERROR_FORMAT, "clnn_net_load: '%s': metadata step/train_forwards/seed is "
                     "not a decimal count (step and train_forwards at most 2^53, which no "
                     "training reaches)", path);
    goto done;
  }
  if ((st = expected_entries(net, with_opt, &e, &ne)) != CLNN_SUCCESS) goto done;
  for (size_t i = 0; i < f.ne; i++) {
    const clnn__ms_entry *fe = &f.e[i];
    centry *m = NULL;
    for (size_t k = 0; k < ne && !m; k++)
      if (strcmp(e[k].name, fe->name) == 0) m = &e[k];
    if (!m) {
      st = clnn__error(CLNN_ERROR_FORMAT, "clnn_net_load: '%s' holds tensor '%.100s', which the "
                       "network does not have%s", path, fe->name,
                       strncmp(fe->name, "optimizer.", 10) == 0 ? " (optimizer state of another "
                       "optimizer configuration?)" : "");
      goto done;
    }
    int same = strcmp(fe->dtype, "F32") == 0 && fe->ndim == m->ndim;
    for (int d = 0; same && d < m->ndim; d++) same = fe->shape[d] == (uint64_t)m->dims[d];
    if (!same) {
      char a[128], b[64];
      st = clnn__error(CLNN_ERROR_FORMAT, "clnn_net_load: '%s': tensor '%s' is %s but the "
                       "network's is F32 %s", path, fe->name, clnn__ms_entry_text(fe, a, sizeof a),
                       clnn__dims_str_raw(m->ndim, m->dims, b, sizeof b));
      goto done;
    }
    m->found = 1;
    m->begin = fe->begin;
    m->end = fe->end;
  }
  for (size_t k = 0; k < ne; k++)
    if (!e[k].found) {
      st = clnn__error(CLNN_ERROR_FORMAT, "clnn_net_load: '%s' has no tensor '%s'", path,
                       e[k].name);
      goto done;
    }
  /* everything checked: read each tensor and write it to the device */
  size_t max_numel = 1;
  for (size_t k = 0; k < ne; k++)
    if (e[k].numel > max_numel) max_numel = e[k].numel;
  host = malloc(max_numel * sizeof(float));
  if (!host) {
    st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "clnn_net_load: out of host memory");
    goto done;
  }
  clnn__x_mark_stale(net->model->par); /* the other devices take the loaded values at the next
                                          step */
  for (size_t k = 0; k < ne && st == CLNN_SUCCESS; k++) {
    if (clnn__ms_read(src, f.data_off + e[k].begin, host, e[k].numel * 4) != 0) {
      st = clnn__error(CLNN_ERROR_IO, "clnn_net_load: cannot read '%s': %s", path,
                       strerror(errno));
      break;
    }
    if (!host_is_le()) swap4(host, e[k].numel);
    st = clnn_tensor_write(e[k].t, host, e[k].numel);
  }
  if (st != CLNN_SUCCESS) goto done;
  if (with_opt) {
    net->step = has_step > 0 ? step : 0;
    if (has_fw > 0) net->train_forwards = forwards;
    if (has_seed > 0) net->seed = seed; /* keys the dropout masks */
  } else {
    st = clnn__nn_opt_reset(net);
  }
done:
  free(host);
  free(e);
  clnn__ms_free(&f);
  return st;
}

clnn_status clnn_net_load(clnn_net *net, const char *path) {
  if (!net || !path)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_load: %s is NULL",
                       !net ? "net" : "path");
  clnn_status st = clnn__nn_finalize(net);
  if (st != CLNN_SUCCESS) return st;
  clnn__ms_src src = {NULL, -1, 0};
  src.fd = clnn__open_regular(path, &src.size);
  if (src.fd < 0)
    return clnn__error(CLNN_ERROR_IO, "clnn_net_load: cannot open '%s': %s", path,
                       clnn__file_error(errno));
  st = load_source(net, &src, path); /* reads the header and then each tensor (pread) only */
  close(src.fd);
  return st;
}

/* The in-memory core of clnn_net_load (and the fuzzing entry point, tests/fuzz/): `buf` holds a
 * whole safetensors file of `size` bytes; `path` names it in messages. */
clnn_status clnn__nn_load_memory(clnn_net *net, const unsigned char *buf, size_t size,
                                 const char *path) {
  if (!net || (!buf && size) || !path)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_load: NULL argument");
  clnn_status st = clnn__nn_finalize(net);
  if (st != CLNN_SUCCESS) return st;
  clnn__ms_src src = {buf ? buf : (const unsigned char *)"", -1, (uint64_t)size};
  return load_source(net, &src, path);
}
