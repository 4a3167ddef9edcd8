/* tests/test_gemm_tuned_contexts.c — tuned GEMM parameters belong to the context: 40 contexts live
 * at once (more than the 32 a process-wide table once held; a device set allows 64), created
 * alternately under two tuned files with different tiles (and conv.igemm 1, and a malformed 3
 * that leaves the default 0). Each context must keep the parameters of
 * the file it was created with — checked after the files are deleted and CLNN_TUNE is switched to
 * `off`, so a context that looked its parameters up again would get none and change path — and
 * every context's GEMM must match a plain-C reference, twice round. The tuned file is read once per
 * context creation and never by a GEMM (the library's read counter, a test-only internal). On a
 * context that does not run clnn's GEMM (not a CPU device, or CLNN_DEVICE_CLASS=gpu) the expected
 * path is CLBlast, with the same parameters held. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gemm_ref.h"
#include "internal.h"
#include "test_util.h"

#define NUM_CONTEXTS 40

typedef struct tuned_file {
  const char *text;
  int mr, nv, mr_n, conv_igemm; /* what the context must hold afterwards */
  char path[64];
} tuned_file;

static tuned_file files[2] = {
    {"gemm.own = 1\ngemm.mr = 4\ngemm.nv = 1\ngemm.mr_n = 5\ngemm.pack_min = 0\nconv.igemm = 1\n", 4, 1, 5, 1, ""},
    {"gemm.own = 1\ngemm.mr = 3\ngemm.nv = 2\ngemm.mr_n = 7\ngemm.rt = 2\nconv.igemm = 3\n", 3, 2, 7, 0, ""},
};

/* C = 0.5 * A^T B + 2 C on ctx, against ref_gemm; the path taken must be `want_path`. */
static void check_gemm(clnn_context *ctx, int i, const char *want_path) {
  enum { M = 37, N = 29, K = 23 };
  float *a = tu_fvec((size_t)K * M, -1, 1), *b = tu_fvec((size_t)K * N, -1, 1), *c = tu_fvec((size_t)M * N, -1, 1);
  float *want = tu_fcopy(c, (size_t)M * N);
  size_t da[2] = {K, M}, db[2] = {K, N}, dc[2] = {M, N};
  clnn_tensor *A = tu_tensor(ctx, 2, da, a), *B = tu_tensor(ctx, 2, db, b), *C = tu_tensor(ctx, 2, dc, c);
  ref_gemm(1, 0, M, N, K, 0.5f, a, b, 2.0f, want);
  clnn_status s = clnn_gemm(ctx, 1, 0, 0.5f, A, B, 2.0f, C);
  char what[96];
  snprintf(what, sizeof what, "context %d: gemm TN %dx%dx%d", i, M, N, K);
  if (TU_CHECK(s == CLNN_SUCCESS, "%s: %s", what, clnn_last_error())) {
    TU_CHECK(!strcmp(clnn__gemm_last_path(), want_path), "%s: path %s, expected %s", what, clnn__gemm_last_path(),
             want_path);
    float *got = tu_read(C);
    tu_allclose(got, want, (size_t)M * N, 1e-4f, 1e-4f, what);
    free(got);
  }
  clnn_tensor_destroy(A);
  clnn_tensor_destroy(B);
  clnn_tensor_destroy(C);
  free(a);
  free(b);
  free(c);
  free(want);
}

int main(void) {
  tu_seed(11);
  for (int f = 0; f < 2; f++) {
    snprintf(files[f].path, sizeof files[f].path, "/tmp/clnn-test-tuned-ctx-XXXXXX");
    int fd = mkstemp(files[f].path);
    if (fd < 0 || write(fd, files[f].text, strlen(files[f].text)) != (ssize_t)strlen(files[f].text)) {
      perror("tuned file");
      return 1;
    }
    close(fd);
  }
  clnn_context *ctx[NUM_CONTEXTS] = {0};
  uint64_t reads0 = clnn__tune_file_reads();
  for (int i = 0; i < NUM_CONTEXTS; i++) {
    setenv("CLNN_TUNE", files[i % 2].path, 1);
    TU_OK(clnn_context_create(NULL, &ctx[i]));
  }
  uint64_t reads1 = clnn__tune_file_reads();
  TU_CHECK(reads1 - reads0 == NUM_CONTEXTS, "%d context creations read a tuned file %llu times (expected once each)",
           NUM_CONTEXTS, (unsigned long long)(reads1 - reads0));
  /* From here on nothing may look at the files or CLNN_TUNE again. */
  setenv("CLNN_TUNE", "off", 1);
  for (int f = 0; f < 2; f++) remove(files[f].path);

  for (int round = 0; round < 2; round++)
    for (int i = 0; i < NUM_CONTEXTS; i++) {
      if (!ctx[i]) continue;
      const tuned_file *tf = &files[i % 2];
      const clnn__tune_params *p = &ctx[i]->tune;
      char want_source[96];
      snprintf(want_source, sizeof want_source, "file: %s", tf->path);
      TU_CHECK(!strcmp(p->source, want_source) && p->own_gemm == 1 && p->mr == tf->mr && p->nv == tf->nv &&
                   p->mr_n == tf->mr_n && p->conv_igemm == tf->conv_igemm,
               "context %d (round %d) holds \"%s\" own %d mr %d nv %d mr_n %d conv.igemm %d; expected \"%s\" own 1 "
               "mr %d nv %d mr_n %d conv.igemm %d",
               i, round, p->source, p->own_gemm, p->mr, p->nv, p->mr_n, p->conv_igemm, want_source, tf->mr, tf->nv,
               tf->mr_n, tf->conv_igemm);
      char desc[400];
      clnn__gemm_describe(ctx[i], desc, sizeof desc);
      int own_runs = ctx[i]->device_class == CLNN_DEVICE_CLASS_CPU;
      char want_tiles[64];
      snprintf(want_tiles, sizeof want_tiles, "%dx%d vectors, narrow %dx1", tf->mr, tf->nv, tf->mr_n);
      TU_CHECK(strstr(desc, want_tiles) && strstr(desc, own_runs ? "gemm clnn-cpu" : "gemm clblast"),
               "context %d describes itself as \"%s\"", i, desc);
      check_gemm(ctx[i], i, own_runs ? "clnn-cpu" : "clblast");
    }
  uint64_t reads2 = clnn__tune_file_reads();
  TU_CHECK(reads2 == reads1, "GEMMs on %d contexts read tuned files %llu times (expected never)", NUM_CONTEXTS,
           (unsigned long long)(reads2 - reads1));
  printf("%d live contexts: %llu tuned-file reads at creation, %llu during %d GEMMs\n", NUM_CONTEXTS,
         (unsigned long long)(reads1 - reads0), (unsigned long long)(reads2 - reads1), 2 * NUM_CONTEXTS);
  for (int i = 0; i < NUM_CONTEXTS; i++) clnn_context_destroy(ctx[i]);
  unsetenv("CLNN_TUNE");
  return tu_finish("test_gemm_tuned_contexts");
}
