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
head -c 100 "$work/net.safetensors" >"$work/cut.safetensors"
if "$build/clnn-predict" "$work/cut.safetensors" "$data/test-images-idx3-ubyte" >/dev/null 2>"$work/err.txt"; then
  echo "FAIL: a truncated model file was accepted"; exit 1
fi
grep -q "clnn-predict" "$work/err.txt" || { echo "FAIL: no error message"; exit 1; }
echo "1 passed, 0 failed"
