/* tests/test_embedding.c — embedding lookup and its backward against the plain-C reference:
 * several table sizes with many repeated ids, beta 0 (over NaN garbage), 1 and 0.5, bitwise
 * run-to-run determinism of the backward, ids copied before the call returns, finite
 * differences, and every error path (right status, message naming the argument, nothing
 * written). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "embedding_ref.h"
#include "test_util.h"

static void check_case(clnn_context *ctx, size_t V, size_t D, size_t n, int ndim_y) {
  char what[160];
  int32_t *ids = malloc(n * sizeof(int32_t));
  /* skewed ids: many repeats of a few, and the ends of the table */
  for (size_t i = 0; i < n; i++) {
    float u = tu_uniform(0, 1);
    ids[i] = u < 0.4f ? (int32_t)(i % 3 % V) : (int32_t)(tu_uniform(0, 1) * (float)V) % (int32_t)V;
  }
  ids[0] = (int32_t)V - 1;
  float *table = tu_fvec(V * D, -1, 1), *y = malloc(n * D * sizeof(float));
  size_t td[2] = {V, D}, yd2[2] = {n, D}, yd3[3] = {1, n, D};
  clnn_tensor *tt = tu_tensor(ctx, 2, td, table);
  clnn_tensor *ty = ndim_y == 3 ? tu_guarded(ctx, 3, yd3) : tu_guarded(ctx, 2, yd2);
  clnn_tensor_fill(ty, NAN);
  TU_OK(clnn_embedding_forward(ctx, tt, ids, n, ty));
  /* the ids were copied: changing them now must not change the result */
  int32_t *saved = malloc(n * sizeof(int32_t));
  memcpy(saved, ids, n * sizeof(int32_t));
  for (size_t i = 0; i < n; i++) ids[i] = 0;
  ref_embedding_forward(table, D, saved, n, y);
  float *got = tu_read(ty);
  snprintf(what, sizeof what, "embedding forward V=%zu D=%zu n=%zu", V, D, n);
  TU_CHECK(!memcmp(got, y, n * D * sizeof(float)), "%s: rows copied exactly", what);
  tu_check_guard(ty, what);
  free(got);
  memcpy(ids, saved, n * sizeof(int32_t));

  float *dy = tu_fvec(n * D, -1, 1), *dt0 = tu_fvec(V * D, -1, 1), *want = malloc(V * D * sizeof(float));
  clnn_tensor *tdy = ndim_y == 3 ? tu_tensor(ctx, 3, yd3, dy) : tu_tensor(ctx, 2, yd2, dy);
  clnn_tensor *tdt = tu_guarded(ctx, 2, td);
  const float betas[3] = {0.0f, 1.0f, 0.5f};
  for (int bi = 0; bi < 3; bi++) {
    float beta = betas[bi];
    if (beta == 0.0f)
      clnn_tensor_fill(tdt, NAN);
    else
      clnn_tensor_write(tdt, dt0, V * D);
    memcpy(want, dt0, V * D * sizeof(float));
    TU_OK(clnn_embedding_backward(ctx, ids, n, tdy, beta, tdt));
    ref_embedding_backward(ids, n, dy, V, D, beta, want);
    got = tu_read(tdt);
    snprintf(what, sizeof what, "embedding backward V=%zu D=%zu n=%zu beta=%g", V, D, n, beta);
    tu_allclose(got, want, V * D, 1e-5f, 1e-5f, what);
    tu_check_guard(tdt, what);
    free(got);
  }
  /* bitwise determinism */
  TU_OK(clnn_embedding_backward(ctx, ids, n, tdy, 0.0f, tdt));
  float *a = tu_read(tdt);
  clnn_tensor_fill(tdt, 3.0f);
  TU_OK(clnn_embedding_backward(ctx, ids, n, tdy, 0.0f, tdt));
  float *b = tu_read(tdt);
  TU_CHECK(!memcmp(a, b, V * D * sizeof(float)), "embedding backward V=%zu n=%zu: bitwise repeatable", V, n);
  free(a);
  free(b);

  free(ids); free(saved); free(table); free(y); free(dy); free(dt0); free(want);
  clnn_tensor_destroy(tt); clnn_tensor_destroy(ty); clnn_tensor_destroy(tdy); clnn_tensor_destroy(tdt);
}

/* loss = sum r .* table[ids]: its gradient w.r.t. the table is the backward of r */
typedef struct fd_case {
  float *table, *r;
  const int32_t *ids;
  size_t n, D;
} fd_case;
static double fd_loss(void *user) {
  fd_case *f = user;
  double s = 0.0;
  for (size_t i = 0; i < f->n; i++)
    for (size_t d = 0; d < f->D; d++) s += (double)f->table[(size_t)f->ids[i] * f->D + d] * f->r[i * f->D + d];
  return s;
}

static void check_finite_differences(clnn_context *ctx) {
  const size_t V = 6, D = 3, n = 9;
  const int32_t ids[9] = {1, 4, 1, 0, 5, 1, 4, 2, 1};
  fd_case f = {tu_fvec(V * D, -1, 1), tu_fvec(n * D, -1, 1), ids, n, D};
  size_t td[2] = {V, D}, yd[2] = {n, D};
  clnn_tensor *tdy = tu_tensor(ctx, 2, yd, f.r), *tdt = tu_tensor(ctx, 2, td, NULL);
  TU_OK(clnn_embedding_backward(ctx, ids, n, tdy, 0.0f, tdt));
  float *got = tu_read(tdt), *fd = malloc(V * D * sizeof(float));
  for (size_t e = 0; e < V * D; e++) fd[e] = (float)tu_fd(f.table, e, 1e-2f, fd_loss, &f);
  tu_allclose(got, fd, V * D, 1e-3f, 1e-3f, "embedding dtable vs finite differences");
  free(got); free(fd); free(f.table); free(f.r);
  clnn_tensor_destroy(tdy); clnn_tensor_destroy(tdt);
}

