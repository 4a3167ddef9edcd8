/* src/ops/attention.c — host side of scaled dot-product attention (cl/attention.cl): argument
 * checks, layouts ([B, H, T, Dh] or [B, T, H*Dh]), the key-length mask uploaded through the
 * staging buffer (workspace slot 2), dropout on the weights keyed like clnn_dropout_*, and the
 * launches: forward (online softmax, log-sum-exp saved per query row), backward as delta = rowsum
 * (dO * o) (workspace slot 3), then dk/dv (one work-item per key row) and dq (one per query row).
 * No [Tq, Tk] matrix is ever stored and nothing uses atomics, so results repeat bit for bit. */
#include "internal.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define ATTN_DMAX 128 /* as in cl/attention.cl */
#define ATTN_TMAX 64

/* The kernels this file launches. */
static clnn__kernel_ref k_attn_bwd_delta = CLNN_KERNEL_REF("attention", "attn_bwd_delta");
static clnn__kernel_ref k_attn_bwd_dkdv = CLNN_KERNEL_REF("attention", "attn_bwd_dkdv");
static clnn__kernel_ref k_attn_bwd_dq = CLNN_KERNEL_REF("attention", "attn_bwd_dq");
static clnn__kernel_ref k_attn_forward = CLNN_KERNEL_REF("attention", "attn_forward");

void clnn_attention_params_init(clnn_attention_params *p) {
  if (!p) return;
  memset(p, 0, sizeof *p);
  p->struct_size = (uint32_t)sizeof *p;
  p->layout = CLNN_ATTENTION_BHTD;
}

typedef struct attn_geom {
  size_t B, H, Tq, Tk, Dh;
  size_t qsb, qsh, qst, ksb, ksh, kst; /* strides of q-like and k-like tensors */
  float scale, dscale;
  cl_uint thr;
  int causal;
} attn_geom;

static clnn_status check_same(const char *fn, const clnn_tensor *t, const char *name,
                              const clnn_tensor *like, const char *like_name) {
  if (clnn__same_dims(t, like)) return CLNN_SUCCESS;
  char a[128], b[128];
  return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: %s has shape %s, expected %s (the shape of %s)",
                     fn, name, clnn__dims_str(t, a, sizeof a), clnn__dims_str(like, b, sizeof b),
                     like_name);
}

