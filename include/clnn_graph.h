/* clnn_graph.h — graph models of clnn: a graph of named values (clnn_graph) with automatic
 * backward, models (a graph on a context or a device set: clnn_model), model files that rebuild
 * the model without its source, and ONNX import and export. Part of the public API: clnn.h
 * includes it, and including it alone includes clnn.h. The conventions at the top of clnn.h hold
 * here too. */
#include "clnn.h" /* first: clnn.h includes this header after its own declarations */

#ifndef CLNN_GRAPH_H
#define CLNN_GRAPH_H

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Graph models (src/nn/graph.c, op_*.c, autodiff.c, model*.c) ------------------------------ */

/* A graph of named values: inputs (any number, each with its own per-sample shape and dtype),
 * operator outputs and the parameters the operators own. It is built on the host (no device is
 * involved) and then turned into a model on a context (clnn_model_create), which owns the
 * parameters, gradients, optimizer state and buffers. Backward is automatic.
 *
 *     clnn_graph *g; int x, h, y, lab, loss;
 *     clnn_graph_create(&g);
 *     size_t img[3] = {1, 8, 8};
 *     clnn_graph_input(g, "image", CLNN_FLOAT32, 3, img, &x);
 *     clnn_graph_input(g, "label", CLNN_INT32, 0, NULL, &lab);    // one int per sample
 *     clnn_graph_conv2d(g, NULL, x, 16, 3, 3, NULL, 1, &h);        // "conv1": pad 0, stride 1
 *     clnn_graph_activation(g, NULL, h, CLNN_ACT_RELU, 0, &h);
 *     clnn_graph_conv2d(g, NULL, h, 16, 3, 3, &same_pad, 1, &y);   // residual branch ...
 *     clnn_graph_add(g, NULL, y, h, &h);                           // ... relu(h + f(h))
 *     clnn_graph_flatten(g, NULL, h, &h);
 *     clnn_graph_dense(g, "head", h, 10, 1, &y);
 *     clnn_graph_loss(g, NULL, CLNN_LOSS_SOFTMAX_CROSS_ENTROPY, y, lab, 1.0f, &loss);
 *     clnn_graph_output(g, y);
 *     clnn_model *m; clnn_model_create(ctx, g, 42, &m);            // g may be destroyed now
 *
 * Values are small integers (>= 0) that the builder calls hand out; a node only takes values that
 * already exist, so a graph has no cycles. Shapes are per sample: the batch dimension is implicit
 * and never named, and axes count per-sample dimensions (0 = the first after the batch: channels
 * for images; negative axes count from the end). Names (nodes, inputs) are 1..63 characters of
 * [A-Za-z0-9_.-] and unique; NULL gives "<kind><k>" ("conv1", "dense2", "add1"). Parameters are
 * "<node>.weight", "<node>.bias", "<node>.running_mean", ... Every builder checks its arguments
 * and infers the output shape; a problem returns CLNN_ERROR_SHAPE_MISMATCH (or
 * CLNN_ERROR_INVALID_ARGUMENT) with a message naming the node, its kind, the shapes it got and
 * what it needs, and leaves the graph unchanged. A graph is used from one thread at a time. */
typedef struct clnn_graph clnn_graph;

typedef enum clnn_dtype {
  CLNN_FLOAT32 = 0, /* device tensors */
  CLNN_INT32 = 1    /* host-side integers: class labels for softmax cross-entropy, embedding
                       ids, attention key lengths (inputs only; checked when fed) */
} clnn_dtype;

clnn_status clnn_graph_create(clnn_graph **out);
void clnn_graph_destroy(clnn_graph *g); /* NULL is a no-op */

/* An input with per-sample dims: ndim 0..4 for int32 (0: one label per sample), 1..4 for float
 * ([1] for one number per sample). */
clnn_status clnn_graph_input(clnn_graph *g, const char *name, clnn_dtype dtype, int ndim,
                             const size_t *dims, int *out);

/* Layers (the same operators and initialisation as clnn_net's layers). conv params may be NULL
 * (stride 1, padding 0, dilation 1, groups 1); bias 0: none. */
