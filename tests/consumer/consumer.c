/* tests/consumer/consumer.c — the usage example at the top of clnn.h, built against an installed
 * clnn (CMake package and pkg-config); prints the GEMM result. */
#include <clnn.h>
#include <stdio.h>
int main(void) {
  clnn_context *ctx = NULL;
  if (clnn_context_create(NULL, &ctx) != CLNN_SUCCESS) {
    fprintf(stderr, "clnn: %s\n", clnn_last_error());
    return 1;
  }
  size_t dims[2] = {2, 2};
  float a[4] = {1, 2, 3, 4}, c[4];
  clnn_tensor *ta = NULL, *tc = NULL;
  clnn_tensor_create(ctx, 2, dims, &ta);
  clnn_tensor_create(ctx, 2, dims, &tc);
  clnn_tensor_write(ta, a, 4);
  clnn_gemm(ctx, 0, 0, 1.0f, ta, ta, 0.0f, tc);
  clnn_tensor_read(tc, c, 4);
  printf("%g %g %g %g\n", c[0], c[1], c[2], c[3]);
  clnn_tensor_destroy(ta);
  clnn_tensor_destroy(tc);
  clnn_context_destroy(ctx);
  return (c[0] == 7 && c[1] == 10 && c[2] == 15 && c[3] == 22) ? 0 : 1;
}
