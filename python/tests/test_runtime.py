"""Devices, contexts, tensors, NumPy conversion, lifetimes and errors."""

import gc
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import clnn
from conftest import rand


def test_library_loaded():
    assert os.path.exists(clnn.library_path())


def test_devices_and_selection():
    n = clnn.device_count()
    assert n >= 1
    devs = clnn.devices()
    assert len(devs) == n
    for i, d in enumerate(devs):
        assert d.index == i
        assert d.name and d.type in ("cpu", "gpu", "accelerator", "other")
        assert d.compute_units >= 1 and d.global_mem_bytes > 0
        assert clnn.device_info(i) == d
        idx, reason = clnn.select_device(d.selection)  # "P:D" picks exactly that device
        assert idx == i and reason
    idx, reason = clnn.select_device()
    assert 0 <= idx < n and reason
    for d in devs:  # a type picks a device of that type
        idx, _ = clnn.select_device(d.type)
        assert devs[idx].type == d.type
        idx, _ = clnn.select_device(d.name[:6].lower())  # case-insensitive name substring
        assert devs[idx].name.lower().find(d.name[:6].lower()) >= 0


def test_device_not_found():
    with pytest.raises(clnn.Error) as e:
        clnn.select_device("no-such-device-xyz")
    assert e.value.status == "CLNN_ERROR_DEVICE_NOT_FOUND"
    assert e.value.code == -5
    assert devices_named_in(e.value.message)
    with pytest.raises(clnn.Error) as e:
        clnn.Context(device="no-such-device-xyz")
    assert e.value.status == "CLNN_ERROR_DEVICE_NOT_FOUND"
    with pytest.raises(clnn.Error) as e:
        clnn.device_info(10_000)
    assert e.value.status in ("CLNN_ERROR_INVALID_ARGUMENT", "CLNN_ERROR_DEVICE_NOT_FOUND")
    with pytest.raises(clnn.Error) as e:
        clnn.Context(device=3.5)
    assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"


def devices_named_in(message):
    return any(d.name in message for d in clnn.devices())


def test_context_lifecycle():
    d = clnn.devices()[0]
    with clnn.Context(device=d.selection, cache_dir="off") as c:
        assert not c.closed
        assert c.device.name == d.name and c.device.selection == d.selection
        c.selftest()
        c.finish()
        st = c.cache_stats()
        assert set(st) == {"hits", "misses", "builds", "build_seconds"}
        cl_ctx, dev, queue = c.cl_handles()
        assert cl_ctx and dev and queue
        t = c.tensor([1, 2, 3])
        assert "Context" in repr(c)
    assert c.closed and t.closed
    for bad in (lambda: c.finish(), lambda: c.device, lambda: c.tensor([1.0]),
                lambda: t.numpy(), lambda: t.fill(1), lambda: clnn.relu(c, [1.0, -1.0]),
                lambda: clnn.Net(c, (3,))):
        with pytest.raises(clnn.Error) as e:
            bad()
        assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"
        assert "closed" in e.value.message
    c.close()  # a second close does nothing
    t.close()
    # by index, and by DeviceInfo
    with clnn.Context(device=0) as c2, clnn.Context(device=d) as c3:
        assert c2.device.index == 0 and c3.device.selection == d.selection


def test_tensor_roundtrip(ctx, rng):
    a = rand(rng, 2, 3, 4)
    t = clnn.Tensor(ctx, a)
    assert t.shape == (2, 3, 4) and t.ndim == 3 and t.size == 24 and len(t) == 2
    assert t.context is ctx and t.dtype == np.float32
    b = t.numpy()
    assert b.dtype == np.float32 and b.flags.c_contiguous
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(np.asarray(t), a)
    t.fill(2.5)
    assert np.all(t.numpy() == 2.5)
    t.write(a[::-1].copy())
    np.testing.assert_array_equal(t.numpy(), a[::-1])
    t.reshape(4, 6)
    assert t.shape == (4, 6)
    np.testing.assert_array_equal(t.numpy(), a[::-1].reshape(4, 6))
    t.shape = (24,)
    assert t.numpy().shape == (24,)
    u = t.clone()
    t.fill(0)
    np.testing.assert_array_equal(u.numpy(), a[::-1].reshape(-1))
    z = ctx.zeros((3, 2))
    assert np.all(z.numpy() == 0)
    f = ctx.full((5,), -1)
    assert np.all(f.numpy() == -1)
    e = ctx.empty((2, 2, 2, 2, 2))
    assert e.shape == (2,) * 5
    with clnn.Tensor(ctx, [1.0]) as s:
        assert s.numpy()[0] == 1.0
    assert s.closed


