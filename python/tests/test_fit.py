"""Model.fit / Net.fit (clnn/fit.py): history, validation, progress output, early stopping with
the best weights restored, checkpoints, learning-rate schedules, plots; Dataset.split."""

import io
import math
import os

import numpy as np
import pytest

import clnn

DIGITS = os.path.join(os.path.dirname(__file__), "..", "..", "data", "digits")


@pytest.fixture(scope="module")
def digits():
    d = os.path.join(DIGITS, "")
    ds = clnn.Dataset.load_idx(d + "train-images-idx3-ubyte", d + "train-labels-idx1-ubyte")
    x, y = ds.x[:600], ds.labels[:600]
    ds.close()
    return x, y


def mlp_graph(hidden=32, classes=10):
    g = clnn.Graph()
    x = g.input("image", (1, 8, 8))
    lab = g.input("label", (), dtype="int32")
    logits = g.dense(g.relu(g.dense(g.flatten(x), hidden)), classes, name="head")
    g.loss("softmax_cross_entropy", logits, lab)
    g.output(logits)
    return g, x, lab, logits


def regression_graph():
    g = clnn.Graph()
    x = g.input("x", (4,))
    t = g.input("t", (2,))
    y = g.dense(g.tanh(g.dense(x, 16)), 2)
    g.loss("mse", y, t)
    g.output(y)
    return g, x, t


def regression_data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    w = rng.standard_normal((4, 2)).astype(np.float32)
    return x, np.tanh(x @ w).astype(np.float32)


class _Inject(clnn.Callback):
    """Puts a scripted value under `key` into each epoch's logs (before the callbacks after it)
    and keeps a copy of the parameters after every epoch."""

    def __init__(self, key, values):
        self.key, self.values, self.params = key, values, {}

    def on_epoch_end(self, epoch, logs):
        logs[self.key] = self.values[epoch - 1]
        get = self.model.params if isinstance(self.model, clnn.Model) else self.model.state_dict
        self.params[epoch] = get()


def test_graph_fit_history_and_validation(ctx, digits):
    x, y = digits
    g, xi, lab, _ = mlp_graph()
    m = clnn.Model(g, ctx, seed=1)
    m.set_optimizer("adam", lr=3e-3)
    out = io.StringIO()
    h = m.fit((x, y), epochs=4, batch_size=32, validation_split=0.25, stream=out)
    assert isinstance(h, clnn.History) and h.epochs == [1, 2, 3, 4] and len(h) == 4
    for k in ("loss", "accuracy", "val_loss", "val_accuracy", "lr", "images_per_s", "time_s"):
        assert len(h[k]) == 4 and all(v is not None for v in h[k]), k
    assert h["loss"][-1] < h["loss"][0] and h["val_loss"][-1] < h["val_loss"][0]
    assert h["val_accuracy"][-1] > 0.6 and h["accuracy"][-1] > 0.6
    assert all(v > 0 for v in h["images_per_s"])
    assert h["lr"] == pytest.approx([3e-3] * 4)
    assert h.params["samples"] == 450 and h.params["validation_samples"] == 150
    assert h.best("val_accuracy")[1] == max(h["val_accuracy"])
    # the epoch's validation metrics agree with an evaluation-mode pass of our own
    xt, yt = x[-150:], y[-150:]
    ev = m.fit((x[:10], y[:10]), epochs=0, validation=(xt, yt))  # 0 epochs: nothing recorded
    assert len(ev) == 0
    logits = m.predict({xi: xt})
    ref_acc = float(np.mean(logits.argmax(1) == yt))
    h2 = clnn.fit.fit(m, (x[:32], y[:32]), epochs=1, validation=(xt, yt), verbose=0,
                      callbacks=[clnn.LearningRateScheduler(lambda e, lr: 0.0)])
    assert h2["lr"] == [0.0]  # lr 0: the parameters did not move, so validation == predict
    assert h2["val_accuracy"][0] == pytest.approx(ref_acc)
    z = logits - logits.max(1, keepdims=True)
    ref_loss = float(np.mean(np.log(np.exp(z).sum(1)) - z[np.arange(len(yt)), yt]))
    assert h2["val_loss"][0] == pytest.approx(ref_loss, rel=1e-4, abs=1e-5)
    # plain progress lines (not a terminal): one per epoch, with the metrics
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 4 and all(s.startswith(f"Epoch {i + 1}/4") for i, s in enumerate(lines))
    assert "val_accuracy" in lines[-1] and "samples/s" in lines[-1] and "\r" not in out.getvalue()


