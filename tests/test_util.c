/* tests/test_util.c — implementation of the test harness in test_util.h. */
#define _POSIX_C_SOURCE 200809L
#include "test_util.h"

#include <dirent.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int tu_failures = 0;
int tu_checks = 0;

clnn_context *tu_context(void) {
  int count = 0;
  clnn_status s = clnn_device_count(&count);
  if (s != CLNN_SUCCESS || count == 0) {
    fprintf(stderr, "FAIL: no OpenCL device found (%s: %s). Install an OpenCL driver (e.g. "
                    "pocl-opencl-icd); tests do not pass without a device.\n",
            clnn_status_string(s), clnn_last_error());
    exit(1);
  }
  clnn_context *ctx = NULL;
  s = clnn_context_create(NULL, &ctx);
  if (s != CLNN_SUCCESS) {
    fprintf(stderr, "FAIL: cannot create a context: %s: %s\n", clnn_status_string(s),
            clnn_last_error());
    exit(1);
  }
  clnn_device_info info;
  clnn_device_info_init(&info);
  clnn_context_device_info(ctx, &info);
  printf("device: %s (%s)\n", info.name, info.platform_name);
  return ctx;
}

int tu_check_(int cond, const char *file, int line, const char *fmt, ...) {
  tu_checks++;
  if (!cond) {
    tu_failures++;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stdout, "FAIL %s:%d: ", file, line);
    vfprintf(stdout, fmt, ap);
    fprintf(stdout, "\n");
    fflush(stdout);
    va_end(ap);
  }
  return cond;
}

void tu_expect_msg_(const char *a, const char *file, int line) {
  const char *m = clnn_last_error();
  tu_check_(strstr(m, a) != NULL, file, line, "message names '%s': %s", a, m);
}

int tu_finish(const char *name) {
  printf("%s: %d passed, %d failed\n", name, tu_checks - tu_failures, tu_failures);
  return tu_failures == 0 ? 0 : 1;
}

static uint64_t tu_state = 0x9E3779B97F4A7C15ULL;
void tu_seed(uint64_t seed) { tu_state = seed ? seed : 0x9E3779B97F4A7C15ULL; }
float tu_uniform(float lo, float hi) {
  tu_state ^= tu_state << 13;
  tu_state ^= tu_state >> 7;
  tu_state ^= tu_state << 17;
  double u = (double)(tu_state >> 11) / 9007199254740992.0;
  return (float)(lo + (hi - lo) * u);
}
void tu_fill_uniform(float *x, size_t n, float lo, float hi) {
  for (size_t i = 0; i < n; i++) x[i] = tu_uniform(lo, hi);
}

float *tu_fvec(size_t n, float lo, float hi) {
  float *v = malloc(sizeof(float) * (n ? n : 1));
  tu_fill_uniform(v, n, lo, hi);
  return v;
}

float *tu_fcopy(const float *src, size_t n) {
  float *v = malloc(sizeof(float) * (n ? n : 1));
  memcpy(v, src, sizeof(float) * n);
  return v;
}

int tu_allclose(const float *got, const float *want, size_t n, float rtol, float atol,
                const char *what) {
  double worst = 0;
  size_t wi = 0;
  int bad_nan = 0;
  for (size_t i = 0; i < n; i++) {
    if (isnan(got[i]) != isnan(want[i])) { bad_nan = 1; wi = i; break; }
    double e = fabs((double)got[i] - want[i]) / (atol + rtol * fabs((double)want[i]));
    if (e > worst) { worst = e; wi = i; }
  }
  int ok = !bad_nan && worst <= 1.0;
  tu_check_(ok, __FILE__, __LINE__, "%s: element %zu of %zu: got %.8g want %.8g (error %.3g x tol)",
            what, wi, n, n ? got[wi] : 0.f, n ? want[wi] : 0.f, worst);
  return ok;
}

int tu_close_ulps(const float *got, const float *want, const double *mag, double ulps, size_t n,
                  const char *what) {
  double worst = 0;
  size_t wi = 0;
  for (size_t i = 0; i < n; i++) {
    double e = fabs((double)got[i] - want[i]) / (ulps * FLT_EPSILON * mag[i] + FLT_MIN);
    if (!(e <= worst)) {
      worst = isnan(e) ? INFINITY : e;
      wi = i;
    }
  }
  int ok = worst <= 1.0;
  tu_check_(ok, __FILE__, __LINE__, "%s: element %zu of %zu: got %.9g want %.9g (error %.3g x tol)", what, wi,
            n, n ? got[wi] : 0.f, n ? want[wi] : 0.f, worst);
  return ok;
}

