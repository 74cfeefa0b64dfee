"""Monte-Carlo BER/BLER of the link at one operating point.

Same stopping rules as Sionna's ``sim_ber`` (batches until a target number of
bit or block errors, or a maximum number of batches), but the counts are kept
per independent channel draw so that the confidence intervals stay valid
under block fading (see :mod:`phy.stats`); ``sim_ber`` only exposes totals.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from .link import OFDMALink
from .stats import ClusteredCount

__all__ = ["PointResult", "simulate_errors", "simulate_link"]

#: ``mc_fun(batch_size) -> (bits, bits_hat)``, both (*clusters, blocks, block_length).
McFun = Callable[[int], tuple[torch.Tensor, torch.Tensor]]


@dataclass
class PointResult:
    """Error counts of one operating point."""

    bits: ClusteredCount = field(default_factory=ClusteredCount)
    blocks: ClusteredCount = field(default_factory=ClusteredCount)
    batches: int = 0
    seconds: float = 0.0
    stop_reason: str = "max_batches"

    @property
    def ber(self) -> float:
        """Bit error rate of the point."""
        return self.bits.rate

    @property
    def bler(self) -> float:
        """Block (codeword) error rate of the point."""
        return self.blocks.rate


def _batch_counts(bits: torch.Tensor, bits_hat: torch.Tensor) -> list[int]:
    """[bit errors, sum of squared per-cluster bit errors, block errors, same squared,
    clusters, bits per cluster, blocks per cluster] with a single device sync."""
    if bits.shape != bits_hat.shape or bits.dim() < 3:
        raise ValueError(
            f"mc_fun must return two tensors of equal shape (*clusters, blocks, block_length); "
            f"got {tuple(bits.shape)} and {tuple(bits_hat.shape)}"
        )
    blocks, block_length = bits.shape[-2:]
    errors = (bits != bits_hat).reshape(-1, blocks, block_length)
    bit_errors = errors.sum(dim=(1, 2), dtype=torch.int64)
    block_errors = errors.any(dim=-1).sum(dim=-1, dtype=torch.int64)
    sums = torch.stack(
        [bit_errors.sum(), bit_errors.square().sum(), block_errors.sum(), block_errors.square().sum()]
    ).tolist()
    return sums + [errors.shape[0], blocks * block_length, blocks]


def simulate_errors(
    mc_fun: McFun,
    batch_size: int,
    max_batches: int,
    target_block_errors: int | None = None,
    target_bit_errors: int | None = None,
    on_batch: Callable[[PointResult], None] | None = None,
) -> PointResult:
    """Run ``mc_fun`` until a target error count or ``max_batches`` is reached."""
    result = PointResult()
    start = time.perf_counter()
    with torch.no_grad():
        for _ in range(max_batches):
            bits, bits_hat = mc_fun(batch_size)
            be, be_sq, ke, ke_sq, clusters, bits_per, blocks_per = _batch_counts(bits, bits_hat)
            result.bits.add(be, clusters * bits_per, clusters, be_sq)
            result.blocks.add(ke, clusters * blocks_per, clusters, ke_sq)
            result.batches += 1
            if on_batch is not None:
                on_batch(result)
            if target_block_errors is not None and result.blocks.errors >= target_block_errors:
                result.stop_reason = "target_block_errors"
                break
            if target_bit_errors is not None and result.bits.errors >= target_bit_errors:
                result.stop_reason = "target_bit_errors"
                break
    result.seconds = time.perf_counter() - start
    return result


def simulate_link(
    link: OFDMALink,
    snr_db: float | Callable[[int, torch.Generator], torch.Tensor],
    generator: torch.Generator,
    batch_size: int,
    max_batches: int,
    target_block_errors: int | None = None,
    target_bit_errors: int | None = None,
    on_batch: Callable[[PointResult], None] | None = None,
) -> PointResult:
    """BER/BLER of ``link`` at one SNR; one cluster per (batch element, user).

    :param snr_db: SNR per resource element, or ``f(batch_size, generator) -> (B, K)``
        per-user SNRs (e.g. drawn user distances through a link budget).
    """

    def mc_fun(b: int) -> tuple[torch.Tensor, torch.Tensor]:
        bits = link.random_bits(b, generator)
        snr = snr_db(b, generator) if callable(snr_db) else snr_db
        return bits, link(bits, snr, generator).bits_hat

    return simulate_errors(
        mc_fun, batch_size, max_batches, target_block_errors, target_bit_errors, on_batch
    )
