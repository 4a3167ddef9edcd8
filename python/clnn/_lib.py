"""Loading libclnn with ctypes, and the C declarations the package uses.

Where the library comes from (the first that applies):

1. ``$CLNN_LIBRARY``: a path to libclnn.so (or .dylib / .dll). If it is set and cannot be
   loaded, that is an error; nothing else is tried.
2. A libclnn next to the package (``clnn/libclnn.so``: where ``pip install ./python`` puts the
   one it builds), then in a ``build/`` directory of the
   source tree the package sits in (``python/clnn/../../build/libclnn.so``, so a just-built
   checkout works without installing).
3. ``ctypes.util.find_library("clnn")`` (an installed library the system linker knows), then the
   plain and versioned names through the dynamic loader's own search (LD_LIBRARY_PATH), then
   ``<sys.prefix>/lib`` and ``/usr/local/lib`` (an install the loader cache does not list yet).

The library is loaded on first use, not at import, so ``import clnn`` always works. Every
function is declared with its argument and result types; a function this libclnn does not export
(an older build) raises :class:`clnn.Error` with status ``CLNN_ERROR_UNSUPPORTED`` when called.
"""

import ctypes
import ctypes.util
import os
import re
import sys
import threading

from ._errors import Error, LibraryNotFoundError, status_name

c_int = ctypes.c_int
c_uint = ctypes.c_uint
c_float = ctypes.c_float
c_double = ctypes.c_double
c_size_t = ctypes.c_size_t
c_uint64 = ctypes.c_uint64
c_int32 = ctypes.c_int32
c_char_p = ctypes.c_char_p
c_void_p = ctypes.c_void_p
P = ctypes.POINTER

MAX_DIMS = 5


# ---- structs (field order and types exactly as in include/clnn.h) ----------------------------
# tests/test_abi_layout.py compares every mirror here and in graph.py with the C sizeof/offsetof
# (printed by the clnn_abi_layout program the build makes) and with the headers' field names.

class SizedStructure(ctypes.Structure):
    """A versioned C struct (docs/ABI.md): its first field, struct_size, is set to the struct's
    sizeof when it is made, as the C _init functions do. Positional arguments fill the fields
    after struct_size, in order."""

    def __init__(self, *args, **kwargs):
        names = [f[0] for f in self._fields_[1:]]
        if len(args) > len(names):
            raise TypeError("%s takes at most %d positional fields"
                            % (type(self).__name__, len(names)))
        kwargs.update(zip(names, args))
        super().__init__(struct_size=ctypes.sizeof(type(self)), **kwargs)


SIZE_FIELD = ("struct_size", ctypes.c_uint32)

class DeviceInfoStruct(SizedStructure):
    _fields_ = [
        SIZE_FIELD,
        ("platform_index", c_int),
        ("device_index", c_int),
        ("platform_name", ctypes.c_char * 128),
        ("name", ctypes.c_char * 128),
        ("vendor", ctypes.c_char * 128),
        ("driver_version", ctypes.c_char * 64),
        ("opencl_c_version", ctypes.c_char * 64),
        ("device_version", ctypes.c_char * 128),
        ("type", c_int),
        ("compute_units", c_uint),
        ("clock_mhz", c_uint),
        ("preferred_vector_width_float", c_uint),
        ("global_mem_bytes", c_uint64),
        ("local_mem_bytes", c_uint64),
        ("max_alloc_bytes", c_uint64),
        ("max_work_group_size", c_size_t),
        ("fp16", c_int),
        ("fp64", c_int),
        ("compiler_available", c_int),
        ("est_peak_gflops", c_double),
    ]


class ContextOptions(SizedStructure):
    _fields_ = [
        SIZE_FIELD,
        ("device", c_char_p),
        ("cache_dir", c_char_p),
        ("binary_dir", c_char_p),
        ("binaries_only", c_int),
        ("force_clblast", c_int),
        ("device_class", c_int),  # clnn_device_type; 0: $CLNN_DEVICE_CLASS, else the device's type
        ("max_work_group_size", c_size_t),  # 0: $CLNN_DEVICE_LIMITS, else the device's limit
        ("max_local_mem_bytes", c_uint64),  # 0: $CLNN_DEVICE_LIMITS, else the device's
    ]


