/* cl/dense.cl — the small kernels around the dense layer's GEMMs: the bias broadcast-add after the
 * forward GEMM and the bias gradient (column sums of dy). The column sums are deterministic: each
 * work-group owns LX columns, its LY lanes each sum a fixed, strided set of rows in order and a
 * tree in local memory combines the lanes; no atomics. LX and LY come from the launch (the host
 * picks them per device class), so nothing here is a -D parameter. */

/* y[r, o] += b[o] for r < rows, o < cols. Global size (cols, rows), any local size. */
__kernel void dense_bias_add(__global float *y, __global const float *b, ulong rows, ulong cols) {
  size_t o = get_global_id(0), r = get_global_id(1);
  if (o >= cols || r >= rows) return;
  y[r * cols + o] += b[o];
}

/* db[o] = beta * db[o] + sum over r of dy[r, o] (beta == 0: db is not read, NaN garbage is
 * overwritten). Global (cols rounded up to LX, LY); local (LX, LY) with LY a power of two;
 * scratch holds LX*LY floats. */
__kernel void dense_bias_grad(__global const float *dy, __global float *db, ulong rows, ulong cols,
                              float beta, __local float *scratch) {
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
}
