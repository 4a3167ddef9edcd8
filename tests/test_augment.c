/* tests/test_augment.c — data augmentation (src/nn/augment.c) against plain-C references written
 * here: shifts by known offsets against a forward copy, flips against a mirror, rotation by 0 as
 * the identity and by +-90 and 180 degrees against exact index maps, a 30-degree rotation
 * against a bilinear reference, random batches against the references applied to the draws they
 * report, noise statistics for a seed, reproducibility (same seed: same bits; another seed or
 * stream: other bits); bad input changes nothing; datasets keep their samples, training epochs
 * draw augmented batches through the dataset's counter and evaluation never augments. */
#include "test_util.h"
#include "clnn_graph.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- references ---- */

/* Copies every source pixel to (y + dy, x + dx) when that is inside; the rest is 0. */
static void ref_shift(const float *in, float *out, size_t c, size_t h, size_t w, int dx, int dy) {
  memset(out, 0, c * h * w * sizeof(float));
  for (size_t ch = 0; ch < c; ch++)
    for (long y = 0; y < (long)h; y++)
      for (long x = 0; x < (long)w; x++) {
        long ty = y + dy, tx = x + dx;
        if (ty >= 0 && ty < (long)h && tx >= 0 && tx < (long)w)
          out[(ch * h + (size_t)ty) * w + (size_t)tx] = in[(ch * h + (size_t)y) * w + (size_t)x];
      }
}

static void ref_flip(const float *in, float *out, size_t c, size_t h, size_t w) {
  for (size_t ch = 0; ch < c; ch++)
    for (size_t y = 0; y < h; y++)
      for (size_t x = 0; x < w; x++) out[(ch * h + y) * w + x] = in[(ch * h + y) * w + (w - 1 - x)];
}

/* Counter-clockwise rotation of an n x n image about its centre by quarter turns k (1, 2, 3):
 * the index maps of numpy.rot90. */
static void ref_rot90(const float *in, float *out, size_t n, int k) {
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) {
      size_t si = k == 1 ? j : k == 2 ? n - 1 - i : n - 1 - j;
      size_t sj = k == 1 ? n - 1 - i : k == 2 ? n - 1 - j : i;
      out[i * n + j] = in[si * n + sj];
    }
}

/* Bilinear rotation by deg (counter-clockwise as displayed) about the centre, one channel: the
 * output point p reads the input at centre + R(deg) (p - centre) (rows downward), 0 outside. */
static float pix(const float *in, long h, long w, long y, long x) {
  return y < 0 || x < 0 || y >= h || x >= w ? 0.0f : in[y * w + x];
}
static void ref_rotate(const float *in, float *out, size_t h, size_t w, double deg) {
  double r = deg * acos(-1.0) / 180.0, cy = (h - 1) / 2.0, cx = (w - 1) / 2.0;
  for (size_t y = 0; y < h; y++)
    for (size_t x = 0; x < w; x++) {
      double px = x - cx, py = y - cy;
      double sx = cx + px * cos(r) - py * sin(r), sy = cy + px * sin(r) + py * cos(r);
      long x0 = (long)floor(sx), y0 = (long)floor(sy);
      double ax = sx - x0, ay = sy - y0;
      out[y * w + x] = (float)(pix(in, h, w, y0, x0) * (1 - ax) * (1 - ay) +
                               pix(in, h, w, y0, x0 + 1) * ax * (1 - ay) +
                               pix(in, h, w, y0 + 1, x0) * (1 - ax) * ay +
                               pix(in, h, w, y0 + 1, x0 + 1) * ax * ay);
    }
}

static clnn_augment_draw draw_of(int dx, int dy, int flip, float deg) {
  clnn_augment_draw d;
  memset(&d, 0, sizeof d);
  d.dx = dx;
  d.dy = dy;
  d.flip = flip;
  d.angle_deg = deg;
  return d;
}

/* ---- transforms with known parameters ---- */

