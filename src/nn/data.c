/* src/nn/data.c — datasets in host memory: the IDX reader (MNIST's file format) that checks every
 * header field against the real file size before allocating anything, datasets built from
 * memory, seeded shuffling (Fisher-Yates over splitmix64, nn_util.c) and mini-batch copies. */
#include "nn_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

struct clnn_dataset {
  size_t n;
  int ndim;
  size_t dims[4];
  size_t numel;   /* floats per sample */
  float *x;       /* [n, numel] */
  int32_t *labels;/* [n] */
  size_t *order;  /* [n] batch order */
  int num_classes;
  clnn__dataset_aug aug; /* augmentation for training batches (augment.c) */
};

clnn__dataset_aug *clnn__nn_dataset_aug(clnn_dataset *ds) { return ds ? &ds->aug : NULL; }

/* ---- IDX ---- */

typedef struct idx_file {
  unsigned char *data; /* payload after the header */
  size_t count;        /* first dimension */
  size_t rows, cols;   /* images only */
} idx_file;

static uint32_t be32(const unsigned char *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Checks an IDX header against the real size of its file, allocating nothing: `hdr` holds the
 * file's first min(file_size, 4 + 4 * want_ndim) bytes. On success the file holds exactly the
 * header and *payload bytes of data (unsigned bytes, dims[0] x dims[1] x dims[2]). */
static clnn_status idx_header(const unsigned char *hdr, uint64_t file_size, int want_ndim,
                              const char *what, const char *path, size_t dims[3],
                              size_t *hdr_size_out, size_t *payload_out) {
  size_t hdr_size = 4 + 4 * (size_t)want_ndim;
  unsigned long long fs = (unsigned long long)file_size;
  if (file_size < 4)
    return clnn__error(CLNN_ERROR_FORMAT, "%s file '%s': truncated: %llu bytes, too short for an "
                       "IDX header", what, path, fs);
  uint32_t magic = be32(hdr);
  uint32_t want_magic = 0x800u | (uint32_t)want_ndim;
  if (magic != want_magic) {
    if (hdr[0] != 0 || hdr[1] != 0)
      return clnn__error(CLNN_ERROR_FORMAT, "%s file '%s': bad magic 0x%08x (expected 0x%08x): "
                         "not an IDX file", what, path, (unsigned)magic, (unsigned)want_magic);
    if (hdr[2] != 0x08)
      return clnn__error(CLNN_ERROR_FORMAT, "%s file '%s': bad magic 0x%08x (expected 0x%08x): "
                         "data type 0x%02x, only unsigned bytes (0x08) are supported", what, path,
                         (unsigned)magic, (unsigned)want_magic, hdr[2]);
    return clnn__error(CLNN_ERROR_FORMAT, "%s file '%s': bad magic 0x%08x (expected 0x%08x): %d "
                       "dimensions, expected %d", what, path, (unsigned)magic,
                       (unsigned)want_magic, hdr[3], want_ndim);
  }
  if (file_size < hdr_size)
    return clnn__error(CLNN_ERROR_FORMAT, "%s file '%s': truncated: %llu bytes, the header alone "
                       "needs %zu", what, path, fs, hdr_size);
  dims[0] = 0;
  dims[1] = dims[2] = 1;
  int ok = 1;
  size_t payload = 1;
  for (int i = 0; i < want_ndim; i++) {
    dims[i] = be32(hdr + 4 + 4 * i);
    if (dims[i] == 0)
      return clnn__error(CLNN_ERROR_FORMAT, "%s file '%s': dimension %d is 0", what, path, i);
    payload = clnn__mul_size(payload, dims[i], &ok);
  }
  if (!ok || payload > SIZE_MAX - hdr_size)
    return clnn__error(CLNN_ERROR_FORMAT, "%s file '%s': dimensions overflow size_t", what, path);
  if (file_size < (uint64_t)(hdr_size + payload))
    return clnn__error(CLNN_ERROR_FORMAT, "%s file '%s': truncated: the header promises %zu bytes "
                       "of data but the file holds %llu", what, path, payload,
                       fs - (unsigned long long)hdr_size);
  if (file_size > (uint64_t)(hdr_size + payload))
    return clnn__error(CLNN_ERROR_FORMAT, "%s file '%s': %llu bytes after the %zu bytes of data "
                       "the header promises", what, path,
                       fs - (unsigned long long)(hdr_size + payload), payload);
  *hdr_size_out = hdr_size;
  *payload_out = payload;
  return CLNN_SUCCESS;
}

static clnn_status idx_parse(const unsigned char *buf, size_t size, int want_ndim, const char *what,
                             const char *name, idx_file *out);

/* A gzip-compressed IDX file (fd is at offset 0; closed here): inflated through zlib into a
 * buffer that grows with the data actually produced, never past what the header claims plus one
 * byte (so a lying header or trailing data is caught by idx_parse, and a small file cannot
 * make it allocate much more than it inflates to), then parsed as in memory. */
static clnn_status idx_read_gz(int fd, const char *path, int want_ndim, const char *what,
                               idx_file *out) {
  gzFile gz = gzdopen(fd, "rb");
  if (!gz) {
    close(fd);
    return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "%s file '%s': cannot start zlib", what, path);
  }
  size_t hdr_size = 4 + 4 * (size_t)want_ndim, len = 0, cap = 0, limit = SIZE_MAX;
  unsigned char *buf = NULL;
  clnn_status st = CLNN_SUCCESS;
  for (;;) {
    if (len == cap) {
      if (cap >= limit) break;
      size_t ncap = cap ? (cap > limit / 2 ? limit : cap * 2) : 1u << 16;
      if (ncap > limit) ncap = limit;
      unsigned char *nb = realloc(buf, ncap);
      if (!nb) {
        st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "%s file '%s': cannot allocate %zu bytes",
                         what, path, ncap);
        goto done;
      }
      buf = nb;
      cap = ncap;
    }
    size_t want = cap - len;
    if (want > (1u << 30)) want = 1u << 30;
    int r = gzread(gz, buf + len, (unsigned)want);
    if (r < 0) {
      int zerr = 0;
      const char *msg = gzerror(gz, &zerr);
      st = clnn__error(CLNN_ERROR_FORMAT, "%s file '%s': corrupt gzip data: %s", what, path,
                       msg ? msg : "zlib error");
      goto done;
    }
    if (r == 0) {
      int zerr = 0;
      const char *msg = gzerror(gz, &zerr);
      if (zerr != Z_OK && zerr != Z_STREAM_END) {
        st = clnn__error(CLNN_ERROR_FORMAT, "%s file '%s': truncated or corrupt gzip data: %s",
                         what, path, msg ? msg : "zlib error");
        goto done;
      }
      break;
    }
    len += (size_t)r;
    if (limit == SIZE_MAX && len >= hdr_size) {
      /* the header's claim bounds the buffer; an impossible claim stops reading here and
       * idx_parse reports it */
      int ok = 1;
      size_t total = 1;
      for (int i = 0; i < want_ndim; i++)
        total = clnn__mul_size(total, be32(buf + 4 + 4 * (size_t)i), &ok);
      limit = ok && total <= SIZE_MAX - hdr_size - 1 ? hdr_size + total + 1 : len;
      if (limit < len) limit = len;
    }
    if (len >= limit) break;
  }
  st = idx_parse(buf ? buf : (const unsigned char *)"", len, want_ndim, what, path, out);
