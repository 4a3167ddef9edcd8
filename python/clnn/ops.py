"""Every public clnn operator, forward and backward, with keyword arguments.

Conventions (the same for every function here):

- The first argument is the Context. Array arguments are NumPy arrays (or anything
  numpy.asarray accepts; converted by the rule of clnn.as_float32) or clnn.Tensors on that
  context.
- Results: NumPy in, NumPy out. If no array argument is a Tensor, inputs are uploaded, the
  operator runs, and results come back as new float32 NumPy arrays. If any array argument is a
  Tensor, new results are Tensors on the context and nothing is read back (chain operators on
  the device; call .numpy() when you want the values). Losses and norms are Python floats.
- ``out=``: write the result into an existing Tensor, or into a writable C-contiguous float32
  NumPy array of the right shape; the function then returns `out`. Operators with several
  results take a tuple (entries may be None). Backward operators take ``beta``: 0 overwrites
  the gradient, 1 adds to it; beta != 0 needs ``out=`` (what to add to).
- In-place operators (scale, axpy, bias_add, the optimizer steps, clip_grad_norm, batch norm's
  running statistics) update their Tensor arguments in place; given NumPy arrays, those must be
  writable C-contiguous float32 arrays, which are updated in place too. They return None (or the
  norm).
- Every failure raises clnn.Error with .status and the library's message; nothing is written to
  any output when a call fails.
"""

import ctypes
from collections import namedtuple

import numpy as np

from . import _lib as L
from ._core import (Context, Tensor, _check_ctx, _flag, _float, _int, as_float32,
                    as_int32_labels)
from ._errors import Error, invalid, shape_mismatch

__all__ = [
    "gemm", "gemm_batched", "matmul",
    "activation", "activation_backward", "relu", "leaky_relu", "elu", "sigmoid", "tanh", "gelu",
    "softplus", "add", "mul", "scale", "axpy", "bias_add",
    "softmax", "softmax_backward", "log_softmax", "log_softmax_backward",
    "softmax_cross_entropy", "bce_with_logits", "mse_loss",
    "dropout", "dropout_backward",
    "dense", "dense_backward_data", "dense_backward_weights",
    "conv2d_output_shape", "conv2d_workspace_size", "conv2d", "conv2d_backward_data",
    "conv2d_backward_filter", "conv2d_backward_bias", "conv_transpose2d_output_shape",
    "conv_transpose2d", "conv_transpose2d_backward_data", "conv_transpose2d_backward_filter",
    "conv_transpose2d_backward_bias",
    "pool2d_output_shape", "maxpool2d", "maxpool2d_backward", "avgpool2d", "avgpool2d_backward",
    "global_avgpool", "global_avgpool_backward",
    "batchnorm_training", "batchnorm_inference", "batchnorm_backward",
    "lstm_gates", "lstm_gates_backward", "lstm_reserve_size", "lstm", "lstm_backward",
    "sgd_step", "adam_step", "adamw_step", "rmsprop_step", "adagrad_step", "clip_grad_norm",
    "ACTIVATIONS", "CONV_ALGOS",
]

ACTIVATIONS = {"identity": 0, "relu": 1, "leaky_relu": 2, "elu": 3, "sigmoid": 4, "tanh": 5,
               "gelu": 6, "softplus": 7}
# alpha when none is given: PyTorch's defaults
_ACT_DEFAULT_ALPHA = {"leaky_relu": 0.01, "elu": 1.0}
CONV_ALGOS = {"auto": 0, "im2col_gemm": 1, "im2col": 1, "1x1_gemm": 2, "1x1": 2, "direct": 3,
              "implicit_gemm": 4, "igemm": 4}

DenseWeightGrads = namedtuple("DenseWeightGrads", "dw db")
BatchNormTraining = namedtuple("BatchNormTraining", "y save_mean save_invstd")
BatchNormGrads = namedtuple("BatchNormGrads", "dx dscale dshift")
LSTMGates = namedtuple("LSTMGates", "c h")
LSTMGatesGrads = namedtuple("LSTMGatesGrads", "dgates dc_prev")
LSTMResult = namedtuple("LSTMResult", "y h_n c_n reserve")
LSTMGrads = namedtuple("LSTMGrads", "dx dw_ih dw_hh dbias dh0 dc0")

_INT_MAX = 2**31 - 1


# ============================================================================================
# The call helper
# ============================================================================================

def _flatten(items):
    for a in items:
        if isinstance(a, (tuple, list)):
            yield from _flatten(a)
        else:
            yield a


