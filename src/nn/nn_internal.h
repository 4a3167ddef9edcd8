/* src/nn/nn_internal.h — what the training API's files (net.c, layers.c, checkpoint.c, data.c)
 * share: the network, layer and parameter structs, the per-batch-size views over the activation
 * and gradient buffers, the host PRNG, and the cross-file entry points (prefix clnn__nn_, so the
 * shared library does not export them). Built on the public operators in include/clnn.h; from
 * src/internal.h only the error helpers and size arithmetic are used. */
#ifndef CLNN_NN_INTERNAL_H
#define CLNN_NN_INTERNAL_H

#include "internal.h"

#include <stddef.h>
#include <stdint.h>

#define CLNN__NN_NAME_MAX 48   /* layer names: 1..47 characters */
#define CLNN__NN_PNAME_MAX 80  /* "<layer>.<role>" */
#define CLNN__NN_MAX_LPARAMS 6 /* parameters and state tensors one layer owns */
#define CLNN__NN_PLANS 4       /* batch sizes whose views are kept */

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
  int alias;                          /* output shares the input's buffer (flatten) */
  int he_init;                        /* resolved when the network is finalised */
  float he_gain;
  /* parameters: indices into net->params, in role order */
  int num_params;
  int pidx[CLNN__NN_MAX_LPARAMS];
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
  clnn_tensor *opt[2];/* optimizer slots; NULL when the optimizer has fewer */
} clnn__nn_param;

/* Views (wrapped tensors over the shared buffers) one layer uses for one batch size. */
typedef struct clnn__nn_lview {
  clnn_tensor *x, *y;   /* input and output in the shape the operator wants */
  clnn_tensor *dx, *dy; /* their gradients (NULL when not needed / not training) */
  clnn_tensor *seq_y;   /* LSTM returning its last state: every h_t [T, N, H] */
  clnn_tensor *reserve; /* LSTM reserve */
  clnn_tensor *y4, *dy4;/* global average pooling: [N, C, 1, 1] views of y/dy */
} clnn__nn_lview;

typedef struct clnn__nn_plan {
  size_t batch;         /* 0: slot unused */
  int with_grads;
  unsigned last_use;
  clnn__nn_lview *lv;   /* [num_layers] */
  clnn_tensor *input;   /* the network input, full shape */
  clnn_tensor *output;  /* the network output, full shape */
  clnn_tensor *logits;  /* output as [rows, C] for softmax cross-entropy (NULL if not 2-D) */
  clnn_tensor *dlogits; /* gradient of `logits` (with_grads) */
  clnn_tensor *doutput; /* gradient of `output` (with_grads) */
  clnn_tensor *target;  /* targets, full output shape */
} clnn__nn_plan;

struct clnn_net {
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

  /* buffers, allocated for `act_cap` / `grad_cap` samples and reused */
  size_t act_cap, grad_cap;
  int *root;               /* [L+1]: buffer k (0: input, i+1: layer i's output) lives in root[k] */
  int *propagate;          /* [L]: layer i computes its input gradient */
  char *grad_needed;       /* [L+1] */
  clnn_tensor **act;       /* [L+1] base buffers (NULL where aliased) */
  clnn_tensor **grad;      /* [L+1] */
  clnn_tensor **extra;     /* [L] LSTM every-step output when only the last is returned */
  clnn_tensor **reserve;   /* [L] LSTM reserve */
  clnn_tensor **bn_save;   /* [2L] batch-norm save_mean / save_invstd */
  clnn_tensor *target;     /* targets for BCE / MSE */
  clnn_tensor *loss_t;     /* [1] */
  clnn_tensor *loss_sum;   /* [1] */
  float *stage;            /* host staging for time-major conversions */
  size_t stage_cap;
  int32_t *stage_lab;
  size_t stage_lab_cap;
  clnn__nn_plan plans[CLNN__NN_PLANS];
  unsigned plan_clock;

  /* data-parallel training (src/nn/parallel.c) */
  size_t sample_offset;        /* first sample of this replica's share of the global batch (keys
                                  the dropout stream so masks match a one-device run) */
  int replicas_stale;          /* parameters, state or optimizer may have changed outside a step
                                  (load, set_optimizer, clnn_net_param): copy to replicas first */
  struct clnn__nn_par *par;    /* NULL: one device, no MPI */
  clnn_tensor *state_backup;   /* net.c: non-trainable state (batch-norm running statistics) as
                                  it was before the current step, restored if the step fails */
};

