"""Fig. 9 of Grassucci et al. (seed 004, Sec. V-G): how low can N/M go? Ours next to the paper's.

The paper reports for its null-space receiver (CelebA-HQ 256 x 256, K = 2, M = 256)
SSIM 0.8 at N/M = 0.4 (102 of 256 subcarriers), 0.66 at N/M = 0.2 (51 of 256), and
a sharp drop at 0.1 (26 subcarriers); other points are read off its curve only,
so they are not printed. This report prints, per N/M of a `nullspace_lowest` or
`nullspace_paper_lowest` sweep, the SSIM of every method, the paper's value
where it states one, and the null-space receiver's drop from the previous N/M.

Run: ``gscsim report nullspace_lowest results/nullspace_lowest/results.csv [--method nullspace]``
"""

from __future__ import annotations

import argparse
import math

from .nullspace_tables import means, read_rows

#: N/M -> SSIM the paper states in the text of Sec. V-G.
PAPER_SSIM = {0.4: 0.8, 0.2: 0.66}


def table(rows: list[dict], method: str = "nullspace") -> str:
    """The Markdown table: N/M, subcarriers, every method's SSIM, the paper's, the drop."""
    ssim = means(rows)["ssim"]
    methods = list(dict.fromkeys(row["method"] for row in rows))
    if method not in methods:
        raise ValueError(f"--method {method!r}: the results hold {', '.join(methods)}")
    subcarriers = {}
    for row in rows:
        subcarriers[float(row["nm_ratio"])] = (row.get("n_subcarriers", ""), row.get("m_entries", ""))
    points = sorted(ssim, key=lambda p: -p[0])
    lines = [
        "| N/M | N of M | " + " | ".join(methods) + f" | paper ({method}) | {method}: drop |",
        "|" + " --- |" * (len(methods) + 4),
    ]
    previous = math.nan
    for p in points:
        nm = p[0]
        n, m = subcarriers.get(nm, ("", ""))
        ours = ssim[p].get(method, math.nan)
        paper = PAPER_SSIM.get(round(nm, 2))
        cells = " | ".join(f"{ssim[p].get(k, math.nan):.3f}" for k in methods)
        drop = "-" if math.isnan(previous) else f"{previous - ours:+.3f}"
        lines.append(f"| {nm:.2f} | {n} of {m} | {cells} | {paper if paper is not None else '-'} | {drop} |")
        previous = ours
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Command line: print the Fig. 9 table of one results.csv."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", help="results.csv of a nullspace_lowest sweep")
    parser.add_argument("--method", default="nullspace", help="the method the paper's numbers are set beside")
    args = parser.parse_args(argv)
    print(table(read_rows(args.results), args.method))


if __name__ == "__main__":
    main()
