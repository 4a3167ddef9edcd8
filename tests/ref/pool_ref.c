/* tests/ref/pool_ref.c — plain-C reference of 2-D pooling (see pool_ref.h). */
#include "pool_ref.h"

#include <math.h>
#include <stdlib.h>

int pool_ref_out(int in, int k, int s, int pad_a, int pad_b) {
  return (in + pad_a + pad_b - k) / s + 1;
}

/* In-bounds part of window (oh, ow), and its average divisor. */
typedef struct win {
  int h0, h1, w0, w1; /* in-bounds rows [h0, h1), columns [w0, w1) */
  int divisor;
} win;

static win window(const pool_ref_params *p, int H, int W, int oh, int ow) {
  win r;
  int top = oh * p->sh - p->pt, left = ow * p->sw - p->pl;
  int bottom = top + p->kh, right = left + p->kw; /* exclusive, in padded coordinates */
  r.h0 = top < 0 ? 0 : top;
  r.h1 = bottom > H ? H : bottom;
  r.w0 = left < 0 ? 0 : left;
  r.w1 = right > W ? W : right;
  if (p->count_include_pad) {
    /* the window clipped to the padded input [-pt, H + pb) x [-pl, W + pr) */
    int cb = bottom > H + p->pb ? H + p->pb : bottom;
    int cr = right > W + p->pr ? W + p->pr : right;
    r.divisor = (cb - top) * (cr - left);
  } else {
    r.divisor = (r.h1 - r.h0) * (r.w1 - r.w0);
  }
  return r;
}

/* index within the plane of the first maximum of window w */
static int first_max(const float *xp, int W, win w) {
  int best = -1;
  for (int h = w.h0; h < w.h1; h++)
    for (int c = w.w0; c < w.w1; c++) {
      int i = h * W + c;
      if (best < 0) {
        best = i;
        continue;
      }
      if (isnan(xp[best])) continue;
      if (isnan(xp[i]) || xp[i] > xp[best]) best = i;
    }
  return best;
}

void pool_ref_max_indices(const pool_ref_params *p, int N, int C, int H, int W, const float *x,
                          int32_t *idx) {
  int P = pool_ref_out(H, p->kh, p->sh, p->pt, p->pb);
  int Q = pool_ref_out(W, p->kw, p->sw, p->pl, p->pr);
  for (long nc = 0; nc < (long)N * C; nc++)
    for (int oh = 0; oh < P; oh++)
      for (int ow = 0; ow < Q; ow++)
        idx[(nc * P + oh) * Q + ow] = first_max(x + nc * H * W, W, window(p, H, W, oh, ow));
}

void pool_ref_max_forward(const pool_ref_params *p, int N, int C, int H, int W, const float *x,
                          float *y) {
  int P = pool_ref_out(H, p->kh, p->sh, p->pt, p->pb), Q = pool_ref_out(W, p->kw, p->sw, p->pl, p->pr);
  for (long nc = 0; nc < (long)N * C; nc++) {
    const float *xp = x + nc * H * W;
    for (int oh = 0; oh < P; oh++)
      for (int ow = 0; ow < Q; ow++)
        y[(nc * P + oh) * Q + ow] = xp[first_max(xp, W, window(p, H, W, oh, ow))];
  }
}

static double *grad_start(size_t n, const float *dx, float beta) {
  double *g = malloc(n * sizeof(double));
  for (size_t i = 0; i < n; i++) g[i] = beta == 0.0f ? 0.0 : (double)beta * dx[i];
  return g;
}

static void grad_end(double *g, size_t n, float *dx) {
  for (size_t i = 0; i < n; i++) dx[i] = (float)g[i];
  free(g);
}

