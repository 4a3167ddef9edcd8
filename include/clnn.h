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
 * Environment variables: CLNN_DEVICE (device selection), CLNN_DEVICES (device set: a list or
 * `all`), CLNN_DEVICE_CLASS (run as another device class: gpu, cpu, accelerator),
 * CLNN_CACHE_DIR (kernel binary cache,
 * `off` disables), CLNN_BINARY_DIR (prebuilt kernel binaries), CLNN_KERNEL_DIR (read the cl/ kernel sources from
 * disk instead of the embedded copies), CLNN_LOG (log level to stderr). */
#ifndef CLNN_H
#define CLNN_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#ifdef __APPLE__
#include <OpenCL/opencl.h>
#else
#include <CL/cl.h>
#endif
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CLNN_VERSION_MAJOR 0
#define CLNN_VERSION_MINOR 2
#define CLNN_VERSION_PATCH 0
#define CLNN_VERSION_STRING "0.2.0"
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
 * is set, in which case messages go to stderr). Process-wide. */
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

/* Number of devices across every platform the ICD loader exposes. Returns CLNN_ERROR_NO_DEVICE
 * (and *count = 0) when there is none. */
clnn_status clnn_device_count(int *count);

/* Information about device `index` (0 .. count-1, in platform then device order). */
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
  const char *device;      /* selection string as for clnn_device_select; NULL: $CLNN_DEVICE,
                              else the default device */
  const char *cache_dir;   /* NULL: $CLNN_CACHE_DIR, else $XDG_CACHE_HOME/clnn, else
                              ~/.cache/clnn; "off" disables the on-disk kernel cache */
  const char *binary_dir;  /* NULL: $CLNN_BINARY_DIR; directory of prebuilt kernel binaries */
  int binaries_only;       /* 1: never compile from source, load every kernel from binary_dir
                              (automatic on devices without a compiler) */
  int force_clblast;       /* 1: GEMM always goes to CLBlast, even where a clnn kernel is faster */
  clnn_device_type device_class; /* CLNN_DEVICE_OTHER (0): $CLNN_DEVICE_CLASS ("gpu", "cpu",
                              "accelerator"), else the device's own type. Otherwise: use the
                              kernels, launch shapes and GEMM path of that class on whatever
                              device this is (e.g. the GPU paths on PoCL, for testing). */
} clnn_context_options;

/* Fills `options` with the defaults (all NULL / 0). */
void clnn_context_options_init(clnn_context_options *options);

/* Creates a context (OpenCL context + in-order, profiling-enabled queue) on the selected device.
 * `options` may be NULL. */
clnn_status clnn_context_create(const clnn_context_options *options, clnn_context **ctx);

/* Wraps the caller's OpenCL objects. clnn retains them while the context lives and releases only
 * its own references on destroy: the caller keeps ownership. `queue` must be in-order and belong
 * to `context` and `device`. `options` may be NULL (its `device` field is ignored). */
clnn_status clnn_context_wrap(cl_context context, cl_device_id device, cl_command_queue queue,
                              const clnn_context_options *options, clnn_context **ctx);

/* Waits for all work, then frees everything the context owns. NULL is a no-op. Destroy its
 * tensors (and networks) first; if some still live, the context is not freed yet: it refuses every
 * new call (CLNN_ERROR_INVALID_ARGUMENT, "the context was destroyed") except destroying those
 * tensors and networks, and is freed with the last of them, so no handle is ever left pointing at
 * freed memory. Using `ctx` itself after that last destroy is a use after free, as with any
 * destroyed handle. */
void clnn_context_destroy(clnn_context *ctx);

/* Hands back the OpenCL objects (not retained for the caller); any out-pointer may be NULL. */
clnn_status clnn_context_get_cl(const clnn_context *ctx, cl_context *context, cl_device_id *device,
                                cl_command_queue *queue);

/* Information about the context's device (platform/device indices are -1 for wrapped contexts
 * whose device the loader does not list). */
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

/* Wraps a caller-owned cl_mem (at least numel*4 bytes, on ctx's OpenCL context). clnn retains it
 * while the tensor lives; the caller keeps ownership. */
clnn_status clnn_tensor_wrap(clnn_context *ctx, cl_mem mem, int ndim, const size_t *dims,
                             clnn_tensor **out);

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
cl_mem clnn_tensor_cl_mem(const clnn_tensor *t);     /* not retained for the caller */
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
  int stride_h, stride_w;                         /* >= 1 */
  int pad_top, pad_bottom, pad_left, pad_right;   /* >= 0 */
  int dilation_h, dilation_w;                     /* >= 1 */
  int groups;                                     /* >= 1, divides C and K */
} clnn_conv2d_params;

/* stride 1, padding 0, dilation 1, groups 1. */
void clnn_conv2d_params_init(clnn_conv2d_params *p);

typedef enum clnn_conv_algo {
  CLNN_CONV_ALGO_AUTO = 0,       /* fastest applicable */
  CLNN_CONV_ALGO_IM2COL_GEMM = 1,/* general: im2col + (batched) GEMM */
  CLNN_CONV_ALGO_1X1_GEMM = 2,   /* 1x1, stride 1, no padding: GEMM on the input directly */
  CLNN_CONV_ALGO_DIRECT = 3      /* direct kernel (any shape; fastest for depthwise) */
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
  int kernel_h, kernel_w;                         /* >= 1 */
  int stride_h, stride_w;                         /* >= 1 */
  int pad_top, pad_bottom, pad_left, pad_right;   /* >= 0, each < the kernel size on its axis */
  int count_include_pad;                          /* average pooling: 1 divides by the full window */
} clnn_pool2d_params;

/* kernel k x k, stride k, no padding, count_include_pad 0. */
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

/* ============================================================================================== */
/* LSTM (src/ops/lstm.c)                                                                          */
/* ============================================================================================== */

/* Fused gates for one step. gates [N, 4H] holds the pre-activations in the order i, f, g, o;
 * c_prev [N, H]. c = sigmoid(f)*c_prev + sigmoid(i)*tanh(g); h = sigmoid(o)*tanh(c). */
clnn_status clnn_lstm_gates_forward(clnn_context *ctx, const clnn_tensor *gates,
                                    const clnn_tensor *c_prev, clnn_tensor *c, clnn_tensor *h);
/* From dh (and dc from the next step, may be NULL) computes dgates [N, 4H] (overwritten) and
 * dc_prev [N, H] (overwritten). */
clnn_status clnn_lstm_gates_backward(clnn_context *ctx, const clnn_tensor *gates,
                                     const clnn_tensor *c_prev, const clnn_tensor *c,
                                     const clnn_tensor *dh, const clnn_tensor *dc,
                                     clnn_tensor *dgates, clnn_tensor *dc_prev);

/* One LSTM layer over a sequence: x [T, N, I], w_ih [4H, I], w_hh [4H, H], bias [4H] (may be
 * NULL), h0/c0 [N, H] (may be NULL: zeros). Writes y [T, N, H] (every h_t), h_n/c_n [N, H] (may
 * be NULL) and `reserve` (clnn_lstm_reserve_numel floats, a 1-D tensor), which backward needs. */
size_t clnn_lstm_reserve_numel(size_t seq_len, size_t batch, size_t hidden);
clnn_status clnn_lstm_forward(clnn_context *ctx, const clnn_tensor *x, const clnn_tensor *w_ih,
                              const clnn_tensor *w_hh, const clnn_tensor *bias,
                              const clnn_tensor *h0, const clnn_tensor *c0, clnn_tensor *y,
                              clnn_tensor *h_n, clnn_tensor *c_n, clnn_tensor *reserve);
/* Backward through time. dy [T, N, H] and dh_n/dc_n [N, H] may each be NULL (zero). Gradient
 * outputs dx, dw_ih, dw_hh, dbias, dh0, dc0 may each be NULL (not computed); they take beta. */
clnn_status clnn_lstm_backward(clnn_context *ctx, const clnn_tensor *x, const clnn_tensor *w_ih,
                               const clnn_tensor *w_hh, const clnn_tensor *h0,
                               const clnn_tensor *c0, const clnn_tensor *y,
                               const clnn_tensor *reserve, const clnn_tensor *dy,
                               const clnn_tensor *dh_n, const clnn_tensor *dc_n, float beta,
                               clnn_tensor *dx, clnn_tensor *dw_ih, clnn_tensor *dw_hh,
                               clnn_tensor *dbias, clnn_tensor *dh0, clnn_tensor *dc0);

/* ============================================================================================== */
/* Optimizers (src/ops/optim.c): fused, in place over parameter, gradient and state tensors       */
/* ============================================================================================== */

typedef struct clnn_sgd_params {
  float lr, momentum, dampening, weight_decay;
  int nesterov;
  int first_step; /* nonzero on the first step: velocity = gradient, as PyTorch initialises it
                     (velocity's old contents are not read); 0 afterwards. With first_step 0 on
                     a zeroed velocity the first step differs from PyTorch only by the
                     (1 - dampening) factor, so with dampening 0 it may always be 0. */
} clnn_sgd_params;
/* torch.optim.SGD, in place: g = grad + weight_decay*param; with momentum, velocity =
 * momentum*velocity + (1 - dampening)*g (= g on the first step) and g = nesterov ?
 * g + momentum*velocity : velocity; param -= lr*g. velocity ([numel of param]) may be NULL when
 * momentum is 0. lr >= 0, momentum >= 0, dampening in [0, 1], weight_decay >= 0, all finite;
 * nesterov needs momentum > 0 and dampening 0. */
