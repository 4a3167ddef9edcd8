/* bench/bench_memory.c — clnn-bench's memory-bound cases (pooling, softmax cross-entropy, Adam,
 * ReLU backward), compared with a device copy of the same bytes. Included by clnn_bench.c before
 * bench_seq.c (which uses mem_pass); not compiled on its own. */

/* ============================================================================================== */
/* memory-bound cases                                                                             */
/* ============================================================================================== */

typedef struct mem_arg {
  clnn_pool2d_params pp;
  clnn_tensor *a, *b, *c, *d, *e;
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
static clnn_status maxpool_fwd_idx(void *p) {
  mem_arg *m = p;
  return clnn_maxpool2d_forward_indices(g_ctx, &m->pp, m->a, m->b, m->e);
}
static clnn_status maxpool_bwd_idx(void *p) {
  mem_arg *m = p;
  return clnn_maxpool2d_backward_indices(g_ctx, &m->pp, m->e, m->c, 0.0f, m->d);
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

/* path: what the row's "path" column says ran. */
static void mem_pass_path(const char *name, const char *pass, const char *path, pass_fn fn,
                          mem_arg *m, double bytes) {
  double copy_min = 0, copy_ms = same_bytes_copy_ms(bytes, &copy_min);
  result *r = new_result(name, pass);
  time_pass(r, fn, m);
  snprintf(r->path, sizeof r->path, "%s", path);
  finish_rate(r, bytes, "GB/s"); /* %peak: of the copy bandwidth measured first (large buffers) */
  if (copy_ms > 0) {
    /* the reference: a plain copy of the same bytes, timed just before */
    snprintf(r->ref_name, sizeof r->ref_name, "copy-same-bytes");
    r->ref_ms = copy_ms;
    r->ref_min_ms = copy_min;
    r->ref_rate = bytes / (copy_ms * 1e-3) / 1e9;
    set_ratios(r);
  }
  progress(r);
}

static void mem_pass(const char *name, const char *pass, pass_fn fn, mem_arg *m, double bytes) {
  mem_pass_path(name, pass, "clnn kernels", fn, m, bytes);
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
    if (clnn_maxpool2d_forward_indices && clnn_maxpool2d_backward_indices) {
      /* training's path: the forward keeps int32 argmax indices, the backward (PyTorch's
       * "backward" row does the same) reads dy and them instead of x */
      m.e = tensor(4, yd, NULL);
      mem_pass_path(name, "forward-indices", "clnn kernels (y + int32 indices)", maxpool_fwd_idx,
                    &m, 4.0 * (double)(xn + 2 * yn)); /* x read; y, indices written */
      CHECK(maxpool_fwd_idx(&m));
      mem_pass_path(name, "backward", "clnn kernels (saved int32 indices)", maxpool_bwd_idx, &m,
                    4.0 * (double)(xn + 2 * yn)); /* dy, indices read; dx written */
      clnn_tensor_destroy(m.e);
    }
    mem_pass_path(name, clnn_maxpool2d_backward_indices ? "backward-recompute" : "backward",
                  "clnn kernels (argmax recomputed from x)", maxpool_bwd, &m,
                  4.0 * (double)(2 * xn + yn)); /* x, dy read; dx written */
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
