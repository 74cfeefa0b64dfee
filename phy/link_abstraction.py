"""Link abstraction measured on gscsim's own PHY: BLER vs SNR of every MCS, and SNR thresholds.

:func:`measure_bler_table` runs the digital link (:class:`phy.link.OFDMALink`: 5G LDPC
from Sionna, QAM, perfect-CSI equalisation, APP demapping, BP decoding) for each MCS
of :data:`phy.mcs.MCS_TABLE` over a walk of SNRs with Monte-Carlo stopping rules
(:func:`phy.ber.simulate_link`), one codeword per cluster, so every BLER comes with
its exact binomial interval. A :class:`BlerTable` holds the curves of one channel kind
and gives the SNR threshold of each MCS at a target BLER (default 10%): link
adaptation (:func:`phy.mcs.choose_mcs_thresholds`) and the link-aware planner use
those instead of a fixed backoff from Shannon.

SNR is per resource element (Es / N0, unit-energy symbols). Over ``awgn`` it is the
SNR each codeword sees; over ``rayleigh_block`` it is the *average* SNR, each
codeword seeing its own CN(0, 1) gain (a transmitter that knows only the average).
:meth:`BlerTable.fading_average` predicts the second from the first
(BLER_ray(s) = E_|h|^2 [BLER_awgn(s |h|^2)]), which the tests check against the
measured Rayleigh table.

Shipped tables (``phy/data/mcs_bler_<channel>.json``) are regenerated with
``gscsim report mcs_table`` (settings and device recorded in the file).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from .ber import simulate_link
from .config import CodeConfig, GridConfig, LinkConfig, channel_config
from .link import OFDMALink
from .mcs import MCS_TABLE, Mcs, shannon_snr_db

__all__ = [
    "BlerCurve",
    "BlerTable",
    "IrCurve",
    "IrTable",
    "TABLE_DIR",
    "WalkSettings",
    "load_ir_table",
    "load_table",
    "measure_ir_table",
    "mcs_link_config",
    "measure_bler_table",
]

#: Where the shipped tables live.
TABLE_DIR = Path(__file__).with_name("data")


def mcs_link_config(mcs: Mcs, channel: str = "awgn", bp_iterations: int = 20) -> LinkConfig:
    """One user, one OFDM symbol holding exactly one codeword of ``mcs`` over ``channel``."""
    return LinkConfig(
        modulation=mcs.modulation,
        equalizer="mmse",
        code=CodeConfig(k=mcs.k, n=mcs.n, bp_iterations=bp_iterations),
        grid=GridConfig(num_subcarriers=mcs.n // mcs.bits_per_symbol, num_users=1, num_ofdm_symbols=1),
        channel=channel_config(channel),
    )


@dataclass(frozen=True)
class WalkSettings:
    """How one MCS's SNR walk goes: from Shannon's SNR of its efficiency + ``start_db`` upwards in
    ``step_db`` steps until the BLER falls below ``stop_bler`` (or ``max_points``); each point
    stops at ``target_errors`` block errors or ``max_blocks`` codewords."""

    start_db: float = -0.5
    step_db: float = 0.25
    stop_bler: float = 1e-3
    max_points: int = 40
    batch: int = 512
    max_blocks: int = 20_000
    target_errors: int = 200

    @classmethod
    def for_channel(cls, channel: str, **overrides) -> "WalkSettings":
        """Defaults per channel kind: block fading falls as 1 / SNR, so wider steps and a higher stop."""
        base = {"rayleigh_block": {"start_db": 0.0, "step_db": 1.0, "stop_bler": 5e-3, "max_points": 45}}.get(channel, {})
        return cls(**{**base, **overrides})


@dataclass
class BlerCurve:
    """BLER of one MCS over its SNR walk (ascending SNR)."""

    name: str
    modulation: str
    k: int
    n: int
    snr_db: list[float] = field(default_factory=list)
    bler: list[float] = field(default_factory=list)
    low: list[float] = field(default_factory=list)  #: 95% interval of each BLER
    high: list[float] = field(default_factory=list)
    blocks: list[int] = field(default_factory=list)
    errors: list[int] = field(default_factory=list)

    @property
    def efficiency(self) -> float:
        """Information bits per channel use."""
        return Mcs(self.modulation, self.k, self.n).efficiency

    def threshold_db(self, target_bler: float) -> float:
        """The SNR (dB) where the BLER first falls to ``target_bler``, interpolated linearly in
        log10 BLER between the two points around it; +inf when the walk never got there. The
        curve is made non-increasing first (a running minimum), so one noisy point cannot
        put the crossing below a point that still failed more often."""
        if not 0 < target_bler < 1:
            raise ValueError(f"target_bler must be in (0, 1); got {target_bler}")
        snr = np.asarray(self.snr_db, dtype=np.float64)
        bler = np.minimum.accumulate(np.asarray(self.bler, dtype=np.float64))
        below = np.flatnonzero(bler <= target_bler)
        if below.size == 0:
            return math.inf
        i = int(below[0])
        if i == 0:
            return float(snr[0])
        floor = 1e-9
        y0, y1 = math.log10(max(bler[i - 1], floor)), math.log10(max(bler[i], floor))
        t = (y0 - math.log10(target_bler)) / (y0 - y1) if y0 > y1 else 1.0
        return float(snr[i - 1] + t * (snr[i] - snr[i - 1]))

    def interpolate(self, snr_db) -> np.ndarray:
        """BLER at ``snr_db`` (array), linear in log10 BLER between measured points; 1 below the
        walk (it starts where codewords fail) and the last measured value above it."""
        snr = np.asarray(self.snr_db, dtype=np.float64)
        logb = np.log10(np.maximum(np.minimum.accumulate(np.asarray(self.bler, dtype=np.float64)), 1e-9))
        x = np.asarray(snr_db, dtype=np.float64)
        out = 10 ** np.interp(x, snr, logb, left=0.0, right=logb[-1])
        return np.where(x < snr[0], 1.0, out)


@dataclass
class BlerTable:
    """BLER curves of every MCS of a table over one channel kind, and how they were measured."""

    channel: str
    curves: list[BlerCurve]
    settings: dict = field(default_factory=dict)

    def thresholds_db(self, target_bler: float = 0.1) -> np.ndarray:
        """float64 (M,): each MCS's SNR threshold at ``target_bler`` (+inf where not reached)."""
        return np.array([c.threshold_db(target_bler) for c in self.curves])

    def efficiencies(self) -> np.ndarray:
        """float64 (M,) information bits per channel use of each MCS."""
        return np.array([c.efficiency for c in self.curves])

    def fading_average(self, index: int, snr_db, points: int = 4001) -> np.ndarray:
        """BLER of MCS ``index`` under flat Rayleigh block fading at average SNR ``snr_db``
        (array), from this (AWGN) curve: E_x[BLER(snr + 10 log10 x)], x ~ Exp(1), by the
        trapezoid rule over x in dB (-60 .. +20 dB: the BLER curve is near a step, so a
        quadrature rule on its own nodes would miss it)."""
        x_db = np.linspace(-60.0, 20.0, points)
        x = 10 ** (x_db / 10)
        density = x * np.exp(-x) * math.log(10) / 10  # pdf of x, times dx / d(x_db)
        s = np.atleast_1d(np.asarray(snr_db, dtype=np.float64))
        bler = self.curves[index].interpolate(s[:, None] + x_db[None, :])
        return np.trapezoid(bler * density, x_db, axis=1).reshape(np.shape(snr_db))

    def to_json(self) -> dict:
        """A JSON-able dict (:meth:`from_json` reads it back)."""
        return {"channel": self.channel, "settings": self.settings, "curves": [asdict(c) for c in self.curves]}

    @classmethod
    def from_json(cls, data: dict) -> "BlerTable":
        """The table of :meth:`to_json`'s dict; raises ValueError naming a missing key."""
        try:
            return cls(data["channel"], [BlerCurve(**c) for c in data["curves"]], data.get("settings", {}))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a BLER table: {exc}") from None

    def save(self, path: str | Path) -> Path:
        """Write the table as JSON; returns the path."""
        return _save_json(self.to_json(), path)


