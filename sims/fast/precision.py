"""FAST's performance reward: the precision of the image a receiver denoises from an arrival schedule.

Seed 001 scores the final image with the CLIP score against the prompt (eq. (2)); gscsim's
substitute is the shipped segmenter's mIoU of the final image against the *full* label map
(classes never sent count: the receiver was asked for them). The image is the sequential
conditional denoising (:func:`semantic.receivers.scd.sequential_conditional_denoising`) of the
map under the schedule, from an x_T fixed per image (seeded by the image's index): with DDIM's
eta = 0 the reward is then a function of (image, schedule) alone, the same in any batch, and
repeated (image, schedule) pairs are served from an LRU cache.

Schedules of one image share prefixes (every episode of a map sends its phase-1 units at step 0;
two users whose late units arrive alike up to step s share the chain up to s): the oracle cuts
the chain at the arrival steps and keeps the x between cuts in a second LRU cache keyed by (image,
step, arrivals before it), so a segment is denoised once per distinct prefix. The images are those
of the whole chain (DDIM's step is stateless); the saving is measured by ``steps_run`` against
``steps_full`` (FAST's allocation training: see ``gscsim train fast-bandwidth``).

Shapes: label pool int64 (P, H, W); a call takes image indices int (M,) and arrival steps
int (M, C + 1) (:data:`~semantic.receivers.scd.NEVER` for units never sent).
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch

from phy.rng import derive_seed, make_generator
from semantic.metrics import miou
from semantic.receivers.scd import NEVER, ScdConfig, sequential_conditional_denoising
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
    :param state_cache_size: chain states kept for prefix sharing (12 KB each at 32 px); 0: every
        chain runs whole. Needs DDIM's eta = 0.
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
        state_cache_size: int = 0,
    ):
        if state_cache_size and scd.eta != 0:
            raise ValueError(f"state_cache_size needs a deterministic chain (eta = 0), got eta = {scd.eta}")
        self.model, self.segmenter = model.to(device).eval(), segmenter.to(device).eval()
        self.labels, self.num_classes, self.scd = labels.long(), num_classes, scd
        self.noise_seed, self.device, self.batch_size, self.cache_size = noise_seed, device, batch_size, cache_size
        self.cache: OrderedDict[tuple[int, bytes], float] = OrderedDict()
        self.state_cache_size = state_cache_size
        self.states: OrderedDict[tuple[int, int, bytes], torch.Tensor] = OrderedDict()
        self.images_denoised = 0
        self.calls = 0
        self.steps_run = 0  #: image-steps denoised
        self.steps_full = 0  #: image-steps the same images would have cost without prefix sharing

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
    def denoise_shared(self, indices: np.ndarray, arrival: np.ndarray) -> torch.Tensor:
        """float32 (M, 3, H, W): the images of :meth:`denoise`, each distinct chain prefix run once
        (module docstring). Cuts: the arrival steps of the call; the state entering cut g is keyed by
        (image, g, arrival with the entries >= g set to NEVER)."""
        steps = self.scd.steps
        cuts = sorted({0, steps} | {int(a) for a in np.unique(arrival) if a < steps})
        x = self.noise(indices)
        position = np.zeros(len(indices), np.int64)  # index into cuts of each image's state

        def key(m: int, g: int) -> tuple[int, int, bytes]:
            return int(indices[m]), g, np.where(arrival[m] < g, arrival[m], NEVER).tobytes()

        for m in range(len(indices)):  # resume from the latest cached state
            for j in range(len(cuts) - 1, 0, -1):
                state = self.states.get(key(m, cuts[j]))
                if state is not None:
                    self.states.move_to_end(key(m, cuts[j]))
                    x[m], position[m] = state, j
                    break
        for j in range(len(cuts) - 1):
            groups: dict[tuple[int, int, bytes], list[int]] = {}
            for m in np.flatnonzero(position == j):
                groups.setdefault(key(m, cuts[j + 1]), []).append(m)
            if not groups:
                continue
            heads = np.array([rows[0] for rows in groups.values()])
            prefix = np.where(arrival[heads] < cuts[j + 1], arrival[heads], NEVER)
            labels = self.labels[torch.as_tensor(indices[heads], dtype=torch.long)].to(self.device)
            out = sequential_conditional_denoising(
                self.model, labels, torch.as_tensor(prefix, dtype=torch.long), self.num_classes,
                make_generator(self.noise_seed, self.device), self.scd, noise=x[heads].to(self.device),
                start_step=cuts[j], stop_step=cuts[j + 1],
            ).state.cpu()  # fmt: skip
            self.steps_run += len(heads) * (cuts[j + 1] - cuts[j])
            for (k, rows), state in zip(groups.items(), out):
                x[rows], position[rows] = state, j + 1
                if cuts[j + 1] < steps:
                    self.states[k] = state.clone()
        while len(self.states) > self.state_cache_size:
            self.states.popitem(last=False)
        self.steps_full += len(indices) * steps
        return x.clamp(-1, 1).to(self.device)

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
            if self.state_cache_size:
                images = self.denoise_shared(indices[rows], arrival[rows])
            else:
                images = self.denoise(indices[rows], arrival[rows]).images
                self.steps_run += len(rows) * self.scd.steps
                self.steps_full += len(rows) * self.scd.steps
            out[rows] = self.score(images, indices[rows])
            self.images_denoised += len(rows)
        if self.cache_size:
            for i in todo:
                self.cache[keys[i]] = float(out[i])
            while len(self.cache) > self.cache_size:
                self.cache.popitem(last=False)
        return out
