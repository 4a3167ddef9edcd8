/* tests/test_batchnorm.c — batch normalisation against the plain-C reference: training forward
 * (y, saved statistics, running statistics over several steps), inference forward and backward
 * for x, scale and shift (beta 0 over NaN garbage, beta 1 and 0.5 accumulation), and the
 * inference-mode backward (running statistics as constants; each output optional) on [N, C], [N, C, L],
 * [N, C, H, W] and 5-D shapes with odd sizes and batch 1; backward against central finite
 * differences of a double-precision loss; bitwise run-to-run determinism; in-place use; and every
 * error path (right status, outputs unchanged). Each case runs with the CPU launch shapes and
 * again with the GPU ones (the test flips the context's device class). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "batchnorm_ref.h"
#include "internal.h"
#include "test_util.h"

typedef struct shape {
  int ndim;
  size_t dims[5];
} shape;

static void split(const shape *sh, size_t *n, size_t *c, size_t *s, size_t *numel) {
  *n = sh->dims[0];
  *c = sh->dims[1];
  *s = 1;
  for (int i = 2; i < sh->ndim; i++) *s *= sh->dims[i];
  *numel = *n * *c * *s;
}

static void shape_str(const shape *sh, char *buf, size_t size) {
  size_t o = (size_t)snprintf(buf, size, "[");
  for (int i = 0; i < sh->ndim && o < size; i++)
    o += (size_t)snprintf(buf + o, size - o, "%s%zu", i ? ", " : "", sh->dims[i]);
  if (o < size) snprintf(buf + o, size - o, "]");
}

static void check_case(clnn_context *ctx, const shape *sh, const char *mode) {
  size_t n, c, s, numel;
  split(sh, &n, &c, &s, &numel);
  char sstr[64], what[200];
  shape_str(sh, sstr, sizeof sstr);
  size_t cd[1] = {c};
  const float momentum = 0.1f, eps = 1e-5f;
  float *scale = tu_fvec(c, 0.5f, 1.5f), *shift = tu_fvec(c, -0.5f, 0.5f);
  float *rm = calloc(c, sizeof(float)), *rv = malloc(sizeof(float) * c);
  for (size_t i = 0; i < c; i++) rv[i] = 1.0f;
  clnn_tensor *tx = tu_tensor(ctx, sh->ndim, sh->dims, NULL), *ty = tu_tensor(ctx, sh->ndim, sh->dims, NULL);
  clnn_tensor *tscale = tu_tensor(ctx, 1, cd, scale), *tshift = tu_tensor(ctx, 1, cd, shift);
  clnn_tensor *trm = tu_tensor(ctx, 1, cd, rm), *trv = tu_tensor(ctx, 1, cd, rv);
  clnn_tensor *tsm = tu_tensor(ctx, 1, cd, NULL), *tsi = tu_tensor(ctx, 1, cd, NULL);
  float *y = malloc(sizeof(float) * numel), *sm = malloc(sizeof(float) * c), *si = malloc(sizeof(float) * c);
  float *x = NULL;

  /* three training steps: each batch has its own offset and spread, running stats accumulate */
  for (int step = 0; step < 3; step++) {
    free(x);
    float off = tu_uniform(-2, 2), spread = tu_uniform(0.5f, 3);
    x = tu_fvec(numel, off - spread, off + spread);
    clnn_tensor_write(tx, x, numel);
    clnn_tensor_fill(ty, NAN);
    clnn_tensor_fill(tsm, NAN);
    clnn_tensor_fill(tsi, NAN);
    TU_OK(clnn_batchnorm_forward_training(ctx, tx, tscale, tshift, momentum, eps, trm, trv, ty, tsm, tsi));
    ref_batchnorm_forward_training(x, n, c, s, scale, shift, momentum, eps, rm, rv, y, sm, si);
    float *got = tu_read(ty);
    snprintf(what, sizeof what, "%s training y %s step %d", mode, sstr, step);
    tu_allclose(got, y, numel, 1e-4f, 1e-4f, what);
    free(got);
    got = tu_read(tsm);
    snprintf(what, sizeof what, "%s save_mean %s step %d", mode, sstr, step);
    tu_allclose(got, sm, c, 1e-5f, 1e-5f, what);
    free(got);
    got = tu_read(tsi);
    snprintf(what, sizeof what, "%s save_invstd %s step %d", mode, sstr, step);
    tu_allclose(got, si, c, 1e-5f, 1e-6f, what);
    free(got);
  }
  float *got = tu_read(trm);
  snprintf(what, sizeof what, "%s running_mean after 3 steps %s", mode, sstr);
  tu_allclose(got, rm, c, 1e-5f, 1e-6f, what);
  free(got);
  got = tu_read(trv);
  snprintf(what, sizeof what, "%s running_var after 3 steps %s", mode, sstr);
  tu_allclose(got, rv, c, 1e-5f, 1e-6f, what);
  free(got);

  /* the same statistics again: bitwise identical (deterministic reductions) */
  {
    float *m1 = tu_read(tsm), *i1 = tu_read(tsi), *y1 = tu_read(ty);
    TU_OK(clnn_batchnorm_forward_training(ctx, tx, tscale, tshift, momentum, eps, NULL, NULL, ty, tsm, tsi));
    float *m2 = tu_read(tsm), *i2 = tu_read(tsi), *y2 = tu_read(ty);
    TU_CHECK(!memcmp(m1, m2, c * 4) && !memcmp(i1, i2, c * 4) && !memcmp(y1, y2, numel * 4),
             "%s %s: repeated training forward is bitwise identical", mode, sstr);
    free(m1); free(i1); free(y1); free(m2); free(i2); free(y2);
    /* and the running statistics were left alone when not given */
    float *rm2 = tu_read(trm);
    snprintf(what, sizeof what, "%s running_mean untouched when NULL %s", mode, sstr);
    tu_allclose(rm2, rm, c, 1e-5f, 1e-6f, what);
    free(rm2);
  }

  /* inference from the running statistics */
  clnn_tensor_fill(ty, NAN);
  TU_OK(clnn_batchnorm_forward_inference(ctx, tx, tscale, tshift, trm, trv, eps, ty));
  float *rm_dev = tu_read(trm), *rv_dev = tu_read(trv);
  ref_batchnorm_forward_inference(x, n, c, s, scale, shift, rm_dev, rv_dev, eps, y);
  got = tu_read(ty);
  snprintf(what, sizeof what, "%s inference y %s", mode, sstr);
  tu_allclose(got, y, numel, 1e-5f, 1e-5f, what);
  free(got);
  /* without scale and shift (1 and 0) */
  TU_OK(clnn_batchnorm_forward_inference(ctx, tx, NULL, NULL, trm, trv, eps, ty));
  ref_batchnorm_forward_inference(x, n, c, s, NULL, NULL, rm_dev, rv_dev, eps, y);
  got = tu_read(ty);
  snprintf(what, sizeof what, "%s inference y without affine %s", mode, sstr);
  tu_allclose(got, y, numel, 1e-5f, 1e-5f, what);
  free(got);
  free(rm_dev);
  free(rv_dev);

  /* training forward once more with the last batch, then backward against the reference */
  TU_OK(clnn_batchnorm_forward_training(ctx, tx, tscale, tshift, momentum, eps, trm, trv, ty, tsm, tsi));
  float *sm_dev = tu_read(tsm), *si_dev = tu_read(tsi);
  float *dy = tu_fvec(numel, -1, 1), *dx0 = tu_fvec(numel, -1, 1), *ds0 = tu_fvec(c, -1, 1), *db0 = tu_fvec(c, -1, 1);
  clnn_tensor *tdy = tu_tensor(ctx, sh->ndim, sh->dims, dy), *tdx = tu_tensor(ctx, sh->ndim, sh->dims, NULL);
  clnn_tensor *tds = tu_tensor(ctx, 1, cd, NULL), *tdb = tu_tensor(ctx, 1, cd, NULL);
  for (int bi = 0; bi < TU_NBETAS; bi++)
    for (int affine = 0; affine < 2; affine++) {
      const float beta = tu_betas[bi];
      float *wdx = tu_fcopy(dx0, numel), *wds = tu_fcopy(ds0, c), *wdb = tu_fcopy(db0, c);
      if (beta != 0.0f) {
        clnn_tensor_write(tdx, dx0, numel);
        clnn_tensor_write(tds, ds0, c);
        clnn_tensor_write(tdb, db0, c);
      } else {
        clnn_tensor_fill(tdx, NAN);
        clnn_tensor_fill(tds, NAN);
        clnn_tensor_fill(tdb, NAN);
      }
      TU_OK(clnn_batchnorm_backward(ctx, tx, tdy, affine ? tscale : NULL, tsm, tsi, beta, tdx, tds, tdb));
      ref_batchnorm_backward(x, dy, n, c, s, affine ? scale : NULL, sm_dev, si_dev, beta, wdx, wds, wdb);
      float *gdx = tu_read(tdx), *gds = tu_read(tds), *gdb = tu_read(tdb);
      /* dx has cancellation (dy - mean(dy) - xhat*mean(dy*xhat)): absolute tolerance */
      snprintf(what, sizeof what, "%s backward dx %s beta=%g affine=%d", mode, sstr, beta, affine);
      tu_allclose(gdx, wdx, numel, 1e-4f, 2e-4f, what);
      snprintf(what, sizeof what, "%s backward dscale %s beta=%g affine=%d", mode, sstr, beta, affine);
      tu_allclose(gds, wds, c, 1e-4f, 1e-5f * (float)(n * s) + 1e-5f, what);
      snprintf(what, sizeof what, "%s backward dshift %s beta=%g affine=%d", mode, sstr, beta, affine);
      tu_allclose(gdb, wdb, c, 1e-4f, 1e-5f * (float)(n * s) + 1e-5f, what);
      free(gdx); free(gds); free(gdb); free(wdx); free(wds); free(wdb);
    }
  /* dscale and dshift not requested: only dx is written */
  {
    clnn_tensor_fill(tds, 7.0f);
    clnn_tensor_fill(tdb, 7.0f);
    TU_OK(clnn_batchnorm_backward(ctx, tx, tdy, tscale, tsm, tsi, 0.0f, tdx, NULL, NULL));
    float *wdx = tu_fcopy(dx0, numel);
    ref_batchnorm_backward(x, dy, n, c, s, scale, sm_dev, si_dev, 0.0f, wdx, NULL, NULL);
    float *gdx = tu_read(tdx), *gds = tu_read(tds), *gdb = tu_read(tdb);
    snprintf(what, sizeof what, "%s backward dx only %s", mode, sstr);
    tu_allclose(gdx, wdx, numel, 1e-4f, 2e-4f, what);
    int untouched = 1;
    for (size_t i = 0; i < c; i++) untouched &= gds[i] == 7.0f && gdb[i] == 7.0f;
    TU_CHECK(untouched, "%s %s: dscale/dshift tensors untouched when NULL is passed", mode, sstr);
    free(gdx); free(gds); free(gdb); free(wdx);
  }
  /* in place: dx = dy, and y = x in the training forward */
  {
    float *wdx = tu_fcopy(dx0, numel);
    ref_batchnorm_backward(x, dy, n, c, s, scale, sm_dev, si_dev, 0.0f, wdx, NULL, NULL);
    clnn_tensor *tinplace = tu_tensor(ctx, sh->ndim, sh->dims, dy);
    TU_OK(clnn_batchnorm_backward(ctx, tx, tinplace, tscale, tsm, tsi, 0.0f, tinplace, NULL, NULL));
    float *gdx = tu_read(tinplace);
    snprintf(what, sizeof what, "%s backward in place (dx = dy) %s", mode, sstr);
    tu_allclose(gdx, wdx, numel, 1e-4f, 2e-4f, what);
    free(gdx);
    clnn_tensor_write(tinplace, x, numel);
    TU_OK(clnn_batchnorm_forward_training(ctx, tinplace, tscale, tshift, momentum, eps, NULL, NULL, tinplace, NULL, NULL));
    ref_batchnorm_forward_training(x, n, c, s, scale, shift, momentum, eps, NULL, NULL, y, NULL, NULL);
    gdx = tu_read(tinplace);
    snprintf(what, sizeof what, "%s training forward in place (y = x), no saved stats %s", mode, sstr);
    tu_allclose(gdx, y, numel, 1e-4f, 1e-4f, what);
    free(gdx);
    free(wdx);
    clnn_tensor_destroy(tinplace);
  }

  free(sm_dev); free(si_dev); free(dy); free(dx0); free(ds0); free(db0);
  free(scale); free(shift); free(rm); free(rv); free(y); free(sm); free(si); free(x);
  clnn_tensor *all[] = {tx, ty, tscale, tshift, trm, trv, tsm, tsi, tdy, tdx, tds, tdb};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) clnn_tensor_destroy(all[i]);
}

