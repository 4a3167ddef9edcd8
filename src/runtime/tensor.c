/* src/runtime/tensor.c — fp32 tensors of 1 to 5 dimensions on a context's device: create, wrap a
 * caller's cl_mem, write, read, fill, copy, reshape; and the argument checks every operator uses. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t clnn__mul_size(size_t a, size_t b, int *ok) {
  if (a != 0 && b > SIZE_MAX / a) {
    *ok = 0;
    return 0;
  }
  return a * b;
}

const char *clnn__dims_str_raw(int ndim, const size_t *dims, char *buf, size_t size) {
  size_t off = 0;
  if (!size) return buf;
  buf[0] = 0;
  off += (size_t)snprintf(buf, size, "[");
  for (int i = 0; i < ndim && off < size; i++)
    off += (size_t)snprintf(buf + off, size - off, i ? ", %zu" : "%zu", dims[i]);
  if (off < size) snprintf(buf + off, size - off, "]");
  return buf;
}

const char *clnn__dims_str(const clnn_tensor *t, char *buf, size_t size) {
  if (!t) {
    snprintf(buf, size, "(null)");
    return buf;
  }
  return clnn__dims_str_raw(t->ndim, t->dims, buf, size);
}

clnn_status clnn__check_tensor(const clnn_context *ctx, const clnn_tensor *t, const char *name) {
  if (!ctx) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "context is NULL");
  if (!t) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "tensor %s is NULL", name);
  if (t->ctx != ctx)
    return clnn__error(CLNN_ERROR_CONTEXT_MISMATCH, "tensor %s belongs to another context", name);
  if (ctx->destroy_pending) {
    char what[96];
    snprintf(what, sizeof what, "tensor %s", name);
    return clnn__context_check_live(ctx, what);
  }
  return CLNN_SUCCESS;
}

clnn_status clnn__check_tensor_in(const char *fn, const clnn_context *ctx, const clnn_tensor *t,
                                  const char *name) {
  return clnn__prefix_error(fn, clnn__check_tensor(ctx, t, name));
}

int clnn__same_dims(const clnn_tensor *a, const clnn_tensor *b) {
  if (a->ndim != b->ndim) return 0;
  for (int d = 0; d < a->ndim; d++)
    if (a->dims[d] != b->dims[d]) return 0;
  return 1;
}

clnn_status clnn__check_same_shape(const char *fn, const clnn_tensor *a, const char *a_name,
                                   const clnn_tensor *b, const char *b_name) {
  if (clnn__same_dims(a, b)) return CLNN_SUCCESS;
  char sa[128], sb[128];
  return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: %s has shape %s but %s has shape %s", fn, a_name,
                     clnn__dims_str(a, sa, sizeof sa), b_name, clnn__dims_str(b, sb, sizeof sb));
}

clnn_status clnn__check_same_numel(const char *fn, const clnn_tensor *a, const char *a_name,
                                   const clnn_tensor *b, const char *b_name) {
  if (a->numel == b->numel) return CLNN_SUCCESS;
  char sa[128], sb[128];
  return clnn__error(CLNN_ERROR_SHAPE_MISMATCH,
                     "%s: %s has shape %s (%zu elements) but %s has shape %s (%zu elements); "
                     "they must have the same number of elements",
                     fn, a_name, clnn__dims_str(a, sa, sizeof sa), a->numel, b_name,
                     clnn__dims_str(b, sb, sizeof sb), b->numel);
}

clnn_status clnn__check_distinct(const char *fn, const clnn_tensor *const *t,
                                 const char *const *names, int count) {
  for (int i = 0; i < count; i++)
    for (int j = i + 1; j < count; j++)
      if (t[i] && t[j] && t[i]->mem == t[j]->mem)
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: %s and %s share one buffer; they "
                           "must be distinct tensors", fn, names[i], names[j]);
  return CLNN_SUCCESS;
}

clnn_status clnn__check_cross(const char *fn, const clnn_tensor *const *a, const char *const *a_names,
                              int na, const clnn_tensor *const *b, const char *const *b_names, int nb) {
  for (int i = 0; i < na; i++)
    for (int j = 0; j < nb; j++)
      if (a[i] && b[j] && &a[i] != &b[j] && a[i]->mem == b[j]->mem)
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: %s and %s share one buffer; they "
                           "must be distinct tensors", fn, a_names[i], b_names[j]);
  return CLNN_SUCCESS;
}

clnn_status clnn__check_dims(const clnn_tensor *t, const char *name, int ndim, const size_t *dims) {
  int same = t->ndim == ndim;
  for (int i = 0; same && i < ndim; i++) same = t->dims[i] == dims[i];
  if (!same) {
    char a[128], b[128];
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "tensor %s has shape %s, expected %s", name,
                       clnn__dims_str(t, a, sizeof a), clnn__dims_str_raw(ndim, dims, b, sizeof b));
  }
  return CLNN_SUCCESS;
}

clnn_status clnn__check_numel(const clnn_tensor *t, const char *name, size_t numel) {
  if (t->numel != numel) {
    char a[128];
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "tensor %s has shape %s (%zu elements), expected %zu elements",
                       name, clnn__dims_str(t, a, sizeof a), t->numel, numel);
  }
  return CLNN_SUCCESS;
}

clnn_status clnn__check_beta(float beta) {
  if (!isfinite(beta)) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "beta must be finite (0 overwrites, 1 accumulates)");
  return CLNN_SUCCESS;
}

clnn_status clnn__check_alias(const char *fn, const clnn_tensor *out, const char *out_name,
                              const clnn_tensor *in, const char *in_name) {
  if (!out || !in || out->mem != in->mem) return CLNN_SUCCESS;
  return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: %s and %s share one buffer; %s does not "
                     "work in place (pass a separate output tensor)", fn, out_name, in_name, fn);
}

/* Validates ndim/dims and computes numel and bytes. */
static clnn_status check_shape(const clnn_context *ctx, int ndim, const size_t *dims, size_t *numel,
                               const char *fn) {
  if (ndim < 1 || ndim > CLNN_MAX_DIMS)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: ndim is %d, must be 1..%d", fn, ndim, CLNN_MAX_DIMS);
  if (!dims) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: dims is NULL", fn);
  size_t n = 1;
  int ok = 1;
  for (int i = 0; i < ndim; i++) {
    if (dims[i] == 0)
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: dimension %d is zero (every dimension must be > 0)", fn, i);
    n = clnn__mul_size(n, dims[i], &ok);
    if (!ok) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: the element count overflows size_t", fn);
  }
  clnn__mul_size(n, sizeof(float), &ok);
  if (!ok) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: the byte size overflows size_t", fn);
  if (ctx && (uint64_t)n * sizeof(float) > ctx->info.max_alloc_bytes) {
    char b[160];
    return clnn__error(CLNN_ERROR_OUT_OF_MEMORY,
                       "%s: tensor %s needs %llu bytes, more than the device's max allocation "
                       "(CL_DEVICE_MAX_MEM_ALLOC_SIZE = %llu bytes)",
                       fn, clnn__dims_str_raw(ndim, dims, b, sizeof b),
                       (unsigned long long)n * sizeof(float), (unsigned long long)ctx->info.max_alloc_bytes);
  }
  *numel = n;
  return CLNN_SUCCESS;
}

