/* tests/step_hygiene_shim.c — an LD_PRELOAD interposer for tests/test_step_hygiene.c: counts the
 * host allocations, environment look-ups and thread creations made by the test executable's own
 * code (libclnn is linked into it statically; the OpenCL driver's and libc's own allocations are
 * not counted), and the OpenCL calls that block or create objects (creations and queries apart
 * when another library, such as a shared CLBlast, makes them), while the test has counting on
 * (step_hygiene_begin / step_hygiene_end, found by the test through dlsym). Calls are forwarded
 * to the next definition (glibc's __libc_* allocators, the OpenCL loader). */
#define _GNU_SOURCE
#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#include <dlfcn.h>
#include <execinfo.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What is counted; the test reads it through step_hygiene_counts (same layout there). */
typedef struct step_hygiene_counts {
  long alloc;         /* malloc, calloc, realloc, aligned allocations, operator new */
  long frees;         /* free of a non-NULL pointer, operator delete */
  long getenv_calls;  /* getenv */
  long threads;       /* pthread_create */
  long finish;        /* clFinish */
  long wait;          /* clWaitForEvents */
  long blocking_read; /* clEnqueueReadBuffer with CL_TRUE */
  long blocking_write;
  long async_read;    /* clEnqueueReadBuffer with CL_FALSE */
  long async_write;
  long create;        /* clCreate* (buffers, kernels, programs, queues, events, ...) */
  long build;         /* clBuildProgram, clCompileProgram, clLinkProgram */
  long launches;      /* clEnqueueNDRangeKernel */
  long info;          /* clGetDeviceInfo, clGetKernelWorkGroupInfo, clGetMemObjectInfo, ... */
  long other_create;  /* create and info calls made by other libraries (CLBlast): not clnn's */
  long other_info;
} step_hygiene_counts;

static atomic_int on;
static atomic_long c_alloc, c_frees, c_getenv, c_threads, c_finish, c_wait, c_bread, c_bwrite,
    c_aread, c_awrite, c_create, c_build, c_launch, c_info, c_other_create, c_other_info;
static uintptr_t lo[16], hi[16];
static int nranges;
/* STEP_HYGIENE_TRACE=c_alloc (a counter's name here, or part of it): a backtrace of each call
 * it counts to stderr (resolve with addr2line -e <test> <offset>). */
static const char *trace;

static void trace_here(const char *what) {
  if (!trace || !strstr(what, trace)) return;
  void *frames[12];
  int n = backtrace(frames, 12);
  if (write(2, what, strlen(what)) < 0 || write(2, "\n", 1) < 0) return;
  backtrace_symbols_fd(frames, n, 2);
}

/* The main program's loaded segments (the test and the statically linked libclnn). */
static int find_main(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  (void)data;
  for (int i = 0; i < info->dlpi_phnum && nranges < 16; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD) continue;
    lo[nranges] = info->dlpi_addr + ph->p_vaddr;
    hi[nranges] = lo[nranges] + ph->p_memsz;
    nranges++;
  }
  return 1; /* the first object is the main program */
}

static int from_main(const void *ra) {
  uintptr_t a = (uintptr_t)ra;
  for (int i = 0; i < nranges; i++)
    if (a >= lo[i] && a < hi[i]) return 1;
  return 0;
}

