# tests/examples_seq.cmake — the sequence examples that train for real, run as tests (label
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

# sequence_classifier: a bidirectional LSTM over variable-length sequences (lengths as an int32
# input) learns a class that depends on both ends of each sequence; exits nonzero below 95%
# held-out accuracy, or when the same sequences padded to two lengths (20 and 33 steps) give
# logits or parameter gradients that differ by more than 1e-6. About 10 s on 2 CPU cores.
if(TARGET sequence_classifier)
  add_test(NAME example_sequence_classifier
    COMMAND $<TARGET_FILE:sequence_classifier> --steps 200 --min-acc 0.95)
  set_tests_properties(example_sequence_classifier PROPERTIES ENVIRONMENT "${CLNN_TEST_ENV}"
    TIMEOUT 300 LABELS examples PROCESSORS 2)
endif()

# lstm_lm: embedding -> 2 LSTM(128) -> dense on the same text, trained with the state carried
# from window to window; exits nonzero unless its held-out bits per character beat the bigram
# by at least --min-gain bits (200 steps reach a gain of about 0.6), then samples 100 characters
# one step at a time with the state carried. About 20 s of training on 2 idle CPU cores.
if(TARGET lstm_lm)
  add_test(NAME example_lstm_lm
    COMMAND $<TARGET_FILE:lstm_lm> --data ${PROJECT_SOURCE_DIR}/data/text/fortunes.txt
            --steps 200 --eval-chars 16000 --sample 100 --min-gain 0.4)
  set_tests_properties(example_lstm_lm PROPERTIES ENVIRONMENT "${CLNN_TEST_ENV}"
    TIMEOUT 600 LABELS examples PROCESSORS 2)
endif()
