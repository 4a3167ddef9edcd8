/* tests/test_device_class.c — running a context as another device class (docs/ARCHITECTURE.md):
 * clnn_context_options.device_class and $CLNN_DEVICE_CLASS pick the kernels' class on any device,
 * the option wins over the variable, bad values are errors that name the choices, and a GPU-class
 * context's GEMM goes to CLBlast and still computes the right product. The device-limit options
 * and $CLNN_DEVICE_LIMITS cap the limits a context reports, and a launch above them is a clear
 * error, not a driver's. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "test_util.h"

static clnn_status make(clnn_device_type cls, clnn_context **ctx) {
  clnn_context_options o;
  clnn_context_options_init(&o);
  o.device_class = cls;
  return clnn_context_create(&o, ctx);
}

static void expect_class(clnn_device_type opt, int want, const char *what) {
  clnn_context *ctx = NULL;
  TU_OK(make(opt, &ctx));
  if (ctx) TU_CHECK(ctx->device_class == want, "%s: device class %d, want %d", what, ctx->device_class, want);
  clnn_context_destroy(ctx);
}

/* clnn_context_options.max_work_group_size / max_local_mem_bytes and $CLNN_DEVICE_LIMITS: the
 * context reports the capped limits; a launch with a larger work-group
 * or more local memory than they allow fails naming the kernel; one within them runs and sums. */
static void check_device_limits(void) {
  clnn_context *ctx = NULL;
  setenv("CLNN_DEVICE_LIMITS", "wg=8,local=1024", 1);
  TU_OK(make(CLNN_DEVICE_GPU, &ctx));
  if (!ctx) return;
  clnn_device_info info;
  clnn_device_info_init(&info);
  TU_OK(clnn_context_device_info(ctx, &info));
  TU_CHECK(info.max_work_group_size <= 8 && info.local_mem_bytes <= 1024,
           "capped context reports work-group %zu and local memory %llu", info.max_work_group_size,
           (unsigned long long)info.local_mem_bytes);
  clnn__kernel_ref k = CLNN_KERNEL_REF("shape", "shape_sum_finish");
  float part[5] = {1, 2, 3, 4, 5}, y = -1;
  size_t d1[1] = {5}, one[1] = {1};
  clnn_tensor *tp = tu_tensor(ctx, 1, d1, part), *ty = tu_tensor(ctx, 1, one, NULL);
  cl_mem mp = clnn_tensor_cl_mem(tp), my = clnn_tensor_cl_mem(ty);
  size_t g16[1] = {16}, g8[1] = {8};
  TU_STATUS(clnn__run(ctx, &k, 1, g16, g16,
                      (const clnn__arg[]){CLNN_ARG_MEM(mp), CLNN_ARG_ULONG(5), CLNN_ARG_MEM(my),
                                         CLNN_ARG_FLOAT(1.0f), CLNN_ARG_FLOAT(0.0f), CLNN_ARG_LOCAL(16 * sizeof(float))},
                      6),
            CLNN_ERROR_INTERNAL);
  TU_CHECK(strstr(clnn_last_error(), "shape_sum_finish") && strstr(clnn_last_error(), "work-group of 16"),
           "work-group above the cap: %s", clnn_last_error());
  TU_STATUS(clnn__run(ctx, &k, 1, g8, g8,
                      (const clnn__arg[]){CLNN_ARG_MEM(mp), CLNN_ARG_ULONG(5), CLNN_ARG_MEM(my),
                                         CLNN_ARG_FLOAT(1.0f), CLNN_ARG_FLOAT(0.0f), CLNN_ARG_LOCAL(2048)},
                      6),
            CLNN_ERROR_INTERNAL);
  TU_CHECK(strstr(clnn_last_error(), "shape_sum_finish") && strstr(clnn_last_error(), "local memory"),
           "local memory above the cap: %s", clnn_last_error());
  TU_OK(clnn__run(ctx, &k, 1, g8, g8,
                  (const clnn__arg[]){CLNN_ARG_MEM(mp), CLNN_ARG_ULONG(5), CLNN_ARG_MEM(my), CLNN_ARG_FLOAT(1.0f),
                                     CLNN_ARG_FLOAT(0.0f), CLNN_ARG_LOCAL(8 * sizeof(float))},
                  6));
  TU_OK(clnn_tensor_read(ty, &y, 1));
  TU_CHECK(y == 15.0f, "sum within the caps: %g, want 15", y);
  /* An operator whose smallest local-memory tile does not fit says so (attention, Dh = 128:
   * two rows of keys and values and the row statistics exceed 1 KiB) and leaves its output untouched. */
  {
    size_t ad[4] = {1, 1, 2, 128};
    float *h = malloc(256 * sizeof(float)), *back = malloc(256 * sizeof(float));
    for (int i = 0; i < 256; i++) h[i] = 0.25f;
    clnn_tensor *tq = tu_tensor(ctx, 4, ad, h), *to = tu_tensor(ctx, 4, ad, h);
    clnn_attention_params ap;
    clnn_attention_params_init(&ap);
    TU_STATUS(clnn_attention_forward(ctx, &ap, tq, tq, tq, to, NULL), CLNN_ERROR_UNSUPPORTED);
    TU_CHECK(strstr(clnn_last_error(), "local memory") && strstr(clnn_last_error(), "1024"),
             "attention above the local-memory cap: %s", clnn_last_error());
    TU_OK(clnn_tensor_read(to, back, 256));
    TU_CHECK(!memcmp(back, h, 256 * sizeof(float)), "attention output changed on the error");
    clnn_tensor_destroy(tq);
    clnn_tensor_destroy(to);
    free(h);
    free(back);
  }
  clnn_tensor_destroy(tp);
  clnn_tensor_destroy(ty);
  clnn_context_destroy(ctx);
  ctx = NULL;
  /* The options win over the variable, field by field. */
  clnn_context_options o;
  clnn_context_options_init(&o);
  o.max_work_group_size = 4;
  TU_OK(clnn_context_create(&o, &ctx));
  if (ctx) {
    TU_OK(clnn_context_device_info(ctx, &info));
    TU_CHECK(info.max_work_group_size == 4 && info.local_mem_bytes <= 1024,
             "option wg 4 over CLNN_DEVICE_LIMITS: work-group %zu, local memory %llu", info.max_work_group_size,
             (unsigned long long)info.local_mem_bytes);
    clnn_context_destroy(ctx);
    ctx = NULL;
  }
  unsetenv("CLNN_DEVICE_LIMITS");
  o.max_work_group_size = 0;
  o.max_local_mem_bytes = 512;
  TU_OK(clnn_context_create(&o, &ctx));
  if (ctx) {
    TU_OK(clnn_context_device_info(ctx, &info));
    TU_CHECK(info.local_mem_bytes == 512, "option local 512: local memory %llu", (unsigned long long)info.local_mem_bytes);
    clnn_context_destroy(ctx);
    ctx = NULL;
  }
  setenv("CLNN_DEVICE_LIMITS", "wg=64,lcl=5", 1);
  TU_STATUS(clnn_context_create(NULL, &ctx), CLNN_ERROR_INVALID_ARGUMENT);
  TU_CHECK(ctx == NULL && strstr(clnn_last_error(), "lcl=5") && strstr(clnn_last_error(), "local="),
           "bad limits: %s", clnn_last_error());
  setenv("CLNN_DEVICE_LIMITS", "wg=0", 1);
  TU_STATUS(clnn_context_create(NULL, &ctx), CLNN_ERROR_INVALID_ARGUMENT);
  unsetenv("CLNN_DEVICE_LIMITS");
}

