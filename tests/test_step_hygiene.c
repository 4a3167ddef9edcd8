/* tests/test_step_hygiene.c — steady-state training steps do no avoidable host work, counted by
 * the interposer tests/step_hygiene_shim.c (LD_PRELOAD, set by tests/CMakeLists.txt) between
 * begin/end markers after warm-up steps. Workloads: a digits-like CNN network (convolutions,
 * batch norm, max pool, dropout, Adam) and a graph model with a residual add, each on one device
 * and on two through the multi-device executor, each also over an epoch; devices that differ (a
 * whole device and a sub-device); convolutions on a GPU-class context.
 *
 * Asserted for every step: no host allocation or free by clnn's code, no getenv, no OpenCL object
 * created or queried and no program built by clnn (CLBlast's own calls are printed apart), no
 * blocking write. One device: no clFinish, no blocking read (exactly one when the loss is asked
 * for), at most one wait per fed input (the double-buffered uploads). Several devices: no thread
 * created (the workers' threads are kept), no blocking read (read-backs, the objective included,
 * are waited for by their events; the finite check uses the host's sums), one clFinish per
 * device (after the update; devices that differ may wait once more). Epochs: at most 3
 * allocations, one object and one blocking read per epoch. Not asserted: the one-device finite
 * check, which reads every gradient (opt-in).
 *
 * A positive control (a tensor created and read inside the window) fails the test when the
 * interposer sees nothing. Sanitizer builds (ASan and an LD_PRELOAD allocator exclude each other)
 * and C libraries other than glibc build it to exit 77, which ctest reports as skipped. */
#define _GNU_SOURCE
#include "test_util.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#define SKIP_CODE 77
enum { B = 32, WARMUP = 3, STEPS = 5 };

typedef struct counts { /* = step_hygiene_counts in the shim */
  long alloc, frees, getenv_calls, threads, finish, wait, blocking_read, blocking_write,
      async_read, async_write, create, build, launches, info, other_create, other_info;
} counts;

static void (*begin_fn)(void);
static void (*end_fn)(void);
static void (*get_fn)(counts *);

static void print_counts(const char *what, const counts *c, int steps) {
  printf("  %-34s per %d step(s): alloc %ld free %ld getenv %ld threads %ld | launches %ld finish "
         "%ld wait %ld read(blocking %ld, async %ld) write(blocking %ld, async %ld) create %ld "
         "build %ld info %ld | CLBlast's: create %ld info %ld\n",
         what, steps, c->alloc, c->frees, c->getenv_calls, c->threads, c->launches, c->finish,
         c->wait, c->blocking_read, c->async_read, c->blocking_write, c->async_write, c->create,
         c->build, c->info, c->other_create, c->other_info);
}


/* What every steady-state step must hold, whatever the device count. */
static void check_common(const char *what, const counts *c) {
  TU_CHECK(c->alloc == 0 && c->frees == 0, "%s: %ld host allocations and %ld frees by clnn", what,
           c->alloc, c->frees);
  TU_CHECK(c->getenv_calls == 0, "%s: %ld getenv calls", what, c->getenv_calls);
  TU_CHECK(c->create == 0, "%s: %ld OpenCL objects created", what, c->create);
  TU_CHECK(c->build == 0, "%s: %ld program builds", what, c->build);
  TU_CHECK(c->info == 0, "%s: %ld OpenCL info queries", what, c->info);
  TU_CHECK(c->blocking_write == 0, "%s: %ld blocking writes", what, c->blocking_write);
  TU_CHECK(c->launches > 0, "%s: the step launched kernels (%ld): the counters see it", what,
           c->launches);
}

/* One device: no wait but the uploads' (at most one per fed input), no finish, no blocking read
 * unless the loss is asked for (then exactly one). */
static void check_one_device(const char *what, const counts *c, int steps, int inputs,
                             int loss_reads) {
  check_common(what, c);
  TU_CHECK(c->finish == 0, "%s: %ld clFinish", what, c->finish);
  TU_CHECK(c->threads == 0, "%s: %ld threads created", what, c->threads);
  TU_CHECK(c->wait <= (long)steps * inputs, "%s: %ld waits in %d steps (at most %d per step: "
           "the uploads of two steps before)", what, c->wait, steps, inputs);
  TU_CHECK(c->blocking_read == loss_reads, "%s: %ld blocking reads (expected %d)", what,
           c->blocking_read, loss_reads);
}

