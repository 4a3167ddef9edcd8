/* tests/test_lstm_seq.c — LSTM layer with sequence options (clnn_lstm_forward_ex /
 * clnn_lstm_backward_ex): per-sample lengths, the reverse direction, and both together, with and
 * without initial state. The reference runs the plain-C double LSTM (tests/ref/lstm_ref.c) on
 * each sample's own steps alone (reversed for the reverse direction), so padding cannot leak into
 * it; outputs past a length must be exactly zero, and every gradient (dx, dW_ih, dW_hh, db, dh0,
 * dc0) must match, padded positions of dx exactly zero. Also: central finite differences of the
 * device gradients against that reference loss, large x and NaN dy in the padding changing nothing, and the
 * errors (lengths of the wrong count, zero, longer than T, bad reverse, struct_size 0: status, a
 * message naming the field, outputs untouched). */
#include "lstm_ref.h"
#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static clnn_context *ctx;

static float *rnd(size_t n, float lo, float hi) {
  float *p = malloc((n ? n : 1) * sizeof(float));
  if (!p) abort();
  tu_fill_uniform(p, n, lo, hi);
  return p;
}
static clnn_tensor *tn(int nd, size_t a, size_t b, size_t c, const float *d) {
  size_t dims[3] = {a, b, c};
  return tu_tensor(ctx, nd, dims, d);
}

/* One problem: x [T, N, I], weights, optional bias / h0 / c0, lengths, direction. */
typedef struct seqp {
  size_t T, N, I, H, G;
  int32_t *len;
  int reverse;
  float *x, *wi, *wh, *b, *h0, *c0, *dy, *dhn, *dcn;
} seqp;

static void seqp_make(seqp *p, size_t T, size_t N, size_t I, size_t H, const int32_t *len,
                      int reverse, int use_state) {
  memset(p, 0, sizeof *p);
  p->T = T, p->N = N, p->I = I, p->H = H, p->G = 4 * H, p->reverse = reverse;
  p->len = malloc(N * sizeof(int32_t));
  for (size_t n = 0; n < N; n++) p->len[n] = len ? len[n] : (int32_t)T;
  const float k = 1.0f / sqrtf((float)H) + 0.3f;
  p->x = rnd(T * N * I, -1, 1);
  p->wi = rnd(p->G * I, -k, k);
  p->wh = rnd(p->G * H, -k, k);
  p->b = rnd(p->G, -0.5f, 0.5f);
  p->h0 = use_state ? rnd(N * H, -0.8f, 0.8f) : NULL;
  p->c0 = use_state ? rnd(N * H, -1.5f, 1.5f) : NULL;
  p->dy = rnd(T * N * H, -1, 1);
  p->dhn = rnd(N * H, -1, 1);
  p->dcn = rnd(N * H, -1, 1);
}
static void seqp_free(seqp *p) {
  free(p->len), free(p->x), free(p->wi), free(p->wh), free(p->b), free(p->h0), free(p->c0);
  free(p->dy), free(p->dhn), free(p->dcn);
}

static double *to_d(const float *v, size_t n) {
  if (!v) return NULL;
  double *d = malloc(n * sizeof(double));
  for (size_t i = 0; i < n; i++) d[i] = v[i];
  return d;
}

/* Step t of sample n's own sequence (s = 0 first) in the padded [T, N, ...] layout. */
static size_t pos(const seqp *p, size_t n, size_t s) {
  return p->reverse ? (size_t)p->len[n] - 1 - s : s;
}

/* Reference, double: y [T, N, H] (zeros past each length), h_n, c_n [N, H]; and, when g is not
 * NULL, the gradients (dx [T, N, I], dwi, dwh, db, dh0, dc0) of L = sum(dy*y) + sum(dhn*h_n) +
 * sum(dcn*c_n), where dy past a length counts nothing. Any output may be NULL. */
