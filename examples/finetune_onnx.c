/* examples/finetune_onnx.c — fine-tuning a model that another framework trained: imports the CNN
 * that examples/finetune_onnx_pretrain.py trained in PyTorch on the digits 0-4 and exported to
 * ONNX, replaces its head with one for the digits 5-9, freezes the rest, fine-tunes on the digits
 * 5-9 and exports the result to ONNX for ONNX Runtime (examples/finetune_onnx_check.py runs it
 * there and compares with clnn). Exits 1 when the test accuracy on the digits 5-9 is below 90%,
 * the imported model's own head is below 90% on the digits 0-4, or a frozen parameter changed.
 *
 *   finetune_onnx [--data DIR | DIR] [--model FILE.onnx] [--out FILE.onnx] [--epochs N]
 *                 [--lr X] [--seed N] [--device SEL]
 *
 * Steps: clnn_model_load_onnx imports the whole file (weights included; the time is printed) and
 * its "logits" output is checked on the digits 0-4; its parameters are saved with
 * clnn_model_save (OUT.pretrained.safetensors). clnn_graph_load_onnx reads the graph alone: the
 * file's second output "features" (the 128 ReLU features before PyTorch's head) is the value the
 * new head goes on; clnn_graph_clear_outputs drops the old outputs, a "label" input, a new head
 * "head5_9" (dense 64 "head5_9.fc" - ReLU - dense 5 "head5_9.out" on the features), its softmax
 * cross-entropy loss and output are added, and
 * clnn_model_load (strict 0) fills everything but the new head from the saved parameters (the
 * old head "head" is reported unexpected). Everything is frozen but "head5_9."; 60 epochs of Adam
 * lr 0.01 (cosine decay), batch 32, images shifted by -1..1 pixels each epoch. Then
 * clnn_model_save_onnx writes OUT, and the test images of the digits 5-9 (OUT.images.f32,
 * [n, 1, 8, 8]), their labels (OUT.labels.i32, digit - 5) and clnn's logits (OUT.logits.f32) are
 * written beside it for the check in ONNX Runtime. */
#define EXAMPLE_NAME "finetune_onnx"
#include "example_util.h"

static int write_raw(const char *path, const char *ext, const void *p, size_t bytes) {
  char name[1200];
  snprintf(name, sizeof name, "%s.%s", path, ext);
  FILE *f = fopen(name, "wb");
  int ok = f && fwrite(p, 1, bytes, f) == bytes;
  if (f && fclose(f) != 0) ok = 0;
  if (!ok) fprintf(stderr, "finetune_onnx: cannot write %s\n", name);
  return ok;
}

/* Accuracy of output `out` of m (classes 0..4) on ds; logits (may be NULL) receives them. */
static float accuracy(clnn_model *m, const clnn_dataset *ds, int x, int out, float *logits) {
  size_t n = clnn_dataset_size(ds), right = 0;
  float *y = logits ? logits : malloc(n * 5 * sizeof(float));
  if (!y) exit(1);
  clnn_feed fd = {x, clnn_dataset_data(ds), n * 64, NULL};
  CHECK(clnn_model_predict(m, &fd, 1, n, out, y, n * 5));
  for (size_t i = 0; i < n; i++) {
    int best = 0;
    for (int c = 1; c < 5; c++)
      if (y[i * 5 + c] > y[i * 5 + best]) best = c;
    right += best == clnn_dataset_labels(ds)[i];
  }
  if (!logits) free(y);
  return (float)right / (float)n;
}

/* Every parameter outside the new head, concatenated (host copy) into *buf; returns the count. */
static size_t frozen_values(clnn_model *m, float **buf) {
  size_t total = 0, cap = 0;
  *buf = NULL;
  for (size_t i = 0; i < clnn_model_num_params(m); i++) {
    const char *name = clnn_model_param_name(m, i);
    if (strncmp(name, "head5_9.", 8) == 0) continue;
    clnn_tensor *t = NULL;
    CHECK(clnn_model_param(m, name, &t, NULL));
    size_t k = clnn_tensor_numel(t);
    if (total + k > cap) {
      cap = 2 * (total + k);
      float *p = realloc(*buf, cap * sizeof(float));
      if (!p) exit(1);
      *buf = p;
    }
    CHECK(clnn_tensor_read(t, *buf + total, k));
    total += k;
  }
  return total;
}

