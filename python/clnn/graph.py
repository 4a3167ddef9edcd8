"""Graph models (clnn_graph_* / clnn_model_*): networks of named values built functionally.

    g = clnn.Graph()
    x = g.input("image", (1, 8, 8))                  # per-sample shape; float32
    label = g.input("label", (), dtype="int32")      # one class id per sample
    h = g.relu(g.conv2d(x, 16, 3, padding=1))
    h = g.relu(g.add(g.conv2d(h, 16, 3, padding=1), h))        # a residual block
    logits = g.dense(g.flatten(h), 10, name="head")
    g.loss("softmax_cross_entropy", logits, label)
    g.output(logits)
    m = clnn.Model(g, ctx, seed=0)                   # ctx None: clnn.default_context()
    loss = m.train_step({x: xb, label: yb})           # feeds: Value (or name) -> array / Tensor
    probs = m.predict({x: xb})                        # NumPy [N, 10]

A Graph lives on the host; a Model is the graph on a context, with its parameters, gradients,
optimizer state and buffers (backward is automatic). The ctypes prototypes of these functions are
declared here (not in _lib._DECLS); a function the loaded libclnn lacks raises Error
CLNN_ERROR_UNSUPPORTED when called. clnn.Model is in clnn/_model.py.
"""

import atexit
import ctypes
import os
import re
import threading

import numpy as np

from . import _lib as L
from ._args import _kernel
from ._core import Context, _Closeable, _flag, _float, _int, _path_bytes
from ._errors import Error, invalid, shape_mismatch
from .ops import _act, _conv_params, _cint, _pool_params

__all__ = ["Graph", "Value", "default_context", "has_function"]  # Model: clnn/_model.py

_LOSS_KINDS = {"softmax_cross_entropy": 0, "cross_entropy": 0, "bce_with_logits": 1, "mse": 2}
_DTYPES = {"float32": 0, "float": 0, "int32": 1, "int": 1}


class Feed(ctypes.Structure):
    """clnn_feed (frozen: no struct_size, callers pass arrays of it)."""
    _fields_ = [("value", ctypes.c_int), ("host", ctypes.c_void_p), ("count", ctypes.c_size_t),
                ("tensor", ctypes.c_void_p)]


class RnnOptions(L.SizedStructure):
    """clnn_graph_rnn_options."""
    _fields_ = [L.SIZE_FIELD, ("hidden", ctypes.c_int), ("return_sequences", ctypes.c_int),
                ("bidirectional", ctypes.c_int), ("lengths", ctypes.c_int), ("h0", ctypes.c_int),
                ("c0", ctypes.c_int), ("state_outputs", ctypes.c_int)]


class Schedule(L.SizedStructure):
    """clnn_schedule."""
    _fields_ = [L.SIZE_FIELD, ("type", ctypes.c_int), ("step_size", ctypes.c_uint64),
                ("gamma", ctypes.c_float),
                ("warmup_steps", ctypes.c_uint64), ("total_steps", ctypes.c_uint64),
                ("min_ratio", ctypes.c_float)]


_S, _H, _PH, _I, _F = ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, \
    ctypes.c_float
_CP, _SZ, _PI, _DIMS = ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_int), L.DIMS
_PF, _FEEDS = ctypes.POINTER(ctypes.c_float), ctypes.POINTER(Feed)
_CONV = [_H, _CP, _I, _I, _I, _I, ctypes.POINTER(L.Conv2dParams), _I, _PI]
_RUN = [_H, _FEEDS, _I, _SZ, _PF]

