"""Contexts (one device, its queue and kernel programs; src/runtime/context.c) and the lifetime
machinery that frees what was made on a context or device set before the owner itself."""

import ctypes
import itertools
import threading

import numpy as np

from . import _lib as L
from ._convert import _flag, _path_bytes
from ._device import _device_info, _selection_bytes, devices
from ._errors import Error, invalid


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

    # -- tensor factories (clnn._tensor imports this module, so Tensor is imported when called) --
    def tensor(self, data):
        """A new Tensor holding `data` (converted as described in Tensor)."""
        from ._tensor import Tensor
        return Tensor(self, data)

    def empty(self, shape):
        """A new uninitialised Tensor of `shape`."""
        from ._tensor import Tensor
        return Tensor(self, shape=shape)

    def zeros(self, shape):
        return self.full(shape, 0.0)

    def full(self, shape, value):
        from ._tensor import Tensor
        t = Tensor(self, shape=shape)
        t.fill(value)
        return t


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
