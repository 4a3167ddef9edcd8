/* clnn.h — the one public header of clnn, a C11 library that trains neural networks on any
 * OpenCL 1.2+ device (GPUs, CPUs through PoCL, accelerators).
 *
 * A complete program (build: cc demo.c $(pkg-config --cflags --libs clnn)):
 *
 *     #include <clnn.h>
 *     #include <stdio.h>
 *     int main(void) {
 *       clnn_context *ctx = NULL;
 *       if (clnn_context_create(NULL, &ctx) != CLNN_SUCCESS) {   // default device, or $CLNN_DEVICE
 *         fprintf(stderr, "clnn: %s\n", clnn_last_error());
 *         return 1;
 *       }
 *       size_t dims[2] = {2, 2};
 *       float a[4] = {1, 2, 3, 4}, c[4];
 *       clnn_tensor *ta = NULL, *tc = NULL;
 *       clnn_tensor_create(ctx, 2, dims, &ta);
 *       clnn_tensor_create(ctx, 2, dims, &tc);
 *       clnn_tensor_write(ta, a, 4);
 *       clnn_gemm(ctx, 0, 0, 1.0f, ta, ta, 0.0f, tc);            // c = a * a
 *       clnn_tensor_read(tc, c, 4);                               // waits for the result
 *       printf("%g %g %g %g\n", c[0], c[1], c[2], c[3]);          // 7 10 15 22
 *       clnn_tensor_destroy(ta);
 *       clnn_tensor_destroy(tc);
 *       clnn_context_destroy(ctx);
 *       return 0;
 *     }
 *
 * Conventions
 * - Every fallible call returns clnn_status; CLNN_SUCCESS is 0. On failure clnn_last_error() (per
 *   thread) says what was wrong, and the call changed nothing: no output tensor was written.
 * - Opaque handles. Every create has a destroy; destroy(NULL) is a no-op.
 * - Tensors are fp32, dense, row-major (C order), 1 to 5 dimensions. Images are NCHW.
 * - Operators enqueue work on the context's in-order queue and return; reading a tensor back
 *   waits for it. A context and the tensors on it must be used from one thread at a time.
 * - Backward operators take `beta`: 0 overwrites the gradient output, 1 adds to it.
 * - Aliasing: an output tensor may share its buffer (the same tensor, or two tensors wrapping one
 *   cl_mem) with an input only where the operator's comment says so ("in place"); everywhere
 *   else such a call is CLNN_ERROR_INVALID_ARGUMENT and writes nothing. Overlapping sub-buffers
 *   of one buffer are not detected: do not pass them.
 * - Host arrays: every function that reads or writes one takes its element count (x_count,
 *   labels_count, y_count, num_ids, ...) and checks it against what the call needs before it
 *   touches the array (CLNN_ERROR_INVALID_ARGUMENT otherwise; since 0.2).
 * - A network or model is used from one thread at a time: a call from a second thread while one
 *   is inside a call on it returns CLNN_ERROR_INVALID_ARGUMENT ("in use by another thread").
 * - The library never prints unless asked (clnn_set_log_callback or CLNN_LOG=debug|info|warn).
 *
 * Structs and binary compatibility (docs/ABI.md; since 0.3)
 * - clnn.h needs no OpenCL header (since 0.3). The four functions whose signatures use OpenCL
 *   types (clnn_context_wrap, clnn_context_get_cl, clnn_tensor_wrap, clnn_tensor_cl_mem) are
 *   in clnn_cl.h: include it instead to share OpenCL objects with clnn.
 * - Every struct the caller allocates and hands over by pointer on its own (clnn_device_info,
 *   clnn_context_options, clnn_conv2d_params, clnn_pool2d_params, clnn_sgd_params,
 *   clnn_adam_params, clnn_rmsprop_params, clnn_adagrad_params, clnn_attention_params,
 *   clnn_optimizer_config, clnn_schedule) starts with `uint32_t struct_size`. Its _init function
 *   (clnn_conv2d_params_init, ...) sets it to the sizeof the caller was compiled with and fills
 *   in the defaults; call it first, then set the fields you want. (Without the _init function:
 *   set struct_size = sizeof(the struct) and every field yourself.)
 * - A struct_size of 0, or one that is no layout of that struct the library knows, is
 *   CLNN_ERROR_INVALID_ARGUMENT with a message naming the function, the struct and its _init
 *   function; the call changes nothing.
 * - The library reads (or, for clnn_device_info, writes) only the bytes within struct_size. New
 *   fields are only ever added at the end, and one a caller's older, smaller layout lacks reads as
 *   0, which always keeps the behaviour that layout had; so a program built against an older
 *   clnn.h keeps working with a newer library of the same soname.
 * - The small parameter structs passed to every operator call (conv2d, pool2d, the optimizers',
 *   attention's) follow the same rule rather than being frozen: they do grow (attention's
 *   num_lengths came in 0.2), one rule is simpler than two, and the per-call cost is a 4-byte
 *   compare and a copy of under 100 bytes.
 * - clnn_feed is the exception: callers pass arrays of it, whose stride must not change. It has no
 *   struct_size and is frozen: a new per-feed option would come with a new function.
 *
 * Environment variables: CLNN_DEVICE (device selection), CLNN_DEVICES (device set: a list or
 * `all`), CLNN_DEVICE_CLASS (run as another device class: gpu, cpu, accelerator),
 * CLNN_DEVICE_LIMITS (report smaller device limits, e.g. `wg=64,local=16384`: a context's work-group
 * size and local memory are capped to them, for testing small-limit devices),
 * CLNN_CACHE_DIR (kernel binary cache,
 * `off` disables), CLNN_BINARY_DIR (prebuilt kernel binaries), CLNN_KERNEL_DIR (read the cl/ kernel sources from
 * disk instead of the embedded copies), CLNN_LOG (log level to stderr). */
#ifndef CLNN_H
#define CLNN_H

/* No OpenCL header here: the functions that share OpenCL objects with the caller are in
 * clnn_cl.h (which includes <CL/cl.h> and this header). */
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CLNN_VERSION_MAJOR 0
#define CLNN_VERSION_MINOR 3
#define CLNN_VERSION_PATCH 0
#define CLNN_VERSION_STRING "0.3.0"
#define CLNN_MAX_DIMS 5

/* ============================================================================================== */
/* Status, errors, logging                                                                        */
/* ============================================================================================== */

