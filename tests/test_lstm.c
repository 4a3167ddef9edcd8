/* tests/test_lstm.c — LSTM operators: the fused gate cell forward/backward vs the plain-C
 * reference; the full layer forward vs the reference on several shapes (batch 1, odd sizes,
 * H = 32, with and without bias / h0 / c0); backward through time vs the reference and vs central
 * finite differences of the forward (dx, dW_ih, dW_hh, db, dh0, dc0 over 5 steps with non-zero
 * initial state and loss weights on y, h_n and c_n); beta = 1 and 0.5 accumulation; NULL optional
 * inputs and outputs; carrying state across calls; determinism; every error path (right status,
 * outputs left as they were). */
#include "lstm_ref.h"
#include "rnn_test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- one LSTM problem: host data and the device copies ---- */
typedef struct prob {
  size_t T, N, I, H, G;
  float *x, *wi, *wh, *b, *h0, *c0; /* b, h0, c0 NULL when unused */
  clnn_tensor *tx, *twi, *twh, *tb, *th0, *tc0;
} prob;

static void prob_make(prob *p, size_t T, size_t N, size_t I, size_t H, int use_b, int use_h0,
                      int use_c0) {
  memset(p, 0, sizeof *p);
  p->T = T, p->N = N, p->I = I, p->H = H, p->G = 4 * H;
  const float k =
      1.0f / sqrtf((float)H) + 0.3f; /* bigger than PyTorch's init: exercise the gates */
  p->x = rnd(T * N * I, -1.0f, 1.0f);
  p->wi = rnd(p->G * I, -k, k);
  p->wh = rnd(p->G * H, -k, k);
  p->b = use_b ? rnd(p->G, -0.5f, 0.5f) : NULL;
  p->h0 = use_h0 ? rnd(N * H, -0.8f, 0.8f) : NULL;
  p->c0 = use_c0 ? rnd(N * H, -1.5f, 1.5f) : NULL;
  p->tx = t3(T, N, I, p->x);
  p->twi = t2(p->G, I, p->wi);
  p->twh = t2(p->G, H, p->wh);
  p->tb = use_b ? t1(p->G, p->b) : NULL;
  p->th0 = use_h0 ? t2(N, H, p->h0) : NULL;
  p->tc0 = use_c0 ? t2(N, H, p->c0) : NULL;
}
static void prob_free(prob *p) {
  free(p->x), free(p->wi), free(p->wh), free(p->b), free(p->h0), free(p->c0);
  clnn_tensor_destroy(p->tx), clnn_tensor_destroy(p->twi), clnn_tensor_destroy(p->twh);
  clnn_tensor_destroy(p->tb), clnn_tensor_destroy(p->th0), clnn_tensor_destroy(p->tc0);
}

/* ============================================================================================== */
/* Gate cell                                                                                      */
/* ============================================================================================== */
/* Gate-cell tolerances that hold on any conforming device: OpenCL bounds exp at 3 ulp and tanh
 * at 5, so each value is within a few ulps of the magnitudes of the terms that formed it, not of
 * the value itself (c = f*c_prev + i*g and dL/dc may cancel; 1 - g^2, o*(1 - o) lose digits near
 * saturation). gates_mag gives those magnitudes (double, per element); forward within
 * GATES_FWD_ULPS, backward within GATES_BWD_ULPS of them. A wrong derivative or a dropped term
 * is off by orders of magnitude more. */
#define GATES_FWD_ULPS 24.0
#define GATES_BWD_ULPS 48.0
static double gsig(double a) { return 1.0 / (1.0 + exp(-a)); }
static void gates_mag(size_t N, size_t H, const float *gates, const float *cp, const float *dh, const float *dc,
                      double *mc, double *mh, double *mdg, double *mdcp) {
  for (size_t n = 0; n < N; n++)
    for (size_t j = 0; j < H; j++) {
      const float *a = gates + n * 4 * H;
      size_t k = n * H + j;
      double i = gsig(a[j]), f = gsig(a[H + j]), g = tanh(a[2 * H + j]), o = gsig(a[3 * H + j]);
      double c = f * cp[k] + i * g, tc = tanh(c);
      double m_c = f * fabs(cp[k]) + i * fabs(g);
      mc[k] = m_c;
      mh[k] = o * (fabs(tc) + m_c);
      if (!mdg) continue;
      double m_dct = (dc ? fabs(dc[k]) : 0.0) + fabs(dh[k]) * o * (1.0 + tc * tc + 2.0 * m_c);
      double *m = mdg + n * 4 * H;
      m[j] = m_dct * fabs(g) * (i * (1.0 - i) + i);
      m[H + j] = m_dct * fabs(cp[k]) * (f * (1.0 - f) + f);
      m[2 * H + j] = m_dct * i * (1.0 + g * g);
      m[3 * H + j] = fabs(dh[k]) * (fabs(tc) + m_c) * (o * (1.0 - o) + o);
      mdcp[k] = m_dct * f;
    }
}

