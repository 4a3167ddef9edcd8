/* src/runtime/program.c — kernel programs: source lookup (embedded or $CLNN_KERNEL_DIR), build
 * options per device, the in-memory and on-disk binary caches, prebuilt binaries for devices with
 * no compiler, binary export, kernels (numbered once per process, kept per context) and launch.
 *
 * One program per build unit per context: a unit is one cl/<name>.cl file, or several built
 * together (the files a training step uses, per device class: cpu_units and other_units below).
 * Its -D options depend only on the device (class and tuned sizes), never on a call's shapes, so a
 * process builds each unit at most once and the set of variants to cache or export is small and
 * enumerable. On PoCL the disk cache is bypassed while PoCL's own kernel cache is on
 * (pocl_keeps_own_cache).
 *
 * Disk cache entry: "CLNNBIN2" | u64 payload size | u64 FNV-1a of key field and payload | key
 * field (96 bytes: "<program>-<key>", NUL-padded: what the entry was built for) | payload (the
 * device binary), little-endian, written through an exclusively created temporary in the same
 * directory and renamed into place (src/runtime/safefile.c). Only regular files are read (a FIFO
 * is refused, not waited on). Anything that does not check out — checksum, size, or a key that is
 * not the one asked for (another program's valid entry put in its place) — is ignored, deleted and
 * rebuilt from source. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "common.h"

#define CACHE_MAGIC "CLNNBIN2"
#define CACHE_KEY_BYTES 96
#define CACHE_HEADER (24 + CACHE_KEY_BYTES)
#define MAX_BINARY_BYTES ((uint64_t)1 << 30)

#ifndef CLNN_VERSION_FULL
#define CLNN_VERSION_FULL CLNN_VERSION_STRING
#endif

/* ---- build units ---- */

/* Files built together as one program (a build unit, named after the group): PoCL's front end
 * costs about 0.3-0.5 s per program whatever its size (the OpenCL C headers, the kernel-library
 * link), so the files a training step uses are one program. Measured on 2 cores with an empty
 * PoCL cache: activation alone 0.55-0.58 s, the six small training files as one 0.64-0.67 s (about
 * 2.3 s one after another), the CPU unit's ten files 1.45-1.52 s (about 4.8 s); code generation
 * per kernel unchanged. CPU-class contexts build the convolution, pooling and clnn-GEMM files in
 * the unit too (a CNN step uses them all); the GPU class leaves gemm_cpu and the CPU convolution
 * kernels out of it (its GEMM is CLBlast's). A unit's kernels keep their own file's name in
 * CLNN_KERNEL_REF. The files share one translation unit (after cl/common.h, each from its own
 * #line 1), so their top-level names must differ: a clash is a build error in every test that
 * uses the unit. Every other cl/<name>.cl is a unit of its own. PoCL's front end also costs
 * about 0.05 s per kernel in a program whether it runs or not, so kernels a plain CNN step does
 * not launch live in files outside the unit (conv2d_direct_general, conv2d_dw_cpu,
 * conv2d_winograd): the unit's front end went from 1.16-1.43 s to 0.88-0.92 s when the direct
 * kernels other than the one-input-channel ones moved out. */
static const char *const train_cpu_files[] = {"activation", "dense",         "dropout", "elementwise", "loss",
                                              "optim",      "conv2d_direct", "conv2d",  "gemm_cpu",    "pool2d", "pool2d_cpu",
                                              NULL};
static const char *const train_basics_files[] = {"activation", "dense", "dropout", "elementwise", "loss", "optim", NULL};
typedef struct build_unit {
  const char *name;
  const char *const *files;
} build_unit;
static const build_unit cpu_units[] = {{"train_cpu", train_cpu_files}, {NULL, NULL}};
static const build_unit other_units[] = {{"train_basics", train_basics_files}, {NULL, NULL}};

static const build_unit *units_for(const clnn_context *ctx) {
  return ctx->device_class == CLNN_DEVICE_CLASS_CPU ? cpu_units : other_units;
}

/* The unit that cl/<file>.cl is built in on ctx; NULL when the file is a unit of its own. */
static const build_unit *unit_of(const clnn_context *ctx, const char *file) {
  for (const build_unit *u = units_for(ctx); u->name; u++)
    for (const char *const *f = u->files; *f; f++)
      if (!strcmp(*f, file)) return u;
  return NULL;
}

