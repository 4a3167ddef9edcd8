/* tests/test_attention.c — scaled dot-product attention against the plain-C reference (full
 * weight matrices in double): both layouts, Tq == Tk and Tq < Tk (decoding with cached keys),
 * sequence lengths that are not multiples of the tile, Dh from 1 to 128, causal and key-length
 * masks, dropout on the weights (the mask of clnn_dropout_*), backward with beta 0 over NaN
 * garbage, beta 1 and 0.5, gradients not requested, bitwise run-to-run determinism, central finite
 * differences, the GPU launch shape (the test flips the context's device class), and every error
 * path (right status, message naming the argument, nothing written). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attention_ref.h"
#include "internal.h"
#include "test_util.h"

typedef struct acase {
  size_t B, H, Tq, Tk, Dh;
  int bthd, causal, with_len;
  float p, scale;
} acase;

static void dims_of(const acase *c, size_t T, int *ndim, size_t *d) {
  if (c->bthd) {
    *ndim = 3;
    d[0] = c->B, d[1] = T, d[2] = c->H * c->Dh;
  } else {
    *ndim = 4;
    d[0] = c->B, d[1] = c->H, d[2] = T, d[3] = c->Dh;
  }
}

static void check_case(clnn_context *ctx, const acase *c, const char *mode) {
  char what[300], tag[200];
  snprintf(tag, sizeof tag, "%s B=%zu H=%zu Tq=%zu Tk=%zu Dh=%zu %s causal=%d len=%d p=%g", mode,
           c->B, c->H, c->Tq, c->Tk, c->Dh, c->bthd ? "BTHD" : "BHTD", c->causal, c->with_len,
           (double)c->p);
  size_t nq = c->B * c->H * c->Tq * c->Dh, nk = c->B * c->H * c->Tk * c->Dh, nl = c->B * c->H * c->Tq;
  int32_t *lens_ref = malloc(c->B * sizeof(int32_t)), *lens = malloc(c->B * sizeof(int32_t));
  for (size_t b = 0; b < c->B; b++) lens_ref[b] = 1 + (int32_t)(tu_uniform(0, 1) * (float)c->Tk) % (int32_t)c->Tk;
  lens_ref[0] = (int32_t)c->Tk;
  if (c->B > 1) lens_ref[1] = 1;
  memcpy(lens, lens_ref, c->B * sizeof(int32_t));
  clnn_attention_params p;
  clnn_attention_params_init(&p);
  p.layout = c->bthd ? CLNN_ATTENTION_BTHD : CLNN_ATTENTION_BHTD;
  p.heads = c->bthd ? (int)c->H : 0;
  p.scale = c->scale;
  p.causal = c->causal;
  p.lengths = c->with_len ? lens : NULL;
  p.num_lengths = c->B;
  p.dropout = c->p;
  p.seed = 0x1234567890ULL;
  p.offset = 77;
  ref_attn_cfg rc = {c->B, c->H, c->Tq, c->Tk, c->Dh, c->bthd,
                     c->scale > 0 ? c->scale : 1.0 / sqrt((double)c->Dh), c->causal,
                     c->with_len ? lens_ref : NULL, c->p, p.seed, p.offset};
  int nd;
  size_t qd[5], kd[5], ld[3] = {c->B, c->H, c->Tq};
  dims_of(c, c->Tq, &nd, qd);
  dims_of(c, c->Tk, &nd, kd);
  float *q = tu_fvec(nq, -1.5f, 1.5f), *k = tu_fvec(nk, -1.5f, 1.5f), *v = tu_fvec(nk, -1, 1);
  float *o = malloc(nq * 4), *lse = malloc(nl * 4);
  clnn_tensor *tq = tu_tensor(ctx, nd, qd, q), *tk = tu_tensor(ctx, nd, kd, k), *tv = tu_tensor(ctx, nd, kd, v);
  clnn_tensor *to = tu_guarded(ctx, nd, qd), *tl = tu_guarded(ctx, 3, ld);
  clnn_tensor_fill(to, NAN);
  clnn_tensor_fill(tl, NAN);
  TU_OK(clnn_attention_forward(ctx, &p, tq, tk, tv, to, tl));
  for (size_t b = 0; b < c->B; b++) lens[b] = -5; /* copied by the call: must not matter now */
  ref_attention_forward(&rc, q, k, v, o, lse);
  float *go = tu_read(to), *gl = tu_read(tl);
  snprintf(what, sizeof what, "forward o %s", tag);
  tu_allclose(go, o, nq, 1e-4f, 3e-5f, what);
  tu_check_guard(to, what);
  snprintf(what, sizeof what, "forward lse %s", tag);
  tu_allclose(gl, lse, nl, 1e-5f, 1e-5f, what);
  tu_check_guard(tl, what);
  memcpy(lens, lens_ref, c->B * sizeof(int32_t));
  /* without lse: the same o, bit for bit */
  TU_OK(clnn_attention_forward(ctx, &p, tq, tk, tv, to, NULL));
  float *go2 = tu_read(to);
  TU_CHECK(!memcmp(go, go2, nq * 4), "forward without lse gives the same o bitwise %s", tag);
  free(go2);

  /* backward */
  float *dout = tu_fvec(nq, -1, 1), *dq0 = tu_fvec(nq, -1, 1), *dk0 = tu_fvec(nk, -1, 1), *dv0 = tu_fvec(nk, -1, 1);
  clnn_tensor *tdo = tu_tensor(ctx, nd, qd, dout);
  clnn_tensor *tdq = tu_guarded(ctx, nd, qd), *tdk = tu_guarded(ctx, nd, kd), *tdv = tu_guarded(ctx, nd, kd);
  for (int bi = 0; bi < TU_NBETAS; bi++) {
    const float beta = tu_betas[bi];
    float *wq = tu_fcopy(dq0, nq), *wk = tu_fcopy(dk0, nk), *wv = tu_fcopy(dv0, nk);
    if (beta != 0.0f) {
      clnn_tensor_write(tdq, dq0, nq);
      clnn_tensor_write(tdk, dk0, nk);
      clnn_tensor_write(tdv, dv0, nk);
    } else {
      clnn_tensor_fill(tdq, NAN);
      clnn_tensor_fill(tdk, NAN);
      clnn_tensor_fill(tdv, NAN);
    }
    TU_OK(clnn_attention_backward(ctx, &p, tq, tk, tv, to, tl, tdo, beta, tdq, tdk, tdv));
    ref_attention_backward(&rc, q, k, v, dout, beta, wq, wk, wv);
    float *gq = tu_read(tdq), *gk = tu_read(tdk), *gv = tu_read(tdv);
    snprintf(what, sizeof what, "backward dq beta=%g %s", beta, tag);
    tu_allclose(gq, wq, nq, 1e-3f, 1e-4f, what);
    tu_check_guard(tdq, what);
    snprintf(what, sizeof what, "backward dk beta=%g %s", beta, tag);
    tu_allclose(gk, wk, nk, 1e-3f, 1e-4f, what);
    tu_check_guard(tdk, what);
    snprintf(what, sizeof what, "backward dv beta=%g %s", beta, tag);
    tu_allclose(gv, wv, nk, 1e-3f, 1e-4f, what);
    tu_check_guard(tdv, what);
    free(gq); free(gk); free(gv); free(wq); free(wk); free(wv);
  }
  /* bitwise determinism, and only dk requested */
  {
    float *a = tu_read(tdq), *ak = tu_read(tdk);
    TU_OK(clnn_attention_backward(ctx, &p, tq, tk, tv, to, tl, tdo, 0.0f, tdq, tdk, tdv));
    float *a1 = tu_read(tdq), *a1k = tu_read(tdk);
    TU_OK(clnn_attention_backward(ctx, &p, tq, tk, tv, to, tl, tdo, 0.0f, tdq, tdk, tdv));
    float *a2 = tu_read(tdq), *a2k = tu_read(tdk);
    TU_CHECK(!memcmp(a1, a2, nq * 4) && !memcmp(a1k, a2k, nk * 4), "backward bitwise repeatable %s", tag);
    clnn_tensor_fill(tdq, 7.0f);
    clnn_tensor_fill(tdv, 7.0f);
    clnn_tensor_fill(tdk, NAN);
    TU_OK(clnn_attention_backward(ctx, &p, tq, tk, tv, to, tl, tdo, 0.0f, NULL, tdk, NULL));
    float *a3k = tu_read(tdk);
    TU_CHECK(!memcmp(a3k, a2k, nk * 4), "dk alone equals dk computed with dq and dv %s", tag);
    tu_check_all(tdq, 7.0f, "dq untouched when NULL");
    tu_check_all(tdv, 7.0f, "dv untouched when NULL");
    free(a); free(ak); free(a1); free(a1k); free(a2); free(a2k); free(a3k);
  }
  free(go); free(gl); free(dout); free(dq0); free(dk0); free(dv0);
  free(q); free(k); free(v); free(o); free(lse); free(lens); free(lens_ref);
  clnn_tensor *all[] = {tq, tk, tv, to, tl, tdo, tdq, tdk, tdv};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) clnn_tensor_destroy(all[i]);
}

