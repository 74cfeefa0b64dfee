"""The `fast_scd` method: FAST's sequential receiver on the scenario's label maps (seed 001, Sec. V-C, V-E).

Each map's class units (:mod:`semantic.units`) reach the receiver by an arrival schedule
(:mod:`sims.fast.schedules`), and the SCD receiver (:mod:`semantic.receivers.scd`) denoises
while they arrive; the image is scored by the scenario's segmenter against the full map
(``miou``, FAST's precision; CLIP is not available offline). Schedules (``order``):

- ``area``: largest class first (the sequential baseline of Fig. 12 with a fixed order),
  ``first`` units in phase 1 and ``per_phase`` later (both default floor(tau_d / tau_e));
  ``area_reversed``: smallest first; ``class_index``: CamVid's class order;
- ``policy``: a trained ordering policy (``gscsim train fast-order``; default the shipped one);
- ``conventional``: conventional GSC, every unit extracted before denoising starts (Fig. 12).

Units travel error-free here (FAST part 2 puts them on the link). ``tau_d`` defaults to
2 tau_e, the pairing of the paper's three settings (2.5 / 5, 5 / 10, 7.5 / 15), so that
``tau_e`` alone is a sweep axis of Fig. 11; ``w`` (``methods.<name>.w``) the other.
Every point draws x_T per image from the seed alone: all points compare the same noise.

Rows: ``miou`` per image; ``residual_latency`` (steps beyond T_d); ``efficiency`` = precision
/ residual latency (the paper's, per image); ``units_sent`` and ``units_discarded``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from phy.config import StrictModel
from phy.rng import derive_seed
from semantic.data import CAMVID_CLASSES, CAMVID_NUM_CLASSES
from semantic.pretrained import load_pretrained
from semantic.receivers.scd import NEVER, ScdConfig
from semantic.receivers.sdm import SemanticUNet
from semantic.segmentation import DualResolutionSegmenter
from semantic.units import CAMVID_ATTRIBUTES, UnitAttributes, present_units

from ..fast.schedules import fixed_order_schedule
from ..fast.settings import OrderSettings
from ..registry import Metric, PointContext, register_method
from .common import check_data, segmenter_for, source_pairs

__all__ = ["FastScdOptions", "SHIPPED_ORDER_POLICY"]

#: The shipped ordering policy (MaskablePPO, T_d = 60, tau_d = 10, tau_e = 5).
SHIPPED_ORDER_POLICY = Path(__file__).resolve().parents[1] / "fast" / "policies" / "fast-order-mppo"


class FastScdOptions(StrictModel):
    """The phase times, the schedule and the SCD receiver."""

    tau_e: float = Field(5.0, gt=0, description="extraction time of one unit (denoising-step durations)")
    tau_d: int | None = Field(None, ge=1, description="steps per segment (default 2 tau_e, the paper's pairing)")
    steps: int = Field(60, ge=1, description="T_d, DDIM steps")
    order: Literal["area", "area_reversed", "class_index", "policy", "conventional"] = Field(
        "area", description="the schedule (module docstring)")
    first: int | None = Field(None, ge=1, description="units in phase 1 (default floor(tau_d / tau_e))")
    per_phase: int | None = Field(None, ge=0, description="units per later phase (default floor(tau_d / tau_e))")
    policy: str | None = Field(None, description="trained ordering policy folder for order = policy (default: the shipped one)")
    w: float = Field(4.0, description="SCD intervention factor (the paper's FAST: 4; 0: sequential CFG)")
    scale: float = Field(1.5, description="guidance scale s")
    delta: Literal["all_minus_prev", "new_minus_prev"] = Field("all_minus_prev", description="the reading of Delta")
    window: Literal["until_next", "arrival_step"] = Field("until_next", description="where the w term acts")
    model: str = Field("camvid-sdm-partial-32", description="the SDM (trained with class dropout)")

    def settings(self) -> OrderSettings:
        """The phase times (tau_d = 2 tau_e unless set)."""
        tau_d = self.tau_d or round(2 * self.tau_e)
        return OrderSettings(steps=self.steps, tau_d=tau_d, tau_e=self.tau_e)

    def units_per_phase(self) -> tuple[int, int]:
        """(first, per_phase)."""
        s = self.settings()
        default = max(1, math.floor(s.tau_d / s.tau_e))
        return self.first or default, default if self.per_phase is None else self.per_phase


METRICS = [
    Metric("miou", label="precision: segmenter mIoU vs the full map"),
    Metric("residual_latency", label="residual latency (denoising steps beyond T_d)"),
    Metric("efficiency", label="precision / residual latency"),
    Metric("units_sent", label="units sent per map"),
    Metric("units_discarded", label="units never sent per map"),
]


def _validate(config, options: FastScdOptions, point: dict) -> None:
    if config.source is None or config.source.dataset != "camvid":
        raise ValueError("fast_scd needs [source] dataset = 'camvid' (label maps)")
    check_data(config.source)
    if segmenter_for(config) is None:
        raise ValueError("fast_scd needs a segmenter (scoring.segmenter) to score precision")
    try:
        options.settings()
    except ValueError as exc:
        raise ValueError(f"tau_d / steps: {exc}") from None
    if options.order == "policy":
        folder = Path(options.policy) if options.policy else SHIPPED_ORDER_POLICY
        if not (folder / "policy.safetensors").exists():
            raise ValueError(f"policy: no trained policy in {folder}")


def schedule(options: FastScdOptions, labels, units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(arrival int64 (P, N), residual latency (P,)) of ``options.order`` for maps ``labels``."""
    settings = options.settings()
    N = units.shape[1]
    if options.order == "conventional":
        arrival = np.where(units, 0, NEVER).astype(np.int64)
        return arrival, units.sum(1) * settings.tau_e
    if options.order == "policy":
        from ..fast.schedules import policy_schedule
        from ..train.fast_order import load_order_policy

        policy, trained = load_order_policy(options.policy or SHIPPED_ORDER_POLICY)
        attributes = UnitAttributes.from_groups(CAMVID_ATTRIBUTES, CAMVID_CLASSES)
        out = policy_schedule(policy, units, attributes, settings, masked=trained.agent == "mppo")
        return out["arrival"], out["residual"]
    area = np.stack([(labels.clamp(max=CAMVID_NUM_CLASSES) == c).flatten(1).sum(1).numpy() for c in range(N)], 1)
    priority = {"area": area, "area_reversed": -area, "class_index": -np.arange(N)[None].repeat(len(area), 0)}
    first, per_phase = options.units_per_phase()
    return fixed_order_schedule(units, priority[options.order].astype(float), settings, first, per_phase)


