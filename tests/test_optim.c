/* tests/test_optim.c — the optimizers against the plain-C references (PyTorch semantics): six
 * steps of SGD (plain, weight decay, momentum, dampening, Nesterov), Adam, AdamW, RMSProp (with
 * and without momentum, weight decay) and AdaGrad on sizes 1, 7, 37x129 and 100003, with the CPU
 * launch shapes and again with the GPU ones (the test flips the context's device class);
 * gradient clipping by global norm (clipping, no clipping, NaN, max_norm 0, determinism); and
 * every error path (right status, param, gradient and state unchanged). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "optim_ref.h"
#include "test_util.h"

#define STEPS 6
#define RTOL 1e-5f
#define ATOL 1e-6f

/* Absolute tolerance for a tensor: ATOL times its scale (the largest magnitude, at least 1), so
 * elements that are the small difference of large terms (a momentum buffer that changes sign)
 * are held to float rounding of those terms, not of their difference. */
static float atol_for(const float *want, size_t n) {
  float m = 1.0f;
  for (size_t i = 0; i < n; i++)
    if (fabsf(want[i]) > m) m = fabsf(want[i]);
  return ATOL * m;
}

static float *fconst(size_t n, float value) {
  float *v = malloc(sizeof(float) * (n ? n : 1));
  for (size_t i = 0; i < n; i++) v[i] = value;
  return v;
}

typedef enum { OPT_SGD, OPT_ADAM, OPT_RMSPROP, OPT_ADAGRAD } opt_kind;

/* Initialisers of the versioned parameter structs: struct_size, then the named fields. */
#define SGD(...) {(uint32_t)sizeof(clnn_sgd_params), __VA_ARGS__}
#define ADAM(...) {(uint32_t)sizeof(clnn_adam_params), __VA_ARGS__}
#define RMSPROP(...) {(uint32_t)sizeof(clnn_rmsprop_params), __VA_ARGS__}
#define ADAGRAD(...) {(uint32_t)sizeof(clnn_adagrad_params), __VA_ARGS__}

typedef struct opt_case {
  const char *name;
  opt_kind kind;
  clnn_sgd_params sgd;         /* first_step: 1 = tell the kernel on step 1 */
  clnn_adam_params adam;
  clnn_rmsprop_params rms;
  clnn_adagrad_params ada;
  float state_init;            /* initial value of the (first) state tensor */
} opt_case;

/* Runs STEPS steps of one optimizer on a tensor of the given shape on the device and in the
 * reference, comparing param and every state tensor after each step. */
static void run_case(clnn_context *ctx, const opt_case *oc, int ndim, const size_t *dims,
                     const char *mode) {
  size_t n = 1;
  for (int i = 0; i < ndim; i++) n *= dims[i];
  float *p = tu_fvec(n, -1, 1);
  float *s1 = fconst(n, oc->state_init), *s2 = fconst(n, 0.0f);
  clnn_tensor *tp = tu_tensor(ctx, ndim, dims, p), *tg = tu_tensor(ctx, ndim, dims, NULL);
  clnn_tensor *ts1 = tu_tensor(ctx, ndim, dims, s1), *ts2 = tu_tensor(ctx, ndim, dims, s2);
  int has_s1 = 1, has_s2 = 0;
  if (oc->kind == OPT_SGD) {
    has_s1 = oc->sgd.momentum > 0;
    if (oc->sgd.first_step) clnn_tensor_fill(ts1, NAN); /* not read on the first step */
  }
  if (oc->kind == OPT_ADAM) has_s2 = 1;
  if (oc->kind == OPT_RMSPROP) has_s2 = oc->rms.momentum > 0;
  int ok = 1;
  for (int step = 1; step <= STEPS && ok; step++) {
    float *g = tu_fvec(n, -1, 1);
    clnn_tensor_write(tg, g, n);
    switch (oc->kind) {
      case OPT_SGD: {
        clnn_sgd_params sp = oc->sgd;
        sp.first_step = oc->sgd.first_step && step == 1;
        TU_OK(clnn_sgd_step(ctx, &sp, tp, tg, has_s1 ? ts1 : NULL));
        ref_sgd_step(n, p, g, has_s1 ? s1 : NULL, sp.lr, sp.momentum, sp.dampening,
                     sp.weight_decay, sp.nesterov, sp.first_step);
        break;
      }
      case OPT_ADAM:
        TU_OK(clnn_adam_step(ctx, &oc->adam, step, tp, tg, ts1, ts2));
        ref_adam_step(n, p, g, s1, s2, oc->adam.lr, oc->adam.beta1, oc->adam.beta2, oc->adam.eps,
                      oc->adam.weight_decay, oc->adam.decoupled_weight_decay, step);
        break;
      case OPT_RMSPROP:
        TU_OK(clnn_rmsprop_step(ctx, &oc->rms, tp, tg, ts1, has_s2 ? ts2 : NULL));
        ref_rmsprop_step(n, p, g, s1, has_s2 ? s2 : NULL, oc->rms.lr, oc->rms.alpha, oc->rms.eps,
                         oc->rms.weight_decay, oc->rms.momentum);
        break;
      case OPT_ADAGRAD:
        TU_OK(clnn_adagrad_step(ctx, &oc->ada, tp, tg, ts1));
        ref_adagrad_step(n, p, g, s1, oc->ada.lr, oc->ada.eps, oc->ada.weight_decay);
        break;
    }
    free(g);
    char what[200];
    float *got = tu_read(tp);
    snprintf(what, sizeof what, "%s %s n=%zu step %d: param", mode, oc->name, n, step);
    ok &= tu_allclose(got, p, n, RTOL, atol_for(p, n), what);
    free(got);
    if (has_s1) {
      got = tu_read(ts1);
      snprintf(what, sizeof what, "%s %s n=%zu step %d: state 1", mode, oc->name, n, step);
      ok &= tu_allclose(got, s1, n, RTOL, atol_for(s1, n), what);
      free(got);
    }
    if (has_s2) {
      got = tu_read(ts2);
      snprintf(what, sizeof what, "%s %s n=%zu step %d: state 2", mode, oc->name, n, step);
      ok &= tu_allclose(got, s2, n, RTOL, atol_for(s2, n), what);
      free(got);
    }
  }
  free(p); free(s1); free(s2);
  clnn_tensor_destroy(tp); clnn_tensor_destroy(tg); clnn_tensor_destroy(ts1); clnn_tensor_destroy(ts2);
}

