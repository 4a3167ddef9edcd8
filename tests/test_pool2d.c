/* tests/test_pool2d.c — max, average (count_include_pad both ways) and global average pooling,
 * forward and backward, against the plain-C reference: odd sizes, windows hanging over every
 * edge, asymmetric padding, 1x1 outputs, ties and NaN in max pooling, beta 0 (over NaN), 1 and 0.5,
 * the CPU and the GPU launch shapes; backward against central finite differences; parameter
 * validation and every error path leaving the output untouched. */
#include "internal.h"
#include "pool_ref.h"
#include "test_util.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static clnn_context *ctx, *ctx2;
#define SENTINEL -3.5f

typedef struct cfg {
  int N, C, H, W, kh, kw, sh, sw, pt, pb, pl, pr;
} cfg;

static const cfg cfgs[] = {
    {1, 1, 4, 4, 2, 2, 2, 2, 0, 0, 0, 0},    /* plain 2x2/2 */
    {2, 3, 7, 9, 3, 3, 2, 2, 1, 1, 1, 1},    /* odd sizes, stride 2, pad 1 */
    {1, 5, 13, 13, 3, 3, 1, 1, 1, 1, 1, 1},  /* 13x13 overlapping windows */
    {2, 17, 8, 8, 2, 3, 1, 1, 1, 0, 0, 2},   /* asymmetric kernel and padding */
    {1, 3, 5, 5, 5, 5, 1, 1, 2, 2, 2, 2},    /* 5x5 windows, every one over the edge */
    {1, 2, 6, 7, 3, 3, 3, 3, 2, 2, 2, 2},    /* padding 2 of 3: windows mostly outside */
    {1, 4, 3, 3, 3, 3, 1, 1, 0, 0, 0, 0},    /* 1x1 output */
    {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0},    /* 1x1 everything */
    {3, 2, 9, 5, 4, 2, 3, 1, 3, 1, 1, 0},    /* uneven kernel, stride, padding */
    {2, 3, 10, 11, 2, 2, 2, 2, 0, 1, 1, 0},  /* windows hanging over bottom/left only */
    {1, 64, 56, 56, 3, 3, 2, 2, 1, 1, 1, 1}, /* a realistic layer */
    /* rows wide enough for the CPU kernels' 16-lane vectors (full, edge and partial chunks) */
    {2, 3, 9, 70, 3, 3, 2, 2, 1, 1, 1, 1},   /* stride 2 (even-lane loads), Q = 35 */
    {1, 4, 5, 40, 2, 2, 1, 1, 0, 1, 0, 1},   /* stride 1, overlapping, pad right */
    {2, 3, 6, 67, 3, 2, 1, 3, 1, 0, 1, 1},   /* stride 3, asymmetric */
    {1, 5, 4, 50, 2, 2, 2, 2, 0, 0, 0, 0},   /* 2x2/2, even width */
    /* interiors of 8..15 columns: the forward kernels' two overlapping 8-lane chunks */
    {2, 4, 28, 28, 2, 2, 2, 2, 0, 0, 0, 0},  /* stride 2, Q = 14 (pool_avg2's planes) */
    {1, 3, 7, 40, 3, 3, 3, 3, 1, 1, 1, 1},   /* stride 3, Q = 14 */
    /* kernel == stride, no padding: avgpool_backward_cpu's non-overlapping path (16/8/4-wide
     * stores, scalar tails, rows and columns past the last window) */
    {2, 3, 8, 48, 2, 2, 2, 2, 0, 0, 0, 0},   /* 2x2/2, covered width a multiple of 16 */
    {1, 3, 9, 61, 2, 2, 2, 2, 0, 0, 0, 0},   /* 2x2/2, 60 = 3*16 + 8 + 4, last row/column bare */
    {1, 2, 6, 35, 3, 2, 3, 2, 0, 0, 0, 0},   /* 3x2/3x2, 34 = 2*16 + 2 scalar, last column bare */
    {1, 2, 3, 37, 1, 1, 1, 1, 0, 0, 0, 0},   /* 1x1/1, 2*16 + 5 scalar */
    {2, 2, 10, 50, 3, 3, 3, 3, 0, 0, 0, 0},  /* 3x3/3 (scalar), last row and 2 columns bare */
    /* 2-wide stride-2 windows with padding: avgpool_forward_cpu's even/odd path, 16 and 8 lanes */
    {1, 3, 5, 41, 2, 2, 2, 2, 1, 0, 1, 1},   /* Q = 21: windows 1..20 vector, 0 scalar */
    {1, 2, 4, 20, 2, 2, 2, 2, 0, 0, 1, 1},   /* Q = 11: windows 1..9 two 8-lane chunks */
    {2, 4, 14, 14, 2, 2, 2, 2, 0, 0, 0, 0},  /* 2x2/2, Q = 7: max pool 4 windows a vector */
    {3, 2, 8, 8, 2, 2, 2, 2, 0, 0, 0, 0},    /* 2x2/2, Q = 4 */
    {1, 6, 9, 13, 2, 2, 2, 2, 0, 1, 0, 1},   /* 2x2/2 pad right: 6 windows inside, 1 by hand */
};

