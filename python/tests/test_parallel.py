"""Device sets and data-parallel networks (Net on a DeviceSet), split modes, MPI entry points."""

import os

import numpy as np
import pytest

import clnn
from clnn import _lib
from conftest import rand

@pytest.fixture(autouse=True)
def _needs_device_sets():
    if not _lib.load().has("clnn_net_create_parallel"):
        pytest.skip("this libclnn has no device sets (built before clnn_net_create_parallel)")


def mlp(owner, seed=1):
    net = clnn.Net(owner, (4,), seed=seed).dense(8).tanh().dense(3)
    return net.set_optimizer("sgd", lr=0.1)


def test_device_set_all(rng):
    x, y = rand(rng, 16, 4), np.arange(16) % 3
    with clnn.DeviceSet("all") as s:
        assert len(s) == clnn.device_count() == len(s.contexts)
        first = s.contexts[0]
        assert isinstance(first, clnn.Context) and not first.closed
        t = first.tensor([1.0, 2.0])  # ordinary use of a member context
        par = mlp(s)
        assert par.device_set is s and par.context is first
        one = mlp(first)
        for _ in range(3):
            lp, lo = par.train_step(x, y), one.train_step(x, y)
        if len(s) == 1:  # a one-device set gives the same bits as one context
            assert lp == lo
            np.testing.assert_array_equal(par.predict(x), one.predict(x))
        shares, measured = par.split
        assert len(shares) == par.num_devices and abs(sum(shares) - 1) < 1e-9
        assert par.mpi_rank == (0, 1)
        s.finish()
        w = par.param("dense1.weight")
    assert s.closed and first.closed and t.closed and par.closed and one.closed
    for fn in (t.numpy, w.numpy, lambda: par.predict(x), lambda: len(s), s.finish):
        with pytest.raises(clnn.Error) as e:
            fn()
        assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"


def test_wrapped_contexts_train_together(rng):
    """Two contexts on the same device make a two-replica set: the same batches give the
    one-device parameters up to rounding (the tolerance the C header states and tests)."""
    x, y = rand(rng, 12, 4), np.arange(12) % 3
    a, b = clnn.Context(), clnn.Context()
    ref_ctx = clnn.Context()
    s = clnn.DeviceSet.wrap([a, b])
    par, one = mlp(s), mlp(ref_ctx)
    assert par.num_devices == 2 and par.split == ([0.5, 0.5], False)
    for _ in range(20):
        par.train_step(x, y)
        one.train_step(x, y)
    for name, want in one.state_dict().items():
        got = par.param(name).numpy()
        assert np.all(np.abs(got - want) <= 1e-5 + 1e-4 * np.abs(want)), name
    # an uneven split (3 and 9 of the 12 samples), then every sample on the second device: the
    # per-device gradients are weighted by their shares, so training still follows one device
    for weights, shares in (([1, 3], [0.25, 0.75]), ([0, 1], [0.0, 1.0])):
        par.set_split("fixed", weights)
        assert par.split == (shares, False)
        for _ in range(10):
            lp, lo = par.train_step(x, y), one.train_step(x, y)
            assert abs(lp - lo) <= 1e-5 + 1e-4 * abs(lo), (weights, lp, lo)
        for name, want in one.state_dict().items():
            got = par.param(name).numpy()
            assert np.all(np.abs(got - want) <= 1e-5 + 1e-4 * np.abs(want)), (weights, name)
        np.testing.assert_allclose(par.predict(x), one.predict(x), rtol=1e-4, atol=1e-5)
    par.set_split("auto")
    for bad in [("fixed", None), ("fixed", [1]), ("fixed", [0, 0]), ("fixed", [1, -1]),
                ("even", None), ("auto", [1, 1])]:
        with pytest.raises(clnn.Error) as e:
            par.set_split(*bad)
        assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT", bad
    # closing a wrapped context closes the set (and its network) first; the others live on
    a.close()
    assert s.closed and par.closed and not b.closed
    with pytest.raises(clnn.Error) as e:
        par.train_step(x, y)
    assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"
    np.testing.assert_array_equal(b.tensor([3.0]).numpy(), [3.0])
    s.close()
    b.close()
    ref_ctx.close()


