"""The network API from Python: the digits demo trained to its stated accuracy, train steps with
NumPy batches, gradients against finite differences, parameters, checkpoints (safetensors),
datasets, and the error paths."""

import json
import os
import struct

import numpy as np
import pytest

import clnn
from conftest import assert_close, rand

HERE = os.path.dirname(os.path.abspath(__file__))


def digits_dir():
    for d in (os.path.join(HERE, "..", "..", "data", "digits"),):
        if os.path.exists(os.path.join(d, "train-images-idx3-ubyte")):
            return os.path.normpath(d)
    pytest.fail("digits data not found in data/digits")


def digits_net(ctx, seed=1, lr=1e-3):
    """examples/digits_cnn.c's network, built from Python."""
    net = clnn.Net(ctx, (1, 8, 8), seed=seed)
    (net.conv2d(32, 3, padding=1).relu()
        .conv2d(32, 3, padding=1).relu()
        .maxpool2d(2).dropout(0.25).flatten()
        .dense(128).relu().dense(10))
    net.loss = "softmax_cross_entropy"
    net.set_optimizer("adam", lr=lr)
    return net


def test_digits_demo(ctx, tmp_path):
    """The demo (examples/digits_cnn.c: 30 epochs, batch 32, Adam 1e-3, seed 1) reaches its
    stated 94% test accuracy when driven from Python; the checkpoint reloads to the same
    accuracy; predict/accuracy agree with evaluate."""
    d = digits_dir()
    train = clnn.Dataset.load_idx(f"{d}/train-images-idx3-ubyte", f"{d}/train-labels-idx1-ubyte")
    test = clnn.Dataset.load_idx(f"{d}/test-images-idx3-ubyte", f"{d}/test-labels-idx1-ubyte")
    assert (len(train), len(test)) == (1437, 360)
    assert train.sample_shape == (1, 8, 8) and train.num_classes == 10
    net = digits_net(ctx)
    assert net.layers[:2] == ["conv1", "relu1"] and net.output_shape() == (10,)
    assert net.num_trainable == 76522
    assert "dense2" in net.summary()
    seed = 1
    losses = []
    for e in range(1, 31):
        losses.append(net.train_epoch(train, 32, shuffle_seed=seed * 1000003 + e))
    assert losses[-1] < losses[0] / 10
    test_loss, test_acc = net.evaluate(test, 360)
    print(f"digits from Python: test accuracy {test_acc:.4f}, loss {test_loss:.4f}")
    assert test_acc >= 0.94, f"test accuracy {test_acc} below the demo's stated 94%"
    assert net.step_count == 30 * ((1437 + 31) // 32)

    # predict and accuracy from NumPy agree with evaluate
    x, y = test.x, test.labels
    logits = net.predict(x)
    assert logits.shape == (360, 10) and logits.dtype == np.float32
    assert abs((logits.argmax(1) == y).mean() - test_acc) < 1e-6
    assert abs(net.accuracy(x, y) - test_acc) < 1e-6
    np.testing.assert_allclose(net.predict(x, batch_size=50), logits, rtol=1e-5, atol=1e-5)

    # checkpoint: a fresh network of the same architecture reloads it exactly
    path = tmp_path / "digits.safetensors"
    net.save(path, optimizer=True)
    other = digits_net(ctx, seed=99)
    assert abs(other.evaluate(test, 360)[1] - test_acc) > 0.1  # untrained
    other.load(str(path))
    assert other.evaluate(test, 360)[1] == test_acc
    np.testing.assert_array_equal(other.predict(x), logits)
    # the file is standard safetensors, readable without clnn
    tensors = read_safetensors(path)
    state = net.state_dict()
    for name, arr in state.items():
        np.testing.assert_array_equal(tensors[name], arr)
    assert any(k.startswith("optimizer.") for k in tensors)
    net.close()
    other.close()


def read_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32"
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + a: 8 + n + b], dtype="<f4").reshape(info["shape"])
    return out


