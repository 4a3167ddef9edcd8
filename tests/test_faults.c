/* tests/test_faults.c — what happens when things go wrong outside clnn's control:
 *
 * - A checkpoint save killed mid-write (SIGKILL of a child process that saves a 24 MB network over
 *   and over, sent while its temporary file is partly written) leaves the previous checkpoint
 *   intact and loadable: afterwards the file is, byte for byte, either the checkpoint that was
 *   there before or a complete one from the child, and it loads.
 * - A save that runs out of space (RLIMIT_FSIZE, as a full disk) fails with CLNN_ERROR_IO, leaves
 *   the previous checkpoint untouched and no temporary file behind.
 * - A truncated kernel-cache entry is ignored, rebuilt and rewritten, with a logged warning
 *   (seen through clnn_set_log_callback) and correct results.
 * - A cache directory that cannot be created or written (its parent is a regular file, which
 *   fails even for root) still works: no cache, a logged warning, correct results.
 * - No OpenCL object outlives its owner (a leak LeakSanitizer cannot see, since the driver keeps
 *   its objects reachable): a context wrapped around the test's own cl_context and queue, used for
 *   tensors, operators with workspaces, GEMM, a network's training step and a checkpoint, and then
 *   destroyed, leaves the cl_context and the queue with only the test's own reference. GEMM runs
 *   on clnn's own kernels where the device has them; CLBlast keeps its compiled programs (and with
 *   them a reference to the context) in a process-wide cache, so on devices where GEMM goes to
 *   CLBlast the context count is reported, not checked.
 *
 * - Attacks on the files clnn writes and reads: a symlink planted at the old
 *   predictable temporary name, or at the checkpoint path itself, is never written through (the
 *   link's target keeps its bytes); a FIFO as checkpoint, IDX file or kernel-cache entry is refused
 *   at once (an alarm fails the test instead of hanging); another program's valid cache entry put
 *   in place of an entry is detected by the key inside it and rebuilt; temporaries that killed
 *   saves left (a dead writer's legacy name, an unlocked current one) are removed by the next
 *   save, while a temporary a live writer holds locked, and unrelated files, are kept.
 *
 * Child mode: `test_faults --save-forever PATH SEED` builds the big network and saves it to PATH
 * until it is killed. */
#define _GNU_SOURCE /* flock */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h" /* clnn__gemm_last_path */
#include "test_util.h"

static char root[] = "/tmp/clnn-faults-XXXXXX";

/* ---- log capture ---- */

static char warnings[8][512];
static int num_warnings;

static void capture(clnn_log_level level, const char *msg, void *user) {
  (void)user;
  if (level <= CLNN_LOG_WARN && num_warnings < 8) snprintf(warnings[num_warnings++], 512, "%s", msg);
}

static int warned(const char *needle) {
  for (int i = 0; i < num_warnings; i++)
    if (strstr(warnings[i], needle)) return 1;
  return 0;
}

/* ---- files ---- */

static long file_size(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

/* Names of files in dir starting with prefix: count, and the first into out. */
/* "<program>-": the start of the cache entry names of the program that holds cl/elementwise.cl
 * (a build unit of several files on some device classes), set in main. */
static char ew_prefix[96];

static int find_prefixed(const char *dir, const char *prefix, char *out, size_t size) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (!strncmp(e->d_name, prefix, strlen(prefix))) {
      if (!n && out) snprintf(out, size, "%s/%s", dir, e->d_name);
      n++;
    }
  closedir(d);
  return n;
}

/* ---- the big network: [4096] -> dense 1024 -> relu -> dense 1000 (5.2 M parameters; with Adam
 * state the checkpoint is about 63 MB, without it 21 MB) ---- */

static clnn_net *big_net(clnn_context *ctx, uint64_t seed) {
  size_t in = 4096;
  clnn_net *net = NULL;
  if (clnn_net_create(ctx, 1, &in, seed, &net) != CLNN_SUCCESS) return NULL;
  if (clnn_net_add_dense(net, 1024) || clnn_net_add_activation(net, CLNN_ACT_RELU, 0) ||
      clnn_net_add_dense(net, 1000)) {
    clnn_net_destroy(net);
    return NULL;
  }
  return net;
}

