"""Sequence nodes from Python: embedding, layer norm, RMS norm, attention and the multi-head block
against NumPy; cross-entropy with an ignore index (mean over the counted tokens); a tiny causal
language model that trains; errors that name the node."""

import numpy as np
import pytest

import clnn
from clnn import _lib
from conftest import assert_close, rand

pytestmark = pytest.mark.skipif(not hasattr(_lib.load()._cdll, "clnn_graph_attention"),
                                reason="this libclnn has no sequence nodes yet (src/nn/op_seq.c)")


def _ln(x, eps=1e-5):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps)


def _attention(q, k, v, heads, causal):
    n, t, d = q.shape
    dh = d // heads
    out = np.zeros_like(q, dtype=np.float64)
    for h in range(heads):
        sl = slice(h * dh, (h + 1) * dh)
        s = q[:, :, sl] @ k[:, :, sl].transpose(0, 2, 1) / np.sqrt(dh)
        if causal:
            s = s + np.triu(np.full((t, k.shape[1]), -np.inf), 1)
        w = np.exp(s - s.max(-1, keepdims=True))
        w /= w.sum(-1, keepdims=True)
        out[:, :, sl] = w @ v[:, :, sl]
    return out


def test_embedding_norms_attention_match_numpy(ctx, rng):
    T, D, V = 6, 8, 11
    g = clnn.Graph()
    ids = g.input("ids", (T,), dtype="int32")
    e = g.embedding(ids, V, D, name="emb")
    ln = g.layer_norm(e, name="ln")
    rn = g.rms_norm(e, affine=False, name="rn")
    a = g.attention(ln, rn, e, 2, causal=True, name="att")
    g.output(e, ln, rn, a)
    assert e.shape == (T, D) and a.shape == (T, D)
    m = clnn.Model(g, ctx, seed=1)
    w = m.param("emb.weight")
    assert w.shape == (V, D) and 0.6 < w.std() < 1.4  # N(0, 1)
    x = rng.integers(0, V, size=(3, T)).astype(np.int32)
    feeds = {ids: x}
    got_e, got_ln, got_rn, got_a = (m.predict(feeds, o) for o in (e, ln, rn, a))
    want_e = w[x]
    assert_close(got_e, want_e, what="embedding")
    assert_close(got_ln, _ln(want_e), rtol=1e-4, atol=1e-4, what="layer norm")
    want_rn = want_e / np.sqrt((want_e ** 2).mean(-1, keepdims=True) + 1e-6)
    assert_close(got_rn, want_rn, rtol=1e-4, atol=1e-4, what="rms norm")
    assert_close(got_a, _attention(got_ln, got_rn, got_e, 2, True), rtol=1e-4, atol=1e-4,
                 what="attention")


def test_cross_entropy_ignore_index(ctx, rng):
    T, C = 5, 4
    g = clnn.Graph()
    x = g.input("x", (T, C))
    lab = g.input("lab", (T,), dtype="int32")
    y = g.dense(x, C, name="fc")
    g.cross_entropy(y, lab, ignore_index=-100, name="ce")
    g.output(y)
    m = clnn.Model(g, ctx, seed=2)
    xb = rand(rng, 2, T, C)
    lb = rng.integers(0, C, size=(2, T)).astype(np.int32)
    lb[0, 1] = lb[1, 3] = lb[1, 4] = -100
    loss = m.forward({x: xb, lab: lb}, loss=True)
    logits = m.predict({x: xb}).reshape(-1, C).astype(np.float64)
    flat = lb.reshape(-1)
    keep = flat != -100
    lse = np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1)) + logits.max(1)
    want = (lse - logits[np.arange(flat.size), np.where(keep, flat, 0)])[keep].mean()
    assert abs(loss - want) < 1e-5 * (1 + abs(want))
    with pytest.raises(clnn.Error, match="ce"):
        m.forward({x: xb, lab: np.full((2, T), C, dtype=np.int32)})


def test_tiny_causal_lm_trains(ctx):
    T, D, V = 8, 16, 5
    g = clnn.Graph()
    ids = g.input("ids", (T,), dtype="int32")
    tgt = g.input("tgt", (T,), dtype="int32")
    h = g.embedding(ids, V, D, name="tok")
    a = g.multihead_attention(g.layer_norm(h, name="ln1"), 2, causal=True, name="mha")
    h = g.add(h, a)
    logits = g.dense(g.layer_norm(h, name="lnf"), V, name="head")
    g.cross_entropy(logits, tgt)
    g.output(logits)
    m = clnn.Model(g, ctx, seed=3)
    m.set_optimizer("adamw", lr=1e-2)
    # the next token is the previous one: needs attention to look back one step
    seq = np.array([[(i * 3 + j) % V for j in range(T + 1)] for i in range(16)], dtype=np.int32)
    first = None
    for _ in range(60):
        loss = m.train_step({ids: seq[:, :T], tgt: seq[:, 1:]})
        first = loss if first is None else first
    assert loss < 0.5 * first, (first, loss)


def test_errors_name_the_node():
    g = clnn.Graph()
    x = g.input("x", (4, 6))
    with pytest.raises(clnn.Error, match="att4"):
        g.attention(x, x, x, 4, name="att4")  # 4 heads do not divide 6
    with pytest.raises(clnn.Error, match="emb_f"):
        g.embedding(x, 5, 3, name="emb_f")  # float ids
    with pytest.raises(clnn.Error):
        g.multihead_attention(x, 5, name="mh")
    assert len(g) == 1
