/* bench/bench_peak.c — clnn-bench's measured device peak: the FMA-chain and streaming-copy kernels
 * of cl/bench.cl (best of several runs and vector widths) and the launch latency of a one-item
 * kernel. Included by clnn_bench.c after bench_timing.c; not compiled on its own. */

/* ============================================================================================== */
/* peak                                                                                           */
/* ============================================================================================== */

/* The copy kernels of cl/bench.cl over n floats (n a multiple of 16 * 64), by name: the peak
 * measurement tries all three, the memory-bound rows' same-bytes reference uses the winner. */
/* The kernels of cl/bench.cl. */
static clnn__kernel_ref k_bench_copy1 = CLNN_KERNEL_REF("bench", "bench_copy1");
static clnn__kernel_ref k_bench_copy4 = CLNN_KERNEL_REF("bench", "bench_copy4");
static clnn__kernel_ref k_bench_copy16 = CLNN_KERNEL_REF("bench", "bench_copy16");
static clnn__kernel_ref k_bench_fma1 = CLNN_KERNEL_REF("bench", "bench_fma1");
static clnn__kernel_ref k_bench_fma4 = CLNN_KERNEL_REF("bench", "bench_fma4");
static clnn__kernel_ref k_bench_fma16 = CLNN_KERNEL_REF("bench", "bench_fma16");

typedef struct copy_arg {
  clnn_context *ctx;
  const char *kernel;
  cl_mem a, b;
  int n; /* floats */
} copy_arg;
static clnn_status copy_pass(void *p) {
  const copy_arg *c = p;
  size_t g;
  if (!strcmp(c->kernel, "bench_copy16")) {
    g = (size_t)c->n / 16 / 64;
    return CLNN_RUN(c->ctx, &k_bench_copy16, 1, &g, NULL, CLNN_ARG_MEM(c->a), CLNN_ARG_MEM(c->b),
                    CLNN_ARG_INT(c->n / 16), CLNN_ARG_INT(64));
  }
  if (!strcmp(c->kernel, "bench_copy4")) {
    g = (size_t)c->n / 4;
    return CLNN_RUN(c->ctx, &k_bench_copy4, 1, &g, NULL, CLNN_ARG_MEM(c->a), CLNN_ARG_MEM(c->b),
                    CLNN_ARG_INT(c->n / 4));
  }
  g = (size_t)c->n;
  return CLNN_RUN(c->ctx, &k_bench_copy1, 1, &g, NULL, CLNN_ARG_MEM(c->a), CLNN_ARG_MEM(c->b),
                  CLNN_ARG_INT(c->n));
}