clnn_status clnn_sgd_step(clnn_context *ctx, const clnn_sgd_params *p, clnn_tensor *param,
                          const clnn_tensor *grad, clnn_tensor *velocity);

typedef struct clnn_adam_params {
  float lr, beta1, beta2, eps, weight_decay;
  int decoupled_weight_decay; /* 1: AdamW */
} clnn_adam_params;
/* torch.optim.Adam / AdamW, in place. `step` counts from 1 (bias correction). m and v (numel of
 * param) start at zero. lr >= 0, beta1 and beta2 in [0, 1), eps > 0, weight_decay >= 0, all
 * finite. Adam adds weight_decay*param to the gradient; AdamW multiplies param by
 * 1 - lr*weight_decay instead. */
clnn_status clnn_adam_step(clnn_context *ctx, const clnn_adam_params *p, int step,
                           clnn_tensor *param, const clnn_tensor *grad, clnn_tensor *m,
                           clnn_tensor *v);

typedef struct clnn_rmsprop_params {
  float lr, alpha, eps, weight_decay, momentum;
} clnn_rmsprop_params;
/* torch.optim.RMSprop (not centered), in place. square_avg starts at zero; momentum_buf may be
 * NULL when momentum is 0. lr >= 0, alpha in [0, 1], eps > 0, weight_decay >= 0, momentum >= 0. */
clnn_status clnn_rmsprop_step(clnn_context *ctx, const clnn_rmsprop_params *p, clnn_tensor *param,
                              const clnn_tensor *grad, clnn_tensor *square_avg,
                              clnn_tensor *momentum_buf);

typedef struct clnn_adagrad_params {
  float lr, eps, weight_decay;
} clnn_adagrad_params;
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
/* Embedding (src/ops/embedding.c)                                                                */
/* ============================================================================================== */

/* y[i, :] = table[ids[i], :] for the num_ids (>= 1) host ids, int32 in [0, V), with table [V, D].
 * y holds num_ids rows of D: numel num_ids*D and last dimension D ([num_ids, D], [N, T, D], ...).
 * An id outside [0, V) is CLNN_ERROR_INVALID_ARGUMENT naming its position, found before anything
 * is written. The ids are copied before the call returns: the caller may reuse them at once. */
clnn_status clnn_embedding_forward(clnn_context *ctx, const clnn_tensor *table, const int32_t *ids,
                                   size_t num_ids, clnn_tensor *y);
/* dtable = beta*dtable + the scatter-add of dy's rows: row v gets the sum of the rows dy[i, :]
 * with ids[i] == v (rows of ids that do not occur get beta*dtable). dy shaped as y above.
 * Deterministic without atomics: the ids are sorted on the host and each distinct id's rows are
 * summed in increasing position i, so the result repeats bit for bit. */
clnn_status clnn_embedding_backward(clnn_context *ctx, const int32_t *ids, size_t num_ids,
                                    const clnn_tensor *dy, float beta, clnn_tensor *dtable);

/* ============================================================================================== */
/* Layer and RMS normalisation (src/ops/layernorm.c)                                              */
/* ============================================================================================== */

/* Over the last dimension D of x (1 to 5 dimensions, R = numel/D rows):
 * y = (x - mean) * rstd * weight + bias per row, rstd = 1/sqrt(biased variance + eps). weight and
 * bias are [D] and may each be NULL (1 and 0). save_mean and save_rstd hold R elements each (any
 * shape, e.g. [R] or x's dims without the last) and receive what backward needs; both may be
 * NULL (no backward). y may be x (in place). eps finite and > 0. */
clnn_status clnn_layernorm_forward(clnn_context *ctx, const clnn_tensor *x,
                                   const clnn_tensor *weight, const clnn_tensor *bias, float eps,
                                   clnn_tensor *y, clnn_tensor *save_mean, clnn_tensor *save_rstd);
/* dx = beta*dx + dL/dx; dweight = beta*dweight + sum over rows of dy * xhat; dbias = beta*dbias +
 * sum over rows of dy, with xhat = (x - mean) * rstd from save_mean/save_rstd as the forward wrote
 * them. weight NULL means 1; dweight and dbias may be NULL (not computed). dx may be x or dy (in
 * place). Every sum has a fixed order: results repeat bit for bit. */
clnn_status clnn_layernorm_backward(clnn_context *ctx, const clnn_tensor *x, const clnn_tensor *dy,
                                    const clnn_tensor *weight, const clnn_tensor *save_mean,
                                    const clnn_tensor *save_rstd, float beta, clnn_tensor *dx,
                                    clnn_tensor *dweight, clnn_tensor *dbias);
/* RMS norm over the last dimension: y = x * rstd * weight, rstd = 1/sqrt(mean(x^2) + eps) per row;
 * weight [D] may be NULL (1); save_rstd (R elements) may be NULL. y may be x. */
clnn_status clnn_rmsnorm_forward(clnn_context *ctx, const clnn_tensor *x, const clnn_tensor *weight,
                                 float eps, clnn_tensor *y, clnn_tensor *save_rstd);
/* dx = beta*dx + dL/dx, dweight = beta*dweight + sum over rows of dy * x * rstd (dweight may be
 * NULL). dx may be x or dy. */
clnn_status clnn_rmsnorm_backward(clnn_context *ctx, const clnn_tensor *x, const clnn_tensor *dy,
                                  const clnn_tensor *weight, const clnn_tensor *save_rstd,
                                  float beta, clnn_tensor *dx, clnn_tensor *dweight);

/* ============================================================================================== */
/* Scaled dot-product attention (src/ops/attention.c)                                             */
/* ============================================================================================== */

typedef enum clnn_attention_layout {
  CLNN_ATTENTION_BHTD = 0, /* q [B, H, Tq, Dh]; k, v [B, H, Tk, Dh]; o like q */
  CLNN_ATTENTION_BTHD = 1  /* q [B, Tq, H*Dh]; k, v [B, Tk, H*Dh] (the heads side by side, as a
                              dense layer writes them: no transposes needed); o like q */
} clnn_attention_layout;

typedef struct clnn_attention_params {
  clnn_attention_layout layout;
  int heads;              /* H: >= 1 and dividing the last dimension for BTHD; 0 or dims[1] for
                             BHTD */
  float scale;            /* scores = scale * q.k; 0 means 1/sqrt(Dh); finite and >= 0 */
  int causal;             /* 1: query i sees keys j <= i + Tk - Tq (the queries are the last Tq
                             positions: j <= i when Tk == Tq); needs Tk >= Tq */
  const int32_t *lengths; /* NULL, or B host key lengths in [1, Tk]: keys j >= lengths[b] are
                             masked for batch b (key padding); copied before the call returns;
                             num_lengths (below) says how many there are */
  float dropout;          /* probability of dropping an attention weight, in [0, 1) */
  uint64_t seed, offset;  /* dropout stream, as clnn_dropout_*: weight (b, h, i, j) uses element
                             offset + ((b*H + h)*Tq + i)*Tk + j, so backward regenerates the mask;
                             advance offset by B*H*Tq*Tk per call for fresh masks */
  size_t num_lengths;     /* entries in `lengths` (must be B when lengths is set; ignored when
                             it is NULL): checked before any is read (since 0.2) */
} clnn_attention_params;

/* layout BHTD, heads 0, scale 0, no mask, no dropout. NULL is a no-op. */
void clnn_attention_params_init(clnn_attention_params *p);

/* o = dropout(softmax(scale * q k^T + mask)) v per batch and head. lse (B*H*Tq elements, e.g.
 * [B, H, Tq]; may be NULL when no backward follows) receives each query row's log-sum-exp of the
 * masked scaled scores, which backward needs. Tiled (FlashAttention-style online softmax): memory
 * is O(B*H*T*Dh), the [Tq, Tk] weights are never stored; deterministic. Dh <= 128
 * (CLNN_ERROR_UNSUPPORTED above). o must not share a buffer with q, k, v or lse. */
clnn_status clnn_attention_forward(clnn_context *ctx, const clnn_attention_params *p,
                                   const clnn_tensor *q, const clnn_tensor *k,
                                   const clnn_tensor *v, clnn_tensor *o, clnn_tensor *lse);
/* Gradients from dout (shaped as q) with the same params, the forward's o and lse:
 * dq = beta*dq + dL/dq, dk and dv likewise (each may be NULL: not computed). Deterministic, no
 * atomics; recomputes the weights tile by tile. Outputs must be distinct from every input. */
clnn_status clnn_attention_backward(clnn_context *ctx, const clnn_attention_params *p,
                                    const clnn_tensor *q, const clnn_tensor *k,
                                    const clnn_tensor *v, const clnn_tensor *o,
                                    const clnn_tensor *lse, const clnn_tensor *dout, float beta,
                                    clnn_tensor *dq, clnn_tensor *dk, clnn_tensor *dv);

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

