/* cl/dense.cl — the small kernels around the dense layer's GEMMs: the bias broadcast-add after the
 * forward GEMM and the bias gradient (column sums of dy). The column sums are deterministic: each
 * work-group owns LX columns, its LY lanes each sum a fixed, strided set of rows in order and a
 * tree in local memory combines the lanes; no atomics (CPU devices, one lane, skip the tree). LX
 * and LY come from the launch (the host picks them per device class), so nothing here is a -D
 * parameter. */

/* y[r, o] += b[o] for r < rows, o < cols. Global size (cols, rows), any local size. */
__kernel void dense_bias_add(__global float *y, __global const float *b, ulong rows, ulong cols) {
  size_t o = get_global_id(0), r = get_global_id(1);
  if (o >= cols || r >= rows) return;
  y[r * cols + o] += b[o];
}

/* dense_bias_grad on CPU devices (one row lane: LY == 1): columns [o0, min(o0 + n, cols)) of
 * one work-group, each summed over the rows in order (the lane's sum of the general kernel; the
 * tree adds nothing to it), 16 columns side by side in one vector where the group has them. Out
 * of line (CLNN_OUTLINE), called by the group's first work-item: no barriers to compile. */
CLNN_OUTLINE void dense_bias_grad_cols(__global const float *dy, __global float *db, ulong rows,
                                       ulong cols, float beta, ulong o0, ulong n) {
  if (n == 16 && o0 + 16 <= cols) {
    float16 acc = (float16)(0.0f);
    for (ulong r = 0; r < rows; r++) acc += vload16(0, dy + r * cols + o0);
    vstore16(beta == 0.0f ? acc : (float16)(beta) * vload16(0, db + o0) + acc, 0, db + o0);
    return;
  }
  for (ulong o = o0; o < min(o0 + n, cols); o++) {
    float acc = 0.0f;
    for (ulong r = 0; r < rows; r++) acc += dy[r * cols + o];
    db[o] = beta == 0.0f ? acc : beta * db[o] + acc;
  }
}

/* db[o] = beta * db[o] + sum over r of dy[r, o] (beta == 0: db is not read, NaN garbage is
 * overwritten). Global (cols rounded up to LX, LY); local (LX, LY) with LY a power of two;
 * scratch holds LX*LY floats. */
__kernel void dense_bias_grad(__global const float *dy, __global float *db, ulong rows, ulong cols,
                              float beta, __local float *scratch) {
#if CLNN_DEVICE_CLASS == CLNN_DEVICE_CLASS_CPU
  (void)scratch;
  if (get_local_id(0) == 0 && get_local_id(1) == 0)
    dense_bias_grad_cols(dy, db, rows, cols, beta, get_global_id(0), get_local_size(0));
#else
  size_t o = get_global_id(0);
  size_t lx = get_local_id(0), ly = get_local_id(1);
  size_t LX = get_local_size(0), LY = get_local_size(1);
  float acc = 0.0f;
  if (o < cols)
    for (size_t r = ly; r < rows; r += LY) acc += dy[r * cols + o];
  scratch[ly * LX + lx] = acc;
  for (size_t stride = LY / 2; stride > 0; stride /= 2) {
    barrier(CLK_LOCAL_MEM_FENCE);
    if (ly < stride) scratch[ly * LX + lx] += scratch[(ly + stride) * LX + lx];
  }
  if (ly == 0 && o < cols) {
    float sum = scratch[lx];
    db[o] = beta == 0.0f ? sum : beta * db[o] + sum;
  }
#endif
}
