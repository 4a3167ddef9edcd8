/* tests/test_gru.c — GRU layer: forward and backward through time vs the plain-C reference on
 * several shapes (batch 1, odd sizes, H = 32, with and without biases / h0, with per-sample
 * lengths); the reference's and the device's backward vs central finite differences of every
 * input and parameter (with lengths, h0, loss weights on y and h_n); beta 0 (over NaN), 1 and
 * 0.5; the reverse direction against the reference on reversed sequences; lengths semantics
 * (zero outputs past the end, padding to a longer T changes nothing, gradients of padded outputs
 * ignored); carrying state across calls; determinism; every error path (right status, message
 * naming the argument, outputs left as they were). */
#include "gru_ref.h"
#include "rnn_test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- one GRU problem: host data and device copies ---- */
typedef struct prob {
  size_t T, N, I, H, G;
  float *x, *wi, *wh, *bi, *bh, *h0; /* bi, bh, h0 NULL when unused */
  int32_t *len;                      /* NULL: full length */
  clnn_tensor *tx, *twi, *twh, *tbi, *tbh, *th0;
} prob;

static void prob_make(prob *p, size_t T, size_t N, size_t I, size_t H, int use_b, int use_h0,
                      int use_len) {
  memset(p, 0, sizeof *p);
  p->T = T, p->N = N, p->I = I, p->H = H, p->G = 3 * H;
  const float k = 1.0f / sqrtf((float)H) + 0.3f; /* bigger than PyTorch's init */
  p->x = rnd(T * N * I, -1.0f, 1.0f);
  p->wi = rnd(p->G * I, -k, k);
  p->wh = rnd(p->G * H, -k, k);
  p->bi = use_b ? rnd(p->G, -0.5f, 0.5f) : NULL;
  p->bh = use_b ? rnd(p->G, -0.5f, 0.5f) : NULL;
  p->h0 = use_h0 ? rnd(N * H, -0.8f, 0.8f) : NULL;
  if (use_len) {
    p->len = malloc(N * sizeof(int32_t));
    for (size_t n = 0; n < N; n++) p->len[n] = (int32_t)(1 + (n * 5 + 2) % T); /* 1..T */
    p->len[N - 1] = (int32_t)T;
  }
  p->tx = t3(T, N, I, p->x);
  p->twi = t2(p->G, I, p->wi);
  p->twh = t2(p->G, H, p->wh);
  p->tbi = use_b ? t1(p->G, p->bi) : NULL;
  p->tbh = use_b ? t1(p->G, p->bh) : NULL;
  p->th0 = use_h0 ? t2(N, H, p->h0) : NULL;
}
static void prob_free(prob *p) {
  free(p->x), free(p->wi), free(p->wh), free(p->bi), free(p->bh), free(p->h0), free(p->len);
  clnn_tensor_destroy(p->tx), clnn_tensor_destroy(p->twi), clnn_tensor_destroy(p->twh);
  clnn_tensor_destroy(p->tbi), clnn_tensor_destroy(p->tbh), clnn_tensor_destroy(p->th0);
}
static size_t nlen(const prob *p) { return p->len ? p->N : 0; }

/* Reference forward of p (float out). */
static void ref_forward(const prob *p, float *y, float *hn) {
  const size_t T = p->T, N = p->N, I = p->I, H = p->H, G = p->G;
  double *x = dcopy(p->x, T * N * I), *wi = dcopy(p->wi, G * I), *wh = dcopy(p->wh, G * H),
         *bi = dcopy(p->bi, G), *bh = dcopy(p->bh, G), *h0 = dcopy(p->h0, N * H);
  double *yd = malloc(T * N * H * 8), *hd = malloc(N * H * 8);
  gru_ref_forward_d(T, N, I, H, x, wi, wh, bi, bh, h0, p->len, yd, hd);
  for (size_t i = 0; i < T * N * H; i++) y[i] = (float)yd[i];
  for (size_t i = 0; i < N * H; i++) hn[i] = (float)hd[i];
  free(x), free(wi), free(wh), free(bi), free(bh), free(h0), free(yd), free(hd);
}

/* ============================================================================================== */
static void test_forward(size_t T, size_t N, size_t I, size_t H, int use_b, int use_h0,
                         int use_len) {
  prob p;
  prob_make(&p, T, N, I, H, use_b, use_h0, use_len);
  clnn_tensor *ty = tu_guarded(ctx, 3, (size_t[]){T, N, H}), *thn = t2(N, H, NULL);
  clnn_tensor *tres = t1(clnn_gru_reserve_numel(T, N, H), NULL);
  fill_t(ty, NAN), fill_t(thn, NAN);
  TU_OK(clnn_gru_forward(ctx, RNN_P(p.len, nlen(&p), 0), p.tx, p.twi, p.twh, p.tbi, p.tbh, p.th0, ty, thn,
                         tres));
  float *wy = malloc(T * N * H * 4), *wh = malloc(N * H * 4);
  ref_forward(&p, wy, wh);
  float *gy = tu_read(ty), *gh = tu_read(thn);
  char what[128];
  snprintf(what, sizeof what, "gru fwd y T%zu N%zu I%zu H%zu b%d h0%d len%d", T, N, I, H, use_b,
           use_h0, use_len);
  tu_allclose(gy, wy, T * N * H, 1e-4f, 1e-5f, what);
  tu_check_guard(ty, what);
  snprintf(what, sizeof what, "gru fwd h_n T%zu N%zu I%zu H%zu b%d h0%d len%d", T, N, I, H, use_b,
           use_h0, use_len);
  tu_allclose(gh, wh, N * H, 1e-4f, 1e-5f, what);
  if (use_len) { /* exact zeros past each sample's end */
    int zeros = 1;
    for (size_t t = 0; t < T; t++)
      for (size_t n = 0; n < N; n++)
        for (size_t j = 0; j < H; j++)
          if ((int32_t)t >= p.len[n]) zeros &= gy[(t * N + n) * H + j] == 0.0f;
    TU_CHECK(zeros, "gru fwd: outputs past a sample's length are exactly zero");
  }
  free(wy), free(wh), free(gy), free(gh);
  clnn_tensor_destroy(ty), clnn_tensor_destroy(thn), clnn_tensor_destroy(tres);
  prob_free(&p);
}