clnn_status clnn_graph_conv2d(clnn_graph *g, const char *name, int x, int out_channels,
                              int kernel_h, int kernel_w, const clnn_conv2d_params *p, int bias,
                              int *out);
clnn_status clnn_graph_conv_transpose2d(clnn_graph *g, const char *name, int x, int out_channels,
                                        int kernel_h, int kernel_w, const clnn_conv2d_params *p,
                                        int bias, int *out);
clnn_status clnn_graph_pool2d(clnn_graph *g, const char *name, int x, int max_pooling,
                              const clnn_pool2d_params *p, int *out);
clnn_status clnn_graph_global_avgpool(clnn_graph *g, const char *name, int x, int *out); /* [C] */
/* Fully connected over the last dim: [..., F] -> [..., units]. */
clnn_status clnn_graph_dense(clnn_graph *g, const char *name, int x, int units, int bias,
                             int *out);
clnn_status clnn_graph_activation(clnn_graph *g, const char *name, int x, clnn_activation act,
                                  float alpha, int *out);
clnn_status clnn_graph_dropout(clnn_graph *g, const char *name, int x, float p, int *out);
/* Batch normalisation over per-sample axis 0 (channels); momentum/eps 0: 0.1 / 1e-5. Training
 * mode uses batch statistics; evaluation mode the running ones, which its backward takes as
 * constants (clnn_batchnorm_backward_inference). */
clnn_status clnn_graph_batchnorm(clnn_graph *g, const char *name, int x, float momentum,
                                 float eps, int *out);
/* Softmax (log 0) or log-softmax (log 1) over the last dim. */
clnn_status clnn_graph_softmax(clnn_graph *g, const char *name, int x, int log, int *out);
/* LSTM over [T, F] sequences (batch-first on the host and on the device): [T, hidden] when
 * return_sequences, else the last hidden state [hidden]. Zero initial state. */
clnn_status clnn_graph_lstm(clnn_graph *g, const char *name, int x, int hidden,
                            int return_sequences, int *out);
/* The LSTM with sequence options (clnn_graph_rnn_options_init, then set what you need; the GRU
 * takes the same options, clnn_graph_gru_ex):
 * - lengths: -1, or an int32 input of shape [] (one length per sample, 1..T): steps past a
 *   sample's length give zero outputs and take no part in its state or any gradient; the last
 *   hidden state (return_sequences 0) and h_n/c_n are those after the sample's last step.
 * - h0, c0: -1, or float values (both or neither) of shape [hidden] per sample ([2, hidden] when
 *   bidirectional: index 1 is the reverse direction): the initial state; gradients flow to them.
 * - state_outputs: 1 gives out the final state as two more values, *h_n and *c_n, shaped as h0
 *   (named "<name>:1" and "<name>:2"; the output is then "<name>:0"), so generation can feed
 *   them back as the next call's h0/c0.
 * - bidirectional: a second direction runs from each sample's last step to step 0, with its own
 *   parameters "<name>.weight_ih_reverse", "<name>.weight_hh_reverse", "<name>.bias_reverse"
 *   (PyTorch's names; clnn's one bias is PyTorch's bias_ih + bias_hh); outputs [T, 2*hidden]
 *   (forward then reverse on the feature axis) or, return_sequences 0, [2*hidden]: the forward
 *   direction's state after the last step and the reverse direction's after step 0.
 * Model files keep these attributes. */
typedef struct clnn_graph_rnn_options {
  uint32_t struct_size; /* sizeof(clnn_graph_rnn_options): the _init function sets it */
  int hidden;           /* >= 1 */
  int return_sequences; /* 0 or 1 */
  int bidirectional;    /* 0 or 1 */
  int lengths;          /* value id or -1 */
  int h0, c0;           /* value ids or -1 (c0: LSTM only; -1 for the GRU) */
  int state_outputs;    /* 0 or 1 */
} clnn_graph_rnn_options;
/* struct_size set, zeros, with lengths, h0 and c0 -1. NULL is a no-op. */
void clnn_graph_rnn_options_init(clnn_graph_rnn_options *o);
/* h_n and c_n may be NULL unless state_outputs is set. On failure nothing is added. */
clnn_status clnn_graph_lstm_ex(clnn_graph *g, const char *name, int x,
                               const clnn_graph_rnn_options *o, int *out, int *h_n, int *c_n);