static void known_transforms(void) {
  enum { C = 2, H = 5, W = 7, N = C * H * W };
  float img[N], got[N], want[N], tmp[N];
  tu_seed(3);
  tu_fill_uniform(img, N, -1.0f, 1.0f);
  const int shifts[][2] = {{0, 0}, {1, 0}, {0, -2}, {-3, 2}, {6, 1}, {-7, 0}, {2, 5}};
  for (size_t k = 0; k < sizeof shifts / sizeof shifts[0]; k++) {
    memcpy(got, img, sizeof img);
    clnn_augment_draw d = draw_of(shifts[k][0], shifts[k][1], 0, 0.0f);
    TU_OK(clnn_augment_apply(&d, C, H, W, got, N));
    ref_shift(img, want, C, H, W, shifts[k][0], shifts[k][1]);
    TU_CHECK(memcmp(got, want, sizeof got) == 0, "shift (%d, %d) equals the reference exactly",
             shifts[k][0], shifts[k][1]);
  }
  memcpy(got, img, sizeof img);
  clnn_augment_draw d = draw_of(0, 0, 1, 0.0f);
  TU_OK(clnn_augment_apply(&d, C, H, W, got, N));
  ref_flip(img, want, C, H, W);
  TU_CHECK(memcmp(got, want, sizeof got) == 0, "flip equals the mirror exactly");
  /* flip and shift together: the flipped image, shifted */
  memcpy(got, img, sizeof img);
  d = draw_of(2, -1, 1, 0.0f);
  TU_OK(clnn_augment_apply(&d, C, H, W, got, N));
  ref_flip(img, tmp, C, H, W);
  ref_shift(tmp, want, C, H, W, 2, -1);
  TU_CHECK(memcmp(got, want, sizeof got) == 0, "flip then shift (2, -1) equals the reference");

  /* rotations on a square image: 0 is the identity; quarter turns are index maps */
  enum { S = 6 };
  float sq[S * S], r[S * S], rw[S * S];
  tu_fill_uniform(sq, S * S, 0.0f, 1.0f);
  memcpy(r, sq, sizeof sq);
  d = draw_of(0, 0, 0, 0.0f);
  TU_OK(clnn_augment_apply(&d, 1, S, S, r, S * S));
  TU_CHECK(memcmp(r, sq, sizeof sq) == 0, "rotation by 0 is the identity (bit for bit)");
  const float quarter[] = {90.0f, 180.0f, -90.0f, -180.0f};
  const int turns[] = {1, 2, 3, 2};
  for (int k = 0; k < 4; k++) {
    memcpy(r, sq, sizeof sq);
    d = draw_of(0, 0, 0, quarter[k]);
    TU_OK(clnn_augment_apply(&d, 1, S, S, r, S * S));
    ref_rot90(sq, rw, S, turns[k]);
    char what[64];
    snprintf(what, sizeof what, "rotation by %g degrees", (double)quarter[k]);
    tu_allclose(r, rw, S * S, 0.0f, 1e-5f, what);
  }
  /* a general angle against the bilinear reference, on a non-square image */
  float big[H * W], br[H * W], bw[H * W];
  tu_fill_uniform(big, H * W, 0.0f, 1.0f);
  const float angles[] = {30.0f, -12.5f, 179.0f};
  for (int k = 0; k < 3; k++) {
    memcpy(br, big, sizeof big);
    d = draw_of(0, 0, 0, angles[k]);
    TU_OK(clnn_augment_apply(&d, 1, H, W, br, H * W));
    ref_rotate(big, bw, H, W, angles[k]);
    char what[64];
    snprintf(what, sizeof what, "bilinear rotation by %g degrees", (double)angles[k]);
    tu_allclose(br, bw, H * W, 0.0f, 1e-5f, what);
  }
}

/* ---- random batches: each sample is the reference applied to the draw it reports ---- */

