/* tests/ref/lstm_ref.c — plain-C double-precision reference of the LSTM gate cell and the LSTM
 * layer, forward and backward through time (see lstm_ref.h). Straightforward loops, no tricks. */
#include "lstm_ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double sig(double v) { return 1.0 / (1.0 + exp(-v)); }

void lstm_ref_gates_forward(size_t N, size_t H, const float *gates, const float *c_prev, float *c,
                            float *h) {
  for (size_t n = 0; n < N; n++) {
    const float *a = gates + n * 4 * H;
    for (size_t j = 0; j < H; j++) {
      double i = sig(a[j]), f = sig(a[H + j]), g = tanh(a[2 * H + j]), o = sig(a[3 * H + j]);
      double cc = f * c_prev[n * H + j] + i * g;
      c[n * H + j] = (float)cc;
      h[n * H + j] = (float)(o * tanh(cc));
    }
  }
}

void lstm_ref_gates_backward(size_t N, size_t H, const float *gates, const float *c_prev,
                             const float *dh, const float *dc, float *dgates, float *dc_prev) {
  for (size_t n = 0; n < N; n++) {
    const float *a = gates + n * 4 * H;
    float *da = dgates + n * 4 * H;
    for (size_t j = 0; j < H; j++) {
      size_t k = n * H + j;
      double i = sig(a[j]), f = sig(a[H + j]), g = tanh(a[2 * H + j]), o = sig(a[3 * H + j]);
      double cp = c_prev[k];
      double cc = f * cp + i * g, tc = tanh(cc);
      /* h = o * tanh(c): dL/do = dh * tanh(c); dL/dc gets dh * o * (1 - tanh^2 c). */
      double dct = (dc ? dc[k] : 0.0) + dh[k] * o * (1.0 - tc * tc);
      double d_o = dh[k] * tc;
      double d_i = dct * g, d_f = dct * cp, d_g = dct * i;
      da[j] = (float)(d_i * i * (1.0 - i));
      da[H + j] = (float)(d_f * f * (1.0 - f));
      da[2 * H + j] = (float)(d_g * (1.0 - g * g));
      da[3 * H + j] = (float)(d_o * o * (1.0 - o));
      dc_prev[k] = (float)(dct * f);
    }
  }
}

/* Runs the forward and keeps what backward needs: activated gates act [T, N, 4H] (i, f, g, o
 * after their nonlinearity), c [T, N, H], h [T, N, H]. */
static void forward_keep(size_t T, size_t N, size_t I, size_t H, const double *x,
                         const double *w_ih, const double *w_hh, const double *bias,
                         const double *h0, const double *c0, double *act, double *c, double *h) {
  const size_t G = 4 * H;
  for (size_t t = 0; t < T; t++) {
    for (size_t n = 0; n < N; n++) {
      const double *xt = x + (t * N + n) * I;
      const double *hp = t > 0 ? h + ((t - 1) * N + n) * H : (h0 ? h0 + n * H : NULL);
      const double *cp = t > 0 ? c + ((t - 1) * N + n) * H : (c0 ? c0 + n * H : NULL);
      double *a = act + (t * N + n) * G;
      for (size_t r = 0; r < G; r++) {
        double s = bias ? bias[r] : 0.0;
        for (size_t k = 0; k < I; k++) s += w_ih[r * I + k] * xt[k];
        if (hp)
          for (size_t k = 0; k < H; k++) s += w_hh[r * H + k] * hp[k];
        a[r] = (r >= 2 * H && r < 3 * H) ? tanh(s) : sig(s);
      }
      for (size_t j = 0; j < H; j++) {
        double cc = a[H + j] * (cp ? cp[j] : 0.0) + a[j] * a[2 * H + j];
        c[(t * N + n) * H + j] = cc;
        h[(t * N + n) * H + j] = a[3 * H + j] * tanh(cc);
      }
    }
  }
}

