/* tests/test_pool2d_indices.c — max pooling through kept argmax indices
 * (clnn_maxpool2d_forward_indices / clnn_maxpool2d_backward_indices) against the plain-C
 * reference: indices exactly (the first maximum, the first NaN, a window of -inf picking its first
 * in-bounds element), y bit for bit as clnn_maxpool2d_forward, dx against the reference and bit
 * for bit as the recomputing clnn_maxpool2d_backward, for beta 0 (over NaN), 1 and 0.5; padding,
 * stride smaller than / equal to / larger than the window, odd sizes, rows wide enough for the CPU
 * kernels' vector paths, few planes (the gather) and many (the CPU scatter, or the CPU's vector
 * gather where 2x2 stride-2 windows tile the plane, through the indices or with the maxima
 * recomputed from x, in runs of planes per work-item); both device
 * classes; indices outside the plane contributing nothing and writing nowhere; hand-written
 * PyTorch indices; every error path leaving the outputs untouched; a graph max-pool node's input
 * gradient through the indices it keeps. */
#include "internal.h"
#include "pool_ref.h"
#include "test_util.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static clnn_context *ctx, *ctx2;

typedef struct cfg {
  int N, C, H, W, kh, kw, sh, sw, pt, pb, pl, pr;
} cfg;

static const cfg cfgs[] = {
    {1, 1, 4, 4, 2, 2, 2, 2, 0, 0, 0, 0},     /* stride = window, one plane (the gather) */
    {2, 3, 7, 9, 3, 3, 2, 2, 1, 1, 1, 1},     /* odd sizes, stride < window, pad 1 */
    {1, 5, 13, 13, 3, 3, 1, 1, 1, 1, 1, 1},   /* stride 1 */
    {2, 3, 11, 10, 2, 2, 3, 3, 0, 0, 0, 0},   /* stride > window: elements in no window */
    {1, 3, 5, 5, 5, 5, 1, 1, 2, 2, 2, 2},     /* 5x5 windows, every one over the edge */
    {3, 2, 9, 5, 4, 2, 3, 1, 3, 1, 1, 0},     /* uneven kernel, stride, padding */
    {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0},     /* 1x1 everything */
    /* the CPU kernels' 16-window paths */
    {2, 3, 9, 70, 3, 3, 2, 2, 1, 1, 1, 1},    /* 3-wide stride 2, pad 1: window 0 in a chunk */
    {1, 4, 8, 112, 3, 3, 2, 2, 1, 1, 1, 1},   /* pool_max3s2's rows */
    {2, 2, 6, 41, 3, 3, 2, 2, 0, 0, 0, 0},    /* 3-wide stride 2, no padding, tail chunk */
    {1, 4, 5, 40, 2, 2, 1, 1, 0, 1, 0, 1},    /* stride 1 vectors, pad right */
    {2, 3, 6, 67, 3, 2, 1, 3, 1, 0, 1, 1},    /* stride 3 vectors, asymmetric */
    {1, 5, 4, 50, 2, 2, 2, 2, 0, 0, 0, 0},    /* 2x2/2 vectors */
    {1, 3, 7, 40, 3, 3, 3, 3, 1, 1, 1, 1},    /* interior of 14 windows: one by one */
    {1, 1, 9, 70, 3, 3, 2, 2, 1, 1, 1, 1},    /* one plane, wide rows (the gather on a CPU) */
    /* 2-wide stride-2 windows from column 0 (the CPU forwards' pool_max2s2_row): 16, 8 or 4
     * windows a vector by the row's length, fewer than 4 and those over the edge one by one */
    {2, 3, 28, 28, 2, 2, 2, 2, 0, 0, 0, 0},   /* MNIST's first pool: 14 windows, 8 at a time */
    {2, 4, 14, 14, 2, 2, 2, 2, 0, 0, 0, 0},   /* MNIST's second: 7 windows, 4 at a time */
    {4, 2, 8, 8, 2, 2, 2, 2, 0, 0, 0, 0},     /* digits' pool: 4 windows */
    {1, 6, 9, 13, 2, 2, 2, 2, 0, 1, 0, 1},    /* odd sizes, pad bottom/right: last window by hand */
    {1, 5, 9, 35, 3, 2, 3, 2, 0, 0, 0, 0},    /* 3 rows a window: 17 windows, 16 + overlap */
    {2, 3, 5, 7, 2, 2, 2, 2, 0, 0, 0, 0},     /* 3 windows a row: one by one */
    {1, 4, 7, 16, 2, 2, 2, 2, 1, 0, 0, 0},    /* top padding: windows of 1 row at the top */
    /* the CPU backward's runs of planes per work-item (21 planes: 7 runs of 3; 25: 6 of 4 and
     * 1), 2x2 stride-2 windows tiling the plane (the vector gather): 8 columns of the two dx
     * rows at a time, the last chunk overlapping the one before */
    {3, 7, 14, 14, 2, 2, 2, 2, 0, 0, 0, 0},   /* MNIST's second pool: 14 = 8 + 8 overlapping 2 */
    {3, 7, 10, 10, 2, 2, 2, 2, 0, 0, 0, 0},   /* 10 = 8 + 8 overlapping 6 */
    {2, 5, 6, 16, 2, 2, 2, 2, 0, 0, 0, 0},    /* 16 = 8 + 8, no overlap */
    {1, 25, 4, 22, 2, 2, 2, 2, 0, 0, 0, 0},   /* 22 = 8 + 8 + 8 overlapping 2 */
    /* ... 8 columns: 4 output rows (64 dx elements) a load, across planes, the rest by row */
    {3, 7, 8, 8, 2, 2, 2, 2, 0, 0, 0, 0},     /* runs of 3 planes of 4 rows */
    {1, 7, 10, 8, 2, 2, 2, 2, 0, 0, 0, 0},    /* 5 rows a plane: 4 + 1 */
    /* ... recomputed from x (clnn_maxpool2d_backward): 16 columns a chunk, the last overlapping
     * the one before; rows of 9 to 15 columns as their first and last 8 (the 14 and 10 above),
     * rows of 8 two output rows a chunk (9 planes of 3 rows: on 2 compute units runs of 2 planes
     * and one of 1, whose last row goes alone) */
    {2, 3, 6, 40, 2, 2, 2, 2, 0, 0, 0, 0},    /* 40 = 16 + 16 + 16 overlapping 8 */
    {1, 5, 4, 48, 2, 2, 2, 2, 0, 0, 0, 0},    /* 48 = 16 + 16 + 16 */
    {1, 9, 6, 8, 2, 2, 2, 2, 0, 0, 0, 0},     /* 8 columns, odd row counts; 4 rows across planes */
    /* ... and those that do not tile: the scatter, dx scaled run by run */
    {3, 7, 12, 6, 2, 2, 2, 2, 0, 0, 0, 0},    /* rows narrower than 8 */
    {3, 7, 9, 16, 2, 2, 2, 2, 0, 0, 0, 0},    /* odd height: the last row in no window */
    {3, 7, 10, 15, 2, 2, 2, 2, 0, 0, 0, 0},   /* odd width: the last column in no window */
    {5, 5, 7, 7, 3, 3, 2, 2, 1, 1, 1, 1},     /* overlapping windows, 49-element planes */
    /* the CPU's 3x3 stride-2 gather through the indices: 16 windows (32 columns) a chunk down
     * the plane, the last chunk overlapping the one before (ends at window Q-1, window Q
     * absent, or at the last window whose columns all lie inside), other columns one by one */
    {1, 5, 10, 32, 3, 3, 2, 2, 1, 1, 1, 1},   /* one chunk, Q = 16 */
    {1, 4, 7, 56, 3, 3, 2, 2, 1, 1, 1, 1},    /* chunks 0, 12: the last keeps 8 columns */
    {1, 4, 9, 66, 3, 3, 2, 2, 0, 0, 1, 0},    /* pad left only: chunks 0, 16, 17 (keeps 30) */
    {1, 6, 12, 75, 3, 3, 2, 2, 2, 2, 2, 2},   /* pad 2: column 0 by hand, chunks 1, 17, 22 */
    {2, 3, 11, 50, 3, 3, 2, 2, 0, 2, 0, 2},   /* pad bottom/right: last window over the edge */
    {1, 4, 8, 40, 3, 3, 2, 2, 1, 0, 0, 0},    /* pad top: the last column in no window */
    {1, 4, 8, 40, 3, 3, 2, 2, 0, 0, 0, 0},    /* the last row and column in no window */
    {3, 7, 9, 40, 3, 3, 2, 2, 1, 1, 1, 1},    /* 21 planes: runs of 3 per work-item */
};