/* GRU over [T, F] sequences (PyTorch's nn.GRU equations; clnn_gru_forward in clnn.h): [T, hidden]
 * when return_sequences, else the last hidden state [hidden]. Zero initial state. Parameters
 * "<name>.weight_ih_l0" [3*hidden, F], "weight_hh_l0" [3*hidden, hidden], "bias_ih_l0" and
 * "bias_hh_l0" [3*hidden], gate rows r, z, n as in PyTorch, initialised uniform in
 * +-1/sqrt(hidden) as PyTorch does. */
clnn_status clnn_graph_gru(clnn_graph *g, const char *name, int x, int hidden,
                           int return_sequences, int *out);
/* The GRU with the LSTM's sequence options (clnn_graph_rnn_options; c0 must be -1): lengths, h0
 * ([hidden] or [2, hidden]), state_outputs (one more value, *h_n, "<name>:1") and bidirectional,
 * whose reverse direction has PyTorch's "<name>.weight_ih_l0_reverse", "weight_hh_l0_reverse",
 * "bias_ih_l0_reverse", "bias_hh_l0_reverse". h_n may be NULL unless state_outputs is set. On
 * failure nothing is added. */
clnn_status clnn_graph_gru_ex(clnn_graph *g, const char *name, int x,
                              const clnn_graph_rnn_options *o, int *out, int *h_n);

/* Structure. add: equal shapes, or b of shape [C] (broadcast over axis 0) or [1] (a scalar);
 * mul: equal shapes; scale: alpha * x. */
clnn_status clnn_graph_add(clnn_graph *g, const char *name, int a, int b, int *out);
clnn_status clnn_graph_mul(clnn_graph *g, const char *name, int a, int b, int *out);
clnn_status clnn_graph_scale(clnn_graph *g, const char *name, int x, float alpha, int *out);
/* Concatenation of count (1..16) values along `axis` (other dims equal). */
clnn_status clnn_graph_concat(clnn_graph *g, const char *name, int axis, int count,
                              const int *xs, int *out);
/* x[..., start:start+length, ...] along axis. */
clnn_status clnn_graph_slice(clnn_graph *g, const char *name, int x, int axis, size_t start,
                             size_t length, int *out);
/* count (1..16) consecutive slices of the given sizes (each >= 1, summing to the axis) into
 * outs[count]; they are nodes "<name>.0", "<name>.1", ... (name is required). */
clnn_status clnn_graph_split(clnn_graph *g, const char *name, int x, int axis, int count,
                             const size_t *sizes, int *outs);
/* Same number of elements per sample, new per-sample dims (ndim 1..4). */
clnn_status clnn_graph_reshape(clnn_graph *g, const char *name, int x, int ndim,
                               const size_t *dims, int *out);
clnn_status clnn_graph_flatten(clnn_graph *g, const char *name, int x, int *out);
/* Permutes the per-sample axes: output axis i is input axis perm[i] (ndim entries). */
clnn_status clnn_graph_permute(clnn_graph *g, const char *name, int x, const int *perm,
                               int *out);
/* The same op and the same parameters as node `node` (shared weights) applied to x. */
clnn_status clnn_graph_apply(clnn_graph *g, const char *name, const char *node, int x, int *out);

/* Sequence layers (src/nn/op_seq.c). embedding: int32 ids [] or [T] (up to 3 dims) per sample ->
 * [..., dim] rows of parameter "<name>.weight" [vocab, dim] (initialised N(0, 1) as
 * torch.nn.Embedding); ids are checked against vocab when fed, and the model keeps a copy of
 * them for backward (the caller's memory may be reused once the call returns). */
clnn_status clnn_graph_embedding(clnn_graph *g, const char *name, int ids, int vocab, int dim,
                                 int *out);
/* Layer norm / RMS norm over the last dim (any shape); eps 0: 1e-5 (layer norm) or 1e-6 (RMS
 * norm); affine 1: parameters weight [D] (ones) and, for layer norm, bias [D] (zeros). */
