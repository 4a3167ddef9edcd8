"""Batch normalisation, LSTM and optimizers against NumPy references; gradients against finite
differences."""

import numpy as np
import pytest

import clnn
from conftest import assert_close, fd_grad, rand, ref_batchnorm_train, ref_lstm, sigm


# ---- batch normalisation -------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(6, 3), (2, 3, 4, 3)])
def test_batchnorm(ctx, rng, shape):
    x = rand(rng, *shape, lo=-2, hi=3)
    c = shape[1]
    scale, shift = rand(rng, c, lo=0.5, hi=1.5), rand(rng, c)
    eps, mom = 1e-5, 0.1
    rm, rv = rand(rng, c), rand(rng, c, lo=0.5, hi=2)
    rm0, rv0 = rm.copy(), rv.copy()
    y, smean, sinv = clnn.batchnorm_training(ctx, x, scale, shift, running_mean=rm,
                                             running_var=rv, momentum=mom, eps=eps)
    want, mean, var = ref_batchnorm_train(x, scale, shift, eps)
    assert_close(y, want, rtol=1e-4, atol=1e-4, what="batchnorm y")
    assert_close(smean, mean, atol=1e-5, what="save_mean")
    assert_close(sinv, 1 / np.sqrt(var + eps), rtol=1e-4, what="save_invstd")
    m = x.size // c
    assert_close(rm, (1 - mom) * rm0 + mom * mean, atol=1e-5, what="running_mean")
    assert_close(rv, (1 - mom) * rv0 + mom * var * m / (m - 1), rtol=1e-4, atol=1e-5,
                 what="running_var (unbiased)")
    # inference with the running statistics
    yi = clnn.batchnorm_inference(ctx, x, rm, rv, scale, shift, eps=eps)
    shp = [1, c] + [1] * (x.ndim - 2)
    assert_close(yi, (x - rm.reshape(shp)) / np.sqrt(rv.reshape(shp) + eps) * scale.reshape(shp)
                 + shift.reshape(shp), rtol=1e-4, atol=1e-4, what="batchnorm inference")
    # backward against finite differences of the training forward
    dy = rand(rng, *shape)
    dx, dscale, dshift = clnn.batchnorm_backward(ctx, x, dy, smean, sinv, scale)
    f = lambda xx, s, b: (ref_batchnorm_train(xx, s, b, eps)[0] * dy).sum()  # noqa: E731
    assert_close(dx, fd_grad(lambda v: f(v, scale, shift), x), rtol=1e-3, atol=1e-3, what="dx")
    assert_close(dscale, fd_grad(lambda v: f(x, v, shift), scale), rtol=1e-3, atol=1e-3)
    assert_close(dshift, fd_grad(lambda v: f(x, scale, v), shift), rtol=1e-3, atol=1e-3)
    # without scale/shift and without running statistics
    y2 = clnn.batchnorm_training(ctx, x).y
    assert_close(y2, ref_batchnorm_train(x, np.ones(c), np.zeros(c), eps)[0], atol=1e-4)


