/* tests/test_gemm_kseg.c — clnn's CPU GEMM over a reduction in segments (clnn__gemm_kseg, used by
 * conv2d's filter gradient to sum over several images without gathering them): against a
 * plain-C reference (double accumulation) for every transpose, segment lengths that do and do not
 * divide K (and are not multiples of the packing block of 16), one-element segments, gaps
 * between segments, offsets and padded leading dimensions, strided and shared batches, beta 0
 * (C prefilled with NaN), 1 and 0.5; both orientations. Each result must also be bitwise equal
 * to the same GEMM on the gathered operands (clnn__gemm_batched, same k order) and to a rerun.
 * Runs under tuned-parameter files forcing packed and in-place operands, odd tiles and 8-float
 * vectors. Where the own GEMM does not apply (not a CPU device) the segmented entry point must
 * answer CLNN_ERROR_UNSUPPORTED; that is checked instead. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "test_util.h"

typedef struct scase {
  int ta, tb;
  size_t m, n, k, kseg, batch;
  float alpha, beta;
  size_t gap;    /* floats between consecutive segments of each operand, beyond the segment */
  size_t off;    /* offset of every operand in its buffer (floats) */
  int shared_b;  /* batch stride 0 for B */
} scase;

/* Element (i, kk) of op(X) for the segment s: X is rows x cols per segment, segments ks apart. */
static float at(const float *x, int t, size_t ld, size_t ks, size_t s, size_t i, size_t kk) {
  return t ? x[s * ks + kk * ld + i] : x[s * ks + i * ld + kk];
}

static void read_buffer(clnn_context *ctx, cl_mem m, float *dst, size_t n) {
  cl_command_queue q;
  clnn_context_get_cl(ctx, NULL, NULL, &q);
  clEnqueueReadBuffer(q, m, CL_TRUE, 0, n * sizeof(float), dst, 0, NULL, NULL);
}

