/* bench/clnn_bench.c — clnn-bench: the benchmark suite of docs/BENCHMARKS.md on one device,
 * side by side with a reference on the same machine in the same run.
 *
 *   clnn-bench [--tier ci|gpu] [--case NAME[,NAME...]]... [--runs N] [--warmup N] [--budget S]
 *              [--device SEL] [--json FILE] [--plot FILE.png] [--no-reference] [--list]
 *
 * What it measures, in this order, in one process:
 * 1. The device's measured peak: an FMA-chain kernel (GFLOP/s) and a streaming copy (GB/s of bytes
 *    read + written), cl/bench.cl, best of several runs and vector widths.
 * 2. For the GEMM cases, CLBlast with its own default parameters (a context with CLNN_TUNE=off,
 *    created before any context applies tuned parameters: CLBlast keeps overrides per device for
 *    the whole process).
 * 3. Every selected case on a context with clnn's tuned parameters: per pass the median and
 *    minimum over --runs timed runs after --warmup untimed ones. Time per run = OpenCL profiling
 *    time from a marker enqueued before the pass to a marker enqueued after it (CL_PROFILING_
 *    COMMAND_END of each; the queue is idle before the first), and the wall-clock time of
 *    enqueue + clFinish, reported beside it. Rates use the profiling median.
 * 4. The reference on the host in the same run: OpenBLAS sgemm for GEMM, straightforward
 *    im2col + sgemm for convolution, an sgemm-based LSTM; memory-bound cases are compared with the
 *    measured copy bandwidth. ratio = reference time / clnn time (above 1: clnn is faster).
 * The first call of each pass is timed separately (cold: kernel builds or cache loads), with the
 * program-cache statistics of the context (clnn_context_cache_stats) before and after.
 *
 * FLOP conventions (docs/BENCHMARKS.md): GEMM 2*M*N*K; convolution per pass
 * 2*N*K*P*Q*(C/groups)*R*S ("direct" FLOPs); LSTM forward 8*H*(H+I)*N*T, backward 2x forward;
 * memory-bound cases: bytes read + written at least once.
 *
 * This tool links the library's objects (not only the public API) to report which GEMM path ran
 * and where the tuned parameters came from; operators that are missing from the build are found
 * at run time (weak references) and their cases reported as not available. */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h" /* clnn__gemm_describe, clnn__gemm_last_path, clnn__conv2d_last_algo */

#ifdef I
#undef I /* <complex.h>, pulled in by cblas.h; the LSTM code below names the input size I */
#endif

/* Operators are looked up at run time so the bench builds before every operator has landed. */
#pragma weak clnn_conv2d_forward
#pragma weak clnn_conv2d_backward_data
#pragma weak clnn_conv2d_backward_filter
#pragma weak clnn_conv2d_output_dims
#pragma weak clnn_conv2d_params_init
#pragma weak clnn_maxpool2d_forward
#pragma weak clnn_maxpool2d_backward
#pragma weak clnn_avgpool2d_forward
#pragma weak clnn_avgpool2d_backward
#pragma weak clnn_pool2d_params_init
#pragma weak clnn_pool2d_output_dims
#pragma weak clnn_lstm_forward
#pragma weak clnn_lstm_backward
#pragma weak clnn_lstm_reserve_numel
#pragma weak clnn_softmax_cross_entropy
#pragma weak clnn_adam_step
#pragma weak clnn_activation_backward
#pragma weak clnn__conv2d_last_algo

/* ============================================================================================== */
/* small utilities                                                                                */
/* ============================================================================================== */

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "clnn-bench: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(2);
}

