"""Devices, contexts, tensors, and the NumPy conversion rules."""

import ctypes
import itertools
import threading
from dataclasses import dataclass

import numpy as np

from . import _lib as L
from ._errors import Error, invalid, shape_mismatch

_DEVICE_TYPES = {0: "other", 1: "cpu", 2: "gpu", 3: "accelerator"}


# ============================================================================================
# Devices
# ============================================================================================

@dataclass(frozen=True)
class DeviceInfo:
    """One OpenCL device, as clnn_device_get_info describes it."""
    index: int                 # position in clnn's device list (0 .. device_count()-1)
    platform_index: int        # P in "P:D"
    device_index: int          # D in "P:D"
    platform_name: str
    name: str
    vendor: str
    driver_version: str
    opencl_c_version: str
    device_version: str
    type: str                  # "cpu", "gpu", "accelerator" or "other"
    compute_units: int
    clock_mhz: int
    preferred_vector_width_float: int
    global_mem_bytes: int
    local_mem_bytes: int
    max_alloc_bytes: int
    max_work_group_size: int
    fp16: bool
    fp64: bool
    compiler_available: bool
    est_peak_gflops: float

    @property
    def selection(self):
        """The "P:D" selection string that picks exactly this device."""
        return f"{self.platform_index}:{self.device_index}"


def _s(b):
    return b.decode("utf-8", "replace")


def _device_info(st, index):
    return DeviceInfo(
        index=index, platform_index=st.platform_index, device_index=st.device_index,
        platform_name=_s(st.platform_name), name=_s(st.name), vendor=_s(st.vendor),
        driver_version=_s(st.driver_version), opencl_c_version=_s(st.opencl_c_version),
        device_version=_s(st.device_version), type=_DEVICE_TYPES.get(st.type, "other"),
        compute_units=st.compute_units, clock_mhz=st.clock_mhz,
        preferred_vector_width_float=st.preferred_vector_width_float,
        global_mem_bytes=st.global_mem_bytes, local_mem_bytes=st.local_mem_bytes,
        max_alloc_bytes=st.max_alloc_bytes, max_work_group_size=st.max_work_group_size,
        fp16=bool(st.fp16), fp64=bool(st.fp64), compiler_available=bool(st.compiler_available),
        est_peak_gflops=st.est_peak_gflops)


def device_count():
    """Number of OpenCL devices across all platforms (0 when there is none)."""
    lib = L.load()
    n = ctypes.c_int(0)
    s = lib.clnn_device_count(ctypes.byref(n))
    if s == L_NO_DEVICE:
        return 0
    L.check(s)
    return n.value


L_NO_DEVICE = -4


def device_info(index):
    """DeviceInfo of device `index` (0 .. device_count()-1)."""
    index = _int(index, "index")
    lib = L.load()
    st = L.DeviceInfoStruct()
    L.check(lib.clnn_device_get_info(index, ctypes.byref(st)))
    return _device_info(st, index)


def devices():
    """Every device, in clnn's order (platform, then device); [] when there is none."""
    return [device_info(i) for i in range(device_count())]


def select_device(selection=None):
    """Resolves a selection as clnn_device_select does; returns (index, reason).

    selection: None or "" (the default device: GPU before accelerator before CPU, then by
    estimated peak GFLOP/s), "P:D", "gpu" / "cpu" / "accelerator", or a case-insensitive
    substring of the device name. Nothing matching raises Error CLNN_ERROR_DEVICE_NOT_FOUND.
    Unlike Context(), this does not read $CLNN_DEVICE.
    """
    sel = _selection_bytes(selection)
    lib = L.load()
    idx = ctypes.c_int(-1)
    reason = ctypes.create_string_buffer(512)
    L.check(lib.clnn_device_select(sel, ctypes.byref(idx), reason, len(reason)))
    return idx.value, _s(reason.value)


