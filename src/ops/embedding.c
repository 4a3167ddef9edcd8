/* src/ops/embedding.c — embedding lookup of host int32 ids in a table [V, D] and its backward
 * (cl/embedding.cl). The ids are checked on the host before anything is enqueued and copied to
 * the device through the staging buffer (workspace slot 2), so the caller may reuse them at
 * once. Backward sorts the positions by id on the host and sums each distinct id's rows in
 * increasing position order on the device: no atomics, bitwise deterministic. */
#include "internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The kernels this file launches. */
static clnn__kernel_ref k_emb_backward = CLNN_KERNEL_REF("embedding", "emb_backward");
static clnn__kernel_ref k_emb_forward = CLNN_KERNEL_REF("embedding", "emb_forward");
static clnn__kernel_ref k_emb_scale = CLNN_KERNEL_REF("embedding", "emb_scale");

/* Checks table/dy-or-y and the ids; on success *V and *D are the table's dims. `rows` is the
 * tensor holding one row of D per id (y or dy). */
static clnn_status check_args(const char *fn, clnn_context *ctx, const clnn_tensor *table,
                              const char *tname, const int32_t *ids, size_t num_ids,
                              const clnn_tensor *rows, const char *rname, size_t *V, size_t *D) {
  clnn_status s;
  char a[128], b[128];
  if (!ctx) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: ctx is NULL", fn);
  if ((s = clnn__check_tensor_in(fn, ctx, table, tname)) || (s = clnn__check_tensor_in(fn, ctx, rows, rname)))
    return s;
  if (table->ndim != 2)
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: %s has shape %s; it must be 2-D [V, D]", fn,
                       tname, clnn__dims_str(table, a, sizeof a));
  *V = table->dims[0];
  *D = table->dims[1];
  if (!ids) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: ids is NULL", fn);
  if (num_ids == 0)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: num_ids is 0; at least one id is needed",
                       fn);
  int ok = 1;
  size_t want = clnn__mul_size(num_ids, *D, &ok);
  if (!ok || rows->numel != want || rows->dims[rows->ndim - 1] != *D)
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH,
                       "%s: %s has shape %s; it must hold num_ids (%zu) rows of D = %zu (the last "
                       "dimension of %s %s), e.g. [%zu, %zu]",
                       fn, rname, clnn__dims_str(rows, a, sizeof a), num_ids, *D, tname,
                       clnn__dims_str(table, b, sizeof b), num_ids, *D);
  if (num_ids > (size_t)INT_MAX - 1 || *V > (size_t)INT_MAX)
    return clnn__error(CLNN_ERROR_UNSUPPORTED, "%s: at most %d ids and %d table rows are supported",
                       fn, INT_MAX - 1, INT_MAX);
  for (size_t i = 0; i < num_ids; i++)
    if (ids[i] < 0 || (size_t)ids[i] >= *V)
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                         "%s: ids[%zu] is %d; ids must be in [0, %zu) for %s of shape %s", fn, i,
                         (int)ids[i], *V, tname, clnn__dims_str(table, a, sizeof a));
  return clnn__check_distinct(fn, (const clnn_tensor *[]){table, rows}, (const char *[]){tname, rname}, 2);
}

clnn_status clnn_embedding_forward(clnn_context *ctx, const clnn_tensor *table, const int32_t *ids,
                                   size_t num_ids, clnn_tensor *y) {
  static const char fn[] = "clnn_embedding_forward";
  size_t V = 0, D = 0;
  clnn_status s = check_args(fn, ctx, table, "table", ids, num_ids, y, "y", &V, &D);
  if (s) return s;
  cl_kernel k;
  if ((s = clnn__kernel(ctx, &k_emb_forward, &k))) return s; /* build before upload */
  int32_t *staged;
  if ((s = clnn__staging(ctx, num_ids * sizeof(int32_t), (void **)&staged))) return s;
  memcpy(staged, ids, num_ids * sizeof(int32_t));
  cl_mem dids;
  if ((s = clnn__upload_staged(ctx, 2, num_ids * sizeof(int32_t), &dids))) return s;
  /* fixed local sizes here and below: PoCL compiles a kernel once per local size, and one it
   * picks itself follows the global size */
  size_t global[2] = {D, num_ids}, local[2] = {clnn__local_pow2(ctx, &k_emb_forward, 64, 64), 1};
  return CLNN_RUN(ctx, &k_emb_forward, 2, global, local, CLNN_ARG_MEM(table->mem),
                  CLNN_ARG_MEM(dids), CLNN_ARG_MEM(y->mem), CLNN_ARG_ULONG(num_ids),
                  CLNN_ARG_ULONG(D));
}