/* The unit called `name` on ctx; NULL when `name` is a single file's program. */
static const build_unit *unit_named(const clnn_context *ctx, const char *name) {
  for (const build_unit *u = units_for(ctx); u->name; u++)
    if (!strcmp(u->name, name)) return u;
  return NULL;
}

/* The name of the program that holds cl/<file>.cl's kernels on ctx (its unit's, or its own). */
static const char *unit_name(const clnn_context *ctx, const char *file) {
  const build_unit *u = unit_of(ctx, file);
  return u ? u->name : file;
}

const char *clnn__program_name(const clnn_context *ctx, const char *file) { return unit_name(ctx, file); }

size_t clnn__program_unit_count(const clnn_context *ctx) {
  size_t n = 0;
  for (size_t i = 0; i < clnn__num_sources; i++) {
    const char *file = clnn__sources[i].name;
    const build_unit *u = unit_of(ctx, file);
    if (strcmp(file, "common") != 0 && (!u || !strcmp(u->files[0], file))) n++;
  }
  return n;
}

/* 1 when ctx's device is PoCL's (its platform name). */
static int on_pocl(const clnn_context *ctx) {
  return strstr(ctx->info.platform_name, "Portable Computing Language") != NULL;
}

void clnn__program_options(const clnn_context *ctx, const char *program, char *buf, size_t size) {
  char tuned[512] = "";
  const build_unit *u = unit_named(ctx, program);
  if (u) { /* the members' options, in order (only gemm_cpu has tuned ones today) */
    size_t used = 0;
    for (const char *const *f = u->files; *f && used < sizeof tuned; f++) {
      char one[512] = "";
      clnn__tune_program_options(&ctx->tune, *f, one, sizeof one);
      if (one[0]) used += (size_t)snprintf(tuned + used, sizeof tuned - used, "%s%s", used ? " " : "", one);
    }
  } else {
    clnn__tune_program_options(&ctx->tune, program, tuned, sizeof tuned);
  }
  snprintf(buf, size, "-cl-std=CL1.2 -DCLNN_DEVICE_CLASS=%d%s%s", ctx->device_class,
           tuned[0] ? " " : "", tuned);
}

/* ---- sources ---- */

/* A regular file of at most `max` bytes (FIFOs and devices refused without blocking). */
static char *read_file(const char *path, size_t *size_out, size_t max) {
  return (char *)clnn__read_regular(path, max, size_out);
}

static const clnn__source *embedded(const char *name) {
  for (size_t i = 0; i < clnn__num_sources; i++)
    if (!strcmp(clnn__sources[i].name, name)) return &clnn__sources[i];
  return NULL;
}

/* The text of cl/<file>.cl (embedded, or from $CLNN_KERNEL_DIR) or of cl/common.h ("common").
 * Caller frees. */
static clnn_status file_text(const char *file, char **out, size_t *n) {
  const char *dir = getenv("CLNN_KERNEL_DIR");
  if (dir && *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s%s", dir, file, strcmp(file, "common") ? ".cl" : ".h");
    *out = read_file(path, n, 1 << 24);
    if (!*out) return clnn__error(CLNN_ERROR_IO, "CLNN_KERNEL_DIR: cannot read %s: %s", path, strerror(errno));
    return CLNN_SUCCESS;
  }
  const clnn__source *e = embedded(file);
  if (!e) return clnn__error(CLNN_ERROR_INTERNAL, "no embedded kernel source cl/%s.cl", file);
  *out = clnn__strdup(e->text);
  *n = e->size;
  if (!*out) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "out of host memory");
  return CLNN_SUCCESS;
}

/* Full program text of build unit `name`: cl/common.h, then each of its files (one for a unit of
 * its own), each from its own line 1 under its own file name (build logs point into the right
 * file). Caller frees. */
