"""clnn: train neural networks on any OpenCL device, from Python.

A ctypes binding of libclnn (no compiler needed). The library is found through $CLNN_LIBRARY,
then next to the package / in the source tree's build/, then the system's library path.

    import numpy as np, clnn
    with clnn.Context("cpu") as ctx:                       # or Context(): $CLNN_DEVICE / default
        x = np.random.rand(2, 3, 8, 8).astype(np.float32)
        w = np.random.rand(4, 3, 3, 3).astype(np.float32)
        y = clnn.conv2d(ctx, x, w, padding=1)              # NumPy in, NumPy out: [2, 4, 8, 8]

Conventions of the operators are in clnn.ops's docstring; errors raise clnn.Error with .status
(the status name, e.g. "CLNN_ERROR_SHAPE_MISMATCH") and .message (the library's explanation).
"""

from ._errors import Error, LibraryNotFoundError, STATUS_CODES, LIBRARY_NOT_FOUND
from ._core import (Context, DeviceSet, Tensor, DeviceInfo, device_count, device_info, devices,
                    select_device, set_log_callback, as_float32, as_int32_labels, wrap_cl_buffer)
from .ops import *  # noqa: F401,F403  (every operator; see clnn.ops.__all__)
from .ops import __all__ as _ops_all
from .nn import (Net, Dataset, LOSSES, OPTIMIZERS, SPLIT_MODES, mpi_available, mpi_init,
                 mpi_finalize)
from .graph import Graph, Value, default_context
from ._model import Model, SCHEDULES
from .augment import Augmentation
from .fit import (History, Callback, EarlyStopping, ModelCheckpoint, LearningRateScheduler,
                  LRSchedule, ReduceLROnPlateau, plot_history)

__version__ = "0.3.0"

MAX_DIMS = 5


def library_path():
    """The path of the libclnn this package loaded (loading it if needed)."""
    from . import _lib
    return _lib.load().path


__all__ = ["Error", "LibraryNotFoundError", "STATUS_CODES", "LIBRARY_NOT_FOUND", "Context",
           "DeviceSet", "SPLIT_MODES", "mpi_available", "mpi_init", "mpi_finalize", "Tensor", "DeviceInfo", "device_count", "device_info", "devices", "select_device",
           "set_log_callback", "as_float32", "as_int32_labels", "wrap_cl_buffer", "Net",
           "Dataset", "Augmentation", "LOSSES", "OPTIMIZERS", "library_path", "MAX_DIMS",
           "Graph", "Value", "Model", "SCHEDULES", "default_context",
           "History", "Callback", "EarlyStopping", "ModelCheckpoint", "LearningRateScheduler",
           "LRSchedule", "ReduceLROnPlateau", "plot_history",
           "__version__"] + list(_ops_all)
