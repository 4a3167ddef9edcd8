#!/bin/sh
# tests/onnx/ort_venv.sh DIR — ONNX Runtime for the tests that run clnn's ONNX exports in it
# (tests/onnx/ort_compare.py): a venv at DIR (Debian's /usr/bin/python3 with its system packages:
# numpy, onnx) with onnxruntime from PyPI, made once and reused (the build tree caches it).
# Always exits 0: without network access or pip the tests fall back to the ONNX checker and a
# NumPy reference, and say so. CLNN_NO_PIP=1 skips the download.
dir=$1
if [ -x "$dir/bin/python" ] && "$dir/bin/python" -c 'import onnxruntime' 2>/dev/null; then
  echo "onnxruntime: $("$dir/bin/python" -c 'import onnxruntime; print(onnxruntime.__version__)') (cached in $dir)"
  exit 0
fi
if [ -n "$CLNN_NO_PIP" ]; then
  echo "onnxruntime: not installed (CLNN_NO_PIP set); the ONNX checks use the NumPy reference"
  exit 0
fi
if ! /usr/bin/python3 -m venv --system-site-packages "$dir" >/dev/null 2>&1; then
  echo "onnxruntime: no venv (Debian: python3-venv); the ONNX checks use the NumPy reference"
  rm -rf "$dir"
  exit 0
fi
if timeout 300 "$dir/bin/pip" install --quiet --disable-pip-version-check --retries 1 \
     --timeout 20 onnxruntime >"$dir.log" 2>&1 &&
   "$dir/bin/python" -c 'import onnxruntime' 2>/dev/null; then
  echo "onnxruntime: $("$dir/bin/python" -c 'import onnxruntime; print(onnxruntime.__version__)') installed in $dir"
else
  echo "onnxruntime: pip install failed (see $dir.log); the ONNX checks use the NumPy reference"
fi
exit 0
