/* tests/test_onnx_train.c — one training step of an imported model against PyTorch's: torchvision's
 * ResNet-18 with random weights (tests/onnx/resnet18_step.py: batch norm kept as
 * BatchNormalization nodes, random affine parameters and statistics) is imported with
 * clnn_model_load_onnx and stepped once on PyTorch's batch (2 x 3x64x64, labels 3 and 981) with
 * batch norm in training mode (batch statistics; running statistics updated with momentum 0.1, as
 * PyTorch's train mode), SGD lr 0.1 without momentum or weight decay, on the mean softmax
 * cross-entropy (its gradient softmax - onehot over the batch is the seed of clnn_model_backward).
 * Checked:
 * - the train-mode logits before the step within 1e-3 + 1e-3 |torch|;
 * - every parameter and running statistic after the step (102 tensors, 11.7 M values): the change
 *   change of every element against PyTorch's change, |(w1 - w0)_clnn - (w1 - w0)_torch| <=
 *   2e-3 max|(w1 - w0)_torch| + 1e-6 per tensor, and every tensor changed (a step that did
 *   nothing fails). Measured: 6.7e-5 of the largest change at worst; logits within 7.4e-6.
 * Skipped (exit 0, with a message) when python3-torch or torchvision is missing. */
#define _POSIX_C_SOURCE 200809L
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/clnn-onnx-train-XXXXXX";

static void *read_raw(const char *name, size_t *bytes) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  return tu_read_file(path, bytes);
}

