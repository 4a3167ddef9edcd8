/* tests/test_oclgrind_kernels.c — runs every clnn kernel on tiny shapes, including edge shapes
 * (sizes of 1, sizes that are not a multiple of the work-group, odd strides, paddings, dilations
 * and groups, chunked convolution paths, beta 0 and 1), so that an OpenCL simulator can check
 * them. tools/test-hardening.sh runs it under Oclgrind (`oclgrind --data-races --check-api --log
 * FILE`: out-of-bounds accesses, data races, barrier divergence, API misuse) and fails if Oclgrind
 * reports anything; in plain ctest it runs on the real device as a quick check of the same calls.
 * Under either, the values are compared: both passes (below) run the same calls on the same data,
 * and every result of the CPU-class pass must match the GPU-class pass's within float rounding.
 *
 * Unwritten or wrongly read memory is caught on any device without the simulator: every output a
 * call writes starts as NaN and must come out finite (so an element left unwritten, or an output
 * read with beta 0, shows), and the context's workspaces start as NaN (so reading workspace memory
 * that was not written shows in the outputs). Oclgrind's own --uninitialized checker is not used:
 * Oclgrind 21.10's checker aborts on LLVM's `freeze` instruction (conv2d kernels), marks whole
 * vectors uninitialised when splat or shuffle vectors are built (false reports in the float8/16
 * row kernels) and keeps stale shadow state when a buffer slot is reused.
 *
 * The suite runs twice, once for each shape of code the kernels and operators have: with the
 * context's device class set to GPU (work-group reductions, local memory, one work-item per
 * element) and to CPU (row kernels, chunked work-items, clnn's own CPU GEMM in cl/gemm_cpu.cl with
 * small tiles from a CLNN_TUNE file). Every kernel launch goes through clnn__run, which logs
 * "launch <program>/<kernel> ..." at debug level; the test collects those lines through
 * clnn_set_log_callback and checks that every __kernel of every cl/<name>.cl program (the names the
 * OpenCL compiler reports, CL_PROGRAM_KERNEL_NAMES) was launched at least once.
 *
 * GEMMs on the GPU pass go to CLBlast, whose kernels Oclgrind also runs: the shapes that reach a
 * GEMM are kept tiny. $CLNN_TEST_SECTIONS (comma-separated) runs only some sections and
 * $CLNN_TEST_VERBOSE=1|2 prints progress (2: every launch, on stderr next to Oclgrind's reports). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <clblast_c.h> /* CLBlastClearCache, see the end of main */

#include "internal.h"
#include "test_util.h"

size_t clnn__conv2d_set_workspace_limit(size_t bytes); /* src/ops/conv2d.c, tests only */

/* ---- launched kernels, from the debug log ---- */

#define MAX_NAMES 256
static char launched[MAX_NAMES][96];
static int num_launched;
static long num_launches;

static void add_name(char names[][96], int *count, const char *name) {
  for (int i = 0; i < *count; i++)
    if (!strcmp(names[i], name)) return;
  if (*count < MAX_NAMES) snprintf(names[(*count)++], 96, "%s", name);
}

static int verbose; /* $CLNN_TEST_VERBOSE: 1 sections, 2 also every launch (on stderr) */

static void on_log(clnn_log_level level, const char *msg, void *user) {
  (void)user;
  if (level == CLNN_LOG_DEBUG && !strncmp(msg, "launch ", 7)) {
    char name[96];
    if (sscanf(msg + 7, "%95s", name) == 1) {
      add_name(launched, &num_launched, name);
      num_launches++;
      if (verbose >= 2) fprintf(stderr, "%s\n", msg); /* next to the simulator's reports */
    }
  } else if (level <= CLNN_LOG_WARN) {
    printf("log: %s\n", msg);
  }
}

/* ---- tensors ---- */

static int g_cases; /* operator calls made */

/* Tensors of the current section. Outputs (made by U) start as NaN and must come out finite: an
 * operator that leaves an element unwritten, or reads its output with beta 0, is caught on any
 * device. `call` is the operator call that wrote the output, for the message. */
#define POOL 64
static struct {
  clnn_tensor *t;
  int out; /* 1: an output (starts as NaN), 0: data, -1: scratch (not compared) */
  const char *call;
} pool[POOL];
static int npool;