static clnn_pool2d_params to_params(const cfg *c) {
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
  return p;
}

static uint32_t f2u(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

/* The tensor's elements as the int32 values they hold. */
static int32_t *read_ints(const clnn_tensor *t) {
  float *f = tu_read(t);
  size_t n = clnn_tensor_numel(t);
  int32_t *r = malloc(n * sizeof(int32_t));
  memcpy(r, f, n * sizeof(int32_t));
  free(f);
  return r;
}

/* Data kinds: 0 uniform, 1 small integers (many ties), 2 ties with NaNs of two payloads,
 * 3 mostly -inf, 4 -1, -0 and +0 only. */
static void fill_data(float *x, size_t n, int kind) {
  for (size_t i = 0; i < n; i++) {
    const float r = tu_uniform(0.0f, 1.0f);
    switch (kind) {
      case 0: x[i] = tu_uniform(-2.0f, 2.0f); break;
      case 1: x[i] = (float)(int)(r * 3.0f); break;
      case 2: {
        uint32_t nan = r < 0.05f ? 0x7fc00001u : 0xffc00002u;
        float f;
        memcpy(&f, &nan, sizeof f);
        x[i] = r < 0.1f ? f : (float)(int)(tu_uniform(0.0f, 3.0f));
        break;
      }
      case 3: x[i] = r < 0.85f ? -INFINITY : tu_uniform(-1.0f, 1.0f); break;
      default: x[i] = r < 0.33f ? -1.0f : r < 0.66f ? -0.0f : 0.0f; break;
    }
  }
}

static void run_cfg(const cfg *c, int kind, const char *shape_name) {
  size_t xd[4] = {(size_t)c->N, (size_t)c->C, (size_t)c->H, (size_t)c->W}, yd[4];
  clnn_pool2d_params p = to_params(c);
  TU_OK(clnn_pool2d_output_dims(xd, &p, yd));
  size_t nx = xd[0] * xd[1] * xd[2] * xd[3], ny = yd[0] * yd[1] * yd[2] * yd[3];
  float *x = malloc(nx * sizeof(float)), *dy = malloc(ny * sizeof(float));
  float *want_y = malloc(ny * sizeof(float)), *want_dx = malloc(nx * sizeof(float));
  float *d0 = malloc(nx * sizeof(float));
  int32_t *want_i = malloc(ny * sizeof(int32_t));
  fill_data(x, nx, kind);
  tu_fill_uniform(dy, ny, -1.0f, 1.0f);
  tu_fill_uniform(d0, nx, -1.0f, 1.0f);
  pool_ref_params rp = {c->kh, c->kw, c->sh, c->sw, c->pt, c->pb, c->pl, c->pr, 0};
  pool_ref_max_forward(&rp, c->N, c->C, c->H, c->W, x, want_y);
  pool_ref_max_indices(&rp, c->N, c->C, c->H, c->W, x, want_i);
  clnn_tensor *tx = tu_tensor(ctx, 4, xd, x), *ty = tu_guarded(ctx, 4, yd);
  clnn_tensor *ty2 = tu_tensor(ctx, 4, yd, NULL), *ti = tu_guarded(ctx, 4, yd);
  clnn_tensor *tdy = tu_tensor(ctx, 4, yd, dy), *tdx = tu_guarded(ctx, 4, xd);
  clnn_tensor *tdx2 = tu_tensor(ctx, 4, xd, NULL);
  char what[200];
#define WHAT(op, b)                                                                       \
  snprintf(what, sizeof what, "[%s] %s N%d C%d %dx%d k%dx%d s%dx%d pad %d,%d,%d,%d data %d " \
           "beta %g", shape_name, op, c->N, c->C, c->H, c->W, c->kh, c->kw, c->sh, c->sw,    \
           c->pt, c->pb, c->pl, c->pr, kind, (double)(b))

  TU_OK(clnn_tensor_fill(ty, 7.0f));
  TU_OK(clnn_tensor_fill(ti, 7.0f));
  TU_OK(clnn_maxpool2d_forward_indices(ctx, &p, tx, ty, ti));
  TU_OK(clnn_maxpool2d_forward(ctx, &p, tx, ty2));
  float *got = tu_read(ty), *got2 = tu_read(ty2);
  int32_t *gi = read_ints(ti);
  size_t bad_y = 0, bad_i = 0, first_i = 0;
  for (size_t i = 0; i < ny; i++) {
    bad_y += f2u(got[i]) != f2u(got2[i]);
    if (gi[i] != want_i[i] && bad_i++ == 0) first_i = i;
  }
  WHAT("forward_indices", 0.0f);
  tu_allclose(got, want_y, ny, 0, 0, what);
  TU_CHECK(bad_y == 0, "%s: %zu of %zu y differ from clnn_maxpool2d_forward's bits", what, bad_y,
           ny);
  TU_CHECK(bad_i == 0, "%s: %zu of %zu indices differ (first at %zu: %d, want %d)", what, bad_i,
           ny, first_i, (int)gi[first_i], (int)want_i[first_i]);
  free(got);
  free(got2);
  free(gi);
  for (int bi = 0; bi < TU_NBETAS; bi++) {
    const float beta = tu_betas[bi];
    if (beta != 0.0f) {
      TU_OK(clnn_tensor_write(tdx, d0, nx));
      TU_OK(clnn_tensor_write(tdx2, d0, nx));
      memcpy(want_dx, d0, nx * sizeof(float));
    } else {
      TU_OK(clnn_tensor_fill(tdx, NAN)); /* beta 0 must not read dx */
      TU_OK(clnn_tensor_fill(tdx2, NAN));
    }
    pool_ref_max_backward(&rp, c->N, c->C, c->H, c->W, x, dy, beta, want_dx);
    TU_OK(clnn_maxpool2d_backward_indices(ctx, &p, ti, tdy, beta, tdx));
    TU_OK(clnn_maxpool2d_backward(ctx, &p, tx, tdy, beta, tdx2));
    got = tu_read(tdx);
    got2 = tu_read(tdx2);
    WHAT("backward_indices", beta);
    tu_allclose(got, want_dx, nx, 1e-6f, 1e-6f, what);
    size_t bad = 0;
    for (size_t i = 0; i < nx; i++) bad += f2u(got[i]) != f2u(got2[i]);
    TU_CHECK(bad == 0, "%s: %zu of %zu dx differ from clnn_maxpool2d_backward's bits", what, bad,
             nx);
    free(got);
    free(got2);
  }
#undef WHAT
  tu_check_guard(ty, "forward_indices y");
  tu_check_guard(ti, "forward_indices indices");
  tu_check_guard(tdx, "backward_indices dx");
  clnn_tensor *ts[] = {tx, ty, ty2, ti, tdy, tdx, tdx2};
  for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) clnn_tensor_destroy(ts[i]);
  free(x);
  free(dy);
  free(want_y);
  free(want_dx);
  free(d0);
  free(want_i);
}