static clnn_status program_source(const clnn_context *ctx, const char *name, char **out) {
  const char *single[] = {name, NULL};
  const build_unit *unit = unit_named(ctx, name);
  const char *const *files = unit ? unit->files : single;
  char *src = NULL;
  size_t len = 0;
  clnn_status s = file_text("common", &src, &len);
  if (s != CLNN_SUCCESS) return s;
  for (const char *const *f = files; *f; f++) {
    char *body = NULL;
    size_t n = 0;
    s = file_text(*f, &body, &n);
    if (s != CLNN_SUCCESS) {
      free(src);
      return s;
    }
    char line[160];
    int ln = snprintf(line, sizeof line, "\n#line 1 \"%s.cl\"\n", *f);
    char *grown = realloc(src, len + (size_t)ln + n + 1);
    if (!grown) {
      free(body);
      free(src);
      return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "out of host memory");
    }
    src = grown;
    memcpy(src + len, line, (size_t)ln);
    memcpy(src + len + ln, body, n);
    len += (size_t)ln + n;
    src[len] = 0;
    free(body);
  }
  *out = src;
  return CLNN_SUCCESS;
}

/* ---- keys ---- */

static void hash_str(uint64_t h[2], const char *s) {
  size_t n = strlen(s) + 1; /* include the NUL as a separator */
  h[0] = clnn__fnv1a(h[0], s, n);
  h[1] = clnn__fnv1a(h[1], s, n);
}

/* Disk-cache key: source, options, device name, driver version, platform, clnn version. */
static void cache_key(const clnn_context *ctx, const char *src, const char *opts, char key[33]) {
  uint64_t h[2] = {CLNN__FNV_BASIS, 0x6c62272e07bb0142ULL};
  hash_str(h, src);
  hash_str(h, opts);
  hash_str(h, ctx->info.name);
  hash_str(h, ctx->info.driver_version);
  hash_str(h, ctx->info.platform_name);
  hash_str(h, ctx->info.device_version);
  hash_str(h, CLNN_VERSION_FULL);
  snprintf(key, 33, "%016llx%016llx", (unsigned long long)h[0], (unsigned long long)h[1]);
}

/* Prebuilt-binary key: source and options only (the directory is per device, named by the user). */
static void binary_key(const char *src, const char *opts, char key[17]) {
  uint64_t h[2] = {CLNN__FNV_BASIS, 0};
  hash_str(h, src);
  hash_str(h, opts);
  snprintf(key, 17, "%016llx", (unsigned long long)h[0]);
}

/* ---- binary files ---- */

static void put_u64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint64_t get_u64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

/* The key field: `key` NUL-padded to CACHE_KEY_BYTES (longer keys are cut; they still differ). */
static void key_field(const char *key, unsigned char out[CACHE_KEY_BYTES]) {
  memset(out, 0, CACHE_KEY_BYTES);
  size_t n = strlen(key);
  memcpy(out, key, n < CACHE_KEY_BYTES - 1 ? n : CACHE_KEY_BYTES - 1);
}

/* Parses a cache/binary entry held in memory. Returns 0 and sets payload/size when valid; -1
 * when malformed (magic, size, checksum); -2 when well formed but built for another key than
 * `key` (NULL: any key). */
int clnn__cache_entry_parse(const unsigned char *data, size_t size, const char *key,
                            const unsigned char **payload, size_t *payload_size) {
  if (size < CACHE_HEADER || memcmp(data, CACHE_MAGIC, 8) != 0) return -1;
  uint64_t n = get_u64(data + 8);
  uint64_t sum = get_u64(data + 16);
  if (n == 0 || n > MAX_BINARY_BYTES || n != (uint64_t)(size - CACHE_HEADER)) return -1;
  if (clnn__fnv1a(CLNN__FNV_BASIS, data + 24, (size_t)n + CACHE_KEY_BYTES) != sum) return -1;
  /* the key field is a key NUL-padded to the end: nothing but zeros after its first NUL */
  const unsigned char *kf = data + 24;
  size_t klen = strnlen((const char *)kf, CACHE_KEY_BYTES);
  if (klen == CACHE_KEY_BYTES) return -1;
  for (size_t i = klen; i < CACHE_KEY_BYTES; i++)
    if (kf[i] != 0) return -1;
  if (key) {
    unsigned char want[CACHE_KEY_BYTES];
    key_field(key, want);
    if (memcmp(want, data + 24, CACHE_KEY_BYTES) != 0) return -2;
  }
  *payload = data + CACHE_HEADER;
  *payload_size = (size_t)n;
  return 0;
}