static void name_outputs(const char *call) {
  for (int i = 0; i < npool; i++)
    if (pool[i].out && !pool[i].call) pool[i].call = call;
}
#define CASE(call)          \
  do {                      \
    g_cases++;              \
    TU_OK(call);            \
    name_outputs(#call);    \
  } while (0)

static clnn_tensor *keep(clnn_tensor *t, int out) {
  if (npool == POOL) {
    fprintf(stderr, "FAIL: tensor pool full\n");
    exit(1);
  }
  pool[npool].t = t;
  pool[npool].out = out;
  pool[npool].call = NULL;
  npool++;
  return t;
}

/* ---- values: the GPU-class pass against the CPU-class pass ----
 * Both passes start from the same seed and make the same calls on the same data, so every tensor
 * of a section (outputs, accumulated-into and in-place-updated ones; scratch excepted) and every
 * host result must agree between the two, computed by the two shapes of kernels (work-group
 * reductions and CLBlast against row kernels and clnn's own CPU GEMM). The first pass records,
 * the second compares (relative 2e-3, absolute 2e-4: the sums run in different orders). */
static int compare_pass; /* 0: record, 1: compare with the record */
static struct {
  float *v;
  size_t n;
} *record;
static size_t num_recorded, record_cap, record_next;

static void record_or_compare_tol(const float *h, size_t n, float atol, const char *what) {
  if (!compare_pass) {
    if (num_recorded == record_cap) {
      record_cap = record_cap ? 2 * record_cap : 256;
      record = realloc(record, record_cap * sizeof *record);
      if (!record) {
        fprintf(stderr, "FAIL: out of memory\n");
        exit(1);
      }
    }
    record[num_recorded].v = tu_fcopy(h, n);
    record[num_recorded++].n = n;
    return;
  }
  if (!TU_CHECK(record_next < num_recorded && record[record_next].n == n,
                "CPU-class pass: result %zu (%s) has no GPU-class counterpart of %zu elements", record_next, what, n))
    return;
  char label[200];
  snprintf(label, sizeof label, "CPU-class vs GPU-class result %zu, %s", record_next, what);
  tu_allclose(h, record[record_next++].v, n, 2e-3f, atol, label);
}
static void record_or_compare(const float *h, size_t n, const char *what) { record_or_compare_tol(h, n, 2e-4f, what); }

/* Checks the outputs, compares (or records) every non-scratch tensor, then destroys the section's
 * tensors. */
static void release_all(void) {
  for (int i = 0; i < npool; i++) {
    if (pool[i].out < 0) continue;
    size_t n = clnn_tensor_numel(pool[i].t), bad = 0;
    float *h = tu_read(pool[i].t);
    for (size_t k = 0; k < n && pool[i].out; k++) bad += !isfinite(h[k]);
    TU_CHECK(bad == 0, "%zu of %zu output elements not finite (unwritten?) after %s", bad, n,
             pool[i].call ? pool[i].call : "(no call)");
    record_or_compare(h, n, pool[i].call ? pool[i].call : "a tensor the section wrote or read");
    free(h);
  }
  for (int i = 0; i < npool; i++) clnn_tensor_destroy(pool[i].t);
  npool = 0;
}

/* kind 0: random data in [lo, hi); 1: an output, filled with NaN; 2: scratch, uninitialised. */
static clnn_tensor *mk(clnn_context *ctx, int kind, float lo, float hi, int ndim, const size_t *dims) {
  size_t n = 1;
  for (int i = 0; i < ndim; i++) n *= dims[i];
  float *h = NULL;
  if (kind == 0) {
    h = malloc(n * sizeof(float));
    tu_fill_uniform(h, n, lo, hi);
  }
  clnn_tensor *t = tu_tensor(ctx, ndim, dims, h);
  free(h);
  if (kind == 1) TU_OK(clnn_tensor_fill(t, NAN));
  return keep(t, kind == 1 ? 1 : kind == 2 ? -1 : 0);
}
#define NDIMS(...) (int)(sizeof((size_t[]){__VA_ARGS__}) / sizeof(size_t))
/* Random data in [-1, 1). */
#define R(ctx, ...) mk((ctx), 0, -1.f, 1.f, NDIMS(__VA_ARGS__), (size_t[]){__VA_ARGS__})
/* Positive random data in [0.5, 1.5) (variances, squared averages). */
#define RP(ctx, ...) mk((ctx), 0, .5f, 1.5f, NDIMS(__VA_ARGS__), (size_t[]){__VA_ARGS__})
/* An output: NaN until the operator writes every element (beta 0 must not read it). */
#define U(ctx, ...) mk((ctx), 1, 0.f, 0.f, NDIMS(__VA_ARGS__), (size_t[]){__VA_ARGS__})
/* Scratch the operator may leave partly unwritten (the LSTM reserve). */
#define S(ctx, ...) mk((ctx), 2, 0.f, 0.f, NDIMS(__VA_ARGS__), (size_t[]){__VA_ARGS__})
/* The same with a dims array. */
#define RD(ctx, nd, d) mk((ctx), 0, -1.f, 1.f, (nd), (d))
#define UD(ctx, nd, d) mk((ctx), 1, 0.f, 0.f, (nd), (d))

/* ---- sections ---- */

static void elementwise(clnn_context *ctx) {
  const size_t ns[] = {1, 7, 300};
  for (int i = 0; i < 3; i++) {
    size_t n = ns[i];
    clnn_tensor *a = R(ctx, n), *b = R(ctx, n);
    CASE(clnn_add(ctx, a, b, U(ctx, n)));
    CASE(clnn_mul(ctx, a, b, U(ctx, n)));
    CASE(clnn_add(ctx, a, b, a)); /* in place */
    CASE(clnn_scale(ctx, 0.5f, a));
    CASE(clnn_axpy(ctx, 2.0f, a, b));
  }
  CASE(clnn_bias_add(ctx, R(ctx, 1), R(ctx, 1, 1)));
  CASE(clnn_bias_add(ctx, R(ctx, 3), R(ctx, 2, 3)));
  CASE(clnn_bias_add(ctx, R(ctx, 3), R(ctx, 2, 3, 5, 7)));
  CASE(clnn_bias_add(ctx, R(ctx, 5), R(ctx, 1, 5, 1, 3, 2)));
  release_all();
}

/* cl/shape.cl: permutes (1-D, 3-D, 5-D with a size-1 dim), box copies at the edges, the product
 * and broadcast with beta 0 and 1, sums of 1 and of more elements than one chunk. */
static void shape(clnn_context *ctx) {
  const int p1[1] = {0}, p3[3] = {2, 0, 1}, p5[5] = {4, 2, 0, 3, 1};
  CASE(clnn_permute(ctx, p1, 1.0f, R(ctx, 7), 0.0f, U(ctx, 7)));
  CASE(clnn_permute(ctx, p3, 0.5f, R(ctx, 3, 5, 7), 0.0f, U(ctx, 7, 3, 5)));
  CASE(clnn_permute(ctx, p3, 0.5f, R(ctx, 3, 5, 7), 1.0f, R(ctx, 7, 3, 5)));
  CASE(clnn_permute(ctx, p5, 1.0f, R(ctx, 2, 3, 1, 4, 5), 0.0f, U(ctx, 5, 1, 2, 4, 3)));
  size_t sz[3] = {2, 3, 5}, s0[3] = {1, 2, 0}, d0[3] = {0, 0, 2}, all[3] = {2, 3, 7}, z[3] = {0};
  clnn_tensor *dst = U(ctx, 2, 3, 7);
  CASE(clnn_copy_region(ctx, 3, all, 1.0f, R(ctx, 2, 3, 7), z, 0.0f, dst, z));
  CASE(clnn_copy_region(ctx, 3, sz, 2.0f, R(ctx, 3, 5, 5), s0, 1.0f, dst, d0));
  const size_t ns[] = {1, 7, 300};
  for (int i = 0; i < 3; i++) {
    size_t n = ns[i];
    clnn_tensor *a = R(ctx, n), *b = R(ctx, n), *one = U(ctx, 1);
    CASE(clnn_mul_acc(ctx, a, b, 0.0f, U(ctx, n)));
    CASE(clnn_mul_acc(ctx, a, b, 1.0f, a)); /* y is a */
    CASE(clnn_reduce_sum(ctx, 0.5f, a, 0.0f, one));
    CASE(clnn_reduce_sum(ctx, 1.0f, b, 1.0f, one));
    CASE(clnn_broadcast_scalar(ctx, 2.0f, one, 0.0f, U(ctx, n)));
    CASE(clnn_broadcast_scalar(ctx, 1.0f, one, 1.0f, b));
  }
  CASE(clnn_reduce_sum(ctx, 1.0f, R(ctx, 5000), 0.0f, U(ctx, 1))); /* two chunks on CPU */
  release_all();
}

static void activation(clnn_context *ctx) {
  const size_t ns[] = {1, 300};
  for (int act = 0; act < CLNN_ACT_ID_COUNT; act++)
    for (int i = 0; i < 2; i++) {
      size_t n = ns[i];
      clnn_tensor *x = R(ctx, n), *y = U(ctx, n), *dy = R(ctx, n);
      CASE(clnn_activation_forward(ctx, (clnn_activation)act, 0.1f, x, y));
      CASE(clnn_activation_backward(ctx, (clnn_activation)act, 0.1f, x, y, dy, 0.0f, U(ctx, n)));
      CASE(clnn_activation_backward(ctx, (clnn_activation)act, 0.1f, x, NULL, dy, 1.0f, R(ctx, n)));
      if (act != CLNN_ACT_GELU && act != CLNN_ACT_SOFTPLUS)
        CASE(clnn_activation_backward(ctx, (clnn_activation)act, 0.1f, NULL, y, dy, 0.0f, U(ctx, n)));
      clnn_tensor *z = R(ctx, 3, 7);
      CASE(clnn_activation_forward(ctx, (clnn_activation)act, 0.1f, z, z)); /* in place */
      release_all();
    }
}

static void softmax_losses(clnn_context *ctx) {
  /* C = 300 and 17 end in a partial vector (the CPU kernels' overlapping last vector), C = 32 does
   * not; several rows make several work-groups (cross-entropy's last-group-finishes sum) */
  const size_t shapes[][2] = {{1, 1}, {3, 5}, {2, 300}, {3, 32}, {3, 17}};
  for (int i = 0; i < 5; i++) {
    size_t n = shapes[i][0], c = shapes[i][1];
    clnn_tensor *x = R(ctx, n, c), *y = U(ctx, n, c), *dy = R(ctx, n, c);
    CASE(clnn_softmax_forward(ctx, x, y));
    CASE(clnn_softmax_backward(ctx, y, dy, 0.0f, U(ctx, n, c)));
    CASE(clnn_softmax_backward(ctx, y, dy, 1.0f, R(ctx, n, c)));
    clnn_tensor *ly = U(ctx, n, c);
    CASE(clnn_log_softmax_forward(ctx, x, ly));
    CASE(clnn_log_softmax_backward(ctx, ly, dy, 0.0f, U(ctx, n, c)));
    CASE(clnn_log_softmax_backward(ctx, ly, dy, 1.0f, R(ctx, n, c)));

    int32_t labels[3];
    for (size_t k = 0; k < n; k++) labels[k] = (int32_t)((k * 7 + 3) % c);
    CASE(clnn_softmax_cross_entropy(ctx, x, labels, n, U(ctx, 1), U(ctx, n, c)));
    CASE(clnn_softmax_cross_entropy(ctx, x, labels, n, U(ctx, 1), NULL));
    CASE(clnn_softmax_cross_entropy(ctx, x, labels, n, NULL, U(ctx, n, c)));
    clnn_tensor *t = mk(ctx, 0, 0.f, 1.f, 2, (size_t[]){n, c});
    CASE(clnn_bce_with_logits(ctx, x, t, U(ctx, 1), U(ctx, n, c)));
    CASE(clnn_bce_with_logits(ctx, x, t, U(ctx, 1), NULL));
    CASE(clnn_mse_loss(ctx, x, t, U(ctx, 1), U(ctx, n, c)));
    CASE(clnn_mse_loss(ctx, x, t, NULL, U(ctx, n, c)));
    release_all();
  }
  clnn_tensor *x3 = R(ctx, 2, 3, 5);
  CASE(clnn_softmax_forward(ctx, x3, U(ctx, 2, 3, 5)));
  release_all();
}

static void dropout(clnn_context *ctx) {
  const size_t ns[] = {1, 7, 300};
  for (int i = 0; i < 3; i++) {
    size_t n = ns[i];
    clnn_tensor *x = R(ctx, n);
    CASE(clnn_dropout_forward(ctx, 0.5f, 42, 3, x, U(ctx, n)));
    CASE(clnn_dropout_backward(ctx, 0.5f, 42, 3, x, 0.0f, U(ctx, n)));
    CASE(clnn_dropout_backward(ctx, 0.25f, 7, 0, x, 1.0f, R(ctx, n)));
    CASE(clnn_dropout_forward(ctx, 0.0f, 42, 3, x, U(ctx, n)));
  }
  release_all();
}

static void dense(clnn_context *ctx) {
  const size_t shapes[][3] = {{1, 1, 1}, {3, 5, 4}, {2, 6, 33}}; /* N, I, O */
  for (int i = 0; i < 3; i++) {
    size_t n = shapes[i][0], in = shapes[i][1], out = shapes[i][2];
    clnn_tensor *x = R(ctx, n, in), *w = R(ctx, out, in), *b = R(ctx, out), *dy = R(ctx, n, out);
    CASE(clnn_dense_forward(ctx, x, w, b, U(ctx, n, out)));
    CASE(clnn_dense_forward(ctx, x, w, NULL, U(ctx, n, out)));
    CASE(clnn_dense_backward_data(ctx, dy, w, 0.0f, U(ctx, n, in)));
    CASE(clnn_dense_backward_data(ctx, dy, w, 1.0f, R(ctx, n, in)));
    CASE(clnn_dense_backward_weights(ctx, x, dy, 0.0f, U(ctx, out, in), U(ctx, out)));
    CASE(clnn_dense_backward_weights(ctx, x, dy, 1.0f, R(ctx, out, in), R(ctx, out)));
    CASE(clnn_dense_backward_weights(ctx, x, dy, 0.0f, U(ctx, out, in), NULL));
    release_all();
  }
}

static void gemm(clnn_context *ctx) {
  const size_t shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {9, 2, 4}, {2, 9, 4}, {13, 11, 3}, {5, 17, 2}};
  for (int i = 0; i < 6; i++)
    for (int t = 0; t < 4; t++) {
      size_t m = shapes[i][0], n = shapes[i][1], k = shapes[i][2];
      int ta = t & 1, tb = t >> 1;
      clnn_tensor *a = ta ? R(ctx, k, m) : R(ctx, m, k), *b = tb ? R(ctx, n, k) : R(ctx, k, n);
      CASE(clnn_gemm(ctx, ta, tb, 1.5f, a, b, 0.0f, U(ctx, m, n)));
      CASE(clnn_gemm(ctx, ta, tb, 1.0f, a, b, 0.5f, R(ctx, m, n)));
      if (i == 1 || i == 4) {
        clnn_tensor *ba = ta ? R(ctx, 2, k, m) : R(ctx, 2, m, k), *bb = tb ? R(ctx, 2, n, k) : R(ctx, 2, k, n);
        CASE(clnn_gemm_batched(ctx, ta, tb, 1.0f, ba, bb, 0.0f, U(ctx, 2, m, n)));
      }
      release_all();
    }
}

