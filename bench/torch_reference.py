#!/usr/bin/env python3
"""PyTorch as the reference for clnn-bench: the same cases, shapes and passes, timed with PyTorch
on this machine (CUDA when there is a GPU, else the CPU), written as a clnn-bench reference file.

    python3 bench/torch_reference.py --out torch.ref && build/bench/clnn-bench --reference-file torch.ref

clnn-bench then shows these times in its reference column. The cases mirror the tables of
clnn-bench (gemm_shapes, conv_shapes, lstm_shapes and gru_shapes in bench/bench_gemm.c, bench_conv.c,
bench_lstm.c, bench_gru.c; the memory-bound cases in bench/clnn_bench.c's build_suite): keep them in step. GEMM cases have one row with pass "any" (clnn-bench's
clnn, clblast-tuned and clblast-default passes all do the same GEMM).

Reference file (tab-separated, UTF-8; '#' lines and blank lines are ignored by the reader):
    clnn-bench-reference 1
    name<TAB>torch-cuda
    about<TAB>PyTorch ..., device ...; 20 runs after 5 warm-ups
    <case><TAB><pass><TAB><median_ms><TAB><min_ms>
A '# note' line before a row says where PyTorch does more (or different) work than clnn's pass.

Timing: warm-ups first, then per run CUDA events around the pass and a synchronize after it
(clnn-bench also finishes its queue after every run), or time.perf_counter on the CPU. Tensors
are float32, contiguous, random (fixed seed) and allocated once per case; outputs go into
preallocated tensors where PyTorch has an out= form of the operator. On CUDA cuDNN may pick its
fastest algorithms (cudnn.benchmark) and TF32 is off (clnn computes in full FP32).
Works with PyTorch 1.13 (CPU) and 2.x.

Threads on the CPU. --threads LIST (default: every core, then 1; e.g. --threads 2,1) times each
pass once per thread count, each count with its own warm-ups, and the row keeps the count whose
fastest run was fastest (a '#' line names it, with each count's median); a single count times
just that. Per count: torch.set_num_threads(N) and, where PyTorch calls a pthreads OpenBLAS (as
Debian's does, for torch.mm and the RNN cells' GEMMs), openblas_set_num_threads(N);
torch.set_num_interop_threads(1). Before torch is imported (OpenMP and OpenBLAS read their
environment when they load) OMP_NUM_THREADS, MKL_NUM_THREADS and OPENBLAS_NUM_THREADS are set to
the largest count unless already set; the about line records them. Why: PyTorch's OpenMP
threads and OpenBLAS's own pool busy-wait for each other's cores, and on a loaded machine an
OpenMP barrier waits out whole time slices of a descheduled thread. On the LSTM and GRU cases
(per-step operators and small GEMMs, thousands of parallel regions per pass), at load 7-11 on 2
cores, 2 threads gave medians 1.2-6.1x their minimum and minima up to 20x apart between runs;
one thread was 10-40x faster, its medians within 1.0-1.8x of its minimum, and the default picked
it on all 12 rows (README, Performance, "Which PyTorch, and which statistic"). The file carries the median and the minimum of each pass;
clnn-bench's headline ratio is the ratio of the minima, the medians' ratio beside it.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time


def _thread_counts(argv):
    """The --threads list from the command line, read before argparse runs (the environment must
    be set before torch is imported); parse_args reports a bad value."""
    cores = os.cpu_count() or 1
    for i, a in enumerate(argv):
        v = a.split("=", 1)[1] if a.startswith("--threads=") else (
            argv[i + 1] if a == "--threads" and i + 1 < len(argv) else None)
        if v is not None:
            try:
                counts = [int(t) for t in v.split(",") if t]
            except ValueError:
                return None
            return counts if counts and min(counts) >= 1 else None
    return [cores, 1] if cores > 1 else [1]


_COUNTS = _thread_counts(sys.argv[1:])
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, str(max(_COUNTS or [1])))

import torch  # noqa: E402  (after the thread environment above)
import torch.nn.functional as F

from openblas_threads import find_openblas  # noqa: E402

# ------------------------------------------------------------------------------------------------
# shapes: as in clnn-bench's bench/bench_*.c tables
# ------------------------------------------------------------------------------------------------

# name, transpose A, transpose B, M, N, K, tier
GEMM_SHAPES = [
    ("gemm_nn_1024", False, False, 1024, 1024, 1024, "ci"),
    ("gemm_speech", False, False, 1760, 128, 1760, "ci"),
    ("gemm_speech_nt", False, True, 1760, 128, 1760, "ci"),
    ("gemm_speech_tn", True, False, 1760, 128, 1760, "ci"),
    ("gemm_wide", False, False, 2560, 64, 2560, "ci"),
    ("gemm_3072", False, False, 3072, 128, 1024, "ci"),
    ("gemm_large", False, False, 5124, 9124, 2560, "gpu"),
]

# name, N, C, H, W, K, R, S, stride, pad, groups, tier (NCHW, weight K x C/groups x R x S, no bias)
CONV_SHAPES = [
    ("conv_res3x3_56", 2, 64, 56, 56, 64, 3, 3, 1, 1, 1, "ci"),
    ("conv_res3x3_14", 2, 256, 14, 14, 256, 3, 3, 1, 1, 1, "ci"),
    ("conv_1x1_56", 2, 64, 56, 56, 256, 1, 1, 1, 0, 1, "ci"),
    ("conv_1x1_s2", 2, 256, 56, 56, 128, 1, 1, 2, 0, 1, "ci"),
    ("conv_stem7x7", 2, 3, 224, 224, 64, 7, 7, 2, 3, 1, "ci"),
    ("conv_dw3x3", 2, 144, 56, 56, 144, 3, 3, 1, 1, 144, "ci"),
    ("conv_lenet5x5", 64, 1, 28, 28, 32, 5, 5, 1, 2, 1, "ci"),
    ("conv_res3x3_56_n16", 16, 64, 56, 56, 64, 3, 3, 1, 1, 1, "gpu"),
    ("conv_res3x3_14_n16", 16, 256, 14, 14, 256, 3, 3, 1, 1, 1, "gpu"),
    ("conv_1x1_56_n16", 16, 64, 56, 56, 256, 1, 1, 1, 0, 1, "gpu"),
    ("conv_1x1_s2_n16", 16, 256, 56, 56, 128, 1, 1, 2, 0, 1, "gpu"),
    ("conv_stem7x7_n16", 16, 3, 224, 224, 64, 7, 7, 2, 3, 1, "gpu"),
    ("conv_dw3x3_n16", 16, 144, 56, 56, 144, 3, 3, 1, 1, 144, "gpu"),
    ("conv_vgg3x3_112", 8, 64, 112, 112, 128, 3, 3, 1, 1, 1, "gpu"),
    ("conv_inception5x5", 16, 192, 28, 28, 32, 5, 5, 1, 2, 1, "gpu"),
]

# name, H, I, N, T, tier (one layer, unidirectional, bias, x [T, N, I])
LSTM_SHAPES = [
    ("lstm_256", 256, 256, 16, 150, "ci"),
    ("lstm_512", 512, 512, 16, 25, "ci"),
    ("lstm_1024", 1024, 1024, 64, 25, "gpu"),
    ("lstm_2048", 2048, 2048, 128, 25, "gpu"),
]

GRU_SHAPES = [  # bench/bench_gru.c: the LSTM cases' shapes
    ("gru_256", 256, 256, 16, 150, "ci"),
    ("gru_512", 512, 512, 16, 25, "ci"),
    ("gru_1024", 1024, 1024, 64, 25, "gpu"),
    ("gru_2048", 2048, 2048, 128, 25, "gpu"),
]


class Pass:
    """One timed pass: fn() does the work of clnn-bench's pass of the same name."""

    def __init__(self, name, fn, note=""):
        self.name, self.fn, self.note = name, fn, note