_DECLS = {
    "clnn_graph_create": (_S, [_PH]), "clnn_graph_destroy": (None, [_H]),
    "clnn_graph_input": (_S, [_H, _CP, _I, _I, _DIMS, _PI]),
    "clnn_graph_conv2d": (_S, _CONV), "clnn_graph_conv_transpose2d": (_S, _CONV),
    "clnn_graph_pool2d": (_S, [_H, _CP, _I, _I, ctypes.POINTER(L.Pool2dParams), _PI]),
    "clnn_graph_global_avgpool": (_S, [_H, _CP, _I, _PI]),
    "clnn_graph_dense": (_S, [_H, _CP, _I, _I, _I, _PI]),
    "clnn_graph_activation": (_S, [_H, _CP, _I, _I, _F, _PI]),
    "clnn_graph_dropout": (_S, [_H, _CP, _I, _F, _PI]),
    "clnn_graph_batchnorm": (_S, [_H, _CP, _I, _F, _F, _PI]),
    "clnn_graph_softmax": (_S, [_H, _CP, _I, _I, _PI]),
    "clnn_graph_lstm": (_S, [_H, _CP, _I, _I, _I, _PI]),
    "clnn_graph_lstm_ex": (_S, [_H, _CP, _I, ctypes.POINTER(RnnOptions), _PI, _PI, _PI]),
    "clnn_graph_gru": (_S, [_H, _CP, _I, _I, _I, _PI]),
    "clnn_graph_gru_ex": (_S, [_H, _CP, _I, ctypes.POINTER(RnnOptions), _PI, _PI]),
    "clnn_graph_embedding": (_S, [_H, _CP, _I, _I, _I, _PI]),
    "clnn_graph_layer_norm": (_S, [_H, _CP, _I, _F, _I, _PI]),
    "clnn_graph_rms_norm": (_S, [_H, _CP, _I, _F, _I, _PI]),
    "clnn_graph_attention": (_S, [_H, _CP, _I, _I, _I, _I, _I, _I, _F, _PI]),
    "clnn_graph_multihead_attention": (_S, [_H, _CP, _I, _I, _I, _F, _PI]),
    "clnn_graph_cross_entropy": (_S, [_H, _CP, _I, _I, _I, _F, _PI]),
    "clnn_graph_add": (_S, [_H, _CP, _I, _I, _PI]), "clnn_graph_mul": (_S, [_H, _CP, _I, _I, _PI]),
    "clnn_graph_scale": (_S, [_H, _CP, _I, _F, _PI]),
    "clnn_graph_concat": (_S, [_H, _CP, _I, _I, _PI, _PI]),
    "clnn_graph_slice": (_S, [_H, _CP, _I, _I, _SZ, _SZ, _PI]),
    "clnn_graph_split": (_S, [_H, _CP, _I, _I, _I, _DIMS, _PI]),
    "clnn_graph_reshape": (_S, [_H, _CP, _I, _I, _DIMS, _PI]),
    "clnn_graph_flatten": (_S, [_H, _CP, _I, _PI]),
    "clnn_graph_permute": (_S, [_H, _CP, _I, _PI, _PI]),
    "clnn_graph_apply": (_S, [_H, _CP, _CP, _I, _PI]),
    "clnn_graph_loss": (_S, [_H, _CP, _I, _I, _I, _F, _PI]),
    "clnn_graph_mean": (_S, [_H, _CP, _I, _PI]),
    "clnn_graph_add_loss": (_S, [_H, _I, _F]), "clnn_graph_output": (_S, [_H, _I]),
    "clnn_graph_num_values": (_I, [_H]), "clnn_graph_value_name": (_CP, [_H, _I]),
    "clnn_graph_value_dims": (_I, [_H, _I, _DIMS]), "clnn_graph_find": (_S, [_H, _CP, _PI]),
    "clnn_graph_num_inputs": (_I, [_H]), "clnn_graph_input_value": (_I, [_H, _I]),
    "clnn_graph_num_outputs": (_I, [_H]), "clnn_graph_output_value": (_I, [_H, _I]),
    "clnn_graph_summary": (_S, [_H, _CP, _SZ]),
    "clnn_model_create": (_S, [_H, _H, ctypes.c_uint64, _PH]),
    "clnn_model_destroy": (None, [_H]), "clnn_model_graph": (_H, [_H]),
    "clnn_model_set_mode": (_S, [_H, _I]),
    "clnn_model_forward": (_S, _RUN), "clnn_model_backward": (_S, [_H, _FEEDS, _I]),
    "clnn_model_compute_gradients": (_S, _RUN), "clnn_model_optimizer_step": (_S, [_H]),
    "clnn_model_train_step": (_S, _RUN),
    "clnn_model_predict": (_S, [_H, _FEEDS, _I, _SZ, _I, _PF, _SZ]),
    "clnn_model_value": (_S, [_H, _I, _PH]), "clnn_model_grad": (_S, [_H, _I, _PH]),
    "clnn_model_input_grad": (_S, [_H, _I, _I]),
    "clnn_model_train_epoch": (_S, [_H, _H, _SZ, _I, _I, _PF]),
    "clnn_model_evaluate": (_S, [_H, _H, _SZ, _I, _I, _I, _PF, _PF]),
    "clnn_model_num_params": (_SZ, [_H]), "clnn_model_param_name": (_CP, [_H, _SZ]),
    "clnn_model_param": (_S, [_H, _CP, _PH, _PH]),
    "clnn_model_set_trainable": (_S, [_H, _CP, _I, ctypes.POINTER(_SZ)]),
    "clnn_model_param_trainable": (_I, [_H, _CP]), "clnn_model_num_trainable": (_SZ, [_H]),
    "clnn_model_set_optimizer": (_S, [_H, ctypes.POINTER(L.OptimizerConfig)]),
    "clnn_model_set_param_group": (_S, [_H, _CP, _F, _F]),
    "clnn_model_set_learning_rate": (_S, [_H, _F]),
    "clnn_model_set_schedule": (_S, [_H, ctypes.POINTER(Schedule)]),
    "clnn_model_current_lr": (_S, [_H, _CP, _PF]), "clnn_model_step_count": (ctypes.c_uint64, [_H]),
    "clnn_model_save": (_S, [_H, _CP, _I]), "clnn_model_load_file": (_S, [_H, _CP, _PH]),
    "clnn_graph_load": (_S, [_CP, _PH]),
    "clnn_model_load": (_S, [_H, _CP, _I, _CP, _SZ, _CP, _SZ]),
}
_fns = {}
_fns_lock = threading.Lock()