static int save_forever(const char *path, uint64_t seed) {
  clnn_context_options o;
  clnn_context_options_init(&o);
  clnn_context *ctx = NULL;
  if (clnn_context_create(&o, &ctx) != CLNN_SUCCESS) return 3;
  clnn_net *net = big_net(ctx, seed);
  if (!net) return 4;
  for (;;)
    if (clnn_net_save(net, path, 0) != CLNN_SUCCESS) {
      fprintf(stderr, "child: save failed: %s\n", clnn_last_error());
      return 5;
    }
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void test_killed_save(clnn_context *ctx) {
  char path[256], child_ref[256];
  snprintf(path, sizeof path, "%s/model.safetensors", root);
  snprintf(child_ref, sizeof child_ref, "%s/child-reference.safetensors", root);
  clnn_net *a = big_net(ctx, 1), *b = big_net(ctx, 2);
  TU_CHECK(a && b, "big networks: %s", clnn_last_error());
  if (!a || !b) return;
  TU_OK(clnn_net_save(a, path, 0));
  TU_OK(clnn_net_save(b, child_ref, 0)); /* what a complete save by the child holds */
  size_t n_before = 0, n_child = 0;
  unsigned char *before = tu_read_file(path, &n_before), *child_bytes = tu_read_file(child_ref, &n_child);
  TU_CHECK(before && child_bytes && n_before == n_child && n_before > (1u << 20), "reference files");
  remove(child_ref);
  clnn_net_destroy(b);

  int kills = 0;
  for (int round = 0; round < 3; round++) {
    pid_t pid = fork();
    if (pid == 0) {
      char seed[8] = "2";
      execl("/proc/self/exe", "test_faults", "--save-forever", path, seed, (char *)NULL);
      _exit(127);
    }
    TU_CHECK(pid > 0, "fork: %s", strerror(errno));
    if (pid <= 0) break;
    char prefix[64], tmp[512] = "";
    snprintf(prefix, sizeof prefix, "model.safetensors.tmp.%ld", (long)pid);
    /* wait until the child's temporary file is partly written, then kill it */
    double t0 = now();
    long sz = -1;
    int caught = 0;
    while (now() - t0 < 60.0) {
      if (find_prefixed(root, prefix, tmp, sizeof tmp)) {
        sz = file_size(tmp);
        if (sz > 0 && (size_t)sz < n_before) {
          kill(pid, SIGKILL);
          caught = 1;
          break;
        }
      }
      int status;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        TU_CHECK(0, "the saving child exited by itself (status %d)", status);
        pid = 0;
        break;
      }
    }
    if (pid > 0) {
      if (!caught) kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
    }
    TU_CHECK(caught, "round %d: caught the child mid-write", round);
    if (!caught) continue;
    kills++;
    printf("round %d: killed the saving child with %ld of %zu bytes of its temporary file written\n", round,
           sz, n_before);
    /* the checkpoint: the old one or a complete new one, never a mix; it loads */
    size_t n_after = 0;
    unsigned char *after = tu_read_file(path, &n_after);
    int old = after && n_after == n_before && !memcmp(after, before, n_before);
    int fresh = after && n_after == n_child && !memcmp(after, child_bytes, n_child);
    TU_CHECK(old || fresh, "round %d: the checkpoint is intact (%zu bytes; old %d, new %d)", round, n_after, old,
             fresh);
    free(after);
    clnn_net *c = big_net(ctx, 3);
    TU_STATUS(clnn_net_load(c, path), CLNN_SUCCESS);
    clnn_net_destroy(c);
    /* the partial temporary file is all that is left of the killed save; it does not load */
    if (tmp[0]) {
      clnn_net *d = big_net(ctx, 3);
      if (file_size(tmp) >= 0) TU_STATUS(clnn_net_load(d, tmp), CLNN_ERROR_FORMAT);
      clnn_net_destroy(d);
      remove(tmp);
    }
  }
  printf("killed-save: %d kills mid-write, checkpoint intact every time\n", kills);
  free(before);
  free(child_bytes);
  clnn_net_destroy(a);
}

