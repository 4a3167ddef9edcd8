#!/usr/bin/env python3
"""bench/cl_profile_report.py — per-kernel and per-step costs of a training run recorded by
libclnn-clprofile.so (bench/cl_profile.c):

    CLPROF_OUT=/tmp/p.csv LD_PRELOAD=build/bench/libclnn-clprofile.so build/digits_cnn --epochs 3
    python3 bench/cl_profile_report.py /tmp/p.csv [--skip 5] [--top 25]

Training steps are found in the command stream: a step ends after its optimizer kernels (names
matching --step-end) and the commands that follow them up to the next buffer write (the next
batch's upload). The commonest step (same commands, same global sizes) is the steady-state step;
other segments (the first steps, the epoch's last partial batch, steps merged with an evaluation)
are left out, and so are the first --skip steady-state steps. Over the steps kept it prints:

  * the step's cycle time: device clock from one step's first command START to the next's (the
    rate the training loop runs at, whether the device or the host is the bottleneck: the host
    may run ahead of the device by a step or so, so host enqueue times do not give it);
  * device busy time: the sum of the commands' START..END (device profiling clock);
  * device idle time within the step, split into "host late" (the device had finished the previous
    command before this one was enqueued: the host is the bottleneck) and "dispatch" (the command
    was enqueued in time but started later than the previous one ended: the OpenCL runtime's
    per-command latency), plus the gap between steps (idle before a step's first command);
  * each position in the step (kernel, global size, median microseconds, share of the cycle), so
    a layer can be read off the order (forward layer by layer, loss, backward in reverse,
    optimizer);
  * the kernels summed by name (sums of the positions' medians), largest first.

Medians, not means, throughout: on a shared machine a command now and then takes milliseconds
longer because the runtime's threads were preempted.

The host clock and the device's profiling clock are aligned with the median of (host enqueue
midpoint - QUEUED). The interposer adds a little host time per command (one event and one
clGetKernelInfo), so "host late" is an upper bound.
"""

import argparse
import collections
import csv
import re
import statistics


def load(path):
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            for k in ("seq", "g0", "g1", "g2", "bytes", "host_ns", "host_ret_ns", "queued",
                      "submit", "start", "end"):
                r[k] = int(r[k])
            rows.append(r)
    rows.sort(key=lambda r: r["seq"])
    return rows


def label(r):
    if r["kind"] == "kernel":
        g = [r["g0"], r["g1"], r["g2"]]
        while len(g) > 1 and g[-1] == 1:
            g.pop()
        return f"{r['name']} [{'x'.join(map(str, g))}]"
    return f"{r['kind']} {r['bytes']} B"


