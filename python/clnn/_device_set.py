"""DeviceSet: several devices for data-parallel training, one Context each
(src/runtime/device_set.c)."""

import ctypes
import threading

from . import _lib as L
from ._context import Context, _Closeable, _MultiLock, _Registry, _context_options
from ._errors import invalid


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