/* ---- finite differences of loss = sum r .* y(x, scale, shift) in training mode ---- */
typedef struct fd_case {
  float *x, *scale, *shift, *r;
  size_t n, c, s;
  float eps;
} fd_case;
static double fd_loss(void *user) {
  fd_case *f = user;
  return ref_batchnorm_training_loss(f->x, f->n, f->c, f->s, f->scale, f->shift, f->eps, f->r);
}

static void check_finite_differences(clnn_context *ctx, const shape *sh) {
  fd_case f;
  size_t numel;
  split(sh, &f.n, &f.c, &f.s, &numel);
  f.eps = 1e-3f;
  f.x = tu_fvec(numel, -2, 2);
  f.scale = tu_fvec(f.c, 0.5f, 1.5f);
  f.shift = tu_fvec(f.c, -1, 1);
  f.r = tu_fvec(numel, -1, 1);
  size_t cd[1] = {f.c};
  clnn_tensor *tx = tu_tensor(ctx, sh->ndim, sh->dims, f.x), *ty = tu_tensor(ctx, sh->ndim, sh->dims, NULL);
  clnn_tensor *tscale = tu_tensor(ctx, 1, cd, f.scale), *tshift = tu_tensor(ctx, 1, cd, f.shift);
  clnn_tensor *tsm = tu_tensor(ctx, 1, cd, NULL), *tsi = tu_tensor(ctx, 1, cd, NULL);
  clnn_tensor *tdy = tu_tensor(ctx, sh->ndim, sh->dims, f.r), *tdx = tu_tensor(ctx, sh->ndim, sh->dims, NULL);
  clnn_tensor *tds = tu_tensor(ctx, 1, cd, NULL), *tdb = tu_tensor(ctx, 1, cd, NULL);
  TU_OK(clnn_batchnorm_forward_training(ctx, tx, tscale, tshift, 0.1f, f.eps, NULL, NULL, ty, tsm, tsi));
  TU_OK(clnn_batchnorm_backward(ctx, tx, tdy, tscale, tsm, tsi, 0.0f, tdx, tds, tdb));
  float *dx = tu_read(tdx), *ds = tu_read(tds), *db = tu_read(tdb);
  float *fx = malloc(sizeof(float) * numel), *fs = malloc(sizeof(float) * f.c), *fb = malloc(sizeof(float) * f.c);
  const float h = 2e-3f;
  for (size_t i = 0; i < numel; i++) fx[i] = (float)tu_fd(f.x, i, h, fd_loss, &f);
  for (size_t i = 0; i < f.c; i++) fs[i] = (float)tu_fd(f.scale, i, h, fd_loss, &f);
  for (size_t i = 0; i < f.c; i++) fb[i] = (float)tu_fd(f.shift, i, h, fd_loss, &f);
  char sstr[64], what[160];
  shape_str(sh, sstr, sizeof sstr);
  snprintf(what, sizeof what, "batchnorm dx vs finite differences %s", sstr);
  tu_allclose(dx, fx, numel, 2e-3f, 2e-3f, what);
  snprintf(what, sizeof what, "batchnorm dscale vs finite differences %s", sstr);
  tu_allclose(ds, fs, f.c, 2e-3f, 2e-3f, what);
  snprintf(what, sizeof what, "batchnorm dshift vs finite differences %s", sstr);
  tu_allclose(db, fb, f.c, 2e-3f, 2e-3f, what);
  free(dx); free(ds); free(db); free(fx); free(fs); free(fb);
  free(f.x); free(f.scale); free(f.shift); free(f.r);
  clnn_tensor *all[] = {tx, ty, tscale, tshift, tsm, tsi, tdy, tdx, tds, tdb};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) clnn_tensor_destroy(all[i]);
}