static clnn_pool2d_params to_params(const cfg *c, int cip) {
  clnn_pool2d_params p;
  clnn_pool2d_params_init(&p, 1);
  p.kernel_h = c->kh;
  p.kernel_w = c->kw;
  p.stride_h = c->sh;
  p.stride_w = c->sw;
  p.pad_top = c->pt;
  p.pad_bottom = c->pb;
  p.pad_left = c->pl;
  p.pad_right = c->pr;
  p.count_include_pad = cip;
  return p;
}

static pool_ref_params to_ref(const cfg *c, int cip) {
  pool_ref_params r = {c->kh, c->kw, c->sh, c->sw, c->pt, c->pb, c->pl, c->pr, cip};
  return r;
}


/* Runs every pooling op of one configuration against the reference. data: 0 random, 1 small
 * integers (many ties), 2 small integers with a NaN. */
static void run_cfg(const cfg *c, int data, const char *shape_name) {
  size_t xd[4] = {(size_t)c->N, (size_t)c->C, (size_t)c->H, (size_t)c->W}, yd[4];
  clnn_pool2d_params p = to_params(c, 0);
  TU_OK(clnn_pool2d_output_dims(xd, &p, yd));
  int P = pool_ref_out(c->H, c->kh, c->sh, c->pt, c->pb), Q = pool_ref_out(c->W, c->kw, c->sw, c->pl, c->pr);
  TU_CHECK(yd[0] == xd[0] && yd[1] == xd[1] && yd[2] == (size_t)P && yd[3] == (size_t)Q,
           "output dims [%zu, %zu, %zu, %zu], want P=%d Q=%d", yd[0], yd[1], yd[2], yd[3], P, Q);
  size_t nx = xd[0] * xd[1] * xd[2] * xd[3], ny = yd[0] * yd[1] * yd[2] * yd[3];
  float *x = malloc(nx * sizeof(float)), *dy = malloc(ny * sizeof(float));
  float *want_y = malloc(ny * sizeof(float)), *want_dx = malloc(nx * sizeof(float));
  float *d0 = malloc(nx * sizeof(float));
  if (data == 0) {
    tu_fill_uniform(x, nx, -2.0f, 2.0f);
  } else {
    for (size_t i = 0; i < nx; i++) x[i] = (float)(int)tu_uniform(0.0f, 3.0f);
    if (data == 2) x[nx / 2] = NAN;
  }
  tu_fill_uniform(dy, ny, -1.0f, 1.0f);
  tu_fill_uniform(d0, nx, -1.0f, 1.0f);
  clnn_tensor *tx = tu_tensor(ctx, 4, xd, x), *ty = tu_guarded(ctx, 4, yd);
  clnn_tensor *tdy = tu_tensor(ctx, 4, yd, dy), *tdx = tu_guarded(ctx, 4, xd);
  char what[200];
#define WHAT(op)                                                                               \
  snprintf(what, sizeof what, "[%s] %s N%d C%d %dx%d k%dx%d s%dx%d pad %d,%d,%d,%d data %d", \
           shape_name, op, c->N, c->C, c->H, c->W, c->kh, c->kw, c->sh, c->sw, c->pt, c->pb,  \
           c->pl, c->pr, data)
  /* the same, with " beta=B" appended */
#define WHAT_BETA(op, b) (WHAT(op), snprintf(what + strlen(what), sizeof what - strlen(what), " beta=%g", (double)(b)))

  /* max */
  pool_ref_params rp = to_ref(c, 0);
  pool_ref_max_forward(&rp, c->N, c->C, c->H, c->W, x, want_y);
  TU_OK(clnn_tensor_fill(ty, NAN));
  TU_OK(clnn_maxpool2d_forward(ctx, &p, tx, ty));
  float *got = tu_read(ty);
  WHAT("maxpool forward");
  tu_allclose(got, want_y, ny, 0, 0, what); /* a selection: exact */
  free(got);
  for (int bi = 0; bi < TU_NBETAS; bi++) {
    const float beta = tu_betas[bi];
    if (beta != 0.0f) {
      TU_OK(clnn_tensor_write(tdx, d0, nx));
      memcpy(want_dx, d0, nx * sizeof(float));
    } else {
      TU_OK(clnn_tensor_fill(tdx, NAN));
    }
    pool_ref_max_backward(&rp, c->N, c->C, c->H, c->W, x, dy, beta, want_dx);
    TU_OK(clnn_maxpool2d_backward(ctx, &p, tx, tdy, beta, tdx));
    got = tu_read(tdx);
    WHAT_BETA("maxpool backward", beta);
    tu_allclose(got, want_dx, nx, 1e-6f, 1e-6f, what);
    free(got);
  }
  if (data == 0) {
    /* average, both divisor conventions */
    for (int cip = 0; cip <= 1; cip++) {
      p.count_include_pad = cip;
      rp.count_include_pad = cip;
      pool_ref_avg_forward(&rp, c->N, c->C, c->H, c->W, x, want_y);
      TU_OK(clnn_tensor_fill(ty, NAN));
      TU_OK(clnn_avgpool2d_forward(ctx, &p, tx, ty));
      got = tu_read(ty);
      WHAT(cip ? "avgpool forward count_include_pad=1" : "avgpool forward count_include_pad=0");
      tu_allclose(got, want_y, ny, 1e-5f, 1e-6f, what);
      free(got);
      for (int bi = 0; bi < TU_NBETAS; bi++) {
        const float beta = tu_betas[bi];
        if (beta != 0.0f) {
          TU_OK(clnn_tensor_write(tdx, d0, nx));
          memcpy(want_dx, d0, nx * sizeof(float));
        } else {
          TU_OK(clnn_tensor_fill(tdx, NAN));
        }
        pool_ref_avg_backward(&rp, c->N, c->C, c->H, c->W, dy, beta, want_dx);
        TU_OK(clnn_avgpool2d_backward(ctx, &p, tdy, beta, tdx));
        got = tu_read(tdx);
        WHAT_BETA(cip ? "avgpool backward count_include_pad=1" : "avgpool backward count_include_pad=0", beta);
        tu_allclose(got, want_dx, nx, 1e-5f, 1e-6f, what);
        free(got);
      }
    }
    /* global average */
    size_t gd[4] = {xd[0], xd[1], 1, 1}, ng = xd[0] * xd[1];
    clnn_tensor *tg = tu_guarded(ctx, 4, gd), *tdg = tu_tensor(ctx, 4, gd, dy);
    pool_ref_global_avg_forward(c->N, c->C, c->H, c->W, x, want_y);
    TU_OK(clnn_tensor_fill(tg, NAN));
    TU_OK(clnn_global_avgpool_forward(ctx, tx, tg));
    got = tu_read(tg);
    WHAT("global avgpool forward");
    tu_allclose(got, want_y, ng, 1e-5f, 1e-6f, what);
    free(got);
    for (int bi = 0; bi < TU_NBETAS; bi++) {
      const float beta = tu_betas[bi];
      if (beta != 0.0f) {
        TU_OK(clnn_tensor_write(tdx, d0, nx));
        memcpy(want_dx, d0, nx * sizeof(float));
      } else {
        TU_OK(clnn_tensor_fill(tdx, NAN));
      }
      pool_ref_global_avg_backward(c->N, c->C, c->H, c->W, dy, beta, want_dx);
      TU_OK(clnn_global_avgpool_backward(ctx, tdg, beta, tdx));
      got = tu_read(tdx);
      WHAT_BETA("global avgpool backward", beta);
      tu_allclose(got, want_dx, nx, 1e-5f, 1e-6f, what);
      free(got);
    }
    tu_check_guard(tg, "global avgpool output");
    clnn_tensor_destroy(tg);
    clnn_tensor_destroy(tdg);
  }
#undef WHAT
  tu_check_guard(ty, "pool forward output");
  tu_check_guard(tdx, "pool backward output");
  clnn_tensor_destroy(tx);
  clnn_tensor_destroy(ty);
  clnn_tensor_destroy(tdy);
  clnn_tensor_destroy(tdx);
  free(x);
  free(dy);
  free(want_y);
  free(want_dx);
  free(d0);
}

