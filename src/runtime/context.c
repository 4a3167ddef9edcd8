/* src/runtime/context.c — contexts: creating one on a selected device (or wrapping the caller's
 * OpenCL objects without taking ownership), options and environment, destroy, and the grow-only
 * workspace buffers operators use for scratch. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* The kernels this file launches. */
static clnn__kernel_ref k_clnn_selftest = CLNN_KERNEL_REF("runtime", "clnn_selftest");

void clnn__programs_release(clnn_context *ctx);   /* src/runtime/program.c */

void clnn_context_options_init(clnn_context_options *options) {
  if (!options) return;
  memset(options, 0, sizeof *options);
  options->struct_size = (uint32_t)sizeof *options;
}

/* Resolves the cache directory: option, $CLNN_CACHE_DIR, $XDG_CACHE_HOME/clnn, ~/.cache/clnn. */
static char *resolve_cache_dir(const char *opt) {
  const char *v = opt ? opt : getenv("CLNN_CACHE_DIR");
  if (v && *v) {
    if (!strcmp(v, "off") || !strcmp(v, "OFF") || !strcmp(v, "0")) return NULL;
    return clnn__strdup(v);
  }
  char buf[4096];
  const char *xdg = getenv("XDG_CACHE_HOME");
  const char *home = getenv("HOME");
  if (xdg && *xdg) snprintf(buf, sizeof buf, "%s/clnn", xdg);
  else if (home && *home) snprintf(buf, sizeof buf, "%s/.cache/clnn", home);
  else return NULL;
  return clnn__strdup(buf);
}

/* The device class a context runs as: clnn_context_options.device_class, else $CLNN_DEVICE_CLASS,
 * else (*cls unchanged) the device's own type. Forcing "gpu" on a CPU device runs the GPU-shaped
 * kernels, launch sizes and the CLBlast GEMM path there, so CI checks them (docs/ARCHITECTURE.md,
 * "Device classes"). */
static clnn_status resolve_device_class(const clnn_context_options *o, clnn_device_type *cls) {
  if (o && o->device_class != CLNN_DEVICE_OTHER) {
    if (o->device_class != CLNN_DEVICE_CPU && o->device_class != CLNN_DEVICE_GPU &&
        o->device_class != CLNN_DEVICE_ACCELERATOR)
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                         "clnn_context_options.device_class is %d: use CLNN_DEVICE_CPU, CLNN_DEVICE_GPU, "
                         "CLNN_DEVICE_ACCELERATOR or 0 (the device's own type)",
                         (int)o->device_class);
    *cls = o->device_class;
    return CLNN_SUCCESS;
  }
  const char *v = getenv("CLNN_DEVICE_CLASS");
  if (!v || !*v) return CLNN_SUCCESS;
  static const struct { const char *name; clnn_device_type type; } names[] = {
      {"gpu", CLNN_DEVICE_GPU}, {"cpu", CLNN_DEVICE_CPU}, {"accelerator", CLNN_DEVICE_ACCELERATOR}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (!strcmp(v, names[i].name)) {
      *cls = names[i].type;
      clnn__log(CLNN_LOG_INFO, "running as device class %s (CLNN_DEVICE_CLASS)", v);
      return CLNN_SUCCESS;
    }
  return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                     "CLNN_DEVICE_CLASS=\"%s\": use gpu, cpu or accelerator (or unset it)", v);
}

/* Caps the limits the context reports and every launch-size and local-memory decision uses:
 * clnn_context_options.max_work_group_size / max_local_mem_bytes, else $CLNN_DEVICE_LIMITS
 * ("wg=64,local=16384"; either part may be left out), so the tests can run every kernel as on a
 * device with small limits (docs/ARCHITECTURE.md, "Device classes"). Never raises a limit. */
static void cap_limit(uint64_t cap, uint64_t *have) {
  if (cap && (cap < *have || !*have)) *have = cap;
}

