/* src/nn/exec.h — the multi-device executor's state, shared by exec.c (replicas, the layout of
 * the reduced vector, rollback, the step), exec_worker.c (one device's part and its thread),
 * exec_split.c (shares and their measurement), exec_sync.c (copies between replicas and ranks)
 * and exec_api.c (public creation, MPI, test hooks). It works on models through the functions of model.h (never their
 * fields) and on devices through the runtime (never a raw queue). */
#ifndef CLNN_NN_EXEC_H
#define CLNN_NN_EXEC_H

#include "nn/model.h"

#include <pthread.h>

#define X_MEASURE_FIRST 1 /* parallel steps before measuring (the first builds the kernels) */
#define X_MEASURE_STEPS 3 /* steps whose speeds set measured shares */
#define X_MSG 1024

/* Test hooks (not API): faults injected into one device's next step. */
enum { X_FAULT_NONE = 0, X_FAULT_BACKWARD = 1, X_FAULT_READBACK = 2, X_FAULT_APPLY = 3 };

/* One read-back unit: a trained parameter's gradient, a state tensor, or the objective (-1). */
typedef struct x_item {
  int param;
  size_t off, len;
} x_item;

typedef struct x_worker {
  struct clnn__x *x;
  clnn_model *m;      /* replica; worker 0 is the caller's model */
  int global;         /* index among the devices of every rank */
  char label[192];    /* "device 1 (0:1 pthread-...)" */
  uint64_t signature; /* device model and driver */
  /* this step */
  size_t n, offset;
  clnn_feed feeds[CLNN__G_MAX_IN];
  int num_feeds;
  const char *fn;
  float *host;        /* [flat_n] read-back gradients, state and objective */
  cl_event *ev;       /* [nitems] */
  int *pass_scratch;  /* [2 * params]: the pass's bookkeeping (clnn__m_pass) */
  float *obj_parts;   /* [clnn__m_objective_parts]: the objective's parts read back */
  cl_event *obj_ev;   /* [clnn__m_objective_parts] */
  int progress;       /* items read back (under x->mu) */
  int done;           /* finished, successfully or not (under x->mu) */
  int reads;          /* trained gradients whose read-back was enqueued */
  clnn_status st;
  char msg[X_MSG];
  double seconds;
  pthread_t thread;   /* its thread, started at the first threaded step, kept until destroy */
  int threaded;       /* the thread runs (else the worker runs in the caller's thread) */
  uint64_t seen;      /* the last step generation it took up (under x->mu) */
  clnn_tensor **backup; /* [3 * params]: value, opt[0], opt[1] copies for rollback */
  size_t nbackup;
  /* test hooks */
  int fault;
  cl_int fault_err;
  double delay;
} x_worker;

struct clnn__x {
  clnn_device_set *set; /* NULL: the model's own context only */
  int nlocal;
  x_worker *w;
  uint64_t steps;       /* successful parallel steps */
  int stale;            /* replica 0 changed outside a step: copy it to the others */
  /* flat vector: trained gradients in parameter order, state values, objective */
  size_t flat_n, state_off, loss_off, cap_n;
  size_t *off;          /* [params] */
  x_item *items;        /* read-back order: trained, last parameter first; state; objective */
  int nitems, ntrain_items;
  int *item_of_param;   /* [params] */
  size_t nparams;
  float *sum;           /* the reduced vector */
  float *image;         /* [image_cap] the first device's update, for devices that differ */
  size_t image_cap;
  float *state_before;  /* state before the step, read from state_copy by a rollback */
  clnn_tensor **state_copy; /* [params]: replica 0's state before the step (device copies) */
  float loss;           /* the last step's objective over the whole batch */
  pthread_mutex_t mu;
  pthread_cond_t cv;    /* a worker's progress */
  pthread_cond_t go;    /* a new step for the workers' threads (gen), or quit */
  uint64_t gen;         /* step generation handed to the threads (under mu) */
  int quit;             /* the threads end (under mu) */
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
  uint64_t image_copies; /* parameter images written to other replicas (a test hook reads it) */
};

/* exec.c */
void clnn__x_free_backups(x_worker *w);
clnn_status clnn__x_alloc_global(clnn__x *x, int nglobal);
/* exec_worker.c: one device's step (arg: its x_worker), run inline or by its thread; the
 * thread's loop (a step per x->gen until x->quit); ending the threads */
void *clnn__x_worker_run(void *arg);
void *clnn__x_worker_loop(void *arg);
void clnn__x_stop_threads(clnn__x *x);
/* exec_split.c: after a successful step, the speeds and, at the end of the measuring window,
 * the shares */
clnn_status clnn__x_measure_update(clnn__x *x);
/* exec_sync.c: parameters, state and optimizer slots through host memory */
size_t clnn__x_image_numel(clnn_model *m);
clnn_status clnn__x_image_io(clnn_model *m, float *buf, int to_host);
/* Copies replica 0's (with MPI: rank 0's) settings, values and optimizer state to every
 * replica when any_stale, and keeps the state for rollback. */
clnn_status clnn__x_sync(clnn__x *x, int any_stale);
/* Parameters handed out since the last step: sets *stale when one of them differs from the
 * second replica's copy (the caller wrote it), or, with MPI or one local replica, when any was
 * handed out; clears the marks. */
clnn_status clnn__x_check_exposed(clnn__x *x, int *stale);
#endif /* CLNN_NN_EXEC_H */