/* ============================================================================================== */
/* Backward vs the reference, with beta semantics                                                 */
/* ============================================================================================== */
static void test_backward(size_t T, size_t N, size_t I, size_t H, int use_b, int use_h0,
                          int use_len, int use_dy, int use_dhn, float beta, int prefill_nan) {
  prob p;
  prob_make(&p, T, N, I, H, use_b, use_h0, use_len);
  const size_t G = p.G;
  float *wdy = use_dy ? rnd(T * N * H, -1, 1) : NULL, *wdhn = use_dhn ? rnd(N * H, -1, 1) : NULL;
  clnn_tensor *ty = t3(T, N, H, NULL), *tres = t1(clnn_gru_reserve_numel(T, N, H), NULL);
  clnn_tensor *tdy = use_dy ? t3(T, N, H, wdy) : NULL, *tdhn = use_dhn ? t2(N, H, wdhn) : NULL;
  TU_OK(clnn_gru_forward(ctx, RNN_P(p.len, nlen(&p), 0), p.tx, p.twi, p.twh, p.tbi, p.tbh, p.th0, ty, NULL,
                         tres));
  const size_t n_out[6] = {T * N * I, G * I, G * H, G, G, N * H};
  clnn_tensor *to[6] = {t3(T, N, I, NULL), t2(G, I, NULL), t2(G, H, NULL),
                        t1(G, NULL),       t1(G, NULL),    t2(N, H, NULL)};
  float *old[6];
  for (int k = 0; k < 6; k++) {
    old[k] = rnd(n_out[k], -1, 1);
    if (prefill_nan)
      fill_t(to[k], NAN);
    else
      TU_OK(clnn_tensor_write(to[k], old[k], n_out[k]));
  }
  TU_OK(clnn_gru_backward(ctx, RNN_P(p.len, nlen(&p), 0), p.tx, p.twi, p.twh, p.th0, tres, tdy, tdhn, beta,
                          to[0], to[1], to[2], to[3], to[4], to[5]));
  double *x = dcopy(p.x, T * N * I), *wi = dcopy(p.wi, G * I), *wh = dcopy(p.wh, G * H),
         *bi = dcopy(p.bi, G), *bh = dcopy(p.bh, G), *h0 = dcopy(p.h0, N * H);
  double *dyd = dcopy(wdy, T * N * H), *dhd = dcopy(wdhn, N * H);
  double *rg[6];
  for (int k = 0; k < 6; k++) rg[k] = malloc(n_out[k] * sizeof(double));
  gru_ref_backward_d(T, N, I, H, x, wi, wh, bi, bh, h0, p.len, dyd, dhd, rg[0], rg[1], rg[2],
                     rg[3], rg[4], rg[5]);
  static const char *const names[6] = {"dx", "dw_ih", "dw_hh", "db_ih", "db_hh", "dh0"};
  for (int k = 0; k < 6; k++) {
    float *want = fcopy_d(rg[k], n_out[k]);
    if (!prefill_nan && beta != 0.0f)
      for (size_t i = 0; i < n_out[k]; i++) want[i] += beta * old[k][i];
    float *got = tu_read(to[k]);
    char what[160];
    snprintf(what, sizeof what, "gru bwd %s T%zu N%zu I%zu H%zu b%d h0%d len%d dy%d dhn%d beta%g%s",
             names[k], T, N, I, H, use_b, use_h0, use_len, use_dy, use_dhn, (double)beta,
             prefill_nan ? " (NaN prefill)" : "");
    tu_allclose(got, want, n_out[k], 1e-3f, 1e-4f, what);
    free(want), free(got), free(rg[k]), free(old[k]);
    clnn_tensor_destroy(to[k]);
  }
  free(x), free(wi), free(wh), free(bi), free(bh), free(h0), free(dyd), free(dhd);
  free(wdy), free(wdhn);
  clnn_tensor_destroy(ty), clnn_tensor_destroy(tres), clnn_tensor_destroy(tdy);
  clnn_tensor_destroy(tdhn);
  prob_free(&p);
}

/* ============================================================================================== */
/* Backward vs central finite differences                                                         */
/* ============================================================================================== */
typedef struct fd_prob {
  size_t T, N, I, H;
  double *x, *wi, *wh, *bi, *bh, *h0;
  const int32_t *len;
  const double *wy, *wh_n;
  double *y, *hn;
} fd_prob;

static double fd_loss(const fd_prob *f) {
  gru_ref_forward_d(f->T, f->N, f->I, f->H, f->x, f->wi, f->wh, f->bi, f->bh, f->h0, f->len, f->y,
                    f->hn);
  double L = 0.0;
  for (size_t i = 0; i < f->T * f->N * f->H; i++) L += f->wy[i] * f->y[i];
  for (size_t i = 0; i < f->N * f->H; i++) L += f->wh_n[i] * f->hn[i];
  return L;
}

