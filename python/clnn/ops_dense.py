"""Dense (fully connected) layer operators, forward and backward (src/ops/dense.c)."""

from collections import namedtuple

from ._core import _flag, _float
from ._op_call import _Op, _h, _out_tuple

__all__ = ["dense", "dense_backward_data", "dense_backward_weights"]

DenseWeightGrads = namedtuple("DenseWeightGrads", "dw db")


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
