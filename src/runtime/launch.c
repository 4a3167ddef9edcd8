/* src/runtime/launch.c — launch sizes: the one policy for chunked 1-D kernels (how many elements
 * a work-item takes and how large a work-group is, by device class) and the work-group limits of
 * a kernel, which no launch exceeds. */
#include "internal.h"

size_t clnn__kernel_wg_limit(clnn_context *ctx, clnn__kernel_ref *ref) {
  size_t lim = ctx->info.max_work_group_size ? ctx->info.max_work_group_size : 1;
  cl_kernel k;
  /* A kernel that does not build keeps the device's limit: its launch reports the build error.
   * The kernel's own limit was queried once, when the context created it (clnn__kernel). */
  if (clnn__kernel(ctx, ref, &k) == CLNN_SUCCESS) {
    size_t kw = ctx->kernels[ref->id].wg_size;
    if (kw > 0 && kw < lim) lim = kw;
  }
  return lim;
}

size_t clnn__local_pow2(clnn_context *ctx, clnn__kernel_ref *ref, size_t cap, size_t want) {
  size_t lim = clnn__kernel_wg_limit(ctx, ref), l = 1;
  while (l * 2 <= cap && l * 2 <= lim && l < want) l *= 2;
  return l;
}

clnn__launch clnn__launch_1d(clnn_context *ctx, clnn__kernel_ref *ref, size_t n, clnn__launch_policy p) {
  clnn__launch l;
  if (ctx->device_class == CLNN_DEVICE_CLASS_CPU) {
    size_t items = (ctx->info.compute_units ? ctx->info.compute_units : 1) * p.cpu_items_per_cu;
    size_t c = (n + items - 1) / items;
    if (p.cpu_align > 1) c = (c + p.cpu_align - 1) / p.cpu_align * p.cpu_align;
    if (c < p.cpu_min_chunk) c = p.cpu_min_chunk;
    l.chunk = c;
    l.local = 1;
    l.global = (n + c - 1) / c;
  } else {
    size_t lim = clnn__kernel_wg_limit(ctx, ref);
    l.chunk = p.gpu_chunk;
    l.local = p.gpu_local;
    while (l.local > lim && l.local > 1) l.local /= 2;
    l.global = p.gpu_chunk ? (n + p.gpu_chunk - 1) / p.gpu_chunk : n;
  }
  if (l.global == 0) l.global = 1;
  return l;
}
