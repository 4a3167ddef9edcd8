#!/usr/bin/env bash
# tools/test-hardening.sh — the hardening part of the test command; tools/test.sh runs
# it after the plain build's tests. Four steps, each in its own build tree:
#
#   sanitizers  build-asan/: the library and every test built with -DCLNN_SANITIZE=ON
#               (AddressSanitizer + UndefinedBehaviorSanitizer, LeakSanitizer at exit) and the
#               whole ctest suite run with tests/sanitize/env.sh, except install_consumer (it
#               builds an uninstrumented program against the instrumented library, which ASan
#               refuses) and the MPI tests (the sanitizer build has no MPI). Leak suppressions:
#               tests/sanitize/lsan.supp (only the OpenCL driver's own).
#   oclgrind    build-hard/: tests/test_oclgrind_kernels (every kernel of every cl/*.cl on tiny
#               and edge shapes, in GPU- and CPU-shaped variants) under
#               `oclgrind --data-races --check-api`; any report fails the step.
#   threads     build-hard/test_log_threads_tsan: tests/test_log_threads.c with the logging code
#               (src/runtime/status.c) under clang's ThreadSanitizer: the log settings change
#               while four threads log; any report fails the step. About a second.
#   fuzzing     build-fuzz/ (clang, -DCLNN_FUZZ=ON): the libFuzzer targets of tests/fuzz/ (IDX
#               reader, safetensors reader, kernel-cache entry reader, model-file reader), each for
#               $CLNN_FUZZ_SECONDS seconds (default 40) from the committed seed corpus plus what
#               earlier runs found (build-fuzz/corpus/), with allocations capped
#               (-malloc_limit_mb) and a per-input timeout. A crash, leak, hang or oversized
#               allocation fails the step and leaves the input in build-fuzz/artifacts/<target>/.
#
# Installs what it needs only when missing (clang with its sanitizer and libFuzzer runtimes,
# oclgrind), like tools/install-deps.sh. Prints one line per step and a closing
# "hardening: N passed, M failed"; exits non-zero if a step failed.
#
# Variables: CLNN_FUZZ_SECONDS (per target), CLNN_HARDENING_STEPS (a subset of
# "sanitizers oclgrind threads fuzzing"), CLNN_BUILD_DIR (the plain build, whose kernel cache seeds the
# sanitizer build's). Fuzzing longer by hand: see tests/fuzz/README.md.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root=$PWD
jobs=$(nproc 2>/dev/null || echo 2)
steps=${CLNN_HARDENING_STEPS:-sanitizers oclgrind threads fuzzing}
fuzz_seconds=${CLNN_FUZZ_SECONDS:-40}
plain=${CLNN_BUILD_DIR:-build}
t_start=$(date +%s)

log() { printf 'hardening: %s\n' "$*"; }