typedef enum clnn_status {
  CLNN_SUCCESS = 0,
  CLNN_ERROR_INVALID_ARGUMENT = -1,  /* NULL pointer, value out of range, bad enum */
  CLNN_ERROR_SHAPE_MISMATCH = -2,    /* tensor shapes do not fit the operation */
  CLNN_ERROR_OUT_OF_MEMORY = -3,     /* host or device allocation failed or too large */
  CLNN_ERROR_NO_DEVICE = -4,         /* the OpenCL ICD loader exposes no device at all */
  CLNN_ERROR_DEVICE_NOT_FOUND = -5,  /* a device selection matched no device */
  CLNN_ERROR_CONTEXT_MISMATCH = -6,  /* tensors from different contexts in one call */
  CLNN_ERROR_OPENCL = -7,            /* an OpenCL call failed (message names the error) */
  CLNN_ERROR_BUILD = -8,             /* a kernel failed to build (message holds the build log) */
  CLNN_ERROR_BINARY_MISSING = -9,    /* binary-only device and no prebuilt binary for a kernel */
  CLNN_ERROR_GEMM = -10,             /* CLBlast reported an error (message holds its meaning) */
  CLNN_ERROR_IO = -11,               /* a file could not be opened, read or written */
  CLNN_ERROR_FORMAT = -12,           /* a file is malformed, truncated or does not match */
  CLNN_ERROR_UNSUPPORTED = -13,      /* valid request this device or build cannot do */
  CLNN_ERROR_INTERNAL = -14,         /* a bug in clnn; please report it */
  CLNN_ERROR_NOT_FINITE = -15        /* a loss or gradient is NaN or infinite (with the check on:
                                        clnn_net_set_check_finite, clnn_model_set_check_finite) */
} clnn_status;

/* The library's version as "MAJOR.MINOR.PATCH" (compare with CLNN_VERSION_STRING to detect a
 * header/library mismatch), and as MAJOR*10000 + MINOR*100 + PATCH. */
const char *clnn_version(void);
int clnn_version_number(void);

/* Name of a status ("CLNN_ERROR_SHAPE_MISMATCH"); never NULL. */
const char *clnn_status_string(clnn_status status);

/* Detail of the most recent failure on this thread (which argument and why, the OpenCL error
 * name, a kernel's build log). Like errno, a successful call does not clear it. The string stays
 * valid until the next failing clnn call on this thread. Empty if nothing has failed. */
const char *clnn_last_error(void);

typedef enum clnn_log_level {
  CLNN_LOG_ERROR = 0,
  CLNN_LOG_WARN = 1,
  CLNN_LOG_INFO = 2,
  CLNN_LOG_DEBUG = 3
} clnn_log_level;

typedef void (*clnn_log_fn)(clnn_log_level level, const char *message, void *user);

/* Routes log messages up to `max_level` to `fn` (NULL: no logging, the default unless CLNN_LOG
 * is set, in which case messages go to stderr). Process-wide, and safe to call while other threads
 * log: each message goes either to the old callback (with the old `user`) or to the new one, and
 * when this returns the old callback is no longer running on any thread, so its `user` may be
 * freed. The callback is never called from two threads at once (messages are serialised). It may
 * call clnn functions, whose messages reach it nested, but a call of clnn_set_log_callback from
 * inside the callback is ignored. */
void clnn_set_log_callback(clnn_log_fn fn, clnn_log_level max_level, void *user);

/* ============================================================================================== */
/* Devices                                                                                        */
/* ============================================================================================== */

typedef enum clnn_device_type {
  CLNN_DEVICE_OTHER = 0,
  CLNN_DEVICE_CPU = 1,
  CLNN_DEVICE_GPU = 2,
  CLNN_DEVICE_ACCELERATOR = 3
} clnn_device_type;

typedef struct clnn_device_info {
  uint32_t struct_size; /* = sizeof(clnn_device_info), set by clnn_device_info_init */
  int platform_index;            /* P in "P:D" */
  int device_index;              /* D in "P:D" (index within the platform) */
  char platform_name[128];
  char name[128];
  char vendor[128];
  char driver_version[64];
  char opencl_c_version[64];
  char device_version[128];
  clnn_device_type type;
  unsigned compute_units;
  unsigned clock_mhz;
  unsigned preferred_vector_width_float;
  uint64_t global_mem_bytes;
  uint64_t local_mem_bytes;
  uint64_t max_alloc_bytes;
  size_t max_work_group_size;
  int fp16;                      /* cl_khr_fp16 */
  int fp64;                      /* cl_khr_fp64 */
  int compiler_available;        /* 0 on devices that only load prebuilt binaries (FPGAs) */
  double est_peak_gflops;        /* compute units x clock x float vector width x 2 (FMA) */
} clnn_device_info;

/* Sets info->struct_size to sizeof(clnn_device_info) and every other field to 0, ready for
 * clnn_device_get_info or clnn_context_device_info. NULL is a no-op. */
void clnn_device_info_init(clnn_device_info *info);

/* Number of devices across every platform the ICD loader exposes. Returns CLNN_ERROR_NO_DEVICE
 * (and *count = 0) when there is none. */
clnn_status clnn_device_count(int *count);

/* Information about device `index` (0 .. count-1, in platform then device order). `info` must
 * have been through clnn_device_info_init (its struct_size says how much the library may write). */
clnn_status clnn_device_get_info(int index, clnn_device_info *info);

/* Resolves a selection string to a device index. `selection`: NULL or "" (the default device:
 * GPU before accelerator before CPU, then by est_peak_gflops), "P:D", "gpu" / "cpu" /
 * "accelerator" (the best of that type), or a case-insensitive substring of the device name.
 * A selection that matches nothing is CLNN_ERROR_DEVICE_NOT_FOUND, and the message lists the
 * devices that exist. `reason` (may be NULL) receives why this device was chosen. */
clnn_status clnn_device_select(const char *selection, int *index, char *reason, size_t reason_size);

/* ============================================================================================== */
/* Contexts                                                                                       */
/* ============================================================================================== */

typedef struct clnn_context clnn_context;

