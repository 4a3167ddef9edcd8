"""Graph models from Python (clnn.Graph, clnn.Model): predictions against NumPy and against the
sequential clnn.Net, a residual block that trains, a GAN-style flow (a generator's output fed as
a tensor into a discriminator, the discriminator's input gradient seeding the generator's
backward) against finite differences, structural ops and seeds, shared weights, freezing,
parameter groups, schedules, errors that name the node, datasets, and model files (skipped only
while the library lacks clnn_model_save & co.)."""

import numpy as np
import pytest

import clnn
from clnn import _lib
from conftest import assert_close, rand


def _has(name):
    return hasattr(_lib.load()._cdll, name)


needs_model_files = pytest.mark.skipif(
    not all(_has(n) for n in ("clnn_model_save", "clnn_model_load_file", "clnn_graph_load",
                              "clnn_model_load")),
    reason="this libclnn does not export the model-file functions yet (src/nn/model_io.c)")


def mlp_graph(features=5, units=4):
    g = clnn.Graph()
    x = g.input("x", (features,))
    y = g.relu(g.dense(x, units, name="fc"), name="act")
    g.output(y)
    return g, x, y


def test_dense_relu_matches_numpy(ctx, rng):
    g, x, y = mlp_graph()
    assert (x.name, x.shape, x.dtype, y.name, y.shape) == ("x", (5,), "float32", "act", (4,))
    assert g.inputs[0].id == x.id and g.outputs[0].id == y.id and g["fc"].shape == (4,)
    m = clnn.Model(g, ctx, seed=3)
    assert m.param_names == ["fc.weight", "fc.bias"]
    w, b = m.param("fc.weight"), m.param("fc.bias")
    assert w.shape == (4, 5) and b.shape == (4,)
    xb = rand(rng, 7, 5)
    want = np.maximum(xb @ w.T + b, 0)
    assert_close(m.predict({x: xb}), want, what="predict")
    assert_close(m.predict({"x": xb}, output="fc"), xb @ w.T + b, what="predict(output='fc')")
    assert_close(m.predict({x: xb}, batch_size=3), want, what="predict in chunks")
    m.forward({x: ctx.tensor(xb)})                        # a tensor feed
    assert_close(m.value(y), want, what="value after forward")
    assert_close(m.value("fc"), xb @ w.T + b, what="value of an inner node")
    # writing a parameter changes the predictions
    m.param_tensor("fc.bias").write(np.full(4, 10, np.float32))
    assert_close(m.predict({x: xb}), np.maximum(xb @ w.T + 10, 0), what="after a write")


def test_same_predictions_and_training_as_sequential_net(ctx, rng):
    """The functional graph and the C-built sequential network with the same layers and seed
    start from the same parameters, train to the same losses and predict the same bits."""
    net = clnn.Net(ctx, (1, 8, 8), seed=7)
    net.conv2d(8, 3, padding=1).relu().maxpool2d(2).flatten().dense(10)
    g = clnn.Graph()
    x = g.input("x", (1, 8, 8))
    lab = g.input("label", (), dtype="int32")
    h = g.flatten(g.maxpool2d(g.relu(g.conv2d(x, 8, 3, padding=1)), 2))
    y = g.dense(h, 10)
    g.loss("softmax_cross_entropy", y, lab)
    g.output(y)
    m = clnn.Model(g, ctx, seed=7)
    for n in ("conv1.weight", "conv1.bias", "dense1.weight", "dense1.bias"):
        assert np.array_equal(m.param(n), net.param(n).numpy()), n
    for step in range(3):
        xb, lb = rand(rng, 16, 1, 8, 8, lo=0), rng.integers(0, 10, 16)
        assert m.train_step({x: xb, lab: lb}) == net.train_step(xb, lb)
    assert np.array_equal(m.predict({x: xb}), net.predict(xb))
    assert m.step_count == 3


def test_residual_block_trains(ctx, rng):
    g = clnn.Graph()
    x = g.input("image", (3, 6, 6))
    lab = g.input("label", (), dtype="int32")
    f = g.relu(g.batchnorm(g.conv2d(x, 8, 3, padding=1, bias=False)))
    f = g.conv2d(f, 8, (3, 3), padding=(1, 1, 1, 1))
    h = g.relu(g.add(f, g.conv2d(x, 8, 1, name="proj")), name="block")
    logits = g.dense(g.global_avgpool(h), 3, name="head")
    g.loss("softmax_cross_entropy", logits, lab)
    g.output(logits)
    assert h.shape == (8, 6, 6) and logits.shape == (3,)
    m = clnn.Model(g, ctx, seed=1)
    m.set_optimizer("adam", lr=1e-2)
    xb = rand(rng, 32, 3, 6, 6)
    lb = xb.mean(axis=(2, 3)).argmax(axis=1)             # a rule the block can learn
    losses = [m.train_step({x: xb, lab: lb}) for _ in range(40)]
    assert losses[-1] < 0.5 * losses[0], losses
    acc = (m.predict({x: xb}).argmax(1) == lb).mean()
    assert acc >= 0.8, acc