done:
  gzclose(gz);
  free(buf);
  return st;
}

/* Opens an IDX file; when `path` does not exist, also tries the other MNIST naming convention
 * (train-images-idx3-ubyte / train-images.idx3-ubyte) and the name with or without ".gz".
 * Returns the fd (the name it opened in `used`) or -1 with errno from the first try. */
static int idx_open(const char *path, uint64_t *file_size, char *used, size_t used_size) {
  int fd = clnn__open_regular(path, file_size);
  snprintf(used, used_size, "%s", path);
  if (fd >= 0 || errno != ENOENT) return fd;
  int err = errno;
  size_t n = strlen(path);
  if (n + 4 >= used_size) return errno = err, -1;
  char base[4096];
  snprintf(base, sizeof(base), "%s", path);
  int gz = n > 3 && strcmp(base + n - 3, ".gz") == 0;
  if (gz) base[n - 3] = '\0';
  /* the separator before "idx" in the file's own name, if any */
  const char *slash = strrchr(base, '/');
  char *sep = strstr(slash ? slash : base, "idx");
  char other = 0;
  if (sep && sep > (slash ? slash + 1 : base) && (sep[-1] == '-' || sep[-1] == '.'))
    other = sep[-1] == '-' ? '.' : '-';
  for (int v = 0; v < 3; v++) {
    char cand[4096 + 8];
    if (v == 0) {
      snprintf(cand, sizeof(cand), gz ? "%s" : "%s.gz", base);
    } else {
      if (!other) break;
      sep[-1] = other;
      snprintf(cand, sizeof(cand), v == 1 ? "%s" : "%s.gz", base);
      sep[-1] = other == '.' ? '-' : '.';
    }
    fd = clnn__open_regular(cand, file_size);
    if (fd >= 0) {
      size_t cl = strlen(cand); /* < used_size: n + 4 < used_size above */
      memcpy(used, cand, cl < used_size ? cl + 1 : 0);
      return fd;
    }
  }
  errno = err;
  return -1;
}

