"""Problem (8) planned on the measured link instead of Shannon rates.

The exact and SQP solvers (:mod:`.exact`, :mod:`.sqp`) assume the smooth concave rate
log2(1 + SNR) of eqs. (5)-(6). A real link has a step-function rate: one MCS reaches a
user only above its measured SNR threshold (:mod:`phy.link_abstraction`), and below
the lowest one nothing is delivered; the rateless multicast
(:class:`phy.incremental.IncrementalRedundancy`) has a measured expected air time per
SNR with a floor too. Here every stream j gets a finite list of *options*, each a
power p and the air time t_kj it gives each of its users k:

- ``worst`` (one MCS per stream): per MCS m, the least power that brings the stream's
  weakest user to m's threshold, p = 10^(thr_m / 10) B N0 / min_k g_k; every user's air
  time is the stream's C_m n_m / (Q_m B) (C_m codewords of the frame);
- ``per_user`` (each user its own MCS: the latency model's idealisation): the powers
  that put some user exactly at some threshold; each user then takes the highest MCS
  it meets;
- ``rateless``: per modulation, powers that put the weakest user on a grid of SNRs
  (``grid_db``) over the measured IR curve; each user's air time is its expected IR
  steps (all C blocks decoded: E[max]) times C times the step's channel uses, over B.

The plan picks one option per stream to minimise sum_k T_k, T_k = max(T_g + t_k0,
max_{l wanted by k} t_kl), subject to sum_j p_j <= P_T. This is a multiple-choice
problem with a max-coupled objective:

- :func:`plan_bruteforce` enumerates every combination: **optimal** over the options,
  for small instances (the reference in the tests);
- :func:`plan` is a **heuristic**: for every option of the map stream, each class stream
  starts at its cheapest option that arrives no later than its users' map time (the
  discrete counterpart of the common-latency optimum of the Shannon model), the budget
  is repaired by cheapest-loss downgrades, then coordinate descent over all streams
  (map included) improves until no single-stream change helps. The best over the map's
  options is returned. The tests compare it with brute force on random small instances.

Power left over after the plan is spread over the streams in proportion (every power
scaled by P_T / sum p): it buys margin against the BLER (``worst``/``per_user`` keep
their MCS) or shortens the rateless air times (recomputed at the scaled powers).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..link_abstraction import IrTable
from ..mcs import MCS_TABLE

__all__ = ["LinkModel", "LinkPlan", "StreamOptions", "plan", "plan_bruteforce", "stream_options"]


@dataclass(frozen=True)
class LinkModel:
    """What the planner knows of the link.

    ``thresholds_db`` (M,) per MCS of ``MCS_TABLE`` at the target BLER; ``ir`` the rateless
    multicast's measured curves; ``crc_bits`` added to every frame; ``ir_payload_bits`` and
    ``ir_step_symbols`` the IR block's payload and one step's channel uses per block.
    """

    policy: Literal["worst", "per_user", "rateless"]
    thresholds_db: np.ndarray
    ir: IrTable | None = None
    crc_bits: int = 24
    ir_payload_bits: int = 1000
    ir_step_symbols: int = 32
    grid_db: float = 0.5

    def __post_init__(self):
        if self.policy not in ("worst", "per_user", "rateless"):
            raise ValueError(f"policy must be 'worst', 'per_user' or 'rateless'; got {self.policy!r}")
        if len(self.thresholds_db) != len(MCS_TABLE):
            raise ValueError(f"thresholds_db must have {len(MCS_TABLE)} entries; got {len(self.thresholds_db)}")
        if self.policy == "rateless" and self.ir is None:
            raise ValueError("policy 'rateless' needs the IR table (ir)")

    def mcs_airtime_s(self, frame_bits: int, index: int, bandwidth_hz: float) -> float:
        """Air time of a frame at MCS ``index``: C n / (Q_m B), C codewords of k bits hold frame + CRC."""
        m = MCS_TABLE[index]
        return math.ceil((frame_bits + self.crc_bits) / m.k) * m.n / m.bits_per_symbol / bandwidth_hz

    def ir_blocks(self, frame_bits: int) -> int:
        """IR blocks of a frame and its CRC."""
        return math.ceil((frame_bits + self.crc_bits) / self.ir_payload_bits)

    def rateless_airtime_s(self, frame_bits: int, modulation: str, snr_db, bandwidth_hz: float) -> np.ndarray:
        """Expected air time (s) at each SNR (array) of an IR transmission in ``modulation`` (inf: floor)."""
        blocks = self.ir_blocks(frame_bits)
        steps = self.ir.curves[modulation].expected_steps(snr_db, blocks)
        return steps * blocks * self.ir_step_symbols / bandwidth_hz

    def airtime_s(self, label, frame_bits: int, snr_db: np.ndarray, bandwidth_hz: float) -> np.ndarray:
        """Air time (s) per user at ``snr_db`` (U,) of an option's transmission mode ``label``."""
        snr_db = np.asarray(snr_db, dtype=np.float64)
        if self.policy == "rateless":
            return self.rateless_airtime_s(frame_bits, label, snr_db, bandwidth_hz)
        thr = np.asarray(self.thresholds_db)
        if self.policy == "worst":
            ok = snr_db >= thr[label] - 1e-9
            return np.where(ok, self.mcs_airtime_s(frame_bits, label, bandwidth_hz), np.inf)
        met = snr_db[:, None] >= thr[None, :] - 1e-9
        best = np.where(met, np.arange(thr.size), -1).max(axis=1)
        times = np.array([self.mcs_airtime_s(frame_bits, i, bandwidth_hz) for i in range(thr.size)])
        return np.where(best >= 0, times[np.maximum(best, 0)], np.inf)