@register_method("fast_scd", metrics=METRICS, options=FastScdOptions, validate=_validate)
def fast_scd(ctx: PointContext) -> dict:
    """FAST's sequential receiver (SCD) on the scenario's maps under an arrival schedule, scored by mIoU."""
    from ..fast.precision import ScdPrecision

    options: FastScdOptions = ctx.options
    _, labels = source_pairs(ctx)
    units = present_units(labels, CAMVID_NUM_CLASSES).numpy()
    arrival, residual = schedule(options, labels, units)
    segmenter = segmenter_for(ctx.config)
    oracle = ScdPrecision(
        ctx.cache.get(SemanticUNet, (options.model, ctx.device), lambda: load_pretrained(options.model, SemanticUNet, ctx.device)),
        ctx.cache.get(DualResolutionSegmenter, (segmenter, ctx.device),
                      lambda: load_pretrained(segmenter, DualResolutionSegmenter, ctx.device)),
        labels, CAMVID_NUM_CLASSES,
        ScdConfig(steps=options.steps, scale=options.scale, w=options.w, delta=options.delta, window=options.window),
        noise_seed=derive_seed(ctx.seed, "fast-x_T"), device=ctx.device, batch_size=128, cache_size=0,
    )  # fmt: skip
    precision = oracle(np.arange(len(labels)), arrival)
    sent = ((arrival < NEVER) & units).sum(1)
    return {
        "miou": precision.tolist(), "residual_latency": residual.tolist(),
        "efficiency": (precision / np.maximum(residual, 1e-9)).tolist(),
        "units_sent": sent.tolist(), "units_discarded": (units.sum(1) - sent).tolist(),
    }  # fmt: skip
