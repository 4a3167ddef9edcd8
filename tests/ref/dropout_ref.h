/* tests/ref/dropout_ref.h — plain-C Philox4x32-10 (Salmon et al., SC 2011; the Random123 known
 * answers are in tests/test_dropout.c) and the dropout mask built from it, with the counter layout
 * of cl/dropout.cl: element i uses a = offset + i; counter (lo32(a/4), hi32(a/4), 0, 0), key
 * (lo32(seed), hi32(seed)), word a % 4; kept when word >= floor(p * 2^32). */
#ifndef CLNN_DROPOUT_REF_H
#define CLNN_DROPOUT_REF_H
#include <stddef.h>
#include <stdint.h>

void dropout_ref_philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);
/* 1 when element (offset + i) is kept for probability p and this seed */
int dropout_ref_keep(float p, uint64_t seed, uint64_t offset, uint64_t i);
/* out = beta*out + in * keep / (1 - p) (beta == 0: out is not read) */
void dropout_ref_apply(float p, uint64_t seed, uint64_t offset, const float *in, float beta,
                       float *out, size_t n);
#endif
