"""Pooling operators: max, average and global average pooling, forward and backward
(src/ops/pool2d.c)."""

import ctypes

import numpy as np

from . import _lib as L
from ._core import _flag, _float
from ._errors import invalid
from ._op_call import _Op, _dims4, _grad_shape, _pair, _padding, _shape_arg

__all__ = ["pool2d_output_shape", "maxpool2d", "maxpool2d_backward", "maxpool2d_with_indices",
           "maxpool2d_backward_indices", "avgpool2d", "avgpool2d_backward", "global_avgpool",
           "global_avgpool_backward"]


def _pool_params(kernel_size, stride, padding, count_include_pad=False):
    p = L.Pool2dParams()
    p.kernel_h, p.kernel_w = _pair(kernel_size, "kernel_size")
    if stride is None:
        stride = (p.kernel_h, p.kernel_w)
    p.stride_h, p.stride_w = _pair(stride, "stride")
    p.pad_top, p.pad_bottom, p.pad_left, p.pad_right = _padding(padding)
    p.count_include_pad = 1 if _flag(count_include_pad, "count_include_pad") else 0
    return p


def _pool_out(x_shape, p):
    y = (ctypes.c_size_t * 4)()
    L.check(L.load().clnn_pool2d_output_dims(_dims4(x_shape), ctypes.byref(p), y))
    return tuple(int(d) for d in y)


def pool2d_output_shape(x_shape, kernel_size, stride=None, padding=0):
    """Output shape of max/avg pooling on x [N, C, H, W]."""
    xs = _shape_arg(x_shape, "x_shape", 4)
    return _pool_out(xs, _pool_params(kernel_size, stride, padding))


def maxpool2d(ctx, x, kernel_size, stride=None, padding=0, *, out=None):
    """Max pooling of x [N, C, H, W]; stride None means stride = kernel_size. Padding (int,
    (h, w) or (top, bottom, left, right)) is never the maximum."""
    p = _pool_params(kernel_size, stride, padding)
    with _Op(ctx, "maxpool2d", x, out) as op:
        tx = op.input(x, "x", 4)
        ty = op.output(_pool_out(tx.shape, p), out)
        op.call(op.lib.clnn_maxpool2d_forward, op.h, ctypes.byref(p), tx._handle(), ty._handle())
        return op.ret((ty, out))


def maxpool2d_backward(ctx, x, dy, kernel_size, stride=None, padding=0, *, beta=0.0, out=None):
    """dx: dy routed to the first maximum of each window of x."""
    p = _pool_params(kernel_size, stride, padding)
    with _Op(ctx, "maxpool2d_backward", x, dy, out) as op:
        tx, tdy = op.input(x, "x", 4), op.input(dy, "dy", 4)
        beta = _float(beta, "beta")
        tdx = op.output(tx.shape, out, beta=beta)
        op.call(op.lib.clnn_maxpool2d_backward, op.h, ctypes.byref(p), tx._handle(),
                tdy._handle(), beta, tdx._handle())
        return op.ret((tdx, out))


def _int32_bits(a, what, name, written=False):
    """A NumPy int32 array as the float32 array with the same bits (what the C call's tensor
    holds; written: the same memory, so it must be C-contiguous); Tensors and None pass
    through."""
    if a is None or not isinstance(a, np.ndarray):
        return a
    if a.dtype != np.int32 or (written and not a.flags.c_contiguous):
        raise invalid(f"{name}: {what} must be a{' C-contiguous' if written else 'n'} int32 NumPy "
                      f"array (the indices maxpool2d_with_indices returns) or a clnn.Tensor, got "
                      f"dtype {a.dtype}")
    return np.ascontiguousarray(a).view(np.float32)


def maxpool2d_with_indices(ctx, x, kernel_size, stride=None, padding=0, *, out=None,
                           indices=None):
    """Max pooling that also keeps each window's argmax for maxpool2d_backward_indices: returns
    (y, indices). indices holds the flat offset h*W + w within the input plane of each window's
    first maximum (PyTorch's max_pool2d indices, as int32; the first NaN wins). NumPy in: an int32
    array. Tensors: a Tensor whose elements carry the int32 bits (t.numpy().view(numpy.int32)).
    ``indices=``: a Tensor or a writable C-contiguous int32 array to write them into."""
    p = _pool_params(kernel_size, stride, padding)
    ibits = _int32_bits(indices, "indices", "maxpool2d_with_indices", written=True)
    with _Op(ctx, "maxpool2d_with_indices", x, out, indices) as op:
        tx = op.input(x, "x", 4)
        ys = _pool_out(tx.shape, p)
        ty = op.output(ys, out)
        ti = op.output(ys, ibits, "indices")
        op.call(op.lib.clnn_maxpool2d_forward_indices, op.h, ctypes.byref(p), tx._handle(),
                ty._handle(), ti._handle())
        y, i = op.ret((ty, out), (ti, indices))
        if indices is None and isinstance(i, np.ndarray):
            i = i.view(np.int32)
        return y, i