clnn_status clnn_graph_layer_norm(clnn_graph *g, const char *name, int x, float eps, int affine,
                                  int *out);
clnn_status clnn_graph_rms_norm(clnn_graph *g, const char *name, int x, float eps, int affine,
                                int *out);
/* Scaled dot-product attention (scale 1/sqrt(Dh)) over q [Tq, D], k [Tk, D], v [Tk, D], D =
 * heads * Dh (heads side by side, as dense layers write them: clnn_attention_*'s BTHD layout;
 * Dh <= 128), output [Tq, D]. lengths: -1, or an int32 input of shape [] (one key length per
 * sample, 1..Tk: later keys are masked). causal: query i sees keys j <= i + Tk - Tq. dropout on
 * the attention weights in training mode, in [0, 1). Tiled: no [T, T] buffer is kept. */
clnn_status clnn_graph_attention(clnn_graph *g, const char *name, int q, int k, int v,
                                 int lengths, int heads, int causal, float dropout, int *out);
/* Multi-head self-attention on x [T, D]: dense projections (with bias) "<name>.q", "<name>.k",
 * "<name>.v", attention "<name>.attn", output projection "<name>.out" ([T, D]). name is
 * required (at most 58 characters); on failure nothing is added. */
clnn_status clnn_graph_multihead_attention(clnn_graph *g, const char *name, int x, int heads,
                                           int causal, float dropout, int *out);

/* Losses: a scalar value that is added, times weight, to the objective that training minimises.
 * kind SOFTMAX_CROSS_ENTROPY: pred [C] (or [T, C]: every step) against an int32 target of shape
 * [] (or [T]); BCE_WITH_LOGITS and MSE: float target shaped like pred. Means over the batch. */
clnn_status clnn_graph_loss(clnn_graph *g, const char *name, clnn_loss kind, int pred, int target,
                            float weight, int *out);
/* Softmax cross-entropy of logits [C] or [T, C] against int32 labels [] or [T] in which labels
 * equal to ignore_index (e.g. -100 for padding) are skipped: the mean is over the counted labels
 * of the whole batch (0 when none counts). Added to the objective with weight, as
 * clnn_graph_loss. With a model on several devices each device's share is weighted by its
 * samples, not its counted labels. */
clnn_status clnn_graph_cross_entropy(clnn_graph *g, const char *name, int logits, int labels,
                                     int ignore_index, float weight, int *out);
/* Mean over every element and the batch: a scalar, for losses written with graph ops. */
clnn_status clnn_graph_mean(clnn_graph *g, const char *name, int x, int *out);
/* Adds a scalar value (clnn_graph_mean's) to the objective with a weight. */
clnn_status clnn_graph_add_loss(clnn_graph *g, int value, float weight);
/* Marks a value as an output (what clnn_model_predict returns by default: the first output). */
clnn_status clnn_graph_output(clnn_graph *g, int value);
/* Forgets every output mark and loss (the nodes stay). Replacing a loaded model's head: clear,
 * add the new head, its loss and output; a model made from the graph then runs and holds
 * parameters only for what the new outputs and losses need, so the old head's tensors are
 * "unexpected" to clnn_model_load. */
clnn_status clnn_graph_clear_outputs(clnn_graph *g);

/* Inspection. */
int clnn_graph_num_values(const clnn_graph *g);                 /* 0 for NULL */
const char *clnn_graph_value_name(const clnn_graph *g, int v);  /* NULL when out of range */
/* Per-sample dims of v into dims; returns ndim (-1 when out of range). */
int clnn_graph_value_dims(const clnn_graph *g, int v, size_t dims[CLNN_MAX_DIMS]);
/* The value named `name` (an input's name or a node's name: its first output). */
clnn_status clnn_graph_find(const clnn_graph *g, const char *name, int *value);
int clnn_graph_num_inputs(const clnn_graph *g);
int clnn_graph_input_value(const clnn_graph *g, int i);         /* -1 when out of range */
int clnn_graph_num_outputs(const clnn_graph *g);
int clnn_graph_output_value(const clnn_graph *g, int i);        /* -1 when out of range */
/* A table of nodes (name, kind, inputs, output shape, parameters) into buf, NUL-terminated. */
clnn_status clnn_graph_summary(const clnn_graph *g, char *buf, size_t size);

