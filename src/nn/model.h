/* src/nn/model.h — a graph on a context (src/nn/model.c): the parameter table with gradients,
 * trainable flags, optimizer slots and groups; per-batch plans of value and gradient views; the
 * execution state the ops see; the loss outside the graph (model_xloss.c); the interface the
 * multi-device executor works through (model_replica.c) and the executor calls the model makes.
 * Shared by the model*.c files, autodiff.c, the ops, the executor (exec*.c) and the sequential
 * network's files, which build on it. */
#ifndef CLNN_MODEL_H
#define CLNN_MODEL_H

#include "nn/graph.h"

typedef struct clnn__mparam {
  int gp;               /* index into the graph's parameters */
  int trainable;        /* 0 for state and frozen parameters */
  clnn_tensor *value;   /* owned */
  clnn_tensor *grad;    /* owned; NULL for state */
  clnn_tensor *opt[2];  /* optimizer slots (NULL when the optimizer has fewer) */
  int exposed;          /* handed out by clnn_model_param since the last parallel step: the caller
                           may have written it (compared with a replica before the next step) */
} clnn__mparam;

typedef struct clnn__mgroup {
  char prefix[CLNN__G_PNAME_MAX];
  float lr, weight_decay;
} clnn__mgroup;

typedef struct clnn__gplan {
  size_t batch;           /* 0: unused slot */
  unsigned last_use;
  clnn_tensor **val;      /* [num_values] views over the base buffers */
  clnn_tensor **grad;     /* [num_values] */
  clnn_tensor **view;     /* [num_nodes * SLOTS] node views */
  clnn_tensor **scratch;  /* [num_nodes * SLOTS] node buffers */
} clnn__gplan;

/* Host staging of one float input: two buffers used in turn, each with the event of the
 * non-blocking upload that reads it. */
typedef struct clnn__mstage {
  float *buf[2];
  cl_event ev[2];
  size_t cap;
  int next;
} clnn__mstage;

/* A loss computed outside the graph on one value, of a kind that can change at any time
 * (clnn_net's): labels or targets come as host feeds of the graph inputs `label` / `target`,
 * which no node reads; its gradient seeds backward. Buffers for batch `batch`. */
typedef struct clnn__mxloss {
  int on;
  clnn_loss kind;
  int pred, label, target;   /* value ids */
  size_t batch, cap;
  clnn_tensor *dout, *tgt;   /* [cap * pred numel] */
  clnn_tensor *pred_v2, *dout_v2, *dout_full, *tgt_full; /* views for `batch` */
  clnn_tensor *loss;         /* [1] the last loss */
} clnn__mxloss;

struct clnn__gexec {
  clnn_model *m;
  clnn__gplan *plan;
  int training;
  int grads;              /* this pass may be followed by backward */
};

struct clnn_model {
  clnn__busy busy;        /* in use by a thread (src/nn/busy.c) */
  clnn_context *ctx;
  uint64_t seed;
  clnn_graph graph;       /* the model's copy (value ids as in the caller's graph) */
  char *live;             /* [num_nodes]: needed by an output or a loss */
  int *pmap;              /* [graph params]: index into params, -1 when the node is not live */
  clnn__mparam *params;
  size_t num_params;

  /* gradients: which inputs the caller asked for, what needs a gradient (autodiff.c) */
  char *want_input_grad;  /* [num_values] */
  char *requires;         /* [num_values] */
  char *written;          /* [num_values]: gradient written in this backward */
  char *pwritten;         /* [num_params] */
  int grad_dirty;         /* recompute `requires` and the gradient buffers */

  /* buffers: values and gradients for `cap` samples; views per batch size */
  size_t cap;
  clnn_tensor **vbase, **gbase; /* [num_values] */
  clnn__gplan plans[CLNN__G_PLANS];
  unsigned clock;
  clnn__mstage *stage;    /* [num_values] (inputs only) */
  const int32_t **ids;    /* [num_values] host ids of int32 inputs for this call */
  size_t *ids_count;
  int32_t **ids_keep;     /* [num_values] the model's copies of the int32 feeds of the last
                             forward: embedding and attention-length backward read them again */
  size_t *ids_keep_cap;
  char *active;           /* [num_nodes] nodes of the current forward */
  char *active_saved;     /* [num_nodes] the last forward's selection while a call is checked */