def _selection_bytes(selection):
    if selection is None:
        return None
    if isinstance(selection, DeviceInfo):
        return selection.selection.encode()
    if isinstance(selection, (int, np.integer)) and not isinstance(selection, bool):
        return device_info(int(selection)).selection.encode()
    if isinstance(selection, str):
        if "\0" in selection:
            raise invalid("device selection contains a NUL character")
        return selection.encode("utf-8")
    raise invalid(f"device must be None, a selection string, an index or a DeviceInfo, "
                  f"not {type(selection).__name__}")


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


# ============================================================================================
# Log callback
# ============================================================================================

_LEVELS = {"error": 0, "warn": 1, "warning": 1, "info": 2, "debug": 3}
_log_keepalive = None


def set_log_callback(fn, level="warn"):
    """Routes libclnn's log messages up to `level` ("error", "warn", "info", "debug") to
    fn(level_name, message). None switches logging off. Process-wide."""
    global _log_keepalive
    lib = L.load()
    if isinstance(level, str):
        if level.lower() not in _LEVELS:
            raise invalid(f"log level must be one of error, warn, info, debug, not {level!r}")
        lv = _LEVELS[level.lower()]
    else:
        lv = _int(level, "level")
    if fn is None:
        lib.clnn_set_log_callback(L.LOG_FN(), lv, None)
        _log_keepalive = None
        return
    if not callable(fn):
        raise invalid("log callback must be callable or None")
    names = {0: "error", 1: "warn", 2: "info", 3: "debug"}

    def tramp(level_, message, user):
        try:
            fn(names.get(level_, str(level_)), message.decode("utf-8", "replace") if message else "")
        except Exception:  # an exception must not unwind into C
            pass

    cb = L.LOG_FN(tramp)
    lib.clnn_set_log_callback(cb, lv, None)
    _log_keepalive = cb


# ============================================================================================
# Contexts
# ============================================================================================

class _Closeable:
    """close() on garbage collection (errors ignored) and at the end of a `with` block."""

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class _Registry:
    """What must be freed before an owner (a context or a device set): (order, handle, destroy)
    entries, destroyed in order (networks 0, tensors 1; a set wrapping a context -1) when the
    owner closes, then the owner's own `final` destroy. Raw handles only, so the order holds
    whatever state the Python objects are in (garbage-collected cycles included)."""

    def __init__(self, lock):
        self.lock = lock
        self.children = {}
        self.closed = True     # until the owner's handle exists
        self.final = None
        self._tokens = itertools.count()

    def register(self, order, handle, destroy):
        token = next(self._tokens)
        self.children[token] = (order, handle, destroy)
        return token

    def release(self, token, destroy=True):
        """Destroys one child (if still owned); destroy=False only forgets it."""
        with self.lock:
            entry = self.children.pop(token, None)
            if entry is not None and destroy and not self.closed:
                entry[2](entry[1])

    def owns(self, token):
        return not self.closed and token in self.children

    def close(self):
        with self.lock:
            if self.closed:
                return
            try:
                for token, (order, handle, destroy) in sorted(self.children.items(),
                                                             key=lambda kv: (kv[1][0], kv[0])):
                    destroy(handle)
            finally:
                self.children.clear()
                self.closed = True
                final, self.final = self.final, None
                if final is not None:
                    final()


class _MultiLock:
    """Several contexts' locks taken together (in a fixed order), for a set over them."""

    def __init__(self, locks):
        self._locks = sorted(set(locks), key=id)

    def acquire(self):
        for lk in self._locks:
            lk.acquire()

    def release(self):
        for lk in reversed(self._locks):
            lk.release()

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()
        return False


def _context_options(cache_dir, binary_dir, binaries_only, force_clblast, device=None):
    lib = L.load()
    opts = L.ContextOptions()
    lib.clnn_context_options_init(ctypes.byref(opts))
    keep = [device, _path_bytes(cache_dir, "cache_dir"), _path_bytes(binary_dir, "binary_dir")]
    opts.device, opts.cache_dir, opts.binary_dir = keep
    opts.binaries_only = 1 if _flag(binaries_only, "binaries_only") else 0
    opts.force_clblast = 1 if _flag(force_clblast, "force_clblast") else 0
    return opts, keep