/* Shapes, parameters and lengths of q, k, v; fills g. */
static clnn_status check_common(const char *fn, clnn_context *ctx, const clnn_attention_params *p,
                                const clnn_tensor *q, const clnn_tensor *k, const clnn_tensor *v,
                                attn_geom *g) {
  clnn_status s;
  char a[128], b[128];
  if (!ctx) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: ctx is NULL", fn);
  if (!p) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: params is NULL", fn);
  if ((s = clnn__check_tensor_in(fn, ctx, q, "q")) || (s = clnn__check_tensor_in(fn, ctx, k, "k")) ||
      (s = clnn__check_tensor_in(fn, ctx, v, "v")))
    return s;
  memset(g, 0, sizeof *g);
  if (p->layout == CLNN_ATTENTION_BHTD) {
    if (q->ndim != 4 || k->ndim != 4)
      return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: q has shape %s and k %s; with layout "
                         "CLNN_ATTENTION_BHTD both must be 4-D [B, H, T, Dh]", fn,
                         clnn__dims_str(q, a, sizeof a), clnn__dims_str(k, b, sizeof b));
    g->B = q->dims[0];
    g->H = q->dims[1];
    g->Tq = q->dims[2];
    g->Dh = q->dims[3];
    g->Tk = k->dims[2];
    if (k->dims[0] != g->B || k->dims[1] != g->H || k->dims[3] != g->Dh)
      return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: k has shape %s; it must be [%zu, %zu, Tk, "
                         "%zu] for q %s", fn, clnn__dims_str(k, a, sizeof a), g->B, g->H, g->Dh,
                         clnn__dims_str(q, b, sizeof b));
    if (p->heads != 0 && (size_t)p->heads != g->H)
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: heads is %d but q %s has %zu heads "
                         "(dimension 1); pass 0 or %zu", fn, p->heads,
                         clnn__dims_str(q, a, sizeof a), g->H, g->H);
    g->qst = g->Dh;
    g->qsh = g->Tq * g->Dh;
    g->qsb = g->H * g->qsh;
    g->kst = g->Dh;
    g->ksh = g->Tk * g->Dh;
    g->ksb = g->H * g->ksh;
  } else if (p->layout == CLNN_ATTENTION_BTHD) {
    if (q->ndim != 3 || k->ndim != 3)
      return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: q has shape %s and k %s; with layout "
                         "CLNN_ATTENTION_BTHD both must be 3-D [B, T, H*Dh]", fn,
                         clnn__dims_str(q, a, sizeof a), clnn__dims_str(k, b, sizeof b));
    size_t model = q->dims[2];
    if (p->heads < 1 || model % (size_t)p->heads != 0)
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: heads is %d; it must be >= 1 and divide "
                         "the model dimension %zu of q %s", fn, p->heads, model,
                         clnn__dims_str(q, a, sizeof a));
    g->B = q->dims[0];
    g->Tq = q->dims[1];
    g->H = (size_t)p->heads;
    g->Dh = model / g->H;
    g->Tk = k->dims[1];
    if (k->dims[0] != g->B || k->dims[2] != model)
      return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: k has shape %s; it must be [%zu, Tk, %zu] "
                         "for q %s", fn, clnn__dims_str(k, a, sizeof a), g->B, model,
                         clnn__dims_str(q, b, sizeof b));
    g->qst = model;
    g->qsh = g->Dh;
    g->qsb = g->Tq * model;
    g->kst = model;
    g->ksh = g->Dh;
    g->ksb = g->Tk * model;
  } else {
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: layout is %d; it must be "
                       "CLNN_ATTENTION_BHTD (0) or CLNN_ATTENTION_BTHD (1)", fn, (int)p->layout);
  }
  if ((s = check_same(fn, v, "v", k, "k"))) return s;
  if (g->Dh > ATTN_DMAX)
    return clnn__error(CLNN_ERROR_UNSUPPORTED, "%s: the head dimension Dh is %zu (q %s); at most "
                       "%d is supported", fn, g->Dh, clnn__dims_str(q, a, sizeof a), ATTN_DMAX);
  if (!(isfinite(p->scale) && p->scale >= 0.0f))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: scale is %g; it must be finite and >= 0 "
                       "(0: 1/sqrt(Dh))", fn, (double)p->scale);
  if (!(p->dropout >= 0.0f && p->dropout < 1.0f))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: dropout is %g; it must be in [0, 1)", fn,
                       (double)p->dropout);
  if (p->causal != 0 && p->causal != 1)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: causal is %d; it must be 0 or 1", fn,
                       p->causal);
  if (p->causal && g->Tk < g->Tq)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: causal with %zu queries but only %zu keys; "
                       "a causal mask needs Tk >= Tq (the queries are the last Tq positions)", fn,
                       g->Tq, g->Tk);
  if (g->Tk > (size_t)INT_MAX)
    return clnn__error(CLNN_ERROR_UNSUPPORTED, "%s: at most %d keys are supported", fn, INT_MAX);
  if (p->lengths && p->num_lengths != g->B)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: num_lengths is %zu but the batch has %zu "
                       "sequences (one key length each)", fn, p->num_lengths, g->B);
  if (p->lengths)
    for (size_t i = 0; i < g->B; i++)
      if (p->lengths[i] < 1 || (size_t)p->lengths[i] > g->Tk)
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: lengths[%zu] is %d; key lengths must "
                           "be in [1, %zu] (Tk of k %s)", fn, i, (int)p->lengths[i], g->Tk,
                           clnn__dims_str(k, a, sizeof a));
  g->scale = p->scale > 0.0f ? p->scale : (float)(1.0 / sqrt((double)g->Dh));
  g->causal = p->causal;
  g->thr = (cl_uint)((double)p->dropout * 4294967296.0);
  g->dscale = (float)(1.0 / (1.0 - (double)p->dropout));
  return CLNN_SUCCESS;
}