@pytest.mark.parametrize("shape", [(6, 3), (2, 3, 4, 3)])
def test_batchnorm_backward_inference(ctx, rng, shape):
    x, dy = rand(rng, *shape, lo=-2, hi=3), rand(rng, *shape)
    c = shape[1]
    scale, shift = rand(rng, c, lo=-1.5, hi=1.5), rand(rng, c)
    rm, rv = rand(rng, c), rand(rng, c, lo=0.3, hi=2)
    eps = 1e-3
    shp = [1, c] + [1] * (x.ndim - 2)

    def f(xx, s, b):
        xx, s, b = (np.asarray(v, np.float64) for v in (xx, s, b))
        y = (xx - rm.reshape(shp)) / np.sqrt(rv.reshape(shp) + eps) * s.reshape(shp) + b.reshape(shp)
        return (y * dy).sum()

    dx, dscale, dshift = clnn.batchnorm_backward_inference(ctx, x, dy, rm, rv, scale, eps=eps)
    assert_close(dx, fd_grad(lambda v: f(v, scale, shift), x), rtol=1e-3, atol=1e-3, what="dx")
    assert_close(dscale, fd_grad(lambda v: f(x, v, shift), scale), rtol=1e-3, atol=1e-3,
                 what="dscale")
    assert_close(dshift, fd_grad(lambda v: f(x, scale, v), shift), rtol=1e-3, atol=1e-3,
                 what="dshift")
    # beta 0.5 into given outputs: 0.5*old + gradient
    old = (rand(rng, *shape), rand(rng, c), rand(rng, c))
    outs = tuple(o.copy() for o in old)
    clnn.batchnorm_backward_inference(ctx, x, dy, rm, rv, scale, eps=eps, beta=0.5, out=outs)
    for got, o, g, what in zip(outs, old, (dx, dscale, dshift), ("dx", "dscale", "dshift")):
        assert_close(got, 0.5 * o + g, rtol=1e-4, atol=1e-4, what=what + " beta 0.5")
    with pytest.raises(clnn.Error) as e:
        clnn.batchnorm_backward_inference(ctx, x, dy, rm, np.ones(c + 1, np.float32), scale)
    assert e.value.status == "CLNN_ERROR_SHAPE_MISMATCH", e.value
    with pytest.raises(clnn.Error) as e:
        clnn.batchnorm_backward_inference(ctx, x, dy, rm, rv, scale, eps=0)
    assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT", e.value


def test_batchnorm_errors(ctx, rng):
    x = rand(rng, 4, 3)
    for fn, status in [
        (lambda: clnn.batchnorm_training(ctx, rand(rng, 1, 3)), "CLNN_ERROR_SHAPE_MISMATCH"),
        (lambda: clnn.batchnorm_training(ctx, x, rand(rng, 4)), "CLNN_ERROR_SHAPE_MISMATCH"),
        (lambda: clnn.batchnorm_training(ctx, x, eps=0), "CLNN_ERROR_INVALID_ARGUMENT"),
        (lambda: clnn.batchnorm_training(ctx, x, running_mean=np.zeros(3, np.float32)),
         "CLNN_ERROR_INVALID_ARGUMENT"),
        (lambda: clnn.batchnorm_training(ctx, x, running_mean=np.zeros(3),
                                         running_var=np.ones(3)), "CLNN_ERROR_INVALID_ARGUMENT"),
        (lambda: clnn.batchnorm_training(ctx, rand(rng, 5)), "CLNN_ERROR_SHAPE_MISMATCH"),
        (lambda: clnn.batchnorm_inference(ctx, x, np.zeros(2), np.ones(2)),
         "CLNN_ERROR_SHAPE_MISMATCH"),
    ]:
        with pytest.raises(clnn.Error) as e:
            fn()
        assert e.value.status == status, e.value


# ---- LSTM ----------------------------------------------------------------------------------

def test_lstm_gates(ctx, rng):
    n, h = 3, 4
    gates, c_prev = rand(rng, n, 4 * h, lo=-2, hi=2), rand(rng, n, h)

    def ref(g, cp):
        i, f, gg, o = np.split(np.asarray(g, np.float64), 4, axis=1)
        c = sigm(f) * cp + sigm(i) * np.tanh(gg)
        return c, sigm(o) * np.tanh(c)

    c, hh = clnn.lstm_gates(ctx, gates, c_prev)
    wc, wh = ref(gates, c_prev)
    assert_close(c, wc, atol=1e-5)
    assert_close(hh, wh, atol=1e-5)
    dh, dc = rand(rng, n, h), rand(rng, n, h)
    f = lambda g, cp: (ref(g, cp)[1] * dh).sum() + (ref(g, cp)[0] * dc).sum()  # noqa: E731
    dg, dcp = clnn.lstm_gates_backward(ctx, gates, c_prev, c, dh, dc)
    assert_close(dg, fd_grad(lambda v: f(v, c_prev), gates), rtol=1e-3, atol=1e-4)
    assert_close(dcp, fd_grad(lambda v: f(gates, v), c_prev), rtol=1e-3, atol=1e-4)
    dg0, _ = clnn.lstm_gates_backward(ctx, gates, c_prev, c, dh)  # no dc from the next step
    assert_close(dg0, fd_grad(lambda v: (ref(v, c_prev)[1] * dh).sum(), gates), rtol=1e-3,
                 atol=1e-4)


