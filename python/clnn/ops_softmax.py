"""Softmax and log-softmax over the last axis, forward and backward (src/ops/softmax.c)."""

from ._core import _float
from ._op_call import _Op

__all__ = ["softmax", "softmax_backward", "log_softmax", "log_softmax_backward"]


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
