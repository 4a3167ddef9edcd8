/* src/ops/loss.c — host side of the losses (cl/loss.cl): fused softmax cross-entropy with host
 * int32 labels (optionally skipping an ignore index: mean over the counted rows), binary cross-entropy with logits, mean squared error. Each writes the mean loss
 * (optional) and the gradient of the mean (optional). Means are deterministic: partial sums go to
 * workspace slot 3 and are summed in a fixed order (by loss_finish, or for cross-entropy by the
 * last work-group of its single launch); labels go to slot 2 with a non-blocking upload. */
#include <limits.h>
#include <string.h>

#include "internal.h"

/* The kernels this file launches. */
static clnn__kernel_ref k_bce_partial = CLNN_KERNEL_REF("loss", "bce_partial");
static clnn__kernel_ref k_loss_finish = CLNN_KERNEL_REF("loss", "loss_finish");
static clnn__kernel_ref k_mse_partial = CLNN_KERNEL_REF("loss", "mse_partial");
static clnn__kernel_ref k_xent_rows = CLNN_KERNEL_REF("loss", "xent_rows");
static clnn__kernel_ref k_xent_wg = CLNN_KERNEL_REF("loss", "xent_wg");

/* GPUs: one work-group per cross-entropy row and a multi-work-item final reduction. */
static int use_wg(const clnn_context *ctx) { return ctx->device_class != CLNN_DEVICE_CLASS_CPU; }

/* loss[0] = sum(partial[0..count)) / denom. */
static clnn_status loss_finish(clnn_context *ctx, cl_mem partial, size_t count, clnn_tensor *loss,
                               float denom) {
  size_t L = use_wg(ctx) ? clnn__local_pow2(ctx, &k_loss_finish, 256, count) : 1;
  return CLNN_RUN(ctx, &k_loss_finish, 1, &L, &L, CLNN_ARG_MEM(partial),
                  CLNN_ARG_ULONG(count), CLNN_ARG_MEM(loss->mem), CLNN_ARG_FLOAT(denom),
                  CLNN_ARG_LOCAL(L * sizeof(float)));
}

static clnn_status loss_check_scalar(clnn_context *ctx, const char *fn, const clnn_tensor *loss) {
  clnn_status s = clnn__check_tensor(ctx, loss, "loss");
  if (s != CLNN_SUCCESS) return s;
  if (loss->numel != 1) {
    char sl[96];
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH,
                       "%s: loss has shape %s; it must hold exactly 1 element", fn,
                       clnn__dims_str(loss, sl, sizeof sl));
  }
  return CLNN_SUCCESS;
}

/* Both cross-entropies; ignore: labels equal to ignore_index are skipped (staged as -1, the
 * kernels' XENT_IGNORED) and the mean is over the counted rows. */
