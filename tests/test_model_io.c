/* tests/test_model_io.c — model files (src/nn/model_io.c, model_json.c, model_st.c): a residual
 * graph (conv, batch norm, relu, add skip, dropout, dense, loss) trained 2 steps, saved, and
 * rebuilt from the file alone (bit-identical parameters and predictions, the same graph summary);
 * saved with the optimizer state (and a frozen parameter, a parameter group, a schedule) and
 * resumed: the next step gives the same bits as the uninterrupted run; the graph loaded alone and
 * extended with a new head, then loaded non-strictly (missing / unexpected names, truncated lists,
 * a shape mismatch that changes nothing); shared weights whose owner node does not run; corrupt
 * files (truncated, bad JSON, unknown op kind, dangling value, duplicate node, wrong shapes, huge
 * or oversized header, trailing data, no graph) are each CLNN_ERROR_FORMAT with nothing built.
 * Finally the fuzzing corpus of tests/fuzz/corpus/model/ is replayed through the fuzz target.
 *
 * `test_model_io --write-seeds DIR` writes the fuzzing seeds (files of fuzz_model.c's model). */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"

#define FUZZ_ONE fuzz_model_one
#include "fuzz/fuzz_model.c"
#undef FUZZ_ONE

#define BATCH 4
#define IMG 36 /* [1, 6, 6] */

static char dir[512];

/* The test model: image [1, 6, 6], int32 label; c1 4x3x3 pad 1, bn1, r1, c2 4x3x3 pad 1,
 * skip = c2 + r1, r2, flat, drop 0.2, head dense 3, softmax cross-entropy. */
static clnn_graph *build_graph(int head_units, const char *head_name) {
  clnn_graph *g = NULL;
  size_t img[3] = {1, 6, 6};
  int x, lab, h, r, y, s, loss;
  clnn_conv2d_params same;
  clnn_conv2d_params_init(&same);
  same.pad_top = same.pad_bottom = same.pad_left = same.pad_right = 1;
  TU_OK(clnn_graph_create(&g));
  TU_OK(clnn_graph_input(g, "image", CLNN_FLOAT32, 3, img, &x));
  TU_OK(clnn_graph_input(g, "label", CLNN_INT32, 0, NULL, &lab));
  TU_OK(clnn_graph_conv2d(g, "c1", x, 4, 3, 3, &same, 1, &h));
  TU_OK(clnn_graph_batchnorm(g, "bn1", h, 0, 0, &h));
  TU_OK(clnn_graph_activation(g, "r1", h, CLNN_ACT_RELU, 0, &r));
  TU_OK(clnn_graph_conv2d(g, "c2", r, 4, 3, 3, &same, 1, &y));
  TU_OK(clnn_graph_add(g, "skip", y, r, &s));
  TU_OK(clnn_graph_activation(g, "r2", s, CLNN_ACT_RELU, 0, &s));
  TU_OK(clnn_graph_flatten(g, "flat", s, &s));
  TU_OK(clnn_graph_dropout(g, "drop", s, 0.2f, &s));
  TU_OK(clnn_graph_dense(g, head_name, s, head_units, 1, &y));
  TU_OK(clnn_graph_loss(g, "loss", CLNN_LOSS_SOFTMAX_CROSS_ENTROPY, y, lab, 1.0f, &loss));
  TU_OK(clnn_graph_output(g, y));
  return g;
}

static float xs[3][BATCH * IMG];
static int32_t labels[3][BATCH];

static void feeds_for(clnn_model *m, int b, clnn_feed f[2]) {
  int x = -1, lab = -1;
  TU_OK(clnn_graph_find(clnn_model_graph(m), "image", &x));
  TU_OK(clnn_graph_find(clnn_model_graph(m), "label", &lab));
  memset(f, 0, 2 * sizeof(*f));
  f[0].value = x;
  f[0].host = xs[b];
  f[0].count = BATCH * IMG;
  f[1].value = lab;
  f[1].host = labels[b];
  f[1].count = BATCH;
}

static void step(clnn_model *m, int b) {
  clnn_feed f[2];
  feeds_for(m, b, f);
  float loss = 0;
  TU_OK(clnn_model_train_step(m, f, 2, BATCH, &loss));
}