typedef struct refg {
  double *dx, *dwi, *dwh, *db, *dh0, *dc0;
} refg;
static void reference(const seqp *p, const float *x, const float *wi, const float *wh,
                      const float *b, const float *h0, const float *c0, double *y, double *hn,
                      double *cn, refg *g) {
  const size_t T = p->T, N = p->N, I = p->I, H = p->H, G = p->G;
  double *dwi = to_d(wi, G * I), *dwh = to_d(wh, G * H), *db = to_d(b, G);
  if (y) memset(y, 0, T * N * H * sizeof(double));
  if (g) {
    memset(g->dx, 0, T * N * I * sizeof(double));
    memset(g->dwi, 0, G * I * sizeof(double));
    memset(g->dwh, 0, G * H * sizeof(double));
    memset(g->db, 0, G * sizeof(double));
  }
  double *xs = malloc(T * I * sizeof(double)), *ys = malloc(T * H * sizeof(double));
  double *dys = malloc(T * H * sizeof(double)), *dxs = malloc(T * I * sizeof(double));
  double h0s[512], c0s[512], hns[512], cns[512], dhns[512], dcns[512], dh0s[512], dc0s[512];
  double *gwi = malloc(G * I * sizeof(double)), *gwh = malloc(G * H * sizeof(double));
  double gb[2048];
  for (size_t n = 0; n < N; n++) {
    const size_t L = (size_t)p->len[n];
    for (size_t s = 0; s < L; s++)
      for (size_t i = 0; i < I; i++) xs[s * I + i] = x[(pos(p, n, s) * N + n) * I + i];
    for (size_t j = 0; j < H; j++) {
      h0s[j] = h0 ? h0[n * H + j] : 0.0;
      c0s[j] = c0 ? c0[n * H + j] : 0.0;
    }
    lstm_ref_forward_d(L, 1, I, H, xs, dwi, dwh, db, h0s, c0s, ys, hns, cns);
    for (size_t s = 0; s < L; s++)
      for (size_t j = 0; j < H; j++)
        if (y) y[(pos(p, n, s) * N + n) * H + j] = ys[s * H + j];
    for (size_t j = 0; j < H; j++) {
      if (hn) hn[n * H + j] = hns[j];
      if (cn) cn[n * H + j] = cns[j];
    }
    if (!g) continue;
    for (size_t s = 0; s < L; s++)
      for (size_t j = 0; j < H; j++) dys[s * H + j] = p->dy[(pos(p, n, s) * N + n) * H + j];
    for (size_t j = 0; j < H; j++) dhns[j] = p->dhn[n * H + j], dcns[j] = p->dcn[n * H + j];
    lstm_ref_backward_d(L, 1, I, H, xs, dwi, dwh, db, h0s, c0s, dys, dhns, dcns, dxs, gwi, gwh, gb,
                        dh0s, dc0s);
    for (size_t s = 0; s < L; s++)
      for (size_t i = 0; i < I; i++) g->dx[(pos(p, n, s) * N + n) * I + i] = dxs[s * I + i];
    for (size_t k = 0; k < G * I; k++) g->dwi[k] += gwi[k];
    for (size_t k = 0; k < G * H; k++) g->dwh[k] += gwh[k];
    for (size_t k = 0; k < G; k++) g->db[k] += gb[k];
    for (size_t j = 0; j < H; j++) g->dh0[n * H + j] = dh0s[j], g->dc0[n * H + j] = dc0s[j];
  }
  free(xs), free(ys), free(dys), free(dxs), free(gwi), free(gwh), free(dwi), free(dwh), free(db);
}

static float *to_f(const double *d, size_t n) {
  float *f = malloc(n * sizeof(float));
  for (size_t i = 0; i < n; i++) f[i] = (float)d[i];
  return f;
}

/* Device forward + backward against the reference; with nan_pad, x past each length is 1e4 and
 * dy there NaN (neither may change anything). */
