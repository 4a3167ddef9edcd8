/* tools/clnn_tune.c — clnn-tune: a time-boxed search of GEMM parameters for one device, for
 * clnn's own CPU-shaped GEMM (cl/gemm_cpu.cl: register-block rows, vectors per row, vector
 * width, narrow-kernel rows, blocks per work-item, K unrolling, packing threshold) and for
 * CLBlast's GEMM kernels (Xgemm, XgemmDirect and the direct/indirect threshold). The winners go
 * to <cache dir>/tuned-<device key>.txt, which every later clnn context on that device reads once,
 * when it is created (src/gemm/tune_config.c; src/gemm/gemm_clblast.c applies the CLBlast ones
 * with CLBlastOverrideParameters). Then, with those winners, the GPU class's convolution forward
 * pass: im2col + GEMM against the implicit GEMM (tools/tune/clnn_tune_conv.c), which sets conv.igemm.
 *
 *   clnn-tune [--device SEL] [--time SECONDS] [--only clnn|clblast|conv] [--out FILE]
 *             [--cache-dir DIR] [--runs N] [--print]
 *
 * Every candidate runs on a set of validation shapes (odd sizes, every transpose, a batch) and on
 * the timing shapes, and its results are compared with a host reference before its time counts:
 * a candidate that fails validation (wrong results, a kernel that does not build, a CLBlast
 * error) can never win. Candidates are tried through the library's own mechanism: each is
 * written to a file and a context is created with CLNN_TUNE=<file>, so what is measured is what
 * the library will run. Timing: the minimum over --runs runs after a warm-up (the minimum is the
 * figure least disturbed by other load on the machine), wall clock around clnn_context_finish.
 *
 * The candidates themselves (parameter sets, how they are written, CLBlast's constraints, random
 * draws) are in tools/tune/clnn_tune_candidates.c. Uses only the public API (it links
 * libclnn.so) plus the header-only file naming of src/gemm/tune_config.h. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clnn_cl.h" /* clnn.h and the OpenCL interop functions */
#include "../src/gemm/tune_config.h"
#include "tune/clnn_tune_candidates.h"
#include "tune/clnn_tune_conv.h"

/* ---------------------------------------------------------------------------------------------- */

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "clnn-tune: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(2);
}