static clnn_status apply_device_limits(clnn_context *ctx, const clnn_context_options *o) {
  uint64_t wg = 0, local = 0;
  const char *v = getenv("CLNN_DEVICE_LIMITS");
  for (const char *p = v ? v : ""; *p;) {
    char key[16];
    unsigned long long n = 0;
    int used = 0;
    if (sscanf(p, "%15[a-z]=%llu%n", key, &n, &used) != 2 || n == 0 || (p[used] && p[used] != ','))
      goto bad;
    if (!strcmp(key, "wg")) wg = n;
    else if (!strcmp(key, "local")) local = n;
    else goto bad;
    p += used;
    if (*p == ',') p++;
  }
  if (o && o->max_work_group_size) wg = o->max_work_group_size;
  if (o && o->max_local_mem_bytes) local = o->max_local_mem_bytes;
  if (!wg && !local) return CLNN_SUCCESS;
  uint64_t have_wg = ctx->info.max_work_group_size;
  cap_limit(wg, &have_wg);
  ctx->info.max_work_group_size = (size_t)have_wg;
  cap_limit(local, &ctx->info.local_mem_bytes);
  clnn__log(CLNN_LOG_INFO, "device limits capped: work-group %zu, local memory %llu bytes",
            ctx->info.max_work_group_size, (unsigned long long)ctx->info.local_mem_bytes);
  return CLNN_SUCCESS;
bad:
  return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                     "CLNN_DEVICE_LIMITS=\"%s\": use wg=N and/or local=BYTES, comma-separated, each above 0 "
                     "(e.g. wg=64,local=16384), or unset it", v);
}

static clnn_status finish_init(clnn_context *ctx, const clnn_context_options *o) {
  ctx->cache_dir = resolve_cache_dir(o ? o->cache_dir : NULL);
  const char *bd = (o && o->binary_dir) ? o->binary_dir : getenv("CLNN_BINARY_DIR");
  ctx->binary_dir = (bd && *bd) ? clnn__strdup(bd) : NULL;
  ctx->binaries_only = (o && o->binaries_only) || !ctx->info.compiler_available;
  ctx->force_clblast = o ? o->force_clblast : 0;
  const char *fc = getenv("CLNN_FORCE_CLBLAST");
  if (fc && *fc && strcmp(fc, "0")) ctx->force_clblast = 1;
  clnn_device_type cls = ctx->info.type;
  clnn_status cs = resolve_device_class(o, &cls);
  if (cs != CLNN_SUCCESS) return cs;
  cs = apply_device_limits(ctx, o);
  if (cs != CLNN_SUCCESS) return cs;
  ctx->device_class = cls == CLNN_DEVICE_GPU           ? CLNN_DEVICE_CLASS_GPU
                      : cls == CLNN_DEVICE_ACCELERATOR ? CLNN_DEVICE_CLASS_ACCELERATOR
                                                       : CLNN_DEVICE_CLASS_CPU;
  if (ctx->binaries_only && !ctx->binary_dir)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "device \"%s\" %s, so kernels must be loaded from prebuilt binaries: set "
                       "CLNN_BINARY_DIR or clnn_context_options.binary_dir (export them with "
                       "clnn-info --export-binaries DIR on a machine that can compile for it)",
                       ctx->info.name,
                       ctx->info.compiler_available ? "was asked to use binaries only" : "has no compiler");
  /* Tuned GEMM parameters: resolved here, once per context (the only time a tuned file is read),
   * then CLBlast's overrides are applied from them. */
  clnn__tune_resolve(&ctx->info, ctx->cache_dir, &ctx->tune);
  clnn__gemm_context_init(ctx);
  return CLNN_SUCCESS;
}