static void predict(clnn_model *m, float *y) {
  clnn_feed f[2];
  feeds_for(m, 2, f);
  TU_OK(clnn_model_predict(m, f, 1, BATCH, -1, y, BATCH * 3));
}

static float *param(clnn_model *m, const char *name) {
  clnn_tensor *t = NULL;
  if (clnn_model_param(m, name, &t, NULL) != CLNN_SUCCESS) return NULL;
  return tu_read(t);
}

/* Every parameter of a is in b with the same bits (and b has no other). */
static int same_params(clnn_model *a, clnn_model *b, const char *what) {
  int ok = TU_CHECK(clnn_model_num_params(a) == clnn_model_num_params(b), "%s: %zu vs %zu params",
                    what, clnn_model_num_params(a), clnn_model_num_params(b));
  for (size_t i = 0; ok && i < clnn_model_num_params(a); i++) {
    const char *name = clnn_model_param_name(a, i);
    clnn_tensor *ta = NULL, *tb = NULL;
    TU_OK(clnn_model_param(a, name, &ta, NULL));
    if (!TU_CHECK(clnn_model_param(b, name, &tb, NULL) == CLNN_SUCCESS, "%s: %s", what, name)) {
      ok = 0;
      break;
    }
    float *pa = tu_read(ta), *pb = tu_read(tb);
    ok = TU_CHECK(clnn_tensor_numel(ta) == clnn_tensor_numel(tb) &&
                      memcmp(pa, pb, clnn_tensor_numel(ta) * sizeof(float)) == 0,
                  "%s: parameter %s differs", what, name);
    free(pa);
    free(pb);
  }
  return ok;
}

static clnn_model *trained_model(clnn_context *ctx) {
  clnn_graph *g = build_graph(3, "head");
  clnn_model *m = NULL;
  TU_OK(clnn_model_create(ctx, g, 7, &m));
  clnn_graph_destroy(g);
  step(m, 0);
  step(m, 1);
  return m;
}

/* The file must be refused with CLNN_ERROR_FORMAT by every reader, building nothing. */
static void expect_format(clnn_context *ctx, const char *path, const char *what, int graph_too) {
  clnn_model *m = NULL;
  clnn_status st = clnn_model_load_file(ctx, path, &m);
  TU_CHECK(st == CLNN_ERROR_FORMAT && m == NULL, "%s: clnn_model_load_file gave %s (%s)", what,
           clnn_status_string(st), clnn_last_error());
  TU_CHECK(strstr(clnn_last_error(), path) != NULL, "%s: the message names the file: %s", what,
           clnn_last_error());
  if (graph_too) {
    clnn_graph *g = NULL;
    st = clnn_graph_load(path, &g);
    TU_CHECK(st == CLNN_ERROR_FORMAT && g == NULL, "%s: clnn_graph_load gave %s (%s)", what,
             clnn_status_string(st), clnn_last_error());
  }
}

static void corrupt(clnn_context *ctx, const char *good, const char *from, const char *to,
                    const char *what, int graph_too, const char *expect_msg) {
  char path[600];
  snprintf(path, sizeof path, "%s/bad.safetensors", dir);
  if (!TU_CHECK(tu_patch_header(good, path, from, to), "%s: '%s' is not in the header", what, from)) return;
  expect_format(ctx, path, what, graph_too);
  if (expect_msg)
    TU_CHECK(strstr(clnn_last_error(), expect_msg) != NULL, "%s: message '%s' lacks '%s'", what,
             clnn_last_error(), expect_msg);
}

/* ---- the tests ---- */

