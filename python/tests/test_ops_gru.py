"""The GRU from Python: clnn.gru / clnn.gru_backward against torch.nn.GRU (values and gradients,
with per-sample lengths through pack_padded_sequence; skipped without torch) and against a NumPy
reference with finite differences (always); the graph node g.gru against torch.nn.GRU with the
model's parameters; errors name the argument."""

import numpy as np
import pytest

import clnn
from clnn import _lib
from conftest import assert_close, fd_grad, rand, sigm

pytestmark = pytest.mark.skipif(not hasattr(_lib.load()._cdll, "clnn_gru_forward"),
                                reason="this libclnn has no GRU yet (src/ops/gru.c)")


def ref_gru(x, w_ih, w_hh, b_ih, b_hh, h0, lengths=None):
    """NumPy float64 GRU (PyTorch's equations), time-major; zero outputs past a length."""
    x = np.asarray(x, np.float64)
    t_len, n, _ = x.shape
    hid = w_hh.shape[1]
    h = np.zeros((n, hid)) if h0 is None else np.array(h0, np.float64)
    bi = np.zeros(3 * hid) if b_ih is None else b_ih
    bh = np.zeros(3 * hid) if b_hh is None else b_hh
    ys = np.zeros((t_len, n, hid))
    for t in range(t_len):
        gi = x[t] @ np.asarray(w_ih, np.float64).T + bi
        gh = h @ np.asarray(w_hh, np.float64).T + bh
        r = sigm(gi[:, :hid] + gh[:, :hid])
        z = sigm(gi[:, hid:2 * hid] + gh[:, hid:2 * hid])
        c = np.tanh(gi[:, 2 * hid:] + r * gh[:, 2 * hid:])
        hn = (1 - z) * c + z * h
        on = np.ones(n, bool) if lengths is None else t < np.asarray(lengths)
        h = np.where(on[:, None], hn, h)
        ys[t] = np.where(on[:, None], hn, 0.0)
    return ys, h


def test_gru_numpy_reference_and_finite_differences(ctx, rng):
    t_len, n, i_sz, hid = 4, 3, 3, 2
    x = rand(rng, t_len, n, i_sz)
    w_ih, w_hh = rand(rng, 3 * hid, i_sz), rand(rng, 3 * hid, hid)
    b_ih, b_hh, h0 = rand(rng, 3 * hid), rand(rng, 3 * hid), rand(rng, n, hid)
    lengths = [2, 4, 1]
    y, hn, reserve = clnn.gru(ctx, x, w_ih, w_hh, b_ih, b_hh, h0, lengths=lengths)
    wy, wh = ref_gru(x, w_ih, w_hh, b_ih, b_hh, h0, lengths)
    assert_close(y, wy, atol=1e-5, what="gru y")
    assert_close(hn, wh, atol=1e-5, what="gru h_n")
    assert reserve.shape == (clnn.gru_reserve_size(t_len, n, hid),)
    dy, dhn = rand(rng, t_len, n, hid), rand(rng, n, hid)
    grads = clnn.gru_backward(ctx, x, w_ih, w_hh, reserve, dy, dhn, h0=h0, lengths=lengths)
    args = dict(x=x, w_ih=w_ih, w_hh=w_hh, b_ih=b_ih, b_hh=b_hh, h0=h0)
    for name, got in zip(["x", "w_ih", "w_hh", "b_ih", "b_hh", "h0"], grads):
        def loss(v, name=name):
            a = dict(args, **{name: v})
            ry, rh = ref_gru(a["x"], a["w_ih"], a["w_hh"], a["b_ih"], a["b_hh"], a["h0"], lengths)
            return (ry * dy).sum() + (rh * dhn).sum()
        assert_close(got, fd_grad(loss, args[name]), rtol=1e-3, atol=1e-4, what=f"d{name}")
    # beta = 1 adds to what out= holds
    old = [np.full(g.shape, 0.5, np.float32) for g in grads]
    acc = clnn.gru_backward(ctx, x, w_ih, w_hh, reserve, dy, dhn, h0=h0, lengths=lengths,
                            beta=1.0, out=tuple(old))
    for a, g in zip(acc, grads):
        assert_close(a, g + 0.5, rtol=1e-5, atol=1e-5, what="beta 1")


