/* src/nn/parallel.h — what the data-parallel executor of sequential networks shares between
 * parallel.c (replicas, the step, rollback), parallel_sync.c (copies between replicas and ranks)
 * and parallel_api.c (split settings, MPI, test hooks, the builds without MPI): the worker and
 * executor state and the functions each file gives the others. */
#ifndef CLNN_NN_PARALLEL_H
#define CLNN_NN_PARALLEL_H

#include "nn_internal.h"

#include <pthread.h>

#define PAR_MEASURE_FIRST 1 /* parallel steps before measuring (the first builds the kernels) */
#define PAR_MEASURE_STEPS 3 /* steps whose speeds set measured shares */
#define PAR_MSG 1024

/* Test hooks (not API): faults injected into one device's next step. */
enum { PAR_FAULT_NONE = 0, PAR_FAULT_BACKWARD = 1, PAR_FAULT_READBACK = 2, PAR_FAULT_APPLY = 3 };

/* One read-back unit: a trainable parameter's gradient, a state tensor, or the loss (param -1). */
typedef struct par_item {
  int param;
  size_t off, len;
} par_item;

typedef struct par_worker {
  struct clnn__nn_par *par;
  clnn_net *net;      /* replica; worker 0 is the caller's network */
  int global;         /* index among the devices of every rank */
  char label[192];    /* "device 1 (0:1 pthread-...)" */
  uint64_t signature; /* device model and driver */
  /* this step */
  size_t n, offset;
  const float *x;
  const int32_t *labels;
  const float *targets;
  const char *fn;
  float *host;        /* [flat_n] read-back gradients, state and loss */
  cl_event *ev;       /* [nitems] */
  int progress;       /* items read back (under par->mu) */
  int done;           /* finished, successfully or not (under par->mu) */
  clnn_status st;
  char msg[PAR_MSG];
  double seconds;
  pthread_t thread;
  int threaded;
  clnn_tensor **backup; /* [3 * num_params]: value, opt[0], opt[1] copies for rollback */
  /* test hooks */
  int fault;
  cl_int fault_err;
  double delay;
} par_worker;

typedef struct clnn__nn_par clnn__nn_par;
struct clnn__nn_par {
  clnn_device_set *set; /* NULL: the network's own context only */
  int nlocal;
  par_worker *w;
  int ready;            /* replicas and layout made */
  uint64_t steps;       /* successful parallel steps */
  /* flat vector: trainable gradients in parameter order, state values, loss */
  size_t flat_n, state_off, loss_off;
  size_t *off;          /* [num_params] */
  par_item *items;      /* read-back order: trainable by layer, last layer first; state; loss */
  int nitems, ntrain_items;
  int *item_of_param;   /* [num_params] */
  float *sum;           /* the reduced vector */
  float *state_before;  /* state before the step (for rollback) */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int sync_ready;
  /* split */
  clnn_split_mode mode;
  double *weights;      /* [nglobal] FIXED weights */
  double *shares;       /* [nglobal] */
  size_t *counts;       /* [nglobal] this step's split */
  int measured;
  uint64_t meas_from;   /* first step of the measuring window */
  double *meas_n, *meas_t; /* [nlocal] */
  /* devices of every rank */
  int nglobal, first_global, rank, nranks, max_local;
  int *rank_count;      /* [nranks] devices of each rank */
  int identical;        /* every device the same model and driver */
  clnn__mpi *mpi;
  uint64_t image_copies; /* parameter images written to replicas by clnn__par_sync (a test hook
                            reads it) */
};

/* Internal test hooks (tests/test_multi_device.c, tests/mpi/test_mpi.c). */
clnn_status clnn__nn_par_inject_fault(clnn_net *net, int device, int phase, cl_int err);
clnn_status clnn__nn_par_set_delay(clnn_net *net, int device, double seconds);
clnn_net *clnn__nn_par_replica(clnn_net *net, int device);
/* Parameter images clnn__par_sync has written to replicas so far (0 for a one-device network). */
uint64_t clnn__nn_par_image_copies(const clnn_net *net);

/* parallel.c */
void clnn__par_free_backups(clnn_net *net, par_worker *w);
clnn_status clnn__par_alloc_global(clnn__nn_par *par, int nglobal);
clnn_status clnn__par_create(clnn_net *net, clnn_device_set *set);
/* parallel_sync.c: parameters, state and optimizer slots through host memory */
int clnn__par_num_slots(const clnn_net *net);
size_t clnn__par_image_numel(const clnn_net *net, int values, int slots);
clnn_status clnn__par_image_io(clnn_net *net, float *buf, int values, int slots, int to_host);
void clnn__par_copy_settings(clnn_net *dst, const clnn_net *src);
clnn_status clnn__par_sync(clnn_net *net, int any_stale);
/* Parameters handed out by clnn_net_param since the last step: sets *stale when one of them
 * differs from the second replica's copy (the caller wrote it), or, with MPI or before the
 * replicas exist, when any was handed out; clears the marks. */
clnn_status clnn__par_check_exposed(clnn_net *net, int *stale);

#endif /* CLNN_NN_PARALLEL_H */
