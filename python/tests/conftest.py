"""Shared fixtures: one context for the whole run, deterministic random data, comparison and
finite-difference helpers, and the NumPy reference implementations every operator test uses.

The package is imported from this source tree (python/), so the tests need no install; the
library comes from $CLNN_LIBRARY or the tree's build/ (see clnn/_lib.py)."""

import math
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

import clnn  # noqa: E402


@pytest.fixture(scope="session")
def ctx():
    try:
        c = clnn.Context()  # $CLNN_DEVICE or the default device
    except clnn.Error as e:
        pytest.fail(f"no usable OpenCL device: {e}")  # a run without a device must fail
    yield c
    c.close()


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def rand(rng, *shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, size=shape).astype(np.float32)


def assert_close(got, want, rtol=1e-4, atol=1e-5, what=""):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    err = np.abs(got - want) / (atol + rtol * np.abs(want))
    if err.size and err.max() > 1:
        i = np.unravel_index(np.argmax(err), err.shape)
        raise AssertionError(f"{what}: worst element {i}: got {got[i]}, want {want[i]} "
                             f"(rtol {rtol}, atol {atol})")


def fd_grad(f, x, h=1e-3):
    """Central finite differences of the scalar f (a float64 function of x) at x."""
    x = np.array(x, dtype=np.float64)
    g = np.zeros_like(x)
    flat, gf = x.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        fp = f(x)
        flat[i] = old - h
        fm = f(x)
        flat[i] = old
        gf[i] = (fp - fm) / (2 * h)
    return g


# ============================================================================================
# NumPy references (float64)
# ============================================================================================

def pad4(p):
    if isinstance(p, int):
        return p, p, p, p
    if len(p) == 2:
        return p[0], p[0], p[1], p[1]
    return tuple(p)


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def ref_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    n, c, hgt, wid = x.shape
    k, cg, r, s = w.shape
    sh, sw = pair(stride)
    dh, dw = pair(dilation)
    pt, pb, pl, pr = pad4(padding)
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    p_out = (hgt + pt + pb - dh * (r - 1) - 1) // sh + 1
    q_out = (wid + pl + pr - dw * (s - 1) - 1) // sw + 1
    y = np.zeros((n, k, p_out, q_out))
    kg = k // groups
    for g in range(groups):
        xs = xp[:, g * cg:(g + 1) * cg]
        wg = w[g * kg:(g + 1) * kg]
        for i in range(r):
            for j in range(s):
                patch = xs[:, :, i * dh: i * dh + sh * (p_out - 1) + 1: sh,
                           j * dw: j * dw + sw * (q_out - 1) + 1: sw]
                y[:, g * kg:(g + 1) * kg] += np.einsum("ncpq,kc->nkpq", patch, wg[:, :, i, j])
    if b is not None:
        y += np.asarray(b, np.float64)[None, :, None, None]
    return y


def ref_conv_transpose2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    n, c, hgt, wid = x.shape
    _, kg, r, s = w.shape
    sh, sw = pair(stride)
    dh, dw = pair(dilation)
    pt, pb, pl, pr = pad4(padding)
    full_h = (hgt - 1) * sh + dh * (r - 1) + 1
    full_w = (wid - 1) * sw + dw * (s - 1) + 1
    k = kg * groups
    cg = c // groups
    y = np.zeros((n, k, full_h, full_w))
    for g in range(groups):
        xs = x[:, g * cg:(g + 1) * cg]
        wg = w[g * cg:(g + 1) * cg]
        for i in range(r):
            for j in range(s):
                y[:, g * kg:(g + 1) * kg, i * dh: i * dh + sh * (hgt - 1) + 1: sh,
                  j * dw: j * dw + sw * (wid - 1) + 1: sw] += np.einsum("nchw,ck->nkhw", xs,
                                                                        wg[:, :, i, j])
    y = y[:, :, pt:full_h - pb, pl:full_w - pr]
    if b is not None:
        y = y + np.asarray(b, np.float64)[None, :, None, None]
    return y


def ref_pool(x, k, stride=None, padding=0, mode="max", count_include_pad=False):
    x = np.asarray(x, np.float64)
    kh, kw = pair(k)
    sh, sw = pair(stride) if stride is not None else (kh, kw)
    pt, pb, pl, pr = pad4(padding)
    n, c, hgt, wid = x.shape
    p_out = (hgt + pt + pb - kh) // sh + 1
    q_out = (wid + pl + pr - kw) // sw + 1
    y = np.zeros((n, c, p_out, q_out))
    for p in range(p_out):
        for q in range(q_out):
            h0, w0 = p * sh - pt, q * sw - pl
            h1, w1 = h0 + kh, w0 + kw
            hs, ws = max(h0, 0), max(w0, 0)
            he, we = min(h1, hgt), min(w1, wid)
            win = x[:, :, hs:he, ws:we]
            if mode == "max":
                y[:, :, p, q] = win.max(axis=(2, 3))
            else:
                cnt = kh * kw if count_include_pad else (he - hs) * (we - ws)
                y[:, :, p, q] = win.sum(axis=(2, 3)) / cnt
    return y


def ref_softmax(x):
    x = np.asarray(x, np.float64)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def ref_log_softmax(x):
    x = np.asarray(x, np.float64)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


_erf = np.vectorize(math.erf)


def ref_act(name, x, alpha=None):
    x = np.asarray(x, np.float64)
    if name == "identity":
        return x.copy()
    if name == "relu":
        return np.maximum(x, 0)
    if name == "leaky_relu":
        a = 0.01 if alpha is None else alpha
        return np.where(x > 0, x, a * x)
    if name == "elu":
        a = 1.0 if alpha is None else alpha
        return np.where(x > 0, x, a * (np.exp(x) - 1))
    if name == "sigmoid":
        return 1 / (1 + np.exp(-x))
    if name == "tanh":
        return np.tanh(x)
    if name == "gelu":
        return 0.5 * x * (1 + _erf(x / math.sqrt(2)))
    if name == "softplus":
        return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)
    raise ValueError(name)


def ref_batchnorm_train(x, scale, shift, eps):
    x = np.asarray(x, np.float64)
    axes = (0,) + tuple(range(2, x.ndim))
    shp = [1, x.shape[1]] + [1] * (x.ndim - 2)
    mean = x.mean(axis=axes)
    var = x.var(axis=axes)
    xh = (x - mean.reshape(shp)) / np.sqrt(var.reshape(shp) + eps)
    return xh * np.asarray(scale, np.float64).reshape(shp) + np.asarray(shift, np.float64).reshape(shp), mean, var


def sigm(z):
    return 1 / (1 + np.exp(-z))


def ref_lstm(x, w_ih, w_hh, b, h0, c0):
    x = np.asarray(x, np.float64)
    t_len, n, _ = x.shape
    hid = w_hh.shape[1]
    h = np.zeros((n, hid)) if h0 is None else np.asarray(h0, np.float64).copy()
    c = np.zeros((n, hid)) if c0 is None else np.asarray(c0, np.float64).copy()
    ys = []
    for t in range(t_len):
        g = x[t] @ np.asarray(w_ih, np.float64).T + h @ np.asarray(w_hh, np.float64).T
        if b is not None:
            g = g + np.asarray(b, np.float64)
        i, f, gg, o = np.split(g, 4, axis=1)
        c = sigm(f) * c + sigm(i) * np.tanh(gg)
        h = sigm(o) * np.tanh(c)
        ys.append(h)
    return np.stack(ys), h, c