# ---- what this script needs ----------------------------------------------------------------------
if [ -f tools/install-deps.sh ]; then bash tools/install-deps.sh || exit 1; fi
need=()
command -v clang >/dev/null 2>&1 || need+=(clang)
command -v oclgrind >/dev/null 2>&1 || need+=(oclgrind)
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
apt_install() {
  [ $# -eq 0 ] && return 0
  log "installing $*"
  if [ -n "$SUDO" ] && ! command -v sudo >/dev/null; then
    log "need root or sudo to install $*"
    return 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
apt_install "${need[@]}" || exit 1
# libFuzzer and the sanitizer runtimes come with libclang-rt-<version>-dev on Debian 12 and
# Ubuntu 22.04+; try to link a fuzzer before installing anything.
fuzz_probe() {
  local d
  d=$(mktemp -d)
  printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$d/p.c"
  clang -fsanitize=fuzzer,address,undefined "$d/p.c" -o "$d/p" >/dev/null 2>&1
  local rc=$?
  rm -rf "$d"
  return $rc
}
if ! fuzz_probe; then
  v=$(clang -dumpversion | cut -d. -f1)
  apt_install "libclang-rt-$v-dev" || apt_install "libclang-common-$v-dev" || true
  fuzz_probe || { log "clang cannot link -fsanitize=fuzzer,address,undefined"; exit 1; }
fi

# PoCL caches the kernels it compiles; share the cache with the plain build (as tools/test.sh
# does): with it warm, the sanitizer build does not recompile every kernel under ASan's slow
# allocator.
if [ -z "${POCL_CACHE_DIR:-}" ]; then
  pc="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/pocl"
  if ! mkdir -p "$pc" 2>/dev/null || [ ! -w "$pc" ]; then pc="$root/build-hard/pocl-cache"; mkdir -p "$pc"; fi
  export POCL_CACHE_DIR="$pc"
fi

passed=0
failed=0
summary=()
record() { # name status seconds detail
  if [ "$2" = 0 ]; then passed=$((passed + 1)); summary+=("  PASS  $1 ($3 s): $4");
  else failed=$((failed + 1)); summary+=("  FAIL  $1 ($3 s): $4"); fi
  log "$1: $([ "$2" = 0 ] && echo passed || echo FAILED) in $3 s — $4"
}
enabled() { case " $steps " in *" $1 "*) return 0 ;; esac; return 1; }

# ---- 1. sanitizers -------------------------------------------------------------------------------
if enabled sanitizers; then
  t0=$(date +%s)
  rc=0
  detail=""
  mkdir -p build-asan
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCLNN_SANITIZE=ON -DCLNN_WITH_MPI=OFF \
    -DCLNN_BUILD_EXAMPLES=OFF -DCLNN_BUILD_TOOLS=OFF >build-asan/configure.log 2>&1 || rc=1
  [ $rc = 0 ] && { cmake --build build-asan -j"$jobs" >build-asan/build.log 2>&1 || { rc=1; detail="build failed (build-asan/build.log)"; tail -30 build-asan/build.log; }; }
  if [ $rc = 0 ]; then
    # The kernel binaries do not depend on the sanitizers: start from the plain build's cache.
    if [ -d "$plain/test-kernel-cache" ]; then
      mkdir -p build-asan/test-kernel-cache && cp -p "$plain"/test-kernel-cache/*.clbin build-asan/test-kernel-cache/ 2>/dev/null
    fi
    # shellcheck source=../tests/sanitize/env.sh
    source tests/sanitize/env.sh
    (cd build-asan && ctest -j"$jobs" -E '^(install_consumer|test_mpi|digits_cnn_mpi)$' --output-on-failure) >build-asan/ctest.log 2>&1 || rc=1
    n=$(grep -Eo '[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' build-asan/ctest.log | tail -1)
    reports=$(grep -Ec 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' build-asan/ctest.log)
    detail="ASan+UBSan+LSan ctest: ${n:-no result}; sanitizer reports: $reports (log: build-asan/ctest.log)"
    # LeakSanitizer's tracer itself now and then crashes while it stops PoCL's worker threads at
    # exit ("Tracer caught signal 11", then "LeakSanitizer has encountered a fatal error"): no leak
    # check ran, so there is no finding. When every failure is that crash, those tests run once
    # more, and the summary says so.
    # (tests_failed, not failed: that is the summary's count of failed steps)
    tests_failed=$(grep -c '\*\*\*Failed' build-asan/ctest.log)
    tracer=$(grep -c 'LeakSanitizer has encountered a fatal error' build-asan/ctest.log)
    if [ $rc != 0 ] && [ "$reports" = 0 ] && [ "$tests_failed" -gt 0 ] && [ "$tests_failed" = "$tracer" ]; then
      if (cd build-asan && ctest --rerun-failed --output-on-failure) >build-asan/ctest-rerun.log 2>&1 &&
         ! grep -Eq 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' build-asan/ctest-rerun.log; then
        rc=0
        detail="$detail; $tests_failed test(s) stopped by a LeakSanitizer tracer crash passed when run again (build-asan/ctest-rerun.log)"
      fi
    fi
    [ "$reports" != 0 ] && rc=1
    [ $rc != 0 ] && grep -E -A30 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|\*\*\*Failed|FAIL ' build-asan/ctest.log | head -120
    unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
  fi
  record sanitizers $rc $(($(date +%s) - t0)) "$detail"
fi

# ---- 2. kernels under Oclgrind -------------------------------------------------------------------
if enabled oclgrind; then
  t0=$(date +%s)
  rc=0
  detail=""
  mkdir -p build-hard
  cmake -S . -B build-hard -DCMAKE_BUILD_TYPE=Release -DCLNN_WITH_MPI=OFF -DCLNN_BUILD_EXAMPLES=OFF \
    -DCLNN_BUILD_TOOLS=OFF >build-hard/configure.log 2>&1 || rc=1
  [ $rc = 0 ] && { cmake --build build-hard -j"$jobs" --target test_oclgrind_kernels >build-hard/build.log 2>&1 || { rc=1; detail="build failed (build-hard/build.log)"; tail -30 build-hard/build.log; }; }
  if [ $rc = 0 ]; then
    ocl_log=build-hard/oclgrind.log
    rm -f "$ocl_log"
    # Oclgrind is the only OpenCL platform the program sees; its reports go to the log file.
    CLNN_SOURCE_DIR=$root oclgrind --data-races --check-api --log "$ocl_log" \
      build-hard/tests/test_oclgrind_kernels >build-hard/oclgrind.out 2>&1 || rc=1
    errors=0
    [ -f "$ocl_log" ] && errors=$(grep -Ec '^[^[:space:]]' "$ocl_log")
    [ "$errors" != 0 ] && rc=1
    cover=$(grep -Eo '[0-9]+ of [0-9]+ kernels of [0-9]+ programs launched \([0-9]+ launches, [0-9]+ operator calls\)' build-hard/oclgrind.out)
    detail="${cover:-test did not finish}; Oclgrind reports: $errors"
    if [ $rc != 0 ]; then
      tail -40 build-hard/oclgrind.out
      [ -f "$ocl_log" ] && head -60 "$ocl_log"
    fi
  fi
  record oclgrind $rc $(($(date +%s) - t0)) "$detail"
fi

# ---- 3. the log settings under ThreadSanitizer ----------------------------------------------------
if enabled threads; then
  t0=$(date +%s)
  rc=0
  mkdir -p build-hard
  tsan_bin=build-hard/test_log_threads_tsan
  clang -fsanitize=thread -g -O1 -std=c11 -DCL_TARGET_OPENCL_VERSION=120 -Iinclude -Isrc -Icl \
    tests/test_log_threads.c src/runtime/status.c -lpthread -o "$tsan_bin" >build-hard/tsan.log 2>&1 || rc=1
  [ $rc = 0 ] && { TSAN_OPTIONS=halt_on_error=1 "$tsan_bin" >>build-hard/tsan.log 2>&1 || rc=1; }
  reports=$(grep -c 'WARNING: ThreadSanitizer' build-hard/tsan.log)
  [ "$reports" != 0 ] && rc=1
  [ $rc != 0 ] && head -60 build-hard/tsan.log
  record threads $rc $(($(date +%s) - t0)) "$(grep -Eo '[0-9]+ switches while [0-9]+ threads logged' build-hard/tsan.log || echo 'did not finish'); ThreadSanitizer reports: $reports (log: build-hard/tsan.log)"
fi

# ---- 4. fuzzing ----------------------------------------------------------------------------------
if enabled fuzzing; then
  t0=$(date +%s)
  rc=0
  detail=""
  mkdir -p build-fuzz
  CC=clang cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCLNN_FUZZ=ON \
    -DCLNN_WITH_MPI=OFF -DCLNN_BUILD_TESTS=OFF -DCLNN_BUILD_EXAMPLES=OFF -DCLNN_BUILD_TOOLS=OFF \
    >build-fuzz/configure.log 2>&1 || { rc=1; detail="configure failed (build-fuzz/configure.log)"; tail -20 build-fuzz/configure.log; }
  [ $rc = 0 ] && { cmake --build build-fuzz -j"$jobs" >build-fuzz/build.log 2>&1 || { rc=1; detail="build failed (build-fuzz/build.log)"; tail -30 build-fuzz/build.log; }; }
  if [ $rc = 0 ]; then
    export LSAN_OPTIONS="suppressions=$root/tests/sanitize/lsan.supp:print_suppressions=0"
    export CLNN_CACHE_DIR="$root/build-fuzz/kernel-cache"
    parts=()
    # target  max input bytes  malloc cap (MB): inputs are small, so any larger allocation is a bug
    for spec in "idx 4096 16" "safetensors 16384 64" "cache_entry 4096 16" "model 16384 64" "onnx 16384 64"; do
      set -- $spec
      t=$1
      mkdir -p "build-fuzz/corpus/$t" "build-fuzz/artifacts/$t"
      out="build-fuzz/fuzz_$t.log"
      "build-fuzz/tests/fuzz/fuzz_$t" -max_total_time="$fuzz_seconds" -max_len="$2" -malloc_limit_mb="$3" \
        -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$t/" \
        "build-fuzz/corpus/$t" "tests/fuzz/corpus/$t" >"$out" 2>&1
      frc=$?
      execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$out" | grep -Eo '[0-9]+$')
      if [ $frc != 0 ]; then
        rc=1
        parts+=("$t FAILED after ${execs:-?} runs")
        grep -E -A25 'ERROR:|SUMMARY|Test unit written' "$out" | head -60
        log "fuzz_$t found a problem; the input is in build-fuzz/artifacts/$t/ (reproduce: build-fuzz/tests/fuzz/fuzz_$t <file>; then add it to tests/fuzz/regress/$t/)"
      else
        parts+=("$t ${execs:-?} runs")
      fi
    done
    unset LSAN_OPTIONS CLNN_CACHE_DIR
    detail="${fuzz_seconds} s each: $(IFS=,; echo "${parts[*]}" | sed 's/,/, /g') (logs: build-fuzz/fuzz_*.log)"
  fi
  record fuzzing $rc $(($(date +%s) - t0)) "$detail"
fi

log "summary ($(($(date +%s) - t_start)) s):"
for s in "${summary[@]}"; do printf '%s\n' "$s"; done
echo "hardening: $passed passed, $failed failed"
[ "$failed" = 0 ]
