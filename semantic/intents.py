"""Semantic decomposition by intent (Liu et al., Section II-A).

An image X (3, H, W) with a label map S (H, W) of class ids is split into
class masks M_l = [S == l]; user k with intent row I_k (L,) gets the intended
mask M_I = OR_{l : I_kl} M_l and the non-intended mask M_N = 1 - M_I. The
transmitter sends each intended class image X_l = M_l * X; user k composes
Y_k = M_I * (its reconstruction) + M_N * (the synthesis from the map).

Label maps come from the dataset (the paper assumes error-free segmentation at
the transmitter); :class:`Segmenter` is the slot a segmentation model plugs into.

Shapes: labels int64 (B, H, W); masks bool (B, L, H, W) or (B, K, H, W);
images float (B, 3, H, W) or per user (B, K, 3, H, W).
"""

from __future__ import annotations

from typing import Protocol

import torch

__all__ = ["Segmenter", "class_images", "class_masks", "compose", "intent_masks", "one_hot", "partial_one_hot"]


class Segmenter(Protocol):
    """Image -> label map: float (B, 3, H, W) in [-1, 1] -> int64 (B, H, W)."""

    def __call__(self, images: torch.Tensor) -> torch.Tensor: ...


def _check_labels(labels: torch.Tensor, num_classes: int) -> None:
    if labels.dim() != 3 or labels.dtype not in (torch.int64, torch.int32, torch.uint8):
        raise ValueError(f"labels must be an integer (B, H, W) tensor; got {labels.dtype} {tuple(labels.shape)}")
    if labels.numel() and (int(labels.min()) < 0):
        raise ValueError("labels must be >= 0")


def class_masks(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """bool (B, L, H, W): M_l = [labels == l] for l < L. Ids >= L (e.g. void) are in no mask."""
    _check_labels(labels, num_classes)
    ids = torch.arange(num_classes, device=labels.device).view(1, -1, 1, 1)
    return labels.long().unsqueeze(1) == ids


def one_hot(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """float32 (B, L + 1, H, W) one-hot label map; the last channel collects ids >= L (void).

    The conditioning input of the semantic diffusion model.
    """
    _check_labels(labels, num_classes)
    ids = labels.long().clamp(max=num_classes)
    return torch.nn.functional.one_hot(ids, num_classes + 1).permute(0, 3, 1, 2).float()


def partial_one_hot(labels: torch.Tensor, num_classes: int, received: torch.Tensor) -> torch.Tensor:
    """The SDM's condition for a partial map: the one-hot channels of the received classes, the null
    map (zeros) elsewhere. labels int (B, H, W); received bool (B, L + 1) or (L + 1,), the last entry
    being void -> float32 (B, L + 1, H, W); a pixel of a class not received is all-zero.
    """
    seg = one_hot(labels, num_classes)
    if received.shape[-1] != num_classes + 1:
        raise ValueError(f"received has {received.shape[-1]} entries; the map has {num_classes + 1} channels")
    return seg * received.to(seg.device, seg.dtype).reshape(-1, num_classes + 1, 1, 1)


def intent_masks(labels: torch.Tensor, intents: torch.Tensor) -> torch.Tensor:
    """bool (B, K, H, W): user k's intended region M_I = OR over its classes of M_l.

    intents: bool (K, L). The non-intended region is its complement.
    """
    if intents.dim() != 2:
        raise ValueError(f"intents must be (K, L); got shape {tuple(intents.shape)}")
    masks = class_masks(labels, intents.shape[1])  # (B, L, H, W)
    sel = intents.to(device=labels.device, dtype=torch.float32)
    return torch.einsum("kl,blhw->bkhw", sel, masks.float()) > 0


def class_images(images: torch.Tensor, masks: torch.Tensor, fill: float = 0.0) -> torch.Tensor:
    """(B, L, 3, H, W): X_l = M_l * X, with ``fill`` outside the class (0 = mid-grey in [-1, 1])."""
    if images.dim() != 4 or masks.dim() != 4 or images.shape[0] != masks.shape[0] or images.shape[-2:] != masks.shape[-2:]:
        raise ValueError(f"images (B, 3, H, W) and masks (B, L, H, W) must match; got {tuple(images.shape)}, {tuple(masks.shape)}")
    m = masks.unsqueeze(2)
    return torch.where(m, images.unsqueeze(1), torch.full_like(images.unsqueeze(1), fill))


def compose(reconstructed: torch.Tensor, synthesized: torch.Tensor, intended: torch.Tensor) -> torch.Tensor:
    """Y_k = M_I * reconstructed + M_N * synthesized, per user: (B, K, 3, H, W).

    reconstructed: (B, K, 3, H, W); synthesized: (B, K, 3, H, W) or one shared
    (B, 3, H, W); intended: bool (B, K, H, W). Intended pixels are copied exactly.
    """
    if synthesized.dim() == 4:
        synthesized = synthesized.unsqueeze(1).expand_as(reconstructed)
    if reconstructed.shape != synthesized.shape or intended.shape != reconstructed.shape[:2] + reconstructed.shape[-2:]:
        raise ValueError(
            f"compose needs reconstructed (B, K, 3, H, W), synthesized of the same shape and intended (B, K, H, W); "
            f"got {tuple(reconstructed.shape)}, {tuple(synthesized.shape)}, {tuple(intended.shape)}"
        )
    return torch.where(intended.unsqueeze(2), reconstructed, synthesized)