static void test_shapes(const char *shape_name) {
  for (size_t i = 0; i < sizeof cfgs / sizeof cfgs[0]; i++)
    for (int kind = 0; kind <= 4; kind++) run_cfg(&cfgs[i], kind, shape_name);
}

/* PyTorch's indices written out: x [1, 1, 4, 5], 3x3 windows, stride 2, padding 1 (as
 * torch.nn.functional.max_pool2d(x, 3, 2, 1, return_indices=True) gives them), with a tie, an
 * all -inf window over the corner and a NaN. */
static void test_indices_by_hand(void) {
  const float NI = -INFINITY;
  float x[20] = {NI, NI, 3, 1, 0,   /* row 0 */
                 NI, NI, 3, 2, 2,   /* row 1: 3 ties with row 0's 3; 2 and 2 tie */
                 5, 1, 0, 0, NAN,   /* row 2 */
                 4, 9, 9, 1, 8};    /* row 3 */
  size_t xd[4] = {1, 1, 4, 5}, yd[4] = {1, 1, 2, 3};
  clnn_pool2d_params p;
  clnn_pool2d_params_init(&p, 3);
  p.stride_h = p.stride_w = 2;
  p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 1;
  /* windows (rows; columns) -> flat index h*5 + w:
   * (-1..1; -1..1) all -inf: the first in-bounds element, (0, 0) -> 0
   * (-1..1; 1..3) the first of the tied 3s, (0, 2) -> 2
   * (-1..1; 3..5) the first of the tied 2s, (1, 3) -> 8
   * (1..3; -1..1) 9 at (3, 1) -> 16;  (1..3; 1..3) the first 9, (3, 1) -> 16 again
   * (1..3; 3..5) the NaN at (2, 4) -> 14 */
  const int32_t want[6] = {0, 2, 8, 16, 16, 14};
  clnn_tensor *tx = tu_tensor(ctx, 4, xd, x), *ty = tu_tensor(ctx, 4, yd, NULL);
  clnn_tensor *ti = tu_tensor(ctx, 4, yd, NULL);
  TU_OK(clnn_maxpool2d_forward_indices(ctx, &p, tx, ty, ti));
  int32_t *gi = read_ints(ti);
  for (int i = 0; i < 6; i++)
    TU_CHECK(gi[i] == want[i], "hand indices: window %d is %d, want %d", i, (int)gi[i],
             (int)want[i]);
  free(gi);
  float *y = tu_read(ty);
  TU_CHECK(y[0] == -INFINITY && y[1] == 3 && y[2] == 2 && y[3] == 9 && y[4] == 9 && isnan(y[5]),
           "hand y: %g %g %g %g %g %g", y[0], y[1], y[2], y[3], y[4], y[5]);
  free(y);
  /* backward: windows 3 and 4 share their maximum, which takes both gradients */
  float dy[6] = {1, 2, 4, 8, 16, 32}, want_dx[20] = {0};
  want_dx[0] = 1;
  want_dx[2] = 2;
  want_dx[8] = 4;
  want_dx[16] = 8 + 16;
  want_dx[14] = 32;
  clnn_tensor *tdy = tu_tensor(ctx, 4, yd, dy), *tdx = tu_tensor(ctx, 4, xd, NULL);
  TU_OK(clnn_tensor_fill(tdx, NAN));
  TU_OK(clnn_maxpool2d_backward_indices(ctx, &p, ti, tdy, 0.0f, tdx));
  float *g = tu_read(tdx);
  tu_allclose(g, want_dx, 20, 0, 0, "hand backward through indices");
  free(g);
  clnn_tensor_destroy(tx);
  clnn_tensor_destroy(ty);
  clnn_tensor_destroy(ti);
  clnn_tensor_destroy(tdy);
  clnn_tensor_destroy(tdx);
}

