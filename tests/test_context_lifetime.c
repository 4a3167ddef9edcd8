/* tests/test_context_lifetime.c — what clnn_context_destroy does to objects still on the context.
 * - A context destroyed while tensors and a network still live is not freed under them: every
 *   call that would use its device is CLNN_ERROR_INVALID_ARGUMENT (operators, tensor create, wrap,
 *   write, read, fill, copy, network and model creation, training, inference, saving) and
 *   changes nothing; host-side calls still answer; destroying the tensors and the network still
 *   works (no use after free: this test runs under AddressSanitizer in the hardening step), and
 *   the context is freed with the last of them.
 * - Networks and models hold their context even when they own no tensor yet (a network before
 *   its first use, a model of a graph without parameters never run): the context, destroyed
 *   first, is freed when the last of them goes. Seen through a wrapped cl_context's reference
 *   count, which falls back to the caller's own only when clnn frees its context.
 * - Creating and destroying contexts whose GEMMs go to CLBlast does not grow memory: CLBlast's
 *   process-wide program cache (which holds every context it compiled for) is cleared when such a
 *   context is destroyed. The loop measures the resident set after a warm-up and after the loop.
 *   Also checked: the wrapped cl_context is left with only the caller's reference. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long rss_kb(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long pages = 0, res = 0;
  if (!f) return 0;
  if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = 0;
  fclose(f);
  return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static void test_destroy_with_live_objects(void) {
  clnn_context *ctx = tu_context();
  size_t d[2] = {4, 4};
  float h[16];
  for (int i = 0; i < 16; i++) h[i] = (float)i;
  clnn_tensor *a = tu_tensor(ctx, 2, d, h), *c = tu_tensor(ctx, 2, d, NULL);
  size_t in = 4;
  clnn_net *net = NULL;
  TU_OK(clnn_net_create(ctx, 1, &in, 1, &net));
  TU_OK(clnn_net_add_dense(net, 2));
  int32_t y[4] = {0, 1, 0, 1};
  TU_OK(clnn_net_train_step(net, h, 4 * 4, 4, y, 4, NULL, 0, NULL));
  clnn_graph *g = NULL;
  int x = -1, r = -1;
  TU_OK(clnn_graph_create(&g));
  TU_OK(clnn_graph_input(g, "x", CLNN_FLOAT32, 1, &in, &x));
  TU_OK(clnn_graph_activation(g, NULL, x, CLNN_ACT_RELU, 0, &r));
  TU_OK(clnn_graph_output(g, r));
  clnn_context_destroy(ctx); /* deferred: a, c and the network's tensors live */
  TU_STATUS(clnn_gemm(ctx, 0, 0, 1.0f, a, a, 0.0f, c), CLNN_ERROR_INVALID_ARGUMENT);
  TU_CHECK(strstr(clnn_last_error(), "context was destroyed") != NULL, "message: %s", clnn_last_error());
  TU_STATUS(clnn_activation_forward(ctx, CLNN_ACT_RELU, 0, a, c), CLNN_ERROR_INVALID_ARGUMENT);
  clnn_tensor *t = NULL;
  TU_STATUS(clnn_tensor_create(ctx, 2, d, &t), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_tensor_wrap(ctx, clnn_tensor_cl_mem(a), 2, d, &t), CLNN_ERROR_INVALID_ARGUMENT);
  TU_CHECK(t == NULL, "no tensor was made on a destroyed context");
  float back[16];
  for (int i = 0; i < 16; i++) back[i] = -1.0f;
  TU_STATUS(clnn_tensor_read(a, back, 16), CLNN_ERROR_INVALID_ARGUMENT);
  TU_CHECK(back[0] == -1.0f && back[15] == -1.0f, "a refused read writes nothing");
  TU_STATUS(clnn_tensor_write(a, back, 16), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_tensor_fill(c, 3.0f), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_tensor_copy(c, a), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_net_train_step(net, h, 4 * 4, 4, y, 4, NULL, 0, NULL), CLNN_ERROR_INVALID_ARGUMENT);
  float out[8];
  TU_STATUS(clnn_net_predict(net, h, 4 * 4, 4, out, 8), CLNN_ERROR_INVALID_ARGUMENT);
  char path[] = "/tmp/clnn-test-lifetime-XXXXXX";
  int fd = mkstemp(path);
  if (fd >= 0) close(fd);
  TU_CHECK(clnn_net_save(net, path, 0) != CLNN_SUCCESS, "saving a network whose context was destroyed fails");
  remove(path);
  clnn_net *net2 = NULL;
  clnn_model *m2 = NULL;
  TU_STATUS(clnn_net_create(ctx, 1, &in, 1, &net2), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_model_create(ctx, g, 1, &m2), CLNN_ERROR_INVALID_ARGUMENT);
  TU_CHECK(net2 == NULL && m2 == NULL, "no network or model was made on a destroyed context");
  /* host-side calls still answer */
  clnn_device_info info;
  clnn_device_info_init(&info);
  TU_OK(clnn_context_device_info(ctx, &info));
  size_t flat = 16;
  TU_OK(clnn_tensor_reshape(c, 1, &flat));
  TU_CHECK(clnn_tensor_numel(c) == 16 && clnn_tensor_ndim(c) == 1 && clnn_tensor_context(c) == ctx,
           "shape queries answer");
  clnn_context_destroy(ctx); /* a second destroy while objects live is still deferred */
  clnn_tensor_destroy(a);
  clnn_net_destroy(net);
  clnn_tensor_destroy(c); /* the last one: the context goes with it */
  clnn_graph_destroy(g);
}