def test_gan_flow_matches_finite_differences(ctx, rng):
    """Generator G: z -> tanh(dense) -> sample; discriminator D: sample -> logit, BCE against
    "real". D's input gradient seeds G's backward; G's weight gradient must be the derivative
    of D's loss with respect to G's weights."""
    gg = clnn.Graph()
    z = gg.input("z", (2,))
    sample = gg.tanh(gg.dense(z, 3, name="g1"), name="sample")
    gg.output(sample)
    dg = clnn.Graph()
    dx = dg.input("x", (3,))
    real = dg.input("real", (1,))
    logit = dg.dense(dg.tanh(dg.dense(dx, 4, name="d1")), 1, name="d2")
    dg.loss("bce_with_logits", logit, real)
    G, D = clnn.Model(gg, ctx, seed=5), clnn.Model(dg, ctx, seed=6)
    D.freeze()                                    # D only hands back its input gradient
    assert D.num_trainable == 0 and not D.trainable("d1.weight")
    D.input_grad(dx, True)
    zb, ones = rand(rng, 4, 2), np.ones((4, 1), np.float32)

    G.forward({z: zb})
    d_loss = D.compute_gradients({dx: G.value_tensor(sample), real: ones})
    seed = D.grad_tensor(dx)
    G.backward({sample: seed})
    got_w, got_b = G.param_grad("g1.weight"), G.param_grad("g1.bias")
    with pytest.raises(clnn.Error, match="no gradient"):
        D.grad(real)                              # not requested: not computed

    def d_loss_of(w=None, b=None, xs=None):
        wt, bt = G.param_tensor("g1.weight"), G.param_tensor("g1.bias")
        w0, b0 = wt.numpy(), bt.numpy()
        if w is not None:
            wt.write(w)
        if b is not None:
            bt.write(b)
        s = G.predict({z: zb}) if xs is None else xs
        wt.write(w0)
        bt.write(b0)
        return D.forward({dx: s, real: ones}, loss=True)

    assert abs(d_loss_of() - d_loss) < 1e-6

    def fd(base, f, h=1e-2):
        out = np.zeros_like(base)
        for i in np.ndindex(base.shape):
            p, q = base.copy(), base.copy()
            p[i] += h
            q[i] -= h
            out[i] = (f(p) - f(q)) / (2 * h)
        return out

    w0, b0 = G.param("g1.weight"), G.param("g1.bias")
    assert_close(got_w, fd(w0, lambda w: d_loss_of(w=w)), rtol=2e-2, atol=2e-4, what="dL/dWg")
    assert_close(got_b, fd(b0, lambda b: d_loss_of(b=b)), rtol=2e-2, atol=2e-4, what="dL/dbg")
    s0 = G.predict({z: zb})
    D.forward({dx: s0, real: ones})
    D.backward()
    assert_close(D.grad(dx), fd(s0, lambda s: d_loss_of(xs=s)), rtol=2e-2, atol=2e-4,
                 what="D's input gradient")


def test_structural_ops_forward_and_seeded_backward(ctx, rng):
    g = clnn.Graph()
    x = g.input("x", (4, 3))
    a = g.scale(x, 2.0)
    b = g.mul(x, x)
    c = g.concat([a, b], axis=0)                                  # [8, 3]
    p0, p1 = g.split(c, 0, [5, 3], name="parts")
    s = g.slice(c, -1, 1, 2)                                      # [8, 2]
    t = g.permute(s, (1, 0))                                      # [2, 8]
    r = g.reshape(t, (4, 4))
    assert (c.shape, p0.name, p0.shape, s.shape, t.shape, r.shape) == \
        ((8, 3), "parts.0", (5, 3), (8, 2), (2, 8), (4, 4))
    g.output(r, p1)
    m = clnn.Model(g, ctx)
    m.input_grad(x)
    xb = rand(rng, 2, 4, 3)
    cn = np.concatenate([2 * xb, xb * xb], axis=1)
    rn = cn[:, :, 1:3].transpose(0, 2, 1).reshape(2, 4, 4)
    m.forward({x: xb})
    assert_close(m.value(r), rn, what="reshape(permute(slice(concat)))")
    assert_close(m.value(p1), cn[:, 5:], what="split")
    seed = rand(rng, 2, 4, 4)
    m.backward({r: seed})
    dc = np.zeros_like(cn)                                        # the adjoint in NumPy
    dc[:, :, 1:3] = seed.reshape(2, 2, 8).transpose(0, 2, 1)
    want = 2 * dc[:, :4] + 2 * xb * dc[:, 4:]
    assert_close(m.grad(x), want, what="input gradient from a seed")
    assert_close(m.grad(c), dc, what="gradient of an inner value")


