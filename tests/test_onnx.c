/* tests/test_onnx.c — ONNX import and export (src/nn/onnx_*.c):
 * - round trip: a clnn graph with most op kinds, saved with clnn_model_save_onnx, passes the ONNX
 *   checker (Debian's python3-onnx, when installed: full_check with shape inference) and loads
 *   back with clnn_model_load_onnx giving the same predictions (1e-5);
 * - the imported model trains: forward, backward from a seed, an optimizer step;
 * - errors: garbage and truncated files are CLNN_ERROR_FORMAT, an unknown op is
 *   CLNN_ERROR_UNSUPPORTED naming the node and the op type, and nothing is returned;
 * - ResNet-18: torchvision's, random weights, exported by PyTorch (tests/onnx/resnet18.py with
 *   Debian's python3-torch; skipped when missing), imported (the time is printed) and run on the
 *   same batch: logits within 1e-3 + 1e-3 |torch| of PyTorch's. */
#define _POSIX_C_SOURCE 200809L
#include "nn/onnx.h"
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/clnn-onnx-XXXXXX";

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int have_python_module(const char *mod) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c 'import %s' >/dev/null 2>&1", mod);
  return system(cmd) == 0;
}

/* image [3, 8, 8] -> conv 4 3x3 pad 1 -> bn -> relu -> maxpool 2 -> (conv 4 3x3 pad 1 + [C] bias
 * value) ... a small net through most exportable op kinds; output log-probabilities [5]. */
static clnn_graph *test_graph(void) {
  clnn_graph *g = NULL;
  size_t img[3] = {3, 8, 8};
  int x, h, r, p, c2, gap, s1, s2, cat, y, sl, perm, t;
  clnn_conv2d_params same;
  clnn_conv2d_params_init(&same);
  same.pad_top = same.pad_bottom = same.pad_left = same.pad_right = 1;
  clnn_pool2d_params pool;
  clnn_pool2d_params_init(&pool, 2);
  TU_OK(clnn_graph_create(&g));
  TU_OK(clnn_graph_input(g, "image", CLNN_FLOAT32, 3, img, &x));
  TU_OK(clnn_graph_conv2d(g, "conv1", x, 4, 3, 3, &same, 1, &h));
  TU_OK(clnn_graph_batchnorm(g, "bn1", h, 0, 0, &h));
  TU_OK(clnn_graph_activation(g, "relu1", h, CLNN_ACT_RELU, 0, &r));
  TU_OK(clnn_graph_pool2d(g, "pool1", r, 1, &pool, &p));
  TU_OK(clnn_graph_conv2d(g, "conv2", p, 4, 3, 3, &same, 0, &c2));
  TU_OK(clnn_graph_global_avgpool(g, "gap", p, &gap));          /* [4] */
  TU_OK(clnn_graph_add(g, "skip", c2, gap, &h));                  /* [4,4,4] + [4] broadcast */
  TU_OK(clnn_graph_activation(g, "gelu", h, CLNN_ACT_GELU, 0, &h));
  TU_OK(clnn_graph_scale(g, "half", h, 0.5f, &s1));
  TU_OK(clnn_graph_mul(g, "sq", h, s1, &s2));
  size_t ab[2] = {2, 2};
  int parts[2];
  TU_OK(clnn_graph_split(g, "halves", s2, 0, 2, ab, parts));
  int xs[2] = {parts[1], parts[0]};
  TU_OK(clnn_graph_concat(g, "swap", 0, 2, xs, &cat));
  TU_OK(clnn_graph_slice(g, "crop", cat, 2, 1, 3, &sl));          /* [4, 4, 3] */
  int pm[3] = {0, 2, 1};
  TU_OK(clnn_graph_permute(g, "perm", sl, pm, &perm));            /* [4, 3, 4] */
  TU_OK(clnn_graph_activation(g, "lrelu", perm, CLNN_ACT_LEAKY_RELU, 0.2f, &t));
  TU_OK(clnn_graph_dense(g, "rows", t, 6, 1, &t));                /* MatMul + Add */
  TU_OK(clnn_graph_activation(g, "tanh", t, CLNN_ACT_TANH, 0, &t));
  TU_OK(clnn_graph_dropout(g, "drop", t, 0.3f, &t));
  TU_OK(clnn_graph_flatten(g, "flat", t, &t));
  TU_OK(clnn_graph_dense(g, "head", t, 5, 1, &y));                /* Gemm */
  TU_OK(clnn_graph_softmax(g, "logp", y, 1, &y));
  TU_OK(clnn_graph_output(g, y));
  return g;
}