def _fn(name):
    """The declared ctypes function `name` of the loaded libclnn (Error UNSUPPORTED if absent)."""
    lib = L.load()
    key = (id(lib), name)
    f = _fns.get(key)
    if f is None:
        with _fns_lock:
            try:
                f = getattr(lib._cdll, name)
            except AttributeError:
                raise Error("CLNN_ERROR_UNSUPPORTED",
                            f"{name} is not exported by {lib.path} (a libclnn built before this "
                            f"function existed?); rebuild or point CLNN_LIBRARY at a newer one")
            f.restype, f.argtypes = _DECLS[name]
            _fns[key] = f
    return f


def has_function(name):
    """True when the loaded libclnn exports `name` (e.g. "clnn_model_save")."""
    return hasattr(L.load()._cdll, name)


def _call(name, *args):
    L.check(_fn(name)(*args))


def _name_arg(name, what="name"):
    if name is None:
        return None
    if not isinstance(name, str):
        raise invalid(f"{what} must be a str, not {type(name).__name__}")
    if "\0" in name:
        raise invalid(f"{what} contains a NUL character")
    return name.encode("utf-8")


def _path(path):
    return _path_bytes(os.fspath(path) if isinstance(path, os.PathLike) else path, "path")


# ============================================================================================
# Default context
# ============================================================================================

_default_ctx = None
_default_lock = threading.Lock()


def default_context():
    """The process-wide context Model(ctx=None) uses: clnn.Context() ($CLNN_DEVICE, else the
    default device), created on first use and closed at interpreter exit."""
    global _default_ctx
    with _default_lock:
        if _default_ctx is None or _default_ctx.closed:
            _default_ctx = Context()
            atexit.register(_default_ctx.close)
        return _default_ctx


# ============================================================================================
# Values and graphs
# ============================================================================================

class Value:
    """A value of a Graph: an input or a node's output (a handle; the data lives in a Model).

    .id (the graph's integer id), .name (the node or input name), .shape (per sample, without
    the batch dimension; () for one scalar per sample), .dtype ("float32" or "int32"),
    .batched (False for the scalar of a loss or g.mean(), which has no batch dimension)."""

    __slots__ = ("graph", "id", "name", "shape", "dtype", "batched")

    def __init__(self, graph, vid, name, shape, dtype, batched):
        self.graph, self.id, self.name, self.shape = graph, vid, name, shape
        self.dtype, self.batched = dtype, batched

    def __repr__(self):
        s = ", ".join(["N"] + [str(d) for d in self.shape]) if self.batched else \
            ", ".join(str(d) for d in self.shape)
        return f"<clnn.Value {self.id} {self.name!r} [{s}] {self.dtype}>"

    def __index__(self):
        return self.id


_SUMMARY_RE = re.compile(r"^(\S+)\s+(\S+)\s+(\S+)\s+(\[[^\]]*\])( int32)?\s+\d+")


