/* src/nn/model.h — a graph on a context (src/nn/model.c): the parameter table with gradients,
 * trainable flags, optimizer slots and groups; per-batch plans of value and gradient views; the
 * execution state the ops see. Shared by model.c, autodiff.c, model_optim.c and model_io.c. */
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
  /* called after each node's backward (clnn_net's data-parallel read-back) */
  clnn_status (*node_hook)(void *user, int node);
  void *hook_user;
  struct clnn__mpar *par;  /* several devices or MPI ranks (model_parallel.c); NULL: one */
  int check_finite;        /* clnn_model_set_check_finite */
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
/* The same without optimizer slots (clnn_net keeps its own optimizer). */
clnn_status clnn__m_create_bare(clnn_context *ctx, const clnn__graph *g, uint64_t seed,
                                clnn_model **out, const char *fn);
/* Forward over the nodes `target` needs (-1: every output and loss), training or not; grads:
 * keep what backward needs. */
clnn_status clnn__m_run(clnn_model *m, const clnn_feed *feeds, int num_feeds, size_t batch,
                        int training, int grads, int target, const char *fn);
clnn__mparam *clnn__m_find_param(clnn_model *m, const char *name);
const char *clnn__m_param_name(const clnn_model *m, size_t i);

/* Checks a call's feeds for the whole batch as a forward over every output and loss would,
 * without running anything or changing the model. */
clnn_status clnn__m_check(clnn_model *m, const clnn_feed *feeds, int num_feeds, size_t batch,
                          const char *fn);
/* The weighted objective of the last forward (reads back). */
clnn_status clnn__m_objective(clnn_model *m, float *loss);

/* ---- model_parallel.c ---- */
typedef struct clnn__mpar clnn__mpar;
void clnn__m_par_destroy(clnn_model *m);
/* Gradients of the whole batch split over every device and rank, summed into every replica;
 * loss (may be NULL) receives the objective. */
clnn_status clnn__m_par_gradients(clnn_model *m, const clnn_feed *feeds, int num_feeds,
                                  size_t batch, float *loss, const char *fn);
/* Runs `step` (one replica's optimizer update) so that every replica ends identical. */
clnn_status clnn__m_par_step(clnn_model *m, clnn_status (*step)(clnn_model *));
/* Replica 0 was written outside a step (a parameter, a load): copy it before the next step. */
void clnn__m_par_mark_stale(clnn_model *m);
/* Test hook: parameter images copied to other replicas so far (0 on one device). */
uint64_t clnn__m_par_image_copies(const clnn_model *m);

/* ---- model_optim.c ---- */
clnn_status clnn__m_check_opt(const clnn_optimizer_config *c, const char *fn);
/* (Re)allocates and zeroes the optimizer slots for m->opt. */
clnn_status clnn__m_alloc_opt(clnn_model *m);
void clnn__m_free_opt(clnn_model *m);

/* ---- model_io.c (model files) ---- */
/* clnn_model_load_file (model_out set; needs ctx) and clnn_graph_load (graph_out set) on a whole
 * file held in memory: the fuzzing entry point (tests/fuzz/fuzz_model.c). `path` names the buffer
 * in messages. On failure nothing is built and the outputs are left alone. */
clnn_status clnn__m_load_memory(clnn_context *ctx, const unsigned char *buf, size_t size,
                                const char *path, clnn_model **model_out, clnn_graph **graph_out);

#endif /* CLNN_MODEL_H */