/* A save that hits the file-size limit (the same error a full disk gives) fails cleanly. */
static void test_full_disk(clnn_context *ctx) {
  char path[256];
  snprintf(path, sizeof path, "%s/full.safetensors", root);
  clnn_net *a = big_net(ctx, 4);
  if (!a) return;
  TU_OK(clnn_net_save(a, path, 0));
  size_t n0 = 0;
  unsigned char *before = tu_read_file(path, &n0);
  struct rlimit old, lim;
  TU_CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0, "getrlimit");
  void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN); /* write() fails with EFBIG instead */
  lim = old;
  lim.rlim_cur = 1 << 20;
  TU_CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0, "setrlimit");
  clnn_status s = clnn_net_save(a, path, CLNN_SAVE_OPTIMIZER);
  char msg[512];
  snprintf(msg, sizeof msg, "%s", clnn_last_error());
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, old_handler);
  TU_CHECK(s == CLNN_ERROR_IO, "save past the size limit: %s (%s)", clnn_status_string(s), msg);
  printf("full disk: %s: %s\n", clnn_status_string(s), msg);
  size_t n1 = 0;
  unsigned char *after = tu_read_file(path, &n1);
  TU_CHECK(after && n1 == n0 && !memcmp(before, after, n0), "the previous checkpoint is untouched");
  TU_CHECK(find_prefixed(root, "full.safetensors.tmp", NULL, 0) == 0, "no temporary file left behind");
  free(before);
  free(after);
  clnn_net_destroy(a);
}

/* ---- kernel cache ---- */

/* y = x + x on a fresh context over cache_dir; returns the context's statistics. */
static int add_on(const char *cache_dir, uint64_t *hits, uint64_t *misses) {
  clnn_context_options o;
  clnn_context_options_init(&o);
  o.cache_dir = cache_dir;
  clnn_context *ctx = NULL;
  if (clnn_context_create(&o, &ctx) != CLNN_SUCCESS) return 0;
  float x[37], y[37];
  for (int i = 0; i < 37; i++) x[i] = (float)i - 10.0f;
  size_t d = 37;
  clnn_tensor *tx = tu_tensor(ctx, 1, &d, x), *ty = tu_tensor(ctx, 1, &d, NULL);
  int ok = clnn_add(ctx, tx, tx, ty) == CLNN_SUCCESS && clnn_tensor_read(ty, y, 37) == CLNN_SUCCESS;
  for (int i = 0; ok && i < 37; i++) ok = y[i] == 2.0f * x[i];
  ok = ok && clnn_context_selftest(ctx) == CLNN_SUCCESS;
  clnn_context_cache_stats(ctx, hits, misses, NULL, NULL);
  clnn_tensor_destroy(tx);
  clnn_tensor_destroy(ty);
  clnn_context_destroy(ctx);
  return ok;
}

static void test_truncated_cache_entry(void) {
  char dir[256], entry[512];
  snprintf(dir, sizeof dir, "%s/cache", root);
  uint64_t hits = 0, misses = 0;
  TU_CHECK(add_on(dir, &hits, &misses) && misses >= 1, "first run builds and caches (misses %llu)",
           (unsigned long long)misses);
  TU_CHECK(find_prefixed(dir, ew_prefix, entry, sizeof entry) == 1, "one cache entry for elementwise");
  long full = file_size(entry);
  TU_CHECK(truncate(entry, full / 2) == 0, "truncate %s", entry);
  num_warnings = 0;
  TU_CHECK(add_on(dir, &hits, &misses) && misses >= 1, "truncated entry: rebuilt, correct results (misses %llu)",
           (unsigned long long)misses);
  TU_CHECK(warned("corrupt cache entry"), "a warning names the corrupt entry (%d warnings: %s)", num_warnings,
           num_warnings ? warnings[0] : "");
  /* Rewritten, not left at the truncated half. Not compared with the first entry's size: PoCL's
   * program binary also carries the machine code of the kernel variants it has generated so far,
   * so two builds of the same program may differ by some kilobytes (seen: 4,113,309 against
   * 4,099,725 bytes). That the new entry is whole is what the hit below checks: a loaded entry
   * must pass its length and checksum test, else it warns and rebuilds. */
  TU_CHECK(file_size(entry) > full / 2, "the entry is rewritten (%ld bytes; %ld before the truncation)",
           file_size(entry), full);
  num_warnings = 0;
  TU_CHECK(add_on(dir, &hits, &misses) && hits >= 2 && misses == 0, "then a hit again (hits %llu misses %llu)",
           (unsigned long long)hits, (unsigned long long)misses);
  TU_CHECK(num_warnings == 0, "no warning on a good entry");
}