  clnn__gexec exec;
  int have_forward;       /* a forward ran and its buffers are intact */
  clnn_mode mode;

  /* optimizer */
  clnn_optimizer_config opt;
  clnn__mgroup *groups;
  int num_groups;
  clnn_schedule sched;
  uint64_t step;
  uint64_t train_forwards; /* training forwards run (the dropout stream's counter) */
  uint64_t fwd_key;        /* train_forwards as the last training forward found it */
  size_t sample_offset;    /* first sample of this replica's share of a batch split across
                              devices: dropout masks are those of a one-device run */
  /* called after each node's backward (the executor's read-back, through clnn__m_pass) */
  clnn_status (*node_hook)(void *user, int node);
  void *hook_user;
  struct clnn__x *par;     /* the multi-device executor (exec.c): several devices or MPI
                              ranks; NULL: one device */
  int check_finite;        /* clnn_model_set_check_finite */
  clnn__mxloss xl;         /* a loss outside the graph (model_xloss.c) */
};

/* ---- autodiff.c ---- */
/* Recomputes requires[] (values downstream of a trained parameter or a requested input) and
 * allocates what gradients need. */
clnn_status clnn__m_prepare_grads(clnn_model *m);
/* Runs backward over the active nodes with optional seeds. */
clnn_status clnn__m_backward(clnn_model *m, const clnn_feed *seeds, int num_seeds,
                             const char *fn);

/* ---- model.c ---- */
clnn_status clnn__m_plan(clnn_model *m, size_t batch, clnn__gplan **out);
/* Frees every plan and base buffer (capacity or gradient configuration changed). */
void clnn__m_drop_buffers(clnn_model *m);
/* dst = beta*dst + alpha*src (equal numel; beta 0 or 1). */
clnn_status clnn__g_accum(clnn_context *ctx, float alpha, const clnn_tensor *src, float beta,
                          clnn_tensor *dst);
/* Creates a model from an internal graph (copied); used by clnn_model_create and the loader. */
clnn_status clnn__m_create(clnn_context *ctx, const clnn__graph *g, uint64_t seed,
                           clnn_model **out, const char *fn);
/* The same with initial values: given(ud, name, numel) returns a parameter's numel values
 * (copied) or NULL for the usual initialisation (the ONNX importer passes the file's tensors,
 * saving a random initialisation and a second upload). */
typedef const float *(*clnn__m_init_fn)(void *ud, const char *name, size_t numel);
clnn_status clnn__m_create_given(clnn_context *ctx, const clnn__graph *g, uint64_t seed,
                                 clnn__m_init_fn given, void *ud, clnn_model **out,
                                 const char *fn);
/* The same without optimizer slots (clnn_net keeps its own optimizer). */
clnn_status clnn__m_create_bare(clnn_context *ctx, const clnn__graph *g, uint64_t seed,
                                clnn_model **out, const char *fn);
/* Forward over the nodes `target` needs (-1: every output and loss), training or not; grads:
 * keep what backward needs. */
clnn_status clnn__m_run(clnn_model *m, const clnn_feed *feeds, int num_feeds, size_t batch,
                        int training, int grads, int target, const char *fn);
clnn__mparam *clnn__m_find_param(clnn_model *m, const char *name);
const char *clnn__m_param_name(const clnn_model *m, size_t i);

/* The weighted objective of the last forward (reads back). */
clnn_status clnn__m_objective(clnn_model *m, float *loss);

/* ---- the multi-device executor (exec.c, exec_sync.c, exec_api.c) as the model calls it ---- */
typedef struct clnn__x clnn__x;
void clnn__x_destroy(clnn__x *x);
/* Gradients of the whole batch split over every device and rank, summed into every replica,
 * and, with apply, the optimizer update on every replica; loss (may be NULL) receives the
 * objective. A failure leaves parameters, state and optimizer slots as before the call. `pre`:
 * the caller's own checks of the call (not CLNN_SUCCESS: refused, but with MPI this rank still
 * takes part in the ranks' agreement, so that no other rank waits for it). */
