"""The OpenCL devices clnn sees: listing (device_count, devices, device_info) and selection
(select_device, and the device argument of Context) (src/runtime/device.c)."""

import ctypes
from dataclasses import dataclass

import numpy as np

from . import _lib as L
from ._convert import _int
from ._errors import invalid

_DEVICE_TYPES = {0: "other", 1: "cpu", 2: "gpu", 3: "accelerator"}


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