static void test_gates(size_t N, size_t H) {
  char what[96];
  const size_t G = 4 * H;
  float *gates = rnd(N * G, -3.0f, 3.0f), *cp = rnd(N * H, -2.0f, 2.0f);
  gates[0] = 40.0f; /* saturated gates stay finite */
  if (N * G > 3) gates[3] = -40.0f;
  float *dh = rnd(N * H, -1.0f, 1.0f), *dc = rnd(N * H, -1.0f, 1.0f);
  clnn_tensor *tg = t2(N, G, gates), *tcp = t2(N, H, cp), *tc = t2(N, H, NULL),
              *th = t2(N, H, NULL);
  clnn_tensor *tdh = t2(N, H, dh), *tdc = t2(N, H, dc), *tdg = t2(N, G, NULL),
              *tdcp = t2(N, H, NULL);
  float *rc = malloc(N * H * 4), *rh = malloc(N * H * 4), *rdg = malloc(N * G * 4),
        *rdcp = malloc(N * H * 4);
  double *mc = malloc(N * H * sizeof(double)), *mh = malloc(N * H * sizeof(double)),
         *mdg = malloc(N * G * sizeof(double)), *mdcp = malloc(N * H * sizeof(double));

  fill_t(tc, NAN), fill_t(th, NAN);
  TU_OK(clnn_lstm_gates_forward(ctx, tg, tcp, tc, th));
  lstm_ref_gates_forward(N, H, gates, cp, rc, rh);
  float *gc = tu_read(tc), *gh = tu_read(th);
  gates_mag(N, H, gates, cp, dh, dc, mc, mh, NULL, NULL);
  snprintf(what, sizeof what, "gates fwd c N=%zu H=%zu", N, H);
  tu_close_ulps(gc, rc, mc, GATES_FWD_ULPS, N * H, what);
  snprintf(what, sizeof what, "gates fwd h N=%zu H=%zu", N, H);
  tu_close_ulps(gh, rh, mh, GATES_FWD_ULPS, N * H, what);
  float *g_after = tu_read(tg);
  TU_CHECK(memcmp(g_after, gates, N * G * 4) == 0, "gates forward left its input unchanged");

  /* Backward with dc, then without (dc NULL), then in place (dc_prev is dc). */
  fill_t(tdg, NAN), fill_t(tdcp, NAN);
  TU_OK(clnn_lstm_gates_backward(ctx, tg, tcp, tc, tdh, tdc, tdg, tdcp));
  lstm_ref_gates_backward(N, H, gates, cp, dh, dc, rdg, rdcp);
  gates_mag(N, H, gates, cp, dh, dc, mc, mh, mdg, mdcp);
  float *gdg = tu_read(tdg), *gdcp = tu_read(tdcp);
  snprintf(what, sizeof what, "gates bwd dgates N=%zu H=%zu", N, H);
  tu_close_ulps(gdg, rdg, mdg, GATES_BWD_ULPS, N * G, what);
  snprintf(what, sizeof what, "gates bwd dc_prev N=%zu H=%zu", N, H);
  tu_close_ulps(gdcp, rdcp, mdcp, GATES_BWD_ULPS, N * H, what);
  free(gdg), free(gdcp);

  fill_t(tdg, NAN), fill_t(tdcp, NAN);
  TU_OK(clnn_lstm_gates_backward(ctx, tg, tcp, tc, tdh, NULL, tdg, tdcp));
  lstm_ref_gates_backward(N, H, gates, cp, dh, NULL, rdg, rdcp);
  gates_mag(N, H, gates, cp, dh, NULL, mc, mh, mdg, mdcp);
  gdg = tu_read(tdg), gdcp = tu_read(tdcp);
  snprintf(what, sizeof what, "gates bwd (dc NULL) dgates N=%zu H=%zu", N, H);
  tu_close_ulps(gdg, rdg, mdg, GATES_BWD_ULPS, N * G, what);
  snprintf(what, sizeof what, "gates bwd (dc NULL) dc_prev N=%zu H=%zu", N, H);
  tu_close_ulps(gdcp, rdcp, mdcp, GATES_BWD_ULPS, N * H, what);
  free(gdg), free(gdcp);

  TU_OK(clnn_lstm_gates_backward(ctx, tg, tcp, tc, tdh, tdc, tdg, tdc));
  lstm_ref_gates_backward(N, H, gates, cp, dh, dc, rdg, rdcp);
  gates_mag(N, H, gates, cp, dh, dc, mc, mh, mdg, mdcp);
  gdcp = tu_read(tdc);
  snprintf(what, sizeof what, "gates bwd in place dc_prev N=%zu H=%zu", N, H);
  tu_close_ulps(gdcp, rdcp, mdcp, GATES_BWD_ULPS, N * H, what);
  free(gdcp);

  free(mc), free(mh), free(mdg), free(mdcp);
  free(gates), free(cp), free(dh), free(dc), free(rc), free(rh), free(rdg), free(rdcp), free(gc),
      free(gh), free(g_after);
  clnn_tensor_destroy(tg), clnn_tensor_destroy(tcp), clnn_tensor_destroy(tc);
  clnn_tensor_destroy(th), clnn_tensor_destroy(tdh), clnn_tensor_destroy(tdc);
  clnn_tensor_destroy(tdg), clnn_tensor_destroy(tdcp);
}

/* ============================================================================================== */
/* Layer forward                                                                                  */
/* ============================================================================================== */
static void test_forward(size_t T, size_t N, size_t I, size_t H, int use_b, int use_h0, int use_c0,
                         int want_hn, int want_cn) {
  char what[160];
  prob p;
  prob_make(&p, T, N, I, H, use_b, use_h0, use_c0);
  const size_t rn = clnn_lstm_reserve_numel(T, N, H);
  TU_CHECK(rn >= T * N * 4 * H, "reserve_numel(%zu, %zu, %zu) = %zu is too small for the gates", T,
           N, H, rn);
  clnn_tensor *ty = t3(T, N, H, NULL), *tres = t1(rn + 3, NULL); /* a larger reserve is fine */
  clnn_tensor *thn = want_hn ? t2(N, H, NULL) : NULL, *tcn = want_cn ? t2(N, H, NULL) : NULL;
  fill_t(ty, NAN), fill_t(thn, NAN), fill_t(tcn, NAN);
  TU_OK(clnn_lstm_forward(ctx, p.tx, p.twi, p.twh, p.tb, p.th0, p.tc0, ty, thn, tcn, tres));
  float *ry = malloc(T * N * H * 4), *rhn = malloc(N * H * 4), *rcn = malloc(N * H * 4);
  lstm_ref_forward(T, N, I, H, p.x, p.wi, p.wh, p.b, p.h0, p.c0, ry, rhn, rcn);
  char cfg[96];
  snprintf(cfg, sizeof cfg, "T=%zu N=%zu I=%zu H=%zu bias=%d h0=%d c0=%d", T, N, I, H, use_b,
           use_h0, use_c0);
  float *gy = tu_read(ty);
  snprintf(what, sizeof what, "lstm fwd y %s", cfg);
  tu_allclose(gy, ry, T * N * H, 2e-4f, 2e-5f, what);
  free(gy);
  if (thn) {
    float *g = tu_read(thn);
    snprintf(what, sizeof what, "lstm fwd h_n %s", cfg);
    tu_allclose(g, rhn, N * H, 2e-4f, 2e-5f, what);
    free(g);
  }
  if (tcn) {
    float *g = tu_read(tcn);
    snprintf(what, sizeof what, "lstm fwd c_n %s", cfg);
    tu_allclose(g, rcn, N * H, 2e-4f, 2e-5f, what);
    free(g);
  }
  /* Inputs are left as they were. */
  float *gx = tu_read(p.tx);
  TU_CHECK(memcmp(gx, p.x, T * N * I * 4) == 0, "lstm fwd left x unchanged (%s)", cfg);
  free(gx);
  if (p.tb) {
    float *gb = tu_read(p.tb);
    TU_CHECK(memcmp(gb, p.b, 4 * H * 4) == 0, "lstm fwd left bias unchanged (%s)", cfg);
    free(gb);
  }
  free(ry), free(rhn), free(rcn);
  clnn_tensor_destroy(ty), clnn_tensor_destroy(tres), clnn_tensor_destroy(thn);
  clnn_tensor_destroy(tcn);
  prob_free(&p);
}

