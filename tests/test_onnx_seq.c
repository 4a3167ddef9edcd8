/* tests/test_onnx_seq.c — ONNX import of sequence-model ops against PyTorch: small models that
 * tests/onnx/seq_models.py exports with torch.onnx.export (random weights) and runs on a random
 * batch; clnn_model_load_onnx imports each and clnn_model_predict must give PyTorch's outputs
 * within 1e-4 + 1e-3 |torch| (float32 rounding over LSTM recurrences):
 * - Gather as nn.Embedding (int64 ids fed as int32), nn.LayerNorm written out (opset 13:
 *   ReduceMean ... Add, one pattern) and as LayerNormalization (opset 17), nn.LSTM with
 *   batch_first (the Transpose / LSTM / Squeeze / Transpose around it; zero initial state built
 *   from Shape; ONNX's gate order converted), h_n as a second output;
 * - the last step y[:, -1] (Gather with a constant index), h_n.squeeze(0) and h_n[-1],
 *   concatenated;
 * - LayerNorm over two trailing axes of an image;
 * - a 2-layer LSTM (zero states sliced from one ConstantOfShape, layer 2 on layer 1's time-major
 *   output);
 * - nn.GRU with batch_first (ONNX's gate order z, r, h converted to r, z, n, the biases kept
 *   apart, zero initial_h): y and h_n, and the last-step / h_n[-1] pattern at opset 17; a GRU
 *   with linear_before_reset 0 is refused naming the attribute;
 * - training: one SGD step (lr 0.5) of the imported emb_ln_lstm13 on sum(y * R) / N (R random, its
 *   gradient the seed of clnn_model_backward) against PyTorch's step: the change of every
 *   parameter within 1e-3 max|change| + 1e-6 of PyTorch's (the LSTM's one bias against
 *   PyTorch's bias_ih, whose gradient it shares; weights in PyTorch's gate order, which is clnn's;
 *   measured: 1.2e-7 at most);
 * - sequence_lens given as the full length for every sample imports (the same outputs); shorter
 *   lengths are refused naming sequence_lens (files made with python3-onnx when it is there);
 * - refusals: a reverse LSTM, an initial state that is not zeros, a used cell state Y_c, each
 *   CLNN_ERROR_UNSUPPORTED naming the attribute or input.
 * Skipped (exit 0, with a message) when python3-torch is missing. */
#define _POSIX_C_SOURCE 200809L
#include "nn/onnx.h"
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/clnn-onnx-seq-XXXXXX";

static void *read_raw(const char *name, const char *ext, size_t *bytes) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s.%s", tmpdir, name, ext);
  return tu_read_file(path, bytes);
}

/* Imports <name>.onnx, feeds <name>.in (int32 ids when the input is an integer input) with batch
 * N and compares every output with PyTorch's. */
static void compare(clnn_context *ctx, const char *name, size_t batch, int nout) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s.onnx", tmpdir, name);
  clnn_model *m = NULL;
  TU_OK(clnn_model_load_onnx(ctx, path, &m));
  if (!m) {
    printf("%s: %s\n", name, clnn_last_error());
    return;
  }
  const clnn_graph *g = clnn_model_graph(m);
  TU_CHECK(clnn_graph_num_outputs(g) == nout, "%s: %d outputs", name, nout);
  size_t bytes = 0;
  void *x = read_raw(name, "in", &bytes);
  TU_CHECK(x != NULL, "%s: input read", name);
  clnn_feed fd = {clnn_graph_input_value(g, 0), x, bytes / 4, NULL};
  for (int k = 0; x && k < nout && k < clnn_graph_num_outputs(g); k++) {
    char ext[8];
    snprintf(ext, sizeof ext, "out%d", k);
    size_t wb = 0;
    float *want = read_raw(name, ext, &wb);
    size_t n = wb / sizeof(float);
    float *got = calloc(n + 1, sizeof(float));
    TU_CHECK(want && got, "%s: output %d read", name, k);
    if (want && got) {
      TU_OK(clnn_model_predict(m, &fd, 1, batch, clnn_graph_output_value(g, k), got, n));
      double worst = 0;
      for (size_t i = 0; i < n; i++)
        if (fabs((double)got[i] - want[i]) > worst) worst = fabs((double)got[i] - want[i]);
      printf("%s: output %d (%zu values): largest |clnn - torch| %.3g\n", name, k, n, worst);
      TU_CHECK(tu_allclose(got, want, n, 1e-3f, 1e-4f, name), "%s: output %d matches PyTorch's",
               name, k);
    }
    free(want);
    free(got);
  }
  free(x);
  clnn_model_destroy(m);
}

