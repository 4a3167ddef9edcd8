/* tests/ref/conv_ref.c — plain-C reference convolution (see conv_ref.h). Naive loops straight
 * from the definitions, double accumulation. Backward-data of conv2d and the transposed forward
 * are written as scatters (each output-side element adds into every input it touched), the
 * opposite formulation to the device's gathers, so the two are independent. */
#include "conv_ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int valid_common(const conv_ref_geom *g) {
  return g->n > 0 && g->c > 0 && g->h > 0 && g->w > 0 && g->k > 0 && g->r > 0 && g->s > 0 &&
         g->stride_h > 0 && g->stride_w > 0 && g->dil_h > 0 && g->dil_w > 0 && g->pad_top >= 0 &&
         g->pad_bottom >= 0 && g->pad_left >= 0 && g->pad_right >= 0 && g->groups > 0 &&
         g->c % g->groups == 0 && g->k % g->groups == 0;
}

int conv_ref_geom_conv(conv_ref_geom *g) {
  if (!valid_common(g)) return 0;
  int eh = g->h + g->pad_top + g->pad_bottom - g->dil_h * (g->r - 1) - 1;
  int ew = g->w + g->pad_left + g->pad_right - g->dil_w * (g->s - 1) - 1;
  if (eh < 0 || ew < 0) return 0;
  g->p = eh / g->stride_h + 1;
  g->q = ew / g->stride_w + 1;
  return 1;
}

int conv_ref_geom_transpose(conv_ref_geom *g) {
  if (!valid_common(g)) return 0;
  g->p = (g->h - 1) * g->stride_h - g->pad_top - g->pad_bottom + g->dil_h * (g->r - 1) + 1;
  g->q = (g->w - 1) * g->stride_w - g->pad_left - g->pad_right + g->dil_w * (g->s - 1) + 1;
  return g->p > 0 && g->q > 0;
}

double conv_ref_act(int act, double alpha, double v) {
  switch (act) {
    case 1: return v > 0 ? v : 0;
    case 2: return v > 0 ? v : alpha * v;
    case 3: return v > 0 ? v : alpha * (exp(v) - 1);
    case 4: return 1 / (1 + exp(-v));
    case 5: return tanh(v);
    case 6: return 0.5 * v * (1 + erf(v / sqrt(2.0)));
    case 7: return v > 20 ? v : log1p(exp(v));
    default: return v;
  }
}

/* Index helpers (size_t arithmetic). */
#define IDX4(a, b, c, d, B, C, D) ((((size_t)(a) * (B) + (b)) * (C) + (c)) * (D) + (d))

void conv_ref_forward_d(const conv_ref_geom *g, const float *x, const float *wt,
                        const float *bias, double *yd) {
  int cg = g->c / g->groups, kg = g->k / g->groups;
  for (int n = 0; n < g->n; n++)
    for (int k = 0; k < g->k; k++) {
      int grp = k / kg;
      for (int p = 0; p < g->p; p++)
        for (int q = 0; q < g->q; q++) {
          double acc = bias ? bias[k] : 0.0;
          for (int cl = 0; cl < cg; cl++) {
            int c = grp * cg + cl;
            for (int r = 0; r < g->r; r++) {
              int ih = p * g->stride_h - g->pad_top + r * g->dil_h;
              if (ih < 0 || ih >= g->h) continue;
              for (int s = 0; s < g->s; s++) {
                int iw = q * g->stride_w - g->pad_left + s * g->dil_w;
                if (iw < 0 || iw >= g->w) continue;
                acc += (double)x[IDX4(n, c, ih, iw, g->c, g->h, g->w)] *
                       (double)wt[IDX4(k, cl, r, s, cg, g->r, g->s)];
              }
            }
          }
          yd[IDX4(n, k, p, q, g->k, g->p, g->q)] = acc;
        }
    }
}

