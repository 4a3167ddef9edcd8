# tests/predict.cmake — registers tests/predict_test.sh (clnn-predict on a saved digits network).
if(TARGET clnn-predict AND TARGET digits_cnn)
  add_test(NAME predict_without_source
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/predict_test.sh ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR})
  set_tests_properties(predict_without_source PROPERTIES ENVIRONMENT "${CLNN_TEST_ENV}" TIMEOUT 300)
endif()
