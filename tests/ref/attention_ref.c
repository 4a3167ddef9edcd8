/* tests/ref/attention_ref.c — plain-C reference of scaled dot-product attention (see
 * attention_ref.h): for every (batch, head, query row) the full row of weights in double. */
#include "attention_ref.h"

#include <math.h>
#include <stdlib.h>

#include "dropout_ref.h"

static size_t at(const ref_attn_cfg *c, size_t T, size_t b, size_t h, size_t t) {
  return c->bthd ? ((b * T + t) * c->H + h) * c->Dh : ((b * c->H + h) * T + t) * c->Dh;
}

static int visible(const ref_attn_cfg *c, size_t b, size_t i, size_t j) {
  if (c->lengths && j >= (size_t)c->lengths[b]) return 0;
  if (c->causal && j > i + c->Tk - c->Tq) return 0;
  return 1;
}

/* Row (b, h, i): probabilities P[j] (0 where masked), dropout factors F[j] (keep / (1 - p)),
 * returns the log-sum-exp. */
static double row_probs(const ref_attn_cfg *c, const float *q, const float *k, size_t b, size_t h,
                        size_t i, double *P, double *F) {
  const float *qi = q + at(c, c->Tq, b, h, i);
  double mx = -INFINITY;
  for (size_t j = 0; j < c->Tk; j++) {
    P[j] = -INFINITY;
    if (!visible(c, b, i, j)) continue;
    const float *kj = k + at(c, c->Tk, b, h, j);
    double s = 0.0;
    for (size_t d = 0; d < c->Dh; d++) s += (double)qi[d] * kj[d];
    P[j] = s * c->scale;
    if (P[j] > mx) mx = P[j];
  }
  double sum = 0.0;
  for (size_t j = 0; j < c->Tk; j++) {
    P[j] = P[j] == -INFINITY ? 0.0 : exp(P[j] - mx);
    sum += P[j];
  }
  uint64_t base = ((b * c->H + h) * c->Tq + i) * c->Tk;
  for (size_t j = 0; j < c->Tk; j++) {
    P[j] /= sum;
    F[j] = c->p == 0.0f ? 1.0
                        : (dropout_ref_keep(c->p, c->seed, c->offset, base + j) ? 1.0 / (1.0 - c->p) : 0.0);
  }
  return mx + log(sum);
}

void ref_attention_forward(const ref_attn_cfg *c, const float *q, const float *k, const float *v,
                           float *o, float *lse) {
  double *P = malloc(c->Tk * sizeof(double)), *F = malloc(c->Tk * sizeof(double));
  for (size_t b = 0; b < c->B; b++)
    for (size_t h = 0; h < c->H; h++)
      for (size_t i = 0; i < c->Tq; i++) {
        double l = row_probs(c, q, k, b, h, i, P, F);
        if (lse) lse[(b * c->H + h) * c->Tq + i] = (float)l;
        float *oi = o + at(c, c->Tq, b, h, i);
        for (size_t d = 0; d < c->Dh; d++) {
          double s = 0.0;
          for (size_t j = 0; j < c->Tk; j++) s += P[j] * F[j] * v[at(c, c->Tk, b, h, j) + d];
          oi[d] = (float)s;
        }
      }
  free(P);
  free(F);
}

void ref_attention_backward(const ref_attn_cfg *c, const float *q, const float *k, const float *v,
                            const float *dout, float beta, float *dq, float *dk, float *dv) {
  size_t nq = c->B * c->H * c->Tq * c->Dh, nk = c->B * c->H * c->Tk * c->Dh;
  double *gq = calloc(nq, sizeof(double)), *gk = calloc(nk, sizeof(double));
  double *gv = calloc(nk, sizeof(double));
  double *P = malloc(c->Tk * sizeof(double)), *F = malloc(c->Tk * sizeof(double));
  double *dP = malloc(c->Tk * sizeof(double));
  for (size_t b = 0; b < c->B; b++)
    for (size_t h = 0; h < c->H; h++)
      for (size_t i = 0; i < c->Tq; i++) {
        row_probs(c, q, k, b, h, i, P, F);
        size_t qi = at(c, c->Tq, b, h, i);
        double dot = 0.0;
        for (size_t j = 0; j < c->Tk; j++) {
          size_t kj = at(c, c->Tk, b, h, j);
          double g = 0.0;
          for (size_t d = 0; d < c->Dh; d++) {
            g += (double)dout[qi + d] * v[kj + d];
            gv[kj + d] += P[j] * F[j] * dout[qi + d];
          }
          dP[j] = g * F[j];
          dot += P[j] * dP[j];
        }
        for (size_t j = 0; j < c->Tk; j++) {
          double ds = P[j] * (dP[j] - dot) * c->scale;
          if (ds == 0.0) continue;
          size_t kj = at(c, c->Tk, b, h, j);
          for (size_t d = 0; d < c->Dh; d++) {
            gq[qi + d] += ds * k[kj + d];
            gk[kj + d] += ds * q[qi + d];
          }
        }
      }
  for (size_t e = 0; e < nq && dq; e++)
    dq[e] = (float)(beta == 0.0f ? gq[e] : (double)beta * dq[e] + gq[e]);
  for (size_t e = 0; e < nk; e++) {
    if (dk) dk[e] = (float)(beta == 0.0f ? gk[e] : (double)beta * dk[e] + gk[e]);
    if (dv) dv[e] = (float)(beta == 0.0f ? gv[e] : (double)beta * dv[e] + gv[e]);
  }
  free(gq);
  free(gk);
  free(gv);
  free(P);
  free(F);
  free(dP);
}

double ref_attention_loss(const ref_attn_cfg *c, const float *q, const float *k, const float *v,
                          const float *r) {
  double *P = malloc(c->Tk * sizeof(double)), *F = malloc(c->Tk * sizeof(double)), total = 0.0;
  for (size_t b = 0; b < c->B; b++)
    for (size_t h = 0; h < c->H; h++)
      for (size_t i = 0; i < c->Tq; i++) {
        row_probs(c, q, k, b, h, i, P, F);
        size_t qi = at(c, c->Tq, b, h, i);
        for (size_t d = 0; d < c->Dh; d++) {
          double s = 0.0;
          for (size_t j = 0; j < c->Tk; j++) s += P[j] * F[j] * v[at(c, c->Tk, b, h, j) + d];
          total += s * r[qi + d];
        }
      }
  free(P);
  free(F);
  return total;
}