/* Indices that no forward wrote: those outside [0, H*W) add nothing and write nowhere (dx is
 * beta*dx exactly, the guard zone intact), with few planes (the gather) and many. */
static void test_foreign_indices(void) {
  const int planes_of[2] = {1, 24};
  for (int k = 0; k < 2; k++) {
    size_t xd[4] = {1, (size_t)planes_of[k], 6, 20}, yd[4];
    clnn_pool2d_params p;
    clnn_pool2d_params_init(&p, 2);
    TU_OK(clnn_pool2d_output_dims(xd, &p, yd));
    size_t nx = xd[1] * 6 * 20, ny = yd[1] * yd[2] * yd[3];
    int32_t *bad = malloc(ny * sizeof(int32_t));
    for (size_t i = 0; i < ny; i++)
      bad[i] = i % 3 == 0 ? -1 : i % 3 == 1 ? 120 + (int32_t)i : INT32_MIN + (int32_t)i;
    float *fi = malloc(ny * sizeof(float)), *dy = malloc(ny * sizeof(float));
    float *d0 = malloc(nx * sizeof(float)), *want = malloc(nx * sizeof(float));
    memcpy(fi, bad, ny * sizeof(float));
    tu_fill_uniform(dy, ny, -1.0f, 1.0f);
    tu_fill_uniform(d0, nx, -1.0f, 1.0f);
    for (size_t i = 0; i < nx; i++) want[i] = 0.5f * d0[i];
    clnn_tensor *ti = tu_tensor(ctx, 4, yd, fi), *tdy = tu_tensor(ctx, 4, yd, dy);
    clnn_tensor *tdx = tu_guarded(ctx, 4, xd);
    TU_OK(clnn_tensor_write(tdx, d0, nx));
    TU_OK(clnn_maxpool2d_backward_indices(ctx, &p, ti, tdy, 0.5f, tdx));
    float *g = tu_read(tdx);
    tu_allclose(g, want, nx, 0, 0,
                planes_of[k] == 1 ? "foreign indices, 1 plane" : "foreign indices, 24 planes");
    tu_check_guard(tdx, "foreign indices dx");
    free(g);
    clnn_tensor_destroy(ti);
    clnn_tensor_destroy(tdy);
    clnn_tensor_destroy(tdx);
    free(bad);
    free(fi);
    free(dy);
    free(d0);
    free(want);
  }
}