static const opt_case cases[] = {
    {.name = "sgd", .kind = OPT_SGD, .sgd = SGD(.lr = 0.1f)},
    {.name = "sgd wd", .kind = OPT_SGD, .sgd = SGD(.lr = 0.05f, .weight_decay = 0.01f)},
    {.name = "sgd momentum", .kind = OPT_SGD, .sgd = SGD(.lr = 0.05f, .momentum = 0.9f, .first_step = 1)},
    {.name = "sgd momentum dampening", .kind = OPT_SGD,
     .sgd = SGD(.lr = 0.05f, .momentum = 0.9f, .dampening = 0.3f, .first_step = 1)},
    /* first_step never set: the velocity starts at zero and step 1 is dampened */
    {.name = "sgd momentum dampening wd, zeroed velocity", .kind = OPT_SGD,
     .sgd = SGD(.lr = 0.05f, .momentum = 0.8f, .dampening = 0.5f, .weight_decay = 0.02f)},
    {.name = "sgd nesterov", .kind = OPT_SGD,
     .sgd = SGD(.lr = 0.05f, .momentum = 0.9f, .nesterov = 1, .first_step = 1)},
    {.name = "sgd nesterov wd", .kind = OPT_SGD,
     .sgd = SGD(.lr = 0.02f, .momentum = 0.8f, .weight_decay = 0.02f, .nesterov = 1, .first_step = 1)},
    {.name = "adam", .kind = OPT_ADAM, .adam = ADAM(.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f)},
    {.name = "adam l2", .kind = OPT_ADAM,
     .adam = ADAM(.lr = 1e-2f, .beta1 = 0.9f, .beta2 = 0.99f, .eps = 1e-6f, .weight_decay = 0.1f)},
    {.name = "adamw", .kind = OPT_ADAM,
     .adam = ADAM(.lr = 1e-2f, .beta1 = 0.8f, .beta2 = 0.95f, .eps = 1e-8f, .weight_decay = 0.1f,
              .decoupled_weight_decay = 1)},
    {.name = "adam beta1=0", .kind = OPT_ADAM, .adam = ADAM(.lr = 1e-2f, .beta1 = 0.0f, .beta2 = 0.5f, .eps = 1e-3f)},
    {.name = "rmsprop", .kind = OPT_RMSPROP, .rms = RMSPROP(.lr = 1e-2f, .alpha = 0.99f, .eps = 1e-8f)},
    {.name = "rmsprop wd", .kind = OPT_RMSPROP,
     .rms = RMSPROP(.lr = 1e-2f, .alpha = 0.9f, .eps = 1e-6f, .weight_decay = 0.05f)},
    {.name = "rmsprop momentum", .kind = OPT_RMSPROP,
     .rms = RMSPROP(.lr = 1e-2f, .alpha = 0.99f, .eps = 1e-8f, .momentum = 0.9f)},
    {.name = "rmsprop momentum wd", .kind = OPT_RMSPROP,
     .rms = RMSPROP(.lr = 5e-3f, .alpha = 0.95f, .eps = 1e-8f, .weight_decay = 0.01f, .momentum = 0.5f)},
    {.name = "adagrad", .kind = OPT_ADAGRAD, .ada = ADAGRAD(.lr = 0.1f, .eps = 1e-10f)},
    {.name = "adagrad wd init 0.1", .kind = OPT_ADAGRAD,
     .ada = ADAGRAD(.lr = 0.05f, .eps = 1e-10f, .weight_decay = 0.1f), .state_init = 0.1f},
};