static clnn_status new_tensor(clnn_context *ctx, int ndim, const size_t *dims, size_t numel,
                              cl_mem mem, int wrapped, clnn_tensor **out) {
  clnn_tensor *t = calloc(1, sizeof *t);
  if (!t) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "out of host memory");
  t->ctx = ctx;
  t->mem = mem;
  t->wrapped = wrapped;
  t->ndim = ndim;
  for (int i = 0; i < ndim; i++) t->dims[i] = dims[i];
  t->numel = numel;
  clnn_status s = clnn__context_hold(ctx, "clnn_tensor_create");
  if (s != CLNN_SUCCESS) {
    free(t);
    return s;
  }
  *out = t;
  return CLNN_SUCCESS;
}

clnn_status clnn_tensor_create(clnn_context *ctx, int ndim, const size_t *dims, clnn_tensor **out) {
  if (!out) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_tensor_create: out is NULL");
  *out = NULL;
  if (!ctx) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_tensor_create: ctx is NULL");
  clnn_status live = clnn__context_check_live(ctx, "clnn_tensor_create");
  if (live != CLNN_SUCCESS) return live;
  size_t numel;
  clnn_status s = check_shape(ctx, ndim, dims, &numel, "clnn_tensor_create");
  if (s != CLNN_SUCCESS) return s;
  cl_int err;
  cl_mem m = clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_WRITE, numel * sizeof(float), NULL, &err);
  if (!m) return clnn__cl_error(err, "clnn_tensor_create: clCreateBuffer");
  s = new_tensor(ctx, ndim, dims, numel, m, 0, out);
  if (s != CLNN_SUCCESS) clReleaseMemObject(m);
  return s;
}

