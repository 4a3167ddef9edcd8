/* src/nn/model_st.c — the safetensors side of model files: where the bytes come from (memory for
 * fuzzing, a file descriptor read with pread so that only what is loaded is read), and the header,
 * parsed with cJSON and checked whole before anything else looks at it: the 8-byte size against
 * the file and the 100 MB safetensors limit, every entry (known dtype, shape, data_offsets that
 * match them), names given once, metadata values that are strings, and data_offsets that tile
 * the data exactly (no gap, overlap or trailing bytes). */
#define _POSIX_C_SOURCE 200809L
#include "nn/model_io.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_HEADER ((uint64_t)100 * 1024 * 1024) /* the safetensors limit */
#define MAX_COUNT ((uint64_t)1 << 53)            /* integers JSON readers hold exactly */

/* ---- where the file's bytes come from: memory (fuzzing) or a file descriptor ---- */

int clnn__ms_read(const clnn__ms_src *s, uint64_t off, void *dst, size_t n) {
  if (off > s->size || n > s->size - off) {
    errno = EIO;
    return -1;
  }
  if (s->mem) {
    if (n) memcpy(dst, s->mem + off, n);
    return 0;
  }
  unsigned char *p = dst;
  while (n) {
    ssize_t r = pread(s->fd, p, n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n, (off_t)off);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      if (r == 0) errno = EIO; /* the file shrank while being read */
      return -1;
    }
    p += r;
    n -= (size_t)r;
    off += (uint64_t)r;
  }
  return 0;
}

clnn_status clnn__ms_bad(const char *path, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return clnn__error(CLNN_ERROR_FORMAT, "model file '%s': %s", path, msg);
}

/* ---- bounded JSON parsing ---- */

/* cJSON allocates one item (about 64 bytes) per value, so "[0,0,0,...]" costs 32 times its size.
 * Every value but the first follows a ',', '[' or '{' outside strings; counting those first
 * bounds what parsing allocates. */
cJSON *clnn__ms_parse(const char *s, size_t n, const char *path, const char *what,
                      clnn_status *st) {
  size_t items = 1;
  int in_str = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (in_str) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_str = 0;
    } else if (c == '"') {
      in_str = 1;
    } else if (c == ',' || c == '[' || c == '{') {
      items++;
    }
  }
  if (items > CLNN__MS_MAX_ITEMS) {
    *st = clnn__ms_bad(path, "%s: more than %d JSON values", what, CLNN__MS_MAX_ITEMS);
    return NULL;
  }
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(s, n, &end, 0);
  size_t at = end && end >= s ? (size_t)(end - s) : 0;
  int trailing = 0;
  for (size_t i = at; root && i < n; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') trailing = 1;
  if (!root || trailing) {
    cJSON_Delete(root);
    *st = clnn__ms_bad(path, "%s: malformed JSON (%s byte %zu of %zu)", what,
                       root ? "trailing characters at" : "error at", at, n);
    return NULL;
  }
  *st = CLNN_SUCCESS;
  return root;
}

/* ---- the safetensors header ---- */

void clnn__ms_free(clnn__ms_file *f) {
  cJSON_Delete(f->root);
  free(f->e);
  memset(f, 0, sizeof(*f));
}

