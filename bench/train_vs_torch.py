#!/usr/bin/env python3
"""bench/train_vs_torch.py — end-to-end training speed (images/s) of clnn's example CNNs against the
same networks trained with PyTorch on the CPU, run alternately on the same machine.

    /usr/bin/python3 bench/train_vs_torch.py [--build build] [--mnist DIR] [--rounds 3]

Cases (the networks are read off the examples' build() functions; keep them in step):
  digits  examples/digits_cnn.c on data/digits (1,437 training images of 1x8x8, batch 32):
          conv 3x3x32 p1 - ReLU - conv 3x3x32 p1 - ReLU - max pool 2 - dropout 0.25 - flatten -
          dense 128 - ReLU - dense 10; softmax cross-entropy; Adam lr 1e-3 (betas 0.9/0.999,
          eps 1e-8, no weight decay).
  mnist   examples/mnist_cnn.c on the IDX files of --mnist DIR (the first --mnist-limit training
          images of 1x28x28, batch 64): conv 3x3x32 p1 - ReLU - max pool 2 - conv 3x3x64 p1 - ReLU -
          max pool 2 - dropout 0.25 - flatten - dense 128 - ReLU - dropout 0.5 - dense 10; softmax
          cross-entropy; Adam lr 1e-3. DIR may hold the files as distributed (.gz): they are
          decompressed into a temporary directory for the clnn example. Skipped without --mnist.

What is timed, on both sides, is whole training epochs: from the first batch of the epoch to the
epoch's mean loss being on the host, i.e. per batch the copy of the batch out of the (already
shuffled) training set, forward, loss, backward and the Adam update. Not timed: loading the data,
the per-epoch shuffle, the evaluation after each epoch, building kernels / first calls, and the
whole first epoch (warm-up: clnn's first steps allocate the network's buffers, PyTorch's first
steps pick oneDNN primitives). Each round is one fresh run of the clnn example
(build/digits_cnn or build/mnist_cnn, whose own per-epoch "images/s" lines time exactly
clnn_net_train_epoch) followed by a fresh PyTorch model trained for the same epochs on the same
images with the same batch size; a round's rate is (timed epochs x training images) / (sum of the
timed epochs' seconds). The last batch of an epoch is partial on both sides (clnn_net_train_epoch
trains it as it is).

Threads: clnn runs on its default OpenCL device (PoCL uses every core). PyTorch uses one inter-op
thread and, in turn, each intra-op count of --threads (default: every core, then 1), each a row
of the table; OMP_NUM_THREADS, MKL_NUM_THREADS and OPENBLAS_NUM_THREADS are set to the largest
count before torch is imported (unless already set), and the pthreads OpenBLAS under PyTorch's
dense layers gets each count through openblas_set_num_threads, as in bench/torch_reference.py.
On these small batches one thread is often the faster PyTorch (no OpenMP barriers), and on a
loaded machine the all-core PyTorch collapses (a barrier waits out a descheduled thread's time
slice), so the table compares clnn with every row and names the fastest.

Output: per row min / median / max images/s over the rounds, clnn / PyTorch of the medians and of
the maxima (the best round of each, the least disturbed by other load), and the mean load average
(1 min) at the start of the row's rounds; --json FILE keeps every round. Nothing is asserted.
--check-network only checks that the examples' networks (their printed layer tables, batch size
and optimizer) are the ones trained here (tests/bench.cmake runs it).
"""

import argparse
import gzip
import json
import os
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

from openblas_threads import find_openblas

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ------------------------------------------------------------------------------------------------
# data: IDX files, plain or .gz
# ------------------------------------------------------------------------------------------------

IDX_NAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    "test_alt": ("test-images-idx3-ubyte", "test-labels-idx1-ubyte"),
}