def test_lstm_sequence(ctx, rng):
    t_len, n, i_sz, h = 3, 2, 3, 2
    x = rand(rng, t_len, n, i_sz)
    w_ih, w_hh, b = rand(rng, 4 * h, i_sz), rand(rng, 4 * h, h), rand(rng, 4 * h)
    h0, c0 = rand(rng, n, h), rand(rng, n, h)
    y, hn, cn, reserve = clnn.lstm(ctx, x, w_ih, w_hh, b, h0, c0)
    wy, wh, wc = ref_lstm(x, w_ih, w_hh, b, h0, c0)
    assert_close(y, wy, atol=1e-5)
    assert_close(hn, wh, atol=1e-5)
    assert_close(cn, wc, atol=1e-5)
    assert reserve.shape == (clnn.lstm_reserve_size(t_len, n, h),)
    y0 = clnn.lstm(ctx, x, w_ih, w_hh).y  # no bias, zero initial state
    assert_close(y0, ref_lstm(x, w_ih, w_hh, None, None, None)[0], atol=1e-5)

    dy, dhn, dcn = rand(rng, t_len, n, h), rand(rng, n, h), rand(rng, n, h)

    def loss(xx=x, wi=w_ih, wh_=w_hh, bb=b, hh0=h0, cc0=c0):
        ry, rh, rc = ref_lstm(xx, wi, wh_, bb, hh0, cc0)
        return (ry * dy).sum() + (rh * dhn).sum() + (rc * dcn).sum()

    g = clnn.lstm_backward(ctx, x, w_ih, w_hh, y, reserve, dy, dhn, dcn, h0=h0, c0=c0)
    tol = dict(rtol=1e-3, atol=1e-3)
    assert_close(g.dx, fd_grad(lambda v: loss(xx=v), x), what="dx", **tol)
    assert_close(g.dw_ih, fd_grad(lambda v: loss(wi=v), w_ih), what="dw_ih", **tol)
    assert_close(g.dw_hh, fd_grad(lambda v: loss(wh_=v), w_hh), what="dw_hh", **tol)
    assert_close(g.dbias, fd_grad(lambda v: loss(bb=v), b), what="dbias", **tol)
    assert_close(g.dh0, fd_grad(lambda v: loss(hh0=v), h0), what="dh0", **tol)
    assert_close(g.dc0, fd_grad(lambda v: loss(cc0=v), c0), what="dc0", **tol)

    # device-resident: Tensor in, Tensors out, and beta=1 accumulation into given outputs
    tx = ctx.tensor(x)
    r = clnn.lstm(ctx, tx, w_ih, w_hh, b, h0, c0)
    assert all(isinstance(v, clnn.Tensor) for v in r)
    outs = tuple(np.ones(a.shape, np.float32) for a in g)
    clnn.lstm_backward(ctx, x, w_ih, w_hh, r.y, r.reserve, dy, dhn, dcn, h0=h0, c0=c0, beta=1.0,
                       out=outs)
    for got, want in zip(outs, g):
        assert_close(got, want + 1, atol=1e-4)

    with pytest.raises(clnn.Error) as e:
        clnn.lstm(ctx, x, rand(rng, 4 * h, i_sz + 1), w_hh)
    assert e.value.status == "CLNN_ERROR_SHAPE_MISMATCH"
    with pytest.raises(clnn.Error) as e:
        clnn.lstm(ctx, x[0], w_ih, w_hh)
    assert e.value.status == "CLNN_ERROR_SHAPE_MISMATCH"
    with pytest.raises(clnn.Error) as e:
        clnn.lstm_backward(ctx, x, w_ih, w_hh, y, reserve[:5], dy)
    assert e.value.status == "CLNN_ERROR_SHAPE_MISMATCH"


