/* bench/bench_timing.c — clnn-bench's shared helpers: error exit and CHECK, host random data,
 * median and relative error, the options and result rows, timing of a device pass (profiling
 * markers, cold call, --budget) and of a host reference, rates, progress lines, tensor helpers.
 * Included by clnn_bench.c before the case files that use it; not compiled on its own. */

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
  int conv_algo; /* clnn_conv_algo the convolution cases force (default AUTO) */
} options;

typedef struct result {
  char name[48], pass[32], path[96], unit[8];
  int runs, warmup;
  double med_ms, min_ms, wall_ms;   /* profiling median and minimum, wall-clock median */
  double work;                      /* FLOPs or bytes per pass */
  double rate;                      /* GFLOP/s or GB/s at the median */
  double pct_peak;                  /* of the measured FMA peak or copy bandwidth */
  char ref_name[48];
  double ref_ms, ref_rate;          /* the reference's median time and rate at that median */
  double ref_min_ms;                /* the reference's fastest run */
  double ratio;                     /* ref_min_ms / min_ms (fastest run over fastest run); 0: none */
  double ratio_median;              /* ref_ms / med_ms; 0 when none */
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

/* The ratios of a row whose reference times are set: `ratio`, the one the table leads with, is
 * fastest run over fastest run (on a shared machine other work only ever adds time, and it hits
 * PyTorch's and OpenBLAS's thread pools harder than clnn's, so minima compare the two sides'
 * costs more steadily than medians); `ratio_median` is the ratio of the medians. Every reference
 * (host, --reference-file, same-bytes copy) goes through here. */
static void set_ratios(result *r) {
  r->ratio = (r->ref_min_ms > 0 && r->min_ms > 0) ? r->ref_min_ms / r->min_ms : 0;
  r->ratio_median = (r->ref_ms > 0 && r->med_ms > 0) ? r->ref_ms / r->med_ms : 0;
}

static void set_ref(result *r, const char *name, double ref_ms) {
  snprintf(r->ref_name, sizeof r->ref_name, "%s", name);
  r->ref_ms = ref_ms;
  r->ref_min_ms = last_host_min_ms;
  r->ref_rate = ref_ms > 0 ? r->work / (ref_ms * 1e-3) / 1e9 : 0;
  set_ratios(r);
}

static void progress(const result *r) {
  fprintf(stderr, "[%d/%d] %-16s %-15s %9.3f ms  %8.1f %-6s", case_index, case_total, r->name, r->pass, r->med_ms,
          r->rate, r->unit);
  if (r->ratio > 0)
    fprintf(stderr, "  ref %s %.3f ms (min %.3f)  ratio of minima %.2f, of medians %.2f", r->ref_name, r->ref_ms,
            r->ref_min_ms, r->ratio, r->ratio_median);
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
