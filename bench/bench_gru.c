/* bench/bench_gru.c — clnn-bench's GRU cases (shapes as the LSTM cases'): clnn_gru_forward /
 * clnn_gru_backward against an OpenBLAS-based host GRU (the same GEMM structure: one input
 * projection, one recurrent sgemm per step, fused elementwise gates; b_hn inside the reset
 * product). FLOPs: forward 6*H*(H+I)*N*T, backward 2x forward. Not a file of its own:
 * bench/clnn_bench.c includes it after its LSTM section and uses its timing and result helpers. */

#pragma weak clnn_gru_forward
#pragma weak clnn_gru_backward
#pragma weak clnn_gru_reserve_numel

static const lstm_shape gru_shapes[] = {
    {"gru_256", 256, 256, 16, 150, "ci"},
    {"gru_512", 512, 512, 16, 25, "ci"},
    {"gru_1024", 1024, 1024, 64, 25, "gpu"},
    {"gru_2048", 2048, 2048, 128, 25, "gpu"},
};

typedef struct gru_arg {
  const lstm_shape *s;
  clnn_tensor *x, *wih, *whh, *bih, *bhh, *y, *hn, *res, *dy, *dx, *dwih, *dwhh, *dbih, *dbhh;
  /* host: input projection gi [T*N, 3H], per step gh [N, 3H]; saved r, z, n, W_hn h + b_hn */
  float *hx, *hwih, *hwhh, *hbih, *hbhh, *hy, *hdy, *gi, *gh, *sv, *dgi, *dgh, *dh, *hdx, *hdwih,
      *hdwhh, *hdbih, *hdbhh;
} gru_arg;

static clnn_status gru_fwd(void *p) {
  gru_arg *g = p;
  return clnn_gru_forward(g_ctx, NULL, g->x, g->wih, g->whh, g->bih, g->bhh, NULL, g->y, g->hn,
                          g->res);
}
static clnn_status gru_bwd(void *p) {
  gru_arg *g = p;
  return clnn_gru_backward(g_ctx, NULL, g->x, g->wih, g->whh, NULL, g->res, g->dy, NULL, 0.0f,
                           g->dx, g->dwih, g->dwhh, g->dbih, g->dbhh, NULL);
}
static clnn_status gru_step(void *p) {
  clnn_status s = gru_fwd(p);
  if (!s) s = gru_bwd(p);
  return s;
}

static void gru_host_fwd(void *p) {
  gru_arg *a = p;
  const int H = a->s->H, I = a->s->I, N = a->s->N, T = a->s->T, G = 3 * H;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T * N, G, I, 1.0f, a->hx, I, a->hwih, I, 0.0f, a->gi, G);
  for (int t = 0; t < T; t++) {
    const float *hp = t > 0 ? a->hy + (size_t)(t - 1) * N * H : NULL;
    if (hp) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, G, H, 1.0f, hp, H, a->hwhh, H, 0.0f, a->gh, G);
    else memset(a->gh, 0, sizeof(float) * (size_t)N * G);
    for (int n = 0; n < N; n++) {
      const float *gi = a->gi + ((size_t)t * N + n) * G, *gh = a->gh + (size_t)n * G;
      float *sv = a->sv + ((size_t)t * N + n) * 4 * H, *h = a->hy + ((size_t)t * N + n) * H;
      for (int j = 0; j < H; j++) {
        float hr = gh[j] + a->hbhh[j], hz = gh[H + j] + a->hbhh[H + j], hn = gh[2 * H + j] + a->hbhh[2 * H + j];
        float r = sigm(gi[j] + a->hbih[j] + hr), z = sigm(gi[H + j] + a->hbih[H + j] + hz);
        float c = tanhf(gi[2 * H + j] + a->hbih[2 * H + j] + r * hn);
        sv[j] = r, sv[H + j] = z, sv[2 * H + j] = c, sv[3 * H + j] = hn;
        h[j] = (1.0f - z) * c + z * (hp ? hp[(size_t)n * H + j] : 0.0f);
      }
    }
  }
}
static void gru_host_bwd(void *p) {
  gru_arg *a = p;
  const int H = a->s->H, I = a->s->I, N = a->s->N, T = a->s->T, G = 3 * H;
  memset(a->dh, 0, sizeof(float) * (size_t)N * H); /* dh from the next step */
  for (int t = T - 1; t >= 0; t--) {
    const float *hp = t > 0 ? a->hy + (size_t)(t - 1) * N * H : NULL;
    for (int n = 0; n < N; n++) {
      const float *sv = a->sv + ((size_t)t * N + n) * 4 * H, *dy = a->hdy + ((size_t)t * N + n) * H;
      float *dgi = a->dgi + ((size_t)t * N + n) * G, *dgh = a->dgh + ((size_t)t * N + n) * G;
      float *dh = a->dh + (size_t)n * H;
      for (int j = 0; j < H; j++) {
        float r = sv[j], z = sv[H + j], c = sv[2 * H + j], hn = sv[3 * H + j];
        float g = dy[j] + dh[j], h_prev = hp ? hp[(size_t)n * H + j] : 0.0f;
        float dc = g * (1.0f - z) * (1.0f - c * c), dz = g * (h_prev - c) * z * (1.0f - z);
        float dr = dc * hn * r * (1.0f - r);
        dgi[j] = dr, dgi[H + j] = dz, dgi[2 * H + j] = dc;
        dgh[j] = dr, dgh[H + j] = dz, dgh[2 * H + j] = dc * r;
        dh[j] = g * z;
      }
    }
    /* dh for step t-1 += dgh_t * W_hh */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, H, G, 1.0f, a->dgh + (size_t)t * N * G, G, a->hwhh, H,
                1.0f, a->dh, H);
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T * N, I, G, 1.0f, a->dgi, G, a->hwih, I, 0.0f, a->hdx, I);
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G, I, T * N, 1.0f, a->dgi, G, a->hx, I, 0.0f, a->hdwih, I);
  memset(a->hdwhh, 0, sizeof(float) * (size_t)G * H);
  if (T > 1)
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G, H, (T - 1) * N, 1.0f, a->dgh + (size_t)N * G, G, a->hy,
                H, 0.0f, a->hdwhh, H);
  for (int j = 0; j < G; j++) a->hdbih[j] = a->hdbhh[j] = 0;
  for (size_t r = 0; r < (size_t)T * N; r++)
    for (int j = 0; j < G; j++) a->hdbih[j] += a->dgi[r * G + j], a->hdbhh[j] += a->dgh[r * G + j];
}
static void gru_host_step(void *p) {
  gru_host_fwd(p);
  gru_host_bwd(p);
}

