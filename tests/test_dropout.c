/* tests/test_dropout.c — dropout: the plain-C Philox4x32-10 against Random123's known answers;
 * device masks equal to the reference bit for bit (many seeds, offsets, sizes; the CPU and GPU
 * launch shapes); forward and backward agree; offset semantics; kept fraction within a stated
 * bound; p = 0 is the identity; every error path leaves the output untouched. */
#include "dropout_ref.h"
#include "internal.h"
#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static clnn_context *ctx, *ctx2;
#define SENTINEL 2.125f


/* Random123 tests/kat_vectors, "philox4x32 10" lines: counter, key, expected. */
static void test_known_answers(void) {
  static const uint32_t kat[3][10] = {
      {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
      {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d,
       0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
      {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09,
       0x94fdcceb, 0x5001e420, 0x24126ea1},
  };
  for (int k = 0; k < 3; k++) {
    uint32_t out[4];
    dropout_ref_philox(kat[k], kat[k] + 4, out);
    TU_CHECK(memcmp(out, kat[k] + 6, sizeof out) == 0,
             "Philox4x32-10 known answer %d: got %08x %08x %08x %08x", k, out[0], out[1], out[2],
             out[3]);
  }
}

/* Device forward and backward against the reference: the masks must agree exactly. */
static void test_against_reference(const char *shape_name) {
  static const float ps[] = {0.1f, 0.5f, 0.9f, 0.3f};
  static const uint64_t seeds[] = {0, 0xFFFFFFFFFFFFFFFFull, 0x0123456789ABCDEFull, 42};
  static const uint64_t offsets[] = {0, 1, 3, 4, (1ull << 34) + 5, 0xFFFFFFFFFFFFFFFDull};
  static const size_t sizes[] = {1, 7, 4099, 100003};
  int combo = 0;
  for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
    size_t n = sizes[si], dims[2] = {1, n};
    if (n % 7 == 0) dims[0] = 7, dims[1] = n / 7;
    float *x = malloc(n * sizeof(float)), *dy = malloc(n * sizeof(float));
    float *want = malloc(n * sizeof(float)), *d0 = malloc(n * sizeof(float));
    tu_fill_uniform(x, n, 0.5f, 1.5f); /* nonzero, so a zero output means dropped */
    tu_fill_uniform(dy, n, -1.5f, -0.5f);
    tu_fill_uniform(d0, n, -1.0f, 1.0f);
    clnn_tensor *tx = tu_tensor(ctx, 2, dims, x), *ty = tu_guarded(ctx, 2, dims);
    clnn_tensor *tdy = tu_tensor(ctx, 2, dims, dy), *tdx = tu_guarded(ctx, 2, dims);
    for (size_t oi = 0; oi < sizeof offsets / sizeof offsets[0]; oi++) {
      float p = ps[combo % 4];
      uint64_t seed = seeds[(combo / 4 + oi) % 4], offset = offsets[oi];
      combo++;
      char what[200];
      snprintf(what, sizeof what, "[%s] dropout p=%g seed=%llx offset=%llx n=%zu", shape_name, p,
               (unsigned long long)seed, (unsigned long long)offset, n);
      TU_OK(clnn_tensor_fill(ty, NAN));
      TU_OK(clnn_dropout_forward(ctx, p, seed, offset, tx, ty));
      float *y = tu_read(ty);
      size_t mask_bad = 0, first_bad = 0;
      for (size_t i = 0; i < n; i++) {
        int keep = dropout_ref_keep(p, seed, offset, i);
        if ((y[i] != 0.0f) != keep) {
          if (!mask_bad) first_bad = i;
          mask_bad++;
        }
      }
      TU_CHECK(mask_bad == 0, "%s: forward mask differs from the reference at %zu elements "
               "(first %zu)", what, mask_bad, first_bad);
      dropout_ref_apply(p, seed, offset, x, 0.0f, want, n);
      tu_allclose(y, want, n, 1e-6f, 0, what);

      /* backward regenerates the same mask: beta 0 over NaN, then beta 1 and 0.5 */
      TU_OK(clnn_tensor_fill(tdx, NAN));
      TU_OK(clnn_dropout_backward(ctx, p, seed, offset, tdy, 0.0f, tdx));
      float *g = tu_read(tdx);
      size_t disagree = 0;
      for (size_t i = 0; i < n; i++) disagree += (g[i] != 0.0f) != (y[i] != 0.0f);
      TU_CHECK(disagree == 0, "%s: backward mask differs from forward at %zu elements", what,
               disagree);
      dropout_ref_apply(p, seed, offset, dy, 0.0f, want, n);
      tu_allclose(g, want, n, 1e-6f, 0, what);
      free(g);
      TU_OK(clnn_tensor_write(tdx, d0, n));
      memcpy(want, d0, n * sizeof(float));
      dropout_ref_apply(p, seed, offset, dy, 1.0f, want, n);
      TU_OK(clnn_dropout_backward(ctx, p, seed, offset, tdy, 1.0f, tdx));
      g = tu_read(tdx);
      tu_allclose(g, want, n, 1e-6f, 1e-7f, what);
      free(g);
      /* beta 0.5 over the same prefill: dx = 0.5 * d0 + mask(dy) */
      TU_OK(clnn_tensor_write(tdx, d0, n));
      memcpy(want, d0, n * sizeof(float));
      dropout_ref_apply(p, seed, offset, dy, 0.5f, want, n);
      TU_OK(clnn_dropout_backward(ctx, p, seed, offset, tdy, 0.5f, tdx));
      g = tu_read(tdx);
      tu_allclose(g, want, n, 1e-6f, 1e-7f, what);
      free(g);
      free(y);
    }
    tu_check_guard(ty, "dropout forward output");
    tu_check_guard(tdx, "dropout backward output");
    clnn_tensor_destroy(tx);
    clnn_tensor_destroy(ty);
    clnn_tensor_destroy(tdy);
    clnn_tensor_destroy(tdx);
    free(x);
    free(dy);
    free(want);
    free(d0);
  }
}

/* Element i of a call at offset o is element i + k of a call at offset o - k. */
static void test_offset_semantics(void) {
  size_t n = 10000, m = 777, k = 1234;
  float *x = malloc(n * sizeof(float));
  for (size_t i = 0; i < n; i++) x[i] = 1.0f;
  clnn_tensor *tx = tu_tensor(ctx, 1, &n, x), *ty = tu_tensor(ctx, 1, &n, NULL);
  clnn_tensor *sx = tu_tensor(ctx, 1, &m, x), *sy = tu_tensor(ctx, 1, &m, NULL);
  uint64_t seed = 99, base = 1000003;
  TU_OK(clnn_dropout_forward(ctx, 0.4f, seed, base, tx, ty));
  TU_OK(clnn_dropout_forward(ctx, 0.4f, seed, base + k, sx, sy));
  float *full = tu_read(ty), *part = tu_read(sy);
  TU_CHECK(memcmp(full + k, part, m * sizeof(float)) == 0,
           "a call at offset+%zu reproduces elements %zu.. of the call at offset", k, k);
  /* another seed, and a disjoint offset, give different masks (agreement ~ p^2 + (1-p)^2) */
  TU_OK(clnn_dropout_forward(ctx, 0.4f, seed + 1, base, tx, ty));
  float *other = tu_read(ty);
  size_t same = 0;
  for (size_t i = 0; i < n; i++) same += (other[i] != 0) == (full[i] != 0);
  double frac = (double)same / n;
  TU_CHECK(fabs(frac - 0.52) < 0.05, "masks of seeds 99 and 100 agree on %.3f of elements "
           "(independent: 0.52)", frac);
  free(other);
  TU_OK(clnn_dropout_forward(ctx, 0.4f, seed, base + n, tx, ty));
  other = tu_read(ty);
  same = 0;
  for (size_t i = 0; i < n; i++) same += (other[i] != 0) == (full[i] != 0);
  frac = (double)same / n;
  TU_CHECK(fabs(frac - 0.52) < 0.05, "masks of disjoint offsets agree on %.3f of elements", frac);
  free(other);
  free(full);
  free(part);
  free(x);
  clnn_tensor_destroy(tx);
  clnn_tensor_destroy(ty);
  clnn_tensor_destroy(sx);
  clnn_tensor_destroy(sy);
}

/* Kept fraction within 0.005 of 1 - p over 2^20 elements (the standard deviation is at most
 * 0.0005, so this is a 10-sigma bound), and the output mean is unbiased. */
static void test_statistics(void) {
  size_t n = (size_t)1 << 20;
  float *x = malloc(n * sizeof(float));
  for (size_t i = 0; i < n; i++) x[i] = 1.0f;
  clnn_tensor *tx = tu_tensor(ctx, 1, &n, x), *ty = tu_tensor(ctx, 1, &n, NULL);
  static const float ps[] = {0.1f, 0.5f, 0.8f, 0.05f};
  for (int k = 0; k < 4; k++) {
    float p = ps[k];
    TU_OK(clnn_dropout_forward(ctx, p, 0xC0FFEEull + (uint64_t)k, 0, tx, ty));
    float *y = tu_read(ty);
    size_t kept = 0;
    double sum = 0;
    float scale = (float)(1.0 / (1.0 - p));
    size_t wrong_value = 0;
    for (size_t i = 0; i < n; i++) {
      if (y[i] != 0.0f) {
        kept++;
        wrong_value += y[i] != scale;
      }
      sum += y[i];
    }
    double frac = (double)kept / (double)n;
    TU_CHECK(fabs(frac - (1.0 - p)) < 0.005, "p=%g: kept fraction %.5f, want %.5f +- 0.005", p,
             frac, 1.0 - p);
    TU_CHECK(fabs(sum / (double)n - 1.0) < 0.02, "p=%g: mean output %.5f, want 1 +- 0.02", p,
             sum / (double)n);
    TU_CHECK(wrong_value == 0, "p=%g: %zu kept elements are not x/(1-p)", p, wrong_value);
    free(y);
  }
  free(x);
  clnn_tensor_destroy(tx);
  clnn_tensor_destroy(ty);
}

static void test_identity(void) {
  size_t n = 5003;
  float *x = malloc(n * sizeof(float)), *d0 = malloc(n * sizeof(float));
  tu_fill_uniform(x, n, -100.0f, 100.0f);
  tu_fill_uniform(d0, n, -1.0f, 1.0f);
  x[0] = INFINITY;
  x[1] = -0.0f;
  x[2] = 1e-40f; /* subnormal */
  clnn_tensor *tx = tu_tensor(ctx, 1, &n, x), *ty = tu_tensor(ctx, 1, &n, NULL);
  TU_OK(clnn_tensor_fill(ty, NAN));
  TU_OK(clnn_dropout_forward(ctx, 0.0f, 7, 0, tx, ty));
  float *y = tu_read(ty);
  TU_CHECK(memcmp(x, y, n * sizeof(float)) == 0, "p = 0 forward is the identity, bit for bit");
  free(y);
  TU_OK(clnn_tensor_fill(ty, NAN));
  TU_OK(clnn_dropout_backward(ctx, 0.0f, 7, 0, tx, 0.0f, ty));
  y = tu_read(ty);
  TU_CHECK(memcmp(x, y, n * sizeof(float)) == 0, "p = 0 backward beta=0: dx = dy, bit for bit");
  free(y);
  TU_OK(clnn_tensor_write(ty, d0, n));
  x[0] = 1.0f;
  TU_OK(clnn_tensor_write(tx, x, n));
  TU_OK(clnn_dropout_backward(ctx, 0.0f, 7, 0, tx, 1.0f, ty));
  y = tu_read(ty);
  for (size_t i = 0; i < n; i++) d0[i] += x[i];
  tu_allclose(y, d0, n, 1e-6f, 1e-6f, "p = 0 backward beta=1: dx += dy");
  free(y);
  /* beta 0.5 over d0 + x: dx = 0.5 * (d0 + x) + x */
  TU_OK(clnn_tensor_write(ty, d0, n));
  TU_OK(clnn_dropout_backward(ctx, 0.0f, 7, 0, tx, 0.5f, ty));
  y = tu_read(ty);
  for (size_t i = 0; i < n; i++) d0[i] = 0.5f * d0[i] + x[i];
  tu_allclose(y, d0, n, 1e-6f, 1e-6f, "p = 0 backward beta=0.5: dx = 0.5 dx + dy");
  free(y);
  /* in place */
  TU_OK(clnn_dropout_forward(ctx, 0.0f, 7, 0, tx, tx));
  y = tu_read(tx);
  TU_CHECK(memcmp(x, y, n * sizeof(float)) == 0, "p = 0 in place leaves x unchanged");
  free(y);
  free(x);
  free(d0);
  clnn_tensor_destroy(tx);
  clnn_tensor_destroy(ty);
}

static void test_errors(void) {
  const clnn_status IA = CLNN_ERROR_INVALID_ARGUMENT, SM = CLNN_ERROR_SHAPE_MISMATCH,
                    CM = CLNN_ERROR_CONTEXT_MISMATCH;
  size_t d34[2] = {3, 4}, d43[2] = {4, 3};
  float s[12];
  for (int i = 0; i < 12; i++) s[i] = SENTINEL;
  clnn_tensor *x = tu_tensor(ctx, 2, d34, NULL), *y = tu_tensor(ctx, 2, d34, s);
  clnn_tensor *y43 = tu_tensor(ctx, 2, d43, s), *other = tu_tensor(ctx2, 2, d34, NULL);
  TU_OK(clnn_tensor_fill(x, 1.0f));
  static const float bad_p[] = {-0.1f, 1.0f, 1.5f, NAN, INFINITY, -INFINITY, -0.0000001f};
  for (size_t k = 0; k < sizeof bad_p / sizeof bad_p[0]; k++) {
    TU_STATUS(clnn_dropout_forward(ctx, bad_p[k], 1, 0, x, y), IA);
    TU_STATUS(clnn_dropout_backward(ctx, bad_p[k], 1, 0, x, 0.0f, y), IA);
  }
  TU_CHECK(strstr(clnn_last_error(), "p") != NULL, "message names p: %s", clnn_last_error());
  TU_STATUS(clnn_dropout_backward(ctx, 0.5f, 1, 0, x, NAN, y), IA);
  TU_STATUS(clnn_dropout_backward(ctx, 0.5f, 1, 0, x, INFINITY, y), IA);
  TU_STATUS(clnn_dropout_forward(ctx, 0.5f, 1, 0, x, y43), SM);
  TU_CHECK(strstr(clnn_last_error(), "[4, 3]") && strstr(clnn_last_error(), "[3, 4]"),
           "message names both shapes: %s", clnn_last_error());
  TU_STATUS(clnn_dropout_backward(ctx, 0.5f, 1, 0, x, 0.0f, y43), SM);
  TU_STATUS(clnn_dropout_forward(ctx, 0.5f, 1, 0, NULL, y), IA);
  TU_STATUS(clnn_dropout_forward(ctx, 0.5f, 1, 0, x, NULL), IA);
  TU_STATUS(clnn_dropout_forward(NULL, 0.5f, 1, 0, x, y), IA);
  TU_STATUS(clnn_dropout_forward(ctx, 0.5f, 1, 0, other, y), CM);
  TU_STATUS(clnn_dropout_backward(ctx, 0.5f, 1, 0, other, 0.0f, y), CM);
  TU_STATUS(clnn_dropout_backward(ctx, 0.5f, 1, 0, x, 0.0f, other), CM);
  tu_check_all(y, SENTINEL, "dropout after errors");
  tu_check_all(y43, SENTINEL, "dropout after errors (y43)");
  clnn_tensor_destroy(x);
  clnn_tensor_destroy(y);
  clnn_tensor_destroy(y43);
  clnn_tensor_destroy(other);
}

int main(void) {
  ctx = tu_context();
  TU_OK(clnn_context_create(NULL, &ctx2));
  tu_seed(2024);
  test_known_answers();
  test_against_reference("cpu shape");
  test_offset_semantics();
  test_statistics();
  test_identity();
  test_errors();
  /* The GPU launch shape (four elements per work-item, work-groups of 128) on this device. */
  int saved = ctx->device_class;
  ctx->device_class = CLNN_DEVICE_CLASS_GPU;
  test_against_reference("gpu shape");
  test_offset_semantics();
  ctx->device_class = saved;
  clnn_context_destroy(ctx2);
  clnn_context_destroy(ctx);
  return tu_finish("test_dropout");
}
