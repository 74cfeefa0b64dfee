"""The results-table row schema: metric kinds, their columns, and the one number formatter.

A ``mean`` metric (PSNR, latency, ...) is returned by a method as a number or a
list of per-sample values and becomes the columns ``m, m_sd, m_n``; a ``rate``
metric (BER, BLER) is a :class:`phy.stats.ClusteredCount` and becomes the rate,
its confidence interval and the counts (so seeds pool exactly). Every value is
written as text by :func:`format_value`, the one formatter of axes and metrics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch

from phy.stats import ClusteredCount

if TYPE_CHECKING:  # pragma: no cover
    from .scenario import MethodInstance, Task

__all__ = ["Metric", "format_value", "make_row", "metric_columns", "table_columns"]


@dataclass(frozen=True)
class Metric:
    """One reported quantity: ``mean`` (values averaged per row) or ``rate`` (error counts)."""

    name: str
    kind: Literal["mean", "rate"] = "mean"
    log_scale: bool = False
    label: str | None = None
    #: a method may leave it out of a row (e.g. mIoU without label maps): its columns stay empty
    optional: bool = False
    #: ``applies(config) -> bool``: the metric's columns are in a scenario's table only when some
    #: point's config (:class:`sims.scenario.ScenarioConfig`) makes it true (e.g. ``ms_ssim_2``
    #: only for 32 px images); None: always
    applies: Callable[[Any], bool] | None = None

    def columns(self) -> list[str]:
        """The table columns this metric fills."""
        n = self.name
        if self.kind == "rate":
            return [n, f"{n}_ci_low", f"{n}_ci_high", f"{n}_errors", f"{n}_trials", f"{n}_clusters", f"{n}_sum_sq"]
        return [n, f"{n}_sd", f"{n}_n"]


def metric_columns(metrics: list[Metric]) -> list[str]:
    """The columns of several metrics, in order."""
    return [c for m in metrics for c in m.columns()]


def format_value(value: Any) -> str:
    """Canonical text of an axis value or a number, as written to (and compared in) the table.

    Booleans are ``true``/``false``, integers plain, floats ``repr`` (round-trips exactly);
    NumPy scalars as their Python counterparts; anything else ``str``.
    """
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return str(value)


def table_columns(axis_names: list[str], methods: list[MethodInstance], configs: list | None = None) -> list[str]:
    """Results table schema: ids, axes, method extras, metrics, timing. A metric with ``applies``
    is left out unless one of ``configs`` (the points' scenario configs) makes it true."""
    extras: list[str] = []
    metrics: list[str] = []
    for inst in methods:
        extras += [c for c in inst.spec.extra_columns if c not in extras and c not in axis_names]
        for m in inst.spec.metrics:
            if m.applies is not None and configs is not None and not any(m.applies(c) for c in configs):
                continue
            metrics += [c for c in m.columns() if c not in metrics]
    return ["method", "kind", "seed", *axis_names, *extras, *metrics, "seconds"]


def _mean_columns(name: str, value) -> dict[str, str]:
    samples = np.asarray(value.detach().cpu() if isinstance(value, torch.Tensor) else value, dtype=np.float64)
    samples = samples.reshape(-1)
    if samples.size == 0:
        raise ValueError(f"metric {name!r} has no samples")
    sd = float(samples.std(ddof=1)) if samples.size > 1 else float("nan")
    return {name: format_value(float(samples.mean())), f"{name}_sd": format_value(sd), f"{name}_n": str(samples.size)}


def _rate_columns(name: str, count: ClusteredCount, confidence: float) -> dict[str, str]:
    if not isinstance(count, ClusteredCount):
        raise TypeError(f"rate metric {name!r} must be a phy.stats.ClusteredCount, got {type(count).__name__}")
    lo, hi = count.interval(confidence)
    return {
        name: format_value(count.rate), f"{name}_ci_low": format_value(lo), f"{name}_ci_high": format_value(hi),
        f"{name}_errors": str(count.errors), f"{name}_trials": str(count.trials),
        f"{name}_clusters": str(count.clusters), f"{name}_sum_sq": str(count.sum_sq),
    }  # fmt: skip


def make_row(inst: MethodInstance, task: Task, output: dict, seconds: float, confidence: float) -> dict[str, str]:
    """A results row (all values as text) from what method ``inst`` returned for ``task``."""
    output = dict(output)
    row = {"method": inst.name, "kind": inst.spec.kind, "seed": str(task.seed)}
    row.update({name: format_value(v) for name, v in task.axes})
    for metric in inst.spec.metrics:
        if metric.name not in output:
            if metric.optional:  # its columns stay empty (or are not in this table at all)
                continue
            raise ValueError(f"method {inst.name!r} did not return metric {metric.name!r}")
        value = output.pop(metric.name)
        if metric.kind == "rate":
            row.update(_rate_columns(metric.name, value, confidence))
        else:
            row.update(_mean_columns(metric.name, value))
    for column in inst.spec.extra_columns:
        if column in output:
            value = output.pop(column)
            if column not in row:  # an extra that is also a sweep axis keeps the axis value
                row[column] = format_value(value)
    if output:
        raise ValueError(f"method {inst.name!r} returned keys it did not declare: {sorted(output)}")
    row["seconds"] = f"{seconds:.4f}"
    return row