static void test_roundtrip(clnn_context *ctx) {
  clnn_model *a = trained_model(ctx);
  char path[600];
  snprintf(path, sizeof path, "%s/model.safetensors", dir);
  TU_OK(clnn_model_save(a, path, 0));
  clnn_model *b = NULL;
  TU_OK(clnn_model_load_file(ctx, path, &b));
  if (!b) return;
  same_params(a, b, "load_file");
  float ya[BATCH * 3], yb[BATCH * 3];
  predict(a, ya);
  predict(b, yb);
  TU_CHECK(memcmp(ya, yb, sizeof ya) == 0, "predictions of the loaded model differ");
  static char sa[8192], sb[8192];
  TU_OK(clnn_graph_summary(clnn_model_graph(a), sa, sizeof sa));
  TU_OK(clnn_graph_summary(clnn_model_graph(b), sb, sizeof sb));
  TU_CHECK(strcmp(sa, sb) == 0, "graph summaries differ:\n%s\nvs\n%s", sa, sb);
  TU_CHECK(clnn_model_step_count(b) == 0, "no optimizer state: step count restarts");
  /* the loaded model saves the same file */
  char path2[600];
  snprintf(path2, sizeof path2, "%s/model2.safetensors", dir);
  TU_OK(clnn_model_save(b, path2, 0));
  size_t n1 = 0, n2 = 0;
  unsigned char *f1 = tu_read_file(path, &n1), *f2 = tu_read_file(path2, &n2);
  TU_CHECK(n1 == n2 && memcmp(f1, f2, n1) == 0, "saving the loaded model gives another file");
  TU_CHECK(n1 > 8 && (n1 - 8) % 4 == 0 && f1[8] == '{', "layout: 8-byte size, JSON, data");
  free(f1);
  free(f2);
  clnn_model_destroy(b);
  clnn_model_destroy(a);
}

static void test_resume(clnn_context *ctx) {
  clnn_graph *g = build_graph(3, "head");
  clnn_model *a = NULL;
  TU_OK(clnn_model_create(ctx, g, 11, &a));
  clnn_graph_destroy(g);
  clnn_optimizer_config opt;
  clnn_optimizer_config_init(&opt, CLNN_OPTIM_ADAMW, 2e-3f);
  opt.clip_grad_norm = 5.0f;
  TU_OK(clnn_model_set_optimizer(a, &opt));
  TU_OK(clnn_model_set_trainable(a, "c1.bias", 0, NULL));
  TU_OK(clnn_model_set_param_group(a, "head.", 5e-3f, 0.0f));
  clnn_schedule sch = {(uint32_t)sizeof(clnn_schedule), CLNN_SCHEDULE_COSINE, 0, 0, 1, 10, 0.1f};
  TU_OK(clnn_model_set_schedule(a, &sch));
  step(a, 0);
  step(a, 1);
  char path[600];
  snprintf(path, sizeof path, "%s/resume.safetensors", dir);
  TU_OK(clnn_model_save(a, path, CLNN_SAVE_OPTIMIZER));
  clnn_model *b = NULL;
  TU_OK(clnn_model_load_file(ctx, path, &b));
  if (!b) return;
  TU_CHECK(clnn_model_step_count(b) == 2, "step count %llu",
           (unsigned long long)clnn_model_step_count(b));
  TU_CHECK(clnn_model_param_trainable(b, "c1.bias") == 0, "c1.bias stays frozen");
  TU_CHECK(clnn_model_param_trainable(b, "c1.weight") == 1, "c1.weight is trained");
  float la = 0, lb = 0;
  TU_OK(clnn_model_current_lr(a, "head.weight", &la));
  TU_OK(clnn_model_current_lr(b, "head.weight", &lb));
  TU_CHECK(la == lb && la > 0, "group lr with the schedule: %g vs %g", (double)la, (double)lb);
  TU_OK(clnn_model_current_lr(a, "c2.weight", &la));
  TU_OK(clnn_model_current_lr(b, "c2.weight", &lb));
  TU_CHECK(la == lb, "lr with the schedule: %g vs %g", (double)la, (double)lb);
  same_params(a, b, "resume: loaded");
  step(a, 2);
  step(b, 2);
  same_params(a, b, "resume: after the next step (dropout, AdamW, clipping, groups, schedule)");
  float *c1a = param(a, "c1.bias"), *c1b = param(b, "c1.bias");
  TU_CHECK(c1a && c1b && c1a[0] == c1b[0], "frozen bias");
  free(c1a);
  free(c1b);

  /* strict loading into an existing model: a checkpoint with optimizer state for another
   * optimizer is refused, the same optimizer restores step and state */
  g = build_graph(3, "head");
  clnn_model *c = NULL;
  TU_OK(clnn_model_create(ctx, g, 99, &c));
  clnn_graph_destroy(g);
  TU_STATUS(clnn_model_load(c, path, 1, NULL, 0, NULL, 0), CLNN_ERROR_FORMAT);
  TU_CHECK(strstr(clnn_last_error(), "adamw") != NULL, "names the optimizer: %s",
           clnn_last_error());
  TU_OK(clnn_model_set_optimizer(c, &opt));
  TU_OK(clnn_model_load(c, path, 1, NULL, 0, NULL, 0));
  TU_CHECK(clnn_model_step_count(c) == 2, "strict load restores the step count");
  clnn_model_destroy(c);
  clnn_model_destroy(b);
  clnn_model_destroy(a);
}

