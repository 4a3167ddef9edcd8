"""evaluate for every loss fit supports (Net.evaluate / Model.evaluate on arrays): the mean loss
and metrics (accuracy for labels; mse and mae for float targets; binary_accuracy for
bce_with_logits) against NumPy computed from predict; validation metrics in fit's history."""

import numpy as np
import pytest

import clnn


def data(n=100, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    t = np.tanh(x @ rng.standard_normal((4, 2))).astype(np.float32)
    return x, t


def np_bce(z, t):
    z, t = z.astype(np.float64), t.astype(np.float64)
    return float(np.mean(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))))


@pytest.mark.parametrize("loss", ["mse", "bce_with_logits"])
def test_net_evaluate_float_targets(ctx, loss):
    x, t = data()
    if loss == "bce_with_logits":
        t = (t > 0).astype(np.float32)
    net = clnn.Net(ctx, (4,), seed=1)
    net.dense(8).tanh().dense(2)
    net.set_loss(loss)
    net.fit((x, t), epochs=2, batch_size=16, verbose=0)
    r = net.evaluate((x, t), batch_size=30)  # batches of 30, 30, 30, 10: weighted means
    out = net.predict(x).astype(np.float64)
    if loss == "mse":
        assert r["loss"] == pytest.approx(float(np.mean((out - t) ** 2)), rel=1e-4)
        assert r["mse"] == pytest.approx(float(np.mean((out - t) ** 2)), rel=1e-5)
        assert r["mae"] == pytest.approx(float(np.mean(np.abs(out - t))), rel=1e-5)
    else:
        assert r["loss"] == pytest.approx(np_bce(out, t), rel=1e-4)
        assert r["binary_accuracy"] == pytest.approx(float(np.mean((out > 0) == (t >= 0.5))))
        assert "mse" not in r
    net.close()


def test_net_evaluate_labels_arrays_agree_with_dataset(ctx):
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 1, (90, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 10, 90).astype(np.int32)
    net = clnn.Net(ctx, (1, 8, 8), seed=2)
    net.flatten().dense(10)
    r = net.evaluate((x, y), batch_size=32)
    with clnn.Dataset(x, y) as ds:
        loss, acc = net.evaluate(ds, 32)
    assert set(r) == {"loss", "accuracy"}
    assert r["loss"] == pytest.approx(loss, rel=1e-4)
    assert r["accuracy"] == pytest.approx(acc)
    out = net.predict(x)
    assert r["accuracy"] == pytest.approx(float(np.mean(out.argmax(1) == y)))
    net.close()


@pytest.mark.parametrize("loss", ["mse", "bce_with_logits"])
def test_model_evaluate_float_targets(ctx, loss):
    x, t = data(seed=3)
    if loss == "bce_with_logits":
        t = (t > 0).astype(np.float32)
    g = clnn.Graph()
    xi = g.input("x", (4,))
    ti = g.input("t", (2,))
    y = g.dense(g.tanh(g.dense(xi, 8)), 2)
    g.loss(loss, y, ti)
    g.output(y)
    m = clnn.Model(g, ctx, seed=0)
    h = m.fit((x[:80], t[:80]), epochs=2, batch_size=16, validation=(x[80:], t[80:]), verbose=0)
    r = m.evaluate((x, t), batch_size=64)
    out = m.predict({xi: x}).astype(np.float64)
    rv = m.evaluate({xi: x[80:], ti: t[80:]})  # a dict of feeds: the same metrics
    if loss == "mse":
        assert r["loss"] == pytest.approx(float(np.mean((out - t) ** 2)), rel=1e-4)
        assert r["mae"] == pytest.approx(float(np.mean(np.abs(out - t))), rel=1e-5)
        assert h["val_mse"][-1] == pytest.approx(rv["mse"], rel=1e-5)
        assert h["val_mae"][-1] == pytest.approx(rv["mae"], rel=1e-5)
    else:
        assert r["loss"] == pytest.approx(np_bce(out, t), rel=1e-4)
        assert r["binary_accuracy"] == pytest.approx(float(np.mean((out > 0) == (t >= 0.5))))
        assert h["val_binary_accuracy"][-1] == pytest.approx(rv["binary_accuracy"])
    assert h["val_loss"][-1] == pytest.approx(rv["loss"], rel=1e-5)
    m.close()


def test_model_evaluate_dataset_defaults(ctx):
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 1, (40, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 10, 40).astype(np.int32)
    g = clnn.Graph()
    xi = g.input("image", (1, 8, 8))
    li = g.input("label", (), dtype="int32")
    logits = g.dense(g.flatten(xi), 10)
    g.loss("softmax_cross_entropy", logits, li)
    g.output(logits)
    m = clnn.Model(g, ctx, seed=0)
    with clnn.Dataset(x, y) as ds:
        explicit = m.evaluate(ds, 16, xi, li)
        assert m.evaluate(ds) == pytest.approx(explicit)
    r = m.evaluate((x, y))
    assert r["loss"] == pytest.approx(explicit[0], rel=1e-4)
    assert r["accuracy"] == pytest.approx(explicit[1])
    m.close()