static void test_finite_differences(void) {
  const size_t T = 5, N = 3, I = 3, H = 4, G = 12;
  prob p;
  prob_make(&p, T, N, I, H, 1, 1, 1);
  p.len[0] = 2, p.len[1] = 4, p.len[2] = 5;
  float *wy = rnd(T * N * H, -1, 1), *whn = rnd(N * H, -1, 1);
  clnn_tensor *ty = t3(T, N, H, NULL), *thn = t2(N, H, NULL);
  clnn_tensor *tres = t1(clnn_gru_reserve_numel(T, N, H), NULL);
  clnn_tensor *tdy = t3(T, N, H, wy), *tdhn = t2(N, H, whn);
  const size_t n_par[6] = {T * N * I, G * I, G * H, G, G, N * H};
  clnn_tensor *to[6] = {t3(T, N, I, NULL), t2(G, I, NULL), t2(G, H, NULL),
                        t1(G, NULL),       t1(G, NULL),    t2(N, H, NULL)};
  TU_OK(clnn_gru_forward(ctx, RNN_P(p.len, N, 0), p.tx, p.twi, p.twh, p.tbi, p.tbh, p.th0, ty, NULL,
                         tres));
  TU_OK(clnn_gru_backward(ctx, RNN_P(p.len, N, 0), p.tx, p.twi, p.twh, p.th0, tres, tdy, tdhn, 0.0f, to[0],
                          to[1], to[2], to[3], to[4], to[5]));
  fd_prob f = {T, N, I, H, dcopy(p.x, T * N * I), dcopy(p.wi, G * I), dcopy(p.wh, G * H),
               dcopy(p.bi, G), dcopy(p.bh, G), dcopy(p.h0, N * H), p.len, NULL, NULL,
               malloc(T * N * H * 8), malloc(N * H * 8)};
  double *dwy = dcopy(wy, T * N * H), *dwhn = dcopy(whn, N * H);
  f.wy = dwy, f.wh_n = dwhn;
  double *params[6] = {f.x, f.wi, f.wh, f.bi, f.bh, f.h0};
  static const char *const names[6] = {"dx", "dw_ih", "dw_hh", "db_ih", "db_hh", "dh0"};
  double *rg[6];
  for (int k = 0; k < 6; k++) rg[k] = malloc(n_par[k] * sizeof(double));
  gru_ref_backward_d(T, N, I, H, f.x, f.wi, f.wh, f.bi, f.bh, f.h0, p.len, dwy, dwhn, rg[0], rg[1],
                     rg[2], rg[3], rg[4], rg[5]);
  const double eps = 1e-5;
  float *fds[6];
  for (int k = 0; k < 6; k++) {
    float *fd = malloc(n_par[k] * 4);
    double worst_ref = 0.0, max_fd = 0.0;
    for (size_t i = 0; i < n_par[k]; i++) {
      const double o = params[k][i];
      params[k][i] = o + eps;
      const double lp = fd_loss(&f);
      params[k][i] = o - eps;
      const double lm = fd_loss(&f);
      params[k][i] = o;
      const double d = (lp - lm) / (2 * eps);
      fd[i] = (float)d;
      const double e = fabs(rg[k][i] - d) / (1e-7 + 1e-6 * fabs(d));
      if (e > worst_ref) worst_ref = e;
      if (fabs(d) > max_fd) max_fd = fabs(d);
    }
    TU_CHECK(worst_ref <= 1.0, "gru reference %s vs finite differences: worst %.3g x tolerance",
             names[k], worst_ref);
    TU_CHECK(max_fd > 1e-2, "gru %s finite differences are not all tiny (max %.3g)", names[k],
             max_fd);
    float *g = tu_read(to[k]);
    char what[96];
    snprintf(what, sizeof what, "gru bwd %s vs central finite differences", names[k]);
    tu_allclose(g, fd, n_par[k], 1e-3f, 1e-4f, what);
    free(g), free(rg[k]);
    fds[k] = fd;
  }
  /* x past a sample's length gets exactly zero gradient (it is never read). */
  {
    float *g = tu_read(to[0]);
    int zeros = 1;
    for (size_t t = 0; t < T; t++)
      for (size_t n = 0; n < N; n++)
        for (size_t i = 0; i < I; i++)
          if ((int32_t)t >= p.len[n]) zeros &= g[(t * N + n) * I + i] == 0.0f;
    TU_CHECK(zeros, "gru bwd: dx past a sample's length is exactly zero");
    free(g);
  }
  /* End to end on the device: differences of the device forward itself (float: bigger step). */
  {
    float *hp[6] = {p.x, p.wi, p.wh, p.bi, p.bh, p.h0};
    clnn_tensor *tp[6] = {p.tx, p.twi, p.twh, p.tbi, p.tbh, p.th0};
    const float h = 1e-2f;
    for (int k = 0; k < 6; k++) {
      float *g = tu_read(to[k]);
      for (size_t j = 0; j < 5; j++) {
        const size_t i = (j * 7919 + 3) % n_par[k];
        double L[2];
        const float o = hp[k][i];
        for (int side = 0; side < 2; side++) {
          hp[k][i] = o + (side ? -h : h);
          TU_OK(clnn_tensor_write(tp[k], hp[k], n_par[k]));
          TU_OK(clnn_gru_forward(ctx, RNN_P(p.len, N, 0), p.tx, p.twi, p.twh, p.tbi, p.tbh, p.th0, ty, thn,
                                 tres));
          float *yy = tu_read(ty), *hh = tu_read(thn);
          L[side] = 0.0;
          for (size_t q = 0; q < T * N * H; q++) L[side] += (double)wy[q] * yy[q];
          for (size_t q = 0; q < N * H; q++) L[side] += (double)whn[q] * hh[q];
          free(yy), free(hh);
        }
        hp[k][i] = o;
        TU_OK(clnn_tensor_write(tp[k], hp[k], n_par[k]));
        const double d = (L[0] - L[1]) / (2.0 * h);
        TU_CHECK(fabs(g[i] - d) <= 2e-3 + 1e-2 * fabs(d),
                 "gru bwd %s[%zu] = %.6g vs differences of the device forward %.6g", names[k], i,
                 g[i], d);
      }
      free(g), free(fds[k]);
      clnn_tensor_destroy(to[k]);
    }
  }
  for (int k = 0; k < 6; k++) free(params[k]);
  free(f.y), free(f.hn), free(dwy), free(dwhn), free(wy), free(whn);
  clnn_tensor_destroy(ty), clnn_tensor_destroy(thn), clnn_tensor_destroy(tres);
  clnn_tensor_destroy(tdy), clnn_tensor_destroy(tdhn);
  prob_free(&p);
}