static void check_case(size_t T, size_t N, size_t I, size_t H, const int32_t *len, int reverse,
                       int use_state, int nan_pad) {
  char cfg[160], what[220];
  snprintf(cfg, sizeof cfg, "T=%zu N=%zu I=%zu H=%zu lengths=%s reverse=%d state=%d nan_pad=%d", T,
           N, I, H, len ? "yes" : "no", reverse, use_state, nan_pad);
  seqp p;
  seqp_make(&p, T, N, I, H, len, reverse, use_state);
  const size_t G = p.G;
  double *ry = malloc(T * N * H * 8), *rhn = malloc(N * H * 8), *rcn = malloc(N * H * 8);
  refg rg = {malloc(T * N * I * 8), malloc(G * I * 8), malloc(G * H * 8), malloc(G * 8),
             malloc(N * H * 8), malloc(N * H * 8)};
  reference(&p, p.x, p.wi, p.wh, p.b, p.h0, p.c0, ry, rhn, rcn, &rg);
  if (nan_pad && len)
    for (size_t t = 0; t < T; t++)
      for (size_t n = 0; n < N; n++)
        if (t >= (size_t)len[n]) {
          for (size_t i = 0; i < I; i++) p.x[(t * N + n) * I + i] = 1e4f;
          for (size_t j = 0; j < H; j++) p.dy[(t * N + n) * H + j] = NAN;
        }
  clnn_tensor *tx = tn(3, T, N, I, p.x), *twi = tn(2, G, I, 0, p.wi), *twh = tn(2, G, H, 0, p.wh),
              *tb = tn(1, G, 0, 0, p.b), *th0 = p.h0 ? tn(2, N, H, 0, p.h0) : NULL,
              *tc0 = p.c0 ? tn(2, N, H, 0, p.c0) : NULL;
  clnn_tensor *ty = tn(3, T, N, H, NULL), *thn = tn(2, N, H, 0, NULL), *tcn = tn(2, N, H, 0, NULL);
  clnn_tensor *tres = tn(1, clnn_lstm_reserve_numel(T, N, H), 0, 0, NULL);
  clnn_rnn_params prm;
  clnn_rnn_params_init(&prm);
  prm.lengths = len ? p.len : NULL;
  prm.num_lengths = len ? N : 0;
  prm.reverse = reverse;
  TU_OK(clnn_lstm_forward_ex(ctx, &prm, tx, twi, twh, tb, th0, tc0, ty, thn, tcn, tres));
  float *gy = tu_read(ty), *ghn = tu_read(thn), *gcn = tu_read(tcn);
  float *fy = to_f(ry, T * N * H), *fhn = to_f(rhn, N * H), *fcn = to_f(rcn, N * H);
  snprintf(what, sizeof what, "y (%s)", cfg);
  tu_allclose(gy, fy, T * N * H, 2e-4f, 2e-5f, what);
  int zero = 1;
  for (size_t t = 0; t < T; t++)
    for (size_t n = 0; n < N; n++)
      for (size_t j = 0; j < H; j++)
        if (t >= (size_t)p.len[n]) zero &= gy[(t * N + n) * H + j] == 0.0f;
  TU_CHECK(zero, "y is exactly zero past every length (%s)", cfg);
  snprintf(what, sizeof what, "h_n (%s)", cfg);
  tu_allclose(ghn, fhn, N * H, 2e-4f, 2e-5f, what);
  snprintf(what, sizeof what, "c_n (%s)", cfg);
  tu_allclose(gcn, fcn, N * H, 2e-4f, 2e-5f, what);

  clnn_tensor *tdy = tn(3, T, N, H, p.dy), *tdhn = tn(2, N, H, 0, p.dhn),
              *tdcn = tn(2, N, H, 0, p.dcn);
  clnn_tensor *to[6] = {tn(3, T, N, I, NULL), tn(2, G, I, 0, NULL), tn(2, G, H, 0, NULL),
                        tn(1, G, 0, 0, NULL), tn(2, N, H, 0, NULL), tn(2, N, H, 0, NULL)};
  for (int k = 0; k < 6; k++) TU_OK(clnn_tensor_fill(to[k], NAN)); /* beta 0 overwrites */
  TU_OK(clnn_lstm_backward_ex(ctx, &prm, tx, twi, twh, th0, tc0, ty, tres, tdy, tdhn, tdcn, 0.0f,
                              to[0], to[1], to[2], to[3], to[4], to[5]));
  const double *rv[6] = {rg.dx, rg.dwi, rg.dwh, rg.db, rg.dh0, rg.dc0};
  const size_t nv[6] = {T * N * I, G * I, G * H, G, N * H, N * H};
  const char *names[6] = {"dx", "dw_ih", "dw_hh", "dbias", "dh0", "dc0"};
  for (int k = 0; k < 6; k++) {
    float *gv = tu_read(to[k]), *fv = to_f(rv[k], nv[k]);
    snprintf(what, sizeof what, "%s (%s)", names[k], cfg);
    tu_allclose(gv, fv, nv[k], 5e-4f, 5e-5f, what);
    if (k == 0) {
      zero = 1;
      for (size_t t = 0; t < T; t++)
        for (size_t n = 0; n < N; n++)
          for (size_t i = 0; i < I; i++)
            if (t >= (size_t)p.len[n]) zero &= gv[(t * N + n) * I + i] == 0.0f;
      TU_CHECK(zero, "dx is exactly zero past every length (%s)", cfg);
    }
    free(gv), free(fv);
  }
  for (int k = 0; k < 6; k++) clnn_tensor_destroy(to[k]);
  clnn_tensor *all[] = {tx, twi, twh, tb, th0, tc0, ty, thn, tcn, tres, tdy, tdhn, tdcn};
  for (size_t k = 0; k < sizeof all / sizeof *all; k++) clnn_tensor_destroy(all[k]);
  free(gy), free(ghn), free(gcn), free(fy), free(fhn), free(fcn);
  free(ry), free(rhn), free(rcn);
  free(rg.dx), free(rg.dwi), free(rg.dwh), free(rg.db), free(rg.dh0), free(rg.dc0);
  seqp_free(&p);
}

