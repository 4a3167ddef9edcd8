/* tests/test_layernorm.c — layer norm and RMS norm over the last dimension against the plain-C
 * reference: forward (y and saved statistics) with and without weight and bias, backward for x,
 * weight and bias (beta 0 over NaN garbage, beta 1 accumulation, parameter gradients not
 * requested), in place, bitwise run-to-run determinism, central finite differences, and every
 * error path (right status, nothing written). Each case runs with the CPU launch shape and again
 * with the GPU one (the test flips the context's device class). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "layernorm_ref.h"
#include "test_util.h"

typedef struct shape {
  int ndim;
  size_t dims[5];
} shape;

static size_t numel_of(const shape *sh) {
  size_t n = 1;
  for (int i = 0; i < sh->ndim; i++) n *= sh->dims[i];
  return n;
}

static clnn_status fwd(clnn_context *ctx, int rms, clnn_tensor *x, clnn_tensor *w, clnn_tensor *b,
                       float eps, clnn_tensor *y, clnn_tensor *sm, clnn_tensor *sr) {
  return rms ? clnn_rmsnorm_forward(ctx, x, w, eps, y, sr)
             : clnn_layernorm_forward(ctx, x, w, b, eps, y, sm, sr);
}
static clnn_status bwd(clnn_context *ctx, int rms, clnn_tensor *x, clnn_tensor *dy, clnn_tensor *w,
                       clnn_tensor *sm, clnn_tensor *sr, float beta, clnn_tensor *dx,
                       clnn_tensor *dw, clnn_tensor *db) {
  return rms ? clnn_rmsnorm_backward(ctx, x, dy, w, sr, beta, dx, dw)
             : clnn_layernorm_backward(ctx, x, dy, w, sm, sr, beta, dx, dw, db);
}

static void check_case(clnn_context *ctx, const shape *sh, int rms, const char *mode) {
  size_t n = numel_of(sh), D = sh->dims[sh->ndim - 1], R = n / D;
  char what[200];
  const float eps = 1e-5f;
  size_t dd[1] = {D}, rd[1] = {R};
  float off = tu_uniform(-2, 2);
  float *x = tu_fvec(n, off - 1.5f, off + 1.5f), *w = tu_fvec(D, 0.5f, 1.5f), *b = tu_fvec(D, -0.5f, 0.5f);
  float *y = malloc(n * sizeof(float)), *m = malloc(R * sizeof(float)), *r = malloc(R * sizeof(float));
  clnn_tensor *tx = tu_tensor(ctx, sh->ndim, sh->dims, x), *ty = tu_guarded(ctx, sh->ndim, sh->dims);
  clnn_tensor *tw = tu_tensor(ctx, 1, dd, w), *tb = tu_tensor(ctx, 1, dd, b);
  clnn_tensor *tsm = tu_tensor(ctx, 1, rd, NULL), *tsr = tu_tensor(ctx, 1, rd, NULL);
  const char *name = rms ? "rmsnorm" : "layernorm";
  for (int affine = 0; affine < 2; affine++) {
    clnn_tensor_fill(ty, NAN);
    TU_OK(fwd(ctx, rms, tx, affine ? tw : NULL, affine ? tb : NULL, eps, ty, tsm, tsr));
    ref_layernorm_forward(x, R, D, affine ? w : NULL, affine ? b : NULL, eps, rms, y, m, r);
    float *got = tu_read(ty);
    snprintf(what, sizeof what, "%s %s forward y R=%zu D=%zu affine=%d", mode, name, R, D, affine);
    tu_allclose(got, y, n, 1e-4f, 1e-4f, what);
    tu_check_guard(ty, what);
    free(got);
    got = tu_read(tsr);
    snprintf(what, sizeof what, "%s %s save_rstd R=%zu D=%zu", mode, name, R, D);
    tu_allclose(got, r, R, 1e-4f, 1e-5f, what);
    free(got);
    if (!rms) {
      got = tu_read(tsm);
      snprintf(what, sizeof what, "%s %s save_mean R=%zu D=%zu", mode, name, R, D);
      tu_allclose(got, m, R, 1e-5f, 1e-5f, what);
      free(got);
    }
  }
  /* weight only (no bias) */
  TU_OK(fwd(ctx, rms, tx, tw, NULL, eps, ty, NULL, NULL));
  ref_layernorm_forward(x, R, D, w, NULL, eps, rms, y, NULL, NULL);
  float *got = tu_read(ty);
  snprintf(what, sizeof what, "%s %s forward weight only, no saved stats R=%zu D=%zu", mode, name, R, D);
  tu_allclose(got, y, n, 1e-4f, 1e-4f, what);
  free(got);

  /* backward from the device statistics */
  TU_OK(fwd(ctx, rms, tx, tw, tb, eps, ty, tsm, tsr));
  float *sm = tu_read(tsm), *sr = tu_read(tsr);
  float *dy = tu_fvec(n, -1, 1), *dx0 = tu_fvec(n, -1, 1), *dw0 = tu_fvec(D, -1, 1), *db0 = tu_fvec(D, -1, 1);
  clnn_tensor *tdy = tu_tensor(ctx, sh->ndim, sh->dims, dy), *tdx = tu_guarded(ctx, sh->ndim, sh->dims);
  clnn_tensor *tdw = tu_guarded(ctx, 1, dd), *tdb = tu_guarded(ctx, 1, dd);
  for (int bi = 0; bi < TU_NBETAS; bi++)
    for (int affine = 0; affine < 2; affine++) {
      const float beta = tu_betas[bi];
      float *wdx = tu_fcopy(dx0, n), *wdw = tu_fcopy(dw0, D), *wdb = tu_fcopy(db0, D);
      if (beta != 0.0f) {
        clnn_tensor_write(tdx, dx0, n);
        clnn_tensor_write(tdw, dw0, D);
        clnn_tensor_write(tdb, db0, D);
      } else {
        clnn_tensor_fill(tdx, NAN);
        clnn_tensor_fill(tdw, NAN);
        clnn_tensor_fill(tdb, NAN);
      }
      TU_OK(bwd(ctx, rms, tx, tdy, affine ? tw : NULL, tsm, tsr, beta, tdx, tdw, tdb));
      ref_layernorm_backward(x, dy, R, D, affine ? w : NULL, sm, sr, rms, beta, wdx, wdw,
                             rms ? NULL : wdb);
      float *gdx = tu_read(tdx), *gdw = tu_read(tdw);
      snprintf(what, sizeof what, "%s %s backward dx R=%zu D=%zu beta=%g affine=%d", mode, name, R, D, beta, affine);
      tu_allclose(gdx, wdx, n, 1e-4f, 2e-4f, what);
      tu_check_guard(tdx, what);
      snprintf(what, sizeof what, "%s %s backward dweight R=%zu D=%zu beta=%g affine=%d", mode, name, R, D, beta, affine);
      tu_allclose(gdw, wdw, D, 1e-4f, 1e-5f * (float)R + 1e-5f, what);
      tu_check_guard(tdw, what);
      if (!rms) {
        float *gdb = tu_read(tdb);
        snprintf(what, sizeof what, "%s %s backward dbias R=%zu D=%zu beta=%g", mode, name, R, D, beta);
        tu_allclose(gdb, wdb, D, 1e-4f, 1e-5f * (float)R + 1e-5f, what);
        tu_check_guard(tdb, what);
        free(gdb);
      }
      free(gdx); free(gdw); free(wdx); free(wdw); free(wdb);
    }
  /* parameter gradients not requested: untouched; and bitwise determinism */
  {
    clnn_tensor_fill(tdw, 7.0f);
    clnn_tensor_fill(tdb, 7.0f);
    TU_OK(bwd(ctx, rms, tx, tdy, tw, tsm, tsr, 0.0f, tdx, NULL, NULL));
    tu_check_all(tdw, 7.0f, "dweight untouched when NULL");
    tu_check_all(tdb, 7.0f, "dbias untouched when NULL");
    float *a = tu_read(tdx);
    TU_OK(bwd(ctx, rms, tx, tdy, tw, tsm, tsr, 0.0f, tdx, tdw, tdb));
    float *a2 = tu_read(tdx), *aw = tu_read(tdw);
    TU_OK(bwd(ctx, rms, tx, tdy, tw, tsm, tsr, 0.0f, tdx, tdw, tdb));
    float *b2 = tu_read(tdx), *bw = tu_read(tdw);
    TU_CHECK(!memcmp(a, a2, n * 4) && !memcmp(a2, b2, n * 4) && !memcmp(aw, bw, D * 4),
             "%s %s R=%zu D=%zu: backward bitwise repeatable", mode, name, R, D);
    free(a); free(a2); free(aw); free(b2); free(bw);
  }
  /* in place: dx = dy, y = x */
  {
    float *wdx = tu_fcopy(dx0, n);
    ref_layernorm_backward(x, dy, R, D, w, sm, sr, rms, 0.0f, wdx, NULL, NULL);
    clnn_tensor *tin = tu_tensor(ctx, sh->ndim, sh->dims, dy);
    TU_OK(bwd(ctx, rms, tx, tin, tw, tsm, tsr, 0.0f, tin, NULL, NULL));
    float *g = tu_read(tin);
    snprintf(what, sizeof what, "%s %s backward in place (dx = dy) R=%zu D=%zu", mode, name, R, D);
    tu_allclose(g, wdx, n, 1e-4f, 2e-4f, what);
    free(g);
    clnn_tensor_write(tin, x, n);
    TU_OK(fwd(ctx, rms, tin, tw, tb, eps, tin, NULL, NULL));
    ref_layernorm_forward(x, R, D, w, b, eps, rms, y, NULL, NULL);
    g = tu_read(tin);
    snprintf(what, sizeof what, "%s %s forward in place (y = x) R=%zu D=%zu", mode, name, R, D);
    tu_allclose(g, y, n, 1e-4f, 1e-4f, what);
    free(g);
    free(wdx);
    clnn_tensor_destroy(tin);
  }
  free(x); free(w); free(b); free(y); free(m); free(r); free(sm); free(sr);
  free(dy); free(dx0); free(dw0); free(db0);
  clnn_tensor *all[] = {tx, ty, tw, tb, tsm, tsr, tdy, tdx, tdw, tdb};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) clnn_tensor_destroy(all[i]);
}

