/* tests/test_api_misuse.c — every public function of include/clnn.h called wrongly: NULL pointers,
 * zero and negative sizes, out-of-range enums and parameters, mismatched shapes, tensors from
 * another context, networks used in a state that does not allow the call. Each row of the table
 * below names the function, what is wrong and the status the header documents
 * (CLNN_ERROR_INVALID_ARGUMENT for bad arguments, CLNN_ERROR_SHAPE_MISMATCH for shapes that do not
 * fit, CLNN_ERROR_CONTEXT_MISMATCH for tensors from another context, ...). After every row the test
 * checks that
 * - the call returned exactly that status,
 * - clnn_last_error() was rewritten with a message (not the one left by the previous row),
 * - nothing changed: every tensor the test owns (inputs and outputs, filled with known values)
 *   reads back bit for bit as before, and out-pointers are left alone or set to NULL.
 * Functions that cannot fail (getters, destroy, *_init) get rows for their documented NULL and
 * out-of-range behaviour. At the end the test reads the public headers and checks that every
 * function it declares appears in the table, so a new public function needs a row here.
 *
 * Use after destroy is not detectable (handles are plain pointers); the one detectable case, a
 * context destroyed while tensors still live on it, is checked for its warning. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static clnn_context *ctx, *other;

/* ---- coverage of the header's functions ---- */

static const char *covered[400];
static int num_covered;

static void cover(const char *fn) {
  for (int i = 0; i < num_covered; i++)
    if (!strcmp(covered[i], fn)) return;
  if (num_covered < 400) covered[num_covered++] = fn;
}

/* ---- watched tensors: every tensor here is compared with its snapshot after every row ---- */

#define MAX_WATCH 256
static struct {
  clnn_tensor *t;
  float *snap;
  size_t n;
} watch[MAX_WATCH];
static int num_watch;
static int rows, row_failures;

static clnn_tensor *W(clnn_context *c, int ndim, const size_t *dims) {
  clnn_tensor *t = NULL;
  if (clnn_tensor_create(c, ndim, dims, &t) != CLNN_SUCCESS) {
    fprintf(stderr, "FAIL: setup tensor: %s\n", clnn_last_error());
    exit(1);
  }
  size_t n = clnn_tensor_numel(t);
  float *h = malloc(n * sizeof(float));
  for (size_t i = 0; i < n; i++) h[i] = 0.25f + 0.125f * (float)((i * 7 + (size_t)num_watch) % 13);
  clnn_tensor_write(t, h, n);
  if (num_watch == MAX_WATCH) {
    fprintf(stderr, "FAIL: too many watched tensors\n");
    exit(1);
  }
  watch[num_watch].t = t;
  watch[num_watch].snap = h;
  watch[num_watch].n = n;
  num_watch++;
  return t;
}
#define T(c, ...) W((c), (int)(sizeof((size_t[]){__VA_ARGS__}) / sizeof(size_t)), (size_t[]){__VA_ARGS__})

static int watched_unchanged(char *which, size_t size) {
  clnn_context_finish(ctx);
  clnn_context_finish(other);
  for (int i = 0; i < num_watch; i++) {
    float *h = malloc(watch[i].n * sizeof(float));
    int ok = clnn_tensor_read(watch[i].t, h, watch[i].n) == CLNN_SUCCESS &&
             !memcmp(h, watch[i].snap, watch[i].n * sizeof(float));
    free(h);
    if (!ok) {
      snprintf(which, size, "tensor #%d [%zu elements]", i, watch[i].n);
      clnn_tensor_read(watch[i].t, watch[i].snap, watch[i].n); /* report each change once */
      return 0;
    }
  }
  return 1;
}

/* A fresh message, so that each row can show it wrote its own. */
static const char *mark(void) {
  int i;
  clnn_device_select("previous-row-marker", &i, NULL, 0);
  return "marker";
}

static void row(const char *fn, const char *what, clnn_status got, clnn_status want, const char *before) {
  rows++;
  const char *msg = clnn_last_error();
  int ok = got == want;
  TU_CHECK(ok, "%s (%s): returned %s, documented %s (%s)", fn, what, clnn_status_string(got),
           clnn_status_string(want), msg);
  if (want != CLNN_SUCCESS && got != CLNN_SUCCESS) {
    int fresh = msg[0] && strcmp(msg, before) != 0;
    ok &= fresh;
    TU_CHECK(fresh, "%s (%s): clnn_last_error() was not rewritten (\"%s\")", fn, what, msg);
  }
  char which[96];
  int same = watched_unchanged(which, sizeof which);
  ok &= same;
  TU_CHECK(same, "%s (%s): the failing call changed %s", fn, what, which);
  if (!ok) row_failures++;
}

