/* tests/test_aliasing.c — every operator either refuses an output that shares
 * its buffer with an input (CLNN_ERROR_INVALID_ARGUMENT, nothing written) or documents in-place
 * use, and then in place gives exactly what a separate output gives. Aliases are made both as the
 * same tensor and as a second tensor wrapping the first one's cl_mem (the case a pointer compare
 * misses). In-place checks run with CPU- and GPU-shaped kernels. */
#include "internal.h"
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

static clnn_context *ctx;

/* A second tensor on t's buffer, with its own shape. */
static clnn_tensor *alias_as(clnn_tensor *t, int ndim, const size_t *dims) {
  clnn_tensor *a = NULL;
  if (clnn_tensor_wrap(ctx, clnn_tensor_cl_mem(t), ndim, dims, &a) != CLNN_SUCCESS) {
    fprintf(stderr, "setup: clnn_tensor_wrap: %s\n", clnn_last_error());
    exit(1);
  }
  return a;
}
static clnn_tensor *alias_of(clnn_tensor *t) {
  size_t d[CLNN_MAX_DIMS];
  for (int i = 0; i < clnn_tensor_ndim(t); i++) d[i] = clnn_tensor_dim(t, i);
  return alias_as(t, clnn_tensor_ndim(t), d);
}

static clnn_tensor *rnd(int ndim, const size_t *dims, float lo, float hi) {
  size_t n = 1;
  for (int i = 0; i < ndim; i++) n *= dims[i];
  float *h = malloc(n * sizeof *h);
  tu_fill_uniform(h, n, lo, hi);
  clnn_tensor *t = tu_tensor(ctx, ndim, dims, h);
  free(h);
  return t;
}

/* The call was refused with INVALID_ARGUMENT and t (the aliased buffer) holds `before`. */
static void refused(clnn_status s, const clnn_tensor *t, const float *before, const char *what) {
  TU_CHECK(s == CLNN_ERROR_INVALID_ARGUMENT, "%s: %s, expected INVALID_ARGUMENT (%s)", what,
           clnn_status_string(s), clnn_last_error());
  TU_CHECK(strstr(clnn_last_error(), "share one buffer") != NULL, "%s: message '%s'", what,
           clnn_last_error());
  float *now = tu_read(t);
  TU_CHECK(memcmp(now, before, clnn_tensor_numel(t) * sizeof(float)) == 0, "%s: buffer changed", what);
  free(now);
}