#define COUNT_IF_MAIN(counter)                                                                   \
  do {                                                                                           \
    if (atomic_load_explicit(&on, memory_order_relaxed) &&                                       \
        from_main(__builtin_return_address(0))) {                                                \
      atomic_fetch_add(&(counter), 1);                                                           \
      trace_here(#counter);                                                                      \
    }                                                                                            \
  } while (0)
#define COUNT(counter)                                                                           \
  do {                                                                                           \
    if (atomic_load_explicit(&on, memory_order_relaxed)) {                                       \
      atomic_fetch_add(&(counter), 1);                                                           \
      trace_here(#counter);                                                                      \
    }                                                                                            \
  } while (0)

/* Object creation and queries: clnn's own (the main program's) or another library's. */
#define COUNT_BY_ORIGIN(counter, other)                                                          \
  do {                                                                                           \
    if (atomic_load_explicit(&on, memory_order_relaxed)) {                                       \
      int mine = from_main(__builtin_return_address(0));                                        \
      atomic_fetch_add(mine ? &(counter) : &(other), 1);                                         \
      if (mine) trace_here(#counter);                                                            \
    }                                                                                            \
  } while (0)

void step_hygiene_begin(void);
void step_hygiene_end(void);
void step_hygiene_counts_get(step_hygiene_counts *out);

void step_hygiene_begin(void) {
  if (!nranges) {
    dl_iterate_phdr(find_main, NULL);
    trace = getenv("STEP_HYGIENE_TRACE");
    void *warm[2];
    backtrace(warm, 2); /* (loads what backtrace needs outside the window) */
  }
  atomic_long *all[] = {&c_alloc, &c_frees, &c_getenv, &c_threads, &c_finish, &c_wait, &c_bread,
                        &c_bwrite, &c_aread, &c_awrite, &c_create, &c_build, &c_launch, &c_info,
                        &c_other_create, &c_other_info};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) atomic_store(all[i], 0);
  atomic_store(&on, 1);
}

void step_hygiene_end(void) { atomic_store(&on, 0); }

void step_hygiene_counts_get(step_hygiene_counts *o) {
  o->alloc = c_alloc;
  o->frees = c_frees;
  o->getenv_calls = c_getenv;
  o->threads = c_threads;
  o->finish = c_finish;
  o->wait = c_wait;
  o->blocking_read = c_bread;
  o->blocking_write = c_bwrite;
  o->async_read = c_aread;
  o->async_write = c_awrite;
  o->create = c_create;
  o->build = c_build;
  o->launches = c_launch;
  o->info = c_info;
  o->other_create = c_other_create;
  o->other_info = c_other_info;
}

/* ---- host memory ---- */

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

void *malloc(size_t n) {
  COUNT_IF_MAIN(c_alloc);
  return __libc_malloc(n);
}
void *calloc(size_t a, size_t b) {
  COUNT_IF_MAIN(c_alloc);
  return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n) {
  COUNT_IF_MAIN(c_alloc);
  return __libc_realloc(p, n);
}
void free(void *p) {
  if (p) COUNT_IF_MAIN(c_frees);
  __libc_free(p);
}
int posix_memalign(void **out, size_t align, size_t n) {
  COUNT_IF_MAIN(c_alloc);
  void *p = __libc_memalign(align, n);
  if (!p) return 12; /* ENOMEM */
  *out = p;
  return 0;
}
void *aligned_alloc(size_t align, size_t n) {
  COUNT_IF_MAIN(c_alloc);
  return __libc_memalign(align, n);
}
/* operator new / delete (CLBlast is C++): forwarded to the allocators above */
void *_Znwm(size_t n);
void *_Znam(size_t n);
void _ZdlPv(void *p);
void _ZdaPv(void *p);
void _ZdlPvm(void *p, size_t n);
void _ZdaPvm(void *p, size_t n);
void *_Znwm(size_t n) {
  COUNT_IF_MAIN(c_alloc);
  void *p = __libc_malloc(n ? n : 1);
  if (!p) abort(); /* (no exceptions from C) */
  return p;
}
void *_Znam(size_t n) {
  COUNT_IF_MAIN(c_alloc);
  void *p = __libc_malloc(n ? n : 1);
  if (!p) abort();
  return p;
}
void _ZdlPv(void *p) {
  if (p) COUNT_IF_MAIN(c_frees);
  __libc_free(p);
}
void _ZdaPv(void *p) {
  if (p) COUNT_IF_MAIN(c_frees);
  __libc_free(p);
}
void _ZdlPvm(void *p, size_t n) {
  (void)n;
  if (p) COUNT_IF_MAIN(c_frees);
  __libc_free(p);
}
void _ZdaPvm(void *p, size_t n) {
  (void)n;
  if (p) COUNT_IF_MAIN(c_frees);
  __libc_free(p);
}

/* ---- libc and threads ---- */

#define NEXT(type, name) ((type)dlsym(RTLD_NEXT, name))

char *getenv(const char *name) {
  static char *(*next)(const char *);
  COUNT_IF_MAIN(c_getenv);
  if (!next) next = NEXT(char *(*)(const char *), "getenv");
  return next(name);
}

int pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg) {
  static int (*next)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
  COUNT_IF_MAIN(c_threads);
  if (!next)
    next = NEXT(int (*)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *),
                "pthread_create");
  return next(t, a, fn, arg);
}

/* ---- OpenCL ---- */

