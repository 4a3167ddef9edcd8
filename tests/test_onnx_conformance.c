/* tests/test_onnx_conformance.c — ONNX's own backend tests (Debian's libonnx-testdata:
 * data/node, pytorch-converted, pytorch-operator, simple; each test a model.onnx and
 * test_data_set_N/input_k.pb, output_k.pb) run through clnn_model_load_onnx and
 * clnn_model_predict. A model that does not import is skipped, with the reason counted (the op or
 * attribute clnn lacks); a model that imports must give every expected output within
 * 1e-4 + 1e-3 |expected| (float32 rounding of these small tests), else the test fails. Prints
 * "passed, failed, skipped" and the skip reasons. CLNN_ONNX_TESTDATA overrides the data
 * directory; without it the test is skipped (exit 0). CLNN_ONNX_CONFORMANCE_VERBOSE=1 lists every
 * test. */
#include "nn/onnx.h"
#include "test_util.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_REASONS 256

static struct {
  char key[160];
  int count;
  char example[64];
} reasons[MAX_REASONS];
static int nreasons, passed, failed, skipped;
static int verbose;

static void note_skip(const char *test, const char *msg) {
  /* the key: "op type 'X'" for unknown ops, else the node's op type and the first words */
  char key[160];
  const char *p = strstr(msg, "op type '");
  if (p) {
    snprintf(key, sizeof key, "%.*s", (int)(strchr(p + 9, '\'') ? strchr(p + 9, '\'') - p + 1 : 20), p);
  } else if ((p = strstr(msg, "): ")) && (strstr(msg, "node "))) {
    const char *open = p;
    while (open > msg && *open != '(') open--;
    snprintf(key, sizeof key, "%.*s: %.110s", (int)(p - open + 1), open, p + 3);
  } else {
    p = strstr(msg, "': ");
    snprintf(key, sizeof key, "%.120s", p ? p + 3 : msg);
  }
  char *e = strpbrk(key, "0123456789");
  (void)e;
  for (int i = 0; i < nreasons; i++)
    if (!strcmp(reasons[i].key, key)) {
      reasons[i].count++;
      return;
    }
  if (nreasons < MAX_REASONS) {
    snprintf(reasons[nreasons].key, sizeof reasons[0].key, "%s", key);
    snprintf(reasons[nreasons].example, sizeof reasons[0].example, "%s", test);
    reasons[nreasons++].count = 1;
  }
}

/* An integer TensorProto (int64 or int32: ids) as int32 values (malloc'd; NULL if not one). */
static int32_t *read_pb_ids(const char *path, int *ndim, int64_t *dims, size_t *numel) {
  size_t size;
  unsigned char *b = tu_read_file(path, &size);
  Onnx__TensorProto *t = b ? onnx__tensor_proto__unpack(NULL, size, b) : NULL;
  free(b);
  if (!t) return NULL;
  int64_t n = 1;
  for (size_t k = 0; k < t->n_dims && k < CLNN__OX_MAX_RANK; k++) dims[k] = t->dims[k], n *= t->dims[k];
  *ndim = (int)t->n_dims;
  int is64 = t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
  int32_t *v = NULL;
  if ((is64 || t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT32) && t->n_dims <= CLNN__OX_MAX_RANK &&
      n >= 0 && (v = malloc((size_t)n * sizeof(int32_t) + 1))) {
    for (int64_t k = 0; k < n; k++) {
      int64_t x = 0;
      if (t->has_raw_data && t->raw_data.len == (size_t)n * (is64 ? 8 : 4))
        memcpy(is64 ? (void *)&x : (void *)&v[k], t->raw_data.data + k * (is64 ? 8 : 4), is64 ? 8 : 4);
      else if (is64 && (size_t)n == t->n_int64_data)
        x = t->int64_data[k];
      else if (!is64 && (size_t)n == t->n_int32_data)
        v[k] = t->int32_data[k];
      else {
        free(v);
        v = NULL;
        break;
      }
      if (is64) v[k] = (int32_t)x;
    }
  }
  *numel = (size_t)n;
  onnx__tensor_proto__free_unpacked(t, NULL);
  return v;
}

static float *read_pb(const char *path, int *ndim, int64_t *dims, size_t *numel) {
  size_t size;
  unsigned char *b = tu_read_file(path, &size);
  if (!b) return NULL;
  float *data = NULL;
  clnn_status st = clnn__onnx_read_tensor(b, size, ndim, dims, &data, numel);
  free(b);
  return st == CLNN_SUCCESS ? data : NULL;
}

static int frozen;

/* The model with graph inputs 1.. turned into initializers holding test_data_set_0's values (the
 * node tests pass weights as inputs; clnn takes weights as parameters). */
