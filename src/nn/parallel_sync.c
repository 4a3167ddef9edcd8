/* src/nn/parallel_sync.c — copies between the replicas of a data-parallel network and across MPI
 * ranks, through host memory: parameters, state and optimizer slots as one flat image, the
 * settings a replica takes from the first one, and the synchronisation before a step when
 * something changed outside training (a load, an optimizer set, a written parameter). */
#define _POSIX_C_SOURCE 200809L
#include "nn/parallel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- copies between replicas (through host memory) ---- */

int clnn__par_num_slots(const clnn_net *net) {
  const char *names[2];
  return clnn__nn_opt_slots(&net->opt, names);
}

/* Floats of the parameter/optimizer image: every value, then every trainable's slots. */
size_t clnn__par_image_numel(const clnn_net *net, int values, int slots) {
  size_t n = 0;
  int ns = clnn__par_num_slots(net);
  for (size_t i = 0; i < net->num_params; i++) {
    const clnn__nn_param *p = &net->params[i];
    if (values) n += p->numel;
    if (slots && p->trainable) n += (size_t)ns * p->numel;
  }
  return n;
}

/* Reads (to_host) or writes the image of `net` (values: every parameter and state tensor; slots:
 * the optimizer slots) from/to buf. */
clnn_status clnn__par_image_io(clnn_net *net, float *buf, int values, int slots, int to_host) {
  int ns = clnn__par_num_slots(net);
  size_t o = 0;
  clnn_status st = CLNN_SUCCESS;
  for (size_t i = 0; i < net->num_params && st == CLNN_SUCCESS; i++) {
    clnn__nn_param *p = &net->params[i];
    clnn_tensor *ts[3] = {values ? p->value : NULL, NULL, NULL};
    if (slots && p->trainable)
      for (int s = 0; s < ns; s++) ts[1 + s] = p->opt[s];
    for (int t = 0; t < 3 && st == CLNN_SUCCESS; t++) {
      if (!ts[t]) continue;
      st = to_host ? clnn_tensor_read(ts[t], buf + o, p->numel)
                   : clnn_tensor_write(ts[t], buf + o, p->numel);
      o += p->numel;
    }
  }
  return st;
}

/* Settings every replica takes from the first one before each step. */
void clnn__par_copy_settings(clnn_net *dst, const clnn_net *src) {
  dst->loss = src->loss;
  dst->opt = src->opt;
  dst->step = src->step;
  dst->train_forwards = src->train_forwards;
  dst->seed = src->seed;
  dst->sample_offset = 0;
}

/* Copies values and optimizer state of the first replica to the others, and keeps the state for
 * rollback. With MPI, rank 0's settings, values and optimizer state go to every rank first. */
