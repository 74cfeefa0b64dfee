"""Tables of a null-space study: every method at every point, in every image metric.

One Markdown table per metric (PSNR, SSIM, MS-SSIM, mIoU, fd_seg, whichever the
results have): a row per method, a column per sweep point (N/M and/or SNR),
cells the mean over images (and seeds). A last line per point names the
method that is best in most metrics there, so the paper's claim ("the proposed
method far exceeds any other method according to all metrics", seed 004, Figs.
5, 7, 8) can be checked point by point.

Run: ``gscsim report nullspace_tables results/nullspace_fill/results.csv [--compact]``
(``--compact``: one table, cells PSNR / SSIM / MS-SSIM / mIoU.)
"""

from __future__ import annotations

import argparse
import csv
import math
from collections import defaultdict

#: Metric column -> (label, higher is better).
METRICS = {
    "psnr": ("PSNR (dB)", True), "ssim": ("SSIM", True), "ms_ssim": ("MS-SSIM", True),
    "ms_ssim_2": ("MS-SSIM (2 scales)", True), "ms_ssim_3": ("MS-SSIM (3 scales)", True),
    "ms_ssim_4": ("MS-SSIM (4 scales)", True), "miou": ("mIoU (segmenter)", True),
    "fd_seg": ("fd_seg (lower is better)", False),
}  # fmt: skip
AXES = ("nm_ratio", "snr_db")


def _number(text: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def point_of(row: dict) -> tuple:
    """(N/M, SNR) of a row; a method-level SNR is read from its column when swept, else blank."""
    return tuple(_number(row.get(axis, "")) for axis in AXES)


def _fmt(value: float, digits: int = 3) -> str:
    """A cell: '-' for no value, and no '-0.000' from rounding noise."""
    if math.isnan(value):
        return "-"
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _label(point: tuple) -> str:
    parts = []
    for axis, value in zip(AXES, point):
        if not math.isnan(value):
            parts.append(f"N/M {value:.2f}" if axis == "nm_ratio" else f"{value:g} dB")
    return ", ".join(parts) or "-"


def means(rows: list[dict]) -> dict[str, dict[tuple, dict[str, float]]]:
    """metric -> point -> method -> mean over seeds (weighted by the images each row holds)."""
    sums: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(lambda: [0.0, 0])))
    for row in rows:
        for metric in METRICS:
            value = _number(row.get(metric, ""))
            if math.isnan(value):
                continue
            n = int(_number(row.get(f"{metric}_n", "1")) or 1)
            cell = sums[metric][point_of(row)][row["method"]]
            cell[0] += value * n
            cell[1] += n
    return {m: {p: {k: s / n for k, (s, n) in by.items()} for p, by in pts.items()} for m, pts in sums.items()}


def tables(rows: list[dict]) -> str:
    """The Markdown tables of a results file."""
    table = means(rows)
    methods = list(dict.fromkeys(row["method"] for row in rows))
    out, wins = [], defaultdict(lambda: defaultdict(int))
    for metric, (label, higher) in METRICS.items():
        if metric not in table:
            continue
        points = sorted(table[metric], key=lambda p: (0 if math.isnan(p[0]) else -p[0], 0 if math.isnan(p[1]) else p[1]))
        out.append(f"\n**{label}**\n")
        out.append("| method | " + " | ".join(_label(p) for p in points) + " |")
        out.append("|" + " --- |" * (len(points) + 1))
        for method in methods:
            cells = [table[metric][p].get(method, math.nan) for p in points]
            out.append(f"| {method} | " + " | ".join(_fmt(c) for c in cells) + " |")
        for p in points:
            scores = table[metric][p]
            best = (max if higher else min)(scores, key=scores.get)
            wins[p][best] += 1
    out.append("\n**Best in most metrics**: " + "; ".join(
        f"{_label(p)}: {max(w, key=w.get)} ({w[max(w, key=w.get)]} of {sum(w.values())})" for p, w in wins.items()
    ))  # fmt: skip
    return "\n".join(out)


def read_rows(path: str) -> list[dict]:
    """The rows of a results.csv."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def compact(rows: list[dict], metrics: tuple[str, ...] = ("psnr", "ssim", "ms_ssim_2", "miou")) -> str:
    """One table: a row per method, a column per point, cells ``metric / metric / ...``."""
    table = means(rows)
    present = [m for m in metrics if m in table]
    methods = list(dict.fromkeys(row["method"] for row in rows))
    points = sorted(table[present[0]], key=lambda p: (0 if math.isnan(p[0]) else -p[0], 0 if math.isnan(p[1]) else p[1]))
    digits = {"psnr": 1}
    out = [f"cells: {' / '.join(present)}", "", "| method | " + " | ".join(_label(p) for p in points) + " |",
           "|" + " --- |" * (len(points) + 1)]  # fmt: skip
    for method in methods:
        cells = []
        for p in points:
            values = [table[m].get(p, {}).get(method, math.nan) for m in present]
            cells.append(" / ".join(_fmt(v, digits.get(m, 3)) for m, v in zip(present, values)))
        out.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    """Command line: print the tables of one results.csv."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", help="results.csv of a nullspace_* sweep")
    parser.add_argument("--compact", action="store_true", help="one table, cells PSNR / SSIM / MS-SSIM / mIoU")
    args = parser.parse_args(argv)
    rows = read_rows(args.results)
    print(compact(rows) if args.compact else tables(rows))


if __name__ == "__main__":
    main()
