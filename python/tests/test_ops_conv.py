"""Convolution, transposed convolution and pooling against NumPy references; gradients
against finite differences."""

import numpy as np
import pytest

import clnn
from conftest import (assert_close, fd_grad, rand, ref_act, ref_conv2d, ref_conv_transpose2d,
                      ref_pool)

# (x shape, w shape, stride, padding, dilation, groups, algo): few variants, small shapes
CONV_CASES = [
    ((2, 3, 6, 5), (4, 3, 3, 3), 1, 1, 1, 1, "auto"),
    ((1, 4, 7, 7), (6, 2, 3, 2), (2, 1), (1, 0, 2, 1), 1, 2, "im2col_gemm"),
    ((1, 3, 7, 6), (3, 1, 3, 3), 1, 2, 2, 3, "direct"),
    ((2, 4, 4, 3), (5, 4, 1, 1), 1, 0, 1, 1, "1x1_gemm"),
    ((2, 3, 9, 8), (5, 3, 3, 3), 2, 1, (2, 1), 1, "implicit_gemm"),
    ((2, 3, 7, 9), (4, 3, 3, 3), 1, 1, 1, 1, "winograd"),
]


@pytest.mark.parametrize("xs,ws,stride,padding,dilation,groups,algo", CONV_CASES)
def test_conv2d(ctx, rng, xs, ws, stride, padding, dilation, groups, algo):
    x, w, b = rand(rng, *xs), rand(rng, *ws), rand(rng, ws[0])
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    want = ref_conv2d(x, w, b, **kw)
    assert clnn.conv2d_output_shape(xs, ws, **kw) == want.shape
    assert clnn.conv2d_workspace_size(ctx, xs, ws, algo=algo, **kw) >= 0
    y = clnn.conv2d(ctx, x, w, b, algo=algo, **kw)
    assert_close(y, want, rtol=1e-4, atol=1e-4, what="conv2d")
    dy = rand(rng, *want.shape)
    dx = clnn.conv2d_backward_data(ctx, dy, w, xs, algo=algo, **kw)
    assert_close(dx, fd_grad(lambda v: (ref_conv2d(v, w, b, **kw) * dy).sum(), x),
                 rtol=1e-3, atol=1e-3, what="conv2d dx")
    dw = clnn.conv2d_backward_filter(ctx, x, dy, ws, algo=algo, **kw)
    assert_close(dw, fd_grad(lambda v: (ref_conv2d(x, v, b, **kw) * dy).sum(), w),
                 rtol=1e-3, atol=1e-3, what="conv2d dw")
    db = clnn.conv2d_backward_bias(ctx, dy)
    assert_close(db, dy.astype(np.float64).sum(axis=(0, 2, 3)), rtol=1e-4, atol=1e-4)


def test_conv2d_fused_activation_and_accumulate(ctx, rng):
    x, w = rand(rng, 1, 2, 5, 5), rand(rng, 3, 2, 3, 3)
    y = clnn.conv2d(ctx, x, w, padding=1, activation="leaky_relu", alpha=0.1)
    assert_close(y, ref_act("leaky_relu", ref_conv2d(x, w, padding=1), 0.1), atol=1e-4)
    dy = rand(rng, 1, 3, 5, 5)
    acc = np.full(x.shape, 2.0, dtype=np.float32)
    r = clnn.conv2d_backward_data(ctx, dy, w, padding=1, beta=1.0, out=acc)  # shape from out
    assert r is acc
    plain = clnn.conv2d_backward_data(ctx, dy, w, x.shape, padding=1)
    assert_close(acc, plain + 2.0, atol=1e-4)