#define SENTINEL 42.0f
#define MSG(a) TU_MSG(a)

static void check_errors(clnn_context *ctx) {
  clnn_context *other = NULL;
  TU_OK(clnn_context_create(NULL, &other));
  size_t td[2] = {5, 4}, yd[2] = {3, 4}, ybad[2] = {3, 5}, y3[3] = {1, 3, 4}, t1[1] = {20}, yn[2] = {2, 4};
  float tab[20];
  for (int i = 0; i < 20; i++) tab[i] = (float)i;
  clnn_tensor *tt = tu_tensor(ctx, 2, td, tab), *t1d = tu_tensor(ctx, 1, t1, tab), *to = tu_tensor(other, 2, td, tab);
  clnn_tensor *ty = tu_tensor(ctx, 2, yd, NULL), *tyb = tu_tensor(ctx, 2, ybad, NULL), *tyn = tu_tensor(ctx, 2, yn, NULL);
  clnn_tensor *ty3 = tu_tensor(ctx, 3, y3, NULL), *tdt = tu_tensor(ctx, 2, td, NULL);
  clnn_tensor *outs[] = {ty, tyb, tyn, ty3, tdt};
  for (int i = 0; i < 5; i++) clnn_tensor_fill(outs[i], SENTINEL);
  int32_t ids[3] = {0, 4, 2}, big[3] = {0, 5, 2}, neg[3] = {0, 1, -1}, ids5[5] = {0, 1, 2, 3, 4};
  TU_STATUS(clnn_embedding_forward(NULL, tt, ids, 3, ty), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_embedding_forward(ctx, NULL, ids, 3, ty), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("table");
  TU_STATUS(clnn_embedding_forward(ctx, tt, ids, 3, NULL), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_embedding_forward(ctx, tt, NULL, 3, ty), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("ids");
  TU_STATUS(clnn_embedding_forward(ctx, tt, ids, 0, ty), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("num_ids");
  TU_STATUS(clnn_embedding_forward(ctx, tt, big, 3, ty), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("ids[1] is 5");
  TU_STATUS(clnn_embedding_forward(ctx, tt, neg, 3, ty), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("ids[2] is -1");
  TU_STATUS(clnn_embedding_forward(ctx, t1d, ids, 3, ty), CLNN_ERROR_SHAPE_MISMATCH);
  MSG("[V, D]");
  TU_STATUS(clnn_embedding_forward(ctx, tt, ids, 3, tyb), CLNN_ERROR_SHAPE_MISMATCH);
  MSG("[3, 5]");
  TU_STATUS(clnn_embedding_forward(ctx, tt, ids, 3, tyn), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(clnn_embedding_forward(ctx, tt, ids, 2, ty3), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(clnn_embedding_forward(ctx, to, ids, 3, ty), CLNN_ERROR_CONTEXT_MISMATCH);
  TU_STATUS(clnn_embedding_forward(ctx, tt, ids, 3, tt), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(clnn_embedding_backward(NULL, ids, 3, ty, 0.0f, tdt), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_embedding_backward(ctx, ids, 3, NULL, 0.0f, tdt), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_embedding_backward(ctx, ids, 3, ty, 0.0f, NULL), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_embedding_backward(ctx, big, 3, ty, 0.0f, tdt), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("ids[1]");
  TU_STATUS(clnn_embedding_backward(ctx, ids, 3, ty, NAN, tdt), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("beta");
  TU_STATUS(clnn_embedding_backward(ctx, ids, 3, tyb, 0.0f, tdt), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(clnn_embedding_backward(ctx, ids, 3, ty, 0.0f, to), CLNN_ERROR_CONTEXT_MISMATCH);
  TU_STATUS(clnn_embedding_backward(ctx, ids5, 5, tdt, 0.0f, tdt), CLNN_ERROR_INVALID_ARGUMENT);
  MSG("share");
  clnn_context_finish(ctx);
  for (int i = 0; i < 5; i++) tu_check_all(outs[i], SENTINEL, "output after failed calls");
  float *t = tu_read(tt);
  TU_CHECK(!memcmp(t, tab, sizeof tab), "table unchanged after failed calls");
  free(t);
  clnn_tensor *all[] = {tt, t1d, ty, tyb, tyn, ty3, tdt};
  for (int i = 0; i < 7; i++) clnn_tensor_destroy(all[i]);
  clnn_tensor_destroy(to);
  clnn_context_destroy(other);
}

int main(void) {
  clnn_context *ctx = tu_context();
  tu_seed(777);
  check_case(ctx, 10, 7, 30, 2);
  check_case(ctx, 1000, 64, 513, 3);
  check_case(ctx, 3, 1, 50, 2);
  check_case(ctx, 7, 5, 1, 2);
  check_case(ctx, 50257 / 10, 33, 2048, 3);
  check_finite_differences(ctx);
  check_errors(ctx);
  clnn_context_destroy(ctx);
  return tu_finish("test_embedding");
}