static void test_shapes(const char *shape_name) {
  for (size_t i = 0; i < sizeof cfgs / sizeof cfgs[0]; i++) {
    run_cfg(&cfgs[i], 0, shape_name);
    run_cfg(&cfgs[i], 1, shape_name);
  }
  run_cfg(&cfgs[2], 2, shape_name);
  run_cfg(&cfgs[4], 2, shape_name);
  run_cfg(&cfgs[11], 2, shape_name);
  run_cfg(&cfgs[13], 2, shape_name);
  run_cfg(&cfgs[15], 2, shape_name);
  run_cfg(&cfgs[16], 2, shape_name);
}

/* Max forward bit for bit against a row-major first-maximum scan, on data made of -1, -0, +0 and
 * NaNs of two payloads and both signs: the first of -0/+0 and the first NaN of each window must win
 * (the CPU kernel's 3-wide stride-2 path takes row maxima first, then combines rows). */
static uint32_t f2u(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}
static float u2f(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}
static void test_max_first_bits(void) {
  static const cfg bc[] = {
      {1, 2, 5, 40, 3, 3, 2, 2, 0, 0, 0, 0}, {2, 3, 7, 70, 3, 3, 2, 2, 1, 1, 1, 1},
      {1, 2, 6, 37, 3, 3, 2, 2, 1, 0, 1, 0}, {1, 1, 4, 67, 3, 3, 2, 2, 0, 1, 0, 1},
      {1, 2, 5, 33, 2, 3, 1, 2, 1, 1, 1, 1}, {1, 2, 9, 112, 3, 3, 2, 2, 1, 1, 1, 1},
      {1, 2, 5, 64, 3, 3, 2, 2, 1, 1, 1, 1}, {1, 1, 4, 36, 3, 3, 2, 2, 1, 1, 1, 1},
  };
  const float vals[] = {-1.0f, -0.0f, 0.0f, u2f(0x7fc00001u), u2f(0xffc00002u), u2f(0x7fa00003u)};
  for (size_t ci = 0; ci < sizeof bc / sizeof bc[0]; ci++) {
    const cfg *c = &bc[ci];
    size_t xd[4] = {(size_t)c->N, (size_t)c->C, (size_t)c->H, (size_t)c->W}, yd[4];
    clnn_pool2d_params p = to_params(c, 0);
    TU_OK(clnn_pool2d_output_dims(xd, &p, yd));
    const int P = (int)yd[2], Q = (int)yd[3];
    size_t nx = xd[0] * xd[1] * xd[2] * xd[3], ny = yd[0] * yd[1] * yd[2] * yd[3];
    for (int nan_rate = 0; nan_rate <= 3; nan_rate++) { /* none, 6%, 30% NaN; 3: 85% -inf */
      float *x = malloc(nx * sizeof(float)), *want = malloc(ny * sizeof(float));
      float *dy = malloc(ny * sizeof(float)), *want_dx = calloc(nx, sizeof(float));
      tu_fill_uniform(dy, ny, -1.0f, 1.0f);
      for (size_t i = 0; i < nx; i++) {
        float r = tu_uniform(0.0f, 1.0f);
        int k = r < (nan_rate == 2 ? 0.3f : nan_rate == 1 ? 0.06f : 0.0f) ? 3 + (int)(tu_uniform(0.0f, 2.999f))
                                              : (int)tu_uniform(0.0f, 2.999f);
        x[i] = nan_rate == 3 ? (r < 0.85f ? -INFINITY : vals[k]) : vals[k];
      }
      for (int pl = 0; pl < c->N * c->C; pl++)
        for (int a = 0; a < P; a++)
          for (int b = 0; b < Q; b++) {
            const float *xp = x + (size_t)pl * c->H * c->W;
            float best = -INFINITY;
            int bi = -1;
            for (int h = a * c->sh - c->pt; h < a * c->sh - c->pt + c->kh; h++)
              for (int w = b * c->sw - c->pl; w < b * c->sw - c->pl + c->kw; w++) {
                if (h < 0 || h >= c->H || w < 0 || w >= c->W) continue;
                float v = xp[h * c->W + w];
                if (bi < 0 || v > best || (isnan(v) && !isnan(best))) {
                  if (bi < 0 || v > best || isnan(v)) bi = h * c->W + w;
                  if (v > best || isnan(v)) best = v;
                }
              }
            want[((size_t)pl * P + a) * Q + b] = best;
            want_dx[(size_t)pl * c->H * c->W + (size_t)bi] += dy[((size_t)pl * P + a) * Q + b];
          }
      clnn_tensor *tx = tu_tensor(ctx, 4, xd, x), *ty = tu_guarded(ctx, 4, yd);
      TU_OK(clnn_tensor_fill(ty, 5.0f));
      TU_OK(clnn_maxpool2d_forward(ctx, &p, tx, ty));
      float *got = tu_read(ty);
      size_t bad = 0, first = 0;
      for (size_t i = 0; i < ny; i++)
        if (f2u(got[i]) != f2u(want[i]) && bad++ == 0) first = i;
      TU_CHECK(bad == 0,
               "max forward bits, config %zu nan %d: %zu of %zu differ (first at %zu: 0x%08x, "
               "want 0x%08x)", ci, nan_rate, bad, ny, first, (unsigned)f2u(got[first]),
               (unsigned)f2u(want[first]));
      tu_check_guard(ty, "max forward bits output");
      free(got);
      /* backward: each window's gradient to its first maximum, windows in row-major order */
      clnn_tensor *tdy = tu_tensor(ctx, 4, yd, dy), *tdx = tu_guarded(ctx, 4, xd);
      TU_OK(clnn_tensor_fill(tdx, NAN));
      TU_OK(clnn_maxpool2d_backward(ctx, &p, tx, tdy, 0.0f, tdx));
      got = tu_read(tdx);
      char what[120];
      snprintf(what, sizeof what, "max backward first maxima, config %zu nan %d", ci, nan_rate);
      tu_allclose(got, want_dx, nx, 0, 0, what);
      tu_check_guard(tdx, "max backward bits output");
      free(got);
      clnn_tensor_destroy(tdy);
      clnn_tensor_destroy(tdx);
      free(dy);
      free(want_dx);
      clnn_tensor_destroy(tx);
      clnn_tensor_destroy(ty);
      free(x);
      free(want);
    }
  }
}

