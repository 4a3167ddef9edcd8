/* src/nn/net_parallel.c — sequential networks on several devices and MPI ranks: the network's
 * model trains through the multi-device executor (exec.c) like any graph model. This file keeps
 * the network's public calls: creation on a device set, the device count, the split (kept until
 * the network is finalised, then the executor's), joining MPI, and the test hooks by network. */
#include "nn/model.h"
#include "nn/nn_internal.h"

static clnn__x *net_exec(const clnn_net *net) {
  return net && net->model ? clnn__m_executor(net->model) : NULL;
}

clnn_status clnn_net_create_parallel(clnn_device_set *set, int ndim, const size_t *input_dims,
                                     uint64_t seed, clnn_net **out) {
  if (!set || !out)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_create_parallel: %s is NULL",
                       !set ? "set" : "out");
  if (clnn_device_set_size(set) < 1)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_create_parallel: the set is empty");
  clnn_net *net = NULL;
  clnn_status st = clnn_net_create(clnn_device_set_context(set, 0), ndim, input_dims, seed, &net);
  if (st != CLNN_SUCCESS) return st;
  net->devset = set;
  *out = net;
  return CLNN_SUCCESS;
}

clnn_status clnn__nn_par_attach(clnn_net *net) {
  if (!net->devset) return CLNN_SUCCESS;
  clnn_status st = clnn__x_create(net->model, net->devset, "clnn_net");
  if (st != CLNN_SUCCESS) return st;
  int W = clnn_device_set_size(net->devset);
  return clnn__x_set_split(net_exec(net), W, net->split_mode,
                           net->split_mode == CLNN_SPLIT_FIXED ? net->split_w : NULL,
                           net->split_mode == CLNN_SPLIT_FIXED ? W : 0, "network",
                           "clnn_net");
}

int clnn_net_num_devices(const clnn_net *net) {
  if (!net) return 0;
  clnn__x *x = net_exec(net);
  if (x) return clnn__x_num_devices(x);
  return net->devset ? clnn_device_set_size(net->devset) : 1;
}

clnn_status clnn_net_set_split(clnn_net *net, clnn_split_mode mode, const double *weights,
                               int count) {
  const char *fn = "clnn_net_set_split";
  if (!net) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: net is NULL", fn);
  int W = clnn_net_num_devices(net);
  clnn__x *x = net_exec(net);
  clnn_status st = clnn__x_set_split(x, W, mode, weights, count, "network", fn);
  if (st != CLNN_SUCCESS || x || !net->devset) return st;
  /* before finalisation: kept for the executor made then */
  net->split_mode = mode;
  for (int g = 0; g < W; g++) net->split_w[g] = mode == CLNN_SPLIT_FIXED ? weights[g] : 0;
  return CLNN_SUCCESS;
}

clnn_status clnn_net_get_split(const clnn_net *net, double *shares, int count, int *measured) {
  const char *fn = "clnn_net_get_split";
  if (!net || !shares)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn, !net ? "net" : "shares");
  int W = clnn_net_num_devices(net);
  clnn__x *x = net_exec(net);
  if (x || !net->devset) return clnn__x_get_split(x, W, shares, count, measured, "network", fn);
  if (count != W)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: count is %d but the network trains on "
                       "%d device(s)", fn, count, W);
  double total = 0;
  for (int g = 0; g < W; g++) total += net->split_w[g];
  for (int g = 0; g < W; g++)
    shares[g] = net->split_mode == CLNN_SPLIT_FIXED ? net->split_w[g] / total : 1.0 / W;
  if (measured) *measured = 0;
  return CLNN_SUCCESS;
}

clnn_status clnn_net_set_mpi(clnn_net *net, const void *comm) {
  const char *fn = "clnn_net_set_mpi";
  if (!net) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: net is NULL", fn);
  if (clnn__x_joined_mpi(net_exec(net)))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: the network is already joined to MPI", fn);
  /* a rank whose network cannot be finalised still takes part, and every rank fails */
  clnn_status pre = clnn__nn_finalize(net);
  return clnn__x_join_mpi(pre == CLNN_SUCCESS ? net->model : NULL, pre, comm, "network", fn);
}

clnn_status clnn_net_mpi_rank(const clnn_net *net, int *rank, int *size) {
  if (!net) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_net_mpi_rank: net is NULL");
  return clnn__x_mpi_rank(net_exec(net), rank, size);
}

/* ---- test hooks by network (not API; tests declare them) ---- */

clnn_status clnn__m_par_inject_fault(clnn_model *m, int device, int phase, cl_int err);
clnn_status clnn__m_par_set_delay(clnn_model *m, int device, double seconds);
clnn_model *clnn__m_par_replica(clnn_model *m, int k);
uint64_t clnn__m_par_image_copies(const clnn_model *m);

/* The network's model (finalising it), for the model test hooks. */
clnn_model *clnn__nn_model(clnn_net *net);
clnn_model *clnn__nn_model(clnn_net *net) {
  return net && clnn__nn_finalize(net) == CLNN_SUCCESS ? net->model : NULL;
}

clnn_status clnn__nn_par_inject_fault(clnn_net *net, int device, int phase, cl_int err);
clnn_status clnn__nn_par_inject_fault(clnn_net *net, int device, int phase, cl_int err) {
  return clnn__m_par_inject_fault(clnn__nn_model(net), device, phase, err);
}

clnn_status clnn__nn_par_set_delay(clnn_net *net, int device, double seconds);
clnn_status clnn__nn_par_set_delay(clnn_net *net, int device, double seconds) {
  return clnn__m_par_set_delay(clnn__nn_model(net), device, seconds);
}

clnn_model *clnn__nn_par_replica(clnn_net *net, int device);
clnn_model *clnn__nn_par_replica(clnn_net *net, int device) {
  return clnn__m_par_replica(clnn__nn_model(net), device);
}

uint64_t clnn__nn_par_image_copies(const clnn_net *net);
uint64_t clnn__nn_par_image_copies(const clnn_net *net) {
  return net && net->model ? clnn__m_par_image_copies(net->model) : 0;
}
