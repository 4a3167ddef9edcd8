/* tests/test_dense.c — the dense layer: forward (with and without bias) and both backward passes
 * against the plain-C reference on several shapes (batch 1, odd sizes, sizes that are not a
 * multiple of any work-group size), beta 0 over NaN garbage, beta 1 and 0.5 accumulation, gradients
 * against central finite differences of a double-precision loss, and every error path (right
 * status, outputs unchanged). Each case runs with the CPU launch shapes and again with the GPU
 * ones (the test flips the context's device class), so both code paths are checked here. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dense_ref.h"
#include "internal.h"
#include "test_util.h"

/* Tolerance of a float sum of k products of values in [-1, 1]. */
static float tol(size_t k) { return 2e-6f * (float)(k + 8); }

static void check_shape(clnn_context *ctx, size_t n, size_t in, size_t out, const char *mode) {
  char what[160];
  size_t xd[2] = {n, in}, wd[2] = {out, in}, bd[1] = {out}, yd[2] = {n, out};
  float *x = tu_fvec(n * in, -1, 1), *w = tu_fvec(out * in, -1, 1), *b = tu_fvec(out, -1, 1);
  float *dy = tu_fvec(n * out, -1, 1);
  clnn_tensor *tx = tu_tensor(ctx, 2, xd, x), *tw = tu_tensor(ctx, 2, wd, w);
  clnn_tensor *tb = tu_tensor(ctx, 1, bd, b), *ty = tu_tensor(ctx, 2, yd, NULL);
  clnn_tensor *tdy = tu_tensor(ctx, 2, yd, dy), *tdx = tu_tensor(ctx, 2, xd, NULL);
  clnn_tensor *tdw = tu_tensor(ctx, 2, wd, NULL), *tdb = tu_tensor(ctx, 1, bd, NULL);

  /* forward, with and without bias, over NaN garbage */
  float *want = malloc(sizeof(float) * n * out);
  for (int with_bias = 0; with_bias < 2; with_bias++) {
    clnn_tensor_fill(ty, NAN);
    TU_OK(clnn_dense_forward(ctx, tx, tw, with_bias ? tb : NULL, ty));
    ref_dense_forward(x, w, with_bias ? b : NULL, n, in, out, want);
    float *got = tu_read(ty);
    snprintf(what, sizeof what, "%s forward N=%zu I=%zu O=%zu bias=%d", mode, n, in, out, with_bias);
    tu_allclose(got, want, n * out, 1e-4f, tol(in), what);
    free(got);
  }
  free(want);

  /* backward data: beta 0 over NaN, beta 1 and 0.5 over random values */
  float *dx0 = tu_fvec(n * in, -1, 1);
  for (int bi = 0; bi < TU_NBETAS; bi++) {
    const float beta = tu_betas[bi];
    float *wantdx = malloc(sizeof(float) * n * in);
    if (beta != 0.0f) {
      memcpy(wantdx, dx0, sizeof(float) * n * in);
      clnn_tensor_write(tdx, dx0, n * in);
    } else {
      clnn_tensor_fill(tdx, NAN);
    }
    TU_OK(clnn_dense_backward_data(ctx, tdy, tw, beta, tdx));
    ref_dense_backward_data(dy, w, n, in, out, beta, wantdx);
    float *got = tu_read(tdx);
    snprintf(what, sizeof what, "%s backward_data N=%zu I=%zu O=%zu beta=%g", mode, n, in, out, beta);
    tu_allclose(got, wantdx, n * in, 1e-4f, tol(out), what);
    free(got);
    free(wantdx);
  }
  free(dx0);

  /* backward weights: beta 0 over NaN, beta 1 and 0.5 over random values, with and without db */
  float *dw0 = tu_fvec(out * in, -1, 1), *db0 = tu_fvec(out, -1, 1);
  for (int bi = 0; bi < TU_NBETAS; bi++)
    for (int with_db = 0; with_db < 2; with_db++) {
      const float beta = tu_betas[bi];
      float *wantdw = malloc(sizeof(float) * out * in), *wantdb = malloc(sizeof(float) * out);
      memcpy(wantdw, dw0, sizeof(float) * out * in);
      memcpy(wantdb, db0, sizeof(float) * out);
      if (beta != 0.0f) {
        clnn_tensor_write(tdw, dw0, out * in);
        clnn_tensor_write(tdb, db0, out);
      } else {
        clnn_tensor_fill(tdw, NAN);
        clnn_tensor_fill(tdb, NAN);
      }
      TU_OK(clnn_dense_backward_weights(ctx, tx, tdy, beta, tdw, with_db ? tdb : NULL));
      ref_dense_backward_weights(x, dy, n, in, out, beta, wantdw, with_db ? wantdb : NULL);
      float *got = tu_read(tdw);
      snprintf(what, sizeof what, "%s backward_weights dw N=%zu I=%zu O=%zu beta=%g", mode, n, in,
               out, beta);
      tu_allclose(got, wantdw, out * in, 1e-4f, tol(n), what);
      free(got);
      got = tu_read(tdb);
      if (with_db) {
        snprintf(what, sizeof what, "%s backward_weights db N=%zu O=%zu beta=%g", mode, n, out, beta);
        tu_allclose(got, wantdb, out, 1e-4f, tol(n), what);
      } else {
        /* db not given: its tensor keeps whatever it held (NaN for beta 0, db0 otherwise) */
        int same = 1;
        for (size_t i = 0; i < out; i++)
          same &= beta != 0.0f ? got[i] == db0[i] : isnan(got[i]);
        TU_CHECK(same, "%s db untouched when NULL is passed", mode);
      }
      free(got);
      free(wantdw);
      free(wantdb);
    }
  free(dw0);
  free(db0);

  clnn_tensor *all[] = {tx, tw, tb, ty, tdy, tdx, tdw, tdb};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) clnn_tensor_destroy(all[i]);
  free(x); free(w); free(b); free(dy);
}

