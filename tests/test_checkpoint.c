/* tests/test_checkpoint.c — safetensors checkpoints: save -> load gives bit-identical predictions
 * and, with the optimizer state, a bit-identical next training step; the file has the documented
 * layout (8-byte little-endian header size, JSON header padded to 8 bytes, F32 data tiled by
 * data_offsets); hand-written files in other tools' style load; every truncated, corrupted or
 * mismatched file is a clear error that leaves the network exactly as it was; saving replaces the
 * file atomically and leaves no temporary behind; impossible metadata (a step count of 2^64-1, a
 * key given twice) is refused, and a huge trailing tail is refused from the sizes alone. */
#define _POSIX_C_SOURCE 200809L
#include "test_util.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double tu_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static clnn_context *ctx;
static char dir[1024];

#define EXPECT_ERR(call, want, needle)                                                            \
  do {                                                                                           \
    clnn_status s_ = (call);                                                                     \
    TU_CHECK(s_ == (want), "%s: got %s, want %s (%s)", #call, clnn_status_string(s_),            \
             clnn_status_string(want), clnn_last_error());                                       \
    TU_CHECK(strstr(clnn_last_error(), (needle)) != NULL, "%s: message '%s' lacks '%s'", #call,  \
             clnn_last_error(), (needle));                                                       \
  } while (0)

static void path_of(char *buf, size_t size, const char *name) {
  snprintf(buf, size, "%s/test_checkpoint_%s", dir, name);
}

static clnn_net *make_net(uint64_t seed, int dense_units, int with_bn, clnn_optimizer_type opt) {
  size_t in[3] = {1, 8, 8};
  clnn_net *net = NULL;
  TU_OK(clnn_net_create(ctx, 3, in, seed, &net));
  TU_OK(clnn_net_add_conv2d(net, 8, 3, 1, 1));
  TU_OK(clnn_net_add_activation(net, CLNN_ACT_RELU, 0));
  TU_OK(clnn_net_add_maxpool2d(net, 2, 2, 0));
  TU_OK(clnn_net_add_dropout(net, 0.25f));
  TU_OK(clnn_net_add_flatten(net));
  TU_OK(clnn_net_add_dense(net, dense_units));
  if (with_bn) TU_OK(clnn_net_add_batchnorm(net, 0, 0));
  TU_OK(clnn_net_add_activation(net, CLNN_ACT_RELU, 0));
  TU_OK(clnn_net_add_dense(net, 10));
  clnn_optimizer_config c;
  clnn_optimizer_config_init(&c, opt, 1e-3f);
  if (opt == CLNN_OPTIM_SGD) c.momentum = 0.9f;
  TU_OK(clnn_net_set_optimizer(net, &c));
  return net;
}

static float X[64 * 64];
static int32_t Y[64];

static float *predict(clnn_net *net) {
  float *y = malloc(64 * 10 * sizeof(float));
  TU_OK(clnn_net_predict(net, X, 64 * 64, 64, y, 640));
  return y;
}

/* Every named tensor, concatenated (to compare whole networks). */
static float *all_params(clnn_net *net, size_t *count) {
  size_t total = 0, n = clnn_net_num_params(net);
  for (size_t i = 0; i < n; i++) {
    clnn_tensor *t;
    TU_OK(clnn_net_param(net, clnn_net_param_name(net, i), &t, NULL));
    total += clnn_tensor_numel(t);
  }
  float *v = malloc(total * sizeof(float));
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    clnn_tensor *t;
    TU_OK(clnn_net_param(net, clnn_net_param_name(net, i), &t, NULL));
    TU_OK(clnn_tensor_read(t, v + k, clnn_tensor_numel(t)));
    k += clnn_tensor_numel(t);
  }
  *count = total;
  return v;
}

static int no_temp_files(void) {
  DIR *d = opendir(dir);
  if (!d) return 1;
  struct dirent *e;
  int ok = 1;
  while ((e = readdir(d)))
    if (strstr(e->d_name, "test_checkpoint_") && strstr(e->d_name, ".tmp.")) ok = 0;
  closedir(d);
  return ok;
}

