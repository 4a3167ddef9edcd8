"""GEMM, activations, elementwise, softmax, losses, dropout and dense layers against NumPy
references; gradients against finite differences of those references."""

import numpy as np
import pytest

import clnn
from conftest import assert_close, fd_grad, rand, ref_act, ref_log_softmax, ref_softmax


# ---- GEMM ----------------------------------------------------------------------------------

@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_gemm(ctx, rng, ta, tb):
    a = rand(rng, 5, 7) if not ta else rand(rng, 7, 5)
    b = rand(rng, 7, 3) if not tb else rand(rng, 3, 7)
    c0 = rand(rng, 5, 3)
    want = 0.5 * ((a.T if ta else a) @ (b.T if tb else b)).astype(np.float64) + 2.0 * c0
    c = c0.copy()
    got = clnn.gemm(ctx, a, b, trans_a=ta, trans_b=tb, alpha=0.5, beta=2.0, out=c)
    assert got is c
    assert_close(c, want, what="gemm")


def test_gemm_batched_and_matmul(ctx, rng):
    a, b = rand(rng, 3, 4, 5), rand(rng, 3, 5, 2)
    assert_close(clnn.gemm_batched(ctx, a, b), np.matmul(a, b), what="gemm_batched")
    assert_close(clnn.matmul(ctx, a[0], b[0]), a[0] @ b[0], what="matmul")
    with pytest.raises(clnn.Error) as e:
        clnn.gemm(ctx, rand(rng, 2, 3), rand(rng, 4, 2))
    assert e.value.status == "CLNN_ERROR_SHAPE_MISMATCH"
    with pytest.raises(clnn.Error) as e:
        clnn.gemm(ctx, rand(rng, 2, 3, 1), rand(rng, 3, 2))
    assert e.value.status == "CLNN_ERROR_SHAPE_MISMATCH"
    for flag in (np.ones(2), "yes", 2, None):  # flags are True/False (or 0/1)
        with pytest.raises(clnn.Error) as e:
            clnn.gemm(ctx, a[0], b[0], trans_a=flag)
        assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"


# ---- activations ---------------------------------------------------------------------------

ACTS = ["identity", "relu", "leaky_relu", "elu", "sigmoid", "tanh", "gelu", "softplus"]


@pytest.mark.parametrize("act", ACTS)
def test_activation_forward_backward(ctx, rng, act):
    x = rand(rng, 3, 5, lo=-3, hi=3)
    x[np.abs(x) < 0.05] = 0.5  # keep clear of the kinks for finite differences
    alpha = {"leaky_relu": 0.2, "elu": 0.7}.get(act)
    y = clnn.activation(ctx, act, x, alpha=alpha)
    assert y.dtype == np.float32 and y.shape == x.shape
    assert_close(y, ref_act(act, x, alpha), rtol=1e-4, atol=1e-5, what=act)
    dy = rand(rng, 3, 5)
    want = fd_grad(lambda v: (ref_act(act, v, alpha) * dy).sum(), x, h=1e-4)
    needs_x = act in ("gelu", "softplus")
    dx = clnn.activation_backward(ctx, act, dy, x=x, alpha=alpha)
    assert_close(dx, want, rtol=1e-3, atol=1e-4, what=f"{act} backward from x")
    if not needs_x:
        dx2 = clnn.activation_backward(ctx, act, dy, y=y, alpha=alpha)
        assert_close(dx2, want, rtol=1e-3, atol=1e-4, what=f"{act} backward from y")


def test_activation_shortcuts_and_defaults(ctx, rng):
    x = rand(rng, 10, lo=-2, hi=2)
    assert_close(clnn.relu(ctx, x), ref_act("relu", x))
    assert_close(clnn.leaky_relu(ctx, x), ref_act("leaky_relu", x, 0.01))
    assert_close(clnn.leaky_relu(ctx, x, 0.3), ref_act("leaky_relu", x, 0.3))
    assert_close(clnn.elu(ctx, x), ref_act("elu", x, 1.0))
    assert_close(clnn.sigmoid(ctx, x), ref_act("sigmoid", x))
    assert_close(clnn.tanh(ctx, x), ref_act("tanh", x))
    assert_close(clnn.gelu(ctx, x), ref_act("gelu", x))
    assert_close(clnn.softplus(ctx, x), ref_act("softplus", x))
    with pytest.raises(clnn.Error) as e:
        clnn.activation(ctx, "swish", x)
    assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"
    with pytest.raises(clnn.Error) as e:
        clnn.activation_backward(ctx, "relu", x)  # neither x nor y
    assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"


def test_activation_in_place_and_beta(ctx, rng):
    x = rand(rng, 4, 4)
    t = ctx.tensor(x)
    r = clnn.relu(ctx, t, out=t)  # y may be x
    assert r is t
    assert_close(t.numpy(), np.maximum(x, 0))
    dy = rand(rng, 4, 4)
    acc = np.ones((4, 4), dtype=np.float32)
    clnn.activation_backward(ctx, "relu", dy, x=x, beta=1.0, out=acc)
    assert_close(acc, 1 + dy * (x > 0))
    with pytest.raises(clnn.Error) as e:
        clnn.activation_backward(ctx, "relu", dy, x=x, beta=1.0)  # beta without out
    assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"