def maxpool2d_backward_indices(ctx, indices, dy, input_shape=None, kernel_size=None, stride=None,
                               padding=0, *, beta=0.0, out=None):
    """dx [input_shape]: dy routed through the indices maxpool2d_with_indices returned for the
    same pooling parameters and input shape (the result of maxpool2d_backward, without x)."""
    if kernel_size is None:
        raise invalid("maxpool2d_backward_indices: kernel_size is required")
    p = _pool_params(kernel_size, stride, padding)
    xs = _grad_shape(input_shape, out, "input_shape", "maxpool2d_backward_indices")
    ibits = _int32_bits(indices, "indices", "maxpool2d_backward_indices")
    with _Op(ctx, "maxpool2d_backward_indices", indices, dy, out) as op:
        ti, tdy = op.input(ibits, "indices", 4), op.input(dy, "dy", 4)
        beta = _float(beta, "beta")
        tdx = op.output(xs, out, beta=beta)
        op.call(op.lib.clnn_maxpool2d_backward_indices, op.h, ctypes.byref(p), ti._handle(),
                tdy._handle(), beta, tdx._handle())
        return op.ret((tdx, out))


def avgpool2d(ctx, x, kernel_size, stride=None, padding=0, *, count_include_pad=False, out=None):
    """Average pooling of x [N, C, H, W]; count_include_pad as in PyTorch (default here:
    False, padding is not counted)."""
    p = _pool_params(kernel_size, stride, padding, count_include_pad)
    with _Op(ctx, "avgpool2d", x, out) as op:
        tx = op.input(x, "x", 4)
        ty = op.output(_pool_out(tx.shape, p), out)
        op.call(op.lib.clnn_avgpool2d_forward, op.h, ctypes.byref(p), tx._handle(), ty._handle())
        return op.ret((ty, out))


def avgpool2d_backward(ctx, dy, input_shape=None, kernel_size=None, stride=None, padding=0, *,
                       count_include_pad=False, beta=0.0, out=None):
    """dx [input_shape] of average pooling."""
    if kernel_size is None:
        raise invalid("avgpool2d_backward: kernel_size is required")
    p = _pool_params(kernel_size, stride, padding, count_include_pad)
    xs = _grad_shape(input_shape, out, "input_shape", "avgpool2d_backward")
    with _Op(ctx, "avgpool2d_backward", dy, out) as op:
        tdy = op.input(dy, "dy", 4)
        beta = _float(beta, "beta")
        tdx = op.output(xs, out, beta=beta)
        op.call(op.lib.clnn_avgpool2d_backward, op.h, ctypes.byref(p), tdy._handle(), beta,
                tdx._handle())
        return op.ret((tdx, out))


def global_avgpool(ctx, x, *, out=None):
    """x [N, C, H, W] -> [N, C, 1, 1], the mean over H and W."""
    with _Op(ctx, "global_avgpool", x, out) as op:
        tx = op.input(x, "x", 4)
        ty = op.output((tx.shape[0], tx.shape[1], 1, 1), out)
        op.call(op.lib.clnn_global_avgpool_forward, op.h, tx._handle(), ty._handle())
        return op.ret((ty, out))


def global_avgpool_backward(ctx, dy, input_shape=None, *, beta=0.0, out=None):
    """dx [input_shape] of global average pooling (dy [N, C, 1, 1])."""
    xs = _grad_shape(input_shape, out, "input_shape", "global_avgpool_backward")
    with _Op(ctx, "global_avgpool_backward", dy, out) as op:
        tdy = op.input(dy, "dy", 4)
        beta = _float(beta, "beta")
        tdx = op.output(xs, out, beta=beta)
        op.call(op.lib.clnn_global_avgpool_backward, op.h, tdy._handle(), beta, tdx._handle())
        return op.ret((tdx, out))