static void test_errors(void) {
  size_t xd[4] = {1, 2, 4, 4}, yd[4] = {1, 2, 2, 2}, yd3[4] = {1, 2, 2, 3};
  clnn_pool2d_params p;
  clnn_pool2d_params_init(&p, 2);
  clnn_tensor *x = tu_tensor(ctx, 4, xd, NULL), *y = tu_tensor(ctx, 4, yd, NULL);
  clnn_tensor *idx = tu_tensor(ctx, 4, yd, NULL), *dy = tu_tensor(ctx, 4, yd, NULL);
  clnn_tensor *dx = tu_tensor(ctx, 4, xd, NULL), *i3 = tu_tensor(ctx, 4, yd3, NULL);
  clnn_tensor *i_other = tu_tensor(ctx2, 4, yd, NULL);
  TU_OK(clnn_tensor_fill(x, 1.0f));
  TU_OK(clnn_tensor_fill(dy, 1.0f));
  TU_OK(clnn_tensor_fill(y, 5.0f));
  TU_OK(clnn_tensor_fill(idx, 5.0f));
  TU_OK(clnn_tensor_fill(dx, 5.0f));
  const clnn_status INV = CLNN_ERROR_INVALID_ARGUMENT, SHAPE = CLNN_ERROR_SHAPE_MISMATCH;
  TU_STATUS(clnn_maxpool2d_forward_indices(ctx, &p, x, y, NULL), INV);
  TU_STATUS(clnn_maxpool2d_forward_indices(ctx, &p, x, y, i3), SHAPE);
  TU_MSG("indices");
  TU_STATUS(clnn_maxpool2d_forward_indices(ctx, &p, x, y, y), INV);
  TU_STATUS(clnn_maxpool2d_forward_indices(ctx, &p, x, idx, idx), INV);
  TU_STATUS(clnn_maxpool2d_forward_indices(ctx, &p, x, y, i_other), CLNN_ERROR_CONTEXT_MISMATCH);
  TU_STATUS(clnn_maxpool2d_forward_indices(ctx, NULL, x, y, idx), INV);
  tu_check_all(y, 5.0f, "forward_indices y after failed calls");
  tu_check_all(idx, 5.0f, "forward_indices indices after failed calls");
  TU_STATUS(clnn_maxpool2d_backward_indices(ctx, &p, NULL, dy, 0.0f, dx), INV);
  TU_STATUS(clnn_maxpool2d_backward_indices(ctx, &p, i3, dy, 0.0f, dx), SHAPE);
  TU_MSG("indices");
  TU_STATUS(clnn_maxpool2d_backward_indices(ctx, &p, dy, dy, 0.0f, dx), INV);
  TU_STATUS(clnn_maxpool2d_backward_indices(ctx, &p, idx, dy, NAN, dx), INV);
  TU_STATUS(clnn_maxpool2d_backward_indices(ctx, &p, idx, dy, 0.0f, y), SHAPE);
  TU_STATUS(clnn_maxpool2d_backward_indices(ctx, &p, i_other, dy, 0.0f, dx),
            CLNN_ERROR_CONTEXT_MISMATCH);
  tu_check_all(dx, 5.0f, "backward_indices dx after failed calls");
  clnn_tensor *ts[] = {x, y, idx, dy, dx, i3, i_other};
  for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) clnn_tensor_destroy(ts[i]);
}