/* Reads an IDX file of unsigned bytes with `want_ndim` dims (1: labels, 3: images), plain or
 * gzip-compressed (by its first bytes, whatever the name). */
static clnn_status idx_read(const char *path_arg, int want_ndim, const char *what,
                            idx_file *out) {
  memset(out, 0, sizeof(*out));
  /* regular files only: a FIFO or device is refused at once instead of blocking the open */
  uint64_t file_size = 0;
  char path[4096];
  int fd = idx_open(path_arg, &file_size, path, sizeof(path));
  if (fd < 0) {
    int err = errno;
    return clnn__error(CLNN_ERROR_IO, "%s file '%s': cannot open: %s%s", what, path_arg,
                       clnn__file_error(err), err == ENOENT ? " (also tried the other MNIST "
                       "name, '-idx' / '.idx', with and without .gz)" : "");
  }
  clnn_status st = CLNN_SUCCESS;
  unsigned char hdr[16];
  size_t hdr_size = 4 + 4 * (size_t)want_ndim, payload = 0, dims[3];
  size_t have = file_size < hdr_size ? (size_t)file_size : hdr_size;
  if (clnn__read_fd(fd, hdr, have) != 0) {
    st = clnn__error(CLNN_ERROR_IO, "%s file '%s': read error", what, path);
    goto done;
  }
  if (have >= 2 && hdr[0] == 0x1f && hdr[1] == 0x8b) { /* gzip */
    if (lseek(fd, 0, SEEK_SET) != 0) {
      st = clnn__error(CLNN_ERROR_IO, "%s file '%s': cannot seek", what, path);
      goto done;
    }
    return idx_read_gz(fd, path, want_ndim, what, out);
  }
  st = idx_header(hdr, (uint64_t)file_size, want_ndim, what, path, dims, &hdr_size, &payload);
  if (st != CLNN_SUCCESS) goto done;
  /* the claim now matches the file's real size: the allocation is as big as the file */
  out->data = malloc(payload);
  if (!out->data) {
    st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "%s file '%s': cannot allocate %zu bytes", what,
                     path, payload);
    goto done;
  }
  if (clnn__read_fd(fd, out->data, payload) != 0) {
    free(out->data);
    out->data = NULL;
    st = clnn__error(CLNN_ERROR_IO, "%s file '%s': read error", what, path);
    goto done;
  }
  out->count = dims[0];
  out->rows = dims[1];
  out->cols = dims[2];
done:
  close(fd);
  return st;
}

/* The same from `size` bytes in memory (`name` stands for the path in messages). */
static clnn_status idx_parse(const unsigned char *buf, size_t size, int want_ndim, const char *what,
                             const char *name, idx_file *out) {
  memset(out, 0, sizeof(*out));
  size_t hdr_size = 0, payload = 0, dims[3];
  clnn_status st = idx_header(buf, (uint64_t)size, want_ndim, what, name, dims, &hdr_size, &payload);
  if (st != CLNN_SUCCESS) return st;
  out->data = malloc(payload);
  if (!out->data)
    return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "%s file '%s': cannot allocate %zu bytes", what,
                       name, payload);
  memcpy(out->data, buf + hdr_size, payload);
  out->count = dims[0];
  out->rows = dims[1];
  out->cols = dims[2];
  return CLNN_SUCCESS;
}

static void identity_order(clnn_dataset *ds) {
  for (size_t i = 0; i < ds->n; i++) ds->order[i] = i;
}