def test_conv2d_errors(ctx, rng):
    x, w = rand(rng, 1, 3, 5, 5), rand(rng, 4, 3, 3, 3)
    cases = [
        (lambda: clnn.conv2d(ctx, x, rand(rng, 4, 2, 3, 3)), "CLNN_ERROR_SHAPE_MISMATCH"),
        (lambda: clnn.conv2d(ctx, x[0], w), "CLNN_ERROR_SHAPE_MISMATCH"),  # 3-D input
        (lambda: clnn.conv2d(ctx, x, w, stride=0), "CLNN_ERROR_INVALID_ARGUMENT"),
        (lambda: clnn.conv2d(ctx, x, w, padding=-1), "CLNN_ERROR_INVALID_ARGUMENT"),
        (lambda: clnn.conv2d(ctx, x, w, groups=2), None),
        (lambda: clnn.conv2d(ctx, x, w, padding=(1, 2, 3)), "CLNN_ERROR_INVALID_ARGUMENT"),
        (lambda: clnn.conv2d(ctx, x, w, stride=2**40), "CLNN_ERROR_INVALID_ARGUMENT"),
        (lambda: clnn.conv2d(ctx, x, w, algo="fft"), "CLNN_ERROR_INVALID_ARGUMENT"),
        (lambda: clnn.conv2d(ctx, x, w, stride=2, algo="winograd"), "CLNN_ERROR_UNSUPPORTED"),
        (lambda: clnn.conv2d(ctx, x, w, algo="1x1_gemm"), "CLNN_ERROR_UNSUPPORTED"),
        (lambda: clnn.conv2d(ctx, x, rand(rng, 4, 3, 9, 9)), "CLNN_ERROR_SHAPE_MISMATCH"),
        (lambda: clnn.conv2d(ctx, x, w, rand(rng, 3)), "CLNN_ERROR_SHAPE_MISMATCH"),
        (lambda: clnn.conv2d_backward_data(ctx, rand(rng, 1, 4, 3, 3), w), "CLNN_ERROR_INVALID_ARGUMENT"),
        (lambda: clnn.conv2d_backward_data(ctx, rand(rng, 1, 4, 3, 3), w, (1, 3, 9, 9)),
         "CLNN_ERROR_SHAPE_MISMATCH"),
        (lambda: clnn.conv2d_output_shape((1, 3, 5), (4, 3, 3, 3)), "CLNN_ERROR_SHAPE_MISMATCH"),
    ]
    for fn, status in cases:
        with pytest.raises(clnn.Error) as e:
            fn()
        if status:
            assert e.value.status == status, e.value
        assert e.value.message


CT_CASES = [
    ((2, 3, 4, 3), (3, 2, 3, 3), 1, 0, 1, 1),
    ((1, 4, 3, 4), (4, 1, 3, 2), 2, 1, 1, 2),
    ((1, 2, 3, 3), (2, 3, 2, 2), 2, (1, 0, 0, 1), 2, 1),
]


@pytest.mark.parametrize("xs,ws,stride,padding,dilation,groups", CT_CASES)
def test_conv_transpose2d(ctx, rng, xs, ws, stride, padding, dilation, groups):
    x, w, b = rand(rng, *xs), rand(rng, *ws), rand(rng, ws[1] * groups)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    want = ref_conv_transpose2d(x, w, b, **kw)
    assert clnn.conv_transpose2d_output_shape(xs, ws, **kw) == want.shape
    y = clnn.conv_transpose2d(ctx, x, w, b, **kw)
    assert_close(y, want, rtol=1e-4, atol=1e-4, what="conv_transpose2d")
    dy = rand(rng, *want.shape)
    dx = clnn.conv_transpose2d_backward_data(ctx, dy, w, xs, **kw)
    assert_close(dx, fd_grad(lambda v: (ref_conv_transpose2d(v, w, b, **kw) * dy).sum(), x),
                 rtol=1e-3, atol=1e-3, what="conv_transpose2d dx")
    dw = clnn.conv_transpose2d_backward_filter(ctx, x, dy, ws, **kw)
    assert_close(dw, fd_grad(lambda v: (ref_conv_transpose2d(x, v, b, **kw) * dy).sum(), w),
                 rtol=1e-3, atol=1e-3, what="conv_transpose2d dw")
    db = clnn.conv_transpose2d_backward_bias(ctx, dy)
    assert_close(db, dy.astype(np.float64).sum(axis=(0, 2, 3)), atol=1e-4)