/* A graph's max-pool node keeps its indices from forward to backward (node scratch, one per batch
 * plan): the input gradient from a seed on y matches the reference for two batch sizes in turn,
 * in training and evaluation mode, and after a predict (which keeps no indices) in between. */
static void test_graph_node(void) {
  enum { C = 3, H = 9, W = 37 };
  size_t in[3] = {C, H, W};
  clnn_pool2d_params p;
  clnn_pool2d_params_init(&p, 3);
  p.stride_h = p.stride_w = 2;
  p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 1;
  clnn_graph *g = NULL;
  int x, y;
  TU_OK(clnn_graph_create(&g));
  TU_OK(clnn_graph_input(g, "x", CLNN_FLOAT32, 3, in, &x));
  TU_OK(clnn_graph_pool2d(g, "pool", x, 1, &p, &y));
  TU_OK(clnn_graph_output(g, y));
  clnn_model *m = NULL;
  TU_OK(clnn_model_create(ctx, g, 1, &m));
  clnn_graph_destroy(g);
  if (!m) return;
  TU_OK(clnn_model_input_grad(m, x, 1));
  const int P = pool_ref_out(H, 3, 2, 1, 1), Q = pool_ref_out(W, 3, 2, 1, 1);
  pool_ref_params rp = {3, 3, 2, 2, 1, 1, 1, 1, 0};
  const size_t batches[4] = {3, 2, 3, 2};
  for (int step = 0; step < 4; step++) {
    const size_t B = batches[step], nx = B * C * H * W, ny = B * C * (size_t)(P * Q);
    float *xb = malloc(nx * sizeof(float)), *dy = malloc(ny * sizeof(float));
    float *want = malloc(nx * sizeof(float));
    fill_data(xb, nx, step % 2 ? 1 : 2); /* ties; ties with NaNs */
    tu_fill_uniform(dy, ny, -1.0f, 1.0f);
    pool_ref_max_backward(&rp, (int)B, C, H, W, xb, dy, 0.0f, want);
    TU_OK(clnn_model_set_mode(m, step < 2 ? CLNN_MODE_TRAIN : CLNN_MODE_EVAL));
    clnn_feed f = {x, xb, nx, NULL}, seed = {y, dy, ny, NULL};
    TU_OK(clnn_model_forward(m, &f, 1, B, NULL));
    if (step == 3) { /* a predict in between (of the other batch size) keeps no indices */
      float *pred = malloc(3 * C * (size_t)(P * Q) * sizeof(float));
      float *x3 = calloc(3 * C * H * W, sizeof(float));
      clnn_feed f3 = {x, x3, 3 * C * H * W, NULL};
      TU_OK(clnn_model_predict(m, &f3, 1, 3, -1, pred, 3 * C * (size_t)(P * Q)));
      free(pred);
      free(x3);
      TU_OK(clnn_model_forward(m, &f, 1, B, NULL));
    }
    TU_OK(clnn_model_backward(m, &seed, 1));
    clnn_tensor *dx = NULL;
    TU_OK(clnn_model_grad(m, x, &dx));
    if (dx) {
      float *got = tu_read(dx);
      char what[80];
      snprintf(what, sizeof what, "graph max-pool input gradient, step %d batch %zu", step, B);
      tu_allclose(got, want, nx, 1e-6f, 1e-6f, what);
      free(got);
    }
    free(xb);
    free(dy);
    free(want);
  }
  clnn_model_destroy(m);
}

int main(void) {
  ctx = tu_context();
  TU_OK(clnn_context_create(NULL, &ctx2));
  tu_seed(7);
  test_shapes("cpu shape");
  test_indices_by_hand();
  test_foreign_indices();
  test_errors();
  test_graph_node();
  /* The GPU-class kernels (one output or dx element per work-item) on this device. */
  int saved = ctx->device_class;
  ctx->device_class = CLNN_DEVICE_CLASS_GPU;
  test_shapes("gpu shape");
  test_indices_by_hand();
  test_foreign_indices();
  ctx->device_class = saved;
  clnn_context_destroy(ctx2);
  clnn_context_destroy(ctx);
  return tu_finish("test_pool2d_indices");
}