def test_shared_weights_and_losses_written_with_ops(ctx, rng):
    g = clnn.Graph()
    x1, x2 = g.input("a", (3,)), g.input("b", (3,))
    y1 = g.dense(x1, 2, name="shared")
    y2 = g.apply("shared", x2, name="shared_again")
    diff = g.add(y1, g.scale(y2, -1.0))
    g.add_loss(g.mean(g.mul(diff, diff)), 0.5)
    m = clnn.Model(g, ctx, seed=2)
    assert m.param_names == ["shared.weight", "shared.bias"]
    w, b = m.param("shared.weight"), m.param("shared.bias")
    ab, bb = rand(rng, 6, 3), rand(rng, 6, 3)
    loss = m.compute_gradients({x1: ab, x2: bb})
    d = (ab - bb) @ w.T
    assert abs(loss - 0.5 * np.mean(d * d)) < 1e-5
    # d/dW of 0.5 * mean(((a - b) W^T)^2) = (a - b)^T-weighted; the bias cancels
    dd = d / d.size
    assert_close(m.param_grad("shared.weight"), dd.T @ (ab - bb), atol=1e-6, what="shared dW")
    assert_close(m.param_grad("shared.bias"), np.zeros(2), atol=1e-6, what="shared db")
    assert_close(m.predict({x2: bb}, output=y2), bb @ w.T + b, what="apply predicts")


def test_freezing_keeps_weights_bit_identical(ctx, rng):
    g = clnn.Graph()
    x = g.input("x", (2, 5, 5))
    lab = g.input("label", (), dtype="int32")
    h = g.flatten(g.relu(g.conv2d(x, 4, 3, name="conv")))
    y = g.dense(h, 3, name="head")
    g.loss("cross_entropy", y, lab)
    m = clnn.Model(g, ctx, seed=4)
    total = m.num_trainable
    assert m.freeze("conv") == 2
    assert not m.trainable("conv.weight") and m.trainable("head.weight")
    assert m.num_trainable == total - (4 * 2 * 9 + 4)
    before = m.params()
    for _ in range(3):
        m.train_step({x: rand(rng, 8, 2, 5, 5), lab: rng.integers(0, 3, 8)})
    after = m.params()
    for n in ("conv.weight", "conv.bias"):
        assert before[n].tobytes() == after[n].tobytes(), n
    assert not np.array_equal(before["head.weight"], after["head.weight"])
    assert m.unfreeze() == 4 and m.num_trainable == total
    m.train_step({x: rand(rng, 8, 2, 5, 5), lab: rng.integers(0, 3, 8)})
    assert not np.array_equal(after["conv.weight"], m.param("conv.weight"))
    with pytest.raises(clnn.Error, match="nothing|no parameter|matched|starts"):
        m.freeze("nope")
    with pytest.raises(clnn.Error):
        m.trainable("nope.weight")


def test_param_groups_and_schedules(ctx, rng):
    g, x, y = mlp_graph()
    t = g.input("t", (4,))
    g.loss("mse", y, t)
    m = clnn.Model(g, ctx, seed=1)
    m.set_optimizer("sgd", lr=0.1, momentum=0.9)
    m.param_group("fc.bias", lr=0.0)                 # lr 0: stays as it is
    assert m.current_lr() == pytest.approx(0.1) and m.current_lr("fc.bias") == 0.0
    assert m.current_lr("fc.weight") == pytest.approx(0.1)
    b0, w0 = m.param("fc.bias"), m.param("fc.weight")
    feeds = {x: rand(rng, 8, 5), t: rand(rng, 8, 4, lo=0.5, hi=1.0)}
    m.train_step(feeds)
    assert np.array_equal(m.param("fc.bias"), b0)
    assert not np.array_equal(m.param("fc.weight"), w0)

    m.set_schedule("step", 2, 0.5)                   # lr * 0.5 ** (steps // 2)
    lrs = []
    for _ in range(5):
        lrs.append(m.current_lr("fc.weight"))
        m.compute_gradients(feeds)
        m.optimizer_step()
    done = 1                                         # steps taken before the schedule
    assert lrs == pytest.approx([0.1 * 0.5 ** ((done + k) // 2) for k in range(5)])
    assert m.step_count == 6

    m.set_schedule("cosine", warmup_steps=2, total_steps=10, min_ratio=0.1)
    got = []
    for _ in range(4):
        got.append(m.current_lr())
        m.train_step(feeds)
    want = []
    for t_ in range(6, 10):                          # steps already taken: 6, 7, 8, 9
        p = (t_ - 2) / 8
        want.append(0.1 * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * p))))
    assert got == pytest.approx(want, rel=1e-5)
    m.set_schedule("constant")
    assert m.current_lr() == pytest.approx(0.1)
    with pytest.raises(clnn.Error, match="cosine"):
        m.set_schedule("cosine", 5, 5)
    with pytest.raises(clnn.Error):
        m.set_schedule("linear")
    with pytest.raises(clnn.Error):
        m.param_group("nothing_like_this", lr=1.0)