clnn_status clnn__par_sync(clnn_net *net, int any_stale) {
  clnn__nn_par *par = net->par;
  clnn_status st = CLNN_SUCCESS;
  if (!any_stale) return CLNN_SUCCESS;
  if (par->mpi) {
    /* settings first: they decide the optimizer slots, hence the image's size */
    struct {
      clnn_optimizer_config opt;
      int32_t loss;
      uint64_t step, forwards, seed;
    } hdr;
    memset(&hdr, 0, sizeof hdr);
    hdr.opt = net->opt;
    hdr.loss = (int32_t)net->loss;
    hdr.step = net->step;
    hdr.forwards = net->train_forwards;
    hdr.seed = net->seed;
    st = clnn__mpi_bcast(par->mpi, &hdr, sizeof hdr);
    if (st != CLNN_SUCCESS) return st;
    if (par->rank != 0) {
      st = clnn_net_set_optimizer(net, &hdr.opt);
      if (st != CLNN_SUCCESS) return st;
      net->loss = (clnn_loss)hdr.loss;
      net->step = hdr.step;
      net->train_forwards = hdr.forwards;
      net->seed = hdr.seed;
    }
    size_t n = clnn__par_image_numel(net, 1, 1);
    float *buf = malloc((n ? n : 1) * sizeof(float));
    if (!buf) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate %zu floats", n);
    /* a failed read on rank 0 still takes part in the broadcast; its status decides after */
    clnn_status rs = par->rank == 0 ? clnn__par_image_io(net, buf, 1, 1, 1) : CLNN_SUCCESS;
    long long bad = rs != CLNN_SUCCESS;
    st = clnn__mpi_max(par->mpi, &bad, 1);
    if (st == CLNN_SUCCESS && bad)
      st = rs != CLNN_SUCCESS ? rs : clnn__error(CLNN_ERROR_OPENCL, "rank 0 could not read its "
                                                 "parameters to broadcast them");
    if (st == CLNN_SUCCESS) st = clnn__mpi_bcast(par->mpi, buf, n * sizeof(float));
    if (st == CLNN_SUCCESS && par->rank != 0) st = clnn__par_image_io(net, buf, 1, 1, 0);
    free(buf);
    if (st != CLNN_SUCCESS) return st;
  }
  if (par->nlocal > 1) {
    size_t n = clnn__par_image_numel(net, 1, 1);
    float *buf = malloc((n ? n : 1) * sizeof(float));
    if (!buf) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate %zu floats", n);
    st = clnn__par_image_io(net, buf, 1, 1, 1);
    for (int k = 1; k < par->nlocal && st == CLNN_SUCCESS; k++) {
      clnn_net *r = par->w[k].net;
      clnn__par_free_backups(r, &par->w[k]);
      st = clnn_net_set_optimizer(r, &net->opt); /* fresh slots of the right kind */
      if (st == CLNN_SUCCESS) st = clnn__par_image_io(r, buf, 1, 1, 0);
      if (st == CLNN_SUCCESS) par->image_copies++;
      if (st != CLNN_SUCCESS) {
        char keep[PAR_MSG];
        snprintf(keep, sizeof keep, "%s", clnn_last_error());
        st = clnn__error(st, "copying the parameters to %s: %s", par->w[k].label, keep);
      }
    }
    free(buf);
    if (st != CLNN_SUCCESS) return st;
  }
  clnn__par_free_backups(net, &par->w[0]);
  for (size_t i = 0; i < net->num_params && st == CLNN_SUCCESS; i++)
    if (!net->params[i].trainable)
      st = clnn_tensor_read(net->params[i].value, par->state_before + par->off[i],
                            net->params[i].numel);
  if (st != CLNN_SUCCESS) return st;
  for (int k = 0; k < par->nlocal; k++) par->w[k].net->replicas_stale = 0;
  return CLNN_SUCCESS;
}

/* ---- parameters handed out for reading or writing ---- */

clnn_status clnn__par_check_exposed(clnn_net *net, int *stale) {
  clnn__nn_par *par = net->par;
  clnn_net *other = par->nlocal > 1 && par->ready ? par->w[1].net : NULL;
  clnn_status st = CLNN_SUCCESS;
  float *a = NULL, *b = NULL;
  size_t cap = 0;
  for (size_t i = 0; i < net->num_params; i++) {
    clnn__nn_param *p = &net->params[i];
    if (!p->exposed) continue;
    p->exposed = 0;
    if (*stale || st != CLNN_SUCCESS) continue; /* (every mark is cleared) */
    if (!other || par->mpi) { /* nothing local to compare with, or other ranks to reach */
      *stale = 1;
      continue;
    }
    if (p->numel > cap) {
      free(a);
      free(b);
      a = malloc(p->numel * sizeof(float));
      b = malloc(p->numel * sizeof(float));
      cap = a && b ? p->numel : 0;
      if (!cap) {
        st = clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "cannot allocate %zu floats", 2 * p->numel);
        continue;
      }
    }
    /* every replica holds the same bits after a step: a difference is a write */
    st = clnn_tensor_read(p->value, a, p->numel);
    if (st == CLNN_SUCCESS) st = clnn_tensor_read(other->params[i].value, b, p->numel);
    if (st == CLNN_SUCCESS && memcmp(a, b, p->numel * sizeof(float)) != 0) *stale = 1;
  }
  free(a);
  free(b);
  return st;
}

uint64_t clnn__nn_par_image_copies(const clnn_net *net) {
  return net && net->par ? net->par->image_copies : 0;
}