static int mkdir_p(const char *dir) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s", dir);
  for (char *p = tmp + 1; *p; p++) {
    if (*p == '/') {
      *p = 0;
      if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
      *p = '/';
    }
  }
  if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
  return 0;
}

/* Writes an entry for `key` atomically (src/runtime/safefile.c): an exclusively created, locked
 * temporary in the same directory, fsync'd, renamed into place, the directory fsync'd. Stale
 * temporaries of the same entry that killed writers left are removed first. */
static int write_entry(const char *dir, const char *path, const char *key, const unsigned char *bin,
                       size_t n) {
  if (mkdir_p(dir) != 0) return -1;
  clnn__remove_stale_temps(path);
  clnn__atomic_file af;
  if (clnn__atomic_begin(path, &af) != 0) return -1;
  unsigned char hdr[CACHE_HEADER];
  memcpy(hdr, CACHE_MAGIC, 8);
  put_u64(hdr + 8, n);
  key_field(key, hdr + 24);
  uint64_t sum = clnn__fnv1a(CLNN__FNV_BASIS, hdr + 24, CACHE_KEY_BYTES);
  put_u64(hdr + 16, clnn__fnv1a(sum, bin, n));
  if (clnn__atomic_write(&af, hdr, sizeof hdr) != 0 || clnn__atomic_write(&af, bin, n) != 0) {
    int e = errno;
    clnn__atomic_abort(&af);
    errno = e;
    return -1;
  }
  return clnn__atomic_commit(&af);
}

static clnn_status get_binary(clnn_context *ctx, cl_program prog, unsigned char **bin, size_t *n) {
  size_t size = 0;
  cl_int err = clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL);
  if (err != CL_SUCCESS) return clnn__cl_error(err, "clGetProgramInfo(CL_PROGRAM_BINARY_SIZES)");
  if (size == 0) return clnn__error(CLNN_ERROR_UNSUPPORTED, "the driver returned an empty program binary");
  unsigned char *b = malloc(size);
  if (!b) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "out of host memory");
  unsigned char *ptrs[1] = {b};
  err = clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof ptrs, ptrs, NULL);
  if (err != CL_SUCCESS) {
    free(b);
    return clnn__cl_error(err, "clGetProgramInfo(CL_PROGRAM_BINARIES)");
  }
  (void)ctx;
  *bin = b;
  *n = size;
  return CLNN_SUCCESS;
}

/* Creates and builds a program from a device binary. NULL on any failure (no error recorded). */
static cl_program program_from_binary(clnn_context *ctx, const unsigned char *bin, size_t n,
                                      const char *opts) {
  cl_int err, bstatus;
  cl_program p = clCreateProgramWithBinary(ctx->cl_ctx, 1, &ctx->device, &n, &bin, &bstatus, &err);
  if (!p) return NULL;
  if (err != CL_SUCCESS || bstatus != CL_SUCCESS ||
      clBuildProgram(p, 1, &ctx->device, opts, NULL, NULL) != CL_SUCCESS) {
    clReleaseProgram(p);
    return NULL;
  }
  return p;
}

/* *corrupt: 1 malformed or does not load, 2 another key's entry (substituted). */
static cl_program load_entry(clnn_context *ctx, const char *path, const char *key, const char *opts,
                             int *corrupt) {
  *corrupt = 0;
  size_t size = 0;
  unsigned char *data = (unsigned char *)read_file(path, &size, MAX_BINARY_BYTES + CACHE_HEADER);
  if (!data) return NULL;
  const unsigned char *payload;
  size_t n;
  cl_program p = NULL;
  int rc = clnn__cache_entry_parse(data, size, key, &payload, &n);
  if (rc == 0) p = program_from_binary(ctx, payload, n, opts);
  if (!p) *corrupt = rc == -2 ? 2 : 1;
  free(data);
  return p;
}

/* ---- building ---- */