def test_errors_name_the_node(ctx, rng):
    g = clnn.Graph()
    x = g.input("x", (3, 8, 8))
    v = g.input("v", (5,))
    n = len(g)
    with pytest.raises(clnn.Error) as e:
        g.add(x, v, name="merge")
    assert e.value.status == "CLNN_ERROR_SHAPE_MISMATCH" and "merge" in e.value.message
    with pytest.raises(clnn.Error) as e:
        g.conv2d(v, 4, 3, name="badconv")
    assert "badconv" in e.value.message
    with pytest.raises(clnn.Error) as e:
        g.concat([x, g.input("w", (2, 7, 8))], axis=0, name="cat")
    assert e.value.status == "CLNN_ERROR_SHAPE_MISMATCH" and "cat" in e.value.message
    assert len(g) == n + 1                           # failed builders left nothing behind
    with pytest.raises(clnn.Error, match="taken|already|unique"):
        g.dense(v, 2, name="x")
    other = clnn.Graph()
    with pytest.raises(clnn.Error, match="another graph"):
        other.relu(x)

    y = g.dense(v, 2, name="out")
    g.output(y)
    m = clnn.Model(g, ctx)
    with pytest.raises(clnn.Error, match="'v'"):
        m.predict({v: rand(rng, 4, 6)})              # wrong per-sample shape
    g2 = clnn.Graph()
    a, b = g2.input("a", (2,)), g2.input("b", (2,))
    g2.output(g2.add(a, b))
    m2 = clnn.Model(g2, ctx)
    with pytest.raises(clnn.Error, match="batch of 4"):
        m2.predict({a: rand(rng, 3, 2), b: rand(rng, 4, 2)})
    with pytest.raises(clnn.Error, match="'b' is needed but not fed"):
        m2.predict({a: rand(rng, 3, 2)})
    with pytest.raises(clnn.Error, match="'v'"):
        m.predict({})
    with pytest.raises(clnn.Error, match="another graph"):
        m.predict({other.input("q", (5,)): rand(rng, 2, 5)})
    with pytest.raises(clnn.Error, match="no loss"):
        m.train_step({v: rand(rng, 2, 5)})


def test_lent_tensors_expire_and_modes(ctx, rng):
    g = clnn.Graph()
    x = g.input("x", (6,))
    y = g.dropout(x, 0.5)
    g.output(y)
    m = clnn.Model(g, ctx, seed=9)
    xb = np.ones((4, 6), np.float32)
    assert m.training
    m.forward({x: xb})
    t = m.value_tensor(y)
    assert set(np.unique(t.numpy())) <= {0.0, 2.0}   # dropout in training mode
    keep = t.clone()
    m.eval()
    m.forward({x: xb})
    with pytest.raises(clnn.Error, match="valid only until"):
        t.numpy()
    assert keep.shape == (4, 6)
    assert np.array_equal(m.value(y), xb) and not m.training
    assert np.array_equal(m.predict({x: xb}), xb)
    m.train()