/* ---- Models: a graph on a context ---- */

/* A model owns a copy of the graph (only the nodes that the outputs and losses need run), its
 * parameters (initialised from seed as clnn_net's layers are), gradients, optimizer state and
 * per-batch buffers. Like a context, a model is used from one thread at a time. A model keeps its
 * context alive: destroying the context first defers it (see clnn_context_destroy). */
typedef struct clnn_model clnn_model;

clnn_status clnn_model_create(clnn_context *ctx, const clnn_graph *g, uint64_t seed,
                              clnn_model **out);
void clnn_model_destroy(clnn_model *m); /* NULL is a no-op */
/* The model's graph (read-only; lives as long as the model). */
const clnn_graph *clnn_model_graph(const clnn_model *m);

/* (Frozen layout: callers pass arrays of clnn_feed, so it has no struct_size; see clnn.h.)
 * Data for one value for one call: an input (or a gradient seed for clnn_model_backward), from
 * host memory (host: float for CLNN_FLOAT32, int32_t for CLNN_INT32; count elements, which must
 * be batch * the value's per-sample numel) or from a device tensor of shape [batch, dims...]
 * (tensor; float only). Exactly one of host and tensor is set. */
typedef struct clnn_feed {
  int value;
  const void *host;
  size_t count;
  const clnn_tensor *tensor;
} clnn_feed;

typedef enum clnn_mode { CLNN_MODE_TRAIN = 0, CLNN_MODE_EVAL = 1 } clnn_mode;
/* Training mode (the default: dropout on, batch norm on batch statistics, updating the running
 * ones) or evaluation mode. forward, compute_gradients and train_step run in the model's mode;
 * predict and evaluate always run in evaluation mode. */
clnn_status clnn_model_set_mode(clnn_model *m, clnn_mode mode);

/* Runs the graph on a batch: every input that the needed nodes use must be fed. Outputs stay on
 * the device (clnn_model_value); nothing is read back (the loss is read only when loss != NULL).
 * Inputs are uploaded without blocking. */
clnn_status clnn_model_forward(clnn_model *m, const clnn_feed *feeds, int num_feeds, size_t batch,
                               float *loss);
/* After clnn_model_forward: gradients of the objective (the sum of weight x loss over the graph's
 * losses, plus the sum over seeds of <seed, value>) with respect to every trained parameter and
 * every input marked with clnn_model_input_grad. seeds (may be NULL, num_seeds 0) give the
 * gradient of the objective with respect to values (e.g. the gradient a discriminator hands to a
 * generator's output). Gradients are overwritten, not accumulated. Only paths that lead to a
 * trained parameter or a requested input run; frozen parameters get no gradient kernels. */
clnn_status clnn_model_backward(clnn_model *m, const clnn_feed *seeds, int num_seeds);
/* forward + backward (no seeds); loss may be NULL (then nothing is read back). */
clnn_status clnn_model_compute_gradients(clnn_model *m, const clnn_feed *feeds, int num_feeds,
                                         size_t batch, float *loss);
/* One optimizer update of every trained parameter (clipping first if configured). */
clnn_status clnn_model_optimizer_step(clnn_model *m);
/* compute_gradients + optimizer_step. */
clnn_status clnn_model_train_step(clnn_model *m, const clnn_feed *feeds, int num_feeds,
                                  size_t batch, float *loss);
/* Evaluation-mode forward; y receives value `output` (-1: the graph's first output) for the
 * batch, batch-first, y_count = batch * its per-sample numel. */
clnn_status clnn_model_predict(clnn_model *m, const clnn_feed *feeds, int num_feeds, size_t batch,
                               int output, float *y, size_t y_count);
/* After a forward: the device tensor of value v ([batch, dims...]; valid until the next call on
 * the model), and after backward its gradient (CLNN_ERROR_INVALID_ARGUMENT when none was
 * computed). */