/* ============================================================================================== */
/* Training API (src/nn/)                                                                         */
/* ============================================================================================== */
/* CLNN_NET_API_BEGIN — declarations for the network API, data loading and checkpoints.
 *
 * A network in a few lines (error checks left out; every call returns a clnn_status):
 *
 *     size_t in[3] = {1, 8, 8};                                // one sample: [C, H, W]
 *     clnn_net *net = NULL;
 *     clnn_net_create(ctx, 3, in, 42, &net);                   // seed 42: reproducible
 *     clnn_net_add_conv2d(net, 32, 3, 1, 1);                   // "conv1": 32 3x3 filters, pad 1
 *     clnn_net_add_activation(net, CLNN_ACT_RELU, 0);
 *     clnn_net_add_maxpool2d(net, 2, 2, 0);
 *     clnn_net_add_flatten(net);
 *     clnn_net_add_dense(net, 10);                             // "dense1"
 *     clnn_net_set_loss(net, CLNN_LOSS_SOFTMAX_CROSS_ENTROPY);
 *     clnn_optimizer_config opt;
 *     clnn_optimizer_config_init(&opt, CLNN_OPTIM_ADAM, 1e-3f);
 *     clnn_net_set_optimizer(net, &opt);
 *     float loss;
 *     clnn_net_train_step(net, x, 32 * 64, 32, labels, 32, NULL, 0, &loss); // x: 32*1*8*8
 *     clnn_net_predict(net, x, 32 * 64, 32, logits, 32 * 10);
 *     clnn_net_save(net, "model.safetensors", CLNN_SAVE_OPTIMIZER);
 *     clnn_net_destroy(net);
 *
 * Layouts: host data is batch-first, [N, sample dims...] (images NCHW). A network whose input
 * feeds an LSTM takes sequences [N, T, F] (batch-first on the host; clnn keeps them time-major on
 * the device, [T, N, F], and converts on upload and read-back, so no transpose runs on the device).
 * A dense layer after an LSTM that returns the whole sequence applies to every time step. */

/* ---- Datasets (src/nn/data.c) ------------------------------------------------------------------ */

/* A labelled dataset in host memory: N samples of fp32 values and N int32 labels, plus the order
 * in which clnn_dataset_batch hands samples out (file order until clnn_dataset_shuffle). */
typedef struct clnn_dataset clnn_dataset;

/* Reads an IDX image file (magic 0x00000803: unsigned bytes [N, H, W]) and an IDX label file
 * (magic 0x00000801: unsigned bytes [N]), the MNIST file format. Each sample becomes [1, H, W]
 * (one channel, ready for conv2d), pixel / 255 in [0, 1]; labels are 0..255 (labels_path NULL:
 * images only, every label 0, e.g. for predictions). Everything is checked
 * before anything is allocated: magic numbers, dimensions (non-zero, no size_t overflow), the size
 * the header claims against the file's real size (truncated files and trailing bytes), and equal
 * image and label counts. Errors: CLNN_ERROR_IO (cannot open or read), CLNN_ERROR_FORMAT (the
 * message names the file and the problem), CLNN_ERROR_OUT_OF_MEMORY. *out is set only on success;
 * the caller owns the dataset and destroys it. Files may be gzip-compressed (known by their first
 * bytes; inflated with zlib into a buffer bounded by the header's claim). A path that does not
 * exist is also tried with the other MNIST naming convention ("train-images-idx3-ubyte" /
 * "train-images.idx3-ubyte") and with or without ".gz". */
clnn_status clnn_dataset_load_idx(const char *images_path, const char *labels_path,
                                  clnn_dataset **out);

/* A dataset holding copies of n samples (x: x_count = n * prod(sample_dims) floats, batch-first)
 * and n labels (labels_count = n; labels may be NULL: all 0, labels_count ignored; labels must be
 * >= 0). sample_ndim is 1..4. A count that differs is CLNN_ERROR_INVALID_ARGUMENT before anything
 * is read. The caller keeps x and labels; the dataset is the caller's to destroy. */
clnn_status clnn_dataset_create(size_t n, int sample_ndim, const size_t *sample_dims,
                                const float *x, size_t x_count, const int32_t *labels,
                                size_t labels_count, clnn_dataset **out);

/* Frees the dataset. NULL is a no-op. */
void clnn_dataset_destroy(clnn_dataset *ds);

size_t clnn_dataset_size(const clnn_dataset *ds);          /* samples; 0 for NULL */
size_t clnn_dataset_sample_numel(const clnn_dataset *ds);  /* floats per sample; 0 for NULL */
/* Copies the dims of one sample ([1, H, W] for IDX images) into dims; returns ndim (0 for NULL). */
int clnn_dataset_sample_dims(const clnn_dataset *ds, size_t dims[CLNN_MAX_DIMS]);
int clnn_dataset_num_classes(const clnn_dataset *ds);      /* 1 + largest label; 0 for NULL */
/* Samples [N, sample dims...] and labels [N] in file order (not the shuffled order). Owned by the
 * dataset, valid until it is destroyed. */
const float *clnn_dataset_data(const clnn_dataset *ds);
const int32_t *clnn_dataset_labels(const clnn_dataset *ds);

/* Sets the batch order to a random permutation drawn from `seed` (Fisher-Yates over splitmix64:
 * the same seed gives the same order on every machine). Each call permutes file order afresh. */
clnn_status clnn_dataset_shuffle(clnn_dataset *ds, uint64_t seed);
/* Copies samples first .. first+count-1 of the current order into x (x_count = count *
 * sample_numel floats) and their labels into labels (labels_count = count int32; labels may be
 * NULL, labels_count then ignored). first + count <= size. Counts are checked before anything is
 * written. */
clnn_status clnn_dataset_batch(const clnn_dataset *ds, size_t first, size_t count, float *x,
                               size_t x_count, int32_t *labels, size_t labels_count);

/* ---- Networks (src/nn/net.c, src/nn/layers.c) --------------------------------------------------- */

/* A sequential network: layers, their parameters and gradients, activation buffers, a loss and an
 * optimizer with its state. It lives on one context (which must outlive it) and, like the
 * context, is used from one thread at a time. */
typedef struct clnn_net clnn_net;

typedef enum clnn_loss {
  CLNN_LOSS_SOFTMAX_CROSS_ENTROPY = 0, /* logits [N, C] vs int32 labels in [0, C) (the default) */
  CLNN_LOSS_BCE_WITH_LOGITS = 1,       /* logits vs float targets in [0, 1], same shape */
  CLNN_LOSS_MSE = 2                    /* outputs vs float targets, same shape */
} clnn_loss;

typedef enum clnn_optimizer_type {
  CLNN_OPTIM_SGD = 0,
  CLNN_OPTIM_ADAM = 1,
  CLNN_OPTIM_ADAMW = 2,   /* Adam with decoupled weight decay */
  CLNN_OPTIM_RMSPROP = 3,
  CLNN_OPTIM_ADAGRAD = 4
} clnn_optimizer_type;

/* Optimizer settings, with PyTorch's meaning and defaults (set by clnn_optimizer_config_init). */
typedef struct clnn_optimizer_config {
  clnn_optimizer_type type;
  float lr;             /* learning rate, >= 0 (0: the parameters stay as they are) */
  float weight_decay;   /* L2 penalty added to the gradient (AdamW: decoupled; default 0.01) */
  float momentum;       /* SGD, RMSProp: 0 */
  float dampening;      /* SGD: 0 */
  int nesterov;         /* SGD: 0 */
  float beta1, beta2;   /* Adam, AdamW: 0.9, 0.999 */
  float alpha;          /* RMSProp smoothing: 0.99 */
  float eps;            /* Adam, AdamW, RMSProp: 1e-8; AdaGrad: 1e-10 */
  float clip_grad_norm; /* > 0: scale gradients to this global L2 norm at most before each step;
                           0 (default): no clipping */
} clnn_optimizer_config;

/* Fills cfg with the defaults for `type` and learning rate `lr`. */
void clnn_optimizer_config_init(clnn_optimizer_config *cfg, clnn_optimizer_type type, float lr);

/* Creates an empty network whose samples have `ndim` (1..4) dims `input_dims` (no batch dim):
 * [C, H, W] for images, [F] for feature vectors, [T, F] for sequences. `seed` drives parameter
 * initialisation and dropout, so the same seed and data give the same run. Defaults: softmax
 * cross-entropy loss, Adam with lr 1e-3. The caller destroys *out; ctx must outlive it. */
clnn_status clnn_net_create(clnn_context *ctx, int ndim, const size_t *input_dims, uint64_t seed,
                            clnn_net **out);

/* Frees the network, its tensors and buffers. NULL is a no-op. */
void clnn_net_destroy(clnn_net *net);

