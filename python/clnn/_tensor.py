"""Tensors (fp32, 1 to 5 dimensions, on a context's device; src/runtime/tensor.c), caller-owned
OpenCL buffers wrapped as tensors, and as_float32, the conversion rule for array arguments."""

import ctypes

import numpy as np

from . import _lib as L
from ._context import _Closeable, _check_ctx, _cl_handle
from ._convert import _check_shape, _dims, _float
from ._errors import Error, invalid, shape_mismatch


def as_float32(data, what="array"):
    """The conversion rule for every array argument.

    - float32 arrays are used as they are when C-contiguous, copied when not;
    - other real numeric dtypes (float16/64, signed and unsigned integers, bool) are converted
      to float32 (values beyond float32's range become +-inf; integers above 2**24 round);
    - lists, tuples and scalars go through numpy.asarray first;
    - complex, object, string, bytes, structured and datetime arrays are refused with
      Error CLNN_ERROR_INVALID_ARGUMENT.
    """
    if isinstance(data, Tensor):
        raise invalid(f"{what}: expected an array, got a Tensor")
    try:
        a = np.asarray(data)
    except (ValueError, TypeError) as e:
        raise invalid(f"{what} cannot be made into a numeric array: {e}") from None
    k = a.dtype.kind
    if k not in "biuf":
        raise invalid(f"{what} has dtype {a.dtype} ({_kind_name(k)}); clnn needs real numbers "
                      f"(float32, or another float/int/bool dtype, which is converted to float32)")
    return np.asarray(a, dtype=np.float32, order="C")  # (ascontiguousarray would make 0-d 1-d)


def _kind_name(k):
    return {"c": "complex", "O": "Python objects", "U": "strings", "S": "bytes",
            "V": "structured/void", "M": "datetimes", "m": "timedeltas"}.get(k, "non-numeric")