static void random_batches(void) {
  enum { B = 64, C = 1, H = 6, W = 6, P = C * H * W };
  float *x0 = tu_fvec(B * P, 0.0f, 1.0f), *x = tu_fcopy(x0, B * P), want[P], tmp[P];
  clnn_augment_options o;
  clnn_augment_options_init(&o);
  TU_CHECK(o.max_shift == 0 && o.hflip == 0 && o.max_rotate_deg == 0.0f && o.noise_std == 0.0f &&
               o.seed == 0, "clnn_augment_options_init: everything off");
  o.max_shift = 2;
  o.hflip = 1;
  o.seed = 11;
  clnn_augment_draw dr[B];
  TU_OK(clnn_augment_images(&o, 0, B, C, H, W, x, B * P, dr, B));
  int seen[5] = {0}, flips = 0, bad = 0;
  for (int i = 0; i < B; i++) {
    TU_CHECK(dr[i].dx >= -2 && dr[i].dx <= 2 && dr[i].dy >= -2 && dr[i].dy <= 2,
             "sample %d: shift (%d, %d) within 2", i, dr[i].dx, dr[i].dy);
    if (dr[i].dx >= -2 && dr[i].dx <= 2) seen[dr[i].dx + 2]++;
    flips += dr[i].flip;
    TU_CHECK(dr[i].angle_deg == 0.0f && dr[i].noise_std == 0.0f, "sample %d: no rotation, no noise",
             i);
    const float *src = x0 + i * P;
    if (dr[i].flip) {
      ref_flip(src, tmp, C, H, W);
      src = tmp;
    }
    ref_shift(src, want, C, H, W, dr[i].dx, dr[i].dy);
    bad += memcmp(x + i * P, want, sizeof want) != 0;
  }
  TU_CHECK(bad == 0, "every sample equals flip + shift of its draw (%d differ)", bad);
  TU_CHECK(seen[0] && seen[1] && seen[2] && seen[3] && seen[4], "every shift -2..2 drawn");
  TU_CHECK(flips > 16 && flips < 48, "about half flipped (%d of %d)", flips, B);

  /* same options and stream: the same bits; another stream or seed: other bits */
  float *y = tu_fcopy(x0, B * P);
  TU_OK(clnn_augment_images(&o, 0, B, C, H, W, y, B * P, NULL, 0));
  TU_CHECK(memcmp(x, y, B * P * sizeof(float)) == 0, "same seed and stream: the same bits");
  memcpy(y, x0, B * P * sizeof(float));
  TU_OK(clnn_augment_images(&o, 1, B, C, H, W, y, B * P, NULL, 0));
  TU_CHECK(memcmp(x, y, B * P * sizeof(float)) != 0, "another stream: other bits");
  memcpy(y, x0, B * P * sizeof(float));
  o.seed = 12;
  TU_OK(clnn_augment_images(&o, 0, B, C, H, W, y, B * P, NULL, 0));
  TU_CHECK(memcmp(x, y, B * P * sizeof(float)) != 0, "another seed: other bits");

  /* rotations: angles within the range, each sample the bilinear reference of its angle */
  clnn_augment_options_init(&o);
  o.max_rotate_deg = 15.0f;
  o.seed = 5;
  memcpy(y, x0, B * P * sizeof(float));
  TU_OK(clnn_augment_images(&o, 3, B, C, H, W, y, B * P, dr, B));
  float lo = 0.0f, hi = 0.0f;
  bad = 0;
  for (int i = 0; i < B; i++) {
    lo = dr[i].angle_deg < lo ? dr[i].angle_deg : lo;
    hi = dr[i].angle_deg > hi ? dr[i].angle_deg : hi;
    ref_rotate(x0 + i * P, want, H, W, dr[i].angle_deg);
    for (int k = 0; k < P; k++) bad += fabsf(y[i * P + k] - want[k]) > 1e-5f;
  }
  TU_CHECK(lo >= -15.0f && hi <= 15.0f && lo < -7.0f && hi > 7.0f,
           "angles spread over -15..15 (drawn %g..%g)", (double)lo, (double)hi);
  TU_CHECK(bad == 0, "every rotated sample equals the bilinear reference (%d values differ)", bad);
  /* the widest shift range: draws spread over it, and an image shifted out is all zeros */
  clnn_augment_options_init(&o);
  o.max_shift = INT_MAX;
  memcpy(y, x0, B * P * sizeof(float));
  TU_OK(clnn_augment_images(&o, 9, B, C, H, W, y, B * P, dr, B));
  int far = 0, zero_ok = 1;
  for (int i = 0; i < B; i++) {
    far += dr[i].dx < -1000000 || dr[i].dx > 1000000;
    for (int k = 0; k < P; k++) zero_ok &= y[i * P + k] == 0.0f;
  }
  TU_CHECK(far > B / 2, "shifts drawn over the whole int range (%d of %d beyond 10^6)", far, B);
  TU_CHECK(zero_ok, "images shifted out of the frame are zero");
  free(x0);
  free(x);
  free(y);
}

/* ---- noise ---- */