class _Op:
    """One operator call: converts arguments, allocates outputs, calls C, returns results, and
    frees the temporary device tensors whatever happens."""

    def __init__(self, ctx, name, *arrays):
        self.ctx = _check_ctx(ctx)
        self.name = name
        self.tensor_mode = any(isinstance(a, Tensor) for a in _flatten(arrays))
        self.temps = []
        self.writebacks = []
        self.lib = L.load()

    def __enter__(self):
        self.ctx._lock.acquire()
        return self

    def __exit__(self, *exc):
        try:
            for t in self.temps:
                t.close()
        finally:
            self.ctx._lock.release()
        return False

    @property
    def h(self):
        return self.ctx._handle()

    def _own(self, t, what):
        t._handle()  # raises if closed
        if t.context is not self.ctx:
            raise Error("CLNN_ERROR_CONTEXT_MISMATCH",
                        f"{self.name}: {what} is a Tensor on another context")
        return t

    def input(self, x, what, ndim=None, optional=False):
        """An input Tensor (uploaded from an array when needed), or None for an optional one."""
        if x is None:
            if optional:
                return None
            raise invalid(f"{self.name}: {what} is required (got None)")
        if isinstance(x, Tensor):
            t = self._own(x, what)
        else:
            arr = as_float32(x, f"{self.name}: {what}")
            if arr.ndim == 0 or arr.ndim > L.MAX_DIMS or arr.size == 0:
                raise shape_mismatch(f"{self.name}: {what} has shape {arr.shape}; tensors have 1 "
                                     f"to {L.MAX_DIMS} dimensions, each > 0")
            t = Tensor(self.ctx, arr)
            self.temps.append(t)
        self._check_ndim(t.shape, what, ndim)
        return t

    def _check_ndim(self, shape, what, ndim):
        if ndim is None:
            return
        ok = ndim if isinstance(ndim, (tuple, list, range)) else (ndim,)
        if len(shape) not in ok:
            want = " or ".join(str(n) for n in ok)
            raise shape_mismatch(f"{self.name}: {what} must have {want} dimensions, "
                                 f"got shape {tuple(shape)}")

    def output(self, shape, out, what="out", beta=0.0):
        """The Tensor an output is written to: `out` itself, a temporary mirroring a NumPy
        `out`, or a new tensor."""
        shape = tuple(int(d) for d in shape)
        if out is None:
            if beta != 0.0:
                raise invalid(f"{self.name}: beta={beta} adds to an existing gradient: pass it "
                              f"as {what}=")
            t = Tensor(self.ctx, shape=shape)
            if not self.tensor_mode:
                self.temps.append(t)
            return t
        if isinstance(out, Tensor):
            self._own(out, what)
            if out.shape != shape:
                raise shape_mismatch(f"{self.name}: {what} has shape {out.shape}, the result has "
                                     f"shape {shape}")
            return out
        if isinstance(out, np.ndarray):
            self._check_writable(out, what)
            if out.shape != shape:
                raise shape_mismatch(f"{self.name}: {what} has shape {out.shape}, the result has "
                                     f"shape {shape}")
            t = Tensor(self.ctx, shape=shape)
            self.temps.append(t)
            if beta != 0.0:
                t.write(out)
            self.writebacks.append((t, out))
            return t
        raise invalid(f"{self.name}: {what} must be a clnn.Tensor or a float32 NumPy array, "
                      f"not {type(out).__name__}")

    def _check_writable(self, a, what):
        if a.dtype != np.float32 or not a.flags.c_contiguous or not a.flags.writeable:
            raise invalid(f"{self.name}: {what} is written in place, so a NumPy array must be "
                          f"writable, C-contiguous and float32 (got {a.dtype}, "
                          f"{'C-contiguous' if a.flags.c_contiguous else 'not C-contiguous'}, "
                          f"{'writable' if a.flags.writeable else 'read-only'}); "
                          f"or pass a clnn.Tensor")

    def inplace(self, a, what, optional=False):
        """An argument updated in place: a Tensor, or a writable float32 array (uploaded, and
        written back after a successful call)."""
        if a is None:
            if optional:
                return None
            raise invalid(f"{self.name}: {what} is required (got None)")
        if isinstance(a, Tensor):
            return self._own(a, what)
        if not isinstance(a, np.ndarray):
            raise invalid(f"{self.name}: {what} is updated in place: pass a clnn.Tensor or a "
                          f"writable float32 NumPy array, not {type(a).__name__}")
        self._check_writable(a, what)
        if a.ndim == 0 or a.ndim > L.MAX_DIMS or a.size == 0:
            raise shape_mismatch(f"{self.name}: {what} has shape {a.shape}; tensors have 1 to "
                                 f"{L.MAX_DIMS} dimensions, each > 0")
        for t, arr in self.writebacks:
            if arr is a or np.shares_memory(arr, a):
                raise invalid(f"{self.name}: {what} is the same array as another argument that "
                              f"is updated in place")
        t = Tensor(self.ctx, a)
        self.temps.append(t)
        self.writebacks.append((t, a))
        return t

    def call(self, fn, *args):
        L.check(fn(*args))

    def ret(self, *pairs):
        """Finishes a successful call: writes NumPy `out`/in-place arrays back, and converts
        each (tensor, out) pair to what the caller gets."""
        lib = self.lib
        for t, arr in self.writebacks:
            L.check(lib.clnn_tensor_read(t._handle(), arr.ctypes.data, arr.size))
        self.writebacks = []
        res = []
        for t, out in pairs:
            if t is None:
                res.append(None)
            elif out is not None:
                res.append(out)
            elif self.tensor_mode:
                res.append(t)
            else:
                res.append(t.numpy())
        if len(res) == 1:
            return res[0]
        return tuple(res) if res else None


def _h(t):
    return None if t is None else t._handle()


def _cint(v, what, lo=None):
    v = _int(v, what)
    if not -2**31 <= v <= _INT_MAX:
        raise invalid(f"{what} = {v} does not fit a C int")
    if lo is not None and v < lo:
        raise invalid(f"{what} must be >= {lo}, got {v}")
    return v


def _u64(v, what):
    v = _int(v, what)
    if not 0 <= v < 2**64:
        raise invalid(f"{what} must be in [0, 2**64), got {v}")
    return v


def _pair(v, what):
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise invalid(f"{what} must be an int or a pair (h, w), got {v!r}")
        return _cint(v[0], what), _cint(v[1], what)
    v = _cint(v, what)
    return v, v


def _padding(v, what="padding"):
    """int p, (ph, pw), or (top, bottom, left, right)."""
    if isinstance(v, (tuple, list)):
        if len(v) == 2:
            ph, pw = _cint(v[0], what), _cint(v[1], what)
            return ph, ph, pw, pw
        if len(v) == 4:
            return tuple(_cint(x, what) for x in v)
        raise invalid(f"{what} must be an int, (h, w) or (top, bottom, left, right), got {v!r}")
    p = _cint(v, what)
    return p, p, p, p


def _act(act, alpha):
    if act is None:
        act = "identity"
    if not isinstance(act, str) or act.lower() not in ACTIVATIONS:
        raise invalid(f"activation must be one of {', '.join(ACTIVATIONS)}, not {act!r}")
    act = act.lower()
    if alpha is None:
        alpha = _ACT_DEFAULT_ALPHA.get(act, 0.0)
    return ACTIVATIONS[act], _float(alpha, "alpha")


def _algo(algo):
    if isinstance(algo, str) and algo.lower() in CONV_ALGOS:
        return CONV_ALGOS[algo.lower()]
    raise invalid(f"algo must be one of {', '.join(CONV_ALGOS)}, not {algo!r}")


def _shape_arg(shape, what, n):
    try:
        shape = tuple(_int(d, what) for d in shape)
    except TypeError:
        raise invalid(f"{what} must be a tuple of {n} ints, not {type(shape).__name__}") from None
    if len(shape) != n:
        raise shape_mismatch(f"{what} must have {n} dimensions, got {shape}")
    if any(d <= 0 for d in shape):
        raise shape_mismatch(f"{what} {shape}: every dimension must be > 0")
    if any(d >= 2**63 for d in shape):
        raise invalid(f"{what} {shape}: a dimension is too large")
    return shape


def _dims4(shape):
    return (ctypes.c_size_t * 4)(*shape)


def _shape_of(x, what, name):
    """The shape of an array-or-Tensor argument, without uploading it."""
    if isinstance(x, Tensor):
        return x.shape
    if x is None:
        raise invalid(f"{name}: {what} is required (got None)")
    return np.shape(x)


# ============================================================================================
# GEMM
# ============================================================================================

def gemm(ctx, a, b, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, out=None):
    """out = alpha * op(a) @ op(b) + beta * out, with op(x) = x.T when trans_x. a, b 2-D."""
    trans_a, trans_b = _flag(trans_a, "trans_a"), _flag(trans_b, "trans_b")
    with _Op(ctx, "gemm", a, b, out) as op:
        ta, tb = op.input(a, "a", 2), op.input(b, "b", 2)
        m = ta.shape[1] if trans_a else ta.shape[0]
        n = tb.shape[0] if trans_b else tb.shape[1]
        beta = _float(beta, "beta")
        tc = op.output((m, n), out, beta=beta)
        op.call(op.lib.clnn_gemm, op.h, int(trans_a), int(trans_b),
                _float(alpha, "alpha"), ta._handle(), tb._handle(), beta, tc._handle())
        return op.ret((tc, out))


