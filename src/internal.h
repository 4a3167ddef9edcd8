/* src/internal.h — what every clnn source file shares and users never see: the context and tensor
 * structs, error and log helpers, kernel lookup and launch, argument validation, workspaces and
 * the raw GEMM entry points. Operators (src/ops/) are written against this header only. */
#ifndef CLNN_INTERNAL_H
#define CLNN_INTERNAL_H

#include "clnn_cl.h" /* clnn.h and the OpenCL interop functions */
#include "common.h" /* cl/common.h: numbers shared with the kernels */
#include "gemm/tune_config.h" /* clnn__tune_params (leaf header: needs only clnn.h) */

#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>

#define CLNN_WORKSPACE_SLOTS 7

typedef struct clnn__program_entry {
  char *name;    /* program name: "conv2d" for cl/conv2d.cl */
  cl_program program;
} clnn__program_entry;

/* A context's kernel object with what the launch checks need, queried once when it is created:
 * the kernel's own work-group limit (CL_KERNEL_WORK_GROUP_SIZE) and the local memory its own
 * __local arrays take (CL_KERNEL_LOCAL_MEM_SIZE before any argument is set). */
typedef struct clnn__kernel_slot {
  cl_kernel kernel;
  size_t wg_size;       /* 0: not reported */
  cl_ulong static_lmem;
} clnn__kernel_slot;

/* A kernel as the code names it: one static object per kernel (CLNN_KERNEL_REF), numbered once
 * per process on first use (src/runtime/program.c); a context keeps the kernel it created under
 * that number, so a launch finds its cl_kernel by index, never by comparing names. */
typedef struct clnn__kernel_ref {
  const char *program; /* "conv2d" for cl/conv2d.cl */
  const char *name;    /* the kernel function */
  _Atomic size_t id;   /* 0 until first use, then its index in every context's kernel table */
} clnn__kernel_ref;
#define CLNN_KERNEL_REF(program, name) {(program), (name), 0}

struct clnn_context {
  cl_context cl_ctx;
  cl_device_id device;
  cl_command_queue queue;
  int wrapped;                  /* 1: created by clnn_context_wrap */
  clnn_device_info info;
  int device_class;             /* CLNN_DEVICE_CLASS_* from cl/common.h */
  char *cache_dir;              /* NULL: disk cache off */
  char *binary_dir;             /* NULL: none */
  int binaries_only;
  int force_clblast;
  clnn__tune_params tune;       /* tuned GEMM parameters, resolved once at creation; read-only after */
  clnn__program_entry *programs;
  size_t num_programs, cap_programs;
  clnn__kernel_slot *kernels;    /* by clnn__kernel_ref id; kernel NULL: not created yet */
  size_t cap_kernels;
  cl_mem workspace[CLNN_WORKSPACE_SLOTS];
  size_t workspace_bytes[CLNN_WORKSPACE_SLOTS];
  void *staging;                /* host side of clnn__upload_staged */
  size_t staging_bytes;
  cl_event staging_event;       /* the pending staged upload, or NULL */
  size_t live_objects;          /* tensors, networks and models on it not yet destroyed */
  int destroy_pending;          /* clnn_context_destroy was called while objects lived: the
                                   context refuses new work and is freed with the last of them */
  int used_clblast;             /* a GEMM went to CLBlast: its program cache is cleared at destroy */
  uint64_t program_cache_hits, program_cache_misses, program_builds; /* statistics */
  double program_build_seconds;
};

struct clnn_tensor {
  clnn_context *ctx;
  cl_mem mem;
  int wrapped;
  int ndim;
  size_t dims[CLNN_MAX_DIMS];
  size_t numel;
};

/* ---- versioned public structs (src/runtime/struct_size.c, docs/ABI.md) ---- */

typedef enum clnn__struct_id {
  CLNN__DEVICE_INFO,
  CLNN__CONTEXT_OPTIONS,
  CLNN__CONV2D_PARAMS,
  CLNN__POOL2D_PARAMS,
  CLNN__SGD_PARAMS,
  CLNN__ADAM_PARAMS,
  CLNN__RMSPROP_PARAMS,
  CLNN__ADAGRAD_PARAMS,
  CLNN__ATTENTION_PARAMS,
  CLNN__OPTIMIZER_CONFIG,
  CLNN__SCHEDULE,
  CLNN__RNN_PARAMS,
  CLNN__GRAPH_RNN_OPTIONS,
  CLNN__AUGMENT_OPTIONS,
  CLNN__STRUCT_COUNT
} clnn__struct_id;

