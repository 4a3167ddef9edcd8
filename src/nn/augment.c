/* src/nn/augment.c — data augmentation for image datasets on the host: per-sample random shifts
 * (zero padding), left-right flips, rotations (bilinear) and additive Gaussian noise, drawn from
 * a seed and a per-batch stream with splitmix64 so every machine gets the same bits; a dataset
 * keeps the options and a batch counter, and the training loops draw their batches through
 * clnn_dataset_batch_augmented. */
#include "nn_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void clnn_augment_options_init(clnn_augment_options *o) {
  if (!o) return;
  memset(o, 0, sizeof(*o));
  o->struct_size = (uint32_t)sizeof(*o);
}

static clnn_status check_options(const clnn_augment_options *o, const char *fn) {
  if (!o) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: options are NULL", fn);
  if (o->max_shift < 0)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: max_shift is %d; it must be >= 0", fn,
                       o->max_shift);
  if (o->hflip != 0 && o->hflip != 1)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: hflip is %d; it must be 0 or 1", fn,
                       o->hflip);
  if (!isfinite(o->max_rotate_deg) || o->max_rotate_deg < 0.0f || o->max_rotate_deg > 180.0f)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: max_rotate_deg is %g; it must be in "
                       "0..180", fn, (double)o->max_rotate_deg);
  if (!isfinite(o->noise_std) || o->noise_std < 0.0f)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: noise_std is %g; it must be finite and "
                       ">= 0", fn, (double)o->noise_std);
  return CLNN_SUCCESS;
}

static clnn_status check_draw(const clnn_augment_draw *d, const char *fn) {
  if (!d) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: d is NULL", fn);
  if (d->flip != 0 && d->flip != 1)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: flip is %d; it must be 0 or 1", fn,
                       d->flip);
  if (!isfinite(d->angle_deg) || fabsf(d->angle_deg) > 180.0f)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: angle_deg is %g; it must be in "
                       "-180..180", fn, (double)d->angle_deg);
  if (!isfinite(d->noise_std) || d->noise_std < 0.0f)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: noise_std is %g; it must be finite and "
                       ">= 0", fn, (double)d->noise_std);
  return CLNN_SUCCESS;
}

/* channels * height * width images of n, checked against x_count without overflow. */
static clnn_status check_images(size_t n, size_t c, size_t h, size_t w, const float *x,
                                size_t x_count, const char *fn) {
  if (!x) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: x is NULL", fn);
  if (n == 0 || c == 0 || h == 0 || w == 0)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: %s is 0", fn,
                       n == 0 ? "n" : c == 0 ? "channels" : h == 0 ? "height" : "width");
  int ok = 1;
  size_t need = clnn__mul_size(clnn__mul_size(clnn__mul_size(n, c, &ok), h, &ok), w, &ok);
  if (!ok)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: %zu images of %zux%zux%zu overflow "
                       "size_t", fn, n, c, h, w);
  if (x_count != need)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: x_count is %zu but %zu images of "
                       "%zux%zux%zu need %zu", fn, x_count, n, c, h, w, need);
  return CLNN_SUCCESS;
}

/* Standard normal pairs by Box-Muller over splitmix64. */
static void add_noise(float *x, size_t count, float std, uint64_t seed) {
  uint64_t s = seed;
  for (size_t i = 0; i < count; i += 2) {
    double u1 = clnn__nn_uniform01(&s), u2 = clnn__nn_uniform01(&s);
    double r = sqrt(-2.0 * log(1.0 - u1)); /* 1 - u1 in (0, 1] */
    double t = 6.283185307179586 * u2;
    x[i] += (float)(std * r * cos(t));
    if (i + 1 < count) x[i + 1] += (float)(std * r * sin(t));
  }
}

static float at(const float *img, size_t h, size_t w, long y, long x) {
  return (y < 0 || x < 0 || y >= (long)h || x >= (long)w) ? 0.0f : img[(size_t)y * w + (size_t)x];
}

