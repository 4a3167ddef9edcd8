"""The graph LSTM with sequence options (Graph.lstm: lengths, bidirectional, h0/c0, state
outputs) against PyTorch's nn.LSTM on packed sequences (pack_padded_sequence): outputs, final
state and the gradients of every parameter and of x, h0, c0, on a few shapes; carried state
step by step; errors."""

import numpy as np
import pytest

import clnn
from clnn import _lib
from conftest import assert_close, rand

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.skipif(not hasattr(_lib.load()._cdll, "clnn_graph_lstm_ex"),
                                reason="this libclnn has no clnn_graph_lstm_ex")


def _torch_lstm(F, H, bi, seed):
    torch.manual_seed(seed)
    return torch.nn.LSTM(F, H, batch_first=True, bidirectional=bi).double()


def _copy_params(m, lstm, bi, name="rnn"):
    """PyTorch's parameters into the clnn model (one bias = bias_ih + bias_hh)."""
    state = {}
    for sfx, tsfx in [("", "_l0")] + ([("_reverse", "_l0_reverse")] if bi else []):
        p = dict(lstm.named_parameters())
        state[f"{name}.weight_ih{sfx}"] = p[f"weight_ih{tsfx}"].detach().numpy()
        state[f"{name}.weight_hh{sfx}"] = p[f"weight_hh{tsfx}"].detach().numpy()
        state[f"{name}.bias{sfx}"] = (p[f"bias_ih{tsfx}"] + p[f"bias_hh{tsfx}"]).detach().numpy()
    m.load_state_dict({k: v.astype(np.float32) for k, v in state.items()})


@pytest.mark.parametrize("N,T,F,H,bi,lens", [
    (4, 7, 5, 6, True, [7, 3, 5, 1]),
    (3, 5, 3, 8, False, [2, 5, 4]),
    (5, 9, 4, 3, True, [9, 9, 2, 6, 4]),
])
def test_lstm_matches_torch_packed(ctx, rng, N, T, F, H, bi, lens):
    D = 2 if bi else 1
    g = clnn.Graph()
    x = g.input("x", (T, F))
    ln = g.input("len", (), dtype="int32")
    sshape = (2, H) if bi else (H,)
    h0 = g.input("h0", sshape)
    c0 = g.input("c0", sshape)
    y, hn, cn = g.lstm(x, H, return_sequences=True, bidirectional=bi, lengths=ln, h0=h0, c0=c0,
                       state_outputs=True, name="rnn")
    assert y.shape == (T, D * H) and hn.shape == sshape and cn.shape == sshape
    g.output(y, hn, cn)
    m = clnn.Model(g, ctx, seed=3)
    lstm = _torch_lstm(F, H, bi, seed=N * 100 + T)
    _copy_params(m, lstm, bi)
    xb, h0b, c0b = rand(rng, N, T, F), rand(rng, N, *sshape), rand(rng, N, *sshape)
    lb = np.array(lens, dtype=np.int32)
    sy, sh, sc = rand(rng, N, T, D * H), rand(rng, N, *sshape), rand(rng, N, *sshape)
    for v in (x, h0, c0):
        m.input_grad(v)
    m.forward({x: xb, ln: lb, h0: h0b, c0: c0b})
    got_y, got_h, got_c = m.value(y), m.value(hn), m.value(cn)
    m.backward({y: sy, hn: sh, cn: sc})

    # PyTorch: packed sequences, state [D, N, H]
    tx = torch.tensor(xb, dtype=torch.float64, requires_grad=True)
    th0 = torch.tensor(h0b.reshape(N, D, H), dtype=torch.float64, requires_grad=True)
    tc0 = torch.tensor(c0b.reshape(N, D, H), dtype=torch.float64, requires_grad=True)
    packed = torch.nn.utils.rnn.pack_padded_sequence(tx, torch.tensor(lens), batch_first=True,
                                                     enforce_sorted=False)
    out, (th, tc) = lstm(packed, (th0.transpose(0, 1).contiguous(),
                                  tc0.transpose(0, 1).contiguous()))
    ty, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)
    th, tc = th.transpose(0, 1), tc.transpose(0, 1)  # [N, D, H]
    obj = (ty * torch.tensor(sy, dtype=torch.float64)).sum() + \
        (th * torch.tensor(sh.reshape(N, D, H), dtype=torch.float64)).sum() + \
        (tc * torch.tensor(sc.reshape(N, D, H), dtype=torch.float64)).sum()
    obj.backward()

    what = f"N={N} T={T} bi={bi} lengths={lens}"
    assert_close(got_y, ty.detach().numpy(), rtol=1e-4, atol=1e-5, what=f"y ({what})")
    for n, L in enumerate(lens):
        assert not got_y[n, L:].any(), f"outputs past length {L} are zero ({what})"
    assert_close(got_h.reshape(N, D, H), th.detach().numpy(), rtol=1e-4, atol=1e-5,
                 what=f"h_n ({what})")
    assert_close(got_c.reshape(N, D, H), tc.detach().numpy(), rtol=1e-4, atol=1e-5,
                 what=f"c_n ({what})")
    p = dict(lstm.named_parameters())
    for sfx, tsfx in [("", "_l0")] + ([("_reverse", "_l0_reverse")] if bi else []):
        assert_close(m.param_grad(f"rnn.weight_ih{sfx}"), p[f"weight_ih{tsfx}"].grad.numpy(),
                     rtol=1e-3, atol=1e-4, what=f"dweight_ih{sfx} ({what})")
        assert_close(m.param_grad(f"rnn.weight_hh{sfx}"), p[f"weight_hh{tsfx}"].grad.numpy(),
                     rtol=1e-3, atol=1e-4, what=f"dweight_hh{sfx} ({what})")
        assert_close(m.param_grad(f"rnn.bias{sfx}"), p[f"bias_ih{tsfx}"].grad.numpy(),
                     rtol=1e-3, atol=1e-4, what=f"dbias{sfx} ({what})")
    assert_close(m.grad(x), tx.grad.numpy(), rtol=1e-3, atol=1e-4, what=f"dx ({what})")
    assert_close(m.grad(h0).reshape(N, D, H), th0.grad.numpy(), rtol=1e-3, atol=1e-4,
                 what=f"dh0 ({what})")
    assert_close(m.grad(c0).reshape(N, D, H), tc0.grad.numpy(), rtol=1e-3, atol=1e-4,
                 what=f"dc0 ({what})")


