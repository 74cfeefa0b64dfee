"""Figures from a results table: each metric against an axis, a curve per method.

Rows of the same (facet, curve, x) are pooled over seeds: ``mean`` metrics by
their per-row mean, standard deviation and count (band: 95% t-interval of the
mean over all samples), ``rate`` metrics by their error counts (band:
Clopper-Pearson with the design effect, as in :mod:`phy.stats`).
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.stats import t as student_t  # noqa: E402

from phy.stats import ClusteredCount  # noqa: E402

__all__ = ["discover_metrics", "plot_metric", "plot_results", "pool"]

AXIS_LABELS = {
    "ebno_db": "$E_b/N_0$ [dB]",
    "snr_db": "SNR per resource element [dB]",
    "tx_power_dbm": "$P_T$ [dBm]",
}


def discover_metrics(columns: list[str]) -> dict[str, str]:
    """Metric name -> ``"mean"`` or ``"rate"``, read off the table's columns."""
    found = {}
    for c in columns:
        if f"{c}_sd" in columns and f"{c}_n" in columns:
            found[c] = "mean"
        elif f"{c}_errors" in columns and f"{c}_trials" in columns:
            found[c] = "rate"
    return found


def _f(text: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return float("nan")


def pool(rows: list[dict], metric: str, kind: str, confidence: float = 0.95) -> tuple[float, float, float]:
    """(estimate, low, high) of ``metric`` over ``rows`` (e.g. seeds of one point)."""
    rows = [r for r in rows if r.get(metric, "") != ""]
    if not rows:
        return (math.nan,) * 3
    if kind == "rate":
        count = ClusteredCount()
        for r in rows:
            count.add(*(int(r[f"{metric}_{c}"]) for c in ("errors", "trials", "clusters", "sum_sq")))
        return (count.rate, *count.interval(confidence))
    mean, variance, total = pooled_mean(rows, metric)
    if total < 2:
        return mean, math.nan, math.nan
    half = student_t.ppf(0.5 + confidence / 2, total - 1) * math.sqrt(variance)
    return mean, mean - half, mean + half


def pooled_mean(rows: list[dict], metric: str) -> tuple[float, float, int]:
    """(mean, variance of the mean, values) of ``metric`` pooled over ``rows`` (e.g. seeds of one
    point), each row holding its mean ``metric``, ``metric_sd`` and ``metric_n`` over its values;
    rows without the metric are left out."""
    rows = [r for r in rows if r.get(metric, "") != ""]
    if not rows:
        return math.nan, math.nan, 0
    n = np.array([int(r[f"{metric}_n"]) for r in rows], dtype=float)
    m = np.array([_f(r[metric]) for r in rows])
    sd = np.nan_to_num(np.array([_f(r[f"{metric}_sd"]) for r in rows]))
    total = int(n.sum())
    mean = float((n * m).sum() / total)
    if total < 2:
        return mean, math.nan, total
    ss = ((n - 1) * sd**2).sum() + (n * (m - mean) ** 2).sum()
    return mean, float(ss / (total - 1) / total), total


def _numeric(values: list[str]) -> bool:
    return all(not math.isnan(_f(v)) for v in values)


def _order(values: set[str]) -> list[str]:
    return sorted(values, key=_f) if _numeric(list(values)) else sorted(values)


def plot_metric(
    rows: list[dict],
    metric: str,
    kind: str,
    x: str,
    facets: list[str],
    curves: list[str],
    path: Path,
    confidence: float = 0.95,
    log_scale: bool | None = None,
    references=None,
) -> Path:
    """One figure: a subplot per facet value combination, a curve per ``curves`` group.

    ``references(facet_values: dict) -> [(label, xs, ys)]`` adds dashed curves.
    """
    rows = [r for r in rows if r.get(metric, "") != ""]
    facet_values = [_order({r[f] for r in rows}) for f in facets]
    combos = list(itertools.product(*facet_values)) or [()]
    ncols = min(3, len(combos))
    nrows = math.ceil(len(combos) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 3.9 * nrows), squeeze=False)
    x_values = _order({r[x] for r in rows})
    numeric_x = _numeric(x_values)
    log = (kind == "rate") if log_scale is None else log_scale

    for ax, combo in zip(axes.flat, combos):
        in_facet = [r for r in rows if all(r[f] == v for f, v in zip(facets, combo))]
        groups: dict[tuple, list[dict]] = defaultdict(list)
        for r in in_facet:
            groups[tuple(r[c] for c in curves)].append(r)
        for group, group_rows in sorted(groups.items()):
            by_x: dict[str, list[dict]] = defaultdict(list)
            for r in group_rows:
                by_x[r[x]].append(r)
            xs = [v for v in x_values if v in by_x]
            stats = np.array([pool(by_x[v], metric, kind, confidence) for v in xs])
            pos = np.array([_f(v) for v in xs]) if numeric_x else np.array([x_values.index(v) for v in xs])
            label = ", ".join(f"{c}={g}" if c != "method" else g for c, g in zip(curves, group))
            keep = stats[:, 0] > 0 if log else np.isfinite(stats[:, 0])
            (line,) = ax.plot(pos[keep], stats[keep, 0], marker="o", label=label)
            band = keep & np.isfinite(stats[:, 1])
            if band.any():
                ax.fill_between(pos[band], np.maximum(stats[band, 1], 1e-300 if log else -np.inf),
                                stats[band, 2], color=line.get_color(), alpha=0.2, linewidth=0)  # fmt: skip
        if references is not None:
            for ref_label, ref_x, ref_y in references(dict(zip(facets, combo))):
                ax.plot(ref_x, ref_y, "k--", linewidth=1, label=ref_label)
        if log:
            ax.set_yscale("log")
        if not numeric_x:
            ax.set_xticks(range(len(x_values)), x_values)
        ax.set_xlabel(AXIS_LABELS.get(x, x))
        ax.set_ylabel(metric)
        ax.grid(True, which="both", alpha=0.3)
        if combo:
            ax.set_title(", ".join(f"{f}={v}" for f, v in zip(facets, combo)), fontsize=9)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(combos):]:
        ax.set_visible(False)
    estimate = "pooled rate" if kind == "rate" else "mean"
    fig.suptitle(f"{metric}: {estimate} with {confidence:.0%} confidence band")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _reference_curves(scenario, metric: str, x: str, facets: list[str], curves: list[str], x_values):
    """Reference curves of the scenario's methods for a facet (when curves share one config)."""
    if scenario is None or any("." in c for c in curves):
        return None
    xs = np.linspace(min(x_values), max(x_values), 200)

    def references(facet_values: dict) -> list:
        axes = tuple((a, scenario.axis_value(a, facet_values[a])) for a in facets if "." in a)
        config = scenario.config_for(axes)
        seen, out = set(), []
        for inst in scenario.methods.values():
            if inst.spec.references is None:
                continue
            for label, rx, ry in inst.spec.references(config, metric, x, xs):
                if label not in seen:
                    seen.add(label)
                    out.append((label, rx, ry))
        return out

    return references