clnn_tensor *tu_tensor(clnn_context *ctx, int ndim, const size_t *dims, const float *data) {
  clnn_tensor *t = NULL;
  clnn_status s = clnn_tensor_create(ctx, ndim, dims, &t);
  if (s == CLNN_SUCCESS && data) s = clnn_tensor_write(t, data, clnn_tensor_numel(t));
  if (s != CLNN_SUCCESS) {
    fprintf(stderr, "FAIL: test setup: tensor: %s: %s\n", clnn_status_string(s), clnn_last_error());
    exit(1);
  }
  return t;
}

float *tu_read(const clnn_tensor *t) {
  size_t n = clnn_tensor_numel(t);
  float *h = malloc((n ? n : 1) * sizeof(float));
  clnn_status s = h ? clnn_tensor_read(t, h, n) : CLNN_ERROR_OUT_OF_MEMORY;
  if (s != CLNN_SUCCESS) {
    fprintf(stderr, "FAIL: test setup: read: %s: %s\n", clnn_status_string(s), clnn_last_error());
    exit(1);
  }
  return h;
}

double tu_fd(float *x, size_t i, float h, tu_scalar_fn f, void *user) {
  float old = x[i];
  x[i] = old + h;
  double fp = f(user);
  x[i] = old - h;
  double fm = f(user);
  x[i] = old;
  return (fp - fm) / (2.0 * (double)h);
}

int tu_fd_check(float *x, size_t n, size_t count, size_t stride, size_t offset, double h,
                double atol, double rtol, const float *analytic, clnn_tensor *t, tu_scalar_fn f,
                void *user, const char *what, double *worst) {
  int bad = 0;
  double most = 0;
  for (size_t k = 0; k < count && k < n; k++) {
    size_t i = (k * stride + offset) % n;
    float save = x[i];
    x[i] = save + (float)h;
    if (t) clnn_tensor_write(t, x, n);
    double fp = f(user);
    x[i] = save - (float)h;
    if (t) clnn_tensor_write(t, x, n);
    double fm = f(user);
    x[i] = save;
    if (t) clnn_tensor_write(t, x, n);
    double num = (fp - fm) / (2 * h), tol = atol + rtol * fabs(num);
    double err = fabs(num - analytic[i]) / tol;
    if (err > most) most = err;
    if (err > 1.0) {
      bad++;
      printf("  %s[%zu]: analytic %.6g, finite difference %.6g\n", what, i, analytic[i], num);
    }
  }
  if (worst) *worst = most;
  return bad;
}

void tu_fd_params(clnn_model *m, double atol, tu_scalar_fn f, void *user) {
  size_t np = clnn_model_num_params(m);
  for (size_t i = 0; i < np; i++) {
    const char *name = clnn_model_param_name(m, i);
    clnn_tensor *v = NULL, *gr = NULL;
    TU_OK(clnn_model_param(m, name, &v, &gr));
    if (!gr) continue;
    float *ga = tu_read(gr), *x = tu_read(v);
    double worst = 0;
    int bad = tu_fd_check(x, clnn_tensor_numel(v), 6, 7919, 3, 1e-2, atol, 3e-2, ga, v, f, user,
                          name, &worst);
    TU_CHECK(!bad, "%s: gradient matches finite differences (worst %.2f of tolerance)", name,
             worst);
    free(x);
    free(ga);
  }
}

double tu_dot_value(clnn_model *m, int v, const float *seed) {
  clnn_tensor *t = NULL;
  if (clnn_model_value(m, v, &t) != CLNN_SUCCESS || !t) return NAN;
  float *h = tu_read(t);
  double s = 0;
  for (size_t i = 0; i < clnn_tensor_numel(t); i++) s += (double)h[i] * seed[i];
  free(h);
  return s;
}

void tu_fd_input_grad(clnn_model *m, int v, float *host, size_t n, void (*regrad)(void *),
                      tu_scalar_fn f, void *user, const char *what) {
  clnn_tensor *g = NULL;
  regrad(user);
  TU_OK(clnn_model_grad(m, v, &g));
  if (!g) return;
  float *ga = tu_read(g);
  int bad = tu_fd_check(host, n, 12, 5, 1, 1e-2, 2e-3, 3e-2, ga, NULL, f, user, what, NULL);
  TU_CHECK(!bad, "%s matches finite differences", what);
  free(ga);
}

