/* tests/test_data.c — the IDX reader and datasets: the shipped digits files load with the right
 * counts, shape and scaling; every malformed IDX file (bad magic, wrong type or rank, truncated
 * header or data, trailing bytes, zero or overflowing dimensions, image/label count mismatch,
 * missing file) is a clear error that allocates nothing and leaves *out alone; shuffling is a
 * seeded permutation; batches copy the right samples; bad arguments are errors. */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

static char dir[1024];

static void path_of(char *buf, size_t size, const char *name) {
  snprintf(buf, size, "%s/test_data_%s", dir, name);
}

static void write_file(const char *name, const unsigned char *data, size_t n) {
  char p[1200];
  path_of(p, sizeof p, name);
  FILE *f = fopen(p, "wb");
  if (!f) {
    printf("FAIL: cannot create %s\n", p);
    exit(1);
  }
  fwrite(data, 1, n, f);
  fclose(f);
}

static void be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

/* An images file [n, r, c] with pixel i = i % 256, then `extra` more bytes, or cut short. */
static size_t make_images(unsigned char *buf, uint32_t magic, uint32_t n, uint32_t r, uint32_t c,
                          size_t payload) {
  be32(buf, magic);
  be32(buf + 4, n);
  be32(buf + 8, r);
  be32(buf + 12, c);
  for (size_t i = 0; i < payload; i++) buf[16 + i] = (unsigned char)(i % 256);
  return 16 + payload;
}

static size_t make_labels(unsigned char *buf, uint32_t magic, uint32_t n, size_t payload) {
  be32(buf, magic);
  be32(buf + 4, n);
  for (size_t i = 0; i < payload; i++) buf[8 + i] = (unsigned char)(i % 10);
  return 8 + payload;
}

/* Loading `img` + `lab` (file names in dir) fails with `want` and a message containing `needle`. */
static void expect_fail(const char *img, const char *lab, clnn_status want, const char *needle) {
  char a[1200], b[1200];
  path_of(a, sizeof a, img);
  path_of(b, sizeof b, lab);
  clnn_dataset *ds = (clnn_dataset *)(uintptr_t)0x1;
  clnn_status s = clnn_dataset_load_idx(a, b, &ds);
  TU_CHECK(s == want, "%s + %s: got %s, want %s (%s)", img, lab, clnn_status_string(s),
           clnn_status_string(want), clnn_last_error());
  TU_CHECK(ds == (clnn_dataset *)(uintptr_t)0x1, "%s + %s: *out changed on failure", img, lab);
  TU_CHECK(strstr(clnn_last_error(), needle) != NULL, "%s + %s: message '%s' lacks '%s'", img,
           lab, clnn_last_error(), needle);
  printf("  %-22s -> %s: %s\n", img, clnn_status_string(s), clnn_last_error());
}

