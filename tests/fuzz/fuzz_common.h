/* tests/fuzz/fuzz_common.h — what the libFuzzer targets in tests/fuzz/ share. Each target defines
 * FUZZ_ONE (LLVMFuzzerTestOneInput unless the includer renames it): the fuzzers link them with
 * libFuzzer (CLNN_FUZZ=ON, clang), and tests/test_fuzz_replay.c includes all three under other
 * names to replay the committed corpora and crash regressions in every ctest run, with any
 * compiler. FUZZ_CHECK aborts (a finding for libFuzzer, a crash for the replay test) when an
 * invariant of a successful parse does not hold. */
#ifndef CLNN_FUZZ_COMMON_H
#define CLNN_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                                     \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond);      \
      abort();                                                                               \
    }                                                                                        \
  } while (0)

#endif
