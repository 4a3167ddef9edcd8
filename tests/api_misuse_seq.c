/* tests/api_misuse_seq.c — the API-misuse rows of the sequence operators (embedding, layer and
 * RMS norm, attention). Not a test of its own: tests/test_api_misuse.c includes it, so the rows
 * use that file's macros, counters and coverage check. */

/* embedding, layer norm, RMS norm, attention (src/ops/embedding.c, layernorm.c, attention.c) */
static void sequence_ops(void) {
  clnn_tensor *tab = T(ctx, 5, 4), *ey = T(ctx, 3, 4), *ey5 = T(ctx, 3, 5), *otab = T(other, 5, 4);
  int32_t ids[3] = {0, 4, 2}, big[3] = {0, 5, 2};
  ROW(clnn_embedding_forward, "ctx NULL", INV, clnn_embedding_forward(NULL, tab, ids, 3, ey));
  ROW(clnn_embedding_forward, "ids NULL", INV, clnn_embedding_forward(ctx, tab, NULL, 3, ey));
  ROW(clnn_embedding_forward, "num_ids 0", INV, clnn_embedding_forward(ctx, tab, ids, 0, ey));
  ROW(clnn_embedding_forward, "an id = V", INV, clnn_embedding_forward(ctx, tab, big, 3, ey));
  ROW(clnn_embedding_forward, "y rows of the wrong length", SHAPE, clnn_embedding_forward(ctx, tab, ids, 3, ey5));
  ROW(clnn_embedding_forward, "table from another context", CTXM, clnn_embedding_forward(ctx, otab, ids, 3, ey));
  ROW(clnn_embedding_backward, "dtable NULL", INV, clnn_embedding_backward(ctx, ids, 3, ey, 0, NULL));
  ROW(clnn_embedding_backward, "an id = V", INV, clnn_embedding_backward(ctx, big, 3, ey, 0, tab));
  ROW(clnn_embedding_backward, "beta NaN", INV, clnn_embedding_backward(ctx, ids, 3, ey, NAN, tab));
  ROW(clnn_embedding_backward, "num_ids != rows of dy", SHAPE, clnn_embedding_backward(ctx, ids, 2, ey, 0, tab));

  clnn_tensor *w4 = T(ctx, 4), *w5 = T(ctx, 5), *st3 = T(ctx, 3), *st2 = T(ctx, 2), *dx = T(ctx, 3, 4);
  ROW(clnn_layernorm_forward, "ctx NULL", INV, clnn_layernorm_forward(NULL, ey, w4, w4, 1e-5f, dx, st3, st2));
  ROW(clnn_layernorm_forward, "eps 0", INV, clnn_layernorm_forward(ctx, ey, w4, NULL, 0, dx, NULL, NULL));
  ROW(clnn_layernorm_forward, "weight length differs", SHAPE, clnn_layernorm_forward(ctx, ey, w5, NULL, 1e-5f, dx, NULL, NULL));
  ROW(clnn_layernorm_forward, "save_rstd of 2 for 3 rows", SHAPE,
      clnn_layernorm_forward(ctx, ey, NULL, NULL, 1e-5f, dx, st3, st2));
  ROW(clnn_layernorm_forward, "x from another context", CTXM, clnn_layernorm_forward(ctx, otab, NULL, NULL, 1e-5f, dx, NULL, NULL));
  ROW(clnn_layernorm_backward, "save_mean NULL", INV, clnn_layernorm_backward(ctx, ey, ey, w4, NULL, st3, 0, dx, NULL, NULL));
  ROW(clnn_layernorm_backward, "beta NaN", INV, clnn_layernorm_backward(ctx, ey, ey, w4, st3, st3, NAN, dx, NULL, NULL));
  ROW(clnn_layernorm_backward, "dbias length differs", SHAPE, clnn_layernorm_backward(ctx, ey, ey, w4, st3, st3, 0, dx, NULL, w5));
  ROW(clnn_rmsnorm_forward, "y NULL", INV, clnn_rmsnorm_forward(ctx, ey, w4, 1e-5f, NULL, NULL));
  ROW(clnn_rmsnorm_forward, "y shape differs", SHAPE, clnn_rmsnorm_forward(ctx, ey, w4, 1e-5f, ey5, NULL));
  ROW(clnn_rmsnorm_backward, "save_rstd NULL", INV, clnn_rmsnorm_backward(ctx, ey, ey, w4, NULL, 0, dx, NULL));
  ROW(clnn_rmsnorm_backward, "dweight length differs", SHAPE, clnn_rmsnorm_backward(ctx, ey, ey, w4, st3, 0, dx, w5));

  clnn_attention_params ap;
  VROW(clnn_attention_params_init, "NULL", clnn_attention_params_init(NULL), 1);
  clnn_attention_params_init(&ap);
  clnn_tensor *aq = T(ctx, 1, 2, 3, 4), *ak = T(ctx, 1, 2, 5, 4), *ao = T(ctx, 1, 2, 3, 4), *al = T(ctx, 1, 2, 3);
  clnn_tensor *al5 = T(ctx, 5), *adq = T(ctx, 1, 2, 3, 4), *adk = T(ctx, 1, 2, 5, 4);
  int32_t zero_len[1] = {0};
  ROW(clnn_attention_forward, "ctx NULL", INV, clnn_attention_forward(NULL, &ap, aq, ak, ak, ao, al));
  ROW(clnn_attention_forward, "params NULL", INV, clnn_attention_forward(ctx, NULL, aq, ak, ak, ao, al));
  ROW(clnn_attention_forward, "k's head dim differs", SHAPE, clnn_attention_forward(ctx, &ap, aq, ey, ey, ao, al));
  ROW(clnn_attention_forward, "lse of 5 elements", SHAPE, clnn_attention_forward(ctx, &ap, aq, ak, ak, ao, al5));
  ROW(clnn_attention_forward, "o is q", INV, clnn_attention_forward(ctx, &ap, aq, ak, ak, aq, al));
  ap.lengths = zero_len;
  ap.num_lengths = 1;
  ROW(clnn_attention_forward, "a key length of 0", INV, clnn_attention_forward(ctx, &ap, aq, ak, ak, ao, al));
  ap.num_lengths = 2;
  ROW(clnn_attention_forward, "num_lengths 2 for 1 sequence (no over-read)", INV,
      clnn_attention_forward(ctx, &ap, aq, ak, ak, ao, al));
  ap.lengths = NULL;
  ap.num_lengths = 0;
  ap.heads = 3;
  ROW(clnn_attention_forward, "heads differ from dims[1]", INV, clnn_attention_forward(ctx, &ap, aq, ak, ak, ao, al));
  ap.heads = 0;
  ap.dropout = 1.0f;
  ROW(clnn_attention_backward, "dropout 1", INV, clnn_attention_backward(ctx, &ap, aq, ak, ak, ao, al, ao, 0, adq, adk, NULL));
  ap.dropout = 0.0f;
  ROW(clnn_attention_backward, "lse NULL", INV, clnn_attention_backward(ctx, &ap, aq, ak, ak, ao, NULL, ao, 0, adq, adk, NULL));
  ROW(clnn_attention_backward, "dk shaped as q", SHAPE, clnn_attention_backward(ctx, &ap, aq, ak, ak, ao, al, ao, 0, adq, adq, NULL));
  ROW(clnn_attention_backward, "beta NaN", INV, clnn_attention_backward(ctx, &ap, aq, ak, ak, ao, al, ao, NAN, adq, adk, NULL));
  ROW(clnn_attention_backward, "dq from another context", CTXM,
      clnn_attention_backward(ctx, &ap, aq, ak, ak, ao, al, ao, 0, otab, adk, NULL));
}