static void noise(void) {
  enum { H = 64, W = 64, P = H * W };
  float *z = calloc(P, sizeof(float)), *z2 = calloc(P, sizeof(float));
  clnn_augment_draw d = draw_of(0, 0, 0, 0.0f);
  d.noise_std = 0.5f;
  d.noise_seed = 99;
  TU_OK(clnn_augment_apply(&d, 1, H, W, z, P));
  double s = 0, s2 = 0;
  for (int i = 0; i < P; i++) {
    s += z[i];
    s2 += (double)z[i] * z[i];
  }
  double mean = s / P, sd = sqrt(s2 / P - mean * mean);
  TU_CHECK(fabs(mean) < 4 * 0.5 / sqrt((double)P), "noise mean %g within 4 standard errors of 0",
           mean);
  TU_CHECK(fabs(sd - 0.5) < 0.025, "noise standard deviation %g within 5%% of 0.5", sd);
  int tails = 0;
  for (int i = 0; i < P; i++) tails += fabsf(z[i]) > 1.0f; /* beyond 2 sigma: 4.55% */
  TU_CHECK(tails > P * 0.035 && tails < P * 0.056, "%d of %d values beyond 2 sigma (4.55%% "
           "expected)", tails, P);
  TU_OK(clnn_augment_apply(&d, 1, H, W, z2, P));
  TU_CHECK(memcmp(z, z2, P * sizeof(float)) == 0, "same noise seed: the same bits");
  memset(z2, 0, P * sizeof(float));
  d.noise_seed = 100;
  TU_OK(clnn_augment_apply(&d, 1, H, W, z2, P));
  TU_CHECK(memcmp(z, z2, P * sizeof(float)) != 0, "another noise seed: other bits");
  free(z);
  free(z2);
}

/* ---- bad input: a clear error, nothing changed ---- */

static void bad_input(void) {
  enum { P = 16 };
  float x[2 * P], keep[2 * P];
  tu_fill_uniform(x, 2 * P, 0.0f, 1.0f);
  memcpy(keep, x, sizeof x);
  clnn_augment_options o;
  clnn_augment_options_init(&o);
  o.max_shift = -1;
  TU_STATUS(clnn_augment_images(&o, 0, 2, 1, 4, 4, x, 2 * P, NULL, 0),
            CLNN_ERROR_INVALID_ARGUMENT);
  TU_MSG("max_shift");
  clnn_augment_options_init(&o);
  o.max_rotate_deg = 181.0f;
  TU_STATUS(clnn_augment_images(&o, 0, 2, 1, 4, 4, x, 2 * P, NULL, 0),
            CLNN_ERROR_INVALID_ARGUMENT);
  TU_MSG("max_rotate_deg");
  clnn_augment_options_init(&o);
  o.noise_std = NAN;
  TU_STATUS(clnn_augment_images(&o, 0, 2, 1, 4, 4, x, 2 * P, NULL, 0),
            CLNN_ERROR_INVALID_ARGUMENT);
  TU_MSG("noise_std");
  clnn_augment_options_init(&o);
  o.hflip = 2;
  TU_STATUS(clnn_augment_images(&o, 0, 2, 1, 4, 4, x, 2 * P, NULL, 0),
            CLNN_ERROR_INVALID_ARGUMENT);
  TU_MSG("hflip");
  clnn_augment_options_init(&o);
  o.max_shift = 1;
  TU_STATUS(clnn_augment_images(&o, 0, 2, 1, 4, 4, x, 2 * P - 1, NULL, 0),
            CLNN_ERROR_INVALID_ARGUMENT);
  TU_MSG("x_count");
  clnn_augment_draw dr[2];
  TU_STATUS(clnn_augment_images(&o, 0, 2, 1, 4, 4, x, 2 * P, dr, 1), CLNN_ERROR_INVALID_ARGUMENT);
  TU_MSG("draws_count");
  clnn_augment_draw d = draw_of(0, 0, 0, 180.5f);
  TU_STATUS(clnn_augment_apply(&d, 1, 4, 4, x, P), CLNN_ERROR_INVALID_ARGUMENT);
  TU_MSG("angle_deg");
  d = draw_of(1, 0, 0, 0.0f);
  d.noise_std = -1.0f;
  TU_STATUS(clnn_augment_apply(&d, 1, 4, 4, x, P), CLNN_ERROR_INVALID_ARGUMENT);
  TU_MSG("noise_std");
  TU_CHECK(memcmp(x, keep, sizeof x) == 0, "failed calls left the images alone");

  /* datasets: a non-image dataset and bad options are refused; the old setting stays */
  size_t flat[1] = {P}, img[3] = {1, 4, 4};
  int32_t lab[2] = {0, 1};
  clnn_dataset *vec = NULL, *ds = NULL;
  TU_OK(clnn_dataset_create(2, 1, flat, x, 2 * P, lab, 2, &vec));
  clnn_augment_options_init(&o);
  o.max_shift = 1;
  TU_STATUS(clnn_dataset_set_augmentation(vec, &o), CLNN_ERROR_INVALID_ARGUMENT);
  TU_MSG("C, H, W");
  TU_CHECK(!clnn_dataset_get_augmentation(vec, NULL), "the refused dataset has no augmentation");
  TU_OK(clnn_dataset_create(2, 3, img, x, 2 * P, lab, 2, &ds));
  TU_OK(clnn_dataset_set_augmentation(ds, &o));
  clnn_augment_options bad = o;
  bad.max_rotate_deg = 200.0f;
  TU_STATUS(clnn_dataset_set_augmentation(ds, &bad), CLNN_ERROR_INVALID_ARGUMENT);
  clnn_augment_options got;
  clnn_augment_options_init(&got);
  TU_CHECK(clnn_dataset_get_augmentation(ds, &got) == 1 && got.max_shift == 1 &&
               got.max_rotate_deg == 0.0f, "bad options left the dataset's augmentation as it was");
  TU_OK(clnn_dataset_set_augmentation(ds, NULL));
  TU_CHECK(!clnn_dataset_get_augmentation(ds, &got), "NULL clears the augmentation");
  clnn_dataset_destroy(vec);
  clnn_dataset_destroy(ds);
}

