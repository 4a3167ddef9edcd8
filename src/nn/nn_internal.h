/* src/nn/nn_internal.h — what the training API's files (net.c, layers.c, checkpoint.c, data.c)
 * share: the network, layer and parameter structs, the per-batch-size views over the activation
 * and gradient buffers, the host PRNG, and the cross-file entry points (prefix clnn__nn_, so the
 * shared library does not export them). Built on the public operators in include/clnn.h; from
 * src/internal.h only the error helpers and size arithmetic are used. */
#ifndef CLNN_NN_INTERNAL_H
#define CLNN_NN_INTERNAL_H

#include "internal.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define CLNN__NN_NAME_MAX 48   /* layer names: 1..47 characters */
#define CLNN__NN_PNAME_MAX 80  /* "<layer>.<role>" */
#define CLNN__NN_MAX_LPARAMS 6 /* parameters and state tensors one layer owns */

typedef enum clnn__nn_kind {
  CLNN__NN_CONV = 0,
  CLNN__NN_CONVT,
  CLNN__NN_MAXPOOL,
  CLNN__NN_AVGPOOL,
  CLNN__NN_GAP,
  CLNN__NN_DENSE,
  CLNN__NN_ACT,
  CLNN__NN_DROPOUT,
  CLNN__NN_BN,
  CLNN__NN_FLATTEN,
  CLNN__NN_LSTM
} clnn__nn_kind;

/* Parameter roles (their names after the layer's: "conv1.weight"). */
typedef enum clnn__nn_role {
  CLNN__NN_WEIGHT = 0,
  CLNN__NN_BIAS,
  CLNN__NN_WEIGHT_IH,
  CLNN__NN_WEIGHT_HH,
  CLNN__NN_RUNNING_MEAN,
  CLNN__NN_RUNNING_VAR
} clnn__nn_role;

typedef struct clnn__nn_layer {
  clnn__nn_kind kind;
  char name[CLNN__NN_NAME_MAX];
  /* per-sample shapes; seq: 1 time-major sequence [T, F] on the device, 0 not, -1 "whatever the
   * network input turns out to be" (elementwise layers placed before anything decides it) */
  int in_ndim, out_ndim;
  size_t in_dims[4], out_dims[4];
  int in_seq, out_seq;
  /* configuration */
  int out_channels, kh, kw, has_bias; /* conv, conv transpose */
  clnn_conv2d_params conv;
  clnn_pool2d_params pool;
  clnn_activation act;
  float alpha;
  float p;                            /* dropout */
  float momentum, eps;                /* batch norm */
  int hidden, return_seq;             /* LSTM */
  int units;                          /* dense */
  /* parameters: indices into net->params, in role order */
  int num_params;
  int pidx[CLNN__NN_MAX_LPARAMS];
  /* the names "<layer>.<role>" of its parameter and state tensors, in role order, kept by
   * clnn__nn_name_params when the layer is added or renamed: the inspection calls (const) read
   * them before the network is finalised */
  int num_pnames;
  char pnames[CLNN__NN_MAX_LPARAMS][CLNN__NN_PNAME_MAX];
  unsigned pstate; /* bit r: pnames[r] is state (batch-norm running statistics), not trainable */
} clnn__nn_layer;

typedef struct clnn__nn_param {
  char name[CLNN__NN_PNAME_MAX];
  int layer;
  clnn__nn_role role;
  int trainable;      /* 0: state (batch-norm running statistics) */
  int ndim;
  size_t dims[4];
  size_t numel;
  clnn_tensor *value; /* owned */
  clnn_tensor *grad;  /* owned; NULL for state */
  clnn_tensor *opt[2];/* the model's optimizer slots; NULL when the optimizer has fewer */
} clnn__nn_param;

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

struct clnn_net {
  clnn__busy busy; /* in use by a thread (training, inference, checkpoints) */
  clnn_context *ctx;
  uint64_t seed;
  int in_ndim;
  size_t in_dims[4];
  int input_seq; /* -1 undecided until a layer decides; finalize makes it 0 */

  clnn__nn_layer *layers;
  int num_layers, cap_layers;

  clnn__nn_param *params; /* created by finalize */
  size_t num_params;
  int finalized;

  clnn_loss loss;
  clnn_optimizer_config opt;
  uint64_t step;           /* optimizer steps taken (Adam's t) */
  uint64_t train_forwards; /* training forwards run (dropout stream offset) */

