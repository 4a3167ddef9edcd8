/* tests/test_program_cache.c — the kernel program cache and binaries: a miss then a hit across two
 * processes, a corrupted or truncated entry ignored and rebuilt, an unwritable cache directory
 * (still works), a kernel with a syntax error (build error with the log), CLNN_KERNEL_DIR, and the
 * binary-only path (export, then run with compilation off; a missing binary is a clear error).
 * Prints the cold / warm-from-disk / in-memory timings it sees (informational, not asserted). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "test_util.h"

/* Child mode: build the runtime program through a fresh context and report the cache statistics. */
static int child(const char *cache_dir) {
  clnn_context_options o;
  clnn_context_options_init(&o);
  o.cache_dir = cache_dir;
  clnn_context *ctx = NULL;
  if (clnn_context_create(&o, &ctx) != CLNN_SUCCESS) return 3;
  double t0 = clnn__now_seconds();
  clnn_status s = clnn_context_selftest(ctx);
  double t1 = clnn__now_seconds();
  clnn_status s2 = clnn_context_selftest(ctx); /* program now in memory */
  double t2 = clnn__now_seconds();
  uint64_t hits = 0, misses = 0;
  clnn_context_cache_stats(ctx, &hits, &misses, NULL, NULL);
  printf("status=%d hits=%llu misses=%llu first_ms=%.1f again_ms=%.3f\n", (int)(s != CLNN_SUCCESS ? s : s2),
         (unsigned long long)hits, (unsigned long long)misses, 1e3 * (t1 - t0), 1e3 * (t2 - t1));
  clnn_context_destroy(ctx);
  return 0;
}

typedef struct { int status; unsigned long long hits, misses; double first_ms, again_ms; } child_result;

static child_result run_child(const char *self, const char *dir) {
  child_result r = {-99, 0, 0, 0, 0};
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "'%s' --child '%s'", self, dir);
  FILE *p = popen(cmd, "r");
  if (!p) return r;
  char line[512];
  if (fgets(line, sizeof line, p))
    sscanf(line, "status=%d hits=%llu misses=%llu first_ms=%lf again_ms=%lf", &r.status, &r.hits, &r.misses,
           &r.first_ms, &r.again_ms);
  pclose(p);
  return r;
}

/* Path of the cache entry of program `name` in dir (first match), or "" */
static void find_entry(const char *dir, const char *name, char *out, size_t size) {
  out[0] = 0;
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  size_t nl = strlen(name);
  while ((e = readdir(d)))
    if (!strncmp(e->d_name, name, nl) && e->d_name[nl] == '-' && strstr(e->d_name, ".clbin") && !strstr(e->d_name, ".tmp")) {
      snprintf(out, size, "%s/%s", dir, e->d_name);
      break;
    }
  closedir(d);
}

static int count_files(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d))) n += strstr(e->d_name, ".clbin") != NULL;
  closedir(d);
  return n;
}

static void test_cache_across_processes(const char *self, const char *root) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/cache", root);
  child_result a = run_child(self, dir);
  TU_CHECK(a.status == 0 && a.misses >= 1 && a.hits == 0, "first process: cache miss (status %d hits %llu misses %llu)",
           a.status, a.hits, a.misses);
  child_result b = run_child(self, dir);
  TU_CHECK(b.status == 0 && b.hits >= 1 && b.misses == 0, "second process: cache hit (status %d hits %llu misses %llu)",
           b.status, b.hits, b.misses);
  printf("timing: selftest program cold build %.1f ms, warm from disk %.1f ms, in memory %.3f ms\n", a.first_ms,
         b.first_ms, b.again_ms);

  /* corrupt the entry: flip payload bytes; then truncate it. Each time: ignored, rebuilt. */
  char entry[4096];
  find_entry(dir, "runtime", entry, sizeof entry);
  TU_CHECK(entry[0] != 0, "cache entry for the runtime program exists in %s", dir);
  if (!entry[0]) return;
  FILE *f = fopen(entry, "r+b");
  fseek(f, 100, SEEK_SET);
  fputs("garbage garbage garbage", f);
  fclose(f);
  child_result c = run_child(self, dir);
  TU_CHECK(c.status == 0 && c.misses >= 1, "corrupt entry is rebuilt (status %d misses %llu)", c.status, c.misses);
  child_result d = run_child(self, dir);
  TU_CHECK(d.status == 0 && d.hits >= 1 && d.misses == 0, "rebuilt entry is a hit again");
  find_entry(dir, "runtime", entry, sizeof entry);
  struct stat st;
  stat(entry, &st);
  TU_CHECK(truncate(entry, st.st_size / 2) == 0, "truncate cache entry");
  child_result e = run_child(self, dir);
  TU_CHECK(e.status == 0 && e.misses >= 1, "truncated entry is rebuilt (status %d misses %llu)", e.status, e.misses);
  TU_CHECK(truncate(entry, 0) == 0, "empty cache entry");
  child_result g = run_child(self, dir);
  TU_CHECK(g.status == 0 && g.misses >= 1, "empty entry is rebuilt");

  /* an unwritable cache directory: results still correct, nothing cached */
  child_result u = run_child(self, "/proc/clnn-cannot-write-here");
  TU_CHECK(u.status == 0 && u.misses >= 1, "unwritable cache directory still works (status %d)", u.status);
  child_result off = run_child(self, "off");
  TU_CHECK(off.status == 0 && off.hits == 0, "cache off works");
}