clnn_status clnn_context_create(const clnn_context_options *options, clnn_context **out) {
  if (!out) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_context_create: ctx is NULL");
  *out = NULL;
  clnn_context_options o_in;
  CLNN__STRUCT_IN(CLNN__CONTEXT_OPTIONS, "clnn_context_create", "options", options, o_in);
  const char *sel = options && options->device ? options->device : getenv("CLNN_DEVICE");
  int index = -1;
  char reason[256];
  clnn_status s = clnn_device_select(sel, &index, reason, sizeof reason);
  if (s != CLNN_SUCCESS) return s;
  clnn_context *ctx = calloc(1, sizeof *ctx);
  if (!ctx) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "clnn_context_create: out of host memory");
  cl_platform_id platform;
  s = clnn__device_lookup(index, &platform, &ctx->device, &ctx->info);
  if (s != CLNN_SUCCESS) {
    free(ctx);
    return s;
  }
  cl_int err;
  cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)platform, 0};
  ctx->cl_ctx = clCreateContext(props, 1, &ctx->device, NULL, NULL, &err);
  if (!ctx->cl_ctx) {
    free(ctx);
    return clnn__cl_error(err, "clCreateContext");
  }
  ctx->queue = clCreateCommandQueue(ctx->cl_ctx, ctx->device, CL_QUEUE_PROFILING_ENABLE, &err);
  if (!ctx->queue) {
    clReleaseContext(ctx->cl_ctx);
    free(ctx);
    return clnn__cl_error(err, "clCreateCommandQueue");
  }
  s = finish_init(ctx, options);
  if (s != CLNN_SUCCESS) {
    char keep[1024];
    snprintf(keep, sizeof keep, "%s", clnn_last_error());
    clnn_context_destroy(ctx);
    return clnn__error(s, "%s", keep);
  }
  clnn__log(CLNN_LOG_INFO, "context on %d:%d %s (%s)", ctx->info.platform_index,
            ctx->info.device_index, ctx->info.name, reason);
  *out = ctx;
  return CLNN_SUCCESS;
}

clnn_status clnn_context_wrap(cl_context context, cl_device_id device, cl_command_queue queue,
                              const clnn_context_options *options, clnn_context **out) {
  if (!out) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_context_wrap: ctx is NULL");
  *out = NULL;
  clnn_context_options o_in;
  CLNN__STRUCT_IN(CLNN__CONTEXT_OPTIONS, "clnn_context_wrap", "options", options, o_in);
  if (!context || !device || !queue)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_context_wrap: context, device and queue must all be non-NULL");
  cl_context qctx = NULL;
  cl_device_id qdev = NULL;
  cl_command_queue_properties qprops = 0;
  cl_int err = clGetCommandQueueInfo(queue, CL_QUEUE_CONTEXT, sizeof qctx, &qctx, NULL);
  if (err != CL_SUCCESS) return clnn__cl_error(err, "clnn_context_wrap: queue is not a valid command queue");
  clGetCommandQueueInfo(queue, CL_QUEUE_DEVICE, sizeof qdev, &qdev, NULL);
  clGetCommandQueueInfo(queue, CL_QUEUE_PROPERTIES, sizeof qprops, &qprops, NULL);
  if (qctx != context || qdev != device)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_context_wrap: the queue belongs to another context or device");
  if (qprops & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_context_wrap: the queue must be in-order");
  clnn_context *ctx = calloc(1, sizeof *ctx);
  if (!ctx) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "clnn_context_wrap: out of host memory");
  cl_platform_id platform = NULL;
  clGetDeviceInfo(device, CL_DEVICE_PLATFORM, sizeof platform, &platform, NULL);
  clnn__describe_device(platform, device, &ctx->info);
  /* Find its P:D indices if the loader lists it. */
  int n = 0;
  if (clnn_device_count(&n) == CLNN_SUCCESS) {
    for (int i = 0; i < n; i++) {
      cl_device_id d;
      clnn_device_info inf;
      if (clnn__device_lookup(i, NULL, &d, &inf) == CLNN_SUCCESS && d == device) {
        ctx->info.platform_index = inf.platform_index;
        ctx->info.device_index = inf.device_index;
      }
    }
  }
  clRetainContext(context);
  clRetainCommandQueue(queue);
  ctx->cl_ctx = context;
  ctx->device = device;
  ctx->queue = queue;
  ctx->wrapped = 1;
  clnn_status s = finish_init(ctx, options);
  if (s != CLNN_SUCCESS) {
    char keep[1024];
    snprintf(keep, sizeof keep, "%s", clnn_last_error());
    clnn_context_destroy(ctx);
    return clnn__error(s, "%s", keep);
  }
  *out = ctx;
  return CLNN_SUCCESS;
}

clnn_status clnn__context_check_live(const clnn_context *ctx, const char *fn) {
  if (ctx->destroy_pending)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: the context was destroyed (clnn_context_destroy "
                       "while tensors, networks or models lived); only destroying them is allowed", fn);
  return CLNN_SUCCESS;
}

