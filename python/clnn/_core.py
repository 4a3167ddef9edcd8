"""Devices, contexts, tensors, and the NumPy conversion rules: the names the rest of the package
(and its tests) import from clnn._core, gathered from the modules that define them:

- _device.py      DeviceInfo, device_count, device_info, devices, select_device
- _log.py         set_log_callback
- _context.py     Context, and the lifetime machinery (_Closeable, _Registry, _check_ctx)
- _device_set.py  DeviceSet
- _tensor.py      Tensor, wrap_cl_buffer, as_float32
- _convert.py     as_int32_labels and the checks of int, flag, number, path and shape arguments
"""

from ._convert import (_check_shape, _dims, _flag, _float, _int, _path_bytes,  # noqa: F401
                       as_int32_labels)
from ._device import (L_NO_DEVICE, _DEVICE_TYPES, DeviceInfo, _device_info, _s,  # noqa: F401
                      _selection_bytes, device_count, device_info, devices, select_device)
from ._log import _LEVELS, set_log_callback  # noqa: F401
from ._context import (Context, _Closeable, _MultiLock, _Registry, _check_ctx,  # noqa: F401
                       _cl_handle, _context_options)
from ._device_set import DeviceSet  # noqa: F401
from ._tensor import Tensor, _kind_name, as_float32, wrap_cl_buffer  # noqa: F401
from ._errors import Error, invalid, shape_mismatch  # noqa: F401