/* ---- host PRNG (deterministic everywhere) ---- */
uint64_t clnn__nn_splitmix64(uint64_t *state);
double clnn__nn_uniform01(uint64_t *state); /* [0, 1) with 53 bits */
uint64_t clnn__nn_hash_str(uint64_t h, const char *s);

/* ---- in-memory readers (data.c, checkpoint.c): the fuzzing entry points of tests/fuzz/ ---- */
/* clnn_dataset_load_idx on an image file and a label file held in memory. */
clnn_status clnn__nn_dataset_from_idx(const unsigned char *images, size_t images_size,
                                      const unsigned char *labels, size_t labels_size,
                                      clnn_dataset **out);
/* clnn_net_load on a whole safetensors file held in memory; `path` names it in messages. */
clnn_status clnn__nn_load_memory(clnn_net *net, const unsigned char *buf, size_t size,
                                 const char *path);

/* ---- shapes ---- */
size_t clnn__nn_prod(int ndim, const size_t *dims);
/* The resolved seq flag of a layer shape flag. */
int clnn__nn_seq(const clnn_net *net, int flag);
const char *clnn__nn_kind_name(clnn__nn_kind kind);
const char *clnn__nn_role_name(clnn__nn_role role);
const char *clnn__nn_act_name(clnn_activation act);

/* ---- layers.c ---- */
/* Appends layer `l` (kind and configuration filled in) after shape inference; on failure returns
 * a status naming the layer and leaves the network unchanged. */
clnn_status clnn__nn_append(clnn_net *net, clnn__nn_layer *l);
/* Creates every parameter tensor and initialises it from net->seed. */
clnn_status clnn__nn_create_params(clnn_net *net);
clnn_status clnn__nn_layer_forward(clnn_net *net, int i, const clnn__nn_lview *v, int training);
clnn_status clnn__nn_layer_backward(clnn_net *net, int i, const clnn__nn_lview *v);
/* The parameter of layer i with role r (NULL if none). */
clnn__nn_param *clnn__nn_lparam(clnn_net *net, int i, clnn__nn_role r);

/* ---- net.c ---- */
/* Allocates parameters, optimizer state and the buffer graph on first use. */
clnn_status clnn__nn_finalize(clnn_net *net);
/* Optimizer slot names for the network's optimizer; returns the count (0..2). */
int clnn__nn_opt_slots(const clnn_optimizer_config *cfg, const char *names[2]);
const char *clnn__nn_opt_name(clnn_optimizer_type type);
/* Resets every optimizer slot to zero. */
clnn_status clnn__nn_opt_reset(clnn_net *net);
/* Called by the training pass after layer `layer`'s backward has been enqueued; a failure stops
 * the pass and is returned by it. */
typedef clnn_status (*clnn__nn_layer_hook)(void *user, int layer);
/* Checks a training call's arguments for a whole batch (x, batch, labels or targets) and
 * finalises the network; changes nothing else. */
clnn_status clnn__nn_check_train_args(clnn_net *net, const float *x, size_t batch,
                                      const int32_t *labels, const float *targets, const char *fn);
/* Upload, forward (training), loss into net->loss_t and backward on this network alone, calling
 * `hook` (may be NULL) after each layer's backward. No optimizer step. */
clnn_status clnn__nn_train_pass(clnn_net *net, const float *x, size_t batch, const int32_t *labels,
                                const float *targets, clnn__nn_layer_hook hook, void *user,
                                const char *fn);
/* The optimizer step on this network alone (clipping, update, step count). */
clnn_status clnn__nn_optimizer_step(clnn_net *net);

/* ---- optim_update.c ---- */
/* Checks every field of an optimizer configuration (lr >= 0). */
clnn_status clnn__nn_check_opt(const clnn_optimizer_config *c);
/* One parameter's update with this learning rate and weight decay at step `step` (1-based). */
clnn_status clnn__nn_update_param(clnn_context *ctx, const clnn_optimizer_config *c, float lr,
                                  float weight_decay, uint64_t step, clnn_tensor *value,
                                  const clnn_tensor *grad, clnn_tensor *const opt[2]);

/* ---- parallel.c ---- */
/* A training step (apply 1) or gradient computation (apply 0) split across the network's devices
 * (and MPI ranks); the global mean loss is left in net->loss_t. */
clnn_status clnn__nn_par_train(clnn_net *net, const float *x, size_t batch, const int32_t *labels,
                               const float *targets, int apply, const char *fn);
/* Frees the data-parallel state and replicas (not the network itself). */
void clnn__nn_par_destroy(clnn_net *net);

/* ---- mpi.c (built with CLNN_WITH_MPI; parallel.c has stubs otherwise) ---- */
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