/* t (if not NULL) is on ctx and holds B*H*Tq elements. */
static clnn_status check_lse(const char *fn, const clnn_context *ctx, const clnn_tensor *t,
                             const attn_geom *g) {
  if (!t) return CLNN_SUCCESS;
  clnn_status s = clnn__check_tensor_in(fn, ctx, t, "lse");
  if (s) return s;
  if (t->numel == g->B * g->H * g->Tq) return CLNN_SUCCESS;
  char a[128];
  return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: lse has shape %s; it must hold B*H*Tq = "
                     "%zu*%zu*%zu elements, e.g. [%zu, %zu, %zu]", fn, clnn__dims_str(t, a, sizeof a),
                     g->B, g->H, g->Tq, g->B, g->H, g->Tq);
}

/* Rows per work-group (the local size) and rows per local-memory tile. */
static clnn_status plan(clnn_context *ctx, clnn__kernel_ref *kernel, const attn_geom *g, size_t *local,
                        size_t *tile) {
  cl_kernel kk;
  clnn_status s = clnn__kernel(ctx, kernel, &kk); /* built first: a build error is reported here */
  if (s) return s;
  size_t L = ctx->device_class == CLNN_DEVICE_CLASS_CPU ? 32 : 64, lim = clnn__kernel_wg_limit(ctx, kernel);
  while (L > 1 && L > lim) L /= 2;
  *local = L;
  /* two tiles of tile x Dh floats (plus 2*ATTN_TMAX row statistics) within 24 KiB and half the
   * device's local memory */
  size_t budget = 24 * 1024;
  if (ctx->info.local_mem_bytes && ctx->info.local_mem_bytes / 2 < budget)
    budget = (size_t)ctx->info.local_mem_bytes / 2;
  size_t t = ATTN_TMAX;
  while (t > 1 && 2 * t * g->Dh * sizeof(float) + 2 * ATTN_TMAX * sizeof(float) > budget) t /= 2;
  *tile = t;
  size_t need = 2 * t * g->Dh * sizeof(float) + 2 * ATTN_TMAX * sizeof(float);
  if (ctx->info.local_mem_bytes && need > ctx->info.local_mem_bytes)
    return clnn__error(CLNN_ERROR_UNSUPPORTED,
                       "attention: head size Dh = %zu needs %zu bytes of local memory per work-group, "
                       "above the device's %llu",
                       g->Dh, need, (unsigned long long)ctx->info.local_mem_bytes);
  return CLNN_SUCCESS;
}

/* Uploads the lengths (or returns a placeholder buffer when there are none). */
static clnn_status upload_lengths(clnn_context *ctx, const clnn_attention_params *p,
                                  const attn_geom *g, cl_mem placeholder, cl_mem *out) {
  if (!p->lengths) {
    *out = placeholder;
    return CLNN_SUCCESS;
  }
  int32_t *staged;
  clnn_status s = clnn__staging(ctx, g->B * sizeof(int32_t), (void **)&staged);
  if (s) return s;
  memcpy(staged, p->lengths, g->B * sizeof(int32_t));
  return clnn__upload_staged(ctx, 2, g->B * sizeof(int32_t), out);
}

#define GEOM_ARGS(g, lens, has_len, p)                                                          \
  CLNN_ARG_MEM(lens), CLNN_ARG_INT(has_len), CLNN_ARG_ULONG((g).H), CLNN_ARG_ULONG((g).Tq),      \
      CLNN_ARG_ULONG((g).Tk), CLNN_ARG_ULONG((g).Dh), CLNN_ARG_ULONG((g).qsb),                   \
      CLNN_ARG_ULONG((g).qsh), CLNN_ARG_ULONG((g).qst), CLNN_ARG_ULONG((g).ksb),                 \
      CLNN_ARG_ULONG((g).ksh), CLNN_ARG_ULONG((g).kst), CLNN_ARG_FLOAT((g).scale),               \
      CLNN_ARG_INT((g).causal), CLNN_ARG_UINT((g).thr), CLNN_ARG_FLOAT((g).dscale),              \
      CLNN_ARG_UINT((cl_uint)((p)->seed & 0xFFFFFFFFu)), CLNN_ARG_UINT((cl_uint)((p)->seed >> 32)), \
      CLNN_ARG_ULONG((p)->offset)

