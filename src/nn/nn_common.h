/* src/nn/nn_common.h — what every part of the training API shares (datasets, graph models, the
 * multi-device executor, the sequential network): the in-use flag, the host PRNG, shape element
 * counts, the optimizer's arithmetic and slot names, the finite check, device signatures and the
 * batch split, and MPI. Built on the public API in include/clnn.h; from src/internal.h only the
 * error helpers, size arithmetic and runtime helpers are used. Knows nothing of clnn_net's
 * internals (nn_internal.h). */
#ifndef CLNN_NN_COMMON_H
#define CLNN_NN_COMMON_H

#include "internal.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* In-use flag of a network or model (src/nn/busy.c): the thread inside a call, and how deep. */
typedef struct clnn__busy {
  _Atomic(void *) owner;
  int depth;
} clnn__busy;
/* Marks the object in use by this thread (re-entry from the same thread is allowed);
 * CLNN_ERROR_INVALID_ARGUMENT naming `what` when another thread is inside a call on it. */
clnn_status clnn__busy_enter(clnn__busy *b, const char *what, const char *fn);
void clnn__busy_leave(clnn__busy *b);
/* The body of a public entry point of object `obj` (a network or model with a `busy` field):
 * `call` runs under the object's in-use flag; a NULL object goes straight to `call`, which
 * reports it. */
#define CLNN__BUSY_CALL(obj, what, fn, call)                                        \
  do {                                                                              \
    if (!(obj)) return call;                                                        \
    clnn_status busy_st_ = clnn__busy_enter(&(obj)->busy, what, fn);                \
    if (busy_st_ != CLNN_SUCCESS) return busy_st_;                                  \
    busy_st_ = call;                                                                \
    clnn__busy_leave(&(obj)->busy);                                                 \
    return busy_st_;                                                                \
  } while (0)

/* ---- host PRNG (nn_util.c; deterministic everywhere) ---- */
uint64_t clnn__nn_splitmix64(uint64_t *state);
double clnn__nn_uniform01(uint64_t *state); /* [0, 1) with 53 bits */
uint64_t clnn__nn_hash_str(uint64_t h, const char *s);

/* ---- a dataset's augmentation (set in augment.c, kept in the dataset of data.c) ---- */
typedef struct clnn__dataset_aug {
  int on;                   /* clnn_dataset_set_augmentation with options */
  clnn_augment_options opt;
  uint64_t batches;         /* augmented batches drawn since it was set: the next stream */
} clnn__dataset_aug;
clnn__dataset_aug *clnn__nn_dataset_aug(clnn_dataset *ds);
/* clnn_dataset_batch with `fn` naming the caller in messages. */
clnn_status clnn__nn_dataset_batch(const clnn_dataset *ds, size_t first, size_t count, float *x,
                                   size_t x_count, int32_t *labels, size_t labels_count,
                                   const char *fn);

/* ---- in-memory readers (data.c): a fuzzing entry point of tests/fuzz/ ---- */
/* clnn_dataset_load_idx on an image file and a label file held in memory. */
clnn_status clnn__nn_dataset_from_idx(const unsigned char *images, size_t images_size,
                                      const unsigned char *labels, size_t labels_size,
                                      clnn_dataset **out);

/* ---- shapes and names (nn_util.c) ---- */
size_t clnn__nn_prod(int ndim, const size_t *dims);
/* The lower-case name of an activation ("relu"). */
const char *clnn__nn_act_name(clnn_activation act);

/* ---- optimizers (net.c, optim_update.c) ---- */
/* Optimizer slot names for an optimizer configuration; returns the count (0..2). */
int clnn__nn_opt_slots(const clnn_optimizer_config *cfg, const char *names[2]);
const char *clnn__nn_opt_name(clnn_optimizer_type type);

/* Checks every field of an optimizer configuration (lr >= 0). */
clnn_status clnn__nn_check_opt(const clnn_optimizer_config *c);
/* One parameter's update with this learning rate and weight decay at step `step` (1-based). */
clnn_status clnn__nn_update_param(clnn_context *ctx, const clnn_optimizer_config *c, float lr,
                                  float weight_decay, uint64_t step, clnn_tensor *value,
                                  const clnn_tensor *grad, clnn_tensor *const opt[2]);

/* Reads the tensors back and returns CLNN_ERROR_NOT_FINITE naming the first NaN or infinity
 * ("the gradient of 'x'" style names). */
clnn_status clnn__nn_check_finite(clnn_tensor *const *tensors, const char *const *names,
                                  size_t count, const char *fn);

/* ---- the multi-device executor (exec.c, exec_split.c) ---- */
/* A device's model and driver as one number (devices with equal numbers round alike). */
uint64_t clnn__nn_device_signature(const clnn_device_info *d);
/* Splits N samples into W contiguous shares in proportion to `shares` (all 0: equal). */
void clnn__nn_split_counts(const double *shares, int W, size_t N, size_t *counts);

/* ---- mpi.c (built with CLNN_WITH_MPI; exec_api.c has stubs otherwise) ---- */
typedef struct clnn__mpi clnn__mpi;
/* Duplicates *(MPI_Comm *)comm (NULL: MPI_COMM_WORLD) with errors returned, not fatal. */
clnn_status clnn__mpi_attach(const void *comm, clnn__mpi **out, int *rank, int *size);
void clnn__mpi_detach(clnn__mpi *m);
/* Element-wise maximum of n integers over every rank, in place. */
clnn_status clnn__mpi_max(clnn__mpi *m, long long *v, int n);
/* Every rank sends `bytes` bytes; recv receives size * bytes, in rank order. */
clnn_status clnn__mpi_allgather(clnn__mpi *m, const void *send, size_t bytes, void *recv);
/* Rank 0's `bytes` bytes to every rank. */
clnn_status clnn__mpi_bcast(clnn__mpi *m, void *buf, size_t bytes);
/* In place: buf = the sum over ranks of buf, the same bits on every rank whatever the timing
 * (each rank sums one slice in rank order, then every slice is gathered). */
clnn_status clnn__mpi_sum(clnn__mpi *m, float *buf, size_t n);

#endif /* CLNN_NN_COMMON_H */
