# tests/examples_seq.cmake — the sequence example that trains for real, run as a test (label
# "examples"): char_transformer trains a 2-block character Transformer for a short run on
# data/text/fortunes.txt and exits nonzero unless its held-out bits per character beat the
# bigram model of the same text by at least --min-gain bits (the full default run: see
# examples/README.md). About a minute on 2 CPU cores; the timeout is generous for slower machines.
# Run it with `ctest -R char_transformer`. Registered only when the examples are built.
if(TARGET char_transformer)
  add_test(NAME example_char_transformer
    COMMAND $<TARGET_FILE:char_transformer> --data ${PROJECT_SOURCE_DIR}/data/text/fortunes.txt
            --steps 300 --eval-chars 16000 --sample 100 --min-gain 0.35)
  set_tests_properties(example_char_transformer PROPERTIES ENVIRONMENT "${CLNN_TEST_ENV}"
    TIMEOUT 600 LABELS examples PROCESSORS 2)
endif()