static clnn_context *class_context(int device_class);

/* clnn's CPU GEMM with 16-column panels (16-float vectors, one per row, every operand packed), so
 * that packing a transposed operand takes its 16 x 16 register transpose: reductions long enough
 * for whole blocks of 16 k (33, 48), and a 1x1 filter gradient over two images (a reduction in
 * segments of 25, whose blocks straddle segments). A context of the pass's class with that tuned
 * file; the GPU-class pass makes the same calls through CLBlast. */
static void gemm16(clnn_context *ctx) {
  char file[] = "/tmp/clnn-oclgrind-tune16-XXXXXX";
  const char *text = "gemm.own = 1\ngemm.vw = 16\ngemm.nv = 1\ngemm.mr = 2\ngemm.mr_n = 3\ngemm.pack_min = 0\n"
                     "gemm.pack_min_k = 0\n";
  int fd = mkstemp(file);
  int ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);
  if (fd >= 0) close(fd);
  if (!TU_CHECK(ok, "gemm16: cannot write a tuned file")) return;
  char *old = getenv("CLNN_TUNE") ? strdup(getenv("CLNN_TUNE")) : NULL;
  setenv("CLNN_TUNE", file, 1);
  clnn_context *c16 = class_context(ctx->device_class);
  if (old) setenv("CLNN_TUNE", old, 1);
  else unsetenv("CLNN_TUNE");
  free(old);
  remove(file);
  const size_t shapes[][3] = {{5, 17, 33}, {18, 3, 48}}; /* m, n, k */
  for (int i = 0; i < 2; i++)
    for (int t = 0; t < 4; t++) {
      size_t m = shapes[i][0], n = shapes[i][1], k = shapes[i][2];
      int ta = t & 1, tb = t >> 1;
      clnn_tensor *a = ta ? R(c16, k, m) : R(c16, m, k), *b = tb ? R(c16, n, k) : R(c16, k, n);
      CASE(clnn_gemm(c16, ta, tb, 1.0f, a, b, 0.0f, U(c16, m, n)));
      release_all();
    }
  clnn_conv2d_params p;
  clnn_conv2d_params_init(&p);
  clnn_tensor *x = R(c16, 2, 17, 5, 5), *dy = R(c16, 2, 5, 5, 5);
  CASE(clnn_conv2d_backward_filter(c16, &p, CLNN_CONV_ALGO_1X1_GEMM, x, dy, 0.0f, U(c16, 5, 17, 1, 1)));
  release_all();
  clnn_context_destroy(c16);
}

