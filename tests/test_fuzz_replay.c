/* tests/test_fuzz_replay.c — replays the fuzzing corpora and crash regressions of tests/fuzz/
 * through the same target functions the libFuzzer builds run (fuzz_idx.c, fuzz_safetensors.c,
 * fuzz_cache_entry.c, included here under other names), with whatever compiler and sanitizers
 * this build uses. Every file of tests/fuzz/corpus/<target>/ and tests/fuzz/regress/<target>/ is
 * one input; a target aborts when a parser crashes or breaks an invariant, which fails the test.
 * New crash inputs go into tests/fuzz/regress/<target>/ (see tests/fuzz/README.md).
 *
 * It also checks what the fuzzers' input-size cap keeps them from reaching: a 20 MB safetensors
 * header listing 400000 tensors is refused without allocating memory in proportion to the number
 * of entries (peak RSS grows by less than the header's size).
 *
 * `test_fuzz_replay --write-seeds DIR` writes the safetensors seed files (checkpoints of the
 * fuzzing network, with and without optimizer state) into DIR. */
#define _POSIX_C_SOURCE 200809L
#include <string.h>
#include <sys/resource.h>

#include "test_util.h"

#define FUZZ_ONE fuzz_idx_one
#include "fuzz/fuzz_idx.c"
#undef FUZZ_ONE
#define FUZZ_ONE fuzz_safetensors_one
#include "fuzz/fuzz_safetensors.c"
#undef FUZZ_ONE
#define FUZZ_ONE fuzz_cache_entry_one
#include "fuzz/fuzz_cache_entry.c"
#undef FUZZ_ONE

typedef int (*fuzz_fn)(const uint8_t *, size_t);

static int write_seeds(const char *dir) {
  clnn_context *ctx = tu_context();
  clnn_net *net = fuzz_safetensors_net(ctx);
  float x[2 * 16], loss = 0;
  int32_t labels[2] = {0, 2};
  tu_fill_uniform(x, 32, 0, 1);
  TU_OK(clnn_net_train_step(net, x, 2 * 16, 2, labels, 2, NULL, 0, &loss));
  char path[2048];
  snprintf(path, sizeof path, "%s/params.safetensors", dir);
  TU_OK(clnn_net_save(net, path, 0));
  snprintf(path, sizeof path, "%s/with-optimizer.safetensors", dir);
  TU_OK(clnn_net_save(net, path, CLNN_SAVE_OPTIMIZER));
  clnn_net_destroy(net);
  clnn_context_destroy(ctx);
  return tu_finish("test_fuzz_replay --write-seeds");
}

static long peak_rss_kb(void) {
  struct rusage r;
  getrusage(RUSAGE_SELF, &r);
  return r.ru_maxrss;
}

/* Regression: the header parser once kept every entry (about 360 bytes each, from about 50 bytes
 * of JSON), so a large header cost 7 times its size before the first mismatch was noticed. */
static void huge_header(void) {
  const int n = 400000;
  size_t cap = (size_t)n * 64 + 64, k = 8;
  unsigned char *buf = malloc(cap);
  k += (size_t)snprintf((char *)buf + k, cap - k, "{");
  for (int i = 0; i < n; i++)
    k += (size_t)snprintf((char *)buf + k, cap - k, "%s\"t%d\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,0]}",
                          i ? "," : "", i);
  k += (size_t)snprintf((char *)buf + k, cap - k, "}");
  uint64_t hlen = k - 8;
  for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(hlen >> (8 * i));
  clnn_context *ctx = NULL;
  TU_OK(clnn_context_create(NULL, &ctx));
  clnn_net *net = fuzz_safetensors_net(ctx);
  TU_OK(clnn_net_param(net, clnn_net_param_name(net, 0), NULL, NULL)); /* finalised: parameters
                                                                            allocated before the measurement */
  long before = peak_rss_kb();
  clnn_status st = clnn__nn_load_memory(net, buf, k, "<huge header>");
  long grew = peak_rss_kb() - before;
  TU_CHECK(st == CLNN_ERROR_FORMAT, "huge header refused (%s: %s)", clnn_status_string(st), clnn_last_error());
  TU_CHECK(grew * 1024L < (long)hlen, "a %llu-byte header with %d entries raised the peak RSS by %ld KB",
           (unsigned long long)hlen, n, grew);
  printf("huge header: %llu bytes, %d entries: %s, peak RSS +%ld KB\n", (unsigned long long)hlen, n,
         clnn_status_string(st), grew);
  clnn_net_destroy(net);
  clnn_context_destroy(ctx);
  free(buf);
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "--write-seeds")) return write_seeds(argv[2]);
  const char *src = getenv("CLNN_SOURCE_DIR");
  if (!src) src = "..";
  static const struct {
    const char *name;
    fuzz_fn fn;
  } targets[] = {{"idx", fuzz_idx_one}, {"safetensors", fuzz_safetensors_one},
                 {"cache_entry", fuzz_cache_entry_one}};
  for (int t = 0; t < 3; t++) {
    char dir[2048];
    snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/%s", src, targets[t].name);
    int corpus = tu_replay_dir(dir, targets[t].fn);
    snprintf(dir, sizeof dir, "%s/tests/fuzz/regress/%s", src, targets[t].name);
    int regress = tu_replay_dir(dir, targets[t].fn);
    TU_CHECK(corpus > 0, "no seed corpus in %s/tests/fuzz/corpus/%s", src, targets[t].name);
    printf("%-12s %3d corpus inputs, %3d crash regressions replayed\n", targets[t].name, corpus, regress);
  }
  huge_header();
  return tu_finish("test_fuzz_replay");
}
