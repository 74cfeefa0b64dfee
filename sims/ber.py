"""`gscsim ber`: BER/BLER-vs-SNR sweeps of the OFDMA link.

One row per operating point in ``ber.csv`` (rewritten atomically after every
point), a plot ``ber.png`` with confidence bars, and ``run.json`` with the
resolved config.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from pydantic import Field, model_validator
from tqdm import tqdm

from phy import LinkBudget, LinkConfig, OFDMALink, derive_seed, make_generator, resolve_device
from phy.ber import PointResult, simulate_link
from phy.config import StrictModel

from .config_io import ConfigError

__all__ = ["BerConfig", "CSV_COLUMNS", "run_ber"]

CSV_COLUMNS = [
    "axis", "value", "snr_db", "ebno_db",
    "bits", "bit_errors", "ber", "ber_ci_low", "ber_ci_high",
    "blocks", "block_errors", "bler", "bler_ci_low", "bler_ci_high",
    "batches", "seconds", "stop_reason",
]  # fmt: skip


class SweepAxisConfig(StrictModel):
    """The swept quantity and its values (a list, or start/stop/step inclusive)."""

    axis: Literal["ebno_db", "snr_db", "tx_power_dbm"] = "ebno_db"
    values: list[float] | None = None
    start: float | None = None
    stop: float | None = None
    step: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _check_values(self) -> "SweepAxisConfig":
        ranged = (self.start, self.stop, self.step)
        if self.values is not None:
            if any(v is not None for v in ranged):
                raise ValueError("give either values or start/stop/step, not both")
            if not self.values:
                raise ValueError("values is empty")
        elif any(v is None for v in ranged):
            raise ValueError("give values, or all of start, stop and step")
        elif self.stop < self.start:
            raise ValueError(f"stop ({self.stop}) is below start ({self.start})")
        return self

    def points(self) -> list[float]:
        if self.values is not None:
            return list(self.values)
        count = int(np.floor((self.stop - self.start) / self.step + 1e-9)) + 1
        return [round(self.start + i * self.step, 10) for i in range(count)]


class MonteCarloConfig(StrictModel):
    """Stopping rules per point, as in Sionna's sim_ber."""

    batch_size: int = Field(64, gt=0)
    max_batches: int = Field(100, gt=0)
    target_block_errors: int | None = Field(100, gt=0)
    target_bit_errors: int | None = Field(None, gt=0)
    early_stop: bool = Field(True, description="skip the points after the first error-free one")
    confidence: float = Field(0.95, gt=0, lt=1)


class BerConfig(StrictModel):
    """A `gscsim ber` run."""

    seed: int = Field(0, ge=0)
    device: str = Field("cpu", pattern=r"^(cpu|auto|cuda(:\d+)?)$")
    output: str = "results/ber"
    link: LinkConfig = LinkConfig()
    sweep: SweepAxisConfig = SweepAxisConfig(values=[0.0, 2.0, 4.0])
    monte_carlo: MonteCarloConfig = MonteCarloConfig()

    @model_validator(mode="after")
    def _check_budget(self) -> "BerConfig":
        if self.sweep.axis == "tx_power_dbm" and self.link.budget is None:
            raise ValueError("sweep.axis = 'tx_power_dbm' needs a [link.budget] table")
        if self.sweep.axis != "tx_power_dbm" and self.link.budget is not None:
            raise ValueError(
                "[link.budget] sets per-user SNRs from distances; sweep.axis must then be 'tx_power_dbm'"
            )
        return self


def _snr_for_point(link: OFDMALink, config: BerConfig, value: float):
    """SNR per resource element for one sweep value: a number, or a per-user sampler."""
    axis = config.sweep.axis
    if axis == "snr_db":
        return value
    if axis == "ebno_db":
        return link.snr_db_from_ebno_db(value)
    budget = LinkBudget(config.link.budget)

    def per_user_snr(batch_size: int, generator: torch.Generator) -> torch.Tensor:
        d = budget.sample_distances((batch_size, link.num_users), generator, link.device)
        return budget.snr_db(d.double().cpu(), value).to(link.device, torch.float32)

    return per_user_snr


def _row(axis: str, value: float, link: OFDMALink, result: PointResult, confidence: float) -> dict:
    if axis == "tx_power_dbm":
        snr_db = ebno_db = float("nan")  # per-user, drawn from distances
    elif axis == "snr_db":
        snr_db, ebno_db = value, value - 10 * np.log10(link.info_bits_per_re)
    else:
        snr_db, ebno_db = link.snr_db_from_ebno_db(value), value
    ber_lo, ber_hi = result.bits.interval(confidence)
    bler_lo, bler_hi = result.blocks.interval(confidence)
    return {
        "axis": axis, "value": value, "snr_db": snr_db, "ebno_db": ebno_db,
        "bits": result.bits.trials, "bit_errors": result.bits.errors,
        "ber": result.ber, "ber_ci_low": ber_lo, "ber_ci_high": ber_hi,
        "blocks": result.blocks.trials, "block_errors": result.blocks.errors,
        "bler": result.bler, "bler_ci_low": bler_lo, "bler_ci_high": bler_hi,
        "batches": result.batches, "seconds": round(result.seconds, 3),
        "stop_reason": result.stop_reason,
    }  # fmt: skip


def write_csv_atomic(path: Path, rows: list[dict], columns: list[str]) -> None:
    """Write the whole table to a temporary file, then rename it over ``path``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run_ber(config: BerConfig, output: str | None = None, quiet: bool = False) -> list[dict]:
    """Run the sweep; write ``ber.csv``, ``ber.png`` and ``run.json`` under the output folder."""
    from .plotting import plot_ber

    try:
        device = resolve_device(config.device)
    except ValueError as exc:
        raise ConfigError(f"device: {exc}") from None
    out = Path(output or config.output)
    out.mkdir(parents=True, exist_ok=True)
    (out / "run.json").write_text(
        json.dumps({"command": "ber", "device": device, "config": config.model_dump()}, indent=2)
    )
    link = OFDMALink(config.link, device=device)
    mc = config.monte_carlo
    axis = config.sweep.axis
    rows: list[dict] = []
    points = config.sweep.points()
    bar = tqdm(points, desc=f"BER sweep over {axis}", unit="point", disable=quiet)
    for value in bar:
        generator = make_generator(derive_seed(config.seed, axis, value), device)

        def show(result: PointResult) -> None:
            bar.set_postfix_str(
                f"{axis}={value:g} batch {result.batches}/{mc.max_batches} "
                f"BER={result.ber:.2e} block errors={result.blocks.errors}"
            )

        result = simulate_link(
            link, _snr_for_point(link, config, value), generator,
            mc.batch_size, mc.max_batches, mc.target_block_errors, mc.target_bit_errors,
            on_batch=None if quiet else show,
        )  # fmt: skip
        rows.append(_row(axis, value, link, result, mc.confidence))
        write_csv_atomic(out / "ber.csv", rows, CSV_COLUMNS)
        if mc.early_stop and result.bits.errors == 0:
            if not quiet:
                tqdm.write(f"no errors at {axis} = {value:g}: skipping the remaining points")
            break
    bar.close()
    plot_ber(rows, config, out / "ber.png")
    return rows
