#!/usr/bin/env bash
# tools/gpu-check.sh — one prepared run of clnn on a lent GPU, or the same run as a dry
# run on the CPU. From the repository root:
#
#   bash tools/gpu-check.sh            # on the GPU machine: stops early if no GPU device appears
#   bash tools/gpu-check.sh --dry-run  # anywhere: the system's OpenCL (PoCL), short steps
#
# Steps, each capped by the time left (GPUCHECK_BUDGET seconds in all, default 470, so a 10-minute
# call finishes with margin) and summarised in one line of $OUT/summary.txt:
#   setup     unpacks carried .deb files (.deb/*.deb: the ICD loader, its headers, CLBlast, OpenBLAS)
#             into a prefix when the machine lacks them, and registers the NVIDIA OpenCL driver
#             (libnvidia-opencl.so) through OCL_ICD_VENDORS (GPUCHECK_ICD=<driver .so> to choose)
#   build     Release build in $GPUCHECK_BUILD (default build-gpucheck/)
#   info      clnn-info; without a GPU device (and no --dry-run) the run stops with diagnostics
#   clblast   tests/test_gemm_clblast_paths: every CLBlast call, direct and indirect paths
#   tests     ctest (the whole suite; --dry-run: the GPU-class subset with CLNN_DEVICE_CLASS=gpu)
#   digits    digits CNN training (images/s, test accuracy), checkpoint, evaluation
#   torchref  PyTorch timings of the bench cases when torch with CUDA is there (else skipped)
#   bench     clnn-bench --tier gpu (against the PyTorch timings when there are any)
#   igemm     the dense conv cases again with the implicit-GEMM forward forced (--conv-algo igemm),
#             to set beside the bench step's im2col forward figures (AUTO's rule in
#             src/ops/conv2d.c resolve_algo); --dry-run: one small case as the GPU class on PoCL
#   tune      a short clnn-tune of CLBlast, then its convolution measurement (im2col vs implicit GEMM
#             forward on the GPU class: conv.igemm), and the bench again with the result; --dry-run:
#             the convolution measurement alone (clnn-tune --only conv); the choice goes in the summary
# Output: $OUT (the device runner's folder) or gpu-check-out/: summary.txt, bench JSON, logs.tgz.
# Variables: GPUCHECK_BUDGET, GPUCHECK_JOBS (build and ctest parallelism), GPUCHECK_ICD,
# GPUCHECK_BUILD, GPUCHECK_SKIP_BUILD=1 (use the build tree as it is), OUT.
set -u
cd "$(dirname "$0")/.." || exit 1
root=$PWD
dry=0
[ "${1:-}" = --dry-run ] && dry=1
out=${OUT:-$root/gpu-check-out}
work=$(mktemp -d "${TMPDIR:-/tmp}/clnn-gpucheck.XXXXXX")
build=${GPUCHECK_BUILD:-$root/build-gpucheck}
budget=${GPUCHECK_BUDGET:-470}
jobs=${GPUCHECK_JOBS:-$(nproc 2>/dev/null || echo 2)}
t0=$(date +%s)
mkdir -p "$out" "$work/logs"
summary=$out/summary.txt
: >"$summary"
export PYTHONUNBUFFERED=1 CLNN_CACHE_DIR=$work/kernel-cache

say() { echo "$*" | tee -a "$summary"; }
left() { echo $((budget - $(date +%s) + t0)); }
# step NAME CAP COMMAND: runs COMMAND (bash -c) for at most CAP seconds and what the budget leaves;
# one summary line with the exit status, the seconds and the log's last line.
step() {
  local name=$1 cap=$2 t s rc
  shift 2
  t=$(($(left) - 15))
  [ "$t" -gt "$cap" ] && t=$cap
  if [ "$t" -lt 20 ]; then say "SKIP  $name (out of time)"; return 99; fi
  s=$(date +%s)
  timeout -k 5 "$t" bash -c "$*" >"$work/logs/$name.log" 2>&1
  rc=$?
  say "$(printf '%-9s rc=%-3s %4ss | %s' "$name" "$rc" $(($(date +%s) - s)) "$(tail -1 "$work/logs/$name.log" | cut -c1-140)")"
  return "$rc"
}
finish() {
  tar czf "$out/logs.tgz" -C "$work" logs 2>/dev/null
  say "total $(($(date +%s) - t0)) s (dry run: $dry)"
  rm -rf "$work"
}

gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
say "== $(date -u +%FT%TZ) clnn $(git rev-parse --short HEAD 2>/dev/null) GPU: ${gpu:-none (nvidia-smi)}"

# ---- setup: carried packages and the NVIDIA OpenCL driver -------------------------------------------
cmake_extra=()
if ls .deb/*.deb >/dev/null 2>&1 && ! [ -f /usr/include/CL/cl.h -a -f /usr/include/clblast_c.h ]; then
  pfx=$work/pfx
  lib=$pfx/usr/lib/x86_64-linux-gnu
  for f in .deb/*.deb; do dpkg -x "$f" "$pfx"; done
  sed -i "s#/usr/lib/x86_64-linux-gnu/libOpenCL.so#$lib/libOpenCL.so#" "$lib"/cmake/CLBlast/*.cmake 2>/dev/null
  cmake_extra=(-DCMAKE_DISABLE_FIND_PACKAGE_PkgConfig=ON "-DCLBlast_DIR=$lib/cmake/CLBlast"
    "-DOpenCL_INCLUDE_DIR=$pfx/usr/include" "-DOpenCL_LIBRARY=$lib/libOpenCL.so"
    "-DCLNN_OPENBLAS_LIBRARY=$lib/openblas-pthread/libopenblas.so"
    "-DCLNN_OPENBLAS_INCLUDE_DIR=$pfx/usr/include/x86_64-linux-gnu/openblas-pthread")
  export LD_LIBRARY_PATH=$lib:$lib/openblas-pthread:${LD_LIBRARY_PATH:-}
  say "setup: unpacked $(ls .deb/*.deb | wc -l) carried packages into $pfx"
fi
if [ "$dry" = 0 ]; then
  icd=${GPUCHECK_ICD:-}
  [ -n "$icd" ] || icd=$( (ldconfig -p 2>/dev/null | awk '/libnvidia-opencl\.so.*x86-64/{print $NF}'
    find /usr/local/nvidia /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib -maxdepth 3 -name 'libnvidia-opencl.so*' 2>/dev/null) | head -1)
  say "OpenCL driver: ${icd:-NOT FOUND}"
  if [ -n "$icd" ]; then
    mkdir -p "$work/icd"
    echo "$icd" >"$work/icd/nvidia.icd"
    export OCL_ICD_VENDORS=$work/icd LD_LIBRARY_PATH=$(dirname "$icd"):${LD_LIBRARY_PATH:-}
  fi
fi

# ---- build, devices ---------------------------------------------------------------------------------
gen=()
command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
if [ "${GPUCHECK_SKIP_BUILD:-0}" = 1 ] && [ -x "$build/clnn-info" ]; then
  say "build: skipped (GPUCHECK_SKIP_BUILD=1), using $build"
else
step build 200 "cmake -S . -B '$build' ${gen[*]} -DCMAKE_BUILD_TYPE=Release -DCLNN_WITH_MPI=OFF ${cmake_extra[*]} && cmake --build '$build' -j$jobs" ||
  { say "build failed (logs.tgz: logs/build.log)"; finish; exit 1; }
fi
step info 60 "'$build/clnn-info'"
cat "$work/logs/info.log" >>"$summary"
if [ "$dry" = 0 ] && ! grep -qiE 'type[^a-z]*GPU' "$work/logs/info.log"; then
  say "no GPU device: diagnostics follow; stopping"
  { OCL_ICD_DEBUG=15 timeout 30 "$build/clnn-info"; ls -la /usr/local/nvidia /usr/local/nvidia/lib* 2>&1
    ldconfig -p | grep -iE 'opencl|cuda'; } >>"$summary" 2>&1
  finish
  exit 1
fi
# The dry run checks the GPU paths on whatever device this is.
[ "$dry" = 1 ] && export CLNN_DEVICE_CLASS=gpu

# ---- correctness ------------------------------------------------------------------------------------
step clblast 60 "'$build/tests/test_gemm_clblast_paths' | tail -1"
if [ "$dry" = 1 ]; then
  step tests 240 "cd '$build' && ctest -j$jobs --timeout 200 --output-on-failure -R '^test_(batchnorm|conv2d|dense|device_class|gemm|lstm|optim|softmax_loss)\$'"
else # test_multi_device needs two devices
  step tests 230 "cd '$build' && ctest -j$((jobs > 2 ? jobs / 2 : 1)) --timeout 150 --output-on-failure -E '^test_multi_device\$'"
fi
grep -hE 'tests passed|Failed|FAIL' "$work/logs/tests.log" 2>/dev/null | head -30 >>"$summary"

# ---- speed ------------------------------------------------------------------------------------------
epochs=12
[ "$dry" = 1 ] && epochs=2
step digits 90 "'$build/digits_cnn' --data data/digits --epochs $epochs --checkpoint '$work/digits.safetensors' && '$build/digits_cnn' --data data/digits --eval '$work/digits.safetensors'"
grep -E 'images/s|accuracy' "$work/logs/digits.log" | tail -3 >>"$summary"
bench=$build/bench/clnn-bench
[ -x "$bench" ] || bench=$build/clnn-bench
ref=""
if [ "$dry" = 0 ] && python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  step torchref 100 "python3 bench/torch_reference.py --device cuda --tier gpu --runs 10 --warmup 3 --out '$out/torch-gpu.ref'"
  [ -s "$out/torch-gpu.ref" ] && ref="--reference-file '$out/torch-gpu.ref'"
else
  say "SKIP  torchref (no PyTorch with CUDA$([ "$dry" = 1 ] && echo '; dry run'))"
fi
if [ "$dry" = 1 ]; then
  step bench 60 "'$bench' --case gemm_nn_1024 --no-reference --runs 2 --warmup 1 --json '$out/bench.json'"
else
  step bench 160 "'$bench' --tier gpu --no-clblast ${ref:---no-reference} --runs 5 --warmup 2 --budget 1 --json '$out/bench-gpu.json'"
fi
cp "$work/logs/bench.log" "$out/bench.txt" 2>/dev/null
if [ "$dry" = 1 ]; then
  step igemm 40 "CLNN_DEVICE_CLASS=gpu '$bench' --case conv_lenet5x5 --conv-algo igemm --no-reference --runs 2 --warmup 1"
else
  step igemm 60 "'$bench' --case conv_res3x3_56_n16,conv_res3x3_14_n16,conv_vgg3x3_112,conv_inception5x5 --conv-algo igemm --no-clblast --no-reference --runs 5 --warmup 2 --budget 1 --json '$out/bench-igemm.json'"
fi
# forward, im2col (the bench step) then implicit GEMM, case by case
grep -hE '^conv_(res3x3_56_n16|res3x3_14_n16|vgg3x3_112|inception5x5|lenet5x5) +forward' \
  "$work/logs/bench.log" "$work/logs/igemm.log" 2>/dev/null | sort -s -k1,1 | cut -c1-120 >>"$summary"
if [ "$dry" = 0 ]; then
  step tune 100 "'$build/clnn-tune' --only clblast --time 60 --out '$out/tuned.txt' && CLNN_TUNE='$out/tuned.txt' '$bench' --case gemm_nn_1024,conv_res3x3_56_n16 --no-clblast --no-reference --runs 5 --warmup 2"
else
  step tune 60 "'$build/clnn-tune' --only conv --time 30 --out '$out/tuned.txt'"
fi
# the convolution forward choice (clnn-tune's per-shape ms, the ratio and conv.igemm)
grep -hE '^ +(res3x3|stem7x7|lenet5x5|im2col / |not measured)|^conv forward on the GPU class:' \
  "$work/logs/tune.log" 2>/dev/null | cut -c1-120 >>"$summary"
finish
grep -qE '^[a-z]+ +rc=[1-9]' "$summary" && exit 1
exit 0