/* A dataset with room for n samples of the given dims (contents unset). */
static clnn_status ds_alloc(size_t n, int ndim, const size_t *dims, clnn_dataset **out) {
  int ok = 1;
  size_t numel = clnn__nn_prod(ndim, dims);
  size_t total = clnn__mul_size(n, numel, &ok);
  total = clnn__mul_size(total, sizeof(float), &ok);
  size_t obytes = clnn__mul_size(n, sizeof(size_t), &ok);
  if (!ok || numel == 0)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "dataset of %zu samples of %zu values "
                       "overflows size_t", n, numel);
  clnn_dataset *ds = calloc(1, sizeof(*ds));
  if (!ds) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate a dataset");
  ds->x = malloc(total);
  ds->labels = malloc(n * sizeof(int32_t));
  ds->order = malloc(obytes);
  if (!ds->x || !ds->labels || !ds->order) {
    clnn_dataset_destroy(ds);
    return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate %zu bytes for a dataset", total);
  }
  ds->n = n;
  ds->ndim = ndim;
  for (int i = 0; i < ndim; i++) ds->dims[i] = dims[i];
  ds->numel = numel;
  identity_order(ds);
  *out = ds;
  return CLNN_SUCCESS;
}

/* A dataset from a parsed image file and label file; frees both. */
static clnn_status idx_dataset(idx_file *img, idx_file *lab, const char *images_path,
                               const char *labels_path, clnn_dataset **out) {
  clnn_status st = CLNN_SUCCESS;
  if (lab && img->count != lab->count) {
    st = clnn__error(CLNN_ERROR_FORMAT, "IDX files disagree: '%s' holds %zu images but '%s' holds "
                     "%zu labels", images_path, img->count, labels_path, lab->count);
    goto done;
  }
  size_t dims[3] = {1, img->rows, img->cols};
  clnn_dataset *ds = NULL;
  st = ds_alloc(img->count, 3, dims, &ds);
  if (st != CLNN_SUCCESS) goto done;
  size_t total = img->count * ds->numel;
  for (size_t i = 0; i < total; i++) ds->x[i] = (float)img->data[i] / 255.0f;
  int maxl = 0;
  for (size_t i = 0; i < img->count; i++) {
    ds->labels[i] = lab ? lab->data[i] : 0;
    if (ds->labels[i] > maxl) maxl = ds->labels[i];
  }
  ds->num_classes = maxl + 1;
  *out = ds;
done:
  free(img->data);
  if (lab) free(lab->data);
  return st;
}

clnn_status clnn_dataset_load_idx(const char *images_path, const char *labels_path,
                                  clnn_dataset **out) {
  if (!images_path || !out)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_dataset_load_idx: %s is NULL",
                       !images_path ? "images_path" : "out");
  idx_file img, lab;
  clnn_status st = idx_read(images_path, 3, "images", &img);
  if (st != CLNN_SUCCESS) return st;
  if (!labels_path) return idx_dataset(&img, NULL, images_path, NULL, out);
  st = idx_read(labels_path, 1, "labels", &lab);
  if (st != CLNN_SUCCESS) {
    free(img.data);
    return st;
  }
  return idx_dataset(&img, &lab, images_path, labels_path, out);
}

clnn_status clnn__nn_dataset_from_idx(const unsigned char *images, size_t images_size,
                                      const unsigned char *labels, size_t labels_size,
                                      clnn_dataset **out) {
  if ((!images && images_size) || (!labels && labels_size) || !out)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn__nn_dataset_from_idx: NULL argument");
  static const unsigned char none[1] = {0};
  idx_file img, lab;
  clnn_status st = idx_parse(images ? images : none, images_size, 3, "images", "<memory>", &img);
  if (st != CLNN_SUCCESS) return st;
  st = idx_parse(labels ? labels : none, labels_size, 1, "labels", "<memory>", &lab);
  if (st != CLNN_SUCCESS) {
    free(img.data);
    return st;
  }
  return idx_dataset(&img, &lab, "<memory>", "<memory>", out);
}