def test_fit_dataset_and_dict_feeds(ctx, digits):
    x, y = digits
    g, xi, lab, _ = mlp_graph()
    m = clnn.Model(g, ctx, seed=2)
    m.set_optimizer("adam", lr=1e-2)
    train, val = clnn.Dataset(x, y).split(0.8, seed=3)
    h = m.fit(train, epochs=2, batch_size=64, validation=val, verbose=0)
    assert h["val_accuracy"][-1] > 0.3
    # a dict of feeds (any number of inputs, by Value or name)
    h = m.fit({"image": x[:128], lab: y[:128]}, epochs=1, batch_size=50, verbose=0,
              validation={xi: x[-64:], "label": y[-64:]})
    assert "accuracy" in h and "val_accuracy" in h and h.params["steps"] == 3
    with pytest.raises(clnn.Error):
        m.fit({"image": x[:10], "label": y[:9]}, verbose=0)  # different lengths
    with pytest.raises(clnn.Error):
        m.fit((x, y), validation=(x, y), validation_split=0.1, verbose=0)


def test_fit_regression_float_targets(ctx):
    x, t = regression_data()
    g, xi, ti = regression_graph()
    m = clnn.Model(g, ctx, seed=0)
    m.set_optimizer("adam", lr=1e-2)
    h = m.fit((x[:200], t[:200]), epochs=6, batch_size=20, validation=(x[200:], t[200:]),
              verbose=0)
    assert "accuracy" not in h and "val_accuracy" not in h
    assert h["loss"][-1] < 0.5 * h["loss"][0] and h["val_loss"][-1] < h["val_loss"][0]
    p = m.predict({xi: x[200:]})
    assert h["val_loss"][-1] == pytest.approx(float(np.mean((p - t[200:]) ** 2)), rel=1e-4)


def test_net_fit_labels_and_targets(ctx, digits):
    x, y = digits
    net = clnn.Net(ctx, input_shape=(1, 8, 8), seed=1)
    net.flatten().dense(32).relu().dense(10)
    net.set_optimizer("adam", lr=3e-3)
    ds = clnn.Dataset(x, y)
    h = net.fit(ds, epochs=3, batch_size=32, validation_split=0.2, verbose=0)
    assert "accuracy" not in h  # a Net measures accuracy on validation data only
    assert h["val_accuracy"][-1] > 0.6 and h["loss"][-1] < h["loss"][0]
    val = clnn.Dataset(x[-100:], y[-100:])
    hv = net.fit((x[:16], y[:16]), epochs=1, validation=val, verbose=0,
                 callbacks=[clnn.LearningRateScheduler({1: 0.0})])
    loss, acc = net.evaluate(val)   # the library's own evaluation agrees
    assert hv["val_loss"][0] == pytest.approx(loss, rel=1e-4, abs=1e-5)
    assert hv["val_accuracy"][0] == pytest.approx(acc)
    # mse with float targets
    xr, tr = regression_data()
    r = clnn.Net(ctx, input_shape=(4,), seed=0)
    r.dense(16).tanh().dense(2)
    r.loss = "mse"
    r.set_optimizer("adam", lr=1e-2)
    h = r.fit((xr, tr), epochs=5, batch_size=32, validation_split=0.25, verbose=0)
    assert h["loss"][-1] < 0.5 * h["loss"][0] and "val_accuracy" not in h
    with pytest.raises(clnn.Error):
        r.fit({"x": xr}, verbose=0)