static clnn_status load_frozen(clnn_context *ctx, const char *dir, clnn_model **m) {
  char path[4096];
  snprintf(path, sizeof path, "%s/model.onnx", dir);
  size_t size;
  unsigned char *b = tu_read_file(path, &size);
  Onnx__ModelProto *mp = b ? onnx__model_proto__unpack(NULL, size, b) : NULL;
  free(b);
  if (!mp || !mp->graph || mp->graph->n_input < 2) {
    if (mp) onnx__model_proto__free_unpacked(mp, NULL);
    return CLNN_ERROR_UNSUPPORTED;
  }
  Onnx__GraphProto *g = mp->graph;
  size_t nin = g->n_input, ninit = g->n_initializer;
  Onnx__TensorProto **inits = malloc((ninit + nin) * sizeof(*inits)), **old = g->initializer;
  Onnx__TensorProto **mine = calloc(nin, sizeof(*mine));
  char **own_name = calloc(nin, sizeof(*own_name)); /* each tensor's name, put back to be freed */
  for (size_t k = 0; k < ninit; k++) inits[k] = old[k];
  int ok = 1;
  for (size_t k = 1; k < nin && ok; k++) {
    snprintf(path, sizeof path, "%s/test_data_set_0/input_%zu.pb", dir, k);
    b = tu_read_file(path, &size);
    mine[k] = b ? onnx__tensor_proto__unpack(NULL, size, b) : NULL;
    free(b);
    if (!mine[k]) ok = 0;
    else {
      own_name[k] = mine[k]->name;
      mine[k]->name = g->input[k]->name;
      inits[ninit + k - 1] = mine[k];
    }
  }
  clnn_status st = CLNN_ERROR_UNSUPPORTED;
  if (ok) {
    g->initializer = inits;
    g->n_initializer = ninit + nin - 1;
    g->n_input = 1;
    size_t len = onnx__model_proto__get_packed_size(mp);
    unsigned char *buf = malloc(len);
    onnx__model_proto__pack(mp, buf);
    st = clnn__onnx_load_memory(ctx, buf, len, dir, m, NULL);
    free(buf);
    g->initializer = old;
    g->n_initializer = ninit;
    g->n_input = nin;
  }
  for (size_t k = 1; k < nin; k++)
    if (mine[k]) {
      mine[k]->name = own_name[k];
      onnx__tensor_proto__free_unpacked(mine[k], NULL);
    }
  free(mine);
  free(own_name);
  free(inits);
  onnx__model_proto__free_unpacked(mp, NULL);
  return st;
}

