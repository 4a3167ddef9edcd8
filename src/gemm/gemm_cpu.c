/* src/gemm/gemm_cpu.c — clnn's own CPU-shaped GEMM: cl/gemm_cpu.cl with the context's tuned tile
 * sizes (measured faster than CLBlast on PoCL's CPU device). src/gemm.c decides when it runs; this
 * file picks per call the orientation and packing that moves the least data (see the kernel file
 * for the scheme). */
#include "gemm/gemm_paths.h"

#include <stdio.h>
#include <string.h>

/* Packs Y [K x cols] (Y(k, c) = S[off + k*ld + c], or S[off + c*ld + k] when trans) into panels of
 * nr columns, in the context's GEMM workspace (slot 6): it grows to the largest operand packed and
 * is reused, so steady-state GEMMs do not allocate. The queue is in order, so the next GEMM's
 * packing waits for this GEMM to have read it. */
/* The kernels of cl/gemm_cpu.cl this file launches: the packing kernel and the GEMM kernel of
 * each width, indexed [wide] (orientation and X's layout are arguments). */
static clnn__kernel_ref k_gemm_pack = CLNN_KERNEL_REF("gemm_cpu", "gemm_pack");
static clnn__kernel_ref k_gemm[2] = {CLNN_KERNEL_REF("gemm_cpu", "gemm_n"), CLNN_KERNEL_REF("gemm_cpu", "gemm_w")};

static clnn_status pack(clnn_context *ctx, size_t K, size_t cols, int nr, int trans, cl_mem s, size_t off,
                        size_t ld, size_t stride, size_t kseg, size_t ks, size_t batch, cl_mem *out,
                        size_t *per_batch) {
  size_t panels = (cols + (size_t)nr - 1) / (size_t)nr;
  size_t pb_floats = panels * K * (size_t)nr;
  size_t nb = stride == 0 ? 1 : batch; /* a shared operand is packed once */
  int ok = 1;
  size_t bytes = clnn__mul_size(clnn__mul_size(pb_floats, nb, &ok), sizeof(float), &ok);
  if (!ok || bytes > ctx->info.max_alloc_bytes)
    return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "gemm: packed operand of %zu floats too large", pb_floats * nb);
  cl_mem p = NULL;
  clnn_status ws = clnn__workspace(ctx, 6, bytes, &p);
  if (ws != CLNN_SUCCESS) return ws;
  /* see gemm_pack: GEMM_PACK_K (64) k of one panel per work-item; the panels run along
   * dimension 0 of the grid for a row-major source, the k blocks for a transposed one */
  size_t global[3] = {panels, (K + 63) / 64, nb};
  if (trans) {
    global[0] = (K + 63) / 64;
    global[1] = panels;
  }
  const size_t local[3] = {1, 1, 1};
  clnn_status st = CLNN_RUN(ctx, &k_gemm_pack, 3, global, local, CLNN_ARG_INT(K), CLNN_ARG_INT(cols),
                            CLNN_ARG_INT(nr), CLNN_ARG_INT(trans), CLNN_ARG_MEM(s), CLNN_ARG_LONG(off),
                            CLNN_ARG_INT(ld), CLNN_ARG_LONG(stride), CLNN_ARG_INT(kseg), CLNN_ARG_LONG(ks),
                            CLNN_ARG_MEM(p),
                            CLNN_ARG_LONG(stride == 0 ? 0 : pb_floats));
  if (st != CLNN_SUCCESS) return st;
  *out = p;
  *per_batch = stride == 0 ? 0 : pb_floats;
  return CLNN_SUCCESS;
}

/* What the last clnn__gemm_cpu call on this thread launched (a test hook): "gemm_<orientation>_
 * <width>_<y>", orientation "cn" or "ct" (the kernel is gemm_<width>), y "packed" or "inplace". */
static _Thread_local char last_kernel[32] = "none";
const char *clnn__own_gemm_last_kernel(void) { return last_kernel; }

