"""Batch normalisation over channels: training (batch statistics, running statistics updated in
place), inference, and the backward of each (src/ops/batchnorm.c)."""

from collections import namedtuple

from ._core import _float
from ._errors import invalid
from ._op_call import _Op, _h, _out_tuple

__all__ = ["batchnorm_training", "batchnorm_inference", "batchnorm_backward",
           "batchnorm_backward_inference"]

BatchNormTraining = namedtuple("BatchNormTraining", "y save_mean save_invstd")
BatchNormGrads = namedtuple("BatchNormGrads", "dx dscale dshift")


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


def batchnorm_backward_inference(ctx, x, dy, running_mean, running_var, scale=None, *, eps=1e-5,
                                 beta=0.0, out=None):
    """(dx, dscale, dshift) of batchnorm_inference (evaluation mode), the running statistics taken
    as constants: dx = dy*scale*invstd, dscale = sum dy*(x - running_mean)*invstd, dshift = sum dy
    with invstd = 1/sqrt(running_var + eps); out: (dx, dscale, dshift)."""
    outs = _out_tuple(out, 3, "batchnorm_backward_inference")
    with _Op(ctx, "batchnorm_backward_inference", x, dy, running_mean, running_var, scale,
             outs) as op:
        tx = op.input(x, "x", (2, 3, 4, 5))
        tdy = op.input(dy, "dy")
        trm = op.input(running_mean, "running_mean", 1)
        trv = op.input(running_var, "running_var", 1)
        ts = op.input(scale, "scale", 1, optional=True)
        beta = _float(beta, "beta")
        c = tx.shape[1]
        tdx = op.output(tx.shape, outs[0], "out[0] (dx)", beta)
        tds = op.output((c,), outs[1], "out[1] (dscale)", beta)
        tdb = op.output((c,), outs[2], "out[2] (dshift)", beta)
        op.call(op.lib.clnn_batchnorm_backward_inference, op.h, tx._handle(), tdy._handle(),
                _h(ts), trm._handle(), trv._handle(), _float(eps, "eps"), beta, tdx._handle(),
                tds._handle(), tdb._handle())
        return BatchNormGrads(*op.ret((tdx, outs[0]), (tds, outs[1]), (tdb, outs[2])))