static void test_finetune(clnn_context *ctx) {
  clnn_model *a = trained_model(ctx);
  char path[600];
  snprintf(path, sizeof path, "%s/trunk.safetensors", dir);
  TU_OK(clnn_model_save(a, path, CLNN_SAVE_OPTIMIZER));

  /* the file's graph plus a second head */
  clnn_graph *g = NULL;
  TU_OK(clnn_graph_load(path, &g));
  if (!g) return;
  int flat = -1, lab = -1, y2, loss2;
  TU_OK(clnn_graph_find(g, "drop", &flat));
  TU_OK(clnn_graph_find(g, "label", &lab));
  TU_OK(clnn_graph_dense(g, "head2", flat, 5, 1, &y2));
  TU_OK(clnn_graph_loss(g, "loss2", CLNN_LOSS_SOFTMAX_CROSS_ENTROPY, y2, lab, 0.5f, &loss2));
  TU_OK(clnn_graph_output(g, y2));
  clnn_model *b = NULL;
  TU_OK(clnn_model_create(ctx, g, 3, &b));
  clnn_graph_destroy(g);
  char miss[256] = "x", unexp[256] = "x";
  TU_OK(clnn_model_load(b, path, 0, miss, sizeof miss, unexp, sizeof unexp));
  TU_CHECK(strcmp(miss, "head2.weight,head2.bias") == 0, "missing: '%s'", miss);
  TU_CHECK(strcmp(unexp, "") == 0, "unexpected: '%s'", unexp);
  float *wa = param(a, "c2.weight"), *wb = param(b, "c2.weight");
  TU_CHECK(wa && wb && memcmp(wa, wb, 4 * 4 * 9 * sizeof(float)) == 0, "trunk loaded");
  free(wa);
  free(wb);
  TU_STATUS(clnn_model_load(b, path, 1, NULL, 0, NULL, 0), CLNN_ERROR_FORMAT);
  clnn_model_destroy(b);

  /* a graph written in code whose head has another name: missing and unexpected */
  g = build_graph(3, "newhead");
  TU_OK(clnn_model_create(ctx, g, 3, &b));
  clnn_graph_destroy(g);
  TU_OK(clnn_model_load(b, path, 0, miss, sizeof miss, unexp, sizeof unexp));
  TU_CHECK(strcmp(miss, "newhead.weight,newhead.bias") == 0, "missing: '%s'", miss);
  TU_CHECK(strcmp(unexp, "head.weight,head.bias") == 0, "unexpected: '%s'", unexp);
  char small[10];
  TU_OK(clnn_model_load(b, path, 0, small, sizeof small, NULL, 0));
  TU_CHECK(strcmp(small, "newhead.w") == 0, "truncated list: '%s'", small);
  clnn_model_destroy(b);

  /* a matching name with another shape is an error that changes nothing */
  g = build_graph(5, "head");
  TU_OK(clnn_model_create(ctx, g, 3, &b));
  clnn_graph_destroy(g);
  float *before = param(b, "c1.weight");
  strcpy(miss, "untouched");
  TU_STATUS(clnn_model_load(b, path, 0, miss, sizeof miss, NULL, 0), CLNN_ERROR_FORMAT);
  TU_CHECK(strstr(clnn_last_error(), "head.weight") != NULL, "names the tensor: %s",
           clnn_last_error());
  float *after = param(b, "c1.weight");
  TU_CHECK(before && after && memcmp(before, after, 4 * 9 * sizeof(float)) == 0,
           "a failed load changed c1.weight");
  TU_CHECK(strcmp(miss, "untouched") == 0, "a failed load wrote the missing list");
  free(before);
  free(after);
  clnn_model_destroy(b);
  clnn_model_destroy(a);
}