int main(void) {
  clnn_context *base = tu_context(); /* fails the test when there is no device */
  int own = base->info.type == CLNN_DEVICE_GPU           ? CLNN_DEVICE_CLASS_GPU
            : base->info.type == CLNN_DEVICE_ACCELERATOR ? CLNN_DEVICE_CLASS_ACCELERATOR
                                                         : CLNN_DEVICE_CLASS_CPU;
  clnn_context_destroy(base);
  unsetenv("CLNN_DEVICE_CLASS");
  expect_class(CLNN_DEVICE_OTHER, own, "default");
  expect_class(CLNN_DEVICE_GPU, CLNN_DEVICE_CLASS_GPU, "option gpu");
  expect_class(CLNN_DEVICE_CPU, CLNN_DEVICE_CLASS_CPU, "option cpu");
  expect_class(CLNN_DEVICE_ACCELERATOR, CLNN_DEVICE_CLASS_ACCELERATOR, "option accelerator");

  clnn_context *ctx = NULL;
  TU_STATUS(make((clnn_device_type)7, &ctx), CLNN_ERROR_INVALID_ARGUMENT);
  TU_CHECK(ctx == NULL && strstr(clnn_last_error(), "CLNN_DEVICE_GPU"), "bad option: %s", clnn_last_error());

  setenv("CLNN_DEVICE_CLASS", "gpu", 1);
  expect_class(CLNN_DEVICE_OTHER, CLNN_DEVICE_CLASS_GPU, "CLNN_DEVICE_CLASS=gpu");
  expect_class(CLNN_DEVICE_CPU, CLNN_DEVICE_CLASS_CPU, "option cpu over CLNN_DEVICE_CLASS=gpu");
  setenv("CLNN_DEVICE_CLASS", "cpu", 1);
  expect_class(CLNN_DEVICE_OTHER, CLNN_DEVICE_CLASS_CPU, "CLNN_DEVICE_CLASS=cpu");
  setenv("CLNN_DEVICE_CLASS", "GPU-ish", 1);
  TU_STATUS(clnn_context_create(NULL, &ctx), CLNN_ERROR_INVALID_ARGUMENT);
  TU_CHECK(ctx == NULL && strstr(clnn_last_error(), "GPU-ish") && strstr(clnn_last_error(), "gpu"),
           "bad variable: %s", clnn_last_error());
  unsetenv("CLNN_DEVICE_CLASS");

  /* A GPU-class context: GEMM through CLBlast, right answer. */
  TU_OK(make(CLNN_DEVICE_GPU, &ctx));
  if (ctx) {
    size_t d[2] = {3, 3};
    float a[9] = {1, 2, 3, 4, 5, 6, 7, 8, 10}, c[9];
    const float want[9] = {30, 36, 45, 66, 81, 102, 109, 134, 169};
    clnn_tensor *ta = tu_tensor(ctx, 2, d, a), *tc = tu_tensor(ctx, 2, d, NULL);
    TU_OK(clnn_gemm(ctx, 0, 0, 1.0f, ta, ta, 0.0f, tc));
    TU_CHECK(!strcmp(clnn__gemm_last_path(), "clblast"), "GPU class GEMM took %s", clnn__gemm_last_path());
    TU_OK(clnn_tensor_read(tc, c, 9));
    TU_CHECK(!memcmp(c, want, sizeof c), "GPU class GEMM: c[0] = %g, want 30", c[0]);
    clnn_tensor_destroy(ta);
    clnn_tensor_destroy(tc);
    clnn_context_destroy(ctx);
  }
  check_device_limits();
  return tu_finish("test_device_class");
}
