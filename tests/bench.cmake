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
