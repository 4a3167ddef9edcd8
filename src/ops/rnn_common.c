/* src/ops/rnn_common.c — host code shared by the recurrent layers (LSTM, GRU): argument checks,
 * reserve size, lengths upload and the bias column sum. See rnn_common.h. */
#include "rnn_common.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

clnn_status clnn__rnn_tensor(const char *fn, const clnn_context *ctx, const clnn_tensor *t,
                             const char *name, int optional) {
  if (!t && optional) return CLNN_SUCCESS;
  if (!t) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn, name);
  return clnn__prefix_error(fn, clnn__check_tensor(ctx, t, name));
}

clnn_status clnn__rnn_shape(const char *fn, const clnn_tensor *t, const char *name, int ndim,
                            const size_t *want, const char *sym, const char *from) {
  if (!t) return CLNN_SUCCESS;
  int ok = t->ndim == ndim;
  for (int i = 0; ok && i < ndim; i++) ok = t->dims[i] == want[i];
  if (ok) return CLNN_SUCCESS;
  char got[96], want_s[96];
  clnn__dims_str(t, got, sizeof got);
  clnn__dims_str_raw(ndim, want, want_s, sizeof want_s);
  return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: %s has shape %s, expected %s = %s (%s)", fn,
                     name, got, sym, want_s, from);
}

clnn_status clnn__rnn_distinct(const char *fn, const clnn_tensor *const *outs,
                               const char *const *out_names, int n_outs,
                               const clnn_tensor *const *ins, const char *const *in_names,
                               int n_ins) {
  for (int a = 0; a < n_outs; a++) {
    if (!outs[a]) continue;
    for (int b = a + 1; b < n_outs; b++)
      if (outs[b] && outs[a]->mem == outs[b]->mem)
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: outputs %s and %s are the same tensor",
                           fn, out_names[a], out_names[b]);
    for (int b = 0; b < n_ins; b++)
      if (ins[b] && outs[a]->mem == ins[b]->mem)
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                           "%s: output %s is the same tensor as input %s", fn, out_names[a],
                           in_names[b]);
  }
  return CLNN_SUCCESS;
}

size_t clnn__rnn_local(clnn_context *ctx, clnn__kernel_ref *kernel) {
  size_t l = clnn__kernel_wg_limit(ctx, kernel);
  return l > 64 ? 64 : l;
}

clnn_status clnn__rnn_kernels(clnn_context *ctx, const char *fn, clnn__kernel_ref *const *refs,
                              int count) {
  for (int i = 0; i < count; i++) {
    cl_kernel k;
    if (!refs[i]) continue;
    clnn_status s = clnn__kernel(ctx, refs[i], &k);
    if (s != CLNN_SUCCESS) return clnn__prefix_error(fn, s);
  }
  return CLNN_SUCCESS;
}

size_t clnn__rnn_reserve_numel(size_t seq_len, size_t batch, size_t hidden) {
  int ok = 1;
  size_t n = clnn__mul_size(seq_len, batch, &ok);
  n = clnn__mul_size(n, hidden, &ok);
  n = clnn__mul_size(n, 5, &ok);
  if (!ok || n > SIZE_MAX / sizeof(float)) return 0;
  return n;
}

clnn_status clnn__rnn_input_dims(const char *fn, const clnn_tensor *x, const clnn_tensor *w_ih,
                                 int gates, clnn__rnn_dims *d, char *from, size_t from_size) {
  char a[96], b[96];
  if (x->ndim != 3)
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH, "%s: x has shape %s, expected [T, N, I] (3-D)",
                       fn, clnn__dims_str(x, a, sizeof a));
  d->T = x->dims[0];
  d->N = x->dims[1];
  d->I = x->dims[2];
  if (w_ih->ndim != 2 || w_ih->dims[0] % (size_t)gates != 0 || w_ih->dims[1] != d->I)
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH,
                       "%s: w_ih has shape %s, expected [%dH, I] with I = %zu from x %s (2-D, rows "
                       "a multiple of %d)",
                       fn, clnn__dims_str(w_ih, a, sizeof a), gates, d->I,
                       clnn__dims_str(x, b, sizeof b), gates);
  d->G = w_ih->dims[0];
  d->H = d->G / (size_t)gates;
  snprintf(from, from_size, "T, N, I from x %s, H = rows/%d of w_ih %s",
           clnn__dims_str(x, a, sizeof a), gates, clnn__dims_str(w_ih, b, sizeof b));
  return CLNN_SUCCESS;
}

clnn_status clnn__rnn_check_sizes(const char *fn, const clnn__rnn_dims *d, size_t ws_mult,
                                  size_t reserve_need, const char *from) {
  int ok = reserve_need != 0;
  size_t tn = clnn__mul_size(d->T, d->N, &ok);
  clnn__mul_size(clnn__mul_size(tn, ws_mult * d->G, &ok), sizeof(float), &ok);
  if (!ok || tn > INT_MAX || d->G > INT_MAX / ws_mult || d->I > INT_MAX)
    return clnn__error(CLNN_ERROR_UNSUPPORTED, "%s: sizes too large (%s)", fn, from);
  return CLNN_SUCCESS;
}

clnn_status clnn__rnn_check_reserve(const char *fn, const clnn_tensor *reserve, size_t need,
                                    const char *numel_fn, const char *from) {
  char a[96];
  if (reserve->numel < need)
    return clnn__error(CLNN_ERROR_SHAPE_MISMATCH,
                       "%s: reserve has shape %s (%zu floats), expected at least "
                       "%s(T, N, H) = %zu floats (%s)",
                       fn, clnn__dims_str(reserve, a, sizeof a), reserve->numel, numel_fn, need,
                       from);
  return CLNN_SUCCESS;
}

clnn_status clnn__rnn_check_params(const char *fn, const int32_t *lengths, size_t num_lengths,
                                   int reverse, const clnn__rnn_dims *d, const char *from) {
  if (reverse != 0 && reverse != 1)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: params->reverse is %d; it must be 0 or 1",
                       fn, reverse);
  if (!lengths) return CLNN_SUCCESS;
  if (num_lengths != d->N)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: params->num_lengths is %zu but the batch has N = %zu samples "
                       "(one length each; %s)",
                       fn, num_lengths, d->N, from);
  for (size_t i = 0; i < d->N; i++)
    if (lengths[i] < 1 || (size_t)lengths[i] > d->T)
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                         "%s: params->lengths[%zu] is %d; lengths must be in [1, T = %zu] (%s)", fn,
                         i, (int)lengths[i], d->T, from);
  return CLNN_SUCCESS;
}

clnn_status clnn__rnn_upload_lengths(clnn_context *ctx, const int32_t *lengths, size_t N,
                                     cl_mem placeholder, cl_mem *out) {
  if (!lengths) {
    *out = placeholder;
    return CLNN_SUCCESS;
  }
  int32_t *staged;
  clnn_status s = clnn__staging(ctx, N * sizeof(int32_t), (void **)&staged);
  if (s) return s;
  memcpy(staged, lengths, N * sizeof(int32_t));
  return clnn__upload_staged(ctx, 2, N * sizeof(int32_t), out);
}