static void test_unwritable_cache_dir(void) {
  char file[256], dir[300];
  snprintf(file, sizeof file, "%s/not-a-directory", root);
  FILE *f = fopen(file, "w");
  TU_CHECK(f != NULL, "create %s", file);
  if (f) fclose(f);
  snprintf(dir, sizeof dir, "%s/cache", file); /* its parent is a regular file */
  num_warnings = 0;
  uint64_t hits = 9, misses = 0;
  TU_CHECK(add_on(dir, &hits, &misses), "an unusable cache directory still gives correct results");
  TU_CHECK(hits == 0 && misses >= 1, "nothing cached (hits %llu misses %llu)", (unsigned long long)hits,
           (unsigned long long)misses);
  TU_CHECK(warned("kernel cache: cannot write"), "a warning says the cache cannot be written (%d warnings: %s)",
           num_warnings, num_warnings ? warnings[0] : "");
  if (num_warnings) printf("unwritable cache: warning \"%s\"\n", warnings[0]);
}

/* ---- attacks on clnn's files ---- */

static clnn_net *small_net(clnn_context *ctx, uint64_t seed) {
  size_t in = 16;
  clnn_net *net = NULL;
  if (clnn_net_create(ctx, 1, &in, seed, &net) != CLNN_SUCCESS) return NULL;
  if (clnn_net_add_dense(net, 4)) {
    clnn_net_destroy(net);
    return NULL;
  }
  return net;
}

static void write_file(const char *p, const char *text) {
  FILE *f = fopen(p, "wb");
  TU_CHECK(f != NULL, "create %s", p);
  if (f) {
    fputs(text, f);
    fclose(f);
  }
}

static int file_is(const char *p, const char *text) {
  size_t n = 0;
  unsigned char *b = tu_read_file(p, &n);
  int same = b && n == strlen(text) && memcmp(b, text, n) == 0;
  free(b);
  return same;
}

static void test_symlinks(clnn_context *ctx) {
  char path[256], victim[256], planted[320];
  snprintf(path, sizeof path, "%s/sym.safetensors", root);
  snprintf(victim, sizeof victim, "%s/victim.txt", root);
  write_file(victim, "precious");
  /* the name the old code used for its temporary, planted as a link to the victim */
  snprintf(planted, sizeof planted, "%s.tmp.%ld", path, (long)getpid());
  TU_CHECK(symlink(victim, planted) == 0, "symlink %s", planted);
  clnn_net *net = small_net(ctx, 1);
  TU_OK(clnn_net_save(net, path, 0));
  TU_CHECK(file_is(victim, "precious"), "a symlink at the old temporary name is not written through");
  struct stat st;
  TU_CHECK(lstat(planted, &st) == 0 && S_ISLNK(st.st_mode), "the planted link is left alone (not ours)");
  remove(planted);
  /* the checkpoint path itself a symlink: the rename replaces the link, the target is untouched */
  remove(path);
  TU_CHECK(symlink(victim, path) == 0, "symlink %s", path);
  TU_OK(clnn_net_save(net, path, 0));
  TU_CHECK(file_is(victim, "precious"), "a symlink at the checkpoint path is replaced, not written through");
  TU_CHECK(lstat(path, &st) == 0 && S_ISREG(st.st_mode), "the checkpoint is now a regular file");
  clnn_net *back = small_net(ctx, 2);
  TU_OK(clnn_net_load(back, path));
  clnn_net_destroy(back);
  clnn_net_destroy(net);
  TU_CHECK(find_prefixed(root, "sym.safetensors.tmp.", NULL, 0) == 0, "no temporary left behind");
}