class Context(_Closeable):
    """A clnn context: one OpenCL device, its in-order queue and kernel programs.

    Context(device=None) picks the device as the C library does: None -> $CLNN_DEVICE, else the
    default device; otherwise a selection string ("cpu", "gpu", "0:1", a name substring), a
    device index or a DeviceInfo. Use it as a context manager or call close(); tensors and
    networks created on it are destroyed (first) when it closes, and using any of them, or the
    context, afterwards raises Error (CLNN_ERROR_INVALID_ARGUMENT).
    """

    def _init_state(self, lock=None):
        self._h = None
        self._lock = lock if lock is not None else threading.RLock()
        self._reg = _Registry(self._lock)

    def __init__(self, device=None, *, cache_dir=None, binary_dir=None, binaries_only=False,
                 force_clblast=False):
        self._init_state()
        lib = L.load()
        opts, self._keep = _context_options(cache_dir, binary_dir, binaries_only, force_clblast,
                                            _selection_bytes(device))
        h = ctypes.c_void_p()
        L.check(lib.clnn_context_create(ctypes.byref(opts), ctypes.byref(h)))
        self._own_handle(h.value, lib.clnn_context_destroy)

    def _own_handle(self, h, destroy):
        self._h = h
        self._reg.final = lambda: destroy(h)
        self._reg.closed = False

    @classmethod
    def _member(cls, handle, lock):
        """A context that a device set created and destroys: close() frees only the tensors
        made through this object."""
        self = cls.__new__(cls)
        self._init_state(lock)
        self._h = handle
        self._reg.closed = False
        return self

    @classmethod
    def wrap(cls, cl_context, cl_device, cl_queue, *, cache_dir=None, binary_dir=None,
             binaries_only=False, force_clblast=False):
        """Wraps existing OpenCL objects (e.g. PyOpenCL's, through their .int_ptr, or raw
        integer handles). clnn retains them; the caller keeps ownership. The handles are passed
        to OpenCL as they are: they must be valid objects of the right kind."""
        self = cls.__new__(cls)
        self._init_state()
        lib = L.load()
        opts, self._keep = _context_options(cache_dir, binary_dir, binaries_only, force_clblast)
        ptrs = [_cl_handle(o, n) for o, n in ((cl_context, "cl_context"), (cl_device, "cl_device"),
                                               (cl_queue, "cl_queue"))]
        h = ctypes.c_void_p()
        L.check(lib.clnn_context_wrap(ptrs[0], ptrs[1], ptrs[2], ctypes.byref(opts),
                                      ctypes.byref(h)))
        self._own_handle(h.value, lib.clnn_context_destroy)
        return self

    # -- lifetime --
    @property
    def closed(self):
        return self._reg.closed

    def _handle(self):
        if self._reg.closed:
            raise invalid("the context is closed")
        return self._h

    def _register(self, order, handle, destroy):
        return self._reg.register(order, handle, destroy)

    def _release(self, token):
        self._reg.release(token)

    def _owns(self, token):
        return self._reg.owns(token)

    def close(self):
        """Destroys every network and tensor created on this context (and a device set made
        over it), then the context. Calling it again does nothing. For a context that belongs
        to a DeviceSet, only the tensors made through this object are freed: close the set."""
        self._reg.close()

    def __enter__(self):
        self._handle()
        return self

    def __repr__(self):
        if self.closed:
            return "<clnn.Context (closed)>"
        try:
            d = self.device
            return f"<clnn.Context {d.selection} {d.name!r}>"
        except Exception:
            return "<clnn.Context>"

    # -- queries and utilities --
    def _call(self, fn, *args):
        with self._lock:
            L.check(fn(self._handle(), *args))

    @property
    def device(self):
        """DeviceInfo of the context's device (index -1 for a wrapped device the loader does
        not list)."""
        lib = L.load()
        st = L.DeviceInfoStruct()
        self._call(lib.clnn_context_device_info, ctypes.byref(st))
        idx = -1
        if st.platform_index >= 0:
            try:
                for d in devices():
                    if (d.platform_index, d.device_index) == (st.platform_index, st.device_index):
                        idx = d.index
                        break
            except Error:
                pass
        return _device_info(st, idx)

    def finish(self):
        """Waits for every operation enqueued on the context."""
        self._call(L.load().clnn_context_finish)

    def selftest(self):
        """Builds and runs a small kernel and checks its result; raises Error if the device
        does not run clnn kernels correctly."""
        self._call(L.load().clnn_context_selftest)

    def cache_stats(self):
        """Kernel-program statistics: dict(hits, misses, builds, build_seconds)."""
        a, b, c = ctypes.c_uint64(), ctypes.c_uint64(), ctypes.c_uint64()
        d = ctypes.c_double()
        self._call(L.load().clnn_context_cache_stats, ctypes.byref(a), ctypes.byref(b),
                   ctypes.byref(c), ctypes.byref(d))
        return {"hits": a.value, "misses": b.value, "builds": c.value, "build_seconds": d.value}

    def export_binaries(self, directory):
        """Builds every kernel program and writes the binaries into `directory`; returns the
        number of programs written."""
        n = ctypes.c_int(0)
        self._call(L.load().clnn_export_binaries, _path_bytes(directory, "directory"),
                   ctypes.byref(n))
        return n.value

    def cl_handles(self):
        """(cl_context, cl_device_id, cl_command_queue) as integers (not retained for you)."""
        a, b, c = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_void_p()
        self._call(L.load().clnn_context_get_cl, ctypes.byref(a), ctypes.byref(b), ctypes.byref(c))
        return a.value, b.value, c.value

    # -- tensor factories --
    def tensor(self, data):
        """A new Tensor holding `data` (converted as described in Tensor)."""
        return Tensor(self, data)

    def empty(self, shape):
        """A new uninitialised Tensor of `shape`."""
        return Tensor(self, shape=shape)

    def zeros(self, shape):
        return self.full(shape, 0.0)

    def full(self, shape, value):
        t = Tensor(self, shape=shape)
        t.fill(value)
        return t