/* Checks p->struct_size (p not NULL) against the layouts of struct `id` the library knows:
 * CLNN_ERROR_INVALID_ARGUMENT naming fn, arg, the struct and its _init function otherwise.
 * *size (may be NULL) receives it. */
clnn_status clnn__struct_check(clnn__struct_id id, const char *fn, const char *arg, const void *p,
                               uint32_t *size);
/* Checks src (not NULL) as above, then fills dst (the current layout, dst_size bytes) with the
 * bytes within src's struct_size, zeros after them, and struct_size = dst_size. */
clnn_status clnn__struct_in(clnn__struct_id id, const char *fn, const char *arg, const void *src,
                            void *dst, size_t dst_size);
/* Copies the bytes of src after struct_size and within `size` (a checked struct_size) into dst. */
void clnn__struct_out(void *dst, const void *src, uint32_t size);

/* At the top of a public function: when the struct pointer `ptr` (a parameter) is not NULL,
 * checks it and points it at `local`, a copy in the current layout; returns the error
 * otherwise. */
#define CLNN__STRUCT_IN(id, fn, arg, ptr, local)                                                  \
  do {                                                                                            \
    if (ptr) {                                                                                    \
      clnn_status struct_in_status_ = clnn__struct_in((id), (fn), (arg), (ptr), &(local),        \
                                                       sizeof(local));                            \
      if (struct_in_status_ != CLNN_SUCCESS) return struct_in_status_;                           \
      (ptr) = &(local);                                                                           \
    }                                                                                             \
  } while (0)

/* ---- errors and logging (src/runtime/status.c) ---- */

