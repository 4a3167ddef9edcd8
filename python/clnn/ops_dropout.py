"""Inverted dropout with a counter-based mask, forward and backward (src/ops/dropout.c)."""

from ._core import _float
from ._op_call import _Op, _u64

__all__ = ["dropout", "dropout_backward"]


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
