"""Activation operators, forward and backward (src/ops/activation.c), and the activation names
that conv2d's fused activation and the graph builder accept too."""

from ._core import _float
from ._errors import invalid
from ._op_call import _Op, _h

__all__ = ["activation", "activation_backward", "relu", "leaky_relu", "elu", "sigmoid", "tanh",
           "gelu", "softplus", "ACTIVATIONS"]

ACTIVATIONS = {"identity": 0, "relu": 1, "leaky_relu": 2, "elu": 3, "sigmoid": 4, "tanh": 5,
               "gelu": 6, "softplus": 7}
# alpha when none is given: PyTorch's defaults
_ACT_DEFAULT_ALPHA = {"leaky_relu": 0.01, "elu": 1.0}


def _act(act, alpha):
    if act is None:
        act = "identity"
    if not isinstance(act, str) or act.lower() not in ACTIVATIONS:
        raise invalid(f"activation must be one of {', '.join(ACTIVATIONS)}, not {act!r}")
    act = act.lower()
    if alpha is None:
        alpha = _ACT_DEFAULT_ALPHA.get(act, 0.0)
    return ACTIVATIONS[act], _float(alpha, "alpha")


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
