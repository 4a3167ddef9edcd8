#!/usr/bin/env bash
# tools/test.sh — the README's test command: installs what is missing, configures and builds clnn
# (tests, examples, tools; MPI training and its tests when mpicc is there, CLNN_WITH_MPI=off
# leaves them out), runs every test with ctest (printing the output of failures), the operator and
# training tests once more as the GPU device class (CLNN_DEVICE_CLASS=gpu), then the Python
# binding's tests. Fails if no OpenCL device is found. Build tree: build/ (or $CLNN_BUILD_DIR).
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
# GPU-class pass (docs/ARCHITECTURE.md, "Device classes"): the operator and training tests again with every context running as
# the GPU device class (CLNN_DEVICE_CLASS=gpu): GPU-shaped kernels and launch sizes, GEMM through
# CLBlast, all checked against the same references on PoCL. About a minute on 2 cores (most of it
# compiling the GPU-shaped kernels once). CLNN_GPU_CLASS_PASS=off skips it.
if [ "${CLNN_GPU_CLASS_PASS:-on}" != off ]; then
  gpu_tests='^test_(activation|attention|batchnorm|conv2d|conv2d_winograd|dense|determinism|dropout|embedding|gemm|gru|layernorm|lstm|lstm_seq|optim|pool2d|pool2d_indices|shape|softmax_loss|train_digits)$'
  t0=$(date +%s)
  (cd "$build" && CLNN_DEVICE_CLASS=gpu ctest --output-on-failure -j"$jobs" -R "$gpu_tests")
  echo "GPU-class pass (CLNN_DEVICE_CLASS=gpu): passed in $(($(date +%s) - t0)) s"
fi
if [ -f python/tests/conftest.py ] || ls python/tests/test_*.py >/dev/null 2>&1; then
  CLNN_LIBRARY="$PWD/$build/libclnn.so" /usr/bin/python3 -m pytest -q python/tests
fi
# The Python package as a new user installs it: pip install ./python in a fresh venv
# (CMake builds libclnn into the package), fit() a few epochs, pip wheel. About 35 s on 2 cores
# (the CMake tree is kept in $build/python-wheel); needs PyPI or a pip cache for scikit-build-core
# and numpy. CLNN_SKIP_PIP_TEST=1 skips it.
if [ -f tools/test-python-install.sh ] && [ "${CLNN_SKIP_PIP_TEST:-0}" != 1 ]; then
  CLNN_BUILD_DIR="$build" bash tools/test-python-install.sh
fi
# Hardening: sanitizer build of a test subset, every kernel under Oclgrind, bounded fuzzing.
if [ -f tools/test-hardening.sh ] && [ "${CLNN_SKIP_HARDENING:-0}" != 1 ]; then
  bash tools/test-hardening.sh
fi
