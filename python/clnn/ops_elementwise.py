"""Elementwise operators: add, mul, and the in-place scale, axpy and bias_add
(src/ops/elementwise.c)."""

from ._core import _float
from ._op_call import _Op

__all__ = ["add", "mul", "scale", "axpy", "bias_add"]


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