typedef struct conv_case {
  size_t x[4], w[4];
  clnn_conv2d_params p;
} conv_case;

static void conv_one(clnn_context *ctx, const conv_case *cc, clnn_conv_algo algo, int transposed) {
  size_t yd[4];
  clnn_status s = transposed ? clnn_conv_transpose2d_output_dims(cc->x, cc->w, &cc->p, yd)
                             : clnn_conv2d_output_dims(cc->x, cc->w, &cc->p, yd);
  TU_OK(s);
  if (s != CLNN_SUCCESS) return;
  /* WINOGRAD's band (row stride 2, 5 to 8 filter rows; forward only) is the CPU class's only:
   * the GPU-class pass runs im2col's forward for it, so both make the same calls on the same data */
  const clnn_conv2d_params *cp = &cc->p;
  const int wino_band = !transposed && algo == CLNN_CONV_ALGO_WINOGRAD && cp->stride_h == 2 &&
                        cp->dilation_h == 1 && cp->groups == 1 && cc->w[2] >= 5 && cc->w[2] <= 8 && cc->w[3] <= 16;
  if (!transposed) {
    size_t ws = 0;
    if (clnn_conv2d_workspace_size(ctx, &cc->p, algo, cc->x, cc->w, &ws) == CLNN_ERROR_UNSUPPORTED) {
      if (!wino_band) return;
      algo = CLNN_CONV_ALGO_IM2COL_GEMM;
    }
  } else if (algo == CLNN_CONV_ALGO_1X1_GEMM) {
    const clnn_conv2d_params *p = &cc->p;
    if (cc->w[2] != 1 || cc->w[3] != 1 || p->stride_h != 1 || p->stride_w != 1 || p->pad_top || p->pad_bottom ||
        p->pad_left || p->pad_right || p->groups != 1)
      return; /* the 1x1 algorithm does not apply */
  }
  clnn_tensor *x = RD(ctx, 4, cc->x), *w = RD(ctx, 4, cc->w);
  clnn_tensor *dy = RD(ctx, 4, yd);
  size_t K = yd[1];
  clnn_tensor *bias = R(ctx, K);
  if (algo == CLNN_CONV_ALGO_IMPLICIT_GEMM || wino_band) {
    /* forward only (the backward passes are other algorithms'): plain, fused, and with beta 0
     * and 1 through the transposed backward-data */
    if (!transposed) {
      CASE(clnn_conv2d_forward(ctx, &cc->p, algo, x, w, NULL, CLNN_ACT_IDENTITY, 0, UD(ctx, 4, yd)));
      CASE(clnn_conv2d_forward(ctx, &cc->p, algo, x, w, bias, CLNN_ACT_RELU, 0, UD(ctx, 4, yd)));
    } else {
      CASE(clnn_conv_transpose2d_backward_data(ctx, &cc->p, algo, dy, w, 0.0f, UD(ctx, 4, cc->x)));
      CASE(clnn_conv_transpose2d_backward_data(ctx, &cc->p, algo, dy, w, 1.0f, RD(ctx, 4, cc->x)));
    }
  } else if (!transposed) {
    CASE(clnn_conv2d_forward(ctx, &cc->p, algo, x, w, NULL, CLNN_ACT_IDENTITY, 0, UD(ctx, 4, yd)));
    CASE(clnn_conv2d_forward(ctx, &cc->p, algo, x, w, bias, CLNN_ACT_LEAKY_RELU, 0.1f, UD(ctx, 4, yd)));
    CASE(clnn_conv2d_backward_data(ctx, &cc->p, algo, dy, w, 0.0f, UD(ctx, 4, cc->x)));
    CASE(clnn_conv2d_backward_data(ctx, &cc->p, algo, dy, w, 1.0f, RD(ctx, 4, cc->x)));
    CASE(clnn_conv2d_backward_filter(ctx, &cc->p, algo, x, dy, 0.0f, UD(ctx, 4, cc->w)));
    CASE(clnn_conv2d_backward_filter(ctx, &cc->p, algo, x, dy, 1.0f, RD(ctx, 4, cc->w)));
    CASE(clnn_conv2d_backward_bias(ctx, dy, 0.0f, U(ctx, K)));
    CASE(clnn_conv2d_backward_bias(ctx, dy, 1.0f, R(ctx, K)));
  } else {
    CASE(clnn_conv_transpose2d_forward(ctx, &cc->p, algo, x, w, bias, UD(ctx, 4, yd)));
    CASE(clnn_conv_transpose2d_forward(ctx, &cc->p, algo, x, w, NULL, UD(ctx, 4, yd)));
    CASE(clnn_conv_transpose2d_backward_data(ctx, &cc->p, algo, dy, w, 0.0f, UD(ctx, 4, cc->x)));
    CASE(clnn_conv_transpose2d_backward_filter(ctx, &cc->p, algo, x, dy, 0.0f, UD(ctx, 4, cc->w)));
    CASE(clnn_conv_transpose2d_backward_filter(ctx, &cc->p, algo, x, dy, 1.0f, RD(ctx, 4, cc->w)));
  }
  release_all();
}

