/* src/nn/op_seq.c — graph ops for sequence models: embedding (host int32 ids -> rows of a
 * table), layer norm and RMS norm over the last dim (statistics kept in node scratch from forward
 * to backward), scaled dot-product attention over [T, heads*Dh] values (the BTHD layout of
 * clnn_attention_*, optional causal mask, key lengths from an int32 input, dropout on the
 * weights), and the multi-head attention block built from dense projections around it. */
#include "nn/graph.h"
#include "nn/model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define NULLCHECK(fn)                                                                            \
  do {                                                                                           \
    if (!g || !out)                                                                              \
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: graph or out is NULL", fn);           \
  } while (0)

static void same_out(clnn__graph *g, clnn__gnode *n, const clnn__gvalue *x) {
  clnn__gvalue *y = clnn__g_out(g, n, 0);
  y->dtype = CLNN_FLOAT32;
  y->ndim = x->ndim;
  memcpy(y->dims, x->dims, sizeof y->dims);
}

/* A scratch buffer shaped like tensor t (slot of node n). */
static clnn_status scratch_like(clnn__gexec *x, const clnn__gnode *n, int slot,
                                const clnn_tensor *t, clnn_tensor **out) {
  size_t d[CLNN_MAX_DIMS];
  int nd = clnn_tensor_ndim(t);
  for (int i = 0; i < nd; i++) d[i] = clnn_tensor_dim(t, i);
  return clnn__g_scratch(x, n, slot, nd, d, out);
}

/* ---- embedding: ia = {vocab, dim}; param weight [vocab, dim] ---- */

static clnn_status emb_infer(clnn__graph *g, clnn__gnode *n, int params) {
  const clnn__gvalue *ids = clnn__g_in(g, n, 0);
  char sh[96];
  if (ids->dtype != CLNN_INT32 || ids->ndim > 3)
    return clnn__g_fail(n, CLNN_ERROR_SHAPE_MISMATCH,
                        "needs int32 ids of 0 to 3 dims ([] or [T] per sample), got %s",
                        clnn__g_shape_str(ids, sh, sizeof sh));
  if (n->ia[0] < 1 || n->ia[1] < 1)
    return clnn__g_fail(n, CLNN_ERROR_INVALID_ARGUMENT, "vocab %d and dim %d must be >= 1",
                        n->ia[0], n->ia[1]);
  clnn__gvalue *y = clnn__g_out(g, n, 0);
  y->dtype = CLNN_FLOAT32;
  y->ndim = ids->ndim + 1;
  memcpy(y->dims, ids->dims, sizeof(size_t) * (size_t)ids->ndim);
  y->dims[ids->ndim] = (size_t)n->ia[1];
  if (!params) return CLNN_SUCCESS;
  size_t wd[2] = {(size_t)n->ia[0], (size_t)n->ia[1]};
  /* N(0, 1) as torch.nn.Embedding (CLNN__GINIT_NORMAL: std 1/sqrt(fan_in)) */
  return clnn__g_param(g, n, "weight", 2, wd, 0, CLNN__GINIT_NORMAL, 1.0, 1.0);
}

static clnn_status emb_forward(clnn__gexec *x, const clnn__gnode *n) {
  size_t count;
  const int32_t *ids = clnn__g_ids(x, n->in[0], &count);
  if (!ids)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "node '%s' (embedding): its ids were not fed",
                       n->name);
  return clnn_embedding_forward(clnn__g_ctx(x), clnn__g_pval(x, n, 0), ids, count,
                                clnn__g_val(x, n->out[0]));
}

static clnn_status emb_backward(clnn__gexec *x, const clnn__gnode *n) {
  clnn_tensor *dw;
  float beta;
  if (!clnn__g_dparam(x, n, 0, &dw, &beta)) return CLNN_SUCCESS;
  size_t count;
  const int32_t *ids = clnn__g_ids(x, n->in[0], &count);
  if (!ids)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "node '%s' (embedding): its ids were not fed",
                       n->name);
  return clnn_embedding_backward(clnn__g_ctx(x), ids, count, clnn__g_grad(x, n->out[0]), beta, dw);
}