/* One channel: out(oy, ox) reads src as the header describes (shift, rotation, flip). */
static void warp_channel(const float *src, float *out, size_t h, size_t w,
                         const clnn_augment_draw *d) {
  double cy = 0.5 * (double)(h - 1), cx = 0.5 * (double)(w - 1);
  double a = (double)d->angle_deg * (3.14159265358979323846 / 180.0);
  double ca = cos(a), sa = sin(a);
  int rotate = d->angle_deg != 0.0f;
  for (size_t oy = 0; oy < h; oy++) {
    for (size_t ox = 0; ox < w; ox++) {
      long iy = (long)oy - d->dy, ix = (long)ox - d->dx;
      float v;
      if (!rotate) {
        if (d->flip) ix = (long)w - 1 - ix;
        v = at(src, h, w, iy, ix);
      } else {
        double u = (double)ix - cx, q = (double)iy - cy;
        double sx = cx + ca * u - sa * q, sy = cy + sa * u + ca * q;
        if (d->flip) sx = (double)(w - 1) - sx;
        double fx = floor(sx), fy = floor(sy);
        double tx = sx - fx, ty = sy - fy;
        long x0 = (long)fx, y0 = (long)fy;
        v = (float)((1 - ty) * ((1 - tx) * at(src, h, w, y0, x0) + tx * at(src, h, w, y0, x0 + 1)) +
                    ty * ((1 - tx) * at(src, h, w, y0 + 1, x0) + tx * at(src, h, w, y0 + 1, x0 + 1)));
      }
      out[oy * w + ox] = v;
    }
  }
}

/* Applies a checked draw to one image; scratch holds h * w floats. */
static void apply_one(const clnn_augment_draw *d, size_t c, size_t h, size_t w, float *x,
                      float *scratch) {
  int geometric = d->dx != 0 || d->dy != 0 || d->flip || d->angle_deg != 0.0f;
  if (geometric) {
    for (size_t ch = 0; ch < c; ch++) {
      float *img = x + ch * h * w;
      memcpy(scratch, img, h * w * sizeof(float));
      warp_channel(scratch, img, h, w, d);
    }
  }
  if (d->noise_std > 0.0f) add_noise(x, c * h * w, d->noise_std, d->noise_seed);
}

clnn_status clnn_augment_apply(const clnn_augment_draw *d, size_t channels, size_t height,
                               size_t width, float *x, size_t x_count) {
  const char *fn = "clnn_augment_apply";
  clnn_status st = check_draw(d, fn);
  if (st == CLNN_SUCCESS) st = check_images(1, channels, height, width, x, x_count, fn);
  if (st != CLNN_SUCCESS) return st;
  float *scratch = malloc(height * width * sizeof(float));
  if (!scratch) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "%s: cannot allocate %zu floats", fn,
                                   height * width);
  apply_one(d, channels, height, width, x, scratch);
  free(scratch);
  return CLNN_SUCCESS;
}

/* Integer uniform in [-m, m]. */
static int draw_shift(uint64_t *s, int m) {
  if (m == 0) return 0;
  uint64_t span = 2 * (uint64_t)m + 1;
  int64_t k = (int64_t)(clnn__nn_uniform01(s) * (double)span); /* 0 .. 2m (in int64: m may be
                                                                  INT_MAX) */
  if (k > 2 * (int64_t)m) k = 2 * (int64_t)m;
  return (int)(k - m);
}

static clnn_augment_draw draw_one(const clnn_augment_options *o, uint64_t *s) {
  clnn_augment_draw d;
  memset(&d, 0, sizeof d);
  /* every field is drawn whether used or not, so one setting does not change the others' draws */
  int dx = draw_shift(s, o->max_shift), dy = draw_shift(s, o->max_shift);
  int flip = clnn__nn_uniform01(s) < 0.5;
  double a = (2.0 * clnn__nn_uniform01(s) - 1.0) * (double)o->max_rotate_deg;
  uint64_t ns = clnn__nn_splitmix64(s);
  d.dx = dx;
  d.dy = dy;
  d.flip = o->hflip ? flip : 0;
  d.angle_deg = (float)a;
  d.noise_std = o->noise_std;
  d.noise_seed = ns;
  return d;
}

