/* tests/test_gemm_cpu.c — clnn's own CPU-shaped GEMM (cl/gemm_cpu.cl, src/gemm/gemm_cpu.c)
 * against a plain-C reference through the raw entry point clnn__gemm_batched: odd shapes, every
 * transpose, K = 1, thin and wide products, offsets and leading dimensions larger than the rows,
 * strided batches (including a shared operand with stride 0), alpha/beta with beta = 0
 * overwriting NaN; the orientation the cost model picks for tall and wide transposed products,
 * and where B is packed or read in place.
 * Each case runs under several tuned-parameter files (forcing the packed and the
 * in-place paths, wide and narrow tiles, odd tile sizes, 8-float vectors) and once with CLBlast
 * forced, and the path that ran is checked. Where the own GEMM does not apply (not a CPU device,
 * or CLNN_DEVICE_CLASS=gpu) the clnn-cpu configurations are skipped with a note and only CLBlast
 * is checked. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "test_util.h"

typedef struct gcase {
  int ta, tb;
  size_t m, n, k, batch;
  float alpha, beta;
  size_t pad;     /* extra leading-dimension padding (floats) */
  size_t off;     /* offset of every operand in its buffer (floats) */
  int shared_b;   /* batch stride 0 for B */
} gcase;

static void ref(const gcase *g, const float *a, size_t lda, size_t as, const float *b, size_t ldb, size_t bs,
                float *c, size_t ldc, size_t cs) {
  for (size_t q = 0; q < g->batch; q++)
    for (size_t i = 0; i < g->m; i++)
      for (size_t j = 0; j < g->n; j++) {
        double s = 0;
        for (size_t p = 0; p < g->k; p++) {
          double x = g->ta ? a[q * as + p * lda + i] : a[q * as + i * lda + p];
          double y = g->tb ? b[q * bs + j * ldb + p] : b[q * bs + p * ldb + j];
          s += x * y;
        }
        float *cp = &c[q * cs + i * ldc + j];
        *cp = (float)(g->alpha * s + (g->beta == 0.0f ? 0.0 : (double)g->beta * *cp));
      }
}

static void run_case(clnn_context *ctx, const gcase *g, const char *want_path, const char *config) {
  size_t arows = g->ta ? g->k : g->m, acols = g->ta ? g->m : g->k;
  size_t brows = g->tb ? g->n : g->k, bcols = g->tb ? g->k : g->n;
  size_t lda = acols + g->pad, ldb = bcols + g->pad, ldc = g->n + g->pad;
  size_t as = arows * lda + 3, bs = g->shared_b ? 0 : brows * ldb + 5, cs = g->m * ldc + 1;
  size_t an = g->off + as * g->batch, bn = g->off + (g->shared_b ? brows * ldb : bs * g->batch);
  size_t cn = g->off + cs * g->batch;
  float *a = malloc(an * sizeof(float)), *b = malloc(bn * sizeof(float));
  float *c = malloc(cn * sizeof(float)), *want = malloc(cn * sizeof(float)), *got = malloc(cn * sizeof(float));
  tu_fill_uniform(a, an, -1, 1);
  tu_fill_uniform(b, bn, -1, 1);
  tu_fill_uniform(c, cn, -1, 1);
  if (g->beta == 0.0f)
    for (size_t i = 0; i < cn; i++) c[i] = NAN; /* must be overwritten, never read */
  memcpy(want, c, cn * sizeof(float));
  ref(g, a + g->off, lda, as, b + g->off, ldb, bs, want + g->off, ldc, cs);
  cl_mem A = tu_cl_buffer(ctx, a, an), B = tu_cl_buffer(ctx, b, bn), C = tu_cl_buffer(ctx, c, cn);
  clnn_status s = clnn__gemm_batched(ctx, g->ta, g->tb, g->m, g->n, g->k, g->alpha, A, g->off, lda, as, B, g->off,
                                     ldb, bs, g->beta, C, g->off, ldc, cs, g->batch);
  const char *path = clnn__gemm_last_path();
  char what[256];
  snprintf(what, sizeof what, "[%s] gemm %c%c %zux%zux%zu batch %zu%s alpha %g beta %g pad %zu off %zu", config,
           g->ta ? 'T' : 'N', g->tb ? 'T' : 'N', g->m, g->n, g->k, g->batch, g->shared_b ? " (B shared)" : "",
           g->alpha, g->beta, g->pad, g->off);
  TU_CHECK(s == CLNN_SUCCESS, "%s: %s (%s)", what, clnn_status_string(s), clnn_last_error());
  TU_CHECK(!strcmp(path, want_path), "%s: path %s, expected %s", what, path, want_path);
  cl_command_queue q;
  clnn_context_get_cl(ctx, NULL, NULL, &q);
  clEnqueueReadBuffer(q, C, CL_TRUE, 0, cn * sizeof(float), got, 0, NULL, NULL);
  /* elements outside the matrices (padding, gaps between batches) must be untouched */
  int outside_ok = 1;
  for (size_t i = 0; i < cn; i++) {
    int same = (isnan(got[i]) && isnan(want[i])) || got[i] == want[i];
    size_t rel = i < g->off ? (size_t)-1 : i - g->off;
    int inside = rel != (size_t)-1 && rel / cs < g->batch && (rel % cs) / ldc < g->m && (rel % cs) % ldc < g->n &&
                 (rel % cs) < g->m * ldc;
    if (!inside && !same) outside_ok = 0;
    if (!inside) got[i] = want[i] = 0; /* compared above */
  }
  TU_CHECK(outside_ok, "%s: wrote outside C", what);
  tu_allclose(got, want, cn, 1e-4f, 2e-5f * (float)(g->k + 1), what);
  clReleaseMemObject(A);
  clReleaseMemObject(B);
  clReleaseMemObject(C);
  free(a); free(b); free(c); free(want); free(got);
}

