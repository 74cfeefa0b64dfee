"""Images <-> per-user complex signals of M entries per OFDM symbol.

An image (C, H, W) in [-1, 1] is flattened to D = C H W real values, optionally
permuted by a seeded interleaver, and packed into E = ceil(D / 2) complex
entries as x = x_R + j x_I with x_R the first half and x_I the second half
(zero-padded). The entries fill S OFDM symbols of M = ceil(E / S) entries
(zero-padded), and each image is scaled to unit average power per entry; the
scale is kept (side information) for the inverse.

Of each symbol's M entries only N ride on the user's N subcarriers: the
``sent`` indices (contiguous: the first N; interleaved: spread evenly over M).
The rest are never sent.

Shapes: images (B, K, C, H, W) float32; signals (B, K, S, M) complex64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = ["SignalLayout", "sent_entries"]


def sent_entries(num_entries: int, num_sent: int, pattern: str = "interleaved") -> torch.Tensor:
    """Indices (N,) int64, increasing, of the M entries per symbol that ride on subcarriers.

    ``contiguous``: 0..N-1; ``interleaved``: floor(i M / N), spread evenly over the symbol.
    """
    M, N = num_entries, num_sent
    if not 1 <= N <= M:
        raise ValueError(f"N = {N} subcarriers per user must be in [1, M = {M}] (entries per symbol)")
    if pattern == "contiguous":
        return torch.arange(N)
    if pattern == "interleaved":
        return torch.div(torch.arange(N) * M, N, rounding_mode="floor")
    raise ValueError(f"sent pattern {pattern!r}: expected 'contiguous' or 'interleaved'")


@dataclass(frozen=True)
class SignalLayout:
    """How an image of shape ``image_shape`` maps onto S x M complex entries.

    :param image_shape: (C, H, W).
    :param num_ofdm_symbols: S.
    :param interleaver_seed: seed of the pixel permutation, or None for none.
    """

    image_shape: tuple[int, int, int]
    num_ofdm_symbols: int
    interleaver_seed: int | None = None

    def __post_init__(self):
        if len(self.image_shape) != 3 or min(self.image_shape) < 1:
            raise ValueError(f"image_shape {self.image_shape} must be (C, H, W) with positive sizes")
        if self.num_ofdm_symbols < 1:
            raise ValueError("num_ofdm_symbols must be >= 1")

    @property
    def num_values(self) -> int:
        """D = C H W real values per image."""
        return math.prod(self.image_shape)

    @property
    def num_complex(self) -> int:
        """E = ceil(D / 2) complex entries carrying the image."""
        return (self.num_values + 1) // 2

    @property
    def entries_per_symbol(self) -> int:
        """M = ceil(E / S)."""
        return -(-self.num_complex // self.num_ofdm_symbols)

    def permutation(self, device: str | torch.device = "cpu") -> torch.Tensor | None:
        """(D,) int64 interleaver: value i of the sent vector is pixel ``perm[i]``."""
        if self.interleaver_seed is None:
            return None
        g = torch.Generator().manual_seed(self.interleaver_seed)
        return torch.randperm(self.num_values, generator=g).to(device)

    def _check_images(self, images: torch.Tensor) -> None:
        if images.dim() != 5 or tuple(images.shape[2:]) != tuple(self.image_shape):
            raise ValueError(f"images has shape {tuple(images.shape)}; expected (B, K, {', '.join(map(str, self.image_shape))})")

    def to_signal(self, images: torch.Tensor, normalize: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, K, C, H, W) float -> signal complex64 (B, K, S, M), scale float32 (B, K).

        ``signal * scale`` holds the image values; with ``normalize`` the signal has
        unit mean power over the E image entries (scale 1 for an all-zero image).
        """
        self._check_images(images)
        B, K = images.shape[:2]
        D, E = self.num_values, self.num_complex
        S, M = self.num_ofdm_symbols, self.entries_per_symbol
        values = images.reshape(B, K, D).float()
        perm = self.permutation(images.device)
        if perm is not None:
            values = values[..., perm]
        values = torch.nn.functional.pad(values, (0, 2 * E - D))
        entries = torch.complex(values[..., :E], values[..., E:])
        if normalize:
            power = entries.real.square().mean(-1) + entries.imag.square().mean(-1)
            scale = torch.where(power > 0, power.sqrt(), torch.ones_like(power))
        else:
            scale = torch.ones(B, K, device=images.device)
        entries = entries / scale[..., None]
        signal = torch.nn.functional.pad(entries, (0, S * M - E)).reshape(B, K, S, M)
        return signal, scale

    def to_images(self, signal: torch.Tensor, scale: torch.Tensor | None = None) -> torch.Tensor:
        """Inverse of :meth:`to_signal`: complex (B, K, S, M) -> float32 (B, K, C, H, W)."""
        B, K = signal.shape[:2]
        D, E = self.num_values, self.num_complex
        entries = signal.reshape(B, K, signal.shape[-2] * signal.shape[-1])[..., :E]
        if scale is not None:
            entries = entries * scale[..., None]
        values = torch.cat([entries.real, entries.imag], dim=-1)[..., :D]
        perm = self.permutation(signal.device)
        if perm is not None:
            values = torch.empty_like(values).index_copy_(-1, perm, values)
        return values.reshape(B, K, *self.image_shape)

    def entry_mask_to_image(self, entry_mask: torch.Tensor) -> torch.Tensor:
        """Which pixels an entry mask covers: bool (..., S, M) -> bool (..., C, H, W)."""
        lead = entry_mask.shape[:-2]
        flat = entry_mask.reshape(math.prod(lead), 1, *entry_mask.shape[-2:]).to(torch.float32)
        as_signal = torch.complex(flat, flat)
        pixels = self.to_images(as_signal) > 0.5
        return pixels.reshape(*lead, *self.image_shape)