static clnn_status xent(const char *fn, clnn_context *ctx, const clnn_tensor *logits,
                        const int32_t *labels, size_t num_labels, int ignore,
                        int32_t ignore_index, clnn_tensor *loss, clnn_tensor *dlogits) {
  clnn_status s;
  char sl[96];
  if ((s = clnn__check_tensor(ctx, logits, "logits")) != CLNN_SUCCESS) return s;
  if (logits->ndim != 2)
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: logits has shape %s; it must be 2-D [N, C]",
                       fn, clnn__dims_str(logits, sl, sizeof sl));
  size_t N = logits->dims[0], C = logits->dims[1];
  if (!labels) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: labels is NULL", fn);
  if (num_labels != N)
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH,
                       "%s: num_labels is %zu but logits has shape %s (%zu rows)", fn, num_labels,
                       clnn__dims_str(logits, sl, sizeof sl), N);
  if (loss && (s = loss_check_scalar(ctx, fn, loss)) != CLNN_SUCCESS) return s;
  if (dlogits) {
    if ((s = clnn__check_tensor(ctx, dlogits, "dlogits")) != CLNN_SUCCESS) return s;
    if ((s = clnn__check_same_shape(fn, dlogits, "dlogits", logits, "logits")) != CLNN_SUCCESS) return s;
  }
  /* dlogits may be logits (documented); the 1-element loss must be separate from both. */
  if ((s = clnn__check_alias(fn, loss, "loss", logits, "logits")) != CLNN_SUCCESS ||
      (s = clnn__check_alias(fn, loss, "loss", dlogits, "dlogits")) != CLNN_SUCCESS)
    return s;
  size_t counted = 0;
  for (size_t i = 0; i < N; i++) {
    if (ignore && labels[i] == ignore_index) continue;
    counted++;
    if (labels[i] < 0 || (size_t)labels[i] >= C)
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                         "%s: labels[%zu] is %d; labels must be in [0, %zu) for logits of shape %s",
                         fn, i, (int)labels[i], C, clnn__dims_str(logits, sl, sizeof sl));
  }
  if (!loss && !dlogits) return CLNN_SUCCESS; /* nothing asked for */

  if (N > (size_t)INT_MAX - 1 || C > (size_t)INT_MAX)
    return clnn__error(CLNN_ERROR_UNSUPPORTED,
                       "%s: logits has shape %s; at most %d rows and %d classes are supported", fn,
                       clnn__dims_str(logits, sl, sizeof sl), INT_MAX - 1, INT_MAX);

  /* Build the program and size the launch before anything is enqueued: one launch computes the
   * gradient and the mean loss (cl/loss.cl: the last work-group to finish sums the partials). */
  int wg = use_wg(ctx);
  size_t global, local, groups, chunk = 1;
  cl_kernel k;
  if ((s = clnn__kernel(ctx, wg ? &k_xent_wg : &k_xent_rows, &k)) != CLNN_SUCCESS) return s;
  if (wg) {
    local = clnn__local_pow2(ctx, &k_xent_wg, 256, C);
    groups = N;
    global = N * local;
  } else {
    size_t cu = ctx->info.compute_units ? ctx->info.compute_units : 1;
    chunk = (N + cu * 4 - 1) / (cu * 4);
    groups = global = (N + chunk - 1) / chunk;
    local = 1;
  }
  cl_mem partial = logits->mem; /* placeholder when no loss is wanted */
  if (loss && (s = clnn__workspace(ctx, 3, groups * sizeof(int32_t), &partial)) != CLNN_SUCCESS)
    return s;
  /* labels, then the int counter of finished work-groups (0) */
  int32_t *staged;
  if ((s = clnn__staging(ctx, (N + 1) * sizeof(int32_t), (void **)&staged)) != CLNN_SUCCESS) return s;
  memcpy(staged, labels, N * sizeof(int32_t));
  if (ignore)
    for (size_t i = 0; i < N; i++)
      if (labels[i] == ignore_index) staged[i] = -1; /* XENT_IGNORED */
  staged[N] = 0;
  cl_mem dlab;
  if ((s = clnn__upload_staged(ctx, 2, (N + 1) * sizeof(int32_t), &dlab)) != CLNN_SUCCESS) return s;
  cl_mem lmem = loss ? loss->mem : logits->mem;
  cl_mem dmem = dlogits ? dlogits->mem : logits->mem;
  /* every row ignored: a loss of 0 and a zero gradient (not 0/0) */
  float denom = counted ? (float)counted : 1.0f;
  float inv_n = (float)(1.0 / (double)(counted ? counted : 1));
  if (wg)
    return CLNN_RUN(ctx, &k_xent_wg, 1, &global, &local, CLNN_ARG_MEM(logits->mem),
                    CLNN_ARG_MEM(dlab), CLNN_ARG_MEM(partial), CLNN_ARG_MEM(lmem),
                    CLNN_ARG_MEM(dmem), CLNN_ARG_UINT((cl_uint)N), CLNN_ARG_ULONG(C),
                    CLNN_ARG_INT(loss != NULL), CLNN_ARG_INT(dlogits != NULL), CLNN_ARG_FLOAT(inv_n),
                    CLNN_ARG_FLOAT(denom), CLNN_ARG_LOCAL(local * sizeof(float)));
  return CLNN_RUN(ctx, &k_xent_rows, 1, &global, &local, CLNN_ARG_MEM(logits->mem),
                  CLNN_ARG_MEM(dlab), CLNN_ARG_MEM(partial), CLNN_ARG_MEM(lmem), CLNN_ARG_MEM(dmem),
                  CLNN_ARG_UINT((cl_uint)N), CLNN_ARG_UINT((cl_uint)chunk), CLNN_ARG_ULONG(C),
                  CLNN_ARG_INT(loss != NULL), CLNN_ARG_INT(dlogits != NULL),
                  CLNN_ARG_INT(dlogits && dlogits->mem == logits->mem), CLNN_ARG_FLOAT(inv_n),
                  CLNN_ARG_FLOAT(denom));
}