/* Bias-gradient column sums must be bitwise reproducible run to run. */
static void check_deterministic(clnn_context *ctx, const char *mode) {
  size_t n = 1000, out = 77, in = 3;
  size_t xd[2] = {n, in}, dyd[2] = {n, out}, wd[2] = {out, in}, bd[1] = {out};
  float *x = tu_fvec(n * in, -1, 1), *dy = tu_fvec(n * out, -100, 100);
  clnn_tensor *tx = tu_tensor(ctx, 2, xd, x), *tdy = tu_tensor(ctx, 2, dyd, dy);
  clnn_tensor *tdw = tu_tensor(ctx, 2, wd, NULL), *tdb = tu_tensor(ctx, 1, bd, NULL);
  TU_OK(clnn_dense_backward_weights(ctx, tx, tdy, 0.0f, tdw, tdb));
  float *first = tu_read(tdb);
  int same = 1;
  for (int r = 0; r < 3; r++) {
    TU_OK(clnn_dense_backward_weights(ctx, tx, tdy, 0.0f, tdw, tdb));
    float *again = tu_read(tdb);
    same &= memcmp(first, again, sizeof(float) * out) == 0;
    free(again);
  }
  TU_CHECK(same, "%s: db identical over repeated runs", mode);
  free(first); free(x); free(dy);
  clnn_tensor_destroy(tx); clnn_tensor_destroy(tdy); clnn_tensor_destroy(tdw); clnn_tensor_destroy(tdb);
}

/* Finite differences: loss = sum r .* (x w^T + b), so dy = r. */
typedef struct fd_case {
  float *x, *w, *b, *r;
  size_t n, in, out;
} fd_case;
static double fd_loss(void *user) {
  fd_case *c = user;
  return ref_dense_loss(c->x, c->w, c->b, c->r, c->n, c->in, c->out);
}

