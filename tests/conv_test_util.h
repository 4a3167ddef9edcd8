/* tests/conv_test_util.h — what the convolution tests share (test_conv2d.c,
 * test_conv2d_igemm.c): a test case's shape and options (tcase), its clnn_conv2d_params and
 * reference geometry, and random / filled host arrays. */
#ifndef CLNN_TESTS_CONV_TEST_UTIL_H
#define CLNN_TESTS_CONV_TEST_UTIL_H

#include "conv_ref.h"
#include "test_util.h"

#include <stdlib.h>

typedef struct tcase {
  const char *name;
  int n, c, h, w, k, r, s;
  int sh, sw, pt, pb, pl, pr, dh, dw, groups;
} tcase;

static inline clnn_conv2d_params params_of(const tcase *t) {
  clnn_conv2d_params p;
  clnn_conv2d_params_init(&p);
  p.stride_h = t->sh, p.stride_w = t->sw;
  p.pad_top = t->pt, p.pad_bottom = t->pb, p.pad_left = t->pl, p.pad_right = t->pr;
  p.dilation_h = t->dh, p.dilation_w = t->dw;
  p.groups = t->groups;
  return p;
}

static inline conv_ref_geom geom_of(const tcase *t) {
  conv_ref_geom g = {t->n,  t->c,  t->h,  t->w,  t->k,  t->r,  t->s,      t->sh, t->sw,
                     t->pt, t->pb, t->pl, t->pr, t->dh, t->dw, t->groups, 0,     0};
  return g;
}

/* n uniform floats in [-1, 1). */
static inline float *rnd(size_t n) {
  float *a = malloc(n * sizeof(float));
  if (!a) abort();
  tu_fill_uniform(a, n, -1.0f, 1.0f);
  return a;
}
/* n copies of v. */
static inline float *filled(size_t n, float v) {
  float *a = malloc(n * sizeof(float));
  if (!a) abort();
  for (size_t i = 0; i < n; i++) a[i] = v;
  return a;
}

#endif