void lstm_ref_forward_d(size_t T, size_t N, size_t I, size_t H, const double *x, const double *w_ih,
                        const double *w_hh, const double *bias, const double *h0, const double *c0,
                        double *y, double *h_n, double *c_n) {
  double *act = malloc(T * N * 4 * H * sizeof(double));
  double *c = malloc(T * N * H * sizeof(double));
  double *h = malloc(T * N * H * sizeof(double));
  if (!act || !c || !h) abort();
  forward_keep(T, N, I, H, x, w_ih, w_hh, bias, h0, c0, act, c, h);
  if (y) memcpy(y, h, T * N * H * sizeof(double));
  if (h_n) memcpy(h_n, h + (T - 1) * N * H, N * H * sizeof(double));
  if (c_n) memcpy(c_n, c + (T - 1) * N * H, N * H * sizeof(double));
  free(act);
  free(c);
  free(h);
}

void lstm_ref_backward_d(size_t T, size_t N, size_t I, size_t H, const double *x,
                         const double *w_ih, const double *w_hh, const double *bias,
                         const double *h0, const double *c0, const double *dy, const double *dh_n,
                         const double *dc_n, double *dx, double *dw_ih, double *dw_hh,
                         double *dbias, double *dh0, double *dc0) {
  const size_t G = 4 * H;
  double *act = malloc(T * N * G * sizeof(double));
  double *c = malloc(T * N * H * sizeof(double));
  double *h = malloc(T * N * H * sizeof(double));
  double *dh_next = calloc(N * H, sizeof(double)); /* dL/dh_t from step t+1 (and dh_n) */
  double *dc_next = calloc(N * H, sizeof(double)); /* dL/dc_t from step t+1 (and dc_n) */
  double *da = malloc(N * G * sizeof(double));     /* dL/d pre-activation of this step */
  double *gx = calloc(T * N * I, sizeof(double)), *gwi = calloc(G * I, sizeof(double));
  double *gwh = calloc(G * H, sizeof(double)), *gb = calloc(G, sizeof(double));
  if (!act || !c || !h || !dh_next || !dc_next || !da || !gx || !gwi || !gwh || !gb) abort();
  forward_keep(T, N, I, H, x, w_ih, w_hh, bias, h0, c0, act, c, h);
  if (dh_n) memcpy(dh_next, dh_n, N * H * sizeof(double));
  if (dc_n) memcpy(dc_next, dc_n, N * H * sizeof(double));
  for (size_t t = T; t-- > 0;) {
    for (size_t n = 0; n < N; n++) {
      const double *a = act + (t * N + n) * G;
      const double *cp = t > 0 ? c + ((t - 1) * N + n) * H : (c0 ? c0 + n * H : NULL);
      for (size_t j = 0; j < H; j++) {
        size_t k = n * H + j;
        double i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j];
        double tc = tanh(c[(t * N + n) * H + j]);
        double dh = dh_next[k] + (dy ? dy[(t * N + n) * H + j] : 0.0);
        double dc = dc_next[k] + dh * o * (1.0 - tc * tc);
        double cpv = cp ? cp[j] : 0.0;
        da[n * G + j] = dc * g * i * (1.0 - i);
        da[n * G + H + j] = dc * cpv * f * (1.0 - f);
        da[n * G + 2 * H + j] = dc * i * (1.0 - g * g);
        da[n * G + 3 * H + j] = dh * tc * o * (1.0 - o);
        dc_next[k] = dc * f; /* now dL/dc_{t-1} */
      }
    }
    for (size_t n = 0; n < N; n++) {
      const double *xt = x + (t * N + n) * I;
      const double *hp = t > 0 ? h + ((t - 1) * N + n) * H : (h0 ? h0 + n * H : NULL);
      for (size_t r = 0; r < G; r++) {
        double d = da[n * G + r];
        gb[r] += d;
        for (size_t k = 0; k < I; k++) {
          gx[(t * N + n) * I + k] += d * w_ih[r * I + k];
          gwi[r * I + k] += d * xt[k];
        }
        if (hp)
          for (size_t k = 0; k < H; k++) gwh[r * H + k] += d * hp[k];
      }
      for (size_t k = 0; k < H; k++) {
        double s = 0.0;
        for (size_t r = 0; r < G; r++) s += da[n * G + r] * w_hh[r * H + k];
        dh_next[n * H + k] = s; /* now dL/dh_{t-1} from the recurrence */
      }
    }
  }
  if (dx) memcpy(dx, gx, T * N * I * sizeof(double));
  if (dw_ih) memcpy(dw_ih, gwi, G * I * sizeof(double));
  if (dw_hh) memcpy(dw_hh, gwh, G * H * sizeof(double));
  if (dbias) memcpy(dbias, gb, G * sizeof(double));
  if (dh0) memcpy(dh0, dh_next, N * H * sizeof(double));
  if (dc0) memcpy(dc0, dc_next, N * H * sizeof(double));
  free(act);
  free(c);
  free(h);
  free(dh_next);
  free(dc_next);
  free(da);
  free(gx);
  free(gwi);
  free(gwh);
  free(gb);
}