# ---- elementwise ---------------------------------------------------------------------------

def test_elementwise(ctx, rng):
    a, b = rand(rng, 2, 6), rand(rng, 2, 6)
    assert_close(clnn.add(ctx, a, b), a.astype(np.float64) + b)
    assert_close(clnn.mul(ctx, a, b), a.astype(np.float64) * b)
    x = a.copy()
    assert clnn.scale(ctx, 3.0, x) is None
    assert_close(x, 3.0 * a)
    y = b.copy()
    clnn.axpy(ctx, -2.0, a, y)
    assert_close(y, b - 2.0 * a.astype(np.float64))
    z = rand(rng, 2, 3, 4, 5)
    bias = rand(rng, 3)
    z0 = z.copy()
    clnn.bias_add(ctx, bias, z)
    assert_close(z, z0 + bias[None, :, None, None])
    # device tensors are updated in place too
    t = ctx.tensor(a)
    clnn.scale(ctx, 0.5, t)
    assert_close(t.numpy(), 0.5 * a)
    with pytest.raises(clnn.Error) as e:
        clnn.add(ctx, a, rand(rng, 5))
    assert e.value.status == "CLNN_ERROR_SHAPE_MISMATCH"
    # in-place on something that cannot be updated in place: refused
    for bad in (a.astype(np.float64), a.T, [1.0, 2.0]):
        with pytest.raises(clnn.Error) as e:
            clnn.scale(ctx, 2.0, bad)
        assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"
    ro = a.copy()
    ro.flags.writeable = False
    with pytest.raises(clnn.Error):
        clnn.scale(ctx, 2.0, ro)
    with pytest.raises(clnn.Error) as e:
        clnn.bias_add(ctx, rand(rng, 4), z)
    assert e.value.status == "CLNN_ERROR_SHAPE_MISMATCH"


def test_tensor_mode_chains_on_device(ctx, rng):
    a, b = rand(rng, 3, 4), rand(rng, 4, 2)
    ta = ctx.tensor(a)
    h = clnn.gemm(ctx, ta, b)           # a Tensor argument: the result stays on the device
    assert isinstance(h, clnn.Tensor)
    y = clnn.softmax(ctx, clnn.relu(ctx, h))
    assert isinstance(y, clnn.Tensor)
    assert_close(y.numpy(), ref_softmax(np.maximum(a.astype(np.float64) @ b, 0)))
    out = ctx.empty((3, 2))
    assert clnn.gemm(ctx, a, b, out=out) is out
    with pytest.raises(clnn.Error) as e:
        clnn.gemm(ctx, a, b, out=ctx.empty((2, 3)))
    assert e.value.status == "CLNN_ERROR_SHAPE_MISMATCH"
    with pytest.raises(clnn.Error) as e:
        clnn.gemm(ctx, a, b, out=np.empty((3, 2), dtype=np.float64))
    assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"


# ---- softmax and losses --------------------------------------------------------------------

def test_softmax_log_softmax(ctx, rng):
    x = rand(rng, 4, 7, lo=-5, hi=5)
    x[0, 0] = 80.0  # numerically stable
    y = clnn.softmax(ctx, x)
    assert_close(y, ref_softmax(x))
    ly = clnn.log_softmax(ctx, x)
    assert_close(ly, ref_log_softmax(x), rtol=1e-4, atol=1e-4)
    dy = rand(rng, 4, 7)
    x[0, 0] = 1.0
    y = clnn.softmax(ctx, x)
    ly = clnn.log_softmax(ctx, x)
    want = fd_grad(lambda v: (ref_softmax(v) * dy).sum(), x, h=1e-4)
    assert_close(clnn.softmax_backward(ctx, y, dy), want, rtol=1e-3, atol=1e-4)
    want = fd_grad(lambda v: (ref_log_softmax(v) * dy).sum(), x, h=1e-4)
    assert_close(clnn.log_softmax_backward(ctx, ly, dy), want, rtol=1e-3, atol=1e-4)
    # 3-D: over the last axis
    x3 = rand(rng, 2, 3, 5)
    assert_close(clnn.softmax(ctx, x3), ref_softmax(x3))


def ref_ce(logits, labels):
    return -ref_log_softmax(logits)[np.arange(len(labels)), labels].mean()


def test_softmax_cross_entropy(ctx, rng):
    logits = rand(rng, 6, 4, lo=-3, hi=3)
    labels = np.array([0, 3, 1, 2, 3, 0])
    loss, g = clnn.softmax_cross_entropy(ctx, logits, labels)
    assert isinstance(loss, float)
    assert abs(loss - ref_ce(logits, labels)) < 1e-5
    assert_close(g, fd_grad(lambda v: ref_ce(v, labels), logits, h=1e-4), rtol=1e-3, atol=1e-5)
    assert abs(clnn.softmax_cross_entropy(ctx, logits, labels, grad=False) - loss) < 1e-7
    for bad in ([0, 1, 2, 3, 4, 0], [0, 1, 2, 3, -1, 0]):  # outside [0, C)
        with pytest.raises(clnn.Error) as e:
            clnn.softmax_cross_entropy(ctx, logits, bad)
        assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"
    with pytest.raises(clnn.Error) as e:
        clnn.softmax_cross_entropy(ctx, logits, [0, 1])
    assert e.value.status == "CLNN_ERROR_SHAPE_MISMATCH"
    with pytest.raises(clnn.Error) as e:
        clnn.softmax_cross_entropy(ctx, logits, [0.5] * 6)
    assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"