typedef struct clnn_context_options {
  uint32_t struct_size; /* = sizeof(clnn_context_options), set by clnn_context_options_init */
  const char *device;      /* selection string as for clnn_device_select; NULL: $CLNN_DEVICE,
                              else the default device */
  const char *cache_dir;   /* NULL: $CLNN_CACHE_DIR, else $XDG_CACHE_HOME/clnn, else
                              ~/.cache/clnn; "off" disables the on-disk kernel cache. On PoCL
                              it is bypassed while PoCL's own kernel cache is on (its default;
                              POCL_KERNEL_CACHE=0 turns it off), which keeps the same builds */
  const char *binary_dir;  /* NULL: $CLNN_BINARY_DIR; directory of prebuilt kernel binaries */
  int binaries_only;       /* 1: never compile from source, load every kernel from binary_dir
                              (automatic on devices without a compiler) */
  int force_clblast;       /* 1: GEMM always goes to CLBlast, even where a clnn kernel is faster */
  clnn_device_type device_class; /* CLNN_DEVICE_OTHER (0): $CLNN_DEVICE_CLASS ("gpu", "cpu",
                              "accelerator"), else the device's own type. Otherwise: use the
                              kernels, launch shapes and GEMM path of that class on whatever
                              device this is (e.g. the GPU paths on PoCL, for testing). */
  size_t max_work_group_size;   /* 0: $CLNN_DEVICE_LIMITS's wg=N, else the device's. Otherwise the
                              context reports and launches with at most this work-group size
                              (testing devices with small limits; never above the device's). */
  uint64_t max_local_mem_bytes; /* 0: $CLNN_DEVICE_LIMITS's local=BYTES, else the device's.
                              Otherwise the local memory the context reports and allows. */
} clnn_context_options;

/* Fills `options` with the defaults (struct_size = sizeof(clnn_context_options), all else NULL /
 * 0). NULL is a no-op. */
void clnn_context_options_init(clnn_context_options *options);

/* Creates a context (OpenCL context + in-order, profiling-enabled queue) on the selected device.
 * `options` may be NULL. */
clnn_status clnn_context_create(const clnn_context_options *options, clnn_context **ctx);

/* clnn_context_wrap (a context over the caller's OpenCL objects) is in clnn_cl.h. */

/* Waits for all work, then frees everything the context owns (kernel programs, workspaces,
 * CLBlast's cached programs, the queue and the OpenCL context, or clnn's references to the
 * caller's when wrapped). NULL is a no-op.
 *
 * Destroy its tensors (created or wrapped), networks (clnn_net) and models (clnn_model, created or
 * loaded) first. If some still live, the context is not freed yet: it logs one warning, waits for
 * its work and is marked destroyed. From then on every call that would use its device returns
 * CLNN_ERROR_INVALID_ARGUMENT ("the context was destroyed") and changes nothing: operators, GEMM,
 * clnn_tensor_create / wrap / write / read / fill / copy, creating a network or model on it, and
 * the network and model calls built on them (training, inference, saving and loading parameters).
 * Calls that only touch host-side state still answer (shape queries, clnn_tensor_reshape,
 * clnn_tensor_cl_mem, clnn_context_device_info, clnn_context_get_cl, network settings), and
 * destroying those tensors, networks and models works as usual. The context is freed, with
 * everything listed above, when the last of them is destroyed, so no handle is ever left pointing
 * at freed memory and nothing leaks once they are all destroyed (objects never destroyed keep it
 * alive, as any handle not destroyed would). A second clnn_context_destroy meanwhile does nothing
 * more. Using `ctx` itself after it was freed is a use after free, as with any destroyed handle. */
void clnn_context_destroy(clnn_context *ctx);

/* clnn_context_get_cl (the context's OpenCL objects) is in clnn_cl.h. */

/* Information about the context's device (platform/device indices are -1 for wrapped contexts
 * whose device the loader does not list). `info` must have been through clnn_device_info_init. */
clnn_status clnn_context_device_info(const clnn_context *ctx, clnn_device_info *info);

/* Blocks until every operation enqueued on the context has finished. */
clnn_status clnn_context_finish(clnn_context *ctx);

/* Runs a small kernel on the context's device and checks its result: CLNN_SUCCESS when the
 * device compiles (or loads) and runs clnn kernels correctly. */
clnn_status clnn_context_selftest(clnn_context *ctx);

/* Kernel-program statistics of this context: disk-cache hits and misses (a miss builds from
 * source), source builds and the seconds they took. Any out-pointer may be NULL. */
clnn_status clnn_context_cache_stats(const clnn_context *ctx, uint64_t *hits, uint64_t *misses,
                                     uint64_t *builds, double *build_seconds);

/* Builds every clnn kernel program for the context's device and writes the binaries into `dir`
 * (created if missing), for devices that cannot compile (see binaries_only). */
clnn_status clnn_export_binaries(clnn_context *ctx, const char *dir, int *programs_written);

/* ============================================================================================== */
/* Tensors                                                                                        */
/* ============================================================================================== */

typedef struct clnn_tensor clnn_tensor;

/* Allocates an uninitialised fp32 tensor with `ndim` (1..5) dimensions, each > 0. */
clnn_status clnn_tensor_create(clnn_context *ctx, int ndim, const size_t *dims, clnn_tensor **out);

/* clnn_tensor_wrap (a tensor over the caller's cl_mem) is in clnn_cl.h. */

/* Frees the tensor (or releases the wrapped buffer's extra reference). NULL is a no-op. */
void clnn_tensor_destroy(clnn_tensor *t);

/* Copies `count` floats (must equal numel) from host memory; returns once `src` may be reused. */
clnn_status clnn_tensor_write(clnn_tensor *t, const float *src, size_t count);
/* Waits for pending work, then copies `count` floats (must equal numel) to host memory. */
clnn_status clnn_tensor_read(const clnn_tensor *t, float *dst, size_t count);
/* Sets every element to `value`. */
clnn_status clnn_tensor_fill(clnn_tensor *t, float value);
/* dst = src (same numel, same context). */
clnn_status clnn_tensor_copy(clnn_tensor *dst, const clnn_tensor *src);
/* Changes the shape in place; the element count must stay the same. */
clnn_status clnn_tensor_reshape(clnn_tensor *t, int ndim, const size_t *dims);

int clnn_tensor_ndim(const clnn_tensor *t);          /* 0 for NULL */
size_t clnn_tensor_dim(const clnn_tensor *t, int i); /* 0 when out of range */
size_t clnn_tensor_numel(const clnn_tensor *t);      /* 0 for NULL */
/* clnn_tensor_cl_mem (a tensor's cl_mem) is in clnn_cl.h. */
clnn_context *clnn_tensor_context(const clnn_tensor *t);

/* ============================================================================================== */
/* GEMM (CLBlast, or a clnn kernel where it measures faster on the device)                        */
/* ============================================================================================== */