/* ============================================================================================== */
/* Lengths: padding to a longer T changes nothing                                                 */
/* ============================================================================================== */
/* The same N sequences (lengths 1..) padded to T1 and to T2 > T1 with random garbage (and random
 * output gradients in the padding): y over the first T1 steps, h_n and every gradient agree, and
 * equal a run of each sample alone over exactly its own length. */
static void test_padding_invariance(void) {
  const size_t T1 = 4, T2 = 7, N = 3, I = 5, H = 6, G = 18;
  const int32_t len[3] = {2, 4, 3};
  prob p;
  prob_make(&p, T2, N, I, H, 1, 1, 0); /* x is [T2, N, I] of random values: padding too */
  float *wy = rnd(T2 * N * H, -1, 1), *whn = rnd(N * H, -1, 1);
  float *grads[2][6], *ys[2], *hns[2];
  const size_t Ts[2] = {T1, T2};
  for (int v = 0; v < 2; v++) {
    const size_t T = Ts[v];
    clnn_tensor *tx = t3(T, N, I, p.x); /* the first T steps of x */
    clnn_tensor *ty = t3(T, N, H, NULL), *thn = t2(N, H, NULL);
    clnn_tensor *tres = t1(clnn_gru_reserve_numel(T, N, H), NULL);
    clnn_tensor *tdy = t3(T, N, H, wy), *tdhn = t2(N, H, whn);
    clnn_tensor *to[6] = {t3(T, N, I, NULL), t2(G, I, NULL), t2(G, H, NULL),
                          t1(G, NULL),       t1(G, NULL),    t2(N, H, NULL)};
    TU_OK(clnn_gru_forward(ctx, RNN_P(len, N, 0), tx, p.twi, p.twh, p.tbi, p.tbh, p.th0, ty, thn, tres));
    TU_OK(clnn_gru_backward(ctx, RNN_P(len, N, 0), tx, p.twi, p.twh, p.th0, tres, tdy, tdhn, 0.0f, to[0],
                            to[1], to[2], to[3], to[4], to[5]));
    ys[v] = tu_read(ty), hns[v] = tu_read(thn);
    for (int k = 0; k < 6; k++) grads[v][k] = tu_read(to[k]), clnn_tensor_destroy(to[k]);
    clnn_tensor_destroy(tx), clnn_tensor_destroy(ty), clnn_tensor_destroy(thn);
    clnn_tensor_destroy(tres), clnn_tensor_destroy(tdy), clnn_tensor_destroy(tdhn);
  }
  tu_allclose(ys[1], ys[0], T1 * N * H, 1e-6f, 1e-7f, "gru padded T1 vs T2: y[0..T1)");
  int zeros = 1;
  for (size_t i = T1 * N * H; i < T2 * N * H; i++) zeros &= ys[1][i] == 0.0f;
  TU_CHECK(zeros, "gru padded to T2: y past every length is zero");
  tu_allclose(hns[1], hns[0], N * H, 1e-6f, 1e-7f, "gru padded T1 vs T2: h_n");
  static const char *const names[6] = {"dx", "dw_ih", "dw_hh", "db_ih", "db_hh", "dh0"};
  const size_t n_par[6] = {T1 * N * I, G * I, G * H, G, G, N * H};
  for (int k = 0; k < 6; k++) {
    char what[96];
    snprintf(what, sizeof what, "gru padded T1 vs T2: %s", names[k]);
    tu_allclose(grads[1][k], grads[0][k], n_par[k], 1e-5f, 1e-6f, what);
  }
  /* Sample n alone over exactly len[n] steps gives the same h_n row and outputs. */
  for (size_t n = 0; n < N; n++) {
    const size_t T = (size_t)len[n];
    float *xs = malloc(T * I * 4);
    for (size_t t = 0; t < T; t++) memcpy(xs + t * I, p.x + (t * N + n) * I, I * 4);
    clnn_tensor *tx = t3(T, 1, I, xs), *th0 = t2(1, H, p.h0 + n * H), *ty = t3(T, 1, H, NULL),
                *thn = t2(1, H, NULL), *tres = t1(clnn_gru_reserve_numel(T, 1, H), NULL);
    TU_OK(clnn_gru_forward(ctx, NULL, tx, p.twi, p.twh, p.tbi, p.tbh, th0, ty, thn, tres));
    float *y1 = tu_read(ty), *h1 = tu_read(thn), *yb = malloc(T * H * 4);
    for (size_t t = 0; t < T; t++) memcpy(yb + t * H, ys[1] + (t * N + n) * H, H * 4);
    char what[96];
    snprintf(what, sizeof what, "gru sample %zu alone over its length: h_n", n);
    tu_allclose(hns[1] + n * H, h1, H, 1e-5f, 1e-6f, what);
    snprintf(what, sizeof what, "gru sample %zu alone over its length: y", n);
    tu_allclose(yb, y1, T * H, 1e-5f, 1e-6f, what);
    free(xs), free(y1), free(h1), free(yb);
    clnn_tensor_destroy(tx), clnn_tensor_destroy(th0), clnn_tensor_destroy(ty);
    clnn_tensor_destroy(thn), clnn_tensor_destroy(tres);
  }
  for (int v = 0; v < 2; v++) {
    free(ys[v]), free(hns[v]);
    for (int k = 0; k < 6; k++) free(grads[v][k]);
  }
  free(wy), free(whn);
  prob_free(&p);
}

/* ============================================================================================== */
/* Reverse direction vs the reference run on each sample's sequence reversed                      */
/* ============================================================================================== */
/* rev[t, n] = src[len_n - 1 - t, n] for t < len_n, else src[t, n] (rows of w floats). */
static void reverse_rows(const float *src, float *rev, size_t T, size_t N, size_t w,
                         const int32_t *len) {
  for (size_t t = 0; t < T; t++)
    for (size_t n = 0; n < N; n++) {
      const size_t L = len ? (size_t)len[n] : T, from = t < L ? L - 1 - t : t;
      memcpy(rev + (t * N + n) * w, src + (from * N + n) * w, w * sizeof(float));
    }
}

