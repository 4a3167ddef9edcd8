#!/bin/sh
# tests/onnx/ort_compare.sh VENV ARGS... — tests/onnx/ort_compare.py with the venv's python when
# tests/onnx/ort_venv.sh made one (ONNX Runtime), else Debian's /usr/bin/python3.
venv=$1
shift
py=/usr/bin/python3
[ -x "$venv/bin/python" ] && py="$venv/bin/python"
exec "$py" "$(dirname "$0")/ort_compare.py" "$@"