#define CHECK(call)                                                                            \
  do {                                                                                         \
    clnn_status s_ = (call);                                                                   \
    if (s_ != CLNN_SUCCESS) die("%s failed: %s: %s", #call, clnn_status_string(s_), clnn_last_error()); \
  } while (0)

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static float frand(void) { /* uniform in [-1, 1) */
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (float)((rng_state >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}
static float *host_rand(size_t n, float scale) {
  float *p = malloc(n * sizeof(float));
  if (!p) die("out of host memory (%zu floats)", n);
  for (size_t i = 0; i < n; i++) p[i] = frand() * scale;
  return p;
}
static float *host_zero(size_t n) {
  float *p = calloc(n ? n : 1, sizeof(float));
  if (!p) die("out of host memory (%zu floats)", n);
  return p;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}
static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* max |a-b| / (max|b| + tiny): a relative error over the whole array */
static double rel_err(const float *a, const float *b, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - (double)b[i]);
    if (!(d <= num)) num = d; /* NaN propagates */
    if (fabs((double)b[i]) > den) den = fabs((double)b[i]);
  }
  return num / (den + 1e-30);
}

/* ============================================================================================== */
/* options, results                                                                               */
/* ============================================================================================== */

typedef struct options {
  const char *tier;
  char *cases[256];
  int num_cases;
  int runs, warmup;
  double budget; /* > 0: seconds per pass; long passes get fewer runs (at least 3) */
  const char *device;
  const char *json, *plot;
  int reference;
  const char *reference_file; /* another reference's times (bench/torch_reference.py writes one) */
  int clblast; /* 0: skip the CLBlast passes of the GEMM cases */
  int list;
} options;

typedef struct result {
  char name[48], pass[32], path[96], unit[8];
  int runs, warmup;
  double med_ms, min_ms, wall_ms;   /* profiling median and minimum, wall-clock median */
  double work;                      /* FLOPs or bytes per pass */
  double rate;                      /* GFLOP/s or GB/s at the median */
  double pct_peak;                  /* of the measured FMA peak or copy bandwidth */
  char ref_name[48];
  double ref_ms, ref_rate, ratio;   /* ratio = ref_ms / med_ms; 0 when none */
  double ref_min_ms;                /* the reference's fastest run */
  double cold_ms;                   /* first call (builds or cache loads included) */
  unsigned long long builds, hits;  /* program builds and disk-cache hits during the first call */
  double build_s;                   /* seconds of those builds */
  double check;                     /* relative error against the reference result; < 0: none */
  char note[160];
} result;

/* The host's 1-minute load average (Linux /proc/loadavg), or -1: other work on the machine is the
 * main source of noise in the timings, so the output records it at the start and the end. */
static double load_average(void) {
  double l = -1;
  FILE *f = fopen("/proc/loadavg", "r");
  if (f) {
    if (fscanf(f, "%lf", &l) != 1) l = -1;
    fclose(f);
  }
  return l;
}
static double load_start, load_end;

static result *results;
static int num_results, cap_results;
static double peak_gflops, peak_gbs, peak_gflops_med, peak_gbs_med;
static double launch_us; /* median enqueue-to-finish time of a one-work-item kernel */
static char peak_fma_kernel[32], peak_copy_kernel[32];
static options opt;
static int case_index, case_total;

static result *new_result(const char *name, const char *pass) {
  if (num_results == cap_results) {
    cap_results = cap_results ? 2 * cap_results : 64;
    results = realloc(results, (size_t)cap_results * sizeof *results);
    if (!results) die("out of host memory");
  }
  result *r = &results[num_results++];
  memset(r, 0, sizeof *r);
  snprintf(r->name, sizeof r->name, "%s", name);
  snprintf(r->pass, sizeof r->pass, "%s", pass);
  r->check = -1;
  return r;
}

static void not_available(const char *name, const char *why) {
  result *r = new_result(name, "-");
  snprintf(r->note, sizeof r->note, "not available: %s", why);
  fprintf(stderr, "[%d/%d] %s: not available (%s)\n", case_index, case_total, name, why);
}

/* ============================================================================================== */
/* timing                                                                                         */
/* ============================================================================================== */

typedef clnn_status (*pass_fn)(void *arg);
typedef void (*host_fn)(void *arg);

static clnn_context *g_ctx; /* the context passes run on (for markers and cache statistics) */

static cl_ulong marker_end(cl_event e) {
  cl_ulong t = 0;
  if (clGetEventProfilingInfo(e, CL_PROFILING_COMMAND_END, sizeof t, &t, NULL) != CL_SUCCESS) t = 0;
  return t;
}

/* Runs fn `warmup` + `runs` times (fewer when --budget says so), fills r's times. */
static int host_ran; /* a host reference ran since the last timed clnn pass */
static void time_pass(result *r, pass_fn fn, void *arg) {
  if (host_ran) {
    /* OpenBLAS's idle threads spin for a while (2^28 cycles by default, ~0.1 s) before they
     * sleep, on the cores PoCL's threads need: let them settle so a short clnn pass after a
     * host reference is not measured against them. */
    struct timespec ts = {0, 250 * 1000 * 1000};
    nanosleep(&ts, NULL);
    host_ran = 0;
  }
  cl_command_queue q;
  clnn_context_get_cl(g_ctx, NULL, NULL, &q);
  CHECK(clnn_context_finish(g_ctx));
  /* cold call */
  uint64_t h0, m0, b0, h1, m1, b1;
  double bs0, bs1;
  clnn_context_cache_stats(g_ctx, &h0, &m0, &b0, &bs0);
  double t0 = now_s();
  CHECK(fn(arg));
  CHECK(clnn_context_finish(g_ctx));
  r->cold_ms = 1e3 * (now_s() - t0);
  clnn_context_cache_stats(g_ctx, &h1, &m1, &b1, &bs1);
  r->builds = (unsigned long long)(b1 - b0);
  r->hits = (unsigned long long)(h1 - h0);
  r->build_s = bs1 - bs0;
  snprintf(r->path, sizeof r->path, "%s", clnn__gemm_last_path());

  int runs = opt.runs, warmup = opt.warmup;
  if (opt.budget > 0) {
    double per = r->cold_ms * 1e-3;
    /* a second, warm call gives a better estimate than the cold one */
    t0 = now_s();
    CHECK(fn(arg));
    CHECK(clnn_context_finish(g_ctx));
    per = now_s() - t0;
    int fit = (int)(opt.budget / (per > 1e-6 ? per : 1e-6));
    if (fit < runs) runs = fit < 3 ? 3 : fit;
    if (runs < opt.runs && warmup > 1) warmup = 1;
  }
  double *dev = malloc(sizeof(double) * (size_t)runs), *wall = malloc(sizeof(double) * (size_t)runs);
  int have_prof = 1;
  for (int i = 0; i < warmup; i++) CHECK(fn(arg));
  CHECK(clnn_context_finish(g_ctx));
  for (int i = 0; i < runs; i++) {
    cl_event e0 = NULL, e1 = NULL;
    double w0 = now_s();
    if (clEnqueueMarkerWithWaitList(q, 0, NULL, &e0) != CL_SUCCESS) e0 = NULL;
    CHECK(fn(arg));
    if (clEnqueueMarkerWithWaitList(q, 0, NULL, &e1) != CL_SUCCESS) e1 = NULL;
    clFinish(q);
    wall[i] = now_s() - w0;
    cl_ulong s = e0 ? marker_end(e0) : 0, e = e1 ? marker_end(e1) : 0;
    if (!s || !e || e < s) have_prof = 0;
    dev[i] = (double)(e - s) * 1e-9;
    if (e0) clReleaseEvent(e0);
    if (e1) clReleaseEvent(e1);
  }
  if (!have_prof) memcpy(dev, wall, sizeof(double) * (size_t)runs);
  r->runs = runs;
  r->warmup = warmup;
  r->wall_ms = 1e3 * median(wall, runs);
  r->med_ms = 1e3 * median(dev, runs);
  r->min_ms = 1e3 * dev[0];
  if (!have_prof) snprintf(r->note + strlen(r->note), sizeof r->note - strlen(r->note), "%swall clock only",
                           r->note[0] ? "; " : "");
  free(dev);
  free(wall);
}

/* Host reference: the same number of runs, wall clock; returns the median in ms (the fastest
 * run goes to last_host_min_ms). */
static double last_host_min_ms;
static double time_host(host_fn fn, void *arg, int runs_hint) {
  host_ran = 1;
  int runs = runs_hint > 0 ? runs_hint : opt.runs, warmup = opt.warmup;
  double t0 = now_s();
  fn(arg);
  double per = now_s() - t0;
  if (opt.budget > 0) {
    int fit = (int)(opt.budget / (per > 1e-6 ? per : 1e-6));
    if (fit < runs) runs = fit < 3 ? 3 : fit;
    if (runs < opt.runs && warmup > 1) warmup = 1;
  }
  for (int i = 1; i < warmup; i++) fn(arg);
  double *t = malloc(sizeof(double) * (size_t)runs);
  for (int i = 0; i < runs; i++) {
    t0 = now_s();
    fn(arg);
    t[i] = now_s() - t0;
  }
  double m = 1e3 * median(t, runs);
  last_host_min_ms = 1e3 * t[0]; /* sorted by median() */
  free(t);
  return m;
}

static void finish_rate(result *r, double work, const char *unit) {
  r->work = work;
  snprintf(r->unit, sizeof r->unit, "%s", unit);
  r->rate = r->med_ms > 0 ? work / (r->med_ms * 1e-3) / 1e9 : 0;
  double peak = !strcmp(unit, "GB/s") ? peak_gbs : peak_gflops;
  r->pct_peak = peak > 0 ? 100.0 * r->rate / peak : 0;
}

static void set_ref(result *r, const char *name, double ref_ms) {
  snprintf(r->ref_name, sizeof r->ref_name, "%s", name);
  r->ref_ms = ref_ms;
  r->ref_min_ms = last_host_min_ms;
  r->ref_rate = ref_ms > 0 ? r->work / (ref_ms * 1e-3) / 1e9 : 0;
  r->ratio = (ref_ms > 0 && r->med_ms > 0) ? ref_ms / r->med_ms : 0;
}

static void progress(const result *r) {
  fprintf(stderr, "[%d/%d] %-16s %-15s %9.3f ms  %8.1f %-6s", case_index, case_total, r->name, r->pass, r->med_ms,
          r->rate, r->unit);
  if (r->ratio > 0) fprintf(stderr, "  ref %s %.3f ms  ratio %.2f", r->ref_name, r->ref_ms, r->ratio);
  fprintf(stderr, "  [%s]\n", r->path);
}

/* ============================================================================================== */
/* tensors                                                                                        */
/* ============================================================================================== */

static clnn_tensor *tensor(int nd, const size_t *dims, const float *data) {
  clnn_tensor *t = NULL;
  CHECK(clnn_tensor_create(g_ctx, nd, dims, &t));
  if (data) CHECK(clnn_tensor_write(t, data, clnn_tensor_numel(t)));
  else CHECK(clnn_tensor_fill(t, 0.0f));
  return t;
}
static clnn_tensor *tensor2(size_t a, size_t b, const float *data) {
  size_t d[2] = {a, b};
  return tensor(2, d, data);
}
static float *read_back(const clnn_tensor *t) {
  float *p = malloc(clnn_tensor_numel(t) * sizeof(float));
  if (!p) die("out of host memory");
  CHECK(clnn_tensor_read(t, p, clnn_tensor_numel(t)));
  return p;
}

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

/* ============================================================================================== */
/* GEMM cases                                                                                     */
/* ============================================================================================== */

typedef struct gemm_arg {
  int ta, tb;
  size_t m, n, k;
  clnn_tensor *a, *b, *c;
  const float *ha, *hb;
  float *hc;
} gemm_arg;

static clnn_status gemm_pass(void *p) {
  gemm_arg *g = p;
  return clnn_gemm(g_ctx, g->ta, g->tb, 1.0f, g->a, g->b, 0.0f, g->c);
}
static void gemm_host(void *p) {
  gemm_arg *g = p;
  cblas_sgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans, (int)g->m,
              (int)g->n, (int)g->k, 1.0f, g->ha, g->ta ? (int)g->m : (int)g->k, g->hb, g->tb ? (int)g->k : (int)g->n,
              0.0f, g->hc, (int)g->n);
}

typedef struct gemm_shape {
  const char *name;
  int ta, tb;
  size_t m, n, k;
  const char *tier;
} gemm_shape;

static const gemm_shape gemm_shapes[] = {
    {"gemm_nn_1024", 0, 0, 1024, 1024, 1024, "ci"},
    {"gemm_speech", 0, 0, 1760, 128, 1760, "ci"},
    {"gemm_speech_nt", 0, 1, 1760, 128, 1760, "ci"},
    {"gemm_speech_tn", 1, 0, 1760, 128, 1760, "ci"},
    {"gemm_wide", 0, 0, 2560, 64, 2560, "ci"},
    {"gemm_3072", 0, 0, 3072, 128, 1024, "ci"},
    {"gemm_large", 0, 0, 5124, 9124, 2560, "gpu"},
};

/* CLBlast default times, measured first (phase 0), by case name */
static struct {
  char name[48];
  double med_ms, min_ms, wall_ms, cold_ms;
  int runs;
} clblast_default[16];
static int num_clblast_default;

static void gemm_setup(const gemm_shape *s, gemm_arg *g, int host) {
  memset(g, 0, sizeof *g);
  g->ta = s->ta;
  g->tb = s->tb;
  g->m = s->m;
  g->n = s->n;
  g->k = s->k;
  float *ha = host_rand(s->m * s->k, 1.0f), *hb = host_rand(s->k * s->n, 1.0f);
  g->a = s->ta ? tensor2(s->k, s->m, ha) : tensor2(s->m, s->k, ha);
  g->b = s->tb ? tensor2(s->n, s->k, hb) : tensor2(s->k, s->n, hb);
  g->c = tensor2(s->m, s->n, NULL);
  if (host) {
    g->ha = ha;
    g->hb = hb;
    g->hc = host_zero(s->m * s->n);
  } else {
    free(ha);
    free(hb);
  }
}
static void gemm_teardown(gemm_arg *g) {
  clnn_tensor_destroy(g->a);
  clnn_tensor_destroy(g->b);
  clnn_tensor_destroy(g->c);
  free((void *)g->ha);
  free((void *)g->hb);
  free(g->hc);
}

static void run_gemm_default(const gemm_shape *s) {
  gemm_arg g;
  gemm_setup(s, &g, 0);
  result tmp;
  memset(&tmp, 0, sizeof tmp);
  time_pass(&tmp, gemm_pass, &g);
  if (num_clblast_default < 16) {
    snprintf(clblast_default[num_clblast_default].name, sizeof clblast_default[0].name, "%s", s->name);
    clblast_default[num_clblast_default].med_ms = tmp.med_ms;
    clblast_default[num_clblast_default].min_ms = tmp.min_ms;
    clblast_default[num_clblast_default].wall_ms = tmp.wall_ms;
    clblast_default[num_clblast_default].cold_ms = tmp.cold_ms;
    clblast_default[num_clblast_default].runs = tmp.runs;
    num_clblast_default++;
  }
  fprintf(stderr, "[0/%d] %-16s clblast-default %9.3f ms  %8.1f GFLOP/s\n", case_total, s->name, tmp.med_ms,
          2.0 * (double)s->m * (double)s->n * (double)s->k / (tmp.med_ms * 1e-3) / 1e9);
  gemm_teardown(&g);
}