static void on_alarm(int sig) {
  (void)sig;
  static const char msg[] = "test_faults: a FIFO made clnn block (alarm)\n";
  if (write(2, msg, sizeof msg - 1) < 0) _exit(2);
  _exit(2);
}

static void test_fifos(clnn_context *ctx) {
  signal(SIGALRM, on_alarm);
  alarm(60); /* a hang fails the test instead of stalling ctest */
  char fifo[256];
  snprintf(fifo, sizeof fifo, "%s/fifo", root);
  TU_CHECK(mkfifo(fifo, 0600) == 0, "mkfifo %s: %s", fifo, strerror(errno));
  clnn_net *net = small_net(ctx, 1);
  TU_STATUS(clnn_net_load(net, fifo), CLNN_ERROR_IO);
  TU_CHECK(strstr(clnn_last_error(), "not a regular file") != NULL, "load message: %s", clnn_last_error());
  TU_STATUS(clnn_net_save(net, fifo, 0), CLNN_ERROR_IO);
  struct stat st;
  TU_CHECK(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode), "a refused save leaves the FIFO alone");
  clnn_dataset *ds = NULL;
  TU_STATUS(clnn_dataset_load_idx(fifo, fifo, &ds), CLNN_ERROR_IO);
  clnn_net_destroy(net);
  /* a FIFO in place of a cache entry: ignored (not waited on), rebuilt, results correct */
  char dir[256], entry[512];
  snprintf(dir, sizeof dir, "%s/cache-fifo", root);
  uint64_t hits = 0, misses = 0;
  TU_CHECK(add_on(dir, &hits, &misses), "cache-fifo: first run");
  TU_CHECK(find_prefixed(dir, ew_prefix, entry, sizeof entry) == 1, "an entry for elementwise");
  remove(entry);
  TU_CHECK(mkfifo(entry, 0600) == 0, "mkfifo %s", entry);
  TU_CHECK(add_on(dir, &hits, &misses) && misses >= 1, "a FIFO cache entry is rebuilt (misses %llu)",
           (unsigned long long)misses);
  TU_CHECK(lstat(entry, &st) == 0 && S_ISREG(st.st_mode), "the FIFO was replaced by a real entry");
  alarm(0);
}

static void test_cache_substitution(void) {
  char dir[256], mine[512], other[512];
  snprintf(dir, sizeof dir, "%s/cache-subst", root);
  uint64_t hits = 0, misses = 0;
  TU_CHECK(add_on(dir, &hits, &misses), "cache-subst: first run");
  TU_CHECK(find_prefixed(dir, ew_prefix, mine, sizeof mine) == 1, "an entry for elementwise");
  /* another program's entry (valid checksum, wrong program) in elementwise's place */
  DIR *d = opendir(dir);
  struct dirent *e;
  other[0] = 0;
  while (d && (e = readdir(d)))
    if (strstr(e->d_name, ".clbin") && strncmp(e->d_name, ew_prefix, strlen(ew_prefix)) != 0)
      snprintf(other, sizeof other, "%s/%s", dir, e->d_name);
  if (d) closedir(d);
  TU_CHECK(other[0] != 0, "a second program's entry in %s", dir);
  if (!other[0]) return;
  size_t n = 0;
  unsigned char *b = tu_read_file(other, &n);
  FILE *f = fopen(mine, "wb");
  TU_CHECK(b && f && fwrite(b, 1, n, f) == n, "substitute %s", mine);
  if (f) fclose(f);
  free(b);
  num_warnings = 0;
  TU_CHECK(add_on(dir, &hits, &misses) && misses >= 1, "a substituted entry is rebuilt, results correct "
           "(misses %llu)", (unsigned long long)misses);
  TU_CHECK(warned("another program's cache entry"), "a warning says so (%d warnings: %s)", num_warnings,
           num_warnings ? warnings[0] : "");
  TU_CHECK(add_on(dir, &hits, &misses) && misses == 0, "then a hit again (misses %llu)", (unsigned long long)misses);
}