clnn_status clnn_model_value(clnn_model *m, int v, clnn_tensor **t);
clnn_status clnn_model_grad(clnn_model *m, int v, clnn_tensor **t);
/* Asks backward for the gradient with respect to input value `input` (on 1) or not (0). */
clnn_status clnn_model_input_grad(clnn_model *m, int input, int on);

/* Training on a clnn_dataset: image values fed from the samples, int32 labels from its labels,
 * in mini-batches of batch_size in the dataset's current order. Everything (shapes, labels
 * against the prediction's classes) is checked before the first step. A dataset with
 * augmentation (clnn_dataset_set_augmentation) gives augmented batches; evaluation never does. */
clnn_status clnn_model_train_epoch(clnn_model *m, clnn_dataset *ds, size_t batch_size, int x,
                                   int labels, float *mean_loss);
/* Mean objective and accuracy of `output` (-1: first output) against the labels, evaluation
 * mode, file order; either result may be NULL. */
clnn_status clnn_model_evaluate(clnn_model *m, const clnn_dataset *ds, size_t batch_size, int x,
                                int labels, int output, float *mean_loss, float *accuracy);

/* ---- Parameters, freezing, optimizer ---- */
size_t clnn_model_num_params(const clnn_model *m);
const char *clnn_model_param_name(const clnn_model *m, size_t index);
clnn_status clnn_model_param(clnn_model *m, const char *name, clnn_tensor **value,
                             clnn_tensor **grad);
/* Trains (1) or freezes (0) every parameter whose name starts with prefix ("" or NULL: all).
 * *matched (may be NULL) receives how many parameters matched; none is an error. State tensors
 * (running statistics) are never trained. */
clnn_status clnn_model_set_trainable(clnn_model *m, const char *prefix, int trainable,
                                     size_t *matched);
int clnn_model_param_trainable(const clnn_model *m, const char *name); /* 1, 0, or -1 unknown */
size_t clnn_model_num_trainable(const clnn_model *m); /* trained scalars in total */
/* The optimizer (default Adam, lr 1e-3) for every parameter; lr may be 0. State restarts. */
clnn_status clnn_model_set_optimizer(clnn_model *m, const clnn_optimizer_config *cfg);
/* A parameter group: parameters whose name starts with prefix take this learning rate and weight
 * decay instead of the optimizer's (the longest matching prefix wins). lr >= 0, weight_decay >= 0. */
clnn_status clnn_model_set_param_group(clnn_model *m, const char *prefix, float lr,
                                       float weight_decay);
clnn_status clnn_model_set_learning_rate(clnn_model *m, float lr);
/* As clnn_net_set_check_finite, for clnn_model_train_step and train_epoch (on several devices the
 * summed gradients are checked). */
clnn_status clnn_model_set_check_finite(clnn_model *m, int on);

typedef enum clnn_schedule_type {
  CLNN_SCHEDULE_CONSTANT = 0,
  CLNN_SCHEDULE_STEP = 1,   /* lr * gamma^floor(step / step_size) */
  CLNN_SCHEDULE_COSINE = 2  /* linear warm-up over warmup_steps from 0, then cosine from lr down
                               to lr * min_ratio at total_steps (and there after) */
} clnn_schedule_type;
typedef struct clnn_schedule {
  uint32_t struct_size; /* = sizeof(clnn_schedule), set by clnn_schedule_init */
  clnn_schedule_type type;
  uint64_t step_size;   /* STEP: >= 1 */
  float gamma;          /* STEP: > 0 */
  uint64_t warmup_steps, total_steps; /* COSINE: warmup_steps < total_steps */
  float min_ratio;      /* COSINE: 0..1 */
} clnn_schedule;
/* struct_size = sizeof(clnn_schedule), CLNN_SCHEDULE_CONSTANT, everything else 0. NULL is a
 * no-op. */
void clnn_schedule_init(clnn_schedule *s);
/* A schedule multiplies every group's learning rate by a factor of the optimizer step count. */
clnn_status clnn_model_set_schedule(clnn_model *m, const clnn_schedule *s);
/* The learning rate the next step uses for parameter `name` (NULL: the optimizer's). */
clnn_status clnn_model_current_lr(const clnn_model *m, const char *name, float *lr);
uint64_t clnn_model_step_count(const clnn_model *m);

