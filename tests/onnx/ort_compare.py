# tests/onnx/ort_compare.py MODEL.onnx INPUT.f32 EXPECTED.f32 [--labels L.i32 --min-accuracy A]
#                           [--rtol R] [--atol A] [--require-ort] [--int-input]
# Runs an ONNX file that clnn exported on a raw float32 input (batch-first; the batch follows from
# the file size and the model's input shape) and compares its first output with clnn's (raw
# float32): |ort - clnn| <= atol + rtol |clnn| everywhere (default 1e-4 + 1e-4: float32 rounding
# of a different summation order). With --labels, the runtime's argmax must reach --min-accuracy.
# --int-input: the input file holds int32 ids (fed as the model's int64 input).
#
# The runtime: ONNX Runtime when `import onnxruntime` works (tests/onnx/ort_venv.sh installs it
# from PyPI into a venv under the build tree); otherwise the ONNX checker (Debian's python3-onnx,
# full_check) and a NumPy reference for the ops of the file (written here from the ONNX operator
# specs), so the test means something without network access. --require-ort makes a missing
# onnxruntime a skip instead. Exit 0: match; 1: mismatch; 77: skipped (nothing to run it with,
# or an op the NumPy reference lacks), with the reason printed.
import math
import sys

try:
    import numpy as np
    import onnx
    from onnx import numpy_helper
except ImportError as e:
    print("ort_compare.py: skipped: %s (Debian: python3-numpy, python3-onnx)" % e)
    sys.exit(77)


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def conv2d(x, w, b, a, transposed=False):
    if transposed:
        raise NotImplementedError("ConvTranspose")
    g = a.get("group", 1)
    sh, sw = a.get("strides", [1, 1])
    dh, dw = a.get("dilations", [1, 1])
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    x = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    n, c, h, wd = x.shape
    k, cg, kh, kw = w.shape
    oh = (h - (kh - 1) * dh - 1) // sh + 1
    ow = (wd - (kw - 1) * dw - 1) // sw + 1
    y = np.zeros((n, k, oh, ow), dtype=np.float64)
    kg = k // g
    for gi in range(g):
        xs = x[:, gi * cg:(gi + 1) * cg].astype(np.float64)
        ws = w[gi * kg:(gi + 1) * kg].astype(np.float64)
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw]
                y[:, gi * kg:(gi + 1) * kg] += np.einsum("nchw,kc->nkhw", patch, ws[:, :, i, j])
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y


def pool2d(x, a, op):
    kh, kw = a["kernel_shape"]
    sh, sw = a.get("strides", [1, 1])
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    fill = -np.inf if op == "max" else 0.0
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=fill)
    ones = np.pad(np.ones(x.shape[2:]), ((pt, pb), (pl, pr)))
    oh = (xp.shape[2] - kh) // sh + 1
    ow = (xp.shape[3] - kw) // sw + 1
    wins = [xp[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]
            for i in range(kh) for j in range(kw)]
    if op == "max":
        return np.max(wins, axis=0)
    if a.get("count_include_pad", 0):
        return np.sum(wins, axis=0) / (kh * kw)
    cnt = sum(ones[i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]
              for i in range(kh) for j in range(kw))
    return np.sum(wins, axis=0) / cnt