void pool_ref_max_backward(const pool_ref_params *p, int N, int C, int H, int W, const float *x,
                           const float *dy, float beta, float *dx) {
  int P = pool_ref_out(H, p->kh, p->sh, p->pt, p->pb), Q = pool_ref_out(W, p->kw, p->sw, p->pl, p->pr);
  size_t n = (size_t)N * C * H * W;
  double *g = grad_start(n, dx, beta);
  for (long nc = 0; nc < (long)N * C; nc++) {
    const float *xp = x + nc * H * W;
    for (int oh = 0; oh < P; oh++)
      for (int ow = 0; ow < Q; ow++)
        g[nc * H * W + first_max(xp, W, window(p, H, W, oh, ow))] += dy[(nc * P + oh) * Q + ow];
  }
  grad_end(g, n, dx);
}

void pool_ref_avg_forward(const pool_ref_params *p, int N, int C, int H, int W, const float *x,
                          float *y) {
  int P = pool_ref_out(H, p->kh, p->sh, p->pt, p->pb), Q = pool_ref_out(W, p->kw, p->sw, p->pl, p->pr);
  for (long nc = 0; nc < (long)N * C; nc++) {
    const float *xp = x + nc * H * W;
    for (int oh = 0; oh < P; oh++)
      for (int ow = 0; ow < Q; ow++) {
        win w = window(p, H, W, oh, ow);
        double s = 0;
        for (int h = w.h0; h < w.h1; h++)
          for (int c = w.w0; c < w.w1; c++) s += xp[h * W + c];
        y[(nc * P + oh) * Q + ow] = (float)(s / w.divisor);
      }
  }
}

void pool_ref_avg_backward(const pool_ref_params *p, int N, int C, int H, int W, const float *dy,
                           float beta, float *dx) {
  int P = pool_ref_out(H, p->kh, p->sh, p->pt, p->pb), Q = pool_ref_out(W, p->kw, p->sw, p->pl, p->pr);
  size_t n = (size_t)N * C * H * W;
  double *g = grad_start(n, dx, beta);
  for (long nc = 0; nc < (long)N * C; nc++)
    for (int oh = 0; oh < P; oh++)
      for (int ow = 0; ow < Q; ow++) {
        win w = window(p, H, W, oh, ow);
        double d = (double)dy[(nc * P + oh) * Q + ow] / w.divisor;
        for (int h = w.h0; h < w.h1; h++)
          for (int c = w.w0; c < w.w1; c++) g[nc * H * W + h * W + c] += d;
      }
  grad_end(g, n, dx);
}

void pool_ref_global_avg_forward(int N, int C, int H, int W, const float *x, float *y) {
  for (long nc = 0; nc < (long)N * C; nc++) {
    double s = 0;
    for (long i = 0; i < (long)H * W; i++) s += x[nc * H * W + i];
    y[nc] = (float)(s / ((double)H * W));
  }
}

void pool_ref_global_avg_backward(int N, int C, int H, int W, const float *dy, float beta,
                                  float *dx) {
  for (long nc = 0; nc < (long)N * C; nc++)
    for (long i = 0; i < (long)H * W; i++) {
      double g = (double)dy[nc] / ((double)H * W);
      float *d = &dx[nc * H * W + i];
      *d = (float)(beta == 0.0f ? g : (double)beta * *d + g);
    }
}

double pool_ref_loss(const pool_ref_params *p, int max, int N, int C, int H, int W,
                     const float *x, const float *r) {
  int P = pool_ref_out(H, p->kh, p->sh, p->pt, p->pb), Q = pool_ref_out(W, p->kw, p->sw, p->pl, p->pr);
  double loss = 0;
  for (long nc = 0; nc < (long)N * C; nc++) {
    const float *xp = x + nc * H * W;
    for (int oh = 0; oh < P; oh++)
      for (int ow = 0; ow < Q; ow++) {
        win w = window(p, H, W, oh, ow);
        double v;
        if (max) {
          v = xp[first_max(xp, W, w)];
        } else {
          double s = 0;
          for (int h = w.h0; h < w.h1; h++)
            for (int c = w.w0; c < w.w1; c++) s += xp[h * W + c];
          v = s / w.divisor;
        }
        loss += (double)r[(nc * P + oh) * Q + ow] * v;
      }
  }
  return loss;
}
