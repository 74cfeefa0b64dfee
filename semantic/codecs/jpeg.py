"""JPEG (libjpeg through Pillow) with the headers agreed in advance.

A 32x32 JPEG file is ~650 bytes, ~625 of them headers (quantisation and
Huffman tables, frame and scan headers) that depend only on the quality, the
size and the chroma subsampling. A separation system sends the entropy-coded
scan data only; the receiver rebuilds the identical header from the quality
index (Pillow writes a deterministic header for given quality and size) and
decodes. :func:`payload` returns that scan data; its bits are the source rate.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import torch
from PIL import Image

__all__ = ["QUALITIES", "best_quality", "decode", "encode", "payload", "split"]

#: JPEG qualities searched, best first.
QUALITIES = tuple(range(95, 0, -1))

_SOS, _EOI = b"\xff\xda", b"\xff\xd9"


def _to_pil(image: torch.Tensor) -> Image.Image:
    array = ((image.detach().cpu().permute(1, 2, 0).float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return Image.fromarray(array.numpy())


def encode(image: torch.Tensor, quality: int) -> bytes:
    """A complete JPEG file of float (3, H, W) in [-1, 1] (standard tables, 4:2:0)."""
    buffer = io.BytesIO()
    _to_pil(image).save(buffer, format="JPEG", quality=int(quality), optimize=False, subsampling="4:2:0")
    return buffer.getvalue()


def split(jpeg: bytes) -> tuple[bytes, bytes]:
    """(header through the scan header, entropy-coded data without the end marker)."""
    sos = jpeg.find(_SOS)
    if sos < 0 or not jpeg.endswith(_EOI):
        raise ValueError("not a baseline JPEG file")
    end_of_header = sos + 2 + int.from_bytes(jpeg[sos + 2 : sos + 4], "big")
    return jpeg[:end_of_header], jpeg[end_of_header:-2]


@lru_cache(maxsize=512)
def _header(quality: int, height: int, width: int) -> bytes:
    return split(encode(torch.zeros(3, height, width), quality))[0]


def payload(image: torch.Tensor, quality: int) -> bytes:
    """The scan data of ``image`` at ``quality`` (what is sent)."""
    header, data = split(encode(image, quality))
    if header != _header(quality, *image.shape[-2:]):
        raise RuntimeError("Pillow wrote an image-dependent JPEG header; the shared-header scheme needs a fixed one")
    return data


def best_quality(encode: Callable[[int], bytes], budget_bits: float) -> tuple[bytes, int] | None:
    """(payload, quality) of the highest quality in :data:`QUALITIES` whose ``encode(quality)``
    fits ``budget_bits``; None when not even quality 1 does.

    A linear scan from the top: JPEG size is not monotone in quality (about half of the
    32 x 32 CamVid crops have a quality step where the file shrinks), so a bisection
    can miss the highest quality that fits.
    """
    for quality in QUALITIES:
        data = encode(quality)
        if len(data) * 8 <= budget_bits:
            return data, quality
    return None


def decode(data: bytes, quality: int, height: int, width: int) -> torch.Tensor:
    """float32 (3, H, W) in [-1, 1] from scan data and the agreed header."""
    with Image.open(io.BytesIO(_header(quality, height, width) + data + _EOI)) as image:
        array = np.asarray(image.convert("RGB"), dtype=np.float32)
    return torch.from_numpy(array / 127.5 - 1).permute(2, 0, 1).contiguous()