/* Shared weights: "twin" applies the parameters of "d1", whose own output no output needs (so
 * the model does not run d1, but the file must still describe it). */
static void test_shared(clnn_context *ctx) {
  clnn_graph *g = NULL;
  size_t four[1] = {4};
  int a, b, h, y, z;
  TU_OK(clnn_graph_create(&g));
  TU_OK(clnn_graph_input(g, "a", CLNN_FLOAT32, 1, four, &a));
  TU_OK(clnn_graph_input(g, "b", CLNN_FLOAT32, 1, four, &b));
  TU_OK(clnn_graph_dense(g, "d1", a, 4, 1, &h));
  TU_OK(clnn_graph_apply(g, "twin", "d1", b, &y));
  TU_OK(clnn_graph_apply(g, "twin2", "twin", y, &z));
  TU_OK(clnn_graph_output(g, z));
  clnn_model *m = NULL, *l = NULL;
  TU_OK(clnn_model_create(ctx, g, 1, &m));
  clnn_graph_destroy(g);
  char path[600];
  snprintf(path, sizeof path, "%s/shared.safetensors", dir);
  TU_OK(clnn_model_save(m, path, CLNN_SAVE_OPTIMIZER));
  TU_OK(clnn_model_load_file(ctx, path, &l));
  if (l) {
    same_params(m, l, "shared weights");
    float x[8] = {1, -2, 3, 0.5f, 0, 1, 2, -1}, ym[8], yl[8];
    int bm = -1, bl = -1;
    TU_OK(clnn_graph_find(clnn_model_graph(m), "b", &bm));
    TU_OK(clnn_graph_find(clnn_model_graph(l), "b", &bl));
    clnn_feed fm = {bm, x, 8, NULL}, fl = {bl, x, 8, NULL};
    TU_OK(clnn_model_predict(m, &fm, 1, 2, -1, ym, 8));
    TU_OK(clnn_model_predict(l, &fl, 1, 2, -1, yl, 8));
    TU_CHECK(memcmp(ym, yl, sizeof ym) == 0, "shared weights: predictions differ");
    TU_CHECK(clnn_model_num_params(l) == 2, "d1.weight and d1.bias only");
  }
  clnn_model_destroy(l);
  clnn_model_destroy(m);
}