/* Hand-checked ties: every element equal, so each window's first element takes the gradient. */
static void test_ties_by_hand(void) {
  size_t xd[4] = {1, 1, 3, 4}, yd[4] = {1, 1, 2, 2};
  clnn_pool2d_params p;
  clnn_pool2d_params_init(&p, 2); /* 2x2, stride 2: windows at rows 0-1, columns 0-1 and 2-3 */
  p.stride_h = 1;                 /* rows 0-1 and 1-2: overlapping */
  float x[12], dy[4] = {1, 2, 3, 4};
  for (int i = 0; i < 12; i++) x[i] = 5.0f;
  clnn_tensor *tx = tu_tensor(ctx, 4, xd, x), *tdy = tu_tensor(ctx, 4, yd, dy);
  clnn_tensor *tdx = tu_tensor(ctx, 4, xd, NULL);
  TU_OK(clnn_tensor_fill(tdx, NAN));
  TU_OK(clnn_maxpool2d_backward(ctx, &p, tx, tdy, 0.0f, tdx));
  float *g = tu_read(tdx);
  /* window (0,0) -> x[0,0]; (0,1) -> x[0,2]; (1,0) -> x[1,0]; (1,1) -> x[1,2] */
  const float want[12] = {1, 0, 2, 0, 3, 0, 4, 0, 0, 0, 0, 0};
  tu_allclose(g, want, 12, 0, 0, "max pooling ties go to the first element of each window");
  free(g);
  clnn_tensor_destroy(tx);
  clnn_tensor_destroy(tdy);
  clnn_tensor_destroy(tdx);
}

