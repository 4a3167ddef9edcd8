/* tests/fuzz/fuzz_safetensors.c — libFuzzer target for the safetensors checkpoint reader
 * (src/nn/checkpoint.c) through clnn__nn_load_memory, the in-memory core of clnn_net_load: the
 * 8-byte header size, the JSON header parser, and the checks of every entry against a small
 * network (conv, batch norm, dense; Adam, so files with optimizer state match too). The input is
 * a whole file. A malformed or mismatched file must give an error and leave the network
 * unchanged, never crash, hang or allocate more than the file justifies; a file that loads is
 * one the network could have saved. The network lives on the default OpenCL device (PoCL in CI)
 * for the whole run; only a successful load writes to the device. */
#include "fuzz_common.h"
#include "nn/nn_internal.h"

#include <string.h>

#ifndef FUZZ_ONE
#define FUZZ_ONE LLVMFuzzerTestOneInput
#endif
#ifndef FUZZ_NET
#define FUZZ_NET fuzz_safetensors_net
#endif

/* The network the seeds were saved from (tests/fuzz/corpus/safetensors/): input [1, 4, 4],
 * conv1 2x3x3 pad 1, bn1, relu, flatten, dense1 3; Adam. */
clnn_net *FUZZ_NET(clnn_context *ctx);
clnn_net *FUZZ_NET(clnn_context *ctx) {
  size_t in[3] = {1, 4, 4};
  clnn_net *net = NULL;
  clnn_optimizer_config opt;
  clnn_optimizer_config_init(&opt, CLNN_OPTIM_ADAM, 1e-3f);
  if (clnn_net_create(ctx, 3, in, 5, &net) != CLNN_SUCCESS ||
      clnn_net_add_conv2d(net, 2, 3, 1, 1) != CLNN_SUCCESS ||
      clnn_net_add_batchnorm(net, 0, 0) != CLNN_SUCCESS ||
      clnn_net_add_activation(net, CLNN_ACT_RELU, 0) != CLNN_SUCCESS ||
      clnn_net_add_flatten(net) != CLNN_SUCCESS || clnn_net_add_dense(net, 3) != CLNN_SUCCESS ||
      clnn_net_set_optimizer(net, &opt) != CLNN_SUCCESS) {
    fprintf(stderr, "fuzz_safetensors: cannot build the network: %s\n", clnn_last_error());
    abort();
  }
  return net;
}

int FUZZ_ONE(const uint8_t *data, size_t size);
int FUZZ_ONE(const uint8_t *data, size_t size) {
  static clnn_context *ctx;
  static clnn_net *net;
  if (!net) {
    if (clnn_context_create(NULL, &ctx) != CLNN_SUCCESS) {
      fprintf(stderr, "fuzz_safetensors: no OpenCL context: %s\n", clnn_last_error());
      abort();
    }
    net = FUZZ_NET(ctx);
  }
  /* a copy of exactly `size` bytes, so that ASan sees any read past the end */
  unsigned char *copy = calloc(size ? size : 1, 1);
  if (!copy) return 0;
  if (size) memcpy(copy, data, size);
  uint64_t step = clnn_net_step_count(net);
  clnn_status st = clnn__nn_load_memory(net, copy, size, "<fuzz input>");
  if (st != CLNN_SUCCESS) {
    FUZZ_CHECK(st == CLNN_ERROR_FORMAT);
    FUZZ_CHECK(clnn_last_error()[0] != 0);
    FUZZ_CHECK(clnn_net_step_count(net) == step);
  } else {
    /* every tensor the network has, F32 data tiling the file exactly: at least its size */
    size_t floats = 0;
    for (size_t i = 0; i < clnn_net_num_params(net); i++) {
      clnn_tensor *t = NULL;
      FUZZ_CHECK(clnn_net_param(net, clnn_net_param_name(net, i), &t, NULL) == CLNN_SUCCESS);
      floats += clnn_tensor_numel(t);
    }
    FUZZ_CHECK(size >= 8 + 2 + 4 * floats);
  }
  free(copy);
  return 0;
}