/* ---- inference backward (running statistics as constants) against the reference ---- */
static void check_inference_backward(clnn_context *ctx, const shape *sh, const char *mode) {
  size_t n, c, s, numel;
  split(sh, &n, &c, &s, &numel);
  char sstr[64], what[200];
  shape_str(sh, sstr, sizeof sstr);
  size_t cd[1] = {c};
  const float eps = 1e-5f;
  float *x = tu_fvec(numel, -2, 3), *dy = tu_fvec(numel, -1, 1), *scale = tu_fvec(c, -1.5f, 1.5f);
  float *rm = tu_fvec(c, -1, 1), *rv = tu_fvec(c, 0.2f, 3.0f);
  float *dx0 = tu_fvec(numel, -1, 1), *ds0 = tu_fvec(c, -1, 1), *db0 = tu_fvec(c, -1, 1);
  clnn_tensor *tx = tu_tensor(ctx, sh->ndim, sh->dims, x), *tdy = tu_tensor(ctx, sh->ndim, sh->dims, dy);
  clnn_tensor *tdx = tu_tensor(ctx, sh->ndim, sh->dims, NULL), *tscale = tu_tensor(ctx, 1, cd, scale);
  clnn_tensor *trm = tu_tensor(ctx, 1, cd, rm), *trv = tu_tensor(ctx, 1, cd, rv);
  clnn_tensor *tds = tu_tensor(ctx, 1, cd, NULL), *tdb = tu_tensor(ctx, 1, cd, NULL);
  const float rtol_c = 1e-5f * (float)(n * s) + 1e-5f; /* per-channel sums of n*s terms */
  for (int bi = 0; bi < TU_NBETAS; bi++)
    for (int affine = 0; affine < 2; affine++) {
      const float beta = tu_betas[bi];
      float *wdx = tu_fcopy(dx0, numel), *wds = tu_fcopy(ds0, c), *wdb = tu_fcopy(db0, c);
      if (beta != 0.0f) {
        clnn_tensor_write(tdx, dx0, numel);
        clnn_tensor_write(tds, ds0, c);
        clnn_tensor_write(tdb, db0, c);
      } else { /* beta 0 must not read the old values */
        clnn_tensor_fill(tdx, NAN);
        clnn_tensor_fill(tds, NAN);
        clnn_tensor_fill(tdb, NAN);
      }
      TU_OK(clnn_batchnorm_backward_inference(ctx, tx, tdy, affine ? tscale : NULL, trm, trv, eps,
                                              beta, tdx, tds, tdb));
      ref_batchnorm_backward_inference(x, dy, n, c, s, affine ? scale : NULL, rm, rv, eps, beta,
                                       wdx, wds, wdb);
      float *gdx = tu_read(tdx), *gds = tu_read(tds), *gdb = tu_read(tdb);
      snprintf(what, sizeof what, "%s inference backward dx %s beta=%g affine=%d", mode, sstr, beta, affine);
      tu_allclose(gdx, wdx, numel, 1e-5f, 1e-5f, what);
      snprintf(what, sizeof what, "%s inference backward dscale %s beta=%g affine=%d", mode, sstr, beta, affine);
      tu_allclose(gds, wds, c, 1e-4f, rtol_c, what);
      snprintf(what, sizeof what, "%s inference backward dshift %s beta=%g affine=%d", mode, sstr, beta, affine);
      tu_allclose(gdb, wdb, c, 1e-4f, rtol_c, what);
      free(gdx); free(gds); free(gdb); free(wdx); free(wds); free(wdb);
    }
  /* the same call twice: bitwise identical (deterministic reductions) */
  {
    TU_OK(clnn_batchnorm_backward_inference(ctx, tx, tdy, tscale, trm, trv, eps, 0.0f, tdx, tds, tdb));
    float *a1 = tu_read(tds), *b1 = tu_read(tdb), *d1 = tu_read(tdx);
    TU_OK(clnn_batchnorm_backward_inference(ctx, tx, tdy, tscale, trm, trv, eps, 0.0f, tdx, tds, tdb));
    float *a2 = tu_read(tds), *b2 = tu_read(tdb), *d2 = tu_read(tdx);
    TU_CHECK(!memcmp(a1, a2, c * 4) && !memcmp(b1, b2, c * 4) && !memcmp(d1, d2, numel * 4),
             "%s %s: repeated inference backward is bitwise identical", mode, sstr);
    free(a1); free(b1); free(d1); free(a2); free(b2); free(d2);
  }
  /* only dx, and only dscale/dshift: what is not requested is not written */
  {
    clnn_tensor_fill(tds, 7.0f);
    clnn_tensor_fill(tdb, 7.0f);
    TU_OK(clnn_batchnorm_backward_inference(ctx, tx, tdy, tscale, trm, trv, eps, 0.0f, tdx, NULL, NULL));
    float *wdx = tu_fcopy(dx0, numel);
    ref_batchnorm_backward_inference(x, dy, n, c, s, scale, rm, rv, eps, 0.0f, wdx, NULL, NULL);
    float *gdx = tu_read(tdx);
    snprintf(what, sizeof what, "%s inference backward dx only %s", mode, sstr);
    tu_allclose(gdx, wdx, numel, 1e-5f, 1e-5f, what);
    tu_check_all(tds, 7.0f, "dscale (NULL passed)");
    tu_check_all(tdb, 7.0f, "dshift (NULL passed)");
    clnn_tensor_fill(tdx, 7.0f);
    TU_OK(clnn_batchnorm_backward_inference(ctx, tx, tdy, tscale, trm, trv, eps, 0.0f, NULL, tds, NULL));
    float *wds = tu_fcopy(ds0, c);
    ref_batchnorm_backward_inference(x, dy, n, c, s, scale, rm, rv, eps, 0.0f, NULL, wds, NULL);
    float *gds = tu_read(tds);
    snprintf(what, sizeof what, "%s inference backward dscale only %s", mode, sstr);
    tu_allclose(gds, wds, c, 1e-4f, rtol_c, what);
    tu_check_all(tdx, 7.0f, "dx (NULL passed)");
    tu_check_all(tdb, 7.0f, "dshift (NULL passed)");
    free(gdx); free(wdx); free(gds); free(wds);
  }
  /* in place: dx = dy, and dx = x */
  {
    float *wdx = tu_fcopy(dx0, numel);
    ref_batchnorm_backward_inference(x, dy, n, c, s, scale, rm, rv, eps, 0.0f, wdx, NULL, NULL);
    float *wds = tu_fcopy(ds0, c);
    ref_batchnorm_backward_inference(x, dy, n, c, s, scale, rm, rv, eps, 0.0f, NULL, wds, NULL);
    clnn_tensor *tin = tu_tensor(ctx, sh->ndim, sh->dims, dy);
    TU_OK(clnn_batchnorm_backward_inference(ctx, tx, tin, tscale, trm, trv, eps, 0.0f, tin, NULL, NULL));
    float *got = tu_read(tin);
    snprintf(what, sizeof what, "%s inference backward in place (dx = dy) %s", mode, sstr);
    tu_allclose(got, wdx, numel, 1e-5f, 1e-5f, what);
    free(got);
    clnn_tensor_write(tin, x, numel);
    TU_OK(clnn_batchnorm_backward_inference(ctx, tin, tdy, tscale, trm, trv, eps, 0.0f, tin, tds, NULL));
    got = tu_read(tin);
    snprintf(what, sizeof what, "%s inference backward in place (dx = x) %s", mode, sstr);
    tu_allclose(got, wdx, numel, 1e-5f, 1e-5f, what);
    free(got);
    got = tu_read(tds);
    snprintf(what, sizeof what, "%s inference backward dscale with dx = x %s", mode, sstr);
    tu_allclose(got, wds, c, 1e-4f, rtol_c, what);
    free(got); free(wdx); free(wds);
    clnn_tensor_destroy(tin);
  }
  free(x); free(dy); free(scale); free(rm); free(rv); free(dx0); free(ds0); free(db0);
  clnn_tensor *all[] = {tx, tdy, tdx, tscale, trm, trv, tds, tdb};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) clnn_tensor_destroy(all[i]);
}