/* PyTorch's divisors, written out: 3x3 input, 2x2 kernel, stride 2, padding 1 on every side. */
static void test_divisors_by_hand(void) {
  size_t xd[4] = {1, 1, 3, 3}, yd[4] = {1, 1, 2, 2};
  float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  clnn_pool2d_params p;
  clnn_pool2d_params_init(&p, 2);
  p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 1;
  clnn_tensor *tx = tu_tensor(ctx, 4, xd, x), *ty = tu_tensor(ctx, 4, yd, NULL);
  float *y;
  /* windows: {1}, {2,3}, {4,7}, {5,6,8,9} */
  const float excl[4] = {1.0f, 2.5f, 5.5f, 7.0f}, incl[4] = {0.25f, 1.25f, 2.75f, 7.0f};
  p.count_include_pad = 0;
  TU_OK(clnn_avgpool2d_forward(ctx, &p, tx, ty));
  y = tu_read(ty);
  tu_allclose(y, excl, 4, 1e-6f, 0, "avg pool count_include_pad=0 by hand");
  free(y);
  p.count_include_pad = 1;
  TU_OK(clnn_avgpool2d_forward(ctx, &p, tx, ty));
  y = tu_read(ty);
  tu_allclose(y, incl, 4, 1e-6f, 0, "avg pool count_include_pad=1 by hand");
  free(y);
  clnn_tensor_destroy(tx);
  clnn_tensor_destroy(ty);
}

/* ---- finite differences ---- */

typedef struct fd_data {
  const pool_ref_params *p;
  int max, N, C, H, W; /* max: 1 max pool, 0 average, 2 global average */
  float *x, *r;
} fd_data;

