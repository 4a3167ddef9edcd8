#!/usr/bin/env bash
# tests/predict_test.sh — deployment without source: the digits demo trains a few epochs and saves
# (clnn_net_save now writes the architecture too); clnn-predict loads that file with nothing else
# and must report the same accuracy as the demo's own --eval of it, and print one prediction per
# image (index, class 0..9, confidence in (0, 1]) without labels; a corrupt file must fail.
# Usage: predict_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
data="$src/data/digits"
"$build/digits_cnn" --data "$data" --epochs 4 --checkpoint "$work/net.safetensors" >/dev/null
want=$("$build/digits_cnn" --data "$data" --eval "$work/net.safetensors" | sed -n 's/.*test accuracy \([0-9.]*\)%.*/\1/p')
got=$("$build/clnn-predict" "$work/net.safetensors" "$data/test-images-idx3-ubyte" "$data/test-labels-idx1-ubyte" | sed -n 's/^accuracy \([0-9.]*\)%.*/\1/p')
echo "digits_cnn --eval: $want%   clnn-predict: $got%"
[ -n "$want" ] && [ "$want" = "$got" ] || { echo "FAIL: accuracies differ"; exit 1; }
"$build/clnn-predict" "$work/net.safetensors" "$data/test-images-idx3-ubyte" >"$work/pred.txt"
lines=$(wc -l <"$work/pred.txt")
[ "$lines" -eq 360 ] || { echo "FAIL: $lines predictions for 360 images"; exit 1; }
awk 'NF != 3 || $1 != NR - 1 || $2 < 0 || $2 > 9 || $3 <= 0 || $3 > 1 { bad = 1 } END { exit bad }' \
  "$work/pred.txt" || { echo "FAIL: malformed prediction lines"; exit 1; }
# the same network through ONNX: export it (a graph model loaded from the file), predict from .onnx
cat >"$work/export.c" <<'CEOF'
#include <clnn.h>
#include <stdio.h>
int main(int argc, char **argv) {
  clnn_context *ctx = NULL;
  clnn_model *m = NULL;
  if (argc != 3 || clnn_context_create(NULL, &ctx) || clnn_model_load_file(ctx, argv[1], &m) ||
      clnn_model_save_onnx(m, argv[2])) {
    fprintf(stderr, "export: %s\n", clnn_last_error());
    return 1;
  }
  clnn_model_destroy(m);
  clnn_context_destroy(ctx);
  return 0;
}
CEOF
if cc -o "$work/export" "$work/export.c" -I"$src/include" -L"$build" -lclnn -Wl,-rpath,"$build" 2>"$work/cc.txt"; then
  "$work/export" "$work/net.safetensors" "$work/net.onnx"
  onnx=$("$build/clnn-predict" "$work/net.onnx" "$data/test-images-idx3-ubyte" "$data/test-labels-idx1-ubyte" | sed -n 's/^accuracy \([0-9.]*\)%.*/\1/p')
  echo "clnn-predict on the ONNX export: $onnx%"
  [ "$onnx" = "$want" ] || { echo "FAIL: the ONNX export predicts differently"; exit 1; }
else
  echo "FAIL: cannot compile the export helper: $(cat "$work/cc.txt")"; exit 1
fi
head -c 100 "$work/net.safetensors" >"$work/cut.safetensors"
if "$build/clnn-predict" "$work/cut.safetensors" "$data/test-images-idx3-ubyte" >/dev/null 2>"$work/err.txt"; then
  echo "FAIL: a truncated model file was accepted"; exit 1
fi
grep -q "clnn-predict" "$work/err.txt" || { echo "FAIL: no error message"; exit 1; }
echo "1 passed, 0 failed"
