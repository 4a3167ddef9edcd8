/* tests/ref/attention_ref.h — plain-C reference of multi-head scaled dot-product attention with
 * causal and key-length masks and dropout on the weights (the mask of dropout_ref.h), computed
 * the obvious way: the whole [Tq, Tk] weight matrix of each (batch, head), double accumulation. */
#ifndef CLNN_ATTENTION_REF_H
#define CLNN_ATTENTION_REF_H
#include <stddef.h>
#include <stdint.h>

typedef struct ref_attn_cfg {
  size_t B, H, Tq, Tk, Dh;
  int bthd;               /* 0: q [B, H, Tq, Dh]; 1: q [B, Tq, H*Dh] (k, v likewise with Tk) */
  double scale;           /* the scale actually used (not 0) */
  int causal;             /* key j visible to query i when j <= i + Tk - Tq */
  const int32_t *lengths; /* NULL or B key lengths */
  float p;                /* dropout probability */
  uint64_t seed, offset;
} ref_attn_cfg;

/* o (shaped as q) and lse[(b*H + h)*Tq + i] (may be NULL). */
void ref_attention_forward(const ref_attn_cfg *c, const float *q, const float *k, const float *v,
                           float *o, float *lse);
/* dq, dk, dv = beta*old + gradient of sum(dout * o) (each may be NULL; beta == 0: not read). */
void ref_attention_backward(const ref_attn_cfg *c, const float *q, const float *k, const float *v,
                            const float *dout, float beta, float *dq, float *dk, float *dv);
/* sum of r * o, all in double (finite-difference loss). */
double ref_attention_loss(const ref_attn_cfg *c, const float *q, const float *k, const float *v,
                          const float *r);
#endif