class Tensor(_Closeable):
    """An fp32 tensor on a context's device (1 to 5 dimensions, C order).

    Tensor(ctx, data) copies `data` to the device (a NumPy array or anything numpy.asarray
    accepts; see as_float32 for the dtype rule: a float32 C-contiguous array is read in place,
    anything else is first converted into a temporary host copy); later changes to `data` do
    not reach the tensor. Tensor(ctx, shape=(...)) allocates an uninitialised one. .numpy() and
    np.asarray(t) copy back into a new array; reshape / .shape and wrap_cl_buffer copy nothing.
    A Tensor keeps its Context alive; close() (or the context's close(), or garbage
    collection) frees it.
    """

    __array_priority__ = 10

    def __init__(self, ctx, data=None, *, shape=None):
        self._token = None
        self._view_of = None
        self._ctx = _check_ctx(ctx)
        if data is None and shape is None:
            raise invalid("Tensor needs data or shape=")
        if data is not None and shape is not None:
            raise invalid("Tensor takes data or shape=, not both")
        arr = None
        if data is not None:
            arr = as_float32(data, "data")
            shape = arr.shape
            if arr.ndim == 0:
                raise shape_mismatch("a 0-dimensional array cannot be a tensor (tensors have 1 to "
                                     "5 dimensions); wrap it: [value]")
        shape = _check_shape(shape)
        lib = L.load()
        h = ctypes.c_void_p()
        with ctx._lock:
            L.check(lib.clnn_tensor_create(ctx._handle(), len(shape), _dims(shape), ctypes.byref(h)))
            self._h = h.value
            self._token = ctx._register(1, self._h, lib.clnn_tensor_destroy)
        self._shape = shape
        if arr is not None:
            self.write(arr)

    @classmethod
    def _view(cls, ctx, handle, owner):
        """A tensor owned by something else (a network parameter): never destroyed here, and
        invalid once `owner` is closed."""
        self = cls.__new__(cls)
        self._ctx = ctx
        self._token = None
        self._view_of = owner
        self._h = handle
        lib = L.load()
        n = lib.clnn_tensor_ndim(handle)
        self._shape = tuple(int(lib.clnn_tensor_dim(handle, i)) for i in range(n))
        return self

    # -- lifetime --
    def _handle(self):
        if self._view_of is not None:
            if self._view_of.closed or self._ctx.closed:
                raise invalid("this tensor belongs to a network that is closed")
            return self._h
        if self._token is None or not self._ctx._owns(self._token):
            if self._ctx.closed:
                raise invalid("the tensor's context is closed")
            raise invalid("the tensor is closed")
        return self._h

    @property
    def closed(self):
        try:
            self._handle()
            return False
        except Error:
            return True

    def close(self):
        """Frees the device memory now (a network's parameter tensors are left alone)."""
        if self._view_of is None and self._token is not None:
            tok, self._token = self._token, None
            self._ctx._release(tok)

    # -- shape --
    @property
    def context(self):
        return self._ctx

    @property
    def shape(self):
        return self._shape

    @shape.setter
    def shape(self, new_shape):
        """Reshapes in place (clnn_tensor_reshape): same number of elements."""
        shape = _check_shape(new_shape)
        if int(np.prod(shape)) != self.size:
            raise shape_mismatch(f"cannot reshape a tensor of shape {self._shape} "
                                 f"({self.size} elements) to {shape}")
        with self._ctx._lock:
            L.check(L.load().clnn_tensor_reshape(self._handle(), len(shape), _dims(shape)))
        self._shape = shape

    def reshape(self, *shape):
        """Reshapes this tensor in place (the buffer is shared, nothing is copied) and returns
        it. Unlike numpy.reshape, no new object is made."""
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = shape[0]
        self.shape = shape
        return self

    @property
    def ndim(self):
        return len(self._shape)

    @property
    def size(self):
        return int(np.prod(self._shape))

    @property
    def dtype(self):
        return np.dtype(np.float32)

    def __len__(self):
        return self._shape[0]

    # -- data --
    def numpy(self):
        """A new float32 NumPy array with the tensor's contents (a copy from the device; waits
        for pending work). Changing it does not change the tensor."""
        out = np.empty(self._shape, dtype=np.float32)
        with self._ctx._lock:
            L.check(L.load().clnn_tensor_read(self._handle(), out.ctypes.data, out.size))
        return out

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a if dtype is None else a.astype(dtype)

    def write(self, data):
        """Overwrites the contents with a copy of `data` (same number of elements; converted like
        Tensor(ctx, data))."""
        arr = as_float32(data, "data")
        if arr.size != self.size:
            raise shape_mismatch(f"write: {arr.size} values for a tensor of shape {self._shape} "
                                 f"({self.size} elements)")
        with self._ctx._lock:
            L.check(L.load().clnn_tensor_write(self._handle(), arr.ctypes.data, arr.size))
        return self

    def fill(self, value):
        """Sets every element to `value`."""
        v = _float(value, "value")
        with self._ctx._lock:
            L.check(L.load().clnn_tensor_fill(self._handle(), v))
        return self

    def copy_(self, src):
        """Copies `src` (a Tensor on the same context with as many elements, or an array) into
        this tensor, and returns it."""
        if not isinstance(src, Tensor):
            return self.write(src)
        with self._ctx._lock:
            L.check(L.load().clnn_tensor_copy(self._handle(), src._handle()))
        return self

    def clone(self):
        """A new tensor with the same shape and contents (copied on the device)."""
        t = Tensor(self._ctx, shape=self._shape)
        t.copy_(self)
        return t

    @property
    def cl_mem(self):
        """The tensor's cl_mem as an integer (not retained for you)."""
        with self._ctx._lock:
            return L.load().clnn_tensor_cl_mem(self._handle())

    def __repr__(self):
        if self.closed:
            return f"<clnn.Tensor shape={self._shape} (closed)>"
        return f"<clnn.Tensor shape={self._shape}>"


def wrap_cl_buffer(ctx, cl_mem, shape):
    """A Tensor over a caller-owned cl_mem (an integer handle or an object with .int_ptr, at
    least prod(shape)*4 bytes, on ctx's OpenCL context). clnn retains it while the tensor lives."""
    ctx = _check_ctx(ctx)
    shape = _check_shape(shape)
    mem = _cl_handle(cl_mem, "cl_mem")
    lib = L.load()
    self = Tensor.__new__(Tensor)
    self._ctx = ctx
    self._token = None
    self._view_of = None
    h = ctypes.c_void_p()
    with ctx._lock:
        L.check(lib.clnn_tensor_wrap(ctx._handle(), mem, len(shape), _dims(shape), ctypes.byref(h)))
        self._h = h.value
        self._token = ctx._register(1, self._h, lib.clnn_tensor_destroy)
    self._shape = shape
    return self