clnn_status clnn__context_hold(clnn_context *ctx, const char *fn) {
  clnn_status s = clnn__context_check_live(ctx, fn);
  if (s == CLNN_SUCCESS) ctx->live_objects++;
  return s;
}

void clnn__context_drop(clnn_context *ctx) {
  if (!ctx) return;
  if (ctx->live_objects) ctx->live_objects--;
  /* the context's destroy was deferred until its last object went */
  if (ctx->destroy_pending && ctx->live_objects == 0) clnn_context_destroy(ctx);
}

void clnn_context_destroy(clnn_context *ctx) {
  if (!ctx) return;
  if (ctx->queue) clFinish(ctx->queue);
  if (ctx->live_objects) { /* freed with its last tensor, network or model (clnn__context_drop) */
    if (!ctx->destroy_pending)
      clnn__log(CLNN_LOG_WARN, "clnn_context_destroy: %zu tensor(s), network(s) or model(s) still alive; "
                "the context refuses new work and is freed when the last one is destroyed", ctx->live_objects);
    ctx->destroy_pending = 1;
    return;
  }
  clnn__gemm_context_release(ctx); /* CLBlast's programs for this cl_context */
  clnn__programs_release(ctx);
  for (int i = 0; i < CLNN_WORKSPACE_SLOTS; i++)
    if (ctx->workspace[i]) clReleaseMemObject(ctx->workspace[i]);
  if (ctx->staging_event) clReleaseEvent(ctx->staging_event); /* complete: the queue finished */
  free(ctx->staging);
  if (ctx->queue) clReleaseCommandQueue(ctx->queue);
  if (ctx->cl_ctx) clReleaseContext(ctx->cl_ctx);
  free(ctx->cache_dir);
  free(ctx->binary_dir);
  free(ctx);
}

clnn_status clnn_context_get_cl(const clnn_context *ctx, cl_context *context, cl_device_id *device,
                                cl_command_queue *queue) {
  if (!ctx) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_context_get_cl: ctx is NULL");
  if (context) *context = ctx->cl_ctx;
  if (device) *device = ctx->device;
  if (queue) *queue = ctx->queue;
  return CLNN_SUCCESS;
}

clnn_status clnn_context_device_info(const clnn_context *ctx, clnn_device_info *info) {
  if (!ctx || !info)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_context_device_info: ctx and info must be non-NULL");
  uint32_t size;
  clnn_status s = clnn__struct_check(CLNN__DEVICE_INFO, "clnn_context_device_info", "info", info,
                                     &size);
  if (s != CLNN_SUCCESS) return s;
  clnn__struct_out(info, &ctx->info, size);
  return CLNN_SUCCESS;
}

clnn_status clnn_context_finish(clnn_context *ctx) {
  if (!ctx) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_context_finish: ctx is NULL");
  cl_int err = clFinish(ctx->queue);
  if (err != CL_SUCCESS) return clnn__cl_error(err, "clFinish");
  return CLNN_SUCCESS;
}

clnn_status clnn__workspace(clnn_context *ctx, int slot, size_t bytes, cl_mem *out) {
  if (slot < 0 || slot >= CLNN_WORKSPACE_SLOTS)
    return clnn__error(CLNN_ERROR_INTERNAL, "workspace slot %d out of range", slot);
  if (bytes == 0) bytes = 4;
  if (bytes > ctx->info.max_alloc_bytes)
    return clnn__error(CLNN_ERROR_OUT_OF_MEMORY,
                       "workspace of %zu bytes exceeds the device's max allocation (%llu bytes)",
                       bytes, (unsigned long long)ctx->info.max_alloc_bytes);
  if (ctx->workspace_bytes[slot] < bytes) {
    /* Grow geometrically a little so slowly increasing sizes do not reallocate each call. */
    size_t want = bytes + bytes / 4;
    if (want > ctx->info.max_alloc_bytes) want = bytes;
    cl_int err;
    cl_mem m = clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_WRITE, want, NULL, &err);
    if (!m) return clnn__cl_error(err, "allocating a workspace buffer");
    if (ctx->workspace[slot]) {
      /* The queue is in-order: enqueued users of the old buffer hold their own reference. */
      clReleaseMemObject(ctx->workspace[slot]);
    }
    ctx->workspace[slot] = m;
    ctx->workspace_bytes[slot] = want;
  }
  *out = ctx->workspace[slot];
  return CLNN_SUCCESS;
}

