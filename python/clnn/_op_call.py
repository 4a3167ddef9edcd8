"""What every operator module (clnn/ops_*.py) shares: _Op, one operator call (argument
conversion, output allocation, the C call, results back as NumPy or Tensors, temporaries freed
whatever happens), and the checks of integer, pair, padding and shape parameters."""

import ctypes

import numpy as np

from . import _lib as L
from ._core import Tensor, _check_ctx, _int, as_float32
from ._errors import Error, invalid, shape_mismatch

_INT_MAX = 2**31 - 1


def _flatten(items):
    for a in items:
        if isinstance(a, (tuple, list)):
            yield from _flatten(a)
        else:
            yield a


class _Op:
    """One operator call: converts arguments, allocates outputs, calls C, returns results, and
    frees the temporary device tensors whatever happens."""

    def __init__(self, ctx, name, *arrays):
        self.ctx = _check_ctx(ctx)
        self.name = name
        self.tensor_mode = any(isinstance(a, Tensor) for a in _flatten(arrays))
        self.temps = []
        self.writebacks = []
        self.lib = L.load()

    def __enter__(self):
        self.ctx._lock.acquire()
        return self

    def __exit__(self, *exc):
        try:
            for t in self.temps:
                t.close()
        finally:
            self.ctx._lock.release()
        return False

    @property
    def h(self):
        return self.ctx._handle()

    def _own(self, t, what):
        t._handle()  # raises if closed
        if t.context is not self.ctx:
            raise Error("CLNN_ERROR_CONTEXT_MISMATCH",
                        f"{self.name}: {what} is a Tensor on another context")
        return t

    def input(self, x, what, ndim=None, optional=False):
        """An input Tensor (uploaded from an array when needed), or None for an optional one."""
        if x is None:
            if optional:
                return None
            raise invalid(f"{self.name}: {what} is required (got None)")
        if isinstance(x, Tensor):
            t = self._own(x, what)
        else:
            arr = as_float32(x, f"{self.name}: {what}")
            if arr.ndim == 0 or arr.ndim > L.MAX_DIMS or arr.size == 0:
                raise shape_mismatch(f"{self.name}: {what} has shape {arr.shape}; tensors have 1 "
                                     f"to {L.MAX_DIMS} dimensions, each > 0")
            t = Tensor(self.ctx, arr)
            self.temps.append(t)
        self._check_ndim(t.shape, what, ndim)
        return t

    def _check_ndim(self, shape, what, ndim):
        if ndim is None:
            return
        ok = ndim if isinstance(ndim, (tuple, list, range)) else (ndim,)
        if len(shape) not in ok:
            want = " or ".join(str(n) for n in ok)
            raise shape_mismatch(f"{self.name}: {what} must have {want} dimensions, "
                                 f"got shape {tuple(shape)}")

    def output(self, shape, out, what="out", beta=0.0):
        """The Tensor an output is written to: `out` itself, a temporary mirroring a NumPy
        `out`, or a new tensor."""
        shape = tuple(int(d) for d in shape)
        if out is None:
            if beta != 0.0:
                raise invalid(f"{self.name}: beta={beta} adds to an existing gradient: pass it "
                              f"as {what}=")
            t = Tensor(self.ctx, shape=shape)
            if not self.tensor_mode:
                self.temps.append(t)
            return t
        if isinstance(out, Tensor):
            self._own(out, what)
            if out.shape != shape:
                raise shape_mismatch(f"{self.name}: {what} has shape {out.shape}, the result has "
                                     f"shape {shape}")
            return out
        if isinstance(out, np.ndarray):
            self._check_writable(out, what)
            if out.shape != shape:
                raise shape_mismatch(f"{self.name}: {what} has shape {out.shape}, the result has "
                                     f"shape {shape}")
            t = Tensor(self.ctx, shape=shape)
            self.temps.append(t)
            if beta != 0.0:
                t.write(out)
            self.writebacks.append((t, out))
            return t
        raise invalid(f"{self.name}: {what} must be a clnn.Tensor or a float32 NumPy array, "
                      f"not {type(out).__name__}")

    def _check_writable(self, a, what):
        if a.dtype != np.float32 or not a.flags.c_contiguous or not a.flags.writeable:
            raise invalid(f"{self.name}: {what} is written in place, so a NumPy array must be "
                          f"writable, C-contiguous and float32 (got {a.dtype}, "
                          f"{'C-contiguous' if a.flags.c_contiguous else 'not C-contiguous'}, "
                          f"{'writable' if a.flags.writeable else 'read-only'}); "
                          f"or pass a clnn.Tensor")

    def inplace(self, a, what, optional=False):
        """An argument updated in place: a Tensor, or a writable float32 array (uploaded, and
        written back after a successful call)."""
        if a is None:
            if optional:
                return None
            raise invalid(f"{self.name}: {what} is required (got None)")
        if isinstance(a, Tensor):
            return self._own(a, what)
        if not isinstance(a, np.ndarray):
            raise invalid(f"{self.name}: {what} is updated in place: pass a clnn.Tensor or a "
                          f"writable float32 NumPy array, not {type(a).__name__}")
        self._check_writable(a, what)
        if a.ndim == 0 or a.ndim > L.MAX_DIMS or a.size == 0:
            raise shape_mismatch(f"{self.name}: {what} has shape {a.shape}; tensors have 1 to "
                                 f"{L.MAX_DIMS} dimensions, each > 0")
        for t, arr in self.writebacks:
            if arr is a or np.shares_memory(arr, a):
                raise invalid(f"{self.name}: {what} is the same array as another argument that "
                              f"is updated in place")
        t = Tensor(self.ctx, a)
        self.temps.append(t)
        self.writebacks.append((t, a))
        return t

    def call(self, fn, *args):
        L.check(fn(*args))

    def ret(self, *pairs):
        """Finishes a successful call: writes NumPy `out`/in-place arrays back, and converts
        each (tensor, out) pair to what the caller gets."""
        lib = self.lib
        for t, arr in self.writebacks:
            L.check(lib.clnn_tensor_read(t._handle(), arr.ctypes.data, arr.size))
        self.writebacks = []
        res = []
        for t, out in pairs:
            if t is None:
                res.append(None)
            elif out is not None:
                res.append(out)
            elif self.tensor_mode:
                res.append(t)
            else:
                res.append(t.numpy())
        if len(res) == 1:
            return res[0]
        return tuple(res) if res else None


