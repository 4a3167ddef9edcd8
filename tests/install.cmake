# tests/install.cmake — registers the install test (tests/install_test.sh) with ctest.
add_test(NAME install_consumer
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/install_test.sh ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR})
set_tests_properties(install_consumer PROPERTIES ENVIRONMENT "${CLNN_TEST_ENV}" TIMEOUT 300)