def test_dtype_conversion(ctx):
    # float64 and integer arrays are converted to float32
    for a in (np.arange(6, dtype=np.float64).reshape(2, 3), np.arange(6, dtype=np.int64),
              np.arange(6, dtype=np.uint8), np.arange(6, dtype=np.int16),
              np.array([True, False]), np.array([1.5, 2.5], dtype=np.float16), [[1, 2], [3, 4]],
              (1.0, 2.0)):
        t = ctx.tensor(a)
        np.testing.assert_array_equal(t.numpy(), np.asarray(a, dtype=np.float32))
        assert t.numpy().dtype == np.float32
    # non-contiguous layouts are made contiguous
    base = np.arange(48, dtype=np.float32).reshape(4, 12)
    for a in (base.T, base[:, ::3], base[::2], np.asfortranarray(base)):
        np.testing.assert_array_equal(ctx.tensor(a).numpy(), a)
    # operators follow the same rule
    y = clnn.relu(ctx, np.array([[-1, 2], [3, -4]], dtype=np.int32))
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, [[0, 2], [3, 0]])


@pytest.mark.parametrize("bad", [
    np.array([object(), 1], dtype=object),
    np.array(["a", "b"]),
    np.array([b"a"]),
    np.array([1 + 2j]),
    np.zeros(2, dtype=[("a", np.float32)]),
    np.array(["2020-01-01"], dtype="datetime64[D]"),
    [[1, 2], [3]],  # ragged
    "text",
    None,
])
def test_refused_dtypes(ctx, bad):
    with pytest.raises(clnn.Error) as e:
        ctx.tensor(bad)
    assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"
    with pytest.raises(clnn.Error) as e:
        clnn.relu(ctx, bad)
    assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"


@pytest.mark.parametrize("shape", [(), (0,), (2, 0), (1, 1, 1, 1, 1, 1)])
def test_refused_shapes(ctx, shape):
    with pytest.raises(clnn.Error) as e:
        ctx.tensor(np.zeros(shape, dtype=np.float32))
    assert e.value.status == "CLNN_ERROR_SHAPE_MISMATCH"
    with pytest.raises(clnn.Error) as e:
        ctx.empty(shape)
    assert e.value.status == "CLNN_ERROR_SHAPE_MISMATCH"
    with pytest.raises(clnn.Error) as e:
        clnn.sigmoid(ctx, np.zeros(shape, dtype=np.float32))
    assert e.value.status == "CLNN_ERROR_SHAPE_MISMATCH"


def test_tensor_misuse(ctx):
    t = ctx.tensor(np.ones((2, 3)))
    with pytest.raises(clnn.Error) as e:
        t.write(np.ones(5))
    assert e.value.status == "CLNN_ERROR_SHAPE_MISMATCH"
    with pytest.raises(clnn.Error) as e:
        t.shape = (4, 2)
    assert e.value.status == "CLNN_ERROR_SHAPE_MISMATCH"
    with pytest.raises(clnn.Error) as e:
        t.shape = (-6,)
    assert e.value.status == "CLNN_ERROR_SHAPE_MISMATCH"
    with pytest.raises(clnn.Error) as e:
        ctx.empty((2, "a"))
    assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"
    with pytest.raises(clnn.Error) as e:
        t.fill("x")
    assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"
    with pytest.raises(clnn.Error) as e:
        clnn.Tensor("not a context", [1.0])
    assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"
    with pytest.raises(clnn.Error):
        clnn.Tensor(ctx)
    u = ctx.tensor(np.ones(6))
    u.copy_(t)  # same element count: fine
    t.close()
    with pytest.raises(clnn.Error) as e:
        t.numpy()
    assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT" and "closed" in e.value.message
    with pytest.raises(clnn.Error):
        clnn.relu(ctx, t)
    with pytest.raises(clnn.Error):
        u.copy_(t)


def test_context_mismatch(ctx):
    with clnn.Context() as other:
        a = other.tensor(np.ones(4))
        with pytest.raises(clnn.Error) as e:
            clnn.add(ctx, a, np.ones(4))
        assert e.value.status == "CLNN_ERROR_CONTEXT_MISMATCH"
        b = ctx.tensor(np.ones(4))
        with pytest.raises(clnn.Error) as e:
            b.copy_(a)
        assert e.value.status == "CLNN_ERROR_CONTEXT_MISMATCH"


def test_lifetimes_any_order():
    # tensors keep their context alive; the context frees them first when it closes
    c = clnn.Context()
    ts = [c.tensor(np.full(3, i)) for i in range(5)]
    del c
    gc.collect()
    np.testing.assert_array_equal(ts[3].numpy(), [3, 3, 3])
    ctx2 = ts[0].context
    del ts[1]
    gc.collect()
    ctx2.close()
    assert all(t.closed for t in ts)
    del ts, ctx2
    gc.collect()
    # a reference cycle holding a context and its tensors is collected in arbitrary order
    for _ in range(3):
        c = clnn.Context()
        holder = [c, c.tensor(np.ones(2)), c.tensor(np.ones(3))]
        holder.append(holder)
        del c, holder
        gc.collect()