static const gcase cases[] = {
    /* ta tb  m     n     k   batch alpha  beta  pad off shared */
    {0, 0, 37, 129, 65, 1, 1.0f, 0.0f, 0, 0, 0},
    {0, 1, 37, 129, 65, 1, 1.0f, 0.0f, 0, 0, 0},
    {1, 0, 37, 129, 65, 1, 1.0f, 0.0f, 0, 0, 0},
    {1, 1, 37, 129, 65, 1, 1.0f, 0.0f, 0, 0, 0},
    {0, 0, 64, 64, 64, 1, 0.5f, 1.0f, 0, 0, 0},
    {1, 1, 64, 64, 64, 1, -0.5f, 0.25f, 0, 0, 0},
    {0, 0, 1, 300, 17, 1, 1.0f, 0.0f, 0, 0, 0},
    {0, 1, 300, 1, 17, 1, 2.0f, -1.0f, 0, 0, 0},
    {1, 0, 3, 5, 1, 1, 1.0f, 0.0f, 0, 0, 0},     /* K = 1 */
    {0, 1, 16, 200, 48, 1, 1.0f, 1.0f, 0, 0, 0}, /* LSTM-like: few rows, B^T */
    {0, 0, 16, 100, 33, 1, 1.0f, 0.0f, 0, 0, 0}, /* few rows, in place */
    {1, 0, 100, 16, 33, 1, 1.0f, 0.0f, 0, 0, 0}, /* few columns */
    {0, 0, 45, 31, 29, 1, 1.0f, 0.5f, 7, 3, 0},  /* leading dimensions and offsets */
    {1, 1, 45, 31, 29, 1, 1.0f, 0.0f, 2, 11, 0},
    {0, 1, 70, 47, 19, 1, 1.5f, 0.0f, 5, 1, 0},
    {0, 0, 13, 11, 9, 5, 1.0f, 0.0f, 0, 0, 0},   /* batched */
    {1, 1, 8, 33, 20, 3, 1.5f, 0.5f, 1, 2, 0},
    {0, 1, 19, 40, 23, 4, 1.0f, 0.0f, 0, 0, 1},  /* batched, B shared (stride 0) */
    {0, 0, 50, 35, 17, 3, 1.0f, 1.0f, 3, 0, 1},
    {1, 0, 20, 70, 40, 2, 1.0f, 0.0f, 0, 4, 0},
    {1, 1, 200, 8, 64, 1, 0.5f, 2.0f, 0, 0, 0},  /* tall, both transposed: C^T orientation */
    {1, 1, 8, 200, 64, 1, 0.5f, 2.0f, 0, 0, 0},  /* its mirror: C orientation */
};

typedef struct config {
  const char *name;
  const char *text; /* tuned-parameter file contents; NULL: CLBlast forced */
} config;

static const config configs[] = {
    {"built-in tiles, pack everything", "gemm.own = 1\ngemm.pack_min = 0\ngemm.pack_min_k = 0\n"},
    {"built-in tiles, in place where possible", "gemm.own = 1\ngemm.pack_min = 1000000000\n"},
    {"odd tiles 5x1 / narrow 7, rt 3, ku 3, pack from 40 rows and k 20",
     "gemm.own = 1\ngemm.mr = 5\ngemm.nv = 1\ngemm.mr_n = 7\n"
     "gemm.rt = 3\ngemm.ku = 3\ngemm.pack_min = 40\ngemm.pack_min_k = 20\n"},
    {"8-float vectors 4x3, panels-first order", "gemm.own = 1\ngemm.vw = 8\ngemm.mr = 4\ngemm.nv = 3\n"
                                               "gemm.mr_n = 9\ngemm.pack_min = 20\ngemm.pack_min_k = 0\n"
                                               "gemm.order = 1\n"},
    {"CLBlast forced", NULL},
};

