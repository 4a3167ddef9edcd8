/* clnn_nn.h — the training API of clnn: datasets, sequential networks (clnn_net: layers, loss,
 * optimizer, training, inference), checkpoints, and data-parallel training over several devices
 * and MPI ranks. Part of the public API: clnn.h includes it, and including it alone includes
 * clnn.h. The conventions at the top of clnn.h hold here too. */
#include "clnn.h" /* first: clnn.h includes this header after its own declarations */

#ifndef CLNN_NN_H
#define CLNN_NN_H

#ifdef __cplusplus
extern "C" {
#endif

/* ============================================================================================== */
/* Training API (src/nn/)                                                                         */
/* ============================================================================================== */
/* CLNN_NET_API_BEGIN — declarations for the network API, data loading and checkpoints.
 *
 * A network in a few lines (error checks left out; every call returns a clnn_status):
 *
 *     size_t in[3] = {1, 8, 8};                                // one sample: [C, H, W]
 *     clnn_net *net = NULL;
 *     clnn_net_create(ctx, 3, in, 42, &net);                   // seed 42: reproducible
 *     clnn_net_add_conv2d(net, 32, 3, 1, 1);                   // "conv1": 32 3x3 filters, pad 1
 *     clnn_net_add_activation(net, CLNN_ACT_RELU, 0);
 *     clnn_net_add_maxpool2d(net, 2, 2, 0);
 *     clnn_net_add_flatten(net);
 *     clnn_net_add_dense(net, 10);                             // "dense1"
 *     clnn_net_set_loss(net, CLNN_LOSS_SOFTMAX_CROSS_ENTROPY);
 *     clnn_optimizer_config opt;
 *     clnn_optimizer_config_init(&opt, CLNN_OPTIM_ADAM, 1e-3f);
 *     clnn_net_set_optimizer(net, &opt);
 *     float loss;
 *     clnn_net_train_step(net, x, 32 * 64, 32, labels, 32, NULL, 0, &loss); // x: 32*1*8*8
 *     clnn_net_predict(net, x, 32 * 64, 32, logits, 32 * 10);
 *     clnn_net_save(net, "model.safetensors", CLNN_SAVE_OPTIMIZER);
 *     clnn_net_destroy(net);
 *
 * Layouts: host data is batch-first, [N, sample dims...] (images NCHW). A network whose input
 * feeds an LSTM takes sequences [N, T, F] (batch-first on the host; clnn keeps them time-major on
 * the device, [T, N, F], and converts on upload and read-back, so no transpose runs on the device).
 * A dense layer after an LSTM that returns the whole sequence applies to every time step. */

/* ---- Datasets (src/nn/data.c) ------------------------------------------------------------------ */

/* A labelled dataset in host memory: N samples of fp32 values and N int32 labels, plus the order
 * in which clnn_dataset_batch hands samples out (file order until clnn_dataset_shuffle). */
typedef struct clnn_dataset clnn_dataset;

/* Reads an IDX image file (magic 0x00000803: unsigned bytes [N, H, W]) and an IDX label file
 * (magic 0x00000801: unsigned bytes [N]), the MNIST file format. Each sample becomes [1, H, W]
 * (one channel, ready for conv2d), pixel / 255 in [0, 1]; labels are 0..255 (labels_path NULL:
 * images only, every label 0, e.g. for predictions). Everything is checked
 * before anything is allocated: magic numbers, dimensions (non-zero, no size_t overflow), the size
 * the header claims against the file's real size (truncated files and trailing bytes), and equal
 * image and label counts. Errors: CLNN_ERROR_IO (cannot open or read), CLNN_ERROR_FORMAT (the
 * message names the file and the problem), CLNN_ERROR_OUT_OF_MEMORY. *out is set only on success;
 * the caller owns the dataset and destroys it. Files may be gzip-compressed (known by their first
 * bytes; inflated with zlib into a buffer bounded by the header's claim). A path that does not
 * exist is also tried with the other MNIST naming convention ("train-images-idx3-ubyte" /
 * "train-images.idx3-ubyte") and with or without ".gz". */
clnn_status clnn_dataset_load_idx(const char *images_path, const char *labels_path,
                                  clnn_dataset **out);

/* A dataset holding copies of n samples (x: x_count = n * prod(sample_dims) floats, batch-first)
 * and n labels (labels_count = n; labels may be NULL: all 0, labels_count ignored; labels must be
 * >= 0). sample_ndim is 1..4. A count that differs is CLNN_ERROR_INVALID_ARGUMENT before anything
 * is read. The caller keeps x and labels; the dataset is the caller's to destroy. */
clnn_status clnn_dataset_create(size_t n, int sample_ndim, const size_t *sample_dims,
                                const float *x, size_t x_count, const int32_t *labels,
                                size_t labels_count, clnn_dataset **out);

/* Frees the dataset. NULL is a no-op. */
void clnn_dataset_destroy(clnn_dataset *ds);

size_t clnn_dataset_size(const clnn_dataset *ds);          /* samples; 0 for NULL */
size_t clnn_dataset_sample_numel(const clnn_dataset *ds);  /* floats per sample; 0 for NULL */
/* Copies the dims of one sample ([1, H, W] for IDX images) into dims; returns ndim (0 for NULL). */
int clnn_dataset_sample_dims(const clnn_dataset *ds, size_t dims[CLNN_MAX_DIMS]);
int clnn_dataset_num_classes(const clnn_dataset *ds);      /* 1 + largest label; 0 for NULL */
/* Samples [N, sample dims...] and labels [N] in file order (not the shuffled order). Owned by the
 * dataset, valid until it is destroyed. */
const float *clnn_dataset_data(const clnn_dataset *ds);
const int32_t *clnn_dataset_labels(const clnn_dataset *ds);

/* Sets the batch order to a random permutation drawn from `seed` (Fisher-Yates over splitmix64:
 * the same seed gives the same order on every machine). Each call permutes file order afresh. */
clnn_status clnn_dataset_shuffle(clnn_dataset *ds, uint64_t seed);
/* Copies samples first .. first+count-1 of the current order into x (x_count = count *
 * sample_numel floats) and their labels into labels (labels_count = count int32; labels may be
 * NULL, labels_count then ignored). first + count <= size. Counts are checked before anything is
 * written. */
clnn_status clnn_dataset_batch(const clnn_dataset *ds, size_t first, size_t count, float *x,
                               size_t x_count, int32_t *labels, size_t labels_count);

/* ---- Augmentation (src/nn/augment.c) ------------------------------------------------------------ */

/* Random changes to image samples [C, H, W] for training: each training batch sees a differently
 * shifted, flipped, rotated and noisy copy of its samples, never the evaluation batches. Runs on
 * the host, per batch, on one thread, as the batch is copied out of the dataset: with all four
 * transforms about 2 microseconds per 1x8x8 image, 21 per 1x28x28 and 340 per 3x32x32, the
 * noise costing the most (clnn-bench-augment measures it; next to a digits training step of
 * about 6 ms per batch of 32 it is under 1%). Per sample, the output pixel (oy, ox) (rows
 * downward, centre cy = (H-1)/2, cx = (W-1)/2) reads the source through these steps:
 *   shift:    the image moves by (dx, dy) pixels (right, down): it reads (ox - dx, oy - dy); the
 *             pixels that come in from outside are 0 (a random crop of the zero-padded image);
 *   rotation: by angle_deg about the centre, counter-clockwise as displayed: (u, v) = (x - cx,
 *             y - cy) reads (cx + cos a u - sin a v, cy + sin a u + cos a v), bilinear between
 *             the four neighbours, 0 outside; an angle of 0 reads pixels exactly;
 *   flip:     left-right mirror (x -> W-1-x) of the source image;
 *   noise:    then every value (padding too) gets Gaussian noise of standard deviation noise_std
 *             (Box-Muller over splitmix64 seeded with noise_seed).
 * Every channel gets the same geometry. */
typedef struct clnn_augment_options {
  uint32_t struct_size;  /* sizeof(clnn_augment_options): set by clnn_augment_options_init */
  int max_shift;        /* dx and dy uniform integers in [-max_shift, max_shift]; >= 0 (0: off) */
  int hflip;            /* 1: a left-right flip with probability 1/2; 0: never (e.g. digits) */
  float max_rotate_deg; /* angle uniform in [-max, max] degrees; 0..180 (0: off) */
  float noise_std;      /* standard deviation of additive Gaussian noise; >= 0, finite (0: off) */
  uint64_t seed;        /* the same seed and stream give the same draws on every machine, and
                           the same bits where the C library's sin, cos and log agree */
} clnn_augment_options;

/* struct_size set, everything off, seed 0. NULL is a no-op. */
void clnn_augment_options_init(clnn_augment_options *o);

/* The change drawn for one sample (clnn_augment_images reports them; clnn_augment_apply applies
 * one). Like clnn_feed it is passed in arrays, so it has no struct_size and is frozen (docs/ABI.md). */
typedef struct clnn_augment_draw {
  int dx, dy;           /* shift in pixels: right, down */
  int flip;             /* 0 or 1 */
  float angle_deg;      /* -180..180, counter-clockwise */
  float noise_std;      /* >= 0, finite */
  uint64_t noise_seed;
} clnn_augment_draw;

/* Applies one draw to one image [channels, height, width] in place (x_count = channels * height
 * * width floats). Bad arguments (a zero dimension, a count that differs, flip not 0 or 1, an
 * angle outside -180..180 or not finite, a noise_std < 0 or not finite) change nothing:
 * CLNN_ERROR_INVALID_ARGUMENT naming the argument; CLNN_ERROR_OUT_OF_MEMORY for the scratch copy
 * a geometric change needs. */
clnn_status clnn_augment_apply(const clnn_augment_draw *d, size_t channels, size_t height,
                               size_t width, float *x, size_t x_count);

/* Draws a change for each of n images [n, channels, height, width] (x_count floats) from
 * (o->seed, stream) and applies it in place; draws (may be NULL) receives them (draws_count = n).
 * The same options, stream and n give the same draws; callers pass a new stream per batch (the
 * dataset's counter below, or a step count). Options are checked first (max_shift < 0,
 * max_rotate_deg outside 0..180 or not finite, noise_std < 0 or not finite, hflip not 0 or 1:
 * CLNN_ERROR_INVALID_ARGUMENT naming the field) and nothing is written on any error. */
clnn_status clnn_augment_images(const clnn_augment_options *o, uint64_t stream, size_t n,
                                size_t channels, size_t height, size_t width, float *x,
                                size_t x_count, clnn_augment_draw *draws, size_t draws_count);

/* Gives the dataset augmentation for training (o: a copy is kept; NULL: none again). The
 * dataset's samples must be images [C, H, W] (sample_ndim 3; IDX files are [1, H, W]): other
 * datasets, and bad options, are CLNN_ERROR_INVALID_ARGUMENT and change nothing. Each call
 * restarts the dataset's batch counter at 0. The stored samples never change: clnn_dataset_batch
 * and clnn_dataset_data stay as they are; clnn_dataset_batch_augmented, clnn_net_train_epoch and
 * clnn_model_train_epoch augment each batch they draw; clnn_net_evaluate, clnn_model_evaluate and
 * clnn_net_accuracy never do. */
clnn_status clnn_dataset_set_augmentation(clnn_dataset *ds, const clnn_augment_options *o);
/* 1 and a copy of the options in *o (may be NULL; its struct_size set by
 * clnn_augment_options_init, and only the bytes within it are written) when the dataset has
 * augmentation; else 0 (also for NULL ds). -1 when o's struct_size is no layout this library
 * knows (nothing written; clnn_last_error says why). */
int clnn_dataset_get_augmentation(const clnn_dataset *ds, clnn_augment_options *o);
/* clnn_dataset_batch, then, when the dataset has augmentation, clnn_augment_images on the batch
 * with stream = the dataset's batch counter, which then advances by one (so a run that draws the
 * same batches after the same clnn_dataset_set_augmentation gets the same bits). */
clnn_status clnn_dataset_batch_augmented(clnn_dataset *ds, size_t first, size_t count, float *x,
                                         size_t x_count, int32_t *labels, size_t labels_count);

/* ---- Networks (src/nn/net.c, src/nn/layers.c) --------------------------------------------------- */

/* A sequential network: layers, their parameters and gradients, activation buffers, a loss and an
 * optimizer with its state. It lives on one context (which must outlive it) and, like the
 * context, is used from one thread at a time. */
typedef struct clnn_net clnn_net;

typedef enum clnn_loss {
  CLNN_LOSS_SOFTMAX_CROSS_ENTROPY = 0, /* logits [N, C] vs int32 labels in [0, C) (the default) */
  CLNN_LOSS_BCE_WITH_LOGITS = 1,       /* logits vs float targets in [0, 1], same shape */
  CLNN_LOSS_MSE = 2                    /* outputs vs float targets, same shape */
} clnn_loss;

typedef enum clnn_optimizer_type {
  CLNN_OPTIM_SGD = 0,
  CLNN_OPTIM_ADAM = 1,
  CLNN_OPTIM_ADAMW = 2,   /* Adam with decoupled weight decay */
  CLNN_OPTIM_RMSPROP = 3,
  CLNN_OPTIM_ADAGRAD = 4
} clnn_optimizer_type;

/* Optimizer settings, with PyTorch's meaning and defaults (set by clnn_optimizer_config_init). */
typedef struct clnn_optimizer_config {
  uint32_t struct_size; /* = sizeof(clnn_optimizer_config), set by clnn_optimizer_config_init */
  clnn_optimizer_type type;
  float lr;             /* learning rate, >= 0 (0: the parameters stay as they are) */
  float weight_decay;   /* L2 penalty added to the gradient (AdamW: decoupled; default 0.01) */
  float momentum;       /* SGD, RMSProp: 0 */
  float dampening;      /* SGD: 0 */
  int nesterov;         /* SGD: 0 */
  float beta1, beta2;   /* Adam, AdamW: 0.9, 0.999 */
  float alpha;          /* RMSProp smoothing: 0.99 */
  float eps;            /* Adam, AdamW, RMSProp: 1e-8; AdaGrad: 1e-10 */
  float clip_grad_norm; /* > 0: scale gradients to this global L2 norm at most before each step;
                           0 (default): no clipping */
} clnn_optimizer_config;

/* Fills cfg with struct_size = sizeof(clnn_optimizer_config) and the defaults for `type` and
 * learning rate `lr`. NULL is a no-op. */
void clnn_optimizer_config_init(clnn_optimizer_config *cfg, clnn_optimizer_type type, float lr);

/* Creates an empty network whose samples have `ndim` (1..4) dims `input_dims` (no batch dim):
 * [C, H, W] for images, [F] for feature vectors, [T, F] for sequences. `seed` drives parameter
 * initialisation and dropout, so the same seed and data give the same run. Defaults: softmax
 * cross-entropy loss, Adam with lr 1e-3. The caller destroys *out. A network keeps its context
 * alive: destroying the context first defers it (see clnn_context_destroy). */
clnn_status clnn_net_create(clnn_context *ctx, int ndim, const size_t *input_dims, uint64_t seed,
                            clnn_net **out);

/* Frees the network, its tensors and buffers. NULL is a no-op. */
void clnn_net_destroy(clnn_net *net);

/* Layers. Each call appends one layer named after its kind and position among layers of that
 * kind ("conv1", "conv2", "dense1", "relu1", "bn1", "lstm1", ...; the parameters are
 * "<layer>.weight", "<layer>.bias", ...), infers its output shape from the previous layer's, and
 * returns CLNN_ERROR_SHAPE_MISMATCH with a message naming the layer (name, index, kind, the shape
 * it got and what it needs) when the shapes do not fit; the network is then unchanged. Layers can
 * be added until the network is first used (trained, run, saved, loaded or a parameter tensor
 * asked for with clnn_net_param, which allocates and initialises the parameters); later calls
 * return CLNN_ERROR_INVALID_ARGUMENT. The inspection calls (const: names, counts, shapes,
 * summary) change nothing and allocate nothing.
 *
 * Initialisation: weights of conv, transposed conv and dense layers followed (possibly through
 * batch norm or dropout) by ReLU, leaky ReLU, ELU or GELU are He-normal; all other weights are
 * Xavier/Glorot-uniform (LSTM: per gate); biases are zero except the LSTM forget-gate bias (1);
 * batch norm starts at weight 1, bias 0, running mean 0, running variance 1. */

/* 2-D convolution of [C, H, W] with out_channels filters kernel x kernel, stride and padding on
 * both axes, with bias -> [out_channels, P, Q]. Parameters: weight [K, C, R, S], bias [K]. */
clnn_status clnn_net_add_conv2d(clnn_net *net, int out_channels, int kernel, int stride,
                                int padding);
/* The same with every convolution parameter (dilation, groups, uneven padding); bias 0: none. */
clnn_status clnn_net_add_conv2d_ex(clnn_net *net, int out_channels, int kernel_h, int kernel_w,
                                   const clnn_conv2d_params *p, int bias);
/* Transposed convolution (PyTorch's ConvTranspose2d without output_padding): weight
 * [C, K/groups, R, S], bias [K]; output size (H-1)*stride - 2*padding + kernel. */
clnn_status clnn_net_add_conv_transpose2d(clnn_net *net, int out_channels, int kernel, int stride,
                                          int padding);
clnn_status clnn_net_add_conv_transpose2d_ex(clnn_net *net, int out_channels, int kernel_h,
                                             int kernel_w, const clnn_conv2d_params *p, int bias);
/* Max / average pooling of [C, H, W], kernel x kernel windows; stride 0 means stride = kernel. */
clnn_status clnn_net_add_maxpool2d(clnn_net *net, int kernel, int stride, int padding);
clnn_status clnn_net_add_avgpool2d(clnn_net *net, int kernel, int stride, int padding);
/* The same with every pooling parameter. */
clnn_status clnn_net_add_pool2d_ex(clnn_net *net, int max_pooling, const clnn_pool2d_params *p);
/* Mean over H and W: [C, H, W] -> [C]. */
clnn_status clnn_net_add_global_avgpool(clnn_net *net);
/* Fully connected: [F] -> [units] (or [T, F] -> [T, units] on an LSTM's whole-sequence output).
 * Parameters: weight [units, F], bias [units]. Needs a flat input: add a flatten layer after
 * convolutions. */
clnn_status clnn_net_add_dense(clnn_net *net, int units);
/* Any clnn_activation (alpha: leaky slope, ELU scale; ignored by the others). Shape unchanged. */
clnn_status clnn_net_add_activation(clnn_net *net, clnn_activation act, float alpha);
/* Inverted dropout with drop probability p in [0, 1) while training; the identity in inference. */
clnn_status clnn_net_add_dropout(clnn_net *net, float p);
/* Batch normalisation over channels ([C, H, W] or [C] samples, or per feature of a sequence):
 * parameters weight [C], bias [C]; state running_mean, running_var [C], saved in checkpoints.
 * momentum (0, 1] and eps > 0 as in PyTorch (0.1, 1e-5); 0 for either takes the default.
 * Training uses batch statistics and updates the running ones; inference uses the running ones. */
clnn_status clnn_net_add_batchnorm(clnn_net *net, float momentum, float eps);
/* [C, H, W] (any dims) -> [C*H*W]. Costs nothing: the output shares the input's buffer. */
clnn_status clnn_net_add_flatten(clnn_net *net);
/* LSTM over a sequence [T, F] (the network input or an LSTM that returns sequences): parameters
 * weight_ih [4H, F], weight_hh [4H, H], bias [4H] (gates i, f, g, o), zero initial state.
 * return_sequences 0: the last hidden state [H]; 1: every hidden state [T, H] (stack LSTMs this
 * way). */
clnn_status clnn_net_add_lstm(clnn_net *net, int hidden, int return_sequences);

/* Renames layer `layer` (0-based; -1: the last one) before first use: 1..47 characters of
 * [A-Za-z0-9_-], unique in the network. Its parameters become "<name>.weight"... */
clnn_status clnn_net_set_layer_name(clnn_net *net, int layer, const char *name);

/* Sets the loss (any time). */
clnn_status clnn_net_set_loss(clnn_net *net, clnn_loss loss);
/* Sets the optimizer; its state (moments, step count) restarts from zero. The network keeps a
 * copy of cfg. */
clnn_status clnn_net_set_optimizer(clnn_net *net, const clnn_optimizer_config *cfg);
/* Changes only the learning rate (for schedules); the optimizer state is kept. */
clnn_status clnn_net_set_learning_rate(clnn_net *net, float lr);
/* on 1: every training step reads the loss and every gradient back before the optimizer step and
 * stops with CLNN_ERROR_NOT_FINITE, naming the parameter (or the loss) and the element, at the
 * first NaN or infinity, with nothing updated (batch-norm statistics restored): a diverging run
 * is caught instead of silently producing NaN weights. Off by default: it costs a read-back of
 * every gradient per step (the digits CNN, batch 32, on 2 busy CPU cores: 5.80 ms a step with it,
 * 5.23 ms without). One
 * device only (a network made with clnn_net_create_parallel refuses it). */
clnn_status clnn_net_set_check_finite(clnn_net *net, int on);

/* One training step on a batch of `batch` samples x (x_count = batch * input numel floats, host
 * memory): upload, forward in training mode (dropout active, batch norm on batch statistics,
 * updating the running ones), loss, backward, optimizer step. The targets: `labels`
 * (labels_count = batch int32, or batch * T for per-time-step outputs) for softmax cross-entropy,
 * `targets` (targets_count = batch * output numel floats, shaped like the output) for BCE and
 * MSE; the other pointer and its count are ignored (NULL and 0). Every count must equal what the
 * batch needs (CLNN_ERROR_INVALID_ARGUMENT, checked before any buffer is read). `loss` receives the batch's mean
 * loss; it is the only read-back of the step (it waits for the device), so pass NULL to let the
 * step run ahead. Buffers are allocated for the largest batch seen and reused.
 * A failed step changes nothing: arguments, labels, a batch of 1 into a batch-norm layer that
 * would see one value per channel (CLNN_ERROR_SHAPE_MISMATCH) and the step count are checked
 * before anything runs, and a later failure puts the batch-norm running statistics back and
 * leaves the step count alone (an optimizer that fails fails on its first tensor, before any
 * update; only an OpenCL failure inside the update itself could leave it partly applied). */
clnn_status clnn_net_train_step(clnn_net *net, const float *x, size_t x_count, size_t batch,
                                const int32_t *labels, size_t labels_count, const float *targets,
                                size_t targets_count, float *loss);
/* The same without the optimizer step: afterwards every parameter's gradient (clnn_net_param)
 * holds d(mean loss)/d(parameter) for this batch (overwritten, not accumulated). */
clnn_status clnn_net_compute_gradients(clnn_net *net, const float *x, size_t x_count,
                                       size_t batch, const int32_t *labels, size_t labels_count,
                                       const float *targets, size_t targets_count, float *loss);
/* One pass over the dataset in its current order (clnn_dataset_shuffle first to shuffle), in
 * mini-batches of batch_size (the last one may be smaller), with the dataset's labels (softmax
 * cross-entropy only). mean_loss (may be NULL) receives the mean loss over the samples; it is
 * summed on the device and read once at the end. Before the first step every label is checked
 * against the output's classes and the output against the one label per sample the dataset
 * has: such errors change nothing. A last batch of 1 that a batch-norm layer cannot train on is
 * merged into the batch before it. A failure that can only happen later (device, memory) stops
 * the epoch after the steps already applied; the message says how many, and
 * clnn_net_step_count tells the caller. A dataset with augmentation
 * (clnn_dataset_set_augmentation) gives augmented batches (clnn_dataset_batch_augmented). */
clnn_status clnn_net_train_epoch(clnn_net *net, clnn_dataset *ds, size_t batch_size,
                                 float *mean_loss);

/* Inference (dropout off, batch norm on running statistics) on `batch` samples x (x_count =
 * batch * input numel floats): y receives the raw outputs (logits: no softmax), batch-first,
 * y_count = batch * output numel floats. */
clnn_status clnn_net_predict(clnn_net *net, const float *x, size_t x_count, size_t batch,
                             float *y, size_t y_count);
/* Fraction of n samples (x_count = n * input numel floats; run in inference mode in chunks of
 * batch_size) whose largest output is the label (a single output: output > 0 means label 1).
 * labels_count = n; with per-time-step outputs n * T, and every step counts. */
clnn_status clnn_net_accuracy(clnn_net *net, const float *x, size_t x_count,
                              const int32_t *labels, size_t labels_count, size_t n,
                              size_t batch_size, float *accuracy);
/* Mean loss and accuracy over a dataset in inference mode (file order); either output may be
 * NULL. The loss is the network's loss for labels (softmax cross-entropy). */
clnn_status clnn_net_evaluate(clnn_net *net, const clnn_dataset *ds, size_t batch_size,
                              float *mean_loss, float *accuracy);

/* ---- Inspection ------------------------------------------------------------------------------- */

int clnn_net_num_layers(const clnn_net *net);                    /* 0 for NULL */
const char *clnn_net_layer_name(const clnn_net *net, int layer); /* NULL when out of range */
/* The per-sample output dims of layer `layer` (-1: the network's output): returns ndim, 0 when
 * out of range. */
int clnn_net_output_dims(const clnn_net *net, int layer, size_t dims[CLNN_MAX_DIMS]);
/* Named tensors: trainable parameters, then state (batch-norm running statistics), in layer
 * order. clnn_net_param_name gives name `index` (NULL when out of range); the string is owned by
 * the network and stays valid until the network is destroyed or a layer is added or renamed. */
size_t clnn_net_num_params(const clnn_net *net);
const char *clnn_net_param_name(const clnn_net *net, size_t index);
/* The tensor named `name` ("conv1.weight", "bn1.running_mean", ...) and its gradient (NULL for
 * state that has none); either out-pointer may be NULL. The tensors belong to the network and
 * live as long as it does; writing to them is allowed. Unknown names: CLNN_ERROR_INVALID_ARGUMENT
 * with the list of names. */
clnn_status clnn_net_param(clnn_net *net, const char *name, clnn_tensor **value,
                           clnn_tensor **grad);
size_t clnn_net_num_trainable(const clnn_net *net); /* trainable scalars in total */
uint64_t clnn_net_step_count(const clnn_net *net);  /* optimizer steps taken */
/* A table of layers (name, kind, output shape, parameters) into buf, NUL-terminated (truncated
 * to size). */
clnn_status clnn_net_summary(const clnn_net *net, char *buf, size_t size);

/* ---- Checkpoints (src/nn/checkpoint.c): safetensors files ---------------------------------- */

#define CLNN_SAVE_OPTIMIZER 1 /* also save the training state: optimizer slots
                                 ("optimizer.<param>.<slot>") and, in the metadata, the optimizer
                                 type, step count and the seed and counter of the dropout stream,
                                 so training resumes exactly where it stopped */

/* Writes every parameter and state tensor (names as clnn_net_param_name, dtype F32, their
 * shapes) to `path` in the safetensors format, which other tools open (8-byte little-endian
 * header size, JSON header, raw little-endian data). flags: 0 or CLNN_SAVE_OPTIMIZER. Writes a
 * new temporary "<path>.tmp.<pid>.<6 random>" in the same directory (created exclusively, never
 * through an existing file or symlink, locked while written), fsyncs it, renames it over `path`
 * and fsyncs the directory, so `path` never holds a partial file. Temporaries that killed saves
 * of the same path left (no live writer holds them) are removed first. A `path` that exists and
 * is neither a regular file nor a symlink (directory, FIFO, device) is CLNN_ERROR_IO. */
clnn_status clnn_net_save(clnn_net *net, const char *path, int flags);
/* Reads a checkpoint written by clnn_net_save (or any safetensors file with the same names,
 * shapes and F32 data). It must hold every parameter and state tensor of the network, with equal
 * shapes, and nothing else apart from a complete optimizer state for the network's optimizer
 * type (loaded with the step count and dropout seed when present; otherwise the optimizer state
 * and step count restart from zero). Only a regular file is opened (a FIFO or device is
 * CLNN_ERROR_IO at once, never waited on); a file whose tensor data is larger than the network's
 * largest checkpoint is refused before it is read, so memory stays bounded by the network.
 * Metadata no training can produce (a step or forward count above 2^53, a key given twice) is
 * CLNN_ERROR_FORMAT. Everything is
 * checked in host memory first; a file that is truncated, malformed or does not match returns
 * CLNN_ERROR_FORMAT (CLNN_ERROR_IO if unreadable) with the reason and leaves the network
 * unchanged. */
clnn_status clnn_net_load(clnn_net *net, const char *path);

/* ---- Graph models: include/clnn_graph.h ------------------------------------------------------ */

/* ---- Several devices and MPI (src/nn/exec.c, src/nn/mpi.c) ------------------------------ */

/* Data-parallel training. A network made with clnn_net_create_parallel keeps one replica of its
 * parameters, optimizer state and buffers per device of the set; a network joined to MPI
 * (clnn_net_set_mpi) also trains with the other ranks. clnn_net_train_step,
 * clnn_net_compute_gradients and clnn_net_train_epoch then split each batch across every device
 * of every rank (contiguous shares, in device order, rank after rank):
 * - each device runs forward and backward on its share in its own host thread (the first step,
 *   which builds the kernels, runs the devices one after another);
 * - each device's gradients are read back to host memory layer by layer as its backward
 *   produces them (the devices have separate OpenCL contexts, so gradients go through host
 *   memory) and summed on the host as soon as every device has them, overlapping the backward of
 *   earlier layers: sum = sum over devices, in device order, of (share / batch) x the device's
 *   mean gradient, accumulated in double, so the result is deterministic and the loss is the mean
 *   over the whole batch. Across MPI ranks the sums are then added in rank order (see
 *   clnn_net_set_mpi);
 * - only after every device and rank succeeded does every replica apply the same optimizer
 *   update, so the parameters stay identical everywhere. (When the devices differ in model or
 *   driver, whose rounding of sqrt or division may differ, the first device applies it and its
 *   parameters and optimizer state are copied to the others.)
 * - If a device fails (an OpenCL error from one queue), the step stops with that error, naming
 *   the device (and rank); parameters, optimizer state, batch-norm statistics and the step count
 *   are as before the step (a device copy taken before the update is restored). Gradients are
 *   then undefined.
 * Differences from one device: the same batches give the same parameters up to rounding: the
 * per-device means are summed instead of one mean (with the tests' networks, after 20 steps of
 * SGD or Adam on 2 devices or 2 MPI ranks, every parameter within 1e-5 + 1e-4 |value| of the
 * one-device run, the tested tolerance; the differences seen are about 1e-7; a one-device set
 * gives the same bits). Dropout masks are the ones a single device draws (except
 * after sequence layers). Batch normalisation normalises each device's share with that share's
 * statistics (as PyTorch's DistributedDataParallel without SyncBatchNorm), so its gradients
 * differ from a one-device run; the running statistics are replaced after every step by the
 * share-weighted mean of the devices' values (the running mean is then what one device would
 * compute; the running variance misses the spread between the shares' means). Inference
 * (predict, accuracy, evaluate), clnn_net_param and checkpoints use the first device's replica;
 * a checkpoint loaded, an optimizer set or a tensor from clnn_net_param that was written is
 * copied to the other devices, and across MPI ranks from rank 0, at the next step. Reading copies
 * nothing: the next step compares each parameter handed out by clnn_net_param since the last step
 * with the second device's copy (two reads of it) and copies only when they differ; with MPI a
 * handed-out parameter is copied as if written. Write before that next step: a write through a
 * tensor kept from before it is not seen. */

/* Creates a network like clnn_net_create whose replicas live on every device of `set` (which
 * must outlive the network). The first device's context holds the replica that clnn_net_param,
 * inference and checkpoints use. */
clnn_status clnn_net_create_parallel(clnn_device_set *set, int ndim, const size_t *input_dims,
                                     uint64_t seed, clnn_net **out);

/* Devices training the network, over all MPI ranks (1 for a network made with clnn_net_create
 * and not joined to MPI; 0 for NULL). */
int clnn_net_num_devices(const clnn_net *net);

typedef enum clnn_split_mode {
  CLNN_SPLIT_AUTO = 0,    /* equal shares when every device is the same model with the same
                             driver; otherwise measured (the default) */
  CLNN_SPLIT_MEASURE = 1, /* measured: equal shares at first, then shares in proportion to the
                             samples per second each device reached in steps 2-4 (after
                             clnn_net_set_split on a network that has trained: the next 3
                             steps), kept from then on */
  CLNN_SPLIT_FIXED = 2    /* shares in proportion to the given weights */
} clnn_split_mode;

/* How batches are split. FIXED takes `count` = clnn_net_num_devices weights (finite, >= 0, not
 * all 0), in device order; the other modes take weights NULL and count 0. A device whose share of
 * a batch rounds to 0 samples computes nothing that step. With MPI every rank must make the same
 * call, after clnn_net_set_mpi (which resets the split to AUTO). Measured shares depend on
 * timing, so unlike fixed ones they can differ from run to run (and with them the rounding). */
clnn_status clnn_net_set_split(clnn_net *net, clnn_split_mode mode, const double *weights,
                               int count);
/* The current shares (count = clnn_net_num_devices values summing to 1) and whether they come
 * from a measurement (*measured may be NULL). */
clnn_status clnn_net_get_split(const clnn_net *net, double *shares, int count, int *measured);

/* MPI (clnn built with -DCLNN_WITH_MPI=ON; otherwise these return CLNN_ERROR_UNSUPPORTED). */

/* 1 when this clnn was built with MPI. */
int clnn_mpi_available(void);
/* Initialises MPI (MPI_Init_thread with MPI_THREAD_FUNNELED: clnn's device threads never call
 * MPI) unless it already is, and gives this process's rank and the number of ranks in
 * MPI_COMM_WORLD (either pointer may be NULL). argc/argv may be NULL. */
clnn_status clnn_mpi_init(int *argc, char ***argv, int *rank, int *size);
/* Finalises MPI if clnn_mpi_init initialised it (destroy MPI networks first). */
clnn_status clnn_mpi_finalize(void);

/* Joins the network to data-parallel training across the ranks of `comm` (a pointer to an
 * MPI_Comm; NULL: MPI_COMM_WORLD), which clnn duplicates. Collective: every rank calls it, after
 * adding the layers (it finalises the network). Then every training call is collective too:
 * every rank passes the same whole global batch (x, labels, targets of `batch` samples; each
 * rank uses only its share) in the same order; ranks that disagree on the batch size get
 * CLNN_ERROR_INVALID_ARGUMENT on every rank. At the first step rank 0's parameters, state,
 * optimizer settings and state and step count are broadcast, so ranks start identical. The
 * gradient sum is deterministic: MPI_Alltoallv gives rank r slice r of every rank's local sum,
 * rank r adds the slices in rank order (in double), MPI_Allgatherv returns every summed slice to
 * every rank, so every rank gets the same bits whatever the timing and the MPI implementation
 * (no MPI_Allreduce on floats, whose order MPI does not fix). A failure on one rank fails the
 * step on every rank, with the failing rank's error. MPI's own failures are CLNN_ERROR_IO with
 * MPI's error string (clnn's communicator returns errors instead of aborting). Inference runs on
 * each rank alone. Destroy the network before MPI_Finalize. */
clnn_status clnn_net_set_mpi(clnn_net *net, const void *comm);
/* This process's rank and the number of ranks (0 and 1 when not joined); either may be NULL. */
clnn_status clnn_net_mpi_rank(const clnn_net *net, int *rank, int *size);

/* CLNN_NET_API_END */

#ifdef __cplusplus
}
#endif
#endif /* CLNN_NN_H */