def segments(rows, step_end):
    """Lists of rows, each ending before the write that follows an optimizer kernel."""
    segs, cur, seen_opt = [], [], False
    for r in rows:
        if seen_opt and r["kind"] == "write":
            segs.append(cur)
            cur, seen_opt = [], False
        cur.append(r)
        if r["kind"] == "kernel" and step_end.search(r["name"]):
            seen_opt = True
    if cur and seen_opt:
        segs.append(cur)
    return segs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("csv")
    ap.add_argument("--skip", type=int, default=5, help="steady-state steps to skip (default 5)")
    ap.add_argument("--top", type=int, default=25, help="kernels listed by name (default 25)")
    ap.add_argument("--step-end", default=r"adam|sgd|rmsprop|adagrad|optim",
                    help="regex of the optimizer kernels that end a step")
    args = ap.parse_args()
    rows = load(args.csv)
    if not rows:
        raise SystemExit("cl_profile_report: no commands recorded")
    offset = statistics.median((r["host_ns"] + r["host_ret_ns"]) / 2 - r["queued"]
                               for r in rows if r["queued"])
    segs = segments(rows, re.compile(args.step_end))
    if not segs:
        raise SystemExit("cl_profile_report: no training step found (no optimizer kernel)")
    sig = [tuple(label(r) for r in s) for s in segs]
    common, n_common = collections.Counter(sig).most_common(1)[0]
    idx = [i for i, s in enumerate(sig) if s == common]
    kept = idx[args.skip:]
    # the cycle needs the next segment's first enqueue
    kept = [i for i in kept if i + 1 < len(segs)]
    if not kept:
        raise SystemExit(f"cl_profile_report: only {len(idx)} steady-state steps; lower --skip")
    n = len(kept)
    cyc, busy, late, disp, between, enq = [], [], [], [], [], []
    pos_dur = [[] for _ in common]
    pos_gap = [[] for _ in common]
    by_name = collections.defaultdict(float)
    for i in kept:
        s, nxt = segs[i], segs[i + 1]
        cyc.append(nxt[0]["start"] - s[0]["start"])
        b = l_ = d_ = 0
        prev_end = segs[i - 1][-1]["end"] if i > 0 else None
        if prev_end is not None:
            between.append(max(0, s[0]["start"] - prev_end))
        enq.append(sum(r["host_ret_ns"] - r["host_ns"] for r in s))
        for j, r in enumerate(s):
            dur = r["end"] - r["start"]
            b += dur
            pos_dur[j].append(dur)
            if j > 0:
                pe = s[j - 1]["end"]
                q = (r["host_ns"] - offset)  # enqueue start on the device clock
                late_j = max(0, min(r["start"], q) - pe)
                disp_j = max(0, r["start"] - max(pe, q))
                l_ += late_j
                d_ += disp_j
                pos_gap[j].append(late_j + disp_j)
            else:
                pos_gap[j].append(between[-1] if between and prev_end is not None else 0)
        busy.append(b)
        late.append(l_)
        disp.append(d_)
    ms = lambda v: statistics.median(v) / 1e6
    c = ms(cyc)
    for j, r in enumerate(segs[kept[0]]):
        by_name[r["name"] if r["kind"] == "kernel" else r["kind"]] += statistics.median(pos_dur[j])
    print(f"{len(segs)} step segments, {len(idx)} steady-state ({len(common)} commands each), "
          f"{n} kept after --skip {args.skip}")
    print(f"step cycle (device clock, step start to next step start): median {c:.3f} ms, "
          f"min {min(cyc) / 1e6:.3f} ms, mean {statistics.mean(cyc) / 1e6:.3f} ms; all medians below")
    print(f"  device busy (sum of command START..END): {ms(busy):.3f} ms ({100 * ms(busy) / c:.0f}%)")
    print(f"  idle inside the step, host late:          {ms(late):.3f} ms ({100 * ms(late) / c:.0f}%)")
    print(f"  idle inside the step, dispatch latency:   {ms(disp):.3f} ms ({100 * ms(disp) / c:.0f}%)")
    if between:
        print(f"  idle before the step's first command:     {ms(between):.3f} ms "
              f"({100 * ms(between) / c:.0f}%)")
    print(f"  host time inside enqueue calls:           {ms(enq):.3f} ms over {len(common)} calls "
          f"({1e3 * ms(enq) / len(common):.1f} us each)")
    print()
    print(f"{'#':>3} {'command [global size]':<48} {'us':>8} {'gap us':>7} {'% cycle':>7}")
    for j, name in enumerate(common):
        d = statistics.median(pos_dur[j]) / 1e3
        g = statistics.median(pos_gap[j]) / 1e3
        print(f"{j:3d} {name:<48} {d:8.1f} {g:7.1f} {100 * d / (c * 1e3):6.1f}%")
    print()
    print(f"{'kernel / transfer':<36} {'ms/step':>8} {'% cycle':>7}")
    for name, tot in sorted(by_name.items(), key=lambda kv: -kv[1])[: args.top]:
        print(f"{name:<36} {tot / 1e6:8.3f} {100 * tot / 1e6 / c:6.1f}%")


if __name__ == "__main__":
    main()
