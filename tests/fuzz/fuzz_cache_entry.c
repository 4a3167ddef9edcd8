/* tests/fuzz/fuzz_cache_entry.c — libFuzzer target for the kernel-cache / prebuilt-binary entry
 * reader clnn__cache_entry_parse (src/runtime/program.c): "CLNNBIN2", u64 payload size, u64
 * FNV-1a of the key field and payload, a 96-byte NUL-padded key field, payload. Any input must be
 * accepted or refused without reading outside it; an accepted entry's payload must be exactly the
 * bytes after the 120-byte header, non-empty, with the checksum the header states; checked
 * against a key, an entry is accepted only when its key field holds exactly that key. */
#include "fuzz_common.h"
#include "internal.h"

#include <string.h>

#ifndef FUZZ_ONE
#define FUZZ_ONE LLVMFuzzerTestOneInput
#endif

int FUZZ_ONE(const uint8_t *data, size_t size);
int FUZZ_ONE(const uint8_t *data, size_t size) {
  /* a copy of exactly `size` bytes, so that ASan sees any read past the end */
  unsigned char *copy = calloc(size ? size : 1, 1);
  if (!copy) return 0;
  if (size) memcpy(copy, data, size);
  const unsigned char *payload = NULL;
  size_t n = 0;
  if (clnn__cache_entry_parse(copy, size, NULL, &payload, &n) == 0) {
    FUZZ_CHECK(size >= 120 && memcmp(copy, "CLNNBIN2", 8) == 0);
    FUZZ_CHECK(payload == copy + 120 && n == size - 120 && n > 0);
    uint64_t sum = 0;
    for (int i = 0; i < 8; i++) sum |= (uint64_t)copy[16 + i] << (8 * i);
    FUZZ_CHECK(clnn__fnv1a(CLNN__FNV_BASIS, copy + 24, n + 96) == sum);
    FUZZ_CHECK(copy[24 + 95] == 0);
    /* the key it holds is accepted, any other key is refused as substituted (-2) */
    const char *key = (const char *)copy + 24;
    FUZZ_CHECK(clnn__cache_entry_parse(copy, size, key, &payload, &n) == 0);
    FUZZ_CHECK(clnn__cache_entry_parse(copy, size, strcmp(key, "conv2d-x") ? "conv2d-x" : "pool2d-x",
                                       &payload, &n) == -2);
  }
  free(copy);
  return 0;
}
