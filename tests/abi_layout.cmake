# tests/abi_layout.cmake — clnn_abi_layout (tests/abi_layout.c) prints the C layout of every
# public struct; test_python_abi_layout runs python/tests/test_abi_layout.py, which compares it
# with the ctypes mirrors of the Python package, when a Python with NumPy and pytest is there
# (Debian's /usr/bin/python3 is tried first; CLNN_TEST_PYTHON names another).
add_executable(clnn_abi_layout ${CMAKE_CURRENT_SOURCE_DIR}/abi_layout.c)
target_link_libraries(clnn_abi_layout PRIVATE clnn_static)
target_compile_options(clnn_abi_layout PRIVATE -Wall -Wextra)
set_target_properties(clnn_abi_layout PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR})

set(CLNN_TEST_PYTHON "" CACHE FILEPATH "Python with NumPy and pytest for the Python layout test")
set(clnn_layout_python "${CLNN_TEST_PYTHON}")
if(NOT clnn_layout_python)
  foreach(py /usr/bin/python3 python3)
    execute_process(COMMAND ${py} -c "import numpy, pytest" RESULT_VARIABLE rc OUTPUT_QUIET
                    ERROR_QUIET)
    if(rc EQUAL 0)
      set(clnn_layout_python ${py})
      break()
    endif()
  endforeach()
endif()
if(clnn_layout_python)
  add_test(NAME test_python_abi_layout
           COMMAND ${clnn_layout_python} -m pytest -q -p no:cacheprovider
                   ${PROJECT_SOURCE_DIR}/python/tests/test_abi_layout.py)
  set_tests_properties(test_python_abi_layout PROPERTIES TIMEOUT 120
    ENVIRONMENT "CLNN_ABI_LAYOUT=$<TARGET_FILE:clnn_abi_layout>;CLNN_LIBRARY=$<TARGET_FILE:clnn>")
else()
  message(STATUS "clnn: no Python with NumPy and pytest: test_python_abi_layout is not defined")
endif()