def test_train_step_numpy_batches(ctx):
    """XOR with BCE from NumPy batches: reproducible from the seed."""
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])  # ints: converted to float32
    t = np.array([[0], [1], [1], [0]], dtype=np.float32)
    outs = []
    for _ in range(2):
        net = clnn.Net(ctx, 2, seed=1234).dense(8).tanh().dense(1)
        net.set_loss("bce_with_logits").set_optimizer("adam", lr=0.05)
        first = net.train_step(x, targets=t)
        for _ in range(299):
            loss = net.train_step(x, targets=t)
        assert loss < 0.05 < first
        assert net.accuracy(x, [0, 1, 1, 0]) == 1.0
        assert net.step_count == 300
        outs.append(net.predict(x))
    np.testing.assert_array_equal(outs[0], outs[1])


def test_mse_and_optimizers(ctx, rng):
    x = rand(rng, 32, 3)
    w = np.array([[1.0, -2.0, 0.5]], dtype=np.float32)
    y = x @ w.T + 0.3
    for kind, opts in [("sgd", dict(lr=0.1, momentum=0.9)), ("adam", dict(lr=0.05)),
                       ("adamw", dict(lr=0.05, weight_decay=0.0)), ("rmsprop", dict(lr=0.01)),
                       ("adagrad", dict(lr=0.3))]:
        net = clnn.Net(ctx, (3,), seed=3).dense(1)
        net.loss = "mse"
        net.set_optimizer(kind, **opts)
        first = net.train_step(x, targets=y)
        for _ in range(60):
            loss = net.train_step(x, targets=y)
        assert loss < first / 5, f"{kind}: {first} -> {loss}"
    assert net.optimizer == "adagrad" and abs(net.learning_rate - 0.3) < 1e-7
    net.learning_rate = 1e-3
    assert abs(net.learning_rate - 1e-3) < 1e-9
    net.set_optimizer("sgd", lr=0.1, betas=(0.9, 0.99), clip_grad_norm=1.0)
    with pytest.raises(clnn.Error):
        net.set_optimizer("lion")
    with pytest.raises(clnn.Error):
        net.set_optimizer("adam", lr=0.1, gamma=3)


def test_gradients_by_finite_differences(ctx, rng):
    """compute_gradients leaves d(loss)/d(param) in each gradient tensor: compare with central
    differences of the loss (float32, so a loose tolerance)."""
    net = clnn.Net(ctx, (1, 4, 4), seed=5)
    net.conv2d(2, 3, padding=1).tanh().flatten().dense(3)
    x = rand(rng, 4, 1, 4, 4)
    labels = np.array([0, 2, 1, 2])
    net.compute_gradients(x, labels)
    for name in ("conv1.weight", "dense1.bias", "dense1.weight"):
        p = net.param(name)
        g = net.grad(name).numpy().reshape(-1)
        base = p.numpy()
        flat = base.reshape(-1)
        for i in list(range(min(4, flat.size))) + [flat.size - 1]:
            h = 1e-2
            v = flat.copy()
            v[i] += h
            p.write(v.reshape(base.shape))
            lp = net.compute_gradients(x, labels)
            v[i] -= 2 * h
            p.write(v.reshape(base.shape))
            lm = net.compute_gradients(x, labels)
            p.write(base)
            fd = (lp - lm) / (2 * h)
            assert abs(fd - g[i]) <= 2e-3 + 2e-2 * abs(fd), f"{name}[{i}]: {g[i]} vs {fd}"


