/* tools/clnn_predict.c — clnn-predict MODEL IMAGES [LABELS]: loads any model file that
 * clnn_model_save or clnn_net_save wrote, or an ONNX file (the architecture comes from the file),
 * runs it in evaluation mode on an IDX image file (the MNIST format) and prints one prediction per
 * image (class and confidence, from a softmax of the output), or with an IDX label file the
 * accuracy. Deployment in one command, with no source code of the model. */
#include <clnn.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void) {
  fprintf(stderr,
          "usage: clnn-predict MODEL IMAGES [LABELS] [--batch N] [--quiet]\n"
          "  MODEL   a .safetensors file written by clnn_model_save or clnn_net_save, or an .onnx file\n"
          "  IMAGES  an IDX image file (unsigned bytes [N, H, W], as MNIST's)\n"
          "  LABELS  an IDX label file: print the accuracy instead of every prediction\n"
          "The model's first float input takes the images ([1, H, W] per sample, pixel/255);\n"
          "its first output gives the class scores. The device is CLNN_DEVICE's or the default.\n");
  return 2;
}

static int fail(const char *what) {
  fprintf(stderr, "clnn-predict: %s: %s\n", what, clnn_last_error());
  return 1;
}

int main(int argc, char **argv) {
  const char *paths[3] = {NULL, NULL, NULL};
  int npaths = 0, quiet = 0;
  size_t batch = 256;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
      char *end;
      unsigned long long b = strtoull(argv[++i], &end, 10);
      if (*end || b == 0 || b > 65536) return usage();
      batch = (size_t)b;
    } else if (strcmp(argv[i], "--quiet") == 0) {
      quiet = 1;
    } else if (argv[i][0] == '-' || npaths == 3) {
      return usage();
    } else {
      paths[npaths++] = argv[i];
    }
  }
  if (npaths < 2) return usage();
  clnn_context *ctx = NULL;
  clnn_model *m = NULL;
  clnn_dataset *ds = NULL;
  float *x = NULL, *y = NULL;
  int rc = 1;
  if (clnn_context_create(NULL, &ctx)) return fail("no device");
  size_t plen = strlen(paths[0]);
  int onnx = plen > 5 && strcmp(paths[0] + plen - 5, ".onnx") == 0;
  if (onnx ? clnn_model_load_onnx(ctx, paths[0], &m) : clnn_model_load_file(ctx, paths[0], &m)) {
    rc = fail(paths[0]);
    goto done;
  }
  if (clnn_dataset_load_idx(paths[1], paths[2], &ds)) {
    rc = fail(paths[1]);
    goto done;
  }
  const clnn_graph *g = clnn_model_graph(m);
  int in = -1, out = clnn_graph_output_value(g, 0);
  size_t dims[CLNN_MAX_DIMS], per_in = clnn_dataset_sample_numel(ds), per_out = 1;
  for (int i = 0; i < clnn_graph_num_inputs(g) && in < 0; i++) {
    int v = clnn_graph_input_value(g, i);
    int nd = clnn_graph_value_dims(g, v, dims);
    size_t n = 1;
    for (int k = 0; k < nd; k++) n *= dims[k];
    if (nd > 0 && n == per_in) in = v;
  }
  if (in < 0 || out < 0) {
    fprintf(stderr, "clnn-predict: %s has no input of %zu values per sample or no output\n",
            paths[0], per_in);
    goto done;
  }
  int ond = clnn_graph_value_dims(g, out, dims);
  for (int k = 0; k < ond; k++) per_out *= dims[k];
  size_t n = clnn_dataset_size(ds), classes = ond > 0 ? dims[ond - 1] : 1;
  if (per_out != classes) {
    fprintf(stderr, "clnn-predict: output '%s' is not one row of class scores per sample\n",
            clnn_graph_value_name(g, out));
    goto done;
  }
  x = malloc(batch * per_in * sizeof(float));
  y = malloc(batch * per_out * sizeof(float));
  int32_t *lab = malloc(batch * sizeof(int32_t));
  if (!x || !y || !lab) {
    free(lab);
    fprintf(stderr, "clnn-predict: out of memory\n");
    goto done;
  }
  size_t correct = 0;
  for (size_t first = 0; first < n; first += batch) {
    size_t b = n - first < batch ? n - first : batch;
    clnn_feed f = {in, x, b * per_in, NULL};
    if (clnn_dataset_batch(ds, first, b, x, b * per_in, lab, b) ||
        clnn_model_predict(m, &f, 1, b, out, y, b * per_out)) {
      free(lab);
      rc = fail("predict");
      goto done;
    }
    for (size_t r = 0; r < b; r++) {
      const float *row = y + r * classes;
      size_t best = 0;
      for (size_t c = 1; c < classes; c++)
        if (row[c] > row[best]) best = c;
      double sum = 0.0;
      for (size_t c = 0; c < classes; c++) sum += exp((double)row[c] - (double)row[best]);
      if (paths[2])
        correct += (int32_t)best == lab[r];
      else if (!quiet)
        printf("%zu %zu %.4f\n", first + r, best, classes > 1 ? 1.0 / sum : (double)row[0]);
    }
  }
  free(lab);
  if (paths[2])
    printf("accuracy %.2f%% (%zu of %zu) with %s on %s\n", 100.0 * (double)correct / (double)n,
           correct, n, paths[0], paths[1]);
  rc = 0;
done:
  free(x);
  free(y);
  clnn_dataset_destroy(ds);
  clnn_model_destroy(m);
  clnn_context_destroy(ctx);
  return rc;
}