/* c = alpha * op(a) * op(b) + beta * c, row-major. a, b, c are 2-D: op(a) is M x K, op(b) is
 * K x N, c is M x N; op(x) is x transposed when trans_x is nonzero. c must not be a or b (no
 * in-place GEMM: CLNN_ERROR_INVALID_ARGUMENT); a and b may be the same tensor. */
clnn_status clnn_gemm(clnn_context *ctx, int trans_a, int trans_b, float alpha, const clnn_tensor *a,
                      const clnn_tensor *b, float beta, clnn_tensor *c);

/* The same for every matrix of a batch: a, b, c are 3-D [batch, rows, cols] with equal batch. */
clnn_status clnn_gemm_batched(clnn_context *ctx, int trans_a, int trans_b, float alpha,
                              const clnn_tensor *a, const clnn_tensor *b, float beta,
                              clnn_tensor *c);

/* ============================================================================================== */
/* Activations and elementwise operations (src/ops/activation.c, src/ops/elementwise.c)           */
/* ============================================================================================== */

typedef enum clnn_activation {
  CLNN_ACT_IDENTITY = 0,
  CLNN_ACT_RELU = 1,
  CLNN_ACT_LEAKY_RELU = 2, /* alpha: negative slope */
  CLNN_ACT_ELU = 3,        /* alpha: scale of the negative part */
  CLNN_ACT_SIGMOID = 4,
  CLNN_ACT_TANH = 5,
  CLNN_ACT_GELU = 6,       /* exact (erf) form */
  CLNN_ACT_SOFTPLUS = 7
} clnn_activation;

/* y = act(x); y may be x (in place). */
clnn_status clnn_activation_forward(clnn_context *ctx, clnn_activation act, float alpha,
                                    const clnn_tensor *x, clnn_tensor *y);
/* dx = beta*dx + dy * act'(x). Pass the saved input `x`, the saved output `y`, or both: ReLU,
 * leaky ReLU, sigmoid and tanh work from either, ELU from either, GELU and softplus need x.
 * dx may be dy, x or y (in place: elementwise). */
clnn_status clnn_activation_backward(clnn_context *ctx, clnn_activation act, float alpha,
                                     const clnn_tensor *x, const clnn_tensor *y,
                                     const clnn_tensor *dy, float beta, clnn_tensor *dx);

/* y = a + b; y = a * b (elementwise, equal numel); y may alias a or b. */
clnn_status clnn_add(clnn_context *ctx, const clnn_tensor *a, const clnn_tensor *b, clnn_tensor *y);
clnn_status clnn_mul(clnn_context *ctx, const clnn_tensor *a, const clnn_tensor *b, clnn_tensor *y);
/* x = alpha * x */
clnn_status clnn_scale(clnn_context *ctx, float alpha, clnn_tensor *x);
/* y = alpha * x + y (x may be y) */
clnn_status clnn_axpy(clnn_context *ctx, float alpha, const clnn_tensor *x, clnn_tensor *y);
/* y[n, c, ...] += bias[c] for y of 2..5 dims with dim 1 = numel(bias); bias must not be y. */
clnn_status clnn_bias_add(clnn_context *ctx, const clnn_tensor *bias, clnn_tensor *y);

/* ============================================================================================== */
/* Shape: permute, region copies, reductions (src/ops/shape.c)                                    */
/* ============================================================================================== */

/* `alpha` and `beta` must be finite (CLNN_ERROR_INVALID_ARGUMENT otherwise): the output becomes
 * beta*output + alpha*result, and beta 0 overwrites it without reading it. */

/* y = beta*y + alpha*permute(x): y's dim i is x's dim perm[i] (numpy.transpose(x, perm)). x and y
 * have the same ndim (1..5); perm (ndim entries) is a permutation of 0..ndim-1
 * (CLNN_ERROR_INVALID_ARGUMENT otherwise); y's dims must equal the permuted dims of x
 * (CLNN_ERROR_SHAPE_MISMATCH). y must not be x (CLNN_ERROR_INVALID_ARGUMENT). */
clnn_status clnn_permute(clnn_context *ctx, const int *perm, float alpha, const clnn_tensor *x,
                         float beta, clnn_tensor *y);
/* Box copy: for every index i of the box `sizes` (ndim entries, ndim = src's ndim = dst's ndim),
 * dst[dst_start + i] = beta*dst[dst_start + i] + alpha*src[src_start + i]. Boxes must lie inside
 * both tensors (CLNN_ERROR_SHAPE_MISMATCH otherwise, as for an ndim that differs from the
 * tensors'); a box with a zero size copies nothing. src must not be dst
 * (CLNN_ERROR_INVALID_ARGUMENT). Slicing, concatenation, splitting and padding are box copies. */
clnn_status clnn_copy_region(clnn_context *ctx, int ndim, const size_t *sizes, float alpha,
                             const clnn_tensor *src, const size_t *src_start, float beta,
                             clnn_tensor *dst, const size_t *dst_start);
/* y = beta*y + a*b, elementwise, equal numel (the gradient of a product). y may be a or b (each
 * element is read before it is written), for any beta. */
clnn_status clnn_mul_acc(clnn_context *ctx, const clnn_tensor *a, const clnn_tensor *b, float beta,
                         clnn_tensor *y);
/* y[0] = beta*y[0] + alpha*(sum of every element of x); y has one element
 * (CLNN_ERROR_SHAPE_MISMATCH otherwise). Deterministic: compensated partial sums over fixed
 * chunks, summed in a fixed order (no float atomics), so the same x on the same device gives the
 * same bits. */
clnn_status clnn_reduce_sum(clnn_context *ctx, float alpha, const clnn_tensor *x, float beta,
                            clnn_tensor *y);
/* y = beta*y + alpha*x[0] for every element of y; x has one element (a device scalar;
 * CLNN_ERROR_SHAPE_MISMATCH otherwise). */
clnn_status clnn_broadcast_scalar(clnn_context *ctx, float alpha, const clnn_tensor *x, float beta,
                                  clnn_tensor *y);

/* ============================================================================================== */
/* Softmax and losses (src/ops/softmax.c, src/ops/loss.c)                                         */
/* ============================================================================================== */

/* Softmax / log-softmax over the last axis (numerically stable). In place is allowed: y may be
 * x, and dx may be y or dy (each row is read whole before it is written). */