@dataclass
class StreamOptions:
    """A stream's options: ``power`` float64 (O,) W, ``airtime`` float64 (O, U) s per user, ``label``
    per option (an MCS index, or a modulation for rateless), and the users (U,) it goes to."""

    users: np.ndarray
    power: np.ndarray
    airtime: np.ndarray
    label: list
    frame_bits: int = 0


def stream_options(
    model: LinkModel,
    frame_bits: int,
    users: np.ndarray,
    gains: np.ndarray,
    bandwidth_hz: float,
    noise_psd_w_hz: float,
    max_power_w: float,
) -> StreamOptions:
    """The options of one stream of ``frame_bits`` to ``users`` (indices into ``gains`` (K,)) up to
    ``max_power_w`` (module docstring). Dominated options (more power, no user faster) are dropped."""
    users = np.asarray(users, dtype=np.int64)
    g = np.asarray(gains, dtype=np.float64)[users]
    unit = bandwidth_hz * noise_psd_w_hz  # power per linear SNR unit at gain 1
    rel_db = 10 * np.log10(g / g.min())  # each user's SNR above the weakest's
    powers, labels = [], []
    if model.policy == "worst":
        for m, thr in enumerate(model.thresholds_db):
            if np.isfinite(thr):
                powers.append(10 ** (thr / 10) * unit / g.min())
                labels.append(m)
    elif model.policy == "per_user":
        for thr in model.thresholds_db:
            if np.isfinite(thr):
                for gk in g:
                    powers.append(10 ** (thr / 10) * unit / gk)
                    labels.append(None)
    else:
        for mod, curve in model.ir.curves.items():
            lo, hi = curve.snr_db[0], curve.snr_db[-1]
            for s in np.arange(lo, hi + model.grid_db / 2, model.grid_db):
                powers.append(10 ** (s / 10) * unit / g.min())
                labels.append(mod)
    powers = np.asarray(powers)
    keep = powers <= max_power_w * (1 + 1e-12)
    powers = powers[keep]
    labels = [lab for lab, k in zip(labels, keep) if k]
    snr_min = 10 * np.log10(np.maximum(powers, 1e-300) * g.min() / unit)
    air = np.array(
        [model.airtime_s(lab, frame_bits, s + rel_db, bandwidth_hz) for lab, s in zip(labels, snr_min)]
    ).reshape(len(labels), users.size)
    ok = np.isfinite(air).all(axis=1)
    powers, air = powers[ok], air[ok]
    labels = [lab for lab, k in zip(labels, ok) if k]
    if powers.size == 0:
        raise ValueError(
            f"a stream of {frame_bits} bits has no feasible option: no {model.policy} transmission reaches its "
            f"weakest user within {max_power_w:.4g} W"
        )
    return _pareto(StreamOptions(users, powers, air, labels, frame_bits))


