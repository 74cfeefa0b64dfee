"""Scenario files: a TOML grid study, validated into typed objects before any work.

::

    seeds = [0, 1]
    device = "auto"
    output = "results/study"
    plugins = ["my_package.my_methods"]    # modules that register extra methods

    [link]                                 # phy.config.LinkConfig
    modulation = "16qam"

    [sweep.axes]                           # the grid; the first axis is the x axis
    ebno_db = { start = 0, stop = 4, step = 1 }
    "link.grid.num_users" = [2, 4]         # dotted: overrides a config key per point

    [methods.ldpc]                         # one table per compared method
    kind = "ber"                           # registered method kind (default: the name)
    target_block_errors = 100              # the method's own options

Plain axes (``ebno_db``) are handed to the methods; dotted axes replace the
value of that key in the scenario for the point. Every point's config and
every method's options are validated up front; an error is one line naming
the key.
"""

from __future__ import annotations

import hashlib
import importlib
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field, ValidationError, field_validator

from phy.config import LinkConfig, StrictModel, format_validation_error

from .config_io import ConfigError, read_toml
from .registry import MethodSpec, get_method, registered_kinds

__all__ = [
    "AxisRange",
    "MethodInstance",
    "Scenario",
    "ScenarioConfig",
    "SourceConfig",
    "SweepConfig",
    "Task",
    "format_value",
    "load_scenario",
    "scenario_from_dict",
]

#: Config sections a dotted sweep axis may override.
OVERRIDABLE = ("link", "source")


class SourceConfig(StrictModel):
    """Where the images come from (float32 (N, 3, S, S) in [-1, 1])."""

    dataset: Literal["camvid", "samples"] = Field(
        "camvid", description="camvid: a CamVid folder; samples: scikit-image's photographs (no data needed)"
    )
    data_dir: str | None = Field(None, description="CamVid folder; default: $GSCSIM_DATA_DIR")
    split: Literal["train", "val"] = "val"
    image_size: int = Field(64, ge=8, le=1024)
    num_images: int = Field(8, ge=1)
    transform: Literal["resize_crop", "crop"] = "resize_crop"


class AxisRange(StrictModel):
    """Inclusive range ``start, start + step, ..., <= stop``."""

    start: float
    stop: float
    step: float = Field(gt=0)

    def values(self) -> list[float]:
        if self.stop < self.start:
            raise ValueError(f"stop ({self.stop}) is below start ({self.start})")
        count = int(np.floor((self.stop - self.start) / self.step + 1e-9)) + 1
        return [round(self.start + i * self.step, 10) for i in range(count)]


AxisValues = list[float] | list[int] | list[str] | list[bool] | AxisRange


class SweepConfig(StrictModel):
    """The grid: axis name -> values (a list, or a start/stop/step table)."""

    axes: dict[str, AxisValues] = Field(default_factory=dict)

    @field_validator("axes")
    @classmethod
    def _non_empty(cls, axes: dict) -> dict:
        for name, values in axes.items():
            if isinstance(values, list) and not values:
                raise ValueError(f"axis {name!r} has no values")
            if isinstance(values, list) and len(set(map(format_value, values))) != len(values):
                raise ValueError(f"axis {name!r} repeats a value")
            if isinstance(values, AxisRange):
                values.values()
        return axes

    def expanded(self) -> dict[str, list]:
        return {k: (v.values() if isinstance(v, AxisRange) else list(v)) for k, v in self.axes.items()}


class ScenarioConfig(StrictModel):
    """A grid study: link, sweep axes, methods, seeds, device, output."""

    plugins: list[str] = Field(default_factory=list, description="modules imported to register methods")
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    device: str = Field("cpu", pattern=r"^(cpu|auto|cuda(:\d+)?)$")
    output: str = "results/sweep"
    confidence: float = Field(0.95, gt=0, lt=1, description="level of every confidence interval")
    link: LinkConfig = LinkConfig()
    source: SourceConfig | None = None
    sweep: SweepConfig = SweepConfig()
    methods: dict[str, dict[str, Any]] = Field(min_length=1)

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, seeds: list[int]) -> list[int]:
        if any(s < 0 for s in seeds):
            raise ValueError("seeds must be >= 0")
        if len(set(seeds)) != len(seeds):
            raise ValueError("seeds repeat a value")
        return seeds