clnn_status clnn__gemm_cpu(clnn_context *ctx, int ta, int tb, size_t m, size_t n, size_t k, float alpha, cl_mem a,
                           size_t a_off, size_t lda, size_t a_stride, cl_mem b, size_t b_off, size_t ldb,
                           size_t b_stride, float beta, cl_mem c, size_t c_off, size_t ldc, size_t c_stride,
                           size_t batch) {
  return clnn__gemm_cpu_kseg(ctx, ta, tb, m, n, k, k, alpha, a, a_off, lda, a_stride, 0, b, b_off, ldb, b_stride, 0,
                             beta, c, c_off, ldc, c_stride, batch);
}

/* Whether Y, where it could be read in place (k-major), is packed anyway: where many row blocks
 * (at least pack_min rows) reuse each panel and the reduction is long (at least pack_min_k). A
 * panel of a short reduction (k <= 256 at the built-in 257: 32 columns x k floats, at most 32 KiB)
 * stays in the core's L1/L2 while the row blocks pass over it, whatever Y's leading dimension, and
 * the pack's extra pass over Y costs more than it saves. Measured on PoCL (2-core Zen 5, one
 * thread, minima of 30 runs, in place vs packed, ms): 256x3136x64 (conv_1x1_56 per image)
 * 0.53 vs 0.56 (two threads), 256x3136x128 2.15-2.23 vs 2.35-2.46, 512x784x256 1.95-1.99 vs
 * 2.14-2.26, 256x3136x256 4.30-4.46 vs 4.86-5.09, 512x4096x256 (power-of-two leading
 * dimension) 11.1-11.2 vs 12.0-12.3. */
static int pack_anyway(const clnn__tune_params *p, size_t rows, size_t k) {
  return (long)rows >= p->pack_min && (long)k >= p->pack_min_k;
}

