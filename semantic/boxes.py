"""Bounding-box semantics: vehicles as boxes, 5 bits per coordinate, box masks, box IoU.

M-GSC's case study (Yang et al., seed 003, Section IV) describes a scene by its
vehicles' bounding boxes, each a 4-tuple (x_min, y_min, x_max, y_max)
normalised to [0, 1] and coded with five bits per element ("a resolution of
0.03125"), so M vehicles cost exactly 4 x 5 x M bits, sent digitally and
error-free. Here the boxes come from a label map (the paper's YOLO is not
here): the connected components (8-connectivity) of one class, at least
``min_area`` of the image each (the SKB's "segmentation masks -> connected
components -> bounding box", seed 003 Section II-B3).

Conventions. A box is float32 (4,) = (x0, y0, x1, y1) in normalised *edge*
coordinates: a component covering pixel columns c0..c1 of a W-wide map has
x0 = c0 / W, x1 = (c1 + 1) / W, so boxes from any resolution compare directly.
The 5-bit code is the index of the first and of the last of 2**bits grid cells
the box touches, q0 = floor(x0 * 2**b) and q1 = ceil(x1 * 2**b) - 1: 2**b cells
have 2**b indices (edge positions would need 2**b + 1 values), the decoded box
(q0 / 2**b, (q1 + 1) / 2**b) contains the original, each edge moves outward by
less than one cell, and on a 2**b-pixel map (32 px for 5 bits) the round trip
is exact. Read as cell centres ((q + 0.5) / 2**b) the codes are the paper's
mid-rise quantiser of the pixel-centre coordinates, within half a cell
(:func:`quantize_unit`).

Shapes: a set of M boxes is float32 (M, 4); codes int64 (M, 4); bits uint8
(20 M,) in coordinate order, most significant bit first; masks float32 (H, W).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage

__all__ = [
    "BITS_PER_COORDINATE",
    "box_iou",
    "box_mask",
    "boxes_from_labels",
    "codes_to_bits",
    "bits_to_codes",
    "dequantize_boxes",
    "matched_box_iou",
    "quantize_boxes",
    "quantize_unit",
    "box_bits",
]

#: the paper's five bits per normalised coordinate (resolution 1/32).
BITS_PER_COORDINATE = 5


def box_bits(num_boxes: int, bits: int = BITS_PER_COORDINATE) -> int:
    """Bits of M boxes: 4 coordinates x ``bits`` x M (seed 003, Section IV)."""
    return 4 * bits * num_boxes


def boxes_from_labels(labels: torch.Tensor, class_id: int, min_area: float = 0.004) -> torch.Tensor:
    """Boxes float32 (M, 4) of the connected components of ``class_id`` in a label map int (H, W).

    Components smaller than ``min_area`` (fraction of the map's pixels) are dropped;
    the boxes are sorted by area, largest first (ties by position), so the order is
    deterministic.
    """
    if labels.dim() != 2:
        raise ValueError(f"labels must be (H, W); got {tuple(labels.shape)}")
    if not 0 <= min_area < 1:
        raise ValueError(f"min_area must be in [0, 1); got {min_area}")
    H, W = labels.shape
    components, count = ndimage.label(labels.cpu().numpy() == class_id, structure=np.ones((3, 3)))
    boxes = []
    for index, window in enumerate(ndimage.find_objects(components), start=1):
        if window is None or (components[window] == index).sum() < min_area * H * W:
            continue
        rows, cols = window
        boxes.append((cols.start / W, rows.start / H, cols.stop / W, rows.stop / H))
    boxes.sort(key=lambda b: (-(b[2] - b[0]) * (b[3] - b[1]), b[1], b[0]))
    return torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4)


def quantize_unit(values: torch.Tensor, bits: int = BITS_PER_COORDINATE) -> tuple[torch.Tensor, torch.Tensor]:
    """Mid-rise quantiser of values in [0, 1]: (codes int64 in 0..2**bits - 1, reconstructions (q + 0.5) / 2**bits).

    Every reconstruction is within half a step (2**-(bits + 1)) of its value.
    """
    if values.numel() and (values.min() < 0 or values.max() > 1):
        raise ValueError("values to quantise must lie in [0, 1]")
    levels = 2**bits
    codes = (values * levels).floor().clamp(0, levels - 1).long()
    return codes, (codes.float() + 0.5) / levels


def quantize_boxes(boxes: torch.Tensor, bits: int = BITS_PER_COORDINATE) -> torch.Tensor:
    """Codes int64 (M, 4) of boxes float32 (M, 4): the first and last grid cell touched per axis."""
    if boxes.dim() != 2 or boxes.shape[-1] != 4:
        raise ValueError(f"boxes must be (M, 4); got {tuple(boxes.shape)}")
    if boxes.numel() and (boxes.min() < 0 or boxes.max() > 1 or (boxes[:, 2:] <= boxes[:, :2]).any()):
        raise ValueError("boxes must satisfy 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1")
    levels = 2**bits
    scaled = boxes.double() * levels
    eps = 1e-9  # an edge exactly on a cell boundary belongs to the cell after it (x0) or before it (x1)
    lo = (scaled[:, :2] + eps).floor()
    hi = (scaled[:, 2:] - eps).ceil() - 1
    return torch.cat([lo, hi], dim=1).clamp(0, levels - 1).long()


def dequantize_boxes(codes: torch.Tensor, bits: int = BITS_PER_COORDINATE) -> torch.Tensor:
    """Boxes float32 (M, 4) covering the coded cells: (q0 / 2**b, (q1 + 1) / 2**b) per axis."""
    levels = 2**bits
    return torch.cat([codes[:, :2], codes[:, 2:] + 1], dim=1).float() / levels


def codes_to_bits(codes: torch.Tensor, bits: int = BITS_PER_COORDINATE) -> torch.Tensor:
    """The bit stream uint8 (4 * bits * M,) of codes (M, 4), most significant bit first."""
    shifts = torch.arange(bits - 1, -1, -1)
    return ((codes.reshape(-1, 1) >> shifts) & 1).to(torch.uint8).reshape(-1)


def bits_to_codes(stream: torch.Tensor, bits: int = BITS_PER_COORDINATE) -> torch.Tensor:
    """Codes int64 (M, 4) from a bit stream of 4 * bits * M bits (the inverse of :func:`codes_to_bits`)."""
    if stream.numel() % (4 * bits):
        raise ValueError(f"a box stream has a multiple of {4 * bits} bits; got {stream.numel()}")
    weights = 2 ** torch.arange(bits - 1, -1, -1)
    return (stream.reshape(-1, bits).long() * weights).sum(-1).reshape(-1, 4)


def box_mask(boxes: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """float32 (H, W): 1 on every pixel whose centre lies in a box (the union of the boxes)."""
    ys = (torch.arange(height, dtype=torch.float32) + 0.5) / height
    xs = (torch.arange(width, dtype=torch.float32) + 0.5) / width
    inside_y = (ys[None, :] >= boxes[:, 1:2]) & (ys[None, :] < boxes[:, 3:4])  # (M, H)
    inside_x = (xs[None, :] >= boxes[:, 0:1]) & (xs[None, :] < boxes[:, 2:3])  # (M, W)
    return (inside_y[:, :, None] & inside_x[:, None, :]).any(0).float() if len(boxes) else torch.zeros(height, width)


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pairwise IoU float32 (M, N) of boxes a (M, 4) and b (N, 4) in edge coordinates."""
    lo = torch.maximum(a[:, None, :2], b[None, :, :2])
    hi = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (hi - lo).clamp(min=0).prod(-1)
    area_a = (a[:, 2:] - a[:, :2]).prod(-1)
    area_b = (b[:, 2:] - b[:, :2]).prod(-1)
    return inter / (area_a[:, None] + area_b[None, :] - inter).clamp(min=1e-12)


def matched_box_iou(sent: torch.Tensor, found: torch.Tensor) -> float:
    """Mean over the sent boxes (M, 4) of the best IoU with any found box (N, 4); a box
    with nothing found scores 0. NaN when nothing was sent (the frame has no vehicle)."""
    if len(sent) == 0:
        return float("nan")
    if len(found) == 0:
        return 0.0
    return float(box_iou(sent, found).max(dim=1).values.mean())