/* ---- finite differences of loss = sum r .* y(x, scale, shift) in inference mode ---- */
typedef struct fd_inf_case {
  float *x, *scale, *shift, *rm, *rv, *r;
  size_t n, c, s;
  float eps;
} fd_inf_case;
static double fd_inf_loss(void *user) {
  fd_inf_case *f = user;
  return ref_batchnorm_inference_loss(f->x, f->n, f->c, f->s, f->scale, f->shift, f->rm, f->rv,
                                      f->eps, f->r);
}

static void check_inference_finite_differences(clnn_context *ctx, const shape *sh) {
  fd_inf_case f;
  size_t numel;
  split(sh, &f.n, &f.c, &f.s, &numel);
  f.eps = 1e-3f;
  f.x = tu_fvec(numel, -2, 2);
  f.scale = tu_fvec(f.c, 0.5f, 1.5f);
  f.shift = tu_fvec(f.c, -1, 1);
  f.rm = tu_fvec(f.c, -1, 1);
  f.rv = tu_fvec(f.c, 0.3f, 2.0f);
  f.r = tu_fvec(numel, -1, 1);
  size_t cd[1] = {f.c};
  clnn_tensor *tx = tu_tensor(ctx, sh->ndim, sh->dims, f.x), *tscale = tu_tensor(ctx, 1, cd, f.scale);
  clnn_tensor *trm = tu_tensor(ctx, 1, cd, f.rm), *trv = tu_tensor(ctx, 1, cd, f.rv);
  clnn_tensor *tdy = tu_tensor(ctx, sh->ndim, sh->dims, f.r), *tdx = tu_tensor(ctx, sh->ndim, sh->dims, NULL);
  clnn_tensor *tds = tu_tensor(ctx, 1, cd, NULL), *tdb = tu_tensor(ctx, 1, cd, NULL);
  TU_OK(clnn_batchnorm_backward_inference(ctx, tx, tdy, tscale, trm, trv, f.eps, 0.0f, tdx, tds, tdb));
  float *dx = tu_read(tdx), *ds = tu_read(tds), *db = tu_read(tdb);
  float *fx = malloc(sizeof(float) * numel), *fs = malloc(sizeof(float) * f.c), *fb = malloc(sizeof(float) * f.c);
  const float h = 2e-3f;
  for (size_t i = 0; i < numel; i++) fx[i] = (float)tu_fd(f.x, i, h, fd_inf_loss, &f);
  for (size_t i = 0; i < f.c; i++) fs[i] = (float)tu_fd(f.scale, i, h, fd_inf_loss, &f);
  for (size_t i = 0; i < f.c; i++) fb[i] = (float)tu_fd(f.shift, i, h, fd_inf_loss, &f);
  char sstr[64], what[160];
  shape_str(sh, sstr, sizeof sstr);
  snprintf(what, sizeof what, "inference batchnorm dx vs finite differences %s", sstr);
  tu_allclose(dx, fx, numel, 2e-3f, 2e-3f, what);
  snprintf(what, sizeof what, "inference batchnorm dscale vs finite differences %s", sstr);
  tu_allclose(ds, fs, f.c, 2e-3f, 2e-3f, what);
  snprintf(what, sizeof what, "inference batchnorm dshift vs finite differences %s", sstr);
  tu_allclose(db, fb, f.c, 2e-3f, 2e-3f, what);
  free(dx); free(ds); free(db); free(fx); free(fs); free(fb);
  free(f.x); free(f.scale); free(f.shift); free(f.rm); free(f.rv); free(f.r);
  clnn_tensor *all[] = {tx, tscale, trm, trv, tdy, tdx, tds, tdb};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) clnn_tensor_destroy(all[i]);
}