static conv_case conv_mk(size_t n, size_t c, size_t h, size_t w, size_t k, size_t cg, size_t r, size_t s) {
  conv_case cc;
  memset(&cc, 0, sizeof cc);
  size_t x[4] = {n, c, h, w}, wd[4] = {k, cg, r, s};
  memcpy(cc.x, x, sizeof x);
  memcpy(cc.w, wd, sizeof wd);
  clnn_conv2d_params_init(&cc.p);
  return cc;
}

static void conv(clnn_context *ctx) {
  conv_case cases[12];
  int nc = 0;
  cases[nc++] = conv_mk(1, 1, 1, 1, 1, 1, 1, 1);             /* everything 1 */
  conv_case c1 = conv_mk(2, 3, 5, 7, 4, 3, 3, 3);            /* 3x3, pad 1 */
  c1.p.pad_top = c1.p.pad_bottom = c1.p.pad_left = c1.p.pad_right = 1;
  cases[nc++] = c1;
  conv_case c2 = conv_mk(2, 4, 6, 5, 4, 2, 3, 2);            /* groups, stride, uneven pads, dilation */
  c2.p.groups = 2;
  c2.p.stride_h = 2;
  c2.p.pad_top = 1;
  c2.p.pad_bottom = 2;
  c2.p.pad_right = 1;
  c2.p.dilation_w = 2;
  cases[nc++] = c2;
  conv_case c3 = conv_mk(1, 3, 4, 4, 3, 1, 3, 3);            /* depthwise */
  c3.p.groups = 3;
  c3.p.pad_top = c3.p.pad_bottom = c3.p.pad_left = c3.p.pad_right = 1;
  cases[nc++] = c3;
  cases[nc++] = conv_mk(3, 3, 4, 5, 6, 3, 1, 1);             /* 1x1 */
  conv_case c5 = conv_mk(2, 2, 3, 9, 3, 2, 2, 3);            /* stride 3 along W, one output row */
  c5.p.stride_w = 3;
  c5.p.stride_h = 2;
  cases[nc++] = c5;
  /* depthwise rows wide enough for the CPU kernels' 16-wide chunks, with a partial last chunk
   * (19 interior columns), at stride 1 and 2 */
  conv_case c6 = conv_mk(1, 2, 3, 21, 2, 1, 3, 3);
  c6.p.groups = 2;
  c6.p.pad_top = c6.p.pad_bottom = c6.p.pad_left = c6.p.pad_right = 1;
  cases[nc++] = c6;
  conv_case c7 = c6;
  c7.x[3] = 41;
  c7.p.stride_w = 2;
  cases[nc++] = c7;
  /* one input channel, same-size output: the kernels of cl/conv2d_direct.cl for one input
   * channel per group (and of cl/conv2d_direct_general.cl for the rest) (forward in blocks of 16 output channels with unrolled 5x5 / 3x3 taps, a
   * partial last block; backward-filter walking the rows with masked loads, the first and last
   * planes of the buffers through per-lane gathers), backward-data as a
   * flipped forward with one output channel and generic taps; c1 reaches the 8-channel forward,
   * c3 and c6 the banded depthwise forward and backward-data (rows narrower and wider than 16) */
  conv_case c8 = conv_mk(2, 1, 6, 5, 17, 1, 5, 5);
  c8.p.pad_top = c8.p.pad_bottom = c8.p.pad_left = c8.p.pad_right = 2;
  cases[nc++] = c8;
  conv_case c9 = conv_mk(1, 1, 4, 18, 10, 1, 3, 3);
  c9.p.pad_top = c9.p.pad_bottom = c9.p.pad_left = c9.p.pad_right = 1;
  cases[nc++] = c9;
  /* several input channels, stride 2 (an RGB stem): the band forward of cl/conv2d_direct_general.cl
   * (column phases in local memory, a partial block of 16 output channels, a partial last run
   * of 16 output columns); c2 and c5 reach it too (groups, dilation, stride 3) */
  conv_case c10 = conv_mk(2, 3, 9, 37, 17, 3, 7, 7);
  c10.p.stride_h = c10.p.stride_w = 2;
  c10.p.pad_top = c10.p.pad_bottom = c10.p.pad_left = c10.p.pad_right = 3;
  cases[nc++] = c10;
  /* a 1x1 filter at stride 2 with rows of 32+ columns: col2im's one-tap rows (odd padding: the
   * entries in the odd lanes; the last chunk moved left onto an even column) */
  conv_case c11 = conv_mk(1, 2, 3, 67, 3, 2, 1, 1);
  c11.p.stride_h = c11.p.stride_w = 2;
  c11.p.pad_top = c11.p.pad_left = 1;
  cases[nc++] = c11;
  /* WINOGRAD (last) where it applies (3x3, stride 1: c1, c9; on the CPU class c10's forward, a
   * 7x7 stride-2 stem, runs the Winograd band; the others are refused and skipped) */
  const clnn_conv_algo algos[] = {CLNN_CONV_ALGO_IM2COL_GEMM, CLNN_CONV_ALGO_1X1_GEMM, CLNN_CONV_ALGO_DIRECT,
                                   CLNN_CONV_ALGO_IMPLICIT_GEMM, CLNN_CONV_ALGO_WINOGRAD};
  for (int i = 0; i < nc; i++)
    for (int a = 0; a < 5; a++) conv_one(ctx, &cases[i], algos[a], 0);

  /* chunked im2col paths: images side by side, then slices of one image's pixels */
  size_t old = clnn__conv2d_set_workspace_limit(2 * 18 * 25 * sizeof(float));
  conv_one(ctx, &cases[1], CLNN_CONV_ALGO_IM2COL_GEMM, 0);
  clnn__conv2d_set_workspace_limit(7 * 27 * sizeof(float));
  conv_one(ctx, &cases[1], CLNN_CONV_ALGO_IM2COL_GEMM, 0);
  clnn__conv2d_set_workspace_limit(3 * 7 * sizeof(float));
  conv_one(ctx, &cases[4], CLNN_CONV_ALGO_1X1_GEMM, 0);
  conv_case c12 = c11; /* one-tap rows, even padding, in slices of 40 pixels (mid-row) */
  c12.p.pad_top = c12.p.pad_left = 0;
  clnn__conv2d_set_workspace_limit(40 * (2 + 3) * sizeof(float));
  conv_one(ctx, &c12, CLNN_CONV_ALGO_IM2COL_GEMM, 0);
  /* the band kernels with bands of several output rows (32 rows an image: bands of 2+ rows on
   * up to 4 compute units) and a partial block of 9 output channels */
  conv_case c13 = c10;
  c13.x[2] = 63;
  c13.x[3] = 17;
  c13.w[0] = 9;
  conv_one(ctx, &c13, CLNN_CONV_ALGO_DIRECT, 0);
  /* Winograd in chunks of one tile (36 * (3 + 4) floats), less than a tile row: the one-tile
   * transform kernels on the CPU class too */
  clnn__conv2d_set_workspace_limit(36 * 7 * sizeof(float));
  conv_one(ctx, &cases[1], CLNN_CONV_ALGO_WINOGRAD, 0);
  clnn__conv2d_set_workspace_limit(old);
  /* the Winograd band with bands of 2+ tile rows (after the limit: the GPU-class pass runs
   * im2col's forward instead) */
  conv_one(ctx, &c13, CLNN_CONV_ALGO_WINOGRAD, 0);

  /* transposed: x [N, C, H, W], w [C, K/groups, R, S] */
  conv_case t1 = conv_mk(2, 3, 3, 4, 3, 2, 3, 3);
  t1.p.stride_h = t1.p.stride_w = 2;
  t1.p.pad_top = t1.p.pad_bottom = t1.p.pad_left = t1.p.pad_right = 1;
  conv_case t2 = conv_mk(1, 1, 1, 1, 1, 1, 1, 1);
  for (int a = 0; a < 4; a++) {
    conv_one(ctx, &t1, algos[a], 1);
    conv_one(ctx, &t2, algos[a], 1);
  }
}