/* ---- finite differences of loss = sum r .* o(q, k, v) ---- */
typedef struct fd_case {
  ref_attn_cfg c;
  float *q, *k, *v, *r;
} fd_case;
static double fd_loss(void *user) {
  fd_case *f = user;
  return ref_attention_loss(&f->c, f->q, f->k, f->v, f->r);
}

static void check_finite_differences(clnn_context *ctx, int causal, int with_len, float p_drop) {
  const size_t B = 2, H = 2, T = 6, Dh = 4, n = B * H * T * Dh;
  int32_t lens[2] = {6, 4};
  fd_case f;
  ref_attn_cfg rc = {B, H, T, T, Dh, 0, 0.5, causal, with_len ? lens : NULL, p_drop, 99, 5};
  f.c = rc;
  f.q = tu_fvec(n, -1, 1);
  f.k = tu_fvec(n, -1, 1);
  f.v = tu_fvec(n, -1, 1);
  f.r = tu_fvec(n, -1, 1);
  clnn_attention_params p;
  clnn_attention_params_init(&p);
  p.scale = 0.5f;
  p.causal = causal;
  p.lengths = with_len ? lens : NULL;
  p.num_lengths = 2;
  p.dropout = p_drop;
  p.seed = 99;
  p.offset = 5;
  size_t d[4] = {B, H, T, Dh}, ld[3] = {B, H, T};
  clnn_tensor *tq = tu_tensor(ctx, 4, d, f.q), *tk = tu_tensor(ctx, 4, d, f.k), *tv = tu_tensor(ctx, 4, d, f.v);
  clnn_tensor *to = tu_tensor(ctx, 4, d, NULL), *tl = tu_tensor(ctx, 3, ld, NULL), *tdo = tu_tensor(ctx, 4, d, f.r);
  clnn_tensor *tdq = tu_tensor(ctx, 4, d, NULL), *tdk = tu_tensor(ctx, 4, d, NULL), *tdv = tu_tensor(ctx, 4, d, NULL);
  TU_OK(clnn_attention_forward(ctx, &p, tq, tk, tv, to, tl));
  TU_OK(clnn_attention_backward(ctx, &p, tq, tk, tv, to, tl, tdo, 0.0f, tdq, tdk, tdv));
  float *g[3] = {tu_read(tdq), tu_read(tdk), tu_read(tdv)};
  float *x[3] = {f.q, f.k, f.v};
  const char *names[3] = {"dq", "dk", "dv"};
  float *fd = malloc(n * 4);
  for (int t = 0; t < 3; t++) {
    for (size_t i = 0; i < n; i++) fd[i] = (float)tu_fd(x[t], i, 1e-3f, fd_loss, &f);
    char what[160];
    snprintf(what, sizeof what, "attention %s vs finite differences (causal=%d len=%d p=%g)", names[t],
             causal, with_len, (double)p_drop);
    tu_allclose(g[t], fd, n, 2e-3f, 2e-3f, what);
    free(g[t]);
  }
  free(fd); free(f.q); free(f.k); free(f.v); free(f.r);
  clnn_tensor *all[] = {tq, tk, tv, to, tl, tdo, tdq, tdk, tdv};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) clnn_tensor_destroy(all[i]);
}