static void test_corrupt(clnn_context *ctx) {
  clnn_model *a = trained_model(ctx);
  char good[600], path[600];
  snprintf(good, sizeof good, "%s/good.safetensors", dir);
  snprintf(path, sizeof path, "%s/bad.safetensors", dir);
  TU_OK(clnn_model_save(a, good, 0));
  size_t n = 0;
  unsigned char *b = tu_read_file(good, &n);

  tu_write_file(path, b, n / 2);
  expect_format(ctx, path, "truncated in the data", 1);
  tu_write_file(path, b, 100);
  expect_format(ctx, path, "truncated in the header", 1);
  tu_write_file(path, b, 5);
  expect_format(ctx, path, "truncated in the size", 1);
  unsigned char *big = malloc(n + 4);
  memcpy(big, b, n);
  memset(big + n, 0, 4);
  tu_write_file(path, big, n + 4);
  expect_format(ctx, path, "trailing data", 1);
  memcpy(big, b, n);
  big[8] = 'x'; /* not JSON */
  tu_write_file(path, big, n);
  expect_format(ctx, path, "not JSON", 1);
  memcpy(big, b, n);
  for (int i = 0; i < 8; i++) big[i] = i == 5 ? 1 : 0; /* 2^40 */
  tu_write_file(path, big, n);
  expect_format(ctx, path, "huge header length", 1);
  free(big);
  /* a header size over 100 MB in a (sparse) file that large */
  int fd = open(path, O_WRONLY | O_TRUNC | O_CREAT, 0600);
  unsigned char len8[8] = {0, 0, 0, 0x07, 0, 0, 0, 0}; /* 112 MiB */
  TU_CHECK(write(fd, len8, 8) == 8 && ftruncate(fd, (off_t)8 + (off_t)(0x07u << 24)) == 0,
           "sparse file");
  close(fd);
  expect_format(ctx, path, "header over 100 MB", 1);
  TU_CHECK(strstr(clnn_last_error(), "header size") != NULL, "message: %s", clnn_last_error());

  /* 1.1 million values in 2.2 MB: refused before cJSON would allocate 70 MB for them */
  size_t nv = 1100000, hl = 2 * nv + 7;
  unsigned char *many = malloc(8 + hl);
  for (int i = 0; i < 8; i++) many[i] = (unsigned char)((hl >> (8 * i)) & 0xff);
  memcpy(many + 8, "{\"a\":[", 6);
  for (size_t i = 0; i < nv; i++) memcpy(many + 14 + 2 * i, "0,", 2);
  memcpy(many + 14 + 2 * nv - 1, "]}", 2);
  tu_write_file(path, many, 8 + hl);
  free(many);
  expect_format(ctx, path, "too many JSON values", 1);
  TU_CHECK(strstr(clnn_last_error(), "JSON values") != NULL, "message: %s", clnn_last_error());
  corrupt(ctx, good, "\"__metadata__\":{", "\"__metadata__\":{{", "bad JSON", 1, "JSON");
  corrupt(ctx, good, "\\\"nodes\\\":[", "\\\"nodes\\\":[[", "bad graph JSON", 1, "graph");
  corrupt(ctx, good, "\\\"kind\\\":\\\"conv2d\\\"", "\\\"kind\\\":\\\"conv9d\\\"", "unknown op", 1,
          "conv9d");
  corrupt(ctx, good, "\\\"inputs\\\":[\\\"c1\\\"]", "\\\"inputs\\\":[\\\"nope\\\"]",
          "dangling value", 1, "nope");
  corrupt(ctx, good, "{\\\"name\\\":\\\"c2\\\"", "{\\\"name\\\":\\\"c1\\\"", "duplicate node", 1,
          "c1");
  corrupt(ctx, good, "\\\"dims\\\":[1,6,6]", "\\\"dims\\\":[1,7,7]", "input shape", 1, "shape");
  corrupt(ctx, good, "\\\"dims\\\":[4,6,6]", "\\\"dims\\\":[4,6,5]", "node shape", 1, "c1");
  corrupt(ctx, good, "\\\"units\\\":3,\\\"bias\\\":1},\\\"fa\\\":{},\\\"dims\\\":[3]",
          "\\\"units\\\":4,\\\"bias\\\":1},\\\"fa\\\":{}", "attribute against the tensor", 0,
          "head.weight");
  corrupt(ctx, good, "\\\"units\\\":3", "\\\"unitz\\\":3", "unknown attribute", 1, "unitz");
  corrupt(ctx, good, "\"shape\":[3,144]", "\"shape\":[144,3]", "tensor shape", 0, "head.weight");
  corrupt(ctx, good, "\"dtype\":\"F32\"", "\"dtype\":\"I32\"", "tensor dtype", 0, "I32");
  corrupt(ctx, good, "\"dtype\":\"F32\"", "\"dtype\":\"F99\"", "unknown dtype", 1, "F99");
  corrupt(ctx, good, "\"graph\":", "\"graf\":", "no graph", 1, "no graph");
  corrupt(ctx, good, "\\\"version\\\":1", "\\\"version\\\":2", "graph version", 1, "version");
  corrupt(ctx, good, "\"c1.weight\":", "\"c1.weigh\":", "renamed tensor", 0, "c1.weight");
  corrupt(ctx, good, "\"format\":", "\"step\":\"1\",\"format\":", "state without slots", 0,
          "optimizer");
  corrupt(ctx, good, "\\\"type\\\":\\\"adam\\\"", "\\\"type\\\":\\\"adamx\\\"", "optimizer type", 0,
          "optimizer");

  /* clnn_model_load into an existing model: a corrupt file changes nothing */
  float *before = param(a, "c1.weight");
  TU_CHECK(tu_patch_header(good, path, "\"shape\":[3,144]", "\"shape\":[144,3]"), "rewrite");
  TU_STATUS(clnn_model_load(a, path, 1, NULL, 0, NULL, 0), CLNN_ERROR_FORMAT);
  TU_STATUS(clnn_model_load(a, path, 0, NULL, 0, NULL, 0), CLNN_ERROR_FORMAT);
  float *after = param(a, "c1.weight");
  TU_CHECK(before && after && memcmp(before, after, 4 * 9 * sizeof(float)) == 0,
           "a failed load changed the model");
  free(before);
  free(after);
  /* unreadable paths are I/O errors */
  clnn_model *m = NULL;
  TU_STATUS(clnn_model_load_file(ctx, dir, &m), CLNN_ERROR_IO);
  snprintf(path, sizeof path, "%s/absent.safetensors", dir);
  TU_STATUS(clnn_model_load_file(ctx, path, &m), CLNN_ERROR_IO);
  TU_CHECK(m == NULL, "nothing built");
  TU_STATUS(clnn_model_load_file(NULL, good, &m), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_model_save(a, good, 2), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_model_load(a, good, 2, NULL, 0, NULL, 0), CLNN_ERROR_INVALID_ARGUMENT);
  free(b);
  clnn_model_destroy(a);
}

