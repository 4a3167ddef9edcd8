/* src/runtime/status.c — status names, the thread-local last-error detail, OpenCL error names,
 * logging (silent unless a callback or CLNN_LOG asks; safe to reconfigure while other threads
 * log), and small shared helpers. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static _Thread_local char clnn_error_buf[65536];

const char *clnn_status_string(clnn_status status) {
  switch (status) {
    case CLNN_SUCCESS: return "CLNN_SUCCESS";
    case CLNN_ERROR_INVALID_ARGUMENT: return "CLNN_ERROR_INVALID_ARGUMENT";
    case CLNN_ERROR_SHAPE_MISMATCH: return "CLNN_ERROR_SHAPE_MISMATCH";
    case CLNN_ERROR_OUT_OF_MEMORY: return "CLNN_ERROR_OUT_OF_MEMORY";
    case CLNN_ERROR_NO_DEVICE: return "CLNN_ERROR_NO_DEVICE";
    case CLNN_ERROR_DEVICE_NOT_FOUND: return "CLNN_ERROR_DEVICE_NOT_FOUND";
    case CLNN_ERROR_CONTEXT_MISMATCH: return "CLNN_ERROR_CONTEXT_MISMATCH";
    case CLNN_ERROR_OPENCL: return "CLNN_ERROR_OPENCL";
    case CLNN_ERROR_BUILD: return "CLNN_ERROR_BUILD";
    case CLNN_ERROR_BINARY_MISSING: return "CLNN_ERROR_BINARY_MISSING";
    case CLNN_ERROR_GEMM: return "CLNN_ERROR_GEMM";
    case CLNN_ERROR_IO: return "CLNN_ERROR_IO";
    case CLNN_ERROR_FORMAT: return "CLNN_ERROR_FORMAT";
    case CLNN_ERROR_UNSUPPORTED: return "CLNN_ERROR_UNSUPPORTED";
    case CLNN_ERROR_INTERNAL: return "CLNN_ERROR_INTERNAL";
    case CLNN_ERROR_NOT_FINITE: return "CLNN_ERROR_NOT_FINITE";
  }
  return "CLNN_ERROR_UNKNOWN_STATUS";
}

const char *clnn_version(void) { return CLNN_VERSION_STRING; }
int clnn_version_number(void) {
  return CLNN_VERSION_MAJOR * 10000 + CLNN_VERSION_MINOR * 100 + CLNN_VERSION_PATCH;
}

const char *clnn_last_error(void) { return clnn_error_buf; }

clnn_status clnn__error(clnn_status status, const char *fmt, ...) {
  /* Format into a scratch buffer first: callers may pass clnn_last_error() as an argument. */
  static _Thread_local char scratch[sizeof clnn_error_buf];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(scratch, sizeof scratch, fmt, ap);
  va_end(ap);
  if (n >= (int)sizeof scratch) {
    const char *tail = " ... [truncated]";
    memcpy(scratch + sizeof scratch - strlen(tail) - 1, tail, strlen(tail) + 1);
  }
  memcpy(clnn_error_buf, scratch, sizeof clnn_error_buf);
  clnn__log(CLNN_LOG_DEBUG, "%s: %s", clnn_status_string(status), clnn_error_buf);
  return status;
}

clnn_status clnn__prefix_error(const char *fn, clnn_status status) {
  if (status == CLNN_SUCCESS) return status;
  return clnn__error(status, "%s: %s", fn, clnn_last_error()); /* clnn__error copies it first */
}