def test_default_context_and_datasets(rng):
    g = clnn.Graph()
    x = g.input("x", (4,))
    lab = g.input("label", (), dtype=np.int32)
    y = g.dense(x, 3)
    g.loss("softmax_cross_entropy", y, lab)
    g.output(y)
    m = clnn.Model(g, seed=0)
    assert m.context is clnn.default_context()
    xs = rand(rng, 40, 4)
    ds = clnn.Dataset(xs, xs[:, :3].argmax(1))
    m.set_optimizer("adam", lr=0.05)
    first = m.train_epoch(ds, 8, x, lab, shuffle_seed=1)
    for e in range(5):
        last = m.train_epoch(ds, 8, "x", "label", shuffle_seed=e + 2)
    assert last < first
    loss, acc = m.evaluate(ds, 16, x, lab)
    assert 0 < loss < first and 0.0 <= acc <= 1.0
    assert acc == pytest.approx((m.predict({x: xs}).argmax(1) == ds.labels).mean())
    m.close()
    with pytest.raises(clnn.Error, match="closed"):
        m.predict({x: xs})


@needs_model_files
def test_save_and_load_without_source(ctx, rng, tmp_path):
    g = clnn.Graph()
    x = g.input("image", (1, 6, 6))
    lab = g.input("label", (), dtype="int32")
    h = g.flatten(g.relu(g.conv2d(x, 4, 3, name="body")))
    y = g.dense(h, 5, name="head")
    g.loss("softmax_cross_entropy", y, lab)
    g.output(y)
    m = clnn.Model(g, ctx, seed=3)
    m.set_optimizer("adam", lr=1e-2)
    xb, lb = rand(rng, 8, 1, 6, 6), rng.integers(0, 5, 8)
    for _ in range(2):
        m.train_step({x: xb, lab: lb})
    path = tmp_path / "model.safetensors"
    m.save(path, optimizer=True)
    saved = m.params()

    m2 = clnn.Model.load(path, ctx)                        # no source code
    assert m2.param_names == m.param_names
    assert np.array_equal(m2.predict({"image": xb}), m.predict({x: xb}))
    assert [v.name for v in m2.graph.inputs] == ["image", "label"]
    assert m2.graph["label"].dtype == "int32"
    assert m2.train_step({"image": xb, "label": lb}) == m.train_step({x: xb, lab: lb})

    g2 = clnn.Graph.load(path)                             # the graph only: a new head
    assert [v.name for v in g2.inputs] == ["image", "label"]
    y2 = g2.dense(g2["flatten1"], 2, name="head2")
    g2.loss("softmax_cross_entropy", y2, g2["label"], name="loss2")
    m3 = clnn.Model(g2, ctx, seed=11)
    missing, unexpected = m3.load(path, strict=False)
    assert missing == ["head2.weight", "head2.bias"] and unexpected == []
    assert np.array_equal(m3.param("body.weight"), saved["body.weight"])
    with pytest.raises(clnn.Error):
        m3.load(path)                                      # strict: head2 is missing
    with pytest.raises(clnn.Error):
        clnn.Model.load(tmp_path / "absent.safetensors", ctx)


def test_every_layer_builder_runs(ctx, rng):
    g = clnn.Graph()
    x = g.input("img", (2, 6, 6))
    seq = g.input("seq", (5, 3))
    up = g.conv_transpose2d(x, 3, 2, stride=2, name="up")
    pooled = g.avgpool2d(g.leaky_relu(up, 0.2), 2)
    mx = g.maxpool2d(g.elu(g.conv2d(x, 3, (3, 3), padding=1, dilation=1, groups=1)), 3, 3)
    acts = [g.sigmoid(pooled), g.gelu(pooled), g.softplus(pooled), g.tanh(pooled),
            g.activation(pooled, "identity")]
    feat = g.flatten(g.concat(acts, axis=0))
    probs = g.softmax(g.dense(feat, 4), name="probs")
    logp = g.log_softmax(g.dense(feat, 4), name="logp")
    seqs = g.lstm(seq, 4, return_sequences=True, name="rnn")
    last = g.lstm(seqs, 2, name="rnn2")
    assert (up.shape, pooled.shape, mx.shape, feat.shape) == ((3, 12, 12), (3, 6, 6), (3, 2, 2),
                                                              (15 * 36,))
    assert (seqs.shape, last.shape) == ((5, 4), (2,))
    g.output(probs, logp, last, mx, g.dropout(g.batchnorm(up), 0.1))
    m = clnn.Model(g, ctx, seed=0)
    feeds = {x: rand(rng, 3, 2, 6, 6), seq: rand(rng, 3, 5, 3)}
    p = m.predict(feeds)
    assert p.shape == (3, 4)
    assert_close(p.sum(axis=1), np.ones(3), what="softmax rows")
    lp = m.predict(feeds, output=logp)
    assert_close(np.exp(lp).sum(axis=1), np.ones(3), what="log-softmax rows")
    assert m.predict(feeds, output="rnn2").shape == (3, 2)
    assert "lstm" in m.summary() and len(m.graph.outputs) == 5