clnn_status clnn__build_source(clnn_context *ctx, const char *name, const char *src,
                               const char *opts, cl_program *out) {
  cl_int err;
  cl_program p = clCreateProgramWithSource(ctx->cl_ctx, 1, &src, NULL, &err);
  if (!p) return clnn__cl_error(err, "clCreateProgramWithSource");
  double t0 = clnn__now_seconds();
  err = clBuildProgram(p, 1, &ctx->device, opts, NULL, NULL);
  const double dt = clnn__now_seconds() - t0;
  ctx->program_build_seconds += dt;
  ctx->program_builds++;
  clnn__log(CLNN_LOG_DEBUG, "program %s: clBuildProgram %.3f s", name, dt);
  if (err != CL_SUCCESS) {
    size_t log_n = 0;
    clGetProgramBuildInfo(p, ctx->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &log_n);
    char *log = malloc(log_n + 1);
    if (log) {
      log[0] = 0;
      clGetProgramBuildInfo(p, ctx->device, CL_PROGRAM_BUILD_LOG, log_n, log, NULL);
      log[log_n] = 0;
    }
    clReleaseProgram(p);
    clnn_status s = clnn__error(CLNN_ERROR_BUILD,
                                "building kernel program cl/%s.cl for device \"%s\" failed (%s) "
                                "with options \"%s\"; build log:\n%s",
                                name, ctx->info.name, clnn__cl_error_name(err), opts,
                                log ? log : "(no log)");
    free(log);
    return s;
  }
  *out = p;
  return CLNN_SUCCESS;
}

/* Test hook (clnn__disk_cache_on_pocl): 1 uses clnn's disk cache on PoCL whatever PoCL does. */
static atomic_int disk_cache_forced_on_pocl;

void clnn__disk_cache_on_pocl(int on) { atomic_store(&disk_cache_forced_on_pocl, on ? 1 : 0); }

/* 1 when ctx's device is PoCL's and PoCL keeps its own kernel cache (its default; POCL_KERNEL_CACHE
 * set to 0 turns it off). There clnn neither reads nor writes its disk cache, wherever the
 * directory came from (option, $CLNN_CACHE_DIR or the default): PoCL's cache (~/.cache/pocl or
 * $POCL_CACHE_DIR) already keeps the front end's output of every program and the machine code of
 * every kernel launched, while fetching a program's binary for a clnn entry (CL_PROGRAM_BINARIES)
 * makes PoCL generate code for every kernel of the program, used or not, and a clnn entry loaded
 * in a later process saves only the front end (PoCL still generates each launched kernel's code).
 * Measured with the digits demo, empty caches, load 8.5: 84 s to the first training step with
 * clnn's entries written (103 kernel binaries instead of 23), and a later run with clnn's entries
 * but PoCL's cache empty still generated the 23 (15 s). */
static int pocl_keeps_own_cache(const clnn_context *ctx) {
  if (atomic_load(&disk_cache_forced_on_pocl) || !on_pocl(ctx)) return 0;
  const char *v = getenv("POCL_KERNEL_CACHE");
  if (!v || !*v) return 1;
  return !(!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "off") || !strcasecmp(v, "no"));
}