def find_idx(directory, name):
    """Path of `name` or `name`.gz in directory, or None."""
    for cand in (name, name + ".gz"):
        p = os.path.join(directory, cand)
        if os.path.isfile(p):
            return p
    return None


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08:
        raise SystemExit(f"train_vs_torch: {path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return dims, raw[4 + 4 * ndim:]


def load_split(directory, split, limit=0):
    """(images float32 [n,1,h,w] scaled to [0,1] as clnn_dataset_load_idx does, labels int64)."""
    import numpy as np
    import torch
    names = IDX_NAMES[split]
    img, lab = find_idx(directory, names[0]), find_idx(directory, names[1])
    if (img is None or lab is None) and split == "test":
        return load_split(directory, "test_alt", limit)
    if img is None or lab is None:
        raise SystemExit(f"train_vs_torch: {directory} has no {names[0]}[.gz] / {names[1]}[.gz]")
    dims, pix = read_idx(img)
    _, labels = read_idx(lab)
    n = dims[0] if not limit else min(limit, dims[0])
    x = np.frombuffer(pix, dtype=np.uint8)[: n * dims[1] * dims[2]]
    x = torch.from_numpy(x.astype(np.float32) / 255.0).reshape(n, 1, dims[1], dims[2])
    y = torch.from_numpy(np.frombuffer(labels, dtype=np.uint8)[:n].astype(np.int64))
    return x.contiguous(), y


def plain_idx_dir(directory, tmp):
    """A directory with the four IDX files decompressed (directory itself when they already are)."""
    needed = IDX_NAMES["train"] + IDX_NAMES["test"]
    if all(os.path.isfile(os.path.join(directory, n)) for n in needed):
        return directory
    out = os.path.join(tmp, "mnist")
    os.makedirs(out, exist_ok=True)
    for n in needed:
        src = find_idx(directory, n)
        if src is None:
            raise SystemExit(f"train_vs_torch: {directory} has no {n} (or {n}.gz)")
        dst = os.path.join(out, n)
        if src.endswith(".gz"):
            with gzip.open(src, "rb") as fi, open(dst, "wb") as fo:
                shutil.copyfileobj(fi, fo)
        else:
            shutil.copyfile(src, dst)
    return out


# ------------------------------------------------------------------------------------------------
# the networks, as in the examples
# ------------------------------------------------------------------------------------------------


def torch_net(case, hw):
    """The example's network for 1 x hw[0] x hw[1] images."""
    import torch.nn as nn
    h, w = hw
    if case == "digits":  # examples/digits_cnn.c build()
        return nn.Sequential(
            nn.Conv2d(1, 32, 3, 1, 1), nn.ReLU(),
            nn.Conv2d(32, 32, 3, 1, 1), nn.ReLU(),
            nn.MaxPool2d(2, 2),
            nn.Dropout(0.25), nn.Flatten(),
            nn.Linear(32 * (h // 2) * (w // 2), 128), nn.ReLU(),
            nn.Linear(128, 10))
    # examples/mnist_cnn.c build()
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(32, 64, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Dropout(0.25), nn.Flatten(),
        nn.Linear(64 * (h // 4) * (w // 4), 128), nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(128, 10))


def torch_layers(net, hw):
    """(kind, output shape, parameter count) per layer, in the words of clnn_net_summary."""
    import torch
    import torch.nn as nn
    rows = []
    x = torch.zeros(1, 1, *hw)
    net.eval()
    with torch.no_grad():
        for m in net:
            x = m(x)
            if isinstance(m, nn.Conv2d):
                kind = f"conv2d {m.kernel_size[0]}x{m.kernel_size[1]}/{m.stride[0]}"
            elif isinstance(m, nn.MaxPool2d):
                kind = f"maxpool2d {m.kernel_size}x{m.kernel_size}/{m.stride}"
            elif isinstance(m, nn.Dropout):
                kind = f"dropout {m.p:.2f}"  # clnn_net_summary prints two decimals
            elif isinstance(m, nn.Linear):
                kind = "dense"
            else:
                kind = type(m).__name__.lower()
            rows.append((kind, list(x.shape[1:]), sum(p.numel() for p in m.parameters())))
    return rows


SUMMARY_ROW = re.compile(r"^(\S+)\s+(.+?)\s+\[([0-9, ]*)\]\s+(\d+)\s*$")


def check_network(case, args, tmp):
    """Runs the example for one epoch on data/digits and compares its printed layer table (kind,
    output shape, parameters), batch size and optimizer with the PyTorch network of this script.
    Returns a list of differences (empty: the same network)."""
    exe = os.path.join(args.build, "digits_cnn" if case == "digits" else "mnist_cnn")
    cmd = [exe, "--data", args.digits, "--epochs", "1",
           "--checkpoint", os.path.join(tmp, case + ".safetensors")]
    if case == "mnist":
        cmd += ["--limit", "64"]  # mnist_cnn reads data/digits too (8x8 images)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        return [f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}"]
    clnn_rows = []
    for line in r.stdout.splitlines():
        m = SUMMARY_ROW.match(line)
        if m and m.group(1) != "input":
            shape = [int(v) for v in m.group(3).split(",") if v.strip()]
            clnn_rows.append((m.group(2).strip(), shape, int(m.group(4))))
    diffs = []
    want = torch_layers(torch_net(case, (8, 8)), (8, 8))
    if len(clnn_rows) != len(want):
        diffs.append(f"{case}: clnn has {len(clnn_rows)} layers, this script's network {len(want)}")
    for i, (c, t) in enumerate(zip(clnn_rows, want)):
        if c != t:
            diffs.append(f"{case}: layer {i + 1}: clnn {c}, PyTorch {t}")
    m = re.search(r"^training: .*batch (\d+), Adam lr ([0-9.e+-]+)", r.stdout, re.M)
    if not m:
        diffs.append(f"{case}: no 'training: ... batch N, Adam lr X' line in:\n{r.stdout}")
    elif int(m.group(1)) != args.batch[case] or float(m.group(2)) != 1e-3:
        diffs.append(f"{case}: the example trains with batch {m.group(1)}, Adam lr {m.group(2)}; "
                     f"this script with batch {args.batch[case]}, Adam lr 0.001")
    return diffs


# ------------------------------------------------------------------------------------------------
# one round of each side
# ------------------------------------------------------------------------------------------------

EPOCH_LINE = re.compile(r"^epoch\s+(\d+)\s.*?\s([0-9.]+) images/s")


def clnn_round(case, args, data_dir, n_train, tmp):
    """images/s of the clnn example over epochs 2..E (one fresh process)."""
    exe = os.path.join(args.build, "digits_cnn" if case == "digits" else "mnist_cnn")
    cmd = [exe, "--data", data_dir, "--epochs", str(args.epochs[case]),
           "--checkpoint", os.path.join(tmp, case + ".safetensors")]
    if case == "mnist":
        cmd += ["--limit", str(n_train)]
    if args.device:
        cmd += ["--device", args.device]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise SystemExit(f"train_vs_torch: {' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}")
    rates = {}
    for line in r.stdout.splitlines():
        m = EPOCH_LINE.match(line)
        if m:
            rates[int(m.group(1))] = float(m.group(2))
    timed = [rates[e] for e in sorted(rates) if e >= 2]
    if len(timed) != args.epochs[case] - 1:
        raise SystemExit(f"train_vs_torch: could not read the epoch lines of:\n{r.stdout}")
    seconds = sum(n_train / r_ for r_ in timed)
    return n_train * len(timed) / seconds


def torch_round(case, args, x, y, seed):
    """images/s of the same network in PyTorch over epochs 2..E (fresh model, same process)."""
    import torch
    torch.manual_seed(seed)
    net = torch_net(case, tuple(x.shape[2:]))
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                           weight_decay=0.0)
    lossf = torch.nn.CrossEntropyLoss()
    n, batch = x.shape[0], args.batch[case]
    seconds = 0.0
    for e in range(1, args.epochs[case] + 1):
        g = torch.Generator().manual_seed(seed * 1000003 + e)
        perm = torch.randperm(n, generator=g)
        xs, ys = x[perm].contiguous(), y[perm].contiguous()  # the shuffle: not timed, as in clnn
        t0 = time.perf_counter()
        total = torch.zeros(())
        for first in range(0, n, batch):
            xb, yb = xs[first:first + batch], ys[first:first + batch]
            out = net(xb)
            loss = lossf(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach() * (yb.shape[0] / n)
        mean_loss = float(total)  # the epoch's mean loss on the host, as clnn's train_epoch ends
        dt = time.perf_counter() - t0
        if e >= 2:
            seconds += dt
        if not (mean_loss == mean_loss):
            raise SystemExit("train_vs_torch: PyTorch loss is NaN")
    return n * (args.epochs[case] - 1) / seconds


def side_name(side):
    return "clnn" if side == "clnn" else f"PyTorch x{side[5:]}"


def summarize(vals):
    return min(vals), statistics.median(vals), max(vals)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(REPO, "build"),
                    help="clnn build directory holding digits_cnn and mnist_cnn (default: build)")
    ap.add_argument("--digits", default=os.path.join(REPO, "data", "digits"),
                    help="digits IDX directory (default: data/digits)")
    ap.add_argument("--mnist", default=None, help="MNIST IDX directory (.gz or plain); "
                    "without it the mnist case is skipped")
    ap.add_argument("--mnist-limit", type=int, default=10000,
                    help="train on the first N MNIST images (default 10000; 0: all 60000)")
    ap.add_argument("--case", default="digits,mnist", help="digits, mnist or both (default)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of each side (default 3)")
    ap.add_argument("--digits-epochs", type=int, default=4,
                    help="epochs per digits round, the first untimed (default 4)")
    ap.add_argument("--mnist-epochs", type=int, default=3,
                    help="epochs per mnist round, the first untimed (default 3)")
    cores = os.cpu_count() or 1
    ap.add_argument("--threads", default=f"{cores},1" if cores > 1 else "1",
                    help="PyTorch intra-op thread counts, each a row (default: cores,1)")
    ap.add_argument("--device", default=None, help="clnn device selector (--device of the examples)")
    ap.add_argument("--json", default=None, help="also write the rounds and summary as JSON")
    ap.add_argument("--check-network", action="store_true",
                    help="only check that the examples' networks (layer table, batch size, "
                         "optimizer) are the ones this script trains in PyTorch; exit 1 if not")
    args = ap.parse_args()
    if args.rounds < 1 or args.digits_epochs < 2 or args.mnist_epochs < 2:
        ap.error("--rounds must be >= 1 and the epoch counts >= 2 (the first epoch is not timed)")
    args.epochs = {"digits": args.digits_epochs, "mnist": args.mnist_epochs}
    args.batch = {"digits": 32, "mnist": 64}  # the examples' default --batch

    if args.check_network:
        with tempfile.TemporaryDirectory(prefix="train_vs_torch_") as tmp:
            diffs = [d for c in ("digits", "mnist") for d in check_network(c, args, tmp)]
        for d in diffs:
            print(f"train_vs_torch: {d}", file=sys.stderr)
        print("the examples' networks match this script's" if not diffs else
              f"{len(diffs)} difference(s)")
        sys.exit(1 if diffs else 0)
    cases = [c for c in args.case.split(",") if c]
    for c in cases:
        if c not in ("digits", "mnist"):
            ap.error(f"unknown case {c}")
    if "mnist" in cases and not args.mnist:
        print("train_vs_torch: no --mnist DIR: the mnist case is skipped", file=sys.stderr)
        cases.remove("mnist")
    for c in cases:
        exe = os.path.join(args.build, "digits_cnn" if c == "digits" else "mnist_cnn")
        if not os.access(exe, os.X_OK):
            raise SystemExit(f"train_vs_torch: {exe} not found (build clnn first or pass --build)")

    try:
        threads = [int(t) for t in args.threads.split(",")]
    except ValueError:
        ap.error("--threads takes a comma-separated list of thread counts")
    if not threads or min(threads) < 1:
        ap.error("--threads counts must be >= 1")

    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, str(max(threads)))
    import torch
    torch.set_num_interop_threads(1)
    openblas = find_openblas()
    sides = ["clnn"] + [f"torch{t}" for t in threads]

    results = {"torch": torch.__version__, "threads": threads, "cores": cores,
               "build": os.path.abspath(args.build), "cases": {}}
    with tempfile.TemporaryDirectory(prefix="train_vs_torch_") as tmp:
        for case in cases:
            if case == "digits":
                data_dir = args.digits
                x, y = load_split(data_dir, "train")
            else:
                data_dir = plain_idx_dir(args.mnist, tmp)
                x, y = load_split(data_dir, "train", args.mnist_limit)
            n = x.shape[0]
            rows = {k: [] for s_ in sides for k in (s_, "load_" + s_)}
            print(f"{case}: {n} training images of {tuple(x.shape[1:])}, batch {args.batch[case]}, "
                  f"{args.epochs[case]} epochs per round (first untimed), {args.rounds} rounds",
                  flush=True)
            for r in range(args.rounds):
                line = f"  round {r + 1}:"
                for side in sides:
                    rows["load_" + side].append(os.getloadavg()[0])
                    if side == "clnn":
                        rate = clnn_round(case, args, data_dir, n, tmp)
                    else:
                        torch.set_num_threads(int(side[5:]))
                        if openblas is not None:
                            openblas(int(side[5:]))
                        rate = torch_round(case, args, x, y, seed=1 + r)
                    rows[side].append(rate)
                    line += f"  {side_name(side)} {rate:6.0f} (load {rows['load_' + side][-1]:.2f})"
                print(line, flush=True)
            results["cases"][case] = rows

    print()
    print(f"images/s over {args.rounds} rounds (PyTorch {torch.__version__} with N intra-op "
          f"threads and 1 inter-op thread; {cores} cores); clnn/PyTorch: clnn's median (max) over "
          f"that row's median (max)")
    print(f"{'case':<7} {'side':<11} {'min':>7} {'median':>7} {'max':>7} {'load':>5}   "
          f"{'clnn/PyTorch':>12} {'(max)':>6}")
    for case, rows in results["cases"].items():
        c = summarize(rows["clnn"])
        best_med = 0.0
        for side in sides:
            v = summarize(rows[side])
            ratio = ""
            if side != "clnn":
                rows["ratio_median_" + side], rows["ratio_max_" + side] = c[1] / v[1], c[2] / v[2]
                ratio = f"{c[1] / v[1]:12.2f} {c[2] / v[2]:6.2f}"
                best_med = max(best_med, v[1])
            print(f"{case if side == 'clnn' else '':<7} {side_name(side):<11} {v[0]:7.0f} "
                  f"{v[1]:7.0f} {v[2]:7.0f} {statistics.mean(rows['load_' + side]):5.2f}   {ratio}")
        rows["ratio_median_best_torch"] = c[1] / best_med
        print(f"{'':<7} clnn / fastest PyTorch row (medians): {c[1] / best_med:.2f}")
    print(f"load average now: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