clnn_status clnn__staging(clnn_context *ctx, size_t bytes, void **host) {
  if (ctx->staging_event) {
    clFlush(ctx->queue); /* OpenCL 1.2 waits only on flushed commands */
    cl_int err = clWaitForEvents(1, &ctx->staging_event);
    if (err != CL_SUCCESS) return clnn__cl_error(err, "waiting for the previous upload");
    clReleaseEvent(ctx->staging_event);
    ctx->staging_event = NULL;
  }
  if (bytes == 0) bytes = 4;
  if (ctx->staging_bytes < bytes) {
    void *p = realloc(ctx->staging, bytes);
    if (!p) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "out of host memory for a %zu-byte upload", bytes);
    ctx->staging = p;
    ctx->staging_bytes = bytes;
  }
  *host = ctx->staging;
  return CLNN_SUCCESS;
}

clnn_status clnn__upload_staged(clnn_context *ctx, int slot, size_t bytes, cl_mem *out) {
  if (!ctx->staging || bytes > ctx->staging_bytes || ctx->staging_event)
    return clnn__error(CLNN_ERROR_INTERNAL, "clnn__upload_staged without a free staging buffer");
  clnn_status s = clnn__workspace(ctx, slot, bytes, out);
  if (s != CLNN_SUCCESS) return s;
  cl_event ev = NULL;
  cl_int err = clEnqueueWriteBuffer(ctx->queue, *out, CL_FALSE, 0, bytes, ctx->staging, 0, NULL, &ev);
  if (err != CL_SUCCESS) return clnn__cl_error(err, "uploading to the device");
  ctx->staging_event = ev;
  return CLNN_SUCCESS;
}

clnn_status clnn_context_selftest(clnn_context *ctx) {
  if (!ctx) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_context_selftest: ctx is NULL");
  enum { N = 1000 };
  float host[N], out[N];
  for (int i = 0; i < N; i++) host[i] = (float)(i % 97) - 48.0f;
  size_t dims[1] = {N};
  clnn_tensor *x = NULL, *y = NULL;
  clnn_status s = clnn_tensor_create(ctx, 1, dims, &x);
  if (s == CLNN_SUCCESS) s = clnn_tensor_create(ctx, 1, dims, &y);
  if (s == CLNN_SUCCESS) s = clnn_tensor_write(x, host, N);
  size_t global[1] = {N}, local[1] = {64};
  if (s == CLNN_SUCCESS)
    s = CLNN_RUN(ctx, &k_clnn_selftest, 1, global, local, CLNN_ARG_MEM(x->mem), CLNN_ARG_MEM(y->mem),
                 CLNN_ARG_INT(N));
  if (s == CLNN_SUCCESS) s = clnn_tensor_read(y, out, N);
  if (s == CLNN_SUCCESS) {
    for (int i = 0; i < N; i++)
      if (out[i] != 2.0f * host[i] + 1.0f) {
        s = clnn__error(CLNN_ERROR_INTERNAL, "self-test kernel on \"%s\" computed y[%d] = %g, expected %g",
                        ctx->info.name, i, out[i], 2.0f * host[i] + 1.0f);
        break;
      }
  }
  clnn_tensor_destroy(x);
  clnn_tensor_destroy(y);
  return s;
}

clnn_status clnn_context_cache_stats(const clnn_context *ctx, uint64_t *hits, uint64_t *misses,
                                     uint64_t *builds, double *build_seconds) {
  if (!ctx) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_context_cache_stats: ctx is NULL");
  if (hits) *hits = ctx->program_cache_hits;
  if (misses) *misses = ctx->program_cache_misses;
  if (builds) *builds = ctx->program_builds;
  if (build_seconds) *build_seconds = ctx->program_build_seconds;
  return CLNN_SUCCESS;
}