/* ROW(function, what is wrong, documented status, call) */
#define ROW(fn, what, want, call)                                   \
  do {                                                              \
    cover(#fn);                                                     \
    mark();                                                         \
    char before_[256];                                              \
    snprintf(before_, sizeof before_, "%s", clnn_last_error());     \
    clnn_status got_ = (call);                                      \
    row(#fn, what, got_, want, before_);                            \
  } while (0)
/* A function that returns no status: `cond` must hold after `stmt`. */
#define VROW(fn, what, stmt, cond)                                            \
  do {                                                                        \
    cover(#fn);                                                               \
    rows++;                                                                   \
    stmt;                                                                     \
    TU_CHECK((cond), "%s (%s): %s does not hold", #fn, what, #cond);          \
  } while (0)

#define INV CLNN_ERROR_INVALID_ARGUMENT
#define SHAPE CLNN_ERROR_SHAPE_MISMATCH
#define CTXM CLNN_ERROR_CONTEXT_MISMATCH
#define OK CLNN_SUCCESS

static int log_hits;
static void count_log(clnn_log_level level, const char *msg, void *user) {
  (void)user;
  if (level <= CLNN_LOG_WARN && strstr(msg, "still alive")) log_hits++;
}

/* ---------------------------------------------------------------------------------------------- */

static void status_devices_contexts(void) {
  VROW(clnn_status_string, "unknown status", const char *s = clnn_status_string((clnn_status)12345),
       s != NULL && s[0]);
  VROW(clnn_last_error, "always a string", const char *s = clnn_last_error(), s != NULL);
  VROW(clnn_version, "the header's version", const char *v = clnn_version(),
       v != NULL && !strcmp(v, CLNN_VERSION_STRING));
  VROW(clnn_version_number, "the header's version", int v = clnn_version_number(),
       v == CLNN_VERSION_MAJOR * 10000 + CLNN_VERSION_MINOR * 100 + CLNN_VERSION_PATCH);
  VROW(clnn_set_log_callback, "NULL callback, level out of range", clnn_set_log_callback(NULL, (clnn_log_level)99, NULL),
       1);
  VROW(clnn_set_log_callback, "level below range", clnn_set_log_callback(count_log, (clnn_log_level)-5, NULL), 1);
  clnn_set_log_callback(NULL, CLNN_LOG_ERROR, NULL);

  int count = -7, index = -7;
  clnn_device_info info;
  clnn_device_info_init(&info);
  ROW(clnn_device_count, "count NULL", INV, clnn_device_count(NULL));
  clnn_device_count(&count);
  ROW(clnn_device_get_info, "index -1", INV, clnn_device_get_info(-1, &info));
  ROW(clnn_device_get_info, "index = count", INV, clnn_device_get_info(count, &info));
  ROW(clnn_device_get_info, "info NULL", INV, clnn_device_get_info(0, NULL));
  ROW(clnn_device_select, "matches nothing", CLNN_ERROR_DEVICE_NOT_FOUND,
      clnn_device_select("no-such-device-xyz", &index, NULL, 0));
  ROW(clnn_device_select, "P:D out of range", CLNN_ERROR_DEVICE_NOT_FOUND, clnn_device_select("77:3", &index, NULL, 0));
  ROW(clnn_device_select, "index NULL", INV, clnn_device_select(NULL, NULL, NULL, 0));
  TU_CHECK(index == -7, "clnn_device_select: *index untouched on failure (%d)", index);
  char reason[4] = "zz";
  ROW(clnn_device_select, "reason buffer of 4 bytes (truncated, fine)", OK, clnn_device_select(NULL, &index, reason, 4));

  VROW(clnn_context_options_init, "NULL", clnn_context_options_init(NULL), 1);
  clnn_context_options o;
  clnn_context_options_init(&o);
  clnn_context *c = (clnn_context *)&o; /* sentinel: must not be replaced by garbage */
  ROW(clnn_context_create, "out NULL", INV, clnn_context_create(NULL, NULL));
  o.device = "no-such-device-xyz";
  ROW(clnn_context_create, "device matches nothing", CLNN_ERROR_DEVICE_NOT_FOUND, clnn_context_create(&o, &c));
  TU_CHECK(c == (clnn_context *)&o || c == NULL, "clnn_context_create: *ctx untouched or NULL on failure");
  clnn_context_options_init(&o);
  o.binaries_only = 1;
  o.binary_dir = NULL;
  unsetenv("CLNN_BINARY_DIR");
  ROW(clnn_context_create, "binaries_only without a binary directory", INV, clnn_context_create(&o, &c));

  cl_context cc = NULL, occ = NULL;
  cl_device_id dev = NULL;
  cl_command_queue q = NULL, oq = NULL;
  clnn_context_get_cl(ctx, &cc, &dev, &q);
  clnn_context_get_cl(other, &occ, NULL, &oq);
  c = NULL;
  ROW(clnn_context_wrap, "NULL context", INV, clnn_context_wrap(NULL, dev, q, NULL, &c));
  ROW(clnn_context_wrap, "NULL device", INV, clnn_context_wrap(cc, NULL, q, NULL, &c));
  ROW(clnn_context_wrap, "NULL queue", INV, clnn_context_wrap(cc, dev, NULL, NULL, &c));
  ROW(clnn_context_wrap, "out NULL", INV, clnn_context_wrap(cc, dev, q, NULL, NULL));
  ROW(clnn_context_wrap, "queue of another OpenCL context", INV, clnn_context_wrap(cc, dev, oq, NULL, &c));
  cl_int err;
  cl_command_queue ooo = clCreateCommandQueue(cc, dev, CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, &err);
  if (ooo) {
    ROW(clnn_context_wrap, "out-of-order queue", INV, clnn_context_wrap(cc, dev, ooo, NULL, &c));
    clReleaseCommandQueue(ooo);
  } else {
    printf("note: the device has no out-of-order queues; that row is skipped\n");
  }
  TU_CHECK(c == NULL, "clnn_context_wrap: *ctx stays NULL on failure");
  VROW(clnn_context_destroy, "NULL is a no-op", clnn_context_destroy(NULL), 1);
  ROW(clnn_context_get_cl, "ctx NULL", INV, clnn_context_get_cl(NULL, &cc, &dev, &q));
  ROW(clnn_context_get_cl, "every out-pointer NULL (allowed)", OK, clnn_context_get_cl(ctx, NULL, NULL, NULL));
  ROW(clnn_context_device_info, "ctx NULL", INV, clnn_context_device_info(NULL, &info));
  ROW(clnn_context_device_info, "info NULL", INV, clnn_context_device_info(ctx, NULL));
  ROW(clnn_context_finish, "ctx NULL", INV, clnn_context_finish(NULL));
  ROW(clnn_context_selftest, "ctx NULL", INV, clnn_context_selftest(NULL));
  ROW(clnn_context_cache_stats, "ctx NULL", INV, clnn_context_cache_stats(NULL, NULL, NULL, NULL, NULL));
  ROW(clnn_context_cache_stats, "every out-pointer NULL (allowed)", OK,
      clnn_context_cache_stats(ctx, NULL, NULL, NULL, NULL));
  int written = -3;
  ROW(clnn_export_binaries, "ctx NULL", INV, clnn_export_binaries(NULL, "/tmp/x", &written));
  ROW(clnn_export_binaries, "dir NULL", INV, clnn_export_binaries(ctx, NULL, &written));
  ROW(clnn_export_binaries, "dir empty", INV, clnn_export_binaries(ctx, "", &written));
  ROW(clnn_export_binaries, "dir under a regular file", CLNN_ERROR_IO,
      clnn_export_binaries(ctx, "/proc/self/status/binaries", &written));
}

static void tensors(void) {
  clnn_tensor *a = T(ctx, 2, 3), *b = T(ctx, 6), *o = T(other, 2, 3);
  clnn_tensor *t = NULL;
  size_t d2[2] = {2, 3}, d0[2] = {2, 0}, huge[2] = {SIZE_MAX / 2, 4}, big[1] = {(size_t)1 << 40};
  size_t d6[6] = {1, 1, 1, 1, 1, 1};
  ROW(clnn_tensor_create, "ctx NULL", INV, clnn_tensor_create(NULL, 2, d2, &t));
  ROW(clnn_tensor_create, "ndim 0", INV, clnn_tensor_create(ctx, 0, d2, &t));
  ROW(clnn_tensor_create, "ndim -1", INV, clnn_tensor_create(ctx, -1, d2, &t));
  ROW(clnn_tensor_create, "ndim 6", INV, clnn_tensor_create(ctx, 6, d6, &t));
  ROW(clnn_tensor_create, "dims NULL", INV, clnn_tensor_create(ctx, 2, NULL, &t));
  ROW(clnn_tensor_create, "a zero dimension", INV, clnn_tensor_create(ctx, 2, d0, &t));
  ROW(clnn_tensor_create, "element count overflows size_t", INV, clnn_tensor_create(ctx, 2, huge, &t));
  ROW(clnn_tensor_create, "larger than the device's max allocation", CLNN_ERROR_OUT_OF_MEMORY,
      clnn_tensor_create(ctx, 1, big, &t));
  ROW(clnn_tensor_create, "out NULL", INV, clnn_tensor_create(ctx, 2, d2, NULL));
  TU_CHECK(t == NULL, "clnn_tensor_create: *out NULL after failures");

  cl_mem m = clnn_tensor_cl_mem(a), om = clnn_tensor_cl_mem(o);
  size_t d3[2] = {3, 3};
  ROW(clnn_tensor_wrap, "ctx NULL", INV, clnn_tensor_wrap(NULL, m, 2, d2, &t));
  ROW(clnn_tensor_wrap, "mem NULL", INV, clnn_tensor_wrap(ctx, NULL, 2, d2, &t));
  ROW(clnn_tensor_wrap, "buffer smaller than the shape", SHAPE, clnn_tensor_wrap(ctx, m, 2, d3, &t));
  ROW(clnn_tensor_wrap, "buffer of another OpenCL context", CTXM, clnn_tensor_wrap(ctx, om, 2, d2, &t));
  ROW(clnn_tensor_wrap, "a zero dimension", INV, clnn_tensor_wrap(ctx, m, 2, d0, &t));
  ROW(clnn_tensor_wrap, "out NULL", INV, clnn_tensor_wrap(ctx, m, 2, d2, NULL));
  VROW(clnn_tensor_destroy, "NULL is a no-op", clnn_tensor_destroy(NULL), 1);

  float h[8] = {0};
  ROW(clnn_tensor_write, "tensor NULL", INV, clnn_tensor_write(NULL, h, 6));
  ROW(clnn_tensor_write, "src NULL", INV, clnn_tensor_write(a, NULL, 6));
  ROW(clnn_tensor_write, "count != numel", SHAPE, clnn_tensor_write(a, h, 5));
  ROW(clnn_tensor_write, "count 0", SHAPE, clnn_tensor_write(a, h, 0));
  float r[8];
  memcpy(r, h, sizeof r);
  ROW(clnn_tensor_read, "tensor NULL", INV, clnn_tensor_read(NULL, r, 6));
  ROW(clnn_tensor_read, "dst NULL", INV, clnn_tensor_read(a, NULL, 6));
  ROW(clnn_tensor_read, "count != numel", SHAPE, clnn_tensor_read(a, r, 7));
  TU_CHECK(!memcmp(r, h, sizeof r), "clnn_tensor_read: dst untouched on failure");
  ROW(clnn_tensor_fill, "tensor NULL", INV, clnn_tensor_fill(NULL, 1.0f));
  ROW(clnn_tensor_copy, "dst NULL", INV, clnn_tensor_copy(NULL, a));
  ROW(clnn_tensor_copy, "src NULL", INV, clnn_tensor_copy(a, NULL));
  clnn_tensor *c7 = T(ctx, 7);
  ROW(clnn_tensor_copy, "numel differs", SHAPE, clnn_tensor_copy(c7, a));
  ROW(clnn_tensor_copy, "src from another context", CTXM, clnn_tensor_copy(a, o));
  ROW(clnn_tensor_reshape, "tensor NULL", INV, clnn_tensor_reshape(NULL, 2, d2));
  ROW(clnn_tensor_reshape, "numel differs", SHAPE, clnn_tensor_reshape(b, 2, d3));
  ROW(clnn_tensor_reshape, "ndim 0", INV, clnn_tensor_reshape(b, 0, d2));
  ROW(clnn_tensor_reshape, "ndim 6", INV, clnn_tensor_reshape(b, 6, d6));
  ROW(clnn_tensor_reshape, "dims NULL", INV, clnn_tensor_reshape(b, 2, NULL));
  ROW(clnn_tensor_reshape, "a zero dimension", INV, clnn_tensor_reshape(b, 2, d0));
  TU_CHECK(clnn_tensor_ndim(b) == 1 && clnn_tensor_dim(b, 0) == 6, "clnn_tensor_reshape: shape untouched");
  VROW(clnn_tensor_ndim, "NULL", , clnn_tensor_ndim(NULL) == 0);
  VROW(clnn_tensor_dim, "NULL", , clnn_tensor_dim(NULL, 0) == 0);
  VROW(clnn_tensor_dim, "index -1", , clnn_tensor_dim(a, -1) == 0);
  VROW(clnn_tensor_dim, "index = ndim", , clnn_tensor_dim(a, 2) == 0);
  VROW(clnn_tensor_dim, "index 99", , clnn_tensor_dim(a, 99) == 0);
  VROW(clnn_tensor_numel, "NULL", , clnn_tensor_numel(NULL) == 0);
  VROW(clnn_tensor_cl_mem, "NULL", , clnn_tensor_cl_mem(NULL) == NULL);
  VROW(clnn_tensor_context, "NULL", , clnn_tensor_context(NULL) == NULL);
}

static void gemm_elementwise(void) {
  clnn_tensor *a = T(ctx, 2, 3), *b = T(ctx, 3, 4), *c = T(ctx, 2, 4), *c2 = T(ctx, 2, 5);
  clnn_tensor *ob = T(other, 3, 4), *a3 = T(ctx, 2, 2, 3), *b3 = T(ctx, 2, 3, 4), *c3 = T(ctx, 2, 2, 4);
  clnn_tensor *b3x = T(ctx, 3, 3, 4);
  ROW(clnn_gemm, "ctx NULL", INV, clnn_gemm(NULL, 0, 0, 1, a, b, 0, c));
  ROW(clnn_gemm, "a NULL", INV, clnn_gemm(ctx, 0, 0, 1, NULL, b, 0, c));
  ROW(clnn_gemm, "c NULL", INV, clnn_gemm(ctx, 0, 0, 1, a, b, 0, NULL));
  ROW(clnn_gemm, "inner dimensions differ (transposed a)", SHAPE, clnn_gemm(ctx, 1, 0, 1, a, b, 0, c));
  ROW(clnn_gemm, "c has the wrong shape", SHAPE, clnn_gemm(ctx, 0, 0, 1, a, b, 0, c2));
  ROW(clnn_gemm, "3-D operands", SHAPE, clnn_gemm(ctx, 0, 0, 1, a3, b3, 0, c3));
  ROW(clnn_gemm, "b from another context", CTXM, clnn_gemm(ctx, 0, 0, 1, a, ob, 0, c));
  ROW(clnn_gemm, "alpha NaN", INV, clnn_gemm(ctx, 0, 0, NAN, a, b, 0, c));
  ROW(clnn_gemm, "beta infinite", INV, clnn_gemm(ctx, 0, 0, 1, a, b, INFINITY, c));
  ROW(clnn_gemm_batched, "ctx NULL", INV, clnn_gemm_batched(NULL, 0, 0, 1, a3, b3, 0, c3));
  ROW(clnn_gemm_batched, "2-D operands", SHAPE, clnn_gemm_batched(ctx, 0, 0, 1, a, b, 0, c));
  ROW(clnn_gemm_batched, "batch counts differ", SHAPE, clnn_gemm_batched(ctx, 0, 0, 1, a3, b3x, 0, c3));
  ROW(clnn_gemm_batched, "b NULL", INV, clnn_gemm_batched(ctx, 0, 0, 1, a3, NULL, 0, c3));

  clnn_tensor *x = T(ctx, 6), *y = T(ctx, 6), *y5 = T(ctx, 5), *ox = T(other, 6), *dy = T(ctx, 6);
  ROW(clnn_activation_forward, "ctx NULL", INV, clnn_activation_forward(NULL, CLNN_ACT_RELU, 0, x, y));
  ROW(clnn_activation_forward, "x NULL", INV, clnn_activation_forward(ctx, CLNN_ACT_RELU, 0, NULL, y));
  ROW(clnn_activation_forward, "y NULL", INV, clnn_activation_forward(ctx, CLNN_ACT_RELU, 0, x, NULL));
  ROW(clnn_activation_forward, "activation 99", INV, clnn_activation_forward(ctx, (clnn_activation)99, 0, x, y));
  ROW(clnn_activation_forward, "activation -1", INV, clnn_activation_forward(ctx, (clnn_activation)-1, 0, x, y));
  ROW(clnn_activation_forward, "alpha NaN", INV, clnn_activation_forward(ctx, CLNN_ACT_LEAKY_RELU, NAN, x, y));
  ROW(clnn_activation_forward, "shapes differ", SHAPE, clnn_activation_forward(ctx, CLNN_ACT_RELU, 0, x, y5));
  ROW(clnn_activation_forward, "x from another context", CTXM,
      clnn_activation_forward(ctx, CLNN_ACT_RELU, 0, ox, y));
  ROW(clnn_activation_backward, "x and y both NULL", INV,
      clnn_activation_backward(ctx, CLNN_ACT_RELU, 0, NULL, NULL, dy, 0, y));
  ROW(clnn_activation_backward, "GELU without x", INV,
      clnn_activation_backward(ctx, CLNN_ACT_GELU, 0, NULL, x, dy, 0, y));
  ROW(clnn_activation_backward, "leaky ReLU, negative alpha, from y", INV,
      clnn_activation_backward(ctx, CLNN_ACT_LEAKY_RELU, -0.5f, NULL, x, dy, 0, y));
  ROW(clnn_activation_backward, "beta NaN", INV, clnn_activation_backward(ctx, CLNN_ACT_RELU, 0, x, NULL, dy, NAN, y));
  ROW(clnn_activation_backward, "dx shape differs", SHAPE,
      clnn_activation_backward(ctx, CLNN_ACT_RELU, 0, x, NULL, dy, 0, y5));
  ROW(clnn_activation_backward, "dy NULL", INV, clnn_activation_backward(ctx, CLNN_ACT_RELU, 0, x, NULL, NULL, 0, y));
  ROW(clnn_activation_backward, "x from another context", CTXM,
      clnn_activation_backward(ctx, CLNN_ACT_RELU, 0, ox, NULL, dy, 0, y));
  ROW(clnn_add, "ctx NULL", INV, clnn_add(NULL, x, dy, y));
  ROW(clnn_add, "b NULL", INV, clnn_add(ctx, x, NULL, y));
  ROW(clnn_add, "numel differs", SHAPE, clnn_add(ctx, x, dy, y5));
  ROW(clnn_add, "a from another context", CTXM, clnn_add(ctx, ox, dy, y));
  ROW(clnn_mul, "y NULL", INV, clnn_mul(ctx, x, dy, NULL));
  ROW(clnn_mul, "numel differs", SHAPE, clnn_mul(ctx, y5, dy, y));
  ROW(clnn_mul, "b from another context", CTXM, clnn_mul(ctx, x, ox, y));
  ROW(clnn_scale, "ctx NULL", INV, clnn_scale(NULL, 2, y));
  ROW(clnn_scale, "x NULL", INV, clnn_scale(ctx, 2, NULL));
  ROW(clnn_scale, "x from another context", CTXM, clnn_scale(ctx, 2, ox));
  ROW(clnn_axpy, "y NULL", INV, clnn_axpy(ctx, 2, x, NULL));
  ROW(clnn_axpy, "numel differs", SHAPE, clnn_axpy(ctx, 2, x, y5));
  ROW(clnn_axpy, "x from another context", CTXM, clnn_axpy(ctx, 2, ox, y));
  clnn_tensor *bias3 = T(ctx, 3), *bias4 = T(ctx, 4), *y23 = T(ctx, 2, 3);
  ROW(clnn_bias_add, "ctx NULL", INV, clnn_bias_add(NULL, bias3, y23));
  ROW(clnn_bias_add, "bias NULL", INV, clnn_bias_add(ctx, NULL, y23));
  ROW(clnn_bias_add, "bias length is not dim 1", SHAPE, clnn_bias_add(ctx, bias4, y23));
  ROW(clnn_bias_add, "y 1-D", SHAPE, clnn_bias_add(ctx, bias3, x));

  /* shape */
  clnn_tensor *p234 = T(ctx, 2, 3, 4), *p423 = T(ctx, 4, 2, 3), *p432 = T(ctx, 4, 3, 2);
  clnn_tensor *op234 = T(other, 2, 3, 4), *s1 = T(ctx, 1), *s2 = T(ctx, 2);
  const int perm[3] = {2, 0, 1}, pdup[3] = {2, 0, 0}, pbig[3] = {3, 0, 1};
  size_t box[3] = {2, 2, 2}, z[3] = {0, 0, 0}, far[3] = {0, 2, 0}, wrap[3] = {0, 0, (size_t)-1};
  ROW(clnn_permute, "ctx NULL", INV, clnn_permute(NULL, perm, 1, p234, 0, p423));
  ROW(clnn_permute, "perm NULL", INV, clnn_permute(ctx, NULL, 1, p234, 0, p423));
  ROW(clnn_permute, "perm repeats an axis", INV, clnn_permute(ctx, pdup, 1, p234, 0, p423));
  ROW(clnn_permute, "perm names axis 3 of 3", INV, clnn_permute(ctx, pbig, 1, p234, 0, p423));
  ROW(clnn_permute, "y is x", INV, clnn_permute(ctx, perm, 1, p423, 0, p423));
  ROW(clnn_permute, "alpha NaN", INV, clnn_permute(ctx, perm, NAN, p234, 0, p423));
  ROW(clnn_permute, "beta infinite", INV, clnn_permute(ctx, perm, 1, p234, INFINITY, p423));
  ROW(clnn_permute, "y not the permuted shape", SHAPE, clnn_permute(ctx, perm, 1, p234, 0, p432));
  ROW(clnn_permute, "x from another context", CTXM, clnn_permute(ctx, perm, 1, op234, 0, p423));
  ROW(clnn_copy_region, "ctx NULL", INV, clnn_copy_region(NULL, 3, box, 1, p234, z, 0, p423, z));
  ROW(clnn_copy_region, "sizes NULL", INV, clnn_copy_region(ctx, 3, NULL, 1, p234, z, 0, p423, z));
  ROW(clnn_copy_region, "dst_start NULL", INV, clnn_copy_region(ctx, 3, box, 1, p234, z, 0, p423, NULL));
  ROW(clnn_copy_region, "ndim 0", INV, clnn_copy_region(ctx, 0, box, 1, p234, z, 0, p423, z));
  ROW(clnn_copy_region, "dst is src", INV, clnn_copy_region(ctx, 3, box, 1, p423, z, 0, p423, z));
  ROW(clnn_copy_region, "beta NaN", INV, clnn_copy_region(ctx, 3, box, 1, p234, z, NAN, p423, z));
  ROW(clnn_copy_region, "ndim differs from the tensors'", SHAPE,
      clnn_copy_region(ctx, 2, box, 1, p234, z, 0, p423, z));
  ROW(clnn_copy_region, "box past the end of src", SHAPE, clnn_copy_region(ctx, 3, box, 1, p234, far, 0, p423, z));
  ROW(clnn_copy_region, "dst_start + size wraps", SHAPE, clnn_copy_region(ctx, 3, box, 1, p234, z, 0, p423, wrap));
  ROW(clnn_copy_region, "dst from another context", CTXM, clnn_copy_region(ctx, 3, box, 1, p234, z, 0, op234, z));
  ROW(clnn_mul_acc, "ctx NULL", INV, clnn_mul_acc(NULL, x, dy, 0, y));
  ROW(clnn_mul_acc, "b NULL", INV, clnn_mul_acc(ctx, x, NULL, 0, y));
  ROW(clnn_mul_acc, "beta NaN", INV, clnn_mul_acc(ctx, x, dy, NAN, y));
  ROW(clnn_mul_acc, "numel differs", SHAPE, clnn_mul_acc(ctx, x, dy, 1, y5));
  ROW(clnn_mul_acc, "a from another context", CTXM, clnn_mul_acc(ctx, ox, dy, 0, y));
  ROW(clnn_reduce_sum, "ctx NULL", INV, clnn_reduce_sum(NULL, 1, x, 0, s1));
  ROW(clnn_reduce_sum, "y NULL", INV, clnn_reduce_sum(ctx, 1, x, 0, NULL));
  ROW(clnn_reduce_sum, "alpha infinite", INV, clnn_reduce_sum(ctx, INFINITY, x, 0, s1));
  ROW(clnn_reduce_sum, "y has 2 elements", SHAPE, clnn_reduce_sum(ctx, 1, x, 0, s2));
  ROW(clnn_reduce_sum, "x from another context", CTXM, clnn_reduce_sum(ctx, 1, ox, 0, s1));
  ROW(clnn_broadcast_scalar, "ctx NULL", INV, clnn_broadcast_scalar(NULL, 1, s1, 0, y));
  ROW(clnn_broadcast_scalar, "x NULL", INV, clnn_broadcast_scalar(ctx, 1, NULL, 0, y));
  ROW(clnn_broadcast_scalar, "beta NaN", INV, clnn_broadcast_scalar(ctx, 1, s1, NAN, y));
  ROW(clnn_broadcast_scalar, "x has 2 elements", SHAPE, clnn_broadcast_scalar(ctx, 1, s2, 0, y));
  ROW(clnn_broadcast_scalar, "y from another context", CTXM, clnn_broadcast_scalar(ctx, 1, s1, 0, ox));
}

static void softmax_losses_dropout(void) {
  clnn_tensor *x = T(ctx, 2, 3), *y = T(ctx, 2, 3), *y5 = T(ctx, 2, 5), *ox = T(other, 2, 3);
  clnn_tensor *dy = T(ctx, 2, 3), *loss = T(ctx, 1), *loss2 = T(ctx, 2);
  ROW(clnn_softmax_forward, "ctx NULL", INV, clnn_softmax_forward(NULL, x, y));
  ROW(clnn_softmax_forward, "x NULL", INV, clnn_softmax_forward(ctx, NULL, y));
  ROW(clnn_softmax_forward, "shapes differ", SHAPE, clnn_softmax_forward(ctx, x, y5));
  ROW(clnn_softmax_forward, "x from another context", CTXM, clnn_softmax_forward(ctx, ox, y));
  ROW(clnn_softmax_backward, "beta NaN", INV, clnn_softmax_backward(ctx, x, dy, NAN, y));
  ROW(clnn_softmax_backward, "dx shape differs", SHAPE, clnn_softmax_backward(ctx, x, dy, 0, y5));
  ROW(clnn_softmax_backward, "dy NULL", INV, clnn_softmax_backward(ctx, x, NULL, 0, y));
  ROW(clnn_log_softmax_forward, "y NULL", INV, clnn_log_softmax_forward(ctx, x, NULL));
  ROW(clnn_log_softmax_forward, "shapes differ", SHAPE, clnn_log_softmax_forward(ctx, x, y5));
  ROW(clnn_log_softmax_backward, "beta infinite", INV, clnn_log_softmax_backward(ctx, x, dy, INFINITY, y));
  ROW(clnn_log_softmax_backward, "dy from another context", CTXM, clnn_log_softmax_backward(ctx, x, ox, 0, y));
  int32_t labels[2] = {0, 2}, bad[2] = {0, 3}, neg[2] = {-1, 0};
  ROW(clnn_softmax_cross_entropy, "ctx NULL", INV, clnn_softmax_cross_entropy(NULL, x, labels, 2, loss, y));
  ROW(clnn_softmax_cross_entropy, "labels NULL", INV, clnn_softmax_cross_entropy(ctx, x, NULL, 2, loss, y));
  ROW(clnn_softmax_cross_entropy, "a label = C", INV, clnn_softmax_cross_entropy(ctx, x, bad, 2, loss, y));
  ROW(clnn_softmax_cross_entropy, "a label < 0", INV, clnn_softmax_cross_entropy(ctx, x, neg, 2, loss, y));
  ROW(clnn_softmax_cross_entropy, "num_labels != N", SHAPE, clnn_softmax_cross_entropy(ctx, x, labels, 1, loss, y));
  ROW(clnn_softmax_cross_entropy, "loss of 2 elements", SHAPE,
      clnn_softmax_cross_entropy(ctx, x, labels, 2, loss2, y));
  ROW(clnn_softmax_cross_entropy, "dlogits shape differs", SHAPE,
      clnn_softmax_cross_entropy(ctx, x, labels, 2, loss, y5));
  ROW(clnn_softmax_cross_entropy, "logits from another context", CTXM,
      clnn_softmax_cross_entropy(ctx, ox, labels, 2, loss, y));
  int32_t ign[2] = {-100, 2};
  ROW(clnn_softmax_cross_entropy_ignore, "ctx NULL", INV, clnn_softmax_cross_entropy_ignore(NULL, x, ign, 2, -100, loss, y));
  ROW(clnn_softmax_cross_entropy_ignore, "labels NULL", INV, clnn_softmax_cross_entropy_ignore(ctx, x, NULL, 2, -100, loss, y));
  ROW(clnn_softmax_cross_entropy_ignore, "a label = C (not the ignore index)", INV,
      clnn_softmax_cross_entropy_ignore(ctx, x, bad, 2, -100, loss, y));
  ROW(clnn_softmax_cross_entropy_ignore, "a label < 0 (not the ignore index)", INV,
      clnn_softmax_cross_entropy_ignore(ctx, x, neg, 2, -100, loss, y));
  ROW(clnn_softmax_cross_entropy_ignore, "num_labels != N", SHAPE, clnn_softmax_cross_entropy_ignore(ctx, x, ign, 1, -100, loss, y));
  ROW(clnn_softmax_cross_entropy_ignore, "loss of 2 elements", SHAPE,
      clnn_softmax_cross_entropy_ignore(ctx, x, ign, 2, -100, loss2, y));
  ROW(clnn_softmax_cross_entropy_ignore, "dlogits shape differs", SHAPE,
      clnn_softmax_cross_entropy_ignore(ctx, x, ign, 2, -100, loss, y5));
  ROW(clnn_softmax_cross_entropy_ignore, "logits from another context", CTXM,
      clnn_softmax_cross_entropy_ignore(ctx, ox, ign, 2, -100, loss, y));
  ROW(clnn_bce_with_logits, "targets NULL", INV, clnn_bce_with_logits(ctx, x, NULL, loss, y));
  ROW(clnn_bce_with_logits, "targets shape differs", SHAPE, clnn_bce_with_logits(ctx, x, y5, loss, y));
  ROW(clnn_bce_with_logits, "loss of 2 elements", SHAPE, clnn_bce_with_logits(ctx, x, dy, loss2, y));
  ROW(clnn_bce_with_logits, "ctx NULL", INV, clnn_bce_with_logits(NULL, x, dy, loss, y));
  ROW(clnn_mse_loss, "pred NULL", INV, clnn_mse_loss(ctx, NULL, dy, loss, y));
  ROW(clnn_mse_loss, "target shape differs", SHAPE, clnn_mse_loss(ctx, x, y5, loss, y));
  ROW(clnn_mse_loss, "target from another context", CTXM, clnn_mse_loss(ctx, x, ox, loss, y));

  ROW(clnn_dropout_forward, "ctx NULL", INV, clnn_dropout_forward(NULL, 0.5f, 1, 0, x, y));
  ROW(clnn_dropout_forward, "p = 1", INV, clnn_dropout_forward(ctx, 1.0f, 1, 0, x, y));
  ROW(clnn_dropout_forward, "p < 0", INV, clnn_dropout_forward(ctx, -0.1f, 1, 0, x, y));
  ROW(clnn_dropout_forward, "p NaN", INV, clnn_dropout_forward(ctx, NAN, 1, 0, x, y));
  ROW(clnn_dropout_forward, "shapes differ", SHAPE, clnn_dropout_forward(ctx, 0.5f, 1, 0, x, y5));
  ROW(clnn_dropout_forward, "x from another context", CTXM, clnn_dropout_forward(ctx, 0.5f, 1, 0, ox, y));
  ROW(clnn_dropout_backward, "beta NaN", INV, clnn_dropout_backward(ctx, 0.5f, 1, 0, dy, NAN, y));
  ROW(clnn_dropout_backward, "dx NULL", INV, clnn_dropout_backward(ctx, 0.5f, 1, 0, dy, 0, NULL));
  ROW(clnn_dropout_backward, "p = 1", INV, clnn_dropout_backward(ctx, 1.0f, 1, 0, dy, 0, y));
}

static void dense_conv_pool(void) {
  clnn_tensor *x = T(ctx, 2, 3), *w = T(ctx, 4, 3), *b = T(ctx, 4), *y = T(ctx, 2, 4), *b5 = T(ctx, 5);
  clnn_tensor *w5 = T(ctx, 4, 5), *y5 = T(ctx, 2, 5), *ow = T(other, 4, 3), *dx = T(ctx, 2, 3), *dw = T(ctx, 4, 3);
  ROW(clnn_dense_forward, "ctx NULL", INV, clnn_dense_forward(NULL, x, w, b, y));
  ROW(clnn_dense_forward, "w NULL", INV, clnn_dense_forward(ctx, x, NULL, b, y));
  ROW(clnn_dense_forward, "w's inputs differ from x's", SHAPE, clnn_dense_forward(ctx, x, w5, b, y));
  ROW(clnn_dense_forward, "bias length differs", SHAPE, clnn_dense_forward(ctx, x, w, b5, y));
  ROW(clnn_dense_forward, "y shape differs", SHAPE, clnn_dense_forward(ctx, x, w, b, y5));
  ROW(clnn_dense_forward, "w from another context", CTXM, clnn_dense_forward(ctx, x, ow, b, y));
  ROW(clnn_dense_backward_data, "dy NULL", INV, clnn_dense_backward_data(ctx, NULL, w, 0, dx));
  ROW(clnn_dense_backward_data, "dx shape differs", SHAPE, clnn_dense_backward_data(ctx, y, w, 0, y5));
  ROW(clnn_dense_backward_data, "beta NaN", INV, clnn_dense_backward_data(ctx, y, w, NAN, dx));
  ROW(clnn_dense_backward_weights, "x NULL", INV, clnn_dense_backward_weights(ctx, NULL, y, 0, dw, b));
  ROW(clnn_dense_backward_weights, "dw shape differs", SHAPE, clnn_dense_backward_weights(ctx, x, y, 0, w5, b));
  ROW(clnn_dense_backward_weights, "db length differs", SHAPE, clnn_dense_backward_weights(ctx, x, y, 0, dw, b5));
  ROW(clnn_dense_backward_weights, "dw from another context", CTXM,
      clnn_dense_backward_weights(ctx, x, y, 0, ow, b));

  clnn_conv2d_params p, bad;
  VROW(clnn_conv2d_params_init, "NULL", clnn_conv2d_params_init(NULL), 1);
  clnn_conv2d_params_init(&p);
  p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 1;
  size_t xd[4] = {1, 2, 4, 4}, wd[4] = {3, 2, 3, 3}, yd[4] = {7, 7, 7, 7}, wbig[4] = {3, 2, 9, 9};
  size_t wc[4] = {3, 3, 3, 3};
  clnn_tensor *cx = W(ctx, 4, xd), *cw = W(ctx, 4, wd), *cy = T(ctx, 1, 3, 4, 4), *cb = T(ctx, 3);
  clnn_tensor *cy2 = T(ctx, 1, 3, 5, 5), *cx3 = T(ctx, 2, 4, 4), *cwc = W(ctx, 4, wc), *ocw = W(other, 4, wd);
  size_t ws = 99;
  ROW(clnn_conv2d_output_dims, "x_dims NULL", INV, clnn_conv2d_output_dims(NULL, wd, &p, yd));
  ROW(clnn_conv2d_output_dims, "params NULL", INV, clnn_conv2d_output_dims(xd, wd, NULL, yd));
  ROW(clnn_conv2d_output_dims, "y_dims NULL", INV, clnn_conv2d_output_dims(xd, wd, &p, NULL));
  bad = p;
  bad.stride_h = 0;
  ROW(clnn_conv2d_output_dims, "stride 0", INV, clnn_conv2d_output_dims(xd, wd, &bad, yd));
  bad = p;
  bad.pad_left = -1;
  ROW(clnn_conv2d_output_dims, "negative padding", INV, clnn_conv2d_output_dims(xd, wd, &bad, yd));
  bad = p;
  bad.dilation_w = 0;
  ROW(clnn_conv2d_output_dims, "dilation 0", INV, clnn_conv2d_output_dims(xd, wd, &bad, yd));
  bad = p;
  bad.groups = 3;
  ROW(clnn_conv2d_output_dims, "groups does not divide C", INV, clnn_conv2d_output_dims(xd, wd, &bad, yd));
  ROW(clnn_conv2d_output_dims, "filter larger than the padded input", SHAPE,
      clnn_conv2d_output_dims(xd, wbig, &p, yd));
  ROW(clnn_conv2d_output_dims, "filter channels differ from x", SHAPE, clnn_conv2d_output_dims(xd, wc, &p, yd));
  TU_CHECK(yd[0] == 7 && yd[3] == 7, "clnn_conv2d_output_dims: y_dims untouched on failure");
  ROW(clnn_conv2d_workspace_size, "bytes NULL", INV,
      clnn_conv2d_workspace_size(ctx, &p, CLNN_CONV_ALGO_AUTO, xd, wd, NULL));
  ROW(clnn_conv2d_workspace_size, "algo 99", INV,
      clnn_conv2d_workspace_size(ctx, &p, (clnn_conv_algo)99, xd, wd, &ws));
  ROW(clnn_conv2d_workspace_size, "1x1 algorithm for a 3x3 filter", CLNN_ERROR_UNSUPPORTED,
      clnn_conv2d_workspace_size(ctx, &p, CLNN_CONV_ALGO_1X1_GEMM, xd, wd, &ws));
  ROW(clnn_conv2d_workspace_size, "params NULL", INV,
      clnn_conv2d_workspace_size(ctx, NULL, CLNN_CONV_ALGO_AUTO, xd, wd, &ws));
  TU_CHECK(ws == 99, "clnn_conv2d_workspace_size: *bytes untouched on failure");
  ROW(clnn_conv2d_forward, "ctx NULL", INV,
      clnn_conv2d_forward(NULL, &p, CLNN_CONV_ALGO_AUTO, cx, cw, cb, CLNN_ACT_IDENTITY, 0, cy));
  ROW(clnn_conv2d_forward, "params NULL", INV,
      clnn_conv2d_forward(ctx, NULL, CLNN_CONV_ALGO_AUTO, cx, cw, cb, CLNN_ACT_IDENTITY, 0, cy));
  ROW(clnn_conv2d_forward, "x 3-D", SHAPE,
      clnn_conv2d_forward(ctx, &p, CLNN_CONV_ALGO_AUTO, cx3, cw, cb, CLNN_ACT_IDENTITY, 0, cy));
  ROW(clnn_conv2d_forward, "w channels differ", SHAPE,
      clnn_conv2d_forward(ctx, &p, CLNN_CONV_ALGO_AUTO, cx, cwc, cb, CLNN_ACT_IDENTITY, 0, cy));
  ROW(clnn_conv2d_forward, "y shape differs", SHAPE,
      clnn_conv2d_forward(ctx, &p, CLNN_CONV_ALGO_AUTO, cx, cw, cb, CLNN_ACT_IDENTITY, 0, cy2));
  ROW(clnn_conv2d_forward, "bias length differs", SHAPE,
      clnn_conv2d_forward(ctx, &p, CLNN_CONV_ALGO_AUTO, cx, cw, b, CLNN_ACT_IDENTITY, 0, cy));
  ROW(clnn_conv2d_forward, "activation 42", INV,
      clnn_conv2d_forward(ctx, &p, CLNN_CONV_ALGO_AUTO, cx, cw, cb, (clnn_activation)42, 0, cy));
  ROW(clnn_conv2d_forward, "algo 99", INV,
      clnn_conv2d_forward(ctx, &p, (clnn_conv_algo)99, cx, cw, cb, CLNN_ACT_IDENTITY, 0, cy));
  ROW(clnn_conv2d_forward, "1x1 algorithm for a 3x3 filter", CLNN_ERROR_UNSUPPORTED,
      clnn_conv2d_forward(ctx, &p, CLNN_CONV_ALGO_1X1_GEMM, cx, cw, cb, CLNN_ACT_IDENTITY, 0, cy));
  ROW(clnn_conv2d_forward, "w from another context", CTXM,
      clnn_conv2d_forward(ctx, &p, CLNN_CONV_ALGO_AUTO, cx, ocw, cb, CLNN_ACT_IDENTITY, 0, cy));
  clnn_tensor *sq = T(ctx, 1, 3, 4, 4); /* x and y of the same shape: 3 -> 3 channels */
  ROW(clnn_conv2d_forward, "y is x (no in-place convolution)", INV,
      clnn_conv2d_forward(ctx, &p, CLNN_CONV_ALGO_AUTO, sq, cwc, cb, CLNN_ACT_IDENTITY, 0, sq));
  ROW(clnn_conv2d_backward_data, "dy NULL", INV,
      clnn_conv2d_backward_data(ctx, &p, CLNN_CONV_ALGO_AUTO, NULL, cw, 0, cx));
  ROW(clnn_conv2d_backward_data, "dx shape differs", SHAPE,
      clnn_conv2d_backward_data(ctx, &p, CLNN_CONV_ALGO_AUTO, cy, cw, 0, cy2));
  ROW(clnn_conv2d_backward_data, "beta NaN", INV,
      clnn_conv2d_backward_data(ctx, &p, CLNN_CONV_ALGO_AUTO, cy, cw, NAN, cx));
  ROW(clnn_conv2d_backward_filter, "dw shape differs", SHAPE,
      clnn_conv2d_backward_filter(ctx, &p, CLNN_CONV_ALGO_AUTO, cx, cy, 0, cwc));
  ROW(clnn_conv2d_backward_filter, "x NULL", INV,
      clnn_conv2d_backward_filter(ctx, &p, CLNN_CONV_ALGO_AUTO, NULL, cy, 0, cw));
  ROW(clnn_conv2d_backward_filter, "x from another context", CTXM,
      clnn_conv2d_backward_filter(ctx, &p, CLNN_CONV_ALGO_AUTO, T(other, 1, 2, 4, 4), cy, 0, cw));
  ROW(clnn_conv2d_backward_bias, "db NULL", INV, clnn_conv2d_backward_bias(ctx, cy, 0, NULL));
  ROW(clnn_conv2d_backward_bias, "db length differs", SHAPE, clnn_conv2d_backward_bias(ctx, cy, 0, b));
  ROW(clnn_conv2d_backward_bias, "dy 2-D", SHAPE, clnn_conv2d_backward_bias(ctx, x, 0, b));

  /* transposed: x [1, 3, 4, 4], w [3, 2, 3, 3] -> y [1, 2, 4, 4] with padding 1 */
  size_t txd[4] = {1, 3, 4, 4}, twd[4] = {3, 2, 3, 3}, tyd[4] = {5, 5, 5, 5};
  clnn_tensor *tx = W(ctx, 4, txd), *tw = W(ctx, 4, twd), *ty = T(ctx, 1, 2, 4, 4), *ty2 = T(ctx, 1, 2, 6, 6);
  ROW(clnn_conv_transpose2d_output_dims, "w_dims NULL", INV, clnn_conv_transpose2d_output_dims(txd, NULL, &p, tyd));
  bad = p;
  bad.stride_w = -2;
  ROW(clnn_conv_transpose2d_output_dims, "negative stride", INV,
      clnn_conv_transpose2d_output_dims(txd, twd, &bad, tyd));
  ROW(clnn_conv_transpose2d_output_dims, "w's input channels differ from x", SHAPE,
      clnn_conv_transpose2d_output_dims(xd, twd, &p, tyd));
  TU_CHECK(tyd[0] == 5, "clnn_conv_transpose2d_output_dims: y_dims untouched on failure");
  ROW(clnn_conv_transpose2d_forward, "params NULL", INV,
      clnn_conv_transpose2d_forward(ctx, NULL, CLNN_CONV_ALGO_AUTO, tx, tw, NULL, ty));
  ROW(clnn_conv_transpose2d_forward, "y shape differs", SHAPE,
      clnn_conv_transpose2d_forward(ctx, &p, CLNN_CONV_ALGO_AUTO, tx, tw, NULL, ty2));
  ROW(clnn_conv_transpose2d_forward, "bias length differs", SHAPE,
      clnn_conv_transpose2d_forward(ctx, &p, CLNN_CONV_ALGO_AUTO, tx, tw, cb, ty));
  ROW(clnn_conv_transpose2d_backward_data, "dx shape differs", SHAPE,
      clnn_conv_transpose2d_backward_data(ctx, &p, CLNN_CONV_ALGO_AUTO, ty, tw, 0, cx));
  ROW(clnn_conv_transpose2d_backward_data, "w NULL", INV,
      clnn_conv_transpose2d_backward_data(ctx, &p, CLNN_CONV_ALGO_AUTO, ty, NULL, 0, tx));
  ROW(clnn_conv_transpose2d_backward_filter, "dw shape differs", SHAPE,
      clnn_conv_transpose2d_backward_filter(ctx, &p, CLNN_CONV_ALGO_AUTO, tx, ty, 0, cwc));
  ROW(clnn_conv_transpose2d_backward_filter, "beta NaN", INV,
      clnn_conv_transpose2d_backward_filter(ctx, &p, CLNN_CONV_ALGO_AUTO, tx, ty, NAN, tw));

  clnn_pool2d_params pp, pb;
  VROW(clnn_pool2d_params_init, "NULL", clnn_pool2d_params_init(NULL, 2), 1);
  clnn_pool2d_params_init(&pp, 2);
  size_t pxd[4] = {1, 2, 4, 4}, pyd[4] = {9, 9, 9, 9};
  clnn_tensor *px = W(ctx, 4, pxd), *py = T(ctx, 1, 2, 2, 2), *py3 = T(ctx, 1, 2, 3, 3), *pdx = T(ctx, 1, 2, 4, 4);
  clnn_tensor *gy = T(ctx, 1, 2, 1, 1), *gy2 = T(ctx, 1, 3, 1, 1);
  ROW(clnn_pool2d_output_dims, "params NULL", INV, clnn_pool2d_output_dims(pxd, NULL, pyd));
  ROW(clnn_pool2d_output_dims, "x_dims NULL", INV, clnn_pool2d_output_dims(NULL, &pp, pyd));
  pb = pp;
  pb.kernel_h = 0;
  ROW(clnn_pool2d_output_dims, "kernel 0", INV, clnn_pool2d_output_dims(pxd, &pb, pyd));
  pb = pp;
  pb.stride_w = 0;
  ROW(clnn_pool2d_output_dims, "stride 0", INV, clnn_pool2d_output_dims(pxd, &pb, pyd));
  pb = pp;
  pb.pad_top = 2;
  ROW(clnn_pool2d_output_dims, "padding >= kernel", INV, clnn_pool2d_output_dims(pxd, &pb, pyd));
  pb = pp;
  pb.kernel_h = pb.kernel_w = 9;
  ROW(clnn_pool2d_output_dims, "window larger than the input", SHAPE, clnn_pool2d_output_dims(pxd, &pb, pyd));
  TU_CHECK(pyd[0] == 9, "clnn_pool2d_output_dims: y_dims untouched on failure");
  ROW(clnn_maxpool2d_forward, "ctx NULL", INV, clnn_maxpool2d_forward(NULL, &pp, px, py));
  ROW(clnn_maxpool2d_forward, "params NULL", INV, clnn_maxpool2d_forward(ctx, NULL, px, py));
  ROW(clnn_maxpool2d_forward, "y shape differs", SHAPE, clnn_maxpool2d_forward(ctx, &pp, px, py3));
  ROW(clnn_maxpool2d_forward, "x 2-D", SHAPE, clnn_maxpool2d_forward(ctx, &pp, x, py));
  ROW(clnn_maxpool2d_forward, "x from another context", CTXM,
      clnn_maxpool2d_forward(ctx, &pp, T(other, 1, 2, 4, 4), py));
  ROW(clnn_maxpool2d_backward, "x NULL (the maxima are recomputed)", INV,
      clnn_maxpool2d_backward(ctx, &pp, NULL, py, 0, pdx));
  ROW(clnn_maxpool2d_backward, "dx shape differs", SHAPE, clnn_maxpool2d_backward(ctx, &pp, px, py, 0, py3));
  ROW(clnn_maxpool2d_backward, "beta NaN", INV, clnn_maxpool2d_backward(ctx, &pp, px, py, NAN, pdx));
  clnn_tensor *pix = T(ctx, 1, 2, 2, 2);
  ROW(clnn_maxpool2d_forward_indices, "indices NULL", INV,
      clnn_maxpool2d_forward_indices(ctx, &pp, px, py, NULL));
  ROW(clnn_maxpool2d_forward_indices, "indices shape differs", SHAPE,
      clnn_maxpool2d_forward_indices(ctx, &pp, px, py, py3));
  ROW(clnn_maxpool2d_forward_indices, "indices is y", INV,
      clnn_maxpool2d_forward_indices(ctx, &pp, px, py, py));
  ROW(clnn_maxpool2d_forward_indices, "indices from another context", CTXM,
      clnn_maxpool2d_forward_indices(ctx, &pp, px, py, T(other, 1, 2, 2, 2)));
  ROW(clnn_maxpool2d_forward_indices, "params NULL", INV,
      clnn_maxpool2d_forward_indices(ctx, NULL, px, py, pix));
  ROW(clnn_maxpool2d_backward_indices, "indices NULL", INV,
      clnn_maxpool2d_backward_indices(ctx, &pp, NULL, py, 0, pdx));
  ROW(clnn_maxpool2d_backward_indices, "indices shape differs", SHAPE,
      clnn_maxpool2d_backward_indices(ctx, &pp, py3, py, 0, pdx));
  ROW(clnn_maxpool2d_backward_indices, "indices is dy", INV,
      clnn_maxpool2d_backward_indices(ctx, &pp, py, py, 0, pdx));
  ROW(clnn_maxpool2d_backward_indices, "dx shape differs", SHAPE,
      clnn_maxpool2d_backward_indices(ctx, &pp, pix, py, 0, py3));
  ROW(clnn_maxpool2d_backward_indices, "beta NaN", INV,
      clnn_maxpool2d_backward_indices(ctx, &pp, pix, py, NAN, pdx));
  ROW(clnn_avgpool2d_forward, "y NULL", INV, clnn_avgpool2d_forward(ctx, &pp, px, NULL));
  ROW(clnn_avgpool2d_forward, "y shape differs", SHAPE, clnn_avgpool2d_forward(ctx, &pp, px, py3));
  ROW(clnn_avgpool2d_backward, "dy shape differs", SHAPE, clnn_avgpool2d_backward(ctx, &pp, py3, 0, pdx));
  ROW(clnn_avgpool2d_backward, "beta infinite", INV, clnn_avgpool2d_backward(ctx, &pp, py, INFINITY, pdx));
  ROW(clnn_global_avgpool_forward, "y is [N, C+1, 1, 1]", SHAPE, clnn_global_avgpool_forward(ctx, px, gy2));
  ROW(clnn_global_avgpool_forward, "x NULL", INV, clnn_global_avgpool_forward(ctx, NULL, gy));
  ROW(clnn_global_avgpool_backward, "dx NULL", INV, clnn_global_avgpool_backward(ctx, gy, 0, NULL));
  ROW(clnn_global_avgpool_backward, "dy channels differ", SHAPE, clnn_global_avgpool_backward(ctx, gy2, 0, pdx));
  ROW(clnn_global_avgpool_backward, "beta NaN", INV, clnn_global_avgpool_backward(ctx, gy, NAN, pdx));
}

/* The rows of batch norm, the LSTM operators, the optimizers and gradient clipping
 * (batchnorm_lstm_optim()) live in tests/api_misuse_train.c, compiled as part of this file. */
#include "api_misuse_train.c"

/* The rows of embedding, layer norm, RMS norm and attention (sequence_ops()) live in
 * tests/api_misuse_seq.c, compiled as part of this file. */
#include "api_misuse_seq.c"

/* The rows of device sets, datasets and sequential networks (device_sets_datasets(), networks())
 * live in tests/api_misuse_nn.c, compiled as part of this file. */
#include "api_misuse_nn.c"

/* The graph builder's rows (graph_builder()) live in tests/api_misuse_graph.c, and the rows of
 * models (model_rows()) in tests/api_misuse_model.c, compiled as part of this file (they use the
 * table's macros and counters). */
#include "api_misuse_graph.c"
#include "api_misuse_model.c"
/* The LSTM's sequence options (operators and graph node): tests/api_misuse_lstm.c. */
#include "api_misuse_lstm.c"

/* The struct_size rows of the versioned public structs (struct_sizes()) live in
 * tests/api_misuse_structs.c, compiled as part of this file. */
#include "api_misuse_structs.c"

/* The GRU rows (gru_ops()) live in tests/api_misuse_gru.c, compiled as part of this file. */
#include "api_misuse_gru.c"

/* The one detectable use of a destroyed object: a context destroyed before its tensors. */
static clnn_tensor *orphan; /* reachable, never freed: its context is gone */
static void destroyed_objects(void) {
  clnn_context *c = NULL;
  TU_OK(clnn_context_create(NULL, &c));
  size_t d = 3;
  TU_OK(clnn_tensor_create(c, 1, &d, &orphan));
  log_hits = 0;
  clnn_set_log_callback(count_log, CLNN_LOG_WARN, NULL);
  VROW(clnn_context_destroy, "tensors still alive: a warning", clnn_context_destroy(c), log_hits == 1);
  clnn_set_log_callback(NULL, CLNN_LOG_ERROR, NULL);
}

/* Every function the public headers declare has at least one row. */
static void check_coverage(void) {
  static const char *const headers[] = {"clnn.h", "clnn_cl.h", "clnn_seq.h", "clnn_nn.h", "clnn_graph.h"};
  const char *src = getenv("CLNN_SOURCE_DIR");
  int declared = 0, missing = 0;
  for (size_t h = 0; h < sizeof headers / sizeof headers[0]; h++) {
    char path[1024];
    snprintf(path, sizeof path, "%s/include/%s", src ? src : "..", headers[h]);
    FILE *f = fopen(path, "r");
    TU_CHECK(f != NULL, "open %s", path);
    if (!f) continue;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
      /* declarations start in column 0; comments, macros and continuation lines do not */
      if (line[0] == ' ' || line[0] == '/' || line[0] == '#' || line[0] == '*' || line[0] == '}')
        continue;
      for (char *p = strstr(line, "clnn_"); p; p = strstr(p + 1, "clnn_")) {
        if (p > line && p[-1] != ' ' && p[-1] != '*') continue;
        size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_");
        if (p[n] != '(') continue;
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)n, p);
        declared++;
        int found = 0;
        for (int i = 0; i < num_covered && !found; i++) found = !strcmp(covered[i], name);
        if (!found) missing++;
        TU_CHECK(found, "%s is declared in include/%s but has no row in tests/test_api_misuse.c",
                 name, headers[h]);
        break;
      }
    }
    fclose(f);
  }
  TU_CHECK(declared >= 220, "found %d public functions in include/", declared);
  printf("api misuse: %d rows over %d of %d public functions (%d rows failed)\n", rows, declared - missing,
         declared, row_failures);
}

int main(void) {
  ctx = tu_context();
  clnn_context_options o;
  clnn_context_options_init(&o);
  TU_OK(clnn_context_create(&o, &other));
  status_devices_contexts();
  tensors();
  gemm_elementwise();
  softmax_losses_dropout();
  dense_conv_pool();
  batchnorm_lstm_optim();
  sequence_ops();
  gru_ops();
  device_sets_datasets();
  networks();
  graph_builder();
  model_rows();
  lstm_sequence_options();
  struct_sizes();
  destroyed_objects();
  check_coverage();
  for (int i = 0; i < num_watch; i++) {
    clnn_tensor_destroy(watch[i].t);
    free(watch[i].snap);
  }
  clnn_context_destroy(other);
  clnn_context_destroy(ctx);
  return tu_finish("test_api_misuse");
}
