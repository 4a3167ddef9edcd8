/* tests/test_runtime.c — the runtime: device enumeration and selection (CLNN_DEVICE and API,
 * valid and invalid), contexts (create, wrap the caller's OpenCL objects), tensors (round trips,
 * fill, copy, reshape, wrap) and every documented error path; status names; logging. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "test_util.h"

static int log_count = 0;
static void count_log(clnn_log_level level, const char *msg, void *user) {
  (void)level; (void)msg;
  (*(int *)user)++;
}

static void test_devices(void) {
  int n = 0;
  TU_OK(clnn_device_count(&n));
  TU_CHECK(n >= 1, "at least one device (got %d)", n);
  TU_STATUS(clnn_device_count(NULL), CLNN_ERROR_INVALID_ARGUMENT);
  for (int i = 0; i < n; i++) {
    clnn_device_info d;
    clnn_device_info_init(&d);
    TU_OK(clnn_device_get_info(i, &d));
    TU_CHECK(d.name[0] != 0, "device %d has a name", i);
    TU_CHECK(d.compute_units > 0, "device %d has compute units", i);
    TU_CHECK(d.global_mem_bytes > 0 && d.max_alloc_bytes > 0, "device %d reports memory", i);
    TU_CHECK(d.type != CLNN_DEVICE_OTHER, "device %d classified by CL_DEVICE_TYPE", i);
    TU_CHECK(d.platform_index >= 0 && d.device_index >= 0, "device %d has P:D indices", i);
  }
  clnn_device_info d;
  clnn_device_info_init(&d);
  TU_STATUS(clnn_device_get_info(n, &d), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_device_get_info(-1, &d), CLNN_ERROR_INVALID_ARGUMENT);

  /* selection: default, P:D, type, name substring (case-insensitive), no match */
  int idx = -1;
  char reason[256];
  TU_OK(clnn_device_select(NULL, &idx, reason, sizeof reason));
  TU_CHECK(idx >= 0 && strstr(reason, "default") != NULL, "default selection with reason: %s", reason);
  clnn_device_info first;
  clnn_device_info_init(&first);
  clnn_device_get_info(0, &first);
  char sel[64];
  snprintf(sel, sizeof sel, "%d:%d", first.platform_index, first.device_index);
  TU_OK(clnn_device_select(sel, &idx, NULL, 0));
  TU_CHECK(idx == 0, "P:D selects device 0");
  const char *tname = first.type == CLNN_DEVICE_GPU ? "GPU" : first.type == CLNN_DEVICE_CPU ? "cpu" : "accelerator";
  TU_OK(clnn_device_select(tname, &idx, NULL, 0));
  clnn_device_get_info(idx, &d);
  TU_CHECK(d.type == first.type, "type selection picks a device of that type");
  char part[8] = {0}; /* the first 4 letters of the name, case flipped: matching ignores case */
  for (int i = 0; i < 4 && first.name[i]; i++)
    part[i] = (char)(islower((unsigned char)first.name[i]) ? toupper((unsigned char)first.name[i])
                                                           : tolower((unsigned char)first.name[i]));
  TU_OK(clnn_device_select(part, &idx, NULL, 0));
  TU_STATUS(clnn_device_select("no-such-device-xyz", &idx, NULL, 0), CLNN_ERROR_DEVICE_NOT_FOUND);
  TU_CHECK(strstr(clnn_last_error(), first.name) != NULL, "no-match message lists the devices: %s", clnn_last_error());
  TU_STATUS(clnn_device_select("99:99", &idx, NULL, 0), CLNN_ERROR_DEVICE_NOT_FOUND);
  TU_STATUS(clnn_device_select(NULL, NULL, NULL, 0), CLNN_ERROR_INVALID_ARGUMENT);

  /* CLNN_DEVICE drives clnn_context_create */
  clnn_context *ctx = NULL;
  setenv("CLNN_DEVICE", "no-such-device-xyz", 1);
  TU_STATUS(clnn_context_create(NULL, &ctx), CLNN_ERROR_DEVICE_NOT_FOUND);
  TU_CHECK(ctx == NULL, "failed create leaves ctx NULL");
  setenv("CLNN_DEVICE", sel, 1);
  TU_OK(clnn_context_create(NULL, &ctx));
  clnn_device_info ci;
  clnn_device_info_init(&ci);
  TU_OK(clnn_context_device_info(ctx, &ci));
  TU_CHECK(!strcmp(ci.name, first.name), "CLNN_DEVICE=%s picks %s", sel, first.name);
  clnn_context_destroy(ctx);
  unsetenv("CLNN_DEVICE");
  clnn_context_options o;
  clnn_context_options_init(&o);
  o.device = "no-such-device-xyz";
  TU_STATUS(clnn_context_create(&o, &ctx), CLNN_ERROR_DEVICE_NOT_FOUND);
  TU_STATUS(clnn_context_create(NULL, NULL), CLNN_ERROR_INVALID_ARGUMENT);
  clnn_context_destroy(NULL); /* no-op */
}