static void test_reverse(size_t T, size_t N, size_t I, size_t H, int use_len) {
  prob p;
  prob_make(&p, T, N, I, H, 1, 1, use_len);
  const size_t G = p.G;
  float *wdy = rnd(T * N * H, -1, 1), *wdhn = rnd(N * H, -1, 1);
  clnn_tensor *ty = t3(T, N, H, NULL), *thn = t2(N, H, NULL);
  clnn_tensor *tres = t1(clnn_gru_reserve_numel(T, N, H), NULL);
  clnn_tensor *tdy = t3(T, N, H, wdy), *tdhn = t2(N, H, wdhn);
  const size_t n_out[6] = {T * N * I, G * I, G * H, G, G, N * H};
  clnn_tensor *to[6] = {t3(T, N, I, NULL), t2(G, I, NULL), t2(G, H, NULL),
                        t1(G, NULL),       t1(G, NULL),    t2(N, H, NULL)};
  TU_OK(clnn_gru_forward(ctx, RNN_P(p.len, nlen(&p), 1), p.tx, p.twi, p.twh, p.tbi, p.tbh, p.th0, ty, thn,
                         tres));
  TU_OK(clnn_gru_backward(ctx, RNN_P(p.len, nlen(&p), 1), p.tx, p.twi, p.twh, p.th0, tres, tdy, tdhn,
                          0.0f, to[0], to[1], to[2], to[3], to[4], to[5]));
  /* the reference on reversed sequences: reverse x and dy, run forward, reverse y and dx back */
  float *xr = malloc(T * N * I * 4), *dyr = malloc(T * N * H * 4);
  reverse_rows(p.x, xr, T, N, I, p.len);
  reverse_rows(wdy, dyr, T, N, H, p.len);
  double *x = dcopy(xr, T * N * I), *wi = dcopy(p.wi, G * I), *wh = dcopy(p.wh, G * H),
         *bi = dcopy(p.bi, G), *bh = dcopy(p.bh, G), *h0 = dcopy(p.h0, N * H),
         *dyd = dcopy(dyr, T * N * H), *dhd = dcopy(wdhn, N * H);
  double *yd = malloc(T * N * H * 8), *hd = malloc(N * H * 8), *rg[6];
  for (int k = 0; k < 6; k++) rg[k] = malloc(n_out[k] * sizeof(double));
  gru_ref_forward_d(T, N, I, H, x, wi, wh, bi, bh, h0, p.len, yd, hd);
  gru_ref_backward_d(T, N, I, H, x, wi, wh, bi, bh, h0, p.len, dyd, dhd, rg[0], rg[1], rg[2],
                     rg[3], rg[4], rg[5]);
  float *yf = fcopy_d(yd, T * N * H), *want_y = malloc(T * N * H * 4);
  reverse_rows(yf, want_y, T, N, H, p.len);
  float *gy = tu_read(ty), *gh = tu_read(thn), *want_h = fcopy_d(hd, N * H);
  char what[128];
  snprintf(what, sizeof what, "gru reverse T%zu N%zu len%d: y", T, N, use_len);
  tu_allclose(gy, want_y, T * N * H, 1e-4f, 1e-5f, what);
  snprintf(what, sizeof what, "gru reverse T%zu N%zu len%d: h_n", T, N, use_len);
  tu_allclose(gh, want_h, N * H, 1e-4f, 1e-5f, what);
  static const char *const names[6] = {"dx", "dw_ih", "dw_hh", "db_ih", "db_hh", "dh0"};
  for (int k = 0; k < 6; k++) {
    float *want = fcopy_d(rg[k], n_out[k]), *got = tu_read(to[k]);
    if (k == 0) { /* dx back to positions */
      float *tmp = malloc(n_out[0] * 4);
      reverse_rows(want, tmp, T, N, I, p.len);
      free(want);
      want = tmp;
    }
    snprintf(what, sizeof what, "gru reverse T%zu N%zu len%d: %s", T, N, use_len, names[k]);
    tu_allclose(got, want, n_out[k], 1e-3f, 1e-4f, what);
    free(want), free(got), free(rg[k]);
    clnn_tensor_destroy(to[k]);
  }
  free(xr), free(dyr), free(x), free(wi), free(wh), free(bi), free(bh), free(h0), free(dyd);
  free(dhd), free(yd), free(hd), free(yf), free(want_y), free(gy), free(gh), free(want_h);
  free(wdy), free(wdhn);
  clnn_tensor_destroy(ty), clnn_tensor_destroy(thn), clnn_tensor_destroy(tres);
  clnn_tensor_destroy(tdy), clnn_tensor_destroy(tdhn);
  prob_free(&p);
}

/* ============================================================================================== */
/* Carrying state: two calls of T/2 steps (h_n written over h0) equal one call of T steps         */
/* ============================================================================================== */
static void test_state_carry(void) {
  const size_t T = 6, N = 2, I = 3, H = 5;
  prob p;
  prob_make(&p, T, N, I, H, 1, 1, 0);
  float *want_y = malloc(T * N * H * 4), *want_h = malloc(N * H * 4);
  ref_forward(&p, want_y, want_h);
  clnn_tensor *state = t2(N, H, p.h0), *ty = t3(T / 2, N, H, NULL);
  clnn_tensor *tres = t1(clnn_gru_reserve_numel(T / 2, N, H), NULL);
  float *got_y = malloc(T * N * H * 4);
  for (int half = 0; half < 2; half++) {
    clnn_tensor *tx = t3(T / 2, N, I, p.x + half * (T / 2) * N * I);
    TU_OK(clnn_gru_forward(ctx, NULL, tx, p.twi, p.twh, p.tbi, p.tbh, state, ty, state,
                           tres));
    float *y = tu_read(ty);
    memcpy(got_y + half * (T / 2) * N * H, y, (T / 2) * N * H * 4);
    free(y);
    clnn_tensor_destroy(tx);
  }
  float *got_h = tu_read(state);
  tu_allclose(got_y, want_y, T * N * H, 1e-4f, 1e-5f, "gru carried state: y of both halves");
  tu_allclose(got_h, want_h, N * H, 1e-4f, 1e-5f, "gru carried state: final state");
  free(want_y), free(want_h), free(got_y), free(got_h);
  clnn_tensor_destroy(state), clnn_tensor_destroy(ty), clnn_tensor_destroy(tres);
  prob_free(&p);
}

