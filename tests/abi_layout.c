/* tests/abi_layout.c — prints the C layout of every public struct as JSON: for each struct its
 * sizeof and, in declaration order, each field's name, offsetof and size. The Python layout test
 * (python/tests/test_abi_layout.py, run by ctest as test_python_abi_layout) compares it with the
 * ctypes mirrors in python/clnn/ and with the field names it reads from the headers, so a field
 * added to one side only (this list included) fails there. */
#include <clnn.h>
#include <stddef.h>
#include <stdio.h>

#define FIELD(type, field)                                                                      \
  printf("%s[\"%s\", %zu, %zu]", first_ ? "" : ", ", #field, offsetof(type, field),              \
         sizeof(((type *)0)->field));                                                           \
  first_ = 0;

#define STRUCT(type, FIELDS)                                                                    \
  do {                                                                                          \
    int first_ = 1;                                                                             \
    printf("%s  \"%s\": {\"size\": %zu, \"fields\": [", first_struct ? "" : ",\n", #type,       \
           sizeof(type));                                                                       \
    FIELDS                                                                                      \
    printf("]}");                                                                               \
    first_struct = 0;                                                                           \
  } while (0)

int main(void) {
  int first_struct = 1;
  printf("{\n");
  STRUCT(clnn_device_info,
         FIELD(clnn_device_info, struct_size) FIELD(clnn_device_info, platform_index)
         FIELD(clnn_device_info, device_index) FIELD(clnn_device_info, platform_name)
         FIELD(clnn_device_info, name) FIELD(clnn_device_info, vendor)
         FIELD(clnn_device_info, driver_version) FIELD(clnn_device_info, opencl_c_version)
         FIELD(clnn_device_info, device_version) FIELD(clnn_device_info, type)
         FIELD(clnn_device_info, compute_units) FIELD(clnn_device_info, clock_mhz)
         FIELD(clnn_device_info, preferred_vector_width_float)
         FIELD(clnn_device_info, global_mem_bytes) FIELD(clnn_device_info, local_mem_bytes)
         FIELD(clnn_device_info, max_alloc_bytes) FIELD(clnn_device_info, max_work_group_size)
         FIELD(clnn_device_info, fp16) FIELD(clnn_device_info, fp64)
         FIELD(clnn_device_info, compiler_available) FIELD(clnn_device_info, est_peak_gflops));
  STRUCT(clnn_context_options,
         FIELD(clnn_context_options, struct_size) FIELD(clnn_context_options, device)
         FIELD(clnn_context_options, cache_dir) FIELD(clnn_context_options, binary_dir)
         FIELD(clnn_context_options, binaries_only) FIELD(clnn_context_options, force_clblast)
         FIELD(clnn_context_options, device_class) FIELD(clnn_context_options, max_work_group_size)
         FIELD(clnn_context_options, max_local_mem_bytes));
  STRUCT(clnn_conv2d_params,
         FIELD(clnn_conv2d_params, struct_size) FIELD(clnn_conv2d_params, stride_h)
         FIELD(clnn_conv2d_params, stride_w) FIELD(clnn_conv2d_params, pad_top)
         FIELD(clnn_conv2d_params, pad_bottom) FIELD(clnn_conv2d_params, pad_left)
         FIELD(clnn_conv2d_params, pad_right) FIELD(clnn_conv2d_params, dilation_h)
         FIELD(clnn_conv2d_params, dilation_w) FIELD(clnn_conv2d_params, groups));
  STRUCT(clnn_pool2d_params,
         FIELD(clnn_pool2d_params, struct_size) FIELD(clnn_pool2d_params, kernel_h)
         FIELD(clnn_pool2d_params, kernel_w) FIELD(clnn_pool2d_params, stride_h)
         FIELD(clnn_pool2d_params, stride_w) FIELD(clnn_pool2d_params, pad_top)
         FIELD(clnn_pool2d_params, pad_bottom) FIELD(clnn_pool2d_params, pad_left)
         FIELD(clnn_pool2d_params, pad_right) FIELD(clnn_pool2d_params, count_include_pad));
  STRUCT(clnn_sgd_params,
         FIELD(clnn_sgd_params, struct_size) FIELD(clnn_sgd_params, lr)
         FIELD(clnn_sgd_params, momentum) FIELD(clnn_sgd_params, dampening)
         FIELD(clnn_sgd_params, weight_decay) FIELD(clnn_sgd_params, nesterov)
         FIELD(clnn_sgd_params, first_step));
  STRUCT(clnn_adam_params,
         FIELD(clnn_adam_params, struct_size) FIELD(clnn_adam_params, lr)
         FIELD(clnn_adam_params, beta1) FIELD(clnn_adam_params, beta2) FIELD(clnn_adam_params, eps)
         FIELD(clnn_adam_params, weight_decay) FIELD(clnn_adam_params, decoupled_weight_decay));
  STRUCT(clnn_rmsprop_params,
         FIELD(clnn_rmsprop_params, struct_size) FIELD(clnn_rmsprop_params, lr)
         FIELD(clnn_rmsprop_params, alpha) FIELD(clnn_rmsprop_params, eps)
         FIELD(clnn_rmsprop_params, weight_decay) FIELD(clnn_rmsprop_params, momentum));
  STRUCT(clnn_adagrad_params,
         FIELD(clnn_adagrad_params, struct_size) FIELD(clnn_adagrad_params, lr)
         FIELD(clnn_adagrad_params, eps) FIELD(clnn_adagrad_params, weight_decay));
  STRUCT(clnn_attention_params,
         FIELD(clnn_attention_params, struct_size) FIELD(clnn_attention_params, layout)
         FIELD(clnn_attention_params, heads) FIELD(clnn_attention_params, scale)
         FIELD(clnn_attention_params, causal) FIELD(clnn_attention_params, lengths)
         FIELD(clnn_attention_params, dropout) FIELD(clnn_attention_params, seed)
         FIELD(clnn_attention_params, offset) FIELD(clnn_attention_params, num_lengths));
  STRUCT(clnn_optimizer_config,
         FIELD(clnn_optimizer_config, struct_size) FIELD(clnn_optimizer_config, type)
         FIELD(clnn_optimizer_config, lr) FIELD(clnn_optimizer_config, weight_decay)
         FIELD(clnn_optimizer_config, momentum) FIELD(clnn_optimizer_config, dampening)
         FIELD(clnn_optimizer_config, nesterov) FIELD(clnn_optimizer_config, beta1)
         FIELD(clnn_optimizer_config, beta2) FIELD(clnn_optimizer_config, alpha)
         FIELD(clnn_optimizer_config, eps) FIELD(clnn_optimizer_config, clip_grad_norm));
  STRUCT(clnn_feed,
         FIELD(clnn_feed, value) FIELD(clnn_feed, host) FIELD(clnn_feed, count)
         FIELD(clnn_feed, tensor));
  STRUCT(clnn_augment_options,
         FIELD(clnn_augment_options, struct_size) FIELD(clnn_augment_options, max_shift)
         FIELD(clnn_augment_options, hflip) FIELD(clnn_augment_options, max_rotate_deg)
         FIELD(clnn_augment_options, noise_std) FIELD(clnn_augment_options, seed));
  STRUCT(clnn_augment_draw,
         FIELD(clnn_augment_draw, dx) FIELD(clnn_augment_draw, dy) FIELD(clnn_augment_draw, flip)
         FIELD(clnn_augment_draw, angle_deg) FIELD(clnn_augment_draw, noise_std)
         FIELD(clnn_augment_draw, noise_seed));
  STRUCT(clnn_schedule,
         FIELD(clnn_schedule, struct_size) FIELD(clnn_schedule, type)
         FIELD(clnn_schedule, step_size) FIELD(clnn_schedule, gamma)
         FIELD(clnn_schedule, warmup_steps) FIELD(clnn_schedule, total_steps)
         FIELD(clnn_schedule, min_ratio));
  STRUCT(clnn_rnn_params,
         FIELD(clnn_rnn_params, struct_size) FIELD(clnn_rnn_params, lengths)
         FIELD(clnn_rnn_params, num_lengths) FIELD(clnn_rnn_params, reverse));
  STRUCT(clnn_graph_rnn_options,
         FIELD(clnn_graph_rnn_options, struct_size) FIELD(clnn_graph_rnn_options, hidden)
         FIELD(clnn_graph_rnn_options, return_sequences)
         FIELD(clnn_graph_rnn_options, bidirectional) FIELD(clnn_graph_rnn_options, lengths)
         FIELD(clnn_graph_rnn_options, h0) FIELD(clnn_graph_rnn_options, c0)
         FIELD(clnn_graph_rnn_options, state_outputs));
  printf("\n}\n");
  return 0;
}