/* Two calls carrying the state through h_n = h0 and c_n = c0 equal one call over both halves. */
static void test_state_carry(void) {
  const size_t T = 4, N = 3, I = 5, H = 6, half = 2;
  prob p;
  prob_make(&p, T, N, I, H, 1, 1, 1);
  clnn_tensor *xa = t3(half, N, I, p.x), *xb = t3(T - half, N, I, p.x + half * N * I);
  clnn_tensor *sh = t2(N, H, p.h0), *sc = t2(N, H, p.c0);
  clnn_tensor *ya = t3(half, N, H, NULL), *yb = t3(T - half, N, H, NULL);
  clnn_tensor *res = t1(clnn_lstm_reserve_numel(half, N, H), NULL);
  TU_OK(clnn_lstm_forward(ctx, xa, p.twi, p.twh, p.tb, sh, sc, ya, sh, sc, res));
  TU_OK(clnn_lstm_forward(ctx, xb, p.twi, p.twh, p.tb, sh, sc, yb, sh, sc, res));
  float *ry = malloc(T * N * H * 4), *rhn = malloc(N * H * 4), *rcn = malloc(N * H * 4);
  lstm_ref_forward(T, N, I, H, p.x, p.wi, p.wh, p.b, p.h0, p.c0, ry, rhn, rcn);
  float *gya = tu_read(ya), *gyb = tu_read(yb), *gh = tu_read(sh), *gc = tu_read(sc);
  tu_allclose(gya, ry, half * N * H, 2e-4f, 2e-5f, "state carry: y of the first call");
  tu_allclose(gyb, ry + half * N * H, (T - half) * N * H, 2e-4f, 2e-5f,
              "state carry: y of the second call");
  tu_allclose(gh, rhn, N * H, 2e-4f, 2e-5f, "state carry: h_n (written over h0)");
  tu_allclose(gc, rcn, N * H, 2e-4f, 2e-5f, "state carry: c_n (written over c0)");
  free(ry), free(rhn), free(rcn), free(gya), free(gyb), free(gh), free(gc);
  clnn_tensor_destroy(xa), clnn_tensor_destroy(xb), clnn_tensor_destroy(sh);
  clnn_tensor_destroy(sc), clnn_tensor_destroy(ya), clnn_tensor_destroy(yb);
  clnn_tensor_destroy(res);
  prob_free(&p);
}

/* ============================================================================================== */
/* Layer backward vs the reference                                                                */
/* ============================================================================================== */
enum { G_DX = 1, G_DWI = 2, G_DWH = 4, G_DB = 8, G_DH0 = 16, G_DC0 = 32, G_ALL = 63 };

/* Runs forward then backward on the device, compares every requested gradient with the reference
 * (beta 0: outputs prefilled with `prefill_nan` ? NaN : a sentinel, must be overwritten; other
 * betas: prefilled with random values, expected = gradient + beta * prefill). */
static void test_backward(size_t T, size_t N, size_t I, size_t H, int use_b, int use_h0, int use_c0,
                          int use_dy, int use_dhn, int use_dcn, int outs, float beta,
                          int prefill_nan) {
  char cfg[200], what[260];
  snprintf(cfg, sizeof cfg,
           "T=%zu N=%zu I=%zu H=%zu bias=%d h0=%d c0=%d dy=%d dh_n=%d dc_n=%d outs=%d beta=%g", T,
           N, I, H, use_b, use_h0, use_c0, use_dy, use_dhn, use_dcn, outs, beta);
  prob p;
  prob_make(&p, T, N, I, H, use_b, use_h0, use_c0);
  const size_t G = p.G;
  clnn_tensor *ty = t3(T, N, H, NULL), *tres = t1(clnn_lstm_reserve_numel(T, N, H), NULL);
  TU_OK(clnn_lstm_forward(ctx, p.tx, p.twi, p.twh, p.tb, p.th0, p.tc0, ty, NULL, NULL, tres));
  float *dy = use_dy ? rnd(T * N * H, -1, 1) : NULL, *dhn = use_dhn ? rnd(N * H, -1, 1) : NULL,
        *dcn = use_dcn ? rnd(N * H, -1, 1) : NULL;
  clnn_tensor *tdy = dy ? t3(T, N, H, dy) : NULL, *tdhn = dhn ? t2(N, H, dhn) : NULL,
              *tdcn = dcn ? t2(N, H, dcn) : NULL;
  const size_t n_out[6] = {T * N * I, G * I, G * H, G, N * H, N * H};
  const char *names[6] = {"dx", "dw_ih", "dw_hh", "dbias", "dh0", "dc0"};
  clnn_tensor *to[6] = {0};
  float *pre[6] = {0}, *ref[6] = {0};
  for (int k = 0; k < 6; k++) {
    ref[k] = malloc(n_out[k] * 4);
    if (!(outs & (1 << k))) continue;
    pre[k] = beta != 0.0f ? rnd(n_out[k], -2, 2) : filled(n_out[k], prefill_nan ? NAN : SENTINEL);
    switch (k) {
      case 0: to[k] = t3(T, N, I, pre[k]); break;
      case 1: to[k] = t2(G, I, pre[k]); break;
      case 2: to[k] = t2(G, H, pre[k]); break;
      case 3: to[k] = t1(G, pre[k]); break;
      default: to[k] = t2(N, H, pre[k]); break;
    }
  }
  TU_OK(clnn_lstm_backward(ctx, p.tx, p.twi, p.twh, p.th0, p.tc0, ty, tres, tdy, tdhn, tdcn, beta,
                           to[0], to[1], to[2], to[3], to[4], to[5]));
  lstm_ref_backward(T, N, I, H, p.x, p.wi, p.wh, p.b, p.h0, p.c0, dy, dhn, dcn, ref[0], ref[1],
                    ref[2], ref[3], ref[4], ref[5]);
  for (int k = 0; k < 6; k++) {
    if (!to[k]) continue;
    if (beta != 0.0f)
      for (size_t i = 0; i < n_out[k]; i++) ref[k][i] = beta * pre[k][i] + ref[k][i];
    float *g = tu_read(to[k]);
    snprintf(what, sizeof what, "lstm bwd %s vs ref (%s)", names[k], cfg);
    tu_allclose(g, ref[k], n_out[k], 5e-4f, 5e-5f, what);
    free(g);
  }
  for (int k = 0; k < 6; k++) free(pre[k]), free(ref[k]), clnn_tensor_destroy(to[k]);
  free(dy), free(dhn), free(dcn);
  clnn_tensor_destroy(tdy), clnn_tensor_destroy(tdhn), clnn_tensor_destroy(tdcn);
  clnn_tensor_destroy(ty), clnn_tensor_destroy(tres);
  prob_free(&p);
}

