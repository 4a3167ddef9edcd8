# tests/mpi.cmake — MPI tests, registered only when clnn is built with -DCLNN_WITH_MPI=ON and an
# MPI was found: tests/mpi/test_mpi.c under `mpiexec -n 2` (data-parallel training across two
# ranks against one process), and the digits example under `mpiexec -n 2 digits_cnn --mpi`.
# The Open MPI variables let CI containers run it as root and place 2 ranks on fewer cores (with
# a single-copy mechanism that needs no ptrace permission); other MPIs ignore them.
if(CLNN_WITH_MPI AND MPI_C_FOUND)
  add_executable(test_mpi ${CMAKE_CURRENT_SOURCE_DIR}/mpi/test_mpi.c)
  target_include_directories(test_mpi PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/cl)
  target_link_libraries(test_mpi PRIVATE clnn_testutil MPI::MPI_C)
  target_compile_options(test_mpi PRIVATE -Wall -Wextra)
  set(CLNN_MPI_TEST_ENV ${CLNN_TEST_ENV} OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
      OMPI_MCA_rmaps_base_oversubscribe=1 PRTE_MCA_rmaps_default_mapping_policy=:oversubscribe
      OMPI_MCA_btl_vader_single_copy_mechanism=none)
  add_test(NAME test_mpi
    COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} 2 ${MPIEXEC_PREFLAGS}
            $<TARGET_FILE:test_mpi> ${MPIEXEC_POSTFLAGS})
  set_tests_properties(test_mpi PROPERTIES ENVIRONMENT "${CLNN_MPI_TEST_ENV}" TIMEOUT 300
    PROCESSORS 2)
  if(TARGET digits_cnn)
    add_test(NAME digits_cnn_mpi
      COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} 2 ${MPIEXEC_PREFLAGS}
              $<TARGET_FILE:digits_cnn> --mpi --epochs 2 --data ${PROJECT_SOURCE_DIR}/data/digits
              --checkpoint ${CMAKE_CURRENT_BINARY_DIR}/digits_cnn_mpi.safetensors
              ${MPIEXEC_POSTFLAGS})
    set_tests_properties(digits_cnn_mpi PROPERTIES ENVIRONMENT "${CLNN_MPI_TEST_ENV}" TIMEOUT 300
      PROCESSORS 2)
  endif()
endif()