static void test_digits(void) {
  const char *src = getenv("CLNN_SOURCE_DIR");
  char a[1200], b[1200];
  snprintf(a, sizeof a, "%s/data/digits/train-images-idx3-ubyte", src ? src : "..");
  snprintf(b, sizeof b, "%s/data/digits/train-labels-idx1-ubyte", src ? src : "..");
  clnn_dataset *ds = NULL;
  TU_OK(clnn_dataset_load_idx(a, b, &ds));
  if (!ds) return;
  TU_CHECK(clnn_dataset_size(ds) == 1437, "train size %zu", clnn_dataset_size(ds));
  size_t dims[CLNN_MAX_DIMS];
  int nd = clnn_dataset_sample_dims(ds, dims);
  TU_CHECK(nd == 3 && dims[0] == 1 && dims[1] == 8 && dims[2] == 8, "sample dims");
  TU_CHECK(clnn_dataset_sample_numel(ds) == 64, "numel");
  TU_CHECK(clnn_dataset_num_classes(ds) == 10, "classes %d", clnn_dataset_num_classes(ds));
  const float *x = clnn_dataset_data(ds);
  const int32_t *y = clnn_dataset_labels(ds);
  /* first image begins 00 00 50 d0 90 10 (see the file's bytes 16..) */
  TU_CHECK(x[0] == 0.0f && x[2] == 0x50 / 255.0f && x[3] == 0xd0 / 255.0f, "pixel scaling");
  float lo = 1, hi = 0;
  int counts[10] = {0};
  for (size_t i = 0; i < 1437 * 64; i++) {
    if (x[i] < lo) lo = x[i];
    if (x[i] > hi) hi = x[i];
  }
  for (size_t i = 0; i < 1437; i++)
    if (y[i] >= 0 && y[i] < 10) counts[y[i]]++;
  TU_CHECK(lo == 0.0f && hi <= 1.0f && hi > 0.9f, "range [%g, %g]", lo, hi);
  for (int c = 0; c < 10; c++) TU_CHECK(counts[c] > 100, "class %d has %d samples", c, counts[c]);

  /* shuffle: a permutation, reproducible, seed-dependent */
  float *b1 = malloc(1437 * 64 * sizeof(float)), *b2 = malloc(1437 * 64 * sizeof(float));
  int32_t *l1 = malloc(1437 * sizeof(int32_t)), *l2 = malloc(1437 * sizeof(int32_t));
  TU_OK(clnn_dataset_shuffle(ds, 7));
  TU_OK(clnn_dataset_batch(ds, 0, 1437, b1, 1437 * clnn_dataset_sample_numel(ds), l1, 1437));
  TU_OK(clnn_dataset_shuffle(ds, 7));
  TU_OK(clnn_dataset_batch(ds, 0, 1437, b2, 1437 * clnn_dataset_sample_numel(ds), l2, 1437));
  TU_CHECK(memcmp(b1, b2, 1437 * 64 * sizeof(float)) == 0 && memcmp(l1, l2, 1437 * 4) == 0,
           "same seed, same order");
  int c2[10] = {0};
  for (size_t i = 0; i < 1437; i++)
    if (l1[i] >= 0 && l1[i] < 10) c2[l1[i]]++;
  TU_CHECK(memcmp(counts, c2, sizeof counts) == 0, "shuffled labels are a permutation");
  TU_CHECK(memcmp(b1, x, 1437 * 64 * sizeof(float)) != 0, "shuffle changed the order");
  TU_OK(clnn_dataset_shuffle(ds, 8));
  TU_OK(clnn_dataset_batch(ds, 0, 1437, b2, 1437 * clnn_dataset_sample_numel(ds), l2, 1437));
  TU_CHECK(memcmp(l1, l2, 1437 * 4) != 0, "another seed, another order");
  /* a batch in the middle matches the full copy */
  TU_OK(clnn_dataset_batch(ds, 100, 32, b1, 32 * clnn_dataset_sample_numel(ds), l1, 32));
  TU_CHECK(memcmp(b1, b2 + 100 * 64, 32 * 64 * sizeof(float)) == 0 &&
               memcmp(l1, l2 + 100, 32 * 4) == 0,
           "batch 100..131");
  TU_OK(clnn_dataset_batch(ds, 1436, 1, b1, clnn_dataset_sample_numel(ds), NULL, 0));
  TU_STATUS(clnn_dataset_batch(ds, 1430, 8, b1, 8 * clnn_dataset_sample_numel(ds), l1, 8), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_dataset_batch(ds, 0, 0, b1, 0 * clnn_dataset_sample_numel(ds), l1, 0), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_dataset_batch(ds, 0, 1, NULL, 0, l1, 1), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_dataset_batch(NULL, 0, 1, b1, clnn_dataset_sample_numel(NULL), l1, 1), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_dataset_shuffle(NULL, 1), CLNN_ERROR_INVALID_ARGUMENT);
  free(b1);
  free(b2);
  free(l1);
  free(l2);
  clnn_dataset_destroy(ds);

  snprintf(a, sizeof a, "%s/data/digits/test-images-idx3-ubyte", src ? src : "..");
  snprintf(b, sizeof b, "%s/data/digits/test-labels-idx1-ubyte", src ? src : "..");
  TU_OK(clnn_dataset_load_idx(a, b, &ds));
  TU_CHECK(clnn_dataset_size(ds) == 360, "test size %zu", clnn_dataset_size(ds));
  clnn_dataset_destroy(ds);
}