/* 1 passed, 0 failed, -1 skipped */
static int run_test(clnn_context *ctx, const char *dir, const char *name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/model.onnx", dir);
  clnn_model *m = NULL;
  clnn_status st = clnn_model_load_onnx(ctx, path, &m);
  if (st != CLNN_SUCCESS) { /* retry with inputs 1.. as constants */
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", clnn_last_error());
    st = load_frozen(ctx, dir, &m);
    if (st == CLNN_SUCCESS) frozen++;
    else if (st == CLNN_ERROR_UNSUPPORTED && !strstr(clnn_last_error(), "ONNX file"))
      clnn__error(st, "%s", msg);
  }
  if (st != CLNN_SUCCESS) {
    note_skip(name, clnn_last_error());
    if (verbose) printf("  skip %s: %s\n", name, clnn_last_error());
    return -1;
  }
  const clnn_graph *g = clnn_model_graph(m);
  int nin = clnn_graph_num_inputs(g), nout = clnn_graph_num_outputs(g), ok = 1, ran = 0;
  for (int set = 0; set < 4 && ok; set++) {
    char sd[3072];
    snprintf(sd, sizeof sd, "%s/test_data_set_%d", dir, set);
    struct stat sb;
    if (stat(sd, &sb) != 0) break;
    clnn_feed feeds[16];
    void *inputs[16] = {0};
    size_t batch = 0;
    int bad = nin > 16;
    char bad_why[160] = "test data that clnn cannot feed: more than 16 inputs";
    for (int k = 0; k < nin && !bad; k++) {
      int nd;
      int64_t d[CLNN__OX_MAX_RANK];
      size_t numel;
      snprintf(path, sizeof path, "%s/input_%d.pb", sd, k);
      int v = clnn_graph_input_value(g, k);
      if (g->g.values[v].dtype == CLNN_INT32) /* ids: int64 in the file */
        inputs[k] = read_pb_ids(path, &nd, d, &numel);
      else
        inputs[k] = read_pb(path, &nd, d, &numel);
      if (!inputs[k] || nd < 1) {
        snprintf(bad_why, sizeof bad_why, "test data that clnn cannot feed: input %d is not a "
                 "float (or, for ids, integer) tensor of rank >= 1", k);
        bad = 1;
        break;
      }
      if (k == 0) batch = (size_t)d[0];
      if ((size_t)d[0] != batch) {
        snprintf(bad_why, sizeof bad_why, "test data that clnn cannot feed: inputs of different "
                 "batch sizes (input 0: %zu, input %d: %lld)", batch, k, (long long)d[0]);
        bad = 1;
      }
      feeds[k] = (clnn_feed){clnn_graph_input_value(g, k), inputs[k], numel, NULL};
    }
    for (int k = 0; k < nout && !bad && ok; k++) {
      int nd;
      int64_t d[CLNN__OX_MAX_RANK];
      size_t numel;
      snprintf(path, sizeof path, "%s/output_%d.pb", sd, k);
      float *want = read_pb(path, &nd, d, &numel);
      float *got = want ? malloc(numel * sizeof(float) + 1) : NULL;
      if (!want || !got) {
        snprintf(bad_why, sizeof bad_why, "test data that clnn cannot compare: output %d is not a "
                 "float tensor", k);
        bad = 1;
      } else {
        st = clnn_model_predict(m, feeds, nin, batch, clnn_graph_output_value(g, k), got, numel);
        if (st != CLNN_SUCCESS) {
          printf("  FAIL %s: predict: %s\n", name, clnn_last_error());
          ok = 0;
        } else {
          for (size_t i = 0; i < numel && ok; i++)
            if (!(fabsf(got[i] - want[i]) <= 1e-4f + 1e-3f * fabsf(want[i]))) {
              printf("  FAIL %s: output %d element %zu: %g, expected %g\n", name, k, i,
                     (double)got[i], (double)want[i]);
              ok = 0;
            }
          ran = 1;
        }
      }
      free(want);
      free(got);
    }
    for (int k = 0; k < nin && k < 16; k++) free(inputs[k]);
    if (bad && ok) {
      note_skip(name, bad_why);
      clnn_model_destroy(m);
      return -1;
    }
  }
  clnn_model_destroy(m);
  if (ok && !ran) {
    note_skip(name, "no test data");
    return -1;
  }
  if (verbose && ok) printf("  pass %s\n", name);
  return ok;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void) {
  const char *root = getenv("CLNN_ONNX_TESTDATA");
  if (!root) root = "/usr/share/libonnx-testdata/data";
  verbose = getenv("CLNN_ONNX_CONFORMANCE_VERBOSE") != NULL;
  struct stat sb;
  if (stat(root, &sb) != 0) {
    printf("test_onnx_conformance: skipped: no ONNX test data at %s (Debian: libonnx-testdata)\n",
           root);
    return 0;
  }
  clnn_context *ctx = tu_context();
  static const char *const suites[] = {"node", "pytorch-converted", "pytorch-operator", "simple"};
  for (int s = 0; s < 4; s++) {
    char sdir[1024];
    snprintf(sdir, sizeof sdir, "%s/%s", root, suites[s]);
    DIR *d = opendir(sdir);
    if (!d) continue;
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
      if (e->d_name[0] == '.') continue;
      if (n == cap) names = realloc(names, (cap = cap ? 2 * cap : 256) * sizeof(char *));
      size_t len = strlen(e->d_name);
      names[n] = malloc(len + 1);
      memcpy(names[n++], e->d_name, len + 1);
    }
    closedir(d);
    qsort(names, n, sizeof(char *), cmp_str);
    int p0 = passed, f0 = failed, k0 = skipped;
    for (size_t i = 0; i < n; i++) {
      char dir[2048];
      snprintf(dir, sizeof dir, "%s/%s", sdir, names[i]);
      int r = run_test(ctx, dir, names[i]);
      if (r > 0) passed++;
      else if (r == 0) failed++;
      else skipped++;
      free(names[i]);
    }
    free(names);
    printf("%s: %d passed, %d failed, %d skipped\n", suites[s], passed - p0, failed - f0,
           skipped - k0);
  }
  printf("skip reasons (count, reason, example):\n");
  for (int i = 0; i < nreasons; i++)
    printf("  %4d  %s  (%s)\n", reasons[i].count, reasons[i].key, reasons[i].example);
  printf("ONNX backend tests: %d passed (%d of them with inputs 1.. as initializers), %d failed, "
         "%d skipped\n", passed, frozen, failed, skipped);
  TU_CHECK(failed == 0, "%d ONNX backend tests gave wrong answers", failed);
  TU_CHECK(passed > 0, "no ONNX backend test imported");
  clnn_context_destroy(ctx);
  return tu_finish("test_onnx_conformance");
}