static void test_roundtrip(void) {
  char p[1200];
  path_of(p, sizeof p, "a.safetensors");
  clnn_net *a = make_net(1, 32, 1, CLNN_OPTIM_ADAM);
  for (int s = 0; s < 5; s++) TU_OK(clnn_net_train_step(a, X, 64 * 64, 64, Y, 64, NULL, 0, NULL));
  TU_OK(clnn_net_save(a, p, CLNN_SAVE_OPTIMIZER));
  TU_CHECK(no_temp_files(), "no temporary file left after saving");
  float *ya = predict(a);

  /* another seed, loaded: bit-identical predictions and parameters */
  clnn_net *b = make_net(99, 32, 1, CLNN_OPTIM_ADAM);
  float *yb0 = predict(b);
  TU_CHECK(memcmp(ya, yb0, 640 * sizeof(float)) != 0, "different seeds differ before loading");
  TU_OK(clnn_net_load(b, p));
  float *yb = predict(b);
  TU_CHECK(memcmp(ya, yb, 640 * sizeof(float)) == 0, "save -> load: bit-identical predictions");
  size_t na, nb;
  float *pa = all_params(a, &na), *pb = all_params(b, &nb);
  TU_CHECK(na == nb && memcmp(pa, pb, na * sizeof(float)) == 0, "identical parameters and state");
  TU_CHECK(clnn_net_step_count(b) == 5, "step count restored: %llu",
           (unsigned long long)clnn_net_step_count(b));
  free(pa);
  free(pb);
  /* the next training step (Adam moments, step count, dropout stream) is bit-identical too */
  TU_OK(clnn_net_train_step(a, X, 64 * 64, 64, Y, 64, NULL, 0, NULL));
  TU_OK(clnn_net_train_step(b, X, 64 * 64, 64, Y, 64, NULL, 0, NULL));
  pa = all_params(a, &na);
  pb = all_params(b, &nb);
  TU_CHECK(memcmp(pa, pb, na * sizeof(float)) == 0, "resumed training step is bit-identical");
  free(pa);
  free(pb);
  free(yb0);
  free(yb);
  free(ya);

  /* without the optimizer state: parameters load, the optimizer restarts */
  char q[1200];
  path_of(q, sizeof q, "noopt.safetensors");
  TU_OK(clnn_net_save(a, q, 0));
  clnn_net *c = make_net(7, 32, 1, CLNN_OPTIM_SGD);
  TU_OK(clnn_net_train_step(c, X, 64 * 64, 64, Y, 64, NULL, 0, NULL));
  TU_OK(clnn_net_load(c, q));
  TU_CHECK(clnn_net_step_count(c) == 0, "optimizer restarted after a parameters-only load");
  ya = predict(a);
  float *yc = predict(c);
  TU_CHECK(memcmp(ya, yc, 640 * sizeof(float)) == 0, "parameters-only load: same predictions");
  free(ya);
  free(yc);
  /* Adam state into an SGD network is refused */
  float *before = predict(c);
  EXPECT_ERR(clnn_net_load(c, p), CLNN_ERROR_FORMAT, "adam optimizer state");
  float *after = predict(c);
  TU_CHECK(memcmp(before, after, 640 * sizeof(float)) == 0, "refused file changed nothing");
  free(before);
  free(after);
  /* saving over an existing file replaces it */
  TU_OK(clnn_net_save(c, p, CLNN_SAVE_OPTIMIZER));
  clnn_net *d = make_net(8, 32, 1, CLNN_OPTIM_SGD);
  TU_OK(clnn_net_load(d, p));
  before = predict(c);
  after = predict(d);
  TU_CHECK(memcmp(before, after, 640 * sizeof(float)) == 0, "overwritten checkpoint loads");
  free(before);
  free(after);
  remove(q);
  clnn_net_destroy(a);
  clnn_net_destroy(b);
  clnn_net_destroy(c);
  clnn_net_destroy(d);
}

static uint64_t le64(const unsigned char *b) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | b[i];
  return v;
}