class Conv2dParams(SizedStructure):
    _fields_ = [
        SIZE_FIELD,
        ("stride_h", c_int), ("stride_w", c_int),
        ("pad_top", c_int), ("pad_bottom", c_int), ("pad_left", c_int), ("pad_right", c_int),
        ("dilation_h", c_int), ("dilation_w", c_int),
        ("groups", c_int),
    ]


class Pool2dParams(SizedStructure):
    _fields_ = [
        SIZE_FIELD,
        ("kernel_h", c_int), ("kernel_w", c_int),
        ("stride_h", c_int), ("stride_w", c_int),
        ("pad_top", c_int), ("pad_bottom", c_int), ("pad_left", c_int), ("pad_right", c_int),
        ("count_include_pad", c_int),
    ]


class SgdParams(SizedStructure):
    _fields_ = [SIZE_FIELD, ("lr", c_float), ("momentum", c_float), ("dampening", c_float),
                ("weight_decay", c_float), ("nesterov", c_int), ("first_step", c_int)]


class AdamParams(SizedStructure):
    _fields_ = [SIZE_FIELD, ("lr", c_float), ("beta1", c_float), ("beta2", c_float),
                ("eps", c_float),
                ("weight_decay", c_float), ("decoupled_weight_decay", c_int)]


class RmspropParams(SizedStructure):
    _fields_ = [SIZE_FIELD, ("lr", c_float), ("alpha", c_float), ("eps", c_float),
                ("weight_decay", c_float), ("momentum", c_float)]


class AdagradParams(SizedStructure):
    _fields_ = [SIZE_FIELD, ("lr", c_float), ("eps", c_float), ("weight_decay", c_float)]


class OptimizerConfig(SizedStructure):
    _fields_ = [
        SIZE_FIELD,
        ("type", c_int),
        ("lr", c_float),
        ("weight_decay", c_float),
        ("momentum", c_float),
        ("dampening", c_float),
        ("nesterov", c_int),
        ("beta1", c_float),
        ("beta2", c_float),
        ("alpha", c_float),
        ("eps", c_float),
        ("clip_grad_norm", c_float),
    ]


class RnnParams(SizedStructure):  # clnn_rnn_params: lengths, reverse of the LSTM/GRU calls
    _fields_ = [SIZE_FIELD, ("lengths", ctypes.POINTER(ctypes.c_int32)),
                ("num_lengths", ctypes.c_size_t), ("reverse", ctypes.c_int)]


class AugmentOptions(SizedStructure):  # clnn_augment_options (include/clnn_nn.h)
    _fields_ = [
        SIZE_FIELD,
        ("max_shift", c_int),
        ("hflip", c_int),
        ("max_rotate_deg", c_float),
        ("noise_std", c_float),
        ("seed", c_uint64),
    ]


class AugmentDraw(ctypes.Structure):  # clnn_augment_draw (include/clnn_nn.h)
    _fields_ = [
        ("dx", c_int),
        ("dy", c_int),
        ("flip", c_int),
        ("angle_deg", c_float),
        ("noise_std", c_float),
        ("noise_seed", c_uint64),
    ]


LOG_FN = ctypes.CFUNCTYPE(None, c_int, c_char_p, c_void_p)

S = c_int            # clnn_status
H = c_void_p         # any opaque handle (clnn_context *, clnn_tensor *, clnn_net *, ...)
PH = P(c_void_p)     # handle out-pointer
DIMS = P(c_size_t)   # const size_t *dims
F = P(c_float)
I32 = P(c_int32)