def test_params_and_state(ctx, rng):
    net = clnn.Net(ctx, (2, 5, 5), seed=1)
    net.conv2d(3, 3, name="c").batchnorm().relu().global_avgpool().dense(4, name="head")
    assert net.layers == ["c", "bn1", "relu1", "global_avgpool1", "head"]
    assert net.output_shape(0) == (3, 3, 3) and net.output_shape() == (4,)
    names = net.param_names
    assert names[:2] == ["c.weight", "c.bias"]
    assert "bn1.running_mean" in names and "head.weight" in names
    w = net.param("c.weight")
    assert isinstance(w, clnn.Tensor) and w.shape == (3, 2, 3, 3)
    assert net.grad("bn1.running_var") is None
    sd = net.state_dict()
    assert np.all(sd["bn1.running_var"] == 1) and np.all(sd["c.bias"] == 0)
    new = {"head.bias": np.arange(4)}
    net.load_state_dict(new)
    np.testing.assert_array_equal(net.param("head.bias").numpy(), np.arange(4))
    with pytest.raises(clnn.Error) as e:
        net.param("nope.weight")
    assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT" and "head.weight" in e.value.message
    with pytest.raises(clnn.Error) as e:
        net.load_state_dict({"head.bias": np.zeros(5)})
    assert e.value.status == "CLNN_ERROR_SHAPE_MISMATCH"
    # batch norm: training updates the running statistics, inference uses them
    x = rand(rng, 8, 2, 5, 5)
    net.train_step(x, labels=[0, 1, 2, 3] * 2)
    assert not np.all(net.param("bn1.running_var").numpy() == 1)
    p1 = net.predict(x[:3])
    np.testing.assert_array_equal(net.predict(x[:3]), p1)
    np.testing.assert_allclose(net.predict(x)[:3], p1, rtol=1e-5, atol=1e-6)
    # a parameter tensor dies with its network
    net.close()
    with pytest.raises(clnn.Error) as e:
        w.numpy()
    assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"
    with pytest.raises(clnn.Error) as e:
        net.predict(x)
    assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"


def test_lstm_net_sequences(ctx, rng):
    # [N, T, F] batch-first sequences; per-time-step labels with return_sequences
    net = clnn.Net(ctx, (5, 3), seed=2).lstm(8, return_sequences=True).dense(2)
    assert net.output_shape() == (5, 2)
    x = rand(rng, 6, 5, 3)
    lab = (x[:, :, 0] > 0).astype(np.int64)  # [N, T]
    first = net.train_step(x, lab)
    for _ in range(80):
        loss = net.train_step(x, lab)
    assert loss < first
    assert net.predict(x).shape == (6, 5, 2)
    assert 0.0 <= net.accuracy(x, lab) <= 1.0
    with pytest.raises(clnn.Error) as e:
        net.train_step(x, lab[:, :4])
    assert e.value.status == "CLNN_ERROR_SHAPE_MISMATCH"
    net2 = clnn.Net(ctx, (5, 3), seed=2).lstm(4).dense(1)
    net2.loss = "mse"
    assert net2.train_step(x, targets=rand(rng, 6, 1)) > 0