static size_t dtype_size(const char *d) {
  static const struct {
    const char *n;
    size_t s;
  } t[] = {{"F64", 8}, {"F32", 4}, {"F16", 2},  {"BF16", 2},    {"I64", 8},
           {"I32", 4}, {"I16", 2}, {"I8", 1},   {"U64", 8},     {"U32", 4},
           {"U16", 2}, {"U8", 1},  {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (strcmp(t[i].n, d) == 0) return t[i].s;
  return 0;
}

static int get_u64(const cJSON *it, uint64_t *v) {
  if (!cJSON_IsNumber(it)) return 0;
  double d = it->valuedouble;
  if (!(d >= 0) || d > (double)MAX_COUNT || (double)(uint64_t)d != d) return 0;
  *v = (uint64_t)d;
  return 1;
}

static int cmp_name(const void *a, const void *b) {
  return strcmp(((const clnn__ms_entry *)a)->name, ((const clnn__ms_entry *)b)->name);
}

static int cmp_begin(const void *a, const void *b) {
  const clnn__ms_entry *x = *(const clnn__ms_entry *const *)a,
                       *y = *(const clnn__ms_entry *const *)b;
  return x->begin < y->begin ? -1 : x->begin > y->begin;
}

static clnn_status parse_entry(const cJSON *it, clnn__ms_entry *e, uint64_t data_size,
                               const char *path) {
  e->name = it->string;
  const cJSON *dt = cJSON_GetObjectItemCaseSensitive(it, "dtype");
  const cJSON *sh = cJSON_GetObjectItemCaseSensitive(it, "shape");
  const cJSON *off = cJSON_GetObjectItemCaseSensitive(it, "data_offsets");
  if (!cJSON_IsObject(it) || !cJSON_IsString(dt) || !dt->valuestring || !cJSON_IsArray(sh) ||
      !cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2)
    return clnn__ms_bad(
        path, "tensor '%.100s' is not {\"dtype\", \"shape\", \"data_offsets\": [begin, end]}",
        e->name);
  e->dtype = dt->valuestring;
  size_t es = dtype_size(e->dtype);
  if (!es)
    return clnn__ms_bad(path, "tensor '%.100s' has an unknown dtype '%.20s'", e->name, e->dtype);
  uint64_t bytes = es;
  for (const cJSON *x = sh->child; x; x = x->next) {
    if (e->ndim == CLNN__MS_MAX_SHAPE || !get_u64(x, &e->shape[e->ndim]))
      return clnn__ms_bad(path, "tensor '%.100s': shape is not 0..%d non-negative integers",
                          e->name, CLNN__MS_MAX_SHAPE);
    /* the byte count must fit the data, which bounds every product */
    if (e->shape[e->ndim] && bytes > data_size / e->shape[e->ndim])
      bytes = data_size + 1;
    else
      bytes *= e->shape[e->ndim];
    e->ndim++;
  }
  for (int d = 0; d < e->ndim; d++)
    if (e->shape[d] == 0) bytes = 0;
  if (!get_u64(off->child, &e->begin) || !get_u64(off->child->next, &e->end) || e->end < e->begin ||
      e->end - e->begin != bytes || e->end > data_size)
    return clnn__ms_bad(path,
                        "tensor '%.100s': data_offsets do not hold its %s%s data within the %llu "
                        "bytes of data (truncated file?)",
                        e->name, bytes > data_size ? "oversized " : "", e->dtype,
                        (unsigned long long)data_size);
  return CLNN_SUCCESS;
}

/* Reads and checks the header: size, JSON, every entry, exact tiling of the data. */
clnn_status clnn__ms_open(const clnn__ms_src *s, const char *path, clnn__ms_file *f) {
  memset(f, 0, sizeof(*f));
  unsigned char len8[8];
  if (s->size < 8)
    return clnn__ms_bad(path,
                        "truncated (%llu bytes; a safetensors file starts with an 8-byte header "
                        "size)",
                        (unsigned long long)s->size);
  if (clnn__ms_read(s, 0, len8, 8) != 0)
    return clnn__error(CLNN_ERROR_IO, "model file '%s': cannot read: %s", path, strerror(errno));
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | len8[i];
  if (hlen > s->size - 8)
    return clnn__ms_bad(
        path,
        "truncated or not a safetensors file: the header size %llu exceeds the %llu "
        "bytes after it",
        (unsigned long long)hlen, (unsigned long long)(s->size - 8));
  if (hlen < 2 || hlen > MAX_HEADER)
    return clnn__ms_bad(path, "header size %llu is not in 2..%llu", (unsigned long long)hlen,
                        (unsigned long long)MAX_HEADER);
  /* a file is read into a copy of its header; memory is parsed where it is */
  char *h = NULL;
  if (!s->mem) {
    h = malloc((size_t)hlen + 1);
    if (!h) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "model file '%s': out of memory", path);
    if (clnn__ms_read(s, 8, h, (size_t)hlen) != 0) {
      free(h);
      return clnn__error(CLNN_ERROR_IO, "model file '%s': cannot read: %s", path, strerror(errno));
    }
    h[hlen] = 0;
  }
  f->data_off = 8 + hlen;
  f->data_size = s->size - 8 - hlen;
  clnn_status st;
  f->root = clnn__ms_parse(h ? h : (const char *)s->mem + 8, (size_t)hlen, path, "header", &st);
  free(h);
  if (!f->root) goto fail;
  if (!cJSON_IsObject(f->root)) {
    st = clnn__ms_bad(path, "the header is not a JSON object");
    goto fail;
  }
  size_t n = 0;
  for (const cJSON *it = f->root->child; it; it = it->next) n++;
  f->e = malloc((n ? n : 1) * sizeof(*f->e));
  if (!f->e) {
    st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "model file '%s': out of memory", path);
    goto fail;
  }
  for (const cJSON *it = f->root->child; it; it = it->next) {
    if (strcmp(it->string, "__metadata__") == 0) {
      if (f->meta || !cJSON_IsObject(it)) {
        st = clnn__ms_bad(path, "__metadata__ is given twice or is not an object");
        goto fail;
      }
      for (const cJSON *m = it->child; m; m = m->next) {
        if (!cJSON_IsString(m) || !m->valuestring) {
          st = clnn__ms_bad(path, "__metadata__ value '%.60s' is not a string", m->string);
          goto fail;
        }
        for (const cJSON *o = it->child; o != m; o = o->next)
          if (strcmp(o->string, m->string) == 0) {
            st = clnn__ms_bad(path, "__metadata__ holds the key '%.60s' twice", m->string);
            goto fail;
          }
      }
      f->meta = it;
      continue;
    }
    clnn__ms_entry *e = &f->e[f->ne];
    memset(e, 0, sizeof(*e));
    if ((st = parse_entry(it, e, f->data_size, path)) != CLNN_SUCCESS) goto fail;
    f->ne++;
  }
  qsort(f->e, f->ne, sizeof(*f->e), cmp_name);
  for (size_t i = 1; i < f->ne; i++)
    if (strcmp(f->e[i - 1].name, f->e[i].name) == 0) {
      st = clnn__ms_bad(path, "tensor '%.100s' is given twice", f->e[i].name);
      goto fail;
    }
  /* the data must be tiled exactly: no gaps, overlaps or trailing bytes */
  const clnn__ms_entry **by = malloc((f->ne ? f->ne : 1) * sizeof(*by));
  if (!by) {
    st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "model file '%s': out of memory", path);
    goto fail;
  }
  for (size_t i = 0; i < f->ne; i++) by[i] = &f->e[i];
  qsort(by, f->ne, sizeof(*by), cmp_begin);
  uint64_t pos = 0;
  for (size_t i = 0; i < f->ne && st == CLNN_SUCCESS; i++) {
    if (by[i]->begin != pos)
      st = clnn__ms_bad(path,
                        "tensor '%.100s' starts at byte %llu of the data, expected %llu (gap or "
                        "overlap)",
                        by[i]->name, (unsigned long long)by[i]->begin, (unsigned long long)pos);
    pos = by[i]->end;
  }
  free(by);
  if (st == CLNN_SUCCESS && pos != f->data_size)
    st = clnn__ms_bad(path, "%llu bytes of data follow the last tensor",
                      (unsigned long long)(f->data_size - pos));
  if (st == CLNN_SUCCESS) return CLNN_SUCCESS;
