#!/usr/bin/env bash
# bench/cold_start.sh — how long a fresh machine takes to reach the digits demo's first training
# step, and where the time goes. Each run starts with empty caches: a new $HOME (so PoCL's cache,
# ~/.cache/pocl, and clnn's, ~/.cache/clnn, are empty), CLNN_CACHE_DIR, POCL_CACHE_DIR and
# XDG_CACHE_HOME unset. The demo (this tree's examples/digits_cnn, --epochs 1 --time-first-step)
# prints the seconds from start to its first completed training step.
#
#   bench/cold_start.sh [--rounds N] [--breakdown] [LIBDIR ...]
#
# LIBDIR: build trees whose libclnn.so the demo runs against (default: build); with several, the
# rounds interleave them (A, B, A, B, ...) so that the machine's load falls on all alike, and the
# summary gives each one's minimum and median. --breakdown adds one run per LIBDIR with
# CLNN_LOG=debug and POCL_DEBUG=timing,llvm and prints the time of each program's front end
# (clBuildProgram: parsing and the kernel library link) and of each kernel's code generation (PoCL
# compiles a kernel, per work-group size, at its first launch: the work-group function, then machine
# code and a shared object; both are shown, in that order). Under load those times include waiting for a core: the sums say how much work
# there is, the first-step seconds of the plain runs how long it takes.
#
# Example (another build tree, e.g. of the main branch, against this one, 3 rounds each):
#   bench/cold_start.sh --rounds 3 --breakdown /path/to/main/build build
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3
breakdown=0
libs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --breakdown) breakdown=1; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) libs+=("$1"); shift ;;
  esac
done
[ ${#libs[@]} -gt 0 ] || libs=(build)
demo=${CLNN_DEMO:-build/digits_cnn}
[ -x "$demo" ] || { echo "cold_start: $demo not built (cmake --build build)" >&2; exit 1; }
for l in "${libs[@]}"; do
  [ -e "$l/libclnn.so" ] || { echo "cold_start: no $l/libclnn.so" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One cold run: prints "<first step s> <whole run s> <clnn cache entries written>"; extra
# environment assignments come after the library directory.
cold_run() {
  local lib=$1 out=$2 err=$3
  shift 3
  local home
  home=$(mktemp -d "$work/home.XXXXXX")
  local t0 t1
  t0=$(date +%s.%N)
  env -u CLNN_CACHE_DIR -u POCL_CACHE_DIR -u XDG_CACHE_HOME -u CLNN_LOG -u POCL_DEBUG HOME="$home" \
    LD_LIBRARY_PATH="$(cd "$lib" && pwd)" "$@" \
    "$demo" --data data/digits --epochs 1 --time-first-step --checkpoint "$home/c.safetensors" \
    >"$out" 2>"$err" || { echo "cold_start: the demo failed (see $err)" >&2; cat "$err" >&2; exit 1; }
  t1=$(date +%s.%N)
  local first entries
  first=$(sed -n 's/^first training step completed \([0-9.]*\) s after start$/\1/p' "$out")
  entries=$( (find "$home/.cache/clnn" -name "*.clbin" 2>/dev/null || true) | wc -l)
  rm -rf "$home"
  echo "$first $(echo "$t1 - $t0" | bc) $entries"
}

declare -A firsts
echo "cold start of $demo --epochs 1 (empty caches each run); $(nproc) cores"
for ((r = 1; r <= rounds; r++)); do
  for l in "${libs[@]}"; do
    load=$(cut -d' ' -f1 /proc/loadavg)
    read -r first whole entries < <(cold_run "$l" "$work/out" "$work/err")
    printf '  round %d  %-28s first step %6.2f s  whole run %6.2f s  clnn cache entries %d  (load %s)\n' \
      "$r" "$l" "$first" "$whole" "$entries" "$load"
    firsts[$l]+="$first "
  done
done
echo "summary (first training step, s):"
for l in "${libs[@]}"; do
  # shellcheck disable=SC2086
  printf '%s\n' ${firsts[$l]} | sort -g | awk -v l="$l" '{v[NR]=$1} END {
    med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "  %-28s min %6.2f  median %6.2f  (%d runs)\n", l, v[1], med, NR }'
done

[ "$breakdown" = 1 ] || exit 0
for l in "${libs[@]}"; do
  read -r first whole entries < <(cold_run "$l" "$work/out" "$work/err" CLNN_LOG=debug POCL_DEBUG=timing,llvm)
  echo "breakdown for $l (CLNN_LOG=debug POCL_DEBUG=timing,llvm; first step $first s, load $(cut -d' ' -f1 /proc/loadavg)):"
  awk '
    function secs(v, u) { return u == "s" ? v : u == "ms" ? v / 1e3 : u == "us" ? v / 1e6 : v / 1e9 }
    /clnn\[debug\]: program .*: clBuildProgram/ {
      name = $3; sub(":", "", name); fe[name] += $5; fe_n++; fe_sum += $5; order_fe[fe_n] = name
    }
    /API: llvm_workgroup_ir_func_gen/ {
      for (i = 1; i <= NF; i++) if ($i == ">>>") { v = $(i + 1); u = $(i + 2) }
      wg_pending += secs(v, u)
    }
    /Temporary kernel.so file for kernel/ { for (i = 1; i <= NF; i++) if ($i == "kernel" && $(i + 1) != "file") k = $(i + 1) }
    /API: llvm_codegen/ {
      for (i = 1; i <= NF; i++) if ($i == ">>>") { v = $(i + 1); u = $(i + 2) }
      t = secs(v, u); cg[k] += t; wg[k] += wg_pending; cg_runs[k]++; cg_sum += t; wg_sum += wg_pending; cg_n++
      wg_pending = 0
    }
    END {
      printf "  front end (clBuildProgram), %d programs, %.2f s in all:\n", fe_n, fe_sum
      for (i = 1; i <= fe_n; i++) printf "    %-34s %6.2f s\n", order_fe[i], fe[order_fe[i]]
      printf "  code generation at first launch (PoCL work-group function + llvm_codegen), %d kernel binaries, %.2f s in all (%.2f + %.2f):\n", cg_n, wg_sum + cg_sum, wg_sum, cg_sum
      for (n in cg) printf "    %-34s %6.2f s  (%.2f + %.2f)%s\n", n, wg[n] + cg[n], wg[n], cg[n], (cg_runs[n] > 1 ? sprintf(" (%d work-group sizes)", cg_runs[n]) : "")
    }' "$work/err" | {
      # programs in build order, kernels by time
      IFS= read -r h; echo "$h"
      while IFS= read -r line; do
        case "$line" in
          "  code generation"*) echo "$line"; sort -k2 -g -r ;;
          *) echo "$line" ;;
        esac
      done
    }
done
