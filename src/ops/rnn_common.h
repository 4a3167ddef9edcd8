/* src/ops/rnn_common.h — host code shared by the recurrent layers (src/ops/lstm.c and gru.c):
 * argument checks (tensors, shapes, aliasing, the sequence options), the common x / w_ih
 * dimensions, the reserve size, the lengths upload and the two-pass bias column sum. Each layer
 * keeps its own kernels; the helpers that launch take the kernel references. */
#ifndef CLNN_OPS_RNN_COMMON_H
#define CLNN_OPS_RNN_COMMON_H

#include "internal.h"

#include <stdint.h>

typedef struct clnn__rnn_dims {
  size_t T, N, I, H, G; /* steps, batch, input size, hidden size, gates * H */
} clnn__rnn_dims;

/* t must be a valid tensor of ctx (NULL allowed when `optional`); errors start with fn. */
clnn_status clnn__rnn_tensor(const char *fn, const clnn_context *ctx, const clnn_tensor *t,
                             const char *name, int optional);
/* t (if not NULL) must have exactly `ndim` dims equal to `want`; `sym` names them ("[N, H]") and
 * `from` says where they come from. */
clnn_status clnn__rnn_shape(const char *fn, const clnn_tensor *t, const char *name, int ndim,
                            const size_t *want, const char *sym, const char *from);
/* No tensor in outs[] may appear twice or share memory with one of ins[] (NULLs are skipped). */
clnn_status clnn__rnn_distinct(const char *fn, const clnn_tensor *const *outs,
                               const char *const *out_names, int n_outs,
                               const clnn_tensor *const *ins, const char *const *in_names,
                               int n_ins);
/* 64 work-items, or fewer where the kernel allows fewer (CL_KERNEL_WORK_GROUP_SIZE). */
size_t clnn__rnn_local(clnn_context *ctx, clnn__kernel_ref *kernel);
/* Fetches (builds) every kernel a call will launch (NULL entries skipped) before anything is
 * enqueued, so a build failure cannot leave outputs half written. */
clnn_status clnn__rnn_kernels(clnn_context *ctx, const char *fn, clnn__kernel_ref *const *refs,
                              int count);
/* 5 * T * N * H floats, or 0 when that overflows. */
size_t clnn__rnn_reserve_numel(size_t seq_len, size_t batch, size_t hidden);
/* x [T, N, I] and w_ih [gates*H, I] give d; `from` receives the text that explains expected
 * shapes ("T, N, I from x ..., H = rows/gates of w_ih ..."). */
clnn_status clnn__rnn_input_dims(const char *fn, const clnn_tensor *x, const clnn_tensor *w_ih,
                                 int gates, clnn__rnn_dims *d, char *from, size_t from_size);
/* The sizes the kernels index with int: T*N, G*ws_mult (the widest per-row workspace, in units
 * of G) and I; T*N*G*ws_mult floats must fit size_t bytes, and `reserve_need` must not be 0. */
clnn_status clnn__rnn_check_sizes(const char *fn, const clnn__rnn_dims *d, size_t ws_mult,
                                  size_t reserve_need, const char *from);
/* reserve must hold at least `need` floats; `numel_fn` names the function that gives it. */
clnn_status clnn__rnn_check_reserve(const char *fn, const clnn_tensor *reserve, size_t need,
                                    const char *numel_fn, const char *from);
/* reverse must be 0 or 1; lengths (if not NULL) must have num_lengths == N entries in [1, T]. */
clnn_status clnn__rnn_check_params(const char *fn, const int32_t *lengths, size_t num_lengths,
                                   int reverse, const clnn__rnn_dims *d, const char *from);
/* Uploads the lengths into workspace slot 2, or hands back `placeholder` when there are none. */
clnn_status clnn__rnn_upload_lengths(clnn_context *ctx, const int32_t *lengths, size_t N,
                                     cl_mem placeholder, cl_mem *out);

#endif
