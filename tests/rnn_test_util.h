/* tests/rnn_test_util.h — helpers shared by the recurrent-layer tests (test_lstm.c, test_gru.c):
 * random and converted host arrays, 1-3-D tensors on the file's context, and the error-path
 * harness (EXPECT_ERR: right status, message naming the argument, watched outputs unchanged).
 * Include it once, after test_util.h; it defines the file's context `ctx` (main sets it). */
#ifndef CLNN_TESTS_RNN_TEST_UTIL_H
#define CLNN_TESTS_RNN_TEST_UTIL_H

#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static clnn_context *ctx;
#define SENTINEL 777.25f /* what the error tests fill outputs with before a call that must fail */

/* n uniform floats in [lo, hi). */
static inline float *rnd(size_t n, float lo, float hi) {
  float *p = malloc((n ? n : 1) * sizeof(float));
  if (!p) abort();
  tu_fill_uniform(p, n, lo, hi);
  return p;
}
/* n copies of v. */
static inline float *filled(size_t n, float v) {
  float *p = malloc((n ? n : 1) * sizeof(float));
  if (!p) abort();
  for (size_t i = 0; i < n; i++) p[i] = v;
  return p;
}
/* v widened to double (NULL stays NULL). */
static inline double *dcopy(const float *v, size_t n) {
  if (!v) return NULL;
  double *d = malloc((n ? n : 1) * sizeof(double));
  if (!d) abort();
  for (size_t i = 0; i < n; i++) d[i] = v[i];
  return d;
}
/* v narrowed to float. */
static inline float *fcopy_d(const double *v, size_t n) {
  float *f = malloc((n ? n : 1) * sizeof(float));
  if (!f) abort();
  for (size_t i = 0; i < n; i++) f[i] = (float)v[i];
  return f;
}
static inline clnn_tensor *t1(size_t a, const float *d) {
  return tu_tensor(ctx, 1, (size_t[]){a}, d);
}
static inline clnn_tensor *t2(size_t a, size_t b, const float *d) {
  return tu_tensor(ctx, 2, (size_t[]){a, b}, d);
}
static inline clnn_tensor *t3(size_t a, size_t b, size_t c, const float *d) {
  return tu_tensor(ctx, 3, (size_t[]){a, b, c}, d);
}
/* Fills t (if not NULL) with v; a failure ends the test. */
static inline void fill_t(clnn_tensor *t, float v) {
  if (t && clnn_tensor_fill(t, v) != CLNN_SUCCESS) {
    fprintf(stderr, "FAIL: test setup: fill: %s\n", clnn_last_error());
    exit(1);
  }
}
/* 1 when every element of t is exactly v. */
static inline int all_equal(const clnn_tensor *t, float v) {
  float *h = tu_read(t);
  int ok = 1;
  for (size_t i = 0; i < clnn_tensor_numel(t); i++) ok &= memcmp(&h[i], &v, sizeof v) == 0;
  free(h);
  return ok;
}

/* The outputs an error test watches: filled with SENTINEL before each call, checked after. */
#define MAX_WATCH 24
static clnn_tensor *watch[MAX_WATCH];
static int n_watch;
static inline void watch_reset(void) { n_watch = 0; }
static inline void watch_add(clnn_tensor *t) {
  if (t && n_watch < MAX_WATCH) watch[n_watch++] = t;
}
static inline void watch_fill(void) {
  for (int i = 0; i < n_watch; i++) fill_t(watch[i], SENTINEL);
}
static inline int watch_unchanged(void) {
  int ok = 1;
  for (int i = 0; i < n_watch; i++) ok &= all_equal(watch[i], SENTINEL);
  return ok;
}
/* Expects `call` to fail with `status`, write nothing, and name `needle` in the message. */
#define EXPECT_ERR(status, needle, call)                                                         \
  do {                                                                                           \
    watch_fill();                                                                                \
    TU_STATUS(call, status);                                                                     \
    TU_CHECK(strstr(clnn_last_error(), (needle)) != NULL, "message of %s names '%s': %s", #call, \
             (needle), clnn_last_error());                                                       \
    TU_CHECK(watch_unchanged(), "nothing written by %s", #call);                                 \
  } while (0)

#endif
