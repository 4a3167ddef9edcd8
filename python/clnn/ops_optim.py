"""Optimizer steps in place, PyTorch's update rules (SGD, Adam, AdamW, RMSprop, Adagrad), and
gradient clipping by global norm (src/ops/optim.c)."""

import ctypes

import numpy as np

from . import _lib as L
from ._core import Tensor, _flag, _float
from ._errors import invalid
from ._op_call import _Op, _cint, _h

__all__ = ["sgd_step", "adam_step", "adamw_step", "rmsprop_step", "adagrad_step",
           "clip_grad_norm"]


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