def test_early_stopping_restores_best_weights(ctx, digits):
    x, y = digits
    for make in ("model", "net"):
        if make == "model":
            m = clnn.Model(mlp_graph()[0], ctx, seed=4)
            get = m.params
        else:
            m = clnn.Net(ctx, input_shape=(1, 8, 8), seed=4)
            m.flatten().dense(16).relu().dense(10)
            get = m.state_dict
        inj = _Inject("score", [3.0, 1.0, 2.0, 4.0, 5.0, 6.0, 7.0])
        es = clnn.EarlyStopping(monitor="score", patience=1)
        out = io.StringIO()
        h = m.fit((x[:128], y[:128]), epochs=7, batch_size=32, callbacks=[inj, es], stream=out,
                  verbose=2)
        assert h.epochs == [1, 2, 3, 4] and h.stopped_epoch == 4 and h.best_epoch == 2
        assert h["score"] == [3.0, 1.0, 2.0, 4.0]
        now = get()
        for k, v in inj.params[2].items():
            np.testing.assert_array_equal(now[k], v, err_msg=k)
        assert not np.array_equal(inj.params[4][next(iter(now))], inj.params[2][next(iter(now))])
        assert "restored the weights of epoch 2" in out.getvalue()
    # without validation data, "val_loss" falls back to the training loss
    m = clnn.Model(mlp_graph()[0], ctx, seed=4)
    h = m.fit((x[:64], y[:64]), epochs=3, callbacks=[clnn.EarlyStopping(patience=5)], verbose=0)
    assert h.best_epoch == int(np.argmin(h["loss"])) + 1


def test_model_checkpoint(ctx, digits, tmp_path):
    x, y = digits
    g, xi, _, _ = mlp_graph()
    m = clnn.Model(g, ctx, seed=5)
    ck = clnn.ModelCheckpoint(str(tmp_path / "ck-{epoch:02d}-{loss:.2f}.safetensors"), every=2,
                              final=True)
    inj = _Inject("unused", [0] * 5)
    h = m.fit((x[:96], y[:96]), epochs=5, batch_size=32, callbacks=[inj, ck], verbose=0)
    names = sorted(os.path.basename(p) for p in ck.saved)
    assert [n[:5] for n in names] == ["ck-02", "ck-04", "ck-05"]
    assert names[0] == f"ck-02-{h['loss'][1]:.2f}.safetensors"
    for p in ck.saved:
        assert os.path.exists(p)
    m4 = clnn.Model.load(ck.saved[1], ctx)   # epoch 4's weights, rebuilt without the source
    for k, v in inj.params[4].items():
        np.testing.assert_array_equal(m4.param(k), v)
    # save_best_only with a Net
    net = clnn.Net(ctx, input_shape=(1, 8, 8), seed=0)
    net.flatten().dense(10)
    ck2 = clnn.ModelCheckpoint(str(tmp_path / "best.safetensors"), save_best_only=True,
                               monitor="score")
    net.fit((x[:64], y[:64]), epochs=4, verbose=0,
            callbacks=[_Inject("score", [2.0, 1.0, 3.0, 0.5]), ck2])
    assert len(ck2.saved) == 3 and os.path.exists(ck2.saved[-1])


