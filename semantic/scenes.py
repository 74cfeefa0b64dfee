"""CamVid's three training sequences as the three monitored scenes of M-GSC's case study.

Seed 003 (Yang et al., Section IV, Fig. 5) monitors three road scenes, each
user with its own decoder and a static background as its personalised
reference image, trained on 1000 UA-DETRAC frames per scene (300 per scene
pooled for the cluster-wide model). UA-DETRAC is not here; CamVid train holds
three video sequences, told apart by the file-name prefix (0001TP: 62 frames,
0006R0: 101, 0016E5: 204). Each becomes one user's scene:

- its frames in time order are split into training frames and a held-out
  tail (``holdout``, default the last 20%) that evaluation uses, so no test
  frame is next to a training frame except at the one cut;
- the *reference image* is the per-pixel median of the training frames
  (the paper's static background; CamVid's camera moves, so it is the
  sequence's typical layout: sky, buildings, road);
- the cluster subset is ``cluster_fraction`` of the training frames, spread
  evenly (the paper's 300 of 1000).

Vehicles are the ``Car`` components of each frame's label map (at
``label_size``, then coded to 5-bit boxes, :mod:`semantic.boxes`).

Shapes: images float32 (N, 3, S, S) in [-1, 1]; labels int64 (N, L, L); box
codes one int64 (M_i, 4) per frame; reference float32 (3, S, S).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .boxes import boxes_from_labels, quantize_boxes
from .data import _square, _to_tensor, camvid_pairs, resolve_data_dir

__all__ = ["CAMVID_CAR_ID", "CAMVID_SEQUENCES", "Scene", "load_scene", "load_scenes", "sequence_of"]

#: the CamVid train sequences (file-name prefixes), one user each.
CAMVID_SEQUENCES = ("0001TP", "0006R0", "0016E5")
#: the CamVid class whose components are the vehicles.
CAMVID_CAR_ID = 8


def sequence_of(path: Path) -> str:
    """The sequence prefix of a CamVid file name, e.g. ``0016E5_07959.png`` -> ``0016E5``."""
    return path.name.split("_")[0]


@dataclass
class Scene:
    """One user's scene: its training and held-out frames with their boxes and its reference."""

    name: str
    images: torch.Tensor  #: float32 (N, 3, S, S): every frame, time order
    labels: torch.Tensor  #: int64 (N, L, L): label maps at ``label_size``
    codes: list[torch.Tensor]  #: N x int64 (M_i, 4): each frame's 5-bit vehicle boxes
    train_index: list[int]  #: frames the local model trains on
    test_index: list[int]  #: the held-out tail
    cluster_index: list[int]  #: the subset of train_index pooled for the cluster-wide model
    reference: torch.Tensor  #: float32 (3, S, S): per-pixel median of the training frames

    def subset(self, which: str) -> list[int]:
        """``train``, ``test`` or ``cluster`` frame indices."""
        return {"train": self.train_index, "test": self.test_index, "cluster": self.cluster_index}[which]


def load_scene(
    data_dir: str | Path | None,
    name: str,
    image_size: int = 32,
    label_size: int = 128,
    holdout: float = 0.2,
    cluster_fraction: float = 0.3,
    min_area: float = 0.004,
) -> Scene:
    """One CamVid train sequence as a :class:`Scene` (images resized to the centre square)."""
    if name not in CAMVID_SEQUENCES:
        raise ValueError(f"sequence {name!r}: expected one of {', '.join(CAMVID_SEQUENCES)}")
    if not 0 < holdout < 1 or not 0 < cluster_fraction <= 1:
        raise ValueError(f"holdout must be in (0, 1) and cluster_fraction in (0, 1]; got {holdout}, {cluster_fraction}")
    root = resolve_data_dir(data_dir)
    pairs = sorted((p for p in camvid_pairs(root, "train") if sequence_of(p[0]) == name), key=lambda p: p[0].name)
    if len(pairs) < 2:
        raise FileNotFoundError(f"{root / 'train'}: sequence {name} has {len(pairs)} frames (need 2)")
    images = torch.stack([_to_tensor(_square(Image.open(p), image_size, "resize_crop", Image.Resampling.BOX)) for p, _ in pairs])
    labels = torch.stack([
        torch.from_numpy(np.asarray(_square(Image.open(q), label_size, "resize_crop", Image.Resampling.NEAREST), dtype=np.int64))
        for _, q in pairs
    ])  # fmt: skip
    codes = [quantize_boxes(boxes_from_labels(lab, CAMVID_CAR_ID, min_area)) for lab in labels]
    n_test = max(1, round(holdout * len(pairs)))
    train_index = list(range(len(pairs) - n_test))
    n_cluster = max(1, round(cluster_fraction * len(train_index)))
    cluster_index = [train_index[i * len(train_index) // n_cluster] for i in range(n_cluster)]
    reference = images[train_index].median(dim=0).values
    return Scene(name, images, labels, codes, train_index, list(range(len(train_index), len(pairs))), cluster_index, reference)


def load_scenes(data_dir: str | Path | None, **kwargs) -> list[Scene]:
    """All three CamVid sequences (:data:`CAMVID_SEQUENCES`) as scenes; ``kwargs`` as :func:`load_scene`."""
    return [load_scene(data_dir, name, **kwargs) for name in CAMVID_SEQUENCES]
