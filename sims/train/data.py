"""Training crops of CamVid train, shared by the trainers."""

from __future__ import annotations

import torch

from semantic.data import load_camvid, resolve_data_dir

__all__ = ["random_crops", "random_pair_crops", "training_images", "training_pairs"]


def training_images(data_dir: str | None, image_size: int, scales: tuple[float, ...]) -> list[torch.Tensor]:
    """CamVid train at each scale: (N, 3, s, s), the centre square at shorter side s = scale * image_size."""
    root = resolve_data_dir(data_dir)
    return [
        load_camvid(root, "train", image_size=max(image_size, round(scale * image_size)), transform="resize_crop")
        for scale in scales
    ]


def random_crops(images: list[torch.Tensor], size: int, batch: int, g: torch.Generator) -> torch.Tensor:
    """Random crops of random scales with random horizontal flips: (batch, 3, size, size)."""
    crops = []
    for i in torch.randint(len(images), (batch,), generator=g).tolist():
        pool = images[i]
        n, _, h, w = pool.shape
        k = int(torch.randint(n, (1,), generator=g))
        top = int(torch.randint(h - size + 1, (1,), generator=g))
        left = int(torch.randint(w - size + 1, (1,), generator=g))
        crop = pool[k, :, top : top + size, left : left + size]
        if bool(torch.rand(1, generator=g) < 0.5):
            crop = crop.flip(-1)
        crops.append(crop)
    return torch.stack(crops)


def training_pairs(
    data_dir: str | None, image_size: int, scales: tuple[float, ...]
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """CamVid train images and label maps at each scale: [((N, 3, s, s), (N, s, s) int64)]."""
    root = resolve_data_dir(data_dir)
    return [
        load_camvid(root, "train", image_size=max(image_size, round(scale * image_size)), labels=True)
        for scale in scales
    ]


def random_pair_crops(
    pairs: list[tuple[torch.Tensor, torch.Tensor]], size: int, batch: int, g: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """The same random crop (and flip) of an image and its label map: (batch, 3, size, size), (batch, size, size)."""
    xs, ys = [], []
    for i in torch.randint(len(pairs), (batch,), generator=g).tolist():
        images, labels = pairs[i]
        n, _, h, w = images.shape
        k = int(torch.randint(n, (1,), generator=g))
        top = int(torch.randint(h - size + 1, (1,), generator=g))
        left = int(torch.randint(w - size + 1, (1,), generator=g))
        x = images[k, :, top : top + size, left : left + size]
        y = labels[k, top : top + size, left : left + size]
        if bool(torch.rand(1, generator=g) < 0.5):
            x, y = x.flip(-1), y.flip(-1)
        xs.append(x)
        ys.append(y)
    return torch.stack(xs), torch.stack(ys)