def test_learning_rate_schedules(ctx, digits):
    x, y = digits
    # step schedule given in epochs: the library's schedule on a Model, Python's on a Net
    m = clnn.Model(mlp_graph()[0], ctx, seed=6)
    m.set_optimizer("sgd", lr=0.1)
    h = m.fit((x[:64], y[:64]), epochs=3, batch_size=32, verbose=0,
              callbacks=[clnn.LRSchedule("step", step_epochs=1, gamma=0.5)])
    assert h["lr"] == pytest.approx([0.05, 0.025, 0.0125])  # the rate of the next step
    net = clnn.Net(ctx, input_shape=(1, 8, 8), seed=6)
    net.flatten().dense(10)
    net.set_optimizer("sgd", lr=0.1)
    seen = []

    class Spy(clnn.Callback):
        def on_batch_end(self, batch, logs):
            seen.append(self.model.learning_rate)
    net.fit((x[:64], y[:64]), epochs=2, batch_size=32, verbose=0,
            callbacks=[clnn.LRSchedule("cosine", warmup_epochs=1, min_ratio=0.1), Spy()])
    assert seen[:2] == pytest.approx([0.1 / 3, 0.2 / 3], rel=1e-5)  # warm-up (t + 1) / (w + 1)
    assert seen[2] == pytest.approx(0.1, rel=1e-5) and seen[3] < seen[2]
    assert net.learning_rate == pytest.approx(0.1)  # the base rate is put back
    # epoch-wise function and plateau
    m = clnn.Model(mlp_graph()[0], ctx, seed=7)
    m.set_optimizer("adam", lr=1e-3)
    h = m.fit((x[:64], y[:64]), epochs=3, verbose=0,
              callbacks=[clnn.LearningRateScheduler(lambda e, lr: 1e-3 * 0.1 ** (e - 1))])
    assert h["lr"] == pytest.approx([1e-3, 1e-4, 1e-5], rel=1e-5)
    m.set_learning_rate(1e-3)
    h = m.fit((x[:64], y[:64]), epochs=5, verbose=0,
              callbacks=[_Inject("score", [1.0, 1.0, 1.0, 1.0, 1.0]),
                         clnn.ReduceLROnPlateau(monitor="score", factor=0.5, patience=1)])
    # patience 1: cut after the second epoch without improvement (ends of epochs 3 and 5)
    assert h["lr"] == pytest.approx([1e-3, 1e-3, 1e-3, 5e-4, 5e-4], rel=1e-5)


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_modes(ctx, digits):
    x, y = digits
    m = clnn.Model(mlp_graph()[0], ctx, seed=8)
    s = io.StringIO()
    m.fit((x[:64], y[:64]), epochs=2, verbose=0, stream=s)
    assert s.getvalue() == ""
    t = _Tty()
    m.fit((x[:256], y[:256]), epochs=2, batch_size=16, verbose=1, stream=t)
    v = t.getvalue()
    assert "\r" in v and "ETA" in v and "[" in v and v.count("\n") == 2
    assert v.rstrip("\n").split("\n")[-1].split("\r")[-1].startswith("Epoch 2/2 - ")
    t = _Tty()
    m.fit((x[:64], y[:64]), epochs=2, verbose=2, stream=t)  # 2: lines only, even on a terminal
    assert "ETA" not in t.getvalue() and t.getvalue().count("\n") == 2


def test_dataset_split(digits):
    x, y = digits
    ds = clnn.Dataset(x[:100], y[:100])
    a, b = ds.split(0.8, seed=1)
    assert (len(a), len(b)) == (80, 20)
    key = lambda d: {(tuple(r.ravel()), int(l)) for r, l in zip(d.x, d.labels)}  # noqa: E731
    assert key(a) | key(b) == key(ds) and not key(a) & key(b)
    a2, _ = ds.split(0.8, seed=1)
    np.testing.assert_array_equal(a.x, a2.x)
    a3, _ = ds.split(0.8, seed=2)
    assert not np.array_equal(a.x, a3.x)
    c, d = ds.split(0.3)  # no seed: file order
    np.testing.assert_array_equal(c.x, x[:30])
    np.testing.assert_array_equal(d.labels, y[30:100])
    for bad in (0.0, 1.0, 0.001, 1.5):
        with pytest.raises(clnn.Error):
            ds.split(bad)


