/* src/gemm/tune_config.h — tuned GEMM parameters: where they come from, what they hold, and the
 * file naming clnn-tune shares with the library. Needs nothing but the public header, so a tool
 * linked against the shared library (which exports only clnn_*) can name the same files the
 * library reads, and src/internal.h can hold the parameters in the context.
 *
 * Where tuned parameters come from, for a context on a device (first match wins):
 *   CLNN_TUNE=off            nothing: CLBlast's own defaults, every GEMM through CLBlast;
 *   CLNN_TUNE=<file path>    that file (clnn-tune writes candidates this way);
 *   <cache dir>/tuned-<device key>.txt   written by clnn-tune for this device, driver and clnn;
 *   the built-in table       results of clnn-tune on known devices (PoCL on x86-64 CPUs);
 *   nothing.
 * CLNN_TUNE=builtin skips the cache-directory file.
 *
 * They are resolved once, when a context is made (src/runtime/context.c), into the context's
 * `tune` field; the GEMM paths (src/gemm.c, src/gemm/gemm_cpu.c, src/gemm/gemm_clblast.c) and the
 * kernel build options (src/runtime/program.c) read that field and never the files again. */
#ifndef CLNN_TUNE_CONFIG_H
#define CLNN_TUNE_CONFIG_H

#include "clnn.h"

#include <stdint.h>
#include <stdio.h>

/* Version of the tuned-file format and of the parameters' meaning: files with another version
 * are ignored (clnn-tune rewrites them). */
#define CLNN_TUNE_FORMAT 1

/* 64-bit FNV-1a over a NUL-terminated string, the NUL included as a separator. */
static inline uint64_t clnn_tune__fnv(uint64_t h, const char *s) {
  for (;;) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ULL;
    if (!*s++) break;
  }
  return h;
}

/* "tuned-<16 hex digits>.txt": a hash of the platform, device name, device version and driver
 * version, so another driver or device gets its own file. */
static inline void clnn_tune_file_name(const clnn_device_info *info, char *buf, size_t size) {
  uint64_t h = 14695981039346656037ULL;
  h = clnn_tune__fnv(h, info->platform_name);
  h = clnn_tune__fnv(h, info->name);
  h = clnn_tune__fnv(h, info->device_version);
  h = clnn_tune__fnv(h, info->driver_version);
  snprintf(buf, size, "tuned-%016llx.txt", (unsigned long long)h);
}

#define CLNN_TUNE_MAX_CLBLAST_KERNELS 8
#define CLNN_TUNE_MAX_CLBLAST_PARAMS 24

/* CLBlastOverrideParameters arguments for one CLBlast kernel ("Xgemm", "XgemmDirect", ...). */
typedef struct clnn__clblast_set {
  char kernel[32];
  int count;
  char names[CLNN_TUNE_MAX_CLBLAST_PARAMS][24];
  size_t values[CLNN_TUNE_MAX_CLBLAST_PARAMS];
} clnn__clblast_set;

/* One context's tuned parameters. Zero tile parameters mean the kernel's defaults. */
typedef struct clnn__tune_params {
  char source[320];             /* "built-in: <label>", "file: <path>", "off (CLNN_TUNE=off)", "none" */
  int own_gemm;                 /* 1: clnn's CPU GEMM (cl/gemm_cpu.cl) on CPU-class contexts; 0: CLBlast */
  int mr, nv, mr_n, vw, rt, ku; /* cl/gemm_cpu.cl tile parameters */
  int order;                    /* GEMM_ORDER + 1 (0: the kernel's default) */
  long pack_min;                /* rows from which an in-place B is packed anyway ... */
  long pack_min_k;              /* ... where the reduction is at least this long */
  int conv_igemm;               /* "conv.igemm": 1: AUTO runs a GPU-class context's dense (not 1x1,
                                   not depthwise) convolution forward as the implicit GEMM; 0: im2col
                                   ($CLNN_CONV_IGEMM=1 or 0 at context creation overrides it) */
  int num_clblast;
  clnn__clblast_set clblast[CLNN_TUNE_MAX_CLBLAST_KERNELS];
} clnn__tune_params;

/* Resolves the parameters for a context on the device `info` whose kernel cache directory is
 * `cache_dir` (NULL: none), in the order above. Reads at most one file; logs (never fails) when a
 * file is malformed or CLNN_TUNE names one that cannot be read. */
void clnn__tune_resolve(const clnn_device_info *info, const char *cache_dir, clnn__tune_params *out);

/* The -D options the tile parameters give the build of `program` ("" for every program but
 * gemm_cpu): one option string per program and context, so the program cache keys stay few. */
void clnn__tune_program_options(const clnn__tune_params *p, const char *program, char *buf, size_t size);

/* The parameters in one line ("<source>; gemm clnn-cpu (vw 16, ...); CLBlast Xgemm overridden
 * (16 parameters); conv forward im2col"); `own_gemm_runs` says whether clnn's GEMM is the path taken. */
void clnn__tune_describe_params(const clnn__tune_params *p, int own_gemm_runs, char *buf, size_t size);

/* For tests: how many times a tuned-parameter file has been looked up on disk in this process
 * (one per context creation at most; never per GEMM). */
uint64_t clnn__tune_file_reads(void);

#endif /* CLNN_TUNE_CONFIG_H */