def matmul(ctx, a, b, out=None):
    """a @ b for 2-D a and b (or 3-D: batched)."""
    if len(_shape_of(a, "a", "matmul")) == 3:
        return gemm_batched(ctx, a, b, out=out)
    return gemm(ctx, a, b, out=out)


def gemm_batched(ctx, a, b, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, out=None):
    """The same for every matrix of a batch: a, b, out 3-D [batch, rows, cols]."""
    trans_a, trans_b = _flag(trans_a, "trans_a"), _flag(trans_b, "trans_b")
    with _Op(ctx, "gemm_batched", a, b, out) as op:
        ta, tb = op.input(a, "a", 3), op.input(b, "b", 3)
        m = ta.shape[2] if trans_a else ta.shape[1]
        n = tb.shape[1] if trans_b else tb.shape[2]
        beta = _float(beta, "beta")
        tc = op.output((ta.shape[0], m, n), out, beta=beta)
        op.call(op.lib.clnn_gemm_batched, op.h, int(trans_a), int(trans_b),
                _float(alpha, "alpha"), ta._handle(), tb._handle(), beta, tc._handle())
        return op.ret((tc, out))


# ============================================================================================
# Activations and elementwise
# ============================================================================================

def activation(ctx, act, x, alpha=None, out=None):
    """y = act(x). act: "identity", "relu", "leaky_relu" (alpha: negative slope, default 0.01),
    "elu" (alpha: default 1.0), "sigmoid", "tanh", "gelu" (exact erf form), "softplus".
    out may be x (a Tensor) to work in place."""
    a, al = _act(act, alpha)
    with _Op(ctx, "activation", x, out) as op:
        tx = op.input(x, "x")
        ty = op.output(tx.shape, out)
        op.call(op.lib.clnn_activation_forward, op.h, a, al, tx._handle(), ty._handle())
        return op.ret((ty, out))


def activation_backward(ctx, act, dy, x=None, y=None, *, alpha=None, beta=0.0, out=None):
    """dx = beta*dx + dy * act'(x). Pass the forward input x, its output y, or both (GELU and
    softplus need x)."""
    a, al = _act(act, alpha)
    with _Op(ctx, "activation_backward", dy, x, y, out) as op:
        tdy = op.input(dy, "dy")
        tx = op.input(x, "x", optional=True)
        ty = op.input(y, "y", optional=True)
        if tx is None and ty is None:
            raise invalid("activation_backward: pass x (the forward input), y (its output) or both")
        beta = _float(beta, "beta")
        tdx = op.output(tdy.shape, out, beta=beta)
        op.call(op.lib.clnn_activation_backward, op.h, a, al, _h(tx), _h(ty), tdy._handle(), beta,
                tdx._handle())
        return op.ret((tdx, out))


def relu(ctx, x, out=None):
    return activation(ctx, "relu", x, out=out)


def leaky_relu(ctx, x, negative_slope=0.01, out=None):
    return activation(ctx, "leaky_relu", x, alpha=negative_slope, out=out)


def elu(ctx, x, alpha=1.0, out=None):
    return activation(ctx, "elu", x, alpha=alpha, out=out)


def sigmoid(ctx, x, out=None):
    return activation(ctx, "sigmoid", x, out=out)


def tanh(ctx, x, out=None):
    return activation(ctx, "tanh", x, out=out)


def gelu(ctx, x, out=None):
    return activation(ctx, "gelu", x, out=out)


def softplus(ctx, x, out=None):
    return activation(ctx, "softplus", x, out=out)


def _binary(name, fn_name, ctx, a, b, out):
    with _Op(ctx, name, a, b, out) as op:
        ta, tb = op.input(a, "a"), op.input(b, "b")
        ty = op.output(ta.shape, out)
        op.call(getattr(op.lib, fn_name), op.h, ta._handle(), tb._handle(), ty._handle())
        return op.ret((ty, out))


def add(ctx, a, b, out=None):
    """a + b, elementwise (equal element counts; the result has a's shape)."""
    return _binary("add", "clnn_add", ctx, a, b, out)


def mul(ctx, a, b, out=None):
    """a * b, elementwise (equal element counts; the result has a's shape)."""
    return _binary("mul", "clnn_mul", ctx, a, b, out)


def scale(ctx, alpha, x):
    """x *= alpha, in place."""
    with _Op(ctx, "scale", x) as op:
        tx = op.inplace(x, "x")
        op.call(op.lib.clnn_scale, op.h, _float(alpha, "alpha"), tx._handle())
        return op.ret()


def axpy(ctx, alpha, x, y):
    """y += alpha * x, in place."""
    with _Op(ctx, "axpy", x, y) as op:
        tx = op.input(x, "x")
        ty = op.inplace(y, "y")
        op.call(op.lib.clnn_axpy, op.h, _float(alpha, "alpha"), tx._handle(), ty._handle())
        return op.ret()


def bias_add(ctx, bias, y):
    """y[n, c, ...] += bias[c], in place (y has 2 to 5 dimensions, dim 1 = bias size)."""
    with _Op(ctx, "bias_add", bias, y) as op:
        tb = op.input(bias, "bias")
        ty = op.inplace(y, "y")
        op.call(op.lib.clnn_bias_add, op.h, tb._handle(), ty._handle())
        return op.ret()


# ============================================================================================
# Softmax and losses
# ============================================================================================

def softmax(ctx, x, out=None):
    """Softmax over the last axis."""
    with _Op(ctx, "softmax", x, out) as op:
        tx = op.input(x, "x")
        ty = op.output(tx.shape, out)
        op.call(op.lib.clnn_softmax_forward, op.h, tx._handle(), ty._handle())
        return op.ret((ty, out))


def softmax_backward(ctx, y, dy, *, beta=0.0, out=None):
    """dx from the softmax output y and dy."""
    with _Op(ctx, "softmax_backward", y, dy, out) as op:
        ty, tdy = op.input(y, "y"), op.input(dy, "dy")
        beta = _float(beta, "beta")
        tdx = op.output(ty.shape, out, beta=beta)
        op.call(op.lib.clnn_softmax_backward, op.h, ty._handle(), tdy._handle(), beta,
                tdx._handle())
        return op.ret((tdx, out))


def log_softmax(ctx, x, out=None):
    """Log-softmax over the last axis."""
    with _Op(ctx, "log_softmax", x, out) as op:
        tx = op.input(x, "x")
        ty = op.output(tx.shape, out)
        op.call(op.lib.clnn_log_softmax_forward, op.h, tx._handle(), ty._handle())
        return op.ret((ty, out))


def log_softmax_backward(ctx, y, dy, *, beta=0.0, out=None):
    """dx from the log-softmax output y and dy."""
    with _Op(ctx, "log_softmax_backward", y, dy, out) as op:
        ty, tdy = op.input(y, "y"), op.input(dy, "dy")
        beta = _float(beta, "beta")
        tdx = op.output(ty.shape, out, beta=beta)
        op.call(op.lib.clnn_log_softmax_backward, op.h, ty._handle(), tdy._handle(), beta,
                tdx._handle())
        return op.ret((tdx, out))