clnn_status clnn_softmax_forward(clnn_context *ctx, const clnn_tensor *x, clnn_tensor *y);
clnn_status clnn_softmax_backward(clnn_context *ctx, const clnn_tensor *y, const clnn_tensor *dy,
                                  float beta, clnn_tensor *dx);
clnn_status clnn_log_softmax_forward(clnn_context *ctx, const clnn_tensor *x, clnn_tensor *y);
clnn_status clnn_log_softmax_backward(clnn_context *ctx, const clnn_tensor *y,
                                      const clnn_tensor *dy, float beta, clnn_tensor *dx);

/* Mean softmax cross-entropy of logits [N, C] against host labels (N int32 in [0, C)).
 * loss: 1-element tensor receiving the mean loss (may be NULL); dlogits: [N, C] receiving the
 * gradient of the mean loss (may be NULL, or `logits` itself to overwrite it in place). Labels
 * outside [0, C) are an error. The labels are copied before the call returns: the caller may
 * reuse their memory at once. */
clnn_status clnn_softmax_cross_entropy(clnn_context *ctx, const clnn_tensor *logits,
                                       const int32_t *labels, size_t num_labels,
                                       clnn_tensor *loss, clnn_tensor *dlogits);
/* The same, but rows whose label equals ignore_index (e.g. -100 for padding, as PyTorch; any
 * value, even a class) are skipped: they add nothing to the loss, their gradient rows are 0, and
 * the mean divides by the number of counted rows (every row ignored: loss 0, gradient 0). The
 * other labels must be in [0, C). */
clnn_status clnn_softmax_cross_entropy_ignore(clnn_context *ctx, const clnn_tensor *logits,
                                              const int32_t *labels, size_t num_labels,
                                              int32_t ignore_index, clnn_tensor *loss,
                                              clnn_tensor *dlogits);
/* Mean binary cross-entropy with logits against targets in [0, 1] (same shape as logits).
 * For both losses below the gradient output may be the prediction or the target (in place); the
 * 1-element loss must be separate from every other argument (also for softmax cross-entropy). */
clnn_status clnn_bce_with_logits(clnn_context *ctx, const clnn_tensor *logits,
                                 const clnn_tensor *targets, clnn_tensor *loss,
                                 clnn_tensor *dlogits);
/* Mean squared error over all elements. */
clnn_status clnn_mse_loss(clnn_context *ctx, const clnn_tensor *pred, const clnn_tensor *target,
                          clnn_tensor *loss, clnn_tensor *dpred);

/* ============================================================================================== */
/* Dropout (src/ops/dropout.c)                                                                    */
/* ============================================================================================== */

/* Inverted dropout: y = x * keep / (1 - p), keep drawn from a counter-based generator (Philox)
 * keyed by (seed, offset + element index), so the same (seed, offset) gives the same mask in
 * forward and backward without storing it. 0 <= p < 1; p = 0 is the identity. y may be x and dx
 * may be dy (in place). */
clnn_status clnn_dropout_forward(clnn_context *ctx, float p, uint64_t seed, uint64_t offset,
                                 const clnn_tensor *x, clnn_tensor *y);
clnn_status clnn_dropout_backward(clnn_context *ctx, float p, uint64_t seed, uint64_t offset,
                                  const clnn_tensor *dy, float beta, clnn_tensor *dx);

/* ============================================================================================== */
/* Dense layers (src/ops/dense.c)                                                                 */
/* ============================================================================================== */

/* y[N, O] = x[N, I] * w[O, I]^T + b[O] (b may be NULL). */
clnn_status clnn_dense_forward(clnn_context *ctx, const clnn_tensor *x, const clnn_tensor *w,
                               const clnn_tensor *b, clnn_tensor *y);
/* dx[N, I] = beta*dx + dy[N, O] * w[O, I] */
clnn_status clnn_dense_backward_data(clnn_context *ctx, const clnn_tensor *dy, const clnn_tensor *w,
                                     float beta, clnn_tensor *dx);
/* dw[O, I] = beta*dw + dy^T * x; db[O] = beta*db + sum over N of dy (db may be NULL). */
clnn_status clnn_dense_backward_weights(clnn_context *ctx, const clnn_tensor *x,
                                        const clnn_tensor *dy, float beta, clnn_tensor *dw,
                                        clnn_tensor *db);

/* ============================================================================================== */
/* Convolution (src/ops/conv2d.c)                                                                 */
/* ============================================================================================== */

typedef struct clnn_conv2d_params {
  uint32_t struct_size; /* = sizeof(clnn_conv2d_params), set by clnn_conv2d_params_init */
  int stride_h, stride_w;                         /* >= 1 */
  int pad_top, pad_bottom, pad_left, pad_right;   /* >= 0 */
  int dilation_h, dilation_w;                     /* >= 1 */
  int groups;                                     /* >= 1, divides C and K */
} clnn_conv2d_params;

/* struct_size = sizeof(clnn_conv2d_params), stride 1, padding 0, dilation 1, groups 1. NULL is a
 * no-op. */
void clnn_conv2d_params_init(clnn_conv2d_params *p);

typedef enum clnn_conv_algo {
  CLNN_CONV_ALGO_AUTO = 0,       /* fastest applicable */
  CLNN_CONV_ALGO_IM2COL_GEMM = 1,/* general: im2col + (batched) GEMM */
  CLNN_CONV_ALGO_1X1_GEMM = 2,   /* 1x1, stride 1, no padding: GEMM on the input directly */
  CLNN_CONV_ALGO_DIRECT = 3,     /* direct kernel (any shape; fastest for depthwise) */
  CLNN_CONV_ALGO_IMPLICIT_GEMM = 4 /* forward: tiled GEMM that gathers image patches into local
                                      memory, no column buffer, bias and activation fused (any
                                      shape; GPU-shaped: 16x16 work-groups, 8.3 KiB local memory);
                                      backward-data and backward-filter run IM2COL_GEMM. AUTO
                                      picks it only when asked (README). UNSUPPORTED where the
                                      device takes no 4x4 work-group or 8.3 KiB of local memory,
                                      or N*P*Q exceeds 2^31 - 65 */,
  CLNN_CONV_ALGO_WINOGRAD = 5    /* Winograd F(4x4, 3x3): transformed 6x6 tiles, one batched
                                    GEMM per tile position; all three passes. Needs a 3x3 filter,
                                    stride 1, dilation 1, groups 1 and each padding 0 to 2 (any N,
                                    C, K, H, W); CLNN_ERROR_UNSUPPORTED otherwise. fp32 error is
                                    several times IM2COL_GEMM's. AUTO picks it on CPU-class
                                    contexts for layers with at least 64 input and 64 output
                                    channels (README). On CPU-class contexts it also takes the
                                    forward pass of row stride 2, row dilation 1, 5 to 8 filter
                                    rows, at most 16 filter columns and groups 1 (the 7x7
                                    stride-2 stem): F(2,4) along the output rows; the backward
                                    passes of those shapes run what AUTO picks. AUTO picks it
                                    for such forwards with 2 to 4 input channels and 7 or 8 rows */
} clnn_conv_algo;

