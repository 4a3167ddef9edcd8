#!/usr/bin/env python3
"""bench/plot_bench.py — draws clnn-bench's JSON as a PNG: per case and pass, clnn's rate beside
the reference's, against the device's measured peak (FMA for GFLOP/s rows, copy bandwidth for
GB/s rows), one panel per unit.

    python3 bench/plot_bench.py results.json out.png

Uses matplotlib when it is installed; otherwise writes the PNG itself (zlib + a 3x5 pixel font,
standard library only), so `clnn-bench --plot` works on a bare machine."""
import json
import struct
import sys
import zlib


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


# ---------------------------------------------------------------------------------------------
# matplotlib
# ---------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------
# standard-library fallback: a tiny raster with a 3x5 font
# ---------------------------------------------------------------------------------------------

FONT = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111", "3": "111001111001111",
    "4": "101101111001001", "5": "111100111001111", "6": "111100111101111", "7": "111001001010010",
    "8": "111101111101111", "9": "111101111001111", "a": "010101111101101", "b": "110101110101110",
    "c": "011100100100011", "d": "110101101101110", "e": "111100110100111", "f": "111100110100100",
    "g": "011100101101011", "h": "101101111101101", "i": "111010010010111", "j": "001001001101010",
    "k": "101101110101101", "l": "100100100100111", "m": "101111111101101", "n": "110101101101101",
    "o": "010101101101010", "p": "110101110100100", "q": "010101101110011", "r": "110101110101101",
    "s": "011100010001110", "t": "111010010010010", "u": "101101101101111", "v": "101101101101010",
    "w": "101101111111101", "x": "101101010101101", "y": "101101010010010", "z": "111001010100111",
    "_": "000000000000111", "-": "000000111000000", ".": "000000000000010", "%": "101001010100101",
    "/": "001001010100100", ":": "000010000010000", "(": "010100100100010", ")": "010001001001010",
    ",": "000000000010100", "=": "000111000111000", "+": "000010111010000", ">": "100010001010100",
    "<": "001010100010001", " ": "000000000000000", "?": "111001010000010", "[": "110100100100110",
    "]": "011001001001011", "*": "000101010101000", "#": "101111101111101", "'": "010010000000000",
}


class Canvas:
    def __init__(self, w, h):
        self.w, self.h = w, h
        self.px = bytearray(b"\xff" * (w * h * 3))

    def rect(self, x0, y0, x1, y1, rgb):
        x0, x1 = max(0, int(x0)), min(self.w, int(x1))
        y0, y1 = max(0, int(y0)), min(self.h, int(y1))
        if x1 <= x0:
            return
        line = bytes(rgb) * (x1 - x0)
        for y in range(y0, y1):
            o = (y * self.w + x0) * 3
            self.px[o:o + len(line)] = line

    def text(self, x, y, s, rgb=(0, 0, 0), scale=2):
        for ch in s.lower():
            g = FONT.get(ch, FONT["?"])
            for row in range(5):
                for col in range(3):
                    if g[row * 3 + col] == "1":
                        self.rect(x + col * scale, y + row * scale, x + (col + 1) * scale,
                                  y + (row + 1) * scale, rgb)
            x += 4 * scale

    def png(self, path):
        raw = b"".join(b"\x00" + bytes(self.px[y * self.w * 3:(y + 1) * self.w * 3]) for y in range(self.h))

        def chunk(tag, body):
            c = struct.pack(">I", len(body)) + tag + body
            return c + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)

        with open(path, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n")
            f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", self.w, self.h, 8, 2, 0, 0, 0)))
            f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
            f.write(chunk(b"IEND", b""))


def plot_raw(data, out):
    panels = rows_by_unit(data)
    label_w, bar_w, row_h, margin = 380, 760, 26, 16
    width = label_w + bar_w + 140
    height = 60 + sum(50 + row_h * len(rows) for rows in panels.values()) + margin
    cv = Canvas(width, height)
    blue, orange, grey = (52, 101, 164), (245, 121, 0), (90, 90, 90)
    cv.text(margin, 12, title_of(data))
    cv.rect(margin, 32, margin + 14, 40, blue)
    cv.text(margin + 20, 32, "clnn")
    cv.rect(margin + 80, 32, margin + 94, 40, orange)
    cv.text(margin + 100, 32, "reference")
    cv.rect(margin + 210, 30, margin + 212, 42, grey)
    cv.text(margin + 220, 32, "measured peak")
    y = 60
    for unit, rows in panels.items():
        peak = peak_for(data, unit) or 0
        top = max([peak] + [r["rate"] for r in rows] + [r.get("ref_rate") or 0 for r in rows]) or 1
        scale = bar_w / top
        cv.text(margin, y, "%s   (peak %.1f)" % (unit, peak), grey)
        y += 24
        x0 = label_w
        cv.rect(x0 - 1, y - 4, x0, y + row_h * len(rows), grey)
        for r in rows:
            cv.text(margin, y + 6, ("%s %s" % (r["case"], r["pass"]))[:46])
            cv.rect(x0, y + 2, x0 + r["rate"] * scale, y + 11, blue)
            cv.text(x0 + r["rate"] * scale + 4, y + 2, "%.1f" % r["rate"], blue, 1)
            ref = r.get("ref_rate") or 0
            if ref:
                cv.rect(x0, y + 13, x0 + ref * scale, y + 22, orange)
                cv.text(x0 + ref * scale + 4, y + 15, "%.1f" % ref, orange, 1)
            y += row_h
        if peak:
            px = x0 + peak * scale
            cv.rect(px, y - row_h * len(rows) - 6, px + 2, y, grey)
        y += 26
    cv.png(out)


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: plot_bench.py RESULTS.json OUT.png\n")
        return 2
    with open(sys.argv[1]) as f:
        data = json.load(f)
    try:
        import matplotlib  # noqa: F401
        plot_matplotlib(data, sys.argv[2])
    except ImportError:
        plot_raw(data, sys.argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
