"""M-GSC's edge-to-user hop and its latency (seed 003, Section IV, Figs. 5-6).

- :class:`AnalogHop`: the edge's intermediate image x_{T-s} over gscsim's OFDMA link,
  analog: each image is normalised to unit power and its 3 S S values ride two per
  complex resource element (real and imaginary part), so every value sees the
  link's SNR per resource element (the paper's "each pixel as a transmission
  symbol"; 3 S S / 2 channel uses). The link's channel kind applies (AWGN, the
  paper's; or fading, equalised with perfect CSI). The image's power is side
  information (:data:`POWER_BITS` bits, digital, like the boxes). Returns y = x + n in
  x's scale and the per-value noise variance, what
  :func:`semantic.receivers.split_ddpm.split_sample` takes as its ``link``.
- :func:`send_repeated`: a codec's symbols sent r times and combined by maximum
  ratio (inverse noise variance), so a baseline meets a larger channel-use budget.
- :class:`OffloadLatency`: s t_edge + air time + (T - s) t_user (Section III-B2's
  trade-off, Fig. 6 middle).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from phy import LinkConfig
from semantic.boxes import box_bits

from .jscc import SymbolLink

__all__ = ["POWER_BITS", "AnalogHop", "OffloadLatency", "send_repeated"]

#: bits of the per-image power the receiver needs to undo the normalisation (a float16).
POWER_BITS = 16


class AnalogHop:
    """Images float32 (B, K, 3, S, S) of K users over the link, analog, two values per resource element.

    :param link: the scenario's link (K users, its grid's OFDM symbols must divide 3 S S / 2).
    """

    def __init__(self, link: LinkConfig, image_size: int, device: str = "cpu"):
        values = 3 * image_size * image_size
        if values % 2:
            raise ValueError(f"3 x {image_size}^2 values do not pack in pairs")
        self.symbol_link = SymbolLink(link, values // 2, 0, device)

    @property
    def channel_uses(self) -> int:
        """Resource elements per image."""
        return self.symbol_link.channel_uses

    def __call__(
        self, x: torch.Tensor, snr_db: float, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(received y float32 (B, K, 3, S, S) = x + n, noise variance per value float32 (B, K))."""
        B, K = x.shape[:2]
        flat = x.reshape(B, K, -1)
        power = flat.square().mean(-1, keepdim=True).clamp(min=1e-12).sqrt()  # (B, K, 1)
        pairs = (flat / power).reshape(B, K, -1, 2)
        symbols = torch.complex(pairs[..., 0], pairs[..., 1]) / 2**0.5  # unit energy per resource element
        z_hat, no_eff, _ = self.symbol_link(symbols, snr_db, generator)
        values = torch.stack([z_hat.real, z_hat.imag], dim=-1).reshape(B, K, -1) * 2**0.5
        # per real value: (sqrt(2) p)^2 * no / 2 = p^2 no
        noise_var = (power.squeeze(-1).square() * no_eff.real.float().mean(-1))
        return (values * power).reshape(x.shape), noise_var


def send_repeated(
    link: SymbolLink, symbols: torch.Tensor, repetitions: int, snr_db: float, generator: torch.Generator
) -> torch.Tensor:
    """complex (B, K, k) sent ``repetitions`` times over ``link`` (built for k r symbols) and
    combined by maximum ratio: sum_i z_i / no_i / sum_i 1 / no_i -> complex (B, K, k)."""
    B, K, k = symbols.shape
    z_hat, no_eff, _ = link(symbols.repeat(1, 1, repetitions), snr_db, generator)
    weights = 1 / no_eff.real.reshape(B, K, repetitions, k)
    return (z_hat.reshape(B, K, repetitions, k) * weights).sum(2) / weights.sum(2)


@dataclass(frozen=True)
class OffloadLatency:
    """Decoding latency of a split chain (seconds).

    ``t_user`` and ``t_edge`` are the user's and the edge's times per denoising step of one
    image (the paper: an A100 edge, RTX 4070 Ti users); air time counts the analog image's
    resource elements and the digital side information (boxes, power) at
    ``bits_per_symbol``, all at ``symbol_rate`` resource elements per second.
    """

    t_user: float
    t_edge: float
    symbol_rate: float = 1e6
    bits_per_symbol: float = 2.0

    def air_time(self, channel_uses: int, num_boxes: int) -> float:
        """Seconds on air: analog resource elements + (boxes' bits + power bits) / bits_per_symbol."""
        return (channel_uses + (box_bits(num_boxes) + POWER_BITS) / self.bits_per_symbol) / self.symbol_rate

    def __call__(self, edge_steps: int, user_steps: float, channel_uses: int, num_boxes: int) -> float:
        """s t_edge + air time (the boxes alone when the edge ran nothing) + (remaining steps) t_user."""
        air = self.air_time(channel_uses, num_boxes) if edge_steps else box_bits(num_boxes) / self.bits_per_symbol / self.symbol_rate
        return edge_steps * self.t_edge + air + user_steps * self.t_user