/* Layers. Each call appends one layer named after its kind and position among layers of that
 * kind ("conv1", "conv2", "dense1", "relu1", "bn1", "lstm1", ...; the parameters are
 * "<layer>.weight", "<layer>.bias", ...), infers its output shape from the previous layer's, and
 * returns CLNN_ERROR_SHAPE_MISMATCH with a message naming the layer (name, index, kind, the shape
 * it got and what it needs) when the shapes do not fit; the network is then unchanged. Layers can
 * be added until the network is first used (trained, run, saved, loaded or its parameters asked
 * for, which allocates and initialises the parameters); later calls return
 * CLNN_ERROR_INVALID_ARGUMENT.
 *
 * Initialisation: weights of conv, transposed conv and dense layers followed (possibly through
 * batch norm or dropout) by ReLU, leaky ReLU, ELU or GELU are He-normal; all other weights are
 * Xavier/Glorot-uniform (LSTM: per gate); biases are zero except the LSTM forget-gate bias (1);
 * batch norm starts at weight 1, bias 0, running mean 0, running variance 1. */

/* 2-D convolution of [C, H, W] with out_channels filters kernel x kernel, stride and padding on
 * both axes, with bias -> [out_channels, P, Q]. Parameters: weight [K, C, R, S], bias [K]. */
clnn_status clnn_net_add_conv2d(clnn_net *net, int out_channels, int kernel, int stride,
                                int padding);
/* The same with every convolution parameter (dilation, groups, uneven padding); bias 0: none. */
clnn_status clnn_net_add_conv2d_ex(clnn_net *net, int out_channels, int kernel_h, int kernel_w,
                                   const clnn_conv2d_params *p, int bias);
/* Transposed convolution (PyTorch's ConvTranspose2d without output_padding): weight
 * [C, K/groups, R, S], bias [K]; output size (H-1)*stride - 2*padding + kernel. */
clnn_status clnn_net_add_conv_transpose2d(clnn_net *net, int out_channels, int kernel, int stride,
                                          int padding);
clnn_status clnn_net_add_conv_transpose2d_ex(clnn_net *net, int out_channels, int kernel_h,
                                             int kernel_w, const clnn_conv2d_params *p, int bias);
/* Max / average pooling of [C, H, W], kernel x kernel windows; stride 0 means stride = kernel. */
clnn_status clnn_net_add_maxpool2d(clnn_net *net, int kernel, int stride, int padding);
clnn_status clnn_net_add_avgpool2d(clnn_net *net, int kernel, int stride, int padding);
/* The same with every pooling parameter. */
clnn_status clnn_net_add_pool2d_ex(clnn_net *net, int max_pooling, const clnn_pool2d_params *p);
/* Mean over H and W: [C, H, W] -> [C]. */
clnn_status clnn_net_add_global_avgpool(clnn_net *net);
/* Fully connected: [F] -> [units] (or [T, F] -> [T, units] on an LSTM's whole-sequence output).
 * Parameters: weight [units, F], bias [units]. Needs a flat input: add a flatten layer after
 * convolutions. */
clnn_status clnn_net_add_dense(clnn_net *net, int units);
/* Any clnn_activation (alpha: leaky slope, ELU scale; ignored by the others). Shape unchanged. */
clnn_status clnn_net_add_activation(clnn_net *net, clnn_activation act, float alpha);
/* Inverted dropout with drop probability p in [0, 1) while training; the identity in inference. */
clnn_status clnn_net_add_dropout(clnn_net *net, float p);
/* Batch normalisation over channels ([C, H, W] or [C] samples, or per feature of a sequence):
 * parameters weight [C], bias [C]; state running_mean, running_var [C], saved in checkpoints.
 * momentum (0, 1] and eps > 0 as in PyTorch (0.1, 1e-5); 0 for either takes the default.
 * Training uses batch statistics and updates the running ones; inference uses the running ones. */
clnn_status clnn_net_add_batchnorm(clnn_net *net, float momentum, float eps);
/* [C, H, W] (any dims) -> [C*H*W]. Costs nothing: the output shares the input's buffer. */
clnn_status clnn_net_add_flatten(clnn_net *net);
/* LSTM over a sequence [T, F] (the network input or an LSTM that returns sequences): parameters
 * weight_ih [4H, F], weight_hh [4H, H], bias [4H] (gates i, f, g, o), zero initial state.
 * return_sequences 0: the last hidden state [H]; 1: every hidden state [T, H] (stack LSTMs this
 * way). */
clnn_status clnn_net_add_lstm(clnn_net *net, int hidden, int return_sequences);

/* Renames layer `layer` (0-based; -1: the last one) before first use: 1..47 characters of
 * [A-Za-z0-9_-], unique in the network. Its parameters become "<name>.weight"... */
clnn_status clnn_net_set_layer_name(clnn_net *net, int layer, const char *name);

/* Sets the loss (any time). */
clnn_status clnn_net_set_loss(clnn_net *net, clnn_loss loss);
/* Sets the optimizer; its state (moments, step count) restarts from zero. The network keeps a
 * copy of cfg. */
clnn_status clnn_net_set_optimizer(clnn_net *net, const clnn_optimizer_config *cfg);
/* Changes only the learning rate (for schedules); the optimizer state is kept. */
clnn_status clnn_net_set_learning_rate(clnn_net *net, float lr);
/* on 1: every training step reads the loss and every gradient back before the optimizer step and
 * stops with CLNN_ERROR_NOT_FINITE, naming the parameter (or the loss) and the element, at the
 * first NaN or infinity, with nothing updated (batch-norm statistics restored): a diverging run
 * is caught instead of silently producing NaN weights. Off by default: it costs a read-back of
 * every gradient per step (the digits CNN, batch 32, on 2 busy CPU cores: 5.80 ms a step with it,
 * 5.23 ms without). One
 * device only (a network made with clnn_net_create_parallel refuses it). */
clnn_status clnn_net_set_check_finite(clnn_net *net, int on);

/* One training step on a batch of `batch` samples x (x_count = batch * input numel floats, host
 * memory): upload, forward in training mode (dropout active, batch norm on batch statistics,
 * updating the running ones), loss, backward, optimizer step. The targets: `labels`
 * (labels_count = batch int32, or batch * T for per-time-step outputs) for softmax cross-entropy,
 * `targets` (targets_count = batch * output numel floats, shaped like the output) for BCE and
 * MSE; the other pointer and its count are ignored (NULL and 0). Every count must equal what the
 * batch needs (CLNN_ERROR_INVALID_ARGUMENT, checked before any buffer is read). `loss` receives the batch's mean
 * loss; it is the only read-back of the step (it waits for the device), so pass NULL to let the
 * step run ahead. Buffers are allocated for the largest batch seen and reused.
 * A failed step changes nothing: arguments, labels, a batch of 1 into a batch-norm layer that
 * would see one value per channel (CLNN_ERROR_SHAPE_MISMATCH) and the step count are checked
 * before anything runs, and a later failure puts the batch-norm running statistics back and
 * leaves the step count alone (an optimizer that fails fails on its first tensor, before any
 * update; only an OpenCL failure inside the update itself could leave it partly applied). */
clnn_status clnn_net_train_step(clnn_net *net, const float *x, size_t x_count, size_t batch,
                                const int32_t *labels, size_t labels_count, const float *targets,
                                size_t targets_count, float *loss);
/* The same without the optimizer step: afterwards every parameter's gradient (clnn_net_param)
 * holds d(mean loss)/d(parameter) for this batch (overwritten, not accumulated). */
clnn_status clnn_net_compute_gradients(clnn_net *net, const float *x, size_t x_count,
                                       size_t batch, const int32_t *labels, size_t labels_count,
                                       const float *targets, size_t targets_count, float *loss);
/* One pass over the dataset in its current order (clnn_dataset_shuffle first to shuffle), in
 * mini-batches of batch_size (the last one may be smaller), with the dataset's labels (softmax
 * cross-entropy only). mean_loss (may be NULL) receives the mean loss over the samples; it is
 * summed on the device and read once at the end. Before the first step every label is checked
 * against the output's classes and the output against the one label per sample the dataset
 * has: such errors change nothing. A last batch of 1 that a batch-norm layer cannot train on is
 * merged into the batch before it. A failure that can only happen later (device, memory) stops
 * the epoch after the steps already applied; the message says how many, and
 * clnn_net_step_count tells the caller. */
clnn_status clnn_net_train_epoch(clnn_net *net, clnn_dataset *ds, size_t batch_size,
                                 float *mean_loss);

/* Inference (dropout off, batch norm on running statistics) on `batch` samples x (x_count =
 * batch * input numel floats): y receives the raw outputs (logits: no softmax), batch-first,
 * y_count = batch * output numel floats. */
clnn_status clnn_net_predict(clnn_net *net, const float *x, size_t x_count, size_t batch,
                             float *y, size_t y_count);
/* Fraction of n samples (x_count = n * input numel floats; run in inference mode in chunks of
 * batch_size) whose largest output is the label (a single output: output > 0 means label 1).
 * labels_count = n; with per-time-step outputs n * T, and every step counts. */
clnn_status clnn_net_accuracy(clnn_net *net, const float *x, size_t x_count,
                              const int32_t *labels, size_t labels_count, size_t n,
                              size_t batch_size, float *accuracy);
/* Mean loss and accuracy over a dataset in inference mode (file order); either output may be
 * NULL. The loss is the network's loss for labels (softmax cross-entropy). */