# ---- optimizers ----------------------------------------------------------------------------

def _ref_sgd(p, g, buf, lr, momentum, dampening, wd, nesterov, first):
    g = g + wd * p
    if momentum:
        buf = g.copy() if first else momentum * buf + (1 - dampening) * g
        g = g + momentum * buf if nesterov else buf
    return p - lr * g, buf


@pytest.mark.parametrize("momentum,dampening,wd,nesterov",
                         [(0.0, 0.0, 0.0, False), (0.9, 0.1, 0.01, False), (0.9, 0.0, 0.0, True)])
def test_sgd(ctx, rng, momentum, dampening, wd, nesterov):
    p, buf = rand(rng, 10).astype(np.float64), np.zeros(10)
    pc, vc = p.astype(np.float32), np.zeros(10, np.float32)
    for step in range(3):
        g = rand(rng, 10)
        clnn.sgd_step(ctx, pc, g, vc if momentum else None, lr=0.1, momentum=momentum,
                      dampening=dampening, weight_decay=wd, nesterov=nesterov,
                      first_step=step == 0)
        p, buf = _ref_sgd(p, g, buf, 0.1, momentum, dampening, wd, nesterov, step == 0)
        assert_close(pc, p, atol=1e-5, what=f"sgd step {step}")


@pytest.mark.parametrize("decoupled", [False, True])
def test_adam(ctx, rng, decoupled):
    lr, b1, b2, eps, wd = 0.01, 0.9, 0.999, 1e-8, 0.05
    p = rand(rng, 3, 4).astype(np.float64)
    m, v = np.zeros_like(p), np.zeros_like(p)
    pc, mc, vc = p.astype(np.float32), np.zeros(p.shape, np.float32), np.zeros(p.shape, np.float32)
    tp, tm, tv = ctx.tensor(pc), ctx.tensor(mc), ctx.tensor(vc)  # Tensors, updated in place
    for t in range(1, 4):
        g = rand(rng, 3, 4)
        if decoupled:
            clnn.adamw_step(ctx, pc, g, mc, vc, step=t, lr=lr, weight_decay=wd)
            clnn.adamw_step(ctx, tp, g, tm, tv, step=t, lr=lr, weight_decay=wd)
            p = p * (1 - lr * wd)
            gg = g
        else:
            clnn.adam_step(ctx, pc, g, mc, vc, step=t, lr=lr, weight_decay=wd)
            clnn.adam_step(ctx, tp, g, tm, tv, step=t, lr=lr, weight_decay=wd)
            gg = g + wd * p
        m = b1 * m + (1 - b1) * gg
        v = b2 * v + (1 - b2) * gg * gg
        p = p - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        assert_close(pc, p, atol=1e-5, what=f"adam step {t}")
        assert_close(mc, m, atol=1e-6)
        assert_close(vc, v, atol=1e-7)
        assert_close(tp.numpy(), p, atol=1e-5)