/* ---- datasets and training loops ---- */

static void datasets_and_training(clnn_context *ctx) {
  enum { N = 40, P = 64, BS = 8 };
  float *x = tu_fvec(N * P, 0.0f, 1.0f);
  int32_t lab[N];
  for (int i = 0; i < N; i++) lab[i] = i % 10;
  size_t dims[3] = {1, 8, 8};
  clnn_dataset *ds = NULL;
  TU_OK(clnn_dataset_create(N, 3, dims, x, N * P, lab, N, &ds));
  clnn_augment_options o;
  clnn_augment_options_init(&o);
  o.max_shift = 1;
  o.max_rotate_deg = 10.0f;
  o.noise_std = 0.05f;
  o.seed = 7;
  TU_OK(clnn_dataset_set_augmentation(ds, &o));
  float b0[BS * P], b1[BS * P], plain[BS * P], want[BS * P];
  int32_t l0[BS];
  TU_OK(clnn_dataset_batch_augmented(ds, 0, BS, b0, BS * P, l0, BS));
  TU_OK(clnn_dataset_batch_augmented(ds, 0, BS, b1, BS * P, NULL, 0));
  TU_OK(clnn_dataset_batch(ds, 0, BS, plain, BS * P, NULL, 0));
  TU_CHECK(memcmp(plain, x, sizeof plain) == 0, "clnn_dataset_batch does not augment");
  TU_CHECK(memcmp(clnn_dataset_data(ds), x, N * P * sizeof(float)) == 0,
           "the stored samples never change");
  TU_CHECK(memcmp(l0, lab, sizeof l0) == 0, "augmented batches keep their labels");
  memcpy(want, x, sizeof want);
  TU_OK(clnn_augment_images(&o, 0, BS, 1, 8, 8, want, BS * P, NULL, 0));
  TU_CHECK(memcmp(b0, want, sizeof want) == 0, "batch 0 is clnn_augment_images with stream 0");
  memcpy(want, x, sizeof want);
  TU_OK(clnn_augment_images(&o, 1, BS, 1, 8, 8, want, BS * P, NULL, 0));
  TU_CHECK(memcmp(b1, want, sizeof want) == 0, "batch 1 is clnn_augment_images with stream 1");
  TU_OK(clnn_dataset_set_augmentation(ds, &o)); /* restarts the counter */
  TU_OK(clnn_dataset_batch_augmented(ds, 0, BS, b1, BS * P, NULL, 0));
  TU_CHECK(memcmp(b0, b1, sizeof b0) == 0, "after setting again: the same bits as before");

  /* the training loop draws one augmented batch per step; evaluation never augments */
  clnn_net *net = tu_digits_cnn(ctx, 3);
  float loss_plain, acc_plain, loss_aug, acc_aug, train_loss;
  TU_OK(clnn_dataset_set_augmentation(ds, NULL));
  TU_OK(clnn_net_evaluate(net, ds, BS, &loss_plain, &acc_plain));
  TU_OK(clnn_dataset_set_augmentation(ds, &o));
  TU_OK(clnn_net_evaluate(net, ds, BS, &loss_aug, &acc_aug));
  TU_CHECK(loss_plain == loss_aug && acc_plain == acc_aug,
           "clnn_net_evaluate ignores augmentation (loss %g vs %g)", (double)loss_plain,
           (double)loss_aug);
  TU_OK(clnn_net_train_epoch(net, ds, BS, &train_loss));
  TU_OK(clnn_dataset_batch_augmented(ds, 0, BS, b0, BS * P, NULL, 0));
  memcpy(want, x, sizeof want);
  TU_OK(clnn_augment_images(&o, N / BS, BS, 1, 8, 8, want, BS * P, NULL, 0));
  TU_CHECK(memcmp(b0, want, sizeof want) == 0, "the epoch drew %d augmented batches", N / BS);

  /* the same training with the same augmentation gives the same loss; without, another */
  float l_a = 0, l_b = 0, l_c = 0;
  clnn_net *n1 = tu_digits_cnn(ctx, 4), *n2 = tu_digits_cnn(ctx, 4), *n3 = tu_digits_cnn(ctx, 4);
  TU_OK(clnn_dataset_set_augmentation(ds, &o));
  TU_OK(clnn_net_train_epoch(n1, ds, BS, &l_a));
  TU_OK(clnn_dataset_set_augmentation(ds, &o));
  TU_OK(clnn_net_train_epoch(n2, ds, BS, &l_b));
  TU_OK(clnn_dataset_set_augmentation(ds, NULL));
  TU_OK(clnn_net_train_epoch(n3, ds, BS, &l_c));
  TU_CHECK(l_a == l_b, "same augmentation seed: the same epoch loss (%g, %g)", (double)l_a,
           (double)l_b);
  TU_CHECK(l_a != l_c, "augmented and plain epochs differ (%g, %g)", (double)l_a, (double)l_c);

  /* a graph model's epoch draws through the same counter; its evaluation ignores it */
  clnn_graph *g = NULL;
  int gx, gl, gy, gloss;
  TU_OK(clnn_graph_create(&g));
  TU_OK(clnn_graph_input(g, "x", CLNN_FLOAT32, 3, dims, &gx));
  TU_OK(clnn_graph_input(g, "label", CLNN_INT32, 0, NULL, &gl));
  TU_OK(clnn_graph_flatten(g, NULL, gx, &gy));
  TU_OK(clnn_graph_dense(g, "head", gy, 10, 1, &gy));
  TU_OK(clnn_graph_loss(g, NULL, CLNN_LOSS_SOFTMAX_CROSS_ENTROPY, gy, gl, 1.0f, &gloss));
  TU_OK(clnn_graph_output(g, gy));
  clnn_model *m = NULL;
  TU_OK(clnn_model_create(ctx, g, 5, &m));
  clnn_graph_destroy(g);
  float me_plain = 0, me_aug = 0, ma_plain = 0, ma_aug = 0;
  TU_OK(clnn_model_evaluate(m, ds, BS, gx, gl, -1, &me_plain, &ma_plain));
  TU_OK(clnn_dataset_set_augmentation(ds, &o));
  TU_OK(clnn_model_evaluate(m, ds, BS, gx, gl, -1, &me_aug, &ma_aug));
  TU_CHECK(me_plain == me_aug && ma_plain == ma_aug,
           "clnn_model_evaluate ignores augmentation (loss %g vs %g)", (double)me_plain,
           (double)me_aug);
  TU_OK(clnn_model_train_epoch(m, ds, BS, gx, gl, NULL));
  TU_OK(clnn_dataset_batch_augmented(ds, 0, BS, b0, BS * P, NULL, 0));
  memcpy(want, x, sizeof want);
  TU_OK(clnn_augment_images(&o, N / BS, BS, 1, 8, 8, want, BS * P, NULL, 0));
  TU_CHECK(memcmp(b0, want, sizeof want) == 0, "the model's epoch drew %d augmented batches",
           N / BS);
  clnn_model_destroy(m);
  clnn_net_destroy(n1);
  clnn_net_destroy(n2);
  clnn_net_destroy(n3);
  clnn_net_destroy(net);
  clnn_dataset_destroy(ds);
  free(x);
}

int main(void) {
  clnn_context *ctx = tu_context();
  known_transforms();
  random_batches();
  noise();
  bad_input();
  datasets_and_training(ctx);
  clnn_context_destroy(ctx);
  return tu_finish("test_augment");
}