static void test_build_errors(clnn_context *ctx, const char *root) {
  cl_program p = NULL;
  char opts[256];
  clnn__program_options(ctx, "broken", opts, sizeof opts);
  TU_STATUS(clnn__build_source(ctx, "broken", "__kernel void f(__global float *x) { x[0] = undefined_name; }", opts, &p),
            CLNN_ERROR_BUILD);
  TU_CHECK(strstr(clnn_last_error(), "undefined_name") != NULL, "build error carries the build log: %.300s", clnn_last_error());
  TU_CHECK(strstr(clnn_last_error(), "-DCLNN_DEVICE_CLASS") != NULL, "build error names the options");

  /* CLNN_KERNEL_DIR: kernels read from disk; a broken file gives the build log */
  const char *src = getenv("CLNN_SOURCE_DIR");
  TU_CHECK(src != NULL, "CLNN_SOURCE_DIR is set by ctest");
  if (!src) return;
  char kdir[4096], cmd[9000], path[4200];
  snprintf(kdir, sizeof kdir, "%s/kernels", root);
  snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s'/cl/*.cl '%s'/cl/common.h '%s'/", kdir, src, src, kdir);
  TU_CHECK(system(cmd) == 0, "copy kernels");
  snprintf(path, sizeof path, "%s/runtime.cl", kdir);
  FILE *f = fopen(path, "w");
  fputs("__kernel void clnn_selftest(__global const float *x, __global float *y, const int n) { y[0] = syntax error here; }\n", f);
  fclose(f);
  setenv("CLNN_KERNEL_DIR", kdir, 1);
  clnn_context_options o;
  clnn_context_options_init(&o);
  o.cache_dir = "off";
  clnn_context *k = NULL;
  TU_OK(clnn_context_create(&o, &k));
  TU_STATUS(clnn_context_selftest(k), CLNN_ERROR_BUILD);
  TU_CHECK(strstr(clnn_last_error(), "runtime.cl") && strstr(clnn_last_error(), "error"),
           "CLNN_KERNEL_DIR build error names the file and has the log: %.300s", clnn_last_error());
  clnn_context_destroy(k);
  unsetenv("CLNN_KERNEL_DIR");
}

static void test_binaries(clnn_context *ctx, const char *root) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/binaries", root);
  int n = 0;
  TU_OK(clnn_export_binaries(ctx, dir, &n));
  TU_CHECK(n == (int)clnn__num_sources - 1 && count_files(dir) == n, "exported every program (%d of %zu, %d files)", n,
           clnn__num_sources - 1, count_files(dir));
  clnn_context_options o;
  clnn_context_options_init(&o);
  o.cache_dir = "off";
  o.binaries_only = 1;
  o.binary_dir = dir;
  clnn_context *b = NULL;
  TU_OK(clnn_context_create(&o, &b));
  TU_OK(clnn_context_selftest(b));
  uint64_t builds = 99;
  clnn_context_cache_stats(b, NULL, NULL, &builds, NULL);
  TU_CHECK(builds == 0, "binary-only context compiled nothing (%llu builds)", (unsigned long long)builds);
  clnn_context_destroy(b);

  char empty[4096];
  snprintf(empty, sizeof empty, "%s/empty", root);
  mkdir(empty, 0755);
  o.binary_dir = empty;
  TU_OK(clnn_context_create(&o, &b));
  TU_STATUS(clnn_context_selftest(b), CLNN_ERROR_BINARY_MISSING);
  TU_CHECK(strstr(clnn_last_error(), "\"runtime\"") && strstr(clnn_last_error(), "export"),
           "missing binary names the program and how to export: %s", clnn_last_error());
  clnn_context_destroy(b);
  o.binary_dir = NULL;
  unsetenv("CLNN_BINARY_DIR");
  TU_STATUS(clnn_context_create(&o, &b), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_export_binaries(ctx, NULL, &n), CLNN_ERROR_INVALID_ARGUMENT);
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "--child")) return child(argv[2]);
  char root[] = "/tmp/clnn-cache-test-XXXXXX";
  if (!mkdtemp(root)) {
    perror("mkdtemp");
    return 1;
  }
  clnn_context *ctx = tu_context();
  test_cache_across_processes(argv[0], root);
  test_build_errors(ctx, root);
  test_binaries(ctx, root);
  clnn_context_destroy(ctx);
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", root);
  return tu_finish("test_program_cache");
}
