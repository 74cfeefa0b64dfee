"""Modulation-and-coding schemes of the stream link and link adaptation over them.

An :class:`Mcs` is one QAM order and one 5G LDPC code (k information bits in n coded
bits); :data:`MCS_TABLE` is the stream link's table (n = 1536, QPSK .. 256-QAM,
0.41 .. 7 bit/s/Hz). Link adaptation picks, for a receiver's SNR, the MCS of highest
efficiency that the receiver can decode:

- ``choose_mcs_backoff``: efficiency at most log2(1 + SNR / backoff), a fixed gap to
  capacity (the older rule, kept as an option);
- ``choose_mcs_thresholds``: SNR at least the MCS's measured threshold at a target
  BLER (:mod:`phy.link_abstraction` measures them on this link).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import BITS_PER_SYMBOL

__all__ = ["MCS_TABLE", "Mcs", "choose_mcs_backoff", "choose_mcs_thresholds", "shannon_snr_db"]


@dataclass(frozen=True)
class Mcs:
    """One modulation and 5G LDPC code rate; ``efficiency`` in information bits per channel use."""

    modulation: str
    k: int
    n: int

    @property
    def bits_per_symbol(self) -> int:
        """Q_m, bits per QAM symbol."""
        return BITS_PER_SYMBOL[self.modulation]

    @property
    def efficiency(self) -> float:
        """Information bits per channel use: Q_m k / n."""
        return self.bits_per_symbol * self.k / self.n

    @property
    def name(self) -> str:
        """``<modulation>-k/n``."""
        return f"{self.modulation}-{self.k}/{self.n}"


#: Ascending efficiency, 0.41 .. 7 bit/s/Hz: QPSK at code rate 0.2 (5G LDPC's lowest) up to
#: 256-QAM at 7/8, about the span of the 5G MCS tables.
MCS_TABLE = tuple(
    Mcs(m, k, 1536)
    for m, k in [
        ("qpsk", 312), ("qpsk", 384), ("qpsk", 512), ("qpsk", 768), ("qpsk", 1024), ("16qam", 768),
        ("16qam", 1024), ("16qam", 1152), ("64qam", 1024), ("64qam", 1152), ("64qam", 1280),
        ("256qam", 1152), ("256qam", 1344),
    ]
)  # fmt: skip


def shannon_snr_db(efficiency) -> np.ndarray:
    """SNR (dB) at which log2(1 + SNR) equals ``efficiency`` (bit/s/Hz), elementwise."""
    return 10 * np.log10(np.expm1(np.asarray(efficiency, dtype=np.float64) * np.log(2)))


def choose_mcs_backoff(snr_db, backoff_db: float = 3.0, table=MCS_TABLE) -> np.ndarray:
    """int MCS indices into ``table``, shape of ``snr_db``: the highest efficiency at most
    log2(1 + SNR / backoff) (index 0 when even the lowest falls short)."""
    snr_db = np.asarray(snr_db, dtype=np.float64)
    target = np.log2(1 + 10 ** ((snr_db - backoff_db) / 10))
    effs = np.array([m.efficiency for m in table])
    return np.maximum(np.searchsorted(effs, target, side="right") - 1, 0)


def choose_mcs_thresholds(snr_db, thresholds_db) -> np.ndarray:
    """int MCS indices, shape of ``snr_db``: the highest MCS whose threshold (dB, one per MCS of the
    table, ascending efficiency; +inf for an MCS never reaching the target) the SNR meets; index 0
    when none is met (the floor: the link still sends, at the lowest MCS, and may lose it)."""
    snr_db = np.asarray(snr_db, dtype=np.float64)
    thr = np.asarray(thresholds_db, dtype=np.float64)
    if thr.ndim != 1 or thr.size == 0:
        raise ValueError(f"thresholds_db must be (M,) with M >= 1; got shape {thr.shape}")
    met = snr_db[..., None] >= thr  # (..., M)
    # The highest index met (thresholds need not be sorted: a higher MCS is only taken if its own is met).
    best = np.where(met, np.arange(thr.size), -1).max(axis=-1)
    return np.maximum(best, 0)
