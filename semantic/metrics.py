"""Image quality metrics (torchmetrics), per image, for images in [-1, 1].

All functions take float (B, C, H, W) in [-1, 1] and return float32 (B,).
"""

from __future__ import annotations

import torch
from torchmetrics.functional.image import (
    multiscale_structural_similarity_index_measure,
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)

__all__ = ["PSNR_CAP_DB", "masked_psnr", "ms_ssim", "psnr", "ssim"]

# Wang et al. (2003) weights of the five MS-SSIM scales.
_MS_SSIM_BETAS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _unit(x: torch.Tensor) -> torch.Tensor:
    return ((x.float() + 1) / 2).clamp(0, 1)


#: PSNR of identical images (infinite) is reported as this many dB, so means stay finite.
PSNR_CAP_DB = 100.0


def psnr(estimate: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """PSNR in dB over the [-1, 1] range (equal to PSNR of [0, 1] images with peak 1),
    capped at :data:`PSNR_CAP_DB`."""
    value = peak_signal_noise_ratio(
        _unit(estimate), _unit(reference), data_range=1.0, reduction="none", dim=(1, 2, 3)
    )
    return value.clamp(max=PSNR_CAP_DB)


def ssim(estimate: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """SSIM (Gaussian 11x11 window, sigma 1.5)."""
    return structural_similarity_index_measure(_unit(estimate), _unit(reference), data_range=1.0, reduction="none")


def ms_ssim(estimate: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """MS-SSIM with as many of the five standard scales as the image size allows.

    Each scale halves the image and the 11x11 window must fit the coarsest one,
    so 64x64 images use 3 scales (their betas renormalised to sum to 1).
    """
    size = min(estimate.shape[-2:])
    scales = 1
    while scales < 5 and size // 2**scales > 10:
        scales += 1
    betas = torch.tensor(_MS_SSIM_BETAS[:scales])
    betas = tuple((betas / betas.sum()).tolist())
    return multiscale_structural_similarity_index_measure(
        _unit(estimate), _unit(reference), data_range=1.0, reduction="none", betas=betas, normalize="relu"
    )


def masked_psnr(estimate: torch.Tensor, reference: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """PSNR (dB, [0, 1] scale as :func:`psnr`) over the pixels of bool ``mask`` (B, H, W) only;
    NaN for an empty mask, capped at :data:`PSNR_CAP_DB`."""
    m = mask.unsqueeze(1).expand_as(estimate).float()
    count = m.flatten(1).sum(1)
    mse = ((_unit(estimate) - _unit(reference)) ** 2 * m).flatten(1).sum(1) / count.clamp(min=1)
    value = (10 * torch.log10(1.0 / mse.clamp(min=1e-20))).clamp(max=PSNR_CAP_DB)
    return torch.where(count > 0, value, torch.full_like(value, float("nan")))