static void round_trip(clnn_context *ctx) {
  clnn_graph *g = test_graph();
  clnn_model *m = NULL, *m2 = NULL;
  TU_OK(clnn_model_create(ctx, g, 7, &m));
  clnn_graph_destroy(g);
  if (!m) return;
  /* batch-norm statistics other than 0 and 1 */
  clnn_tensor *rm = NULL, *rv = NULL;
  TU_OK(clnn_model_param(m, "bn1.running_mean", &rm, NULL));
  TU_OK(clnn_model_param(m, "bn1.running_var", &rv, NULL));
  float mean[4] = {0.1f, -0.2f, 0.3f, 0.0f}, var[4] = {1.5f, 0.5f, 2.0f, 1.0f};
  if (rm && rv) {
    TU_OK(clnn_tensor_write(rm, mean, 4));
    TU_OK(clnn_tensor_write(rv, var, 4));
  }
  enum { B = 3 };
  float x[B * 3 * 64], y1[B * 5], y2[B * 5];
  tu_seed(11);
  tu_fill_uniform(x, B * 3 * 64, -1, 1);
  int xv = clnn_graph_input_value(clnn_model_graph(m), 0);
  clnn_feed f = {xv, x, B * 3 * 64, NULL};
  TU_OK(clnn_model_predict(m, &f, 1, B, -1, y1, B * 5));
  char path[256];
  snprintf(path, sizeof path, "%s/roundtrip.onnx", tmpdir);
  TU_OK(clnn_model_save_onnx(m, path));
  if (have_python_module("onnx")) {
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c 'import onnx,sys; m=onnx.load(sys.argv[1]); "
             "onnx.checker.check_model(m, full_check=True); print(\"onnx checker: ok,\", "
             "len(m.graph.node), \"nodes\")' %s",
             path);
    TU_CHECK(system(cmd) == 0, "the ONNX checker accepts clnn's export (%s)", path);
  } else {
    printf("round_trip: python3-onnx missing, checker skipped\n");
  }
  TU_OK(clnn_model_load_onnx(ctx, path, &m2));
  if (!m2) {
    clnn_model_destroy(m);
    return;
  }
  TU_CHECK(clnn_model_num_params(m2) == clnn_model_num_params(m), "same parameter count: %zu, %zu",
           clnn_model_num_params(m2), clnn_model_num_params(m));
  TU_OK(clnn_model_param(m2, "conv1.weight", &rm, NULL)); /* PyTorch-style names carry over */
  f.value = clnn_graph_input_value(clnn_model_graph(m2), 0);
  TU_OK(clnn_model_predict(m2, &f, 1, B, -1, y2, B * 5));
  TU_CHECK(tu_allclose(y2, y1, B * 5, 1e-5f, 1e-5f, "imported export vs clnn"), "round trip");

  /* the imported model trains: a seed on the output, backward, one SGD step */
  clnn_optimizer_config oc;
  clnn_optimizer_config_init(&oc, CLNN_OPTIM_SGD, 0.1f);
  TU_OK(clnn_model_set_optimizer(m2, &oc));
  TU_OK(clnn_model_forward(m2, &f, 1, B, NULL));
  float seed[B * 5];
  for (int i = 0; i < B * 5; i++) seed[i] = (i % 5) == 2 ? -1.0f : 0.0f;
  int out = clnn_graph_output_value(clnn_model_graph(m2), 0);
  clnn_feed sf = {out, seed, B * 5, NULL};
  TU_OK(clnn_model_backward(m2, &sf, 1));
  clnn_tensor *w = NULL, *gw = NULL;
  TU_OK(clnn_model_param(m2, "head.weight", &w, &gw));
  float before[5 * 72], after[5 * 72];
  if (w) TU_OK(clnn_tensor_read(w, before, 5 * 72));
  TU_OK(clnn_model_optimizer_step(m2));
  if (w) TU_OK(clnn_tensor_read(w, after, 5 * 72));
  int changed = 0, finite = 1;
  for (int i = 0; i < 5 * 72; i++) {
    changed += before[i] != after[i];
    finite &= isfinite(after[i]);
  }
  TU_CHECK(changed > 0 && finite, "one step on the imported model changes head.weight (%d)", changed);
  clnn_model_destroy(m2);
  clnn_model_destroy(m);
}

