"""Augmentation from Python (clnn/augment.py, Dataset.augment, fit(augment=)): shifts and flips
against a NumPy reference of the draws the library reports, rotation angles and noise statistics,
reproducibility, bad settings, and that training batches are augmented while validation and
evaluation are not."""

import os

import numpy as np
import pytest

import clnn

DIGITS = os.path.join(os.path.dirname(__file__), "..", "..", "data", "digits", "")


def np_shift(img, dx, dy):
    """img [C, H, W] moved right by dx and down by dy, zeros coming in."""
    out = np.zeros_like(img)
    _, h, w = img.shape
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[:, yd, xd] = img[:, ys, xs]
    return out


def test_shift_and_flip_match_numpy(rng):
    x = rng.uniform(0, 1, size=(48, 2, 5, 7)).astype(np.float32)
    keep = x.copy()
    aug = clnn.Augmentation(shift=2, hflip=True, seed=3)
    xa, draws = aug(x, stream=0, return_draws=True)
    assert np.array_equal(x, keep), "the input array is not changed"
    assert {d["dx"] for d in draws} == {-2, -1, 0, 1, 2}
    assert 10 < sum(d["flip"] for d in draws) < 38
    for i, d in enumerate(draws):
        src = x[i][:, :, ::-1] if d["flip"] else x[i]
        np.testing.assert_array_equal(xa[i], np_shift(src, d["dx"], d["dy"]))


def test_rotation_and_noise(rng):
    x = rng.uniform(0, 1, size=(64, 1, 6, 6)).astype(np.float32)
    xa, draws = clnn.Augmentation(rotate=20, seed=1)(x, return_draws=True)
    angles = np.array([d["angle_deg"] for d in draws])
    assert angles.min() >= -20 and angles.max() <= 20 and angles.std() > 5
    still = np.abs(angles) < 1e-6
    assert not still.any() or np.array_equal(xa[still], x[still])
    # a turn keeps the centre pixel of an odd-sized image
    odd = rng.uniform(0, 1, size=(8, 1, 7, 7)).astype(np.float32)
    np.testing.assert_allclose(clnn.Augmentation(rotate=45, seed=2)(odd)[:, 0, 3, 3],
                               odd[:, 0, 3, 3], atol=1e-6)
    z = clnn.Augmentation(noise=0.3, seed=5)(np.zeros((16, 1, 32, 32), np.float32))
    assert abs(z.mean()) < 4 * 0.3 / np.sqrt(z.size)
    assert abs(z.std() - 0.3) < 0.3 * 0.03


def test_reproducible(rng):
    x = rng.uniform(0, 1, size=(16, 1, 8, 8)).astype(np.float32)
    a = clnn.Augmentation(shift=1, rotate=10, noise=0.1, seed=7)
    assert np.array_equal(a(x, stream=4), a(x, stream=4))
    assert not np.array_equal(a(x, stream=4), a(x, stream=5))
    b = clnn.Augmentation(shift=1, rotate=10, noise=0.1, seed=8)
    assert not np.array_equal(a(x, stream=4), b(x, stream=4))


@pytest.mark.parametrize("bad", [dict(shift=-1), dict(rotate=181), dict(rotate=float("nan")),
                                 dict(noise=float("nan")), dict(noise=-0.1), dict(hflip=2)])
def test_bad_settings(bad):
    with pytest.raises(clnn.Error):
        clnn.Augmentation(**bad)


def test_dataset_augment(rng):
    x = rng.uniform(0, 1, size=(20, 1, 8, 8)).astype(np.float32)
    ds = clnn.Dataset(x, np.arange(20) % 3)
    assert ds.augmentation is None
    aug = clnn.Augmentation(shift=1, noise=0.1, seed=4)
    assert ds.augment(aug) is ds and ds.augmentation == aug
    a0, l0 = ds.batch(0, 5, augmented=True)
    a1, _ = ds.batch(0, 5, augmented=True)
    plain, lp = ds.batch(0, 5)
    np.testing.assert_array_equal(plain, x[:5])
    np.testing.assert_array_equal(l0, lp)
    np.testing.assert_array_equal(a0, aug(x[:5], stream=0))
    np.testing.assert_array_equal(a1, aug(x[:5], stream=1))
    np.testing.assert_array_equal(ds.x, x)  # the samples never change
    with pytest.raises(clnn.Error):
        ds.augment(rotate=200)
    assert ds.augmentation == aug, "a refused setting keeps the old one"
    ds.augment(None)
    assert ds.augmentation is None
    flat = clnn.Dataset(x.reshape(20, 64), np.zeros(20, np.int32))
    with pytest.raises(clnn.Error, match="C, H, W"):
        flat.augment(shift=1)
    assert flat.augmentation is None
    for d in (ds, flat):
        d.close()


def _net(ctx, seed=3):
    net = clnn.Net(ctx, (1, 8, 8), seed=seed)
    net.conv2d(8, 3, padding=1).relu().flatten().dense(10)
    return net


def test_fit_augments_training_batches_only(ctx):
    d = DIGITS
    ds = clnn.Dataset.load_idx(d + "train-images-idx3-ubyte", d + "train-labels-idx1-ubyte")
    x, y = ds.x[:256], ds.labels[:256]
    ds.close()
    xv, yv = x[:64], y[:64]
    aug = clnn.Augmentation(shift=1, rotate=10, noise=0.5, seed=1)
    hists, weights = [], []
    for a in (aug, aug, None):
        net = _net(ctx)
        hists.append(net.fit((x, y), epochs=2, batch_size=32, validation=(xv, yv), augment=a,
                             verbose=0))
        weights.append(net.state_dict())
        # validation saw the images as they are: the same loss as evaluating them afterwards
        with clnn.Dataset(xv, yv) as vds:
            vds.augment(aug)
            loss, acc = net.evaluate(vds)
        assert hists[-1]["val_loss"][-1] == pytest.approx(loss, rel=1e-4, abs=1e-5)
        assert hists[-1]["val_accuracy"][-1] == pytest.approx(acc)
        net.close()
    assert hists[0]["loss"] == hists[1]["loss"], "same seed: the same training"
    assert hists[0]["loss"] != hists[2]["loss"], "augmented batches train differently"
    k = next(iter(weights[0]))
    np.testing.assert_array_equal(weights[0][k], weights[1][k])
    # a Dataset's own augmentation is used by fit and by train_epoch
    with clnn.Dataset(x, y) as tds:
        tds.augment(aug)
        n1 = _net(ctx)
        h_ds = n1.fit(tds, epochs=2, batch_size=32, shuffle=True, seed=0, verbose=0)
        assert h_ds["loss"] == hists[0]["loss"]
        n2, n3 = _net(ctx), _net(ctx)
        l_aug = n2.train_epoch(tds, 32)
        tds.augment(None)
        l_plain = n3.train_epoch(tds, 32)
        assert l_aug != l_plain
        for n in (n1, n2, n3):
            n.close()
    with pytest.raises(clnn.Error, match="images"):
        _net(ctx).fit((x.reshape(256, 64), y), epochs=1, augment=aug, verbose=0)
