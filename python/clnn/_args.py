"""Argument handling shared by the network API (nn.py) and the graph layer (graph.py, _model.py):
the optimizer settings of set_optimizer, kernel sizes and load_state_dict's arrays."""

import ctypes

from . import _lib as L
from ._core import _flag, _float, as_float32
from ._errors import invalid, shape_mismatch
from .ops import _cint

OPTIMIZERS = {"sgd": 0, "adam": 1, "adamw": 2, "rmsprop": 3, "adagrad": 4}

_FLOAT_OPTIONS = ("weight_decay", "momentum", "dampening", "beta1", "beta2", "alpha", "eps",
                  "clip_grad_norm")


def optimizer_config(kind, lr, options):
    """The C configuration (L.OptimizerConfig) of set_optimizer(kind, lr, **options): kind one of
    OPTIMIZERS, lr >= 0; options weight_decay, momentum, dampening, nesterov, beta1, beta2 (or
    betas=(b1, b2)), alpha, eps, clip_grad_norm. Raises clnn.Error (invalid argument) otherwise."""
    if not isinstance(kind, str) or kind.lower() not in OPTIMIZERS:
        raise invalid(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {kind!r}")
    cfg = L.OptimizerConfig()
    L.load().clnn_optimizer_config_init(ctypes.byref(cfg), OPTIMIZERS[kind.lower()],
                                        _float(lr, "lr"))
    options = dict(options)
    if "betas" in options:
        b = options.pop("betas")
        if not isinstance(b, (tuple, list)) or len(b) != 2:
            raise invalid("betas must be a pair (beta1, beta2)")
        options["beta1"], options["beta2"] = b
    for k, v in options.items():
        if k == "nesterov":
            cfg.nesterov = 1 if _flag(v, "nesterov") else 0
        elif k in _FLOAT_OPTIONS:
            setattr(cfg, k, _float(v, k))
        else:
            raise invalid(f"set_optimizer: unknown option {k!r}")
    return cfg


def _kernel(k):
    """kernel_size: an int or (h, w); returns (h, w)."""
    if isinstance(k, (tuple, list)):
        if len(k) != 2:
            raise invalid(f"kernel_size must be an int or (h, w), got {k!r}")
        return _cint(k[0], "kernel_size"), _cint(k[1], "kernel_size")
    k = _cint(k, "kernel_size")
    return k, k


def load_state(state, tensor_of):
    """load_state_dict: writes every array of the mapping state {name: array} into the tensor
    tensor_of(name) returns (its shape must match)."""
    if not hasattr(state, "items"):
        raise invalid("load_state_dict: state must be a mapping {name: array}")
    for n, a in state.items():
        t = tensor_of(n)
        arr = as_float32(a, f"state[{n!r}]")
        if arr.shape != t.shape:
            raise shape_mismatch(f"load_state_dict: {n} has shape {t.shape}, got {arr.shape}")
        t.write(arr)
