"""Arrival schedules of FAST's baselines and of a trained ordering policy (seed 001, Sec. V-A, V-E).

A schedule gives each unit of a map the DDIM step at which it joins the receiver's condition
(:data:`~semantic.receivers.scd.NEVER`: discarded) and the request's residual latency (time
beyond T_d, in step durations), by the phase rules of :mod:`sims.fast.order_env`.

- :func:`fixed_order_schedule`: units in a fixed priority order, ``first`` of them in phase 1
  and ``per_phase`` in every later phase (the sequential baseline: floor(tau_d / tau_e) per
  phase); ``first = N`` with no later phase is conventional GSC (extract everything, then denoise).
- :func:`policy_schedule`: a trained policy's deterministic choices, with the per-round record
  that Fig. 7's statistics need.

Shapes: units bool (P, N); arrival int64 (P, N); residual float64 (P,).
"""

from __future__ import annotations

import numpy as np

from semantic.receivers.scd import NEVER
from semantic.units import UnitAttributes

from .settings import OrderSettings

__all__ = ["fixed_order_schedule", "policy_schedule"]


def fixed_order_schedule(
    units: np.ndarray, priority: np.ndarray, settings: OrderSettings, first: int, per_phase: int
) -> tuple[np.ndarray, np.ndarray]:
    """(arrival, residual latency): units sent highest ``priority`` (float (P, N)) first, ``first`` in
    phase 1 (at least one) and ``per_phase`` in each later phase while denoising lasts."""
    if first < 1 or per_phase < 0:
        raise ValueError(f"first must be >= 1 and per_phase >= 0, got {first}, {per_phase}")
    P, N = units.shape
    arrival = np.full((P, N), NEVER, dtype=np.int64)
    residual = np.zeros(P)
    for p in range(P):
        order = [n for n in np.argsort(-priority[p], kind="stable") if units[p, n]]
        head = order[:first]
        arrival[p, head] = 0
        residual[p] = len(head) * settings.tau_e
        rest = order[first:]
        for phase in range(1, settings.segments):
            batch, rest = rest[:per_phase], rest[per_phase:]
            arrival[p, batch] = phase * settings.tau_d
            residual[p] += max(0.0, len(batch) * settings.tau_e - settings.tau_d)
    return arrival, residual


def policy_schedule(
    policy, units: np.ndarray, attributes: UnitAttributes, settings: OrderSettings, masked: bool = True
) -> dict[str, np.ndarray]:
    """Run ``policy`` (a stable-baselines3 policy; ``masked``: MaskablePPO's, given the masks)
    deterministically on every map of ``units`` once -> ``arrival`` (P, N), ``residual`` (P,),
    ``round`` int (P, N) (the round each unit was sent in, 0: discarded) and ``phases`` (P,)."""
    from .order_env import OrderEpisodes

    P = len(units)
    recorded = {}

    def record(indices: np.ndarray, arrival: np.ndarray) -> np.ndarray:
        for i, a in zip(indices, arrival):  # the first end of each episode (ended ones step on, unused)
            recorded.setdefault(int(i), a.copy())
        return np.zeros(len(indices))

    rngs = [np.random.default_rng(0) for _ in range(P)]
    episodes = OrderEpisodes(units, attributes, record, settings, rngs)
    episodes.reset(np.ones(P, dtype=bool))
    episodes.image[:] = np.arange(P)
    episodes.present[:] = units
    out = {"residual": np.zeros(P), "round": np.zeros((P, units.shape[1]), np.int64), "phases": np.zeros(P, np.int64)}
    live = np.ones(P, dtype=bool)
    while live.any():
        kwargs = {"action_masks": episodes.action_masks()} if masked else {}
        actions, _ = policy.predict(episodes.observations(), deterministic=True, **kwargs)
        _, done, infos = episodes.step(actions)
        for b in np.flatnonzero(done & live):
            out["residual"][b] = infos[b]["residual_latency"]
            out["round"][b] = infos[b]["round"]
            out["phases"][b] = infos[b]["phases"]
        live &= ~done
    out["arrival"] = np.stack([recorded[p] for p in range(P)])
    return out