class Graph(_Closeable):
    """A graph of named values, built on the host (clnn_graph): inputs, operator nodes (whose
    parameters a Model creates), losses and outputs. Every builder takes Values and returns the
    new Value; `name=` names the node (1..63 of [A-Za-z0-9_.-], unique; None: "<kind><k>", e.g.
    "conv1"), and its parameters are "<name>.weight", "<name>.bias", ... Shapes are per sample
    (the batch dimension is implicit), and axes count per-sample dims (0: channels for images;
    negative from the end). A problem raises clnn.Error (CLNN_ERROR_SHAPE_MISMATCH or
    CLNN_ERROR_INVALID_ARGUMENT) whose message names the node and what it needs, and leaves the
    graph unchanged. A Graph is used from one thread at a time."""

    def __init__(self):
        self._owner = None
        self._h = None
        self._info = {}
        h = ctypes.c_void_p()
        _call("clnn_graph_create", ctypes.byref(h))
        self._h = h.value
        self._destroy = _fn("clnn_graph_destroy")

    @classmethod
    def _borrow(cls, handle, owner):
        """A read-only view of a graph another object owns (a Model's)."""
        self = cls.__new__(cls)
        self._h, self._owner, self._info, self._destroy = handle, owner, {}, None
        return self

    @classmethod
    def load(cls, path):
        """The graph stored in a model file (Model.save), without parameters: extend it (a new
        head), make a Model and load the file into it with load(path, strict=False)."""
        self = cls.__new__(cls)
        self._h, self._owner, self._info = None, None, {}
        self._destroy = _fn("clnn_graph_destroy")
        h = ctypes.c_void_p()
        _call("clnn_graph_load", _path(path), ctypes.byref(h))
        self._h = h.value
        return self

    @property
    def closed(self):
        return self._h is None or (self._owner is not None and self._owner.closed)

    def close(self):
        """Frees the graph (models made from it keep their own copy)."""
        h, self._h = self._h, None
        if h is not None and self._owner is None:
            self._destroy(h)

    def _handle(self):
        if self.closed:
            raise invalid("the graph is closed" if self._owner is None else
                          "the graph belongs to a model that is closed")
        return self._h

    def _builder(self):
        if self._owner is not None:
            raise invalid("a model's graph is read-only; build on a Graph (Graph.load for a "
                          "saved one) and make a new Model")
        return self._handle()

    # -- values --
    def _value(self, vid, dtype=None, batched=None):
        h = self._handle()
        if dtype is None or batched is None:
            info = self._info.get(vid) or self._parse_summary().get(vid, ("float32", True))
            dtype, batched = info
        self._info[vid] = (dtype, batched)
        d = (ctypes.c_size_t * L.MAX_DIMS)()
        n = _fn("clnn_graph_value_dims")(h, vid, d)
        name = _fn("clnn_graph_value_name")(h, vid)
        if n < 0 or name is None:
            raise invalid(f"value {vid} is not a value of this graph ({len(self)} values)")
        return Value(self, vid, name.decode(), tuple(int(v) for v in d[:n]), dtype, batched)

    def _parse_summary(self):
        """dtype and batch-ness of every input and node output, from the summary table (for a
        graph this binding did not build)."""
        out = {}
        for line in self.summary().splitlines()[1:]:
            mt = _SUMMARY_RE.match(line)
            if not mt:
                continue
            vid = ctypes.c_int(-1)
            if _fn("clnn_graph_find")(self._h, mt.group(1).encode(), ctypes.byref(vid)) == 0:
                out[vid.value] = ("int32" if mt.group(5) else "float32",
                                  mt.group(4).startswith("[N"))
        return out

    def __len__(self):
        return int(_fn("clnn_graph_num_values")(self._handle()))

    def value(self, key):
        """The Value with this id, or named `key` (an input's or a node's name)."""
        if isinstance(key, Value):
            key = key.id
        if isinstance(key, str):
            vid = ctypes.c_int(-1)
            _call("clnn_graph_find", self._handle(), _name_arg(key), ctypes.byref(vid))
            return self._value(vid.value)
        return self._value(_int(key, "value id"))

    __getitem__ = value

    def find(self, name):
        """The Value named `name` (an input's or a node's name: its first output)."""
        return self.value(_name_arg(name).decode())

    @property
    def values(self):
        """Every Value, in creation order."""
        return [self._value(i) for i in range(len(self))]

    @property
    def inputs(self):
        """The inputs, in creation order."""
        h = self._handle()
        return [self._value(_fn("clnn_graph_input_value")(h, i))
                for i in range(_fn("clnn_graph_num_inputs")(h))]

    @property
    def outputs(self):
        """The values marked with output(), in order (predict's default is the first)."""
        h = self._handle()
        return [self._value(_fn("clnn_graph_output_value")(h, i))
                for i in range(_fn("clnn_graph_num_outputs")(h))]

    def summary(self):
        """A table of inputs and nodes: name, kind, inputs, output shape, parameter count."""
        size = 1 << 14
        while True:
            buf = ctypes.create_string_buffer(size)
            _call("clnn_graph_summary", self._handle(), buf, size)
            if len(buf.value) < size - 1 or size >= 1 << 24:
                return buf.value.decode("utf-8", "replace")
            size *= 4

    def __repr__(self):
        if self.closed:
            return "<clnn.Graph (closed)>"
        return f"<clnn.Graph {len(self)} values>"

    def _id(self, v, what="x"):
        if isinstance(v, Value):
            if v.graph is not self and v.graph._h != self._h:
                raise invalid(f"{what}: value {v.name!r} belongs to another graph")
            return v.id
        if isinstance(v, str):
            return self.find(v).id
        raise invalid(f"{what} must be a clnn.Value (or a value's name), not {type(v).__name__}")

    def _node(self, fn, *args, name=None, dtype="float32", batched=True):
        out = ctypes.c_int(-1)
        _call(fn, self._builder(), _name_arg(name), *args, ctypes.byref(out))
        return self._value(out.value, dtype, batched)

    # -- inputs --
    def input(self, name, shape, dtype="float32"):
        """An input with per-sample `shape` (0 to 4 dims; () for one scalar per sample, e.g. a
        class label) and dtype "float32" or "int32" (class ids for softmax cross-entropy)."""
        if isinstance(shape, (int, np.integer)):
            shape = (shape,)
        try:
            shape = tuple(_int(d, "shape") for d in shape)
        except TypeError:
            raise invalid("input shape must be a tuple of ints") from None
        if len(shape) > 4 or any(d <= 0 for d in shape):
            raise shape_mismatch(f"input {name!r}: shape {shape} must have 0 to 4 dims, each > 0")
        if not isinstance(dtype, str) and dtype in (np.float32, np.int32):
            dtype = np.dtype(dtype).name
        if not isinstance(dtype, str) or dtype.lower() not in _DTYPES:
            raise invalid(f"input dtype must be 'float32' or 'int32', not {dtype!r}")
        code = _DTYPES[dtype.lower()]
        out = ctypes.c_int(-1)
        _call("clnn_graph_input", self._builder(), _name_arg(name), code, len(shape),
              (ctypes.c_size_t * max(1, len(shape)))(*shape), ctypes.byref(out))
        return self._value(out.value, "int32" if code else "float32", True)

    # -- layers --
    def conv2d(self, x, out_channels, kernel_size, stride=1, padding=0, *, dilation=1, groups=1,
               bias=True, name=None):
        """2-D convolution of x [C, H, W]: kernel_size, stride, dilation int or (h, w); padding
        int, (h, w) or (top, bottom, left, right)."""
        kh, kw = _kernel(kernel_size)
        p = _conv_params(stride, padding, dilation, groups)
        return self._node("clnn_graph_conv2d", self._id(x), _cint(out_channels, "out_channels"),
                          kh, kw, ctypes.byref(p), 1 if _flag(bias, "bias") else 0, name=name)

    def conv_transpose2d(self, x, out_channels, kernel_size, stride=1, padding=0, *, dilation=1,
                         groups=1, bias=True, name=None):
        """Transposed 2-D convolution (arguments as conv2d; no output_padding)."""
        kh, kw = _kernel(kernel_size)
        p = _conv_params(stride, padding, dilation, groups)
        return self._node("clnn_graph_conv_transpose2d", self._id(x),
                          _cint(out_channels, "out_channels"), kh, kw, ctypes.byref(p),
                          1 if _flag(bias, "bias") else 0, name=name)

    def maxpool2d(self, x, kernel_size, stride=None, padding=0, *, name=None):
        """Max pooling of x [C, H, W] (stride None: kernel_size)."""
        p = _pool_params(kernel_size, stride, padding)
        return self._node("clnn_graph_pool2d", self._id(x), 1, ctypes.byref(p), name=name)

    def avgpool2d(self, x, kernel_size, stride=None, padding=0, *, count_include_pad=False,
                  name=None):
        """Average pooling of x [C, H, W] (stride None: kernel_size)."""
        p = _pool_params(kernel_size, stride, padding, count_include_pad)
        return self._node("clnn_graph_pool2d", self._id(x), 0, ctypes.byref(p), name=name)

    def global_avgpool(self, x, *, name=None):
        """Mean over H and W: [C, H, W] -> [C]."""
        return self._node("clnn_graph_global_avgpool", self._id(x), name=name)

    def dense(self, x, units, *, bias=True, name=None):
        """Fully connected over the last dim: [..., F] -> [..., units] (weight [units, F])."""
        return self._node("clnn_graph_dense", self._id(x), _cint(units, "units"),
                          1 if _flag(bias, "bias") else 0, name=name)

    def activation(self, x, act, alpha=None, *, name=None):
        """Any activation of clnn.ACTIVATIONS ("relu", "leaky_relu", "elu", "sigmoid", "tanh",
        "gelu", "softplus", "identity"); alpha: leaky slope (0.01) or ELU scale (1.0)."""
        a, al = _act(act, alpha)
        return self._node("clnn_graph_activation", self._id(x), a, al, name=name)

    def relu(self, x, *, name=None):
        """max(x, 0)."""
        return self.activation(x, "relu", name=name)

    def leaky_relu(self, x, alpha=0.01, *, name=None):
        """x, or alpha * x where x < 0."""
        return self.activation(x, "leaky_relu", alpha, name=name)

    def elu(self, x, alpha=1.0, *, name=None):
        """x, or alpha * (exp(x) - 1) where x < 0."""
        return self.activation(x, "elu", alpha, name=name)

    def sigmoid(self, x, *, name=None):
        """1 / (1 + exp(-x))."""
        return self.activation(x, "sigmoid", name=name)

    def tanh(self, x, *, name=None):
        """tanh(x)."""
        return self.activation(x, "tanh", name=name)

    def gelu(self, x, *, name=None):
        """GELU (exact, erf form)."""
        return self.activation(x, "gelu", name=name)

    def softplus(self, x, *, name=None):
        """log(1 + exp(x))."""
        return self.activation(x, "softplus", name=name)

    def dropout(self, x, p, *, name=None):
        """Zeroes each element with probability p in training mode (scaling the rest by
        1 / (1 - p)); the identity in evaluation mode."""
        return self._node("clnn_graph_dropout", self._id(x), _float(p, "p"), name=name)

    def batchnorm(self, x, momentum=0.1, eps=1e-5, *, name=None):
        """Batch normalisation over per-sample axis 0 (channels), as PyTorch's."""
        return self._node("clnn_graph_batchnorm", self._id(x), _float(momentum, "momentum"),
                          _float(eps, "eps"), name=name)

    def softmax(self, x, *, name=None):
        """Softmax over the last dim."""
        return self._node("clnn_graph_softmax", self._id(x), 0, name=name)

    def log_softmax(self, x, *, name=None):
        """Log-softmax over the last dim."""
        return self._node("clnn_graph_softmax", self._id(x), 1, name=name)

    def lstm(self, x, hidden, return_sequences=False, *, bidirectional=False, lengths=None,
             h0=None, c0=None, state_outputs=False, name=None):
        """LSTM over x (T, F): the last hidden state (hidden,), or every one (T, hidden) with
        return_sequences=True ((2*hidden,) / (T, 2*hidden) when bidirectional: the forward
        direction's features, then the reverse direction's, whose parameters are
        "<name>.*_reverse" as in PyTorch; clnn's one bias is PyTorch's bias_ih + bias_hh).
        lengths: None or an int32 input of shape () (one length per sample, 1..T: later steps
        give zeros and change nothing; the last state is the one after each sample's last step).
        h0, c0: None or float values (both) of shape (hidden,) ((2, hidden) when bidirectional):
        the initial state, zero otherwise. state_outputs=True returns (y, h_n, c_n), the final
        state shaped as h0, to feed back as the next call's h0/c0 (generation with carried
        state)."""
        plain = not (bidirectional or state_outputs) and lengths is None and h0 is None \
            and c0 is None
        if plain:
            return self._node("clnn_graph_lstm", self._id(x), _cint(hidden, "hidden"),
                              1 if _flag(return_sequences, "return_sequences") else 0, name=name)
        if (h0 is None) != (c0 is None):
            raise invalid("lstm: give both h0 and c0, or neither")
        o = RnnOptions(_cint(hidden, "hidden"), _flag(return_sequences, "return_sequences"),
                        _flag(bidirectional, "bidirectional"),
                        -1 if lengths is None else self._id(lengths, "lengths"),
                        -1 if h0 is None else self._id(h0, "h0"),
                        -1 if c0 is None else self._id(c0, "c0"),
                        _flag(state_outputs, "state_outputs"))
        out, hn, cn = ctypes.c_int(-1), ctypes.c_int(-1), ctypes.c_int(-1)
        _call("clnn_graph_lstm_ex", self._builder(), _name_arg(name), self._id(x),
              ctypes.byref(o), ctypes.byref(out), ctypes.byref(hn), ctypes.byref(cn))
        y = self._value(out.value, "float32", True)
        if not state_outputs:
            return y
        return y, self._value(hn.value, "float32", True), self._value(cn.value, "float32", True)

    def gru(self, x, hidden, return_sequences=False, *, bidirectional=False, lengths=None,
            h0=None, state_outputs=False, name=None):
        """GRU over x [T, F] (torch.nn.GRU's equations): the last hidden state [hidden], or every
        one [T, hidden] with return_sequences=True ((2*hidden,) / (T, 2*hidden) when
        bidirectional: forward features, then the reverse direction's). Parameters
        "<name>.weight_ih_l0", ".weight_hh_l0", ".bias_ih_l0", ".bias_hh_l0" (and "*_reverse")
        as in PyTorch. lengths, h0 (shape (hidden,), (2, hidden) when bidirectional) and
        state_outputs (returns (y, h_n)) as in lstm()."""
        plain = not (bidirectional or state_outputs) and lengths is None and h0 is None
        if plain:
            return self._node("clnn_graph_gru", self._id(x), _cint(hidden, "hidden"),
                              1 if _flag(return_sequences, "return_sequences") else 0, name=name)
        o = RnnOptions(_cint(hidden, "hidden"), _flag(return_sequences, "return_sequences"),
                       _flag(bidirectional, "bidirectional"),
                       -1 if lengths is None else self._id(lengths, "lengths"),
                       -1 if h0 is None else self._id(h0, "h0"), -1,
                       _flag(state_outputs, "state_outputs"))
        out, hn = ctypes.c_int(-1), ctypes.c_int(-1)
        _call("clnn_graph_gru_ex", self._builder(), _name_arg(name), self._id(x),
              ctypes.byref(o), ctypes.byref(out), ctypes.byref(hn))
        y = self._value(out.value, "float32", True)
        if not state_outputs:
            return y
        return y, self._value(hn.value, "float32", True)

    # -- structure --
    # -- sequence layers --
    def embedding(self, ids, vocab, dim, *, name=None):
        """Rows of a [vocab, dim] table ("<name>.weight", N(0, 1) initially) for int32 ids of
        shape () or (T,): a float value ids.shape + (dim,)."""
        return self._node("clnn_graph_embedding", self._id(ids, "ids"), _cint(vocab, "vocab"),
                          _cint(dim, "dim"), name=name)

    def layer_norm(self, x, eps=1e-5, affine=True, *, name=None):
        """Layer norm over the last dim (weight and bias when affine)."""
        return self._node("clnn_graph_layer_norm", self._id(x), _float(eps, "eps"),
                          _flag(affine, "affine"), name=name)

    def rms_norm(self, x, eps=1e-6, affine=True, *, name=None):
        """RMS norm over the last dim (a weight when affine)."""
        return self._node("clnn_graph_rms_norm", self._id(x), _float(eps, "eps"),
                          _flag(affine, "affine"), name=name)

    def attention(self, q, k, v, heads, causal=False, dropout=0.0, lengths=None, *, name=None):
        """Scaled dot-product attention over q (Tq, D), k and v (Tk, D), D = heads * Dh: (Tq, D).
        lengths: None or an int32 input of shape () (key lengths per sample)."""
        ln = -1 if lengths is None else self._id(lengths, "lengths")
        return self._node("clnn_graph_attention", self._id(q, "q"), self._id(k, "k"),
                          self._id(v, "v"), ln, _cint(heads, "heads"), _flag(causal, "causal"),
                          _float(dropout, "dropout"), name=name)

    def multihead_attention(self, x, heads, causal=False, dropout=0.0, *, name):
        """Self-attention block on x (T, D): dense "<name>.q", ".k", ".v", attention
        "<name>.attn", output projection "<name>.out". name is required."""
        return self._node("clnn_graph_multihead_attention", self._id(x), _cint(heads, "heads"),
                          _flag(causal, "causal"), _float(dropout, "dropout"), name=name)

    def add(self, a, b, *, name=None):
        """a + b: equal shapes, or b of shape [C] (broadcast over axis 0) or [1] (a scalar)."""
        return self._node("clnn_graph_add", self._id(a, "a"), self._id(b, "b"), name=name)

    def mul(self, a, b, *, name=None):
        """Elementwise a * b (equal shapes)."""
        return self._node("clnn_graph_mul", self._id(a, "a"), self._id(b, "b"), name=name)

    def scale(self, x, alpha, *, name=None):
        """alpha * x."""
        return self._node("clnn_graph_scale", self._id(x), _float(alpha, "alpha"), name=name)

    def concat(self, xs, axis=0, *, name=None):
        """Concatenation of 1 to 16 values along per-sample `axis` (other dims equal)."""
        ids = [self._id(v, "xs") for v in _seq(xs, "xs")]
        arr = (ctypes.c_int * max(1, len(ids)))(*ids)
        return self._node("clnn_graph_concat", _cint(axis, "axis"), len(ids), arr, name=name)

    def slice(self, x, axis, start, length, *, name=None):
        """x[..., start:start+length, ...] along per-sample `axis`."""
        start, length = _int(start, "start"), _int(length, "length")
        if start < 0 or length < 0:
            raise invalid(f"slice: start {start} and length {length} must be >= 0")
        return self._node("clnn_graph_slice", self._id(x), _cint(axis, "axis"), start, length,
                          name=name)

    def split(self, x, axis, sizes, name=None):
        """Consecutive slices of the given sizes (summing to the axis) along `axis`: a list of
        Values, nodes "<name>.0", "<name>.1", ..."""
        sizes = [_int(s, "sizes") for s in _seq(sizes, "sizes")]
        if any(s < 0 for s in sizes):
            raise invalid(f"split: sizes {sizes} must be >= 0")
        outs = (ctypes.c_int * max(1, len(sizes)))()
        _call("clnn_graph_split", self._builder(), _name_arg(name), self._id(x),
              _cint(axis, "axis"), len(sizes), (ctypes.c_size_t * max(1, len(sizes)))(*sizes),
              outs)
        return [self._value(outs[i], "float32", True) for i in range(len(sizes))]

    def reshape(self, x, shape, *, name=None):
        """The same elements with new per-sample dims (1 to 4)."""
        if isinstance(shape, (int, np.integer)):
            shape = (shape,)
        shape = [_int(d, "shape") for d in _seq(shape, "shape")]
        if any(d < 0 for d in shape):
            raise shape_mismatch(f"reshape: shape {tuple(shape)} has a negative dim")
        return self._node("clnn_graph_reshape", self._id(x), len(shape),
                          (ctypes.c_size_t * max(1, len(shape)))(*shape), name=name)

    def flatten(self, x, *, name=None):
        """Per-sample dims flattened to one: [C, H, W] -> [C*H*W]."""
        return self._node("clnn_graph_flatten", self._id(x), name=name)

    def permute(self, x, perm, *, name=None):
        """Permutes per-sample axes: output axis i is input axis perm[i]."""
        perm = [_cint(p, "perm") for p in _seq(perm, "perm")]
        return self._node("clnn_graph_permute", self._id(x),
                          (ctypes.c_int * max(1, len(perm)))(*perm), name=name)

    def apply(self, node, x, *, name=None):
        """Applies node `node` (its name, or a Value it produced) to x again with the same op and
        the same parameters (shared weights)."""
        if isinstance(node, Value):
            node = node.name
        return self._node("clnn_graph_apply", _name_arg(node, "node"), self._id(x), name=name)

    # -- losses and outputs --
    def loss(self, kind, pred, target, weight=1.0, *, name=None):
        """A loss added (times weight) to the objective training minimises; returns its scalar
        Value. kind "softmax_cross_entropy": pred [C] (or [T, C]) against an int32 target of
        shape () (or [T]); "bce_with_logits" and "mse": a float target shaped like pred. Means
        over the batch."""
        if not isinstance(kind, str) or kind.lower() not in _LOSS_KINDS:
            raise invalid(f"loss kind must be softmax_cross_entropy, bce_with_logits or mse, not "
                          f"{kind!r}")
        v = self._node("clnn_graph_loss", _LOSS_KINDS[kind.lower()], self._id(pred, "pred"),
                       self._id(target, "target"), _float(weight, "weight"), name=name,
                       batched=False)
        # remembered for evaluate's metrics (the kind of loss on a float target)
        self._info[("loss", self._id(target, "target"))] = kind.lower()
        return v

    def cross_entropy(self, logits, labels, ignore_index=-100, weight=1.0, *, name=None):
        """Softmax cross-entropy of logits (C,) or (T, C) against int32 labels () or (T,) that
        skips labels equal to ignore_index: the mean is over the counted labels (0 when none)."""
        return self._node("clnn_graph_cross_entropy", self._id(logits, "logits"),
                          self._id(labels, "labels"), _cint(ignore_index, "ignore_index"),
                          _float(weight, "weight"), name=name, batched=False)

    def mean(self, x, *, name=None):
        """Mean over every element and the batch: a scalar Value (for losses built from ops)."""
        return self._node("clnn_graph_mean", self._id(x), name=name, batched=False)

    def add_loss(self, value, weight=1.0):
        """Adds a scalar Value (mean()'s) times weight to the objective."""
        _call("clnn_graph_add_loss", self._builder(), self._id(value, "value"),
              _float(weight, "weight"))

    def output(self, *values):
        """Marks values as outputs (Model.predict returns the first by default); returns the
        (last) value."""
        for v in values:
            _call("clnn_graph_output", self._builder(), self._id(v, "value"))
        return values[-1] if values else None


def _seq(v, what):
    if isinstance(v, (str, bytes)) or not hasattr(v, "__iter__"):
        raise invalid(f"{what} must be a list or tuple")
    return list(v)