def plot_results(
    rows: list[dict],
    out_dir: Path,
    scenario=None,
    axes: list[str] | None = None,
    metrics: list[str] | None = None,
    x: str | None = None,
    facets: list[str] | None = None,
    confidence: float | None = None,
) -> list[Path]:
    """Write ``plot_<metric>.png`` for each metric; return the paths.

    Axes come from ``scenario`` (or ``axes``); ``x`` defaults to the first axis,
    ``facets`` to the remaining ones; axes neither x nor facet split curves.
    """
    if not rows:
        return []
    columns = list(rows[0])
    axes = list(scenario.axis_names if scenario is not None else (axes or []))
    known = discover_metrics(columns)
    # By default, only metrics some row has a value for (optional metrics, e.g. mIoU without
    # label maps, leave their columns empty).
    metrics = metrics or [m for m in known if any(r.get(m, "") != "" for r in rows)]
    for m in metrics:
        if m not in known:
            raise ValueError(f"metric {m!r} is not in the table (it has: {', '.join(known)})")
    if x is None:
        x = axes[0] if axes else "seed"
    for name in [x, *(facets or [])]:
        if name not in columns:
            raise ValueError(f"axis {name!r} is not a column of the table")
    facets = [a for a in axes if a != x] if facets is None else [f for f in facets if f != x]
    curves = ["method"] + [a for a in axes if a not in facets and a != x]
    if confidence is None:
        confidence = scenario.config.confidence if scenario is not None else 0.95
    registry_log = {}
    if scenario is not None:
        for inst in scenario.methods.values():
            registry_log.update({m.name: m.log_scale for m in inst.spec.metrics})
    x_numeric = _numeric([r[x] for r in rows])
    paths = []
    for metric in metrics:
        refs = None
        if x_numeric and x in (scenario.axis_names if scenario is not None else []):
            refs = _reference_curves(scenario, metric, x, facets, curves, [_f(r[x]) for r in rows])
        paths.append(
            plot_metric(
                rows, metric, known[metric], x, facets, curves, Path(out_dir) / f"plot_{metric}.png",
                confidence, registry_log.get(metric), refs,
            )  # fmt: skip
        )
    return paths