clnn_status clnn_tensor_wrap(clnn_context *ctx, cl_mem mem, int ndim, const size_t *dims, clnn_tensor **out) {
  if (!out) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_tensor_wrap: out is NULL");
  *out = NULL;
  if (!ctx || !mem) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_tensor_wrap: ctx and mem must be non-NULL");
  clnn_status live = clnn__context_check_live(ctx, "clnn_tensor_wrap");
  if (live != CLNN_SUCCESS) return live;
  size_t numel;
  clnn_status s = check_shape(ctx, ndim, dims, &numel, "clnn_tensor_wrap");
  if (s != CLNN_SUCCESS) return s;
  size_t bytes = 0;
  cl_context mctx = NULL;
  cl_int err = clGetMemObjectInfo(mem, CL_MEM_SIZE, sizeof bytes, &bytes, NULL);
  if (err != CL_SUCCESS) return clnn__cl_error(err, "clnn_tensor_wrap: mem is not a valid buffer");
  clGetMemObjectInfo(mem, CL_MEM_CONTEXT, sizeof mctx, &mctx, NULL);
  if (mctx != ctx->cl_ctx)
    return clnn__error(CLNN_ERROR_CONTEXT_MISMATCH, "clnn_tensor_wrap: mem belongs to another OpenCL context");
  if (bytes < numel * sizeof(float))
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "clnn_tensor_wrap: buffer has %zu bytes, the shape needs %zu",
                       bytes, numel * sizeof(float));
  clRetainMemObject(mem);
  s = new_tensor(ctx, ndim, dims, numel, mem, 1, out);
  if (s != CLNN_SUCCESS) clReleaseMemObject(mem);
  return s;
}

void clnn_tensor_destroy(clnn_tensor *t) {
  if (!t) return;
  clnn_context *ctx = t->ctx;
  if (t->mem) clReleaseMemObject(t->mem);
  free(t);
  clnn__context_drop(ctx); /* frees a destroyed context with its last object */
}

clnn_status clnn_tensor_write(clnn_tensor *t, const float *src, size_t count) {
  if (!t || !src) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_tensor_write: tensor and src must be non-NULL");
  clnn_status live = clnn__context_check_live(t->ctx, "clnn_tensor_write");
  if (live != CLNN_SUCCESS) return live;
  if (count != t->numel)
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "clnn_tensor_write: count is %zu, the tensor has %zu elements", count, t->numel);
  cl_int err = clEnqueueWriteBuffer(t->ctx->queue, t->mem, CL_TRUE, 0, count * sizeof(float), src, 0, NULL, NULL);
  if (err != CL_SUCCESS) return clnn__cl_error(err, "clnn_tensor_write: clEnqueueWriteBuffer");
  return CLNN_SUCCESS;
}

clnn_status clnn_tensor_read(const clnn_tensor *t, float *dst, size_t count) {
  if (!t || !dst) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_tensor_read: tensor and dst must be non-NULL");
  clnn_status live = clnn__context_check_live(t->ctx, "clnn_tensor_read");
  if (live != CLNN_SUCCESS) return live;
  if (count != t->numel)
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "clnn_tensor_read: count is %zu, the tensor has %zu elements", count, t->numel);
  cl_int err = clEnqueueReadBuffer(t->ctx->queue, t->mem, CL_TRUE, 0, count * sizeof(float), dst, 0, NULL, NULL);
  if (err != CL_SUCCESS) return clnn__cl_error(err, "clnn_tensor_read: clEnqueueReadBuffer");
  return CLNN_SUCCESS;
}

/* Non-blocking copies of a whole tensor for the multi-device executor: a read whose completion
 * `ev` reports (the caller releases it), and a write the queue orders before later work. */
clnn_status clnn__tensor_read_async(const clnn_tensor *t, float *dst, cl_event *ev) {
  cl_int err = clEnqueueReadBuffer(t->ctx->queue, t->mem, CL_FALSE, 0, t->numel * sizeof(float),
                                   dst, 0, NULL, ev);
  if (err != CL_SUCCESS) {
    if (ev) *ev = NULL;
    return clnn__cl_error(err, "clEnqueueReadBuffer (non-blocking read)");
  }
  return CLNN_SUCCESS;
}

