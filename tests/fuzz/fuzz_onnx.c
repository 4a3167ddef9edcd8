/* tests/fuzz/fuzz_onnx.c — libFuzzer target for the ONNX reader (src/nn/onnx_import.c,
 * onnx_ops.c, onnx_shape.c) through clnn__onnx_load_memory, the in-memory core of
 * clnn_model_load_onnx and clnn_graph_load_onnx: the nesting check, protobuf-c's decoding within
 * a memory budget, tensors, and the mapping of every node onto the graph builder. The input is a
 * whole .onnx file. A malformed file must give CLNN_ERROR_FORMAT, one clnn cannot do
 * CLNN_ERROR_UNSUPPORTED, each with a message and nothing built; never a crash, hang or an
 * allocation the file does not justify. A file whose graph loads must also load as a model. The
 * seeds (tests/fuzz/corpus/onnx/) are small models that import. */
#include "fuzz_common.h"
#include "nn/onnx.h"

#include <string.h>

#ifndef FUZZ_ONE
#define FUZZ_ONE LLVMFuzzerTestOneInput
#endif

int FUZZ_ONE(const uint8_t *data, size_t size);
int FUZZ_ONE(const uint8_t *data, size_t size) {
  static clnn_context *ctx;
  if (!ctx && clnn_context_create(NULL, &ctx) != CLNN_SUCCESS) {
    fprintf(stderr, "fuzz_onnx: no OpenCL context: %s\n", clnn_last_error());
    abort();
  }
  unsigned char *copy = calloc(size ? size : 1, 1); /* exactly size bytes for ASan */
  if (!copy) return 0;
  if (size) memcpy(copy, data, size);
  clnn_graph *g = NULL;
  clnn_status st = clnn__onnx_load_memory(NULL, copy, size, "<fuzz input>", NULL, &g);
  FUZZ_CHECK(st == CLNN_SUCCESS || st == CLNN_ERROR_FORMAT || st == CLNN_ERROR_UNSUPPORTED);
  FUZZ_CHECK(st == CLNN_SUCCESS ? g != NULL : (g == NULL && clnn_last_error()[0] != 0));
  if (st == CLNN_SUCCESS) {
    FUZZ_CHECK(clnn_graph_num_outputs(g) >= 1 && clnn_graph_num_inputs(g) >= 1);
    clnn_model *m = NULL;
    clnn_status st2 = clnn__onnx_load_memory(ctx, copy, size, "<fuzz input>", &m, NULL);
    /* the model needs device memory for what the graph describes; that may run out */
    FUZZ_CHECK(st2 == CLNN_SUCCESS || st2 == CLNN_ERROR_OUT_OF_MEMORY);
    FUZZ_CHECK(st2 == CLNN_SUCCESS ? m != NULL : m == NULL);
    clnn_model_destroy(m);
  }
  clnn_graph_destroy(g);
  free(copy);
  return 0;
}