void conv_ref_forward(const conv_ref_geom *g, const float *x, const float *wt, const float *bias,
                      int act, float act_alpha, float *y) {
  size_t ny = (size_t)g->n * g->k * g->p * g->q;
  double *yd = malloc(ny * sizeof(double));
  if (!yd) abort();
  conv_ref_forward_d(g, x, wt, bias, yd);
  for (size_t i = 0; i < ny; i++) y[i] = (float)conv_ref_act(act, act_alpha, yd[i]);
  free(yd);
}

void conv_ref_backward_data(const conv_ref_geom *g, const float *dy, const float *wt, float beta,
                            float *dx) {
  int cg = g->c / g->groups, kg = g->k / g->groups;
  size_t nx = (size_t)g->n * g->c * g->h * g->w;
  double *acc = calloc(nx, sizeof(double));
  if (!acc) abort();
  for (int n = 0; n < g->n; n++)
    for (int k = 0; k < g->k; k++) {
      int grp = k / kg;
      for (int p = 0; p < g->p; p++)
        for (int q = 0; q < g->q; q++) {
          double d = dy[IDX4(n, k, p, q, g->k, g->p, g->q)];
          for (int cl = 0; cl < cg; cl++)
            for (int r = 0; r < g->r; r++) {
              int ih = p * g->stride_h - g->pad_top + r * g->dil_h;
              if (ih < 0 || ih >= g->h) continue;
              for (int s = 0; s < g->s; s++) {
                int iw = q * g->stride_w - g->pad_left + s * g->dil_w;
                if (iw < 0 || iw >= g->w) continue;
                acc[IDX4(n, grp * cg + cl, ih, iw, g->c, g->h, g->w)] +=
                    d * wt[IDX4(k, cl, r, s, cg, g->r, g->s)];
              }
            }
        }
    }
  for (size_t i = 0; i < nx; i++)
    dx[i] = (float)(beta == 0.0f ? acc[i] : (double)beta * dx[i] + acc[i]);
  free(acc);
}

void conv_ref_backward_filter(const conv_ref_geom *g, const float *x, const float *dy, float beta,
                              float *dw) {
  int cg = g->c / g->groups, kg = g->k / g->groups;
  for (int k = 0; k < g->k; k++) {
    int grp = k / kg;
    for (int cl = 0; cl < cg; cl++)
      for (int r = 0; r < g->r; r++)
        for (int s = 0; s < g->s; s++) {
          double acc = 0;
          for (int n = 0; n < g->n; n++)
            for (int p = 0; p < g->p; p++) {
              int ih = p * g->stride_h - g->pad_top + r * g->dil_h;
              if (ih < 0 || ih >= g->h) continue;
              for (int q = 0; q < g->q; q++) {
                int iw = q * g->stride_w - g->pad_left + s * g->dil_w;
                if (iw < 0 || iw >= g->w) continue;
                acc += (double)dy[IDX4(n, k, p, q, g->k, g->p, g->q)] *
                       x[IDX4(n, grp * cg + cl, ih, iw, g->c, g->h, g->w)];
              }
            }
          size_t i = IDX4(k, cl, r, s, cg, g->r, g->s);
          dw[i] = (float)(beta == 0.0f ? acc : (double)beta * dw[i] + acc);
        }
  }
}

void conv_ref_backward_bias(int n, int k, int spatial, const float *dy, float beta, float *db) {
  for (int kk = 0; kk < k; kk++) {
    double acc = 0;
    for (int nn = 0; nn < n; nn++)
      for (int i = 0; i < spatial; i++) acc += dy[((size_t)nn * k + kk) * spatial + i];
    db[kk] = (float)(beta == 0.0f ? acc : (double)beta * db[kk] + acc);
  }
}

/* ---- transposed convolution: x [n, c, h, w], wt [c, k/groups, r, s], y [n, k, p, q] ---- */