/* ---- clipping ---- */
static void check_clip(clnn_context *ctx, const char *mode) {
  static const size_t sizes[] = {7, 4773, 100003, 1};
  enum { COUNT = 4 };
  float *host[COUNT], *want[COUNT];
  clnn_tensor *t[COUNT];
  /* max_norm below the norm (clips), far above it (no change), 0 (zeros), NULL total_norm */
  const float max_norms[] = {1.0f, 1e6f, 0.0f, 5.0f};
  for (int trial = 0; trial < 4; trial++) {
    for (int i = 0; i < COUNT; i++) {
      host[i] = tu_fvec(sizes[i], -1, 1);
      want[i] = malloc(sizeof(float) * sizes[i]);
      memcpy(want[i], host[i], sizeof(float) * sizes[i]);
      t[i] = tu_tensor(ctx, 1, &sizes[i], host[i]);
    }
    double norm_ref = ref_clip_grad_norm(want, sizes, COUNT, max_norms[trial]);
    float norm = -1.0f;
    TU_OK(clnn_clip_grad_norm(ctx, t, COUNT, max_norms[trial], trial == 3 ? NULL : &norm));
    char what[160];
    if (trial != 3)
      TU_CHECK(fabs(norm - norm_ref) <= 1e-5 * norm_ref, "%s clip total_norm %.9g vs %.9g", mode,
               (double)norm, norm_ref);
    else
      TU_CHECK(norm == -1.0f, "%s clip: total_norm NULL -> nothing written", mode);
    for (int i = 0; i < COUNT; i++) {
      float *got = tu_read(t[i]);
      snprintf(what, sizeof what, "%s clip max_norm=%g grads[%d]", mode, (double)max_norms[trial], i);
      tu_allclose(got, want[i], sizes[i], RTOL, 1e-7f, what);
      if (trial == 1)
        TU_CHECK(!memcmp(got, host[i], sizeof(float) * sizes[i]),
                 "%s clip with a large max_norm leaves grads[%d] bitwise unchanged", mode, i);
      free(got);
    }
    /* the clipped norm is max_norm */
    if (trial == 0) {
      float after = 0;
      TU_OK(clnn_clip_grad_norm(ctx, t, COUNT, 1e6f, &after));
      TU_CHECK(fabsf(after - 1.0f) < 1e-5f, "%s norm after clipping to 1 is %.8g", mode, (double)after);
    }
    for (int i = 0; i < COUNT; i++) {
      free(host[i]);
      free(want[i]);
      clnn_tensor_destroy(t[i]);
    }
  }
  /* determinism: the same gradients give a bitwise identical norm, run after run */
  {
    size_t big = 300007;
    float *h = tu_fvec(big, -3, 3);
    clnn_tensor *tb = tu_tensor(ctx, 1, &big, h);
    float first = 0, again = 0;
    int same = 1;
    TU_OK(clnn_clip_grad_norm(ctx, &tb, 1, 1e30f, &first));
    for (int r = 0; r < 3; r++) {
      TU_OK(clnn_clip_grad_norm(ctx, &tb, 1, 1e30f, &again));
      same &= memcmp(&first, &again, sizeof first) == 0;
    }
    TU_CHECK(same, "%s clip norm bitwise identical over runs", mode);
    double want_norm = 0;
    for (size_t i = 0; i < big; i++) want_norm += (double)h[i] * h[i];
    want_norm = sqrt(want_norm);
    TU_CHECK(fabs(first - want_norm) <= 1e-5 * want_norm, "%s clip norm of 300007 values %.9g vs %.9g",
             mode, (double)first, want_norm);
    free(h);
    clnn_tensor_destroy(tb);
  }
  /* a NaN gradient makes the norm and every gradient NaN (as torch.nn.utils.clip_grad_norm_) */
  {
    size_t a = 10, b = 5;
    float *ha = tu_fvec(a, -1, 1), *hb = tu_fvec(b, -1, 1);
    ha[3] = NAN;
    clnn_tensor *tt[2] = {tu_tensor(ctx, 1, &a, ha), tu_tensor(ctx, 1, &b, hb)};
    float norm = 0;
    TU_OK(clnn_clip_grad_norm(ctx, tt, 2, 1.0f, &norm));
    TU_CHECK(isnan(norm), "%s clip: NaN gradient gives a NaN norm (%g)", mode, (double)norm);
    float *gb = tu_read(tt[1]);
    int all_nan = 1;
    for (size_t i = 0; i < b; i++) all_nan &= isnan(gb[i]);
    TU_CHECK(all_nan, "%s clip: NaN norm propagates to the other gradients", mode);
    free(gb); free(ha); free(hb);
    clnn_tensor_destroy(tt[0]);
    clnn_tensor_destroy(tt[1]);
  }
}