def _save_json(data: dict, path: str | Path) -> Path:
    """Write ``data`` as indented JSON, creating the folder; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))
    return path


def load_table(channel: str = "awgn", path: str | Path | None = None) -> BlerTable:
    """The shipped table of ``channel`` (``phy/data/mcs_bler_<channel>.json``) or the one at ``path``.

    :raises FileNotFoundError: no such table (regenerate with ``gscsim report mcs_table``).
    """
    where = Path(path) if path is not None else TABLE_DIR / f"mcs_bler_{channel}.json"
    if not where.exists():
        raise FileNotFoundError(f"no BLER table at {where}: run `gscsim report mcs_table --channel {channel}`")
    table = BlerTable.from_json(json.loads(where.read_text()))
    names = [c.name for c in table.curves]
    if names != [m.name for m in MCS_TABLE]:
        raise ValueError(f"{where}: its MCS list {names} is not the stream link's table")
    return table


def measure_curve(
    mcs: Mcs,
    channel: str,
    walk: WalkSettings,
    generator: torch.Generator,
    device: str = "cpu",
    bp_iterations: int = 20,
    snr_points_db: list[float] | None = None,
) -> BlerCurve:
    """BLER of ``mcs`` at the walk's SNRs (or at ``snr_points_db``, all of them)."""
    link = OFDMALink(mcs_link_config(mcs, channel, bp_iterations), device=device)
    curve = BlerCurve(mcs.name, mcs.modulation, mcs.k, mcs.n)
    start = float(shannon_snr_db(mcs.efficiency)) + walk.start_db
    points = snr_points_db if snr_points_db is not None else [start + i * walk.step_db for i in range(walk.max_points)]
    max_batches = max(1, math.ceil(walk.max_blocks / walk.batch))
    for snr in points:
        result = simulate_link(link, float(snr), generator, walk.batch, max_batches, walk.target_errors)
        lo, hi = result.blocks.interval()
        curve.snr_db.append(round(float(snr), 4))
        curve.bler.append(result.bler)
        curve.low.append(lo)
        curve.high.append(hi)
        curve.blocks.append(int(result.blocks.trials))
        curve.errors.append(int(result.blocks.errors))
        if snr_points_db is None and result.bler < walk.stop_bler:
            break
    return curve