const clnn__op clnn__op_embedding = {"embedding", {"vocab", "dim", NULL}, {NULL}, 0, 1, 1,
                                     emb_infer, emb_forward, emb_backward, NULL};

clnn_status clnn_graph_embedding(clnn_graph *g, const char *name, int ids, int vocab, int dim,
                                 int *out) {
  const char *fn = "clnn_graph_embedding";
  NULLCHECK(fn);
  int ia[CLNN__G_IATTRS] = {vocab, dim};
  return clnn__g_add_node(&g->g, &clnn__op_embedding, name, 1, &ids, ia, NULL, -1, out, fn);
}

/* ---- layer norm and RMS norm over the last dim: ia = {affine}, fa = {eps} ----
 * params: weight [D] (and bias [D] for layer norm) when affine; scratch 0 mean [R] (layer norm
 * only), 1 rstd [R], 2 a dx buffer when the input's and the parameters' betas differ */

static clnn_status norm_infer(clnn__graph *g, clnn__gnode *n, int params, int rms) {
  const clnn__gvalue *x = clnn__g_in(g, n, 0);
  char sh[96];
  if (x->dtype != CLNN_FLOAT32)
    return clnn__g_fail(n, CLNN_ERROR_SHAPE_MISMATCH, "needs a float value, got %s",
                        clnn__g_shape_str(x, sh, sizeof sh));
  if (!(n->fa[0] > 0.0f && n->fa[0] < 1.0f))
    return clnn__g_fail(n, CLNN_ERROR_INVALID_ARGUMENT, "eps %g must be in (0, 1)",
                        (double)n->fa[0]);
  if (n->ia[0] != 0 && n->ia[0] != 1)
    return clnn__g_fail(n, CLNN_ERROR_INVALID_ARGUMENT, "affine %d must be 0 or 1", n->ia[0]);
  same_out(g, n, x);
  if (!params || !n->ia[0]) return CLNN_SUCCESS;
  size_t d = x->dims[x->ndim - 1];
  clnn_status st = clnn__g_param(g, n, "weight", 1, &d, 0, CLNN__GINIT_ONE, 0, 0);
  if (st == CLNN_SUCCESS && !rms) st = clnn__g_param(g, n, "bias", 1, &d, 0, CLNN__GINIT_ZERO, 0, 0);
  return st;
}

static clnn_status ln_infer(clnn__graph *g, clnn__gnode *n, int params) {
  return norm_infer(g, n, params, 0);
}
static clnn_status rms_infer(clnn__graph *g, clnn__gnode *n, int params) {
  return norm_infer(g, n, params, 1);
}

static clnn_status norm_stats(clnn__gexec *x, const clnn__gnode *n, int rms, clnn_tensor **mean,
                              clnn_tensor **rstd) {
  clnn_tensor *xi = clnn__g_val(x, n->in[0]);
  size_t r = clnn_tensor_numel(xi) / clnn_tensor_dim(xi, clnn_tensor_ndim(xi) - 1);
  *mean = NULL;
  clnn_status st = rms ? CLNN_SUCCESS : clnn__g_scratch(x, n, 0, 1, &r, mean);
  if (st == CLNN_SUCCESS) st = clnn__g_scratch(x, n, 1, 1, &r, rstd);
  return st;
}

static clnn_status norm_forward(clnn__gexec *x, const clnn__gnode *n, int rms) {
  clnn_tensor *mean, *rstd, *xi = clnn__g_val(x, n->in[0]), *y = clnn__g_val(x, n->out[0]);
  clnn_status st = norm_stats(x, n, rms, &mean, &rstd);
  if (st != CLNN_SUCCESS) return st;
  clnn_tensor *w = n->ia[0] ? clnn__g_pval(x, n, 0) : NULL;
  if (rms) return clnn_rmsnorm_forward(clnn__g_ctx(x), xi, w, n->fa[0], y, rstd);
  return clnn_layernorm_forward(clnn__g_ctx(x), xi, w, n->ia[0] ? clnn__g_pval(x, n, 1) : NULL,
                                n->fa[0], y, mean, rstd);
}