clnn_status clnn__tensor_write_async(clnn_tensor *t, const float *src) {
  cl_int err = clEnqueueWriteBuffer(t->ctx->queue, t->mem, CL_FALSE, 0, t->numel * sizeof(float),
                                    src, 0, NULL, NULL);
  if (err != CL_SUCCESS) return clnn__cl_error(err, "clEnqueueWriteBuffer (non-blocking write)");
  return CLNN_SUCCESS;
}

clnn_status clnn__context_flush(clnn_context *ctx) {
  cl_int err = clFlush(ctx->queue);
  return err == CL_SUCCESS ? CLNN_SUCCESS : clnn__cl_error(err, "clFlush");
}

clnn_status clnn__context_finish(clnn_context *ctx) {
  cl_int err = clFinish(ctx->queue);
  return err == CL_SUCCESS ? CLNN_SUCCESS : clnn__cl_error(err, "clFinish");
}

clnn_status clnn_tensor_fill(clnn_tensor *t, float value) {
  if (!t) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_tensor_fill: tensor is NULL");
  clnn_status live = clnn__context_check_live(t->ctx, "clnn_tensor_fill");
  if (live != CLNN_SUCCESS) return live;
  cl_int err = clEnqueueFillBuffer(t->ctx->queue, t->mem, &value, sizeof value, 0, t->numel * sizeof(float), 0, NULL, NULL);
  if (err != CL_SUCCESS) return clnn__cl_error(err, "clnn_tensor_fill: clEnqueueFillBuffer");
  return CLNN_SUCCESS;
}

clnn_status clnn_tensor_copy(clnn_tensor *dst, const clnn_tensor *src) {
  if (!dst || !src) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_tensor_copy: dst and src must be non-NULL");
  if (dst->ctx != src->ctx) return clnn__error(CLNN_ERROR_CONTEXT_MISMATCH, "clnn_tensor_copy: dst and src belong to different contexts");
  clnn_status live = clnn__context_check_live(dst->ctx, "clnn_tensor_copy");
  if (live != CLNN_SUCCESS) return live;
  if (dst->numel != src->numel)
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "clnn_tensor_copy: dst has %zu elements, src %zu", dst->numel, src->numel);
  if (dst == src || dst->mem == src->mem) return CLNN_SUCCESS; /* a copy onto itself */
  cl_int err = clEnqueueCopyBuffer(dst->ctx->queue, src->mem, dst->mem, 0, 0, src->numel * sizeof(float), 0, NULL, NULL);
  if (err != CL_SUCCESS) return clnn__cl_error(err, "clnn_tensor_copy: clEnqueueCopyBuffer");
  return CLNN_SUCCESS;
}

clnn_status clnn_tensor_reshape(clnn_tensor *t, int ndim, const size_t *dims) {
  if (!t) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_tensor_reshape: tensor is NULL");
  size_t numel;
  clnn_status s = check_shape(NULL, ndim, dims, &numel, "clnn_tensor_reshape");
  if (s != CLNN_SUCCESS) return s;
  if (numel != t->numel) {
    char a[128], b[128];
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "clnn_tensor_reshape: %s has %zu elements, %s has %zu",
                       clnn__dims_str(t, a, sizeof a), t->numel, clnn__dims_str_raw(ndim, dims, b, sizeof b), numel);
  }
  t->ndim = ndim;
  for (int i = 0; i < CLNN_MAX_DIMS; i++) t->dims[i] = i < ndim ? dims[i] : 0;
  return CLNN_SUCCESS;
}

int clnn_tensor_ndim(const clnn_tensor *t) { return t ? t->ndim : 0; }
size_t clnn_tensor_dim(const clnn_tensor *t, int i) { return (t && i >= 0 && i < t->ndim) ? t->dims[i] : 0; }
size_t clnn_tensor_numel(const clnn_tensor *t) { return t ? t->numel : 0; }
cl_mem clnn_tensor_cl_mem(const clnn_tensor *t) { return t ? t->mem : NULL; }
clnn_context *clnn_tensor_context(const clnn_tensor *t) { return t ? t->ctx : NULL; }