double tu_param_grad_diff(clnn_model *a, clnn_model *b) {
  double worst = 0;
  for (size_t k = 0; k < clnn_model_num_params(a); k++) {
    const char *name = clnn_model_param_name(a, k);
    clnn_tensor *ga = NULL, *gb = NULL;
    TU_OK(clnn_model_param(a, name, NULL, &ga));
    TU_OK(clnn_model_param(b, name, NULL, &gb));
    if (!ga || !gb) continue;
    float *ha = tu_read(ga), *hb = tu_read(gb);
    for (size_t i = 0; i < clnn_tensor_numel(ga); i++)
      worst = fmax(worst, fabs((double)ha[i] - hb[i]));
    free(ha), free(hb);
  }
  return worst;
}

void tu_compare_padded(const float *a, const float *b, size_t N, size_t ta, size_t tb, size_t w,
                       double *worst, int *pad_zero) {
  for (size_t n = 0; n < N; n++)
    for (size_t t = 0; t < tb; t++)
      for (size_t j = 0; j < w; j++) {
        const float v2 = b[(n * tb + t) * w + j];
        if (t < ta) *worst = fmax(*worst, fabs((double)a[(n * ta + t) * w + j] - v2));
        else *pad_zero &= v2 == 0.0f;
      }
}

void tu_check_all(const clnn_tensor *t, float v, const char *what) {
  float *h = tu_read(t);
  size_t n = clnn_tensor_numel(t), bad = 0;
  for (size_t i = 0; i < n; i++)
    if (!(h[i] == v)) bad++;
  TU_CHECK(bad == 0, "%s: %zu of %zu elements changed (output must be untouched)", what, bad, n);
  free(h);
}

clnn_tensor *tu_guarded(clnn_context *ctx, int ndim, const size_t *dims) {
  size_t n = 1;
  for (int d = 0; d < ndim; d++) n *= dims[d];
  cl_context cc;
  cl_command_queue q;
  clnn_context_get_cl(ctx, &cc, NULL, &q);
  cl_int err;
  cl_mem m = clCreateBuffer(cc, CL_MEM_READ_WRITE, (n + TU_GUARD_N) * sizeof(float), NULL, &err);
  float *g = malloc((n + TU_GUARD_N) * sizeof(float));
  clnn_tensor *t = NULL;
  if (g)
    for (size_t i = 0; i < n + TU_GUARD_N; i++) g[i] = TU_GUARD_VAL;
  if (!m || !g ||
      clEnqueueWriteBuffer(q, m, CL_TRUE, 0, (n + TU_GUARD_N) * sizeof(float), g, 0, NULL, NULL) != CL_SUCCESS ||
      clnn_tensor_wrap(ctx, m, ndim, dims, &t) != CLNN_SUCCESS) {
    fprintf(stderr, "FAIL: test setup: guarded tensor\n");
    exit(1);
  }
  clReleaseMemObject(m);
  free(g);
  return t;
}

void tu_check_guard(const clnn_tensor *t, const char *what) {
  cl_command_queue q;
  clnn_context_get_cl(clnn_tensor_context(t), NULL, NULL, &q);
  float g[TU_GUARD_N];
  cl_int err = clEnqueueReadBuffer(q, clnn_tensor_cl_mem(t), CL_TRUE, clnn_tensor_numel(t) * sizeof(float),
                                   sizeof g, g, 0, NULL, NULL);
  size_t bad = 0;
  for (size_t i = 0; i < TU_GUARD_N; i++) bad += g[i] != TU_GUARD_VAL;
  TU_CHECK(err == CL_SUCCESS && bad == 0, "%s: %zu floats written past the end of the output", what, bad);
}

char *tu_run_captured(int (*fn)(int, char **), int argc, char **argv, int *rc) {
  char path[] = "/tmp/clnn-test-output-XXXXXX";
  int fd = mkstemp(path), saved = dup(1);
  if (fd < 0 || saved < 0) {
    perror("capturing standard output");
    exit(1);
  }
  fflush(stdout);
  dup2(fd, 1);
  *rc = fn(argc, argv);
  fflush(stdout);
  dup2(saved, 1);
  close(saved);
  close(fd);
  size_t n = 0;
  char *out = (char *)tu_read_file(path, &n);
  remove(path);
  if (!out) {
    fprintf(stderr, "FAIL: cannot read the captured output back\n");
    exit(1);
  }
  out[n] = 0;
  fputs(out, stdout);
  return out;
}

unsigned char *tu_read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = n >= 0 ? malloc((size_t)n + 1) : NULL;
  if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
    free(b);
    b = NULL;
  }
  fclose(f);
  if (b) *size = (size_t)n;
  return b;
}

