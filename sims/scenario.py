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

Three kinds of axes:

- plain (``snr_db``, ``users``): sets the option of that name of every method
  (each method must have it, or read the axis itself, e.g. ``ber``'s ``ebno_db``);
- ``"link.<key>"`` / ``"source.<key>"``: replaces that key of the scenario;
- ``"methods.<name>.<key>"``: sets one option of one method, e.g.
  ``"methods.nullspace.steps" = [20, 50, 100]``; the other methods' rows at those
  points are the same computation (the point's random stream ignores these axes).

Every point's config and every (point, method)'s options are validated before
any work; an error is one line naming the key, and for a swept value the axis
and the value.
"""

from __future__ import annotations

import hashlib
import importlib
import itertools
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field, ValidationError, field_validator

from phy.config import LinkConfig, StrictModel, format_validation_error

from .config_io import ConfigError, read_toml
from .registry import MethodSpec, get_method, registered_kinds
from .rows import format_value, table_columns

__all__ = [
    "AxisRange",
    "MethodInstance",
    "Scenario",
    "ScenarioConfig",
    "ScoringConfig",
    "SourceConfig",
    "SweepConfig",
    "Task",
    "format_value",
    "is_method_axis",
    "load_scenario",
    "scenario_from_dict",
]

#: Config sections a dotted sweep axis may override.
OVERRIDABLE = ("link", "source")
#: Prefix of the axes that set one method's option: ``methods.<name>.<key>``.
METHOD_AXIS = "methods"


class SourceConfig(StrictModel):
    """Where the images come from (float32 (N, 3, S, S) in [-1, 1])."""

    dataset: Literal["camvid", "samples"] = Field(
        "camvid", description="camvid: a CamVid folder; samples: scikit-image's photographs (no data needed)"
    )
    data_dir: str | None = Field(None, description="CamVid folder; default: $GSCSIM_DATA_DIR")
    split: Literal["train", "val", "test"] = Field("val", description="CamVid split (test: the SegNet layout's test/)")
    image_size: int = Field(64, ge=8, le=1024, description="side S of the square images")
    num_images: int = Field(8, ge=1, description="images per row (a multiple of the users)")
    selection: Literal["first", "spread"] = Field(
        "spread",
        description="which frames of the split: spread = evenly strided over it (CamVid splits are video "
        "clips whose consecutive frames are near duplicates); first = its first num_images",
    )
    transform: Literal["resize_crop", "crop"] = Field(
        "resize_crop", description="resize the shorter side to S then centre-crop, or centre-crop only"
    )


class ScoringConfig(StrictModel):
    """How image methods are scored beyond pixels."""

    segmenter: str | None = Field(
        "auto",
        description="segmenter for miou / miou_reference / fd_seg: auto = the shipped camvid-seg-<image size> when "
        "the images have label maps; a shipped name or folder; none = pixel metrics only",
    )
    per_class_iou: bool = Field(
        False, description="also report iou_<class> per CamVid class (over the images where the class appears)"
    )


class AxisRange(StrictModel):
    """Inclusive range ``start, start + step, ..., <= stop``."""

    start: float = Field(description="first value")
    stop: float = Field(description="last value (inclusive, if on the grid)")
    step: float = Field(gt=0, description="spacing")

    def values(self) -> list[float]:
        """The expanded values (rounded to 10 decimals)."""
        if self.stop < self.start:
            raise ValueError(f"stop ({self.stop}) is below start ({self.start})")
        count = int(np.floor((self.stop - self.start) / self.step + 1e-9)) + 1
        return [round(self.start + i * self.step, 10) for i in range(count)]


AxisValues = list[float] | list[int] | list[str] | list[bool] | AxisRange


class SweepConfig(StrictModel):
    """The grid: axis name -> values (a list, or a start/stop/step table)."""

    axes: dict[str, AxisValues] = Field(default_factory=dict, description="axis name -> values; the first is x")

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
        """Axis name -> list of values (ranges expanded)."""
        return {k: (v.values() if isinstance(v, AxisRange) else list(v)) for k, v in self.axes.items()}


class ScenarioConfig(StrictModel):
    """A grid study: link, sweep axes, methods, seeds, device, output."""

    plugins: list[str] = Field(default_factory=list, description="modules imported to register methods")
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    device: str = Field("cpu", pattern=r"^(cpu|auto|cuda(:\d+)?)$")
    output: str = Field("results/sweep", description="output folder")
    confidence: float = Field(0.95, gt=0, lt=1, description="level of every confidence interval")
    link: LinkConfig = Field(LinkConfig(), description="the OFDMA downlink")
    source: SourceConfig | None = Field(None, description="the images, for image methods")
    scoring: ScoringConfig = Field(ScoringConfig(), description="semantic scoring of image methods")
    sweep: SweepConfig = Field(SweepConfig(), description="the grid")
    methods: dict[str, dict[str, Any]] = Field(min_length=1, description="name -> table of a method's options")

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, seeds: list[int]) -> list[int]:
        if any(s < 0 for s in seeds):
            raise ValueError("seeds must be >= 0")
        if len(set(seeds)) != len(seeds):
            raise ValueError("seeds repeat a value")
        return seeds


@dataclass(frozen=True)
class MethodInstance:
    """One ``[methods.<name>]`` table: a registered kind, its table and its validated options
    (before any sweep axis; :meth:`Scenario.options_for` gives them at a point)."""

    name: str
    spec: MethodSpec
    options: BaseModel
    table: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Task:
    """One row to compute: a method at a point for a seed."""

    method: str
    seed: int
    axes: tuple[tuple[str, Any], ...]  # (axis name, value), in sweep order

    @property
    def key(self) -> tuple[str, str, tuple[str, ...]]:
        """(method, seed, axis values as text): the row's identity in the results table."""
        return (self.method, str(self.seed), tuple(format_value(v) for _, v in self.axes))

    @property
    def line(self) -> tuple:
        """Same method, seed and values of every axis but the first (the x axis)."""
        return (self.method, self.seed, tuple(format_value(v) for _, v in self.axes[1:]))

    @property
    def physical_axes(self) -> tuple[tuple[str, Any], ...]:
        """The axes that change what is drawn: all but ``methods.*`` (a method's own options)."""
        return tuple((k, v) for k, v in self.axes if not is_method_axis(k))

    def twin_key(self) -> tuple:
        """Rows with equal twin keys are the same computation: same method, seed, physical point
        and values of the axes that set this method's options."""
        own = f"{METHOD_AXIS}.{self.method}."
        kept = tuple(format_value(v) for k, v in self.axes if not is_method_axis(k) or k.startswith(own))
        return (self.method, self.seed, kept)


def is_method_axis(axis: str) -> bool:
    """True for a ``methods.<name>.<key>`` axis."""
    return axis.startswith(f"{METHOD_AXIS}.")


@dataclass
class Scenario:
    """A validated scenario, its grid expanded and each point's config resolved."""

    config: ScenarioConfig
    source: str
    methods: dict[str, MethodInstance]
    axes: dict[str, list]
    _point_configs: dict[tuple, ScenarioConfig] = field(default_factory=dict, repr=False)
    _point_options: dict[tuple, BaseModel] = field(default_factory=dict, repr=False)

    @property
    def axis_names(self) -> list[str]:
        """Every axis, in sweep order (the first is the x axis)."""
        return list(self.axes)

    @property
    def plain_axes(self) -> list[str]:
        """Undotted axes (handed to every method)."""
        return [a for a in self.axes if "." not in a]

    @property
    def override_axes(self) -> list[str]:
        """Dotted axes that replace a key of the scenario (``link.*``, ``source.*``)."""
        return [a for a in self.axes if "." in a and not is_method_axis(a)]

    @property
    def method_axes(self) -> list[str]:
        """``methods.<name>.<key>`` axes."""
        return [a for a in self.axes if is_method_axis(a)]

    @property
    def config_hash(self) -> str:
        """Fingerprint of everything that changes the rows (all but the output folder)."""
        data = self.config.model_dump(mode="json", exclude={"output"})
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

    def axis_value(self, axis: str, text: str) -> Any:
        """The value of ``axis`` whose canonical text (as in the results table) is ``text``."""
        return next(v for v in self.axes[axis] if format_value(v) == text)

    def points(self) -> list[tuple[tuple[str, Any], ...]]:
        """Every point of the grid as ((axis, value), ...)."""
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
        """The scenario with the point's ``link.*`` / ``source.*`` axes applied."""
        overrides = tuple((k, v) for k, v in axes if "." in k and not is_method_axis(k))
        if overrides not in self._point_configs:
            self._point_configs[overrides] = _apply_overrides(self.config, overrides, self.source)
        return self._point_configs[overrides]

    def options_for(self, method: str, axes: tuple[tuple[str, Any], ...]) -> BaseModel:
        """Method ``method``'s validated options at a point: its table, then the plain axes that
        name one of its options, then its ``methods.<method>.<key>`` axes.

        :raises ConfigError: one line naming the axis, its value and the offending key.
        """
        inst = self.methods[method]
        fields = inst.spec.options.model_fields
        own = f"{METHOD_AXIS}.{method}."
        updates = tuple(
            (k, k.removeprefix(own), v) for k, v in axes if (k in fields) or k.startswith(own)
        )
        cache_key = (method, tuple((k, format_value(v)) for k, _, v in updates))
        if cache_key not in self._point_options:
            data = dict(inst.table)
            for _, key, value in updates:
                data[key] = _coerce(inst.spec.options, key.split("."), value)
            try:
                self._point_options[cache_key] = inst.spec.options.model_validate(data)
            except ValidationError as exc:
                where = ", ".join(f"{k} = {format_value(v)}" for k, _, v in updates)
                raise ConfigError(
                    f"{self.source}: sweep.axes.{where}: {format_validation_error(exc, f'methods.{method}')}"
                ) from None
        return self._point_options[cache_key]

    def columns(self) -> list[str]:
        """Results table schema: ids, axes, method extras, metrics, timing (:func:`sims.rows.table_columns`)."""
        configs = {id(c): c for c in (self.config_for(p) for p in self.points())}
        return table_columns(self.axis_names, list(self.methods.values()), list(configs.values()))

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


def _field_annotation(model: type[BaseModel], path: list[str]):
    """The annotation of the field at ``path`` under ``model``, or None when it cannot be followed."""
    annotation = None
    for part in path:
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            return None
        annotation = model.model_fields[part].annotation
        candidates = [a for a in (typing.get_args(annotation) or (annotation,)) if isinstance(a, type)]
        model = next((a for a in candidates if issubclass(a, BaseModel)), None)
    return annotation


def _coerce(model: type[BaseModel], path: list[str], value: Any) -> Any:
    """A swept whole float (ranges give floats) becomes an int for an int-only field."""
    if not (isinstance(value, float) and value.is_integer()):
        return value
    annotation = _field_annotation(model, path)
    args = set(typing.get_args(annotation) or (annotation,))
    return int(value) if int in args and float not in args else value


def _apply_overrides(config: ScenarioConfig, overrides, source: str) -> ScenarioConfig:
    if not overrides:
        return config
    data = config.model_dump(mode="python")
    for path, value in overrides:
        _set_path(data, path, _coerce(ScenarioConfig, path.split("."), value))
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
        methods[name] = MethodInstance(name, spec, options, table)
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
                f"{source}: sweep.axes.{axis}: only keys under {', '.join(OVERRIDABLE)} "
                f"(or {METHOD_AXIS}.<name>.<option>) can be swept"
            )
    for axis in scenario.method_axes:
        parts = axis.split(".")
        if len(parts) < 3 or parts[1] not in methods:
            raise ConfigError(
                f"{source}: sweep.axes.{axis}: expected {METHOD_AXIS}.<name>.<option> with <name> one of "
                f"{', '.join(methods)}"
            )
    for axis in scenario.plain_axes:
        for inst in methods.values():
            if not inst.spec.takes_axis(axis):
                takes = sorted(set(inst.spec.axes) | set(inst.spec.options.model_fields))
                raise ConfigError(
                    f"{source}: sweep.axes.{axis}: method {inst.name!r} ({inst.spec.kind}) does not use "
                    f"this axis (it takes: {', '.join(takes) or 'none'})"
                )
    # Resolve and check every (point, method) before any work starts.
    for point in scenario.points() or [()]:
        point_config = scenario.config_for(point)
        plain = {k: v for k, v in point if "." not in k}
        for inst in methods.values():
            options = scenario.options_for(inst.name, point)
            if inst.spec.validate is not None:
                try:
                    inst.spec.validate(point_config, options, plain)
                except ValueError as exc:
                    where = ", ".join(f"{k} = {format_value(v)}" for k, v in point)
                    at = f" (at {where})" if where else ""
                    raise ConfigError(f"{source}: methods.{inst.name}: {exc}{at}") from None
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    """Parse, validate and expand a scenario TOML file."""
    return scenario_from_dict(read_toml(path), str(path))