static void test_stale_temporaries(clnn_context *ctx) {
  char path[256], dead[320], unlocked[320], locked[320], unrelated[320];
  snprintf(path, sizeof path, "%s/stale.safetensors", root);
  pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, NULL, 0); /* a pid that no longer runs */
  snprintf(dead, sizeof dead, "%s.tmp.%ld", path, (long)child);
  snprintf(unlocked, sizeof unlocked, "%s.tmp.%ld.Ab3xYz", path, (long)child);
  snprintf(locked, sizeof locked, "%s.tmp.%ld.Live00", path, (long)getpid());
  snprintf(unrelated, sizeof unrelated, "%s.tmp.notes", path);
  write_file(dead, "partial checkpoint of a killed legacy save");
  write_file(unlocked, "partial checkpoint of a killed save");
  write_file(locked, "a save in progress");
  write_file(unrelated, "not a temporary of clnn");
  int fd = open(locked, O_RDONLY);
  TU_CHECK(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0, "hold the live writer's lock");
  clnn_net *net = small_net(ctx, 1);
  TU_OK(clnn_net_save(net, path, 0));
  TU_CHECK(file_size(dead) < 0, "a dead writer's legacy temporary is removed");
  TU_CHECK(file_size(unlocked) < 0, "an unlocked temporary is removed");
  TU_CHECK(file_size(locked) > 0, "a temporary a live writer holds locked is kept");
  TU_CHECK(file_size(unrelated) > 0, "a file that does not match the pattern is kept");
  if (fd >= 0) close(fd);
  TU_OK(clnn_net_save(net, path, 0)); /* the lock is gone: now it is stale */
  TU_CHECK(file_size(locked) < 0, "once its writer is gone, it is removed too");
  remove(unrelated);
  clnn_net_destroy(net);
}

/* ---- OpenCL objects ---- */

static cl_uint ref_count_ctx(cl_context c) {
  cl_uint n = 0;
  clGetContextInfo(c, CL_CONTEXT_REFERENCE_COUNT, sizeof n, &n, NULL);
  return n;
}
static cl_uint ref_count_queue(cl_command_queue q) {
  cl_uint n = 0;
  clGetCommandQueueInfo(q, CL_QUEUE_REFERENCE_COUNT, sizeof n, &n, NULL);
  return n;
}

