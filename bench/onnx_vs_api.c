/* bench/onnx_vs_api.c — clnn-bench-onnx: the cost of ONNX import. Times clnn_model_load_onnx on a
 * ResNet-18 file that PyTorch exported with its batch-norm nodes (tests/onnx/resnet18_step.py
 * writes resnet18_train.onnx), then the inference forward (clnn_model_predict) of the imported
 * model against the same ResNet-18 built with clnn's graph API (same layer names; the imported
 * parameters are copied in, and the two outputs are compared as a check that they are the same
 * model). Rounds alternate between the two; medians are reported; nothing is asserted.
 * Usage: clnn-bench-onnx FILE.onnx [batch] [rounds] (the image size is the file's). */
#define _POSIX_C_SOURCE 200809L
#include "clnn.h"
#include "clnn_graph.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double cpu(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof(double), cmp);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

#define TRY(call)                                                                                \
  do {                                                                                           \
    clnn_status s_ = (call);                                                                     \
    if (s_ != CLNN_SUCCESS) {                                                                    \
      fprintf(stderr, "clnn-bench-onnx: %s: %s\n", #call, clnn_last_error());                  \
      exit(1);                                                                                   \
    }                                                                                            \
  } while (0)

static int conv_bn(clnn_graph *g, const char *conv, const char *bn, int x, int ch, int k,
                   int stride, int pad, int relu) {
  clnn_conv2d_params p;
  clnn_conv2d_params_init(&p);
  p.stride_h = p.stride_w = stride;
  p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = pad;
  int y;
  TRY(clnn_graph_conv2d(g, conv, x, ch, k, k, &p, 0, &y));
  TRY(clnn_graph_batchnorm(g, bn, y, 0.1f, 1e-5f, &y));
  if (relu) TRY(clnn_graph_activation(g, NULL, y, CLNN_ACT_RELU, 0, &y));
  return y;
}

/* torchvision's resnet18 with PyTorch's parameter names. */
static clnn_graph *resnet18(size_t size) {
  clnn_graph *g = NULL;
  size_t img[3] = {3, size, size};
  int x, h;
  TRY(clnn_graph_create(&g));
  TRY(clnn_graph_input(g, "image", CLNN_FLOAT32, 3, img, &x));
  h = conv_bn(g, "conv1", "bn1", x, 64, 7, 2, 3, 1);
  clnn_pool2d_params pp;
  clnn_pool2d_params_init(&pp, 3);
  pp.stride_h = pp.stride_w = 2;
  pp.pad_top = pp.pad_bottom = pp.pad_left = pp.pad_right = 1;
  TRY(clnn_graph_pool2d(g, "maxpool", h, 1, &pp, &h));
  int in_ch = 64;
  for (int s = 1; s <= 4; s++) {
    int ch = 64 << (s - 1);
    for (int b = 0; b < 2; b++) {
      int stride = s > 1 && b == 0 ? 2 : 1;
      char c1[64], b1[64], c2[64], b2[64], d0[64], d1[64];
      snprintf(c1, sizeof c1, "layer%d.%d.conv1", s, b);
      snprintf(b1, sizeof b1, "layer%d.%d.bn1", s, b);
      snprintf(c2, sizeof c2, "layer%d.%d.conv2", s, b);
      snprintf(b2, sizeof b2, "layer%d.%d.bn2", s, b);
      snprintf(d0, sizeof d0, "layer%d.%d.downsample.0", s, b);
      snprintf(d1, sizeof d1, "layer%d.%d.downsample.1", s, b);
      int y = conv_bn(g, c1, b1, h, ch, 3, stride, 1, 1);
      y = conv_bn(g, c2, b2, y, ch, 3, 1, 1, 0);
      int skip = h;
      if (stride != 1 || in_ch != ch) skip = conv_bn(g, d0, d1, h, ch, 1, stride, 0, 0);
      TRY(clnn_graph_add(g, NULL, y, skip, &h));
      TRY(clnn_graph_activation(g, NULL, h, CLNN_ACT_RELU, 0, &h));
      in_ch = ch;
    }
  }
  TRY(clnn_graph_global_avgpool(g, "avgpool", h, &h));
  TRY(clnn_graph_dense(g, "fc", h, 1000, 1, &h));
  TRY(clnn_graph_output(g, h));
  return g;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: clnn-bench-onnx FILE.onnx [batch 8] [rounds 7]\n");
    return 2;
  }
  const char *path = argv[1];
  size_t B = argc > 2 ? (size_t)atoi(argv[2]) : 8, S = 0;
  int rounds = argc > 3 ? atoi(argv[3]) : 7;
  if (B < 1 || rounds < 1 || rounds > 100) {
    fprintf(stderr, "clnn-bench-onnx: batch >= 1, rounds 1..100\n");
    return 2;
  }
  clnn_context *ctx = NULL;
  TRY(clnn_context_create(NULL, &ctx));
  clnn_device_info info;
  if (clnn_context_device_info(ctx, &info) == CLNN_SUCCESS) printf("device: %s\n", info.name);

  double t_imp[100], c_imp[100];
  clnn_model *mo = NULL;
  for (int r = 0; r < rounds; r++) {
    clnn_model_destroy(mo);
    mo = NULL;
    double t0 = now(), c0 = cpu();
    TRY(clnn_model_load_onnx(ctx, path, &mo));
    t_imp[r] = now() - t0;
    c_imp[r] = cpu() - c0;
  }
  size_t d[CLNN_MAX_DIMS];
  const clnn_graph *og = clnn_model_graph(mo);
  if (clnn_graph_value_dims(og, clnn_graph_input_value(og, 0), d) != 3 || d[0] != 3 || d[1] != d[2] ||
      d[1] < 32) {
    fprintf(stderr, "clnn-bench-onnx: %s does not take [N, 3, S, S] images (S >= 32)\n", path);
    return 1;
  }
  S = d[1];
  clnn_graph *g = resnet18(S);
  clnn_model *ma = NULL;
  TRY(clnn_model_create(ctx, g, 1, &ma));
  clnn_graph_destroy(g);
  /* the imported parameters into the API-built model, by name */
  size_t copied = 0;
  for (size_t i = 0; i < clnn_model_num_params(ma); i++) {
    const char *name = clnn_model_param_name(ma, i);
    clnn_tensor *ta = NULL, *to = NULL;
    TRY(clnn_model_param(ma, name, &ta, NULL));
    if (clnn_model_param(mo, name, &to, NULL) != CLNN_SUCCESS ||
        clnn_tensor_numel(to) != clnn_tensor_numel(ta))
      continue;
    size_t n = clnn_tensor_numel(ta);
    float *buf = malloc(n * sizeof(float));
    if (!buf) return 1;
    TRY(clnn_tensor_read(to, buf, n));
    TRY(clnn_tensor_write(ta, buf, n));
    free(buf);
    copied++;
  }
  size_t nx = B * 3 * S * S, ny = B * 1000;
  float *x = malloc(nx * sizeof(float)), *yo = malloc(ny * sizeof(float)),
        *ya = malloc(ny * sizeof(float));
  if (!x || !yo || !ya) return 1;
  for (size_t i = 0; i < nx; i++) x[i] = sinf(0.001f * (float)i);
  clnn_feed fo = {clnn_graph_input_value(clnn_model_graph(mo), 0), x, nx, NULL};
  clnn_feed fa = {clnn_graph_input_value(clnn_model_graph(ma), 0), x, nx, NULL};
  TRY(clnn_model_predict(mo, &fo, 1, B, -1, yo, ny)); /* kernels built, buffers made */
  TRY(clnn_model_predict(ma, &fa, 1, B, -1, ya, ny));
  double worst = 0;
  for (size_t i = 0; i < ny; i++) worst = fmax(worst, fabs((double)yo[i] - ya[i]));
  double t_o[100], t_a[100];
  for (int r = 0; r < rounds; r++) /* the two in turn, which goes first alternating too */
    for (int k = 0; k < 2; k++) {
      int imported = (r + k) % 2 == 0;
      double t0 = now();
      if (imported) TRY(clnn_model_predict(mo, &fo, 1, B, -1, yo, ny));
      else TRY(clnn_model_predict(ma, &fa, 1, B, -1, ya, ny));
      (imported ? t_o : t_a)[r] = now() - t0;
    }
  printf("ResNet-18 from %s: %zu parameter tensors imported, %zu copied into the API-built model "
         "(largest output difference %.3g)\n", path, clnn_model_num_params(mo), copied, worst);
  printf("import (clnn_model_load_onnx): median %.3f s wall, %.3f s CPU (all threads) over %d "
         "rounds\n", median(t_imp, rounds), median(c_imp, rounds), rounds);
  double mo_t = median(t_o, rounds), ma_t = median(t_a, rounds);
  printf("forward (clnn_model_predict, batch %zu x 3x%zux%zu), median of %d alternating rounds:\n"
         "  imported from ONNX  %.4f s\n  built with the API  %.4f s\n  ratio               %.3f\n",
         B, S, S, rounds, mo_t, ma_t, mo_t / ma_t);
  free(x);
  free(yo);
  free(ya);
  clnn_model_destroy(mo);
  clnn_model_destroy(ma);
  clnn_context_destroy(ctx);
  return 0;
}