static void test_layout(void) {
  char p[1200];
  path_of(p, sizeof p, "layout.safetensors");
  clnn_net *a = make_net(3, 32, 1, CLNN_OPTIM_ADAM);
  TU_OK(clnn_net_save(a, p, 0));
  size_t n;
  unsigned char *b = tu_read_file(p, &n);
  uint64_t h = le64(b);
  TU_CHECK(h % 8 == 0 && 8 + h <= n, "header size %llu", (unsigned long long)h);
  char *hdr = malloc(h + 1);
  memcpy(hdr, b + 8, h);
  hdr[h] = 0;
  TU_CHECK(hdr[0] == '{', "JSON object");
  TU_CHECK(strstr(hdr, "\"conv1.weight\":{\"dtype\":\"F32\",\"shape\":[8,1,3,3],\"data_offsets\":[0,288]}") != NULL,
           "conv1.weight entry: %s", hdr);
  TU_CHECK(strstr(hdr, "\"bn1.running_var\"") && strstr(hdr, "\"__metadata__\""), "state, metadata");
  TU_CHECK(strstr(hdr, "optimizer") == NULL, "no optimizer state unless asked");
  size_t params = clnn_net_num_trainable(a) + 2 * 32; /* + running mean and var */
  TU_CHECK(n == 8 + h + 4 * params, "file size %zu = 8 + %llu + 4 * %zu", n,
           (unsigned long long)h, params);
  /* the data is the tensors' raw little-endian floats */
  clnn_tensor *w;
  TU_OK(clnn_net_param(a, "conv1.weight", &w, NULL));
  float *wv = tu_read(w);
  TU_CHECK(memcmp(b + 8 + h, wv, 288) == 0, "conv1.weight bytes");
  free(wv);
  free(hdr);
  free(b);
  remove(p);
  clnn_net_destroy(a);
}

/* A tiny network (dense 2 -> 1: weight [1, 2], bias [1]) and hand-written files for it. */
static void write_st(const char *p, const char *header, const float *data, size_t nfloats,
                     size_t cut) {
  size_t h = strlen(header);
  size_t n = 8 + h + nfloats * 4;
  unsigned char *b = malloc(n);
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)h >> (8 * i));
  memcpy(b + 8, header, h);
  memcpy(b + 8 + h, data, nfloats * 4);
  tu_write_file(p, b, n - cut);
  free(b);
}