#define FWD(counter, ret, name, params, args)                                                    \
  CL_API_ENTRY ret CL_API_CALL name params {                                                     \
    static ret(CL_API_CALL * next) params;                                                       \
    COUNT(counter);                                                                              \
    if (!next) next = NEXT(ret(CL_API_CALL *) params, #name);                                    \
    return next args;                                                                            \
  }
#define FWD_BY_ORIGIN(counter, other, ret, name, params, args)                                  \
  CL_API_ENTRY ret CL_API_CALL name params {                                                     \
    static ret(CL_API_CALL * next) params;                                                       \
    COUNT_BY_ORIGIN(counter, other);                                                             \
    if (!next) next = NEXT(ret(CL_API_CALL *) params, #name);                                    \
    return next args;                                                                            \
  }

FWD(c_finish, cl_int, clFinish, (cl_command_queue q), (q))
FWD(c_wait, cl_int, clWaitForEvents, (cl_uint n, const cl_event *e), (n, e))
FWD(c_build, cl_int, clBuildProgram,
    (cl_program p, cl_uint n, const cl_device_id *d, const char *o,
     void(CL_CALLBACK *cb)(cl_program, void *), void *u),
    (p, n, d, o, cb, u))
FWD(c_build, cl_int, clCompileProgram,
    (cl_program p, cl_uint n, const cl_device_id *d, const char *o, cl_uint nh,
     const cl_program *h, const char **hn, void(CL_CALLBACK *cb)(cl_program, void *), void *u),
    (p, n, d, o, nh, h, hn, cb, u))
FWD(c_build, cl_program, clLinkProgram,
    (cl_context c, cl_uint n, const cl_device_id *d, const char *o, cl_uint np,
     const cl_program *ps, void(CL_CALLBACK *cb)(cl_program, void *), void *u, cl_int *e),
    (c, n, d, o, np, ps, cb, u, e))
FWD_BY_ORIGIN(c_create, c_other_create, cl_mem, clCreateBuffer, (cl_context c, cl_mem_flags f, size_t n, void *h, cl_int *e),
    (c, f, n, h, e))
FWD_BY_ORIGIN(c_create, c_other_create, cl_mem, clCreateSubBuffer,
    (cl_mem b, cl_mem_flags f, cl_buffer_create_type t, const void *i, cl_int *e),
    (b, f, t, i, e))
FWD_BY_ORIGIN(c_create, c_other_create, cl_kernel, clCreateKernel, (cl_program p, const char *n, cl_int *e), (p, n, e))
FWD_BY_ORIGIN(c_create, c_other_create, cl_int, clCreateKernelsInProgram,
    (cl_program p, cl_uint n, cl_kernel *k, cl_uint *r), (p, n, k, r))
FWD_BY_ORIGIN(c_create, c_other_create, cl_program, clCreateProgramWithSource,
    (cl_context c, cl_uint n, const char **s, const size_t *l, cl_int *e), (c, n, s, l, e))
FWD_BY_ORIGIN(c_create, c_other_create, cl_program, clCreateProgramWithBinary,
    (cl_context c, cl_uint n, const cl_device_id *d, const size_t *l, const unsigned char **b,
     cl_int *bs, cl_int *e),
    (c, n, d, l, b, bs, e))
FWD_BY_ORIGIN(c_create, c_other_create, cl_command_queue, clCreateCommandQueue,
    (cl_context c, cl_device_id d, cl_command_queue_properties p, cl_int *e), (c, d, p, e))
FWD_BY_ORIGIN(c_create, c_other_create, cl_event, clCreateUserEvent, (cl_context c, cl_int *e), (c, e))
FWD_BY_ORIGIN(c_create, c_other_create, cl_context, clCreateContext,
    (const cl_context_properties *p, cl_uint n, const cl_device_id *d,
     void(CL_CALLBACK *cb)(const char *, const void *, size_t, void *), void *u, cl_int *e),
    (p, n, d, cb, u, e))
FWD_BY_ORIGIN(c_create, c_other_create, cl_mem, clCreateImage,
    (cl_context c, cl_mem_flags f, const cl_image_format *fmt, const cl_image_desc *d, void *h,
     cl_int *e),
    (c, f, fmt, d, h, e))
FWD(c_launch, cl_int, clEnqueueNDRangeKernel,
    (cl_command_queue q, cl_kernel k, cl_uint d, const size_t *o, const size_t *g,
     const size_t *l, cl_uint n, const cl_event *w, cl_event *e),
    (q, k, d, o, g, l, n, w, e))
FWD_BY_ORIGIN(c_info, c_other_info, cl_int, clGetDeviceInfo, (cl_device_id d, cl_device_info p, size_t n, void *v, size_t *r),
    (d, p, n, v, r))
FWD_BY_ORIGIN(c_info, c_other_info, cl_int, clGetKernelWorkGroupInfo,
    (cl_kernel k, cl_device_id d, cl_kernel_work_group_info p, size_t n, void *v, size_t *r),
    (k, d, p, n, v, r))
FWD_BY_ORIGIN(c_info, c_other_info, cl_int, clGetKernelInfo, (cl_kernel k, cl_kernel_info p, size_t n, void *v, size_t *r),
    (k, p, n, v, r))
FWD_BY_ORIGIN(c_info, c_other_info, cl_int, clGetMemObjectInfo, (cl_mem m, cl_mem_info p, size_t n, void *v, size_t *r),
    (m, p, n, v, r))
FWD_BY_ORIGIN(c_info, c_other_info, cl_int, clGetProgramInfo, (cl_program g, cl_program_info p, size_t n, void *v, size_t *r),
    (g, p, n, v, r))
FWD_BY_ORIGIN(c_info, c_other_info, cl_int, clGetContextInfo, (cl_context c, cl_context_info p, size_t n, void *v, size_t *r),
    (c, p, n, v, r))
FWD_BY_ORIGIN(c_info, c_other_info, cl_int, clGetCommandQueueInfo,
    (cl_command_queue q, cl_command_queue_info p, size_t n, void *v, size_t *r), (q, p, n, v, r))

CL_API_ENTRY cl_int CL_API_CALL clEnqueueReadBuffer(cl_command_queue q, cl_mem b, cl_bool blk,
                                                    size_t o, size_t n, void *p, cl_uint nw,
                                                    const cl_event *w, cl_event *e) {
  static cl_int(CL_API_CALL * next)(cl_command_queue, cl_mem, cl_bool, size_t, size_t, void *,
                                    cl_uint, const cl_event *, cl_event *);
  if (blk) COUNT(c_bread);
  else COUNT(c_aread);
  if (!next)
    next = NEXT(cl_int(CL_API_CALL *)(cl_command_queue, cl_mem, cl_bool, size_t, size_t, void *,
                                      cl_uint, const cl_event *, cl_event *),
                "clEnqueueReadBuffer");
  return next(q, b, blk, o, n, p, nw, w, e);
}

CL_API_ENTRY cl_int CL_API_CALL clEnqueueWriteBuffer(cl_command_queue q, cl_mem b, cl_bool blk,
                                                     size_t o, size_t n, const void *p,
                                                     cl_uint nw, const cl_event *w, cl_event *e) {
  static cl_int(CL_API_CALL * next)(cl_command_queue, cl_mem, cl_bool, size_t, size_t,
                                    const void *, cl_uint, const cl_event *, cl_event *);
  if (blk) COUNT(c_bwrite);
  else COUNT(c_awrite);
  if (!next)
    next = NEXT(cl_int(CL_API_CALL *)(cl_command_queue, cl_mem, cl_bool, size_t, size_t,
                                      const void *, cl_uint, const cl_event *, cl_event *),
                "clEnqueueWriteBuffer");
  return next(q, b, blk, o, n, p, nw, w, e);
}

CL_API_ENTRY void *CL_API_CALL clEnqueueMapBuffer(cl_command_queue q, cl_mem b, cl_bool blk,
                                                  cl_map_flags f, size_t o, size_t n, cl_uint nw,
                                                  const cl_event *w, cl_event *e, cl_int *err) {
  static void *(CL_API_CALL * next)(cl_command_queue, cl_mem, cl_bool, cl_map_flags, size_t,
                                    size_t, cl_uint, const cl_event *, cl_event *, cl_int *);
  if (blk) COUNT(c_bread);
  if (!next)
    next = NEXT(void *(CL_API_CALL *)(cl_command_queue, cl_mem, cl_bool, cl_map_flags, size_t,
                                      size_t, cl_uint, const cl_event *, cl_event *, cl_int *),
                "clEnqueueMapBuffer");
  return next(q, b, blk, f, o, n, nw, w, e, err);
}