def test_gru_errors_name_the_argument(ctx, rng):
    x, w_ih, w_hh = rand(rng, 3, 2, 4), rand(rng, 9, 4), rand(rng, 9, 3)
    with pytest.raises(clnn.Error, match=r"lengths\[1\] is 4"):
        clnn.gru(ctx, x, w_ih, w_hh, lengths=[1, 4])
    with pytest.raises(clnn.Error, match=r"lengths\[0\] is 0"):
        clnn.gru(ctx, x, w_ih, w_hh, lengths=[0, 2])
    with pytest.raises(clnn.Error, match="num_lengths is 3"):
        clnn.gru(ctx, x, w_ih, w_hh, lengths=[1, 2, 3])
    with pytest.raises(clnn.Error, match="w_hh has shape"):
        clnn.gru(ctx, x, w_ih, rand(rng, 9, 4))
    with pytest.raises(clnn.Error, match="b_ih has shape"):
        clnn.gru(ctx, x, w_ih, w_hh, b_ih=rand(rng, 8))


def _torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("shape", [(5, 3, 4, 6), (1, 1, 2, 3), (7, 4, 16, 32)])
@pytest.mark.parametrize("use_lengths", [False, True])
def test_gru_matches_torch(ctx, rng, shape, use_lengths):
    torch = _torch()
    t_len, n, i_sz, hid = shape
    torch.manual_seed(0)
    net = torch.nn.GRU(i_sz, hid).double()
    x = rand(rng, t_len, n, i_sz)
    h0 = rand(rng, n, hid)
    lengths = (rng.integers(1, t_len + 1, size=n) if use_lengths else np.full(n, t_len))
    lengths[0] = t_len
    p = {k: v.detach().numpy().astype(np.float32) for k, v in net.named_parameters()}
    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    th0 = torch.tensor(h0[None], dtype=torch.float64, requires_grad=True)
    packed = torch.nn.utils.rnn.pack_padded_sequence(tx, torch.tensor(lengths),
                                                     enforce_sorted=False)
    out, thn = net(packed, th0)
    ty, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=t_len)
    dy, dhn = rand(rng, t_len, n, hid), rand(rng, n, hid)
    ((ty * torch.tensor(dy, dtype=torch.float64)).sum()
     + (thn[0] * torch.tensor(dhn, dtype=torch.float64)).sum()).backward()
    lens = lengths if use_lengths else None
    y, hn, reserve = clnn.gru(ctx, x, p["weight_ih_l0"], p["weight_hh_l0"], p["bias_ih_l0"],
                              p["bias_hh_l0"], h0, lengths=lens)
    assert_close(y, ty.detach().numpy(), rtol=1e-4, atol=1e-5, what="y vs torch")
    assert_close(hn, thn[0].detach().numpy(), rtol=1e-4, atol=1e-5, what="h_n vs torch")
    g = clnn.gru_backward(ctx, x, p["weight_ih_l0"], p["weight_hh_l0"], reserve, dy, dhn, h0=h0,
                          lengths=lens)
    want = [tx.grad, net.weight_ih_l0.grad, net.weight_hh_l0.grad, net.bias_ih_l0.grad,
            net.bias_hh_l0.grad, th0.grad[0]]
    for name, got, w in zip(["dx", "dw_ih", "dw_hh", "db_ih", "db_hh", "dh0"], g, want):
        assert_close(got, w.numpy(), rtol=1e-3, atol=1e-4, what=f"{name} vs torch")