static cl_uint cl_refs(cl_context c) {
  cl_uint n = 0;
  clGetContextInfo(c, CL_CONTEXT_REFERENCE_COUNT, sizeof n, &n, NULL);
  return n;
}

/* A network before its first use and a model of a graph without parameters, never run, own no
 * tensor: they must still keep their (wrapped) context alive after clnn_context_destroy. */
static void test_objects_without_tensors(cl_context clctx, cl_device_id dev, cl_command_queue q) {
  cl_uint base = cl_refs(clctx);
  size_t in = 6;
  clnn_graph *g = NULL;
  int x = -1, r = -1;
  TU_OK(clnn_graph_create(&g));
  TU_OK(clnn_graph_input(g, "x", CLNN_FLOAT32, 1, &in, &x));
  TU_OK(clnn_graph_activation(g, NULL, x, CLNN_ACT_RELU, 0, &r));
  TU_OK(clnn_graph_output(g, r));
  for (int order = 0; order < 2; order++) {
    clnn_context *ctx = NULL;
    TU_OK(clnn_context_wrap(clctx, dev, q, NULL, &ctx));
    if (!ctx) break;
    clnn_net *net = NULL;
    clnn_model *m = NULL;
    TU_OK(clnn_net_create(ctx, 1, &in, 7, &net));
    TU_OK(clnn_model_create(ctx, g, 7, &m));
    TU_CHECK(cl_refs(clctx) > base, "the wrapped context holds a reference while clnn's context lives");
    clnn_context_destroy(ctx);
    TU_CHECK(cl_refs(clctx) > base, "order %d: a network and a model without tensors keep a destroyed "
             "context alive (references %u, the caller's %u)", order, cl_refs(clctx), base);
    /* still usable for host-side work; device work is refused, nothing is touched freed */
    TU_OK(clnn_net_add_dense(net, 3));
    float xs[12] = {0}, ys[12];
    int32_t lab[2] = {0, 1};
    TU_STATUS(clnn_net_train_step(net, xs, 12, 2, lab, 2, NULL, 0, NULL), CLNN_ERROR_INVALID_ARGUMENT);
    clnn_feed feed = {x, xs, 12, NULL};
    TU_STATUS(clnn_model_predict(m, &feed, 1, 2, -1, ys, 12), CLNN_ERROR_INVALID_ARGUMENT);
    if (order == 0) {
      clnn_net_destroy(net);
      TU_CHECK(cl_refs(clctx) > base, "the model alone still keeps the context");
      clnn_model_destroy(m);
    } else {
      clnn_model_destroy(m);
      TU_CHECK(cl_refs(clctx) > base, "the network alone still keeps the context");
      clnn_net_destroy(net);
    }
    TU_CHECK(cl_refs(clctx) == base, "order %d: the context is freed with its last object (references %u, "
             "the caller's %u)", order, cl_refs(clctx), base);
  }
  clnn_graph_destroy(g);
}