/* Backward twice gives bit-identical gradients (no atomics, fixed reduction order). */
static void test_determinism(void) {
  const size_t T = 6, N = 5, I = 9, H = 11, G = 44;
  prob p;
  prob_make(&p, T, N, I, H, 1, 1, 1);
  clnn_tensor *ty = t3(T, N, H, NULL), *tres = t1(clnn_lstm_reserve_numel(T, N, H), NULL);
  float *dy = rnd(T * N * H, -1, 1);
  clnn_tensor *tdy = t3(T, N, H, dy);
  clnn_tensor *dx = t3(T, N, I, NULL), *dwi = t2(G, I, NULL), *dwh = t2(G, H, NULL),
              *db = t1(G, NULL);
  TU_OK(clnn_lstm_forward(ctx, p.tx, p.twi, p.twh, p.tb, p.th0, p.tc0, ty, NULL, NULL, tres));
  float *first[4], *second[4];
  clnn_tensor *outs[4] = {dx, dwi, dwh, db};
  TU_OK(clnn_lstm_backward(ctx, p.tx, p.twi, p.twh, p.th0, p.tc0, ty, tres, tdy, NULL, NULL, 0.0f,
                           dx, dwi, dwh, db, NULL, NULL));
  for (int k = 0; k < 4; k++) first[k] = tu_read(outs[k]);
  TU_OK(clnn_lstm_backward(ctx, p.tx, p.twi, p.twh, p.th0, p.tc0, ty, tres, tdy, NULL, NULL, 0.0f,
                           dx, dwi, dwh, db, NULL, NULL));
  for (int k = 0; k < 4; k++) {
    second[k] = tu_read(outs[k]);
    TU_CHECK(memcmp(first[k], second[k], clnn_tensor_numel(outs[k]) * 4) == 0,
             "lstm bwd output %d identical across runs", k);
    free(first[k]), free(second[k]);
    clnn_tensor_destroy(outs[k]);
  }
  free(dy);
  clnn_tensor_destroy(tdy), clnn_tensor_destroy(ty), clnn_tensor_destroy(tres);
  prob_free(&p);
}

/* ============================================================================================== */
/* Layer backward vs central finite differences of the forward                                    */
/* ============================================================================================== */
typedef struct fd_prob {
  size_t T, N, I, H;
  double *x, *wi, *wh, *b, *h0, *c0; /* the parameters (perturbed in place) */
  const double *wy, *wh_n, *wc_n;    /* loss weights */
  double *y, *hn, *cn;               /* scratch */
} fd_prob;

/* L = sum wy*y + sum wh_n*h_n + sum wc_n*c_n, in double. */
static double fd_loss(const fd_prob *f) {
  lstm_ref_forward_d(f->T, f->N, f->I, f->H, f->x, f->wi, f->wh, f->b, f->h0, f->c0, f->y, f->hn,
                     f->cn);
  double L = 0.0;
  for (size_t i = 0; i < f->T * f->N * f->H; i++) L += f->wy[i] * f->y[i];
  for (size_t i = 0; i < f->N * f->H; i++) L += f->wh_n[i] * f->hn[i] + f->wc_n[i] * f->cn[i];
  return L;
}

static void test_finite_differences(void) {
  const size_t T = 5, N = 2, I = 3, H = 4, G = 16;
  prob p;
  prob_make(&p, T, N, I, H, 1, 1, 1);
  float *wy = rnd(T * N * H, -1, 1), *whn = rnd(N * H, -1, 1), *wcn = rnd(N * H, -1, 1);
  clnn_tensor *ty = t3(T, N, H, NULL), *tres = t1(clnn_lstm_reserve_numel(T, N, H), NULL);
  clnn_tensor *tdy = t3(T, N, H, wy), *tdhn = t2(N, H, whn), *tdcn = t2(N, H, wcn);
  clnn_tensor *to[6] = {t3(T, N, I, NULL), t2(G, I, NULL), t2(G, H, NULL),
                        t1(G, NULL),       t2(N, H, NULL), t2(N, H, NULL)};
  TU_OK(clnn_lstm_forward(ctx, p.tx, p.twi, p.twh, p.tb, p.th0, p.tc0, ty, NULL, NULL, tres));
  TU_OK(clnn_lstm_backward(ctx, p.tx, p.twi, p.twh, p.th0, p.tc0, ty, tres, tdy, tdhn, tdcn, 0.0f,
                           to[0], to[1], to[2], to[3], to[4], to[5]));

  fd_prob f = {T,
               N,
               I,
               H,
               dcopy(p.x, T * N * I),
               dcopy(p.wi, G * I),
               dcopy(p.wh, G * H),
               dcopy(p.b, G),
               dcopy(p.h0, N * H),
               dcopy(p.c0, N * H),
               NULL,
               NULL,
               NULL,
               malloc(T * N * H * 8),
               malloc(N * H * 8),
               malloc(N * H * 8)};
  double *dwy = dcopy(wy, T * N * H), *dwhn = dcopy(whn, N * H), *dwcn = dcopy(wcn, N * H);
  f.wy = dwy, f.wh_n = dwhn, f.wc_n = dwcn;
  double *params[6] = {f.x, f.wi, f.wh, f.b, f.h0, f.c0};
  const size_t n_par[6] = {T * N * I, G * I, G * H, G, N * H, N * H};
  const char *names[6] = {"dx", "dw_ih", "dw_hh", "dbias", "dh0", "dc0"};
  /* The reference's own backward, to check it against the differences too. */
  double *rg[6];
  for (int k = 0; k < 6; k++) rg[k] = malloc(n_par[k] * sizeof(double));
  lstm_ref_backward_d(T, N, I, H, f.x, f.wi, f.wh, f.b, f.h0, f.c0, dwy, dwhn, dwcn, rg[0], rg[1],
                      rg[2], rg[3], rg[4], rg[5]);
  const double eps = 1e-5;
  clnn_tensor *to_keep[6];
  for (int k = 0; k < 6; k++) {
    float *fd = malloc(n_par[k] * 4), *rgf = malloc(n_par[k] * 4);
    double worst_ref = 0.0, max_fd = 0.0;
    for (size_t i = 0; i < n_par[k]; i++) {
      double old = params[k][i];
      params[k][i] = old + eps;
      double lp = fd_loss(&f);
      params[k][i] = old - eps;
      double lm = fd_loss(&f);
      params[k][i] = old;
      double d = (lp - lm) / (2 * eps);
      fd[i] = (float)d;
      rgf[i] = (float)rg[k][i];
      double e = fabs(rg[k][i] - d) / (1e-7 + 1e-6 * fabs(d));
      if (e > worst_ref) worst_ref = e;
      if (fabs(d) > max_fd) max_fd = fabs(d);
    }
    TU_CHECK(worst_ref <= 1.0, "reference %s vs finite differences: worst %.3g x tolerance",
             names[k], worst_ref);
    TU_CHECK(max_fd > 1e-2, "%s finite differences are not all tiny (max %.3g)", names[k], max_fd);
    float *g = tu_read(to[k]);
    char what[96];
    snprintf(what, sizeof what, "lstm bwd %s vs central finite differences", names[k]);
    tu_allclose(g, fd, n_par[k], 1e-3f, 1e-4f, what);
    free(g), free(fd), free(rgf), free(rg[k]);
    to_keep[k] = to[k];
  }
  /* End to end on the device: differences of the device forward itself (float, so a larger
   * step and a looser tolerance) for a few elements of every parameter. */
  {
    float *hp[6] = {p.x, p.wi, p.wh, p.b, p.h0, p.c0};
    clnn_tensor *tp[6] = {p.tx, p.twi, p.twh, p.tb, p.th0, p.tc0};
    clnn_tensor *thn = t2(N, H, NULL), *tcn = t2(N, H, NULL);
    const float h = 1e-2f;
    for (int k = 0; k < 6; k++) {
      float *g = tu_read(to_keep[k]);
      for (size_t j = 0; j < 5; j++) {
        const size_t i = (j * 7919 + 3) % n_par[k];
        double L[2];
        const float old = hp[k][i];
        for (int side = 0; side < 2; side++) {
          hp[k][i] = old + (side ? -h : h);
          TU_OK(clnn_tensor_write(tp[k], hp[k], n_par[k]));
          TU_OK(clnn_lstm_forward(ctx, p.tx, p.twi, p.twh, p.tb, p.th0, p.tc0, ty, thn, tcn, tres));
          float *yy = tu_read(ty), *hh = tu_read(thn), *cc = tu_read(tcn);
          L[side] = 0.0;
          for (size_t q = 0; q < T * N * H; q++) L[side] += (double)wy[q] * yy[q];
          for (size_t q = 0; q < N * H; q++)
            L[side] += (double)whn[q] * hh[q] + (double)wcn[q] * cc[q];
          free(yy), free(hh), free(cc);
        }
        hp[k][i] = old;
        TU_OK(clnn_tensor_write(tp[k], hp[k], n_par[k]));
        const double d = (L[0] - L[1]) / (2.0 * h);
        TU_CHECK(fabs(g[i] - d) <= 2e-3 + 1e-2 * fabs(d),
                 "lstm bwd %s[%zu] = %.6g vs differences of the device forward %.6g", names[k], i,
                 g[i], d);
      }
      free(g);
      clnn_tensor_destroy(to_keep[k]);
    }
    clnn_tensor_destroy(thn), clnn_tensor_destroy(tcn);
  }
  for (int k = 0; k < 6; k++) free(params[k]);
  free(f.y), free(f.hn), free(f.cn), free(dwy), free(dwhn), free(dwcn);
  free(wy), free(whn), free(wcn);
  clnn_tensor_destroy(ty), clnn_tensor_destroy(tres), clnn_tensor_destroy(tdy);
  clnn_tensor_destroy(tdhn), clnn_tensor_destroy(tdcn);
  prob_free(&p);
}