def test_graph_gru_matches_torch(ctx, rng):
    torch = _torch()
    t_len, f, hid, n = 5, 3, 4, 2
    g = clnn.Graph()
    x = g.input("x", (t_len, f))
    seq = g.gru(x, hid, return_sequences=True, name="rnn")
    last = g.gru(seq, hid, name="rnn2")
    g.output(seq, last)
    assert seq.shape == (t_len, hid) and last.shape == (hid,)
    m = clnn.Model(g, ctx, seed=3)
    lim = 1 / np.sqrt(hid)
    for k, shp in [("weight_ih_l0", (3 * hid, f)), ("weight_hh_l0", (3 * hid, hid)),
                   ("bias_ih_l0", (3 * hid,)), ("bias_hh_l0", (3 * hid,))]:
        w = m.param(f"rnn.{k}")
        assert w.shape == shp and np.abs(w).max() <= lim  # PyTorch's uniform(-lim, lim)
    xs = rand(rng, n, t_len, f)
    got_seq, got_last = m.predict({x: xs}, seq), m.predict({x: xs}, last)
    nets = []
    for name, in_f in [("rnn", f), ("rnn2", hid)]:
        net = torch.nn.GRU(in_f, hid, batch_first=True)
        with torch.no_grad():
            for k, v in net.named_parameters():
                v.copy_(torch.tensor(m.param(f"{name}.{k}")))
        nets.append(net)
    with torch.no_grad():
        ts, _ = nets[0](torch.tensor(xs))
        _, th = nets[1](ts)
    assert_close(got_seq, ts.numpy(), rtol=1e-4, atol=1e-5, what="graph gru sequences vs torch")
    assert_close(got_last, th[0].numpy(), rtol=1e-4, atol=1e-5, what="graph gru last vs torch")
    with pytest.raises(clnn.Error, match="hidden 0"):
        g.gru(x, 0, name="bad")


def test_bidirectional_gru_matches_torch(ctx, rng):
    """Both directions of torch.nn.GRU(bidirectional=True) over packed variable-length sequences:
    clnn.gru forward and reverse=True with the *_reverse weights, gradients of both."""
    torch = _torch()
    t_len, n, i_sz, hid = 6, 4, 3, 5
    torch.manual_seed(1)
    net = torch.nn.GRU(i_sz, hid, bidirectional=True).double()
    x, h0 = rand(rng, t_len, n, i_sz), rand(rng, 2, n, hid)
    lengths = np.array([6, 2, 4, 1])
    p = {k: v.detach().numpy().astype(np.float32) for k, v in net.named_parameters()}
    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    th0 = torch.tensor(h0, dtype=torch.float64, requires_grad=True)
    packed = torch.nn.utils.rnn.pack_padded_sequence(tx, torch.tensor(lengths),
                                                     enforce_sorted=False)
    out, thn = net(packed, th0)
    ty, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=t_len)
    dy, dhn = rand(rng, t_len, n, 2 * hid), rand(rng, 2, n, hid)
    ((ty * torch.tensor(dy, dtype=torch.float64)).sum()
     + (thn * torch.tensor(dhn, dtype=torch.float64)).sum()).backward()
    dx = np.zeros_like(x)
    for d, sfx in enumerate(["", "_reverse"]):
        w = [p[f"{k}_l0{sfx}"] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        y, hn, res = clnn.gru(ctx, x, *w, h0[d], lengths=lengths, reverse=bool(d))
        sl = slice(d * hid, (d + 1) * hid)
        assert_close(y, ty[:, :, sl].detach().numpy(), rtol=1e-4, atol=1e-5, what=f"y dir {d}")
        assert_close(hn, thn[d].detach().numpy(), rtol=1e-4, atol=1e-5, what=f"h_n dir {d}")
        g = clnn.gru_backward(ctx, x, w[0], w[1], res, np.ascontiguousarray(dy[:, :, sl]), dhn[d],
                              h0=h0[d], lengths=lengths, reverse=bool(d))
        dx += g.dx
        for name, got in zip(["weight_ih", "weight_hh", "bias_ih", "bias_hh"], g[1:5]):
            want = getattr(net, f"{name}_l0{sfx}").grad.numpy()
            assert_close(got, want, rtol=1e-3, atol=1e-4, what=f"d{name} dir {d}")
        assert_close(g.dh0, th0.grad[d].numpy(), rtol=1e-3, atol=1e-4, what=f"dh0 dir {d}")
    assert_close(dx, tx.grad.numpy(), rtol=1e-3, atol=1e-4, what="dx of both directions")