# name: (result type, [argument types])
_DECLS = {
    # status, errors, logging
    "clnn_version": (c_char_p, []),
    "clnn_status_string": (c_char_p, [c_int]),
    "clnn_last_error": (c_char_p, []),
    "clnn_set_log_callback": (None, [LOG_FN, c_int, c_void_p]),
    # devices
    "clnn_device_count": (S, [P(c_int)]),
    "clnn_device_get_info": (S, [c_int, P(DeviceInfoStruct)]),
    "clnn_device_select": (S, [c_char_p, P(c_int), ctypes.c_char_p, c_size_t]),
    # contexts
    "clnn_context_options_init": (None, [P(ContextOptions)]),
    "clnn_context_create": (S, [P(ContextOptions), PH]),
    "clnn_context_wrap": (S, [c_void_p, c_void_p, c_void_p, P(ContextOptions), PH]),
    "clnn_context_destroy": (None, [H]),
    "clnn_context_get_cl": (S, [H, PH, PH, PH]),
    "clnn_context_device_info": (S, [H, P(DeviceInfoStruct)]),
    "clnn_context_finish": (S, [H]),
    "clnn_context_selftest": (S, [H]),
    "clnn_context_cache_stats": (S, [H, P(c_uint64), P(c_uint64), P(c_uint64), P(c_double)]),
    "clnn_export_binaries": (S, [H, c_char_p, P(c_int)]),
    # tensors
    "clnn_tensor_create": (S, [H, c_int, DIMS, PH]),
    "clnn_tensor_wrap": (S, [H, c_void_p, c_int, DIMS, PH]),
    "clnn_tensor_destroy": (None, [H]),
    "clnn_tensor_write": (S, [H, c_void_p, c_size_t]),
    "clnn_tensor_read": (S, [H, c_void_p, c_size_t]),
    "clnn_tensor_fill": (S, [H, c_float]),
    "clnn_tensor_copy": (S, [H, H]),
    "clnn_tensor_reshape": (S, [H, c_int, DIMS]),
    "clnn_tensor_ndim": (c_int, [H]),
    "clnn_tensor_dim": (c_size_t, [H, c_int]),
    "clnn_tensor_numel": (c_size_t, [H]),
    "clnn_tensor_cl_mem": (c_void_p, [H]),
    "clnn_tensor_context": (c_void_p, [H]),
    # device sets
    "clnn_device_set_create": (S, [c_char_p, P(ContextOptions), PH]),
    "clnn_device_set_wrap": (S, [P(c_void_p), c_int, PH]),
    "clnn_device_set_destroy": (None, [H]),
    "clnn_device_set_size": (c_int, [H]),
    "clnn_device_set_context": (c_void_p, [H, c_int]),
    "clnn_device_set_finish": (S, [H]),
    # GEMM
    "clnn_gemm": (S, [H, c_int, c_int, c_float, H, H, c_float, H]),
    "clnn_gemm_batched": (S, [H, c_int, c_int, c_float, H, H, c_float, H]),
    # activations and elementwise
    "clnn_activation_forward": (S, [H, c_int, c_float, H, H]),
    "clnn_activation_backward": (S, [H, c_int, c_float, H, H, H, c_float, H]),
    "clnn_add": (S, [H, H, H, H]),
    "clnn_mul": (S, [H, H, H, H]),
    "clnn_scale": (S, [H, c_float, H]),
    "clnn_axpy": (S, [H, c_float, H, H]),
    "clnn_bias_add": (S, [H, H, H]),
    # softmax and losses
    "clnn_softmax_forward": (S, [H, H, H]),
    "clnn_softmax_backward": (S, [H, H, H, c_float, H]),
    "clnn_log_softmax_forward": (S, [H, H, H]),
    "clnn_log_softmax_backward": (S, [H, H, H, c_float, H]),
    "clnn_softmax_cross_entropy": (S, [H, H, I32, c_size_t, H, H]),
    "clnn_bce_with_logits": (S, [H, H, H, H, H]),
    "clnn_mse_loss": (S, [H, H, H, H, H]),
    # dropout
    "clnn_dropout_forward": (S, [H, c_float, c_uint64, c_uint64, H, H]),
    "clnn_dropout_backward": (S, [H, c_float, c_uint64, c_uint64, H, c_float, H]),
    # dense
    "clnn_dense_forward": (S, [H, H, H, H, H]),
    "clnn_dense_backward_data": (S, [H, H, H, c_float, H]),
    "clnn_dense_backward_weights": (S, [H, H, H, c_float, H, H]),
    # convolution
    "clnn_conv2d_params_init": (None, [P(Conv2dParams)]),
    "clnn_conv2d_output_dims": (S, [DIMS, DIMS, P(Conv2dParams), DIMS]),
    "clnn_conv2d_workspace_size": (S, [H, P(Conv2dParams), c_int, DIMS, DIMS, P(c_size_t)]),
    "clnn_conv2d_forward": (S, [H, P(Conv2dParams), c_int, H, H, H, c_int, c_float, H]),
    "clnn_conv2d_backward_data": (S, [H, P(Conv2dParams), c_int, H, H, c_float, H]),
    "clnn_conv2d_backward_filter": (S, [H, P(Conv2dParams), c_int, H, H, c_float, H]),
    "clnn_conv2d_backward_bias": (S, [H, H, c_float, H]),
    "clnn_conv_transpose2d_output_dims": (S, [DIMS, DIMS, P(Conv2dParams), DIMS]),
    "clnn_conv_transpose2d_forward": (S, [H, P(Conv2dParams), c_int, H, H, H, H]),
    "clnn_conv_transpose2d_backward_data": (S, [H, P(Conv2dParams), c_int, H, H, c_float, H]),
    "clnn_conv_transpose2d_backward_filter": (S, [H, P(Conv2dParams), c_int, H, H, c_float, H]),
    # pooling
    "clnn_pool2d_params_init": (None, [P(Pool2dParams), c_int]),
    "clnn_pool2d_output_dims": (S, [DIMS, P(Pool2dParams), DIMS]),
    "clnn_maxpool2d_forward": (S, [H, P(Pool2dParams), H, H]),
    "clnn_maxpool2d_backward": (S, [H, P(Pool2dParams), H, H, c_float, H]),
    "clnn_maxpool2d_forward_indices": (S, [H, P(Pool2dParams), H, H, H]),
    "clnn_maxpool2d_backward_indices": (S, [H, P(Pool2dParams), H, H, c_float, H]),
    "clnn_avgpool2d_forward": (S, [H, P(Pool2dParams), H, H]),
    "clnn_avgpool2d_backward": (S, [H, P(Pool2dParams), H, c_float, H]),
    "clnn_global_avgpool_forward": (S, [H, H, H]),
    "clnn_global_avgpool_backward": (S, [H, H, c_float, H]),
    # batch normalisation
    "clnn_batchnorm_forward_training": (S, [H, H, H, H, c_float, c_float, H, H, H, H, H]),
    "clnn_batchnorm_forward_inference": (S, [H, H, H, H, H, H, c_float, H]),
    "clnn_batchnorm_backward": (S, [H, H, H, H, H, H, c_float, H, H, H]),
    "clnn_batchnorm_backward_inference": (S, [H, H, H, H, H, H, c_float, c_float, H, H, H]),
    # LSTM
    "clnn_lstm_gates_forward": (S, [H, H, H, H, H]),
    "clnn_lstm_gates_backward": (S, [H, H, H, H, H, H, H, H]),
    "clnn_lstm_reserve_numel": (c_size_t, [c_size_t, c_size_t, c_size_t]),
    "clnn_lstm_forward": (S, [H, H, H, H, H, H, H, H, H, H, H]),
    "clnn_lstm_backward": (S, [H, H, H, H, H, H, H, H, H, H, H, c_float,
                               H, H, H, H, H, H]),
    # GRU
    "clnn_gru_reserve_numel": (c_size_t, [c_size_t, c_size_t, c_size_t]),
    "clnn_gru_forward": (S, [H, ctypes.c_void_p, H, H, H, H, H, H, H, H, H]),
    "clnn_gru_backward": (S, [H, ctypes.c_void_p, H, H, H, H, H, H, H, c_float,
                              H, H, H, H, H, H]),
    # optimizers
    "clnn_sgd_step": (S, [H, P(SgdParams), H, H, H]),
    "clnn_adam_step": (S, [H, P(AdamParams), c_int, H, H, H, H]),
    "clnn_rmsprop_step": (S, [H, P(RmspropParams), H, H, H, H]),
    "clnn_adagrad_step": (S, [H, P(AdagradParams), H, H, H]),
    "clnn_clip_grad_norm": (S, [H, P(c_void_p), c_size_t, c_float, P(c_float)]),
    # datasets
    "clnn_dataset_load_idx": (S, [c_char_p, c_char_p, PH]),
    "clnn_dataset_create": (S, [c_size_t, c_int, DIMS, F, c_size_t, I32, c_size_t, PH]),
    "clnn_dataset_destroy": (None, [H]),
    "clnn_dataset_size": (c_size_t, [H]),
    "clnn_dataset_sample_numel": (c_size_t, [H]),
    "clnn_dataset_sample_dims": (c_int, [H, DIMS]),
    "clnn_dataset_num_classes": (c_int, [H]),
    "clnn_dataset_data": (c_void_p, [H]),
    "clnn_dataset_labels": (c_void_p, [H]),
    "clnn_dataset_shuffle": (S, [H, c_uint64]),
    "clnn_dataset_batch": (S, [H, c_size_t, c_size_t, F, c_size_t, I32, c_size_t]),
    # augmentation
    "clnn_augment_options_init": (None, [P(AugmentOptions)]),
    "clnn_augment_apply": (S, [P(AugmentDraw), c_size_t, c_size_t, c_size_t, F, c_size_t]),
    "clnn_augment_images": (S, [P(AugmentOptions), c_uint64, c_size_t, c_size_t, c_size_t,
                                c_size_t, F, c_size_t, P(AugmentDraw), c_size_t]),
    "clnn_dataset_set_augmentation": (S, [H, P(AugmentOptions)]),
    "clnn_dataset_get_augmentation": (c_int, [H, P(AugmentOptions)]),
    "clnn_dataset_batch_augmented": (S, [H, c_size_t, c_size_t, F, c_size_t, I32, c_size_t]),
    # networks
    "clnn_optimizer_config_init": (None, [P(OptimizerConfig), c_int, c_float]),
    "clnn_net_create": (S, [H, c_int, DIMS, c_uint64, PH]),
    "clnn_net_destroy": (None, [H]),
    "clnn_net_add_conv2d": (S, [H, c_int, c_int, c_int, c_int]),
    "clnn_net_add_conv2d_ex": (S, [H, c_int, c_int, c_int, P(Conv2dParams), c_int]),
    "clnn_net_add_conv_transpose2d": (S, [H, c_int, c_int, c_int, c_int]),
    "clnn_net_add_conv_transpose2d_ex": (S, [H, c_int, c_int, c_int, P(Conv2dParams), c_int]),
    "clnn_net_add_maxpool2d": (S, [H, c_int, c_int, c_int]),
    "clnn_net_add_avgpool2d": (S, [H, c_int, c_int, c_int]),
    "clnn_net_add_pool2d_ex": (S, [H, c_int, P(Pool2dParams)]),
    "clnn_net_add_global_avgpool": (S, [H]),
    "clnn_net_add_dense": (S, [H, c_int]),
    "clnn_net_add_activation": (S, [H, c_int, c_float]),
    "clnn_net_add_dropout": (S, [H, c_float]),
    "clnn_net_add_batchnorm": (S, [H, c_float, c_float]),
    "clnn_net_add_flatten": (S, [H]),
    "clnn_net_add_lstm": (S, [H, c_int, c_int]),
    "clnn_net_set_layer_name": (S, [H, c_int, c_char_p]),
    "clnn_net_set_loss": (S, [H, c_int]),
    "clnn_net_set_optimizer": (S, [H, P(OptimizerConfig)]),
    "clnn_net_set_learning_rate": (S, [H, c_float]),
    "clnn_net_train_step": (S, [H, F, c_size_t, c_size_t, I32, c_size_t, F, c_size_t,
                                P(c_float)]),
    "clnn_net_compute_gradients": (S, [H, F, c_size_t, c_size_t, I32, c_size_t, F, c_size_t,
                                       P(c_float)]),
    "clnn_net_train_epoch": (S, [H, H, c_size_t, P(c_float)]),
    "clnn_net_predict": (S, [H, F, c_size_t, c_size_t, F, c_size_t]),
    "clnn_net_accuracy": (S, [H, F, c_size_t, I32, c_size_t, c_size_t, c_size_t, P(c_float)]),
    "clnn_net_evaluate": (S, [H, H, c_size_t, P(c_float), P(c_float)]),
    "clnn_net_num_layers": (c_int, [H]),
    "clnn_net_layer_name": (c_char_p, [H, c_int]),
    "clnn_net_output_dims": (c_int, [H, c_int, DIMS]),
    "clnn_net_num_params": (c_size_t, [H]),
    "clnn_net_param_name": (c_char_p, [H, c_size_t]),
    "clnn_net_param": (S, [H, c_char_p, PH, PH]),
    "clnn_net_num_trainable": (c_size_t, [H]),
    "clnn_net_step_count": (c_uint64, [H]),
    "clnn_net_summary": (S, [H, ctypes.c_char_p, c_size_t]),
    "clnn_net_save": (S, [H, c_char_p, c_int]),
    "clnn_net_load": (S, [H, c_char_p]),
    # several devices, MPI
    "clnn_net_create_parallel": (S, [H, c_int, DIMS, c_uint64, PH]),
    "clnn_net_num_devices": (c_int, [H]),
    "clnn_net_set_split": (S, [H, c_int, P(c_double), c_int]),
    "clnn_net_get_split": (S, [H, P(c_double), c_int, P(c_int)]),
    "clnn_mpi_available": (c_int, []),
    "clnn_mpi_init": (S, [c_void_p, c_void_p, P(c_int), P(c_int)]),
    "clnn_mpi_finalize": (S, []),
    "clnn_net_set_mpi": (S, [H, c_void_p]),
    "clnn_net_mpi_rank": (S, [H, P(c_int), P(c_int)]),
}