/* ============================================================================================== */
/* Error paths: right status, nothing written                                                     */
/* ============================================================================================== */

static void test_errors(void) {
  const size_t T = 3, N = 2, I = 5, H = 4, G = 16;
  prob p;
  prob_make(&p, T, N, I, H, 1, 1, 1);
  const size_t rn = clnn_lstm_reserve_numel(T, N, H);
  clnn_context *ctx2 = NULL;
  TU_OK(clnn_context_create(NULL, &ctx2));
  clnn_tensor *other = NULL;
  if (ctx2) TU_OK(clnn_tensor_create(ctx2, 2, (size_t[]){N, H}, &other));

  clnn_tensor *y = t3(T, N, H, NULL), *hn = t2(N, H, NULL), *cn = t2(N, H, NULL),
              *res = t1(rn, NULL);
  /* Wrong shapes. */
  clnn_tensor *x2d = t2(T * N, I, NULL), *x_badI = t3(T, N, I + 1, NULL);
  clnn_tensor *wi_not4 = t2(G - 1, I, NULL), *wh_bad = t2(G, H + 1, NULL);
  clnn_tensor *b_bad = t1(G - 1, NULL), *b_2d = t2(1, G, NULL), *nh_bad = t2(N, H + 1, NULL),
              *nh_badN = t2(N + 1, H, NULL);
  clnn_tensor *y_bad = t3(T, N, H + 1, NULL), *y_badT = t3(T + 1, N, H, NULL),
              *res_small = t1(rn - 1, NULL);

  /* ---- forward ---- */
  watch_reset();
  clnn_tensor *fw_outs[] = {y, hn, cn, res, y_bad, y_badT, res_small, nh_bad, nh_badN};
  for (size_t i = 0; i < sizeof fw_outs / sizeof *fw_outs; i++) watch_add(fw_outs[i]);
#define FWD(x_, wi_, wh_, b_, h0_, c0_, y_, hn_, cn_, res_) \
  clnn_lstm_forward(ctx, x_, wi_, wh_, b_, h0_, c0_, y_, hn_, cn_, res_)
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "ctx",
             clnn_lstm_forward(NULL, p.tx, p.twi, p.twh, p.tb, p.th0, p.tc0, y, hn, cn, res));
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "x",
             FWD(NULL, p.twi, p.twh, p.tb, p.th0, p.tc0, y, hn, cn, res));
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "w_ih",
             FWD(p.tx, NULL, p.twh, p.tb, p.th0, p.tc0, y, hn, cn, res));
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "w_hh",
             FWD(p.tx, p.twi, NULL, p.tb, p.th0, p.tc0, y, hn, cn, res));
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "y",
             FWD(p.tx, p.twi, p.twh, p.tb, p.th0, p.tc0, NULL, hn, cn, res));
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "reserve",
             FWD(p.tx, p.twi, p.twh, p.tb, p.th0, p.tc0, y, hn, cn, NULL));
  if (other) {
    EXPECT_ERR(CLNN_ERROR_CONTEXT_MISMATCH, "h0",
               FWD(p.tx, p.twi, p.twh, p.tb, other, p.tc0, y, hn, cn, res));
    EXPECT_ERR(CLNN_ERROR_CONTEXT_MISMATCH, "c_n",
               FWD(p.tx, p.twi, p.twh, p.tb, p.th0, p.tc0, y, hn, other, res));
  }
  EXPECT_ERR(CLNN_ERROR_SHAPE_MISMATCH, "x has shape [6, 5]",
             FWD(x2d, p.twi, p.twh, p.tb, p.th0, p.tc0, y, hn, cn, res));
  EXPECT_ERR(CLNN_ERROR_SHAPE_MISMATCH, "w_ih has shape [16, 5]",
             FWD(x_badI, p.twi, p.twh, p.tb, p.th0, p.tc0, y, hn, cn, res));
  EXPECT_ERR(CLNN_ERROR_SHAPE_MISMATCH, "w_ih has shape [15, 5]",
             FWD(p.tx, wi_not4, p.twh, p.tb, p.th0, p.tc0, y, hn, cn, res));
  EXPECT_ERR(CLNN_ERROR_SHAPE_MISMATCH, "w_hh has shape [16, 5], expected [4H, H] = [16, 4]",
             FWD(p.tx, p.twi, wh_bad, p.tb, p.th0, p.tc0, y, hn, cn, res));
  EXPECT_ERR(CLNN_ERROR_SHAPE_MISMATCH, "bias has shape [15], expected [4H] = [16]",
             FWD(p.tx, p.twi, p.twh, b_bad, p.th0, p.tc0, y, hn, cn, res));
  EXPECT_ERR(CLNN_ERROR_SHAPE_MISMATCH, "bias has shape [1, 16]",
             FWD(p.tx, p.twi, p.twh, b_2d, p.th0, p.tc0, y, hn, cn, res));
  EXPECT_ERR(CLNN_ERROR_SHAPE_MISMATCH, "h0 has shape [2, 5], expected [N, H] = [2, 4]",
             FWD(p.tx, p.twi, p.twh, p.tb, nh_bad, p.tc0, y, hn, cn, res));
  EXPECT_ERR(CLNN_ERROR_SHAPE_MISMATCH, "c0 has shape [3, 4], expected [N, H] = [2, 4]",
             FWD(p.tx, p.twi, p.twh, p.tb, p.th0, nh_badN, y, hn, cn, res));
  EXPECT_ERR(CLNN_ERROR_SHAPE_MISMATCH, "y has shape [3, 2, 5], expected [T, N, H] = [3, 2, 4]",
             FWD(p.tx, p.twi, p.twh, p.tb, p.th0, p.tc0, y_bad, hn, cn, res));
  EXPECT_ERR(CLNN_ERROR_SHAPE_MISMATCH, "y has shape [4, 2, 4]",
             FWD(p.tx, p.twi, p.twh, p.tb, p.th0, p.tc0, y_badT, hn, cn, res));
  EXPECT_ERR(CLNN_ERROR_SHAPE_MISMATCH, "h_n has shape [2, 5]",
             FWD(p.tx, p.twi, p.twh, p.tb, p.th0, p.tc0, y, nh_bad, cn, res));
  EXPECT_ERR(CLNN_ERROR_SHAPE_MISMATCH, "c_n has shape [3, 4]",
             FWD(p.tx, p.twi, p.twh, p.tb, p.th0, p.tc0, y, hn, nh_badN, res));
  EXPECT_ERR(CLNN_ERROR_SHAPE_MISMATCH, "reserve has shape [119]",
             FWD(p.tx, p.twi, p.twh, p.tb, p.th0, p.tc0, y, hn, cn, res_small));
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "h_n and c_n",
             FWD(p.tx, p.twi, p.twh, p.tb, p.th0, p.tc0, y, hn, hn, res));
  TU_CHECK(rn == 120, "reserve_numel(3, 2, 4) = %zu (5*T*N*H = 120 expected)", rn);
  TU_CHECK(clnn_lstm_reserve_numel(SIZE_MAX / 2, 3, 5) == 0, "reserve_numel overflow gives 0");
  TU_CHECK(clnn_lstm_reserve_numel(0, 3, 5) == 0, "reserve_numel of an empty problem is 0");

  /* A valid forward, so backward has a real reserve. */
  TU_OK(FWD(p.tx, p.twi, p.twh, p.tb, p.th0, p.tc0, y, hn, cn, res));

  /* ---- backward ---- */
  clnn_tensor *dy = t3(T, N, H, NULL), *dhn = t2(N, H, NULL), *dcn = t2(N, H, NULL);
  fill_t(dy, 0.5f), fill_t(dhn, 0.25f), fill_t(dcn, -0.25f);
  clnn_tensor *dx = t3(T, N, I, NULL), *dwi = t2(G, I, NULL), *dwh = t2(G, H, NULL),
              *db = t1(G, NULL), *dh0 = t2(N, H, NULL), *dc0 = t2(N, H, NULL);
  clnn_tensor *dx_bad = t3(T, N, I + 1, NULL), *dwi_bad = t2(G, I + 1, NULL),
              *dwh_bad = t2(G + 4, H, NULL), *db_bad = t1(G + 1, NULL);
  watch_reset();
  clnn_tensor *bw_outs[] = {dx,     dwi,     dwh,     db,     dh0,    dc0,
                            dx_bad, dwi_bad, dwh_bad, db_bad, nh_bad, nh_badN};
  for (size_t i = 0; i < sizeof bw_outs / sizeof *bw_outs; i++) watch_add(bw_outs[i]);