static clnn_status ln_forward(clnn__gexec *x, const clnn__gnode *n) { return norm_forward(x, n, 0); }
static clnn_status rms_forward(clnn__gexec *x, const clnn__gnode *n) { return norm_forward(x, n, 1); }

static clnn_status norm_run_bwd(clnn__gexec *x, const clnn__gnode *n, int rms, clnn_tensor *mean,
                                clnn_tensor *rstd, float beta, clnn_tensor *dx, clnn_tensor *dw,
                                clnn_tensor *db) {
  clnn_context *ctx = clnn__g_ctx(x);
  clnn_tensor *xi = clnn__g_val(x, n->in[0]), *dy = clnn__g_grad(x, n->out[0]);
  clnn_tensor *w = n->ia[0] ? clnn__g_pval(x, n, 0) : NULL;
  if (rms) return clnn_rmsnorm_backward(ctx, xi, dy, w, rstd, beta, dx, dw);
  return clnn_layernorm_backward(ctx, xi, dy, w, mean, rstd, beta, dx, dw, db);
}

static clnn_status norm_backward(clnn__gexec *x, const clnn__gnode *n, int rms) {
  clnn_tensor *mean, *rstd, *dw = NULL, *db = NULL, *dx = NULL;
  float bw = 0, bb = 0, bx = 0;
  clnn_status st = norm_stats(x, n, rms, &mean, &rstd);
  if (st != CLNN_SUCCESS) return st;
  int tw = n->ia[0] && clnn__g_dparam(x, n, 0, &dw, &bw);
  int tb = n->ia[0] && !rms && clnn__g_dparam(x, n, 1, &db, &bb);
  int tx = clnn__g_dx(x, n, 0, &dx, &bx);
  float bp = tw ? bw : bb; /* both parameters of one node are written together: equal betas */
  if (tx && (!(tw || tb) || bx == bp))
    return norm_run_bwd(x, n, rms, mean, rstd, bx, dx, tw ? dw : NULL, tb ? db : NULL);
  if (!tw && !tb) return CLNN_SUCCESS;
  /* parameters with their beta, the input's gradient into a buffer (zeroed when that beta is 1,
   * since the operator applies one beta to every output), then accumulated */
  clnn_tensor *tmp;
  st = scratch_like(x, n, 2, clnn__g_val(x, n->in[0]), &tmp);
  if (st == CLNN_SUCCESS && bp != 0.0f) st = clnn_tensor_fill(tmp, 0.0f);
  if (st == CLNN_SUCCESS)
    st = norm_run_bwd(x, n, rms, mean, rstd, bp, tmp, tw ? dw : NULL, tb ? db : NULL);
  if (st == CLNN_SUCCESS && tx) st = clnn__g_accum(clnn__g_ctx(x), 1.0f, tmp, bx, dx);
  return st;
}

static clnn_status ln_backward(clnn__gexec *x, const clnn__gnode *n) { return norm_backward(x, n, 0); }
static clnn_status rms_backward(clnn__gexec *x, const clnn__gnode *n) { return norm_backward(x, n, 1); }

const clnn__op clnn__op_layer_norm = {"layer_norm", {"affine", NULL}, {"eps", NULL}, 0, 1, 1,
                                      ln_infer, ln_forward, ln_backward, NULL};
const clnn__op clnn__op_rms_norm = {"rms_norm", {"affine", NULL}, {"eps", NULL}, 0, 1, 1,
                                    rms_infer, rms_forward, rms_backward, NULL};

clnn_status clnn_graph_layer_norm(clnn_graph *g, const char *name, int x, float eps, int affine,
                                  int *out) {
  const char *fn = "clnn_graph_layer_norm";
  NULLCHECK(fn);
  int ia[CLNN__G_IATTRS] = {affine ? 1 : 0};
  float fa[CLNN__G_FATTRS] = {eps == 0.0f ? 1e-5f : eps};
  return clnn__g_add_node(&g->g, &clnn__op_layer_norm, name, 1, &x, ia, fa, -1, out, fn);
}