static void test_refusals(void) {
  /* GEMM: c is a, c wraps a's buffer, c is b; batched too. The 64x64 case. */
  size_t d2[2] = {64, 64}, d3[3] = {2, 16, 16};
  clnn_tensor *a = rnd(2, d2, -1, 1), *b = rnd(2, d2, -1, 1);
  float *ha = tu_read(a), *hb = tu_read(b);
  clnn_tensor *aa = alias_of(a);
  refused(clnn_gemm(ctx, 0, 0, 1.0f, a, b, 0.0f, a), a, ha, "gemm c = a");
  refused(clnn_gemm(ctx, 0, 1, 1.0f, a, b, 1.0f, aa), a, ha, "gemm c wraps a");
  refused(clnn_gemm(ctx, 1, 0, 1.0f, a, b, 0.0f, b), b, hb, "gemm c = b");
  clnn_tensor *c = tu_tensor(ctx, 2, d2, NULL);
  TU_OK(clnn_gemm(ctx, 0, 0, 1.0f, a, a, 0.0f, c)); /* a = b is fine: both are inputs */
  clnn_tensor *ba = rnd(3, d3, -1, 1), *bb = rnd(3, d3, -1, 1);
  float *hba = tu_read(ba);
  clnn_tensor *baa = alias_of(ba);
  refused(clnn_gemm_batched(ctx, 0, 0, 1.0f, ba, bb, 0.0f, baa), ba, hba, "gemm_batched c wraps a");
  free(ha), free(hb), free(hba);
  clnn_tensor *all[] = {a, b, aa, c, ba, bb, baa};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) clnn_tensor_destroy(all[i]);

  /* Pooling, 3x3 stride 1 pad 1 (the output has the input's shape): forward y = x, backward
   * dx = dy and dx = x, max and average; global average pooling. */
  size_t d4[4] = {2, 3, 7, 7}, g4[4] = {2, 3, 1, 1};
  clnn_pool2d_params p;
  clnn_pool2d_params_init(&p, 3);
  p.stride_h = p.stride_w = 1;
  p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 1;
  clnn_tensor *x = rnd(4, d4, -1, 1), *dy = rnd(4, d4, -1, 1);
  clnn_tensor *xa = alias_of(x), *dya = alias_of(dy);
  float *hx = tu_read(x), *hdy = tu_read(dy);
  refused(clnn_maxpool2d_forward(ctx, &p, x, x), x, hx, "maxpool forward y = x");
  refused(clnn_maxpool2d_forward(ctx, &p, x, xa), x, hx, "maxpool forward y wraps x");
  refused(clnn_avgpool2d_forward(ctx, &p, x, xa), x, hx, "avgpool forward y wraps x");
  refused(clnn_avgpool2d_backward(ctx, &p, dy, 0.0f, dya), dy, hdy, "avgpool backward dx wraps dy");
  refused(clnn_maxpool2d_backward(ctx, &p, x, dy, 0.0f, dya), dy, hdy, "maxpool backward dx wraps dy");
  refused(clnn_maxpool2d_backward(ctx, &p, x, dy, 1.0f, xa), x, hx, "maxpool backward dx wraps x");
  clnn_tensor *gx = alias_as(x, 4, g4);
  refused(clnn_global_avgpool_forward(ctx, x, gx), x, hx, "global avgpool forward y wraps x");
  refused(clnn_global_avgpool_backward(ctx, gx, 0.0f, x), x, hx, "global avgpool backward dx wraps dy");

  /* bias_add with y on bias's buffer; a loss tensor on the prediction's buffer. */
  size_t dc[1] = {3}, dyc[2] = {1, 3}, one[1] = {1}, d22[2] = {4, 5};
  clnn_tensor *bias = rnd(1, dc, -1, 1);
  float *hbias = tu_read(bias);
  clnn_tensor *ybias = alias_as(bias, 2, dyc);
  refused(clnn_bias_add(ctx, bias, ybias), bias, hbias, "bias_add y wraps bias");
  clnn_tensor *logits = rnd(2, d22, -2, 2), *tgt = rnd(2, d22, 0, 1);
  float *hl = tu_read(logits);
  clnn_tensor *loss_on_logits = alias_as(logits, 1, one);
  int32_t labels[4] = {0, 1, 2, 4};
  refused(clnn_softmax_cross_entropy(ctx, logits, labels, 4, loss_on_logits, NULL), logits, hl,
          "softmax_cross_entropy loss wraps logits");
  refused(clnn_mse_loss(ctx, logits, tgt, loss_on_logits, NULL), logits, hl, "mse loss wraps pred");
  refused(clnn_bce_with_logits(ctx, logits, tgt, loss_on_logits, NULL), logits, hl, "bce loss wraps logits");

  /* A copy onto its own buffer is the identity (not an OpenCL overlap error). */
  TU_OK(clnn_tensor_copy(xa, x));
  float *hx2 = tu_read(x);
  TU_CHECK(memcmp(hx2, hx, clnn_tensor_numel(x) * sizeof(float)) == 0, "copy onto itself");
  free(hx2), free(hx), free(hdy), free(hbias), free(hl);
  clnn_tensor *more[] = {x, dy, xa, dya, gx, bias, ybias, logits, tgt, loss_on_logits};
  for (size_t i = 0; i < sizeof more / sizeof *more; i++) clnn_tensor_destroy(more[i]);
}

/* ---- documented in-place uses give what a separate output gives ---- */

