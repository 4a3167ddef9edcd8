#!/usr/bin/env bash
# tools/demo.sh — the README's main command: installs what is missing, builds clnn, shows the
# devices (clnn-info) and trains the digits CNN on the default device (or $CLNN_DEVICE), saving a
# checkpoint and evaluating it from the file. Build tree: build/ (or $CLNN_BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
build=${CLNN_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
"$build/clnn-info"
if [ -x "$build/digits_cnn" ]; then
  "$build/digits_cnn" --data data/digits --checkpoint "$build/digits_cnn.safetensors" "$@"
  "$build/digits_cnn" --data data/digits --eval "$build/digits_cnn.safetensors"
else
  echo "demo: digits_cnn is not built yet; ran clnn-info only" >&2
fi