/* Several devices (nd of them): per step one clFinish per device (after the update), no thread
 * created (the workers' threads are kept), no blocking read (the read-backs are waited for by
 * their events). */
static int identical_devices = 1; /* the set's devices are alike (else the update's image adds
                                     a wait per device) */

static void check_devices(const char *what, const counts *c, int steps, int nd) {
  check_common(what, c);
  if (identical_devices)
    TU_CHECK(c->finish == (long)steps * nd, "%s: %ld clFinish in %d steps (expected %d per step)",
             what, c->finish, steps, nd);
  else
    TU_CHECK(c->finish <= (long)steps * 2 * nd, "%s: %ld clFinish in %d steps (at most %d per "
             "step: the devices differ)", what, c->finish, steps, 2 * nd);
  TU_CHECK(c->threads == 0, "%s: %ld threads created in %d steps (the workers' threads are kept)",
           what, c->threads, steps);
  TU_CHECK(c->blocking_read == 0, "%s: %ld blocking reads", what, c->blocking_read);
}

/* ---- the counters see what they must ---- */

static void positive_control(clnn_context *ctx) {
  counts c;
  size_t n = 16;
  float host[16] = {0};
  begin_fn();
  clnn_tensor *t = NULL;
  clnn_status st = clnn_tensor_create(ctx, 1, &n, &t);
  if (st == CLNN_SUCCESS) st = clnn_tensor_read(t, host, n);
  clnn_tensor_destroy(t);
  end_fn();
  get_fn(&c);
  TU_OK(st);
  print_counts("control (create, read, destroy)", &c, 1);
  TU_CHECK(c.alloc >= 1 && c.frees >= 1, "the control's tensor allocation and free are counted");
  TU_CHECK(c.create >= 1, "the control's clCreateBuffer is counted");
  TU_CHECK(c.blocking_read == 1, "the control's blocking read is counted");
}

/* A convolution on a GPU-class context (where AUTO consults the conv.igemm choice): no
 * environment look-up per call. */
static void gpu_class_conv(void) {
  clnn_context_options o;
  clnn_context_options_init(&o);
  o.device_class = CLNN_DEVICE_GPU;
  clnn_context *g = NULL;
  TU_OK(clnn_context_create(&o, &g));
  if (!g) return;
  clnn_conv2d_params p;
  clnn_conv2d_params_init(&p);
  p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 1;
  size_t xd[4] = {2, 4, 9, 9}, wd[4] = {8, 4, 3, 3}, yd[4] = {2, 8, 9, 9};
  clnn_tensor *x = tu_tensor(g, 4, xd, NULL), *w = tu_tensor(g, 4, wd, NULL), *y = tu_tensor(g, 4, yd, NULL);
  TU_OK(clnn_tensor_fill(x, 0.5f));
  TU_OK(clnn_tensor_fill(w, 0.25f));
  TU_OK(clnn_conv2d_forward(g, &p, CLNN_CONV_ALGO_AUTO, x, w, NULL, CLNN_ACT_RELU, 0.0f, y));
  counts c;
  begin_fn();
  clnn_status st = CLNN_SUCCESS;
  for (int s = 0; s < STEPS && st == CLNN_SUCCESS; s++)
    st = clnn_conv2d_forward(g, &p, CLNN_CONV_ALGO_AUTO, x, w, NULL, CLNN_ACT_RELU, 0.0f, y);
  end_fn();
  get_fn(&c);
  TU_OK(st);
  print_counts("conv2d forward, GPU class", &c, STEPS);
  TU_CHECK(c.getenv_calls == 0, "GPU-class convolution: %ld getenv calls", c.getenv_calls);
  /* (the GEMM is CLBlast's on this class: it creates its kernel and queries the device on every
   * call, which this does not assert; clnn's own code allocates nothing) */
  TU_CHECK(c.alloc == 0 && c.blocking_read == 0 && c.finish == 0,
           "GPU-class convolution: no allocation by clnn, no blocking read, no finish");
  clnn_tensor_destroy(x);
  clnn_tensor_destroy(w);
  clnn_tensor_destroy(y);
  clnn_context_destroy(g);
}

/* ---- the workloads ---- */

static float X[B * 64];
static int32_t Y[B];