def test_threads_share_a_context(ctx):
    errors = []

    def work(k):
        try:
            for _ in range(10):
                x = np.full((4, 4), k, dtype=np.float32)
                y = clnn.add(ctx, x, x)
                assert np.all(y == 2 * k)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    th = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    assert not errors


def test_error_attributes(ctx):
    with pytest.raises(clnn.Error) as e:
        clnn.dense(ctx, np.ones((2, 3)), np.ones((4, 5)))
    err = e.value
    assert err.status == "CLNN_ERROR_SHAPE_MISMATCH" and err.code == -2
    assert "clnn_dense_forward" in err.message  # the library's own message
    assert err.status in str(err) and err.message in str(err)
    assert isinstance(err, Exception)


def test_log_callback(ctx):
    got = []
    clnn.set_log_callback(lambda level, msg: got.append((level, msg)), "debug")
    try:
        with clnn.Context() as c:
            c.tensor([1.0]).numpy()
    finally:
        clnn.set_log_callback(None)
    assert got and all(isinstance(m, str) for _, m in got)
    with pytest.raises(clnn.Error):
        clnn.set_log_callback(print, "loud")


def _run_py(code, env):
    e = dict(os.environ)
    e.update(env)
    return subprocess.run([sys.executable, "-c", code], env=e, capture_output=True, text=True,
                          cwd=os.path.join(os.path.dirname(__file__), ".."))


def test_library_not_found():
    r = _run_py("import clnn\n"
                "try:\n    clnn.devices()\n"
                "except clnn.Error as e:\n    print('ERR', e.status, isinstance(e, OSError))\n",
                {"CLNN_LIBRARY": "/nonexistent/libclnn.so"})
    assert r.returncode == 0, r.stderr
    assert "ERR CLNN_LIBRARY_NOT_FOUND True" in r.stdout


def test_closed_context_in_subprocess_does_not_crash():
    # misuse after close, and interpreter exit with live objects, end cleanly
    code = ("import numpy as np, clnn\n"
            "c = clnn.Context(); t = c.tensor(np.ones(3))\n"
            "c.close()\n"
            "for f in (t.numpy, lambda: clnn.relu(c, t), lambda: t.reshape(3, 1)):\n"
            "    try: f()\n"
            "    except clnn.Error as e: print(e.status)\n"
            "c2 = clnn.Context(); keep = [c2.tensor(np.ones(2)) for _ in range(3)]\n"
            "print('done')\n")
    r = _run_py(code, {})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["CLNN_ERROR_INVALID_ARGUMENT"] * 3 + ["done"]


def test_wrap_and_binaries(ctx, tmp_path):
    # wrap the OpenCL objects of an existing context (as one would PyOpenCL's, via .int_ptr)
    t = ctx.tensor(np.arange(6.0))
    with clnn.Context.wrap(*ctx.cl_handles()) as w:
        assert w.device.name == ctx.device.name
        v = clnn.wrap_cl_buffer(w, t.cl_mem, (2, 3))  # the same buffer, seen from w
        np.testing.assert_array_equal(v.numpy(), np.arange(6.0).reshape(2, 3))
        clnn.scale(w, 2.0, v)
    np.testing.assert_array_equal(t.numpy(), 2 * np.arange(6.0))  # the caller's buffer lives on
    for bad in (None, 0, "x", 1.5):
        with pytest.raises(clnn.Error) as e:
            clnn.Context.wrap(bad, 1, 1)
        assert e.value.status == "CLNN_ERROR_INVALID_ARGUMENT"
    # prebuilt binaries: export, then a binaries-only context runs from them
    n = ctx.export_binaries(tmp_path / "bins")
    assert n >= 1 and len(os.listdir(tmp_path / "bins")) >= n
    with clnn.Context(binary_dir=tmp_path / "bins", binaries_only=True, cache_dir="off") as b:
        np.testing.assert_allclose(clnn.softmax(b, np.zeros((2, 4))), np.full((2, 4), 0.25))
    with clnn.Context(binary_dir=tmp_path / "empty", binaries_only=True, cache_dir="off") as b:
        with pytest.raises(clnn.Error) as e:
            clnn.softmax(b, np.zeros((2, 4)))
        assert e.value.status == "CLNN_ERROR_BINARY_MISSING"


def test_readme_numpy_comparison_runs():
    """The README's "compare a clnn operator with NumPy" example runs as written."""
    text = open(os.path.join(os.path.dirname(__file__), "..", "README.md")).read()
    section = text.split("## Compare a clnn operator with NumPy", 1)[1]
    code = section.split("```python", 1)[1].split("```", 1)[0]
    exec(compile(code, "README.md", "exec"), {})