class DeviceSet(_Closeable):
    """Several devices for data-parallel training (clnn_device_set): one Context per device.

    DeviceSet(selection=None): "all" (every device, best first), a comma-separated list in
    CLNN_DEVICE's syntax ("0:0,0:1", "gpu,cpu"; each entry takes the best device no earlier entry
    took), or None ($CLNN_DEVICES, else $CLNN_DEVICE, else the default device). The set owns
    these contexts (`set.contexts`). DeviceSet.wrap([ctx1, ctx2]) makes a set over existing
    contexts (closing one of them closes the set first). Networks made with Net(set, ...) train
    on every device; close() destroys them, then the set."""

    def __init__(self, selection=None, *, cache_dir=None, binary_dir=None, binaries_only=False,
                 force_clblast=False):
        self._lock = threading.RLock()
        self._reg = _Registry(self._lock)
        self._contexts = []
        self._deps = []
        if selection is not None and not isinstance(selection, str):
            raise invalid("selection must be a string ('all', 'gpu,cpu', '0:0,0:1', ...) or None")
        if selection is not None and "\0" in selection:
            raise invalid("selection contains a NUL character")
        lib = L.load()
        opts, self._keep = _context_options(cache_dir, binary_dir, binaries_only, force_clblast)
        h = ctypes.c_void_p()
        L.check(lib.clnn_device_set_create(None if selection is None else selection.encode(),
                                           ctypes.byref(opts), ctypes.byref(h)))
        self._adopt(h.value, owned_contexts=True)

    def _adopt(self, h, owned_contexts):
        lib = L.load()
        destroy = lib.clnn_device_set_destroy
        self._h = h
        self._reg.final = lambda: destroy(h)
        self._reg.closed = False
        if owned_contexts:
            for i in range(lib.clnn_device_set_size(h)):
                c = Context._member(lib.clnn_device_set_context(h, i), self._lock)
                self._contexts.append(c)
                # the members' tensors go after the networks, before the set destroys the contexts
                self._reg.register(1, c._reg, _Registry.close)

    @classmethod
    def wrap(cls, contexts):
        """A set over existing, distinct Contexts (1 to 64), which it does not own."""
        self = cls.__new__(cls)
        self._contexts, self._deps, self._keep = [], [], None
        self._lock = threading.RLock()
        self._reg = _Registry(self._lock)
        if isinstance(contexts, Context):
            contexts = [contexts]
        try:
            contexts = list(contexts)
        except TypeError:
            raise invalid("DeviceSet.wrap takes a list of clnn.Context") from None
        if not contexts or not all(isinstance(c, Context) for c in contexts):
            raise invalid("DeviceSet.wrap takes a non-empty list of clnn.Context")
        if len({id(c) for c in contexts}) != len(contexts):
            raise invalid("DeviceSet.wrap: the contexts must be distinct")
        lock = _MultiLock([c._lock for c in contexts])
        self._lock = lock
        self._reg = _Registry(lock)
        lib = L.load()
        with lock:
            arr = (ctypes.c_void_p * len(contexts))(*[c._handle() for c in contexts])
            h = ctypes.c_void_p()
            L.check(lib.clnn_device_set_wrap(arr, len(contexts), ctypes.byref(h)))
            self._adopt(h.value, owned_contexts=False)
            self._contexts = contexts
            for c in contexts:
                self._deps.append((c, c._reg.register(-1, self._reg, _Registry.close)))
            deps = self._deps
            final = self._reg.final

            def final_and_forget():
                final()
                for c, tok in deps:
                    c._reg.release(tok, destroy=False)
            self._reg.final = final_and_forget
        return self

    @property
    def closed(self):
        return self._reg.closed

    def _handle(self):
        if self._reg.closed:
            raise invalid("the device set is closed")
        return self._h

    def _register(self, order, handle, destroy):
        return self._reg.register(order, handle, destroy)

    def _release(self, token):
        self._reg.release(token)

    def _owns(self, token):
        return self._reg.owns(token)

    def close(self):
        """Destroys the networks made on the set, then the set (and the contexts it created)."""
        self._reg.close()

    def __enter__(self):
        self._handle()
        return self

    @property
    def contexts(self):
        """The set's contexts, in device order."""
        self._handle()
        return list(self._contexts)

    def __len__(self):
        with self._lock:
            return int(L.load().clnn_device_set_size(self._handle()))

    def finish(self):
        """Waits for the work of every device."""
        with self._lock:
            L.check(L.load().clnn_device_set_finish(self._handle()))

    def __repr__(self):
        if self.closed:
            return "<clnn.DeviceSet (closed)>"
        return f"<clnn.DeviceSet of {len(self)} device(s)>"


def _cl_handle(o, what):
    if o is None:
        raise invalid(f"{what} must not be None")
    if hasattr(o, "int_ptr"):
        o = o.int_ptr
    if isinstance(o, ctypes.c_void_p):
        o = o.value
    if not isinstance(o, (int, np.integer)) or isinstance(o, bool) or int(o) == 0:
        raise invalid(f"{what} must be a non-NULL OpenCL handle (an integer or an object with "
                      f".int_ptr)")
    return int(o)


def _check_ctx(ctx):
    if not isinstance(ctx, Context):
        raise invalid(f"expected a clnn.Context as the first argument, not {type(ctx).__name__}")
    ctx._handle()
    return ctx


# ============================================================================================
# NumPy conversion
# ============================================================================================

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


# ============================================================================================
# Tensors
# ============================================================================================

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