def test_device_set_errors():
    with pytest.raises(clnn.Error) as e:
        clnn.DeviceSet("no-such-device-xyz")
    assert e.value.status == "CLNN_ERROR_DEVICE_NOT_FOUND"
    n = clnn.device_count()
    with pytest.raises(clnn.Error) as e:
        clnn.DeviceSet(",".join(["cpu"] * (n + 1)) if n < 64 else "x")  # more than there are
    assert e.value.status == "CLNN_ERROR_DEVICE_NOT_FOUND"
    with pytest.raises(clnn.Error) as e:
        clnn.DeviceSet(3)
    assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"
    c = clnn.Context()
    for bad in ([], [c, c], ["ctx"], None):
        with pytest.raises(clnn.Error) as e:
            clnn.DeviceSet.wrap(bad)
        assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"
    c.close()
    with pytest.raises(clnn.Error) as e:
        clnn.DeviceSet.wrap([c])  # closed
    assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"


def test_mpi_entry_points(ctx):
    net = clnn.Net(ctx, (2,), seed=0).dense(2)
    assert net.mpi_rank == (0, 1) and net.num_devices == 1
    with pytest.raises(clnn.Error) as e:
        net.set_mpi("world")
    assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"
    if clnn.mpi_available():
        return  # test_mpi_training runs MPI in child processes
    for fn in (clnn.mpi_init, lambda: net.set_mpi()):
        with pytest.raises(clnn.Error) as e:
            fn()
        assert e.value.status == "CLNN_ERROR_UNSUPPORTED"


MPI_SCRIPT = """
import sys, numpy as np
sys.path.insert(0, sys.argv[1])
import clnn
rank, size = clnn.mpi_init()
rng = np.random.default_rng(0)
x = rng.uniform(-1, 1, (12, 4)).astype(np.float32)
y = np.arange(12) % 3
with clnn.Context() as ctx:
    net = clnn.Net(ctx, (4,), seed=1).dense(8).tanh().dense(3).set_optimizer("sgd", lr=0.1)
    net.set_mpi()
    assert net.mpi_rank == (rank, size) and net.num_devices == size, (net.mpi_rank, size)
    for _ in range(20):
        net.train_step(x, y)
    np.save(sys.argv[2] + "/w%d.npy" % rank, net.param("dense1.weight").numpy())
    net.close()
clnn.mpi_finalize()
"""


def test_mpi_training(ctx, tmp_path):
    """With an MPI build: one rank (a singleton process) and two ranks (mpiexec -n 2) train
    like one process, and every rank ends with the same parameters."""
    if not clnn.mpi_available():
        pytest.skip("this libclnn was built without MPI")
    import shutil
    import subprocess
    import sys
    script = tmp_path / "mpi_train.py"
    script.write_text(MPI_SCRIPT)
    pkg = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
    x = np.random.default_rng(0).uniform(-1, 1, (12, 4)).astype(np.float32)
    ref = mlp(ctx)
    for _ in range(20):
        ref.train_step(x, np.arange(12) % 3)
    want = ref.param("dense1.weight").numpy()
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1",
               PRTE_MCA_rmaps_default_mapping_policy=":oversubscribe",
               OMPI_MCA_btl_vader_single_copy_mechanism="none")
    runs = [("1", [sys.executable, str(script), pkg, str(tmp_path / "1")])]
    mpiexec = shutil.which("mpiexec") or shutil.which("mpirun")
    if mpiexec:
        runs.append(("2", [mpiexec, "-n", "2", sys.executable, str(script), pkg,
                           str(tmp_path / "2")]))
    for name, cmd in runs:
        os.makedirs(tmp_path / name)
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        ws = [np.load(tmp_path / name / f"w{i}.npy") for i in range(int(name))]
        for w in ws[1:]:
            np.testing.assert_array_equal(w, ws[0])  # every rank: the same bits
        assert np.all(np.abs(ws[0] - want) <= 1e-5 + 1e-4 * np.abs(want)), name
