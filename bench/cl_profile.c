/* bench/cl_profile.c — libclnn-clprofile.so, an LD_PRELOAD interposer that records every command
 * a program enqueues on OpenCL (kernels, buffer reads, writes, copies and fills) with its host
 * enqueue time and its device profiling times, for bench/cl_profile_report.py to sum per kernel
 * and per training step. The program is not changed: where it passes no event, the interposer
 * asks for one and releases it after reading it (the queue must have profiling enabled, as
 * clnn's contexts do; commands on a queue without it are recorded with zero device times).
 *
 *   CLPROF_OUT=/tmp/p.csv LD_PRELOAD=build/bench/libclnn-clprofile.so build/digits_cnn --epochs 3
 *
 * One CSV row per command: seq, kind, name (kernel name, or the transfer's kind), global size
 * (3 values), bytes (transfers), host_ns (CLOCK_MONOTONIC when the enqueue call began),
 * host_ret_ns (when it returned), queued, submit, start, end (the device's profiling clock).
 * Events are read once complete: after every blocking read, clFinish and clWaitForEvents, and
 * when more than CLPROF_PENDING are outstanding (then the oldest is waited for). The host cost of
 * the interposer itself (an event per command, one clGetKernelInfo per launch) is small next to a
 * launch but not zero; the report says so. */
#define _GNU_SOURCE
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CLPROF_PENDING 4096

typedef struct pending {
  cl_event ev;
  unsigned long long seq;
  const char *kind;
  char name[64];
  size_t g[3];
  size_t bytes;
  uint64_t host_ns, host_ret_ns;
} pending;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pending ring[CLPROF_PENDING];
static size_t head, count; /* oldest at head */
static unsigned long long next_seq;
static FILE *out;
static int disabled;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *real(const char *name) {
  void *p = dlsym(RTLD_NEXT, name);
  if (!p) {
    fprintf(stderr, "cl_profile: %s not found\n", name);
    abort(); /* a profiling tool, not the library: nothing sensible to do without the real call */
  }
  return p;
}

static cl_int (*real_wait)(cl_uint, const cl_event *); /* the real clWaitForEvents */

static int open_out(void) { /* caller holds lock */
  if (out || disabled) return out != NULL;
  const char *path = getenv("CLPROF_OUT");
  if (!path || !*path) path = "clprof.csv";
  out = fopen(path, "w");
  if (!out) {
    fprintf(stderr, "cl_profile: cannot write %s\n", path);
    disabled = 1;
    return 0;
  }
  fprintf(out, "seq,kind,name,g0,g1,g2,bytes,host_ns,host_ret_ns,queued,submit,start,end\n");
  return 1;
}

/* Writes the oldest pending command (waiting for it when `wait`); 0 if it is not complete. */
static int flush_oldest(int wait) { /* caller holds lock */
  pending *p = &ring[head];
  if (wait) {
    if (!real_wait) real_wait = real("clWaitForEvents");
    real_wait(1, &p->ev);
  } else {
    cl_int st = 1;
    clGetEventInfo(p->ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof st, &st, NULL);
    if (st > CL_COMPLETE) return 0;
  }
  cl_ulong t[4] = {0, 0, 0, 0};
  const cl_profiling_info what[4] = {CL_PROFILING_COMMAND_QUEUED, CL_PROFILING_COMMAND_SUBMIT,
                                     CL_PROFILING_COMMAND_START, CL_PROFILING_COMMAND_END};
  for (int i = 0; i < 4; i++)
    if (clGetEventProfilingInfo(p->ev, what[i], sizeof t[i], &t[i], NULL) != CL_SUCCESS) t[i] = 0;
  if (open_out())
    fprintf(out, "%llu,%s,%s,%zu,%zu,%zu,%zu,%llu,%llu,%llu,%llu,%llu,%llu\n", p->seq, p->kind,
            p->name, p->g[0], p->g[1], p->g[2], p->bytes, (unsigned long long)p->host_ns,
            (unsigned long long)p->host_ret_ns, (unsigned long long)t[0],
            (unsigned long long)t[1], (unsigned long long)t[2], (unsigned long long)t[3]);
  clReleaseEvent(p->ev);
  head = (head + 1) % CLPROF_PENDING;
  count--;
  return 1;
}

static void drain(int wait) {
  pthread_mutex_lock(&lock);
  while (count && flush_oldest(wait)) {
  }
  if (out) fflush(out);
  pthread_mutex_unlock(&lock);
}

/* Records a command that was enqueued with *ev (ours or the caller's, retained here). */
static void record(cl_event ev, int ours, const char *kind, const char *name, const size_t *g,
                   cl_uint dims, size_t bytes, uint64_t t0) {
  uint64_t t1 = now_ns();
  if (!ours) clRetainEvent(ev);
  pthread_mutex_lock(&lock);
  if (count == CLPROF_PENDING) flush_oldest(1);
  pending *p = &ring[(head + count) % CLPROF_PENDING];
  p->ev = ev;
  p->seq = next_seq++;
  p->kind = kind;
  snprintf(p->name, sizeof p->name, "%s", name);
  for (int i = 0; i < 3; i++) p->g[i] = g && (cl_uint)i < dims ? g[i] : 1;
  p->bytes = bytes;
  p->host_ns = t0;
  p->host_ret_ns = t1;
  count++;
  pthread_mutex_unlock(&lock);
}