static void pooling(clnn_context *ctx) {
  typedef struct { size_t x[4]; int kh, kw, sh, sw, pt, pb, pl, pr, cip; } pc;
  const pc cases[] = {
      {{1, 1, 1, 1}, 1, 1, 1, 1, 0, 0, 0, 0, 0},
      {{2, 3, 5, 7}, 2, 2, 2, 2, 0, 0, 0, 0, 0},
      {{2, 3, 5, 7}, 3, 3, 2, 2, 1, 1, 1, 1, 0},
      {{1, 2, 5, 6}, 3, 2, 1, 2, 1, 2, 0, 1, 1},
      {{1, 1, 9, 3}, 4, 1, 3, 1, 3, 0, 0, 0, 1},
      {{1, 2, 5, 45}, 2, 2, 2, 2, 0, 0, 0, 0, 1}, /* avg backward's non-overlapping 16/8/4 path */
      {{1, 1, 2, 37}, 1, 1, 1, 1, 0, 0, 0, 0, 0},
      {{1, 4, 4, 40}, 3, 3, 2, 2, 1, 1, 1, 1, 0}, /* max forward/backward 3-wide stride-2 paths */
      {{1, 2, 4, 20}, 2, 2, 2, 2, 0, 0, 1, 1, 1}, /* avg forward's 2-wide stride-2 8-lane chunks */
      {{1, 2, 4, 28}, 2, 2, 2, 2, 0, 0, 0, 0, 0}, /* max forwards' 2x2/2 rows: 8-window chunks */
      {{1, 2, 3, 9}, 2, 2, 2, 2, 0, 1, 0, 1, 0},  /* 4-window chunk, the edge window by hand */
      {{1, 5, 4, 14}, 2, 2, 2, 2, 0, 0, 0, 0, 0}, /* max backward's 2x2/2 gather, overlapping chunk */
      {{1, 5, 5, 7}, 2, 2, 2, 2, 0, 0, 0, 0, 0},  /* max backward's scatter, runs of odd planes */
      {{1, 5, 2, 40}, 2, 2, 2, 2, 0, 0, 0, 0, 0}, /* recompute gather: 16 columns, overlapping */
      {{1, 5, 6, 8}, 2, 2, 2, 2, 0, 0, 0, 0, 0},  /* recompute gather: rows of 8 in pairs, odd */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const pc *c = &cases[i];
    clnn_pool2d_params p;
    clnn_pool2d_params_init(&p, 1);
    p.kernel_h = c->kh;
    p.kernel_w = c->kw;
    p.stride_h = c->sh;
    p.stride_w = c->sw;
    p.pad_top = c->pt;
    p.pad_bottom = c->pb;
    p.pad_left = c->pl;
    p.pad_right = c->pr;
    p.count_include_pad = c->cip;
    size_t yd[4];
    TU_OK(clnn_pool2d_output_dims(c->x, &p, yd));
    clnn_tensor *x = RD(ctx, 4, c->x), *dy = RD(ctx, 4, yd);
    CASE(clnn_maxpool2d_forward(ctx, &p, x, UD(ctx, 4, yd)));
    CASE(clnn_maxpool2d_backward(ctx, &p, x, dy, 0.0f, UD(ctx, 4, c->x)));
    CASE(clnn_maxpool2d_backward(ctx, &p, x, dy, 1.0f, RD(ctx, 4, c->x)));
    clnn_tensor *idx = UD(ctx, 4, yd); /* int32 bits: small indices read as finite denormals */
    CASE(clnn_maxpool2d_forward_indices(ctx, &p, x, UD(ctx, 4, yd), idx));
    CASE(clnn_maxpool2d_backward_indices(ctx, &p, idx, dy, 0.0f, UD(ctx, 4, c->x)));
    CASE(clnn_maxpool2d_backward_indices(ctx, &p, idx, dy, 1.0f, RD(ctx, 4, c->x)));
    CASE(clnn_avgpool2d_forward(ctx, &p, x, UD(ctx, 4, yd)));
    CASE(clnn_avgpool2d_backward(ctx, &p, dy, 0.0f, UD(ctx, 4, c->x)));
    CASE(clnn_avgpool2d_backward(ctx, &p, dy, 1.0f, RD(ctx, 4, c->x)));
    release_all();
  }
  const size_t gshapes[][4] = {{1, 1, 1, 1}, {2, 3, 5, 7}, {1, 2, 17, 16}};
  for (int i = 0; i < 3; i++) {
    const size_t *d = gshapes[i];
    clnn_tensor *x = RD(ctx, 4, d), *dy = R(ctx, d[0], d[1], 1, 1);
    CASE(clnn_global_avgpool_forward(ctx, x, U(ctx, d[0], d[1], 1, 1)));
    CASE(clnn_global_avgpool_backward(ctx, dy, 0.0f, UD(ctx, 4, d)));
    CASE(clnn_global_avgpool_backward(ctx, dy, 1.0f, RD(ctx, 4, d)));
    release_all();
  }
}