#define BWD(x_, h0_, y_, res_, dy_, dhn_, dcn_, beta_, dx_, dwi_, dwh_, db_, dh0_, dc0_)       \
  clnn_lstm_backward(ctx, x_, p.twi, p.twh, h0_, p.tc0, y_, res_, dy_, dhn_, dcn_, beta_, dx_, \
                     dwi_, dwh_, db_, dh0_, dc0_)
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "ctx",
             clnn_lstm_backward(NULL, p.tx, p.twi, p.twh, p.th0, p.tc0, y, res, dy, dhn, dcn, 0.0f,
                                dx, dwi, dwh, db, dh0, dc0));
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "x",
             BWD(NULL, p.th0, y, res, dy, dhn, dcn, 0.0f, dx, dwi, dwh, db, dh0, dc0));
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "w_hh",
             clnn_lstm_backward(ctx, p.tx, p.twi, NULL, p.th0, p.tc0, y, res, dy, dhn, dcn, 0.0f,
                                dx, dwi, dwh, db, dh0, dc0));
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "y",
             BWD(p.tx, p.th0, NULL, res, dy, dhn, dcn, 0.0f, dx, dwi, dwh, db, dh0, dc0));
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "reserve",
             BWD(p.tx, p.th0, y, NULL, dy, dhn, dcn, 0.0f, dx, dwi, dwh, db, dh0, dc0));
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "beta",
             BWD(p.tx, p.th0, y, res, dy, dhn, dcn, NAN, dx, dwi, dwh, db, dh0, dc0));
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "beta",
             BWD(p.tx, p.th0, y, res, dy, dhn, dcn, INFINITY, dx, dwi, dwh, db, dh0, dc0));
  if (other) {
    EXPECT_ERR(CLNN_ERROR_CONTEXT_MISMATCH, "dh_n",
               BWD(p.tx, p.th0, y, res, dy, other, dcn, 0.0f, dx, dwi, dwh, db, dh0, dc0));
    EXPECT_ERR(CLNN_ERROR_CONTEXT_MISMATCH, "dc0",
               BWD(p.tx, p.th0, y, res, dy, dhn, dcn, 0.0f, dx, dwi, dwh, db, dh0, other));
  }
  EXPECT_ERR(CLNN_ERROR_SHAPE_MISMATCH, "x has shape [6, 5]",
             BWD(x2d, p.th0, y, res, dy, dhn, dcn, 0.0f, dx, dwi, dwh, db, dh0, dc0));
  EXPECT_ERR(CLNN_ERROR_SHAPE_MISMATCH, "h0 has shape [2, 5]",
             BWD(p.tx, nh_bad, y, res, dy, dhn, dcn, 0.0f, dx, dwi, dwh, db, dh0, dc0));
  EXPECT_ERR(CLNN_ERROR_SHAPE_MISMATCH, "y has shape [3, 2, 5]",
             BWD(p.tx, p.th0, y_bad, res, dy, dhn, dcn, 0.0f, dx, dwi, dwh, db, dh0, dc0));
  EXPECT_ERR(CLNN_ERROR_SHAPE_MISMATCH, "reserve has shape [119]",
             BWD(p.tx, p.th0, y, res_small, dy, dhn, dcn, 0.0f, dx, dwi, dwh, db, dh0, dc0));
  EXPECT_ERR(CLNN_ERROR_SHAPE_MISMATCH, "dy has shape [4, 2, 4], expected [T, N, H] = [3, 2, 4]",
             BWD(p.tx, p.th0, y, res, y_badT, dhn, dcn, 0.0f, dx, dwi, dwh, db, dh0, dc0));
  EXPECT_ERR(CLNN_ERROR_SHAPE_MISMATCH, "dh_n has shape [2, 5]",
             BWD(p.tx, p.th0, y, res, dy, nh_bad, dcn, 0.0f, dx, dwi, dwh, db, dh0, dc0));
  EXPECT_ERR(CLNN_ERROR_SHAPE_MISMATCH, "dc_n has shape [3, 4]",
             BWD(p.tx, p.th0, y, res, dy, dhn, nh_badN, 0.0f, dx, dwi, dwh, db, dh0, dc0));
  EXPECT_ERR(CLNN_ERROR_SHAPE_MISMATCH, "dx has shape [3, 2, 6], expected [T, N, I] = [3, 2, 5]",
             BWD(p.tx, p.th0, y, res, dy, dhn, dcn, 0.0f, dx_bad, dwi, dwh, db, dh0, dc0));
  EXPECT_ERR(CLNN_ERROR_SHAPE_MISMATCH, "dw_ih has shape [16, 6], expected [4H, I] = [16, 5]",
             BWD(p.tx, p.th0, y, res, dy, dhn, dcn, 0.0f, dx, dwi_bad, dwh, db, dh0, dc0));
  EXPECT_ERR(CLNN_ERROR_SHAPE_MISMATCH, "dw_hh has shape [20, 4], expected [4H, H] = [16, 4]",
             BWD(p.tx, p.th0, y, res, dy, dhn, dcn, 0.0f, dx, dwi, dwh_bad, db, dh0, dc0));
  EXPECT_ERR(CLNN_ERROR_SHAPE_MISMATCH, "dbias has shape [17], expected [4H] = [16]",
             BWD(p.tx, p.th0, y, res, dy, dhn, dcn, 0.0f, dx, dwi, dwh, db_bad, dh0, dc0));
  EXPECT_ERR(CLNN_ERROR_SHAPE_MISMATCH, "dh0 has shape [2, 5]",
             BWD(p.tx, p.th0, y, res, dy, dhn, dcn, 0.0f, dx, dwi, dwh, db, nh_bad, dc0));
  EXPECT_ERR(CLNN_ERROR_SHAPE_MISMATCH, "dc0 has shape [3, 4]",
             BWD(p.tx, p.th0, y, res, dy, dhn, dcn, 0.0f, dx, dwi, dwh, db, dh0, nh_badN));
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "dh0 and dc0",
             BWD(p.tx, p.th0, y, res, dy, dhn, dcn, 0.0f, dx, dwi, dwh, db, dh0, dh0));
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "dh0 is the same tensor as input h0",
             BWD(p.tx, p.th0, y, res, dy, dhn, dcn, 0.0f, dx, dwi, dwh, db, p.th0, dc0));
  /* Nothing requested: succeeds and writes nothing. */
  watch_fill();
  TU_OK(BWD(p.tx, p.th0, y, res, dy, dhn, dcn, 0.0f, NULL, NULL, NULL, NULL, NULL, NULL));
  TU_CHECK(watch_unchanged(), "backward with no gradient outputs writes nothing");

  /* ---- gates ---- */
  clnn_tensor *gt = t2(N, G, NULL), *cp = t2(N, H, NULL), *gt_bad = t2(N, G - 2, NULL),
              *dg = t2(N, G, NULL), *dg_bad = t2(N + 1, G, NULL);
  fill_t(gt, 0.3f), fill_t(cp, 0.1f);
  watch_reset();
  watch_add(hn), watch_add(cn), watch_add(dg), watch_add(dcn), watch_add(nh_bad), watch_add(dg_bad);
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "ctx", clnn_lstm_gates_forward(NULL, gt, cp, cn, hn));
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "gates", clnn_lstm_gates_forward(ctx, NULL, cp, cn, hn));
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "c_prev", clnn_lstm_gates_forward(ctx, gt, NULL, cn, hn));
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "h", clnn_lstm_gates_forward(ctx, gt, cp, cn, NULL));
  if (other)
    EXPECT_ERR(CLNN_ERROR_CONTEXT_MISMATCH, "c", clnn_lstm_gates_forward(ctx, gt, cp, other, hn));
  EXPECT_ERR(CLNN_ERROR_SHAPE_MISMATCH, "gates has shape [2, 14]",
             clnn_lstm_gates_forward(ctx, gt_bad, cp, cn, hn));
  EXPECT_ERR(CLNN_ERROR_SHAPE_MISMATCH, "c_prev has shape [2, 5], expected [N, H] = [2, 4]",
             clnn_lstm_gates_forward(ctx, gt, nh_bad, cn, hn));
  EXPECT_ERR(CLNN_ERROR_SHAPE_MISMATCH, "h has shape [3, 4]",
             clnn_lstm_gates_forward(ctx, gt, cp, cn, nh_badN));
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "c and h", clnn_lstm_gates_forward(ctx, gt, cp, hn, hn));
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "dh",
             clnn_lstm_gates_backward(ctx, gt, cp, cp, NULL, NULL, dg, dcn));
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "dgates",
             clnn_lstm_gates_backward(ctx, gt, cp, cp, dhn, NULL, NULL, dcn));
  EXPECT_ERR(CLNN_ERROR_SHAPE_MISMATCH, "dgates has shape [3, 16], expected [N, 4H] = [2, 16]",
             clnn_lstm_gates_backward(ctx, gt, cp, cp, dhn, NULL, dg_bad, dcn));
  EXPECT_ERR(CLNN_ERROR_SHAPE_MISMATCH, "dc has shape [2, 5]",
             clnn_lstm_gates_backward(ctx, gt, cp, cp, dhn, nh_bad, dg, dcn));
  EXPECT_ERR(CLNN_ERROR_SHAPE_MISMATCH, "dc_prev has shape [3, 4]",
             clnn_lstm_gates_backward(ctx, gt, cp, cp, dhn, NULL, dg, nh_badN));
  EXPECT_ERR(CLNN_ERROR_INVALID_ARGUMENT, "dc_prev is the same tensor as input c_prev",
             clnn_lstm_gates_backward(ctx, gt, cp, hn, dhn, NULL, dg, cp));

  clnn_tensor *all[] = {
      y,       hn,    cn,     res,       x2d,     x_badI, wi_not4, wh_bad, b_bad,  b_2d, nh_bad,
      nh_badN, y_bad, y_badT, res_small, dy,      dhn,    dcn,     dx,     dwi,    dwh,  db,
      dh0,     dc0,   dx_bad, dwi_bad,   dwh_bad, db_bad, gt,      cp,     gt_bad, dg,   dg_bad};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) clnn_tensor_destroy(all[i]);
  clnn_tensor_destroy(other);
  clnn_context_destroy(ctx2);
  prob_free(&p);
}