clnn_status clnn_net_evaluate(clnn_net *net, const clnn_dataset *ds, size_t batch_size,
                              float *mean_loss, float *accuracy);

/* ---- Inspection ------------------------------------------------------------------------------- */

int clnn_net_num_layers(const clnn_net *net);                    /* 0 for NULL */
const char *clnn_net_layer_name(const clnn_net *net, int layer); /* NULL when out of range */
/* The per-sample output dims of layer `layer` (-1: the network's output): returns ndim, 0 when
 * out of range. */
int clnn_net_output_dims(const clnn_net *net, int layer, size_t dims[CLNN_MAX_DIMS]);
/* Named tensors: trainable parameters, then state (batch-norm running statistics), in layer
 * order. clnn_net_param_name gives name `index` (NULL when out of range); the string is owned by
 * the network. */
size_t clnn_net_num_params(const clnn_net *net);
const char *clnn_net_param_name(const clnn_net *net, size_t index);
/* The tensor named `name` ("conv1.weight", "bn1.running_mean", ...) and its gradient (NULL for
 * state that has none); either out-pointer may be NULL. The tensors belong to the network and
 * live as long as it does; writing to them is allowed. Unknown names: CLNN_ERROR_INVALID_ARGUMENT
 * with the list of names. */
clnn_status clnn_net_param(clnn_net *net, const char *name, clnn_tensor **value,
                           clnn_tensor **grad);
size_t clnn_net_num_trainable(const clnn_net *net); /* trainable scalars in total */
uint64_t clnn_net_step_count(const clnn_net *net);  /* optimizer steps taken */
/* A table of layers (name, kind, output shape, parameters) into buf, NUL-terminated (truncated
 * to size). */
clnn_status clnn_net_summary(const clnn_net *net, char *buf, size_t size);

/* ---- Checkpoints (src/nn/checkpoint.c): safetensors files ---------------------------------- */

#define CLNN_SAVE_OPTIMIZER 1 /* also save the training state: optimizer slots
                                 ("optimizer.<param>.<slot>") and, in the metadata, the optimizer
                                 type, step count and the seed and counter of the dropout stream,
                                 so training resumes exactly where it stopped */

/* Writes every parameter and state tensor (names as clnn_net_param_name, dtype F32, their
 * shapes) to `path` in the safetensors format, which other tools open (8-byte little-endian
 * header size, JSON header, raw little-endian data). flags: 0 or CLNN_SAVE_OPTIMIZER. Writes a
 * new temporary "<path>.tmp.<pid>.<6 random>" in the same directory (created exclusively, never
 * through an existing file or symlink, locked while written), fsyncs it, renames it over `path`
 * and fsyncs the directory, so `path` never holds a partial file. Temporaries that killed saves
 * of the same path left (no live writer holds them) are removed first. A `path` that exists and
 * is neither a regular file nor a symlink (directory, FIFO, device) is CLNN_ERROR_IO. */
clnn_status clnn_net_save(clnn_net *net, const char *path, int flags);
/* Reads a checkpoint written by clnn_net_save (or any safetensors file with the same names,
 * shapes and F32 data). It must hold every parameter and state tensor of the network, with equal
 * shapes, and nothing else apart from a complete optimizer state for the network's optimizer
 * type (loaded with the step count and dropout seed when present; otherwise the optimizer state
 * and step count restart from zero). Only a regular file is opened (a FIFO or device is
 * CLNN_ERROR_IO at once, never waited on); a file whose tensor data is larger than the network's
 * largest checkpoint is refused before it is read, so memory stays bounded by the network.
 * Metadata no training can produce (a step or forward count above 2^53, a key given twice) is
 * CLNN_ERROR_FORMAT. Everything is
 * checked in host memory first; a file that is truncated, malformed or does not match returns
 * CLNN_ERROR_FORMAT (CLNN_ERROR_IO if unreadable) with the reason and leaves the network
 * unchanged. */
clnn_status clnn_net_load(clnn_net *net, const char *path);

/* ---- Graph models (src/nn/graph.c, op_*.c, autodiff.c, model*.c) ------------------------------ */

/* A graph of named values: inputs (any number, each with its own per-sample shape and dtype),
 * operator outputs and the parameters the operators own. It is built on the host (no device is
 * involved) and then turned into a model on a context (clnn_model_create), which owns the
 * parameters, gradients, optimizer state and buffers. Backward is automatic.
 *
 *     clnn_graph *g; int x, h, y, lab, loss;
 *     clnn_graph_create(&g);
 *     size_t img[3] = {1, 8, 8};
 *     clnn_graph_input(g, "image", CLNN_FLOAT32, 3, img, &x);
 *     clnn_graph_input(g, "label", CLNN_INT32, 0, NULL, &lab);    // one int per sample
 *     clnn_graph_conv2d(g, NULL, x, 16, 3, 3, NULL, 1, &h);        // "conv1": pad 0, stride 1
 *     clnn_graph_activation(g, NULL, h, CLNN_ACT_RELU, 0, &h);
 *     clnn_graph_conv2d(g, NULL, h, 16, 3, 3, &same_pad, 1, &y);   // residual branch ...
 *     clnn_graph_add(g, NULL, y, h, &h);                           // ... relu(h + f(h))
 *     clnn_graph_flatten(g, NULL, h, &h);
 *     clnn_graph_dense(g, "head", h, 10, 1, &y);
 *     clnn_graph_loss(g, NULL, CLNN_LOSS_SOFTMAX_CROSS_ENTROPY, y, lab, 1.0f, &loss);
 *     clnn_graph_output(g, y);
 *     clnn_model *m; clnn_model_create(ctx, g, 42, &m);            // g may be destroyed now
 *
 * Values are small integers (>= 0) that the builder calls hand out; a node only takes values that
 * already exist, so a graph has no cycles. Shapes are per sample: the batch dimension is implicit
 * and never named, and axes count per-sample dimensions (0 = the first after the batch: channels
 * for images; negative axes count from the end). Names (nodes, inputs) are 1..63 characters of
 * [A-Za-z0-9_.-] and unique; NULL gives "<kind><k>" ("conv1", "dense2", "add1"). Parameters are
 * "<node>.weight", "<node>.bias", "<node>.running_mean", ... Every builder checks its arguments
 * and infers the output shape; a problem returns CLNN_ERROR_SHAPE_MISMATCH (or
 * CLNN_ERROR_INVALID_ARGUMENT) with a message naming the node, its kind, the shapes it got and
 * what it needs, and leaves the graph unchanged. A graph is used from one thread at a time. */
typedef struct clnn_graph clnn_graph;

typedef enum clnn_dtype {
  CLNN_FLOAT32 = 0, /* device tensors */
  CLNN_INT32 = 1    /* host-side integers: class labels for softmax cross-entropy, embedding
                       ids, attention key lengths (inputs only; checked when fed) */
} clnn_dtype;

clnn_status clnn_graph_create(clnn_graph **out);
void clnn_graph_destroy(clnn_graph *g); /* NULL is a no-op */

/* An input with per-sample dims: ndim 0..4 for int32 (0: one label per sample), 1..4 for float
 * ([1] for one number per sample). */
clnn_status clnn_graph_input(clnn_graph *g, const char *name, clnn_dtype dtype, int ndim,
                             const size_t *dims, int *out);

/* Layers (the same operators and initialisation as clnn_net's layers). conv params may be NULL
 * (stride 1, padding 0, dilation 1, groups 1); bias 0: none. */
clnn_status clnn_graph_conv2d(clnn_graph *g, const char *name, int x, int out_channels,
                              int kernel_h, int kernel_w, const clnn_conv2d_params *p, int bias,
                              int *out);
clnn_status clnn_graph_conv_transpose2d(clnn_graph *g, const char *name, int x, int out_channels,
                                        int kernel_h, int kernel_w, const clnn_conv2d_params *p,
                                        int bias, int *out);
clnn_status clnn_graph_pool2d(clnn_graph *g, const char *name, int x, int max_pooling,
                              const clnn_pool2d_params *p, int *out);
clnn_status clnn_graph_global_avgpool(clnn_graph *g, const char *name, int x, int *out); /* [C] */
/* Fully connected over the last dim: [..., F] -> [..., units]. */
clnn_status clnn_graph_dense(clnn_graph *g, const char *name, int x, int units, int bias,
                             int *out);
clnn_status clnn_graph_activation(clnn_graph *g, const char *name, int x, clnn_activation act,
                                  float alpha, int *out);
clnn_status clnn_graph_dropout(clnn_graph *g, const char *name, int x, float p, int *out);
/* Batch normalisation over per-sample axis 0 (channels); momentum/eps 0: 0.1 / 1e-5. */
clnn_status clnn_graph_batchnorm(clnn_graph *g, const char *name, int x, float momentum,
                                 float eps, int *out);
/* Softmax (log 0) or log-softmax (log 1) over the last dim. */
clnn_status clnn_graph_softmax(clnn_graph *g, const char *name, int x, int log, int *out);
/* LSTM over [T, F] sequences (batch-first on the host and on the device): [T, hidden] when
 * return_sequences, else the last hidden state [hidden]. Zero initial state. */
