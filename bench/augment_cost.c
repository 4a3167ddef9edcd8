/* bench/augment_cost.c — clnn-bench-augment: the host cost of data augmentation
 * (clnn_augment_images) per image, for each transform alone and all together, on batches shaped
 * like the digits (32 x 1x8x8), MNIST (64 x 1x28x28) and CIFAR-10 (64 x 3x32x32). Median of
 * `rounds` timed batches after a warm-up; one thread; no device needed. Nothing is asserted.
 * Usage: clnn-bench-augment [rounds] */
#define _POSIX_C_SOURCE 200809L
#include <clnn.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 51;
  if (rounds < 1 || rounds > 100000) {
    fprintf(stderr, "usage: clnn-bench-augment [rounds]\n");
    return 2;
  }
  const struct { const char *name; size_t n, c, h, w; } shapes[] = {
      {"digits 32x1x8x8", 32, 1, 8, 8},
      {"MNIST 64x1x28x28", 64, 1, 28, 28},
      {"CIFAR 64x3x32x32", 64, 3, 32, 32}};
  const char *sets[] = {"shift 2", "flip", "rotate 10", "noise 0.05", "all four"};
  double *t = malloc((size_t)rounds * sizeof(double));
  if (!t) return 1;
  printf("%-18s %-11s %12s %12s\n", "batch", "transform", "us/image", "ms/batch");
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    size_t count = shapes[s].n * shapes[s].c * shapes[s].h * shapes[s].w;
    float *x = malloc(count * sizeof(float)), *src = malloc(count * sizeof(float));
    if (!x || !src) return 1;
    for (size_t i = 0; i < count; i++) src[i] = (float)((i * 2654435761u) % 1000) / 1000.0f;
    for (int k = 0; k < 5; k++) {
      clnn_augment_options o;
      clnn_augment_options_init(&o);
      o.seed = 1;
      if (k == 0 || k == 4) o.max_shift = 2;
      if (k == 1 || k == 4) o.hflip = 1;
      if (k == 2 || k == 4) o.max_rotate_deg = 10.0f;
      if (k == 3 || k == 4) o.noise_std = 0.05f;
      for (int r = -3; r < rounds; r++) {
        memcpy(x, src, count * sizeof(float));
        double t0 = now();
        clnn_status st = clnn_augment_images(&o, (uint64_t)(r + 3), shapes[s].n, shapes[s].c,
                                             shapes[s].h, shapes[s].w, x, count, NULL, 0);
        double dt = now() - t0;
        if (st != CLNN_SUCCESS) {
          fprintf(stderr, "clnn_augment_images: %s\n", clnn_last_error());
          return 1;
        }
        if (r >= 0) t[r] = dt;
      }
      qsort(t, (size_t)rounds, sizeof(double), cmp);
      double med = t[rounds / 2];
      printf("%-18s %-11s %12.2f %12.3f\n", shapes[s].name, sets[k],
             1e6 * med / (double)shapes[s].n, 1e3 * med);
    }
    free(x);
    free(src);
  }
  free(t);
  return 0;
}
