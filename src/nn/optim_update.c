/* src/nn/optim_update.c — what the sequential network and the graph model share about
 * optimizers: checking a clnn_optimizer_config and one parameter's update with a given learning
 * rate and weight decay (parameter groups and schedules change those per parameter). */
#include "nn/nn_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

clnn_status clnn__nn_check_opt(const clnn_optimizer_config *c) {
  if ((int)c->type < 0 || (int)c->type > CLNN_OPTIM_ADAGRAD)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "optimizer: unknown type %d", (int)c->type);
  const char *n = clnn__nn_opt_name(c->type);
  if (!(c->lr >= 0.0f) || !isfinite(c->lr))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "optimizer %s: lr %g must be >= 0", n,
                       (double)c->lr);
  if (!(c->weight_decay >= 0.0f) || !isfinite(c->weight_decay))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "optimizer %s: weight_decay %g must be >= 0",
                       n, (double)c->weight_decay);
  if (!(c->momentum >= 0.0f) || !isfinite(c->momentum))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "optimizer %s: momentum %g must be >= 0", n,
                       (double)c->momentum);
  if (!(c->clip_grad_norm >= 0.0f) || !isfinite(c->clip_grad_norm))
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "optimizer %s: clip_grad_norm %g must be "
                       ">= 0", n, (double)c->clip_grad_norm);
  switch (c->type) {
    case CLNN_OPTIM_SGD:
      if (c->nesterov && (c->momentum <= 0.0f || c->dampening != 0.0f))
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "optimizer sgd: nesterov needs momentum "
                           "> 0 and dampening 0");
      if (!(c->dampening >= 0.0f && c->dampening <= 1.0f))
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "optimizer sgd: dampening %g is not in "
                           "[0, 1]", (double)c->dampening);
      break;
    case CLNN_OPTIM_ADAM:
    case CLNN_OPTIM_ADAMW:
      if (!(c->beta1 >= 0.0f && c->beta1 < 1.0f) || !(c->beta2 >= 0.0f && c->beta2 < 1.0f))
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "optimizer %s: beta1 %g and beta2 %g "
                           "must be in [0, 1)", n, (double)c->beta1, (double)c->beta2);
      /* fallthrough */
    case CLNN_OPTIM_RMSPROP:
    case CLNN_OPTIM_ADAGRAD:
      if (!(c->eps > 0.0f) || !isfinite(c->eps))
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "optimizer %s: eps %g must be > 0", n,
                           (double)c->eps);
      if (c->type == CLNN_OPTIM_RMSPROP && !(c->alpha >= 0.0f && c->alpha <= 1.0f))
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "optimizer rmsprop: alpha %g is not in "
                           "[0, 1]", (double)c->alpha);
      break;
  }
  return CLNN_SUCCESS;
}

clnn_status clnn__nn_update_param(clnn_context *ctx, const clnn_optimizer_config *c, float lr,
                                  float weight_decay, uint64_t step, clnn_tensor *value,
                                  const clnn_tensor *grad, clnn_tensor *const opt[2]) {
  switch (c->type) {
    case CLNN_OPTIM_SGD: {
      clnn_sgd_params sp;
      clnn_sgd_params_init(&sp, lr);
      sp.momentum = c->momentum;
      sp.dampening = c->dampening;
      sp.weight_decay = weight_decay;
      sp.nesterov = c->nesterov;
      sp.first_step = step == 1; /* velocity = gradient, as PyTorch starts it */
      return clnn_sgd_step(ctx, &sp, value, grad, opt[0]);
    }
    case CLNN_OPTIM_ADAM:
    case CLNN_OPTIM_ADAMW: {
      clnn_adam_params ap;
      clnn_adam_params_init(&ap, lr);
      ap.beta1 = c->beta1;
      ap.beta2 = c->beta2;
      ap.eps = c->eps;
      ap.weight_decay = weight_decay;
      ap.decoupled_weight_decay = c->type == CLNN_OPTIM_ADAMW;
      return clnn_adam_step(ctx, &ap, step > 0x7fffffff ? 0x7fffffff : (int)step, value, grad,
                            opt[0], opt[1]);
    }
    case CLNN_OPTIM_RMSPROP: {
      clnn_rmsprop_params rp;
      clnn_rmsprop_params_init(&rp, lr);
      rp.alpha = c->alpha;
      rp.eps = c->eps;
      rp.weight_decay = weight_decay;
      rp.momentum = c->momentum;
      return clnn_rmsprop_step(ctx, &rp, value, grad, opt[0], opt[1]);
    }
    case CLNN_OPTIM_ADAGRAD: {
      clnn_adagrad_params gp;
      clnn_adagrad_params_init(&gp, lr);
      gp.eps = c->eps;
      gp.weight_decay = weight_decay;
      return clnn_adagrad_step(ctx, &gp, value, grad, opt[0]);
    }
  }
  return clnn__error(CLNN_ERROR_INTERNAL, "optimizer type %d", (int)c->type);
}

clnn_status clnn__nn_check_finite(clnn_tensor *const *tensors, const char *const *names,
                                  size_t count, const char *fn) {
  size_t most = 1;
  for (size_t i = 0; i < count; i++)
    if (clnn_tensor_numel(tensors[i]) > most) most = clnn_tensor_numel(tensors[i]);
  float *host = malloc(most * sizeof(float));
  if (!host) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "%s: the finite check: out of memory", fn);
  clnn_status st = CLNN_SUCCESS;
  for (size_t i = 0; i < count && st == CLNN_SUCCESS; i++) {
    size_t n = clnn_tensor_numel(tensors[i]);
    st = clnn_tensor_read(tensors[i], host, n);
    for (size_t j = 0; j < n && st == CLNN_SUCCESS; j++)
      if (!isfinite(host[j]))
        st = clnn__error(CLNN_ERROR_NOT_FINITE,
                         "%s: %s holds %g at element %zu: training diverged (lower the learning "
                         "rate, clip gradients); nothing was updated", fn, names[i],
                         (double)host[j], j);
  }
  free(host);
  return st;
}
