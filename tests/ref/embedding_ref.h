/* tests/ref/embedding_ref.h — plain-C reference of the embedding lookup and its backward. */
#ifndef CLNN_EMBEDDING_REF_H
#define CLNN_EMBEDDING_REF_H
#include <stddef.h>
#include <stdint.h>

/* y[i, :] = table[ids[i], :] (table [V, D], ids in [0, V)). */
void ref_embedding_forward(const float *table, size_t D, const int32_t *ids, size_t n, float *y);
/* dtable = beta*dtable + scatter-add of dy's rows by id (beta == 0: dtable not read), in double. */
void ref_embedding_backward(const int32_t *ids, size_t n, const float *dy, size_t V, size_t D,
                            float beta, float *dtable);
#endif
