/* bench/clnn_bench.c — clnn-bench: the benchmark suite of docs/BENCHMARKS.md on one device,
 * side by side with a reference on the same machine in the same run.
 *
 *   clnn-bench [--tier ci|gpu] [--case NAME[,NAME...]]... [--runs N] [--warmup N] [--budget S]
 *              [--device SEL] [--json FILE] [--plot FILE.png] [--no-reference] [--list]
 *              [--conv-algo auto|im2col|1x1|direct|igemm|winograd]
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
 *    measured copy bandwidth. ratio = reference time / clnn time (above 1: clnn is faster) of
 *    the fastest runs; the ratio of the medians is printed beside it.
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
#pragma weak clnn_conv2d_workspace_size
#pragma weak clnn_maxpool2d_forward
#pragma weak clnn_maxpool2d_backward
#pragma weak clnn_maxpool2d_forward_indices
#pragma weak clnn_maxpool2d_backward_indices
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

/* The pieces of this program, in dependency order: helpers and timing, then the cases. */
#include "bench_timing.c"
#include "bench_peak.c"
#include "bench_gemm.c"
#include "bench_conv.c"
#include "bench_lstm.c"

/* The GRU cases (gru_shapes, run_gru) live in bench/bench_gru.c, compiled as part of this file. */
#include "bench_gru.c"

#include "bench_memory.c"

/* attention, layer norm, embedding */
#include "bench_seq.c"

/* ============================================================================================== */
/* the suite                                                                                      */
/* ============================================================================================== */

typedef struct bench_case {
  const char *name;
  const char *tier; /* "ci": in both tiers; "gpu": gpu tier only */
  int kind;         /* 0 gemm, 1 conv, 2 lstm, 3 other, 4 attention, 5 sequence others, 6 gru */
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
  /* the examples' max pools (2x2, stride 2): MNIST's two layers, digits' one */
  suite[suite_n++] = (bench_case){"pool_max2_28", "ci", 3, 5};
  suite[suite_n++] = (bench_case){"pool_max2_14", "ci", 3, 6};
  suite[suite_n++] = (bench_case){"pool_max2_8", "ci", 3, 7};
  for (size_t i = 0; i < sizeof lstm_shapes / sizeof lstm_shapes[0]; i++)
    suite[suite_n++] = (bench_case){lstm_shapes[i].name, lstm_shapes[i].tier, 2, (int)i};
  for (size_t i = 0; i < sizeof gru_shapes / sizeof gru_shapes[0]; i++)
    suite[suite_n++] = (bench_case){gru_shapes[i].name, gru_shapes[i].tier, 6, (int)i};
  suite[suite_n++] = (bench_case){"softmax_xent", "ci", 3, 2};
  suite[suite_n++] = (bench_case){"adam_25M", "ci", 3, 3};
  suite[suite_n++] = (bench_case){"relu_bwd_64M", "ci", 3, 4};
  for (size_t i = 0; i < sizeof attn_shapes / sizeof attn_shapes[0]; i++)
    suite[suite_n++] = (bench_case){attn_shapes[i].name, attn_shapes[i].tier, 4, (int)i};
  suite[suite_n++] = (bench_case){"layernorm_8192x256", "ci", 5, 0};
  suite[suite_n++] = (bench_case){"embedding_32k_256", "ci", 5, 1};
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
    case 4: run_attention(&attn_shapes[c->index]); break;
    case 5: c->index == 0 ? run_layernorm(c->name) : run_embedding(c->name); break;
    case 6: run_gru(&gru_shapes[c->index]); break;
    default:
      switch (c->index) {
        case 0: run_pool(c->name, 1, 2, 64, 112, 112, 3, 2, 1); break;
        case 1: run_pool(c->name, 0, 2, 256, 28, 28, 2, 2, 0); break;
        case 2: run_softmax(c->name); break;
        case 3: run_adam(c->name); break;
        case 5: run_pool(c->name, 1, 64, 32, 28, 28, 2, 2, 0); break;
        case 6: run_pool(c->name, 1, 64, 64, 14, 14, 2, 2, 0); break;
        case 7: run_pool(c->name, 1, 32, 32, 8, 8, 2, 2, 0); break;
        default: run_relu(c->name); break;
      }
  }
}

#include "bench_report.c"

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
         "  --conv-algo A       force the convolution cases' algorithm: auto (default), im2col,\n"
         "                      1x1, direct, igemm (implicit GEMM: forward; backward runs im2col)\n"
         "                      or winograd (3x3 stride 1; on CPU devices also the forward of\n"
         "                      row-stride-2 filters of 5-8 rows: the stem)\n"
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
    } else if (!strcmp(a, "--conv-algo")) {
      NEED_VALUE();
      static const struct { const char *name; clnn_conv_algo algo; } algos[] = {
          {"auto", CLNN_CONV_ALGO_AUTO}, {"im2col", CLNN_CONV_ALGO_IM2COL_GEMM},
          {"1x1", CLNN_CONV_ALGO_1X1_GEMM}, {"direct", CLNN_CONV_ALGO_DIRECT},
          {"igemm", CLNN_CONV_ALGO_IMPLICIT_GEMM}, {"winograd", CLNN_CONV_ALGO_WINOGRAD}};
      int found = 0;
      for (size_t k = 0; k < sizeof algos / sizeof algos[0]; k++)
        if (!strcmp(v, algos[k].name)) opt.conv_algo = algos[k].algo, found = 1;
      if (!found) die("--conv-algo must be auto, im2col, 1x1, direct, igemm or winograd, not %s", v);
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