/* ---- finite differences of loss = sum r .* y(x, weight, bias) ---- */
typedef struct fd_case {
  float *x, *w, *b, *r;
  size_t R, D;
  int rms;
} fd_case;
static double fd_loss(void *user) {
  fd_case *f = user;
  return ref_layernorm_loss(f->x, f->R, f->D, f->w, f->b, 1e-3f, f->rms, f->r);
}

static void check_finite_differences(clnn_context *ctx, size_t R, size_t D, int rms) {
  fd_case f = {tu_fvec(R * D, -2, 2), tu_fvec(D, 0.5f, 1.5f), tu_fvec(D, -1, 1), tu_fvec(R * D, -1, 1), R, D, rms};
  size_t xd[2] = {R, D}, dd[1] = {D}, rd[1] = {R};
  clnn_tensor *tx = tu_tensor(ctx, 2, xd, f.x), *ty = tu_tensor(ctx, 2, xd, NULL);
  clnn_tensor *tw = tu_tensor(ctx, 1, dd, f.w), *tb = tu_tensor(ctx, 1, dd, f.b);
  clnn_tensor *tsm = tu_tensor(ctx, 1, rd, NULL), *tsr = tu_tensor(ctx, 1, rd, NULL);
  clnn_tensor *tdy = tu_tensor(ctx, 2, xd, f.r), *tdx = tu_tensor(ctx, 2, xd, NULL);
  clnn_tensor *tdw = tu_tensor(ctx, 1, dd, NULL), *tdb = tu_tensor(ctx, 1, dd, NULL);
  TU_OK(fwd(ctx, rms, tx, tw, tb, 1e-3f, ty, tsm, tsr));
  TU_OK(bwd(ctx, rms, tx, tdy, tw, tsm, tsr, 0.0f, tdx, tdw, tdb));
  float *dx = tu_read(tdx), *dw = tu_read(tdw), *db = tu_read(tdb);
  float *fx = malloc(R * D * 4), *fw = malloc(D * 4), *fb = malloc(D * 4);
  for (size_t i = 0; i < R * D; i++) fx[i] = (float)tu_fd(f.x, i, 2e-3f, fd_loss, &f);
  for (size_t i = 0; i < D; i++) fw[i] = (float)tu_fd(f.w, i, 2e-3f, fd_loss, &f);
  for (size_t i = 0; i < D; i++) fb[i] = (float)tu_fd(f.b, i, 2e-3f, fd_loss, &f);
  char what[120];
  const char *name = rms ? "rmsnorm" : "layernorm";
  snprintf(what, sizeof what, "%s dx vs finite differences [%zu, %zu]", name, R, D);
  tu_allclose(dx, fx, R * D, 2e-3f, 2e-3f, what);
  snprintf(what, sizeof what, "%s dweight vs finite differences [%zu, %zu]", name, R, D);
  tu_allclose(dw, fw, D, 2e-3f, 2e-3f, what);
  if (!rms) {
    snprintf(what, sizeof what, "%s dbias vs finite differences [%zu, %zu]", name, R, D);
    tu_allclose(db, fb, D, 2e-3f, 2e-3f, what);
  }
  free(dx); free(dw); free(db); free(fx); free(fw); free(fb);
  free(f.x); free(f.w); free(f.b); free(f.r);
  clnn_tensor *all[] = {tx, ty, tw, tb, tsm, tsr, tdy, tdx, tdw, tdb};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) clnn_tensor_destroy(all[i]);
}