/* ============================================================================================== */
/* Determinism, and dh0 written over dh_n                                                         */
/* ============================================================================================== */
static void test_determinism_and_alias(void) {
  const size_t T = 5, N = 70, I = 3, H = 4, G = 12; /* T*N = 350 > one column-sum chunk */
  prob p;
  prob_make(&p, T, N, I, H, 1, 1, 1);
  float *wdy = rnd(T * N * H, -1, 1), *wdhn = rnd(N * H, -1, 1);
  clnn_tensor *ty = t3(T, N, H, NULL), *tres = t1(clnn_gru_reserve_numel(T, N, H), NULL);
  clnn_tensor *tdy = t3(T, N, H, wdy), *tdhn = t2(N, H, wdhn);
  TU_OK(clnn_gru_forward(ctx, RNN_P(p.len, N, 0), p.tx, p.twi, p.twh, p.tbi, p.tbh, p.th0, ty, NULL,
                         tres));
  float *runs[2][6];
  const size_t n_out[6] = {T * N * I, G * I, G * H, G, G, N * H};
  for (int r = 0; r < 2; r++) {
    clnn_tensor *to[6] = {t3(T, N, I, NULL), t2(G, I, NULL), t2(G, H, NULL),
                          t1(G, NULL),       t1(G, NULL),    t2(N, H, NULL)};
    TU_OK(clnn_gru_backward(ctx, RNN_P(p.len, N, 0), p.tx, p.twi, p.twh, p.th0, tres, tdy, tdhn, 0.0f,
                            to[0], to[1], to[2], to[3], to[4], to[5]));
    for (int k = 0; k < 6; k++) runs[r][k] = tu_read(to[k]), clnn_tensor_destroy(to[k]);
  }
  int same = 1;
  for (int k = 0; k < 6; k++) same &= memcmp(runs[0][k], runs[1][k], n_out[k] * 4) == 0;
  TU_CHECK(same, "gru backward is bitwise deterministic");
  /* dh0 over dh_n: the same dh0 as into a separate tensor. */
  clnn_tensor *shared = t2(N, H, wdhn);
  TU_OK(clnn_gru_backward(ctx, RNN_P(p.len, N, 0), p.tx, p.twi, p.twh, p.th0, tres, tdy, shared, 0.0f,
                          NULL,
                          NULL, NULL, NULL, NULL, shared));
  float *g = tu_read(shared);
  tu_allclose(g, runs[0][5], N * H, 1e-6f, 1e-7f, "gru dh0 written over dh_n");
  free(g);
  for (int r = 0; r < 2; r++)
    for (int k = 0; k < 6; k++) free(runs[r][k]);
  free(wdy), free(wdhn);
  clnn_tensor_destroy(shared), clnn_tensor_destroy(ty), clnn_tensor_destroy(tres);
  clnn_tensor_destroy(tdy), clnn_tensor_destroy(tdhn);
  prob_free(&p);
}

/* ============================================================================================== */
/* Error paths: right status, message naming the argument, nothing written                        */
/* ============================================================================================== */

/* One error case: the call with argument slot k replaced by t fails with status, naming needle. */
typedef struct bad_arg {
  clnn_status status;
  const char *needle;
  int k;
  clnn_tensor *t;
} bad_arg;
#define INVAL CLNN_ERROR_INVALID_ARGUMENT
#define SHAPE CLNN_ERROR_SHAPE_MISMATCH
/* 0 for the other-context case when there is no second context. */
static int case_runs(const bad_arg *c) { return c->status != CLNN_ERROR_CONTEXT_MISMATCH || c->t; }