def _read_scalar(t):
    v = np.empty(1, dtype=np.float32)
    L.check(L.load().clnn_tensor_read(t._handle(), v.ctypes.data, 1))
    return float(v[0])


def softmax_cross_entropy(ctx, logits, labels, *, grad=True, out=None):
    """Mean softmax cross-entropy of logits [N, C] against integer labels [N] in [0, C).
    Returns (loss, dlogits) with grad=True (the gradient of the mean loss), else loss."""
    grad = _flag(grad, "grad")
    lab = as_int32_labels(labels, "softmax_cross_entropy: labels")
    with _Op(ctx, "softmax_cross_entropy", logits, out) as op:
        tl = op.input(logits, "logits", 2)
        if lab.size != tl.shape[0]:
            raise shape_mismatch(f"softmax_cross_entropy: {lab.size} labels for {tl.shape[0]} rows "
                                 f"of logits {tl.shape}")
        loss = Tensor(op.ctx, shape=(1,))
        op.temps.append(loss)
        tg = op.output(tl.shape, out) if grad else None
        op.call(op.lib.clnn_softmax_cross_entropy, op.h, tl._handle(),
                lab.ctypes.data_as(L.I32), lab.size, loss._handle(), _h(tg))
        value = _read_scalar(loss)
        if not grad:
            op.ret()
            return value
        return value, op.ret((tg, out))


def _pair_loss(name, fn_name, ctx, a, b, grad, out):
    grad = _flag(grad, "grad")
    with _Op(ctx, name, a, b, out) as op:
        ta, tb = op.input(a, "input"), op.input(b, "target")
        loss = Tensor(op.ctx, shape=(1,))
        op.temps.append(loss)
        tg = op.output(ta.shape, out) if grad else None
        op.call(getattr(op.lib, fn_name), op.h, ta._handle(), tb._handle(), loss._handle(), _h(tg))
        value = _read_scalar(loss)
        if not grad:
            op.ret()
            return value
        return value, op.ret((tg, out))


def bce_with_logits(ctx, logits, targets, *, grad=True, out=None):
    """Mean binary cross-entropy with logits against targets in [0, 1] (same shape).
    Returns (loss, dlogits) with grad=True, else loss."""
    return _pair_loss("bce_with_logits", "clnn_bce_with_logits", ctx, logits, targets, grad, out)


def mse_loss(ctx, pred, target, *, grad=True, out=None):
    """Mean squared error over all elements. Returns (loss, dpred) with grad=True, else loss."""
    return _pair_loss("mse_loss", "clnn_mse_loss", ctx, pred, target, grad, out)


# ============================================================================================
# Dropout
# ============================================================================================

def dropout(ctx, x, p, *, seed=0, offset=0, out=None):
    """Inverted dropout: y = x * keep / (1 - p), the mask a function of (seed, offset + index)."""
    with _Op(ctx, "dropout", x, out) as op:
        tx = op.input(x, "x")
        ty = op.output(tx.shape, out)
        op.call(op.lib.clnn_dropout_forward, op.h, _float(p, "p"), _u64(seed, "seed"),
                _u64(offset, "offset"), tx._handle(), ty._handle())
        return op.ret((ty, out))


def dropout_backward(ctx, dy, p, *, seed=0, offset=0, beta=0.0, out=None):
    """dx with the same mask as dropout(p, seed, offset)."""
    with _Op(ctx, "dropout_backward", dy, out) as op:
        tdy = op.input(dy, "dy")
        beta = _float(beta, "beta")
        tdx = op.output(tdy.shape, out, beta=beta)
        op.call(op.lib.clnn_dropout_backward, op.h, _float(p, "p"), _u64(seed, "seed"),
                _u64(offset, "offset"), tdy._handle(), beta, tdx._handle())
        return op.ret((tdx, out))


# ============================================================================================
# Dense
# ============================================================================================

def dense(ctx, x, w, bias=None, out=None):
    """y[N, O] = x[N, I] @ w[O, I].T + bias[O]."""
    with _Op(ctx, "dense", x, w, bias, out) as op:
        tx, tw = op.input(x, "x", 2), op.input(w, "w", 2)
        tb = op.input(bias, "bias", 1, optional=True)
        ty = op.output((tx.shape[0], tw.shape[0]), out)
        op.call(op.lib.clnn_dense_forward, op.h, tx._handle(), tw._handle(), _h(tb), ty._handle())
        return op.ret((ty, out))


def dense_backward_data(ctx, dy, w, *, beta=0.0, out=None):
    """dx[N, I] = beta*dx + dy[N, O] @ w[O, I]."""
    with _Op(ctx, "dense_backward_data", dy, w, out) as op:
        tdy, tw = op.input(dy, "dy", 2), op.input(w, "w", 2)
        beta = _float(beta, "beta")
        tdx = op.output((tdy.shape[0], tw.shape[1]), out, beta=beta)
        op.call(op.lib.clnn_dense_backward_data, op.h, tdy._handle(), tw._handle(), beta,
                tdx._handle())
        return op.ret((tdx, out))


def dense_backward_weights(ctx, x, dy, *, bias=True, beta=0.0, out=None):
    """(dw[O, I], db[O]) = beta*old + (dy.T @ x, dy.sum(0)). bias=False: db is None.
    out: (dw, db)."""
    bias = _flag(bias, "bias")
    outs = _out_tuple(out, 2, "dense_backward_weights")
    with _Op(ctx, "dense_backward_weights", x, dy, outs) as op:
        tx, tdy = op.input(x, "x", 2), op.input(dy, "dy", 2)
        beta = _float(beta, "beta")
        tdw = op.output((tdy.shape[1], tx.shape[1]), outs[0], "out[0] (dw)", beta)
        tdb = op.output((tdy.shape[1],), outs[1], "out[1] (db)", beta) if bias else None
        op.call(op.lib.clnn_dense_backward_weights, op.h, tx._handle(), tdy._handle(), beta,
                tdw._handle(), _h(tdb))
        return DenseWeightGrads(*op.ret((tdw, outs[0]), (tdb, outs[1])))


def _out_tuple(out, n, name):
    if out is None:
        return (None,) * n
    if not isinstance(out, (tuple, list)) or len(out) != n:
        raise invalid(f"{name}: out must be a tuple of {n} (entries may be None)")
    return tuple(out)


# ============================================================================================
# Convolution
# ============================================================================================

def _conv_params(stride, padding, dilation, groups):
    p = L.Conv2dParams()
    p.stride_h, p.stride_w = _pair(stride, "stride")
    p.pad_top, p.pad_bottom, p.pad_left, p.pad_right = _padding(padding)
    p.dilation_h, p.dilation_w = _pair(dilation, "dilation")
    p.groups = _cint(groups, "groups")
    return p


def _out_dims(fn_name, x_shape, w_shape, p):
    y = (ctypes.c_size_t * 4)()
    L.check(getattr(L.load(), fn_name)(_dims4(x_shape), _dims4(w_shape), ctypes.byref(p), y))
    return tuple(int(d) for d in y)


