/* tests/abi_layout.c — prints the C layout of every public struct as JSON: for each struct its
 * sizeof and, in declaration order, each field's name, offsetof and size. The Python layout test
 * (python/tests/test_abi_layout.py, run by ctest as test_python_abi_layout) compares it with the
 * ctypes mirrors in python/clnn/ and with the field names it reads from the headers, so a field
 * added to one side only (this list included) fails there. */
#include <clnn.h>
#include <stddef.h>
#include <stdio.h>

/* STRUCT(type, F(a) F(b) ...): one struct's entry; F(field) is one field of that type. */
#define F(field)                                                                                \
  printf("%s[\"%s\", %zu, %zu]", first_ ? "" : ", ", #field, offsetof(cur_, field),            \
         sizeof(((cur_ *)0)->field));                                                           \
  first_ = 0;

#define STRUCT(type, FIELDS)                                                                    \
  do {                                                                                          \
    typedef type cur_;                                                                          \
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
  STRUCT(clnn_device_info, F(struct_size) F(platform_index) F(device_index) F(platform_name) F(name)
         F(vendor) F(driver_version) F(opencl_c_version) F(device_version) F(type) F(compute_units)
         F(clock_mhz) F(preferred_vector_width_float) F(global_mem_bytes) F(local_mem_bytes)
         F(max_alloc_bytes) F(max_work_group_size) F(fp16) F(fp64) F(compiler_available)
         F(est_peak_gflops));
  STRUCT(clnn_context_options, F(struct_size) F(device) F(cache_dir) F(binary_dir) F(binaries_only)
         F(force_clblast) F(device_class) F(max_work_group_size) F(max_local_mem_bytes));
  STRUCT(clnn_conv2d_params, F(struct_size) F(stride_h) F(stride_w) F(pad_top) F(pad_bottom)
         F(pad_left) F(pad_right) F(dilation_h) F(dilation_w) F(groups));
  STRUCT(clnn_pool2d_params, F(struct_size) F(kernel_h) F(kernel_w) F(stride_h) F(stride_w)
         F(pad_top) F(pad_bottom) F(pad_left) F(pad_right) F(count_include_pad));
  STRUCT(clnn_sgd_params, F(struct_size) F(lr) F(momentum) F(dampening) F(weight_decay) F(nesterov)
         F(first_step));
  STRUCT(clnn_adam_params, F(struct_size) F(lr) F(beta1) F(beta2) F(eps) F(weight_decay)
         F(decoupled_weight_decay));
  STRUCT(clnn_rmsprop_params, F(struct_size) F(lr) F(alpha) F(eps) F(weight_decay) F(momentum));
  STRUCT(clnn_adagrad_params, F(struct_size) F(lr) F(eps) F(weight_decay));
  STRUCT(clnn_attention_params, F(struct_size) F(layout) F(heads) F(scale) F(causal) F(lengths)
         F(dropout) F(seed) F(offset) F(num_lengths));
  STRUCT(clnn_optimizer_config, F(struct_size) F(type) F(lr) F(weight_decay) F(momentum)
         F(dampening) F(nesterov) F(beta1) F(beta2) F(alpha) F(eps) F(clip_grad_norm));
  STRUCT(clnn_feed, F(value) F(host) F(count) F(tensor));
  STRUCT(clnn_augment_options, F(struct_size) F(max_shift) F(hflip) F(max_rotate_deg) F(noise_std)
         F(seed));
  STRUCT(clnn_augment_draw, F(dx) F(dy) F(flip) F(angle_deg) F(noise_std) F(noise_seed));
  STRUCT(clnn_schedule, F(struct_size) F(type) F(step_size) F(gamma) F(warmup_steps) F(total_steps)
         F(min_ratio));
  STRUCT(clnn_rnn_params, F(struct_size) F(lengths) F(num_lengths) F(reverse));
  STRUCT(clnn_graph_rnn_options, F(struct_size) F(hidden) F(return_sequences) F(bidirectional)
         F(lengths) F(h0) F(c0) F(state_outputs));
  printf("\n}\n");
  return 0;
}