static void run_gemm(const gemm_shape *s) {
  gemm_arg g;
  gemm_setup(s, &g, 1);
  double flops = 2.0 * (double)s->m * (double)s->n * (double)s->k;
  double ref_ms = 0;
  if (opt.reference) ref_ms = time_host(gemm_host, &g, 0);
  else gemm_host(&g);
  char tuned[400];
  clnn__gemm_describe(g_ctx, tuned, sizeof tuned);

  /* pass 1: what clnn does by default on this device */
  result *r = new_result(s->name, "clnn");
  time_pass(r, gemm_pass, &g);
  finish_rate(r, flops, "GFLOP/s");
  if (opt.reference) set_ref(r, "openblas-sgemm", ref_ms);
  float *got = read_back(g.c);
  r->check = rel_err(got, g.hc, s->m * s->n);
  free(got);
  progress(r);

  if (!opt.clblast) {
    gemm_teardown(&g);
    return;
  }
  /* pass 2: CLBlast with the tuned parameters (forced) */
  int saved = g_ctx->force_clblast;
  g_ctx->force_clblast = 1; /* the option force_clblast of clnn_context_options, for this pass only */
  r = new_result(s->name, "clblast-tuned");
  time_pass(r, gemm_pass, &g);
  g_ctx->force_clblast = saved;
  finish_rate(r, flops, "GFLOP/s");
  if (opt.reference) set_ref(r, "openblas-sgemm", ref_ms);
  got = read_back(g.c);
  r->check = rel_err(got, g.hc, s->m * s->n);
  free(got);
  snprintf(r->note, sizeof r->note, "%s", strstr(tuned, "CLBlast") ? "CLBlast parameters from clnn's tuned set"
                                                                   : "no tuned CLBlast parameters: same as default");
  progress(r);

  /* pass 3: CLBlast defaults, measured in phase 0 */
  for (int i = 0; i < num_clblast_default; i++)
    if (!strcmp(clblast_default[i].name, s->name)) {
      r = new_result(s->name, "clblast-default");
      r->med_ms = clblast_default[i].med_ms;
      r->min_ms = clblast_default[i].min_ms;
      r->wall_ms = clblast_default[i].wall_ms;
      r->cold_ms = clblast_default[i].cold_ms;
      r->runs = clblast_default[i].runs;
      r->warmup = opt.warmup;
      snprintf(r->path, sizeof r->path, "clblast");
      finish_rate(r, flops, "GFLOP/s");
      if (opt.reference) set_ref(r, "openblas-sgemm", ref_ms);
      snprintf(r->note, sizeof r->note, "CLNN_TUNE=off context, measured before any override");
      progress(r);
    }
  gemm_teardown(&g);
}

/* ============================================================================================== */
/* convolution                                                                                    */
/* ============================================================================================== */

typedef struct conv_shape {
  const char *name;
  int N, C, H, W, K, R, S, stride, pad, groups;
  const char *tier;
} conv_shape;

static const conv_shape conv_shapes[] = {
    {"conv_res3x3_56", 2, 64, 56, 56, 64, 3, 3, 1, 1, 1, "ci"},
    {"conv_res3x3_14", 2, 256, 14, 14, 256, 3, 3, 1, 1, 1, "ci"},
    {"conv_1x1_56", 2, 64, 56, 56, 256, 1, 1, 1, 0, 1, "ci"},
    {"conv_1x1_s2", 2, 256, 56, 56, 128, 1, 1, 2, 0, 1, "ci"},
    {"conv_stem7x7", 2, 3, 224, 224, 64, 7, 7, 2, 3, 1, "ci"},
    {"conv_dw3x3", 2, 144, 56, 56, 144, 3, 3, 1, 1, 144, "ci"},
    {"conv_lenet5x5", 64, 1, 28, 28, 32, 5, 5, 1, 2, 1, "ci"},
    {"conv_res3x3_56_n16", 16, 64, 56, 56, 64, 3, 3, 1, 1, 1, "gpu"},
    {"conv_res3x3_14_n16", 16, 256, 14, 14, 256, 3, 3, 1, 1, 1, "gpu"},
    {"conv_1x1_56_n16", 16, 64, 56, 56, 256, 1, 1, 1, 0, 1, "gpu"},
    {"conv_1x1_s2_n16", 16, 256, 56, 56, 128, 1, 1, 2, 0, 1, "gpu"},
    {"conv_stem7x7_n16", 16, 3, 224, 224, 64, 7, 7, 2, 3, 1, "gpu"},
    {"conv_dw3x3_n16", 16, 144, 56, 56, 144, 3, 3, 1, 1, 144, "gpu"},
    {"conv_vgg3x3_112", 8, 64, 112, 112, 128, 3, 3, 1, 1, 1, "gpu"},
    {"conv_inception5x5", 16, 192, 28, 28, 32, 5, 5, 1, 2, 1, "gpu"},
};

typedef struct conv_arg {
  const conv_shape *s;
  int P, Q, Cg, Kg;
  clnn_conv2d_params p;
  clnn_tensor *x, *w, *y, *dy, *dx, *dw;
  float *hx, *hw, *hy, *hdy, *hdx, *hdw, *col; /* host reference buffers */
} conv_arg;

static clnn_status conv_fwd(void *p) {
  conv_arg *c = p;
  return clnn_conv2d_forward(g_ctx, &c->p, CLNN_CONV_ALGO_AUTO, c->x, c->w, NULL, CLNN_ACT_IDENTITY, 0.0f, c->y);
}
static clnn_status conv_bwd_data(void *p) {
  conv_arg *c = p;
  return clnn_conv2d_backward_data(g_ctx, &c->p, CLNN_CONV_ALGO_AUTO, c->dy, c->w, 0.0f, c->dx);
}
static clnn_status conv_bwd_filter(void *p) {
  conv_arg *c = p;
  return clnn_conv2d_backward_filter(g_ctx, &c->p, CLNN_CONV_ALGO_AUTO, c->x, c->dy, 0.0f, c->dw);
}
static clnn_status conv_step(void *p) {
  clnn_status s = conv_fwd(p);
  if (!s) s = conv_bwd_data(p);
  if (!s) s = conv_bwd_filter(p);
  return s;
}

/* host: one image's channels [c0, c0+Cg) -> col [Cg*R*S, P*Q] */
static void im2col(const conv_arg *c, const float *x, int c0, float *col) {
  const conv_shape *s = c->s;
  int P = c->P, Q = c->Q;
  for (int ci = 0; ci < c->Cg; ci++)
    for (int r = 0; r < s->R; r++)
      for (int t = 0; t < s->S; t++) {
        float *row = col + ((size_t)(ci * s->R + r) * s->S + t) * (size_t)(P * Q);
        const float *xc = x + (size_t)(c0 + ci) * s->H * s->W;
        for (int pp = 0; pp < P; pp++) {
          int h = pp * s->stride - s->pad + r;
          for (int qq = 0; qq < Q; qq++) {
            int w = qq * s->stride - s->pad + t;
            row[pp * Q + qq] = (h >= 0 && h < s->H && w >= 0 && w < s->W) ? xc[h * s->W + w] : 0.0f;
          }
        }
      }
}
static void col2im(const conv_arg *c, const float *col, int c0, float *dx) {
  const conv_shape *s = c->s;
  int P = c->P, Q = c->Q;
  for (int ci = 0; ci < c->Cg; ci++)
    for (int r = 0; r < s->R; r++)
      for (int t = 0; t < s->S; t++) {
        const float *row = col + ((size_t)(ci * s->R + r) * s->S + t) * (size_t)(P * Q);
        float *xc = dx + (size_t)(c0 + ci) * s->H * s->W;
        for (int pp = 0; pp < P; pp++) {
          int h = pp * s->stride - s->pad + r;
          if (h < 0 || h >= s->H) continue;
          for (int qq = 0; qq < Q; qq++) {
            int w = qq * s->stride - s->pad + t;
            if (w >= 0 && w < s->W) xc[h * s->W + w] += row[pp * Q + qq];
          }
        }
      }
}

static void conv_host_fwd(void *p) {
  conv_arg *c = p;
  const conv_shape *s = c->s;
  int PQ = c->P * c->Q, CRS = c->Cg * s->R * s->S;
  for (int n = 0; n < s->N; n++)
    for (int g = 0; g < s->groups; g++) {
      im2col(c, c->hx + (size_t)n * s->C * s->H * s->W, g * c->Cg, c->col);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c->Kg, PQ, CRS, 1.0f, c->hw + (size_t)g * c->Kg * CRS,
                  CRS, c->col, PQ, 0.0f, c->hy + ((size_t)n * s->K + (size_t)g * c->Kg) * PQ, PQ);
    }
}
static void conv_host_bwd_data(void *p) {
  conv_arg *c = p;
  const conv_shape *s = c->s;
  int PQ = c->P * c->Q, CRS = c->Cg * s->R * s->S;
  memset(c->hdx, 0, sizeof(float) * (size_t)s->N * s->C * s->H * s->W);
  for (int n = 0; n < s->N; n++)
    for (int g = 0; g < s->groups; g++) {
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, CRS, PQ, c->Kg, 1.0f, c->hw + (size_t)g * c->Kg * CRS, CRS,
                  c->hdy + ((size_t)n * s->K + (size_t)g * c->Kg) * PQ, PQ, 0.0f, c->col, PQ);
      col2im(c, c->col, g * c->Cg, c->hdx + (size_t)n * s->C * s->H * s->W);
    }
}
static void conv_host_bwd_filter(void *p) {
  conv_arg *c = p;
  const conv_shape *s = c->s;
  int PQ = c->P * c->Q, CRS = c->Cg * s->R * s->S;
  for (int n = 0; n < s->N; n++)
    for (int g = 0; g < s->groups; g++) {
      im2col(c, c->hx + (size_t)n * s->C * s->H * s->W, g * c->Cg, c->col);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c->Kg, CRS, PQ, 1.0f,
                  c->hdy + ((size_t)n * s->K + (size_t)g * c->Kg) * PQ, PQ, c->col, PQ, n ? 1.0f : 0.0f,
                  c->hdw + (size_t)g * c->Kg * CRS, CRS);
    }
}
static void conv_host_step(void *p) {
  conv_host_fwd(p);
  conv_host_bwd_data(p);
  conv_host_bwd_filter(p);
}