def conv2d_output_shape(x_shape, w_shape, *, stride=1, padding=0, dilation=1, groups=1):
    """Output shape of conv2d: x [N, C, H, W], w [K, C/groups, R, S] -> [N, K, P, Q]."""
    xs = _shape_arg(x_shape, "x_shape", 4)
    ws = _shape_arg(w_shape, "w_shape", 4)
    return _out_dims("clnn_conv2d_output_dims", xs, ws, _conv_params(stride, padding, dilation,
                                                                    groups))


def conv_transpose2d_output_shape(x_shape, w_shape, *, stride=1, padding=0, dilation=1, groups=1):
    """Output shape of conv_transpose2d: x [N, C, H, W], w [C, K/groups, R, S] -> [N, K, ...]."""
    xs = _shape_arg(x_shape, "x_shape", 4)
    ws = _shape_arg(w_shape, "w_shape", 4)
    return _out_dims("clnn_conv_transpose2d_output_dims", xs, ws,
                     _conv_params(stride, padding, dilation, groups))


def conv2d_workspace_size(ctx, x_shape, w_shape, *, stride=1, padding=0, dilation=1, groups=1,
                          algo="auto"):
    """Workspace bytes `algo` needs for these shapes (Error CLNN_ERROR_UNSUPPORTED if the
    algorithm does not apply)."""
    ctx = _check_ctx(ctx)
    xs = _shape_arg(x_shape, "x_shape", 4)
    ws = _shape_arg(w_shape, "w_shape", 4)
    p = _conv_params(stride, padding, dilation, groups)
    n = ctypes.c_size_t(0)
    ctx._call(L.load().clnn_conv2d_workspace_size, ctypes.byref(p), _algo(algo), _dims4(xs),
              _dims4(ws), ctypes.byref(n))
    return n.value


def conv2d(ctx, x, w, bias=None, *, stride=1, padding=0, dilation=1, groups=1, algo="auto",
           activation=None, alpha=None, out=None):
    """y = activation(conv2d(x, w) + bias), PyTorch's Conv2d (cross-correlation).

    x [N, C, H, W], w [K, C/groups, R, S], bias [K] or None. stride and dilation: int or
    (h, w); padding: int, (h, w) or (top, bottom, left, right). algo: "auto", "im2col_gemm",
    "1x1_gemm", "direct", "implicit_gemm" (forward only: the backward passes run im2col).
    activation: None or a name as in clnn.activation (fused)."""
    a, al = _act(activation, alpha)
    p = _conv_params(stride, padding, dilation, groups)
    al_ = _algo(algo)
    with _Op(ctx, "conv2d", x, w, bias, out) as op:
        tx, tw = op.input(x, "x", 4), op.input(w, "w", 4)
        tb = op.input(bias, "bias", 1, optional=True)
        ys = _out_dims("clnn_conv2d_output_dims", tx.shape, tw.shape, p)
        ty = op.output(ys, out)
        op.call(op.lib.clnn_conv2d_forward, op.h, ctypes.byref(p), al_, tx._handle(),
                tw._handle(), _h(tb), a, al, ty._handle())
        return op.ret((ty, out))


def _grad_shape(shape, out, what, name):
    if shape is None:
        if out is None:
            raise invalid(f"{name}: pass {what} (or out=)")
        return tuple(_shape_of(out, "out", name))
    return _shape_arg(shape, what, 4)


def conv2d_backward_data(ctx, dy, w, input_shape=None, *, stride=1, padding=0, dilation=1,
                         groups=1, algo="auto", beta=0.0, out=None):
    """dx [input_shape] = beta*dx + the gradient of conv2d with respect to its input."""
    p = _conv_params(stride, padding, dilation, groups)
    al_ = _algo(algo)
    xs = _grad_shape(input_shape, out, "input_shape", "conv2d_backward_data")
    with _Op(ctx, "conv2d_backward_data", dy, w, out) as op:
        tdy, tw = op.input(dy, "dy", 4), op.input(w, "w", 4)
        beta = _float(beta, "beta")
        tdx = op.output(xs, out, beta=beta)
        op.call(op.lib.clnn_conv2d_backward_data, op.h, ctypes.byref(p), al_, tdy._handle(),
                tw._handle(), beta, tdx._handle())
        return op.ret((tdx, out))


def conv2d_backward_filter(ctx, x, dy, weight_shape=None, *, stride=1, padding=0, dilation=1,
                           groups=1, algo="auto", beta=0.0, out=None):
    """dw [weight_shape] = beta*dw + the gradient of conv2d with respect to its filter."""
    p = _conv_params(stride, padding, dilation, groups)
    al_ = _algo(algo)
    ws = _grad_shape(weight_shape, out, "weight_shape", "conv2d_backward_filter")
    with _Op(ctx, "conv2d_backward_filter", x, dy, out) as op:
        tx, tdy = op.input(x, "x", 4), op.input(dy, "dy", 4)
        beta = _float(beta, "beta")
        tdw = op.output(ws, out, beta=beta)
        op.call(op.lib.clnn_conv2d_backward_filter, op.h, ctypes.byref(p), al_, tx._handle(),
                tdy._handle(), beta, tdw._handle())
        return op.ret((tdw, out))


def conv2d_backward_bias(ctx, dy, *, beta=0.0, out=None):
    """db[K] = beta*db + dy.sum over N, P, Q (dy [N, K, P, Q])."""
    with _Op(ctx, "conv2d_backward_bias", dy, out) as op:
        tdy = op.input(dy, "dy", 4)
        beta = _float(beta, "beta")
        tdb = op.output((tdy.shape[1],), out, beta=beta)
        op.call(op.lib.clnn_conv2d_backward_bias, op.h, tdy._handle(), beta, tdb._handle())
        return op.ret((tdb, out))


conv_transpose2d_backward_bias = conv2d_backward_bias


def conv_transpose2d(ctx, x, w, bias=None, *, stride=1, padding=0, dilation=1, groups=1,
                     algo="auto", out=None):
    """PyTorch's ConvTranspose2d (no output_padding): x [N, C, H, W], w [C, K/groups, R, S],
    bias [K] or None."""
    p = _conv_params(stride, padding, dilation, groups)
    al_ = _algo(algo)
    with _Op(ctx, "conv_transpose2d", x, w, bias, out) as op:
        tx, tw = op.input(x, "x", 4), op.input(w, "w", 4)
        tb = op.input(bias, "bias", 1, optional=True)
        ys = _out_dims("clnn_conv_transpose2d_output_dims", tx.shape, tw.shape, p)
        ty = op.output(ys, out)
        op.call(op.lib.clnn_conv_transpose2d_forward, op.h, ctypes.byref(p), al_, tx._handle(),
                tw._handle(), _h(tb), ty._handle())
        return op.ret((ty, out))


