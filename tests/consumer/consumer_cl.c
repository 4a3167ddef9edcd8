/* tests/consumer/consumer_cl.c — OpenCL interop through clnn_cl.h, built against an installed
 * clnn: a tensor made over another tensor's cl_mem shares its data. Prints "interop ok". */
#include <clnn_cl.h>
#include <stdio.h>
int main(void) {
  clnn_context *ctx = NULL;
  if (clnn_context_create(NULL, &ctx) != CLNN_SUCCESS) {
    fprintf(stderr, "clnn: %s\n", clnn_last_error());
    return 1;
  }
  cl_context cl_ctx = NULL;
  cl_command_queue queue = NULL;
  size_t dims[1] = {4};
  float a[4] = {1, 2, 3, 4}, b[4] = {0, 0, 0, 0};
  clnn_tensor *ta = NULL, *tb = NULL;
  int ok = clnn_context_get_cl(ctx, &cl_ctx, NULL, &queue) == CLNN_SUCCESS && cl_ctx && queue &&
           clnn_tensor_create(ctx, 1, dims, &ta) == CLNN_SUCCESS &&
           clnn_tensor_write(ta, a, 4) == CLNN_SUCCESS &&
           clnn_tensor_wrap(ctx, clnn_tensor_cl_mem(ta), 1, dims, &tb) == CLNN_SUCCESS &&
           clnn_tensor_read(tb, b, 4) == CLNN_SUCCESS && b[0] == 1 && b[3] == 4;
  printf(ok ? "interop ok\n" : "interop FAILED: %s\n", clnn_last_error());
  clnn_tensor_destroy(tb);
  clnn_tensor_destroy(ta);
  clnn_context_destroy(ctx);
  return ok ? 0 : 1;
}
