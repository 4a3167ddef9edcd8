"""The graph GRU with sequence options (Graph.gru: lengths, bidirectional, h0, state output)
against PyTorch's nn.GRU on packed sequences (pack_padded_sequence): outputs, final state and
the gradients of every parameter and of x and h0; the bidirectional last state."""

import numpy as np
import pytest

import clnn
from clnn import _lib
from conftest import assert_close, rand

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.skipif(not hasattr(_lib.load()._cdll, "clnn_graph_gru_ex"),
                                reason="this libclnn has no clnn_graph_gru_ex")


def _torch_gru(F, H, bi, seed):
    torch.manual_seed(seed)
    return torch.nn.GRU(F, H, batch_first=True, bidirectional=bi).double()


def _copy_params(m, gru, name="rnn"):
    """PyTorch's parameters into the clnn model: the same names under the node's."""
    m.load_state_dict({f"{name}.{k}": v.detach().numpy().astype(np.float32)
                       for k, v in gru.named_parameters()})


@pytest.mark.parametrize("N,T,F,H,bi,lens", [
    (4, 7, 5, 6, True, [7, 3, 5, 1]),
    (3, 5, 3, 8, False, [2, 5, 4]),
])
def test_gru_matches_torch_packed(ctx, rng, N, T, F, H, bi, lens):
    D = 2 if bi else 1
    g = clnn.Graph()
    x = g.input("x", (T, F))
    ln = g.input("len", (), dtype="int32")
    sshape = (2, H) if bi else (H,)
    h0 = g.input("h0", sshape)
    y, hn = g.gru(x, H, return_sequences=True, bidirectional=bi, lengths=ln, h0=h0,
                  state_outputs=True, name="rnn")
    assert y.shape == (T, D * H) and hn.shape == sshape
    g.output(y, hn)
    m = clnn.Model(g, ctx, seed=3)
    gru = _torch_gru(F, H, bi, seed=N * 100 + T)
    _copy_params(m, gru)
    xb, h0b = rand(rng, N, T, F), rand(rng, N, *sshape)
    lb = np.array(lens, dtype=np.int32)
    sy, sh = rand(rng, N, T, D * H), rand(rng, N, *sshape)
    for v in (x, h0):
        m.input_grad(v)
    m.forward({x: xb, ln: lb, h0: h0b})
    got_y, got_h = m.value(y), m.value(hn)
    m.backward({y: sy, hn: sh})

    tx = torch.tensor(xb, dtype=torch.float64, requires_grad=True)
    th0 = torch.tensor(h0b.reshape(N, D, H), dtype=torch.float64, requires_grad=True)
    packed = torch.nn.utils.rnn.pack_padded_sequence(tx, torch.tensor(lens), batch_first=True,
                                                     enforce_sorted=False)
    out, th = gru(packed, th0.transpose(0, 1).contiguous())
    ty, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)
    th = th.transpose(0, 1)  # [N, D, H]
    obj = (ty * torch.tensor(sy, dtype=torch.float64)).sum() + \
        (th * torch.tensor(sh.reshape(N, D, H), dtype=torch.float64)).sum()
    obj.backward()

    what = f"N={N} T={T} bi={bi} lengths={lens}"
    assert_close(got_y, ty.detach().numpy(), rtol=1e-4, atol=1e-5, what=f"y ({what})")
    for n, L in enumerate(lens):
        assert not got_y[n, L:].any(), f"outputs past length {L} are zero ({what})"
    assert_close(got_h.reshape(N, D, H), th.detach().numpy(), rtol=1e-4, atol=1e-5,
                 what=f"h_n ({what})")
    for k, p in gru.named_parameters():
        assert_close(m.param_grad(f"rnn.{k}"), p.grad.numpy(), rtol=1e-3, atol=1e-4,
                     what=f"d{k} ({what})")
    assert_close(m.grad(x), tx.grad.numpy(), rtol=1e-3, atol=1e-4, what=f"dx ({what})")
    assert_close(m.grad(h0).reshape(N, D, H), th0.grad.numpy(), rtol=1e-3, atol=1e-4,
                 what=f"dh0 ({what})")


def test_bidirectional_last_state_matches_torch(ctx, rng):
    """return_sequences=False, bidirectional: [h_n forward, h_n reverse]."""
    N, T, F, H, lens = 3, 6, 4, 5, [6, 2, 4]
    g = clnn.Graph()
    x = g.input("x", (T, F))
    ln = g.input("len", (), dtype="int32")
    y = g.gru(x, H, bidirectional=True, lengths=ln, name="rnn")
    assert y.shape == (2 * H,)
    g.output(y)
    m = clnn.Model(g, ctx, seed=1)
    gru = _torch_gru(F, H, True, seed=5)
    _copy_params(m, gru)
    xb = rand(rng, N, T, F)
    got = m.predict({x: xb, ln: np.array(lens, dtype=np.int32)})
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(xb, dtype=torch.float64),
                                                     torch.tensor(lens), batch_first=True,
                                                     enforce_sorted=False)
    _, th = gru(packed)
    want = torch.cat([th[0], th[1]], dim=1).detach().numpy()
    assert_close(got, want, rtol=1e-4, atol=1e-5, what="bidirectional GRU last state")
