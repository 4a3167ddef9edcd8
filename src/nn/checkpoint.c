/* src/nn/checkpoint.c — safetensors checkpoints: an 8-byte little-endian header size, a JSON header
 * ({"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}})
 * and the raw little-endian data. Saving writes an exclusively created, locked temporary in the
 * same directory (never through a planted symlink), fsyncs it, renames it into place and fsyncs
 * the directory; temporaries that killed saves left are removed first (src/runtime/safefile.c).
 * Loading opens regular files only (a FIFO is refused, not waited on), refuses a file larger than
 * the network's tensors and the largest header could make it before reading it (so memory is
 * bounded by the network), reads it into host memory, parses and checks every entry and the
 * metadata against the network (names, dtypes, shapes, offsets that tile the data exactly, a
 * possible step count) and only then writes to the device, so a bad file changes nothing. */
#define _POSIX_C_SOURCE 200809L
#include "nn_internal.h"
#include "nn/model_io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_HEADER (100u * 1024u * 1024u) /* the safetensors limit */
/* Step and forward counts above 2^53 cannot come from training (and are not exact in the double
 * that JSON readers use): such metadata is refused. */
#define MAX_META_COUNT ((uint64_t)1 << 53)
#define MAX_NAME 256
#define MAX_SHAPE 8

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
  if (clnn__nn_to_graph(net, &graph) == CLNN_SUCCESS) graph_json = clnn__mj_graph_write(&graph->g, NULL);
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

/* ---- JSON header parser ---- */

typedef struct fentry {
  char name[MAX_NAME];
  char dtype[16];
  int ndim;
  uint64_t shape[MAX_SHAPE];
  uint64_t begin, end;
} fentry;

typedef struct jp {
  const char *s;
  size_t n, i;
  char err[160];
  /* results */
  fentry *e;
  size_t ne, cap;
  size_t max_entries; /* more tensors than this cannot match the network */
  char meta_optimizer[64];
  int has_optimizer;
  uint64_t meta_step, meta_forwards, meta_seed;
  int has_step, has_forwards, has_seed;
} jp;

static int jfail(jp *p, const char *msg) {
  if (!p->err[0]) snprintf(p->err, sizeof p->err, "%s at byte %zu of the header", msg, p->i);
  return 0;
}

static void jws(jp *p) {
  while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' ||
                         p->s[p->i] == '\r'))
    p->i++;
}

static int jlit(jp *p, char c) {
  jws(p);
  if (p->i < p->n && p->s[p->i] == c) {
    p->i++;
    return 1;
  }
  return 0;
}