/* Builds (or loads) program `name` for ctx, without touching the in-memory table. */
static clnn_status obtain_program(clnn_context *ctx, const char *name, cl_program *out) {
  char *src = NULL;
  clnn_status s = program_source(ctx, name, &src);
  if (s != CLNN_SUCCESS) return s;
  char opts[1024];
  clnn__program_options(ctx, name, opts, sizeof opts);
  cl_program p = NULL;
  int corrupt = 0;

  if (ctx->binary_dir) {
    char bkey[17], path[4096], ekey[64];
    binary_key(src, opts, bkey);
    snprintf(path, sizeof path, "%s/%s-%s.clbin", ctx->binary_dir, name, bkey);
    snprintf(ekey, sizeof ekey, "%s-%s", name, bkey);
    p = load_entry(ctx, path, ekey, opts, &corrupt);
    if (!p && ctx->binaries_only) {
      free(src);
      return clnn__error(CLNN_ERROR_BINARY_MISSING,
                         "no usable prebuilt binary for kernel program \"%s\" on device \"%s\": "
                         "expected %s (%s); export binaries with clnn-info --export-binaries DIR",
                         name, ctx->info.name, path, corrupt ? "file is corrupt or for another device" : "file missing");
    }
    if (p) clnn__log(CLNN_LOG_DEBUG, "program %s: loaded prebuilt binary %s", name, path);
  } else if (ctx->binaries_only) {
    free(src);
    return clnn__error(CLNN_ERROR_BINARY_MISSING, "kernel program \"%s\": binaries only, but no binary directory", name);
  }

  char cpath[4096] = "", ckey[96] = "";
  if (!p && ctx->cache_dir && !pocl_keeps_own_cache(ctx)) {
    char key[33];
    cache_key(ctx, src, opts, key);
    snprintf(ckey, sizeof ckey, "%s-%s", name, key);
    snprintf(cpath, sizeof cpath, "%s/%s-%s.clbin", ctx->cache_dir, name, key);
    p = load_entry(ctx, cpath, ckey, opts, &corrupt);
    if (p) {
      ctx->program_cache_hits++;
      clnn__log(CLNN_LOG_DEBUG, "program %s: disk cache hit %s", name, cpath);
    } else if (corrupt) {
      clnn__log(CLNN_LOG_WARN, "program %s: ignoring %s cache entry %s; rebuilding", name,
                corrupt == 2 ? "another program's" : "corrupt", cpath);
      remove(cpath);
    }
  }

  if (!p) {
    ctx->program_cache_misses++;
    s = clnn__build_source(ctx, name, src, opts, &p);
    if (s != CLNN_SUCCESS) {
      free(src);
      return s;
    }
    if (cpath[0]) {
      unsigned char *bin = NULL;
      size_t n = 0;
      if (get_binary(ctx, p, &bin, &n) == CLNN_SUCCESS) {
        if (write_entry(ctx->cache_dir, cpath, ckey, bin, n) != 0)
          clnn__log(CLNN_LOG_WARN, "kernel cache: cannot write %s (%s); continuing without caching",
                    cpath, strerror(errno));
        free(bin);
      }
    }
  }
  free(src);
  *out = p;
  return CLNN_SUCCESS;
}

/* The program holding cl/<file>.cl's kernels (its build unit), built or loaded on first use. */
static clnn_status find_program(clnn_context *ctx, const char *file, clnn__program_entry **out) {
  const char *name = unit_name(ctx, file);
  for (size_t i = 0; i < ctx->num_programs; i++)
    if (!strcmp(ctx->programs[i].name, name)) {
      *out = &ctx->programs[i];
      return CLNN_SUCCESS;
    }
  if (ctx->num_programs == ctx->cap_programs) {
    size_t cap = ctx->cap_programs ? 2 * ctx->cap_programs : 16;
    clnn__program_entry *np = realloc(ctx->programs, cap * sizeof *np);
    if (!np) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "out of host memory");
    ctx->programs = np;
    ctx->cap_programs = cap;
  }
  cl_program p;
  clnn_status s = obtain_program(ctx, name, &p);
  if (s != CLNN_SUCCESS) return s;
  char *nm = clnn__strdup(name);
  if (!nm) {
    clReleaseProgram(p);
    return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "out of host memory");
  }
  ctx->programs[ctx->num_programs].name = nm;
  ctx->programs[ctx->num_programs].program = p;
  *out = &ctx->programs[ctx->num_programs++];
  return CLNN_SUCCESS;
}

/* ---- kernels ---- */

/* The process-wide numbering of kernels: entry i - 1 is the (program, kernel) pair of id i. Names
 * are compared here once per clnn__kernel_ref, on its first use. */
static pthread_mutex_t kernel_ids_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kernel_id {
  char *program, *name;
} *kernel_ids;
static size_t num_kernel_ids, cap_kernel_ids;

/* ref's id (>= 1), or 0 when out of host memory. */
static size_t kernel_id(clnn__kernel_ref *ref) {
  size_t id = atomic_load_explicit(&ref->id, memory_order_acquire);
  if (id) return id;
  pthread_mutex_lock(&kernel_ids_lock);
  for (size_t i = 0; i < num_kernel_ids && !id; i++)
    if (!strcmp(kernel_ids[i].program, ref->program) && !strcmp(kernel_ids[i].name, ref->name)) id = i + 1;
  if (!id && num_kernel_ids == cap_kernel_ids) {
    size_t cap = cap_kernel_ids ? 2 * cap_kernel_ids : 128;
    struct kernel_id *n = realloc(kernel_ids, cap * sizeof *n);
    if (n) {
      kernel_ids = n;
      cap_kernel_ids = cap;
    }
  }
  if (!id && num_kernel_ids < cap_kernel_ids) {
    char *p = clnn__strdup(ref->program), *k = clnn__strdup(ref->name);
    if (p && k) {
      kernel_ids[num_kernel_ids].program = p;
      kernel_ids[num_kernel_ids].name = k;
      id = ++num_kernel_ids;
    } else {
      free(p);
      free(k);
    }
  }
  if (id) atomic_store_explicit(&ref->id, id, memory_order_release);
  pthread_mutex_unlock(&kernel_ids_lock);
  return id;
}

