/* src/nn/exec_worker.c — one device's part of a multi-device step (src/nn/exec.c): its training
 * pass on its share, each gradient read back without a wait as soon as backward has finished it,
 * the state and the objective after, the waits that publish its progress to the summing thread;
 * and the device's thread, started once and handed one step per generation until the executor
 * ends it. */
#define _POSIX_C_SOURCE 200809L
#include "nn/exec.h"

#include <math.h>
#include <stdio.h>
#include <time.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void publish(x_worker *w, int progress, int done) {
  clnn__x *x = w->x;
  pthread_mutex_lock(&x->mu);
  if (progress >= 0) w->progress = progress;
  if (done) w->done = 1;
  pthread_cond_broadcast(&x->cv);
  pthread_mutex_unlock(&x->mu);
}

/* Enqueues item j's read-back (the objective has its own: clnn__m_objective_enqueue). */
static clnn_status read_item(x_worker *w, int j) {
  const x_item *it = &w->x->items[j];
  clnn__mref r = clnn__m_ref(w->m, (size_t)it->param);
  return clnn__tensor_read_async(r.state ? r.value : r.grad, w->host + it->off, &w->ev[j]);
}

/* After backward has finished a parameter's gradient: read it back. */
static clnn_status gradient_ready(void *user, size_t param) {
  x_worker *w = user;
  if (w->fault == X_FAULT_BACKWARD) {
    w->fault = X_FAULT_NONE;
    return clnn__cl_error(w->fault_err, "clEnqueueNDRangeKernel (backward, injected fault)");
  }
  int j = w->x->item_of_param[param];
  if (j < 0) return CLNN_SUCCESS;
  w->reads++;
  return read_item(w, j);
}

/* Waits for a read-back; its error, or the command's failure status. */
static cl_int wait_event(cl_event ev) {
  cl_int err = clWaitForEvents(1, &ev);
  if (err == CL_SUCCESS) {
    cl_int exec = CL_COMPLETE;
    clGetEventInfo(ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof exec, &exec, NULL);
    if (exec < 0) err = exec;
  }
  return err;
}

void *clnn__x_worker_run(void *arg) {
  x_worker *w = arg;
  clnn__x *x = w->x;
  double t0 = now_s();
  clnn_status st = CLNN_SUCCESS;
  int enqueued = 0;
  for (int j = 0; j < x->nitems; j++) w->ev[j] = NULL;
  w->reads = 0;
  if (w->n > 0) {
    float obj = 0.0f;
    st = clnn__m_pass(w->m, w->feeds, w->num_feeds, w->n, w->offset, gradient_ready, w,
                      w->pass_scratch, NULL, w->fn);
    if (st == CLNN_SUCCESS && w->reads != x->ntrain_items)
      st = clnn__error(CLNN_ERROR_INTERNAL, "%d of %d gradients were reported", w->reads,
                       x->ntrain_items);
    for (int j = x->ntrain_items; j < x->nitems - 1 && st == CLNN_SUCCESS; j++)
      st = read_item(w, j);
    /* the objective last: read without a wait, complete right after the gradients and state */
    if (st == CLNN_SUCCESS) st = clnn__m_objective_enqueue(w->m, w->obj_parts, w->obj_ev);
    if (st == CLNN_SUCCESS) st = clnn__context_flush(clnn__m_context(w->m));
    enqueued = 1; /* (also after a failed pass: some reads may be in flight) */
    for (int j = 0; j < x->nitems - 1 && st == CLNN_SUCCESS; j++) {
      cl_int err = wait_event(w->ev[j]);
      if (err == CL_SUCCESS && w->fault == X_FAULT_READBACK && j == x->ntrain_items / 2) {
        w->fault = X_FAULT_NONE;
        st = clnn__cl_error(w->fault_err, "clWaitForEvents (gradient read-back, injected fault)");
        break;
      }
      if (err != CL_SUCCESS) {
        st = clnn__cl_error(err, "clWaitForEvents (gradient read-back)");
        break;
      }
      publish(w, j + 1, 0);
    }
    for (int i = 0; i < clnn__m_objective_parts(w->m) && st == CLNN_SUCCESS; i++) {
      cl_int err = w->obj_ev[i] ? wait_event(w->obj_ev[i]) : CL_SUCCESS;
      if (err != CL_SUCCESS) st = clnn__cl_error(err, "clWaitForEvents (objective read-back)");
    }
    if (st == CLNN_SUCCESS) obj = clnn__m_objective_combine(w->m, w->obj_parts);
    w->host[x->loss_off] = obj;
  }
  if (st != CLNN_SUCCESS && enqueued) clnn__context_finish(clnn__m_context(w->m));
  for (int j = 0; j < x->nitems; j++)
    if (w->ev[j]) {
      clReleaseEvent(w->ev[j]);
      w->ev[j] = NULL;
    }
  for (int i = 0; w->n > 0 && i < clnn__m_objective_parts(w->m); i++)
    if (w->obj_ev[i]) {
      clReleaseEvent(w->obj_ev[i]);
      w->obj_ev[i] = NULL;
    }
  if (w->delay > 0) {
    struct timespec ts = {(time_t)w->delay, (long)((w->delay - floor(w->delay)) * 1e9)};
    nanosleep(&ts, NULL);
  }
  w->seconds = now_s() - t0;
  w->st = st;
  if (st != CLNN_SUCCESS) snprintf(w->msg, sizeof w->msg, "%s", clnn_last_error());
  else w->msg[0] = 0;
  publish(w, st == CLNN_SUCCESS ? x->nitems : -1, 1);
  return NULL;
}

/* A worker's thread: one step per generation handed out by run_devices, until quit. */
void *clnn__x_worker_loop(void *arg) {
  x_worker *w = arg;
  clnn__x *x = w->x;
  pthread_mutex_lock(&x->mu);
  for (;;) {
    while (!x->quit && w->seen == x->gen) pthread_cond_wait(&x->go, &x->mu);
    if (x->quit) break;
    w->seen = x->gen;
    pthread_mutex_unlock(&x->mu);
    clnn__x_worker_run(w); /* (publishes its end under x->mu) */
    pthread_mutex_lock(&x->mu);
  }
  pthread_mutex_unlock(&x->mu);
  return NULL;
}

/* Ends the workers' threads (each waits for its next step). */
void clnn__x_stop_threads(clnn__x *x) {
  if (!x->sync_ready) return;
  pthread_mutex_lock(&x->mu);
  x->quit = 1;
  pthread_cond_broadcast(&x->go);
  pthread_mutex_unlock(&x->mu);
  for (int k = 0; k < x->nlocal; k++)
    if (x->w[k].threaded) {
      pthread_join(x->w[k].thread, NULL);
      x->w[k].threaded = 0;
    }
}