static double fd_loss(void *u) {
  fd_data *d = u;
  if (d->max == 2) {
    double s = 0;
    for (int nc = 0; nc < d->N * d->C; nc++) {
      double m = 0;
      for (int i = 0; i < d->H * d->W; i++) m += d->x[nc * d->H * d->W + i];
      s += d->r[nc] * m / (d->H * d->W);
    }
    return s;
  }
  return pool_ref_loss(d->p, d->max, d->N, d->C, d->H, d->W, d->x, d->r);
}

static void test_finite_differences(void) {
  static const cfg fcfgs[] = {
      {1, 2, 5, 6, 3, 3, 2, 2, 1, 1, 1, 1},
      {1, 1, 4, 5, 2, 2, 1, 1, 1, 0, 0, 1},
      {2, 1, 5, 5, 3, 2, 2, 3, 2, 1, 0, 1},
  };
  for (size_t ci = 0; ci < sizeof fcfgs / sizeof fcfgs[0]; ci++) {
    const cfg *c = &fcfgs[ci];
    size_t xd[4] = {(size_t)c->N, (size_t)c->C, (size_t)c->H, (size_t)c->W}, yd[4];
    for (int kind = 0; kind < 4; kind++) { /* max, avg excl, avg incl, global */
      int cip = kind == 2;
      clnn_pool2d_params p = to_params(c, cip);
      pool_ref_params rp = to_ref(c, cip);
      if (kind == 3) {
        yd[0] = xd[0], yd[1] = xd[1], yd[2] = yd[3] = 1;
      } else {
        TU_OK(clnn_pool2d_output_dims(xd, &p, yd));
      }
      size_t nx = xd[0] * xd[1] * xd[2] * xd[3], ny = yd[0] * yd[1] * yd[2] * yd[3];
      float *x = malloc(nx * sizeof(float)), *r = malloc(ny * sizeof(float));
      /* distinct values 0.037 apart, shuffled: no max can change under a 1e-3 step */
      for (size_t i = 0; i < nx; i++) x[i] = -1.0f + 0.037f * (float)i;
      for (size_t i = nx - 1; i > 0; i--) {
        size_t j = (size_t)tu_uniform(0.0f, (float)(i + 1));
        if (j > i) j = i;
        float t = x[i];
        x[i] = x[j];
        x[j] = t;
      }
      tu_fill_uniform(r, ny, -1.0f, 1.0f);
      clnn_tensor *tx = tu_tensor(ctx, 4, xd, x), *tr = tu_tensor(ctx, 4, yd, r);
      clnn_tensor *tdx = tu_tensor(ctx, 4, xd, NULL);
      if (kind == 0) TU_OK(clnn_maxpool2d_backward(ctx, &p, tx, tr, 0.0f, tdx));
      if (kind == 1 || kind == 2) TU_OK(clnn_avgpool2d_backward(ctx, &p, tr, 0.0f, tdx));
      if (kind == 3) TU_OK(clnn_global_avgpool_backward(ctx, tr, 0.0f, tdx));
      float *g = tu_read(tdx);
      fd_data d = {&rp, kind == 0 ? 1 : kind == 3 ? 2 : 0, c->N, c->C, c->H, c->W, x, r};
      double worst = 0;
      for (size_t i = 0; i < nx; i++) {
        double fd = tu_fd(x, i, 1e-3f, fd_loss, &d);
        double e = fabs(g[i] - fd) / (1e-3 + 1e-2 * fabs(fd));
        if (e > worst) worst = e;
      }
      static const char *names[] = {"max", "avg (excl. pad)", "avg (incl. pad)", "global avg"};
      TU_CHECK(worst <= 1.0, "%s pool backward vs finite differences (config %zu): error %.3g x tol",
               names[kind], ci, worst);
      free(g);
      free(x);
      free(r);
      clnn_tensor_destroy(tx);
      clnn_tensor_destroy(tr);
      clnn_tensor_destroy(tdx);
    }
  }
}

/* ---- parameters and errors ---- */