static void check_finite_differences(clnn_context *ctx) {
  fd_case c = {NULL, NULL, NULL, NULL, 3, 5, 4};
  c.x = tu_fvec(c.n * c.in, -1, 1);
  c.w = tu_fvec(c.out * c.in, -1, 1);
  c.b = tu_fvec(c.out, -1, 1);
  c.r = tu_fvec(c.n * c.out, -1, 1);
  size_t xd[2] = {c.n, c.in}, wd[2] = {c.out, c.in}, bd[1] = {c.out}, yd[2] = {c.n, c.out};
  clnn_tensor *tx = tu_tensor(ctx, 2, xd, c.x), *tw = tu_tensor(ctx, 2, wd, c.w);
  clnn_tensor *tdy = tu_tensor(ctx, 2, yd, c.r);
  clnn_tensor *tdx = tu_tensor(ctx, 2, xd, NULL), *tdw = tu_tensor(ctx, 2, wd, NULL);
  clnn_tensor *tdb = tu_tensor(ctx, 1, bd, NULL);
  TU_OK(clnn_dense_backward_data(ctx, tdy, tw, 0.0f, tdx));
  TU_OK(clnn_dense_backward_weights(ctx, tx, tdy, 0.0f, tdw, tdb));
  float *dx = tu_read(tdx), *dw = tu_read(tdw), *db = tu_read(tdb);
  float *fx = malloc(sizeof(float) * c.n * c.in), *fw = malloc(sizeof(float) * c.out * c.in);
  float *fb = malloc(sizeof(float) * c.out);
  const float h = 1e-2f;
  for (size_t i = 0; i < c.n * c.in; i++) fx[i] = (float)tu_fd(c.x, i, h, fd_loss, &c);
  for (size_t i = 0; i < c.out * c.in; i++) fw[i] = (float)tu_fd(c.w, i, h, fd_loss, &c);
  for (size_t i = 0; i < c.out; i++) fb[i] = (float)tu_fd(c.b, i, h, fd_loss, &c);
  tu_allclose(dx, fx, c.n * c.in, 1e-3f, 1e-4f, "dense dx vs finite differences");
  tu_allclose(dw, fw, c.out * c.in, 1e-3f, 1e-4f, "dense dw vs finite differences");
  tu_allclose(db, fb, c.out, 1e-3f, 1e-4f, "dense db vs finite differences");
  free(dx); free(dw); free(db); free(fx); free(fw); free(fb);
  free(c.x); free(c.w); free(c.b); free(c.r);
  clnn_tensor *all[] = {tx, tw, tdy, tdx, tdw, tdb};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) clnn_tensor_destroy(all[i]);
}

/* ---- error paths: right status, nothing written ---- */

#define SENTINEL 42.0f
static void fill_sentinel(clnn_tensor *t) { clnn_tensor_fill(t, SENTINEL); }
static void expect_unchanged(clnn_tensor *t, const char *what, int line) {
  float *v = tu_read(t);
  int same = 1;
  for (size_t i = 0; i < clnn_tensor_numel(t); i++) same &= v[i] == SENTINEL;
  tu_check_(same, __FILE__, line, "%s unchanged after a failed call", what);
  free(v);
}
#define UNCHANGED(t) expect_unchanged((t), #t, __LINE__)
static void expect_msg(const char *a, const char *b, int line) {
  const char *m = clnn_last_error();
  tu_check_(strstr(m, a) && (!b || strstr(m, b)), __FILE__, line,
            "message names '%s'%s%s: %s", a, b ? " and " : "", b ? b : "", m);
}
#define MSG(a, b) expect_msg((a), (b), __LINE__)