/* Records the detail for clnn_last_error() and returns `status`. */
clnn_status clnn__error(clnn_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Re-records the current error (clnn_last_error()) as "fn: <message>" and returns `status`: how a
 * public function puts its name in front of what a runtime helper (clnn__check_*, clnn__workspace,
 * ...) reported. CLNN_SUCCESS passes through untouched. */
clnn_status clnn__prefix_error(const char *fn, clnn_status status);
/* CLNN_ERROR_OPENCL (or OUT_OF_MEMORY for allocation failures) with "what: CL_ERROR_NAME (code)". */
clnn_status clnn__cl_error(cl_int err, const char *what);
const char *clnn__cl_error_name(cl_int err);
void clnn__log(clnn_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---- argument validation (src/runtime/tensor.c) ---- */

/* t is not NULL and belongs to ctx (ctx not NULL). `name` is the argument's name for messages. */
clnn_status clnn__check_tensor(const clnn_context *ctx, const clnn_tensor *t, const char *name);
/* t has exactly these dims (ndim entries). */
clnn_status clnn__check_dims(const clnn_tensor *t, const char *name, int ndim, const size_t *dims);
/* t has this many elements. */
clnn_status clnn__check_numel(const clnn_tensor *t, const char *name, size_t numel);
/* "[2, 3, 4]" into buf. */
const char *clnn__dims_str(const clnn_tensor *t, char *buf, size_t size);
const char *clnn__dims_str_raw(int ndim, const size_t *dims, char *buf, size_t size);
/* a*b without overflow, else returns 0 and sets *ok = 0. */
size_t clnn__mul_size(size_t a, size_t b, int *ok);
/* beta must be 0 or 1 style finite value; checks it is finite. */
clnn_status clnn__check_beta(float beta);
/* clnn__check_tensor with "fn: " in front of its message. */
clnn_status clnn__check_tensor_in(const char *fn, const clnn_context *ctx, const clnn_tensor *t,
                                  const char *name);
/* 1 when a and b have the same ndim and dims. */
int clnn__same_dims(const clnn_tensor *a, const clnn_tensor *b);
/* CLNN_ERROR_SHAPE_MISMATCH "fn: a has shape [..] but b has shape [..]" unless the dims agree. */
clnn_status clnn__check_same_shape(const char *fn, const clnn_tensor *a, const char *a_name,
                                   const clnn_tensor *b, const char *b_name);
/* CLNN_ERROR_SHAPE_MISMATCH naming both shapes and element counts unless a and b have the same
 * number of elements. */
clnn_status clnn__check_same_numel(const char *fn, const clnn_tensor *a, const char *a_name,
                                   const clnn_tensor *b, const char *b_name);
/* CLNN_ERROR_INVALID_ARGUMENT "fn: a and b share one buffer; they must be distinct tensors" for
 * the first pair of t[0..count) (NULLs skipped) with one cl_mem. */
clnn_status clnn__check_distinct(const char *fn, const clnn_tensor *const *t,
                                 const char *const *names, int count);
/* The same for every tensor of a[0..na) against every other entry of b[0..nb) (a and b may be
 * the same array or overlap: an entry is never compared with itself). */
clnn_status clnn__check_cross(const char *fn, const clnn_tensor *const *a, const char *const *a_names,
                              int na, const clnn_tensor *const *b, const char *const *b_names, int nb);
/* CLNN_ERROR_INVALID_ARGUMENT "fn: out and in share one buffer" when both are non-NULL and are
 * the same cl_mem (an output must not alias an input unless the operator documents in-place use).
 * Distinct sub-buffers of one buffer are not detected. */
clnn_status clnn__check_alias(const char *fn, const clnn_tensor *out, const char *out_name,
                              const clnn_tensor *in, const char *in_name);

/* "relu", "leaky_relu", ...: the name of a clnn_activation; NULL for a value that is none
 * (src/ops/activation.c). */
const char *clnn__act_name(clnn_activation act);

/* ---- kernels (src/runtime/program.c) ---- */

/* The kernel `ref` names (its program cl/<program>.cl built once per context with the options the
 * device calls for, cached in memory and on disk), created on first use and kept. */
clnn_status clnn__kernel(clnn_context *ctx, clnn__kernel_ref *ref, cl_kernel *out);
/* Builds `src` (a complete program text) with `opts`; CLNN_ERROR_BUILD with the log on failure. */
clnn_status clnn__build_source(clnn_context *ctx, const char *name, const char *src, const char *opts,
                               cl_program *out);
/* Parses a cache or binary entry held in memory; 0 and the payload when it checks out, -1 when
 * malformed, -2 when it was built for another key than `key` ("<program>-<hash>"; NULL: any). */
int clnn__cache_entry_parse(const unsigned char *data, size_t size, const char *key,
                            const unsigned char **payload, size_t *payload_size);
/* Tests only: 1 makes contexts on PoCL use clnn's on-disk kernel cache even while PoCL keeps its
 * own (by default they bypass it there; src/runtime/program.c, pocl_keeps_own_cache). */
void clnn__disk_cache_on_pocl(int on);
/* The program (build unit) that holds cl/<file>.cl's kernels on ctx: "train_cpu" for "dense" on
 * the CPU class, the file's own name for a unit of its own. Cache entries and binaries are named
 * after it. */
const char *clnn__program_name(const clnn_context *ctx, const char *file);
/* How many programs clnn_export_binaries writes for ctx: build units, i.e. the cl/ files less those
 * built together with others (src/runtime/program.c, build units per device class). */
size_t clnn__program_unit_count(const clnn_context *ctx);
/* The -D options every build of `program` (a file or a build unit) on ctx's device gets (device
 * class and tuned sizes). */
void clnn__program_options(const clnn_context *ctx, const char *program, char *buf, size_t size);

/* A kernel argument: size and pointer (pointer NULL for local memory of `size` bytes). */
typedef struct clnn__arg {
  size_t size;
  const void *ptr;
} clnn__arg;
#define CLNN_ARG_MEM(m) ((clnn__arg){sizeof(cl_mem), &(cl_mem){(m)}})
#define CLNN_ARG_INT(v) ((clnn__arg){sizeof(cl_int), &(cl_int){(cl_int)(v)}})
#define CLNN_ARG_UINT(v) ((clnn__arg){sizeof(cl_uint), &(cl_uint){(cl_uint)(v)}})
#define CLNN_ARG_LONG(v) ((clnn__arg){sizeof(cl_long), &(cl_long){(cl_long)(v)}})
#define CLNN_ARG_ULONG(v) ((clnn__arg){sizeof(cl_ulong), &(cl_ulong){(cl_ulong)(v)}})
#define CLNN_ARG_FLOAT(v) ((clnn__arg){sizeof(cl_float), &(cl_float){(cl_float)(v)}})
#define CLNN_ARG_LOCAL(bytes) ((clnn__arg){(bytes), NULL})

/* Sets the arguments and enqueues kernel `ref` over `global` (rounded up to a multiple of `local`
 * when `local` is not NULL; kernels must bounds-check). */
clnn_status clnn__run(clnn_context *ctx, clnn__kernel_ref *ref, cl_uint work_dim, const size_t *global,
                      const size_t *local, const clnn__arg *args, size_t num_args);
#define CLNN_RUN(ctx, ref, dim, global, local, ...)                                              \
  clnn__run((ctx), (ref), (dim), (global), (local), (const clnn__arg[]){__VA_ARGS__},            \
            sizeof((const clnn__arg[]){__VA_ARGS__}) / sizeof(clnn__arg))


/* ---- launch sizes (src/runtime/launch.c) ---- */

/* The largest work-group kernel `ref` may be launched with on ctx's device: the
 * device's maximum, lowered to the kernel's CL_KERNEL_WORK_GROUP_SIZE (registers, local memory,
 * barriers: GPUs report less for heavy kernels). Launch sizes must come from this, never from the
 * device's maximum alone. */
size_t clnn__kernel_wg_limit(clnn_context *ctx, clnn__kernel_ref *ref);
/* The largest power of two <= cap and <= the kernel's limit, stopping at the first >= want. */
size_t clnn__local_pow2(clnn_context *ctx, clnn__kernel_ref *ref, size_t cap, size_t want);

/* The one launch policy for chunked 1-D kernels over n elements. CPU devices: about
 * cpu_items_per_cu work-items per compute unit, each a contiguous chunk (rounded up to a multiple
 * of cpu_align, at least cpu_min_chunk elements), in work-groups of one so PoCL spreads them over
 * the cores. Other device classes: gpu_chunk elements per work-item (0: one, and the kernel is
 * told 0), work-groups of gpu_local halved until the kernel's CL_KERNEL_WORK_GROUP_SIZE allows
 * them. global is never 0. */
typedef struct clnn__launch_policy {
  size_t cpu_items_per_cu, cpu_min_chunk, cpu_align;
  size_t gpu_chunk, gpu_local;
} clnn__launch_policy;
/* Elementwise kernels: 4 chunks per compute unit of at least 4096 elements (a multiple of 64),
 * or on GPUs `gpu_chunk` elements per work-item in work-groups of 128. */
#define CLNN_LAUNCH_ELEMENTWISE(gpu_chunk) ((clnn__launch_policy){4, 4096, 64, (gpu_chunk), 128})
/* Partial sums of a reduction: 8 chunks per compute unit of at least 4096 elements, or on GPUs
 * 64 elements per work-item in work-groups of 128. */
#define CLNN_LAUNCH_REDUCE ((clnn__launch_policy){8, 4096, 1, 64, 128})
typedef struct clnn__launch {
  size_t chunk, global, local;
} clnn__launch;
clnn__launch clnn__launch_1d(clnn_context *ctx, clnn__kernel_ref *ref, size_t n, clnn__launch_policy p);

/* Embedded kernel sources (src/runtime/embed.c is generated by CMake from cl/). */
typedef struct clnn__source {
  const char *name; /* "conv2d" for cl/conv2d.cl; "common" for cl/common.h */
  const char *text;
  size_t size;
} clnn__source;
extern const clnn__source clnn__sources[];
extern const size_t clnn__num_sources;

/* ---- objects that point at a context (src/runtime/context.c) ---- */

/* Every tensor, network and model registers with its context when it is made (hold) and leaves
 * when it is destroyed (drop), so a destroyed context outlives them (see clnn_context_destroy).
 * hold refuses (CLNN_ERROR_INVALID_ARGUMENT, "fn: the context was destroyed") once the context
 * was destroyed; drop frees such a context with its last object. */
clnn_status clnn__context_hold(clnn_context *ctx, const char *fn);
void clnn__context_drop(clnn_context *ctx);
/* CLNN_ERROR_INVALID_ARGUMENT naming `fn` when clnn_context_destroy was called on ctx. */
clnn_status clnn__context_check_live(const clnn_context *ctx, const char *fn);

/* ---- workspaces (src/runtime/context.c) ---- */

/* A device buffer of at least `bytes` owned by the context, slot 0..CLNN_WORKSPACE_SLOTS-1; it
 * grows (never shrinks) so steady-state calls do not allocate. Contents are undefined. An op must
 * not use the same slot for two buffers at once. Slot use: 0-1 conv/im2col, 2 labels and small
 * scalars, 3-5 LSTM / reductions, 6 GEMM operand packing and copies (src/gemm/). */
clnn_status clnn__workspace(clnn_context *ctx, int slot, size_t bytes, cl_mem *out);
/* Small non-blocking uploads (labels): clnn__staging hands out a context-owned host buffer of at
 * least `bytes` that no transfer is still reading (it waits for the previous staged upload, which
 * has normally long finished); fill it, then clnn__upload_staged enqueues a non-blocking copy of
 * its first `bytes` into workspace slot `slot`. The caller's own memory is never read after the
 * op returns, so it may be freed or reused at once. */
clnn_status clnn__staging(clnn_context *ctx, size_t bytes, void **host);
clnn_status clnn__upload_staged(clnn_context *ctx, int slot, size_t bytes, cl_mem *out);

/* ---- GEMM (src/gemm.c; offsets and leading dimensions in floats, row-major) ---- */
clnn_status clnn__gemm(clnn_context *ctx, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                       float alpha, cl_mem a, size_t a_off, size_t lda, cl_mem b, size_t b_off,
                       size_t ldb, float beta, cl_mem c, size_t c_off, size_t ldc);
clnn_status clnn__gemm_batched(clnn_context *ctx, int trans_a, int trans_b, size_t m, size_t n,
                               size_t k, float alpha, cl_mem a, size_t a_off, size_t lda,
                               size_t a_stride, cl_mem b, size_t b_off, size_t ldb, size_t b_stride,
                               float beta, cl_mem c, size_t c_off, size_t ldc, size_t c_stride,
                               size_t batch);
/* The same with the reduction split into segments: K index k lies in segment s = k / kseg at
 * kk = k % kseg, and op(a)(i, k) is a[a_off + s*a_ks + (trans_a ? kk*lda + i : i*lda + kk)]
 * (b likewise), so a sum over several images' pixels needs no gathered copy (conv2d's filter
 * gradient). Only clnn's CPU GEMM takes segments: callers first ask clnn__gemm_kseg_available
 * (otherwise CLNN_ERROR_UNSUPPORTED). Results are bitwise those of the gathered operands. */
int clnn__gemm_kseg_available(const clnn_context *ctx);
/* Columns of one wide panel of clnn's CPU GEMM on ctx (products are computed in panels of this
 * many columns); 0 where GEMMs go to CLBlast. */
size_t clnn__gemm_cpu_panel(const clnn_context *ctx);
clnn_status clnn__gemm_kseg(clnn_context *ctx, int trans_a, int trans_b, size_t m, size_t n,
                            size_t k, size_t kseg, float alpha, cl_mem a, size_t a_off, size_t lda,
                            size_t a_stride, size_t a_ks, cl_mem b, size_t b_off, size_t ldb,
                            size_t b_stride, size_t b_ks, float beta, cl_mem c, size_t c_off,
                            size_t ldc, size_t c_stride, size_t batch);
/* At context creation, after ctx->tune is resolved: applies its CLBlast overrides. */
void clnn__gemm_context_init(clnn_context *ctx);
/* At context destroy: drops CLBlast's cached programs (and their cl_context references) when
 * this context used CLBlast. */
void clnn__gemm_context_release(clnn_context *ctx);
/* The context's tuned parameters and GEMM path in one line (clnn-bench prints it). */
void clnn__gemm_describe(const clnn_context *ctx, char *buf, size_t size);
/* Which GEMM path the last clnn__gemm call on this thread took ("clblast" or "clnn-cpu"). */
const char *clnn__gemm_last_path(void);
/* What the last "clnn-cpu" GEMM on this thread ran, e.g. "gemm_ct_n_packed": the orientation
 * ("cn" computes C, "ct" C^T), the width of cl/gemm_cpu.cl's kernel (gemm_n) and whether its
 * vector operand was packed or read in place; "none" before. */
const char *clnn__own_gemm_last_kernel(void);
/* What the last convolution pass (conv2d or its transpose) on this thread ran: "im2col-gemm",
 * "1x1-gemm", "direct-plane" (cl/conv2d_direct.cl's whole-plane kernels), "direct-depthwise"
 * (the CPU depthwise row kernels) or "direct"; "none" before. */
const char *clnn__conv2d_last_algo(void);
/* Kept im2col columns (src/ops/conv2d.c; the graph's conv node in training): the number of
 * floats (C*R*S x N*P*Q) of the column matrix a forward of x by w (algorithm AUTO) can leave for
 * its backward-filter, or 0 where that does not apply (forward or backward-filter not
 * IM2COL_GEMM through clnn's CPU GEMM, chunks that slice an image, over 256 MiB, or
 * $CLNN_CONV_KEEP_COLS=0). clnn__conv2d_forward_keep is clnn_conv2d_forward (AUTO) that also
 * writes the columns into cols (that many floats); clnn__conv2d_backward_filter_kept is
 * clnn_conv2d_backward_filter (AUTO) reading them instead of recomputing them from x, which must
 * be unchanged since: the gradient is bitwise the recomputing path's. */
size_t clnn__conv2d_kept_cols_numel(clnn_context *ctx, const clnn_conv2d_params *p,
                                    const clnn_tensor *x, const clnn_tensor *w);
clnn_status clnn__conv2d_forward_keep(clnn_context *ctx, const clnn_conv2d_params *p,
                                      const clnn_tensor *x, const clnn_tensor *w,
                                      const clnn_tensor *bias, clnn_activation act, float act_alpha,
                                      clnn_tensor *y, clnn_tensor *cols);
clnn_status clnn__conv2d_backward_filter_kept(clnn_context *ctx, const clnn_conv2d_params *p,
                                              const clnn_tensor *x, const clnn_tensor *dy,
                                              float beta, clnn_tensor *dw, const clnn_tensor *cols);
/* Tests: kept columns on (1) or off (0) whatever $CLNN_CONV_KEEP_COLS says; returns the old. */
int clnn__conv2d_set_keep_cols(int on);

/* ---- bias gradients (src/ops/dense.c), shared by dense and the recurrent layers ---- */
/* db[cols] = beta*db + column sums of dy[rows, cols] in a fixed order (beta 0: db not read);
 * arguments already checked. */
clnn_status clnn__bias_grad(clnn_context *ctx, cl_mem dy, size_t rows, size_t cols, float beta,
                            cl_mem db);
/* Its kernel, for callers that build their kernels before enqueueing anything. */
clnn__kernel_ref *clnn__bias_grad_kernel(void);

/* ---- devices (src/runtime/device.c) ---- */
void clnn__describe_device(cl_platform_id platform, cl_device_id dev, clnn_device_info *info);
clnn_status clnn__device_lookup(int index, cl_platform_id *platform, cl_device_id *device,
                                clnn_device_info *info);

/* ---- files (src/runtime/safefile.c) ---- */
/* Opens a regular file for reading without blocking (a FIFO, socket or device is refused:
 * errno ENXIO; a directory: EISDIR); *size (may be NULL) gets its length. -1 with errno. */
int clnn__open_regular(const char *path, uint64_t *size);
/* strerror, with ENXIO worded as "not a regular file". */
const char *clnn__file_error(int err);
/* Reads exactly n bytes (0, or -1 with errno; a short file is EIO). */
int clnn__read_fd(int fd, void *buf, size_t n);
/* A whole regular file of at most `max` bytes (EFBIG before allocating when larger), NUL-ended;
 * NULL with errno. Caller frees. */
unsigned char *clnn__read_regular(const char *path, size_t max, size_t *size);
/* Atomic replacement of `path`: begin creates "<path>.tmp.<pid>.<6 random>" exclusively
 * (O_CREAT|O_EXCL|O_NOFOLLOW) and holds an flock on it while it is written; commit fsyncs it,
 * renames it over path and fsyncs the directory; abort removes it. -1 with errno on failure
 * (commit and begin clean up after themselves). */
typedef struct clnn__atomic_file {
  int fd;
  char *tmp;
  const char *path;
} clnn__atomic_file;
int clnn__atomic_begin(const char *path, clnn__atomic_file *af);
int clnn__atomic_write(clnn__atomic_file *af, const void *data, size_t n);
int clnn__atomic_commit(clnn__atomic_file *af);
void clnn__atomic_abort(clnn__atomic_file *af);
/* Removes temporaries of `path` that killed writers left: names of the pattern above (and the
 * older "<path>.tmp.<pid>[.<n>]" whose process is gone) that no live writer holds locked.
 * Returns how many were removed. */
int clnn__remove_stale_temps(const char *path);

/* ---- misc ---- */
/* Non-blocking whole-tensor copies and queue control (src/runtime/tensor.c) for callers that
 * overlap transfers with work: the multi-device executor. */
clnn_status clnn__tensor_read_async(const clnn_tensor *t, float *dst, cl_event *ev);
clnn_status clnn__tensor_write_async(clnn_tensor *t, const float *src);
clnn_status clnn__context_flush(clnn_context *ctx);
clnn_status clnn__context_finish(clnn_context *ctx);
char *clnn__strdup(const char *s);
double clnn__now_seconds(void);
/* 64-bit FNV-1a over bytes, continuing from h (start with CLNN__FNV_BASIS). */
#define CLNN__FNV_BASIS 14695981039346656037ULL
uint64_t clnn__fnv1a(uint64_t h, const void *data, size_t size);

#endif /* CLNN_INTERNAL_H */
