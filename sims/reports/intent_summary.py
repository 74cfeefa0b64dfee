"""Tables of an `intent_images` sweep: latency (measured vs predicted) and quality per scheme.

Prints one Markdown table per sweep point (users, power) with a row per method:
measured and predicted per-user latency (ms), their ratio, the map and class
streams' air-time ratios, intended-region PSNR and 1 - MS-SSIM, the whole-image
perception proxy, the fraction of streams lost, and the rate sent.

Run: ``python -m sims.reports.intent_summary results/intent_images/results.csv``
"""

from __future__ import annotations

import argparse
import csv
import math
from collections import defaultdict

COLUMNS = [
    ("latency_ms", "T meas. (ms)", 3), ("predicted_ms", "T pred. (ms)", 3), ("latency_gap", "meas./pred.", 2),
    ("map_gap", "map air gap", 2), ("class_gap", "class air gap", 2), ("intended_psnr", "PSNR_I (dB)", 2),
    ("intended_distortion", "1-MS-SSIM_I", 4), ("perception", "perception", 3), ("streams_lost", "lost", 3),
    ("source_rate", "bpp sent", 3),
]  # fmt: skip


def _cell(row: dict, key: str, digits: int) -> str:
    text = row.get(key, "")
    try:
        value = float(text)
    except ValueError:
        return "-"
    return "-" if math.isnan(value) else f"{value:.{digits}f}"


def tables(rows: list[dict]) -> str:
    """Per-scheme means of an intent_images results table, by point."""
    points: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        points[(int(float(row.get("users", 0))), float(row.get("power_mw", "nan")))].append(row)
    out = []
    for (users, power), group in sorted(points.items()):
        out.append(f"\nK = {users}, P_T = {power:g} mW\n")
        out.append("| method | " + " | ".join(label for _, label, _ in COLUMNS) + " |")
        out.append("|---" * (len(COLUMNS) + 1) + "|")
        for row in group:
            out.append(f"| {row['method']} | " + " | ".join(_cell(row, k, d) for k, _, d in COLUMNS) + " |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    """Command line: print the summary tables of an intent_images results.csv."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", help="results.csv of an intent_images sweep")
    args = parser.parse_args(argv)
    with open(args.results, newline="") as handle:
        print(tables(list(csv.DictReader(handle))))


if __name__ == "__main__":
    main()