/* The dropout mask is the one clnn_dropout_forward draws for the same (seed, offset): with v the
 * identity-like one-hot rows and one key per query visible... checked directly: with a single key
 * (Tk = 1) every weight is 1, so o = keep * v / (1 - p) element by element of the weights. */
static void check_dropout_stream(clnn_context *ctx) {
  const size_t B = 2, H = 3, T = 40;
  size_t qd[4] = {B, H, T, 1}, kd[4] = {B, H, 1, 1}, n = B * H * T;
  float *ones = malloc(n * 4);
  for (size_t i = 0; i < n; i++) ones[i] = 1.0f;
  clnn_tensor *tq = tu_tensor(ctx, 4, qd, ones), *tk = tu_tensor(ctx, 4, kd, ones), *tv = tu_tensor(ctx, 4, kd, ones);
  clnn_tensor *to = tu_tensor(ctx, 4, qd, NULL), *tx = tu_tensor(ctx, 1, &n, ones), *ty = tu_tensor(ctx, 1, &n, NULL);
  clnn_attention_params p;
  clnn_attention_params_init(&p);
  p.dropout = 0.3f;
  p.seed = 4242;
  p.offset = 13;
  TU_OK(clnn_attention_forward(ctx, &p, tq, tk, tv, to, NULL));
  TU_OK(clnn_dropout_forward(ctx, 0.3f, 4242, 13, tx, ty));
  float *a = tu_read(to), *b = tu_read(ty);
  size_t kept = 0;
  for (size_t i = 0; i < n; i++) kept += b[i] != 0.0f;
  tu_allclose(a, b, n, 1e-6f, 0.0f, "attention dropout mask equals clnn_dropout_forward's (Tk = 1)");
  TU_CHECK(kept > n / 2 && kept < n, "dropout kept %zu of %zu weights (p = 0.3)", kept, n);
  free(a); free(b); free(ones);
  clnn_tensor *all[] = {tq, tk, tv, to, tx, ty};
  for (int i = 0; i < 6; i++) clnn_tensor_destroy(all[i]);
}