static void test_params_and_errors(void) {
  const clnn_status IA = CLNN_ERROR_INVALID_ARGUMENT, SM = CLNN_ERROR_SHAPE_MISMATCH,
                    CM = CLNN_ERROR_CONTEXT_MISMATCH;
  clnn_pool2d_params p;
  clnn_pool2d_params_init(&p, 3);
  TU_CHECK(p.kernel_h == 3 && p.kernel_w == 3 && p.stride_h == 3 && p.stride_w == 3 &&
               p.pad_top == 0 && p.pad_bottom == 0 && p.pad_left == 0 && p.pad_right == 0 &&
               p.count_include_pad == 0,
           "clnn_pool2d_params_init(3)");
  clnn_pool2d_params_init(NULL, 2); /* no-op */

  size_t xd[4] = {2, 3, 7, 9}, yd[4] = {9, 9, 9, 9};
  TU_OK(clnn_pool2d_output_dims(xd, &p, yd));
  TU_CHECK(yd[0] == 2 && yd[1] == 3 && yd[2] == 2 && yd[3] == 3, "7x9 / 3 -> 2x3");
  p.stride_h = p.stride_w = 2;
  p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 1;
  TU_OK(clnn_pool2d_output_dims(xd, &p, yd));
  TU_CHECK(yd[2] == 4 && yd[3] == 5, "7x9, k3 s2 p1 -> 4x5 (got %zux%zu)", yd[2], yd[3]);

  clnn_pool2d_params bad;
#define BAD_PARAM(field, value, status)                          \
  do {                                                           \
    clnn_pool2d_params_init(&bad, 3);                            \
    bad.field = value;                                           \
    size_t yy[4] = {0, 0, 0, 0};                                 \
    TU_STATUS(clnn_pool2d_output_dims(xd, &bad, yy), status);    \
    TU_CHECK(yy[0] == 0 && yy[2] == 0, "y_dims untouched on error (" #field ")"); \
  } while (0)
  BAD_PARAM(kernel_h, 0, IA);
  BAD_PARAM(kernel_w, -1, IA);
  BAD_PARAM(stride_h, 0, IA);
  BAD_PARAM(stride_w, -2, IA);
  BAD_PARAM(pad_top, -1, IA);
  BAD_PARAM(pad_right, -1, IA);
  BAD_PARAM(pad_bottom, 3, IA); /* padding must be < kernel */
  BAD_PARAM(pad_left, 4, IA);
  BAD_PARAM(count_include_pad, 2, IA);
  BAD_PARAM(kernel_h, 8, SM); /* 8 > 7 rows and no padding: no output */
  TU_CHECK(strstr(clnn_last_error(), "8x3") != NULL, "message names the kernel: %s",
           clnn_last_error());
  BAD_PARAM(kernel_w, 10, SM);
#undef BAD_PARAM
  TU_STATUS(clnn_pool2d_output_dims(NULL, &p, yd), IA);
  TU_STATUS(clnn_pool2d_output_dims(xd, NULL, yd), IA);
  TU_STATUS(clnn_pool2d_output_dims(xd, &p, NULL), IA);
  size_t zd[4] = {2, 0, 7, 9};
  TU_STATUS(clnn_pool2d_output_dims(zd, &p, yd), IA);

  /* tensors: x [2, 3, 7, 9] with k3 s2 p1 -> y [2, 3, 4, 5] */
  size_t good_y[4] = {2, 3, 4, 5}, wrong_y[4] = {2, 3, 5, 4}, x3[3] = {2, 3, 63},
         gd[4] = {2, 3, 1, 1}, gd2[2] = {2, 3};
  size_t nx = 378;
  float *sy = malloc(nx * sizeof(float));
  for (size_t i = 0; i < nx; i++) sy[i] = SENTINEL;
  clnn_tensor *x = tu_tensor(ctx, 4, xd, NULL), *y = tu_tensor(ctx, 4, good_y, sy);
  clnn_tensor *yw = tu_tensor(ctx, 4, wrong_y, sy), *dx = tu_tensor(ctx, 4, xd, sy);
  clnn_tensor *x3d = tu_tensor(ctx, 3, x3, sy), *g = tu_tensor(ctx, 4, gd, sy);
  clnn_tensor *g2 = tu_tensor(ctx, 2, gd2, sy), *other = tu_tensor(ctx2, 4, xd, NULL);
  clnn_tensor *oy = tu_tensor(ctx2, 4, good_y, NULL);
  TU_OK(clnn_tensor_fill(x, 1.0f));

  TU_STATUS(clnn_maxpool2d_forward(ctx, NULL, x, y), IA);
  TU_STATUS(clnn_maxpool2d_forward(ctx, &p, NULL, y), IA);
  TU_STATUS(clnn_maxpool2d_forward(ctx, &p, x, NULL), IA);
  TU_STATUS(clnn_maxpool2d_forward(NULL, &p, x, y), IA);
  TU_STATUS(clnn_maxpool2d_forward(ctx, &p, x, yw), SM);
  TU_CHECK(strstr(clnn_last_error(), "[2, 3, 5, 4]") && strstr(clnn_last_error(), "[2, 3, 4, 5]"),
           "message names both shapes: %s", clnn_last_error());
  TU_STATUS(clnn_maxpool2d_forward(ctx, &p, x3d, y), SM);
  TU_STATUS(clnn_maxpool2d_forward(ctx, &p, other, y), CM);
  TU_STATUS(clnn_avgpool2d_forward(ctx, &p, x, yw), SM);
  TU_STATUS(clnn_avgpool2d_forward(ctx, &p, x, oy), CM);
  clnn_pool2d_params_init(&bad, 3);
  bad.pad_top = -1;
  TU_STATUS(clnn_maxpool2d_forward(ctx, &bad, x, y), IA);
  TU_STATUS(clnn_avgpool2d_forward(ctx, &bad, x, y), IA);
  tu_check_all(y, SENTINEL, "pool forward after errors");
  tu_check_all(yw, SENTINEL, "pool forward after errors (wrong y)");

  /* backward: dy is y-shaped; dx and x are x-shaped */
  TU_STATUS(clnn_maxpool2d_backward(ctx, &p, x, y, NAN, dx), IA);
  TU_STATUS(clnn_maxpool2d_backward(ctx, &p, x, y, INFINITY, dx), IA);
  TU_STATUS(clnn_maxpool2d_backward(ctx, &p, NULL, y, 0, dx), IA);
  TU_STATUS(clnn_maxpool2d_backward(ctx, &p, x, NULL, 0, dx), IA);
  TU_STATUS(clnn_maxpool2d_backward(ctx, &p, x, y, 0, NULL), IA);
  TU_STATUS(clnn_maxpool2d_backward(ctx, &p, x, yw, 0, dx), SM);
  TU_STATUS(clnn_maxpool2d_backward(ctx, &p, x3d, y, 0, dx), SM); /* x not dx's shape */
  TU_STATUS(clnn_maxpool2d_backward(ctx, &p, other, y, 0, dx), CM);
  TU_STATUS(clnn_maxpool2d_backward(ctx, &bad, x, y, 0, dx), IA);
  TU_STATUS(clnn_avgpool2d_backward(ctx, &p, yw, 0, dx), SM);
  TU_STATUS(clnn_avgpool2d_backward(ctx, &p, y, NAN, dx), IA);
  TU_STATUS(clnn_avgpool2d_backward(ctx, &p, oy, 0, dx), CM);
  TU_STATUS(clnn_avgpool2d_backward(ctx, NULL, y, 0, dx), IA);
  tu_check_all(dx, SENTINEL, "pool backward after errors");

  /* global */
  TU_STATUS(clnn_global_avgpool_forward(ctx, x, g2), SM);
  TU_STATUS(clnn_global_avgpool_forward(ctx, x, y), SM);
  TU_STATUS(clnn_global_avgpool_forward(ctx, x3d, g), SM);
  TU_STATUS(clnn_global_avgpool_forward(ctx, NULL, g), IA);
  TU_STATUS(clnn_global_avgpool_forward(ctx, other, g), CM);
  TU_STATUS(clnn_global_avgpool_backward(ctx, g, NAN, dx), IA);
  TU_STATUS(clnn_global_avgpool_backward(ctx, g2, 0, dx), SM);
  TU_STATUS(clnn_global_avgpool_backward(ctx, g, 0, x3d), SM);
  TU_STATUS(clnn_global_avgpool_backward(ctx, g, 0, other), CM);
  tu_check_all(g, SENTINEL, "global pool after errors");
  tu_check_all(g2, SENTINEL, "global pool after errors (g2)");
  tu_check_all(dx, SENTINEL, "global pool backward after errors");
  tu_check_all(x3d, SENTINEL, "global pool backward after errors (x3d)");

  clnn_tensor_destroy(x);
  clnn_tensor_destroy(y);
  clnn_tensor_destroy(yw);
  clnn_tensor_destroy(dx);
  clnn_tensor_destroy(x3d);
  clnn_tensor_destroy(g);
  clnn_tensor_destroy(g2);
  clnn_tensor_destroy(other);
  clnn_tensor_destroy(oy);
  free(sy);
}

int main(void) {
  ctx = tu_context();
  TU_OK(clnn_context_create(NULL, &ctx2));
  tu_seed(42);
  test_shapes("cpu shape");
  test_ties_by_hand();
  test_max_first_bits();
  test_divisors_by_hand();
  test_finite_differences();
  test_params_and_errors();
  /* The GPU launch shapes (one output per work-item, work-groups of 128) on this device. */
  int saved = ctx->device_class;
  ctx->device_class = CLNN_DEVICE_CLASS_GPU;
  test_shapes("gpu shape");
  test_ties_by_hand();
  test_max_first_bits();
  ctx->device_class = saved;
  clnn_context_destroy(ctx2);
  clnn_context_destroy(ctx);
  return tu_finish("test_pool2d");
}