static void run_conv(const conv_shape *s) {
  if (!clnn_conv2d_forward || !clnn_conv2d_backward_data || !clnn_conv2d_backward_filter || !clnn_conv2d_params_init ||
      !clnn_conv2d_output_dims) {
    not_available(s->name, "convolution operators are not in this build");
    return;
  }
  conv_arg c;
  memset(&c, 0, sizeof c);
  c.s = s;
  clnn_conv2d_params_init(&c.p);
  c.p.stride_h = c.p.stride_w = s->stride;
  c.p.pad_top = c.p.pad_bottom = c.p.pad_left = c.p.pad_right = s->pad;
  c.p.groups = s->groups;
  c.Cg = s->C / s->groups;
  c.Kg = s->K / s->groups;
  size_t xd[4] = {(size_t)s->N, (size_t)s->C, (size_t)s->H, (size_t)s->W};
  size_t wd[4] = {(size_t)s->K, (size_t)c.Cg, (size_t)s->R, (size_t)s->S}, yd[4];
  CHECK(clnn_conv2d_output_dims(xd, wd, &c.p, yd));
  c.P = (int)yd[2];
  c.Q = (int)yd[3];
  size_t xn = xd[0] * xd[1] * xd[2] * xd[3], wn = wd[0] * wd[1] * wd[2] * wd[3], yn = yd[0] * yd[1] * yd[2] * yd[3];
  c.hx = host_rand(xn, 1.0f);
  c.hw = host_rand(wn, 0.1f);
  c.hdy = host_rand(yn, 1.0f);
  c.hy = host_zero(yn);
  c.hdx = host_zero(xn);
  c.hdw = host_zero(wn);
  c.col = host_zero((size_t)c.Cg * s->R * s->S * (size_t)c.P * c.Q);
  c.x = tensor(4, xd, c.hx);
  c.w = tensor(4, wd, c.hw);
  c.y = tensor(4, yd, NULL);
  c.dy = tensor(4, yd, c.hdy);
  c.dx = tensor(4, xd, NULL);
  c.dw = tensor(4, wd, NULL);
  double flops = 2.0 * s->N * s->K * (double)c.P * c.Q * c.Cg * s->R * s->S;
  /* what each pass ran, as the library reports it (clnn__conv2d_last_algo); the train step's
   * label lists its three passes' */
  const char *algos[3] = {"none", "none", "none"};
  static const struct {
    const char *pass;
    pass_fn fn;
    host_fn host;
    int mult;
  } passes[] = {{"forward", conv_fwd, conv_host_fwd, 1},
                {"backward-data", conv_bwd_data, conv_host_bwd_data, 1},
                {"backward-filter", conv_bwd_filter, conv_host_bwd_filter, 1},
                {"train-step", conv_step, conv_host_step, 3}};
  for (int i = 0; i < 4; i++) {
    result *r = new_result(s->name, passes[i].pass);
    time_pass(r, passes[i].fn, &c);
    char gp[sizeof r->path], algo[64];
    snprintf(gp, sizeof gp, "%s", r->path);
    if (i < 3) {
      algos[i] = clnn__conv2d_last_algo ? clnn__conv2d_last_algo() : "?";
      snprintf(algo, sizeof algo, "%s", algos[i]);
    } else if (!strcmp(algos[0], algos[1]) && !strcmp(algos[1], algos[2])) {
      snprintf(algo, sizeof algo, "%s", algos[0]);
    } else {
      snprintf(algo, sizeof algo, "%s/%s/%s", algos[0], algos[1], algos[2]);
    }
    int gemm = strstr(algo, "gemm") != NULL;
    snprintf(r->path, sizeof r->path, "%.52s%s%.36s", algo, gemm ? ", gemm " : "", gemm ? gp : "");
    finish_rate(r, flops * passes[i].mult, "GFLOP/s");
    if (opt.reference) {
      set_ref(r, "im2col+openblas", time_host(passes[i].host, &c, 0));
    } else {
      passes[i].host(&c);
    }
    /* results of the last runs against the host's */
    if (i == 0 || i == 3) {
      float *got = read_back(c.y);
      r->check = rel_err(got, c.hy, yn);
      free(got);
    } else if (i == 1) {
      float *got = read_back(c.dx);
      r->check = rel_err(got, c.hdx, xn);
      free(got);
    } else {
      float *got = read_back(c.dw);
      r->check = rel_err(got, c.hdw, wn);
      free(got);
    }
    progress(r);
  }
  clnn_tensor_destroy(c.x); clnn_tensor_destroy(c.w); clnn_tensor_destroy(c.y);
  clnn_tensor_destroy(c.dy); clnn_tensor_destroy(c.dx); clnn_tensor_destroy(c.dw);
  free(c.hx); free(c.hw); free(c.hy); free(c.hdy); free(c.hdx); free(c.hdw); free(c.col);
}

/* ============================================================================================== */
/* LSTM                                                                                           */
/* ============================================================================================== */

typedef struct lstm_shape {
  const char *name;
  int H, I, N, T;
  const char *tier;
} lstm_shape;

static const lstm_shape lstm_shapes[] = {
    {"lstm_256", 256, 256, 16, 150, "ci"},
    {"lstm_512", 512, 512, 16, 25, "ci"},
    {"lstm_1024", 1024, 1024, 64, 25, "gpu"},
    {"lstm_2048", 2048, 2048, 128, 25, "gpu"},
};

typedef struct lstm_arg {
  const lstm_shape *s;
  clnn_tensor *x, *wih, *whh, *bias, *y, *hn, *cn, *res, *dy, *dx, *dwih, *dwhh, *dbias;
  /* host */
  float *hx, *hwih, *hwhh, *hbias, *hy, *hdy, *gates, *cs, *dgates, *dh, *dhn, *hdx, *hdwih, *hdwhh, *hdbias;
} lstm_arg;

static clnn_status lstm_fwd(void *p) {
  lstm_arg *l = p;
  return clnn_lstm_forward(g_ctx, l->x, l->wih, l->whh, l->bias, NULL, NULL, l->y, l->hn, l->cn, l->res);
}
static clnn_status lstm_bwd(void *p) {
  lstm_arg *l = p;
  return clnn_lstm_backward(g_ctx, l->x, l->wih, l->whh, NULL, NULL, l->y, l->res, l->dy, NULL, NULL, 0.0f, l->dx,
                            l->dwih, l->dwhh, l->dbias, NULL, NULL);
}
static clnn_status lstm_step(void *p) {
  clnn_status s = lstm_fwd(p);
  if (!s) s = lstm_bwd(p);
  return s;
}

static float sigm(float v) { return 1.0f / (1.0f + expf(-v)); }

/* Host LSTM: gates i, f, g, o; saved post-activation gates and c for backward. */
static void lstm_host_fwd(void *p) {
  lstm_arg *l = p;
  const int H = l->s->H, I = l->s->I, N = l->s->N, T = l->s->T, G = 4 * H;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T * N, G, I, 1.0f, l->hx, I, l->hwih, I, 0.0f, l->gates, G);
  for (int t = 0; t < T; t++) {
    float *gt = l->gates + (size_t)t * N * G;
    if (t > 0)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, G, H, 1.0f, l->hy + (size_t)(t - 1) * N * H, H, l->hwhh,
                  H, 1.0f, gt, G);
    for (int n = 0; n < N; n++) {
      float *g = gt + (size_t)n * G;
      const float *cprev = t > 0 ? l->cs + ((size_t)(t - 1) * N + n) * H : NULL;
      float *c = l->cs + ((size_t)t * N + n) * H, *h = l->hy + ((size_t)t * N + n) * H;
      for (int j = 0; j < H; j++) {
        float gi = sigm(g[j] + l->hbias[j]), gf = sigm(g[H + j] + l->hbias[H + j]);
        float gg = tanhf(g[2 * H + j] + l->hbias[2 * H + j]), go = sigm(g[3 * H + j] + l->hbias[3 * H + j]);
        g[j] = gi;
        g[H + j] = gf;
        g[2 * H + j] = gg;
        g[3 * H + j] = go;
        c[j] = gf * (cprev ? cprev[j] : 0.0f) + gi * gg;
        h[j] = go * tanhf(c[j]);
      }
    }
  }
}
static void lstm_host_bwd(void *p) {
  lstm_arg *l = p;
  const int H = l->s->H, I = l->s->I, N = l->s->N, T = l->s->T, G = 4 * H;
  memset(l->dhn, 0, sizeof(float) * (size_t)N * H); /* dh from the next step */
  float *dcn = l->dh;                                /* dc from the next step */
  memset(dcn, 0, sizeof(float) * (size_t)N * H);
  for (int t = T - 1; t >= 0; t--) {
    for (int n = 0; n < N; n++) {
      const float *g = l->gates + ((size_t)t * N + n) * G;
      const float *c = l->cs + ((size_t)t * N + n) * H;
      const float *cprev = t > 0 ? l->cs + ((size_t)(t - 1) * N + n) * H : NULL;
      const float *dy = l->hdy + ((size_t)t * N + n) * H;
      float *dg = l->dgates + ((size_t)t * N + n) * G, *dhn = l->dhn + (size_t)n * H, *dc_next = dcn + (size_t)n * H;
      for (int j = 0; j < H; j++) {
        float gi = g[j], gf = g[H + j], gg = g[2 * H + j], go = g[3 * H + j];
        float tc = tanhf(c[j]);
        float dh = dy[j] + dhn[j];
        float dc = dh * go * (1.0f - tc * tc) + dc_next[j];
        dg[j] = dc * gg * gi * (1.0f - gi);
        dg[H + j] = dc * (cprev ? cprev[j] : 0.0f) * gf * (1.0f - gf);
        dg[2 * H + j] = dc * gi * (1.0f - gg * gg);
        dg[3 * H + j] = dh * tc * go * (1.0f - go);
        dc_next[j] = dc * gf;
      }
    }
    /* dh for step t-1 = dgates_t * W_hh */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, H, G, 1.0f, l->dgates + (size_t)t * N * G, G, l->hwhh, H,
                0.0f, l->dhn, H);
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T * N, I, G, 1.0f, l->dgates, G, l->hwih, I, 0.0f, l->hdx, I);
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G, I, T * N, 1.0f, l->dgates, G, l->hx, I, 0.0f, l->hdwih, I);
  memset(l->hdwhh, 0, sizeof(float) * (size_t)G * H);
  if (T > 1)
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G, H, (T - 1) * N, 1.0f, l->dgates + (size_t)N * G, G, l->hy,
                H, 0.0f, l->hdwhh, H);
  for (int j = 0; j < G; j++) l->hdbias[j] = 0;
  for (size_t r = 0; r < (size_t)T * N; r++)
    for (int j = 0; j < G; j++) l->hdbias[j] += l->dgates[r * G + j];
}
static void lstm_host_step(void *p) {
  lstm_host_fwd(p);
  lstm_host_bwd(p);
}