clnn_status clnn_graph_lstm(clnn_graph *g, const char *name, int x, int hidden,
                            int return_sequences, int *out);

/* Structure. add: equal shapes, or b of shape [C] (broadcast over axis 0) or [1] (a scalar);
 * mul: equal shapes; scale: alpha * x. */
clnn_status clnn_graph_add(clnn_graph *g, const char *name, int a, int b, int *out);
clnn_status clnn_graph_mul(clnn_graph *g, const char *name, int a, int b, int *out);
clnn_status clnn_graph_scale(clnn_graph *g, const char *name, int x, float alpha, int *out);
/* Concatenation of count (1..16) values along `axis` (other dims equal). */
clnn_status clnn_graph_concat(clnn_graph *g, const char *name, int axis, int count,
                              const int *xs, int *out);
/* x[..., start:start+length, ...] along axis. */
clnn_status clnn_graph_slice(clnn_graph *g, const char *name, int x, int axis, size_t start,
                             size_t length, int *out);
/* count (1..16) consecutive slices of the given sizes (each >= 1, summing to the axis) into
 * outs[count]; they are nodes "<name>.0", "<name>.1", ... (name is required). */
clnn_status clnn_graph_split(clnn_graph *g, const char *name, int x, int axis, int count,
                             const size_t *sizes, int *outs);
/* Same number of elements per sample, new per-sample dims (ndim 1..4). */
clnn_status clnn_graph_reshape(clnn_graph *g, const char *name, int x, int ndim,
                               const size_t *dims, int *out);
clnn_status clnn_graph_flatten(clnn_graph *g, const char *name, int x, int *out);
/* Permutes the per-sample axes: output axis i is input axis perm[i] (ndim entries). */
clnn_status clnn_graph_permute(clnn_graph *g, const char *name, int x, const int *perm,
                               int *out);
/* The same op and the same parameters as node `node` (shared weights) applied to x. */
clnn_status clnn_graph_apply(clnn_graph *g, const char *name, const char *node, int x, int *out);

/* Sequence layers (src/nn/op_seq.c). embedding: int32 ids [] or [T] (up to 3 dims) per sample ->
 * [..., dim] rows of parameter "<name>.weight" [vocab, dim] (initialised N(0, 1) as
 * torch.nn.Embedding); ids are checked against vocab when fed, and the model keeps a copy of
 * them for backward (the caller's memory may be reused once the call returns). */
clnn_status clnn_graph_embedding(clnn_graph *g, const char *name, int ids, int vocab, int dim,
                                 int *out);
/* Layer norm / RMS norm over the last dim (any shape); eps 0: 1e-5 (layer norm) or 1e-6 (RMS
 * norm); affine 1: parameters weight [D] (ones) and, for layer norm, bias [D] (zeros). */
clnn_status clnn_graph_layer_norm(clnn_graph *g, const char *name, int x, float eps, int affine,
                                  int *out);
clnn_status clnn_graph_rms_norm(clnn_graph *g, const char *name, int x, float eps, int affine,
                                int *out);
/* Scaled dot-product attention (scale 1/sqrt(Dh)) over q [Tq, D], k [Tk, D], v [Tk, D], D =
 * heads * Dh (heads side by side, as dense layers write them: clnn_attention_*'s BTHD layout;
 * Dh <= 128), output [Tq, D]. lengths: -1, or an int32 input of shape [] (one key length per
 * sample, 1..Tk: later keys are masked). causal: query i sees keys j <= i + Tk - Tq. dropout on
 * the attention weights in training mode, in [0, 1). Tiled: no [T, T] buffer is kept. */
clnn_status clnn_graph_attention(clnn_graph *g, const char *name, int q, int k, int v,
                                 int lengths, int heads, int causal, float dropout, int *out);
/* Multi-head self-attention on x [T, D]: dense projections (with bias) "<name>.q", "<name>.k",
 * "<name>.v", attention "<name>.attn", output projection "<name>.out" ([T, D]). name is
 * required (at most 58 characters); on failure nothing is added. */
clnn_status clnn_graph_multihead_attention(clnn_graph *g, const char *name, int x, int heads,
                                           int causal, float dropout, int *out);

/* Losses: a scalar value that is added, times weight, to the objective that training minimises.
 * kind SOFTMAX_CROSS_ENTROPY: pred [C] (or [T, C]: every step) against an int32 target of shape
 * [] (or [T]); BCE_WITH_LOGITS and MSE: float target shaped like pred. Means over the batch. */
clnn_status clnn_graph_loss(clnn_graph *g, const char *name, clnn_loss kind, int pred, int target,
                            float weight, int *out);
/* Softmax cross-entropy of logits [C] or [T, C] against int32 labels [] or [T] in which labels
 * equal to ignore_index (e.g. -100 for padding) are skipped: the mean is over the counted labels
 * of the whole batch (0 when none counts). Added to the objective with weight, as
 * clnn_graph_loss. With a model on several devices each device's share is weighted by its
 * samples, not its counted labels. */
clnn_status clnn_graph_cross_entropy(clnn_graph *g, const char *name, int logits, int labels,
                                     int ignore_index, float weight, int *out);
/* Mean over every element and the batch: a scalar, for losses written with graph ops. */
clnn_status clnn_graph_mean(clnn_graph *g, const char *name, int x, int *out);
/* Adds a scalar value (clnn_graph_mean's) to the objective with a weight. */
clnn_status clnn_graph_add_loss(clnn_graph *g, int value, float weight);
/* Marks a value as an output (what clnn_model_predict returns by default: the first output). */
clnn_status clnn_graph_output(clnn_graph *g, int value);
/* Forgets every output mark and loss (the nodes stay). Replacing a loaded model's head: clear,
 * add the new head, its loss and output; a model made from the graph then runs and holds
 * parameters only for what the new outputs and losses need, so the old head's tensors are
 * "unexpected" to clnn_model_load. */
clnn_status clnn_graph_clear_outputs(clnn_graph *g);

/* Inspection. */
int clnn_graph_num_values(const clnn_graph *g);                 /* 0 for NULL */
const char *clnn_graph_value_name(const clnn_graph *g, int v);  /* NULL when out of range */
/* Per-sample dims of v into dims; returns ndim (-1 when out of range). */
int clnn_graph_value_dims(const clnn_graph *g, int v, size_t dims[CLNN_MAX_DIMS]);
/* The value named `name` (an input's name or a node's name: its first output). */
clnn_status clnn_graph_find(const clnn_graph *g, const char *name, int *value);
int clnn_graph_num_inputs(const clnn_graph *g);
int clnn_graph_input_value(const clnn_graph *g, int i);         /* -1 when out of range */
int clnn_graph_num_outputs(const clnn_graph *g);
int clnn_graph_output_value(const clnn_graph *g, int i);        /* -1 when out of range */
/* A table of nodes (name, kind, inputs, output shape, parameters) into buf, NUL-terminated. */
clnn_status clnn_graph_summary(const clnn_graph *g, char *buf, size_t size);

/* ---- Models: a graph on a context ---- */

/* A model owns a copy of the graph (only the nodes that the outputs and losses need run), its
 * parameters (initialised from seed as clnn_net's layers are), gradients, optimizer state and
 * per-batch buffers. Like a context, a model is used from one thread at a time. */
typedef struct clnn_model clnn_model;

clnn_status clnn_model_create(clnn_context *ctx, const clnn_graph *g, uint64_t seed,
                              clnn_model **out);
void clnn_model_destroy(clnn_model *m); /* NULL is a no-op */
/* The model's graph (read-only; lives as long as the model). */
const clnn_graph *clnn_model_graph(const clnn_model *m);

/* Data for one value for one call: an input (or a gradient seed for clnn_model_backward), from
 * host memory (host: float for CLNN_FLOAT32, int32_t for CLNN_INT32; count elements, which must
 * be batch * the value's per-sample numel) or from a device tensor of shape [batch, dims...]
 * (tensor; float only). Exactly one of host and tensor is set. */
typedef struct clnn_feed {
  int value;
  const void *host;
  size_t count;
  const clnn_tensor *tensor;
} clnn_feed;

typedef enum clnn_mode { CLNN_MODE_TRAIN = 0, CLNN_MODE_EVAL = 1 } clnn_mode;
/* Training mode (the default: dropout on, batch norm on batch statistics, updating the running
 * ones) or evaluation mode. forward, compute_gradients and train_step run in the model's mode;
 * predict and evaluate always run in evaluation mode. */
clnn_status clnn_model_set_mode(clnn_model *m, clnn_mode mode);

/* Runs the graph on a batch: every input that the needed nodes use must be fed. Outputs stay on
 * the device (clnn_model_value); nothing is read back (the loss is read only when loss != NULL).
 * Inputs are uploaded without blocking. */
clnn_status clnn_model_forward(clnn_model *m, const clnn_feed *feeds, int num_feeds, size_t batch,
                               float *loss);