int main(int argc, char **argv) {
  char data[1024];
  default_data_dir(data, sizeof data);
  const char *model_path = "finetune_onnx_pretrained.onnx", *out = "finetune_onnx.onnx";
  const char *device = NULL;
  int epochs = 60;
  float lr = 1e-2f;
  unsigned long long seed = 1;
  const example_opt opts[] = {{"--model", OPT_STR, &model_path}, {"--out", OPT_STR, &out},
                              {"--epochs", OPT_INT, &epochs},    {"--lr", OPT_FLOAT, &lr},
                              {"--seed", OPT_ULL, &seed},        {"--device", OPT_STR, &device}};
  int rc = parse_args(argc, argv,
                      "[--data DIR | DIR] [--model FILE.onnx] [--out FILE.onnx] [--epochs N] "
                      "[--lr X] [--seed N] [--device SEL]",
                      data, sizeof data, opts, sizeof opts / sizeof opts[0]);
  if (rc >= 0) return rc;
  if (epochs < 1) {
    fprintf(stderr, "finetune_onnx: --epochs must be positive\n");
    return 2;
  }
  double start = now();
  clnn_context *ctx = context_on(device, 1);
  clnn_dataset *train_all = load_idx_split(data, "train");
  clnn_dataset *test_all = load_idx_split(data, "test");
  clnn_dataset *test_old = digits_subset(test_all, 0, 4, 0), *test_new = digits_subset(test_all, 5, 9, 0);
  rng_state = seed;

  /* 1. the whole PyTorch model, weights included */
  clnn_model *pre = NULL;
  double t0 = now();
  CHECK(clnn_model_load_onnx(ctx, model_path, &pre));
  const clnn_graph *pg = clnn_model_graph(pre);
  printf("imported %s in %.3f s: %zu parameter tensors, %d outputs\n", model_path, now() - t0,
         clnn_model_num_params(pre), clnn_graph_num_outputs(pg));
  float acc_old = accuracy(pre, test_old, clnn_graph_input_value(pg, 0),
                           clnn_graph_output_value(pg, 0), NULL);
  printf("the imported model's own head on the digits 0-4: %.2f%% (%zu test images)\n",
         100.0 * acc_old, clnn_dataset_size(test_old));
  char params[1200];
  snprintf(params, sizeof params, "%s.pretrained.safetensors", out);
  CHECK(clnn_model_save(pre, params, 0));
  clnn_model_destroy(pre);

  /* 2. the graph alone, with a new head on the "features" output */
  clnn_graph *g = NULL;
  CHECK(clnn_graph_load_onnx(model_path, &g));
  if (clnn_graph_num_outputs(g) < 2) {
    fprintf(stderr, "finetune_onnx: %s has no \"features\" output\n", model_path);
    return 1;
  }
  int x = clnn_graph_input_value(g, 0), feat = clnn_graph_output_value(g, 1), lab, head, loss;
  CHECK(clnn_graph_clear_outputs(g));
  CHECK(clnn_graph_input(g, "label", CLNN_INT32, 0, NULL, &lab));
  int hh;
  CHECK(clnn_graph_dense(g, "head5_9.fc", feat, 64, 1, &hh));
  CHECK(clnn_graph_activation(g, "head5_9.relu", hh, CLNN_ACT_RELU, 0, &hh));
  CHECK(clnn_graph_dense(g, "head5_9.out", hh, 5, 1, &head));
  CHECK(clnn_graph_loss(g, "loss5_9", CLNN_LOSS_SOFTMAX_CROSS_ENTROPY, head, lab, 1.0f, &loss));
  clnn_model *m = model_of(ctx, g, head, seed, 0);
  char missing[1024], unexpected[1024];
  CHECK(clnn_model_load(m, params, 0, missing, sizeof missing, unexpected, sizeof unexpected));
  printf("clnn_model_load (strict 0): missing [%s], unexpected [%s]\n", missing, unexpected);
  if (!strstr(unexpected, "head.weight") || !strstr(missing, "head5_9.out.weight")) {
    printf("FAIL: the old head should be unexpected and the new one missing\n");
    return 1;
  }

  /* 3. freeze, fine-tune the head */
  size_t matched = 0, trained = 0;
  CHECK(clnn_model_set_trainable(m, "", 0, &matched));
  CHECK(clnn_model_set_trainable(m, "head5_9.", 1, &trained));
  clnn_optimizer_config oc;
  clnn_optimizer_config_init(&oc, CLNN_OPTIM_ADAM, lr);
  CHECK(clnn_model_set_optimizer(m, &oc));
  size_t ntrain = 0;
  for (size_t i = 0; i < clnn_dataset_size(train_all); i++)
    ntrain += clnn_dataset_labels(train_all)[i] >= 5;
  clnn_schedule sch;
  clnn_schedule_init(&sch);
  sch.type = CLNN_SCHEDULE_COSINE;
  sch.warmup_steps = 1;
  sch.total_steps = (uint64_t)epochs * ((ntrain + 31) / 32);
  sch.min_ratio = 0.01f;
  CHECK(clnn_model_set_schedule(m, &sch));
  float *frozen0 = NULL, *frozen1 = NULL;
  size_t nfrozen = frozen_values(m, &frozen0);
  printf("frozen: %zu of %zu tensors (%zu values); trained: head5_9 (%zu scalars); %d epochs, "
         "Adam lr %g (cosine), seed %llu\n", matched - trained, matched, nfrozen,
         clnn_model_num_trainable(m), epochs, (double)lr, seed);
  float acc = 0;
  for (int e = 1; e <= epochs; e++) {
    clnn_dataset *train = digits_subset(train_all, 5, 9, 1);
    CHECK(clnn_dataset_shuffle(train, seed * 1000003ULL + (unsigned long long)e));
    float l = 0;
    CHECK(clnn_model_train_epoch(m, train, 32, x, lab, &l));
    if (e == 1 || e % 10 == 0 || e == epochs) {
      CHECK(clnn_model_evaluate(m, test_new, 512, x, lab, head, NULL, &acc));
      printf("epoch %2d  loss %.4f  test acc (5-9) %6.2f%%  (%.1f s)\n", e, l, 100.0 * acc,
             now() - start);
      fflush(stdout);
    }
    clnn_dataset_destroy(train);
  }
  size_t n1 = frozen_values(m, &frozen1);
  int same = n1 == nfrozen && memcmp(frozen0, frozen1, nfrozen * sizeof(float)) == 0;
  printf("frozen parameters %s after fine-tuning\n", same ? "bit-identical" : "CHANGED");

  /* 4. export, and what ONNX Runtime is checked against */
  t0 = now();
  CHECK(clnn_model_save_onnx(m, out));
  size_t n = clnn_dataset_size(test_new);
  float *logits = malloc(n * 5 * sizeof(float));
  if (!logits) return 1;
  float acc_new = accuracy(m, test_new, x, head, logits);
  int wrote = write_raw(out, "images.f32", clnn_dataset_data(test_new), n * 64 * sizeof(float)) &&
              write_raw(out, "labels.i32", clnn_dataset_labels(test_new), n * sizeof(int32_t)) &&
              write_raw(out, "logits.f32", logits, n * 5 * sizeof(float));
  printf("exported %s (%.3f s) with the test images, labels and clnn's logits beside it\n", out,
         now() - t0);
  int ok = acc_new >= 0.90f && acc_old >= 0.90f && same && wrote;
  printf("final test accuracy on the digits 5-9 %.2f%% (%s the 90%% target), after %.1f s\n",
         100.0 * acc_new, acc_new >= 0.90f ? "meets" : "BELOW", now() - start);
  free(logits);
  free(frozen0);
  free(frozen1);
  clnn_model_destroy(m);
  clnn_dataset_destroy(test_old);
  clnn_dataset_destroy(test_new);
  clnn_dataset_destroy(train_all);
  clnn_dataset_destroy(test_all);
  clnn_context_destroy(ctx);
  return ok ? 0 : 1;
}