def _pareto(opts: StreamOptions) -> StreamOptions:
    """Drop options another one beats: no more power and no user slower (sorted by power)."""
    order = np.argsort(opts.power, kind="stable")
    keep, best = [], None
    for i in order:
        a = opts.airtime[i]
        if best is not None and np.all(a >= best - 1e-15):
            continue
        keep.append(i)
        best = a if best is None else np.minimum(best, a)
    keep = np.asarray(keep)
    return StreamOptions(opts.users, opts.power[keep], opts.airtime[keep], [opts.label[i] for i in keep], opts.frame_bits)


@dataclass
class LinkPlan:
    """The chosen option per stream (index 0: the map), the planned per-user latency and powers."""

    choice: list[int]
    latency_s: np.ndarray  #: float64 (K,) planned T_k
    power_w: np.ndarray  #: float64 (J,) planned powers, scaled to use the budget
    labels: list  #: per stream: MCS index or modulation
    objective_s: float
    method: str
    evaluated: int = 0  #: objective evaluations (for the brute-force comparison)
    stream_latency_s: list = field(default_factory=list)  #: per stream (U_j,) planned air time at the scaled powers


def _latencies(streams: list[StreamOptions], choice, K: int, tg: float) -> np.ndarray:
    lat = np.zeros(K)
    for j, (s, o) in enumerate(zip(streams, choice)):
        t = s.airtime[o] + (tg if j == 0 else 0.0)
        lat[s.users] = np.maximum(lat[s.users], t)
    return lat


def _check(streams, K):
    if not streams:
        raise ValueError("no streams to plan")
    if not np.array_equal(np.sort(streams[0].users), np.arange(K)):
        raise ValueError("stream 0 must be the map, sent to every user")


def plan_bruteforce(streams: list[StreamOptions], K: int, tg: float, budget_w: float, limit: int = 2_000_000) -> LinkPlan:
    """Optimal over the options by enumeration (raises ValueError above ``limit`` combinations)."""
    _check(streams, K)
    sizes = [s.power.size for s in streams]
    if math.prod(sizes) > limit:
        raise ValueError(f"{math.prod(sizes)} combinations exceed the brute-force limit {limit}")
    best, best_obj, n = None, math.inf, 0
    for choice in itertools.product(*[range(n_) for n_ in sizes]):
        n += 1
        if sum(s.power[o] for s, o in zip(streams, choice)) > budget_w * (1 + 1e-12):
            continue
        obj = _latencies(streams, choice, K, tg).sum()
        if obj < best_obj - 1e-15:
            best, best_obj = list(choice), obj
    if best is None:
        raise ValueError("no combination of options fits the power budget")
    return _finish(streams, best, K, tg, budget_w, "bruteforce", n, None, None)


def plan(
    streams: list[StreamOptions],
    K: int,
    tg: float,
    budget_w: float,
    model: LinkModel | None = None,
    gains: np.ndarray | None = None,
    bandwidth_hz: float | None = None,
    noise_psd_w_hz: float | None = None,
) -> LinkPlan:
    """The heuristic of the module docstring. ``model``, ``gains``, ``bandwidth_hz`` and
    ``noise_psd_w_hz`` let the rateless air times be recomputed at the scaled powers."""
    _check(streams, K)
    powers = [s.power for s in streams]
    if sum(p.min() for p in powers) > budget_w * (1 + 1e-12):
        raise ValueError("no combination of options fits the power budget: even the cheapest exceed P_T")
    best, best_obj, n = None, math.inf, 0
    for o0 in range(streams[0].power.size):
        if powers[0][o0] + sum(p.min() for p in powers[1:]) > budget_w * (1 + 1e-12):
            break  # options are sorted by power: the rest cost more
        a = tg + streams[0].airtime[o0]
        choice = [o0]
        for s in streams[1:]:
            on_time = np.flatnonzero(np.all(s.airtime <= a[s.users] + 1e-15, axis=1))
            choice.append(int(on_time[0]) if on_time.size else int(np.argmin(s.airtime.max(axis=1))))
        choice, evals = _repair(streams, choice, K, tg, budget_w)
        choice, more = _descend(streams, choice, K, tg, budget_w)
        n += evals + more
        obj = _latencies(streams, choice, K, tg).sum()
        if obj < best_obj - 1e-15:
            best, best_obj = choice, obj
    if best is None:
        raise ValueError("no combination of options fits the power budget")
    return _finish(streams, best, K, tg, budget_w, "heuristic", n, model, (gains, bandwidth_hz, noise_psd_w_hz))


