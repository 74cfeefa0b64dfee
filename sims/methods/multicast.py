"""The `multicast` method: per-user latency of intent-aware generative multicasting.

One row = ``draws`` Monte-Carlo user drops (distances from the link budget,
optional Rayleigh fading); each drop is solved by the chosen scheme
(``proposed`` = problem (8), ``ngm``, ``fgm``; :mod:`phy.multicast`). Plain sweep
axes ``users``, ``power_mw``, ``generation_ms``, ``eps_r``, ``eps_s`` override the
options of the same name (the engine sets them per point), so one config sweeps any of them.
"""

from __future__ import annotations

import time
from typing import Literal

import numpy as np
import torch
from pydantic import Field, model_validator

from phy.config import LinkBudgetConfig, StrictModel
from phy.multicast import (
    MulticastProblem,
    channel_gains,
    fgm_latencies,
    fgm_rate,
    intent_matrix,
    ngm_latencies,
    ngm_rate,
    noise_psd_w_hz,
    single_stream_spectral_efficiency,
    solve,
)
from semantic.flops import generation_ms, model_generation_flops

from ..registry import Metric, PointContext, register_method
from .common import scenario_budget

__all__ = ["MulticastOptions"]


class MulticastOptions(StrictModel):
    """Defaults: the paper's Table II budget ([link.budget] or its defaults), |X| = 512 x 256,
    |Xbar| = |X| / 10, 1 MHz per band, T_g = 2 ms, requirements (0.02850, 0.58705)."""

    scheme: Literal["proposed", "ngm", "fgm"] = Field(
        "proposed", description="proposed = problem (8); ngm / fgm: the paper's single-stream baselines"
    )
    solver: Literal["auto", "exact", "sqp", "slsqp"] = Field(
        "auto", description="problem (8) solver: exact structure, structured SQP, SciPy SLSQP, or auto"
    )
    draws: int = Field(6000, gt=0, description="Monte-Carlo user drops per row")
    users: int = Field(10, gt=0, description="K")
    power_mw: float | None = Field(None, gt=0, description="P_T; default: the budget's tx_power_dbm")
    generation_ms: float | None = Field(
        None, ge=0, description="T_g (ms); default 2, or N^F / P^F from generation_model and processor"
    )
    generation_model: str | None = Field(
        None,
        description="N^F for T_g = N^F / P^F (Table IV): lightweight-diffusion, mobilediffusion-lite, or a shipped "
        "SDM (one 50-step, s = 1.5 synthesis at its size, FLOPs counted)",
    )
    processor: Literal["a100", "h100", "a18", "m4"] | None = Field(None, description="P^F for T_g (Table IV)")

    @model_validator(mode="after")
    def _one_generation_time(self):
        if (self.generation_model is None) != (self.processor is None):
            raise ValueError("generation_model and processor go together (T_g = N^F / P^F)")
        if self.generation_model is not None and self.generation_ms is not None:
            raise ValueError("give generation_ms or (generation_model, processor), not both")
        return self

    def generation_time_ms(self) -> float:
        """T_g in ms: generation_ms, N^F / P^F, or the paper's default 2 ms."""
        if self.generation_model is not None:
            return generation_ms(model_generation_flops(self.generation_model), self.processor)
        return 2.0 if self.generation_ms is None else self.generation_ms
    eps_r: float = Field(0.02850, gt=0, description="distortion requirement (1 - MS-SSIM)")
    eps_s: float = Field(0.58705, gt=0, description="perception requirement")
    intents: str | list[list[int]] = Field("disjoint", description="disjoint | ring | shared | chain | K x L 0/1 list")
    classes_per_user: int = Field(1, ge=1, description="classes each user wants (disjoint and ring intents)")
    num_classes: int | None = Field(None, gt=0, description="L; default from the intent pattern")
    fading: bool = Field(False, description="Rayleigh power gain on top of path loss")
    image_width: int = Field(512, gt=0, description="image width (|X| = width x height)")
    image_height: int = Field(256, gt=0, description="image height")
    class_fraction: float = Field(0.1, gt=0, le=1, description="|Xbar| / |X|")
    class_bandwidth_hz: float | None = Field(None, gt=0, description="B_l; default: the budget's bandwidth")
    rate_decimals: int | None = Field(
        None, ge=0, le=12,
        description="r* and |b| from rates rounded to this many decimals, |b| floored (Table III's convention: 5)",
    )  # fmt: skip