/* After clnn_model_forward: gradients of the objective (the sum of weight x loss over the graph's
 * losses, plus the sum over seeds of <seed, value>) with respect to every trained parameter and
 * every input marked with clnn_model_input_grad. seeds (may be NULL, num_seeds 0) give the
 * gradient of the objective with respect to values (e.g. the gradient a discriminator hands to a
 * generator's output). Gradients are overwritten, not accumulated. Only paths that lead to a
 * trained parameter or a requested input run; frozen parameters get no gradient kernels. */
clnn_status clnn_model_backward(clnn_model *m, const clnn_feed *seeds, int num_seeds);
/* forward + backward (no seeds); loss may be NULL (then nothing is read back). */
clnn_status clnn_model_compute_gradients(clnn_model *m, const clnn_feed *feeds, int num_feeds,
                                         size_t batch, float *loss);
/* One optimizer update of every trained parameter (clipping first if configured). */
clnn_status clnn_model_optimizer_step(clnn_model *m);
/* compute_gradients + optimizer_step. */
clnn_status clnn_model_train_step(clnn_model *m, const clnn_feed *feeds, int num_feeds,
                                  size_t batch, float *loss);
/* Evaluation-mode forward; y receives value `output` (-1: the graph's first output) for the
 * batch, batch-first, y_count = batch * its per-sample numel. */
clnn_status clnn_model_predict(clnn_model *m, const clnn_feed *feeds, int num_feeds, size_t batch,
                               int output, float *y, size_t y_count);
/* After a forward: the device tensor of value v ([batch, dims...]; valid until the next call on
 * the model), and after backward its gradient (CLNN_ERROR_INVALID_ARGUMENT when none was
 * computed). */
clnn_status clnn_model_value(clnn_model *m, int v, clnn_tensor **t);
clnn_status clnn_model_grad(clnn_model *m, int v, clnn_tensor **t);
/* Asks backward for the gradient with respect to input value `input` (on 1) or not (0). */
clnn_status clnn_model_input_grad(clnn_model *m, int input, int on);

/* Training on a clnn_dataset: image values fed from the samples, int32 labels from its labels,
 * in mini-batches of batch_size in the dataset's current order. Everything (shapes, labels
 * against the prediction's classes) is checked before the first step. */
clnn_status clnn_model_train_epoch(clnn_model *m, clnn_dataset *ds, size_t batch_size, int x,
                                   int labels, float *mean_loss);
/* Mean objective and accuracy of `output` (-1: first output) against the labels, evaluation
 * mode, file order; either result may be NULL. */
clnn_status clnn_model_evaluate(clnn_model *m, const clnn_dataset *ds, size_t batch_size, int x,
                                int labels, int output, float *mean_loss, float *accuracy);

/* ---- Parameters, freezing, optimizer ---- */
size_t clnn_model_num_params(const clnn_model *m);
const char *clnn_model_param_name(const clnn_model *m, size_t index);
clnn_status clnn_model_param(clnn_model *m, const char *name, clnn_tensor **value,
                             clnn_tensor **grad);
/* Trains (1) or freezes (0) every parameter whose name starts with prefix ("" or NULL: all).
 * *matched (may be NULL) receives how many parameters matched; none is an error. State tensors
 * (running statistics) are never trained. */
clnn_status clnn_model_set_trainable(clnn_model *m, const char *prefix, int trainable,
                                     size_t *matched);
int clnn_model_param_trainable(const clnn_model *m, const char *name); /* 1, 0, or -1 unknown */
size_t clnn_model_num_trainable(const clnn_model *m); /* trained scalars in total */
/* The optimizer (default Adam, lr 1e-3) for every parameter; lr may be 0. State restarts. */
clnn_status clnn_model_set_optimizer(clnn_model *m, const clnn_optimizer_config *cfg);
/* A parameter group: parameters whose name starts with prefix take this learning rate and weight
 * decay instead of the optimizer's (the longest matching prefix wins). lr >= 0, weight_decay >= 0. */
clnn_status clnn_model_set_param_group(clnn_model *m, const char *prefix, float lr,
                                       float weight_decay);
clnn_status clnn_model_set_learning_rate(clnn_model *m, float lr);
/* As clnn_net_set_check_finite, for clnn_model_train_step and train_epoch (on several devices the
 * summed gradients are checked). */
clnn_status clnn_model_set_check_finite(clnn_model *m, int on);

typedef enum clnn_schedule_type {
  CLNN_SCHEDULE_CONSTANT = 0,
  CLNN_SCHEDULE_STEP = 1,   /* lr * gamma^floor(step / step_size) */
  CLNN_SCHEDULE_COSINE = 2  /* linear warm-up over warmup_steps from 0, then cosine from lr down
                               to lr * min_ratio at total_steps (and there after) */
} clnn_schedule_type;
typedef struct clnn_schedule {
  clnn_schedule_type type;
  uint64_t step_size;   /* STEP: >= 1 */
  float gamma;          /* STEP: > 0 */
  uint64_t warmup_steps, total_steps; /* COSINE: warmup_steps < total_steps */
  float min_ratio;      /* COSINE: 0..1 */
} clnn_schedule;
/* A schedule multiplies every group's learning rate by a factor of the optimizer step count. */
clnn_status clnn_model_set_schedule(clnn_model *m, const clnn_schedule *s);
/* The learning rate the next step uses for parameter `name` (NULL: the optimizer's). */
clnn_status clnn_model_current_lr(const clnn_model *m, const char *name, float *lr);
uint64_t clnn_model_step_count(const clnn_model *m);

/* ---- Several devices and MPI for models (src/nn/model_parallel.c) ---- */
/* A model whose replicas live on every device of `set` (which must outlive it), for data-parallel
 * training: clnn_model_compute_gradients, train_step and train_epoch split each batch into
 * contiguous equal shares over every device (and, after clnn_model_set_mpi, every rank: each rank
 * passes the same whole batch), run every device's forward and backward in its own host thread,
 * and sum the gradients on the host in device order (then rank order), weighted by share / batch,
 * in double: deterministic whatever the timing. Every replica then applies the same update, so
 * replicas stay bit-identical (devices of different models or drivers: the first device updates
 * and is copied). Batch-norm running statistics become the share-weighted mean of the replicas'.
 * The objective is the mean over the whole batch. Feeds must be host memory; input gradients are
 * not gathered (CLNN_ERROR_UNSUPPORTED). Everything else (forward, backward, predict, evaluate,
 * parameters, files) uses the first device's replica; parameters written through
 * clnn_model_param, loaded files and changed settings reach the other replicas (and ranks, from
 * rank 0) at the next step. A device failing in a step stops it with an error naming the device,
 * parameters and statistics as before. Compared with one device the parameters agree to rounding
 * (the tests: every parameter within 1e-5 + 1e-4 |value| after 20 steps on 2 devices). */
clnn_status clnn_model_create_parallel(clnn_device_set *set, const clnn_graph *g, uint64_t seed,
                                       clnn_model **out);
/* Devices over every rank (1 for a model on one device not joined to MPI; 0 for NULL). */
int clnn_model_num_devices(const clnn_model *m);
/* Joins the model to data-parallel training across the ranks of `comm` (a pointer to an
 * MPI_Comm; NULL: MPI_COMM_WORLD), as clnn_net_set_mpi: collective, every later training call is
 * collective, rank 0's parameters, state and optimizer are broadcast at the first step, gradients
 * are summed in rank order (the same bits on every rank), a failure on one rank fails the step on
 * every rank. CLNN_ERROR_UNSUPPORTED when clnn was built without MPI. */
clnn_status clnn_model_set_mpi(clnn_model *m, const void *comm);

/* ---- Model files: safetensors with the graph in the metadata ---- */
/* Writes parameters and state (and, with CLNN_SAVE_OPTIMIZER, the optimizer state) as
 * clnn_net_save does, plus the graph (nodes, attributes, names, shapes, losses, outputs) and the
 * optimizer settings as JSON in the safetensors "__metadata__", so the file alone rebuilds the
 * model. */
clnn_status clnn_model_save(clnn_model *m, const char *path, int flags);
/* Rebuilds a model from a file that clnn_model_save (or clnn_net_save) wrote: graph, parameters,
 * optimizer settings and state. Anything inconsistent is CLNN_ERROR_FORMAT, nothing built. */
clnn_status clnn_model_load_file(clnn_context *ctx, const char *path, clnn_model **out);
/* Only the graph of such a file (to extend it: a new head, then clnn_model_create and
 * clnn_model_load with strict 0). */
clnn_status clnn_graph_load(const char *path, clnn_graph **out);
/* Loads parameters from a safetensors file into an existing model. strict 1: the file must hold
 * exactly the model's tensors (as clnn_net_load). strict 0: tensors whose names match are loaded
 * (shapes must agree), the others are reported: missing receives the model's names absent from
 * the file, unexpected the file's names the model lacks, comma-separated, NUL-terminated,
 * truncated to their sizes (either may be NULL). Everything is checked first; on error nothing
 * changes. */
clnn_status clnn_model_load(clnn_model *m, const char *path, int strict, char *missing,
                            size_t missing_size, char *unexpected, size_t unexpected_size);