fail:
  clnn__ms_free(f);
  return st;
}

/* "I32 [4, 1, 3, 3]": an entry's dtype and shape. */
const char *clnn__ms_entry_text(const clnn__ms_entry *e, char *a, size_t size) {
  size_t k = (size_t)snprintf(a, size, "%s [", e->dtype);
  for (int d = 0; d < e->ndim && k < size; d++)
    k +=
        (size_t)snprintf(a + k, size - k, "%s%llu", d ? ", " : "", (unsigned long long)e->shape[d]);
  if (k < size) snprintf(a + k, size - k, "]");
  return a;
}

const clnn__ms_entry *clnn__ms_find(const clnn__ms_file *f, const char *name) {
  clnn__ms_entry key;
  key.name = name;
  return bsearch(&key, f->e, f->ne, sizeof(*f->e), cmp_name);
}

const char *clnn__ms_meta(const clnn__ms_file *f, const char *key) {
  const cJSON *it = f->meta ? cJSON_GetObjectItemCaseSensitive(f->meta, key) : NULL;
  return it ? it->valuestring : NULL;
}

/* A decimal count in the metadata ("step": "12"); 0 if absent, -1 if malformed. */
int clnn__ms_meta_u64(const clnn__ms_file *f, const char *key, uint64_t limit, uint64_t *v) {
  const char *s = clnn__ms_meta(f, key);
  if (!s) return 0;
  uint64_t x = 0;
  if (!*s) return -1;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return -1;
    unsigned d = (unsigned)(*s - '0');
    if (x > (UINT64_MAX - d) / 10) return -1;
    x = x * 10 + d;
  }
  if (x > limit) return -1;
  *v = x;
  return 1;
}