# The C API these declarations are written for (CLNN_VERSION_MAJOR.MINOR of include/clnn.h).
# Before 1.0 a minor version may change signatures (0.2 added the host-buffer counts, 0.3 the
# struct_size of every struct passed by pointer), so a
# libclnn of another MAJOR.MINOR is refused when loaded instead of being called with the wrong
# arguments.
ABI_VERSION = (0, 3)


def _lib_names():
    if sys.platform == "darwin":
        return ["libclnn.dylib", "libclnn.%d.%d.dylib" % ABI_VERSION]
    if os.name == "nt":
        return ["clnn.dll", "libclnn.dll"]
    return ["libclnn.so", "libclnn.so.%d.%d" % ABI_VERSION]


def _abi_mismatch(cdll, path):
    """None when the library's version has this package's MAJOR.MINOR, else why not."""
    try:
        fn = cdll.clnn_version
    except AttributeError:
        return f"{path} does not export clnn_version (not a libclnn?)"
    fn.restype = c_char_p
    fn.argtypes = []
    v = (fn() or b"").decode("ascii", "replace")
    try:
        major, minor = (int(t) for t in v.split(".")[:2])
    except ValueError:
        return f"{path} reports version {v!r}"
    if (major, minor) != ABI_VERSION:
        return (f"{path} is libclnn {v}, but this clnn package needs {ABI_VERSION[0]}."
                f"{ABI_VERSION[1]}.x (the C API differs between minor versions before 1.0); "
                f"rebuild the library or use the package from the same source tree")
    return None


