/* tests/ref/embedding_ref.c — plain-C reference of the embedding lookup and its backward (double
 * accumulation of the rows that share an id). */
#include "embedding_ref.h"

#include <stdlib.h>
#include <string.h>

void ref_embedding_forward(const float *table, size_t D, const int32_t *ids, size_t n, float *y) {
  for (size_t i = 0; i < n; i++) memcpy(y + i * D, table + (size_t)ids[i] * D, D * sizeof(float));
}

void ref_embedding_backward(const int32_t *ids, size_t n, const float *dy, size_t V, size_t D,
                            float beta, float *dtable) {
  double *acc = calloc(V * D, sizeof(double));
  for (size_t i = 0; i < n; i++)
    for (size_t d = 0; d < D; d++) acc[(size_t)ids[i] * D + d] += dy[i * D + d];
  for (size_t e = 0; e < V * D; e++)
    dtable[e] = (float)(beta == 0.0f ? acc[e] : (double)beta * dtable[e] + acc[e]);
  free(acc);
}
