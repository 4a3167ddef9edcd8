/* bench/bench_gemm.c — clnn-bench's GEMM cases: shapes, clnn_gemm against OpenBLAS sgemm, and
 * CLBlast with its default parameters. Included by clnn_bench.c; not compiled on its own. */

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
