/* src/tune.h — tuned parameters: what src/tune.c, src/gemm.c and the clnn-tune / clnn-bench tools
 * share. Header-only helpers here use nothing but the public header, so a tool linked against the
 * shared library (which exports only clnn_*) can name the same files the library reads.
 *
 * Where tuned parameters come from, for a context on a device (first match wins):
 *   CLNN_TUNE=off            nothing: CLBlast's own defaults, every GEMM through CLBlast;
 *   CLNN_TUNE=<file path>    that file (clnn-tune writes candidates this way);
 *   <cache dir>/tuned-<device key>.txt   written by clnn-tune for this device, driver and clnn;
 *   the built-in table       results of clnn-tune on known devices (PoCL on x86-64 CPUs);
 *   nothing.
 * CLNN_TUNE=builtin skips the cache-directory file. */
#ifndef CLNN_TUNE_H
#define CLNN_TUNE_H

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

#ifdef CLNN_BUILDING_LIBRARY
#include "internal.h"

/* src/gemm.c: CLBlastOverrideParameters for single precision on ctx's device. CLBlast keeps
 * overrides per device for the whole process, so the last context created on a device decides
 * them for every context on that device. */
clnn_status clnn__gemm_clblast_override(clnn_context *ctx, const char *kernel, size_t count,
                                        const char **names, const size_t *values);

/* Hooks src/tune.c defines over weak defaults elsewhere (src/gemm.c, src/runtime/program.c). */
void clnn__tune_apply_gemm(clnn_context *ctx);
int clnn__own_gemm(clnn_context *ctx, int ta, int tb, size_t m, size_t n, size_t k, float alpha, cl_mem a,
                   size_t a_off, size_t lda, size_t a_stride, cl_mem b, size_t b_off, size_t ldb,
                   size_t b_stride, float beta, cl_mem c, size_t c_off, size_t ldc, size_t c_stride,
                   size_t batch, clnn_status *status);
void clnn__tuned_program_options(const clnn_context *ctx, const char *program, char *buf, size_t size);
#endif

/* Library internals the bench tool reads (it links the static library): where this context's
 * tuned parameters came from ("built-in: ...", "file: ...", "off", "none"), and the GEMM
 * configuration in one line. */
const char *clnn__tune_source(const clnn_context *ctx);
void clnn__tune_describe(const clnn_context *ctx, char *buf, size_t size);

#endif /* CLNN_TUNE_H */