/* ---- Several devices and MPI for models (src/nn/exec*.c, which clnn_net uses too) ---- */
/* A model whose replicas live on every device of `set` (which must outlive it), for data-parallel
 * training: clnn_model_compute_gradients, train_step and train_epoch split each batch into
 * contiguous shares over every device (and, after clnn_model_set_mpi, every rank: each rank
 * passes the same whole batch; shares as clnn_model_set_split says, equal by default), run every device's forward and backward in its own host thread,
 * and sum the gradients on the host in device order (then rank order), weighted by share / batch,
 * in double: deterministic whatever the timing. Every replica then applies the same update, so
 * replicas stay bit-identical (devices of different models or drivers: the first device updates
 * and is copied). Batch-norm running statistics become the share-weighted mean of the replicas'.
 * The objective is the mean over the whole batch. Feeds must be host memory; input gradients are
 * not gathered (CLNN_ERROR_UNSUPPORTED). Everything else (forward, backward, predict, evaluate,
 * parameters, files) uses the first device's replica; parameters written through
 * clnn_model_param, loaded files and changed settings reach the other replicas (and ranks, from
 * rank 0) at the next step; a parameter only read copies nothing (the next step compares each
 * one handed out since the last step with the second device's copy; with MPI it is copied as
 * if written). A device failing in a step (its forward, backward, read-back or update) stops it
 * on every device and rank with an error naming the device, parameters, optimizer state and
 * statistics as before. Compared with one device the parameters agree to rounding
 * (the tests: every parameter within 1e-5 + 1e-4 |value| after 20 steps on 2 devices). */
clnn_status clnn_model_create_parallel(clnn_device_set *set, const clnn_graph *g, uint64_t seed,
                                       clnn_model **out);
/* Devices over every rank (1 for a model on one device not joined to MPI; 0 for NULL). */
int clnn_model_num_devices(const clnn_model *m);
/* How batches are split over the devices, as clnn_net_set_split: AUTO, MEASURE, or FIXED with
 * `count` = clnn_model_num_devices weights (finite, >= 0, not all 0). On one device only the
 * arguments are checked. */
clnn_status clnn_model_set_split(clnn_model *m, clnn_split_mode mode, const double *weights,
                                 int count);
/* The current shares (count = clnn_model_num_devices values summing to 1) and whether they come
 * from a measurement (*measured may be NULL). */
clnn_status clnn_model_get_split(const clnn_model *m, double *shares, int count, int *measured);
/* Joins the model to data-parallel training across the ranks of `comm` (a pointer to an
 * MPI_Comm; NULL: MPI_COMM_WORLD), as clnn_net_set_mpi: collective, every later training call is
 * collective, rank 0's parameters, state and optimizer are broadcast at the first step, gradients
 * are summed in rank order (the same bits on every rank), a failure on one rank fails the step on
 * every rank. CLNN_ERROR_UNSUPPORTED when clnn was built without MPI. */
clnn_status clnn_model_set_mpi(clnn_model *m, const void *comm);

/* ---- Model files: safetensors with the graph in the metadata ---- */
/* Writes parameters and state (and, with CLNN_SAVE_OPTIMIZER, the optimizer state) as
 * clnn_net_save does, plus the graph (nodes, attributes, names, shapes, losses, outputs) and the
 * optimizer settings as JSON in the safetensors "__metadata__", so the file alone rebuilds the
 * model. */
clnn_status clnn_model_save(clnn_model *m, const char *path, int flags);
/* Rebuilds a model from a file that clnn_model_save (or clnn_net_save) wrote: graph, parameters,
 * optimizer settings and state. Anything inconsistent is CLNN_ERROR_FORMAT, nothing built. */
clnn_status clnn_model_load_file(clnn_context *ctx, const char *path, clnn_model **out);
/* Only the graph of such a file (to extend it: a new head, then clnn_model_create and
 * clnn_model_load with strict 0). */
