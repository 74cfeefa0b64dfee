"""Does intent-aware multicasting beat NGM on gscsim's link? Tables and the figure of `intent_link.toml`.

Reads the results of ``sims/configs/intent_link.toml`` (and its second-setting twin),
whose methods are named ``<scheme>_<planning>[_worst][_overlap]``: scheme proposed / ngm /
fgm, planning ``a`` (the paper's Shannon optimiser) or ``b`` (the link-aware planner),
``_worst`` one MCS per stream instead of the rateless IR multicast, ``_overlap`` the
"chain" intents. NGM and FGM send one stream at P_T, so their measured latency is the
same under (a) and (b) (same draws): their ``_b`` rows serve both.

Prints, per results file: the mean per-user latency measured on the air per scheme and
the proposed scheme's reduction against NGM under (a), under (b), and in the Shannon
model for the same drops (``shannon_ms``), beside the paper's (Section III-C, Fig. 5:
16.7% at K = 5, 15.4% at K = 10, P_T = 100 mW); then the planning accuracy per method
(measured / predicted latency, per stream kind, and streams lost). ``--figure PATH``
draws measured per-user latency vs P_T (one panel per K) for the three schemes under
(a) and (b), with the Shannon model's curves dashed.

Run: ``gscsim report intent_link results/intent_link/results.csv [more.csv] [--figure F.png]``
"""

from __future__ import annotations

import argparse
import math
from collections import defaultdict

from .nullspace_tables import read_rows

#: Fig. 5 of the paper: proposed vs NGM per-user latency reduction at P_T = 100 mW.
PAPER_REDUCTION = {(5, 100.0): 0.167, (10, 100.0): 0.154}


def _mean(rows: list[dict], key: str) -> float:
    """Mean of a metric over rows, weighted by each row's count (``<key>_n``)."""
    total, n = 0.0, 0
    for r in rows:
        try:
            v, c = float(r.get(key, "nan")), int(float(r.get(f"{key}_n", 1) or 1))
        except ValueError:
            continue
        if not math.isnan(v):
            total, n = total + v * c, n + c
    return total / n if n else math.nan


def by_point(rows: list[dict]) -> dict[tuple[int, float], dict[str, list[dict]]]:
    """{(K, P_T mW): {method: [rows]}}."""
    out: dict = defaultdict(lambda: defaultdict(list))
    for r in rows:
        out[(int(float(r["users"])), float(r["power_mw"]))][r["method"]].append(r)
    return out


def _fmt(v: float, digits: int = 3) -> str:
    return "-" if v is None or math.isnan(v) else f"{v:.{digits}f}"


def _pct(v: float) -> str:
    return "-" if v is None or math.isnan(v) else f"{100 * v:+.1f}%"


def reduction(proposed: float, ngm: float) -> float:
    """1 - T_proposed / T_NGM: positive when the proposed scheme is faster."""
    return 1 - proposed / ngm if ngm and not math.isnan(ngm) else math.nan


def latency_table(rows: list[dict], suffix: str = "") -> str:
    """Measured mean per-user latency (ms) and the reductions vs NGM, a row per (K, P_T)."""
    points = by_point(rows)
    head = ("| K | P_T (mW) | proposed (a) | proposed (b) | NGM | FGM | vs NGM (a) | vs NGM (b) | "
            "Shannon model | paper | proposed (b, worst) | NGM (worst) | vs NGM (worst) |")  # fmt: skip
    out = [head, "|" + " --- |" * 13]
    for (K, P), methods in sorted(points.items()):
        m = {name: _mean(methods.get(name, []), "latency_ms") for name in methods}
        get = lambda name: m.get(name, math.nan)  # noqa: E731
        pa, pb = get(f"proposed_a{suffix}"), get(f"proposed_b{suffix}")
        ngm, fgm = get("ngm_b"), get("fgm_b")
        shannon = reduction(_mean(methods.get(f"proposed_b{suffix}", []), "shannon_ms"),
                            _mean(methods.get("ngm_b", []), "shannon_ms"))  # fmt: skip
        worst, ngm_worst = get(f"proposed_b_worst{suffix}"), get("ngm_b_worst")
        paper = PAPER_REDUCTION.get((K, P)) if not suffix else None
        out.append(
            f"| {K} | {P:g} | {_fmt(pa)} | {_fmt(pb)} | {_fmt(ngm)} | {_fmt(fgm)} | {_pct(reduction(pa, ngm))} | "
            f"{_pct(reduction(pb, ngm))} | {_pct(shannon)} | {_pct(paper) if paper else ''} | {_fmt(worst)} | "
            f"{_fmt(ngm_worst)} | {_pct(reduction(worst, ngm_worst))} |"
        )
    return "\n".join(out)