static void test_wrap(clnn_context *ctx) {
  cl_context c;
  cl_device_id dev;
  cl_command_queue q;
  TU_OK(clnn_context_get_cl(ctx, &c, &dev, &q));
  TU_CHECK(c && dev && q, "context hands back its OpenCL objects");
  cl_int err;
  cl_command_queue myq = clCreateCommandQueue(c, dev, 0, &err);
  clnn_context *w = NULL;
  TU_OK(clnn_context_wrap(c, dev, myq, NULL, &w));
  cl_command_queue back = NULL;
  clnn_context_get_cl(w, NULL, NULL, &back);
  TU_CHECK(back == myq, "wrapped context hands back the caller's queue");
  TU_OK(clnn_context_selftest(w));
  /* a user cl_mem wrapped as a tensor */
  cl_mem m = clCreateBuffer(c, CL_MEM_READ_WRITE, 16 * sizeof(float), NULL, &err);
  size_t d[2] = {4, 4};
  clnn_tensor *t = NULL;
  TU_OK(clnn_tensor_wrap(ctx, m, 2, d, &t));
  float v[16], r[16];
  for (int i = 0; i < 16; i++) v[i] = (float)i;
  TU_OK(clnn_tensor_write(t, v, 16));
  clEnqueueReadBuffer(q, m, CL_TRUE, 0, sizeof r, r, 0, NULL, NULL);
  TU_CHECK(!memcmp(v, r, sizeof v), "wrapped tensor writes the caller's buffer");
  size_t big[1] = {17};
  clnn_tensor *t2 = NULL;
  TU_STATUS(clnn_tensor_wrap(ctx, m, 1, big, &t2), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(clnn_tensor_wrap(ctx, NULL, 1, big, &t2), CLNN_ERROR_INVALID_ARGUMENT);
  clnn_tensor_destroy(t);
  /* the buffer is still the caller's: usable after the tensor is gone */
  cl_uint refs = 0;
  clGetMemObjectInfo(m, CL_MEM_REFERENCE_COUNT, sizeof refs, &refs, NULL);
  TU_CHECK(refs == 1, "tensor destroy released only its own reference (refcount %u)", refs);
  clReleaseMemObject(m);
  clnn_context_destroy(w);
  clGetCommandQueueInfo(myq, CL_QUEUE_REFERENCE_COUNT, sizeof refs, &refs, NULL);
  TU_CHECK(refs == 1, "context destroy released only its own queue reference (refcount %u)", refs);
  clReleaseCommandQueue(myq);
  TU_STATUS(clnn_context_wrap(NULL, dev, q, NULL, &w), CLNN_ERROR_INVALID_ARGUMENT);
}

static void test_tensors(clnn_context *ctx) {
  size_t d[3] = {2, 3, 5};
  float v[30], r[30];
  for (int i = 0; i < 30; i++) v[i] = (float)i * 0.5f - 3.0f;
  clnn_tensor *t = NULL, *u = NULL;
  TU_OK(clnn_tensor_create(ctx, 3, d, &t));
  TU_CHECK(clnn_tensor_ndim(t) == 3 && clnn_tensor_dim(t, 2) == 5 && clnn_tensor_numel(t) == 30, "shape accessors");
  TU_CHECK(clnn_tensor_context(t) == ctx && clnn_tensor_cl_mem(t) != NULL, "context and cl_mem accessors");
  TU_OK(clnn_tensor_write(t, v, 30));
  TU_OK(clnn_tensor_read(t, r, 30));
  TU_CHECK(!memcmp(v, r, sizeof v), "write/read round trip is exact");
  TU_OK(clnn_tensor_create(ctx, 3, d, &u));
  TU_OK(clnn_tensor_copy(u, t));
  TU_OK(clnn_tensor_read(u, r, 30));
  TU_CHECK(!memcmp(v, r, sizeof v), "copy is exact");
  TU_OK(clnn_tensor_fill(u, -7.25f));
  TU_OK(clnn_tensor_read(u, r, 30));
  int all = 1;
  for (int i = 0; i < 30; i++) all &= r[i] == -7.25f;
  TU_CHECK(all, "fill sets every element");
  size_t d2[2] = {6, 5};
  TU_OK(clnn_tensor_reshape(u, 2, d2));
  TU_CHECK(clnn_tensor_ndim(u) == 2 && clnn_tensor_dim(u, 0) == 6, "reshape");
  size_t d7[1] = {7};
  TU_STATUS(clnn_tensor_reshape(u, 1, d7), CLNN_ERROR_SHAPE_MISMATCH);
  TU_CHECK(clnn_tensor_ndim(u) == 2, "failed reshape leaves the shape");

  /* error paths */
  clnn_tensor *x = (clnn_tensor *)0x1;
  size_t zero[2] = {3, 0}, huge[2] = {SIZE_MAX / 2, 3}, six[6] = {1, 1, 1, 1, 1, 1};
  TU_STATUS(clnn_tensor_create(ctx, 2, zero, &x), CLNN_ERROR_INVALID_ARGUMENT);
  TU_CHECK(x == NULL, "failed create sets *out = NULL");
  TU_STATUS(clnn_tensor_create(ctx, 2, huge, &x), CLNN_ERROR_INVALID_ARGUMENT); /* overflow */
  TU_STATUS(clnn_tensor_create(ctx, 0, d, &x), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_tensor_create(ctx, 6, six, &x), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_tensor_create(ctx, 2, NULL, &x), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_tensor_create(NULL, 2, d, &x), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_tensor_create(ctx, 2, d, NULL), CLNN_ERROR_INVALID_ARGUMENT);
  clnn_device_info info;
  clnn_device_info_init(&info);
  clnn_context_device_info(ctx, &info);
  size_t too_big[1] = {(size_t)(info.max_alloc_bytes / 4) + 1};
  TU_STATUS(clnn_tensor_create(ctx, 1, too_big, &x), CLNN_ERROR_OUT_OF_MEMORY);
  TU_CHECK(strstr(clnn_last_error(), "CL_DEVICE_MAX_MEM_ALLOC_SIZE") != NULL, "message names the limit: %s", clnn_last_error());
  TU_STATUS(clnn_tensor_write(t, v, 29), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(clnn_tensor_read(t, r, 31), CLNN_ERROR_SHAPE_MISMATCH);
  TU_STATUS(clnn_tensor_write(NULL, v, 30), CLNN_ERROR_INVALID_ARGUMENT);
  TU_STATUS(clnn_tensor_read(t, NULL, 30), CLNN_ERROR_INVALID_ARGUMENT);
  size_t d29[1] = {29};
  clnn_tensor *w29 = NULL;
  TU_OK(clnn_tensor_create(ctx, 1, d29, &w29));
  TU_STATUS(clnn_tensor_copy(w29, t), CLNN_ERROR_SHAPE_MISMATCH);
  clnn_context *other = NULL;
  TU_OK(clnn_context_create(NULL, &other));
  clnn_tensor *f = NULL;
  TU_OK(clnn_tensor_create(other, 3, d, &f));
  TU_STATUS(clnn_tensor_copy(f, t), CLNN_ERROR_CONTEXT_MISMATCH);
  TU_STATUS(clnn__check_tensor(ctx, f, "x"), CLNN_ERROR_CONTEXT_MISMATCH);
  TU_CHECK(strstr(clnn_last_error(), "another context") != NULL, "context mismatch message: %s", clnn_last_error());
  TU_OK(clnn_tensor_read(t, r, 30));
  TU_CHECK(!memcmp(v, r, sizeof v), "failed calls left the tensor unchanged");
  clnn_tensor_destroy(f);
  clnn_context_destroy(other);
  clnn_tensor_destroy(w29);
  clnn_tensor_destroy(t);
  clnn_tensor_destroy(u);
  clnn_tensor_destroy(NULL);
  TU_CHECK(clnn_tensor_ndim(NULL) == 0 && clnn_tensor_numel(NULL) == 0 && clnn_tensor_dim(NULL, 0) == 0, "NULL accessors");
}

static void test_status_and_log(clnn_context *ctx) {
  TU_CHECK(!strcmp(clnn_version(), CLNN_VERSION_STRING), "library version %s matches the header", clnn_version());
  TU_CHECK(clnn_version_number() == CLNN_VERSION_MAJOR * 10000 + CLNN_VERSION_MINOR * 100 + CLNN_VERSION_PATCH,
           "version number");
  TU_CHECK(!strcmp(clnn_status_string(CLNN_SUCCESS), "CLNN_SUCCESS"), "status name");
  TU_CHECK(!strcmp(clnn_status_string(CLNN_ERROR_BUILD), "CLNN_ERROR_BUILD"), "status name");
  TU_CHECK(clnn_status_string((clnn_status)12345) != NULL, "unknown status has a name");
  for (int s = 0; s >= -14; s--)
    TU_CHECK(strncmp(clnn_status_string((clnn_status)s), "CLNN_", 5) == 0, "status %d named", s);
  TU_CHECK(!strcmp(clnn__cl_error_name(CL_INVALID_KERNEL_NAME), "CL_INVALID_KERNEL_NAME"), "OpenCL error names");
  clnn_set_log_callback(count_log, CLNN_LOG_DEBUG, &log_count);
  size_t zero[1] = {0};
  clnn_tensor *x;
  clnn_tensor_create(ctx, 1, zero, &x);
  TU_CHECK(log_count > 0, "log callback receives messages when asked");
  clnn_set_log_callback(NULL, CLNN_LOG_ERROR, NULL);
  int before = log_count;
  clnn_tensor_create(ctx, 1, zero, &x);
  TU_CHECK(log_count == before, "no logging after the callback is removed");
}

int main(void) {
  test_devices();
  clnn_context *ctx = tu_context();
  TU_OK(clnn_context_selftest(ctx));
  TU_STATUS(clnn_context_selftest(NULL), CLNN_ERROR_INVALID_ARGUMENT);
  test_wrap(ctx);
  test_tensors(ctx);
  test_status_and_log(ctx);
  clnn_context_destroy(ctx);
  return tu_finish("test_runtime");
}
