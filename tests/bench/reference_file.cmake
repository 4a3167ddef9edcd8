# tests/bench/reference_file.cmake — clnn-bench's --reference-file plumbing (no speed is asserted):
# a hand-written reference file's times must land in the reference columns of the JSON, a case the
# file lacks keeps its own reference, and malformed files are refused before any measuring.
# Run by ctest as: cmake -DBENCH=<clnn-bench> -DREF=<file> -DWORK=<dir> -P reference_file.cmake
file(MAKE_DIRECTORY "${WORK}")
set(out "${WORK}/bench_reference.json")
file(REMOVE "${out}")
execute_process(COMMAND "${BENCH}" --case softmax_xent,relu_bwd_64M --runs 2 --warmup 0 --no-clblast
                        --reference-file "${REF}" --json "${out}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE stdout ERROR_VARIABLE stderr)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "clnn-bench exited with ${rc}:\n${stdout}\n${stderr}")
endif()
file(READ "${out}" json)
foreach(want
    "\"reference_file\": {\"path\": \"${REF}\", \"name\": \"torch-test\", \"about\": \"hand-written for the test\"}"
    "\"case\": \"softmax_xent\", \"pass\": \"forward\\+backward\"[^}]*\"reference\": \"torch-test\", \"ref_median_ms\": 0.5, \"ref_min_ms\": 0.25,"
    "\"case\": \"relu_bwd_64M\", \"pass\": \"backward\"[^}]*\"reference\": \"copy-same-bytes\"")
  if(NOT json MATCHES "${want}")
    message(FATAL_ERROR "the JSON lacks ${want}:\n${json}")
  endif()
endforeach()
if(NOT stderr MATCHES "has no row for relu_bwd_64M backward; that row keeps copy-same-bytes")
  message(FATAL_ERROR "no notice about the row the file lacks:\n${stderr}")
endif()
if(NOT stdout MATCHES "reference file: [^\n]*torch-test, hand-written for the test")
  message(FATAL_ERROR "the table does not name the reference file:\n${stdout}")
endif()

# malformed files: each refused with a message naming the problem, exit status not 0
set(bad_header "not a reference\n")
set(bad_row "clnn-bench-reference 1\nsoftmax_xent\tforward+backward\t0.5\n")
set(bad_time "clnn-bench-reference 1\nsoftmax_xent\tforward+backward\t-1\t0.25\n")
set(bad_order "clnn-bench-reference 1\nsoftmax_xent\tforward+backward\t0.5\t0.75\n")
set(msg_header "not a clnn-bench reference file")
set(msg_row ":2: a row is <case> <pass> <median_ms> <min_ms>")
set(msg_time ":2: times must be positive numbers with min <= median")
set(msg_order ":2: times must be positive numbers with min <= median")
foreach(kind header row time order)
  set(f "${WORK}/bad_${kind}.ref")
  file(WRITE "${f}" "${bad_${kind}}")
  execute_process(COMMAND "${BENCH}" --case softmax_xent --reference-file "${f}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE stdout ERROR_VARIABLE stderr)
  string(FIND "${stderr}" "${msg_${kind}}" at)
  if(rc EQUAL 0 OR at EQUAL -1)
    message(FATAL_ERROR "bad_${kind}: exit ${rc}, expected a refusal with \"${msg_${kind}}\":\n${stderr}")
  endif()
endforeach()
execute_process(COMMAND "${BENCH}" --case softmax_xent --reference-file "${WORK}/does-not-exist.ref"
                RESULT_VARIABLE rc ERROR_VARIABLE stderr)
if(rc EQUAL 0 OR NOT stderr MATCHES "cannot open")
  message(FATAL_ERROR "a missing file: exit ${rc}:\n${stderr}")
endif()