POOL_CASES = [
    ((2, 3, 6, 6), 2, None, 0),
    ((1, 2, 7, 5), (3, 2), (2, 1), (1, 0)),
    ((1, 1, 5, 5), 3, 2, (1, 0, 1, 2)),
]


@pytest.mark.parametrize("xs,k,stride,padding", POOL_CASES)
def test_maxpool2d(ctx, rng, xs, k, stride, padding):
    x = rng.permutation(np.prod(xs)).reshape(xs).astype(np.float32) / 10  # no ties
    want = ref_pool(x, k, stride, padding, "max")
    assert clnn.pool2d_output_shape(xs, k, stride, padding) == want.shape
    y = clnn.maxpool2d(ctx, x, k, stride, padding)
    assert_close(y, want, what="maxpool2d")
    dy = rand(rng, *want.shape)
    dx = clnn.maxpool2d_backward(ctx, x, dy, k, stride, padding)
    assert_close(dx, fd_grad(lambda v: (ref_pool(v, k, stride, padding, "max") * dy).sum(), x,
                             h=1e-3), rtol=1e-3, atol=1e-3, what="maxpool2d dx")


@pytest.mark.parametrize("xs,k,stride,padding", POOL_CASES)
@pytest.mark.parametrize("cip", [False, True])
def test_avgpool2d(ctx, rng, xs, k, stride, padding, cip):
    x = rand(rng, *xs)
    want = ref_pool(x, k, stride, padding, "avg", cip)
    y = clnn.avgpool2d(ctx, x, k, stride, padding, count_include_pad=cip)
    assert_close(y, want, what="avgpool2d")
    dy = rand(rng, *want.shape)
    dx = clnn.avgpool2d_backward(ctx, dy, xs, k, stride, padding, count_include_pad=cip)
    assert_close(dx, fd_grad(lambda v: (ref_pool(v, k, stride, padding, "avg", cip) * dy).sum(),
                             x), rtol=1e-3, atol=1e-3, what="avgpool2d dx")


def test_global_avgpool(ctx, rng):
    x = rand(rng, 2, 3, 4, 5)
    y = clnn.global_avgpool(ctx, x)
    assert_close(y, x.astype(np.float64).mean(axis=(2, 3), keepdims=True))
    dy = rand(rng, 2, 3, 1, 1)
    dx = clnn.global_avgpool_backward(ctx, dy, x.shape)
    assert_close(dx, np.broadcast_to(dy / 20.0, x.shape), atol=1e-6)


def test_pool_errors(ctx, rng):
    x = rand(rng, 1, 1, 4, 4)
    for fn, status in [
        (lambda: clnn.maxpool2d(ctx, x, 0), "CLNN_ERROR_INVALID_ARGUMENT"),
        (lambda: clnn.maxpool2d(ctx, x, 2, padding=2), "CLNN_ERROR_INVALID_ARGUMENT"),
        (lambda: clnn.maxpool2d(ctx, x, 5), None),
        (lambda: clnn.maxpool2d(ctx, x[0], 2), "CLNN_ERROR_SHAPE_MISMATCH"),
        (lambda: clnn.maxpool2d_backward(ctx, x, rand(rng, 1, 1, 3, 3), 2),
         "CLNN_ERROR_SHAPE_MISMATCH"),
        (lambda: clnn.avgpool2d_backward(ctx, rand(rng, 1, 1, 2, 2), x.shape),
         "CLNN_ERROR_INVALID_ARGUMENT"),
        (lambda: clnn.global_avgpool_backward(ctx, rand(rng, 1, 1, 1, 1), (1, 2, 4, 4)),
         "CLNN_ERROR_SHAPE_MISMATCH"),
    ]:
        with pytest.raises(clnn.Error) as e:
            fn()
        if status:
            assert e.value.status == status, e.value