def test_dataset(ctx, rng, tmp_path):
    x = rand(rng, 10, 2, 3)
    y = np.arange(10) % 4
    ds = clnn.Dataset(x, y)
    assert len(ds) == 10 and ds.sample_shape == (2, 3) and ds.num_classes == 4
    np.testing.assert_array_equal(ds.x, x)
    np.testing.assert_array_equal(ds.labels, y)
    bx, by = ds.batch(0, 10)
    np.testing.assert_array_equal(bx, x)  # file order until shuffled
    ds.shuffle(7)
    bx, by = ds.batch(2, 5)
    assert bx.shape == (5, 2, 3) and by.shape == (5,)
    idx = [int(np.where((x == bx[i]).all(axis=(1, 2)))[0][0]) for i in range(5)]
    np.testing.assert_array_equal(y[idx], by)
    ds2 = clnn.Dataset(x, y)
    ds2.shuffle(7)
    np.testing.assert_array_equal(ds2.batch(2, 5)[0], bx)  # same seed, same order
    assert np.all(clnn.Dataset(x).labels == 0)
    net = clnn.Net(ctx, (2, 3), seed=0).flatten().dense(4)
    loss = net.train_epoch(ds, 4)
    assert loss > 0
    l2, acc = net.evaluate(ds, 3)
    assert l2 > 0 and 0 <= acc <= 1
    for fn, status in [
        (lambda: clnn.Dataset(x, y[:5]), "CLNN_ERROR_SHAPE_MISMATCH"),
        (lambda: clnn.Dataset(x, -y), "CLNN_ERROR_INVALID_ARGUMENT"),
        (lambda: clnn.Dataset(x[0, 0]), "CLNN_ERROR_SHAPE_MISMATCH"),
        (lambda: clnn.Dataset(x, ["a"] * 10), "CLNN_ERROR_INVALID_ARGUMENT"),
        (lambda: ds.batch(8, 5), "CLNN_ERROR_INVALID_ARGUMENT"),
        (lambda: clnn.Dataset.load_idx(tmp_path / "none", tmp_path / "none2"), "CLNN_ERROR_IO"),
        (lambda: net.train_epoch("data", 4), "CLNN_ERROR_INVALID_ARGUMENT"),
        (lambda: net.train_epoch(ds, 0), "CLNN_ERROR_INVALID_ARGUMENT"),
    ]:
        with pytest.raises(clnn.Error) as e:
            fn()
        assert e.value.status == status, e.value
    bad = tmp_path / "bad-images"
    bad.write_bytes(b"\x00\x00\x08\x03" + b"\x00" * 5)
    with pytest.raises(clnn.Error) as e:
        clnn.Dataset.load_idx(bad, f"{digits_dir()}/test-labels-idx1-ubyte")
    assert e.value.status == "CLNN_ERROR_FORMAT"
    ds.close()
    with pytest.raises(clnn.Error):
        len(ds)