/* ---- error paths ---- */
#define SENTINEL 42.0f
#define MSG(a) TU_MSG(a)

static void check_errors(clnn_context *ctx) {
  clnn_context *other = NULL;
  TU_OK(clnn_context_create(NULL, &other));
  size_t qd[4] = {2, 2, 5, 4}, kd[4] = {2, 2, 7, 4}, kbad[4] = {2, 3, 7, 4}, ld[3] = {2, 2, 5};
  size_t big[4] = {1, 1, 3, 129}, m3[3] = {2, 5, 8}, k3[3] = {2, 7, 8}, l4[1] = {4};
  float *x = tu_fvec(3 * 129, -1, 1); /* the largest tensor filled from it: tbig */
  clnn_tensor *tq = tu_tensor(ctx, 4, qd, x), *tk = tu_tensor(ctx, 4, kd, x), *tv = tu_tensor(ctx, 4, kd, x);
  clnn_tensor *tkb = tu_tensor(ctx, 4, kbad, x), *tbig = tu_tensor(ctx, 4, big, x), *tqo = tu_tensor(other, 4, qd, x);
  clnn_tensor *q3 = tu_tensor(ctx, 3, m3, x), *k3t = tu_tensor(ctx, 3, k3, x), *tlse = tu_tensor(ctx, 3, ld, x);
  clnn_tensor *tdo = tu_tensor(ctx, 4, qd, x), *tob = tu_tensor(ctx, 4, qd, x);
  clnn_tensor *to = tu_tensor(ctx, 4, qd, NULL), *tl = tu_tensor(ctx, 3, ld, NULL), *tl4 = tu_tensor(ctx, 1, l4, NULL);
  clnn_tensor *tdq = tu_tensor(ctx, 4, qd, NULL), *tdk = tu_tensor(ctx, 4, kd, NULL), *tdv = tu_tensor(ctx, 4, kd, NULL);
  clnn_tensor *o3 = tu_tensor(ctx, 3, m3, NULL);
  clnn_tensor *outs[] = {to, tl, tl4, tdq, tdk, tdv, o3};
  for (int i = 0; i < 7; i++) clnn_tensor_fill(outs[i], SENTINEL);
  clnn_attention_params p, bad;
  clnn_attention_params_init(&p);
  clnn_attention_params_init(NULL); /* no-op */
  p.num_lengths = 2; /* used by the cases that set lengths (B = 2) */
  int32_t lens[2] = {7, 3}, l0[2] = {7, 0}, l8[2] = {8, 1};
#define F(pp, ...) clnn_attention_forward(ctx, (pp), __VA_ARGS__)
  TU_STATUS(clnn_attention_forward(NULL, &p, tq, tk, tv, to, tl), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(F(NULL, tq, tk, tv, to, tl), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("params");
  TU_STATUS(F(&p, NULL, tk, tv, to, tl), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(F(&p, tq, tk, NULL, to, tl), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(F(&p, tq, tk, tv, NULL, tl), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(F(&p, tqo, tk, tv, to, tl), CLNN_ERROR_CONTEXT_MISMATCH);
  TU_STATUS(F(&p, tq, tkb, tv, to, tl), CLNN_ERROR_SHAPE_MISMATCH);
  MSG("k has shape [2, 3, 7, 4]");
  TU_STATUS(F(&p, tq, tk, tkb, to, tl), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(F(&p, tq, tk, tv, tdk, tl), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(F(&p, tq, tk, tv, to, tl4), CLNN_ERROR_SHAPE_MISMATCH);
  MSG("lse");
  TU_STATUS(F(&p, tbig, tbig, tbig, tbig, NULL), CLNN_ERROR_UNSUPPORTED);
  MSG("129");
  TU_STATUS(F(&p, q3, k3t, k3t, o3, tl), CLNN_ERROR_SHAPE_MISMATCH);
  bad = p; bad.layout = CLNN_ATTENTION_BTHD; bad.heads = 3;
  TU_STATUS(F(&bad, q3, k3t, k3t, o3, tl), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("heads");
  bad.heads = 0;
  TU_STATUS(F(&bad, q3, k3t, k3t, o3, tl), CLNN_ERROR_INVALID_ARGUMENT);
  bad = p; bad.heads = 3;
  TU_STATUS(F(&bad, tq, tk, tv, to, tl), CLNN_ERROR_INVALID_ARGUMENT);
  bad = p; bad.layout = (clnn_attention_layout)7;
  TU_STATUS(F(&bad, tq, tk, tv, to, tl), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("layout");
  bad = p; bad.scale = -1.0f;
  TU_STATUS(F(&bad, tq, tk, tv, to, tl), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("scale");
  bad = p; bad.scale = NAN;
  TU_STATUS(F(&bad, tq, tk, tv, to, tl), CLNN_ERROR_INVALID_ARGUMENT);
  bad = p; bad.dropout = 1.0f;
  TU_STATUS(F(&bad, tq, tk, tv, to, tl), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("dropout");
  bad = p; bad.causal = 2;
  TU_STATUS(F(&bad, tq, tk, tv, to, tl), CLNN_ERROR_INVALID_ARGUMENT);
  bad = p; bad.causal = 1; /* Tq = 7 queries over Tk = 5 keys */
  TU_STATUS(clnn_attention_forward(ctx, &bad, tk, tq, tq, tdk, NULL), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("causal");
  bad = p; bad.lengths = l0;
  TU_STATUS(F(&bad, tq, tk, tv, to, tl), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("lengths[1] is 0");
  bad = p; bad.lengths = l8;
  TU_STATUS(F(&bad, tq, tk, tv, to, tl), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("lengths[0] is 8");
  /* the count of the host lengths is checked before any is read */
  bad = p; bad.lengths = lens; bad.num_lengths = 1;
  TU_STATUS(F(&bad, tq, tk, tv, to, tl), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("num_lengths is 1");
  TU_STATUS(F(&p, tq, tk, tv, tq, tl), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("share");
#undef F
  p.lengths = lens;
#define BW(pp, ...) clnn_attention_backward(ctx, (pp), __VA_ARGS__)
  TU_STATUS(clnn_attention_backward(NULL, &p, tq, tk, tv, tob, tlse, tdo, 0.0f, tdq, tdk, tdv), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(BW(&p, tq, tk, tv, NULL, tlse, tdo, 0.0f, tdq, tdk, tdv), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(BW(&p, tq, tk, tv, tob, NULL, tdo, 0.0f, tdq, tdk, tdv), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("lse");
  TU_STATUS(BW(&p, tq, tk, tv, tob, tlse, NULL, 0.0f, tdq, tdk, tdv), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("dout");
  TU_STATUS(BW(&p, tq, tk, tv, tob, tlse, tdo, NAN, tdq, tdk, tdv), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("beta");
  TU_STATUS(BW(&p, tq, tk, tv, tob, tl4, tdo, 0.0f, tdq, tdk, tdv), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(BW(&p, tq, tk, tv, tob, tlse, tk, 0.0f, tdq, tdk, tdv), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(BW(&p, tq, tk, tv, tob, tlse, tdo, 0.0f, tdk, tdk, tdv), CLNN_ERROR_SHAPE_MISMATCH);
  MSG("dq");
  TU_STATUS(BW(&p, tq, tk, tv, tob, tlse, tdo, 0.0f, tdq, tdq, tdv), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(BW(&p, tq, tk, tv, tob, tlse, tdo, 0.0f, tdq, tdk, tdk), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("share");
  TU_STATUS(BW(&p, tq, tk, tv, tob, tlse, tdo, 0.0f, tdq, tv, tdv), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(BW(&p, tq, tk, tv, tob, tlse, tdo, 0.0f, tdo, tdk, tdv), CLNN_ERROR_INVALID_ARGUMENT);
  bad = p; bad.lengths = l0;
  TU_STATUS(BW(&bad, tq, tk, tv, tob, tlse, tdo, 0.0f, tdq, tdk, tdv), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(BW(&p, tq, tk, tv, tob, tlse, tqo, 0.0f, tdq, tdk, tdv), CLNN_ERROR_CONTEXT_MISMATCH);
#undef BW
  clnn_context_finish(ctx);
  for (int i = 0; i < 7; i++) tu_check_all(outs[i], SENTINEL, "output after failed calls");
  clnn_tensor *all[] = {tq, tk, tv, tkb, tbig, q3, k3t, tlse, tdo, tob, to, tl, tl4, tdq, tdk, tdv, o3};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) clnn_tensor_destroy(all[i]);
  clnn_tensor_destroy(tqo);
  clnn_context_destroy(other);
  free(x);
}

int main(void) {
  clnn_context *ctx = tu_context();
  tu_seed(1357);
  /* B, H, Tq, Tk, Dh, bthd, causal, with_len, p, scale */
  static const acase cases[] = {
      {2, 3, 37, 37, 16, 0, 0, 0, 0.0f, 0.0f},  {2, 2, 50, 50, 128, 0, 1, 1, 0.0f, 0.0f},
      {2, 2, 5, 23, 8, 1, 1, 0, 0.2f, 0.3f},    {3, 1, 17, 17, 3, 0, 0, 1, 0.1f, 0.0f},
      {1, 4, 1, 33, 32, 1, 1, 1, 0.0f, 0.0f},   {1, 1, 1, 1, 1, 0, 1, 0, 0.0f, 0.0f},
      {1, 2, 130, 130, 64, 1, 1, 0, 0.1f, 0.0f}, {2, 1, 20, 45, 100, 0, 0, 1, 0.0f, 0.0f},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) check_case(ctx, &cases[i], "cpu-shape");
  const int saved_class = ctx->device_class;
  ctx->device_class = CLNN_DEVICE_CLASS_GPU;
  check_case(ctx, &cases[1], "gpu-shape");
  check_case(ctx, &cases[2], "gpu-shape");
  check_case(ctx, &cases[6], "gpu-shape");
  ctx->device_class = saved_class;
  check_finite_differences(ctx, 0, 0, 0.0f);
  check_finite_differences(ctx, 1, 1, 0.0f);
  check_finite_differences(ctx, 1, 1, 0.25f);
  check_dropout_stream(ctx);
  check_errors(ctx);
  clnn_context_destroy(ctx);
  return tu_finish("test_attention");
}