/* ---- finite differences of the device gradients (reverse, lengths, initial state) ---- */
typedef struct fdctx {
  seqp *p;
} fdctx;
static double fd_loss(void *user) {
  seqp *p = ((fdctx *)user)->p;
  const size_t T = p->T, N = p->N, H = p->H;
  double *y = malloc(T * N * H * 8), *hn = malloc(N * H * 8), *cn = malloc(N * H * 8);
  reference(p, p->x, p->wi, p->wh, p->b, p->h0, p->c0, y, hn, cn, NULL);
  double L = 0;
  for (size_t t = 0; t < T; t++)
    for (size_t n = 0; n < N; n++)
      if (t < (size_t)p->len[n])
        for (size_t j = 0; j < H; j++) L += p->dy[(t * N + n) * H + j] * y[(t * N + n) * H + j];
  for (size_t k = 0; k < N * H; k++) L += p->dhn[k] * hn[k] + p->dcn[k] * cn[k];
  free(y), free(hn), free(cn);
  return L;
}

static void test_finite_differences(int reverse) {
  const size_t T = 5, N = 3, I = 3, H = 4, G = 16;
  const int32_t len[3] = {5, 2, 3};
  seqp p;
  seqp_make(&p, T, N, I, H, len, reverse, 1);
  clnn_tensor *tx = tn(3, T, N, I, p.x), *twi = tn(2, G, I, 0, p.wi), *twh = tn(2, G, H, 0, p.wh),
              *tb = tn(1, G, 0, 0, p.b), *th0 = tn(2, N, H, 0, p.h0), *tc0 = tn(2, N, H, 0, p.c0);
  clnn_tensor *ty = tn(3, T, N, H, NULL), *tres = tn(1, clnn_lstm_reserve_numel(T, N, H), 0, 0, 0);
  clnn_tensor *tdy = tn(3, T, N, H, p.dy), *tdhn = tn(2, N, H, 0, p.dhn),
              *tdcn = tn(2, N, H, 0, p.dcn);
  clnn_tensor *to[6] = {tn(3, T, N, I, NULL), tn(2, G, I, 0, NULL), tn(2, G, H, 0, NULL),
                        tn(1, G, 0, 0, NULL), tn(2, N, H, 0, NULL), tn(2, N, H, 0, NULL)};
  clnn_rnn_params prm;
  clnn_rnn_params_init(&prm);
  prm.lengths = p.len, prm.num_lengths = N, prm.reverse = reverse;
  TU_OK(clnn_lstm_forward_ex(ctx, &prm, tx, twi, twh, tb, th0, tc0, ty, NULL, NULL, tres));
  TU_OK(clnn_lstm_backward_ex(ctx, &prm, tx, twi, twh, th0, tc0, ty, tres, tdy, tdhn, tdcn, 0.0f,
                              to[0], to[1], to[2], to[3], to[4], to[5]));
  float *vals[6] = {p.x, p.wi, p.wh, p.b, p.h0, p.c0};
  const size_t nv[6] = {T * N * I, G * I, G * H, G, N * H, N * H};
  const char *names[6] = {"dx", "dw_ih", "dw_hh", "dbias", "dh0", "dc0"};
  fdctx f = {&p};
  for (int k = 0; k < 6; k++) {
    float *g = tu_read(to[k]);
    char what[80];
    snprintf(what, sizeof what, "fd %s (reverse=%d, lengths 5,2,3)", names[k], reverse);
    int bad = tu_fd_check(vals[k], nv[k], 24, 7, 1, 1e-3, 2e-4, 2e-3, g, NULL, fd_loss, &f, what,
                          NULL);
    TU_CHECK(bad == 0, "%s: %d elements differ from finite differences", what, bad);
    free(g);
  }
  for (int k = 0; k < 6; k++) clnn_tensor_destroy(to[k]);
  clnn_tensor *all[] = {tx, twi, twh, tb, th0, tc0, ty, tres, tdy, tdhn, tdcn};
  for (size_t k = 0; k < sizeof all / sizeof *all; k++) clnn_tensor_destroy(all[k]);
  seqp_free(&p);
}