static void test_bad_files(void) {
  static unsigned char buf[1 << 16];
  size_t n;
  /* good pair: 3 images of 4x5, 3 labels */
  n = make_images(buf, 0x803, 3, 4, 5, 60);
  write_file("img_ok", buf, n);
  n = make_labels(buf, 0x801, 3, 3);
  write_file("lab_ok", buf, n);
  {
    char a[1200], b[1200];
    path_of(a, sizeof a, "img_ok");
    path_of(b, sizeof b, "lab_ok");
    clnn_dataset *ds = NULL;
    TU_OK(clnn_dataset_load_idx(a, b, &ds));
    size_t dims[CLNN_MAX_DIMS];
    TU_CHECK(clnn_dataset_sample_dims(ds, dims) == 3 && dims[1] == 4 && dims[2] == 5, "dims");
    TU_CHECK(clnn_dataset_data(ds)[59] == 59 / 255.0f && clnn_dataset_data(ds)[20] == 20 / 255.0f, "pixel");
    TU_CHECK(clnn_dataset_labels(ds)[2] == 2, "label");
    TU_CHECK(clnn_dataset_num_classes(ds) == 3, "classes");
    clnn_dataset_destroy(ds);
    /* images only (labels_path NULL): the same pixels, every label 0 */
    ds = NULL;
    TU_OK(clnn_dataset_load_idx(a, NULL, &ds));
    TU_CHECK(ds && clnn_dataset_size(ds) == 3 && clnn_dataset_data(ds)[59] == 59 / 255.0f &&
                 clnn_dataset_labels(ds)[2] == 0 && clnn_dataset_num_classes(ds) == 1,
             "images without labels");
    clnn_dataset_destroy(ds);
  }
  n = make_images(buf, 0x804, 3, 4, 5, 60);
  write_file("img_magic_ndim", buf, n);
  expect_fail("img_magic_ndim", "lab_ok", CLNN_ERROR_FORMAT, "magic");
  n = make_images(buf, 0x0D03, 3, 4, 5, 60);
  write_file("img_magic_float", buf, n);
  expect_fail("img_magic_float", "lab_ok", CLNN_ERROR_FORMAT, "unsigned bytes");
  n = make_images(buf, 0x12345678, 3, 4, 5, 60);
  write_file("img_magic_junk", buf, n);
  expect_fail("img_magic_junk", "lab_ok", CLNN_ERROR_FORMAT, "not an IDX file");
  write_file("img_empty", buf, 0);
  expect_fail("img_empty", "lab_ok", CLNN_ERROR_FORMAT, "truncated");
  n = make_images(buf, 0x803, 3, 4, 5, 60);
  write_file("img_short_header", buf, 10);
  expect_fail("img_short_header", "lab_ok", CLNN_ERROR_FORMAT, "truncated");
  write_file("img_short_data", buf, n - 1);
  expect_fail("img_short_data", "lab_ok", CLNN_ERROR_FORMAT, "truncated");
  n = make_images(buf, 0x803, 3, 4, 5, 61);
  write_file("img_trailing", buf, n);
  expect_fail("img_trailing", "lab_ok", CLNN_ERROR_FORMAT, "after");
  n = make_images(buf, 0x803, 3, 0, 5, 0);
  write_file("img_zero_dim", buf, n);
  expect_fail("img_zero_dim", "lab_ok", CLNN_ERROR_FORMAT, "is 0");
  n = make_images(buf, 0x803, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 16);
  write_file("img_overflow", buf, n);
  expect_fail("img_overflow", "lab_ok", CLNN_ERROR_FORMAT, "overflow");
  /* a huge (not overflowing) claim in a small file: refused before any allocation */
  n = make_images(buf, 0x803, 0x7FFFFFFFu, 0xFFFFu, 0xFFFFu, 16);
  write_file("img_huge_claim", buf, n);
  expect_fail("img_huge_claim", "lab_ok", CLNN_ERROR_FORMAT, "truncated");
  n = make_labels(buf, 0x801, 4, 4);
  write_file("lab_four", buf, n);
  expect_fail("img_ok", "lab_four", CLNN_ERROR_FORMAT, "disagree");
  n = make_labels(buf, 0x803, 3, 3);
  write_file("lab_magic", buf, n);
  expect_fail("img_ok", "lab_magic", CLNN_ERROR_FORMAT, "magic");
  n = make_labels(buf, 0x801, 3, 2);
  write_file("lab_short", buf, n);
  expect_fail("img_ok", "lab_short", CLNN_ERROR_FORMAT, "truncated");
  expect_fail("img_does_not_exist", "lab_ok", CLNN_ERROR_IO, "cannot open");
  expect_fail("img_ok", "lab_does_not_exist", CLNN_ERROR_IO, "cannot open");
  const char *names[] = {"img_ok", "lab_ok", "img_magic_ndim", "img_magic_float",
                         "img_magic_junk", "img_empty", "img_short_header", "img_short_data",
                         "img_trailing", "img_zero_dim", "img_overflow", "img_huge_claim",
                         "lab_four", "lab_magic", "lab_short"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    char p[1200];
    path_of(p, sizeof p, names[i]);
    remove(p);
  }
  clnn_dataset *ds = NULL;
  TU_STATUS(clnn_dataset_load_idx(NULL, "x", &ds), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_dataset_load_idx("/nonexistent/x", NULL, &ds), CLNN_ERROR_IO);
  TU_STATUS(clnn_dataset_load_idx("x", "y", NULL), CLNN_ERROR_INVALID_ARGUMENT);
}