static void run_lstm(const lstm_shape *s) {
  if (!clnn_lstm_forward || !clnn_lstm_backward || !clnn_lstm_reserve_numel) {
    not_available(s->name, "LSTM operators are not in this build");
    return;
  }
  lstm_arg l;
  memset(&l, 0, sizeof l);
  l.s = s;
  const size_t H = (size_t)s->H, I = (size_t)s->I, N = (size_t)s->N, T = (size_t)s->T, G = 4 * H;
  float scale = 1.0f / sqrtf((float)H);
  l.hx = host_rand(T * N * I, 1.0f);
  l.hwih = host_rand(G * I, scale);
  l.hwhh = host_rand(G * H, scale);
  l.hbias = host_rand(G, 0.1f);
  l.hdy = host_rand(T * N * H, 1.0f);
  l.hy = host_zero(T * N * H);
  l.gates = host_zero(T * N * G);
  l.cs = host_zero(T * N * H);
  l.dgates = host_zero(T * N * G);
  l.dh = host_zero(N * H);
  l.dhn = host_zero(N * H);
  l.hdx = host_zero(T * N * I);
  l.hdwih = host_zero(G * I);
  l.hdwhh = host_zero(G * H);
  l.hdbias = host_zero(G);
  size_t xd[3] = {T, N, I}, yd[3] = {T, N, H}, nh[2] = {N, H}, g1[1] = {G};
  l.x = tensor(3, xd, l.hx);
  l.wih = tensor2(G, I, l.hwih);
  l.whh = tensor2(G, H, l.hwhh);
  l.bias = tensor(1, g1, l.hbias);
  l.y = tensor(3, yd, NULL);
  l.hn = tensor(2, nh, NULL);
  l.cn = tensor(2, nh, NULL);
  size_t rn[1] = {clnn_lstm_reserve_numel(T, N, H)};
  l.res = tensor(1, rn, NULL);
  l.dy = tensor(3, yd, l.hdy);
  l.dx = tensor(3, xd, NULL);
  l.dwih = tensor2(G, I, NULL);
  l.dwhh = tensor2(G, H, NULL);
  l.dbias = tensor(1, g1, NULL);
  double fwd = 8.0 * (double)H * (double)(H + I) * (double)N * (double)T;
  static const struct {
    const char *pass;
    pass_fn fn;
    host_fn host;
    double mult;
  } passes[] = {{"forward", lstm_fwd, lstm_host_fwd, 1.0},
                {"backward", lstm_bwd, lstm_host_bwd, 2.0},
                {"train-step", lstm_step, lstm_host_step, 3.0}};
  /* forward first: backward uses the reserve (and the host backward the state) it leaves */
  for (int i = 0; i < 3; i++) {
    result *r = new_result(s->name, passes[i].pass);
    time_pass(r, passes[i].fn, &l);
    char gp[sizeof r->path];
    snprintf(gp, sizeof gp, "%s", r->path);
    snprintf(r->path, sizeof r->path, "per-step gemm %.60s", gp);
    finish_rate(r, fwd * passes[i].mult, "GFLOP/s");
    if (opt.reference) set_ref(r, "openblas-lstm", time_host(passes[i].host, &l, 0));
    else passes[i].host(&l);
    if (i == 0 || i == 2) {
      float *got = read_back(l.y);
      r->check = rel_err(got, l.hy, T * N * H);
      free(got);
    } else {
      float *got = read_back(l.dwih);
      r->check = rel_err(got, l.hdwih, G * I);
      free(got);
    }
    progress(r);
  }
  clnn_tensor *ts[] = {l.x, l.wih, l.whh, l.bias, l.y, l.hn, l.cn, l.res, l.dy, l.dx, l.dwih, l.dwhh, l.dbias};
  for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) clnn_tensor_destroy(ts[i]);
  float *hs[] = {l.hx, l.hwih, l.hwhh, l.hbias, l.hy, l.hdy, l.gates, l.cs, l.dgates, l.dh, l.dhn, l.hdx, l.hdwih,
                 l.hdwhh, l.hdbias};
  for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++) free(hs[i]);
}

/* ============================================================================================== */
/* memory-bound cases                                                                             */
/* ============================================================================================== */

typedef struct mem_arg {
  clnn_pool2d_params pp;
  clnn_tensor *a, *b, *c, *d;
  int32_t *labels;
  size_t nlabels;
  int step;
} mem_arg;

static clnn_status maxpool_fwd(void *p) {
  mem_arg *m = p;
  return clnn_maxpool2d_forward(g_ctx, &m->pp, m->a, m->b);
}
static clnn_status maxpool_bwd(void *p) {
  mem_arg *m = p;
  return clnn_maxpool2d_backward(g_ctx, &m->pp, m->a, m->c, 0.0f, m->d);
}
static clnn_status avgpool_fwd(void *p) {
  mem_arg *m = p;
  return clnn_avgpool2d_forward(g_ctx, &m->pp, m->a, m->b);
}
static clnn_status avgpool_bwd(void *p) {
  mem_arg *m = p;
  return clnn_avgpool2d_backward(g_ctx, &m->pp, m->c, 0.0f, m->d);
}
static clnn_status softmax_xent(void *p) {
  mem_arg *m = p;
  return clnn_softmax_cross_entropy(g_ctx, m->a, m->labels, m->nlabels, m->b, m->c);
}
static clnn_status adam(void *p) {
  mem_arg *m = p;
  clnn_adam_params ap = {(uint32_t)sizeof(clnn_adam_params), 1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f, 0};
  return clnn_adam_step(g_ctx, &ap, ++m->step, m->a, m->b, m->c, m->d);
}
static clnn_status relu_bwd(void *p) {
  mem_arg *m = p;
  return clnn_activation_backward(g_ctx, CLNN_ACT_RELU, 0.0f, m->a, NULL, m->b, 0.0f, m->c);
}

/* A copy of the same number of bytes (bytes/2 read, bytes/2 written), timed like a pass right
 * before the memory-bound pass it is the reference for: the same size (so the same cache regime
 * and launch overhead) at the same moment (so the same memory-bandwidth conditions, which drift
 * on shared machines). Uses the kernel that won the peak measurement. */
/* Median and fastest time (ms) of copying `bytes` bytes; 0 when no copy kernel was measured. */
static double same_bytes_copy_ms(double bytes, double *min_ms) {
  *min_ms = 0;
  if (!peak_copy_kernel[0] || bytes / 8.0 > (double)INT_MAX) return 0;
  copy_arg c = {g_ctx, peak_copy_kernel, NULL, NULL, 0};
  c.n = ((int)(bytes / 8.0) + 1023) / 1024 * 1024; /* floats per buffer: each is read or written once */
  cl_context cc;
  cl_command_queue q;
  clnn_context_get_cl(g_ctx, &cc, NULL, &q);
  cl_int err;
  c.a = clCreateBuffer(cc, CL_MEM_READ_WRITE, (size_t)c.n * sizeof(float), NULL, &err);
  c.b = c.a ? clCreateBuffer(cc, CL_MEM_READ_WRITE, (size_t)c.n * sizeof(float), NULL, &err) : NULL;
  if (!c.a || !c.b) die("same-bytes copy: cannot allocate 2 x %d floats", c.n);
  float zero = 0.0f;
  clEnqueueFillBuffer(q, c.a, &zero, sizeof zero, 0, (size_t)c.n * sizeof(float), 0, NULL, NULL);
  clEnqueueFillBuffer(q, c.b, &zero, sizeof zero, 0, (size_t)c.n * sizeof(float), 0, NULL, NULL);
  result tmp;
  memset(&tmp, 0, sizeof tmp);
  time_pass(&tmp, copy_pass, &c);
  clReleaseMemObject(c.a);
  clReleaseMemObject(c.b);
  *min_ms = tmp.min_ms;
  return tmp.med_ms;
}