clnn_status clnn_graph_load(const char *path, clnn_graph **out);
/* Loads parameters from a safetensors file into an existing model. strict 1: the file must hold
 * exactly the model's tensors (as clnn_net_load). strict 0: tensors whose names match are loaded
 * (shapes must agree), the others are reported: missing receives the model's names absent from
 * the file, unexpected the file's names the model lacks, comma-separated, NUL-terminated,
 * truncated to their sizes (either may be NULL). Everything is checked first; on error nothing
 * changes. */
clnn_status clnn_model_load(clnn_model *m, const char *path, int strict, char *missing,
                            size_t missing_size, char *unexpected, size_t unexpected_size);

/* ---- ONNX (src/nn/onnx_*.c) ------------------------------------------------------------------ */
/* Reads and writes .onnx files (protobuf, through protobuf-c), so models trained elsewhere
 * (PyTorch's torch.onnx.export, Keras through tf2onnx, ...) run and train in clnn, and clnn
 * models run in ONNX Runtime and other ONNX runtimes.
 *
 * Import maps each ONNX node onto the graph builder: Conv, ConvTranspose (2-D), MaxPool,
 * AveragePool, GlobalAveragePool, GlobalMaxPool, Gemm, MatMul (with a constant B), Add, Sub, Mul,
 * Div (values of one shape, [C, 1, ...] or scalar operands; Mul/Div by a scalar constant), Relu,
 * LeakyRelu, Elu, Sigmoid, Tanh, Softplus, Gelu, Softmax, LogSoftmax (last axis),
 * BatchNormalization, Dropout, Flatten, Reshape, Squeeze, Unsqueeze, Identity, Transpose,
 * Concat, Split, Slice, Constant, Shape, Gather (a constant [vocab, dim] table indexed by ids:
 * an embedding; a value indexed by constant indices along a per-sample axis), LayerNormalization
 * and the layer norm written out as ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add
 * (PyTorch's export before opset 17), and LSTM (direction forward, zero initial state, no
 * sequence_lens shorter than the sequence, no peepholes or clip; the Transpose and Squeeze
 * nodes of PyTorch's batch_first export map onto clnn's batch-first LSTM), opsets 7 to 18. The
 * first axis of every ONNX value is the batch (clnn's implicit batch axis): graph inputs must be
 * float [N, ...], or int64 / int32 ids [N, ...] that clnn takes as int32 inputs, with every other
 * dimension fixed, and an op along the batch axis is unsupported. Nodes that no graph output
 * needs are skipped. Initializers that ops use as weights, biases or batch-norm statistics
 * become the model's parameters (trainable, as any clnn parameter; a weight "X.weight" names its
 * node "X", so PyTorch's parameter names carry over). An op, opset, data type or attribute clnn
 * cannot do is CLNN_ERROR_UNSUPPORTED naming the node, its op type and what is supported; a
 * malformed file is CLNN_ERROR_FORMAT; nothing is built on failure. Memory while reading is
 * bounded by a small multiple of the file size. */
clnn_status clnn_model_load_onnx(clnn_context *ctx, const char *path, clnn_model **out);
/* The graph only (to extend it: a new head, then clnn_model_create). */
clnn_status clnn_graph_load_onnx(const char *path, clnn_graph **out);
/* Writes the model (its graph's outputs and the nodes they need, with the current parameters
 * and batch-norm statistics as initializers) as an ONNX opset-13 file that runs in inference
 * mode (dropout is the identity; batch norm uses the running statistics); inputs and outputs are
 * [N, ...] with a symbolic batch "N" (int32 id inputs of embeddings as int64). Losses are left
 * out. Embeddings become Gather, layer norm and RMS norm the opset-13 ops they are made of
 * (ReduceMean ... Add), attention MatMul / Softmax between Reshapes and Transposes (a causal
 * mask as a constant; key lengths are not exported: CLNN_ERROR_UNSUPPORTED naming the node), an
 * LSTM ONNX's LSTM between Transposes (gates reordered). The file is replaced atomically. */
clnn_status clnn_model_save_onnx(clnn_model *m, const char *path);

#ifdef __cplusplus
}
#endif
#endif /* CLNN_GRAPH_H */