int main(void) {
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 1;
  }
  char cmd[1024];
  const char *src = getenv("CLNN_SOURCE_DIR");
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/onnx/resnet18_step.py %s >%s/torch.log 2>&1",
           src ? src : ".", tmpdir, tmpdir);
  int rc = system(cmd);
  if (rc != 0) {
    printf("test_onnx_train: skipped: the PyTorch step failed or python3-torch/torchvision is "
           "missing (rc %d, see %s/torch.log)\n", rc, tmpdir);
    return 0;
  }
  clnn_context *ctx = tu_context();
  char path[512];
  snprintf(path, sizeof path, "%s/resnet18_train.onnx", tmpdir);
  clnn_model *m = NULL;
  TU_OK(clnn_model_load_onnx(ctx, path, &m));
  size_t nx = 0, nl = 0, ny = 0, na = 0, nt = 0;
  float *x = read_raw("x.f32", &nx), *logits = read_raw("logits.f32", &ny);
  int32_t *labels = read_raw("labels.i32", &nl);
  float *after = read_raw("after.f32", &na);
  char *names = read_raw("after.txt", &nt);
  if (names) names[nt] = 0; /* tu_read_file leaves room for it */
  const size_t B = 2, C = 1000;
  TU_CHECK(m && x && logits && labels && after && names && nx == B * 3 * 64 * 64 * 4 &&
               ny == B * C * 4 && nl == B * 4,
           "model and PyTorch's files read");
  if (m && x && logits && labels && after && names && ny == B * C * 4 && nl == B * 4) {
    const clnn_graph *g = clnn_model_graph(m);
    clnn_optimizer_config oc;
    clnn_optimizer_config_init(&oc, CLNN_OPTIM_SGD, 0.1f);
    oc.momentum = 0.0f;
    oc.weight_decay = 0.0f;
    TU_OK(clnn_model_set_optimizer(m, &oc));
    TU_OK(clnn_model_set_mode(m, CLNN_MODE_TRAIN));
    /* the parameters before the step, to compare changes */
    size_t np = clnn_model_num_params(m), total = 0;
    float **before = calloc(np, sizeof(float *));
    for (size_t i = 0; i < np && before; i++) {
      clnn_tensor *t = NULL;
      TU_OK(clnn_model_param(m, clnn_model_param_name(m, i), &t, NULL));
      size_t n = t ? clnn_tensor_numel(t) : 0;
      before[i] = malloc(n * sizeof(float) + 1);
      if (t && before[i]) TU_OK(clnn_tensor_read(t, before[i], n));
    }
    clnn_feed fd = {clnn_graph_input_value(g, 0), x, nx / 4, NULL};
    TU_OK(clnn_model_forward(m, &fd, 1, B, NULL));
    clnn_tensor *yt = NULL;
    float got[2 * 1000], seed[2 * 1000];
    int out = clnn_graph_output_value(g, 0);
    TU_OK(clnn_model_value(m, out, &yt));
    if (yt) TU_OK(clnn_tensor_read(yt, got, B * C));
    double worst = 0;
    for (size_t i = 0; i < B * C; i++)
      if (fabs((double)got[i] - logits[i]) > worst) worst = fabs((double)got[i] - logits[i]);
    printf("train-mode logits: largest |clnn - torch| %.3g\n", worst);
    TU_CHECK(tu_allclose(got, logits, B * C, 1e-3f, 1e-3f, "train-mode logits"),
             "train-mode logits match PyTorch's");
    /* d(mean CE)/d logits = (softmax - onehot) / B */
    for (size_t b = 0; b < B; b++) {
      double mx = -1e30, sum = 0;
      for (size_t c = 0; c < C; c++) mx = fmax(mx, got[b * C + c]);
      for (size_t c = 0; c < C; c++) sum += exp(got[b * C + c] - mx);
      for (size_t c = 0; c < C; c++)
        seed[b * C + c] = (float)((exp(got[b * C + c] - mx) / sum - (c == (size_t)labels[b])) / B);
    }
    clnn_feed sf = {out, seed, B * C, NULL};
    TU_OK(clnn_model_backward(m, &sf, 1));
    TU_OK(clnn_model_optimizer_step(m));
    /* every tensor PyTorch wrote, against clnn's after the step */
    size_t off = 0;
    int tensors = 0, bad = 0, unchanged = 0;
    double worst_rel = 0;
    char *save = NULL;
    for (char *line = strtok_r(names, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
      char name[256];
      size_t n = 0;
      if (sscanf(line, "%255s %zu", name, &n) != 2 || (off + n) * 4 > na) {
        printf("  after.txt: unreadable line '%.80s'\n", line);
        bad++;
        break;
      }
      const float *want = after + off;
      off += n;
      size_t idx = np;
      for (size_t i = 0; i < np; i++)
        if (!strcmp(clnn_model_param_name(m, i), name)) idx = i;
      clnn_tensor *t = NULL;
      if (idx == np || clnn_model_param(m, name, &t, NULL) != CLNN_SUCCESS || !t ||
          clnn_tensor_numel(t) != n) {
        printf("  %s: no clnn parameter of %zu values\n", name, n);
        bad++;
        continue;
      }
      float *w = malloc(n * sizeof(float));
      TU_OK(clnn_tensor_read(t, w, n));
      double dmax = 0, err = 0;
      for (size_t k = 0; k < n; k++) dmax = fmax(dmax, fabs((double)want[k] - before[idx][k]));
      for (size_t k = 0; k < n; k++) {
        double dc = (double)w[k] - before[idx][k], dt = (double)want[k] - before[idx][k];
        err = fmax(err, fabs(dc - dt));
      }
      double rel = dmax > 0 ? err / dmax : err;
      if (rel > worst_rel) worst_rel = rel;
      if (dmax == 0) unchanged++;
      if (!(err <= 2e-3 * dmax + 1e-6)) {
        printf("  %s: change differs by %.3g (largest change %.3g)\n", name, err, dmax);
        bad++;
      }
      total += n;
      tensors++;
      free(w);
    }
    printf("after one SGD step: %d tensors (%zu values) compared, largest |change difference| / "
           "max|change| %.3g\n", tensors, total, worst_rel);
    TU_CHECK(bad == 0 && tensors == 102, "every parameter and statistic after the step matches "
             "PyTorch's (%d of %d differ)", bad, tensors);
    TU_CHECK(unchanged == 0, "every tensor changed in the step (%d did not)", unchanged);
    for (size_t i = 0; i < np && before; i++) free(before[i]);
    free(before);
  }
  free(x);
  free(logits);
  free(labels);
  free(after);
  free(names);
  clnn_model_destroy(m);
  clnn_context_destroy(ctx);
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (system(cmd) != 0) printf("could not remove %s\n", tmpdir);
  return tu_finish("test_onnx_train");
}
