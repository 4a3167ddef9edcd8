/* cl/embedding.cl — embedding lookup (gather of table rows by int32 id) and its backward (a
 * scatter-add done as a segmented gather, so no atomics are needed and the result is bitwise
 * deterministic).
 *
 * The ids were checked to lie in [0, V) by the host before upload. Backward gets, from the host,
 * the positions sorted by (id, position) (`order`), the start of each distinct id's run of
 * positions (`seg_start`, U + 1 entries) and the id of each run (`seg_id`): work-item (d, u) sums
 * dy[order[p], d] over its run in increasing position order and adds the sum to dtable[seg_id[u],
 * d]; distinct runs touch distinct rows. */

/* y[i, d] = table[ids[i], d]. 2-D launch over (D, n). */
__kernel void emb_forward(__global const float *table, __global const int *ids,
                          __global float *y, ulong n, ulong D) {
  size_t d = get_global_id(0), i = get_global_id(1);
  if (d >= D || i >= n) return;
  y[i * D + d] = table[(size_t)ids[i] * D + d];
}

/* x = beta * x over n elements (beta == 0: x = 0 without reading it). 1-D launch over chunks of
 * `chunk` elements. */
__kernel void emb_scale(__global float *x, ulong n, ulong chunk, float beta) {
  size_t start = get_global_id(0) * chunk;
  if (start >= n) return;
  size_t end = min((size_t)(start + chunk), (size_t)n);
  if (beta == 0.0f)
    for (size_t i = start; i < end; i++) x[i] = 0.0f;
  else
    for (size_t i = start; i < end; i++) x[i] *= beta;
}

/* dtable[seg_id[u], d] += sum over p in [seg_start[u], seg_start[u+1]) of dy[order[p], d], with
 * order = meta[0 .. n), seg_start = meta[n .. n + U], seg_id = meta[n + U + 1 .. n + 2U + 1).
 * 2-D launch over (D, U); the work-items of a group share one distinct id. */
__kernel void emb_backward(__global const float *dy, __global const int *meta, ulong n,
                           __global float *dtable, ulong U, ulong D) {
  size_t d = get_global_id(0), u = get_global_id(1);
  if (d >= D || u >= U) return;
  __global const int *order = meta, *seg_start = meta + n, *seg_id = meta + n + U + 1;
  int p0 = seg_start[u], p1 = seg_start[u + 1];
  float sum = 0.0f;
  for (int p = p0; p < p1; p++) sum += dy[(size_t)order[p] * D + d];
  dtable[(size_t)seg_id[u] * D + d] += sum;
}