static float frand(void) { return (float)((tune_next_rand() >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f; }

/* ---------------------------------------------------------------------------------------------- */
/* options and shapes                                                                             */
/* ---------------------------------------------------------------------------------------------- */

static struct {
  const char *device, *out, *cache_dir, *only;
  double time_s;
  int runs, print;
} opt = {NULL, NULL, NULL, NULL, 300.0, 5, 0};

typedef struct shape {
  const char *what;
  int ta, tb;
  size_t m, n, k, batch;
  int timed; /* 1: timing shape (also validated); 0: validation only */
  float *a, *b, *ref;
} shape;

/* Timing shapes: a square GEMM, a tall product against a transposed operand (dense layers, the
 * speech GEMMs), an LSTM step (16 rows, B^T), a convolution-like product (few rows, wide), and a
 * transposed-A product (weight gradients). Validation shapes: odd sizes in every transpose. */
static shape shapes[] = {
    {"1024x1024x1024 NN", 0, 0, 1024, 1024, 1024, 1, 1, NULL, NULL, NULL},
    {"1760x128x1760 NT", 0, 1, 1760, 128, 1760, 1, 1, NULL, NULL, NULL},
    {"16x1024x256 NT (LSTM step)", 0, 1, 16, 1024, 256, 1, 1, NULL, NULL, NULL},
    {"64x3136x576 NN (conv)", 0, 0, 64, 3136, 576, 1, 1, NULL, NULL, NULL},
    {"512x256x2048 TN", 1, 0, 512, 256, 2048, 1, 1, NULL, NULL, NULL},
    {"37x129x65 NN", 0, 0, 37, 129, 65, 1, 0, NULL, NULL, NULL},
    {"37x129x65 NT", 0, 1, 37, 129, 65, 1, 0, NULL, NULL, NULL},
    {"37x129x65 TN", 1, 0, 37, 129, 65, 1, 0, NULL, NULL, NULL},
    {"37x129x65 TT", 1, 1, 37, 129, 65, 1, 0, NULL, NULL, NULL},
    {"16x200x48 NT", 0, 1, 16, 200, 48, 1, 0, NULL, NULL, NULL},
    {"100x16x33 TN", 1, 0, 100, 16, 33, 1, 0, NULL, NULL, NULL},
    {"300x1x17 NN", 0, 0, 300, 1, 17, 1, 0, NULL, NULL, NULL},
    {"13x11x9 NN batch 3", 0, 0, 13, 11, 9, 3, 0, NULL, NULL, NULL},
};
#define NUM_SHAPES (sizeof shapes / sizeof shapes[0])

static void host_gemm(const shape *s, const float *a, const float *b, float *c) {
  const size_t m = s->m, n = s->n, k = s->k;
  if (s->timed && !s->ta && !s->tb) { /* i-k-j in float: fast enough for the big shapes */
    for (size_t i = 0; i < m * n; i++) c[i] = 0.0f;
    for (size_t i = 0; i < m; i++)
      for (size_t p = 0; p < k; p++) {
        const float x = a[i * k + p];
        const float *brow = b + p * n;
        float *crow = c + i * n;
        for (size_t j = 0; j < n; j++) crow[j] += x * brow[j];
      }
    return;
  }
  /* general: transpose to NN order first */
  float *at = malloc(m * k * sizeof(float)), *bt = malloc(k * n * sizeof(float));
  if (!at || !bt) die("out of host memory");
  for (size_t i = 0; i < m; i++)
    for (size_t p = 0; p < k; p++) at[i * k + p] = s->ta ? a[p * m + i] : a[i * k + p];
  for (size_t p = 0; p < k; p++)
    for (size_t j = 0; j < n; j++) bt[p * n + j] = s->tb ? b[j * k + p] : b[p * n + j];
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++) {
      double acc = 0;
      for (size_t p = 0; p < k; p++) acc += (double)at[i * k + p] * (double)bt[p * n + j];
      c[i * n + j] = (float)acc;
    }
  free(at);
  free(bt);
}

static void prepare_shapes(void) {
  for (size_t i = 0; i < NUM_SHAPES; i++) {
    shape *s = &shapes[i];
    size_t an = s->m * s->k * s->batch, bn = s->k * s->n * s->batch, cn = s->m * s->n * s->batch;
    s->a = malloc(an * sizeof(float));
    s->b = malloc(bn * sizeof(float));
    s->ref = malloc(cn * sizeof(float));
    if (!s->a || !s->b || !s->ref) die("out of host memory");
    for (size_t j = 0; j < an; j++) s->a[j] = frand();
    for (size_t j = 0; j < bn; j++) s->b[j] = frand();
    for (size_t q = 0; q < s->batch; q++)
      host_gemm(s, s->a + q * s->m * s->k, s->b + q * s->k * s->n, s->ref + q * s->m * s->n);
  }
}

/* ---------------------------------------------------------------------------------------------- */
/* measuring one candidate                                                                        */
/* ---------------------------------------------------------------------------------------------- */

static char tmp_dir[256];      /* candidate files and their kernel cache */
/* One OpenCL context for every candidate: each candidate is a clnn context wrapping it
 * (clnn_context_wrap applies the candidate's parameters), so CLBlast, which caches its compiled
 * kernels per OpenCL context, rebuilds only the kernels whose parameters changed. */
static cl_context cl_ctx;
static cl_device_id cl_dev;
static cl_command_queue cl_queue;
static double last_cost = 1.0; /* seconds the last candidate took */
static char cand_path[320];
static int tried, rejected;

/* Runs one shape on ctx: validates, then times. Returns GFLOP/s (best of runs), 0 on failure. */
static double run_shape(clnn_context *ctx, const shape *s, int time_it, char *why, size_t why_size) {
  int nd = s->batch > 1 ? 3 : 2, o = nd - 2;
  size_t ad[3] = {s->batch}, bd[3] = {s->batch}, cd[3] = {s->batch};
  ad[o] = s->ta ? s->k : s->m;
  ad[o + 1] = s->ta ? s->m : s->k;
  bd[o] = s->tb ? s->n : s->k;
  bd[o + 1] = s->tb ? s->k : s->n;
  cd[o] = s->m;
  cd[o + 1] = s->n;
  clnn_tensor *a = NULL, *b = NULL, *c = NULL;
  double result = 0;
  size_t cn = s->m * s->n * s->batch;
  float *got = malloc(cn * sizeof(float));
  clnn_status st;
  if (!got) die("out of host memory");
  if ((st = clnn_tensor_create(ctx, nd, ad, &a)) || (st = clnn_tensor_create(ctx, nd, bd, &b)) ||
      (st = clnn_tensor_create(ctx, nd, cd, &c)) || (st = clnn_tensor_write(a, s->a, s->m * s->k * s->batch)) ||
      (st = clnn_tensor_write(b, s->b, s->k * s->n * s->batch)) || (st = clnn_tensor_fill(c, NAN))) {
    snprintf(why, why_size, "%s: %s", s->what, clnn_last_error());
    goto done;
  }
#define GEMM_CALL()                                                                  \
  (nd == 3 ? clnn_gemm_batched(ctx, s->ta, s->tb, 1.0f, a, b, 0.0f, c)               \
           : clnn_gemm(ctx, s->ta, s->tb, 1.0f, a, b, 0.0f, c))
  if ((st = GEMM_CALL()) || (st = clnn_tensor_read(c, got, cn))) {
    snprintf(why, why_size, "%s: %s: %s", s->what, clnn_status_string(st), clnn_last_error());
    goto done;
  }
  {
    double err = 0, scale = 0;
    for (size_t i = 0; i < cn; i++) {
      double d = fabs((double)got[i] - (double)s->ref[i]);
      if (!(d <= err)) err = d; /* NaN included */
      if (fabs((double)s->ref[i]) > scale) scale = fabs((double)s->ref[i]);
    }
    if (!(err <= 1e-4 * (scale + 1e-30))) {
      snprintf(why, why_size, "%s: wrong result (max error %.3g of max |C| %.3g)", s->what, err, scale);
      goto done;
    }
  }
  result = 1; /* valid */
  if (time_it) {
    double best = 1e30;
    if ((st = GEMM_CALL()) || (st = clnn_context_finish(ctx))) { /* warm-up */
      result = 0;
      snprintf(why, why_size, "%s: %s", s->what, clnn_last_error());
      goto done;
    }
    for (int r = 0; r < opt.runs; r++) {
      double t0 = now_s();
      st = GEMM_CALL();
      if (!st) st = clnn_context_finish(ctx);
      double t = now_s() - t0;
      if (st) {
        result = 0;
        snprintf(why, why_size, "%s: %s", s->what, clnn_last_error());
        goto done;
      }
      if (t < best) best = t;
    }
    result = 2.0 * (double)s->m * (double)s->n * (double)s->k * (double)s->batch / best / 1e9;
  }
#undef GEMM_CALL
done:
  clnn_tensor_destroy(a);
  clnn_tensor_destroy(b);
  clnn_tensor_destroy(c);
  free(got);
  return result;
}

/* Measures a candidate on the timing shapes selected by `mask` (bit i: shapes[i]); validates on
 * every validation shape first. Returns the geometric mean of GFLOP/s, 0 when invalid.
 * per_shape (may be NULL) receives each timed shape's GFLOP/s. */
static double measure_file(unsigned mask, double *per_shape, int force_clblast);
static double measure(const candidate *c, unsigned mask, double *per_shape) {
  FILE *f = fopen(cand_path, "w");
  if (!f) die("cannot write %s: %s", cand_path, strerror(errno));
  fprintf(f, "format = %d\n", CLNN_TUNE_FORMAT);
  tune_write_params(f, c, 1);
  fclose(f);
  double sc = measure_file(mask, per_shape, !c->own);
  if (opt.print || sc <= 0) {
    char desc[512];
    tune_describe(c, desc, sizeof desc);
    if (sc > 0) fprintf(stderr, "  %7.2f GFLOP/s  %s\n", sc, desc);
    else fprintf(stderr, "  rejected: %s\n", desc);
  }
  return sc;
}

/* Measures whatever the candidate file says. */
static double measure_file(unsigned mask, double *per_shape, int force_clblast) {
  tried++;
  double t_begin = now_s();
  clnn_context_options o;
  clnn_context_options_init(&o);
  o.cache_dir = tmp_dir;
  o.force_clblast = force_clblast;
  setenv("CLNN_TUNE", cand_path, 1);
  clnn_context *ctx = NULL;
  clnn_status st = clnn_context_wrap(cl_ctx, cl_dev, cl_queue, &o, &ctx);
  unsetenv("CLNN_TUNE");
  char why[512] = "";
  if (st != CLNN_SUCCESS) {
    rejected++;
    fprintf(stderr, "  candidate rejected: context: %s\n", clnn_last_error());
    return 0;
  }
  double logsum = 0;
  int count = 0, ok = 1;
  for (size_t i = 0; i < NUM_SHAPES && ok; i++) {
    const shape *s = &shapes[i];
    int timed = s->timed && (mask >> i & 1);
    if (s->timed && !timed) continue;
    double g = run_shape(ctx, s, timed, why, sizeof why);
    if (g <= 0) ok = 0;
    else if (timed) {
      logsum += log(g);
      count++;
      if (per_shape) per_shape[i] = g;
    }
  }
  clnn_context_destroy(ctx);
  last_cost = now_s() - t_begin;
  if (!ok) {
    rejected++;
    fprintf(stderr, "  candidate rejected: %s\n", why);
    return 0;
  }
  return count ? exp(logsum / count) : 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* searches                                                                                       */
/* ---------------------------------------------------------------------------------------------- */

static double deadline;
/* Time for another candidate before `until` (judged by what the last one took). */
static int time_left(double until) { return now_s() + 0.8 * last_cost < until; }

#define ALL_TIMED 0x1Fu

/* Coordinate descent over clnn's kernel parameters from `start`. */
static candidate search_own(const clnn_device_info *info, own_params start, double until, double *best_out,
                            double *per_shape) {
  candidate best = {0};
  best.own = 1;
  best.o = start;
  best.min_indirect = -1;
  int regs = tune_own_regs(info);
  double best_score = measure(&best, ALL_TIMED, per_shape);
  fprintf(stderr, "clnn GEMM: start %.1f GFLOP/s (geometric mean over the timing shapes)\n", best_score);
  static const int mr_v[] = {3, 4, 5, 6, 7, 8, 10, 12, 14}, nv_v[] = {1, 2, 3, 4},
                   mrn_v[] = {4, 6, 8, 10, 12, 14, 16, 20, 24, 28}, rt_v[] = {1, 2, 4}, ku_v[] = {1, 2, 4};
  static const long pm_v[] = {0, 64, 128, 256, 512, 1024, 1L << 30};
  int improved = 1;
  for (int round = 0; improved && time_left(until); round++) {
    improved = 0;
    for (int param = 0; param < 8 && time_left(until); param++) {
      int nvals = param == 0 ? 9 : param == 1 ? 4 : param == 2 ? 10 : param == 3 ? 3 : param == 4 ? 3 : param == 5 ? 7 : 2;
      for (int vi = 0; vi < nvals && time_left(until); vi++) {
        candidate c = best;
        switch (param) {
          case 0: c.o.mr = mr_v[vi]; break;
          case 1: c.o.nv = nv_v[vi]; break;
          case 2: c.o.mr_n = mrn_v[vi]; break;
          case 3: c.o.rt = rt_v[vi]; break;
          case 4: c.o.ku = ku_v[vi]; break;
          case 5: c.o.pack_min = pm_v[vi]; break;
          case 7: c.o.order = vi; break;
          default: {
            int pref = (int)info->preferred_vector_width_float;
            int v = vi == 0 ? (pref >= 16 ? 16 : pref >= 8 ? 8 : 4) : (pref >= 16 ? 8 : 4);
            c.o.vw = v;
          }
        }
        if (!memcmp(&c.o, &best.o, sizeof c.o) || !tune_own_fits(&c.o, regs)) continue;
        double tmp[NUM_SHAPES] = {0};
        double sc = measure(&c, ALL_TIMED, tmp);
        if (sc > best_score * 1.02) { /* 2%: more than the noise between runs */
          best = c;
          best_score = sc;
          memcpy(per_shape, tmp, sizeof tmp);
          improved = 1;
          char d[512];
          tune_describe(&best, d, sizeof d);
          fprintf(stderr, "clnn GEMM: %.1f GFLOP/s  %s\n", best_score, d);
        }
      }
    }
  }
  *best_out = best_score;
  return best;
}

/* Random search over CLBlast's Xgemm (indirect path forced) and XgemmDirect (direct forced),
 * then the threshold between them. */
static candidate search_clblast(const clnn_device_info *info, double until, double *best_out, double *per_shape,
                                double *default_score, double *default_shapes) {
  candidate base = {0};
  base.min_indirect = -1;
  /* CLBlast's defaults, for the record (no overrides: the same process has applied none yet
   * when this runs first, which main() arranges) */
  *default_score = measure(&base, ALL_TIMED, default_shapes);
  fprintf(stderr, "CLBlast defaults: %.1f GFLOP/s\n", *default_score);
  double t_start = now_s(), span = until - t_start;
  /* Xgemm, the indirect kernel: the square and tall timing shapes */
  candidate bx = base;
  bx.has_xgemm = 1;
  bx.min_indirect = 1; /* every size through Xgemm */
  double bx_score = 0;
  /* starting points: CLBlast's generic default, then CPU-like shapes (large tiles per work-item) */
  static const int starts[][X_COUNT] = {
      {0, 1, 32, 2, 16, 16, 64, 8, 8, 64, 0, 0, 0, 0, 4, 1},
      {0, 1, 32, 2, 8, 8, 64, 8, 8, 64, 0, 0, 0, 0, 4, 4},
      {0, 1, 16, 2, 8, 8, 64, 8, 8, 64, 0, 0, 1, 1, 8, 8},
      {0, 1, 32, 8, 16, 16, 128, 16, 16, 128, 0, 0, 0, 0, 8, 8},
  };
  const double x_until = t_start + 0.55 * span;
  for (int i = 0; time_left(x_until); i++) {
    candidate c = bx;
    if (i < (int)(sizeof starts / sizeof starts[0])) memcpy(c.x, starts[i], sizeof c.x);
    else tune_random_xgemm(c.x, info);
    if (!tune_xgemm_valid(c.x, info)) continue;
    double sc = measure(&c, 0x3u, NULL); /* 1024^3 NN and 1760x128x1760 NT */
    if (sc > bx_score) {
      bx_score = sc;
      memcpy(bx.x, c.x, sizeof c.x);
      char d[512];
      tune_describe(&c, d, sizeof d);
      fprintf(stderr, "CLBlast Xgemm: %.1f GFLOP/s  %s\n", sc, d);
    }
  }
  /* XgemmDirect: the small timing shapes */
  candidate bd = base;
  bd.has_direct = 1;
  bd.min_indirect = 1L << 20; /* every size through XgemmDirect */
  double bd_score = 0;
  static const int dstarts[][D_COUNT] = {
      {2, 8, 8, 8, 8, 1, 1, 1, 1, 8}, /* CLBlast's generic default */
      {8, 8, 8, 8, 8, 0, 0, 4, 4, 32},
      {2, 8, 8, 8, 8, 0, 0, 8, 8, 64},
  };
  const double d_until = t_start + 0.9 * span;
  for (int i = 0; time_left(d_until); i++) {
    candidate c = bd;
    if (i < (int)(sizeof dstarts / sizeof dstarts[0])) memcpy(c.d, dstarts[i], sizeof c.d);
    else tune_random_direct(c.d, info);
    if (!tune_direct_valid(c.d, info)) continue;
    double sc = measure(&c, 0x1Cu, NULL); /* LSTM step, conv-like, TN */
    if (sc > bd_score) {
      bd_score = sc;
      memcpy(bd.d, c.d, sizeof c.d);
      char d[512];
      tune_describe(&c, d, sizeof d);
      fprintf(stderr, "CLBlast XgemmDirect: %.1f GFLOP/s  %s\n", sc, d);
    }
  }
  /* both, and the threshold between them */
  candidate best = base;
  double best_score = *default_score;
  memcpy(per_shape, default_shapes, sizeof(double) * NUM_SHAPES);
  static const long thresholds[] = {256, 512, 128, 1024, 384, 768, 0, 1L << 20};
  for (size_t i = 0; i < sizeof thresholds / sizeof thresholds[0] && (i == 0 || time_left(until)); i++) {
    candidate c = base;
    c.has_xgemm = bx_score > 0;
    c.has_direct = bd_score > 0;
    memcpy(c.x, bx.x, sizeof c.x);
    memcpy(c.d, bd.d, sizeof c.d);
    c.min_indirect = thresholds[i];
    if (!c.has_xgemm && !c.has_direct) break;
    double tmp[NUM_SHAPES] = {0};
    double sc = measure(&c, ALL_TIMED, tmp);
    if (sc > best_score) {
      best_score = sc;
      best = c;
      memcpy(per_shape, tmp, sizeof tmp);
    }
  }
  char d[1024];
  tune_describe(&best, d, sizeof d);
  fprintf(stderr, "CLBlast: best %.1f GFLOP/s  %s\n", best_score, d);
  *best_out = best_score;
  return best;
}

/* ---------------------------------------------------------------------------------------------- */

static void remove_tree_flat(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  char p[1024];
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    remove(p);
  }
  closedir(d);
  rmdir(dir);
}

static int mkdir_p(const char *dir) {
  char tmp[1024];
  snprintf(tmp, sizeof tmp, "%s", dir);
  for (char *p = tmp + 1; *p; p++)
    if (*p == '/') {
      *p = 0;
      if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
      *p = '/';
    }
  return (mkdir(tmp, 0755) != 0 && errno != EEXIST) ? -1 : 0;
}

static void usage(void) {
  printf("usage: clnn-tune [options]\n"
         "  --device SEL      device (as CLNN_DEVICE: P:D, cpu, gpu, name substring)\n"
         "  --time SECONDS    time box for the whole search (default 300; the last 15%%, 5 to 45 s,\n"
         "                    measures the convolution forward)\n"
         "  --only clnn|clblast|conv   search only clnn's kernels, only CLBlast's, or only measure\n"
         "                    the convolution forward (GEMM parameters as built in)\n"
         "  --out FILE        where to write the winners (default <cache dir>/tuned-<device key>.txt)\n"
         "  --cache-dir DIR   cache directory (default $CLNN_CACHE_DIR, $XDG_CACHE_HOME/clnn, ~/.cache/clnn)\n"
         "  --runs N          timed runs per shape and candidate (default 5; the minimum counts)\n"
         "  --print           print every candidate's score\n"
         "Convolution forward: on the device's GPU class, im2col + GEMM and the implicit GEMM, bias and\n"
         "ReLU fused, each forced, on clnn-bench's res3x3_14, stem7x7 and lenet5x5; conv.igemm = 1 (AUTO\n"
         "runs the implicit GEMM for dense convolutions there) only where the geometric mean of\n"
         "im2col time / implicit-GEMM time is above 1.02 and the two agree; else 0.\n");
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage();
      return 0;
    } else if (!strcmp(a, "--print")) {
      opt.print = 1;
      continue;
    }
    if (!v) die("%s needs a value (see --help)", a);
    i++;
    if (!strcmp(a, "--device")) opt.device = v;
    else if (!strcmp(a, "--time")) opt.time_s = atof(v);
    else if (!strcmp(a, "--only")) {
      if (strcmp(v, "clnn") && strcmp(v, "clblast") && strcmp(v, "conv")) die("--only takes clnn, clblast or conv");
      opt.only = v;
    } else if (!strcmp(a, "--out")) opt.out = v;
    else if (!strcmp(a, "--cache-dir")) opt.cache_dir = v;
    else if (!strcmp(a, "--runs")) opt.runs = atoi(v) > 0 ? atoi(v) : 1;
    else die("unknown option %s (see --help)", a);
  }
  double t0 = now_s();
  /* the last part of the time box (15%, 5 to 45 s) is the convolution measurement's */
  double conv_share = fmin(fmax(0.15 * opt.time_s, 5.0), 45.0);
  if (conv_share > 0.5 * opt.time_s) conv_share = 0.5 * opt.time_s;
  deadline = t0 + opt.time_s - conv_share;

  /* the device, and where the winners go */
  clnn_context_options o;
  clnn_context_options_init(&o);
  o.device = opt.device;
  o.cache_dir = "off";
  setenv("CLNN_TUNE", "off", 1);
  clnn_context *probe = NULL;
  clnn_status st = clnn_context_create(&o, &probe);
  unsetenv("CLNN_TUNE");
  if (st != CLNN_SUCCESS) die("cannot create a context: %s: %s", clnn_status_string(st), clnn_last_error());
  clnn_device_info info;
  clnn_device_info_init(&info);
  clnn_context_device_info(probe, &info);
  clnn_context_get_cl(probe, &cl_ctx, &cl_dev, &cl_queue); /* probe lives until the end */
  char out[2048], fname[64];
  clnn_tune_file_name(&info, fname, sizeof fname);
  if (opt.out) {
    snprintf(out, sizeof out, "%s", opt.out);
  } else {
    const char *dir = opt.cache_dir ? opt.cache_dir : getenv("CLNN_CACHE_DIR");
    char buf[1024];
    if (!dir || !*dir) {
      const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
      if (xdg && *xdg) snprintf(buf, sizeof buf, "%s/clnn", xdg);
      else if (home && *home) snprintf(buf, sizeof buf, "%s/.cache/clnn", home);
      else die("no cache directory: pass --cache-dir or --out");
      dir = buf;
    }
    if (!strcmp(dir, "off")) die("the cache directory is off: pass --cache-dir or --out");
    if (mkdir_p(dir) != 0) die("cannot create %s: %s", dir, strerror(errno));
    snprintf(out, sizeof out, "%s/%s", dir, fname);
  }
  fprintf(stderr, "clnn-tune: %s (%s, driver %s), %.0f s; winners go to %s\n", info.name, info.platform_name,
          info.driver_version, opt.time_s, out);

  snprintf(tmp_dir, sizeof tmp_dir, "/tmp/clnn-tune-XXXXXX");
  if (!mkdtemp(tmp_dir)) die("mkdtemp: %s", strerror(errno));
  snprintf(cand_path, sizeof cand_path, "%s/candidate.txt", tmp_dir);
  if (!opt.only || strcmp(opt.only, "conv")) {
    fprintf(stderr, "clnn-tune: computing host references...\n");
    prepare_shapes();
  }

  int do_clblast = !opt.only || !strcmp(opt.only, "clblast");
  int do_own = (!opt.only || !strcmp(opt.only, "clnn")) && info.type == CLNN_DEVICE_CPU;
  if (opt.only && !strcmp(opt.only, "conv")) deadline = now_s(); /* no GEMM search */
  if ((!opt.only || !strcmp(opt.only, "clnn")) && info.type != CLNN_DEVICE_CPU)
    fprintf(stderr, "clnn-tune: clnn's GEMM kernels are shaped for CPU devices; searching CLBlast only\n");

  double remaining = deadline - now_s();
  double clblast_score = 0, clblast_default = 0, own_score = 0;
  double clblast_shapes[NUM_SHAPES] = {0}, default_shapes[NUM_SHAPES] = {0}, own_shapes[NUM_SHAPES] = {0};
  candidate cb = {0}, co = {0};
  cb.min_indirect = co.min_indirect = -1;
  (void)co;
  /* CLBlast first: its defaults are only measurable before any override in this process */
  if (do_clblast)
    cb = search_clblast(&info, now_s() + (do_own ? 0.5 : 1.0) * remaining, &clblast_score, clblast_shapes,
                        &clblast_default, default_shapes);
  if (do_own) {
    int pref = (int)info.preferred_vector_width_float;
    /* start from the built-in shape: 12 x 2 vectors with 32 registers, 6 x 2 with 16 */
    own_params start = {pref >= 16 ? 16 : pref >= 8 ? 8 : 4, tune_own_regs(&info) >= 32 ? 12 : 6, 2, 12, 1, 2, 256, 0};
    if (!tune_own_fits(&start, tune_own_regs(&info))) start.mr = 4;
    co = search_own(&info, start, deadline, &own_score, own_shapes);
  }

  /* --only clnn: compare with CLBlast as it runs now (built-in or earlier tuned parameters) */
  if (do_own && !do_clblast) {
    FILE *cf = fopen(cand_path, "w");
    if (cf) {
      fprintf(cf, "format = %d\ngemm.own = 0\n", CLNN_TUNE_FORMAT);
      fclose(cf);
    }
    clblast_score = measure_file(ALL_TIMED, clblast_shapes, 1);
  }
  /* the file: clnn's GEMM on when it measured faster than CLBlast's best here */
  int own_on = do_own && own_score > clblast_score;
  char tmp_out[2100];
  snprintf(tmp_out, sizeof tmp_out, "%s.tmp.%ld", out, (long)getpid());
  FILE *f = fopen(tmp_out, "w");
  if (!f) die("cannot write %s: %s", tmp_out, strerror(errno));
  time_t tt = time(NULL);
  char date[64];
  strftime(date, sizeof date, "%Y-%m-%d %H:%M", localtime(&tt));
  fprintf(f, "# clnn tuned GEMM parameters, written by clnn-tune %s on %s (%.0f s, %d candidates, %d rejected)\n",
          CLNN_VERSION_STRING, date, now_s() - t0, tried, rejected);
  fprintf(f, "# device: %s | %s | driver %s\n", info.name, info.platform_name, info.driver_version);
  fprintf(f, "# geometric mean GFLOP/s over the timing shapes (best of %d runs each):\n", opt.runs);
  fprintf(f, "#   clnn GEMM %.1f, CLBlast tuned %.1f, CLBlast defaults %.1f\n", own_score, clblast_score, clblast_default);
  for (size_t i = 0; i < NUM_SHAPES; i++)
    if (shapes[i].timed)
      fprintf(f, "#   %-28s clnn %7.1f  CLBlast tuned %7.1f  CLBlast defaults %7.1f\n", shapes[i].what, own_shapes[i],
              clblast_shapes[i], default_shapes[i]);
  fprintf(f, "format = %d\ndevice = %s\n", CLNN_TUNE_FORMAT, info.name);
  if (do_clblast) {
    tune_write_params(f, &cb, 0);
  } else {
    fprintf(f, "# CLBlast not searched: its parameters stay as built in\n");
  }
  if (do_own) {
    if (own_on) {
      candidate w = co;
      w.own = 1;
      w.has_xgemm = w.has_direct = 0;
      w.min_indirect = 0; /* suppress "clblast = default" */
      fprintf(f, "gemm.own = 1\ngemm.vw = %d\ngemm.mr = %d\ngemm.nv = %d\ngemm.mr_n = %d\ngemm.rt = %d\n"
                 "gemm.ku = %d\ngemm.pack_min = %ld\ngemm.order = %d\n",
              w.o.vw, w.o.mr, w.o.nv, w.o.mr_n, w.o.rt, w.o.ku, w.o.pack_min, w.o.order);
    } else {
      fprintf(f, "gemm.own = 0\n");
    }
  } else {
    fprintf(f, "# clnn's GEMM not searched%s: its parameters stay as built in\n",
            info.type != CLNN_DEVICE_CPU ? " (not a CPU device)" : "");
  }
  if (fclose(f) != 0) die("cannot write %s: %s", tmp_out, strerror(errno));
  /* the convolution forward on the GPU class, with the GEMM parameters just written */
  clnn_tune_conv_time conv_t[CLNN_TUNE_CONV_SHAPES];
  char conv_note[512] = "";
  int conv_on = clnn_tune_conv_measure(cl_ctx, cl_dev, cl_queue, tmp_out, tmp_dir, t0 + opt.time_s, opt.runs, conv_t,
                                       conv_note, sizeof conv_note);
  if (!(f = fopen(tmp_out, "a"))) die("cannot write %s: %s", tmp_out, strerror(errno));
  clnn_tune_conv_write(f, 1, conv_t, conv_on, conv_note);
  if (fclose(f) != 0 || rename(tmp_out, out) != 0) die("cannot write %s: %s", out, strerror(errno));
  remove_tree_flat(tmp_dir);
  clnn_context_destroy(probe);

  printf("clnn-tune: %d candidates in %.0f s (%d rejected by validation)\n", tried, now_s() - t0, rejected);
  printf("  %-30s %12s %14s %16s\n", "shape (GFLOP/s)", "clnn", "CLBlast tuned", "CLBlast default");
  for (size_t i = 0; i < NUM_SHAPES; i++)
    if (shapes[i].timed && (do_own || do_clblast))
      printf("  %-30s %12.1f %14.1f %16.1f\n", shapes[i].what, own_shapes[i], clblast_shapes[i], default_shapes[i]);
  printf("  %-30s %12.1f %14.1f %16.1f\n", "geometric mean", own_score, clblast_score, clblast_default);
  printf("GEMM path on this device: %s\n",
         do_own ? (own_on ? "clnn's CPU kernels" : "CLBlast") : "unchanged (clnn's GEMM not searched)");
  clnn_tune_conv_write(stdout, 0, conv_t, conv_on, conv_note);
  printf("wrote %s\n", out);
  return 0;
}