def _h(t):
    return None if t is None else t._handle()


def _cint(v, what, lo=None):
    v = _int(v, what)
    if not -2**31 <= v <= _INT_MAX:
        raise invalid(f"{what} = {v} does not fit a C int")
    if lo is not None and v < lo:
        raise invalid(f"{what} must be >= {lo}, got {v}")
    return v


def _u64(v, what):
    v = _int(v, what)
    if not 0 <= v < 2**64:
        raise invalid(f"{what} must be in [0, 2**64), got {v}")
    return v


def _pair(v, what):
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise invalid(f"{what} must be an int or a pair (h, w), got {v!r}")
        return _cint(v[0], what), _cint(v[1], what)
    v = _cint(v, what)
    return v, v


def _padding(v, what="padding"):
    """int p, (ph, pw), or (top, bottom, left, right)."""
    if isinstance(v, (tuple, list)):
        if len(v) == 2:
            ph, pw = _cint(v[0], what), _cint(v[1], what)
            return ph, ph, pw, pw
        if len(v) == 4:
            return tuple(_cint(x, what) for x in v)
        raise invalid(f"{what} must be an int, (h, w) or (top, bottom, left, right), got {v!r}")
    p = _cint(v, what)
    return p, p, p, p


def _shape_arg(shape, what, n):
    try:
        shape = tuple(_int(d, what) for d in shape)
    except TypeError:
        raise invalid(f"{what} must be a tuple of {n} ints, not {type(shape).__name__}") from None
    if len(shape) != n:
        raise shape_mismatch(f"{what} must have {n} dimensions, got {shape}")
    if any(d <= 0 for d in shape):
        raise shape_mismatch(f"{what} {shape}: every dimension must be > 0")
    if any(d >= 2**63 for d in shape):
        raise invalid(f"{what} {shape}: a dimension is too large")
    return shape


def _dims4(shape):
    return (ctypes.c_size_t * 4)(*shape)


def _shape_of(x, what, name):
    """The shape of an array-or-Tensor argument, without uploading it."""
    if isinstance(x, Tensor):
        return x.shape
    if x is None:
        raise invalid(f"{name}: {what} is required (got None)")
    return np.shape(x)


def _out_tuple(out, n, name):
    if out is None:
        return (None,) * n
    if not isinstance(out, (tuple, list)) or len(out) != n:
        raise invalid(f"{name}: out must be a tuple of {n} (entries may be None)")
    return tuple(out)


def _grad_shape(shape, out, what, name):
    if shape is None:
        if out is None:
            raise invalid(f"{name}: pass {what} (or out=)")
        return tuple(_shape_of(out, "out", name))
    return _shape_arg(shape, what, 4)
