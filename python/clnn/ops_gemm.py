"""GEMM operators: gemm, gemm_batched and matmul (src/gemm.c)."""

from ._core import _flag, _float
from ._op_call import _Op, _shape_of

__all__ = ["gemm", "gemm_batched", "matmul"]


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