static void batchnorm(clnn_context *ctx) {
  const size_t shapes[][4] = {{3, 2, 1, 1}, {2, 3, 4, 5}, {1, 1, 1, 17}, {2, 37, 1, 1}, {1, 2, 19, 15}};
  const int ndims[] = {2, 4, 4, 2, 4};
  for (int i = 0; i < 5; i++) {
    int nd = ndims[i];
    const size_t *d = shapes[i];
    size_t C = d[1];
    clnn_tensor *x = RD(ctx, nd, d), *scale = R(ctx, C), *shift = R(ctx, C);
    clnn_tensor *rm = R(ctx, C), *rv = RP(ctx, C), *sm = U(ctx, C), *si = U(ctx, C);
    CASE(clnn_batchnorm_forward_training(ctx, x, scale, shift, 0.1f, 1e-5f, rm, rv, UD(ctx, nd, d), sm, si));
    CASE(clnn_batchnorm_forward_training(ctx, x, NULL, NULL, 0.1f, 1e-5f, NULL, NULL, UD(ctx, nd, d), NULL,
                                         NULL));
    CASE(clnn_batchnorm_forward_inference(ctx, x, scale, shift, rm, rv, 1e-5f, UD(ctx, nd, d)));
    CASE(clnn_batchnorm_forward_inference(ctx, x, NULL, NULL, rm, rv, 1e-5f, UD(ctx, nd, d)));
    clnn_tensor *dy = RD(ctx, nd, d);
    CASE(clnn_batchnorm_backward(ctx, x, dy, scale, sm, si, 0.0f, UD(ctx, nd, d), U(ctx, C), U(ctx, C)));
    CASE(clnn_batchnorm_backward(ctx, x, dy, NULL, sm, si, 1.0f, RD(ctx, nd, d), R(ctx, C), R(ctx, C)));
    CASE(clnn_batchnorm_backward(ctx, x, dy, scale, sm, si, 0.0f, UD(ctx, nd, d), NULL, NULL));
    CASE(clnn_batchnorm_backward_inference(ctx, x, dy, scale, rm, rv, 1e-5f, 0.0f, UD(ctx, nd, d), U(ctx, C),
                                           U(ctx, C)));
    CASE(clnn_batchnorm_backward_inference(ctx, x, dy, NULL, rm, rv, 1e-5f, 1.0f, RD(ctx, nd, d), R(ctx, C),
                                           R(ctx, C)));
    CASE(clnn_batchnorm_backward_inference(ctx, x, dy, scale, rm, rv, 1e-5f, 0.5f, NULL, R(ctx, C), NULL));
    CASE(clnn_batchnorm_forward_training(ctx, x, scale, shift, 0.1f, 1e-5f, rm, rv, x, sm, si)); /* in place */
    release_all();
  }
}

#include "oclgrind_sections_nn.c" /* lstm, optim, bench_kernels, networks, sequence */
#include "oclgrind_gru.c"          /* gru */

/* $CLNN_TEST_SECTIONS (comma-separated section names) runs only those sections, for debugging a
 * report; the kernel-coverage check is then skipped. */
static int section_on(const char *name) {
  const char *only = getenv("CLNN_TEST_SECTIONS");
  if (!only || !*only) return 1;
  size_t n = strlen(name);
  for (const char *p = only; (p = strstr(p, name)) != NULL; p += n)
    if ((p == only || p[-1] == ',') && (p[n] == 0 || p[n] == ',')) return 1;
  return 0;
}

static void suite(clnn_context *ctx, const char *label) {
  static const struct {
    const char *name;
    void (*fn)(clnn_context *);
  } sections[] = {{"elementwise", elementwise}, {"shape", shape}, {"activation", activation}, {"softmax", softmax_losses},
                  {"dropout", dropout},         {"dense", dense},           {"gemm", gemm},
                  {"gemm16", gemm16},
                  {"conv", conv},               {"pooling", pooling},       {"batchnorm", batchnorm},
                  {"lstm", lstm},               {"optim", optim},           {"bench", bench_kernels},
                  {"gru", gru},                 {"networks", networks},
                  {"sequence", sequence}};
  int before = g_cases;
  if (section_on("runtime")) CASE(clnn_context_selftest(ctx));
  for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
    if (!section_on(sections[i].name)) continue;
    sections[i].fn(ctx);
    TU_OK(clnn_context_finish(ctx));
    if (verbose) {
      printf("  %s: done (%d calls so far)\n", sections[i].name, g_cases);
      fflush(stdout);
    }
  }
  printf("%s pass: %d operator calls, %d distinct kernels launched so far\n", label, g_cases - before, num_launched);
  fflush(stdout);
}

