# tests/examples.cmake — the examples that train for real, run as tests (label "examples"; names
# example_*): each program trains on data/digits and exits nonzero when it misses its stated
# threshold (resnet_digits: >= 97% test accuracy; gan_digits: a separately trained judge finds
# >= 70% of 1,000 samples confidently classified and >= 8 classes; finetune_digits: >= 94% on the
# digits 5-9 with every frozen parameter bit-identical). Each takes about a minute or less on
# 2 CPU cores; the timeouts are generous for slower machines. finetune_pretrain writes the model
# file that finetune_digits loads (a fixture, so `ctest -R finetune_digits` runs both, in order).
# Run them with `ctest -L examples`. Registered only when the examples are built.
set(CLNN_EXAMPLE_DATA ${PROJECT_SOURCE_DIR}/data/digits)
set(CLNN_EXAMPLE_WORK ${CMAKE_CURRENT_BINARY_DIR}/examples)
file(MAKE_DIRECTORY ${CLNN_EXAMPLE_WORK})

if(TARGET resnet_digits)
  add_test(NAME example_resnet_digits
    COMMAND $<TARGET_FILE:resnet_digits> --data ${CLNN_EXAMPLE_DATA})
  set_tests_properties(example_resnet_digits PROPERTIES ENVIRONMENT "${CLNN_TEST_ENV}"
    TIMEOUT 900 LABELS examples PROCESSORS 2)
endif()

if(TARGET gan_digits)
  add_test(NAME example_gan_digits
    COMMAND $<TARGET_FILE:gan_digits> --data ${CLNN_EXAMPLE_DATA})
  set_tests_properties(example_gan_digits PROPERTIES ENVIRONMENT "${CLNN_TEST_ENV}"
    TIMEOUT 900 LABELS examples PROCESSORS 2)
endif()

if(TARGET finetune_pretrain AND TARGET finetune_digits)
  set(CLNN_FINETUNE_MODEL ${CLNN_EXAMPLE_WORK}/finetune_pretrain.safetensors)
  add_test(NAME example_finetune_pretrain
    COMMAND $<TARGET_FILE:finetune_pretrain> --data ${CLNN_EXAMPLE_DATA}
            --out ${CLNN_FINETUNE_MODEL})
  set_tests_properties(example_finetune_pretrain PROPERTIES ENVIRONMENT "${CLNN_TEST_ENV}"
    TIMEOUT 600 LABELS examples PROCESSORS 2 FIXTURES_SETUP clnn_finetune_model)
  add_test(NAME example_finetune_digits
    COMMAND $<TARGET_FILE:finetune_digits> --data ${CLNN_EXAMPLE_DATA}
            --model ${CLNN_FINETUNE_MODEL})
  set_tests_properties(example_finetune_digits PROPERTIES ENVIRONMENT "${CLNN_TEST_ENV}"
    TIMEOUT 600 LABELS examples PROCESSORS 2 FIXTURES_REQUIRED clnn_finetune_model)
endif()