def conv_transpose2d_backward_data(ctx, dy, w, input_shape=None, *, stride=1, padding=0,
                                   dilation=1, groups=1, algo="auto", beta=0.0, out=None):
    """dx [input_shape] = beta*dx + the gradient of conv_transpose2d w.r.t. its input."""
    p = _conv_params(stride, padding, dilation, groups)
    al_ = _algo(algo)
    xs = _grad_shape(input_shape, out, "input_shape", "conv_transpose2d_backward_data")
    with _Op(ctx, "conv_transpose2d_backward_data", dy, w, out) as op:
        tdy, tw = op.input(dy, "dy", 4), op.input(w, "w", 4)
        beta = _float(beta, "beta")
        tdx = op.output(xs, out, beta=beta)
        op.call(op.lib.clnn_conv_transpose2d_backward_data, op.h, ctypes.byref(p), al_,
                tdy._handle(), tw._handle(), beta, tdx._handle())
        return op.ret((tdx, out))


def conv_transpose2d_backward_filter(ctx, x, dy, weight_shape=None, *, stride=1, padding=0,
                                     dilation=1, groups=1, algo="auto", beta=0.0, out=None):
    """dw [weight_shape] = beta*dw + the gradient of conv_transpose2d w.r.t. its filter."""
    p = _conv_params(stride, padding, dilation, groups)
    al_ = _algo(algo)
    ws = _grad_shape(weight_shape, out, "weight_shape", "conv_transpose2d_backward_filter")
    with _Op(ctx, "conv_transpose2d_backward_filter", x, dy, out) as op:
        tx, tdy = op.input(x, "x", 4), op.input(dy, "dy", 4)
        beta = _float(beta, "beta")
        tdw = op.output(ws, out, beta=beta)
        op.call(op.lib.clnn_conv_transpose2d_backward_filter, op.h, ctypes.byref(p), al_,
                tx._handle(), tdy._handle(), beta, tdw._handle())
        return op.ret((tdw, out))


# ============================================================================================
# Pooling
# ============================================================================================

def _pool_params(kernel_size, stride, padding, count_include_pad=False):
    p = L.Pool2dParams()
    p.kernel_h, p.kernel_w = _pair(kernel_size, "kernel_size")
    if stride is None:
        stride = (p.kernel_h, p.kernel_w)
    p.stride_h, p.stride_w = _pair(stride, "stride")
    p.pad_top, p.pad_bottom, p.pad_left, p.pad_right = _padding(padding)
    p.count_include_pad = 1 if _flag(count_include_pad, "count_include_pad") else 0
    return p


def _pool_out(x_shape, p):
    y = (ctypes.c_size_t * 4)()
    L.check(L.load().clnn_pool2d_output_dims(_dims4(x_shape), ctypes.byref(p), y))
    return tuple(int(d) for d in y)


def pool2d_output_shape(x_shape, kernel_size, stride=None, padding=0):
    """Output shape of max/avg pooling on x [N, C, H, W]."""
    xs = _shape_arg(x_shape, "x_shape", 4)
    return _pool_out(xs, _pool_params(kernel_size, stride, padding))


def maxpool2d(ctx, x, kernel_size, stride=None, padding=0, *, out=None):
    """Max pooling of x [N, C, H, W]; stride None means stride = kernel_size. Padding (int,
    (h, w) or (top, bottom, left, right)) is never the maximum."""
    p = _pool_params(kernel_size, stride, padding)
    with _Op(ctx, "maxpool2d", x, out) as op:
        tx = op.input(x, "x", 4)
        ty = op.output(_pool_out(tx.shape, p), out)
        op.call(op.lib.clnn_maxpool2d_forward, op.h, ctypes.byref(p), tx._handle(), ty._handle())
        return op.ret((ty, out))


def maxpool2d_backward(ctx, x, dy, kernel_size, stride=None, padding=0, *, beta=0.0, out=None):
    """dx: dy routed to the first maximum of each window of x."""
    p = _pool_params(kernel_size, stride, padding)
    with _Op(ctx, "maxpool2d_backward", x, dy, out) as op:
        tx, tdy = op.input(x, "x", 4), op.input(dy, "dy", 4)
        beta = _float(beta, "beta")
        tdx = op.output(tx.shape, out, beta=beta)
        op.call(op.lib.clnn_maxpool2d_backward, op.h, ctypes.byref(p), tx._handle(),
                tdy._handle(), beta, tdx._handle())
        return op.ret((tdx, out))


def avgpool2d(ctx, x, kernel_size, stride=None, padding=0, *, count_include_pad=False, out=None):
    """Average pooling of x [N, C, H, W]; count_include_pad as in PyTorch (default here:
    False, padding is not counted)."""
    p = _pool_params(kernel_size, stride, padding, count_include_pad)
    with _Op(ctx, "avgpool2d", x, out) as op:
        tx = op.input(x, "x", 4)
        ty = op.output(_pool_out(tx.shape, p), out)
        op.call(op.lib.clnn_avgpool2d_forward, op.h, ctypes.byref(p), tx._handle(), ty._handle())
        return op.ret((ty, out))


def avgpool2d_backward(ctx, dy, input_shape=None, kernel_size=None, stride=None, padding=0, *,
                       count_include_pad=False, beta=0.0, out=None):
    """dx [input_shape] of average pooling."""
    if kernel_size is None:
        raise invalid("avgpool2d_backward: kernel_size is required")
    p = _pool_params(kernel_size, stride, padding, count_include_pad)
    xs = _grad_shape(input_shape, out, "input_shape", "avgpool2d_backward")
    with _Op(ctx, "avgpool2d_backward", dy, out) as op:
        tdy = op.input(dy, "dy", 4)
        beta = _float(beta, "beta")
        tdx = op.output(xs, out, beta=beta)
        op.call(op.lib.clnn_avgpool2d_backward, op.h, ctypes.byref(p), tdy._handle(), beta,
                tdx._handle())
        return op.ret((tdx, out))


def global_avgpool(ctx, x, *, out=None):
    """x [N, C, H, W] -> [N, C, 1, 1], the mean over H and W."""
    with _Op(ctx, "global_avgpool", x, out) as op:
        tx = op.input(x, "x", 4)
        ty = op.output((tx.shape[0], tx.shape[1], 1, 1), out)
        op.call(op.lib.clnn_global_avgpool_forward, op.h, tx._handle(), ty._handle())
        return op.ret((ty, out))


def global_avgpool_backward(ctx, dy, input_shape=None, *, beta=0.0, out=None):
    """dx [input_shape] of global average pooling (dy [N, C, 1, 1])."""
    xs = _grad_shape(input_shape, out, "input_shape", "global_avgpool_backward")
    with _Op(ctx, "global_avgpool_backward", dy, out) as op:
        tdy = op.input(dy, "dy", 4)
        beta = _float(beta, "beta")
        tdx = op.output(xs, out, beta=beta)
        op.call(op.lib.clnn_global_avgpool_backward, op.h, tdy._handle(), beta, tdx._handle())
        return op.ret((tdx, out))


# ============================================================================================
# Batch normalisation
# ============================================================================================