static void test_no_opencl_leaks(clnn_context *ref) {
  cl_device_id dev = NULL;
  clnn_context_get_cl(ref, NULL, &dev, NULL);
  cl_int err;
  cl_context mine = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
  cl_command_queue q = mine ? clCreateCommandQueue(mine, dev, 0, &err) : NULL;
  TU_CHECK(mine && q, "own OpenCL context and queue (%d)", (int)err);
  if (!mine || !q) return;
  cl_uint c0 = ref_count_ctx(mine), q0 = ref_count_queue(q);
  clnn_context_options o;
  clnn_context_options_init(&o);
  o.cache_dir = "off";
  clnn_context *c = NULL;
  TU_OK(clnn_context_wrap(mine, dev, q, &o, &c));
  if (c) {
    /* operators with workspaces and packed GEMM operands */
    size_t xd[4] = {2, 3, 6, 6}, wd[4] = {4, 3, 3, 3}, yd[4] = {2, 4, 6, 6}, ad[2] = {40, 70}, bd[2] = {70, 50},
           cd[2] = {40, 50};
    float *h = calloc(70 * 50, sizeof(float)); /* enough for the largest tensor below */
    for (int i = 0; i < 70 * 50; i++) h[i] = (float)(i % 11) * 0.1f;
    clnn_tensor *x = tu_tensor(c, 4, xd, h), *w = tu_tensor(c, 4, wd, h), *y = tu_tensor(c, 4, yd, NULL);
    clnn_tensor *a = tu_tensor(c, 2, ad, h), *b = tu_tensor(c, 2, bd, h), *cc = tu_tensor(c, 2, cd, NULL);
    clnn_conv2d_params p;
    clnn_conv2d_params_init(&p);
    p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 1;
    TU_OK(clnn_conv2d_forward(c, &p, CLNN_CONV_ALGO_IM2COL_GEMM, x, w, NULL, CLNN_ACT_RELU, 0, y));
    TU_OK(clnn_conv2d_backward_filter(c, &p, CLNN_CONV_ALGO_IM2COL_GEMM, x, y, 0, w));
    size_t ctd[2] = {50, 40};
    clnn_tensor *ct = tu_tensor(c, 2, ctd, NULL);
    TU_OK(clnn_gemm(c, 1, 1, 1.0f, b, a, 0.0f, ct));
    TU_OK(clnn_gemm(c, 0, 0, 1.0f, a, b, 0.0f, cc));
    const char *path_taken = clnn__gemm_last_path();
    clnn_tensor *g[2] = {a, b};
    float norm;
    TU_OK(clnn_clip_grad_norm(c, g, 2, 1.0f, &norm));
    int32_t labels[2] = {1, 3};
    /* a network: parameters, optimizer state, buffers, views, a checkpoint round trip */
    size_t in[3] = {3, 6, 6};
    clnn_net *net = NULL;
    TU_OK(clnn_net_create(c, 3, in, 1, &net));
    if (net) {
      TU_OK(clnn_net_add_conv2d(net, 4, 3, 1, 1));
      TU_OK(clnn_net_add_batchnorm(net, 0, 0));
      TU_OK(clnn_net_add_activation(net, CLNN_ACT_RELU, 0));
      TU_OK(clnn_net_add_maxpool2d(net, 2, 0, 0));
      TU_OK(clnn_net_add_dropout(net, 0.5f));
      TU_OK(clnn_net_add_flatten(net));
      TU_OK(clnn_net_add_dense(net, 5));
      float loss;
      TU_OK(clnn_net_train_step(net, h, 2 * 108, 2, labels, 2, NULL, 0, &loss));
      char path[256];
      snprintf(path, sizeof path, "%s/refs.safetensors", root);
      TU_OK(clnn_net_save(net, path, CLNN_SAVE_OPTIMIZER));
      TU_OK(clnn_net_load(net, path));
      clnn_net_destroy(net);
    }
    free(h);
    clnn_tensor_destroy(x);
    clnn_tensor_destroy(w);
    clnn_tensor_destroy(y);
    clnn_tensor_destroy(a);
    clnn_tensor_destroy(b);
    clnn_tensor_destroy(cc);
    clnn_tensor_destroy(ct);
    clnn_context_destroy(c);
    clFinish(q);
    cl_uint c1 = ref_count_ctx(mine), q1 = ref_count_queue(q);
    TU_CHECK(q1 == q0, "the queue's reference count is back to %u (%u)", q0, q1);
    if (!strcmp(path_taken, "clblast"))
      printf("opencl objects: GEMM ran on CLBlast, whose program cache keeps %u context reference(s); not checked\n",
             c1 - c0);
    else
      TU_CHECK(c1 == c0, "the context's reference count is back to %u (%u): an OpenCL object was not released", c0,
               c1);
    printf("opencl objects: context references %u -> %u, queue %u -> %u after clnn_context_destroy (GEMM: %s)\n", c0,
           c1, q0, q1, path_taken);
  }
  clReleaseCommandQueue(q);
  clReleaseContext(mine);
}

int main(int argc, char **argv) {
  if (argc == 4 && !strcmp(argv[1], "--save-forever")) return save_forever(argv[2], strtoull(argv[3], NULL, 10));
  clnn__disk_cache_on_pocl(1); /* the kernel-cache tests below use clnn's cache on PoCL too */
  if (!mkdtemp(root)) {
    perror("mkdtemp");
    return 1;
  }
  clnn_context *ctx = tu_context();
  snprintf(ew_prefix, sizeof ew_prefix, "%s-", clnn__program_name(ctx, "elementwise"));
  clnn_set_log_callback(capture, CLNN_LOG_WARN, NULL);
  test_no_opencl_leaks(ctx);
  test_truncated_cache_entry();
  test_unwritable_cache_dir();
  test_full_disk(ctx);
  test_killed_save(ctx);
  test_symlinks(ctx);
  test_fifos(ctx);
  test_cache_substitution();
  test_stale_temporaries(ctx);
  clnn_set_log_callback(NULL, CLNN_LOG_ERROR, NULL);
  clnn_context_destroy(ctx);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", root);
  return tu_finish("test_faults");
}