METRICS = [
    Metric("latency_ms", label="per-user latency (ms)"),
    Metric("latency_ratio", label="per-user latency / T_g"),
    Metric("power_ratio", label="gamma = p0 / P_T"),
    Metric("spectral_efficiency", label="average spectral efficiency, eq. (11) (bit/s/Hz)"),
    Metric("map_spectral_efficiency", label="map stream's spectral efficiency, mean over users (bit/s/Hz)"),
    Metric("average_rate", label="r* (bpp)"),
    Metric("bits", label="|b| (bits)"),
]


def _problem(
    opts: MulticastOptions, budget: LinkBudgetConfig, gains: np.ndarray, intents: np.ndarray | None = None
) -> MulticastProblem:
    """One drop's problem; pass ``intents`` (K, L) when building many drops of one row."""
    power_mw = opts.power_mw if opts.power_mw is not None else 10 ** (budget.tx_power_dbm / 10)
    pixels = opts.image_width * opts.image_height
    return MulticastProblem(
        gains,
        _intents(opts) if intents is None else intents,
        total_power_w=power_mw * 1e-3,
        noise_psd_w_hz=noise_psd_w_hz(budget),
        map_bandwidth_hz=budget.bandwidth_hz,
        class_bandwidth_hz=opts.class_bandwidth_hz or budget.bandwidth_hz,
        image_pixels=pixels,
        class_pixels=pixels * opts.class_fraction,
        generation_latency_s=opts.generation_time_ms() * 1e-3,
        eps_r=opts.eps_r,
        eps_s=opts.eps_s,
    )


def _intents(opts: MulticastOptions) -> np.ndarray:
    return intent_matrix(opts.intents, opts.users, opts.num_classes, opts.classes_per_user)


def _validate(config, opts: MulticastOptions, point: dict) -> None:
    # Builds one instance: bad intents, requirements below a curve's floor, etc. fail here.
    _problem(opts, scenario_budget(config), np.ones(opts.users))


def _proposed(ctx: PointContext, opts: MulticastOptions, budget, gains: np.ndarray):
    """Per-drop mean user latency (s), gamma, eq. (11)'s SE and the mean map SE of problem (8)'s optimum."""
    latency, gamma, se, map_se = (np.empty(opts.draws) for _ in range(4))
    intents = _intents(opts)
    last = time.monotonic()
    for n in range(opts.draws):
        alloc = solve(_problem(opts, budget, gains[n], intents), opts.solver)
        latency[n] = alloc.mean_latency_s
        gamma[n] = alloc.power_ratio
        se[n] = alloc.spectral_efficiency()
        map_se[n] = alloc.map_spectral_efficiency().mean()
        if time.monotonic() - last > 0.5:
            ctx.progress(n + 1, opts.draws)
            last = time.monotonic()
    return latency, gamma, se, map_se


@register_method("multicast", metrics=METRICS, options=MulticastOptions, validate=_validate)
def multicast(ctx: PointContext) -> dict:
    """Per-user latency of intent-aware generative multicasting (Liu et al., problem (8)) over user drops."""
    opts: MulticastOptions = ctx.options
    budget = scenario_budget(ctx.config)
    seed = int(torch.randint(0, 2**62, (1,), generator=ctx.generator))
    gains = channel_gains(budget, (opts.draws, opts.users), np.random.default_rng(seed), opts.fading)
    if opts.scheme == "proposed":
        latency, gamma, se, map_se = _proposed(ctx, opts, budget, gains)
        summary = _problem(opts, budget, gains[0]).compression(opts.rate_decimals)
        rate, bits = summary["average_rate"], summary["bits"]
    else:
        # One stream at full power: closed forms, all drops at once.
        problem = _problem(opts, budget, gains[0])
        rate = ngm_rate(problem) if opts.scheme == "ngm" else fgm_rate(problem)
        if opts.rate_decimals is not None:
            rate = round(rate, opts.rate_decimals)
        bits = problem.image_pixels * rate
        latencies = ngm_latencies if opts.scheme == "ngm" else fgm_latencies
        latency = latencies(problem, gains).mean(axis=1)
        gamma = np.ones(opts.draws)
        # One multicast stream over B0: its SE averaged over the users (the paper's Fig. 6
        # benchmarks), not eq. (11)'s sum over users.
        se = map_se = single_stream_spectral_efficiency(problem, gains).mean(axis=1)
    latency_ms = latency * 1e3
    t_g = opts.generation_time_ms()
    ratio = latency_ms / t_g if t_g > 0 else np.full(opts.draws, np.nan)
    return {
        "latency_ms": latency_ms.tolist(),
        "latency_ratio": ratio.tolist(),
        "power_ratio": gamma.tolist(),
        "spectral_efficiency": se.tolist(),
        "map_spectral_efficiency": map_se.tolist(),
        "average_rate": float(rate),
        "bits": float(bits),
    }