static void measure_peak(clnn_context *ctx) {
  clnn_device_info info;
  clnn_device_info_init(&info);
  clnn_context_device_info(ctx, &info);
  cl_context cc;
  cl_command_queue q;
  clnn_context_get_cl(ctx, &cc, NULL, &q);
  size_t cu = info.compute_units ? info.compute_units : 1;
  /* FMA: enough work-items for every lane of every compute unit, ~50 ms per run */
  static const struct { const char *k; int lanes; clnn__kernel_ref *ref; } fk[] = {
      {"bench_fma16", 16, &k_bench_fma16}, {"bench_fma4", 4, &k_bench_fma4}, {"bench_fma1", 1, &k_bench_fma1}};
  size_t max_items = info.type == CLNN_DEVICE_GPU ? cu * 2048 : cu * 16;
  cl_int err;
  cl_mem out = clCreateBuffer(cc, CL_MEM_READ_WRITE, max_items * 16 * sizeof(float), NULL, &err);
  if (!out) die("peak: clCreateBuffer: %d", err);
  /* every width briefly, then the best one longer: the peak is the best run (other load on the
   * machine only ever lowers a run), the median is printed beside it */
  peak_gflops = 0;
  int best_v = 0;
  for (int pass = 0; pass < 2; pass++) {
    for (size_t v = 0; v < 3; v++) {
      if (pass == 1 && (int)v != best_v) continue;
      size_t items = info.type == CLNN_DEVICE_GPU ? cu * 2048 : cu * 16;
      int iters = 1000;
      double best = 0, all[40];
      int n = 0, want = pass == 0 ? 6 : 30;
      for (int rep = 0; rep < want + 8 && n < want; rep++) {
        double t0 = now_s();
        /* CPU devices: one work-item per work-group, so that every core gets work-groups */
        const size_t one = 1;
        clnn_status s = CLNN_RUN(ctx, fk[v].ref, 1, &items, info.type == CLNN_DEVICE_GPU ? NULL : &one,
                                 CLNN_ARG_MEM(out), CLNN_ARG_INT(iters), CLNN_ARG_FLOAT(1e-3f));
        if (s != CLNN_SUCCESS) die("peak kernel %s: %s", fk[v].k, clnn_last_error());
        clFinish(q);
        double t = now_s() - t0;
        if (t < 0.03 && iters < (1 << 26)) { /* too short to time: grow */
          iters *= t > 1e-4 ? (int)(0.05 / t) + 1 : 16;
          continue;
        }
        double g = 2.0 * 12 * fk[v].lanes * (double)iters * (double)items / t / 1e9; /* 12 chains */
        all[n++] = g;
        if (g > best) best = g;
      }
      if (best > peak_gflops) {
        peak_gflops = best;
        peak_gflops_med = n ? median(all, n) : 0;
        best_v = (int)v;
        snprintf(peak_fma_kernel, sizeof peak_fma_kernel, "%s", fk[v].k);
      }
    }
  }
  clReleaseMemObject(out);
  /* copy: 2 x 128 MiB (or a quarter of the largest allocation) */
  size_t bytes = (size_t)128 << 20;
  if (info.max_alloc_bytes && bytes > info.max_alloc_bytes / 2) bytes = (size_t)(info.max_alloc_bytes / 2);
  bytes &= ~(size_t)(64 * 16 * 4 - 1);
  size_t n = bytes / sizeof(float);
  cl_mem a = clCreateBuffer(cc, CL_MEM_READ_WRITE, bytes, NULL, &err);
  cl_mem b = a ? clCreateBuffer(cc, CL_MEM_READ_WRITE, bytes, NULL, &err) : NULL;
  if (!a || !b) die("peak: cannot allocate 2 x %zu bytes for the copy kernel", bytes);
  float zero = 0.0f;
  clEnqueueFillBuffer(q, a, &zero, sizeof zero, 0, bytes, 0, NULL, NULL);
  clEnqueueFillBuffer(q, b, &zero, sizeof zero, 0, bytes, 0, NULL, NULL);
  clFinish(q);
  peak_gbs = 0;
  static const char *const copy_kernels[3] = {"bench_copy16", "bench_copy4", "bench_copy1"};
  for (int v = 0; v < 3; v++) {
    double best = 0, all[16];
    int cnt = 0;
    copy_arg ca = {ctx, copy_kernels[v], a, b, (int)n};
    for (int rep = 0; rep < 16; rep++) {
      double t0 = now_s();
      if (copy_pass(&ca) != CLNN_SUCCESS) die("copy kernel: %s", clnn_last_error());
      clFinish(q);
      double t = now_s() - t0;
      if (rep == 0) continue; /* first touch */
      double gbs = 2.0 * (double)bytes / t / 1e9;
      all[cnt++] = gbs;
      if (gbs > best) best = gbs;
    }
    if (best > peak_gbs) {
      peak_gbs = best;
      peak_gbs_med = median(all, cnt);
      snprintf(peak_copy_kernel, sizeof peak_copy_kernel, "%s", copy_kernels[v]);
    }
  }
  /* launch overhead: a kernel of one work-item, enqueue to clFinish */
  double lat[41];
  for (int i = 0; i < 41; i++) {
    size_t g = 1;
    double t0 = now_s();
    if (CLNN_RUN(ctx, &k_bench_copy1, 1, &g, NULL, CLNN_ARG_MEM(a), CLNN_ARG_MEM(b), CLNN_ARG_INT(1)) !=
        CLNN_SUCCESS)
      die("launch test: %s", clnn_last_error());
    clFinish(q);
    lat[i] = now_s() - t0;
  }
  launch_us = 1e6 * median(lat + 1, 40);
  clReleaseMemObject(a);
  clReleaseMemObject(b);
}
