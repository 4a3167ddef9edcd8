/* src/gemm/gemm_clblast.c — GEMM through CLBlast: the only file that includes CLBlast. CLBlast's
 * status codes become clnn statuses with CLBlast's meaning in the message; operands CLBlast's
 * strided-batched SGEMM would misread are copied first; the context's tuned CLBlast parameters are
 * applied at creation and CLBlast's program cache is dropped at destroy. */
#define _POSIX_C_SOURCE 200809L
#include "gemm/gemm_paths.h"

#include <clblast_c.h>
#include <stdio.h>
#include <string.h>

static clnn_status from_clblast(CLBlastStatusCode s, const char *what);

/* CLBlast keeps every compiled program, and with it a reference to its cl_context, in a
 * process-wide cache with no per-context clear: a context that used CLBlast clears it when it is
 * destroyed, or each create/destroy would leak the context (about 3 MB each). Other live contexts
 * rebuild their CLBlast programs on next use. */
void clnn__gemm_clblast_release(clnn_context *ctx) {
  if (ctx && ctx->used_clblast) CLBlastClearCache();
}

/* Tuned CLBlast parameters: CLBlast recompiles the kernel with them on its next use. */
clnn_status clnn__gemm_clblast_override(clnn_context *ctx, const char *kernel, size_t count, const char **names,
                                        const size_t *values) {
  CLBlastStatusCode s = CLBlastOverrideParameters(ctx->device, kernel, CLBlastPrecisionSingle, count, names, values);
  if (s == CLBlastSuccess) return CLNN_SUCCESS;
  char what[96];
  snprintf(what, sizeof what, "overriding CLBlast %s parameters", kernel);
  return from_clblast(s, what);
}

void clnn__gemm_clblast_apply_tuned(clnn_context *ctx) {
  const clnn__tune_params *p = &ctx->tune;
  for (int i = 0; i < p->num_clblast; i++) {
    const char *names[CLNN_TUNE_MAX_CLBLAST_PARAMS];
    for (int j = 0; j < p->clblast[i].count; j++) names[j] = p->clblast[i].names[j];
    clnn_status s = clnn__gemm_clblast_override(ctx, p->clblast[i].kernel, (size_t)p->clblast[i].count, names,
                                                p->clblast[i].values);
    if (s != CLNN_SUCCESS)
      clnn__log(CLNN_LOG_WARN, "tuned CLBlast parameters for %s (%s) not applied: %s", p->clblast[i].kernel,
                p->source, clnn_last_error());
  }
}

static const char *clblast_meaning(CLBlastStatusCode s) {
  switch (s) {
    case CLBlastNotImplemented: return "routine or option not implemented";
    case CLBlastInvalidMatrixA: return "matrix A is not a valid OpenCL buffer";
    case CLBlastInvalidMatrixB: return "matrix B is not a valid OpenCL buffer";
    case CLBlastInvalidMatrixC: return "matrix C is not a valid OpenCL buffer";
    case CLBlastInvalidDimension: return "M, N and K must be larger than zero";
    case CLBlastInvalidLeadDimA: return "leading dimension of A too small";
    case CLBlastInvalidLeadDimB: return "leading dimension of B too small";
    case CLBlastInvalidLeadDimC: return "leading dimension of C too small";
    case CLBlastInsufficientMemoryA: return "buffer of A too small";
    case CLBlastInsufficientMemoryB: return "buffer of B too small";
    case CLBlastInsufficientMemoryC: return "buffer of C too small";
    case CLBlastInsufficientMemoryTemp: return "temporary buffer too small";
    case CLBlastInvalidBatchCount: return "batch count must be positive";
    case CLBlastInvalidOverrideKernel: return "override for an invalid kernel";
    case CLBlastMissingOverrideParameter: return "missing override parameter";
    case CLBlastInvalidLocalMemUsage: return "not enough local memory on the device";
    case CLBlastNoHalfPrecision: return "no half precision on the device";
    case CLBlastNoDoublePrecision: return "no double precision on the device";
    case CLBlastDatabaseError: return "no entry for the device in CLBlast's database";
    case CLBlastUnknownError: return "unknown error";
    case CLBlastUnexpectedError: return "unexpected error";
    case CLBlastOpenCLBuildProgramFailure: return "OpenCL compilation of a CLBlast kernel failed";
    case CLBlastTempBufferAllocFailure: return "temporary buffer allocation failed";
    case CLBlastOpenCLOutOfResources: return "OpenCL out of resources";
    case CLBlastOpenCLOutOfHostMemory: return "out of host memory";
    default: return clnn__cl_error_name((cl_int)s);
  }
}

