/* tests/fuzz/fuzz_model.c — libFuzzer target for the model-file reader (src/nn/model_io.c,
 * model_json.c) through clnn__m_load_memory, the in-memory core of clnn_model_load_file and
 * clnn_graph_load: the safetensors header, the graph JSON in its metadata (rebuilt node by node
 * through the graph builder, which infers every shape again), the optimizer settings and the
 * parameters. The input is a whole file. A malformed or inconsistent file must give
 * CLNN_ERROR_FORMAT with a message and build nothing, never crash, hang or allocate more than the
 * file justifies; a file that loads gives a model whose parameters the file holds. The seeds
 * (tests/fuzz/corpus/model/) are files of FUZZ_MODEL_GRAPH's model; `test_model_io --write-seeds
 * DIR` writes them. Models live on the default OpenCL device (PoCL in CI). */
#include "fuzz_common.h"
#include "nn/model.h"

#include <string.h>

#ifndef FUZZ_ONE
#define FUZZ_ONE LLVMFuzzerTestOneInput
#endif
#ifndef FUZZ_MODEL_GRAPH
#define FUZZ_MODEL_GRAPH fuzz_model_graph
#endif

/* The seeds' graph: image [1, 4, 4] and int32 label; conv c1 2x3x3 pad 1, bn1, relu r1,
 * conv c2 2x3x3 pad 1, add skip (c2 + r1), flatten, dropout, dense head 3, softmax
 * cross-entropy; output head. */
clnn_graph *FUZZ_MODEL_GRAPH(void);
clnn_graph *FUZZ_MODEL_GRAPH(void) {
  clnn_graph *g = NULL;
  size_t img[3] = {1, 4, 4};
  int x, lab, h, r, y, s, loss;
  clnn_conv2d_params same;
  clnn_conv2d_params_init(&same);
  same.pad_top = same.pad_bottom = same.pad_left = same.pad_right = 1;
  if (clnn_graph_create(&g) != CLNN_SUCCESS ||
      clnn_graph_input(g, "image", CLNN_FLOAT32, 3, img, &x) != CLNN_SUCCESS ||
      clnn_graph_input(g, "label", CLNN_INT32, 0, NULL, &lab) != CLNN_SUCCESS ||
      clnn_graph_conv2d(g, "c1", x, 2, 3, 3, &same, 1, &h) != CLNN_SUCCESS ||
      clnn_graph_batchnorm(g, "bn1", h, 0, 0, &h) != CLNN_SUCCESS ||
      clnn_graph_activation(g, "r1", h, CLNN_ACT_RELU, 0, &r) != CLNN_SUCCESS ||
      clnn_graph_conv2d(g, "c2", r, 2, 3, 3, &same, 1, &y) != CLNN_SUCCESS ||
      clnn_graph_add(g, "skip", y, r, &s) != CLNN_SUCCESS ||
      clnn_graph_flatten(g, "flat", s, &s) != CLNN_SUCCESS ||
      clnn_graph_dropout(g, "drop", s, 0.25f, &s) != CLNN_SUCCESS ||
      clnn_graph_dense(g, "head", s, 3, 1, &y) != CLNN_SUCCESS ||
      clnn_graph_loss(g, "loss", CLNN_LOSS_SOFTMAX_CROSS_ENTROPY, y, lab, 1.0f, &loss) !=
          CLNN_SUCCESS ||
      clnn_graph_output(g, y) != CLNN_SUCCESS) {
    fprintf(stderr, "fuzz_model: cannot build the graph: %s\n", clnn_last_error());
    abort();
  }
  return g;
}

int FUZZ_ONE(const uint8_t *data, size_t size);
int FUZZ_ONE(const uint8_t *data, size_t size) {
  static clnn_context *ctx;
  if (!ctx && clnn_context_create(NULL, &ctx) != CLNN_SUCCESS) {
    fprintf(stderr, "fuzz_model: no OpenCL context: %s\n", clnn_last_error());
    abort();
  }
  /* a copy of exactly `size` bytes, so that ASan sees any read past the end */
  unsigned char *copy = calloc(size ? size : 1, 1);
  if (!copy) return 0;
  if (size) memcpy(copy, data, size);
  clnn_graph *g = NULL, *g_only = NULL;
  clnn_model *m = NULL;
  clnn_status st = clnn__m_load_memory(ctx, copy, size, "<fuzz input>", &m, &g);
  if (st != CLNN_SUCCESS) {
    FUZZ_CHECK(st == CLNN_ERROR_FORMAT);
    FUZZ_CHECK(clnn_last_error()[0] != 0);
    FUZZ_CHECK(m == NULL && g == NULL);
  } else {
    /* every parameter of the model is F32 data in the file */
    size_t floats = 0;
    for (size_t i = 0; i < clnn_model_num_params(m); i++) {
      clnn_tensor *t = NULL;
      FUZZ_CHECK(clnn_model_param(m, clnn_model_param_name(m, i), &t, NULL) == CLNN_SUCCESS);
      floats += clnn_tensor_numel(t);
    }
    FUZZ_CHECK(size >= 8 + 2 + 4 * floats);
    FUZZ_CHECK(clnn_graph_num_values(g) == clnn_graph_num_values(clnn_model_graph(m)));
    clnn_model_destroy(m);
  }
  /* the graph alone: whatever rebuilds a model rebuilds its graph */
  clnn_status st2 = clnn__m_load_memory(NULL, copy, size, "<fuzz input>", NULL, &g_only);
  FUZZ_CHECK(st2 == CLNN_SUCCESS || st2 == CLNN_ERROR_FORMAT);
  FUZZ_CHECK(st != CLNN_SUCCESS || st2 == CLNN_SUCCESS);
  FUZZ_CHECK(st2 == CLNN_SUCCESS ? g_only != NULL : g_only == NULL);
  clnn_graph_destroy(g_only);
  clnn_graph_destroy(g);
  free(copy);
  return 0;
}