void conv_ref_transpose_forward_d(const conv_ref_geom *g, const float *x, const float *wt,
                                  double *yd) {
  int cg = g->c / g->groups, kg = g->k / g->groups;
  size_t ny = (size_t)g->n * g->k * g->p * g->q;
  memset(yd, 0, ny * sizeof(double));
  for (int n = 0; n < g->n; n++)
    for (int c = 0; c < g->c; c++) {
      int grp = c / cg;
      for (int ih = 0; ih < g->h; ih++)
        for (int iw = 0; iw < g->w; iw++) {
          double v = x[IDX4(n, c, ih, iw, g->c, g->h, g->w)];
          for (int kl = 0; kl < kg; kl++)
            for (int r = 0; r < g->r; r++) {
              int oh = ih * g->stride_h - g->pad_top + r * g->dil_h;
              if (oh < 0 || oh >= g->p) continue;
              for (int s = 0; s < g->s; s++) {
                int ow = iw * g->stride_w - g->pad_left + s * g->dil_w;
                if (ow < 0 || ow >= g->q) continue;
                yd[IDX4(n, grp * kg + kl, oh, ow, g->k, g->p, g->q)] +=
                    v * wt[IDX4(c, kl, r, s, kg, g->r, g->s)];
              }
            }
        }
    }
}

void conv_ref_transpose_forward(const conv_ref_geom *g, const float *x, const float *wt,
                                const float *bias, float *y) {
  size_t ny = (size_t)g->n * g->k * g->p * g->q, sp = (size_t)g->p * g->q;
  double *yd = malloc(ny * sizeof(double));
  if (!yd) abort();
  conv_ref_transpose_forward_d(g, x, wt, yd);
  for (size_t i = 0; i < ny; i++) {
    size_t k = (i / sp) % (size_t)g->k;
    y[i] = (float)(yd[i] + (bias ? bias[k] : 0.0));
  }
  free(yd);
}

void conv_ref_transpose_backward_data(const conv_ref_geom *g, const float *dy, const float *wt,
                                      float beta, float *dx) {
  int cg = g->c / g->groups, kg = g->k / g->groups;
  for (int n = 0; n < g->n; n++)
    for (int c = 0; c < g->c; c++) {
      int grp = c / cg;
      for (int ih = 0; ih < g->h; ih++)
        for (int iw = 0; iw < g->w; iw++) {
          double acc = 0;
          for (int kl = 0; kl < kg; kl++)
            for (int r = 0; r < g->r; r++) {
              int oh = ih * g->stride_h - g->pad_top + r * g->dil_h;
              if (oh < 0 || oh >= g->p) continue;
              for (int s = 0; s < g->s; s++) {
                int ow = iw * g->stride_w - g->pad_left + s * g->dil_w;
                if (ow < 0 || ow >= g->q) continue;
                acc += (double)dy[IDX4(n, grp * kg + kl, oh, ow, g->k, g->p, g->q)] *
                       wt[IDX4(c, kl, r, s, kg, g->r, g->s)];
              }
            }
          size_t i = IDX4(n, c, ih, iw, g->c, g->h, g->w);
          dx[i] = (float)(beta == 0.0f ? acc : (double)beta * dx[i] + acc);
        }
    }
}

void conv_ref_transpose_backward_filter(const conv_ref_geom *g, const float *x, const float *dy,
                                        float beta, float *dw) {
  int cg = g->c / g->groups, kg = g->k / g->groups;
  for (int c = 0; c < g->c; c++) {
    int grp = c / cg;
    for (int kl = 0; kl < kg; kl++)
      for (int r = 0; r < g->r; r++)
        for (int s = 0; s < g->s; s++) {
          double acc = 0;
          for (int n = 0; n < g->n; n++)
            for (int ih = 0; ih < g->h; ih++) {
              int oh = ih * g->stride_h - g->pad_top + r * g->dil_h;
              if (oh < 0 || oh >= g->p) continue;
              for (int iw = 0; iw < g->w; iw++) {
                int ow = iw * g->stride_w - g->pad_left + s * g->dil_w;
                if (ow < 0 || ow >= g->q) continue;
                acc += (double)x[IDX4(n, c, ih, iw, g->c, g->h, g->w)] *
                       dy[IDX4(n, grp * kg + kl, oh, ow, g->k, g->p, g->q)];
              }
            }
          size_t i = IDX4(c, kl, r, s, kg, g->r, g->s);
          dw[i] = (float)(beta == 0.0f ? acc : (double)beta * dw[i] + acc);
        }
  }
}
