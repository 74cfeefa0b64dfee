"""Image quality metrics (torchmetrics), per image, for images in [-1, 1]; segmentation IoU;
a Frechet distance between feature sets.

The image metrics take float (B, C, H, W) in [-1, 1] and return float32 (B,).
"""

from __future__ import annotations

import torch
from torchmetrics.functional.image import (
    multiscale_structural_similarity_index_measure,
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)

__all__ = [
    "PSNR_CAP_DB", "class_iou", "frechet_distance", "image_class_iou", "masked_psnr", "miou", "ms_ssim", "ms_ssim_name",
    "ms_ssim_scales", "psnr", "ssim",
]  # fmt: skip

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


def ms_ssim_scales(size: int) -> int:
    """How many of MS-SSIM's five scales fit an image of side ``size``: each scale halves
    the image and the 11x11 window must fit the coarsest (32 px: 2, 64: 3, 128: 4, 176+: 5)."""
    scales = 1
    while scales < 5 and size // 2**scales > 10:
        scales += 1
    return scales


def ms_ssim_name(size: int) -> str:
    """The name of what :func:`ms_ssim` computes at side ``size``: ``ms_ssim`` with all five
    scales (comparable with published MS-SSIM), else ``ms_ssim_<scales>`` (e.g. ``ms_ssim_2``
    at 32 px: 2 scales, betas 0.136 / 0.864, which is not the published metric)."""
    scales = ms_ssim_scales(size)
    return "ms_ssim" if scales == 5 else f"ms_ssim_{scales}"


def ms_ssim(estimate: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """MS-SSIM with as many of the five standard scales as the image size allows
    (:func:`ms_ssim_scales`; the betas of the scales used renormalised to sum to 1).
    Report it under :func:`ms_ssim_name`.
    """
    scales = ms_ssim_scales(min(estimate.shape[-2:]))
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


def _confusion(predicted: torch.Tensor, labels: torch.Tensor, num_classes: int, ignore_index: int | None) -> torch.Tensor:
    """int64 (B, C, C + 1) confusion per image: [b, true class, predicted id], predictions outside
    the classes (e.g. void) in the last column; pixels whose true id is ``ignore_index`` (or any
    id >= C) left out. One bincount for the whole batch."""
    C, B = num_classes, labels.shape[0]
    truth, pred = labels.long().flatten(1), predicted.long().flatten(1).clamp(0, C)
    valid = (truth >= 0) & (truth < C)
    if ignore_index is not None:
        valid &= truth != ignore_index
    image = torch.arange(B, device=labels.device)[:, None].expand_as(truth)
    index = (image * C + truth) * (C + 1) + pred
    return torch.bincount(index[valid], minlength=B * C * (C + 1)).reshape(B, C, C + 1)


def _iou(confusion: torch.Tensor) -> torch.Tensor:
    """float32 (..., C) IoU TP / (TP + FP + FN) of (..., C, C + 1) confusions; NaN where the class is
    in neither prediction nor truth."""
    C = confusion.shape[-2]
    tp = confusion.diagonal(dim1=-2, dim2=-1)[..., :C].float()
    fn = confusion.sum(-1).float() - tp
    fp = confusion[..., :C].sum(-2).float() - tp
    union = tp + fp + fn
    return torch.where(union > 0, tp / union.clamp(min=1), torch.full_like(tp, float("nan")))


# torchmetrics' Jaccard index pools a batch into one score; per-image IoU with absent classes marked
# needs the per-image confusion, which one bincount gives for the whole batch.
def class_iou(predicted: torch.Tensor, labels: torch.Tensor, num_classes: int, ignore_index: int | None = None) -> torch.Tensor:
    """Per-class IoU float32 (num_classes,) over all pixels of int64 (B, H, W) maps: TP / (TP + FP + FN);
    NaN for a class absent from both prediction and truth; pixels whose true id is ``ignore_index``
    (void) do not count."""
    return _iou(_confusion(predicted, labels, num_classes, ignore_index).sum(0))


def image_class_iou(
    predicted: torch.Tensor, labels: torch.Tensor, num_classes: int, ignore_index: int | None = None
) -> torch.Tensor:
    """Per-image, per-class IoU float32 (B, num_classes) of int64 (B, H, W) maps; NaN where a class is
    in neither the image's prediction nor its truth (void ignored). :func:`miou` is its nanmean."""
    return _iou(_confusion(predicted, labels, num_classes, ignore_index))


def miou(predicted: torch.Tensor, labels: torch.Tensor, num_classes: int, ignore_index: int | None = None) -> torch.Tensor:
    """Mean IoU per image, float32 (B,): the mean of each image's class IoU over the classes present in
    its prediction or truth (void ignored); NaN for an image with no valid pixel."""
    return image_class_iou(predicted, labels, num_classes, ignore_index).nanmean(-1)


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Frechet distance between Gaussians fitted to two feature sets float (N, D) and (M, D):
    ||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)), in float64 (scipy's sqrtm).

    The formula of FID; which network's features go in decides what it measures, so a
    value is named for its features (e.g. ``fd_seg``), never "FID". With N, M not much
    larger than D the covariances are poorly estimated and the value is biased upward.
    """
    import numpy as np
    from scipy import linalg

    x, y = a.detach().double().cpu().numpy(), b.detach().double().cpu().numpy()
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or min(len(x), len(y)) < 2:
        raise ValueError(f"feature sets must be (N, D) and (M, D) with N, M >= 2; got {x.shape}, {y.shape}")
    diff = x.mean(0) - y.mean(0)
    cov_x, cov_y = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    root = linalg.sqrtm(cov_x @ cov_y)
    return float(diff @ diff + np.trace(cov_x + cov_y) - 2 * np.trace(np.real(root)))