def test_bidirectional_last_state_matches_torch(ctx, rng):
    """return_sequences=False, bidirectional: [h_n forward, h_n reverse] as people concatenate
    PyTorch's h_n for a classifier."""
    N, T, F, H, lens = 3, 6, 4, 5, [6, 2, 4]
    g = clnn.Graph()
    x = g.input("x", (T, F))
    ln = g.input("len", (), dtype="int32")
    y = g.lstm(x, H, bidirectional=True, lengths=ln, name="rnn")
    assert y.shape == (2 * H,)
    g.output(y)
    m = clnn.Model(g, ctx, seed=1)
    lstm = _torch_lstm(F, H, True, seed=5)
    _copy_params(m, lstm, True)
    xb = rand(rng, N, T, F)
    got = m.predict({x: xb, ln: np.array(lens, dtype=np.int32)})
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(xb, dtype=torch.float64),
                                                     torch.tensor(lens), batch_first=True,
                                                     enforce_sorted=False)
    _, (th, _) = lstm(packed)
    want = torch.cat([th[0], th[1]], dim=1).detach().numpy()
    assert_close(got, want, rtol=1e-4, atol=1e-5, what="bidirectional last state")


def test_carried_state_one_step_at_a_time(ctx, rng):
    """A T = 1 model fed its own h_n/c_n back gives what one call over the sequence gives."""
    T, F, H, N = 5, 3, 4, 2
    outs = {}
    for t_len in (T, 1):
        g = clnn.Graph()
        x = g.input("x", (t_len, F))
        h0, c0 = g.input("h0", (H,)), g.input("c0", (H,))
        y, hn, cn = g.lstm(x, H, return_sequences=True, h0=h0, c0=c0, state_outputs=True,
                           name="rnn")
        g.output(y, hn, cn)
        outs[t_len] = (clnn.Model(g, ctx, seed=9), x, h0, c0, y, hn, cn)
    full, step = outs[T], outs[1]
    step[0].load_state_dict(full[0].params())
    xb = rand(rng, N, T, F)
    h, c = np.zeros((N, H), np.float32), np.zeros((N, H), np.float32)
    want = full[0].predict({full[1]: xb, full[2]: h, full[3]: c}, full[4])
    got = []
    ms, xs, h0s, c0s, ys, hns, cns = step
    for t in range(T):
        ms.forward({xs: xb[:, t:t + 1], h0s: h, c0s: c})
        got.append(ms.value(ys))
        h, c = ms.value(hns), ms.value(cns)
    assert_close(np.concatenate(got, axis=1), want, rtol=1e-5, atol=1e-6, what="carried state")


def test_lstm_option_errors(ctx):
    g = clnn.Graph()
    x = g.input("x", (4, 3))
    h0 = g.input("h0", (5,))
    ln = g.input("len", (), dtype="int32")
    with pytest.raises(clnn.Error, match="h0 and c0"):
        g.lstm(x, 4, h0=h0)
    with pytest.raises(clnn.Error, match="h0"):
        g.lstm(x, 4, h0=h0, c0=h0, name="bad_state")
    y = g.lstm(x, 4, lengths=ln, name="ok")
    g.output(y)
    m = clnn.Model(g, ctx)
    with pytest.raises(clnn.Error, match=r"lengths\[1\] is 9"):
        m.predict({x: np.zeros((2, 4, 3), np.float32), ln: np.array([4, 9], np.int32)})
