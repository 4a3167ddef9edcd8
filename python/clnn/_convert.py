"""Checks and conversions of plain arguments: integers, yes/no flags, numbers, paths, shapes
and integer labels (as_float32, the rule for float arrays, is with Tensor in _tensor.py)."""

import ctypes

import numpy as np

from . import _lib as L
from ._errors import invalid, shape_mismatch


def _int(v, what):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise invalid(f"{what} must be an integer, not {type(v).__name__} ({v!r})")
    return int(v)


def _flag(v, what):
    """A yes/no argument: bool, or the ints 0 and 1."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)) and int(v) in (0, 1):
        return bool(v)
    raise invalid(f"{what} must be True or False, not {type(v).__name__} ({v!r})")


def _float(v, what):
    if isinstance(v, (bool, np.bool_)):
        raise invalid(f"{what} must be a number, not a bool")
    try:
        return float(v)
    except (TypeError, ValueError):
        raise invalid(f"{what} must be a number, not {type(v).__name__} ({v!r})") from None


def _path_bytes(p, what):
    import os
    if p is None:
        return None
    try:
        p = os.fsencode(p)
    except TypeError:
        raise invalid(f"{what} must be a path (str or bytes), not {type(p).__name__}") from None
    if b"\0" in p:
        raise invalid(f"{what} contains a NUL character")
    return p


def as_int32_labels(data, what="labels"):
    """Labels: an integer (or bool) array, converted to C-contiguous int32. Values outside
    int32 are refused."""
    try:
        a = np.asarray(data)
    except (ValueError, TypeError) as e:
        raise invalid(f"{what} cannot be made into an integer array: {e}") from None
    if a.dtype.kind not in "biu":
        if a.dtype.kind == "f" and a.size and np.all(np.isfinite(a)) and np.all(a == np.round(a)):
            pass  # whole-number floats are accepted
        else:
            raise invalid(f"{what} must be integers, got dtype {a.dtype}")
    if a.size and (a.min() < -2**31 or a.max() > 2**31 - 1):
        raise invalid(f"{what} has values outside the int32 range")
    return np.asarray(a, dtype=np.int32, order="C")


def _check_shape(shape, what="shape"):
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError:
        raise invalid(f"{what} must be a tuple of ints, not {type(shape).__name__}") from None
    if not 1 <= len(shape) <= L.MAX_DIMS:
        raise shape_mismatch(f"{what} {shape}: tensors have 1 to {L.MAX_DIMS} dimensions")
    out = []
    for d in shape:
        d = _int(d, what)
        if d <= 0:
            raise shape_mismatch(f"{what} {shape}: every dimension must be > 0")
        if d >= 2**63:
            raise invalid(f"{what} {shape}: dimension {d} is too large")
        out.append(d)
    return tuple(out)


def _dims(shape):
    return (ctypes.c_size_t * max(1, len(shape)))(*shape)
