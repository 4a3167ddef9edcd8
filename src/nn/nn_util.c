/* src/nn/nn_util.c — helpers every part of the training API uses (datasets, layers, graph
 * models, the multi-device executor), kept apart so that none of them depends on another for
 * them: element counts of shapes, activation names and the host PRNG (splitmix64; deterministic
 * everywhere). */
#include "nn/nn_internal.h"

#include <string.h>

size_t clnn__nn_prod(int ndim, const size_t *dims) {
  size_t p = 1;
  int ok = 1;
  for (int i = 0; i < ndim; i++) p = clnn__mul_size(p, dims[i], &ok);
  return ok ? p : 0;
}

const char *clnn__nn_act_name(clnn_activation act) {
  const char *name = clnn__act_name(act);
  return name ? name : "activation";
}

/* ---- PRNG ---- */

uint64_t clnn__nn_splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double clnn__nn_uniform01(uint64_t *state) {
  return (double)(clnn__nn_splitmix64(state) >> 11) * (1.0 / 9007199254740992.0);
}

uint64_t clnn__nn_hash_str(uint64_t h, const char *s) {
  return clnn__fnv1a(h, s, strlen(s));
}