static void test_foreign_and_bad_files(void) {
  size_t in = 2;
  clnn_net *net = NULL;
  TU_OK(clnn_net_create(ctx, 1, &in, 5, &net));
  TU_OK(clnn_net_add_dense(net, 1));
  TU_OK(clnn_net_set_loss(net, CLNN_LOSS_MSE));
  float x[2] = {1.0f, 2.0f}, y;
  char p[1200];
  path_of(p, sizeof p, "hand.safetensors");
  const float data[3] = {0.5f, -1.0f, 0.25f}; /* bias, then weight: any order works */
  /* another tool's style: other key order, whitespace, escapes, extra metadata and fields */
  write_st(p,
           "{ \"__metadata__\" : {\"format\": \"pt\", \"note\": \"x\\u00e9\\n\"},\n"
           "  \"dense1.bias\": {\"shape\": [1], \"data_offsets\": [0, 4], \"dtype\": \"F32\"},\n"
           "  \"dense1\\u002eweight\": {\"dtype\": \"F32\", \"shape\": [1, 2], \"data_offsets\": [4, 12],"
           " \"extra\": [1, {\"a\": null}, true, -2.5e3]}   }   ",
           data, 3, 0);
  TU_OK(clnn_net_load(net, p));
  TU_OK(clnn_net_predict(net, x, 2, 1, &y, 1));
  clnn_tensor *w, *bi;
  TU_OK(clnn_net_param(net, "dense1.weight", &w, NULL));
  TU_OK(clnn_net_param(net, "dense1.bias", &bi, NULL));
  float wv[2], bv;
  TU_OK(clnn_tensor_read(w, wv, 2));
  TU_OK(clnn_tensor_read(bi, &bv, 1));
  TU_CHECK(bv == 0.5f && wv[0] == -1.0f && wv[1] == 0.25f, "offsets honoured: w %g %g b %g", wv[0],
           wv[1], bv);
  TU_CHECK(y == -1.0f * 1.0f + 0.25f * 2.0f + 0.5f, "hand-written weights: y = %g", y);

  struct {
    const char *name, *header;
    size_t nfloats, cut;
    const char *needle;
  } bad[] = {
      {"empty", "", 0, 8, "truncated"},
      {"short_size", "", 0, 4, "truncated"},
      {"header_cut", "{\"dense1.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},"
                     "\"dense1.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
       3, 20, "truncated"},
      {"data_cut", "{\"dense1.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},"
                   "\"dense1.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
       3, 1, "truncated"},
      {"not_object", "[1, 2, 3]", 0, 0, "not a JSON object"},
      {"unterminated", "{\"dense1.weight\":{\"dtype\":\"F32", 0, 0, "malformed"},
      {"garbage_after", "{} x", 0, 0, "trailing"},
      {"bad_number", "{\"dense1.weight\":{\"dtype\":\"F32\",\"shape\":[1,-2],\"data_offsets\":[0,8]}}",
       2, 0, "integer"},
      {"huge_number", "{\"dense1.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,"
                      "99999999999999999999999]}}", 2, 0, "data_offsets"},
      {"no_dtype", "{\"dense1.weight\":{\"shape\":[1,2],\"data_offsets\":[0,8]}}", 2, 0, "dtype"},
      {"f16", "{\"dense1.weight\":{\"dtype\":\"F16\",\"shape\":[1,2],\"data_offsets\":[0,8]},"
              "\"dense1.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
       3, 0, "F16"},
      {"shape", "{\"dense1.weight\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8]},"
                "\"dense1.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
       3, 0, "[2, 1]"},
      {"unknown", "{\"dense1.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},"
                  "\"dense1.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]},"
                  "\"dense9.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}",
       4, 0, "'dense9.bias'"},
      {"missing", "{\"dense1.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]}}",
       2, 0, "no tensor 'dense1.bias'"},
      {"duplicate", "{\"dense1.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},"
                    "\"dense1.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[8,16]}}",
       4, 0, "twice"},
      {"wrong_size", "{\"dense1.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,4]},"
                     "\"dense1.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
       2, 0, "data_offsets"},
      {"overlap", "{\"dense1.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},"
                  "\"dense1.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
       3, 0, "overlap"},
      {"trailing_data", "{\"dense1.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},"
                        "\"dense1.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
       4, 0, "follow"},
      {"bad_opt", "{\"__metadata__\":{\"optimizer\":\"lbfgs\"},"
                  "\"dense1.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},"
                  "\"dense1.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
       3, 0, "lbfgs"},
      {"bad_step", "{\"__metadata__\":{\"optimizer\":\"adam\",\"step\":\"ten\"}}", 0, 0, "step"},
      {"bad_escape", "{\"dense1.w\\qeight\":{}}", 0, 0, "escape"},
      {"deep", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":"
               "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
               "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}",
       1, 0, "deep"},
  };
  float junk[4] = {9, 9, 9, 9};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char q[1200];
    char nm[64];
    snprintf(nm, sizeof nm, "bad_%s.safetensors", bad[i].name);
    path_of(q, sizeof q, nm);
    write_st(q, bad[i].header, junk, bad[i].nfloats, bad[i].cut);
    EXPECT_ERR(clnn_net_load(net, q), CLNN_ERROR_FORMAT, bad[i].needle);
    printf("  %-14s -> %s\n", bad[i].name, clnn_last_error());
    float y2;
    TU_OK(clnn_net_predict(net, x, 2, 1, &y2, 1));
    TU_CHECK(y2 == y, "%s: the network changed (%g -> %g)", bad[i].name, y, y2);
    remove(q);
  }
  /* a header size beyond the file */
  unsigned char big[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}'};
  char q[1200];
  path_of(q, sizeof q, "bad_hsize.safetensors");
  tu_write_file(q, big, 16);
  EXPECT_ERR(clnn_net_load(net, q), CLNN_ERROR_FORMAT, "exceeds");
  remove(q);
  path_of(q, sizeof q, "does_not_exist.safetensors");
  EXPECT_ERR(clnn_net_load(net, q), CLNN_ERROR_IO, "cannot open");
  EXPECT_ERR(clnn_net_save(net, "/nonexistent-dir/x.safetensors", 0), CLNN_ERROR_IO, "cannot create");
  EXPECT_ERR(clnn_net_save(net, p, 4), CLNN_ERROR_INVALID_ARGUMENT, "flags");
  EXPECT_ERR(clnn_net_save(net, NULL, 0), CLNN_ERROR_INVALID_ARGUMENT, "path");
  EXPECT_ERR(clnn_net_load(net, NULL), CLNN_ERROR_INVALID_ARGUMENT, "path");
  TU_CHECK(no_temp_files(), "no temporary files left");
  remove(p);
  clnn_net_destroy(net);
}