static void check_errors(clnn_context *ctx) {
  clnn_context *other = NULL;
  TU_OK(clnn_context_create(NULL, &other));
  size_t xd[2] = {4, 5}, wd[2] = {6, 5}, bd[1] = {6}, yd[2] = {4, 6};
  size_t bad2[2] = {4, 7}, bad_w[2] = {6, 4}, bad_b[1] = {5}, one[1] = {20}, bad_n[2] = {3, 6};
  float *x = tu_fvec(20, -1, 1), *w = tu_fvec(30, -1, 1), *b = tu_fvec(6, -1, 1), *dy = tu_fvec(24, -1, 1);
  clnn_tensor *tx = tu_tensor(ctx, 2, xd, x), *tw = tu_tensor(ctx, 2, wd, w);
  clnn_tensor *tb = tu_tensor(ctx, 1, bd, b), *tdy = tu_tensor(ctx, 2, yd, dy);
  clnn_tensor *ty = tu_tensor(ctx, 2, yd, NULL), *tdx = tu_tensor(ctx, 2, xd, NULL);
  clnn_tensor *tdw = tu_tensor(ctx, 2, wd, NULL), *tdb = tu_tensor(ctx, 1, bd, NULL);
  clnn_tensor *ybad = tu_tensor(ctx, 2, bad2, NULL), *wbad = tu_tensor(ctx, 2, bad_w, w);
  clnn_tensor *bbad = tu_tensor(ctx, 1, bad_b, b), *x1d = tu_tensor(ctx, 1, one, x);
  clnn_tensor *dybad = tu_tensor(ctx, 2, bad_n, NULL), *dxbad = tu_tensor(ctx, 2, bad2, NULL);
  clnn_tensor *xo = tu_tensor(other, 2, xd, x), *yo = tu_tensor(other, 2, yd, NULL);
  size_t sq[2] = {5, 5};
  clnn_tensor *tsq = tu_tensor(ctx, 2, sq, w);
  clnn_tensor *outs[] = {ty, tdx, tdw, tdb, ybad, dxbad, tsq};
  for (size_t i = 0; i < sizeof outs / sizeof *outs; i++) fill_sentinel(outs[i]);

  /* forward */
  TU_STATUS(clnn_dense_forward(NULL, tx, tw, tb, ty), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_dense_forward(ctx, NULL, tw, tb, ty), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_dense_forward(ctx, tx, NULL, tb, ty), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_dense_forward(ctx, tx, tw, tb, NULL), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_dense_forward(ctx, xo, tw, tb, ty), CLNN_ERROR_CONTEXT_MISMATCH);
  TU_STATUS(clnn_dense_forward(ctx, tx, tw, tb, yo), CLNN_ERROR_CONTEXT_MISMATCH);
  TU_STATUS(clnn_dense_forward(ctx, x1d, tw, tb, ty), CLNN_ERROR_SHAPE_MISMATCH);
  MSG("[20]", NULL);
  TU_STATUS(clnn_dense_forward(ctx, tx, wbad, tb, ty), CLNN_ERROR_SHAPE_MISMATCH);
  MSG("[6, 4]", "[4, 5]");
  TU_STATUS(clnn_dense_forward(ctx, tx, tw, tb, ybad), CLNN_ERROR_SHAPE_MISMATCH);
  MSG("[4, 7]", "[4, 6]");
  TU_STATUS(clnn_dense_forward(ctx, tx, tw, bbad, ty), CLNN_ERROR_SHAPE_MISMATCH);
  MSG("[5]", "[6]");
  TU_STATUS(clnn_dense_forward(ctx, tsq, tsq, NULL, tsq), CLNN_ERROR_INVALID_ARGUMENT);
  /* backward data */
  TU_STATUS(clnn_dense_backward_data(NULL, tdy, tw, 0.0f, tdx), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_dense_backward_data(ctx, NULL, tw, 0.0f, tdx), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_dense_backward_data(ctx, tdy, NULL, 0.0f, tdx), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_dense_backward_data(ctx, tdy, tw, 0.0f, NULL), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_dense_backward_data(ctx, tdy, tw, NAN, tdx), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_dense_backward_data(ctx, tdy, tw, INFINITY, tdx), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_dense_backward_data(ctx, tdy, tw, 0.0f, dxbad), CLNN_ERROR_SHAPE_MISMATCH);
  MSG("[4, 7]", "[4, 5]");
  TU_STATUS(clnn_dense_backward_data(ctx, tdy, wbad, 0.0f, tdx), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(clnn_dense_backward_data(ctx, ybad, tw, 0.0f, tdx), CLNN_ERROR_SHAPE_MISMATCH);
  MSG("[6, 5]", "[4, 7]");
  TU_STATUS(clnn_dense_backward_data(ctx, tdy, tw, 0.0f, yo), CLNN_ERROR_CONTEXT_MISMATCH);
  TU_STATUS(clnn_dense_backward_data(ctx, tsq, tsq, 0.0f, tsq), CLNN_ERROR_INVALID_ARGUMENT);
  /* backward weights */
  TU_STATUS(clnn_dense_backward_weights(NULL, tx, tdy, 0.0f, tdw, tdb), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_dense_backward_weights(ctx, NULL, tdy, 0.0f, tdw, tdb), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_dense_backward_weights(ctx, tx, NULL, 0.0f, tdw, tdb), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_dense_backward_weights(ctx, tx, tdy, 0.0f, NULL, tdb), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_dense_backward_weights(ctx, tx, tdy, NAN, tdw, tdb), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_dense_backward_weights(ctx, tx, dybad, 0.0f, tdw, tdb), CLNN_ERROR_SHAPE_MISMATCH);
  MSG("[4, 5]", "[3, 6]");
  TU_STATUS(clnn_dense_backward_weights(ctx, tx, tdy, 0.0f, wbad, tdb), CLNN_ERROR_SHAPE_MISMATCH);
  MSG("[6, 4]", "[6, 5]");
  TU_STATUS(clnn_dense_backward_weights(ctx, tx, tdy, 0.0f, tdw, bbad), CLNN_ERROR_SHAPE_MISMATCH);
  MSG("[5]", "[6]");
  TU_STATUS(clnn_dense_backward_weights(ctx, xo, tdy, 0.0f, tdw, tdb), CLNN_ERROR_CONTEXT_MISMATCH);
  TU_STATUS(clnn_dense_backward_weights(ctx, tx, tdy, 0.0f, tdw, tdw), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(clnn_dense_backward_weights(ctx, tsq, tsq, 0.0f, tsq, NULL), CLNN_ERROR_INVALID_ARGUMENT);

  clnn_context_finish(ctx);
  UNCHANGED(ty);
  UNCHANGED(tdx);
  UNCHANGED(tdw);
  UNCHANGED(tdb);
  UNCHANGED(ybad);
  UNCHANGED(dxbad);
  UNCHANGED(tsq);

  clnn_tensor *all[] = {tx, tw, tb, tdy, ty, tdx, tdw, tdb, ybad, wbad, bbad, x1d, dybad, dxbad, tsq};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) clnn_tensor_destroy(all[i]);
  clnn_tensor_destroy(xo);
  clnn_tensor_destroy(yo);
  clnn_context_destroy(other);
  free(x); free(w); free(b); free(dy);
}

int main(void) {
  clnn_context *ctx = tu_context();
  tu_seed(1234);
  static const size_t shapes[][3] = {{1, 1, 1},   {1, 7, 3},     {4, 5, 6},     {37, 129, 17},
                                     {3, 1, 65},  {129, 37, 33}, {1, 300, 257}, {256, 64, 100}};
  const int saved_class = ctx->device_class;
  for (int mode = 0; mode < 2; mode++) {
    /* mode 1 runs the GPU launch shapes on this device (kernels take their shape from the
     * launch, not from the build, so the same programs serve both). */
    ctx->device_class = mode ? CLNN_DEVICE_CLASS_GPU : CLNN_DEVICE_CLASS_CPU;
    const char *name = mode ? "gpu-shape" : "cpu-shape";
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
      check_shape(ctx, shapes[i][0], shapes[i][1], shapes[i][2], name);
    check_deterministic(ctx, name);
  }
  ctx->device_class = saved_class;
  check_finite_differences(ctx);
  check_errors(ctx);
  clnn_context_destroy(ctx);
  return tu_finish("test_dense");
}