def measure_bler_table(
    channel: str = "awgn",
    walk: WalkSettings | None = None,
    seed: int = 0,
    device: str = "cpu",
    bp_iterations: int = 20,
    indices: list[int] | None = None,
    progress: Callable[[str], None] | None = None,
) -> BlerTable:
    """BLER curves of the stream link's MCS (all, or ``indices``) over ``channel`` ("awgn" or
    "rayleigh_block"), each from its own seed (seed, MCS index) so a subset reproduces the full run's rows."""
    if channel not in ("awgn", "rayleigh_block"):
        raise ValueError(f"channel must be 'awgn' or 'rayleigh_block'; got {channel!r}")
    walk = walk or WalkSettings.for_channel(channel)
    chosen = list(range(len(MCS_TABLE))) if indices is None else list(indices)
    if any(not 0 <= i < len(MCS_TABLE) for i in chosen):
        raise ValueError(f"indices must lie in [0, {len(MCS_TABLE) - 1}]; got {chosen}")
    curves = []
    started = time.perf_counter()
    for i in chosen:
        g = torch.Generator(device=device)
        g.manual_seed(seed * 1000 + i)
        t0 = time.perf_counter()
        curve = measure_curve(MCS_TABLE[i], channel, walk, g, device, bp_iterations)
        curves.append(curve)
        if progress is not None:
            progress(f"{curve.name}: {len(curve.snr_db)} points, {sum(curve.blocks)} codewords, "
                     f"{time.perf_counter() - t0:.1f} s")  # fmt: skip
    settings = {
        "walk": asdict(walk), "seed": seed, "device": str(device), "bp_iterations": bp_iterations,
        "cn_update": "boxplus-phi", "demapping": "app", "equalizer": "mmse", "csi": "perfect",
        "seconds": round(time.perf_counter() - started, 1),
    }  # fmt: skip
    return BlerTable(channel, curves, settings)


# -- the rateless multicast's abstraction -------------------------------------------------


@dataclass
class IrCurve:
    """Steps an IR block needs to decode (:class:`phy.incremental.IncrementalRedundancy`), per SNR:
    ``cdf[i][a]`` = share of blocks decoded within a + 1 steps at ``snr_db[i]`` (a = 0 .. A - 1)."""

    modulation: str
    snr_db: list[float]
    cdf: list[list[float]]
    blocks: int

    def _cdf_at(self, x: np.ndarray) -> np.ndarray:
        """float64 (len(x), A): the CDF over steps at SNRs ``x`` (1-D), linear in SNR between the
        measured ones, clamped to the first / last measured SNR."""
        snr = np.asarray(self.snr_db, dtype=np.float64)
        cdf = np.asarray(self.cdf, dtype=np.float64)  # (S, A)
        pos = np.clip(np.interp(x, snr, np.arange(snr.size)), 0, snr.size - 1)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, snr.size - 1)
        t = (pos - lo)[:, None]
        return np.clip((1 - t) * cdf[lo] + t * cdf[hi], 0.0, 1.0)

    def expected_steps(self, snr_db, blocks: int = 1) -> np.ndarray:
        """Expected steps until all ``blocks`` blocks decoded (the stream's completion: E[max]),
        at ``snr_db`` (array), interpolating the CDF linearly in SNR; +inf where some block fails
        to decode in A steps with probability above 1% (the floor of this modulation)."""
        x = np.atleast_1d(np.asarray(snr_db, dtype=np.float64))
        F = self._cdf_at(x) ** blocks  # P(all done within a + 1 steps)
        # E[steps] = sum_{a >= 0} P(steps > a) over the A steps; the rest is the failure mass.
        expected = 1.0 + (1.0 - F[:, :-1]).sum(axis=1)
        fails = 1.0 - F[:, -1]
        out = np.where((fails > 0.01) | (x < self.snr_db[0]), np.inf, expected)
        return out.reshape(np.shape(snr_db))

    def step_quantile(self, snr_db, q: float) -> np.ndarray:
        """int steps by which a share ``q`` of single blocks decoded at ``snr_db`` (array), from the CDF
        interpolated in SNR; A + 1 where fewer than ``q`` decode within the A steps."""
        F = self._cdf_at(np.atleast_1d(np.asarray(snr_db, dtype=np.float64)))
        steps = (F < q).sum(axis=1) + 1  # the first step whose CDF reaches q
        return steps.reshape(np.shape(snr_db))


