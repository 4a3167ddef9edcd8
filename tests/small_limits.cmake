# tests/small_limits.cmake — the operator tests once more on a context that reports small device
# limits (CLNN_DEVICE_LIMITS: work-groups of at most 64, 16 KiB of local memory, as on small GPUs),
# in the GPU and the CPU device class: every launch size and local-memory size then comes from the
# capped limits, and a launch above them fails with an error naming the kernel. Same references
# as the plain tests; about a minute on 2 cores.
set(CLNN_SMALL_LIMITS_TESTS test_attention test_batchnorm test_conv2d test_conv2d_igemm test_conv2d_winograd test_dense
    test_embedding test_gemm test_gru test_layernorm test_lstm test_optim test_pool2d test_shape
    test_softmax_loss)
foreach(cls gpu cpu)
  foreach(name ${CLNN_SMALL_LIMITS_TESTS})
    if(NOT TARGET ${name})
      continue()
    endif()
    add_test(NAME ${name}_small_limits_${cls} COMMAND ${name})
    set_tests_properties(${name}_small_limits_${cls} PROPERTIES
      ENVIRONMENT "${CLNN_TEST_ENV};CLNN_DEVICE_CLASS=${cls};CLNN_DEVICE_LIMITS=wg=64,local=16384" TIMEOUT 900)
  endforeach()
endforeach()