static void test_create(void) {
  float x[6] = {0, 1, 2, 3, 4, 5};
  int32_t y[3] = {0, 4, 1};
  size_t d[2] = {2, 1};
  clnn_dataset *ds = NULL;
  TU_OK(clnn_dataset_create(3, 2, d, x, 3 * 2, y, 3, &ds));
  TU_CHECK(clnn_dataset_num_classes(ds) == 5, "classes");
  x[0] = 99; /* the dataset holds a copy */
  TU_CHECK(clnn_dataset_data(ds)[0] == 0.0f, "copied");
  float b[4];
  int32_t l[2];
  TU_OK(clnn_dataset_batch(ds, 1, 2, b, 2 * clnn_dataset_sample_numel(ds), l, 2));
  TU_CHECK(b[0] == 2 && b[3] == 5 && l[0] == 4 && l[1] == 1, "batch from memory");
  clnn_dataset_destroy(ds);
  TU_OK(clnn_dataset_create(3, 2, d, x, 3 * 2, NULL, 0, &ds));
  TU_CHECK(clnn_dataset_labels(ds)[2] == 0 && clnn_dataset_num_classes(ds) == 1, "no labels");
  clnn_dataset_destroy(ds);
  ds = NULL;
  int32_t bad[3] = {0, -1, 2};
  TU_STATUS(clnn_dataset_create(3, 2, d, x, 3 * 2, bad, 3, &ds), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_dataset_create(0, 2, d, x, 0 * 2, y, 0, &ds), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_dataset_create(3, 0, d, x, 3 * 2, y, 3, &ds), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_dataset_create(3, 5, d, x, 3 * 2, y, 3, &ds), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_dataset_create(3, 2, NULL, x, 3 * 2, y, 3, &ds), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_dataset_create(3, 2, d, NULL, 0, y, 3, &ds), CLNN_ERROR_INVALID_ARGUMENT);
  size_t zero[2] = {2, 0};
  TU_STATUS(clnn_dataset_create(3, 2, zero, x, 3 * 2, y, 3, &ds), CLNN_ERROR_INVALID_ARGUMENT);
  TU_CHECK(ds == NULL, "*out untouched");
  TU_CHECK(clnn_dataset_size(NULL) == 0 && clnn_dataset_data(NULL) == NULL &&
               clnn_dataset_labels(NULL) == NULL && clnn_dataset_num_classes(NULL) == 0 &&
               clnn_dataset_sample_numel(NULL) == 0 && clnn_dataset_sample_dims(NULL, NULL) == 0,
           "NULL accessors");
  clnn_dataset_destroy(NULL);
}

int main(void) {
  const char *tree = getenv("CLNN_BINARY_TREE");
  snprintf(dir, sizeof dir, "%s", tree ? tree : ".");
  test_digits();
  test_bad_files();
  test_create();
  return tu_finish("test_data");
}