def format_value(value: Any) -> str:
    """Canonical text of an axis value, as written to (and compared in) the results table."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


@dataclass(frozen=True)
class MethodInstance:
    """One ``[methods.<name>]`` table: a registered kind with validated options."""

    name: str
    spec: MethodSpec
    options: BaseModel


@dataclass(frozen=True)
class Task:
    """One row to compute: a method at a point for a seed."""

    method: str
    seed: int
    axes: tuple[tuple[str, Any], ...]  # (axis name, value), in sweep order

    @property
    def key(self) -> tuple[str, str, tuple[str, ...]]:
        return (self.method, str(self.seed), tuple(format_value(v) for _, v in self.axes))

    @property
    def line(self) -> tuple:
        """Same method, seed and values of every axis but the first (the x axis)."""
        return (self.method, self.seed, tuple(format_value(v) for _, v in self.axes[1:]))


@dataclass
class Scenario:
    """A validated scenario, its grid expanded and each point's config resolved."""

    config: ScenarioConfig
    source: str
    methods: dict[str, MethodInstance]
    axes: dict[str, list]
    _point_configs: dict[tuple, ScenarioConfig] = field(default_factory=dict, repr=False)

    @property
    def axis_names(self) -> list[str]:
        return list(self.axes)

    @property
    def plain_axes(self) -> list[str]:
        return [a for a in self.axes if "." not in a]

    @property
    def override_axes(self) -> list[str]:
        return [a for a in self.axes if "." in a]

    @property
    def config_hash(self) -> str:
        """Fingerprint of everything that changes the rows (all but the output folder)."""
        data = self.config.model_dump(mode="json", exclude={"output"})
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

    def points(self) -> list[tuple[tuple[str, Any], ...]]:
        names = self.axis_names
        return [tuple(zip(names, combo)) for combo in itertools.product(*self.axes.values())]

    def tasks(self) -> list[Task]:
        """Every row, ordered line by line (x axis innermost), then method, then seed."""
        names = self.axis_names
        if not names:
            return [Task(m, s, ()) for m in self.methods for s in self.config.seeds]
        x_name, rest = names[0], names[1:]
        tasks = []
        for other in itertools.product(*(self.axes[a] for a in rest)):
            for x in self.axes[x_name]:
                axes = ((x_name, x), *zip(rest, other))
                tasks.extend(Task(m, s, axes) for m in self.methods for s in self.config.seeds)
        return tasks

    def config_for(self, axes: tuple[tuple[str, Any], ...]) -> ScenarioConfig:
        """The scenario with the point's dotted axes applied."""
        overrides = tuple((k, v) for k, v in axes if "." in k)
        if overrides not in self._point_configs:
            self._point_configs[overrides] = _apply_overrides(self.config, overrides, self.source)
        return self._point_configs[overrides]

    def columns(self) -> list[str]:
        """Results table schema: ids, axes, method extras, metrics, timing."""
        extras: list[str] = []
        metrics: list[str] = []
        for inst in self.methods.values():
            extras += [c for c in inst.spec.extra_columns if c not in extras and c not in self.axes]
            for m in inst.spec.metrics:
                metrics += [c for c in m.columns() if c not in metrics]
        return ["method", "kind", "seed", *self.axis_names, *extras, *metrics, "seconds"]

    def to_payload(self) -> dict:
        """What a remote worker needs to rebuild this scenario."""
        return {"config": self.config.model_dump(mode="json"), "source": self.source}


def _set_path(data: dict, path: str, value: Any) -> None:
    node = data
    parts = path.split(".")
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {} if part not in node or node[part] is None else node[part]
        node = node[part]
    node[parts[-1]] = value


def _apply_overrides(config: ScenarioConfig, overrides, source: str) -> ScenarioConfig:
    if not overrides:
        return config
    data = config.model_dump(mode="python")
    for path, value in overrides:
        _set_path(data, path, value)
    try:
        return ScenarioConfig.model_validate(data)
    except ValidationError as exc:
        where = ", ".join(f"{k} = {format_value(v)}" for k, v in overrides)
        raise ConfigError(f"{source}: at sweep point {where}: {format_validation_error(exc)}") from None


def _import_plugins(plugins: list[str], source: str) -> None:
    for module in plugins:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ConfigError(f"{source}: plugins: cannot import {module!r}: {exc}") from None


def _build_methods(config: ScenarioConfig, source: str) -> dict[str, MethodInstance]:
    methods = {}
    for name, table in config.methods.items():
        table = dict(table)
        kind = table.pop("kind", name)
        try:
            spec = get_method(kind)
        except KeyError:
            raise ConfigError(
                f"{source}: methods.{name}: unknown method kind {kind!r} "
                f"(registered: {', '.join(registered_kinds())})"
            ) from None
        try:
            options = spec.options.model_validate(table)
        except ValidationError as exc:
            raise ConfigError(f"{source}: {format_validation_error(exc, f'methods.{name}')}") from None
        methods[name] = MethodInstance(name, spec, options)
    return methods


def scenario_from_dict(data: dict, source: str = "<config>") -> Scenario:
    """Validate a parsed scenario (plugins imported first); raise ConfigError."""
    if not isinstance(data.get("plugins", []), list):
        raise ConfigError(f"{source}: plugins: Input should be a valid list")
    _import_plugins(data.get("plugins", []), source)
    try:
        config = ScenarioConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {format_validation_error(exc)}") from None
    methods = _build_methods(config, source)
    try:
        axes = config.sweep.expanded()
    except ValueError as exc:
        raise ConfigError(f"{source}: sweep.axes: {exc}") from None
    scenario = Scenario(config, source, methods, axes)

    for axis in scenario.override_axes:
        if axis.split(".")[0] not in OVERRIDABLE:
            raise ConfigError(
                f"{source}: sweep.axes.{axis}: only keys under {', '.join(OVERRIDABLE)} can be swept"
            )
    for axis in scenario.plain_axes:
        for inst in methods.values():
            if axis not in inst.spec.axes:
                raise ConfigError(
                    f"{source}: sweep.axes.{axis}: method {inst.name!r} ({inst.spec.kind}) does not use "
                    f"this axis (it takes: {', '.join(sorted(inst.spec.axes)) or 'none'})"
                )
    # Resolve and check every point before any work starts.
    for point in scenario.points() or [()]:
        point_config = scenario.config_for(point)
        plain = {k: v for k, v in point if "." not in k}
        for inst in methods.values():
            if inst.spec.validate is not None:
                try:
                    inst.spec.validate(point_config, inst.options, plain)
                except ValueError as exc:
                    raise ConfigError(f"{source}: methods.{inst.name}: {exc}") from None
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    """Parse, validate and expand a scenario TOML file."""
    return scenario_from_dict(read_toml(path), str(path))