clnn_status clnn_graph_rms_norm(clnn_graph *g, const char *name, int x, float eps, int affine,
                                int *out) {
  const char *fn = "clnn_graph_rms_norm";
  NULLCHECK(fn);
  int ia[CLNN__G_IATTRS] = {affine ? 1 : 0};
  float fa[CLNN__G_FATTRS] = {eps == 0.0f ? 1e-6f : eps};
  return clnn__g_add_node(&g->g, &clnn__op_rms_norm, name, 1, &x, ia, fa, -1, out, fn);
}

/* ---- attention: inputs q [Tq, D], k [Tk, D], v [Tk, D] and optionally int32 key lengths []
 * (one per sample); ia = {heads, causal}, fa = {dropout, scale}. scratch 0 lse [N*H*Tq],
 * 1..3 dq/dk/dv buffers when they cannot be written in place ---- */

static clnn_status attn_infer(clnn__graph *g, clnn__gnode *n, int params) {
  char s0[96], s1[96], s2[96];
  if (n->num_in != 3 && n->num_in != 4)
    return clnn__g_fail(n, CLNN_ERROR_INVALID_ARGUMENT,
                        "takes q, k, v and optionally key lengths: 3 or 4 inputs, got %d",
                        n->num_in);
  const clnn__gvalue *q = clnn__g_in(g, n, 0), *k = clnn__g_in(g, n, 1), *v = clnn__g_in(g, n, 2);
  clnn__g_shape_str(q, s0, sizeof s0);
  clnn__g_shape_str(k, s1, sizeof s1);
  clnn__g_shape_str(v, s2, sizeof s2);
  if (q->dtype != CLNN_FLOAT32 || k->dtype != CLNN_FLOAT32 || v->dtype != CLNN_FLOAT32 ||
      q->ndim != 2 || k->ndim != 2 || v->ndim != 2 || k->dims[1] != q->dims[1] ||
      v->dims[0] != k->dims[0] || v->dims[1] != q->dims[1])
    return clnn__g_fail(n, CLNN_ERROR_SHAPE_MISMATCH,
                        "needs float q [Tq, D], k [Tk, D] and v [Tk, D]; got q %s, k %s, v %s", s0,
                        s1, s2);
  size_t D = q->dims[1], Tq = q->dims[0], Tk = k->dims[0];
  int H = n->ia[0];
  if (H < 1 || D % (size_t)H != 0)
    return clnn__g_fail(n, CLNN_ERROR_INVALID_ARGUMENT,
                        "heads %d must be >= 1 and divide the model dimension %zu", H, D);
  if (D / (size_t)H > 128)
    return clnn__g_fail(n, CLNN_ERROR_UNSUPPORTED, "the head dimension %zu is above 128",
                        D / (size_t)H);
  if (n->ia[1] != 0 && n->ia[1] != 1)
    return clnn__g_fail(n, CLNN_ERROR_INVALID_ARGUMENT, "causal %d must be 0 or 1", n->ia[1]);
  if (n->ia[1] && Tk < Tq)
    return clnn__g_fail(n, CLNN_ERROR_SHAPE_MISMATCH,
                        "causal attention needs at least as many keys as queries; got q %s, k %s",
                        s0, s1);
  if (!(n->fa[0] >= 0.0f && n->fa[0] < 1.0f))
    return clnn__g_fail(n, CLNN_ERROR_INVALID_ARGUMENT, "dropout %g must be in [0, 1)",
                        (double)n->fa[0]);
  if (!(n->fa[1] >= 0.0f && n->fa[1] < 3.0e38f))
    return clnn__g_fail(n, CLNN_ERROR_INVALID_ARGUMENT, "scale %g must be finite and >= 0",
                        (double)n->fa[1]);
  if (n->num_in == 4) {
    const clnn__gvalue *l = clnn__g_in(g, n, 3);
    if (l->dtype != CLNN_INT32 || l->ndim != 0)
      return clnn__g_fail(n, CLNN_ERROR_SHAPE_MISMATCH,
                          "key lengths must be int32 with one per sample ([]), got %s",
                          clnn__g_shape_str(l, s0, sizeof s0));
  }
  (void)params;
  same_out(g, n, q);
  return CLNN_SUCCESS;
}