/* Bad options: the status, a message naming the field, and y / reserve / gradients untouched. */
static void test_errors(void) {
  const size_t T = 4, N = 2, I = 3, H = 2, G = 8;
  float *x = rnd(T * N * I, -1, 1), *wi = rnd(G * I, -1, 1), *wh = rnd(G * H, -1, 1);
  clnn_tensor *tx = tn(3, T, N, I, x), *twi = tn(2, G, I, 0, wi), *twh = tn(2, G, H, 0, wh);
  clnn_tensor *ty = tn(3, T, N, H, NULL), *tres = tn(1, clnn_lstm_reserve_numel(T, N, H), 0, 0, 0);
  clnn_tensor *tdx = tn(3, T, N, I, NULL);
  const int32_t zero_len[2] = {3, 0}, long_len[2] = {5, 1}, ok_len[2] = {4, 1};
  const uint32_t SZ = (uint32_t)sizeof(clnn_rnn_params);
  struct {
    clnn_rnn_params p;
    const char *needle;
  } bad[] = {{{SZ, ok_len, 1, 0}, "num_lengths"},
             {{SZ, ok_len, 3, 0}, "num_lengths"},
             {{SZ, zero_len, 2, 0}, "lengths[1] is 0"},
             {{SZ, long_len, 2, 1}, "lengths[0] is 5"},
             {{SZ, NULL, 0, 2}, "reverse"},
             {{SZ, ok_len, 2, -1}, "reverse"},
             {{0, ok_len, 2, 0}, "clnn_rnn_params_init"}};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    TU_OK(clnn_tensor_fill(ty, 7.5f));
    TU_OK(clnn_tensor_fill(tres, 7.5f));
    TU_OK(clnn_tensor_fill(tdx, 7.5f));
    clnn_status s = clnn_lstm_forward_ex(ctx, &bad[i].p, tx, twi, twh, NULL, NULL, NULL, ty, NULL,
                                         NULL, tres);
    TU_CHECK(s == CLNN_ERROR_INVALID_ARGUMENT, "forward case %zu: status %d", i, (int)s);
    TU_CHECK(strstr(clnn_last_error(), bad[i].needle) != NULL, "forward message names %s: %s",
             bad[i].needle, clnn_last_error());
    s = clnn_lstm_backward_ex(ctx, &bad[i].p, tx, twi, twh, NULL, NULL, ty, tres, ty, NULL, NULL,
                              0.0f, tdx, NULL, NULL, NULL, NULL, NULL);
    TU_CHECK(s == CLNN_ERROR_INVALID_ARGUMENT, "backward case %zu: status %d", i, (int)s);
    TU_CHECK(strstr(clnn_last_error(), bad[i].needle) != NULL, "backward message names %s: %s",
             bad[i].needle, clnn_last_error());
    tu_check_all(ty, 7.5f, "y untouched after a refused call");
    tu_check_all(tres, 7.5f, "reserve untouched after a refused call");
    tu_check_all(tdx, 7.5f, "dx untouched after a refused call");
  }
  clnn_rnn_params_init(NULL); /* a no-op */
  clnn_tensor *all[] = {tx, twi, twh, ty, tres, tdx};
  for (size_t k = 0; k < sizeof all / sizeof *all; k++) clnn_tensor_destroy(all[k]);
  free(x), free(wi), free(wh);
}

int main(void) {
  ctx = tu_context();
  tu_seed(20261206);
  const int32_t l5[5] = {6, 1, 3, 6, 4}, l3[3] = {2, 7, 5};
  int32_t lbig[70];
  for (int i = 0; i < 70; i++) lbig[i] = 1 + (i * 7) % 9;
  /* T, N, I, H, lengths, reverse, initial state, NaN in the padding */
  check_case(6, 5, 4, 3, NULL, 1, 0, 0); /* reverse, full length */
  check_case(6, 5, 4, 3, NULL, 1, 1, 0);
  check_case(6, 5, 4, 3, l5, 0, 0, 0); /* lengths, forward */
  check_case(6, 5, 4, 3, l5, 0, 1, 1);
  check_case(6, 5, 4, 3, l5, 1, 0, 0); /* lengths, reverse */
  check_case(6, 5, 4, 3, l5, 1, 1, 1);
  check_case(7, 3, 9, 17, l3, 1, 1, 0);
  check_case(9, 70, 3, 2, lbig, 1, 1, 1); /* T*N > one bias column-sum chunk */
  check_case(9, 70, 3, 2, lbig, 0, 1, 0);
  test_finite_differences(0);
  test_finite_differences(1);
  test_errors();
  clnn_context_destroy(ctx);
  return tu_finish("test_lstm_seq");
}
