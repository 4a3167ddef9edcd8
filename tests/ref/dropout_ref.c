/* tests/ref/dropout_ref.c — plain-C Philox4x32-10 and the dropout mask (see dropout_ref.h).
 * Written from the paper's definition: R = 10 rounds of the Philox S-box, the key bumped by the
 * Weyl constants before every round after the first. */
#include "dropout_ref.h"

static const uint32_t M[2] = {0xD2511F53u, 0xCD9E8D57u}; /* multipliers */
static const uint32_t WEYL[2] = {0x9E3779B9u, 0xBB67AE85u}; /* key bump: golden ratio, sqrt(3)-1 */

void dropout_ref_philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
  uint32_t x[4] = {ctr[0], ctr[1], ctr[2], ctr[3]};
  uint32_t k[2] = {key[0], key[1]};
  for (int round = 0; round < 10; round++) {
    if (round) {
      k[0] += WEYL[0];
      k[1] += WEYL[1];
    }
    uint64_t p0 = (uint64_t)M[0] * x[0]; /* full 64-bit products */
    uint64_t p1 = (uint64_t)M[1] * x[2];
    uint32_t y[4];
    y[0] = (uint32_t)(p1 >> 32) ^ x[1] ^ k[0];
    y[1] = (uint32_t)p1;
    y[2] = (uint32_t)(p0 >> 32) ^ x[3] ^ k[1];
    y[3] = (uint32_t)p0;
    for (int j = 0; j < 4; j++) x[j] = y[j];
  }
  for (int j = 0; j < 4; j++) out[j] = x[j];
}

int dropout_ref_keep(float p, uint64_t seed, uint64_t offset, uint64_t i) {
  uint64_t a = offset + i;
  uint64_t block = a / 4;
  uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), 0, 0};
  uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
  uint32_t out[4];
  dropout_ref_philox(ctr, key, out);
  uint32_t threshold = (uint32_t)((double)p * 4294967296.0);
  return out[a % 4] >= threshold;
}

void dropout_ref_apply(float p, uint64_t seed, uint64_t offset, const float *in, float beta,
                       float *out, size_t n) {
  double scale = 1.0 / (1.0 - (double)p);
  for (size_t i = 0; i < n; i++) {
    double g = (double)in[i] * (dropout_ref_keep(p, seed, offset, i) ? scale : 0.0);
    out[i] = (float)(beta == 0.0f ? g : (double)beta * out[i] + g);
  }
}
