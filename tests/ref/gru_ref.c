/* tests/ref/gru_ref.c — plain-C GRU reference (see gru_ref.h), one sample and one step at a
 * time, straight from the equations. */
#include "gru_ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double sig(double v) { return 1.0 / (1.0 + exp(-v)); }

static double *alloc0(size_t n) {
  double *p = calloc(n ? n : 1, sizeof(double));
  if (!p) abort();
  return p;
}

/* Every step's states and gates: hs [T+1, N, H] (hs[0] = h0), r, z, c, hn [T, N, H] where hn is
 * W_hn h + b_hn. Steps past a sample's length copy the state and leave the gates zero. */
typedef struct trace {
  double *hs, *r, *z, *c, *hn;
} trace;

static void run(size_t T, size_t N, size_t I, size_t H, const double *x, const double *w_ih,
                const double *w_hh, const double *b_ih, const double *b_hh, const double *h0,
                const int32_t *lengths, trace *tr) {
  tr->hs = alloc0((T + 1) * N * H);
  tr->r = alloc0(T * N * H), tr->z = alloc0(T * N * H), tr->c = alloc0(T * N * H);
  tr->hn = alloc0(T * N * H);
  if (h0) memcpy(tr->hs, h0, N * H * sizeof(double));
  for (size_t t = 0; t < T; t++)
    for (size_t n = 0; n < N; n++) {
      const double *hp = tr->hs + (t * N + n) * H, *xt = x + (t * N + n) * I;
      double *hc = tr->hs + ((t + 1) * N + n) * H;
      if (lengths && (size_t)lengths[n] <= t) {
        memcpy(hc, hp, H * sizeof(double));
        continue;
      }
      for (size_t j = 0; j < H; j++) {
        double a[3], b[3];
        for (int g = 0; g < 3; g++) {
          const size_t row = g * H + j;
          a[g] = b_ih ? b_ih[row] : 0.0;
          b[g] = b_hh ? b_hh[row] : 0.0;
          for (size_t k = 0; k < I; k++) a[g] += w_ih[row * I + k] * xt[k];
          for (size_t k = 0; k < H; k++) b[g] += w_hh[row * H + k] * hp[k];
        }
        const size_t o = (t * N + n) * H + j;
        tr->r[o] = sig(a[0] + b[0]);
        tr->z[o] = sig(a[1] + b[1]);
        tr->hn[o] = b[2];
        tr->c[o] = tanh(a[2] + tr->r[o] * b[2]);
        hc[j] = (1.0 - tr->z[o]) * tr->c[o] + tr->z[o] * hp[j];
      }
    }
}

static void trace_free(trace *tr) {
  free(tr->hs), free(tr->r), free(tr->z), free(tr->c), free(tr->hn);
}

void gru_ref_forward_d(size_t T, size_t N, size_t I, size_t H, const double *x, const double *w_ih,
                       const double *w_hh, const double *b_ih, const double *b_hh,
                       const double *h0, const int32_t *lengths, double *y, double *h_n) {
  trace tr;
  run(T, N, I, H, x, w_ih, w_hh, b_ih, b_hh, h0, lengths, &tr);
  if (y)
    for (size_t t = 0; t < T; t++)
      for (size_t n = 0; n < N; n++)
        for (size_t j = 0; j < H; j++) {
          const int on = !lengths || (size_t)lengths[n] > t;
          y[(t * N + n) * H + j] = on ? tr.hs[((t + 1) * N + n) * H + j] : 0.0;
        }
  if (h_n) memcpy(h_n, tr.hs + T * N * H, N * H * sizeof(double));
  trace_free(&tr);
}

void gru_ref_backward_d(size_t T, size_t N, size_t I, size_t H, const double *x,
                        const double *w_ih, const double *w_hh, const double *b_ih,
                        const double *b_hh, const double *h0, const int32_t *lengths,
                        const double *dy, const double *dh_n, double *dx, double *dw_ih,
                        double *dw_hh, double *db_ih, double *db_hh, double *dh0) {
  const size_t G = 3 * H;
  trace tr;
  run(T, N, I, H, x, w_ih, w_hh, b_ih, b_hh, h0, lengths, &tr);
  double *gx = alloc0(T * N * I), *gwi = alloc0(G * I), *gwh = alloc0(G * H), *gbi = alloc0(G),
         *gbh = alloc0(G), *dh = alloc0(N * H), *dprev = alloc0(N * H);
  if (dh_n) memcpy(dh, dh_n, N * H * sizeof(double));
  for (size_t t = T; t-- > 0;) {
    memset(dprev, 0, N * H * sizeof(double));
    for (size_t n = 0; n < N; n++) {
      const int on = !lengths || (size_t)lengths[n] > t;
      double *dhr = dh + n * H, *dpr = dprev + n * H;
      if (!on) { /* identity step: the gradient passes through unchanged */
        memcpy(dpr, dhr, H * sizeof(double));
        continue;
      }
      const double *hp = tr.hs + (t * N + n) * H, *xt = x + (t * N + n) * I;
      for (size_t j = 0; j < H; j++) {
        const size_t o = (t * N + n) * H + j;
        const double g = dhr[j] + (dy ? dy[o] : 0.0);
        const double r = tr.r[o], z = tr.z[o], c = tr.c[o], hn = tr.hn[o];
        const double dc = g * (1 - z) * (1 - c * c);
        const double dz = g * (hp[j] - c) * z * (1 - z);
        const double dr = dc * hn * r * (1 - r);
        const double da[3] = {dr, dz, dc}, db[3] = {dr, dz, dc * r};
        dpr[j] += g * z;
        for (int q = 0; q < 3; q++) {
          const size_t row = q * H + j;
          gbi[row] += da[q];
          gbh[row] += db[q];
          for (size_t k = 0; k < I; k++) {
            gwi[row * I + k] += da[q] * xt[k];
            gx[(t * N + n) * I + k] += da[q] * w_ih[row * I + k];
          }
          for (size_t k = 0; k < H; k++) {
            gwh[row * H + k] += db[q] * hp[k];
            dpr[k] += db[q] * w_hh[row * H + k];
          }
        }
      }
    }
    memcpy(dh, dprev, N * H * sizeof(double));
  }
  if (dx) memcpy(dx, gx, T * N * I * sizeof(double));
  if (dw_ih) memcpy(dw_ih, gwi, G * I * sizeof(double));
  if (dw_hh) memcpy(dw_hh, gwh, G * H * sizeof(double));
  if (db_ih) memcpy(db_ih, gbi, G * sizeof(double));
  if (db_hh) memcpy(db_hh, gbh, G * sizeof(double));
  if (dh0) memcpy(dh0, dh, N * H * sizeof(double));
  free(gx), free(gwi), free(gwh), free(gbi), free(gbh), free(dh), free(dprev);
  trace_free(&tr);
}
