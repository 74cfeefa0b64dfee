"""Non-generative fills of missing pixels: the "no generative receiver" references."""

from __future__ import annotations

import numpy as np
import torch
from scipy.ndimage import distance_transform_edt

__all__ = ["fill_nearest", "fill_zeros"]


def fill_zeros(images: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Missing pixels set to 0 (mid-grey in [-1, 1]). images (..., H, W), mask bool alike."""
    return torch.where(mask, images, torch.zeros_like(images))


def fill_nearest(images: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Each missing pixel takes the value of the nearest received pixel of its channel.

    :param images: float (..., H, W); :param mask: bool, same shape, True where received.
    A plane with no received pixel is filled with zeros. Runs on the CPU (scipy's
    Euclidean distance transform) and returns a tensor on the input's device.
    """
    values = images.detach().cpu().numpy().reshape(-1, *images.shape[-2:])
    known = mask.detach().cpu().numpy().reshape(values.shape)
    out = np.zeros_like(values)
    for i, (plane, have) in enumerate(zip(values, known)):
        if have.all():
            out[i] = plane
        elif have.any():
            _, (rows, cols) = distance_transform_edt(~have, return_indices=True)
            out[i] = plane[rows, cols]
    return torch.from_numpy(out.reshape(images.shape)).to(images.device)