static clnn_net *digits_net(clnn_context *ctx, clnn_device_set *set) {
  size_t in[3] = {1, 8, 8};
  clnn_net *net = NULL;
  if (set) TU_OK(clnn_net_create_parallel(set, 3, in, 7, &net));
  else TU_OK(clnn_net_create(ctx, 3, in, 7, &net));
  if (!net) exit(1);
  TU_OK(clnn_net_add_conv2d(net, 16, 3, 1, 1));
  TU_OK(clnn_net_add_batchnorm(net, 0.1f, 1e-5f));
  TU_OK(clnn_net_add_activation(net, CLNN_ACT_RELU, 0));
  TU_OK(clnn_net_add_conv2d(net, 16, 3, 1, 1));
  TU_OK(clnn_net_add_activation(net, CLNN_ACT_RELU, 0));
  TU_OK(clnn_net_add_maxpool2d(net, 2, 2, 0));
  TU_OK(clnn_net_add_dropout(net, 0.25f));
  TU_OK(clnn_net_add_flatten(net));
  TU_OK(clnn_net_add_dense(net, 64));
  TU_OK(clnn_net_add_activation(net, CLNN_ACT_RELU, 0));
  TU_OK(clnn_net_add_dense(net, 10));
  TU_OK(clnn_net_set_loss(net, CLNN_LOSS_SOFTMAX_CROSS_ENTROPY));
  clnn_optimizer_config opt;
  clnn_optimizer_config_init(&opt, CLNN_OPTIM_ADAM, 1e-3f);
  TU_OK(clnn_net_set_optimizer(net, &opt));
  return net;
}

/* Steps of a network: warm-up, STEPS counted without the loss, one counted with it. */
static void net_steps(clnn_net *net, const char *what, int ndev) {
  float loss = 0;
  for (int s = 0; s < WARMUP; s++) TU_OK(clnn_net_train_step(net, X, B * 64, B, Y, B, NULL, 0, &loss));
  counts c;
  clnn_status st = CLNN_SUCCESS;
  begin_fn();
  for (int s = 0; s < STEPS && st == CLNN_SUCCESS; s++)
    st = clnn_net_train_step(net, X, B * 64, B, Y, B, NULL, 0, NULL);
  end_fn();
  get_fn(&c);
  TU_OK(st);
  char label[128];
  snprintf(label, sizeof label, "%s, no loss", what);
  print_counts(label, &c, STEPS);
  if (ndev == 1) check_one_device(label, &c, STEPS, 2, 0);
  else check_devices(label, &c, STEPS, ndev);
  begin_fn();
  st = clnn_net_train_step(net, X, B * 64, B, Y, B, NULL, 0, &loss);
  end_fn();
  get_fn(&c);
  TU_OK(st);
  snprintf(label, sizeof label, "%s, with the loss", what);
  print_counts(label, &c, 1);
  if (ndev == 1) check_one_device(label, &c, 1, 2, 1);
  else check_devices(label, &c, 1, ndev);
  TU_CHECK(loss > 0 && loss < 10, "%s: a plausible loss (%g)", what, (double)loss);
}

/* An epoch of EPOCH_BATCHES batches (after one untimed): per epoch the batch buffers, the graph
 * model's loss-sum tensor and the mean loss's read; per step nothing more than a step's. */
enum { EPOCH_BATCHES = 4 };
static float XE[EPOCH_BATCHES * B * 64];
static int32_t YE[EPOCH_BATCHES * B];