static double *to_d(const float *v, size_t n) {
  if (!v) return NULL;
  double *d = calloc(n ? n : 1, sizeof(double));
  if (!d) abort();
  for (size_t i = 0; i < n; i++) d[i] = v[i];
  return d;
}
static double *out_d(const float *v, size_t n) {
  if (!v) return NULL;
  double *d = calloc(n ? n : 1, sizeof(double));
  if (!d) abort();
  return d;
}
static void back_f(float *dst, double *src, size_t n) {
  if (dst)
    for (size_t i = 0; i < n; i++) dst[i] = (float)src[i];
  free(src);
}

void lstm_ref_forward(size_t T, size_t N, size_t I, size_t H, const float *x, const float *w_ih,
                      const float *w_hh, const float *bias, const float *h0, const float *c0,
                      float *y, float *h_n, float *c_n) {
  const size_t G = 4 * H;
  double *dx = to_d(x, T * N * I), *dwi = to_d(w_ih, G * I), *dwh = to_d(w_hh, G * H);
  double *db = to_d(bias, G), *dh0 = to_d(h0, N * H), *dc0 = to_d(c0, N * H);
  double *dy = out_d(y, T * N * H), *dhn = out_d(h_n, N * H), *dcn = out_d(c_n, N * H);
  lstm_ref_forward_d(T, N, I, H, dx, dwi, dwh, db, dh0, dc0, dy, dhn, dcn);
  back_f(y, dy, T * N * H);
  back_f(h_n, dhn, N * H);
  back_f(c_n, dcn, N * H);
  free(dx);
  free(dwi);
  free(dwh);
  free(db);
  free(dh0);
  free(dc0);
}

void lstm_ref_backward(size_t T, size_t N, size_t I, size_t H, const float *x, const float *w_ih,
                       const float *w_hh, const float *bias, const float *h0, const float *c0,
                       const float *dy, const float *dh_n, const float *dc_n, float *dx,
                       float *dw_ih, float *dw_hh, float *dbias, float *dh0, float *dc0) {
  const size_t G = 4 * H;
  double *xd = to_d(x, T * N * I), *wid = to_d(w_ih, G * I), *whd = to_d(w_hh, G * H);
  double *bd = to_d(bias, G), *h0d = to_d(h0, N * H), *c0d = to_d(c0, N * H);
  double *dyd = to_d(dy, T * N * H), *dhnd = to_d(dh_n, N * H), *dcnd = to_d(dc_n, N * H);
  double *gx = out_d(dx, T * N * I), *gwi = out_d(dw_ih, G * I), *gwh = out_d(dw_hh, G * H);
  double *gb = out_d(dbias, G), *gh0 = out_d(dh0, N * H), *gc0 = out_d(dc0, N * H);
  lstm_ref_backward_d(T, N, I, H, xd, wid, whd, bd, h0d, c0d, dyd, dhnd, dcnd, gx, gwi, gwh, gb,
                      gh0, gc0);
  back_f(dx, gx, T * N * I);
  back_f(dw_ih, gwi, G * I);
  back_f(dw_hh, gwh, G * H);
  back_f(dbias, gb, G);
  back_f(dh0, gh0, N * H);
  back_f(dc0, gc0, N * H);
  free(xd);
  free(wid);
  free(whd);
  free(bd);
  free(h0d);
  free(c0d);
  free(dyd);
  free(dhnd);
  free(dcnd);
}