/* Output dims of a convolution: x [N, C, H, W], w [K, C/groups, R, S] -> y [N, K, P, Q].
 * Checks every parameter; errors name the problem. */
clnn_status clnn_conv2d_output_dims(const size_t x_dims[4], const size_t w_dims[4],
                                    const clnn_conv2d_params *p, size_t y_dims[4]);

/* Workspace bytes the algorithm needs for these shapes (0 for algorithms that need none). The
 * context holds one workspace that grows to the largest size used, so steady-state calls do not
 * allocate. CLNN_ERROR_UNSUPPORTED if the algorithm does not apply to the shapes. */
clnn_status clnn_conv2d_workspace_size(clnn_context *ctx, const clnn_conv2d_params *p,
                                       clnn_conv_algo algo, const size_t x_dims[4],
                                       const size_t w_dims[4], size_t *bytes);

/* y = act(conv(x, w) + bias); bias [K] may be NULL; act CLNN_ACT_IDENTITY for none. */
clnn_status clnn_conv2d_forward(clnn_context *ctx, const clnn_conv2d_params *p, clnn_conv_algo algo,
                                const clnn_tensor *x, const clnn_tensor *w, const clnn_tensor *bias,
                                clnn_activation act, float act_alpha, clnn_tensor *y);
/* dx = beta*dx + conv's gradient with respect to x. */
clnn_status clnn_conv2d_backward_data(clnn_context *ctx, const clnn_conv2d_params *p,
                                      clnn_conv_algo algo, const clnn_tensor *dy,
                                      const clnn_tensor *w, float beta, clnn_tensor *dx);
/* dw = beta*dw + conv's gradient with respect to w. */
clnn_status clnn_conv2d_backward_filter(clnn_context *ctx, const clnn_conv2d_params *p,
                                        clnn_conv_algo algo, const clnn_tensor *x,
                                        const clnn_tensor *dy, float beta, clnn_tensor *dw);
/* db[K] = beta*db + sum over N, P, Q of dy. */
clnn_status clnn_conv2d_backward_bias(clnn_context *ctx, const clnn_tensor *dy, float beta,
                                      clnn_tensor *db);

/* Transposed convolution: x [N, C, H, W], w [C, K/groups, R, S] (PyTorch's layout) ->
 * y [N, K, (H-1)*stride - pad_total + dilation*(R-1) + 1, ...]. Its forward is conv2d's
 * backward-data; its backward-data is conv2d's forward. */
clnn_status clnn_conv_transpose2d_output_dims(const size_t x_dims[4], const size_t w_dims[4],
                                              const clnn_conv2d_params *p, size_t y_dims[4]);
clnn_status clnn_conv_transpose2d_forward(clnn_context *ctx, const clnn_conv2d_params *p,
                                          clnn_conv_algo algo, const clnn_tensor *x,
                                          const clnn_tensor *w, const clnn_tensor *bias,
                                          clnn_tensor *y);
clnn_status clnn_conv_transpose2d_backward_data(clnn_context *ctx, const clnn_conv2d_params *p,
                                                clnn_conv_algo algo, const clnn_tensor *dy,
                                                const clnn_tensor *w, float beta, clnn_tensor *dx);
clnn_status clnn_conv_transpose2d_backward_filter(clnn_context *ctx, const clnn_conv2d_params *p,
                                                  clnn_conv_algo algo, const clnn_tensor *x,
                                                  const clnn_tensor *dy, float beta,
                                                  clnn_tensor *dw);

/* ============================================================================================== */
/* Pooling (src/ops/pool2d.c)                                                                     */
/* ============================================================================================== */

typedef struct clnn_pool2d_params {
  uint32_t struct_size; /* = sizeof(clnn_pool2d_params), set by clnn_pool2d_params_init */
  int kernel_h, kernel_w;                         /* >= 1 */
  int stride_h, stride_w;                         /* >= 1 */
  int pad_top, pad_bottom, pad_left, pad_right;   /* >= 0, each < the kernel size on its axis */
  int count_include_pad;                          /* average pooling: 1 divides by the full window */
} clnn_pool2d_params;

/* struct_size = sizeof(clnn_pool2d_params), kernel k x k, stride k, no padding,
 * count_include_pad 0. NULL is a no-op. */
void clnn_pool2d_params_init(clnn_pool2d_params *p, int k);

/* x [N, C, H, W] -> y [N, C, (H + pads - kh)/sh + 1, ...]. */
clnn_status clnn_pool2d_output_dims(const size_t x_dims[4], const clnn_pool2d_params *p,
                                    size_t y_dims[4]);
/* Max pooling; backward routes dy to the first maximum of each window (deterministic). No pooling
 * call works in place: y must not be x, dx must not be dy or x (CLNN_ERROR_INVALID_ARGUMENT). */
clnn_status clnn_maxpool2d_forward(clnn_context *ctx, const clnn_pool2d_params *p,
                                   const clnn_tensor *x, clnn_tensor *y);
clnn_status clnn_maxpool2d_backward(clnn_context *ctx, const clnn_pool2d_params *p,
                                    const clnn_tensor *x, const clnn_tensor *dy, float beta,
                                    clnn_tensor *dx);
/* Max pooling that keeps each window's argmax for backward (what training uses): forward writes y
 * (the same values as clnn_maxpool2d_forward) and `indices`, a tensor of y's shape whose 4-byte
 * elements hold int32 values, not floats: the flat offset h*W + w, within its [H, W] input plane,
 * of the window's first maximum (row-major scan; NaN counts as the maximum, the first NaN wins;
 * a window of -inf picks its first in-bounds element) -- PyTorch's max_pool2d indices, as int32
 * (except in a window with several NaNs, where PyTorch's CPU kernel takes the last).
 * Read them with clnn_tensor_read and reinterpret the bits (memcpy into int32_t).
 * Backward: dx = beta*dx + dy routed through the indices (the same bits as
 * clnn_maxpool2d_backward on the forward's x; deterministic, no atomics), reading dy and the
 * indices instead of x. Training (graph max-pool nodes, clnn_net) goes this way. `indices` must
 * be what clnn_maxpool2d_forward_indices wrote with the same p and input shape; other values give
 * an unspecified dx but never a write outside dx (indices outside [0, H*W) add nothing).
 * indices must not share a buffer with x, y, dy or dx. */
