/* bench/bench_lstm.c — clnn-bench's LSTM cases: shapes, clnn_lstm_forward / backward against an
 * sgemm-based host LSTM. Included by clnn_bench.c before bench_gru.c (which reuses lstm_shape);
 * not compiled on its own. */

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

/* One recurrent case's three passes, forward first (backward uses the reserve, and the host
 * backward the state, it leaves): each timed, its rate from `fwd_flops` times the pass's
 * multiple, the host pass timed as reference `ref_name` (or just run, for the check); forward and
 * train step compare fwd_out with fwd_want, backward bwd_out with bwd_want. */
typedef struct rnn_pass {
  const char *pass;
  pass_fn fn;
  host_fn host;
  double mult;
} rnn_pass;
static void rnn_run_passes(const lstm_shape *s, const rnn_pass *passes, void *arg,
                           double fwd_flops, const char *ref_name, const clnn_tensor *fwd_out,
                           const float *fwd_want, size_t fwd_n, const clnn_tensor *bwd_out,
                           const float *bwd_want, size_t bwd_n) {
  for (int i = 0; i < 3; i++) {
    result *r = new_result(s->name, passes[i].pass);
    time_pass(r, passes[i].fn, arg);
    char gp[sizeof r->path];
    snprintf(gp, sizeof gp, "%s", r->path);
    snprintf(r->path, sizeof r->path, "per-step gemm %.60s", gp);
    finish_rate(r, fwd_flops * passes[i].mult, "GFLOP/s");
    if (opt.reference) set_ref(r, ref_name, time_host(passes[i].host, arg, 0));
    else passes[i].host(arg);
    const int fwd = i != 1;
    float *got = read_back(fwd ? fwd_out : bwd_out);
    r->check = rel_err(got, fwd ? fwd_want : bwd_want, fwd ? fwd_n : bwd_n);
    free(got);
    progress(r);
  }
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
  static const rnn_pass passes[3] = {{"forward", lstm_fwd, lstm_host_fwd, 1.0},
                                     {"backward", lstm_bwd, lstm_host_bwd, 2.0},
                                     {"train-step", lstm_step, lstm_host_step, 3.0}};
  rnn_run_passes(s, passes, &l, fwd, "openblas-lstm", l.y, l.hy, T * N * H, l.dwih, l.hdwih,
                 G * I);
  clnn_tensor *ts[] = {l.x, l.wih, l.whh, l.bias, l.y, l.hn, l.cn, l.res, l.dy, l.dx, l.dwih, l.dwhh, l.dbias};
  for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) clnn_tensor_destroy(ts[i]);
  float *hs[] = {l.hx, l.hwih, l.hwhh, l.hbias, l.hy, l.hdy, l.gates, l.cs, l.dgates, l.dh, l.dhn, l.hdx, l.hdwih,
                 l.hdwhh, l.hdbias};
  for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++) free(hs[i]);
}