#define EVENT_ARG(e) cl_event mine = NULL, *use = (e) ? (e) : &mine
#define RECORD(kind, name, g, dims, bytes)                                                    \
  do {                                                                                       \
    if (err == CL_SUCCESS && *use) record(*use, use == &mine, kind, name, g, dims, bytes, t0); \
  } while (0)

CL_API_ENTRY cl_int CL_API_CALL clEnqueueNDRangeKernel(cl_command_queue q, cl_kernel k, cl_uint dims,
                                                       const size_t *off, const size_t *g,
                                                       const size_t *l, cl_uint nw,
                                                       const cl_event *wl, cl_event *e) {
  static cl_int (*f)(cl_command_queue, cl_kernel, cl_uint, const size_t *, const size_t *,
                     const size_t *, cl_uint, const cl_event *, cl_event *);
  if (!f) f = real("clEnqueueNDRangeKernel");
  uint64_t t0 = now_ns();
  EVENT_ARG(e);
  cl_int err = f(q, k, dims, off, g, l, nw, wl, use);
  char name[64] = "?";
  clGetKernelInfo(k, CL_KERNEL_FUNCTION_NAME, sizeof name, name, NULL);
  RECORD("kernel", name, g, dims, 0);
  return err;
}

CL_API_ENTRY cl_int CL_API_CALL clEnqueueReadBuffer(cl_command_queue q, cl_mem b, cl_bool blocking,
                                                    size_t off, size_t n, void *p, cl_uint nw,
                                                    const cl_event *wl, cl_event *e) {
  static cl_int (*f)(cl_command_queue, cl_mem, cl_bool, size_t, size_t, void *, cl_uint,
                     const cl_event *, cl_event *);
  if (!f) f = real("clEnqueueReadBuffer");
  uint64_t t0 = now_ns();
  EVENT_ARG(e);
  cl_int err = f(q, b, blocking, off, n, p, nw, wl, use);
  RECORD("read", "read", NULL, 0, n);
  if (blocking) drain(0);
  return err;
}

CL_API_ENTRY cl_int CL_API_CALL clEnqueueWriteBuffer(cl_command_queue q, cl_mem b, cl_bool blocking,
                                                     size_t off, size_t n, const void *p,
                                                     cl_uint nw, const cl_event *wl, cl_event *e) {
  static cl_int (*f)(cl_command_queue, cl_mem, cl_bool, size_t, size_t, const void *, cl_uint,
                     const cl_event *, cl_event *);
  if (!f) f = real("clEnqueueWriteBuffer");
  uint64_t t0 = now_ns();
  EVENT_ARG(e);
  cl_int err = f(q, b, blocking, off, n, p, nw, wl, use);
  RECORD("write", "write", NULL, 0, n);
  return err;
}

CL_API_ENTRY cl_int CL_API_CALL clEnqueueCopyBuffer(cl_command_queue q, cl_mem s, cl_mem d,
                                                    size_t so, size_t dof, size_t n, cl_uint nw,
                                                    const cl_event *wl, cl_event *e) {
  static cl_int (*f)(cl_command_queue, cl_mem, cl_mem, size_t, size_t, size_t, cl_uint,
                     const cl_event *, cl_event *);
  if (!f) f = real("clEnqueueCopyBuffer");
  uint64_t t0 = now_ns();
  EVENT_ARG(e);
  cl_int err = f(q, s, d, so, dof, n, nw, wl, use);
  RECORD("copy", "copy", NULL, 0, n);
  return err;
}

CL_API_ENTRY cl_int CL_API_CALL clEnqueueFillBuffer(cl_command_queue q, cl_mem b, const void *pat,
                                                    size_t ps, size_t off, size_t n, cl_uint nw,
                                                    const cl_event *wl, cl_event *e) {
  static cl_int (*f)(cl_command_queue, cl_mem, const void *, size_t, size_t, size_t, cl_uint,
                     const cl_event *, cl_event *);
  if (!f) f = real("clEnqueueFillBuffer");
  uint64_t t0 = now_ns();
  EVENT_ARG(e);
  cl_int err = f(q, b, pat, ps, off, n, nw, wl, use);
  RECORD("fill", "fill", NULL, 0, n);
  return err;
}

CL_API_ENTRY cl_int CL_API_CALL clFinish(cl_command_queue q) {
  static cl_int (*f)(cl_command_queue);
  if (!f) f = real("clFinish");
  cl_int err = f(q);
  drain(0);
  return err;
}

CL_API_ENTRY cl_int CL_API_CALL clWaitForEvents(cl_uint n, const cl_event *l) {
  static cl_int (*f)(cl_uint, const cl_event *);
  if (!f) f = real("clWaitForEvents");
  cl_int err = f(n, l);
  drain(0);
  return err;
}

CL_API_ENTRY cl_int CL_API_CALL clReleaseCommandQueue(cl_command_queue q) {
  static cl_int (*f)(cl_command_queue);
  if (!f) f = real("clReleaseCommandQueue");
  drain(1); /* before the queue goes: whatever is still pending, wait for it */
  return f(q);
}

__attribute__((destructor)) static void finish(void) {
  pthread_mutex_lock(&lock);
  if (out) fclose(out);
  out = NULL;
  disabled = 1;
  pthread_mutex_unlock(&lock);
}