clnn_status clnn_maxpool2d_forward_indices(clnn_context *ctx, const clnn_pool2d_params *p,
                                           const clnn_tensor *x, clnn_tensor *y,
                                           clnn_tensor *indices);
clnn_status clnn_maxpool2d_backward_indices(clnn_context *ctx, const clnn_pool2d_params *p,
                                            const clnn_tensor *indices, const clnn_tensor *dy,
                                            float beta, clnn_tensor *dx);
clnn_status clnn_avgpool2d_forward(clnn_context *ctx, const clnn_pool2d_params *p,
                                   const clnn_tensor *x, clnn_tensor *y);
clnn_status clnn_avgpool2d_backward(clnn_context *ctx, const clnn_pool2d_params *p,
                                    const clnn_tensor *dy, float beta, clnn_tensor *dx);
/* x [N, C, H, W] -> y [N, C, 1, 1] (mean over H, W). */
clnn_status clnn_global_avgpool_forward(clnn_context *ctx, const clnn_tensor *x, clnn_tensor *y);
clnn_status clnn_global_avgpool_backward(clnn_context *ctx, const clnn_tensor *dy, float beta,
                                         clnn_tensor *dx);

/* ============================================================================================== */
/* Batch normalisation (src/ops/batchnorm.c)                                                      */
/* ============================================================================================== */

/* Per channel (axis 1) over every other axis of x [N, C] or [N, C, H, W] (any 2 to 5
 * dimensions). scale/shift (gamma/beta), running_mean/running_var, save_mean/save_invstd are
 * [C]; scale and shift may be NULL (1 and 0). y may be x (in place).
 * Training: y from batch statistics (biased variance); running_* = (1-momentum)*running_* +
 * momentum*batch stat (running_var takes the unbiased variance); save_mean/save_invstd
 * (1/sqrt(var + eps)) keep what backward needs. running_mean/running_var may both be NULL (no
 * running statistics), save_mean/save_invstd may both be NULL (no backward). momentum in [0, 1],
 * eps > 0. N*H*W = 1 is CLNN_ERROR_SHAPE_MISMATCH: the batch variance is undefined. */
clnn_status clnn_batchnorm_forward_training(clnn_context *ctx, const clnn_tensor *x,
                                            const clnn_tensor *scale, const clnn_tensor *shift,
                                            float momentum, float eps, clnn_tensor *running_mean,
                                            clnn_tensor *running_var, clnn_tensor *y,
                                            clnn_tensor *save_mean, clnn_tensor *save_invstd);
clnn_status clnn_batchnorm_forward_inference(clnn_context *ctx, const clnn_tensor *x,
                                             const clnn_tensor *scale, const clnn_tensor *shift,
                                             const clnn_tensor *running_mean,
                                             const clnn_tensor *running_var, float eps,
                                             clnn_tensor *y);
/* dx, dscale, dshift = beta*old + gradient (dscale/dshift may be NULL; scale NULL means 1).
 * save_mean/save_invstd as written by the training forward. dx may be x or dy. */
clnn_status clnn_batchnorm_backward(clnn_context *ctx, const clnn_tensor *x, const clnn_tensor *dy,
                                    const clnn_tensor *scale, const clnn_tensor *save_mean,
                                    const clnn_tensor *save_invstd, float beta, clnn_tensor *dx,
                                    clnn_tensor *dscale, clnn_tensor *dshift);
/* Backward of clnn_batchnorm_forward_inference (evaluation mode: frozen backbones, input
 * gradients), the running statistics taken as constants: with invstd = 1/sqrt(running_var + eps),
 * dx = dy*scale*invstd, dscale = sum of dy*(x - running_mean)*invstd and dshift = sum of dy over
 * every axis but 1; each output = beta*old + gradient. dx, dscale and dshift may each be NULL
 * (not all three); scale NULL means 1. dx may be x or dy. running_mean/running_var are only read. */
clnn_status clnn_batchnorm_backward_inference(clnn_context *ctx, const clnn_tensor *x,
                                              const clnn_tensor *dy, const clnn_tensor *scale,
                                              const clnn_tensor *running_mean,
                                              const clnn_tensor *running_var, float eps,
                                              float beta, clnn_tensor *dx, clnn_tensor *dscale,
                                              clnn_tensor *dshift);

/* ============================================================================================== */
/* Optimizers (src/ops/optim.c): fused, in place over parameter, gradient and state tensors       */
/* ============================================================================================== */

typedef struct clnn_sgd_params {
  uint32_t struct_size; /* = sizeof(clnn_sgd_params), set by clnn_sgd_params_init */
  float lr, momentum, dampening, weight_decay;
  int nesterov;
  int first_step; /* nonzero on the first step: velocity = gradient, as PyTorch initialises it
                     (velocity's old contents are not read); 0 afterwards. With first_step 0 on
                     a zeroed velocity the first step differs from PyTorch only by the
                     (1 - dampening) factor, so with dampening 0 it may always be 0. */
} clnn_sgd_params;
/* struct_size = sizeof(clnn_sgd_params), lr = `lr`, everything else 0 (PyTorch's defaults).
 * NULL is a no-op. */
void clnn_sgd_params_init(clnn_sgd_params *p, float lr);
/* torch.optim.SGD, in place: g = grad + weight_decay*param; with momentum, velocity =
 * momentum*velocity + (1 - dampening)*g (= g on the first step) and g = nesterov ?
 * g + momentum*velocity : velocity; param -= lr*g. velocity ([numel of param]) may be NULL when
 * momentum is 0. lr >= 0, momentum >= 0, dampening in [0, 1], weight_decay >= 0, all finite;
 * nesterov needs momentum > 0 and dampening 0. */
clnn_status clnn_sgd_step(clnn_context *ctx, const clnn_sgd_params *p, clnn_tensor *param,
                          const clnn_tensor *grad, clnn_tensor *velocity);

