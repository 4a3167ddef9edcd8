/* tests/fuzz/fuzz_idx.c — libFuzzer target for the IDX reader (src/nn/data.c) through its
 * in-memory entry point clnn__nn_dataset_from_idx, which runs the same checks as
 * clnn_dataset_load_idx on files. Input: a 2-byte little-endian length L, then L bytes of image
 * file (clamped to what is there), then the label file. A malformed pair must give an error, never
 * a crash, a hang or an allocation larger than the files justify (the runner caps allocations with
 * -malloc_limit_mb); a successful load must hold exactly what the files describe. */
#include "fuzz_common.h"
#include "nn/nn_internal.h"

#ifndef FUZZ_ONE
#define FUZZ_ONE LLVMFuzzerTestOneInput
#endif

int FUZZ_ONE(const uint8_t *data, size_t size);
int FUZZ_ONE(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  size_t li = (size_t)data[0] | (size_t)data[1] << 8;
  const uint8_t *img = data + 2;
  size_t rest = size - 2;
  if (li > rest) li = rest;
  const uint8_t *lab = img + li;
  size_t ll = rest - li;
  clnn_dataset *ds = NULL;
  clnn_status st = clnn__nn_dataset_from_idx(img, li, lab, ll, &ds);
  if (st != CLNN_SUCCESS) {
    FUZZ_CHECK(ds == NULL);
    FUZZ_CHECK(clnn_last_error()[0] != 0);
    return 0;
  }
  FUZZ_CHECK(ds != NULL);
  size_t n = clnn_dataset_size(ds), numel = clnn_dataset_sample_numel(ds);
  size_t dims[CLNN_MAX_DIMS];
  FUZZ_CHECK(clnn_dataset_sample_dims(ds, dims) == 3 && dims[0] == 1);
  FUZZ_CHECK(n > 0 && numel == dims[1] * dims[2]);
  /* the files held exactly a 16-byte header + n*H*W pixels and an 8-byte header + n labels */
  FUZZ_CHECK(li == 16 + n * numel && ll == 8 + n);
  const float *x = clnn_dataset_data(ds);
  const int32_t *y = clnn_dataset_labels(ds);
  for (size_t i = 0; i < n * numel; i++) FUZZ_CHECK(x[i] == (float)img[16 + i] / 255.0f);
  int maxl = 0;
  for (size_t i = 0; i < n; i++) {
    FUZZ_CHECK(y[i] == lab[8 + i]);
    if (y[i] > maxl) maxl = y[i];
  }
  FUZZ_CHECK(clnn_dataset_num_classes(ds) == maxl + 1);
  clnn_dataset_destroy(ds);
  return 0;
}
