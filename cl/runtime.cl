/* cl/runtime.cl — kernels the runtime itself uses: the device self-test run by clnn-info and
 * clnn_context_selftest. No -D parameters. */

/* y[i] = 2 * x[i] + 1 for i < n. */
__kernel void clnn_selftest(__global const float *x, __global float *y, const int n) {
  int i = get_global_id(0);
  if (i < n) y[i] = 2.0f * x[i] + 1.0f;
}