typedef struct clnn_adam_params {
  uint32_t struct_size; /* = sizeof(clnn_adam_params), set by clnn_adam_params_init */
  float lr, beta1, beta2, eps, weight_decay;
  int decoupled_weight_decay; /* 1: AdamW */
} clnn_adam_params;
/* struct_size = sizeof(clnn_adam_params), lr = `lr`, beta1 0.9, beta2 0.999, eps 1e-8,
 * weight_decay 0, decoupled_weight_decay 0 (PyTorch's Adam defaults). NULL is a no-op. */
void clnn_adam_params_init(clnn_adam_params *p, float lr);
/* torch.optim.Adam / AdamW, in place. `step` counts from 1 (bias correction). m and v (numel of
 * param) start at zero. lr >= 0, beta1 and beta2 in [0, 1), eps > 0, weight_decay >= 0, all
 * finite. Adam adds weight_decay*param to the gradient; AdamW multiplies param by
 * 1 - lr*weight_decay instead. */
clnn_status clnn_adam_step(clnn_context *ctx, const clnn_adam_params *p, int step,
                           clnn_tensor *param, const clnn_tensor *grad, clnn_tensor *m,
                           clnn_tensor *v);

typedef struct clnn_rmsprop_params {
  uint32_t struct_size; /* = sizeof(clnn_rmsprop_params), set by clnn_rmsprop_params_init */
  float lr, alpha, eps, weight_decay, momentum;
} clnn_rmsprop_params;
/* struct_size = sizeof(clnn_rmsprop_params), lr = `lr`, alpha 0.99, eps 1e-8, weight_decay 0,
 * momentum 0 (PyTorch's defaults). NULL is a no-op. */
void clnn_rmsprop_params_init(clnn_rmsprop_params *p, float lr);
/* torch.optim.RMSprop (not centered), in place. square_avg starts at zero; momentum_buf may be
 * NULL when momentum is 0. lr >= 0, alpha in [0, 1], eps > 0, weight_decay >= 0, momentum >= 0. */
clnn_status clnn_rmsprop_step(clnn_context *ctx, const clnn_rmsprop_params *p, clnn_tensor *param,
                              const clnn_tensor *grad, clnn_tensor *square_avg,
                              clnn_tensor *momentum_buf);

typedef struct clnn_adagrad_params {
  uint32_t struct_size; /* = sizeof(clnn_adagrad_params), set by clnn_adagrad_params_init */
  float lr, eps, weight_decay;
} clnn_adagrad_params;
/* struct_size = sizeof(clnn_adagrad_params), lr = `lr`, eps 1e-10, weight_decay 0 (PyTorch's
 * defaults). NULL is a no-op. */
void clnn_adagrad_params_init(clnn_adagrad_params *p, float lr);
/* torch.optim.Adagrad (lr_decay 0), in place. sum starts at initial_accumulator_value (often
 * 0). lr >= 0, eps > 0, weight_decay >= 0. */
clnn_status clnn_adagrad_step(clnn_context *ctx, const clnn_adagrad_params *p, clnn_tensor *param,
                              const clnn_tensor *grad, clnn_tensor *sum);

/* torch.nn.utils.clip_grad_norm_: scales every gradient by min(1, max_norm / (global L2 norm +
 * 1e-6)), on the device (a NaN norm makes every gradient NaN, as in PyTorch). count >= 1 distinct
 * tensors; max_norm finite and >= 0. If total_norm is not NULL it receives the norm before
 * clipping (this waits for the device); otherwise nothing is read back. */
clnn_status clnn_clip_grad_norm(clnn_context *ctx, clnn_tensor *const *grads, size_t count,
                                float max_norm, float *total_norm);

/* ============================================================================================== */
/* Several devices (src/runtime/device_set.c)                                                     */
/* ============================================================================================== */

/* A device set: one context per device, each with its own OpenCL context and in-order queue, for
 * data-parallel training (clnn_net_create_parallel). Work enqueued on different contexts runs
 * concurrently. Like a context, a set is used from one thread at a time. */
typedef struct clnn_device_set clnn_device_set;

#define CLNN_MAX_SET_DEVICES 64

/* Creates a context on every device that `selection` names, in order:
 * - "all": every device the ICD loader exposes, best first (the ranking of clnn_device_select:
 *   GPU before accelerator before CPU, then estimated peak);
 * - a comma-separated list of selections in CLNN_DEVICE's syntax ("0:0,0:1", "gpu,cpu",
 *   "pthread,pthread"). Each entry takes the best device it matches that no earlier entry has
 *   taken, so "cpu,cpu" means two CPU devices; an entry that matches only devices already taken
 *   is CLNN_ERROR_DEVICE_NOT_FOUND (the message lists the devices);
 * - NULL or "": $CLNN_DEVICES, else $CLNN_DEVICE (one device), else the default device.
 * At most CLNN_MAX_SET_DEVICES devices. `options` (may be NULL) apply to every context; their
 * `device` field is ignored. The caller destroys *out. */
clnn_status clnn_device_set_create(const char *selection, const clnn_context_options *options,
                                   clnn_device_set **out);
/* A set over the caller's contexts (1..CLNN_MAX_SET_DEVICES distinct contexts, e.g. made with
 * clnn_context_wrap on sub-devices from clCreateSubDevices). The set does not own them: they must
 * outlive it and the networks made on it. */
clnn_status clnn_device_set_wrap(clnn_context *const *contexts, int count, clnn_device_set **out);
/* Destroys the contexts the set created (networks on it must be destroyed first). NULL is a
 * no-op. */
void clnn_device_set_destroy(clnn_device_set *set);
int clnn_device_set_size(const clnn_device_set *set);                   /* 0 for NULL */
clnn_context *clnn_device_set_context(const clnn_device_set *set, int i); /* NULL out of range */
/* Waits for the work of every device (all queues were flushed before the first wait). */
clnn_status clnn_device_set_finish(clnn_device_set *set);

/* The sequence operators (LSTM, GRU, embedding, layer norm, attention) are in include/clnn_seq.h,
 * the training API (datasets, sequential networks, checkpoints, several devices and MPI) in
 * include/clnn_nn.h and graph models in include/clnn_graph.h; all are included at the end. */


#ifdef __cplusplus
}
#endif

#include "clnn_seq.h"   /* LSTM, GRU, embedding, layer norm, attention */
#include "clnn_nn.h"    /* datasets, sequential networks, checkpoints, several devices */
#include "clnn_graph.h" /* graph models, model files, ONNX */

#endif /* CLNN_H */
