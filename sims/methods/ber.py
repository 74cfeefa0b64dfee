"""The `ber` method: BER/BLER of the OFDMA link at one SNR, Eb/N0 or transmit power."""

from __future__ import annotations

import math

import numpy as np
import torch
from pydantic import Field

from phy import LinkBudget, OFDMALink
from phy.ber import simulate_link
from phy.config import StrictModel
from phy.theory import qam_ber

from ..registry import Metric, PointContext, register_method

__all__ = ["BerOptions", "SNR_AXES"]

#: The sweep axes that set the operating point; a scenario uses exactly one.
SNR_AXES = ("ebno_db", "snr_db", "tx_power_dbm")


class BerOptions(StrictModel):
    """Monte-Carlo stopping rules per point, as in Sionna's sim_ber."""

    batch_size: int = Field(64, gt=0, description="slots per batch (each carries K users)")
    max_batches: int = Field(100, gt=0, description="stop after this many batches")
    target_block_errors: int | None = Field(100, gt=0, description="stop once this many block errors are counted")
    target_bit_errors: int | None = Field(None, gt=0, description="stop once this many bit errors are counted")
    early_stop: bool = Field(True, description="skip the points after the first error-free one")


def _validate(config, options: BerOptions, point: dict) -> None:
    used = [a for a in point if a in SNR_AXES]
    if len(used) != 1:
        raise ValueError(f"needs exactly one sweep axis among {', '.join(SNR_AXES)} (got {used or 'none'})")
    if used[0] == "tx_power_dbm" and config.link.budget is None:
        raise ValueError("sweep axis tx_power_dbm needs a [link.budget] table")
    if used[0] != "tx_power_dbm" and config.link.budget is not None:
        raise ValueError("[link.budget] sets per-user SNRs from distances: sweep tx_power_dbm instead")


def _link(ctx: PointContext) -> OFDMALink:
    return ctx.cache.get(
        OFDMALink, (ctx.config.link, ctx.device), lambda: OFDMALink(ctx.config.link, device=ctx.device)
    )


def _operating_point(link: OFDMALink, config, axis: str, value: float):
    """(SNR argument for the link, snr_db column, ebno_db column)."""
    if axis == "snr_db":
        return value, value, value - 10 * math.log10(link.info_bits_per_re)
    if axis == "ebno_db":
        snr = link.snr_db_from_ebno_db(value)
        return snr, snr, value
    budget = LinkBudget(config.link.budget)

    def per_user_snr(batch_size: int, generator: torch.Generator) -> torch.Tensor:
        d = budget.sample_distances((batch_size, link.num_users), generator, link.device)
        return budget.snr_db(d, value).float()

    return per_user_snr, float("nan"), float("nan")  # per-user SNRs: no single value


def _stops_line(row: dict, options: BerOptions) -> bool:
    return options.early_stop and int(row["ber_errors"]) == 0


def _references(config, metric: str, x_axis: str, xs: np.ndarray) -> list:
    """Closed-form uncoded BER of the channel kind's reference (``ChannelConfig.ber_reference``)."""
    channel = type(config.link.channel).ber_reference
    if metric != "ber" or channel is None or x_axis not in ("ebno_db", "snr_db"):
        return []
    m = config.link.bits_per_symbol
    # Uncoded at the same Eb/N0 (Eb per information bit: m bits per symbol) or SNR.
    snr = xs + 10 * math.log10(m) if x_axis == "ebno_db" else xs
    label = f"uncoded {config.link.modulation.upper()}, {channel}, closed form"
    return [(label, xs, qam_ber(snr, m, channel))]


@register_method(
    "ber",
    metrics=[Metric("ber", "rate", log_scale=True), Metric("bler", "rate", log_scale=True)],
    options=BerOptions,
    axes=set(SNR_AXES),
    extra_columns=("snr_db", "ebno_db", "batches", "stop_reason"),
    validate=_validate,
    stops_line=_stops_line,
    references=_references,
)
def ber(ctx: PointContext) -> dict:
    """Monte-Carlo BER/BLER of the OFDMA link at one SNR, Eb/N0 or transmit power."""
    opts: BerOptions = ctx.options
    link = _link(ctx)
    axis = next(a for a in SNR_AXES if a in ctx.point)
    snr, snr_db, ebno_db = _operating_point(link, ctx.config, axis, float(ctx.point[axis]))
    result = simulate_link(
        link, snr, ctx.generator, opts.batch_size, opts.max_batches,
        opts.target_block_errors, opts.target_bit_errors,
        on_batch=lambda r: ctx.progress(r.batches, opts.max_batches),
    )  # fmt: skip
    return {
        "ber": result.bits, "bler": result.blocks, "snr_db": snr_db, "ebno_db": ebno_db,
        "batches": result.batches, "stop_reason": result.stop_reason,
    }  # fmt: skip