static void mem_pass(const char *name, const char *pass, pass_fn fn, mem_arg *m, double bytes) {
  double copy_min = 0, copy_ms = same_bytes_copy_ms(bytes, &copy_min);
  result *r = new_result(name, pass);
  time_pass(r, fn, m);
  snprintf(r->path, sizeof r->path, "clnn kernels");
  finish_rate(r, bytes, "GB/s"); /* %peak: of the copy bandwidth measured first (large buffers) */
  if (copy_ms > 0) {
    /* the reference: a plain copy of the same bytes, timed just before */
    snprintf(r->ref_name, sizeof r->ref_name, "copy-same-bytes");
    r->ref_ms = copy_ms;
    r->ref_min_ms = copy_min;
    r->ref_rate = bytes / (copy_ms * 1e-3) / 1e9;
    r->ratio = copy_ms / r->med_ms;
  }
  progress(r);
}

static void run_pool(const char *name, int maxp, int N, int C, int H, int W, int k, int stride, int pad) {
  if (!clnn_pool2d_params_init || !clnn_pool2d_output_dims || !clnn_maxpool2d_forward || !clnn_avgpool2d_forward ||
      !clnn_maxpool2d_backward || !clnn_avgpool2d_backward) {
    not_available(name, "pooling operators are not in this build");
    return;
  }
  mem_arg m;
  memset(&m, 0, sizeof m);
  clnn_pool2d_params_init(&m.pp, k);
  m.pp.stride_h = m.pp.stride_w = stride;
  m.pp.pad_top = m.pp.pad_bottom = m.pp.pad_left = m.pp.pad_right = pad;
  size_t xd[4] = {(size_t)N, (size_t)C, (size_t)H, (size_t)W}, yd[4];
  CHECK(clnn_pool2d_output_dims(xd, &m.pp, yd));
  size_t xn = xd[0] * xd[1] * xd[2] * xd[3], yn = yd[0] * yd[1] * yd[2] * yd[3];
  float *hx = host_rand(xn, 1.0f), *hdy = host_rand(yn, 1.0f);
  m.a = tensor(4, xd, hx);
  m.b = tensor(4, yd, NULL);
  m.c = tensor(4, yd, hdy);
  m.d = tensor(4, xd, NULL);
  free(hx);
  free(hdy);
  double fb = 4.0 * (double)(xn + yn);
  if (maxp) {
    mem_pass(name, "forward", maxpool_fwd, &m, fb);
    mem_pass(name, "backward", maxpool_bwd, &m, 4.0 * (double)(2 * xn + yn)); /* x, dy read; dx written */
  } else {
    mem_pass(name, "forward", avgpool_fwd, &m, fb);
    mem_pass(name, "backward", avgpool_bwd, &m, 4.0 * (double)(xn + yn));
  }
  clnn_tensor_destroy(m.a); clnn_tensor_destroy(m.b); clnn_tensor_destroy(m.c); clnn_tensor_destroy(m.d);
}

static void run_softmax(const char *name) {
  if (!clnn_softmax_cross_entropy) {
    not_available(name, "softmax cross-entropy is not in this build");
    return;
  }
  mem_arg m;
  memset(&m, 0, sizeof m);
  const size_t N = 128, C = 1000;
  float *h = host_rand(N * C, 3.0f);
  m.a = tensor2(N, C, h);
  size_t one[1] = {1};
  m.b = tensor(1, one, NULL);
  m.c = tensor2(N, C, NULL);
  m.labels = malloc(N * sizeof(int32_t));
  for (size_t i = 0; i < N; i++) m.labels[i] = (int32_t)((i * 7919) % C);
  m.nlabels = N;
  free(h);
  /* logits read (twice: max/sum pass and gradient pass count once), gradient written, labels */
  mem_pass(name, "forward+backward", softmax_xent, &m, 4.0 * (double)(2 * N * C + N + 1));
  clnn_tensor_destroy(m.a); clnn_tensor_destroy(m.b); clnn_tensor_destroy(m.c);
  free(m.labels);
}

static void run_adam(const char *name) {
  if (!clnn_adam_step) {
    not_available(name, "Adam is not in this build");
    return;
  }
  mem_arg m;
  memset(&m, 0, sizeof m);
  const size_t n = 25000000;
  size_t d[1] = {n};
  float *h = host_rand(n, 0.01f);
  m.a = tensor(1, d, h); /* param */
  m.b = tensor(1, d, h); /* grad */
  m.c = tensor(1, d, NULL);
  m.d = tensor(1, d, NULL);
  free(h);
  mem_pass(name, "step", adam, &m, 4.0 * 7.0 * (double)n); /* read p, g, m, v; write p, m, v */
  clnn_tensor_destroy(m.a); clnn_tensor_destroy(m.b); clnn_tensor_destroy(m.c); clnn_tensor_destroy(m.d);
}

static void run_relu(const char *name) {
  if (!clnn_activation_backward) {
    not_available(name, "activations are not in this build");
    return;
  }
  mem_arg m;
  memset(&m, 0, sizeof m);
  const size_t n = (size_t)64 << 20;
  size_t d[1] = {n};
  float *h = host_rand(n, 1.0f);
  m.a = tensor(1, d, h); /* x */
  m.b = tensor(1, d, h); /* dy */
  m.c = tensor(1, d, NULL);
  free(h);
  mem_pass(name, "backward", relu_bwd, &m, 4.0 * 3.0 * (double)n); /* read x, dy; write dx */
  clnn_tensor_destroy(m.a); clnn_tensor_destroy(m.b); clnn_tensor_destroy(m.c);
}

/* ============================================================================================== */
/* the suite                                                                                      */
/* ============================================================================================== */

typedef struct bench_case {
  const char *name;
  const char *tier; /* "ci": in both tiers; "gpu": gpu tier only */
  int kind;         /* 0 gemm, 1 conv, 2 lstm, 3 other */
  int index;
} bench_case;

static bench_case suite[64];
static int suite_n;

static void build_suite(void) {
  for (size_t i = 0; i < sizeof gemm_shapes / sizeof gemm_shapes[0]; i++)
    suite[suite_n++] = (bench_case){gemm_shapes[i].name, gemm_shapes[i].tier, 0, (int)i};
  for (size_t i = 0; i < sizeof conv_shapes / sizeof conv_shapes[0]; i++)
    suite[suite_n++] = (bench_case){conv_shapes[i].name, conv_shapes[i].tier, 1, (int)i};
  suite[suite_n++] = (bench_case){"pool_max3s2", "ci", 3, 0};
  suite[suite_n++] = (bench_case){"pool_avg2", "ci", 3, 1};
  for (size_t i = 0; i < sizeof lstm_shapes / sizeof lstm_shapes[0]; i++)
    suite[suite_n++] = (bench_case){lstm_shapes[i].name, lstm_shapes[i].tier, 2, (int)i};
  suite[suite_n++] = (bench_case){"softmax_xent", "ci", 3, 2};
  suite[suite_n++] = (bench_case){"adam_25M", "ci", 3, 3};
  suite[suite_n++] = (bench_case){"relu_bwd_64M", "ci", 3, 4};
}

static int selected(const bench_case *c) {
  if (opt.num_cases) {
    for (int i = 0; i < opt.num_cases; i++)
      if (!strcmp(opt.cases[i], c->name)) return 1;
    return 0;
  }
  return !strcmp(c->tier, "ci") || !strcmp(opt.tier, "gpu");
}

static void run_case(const bench_case *c) {
  switch (c->kind) {
    case 0: run_gemm(&gemm_shapes[c->index]); break;
    case 1: run_conv(&conv_shapes[c->index]); break;
    case 2: run_lstm(&lstm_shapes[c->index]); break;
    default:
      switch (c->index) {
        case 0: run_pool(c->name, 1, 2, 64, 112, 112, 3, 2, 1); break;
        case 1: run_pool(c->name, 0, 2, 256, 28, 28, 2, 2, 0); break;
        case 2: run_softmax(c->name); break;
        case 3: run_adam(c->name); break;
        default: run_relu(c->name); break;
      }
  }
}

/* ============================================================================================== */
/* output                                                                                         */
/* ============================================================================================== */

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
    else if (ch < 0x20) fprintf(f, "\\u%04x", ch);
    else fputc(ch, f);
  }
  fputc('"', f);
}

static void json_num(FILE *f, double v) {
  if (isfinite(v)) fprintf(f, "%.6g", v);
  else fprintf(f, "null");
}

/* ---- --reference-file: times of another reference (e.g. PyTorch on this machine) ----------- */
/* Format (tab-separated; bench/torch_reference.py writes it):
 *   clnn-bench-reference 1
 *   name<TAB>torch-cuda                 short name for the reference column
 *   about<TAB>free text                 what ran, printed above the table
 *   <case><TAB><pass><TAB><median_ms><TAB><min_ms>   pass "any": every pass of that case
 * Blank lines and lines starting with '#' are ignored. */
typedef struct ref_row {
  char name[48], pass[32];
  double med_ms, min_ms;
} ref_row;
static struct {
  char name[32], about[256];
  ref_row *rows;
  int n;
} ref_file;