clnn_status clnn__kernel(clnn_context *ctx, clnn__kernel_ref *ref, cl_kernel *out) {
  size_t id = kernel_id(ref);
  if (!id) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "out of host memory");
  if (id < ctx->cap_kernels && ctx->kernels[id].kernel) {
    *out = ctx->kernels[id].kernel;
    return CLNN_SUCCESS;
  }
  clnn__program_entry *pe;
  clnn_status s = find_program(ctx, ref->program, &pe);
  if (s != CLNN_SUCCESS) return s;
  if (id >= ctx->cap_kernels) {
    size_t cap = ctx->cap_kernels ? ctx->cap_kernels : 64;
    while (cap <= id) cap *= 2;
    clnn__kernel_slot *nk = realloc(ctx->kernels, cap * sizeof *nk);
    if (!nk) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "out of host memory");
    memset(nk + ctx->cap_kernels, 0, (cap - ctx->cap_kernels) * sizeof *nk);
    ctx->kernels = nk;
    ctx->cap_kernels = cap;
  }
  cl_int err;
  cl_kernel k = clCreateKernel(pe->program, ref->name, &err);
  if (!k) return clnn__error(CLNN_ERROR_INTERNAL, "kernel %s not found in cl/%s.cl: %s", ref->name,
                             ref->program, clnn__cl_error_name(err));
  clnn__kernel_slot *slot = &ctx->kernels[id];
  slot->kernel = k;
  slot->wg_size = 0;
  slot->static_lmem = 0;
  if (clGetKernelWorkGroupInfo(k, ctx->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof slot->wg_size,
                               &slot->wg_size, NULL) != CL_SUCCESS)
    slot->wg_size = 0;
  /* no argument set yet: only the kernel's own __local arrays count */
  if (clGetKernelWorkGroupInfo(k, ctx->device, CL_KERNEL_LOCAL_MEM_SIZE, sizeof slot->static_lmem,
                               &slot->static_lmem, NULL) != CL_SUCCESS)
    slot->static_lmem = 0;
  *out = k;
  return CLNN_SUCCESS;
}