/* Byte-level corruption of a real checkpoint: every truncation point and some flipped bytes. */
static void test_truncations(void) {
  char p[1200], q[1200];
  path_of(p, sizeof p, "full.safetensors");
  path_of(q, sizeof q, "cut.safetensors");
  clnn_net *a = make_net(4, 16, 0, CLNN_OPTIM_ADAM);
  TU_OK(clnn_net_train_step(a, X, 64 * 64, 64, Y, 64, NULL, 0, NULL));
  TU_OK(clnn_net_save(a, p, CLNN_SAVE_OPTIMIZER));
  clnn_net *b = make_net(5, 16, 0, CLNN_OPTIM_ADAM);
  float *y0 = predict(b);
  size_t n;
  unsigned char *full = tu_read_file(p, &n);
  size_t h = (size_t)le64(full);
  size_t cuts[] = {0, 1, 7, 8, 9, h / 2, h + 7, h + 8, h + 9, h + 8 + 100, n - 4, n - 1};
  int all_refused = 1;
  for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
    tu_write_file(q, full, cuts[i]);
    clnn_status s = clnn_net_load(b, q);
    if (s != CLNN_ERROR_FORMAT) {
      all_refused = 0;
      printf("FAIL: file cut to %zu of %zu bytes: %s (%s)\n", cuts[i], n, clnn_status_string(s),
             clnn_last_error());
    }
  }
  TU_CHECK(all_refused, "every truncated file is CLNN_ERROR_FORMAT");
  /* a file with one extra byte */
  unsigned char *longer = malloc(n + 1);
  memcpy(longer, full, n);
  longer[n] = 0;
  tu_write_file(q, longer, n + 1);
  EXPECT_ERR(clnn_net_load(b, q), CLNN_ERROR_FORMAT, "follow");
  free(longer);
  /* flipped bytes in the header: refused, or (if the JSON still parses to the same meaning)
   * loaded; never a crash. Flipping a name byte must be refused. */
  const char *nm = strstr((const char *)full + 8, "conv1.weight");
  if (nm) {
    full[nm - (const char *)full] = 'k';
    tu_write_file(q, full, n);
    EXPECT_ERR(clnn_net_load(b, q), CLNN_ERROR_FORMAT, "konv1.weight");
    full[nm - (const char *)full] = 'c';
  }
  for (size_t i = 8; i < 8 + h; i += 3) {
    unsigned char o = full[i];
    full[i] = (unsigned char)(o ^ 0x5A);
    tu_write_file(q, full, n);
    (void)clnn_net_load(b, q); /* must not crash; may succeed only for harmless bytes */
    full[i] = o;
  }
  /* after all that, restore a known state: predictions of b are either its own or a's */
  TU_OK(clnn_net_load(b, p));
  float *ya = predict(a), *yb = predict(b);
  TU_CHECK(memcmp(ya, yb, 640 * sizeof(float)) == 0, "the intact file still loads");
  (void)y0;
  free(y0);
  free(ya);
  free(yb);
  /* a different architecture: shapes and names disagree */
  clnn_net *c = make_net(6, 24, 0, CLNN_OPTIM_ADAM);
  float *yc0 = predict(c);
  EXPECT_ERR(clnn_net_load(c, p), CLNN_ERROR_FORMAT, "dense1.");
  float *yc1 = predict(c);
  TU_CHECK(memcmp(yc0, yc1, 640 * sizeof(float)) == 0, "mismatched architecture: unchanged");
  free(yc0);
  free(yc1);
  clnn_net *d = make_net(6, 16, 1, CLNN_OPTIM_ADAM);
  EXPECT_ERR(clnn_net_load(d, p), CLNN_ERROR_FORMAT, "bn1");
  free(full);
  remove(p);
  remove(q);
  clnn_net_destroy(a);
  clnn_net_destroy(b);
  clnn_net_destroy(c);
  clnn_net_destroy(d);
}

/* Metadata no training can produce is refused at load (a step of 2^64-1 used to load and
 * make every later Adam step fail); a small valid header followed by a huge sparse tail is refused
 * from the sizes alone, without reading it (it used to be read whole: 10 GiB of memory). */
