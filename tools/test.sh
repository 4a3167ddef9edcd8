#!/usr/bin/env bash
# tools/test.sh — the README's test command: installs what is missing, configures and builds clnn
# (tests, examples, tools; MPI training and its tests when mpicc is there, CLNN_WITH_MPI=off
# leaves them out), runs every test with ctest (printing the output of failures), then the
# Python binding's tests. Fails if no OpenCL device is found. Build tree: build/ (or $CLNN_BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
build=${CLNN_BUILD_DIR:-build}
jobs=$(nproc 2>/dev/null || echo 2)
# PoCL keeps compiled kernels in a cache directory; make sure it is a writable one.
if [ -z "${POCL_CACHE_DIR:-}" ]; then
  pc="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/pocl"
  if ! mkdir -p "$pc" 2>/dev/null || [ ! -w "$pc" ]; then pc="$PWD/$build/pocl-cache"; mkdir -p "$pc"; fi
  export POCL_CACHE_DIR="$pc"
fi
# With an MPI (tools/install-deps.sh installs Open MPI), build the MPI training and its tests.
mpi=OFF
if [ "${CLNN_WITH_MPI:-on}" != "off" ] && command -v mpicc >/dev/null 2>&1; then mpi=ON; fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCLNN_WITH_MPI=$mpi
cmake --build "$build" -j"$jobs"
(cd "$build" && ctest --output-on-failure -j"$jobs")
if [ -f python/tests/conftest.py ] || ls python/tests/test_*.py >/dev/null 2>&1; then
  CLNN_LIBRARY="$PWD/$build/libclnn.so" /usr/bin/python3 -m pytest -q python/tests
fi
# Hardening: sanitizer build of a test subset, every kernel under Oclgrind, bounded fuzzing.
if [ -f tools/test-hardening.sh ] && [ "${CLNN_SKIP_HARDENING:-0}" != 1 ]; then
  bash tools/test-hardening.sh
fi