static void run_gru(const lstm_shape *s) {
  if (!clnn_gru_forward || !clnn_gru_backward || !clnn_gru_reserve_numel) {
    not_available(s->name, "GRU operators are not in this build");
    return;
  }
  gru_arg a;
  memset(&a, 0, sizeof a);
  a.s = s;
  const size_t H = (size_t)s->H, I = (size_t)s->I, N = (size_t)s->N, T = (size_t)s->T, G = 3 * H;
  float scale = 1.0f / sqrtf((float)H);
  a.hx = host_rand(T * N * I, 1.0f);
  a.hwih = host_rand(G * I, scale);
  a.hwhh = host_rand(G * H, scale);
  a.hbih = host_rand(G, 0.1f);
  a.hbhh = host_rand(G, 0.1f);
  a.hdy = host_rand(T * N * H, 1.0f);
  a.hy = host_zero(T * N * H);
  a.gi = host_zero(T * N * G);
  a.gh = host_zero(N * G);
  a.sv = host_zero(T * N * 4 * H);
  a.dgi = host_zero(T * N * G);
  a.dgh = host_zero(T * N * G);
  a.dh = host_zero(N * H);
  a.hdx = host_zero(T * N * I);
  a.hdwih = host_zero(G * I);
  a.hdwhh = host_zero(G * H);
  a.hdbih = host_zero(G);
  a.hdbhh = host_zero(G);
  size_t xd[3] = {T, N, I}, yd[3] = {T, N, H}, nh[2] = {N, H}, g1[1] = {G};
  a.x = tensor(3, xd, a.hx);
  a.wih = tensor2(G, I, a.hwih);
  a.whh = tensor2(G, H, a.hwhh);
  a.bih = tensor(1, g1, a.hbih);
  a.bhh = tensor(1, g1, a.hbhh);
  a.y = tensor(3, yd, NULL);
  a.hn = tensor(2, nh, NULL);
  size_t rn[1] = {clnn_gru_reserve_numel(T, N, H)};
  a.res = tensor(1, rn, NULL);
  a.dy = tensor(3, yd, a.hdy);
  a.dx = tensor(3, xd, NULL);
  a.dwih = tensor2(G, I, NULL);
  a.dwhh = tensor2(G, H, NULL);
  a.dbih = tensor(1, g1, NULL);
  a.dbhh = tensor(1, g1, NULL);
  double fwd = 6.0 * (double)H * (double)(H + I) * (double)N * (double)T;
  static const rnn_pass passes[3] = {{"forward", gru_fwd, gru_host_fwd, 1.0},
                                     {"backward", gru_bwd, gru_host_bwd, 2.0},
                                     {"train-step", gru_step, gru_host_step, 3.0}};
  rnn_run_passes(s, passes, &a, fwd, "openblas-gru", a.y, a.hy, T * N * H, a.dwhh, a.hdwhh,
                 G * H);
  clnn_tensor *ts[] = {a.x,  a.wih, a.whh, a.bih, a.bhh,  a.y,    a.hn,
                       a.res, a.dy, a.dx,  a.dwih, a.dwhh, a.dbih, a.dbhh};
  for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) clnn_tensor_destroy(ts[i]);
  float *hs[] = {a.hx,  a.hwih, a.hwhh, a.hbih,  a.hbhh,  a.hy,    a.hdy,   a.gi,   a.gh,
                 a.sv,  a.dgi,  a.dgh,  a.dh,    a.hdx,   a.hdwih, a.hdwhh, a.hdbih, a.hdbhh};
  for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++) free(hs[i]);
}