/* Every kernel of every cl/<name>.cl program, as the OpenCL compiler names them. */
static int all_kernels(clnn_context *ctx, char names[][96]) {
  int count = 0;
  const clnn__source *common = NULL;
  for (size_t i = 0; i < clnn__num_sources; i++)
    if (!strcmp(clnn__sources[i].name, "common")) common = &clnn__sources[i];
  for (size_t i = 0; i < clnn__num_sources; i++) {
    const clnn__source *s = &clnn__sources[i];
    if (s == common) continue;
    size_t n = (common ? common->size : 0) + s->size + 64;
    char *src = malloc(n);
    snprintf(src, n, "%s\n#line 1\n%s", common ? common->text : "", s->text);
    char opts[1024];
    clnn__program_options(ctx, s->name, opts, sizeof opts);
    cl_program p = NULL;
    clnn_status st = clnn__build_source(ctx, s->name, src, opts, &p);
    free(src);
    TU_CHECK(st == CLNN_SUCCESS, "build cl/%s.cl: %s", s->name, clnn_last_error());
    if (st != CLNN_SUCCESS) continue;
    size_t len = 0;
    clGetProgramInfo(p, CL_PROGRAM_KERNEL_NAMES, 0, NULL, &len);
    char *list = calloc(len + 1, 1);
    clGetProgramInfo(p, CL_PROGRAM_KERNEL_NAMES, len, list, NULL);
    TU_CHECK(list[0] != 0, "cl/%s.cl: the compiler lists no kernels", s->name);
    for (char *save = NULL, *k = strtok_r(list, ";", &save); k; k = strtok_r(NULL, ";", &save)) {
      char full[96];
      snprintf(full, sizeof full, "%s/%s", s->name, k);
      add_name(names, &count, full);
    }
    free(list);
    clReleaseProgram(p);
  }
  return count;
}

static clnn_context *class_context(int device_class) {
  clnn_context_options o;
  clnn_context_options_init(&o);
  o.cache_dir = "off"; /* nothing written; the simulator's binaries are not worth caching */
  clnn_context *ctx = NULL;
  clnn_status s = clnn_context_create(&o, &ctx);
  if (s != CLNN_SUCCESS) {
    fprintf(stderr, "FAIL: cannot create a context: %s: %s\n", clnn_status_string(s), clnn_last_error());
    exit(1);
  }
  ctx->device_class = device_class; /* build and launch as for this class of device */
  /* Workspaces full of NaN: an operator that reads workspace memory it did not write shows up
   * as a non-finite output. */
  for (int slot = 0; slot < CLNN_WORKSPACE_SLOTS; slot++) {
    cl_mem m;
    const float nan = NAN;
    TU_OK(clnn__workspace(ctx, slot, (size_t)1 << 18, &m));
    TU_CHECK(clEnqueueFillBuffer(ctx->queue, m, &nan, sizeof nan, 0, ctx->workspace_bytes[slot] / 4 * 4, 0,
                                 NULL, NULL) == CL_SUCCESS,
             "fill workspace %d", slot);
  }
  return ctx;
}

int main(void) {
  /* Small CPU-GEMM tiles, so tiny products reach every cl/gemm_cpu.cl kernel (wide and narrow
   * panels, both orientations, packed and in place). */
  char tune[] = "/tmp/clnn-oclgrind-tune-XXXXXX";
  int fd = mkstemp(tune);
  if (fd < 0) {
    perror("mkstemp");
    return 1;
  }
  const char *tune_text = "gemm.own = 1\ngemm.vw = 4\ngemm.nv = 2\ngemm.mr = 2\ngemm.mr_n = 3\n"
                          "gemm.rt = 2\ngemm.ku = 2\ngemm.pack_min = 6\ngemm.pack_min_k = 0\n";
  if (write(fd, tune_text, strlen(tune_text)) != (ssize_t)strlen(tune_text)) return 1;
  close(fd);
  setenv("CLNN_TUNE", tune, 1);
  verbose = getenv("CLNN_TEST_VERBOSE") ? atoi(getenv("CLNN_TEST_VERBOSE")) : 0;
  clnn_set_log_callback(on_log, CLNN_LOG_DEBUG, NULL);
  tu_seed(12345);

  clnn_context *probe = tu_context();
  clnn_device_info info;
  clnn_device_info_init(&info);
  clnn_context_device_info(probe, &info);
  clnn_context_destroy(probe);

  /* the same data for both passes: the second compares its results with the first's */
  tu_seed(12345);
  clnn_context *gpu = class_context(CLNN_DEVICE_CLASS_GPU);
  suite(gpu, "GPU-class");
  clnn_context_destroy(gpu);
  tu_seed(12345);
  compare_pass = 1;
  clnn_context *cpu = class_context(CLNN_DEVICE_CLASS_CPU);
  suite(cpu, "CPU-class");
  TU_CHECK(record_next == num_recorded, "CPU-class pass compared %zu results, GPU-class pass recorded %zu",
           record_next, num_recorded);
  TU_CHECK(num_recorded > 100, "%zu results compared between the passes; expected more than 100", num_recorded);
  printf("values: %zu results of the CPU-class pass compared with the GPU-class pass\n", record_next);
  for (size_t i = 0; i < num_recorded; i++) free(record[i].v);
  free(record);

  char every[MAX_NAMES][96];
  int total = all_kernels(cpu, every);
  clnn_context_destroy(cpu);
  int covered = 0, partial = getenv("CLNN_TEST_SECTIONS") && *getenv("CLNN_TEST_SECTIONS");
  for (int i = 0; i < total && !partial; i++) {
    int found = 0;
    for (int j = 0; j < num_launched && !found; j++) found = !strcmp(every[i], launched[j]);
    covered += found;
    TU_CHECK(found, "kernel %s was never launched", every[i]);
  }
  TU_CHECK(partial || total >= 60, "found %d kernels in cl/*.cl; expected at least 60", total);
  printf("oclgrind-kernels: %d of %d kernels of %zu programs launched (%ld launches, %d operator calls) on %s\n",
         covered, total, clnn__num_sources - 1, num_launches, g_cases, info.name);
  remove(tune);
  clnn_set_log_callback(NULL, CLNN_LOG_ERROR, NULL);
  /* CLBlast keeps the programs it built in a process-wide cache that a static destructor frees
   * at exit; under Oclgrind that runs after the simulator's own teardown and corrupts the heap.
   * Free it while every OpenCL object is still valid. */
  CLBlastClearCache();
  return tu_finish("test_oclgrind_kernels");
}
