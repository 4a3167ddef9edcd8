# tests/sanitize/env.sh — sanitizer run-time options for a -DCLNN_SANITIZE=ON build (ASan + UBSan +
# LeakSanitizer). Source it from the repository root before running ctest in such a build tree:
#   source tests/sanitize/env.sh && (cd build-asan && ctest -E install_consumer)
# tools/test-hardening.sh does exactly this.
_clnn_sanitize_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# detect_stack_use_after_return: also catch pointers to dead stack frames; strict_string_checks:
# string functions check their whole argument; check_initialization_order: static initialisers.
export ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:abort_on_error=0:exitcode=23"
# Any undefined behaviour is an error with a stack trace (the build also uses
# -fno-sanitize-recover=undefined, so the first report ends the test).
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=${_clnn_sanitize_dir}/lsan.supp:print_suppressions=0"
unset _clnn_sanitize_dir