static clnn_status from_clblast(CLBlastStatusCode s, const char *what) {
  if (s == CLBlastSuccess) return CLNN_SUCCESS;
  if (s == CLBlastTempBufferAllocFailure || s == CLBlastOpenCLOutOfHostMemory)
    return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "%s: CLBlast: %s (%d)", what, clblast_meaning(s), (int)s);
  return clnn__error(CLNN_ERROR_GEMM, "%s: CLBlast: %s (%d)", what, clblast_meaning(s), (int)s);
}

/* C = beta*C when K = 0 (CLBlast rejects K = 0). */
clnn_status clnn__gemm_scale_c(clnn_context *ctx, size_t m, size_t n, float beta, cl_mem c, size_t c_off,
                           size_t ldc) {
  if (beta == 1.0f) return CLNN_SUCCESS;
  for (size_t i = 0; i < m; i++) {
    CLBlastStatusCode s;
    if (beta == 0.0f) {
      float zero = 0.0f;
      cl_int err = clEnqueueFillBuffer(ctx->queue, c, &zero, sizeof zero, (c_off + i * ldc) * sizeof(float),
                                       n * sizeof(float), 0, NULL, NULL);
      if (err != CL_SUCCESS) return clnn__cl_error(err, "gemm: zeroing C");
      continue;
    }
    s = CLBlastSscal(n, beta, c, c_off + i * ldc, 1, &ctx->queue, NULL);
    if (s != CLBlastSuccess) return from_clblast(s, "gemm (K = 0): scaling C");
  }
  return CLNN_SUCCESS;
}

/* CLBlast 1.5.3's strided-batched SGEMM, on its indirect path (m*n*k at or above
 * XGEMM_MIN_INDIRECT_SIZE cubed), skips its pad/transpose copy of an operand whose stored rows are
 * unpadded (ld equal to the row length), that needs no transpose in its column-major view and whose
 * sizes are multiples of its tiles, and then reads that operand at offset 0 with a batch stride of
 * rows x ld: the offset and batch stride it was given are ignored (its non-batched Xgemm checks the
 * offset; the batched one checks neither). Convolution backward-data passes the weights
 * as a transposed A of batch stride 0 and got garbage or NaN. clnn never hands CLBlast such an
 * operand: one at risk (unpadded rows, and an offset or a batch stride other than 0 and rows x
 * cols) is first copied into the GEMM workspace (slot 6) with one float of padding per row, which
 * CLBlast always copies through its pad kernels (those honour offsets and strides); an output at
 * risk is computed there and copied back. tests/test_gemm_clblast_paths.c checks every case. */
typedef struct operand {
  cl_mem mem;
  size_t off, ld, stride, rows, cols; /* as stored, row-major, in floats */
  int moved;                          /* 1: now in the workspace at off, with ld = cols + 1 */
} operand;

static int at_risk(const operand *o) { return o->ld == o->cols && (o->off != 0 || o->stride != o->rows * o->cols); }

/* Copies `batch` (1 when stride is 0) row-major rows x cols matrices between (src, ld, stride) and
 * (dst, ld, stride) layouts; to_ws: from the caller's layout in `o`'s original place to its
 * workspace place, else back. */
static clnn_status copy_entries(clnn_context *ctx, const operand *o, cl_mem user, size_t user_off, size_t user_ld,
                                size_t user_stride, size_t batch, int to_ws) {
  size_t n = user_stride == 0 ? 1 : batch, f = sizeof(float);
  size_t user_origin[3] = {user_off * f, 0, 0}, ws_origin[3] = {o->off * f, 0, 0};
  size_t uslice = user_stride * f, wslice = o->stride * f;
  /* One 3-D rectangle when the caller's entries do not interleave and the stride is whole rows
   * (OpenCL's slice pitch rules), else one 2-D copy each. */
  size_t per = user_stride >= o->rows * user_ld && user_stride % user_ld == 0 ? n : 1;
  size_t region[3] = {o->cols * f, o->rows, per};
  for (size_t i = 0; i < n; i += per) {
    size_t uo[3] = {user_origin[0] + i * uslice, 0, 0}, wo[3] = {ws_origin[0] + i * wslice, 0, 0};
    cl_int err = to_ws ? clEnqueueCopyBufferRect(ctx->queue, user, o->mem, uo, wo, region, user_ld * f,
                                                 per > 1 ? uslice : 0, o->ld * f, per > 1 ? wslice : 0, 0, NULL,
                                                 NULL)
                       : clEnqueueCopyBufferRect(ctx->queue, o->mem, user, wo, uo, region, o->ld * f,
                                                 per > 1 ? wslice : 0, user_ld * f, per > 1 ? uslice : 0, 0, NULL,
                                                 NULL);
    if (err != CL_SUCCESS) return clnn__cl_error(err, "gemm: repacking an operand for CLBlast");
  }
  return CLNN_SUCCESS;
}