static void test_impossible_files(void) {
  clnn_net *net = make_net(3, 16, 1, CLNN_OPTIM_ADAM);
  TU_OK(clnn_net_train_step(net, X, 8 * 64, 8, Y, 8, NULL, 0, NULL));
  char good[1200], bad[1200];
  path_of(good, sizeof good, "test_checkpoint_meta.safetensors");
  path_of(bad, sizeof bad, "test_checkpoint_meta_bad.safetensors");
  TU_OK(clnn_net_save(net, good, CLNN_SAVE_OPTIMIZER));
  const char *cases[][2] = {
      {"\"step\":\"1\"", "\"step\":\"18446744073709551615\""},
      {"\"step\":\"1\"", "\"step\":\"9007199254740993\""},
      {"\"train_forwards\":\"1\"", "\"train_forwards\":\"18446744073709551615\""},
      {"\"step\":\"1\"", "\"step\":\"1\",\"step\":\"2\""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    TU_CHECK(tu_patch_header(good, bad, cases[i][0], cases[i][1]), "patch %s", cases[i][1]);
    clnn_net *fresh = make_net(4, 16, 1, CLNN_OPTIM_ADAM);
    TU_STATUS(clnn_net_load(fresh, bad), CLNN_ERROR_FORMAT);
    TU_CHECK(clnn_net_step_count(fresh) == 0, "%s: the step count is unchanged", cases[i][1]);
    TU_OK(clnn_net_train_step(fresh, X, 8 * 64, 8, Y, 8, NULL, 0, NULL)); /* and it still trains */
    clnn_net_destroy(fresh);
  }
  /* the largest possible step count still loads and trains */
  TU_CHECK(tu_patch_header(good, bad, "\"step\":\"1\"", "\"step\":\"9007199254740992\""), "patch 2^53");
  clnn_net *big = make_net(4, 16, 1, CLNN_OPTIM_ADAM);
  TU_OK(clnn_net_load(big, bad));
  TU_CHECK(clnn_net_step_count(big) == ((uint64_t)1 << 53), "step 2^53 loads");
  TU_OK(clnn_net_train_step(big, X, 8 * 64, 8, Y, 8, NULL, 0, NULL));
  clnn_net_destroy(big);

  /* 10 GiB of (sparse) trailing data after a valid checkpoint */
  size_t n = 0;
  unsigned char *b = tu_read_file(good, &n);
  tu_write_file(bad, b, n);
  free(b);
  TU_CHECK(truncate(bad, (off_t)10 << 30) == 0, "extend %s to 10 GiB (sparse)", bad);
  struct rusage ru0, ru1;
  getrusage(RUSAGE_SELF, &ru0);
  double t0 = tu_now();
  clnn_net *victim = make_net(4, 16, 1, CLNN_OPTIM_ADAM);
  TU_STATUS(clnn_net_load(victim, bad), CLNN_ERROR_FORMAT);
  double dt = tu_now() - t0;
  getrusage(RUSAGE_SELF, &ru1);
  long grew_kb = ru1.ru_maxrss - ru0.ru_maxrss;
  printf("10 GiB trailing data: refused in %.3f s, peak memory grew %ld kB (%s)\n", dt, grew_kb,
         clnn_last_error());
  TU_CHECK(dt < 5.0 && grew_kb < 200 * 1024, "refused from the sizes (%.2f s, %ld kB)", dt, grew_kb);
  TU_CHECK(clnn_net_step_count(victim) == 0, "nothing loaded");
  clnn_net_destroy(victim);
  remove(bad);
  remove(good);
  clnn_net_destroy(net);
}

int main(void) {
  ctx = tu_context();
  const char *tree = getenv("CLNN_BINARY_TREE");
  snprintf(dir, sizeof dir, "%s", tree ? tree : ".");
  tu_seed(17);
  tu_fill_uniform(X, 64 * 64, 0, 1);
  for (int i = 0; i < 64; i++) Y[i] = i % 10;
  test_roundtrip();
  test_layout();
  test_foreign_and_bad_files();
  test_truncations();
  test_impossible_files();
  clnn_context_destroy(ctx);
  return tu_finish("test_checkpoint");
}