clnn_status clnn_attention_forward(clnn_context *ctx, const clnn_attention_params *p,
                                   const clnn_tensor *q, const clnn_tensor *k,
                                   const clnn_tensor *v, clnn_tensor *o, clnn_tensor *lse) {
  static const char fn[] = "clnn_attention_forward";
  clnn_attention_params p_in;
  CLNN__STRUCT_IN(CLNN__ATTENTION_PARAMS, fn, "p", p, p_in);
  attn_geom g;
  clnn_status s;
  if ((s = check_common(fn, ctx, p, q, k, v, &g))) return s;
  if ((s = clnn__check_tensor_in(fn, ctx, o, "o")) || (s = check_same(fn, o, "o", q, "q")) ||
      (s = check_lse(fn, ctx, lse, &g)))
    return s;
  const clnn_tensor *outs[] = {o, lse}, *ins[] = {q, k, v};
  const char *on[] = {"o", "lse"}, *in[] = {"q", "k", "v"};
  if ((s = clnn__check_cross(fn, outs, on, 2, outs, on, 2)) || (s = clnn__check_cross(fn, outs, on, 2, ins, in, 3)))
    return s;
  size_t L, tile;
  if ((s = plan(ctx, &k_attn_forward, &g, &L, &tile))) return s;
  cl_mem lens;
  if ((s = upload_lengths(ctx, p, &g, q->mem, &lens))) return s;
  size_t global[2] = {(g.Tq + L - 1) / L * L, g.B * g.H}, local[2] = {L, 1};
  return CLNN_RUN(ctx, &k_attn_forward, 2, global, local, CLNN_ARG_MEM(q->mem),
                  CLNN_ARG_MEM(k->mem), CLNN_ARG_MEM(v->mem), CLNN_ARG_MEM(o->mem),
                  CLNN_ARG_MEM(lse ? lse->mem : o->mem), CLNN_ARG_INT(lse != NULL),
                  GEOM_ARGS(g, lens, p->lengths != NULL, p),
                  CLNN_ARG_LOCAL(tile * g.Dh * sizeof(float)),
                  CLNN_ARG_LOCAL(tile * g.Dh * sizeof(float)), CLNN_ARG_ULONG(tile));
}