/* ---- error paths ---- */
#define SENTINEL 42.0f
static void expect_unchanged(clnn_tensor *t, const char *what, int line) {
  float *v = tu_read(t);
  int same = 1;
  for (size_t i = 0; i < clnn_tensor_numel(t); i++) same &= v[i] == SENTINEL;
  tu_check_(same, __FILE__, line, "%s unchanged after failed calls", what);
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
  size_t xd[4] = {2, 3, 4, 5}, cd[1] = {3}, c4[1] = {4}, xbad[4] = {2, 3, 4, 6}, v1[1] = {120};
  size_t one[2] = {1, 3}, one4[4] = {1, 3, 1, 1};
  float *x = tu_fvec(120, -1, 1), *p = tu_fvec(3, 0.5f, 1.5f);
  clnn_tensor *tx = tu_tensor(ctx, 4, xd, x), *tdy = tu_tensor(ctx, 4, xd, x);
  clnn_tensor *tscale = tu_tensor(ctx, 1, cd, p), *tshift = tu_tensor(ctx, 1, cd, p);
  clnn_tensor *tsm = tu_tensor(ctx, 1, cd, p), *tsi = tu_tensor(ctx, 1, cd, p);
  clnn_tensor *x1d = tu_tensor(ctx, 1, v1, x), *x1 = tu_tensor(ctx, 2, one, p), *x14 = tu_tensor(ctx, 4, one4, p);
  clnn_tensor *xo = tu_tensor(other, 4, xd, x), *co = tu_tensor(other, 1, cd, p);
  /* outputs, filled with the sentinel */
  clnn_tensor *ty = tu_tensor(ctx, 4, xd, NULL), *ybad = tu_tensor(ctx, 4, xbad, NULL);
  clnn_tensor *trm = tu_tensor(ctx, 1, cd, NULL), *trv = tu_tensor(ctx, 1, cd, NULL);
  clnn_tensor *osm = tu_tensor(ctx, 1, cd, NULL), *osi = tu_tensor(ctx, 1, cd, NULL);
  clnn_tensor *c4t = tu_tensor(ctx, 1, c4, NULL), *tdx = tu_tensor(ctx, 4, xd, NULL);
  clnn_tensor *tds = tu_tensor(ctx, 1, cd, NULL), *tdb = tu_tensor(ctx, 1, cd, NULL);
  clnn_tensor *y1 = tu_tensor(ctx, 2, one, NULL), *y14 = tu_tensor(ctx, 4, one4, NULL);
  clnn_tensor *outs[] = {ty, ybad, trm, trv, osm, osi, c4t, tdx, tds, tdb, y1, y14};
  for (size_t i = 0; i < sizeof outs / sizeof *outs; i++) clnn_tensor_fill(outs[i], SENTINEL);

  /* training forward */
#define TRAIN(...) clnn_batchnorm_forward_training(__VA_ARGS__)
  TU_STATUS(TRAIN(NULL, tx, tscale, tshift, 0.1f, 1e-5f, trm, trv, ty, osm, osi), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(TRAIN(ctx, NULL, tscale, tshift, 0.1f, 1e-5f, trm, trv, ty, osm, osi), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(TRAIN(ctx, tx, tscale, tshift, 0.1f, 1e-5f, trm, trv, NULL, osm, osi), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(TRAIN(ctx, xo, tscale, tshift, 0.1f, 1e-5f, trm, trv, ty, osm, osi), CLNN_ERROR_CONTEXT_MISMATCH);
  TU_STATUS(TRAIN(ctx, tx, co, tshift, 0.1f, 1e-5f, trm, trv, ty, osm, osi), CLNN_ERROR_CONTEXT_MISMATCH);
  TU_STATUS(TRAIN(ctx, x1d, tscale, tshift, 0.1f, 1e-5f, trm, trv, ty, osm, osi), CLNN_ERROR_SHAPE_MISMATCH);
  MSG("[120]", NULL);
  TU_STATUS(TRAIN(ctx, tx, tscale, tshift, 0.1f, 1e-5f, trm, trv, ybad, osm, osi), CLNN_ERROR_SHAPE_MISMATCH);
  MSG("[2, 3, 4, 6]", "[2, 3, 4, 5]");
  TU_STATUS(TRAIN(ctx, tx, tscale, tshift, 0.1f, 1e-5f, c4t, trv, ty, osm, osi), CLNN_ERROR_SHAPE_MISMATCH);
  MSG("[4]", "[3]");
  TU_STATUS(TRAIN(ctx, tx, c4t, tshift, 0.1f, 1e-5f, trm, trv, ty, osm, osi), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(TRAIN(ctx, tx, tscale, tshift, 0.1f, 1e-5f, trm, trv, ty, osm, c4t), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(TRAIN(ctx, tx, tscale, tshift, 0.1f, 1e-5f, trm, NULL, ty, osm, osi), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(TRAIN(ctx, tx, tscale, tshift, 0.1f, 1e-5f, trm, trv, ty, NULL, osi), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(TRAIN(ctx, tx, tscale, tshift, -0.1f, 1e-5f, trm, trv, ty, osm, osi), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(TRAIN(ctx, tx, tscale, tshift, 1.5f, 1e-5f, trm, trv, ty, osm, osi), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(TRAIN(ctx, tx, tscale, tshift, NAN, 1e-5f, trm, trv, ty, osm, osi), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(TRAIN(ctx, tx, tscale, tshift, 0.1f, 0.0f, trm, trv, ty, osm, osi), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(TRAIN(ctx, tx, tscale, tshift, 0.1f, -1e-5f, trm, trv, ty, osm, osi), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(TRAIN(ctx, tx, tscale, tshift, 0.1f, NAN, trm, trv, ty, osm, osi), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(TRAIN(ctx, tx, tscale, tshift, 0.1f, INFINITY, trm, trv, ty, osm, osi), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(TRAIN(ctx, tx, tscale, tshift, 0.1f, 1e-5f, trm, trm, ty, osm, osi), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(TRAIN(ctx, tx, tscale, tshift, 0.1f, 1e-5f, trm, trv, ty, trm, osi), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(TRAIN(ctx, tx, tscale, tshift, 0.1f, 1e-5f, trm, trv, ty, osm, osm), CLNN_ERROR_INVALID_ARGUMENT);
  /* one value per channel: the batch variance is undefined */
  TU_STATUS(TRAIN(ctx, x1, tscale, tshift, 0.1f, 1e-5f, trm, trv, y1, osm, osi), CLNN_ERROR_SHAPE_MISMATCH);
  MSG("[1, 3]", "variance");
  TU_STATUS(TRAIN(ctx, x14, tscale, tshift, 0.1f, 1e-5f, trm, trv, y14, osm, osi), CLNN_ERROR_SHAPE_MISMATCH);
  MSG("[1, 3, 1, 1]", NULL);
#undef TRAIN

  /* inference forward */
#define INFER(...) clnn_batchnorm_forward_inference(__VA_ARGS__)
  TU_STATUS(INFER(NULL, tx, tscale, tshift, tsm, tsi, 1e-5f, ty), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(INFER(ctx, NULL, tscale, tshift, tsm, tsi, 1e-5f, ty), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(INFER(ctx, tx, tscale, tshift, NULL, tsi, 1e-5f, ty), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(INFER(ctx, tx, tscale, tshift, tsm, NULL, 1e-5f, ty), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(INFER(ctx, tx, tscale, tshift, tsm, tsi, 1e-5f, NULL), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(INFER(ctx, tx, tscale, tshift, co, tsi, 1e-5f, ty), CLNN_ERROR_CONTEXT_MISMATCH);
  TU_STATUS(INFER(ctx, tx, tscale, tshift, tsm, tsi, 1e-5f, ybad), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(INFER(ctx, tx, tscale, c4t, tsm, tsi, 1e-5f, ty), CLNN_ERROR_SHAPE_MISMATCH);
  MSG("[4]", "[3]");
  TU_STATUS(INFER(ctx, tx, tscale, tshift, tsm, tsi, 0.0f, ty), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(INFER(ctx, tx, tscale, tshift, tsm, tsm, 1e-5f, ty), CLNN_ERROR_INVALID_ARGUMENT);
  /* batch 1 with one value per channel is fine in inference */
  TU_OK(INFER(ctx, x1, tscale, tshift, tsm, tsi, 1e-5f, y1));
  clnn_tensor_fill(y1, SENTINEL);
#undef INFER

  /* backward */
#define BWD(...) clnn_batchnorm_backward(__VA_ARGS__)
  TU_STATUS(BWD(NULL, tx, tdy, tscale, tsm, tsi, 0.0f, tdx, tds, tdb), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(BWD(ctx, NULL, tdy, tscale, tsm, tsi, 0.0f, tdx, tds, tdb), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(BWD(ctx, tx, NULL, tscale, tsm, tsi, 0.0f, tdx, tds, tdb), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(BWD(ctx, tx, tdy, tscale, NULL, tsi, 0.0f, tdx, tds, tdb), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(BWD(ctx, tx, tdy, tscale, tsm, NULL, 0.0f, tdx, tds, tdb), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(BWD(ctx, tx, tdy, tscale, tsm, tsi, 0.0f, NULL, tds, tdb), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(BWD(ctx, tx, tdy, tscale, tsm, tsi, NAN, tdx, tds, tdb), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(BWD(ctx, xo, tdy, tscale, tsm, tsi, 0.0f, tdx, tds, tdb), CLNN_ERROR_CONTEXT_MISMATCH);
  TU_STATUS(BWD(ctx, tx, tdy, tscale, tsm, tsi, 0.0f, ybad, tds, tdb), CLNN_ERROR_SHAPE_MISMATCH);
  MSG("[2, 3, 4, 6]", "[2, 3, 4, 5]");
  TU_STATUS(BWD(ctx, tx, ybad, tscale, tsm, tsi, 0.0f, tdx, tds, tdb), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(BWD(ctx, tx, tdy, tscale, tsm, tsi, 0.0f, tdx, c4t, tdb), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(BWD(ctx, tx, tdy, tscale, tsm, tsi, 0.0f, tdx, tds, c4t), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(BWD(ctx, tx, tdy, c4t, tsm, tsi, 0.0f, tdx, tds, tdb), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(BWD(ctx, tx, tdy, tscale, tsm, tsi, 0.0f, tdx, tds, tds), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(BWD(ctx, tx, tdy, tscale, tsm, tsi, 0.0f, tdx, tsm, tdb), CLNN_ERROR_INVALID_ARGUMENT);
#undef BWD

  /* inference backward (tsm, tsi stand for running_mean, running_var) */
#define BWDI(...) clnn_batchnorm_backward_inference(__VA_ARGS__)
  TU_STATUS(BWDI(NULL, tx, tdy, tscale, tsm, tsi, 1e-5f, 0.0f, tdx, tds, tdb), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(BWDI(ctx, NULL, tdy, tscale, tsm, tsi, 1e-5f, 0.0f, tdx, tds, tdb), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(BWDI(ctx, tx, NULL, tscale, tsm, tsi, 1e-5f, 0.0f, tdx, tds, tdb), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(BWDI(ctx, tx, tdy, tscale, NULL, tsi, 1e-5f, 0.0f, tdx, tds, tdb), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("running_mean", NULL);
  TU_STATUS(BWDI(ctx, tx, tdy, tscale, tsm, NULL, 1e-5f, 0.0f, tdx, tds, tdb), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("running_var", NULL);
  TU_STATUS(BWDI(ctx, tx, tdy, tscale, tsm, tsi, 1e-5f, 0.0f, NULL, NULL, NULL), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("dx, dscale and dshift", NULL);
  TU_STATUS(BWDI(ctx, tx, tdy, tscale, tsm, tsi, 1e-5f, NAN, tdx, tds, tdb), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(BWDI(ctx, tx, tdy, tscale, tsm, tsi, 0.0f, 0.0f, tdx, tds, tdb), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("eps", NULL);
  TU_STATUS(BWDI(ctx, tx, tdy, tscale, tsm, tsi, NAN, 0.0f, tdx, tds, tdb), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(BWDI(ctx, xo, tdy, tscale, tsm, tsi, 1e-5f, 0.0f, tdx, tds, tdb), CLNN_ERROR_CONTEXT_MISMATCH);
  TU_STATUS(BWDI(ctx, tx, tdy, tscale, co, tsi, 1e-5f, 0.0f, tdx, tds, tdb), CLNN_ERROR_CONTEXT_MISMATCH);
  TU_STATUS(BWDI(ctx, x1d, tdy, tscale, tsm, tsi, 1e-5f, 0.0f, tdx, tds, tdb), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(BWDI(ctx, tx, tdy, tscale, tsm, tsi, 1e-5f, 0.0f, ybad, tds, tdb), CLNN_ERROR_SHAPE_MISMATCH);
  MSG("[2, 3, 4, 6]", "[2, 3, 4, 5]");
  TU_STATUS(BWDI(ctx, tx, ybad, tscale, tsm, tsi, 1e-5f, 0.0f, tdx, tds, tdb), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(BWDI(ctx, tx, tdy, tscale, tsm, c4t, 1e-5f, 0.0f, tdx, tds, tdb), CLNN_ERROR_SHAPE_MISMATCH);
  MSG("running_var", "[4]");
  TU_STATUS(BWDI(ctx, tx, tdy, c4t, tsm, tsi, 1e-5f, 0.0f, tdx, tds, tdb), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(BWDI(ctx, tx, tdy, tscale, tsm, tsi, 1e-5f, 0.0f, tdx, c4t, tdb), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(BWDI(ctx, tx, tdy, tscale, tsm, tsi, 1e-5f, 0.0f, NULL, tds, c4t), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(BWDI(ctx, tx, tdy, tscale, tsm, tsi, 1e-5f, 0.0f, tdx, tds, tds), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(BWDI(ctx, tx, tdy, tscale, tsm, tsi, 1e-5f, 0.0f, tdx, tsm, tdb), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("running_mean", "dscale");
  TU_STATUS(BWDI(ctx, tx, tdy, tscale, tsm, tsi, 1e-5f, 0.0f, tdx, tds, tsi), CLNN_ERROR_INVALID_ARGUMENT);
#undef BWDI

  clnn_context_finish(ctx);
  UNCHANGED(ty); UNCHANGED(ybad); UNCHANGED(trm); UNCHANGED(trv); UNCHANGED(osm); UNCHANGED(osi);
  UNCHANGED(c4t); UNCHANGED(tdx); UNCHANGED(tds); UNCHANGED(tdb); UNCHANGED(y1); UNCHANGED(y14);
  /* the inputs the failed calls saw are unchanged too */
  float *sm = tu_read(tsm);
  TU_CHECK(!memcmp(sm, p, 12), "save_mean input unchanged");
  free(sm);

  clnn_tensor *all[] = {tx, tdy, tscale, tshift, tsm, tsi, x1d, x1, x14, ty, ybad, trm, trv, osm, osi, c4t, tdx, tds, tdb, y1, y14};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) clnn_tensor_destroy(all[i]);
  clnn_tensor_destroy(xo);
  clnn_tensor_destroy(co);
  clnn_context_destroy(other);
  free(x); free(p);
}

int main(void) {
  clnn_context *ctx = tu_context();
  tu_seed(4321);
  static const shape shapes[] = {
      {2, {2, 3}},         {2, {37, 129}},        {2, {1000, 5}},        {3, {5, 3, 11}},
      {4, {1, 3, 5, 7}},   {4, {4, 5, 13, 17}},   {4, {3, 2, 1, 1}},     {4, {2, 16, 32, 32}},
      {4, {8, 1, 9, 33}},  {5, {2, 3, 2, 3, 5}},
  };
  const int saved_class = ctx->device_class;
  for (int mode = 0; mode < 2; mode++) {
    ctx->device_class = mode ? CLNN_DEVICE_CLASS_GPU : CLNN_DEVICE_CLASS_CPU;
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
      check_case(ctx, &shapes[i], mode ? "gpu-shape" : "cpu-shape");
      check_inference_backward(ctx, &shapes[i], mode ? "gpu-shape" : "cpu-shape");
    }
  }
  ctx->device_class = saved_class;
  static const shape fd_shapes[] = {{2, {3, 2}}, {4, {2, 3, 2, 2}}, {3, {1, 2, 5}}};
  for (size_t i = 0; i < sizeof fd_shapes / sizeof *fd_shapes; i++)
    check_finite_differences(ctx, &fd_shapes[i]);
  for (size_t i = 0; i < sizeof fd_shapes / sizeof *fd_shapes; i++)
    check_inference_finite_differences(ctx, &fd_shapes[i]);
  check_errors(ctx);
  clnn_context_destroy(ctx);
  return tu_finish("test_batchnorm");
}