def batchnorm_training(ctx, x, scale=None, shift=None, *, running_mean=None, running_var=None,
                       momentum=0.1, eps=1e-5, out=None):
    """Batch norm over channels (axis 1) of x [N, C, ...] with batch statistics.

    Returns (y, save_mean, save_invstd); the last two feed batchnorm_backward. running_mean and
    running_var (both or neither) are updated in place: (1-momentum)*old + momentum*batch
    (running_var takes the unbiased variance)."""
    with _Op(ctx, "batchnorm_training", x, scale, shift, running_mean, running_var, out) as op:
        tx = op.input(x, "x", (2, 3, 4, 5))
        ts = op.input(scale, "scale", 1, optional=True)
        tsh = op.input(shift, "shift", 1, optional=True)
        if (running_mean is None) != (running_var is None):
            raise invalid("batchnorm_training: pass both running_mean and running_var, or neither")
        trm = op.inplace(running_mean, "running_mean", optional=True)
        trv = op.inplace(running_var, "running_var", optional=True)
        ty = op.output(tx.shape, out)
        c = tx.shape[1]
        sm = op.output((c,), None, "save_mean")
        si = op.output((c,), None, "save_invstd")
        op.call(op.lib.clnn_batchnorm_forward_training, op.h, tx._handle(), _h(ts), _h(tsh),
                _float(momentum, "momentum"), _float(eps, "eps"), _h(trm), _h(trv), ty._handle(),
                sm._handle(), si._handle())
        return BatchNormTraining(*op.ret((ty, out), (sm, None), (si, None)))


def batchnorm_inference(ctx, x, running_mean, running_var, scale=None, shift=None, *, eps=1e-5,
                        out=None):
    """Batch norm of x [N, C, ...] with the given (running) statistics."""
    with _Op(ctx, "batchnorm_inference", x, running_mean, running_var, scale, shift, out) as op:
        tx = op.input(x, "x", (2, 3, 4, 5))
        trm = op.input(running_mean, "running_mean", 1)
        trv = op.input(running_var, "running_var", 1)
        ts = op.input(scale, "scale", 1, optional=True)
        tsh = op.input(shift, "shift", 1, optional=True)
        ty = op.output(tx.shape, out)
        op.call(op.lib.clnn_batchnorm_forward_inference, op.h, tx._handle(), _h(ts), _h(tsh),
                trm._handle(), trv._handle(), _float(eps, "eps"), ty._handle())
        return op.ret((ty, out))


def batchnorm_backward(ctx, x, dy, save_mean, save_invstd, scale=None, *, beta=0.0, out=None):
    """(dx, dscale, dshift) of batch norm in training mode; out: (dx, dscale, dshift)."""
    outs = _out_tuple(out, 3, "batchnorm_backward")
    with _Op(ctx, "batchnorm_backward", x, dy, save_mean, save_invstd, scale, outs) as op:
        tx = op.input(x, "x", (2, 3, 4, 5))
        tdy = op.input(dy, "dy")
        tm = op.input(save_mean, "save_mean", 1)
        ti = op.input(save_invstd, "save_invstd", 1)
        ts = op.input(scale, "scale", 1, optional=True)
        beta = _float(beta, "beta")
        c = tx.shape[1]
        tdx = op.output(tx.shape, outs[0], "out[0] (dx)", beta)
        tds = op.output((c,), outs[1], "out[1] (dscale)", beta)
        tdb = op.output((c,), outs[2], "out[2] (dshift)", beta)
        op.call(op.lib.clnn_batchnorm_backward, op.h, tx._handle(), tdy._handle(), _h(ts),
                tm._handle(), ti._handle(), beta, tdx._handle(), tds._handle(), tdb._handle())
        return BatchNormGrads(*op.ret((tdx, outs[0]), (tds, outs[1]), (tdb, outs[2])))


# ============================================================================================
# LSTM
# ============================================================================================

def lstm_gates(ctx, gates, c_prev):
    """One fused LSTM step from pre-activations gates [N, 4H] (order i, f, g, o) and
    c_prev [N, H]: returns (c, h)."""
    with _Op(ctx, "lstm_gates", gates, c_prev) as op:
        tg, tc = op.input(gates, "gates", 2), op.input(c_prev, "c_prev", 2)
        c = op.output(tc.shape, None, "c")
        h = op.output(tc.shape, None, "h")
        op.call(op.lib.clnn_lstm_gates_forward, op.h, tg._handle(), tc._handle(), c._handle(),
                h._handle())
        return LSTMGates(*op.ret((c, None), (h, None)))


def lstm_gates_backward(ctx, gates, c_prev, c, dh, dc=None):
    """(dgates [N, 4H], dc_prev [N, H]) of lstm_gates, from dh and (optionally) the dc arriving
    from the next step."""
    with _Op(ctx, "lstm_gates_backward", gates, c_prev, c, dh, dc) as op:
        tg, tcp = op.input(gates, "gates", 2), op.input(c_prev, "c_prev", 2)
        tc, tdh = op.input(c, "c", 2), op.input(dh, "dh", 2)
        tdc = op.input(dc, "dc", 2, optional=True)
        dg = op.output(tg.shape, None, "dgates")
        dcp = op.output(tcp.shape, None, "dc_prev")
        op.call(op.lib.clnn_lstm_gates_backward, op.h, tg._handle(), tcp._handle(), tc._handle(),
                tdh._handle(), _h(tdc), dg._handle(), dcp._handle())
        return LSTMGatesGrads(*op.ret((dg, None), (dcp, None)))


def lstm_reserve_size(seq_len, batch, hidden):
    """Number of floats of the `reserve` tensor lstm() writes for backward."""
    return int(L.load().clnn_lstm_reserve_numel(_u64(seq_len, "seq_len"), _u64(batch, "batch"),
                                                _u64(hidden, "hidden")))


def lstm(ctx, x, w_ih, w_hh, bias=None, h0=None, c0=None):
    """One LSTM layer over a time-major sequence x [T, N, I] with w_ih [4H, I], w_hh [4H, H],
    bias [4H] (gates i, f, g, o) and optional initial states h0, c0 [N, H].
    Returns (y [T, N, H], h_n, c_n, reserve); pass reserve to lstm_backward."""
    with _Op(ctx, "lstm", x, w_ih, w_hh, bias, h0, c0) as op:
        tx = op.input(x, "x", 3)
        twi, twh = op.input(w_ih, "w_ih", 2), op.input(w_hh, "w_hh", 2)
        tb = op.input(bias, "bias", 1, optional=True)
        th0 = op.input(h0, "h0", 2, optional=True)
        tc0 = op.input(c0, "c0", 2, optional=True)
        t, n, hid = tx.shape[0], tx.shape[1], twh.shape[1]
        y = op.output((t, n, hid), None, "y")
        hn = op.output((n, hid), None, "h_n")
        cn = op.output((n, hid), None, "c_n")
        r = op.output((lstm_reserve_size(t, n, hid),), None, "reserve")
        op.call(op.lib.clnn_lstm_forward, op.h, tx._handle(), twi._handle(), twh._handle(),
                _h(tb), _h(th0), _h(tc0), y._handle(), hn._handle(), cn._handle(), r._handle())
        return LSTMResult(*op.ret((y, None), (hn, None), (cn, None), (r, None)))