static clnn_status attn_params(clnn__gexec *x, const clnn__gnode *n, clnn_attention_params *p) {
  clnn_attention_params_init(p);
  p->layout = CLNN_ATTENTION_BTHD;
  p->heads = n->ia[0];
  p->causal = n->ia[1];
  p->scale = n->fa[1];
  if (n->num_in == 4) {
    size_t count;
    p->lengths = clnn__g_ids(x, n->in[3], &count);
    p->num_lengths = count;
    if (!p->lengths)
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                         "node '%s' (attention): its key lengths were not fed", n->name);
  }
  if (clnn__g_training(x) && n->fa[0] > 0.0f) {
    /* the stream of a dropout node of this name; the offset counts training forwards and, on a
     * device holding part of a batch, the weights of the samples before its share */
    const clnn_model *m = x->m;
    clnn_tensor *q = clnn__g_val(x, n->in[0]), *k = clnn__g_val(x, n->in[1]);
    uint64_t s = clnn__nn_hash_str(m->seed ^ 0xD1B54A32D192ED03ULL, n->name);
    uint64_t per = (uint64_t)n->ia[0] * clnn_tensor_dim(q, 1) * clnn_tensor_dim(k, 1);
    p->dropout = n->fa[0];
    p->seed = clnn__nn_splitmix64(&s);
    p->offset = (m->fwd_key << 32) + (uint64_t)m->sample_offset * per;
  }
  return CLNN_SUCCESS;
}

static clnn_status attn_lse(clnn__gexec *x, const clnn__gnode *n, clnn_tensor **lse) {
  clnn_tensor *q = clnn__g_val(x, n->in[0]);
  size_t c = clnn_tensor_dim(q, 0) * (size_t)n->ia[0] * clnn_tensor_dim(q, 1);
  return clnn__g_scratch(x, n, 0, 1, &c, lse);
}

static clnn_status attn_forward(clnn__gexec *x, const clnn__gnode *n) {
  clnn_attention_params p;
  clnn_tensor *lse;
  clnn_status st = attn_params(x, n, &p);
  if (st == CLNN_SUCCESS) st = attn_lse(x, n, &lse);
  if (st != CLNN_SUCCESS) return st;
  return clnn_attention_forward(clnn__g_ctx(x), &p, clnn__g_val(x, n->in[0]),
                                clnn__g_val(x, n->in[1]), clnn__g_val(x, n->in[2]),
                                clnn__g_val(x, n->out[0]), lse);
}

static clnn_status attn_backward(clnn__gexec *x, const clnn__gnode *n) {
  clnn_context *ctx = clnn__g_ctx(x);
  clnn_attention_params p;
  clnn_tensor *lse, *d[3] = {NULL, NULL, NULL};
  float b[3] = {0, 0, 0};
  int t[3];
  clnn_status st = attn_params(x, n, &p);
  if (st == CLNN_SUCCESS) st = attn_lse(x, n, &lse);
  if (st != CLNN_SUCCESS) return st;
  for (int k = 0; k < 3; k++) t[k] = clnn__g_dx(x, n, k, &d[k], &b[k]);
  if (!t[0] && !t[1] && !t[2]) return CLNN_SUCCESS;
  /* in place when every wanted gradient is a different value and all take the same beta;
   * otherwise (q, k, v from one value, or differing betas) into buffers, then accumulated */
  int direct = 1;
  float beta = -1.0f;
  for (int k = 0; k < 3; k++) {
    if (!t[k]) continue;
    if (beta < 0.0f) beta = b[k];
    direct &= b[k] == beta;
    for (int j = 0; j < k; j++) direct &= !t[j] || n->in[j] != n->in[k];
  }
  clnn_tensor *q = clnn__g_val(x, n->in[0]), *kk = clnn__g_val(x, n->in[1]);
  clnn_tensor *v = clnn__g_val(x, n->in[2]), *o = clnn__g_val(x, n->out[0]);
  clnn_tensor *dy = clnn__g_grad(x, n->out[0]);
  if (direct)
    return clnn_attention_backward(ctx, &p, q, kk, v, o, lse, dy, beta, t[0] ? d[0] : NULL,
                                   t[1] ? d[1] : NULL, t[2] ? d[2] : NULL);
  clnn_tensor *tmp[3] = {NULL, NULL, NULL};
  for (int k = 0; k < 3 && st == CLNN_SUCCESS; k++)
    if (t[k]) st = scratch_like(x, n, 1 + k, clnn__g_val(x, n->in[k]), &tmp[k]);
  if (st == CLNN_SUCCESS)
    st = clnn_attention_backward(ctx, &p, q, kk, v, o, lse, dy, 0.0f, tmp[0], tmp[1], tmp[2]);
  for (int k = 0; k < 3 && st == CLNN_SUCCESS; k++)
    if (t[k]) st = clnn__g_accum(ctx, 1.0f, tmp[k], b[k], d[k]);
  return st;
}