@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_rmsprop(ctx, rng, momentum):
    lr, alpha, eps, wd = 0.01, 0.99, 1e-8, 0.01
    p = rand(rng, 8).astype(np.float64)
    sq, buf = np.zeros(8), np.zeros(8)
    pc, sc, bc = p.astype(np.float32), np.zeros(8, np.float32), np.zeros(8, np.float32)
    for _ in range(3):
        g = rand(rng, 8)
        clnn.rmsprop_step(ctx, pc, g, sc, bc if momentum else None, lr=lr, alpha=alpha, eps=eps,
                          weight_decay=wd, momentum=momentum)
        gg = g + wd * p
        sq = alpha * sq + (1 - alpha) * gg * gg
        avg = np.sqrt(sq) + eps
        if momentum:
            buf = momentum * buf + gg / avg
            p = p - lr * buf
        else:
            p = p - lr * gg / avg
        assert_close(pc, p, atol=1e-5)


def test_adagrad(ctx, rng):
    lr, eps, wd = 0.1, 1e-10, 0.01
    p = rand(rng, 8).astype(np.float64)
    s = np.zeros(8)
    pc, sc = p.astype(np.float32), np.zeros(8, np.float32)
    for _ in range(3):
        g = rand(rng, 8)
        clnn.adagrad_step(ctx, pc, g, sc, lr=lr, eps=eps, weight_decay=wd)
        gg = g + wd * p
        s = s + gg * gg
        p = p - lr * gg / (np.sqrt(s) + eps)
        assert_close(pc, p, atol=1e-5)
        assert_close(sc, s, atol=1e-5)


def test_clip_grad_norm(ctx, rng):
    a, b = rand(rng, 3, 4), rand(rng, 5)
    total = np.sqrt((a.astype(np.float64) ** 2).sum() + (b.astype(np.float64) ** 2).sum())
    a0, b0 = a.copy(), b.copy()
    tb = ctx.tensor(b)
    norm = clnn.clip_grad_norm(ctx, [a, tb], 0.5)
    assert abs(norm - total) < 1e-4 * total
    coef = 0.5 / (total + 1e-6)
    assert_close(a, a0 * coef, atol=1e-6)
    assert_close(tb.numpy(), b0 * coef, atol=1e-6)
    a1 = a.copy()
    clnn.clip_grad_norm(ctx, a, 100.0)  # below the limit: unchanged
    assert_close(a, a1)
    with pytest.raises(clnn.Error) as e:
        clnn.clip_grad_norm(ctx, [a, a], 1.0)
    assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"
    with pytest.raises(clnn.Error) as e:
        clnn.clip_grad_norm(ctx, [tb, tb], 1.0)
    assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"
    with pytest.raises(clnn.Error) as e:
        clnn.clip_grad_norm(ctx, [], 1.0)
    assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"


def test_optimizer_errors(ctx, rng):
    p, g = np.zeros(4, np.float32), rand(rng, 4)
    for fn, status in [
        (lambda: clnn.sgd_step(ctx, p, g, lr=-1.0), "CLNN_ERROR_INVALID_ARGUMENT"),
        (lambda: clnn.sgd_step(ctx, p, g, lr=0.1, momentum=0.9), "CLNN_ERROR_INVALID_ARGUMENT"),
        (lambda: clnn.sgd_step(ctx, p, rand(rng, 5), lr=0.1), "CLNN_ERROR_SHAPE_MISMATCH"),
        (lambda: clnn.sgd_step(ctx, p.astype(np.float64), g, lr=0.1),
         "CLNN_ERROR_INVALID_ARGUMENT"),
        (lambda: clnn.adam_step(ctx, p, g, np.zeros(4, np.float32), np.zeros(4, np.float32),
                                step=1, beta1=1.0), "CLNN_ERROR_INVALID_ARGUMENT"),
        (lambda: clnn.adam_step(ctx, p, g, p, np.zeros(4, np.float32), step=1),
         "CLNN_ERROR_INVALID_ARGUMENT"),
        (lambda: clnn.adagrad_step(ctx, p, g, np.zeros(4, np.float32), eps=0.0),
         "CLNN_ERROR_INVALID_ARGUMENT"),
    ]:
        with pytest.raises(clnn.Error) as e:
            fn()
        assert e.value.status == status, e.value