typedef struct id_pos {
  int32_t id, pos;
} id_pos;

static int cmp_id_pos(const void *pa, const void *pb) {
  const id_pos *a = pa, *b = pb;
  if (a->id != b->id) return a->id < b->id ? -1 : 1;
  return (a->pos > b->pos) - (a->pos < b->pos);
}

clnn_status clnn_embedding_backward(clnn_context *ctx, const int32_t *ids, size_t num_ids,
                                    const clnn_tensor *dy, float beta, clnn_tensor *dtable) {
  static const char fn[] = "clnn_embedding_backward";
  size_t V = 0, D = 0;
  clnn_status s = check_args(fn, ctx, dtable, "dtable", ids, num_ids, dy, "dy", &V, &D);
  if (s) return s;
  if ((s = clnn__check_beta(beta))) return clnn__prefix_error(fn, s);
  cl_kernel k;
  if ((s = clnn__kernel(ctx, &k_emb_backward, &k))) return s;

  /* positions sorted by (id, position): runs of one id, in increasing position */
  id_pos *pairs = malloc(num_ids * sizeof *pairs);
  if (!pairs)
    return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "%s: out of host memory for %zu ids", fn, num_ids);
  for (size_t i = 0; i < num_ids; i++) {
    pairs[i].id = ids[i];
    pairs[i].pos = (int32_t)i;
  }
  qsort(pairs, num_ids, sizeof *pairs, cmp_id_pos);
  size_t U = 1;
  for (size_t i = 1; i < num_ids; i++) U += pairs[i].id != pairs[i - 1].id;
  /* staged: order[n] | seg_start[U + 1] | seg_id[U] */
  size_t count = num_ids + 2 * U + 1;
  int32_t *staged;
  if ((s = clnn__staging(ctx, count * sizeof(int32_t), (void **)&staged))) {
    free(pairs);
    return s;
  }
  int32_t *order = staged, *seg_start = staged + num_ids, *seg_id = seg_start + U + 1;
  size_t u = 0;
  for (size_t i = 0; i < num_ids; i++) {
    order[i] = pairs[i].pos;
    if (i == 0 || pairs[i].id != pairs[i - 1].id) {
      seg_start[u] = (int32_t)i;
      seg_id[u] = pairs[i].id;
      u++;
    }
  }
  seg_start[U] = (int32_t)num_ids;
  free(pairs);
  cl_mem buf;
  if ((s = clnn__upload_staged(ctx, 2, count * sizeof(int32_t), &buf))) return s;

  if (beta != 1.0f) {
    size_t n = dtable->numel;
    clnn__launch l = clnn__launch_1d(ctx, &k_emb_scale, n, CLNN_LAUNCH_ELEMENTWISE(4));
    s = CLNN_RUN(ctx, &k_emb_scale, 1, &l.global, &l.local, CLNN_ARG_MEM(dtable->mem),
                 CLNN_ARG_ULONG(n), CLNN_ARG_ULONG(l.chunk), CLNN_ARG_FLOAT(beta));
    if (s) return s;
  }
  /* one buffer: the kernel finds order at 0, seg_start at num_ids, seg_id at num_ids + U + 1 */
  size_t global[2] = {D, U}, local[2] = {clnn__local_pow2(ctx, &k_emb_backward, 64, 64), 1};
  return CLNN_RUN(ctx, &k_emb_backward, 2, global, local, CLNN_ARG_MEM(dy->mem),
                  CLNN_ARG_MEM(buf), CLNN_ARG_ULONG(num_ids), CLNN_ARG_MEM(dtable->mem),
                  CLNN_ARG_ULONG(U), CLNN_ARG_ULONG(D));
}