@dataclass
class IrTable:
    """IR curves for each modulation, with the IR settings they were measured with."""

    k: int
    increment_symbols: int
    max_rounds: int
    curves: dict[str, IrCurve]
    settings: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        """A JSON-able dict."""
        return {
            "k": self.k, "increment_symbols": self.increment_symbols, "max_rounds": self.max_rounds,
            "settings": self.settings, "curves": {m: asdict(c) for m, c in self.curves.items()},
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: dict) -> "IrTable":
        """The table of :meth:`to_json`'s dict; raises ValueError naming a missing key."""
        try:
            curves = {m: IrCurve(**c) for m, c in data["curves"].items()}
            return cls(data["k"], data["increment_symbols"], data["max_rounds"], curves, data.get("settings", {}))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not an IR table: {exc}") from None

    def save(self, path: str | Path) -> Path:
        """Write the table as JSON; returns the path."""
        return _save_json(self.to_json(), path)


def load_ir_table(path: str | Path | None = None) -> IrTable:
    """The shipped IR table (``phy/data/ir_awgn.json``) or the one at ``path``."""
    where = Path(path) if path is not None else TABLE_DIR / "ir_awgn.json"
    if not where.exists():
        raise FileNotFoundError(f"no IR table at {where}: run `gscsim report mcs_table --ir`")
    return IrTable.from_json(json.loads(where.read_text()))


#: SNR span (dB) of each modulation's IR curve: from where rate 1/5 x max_rounds stops working
#: to where the first attempts succeed.
IR_SPANS = {"qpsk": (-10.0, 10.0), "16qam": (-4.0, 16.0), "64qam": (2.0, 22.0), "256qam": (8.0, 28.0)}


def measure_ir_table(
    modulations=("qpsk", "16qam", "64qam", "256qam"),
    step_db: float = 1.0,
    blocks: int = 1000,
    batch: int = 250,
    seed: int = 0,
    device: str = "cpu",
    k: int = 1024,
    increment_symbols: int = 32,
    max_rounds: int = 4,
    bp_iterations: int = 20,
    progress: Callable[[str], None] | None = None,
) -> IrTable:
    """Per modulation, the distribution of steps one block needs at each SNR of its span."""
    from .incremental import IncrementalRedundancy

    curves = {}
    started = time.perf_counter()
    for j, mod in enumerate(modulations):
        ir = IncrementalRedundancy(k, mod, increment_symbols, max_rounds, bp_iterations, device)
        g = torch.Generator(device=device)
        g.manual_seed(seed * 1000 + j)
        lo, hi = IR_SPANS[mod]
        snrs = np.arange(lo, hi + 1e-9, step_db)
        cdf = []
        t0 = time.perf_counter()
        for snr in snrs:
            counts = torch.zeros(ir.steps + 2, dtype=torch.int64)
            for _ in range(math.ceil(blocks / batch)):
                payload = torch.randint(0, 2, (batch, ir.payload_bits), generator=g, device=device).float()
                steps = ir(payload, [float(snr)], g).block_steps.flatten().cpu()
                counts += torch.bincount(steps, minlength=ir.steps + 2)
            done = counts[1 : ir.steps + 1].cumsum(0).double() / counts.sum()
            cdf.append([round(float(v), 5) for v in done])
        curves[mod] = IrCurve(mod, [round(float(s), 3) for s in snrs], cdf, math.ceil(blocks / batch) * batch)
        if progress is not None:
            progress(f"IR {mod}: {len(snrs)} SNRs, {time.perf_counter() - t0:.1f} s")
    settings = {"seed": seed, "device": str(device), "bp_iterations": bp_iterations, "step_db": step_db,
                "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip
    return IrTable(k, increment_symbols, max_rounds, curves, settings)