  /* the network runs as a graph model (src/nn/net_graph.c, model*.c): made at finalisation;
   * params[i].value, .grad and .opt are the model's tensors. The loss (any kind, set any time)
   * is the model's loss outside the graph (model_xloss.c) on the output, with the labels or
   * targets fed to the graph inputs "label" / "target". */
  struct clnn_model *model;
  int *node_layer;         /* [model nodes]: the layer a node belongs to (-1: none) */
  int in_v, out_v;         /* the model's input and output values */
  int label_v, target_v;   /* its label and target inputs */
  clnn_tensor *loss_t;     /* [1] the last pass's loss (the model's) */
  clnn_tensor *loss_sum;   /* [1] */
  clnn_tensor *state_backup; /* net.c: non-trainable state (batch-norm running statistics) as
                                it was before the current step, restored if the step fails */

  /* several devices (net_parallel.c): the model trains through the multi-device executor
   * (exec.c), made at finalisation on this set with the split asked for before */
  clnn_device_set *devset;     /* NULL: the network's own context */
  clnn_split_mode split_mode;
  double split_w[CLNN_MAX_SET_DEVICES];
  int check_finite;            /* clnn_net_set_check_finite */
};

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

/* ---- in-memory readers (data.c, checkpoint.c): the fuzzing entry points of tests/fuzz/ ---- */
/* clnn_dataset_load_idx on an image file and a label file held in memory. */
clnn_status clnn__nn_dataset_from_idx(const unsigned char *images, size_t images_size,
                                      const unsigned char *labels, size_t labels_size,
                                      clnn_dataset **out);
/* clnn_net_load on a whole safetensors file held in memory; `path` names it in messages. */
clnn_status clnn__nn_load_memory(clnn_net *net, const unsigned char *buf, size_t size,
                                 const char *path);

/* ---- shapes (clnn__nn_prod: nn_util.c; the rest: layers.c) ---- */
size_t clnn__nn_prod(int ndim, const size_t *dims);
/* The resolved seq flag of a layer shape flag. */
int clnn__nn_seq(const clnn_net *net, int flag);
const char *clnn__nn_kind_name(clnn__nn_kind kind);
const char *clnn__nn_role_name(clnn__nn_role role);
/* Fills l->pnames / num_pnames / pstate from its kind and name (the tensors its graph node
 * creates, in the same order). */
void clnn__nn_name_params(clnn__nn_layer *l);
const char *clnn__nn_act_name(clnn_activation act);

/* ---- layers.c ---- */
/* Appends layer `l` (kind and configuration filled in) after shape inference; on failure returns
 * a status naming the layer and leaves the network unchanged. */
clnn_status clnn__nn_append(clnn_net *net, clnn__nn_layer *l);

/* ---- net.c ---- */
/* Makes the network's graph model, parameter table and optimizer state on first use. */
clnn_status clnn__nn_finalize(clnn_net *net);
/* Optimizer slot names for the network's optimizer; returns the count (0..2). */
int clnn__nn_opt_slots(const clnn_optimizer_config *cfg, const char *names[2]);
const char *clnn__nn_opt_name(clnn_optimizer_type type);
/* Resets every optimizer slot to zero. */
clnn_status clnn__nn_opt_reset(clnn_net *net);
/* Checks a training call's arguments for a whole batch (x, batch, labels or targets, and the
 * caller's element counts of x, labels and targets: x_count = batch * input numel, labels_count
 * = batch (* T), targets_count = batch * output numel; the count of the pointer the loss does not
 * use is ignored) and finalises the network; changes nothing else. */
clnn_status clnn__nn_check_train_args(clnn_net *net, const float *x, size_t x_count, size_t batch,
                                      const int32_t *labels, size_t labels_count,
                                      const float *targets, size_t targets_count, const char *fn);
/* The optimizer step on this network alone (clipping, update, step count). */
clnn_status clnn__nn_optimizer_step(clnn_net *net);

/* ---- optim_update.c ---- */
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

/* ---- exec.c (the multi-device executor), net_parallel.c ---- */
/* A device's model and driver as one number (devices with equal numbers round alike). */
uint64_t clnn__nn_device_signature(const clnn_device_info *d);
/* Splits N samples into W contiguous shares in proportion to `shares` (all 0: equal). */
void clnn__nn_split_counts(const double *shares, int W, size_t N, size_t *counts);
/* At finalisation: the executor for the network's model on its device set, with its split. */
clnn_status clnn__nn_par_attach(clnn_net *net);

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

#endif /* CLNN_NN_INTERNAL_H */