static void test_errors(void) {
  const size_t T = 3, N = 2, I = 5, H = 4, G = 12;
  prob p;
  prob_make(&p, T, N, I, H, 1, 1, 0);
  const int32_t len_ok[2] = {3, 1}, len_long[2] = {1, 4}, len_zero[2] = {0, 2},
                len_neg[2] = {2, -1};
  const size_t rn = clnn_gru_reserve_numel(T, N, H);
  clnn_context *ctx2 = NULL;
  TU_OK(clnn_context_create(NULL, &ctx2));
  clnn_tensor *other = NULL;
  if (ctx2) TU_OK(clnn_tensor_create(ctx2, 2, (size_t[]){N, H}, &other));
  clnn_tensor *y = t3(T, N, H, NULL), *hn = t2(N, H, NULL), *res = t1(rn, NULL);
  clnn_tensor *x2d = t2(T * N, I, NULL), *x_badI = t3(T, N, I + 1, NULL);
  clnn_tensor *wi_not3 = t2(G - 1, I, NULL), *wh_bad = t2(G, H + 1, NULL);
  clnn_tensor *b_bad = t1(G - 1, NULL), *nh_bad = t2(N, H + 1, NULL);
  clnn_tensor *y_bad = t3(T, N, H + 1, NULL), *res_small = t1(rn - 1, NULL);

  /* ---- forward ---- */
  watch_reset();
  clnn_tensor *fw_outs[] = {y, hn, res, y_bad, res_small, nh_bad};
  for (size_t i = 0; i < sizeof fw_outs / sizeof *fw_outs; i++) watch_add(fw_outs[i]);
#define FWD(x_, wi_, wh_, bi_, bh_, h0_, len_, nl_, y_, hn_, res_) \
  clnn_gru_forward(ctx, RNN_P(len_, nl_, 0), x_, wi_, wh_, bi_, bh_, h0_, y_, hn_, res_)
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "ctx",
             clnn_gru_forward(NULL, NULL, p.tx, p.twi, p.twh, p.tbi, p.tbh, p.th0, y, hn,
                              res));
  { /* every argument valid but one: slot k of the call replaced by `t` */
    enum { X, WI, WH, BI, BH, H0, Y, HN, RES };
    const bad_arg cases[] = {
        {INVAL, "x is NULL", X, NULL},
        {INVAL, "w_ih is NULL", WI, NULL},
        {INVAL, "w_hh is NULL", WH, NULL},
        {INVAL, "y is NULL", Y, NULL},
        {INVAL, "reserve is NULL", RES, NULL},
        {CLNN_ERROR_CONTEXT_MISMATCH, "h0", H0, other},
        {SHAPE, "x has shape [6, 5]", X, x2d},
        {SHAPE, "w_ih has shape [12, 5]", X, x_badI},
        {SHAPE, "w_ih has shape [11, 5]", WI, wi_not3},
        {SHAPE, "w_hh has shape [12, 5], expected [3H, H] = [12, 4]", WH, wh_bad},
        {SHAPE, "b_ih has shape [11], expected [3H] = [12]", BI, b_bad},
        {SHAPE, "b_hh has shape [11]", BH, b_bad},
        {SHAPE, "h0 has shape [2, 5], expected [N, H] = [2, 4]", H0, nh_bad},
        {SHAPE, "y has shape [3, 2, 5], expected [T, N, H] = [3, 2, 4]", Y, y_bad},
        {SHAPE, "h_n has shape [2, 5]", HN, nh_bad},
        {SHAPE, "reserve has shape [119] (119 floats), expected at least", RES, res_small},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
      if (!case_runs(&cases[i])) continue;
      clnn_tensor *a[] = {p.tx, p.twi, p.twh, p.tbi, p.tbh, p.th0, y, hn, res};
      a[cases[i].k] = cases[i].t;
      EXPECT_ERR(cases[i].status, cases[i].needle,
                 FWD(a[X], a[WI], a[WH], a[BI], a[BH], a[H0], NULL, 0, a[Y], a[HN], a[RES]));
    }
  }
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "lengths[1] is 4; lengths must be in [1, T = 3]",
             FWD(p.tx, p.twi, p.twh, p.tbi, p.tbh, p.th0, len_long, N, y, hn, res));
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "lengths[0] is 0",
             FWD(p.tx, p.twi, p.twh, p.tbi, p.tbh, p.th0, len_zero, N, y, hn, res));
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "lengths[1] is -1",
             FWD(p.tx, p.twi, p.twh, p.tbi, p.tbh, p.th0, len_neg, N, y, hn, res));
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "reverse is 2; it must be 0 or 1",
             clnn_gru_forward(ctx, RNN_P(NULL, 0, 2), p.tx, p.twi, p.twh, p.tbi, p.tbh, p.th0, y, hn,
                              res));
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "num_lengths is 1 but the batch has N = 2",
             FWD(p.tx, p.twi, p.twh, p.tbi, p.tbh, p.th0, len_ok, 1, y, hn, res));
  { /* aliasing needs matching shapes: I = H for y over x, I = 5H for the reserve over x */
    clnn_tensor *x_sq = t3(T, N, H, NULL), *wi_sq = t2(G, H, NULL);
    clnn_tensor *x_wide = t3(T, N, 5 * H, NULL), *wi_wide = t2(G, 5 * H, NULL);
    fill_t(x_sq, 0.5f), fill_t(wi_sq, 0.1f), fill_t(x_wide, 0.5f), fill_t(wi_wide, 0.1f);
    EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "output y is the same tensor as input x",
               FWD(x_sq, wi_sq, p.twh, p.tbi, p.tbh, p.th0, NULL, 0, x_sq, hn, res));
    EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "output reserve is the same tensor as input x",
               FWD(x_wide, wi_wide, p.twh, p.tbi, p.tbh, p.th0, NULL, 0, y, hn, x_wide));
    clnn_tensor_destroy(x_sq), clnn_tensor_destroy(wi_sq);
    clnn_tensor_destroy(x_wide), clnn_tensor_destroy(wi_wide);
  }
  TU_OK(FWD(p.tx, p.twi, p.twh, p.tbi, p.tbh, p.th0, len_ok, N, y, hn, res)); /* all valid */
#undef FWD

  /* ---- backward ---- */
  clnn_tensor *dy = t3(T, N, H, NULL), *dhn = t2(N, H, NULL);
  fill_t(dy, 0.5f), fill_t(dhn, 0.25f);
  clnn_tensor *dx = t3(T, N, I, NULL), *dwi = t2(G, I, NULL), *dwh = t2(G, H, NULL),
              *dbi = t1(G, NULL), *dbh = t1(G, NULL), *dh0 = t2(N, H, NULL);
  clnn_tensor *dx_bad = t3(T, N, I + 1, NULL), *dwi_bad = t2(G, I + 1, NULL),
              *dwh_bad = t2(G + 3, H, NULL);
  watch_reset();
  clnn_tensor *bw_outs[] = {dx, dwi, dwh, dbi, dbh, dh0, dx_bad, dwi_bad, dwh_bad, b_bad, nh_bad};
  for (size_t i = 0; i < sizeof bw_outs / sizeof *bw_outs; i++) watch_add(bw_outs[i]);