def test_net_errors(ctx, rng, tmp_path):
    net = clnn.Net(ctx, (1, 8, 8), seed=0).conv2d(4, 3, padding=1)
    with pytest.raises(clnn.Error) as e:
        net.dense(10)  # needs a flatten first
    assert e.value.status == "CLNN_ERROR_SHAPE_MISMATCH" and "dense1" in e.value.message
    with pytest.raises(clnn.Error) as e:
        net.conv2d(4, 9)
    assert e.value.status == "CLNN_ERROR_SHAPE_MISMATCH"
    with pytest.raises(clnn.Error) as e:
        net.dropout(1.0)
    assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"
    for bad in ("bad name", "", "x" * 48, "conv1", 3):
        with pytest.raises(clnn.Error) as e:
            net.relu(name=bad)
        assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"
    assert net.layers == ["conv1"]  # a refused name adds nothing
    net.relu(name="r").flatten().dense(3)
    assert net.layers == ["conv1", "r", "flatten1", "dense1"]
    with pytest.raises(clnn.Error) as e:
        net.loss = "hinge"
    assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"
    x = rand(rng, 4, 1, 8, 8)
    for fn, status in [
        (lambda: net.train_step(x), "CLNN_ERROR_INVALID_ARGUMENT"),              # no labels
        (lambda: net.train_step(x, [0, 1, 2]), "CLNN_ERROR_SHAPE_MISMATCH"),      # too few
        (lambda: net.train_step(x, [0, 1, 2, 3]), "CLNN_ERROR_INVALID_ARGUMENT"),  # 3 classes
        (lambda: net.train_step(x[:, :, :4], [0, 1, 2, 0]), "CLNN_ERROR_SHAPE_MISMATCH"),
        (lambda: net.train_step(x.reshape(4, 64), [0, 1, 2, 0]), "CLNN_ERROR_SHAPE_MISMATCH"),
        (lambda: net.train_step(np.array([["a"] * 64] * 4)), "CLNN_ERROR_INVALID_ARGUMENT"),
        (lambda: net.predict(np.zeros((0, 1, 8, 8))), "CLNN_ERROR_SHAPE_MISMATCH"),
        (lambda: net.accuracy(x, [0, 1]), "CLNN_ERROR_SHAPE_MISMATCH"),
        (lambda: net.output_shape(42), "CLNN_ERROR_INVALID_ARGUMENT"),
        (lambda: net.set_learning_rate(-1), "CLNN_ERROR_INVALID_ARGUMENT"),
        (lambda: clnn.Net(ctx, (0, 3)), "CLNN_ERROR_SHAPE_MISMATCH"),
        (lambda: clnn.Net(ctx, (1, 2, 3, 4, 5)), "CLNN_ERROR_SHAPE_MISMATCH"),
        (lambda: clnn.Net(None, (3,)), "CLNN_ERROR_INVALID_ARGUMENT"),
    ]:
        with pytest.raises(clnn.Error) as e:
            fn()
        assert e.value.status == status, (e.value, status)
    # a single sample without the batch dimension is accepted by predict
    assert net.predict(x[0]).shape == (1, 3)
    net.train_step(x, [0, 1, 2, 0])
    with pytest.raises(clnn.Error) as e:
        net.dense(2)  # after first use
    assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"
    # checkpoints: unreadable, malformed, other architecture -> errors, network unchanged
    before = net.state_dict()
    with pytest.raises(clnn.Error) as e:
        net.load(tmp_path / "missing.safetensors")
    assert e.value.status == "CLNN_ERROR_IO"
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(clnn.Error) as e:
        net.load(junk)
    assert e.value.status == "CLNN_ERROR_FORMAT"
    other = clnn.Net(ctx, (1, 8, 8), seed=0).flatten().dense(3)
    path = tmp_path / "other.safetensors"
    other.save(path)
    with pytest.raises(clnn.Error) as e:
        net.load(path)
    assert e.value.status == "CLNN_ERROR_FORMAT"
    after = net.state_dict()
    for k in before:
        np.testing.assert_array_equal(before[k], after[k])
    with pytest.raises(clnn.Error) as e:
        net.save(tmp_path / "no-such-dir" / "x.safetensors")
    assert e.value.status == "CLNN_ERROR_IO"
    with pytest.raises(clnn.Error) as e:
        net.save("bad\0path")
    assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"


def test_net_dies_with_context():
    c = clnn.Context()
    net = clnn.Net(c, (4,), seed=0).dense(2)
    w = net.param("dense1.weight")
    t = c.tensor(np.ones(3))
    c.close()  # the network, its parameters and the tensor go first
    for fn in (lambda: net.predict(np.ones((1, 4))), w.numpy, t.numpy, lambda: net.dense(3)):
        with pytest.raises(clnn.Error) as e:
            fn()
        assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"
    net.close()


def test_checkpoint_resumes_training_exactly(ctx, rng, tmp_path):
    def build(seed):
        net = clnn.Net(ctx, (6,), seed=seed).dense(16).relu().dropout(0.3).dense(3)
        return net.set_optimizer("adamw", lr=0.01)

    x, y = rand(rng, 8, 6), np.arange(8) % 3
    a = build(11)
    for _ in range(3):
        a.train_step(x, y)
    a.save(tmp_path / "a.safetensors", optimizer=True)
    b = build(12).load(tmp_path / "a.safetensors")
    assert b.step_count == 3
    for _ in range(2):
        assert a.train_step(x, y) == b.train_step(x, y)
    for name, arr in a.state_dict().items():
        np.testing.assert_array_equal(b.param(name).numpy(), arr)
    # without the optimizer state, only the parameters are in the file
    a.save(tmp_path / "p.safetensors")
    assert not any(k.startswith("optimizer.") for k in read_safetensors(tmp_path / "p.safetensors"))
    c = build(13).load(tmp_path / "p.safetensors")
    assert c.step_count == 0
    np.testing.assert_array_equal(c.predict(x), a.predict(x))
