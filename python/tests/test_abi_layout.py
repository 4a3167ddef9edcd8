"""The ctypes mirrors of the C structs (python/clnn/_lib.py, graph.py) against the C layouts.

Three sources must agree for every public struct: the field names the headers declare (read from
include/*.h here), the C compiler's sizeof/offsetof/field sizes (printed as JSON by the
clnn_abi_layout program the CMake build makes from tests/abi_layout.c) and the ctypes mirror.
A field added, removed, reordered or retyped on one side only fails one of the comparisons.

The layout program is $CLNN_ABI_LAYOUT (ctest's test_python_abi_layout sets it), else
clnn_abi_layout next to $CLNN_LIBRARY, else in the tree's build/."""

import ctypes
import json
import os
import re
import subprocess

import pytest

from clnn import _lib as L
from clnn import graph as G

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HEADERS = ["clnn.h", "clnn_seq.h", "clnn_nn.h", "clnn_graph.h"]

# Every public struct and its mirror (None: the Python package does not use it).
MIRRORS = {
    "clnn_device_info": L.DeviceInfoStruct,
    "clnn_context_options": L.ContextOptions,
    "clnn_conv2d_params": L.Conv2dParams,
    "clnn_pool2d_params": L.Pool2dParams,
    "clnn_sgd_params": L.SgdParams,
    "clnn_adam_params": L.AdamParams,
    "clnn_rmsprop_params": L.RmspropParams,
    "clnn_adagrad_params": L.AdagradParams,
    "clnn_attention_params": None,
    "clnn_optimizer_config": L.OptimizerConfig,
    "clnn_feed": G.Feed,
    "clnn_schedule": G.Schedule,
    "clnn_rnn_params": L.RnnParams,
    "clnn_graph_rnn_options": G.RnnOptions,
    "clnn_augment_options": L.AugmentOptions,
    "clnn_augment_draw": L.AugmentDraw,
}
FROZEN = {"clnn_feed", "clnn_augment_draw"}  # passed in arrays: no struct_size (docs/ABI.md)


def header_fields():
    """{struct: [field names in order]} of every `typedef struct name { ... } name;` in the
    public headers."""
    out = {}
    for h in HEADERS:
        with open(os.path.join(ROOT, "include", h)) as f:
            text = re.sub(r"/\*.*?\*/", " ", f.read(), flags=re.S)
            text = re.sub(r"//[^\n]*", " ", text)
        for m in re.finditer(r"typedef\s+struct\s+(\w+)\s*\{(.*?)\}\s*(\w+)\s*;", text, re.S):
            name, body = m.group(1), m.group(2)
            assert m.group(3) == name, f"typedef name of {name}"
            fields = []
            for decl in body.split(";"):
                decl = " ".join(decl.split())
                if not decl:
                    continue
                parts = [p.strip() for p in decl.split(",")]
                for i, p in enumerate(parts):
                    p = re.sub(r"\[[^\]]*\]", "", p)  # arrays
                    ident = re.findall(r"\w+", p)
                    assert ident, f"cannot read the declaration {decl!r} of {name}"
                    fields.append(ident[-1])
            out[name] = fields
    return out


def layout_program():
    cand = [os.environ.get("CLNN_ABI_LAYOUT")]
    lib = os.environ.get("CLNN_LIBRARY")
    if lib:
        cand.append(os.path.join(os.path.dirname(os.path.abspath(lib)), "clnn_abi_layout"))
    cand.append(os.path.join(ROOT, "build", "clnn_abi_layout"))
    for c in cand:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    if os.environ.get("CLNN_ABI_LAYOUT"):
        pytest.fail(f"$CLNN_ABI_LAYOUT ({os.environ['CLNN_ABI_LAYOUT']}) is not an executable")
    pytest.skip("no clnn_abi_layout program (build the CMake tree, or set $CLNN_ABI_LAYOUT)")


@pytest.fixture(scope="module")
def c_layouts():
    out = subprocess.run([layout_program()], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def test_every_header_struct_is_known():
    declared = set(header_fields())
    assert declared == set(MIRRORS), (
        f"structs in include/ but not in this test: {sorted(declared - set(MIRRORS))}; "
        f"listed here but not declared: {sorted(set(MIRRORS) - declared)}")


def test_layout_program_lists_every_field(c_layouts):
    """tests/abi_layout.c names every field the headers declare, in order."""
    fields = header_fields()
    assert set(c_layouts) == set(fields)
    for name, want in fields.items():
        got = [f[0] for f in c_layouts[name]["fields"]]
        assert got == want, f"tests/abi_layout.c's fields of {name} differ from the header"


def test_versioned_structs_start_with_struct_size():
    for name, want in header_fields().items():
        if name in FROZEN:
            assert "struct_size" not in want, name
        else:
            assert want[0] == "struct_size", f"{name} does not start with struct_size"


@pytest.mark.parametrize("name", sorted(k for k, v in MIRRORS.items() if v is not None))
def test_mirror_matches_c(name, c_layouts):
    mirror = MIRRORS[name]
    c = c_layouts[name]
    py_names = [f[0] for f in mirror._fields_]
    assert py_names == header_fields()[name], f"{mirror.__name__}'s fields differ from {name}'s"
    assert ctypes.sizeof(mirror) == c["size"], (
        f"sizeof {name}: C {c['size']}, ctypes {mirror.__name__} {ctypes.sizeof(mirror)}")
    for fname, offset, size in c["fields"]:
        d = getattr(mirror, fname)
        assert (d.offset, d.size) == (offset, size), (
            f"{name}.{fname}: C offset {offset} size {size}, ctypes offset {d.offset} "
            f"size {d.size}")


@pytest.mark.parametrize("name", sorted(k for k, v in MIRRORS.items()
                                        if v is not None and k not in FROZEN))
def test_mirror_sets_struct_size(name, c_layouts):
    s = MIRRORS[name]()
    assert s.struct_size == c_layouts[name]["size"]
