#!/usr/bin/env bash
# tools/install-deps.sh — installs what clnn needs on Debian/Ubuntu, only what is missing:
# PoCL (CPU OpenCL driver), the OpenCL ICD loader and headers, CLBlast, cJSON (the JSON of model
# files), CMake, a C compiler, OpenBLAS (host reference for clnn-bench), Open MPI (data-parallel
# training across processes and its test; CLNN_WITH_MPI=off leaves it out) and, for the Python
# binding's tests, Debian's python3 with NumPy and pytest; for ONNX protobuf-c with
# protoc-c and onnx.proto (libonnx-dev) to build, and for its tests ONNX's own backend test data
# (libonnx-testdata), the ONNX checker (python3-onnx) and PyTorch with torchvision (exporting a
# ResNet-18 to compare against); matplotlib for clnn-bench --plot (python3-matplotlib). Safe to
# run any number of times. Needs root (or sudo) only to install.
set -euo pipefail

pkgs=(build-essential cmake pkg-config ocl-icd-opencl-dev opencl-headers pocl-opencl-icd
      libclblast-dev libcjson-dev libopenblas-dev python3 python3-numpy python3-pytest
      libprotobuf-c-dev protobuf-c-compiler libonnx-dev libonnx-testdata python3-onnx
      python3-torch python3-torchvision python3-matplotlib)
if [ "${CLNN_WITH_MPI:-on}" != "off" ]; then pkgs+=(libopenmpi-dev openmpi-bin); fi
# the fresh-venv install test of the Python package (tools/test-python-install.sh);
# zlib: gzip-compressed IDX (MNIST) files
pkgs+=(python3-venv zlib1g-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: everything is installed"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
