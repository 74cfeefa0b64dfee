"""The method registry: what a sweep can run at each point.

A method is a function ``run(ctx: PointContext) -> dict`` registered under a
kind, with the metrics it reports, its options (a pydantic model: the keys of
its ``[methods.<name>]`` table, each field with a description) and any plain
sweep axes it reads itself (``ctx.point``)::

    class ToyOptions(StrictModel):
        snr_db: float = Field(0.0, description="SNR (dB)")

    @register_method("toy", metrics=[Metric("mse")], options=ToyOptions)
    def toy(ctx):
        "Noise power at the point's SNR."  # the first docstring line describes the method
        x = torch.randn(100, generator=ctx.generator)
        return {"mse": (x * 10 ** (-ctx.options.snr_db / 20)).square().tolist()}

A plain sweep axis that names an option field (``snr_db`` above) sets that option
at each point; ``"methods.<name>.<key>"`` axes set an option of one method. The
engine validates the options of every (point, method) before any work, so
``ctx.options`` is always the point's validated options.

A ``mean`` metric is returned as a number or a list of per-sample values
(images, users, ...); the table keeps their mean, standard deviation and count.
A ``rate`` metric is returned as a :class:`phy.stats.ClusteredCount`; the table
keeps the rate, its confidence interval and the counts, so seeds can be pooled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from pydantic import BaseModel

from phy.config import StrictModel

from .cache import WorkerCache
from .rows import Metric, metric_columns

__all__ = [
    "Metric",
    "MethodSpec",
    "NoOptions",
    "PointContext",
    "get_method",
    "metric_columns",
    "register_method",
    "registered_kinds",
]


class NoOptions(StrictModel):
    """A method without options: its table must be empty."""


@dataclass
class PointContext:
    """Everything a method sees at one (point, seed).

    ``config`` is the scenario with the point's ``link.*`` / ``source.*`` axes
    applied; ``options`` the method's options with the point's option axes applied
    (validated); ``point`` holds the plain axes (e.g. ``{"snr_db": 5.0}``), ``axes``
    every axis. ``generator`` is seeded from (seed, point) only (``methods.*`` axes
    excluded), so every method at a point sees the same random stream.
    ``cache`` lives as long as the worker process (keep built links/models there).
    """

    config: Any
    options: BaseModel
    point: dict[str, Any]
    axes: dict[str, Any]
    seed: int
    generator: torch.Generator
    device: str
    cache: WorkerCache = field(default_factory=WorkerCache)
    progress: Callable[[int, int], None] = lambda done, total: None


@dataclass(frozen=True)
class MethodSpec:
    """A registered method kind.

    ``axes`` are the plain sweep axes the method reads from ``ctx.point`` itself (an
    axis that names an option field needs no entry: it sets the option).
    ``validate(config, options, point)`` raises ValueError for a point the method
    cannot run (``config`` with the point's overrides, ``point`` its plain axis
    values); every point is checked before any work starts.
    ``stops_line(row, options)`` returns True when the points after this one on the
    first sweep axis can be skipped (e.g. no error at this SNR).
    ``references(config, metric, x_axis, xs)`` returns ``[(label, xs, ys)]`` curves
    drawn under the results (e.g. a closed form).
    """

    kind: str
    run: Callable[[PointContext], dict]
    metrics: tuple[Metric, ...]
    options: type[StrictModel] = NoOptions
    axes: frozenset[str] = frozenset()
    extra_columns: tuple[str, ...] = ()
    validate: Callable[[Any, BaseModel, dict[str, Any]], None] | None = None
    stops_line: Callable[[dict, BaseModel], bool] | None = None
    references: Callable[[Any, str, str, Any], list] | None = None

    @property
    def description(self) -> str:
        """First line of the method's docstring."""
        return (self.run.__doc__ or "").strip().splitlines()[0] if self.run.__doc__ else ""

    def takes_axis(self, axis: str) -> bool:
        """True when plain axis ``axis`` sets one of the options or is read by the method."""
        return axis in self.options.model_fields or axis in self.axes


_REGISTRY: dict[str, MethodSpec] = {}


def register_method(
    kind: str,
    *,
    metrics: list[Metric],
    options: type[StrictModel] = NoOptions,
    axes: set[str] | frozenset[str] = frozenset(),
    extra_columns: tuple[str, ...] = (),
    validate=None,
    stops_line=None,
    references=None,
):
    """Decorator registering ``run`` as method ``kind`` (re-registering replaces it)."""

    def decorate(run: Callable[[PointContext], dict]):
        _REGISTRY[kind] = MethodSpec(
            kind, run, tuple(metrics), options, frozenset(axes), tuple(extra_columns),
            validate, stops_line, references,
        )  # fmt: skip
        return run

    return decorate


def get_method(kind: str) -> MethodSpec:
    """The registered method ``kind`` (built-ins loaded first); KeyError when unknown."""
    _load_builtin_methods()
    if kind not in _REGISTRY:
        raise KeyError(kind)
    return _REGISTRY[kind]


def registered_kinds() -> list[str]:
    """Every registered method kind, sorted."""
    _load_builtin_methods()
    return sorted(_REGISTRY)


def _load_builtin_methods() -> None:
    from . import methods  # noqa: F401  (registers the built-in methods on import)
