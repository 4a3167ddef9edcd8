# tests/onnx.cmake — ONNX tests that run outside a test_*.c program: ONNX Runtime for the checks of
# clnn's exports (a venv under the build tree with onnxruntime from PyPI, made once by
# tests/onnx/ort_venv.sh; a fixture, so the tests that use it run after it; without network the
# checks fall back to the ONNX checker and a NumPy reference), and the finetune_onnx example end
# to end (PyTorch trains and exports, clnn imports, fine-tunes and exports, ONNX Runtime runs it;
# label "examples", skipped without python3-torch).
set(CLNN_ORT_VENV ${PROJECT_BINARY_DIR}/ort-venv)
add_test(NAME onnx_runtime_venv COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/onnx/ort_venv.sh ${CLNN_ORT_VENV})
set_tests_properties(onnx_runtime_venv PROPERTIES TIMEOUT 400 FIXTURES_SETUP clnn_ort)
if(TARGET test_onnx_export)
  set_property(TEST test_onnx_export APPEND PROPERTY ENVIRONMENT "CLNN_ORT_VENV=${CLNN_ORT_VENV}")
  set_property(TEST test_onnx_export APPEND PROPERTY FIXTURES_REQUIRED clnn_ort)
endif()
if(TARGET finetune_onnx)
  add_test(NAME example_finetune_onnx
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/onnx/finetune_onnx_test.sh ${PROJECT_SOURCE_DIR}
            $<TARGET_FILE:finetune_onnx> ${PROJECT_SOURCE_DIR}/data/digits
            ${CMAKE_CURRENT_BINARY_DIR}/examples ${CLNN_ORT_VENV})
  set_tests_properties(example_finetune_onnx PROPERTIES ENVIRONMENT "${CLNN_TEST_ENV}"
    TIMEOUT 600 LABELS examples PROCESSORS 2 SKIP_RETURN_CODE 77 FIXTURES_REQUIRED clnn_ort)
endif()