def accuracy_table(rows: list[dict]) -> str:
    """Per method, over all points: measured / predicted latency, per stream kind, and streams lost."""
    methods: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        methods[r["method"]].append(r)
    out = ["| method | measured / predicted | map air: meas. / plan | class air: meas. / plan | streams lost |",
           "|" + " --- |" * 5]  # fmt: skip
    for name, rs in methods.items():
        out.append(
            f"| {name} | {_fmt(_mean(rs, 'latency_gap'))} | {_fmt(_mean(rs, 'map_gap'))} | "
            f"{_fmt(_mean(rs, 'class_gap'))} | {_pct(_mean(rs, 'streams_lost')).lstrip('+')} |"
        )
    return "\n".join(out)


def figure(rows: list[dict], path: str) -> None:
    """Measured per-user latency vs P_T, a panel per K; (a) dotted, (b) solid, the Shannon model dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = by_point(rows)
    Ks = sorted({k for k, _ in points})
    fig, axes = plt.subplots(1, len(Ks), figsize=(4.2 * len(Ks), 3.6), squeeze=False)
    colours = {"proposed": "tab:red", "ngm": "tab:blue", "fgm": "tab:green"}
    for ax, K in zip(axes[0], Ks):
        powers = sorted(P for k, P in points if k == K)
        series = lambda name, key: [_mean(points[(K, P)].get(name, []), key) for P in powers]  # noqa: E731
        for scheme, colour in colours.items():
            label = scheme.upper() if scheme != "proposed" else "proposed"
            measured = f"{label} (b) link-aware" if scheme == "proposed" else f"{label}, measured (one stream: (a) = (b))"
            ax.plot(powers, series(f"{scheme}_b", "latency_ms"), "-o", color=colour, label=measured)
            if scheme == "proposed":
                ax.plot(powers, series("proposed_a", "latency_ms"), ":s", color=colour, label="proposed (a) Shannon plan")
            ax.plot(powers, series(f"{scheme}_b", "shannon_ms"), "--", color=colour, alpha=0.7,
                    label=f"{label}, Shannon model")  # fmt: skip
        ax.set_title(f"K = {K}")
        ax.set_xlabel("P_T (mW)")
        ax.set_ylabel("per-user latency (ms)")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Measured on gscsim's link (IR multicast): (a) Shannon-planned, (b) link-aware; dashed: Shannon model")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    """Command line (module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="+", help="results.csv of intent_link.toml (and its twins)")
    parser.add_argument("--figure", default=None, help="write the figure of the first file here (PNG)")
    args = parser.parse_args(argv)
    for path in args.results:
        rows = read_rows(path)
        print(f"## {path}\n\nDisjoint intents: mean per-user latency measured on the air (ms)\n")
        print(latency_table(rows))
        if any(r["method"].endswith("_overlap") for r in rows):
            print("\nOverlapping intents (chain)\n")
            print(latency_table(rows, "_overlap"))
        print("\nPlanning accuracy over all points\n")
        print(accuracy_table(rows))
        print()
    if args.figure:
        figure(read_rows(args.results[0]), args.figure)
        print("wrote", args.figure)