clnn_status clnn__run(clnn_context *ctx, clnn__kernel_ref *ref, cl_uint work_dim, const size_t *global,
                      const size_t *local, const clnn__arg *args, size_t num_args) {
  cl_kernel k;
  clnn_status s = clnn__kernel(ctx, ref, &k);
  if (s != CLNN_SUCCESS) return s;
  for (size_t i = 0; i < num_args; i++) {
    cl_int err = clSetKernelArg(k, (cl_uint)i, args[i].size, args[i].ptr);
    if (err != CL_SUCCESS) {
      char what[256];
      snprintf(what, sizeof what, "setting argument %zu of kernel %s", i, ref->name);
      return clnn__cl_error(err, what);
    }
  }
  /* No launch exceeds the kernel's work-group limit or the device's local memory (both as the
   * context reports them, capped by the limit options or $CLNN_DEVICE_LIMITS): a clear error instead of a
   * driver's CL_INVALID_WORK_GROUP_SIZE or CL_OUT_OF_RESOURCES on some devices only. */
  if (local) {
    size_t wg = 1, lim = clnn__kernel_wg_limit(ctx, ref);
    for (cl_uint d = 0; d < work_dim && d < 3; d++) wg *= local[d] ? local[d] : 1;
    if (wg > lim)
      return clnn__error(CLNN_ERROR_INTERNAL, "kernel %s launched with a work-group of %zu, above its limit of %zu",
                         ref->name, wg, lim);
  }
  cl_ulong args_bytes = 0;
  for (size_t i = 0; i < num_args; i++)
    if (!args[i].ptr) args_bytes += args[i].size;
  if (ctx->info.local_mem_bytes) {
    /* the kernel's own __local arrays (queried when it was created) and the __local arguments */
    cl_ulong used = ctx->kernels[ref->id].static_lmem + args_bytes;
    if (used > ctx->info.local_mem_bytes)
      return clnn__error(CLNN_ERROR_INTERNAL, "kernel %s needs %llu bytes of local memory, above the device's %llu",
                         ref->name, (unsigned long long)used, (unsigned long long)ctx->info.local_mem_bytes);
  }
  size_t g[3];
  for (cl_uint d = 0; d < work_dim && d < 3; d++) {
    g[d] = global[d] ? global[d] : 1;
    if (local && local[d]) g[d] = (g[d] + local[d] - 1) / local[d] * local[d];
  }
  /* One line per launch at debug level (tests/test_oclgrind_kernels.c counts the kernels run). */
  clnn__log(CLNN_LOG_DEBUG, "launch %s/%s global %zu,%zu,%zu local %zu,%zu,%zu", ref->program, ref->name, g[0],
            work_dim > 1 ? g[1] : 1, work_dim > 2 ? g[2] : 1, local ? local[0] : 0,
            local && work_dim > 1 ? local[1] : 0, local && work_dim > 2 ? local[2] : 0);
  cl_int err = clEnqueueNDRangeKernel(ctx->queue, k, work_dim, NULL, g, local, 0, NULL, NULL);
  if (err != CL_SUCCESS) {
    char what[256];
    snprintf(what, sizeof what, "enqueueing kernel %s", ref->name);
    return clnn__cl_error(err, what);
  }
  return CLNN_SUCCESS;
}

void clnn__programs_release(clnn_context *ctx) {
  for (size_t i = 0; i < ctx->cap_kernels; i++)
    if (ctx->kernels[i].kernel) clReleaseKernel(ctx->kernels[i].kernel);
  free(ctx->kernels);
  ctx->kernels = NULL;
  ctx->cap_kernels = 0;
  for (size_t i = 0; i < ctx->num_programs; i++) {
    clReleaseProgram(ctx->programs[i].program);
    free(ctx->programs[i].name);
  }
  free(ctx->programs);
  ctx->programs = NULL;
  ctx->num_programs = ctx->cap_programs = 0;
}

clnn_status clnn_export_binaries(clnn_context *ctx, const char *dir, int *programs_written) {
  if (!ctx || !dir || !*dir)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_export_binaries: ctx and dir must be non-NULL");
  if (programs_written) *programs_written = 0;
  if (mkdir_p(dir) != 0)
    return clnn__error(CLNN_ERROR_IO, "clnn_export_binaries: cannot create %s: %s", dir, strerror(errno));
  int written = 0;
  for (size_t i = 0; i < clnn__num_sources; i++) {
    const char *file = clnn__sources[i].name;
    const build_unit *u = unit_of(ctx, file);
    if (!strcmp(file, "common") || (u && strcmp(u->files[0], file) != 0)) continue; /* a unit once */
    const char *name = unit_name(ctx, file);
    clnn__program_entry *pe;
    clnn_status s = find_program(ctx, file, &pe);
    if (s != CLNN_SUCCESS) return s;
    unsigned char *bin = NULL;
    size_t n = 0;
    s = get_binary(ctx, pe->program, &bin, &n);
    if (s != CLNN_SUCCESS) return s;
    char *src = NULL;
    s = program_source(ctx, name, &src);
    if (s != CLNN_SUCCESS) {
      free(bin);
      return s;
    }
    char opts[1024], bkey[17], path[4096];
    clnn__program_options(ctx, name, opts, sizeof opts);
    binary_key(src, opts, bkey);
    free(src);
    snprintf(path, sizeof path, "%s/%s-%s.clbin", dir, name, bkey);
    char ekey[64];
    snprintf(ekey, sizeof ekey, "%s-%s", name, bkey);
    int rc = write_entry(dir, path, ekey, bin, n);
    free(bin);
    if (rc != 0) return clnn__error(CLNN_ERROR_IO, "clnn_export_binaries: cannot write %s: %s", path, strerror(errno));
    written++;
  }
  if (programs_written) *programs_written = written;
  return CLNN_SUCCESS;
}
