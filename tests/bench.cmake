# tests/bench.cmake — registers tests/bench/reference_file.cmake (clnn-bench's --reference-file
# plumbing and its refusals of malformed files; no speed is asserted) when clnn-bench is built.
if(TARGET clnn-bench)
  add_test(NAME bench_reference_file
    COMMAND ${CMAKE_COMMAND} -DBENCH=$<TARGET_FILE:clnn-bench>
            -DREF=${CMAKE_CURRENT_SOURCE_DIR}/bench/reference.ref
            -DWORK=${CMAKE_CURRENT_BINARY_DIR}/bench_reference_file
            -P ${CMAKE_CURRENT_SOURCE_DIR}/bench/reference_file.cmake)
  set_tests_properties(bench_reference_file PROPERTIES ENVIRONMENT "${CLNN_TEST_ENV}" TIMEOUT 300)
endif()

# bench/train_vs_torch.py --check-network: the PyTorch networks that script times against clnn's
# examples must be the examples' networks. It runs digits_cnn and mnist_cnn for one epoch on
# data/digits and compares their printed layer tables (kind, output shape, parameter count), batch
# sizes and optimizer with the script's PyTorch models. Defined when Debian's /usr/bin/python3 (or
# CLNN_TEST_PYTHON) has torch.
if(TARGET digits_cnn AND TARGET mnist_cnn)
  set(clnn_bench_python "")
  foreach(py ${CLNN_TEST_PYTHON} /usr/bin/python3)
    execute_process(COMMAND ${py} -c "import torch, numpy" RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
    if(rc EQUAL 0)
      set(clnn_bench_python ${py})
      break()
    endif()
  endforeach()
  if(clnn_bench_python)
    add_test(NAME bench_train_vs_torch_network
      COMMAND ${clnn_bench_python} ${PROJECT_SOURCE_DIR}/bench/train_vs_torch.py --check-network
              --build $<TARGET_FILE_DIR:digits_cnn> --digits ${PROJECT_SOURCE_DIR}/data/digits)
    set_tests_properties(bench_train_vs_torch_network PROPERTIES ENVIRONMENT "${CLNN_TEST_ENV}"
                         TIMEOUT 300)
  else()
    message(STATUS "clnn: no Python with torch: bench_train_vs_torch_network is not defined")
  endif()
endif()