clnn_status clnn__x_train(clnn_model *m, const clnn_feed *feeds, int num_feeds, size_t batch,
                          int apply, float *loss, clnn_status pre, const char *fn);
/* The optimizer update on every replica, so that every replica ends identical. */
clnn_status clnn__x_apply(clnn_model *m, const char *fn);
/* Replica 0 was written outside a step (a parameter, a load, settings): copy it first. */
void clnn__x_mark_stale(clnn__x *x);
/* The executor for m on `set` (NULL: m's own context only, for MPI), with replicas. */
clnn_status clnn__x_create(clnn_model *m, clnn_device_set *set, const char *fn);
/* Devices over every rank, and whether joined to MPI (x NULL: 1 device, not joined). */
int clnn__x_num_devices(const clnn__x *x);
int clnn__x_joined_mpi(const clnn__x *x);
/* The split (checked for W devices; `what` names the model or network in
 * messages; x NULL: one device), MPI and its rank, shared by models and networks */
clnn_status clnn__x_set_split(clnn__x *x, int W, clnn_split_mode mode, const double *weights,
                              int count, const char *what, const char *fn);
clnn_status clnn__x_get_split(const clnn__x *x, int W, double *shares, int count, int *measured,
                              const char *what, const char *fn);
/* Joins MPI (collective). pre: the caller's preparation (not CLNN_SUCCESS: m may be NULL; the
 * failure is shared so that every rank fails). */
clnn_status clnn__x_join_mpi(clnn_model *m, clnn_status pre, const void *comm, const char *what,
                             const char *fn);
clnn_status clnn__x_mpi_rank(const clnn__x *x, int *rank, int *size);


/* ---- model_replica.c: what the executor uses of a model (it reads no field) ---- */
typedef struct clnn__mref {
  size_t numel;
  int ndim;
  const size_t *dims;
  int trainable;          /* has a gradient and takes the optimizer's update */
  int state;              /* batch-norm running statistics: averaged over devices */
  clnn_tensor *value, *grad, *opt[2];
} clnn__mref;
typedef struct clnn__mcount {
  uint64_t step, forwards, seed; /* optimizer steps, training forwards (dropout), dropout seed */
} clnn__mcount;
size_t clnn__m_count(const clnn_model *m);          /* parameters and state tensors */
clnn__mref clnn__m_ref(clnn_model *m, size_t i);
clnn_context *clnn__m_context(const clnn_model *m);
int clnn__m_num_slots(const clnn_model *m);          /* optimizer slots per trained parameter */
const clnn_optimizer_config *clnn__m_optimizer(const clnn_model *m);
clnn__mcount clnn__m_counters(const clnn_model *m);
/* The kind of the loss outside the graph (model_xloss.c; -1: none), and setting it. */
int clnn__m_xloss_kind(const clnn_model *m);
void clnn__m_set_xloss_kind(clnn_model *m, int kind);
void clnn__m_set_counters(clnn_model *m, clnn__mcount c);
/* Whether parameter i was handed out by clnn_model_param since the last call (clears it). */
int clnn__m_take_exposed(clnn_model *m, size_t i);
clnn__x *clnn__m_executor(const clnn_model *m);
void clnn__m_set_executor(clnn_model *m, clnn__x *x);
/* A model with m's graph, seed and settings on ctx (fresh parameters: copy them after). */
clnn_status clnn__m_replicate(clnn_model *m, clnn_context *ctx, clnn_model **out, const char *fn);
/* src's optimizer, groups, schedule, counters, trainable flags and mode on dst. */
clnn_status clnn__m_copy_settings(clnn_model *dst, const clnn_model *src);
/* The samples [first, first + count) of a host feed. */
clnn_feed clnn__m_slice(const clnn_model *m, const clnn_feed *f, size_t first, size_t count);
/* Called once per trained parameter as soon as its gradient is complete (enqueued). */
typedef clnn_status (*clnn__m_ready_fn)(void *user, size_t param);
/* Training forward and backward of n samples (the first at `offset` in the whole batch: it
 * keys the dropout masks), calling `ready` (may be NULL) per trained parameter; the objective
 * (may be NULL) is read back. No optimizer update. With ready, `scratch` holds 2 * the model's
 * parameter count ints for the pass's bookkeeping (the caller keeps it across steps). */