def rand(shape, scale, dev):
    """Uniform in [-scale, scale), like clnn-bench's host_rand."""
    return (torch.rand(shape, device=dev) * 2 - 1) * scale


# ------------------------------------------------------------------------------------------------
# GEMM: C = A B with A [M, K] (stored [K, M] when transposed), B [K, N] (stored [N, K]), beta 0
# ------------------------------------------------------------------------------------------------

def gemm_passes(shape, dev):
    # Timed: one torch.mm into a preallocated C; a transposed operand is a transposed view of
    # its stored matrix, as clnn and BLAS take it.
    _, ta, tb, m, n, k, _ = shape
    a = rand((k, m), 1.0, dev).t() if ta else rand((m, k), 1.0, dev)
    b = rand((n, k), 1.0, dev).t() if tb else rand((k, n), 1.0, dev)
    c = torch.empty((m, n), device=dev)
    return [Pass("any", lambda: torch.mm(a, b, out=c))]


# ------------------------------------------------------------------------------------------------
# convolution
# ------------------------------------------------------------------------------------------------

def conv_passes(shape, dev):
    # Timed, as clnn-bench's passes (dilation 1, no bias, dy fixed random data):
    #   forward          y = conv2d(x, w)
    #   backward-data    dx from dy and w           (torch.nn.grad.conv2d_input)
    #   backward-filter  dw from x and dy           (torch.nn.grad.conv2d_weight)
    #   train-step       the three above, one after the other
    # Both gradient functions are aten.convolution_backward asking for one output only; outputs
    # are allocated by PyTorch (its caching allocator on CUDA).
    _, n, c, h, w_, k, r, s, stride, pad, groups, _ = shape
    x = rand((n, c, h, w_), 1.0, dev)
    w = rand((k, c // groups, r, s), 0.1, dev)
    p = (h + 2 * pad - r) // stride + 1
    q = (w_ + 2 * pad - s) // stride + 1
    dy = rand((n, k, p, q), 1.0, dev)
    grad = torch.nn.grad

    def forward():
        F.conv2d(x, w, None, stride, pad, 1, groups)

    def backward_data():
        grad.conv2d_input(x.shape, w, dy, stride, pad, 1, groups)

    def backward_filter():
        grad.conv2d_weight(x, w.shape, dy, stride, pad, 1, groups)

    def train_step():
        forward()
        backward_data()
        backward_filter()

    return [Pass("forward", forward), Pass("backward-data", backward_data),
            Pass("backward-filter", backward_filter), Pass("train-step", train_step)]


# ------------------------------------------------------------------------------------------------
# pooling
# ------------------------------------------------------------------------------------------------

def maxpool_passes(dev, shape=(2, 64, 112, 112), k=3, st=2, pd=1):
    # pool_max3s2: x [2, 64, 112, 112], max 3x3, stride 2, pad 1; pool_max2_28 / _14 / _8: the
    # examples' 2x2 stride-2 pools (MNIST [64, 32, 28, 28] and [64, 64, 14, 14], digits
    # [32, 32, 8, 8]).
    # Timed: forward          y = max_pool2d(x) (PyTorch may also write int64 indices);
    #        forward-indices  y and the int64 indices (aten.max_pool2d_with_indices; clnn writes
    #                         int32 ones);
    #        backward         dx from dy through the indices of a forward run once outside the
    #                         timed region (aten.max_pool2d_with_indices_backward into a
    #                         preallocated dx): reads dy and the indices, zero-fills dx and
    #                         scatters into it. clnn's "backward" row does the same with its int32
    #                         indices; its "backward-recompute" row (no PyTorch counterpart)
    #                         recomputes the maxima from x.
    k, st, pd = [k, k], [st, st], [pd, pd]
    x = rand(shape, 1.0, dev)
    _, idx = torch.ops.aten.max_pool2d_with_indices(x, k, st, pd)
    dy = rand(idx.shape, 1.0, dev)
    dx = torch.empty_like(x)
    back = torch.ops.aten.max_pool2d_with_indices_backward.grad_input
    return [Pass("forward", lambda: F.max_pool2d(x, k, st, pd),
                 "max_pool2d may also write int64 indices"),
            Pass("forward-indices", lambda: torch.ops.aten.max_pool2d_with_indices(x, k, st, pd),
                 "writes int64 indices (clnn: int32)"),
            Pass("backward", lambda: back(dy, x, k, st, pd, [1, 1], False, idx, grad_input=dx),
                 "reads saved int64 indices (clnn: int32)")]


def avgpool_passes(dev):
    # pool_avg2: x [2, 256, 28, 28], average 2x2, stride 2, no padding.
    # Timed: forward  y = avg_pool2d(x);
    #        backward dx from dy (aten.avg_pool2d_backward into a preallocated dx).
    k, st, pd = [2, 2], [2, 2], [0, 0]
    x = rand((2, 256, 28, 28), 1.0, dev)
    dy = rand((2, 256, 14, 14), 1.0, dev)
    dx = torch.empty_like(x)
    back = torch.ops.aten.avg_pool2d_backward.grad_input
    return [Pass("forward", lambda: F.avg_pool2d(x, k, st, pd, False, False)),
            Pass("backward", lambda: back(dy, x, k, st, pd, False, False, None, grad_input=dx))]


# ------------------------------------------------------------------------------------------------
# LSTM
# ------------------------------------------------------------------------------------------------

def lstm_passes(shape, dev):
    # One layer, x [T, N, I], h0 = c0 = 0, gates i, f, g, o, bias on. Timed:
    #   forward     y, (h_n, c_n) = lstm(x) with autograd recording (clnn's forward also keeps
    #               what backward needs, its reserve; cuDNN writes its own reserve)
    #   backward    dx, dW_ih, dW_hh, dbias from dy (no dh_n, dc_n; no dh0, dc0), by
    #               autograd.grad over the retained graph of one forward run untimed
    #   train-step  forward + backward
    # PyTorch has two bias vectors: b_ih holds clnn's bias, b_hh is zero and gets no gradient.
    # On the CPU PyTorch's LSTM is made of per-step operators and autograd runs backward through
    # each of them (more operator calls than clnn's per-step GEMM + fused gate kernel).
    _, hid, inp, n, t, _ = shape
    lstm = torch.nn.LSTM(inp, hid).to(dev)
    scale = hid ** -0.5
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(rand((4 * hid, inp), scale, dev))
        lstm.weight_hh_l0.copy_(rand((4 * hid, hid), scale, dev))
        lstm.bias_ih_l0.copy_(rand(4 * hid, 0.1, dev))
        lstm.bias_hh_l0.zero_()
    lstm.bias_hh_l0.requires_grad_(False)
    x = rand((t, n, inp), 1.0, dev).requires_grad_()
    dy = rand((t, n, hid), 1.0, dev)
    wrt = (x, lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0)

    def forward():
        with torch.enable_grad():
            return lstm(x)[0]

    graph = forward()

    def backward():
        torch.autograd.grad(graph, wrt, dy, retain_graph=True)

    def train_step():
        torch.autograd.grad(forward(), wrt, dy)

    note = "autograd bookkeeping" + (", per-step operators on the CPU" if dev.type == "cpu" else "")
    return [Pass("forward", forward, note), Pass("backward", backward, note),
            Pass("train-step", train_step, note)]


# ------------------------------------------------------------------------------------------------
# GRU
# ------------------------------------------------------------------------------------------------

def gru_passes(shape, dev):
    # One layer, x [T, N, I], h0 = 0, gates r, z, n, both biases on (the same equations as
    # clnn_gru_forward). Timed as lstm_passes: forward with autograd recording, backward (dx,
    # dW_ih, dW_hh, db_ih, db_hh from dy) over a retained graph, and train-step.
    _, hid, inp, n, t, _ = shape
    gru = torch.nn.GRU(inp, hid).to(dev)
    scale = hid ** -0.5
    with torch.no_grad():
        gru.weight_ih_l0.copy_(rand((3 * hid, inp), scale, dev))
        gru.weight_hh_l0.copy_(rand((3 * hid, hid), scale, dev))
        gru.bias_ih_l0.copy_(rand(3 * hid, 0.1, dev))
        gru.bias_hh_l0.copy_(rand(3 * hid, 0.1, dev))
    x = rand((t, n, inp), 1.0, dev).requires_grad_()
    dy = rand((t, n, hid), 1.0, dev)
    wrt = (x, gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0)

    def forward():
        with torch.enable_grad():
            return gru(x)[0]

    graph = forward()

    def backward():
        torch.autograd.grad(graph, wrt, dy, retain_graph=True)

    def train_step():
        torch.autograd.grad(forward(), wrt, dy)

    note = "autograd bookkeeping" + (", per-step operators on the CPU" if dev.type == "cpu" else "")
    return [Pass("forward", forward, note), Pass("backward", backward, note),
            Pass("train-step", train_step, note)]


# ------------------------------------------------------------------------------------------------
# softmax cross-entropy, Adam, ReLU backward
# ------------------------------------------------------------------------------------------------

def softmax_xent_passes(dev):
    # softmax_xent: logits [128, 1000] (uniform in [-3, 3)), labels i * 7919 % 1000.
    # Timed: the mean cross-entropy loss and its gradient dlogits, by the operators that
    # F.cross_entropy and its backward run (without autograd): log_softmax, nll_loss forward,
    # nll_loss backward, log_softmax backward. clnn does this in one fused pass; PyTorch also
    # writes and reads back the log-probabilities and a one-hot gradient [128, 1000].
    # PyTorch's labels are int64 (clnn's int32).
    n, c = 128, 1000
    logits = rand((n, c), 3.0, dev)
    labels = torch.tensor([i * 7919 % c for i in range(n)], dtype=torch.int64, device=dev)
    one = torch.ones((), device=dev)
    aten = torch.ops.aten
    mean, no_ignore = 1, -100

    def step():
        logp = aten._log_softmax(logits, 1, False)
        _, total = aten.nll_loss_forward(logp, labels, None, mean, no_ignore)
        dlogp = aten.nll_loss_backward(one, logp, labels, None, mean, no_ignore, total)
        aten._log_softmax_backward_data(dlogp, logp, 1, torch.float32)

    note = "4 operators: log-probabilities and a one-hot gradient go through memory"
    return [Pass("forward+backward", step, note)]


def adam_passes(dev):
    # adam_25M: one torch.optim.Adam step over 25,000,000 parameters (lr 1e-3, betas 0.9/0.999,
    # eps 1e-8, no weight decay); param and grad hold the same random data, m and v start at 0.
    # Timed: optimizer.step(). The fused implementation where this PyTorch has one for the
    # device (one pass, like clnn); otherwise PyTorch's default, a sequence of elementwise
    # operators with temporaries: several passes over memory where clnn makes one.
    n = 25_000_000
    p = rand(n, 0.01, dev)
    p.grad = p.clone()
    hyper = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)
    try:
        opt = torch.optim.Adam([p], fused=True, **hyper)
        note = "torch.optim.Adam fused"
    except (RuntimeError, TypeError, ValueError):
        opt = torch.optim.Adam([p], **hyper)
        note = "torch.optim.Adam not fused: several elementwise passes with temporaries"
    return [Pass("step", opt.step, note)]


def relu_passes(dev):
    # relu_bwd_64M: dx = dy where x > 0, else 0, over 64M floats (x and dy the same random data).
    # Timed: aten.threshold_backward(dy, x, 0) into a preallocated dx (reads x, dy; writes dx).
    n = 64 << 20
    x = rand(n, 1.0, dev)
    dy = x.clone()
    dx = torch.empty_like(x)
    back = torch.ops.aten.threshold_backward.grad_input
    return [Pass("backward", lambda: back(dy, x, 0.0, grad_input=dx))]


# ------------------------------------------------------------------------------------------------
# attention, layer norm, embedding (bench/bench_seq.c)
# ------------------------------------------------------------------------------------------------

ATTN_SHAPES = [  # name, B, T, D, heads, tier
    ("attn_T256_h4", 4, 256, 256, 4, "ci"),
    ("attn_T512_h8", 2, 512, 256, 8, "ci"),
    ("attn_T1024_h8", 1, 1024, 256, 8, "ci"),
]


def attention_passes(shape, dev):
    # Causal scaled dot-product attention, q = k = v = dout the same random [B, T, D] data in
    # clnn's BTHD layout (heads side by side). This PyTorch (1.13) has no fused
    # scaled_dot_product_attention, so it is what people wrote: view as [B, H, T, Dh],
    # scores = q k^T / sqrt(Dh) + causal mask, softmax, weights v, back to [B, T, D]; the
    # [B, H, T, T] scores are kept for backward (clnn keeps only the row log-sum-exp).
    #   forward   the output, with autograd recording
    #   backward  dq, dk, dv from dout by autograd.grad over the retained graph
    _, b, t, d, h, _ = shape
    x = rand((b, t, d), 1.0, dev)
    q, k, v = (x.clone().requires_grad_() for _ in range(3))
    dout = x.clone()
    mask = torch.triu(torch.full((t, t), float("-inf"), device=dev), 1)
    dh = d // h

    def forward():
        with torch.enable_grad():
            qh, kh, vh = (z.view(b, t, h, dh).transpose(1, 2) for z in (q, k, v))
            w = torch.softmax(qh @ kh.transpose(-1, -2) * dh ** -0.5 + mask, dim=-1)
            return (w @ vh).transpose(1, 2).reshape(b, t, d)

    graph = forward()

    def backward():
        torch.autograd.grad(graph, (q, k, v), dout, retain_graph=True)

    note = "unfused: [B, H, T, T] scores and weights in memory"
    return [Pass("forward", forward, note), Pass("backward", backward, note)]


def layernorm_passes(dev):
    # layernorm_8192x256: F.layer_norm over the last dim of [8192, 256] with weight and bias.
    #   forward   the output, with autograd recording; backward  dx, dweight, dbias by autograd
    x = rand((8192, 256), 1.0, dev).requires_grad_()
    w = rand(256, 1.0, dev).requires_grad_()
    bias = w.detach().clone().requires_grad_()
    dy = x.detach().clone()

    def forward():
        with torch.enable_grad():
            return torch.nn.functional.layer_norm(x, (256,), w, bias, 1e-5)

    graph = forward()

    def backward():
        torch.autograd.grad(graph, (x, w, bias), dy, retain_graph=True)

    return [Pass("forward", forward), Pass("backward", backward)]


def embedding_passes(dev):
    # embedding_32k_256: 8192 ids (i * 7919 % 32768) into a [32768, 256] table.
    #   forward   F.embedding (autograd recording)
    #   backward  the dense table gradient by autograd (embedding_dense_backward)
    table = rand((32768, 256), 1.0, dev).requires_grad_()
    ids = torch.tensor([i * 7919 % 32768 for i in range(8192)], dtype=torch.int64, device=dev)
    dy = rand((8192, 256), 1.0, dev)

    def forward():
        with torch.enable_grad():
            return torch.nn.functional.embedding(ids, table)

    graph = forward()

    def backward():
        torch.autograd.grad(graph, (table,), dy, retain_graph=True)

    return [Pass("forward", forward), Pass("backward", backward)]


# ------------------------------------------------------------------------------------------------
# the suite: clnn-bench's order
# ------------------------------------------------------------------------------------------------

class Case:
    def __init__(self, name, tier, passes, build):
        self.name, self.tier, self.passes, self.build = name, tier, passes, build


def suite():
    cases = [Case(s[0], s[-1], ["any"], lambda dev, s=s: gemm_passes(s, dev)) for s in GEMM_SHAPES]
    conv = ["forward", "backward-data", "backward-filter", "train-step"]
    cases += [Case(s[0], s[-1], conv, lambda dev, s=s: conv_passes(s, dev)) for s in CONV_SHAPES]
    cases.append(Case("pool_max3s2", "ci", ["forward", "forward-indices", "backward"],
                      maxpool_passes))
    cases.append(Case("pool_avg2", "ci", ["forward", "backward"], avgpool_passes))
    for name, shape in (("pool_max2_28", (64, 32, 28, 28)), ("pool_max2_14", (64, 64, 14, 14)),
                        ("pool_max2_8", (32, 32, 8, 8))):
        cases.append(Case(name, "ci", ["forward", "forward-indices", "backward"],
                          lambda dev, shape=shape: maxpool_passes(dev, shape, 2, 2, 0)))
    lstm = ["forward", "backward", "train-step"]
    cases += [Case(s[0], s[-1], lstm, lambda dev, s=s: lstm_passes(s, dev)) for s in LSTM_SHAPES]
    cases += [Case(s[0], s[-1], lstm, lambda dev, s=s: gru_passes(s, dev)) for s in GRU_SHAPES]
    cases.append(Case("softmax_xent", "ci", ["forward+backward"], softmax_xent_passes))
    cases.append(Case("adam_25M", "ci", ["step"], adam_passes))
    cases.append(Case("relu_bwd_64M", "ci", ["backward"], relu_passes))
    cases += [Case(s[0], s[-1], ["forward", "backward"], lambda dev, s=s: attention_passes(s, dev))
              for s in ATTN_SHAPES]
    cases.append(Case("layernorm_8192x256", "ci", ["forward", "backward"], layernorm_passes))
    cases.append(Case("embedding_32k_256", "ci", ["forward", "backward"], embedding_passes))
    return cases


# ------------------------------------------------------------------------------------------------
# timing, output
# ------------------------------------------------------------------------------------------------

def time_pass(fn, dev, runs, warmup):
    """Median and minimum ms of `runs` runs of fn after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    if dev.type == "cuda":
        torch.cuda.synchronize()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        for _ in range(runs):
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
    else:
        for _ in range(runs):
            t0 = time.perf_counter()
            fn()
            times.append(1e3 * (time.perf_counter() - t0))
    return statistics.median(times), min(times)


openblas = find_openblas()


def set_threads(n):
    torch.set_num_threads(n)
    if openblas is not None:
        openblas(n)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def plural(n, word):
    return f"{n} {word}" + ("" if n == 1 else "s")


def describe(dev, args):
    runs = f"{plural(args.runs, 'run')} after {plural(args.warmup, 'warm-up')}"
    if dev.type == "cuda":
        return (f"PyTorch {torch.__version__}, CUDA {torch.version.cuda}, "
                f"cuDNN {torch.backends.cudnn.version()}, {torch.cuda.get_device_name(dev)}; "
                f"cudnn.benchmark, no TF32; {runs}")
    counts = ",".join(map(str, args.threads))
    threads = (f"{plural(args.threads[0], 'thread')}" if len(args.threads) == 1 else
               f"the faster of {counts} threads per pass")
    env = " ".join(f"{v}={os.environ.get(v, '-')}" for v in
                   ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"))
    blas = "" if openblas is None else ", OpenBLAS threads set with them"
    return (f"PyTorch {torch.__version__}, CPU {cpu_model()}, {threads} (torch.set_num_threads"
            f"{blas}), {torch.get_num_interop_threads()} inter-op, {env}; {runs}")


def write_reference(f, name, about, rows, failed):
    f.write("clnn-bench-reference 1\n")
    f.write(f"# written by bench/torch_reference.py: {' '.join(sys.argv[1:])}\n")
    f.write(f"name\t{name}\n")
    f.write(f"about\t{about}\n")
    for r in rows:
        if r["note"]:
            f.write(f"# {r['case']} {r['pass']}: {r['note']}\n")
        f.write(f"{r['case']}\t{r['pass']}\t{r['median_ms']:.6f}\t{r['min_ms']:.6f}\n")
    for case, error in failed:
        f.write(f"# {case}: failed in PyTorch: {error}\n")


def fail(msg):
    print(f"torch_reference.py: {msg}", file=sys.stderr)
    sys.exit(2)


def parse_args():
    ap = argparse.ArgumentParser(description="Time clnn-bench's cases with PyTorch and write a "
                                             "reference file for clnn-bench --reference-file.")
    ap.add_argument("--tier", choices=["ci", "gpu"], default="ci",
                    help="ci: the ci cases; gpu: all cases (default ci)")
    ap.add_argument("--case", action="append", default=[], metavar="NAME[,NAME...]",
                    help="only these cases, whatever their tier (repeatable)")
    ap.add_argument("--device", choices=["auto", "cuda", "cpu"], default="auto",
                    help="auto: cuda when available, else cpu")
    ap.add_argument("--runs", type=int, default=20, help="timed runs per pass (default 20)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed runs first (default 5)")
    ap.add_argument("--threads", default=None, metavar="N[,N...]",
                    help="CPU thread counts; each pass is timed with each and keeps the fastest "
                         "(default: every core, then 1)")
    ap.add_argument("--out", metavar="FILE", help="the reference file (default stdout)")
    ap.add_argument("--json", metavar="FILE", help="the same data as JSON")
    ap.add_argument("--list", action="store_true", help="list the selected cases and exit")
    args = ap.parse_args()  # exits with status 2 on a bad option
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    if args.warmup < 0:
        ap.error("--warmup must be at least 0")
    if _COUNTS is None:
        ap.error("--threads takes thread counts >= 1, comma-separated")
    args.threads = _COUNTS
    return args


def select(cases, args):
    names = [n for arg in args.case for n in arg.split(",") if n]
    if not names:
        return [c for c in cases if c.tier == "ci" or args.tier == "gpu"]
    known = {c.name for c in cases}
    unknown = [n for n in names if n not in known]
    if unknown:
        fail(f"unknown case {', '.join(unknown)} (--list --tier gpu shows them all)")
    return [c for c in cases if c.name in names]


def pick_device(choice):
    if choice == "cuda" and not torch.cuda.is_available():
        fail("--device cuda: this PyTorch sees no CUDA device")
    if choice == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda")


def main():
    args = parse_args()
    cases = select(suite(), args)
    if args.list:
        for c in cases:
            print(f"{c.name:<20} tier {c.tier:<4} {' '.join(c.passes)}")
        return
    dev = pick_device(args.device)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    else:
        set_threads(args.threads[0])
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # already set, or inter-op work already started: keep what it has
            pass
    name = f"torch-{dev.type}"
    about = describe(dev, args)
    print(f"torch_reference.py: {about}", file=sys.stderr)

    rows, failed = [], []
    total = sum(len(c.passes) for c in cases)
    with torch.no_grad():
        for c in cases:
            torch.manual_seed(0)
            try:
                for p in c.build(dev):
                    # one timing per thread count (CPU); the row keeps the fastest minimum
                    per = []
                    for t in (args.threads if dev.type == "cpu" else [None]):
                        if t is not None:
                            set_threads(t)
                        med, mn = time_pass(p.fn, dev, args.runs, args.warmup)
                        per.append({"threads": t, "median_ms": med, "min_ms": mn})
                    best = min(per, key=lambda r: r["min_ms"])
                    med, mn, note = best["median_ms"], best["min_ms"], p.note
                    if len(per) > 1:
                        each = ", ".join(f"{r['threads']}: {r['median_ms']:.3f}" for r in per)
                        note = (f"{note}; " if note else "") + (
                            f"fastest with {plural(best['threads'], 'thread')} (median ms by "
                            f"threads {each})")
                    rows.append({"case": c.name, "pass": p.name, "median_ms": med, "min_ms": mn,
                                 "threads": best["threads"], "by_threads": per, "note": note})
                    threads = "" if best["threads"] is None else f", {best['threads']} thr"
                    print(f"[{len(rows)}/{total}] {c.name:<18} {p.name:<16} {med:10.3f} ms"
                          f"  (min {mn:.3f}{threads})", file=sys.stderr)
            except Exception as e:  # a case PyTorch cannot run is skipped, not fatal
                error = " ".join(str(e).split())[:200]
                failed.append((c.name, error))
                print(f"torch_reference.py: {c.name}: failed, skipped: {error}", file=sys.stderr)
            if dev.type == "cuda":
                torch.cuda.empty_cache()

    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            write_reference(f, name, about, rows, failed)
    else:
        write_reference(sys.stdout, name, about, rows, failed)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"format": "clnn-bench-reference", "version": 1, "name": name, "about": about,
                       "device": dev.type, "torch": torch.__version__, "runs": args.runs,
                       "warmup": args.warmup, "rows": rows,
                       "failed": [{"case": c, "error": e} for c, e in failed]}, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
