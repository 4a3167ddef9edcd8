/* bench/bench_conv.c — clnn-bench's convolution cases: shapes, forward / backward-data /
 * backward-filter passes (--conv-algo forces an algorithm) against a host im2col + sgemm
 * reference. Included by clnn_bench.c; not compiled on its own. */

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
  return clnn_conv2d_forward(g_ctx, &c->p, (clnn_conv_algo)opt.conv_algo, c->x, c->w, NULL, CLNN_ACT_IDENTITY, 0.0f, c->y);
}
static clnn_status conv_bwd_data(void *p) {
  conv_arg *c = p;
  return clnn_conv2d_backward_data(g_ctx, &c->p, (clnn_conv_algo)opt.conv_algo, c->dy, c->w, 0.0f, c->dx);
}
static clnn_status conv_bwd_filter(void *p) {
  conv_arg *c = p;
  return clnn_conv2d_backward_filter(g_ctx, &c->p, (clnn_conv_algo)opt.conv_algo, c->x, c->dy, 0.0f, c->dw);
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
  size_t ws_bytes = 0;
  if (opt.conv_algo != CLNN_CONV_ALGO_AUTO &&
      (!clnn_conv2d_workspace_size ||
       clnn_conv2d_workspace_size(g_ctx, &c.p, (clnn_conv_algo)opt.conv_algo, xd, wd, &ws_bytes) != CLNN_SUCCESS)) {
    not_available(s->name, "the --conv-algo algorithm does not apply to this shape");
    return;
  }
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
  static const struct {
    const char *pass;
    pass_fn fn;
    host_fn host;
    int mult;
  } passes[] = {{"forward", conv_fwd, conv_host_fwd, 1},
                {"backward-data", conv_bwd_data, conv_host_bwd_data, 1},
                {"backward-filter", conv_bwd_filter, conv_host_bwd_filter, 1},
                {"train-step", conv_step, conv_host_step, 3}};
  /* what each pass ran, as the library reports it (clnn__conv2d_last_algo); the train step's
   * label lists its three passes' */
  const char *algos[3] = {"none", "none", "none"};
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
    int gemm = strstr(algo, "gemm") && strcmp(algo, "implicit-gemm");
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