clnn_status clnn__gemm_cpu_kseg(clnn_context *ctx, int ta, int tb, size_t m, size_t n, size_t k, size_t kseg,
                                float alpha, cl_mem a, size_t a_off, size_t lda, size_t a_stride, size_t a_ks,
                                cl_mem b, size_t b_off, size_t ldb, size_t b_stride, size_t b_ks, float beta,
                                cl_mem c, size_t c_off, size_t ldc, size_t c_stride, size_t batch) {
  if (kseg == 0 || kseg >= k) {
    kseg = k;
    a_ks = b_ks = 0;
  }
  const clnn__tune_params *p = &ctx->tune;
  const int vw = p->vw ? p->vw : 16, nv = p->nv ? p->nv : 2, mr = p->mr ? p->mr : 6, mr_n = p->mr_n ? p->mr_n : 12;
  const int rt = p->rt ? p->rt : 1;
  const size_t nr_w = (size_t)(vw * nv), nr_n = (size_t)vw;

  /* Orientation. Normal: P = C, X = op(A) (rows m), Y = op(B) (cols n), Y in place when tb == 0.
   * Transposed: P = C^T, X = op(B)^T (rows n), Y = op(A)^T (cols m), in place when ta == 1.
   * Cost in floats moved besides the product itself, over the whole batch: packing Y (K*cols,
   * once when Y is shared by the batch (stride 0), else once per matrix), and for the transposed
   * orientation the element-wise stores of C (counted as 2 per element). Counting the shared
   * operand once is what sends conv2d's forward with a long reduction and few pixels per image
   * (w shared, im2col columns per image, e.g. K 256, C*R*S 2304, 196 pixels, 2 images) to the
   * transposed orientation: w^T packed once and the columns read in place, 5.1 vs 5.9 ms on one
   * PoCL thread (im2col + pack + GEMM, minima of 60 runs). */
  int transposed;
  {
    double kd = (double)k, md = (double)m, nd = (double)n, bd = (double)batch;
    double packs_n = b_stride == 0 ? 1.0 : bd, packs_t = a_stride == 0 ? 1.0 : bd;
    double cost_n = (tb || pack_anyway(p, m, k) || n < nr_n) ? kd * nd * packs_n : 0.0;
    double cost_t = ((!ta || pack_anyway(p, n, k) || m < nr_n) ? kd * md * packs_t : 0.0) + 2.0 * md * nd * bd;
    /* few columns waste vector lanes: prefer the orientation whose vectors run along the longer side */
    if (n < nr_n && m >= nr_n) cost_n += kd * md * bd;
    if (m < nr_n && n >= nr_n) cost_t += kd * nd * bd;
    transposed = cost_t < cost_n;
  }
  size_t rows, cols;
  int x_k_contig, y_trans, y_inplace;
  cl_mem X, Y;
  size_t x_off, ldx, x_bs, x_ks, y_off, ldy, y_bs, y_ks;
  if (!transposed) {
    rows = m;
    cols = n;
    X = a; x_off = a_off; ldx = lda; x_bs = a_stride; x_ks = a_ks;
    x_k_contig = !ta;
    Y = b; y_off = b_off; ldy = ldb; y_bs = b_stride; y_ks = b_ks;
    y_trans = tb;
    y_inplace = !tb && !pack_anyway(p, m, k);
  } else {
    rows = n;
    cols = m;
    X = b; x_off = b_off; ldx = ldb; x_bs = b_stride; x_ks = b_ks;
    x_k_contig = tb;
    Y = a; y_off = a_off; ldy = lda; y_bs = a_stride; y_ks = a_ks;
    y_trans = !ta;
    y_inplace = ta && !pack_anyway(p, n, k);
  }
  /* width: narrow kernels when the product has fewer columns than a wide panel */
  const int wide = cols >= nr_w;
  const size_t nr = wide ? nr_w : nr_n;
  const int prows = wide ? mr : mr_n;
  if (y_inplace && cols < nr) y_inplace = 0; /* the shifted edge panel needs cols >= nr */

  cl_mem packed = NULL;
  size_t y_ps = 0, y_rs;
  if (!y_inplace) {
    size_t per = 0;
    clnn_status st = pack(ctx, k, cols, (int)nr, y_trans, Y, y_off, ldy, y_bs, kseg, y_ks, batch, &packed, &per);
    if (st != CLNN_SUCCESS) return st;
    Y = packed;
    y_off = 0;
    y_rs = nr;
    y_ps = k * nr;
    y_bs = per;
    y_ks = kseg * nr; /* the packed panel runs on through the segments */
  } else {
    y_rs = ldy;
  }
  char kname[32];
  snprintf(kname, sizeof kname, "gemm_%s_%s_%s", transposed ? "ct" : "cn", wide ? "w" : "n",
           y_inplace ? "inplace" : "packed");
  memcpy(last_kernel, kname, sizeof last_kernel);
  clnn__kernel_ref *kernel = &k_gemm[wide != 0];
  size_t row_groups = (rows + (size_t)(prows * rt) - 1) / (size_t)(prows * rt);
  /* order 0: row groups fastest, so consecutive work-groups (which PoCL hands to a thread in runs)
   * share one panel of Y, which stays in the core's L2 while X streams past it */
  const size_t panels = (cols + nr - 1) / nr;
  size_t global[3] = {row_groups, panels, batch};
  if (p->order == 2) {
    global[0] = panels;
    global[1] = row_groups;
  }
  const size_t local[3] = {1, 1, 1};
  clnn_status st = CLNN_RUN(ctx, kernel, 3, global, local, CLNN_ARG_INT(rows), CLNN_ARG_INT(cols),
                            CLNN_ARG_INT(k), CLNN_ARG_FLOAT(alpha), CLNN_ARG_FLOAT(beta), CLNN_ARG_MEM(X),
                            CLNN_ARG_LONG(x_off), CLNN_ARG_INT(ldx), CLNN_ARG_LONG(x_bs), CLNN_ARG_MEM(Y),
                            CLNN_ARG_LONG(y_off), CLNN_ARG_INT(y_rs), CLNN_ARG_LONG(y_ps), CLNN_ARG_LONG(y_bs),
                            CLNN_ARG_INT(y_inplace), CLNN_ARG_INT(x_k_contig != 0), CLNN_ARG_INT(transposed != 0),
                            CLNN_ARG_INT(kseg), CLNN_ARG_LONG(x_ks),
                            CLNN_ARG_LONG(y_ks), CLNN_ARG_MEM(c), CLNN_ARG_LONG(c_off), CLNN_ARG_INT(ldc),
                            CLNN_ARG_LONG(c_stride));
  return st; /* `packed` is the context's workspace: nothing to release */
}
