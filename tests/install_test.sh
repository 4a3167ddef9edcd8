#!/usr/bin/env bash
# tests/install_test.sh BUILD_DIR SOURCE_DIR — installs clnn into a temporary prefix, then builds
# and runs a consumer program against it twice: with find_package(clnn) and with pkg-config;
# checks that clnn.h pulls in no OpenCL header, and builds and runs the OpenCL interop consumer
# (clnn_cl.h) both ways too.
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
test -f "$tmp/prefix/include/clnn.h"
test -f "$tmp/prefix/include/clnn_cl.h"
ls "$tmp"/prefix/lib*/libclnn.so.0.3 >/dev/null   # SOVERSION link (MAJOR.MINOR before 1.0)
cmake -S "$src/tests/consumer" -B "$tmp/cmake-build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cmake-build" >/dev/null
libdir=$(dirname "$(ls "$tmp"/prefix/lib*/libclnn.so | head -1)")
out=$(LD_LIBRARY_PATH="$libdir" "$tmp/cmake-build/consumer")
echo "find_package consumer: $out"
out=$(LD_LIBRARY_PATH="$libdir" "$tmp/cmake-build/consumer_cl")
echo "find_package interop consumer: $out"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc "$src/tests/consumer/consumer.c" -o "$tmp/pc-consumer" $(pkg-config --cflags --libs clnn)
out=$(LD_LIBRARY_PATH="$libdir" "$tmp/pc-consumer")
echo "pkg-config consumer: $out"
# clnn.h alone includes no OpenCL header (-H lists every header a compile opens)
if cc -H -fsyntax-only "$src/tests/consumer/consumer.c" $(pkg-config --cflags clnn) 2>&1 |
    grep -E '(CL/cl|OpenCL/opencl)\.h' >&2; then
  echo "install_test: clnn.h includes an OpenCL header" >&2
  exit 1
fi
cc "$src/tests/consumer/consumer_cl.c" -o "$tmp/pc-consumer-cl" $(pkg-config --cflags --libs clnn)
out=$(LD_LIBRARY_PATH="$libdir" "$tmp/pc-consumer-cl")
echo "pkg-config interop consumer: $out"
echo "install_test: 5 passed, 0 failed"