/* One context (wrapping clctx/dev/q, or a fresh one when clctx is NULL) with a CLBlast GEMM. */
static int clblast_cycle(cl_context clctx, cl_device_id dev, cl_command_queue q) {
  clnn_context_options o;
  clnn_context_options_init(&o);
  o.force_clblast = 1;
  clnn_context *ctx = NULL;
  if (clctx ? clnn_context_wrap(clctx, dev, q, &o, &ctx) : clnn_context_create(&o, &ctx)) return 0;
  size_t d[2] = {64, 64};
  float *h = malloc(64 * 64 * sizeof *h), *r = malloc(64 * 64 * sizeof *r);
  for (int i = 0; i < 64 * 64; i++) h[i] = (float)(i % 7) - 3.0f;
  clnn_tensor *a = tu_tensor(ctx, 2, d, h), *c = tu_tensor(ctx, 2, d, NULL);
  int ok = clnn_gemm(ctx, 0, 0, 1.0f, a, a, 0.0f, c) == CLNN_SUCCESS &&
           !strcmp(clnn__gemm_last_path(), "clblast") && clnn_tensor_read(c, r, 64 * 64) == CLNN_SUCCESS;
  double want = 0;
  for (int k = 0; k < 64; k++) want += (double)h[k] * h[k * 64];
  ok = ok && r[0] == (float)want;
  clnn_tensor_destroy(a);
  clnn_tensor_destroy(c);
  clnn_context_destroy(ctx);
  free(h);
  free(r);
  return ok;
}

static void test_clblast_cache_released(void) {
  clnn_context *own = tu_context();
  cl_context clctx;
  cl_device_id dev;
  cl_command_queue q;
  TU_OK(clnn_context_get_cl(own, &clctx, &dev, &q));
  cl_int err;
  cl_context mine = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
  cl_command_queue mq = clCreateCommandQueue(mine, dev, 0, &err);
  TU_CHECK(mine && mq, "an own cl_context and queue");
  clnn_context_destroy(own);
  if (!mine || !mq) return;
  test_objects_without_tensors(mine, dev, mq);
  cl_uint refs0 = 0, refs = 0; /* ours and the queue's */
  clGetContextInfo(mine, CL_CONTEXT_REFERENCE_COUNT, sizeof refs0, &refs0, NULL);
  int ok = 1;
  for (int i = 0; i < 3; i++) ok = clblast_cycle(mine, dev, mq) && ok; /* warm-up: first builds */
  clGetContextInfo(mine, CL_CONTEXT_REFERENCE_COUNT, sizeof refs, &refs, NULL);
  TU_CHECK(refs == refs0, "after a CLBlast context's destroy the cl_context has only our references "
           "(%u, before %u)", refs, refs0);
  long r0;
  const int rounds = getenv("CLNN_LIFETIME_ROUNDS") ? atoi(getenv("CLNN_LIFETIME_ROUNDS")) : 10;
  for (int i = 0; i < 2; i++) ok = clblast_cycle(NULL, NULL, NULL) && ok; /* warm-up */
  r0 = rss_kb();
  for (int i = 0; i < rounds; i++) ok = clblast_cycle(NULL, NULL, NULL) && ok;
  long r1 = rss_kb();
  TU_CHECK(ok, "every CLBlast GEMM ran and was right");
  printf("clblast: %d context create/GEMM/destroy cycles: resident set %ld kB -> %ld kB (%+.0f kB per "
         "cycle)\n", rounds, r0, r1, (double)(r1 - r0) / rounds);
  TU_CHECK(r1 - r0 < 512L * rounds, "memory flat: %+ld kB over %d cycles (was about +3 MB per cycle)",
           r1 - r0, rounds);
  clReleaseCommandQueue(mq);
  clReleaseContext(mine);
}

int main(void) {
  test_destroy_with_live_objects();
  test_clblast_cache_released();
  return tu_finish("test_context_lifetime");
}