/* clnn's name of each PyTorch parameter of emb_ln_lstm13 (the LSTM and the last dense layer are
 * named after their ONNX nodes: their weights have exporter-made names). */
static const char *const torch_to_clnn[][2] = {
    {"emb.weight", "emb.weight"},
    {"ln.weight", "ln.weight"},
    {"ln.bias", "ln.bias"},
    {"lstm.weight_ih_l0", "lstm_LSTM.weight_ih"},
    {"lstm.weight_hh_l0", "lstm_LSTM.weight_hh"},
    {"lstm.bias_ih_l0", "lstm_LSTM.bias"},
    {"lstm.bias_hh_l0", NULL}, /* folded into lstm_LSTM.bias */
    {"fc.weight", "fc_MatMul.weight"},
    {"fc.bias", "fc_MatMul.bias"},
};

static void train_step(clnn_context *ctx) {
  char path[512];
  snprintf(path, sizeof path, "%s/emb_ln_lstm13.onnx", tmpdir);
  clnn_model *m = NULL;
  TU_OK(clnn_model_load_onnx(ctx, path, &m));
  size_t nx = 0, nr = 0, na = 0, nt = 0, nb = 0;
  int32_t *ids = read_raw("emb_ln_lstm13", "in", &nx);
  float *seed = read_raw("emb_ln_lstm13", "seed", &nr), *after = read_raw("emb_ln_lstm13", "after.f32", &na);
  float *tbefore = read_raw("emb_ln_lstm13", "before.f32", &nb);
  char *names = read_raw("emb_ln_lstm13", "after.txt", &nt);
  TU_CHECK(m && ids && seed && after && tbefore && nb == na && names, "the step's files read");
  if (m && ids && seed && after && tbefore && nb == na && names) {
    names[nt] = 0;
    const clnn_graph *g = clnn_model_graph(m);
    size_t np = clnn_model_num_params(m);
    float **before = calloc(np, sizeof(float *));
    for (size_t i = 0; i < np; i++) {
      clnn_tensor *t = NULL;
      TU_OK(clnn_model_param(m, clnn_model_param_name(m, i), &t, NULL));
      before[i] = malloc(clnn_tensor_numel(t) * sizeof(float));
      TU_OK(clnn_tensor_read(t, before[i], clnn_tensor_numel(t)));
    }
    clnn_optimizer_config oc;
    clnn_optimizer_config_init(&oc, CLNN_OPTIM_SGD, 0.5f);
    oc.momentum = 0.0f;
    TU_OK(clnn_model_set_optimizer(m, &oc));
    clnn_feed fd = {clnn_graph_input_value(g, 0), ids, nx / 4, NULL};
    TU_OK(clnn_model_forward(m, &fd, 1, 3, NULL));
    for (size_t i = 0; i < nr / 4; i++) seed[i] /= 3.0f; /* d(sum(y R) / N) / dy */
    clnn_feed sf = {clnn_graph_output_value(g, 0), seed, nr / 4, NULL};
    TU_OK(clnn_model_backward(m, &sf, 1));
    TU_OK(clnn_model_optimizer_step(m));
    size_t off = 0;
    int compared = 0;
    char *save = NULL;
    for (char *line = strtok_r(names, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
      char tname[128];
      size_t n = 0;
      if (sscanf(line, "%127s %zu", tname, &n) != 2 || (off + n) * 4 > na) break;
      const float *want = after + off, *was = tbefore + off;
      off += n;
      const char *cname = NULL;
      int known = 0;
      for (size_t k = 0; k < sizeof torch_to_clnn / sizeof torch_to_clnn[0]; k++)
        if (!strcmp(torch_to_clnn[k][0], tname)) cname = torch_to_clnn[k][1], known = 1;
      TU_CHECK(known, "PyTorch parameter %s has a clnn name", tname);
      if (!cname) continue;
      size_t idx = np;
      for (size_t i = 0; i < np; i++)
        if (!strcmp(clnn_model_param_name(m, i), cname)) idx = i;
      clnn_tensor *t = NULL;
      TU_CHECK(idx < np, "clnn has parameter %s", cname);
      if (idx == np || clnn_model_param(m, cname, &t, NULL) != CLNN_SUCCESS || clnn_tensor_numel(t) != n)
        continue;
      float *w = malloc(n * sizeof(float));
      TU_OK(clnn_tensor_read(t, w, n));
      double dmax = 0, err = 0;
      for (size_t k = 0; k < n; k++) dmax = fmax(dmax, fabs((double)want[k] - was[k]));
      for (size_t k = 0; k < n; k++)
        err = fmax(err, fabs(((double)w[k] - before[idx][k]) - ((double)want[k] - was[k])));
      printf("step: %-18s -> %-20s largest change %.3g, difference %.3g\n", tname, cname, dmax, err);
      TU_CHECK(dmax > 0 && err <= 1e-3 * dmax + 1e-6, "%s changes as PyTorch's %s does", cname, tname);
      compared++;
      free(w);
    }
    TU_CHECK(compared == 8, "8 parameters compared after the step (%d)", compared);
    for (size_t i = 0; i < np; i++) free(before[i]);
    free(before);
  }
  free(ids);
  free(seed);
  free(after);
  free(tbefore);
  free(names);
  clnn_model_destroy(m);
}

/* The emb_ln_lstm13 file with its LSTM node changed by `edit`; the import must fail with
 * CLNN_ERROR_UNSUPPORTED and a message containing `expect`. */
static void refusal(clnn_context *ctx, const char *what, const char *expect,
                    void (*edit)(Onnx__NodeProto *, Onnx__GraphProto *)) {
  size_t size = 0;
  unsigned char *b = read_raw("emb_ln_lstm13", "onnx", &size);
  Onnx__ModelProto *mp = b ? onnx__model_proto__unpack(NULL, size, b) : NULL;
  free(b);
  TU_CHECK(mp && mp->graph, "%s: the export decodes", what);
  if (!mp || !mp->graph) return;
  Onnx__NodeProto *lstm = NULL;
  for (size_t k = 0; k < mp->graph->n_node; k++)
    if (!strcmp(mp->graph->node[k]->op_type, "LSTM")) lstm = mp->graph->node[k];
  TU_CHECK(lstm != NULL, "%s: the export has an LSTM", what);
  if (lstm) {
    /* keep what the edit replaces, to free the message as protobuf-c made it */
    Onnx__NodeProto saved = *lstm;
    Onnx__GraphProto gsaved = *mp->graph;
    edit(lstm, mp->graph);
    size_t len = onnx__model_proto__get_packed_size(mp);
    unsigned char *buf = malloc(len);
    onnx__model_proto__pack(mp, buf);
    *lstm = saved;
    *mp->graph = gsaved;
    clnn_model *m = NULL;
    TU_STATUS(clnn__onnx_load_memory(ctx, buf, len, what, &m, NULL), CLNN_ERROR_UNSUPPORTED);
    TU_CHECK(m == NULL && strstr(clnn_last_error(), expect) && strstr(clnn_last_error(), "LSTM"),
             "%s: the error names '%s' and the op: %s", what, expect, clnn_last_error());
    free(buf);
  }
  onnx__model_proto__free_unpacked(mp, NULL);
}

static Onnx__AttributeProto dir_attr, *attrs[4];

static void make_reverse(Onnx__NodeProto *n, Onnx__GraphProto *g) {
  (void)g;
  onnx__attribute_proto__init(&dir_attr);
  dir_attr.name = (char *)"direction";
  dir_attr.has_type = 1;
  dir_attr.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
  dir_attr.has_s = 1;
  dir_attr.s.data = (uint8_t *)"reverse";
  dir_attr.s.len = 7;
  size_t k = 0;
  for (; k < n->n_attribute && k < 3; k++) attrs[k] = n->attribute[k];
  attrs[k++] = &dir_attr;
  n->attribute = attrs;
  n->n_attribute = k;
}

static char *inputs[8];

/* initial_h: the embedding table's name (a constant that is not zeros, of the wrong shape too:
 * the state check comes first) */
static void make_state(Onnx__NodeProto *n, Onnx__GraphProto *g) {
  (void)g;
  for (size_t k = 0; k < n->n_input && k < 8; k++) inputs[k] = n->input[k];
  inputs[5] = (char *)"emb.weight";
  n->input = inputs;
}

static void use_cell(Onnx__NodeProto *n, Onnx__GraphProto *g) {
  static Onnx__ValueInfoProto vi, *outs[4];
  onnx__value_info_proto__init(&vi);
  vi.name = n->output[2];
  size_t k = 0;
  for (; k < g->n_output && k < 3; k++) outs[k] = g->output[k];
  outs[k++] = &vi;
  g->output = outs;
  g->n_output = k;
}

int main(void) {
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 1;
  }
  char cmd[1024];
  const char *src = getenv("CLNN_SOURCE_DIR");
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/onnx/seq_models.py %s >%s/torch.log 2>&1",
           src ? src : ".", tmpdir, tmpdir);
  int rc = system(cmd);
  if (rc != 0) {
    printf("test_onnx_seq: skipped: the PyTorch export failed or python3-torch is missing (rc %d, "
           "see %s/torch.log)\n", rc, tmpdir);
    return 0;
  }
  clnn_context *ctx = tu_context();
  compare(ctx, "emb_ln_lstm13", 3, 2);
  compare(ctx, "emb_ln_lstm17", 3, 2);
  compare(ctx, "lstm_last", 3, 1);
  compare(ctx, "ln_image", 2, 1);
  compare(ctx, "lstm2", 4, 1);
  compare(ctx, "gru_seq", 3, 2);
  compare(ctx, "gru_last", 3, 1);
  train_step(ctx);
  char path[512];
  snprintf(path, sizeof path, "%s/seqlens_full.onnx", tmpdir);
  if (access(path, R_OK) == 0) {
    compare(ctx, "seqlens_full", 3, 2);
    clnn_model *m = NULL;
    snprintf(path, sizeof path, "%s/seqlens_short.onnx", tmpdir);
    TU_STATUS(clnn_model_load_onnx(ctx, path, &m), CLNN_ERROR_UNSUPPORTED);
    TU_CHECK(m == NULL && strstr(clnn_last_error(), "sequence_lens"),
             "shorter sequence_lens are refused by name: %s", clnn_last_error());
    snprintf(path, sizeof path, "%s/gru_lbr0.onnx", tmpdir);
    TU_STATUS(clnn_model_load_onnx(ctx, path, &m), CLNN_ERROR_UNSUPPORTED);
    TU_CHECK(m == NULL && strstr(clnn_last_error(), "linear_before_reset") &&
                 strstr(clnn_last_error(), "GRU"),
             "a GRU with linear_before_reset 0 is refused by name: %s", clnn_last_error());
  } else {
    printf("sequence_lens and linear_before_reset files not made (python3-onnx missing): "
           "skipped\n");
  }
  refusal(ctx, "reverse.onnx", "direction 'reverse'", make_reverse);
  refusal(ctx, "state.onnx", "initial_h", make_state);
  refusal(ctx, "cell.onnx", "Y_c", use_cell);
  clnn_context_destroy(ctx);
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (system(cmd) != 0) printf("could not remove %s\n", tmpdir);
  return tu_finish("test_onnx_seq");
}
