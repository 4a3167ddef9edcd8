"""Packaging: where the loader looks first, and the Debian package named when a system
library libclnn links is missing. The fresh-venv `pip install ./python` test itself is
tools/test-python-install.sh (run by tools/test.sh)."""

import os

import clnn
from clnn import _lib


def test_packaged_library_is_looked_for_first():
    pkg = os.path.dirname(os.path.abspath(clnn.__file__))
    first = _lib.candidate_paths()[0]
    assert os.path.dirname(first) == pkg and os.path.basename(first) == "libclnn.so"


def test_missing_system_library_names_the_debian_package():
    for so, pkg in (("libclblast.so.1", "libclblast1"), ("libOpenCL.so.1", "ocl-icd-libopencl1"),
                    ("libcjson.so.1", "libcjson1")):
        err = f"/x/clnn/libclnn.so ({so}: cannot open shared object file: No such file or directory)"
        hint = _lib._dependency_hint(["/elsewhere/libclnn.so", err])
        assert so in hint and f"apt-get install {pkg}" in hint
    assert _lib._dependency_hint(["/x/libclnn.so (invalid ELF header)"]) == ""


def test_pyproject_builds_the_library():
    here = os.path.join(os.path.dirname(__file__), "..", "pyproject.toml")
    with open(here) as f:
        text = f.read()
    assert "scikit_build_core.build" in text and 'cmake.source-dir = ".."' in text
