#!/bin/sh
# tests/onnx/finetune_onnx_test.sh SRC EXAMPLE DATA WORK VENV — the finetune_onnx example end to
# end: PyTorch trains and exports the CNN (examples/finetune_onnx_pretrain.py; exit 77, a skip,
# without python3-torch), examples/finetune_onnx.c imports it, replaces the head, fine-tunes and
# exports (>= 90% on the digits 5-9, frozen weights bit-identical), and the exported file runs in
# ONNX Runtime (or the checker and NumPy reference) with clnn's logits within 1e-4 + 1e-4 |y| and
# >= 90% accuracy there too.
set -e
src=$1 example=$2 data=$3 work=$4 venv=$5
mkdir -p "$work"
rc=0
/usr/bin/python3 "$src/examples/finetune_onnx_pretrain.py" "$data" "$work/finetune_onnx_pretrained.onnx" || rc=$?
if [ "$rc" -ne 0 ]; then
  echo "finetune_onnx: the PyTorch half failed or python3-torch is missing (rc $rc)"
  [ "$rc" -eq 77 ] && exit 77
  exit 1
fi
"$example" --data "$data" --model "$work/finetune_onnx_pretrained.onnx" --out "$work/finetune_onnx.onnx"
out=$work/finetune_onnx.onnx
sh "$src/tests/onnx/ort_compare.sh" "$venv" "$out" "$out.images.f32" "$out.logits.f32" \
  --labels "$out.labels.i32" --min-accuracy 0.90