static void epoch_counts(clnn_net *net, clnn_model *m, int x, int lab, const char *what, int ndev) {
  clnn_dataset *ds = NULL;
  size_t sd[3] = {1, 8, 8};
  for (int i = 0; i < EPOCH_BATCHES * B * 64; i++) XE[i] = X[i % (B * 64)];
  for (int i = 0; i < EPOCH_BATCHES * B; i++) YE[i] = Y[i % B];
  TU_OK(clnn_dataset_create(EPOCH_BATCHES * B, 3, sd, XE, EPOCH_BATCHES * B * 64, YE,
                            EPOCH_BATCHES * B, &ds));
  if (!ds) return;
  float loss = 0;
  clnn_status st = net ? clnn_net_train_epoch(net, ds, B, &loss)
                       : clnn_model_train_epoch(m, ds, B, x, lab, &loss); /* (warm-up) */
  TU_OK(st);
  counts c;
  begin_fn();
  st = net ? clnn_net_train_epoch(net, ds, B, &loss) : clnn_model_train_epoch(m, ds, B, x, lab, &loss);
  end_fn();
  get_fn(&c);
  TU_OK(st);
  char label[128];
  snprintf(label, sizeof label, "%s, epoch of %d", what, EPOCH_BATCHES);
  print_counts(label, &c, EPOCH_BATCHES);
  /* per epoch (whatever its length): the batch buffers, the model's loss-sum tensor, one read */
  TU_CHECK(c.alloc <= 3 && c.frees == c.alloc, "%s: %ld allocations, %ld frees (at most 3 per "
           "epoch, none per step)", label, c.alloc, c.frees);
  TU_CHECK(c.create <= 1 && c.build == 0 && c.getenv_calls == 0 && c.info == 0 &&
               c.blocking_write == 0 && c.threads == 0,
           "%s: at most one object created, no build, getenv, info query, blocking write or "
           "thread", label);
  if (ndev == 1)
    TU_CHECK(c.blocking_read <= 1 && c.finish == 0 && c.wait <= 2 * EPOCH_BATCHES,
             "%s: at most one blocking read (the mean loss), no finish, at most one wait per "
             "input per step", label);
  else
    TU_CHECK(c.blocking_read <= 1 && c.finish == EPOCH_BATCHES * ndev,
             "%s: %ld blocking reads (at most one per epoch), %ld finishes (one per device per "
             "step)", label, c.blocking_read, c.finish);
  clnn_dataset_destroy(ds);
}

/* conv + batch norm + relu, plus a 1x1 convolution of the input (the residual add), max pool,
 * dropout, a dense head, softmax cross-entropy. */
static clnn_graph *residual_graph(int *x, int *lab) {
  clnn_graph *g = NULL;
  size_t in[3] = {1, 8, 8};
  int h, s, y, loss;
  clnn_conv2d_params cp, c1;
  clnn_conv2d_params_init(&cp);
  clnn_conv2d_params_init(&c1);
  cp.pad_top = cp.pad_bottom = cp.pad_left = cp.pad_right = 1;
  clnn_pool2d_params pp;
  clnn_pool2d_params_init(&pp, 2);
  TU_OK(clnn_graph_create(&g));
  TU_OK(clnn_graph_input(g, "x", CLNN_FLOAT32, 3, in, x));
  TU_OK(clnn_graph_input(g, "label", CLNN_INT32, 0, NULL, lab));
  TU_OK(clnn_graph_conv2d(g, "conv1", *x, 8, 3, 3, &cp, 1, &h));
  TU_OK(clnn_graph_batchnorm(g, "bn1", h, 0, 0, &h));
  TU_OK(clnn_graph_activation(g, NULL, h, CLNN_ACT_RELU, 0, &h));
  TU_OK(clnn_graph_conv2d(g, "skip", *x, 8, 1, 1, &c1, 0, &s));
  TU_OK(clnn_graph_add(g, NULL, h, s, &h));
  TU_OK(clnn_graph_pool2d(g, NULL, h, 1, &pp, &h));
  TU_OK(clnn_graph_dropout(g, NULL, h, 0.2f, &h));
  TU_OK(clnn_graph_flatten(g, NULL, h, &h));
  TU_OK(clnn_graph_dense(g, "head", h, 10, 1, &y));
  TU_OK(clnn_graph_loss(g, NULL, CLNN_LOSS_SOFTMAX_CROSS_ENTROPY, y, *lab, 1.0f, &loss));
  TU_OK(clnn_graph_output(g, y));
  return g;
}