int main(void) {
  ctx = tu_context();
  tu_seed(20240514);

  test_gates(3, 7);
  test_gates(1, 33);
  test_gates(5, 64);

  /* T, N, I, H, bias, h0, c0, want h_n, want c_n */
  test_forward(1, 1, 1, 1, 1, 1, 1, 1, 1);
  test_forward(3, 1, 4, 5, 1, 1, 1, 1, 1);   /* batch 1 */
  test_forward(4, 3, 5, 7, 1, 1, 1, 1, 1);   /* odd sizes */
  test_forward(4, 3, 5, 7, 0, 0, 0, 1, 1);   /* NULL bias, h0, c0 */
  test_forward(4, 3, 5, 7, 1, 1, 0, 0, 1);   /* h0 only; no h_n */
  test_forward(4, 3, 5, 7, 0, 0, 1, 1, 0);   /* c0 only; no c_n */
  test_forward(6, 4, 16, 32, 1, 1, 1, 1, 1); /* larger H */
  test_forward(9, 2, 33, 19, 1, 0, 1, 1, 1);
  test_state_carry();

  /* T, N, I, H, bias, h0, c0, dy, dh_n, dc_n, outputs, beta, prefill NaN */
  test_backward(4, 3, 5, 7, 1, 1, 1, 1, 1, 1, G_ALL, 0.0f, 0);
  test_backward(4, 3, 5, 7, 1, 1, 1, 1, 1, 1, G_ALL, 0.0f, 1); /* beta 0 overwrites NaN */
  test_backward(3, 1, 4, 5, 1, 1, 1, 1, 1, 1, G_ALL, 0.0f, 0); /* batch 1 */
  test_backward(6, 4, 16, 32, 1, 1, 1, 1, 1, 1, G_ALL, 0.0f, 0);
  test_backward(5, 70, 3, 2, 1, 1, 1, 1, 0, 1, G_ALL, 0.0f, 0); /* T*N = 350 rows in the bias column sums */
  test_backward(4, 3, 5, 7, 1, 1, 1, 1, 1, 1, G_ALL, 1.0f, 0);  /* accumulate */
  test_backward(6, 4, 16, 32, 0, 1, 0, 1, 1, 0, G_ALL, 1.0f, 0);
  test_backward(4, 3, 5, 7, 1, 1, 1, 1, 1, 1, G_ALL, 0.5f, 0);  /* beta 0.5: not treated as 1 */
  test_backward(6, 4, 16, 32, 0, 1, 0, 1, 1, 0, G_ALL, 0.5f, 0);
  test_backward(5, 70, 3, 2, 1, 1, 1, 1, 0, 1, G_ALL, 0.5f, 0);
  test_backward(4, 3, 5, 7, 0, 0, 0, 1, 1, 1, G_ALL, 0.0f, 0); /* NULL h0, c0 */
  test_backward(4, 3, 5, 7, 1, 1, 1, 0, 1, 1, G_ALL, 0.0f, 0); /* NULL dy */
  test_backward(4, 3, 5, 7, 1, 1, 1, 1, 0, 0, G_ALL, 0.0f, 0); /* NULL dh_n, dc_n */
  test_backward(4, 3, 5, 7, 1, 1, 1, 0, 0, 1, G_ALL, 0.0f, 0); /* only dc_n */
  test_backward(4, 3, 5, 7, 1, 1, 1, 1, 1, 1, G_DX, 0.0f, 0);  /* subsets of outputs */
  test_backward(4, 3, 5, 7, 1, 1, 1, 1, 1, 1, G_DWH | G_DB, 1.0f, 0);
  test_backward(4, 3, 5, 7, 1, 1, 1, 1, 1, 1, G_DH0 | G_DC0 | G_DWI, 0.0f, 0);
  test_backward(1, 2, 3, 4, 1, 0, 1, 1, 1, 1, G_ALL, 0.0f, 1); /* T = 1, no h0: dw_hh = 0 */
  test_backward(1, 2, 3, 4, 1, 0, 1, 1, 1, 1, G_ALL, 1.0f, 0); /* ... and kept under beta 1 */
  test_backward(1, 2, 3, 4, 1, 0, 1, 1, 1, 1, G_ALL, 0.5f, 0); /* ... and halved under beta 0.5 */
  test_backward(1, 2, 3, 4, 1, 1, 0, 1, 0, 0, G_ALL, 0.0f, 0); /* T = 1 with h0 */
  test_determinism();

  test_finite_differences();
  test_errors();

  clnn_context_destroy(ctx);
  return tu_finish("test_lstm");
}