clnn_status clnn_softmax_cross_entropy(clnn_context *ctx, const clnn_tensor *logits,
                                       const int32_t *labels, size_t num_labels,
                                       clnn_tensor *loss, clnn_tensor *dlogits) {
  return xent("clnn_softmax_cross_entropy", ctx, logits, labels, num_labels, 0, 0, loss, dlogits);
}

clnn_status clnn_softmax_cross_entropy_ignore(clnn_context *ctx, const clnn_tensor *logits,
                                              const int32_t *labels, size_t num_labels,
                                              int32_t ignore_index, clnn_tensor *loss,
                                              clnn_tensor *dlogits) {
  return xent("clnn_softmax_cross_entropy_ignore", ctx, logits, labels, num_labels, 1,
              ignore_index, loss, dlogits);
}

/* BCE-with-logits and MSE share everything but the kernel. */
static clnn_status loss_elementwise(clnn_context *ctx, const char *fn, clnn__kernel_ref *kernel,
                                    const clnn_tensor *x, const char *xn, const clnn_tensor *t,
                                    const char *tn, clnn_tensor *loss, clnn_tensor *dx,
                                    const char *dxn) {
  clnn_status s;
  if ((s = clnn__check_tensor(ctx, x, xn)) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_tensor(ctx, t, tn)) != CLNN_SUCCESS) return s;
  if ((s = clnn__check_same_shape(fn, t, tn, x, xn)) != CLNN_SUCCESS) return s;
  if (loss && (s = loss_check_scalar(ctx, fn, loss)) != CLNN_SUCCESS) return s;
  if (dx) {
    if ((s = clnn__check_tensor(ctx, dx, dxn)) != CLNN_SUCCESS) return s;
    if ((s = clnn__check_same_shape(fn, dx, dxn, x, xn)) != CLNN_SUCCESS) return s;
  }
  /* dx may be x or the target (each element is read before it is written); loss must be separate. */
  if ((s = clnn__check_alias(fn, loss, "loss", x, xn)) != CLNN_SUCCESS ||
      (s = clnn__check_alias(fn, loss, "loss", t, tn)) != CLNN_SUCCESS ||
      (s = clnn__check_alias(fn, loss, "loss", dx, dxn)) != CLNN_SUCCESS)
    return s;
  if (!loss && !dx) return CLNN_SUCCESS;

  size_t n = x->numel;
  const clnn__launch l = clnn__launch_1d(ctx, kernel, n, CLNN_LAUNCH_REDUCE);
  size_t global = l.global; /* the number of partial sums */
  cl_mem partial = x->mem; /* placeholder when no loss is wanted */
  if (loss && (s = clnn__workspace(ctx, 3, global * sizeof(float), &partial)) != CLNN_SUCCESS)
    return s;
  cl_mem dmem = dx ? dx->mem : x->mem;
  s = CLNN_RUN(ctx, kernel, 1, &l.global, &l.local, CLNN_ARG_MEM(x->mem), CLNN_ARG_MEM(t->mem),
               CLNN_ARG_MEM(partial), CLNN_ARG_MEM(dmem), CLNN_ARG_ULONG(n), CLNN_ARG_ULONG(l.chunk),
               CLNN_ARG_INT(loss != NULL), CLNN_ARG_INT(dx != NULL),
               CLNN_ARG_FLOAT((float)(1.0 / (double)n)));
  if (s != CLNN_SUCCESS || !loss) return s;
  return loss_finish(ctx, partial, global, loss, (float)n);
}

clnn_status clnn_bce_with_logits(clnn_context *ctx, const clnn_tensor *logits,
                                 const clnn_tensor *targets, clnn_tensor *loss,
                                 clnn_tensor *dlogits) {
  return loss_elementwise(ctx, "clnn_bce_with_logits", &k_bce_partial, logits, "logits", targets,
                          "targets", loss, dlogits, "dlogits");
}

clnn_status clnn_mse_loss(clnn_context *ctx, const clnn_tensor *pred, const clnn_tensor *target,
                          clnn_tensor *loss, clnn_tensor *dpred) {
  return loss_elementwise(ctx, "clnn_mse_loss", &k_mse_partial, pred, "pred", target, "target",
                          loss, dpred, "dpred");
}
