/* src/runtime/struct_size.c — the struct_size rule of the versioned public structs (docs/ABI.md):
 * the layouts of each struct this library knows, and copying a caller's struct in (reading
 * only the bytes within its struct_size, the rest 0) or an output struct out (writing only
 * within it). */
#include "internal.h"

#include <string.h>


/* The sizes of every layout of a struct this library accepts, oldest first; the last is the
 * current sizeof. A field added at the end of a struct appends the new sizeof here, so callers
 * built against the older layout keep working (their missing fields read as 0). */
typedef struct struct_layouts {
  const char *type;
  const char *init_fn;
  uint32_t sizes[4];
  int count;
} struct_layouts;

static const struct_layouts LAYOUTS[CLNN__STRUCT_COUNT] = {
  [CLNN__DEVICE_INFO] = {"clnn_device_info", "clnn_device_info_init",
                         {sizeof(clnn_device_info)}, 1},
  [CLNN__CONTEXT_OPTIONS] = {"clnn_context_options", "clnn_context_options_init",
                             {sizeof(clnn_context_options)}, 1},
  [CLNN__CONV2D_PARAMS] = {"clnn_conv2d_params", "clnn_conv2d_params_init",
                           {sizeof(clnn_conv2d_params)}, 1},
  [CLNN__POOL2D_PARAMS] = {"clnn_pool2d_params", "clnn_pool2d_params_init",
                           {sizeof(clnn_pool2d_params)}, 1},
  [CLNN__SGD_PARAMS] = {"clnn_sgd_params", "clnn_sgd_params_init", {sizeof(clnn_sgd_params)}, 1},
  [CLNN__ADAM_PARAMS] = {"clnn_adam_params", "clnn_adam_params_init",
                         {sizeof(clnn_adam_params)}, 1},
  [CLNN__RMSPROP_PARAMS] = {"clnn_rmsprop_params", "clnn_rmsprop_params_init",
                            {sizeof(clnn_rmsprop_params)}, 1},
  [CLNN__ADAGRAD_PARAMS] = {"clnn_adagrad_params", "clnn_adagrad_params_init",
                            {sizeof(clnn_adagrad_params)}, 1},
  [CLNN__ATTENTION_PARAMS] = {"clnn_attention_params", "clnn_attention_params_init",
                              {sizeof(clnn_attention_params)}, 1},
  [CLNN__OPTIMIZER_CONFIG] = {"clnn_optimizer_config", "clnn_optimizer_config_init",
                              {sizeof(clnn_optimizer_config)}, 1},
  [CLNN__SCHEDULE] = {"clnn_schedule", "clnn_schedule_init", {sizeof(clnn_schedule)}, 1},
  [CLNN__RNN_PARAMS] = {"clnn_rnn_params", "clnn_rnn_params_init",
                         {sizeof(clnn_rnn_params)}, 1},
  [CLNN__GRAPH_RNN_OPTIONS] = {"clnn_graph_rnn_options", "clnn_graph_rnn_options_init",
                                {sizeof(clnn_graph_rnn_options)}, 1},
  [CLNN__AUGMENT_OPTIONS] = {"clnn_augment_options", "clnn_augment_options_init",
                             {sizeof(clnn_augment_options)}, 1},
};

clnn_status clnn__struct_check(clnn__struct_id id, const char *fn, const char *arg, const void *p,
                               uint32_t *size) {
  const struct_layouts *l = &LAYOUTS[id];
  uint32_t n;
  memcpy(&n, p, sizeof n); /* struct_size is the first member of every versioned struct */
  if (n == 0)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                       "%s: %s->struct_size is 0: call %s on the %s first (it sets struct_size "
                       "to sizeof(%s) and the defaults)",
                       fn, arg, l->init_fn, l->type, l->type);
  for (int i = 0; i < l->count; i++) {
    if (l->sizes[i] == n) {
      if (size) *size = n;
      return CLNN_SUCCESS;
    }
  }
  return clnn__error(CLNN_ERROR_INVALID_ARGUMENT,
                     "%s: %s->struct_size is %u, which is no layout of %s this library (%s) knows "
                     "(its sizeof is %u): set it with %s, building against this library's headers",
                     fn, arg, (unsigned)n, l->type, CLNN_VERSION_STRING,
                     (unsigned)l->sizes[l->count - 1], l->init_fn);
}

clnn_status clnn__struct_in(clnn__struct_id id, const char *fn, const char *arg, const void *src,
                            void *dst, size_t dst_size) {
  uint32_t n = 0;
  clnn_status s = clnn__struct_check(id, fn, arg, src, &n);
  if (s != CLNN_SUCCESS) return s;
  uint32_t current = (uint32_t)dst_size;
  memset(dst, 0, dst_size);
  memcpy(dst, src, n < dst_size ? n : dst_size);
  memcpy(dst, &current, sizeof current);
  return CLNN_SUCCESS;
}

void clnn__struct_out(void *dst, const void *src, uint32_t size) {
  /* struct_size stays as the caller set it; only the bytes within it are written */
  if (size > sizeof(uint32_t))
    memcpy((char *)dst + sizeof(uint32_t), (const char *)src + sizeof(uint32_t),
           size - sizeof(uint32_t));
}