def candidate_paths():
    """Where the library is looked for, in order (after $CLNN_LIBRARY), for error messages."""
    here = os.path.dirname(os.path.abspath(__file__))
    dirs = [here, os.path.join(here, "..", "..", "build"), os.path.join(here, "..", "build")]
    out = []
    for d in dirs:
        for n in _lib_names():
            out.append(os.path.normpath(os.path.join(d, n)))
    return out


class _Library:
    """The loaded libclnn: ``lib.clnn_xxx`` is the declared ctypes function."""

    def __init__(self, cdll, path):
        self._cdll = cdll
        self.path = path
        self._missing = set()
        for name, (restype, argtypes) in _DECLS.items():
            try:
                fn = getattr(cdll, name)
            except AttributeError:
                self._missing.add(name)
                continue
            fn.restype = restype
            fn.argtypes = argtypes
            setattr(self, name, fn)

    def has(self, name):
        return name not in self._missing and name in _DECLS

    def __getattr__(self, name):
        # only reached for names not set in __init__
        if name.startswith("clnn_"):
            raise Error("CLNN_ERROR_UNSUPPORTED",
                        f"{name} is not exported by {self.path} (a libclnn built before this "
                        f"function existed?); rebuild or point CLNN_LIBRARY at a newer one")
        raise AttributeError(name)