/* ---- ONNX (src/nn/onnx_*.c) ------------------------------------------------------------------ */
/* Reads and writes .onnx files (protobuf, through protobuf-c), so models trained elsewhere
 * (PyTorch's torch.onnx.export, Keras through tf2onnx, ...) run and train in clnn, and clnn
 * models run in ONNX Runtime and other ONNX runtimes.
 *
 * Import maps each ONNX node onto the graph builder: Conv, ConvTranspose (2-D), MaxPool,
 * AveragePool, GlobalAveragePool, GlobalMaxPool, Gemm, MatMul (with a constant B), Add, Sub, Mul,
 * Div (values of one shape, [C, 1, ...] or scalar operands; Mul/Div by a scalar constant), Relu,
 * LeakyRelu, Elu, Sigmoid, Tanh, Softplus, Gelu, Softmax, LogSoftmax (last axis),
 * BatchNormalization, Dropout, Flatten, Reshape, Squeeze, Unsqueeze, Identity, Transpose,
 * Concat, Split, Slice, Constant and Shape, opsets 7 to 18. The first axis of every ONNX value is
 * the batch (clnn's implicit batch axis): graph inputs must be float [N, ...] with every other
 * dimension fixed, and an op along the batch axis is unsupported. Initializers that ops use as
 * weights, biases or batch-norm statistics become the model's parameters (trainable, as any
 * clnn parameter; a weight "X.weight" names its node "X", so PyTorch's parameter names carry
 * over). An op, opset, data type or attribute clnn cannot do is CLNN_ERROR_UNSUPPORTED naming the
 * node, its op type and what is supported; a malformed file is CLNN_ERROR_FORMAT; nothing is
 * built on failure. Memory while reading is bounded by a small multiple of the file size. */
clnn_status clnn_model_load_onnx(clnn_context *ctx, const char *path, clnn_model **out);
/* The graph only (to extend it: a new head, then clnn_model_create). */
clnn_status clnn_graph_load_onnx(const char *path, clnn_graph **out);
/* Writes the model (its graph's outputs and the nodes they need, with the current parameters
 * and batch-norm statistics as initializers) as an ONNX opset-13 file that runs in inference
 * mode (dropout is the identity; batch norm uses the running statistics); inputs and outputs are
 * [N, ...] with a symbolic batch "N". Losses are left out. LSTM nodes are not exported yet
 * (CLNN_ERROR_UNSUPPORTED). The file is replaced atomically. */
clnn_status clnn_model_save_onnx(clnn_model *m, const char *path);

/* ---- Several devices and MPI (src/nn/parallel.c, src/nn/mpi.c) ------------------------------ */

/* Data-parallel training. A network made with clnn_net_create_parallel keeps one replica of its
 * parameters, optimizer state and buffers per device of the set; a network joined to MPI
 * (clnn_net_set_mpi) also trains with the other ranks. clnn_net_train_step,
 * clnn_net_compute_gradients and clnn_net_train_epoch then split each batch across every device
 * of every rank (contiguous shares, in device order, rank after rank):
 * - each device runs forward and backward on its share in its own host thread (the first step,
 *   which builds the kernels, runs the devices one after another);
 * - each device's gradients are read back to host memory layer by layer as its backward
 *   produces them (the devices have separate OpenCL contexts, so gradients go through host
 *   memory) and summed on the host as soon as every device has them, overlapping the backward of
 *   earlier layers: sum = sum over devices, in device order, of (share / batch) x the device's
 *   mean gradient, accumulated in double, so the result is deterministic and the loss is the mean
 *   over the whole batch. Across MPI ranks the sums are then added in rank order (see
 *   clnn_net_set_mpi);
 * - only after every device and rank succeeded does every replica apply the same optimizer
 *   update, so the parameters stay identical everywhere. (When the devices differ in model or
 *   driver, whose rounding of sqrt or division may differ, the first device applies it and its
 *   parameters and optimizer state are copied to the others.)
 * - If a device fails (an OpenCL error from one queue), the step stops with that error, naming
 *   the device (and rank); parameters, optimizer state, batch-norm statistics and the step count
 *   are as before the step (a device copy taken before the update is restored). Gradients are
 *   then undefined.
 * Differences from one device: the same batches give the same parameters up to rounding: the
 * per-device means are summed instead of one mean (with the tests' networks, after 20 steps of
 * SGD or Adam on 2 devices or 2 MPI ranks, every parameter within 1e-5 + 1e-4 |value| of the
 * one-device run, the tested tolerance; the differences seen are about 1e-7; a one-device set
 * gives the same bits). Dropout masks are the ones a single device draws (except
 * after sequence layers). Batch normalisation normalises each device's share with that share's
 * statistics (as PyTorch's DistributedDataParallel without SyncBatchNorm), so its gradients
 * differ from a one-device run; the running statistics are replaced after every step by the
 * share-weighted mean of the devices' values (the running mean is then what one device would
 * compute; the running variance misses the spread between the shares' means). Inference
 * (predict, accuracy, evaluate), clnn_net_param and checkpoints use the first device's replica;
 * a checkpoint loaded, an optimizer set or a tensor from clnn_net_param (which may have been
 * written) is copied to the other devices, and across MPI ranks from rank 0, at the next step. */

/* Creates a network like clnn_net_create whose replicas live on every device of `set` (which
 * must outlive the network). The first device's context holds the replica that clnn_net_param,
 * inference and checkpoints use. */
clnn_status clnn_net_create_parallel(clnn_device_set *set, int ndim, const size_t *input_dims,
                                     uint64_t seed, clnn_net **out);

/* Devices training the network, over all MPI ranks (1 for a network made with clnn_net_create
 * and not joined to MPI; 0 for NULL). */
int clnn_net_num_devices(const clnn_net *net);

typedef enum clnn_split_mode {
  CLNN_SPLIT_AUTO = 0,    /* equal shares when every device is the same model with the same
                             driver; otherwise measured (the default) */
  CLNN_SPLIT_MEASURE = 1, /* measured: equal shares at first, then shares in proportion to the
                             samples per second each device reached in steps 2-4 (after
                             clnn_net_set_split on a network that has trained: the next 3
                             steps), kept from then on */
  CLNN_SPLIT_FIXED = 2    /* shares in proportion to the given weights */
} clnn_split_mode;

/* How batches are split. FIXED takes `count` = clnn_net_num_devices weights (finite, >= 0, not
 * all 0), in device order; the other modes take weights NULL and count 0. A device whose share of
 * a batch rounds to 0 samples computes nothing that step. With MPI every rank must make the same
 * call, after clnn_net_set_mpi (which resets the split to AUTO). Measured shares depend on
 * timing, so unlike fixed ones they can differ from run to run (and with them the rounding). */
clnn_status clnn_net_set_split(clnn_net *net, clnn_split_mode mode, const double *weights,
                               int count);
/* The current shares (count = clnn_net_num_devices values summing to 1) and whether they come
 * from a measurement (*measured may be NULL). */
clnn_status clnn_net_get_split(const clnn_net *net, double *shares, int count, int *measured);

/* MPI (clnn built with -DCLNN_WITH_MPI=ON; otherwise these return CLNN_ERROR_UNSUPPORTED). */

/* 1 when this clnn was built with MPI. */
int clnn_mpi_available(void);
/* Initialises MPI (MPI_Init_thread with MPI_THREAD_FUNNELED: clnn's device threads never call
 * MPI) unless it already is, and gives this process's rank and the number of ranks in
 * MPI_COMM_WORLD (either pointer may be NULL). argc/argv may be NULL. */
clnn_status clnn_mpi_init(int *argc, char ***argv, int *rank, int *size);
/* Finalises MPI if clnn_mpi_init initialised it (destroy MPI networks first). */
clnn_status clnn_mpi_finalize(void);

/* Joins the network to data-parallel training across the ranks of `comm` (a pointer to an
 * MPI_Comm; NULL: MPI_COMM_WORLD), which clnn duplicates. Collective: every rank calls it, after
 * adding the layers (it finalises the network). Then every training call is collective too:
 * every rank passes the same whole global batch (x, labels, targets of `batch` samples; each
 * rank uses only its share) in the same order; ranks that disagree on the batch size get
 * CLNN_ERROR_INVALID_ARGUMENT on every rank. At the first step rank 0's parameters, state,
 * optimizer settings and state and step count are broadcast, so ranks start identical. The
 * gradient sum is deterministic: MPI_Alltoallv gives rank r slice r of every rank's local sum,
 * rank r adds the slices in rank order (in double), MPI_Allgatherv returns every summed slice to
 * every rank, so every rank gets the same bits whatever the timing and the MPI implementation
 * (no MPI_Allreduce on floats, whose order MPI does not fix). A failure on one rank fails the
 * step on every rank, with the failing rank's error. MPI's own failures are CLNN_ERROR_IO with
 * MPI's error string (clnn's communicator returns errors instead of aborting). Inference runs on
 * each rank alone. Destroy the network before MPI_Finalize. */
clnn_status clnn_net_set_mpi(clnn_net *net, const void *comm);
/* This process's rank and the number of ranks (0 and 1 when not joined); either may be NULL. */
clnn_status clnn_net_mpi_rank(const clnn_net *net, int *rank, int *size);

/* CLNN_NET_API_END */

#ifdef __cplusplus
}
#endif
#endif /* CLNN_H */