static void errors(clnn_context *ctx) {
  char path[256];
  snprintf(path, sizeof path, "%s/roundtrip.onnx", tmpdir);
  size_t size = 0;
  unsigned char *b = tu_read_file(path, &size);
  TU_CHECK(b != NULL, "the round-trip file exists");
  if (!b) return;
  clnn_model *m = (clnn_model *)&size;
  clnn_graph *g = NULL;
  unsigned char junk[64];
  for (int i = 0; i < 64; i++) junk[i] = (unsigned char)(i * 37 + 11);
  TU_STATUS(clnn__onnx_load_memory(ctx, junk, sizeof junk, "junk", &m, NULL), CLNN_ERROR_FORMAT);
  TU_STATUS(clnn__onnx_load_memory(ctx, b, size / 2, "half", &m, NULL), CLNN_ERROR_FORMAT);
  TU_STATUS(clnn__onnx_load_memory(ctx, b, 0, "empty", &m, NULL), CLNN_ERROR_FORMAT);
  TU_CHECK(m == (clnn_model *)&size, "nothing returned on failure");
  /* an op clnn does not know, in an otherwise valid file */
  Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, size, b);
  TU_CHECK(mp && mp->graph && mp->graph->n_node > 3, "the export decodes");
  if (mp && mp->graph && mp->graph->n_node > 3) {
    Onnx__NodeProto *n = mp->graph->node[2];
    char *old = n->op_type;
    n->op_type = (char *)"FancyOp";
    size_t len = onnx__model_proto__get_packed_size(mp);
    unsigned char *buf = malloc(len);
    onnx__model_proto__pack(mp, buf);
    n->op_type = old;
    TU_STATUS(clnn__onnx_load_memory(ctx, buf, len, "fancy.onnx", &m, NULL), CLNN_ERROR_UNSUPPORTED);
    const char *e = clnn_last_error();
    TU_CHECK(strstr(e, "FancyOp") && strstr(e, n->name) && strstr(e, "Conv"),
             "the error names the node, its op type and what is supported: %s", e);
    TU_STATUS(clnn__onnx_load_memory(NULL, buf, len, "fancy.onnx", NULL, &g), CLNN_ERROR_UNSUPPORTED);
    TU_CHECK(g == NULL, "no graph on failure");
    /* opset 3000 */
    mp->opset_import[0]->version = 3000;
    len = onnx__model_proto__get_packed_size(mp);
    unsigned char *buf2 = realloc(buf, len);
    if (buf2) {
      buf = buf2;
      onnx__model_proto__pack(mp, buf);
      TU_STATUS(clnn__onnx_load_memory(ctx, buf, len, "opset.onnx", &m, NULL), CLNN_ERROR_UNSUPPORTED);
      TU_CHECK(strstr(clnn_last_error(), "opset 3000") != NULL, "names the opset: %s", clnn_last_error());
    }
    free(buf);
  }
  if (mp) onnx__model_proto__free_unpacked(mp, NULL);
  TU_STATUS(clnn__onnx_load_memory(NULL, b, size, "graph only", NULL, &g), CLNN_SUCCESS);
  TU_CHECK(g && clnn_graph_num_outputs(g) == 1, "the graph alone loads");
  clnn_graph_destroy(g);
  free(b);
}

static void resnet18(clnn_context *ctx) {
  char cmd[1024], path[512];
  const char *src = getenv("CLNN_SOURCE_DIR");
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/onnx/resnet18.py %s >%s/torch.log 2>&1",
           src ? src : ".", tmpdir, tmpdir);
  int rc = system(cmd);
  if (rc != 0) {
    printf("resnet18: skipped: PyTorch export failed or python3-torch/torchvision missing (rc %d, "
           "see %s/torch.log)\n", rc, tmpdir);
    return;
  }
  snprintf(path, sizeof path, "%s/resnet18.onnx", tmpdir);
  clnn_model *m = NULL;
  double t0 = now();
  TU_OK(clnn_model_load_onnx(ctx, path, &m));
  double t1 = now();
  if (!m) return;
  printf("resnet18: import %.3f s, %zu parameters tensors, %zu trainable scalars\n", t1 - t0,
         clnn_model_num_params(m), clnn_model_num_trainable(m));
  size_t nx = 2 * 3 * 112 * 112, ny = 2 * 1000;
  float *x = malloc(nx * sizeof(float)), *want = malloc(ny * sizeof(float)),
        *got = malloc(ny * sizeof(float));
  snprintf(path, sizeof path, "%s/x.f32", tmpdir);
  FILE *f = fopen(path, "rb");
  int ok = f && fread(x, sizeof(float), nx, f) == nx;
  if (f) fclose(f);
  snprintf(path, sizeof path, "%s/y.f32", tmpdir);
  f = fopen(path, "rb");
  ok = ok && f && fread(want, sizeof(float), ny, f) == ny;
  if (f) fclose(f);
  TU_CHECK(ok, "PyTorch's input and logits read back");
  if (ok) {
    clnn_feed fd = {clnn_graph_input_value(clnn_model_graph(m), 0), x, nx, NULL};
    TU_OK(clnn_model_predict(m, &fd, 1, 2, -1, got, ny)); /* builds the kernels */
    double t2 = now();
    TU_OK(clnn_model_predict(m, &fd, 1, 2, -1, got, ny));
    printf("resnet18: forward of 2 x 3x112x112 %.3f s\n", now() - t2);
    double worst = 0;
    for (size_t i = 0; i < ny; i++) {
      double d = fabs((double)got[i] - want[i]);
      if (d > worst) worst = d;
    }
    printf("resnet18: largest |clnn - torch| over the logits: %.3g\n", worst);
    TU_CHECK(tu_allclose(got, want, ny, 1e-3f, 1e-3f, "resnet18 logits vs PyTorch"),
             "ResNet-18 logits match PyTorch's");
  }
  free(x);
  free(want);
  free(got);
  clnn_model_destroy(m);
}

int main(void) {
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 1;
  }
  clnn_context *ctx = tu_context();
  round_trip(ctx);
  errors(ctx);
  resnet18(ctx);
  clnn_context_destroy(ctx);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (system(cmd) != 0) printf("could not remove %s\n", tmpdir);
  return tu_finish("test_onnx");
}