/* ---- error paths ---- */
#define SENTINEL 42.0f
static void expect_unchanged(clnn_tensor *t, float value, const char *what, int line) {
  float *v = tu_read(t);
  int same = 1;
  for (size_t i = 0; i < clnn_tensor_numel(t); i++) same &= v[i] == value;
  tu_check_(same, __FILE__, line, "%s unchanged after failed calls", what);
  free(v);
}
#define UNCHANGED(t, v) expect_unchanged((t), (v), #t, __LINE__)
static void expect_msg(const char *a, const char *b, int line) {
  const char *m = clnn_last_error();
  tu_check_(strstr(m, a) && (!b || strstr(m, b)), __FILE__, line,
            "message names '%s'%s%s: %s", a, b ? " and " : "", b ? b : "", m);
}
#define MSG(a, b) expect_msg((a), (b), __LINE__)

static void check_errors(clnn_context *ctx) {
  clnn_context *other = NULL;
  TU_OK(clnn_context_create(NULL, &other));
  size_t d[2] = {4, 5}, dbad[2] = {3, 7}, d20[1] = {20};
  clnn_tensor *tp = tu_tensor(ctx, 2, d, NULL), *tg = tu_tensor(ctx, 2, d, NULL);
  clnn_tensor *s1 = tu_tensor(ctx, 2, d, NULL), *s2 = tu_tensor(ctx, 2, d, NULL);
  clnn_tensor *bad = tu_tensor(ctx, 2, dbad, NULL), *flat = tu_tensor(ctx, 1, d20, NULL);
  clnn_tensor *po = tu_tensor(other, 2, d, NULL);
  clnn_tensor *mine[] = {tp, tg, s1, s2, bad, flat};
  for (size_t i = 0; i < 6; i++) clnn_tensor_fill(mine[i], SENTINEL);
  clnn_tensor_fill(tg, 1.0f);

  /* SGD */
  clnn_sgd_params sgd = SGD(.lr = 0.1f, .momentum = 0.9f);
  TU_STATUS(clnn_sgd_step(NULL, &sgd, tp, tg, s1), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_sgd_step(ctx, NULL, tp, tg, s1), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_sgd_step(ctx, &sgd, NULL, tg, s1), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_sgd_step(ctx, &sgd, tp, NULL, s1), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_sgd_step(ctx, &sgd, tp, tg, NULL), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("velocity", NULL);
  TU_STATUS(clnn_sgd_step(ctx, &sgd, po, tg, s1), CLNN_ERROR_CONTEXT_MISMATCH);
  TU_STATUS(clnn_sgd_step(ctx, &sgd, tp, tg, bad), CLNN_ERROR_SHAPE_MISMATCH);
  MSG("[3, 7]", "[4, 5]");
  TU_STATUS(clnn_sgd_step(ctx, &sgd, tp, bad, s1), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(clnn_sgd_step(ctx, &sgd, tp, tg, tg), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_sgd_step(ctx, &sgd, tp, tp, s1), CLNN_ERROR_INVALID_ARGUMENT);
  {
    clnn_sgd_params b = sgd;
    b.lr = -0.1f;
    TU_STATUS(clnn_sgd_step(ctx, &b, tp, tg, s1), CLNN_ERROR_INVALID_ARGUMENT);
    MSG("lr", NULL);
    b.lr = NAN;
    TU_STATUS(clnn_sgd_step(ctx, &b, tp, tg, s1), CLNN_ERROR_INVALID_ARGUMENT);
    b.lr = INFINITY;
    TU_STATUS(clnn_sgd_step(ctx, &b, tp, tg, s1), CLNN_ERROR_INVALID_ARGUMENT);
    b = sgd;
    b.momentum = -0.5f;
    TU_STATUS(clnn_sgd_step(ctx, &b, tp, tg, s1), CLNN_ERROR_INVALID_ARGUMENT);
    b = sgd;
    b.dampening = 1.5f;
    TU_STATUS(clnn_sgd_step(ctx, &b, tp, tg, s1), CLNN_ERROR_INVALID_ARGUMENT);
    b = sgd;
    b.weight_decay = -1.0f;
    TU_STATUS(clnn_sgd_step(ctx, &b, tp, tg, s1), CLNN_ERROR_INVALID_ARGUMENT);
    b = sgd;
    b.nesterov = 1;
    b.dampening = 0.1f;
    TU_STATUS(clnn_sgd_step(ctx, &b, tp, tg, s1), CLNN_ERROR_INVALID_ARGUMENT);
    MSG("Nesterov", NULL);
    b.dampening = 0.0f;
    b.momentum = 0.0f;
    TU_STATUS(clnn_sgd_step(ctx, &b, tp, tg, s1), CLNN_ERROR_INVALID_ARGUMENT);
  }
  /* Adam */
  clnn_adam_params adam = ADAM(.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f);
  TU_STATUS(clnn_adam_step(NULL, &adam, 1, tp, tg, s1, s2), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_adam_step(ctx, NULL, 1, tp, tg, s1, s2), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_adam_step(ctx, &adam, 1, tp, tg, NULL, s2), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_adam_step(ctx, &adam, 1, tp, tg, s1, NULL), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_adam_step(ctx, &adam, 0, tp, tg, s1, s2), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("step", NULL);
  TU_STATUS(clnn_adam_step(ctx, &adam, -3, tp, tg, s1, s2), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_adam_step(ctx, &adam, 1, tp, tg, s1, bad), CLNN_ERROR_SHAPE_MISMATCH);
  MSG("[3, 7]", "[4, 5]");
  TU_STATUS(clnn_adam_step(ctx, &adam, 1, tp, tg, s1, s1), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_adam_step(ctx, &adam, 1, tp, tg, po, s2), CLNN_ERROR_CONTEXT_MISMATCH);
  {
    clnn_adam_params b = adam;
    b.beta1 = 1.0f;
    TU_STATUS(clnn_adam_step(ctx, &b, 1, tp, tg, s1, s2), CLNN_ERROR_INVALID_ARGUMENT);
    MSG("beta1", NULL);
    b = adam;
    b.beta2 = -0.1f;
    TU_STATUS(clnn_adam_step(ctx, &b, 1, tp, tg, s1, s2), CLNN_ERROR_INVALID_ARGUMENT);
    b.beta2 = NAN;
    TU_STATUS(clnn_adam_step(ctx, &b, 1, tp, tg, s1, s2), CLNN_ERROR_INVALID_ARGUMENT);
    b = adam;
    b.eps = 0.0f;
    TU_STATUS(clnn_adam_step(ctx, &b, 1, tp, tg, s1, s2), CLNN_ERROR_INVALID_ARGUMENT);
    MSG("eps", NULL);
    b = adam;
    b.lr = -1e-3f;
    TU_STATUS(clnn_adam_step(ctx, &b, 1, tp, tg, s1, s2), CLNN_ERROR_INVALID_ARGUMENT);
    b = adam;
    b.weight_decay = NAN;
    TU_STATUS(clnn_adam_step(ctx, &b, 1, tp, tg, s1, s2), CLNN_ERROR_INVALID_ARGUMENT);
  }
  /* RMSProp */
  clnn_rmsprop_params rms = RMSPROP(.lr = 1e-2f, .alpha = 0.99f, .eps = 1e-8f, .momentum = 0.9f);
  TU_STATUS(clnn_rmsprop_step(ctx, &rms, tp, tg, s1, NULL), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("momentum_buf", NULL);
  TU_STATUS(clnn_rmsprop_step(ctx, &rms, tp, tg, NULL, s2), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_rmsprop_step(ctx, NULL, tp, tg, s1, s2), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_rmsprop_step(ctx, &rms, tp, tg, bad, s2), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(clnn_rmsprop_step(ctx, &rms, tp, tg, s1, s1), CLNN_ERROR_INVALID_ARGUMENT);
  {
    clnn_rmsprop_params b = rms;
    b.alpha = 1.5f;
    TU_STATUS(clnn_rmsprop_step(ctx, &b, tp, tg, s1, s2), CLNN_ERROR_INVALID_ARGUMENT);
    MSG("alpha", NULL);
    b = rms;
    b.eps = -1.0f;
    TU_STATUS(clnn_rmsprop_step(ctx, &b, tp, tg, s1, s2), CLNN_ERROR_INVALID_ARGUMENT);
    b = rms;
    b.momentum = -0.1f;
    TU_STATUS(clnn_rmsprop_step(ctx, &b, tp, tg, s1, s2), CLNN_ERROR_INVALID_ARGUMENT);
  }
  /* AdaGrad */
  clnn_adagrad_params ada = ADAGRAD(.lr = 0.1f, .eps = 1e-10f);
  TU_STATUS(clnn_adagrad_step(ctx, &ada, tp, tg, NULL), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_adagrad_step(ctx, &ada, tp, tg, bad), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(clnn_adagrad_step(ctx, &ada, tp, tg, tp), CLNN_ERROR_INVALID_ARGUMENT);
  {
    clnn_adagrad_params b = ada;
    b.eps = 0.0f;
    TU_STATUS(clnn_adagrad_step(ctx, &b, tp, tg, s1), CLNN_ERROR_INVALID_ARGUMENT);
    b = ada;
    b.lr = NAN;
    TU_STATUS(clnn_adagrad_step(ctx, &b, tp, tg, s1), CLNN_ERROR_INVALID_ARGUMENT);
  }
  /* clipping */
  clnn_tensor *grads[3] = {tg, bad, flat};
  clnn_tensor *dup[2] = {tg, tg}, *with_null[2] = {tg, NULL}, *foreign[2] = {tg, po};
  float norm = -7.0f;
  TU_STATUS(clnn_clip_grad_norm(NULL, grads, 3, 1.0f, &norm), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_clip_grad_norm(ctx, NULL, 3, 1.0f, &norm), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_clip_grad_norm(ctx, grads, 0, 1.0f, &norm), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_clip_grad_norm(ctx, with_null, 2, 1.0f, &norm), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_clip_grad_norm(ctx, dup, 2, 1.0f, &norm), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("grads[0]", "grads[1]");
  TU_STATUS(clnn_clip_grad_norm(ctx, foreign, 2, 1.0f, &norm), CLNN_ERROR_CONTEXT_MISMATCH);
  TU_STATUS(clnn_clip_grad_norm(ctx, grads, 3, -1.0f, &norm), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_clip_grad_norm(ctx, grads, 3, NAN, &norm), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_clip_grad_norm(ctx, grads, 3, INFINITY, &norm), CLNN_ERROR_INVALID_ARGUMENT);
  TU_CHECK(norm == -7.0f, "total_norm untouched by failed clip calls");

  clnn_context_finish(ctx);
  UNCHANGED(tp, SENTINEL);
  UNCHANGED(tg, 1.0f);
  UNCHANGED(s1, SENTINEL);
  UNCHANGED(s2, SENTINEL);
  UNCHANGED(bad, SENTINEL);
  UNCHANGED(flat, SENTINEL);

  for (size_t i = 0; i < 6; i++) clnn_tensor_destroy(mine[i]);
  clnn_tensor_destroy(po);
  clnn_context_destroy(other);
}

int main(void) {
  clnn_context *ctx = tu_context();
  tu_seed(777);
  size_t d1[1] = {1}, d7[1] = {7}, d2[2] = {37, 129}, dbig[1] = {100003};
  const int saved_class = ctx->device_class;
  for (int mode = 0; mode < 2; mode++) {
    ctx->device_class = mode ? CLNN_DEVICE_CLASS_GPU : CLNN_DEVICE_CLASS_CPU;
    const char *name = mode ? "gpu-shape" : "cpu-shape";
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
      run_case(ctx, &cases[c], 1, d1, name);
      run_case(ctx, &cases[c], 1, d7, name);
      run_case(ctx, &cases[c], 2, d2, name);
      run_case(ctx, &cases[c], 1, dbig, name);
    }
    check_clip(ctx, name);
  }
  ctx->device_class = saved_class;
  check_errors(ctx);
  clnn_context_destroy(ctx);
  return tu_finish("test_optim");
}