const clnn__op clnn__op_attention = {"attention", {"heads", "causal", NULL},
                                     {"dropout", "scale", NULL}, 1, 0, 1,
                                     attn_infer, attn_forward, attn_backward, NULL};

clnn_status clnn_graph_attention(clnn_graph *g, const char *name, int q, int k, int v,
                                 int lengths, int heads, int causal, float dropout, int *out) {
  const char *fn = "clnn_graph_attention";
  NULLCHECK(fn);
  int ia[CLNN__G_IATTRS] = {heads, causal ? 1 : 0}, in[4] = {q, k, v, lengths};
  float fa[CLNN__G_FATTRS] = {dropout, 0.0f};
  return clnn__g_add_node(&g->g, &clnn__op_attention, name, lengths == -1 ? 3 : 4, in, ia, fa, -1,
                          out, fn);
}

/* ---- multi-head self-attention block: dense q, k, v projections, attention, output
 * projection: nodes "<name>.q", "<name>.k", "<name>.v", "<name>.attn", "<name>.out" ---- */

clnn_status clnn_graph_multihead_attention(clnn_graph *g, const char *name, int x, int heads,
                                           int causal, float dropout, int *out) {
  const char *fn = "clnn_graph_multihead_attention";
  NULLCHECK(fn);
  clnn__graph *gg = &g->g;
  if (!name || !clnn__g_name_ok(name) || strlen(name) > CLNN__G_NAME_MAX - 6)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: name is required: 1..%d characters of [A-Za-z0-9_.-] (its nodes are "
                       "'<name>.q', ... '<name>.out')", fn, CLNN__G_NAME_MAX - 6);
  clnn_status st = clnn__g_check_value(gg, x, fn, "x");
  if (st != CLNN_SUCCESS) return st;
  const clnn__gvalue *xv = &gg->values[x];
  char sh[96];
  if (xv->dtype != CLNN_FLOAT32 || xv->ndim != 2)
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH,
                       "%s: node '%s' (multi-head attention) needs a float sequence [T, D], got %s",
                       fn, name, clnn__g_shape_str(xv, sh, sizeof sh));
  int D = (int)xv->dims[1];
  int saved_nodes = gg->num_nodes, saved_values = gg->num_values, saved_params = gg->num_params;
  static const char *const role[3] = {"q", "k", "v"};
  int p[3], a = -1, y = -1;
  char nm[CLNN__G_NAME_MAX];
  for (int i = 0; i < 3 && st == CLNN_SUCCESS; i++) {
    snprintf(nm, sizeof nm, "%s.%s", name, role[i]);
    st = clnn_graph_dense(g, nm, x, D, 1, &p[i]);
  }
  if (st == CLNN_SUCCESS) {
    snprintf(nm, sizeof nm, "%s.attn", name);
    st = clnn_graph_attention(g, nm, p[0], p[1], p[2], -1, heads, causal, dropout, &a);
  }
  if (st == CLNN_SUCCESS) {
    snprintf(nm, sizeof nm, "%s.out", name);
    st = clnn_graph_dense(g, nm, a, D, 1, &y);
  }
  if (st != CLNN_SUCCESS) { /* nothing of it stays */
    gg->num_nodes = saved_nodes;
    gg->num_values = saved_values;
    gg->num_params = saved_params;
    return st;
  }
  *out = y;
  return CLNN_SUCCESS;
}