clnn_status clnn_dataset_create(size_t n, int sample_ndim, const size_t *sample_dims,
                                const float *x, size_t x_count, const int32_t *labels,
                                size_t labels_count, clnn_dataset **out) {
  if (!out || !x || !sample_dims)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_dataset_create: %s is NULL",
                       !out ? "out" : !x ? "x" : "sample_dims");
  if (n == 0) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_dataset_create: n is 0");
  if (sample_ndim < 1 || sample_ndim > 4)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_dataset_create: sample_ndim %d is not "
                       "in 1..4", sample_ndim);
  for (int i = 0; i < sample_ndim; i++)
    if (sample_dims[i] == 0)
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_dataset_create: sample_dims[%d] is 0",
                         i);
  /* the caller's buffer lengths, before anything is read from them */
  int ok = 1;
  size_t need = n;
  for (int i = 0; i < sample_ndim; i++) need = clnn__mul_size(need, sample_dims[i], &ok);
  if (!ok)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_dataset_create: %zu samples overflow "
                       "size_t", n);
  if (x_count != need)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_dataset_create: x_count is %zu but %zu "
                       "samples of %zu floats need %zu", x_count, n, need / n, need);
  if (labels && labels_count != n)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_dataset_create: labels_count is %zu but "
                       "%zu samples need %zu labels", labels_count, n, n);
  int maxl = 0;
  if (labels) {
    for (size_t i = 0; i < n; i++) {
      if (labels[i] < 0)
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_dataset_create: labels[%zu] = %d is "
                           "negative", i, (int)labels[i]);
      if (labels[i] > maxl) maxl = labels[i];
    }
  }
  if (maxl == INT_MAX)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_dataset_create: label too large");
  clnn_dataset *ds = NULL;
  clnn_status st = ds_alloc(n, sample_ndim, sample_dims, &ds);
  if (st != CLNN_SUCCESS) return st;
  memcpy(ds->x, x, n * ds->numel * sizeof(float));
  if (labels) memcpy(ds->labels, labels, n * sizeof(int32_t));
  else memset(ds->labels, 0, n * sizeof(int32_t));
  ds->num_classes = maxl + 1;
  *out = ds;
  return CLNN_SUCCESS;
}

void clnn_dataset_destroy(clnn_dataset *ds) {
  if (!ds) return;
  free(ds->x);
  free(ds->labels);
  free(ds->order);
  free(ds);
}

size_t clnn_dataset_size(const clnn_dataset *ds) { return ds ? ds->n : 0; }
size_t clnn_dataset_sample_numel(const clnn_dataset *ds) { return ds ? ds->numel : 0; }
int clnn_dataset_num_classes(const clnn_dataset *ds) { return ds ? ds->num_classes : 0; }
const float *clnn_dataset_data(const clnn_dataset *ds) { return ds ? ds->x : NULL; }
const int32_t *clnn_dataset_labels(const clnn_dataset *ds) { return ds ? ds->labels : NULL; }

int clnn_dataset_sample_dims(const clnn_dataset *ds, size_t dims[CLNN_MAX_DIMS]) {
  if (!ds) return 0;
  if (dims)
    for (int i = 0; i < ds->ndim; i++) dims[i] = ds->dims[i];
  return ds->ndim;
}

clnn_status clnn_dataset_shuffle(clnn_dataset *ds, uint64_t seed) {
  if (!ds) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_dataset_shuffle: ds is NULL");
  identity_order(ds);
  uint64_t s = seed;
  for (size_t i = ds->n; i > 1; i--) {
    /* unbiased index in [0, i): rejection on the top of the 64-bit range */
    uint64_t bound = (uint64_t)i, limit = UINT64_MAX - UINT64_MAX % bound, r;
    do r = clnn__nn_splitmix64(&s);
    while (r >= limit);
    size_t j = (size_t)(r % bound);
    size_t t = ds->order[i - 1];
    ds->order[i - 1] = ds->order[j];
    ds->order[j] = t;
  }
  return CLNN_SUCCESS;
}

clnn_status clnn__nn_dataset_batch(const clnn_dataset *ds, size_t first, size_t count, float *x,
                                   size_t x_count, int32_t *labels, size_t labels_count,
                                   const char *fn) {
  if (!ds || !x)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                       !ds ? "ds" : "x");
  if (count == 0 || first > ds->n || count > ds->n - first)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: samples %zu..%zu are "
                       "not within the dataset's %zu", fn, first, first + count, ds->n);
  if (x_count != count * ds->numel) /* count <= n: no overflow */
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: x_count is %zu but %zu "
                       "samples of %zu floats need %zu", fn, x_count, count, ds->numel,
                       count * ds->numel);
  if (labels && labels_count != count)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: labels_count is %zu but "
                       "%zu samples need %zu labels", fn, labels_count, count, count);
  for (size_t i = 0; i < count; i++) {
    size_t k = ds->order[first + i];
    memcpy(x + i * ds->numel, ds->x + k * ds->numel, ds->numel * sizeof(float));
    if (labels) labels[i] = ds->labels[k];
  }
  return CLNN_SUCCESS;
}

clnn_status clnn_dataset_batch(const clnn_dataset *ds, size_t first, size_t count, float *x,
                               size_t x_count, int32_t *labels, size_t labels_count) {
  return clnn__nn_dataset_batch(ds, first, count, x, x_count, labels, labels_count,
                                "clnn_dataset_batch");
}