static void model_steps(clnn_model *m, int x, int lab, const char *what, int ndev) {
  clnn_optimizer_config opt;
  clnn_optimizer_config_init(&opt, CLNN_OPTIM_ADAM, 1e-3f);
  TU_OK(clnn_model_set_optimizer(m, &opt));
  clnn_feed f[2] = {{x, X, B * 64, NULL}, {lab, Y, B, NULL}};
  float loss = 0;
  for (int s = 0; s < WARMUP; s++) TU_OK(clnn_model_train_step(m, f, 2, B, &loss));
  counts c;
  clnn_status st = CLNN_SUCCESS;
  begin_fn();
  for (int s = 0; s < STEPS && st == CLNN_SUCCESS; s++) st = clnn_model_train_step(m, f, 2, B, NULL);
  end_fn();
  get_fn(&c);
  TU_OK(st);
  char label[128];
  snprintf(label, sizeof label, "%s, no loss", what);
  print_counts(label, &c, STEPS);
  if (ndev == 1) check_one_device(label, &c, STEPS, 2, 0);
  else check_devices(label, &c, STEPS, ndev);
  begin_fn();
  st = clnn_model_train_step(m, f, 2, B, &loss);
  end_fn();
  get_fn(&c);
  TU_OK(st);
  snprintf(label, sizeof label, "%s, with the loss", what);
  print_counts(label, &c, 1);
  if (ndev == 1) check_one_device(label, &c, 1, 2, 1);
  else check_devices(label, &c, 1, ndev);
  TU_CHECK(loss > 0 && loss < 10, "%s: a plausible loss (%g)", what, (double)loss);
  /* the finite check: on several devices the sums are on the host already (no read); on one
   * device it reads every gradient (one blocking read each, documented) */
  TU_OK(clnn_model_set_check_finite(m, 1));
  begin_fn();
  st = clnn_model_train_step(m, f, 2, B, NULL);
  end_fn();
  get_fn(&c);
  TU_OK(st);
  snprintf(label, sizeof label, "%s, finite check", what);
  print_counts(label, &c, 1);
  if (ndev > 1) check_devices(label, &c, 1, ndev);
  TU_OK(clnn_model_set_check_finite(m, 0));
}

/* Devices that differ (device 1 whole, a sub-device of device 0): the first device updates and
 * its parameters reach the other through host memory (non-blocking transfers, one wait each
 * way); no allocation, object creation, build or getenv per step. */