def lstm_backward(ctx, x, w_ih, w_hh, y, reserve, dy=None, dh_n=None, dc_n=None, *, h0=None,
                  c0=None, beta=0.0, out=None):
    """Backward through time of lstm(). dy [T, N, H], dh_n, dc_n [N, H] may each be None (zero).
    Returns (dx, dw_ih, dw_hh, dbias, dh0, dc0); out: a tuple of six (entries may be None)."""
    outs = _out_tuple(out, 6, "lstm_backward")
    with _Op(ctx, "lstm_backward", x, w_ih, w_hh, y, reserve, dy, dh_n, dc_n, h0, c0, outs) as op:
        tx = op.input(x, "x", 3)
        twi, twh = op.input(w_ih, "w_ih", 2), op.input(w_hh, "w_hh", 2)
        ty = op.input(y, "y", 3)
        tr = op.input(reserve, "reserve", 1)
        tdy = op.input(dy, "dy", 3, optional=True)
        tdhn = op.input(dh_n, "dh_n", 2, optional=True)
        tdcn = op.input(dc_n, "dc_n", 2, optional=True)
        th0 = op.input(h0, "h0", 2, optional=True)
        tc0 = op.input(c0, "c0", 2, optional=True)
        beta = _float(beta, "beta")
        n, hid = tx.shape[1], twh.shape[1]
        shapes = [tx.shape, twi.shape, twh.shape, (twi.shape[0],), (n, hid), (n, hid)]
        names = ["dx", "dw_ih", "dw_hh", "dbias", "dh0", "dc0"]
        ts = [op.output(s, o, f"out[{i}] ({nm})", beta)
              for i, (s, o, nm) in enumerate(zip(shapes, outs, names))]
        op.call(op.lib.clnn_lstm_backward, op.h, tx._handle(), twi._handle(), twh._handle(),
                _h(th0), _h(tc0), ty._handle(), tr._handle(), _h(tdy), _h(tdhn), _h(tdcn), beta,
                *[t._handle() for t in ts])
        return LSTMGrads(*op.ret(*zip(ts, outs)))


# ============================================================================================
# Optimizers (in place)
# ============================================================================================

def sgd_step(ctx, param, grad, velocity=None, *, lr, momentum=0.0, dampening=0.0,
             weight_decay=0.0, nesterov=False, first_step=False):
    """torch.optim.SGD step, in place on param (and velocity, needed when momentum > 0).
    first_step=True initialises velocity to the gradient as PyTorch does on its first step."""
    p = L.SgdParams(_float(lr, "lr"), _float(momentum, "momentum"), _float(dampening, "dampening"),
                    _float(weight_decay, "weight_decay"), int(_flag(nesterov, "nesterov")),
                    int(_flag(first_step, "first_step")))
    with _Op(ctx, "sgd_step", param, grad, velocity) as op:
        tp = op.inplace(param, "param")
        tg = op.input(grad, "grad")
        tv = op.inplace(velocity, "velocity", optional=True)
        op.call(op.lib.clnn_sgd_step, op.h, ctypes.byref(p), tp._handle(), tg._handle(), _h(tv))
        return op.ret()


def adam_step(ctx, param, grad, m, v, *, step, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
              weight_decay=0.0, decoupled_weight_decay=False):
    """torch.optim.Adam step (AdamW with decoupled_weight_decay=True), in place on param, m, v.
    step counts from 1."""
    p = L.AdamParams(_float(lr, "lr"), _float(beta1, "beta1"), _float(beta2, "beta2"),
                     _float(eps, "eps"), _float(weight_decay, "weight_decay"),
                     int(_flag(decoupled_weight_decay, "decoupled_weight_decay")))
    st = _cint(step, "step")
    with _Op(ctx, "adam_step", param, grad, m, v) as op:
        tp = op.inplace(param, "param")
        tg = op.input(grad, "grad")
        tm = op.inplace(m, "m")
        tv = op.inplace(v, "v")
        op.call(op.lib.clnn_adam_step, op.h, ctypes.byref(p), st, tp._handle(), tg._handle(),
                tm._handle(), tv._handle())
        return op.ret()


def adamw_step(ctx, param, grad, m, v, *, step, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
               weight_decay=0.01):
    """torch.optim.AdamW step, in place on param, m, v."""
    return adam_step(ctx, param, grad, m, v, step=step, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                     weight_decay=weight_decay, decoupled_weight_decay=True)


def rmsprop_step(ctx, param, grad, square_avg, momentum_buf=None, *, lr=0.01, alpha=0.99,
                 eps=1e-8, weight_decay=0.0, momentum=0.0):
    """torch.optim.RMSprop step (not centered), in place on param, square_avg (and momentum_buf,
    needed when momentum > 0)."""
    p = L.RmspropParams(_float(lr, "lr"), _float(alpha, "alpha"), _float(eps, "eps"),
                        _float(weight_decay, "weight_decay"), _float(momentum, "momentum"))
    with _Op(ctx, "rmsprop_step", param, grad, square_avg, momentum_buf) as op:
        tp = op.inplace(param, "param")
        tg = op.input(grad, "grad")
        ts = op.inplace(square_avg, "square_avg")
        tm = op.inplace(momentum_buf, "momentum_buf", optional=True)
        op.call(op.lib.clnn_rmsprop_step, op.h, ctypes.byref(p), tp._handle(), tg._handle(),
                ts._handle(), _h(tm))
        return op.ret()


def adagrad_step(ctx, param, grad, sum, *, lr=0.01, eps=1e-10, weight_decay=0.0):
    """torch.optim.Adagrad step (lr_decay 0), in place on param and sum."""
    p = L.AdagradParams(_float(lr, "lr"), _float(eps, "eps"), _float(weight_decay, "weight_decay"))
    with _Op(ctx, "adagrad_step", param, grad, sum) as op:
        tp = op.inplace(param, "param")
        tg = op.input(grad, "grad")
        ts = op.inplace(sum, "sum")
        op.call(op.lib.clnn_adagrad_step, op.h, ctypes.byref(p), tp._handle(), tg._handle(),
                ts._handle())
        return op.ret()


def clip_grad_norm(ctx, grads, max_norm):
    """torch.nn.utils.clip_grad_norm_: scales every gradient (in place) by
    min(1, max_norm / (total L2 norm + 1e-6)); returns the norm before clipping."""
    if isinstance(grads, (Tensor, np.ndarray)):
        grads = [grads]
    if not isinstance(grads, (list, tuple)):
        raise invalid("clip_grad_norm: grads must be a Tensor, an array, or a list of them")
    grads = list(grads)
    if not grads:
        raise invalid("clip_grad_norm: needs at least one gradient")
    mx = _float(max_norm, "max_norm")
    with _Op(ctx, "clip_grad_norm", grads) as op:
        ts = [op.inplace(g, f"grads[{i}]") for i, g in enumerate(grads)]
        arr = (ctypes.c_void_p * len(ts))(*[t._handle() for t in ts])
        norm = ctypes.c_float(0.0)
        op.call(op.lib.clnn_clip_grad_norm, op.h, arr, len(ts), mx, ctypes.byref(norm))
        op.ret()
        return float(norm.value)