def test_plot_history(ctx, digits, tmp_path, monkeypatch):
    h = clnn.History()
    for e in range(1, 4):
        h._append(e, {"loss": 1.0 / e, "val_loss": 1.2 / e, "accuracy": 0.5 + e / 10,
                      "val_accuracy": 0.4 + e / 10, "lr": 1e-3, "images_per_s": 100.0,
                      "time_s": 0.1})
    assert h.best() == (3, pytest.approx(0.4))
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        import sys
        monkeypatch.setitem(sys.modules, "matplotlib", None)
        with pytest.raises(ImportError, match="pip install matplotlib"):
            clnn.plot_history(h, str(tmp_path / "curves.png"))
        pytest.skip("matplotlib is not installed: checked the error only")
    p = clnn.plot_history(h, tmp_path / "curves.png")
    with open(p, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    fig = clnn.plot_history(h, metrics=["loss"])
    assert len(fig.axes) == 1


def test_fit_argument_errors(ctx, digits):
    x, y = digits
    m = clnn.Model(mlp_graph()[0], ctx, seed=9)
    for kw in (dict(batch_size=0), dict(epochs=-1), dict(validation_split=1.0),
               dict(callbacks=[object()])):
        with pytest.raises(clnn.Error):
            m.fit((x[:8], y[:8]), verbose=0, **kw)
    with pytest.raises(clnn.Error):
        m.fit("not data", verbose=0)
    with pytest.raises(clnn.Error):
        clnn.fit.fit(object(), (x, y))
    assert math.isfinite(m.fit((x[:8], y[:8]), verbose=0, drop_last=True, batch_size=8)["loss"][0])


def test_idx_gzip_and_mnist_names(tmp_path):
    import gzip
    import shutil
    src = os.path.join(DIGITS, "")
    ref = clnn.Dataset.load_idx(src + "test-images-idx3-ubyte", src + "test-labels-idx1-ubyte")
    # the other naming convention, gzip-compressed, asked for by the plain name
    for kind in ("images-idx3", "labels-idx1"):
        with open(src + f"test-{kind}-ubyte", "rb") as f, \
                gzip.open(tmp_path / f"t10k-{kind.replace('-', '.')}-ubyte.gz", "wb") as g:
            shutil.copyfileobj(f, g)
    d = clnn.Dataset.load_idx(str(tmp_path / "t10k-images-idx3-ubyte"),
                              str(tmp_path / "t10k-labels-idx1-ubyte"))
    np.testing.assert_array_equal(d.x, ref.x)
    np.testing.assert_array_equal(d.labels, ref.labels)
    m = clnn.Dataset.load_mnist(tmp_path, "test")
    assert len(m) == len(ref)
    # a gzip file by its contents, whatever its name; plain files keep working
    os.rename(tmp_path / "t10k-labels.idx1-ubyte.gz", tmp_path / "labels.bin")
    shutil.copy(src + "test-images-idx3-ubyte", tmp_path / "images.bin")
    d = clnn.Dataset.load_idx(str(tmp_path / "images.bin"), str(tmp_path / "labels.bin"))
    np.testing.assert_array_equal(d.labels, ref.labels)
    # truncated or padded gzip data is refused with a message naming the file
    raw = open(src + "test-labels-idx1-ubyte", "rb").read()
    bad = {"cut.gz": gzip.compress(raw)[:-30], "long.gz": gzip.compress(raw + b"\0"),
           "short.gz": gzip.compress(raw[:-1]), "junk.gz": b"\x1f\x8b" + b"\0" * 40}
    for name, data in bad.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(clnn.Error) as e:
            clnn.Dataset.load_idx(src + "test-images-idx3-ubyte", str(tmp_path / name))
        assert e.value.status == "CLNN_ERROR_FORMAT" and name in e.value.message, name
    with pytest.raises(clnn.Error) as e:
        clnn.Dataset.load_idx(str(tmp_path / "nothing-idx3-ubyte"), None)
    assert e.value.status == "CLNN_ERROR_IO" and "other MNIST name" in e.value.message
    with pytest.raises(clnn.Error):
        clnn.Dataset.load_mnist(tmp_path / "missing")