/* Runs `op` twice: into a fresh output (want) and in place on a copy of `io` (got); compares. */
static void same(const float *want, clnn_tensor *inplace, const char *what) {
  float *got = tu_read(inplace);
  tu_allclose(got, want, clnn_tensor_numel(inplace), 0.0f, 0.0f, what);
  free(got);
}

static clnn_tensor *copy_of(clnn_tensor *t) {
  float *h = tu_read(t);
  size_t d[CLNN_MAX_DIMS];
  for (int i = 0; i < clnn_tensor_ndim(t); i++) d[i] = clnn_tensor_dim(t, i);
  clnn_tensor *c = tu_tensor(ctx, clnn_tensor_ndim(t), d, h);
  free(h);
  return c;
}

static void test_inplace(const char *mode, size_t C) {
  char what[160];
  size_t d[2] = {5, C};
  clnn_tensor *x = rnd(2, d, -3, 3), *dy = rnd(2, d, -1, 1), *out = tu_tensor(ctx, 2, d, NULL);
  clnn_tensor *y = tu_tensor(ctx, 2, d, NULL);
  float *want;

  /* activations, forward y = x and backward dx = dy (from x) */
  for (int act = CLNN_ACT_IDENTITY; act <= CLNN_ACT_SOFTPLUS; act++) {
    TU_OK(clnn_activation_forward(ctx, (clnn_activation)act, 0.1f, x, out));
    want = tu_read(out);
    clnn_tensor *io = copy_of(x), *ioa = alias_of(io);
    TU_OK(clnn_activation_forward(ctx, (clnn_activation)act, 0.1f, io, ioa));
    snprintf(what, sizeof what, "[%s C=%zu] activation %d forward in place", mode, C, act);
    same(want, io, what);
    free(want);
    TU_OK(clnn_activation_backward(ctx, (clnn_activation)act, 0.1f, x, NULL, dy, 0.0f, out));
    want = tu_read(out);
    clnn_tensor *g = copy_of(dy);
    TU_OK(clnn_activation_backward(ctx, (clnn_activation)act, 0.1f, x, NULL, g, 0.0f, g));
    snprintf(what, sizeof what, "[%s C=%zu] activation %d backward dx = dy", mode, C, act);
    same(want, g, what);
    free(want);
    clnn_tensor_destroy(io), clnn_tensor_destroy(ioa), clnn_tensor_destroy(g);
  }

  /* softmax and log-softmax: forward y = x, backward dx = dy and dx = y (beta 0 and 1) */
  for (int lg = 0; lg < 2; lg++) {
    clnn_status (*fwd)(clnn_context *, const clnn_tensor *, clnn_tensor *) =
        lg ? clnn_log_softmax_forward : clnn_softmax_forward;
    clnn_status (*bwd)(clnn_context *, const clnn_tensor *, const clnn_tensor *, float, clnn_tensor *) =
        lg ? clnn_log_softmax_backward : clnn_softmax_backward;
    TU_OK(fwd(ctx, x, y));
    want = tu_read(y);
    clnn_tensor *io = copy_of(x), *ioa = alias_of(io);
    TU_OK(fwd(ctx, io, ioa));
    snprintf(what, sizeof what, "[%s C=%zu] %ssoftmax forward y = x", mode, C, lg ? "log-" : "");
    same(want, io, what);
    free(want);
    for (int beta = 0; beta < 2; beta++) {
      TU_OK(clnn_tensor_copy(out, dy));
      TU_OK(bwd(ctx, y, dy, (float)beta, out));
      want = tu_read(out);
      clnn_tensor *g = copy_of(dy);
      TU_OK(bwd(ctx, y, g, (float)beta, g));
      snprintf(what, sizeof what, "[%s C=%zu] %ssoftmax backward dx = dy beta %d", mode, C, lg ? "log-" : "", beta);
      same(want, g, what);
      TU_OK(clnn_tensor_copy(out, y));
      TU_OK(bwd(ctx, y, dy, (float)beta, out));
      free(want);
      want = tu_read(out);
      clnn_tensor *yy = copy_of(y);
      TU_OK(bwd(ctx, yy, dy, (float)beta, yy));
      snprintf(what, sizeof what, "[%s C=%zu] %ssoftmax backward dx = y beta %d", mode, C, lg ? "log-" : "", beta);
      same(want, yy, what);
      free(want);
      clnn_tensor_destroy(g), clnn_tensor_destroy(yy);
    }
    clnn_tensor_destroy(io), clnn_tensor_destroy(ioa);
  }

  /* dropout forward y = x, backward dx = dy with beta 1 */
  TU_OK(clnn_dropout_forward(ctx, 0.3f, 7, 11, x, out));
  want = tu_read(out);
  clnn_tensor *io = copy_of(x);
  TU_OK(clnn_dropout_forward(ctx, 0.3f, 7, 11, io, io));
  snprintf(what, sizeof what, "[%s C=%zu] dropout forward in place", mode, C);
  same(want, io, what);
  free(want);
  TU_OK(clnn_tensor_copy(out, dy));
  TU_OK(clnn_dropout_backward(ctx, 0.3f, 7, 11, dy, 1.0f, out));
  want = tu_read(out);
  clnn_tensor *g = copy_of(dy);
  TU_OK(clnn_dropout_backward(ctx, 0.3f, 7, 11, g, 1.0f, g));
  snprintf(what, sizeof what, "[%s C=%zu] dropout backward in place", mode, C);
  same(want, g, what);
  free(want);
  clnn_tensor_destroy(io), clnn_tensor_destroy(g);

  /* axpy x = y; mse / bce gradient onto the prediction and onto the target */
  TU_OK(clnn_tensor_copy(out, x));
  TU_OK(clnn_axpy(ctx, 0.5f, x, out));
  want = tu_read(out);
  io = copy_of(x);
  TU_OK(clnn_axpy(ctx, 0.5f, io, io));
  snprintf(what, sizeof what, "[%s C=%zu] axpy x = y", mode, C);
  same(want, io, what);
  free(want);
  clnn_tensor_destroy(io);
  clnn_tensor *tgt = rnd(2, d, 0, 1);
  for (int bce = 0; bce < 2; bce++) {
    clnn_status (*lossf)(clnn_context *, const clnn_tensor *, const clnn_tensor *, clnn_tensor *, clnn_tensor *) =
        bce ? clnn_bce_with_logits : clnn_mse_loss;
    TU_OK(lossf(ctx, x, tgt, NULL, out));
    want = tu_read(out);
    io = copy_of(x);
    TU_OK(lossf(ctx, io, tgt, NULL, io));
    snprintf(what, sizeof what, "[%s C=%zu] %s gradient onto the prediction", mode, C, bce ? "bce" : "mse");
    same(want, io, what);
    clnn_tensor *t2 = copy_of(tgt);
    TU_OK(lossf(ctx, x, t2, NULL, t2));
    snprintf(what, sizeof what, "[%s C=%zu] %s gradient onto the target", mode, C, bce ? "bce" : "mse");
    same(want, t2, what);
    free(want);
    clnn_tensor_destroy(io), clnn_tensor_destroy(t2);
  }
  clnn_tensor_destroy(tgt);
  clnn_tensor_destroy(x), clnn_tensor_destroy(dy), clnn_tensor_destroy(out), clnn_tensor_destroy(y);
}

int main(void) {
  ctx = tu_context();
  tu_seed(20);
  test_refusals();
  const int saved = ctx->device_class;
  for (int m = 0; m < 2; m++) {
    ctx->device_class = m ? CLNN_DEVICE_CLASS_GPU : CLNN_DEVICE_CLASS_CPU;
    const char *mode = m ? "gpu-shaped" : "cpu-shaped";
    test_inplace(mode, 10);
    test_inplace(mode, 1000);
  }
  ctx->device_class = saved;
  clnn_context_destroy(ctx);
  return tu_finish("test_aliasing");
}