static void run_case(clnn_context *ctx, const scase *g, const char *config) {
  const size_t nseg = (g->k + g->kseg - 1) / g->kseg;
  /* per segment, op(A) is m x kseg and op(B) kseg x n; stored row-major with 2 floats of padding */
  size_t arows = g->ta ? g->kseg : g->m, acols = g->ta ? g->m : g->kseg;
  size_t brows = g->tb ? g->n : g->kseg, bcols = g->tb ? g->kseg : g->n;
  size_t lda = acols + 2, ldb = bcols + 2, ldc = g->n + 1;
  size_t a_ks = arows * lda + g->gap, b_ks = brows * ldb + g->gap;
  size_t as = nseg * a_ks + 3, bs = g->shared_b ? 0 : nseg * b_ks + 5, cs = g->m * ldc + 1;
  size_t an = g->off + as * g->batch, bn = g->off + (g->shared_b ? nseg * b_ks : bs * g->batch);
  size_t cn = g->off + cs * g->batch;
  float *a = malloc(an * sizeof(float)), *b = malloc(bn * sizeof(float)), *c = malloc(cn * sizeof(float));
  float *want = malloc(cn * sizeof(float)), *got = malloc(cn * sizeof(float)), *again = malloc(cn * sizeof(float));
  tu_fill_uniform(a, an, -1, 1);
  tu_fill_uniform(b, bn, -1, 1);
  tu_fill_uniform(c, cn, -1, 1);
  if (g->beta == 0.0f)
    for (size_t i = 0; i < cn; i++) c[i] = NAN; /* must be overwritten, never read */
  memcpy(want, c, cn * sizeof(float));
  for (size_t q = 0; q < g->batch; q++)
    for (size_t i = 0; i < g->m; i++)
      for (size_t j = 0; j < g->n; j++) {
        double s = 0;
        for (size_t p = 0; p < g->k; p++) {
          size_t sg = p / g->kseg, kk = p % g->kseg;
          s += (double)at(a + g->off + q * as, g->ta, lda, a_ks, sg, i, kk) *
               (double)at(b + g->off + q * bs, !g->tb, ldb, b_ks, sg, j, kk);
        }
        float *cp = &want[g->off + q * cs + i * ldc + j];
        *cp = (float)(g->alpha * s + (g->beta == 0.0f ? 0.0 : (double)g->beta * *cp));
      }
  /* the gathered operands: op(A) as m x k and op(B) as k x n, in the same transposes */
  size_t glda = g->ta ? g->m : g->k, gldb = g->tb ? g->k : g->n;
  size_t gas = g->m * g->k, gbs = g->shared_b ? 0 : g->k * g->n;
  float *ga = malloc(gas * g->batch * sizeof(float)), *gb = malloc(g->k * g->n * g->batch * sizeof(float));
  for (size_t q = 0; q < g->batch; q++)
    for (size_t p = 0; p < g->k; p++) {
      size_t sg = p / g->kseg, kk = p % g->kseg;
      for (size_t i = 0; i < g->m; i++)
        ga[q * gas + (g->ta ? p * glda + i : i * glda + p)] = at(a + g->off + q * as, g->ta, lda, a_ks, sg, i, kk);
      for (size_t j = 0; j < g->n; j++)
        gb[q * gbs + (g->tb ? j * gldb + p : p * gldb + j)] = at(b + g->off + q * bs, !g->tb, ldb, b_ks, sg, j, kk);
    }
  char what[256];
  snprintf(what, sizeof what, "[%s] kseg gemm %c%c %zux%zux%zu seg %zu gap %zu batch %zu%s alpha %g beta %g off %zu",
           config, g->ta ? 'T' : 'N', g->tb ? 'T' : 'N', g->m, g->n, g->k, g->kseg, g->gap, g->batch,
           g->shared_b ? " (B shared)" : "", g->alpha, g->beta, g->off);
  cl_mem A = tu_cl_buffer(ctx, a, an), B = tu_cl_buffer(ctx, b, bn), C = tu_cl_buffer(ctx, c, cn), C2 = tu_cl_buffer(ctx, c, cn);
  cl_mem GA = tu_cl_buffer(ctx, ga, gas * g->batch), GB = tu_cl_buffer(ctx, gb, g->k * g->n * (g->shared_b ? 1 : g->batch));
  cl_mem GC = tu_cl_buffer(ctx, c, cn);
  clnn_status s = clnn__gemm_kseg(ctx, g->ta, g->tb, g->m, g->n, g->k, g->kseg, g->alpha, A, g->off, lda, as, a_ks, B,
                                  g->off, ldb, bs, b_ks, g->beta, C, g->off, ldc, cs, g->batch);
  TU_CHECK(s == CLNN_SUCCESS, "%s: %s (%s)", what, clnn_status_string(s), clnn_last_error());
  const char *kernel = clnn__own_gemm_last_kernel();
  s = clnn__gemm_kseg(ctx, g->ta, g->tb, g->m, g->n, g->k, g->kseg, g->alpha, A, g->off, lda, as, a_ks, B, g->off,
                      ldb, bs, b_ks, g->beta, C2, g->off, ldc, cs, g->batch);
  TU_CHECK(s == CLNN_SUCCESS, "%s (rerun): %s", what, clnn_last_error());
  s = clnn__gemm_batched(ctx, g->ta, g->tb, g->m, g->n, g->k, g->alpha, GA, 0, glda, gas, GB, 0, gldb, gbs, g->beta,
                         GC, g->off, ldc, cs, g->batch);
  TU_CHECK(s == CLNN_SUCCESS, "%s (gathered): %s", what, clnn_last_error());
  read_buffer(ctx, C, got, cn);
  read_buffer(ctx, C2, again, cn);
  TU_CHECK(memcmp(got, again, cn * sizeof(float)) == 0, "%s: rerun differs bitwise", what);
  read_buffer(ctx, GC, again, cn);
  TU_CHECK(memcmp(got, again, cn * sizeof(float)) == 0, "%s (%s): differs bitwise from the gathered GEMM (%s)",
           what, kernel, clnn__own_gemm_last_kernel());
  /* elements outside the matrices (padding, gaps between batches) must be untouched */
  int outside_ok = 1;
  for (size_t i = 0; i < cn; i++) {
    int same = (isnan(got[i]) && isnan(want[i])) || got[i] == want[i];
    size_t rel = i < g->off ? (size_t)-1 : i - g->off;
    int inside = rel != (size_t)-1 && rel / cs < g->batch && (rel % cs) / ldc < g->m && (rel % cs) % ldc < g->n &&
                 (rel % cs) < g->m * ldc;
    if (!inside && !same) outside_ok = 0;
    if (!inside) got[i] = want[i] = 0;
  }
  TU_CHECK(outside_ok, "%s: wrote outside C", what);
  tu_allclose(got, want, cn, 1e-4f, 2e-5f * (float)(g->k + 1), what);
  clReleaseMemObject(A); clReleaseMemObject(B); clReleaseMemObject(C); clReleaseMemObject(C2);
  clReleaseMemObject(GA); clReleaseMemObject(GB); clReleaseMemObject(GC);
  free(a); free(b); free(c); free(want); free(got); free(again); free(ga); free(gb);
}