def softmax(x, axis, log):
    m = x - x.max(axis=axis, keepdims=True)
    s = np.log(np.exp(m).sum(axis=axis, keepdims=True))
    return m - s if log else np.exp(m - s)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def lstm(x, w, r, b, hidden):
    # ONNX LSTM, forward, zero initial state, gates i, o, f, c; x [T, N, I]
    T, N = x.shape[0], x.shape[1]
    h = np.zeros((N, hidden))
    c = np.zeros((N, hidden))
    bias = b[0, :4 * hidden] + b[0, 4 * hidden:] if b is not None else 0
    ys = []
    for t in range(T):
        z = x[t].astype(np.float64) @ w[0].T + h @ r[0].T + bias
        i, o, f, g = np.split(z, 4, axis=1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        ys.append(h)
    return np.stack(ys)[:, None], h[None]


def run_numpy(model, feeds):
    env = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    env.update(feeds)
    erf = np.vectorize(math.erf)
    for node in model.graph.node:
        a, op = attrs(node), node.op_type
        x = [env[i] if i else None for i in node.input]
        if op == "Conv":
            y = conv2d(x[0], x[1], x[2] if len(x) > 2 else None, a)
        elif op in ("MaxPool", "AveragePool"):
            y = pool2d(x[0], a, "max" if op == "MaxPool" else "avg")
        elif op == "GlobalAveragePool":
            y = x[0].mean(axis=(2, 3), keepdims=True)
        elif op == "BatchNormalization":
            s = (1, -1) + (1,) * (x[0].ndim - 2)
            y = (x[0] - x[3].reshape(s)) / np.sqrt(x[4].reshape(s) + a.get("epsilon", 1e-5))
            y = y * x[1].reshape(s) + x[2].reshape(s)
        elif op == "Gemm":
            A = x[0].T if a.get("transA", 0) else x[0]
            B = x[1].T if a.get("transB", 0) else x[1]
            y = a.get("alpha", 1.0) * (A.astype(np.float64) @ B)
            if len(x) > 2 and x[2] is not None:
                y = y + a.get("beta", 1.0) * x[2]
        elif op == "MatMul":
            y = x[0].astype(np.float64) @ x[1]
        elif op in ("Add", "Sub", "Mul", "Div"):
            f = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide}[op]
            y = f(x[0].astype(np.float64), x[1])
        elif op == "Gather":
            y = np.take(x[0], x[1].astype(np.int64), axis=a.get("axis", 0))
        elif op == "ReduceMean":
            y = x[0].astype(np.float64).mean(axis=tuple(a["axes"]), keepdims=bool(a.get("keepdims", 1)))
        elif op == "Pow":
            y = np.power(x[0].astype(np.float64), x[1])
        elif op == "Sqrt":
            y = np.sqrt(x[0])
        elif op == "Squeeze":
            y = np.squeeze(x[0], axis=tuple(int(v) for v in x[1]))
        elif op == "LSTM":
            if a.get("direction", b"forward") not in (b"forward", "forward") or len(x) > 4:
                print("ort_compare.py: skipped: the NumPy LSTM is forward without state inputs")
                sys.exit(77)
            ys, yh = lstm(x[0], x[1], x[2], x[3] if len(x) > 3 else None, a["hidden_size"])
            env[node.output[0]] = ys.astype(np.float32)
            if len(node.output) > 1 and node.output[1]:
                env[node.output[1]] = yh.astype(np.float32)
            continue
        elif op == "Relu":
            y = np.maximum(x[0], 0)
        elif op == "LeakyRelu":
            y = np.where(x[0] > 0, x[0], a.get("alpha", 0.01) * x[0])
        elif op == "Elu":
            y = np.where(x[0] > 0, x[0], a.get("alpha", 1.0) * (np.exp(x[0]) - 1))
        elif op == "Sigmoid":
            y = 1 / (1 + np.exp(-x[0].astype(np.float64)))
        elif op == "Tanh":
            y = np.tanh(x[0])
        elif op == "Softplus":
            y = np.logaddexp(0, x[0])
        elif op == "Erf":
            y = erf(x[0])
        elif op in ("Softmax", "LogSoftmax"):
            y = softmax(x[0].astype(np.float64), a.get("axis", -1), op == "LogSoftmax")
        elif op == "Reshape":
            shape = [d if d != 0 else x[0].shape[i] for i, d in enumerate(x[1])]
            y = x[0].reshape(shape)
        elif op == "Flatten":
            ax = a.get("axis", 1)
            y = x[0].reshape(int(np.prod(x[0].shape[:ax])), -1)
        elif op == "Identity":
            y = x[0]
        elif op == "Transpose":
            y = np.transpose(x[0], a.get("perm"))
        elif op == "Concat":
            y = np.concatenate(x, axis=a["axis"])
        elif op == "Slice":
            sl = [slice(None)] * x[0].ndim
            axes = x[3] if len(x) > 3 and x[3] is not None else range(len(x[1]))
            steps = x[4] if len(x) > 4 and x[4] is not None else [1] * len(x[1])
            for s, e, ax, st in zip(x[1], x[2], axes, steps):
                sl[ax] = slice(int(s), int(e), int(st))
            y = x[0][tuple(sl)]
        else:
            print("ort_compare.py: skipped: the NumPy reference lacks op %s (install onnxruntime)" % op)
            sys.exit(77)
        env[node.output[0]] = np.asarray(y, dtype=np.float32)
    return env[model.graph.output[0].name]


def main():
    args = sys.argv[1:]
    opts = {"--labels": None, "--min-accuracy": "0", "--rtol": "1e-4", "--atol": "1e-4"}
    require_ort = "--require-ort" in args
    int_input = "--int-input" in args
    args = [s for s in args if s not in ("--require-ort", "--int-input")]
    pos = []
    i = 0
    while i < len(args):
        if args[i] in opts:
            opts[args[i]] = args[i + 1]
            i += 2
        else:
            pos.append(args[i])
            i += 1
    path, xin, want = pos
    model = onnx.load(path)
    inp = model.graph.input[0]
    dims = [d.dim_value for d in inp.type.tensor_type.shape.dim][1:]
    if int_input:
        x = np.fromfile(xin, dtype=np.int32).astype(np.int64).reshape([-1] + dims)
    else:
        x = np.fromfile(xin, dtype=np.float32).reshape([-1] + dims)
    expected = np.fromfile(want, dtype=np.float32)
    try:
        import onnxruntime as ort
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        got = sess.run(None, {inp.name: x})[0]
        runtime = "onnxruntime %s" % ort.__version__
    except ImportError:
        if require_ort:
            print("ort_compare.py: skipped: onnxruntime is not installed")
            sys.exit(77)
        onnx.checker.check_model(model, full_check=True)
        got = run_numpy(model, {inp.name: x})
        runtime = "the ONNX checker and a NumPy reference (onnxruntime not installed)"
    got = np.asarray(got, dtype=np.float32).reshape(-1)
    if got.size != expected.size:
        print("ort_compare.py: %s gives %d values, clnn %d" % (runtime, got.size, expected.size))
        return 1
    rtol, atol = float(opts["--rtol"]), float(opts["--atol"])
    err = np.abs(got - expected)
    ok = bool(np.all(err <= atol + rtol * np.abs(expected)))
    print("%s: %s on %d samples: largest |runtime - clnn| %.3g (%s %g + %g |clnn|)"
          % (path, runtime, x.shape[0], err.max(), "within" if ok else "NOT within", atol, rtol))
    if opts["--labels"]:
        labels = np.fromfile(opts["--labels"], dtype=np.int32)
        acc = float(np.mean(got.reshape(len(labels), -1).argmax(1) == labels))
        need = float(opts["--min-accuracy"])
        print("accuracy in the runtime: %.2f%% (%s %.0f%%)" % (100 * acc, "meets" if acc >= need
                                                              else "BELOW", 100 * need))
        ok = ok and acc >= need
    return 0 if ok else 1


sys.exit(main())