_lock = threading.Lock()
_lib = None


def _try_load(path):
    try:
        cdll = ctypes.CDLL(path)
    except OSError as e:
        return e
    why = _abi_mismatch(cdll, path)
    return OSError(why) if why else cdll


def load():
    """Loads libclnn (once) and returns the declared library object."""
    global _lib
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is not None:
            return _lib
        env = os.environ.get("CLNN_LIBRARY")
        if env:
            r = _try_load(env)
            if isinstance(r, OSError):
                raise LibraryNotFoundError(
                    f"CLNN_LIBRARY={env} could not be loaded: {r}{_dependency_hint([str(r)])}")
            _lib = _Library(r, env)
            return _lib
        tried = []
        for p in candidate_paths():
            if os.path.exists(p):
                r = _try_load(p)
                if not isinstance(r, OSError):
                    _lib = _Library(r, p)
                    return _lib
                tried.append(f"{p} ({r})")
            else:
                tried.append(p)
        found = ctypes.util.find_library("clnn")
        if found:
            r = _try_load(found)
            if not isinstance(r, OSError):
                _lib = _Library(r, found)
                return _lib
            tried.append(f"{found} ({r})")
        for n in _lib_names():
            r = _try_load(n)
            if not isinstance(r, OSError):
                _lib = _Library(r, n)
                return _lib
        # installs the loader cache does not know yet (no ldconfig after cmake --install)
        for d in (os.path.join(sys.prefix, "lib"), "/usr/local/lib", "/usr/local/lib64"):
            for n in _lib_names():
                p = os.path.join(d, n)
                if os.path.exists(p):
                    r = _try_load(p)
                    if not isinstance(r, OSError):
                        _lib = _Library(r, p)
                        return _lib
                    tried.append(f"{p} ({r})")
        tried.append("ctypes.util.find_library('clnn'), the dynamic loader's search path, "
                     f"{sys.prefix}/lib, /usr/local/lib")
        hint = _dependency_hint(tried)
        if hint:  # a libclnn was found but a system library it links is missing
            raise LibraryNotFoundError("libclnn could not be loaded" + hint + ". Looked in: " +
                                       "; ".join(tried))
        raise LibraryNotFoundError(
            "libclnn not found. pip install ./python (from a clnn checkout) builds it into the "
            "package; or build it (cmake -S . -B build && cmake --build build) or install it, or "
            "set CLNN_LIBRARY to the path of libclnn.so. Looked in: " + "; ".join(tried))