/* Moves every operand at risk (see above) into workspace slot 6; the output's old values only when
 * beta reads them. */
static clnn_status repack_at_risk(clnn_context *ctx, operand op[3], size_t batch, int read_c) {
  size_t total = 0, place[3];
  for (int i = 0; i < 3; i++) {
    place[i] = total;
    if (at_risk(&op[i])) total += op[i].rows * (op[i].cols + 1) * (op[i].stride == 0 ? 1 : batch);
  }
  if (total == 0) return CLNN_SUCCESS;
  cl_mem ws;
  clnn_status st = clnn__workspace(ctx, 6, total * sizeof(float), &ws);
  if (st != CLNN_SUCCESS) return st;
  for (int i = 0; i < 3; i++) {
    if (!at_risk(&op[i])) continue;
    operand user = op[i];
    op[i].mem = ws;
    op[i].off = place[i];
    op[i].ld = user.cols + 1;
    op[i].stride = user.stride == 0 ? 0 : user.rows * (user.cols + 1);
    op[i].moved = 1;
    if ((i < 2 || read_c) &&
        (st = copy_entries(ctx, &op[i], user.mem, user.off, user.ld, user.stride, batch, 1)) != CLNN_SUCCESS)
      return st;
  }
  return CLNN_SUCCESS;
}

clnn_status clnn__gemm_clblast(clnn_context *ctx, int ta, int tb, size_t m, size_t n, size_t k, float alpha,
                               cl_mem a, size_t a_off, size_t lda, size_t a_stride, cl_mem b, size_t b_off,
                               size_t ldb, size_t b_stride, float beta, cl_mem c, size_t c_off, size_t ldc,
                               size_t c_stride, size_t batch) {
  ctx->used_clblast = 1;
  CLBlastTranspose tra = ta ? CLBlastTransposeYes : CLBlastTransposeNo;
  CLBlastTranspose trb = tb ? CLBlastTransposeYes : CLBlastTransposeNo;
  CLBlastStatusCode s;
  char what[160];
  snprintf(what, sizeof what, "gemm %s%s M=%zu N=%zu K=%zu batch=%zu", ta ? "T" : "N", tb ? "T" : "N", m, n, k,
           batch);
  if (batch == 1) {
    s = CLBlastSgemm(CLBlastLayoutRowMajor, tra, trb, m, n, k, alpha, a, a_off, lda, b, b_off, ldb, beta, c,
                     c_off, ldc, &ctx->queue, NULL);
    return from_clblast(s, what);
  }
  operand op[3] = {{a, a_off, lda, a_stride, ta ? k : m, ta ? m : k, 0},
                   {b, b_off, ldb, b_stride, tb ? n : k, tb ? k : n, 0},
                   {c, c_off, ldc, c_stride, m, n, 0}};
  clnn_status st = repack_at_risk(ctx, op, batch, beta != 0.0f);
  if (st != CLNN_SUCCESS) return st;
  s = CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, tra, trb, m, n, k, alpha, op[0].mem, op[0].off, op[0].ld,
                                 op[0].stride, op[1].mem, op[1].off, op[1].ld, op[1].stride, beta, op[2].mem,
                                 op[2].off, op[2].ld, op[2].stride, batch, &ctx->queue, NULL);
  if (s != CLBlastSuccess) return from_clblast(s, what);
  if (op[2].moved) return copy_entries(ctx, &op[2], c, c_off, ldc, c_stride, batch, 0);
  return CLNN_SUCCESS;
}