/* ---- error paths ---- */
#define SENTINEL 42.0f
#define MSG(a) TU_MSG(a)

static void check_errors(clnn_context *ctx) {
  clnn_context *other = NULL;
  TU_OK(clnn_context_create(NULL, &other));
  size_t xd[2] = {4, 6}, xbad[2] = {4, 5}, dd[1] = {6}, d5[1] = {5}, rd[1] = {4}, r3[1] = {3};
  float *x = tu_fvec(24, -1, 1);
  clnn_tensor *tx = tu_tensor(ctx, 2, xd, x), *tdy = tu_tensor(ctx, 2, xd, x), *tw = tu_tensor(ctx, 1, dd, x);
  clnn_tensor *tsm = tu_tensor(ctx, 1, rd, x), *tsr = tu_tensor(ctx, 1, rd, x), *xo = tu_tensor(other, 2, xd, x);
  clnn_tensor *ty = tu_tensor(ctx, 2, xd, NULL), *tyb = tu_tensor(ctx, 2, xbad, NULL), *tw5 = tu_tensor(ctx, 1, d5, NULL);
  clnn_tensor *osm = tu_tensor(ctx, 1, rd, NULL), *osr = tu_tensor(ctx, 1, rd, NULL), *os3 = tu_tensor(ctx, 1, r3, NULL);
  clnn_tensor *tdx = tu_tensor(ctx, 2, xd, NULL), *tdw = tu_tensor(ctx, 1, dd, NULL), *tdb = tu_tensor(ctx, 1, dd, NULL);
  clnn_tensor *outs[] = {ty, tyb, tw5, osm, osr, os3, tdx, tdw, tdb};
  for (int i = 0; i < 9; i++) clnn_tensor_fill(outs[i], SENTINEL);
#define LF(...) clnn_layernorm_forward(__VA_ARGS__)
  TU_STATUS(LF(NULL, tx, tw, tw, 1e-5f, ty, osm, osr), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(LF(ctx, NULL, tw, tw, 1e-5f, ty, osm, osr), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(LF(ctx, tx, tw, tw, 1e-5f, NULL, osm, osr), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(LF(ctx, xo, tw, tw, 1e-5f, ty, osm, osr), CLNN_ERROR_CONTEXT_MISMATCH);
  TU_STATUS(LF(ctx, tx, tw, tw, 1e-5f, tyb, osm, osr), CLNN_ERROR_SHAPE_MISMATCH);
  MSG("[4, 5]");
  TU_STATUS(LF(ctx, tx, tw5, tw, 1e-5f, ty, osm, osr), CLNN_ERROR_SHAPE_MISMATCH);
  MSG("weight");
  TU_STATUS(LF(ctx, tx, tw, tw5, 1e-5f, ty, osm, osr), CLNN_ERROR_SHAPE_MISMATCH);
  MSG("bias");
  TU_STATUS(LF(ctx, tx, tw, tw, 1e-5f, ty, os3, osr), CLNN_ERROR_SHAPE_MISMATCH);
  MSG("save_mean");
  TU_STATUS(LF(ctx, tx, tw, tw, 1e-5f, ty, osm, NULL), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(LF(ctx, tx, tw, tw, 0.0f, ty, osm, osr), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("eps");
  TU_STATUS(LF(ctx, tx, tw, tw, NAN, ty, osm, osr), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(LF(ctx, tx, tw, tw, 1e-5f, ty, osm, osm), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("share");
  TU_STATUS(LF(ctx, tx, tw, tw, 1e-5f, tw, osm, osr), CLNN_ERROR_SHAPE_MISMATCH);
#undef LF
  TU_STATUS(clnn_rmsnorm_forward(ctx, tx, tw5, 1e-5f, ty, osr), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(clnn_rmsnorm_forward(ctx, tx, tw, -1.0f, ty, osr), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_rmsnorm_forward(ctx, tx, tw, 1e-5f, ty, os3), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(clnn_rmsnorm_forward(ctx, tx, tw, 1e-5f, NULL, osr), CLNN_ERROR_INVALID_ARGUMENT);
#define LB(...) clnn_layernorm_backward(__VA_ARGS__)
  TU_STATUS(LB(NULL, tx, tdy, tw, tsm, tsr, 0.0f, tdx, tdw, tdb), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(LB(ctx, tx, NULL, tw, tsm, tsr, 0.0f, tdx, tdw, tdb), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(LB(ctx, tx, tdy, tw, NULL, tsr, 0.0f, tdx, tdw, tdb), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("save_mean");
  TU_STATUS(LB(ctx, tx, tdy, tw, tsm, NULL, 0.0f, tdx, tdw, tdb), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(LB(ctx, tx, tdy, tw, tsm, tsr, 0.0f, NULL, tdw, tdb), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(LB(ctx, tx, tdy, tw, tsm, tsr, NAN, tdx, tdw, tdb), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("beta");
  TU_STATUS(LB(ctx, tx, tyb, tw, tsm, tsr, 0.0f, tdx, tdw, tdb), CLNN_ERROR_SHAPE_MISMATCH);
  MSG("dy");
  TU_STATUS(LB(ctx, tx, tdy, tw, tsm, tsr, 0.0f, tyb, tdw, tdb), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(LB(ctx, tx, tdy, tw, tsm, os3, 0.0f, tdx, tdw, tdb), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(LB(ctx, tx, tdy, tw, tsm, tsr, 0.0f, tdx, tw5, tdb), CLNN_ERROR_SHAPE_MISMATCH);
  MSG("dweight");
  TU_STATUS(LB(ctx, tx, tdy, tw, tsm, tsr, 0.0f, tdx, tdw, tdw), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(LB(ctx, tx, tdy, tw, tsm, tsr, 0.0f, tdx, tw, tdb), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(LB(ctx, tx, tdy, tw, tsm, tsr, 0.0f, tdx, tdw, tsm), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(LB(ctx, xo, tdy, tw, tsm, tsr, 0.0f, tdx, tdw, tdb), CLNN_ERROR_CONTEXT_MISMATCH);
#undef LB
  TU_STATUS(clnn_rmsnorm_backward(ctx, tx, tdy, tw, NULL, 0.0f, tdx, tdw), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_rmsnorm_backward(ctx, tx, tdy, tw, tsr, INFINITY, tdx, tdw), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_rmsnorm_backward(ctx, tx, tdy, tw, tsr, 0.0f, tdx, tw5), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(clnn_rmsnorm_backward(ctx, tx, tdy, tw, tsr, 0.0f, tdx, tdx), CLNN_ERROR_SHAPE_MISMATCH);
  clnn_context_finish(ctx);
  for (int i = 0; i < 9; i++) tu_check_all(outs[i], SENTINEL, "output after failed calls");
  clnn_tensor *all[] = {tx, tdy, tw, tsm, tsr, ty, tyb, tw5, osm, osr, os3, tdx, tdw, tdb};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) clnn_tensor_destroy(all[i]);
  clnn_tensor_destroy(xo);
  clnn_context_destroy(other);
  free(x);
}

int main(void) {
  clnn_context *ctx = tu_context();
  tu_seed(2468);
  static const shape shapes[] = {
      {2, {2, 3}}, {2, {37, 129}}, {2, {1000, 5}}, {3, {2, 3, 11}}, {2, {4, 1}},
      {3, {4, 16, 256}}, {1, {33}}, {4, {2, 2, 3, 300}},
  };
  const int saved_class = ctx->device_class;
  for (int mode = 0; mode < 2; mode++) {
    ctx->device_class = mode ? CLNN_DEVICE_CLASS_GPU : CLNN_DEVICE_CLASS_CPU;
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
      for (int rms = 0; rms < 2; rms++) check_case(ctx, &shapes[i], rms, mode ? "gpu-shape" : "cpu-shape");
  }
  ctx->device_class = saved_class;
  check_finite_differences(ctx, 3, 5, 0);
  check_finite_differences(ctx, 2, 7, 1);
  check_finite_differences(ctx, 1, 1, 0);
  check_errors(ctx);
  clnn_context_destroy(ctx);
  return tu_finish("test_layernorm");
}