int main(void) {
  clnn_context *probe = tu_context();
  /* the class the contexts run as: CLNN_DEVICE_CLASS=gpu sends every GEMM to CLBlast */
  int is_cpu = probe->device_class == CLNN_DEVICE_CLASS_CPU;
  clnn_context_destroy(probe);
  char file[] = "/tmp/clnn-test-gemm-cpu-XXXXXX";
  int fd = mkstemp(file);
  if (fd < 0) {
    perror("mkstemp");
    return 1;
  }
  close(fd);
  tu_seed(7);
  for (size_t ci = 0; ci < sizeof configs / sizeof configs[0]; ci++) {
    const config *cf = &configs[ci];
    if (cf->text && !is_cpu) {
      printf("note: %s skipped: the clnn-cpu GEMM applies to CPU-class contexts only\n", cf->name);
      continue;
    }
    clnn_context *ctx = tu_context_tuned(cf->text, file, cf->name);
    if (!ctx) continue;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
      run_case(ctx, &cases[i], cf->text ? "clnn-cpu" : "clblast", cf->name);
    clnn_context_destroy(ctx);
  }
  remove(file);

  /* The orientation the cost model picks with the built-in tiles (16-float vectors, pack_min 256)
   * for A^T B^T with alpha 0.5 and beta 2: a tall, narrow C (m 200, n 8) is computed as C^T (the
   * "ct" kernels: X = B, Y = A^T used in place), its mirror (m 8, n 200) as C ("cn"). */
  if (is_cpu) {
    FILE *f = fopen(file, "w");
    fputs("gemm.own = 1\n", f);
    fclose(f);
    setenv("CLNN_TUNE", file, 1);
    clnn_context *ctx = NULL;
    clnn_status s = clnn_context_create(NULL, &ctx);
    unsetenv("CLNN_TUNE");
    if (TU_CHECK(s == CLNN_SUCCESS, "context with built-in tiles: %s", clnn_last_error())) {
      const gcase tall = {1, 1, 200, 8, 64, 1, 0.5f, 2.0f, 0, 0, 0};
      const gcase wide = {1, 1, 8, 200, 64, 1, 0.5f, 2.0f, 0, 0, 0};
      run_case(ctx, &tall, "clnn-cpu", "orientation, tall");
      const char *kn = clnn__own_gemm_last_kernel();
      TU_CHECK(strstr(kn, "_ct_") != NULL, "gemm TT 200x8x64: kernel %s, expected the C^T orientation (_ct_)", kn);
      run_case(ctx, &wide, "clnn-cpu", "orientation, wide");
      kn = clnn__own_gemm_last_kernel();
      TU_CHECK(strstr(kn, "_cn_") != NULL, "gemm TT 8x200x64: kernel %s, expected the C orientation (_cn_)", kn);
      /* B read in place or packed: packed only from 256 rows and a reduction of 257 (a 1x1
       * convolution's forward with 256 output channels and 64 input channels reads x in place) */
      static const struct {
        gcase g;
        const char *want;
      } packing[] = {
          {{0, 0, 256, 40, 64, 2, 1.0f, 0.0f, 0, 0, 0}, "_cn_w_inplace"},
          {{0, 0, 256, 40, 256, 1, 1.0f, 0.0f, 0, 0, 0}, "_cn_w_inplace"},
          {{0, 0, 256, 40, 257, 1, 1.0f, 0.0f, 0, 0, 0}, "_cn_w_packed"},
          {{0, 0, 255, 40, 300, 1, 1.0f, 0.0f, 0, 0, 0}, "_cn_w_inplace"},
          {{1, 1, 16, 256, 64, 1, 1.0f, 0.0f, 0, 0, 0}, "_ct_n_inplace"},
          {{1, 1, 16, 256, 257, 1, 1.0f, 0.0f, 0, 0, 0}, "_ct_n_packed"},
      };
      for (size_t i = 0; i < sizeof packing / sizeof packing[0]; i++) {
        const gcase *g = &packing[i].g;
        run_case(ctx, g, "clnn-cpu", "packing rule");
        kn = clnn__own_gemm_last_kernel();
        TU_CHECK(strstr(kn, packing[i].want) != NULL, "gemm %c%c %zux%zux%zu: kernel %s, expected %s",
                 g->ta ? 'T' : 'N', g->tb ? 'T' : 'N', g->m, g->n, g->k, kn, packing[i].want);
      }
      clnn_context_destroy(ctx);
    }
    remove(file);
  }

  /* A malformed tuned file is skipped line by line, never fatal. */
  {
    FILE *f = fopen(file, "w");
    fputs("gemm.own = 1\ngemm.mr = banana\nthis line has no equals sign\ngemm.nv = 99\nclblast.Xgemm = KWG\n", f);
    fclose(f);
    setenv("CLNN_TUNE", file, 1);
    clnn_context *ctx = NULL;
    clnn_status s = clnn_context_create(NULL, &ctx);
    unsetenv("CLNN_TUNE");
    TU_CHECK(s == CLNN_SUCCESS, "context with a malformed tuned file: %s", clnn_last_error());
    if (ctx) {
      gcase g = {0, 1, 21, 40, 13, 1, 1.0f, 0.0f, 0, 0, 0};
      run_case(ctx, &g, is_cpu ? "clnn-cpu" : "clblast", "malformed file");
      clnn_context_destroy(ctx);
    }
    remove(file);
  }
  return tu_finish("test_gemm_cpu");
}
