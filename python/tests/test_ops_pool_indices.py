"""Max pooling through kept indices (maxpool2d_with_indices, maxpool2d_backward_indices) against
PyTorch's max_pool2d(return_indices=True) and its backward: ties, -inf windows, a NaN per window,
padding and strides; NumPy and Tensor calls; int32 indices= outputs; errors."""

import numpy as np
import pytest

import clnn
from conftest import assert_close, rand

torch = pytest.importorskip("torch")
F = torch.nn.functional

CASES = [
    ((2, 3, 9, 70), 3, 2, 1),         # the CPU kernels' 3-wide stride-2 path
    ((1, 2, 7, 5), (3, 2), (2, 1), (1, 0)),
    ((2, 2, 6, 40), 2, 1, 0),         # stride 1
    ((1, 3, 11, 10), 2, 3, 0),        # stride > window
]


def _data(rng, shape, kind):
    if kind == "ties":
        return rng.integers(0, 3, size=shape).astype(np.float32)
    x = rng.integers(0, 3, size=shape).astype(np.float32)
    if kind == "-inf":
        x[rng.random(shape) < 0.85] = -np.inf
    elif kind == "nan":  # one NaN per plane: PyTorch takes a window's last NaN, clnn its first
        flat = x.reshape(shape[0] * shape[1], -1)
        flat[np.arange(flat.shape[0]), rng.integers(0, flat.shape[1], flat.shape[0])] = np.nan
    return x


def _torch(x, k, s, pad):
    pad = pad if isinstance(pad, tuple) else (pad, pad)
    tx = torch.from_numpy(x.astype(np.float64)).requires_grad_(True)
    y, idx = F.max_pool2d(tx, k, s, pad, return_indices=True)
    return tx, y, idx


@pytest.mark.parametrize("xs,k,s,pad", CASES)
@pytest.mark.parametrize("kind", ["ties", "-inf", "nan"])
def test_matches_torch(ctx, rng, xs, k, s, pad, kind):
    x = _data(rng, xs, kind)
    tx, ty, tidx = _torch(x, k, s, pad)
    padding = pad if not isinstance(pad, tuple) else (pad[0], pad[0], pad[1], pad[1])
    y, idx = clnn.maxpool2d_with_indices(ctx, x, k, s, padding)
    assert idx.dtype == np.int32 and idx.shape == tuple(ty.shape)
    np.testing.assert_array_equal(idx, tidx.numpy())
    np.testing.assert_array_equal(y, ty.detach().numpy().astype(np.float32))
    dy = rand(rng, *ty.shape)
    ty.backward(torch.from_numpy(dy.astype(np.float64)))
    dx = clnn.maxpool2d_backward_indices(ctx, idx, dy, xs, k, s, padding)
    assert_close(dx, tx.grad.numpy(), rtol=1e-6, atol=1e-6, what="dx through indices")
    # the same through Tensors, accumulating with beta = 1 into a prefilled dx
    tdx0 = rand(rng, *xs)
    with clnn.Tensor(ctx, x) as t_x, clnn.Tensor(ctx, tdx0) as t_dx:
        t_y, t_idx = clnn.maxpool2d_with_indices(ctx, t_x, k, s, padding)
        np.testing.assert_array_equal(t_idx.numpy().view(np.int32), idx)
        clnn.maxpool2d_backward_indices(ctx, t_idx, dy, None, k, s, padding, beta=1.0, out=t_dx)
        assert_close(t_dx.numpy(), tdx0 + tx.grad.numpy(), rtol=1e-6, atol=1e-6,
                     what="dx through Tensor indices, beta 1")
        t_y.close()
        t_idx.close()


def test_indices_out_and_errors(ctx, rng):
    x = rand(rng, 1, 2, 6, 6)
    out_idx = np.full((1, 2, 3, 3), -5, dtype=np.int32)
    y, idx = clnn.maxpool2d_with_indices(ctx, x, 2, indices=out_idx)
    assert idx is out_idx
    _, want = _torch(x, 2, 2, 0)[1:]
    np.testing.assert_array_equal(out_idx, want.numpy())
    dy = rand(rng, 1, 2, 3, 3)
    for fn, status in [
        (lambda: clnn.maxpool2d_with_indices(ctx, x, 2, indices=np.zeros((1, 2, 3, 3))),
         "CLNN_ERROR_INVALID_ARGUMENT"),  # float64, not int32
        (lambda: clnn.maxpool2d_with_indices(ctx, x, 2,
                                             indices=np.zeros((1, 2, 3, 4), np.int32)),
         "CLNN_ERROR_SHAPE_MISMATCH"),
        (lambda: clnn.maxpool2d_backward_indices(ctx, idx.astype(np.int64), dy, x.shape, 2),
         "CLNN_ERROR_INVALID_ARGUMENT"),
        (lambda: clnn.maxpool2d_backward_indices(ctx, idx, dy, x.shape),
         "CLNN_ERROR_INVALID_ARGUMENT"),  # no kernel_size
        (lambda: clnn.maxpool2d_backward_indices(ctx, idx, dy, (1, 2, 8, 8), 2),
         "CLNN_ERROR_SHAPE_MISMATCH"),
    ]:
        with pytest.raises(clnn.Error) as e:
            fn()
        assert e.value.status == status, e.value
