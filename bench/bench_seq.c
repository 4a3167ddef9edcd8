/* bench/bench_seq.c — clnn-bench's sequence-model cases: scaled dot-product attention (causal,
 * BTHD layout, d = 256) forward and backward at T = 256, 512 and 1024; layer norm over 256 and
 * embedding lookups (forward gather, backward deterministic scatter-add) on the same token
 * counts. Included by clnn_bench.c after its timing helpers (it uses them: new_result,
 * time_pass, finish_rate, mem_pass, progress); not compiled on its own. mem_pass only hands its
 * argument to the pass function, so the cases below pass their own argument structs through it.
 *
 * There is no in-process host reference for these (OpenBLAS has none); the memory-bound ones
 * are compared with a copy of the same bytes, as the other memory-bound cases, and
 * bench/torch_reference.py times the same cases with PyTorch for --reference-file.
 * FLOP conventions: attention forward 4*B*T*T*D * 1/2 (causal: half the score matrix),
 * backward 2.5x forward (recomputed scores, dQ, dK, dV). */

#pragma weak clnn_attention_forward
#pragma weak clnn_attention_backward
#pragma weak clnn_attention_params_init
#pragma weak clnn_layernorm_forward
#pragma weak clnn_layernorm_backward
#pragma weak clnn_embedding_forward
#pragma weak clnn_embedding_backward

typedef struct attn_shape {
  const char *name;
  int B, T, D, heads;
  const char *tier;
} attn_shape;

static const attn_shape attn_shapes[] = {
    {"attn_T256_h4", 4, 256, 256, 4, "ci"},
    {"attn_T512_h8", 2, 512, 256, 8, "ci"},
    {"attn_T1024_h8", 1, 1024, 256, 8, "ci"},
};

typedef struct attn_arg {
  clnn_attention_params p;
  clnn_tensor *q, *k, *v, *o, *lse, *dout, *dq, *dk, *dv;
} attn_arg;

static clnn_status attn_fwd(void *p) {
  attn_arg *a = p;
  return clnn_attention_forward(g_ctx, &a->p, a->q, a->k, a->v, a->o, a->lse);
}
static clnn_status attn_bwd(void *p) {
  attn_arg *a = p;
  return clnn_attention_backward(g_ctx, &a->p, a->q, a->k, a->v, a->o, a->lse, a->dout, 0.0f,
                                 a->dq, a->dk, a->dv);
}

static void run_attention(const attn_shape *s) {
  if (!clnn_attention_forward || !clnn_attention_backward || !clnn_attention_params_init) {
    not_available(s->name, "attention is not in this build");
    return;
  }
  attn_arg a;
  memset(&a, 0, sizeof a);
  clnn_attention_params_init(&a.p);
  a.p.layout = CLNN_ATTENTION_BTHD;
  a.p.heads = s->heads;
  a.p.causal = 1;
  const size_t B = (size_t)s->B, T = (size_t)s->T, D = (size_t)s->D, n = B * T * D;
  size_t d3[3] = {B, T, D}, dl[1] = {B * (size_t)s->heads * T};
  float *h = host_rand(n, 1.0f);
  a.q = tensor(3, d3, h);
  a.k = tensor(3, d3, h);
  a.v = tensor(3, d3, h);
  a.dout = tensor(3, d3, h);
  free(h);
  a.o = tensor(3, d3, NULL);
  a.dq = tensor(3, d3, NULL);
  a.dk = tensor(3, d3, NULL);
  a.dv = tensor(3, d3, NULL);
  a.lse = tensor(1, dl, NULL);
  const double fwd = 4.0 * (double)B * (double)T * (double)T * (double)D * 0.5;
  result *r = new_result(s->name, "forward");
  time_pass(r, attn_fwd, &a); /* also leaves o and lse for backward */
  snprintf(r->path, sizeof r->path, "tiled, causal, %d heads", s->heads);
  finish_rate(r, fwd, "GFLOP/s");
  progress(r);
  r = new_result(s->name, "backward");
  time_pass(r, attn_bwd, &a);
  snprintf(r->path, sizeof r->path, "tiled, causal, %d heads", s->heads);
  finish_rate(r, 2.5 * fwd, "GFLOP/s");
  progress(r);
  clnn_tensor *all[] = {a.q, a.k, a.v, a.o, a.lse, a.dout, a.dq, a.dk, a.dv};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) clnn_tensor_destroy(all[i]);
}

/* ---- layer norm [8192, 256] (B*T tokens of the attention cases, d = 256) ---- */
typedef struct ln_arg {
  clnn_tensor *x, *w, *b, *y, *mean, *rstd, *dy, *dx, *dw, *db;
} ln_arg;

