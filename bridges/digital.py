"""Pixels <-> bits for the digital path: uniform quantisation, MSB first."""

from __future__ import annotations

import torch

__all__ = ["bits_to_levels", "dequantize", "levels_to_bits", "quantize"]


def quantize(values: torch.Tensor, bits_per_pixel: int) -> torch.Tensor:
    """float in [-1, 1] -> int64 levels in [0, 2^b - 1] (nearest level)."""
    top = 2**bits_per_pixel - 1
    return torch.round((values.clamp(-1, 1) + 1) / 2 * top).to(torch.int64)


def dequantize(levels: torch.Tensor, bits_per_pixel: int) -> torch.Tensor:
    """int levels -> float32 in [-1, 1]."""
    return levels.to(torch.float32) / (2**bits_per_pixel - 1) * 2 - 1


def levels_to_bits(levels: torch.Tensor, bits_per_pixel: int) -> torch.Tensor:
    """int64 (..., P) -> float32 (..., P * b) in {0, 1}, most significant bit first."""
    shifts = torch.arange(bits_per_pixel - 1, -1, -1, device=levels.device)
    return ((levels[..., None] >> shifts) & 1).to(torch.float32).flatten(-2)


def bits_to_levels(bits: torch.Tensor, bits_per_pixel: int) -> torch.Tensor:
    """float (..., P * b) -> int64 (..., P); inverse of :func:`levels_to_bits`."""
    weights = 2 ** torch.arange(bits_per_pixel - 1, -1, -1, device=bits.device)
    grouped = bits.reshape(*bits.shape[:-1], -1, bits_per_pixel).to(torch.int64)
    return (grouped * weights).sum(-1)