/* ---- fuzzing seeds and corpus replay ---- */

static clnn_model *seed_model(clnn_context *ctx) {
  clnn_graph *g = FUZZ_MODEL_GRAPH();
  clnn_model *m = NULL;
  TU_OK(clnn_model_create(ctx, g, 5, &m));
  clnn_graph_destroy(g);
  float x[2 * 16];
  int32_t lab[2] = {0, 2};
  tu_fill_uniform(x, 32, 0, 1);
  clnn_feed f[2] = {{0, x, 32, NULL}, {1, lab, 2, NULL}};
  TU_OK(clnn_model_train_step(m, f, 2, 2, NULL));
  return m;
}

static int write_seeds(const char *out) {
  clnn_context *ctx = tu_context();
  clnn_model *m = seed_model(ctx);
  char path[2048];
  snprintf(path, sizeof path, "%s/model.safetensors", out);
  TU_OK(clnn_model_save(m, path, 0));
  snprintf(path, sizeof path, "%s/with-optimizer.safetensors", out);
  TU_OK(clnn_model_save(m, path, CLNN_SAVE_OPTIMIZER));
  clnn_model_destroy(m);
  clnn_context_destroy(ctx);
  return tu_finish("test_model_io --write-seeds");
}

static void test_fuzz_corpus(clnn_context *ctx) {
  /* the seeds as written now load */
  clnn_model *m = seed_model(ctx);
  char path[600];
  snprintf(path, sizeof path, "%s/seed.safetensors", dir);
  TU_OK(clnn_model_save(m, path, CLNN_SAVE_OPTIMIZER));
  clnn_model_destroy(m);
  size_t n = 0;
  unsigned char *b = tu_read_file(path, &n);
  clnn_graph *g = NULL;
  TU_OK(clnn__m_load_memory(ctx, b, n, "seed", &m, &g));
  clnn_model_destroy(m);
  clnn_graph_destroy(g);
  fuzz_model_one(b, n);
  free(b);
  const char *src = getenv("CLNN_SOURCE_DIR");
  if (!src) src = ".";
  int count = 0;
  for (int k = 0; k < 2; k++) {
    snprintf(path, sizeof path, "%s/tests/fuzz/%s/model", src, k ? "regress" : "corpus");
    count += tu_replay_dir(path, fuzz_model_one);
  }
  TU_CHECK(count > 0, "no fuzzing corpus in %s/tests/fuzz/corpus/model", src);
  printf("replayed %d model fuzzing inputs\n", count);
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0) return write_seeds(argv[2]);
  tu_seed(2024);
  for (int b = 0; b < 3; b++) {
    tu_fill_uniform(xs[b], BATCH * IMG, -1, 1);
    for (int i = 0; i < BATCH; i++) labels[b][i] = (int32_t)((i + b) % 3);
  }
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/clnn_model_io_XXXXXX", tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  clnn_context *ctx = tu_context();
  test_roundtrip(ctx);
  test_resume(ctx);
  test_finetune(ctx);
  test_shared(ctx);
  test_corrupt(ctx);
  test_fuzz_corpus(ctx);
  clnn_context_destroy(ctx);
  char cmd[700];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
  return tu_finish("test_model_io");
}