static const scase cases[] = {
    /* ta tb  m    n    k  kseg batch alpha  beta  gap off shared */
    {0, 1, 37, 29, 60, 20, 1, 1.0f, 0.0f, 0, 0, 0},   /* conv2d's filter gradient: dy * x^T */
    {0, 1, 37, 29, 61, 20, 1, 1.0f, 0.5f, 3, 1, 0},   /* last segment short, gaps */
    {0, 0, 37, 29, 61, 20, 1, 1.0f, 1.0f, 0, 0, 0},
    {1, 0, 37, 29, 50, 7, 1, 1.5f, 0.0f, 1, 2, 0},    /* segments shorter than the packing block */
    {1, 1, 37, 29, 50, 7, 1, 1.0f, 0.5f, 0, 0, 0},
    {0, 1, 40, 70, 48, 16, 2, 1.0f, 0.0f, 5, 0, 0},   /* segments of exactly one packing block */
    {0, 1, 70, 40, 48, 33, 2, -0.5f, 1.0f, 0, 3, 0},  /* tall: C^T orientation */
    {0, 0, 8, 300, 45, 9, 1, 1.0f, 0.0f, 2, 0, 0},    /* few rows: in place where the tiles allow */
    {1, 0, 300, 8, 45, 9, 1, 1.0f, 0.0f, 0, 0, 0},    /* few columns */
    {0, 1, 13, 11, 9, 1, 3, 1.0f, 0.0f, 0, 0, 1},     /* one-element segments, B shared */
    {0, 0, 50, 35, 70, 35, 3, 1.0f, 0.5f, 4, 1, 1},
    {0, 1, 64, 64, 200, 64, 1, 1.0f, 0.0f, 0, 0, 0},
};

typedef struct config {
  const char *name;
  const char *text; /* tuned-parameter file contents */
} config;

static const config configs[] = {
    {"built-in tiles", "gemm.own = 1\n"},
    {"built-in tiles, pack everything", "gemm.own = 1\ngemm.pack_min = 0\n"},
    {"built-in tiles, in place where possible", "gemm.own = 1\ngemm.pack_min = 1000000000\n"},
    {"odd tiles 5x1 / narrow 7, rt 3, ku 3", "gemm.own = 1\ngemm.mr = 5\ngemm.nv = 1\ngemm.mr_n = 7\n"
                                            "gemm.rt = 3\ngemm.ku = 3\ngemm.pack_min = 40\n"},
    {"8-float vectors 4x3, panels-first order", "gemm.own = 1\ngemm.vw = 8\ngemm.mr = 4\ngemm.nv = 3\n"
                                               "gemm.mr_n = 9\ngemm.pack_min = 20\ngemm.order = 1\n"},
};

int main(void) {
  clnn_context *probe = tu_context();
  int is_cpu = probe->device_class == CLNN_DEVICE_CLASS_CPU;
  if (!is_cpu) {
    /* CLBlast takes no segments: the entry point says so and writes nothing */
    clnn_status s = clnn__gemm_kseg(probe, 0, 1, 4, 4, 8, 4, 1.0f, NULL, 0, 4, 0, 16, NULL, 0, 4, 0, 16, 0.0f, NULL, 0,
                                    4, 0, 1);
    TU_CHECK(s == CLNN_ERROR_UNSUPPORTED, "segmented GEMM on a non-CPU context: %s", clnn_status_string(s));
    printf("note: the segmented GEMM applies to CPU-class contexts only\n");
    clnn_context_destroy(probe);
    return tu_finish("test_gemm_kseg");
  }
  clnn_context_destroy(probe);
  char file[] = "/tmp/clnn-test-gemm-kseg-XXXXXX";
  int fd = mkstemp(file);
  if (fd < 0) {
    perror("mkstemp");
    return 1;
  }
  close(fd);
  tu_seed(11);
  for (size_t ci = 0; ci < sizeof configs / sizeof configs[0]; ci++) {
    clnn_context *ctx = tu_context_tuned(configs[ci].text, file, configs[ci].name);
    if (!ctx) continue;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(ctx, &cases[i], configs[ci].name);
    clnn_context_destroy(ctx);
  }
  /* A context that forces CLBlast refuses segments (its GEMM is not clnn's). */
  {
    clnn_context_options o;
    clnn_context_options_init(&o);
    o.force_clblast = 1;
    clnn_context *ctx = NULL;
    if (TU_CHECK(clnn_context_create(&o, &ctx) == CLNN_SUCCESS, "CLBlast-forced context: %s", clnn_last_error())) {
      TU_CHECK(!clnn__gemm_kseg_available(ctx), "segments offered on a CLBlast-forced context");
      clnn_status s = clnn__gemm_kseg(ctx, 0, 1, 4, 4, 8, 4, 1.0f, NULL, 0, 4, 0, 16, NULL, 0, 4, 0, 16, 0.0f, NULL,
                                      0, 4, 0, 1);
      TU_CHECK(s == CLNN_ERROR_UNSUPPORTED, "segmented GEMM with CLBlast forced: %s", clnn_status_string(s));
      clnn_context_destroy(ctx);
    }
  }
  remove(file);
  return tu_finish("test_gemm_kseg");
}