#define BWD(h0_, len_, nl_, res_, dy_, dhn_, beta_, dx_, dwi_, dwh_, dbi_, dbh_, dh0_) \
  clnn_gru_backward(ctx, RNN_P(len_, nl_, 0), p.tx, p.twi, p.twh, h0_, res_, dy_, dhn_, beta_, dx_, dwi_, \
                    dwh_, dbi_, dbh_, dh0_)
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "ctx",
             clnn_gru_backward(NULL, RNN_P(len_ok, N, 0), p.tx, p.twi, p.twh, p.th0, res, dy, dhn, 0.0f,
                               dx,
                               dwi, dwh, dbi, dbh, dh0));
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "x is NULL",
             clnn_gru_backward(ctx, RNN_P(len_ok, N, 0), NULL, p.twi, p.twh, p.th0, res, dy, dhn, 0.0f, dx,
                               dwi, dwh, dbi, dbh, dh0));
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "reserve is NULL",
             BWD(p.th0, len_ok, N, NULL, dy, dhn, 0.0f, dx, dwi, dwh, dbi, dbh, dh0));
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "beta",
             BWD(p.th0, len_ok, N, res, dy, dhn, NAN, dx, dwi, dwh, dbi, dbh, dh0));
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "lengths[1] is 4",
             BWD(p.th0, len_long, N, res, dy, dhn, 0.0f, dx, dwi, dwh, dbi, dbh, dh0));
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "lengths[0] is 0",
             BWD(p.th0, len_zero, N, res, dy, dhn, 0.0f, dx, dwi, dwh, dbi, dbh, dh0));
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "reverse is -1",
             clnn_gru_backward(ctx, RNN_P(len_ok, N, -1), p.tx, p.twi, p.twh, p.th0, res, dy, dhn, 0.0f,
                               dx, dwi, dwh, dbi, dbh, dh0));
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "num_lengths is 3",
             BWD(p.th0, len_ok, 3, res, dy, dhn, 0.0f, dx, dwi, dwh, dbi, dbh, dh0));
  { /* every argument valid but one: slot k of the call replaced by `t` */
    enum { RES, DY, DHN, DX, DWI, DWH, DBI, DBH, DH0 };
    const bad_arg cases[] = {
        {SHAPE, "reserve has shape [119]", RES, res_small},
        {SHAPE, "dy has shape [3, 2, 5]", DY, y_bad},
        {SHAPE, "dh_n has shape [2, 5]", DHN, nh_bad},
        {SHAPE, "dx has shape [3, 2, 6], expected [T, N, I] = [3, 2, 5]", DX, dx_bad},
        {SHAPE, "dw_ih has shape [12, 6]", DWI, dwi_bad},
        {SHAPE, "dw_hh has shape [15, 4]", DWH, dwh_bad},
        {SHAPE, "db_ih has shape [11]", DBI, b_bad},
        {SHAPE, "db_hh has shape [11]", DBH, b_bad},
        {SHAPE, "dh0 has shape [2, 5]", DH0, nh_bad},
        {INVAL, "outputs db_ih and db_hh are the same tensor", DBH, dbi},
        {INVAL, "output dw_hh is the same tensor as input w_hh", DWH, p.twh},
        {CLNN_ERROR_CONTEXT_MISMATCH, "dh0", DH0, other},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
      if (!case_runs(&cases[i])) continue;
      clnn_tensor *a[] = {res, dy, dhn, dx, dwi, dwh, dbi, dbh, dh0};
      a[cases[i].k] = cases[i].t;
      EXPECT_ERR(cases[i].status, cases[i].needle,
                 BWD(p.th0, len_ok, N, a[RES], a[DY], a[DHN], 0.0f, a[DX], a[DWI], a[DWH], a[DBI],
                     a[DBH], a[DH0]));
    }
  }
#undef BWD
  clnn_tensor *all[] = {y,      hn,     res,    x2d,   x_badI,  wi_not3, wh_bad,  b_bad,
                        nh_bad, y_bad,  res_small, dy, dhn,     dx,      dwi,     dwh,
                        dbi,    dbh,    dh0,    dx_bad, dwi_bad, dwh_bad};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) clnn_tensor_destroy(all[i]);
  clnn_tensor_destroy(other);
  clnn_context_destroy(ctx2);
  prob_free(&p);
}

int main(void) {
  ctx = tu_context();
  tu_seed(20261206);

  /* T, N, I, H, biases, h0, lengths */
  test_forward(1, 1, 1, 1, 1, 1, 0);
  test_forward(3, 1, 4, 5, 1, 1, 0);   /* batch 1 */
  test_forward(4, 3, 5, 7, 1, 1, 0);   /* odd sizes */
  test_forward(4, 3, 5, 7, 0, 0, 0);   /* NULL biases and h0 */
  test_forward(6, 4, 16, 32, 1, 1, 1); /* larger H, lengths */
  test_forward(9, 5, 33, 19, 1, 0, 1);
  test_state_carry();

  /* T, N, I, H, biases, h0, lengths, dy, dh_n, beta, prefill NaN */
  test_backward(4, 3, 5, 7, 1, 1, 0, 1, 1, 0.0f, 0);
  test_backward(4, 3, 5, 7, 1, 1, 1, 1, 1, 0.0f, 1); /* beta 0 overwrites NaN */
  test_backward(3, 1, 4, 5, 1, 1, 0, 1, 1, 0.0f, 0); /* batch 1 */
  test_backward(6, 4, 16, 32, 1, 1, 1, 1, 1, 0.0f, 0);
  test_backward(4, 3, 5, 7, 0, 0, 1, 1, 0, 0.0f, 0); /* no h0 (dh0 still asked), no dh_n */
  test_backward(4, 3, 5, 7, 1, 1, 1, 0, 1, 0.0f, 0); /* no dy */
  test_backward(1, 2, 3, 4, 1, 0, 0, 1, 1, 0.5f, 0); /* T = 1 without h0: dw_hh only scaled */
  test_backward(4, 3, 5, 7, 1, 1, 1, 1, 1, 1.0f, 0); /* accumulate */
  test_backward(4, 3, 5, 7, 1, 1, 1, 1, 1, 0.5f, 0);
  test_finite_differences();
  test_reverse(5, 4, 3, 6, 1); /* reverse direction with lengths */
  test_reverse(4, 2, 5, 3, 0);
  test_reverse(1, 1, 2, 2, 0);
  test_padding_invariance();
  test_determinism_and_alias();
  test_errors();
  clnn_context_destroy(ctx);
  return tu_finish("test_gru");
}