static clnn_status ln_fwd(void *p) {
  ln_arg *l = p;
  return clnn_layernorm_forward(g_ctx, l->x, l->w, l->b, 1e-5f, l->y, l->mean, l->rstd);
}
static clnn_status ln_bwd(void *p) {
  ln_arg *l = p;
  return clnn_layernorm_backward(g_ctx, l->x, l->dy, l->w, l->mean, l->rstd, 0.0f, l->dx, l->dw,
                                 l->db);
}

static void run_layernorm(const char *name) {
  if (!clnn_layernorm_forward || !clnn_layernorm_backward) {
    not_available(name, "layer norm is not in this build");
    return;
  }
  ln_arg l;
  memset(&l, 0, sizeof l);
  const size_t R = 8192, D = 256;
  size_t xd[2] = {R, D}, wd[1] = {D}, rd[1] = {R};
  float *h = host_rand(R * D, 1.0f), *hw = host_rand(D, 1.0f);
  l.x = tensor(2, xd, h);
  l.dy = tensor(2, xd, h);
  l.w = tensor(1, wd, hw);
  l.b = tensor(1, wd, hw);
  free(h);
  free(hw);
  l.y = tensor(2, xd, NULL);
  l.dx = tensor(2, xd, NULL);
  l.dw = tensor(1, wd, NULL);
  l.db = tensor(1, wd, NULL);
  l.mean = tensor(1, rd, NULL);
  l.rstd = tensor(1, rd, NULL);
  /* forward reads x, writes y (+ the row statistics); backward reads x, dy, writes dx */
  const double fb = 4.0 * (2.0 * (double)(R * D) + 2.0 * (double)R);
  const double bb = 4.0 * (3.0 * (double)(R * D) + 2.0 * (double)R + 2.0 * (double)D);
  mem_pass(name, "forward", ln_fwd, (mem_arg *)(void *)&l, fb);
  mem_pass(name, "backward", ln_bwd, (mem_arg *)(void *)&l, bb);
  clnn_tensor *all[] = {l.x, l.w, l.b, l.y, l.mean, l.rstd, l.dy, l.dx, l.dw, l.db};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) clnn_tensor_destroy(all[i]);
}

/* ---- embedding: 8192 ids into a [32768, 256] table ---- */
typedef struct emb_arg {
  clnn_tensor *table, *y, *dy, *dtable;
  int32_t *ids;
  size_t n;
} emb_arg;

static clnn_status emb_fwd(void *p) {
  emb_arg *e = p;
  return clnn_embedding_forward(g_ctx, e->table, e->ids, e->n, e->y);
}
static clnn_status emb_bwd(void *p) {
  emb_arg *e = p;
  return clnn_embedding_backward(g_ctx, e->ids, e->n, e->dy, 0.0f, e->dtable);
}

static void run_embedding(const char *name) {
  if (!clnn_embedding_forward || !clnn_embedding_backward) {
    not_available(name, "embedding is not in this build");
    return;
  }
  emb_arg e;
  memset(&e, 0, sizeof e);
  const size_t V = 32768, D = 256, N = 8192;
  size_t td[2] = {V, D}, yd[2] = {N, D};
  float *h = host_rand(V * D, 1.0f);
  e.table = tensor(2, td, h);
  e.dtable = tensor(2, td, NULL);
  free(h);
  h = host_rand(N * D, 1.0f);
  e.dy = tensor(2, yd, h);
  free(h);
  e.y = tensor(2, yd, NULL);
  e.n = N;
  e.ids = malloc(N * sizeof *e.ids);
  if (!e.ids) die("out of host memory");
  for (size_t i = 0; i < N; i++) e.ids[i] = (int32_t)((i * 7919u) % V); /* distinct-ish rows */
  /* forward: reads N rows, writes N rows (+ ids); backward: reads dy, writes the whole table
   * (rows no id names get zeros under beta 0) */
  const double fb = 4.0 * (2.0 * (double)(N * D) + (double)N);
  const double bb = 4.0 * ((double)(N * D) + (double)(V * D) + (double)N);
  mem_pass(name, "forward", emb_fwd, (mem_arg *)(void *)&e, fb);
  mem_pass(name, "backward", emb_bwd, (mem_arg *)(void *)&e, bb);
  clnn_tensor_destroy(e.table);
  clnn_tensor_destroy(e.dtable);
  clnn_tensor_destroy(e.dy);
  clnn_tensor_destroy(e.y);
  free(e.ids);
}