clnn_status clnn_augment_images(const clnn_augment_options *o, uint64_t stream, size_t n,
                                size_t channels, size_t height, size_t width, float *x,
                                size_t x_count, clnn_augment_draw *draws, size_t draws_count) {
  const char *fn = "clnn_augment_images";
  clnn_augment_options o_in;
  CLNN__STRUCT_IN(CLNN__AUGMENT_OPTIONS, fn, "o", o, o_in);
  clnn_status st = check_options(o, fn);
  if (st == CLNN_SUCCESS) st = check_images(n, channels, height, width, x, x_count, fn);
  if (st != CLNN_SUCCESS) return st;
  if (draws && draws_count != n)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: draws_count is %zu but %zu images need "
                       "%zu draws", fn, draws_count, n, n);
  float *scratch = malloc(height * width * sizeof(float));
  if (!scratch) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "%s: cannot allocate %zu floats", fn,
                                   height * width);
  /* the stream's own state: seed and stream mixed, so nearby streams are unrelated */
  uint64_t s = o->seed ^ 0x5851F42D4C957F2DULL;
  uint64_t k = stream;
  s ^= clnn__nn_splitmix64(&k);
  (void)clnn__nn_splitmix64(&s);
  size_t per = channels * height * width;
  for (size_t i = 0; i < n; i++) {
    clnn_augment_draw d = draw_one(o, &s);
    apply_one(&d, channels, height, width, x + i * per, scratch);
    if (draws) draws[i] = d;
  }
  free(scratch);
  return CLNN_SUCCESS;
}

clnn_status clnn_dataset_set_augmentation(clnn_dataset *ds, const clnn_augment_options *o) {
  const char *fn = "clnn_dataset_set_augmentation";
  if (!ds) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: ds is NULL", fn);
  clnn__dataset_aug *a = clnn__nn_dataset_aug(ds);
  clnn_augment_options o_in;
  CLNN__STRUCT_IN(CLNN__AUGMENT_OPTIONS, fn, "o", o, o_in);
  if (!o) {
    a->on = 0;
    a->batches = 0;
    return CLNN_SUCCESS;
  }
  clnn_status st = check_options(o, fn);
  if (st != CLNN_SUCCESS) return st;
  size_t dims[CLNN_MAX_DIMS];
  int nd = clnn_dataset_sample_dims(ds, dims);
  if (nd != 3)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: the dataset's samples have %d dims; "
                       "augmentation needs images [C, H, W]", fn, nd);
  a->on = 1;
  a->opt = *o;
  a->batches = 0;
  return CLNN_SUCCESS;
}

int clnn_dataset_get_augmentation(const clnn_dataset *ds, clnn_augment_options *o) {
  const clnn__dataset_aug *a = clnn__nn_dataset_aug((clnn_dataset *)ds);
  if (!a || !a->on) return 0;
  if (o) {
    uint32_t n = 0;
    if (clnn__struct_check(CLNN__AUGMENT_OPTIONS, "clnn_dataset_get_augmentation", "o", o, &n) !=
        CLNN_SUCCESS)
      return -1;
    clnn__struct_out(o, &a->opt, n);
  }
  return 1;
}

clnn_status clnn_dataset_batch_augmented(clnn_dataset *ds, size_t first, size_t count, float *x,
                                         size_t x_count, int32_t *labels, size_t labels_count) {
  clnn_status st = clnn__nn_dataset_batch(ds, first, count, x, x_count, labels, labels_count,
                                          "clnn_dataset_batch_augmented");
  if (st != CLNN_SUCCESS) return st;
  clnn__dataset_aug *a = clnn__nn_dataset_aug(ds);
  if (!a->on) return CLNN_SUCCESS;
  size_t dims[CLNN_MAX_DIMS];
  clnn_dataset_sample_dims(ds, dims);
  st = clnn_augment_images(&a->opt, a->batches, count, dims[0], dims[1], dims[2], x, x_count,
                           NULL, 0);
  if (st == CLNN_SUCCESS) a->batches++;
  return st;
}