const char *clnn__cl_error_name(cl_int err) {
  switch (err) {
#define N(x) case x: return #x;
    N(CL_SUCCESS) N(CL_DEVICE_NOT_FOUND) N(CL_DEVICE_NOT_AVAILABLE) N(CL_COMPILER_NOT_AVAILABLE)
    N(CL_MEM_OBJECT_ALLOCATION_FAILURE) N(CL_OUT_OF_RESOURCES) N(CL_OUT_OF_HOST_MEMORY)
    N(CL_PROFILING_INFO_NOT_AVAILABLE) N(CL_MEM_COPY_OVERLAP) N(CL_IMAGE_FORMAT_MISMATCH)
    N(CL_IMAGE_FORMAT_NOT_SUPPORTED) N(CL_BUILD_PROGRAM_FAILURE) N(CL_MAP_FAILURE)
    N(CL_MISALIGNED_SUB_BUFFER_OFFSET) N(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
    N(CL_COMPILE_PROGRAM_FAILURE) N(CL_LINKER_NOT_AVAILABLE) N(CL_LINK_PROGRAM_FAILURE)
    N(CL_DEVICE_PARTITION_FAILED) N(CL_KERNEL_ARG_INFO_NOT_AVAILABLE) N(CL_INVALID_VALUE)
    N(CL_INVALID_DEVICE_TYPE) N(CL_INVALID_PLATFORM) N(CL_INVALID_DEVICE) N(CL_INVALID_CONTEXT)
    N(CL_INVALID_QUEUE_PROPERTIES) N(CL_INVALID_COMMAND_QUEUE) N(CL_INVALID_HOST_PTR)
    N(CL_INVALID_MEM_OBJECT) N(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR) N(CL_INVALID_IMAGE_SIZE)
    N(CL_INVALID_SAMPLER) N(CL_INVALID_BINARY) N(CL_INVALID_BUILD_OPTIONS) N(CL_INVALID_PROGRAM)
    N(CL_INVALID_PROGRAM_EXECUTABLE) N(CL_INVALID_KERNEL_NAME) N(CL_INVALID_KERNEL_DEFINITION)
    N(CL_INVALID_KERNEL) N(CL_INVALID_ARG_INDEX) N(CL_INVALID_ARG_VALUE) N(CL_INVALID_ARG_SIZE)
    N(CL_INVALID_KERNEL_ARGS) N(CL_INVALID_WORK_DIMENSION) N(CL_INVALID_WORK_GROUP_SIZE)
    N(CL_INVALID_WORK_ITEM_SIZE) N(CL_INVALID_GLOBAL_OFFSET) N(CL_INVALID_EVENT_WAIT_LIST)
    N(CL_INVALID_EVENT) N(CL_INVALID_OPERATION) N(CL_INVALID_GL_OBJECT) N(CL_INVALID_BUFFER_SIZE)
    N(CL_INVALID_MIP_LEVEL) N(CL_INVALID_GLOBAL_WORK_SIZE) N(CL_INVALID_PROPERTY)
    N(CL_INVALID_IMAGE_DESCRIPTOR) N(CL_INVALID_COMPILER_OPTIONS) N(CL_INVALID_LINKER_OPTIONS)
    N(CL_INVALID_DEVICE_PARTITION_COUNT)
#undef N
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
    default: return "unknown OpenCL error";
  }
}

clnn_status clnn__cl_error(cl_int err, const char *what) {
  clnn_status s = (err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_OUT_OF_HOST_MEMORY)
                      ? CLNN_ERROR_OUT_OF_MEMORY
                      : CLNN_ERROR_OPENCL;
  return clnn__error(s, "%s: %s (%d)", what, clnn__cl_error_name(err), (int)err);
}

/* ---- logging ----
 * The settings (callback, its user pointer, the level) change together under log_lock, and a
 * message is delivered under it too: so a message goes either to the old callback with the old
 * user pointer or to the new ones, and once clnn_set_log_callback returns the old callback is not
 * running on any thread. log_max is also kept in an atomic, so a message above the level (the
 * common case: logging off) costs one load and no lock. A callback that logs (calls into clnn)
 * already holds the lock on its thread: log_depth lets that nested message through without
 * locking again. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static clnn_log_fn log_fn = NULL;   /* guarded by log_lock */
static void *log_user = NULL;       /* guarded by log_lock */
static atomic_int log_max = -1;     /* -1: not decided yet (read CLNN_LOG on first use); -2: off */
static _Thread_local int log_depth; /* > 0: this thread is inside the callback, holding log_lock */

static void log_stderr(clnn_log_level level, const char *message, void *user) {
  (void)user;
  static const char *names[] = {"error", "warn", "info", "debug"};
  fprintf(stderr, "clnn[%s]: %s\n", names[level], message);
}

/* CLNN_LOG, read the first time a message is logged unless a callback was set first. Caller holds
 * log_lock. */
static void log_env_locked(void) {
  if (atomic_load_explicit(&log_max, memory_order_relaxed) != -1) return;
  int lvl = -2;
  const char *e = getenv("CLNN_LOG");
  if (e && *e) {
    if (!strcasecmp(e, "error")) lvl = CLNN_LOG_ERROR;
    else if (!strcasecmp(e, "warn") || !strcasecmp(e, "warning")) lvl = CLNN_LOG_WARN;
    else if (!strcasecmp(e, "info")) lvl = CLNN_LOG_INFO;
    else if (!strcasecmp(e, "debug")) lvl = CLNN_LOG_DEBUG;
  }
  if (lvl >= 0) log_fn = log_stderr;
  atomic_store_explicit(&log_max, lvl, memory_order_release);
}

void clnn_set_log_callback(clnn_log_fn fn, clnn_log_level max_level, void *user) {
  if (log_depth) return; /* from inside the callback: it holds the lock (documented as ignored) */
  pthread_mutex_lock(&log_lock);
  log_fn = fn;
  log_user = user;
  /* a level below CLNN_LOG_ERROR lets nothing through: stored as off, never as "not decided" */
  atomic_store_explicit(&log_max, fn && (int)max_level >= 0 ? (int)max_level : -2, memory_order_release);
  pthread_mutex_unlock(&log_lock);
}

void clnn__log(clnn_log_level level, const char *fmt, ...) {
  int max = atomic_load_explicit(&log_max, memory_order_acquire);
  if (max != -1 && (int)level > max) return;
  char msg[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  int nested = log_depth > 0;
  if (!nested) pthread_mutex_lock(&log_lock);
  log_env_locked();
  if (log_fn && (int)level <= atomic_load_explicit(&log_max, memory_order_relaxed)) {
    log_depth++;
    log_fn(level, msg, log_user);
    log_depth--;
  }
  if (!nested) pthread_mutex_unlock(&log_lock);
}

/* ---- helpers ---- */
char *clnn__strdup(const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

double clnn__now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

uint64_t clnn__fnv1a(uint64_t h, const void *data, size_t size) {
  const unsigned char *p = data;
  for (size_t i = 0; i < size; i++) {
    h ^= p[i];
    h *= 1099511628211ULL;
  }
  return h;
}
