/* tests/test_fuzz_replay.c — replays the fuzzing corpora and crash regressions of tests/fuzz/
 * through the same target functions the libFuzzer builds run (fuzz_idx.c, fuzz_safetensors.c,
 * fuzz_cache_entry.c, included here under other names), with whatever compiler and sanitizers
 * this build uses. Every file of tests/fuzz/corpus/<target>/ and tests/fuzz/regress/<target>/ is
 * one input; a target aborts when a parser crashes or breaks an invariant, which fails the test.
 * New crash inputs go into tests/fuzz/regress/<target>/ (see tests/fuzz/README.md).
 *
 * `test_fuzz_replay --write-seeds DIR` writes the safetensors seed files (checkpoints of the
 * fuzzing network, with and without optimizer state) into DIR. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

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

/* Runs every regular file of dir through fn; returns the number of files. */
static int replay_dir(const char *dir, fuzz_fn fn) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
    FILE *f = fopen(path, "rb");
    if (!f) continue;
    unsigned char *buf = malloc((size_t)st.st_size + 1);
    size_t got = fread(buf, 1, (size_t)st.st_size, f);
    fclose(f);
    TU_CHECK(got == (size_t)st.st_size, "read %s", path);
    fn(buf, got);
    free(buf);
    n++;
  }
  closedir(d);
  return n;
}

static int write_seeds(const char *dir) {
  clnn_context *ctx = tu_context();
  clnn_net *net = fuzz_safetensors_net(ctx);
  float x[2 * 16], loss = 0;
  int32_t labels[2] = {0, 2};
  tu_fill_uniform(x, 32, 0, 1);
  TU_OK(clnn_net_train_step(net, x, 2, labels, NULL, &loss));
  char path[2048];
  snprintf(path, sizeof path, "%s/params.safetensors", dir);
  TU_OK(clnn_net_save(net, path, 0));
  snprintf(path, sizeof path, "%s/with-optimizer.safetensors", dir);
  TU_OK(clnn_net_save(net, path, CLNN_SAVE_OPTIMIZER));
  clnn_net_destroy(net);
  clnn_context_destroy(ctx);
  return tu_finish("test_fuzz_replay --write-seeds");
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
    int corpus = replay_dir(dir, targets[t].fn);
    snprintf(dir, sizeof dir, "%s/tests/fuzz/regress/%s", src, targets[t].name);
    int regress = replay_dir(dir, targets[t].fn);
    TU_CHECK(corpus > 0, "no seed corpus in %s/tests/fuzz/corpus/%s", src, targets[t].name);
    printf("%-12s %3d corpus inputs, %3d crash regressions replayed\n", targets[t].name, corpus, regress);
  }
  return tu_finish("test_fuzz_replay");
}