void tu_write_file(const char *path, const void *b, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) {
    printf("FAIL: cannot write %s\n", path);
    exit(1);
  }
  fwrite(b, 1, n, f);
  fclose(f);
}

int tu_patch_header(const char *src, const char *dst, const char *from, const char *to) {
  size_t n = 0;
  unsigned char *b = tu_read_file(src, &n);
  if (!b || n < 8) {
    free(b);
    return 0;
  }
  uint64_t h = 0;
  for (int i = 7; i >= 0; i--) h = (h << 8) | b[i];
  char *hdr = malloc(h + 1);
  memcpy(hdr, b + 8, h);
  hdr[h] = 0;
  char *at = strstr(hdr, from);
  if (!at) {
    free(hdr);
    free(b);
    return 0;
  }
  size_t nh = h - strlen(from) + strlen(to), tail = n - 8 - h;
  unsigned char *o = malloc(8 + nh + tail);
  for (int i = 0; i < 8; i++) o[i] = (unsigned char)((uint64_t)nh >> (8 * i));
  size_t pre = (size_t)(at - hdr);
  memcpy(o + 8, hdr, pre);
  memcpy(o + 8 + pre, to, strlen(to));
  memcpy(o + 8 + pre + strlen(to), at + strlen(from), h - pre - strlen(from));
  memcpy(o + 8 + nh, b + 8 + h, tail);
  tu_write_file(dst, o, 8 + nh + tail);
  free(o);
  free(hdr);
  free(b);
  return 1;
}

int tu_replay_dir(const char *dir, int (*fn)(const uint8_t *, size_t)) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
    FILE *f = fopen(path, "rb");
    if (!f) continue;
    unsigned char *buf = malloc((size_t)st.st_size + 1);
    size_t got = fread(buf, 1, (size_t)st.st_size, f);
    fclose(f);
    TU_CHECK(got == (size_t)st.st_size, "read %s", path);
    fn(buf, got);
    free(buf);
    n++;
  }
  closedir(d);
  return n;
}

clnn_net *tu_digits_cnn(clnn_context *ctx, uint64_t seed) {
  size_t in[3] = {1, 8, 8};
  clnn_net *net = NULL;
  TU_OK(clnn_net_create(ctx, 3, in, seed, &net));
  if (!net) exit(1);
  TU_OK(clnn_net_add_conv2d(net, 32, 3, 1, 1));
  TU_OK(clnn_net_add_activation(net, CLNN_ACT_RELU, 0));
  TU_OK(clnn_net_add_conv2d(net, 32, 3, 1, 1));
  TU_OK(clnn_net_add_activation(net, CLNN_ACT_RELU, 0));
  TU_OK(clnn_net_add_maxpool2d(net, 2, 2, 0));
  TU_OK(clnn_net_add_dropout(net, 0.25f));
  TU_OK(clnn_net_add_flatten(net));
  TU_OK(clnn_net_add_dense(net, 128));
  TU_OK(clnn_net_add_activation(net, CLNN_ACT_RELU, 0));
  TU_OK(clnn_net_add_dense(net, 10));
  clnn_optimizer_config opt;
  clnn_optimizer_config_init(&opt, CLNN_OPTIM_ADAM, 1e-3f);
  TU_OK(clnn_net_set_optimizer(net, &opt));
  return net;
}

cl_mem tu_cl_buffer(clnn_context *ctx, const float *data, size_t n) {
  cl_context cc;
  clnn_context_get_cl(ctx, &cc, NULL, NULL);
  cl_int err;
  cl_mem m = clCreateBuffer(cc, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, n * sizeof(float), (void *)data, &err);
  if (!m) {
    fprintf(stderr, "clCreateBuffer failed: %d\n", err);
    exit(1);
  }
  return m;
}

clnn_context *tu_context_tuned(const char *tune_text, const char *path, const char *what) {
  clnn_context_options o;
  clnn_context_options_init(&o);
  if (tune_text) {
    FILE *f = fopen(path, "w");
    if (!TU_CHECK(f != NULL, "%s: cannot write %s", what, path)) return NULL;
    fputs(tune_text, f);
    fclose(f);
    setenv("CLNN_TUNE", path, 1);
  } else {
    o.force_clblast = 1;
    unsetenv("CLNN_TUNE");
  }
  clnn_context *ctx = NULL;
  clnn_status s = clnn_context_create(&o, &ctx);
  unsetenv("CLNN_TUNE");
  if (!TU_CHECK(s == CLNN_SUCCESS, "context for %s: %s", what, clnn_last_error())) return NULL;
  return ctx;
}
