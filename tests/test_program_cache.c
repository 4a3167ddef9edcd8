/* tests/test_program_cache.c — the kernel program cache and binaries: a miss then a hit across two
 * processes (on PoCL with POCL_KERNEL_CACHE=0: with PoCL's own cache on, clnn bypasses its disk
 * cache there, also tested), a corrupted or truncated entry ignored and rebuilt, an unwritable cache directory
 * (still works), the files of a build unit built as one program, a kernel with a syntax error (build error with the log), CLNN_KERNEL_DIR, and the
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

/* Runs the child with PoCL's own kernel cache off (POCL_KERNEL_CACHE=0), so that clnn's disk cache
 * is in use on every device (run_child_pocl_cache_on: as the user's environment has it). */
static child_result run_child_env(const char *self, const char *dir, const char *env) {
  child_result r = {-99, 0, 0, 0, 0};
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "%s '%s' --child '%s'", env, self, dir);
  FILE *p = popen(cmd, "r");
  if (!p) return r;
  char line[512];
  if (fgets(line, sizeof line, p))
    sscanf(line, "status=%d hits=%llu misses=%llu first_ms=%lf again_ms=%lf", &r.status, &r.hits, &r.misses,
           &r.first_ms, &r.again_ms);
  pclose(p);
  return r;
}
static child_result run_child(const char *self, const char *dir) {
  return run_child_env(self, dir, "POCL_KERNEL_CACHE=0");
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

/* With PoCL's own kernel cache on (its default), clnn's disk cache is bypassed on PoCL: fetching a
 * program's binary there makes PoCL generate code for every kernel of the program, and PoCL's
 * cache already holds what a clnn entry would save. Nothing is written and nothing read, even in
 * a directory named explicitly; other platforms cache as above. */
static void test_pocl_keeps_own_cache(clnn_context *ctx, const char *self, const char *root) {
  clnn_device_info info;
  clnn_device_info_init(&info);
  TU_OK(clnn_context_device_info(ctx, &info));
  const int pocl = strstr(info.platform_name, "Portable Computing Language") != NULL;
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/cache-pocl", root);
  child_result a = run_child_env(self, dir, "POCL_KERNEL_CACHE=1");
  child_result b = run_child_env(self, dir, "POCL_KERNEL_CACHE=1");
  TU_CHECK(a.status == 0 && b.status == 0 && a.misses >= 1, "PoCL cache on: both processes work (status %d %d)",
           a.status, b.status);
  if (pocl) {
    TU_CHECK(count_files(dir) == 0, "PoCL with its own cache: clnn wrote no entry in %s (%d files)", dir,
             count_files(dir));
    TU_CHECK(b.hits == 0 && b.misses >= 1, "PoCL with its own cache: no clnn cache hit (hits %llu misses %llu)",
             b.hits, b.misses);
  } else {
    TU_CHECK(count_files(dir) >= 1 && b.hits >= 1 && b.misses == 0, "other platforms: a hit in the second process");
  }
  /* the entries of the directory from a PoCL-cache-off run are not read either */
  char off_dir[4096];
  snprintf(off_dir, sizeof off_dir, "%s/cache-both", root);
  child_result c = run_child(self, off_dir);
  child_result d = run_child_env(self, off_dir, "POCL_KERNEL_CACHE=1");
  TU_CHECK(c.status == 0 && d.status == 0 && count_files(off_dir) >= 1, "entry written with PoCL's cache off");
  if (pocl)
    TU_CHECK(d.hits == 0 && d.misses >= 1, "PoCL cache on again: clnn's entry is not read (hits %llu)", d.hits);

  /* the test hook: clnn's cache on PoCL whatever PoCL does (tests of the cache itself use it) */
  clnn__disk_cache_on_pocl(1);
  clnn_context_options o;
  clnn_context_options_init(&o);
  char hook_dir[4096];
  snprintf(hook_dir, sizeof hook_dir, "%s/cache-hook", root);
  o.cache_dir = hook_dir;
  clnn_context *h = NULL;
  TU_OK(clnn_context_create(&o, &h));
  TU_OK(clnn_context_selftest(h));
  TU_CHECK(count_files(hook_dir) == 1, "hook on: the entry is written (%d files)", count_files(hook_dir));
  clnn_context_destroy(h);
  clnn__disk_cache_on_pocl(0);
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

/* The files of a build unit are one program: their kernels come from one build; a file outside
 * the unit is a build of its own. */
static void test_build_unit(void) {
  clnn_context_options o;
  clnn_context_options_init(&o);
  o.cache_dir = "off";
  clnn_context *c = NULL;
  TU_OK(clnn_context_create(&o, &c));
  float v[6] = {-1, 2, -3, 4, -5, 6}, w[6];
  size_t d = 6;
  clnn_tensor *tx = tu_tensor(c, 1, &d, v), *ty = tu_tensor(c, 1, &d, NULL);
  uint64_t builds = 0;
  TU_OK(clnn_add(c, tx, tx, ty)); /* cl/elementwise.cl */
  clnn_context_cache_stats(c, NULL, NULL, &builds, NULL);
  TU_CHECK(builds == 1, "first kernel: one build (%llu)", (unsigned long long)builds);
  TU_OK(clnn_activation_forward(c, CLNN_ACT_RELU, 0, tx, ty)); /* cl/activation.cl, same unit */
  TU_OK(clnn_tensor_read(ty, w, 6));
  TU_CHECK(w[0] == 0 && w[1] == 2 && w[5] == 6, "ReLU from the unit's program");
  clnn_context_cache_stats(c, NULL, NULL, &builds, NULL);
  TU_CHECK(builds == 1, "a second file of the same unit builds nothing more (%llu builds)", (unsigned long long)builds);
  TU_OK(clnn_context_selftest(c)); /* cl/runtime.cl: a unit of its own */
  clnn_context_cache_stats(c, NULL, NULL, &builds, NULL);
  TU_CHECK(builds == 2, "a file outside the unit is a build of its own (%llu builds)", (unsigned long long)builds);
  clnn_tensor_destroy(tx);
  clnn_tensor_destroy(ty);
  clnn_context_destroy(c);
}

static void test_binaries(clnn_context *ctx, const char *root) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/binaries", root);
  int n = 0;
  TU_OK(clnn_export_binaries(ctx, dir, &n));
  TU_CHECK(n == (int)clnn__program_unit_count(ctx) && count_files(dir) == n && n < (int)clnn__num_sources - 1,
           "exported every program, the files of a build unit as one (%d of %zu, %d files, %zu cl files)", n,
           clnn__program_unit_count(ctx), count_files(dir), clnn__num_sources - 1);
  clnn_context_options o;
  clnn_context_options_init(&o);
  o.cache_dir = "off";
  o.binaries_only = 1;
  o.binary_dir = dir;
  clnn_context *b = NULL;
  TU_OK(clnn_context_create(&o, &b));
  TU_OK(clnn_context_selftest(b));
  { /* a kernel of a build unit (elementwise is in one) loads from its unit's binary */
    float v[5] = {1, -2, 3, -4, 5}, w[5];
    size_t d = 5;
    clnn_tensor *tx = tu_tensor(b, 1, &d, v), *ty = tu_tensor(b, 1, &d, NULL);
    TU_OK(clnn_add(b, tx, tx, ty));
    TU_OK(clnn_tensor_read(ty, w, 5));
    TU_CHECK(w[0] == 2 && w[1] == -4 && w[4] == 10, "binary-only: elementwise add from the unit's binary");
    clnn_tensor_destroy(tx);
    clnn_tensor_destroy(ty);
  }
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
  test_pocl_keeps_own_cache(ctx, argv[0], root);
  test_build_errors(ctx, root);
  test_build_unit();
  test_binaries(ctx, root);
  clnn_context_destroy(ctx);
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", root);
  return tu_finish("test_program_cache");
}
