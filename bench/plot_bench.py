#!/usr/bin/env python3
"""bench/plot_bench.py — draws clnn-bench's JSON as a PNG: per case and pass, clnn's rate beside
the reference's, against the device's measured peak (FMA for GFLOP/s rows, copy bandwidth for
GB/s rows), one panel per unit.

    python3 bench/plot_bench.py results.json out.png

Needs matplotlib (Debian: python3-matplotlib, which tools/install-deps.sh installs; or pip install
matplotlib)."""
import json
import sys


def rows_by_unit(data):
    panels = {}
    for r in data["results"]:
        if not r.get("rate"):
            continue
        panels.setdefault(r["unit"], []).append(r)
    return panels


def peak_for(data, unit):
    p = data.get("peak", {})
    return p.get("copy_gbs") if unit == "GB/s" else p.get("fma_gflops")


def title_of(data):
    return "clnn-bench %s: %s (%s)" % (data.get("clnn_version", ""), data.get("device", "?"),
                                       data.get("platform", "?"))


def plot_matplotlib(data, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = rows_by_unit(data)
    heights = [max(2.0, 0.32 * len(rows) + 1.2) for rows in panels.values()]
    fig, axes = plt.subplots(len(panels), 1, figsize=(12, sum(heights) + 0.8),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    for ax, (unit, rows) in zip(axes[:, 0], panels.items()):
        labels = ["%s  %s" % (r["case"], r["pass"]) for r in rows]
        y = list(range(len(rows)))
        ax.barh([v - 0.2 for v in y], [r["rate"] for r in rows], height=0.4, label="clnn", color="#3465a4")
        refs = [r.get("ref_rate") or 0 for r in rows]
        ax.barh([v + 0.2 for v in y], refs, height=0.4, label="reference", color="#f57900")
        peak = peak_for(data, unit)
        if peak:
            ax.axvline(peak, color="#555555", linestyle="--",
                       label="measured peak %.1f %s" % (peak, unit))
        ax.set_yticks(y)
        ax.set_yticklabels(labels, fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel(unit)
        ax.legend(fontsize=7, loc="lower right")
    axes[0, 0].set_title(title_of(data), fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=100)


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: plot_bench.py RESULTS.json OUT.png\n")
        return 2
    with open(sys.argv[1]) as f:
        data = json.load(f)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        sys.stderr.write("plot_bench.py: matplotlib is not installed for %s (Debian: apt-get install "
                         "python3-matplotlib; or pip install matplotlib)\n" % sys.executable)
        return 1
    plot_matplotlib(data, sys.argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