static void load_reference_file(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) die("--reference-file: cannot open %s", path);
  char line[1024];
  int lineno = 0, cap = 0;
  snprintf(ref_file.name, sizeof ref_file.name, "file");
  while (fgets(line, sizeof line, f)) {
    lineno++;
    size_t len = strlen(line);
    if (len == sizeof line - 1 && line[len - 1] != '\n') die("%s:%d: line too long", path, lineno);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
    if (lineno == 1) {
      if (strcmp(line, "clnn-bench-reference 1"))
        die("%s: not a clnn-bench reference file (first line must be \"clnn-bench-reference 1\")", path);
      continue;
    }
    if (!len || line[0] == '#') continue;
    char *f1 = line, *f2 = strchr(f1, '\t');
    if (!f2) die("%s:%d: expected tab-separated fields", path, lineno);
    *f2++ = 0;
    if (!strcmp(f1, "name")) {
      if (!*f2 || strlen(f2) >= sizeof ref_file.name) die("%s:%d: name must be 1-%zu characters", path, lineno, sizeof ref_file.name - 1);
      snprintf(ref_file.name, sizeof ref_file.name, "%s", f2);
      continue;
    }
    if (!strcmp(f1, "about")) {
      snprintf(ref_file.about, sizeof ref_file.about, "%s", f2);
      continue;
    }
    char *f3 = strchr(f2, '\t'), *f4 = f3 ? strchr(f3 + 1, '\t') : NULL;
    if (!f3 || !f4) die("%s:%d: a row is <case> <pass> <median_ms> <min_ms>", path, lineno);
    *f3++ = 0;
    *f4++ = 0;
    char *end1, *end2;
    double med = strtod(f3, &end1), mn = strtod(f4, &end2);
    if (end1 == f3 || *end1 || end2 == f4 || *end2 || !(med > 0) || !(mn > 0) || mn > med * (1 + 1e-9))
      die("%s:%d: times must be positive numbers with min <= median", path, lineno);
    if (strlen(f1) >= sizeof ref_file.rows[0].name || strlen(f2) >= sizeof ref_file.rows[0].pass)
      die("%s:%d: case or pass name too long", path, lineno);
    if (ref_file.n == cap) {
      cap = cap ? 2 * cap : 64;
      ref_file.rows = realloc(ref_file.rows, sizeof *ref_file.rows * (size_t)cap);
      if (!ref_file.rows) die("out of host memory");
    }
    ref_row *r = &ref_file.rows[ref_file.n++];
    snprintf(r->name, sizeof r->name, "%s", f1);
    snprintf(r->pass, sizeof r->pass, "%s", f2);
    r->med_ms = med;
    r->min_ms = mn;
  }
  fclose(f);
  if (lineno == 0) die("%s: empty file", path);
}

/* Puts the file's times in the reference columns of every row it has (exact pass, else "any");
 * rows it lacks keep the host reference, and are listed on stderr. */
static void apply_reference_file(void) {
  for (int i = 0; i < num_results; i++) {
    result *r = &results[i];
    if (!strcmp(r->pass, "-")) continue;
    const ref_row *hit = NULL;
    for (int j = 0; j < ref_file.n && !hit; j++)
      if (!strcmp(ref_file.rows[j].name, r->name) && !strcmp(ref_file.rows[j].pass, r->pass)) hit = &ref_file.rows[j];
    for (int j = 0; j < ref_file.n && !hit; j++)
      if (!strcmp(ref_file.rows[j].name, r->name) && !strcmp(ref_file.rows[j].pass, "any")) hit = &ref_file.rows[j];
    if (!hit) {
      fprintf(stderr, "clnn-bench: %s has no row for %s %s; that row keeps %s\n", opt.reference_file, r->name,
              r->pass, r->ref_name[0] ? r->ref_name : "no reference");
      continue;
    }
    snprintf(r->ref_name, sizeof r->ref_name, "%s", ref_file.name);
    r->ref_ms = hit->med_ms;
    r->ref_min_ms = hit->min_ms;
    r->ref_rate = r->work / (hit->med_ms * 1e-3) / 1e9;
    r->ratio = r->med_ms > 0 ? hit->med_ms / r->med_ms : 0;
  }
}

static void write_json(const char *path, const clnn_device_info *info, const char *tuned, const char *cmdline,
                       double total_s) {
  FILE *f = fopen(path, "w");
  if (!f) die("cannot write %s", path);
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  fprintf(f, "{\n  \"tool\": \"clnn-bench\", \"clnn_version\": \"%s\",\n  \"command\": ", CLNN_VERSION_STRING);
  json_str(f, cmdline);
  fprintf(f, ",\n  \"device\": ");
  json_str(f, info->name);
  fprintf(f, ", \"platform\": ");
  json_str(f, info->platform_name);
  fprintf(f, ", \"driver\": ");
  json_str(f, info->driver_version);
  fprintf(f, ", \"compute_units\": %u, \"host\": ", info->compute_units);
  json_str(f, host);
  fprintf(f, ", \"load_average_start\": ");
  json_num(f, load_start);
  fprintf(f, ", \"load_average_end\": ");
  json_num(f, load_end);
  fprintf(f, ",\n  \"tuned\": ");
  json_str(f, tuned);
  fprintf(f, ",\n  \"blas\": ");
  json_str(f, openblas_get_config());
  if (opt.reference_file) {
    fprintf(f, ",\n  \"reference_file\": {\"path\": ");
    json_str(f, opt.reference_file);
    fprintf(f, ", \"name\": ");
    json_str(f, ref_file.name);
    fprintf(f, ", \"about\": ");
    json_str(f, ref_file.about);
    fprintf(f, "}");
  }
  fprintf(f, ",\n  \"peak\": {\"fma_gflops\": ");
  json_num(f, peak_gflops);
  fprintf(f, ", \"fma_gflops_median\": ");
  json_num(f, peak_gflops_med);
  fprintf(f, ", \"fma_kernel\": \"%s\", \"copy_gbs\": ", peak_fma_kernel);
  json_num(f, peak_gbs);
  fprintf(f, ", \"copy_gbs_median\": ");
  json_num(f, peak_gbs_med);
  fprintf(f, ", \"copy_kernel\": \"%s\", \"launch_us\": ", peak_copy_kernel);
  json_num(f, launch_us);
  fprintf(f, "},\n");
  fprintf(f, "  \"conventions\": \"GEMM 2*M*N*K; conv per pass 2*N*K*P*Q*(C/groups)*R*S (direct FLOPs); LSTM forward "
             "8*H*(H+I)*N*T, backward 2x forward; memory-bound: bytes read + written; time = OpenCL profiling "
             "(marker END to marker END) median; ratio = reference time / clnn time\",\n");
  fprintf(f, "  \"runs\": %d, \"warmup\": %d, \"total_seconds\": %.1f,\n  \"results\": [\n", opt.runs, opt.warmup,
          total_s);
  for (int i = 0; i < num_results; i++) {
    const result *r = &results[i];
    fprintf(f, "    {\"case\": ");
    json_str(f, r->name);
    fprintf(f, ", \"pass\": ");
    json_str(f, r->pass);
    fprintf(f, ", \"path\": ");
    json_str(f, r->path);
    fprintf(f, ", \"runs\": %d, \"warmup\": %d, \"median_ms\": ", r->runs, r->warmup);
    json_num(f, r->med_ms);
    fprintf(f, ", \"min_ms\": ");
    json_num(f, r->min_ms);
    fprintf(f, ", \"wall_median_ms\": ");
    json_num(f, r->wall_ms);
    fprintf(f, ", \"unit\": ");
    json_str(f, r->unit);
    fprintf(f, ", \"work\": ");
    json_num(f, r->work);
    fprintf(f, ", \"rate\": ");
    json_num(f, r->rate);
    fprintf(f, ", \"pct_peak\": ");
    json_num(f, r->pct_peak);
    fprintf(f, ", \"reference\": ");
    json_str(f, r->ref_name);
    fprintf(f, ", \"ref_median_ms\": ");
    json_num(f, r->ref_ms);
    fprintf(f, ", \"ref_min_ms\": ");
    json_num(f, r->ref_min_ms);
    fprintf(f, ", \"ref_rate\": ");
    json_num(f, r->ref_rate);
    fprintf(f, ", \"ratio\": ");
    json_num(f, r->ratio);
    fprintf(f, ", \"cold_ms\": ");
    json_num(f, r->cold_ms);
    fprintf(f, ", \"builds\": %llu, \"build_s\": ", r->builds);
    json_num(f, r->build_s);
    fprintf(f, ", \"cache_hits\": %llu, \"rel_error\": ", r->hits);
    json_num(f, r->check);
    fprintf(f, ", \"note\": ");
    json_str(f, r->note);
    fprintf(f, "}%s\n", i + 1 < num_results ? "," : "");
  }
  fprintf(f, "  ]\n}\n");
  fclose(f);
}

static void print_table(const clnn_device_info *info, const char *tuned, double total_s) {
  printf("\nclnn-bench %s on %s (%s, driver %s), %u compute units\n", CLNN_VERSION_STRING, info->name,
         info->platform_name, info->driver_version, info->compute_units);
  printf("tuned parameters: %s\n", tuned);
  printf("host reference: %s\n", openblas_get_config());
  if (opt.reference_file)
    printf("reference file: %s: %s%s%s\n", opt.reference_file, ref_file.name, ref_file.about[0] ? ", " : "",
           ref_file.about);
  if (load_start >= 0)
    printf("host load average (1 min): %.2f at the start, %.2f at the end (other work on the machine slows "
           "both sides)\n", load_start, load_end);
  printf("measured peak: %.1f GFLOP/s FMA (%s; median %.1f), %.1f GB/s copy (%s; median %.1f); "
         "kernel launch %.0f us (enqueue to finish, one work-item)\n",
         peak_gflops, peak_fma_kernel, peak_gflops_med, peak_gbs, peak_copy_kernel, peak_gbs_med, launch_us);
  printf("time: median of OpenCL profiling time (marker to marker) over the runs; wall = median enqueue + clFinish;\n"
         "ratio = reference time / clnn time (> 1: clnn faster); cold = first call incl. kernel builds/cache loads\n\n");
  printf("%-18s %-16s %-40s %9s %9s %9s %9s %-7s %6s  %-16s %9s %9s %9s %6s  %9s %-12s %s\n", "case", "pass",
         "path", "median_ms", "min_ms", "wall_ms", "rate", "unit", "%peak", "reference", "ref_ms", "ref_min", "ref_rate",
         "ratio", "cold_ms", "compile", "check");
  for (int i = 0; i < num_results; i++) {
    const result *r = &results[i];
    if (!strcmp(r->pass, "-")) {
      printf("%-18s %s\n", r->name, r->note);
      continue;
    }
    char compile[48] = "-";
    if (r->builds || r->hits) snprintf(compile, sizeof compile, "%llub %.2fs %lluhit", r->builds, r->build_s, r->hits);
    char check[24] = "-";
    if (r->check >= 0) snprintf(check, sizeof check, "%s %.1e", r->check < 1e-3 ? "ok" : "MISMATCH", r->check);
    else if (r->check != r->check) snprintf(check, sizeof check, "MISMATCH nan");
    printf("%-18s %-16s %-40.40s %9.3f %9.3f %9.3f %9.1f %-7s %5.1f%%  %-16s %9.3f %9.3f %9.1f %6.2f  %9.1f %-12s %s\n",
           r->name, r->pass, r->path, r->med_ms, r->min_ms, r->wall_ms, r->rate, r->unit, r->pct_peak,
           r->ref_name[0] ? r->ref_name : "-", r->ref_ms, r->ref_min_ms, r->ref_rate, r->ratio, r->cold_ms, compile,
           check);
  }
  printf("\n%d result rows in %.1f s (runs %d, warm-up %d%s)\n", num_results, total_s, opt.runs, opt.warmup,
         opt.budget > 0 ? ", fewer for long passes (--budget)" : "");
}