# System libraries libclnn links, and the Debian/Ubuntu package that provides each (a wheel
# built by pip install ./python links them; they are not inside the package).
_SYSTEM_LIBS = {"libOpenCL.so": "ocl-icd-libopencl1", "libclblast.so": "libclblast1",
                "libcjson.so": "libcjson1", "libz.so": "zlib1g", "libprotobuf-c.so": "libprotobuf-c1",
                "libmpi.so": "libopenmpi3"}


def _dependency_hint(errors):
    """', which needs ...: apt-get install <package>' for a dlopen error naming a missing system
    library, else ''."""
    for e in errors:
        m = re.search(r"(lib[A-Za-z0-9_+-]+\.so)(\.[0-9.]*)?: cannot open shared object", e)
        if m:
            pkg = _SYSTEM_LIBS.get(m.group(1))
            how = (f"apt-get install {pkg} on Debian/Ubuntu, or run tools/install-deps.sh" if pkg
                   else "install the package that provides it")
            return (f": it needs the system library {m.group(0).split(':')[0]}, which is not "
                    f"installed ({how})")
    return ""


def last_error():
    lib = load()
    msg = lib.clnn_last_error()
    return msg.decode("utf-8", "replace") if msg else ""


def raise_status(code):
    """Raises clnn.Error for a failed call's status, with clnn_last_error()."""
    lib = load()
    name = lib.clnn_status_string(code)
    name = name.decode() if name else status_name(code)
    raise Error(name, last_error(), code=code)


def check(code):
    if code != 0:
        raise_status(code)
