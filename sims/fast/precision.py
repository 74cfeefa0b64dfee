"""FAST's performance reward: the precision of the image a receiver denoises from an arrival schedule.

Seed 001 scores the final image with the CLIP score against the prompt (eq. (2)); gscsim's
substitute is the shipped segmenter's mIoU of the final image against the *full* label map
(classes never sent count: the receiver was asked for them). The image is the sequential
conditional denoising (:func:`semantic.receivers.scd.sequential_conditional_denoising`) of the
map under the schedule, from an x_T fixed per image (seeded by the image's index): with DDIM's
eta = 0 the reward is then a function of (image, schedule) alone, the same in any batch, and
repeated (image, schedule) pairs are served from an LRU cache.

Shapes: label pool int64 (P, H, W); a call takes image indices int (M,) and arrival steps
int (M, C + 1) (:data:`~semantic.receivers.scd.NEVER` for units never sent).
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch

from phy.rng import derive_seed, make_generator
from semantic.metrics import miou
from semantic.receivers.scd import ScdConfig, sequential_conditional_denoising
from semantic.receivers.sdm import SemanticUNet
from semantic.segmentation import DualResolutionSegmenter, segment

__all__ = ["ScdPrecision"]


class ScdPrecision:
    """Precision oracle: SCD images of a label pool, scored by a segmenter's mIoU.

    :param model: the SDM (trained with class dropout: ``camvid-sdm-partial-32``).
    :param segmenter: the scoring segmenter (``camvid-seg-32``).
    :param labels: int64 (P, H, W), the pool of label maps the episodes draw from.
    :param num_classes: C (void = C is not scored).
    :param scd: the receiver's SCD settings (T_d = ``scd.steps``, s, w, Delta's reading and window).
    :param noise_seed: x_T of image p is drawn from seed ``derive_seed(noise_seed, p)``.
    :param batch_size: images per SCD call (memory).
    :param cache_size: (image, schedule) results kept; 0: none.
    """

    def __init__(
        self,
        model: SemanticUNet,
        segmenter: DualResolutionSegmenter,
        labels: torch.Tensor,
        num_classes: int,
        scd: ScdConfig = ScdConfig(),
        noise_seed: int = 0,
        device: str = "cpu",
        batch_size: int = 256,
        cache_size: int = 100_000,
    ):
        self.model, self.segmenter = model.to(device).eval(), segmenter.to(device).eval()
        self.labels, self.num_classes, self.scd = labels.long(), num_classes, scd
        self.noise_seed, self.device, self.batch_size, self.cache_size = noise_seed, device, batch_size, cache_size
        self.cache: OrderedDict[tuple[int, bytes], float] = OrderedDict()
        self.images_denoised = 0
        self.calls = 0

    def noise(self, indices: np.ndarray) -> torch.Tensor:
        """x_T float32 (M, 3, H, W) of the pool images ``indices`` (drawn on the CPU: the same on every device)."""
        H, W = self.labels.shape[-2:]
        channels = self.model.config["image_channels"]
        return torch.stack(
            [torch.randn(channels, H, W, generator=make_generator(derive_seed(self.noise_seed, int(p)))) for p in indices]
        )

    @torch.no_grad()
    def denoise(self, indices: np.ndarray, arrival: np.ndarray, return_deltas: bool = False):
        """The SCD result (:class:`~semantic.receivers.scd.ScdResult`) of pool images ``indices`` under ``arrival``."""
        labels = self.labels[torch.as_tensor(indices, dtype=torch.long)].to(self.device)
        return sequential_conditional_denoising(
            self.model, labels, torch.as_tensor(arrival, dtype=torch.long), self.num_classes,
            make_generator(self.noise_seed, self.device), self.scd, return_deltas=return_deltas,
            noise=self.noise(indices).to(self.device),
        )  # fmt: skip

    @torch.no_grad()
    def score(self, images: torch.Tensor, indices: np.ndarray) -> np.ndarray:
        """float64 (M,): mIoU of the segmenter on ``images`` against the full maps of ``indices``."""
        labels = self.labels[torch.as_tensor(indices, dtype=torch.long)].to(images.device)
        values = miou(segment(self.segmenter, images), labels, self.num_classes, self.num_classes)
        return np.nan_to_num(values.double().cpu().numpy(), nan=0.0)

    def __call__(self, indices: np.ndarray, arrival: np.ndarray) -> np.ndarray:
        """float64 (M,): the precision of each (image, schedule); cached pairs are not denoised again."""
        self.calls += 1
        indices = np.asarray(indices, dtype=np.int64)
        arrival = np.asarray(arrival, dtype=np.int64)
        keys = [(int(p), a.tobytes()) for p, a in zip(indices, arrival)]
        out = np.empty(len(keys))
        todo = []
        for i, key in enumerate(keys):
            if key in self.cache:
                self.cache.move_to_end(key)
                out[i] = self.cache[key]
            else:
                todo.append(i)
        for start in range(0, len(todo), self.batch_size):
            rows = np.array(todo[start : start + self.batch_size])
            images = self.denoise(indices[rows], arrival[rows]).images
            out[rows] = self.score(images, indices[rows])
            self.images_denoised += len(rows)
        if self.cache_size:
            for i in todo:
                self.cache[keys[i]] = float(out[i])
            while len(self.cache) > self.cache_size:
                self.cache.popitem(last=False)
        return out