clnn_status clnn__m_pass(clnn_model *m, const clnn_feed *feeds, int num_feeds, size_t n,
                         size_t offset, clnn__m_ready_fn ready, void *user, int *scratch,
                         float *objective, const char *fn);
/* The objective's parts (the loss outside the graph, or each active graph loss): at most
 * clnn__m_objective_parts(m) non-blocking reads into parts[], their events in ev[] (NULL where
 * nothing was read); clnn__m_objective_combine sums them once the events are complete. */
int clnn__m_objective_parts(const clnn_model *m);
clnn_status clnn__m_objective_enqueue(clnn_model *m, float *parts, cl_event *ev);
float clnn__m_objective_combine(const clnn_model *m, const float *parts);
/* One replica's optimizer update (clipping, groups, schedule, step count). */
clnn_status clnn__m_step(clnn_model *m);
/* The optimizer settings of another replica, with fresh slots when their kind differs. */
clnn_status clnn__m_take_optimizer(clnn_model *m, const clnn_optimizer_config *c);
/* Whether clnn_model_set_check_finite is on. */
int clnn__m_checks_finite(const clnn_model *m);
/* CLNN_ERROR_NOT_FINITE when the objective or a trained gradient is not finite. */
clnn_status clnn__m_check_finite(clnn_model *m, float objective, const char *fn);
/* Checks a call's feeds for the whole batch as a forward over every output and loss would,
 * without running anything or changing the model. */
clnn_status clnn__m_check(clnn_model *m, const clnn_feed *feeds, int num_feeds, size_t batch,
                          const char *fn);

/* ---- model_xloss.c: a loss outside the graph ---- */
/* Turns it on (pred: the value it applies to; label / target: the graph inputs that carry its
 * host labels or targets) and makes the loss scalar. */
clnn_status clnn__m_xloss_init(clnn_model *m, clnn_loss kind, int pred, int label, int target);
void clnn__m_xloss_free(clnn_model *m);
/* The loss of the current value `pred` for n samples into the loss scalar and, with grad, its
 * gradient into the seed buffer. labels / targets: host memory, checked by the caller. */
clnn_status clnn__m_xloss_eval(clnn_model *m, size_t n, const int32_t *labels,
                               const float *targets, int grad);
/* Training forward to `pred`, the loss and backward from its gradient, with the labels or
 * targets among the feeds (by value id). */
clnn_status clnn__m_xloss_pass(clnn_model *m, const clnn_feed *feeds, int num_feeds, size_t n,
                               const char *fn);

/* ---- model_optim.c ---- */
clnn_status clnn__m_check_opt(const clnn_optimizer_config *c, const char *fn);
/* (Re)allocates and zeroes the optimizer slots for m->opt. */
clnn_status clnn__m_alloc_opt(clnn_model *m);
void clnn__m_free_opt(clnn_model *m);
/* Fresh zeroed slots for cfg and cfg itself, all or nothing. */
clnn_status clnn__m_install_opt(clnn_model *m, const clnn_optimizer_config *cfg);

/* ---- model_io.c (model files) ---- */
/* clnn_model_load_file (model_out set; needs ctx) and clnn_graph_load (graph_out set) on a whole
 * file held in memory: the fuzzing entry point (tests/fuzz/fuzz_model.c). `path` names the buffer
 * in messages. On failure nothing is built and the outputs are left alone. */
clnn_status clnn__m_load_memory(clnn_context *ctx, const unsigned char *buf, size_t size,
                                const char *path, clnn_model **model_out, clnn_graph **graph_out);

#endif /* CLNN_MODEL_H */