static void usage(void) {
  printf("usage: clnn-bench [options]\n"
         "  --tier ci|gpu       case set (default ci; gpu adds larger cases)\n"
         "  --case NAME[,NAME]  run only these cases (repeatable); --list shows them\n"
         "  --runs N            timed runs per pass (default 20)\n"
         "  --warmup N          untimed runs before them (default 5)\n"
         "  --budget SECONDS    allow fewer runs (at least 3) where a pass would take longer than this\n"
         "  --device SEL        device selection as CLNN_DEVICE (index P:D, cpu, gpu, name substring)\n"
         "  --json FILE         write every result as JSON\n"
         "  --plot FILE.png     draw rate per case vs peak and reference (runs bench/plot_bench.py)\n"
         "  --no-reference      skip the host reference runs\n"
         "  --reference-file F  take reference times from F (bench/torch_reference.py writes one)\n"
         "  --no-clblast        skip the CLBlast passes of the GEMM cases\n"
         "  --list              list the cases and exit\n"
         "Environment: CLNN_TUNE (off | builtin | FILE: where tuned parameters come from),\n"
         "CLNN_CACHE_DIR (kernel cache; 'off' to measure cold builds), OPENBLAS_NUM_THREADS,\n"
         "CLNN_BENCH_PYTHON (the Python that runs the plot script; default /usr/bin/python3).\n");
}

static void parse_args(int argc, char **argv) {
  opt.tier = "ci";
  opt.runs = 20;
  opt.warmup = 5;
  opt.reference = 1;
  opt.clblast = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                 \
  do {                                               \
    if (!v) die("%s needs a value (see --help)", a); \
    i++;                                             \
  } while (0)
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage();
      exit(0);
    } else if (!strcmp(a, "--tier")) {
      NEED_VALUE();
      if (strcmp(v, "ci") && strcmp(v, "gpu")) die("--tier must be ci or gpu, not %s", v);
      opt.tier = v;
    } else if (!strcmp(a, "--case")) {
      NEED_VALUE();
      char *copy = strdup(v), *save = NULL;
      for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (opt.num_cases < 256) opt.cases[opt.num_cases++] = strdup(t);
      free(copy);
    } else if (!strcmp(a, "--runs")) {
      NEED_VALUE();
      opt.runs = atoi(v);
      if (opt.runs < 1) die("--runs must be at least 1");
    } else if (!strcmp(a, "--warmup")) {
      NEED_VALUE();
      opt.warmup = atoi(v);
      if (opt.warmup < 0) die("--warmup must be at least 0");
    } else if (!strcmp(a, "--budget")) {
      NEED_VALUE();
      opt.budget = atof(v);
    } else if (!strcmp(a, "--device")) {
      NEED_VALUE();
      opt.device = v;
    } else if (!strcmp(a, "--json")) {
      NEED_VALUE();
      opt.json = v;
    } else if (!strcmp(a, "--plot")) {
      NEED_VALUE();
      opt.plot = v;
    } else if (!strcmp(a, "--no-reference")) {
      opt.reference = 0;
    } else if (!strcmp(a, "--reference-file")) {
      NEED_VALUE();
      opt.reference_file = v;
    } else if (!strcmp(a, "--no-clblast")) {
      opt.clblast = 0;
    } else if (!strcmp(a, "--list")) {
      opt.list = 1;
    } else {
      die("unknown option %s (see --help)", a);
    }
#undef NEED_VALUE
  }
}

int main(int argc, char **argv) {
  parse_args(argc, argv);
  build_suite();
  for (int i = 0; i < opt.num_cases; i++) {
    int found = 0;
    for (int j = 0; j < suite_n; j++) found |= !strcmp(suite[j].name, opt.cases[i]);
    if (!found) die("unknown case %s (--list shows the cases)", opt.cases[i]);
  }
  if (opt.list) {
    for (int j = 0; j < suite_n; j++) printf("%-22s tier %s\n", suite[j].name, suite[j].tier);
    return 0;
  }
  if (opt.reference_file) load_reference_file(opt.reference_file); /* before any long work */
  char cmdline[1024] = "clnn-bench";
  for (int i = 1; i < argc; i++) {
    size_t n = strlen(cmdline);
    snprintf(cmdline + n, sizeof cmdline - n, " %s", argv[i]);
  }
  int any_gemm = 0;
  for (int j = 0; j < suite_n; j++)
    if (selected(&suite[j])) {
      case_total++;
      any_gemm |= suite[j].kind == 0;
    }
  double t_start = now_s();
  load_start = load_average();

  /* Phase 0: a context without tuned parameters: peak kernels, then CLBlast's defaults. */
  clnn_context_options o;
  clnn_context_options_init(&o);
  o.device = opt.device;
  const char *user_tune = getenv("CLNN_TUNE");
  char *saved_tune = user_tune ? strdup(user_tune) : NULL;
  setenv("CLNN_TUNE", "off", 1);
  clnn_context *ctx0 = NULL;
  clnn_status s = clnn_context_create(&o, &ctx0);
  if (saved_tune) setenv("CLNN_TUNE", saved_tune, 1);
  else unsetenv("CLNN_TUNE");
  free(saved_tune);
  if (s != CLNN_SUCCESS) die("cannot create a context: %s: %s", clnn_status_string(s), clnn_last_error());
  clnn_device_info info;
  clnn_device_info_init(&info);
  clnn_context_device_info(ctx0, &info);
  fprintf(stderr, "clnn-bench: %s (%s); measuring peak...\n", info.name, info.platform_name);
  g_ctx = ctx0;
  measure_peak(ctx0);
  fprintf(stderr, "clnn-bench: peak %.1f GFLOP/s (%s), copy %.1f GB/s (%s), launch %.0f us\n", peak_gflops,
          peak_fma_kernel, peak_gbs, peak_copy_kernel, launch_us);
  if (any_gemm && opt.clblast) {
    o.force_clblast = 1;
    ctx0->force_clblast = 1;
    for (int j = 0; j < suite_n; j++)
      if (selected(&suite[j]) && suite[j].kind == 0) run_gemm_default(&gemm_shapes[suite[j].index]);
  }
  clnn_context_destroy(ctx0);

  /* Phase 1: the tuned context, every case. */
  o.force_clblast = 0;
  CHECK(clnn_context_create(&o, &g_ctx));
  char tuned[600];
  clnn__gemm_describe(g_ctx, tuned, sizeof tuned);
  fprintf(stderr, "clnn-bench: tuned parameters: %s\n", tuned);
  for (int j = 0; j < suite_n; j++)
    if (selected(&suite[j])) {
      case_index++;
      run_case(&suite[j]);
    }
  double total = now_s() - t_start;
  load_end = load_average();
  if (opt.reference_file) apply_reference_file();
  print_table(&info, tuned, total);
  if (opt.json || opt.plot) {
    char tmp[64] = "";
    const char *json = opt.json;
    if (!json) {
      snprintf(tmp, sizeof tmp, "/tmp/clnn-bench-%ld.json", (long)getpid());
      json = tmp;
    }
    write_json(json, &info, tuned, cmdline, total);
    if (opt.json) fprintf(stderr, "clnn-bench: wrote %s\n", opt.json);
    if (opt.plot) {
      const char *script = getenv("CLNN_BENCH_PLOT");
      if (!script) script = access(CLNN_BENCH_PLOT_SCRIPT, R_OK) == 0 ? CLNN_BENCH_PLOT_SCRIPT : CLNN_BENCH_PLOT_INSTALLED;
      /* the interpreter Debian's python3-matplotlib serves (tools/install-deps.sh), unless told */
      const char *python = getenv("CLNN_BENCH_PYTHON");
      if (!python || !*python) python = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
      char cmd[4096];
      snprintf(cmd, sizeof cmd, "'%s' '%s' '%s' '%s'", python, script, json, opt.plot);
      int rc = system(cmd);
      if (rc != 0) fprintf(stderr, "clnn-bench: plotting failed (%s exited with %d)\n", script, rc);
      else fprintf(stderr, "clnn-bench: wrote %s\n", opt.plot);
    }
    if (tmp[0]) remove(tmp);
  }
  clnn_context_destroy(g_ctx);
  free(ref_file.rows);
  free(results);
  for (int i = 0; i < opt.num_cases; i++) free(opt.cases[i]);
  return 0;
}