def ref_bce(x, t):
    x = np.asarray(x, np.float64)
    return (np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))).mean()


def test_bce_and_mse(ctx, rng):
    x = rand(rng, 3, 4, lo=-4, hi=4)
    t = rng.uniform(0, 1, size=(3, 4)).astype(np.float32)
    loss, g = clnn.bce_with_logits(ctx, x, t)
    assert abs(loss - ref_bce(x, t)) < 1e-5
    assert_close(g, fd_grad(lambda v: ref_bce(v, t), x, h=1e-4), rtol=1e-3, atol=1e-5)
    p = rand(rng, 5, 2)
    loss, g = clnn.mse_loss(ctx, p, t.reshape(-1)[:10].reshape(5, 2))
    tt = t.reshape(-1)[:10].reshape(5, 2).astype(np.float64)
    assert abs(loss - ((p - tt) ** 2).mean()) < 1e-5
    assert_close(g, fd_grad(lambda v: ((v - tt) ** 2).mean(), p, h=1e-4), rtol=1e-3, atol=1e-5)
    with pytest.raises(clnn.Error) as e:
        clnn.mse_loss(ctx, p, rand(rng, 3))
    assert e.value.status == "CLNN_ERROR_SHAPE_MISMATCH"


# ---- dropout -------------------------------------------------------------------------------

def test_dropout(ctx, rng):
    x = rand(rng, 64, 64, lo=0.5, hi=1.5)
    p = 0.3
    y = clnn.dropout(ctx, x, p, seed=7, offset=0)
    kept = y != 0
    assert_close(y[kept], x[kept] / (1 - p), rtol=1e-5)  # inverted dropout scaling
    assert abs((~kept).mean() - p) < 0.03
    np.testing.assert_array_equal(clnn.dropout(ctx, x, p, seed=7), y)  # deterministic
    assert (clnn.dropout(ctx, x, p, seed=8) != y).any()
    assert (clnn.dropout(ctx, x, p, seed=7, offset=5) != y).any()
    dy = rand(rng, 64, 64)
    dx = clnn.dropout_backward(ctx, dy, p, seed=7)  # the same mask
    assert_close(dx, np.where(kept, dy / (1 - p), 0), rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(clnn.dropout(ctx, x, 0.0), x)
    for bad in (1.0, -0.1):
        with pytest.raises(clnn.Error) as e:
            clnn.dropout(ctx, x, bad)
        assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"
    with pytest.raises(clnn.Error) as e:
        clnn.dropout(ctx, x, 0.5, seed=-1)
    assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"


# ---- dense ---------------------------------------------------------------------------------

def test_dense(ctx, rng):
    x, w, b = rand(rng, 4, 6), rand(rng, 3, 6), rand(rng, 3)
    y = clnn.dense(ctx, x, w, b)
    assert_close(y, x.astype(np.float64) @ w.T + b)
    assert_close(clnn.dense(ctx, x, w), x.astype(np.float64) @ w.T)
    dy = rand(rng, 4, 3)
    f = lambda xx, ww, bb: ((xx @ ww.T + bb) * dy).sum()  # noqa: E731
    dx = clnn.dense_backward_data(ctx, dy, w)
    assert_close(dx, fd_grad(lambda v: f(v, w, b), x), rtol=1e-3, atol=1e-4)
    dw, db = clnn.dense_backward_weights(ctx, x, dy)
    assert_close(dw, fd_grad(lambda v: f(x, v, b), w), rtol=1e-3, atol=1e-4)
    assert_close(db, fd_grad(lambda v: f(x, w, v), b), rtol=1e-3, atol=1e-4)
    g = clnn.dense_backward_weights(ctx, x, dy, bias=False)
    assert g.db is None
    # beta = 1 accumulates into out
    dw2, db2 = np.ones_like(dw), np.ones_like(db)
    r = clnn.dense_backward_weights(ctx, x, dy, beta=1.0, out=(dw2, db2))
    assert r.dw is dw2
    assert_close(dw2, dw + 1)
    assert_close(db2, db + 1)
    with pytest.raises(clnn.Error) as e:
        clnn.dense(ctx, x, rand(rng, 3, 5))
    assert e.value.status == "CLNN_ERROR_SHAPE_MISMATCH"
    with pytest.raises(clnn.Error) as e:
        clnn.dense(ctx, x, w, rand(rng, 4))
    assert e.value.status == "CLNN_ERROR_SHAPE_MISMATCH"
    with pytest.raises(clnn.Error) as e:
        clnn.dense(ctx, rand(rng, 24), w)
    assert e.value.status == "CLNN_ERROR_SHAPE_MISMATCH"