static void mixed_devices(clnn_device_set *set) {
  cl_device_id dev;
  TU_OK(clnn_context_get_cl(clnn_device_set_context(set, 0), NULL, &dev, NULL));
  cl_uint cu = 0;
  clGetDeviceInfo(dev, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
  cl_device_partition_property props[] = {CL_DEVICE_PARTITION_EQUALLY,
                                          (cl_device_partition_property)(cu >= 2 ? cu / 2 : 1), 0};
  cl_device_id sub[8];
  cl_uint nsub = 0;
  cl_int err = cu >= 2 ? clCreateSubDevices(dev, props, 8, sub, &nsub) : CL_INVALID_VALUE;
  if (err != CL_SUCCESS || nsub < 1) {
    printf("  mixed devices: no sub-device on this device (%u compute units, error %d): part "
           "skipped\n", (unsigned)cu, (int)err);
    return;
  }
  cl_context cc = clCreateContext(NULL, 1, &sub[0], NULL, NULL, &err);
  cl_command_queue q = cc ? clCreateCommandQueue(cc, sub[0], 0, &err) : NULL;
  clnn_context *sctx = NULL;
  if (q) TU_OK(clnn_context_wrap(cc, sub[0], q, NULL, &sctx));
  clnn_device_set *mixed = NULL;
  clnn_context *two[2] = {clnn_device_set_context(set, 1), sctx};
  if (sctx) TU_OK(clnn_device_set_wrap(two, 2, &mixed));
  if (mixed) {
    clnn_net *net = digits_net(NULL, mixed);
    double w[2] = {1, 1}; /* (a fixed split: the shares, hence the buffers, stay) */
    TU_OK(clnn_net_set_split(net, CLNN_SPLIT_FIXED, w, 2));
    for (int s = 0; s < WARMUP; s++) TU_OK(clnn_net_train_step(net, X, B * 64, B, Y, B, NULL, 0, NULL));
    counts c;
    clnn_status st = CLNN_SUCCESS;
    begin_fn();
    for (int s = 0; s < STEPS && st == CLNN_SUCCESS; s++)
      st = clnn_net_train_step(net, X, B * 64, B, Y, B, NULL, 0, NULL);
    end_fn();
    get_fn(&c);
    TU_OK(st);
    print_counts("network, 2 devices that differ", &c, STEPS);
    TU_CHECK(c.alloc == 0 && c.frees == 0, "devices that differ: %ld host allocations and %ld "
             "frees by clnn", c.alloc, c.frees);
    TU_CHECK(c.create == 0 && c.build == 0 && c.getenv_calls == 0 && c.info == 0,
             "devices that differ: no object created, no build, no getenv, no info query");
    /* the image goes through non-blocking transfers and one wait per device: per step the
     * image's wait on the first device and on the other, the update's */
    TU_CHECK(c.blocking_read == 0 && c.blocking_write == 0,
             "devices that differ: %ld blocking reads and %ld blocking writes", c.blocking_read,
             c.blocking_write);
    TU_CHECK(c.finish <= STEPS * 4, "devices that differ: %ld clFinish in %d steps (at most 4 "
             "per step)", c.finish, STEPS);
    clnn_net_destroy(net);
    clnn_device_set_destroy(mixed);
  }
  clnn_context_destroy(sctx);
  if (q) clReleaseCommandQueue(q);
  if (cc) clReleaseContext(cc);
  for (cl_uint i = 0; i < nsub; i++) clReleaseDevice(sub[i]);
}

int main(void) {
#ifdef CLNN_STEP_HYGIENE_SKIP
  printf("test_step_hygiene: SKIPPED in %s; the plain build on glibc runs it\n",
         CLNN_STEP_HYGIENE_SKIP);
  return SKIP_CODE;
#endif
  begin_fn = (void (*)(void))dlsym(RTLD_DEFAULT, "step_hygiene_begin");
  end_fn = (void (*)(void))dlsym(RTLD_DEFAULT, "step_hygiene_end");
  get_fn = (void (*)(counts *))dlsym(RTLD_DEFAULT, "step_hygiene_counts_get");
  if (!TU_CHECK(begin_fn && end_fn && get_fn, "the interposer is loaded (LD_PRELOAD=%s)",
                getenv("LD_PRELOAD") ? getenv("LD_PRELOAD") : "(unset)"))
    return tu_finish("test_step_hygiene");
  /* two devices for the executor (as tests/test_model_parallel.c gets them) */
  setenv("POCL_DEVICES", "pthread pthread", 0);
  tu_seed(11);
  tu_fill_uniform(X, B * 64, 0.0f, 1.0f);
  for (int i = 0; i < B; i++) Y[i] = (int32_t)((i * 7) % 10);
  clnn_context *ctx = tu_context();
  positive_control(ctx);
  gpu_class_conv();

  clnn_net *net = digits_net(ctx, NULL);
  net_steps(net, "network, 1 device", 1);
  epoch_counts(net, NULL, 0, 0, "network, 1 device", 1);
  clnn_net_destroy(net);

  int x, lab;
  clnn_graph *g = residual_graph(&x, &lab);
  clnn_model *m = NULL;
  TU_OK(clnn_model_create(ctx, g, 5, &m));
  if (m) model_steps(m, x, lab, "residual model, 1 device", 1);
  if (m) epoch_counts(NULL, m, x, lab, "residual model, 1 device", 1);
  clnn_model_destroy(m);

  /* two alike devices where there are (two CPU devices of PoCL, also beside a GPU), else all */
  clnn_device_set *set = NULL;
  if (clnn_device_set_create("cpu,cpu", NULL, &set) != CLNN_SUCCESS) {
    set = NULL;
    TU_OK(clnn_device_set_create("all", NULL, &set));
  }
  int nd = set ? clnn_device_set_size(set) : 0;
  for (int k = 1; k < nd; k++) {
    clnn_device_info a, b;
    clnn_device_info_init(&a);
    clnn_device_info_init(&b);
    TU_OK(clnn_context_device_info(clnn_device_set_context(set, 0), &a));
    TU_OK(clnn_context_device_info(clnn_device_set_context(set, k), &b));
    if (strcmp(a.name, b.name) || strcmp(a.driver_version, b.driver_version) ||
        a.compute_units != b.compute_units)
      identical_devices = 0;
  }
  printf("  device set: %d device(s), %s\n", nd, identical_devices ? "alike" : "that differ");
  if (TU_CHECK(nd >= 2, "at least 2 devices (got %d; POCL_DEVICES=\"pthread pthread\")", nd)) {
    char what[64];
    snprintf(what, sizeof what, "network, %d devices", nd);
    net = digits_net(NULL, set);
    net_steps(net, what, nd);
    epoch_counts(net, NULL, 0, 0, what, nd);
    clnn_net_destroy(net);
    snprintf(what, sizeof what, "residual model, %d devices", nd);
    TU_OK(clnn_model_create_parallel(set, g, 5, &m));
    if (m) model_steps(m, x, lab, what, nd);
    if (m) epoch_counts(NULL, m, x, lab, what, nd);
    clnn_model_destroy(m);
    mixed_devices(set);
  }
  clnn_device_set_destroy(set);
  clnn_graph_destroy(g);
  clnn_context_destroy(ctx);
  return tu_finish("test_step_hygiene");
}
