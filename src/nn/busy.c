/* src/nn/busy.c — the in-use flag of networks and models: a network or model is used
 * from one thread at a time; a second thread that calls into one while another thread is inside
 * a call gets CLNN_ERROR_INVALID_ARGUMENT at once instead of racing on its buffers (which was a
 * use after free). One atomic compare-and-swap on entry and one store on exit; the same thread may
 * re-enter (a call made from inside another, e.g. a training step inside an epoch). */
#include "nn/nn_internal.h"

static _Thread_local char thread_token;

clnn_status clnn__busy_enter(clnn__busy *b, const char *what, const char *fn) {
  void *me = &thread_token, *expected = NULL;
  if (atomic_compare_exchange_strong(&b->owner, &expected, me)) {
    b->depth = 1;
    return CLNN_SUCCESS;
  }
  if (expected == me) {
    b->depth++;
    return CLNN_SUCCESS;
  }
  return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: the %s is in use by another thread (a %s is "
                     "used from one thread at a time); nothing was done", fn, what, what);
}

void clnn__busy_leave(clnn__busy *b) {
  if (--b->depth == 0) atomic_store(&b->owner, NULL);
}