def _repair(streams, choice, K, tg, budget_w):
    """Downgrade (cheaper option) the stream whose downgrade costs the least latency per watt saved
    until the plan fits the budget."""
    choice = list(choice)
    evals = 0
    while sum(s.power[o] for s, o in zip(streams, choice)) > budget_w * (1 + 1e-12):
        base = _latencies(streams, choice, K, tg).sum()
        best, best_rate = None, math.inf
        for j, s in enumerate(streams):
            for o in range(choice[j]):  # cheaper options come first
                saved = s.power[choice[j]] - s.power[o]
                if saved <= 0:
                    continue
                trial = choice.copy()
                trial[j] = o
                evals += 1
                rate = (_latencies(streams, trial, K, tg).sum() - base) / saved
                if rate < best_rate:
                    best, best_rate = (j, o), rate
        if best is None:
            break
        choice[best[0]] = best[1]
    return choice, evals


def _descend(streams, choice, K, tg, budget_w, passes: int = 50):
    """Coordinate descent: per stream, the option of least objective within the budget, until stable."""
    choice = list(choice)
    evals = 0
    for _ in range(passes):
        changed = False
        for j, s in enumerate(streams):
            others = [(st, o) for i, (st, o) in enumerate(zip(streams, choice)) if i != j]
            spent = sum(st.power[o] for st, o in others)
            lat = np.zeros(K)
            for i, (st, o) in enumerate(zip(streams, choice)):
                if i == j:
                    continue
                lat[st.users] = np.maximum(lat[st.users], st.airtime[o] + (tg if i == 0 else 0.0))
            rest = lat.sum() - lat[s.users].sum()
            mine = np.maximum(lat[s.users][None, :], s.airtime + (tg if j == 0 else 0.0)).sum(axis=1) + rest
            mine[s.power + spent > budget_w * (1 + 1e-12)] = np.inf
            evals += s.power.size
            o = int(np.argmin(mine))
            if mine[o] < mine[choice[j]] - 1e-15:
                choice[j] = o
                changed = True
        if not changed:
            break
    return choice, evals


def _finish(streams, choice, K, tg, budget_w, method, evals, model, link) -> LinkPlan:
    """The plan at ``choice``, powers scaled to the budget; rateless air times recomputed there."""
    power = np.array([s.power[o] for s, o in zip(streams, choice)])
    objective = float(_latencies(streams, choice, K, tg).sum())
    scale = budget_w / power.sum() if power.sum() > 0 else 1.0
    scaled = power * scale
    per_stream = [s.airtime[o].copy() for s, o in zip(streams, choice)]
    if model is not None and model.policy == "rateless" and link[0] is not None:
        gains, B, n0 = link
        for j, s in enumerate(streams):
            snr = 10 * np.log10(scaled[j] * gains[s.users] / (B * n0))
            per_stream[j] = np.minimum(per_stream[j], model.airtime_s(s.label[choice[j]], s.frame_bits, snr, B))
    lat = np.zeros(K)
    for j, s in enumerate(streams):
        lat[s.users] = np.maximum(lat[s.users], per_stream[j] + (tg if j == 0 else 0.0))
    labels = [s.label[o] for s, o in zip(streams, choice)]
    return LinkPlan(list(choice), lat, scaled, labels, objective, method, evals, per_stream)