clnn_status clnn_attention_backward(clnn_context *ctx, const clnn_attention_params *p,
                                    const clnn_tensor *q, const clnn_tensor *k,
                                    const clnn_tensor *v, const clnn_tensor *o,
                                    const clnn_tensor *lse, const clnn_tensor *dout, float beta,
                                    clnn_tensor *dq, clnn_tensor *dk, clnn_tensor *dv) {
  static const char fn[] = "clnn_attention_backward";
  clnn_attention_params p_in;
  CLNN__STRUCT_IN(CLNN__ATTENTION_PARAMS, fn, "p", p, p_in);
  attn_geom g;
  clnn_status s;
  if ((s = check_common(fn, ctx, p, q, k, v, &g))) return s;
  if ((s = clnn__check_tensor_in(fn, ctx, o, "o")) || (s = clnn__check_tensor_in(fn, ctx, lse, "lse")) ||
      (s = clnn__check_tensor_in(fn, ctx, dout, "dout")))
    return s;
  if ((s = check_same(fn, o, "o", q, "q")) || (s = check_same(fn, dout, "dout", q, "q")) ||
      (s = check_lse(fn, ctx, lse, &g)))
    return s;
  if (dq && ((s = clnn__check_tensor_in(fn, ctx, dq, "dq")) || (s = check_same(fn, dq, "dq", q, "q"))))
    return s;
  if (dk && ((s = clnn__check_tensor_in(fn, ctx, dk, "dk")) || (s = check_same(fn, dk, "dk", k, "k"))))
    return s;
  if (dv && ((s = clnn__check_tensor_in(fn, ctx, dv, "dv")) || (s = check_same(fn, dv, "dv", v, "v"))))
    return s;
  if ((s = clnn__check_beta(beta))) return clnn__prefix_error(fn, s);
  const clnn_tensor *outs[] = {dq, dk, dv}, *ins[] = {q, k, v, o, lse, dout};
  const char *on[] = {"dq", "dk", "dv"}, *in[] = {"q", "k", "v", "o", "lse", "dout"};
  if ((s = clnn__check_cross(fn, outs, on, 3, outs, on, 3)) || (s = clnn__check_cross(fn, outs, on, 3, ins, in, 6)))
    return s;
  if (!dq && !dk && !dv) return CLNN_SUCCESS;
  size_t Lq, tq, Lk, tk;
  if ((s = plan(ctx, &k_attn_bwd_dq, &g, &Lq, &tq)) || (s = plan(ctx, &k_attn_bwd_dkdv, &g, &Lk, &tk)))
    return s;
  cl_mem delta, lens;
  if ((s = clnn__workspace(ctx, 3, g.B * g.H * g.Tq * sizeof(float), &delta))) return s;
  if ((s = upload_lengths(ctx, p, &g, q->mem, &lens))) return s;
  /* a fixed local size: PoCL compiles a kernel once per local size */
  size_t gd[2] = {g.Tq, g.B * g.H}, ld[2] = {clnn__local_pow2(ctx, &k_attn_bwd_delta, 64, 64), 1};
  s = CLNN_RUN(ctx, &k_attn_bwd_delta, 2, gd, ld, CLNN_ARG_MEM(o->mem),
               CLNN_ARG_MEM(dout->mem), CLNN_ARG_MEM(delta), CLNN_ARG_ULONG(g.H),
               CLNN_ARG_ULONG(g.Tq), CLNN_ARG_ULONG(g.Dh), CLNN_ARG_ULONG(g.qsb),
               CLNN_ARG_ULONG(g.qsh), CLNN_ARG_ULONG(g.qst));
  if (s) return s;
  if (dk || dv) {
    size_t global[2] = {(g.Tk + Lk - 1) / Lk * Lk, g.B * g.H}, local[2] = {Lk, 1};
    s = CLNN_RUN(ctx, &k_attn_bwd_dkdv, 2, global, local, CLNN_ARG_MEM(q->mem),
                 CLNN_ARG_MEM(k->mem), CLNN_ARG_MEM(v->mem), CLNN_ARG_MEM(dout->mem),
                 CLNN_ARG_MEM(lse->mem), CLNN_ARG_MEM(delta), CLNN_ARG_FLOAT(beta),
                 CLNN_ARG_INT(dk != NULL), CLNN_ARG_MEM(dk ? dk->mem : delta),
                 CLNN_ARG_INT(dv != NULL), CLNN_ARG_MEM(dv ? dv->mem : delta),
                 GEOM_ARGS(g, lens, p->lengths != NULL, p),
                 CLNN_ARG_LOCAL(tk * g.Dh * sizeof(float)),
                 CLNN_ARG_LOCAL(tk * g.Dh * sizeof(float)),
                 CLNN_ARG_LOCAL(2 * ATTN_TMAX * sizeof(float)), CLNN_ARG_ULONG(tk));
    if (s) return s;
  }
  if (!dq) return CLNN_SUCCESS;
  size_t global[2] = {(g.Tq + Lq - 1) / Lq * Lq, g.B * g.H}, local[2] = {Lq, 1};
  return CLNN_RUN(ctx, &k_attn_bwd_dq, 2, global, local, CLNN_ARG_MEM(q->mem),
                  CLNN_ARG_MEM(k->mem), CLNN_ARG_MEM(v->mem), CLNN_ARG_MEM(dout->mem),
                  CLNN_ARG_MEM(lse->mem), CLNN_ARG_MEM(delta), CLNN_ARG_FLOAT(beta),
                  CLNN_ARG_MEM(dq->mem), GEOM_ARGS(g, lens, p->lengths != NULL, p),
                  CLNN_ARG_LOCAL(tq * g.Dh * sizeof(float)),
                  CLNN_ARG_LOCAL(tq * g.Dh * sizeof(float)), CLNN_ARG_ULONG(tq));
}
