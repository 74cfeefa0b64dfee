"""Source coding of the intent-multicasting streams at a target rate, with exact bit counts.

- a class stream: the masked class image X_l (mid-grey outside the class) as
  JPEG scan data (agreed header, :mod:`.jpeg`) at the highest quality whose
  bits fit ``rate_bpp * class_pixels``; rate in bits per pixel of the average
  class size |Xbar|, as in the paper;
- the map stream: lossless (run-length or PNG, fixed cost) or JPEG at the
  highest quality within ``rate_bpp * image_pixels``.

A stream that cannot meet its budget even at the lowest quality is sent at
quality 1 and reported with its true size (``bits`` > budget), never cut.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from . import jpeg, labelmap

__all__ = ["CodedStream", "code_class_image", "code_map", "decode_class_image", "decode_map"]

QUALITIES = tuple(range(95, 0, -1))


@dataclass(frozen=True)
class CodedStream:
    """What goes on the air: ``payload`` bytes (or ``bits`` array for run-length), its exact ``bits``,
    the ``quality`` the receiver needs (0 for lossless codecs) and the ``codec``."""

    codec: str
    payload: bytes | np.ndarray
    bits: int
    quality: int
    shape: tuple[int, int]


def _best_quality(encode, budget_bits: float) -> tuple[bytes, int]:
    """Highest JPEG quality whose payload fits ``budget_bits`` (bisection on the monotone size)."""
    lo, hi = 0, len(QUALITIES) - 1  # QUALITIES descend: index 0 = best
    sizes: dict[int, bytes] = {}

    def size(i):
        if i not in sizes:
            sizes[i] = encode(QUALITIES[i])
        return len(sizes[i]) * 8

    if size(hi) > budget_bits:
        return sizes[hi], QUALITIES[hi]
    while lo < hi:  # smallest index (best quality) that fits
        mid = (lo + hi) // 2
        if size(mid) <= budget_bits:
            hi = mid
        else:
            lo = mid + 1
    return sizes[lo] if lo in sizes else encode(QUALITIES[lo]), QUALITIES[lo]


def code_class_image(image: torch.Tensor, rate_bpp: float, class_pixels: float) -> CodedStream:
    """JPEG of a masked class image (3, H, W) in [-1, 1] within ``rate_bpp * class_pixels`` bits."""
    data, q = _best_quality(lambda q: jpeg.payload(image, q), rate_bpp * class_pixels)
    return CodedStream("jpeg", data, len(data) * 8, q, tuple(image.shape[-2:]))


def decode_class_image(stream: CodedStream) -> torch.Tensor:
    return jpeg.decode(stream.payload, stream.quality, *stream.shape)


def code_map(labels: torch.Tensor, num_ids: int, codec: str = "rle", rate_bpp: float | None = None) -> CodedStream:
    """The label map (H, W): ``rle`` / ``png`` (lossless) or ``jpeg`` within ``rate_bpp * H * W`` bits."""
    shape = tuple(labels.shape)
    if codec == "rle":
        bits = labelmap.rle_encode(labels, num_ids)
        return CodedStream("rle", bits, int(bits.size), 0, shape)
    if codec == "png":
        data = labelmap.png_encode(labels, num_ids)
        return CodedStream("png", data, len(data) * 8, 0, shape)
    if codec == "jpeg":
        if rate_bpp is None:
            raise ValueError("code_map: codec 'jpeg' needs rate_bpp")
        data, q = _best_quality(lambda q: labelmap.jpeg_encode(labels, num_ids, q), rate_bpp * labels.numel())
        return CodedStream("jpeg", data, len(data) * 8, q, shape)
    raise ValueError(f"code_map: codec must be 'rle', 'png' or 'jpeg'; got {codec!r}")


def decode_map(stream: CodedStream, num_ids: int) -> torch.Tensor:
    if stream.codec == "rle":
        return labelmap.rle_decode(stream.payload, num_ids, *stream.shape)
    if stream.codec == "png":
        return labelmap.png_decode(stream.payload)
    return labelmap.jpeg_decode(stream.payload, num_ids, stream.quality, *stream.shape)
