"""Loss operators: mean loss and, optionally, its gradient in one call (src/ops/loss.c)."""

import numpy as np

from . import _lib as L
from ._core import Tensor, _flag, as_int32_labels
from ._errors import shape_mismatch
from ._op_call import _Op, _h

__all__ = ["softmax_cross_entropy", "bce_with_logits", "mse_loss"]


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
