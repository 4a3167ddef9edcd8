"""2-D convolution and transposed convolution: output shapes, workspace size, forward and the
three backward passes (src/ops/conv2d.c, conv2d_geom.c, conv2d_direct.c)."""

import ctypes

from . import _lib as L
from ._core import _check_ctx, _float
from ._errors import invalid
from ._op_call import _Op, _cint, _dims4, _grad_shape, _h, _pair, _padding, _shape_arg
from .ops_activation import _act

__all__ = ["conv2d_output_shape", "conv2d_workspace_size", "conv2d", "conv2d_backward_data",
           "conv2d_backward_filter", "conv2d_backward_bias", "conv_transpose2d_output_shape",
           "conv_transpose2d", "conv_transpose2d_backward_data",
           "conv_transpose2d_backward_filter", "conv_transpose2d_backward_bias", "CONV_ALGOS"]

CONV_ALGOS = {"auto": 0, "im2col_gemm": 1, "im2col": 1, "1x1_gemm": 2, "1x1": 2, "direct": 3,
              "implicit_gemm": 4, "igemm": 4, "winograd": 5}


def _algo(algo):
    if isinstance(algo, str) and algo.lower() in CONV_ALGOS:
        return CONV_ALGOS[algo.lower()]
    raise invalid(f"algo must be one of {', '.join(CONV_ALGOS)}, not {algo!r}")


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
    "1x1_gemm", "direct", "implicit_gemm" (forward only: the backward passes run im2col),
    "winograd" (3x3, stride 1, dilation 1, groups 1, padding 0 to 2; on CPU devices also the
    forward of row stride 2 with 5 to 8 filter rows, groups 1: the 7x7 stride-2 stem).
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