static int hexv(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* A string into out (cap bytes, NUL-terminated); too long is an error. out may be NULL (skip). */
static int jstring(jp *p, char *out, size_t cap) {
  jws(p);
  if (p->i >= p->n || p->s[p->i] != '"') return jfail(p, "expected a string");
  p->i++;
  size_t k = 0;
  while (1) {
    if (p->i >= p->n) return jfail(p, "unterminated string");
    unsigned char c = (unsigned char)p->s[p->i++];
    if (c == '"') break;
    if (c < 0x20) return jfail(p, "control character in a string");
    unsigned long cp = c;
    char utf[4];
    size_t ul = 1;
    utf[0] = (char)c;
    if (c == '\\') {
      if (p->i >= p->n) return jfail(p, "unterminated escape");
      char e = p->s[p->i++];
      switch (e) {
        case '"': utf[0] = '"'; break;
        case '\\': utf[0] = '\\'; break;
        case '/': utf[0] = '/'; break;
        case 'b': utf[0] = '\b'; break;
        case 'f': utf[0] = '\f'; break;
        case 'n': utf[0] = '\n'; break;
        case 'r': utf[0] = '\r'; break;
        case 't': utf[0] = '\t'; break;
        case 'u': {
          if (p->n - p->i < 4) return jfail(p, "short \\u escape");
          cp = 0;
          for (int j = 0; j < 4; j++) {
            int v = hexv(p->s[p->i++]);
            if (v < 0) return jfail(p, "bad \\u escape");
            cp = cp * 16 + (unsigned long)v;
          }
          if (cp == 0) return jfail(p, "NUL in a string");
          /* surrogates are kept as-is (3-byte sequences): names never contain them */
          if (cp < 0x80) {
            utf[0] = (char)cp;
          } else if (cp < 0x800) {
            utf[0] = (char)(0xC0 | (cp >> 6));
            utf[1] = (char)(0x80 | (cp & 0x3F));
            ul = 2;
          } else {
            utf[0] = (char)(0xE0 | (cp >> 12));
            utf[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
            utf[2] = (char)(0x80 | (cp & 0x3F));
            ul = 3;
          }
          break;
        }
        default: return jfail(p, "bad escape in a string");
      }
    }
    if (out) {
      if (k + ul >= cap) return jfail(p, "string too long");
      memcpy(out + k, utf, ul);
    }
    k += ul;
  }
  if (out) out[k] = 0;
  return 1;
}

/* A non-negative integer without sign, fraction or exponent. */
static int juint(jp *p, uint64_t *v) {
  jws(p);
  if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9')
    return jfail(p, "expected a non-negative integer");
  uint64_t x = 0;
  while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') {
    unsigned d = (unsigned)(p->s[p->i] - '0');
    if (x > (UINT64_MAX - d) / 10) return jfail(p, "integer overflows 64 bits");
    x = x * 10 + d;
    p->i++;
  }
  if (p->i < p->n && (p->s[p->i] == '.' || p->s[p->i] == 'e' || p->s[p->i] == 'E'))
    return jfail(p, "expected an integer");
  *v = x;
  return 1;
}

static int jskip(jp *p, int depth) {
  if (depth > 64) return jfail(p, "nesting too deep");
  jws(p);
  if (p->i >= p->n) return jfail(p, "unexpected end");
  char c = p->s[p->i];
  if (c == '"') return jstring(p, NULL, 0);
  if (c == '{' || c == '[') {
    char close = c == '{' ? '}' : ']';
    p->i++;
    if (jlit(p, close)) return 1;
    do {
      if (c == '{') {
        if (!jstring(p, NULL, 0)) return 0;
        if (!jlit(p, ':')) return jfail(p, "expected ':'");
      }
      if (!jskip(p, depth + 1)) return 0;
    } while (jlit(p, ','));
    if (!jlit(p, close)) return jfail(p, "expected ',' or a closing bracket");
    return 1;
  }
  if (c == '-' || (c >= '0' && c <= '9')) {
    p->i++;
    while (p->i < p->n && strchr("0123456789+-.eE", p->s[p->i])) p->i++;
    return 1;
  }
  const char *words[] = {"true", "false", "null"};
  for (int k = 0; k < 3; k++) {
    size_t l = strlen(words[k]);
    if (p->n - p->i >= l && memcmp(p->s + p->i, words[k], l) == 0) {
      p->i += l;
      return 1;
    }
  }
  return jfail(p, "unexpected character");
}

static int jmetadata(jp *p) {
  if (!jlit(p, '{')) return jfail(p, "__metadata__ is not an object");
  if (jlit(p, '}')) return 1;
  do {
    char key[64], val[64];
    if (!jstring(p, key, sizeof key)) return 0;
    if (!jlit(p, ':')) return jfail(p, "expected ':'");
    jws(p);
    int known = strcmp(key, "optimizer") == 0 || strcmp(key, "step") == 0 ||
                strcmp(key, "train_forwards") == 0 || strcmp(key, "seed") == 0;
    if (!known) {
      if (!jskip(p, 1)) return 0;
      continue;
    }
    if (!jstring(p, val, sizeof val)) return 0;
    int dup = strcmp(key, "optimizer") == 0 ? p->has_optimizer
              : strcmp(key, "step") == 0    ? p->has_step
              : strcmp(key, "seed") == 0    ? p->has_seed
                                            : p->has_forwards;
    if (dup) return jfail(p, "__metadata__ holds a key twice");
    if (strcmp(key, "optimizer") == 0) {
      snprintf(p->meta_optimizer, sizeof p->meta_optimizer, "%s", val);
      p->has_optimizer = 1;
    } else {
      jp q = {0};
      q.s = val;
      q.n = strlen(val);
      uint64_t v;
      if (!juint(&q, &v) || q.i != q.n) return jfail(p, "metadata step/seed is not an integer");
      if (strcmp(key, "seed") != 0 && v > MAX_META_COUNT)
        return jfail(p, "metadata step/train_forwards is larger than 2^53, which no training reaches");
      if (strcmp(key, "step") == 0) {
        p->meta_step = v;
        p->has_step = 1;
      } else if (strcmp(key, "seed") == 0) {
        p->meta_seed = v;
        p->has_seed = 1;
      } else {
        p->meta_forwards = v;
        p->has_forwards = 1;
      }
    }
  } while (jlit(p, ','));
  if (!jlit(p, '}')) return jfail(p, "expected ',' or '}' in __metadata__");
  return 1;
}

static int jtensor(jp *p, fentry *e) {
  if (!jlit(p, '{')) return jfail(p, "a tensor entry is not an object");
  int have_dtype = 0, have_shape = 0, have_off = 0;
  if (!jlit(p, '}')) {
    do {
      char key[32];
      if (!jstring(p, key, sizeof key)) return 0;
      if (!jlit(p, ':')) return jfail(p, "expected ':'");
      if (strcmp(key, "dtype") == 0) {
        if (!jstring(p, e->dtype, sizeof e->dtype)) return 0;
        have_dtype = 1;
      } else if (strcmp(key, "shape") == 0) {
        if (!jlit(p, '[')) return jfail(p, "shape is not an array");
        e->ndim = 0;
        if (!jlit(p, ']')) {
          do {
            if (e->ndim == MAX_SHAPE) return jfail(p, "shape has too many dimensions");
            if (!juint(p, &e->shape[e->ndim])) return 0;
            e->ndim++;
          } while (jlit(p, ','));
          if (!jlit(p, ']')) return jfail(p, "expected ',' or ']' in shape");
        }
        have_shape = 1;
      } else if (strcmp(key, "data_offsets") == 0) {
        if (!jlit(p, '[') || !juint(p, &e->begin) || !jlit(p, ',') || !juint(p, &e->end) ||
            !jlit(p, ']'))
          return jfail(p, "data_offsets is not [begin, end]");
        have_off = 1;
      } else {
        if (!jskip(p, 1)) return 0;
      }
    } while (jlit(p, ','));
    if (!jlit(p, '}')) return jfail(p, "expected ',' or '}' in a tensor entry");
  }
  if (!have_dtype || !have_shape || !have_off)
    return jfail(p, have_dtype ? (have_shape ? "tensor entry without data_offsets"
                                             : "tensor entry without shape")
                               : "tensor entry without dtype");
  return 1;
}

static int jheader(jp *p) {
  if (!jlit(p, '{')) return jfail(p, "the header is not a JSON object");
  if (!jlit(p, '}')) {
    do {
      char key[MAX_NAME];
      if (!jstring(p, key, sizeof key)) return 0;
      if (!jlit(p, ':')) return jfail(p, "expected ':'");
      if (strcmp(key, "__metadata__") == 0) {
        if (!jmetadata(p)) return 0;
        continue;
      }
      if (p->ne == p->max_entries)
        return jfail(p, "more tensors than the network has (with optimizer state)");
      if (p->ne == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        if (cap > p->max_entries) cap = p->max_entries;
        fentry *ne = realloc(p->e, cap * sizeof(*ne));
        if (!ne) return jfail(p, "out of memory");
        p->e = ne;
        p->cap = cap;
      }
      fentry *e = &p->e[p->ne];
      memset(e, 0, sizeof(*e));
      memcpy(e->name, key, sizeof key);
      if (!jtensor(p, e)) return 0;
      p->ne++;
    } while (jlit(p, ','));
    if (!jlit(p, '}')) return jfail(p, "expected ',' or '}'");
  }
  jws(p);
  if (p->i != p->n) return jfail(p, "trailing characters after the header object");
  return 1;
}

/* ---- load ---- */

static int cmp_begin(const void *a, const void *b) {
  const fentry *x = *(const fentry *const *)a, *y = *(const fentry *const *)b;
  return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* The header size in the first 8 bytes must fit the file and the safetensors limit. */
static clnn_status check_header_size(uint64_t hlen, uint64_t size, const char *path) {
  if (hlen > size - 8)
    return clnn__error(CLNN_ERROR_FORMAT, "clnn_net_load: '%s' is truncated or not a safetensors "
                       "file: the header size %llu exceeds the %llu bytes after it", path,
                       (unsigned long long)hlen, (unsigned long long)(size - 8));
  if (hlen < 2 || hlen > MAX_HEADER)
    return clnn__error(CLNN_ERROR_FORMAT, "clnn_net_load: '%s': header size %llu is not in 2..%u",
                       path, (unsigned long long)hlen, MAX_HEADER);
  return CLNN_SUCCESS;
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

static uint64_t get_le64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

clnn_status clnn_net_load(clnn_net *net, const char *path) {
  if (!net || !path)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_load: %s is NULL",
                       !net ? "net" : "path");
  clnn_status st = clnn__nn_finalize(net);
  if (st != CLNN_SUCCESS) return st;
  uint64_t size = 0;
  int fd = clnn__open_regular(path, &size);
  if (fd < 0)
    return clnn__error(CLNN_ERROR_IO, "clnn_net_load: cannot open '%s': %s", path,
                       clnn__file_error(errno));
  unsigned char *file = NULL;
  /* The header size is checked against the file's size, and the data size against what the
   * network can hold, before the file is read whole: a foreign or padded file is refused without
   * allocating its size. */
  unsigned char len8[8];
  if (size >= 8) {
    if (clnn__read_fd(fd, len8, 8) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
      st = clnn__error(CLNN_ERROR_IO, "clnn_net_load: cannot read '%s': %s", path, strerror(errno));
      goto done;
    }
    uint64_t hlen = get_le64(len8);
    if ((st = check_header_size(hlen, size, path)) != CLNN_SUCCESS) goto done;
    if ((st = check_data_size(net, size - 8 - hlen, path)) != CLNN_SUCCESS) goto done;
  }
  size_t fsize = (size_t)size;
  file = malloc(fsize ? fsize : 1);
  if (!file) {
    st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "clnn_net_load: cannot allocate %zu bytes for '%s'",
                     fsize, path);
    goto done;
  }
  if (clnn__read_fd(fd, file, fsize) != 0) {
    st = clnn__error(CLNN_ERROR_IO, "clnn_net_load: cannot read '%s': %s", path, strerror(errno));
    goto done;
  }
  st = clnn__nn_load_memory(net, file, fsize, path);
done:
  close(fd);
  free(file);
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
  jp p;
  memset(&p, 0, sizeof p);
  centry *e = NULL;
  fentry **sorted = NULL;
  float *host = NULL;
  size_t ne = 0;
  if (size < 8) {
    st = clnn__error(CLNN_ERROR_FORMAT, "clnn_net_load: '%s' is truncated (%zu bytes; a "
                     "safetensors file starts with an 8-byte header size)", path, size);
    goto done;
  }
  uint64_t hlen = get_le64(buf);
  if ((st = check_header_size(hlen, (uint64_t)size, path)) != CLNN_SUCCESS) goto done;
  size_t fsize = size;
  const unsigned char *file = buf + 8;
  const unsigned char *data = file + hlen;
  uint64_t data_size = (uint64_t)(fsize - 8) - hlen;
  if ((st = check_data_size(net, data_size, path)) != CLNN_SUCCESS) goto done;
  p.s = (const char *)file;
  p.n = (size_t)hlen;
  /* At most every parameter and state tensor plus two optimizer slots per parameter: a header
   * listing more cannot match, and its entries (about 360 bytes each, from as little as 50 bytes
   * of JSON) are not allocated. */
  p.max_entries = 3 * net->num_params;
  if (!jheader(&p)) {
    st = clnn__error(CLNN_ERROR_FORMAT, "clnn_net_load: '%s': malformed header: %s", path, p.err);
    goto done;
  }
  /* what the file must hold */
  int with_opt = p.has_optimizer;
  if (with_opt && strcmp(p.meta_optimizer, clnn__nn_opt_name(net->opt.type)) != 0) {
    st = clnn__error(CLNN_ERROR_FORMAT, "clnn_net_load: '%s' holds %s optimizer state but the "
                     "network uses %s (set the same optimizer before loading)", path,
                     p.meta_optimizer, clnn__nn_opt_name(net->opt.type));
    goto done;
  }
  st = expected_entries(net, with_opt, &e, &ne);
  if (st != CLNN_SUCCESS) goto done;
  /* every entry of the file: known, F32, same shape, consistent offsets */
  sorted = malloc((p.ne ? p.ne : 1) * sizeof(*sorted));
  if (!sorted) {
    st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "clnn_net_load: out of host memory");
    goto done;
  }
  for (size_t i = 0; i < p.ne; i++) {
    fentry *fe = &p.e[i];
    sorted[i] = fe;
    centry *m = NULL;
    for (size_t k = 0; k < ne; k++)
      if (strcmp(e[k].name, fe->name) == 0) {
        m = &e[k];
        break;
      }
    if (!m) {
      st = clnn__error(CLNN_ERROR_FORMAT, "clnn_net_load: '%s' holds tensor '%s', which the "
                       "network does not have%s", path, fe->name,
                       strncmp(fe->name, "optimizer.", 10) == 0 ? " (optimizer state of another "
                       "optimizer configuration?)" : "");
      goto done;
    }
    if (m->found) {
      st = clnn__error(CLNN_ERROR_FORMAT, "clnn_net_load: '%s' holds '%s' twice", path, fe->name);
      goto done;
    }
    m->found = 1;
    if (strcmp(fe->dtype, "F32") != 0) {
      st = clnn__error(CLNN_ERROR_FORMAT, "clnn_net_load: '%s': tensor '%s' has dtype %s; clnn "
                       "loads F32 only", path, fe->name, fe->dtype);
      goto done;
    }
    int same = fe->ndim == m->ndim;
    for (int d = 0; same && d < m->ndim; d++) same = fe->shape[d] == (uint64_t)m->dims[d];
    if (!same) {
      char a[96], b[64];
      size_t k = 0;
      a[0] = 0;
      k += (size_t)snprintf(a, sizeof a, "[");
      for (int d = 0; d < fe->ndim && k < sizeof a; d++)
        k += (size_t)snprintf(a + k, sizeof a - k, "%s%llu", d ? ", " : "",
                              (unsigned long long)fe->shape[d]);
      if (k < sizeof a) snprintf(a + k, sizeof a - k, "]");
      st = clnn__error(CLNN_ERROR_FORMAT, "clnn_net_load: '%s': tensor '%s' has shape %s but the "
                       "network's is %s", path, fe->name, a,
                       clnn__dims_str_raw(m->ndim, m->dims, b, sizeof b));
      goto done;
    }
    if (fe->end < fe->begin || fe->end - fe->begin != (uint64_t)m->numel * 4) {
      st = clnn__error(CLNN_ERROR_FORMAT, "clnn_net_load: '%s': tensor '%s' has data_offsets "
                       "[%llu, %llu], which is not the %zu bytes its shape needs", path, fe->name,
                       (unsigned long long)fe->begin, (unsigned long long)fe->end, m->numel * 4);
      goto done;
    }
    if (fe->end > data_size) {
      st = clnn__error(CLNN_ERROR_FORMAT, "clnn_net_load: '%s' is truncated: tensor '%s' ends at "
                       "byte %llu of the data but the file holds %llu", path, fe->name,
                       (unsigned long long)fe->end, (unsigned long long)data_size);
      goto done;
    }
    m->begin = fe->begin;
    m->end = fe->end;
  }
  for (size_t k = 0; k < ne; k++)
    if (!e[k].found) {
      st = clnn__error(CLNN_ERROR_FORMAT, "clnn_net_load: '%s' has no tensor '%s'", path,
                       e[k].name);
      goto done;
    }
  /* the data must be tiled exactly: no gaps, overlaps or trailing bytes */
  qsort(sorted, p.ne, sizeof(*sorted), cmp_begin);
  uint64_t at = 0;
  for (size_t i = 0; i < p.ne; i++) {
    if (sorted[i]->begin != at) {
      st = clnn__error(CLNN_ERROR_FORMAT, "clnn_net_load: '%s': tensor '%s' starts at byte %llu "
                       "of the data, expected %llu (gap or overlap)", path, sorted[i]->name,
                       (unsigned long long)sorted[i]->begin, (unsigned long long)at);
      goto done;
    }
    at = sorted[i]->end;
  }
  if (at != data_size) {
    st = clnn__error(CLNN_ERROR_FORMAT, "clnn_net_load: '%s': %llu bytes of data follow the last "
                     "tensor", path, (unsigned long long)(data_size - at));
    goto done;
  }
  /* everything checked: write to the device */
  size_t max_numel = 1;
  for (size_t k = 0; k < ne; k++)
    if (e[k].numel > max_numel) max_numel = e[k].numel;
  host = malloc(max_numel * sizeof(float));
  if (!host) {
    st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "clnn_net_load: out of host memory");
    goto done;
  }
  net->replicas_stale = 1; /* data-parallel replicas take the loaded values at the next step */
  for (size_t k = 0; k < ne && st == CLNN_SUCCESS; k++) {
    memcpy(host, data + e[k].begin, e[k].numel * 4);
    if (!host_is_le()) swap4(host, e[k].numel);
    st = clnn_tensor_write(e[k].t, host, e[k].numel);
  }
  if (st != CLNN_SUCCESS) goto done;
  if (with_opt) {
    net->step = p.has_step ? p.meta_step : 0;
    if (p.has_forwards) net->train_forwards = p.meta_forwards;
    if (p.has_seed) net->seed = p.meta_seed; /* keys the dropout masks */
  } else {
    st = clnn__nn_opt_reset(net);
  }
done:
  free(host);
  free(sorted);
  free(e);
  free(p.e);
  return st;
}
