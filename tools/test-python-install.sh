#!/usr/bin/env bash
# tools/test-python-install.sh — the Python package as a new user installs it:
#   1. a fresh virtual environment (/usr/bin/python3 -m venv, no system site-packages), then
#      `pip install ./python`: scikit-build-core builds libclnn with CMake into the package; numpy
#      and scikit-build-core come from PyPI (or pip's cache);
#   2. from outside the checkout, with CLNN_LIBRARY unset: import clnn, check that the packaged
#      library is the one loaded, train a graph Model and a Net for a few epochs with fit();
#   3. CLNN_LIBRARY still overrides the packaged library;
#   4. `pip wheel .` from the repository root (the root pyproject.toml: the same package and
#      CMake tree, checked to declare the same project as python/pyproject.toml) and that wheel
#      installed into a second environment (Debian's numpy through --system-site-packages,
#      nothing downloaded) imports and finds a device.
# The CMake tree is kept in $CLNN_BUILD_DIR/python-wheel (default build/python-wheel), so a rerun
# only relinks what changed: about 35 s on 2 cores the first time (most of it compiling
# libclnn), about 20 s after that. Needs PyPI (or a pip cache that has scikit-build-core and
# numpy); CLNN_SKIP_PIP_TEST=1 in tools/test.sh skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${CLNN_BUILD_DIR:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
py=${CLNN_PIP_PYTHON:-/usr/bin/python3}
t0=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/clnn-pip.XXXXXX")
trap 'rm -rf "$work"' EXIT
unset CLNN_LIBRARY PYTHONPATH
export PIP_DISABLE_PIP_VERSION_CHECK=1
skb="$build/python-wheel"
mkdir -p "$skb"

fail() { echo "test-python-install: FAILED: $*" >&2; exit 1; }

"$py" -m venv "$work/venv" ||
  fail "$py -m venv failed (Debian/Ubuntu: apt-get install python3-venv)"
"$work/venv/bin/python" -m pip install -q ./python --config-settings=build-dir="$skb" \
  > "$work/pip.log" 2>&1 || {
  tail -40 "$work/pip.log" >&2
  fail "pip install ./python (it needs PyPI or a pip cache for scikit-build-core and numpy)"
}
t1=$(date +%s)

cat > "$work/check.py" <<'EOF'
import os, sys
import numpy as np
import clnn

site = os.path.realpath(sys.prefix)
lib = os.path.realpath(clnn.library_path())
assert lib.startswith(site + os.sep) and os.path.basename(lib) == "libclnn.so", \
    f"loaded {lib}, not the library inside the package in {site}"
print(f"packaged library: {lib}; device: {clnn.devices()[0].name}")
d = os.path.join(sys.argv[1], "data", "digits", "")
ds = clnn.Dataset.load_idx(d + "train-images-idx3-ubyte", d + "train-labels-idx1-ubyte")
g = clnn.Graph()
x = g.input("image", (1, 8, 8))
label = g.input("label", (), dtype="int32")
logits = g.dense(g.relu(g.dense(g.flatten(x), 32)), 10)
g.loss("softmax_cross_entropy", logits, label)
g.output(logits)
m = clnn.Model(g, seed=0)
m.set_optimizer("adam", lr=3e-3)
h = m.fit(ds, epochs=3, batch_size=32, validation_split=0.2, verbose=2)
assert h["loss"][-1] < h["loss"][0] and h["val_accuracy"][-1] > 0.5, h.history
net = clnn.Net(clnn.default_context(), input_shape=(1, 8, 8), seed=0)
net.flatten().dense(10)
h = net.fit(ds, epochs=2, verbose=0)
assert h["loss"][-1] < h["loss"][0]
print("trained: graph model and sequential net")
EOF
(cd "$work" && "$work/venv/bin/python" check.py "$root") || fail "the installed package"

# CLNN_LIBRARY overrides the packaged library (a copy, so the path differs)
cp "$work/venv/lib/"python3*/site-packages/clnn/libclnn.so "$work/libclnn-copy.so"
(cd "$work" && CLNN_LIBRARY="$work/libclnn-copy.so" "$work/venv/bin/python" -c \
  'import clnn, os, sys; p = clnn.library_path(); assert p == sys.argv[1], p' \
  "$work/libclnn-copy.so") || fail "CLNN_LIBRARY override"

# the root pyproject.toml declares the same project and build as python/pyproject.toml
"$work/venv/bin/python" - <<'EOF' || fail "pyproject.toml and python/pyproject.toml disagree"
try:
    import tomllib
except ImportError:  # Python < 3.11: nothing to compare with
    raise SystemExit(0)
a = tomllib.load(open("pyproject.toml", "rb"))
b = tomllib.load(open("python/pyproject.toml", "rb"))
for t in (a, b):
    t["project"].pop("readme")
    t["tool"]["scikit-build"]["cmake"].pop("source-dir")
    t["tool"]["scikit-build"]["wheel"].pop("packages")
assert a["project"] == b["project"], (a["project"], b["project"])
assert a["tool"]["scikit-build"] == b["tool"]["scikit-build"]
assert a["build-system"] == b["build-system"]
EOF

# pip wheel from the repository root (pip install . works the same way), installed elsewhere on
# this system; the CMake tree is pip install ./python's (the same source directory)
"$work/venv/bin/python" -m pip wheel -q --no-deps -w "$work/wheels" . \
  --config-settings=build-dir="$skb" > "$work/wheel.log" 2>&1 || {
  tail -40 "$work/wheel.log" >&2; fail "pip wheel . (the repository root)"; }
whl=$(ls "$work"/wheels/clnn-*.whl)
"$py" -m venv --system-site-packages "$work/venv2" || fail "second venv"
"$work/venv2/bin/python" -m pip install -q --no-deps --no-index "$whl" || fail "installing $whl"
(cd "$work" && "$work/venv2/bin/python" -c '
import clnn, os, sys
assert os.path.realpath(clnn.library_path()).startswith(os.path.realpath(sys.prefix)), clnn.library_path()
assert clnn.devices(), "no device"
print("wheel", os.path.basename(sys.argv[1]), "works in a second environment")' "$whl") ||
  fail "the wheel"
echo "test-python-install: passed in $(($(date +%s) - t0)) s (pip install $((t1 - t0)) s)"
