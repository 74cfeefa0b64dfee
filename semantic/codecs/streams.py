"""Source coding of the intent-multicasting streams at a target rate, with exact bit counts.

- a class stream: the masked class image X_l as JPEG scan data (agreed header,
  :mod:`.jpeg`) at the highest quality whose bits fit ``rate_bpp * class_pixels``;
  rate in bits per pixel of the average class size |Xbar|, as in the paper.
  :func:`code_class_image` codes the whole frame (mid-grey outside the class);
  :func:`code_class_region` codes only the class's bounding box, aligned to
  JPEG's 16 x 16 macroblocks, with the pixels outside the class filled with the
  class's mean colour (a flat fill costs almost no bits), plus
  :data:`REGION_BITS` of side information for the box: at 128 x 128 a whole-frame
  JPEG spends ~2 kbit on empty blocks alone, more than a class's budget; by
  default the class's outline rides along, losslessly (``jpeg+mask``), so the
  stream alone says which pixels are the class;
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

__all__ = [
    "MASK_LENGTH_BITS",
    "REGION_BITS",
    "CodedStream",
    "class_region",
    "code_class_image",
    "code_class_region",
    "code_map",
    "decode_class_image",
    "decode_class_region",
    "decode_class_stream",
    "decode_map",
]

@dataclass(frozen=True)
class CodedStream:
    """What goes on the air: ``payload`` bytes (or ``bits`` array for run-length), its exact ``bits``,
    the ``quality`` the receiver needs (0 for lossless codecs), the ``codec``, the full
    frame ``shape`` (H, W) and, for region streams, the coded box ``region``
    (top, left, height, width), (0, 0, 0, 0) for a class absent from the image."""

    codec: str
    payload: bytes | np.ndarray
    bits: int
    quality: int
    shape: tuple[int, int]
    region: tuple[int, int, int, int] | None = None

    @property
    def source_bits(self) -> int:
        """Bits of source information: the payload plus the box side information, if any."""
        return self.bits + (REGION_BITS if self.region is not None else 0)


#: Side information of a region stream: top, left, height, width in 16-pixel macroblocks, 8 bits each.
REGION_BITS = 32
_MCU = 16


def _best_quality(encode, budget_bits: float) -> tuple[bytes, int]:
    """Highest JPEG quality whose payload fits ``budget_bits`` (:func:`.jpeg.best_quality`);
    the lowest quality, over budget, when none fits (sent with its true size, never cut)."""
    found = jpeg.best_quality(encode, budget_bits)
    return found if found is not None else (encode(jpeg.QUALITIES[-1]), jpeg.QUALITIES[-1])


def code_class_image(image: torch.Tensor, rate_bpp: float, class_pixels: float) -> CodedStream:
    """JPEG of a masked class image (3, H, W) in [-1, 1] within ``rate_bpp * class_pixels`` bits."""
    data, q = _best_quality(lambda q: jpeg.payload(image, q), rate_bpp * class_pixels)
    return CodedStream("jpeg", data, len(data) * 8, q, tuple(image.shape[-2:]))


def decode_class_image(stream: CodedStream) -> torch.Tensor:
    """float32 (3, H, W) in [-1, 1]: the decoded whole-frame class image."""
    return jpeg.decode(stream.payload, stream.quality, *stream.shape)


def class_region(mask: torch.Tensor) -> tuple[int, int, int, int]:
    """(top, left, height, width) of the bool mask (H, W)'s bounding box grown to 16 x 16
    macroblocks (clipped to the frame); (0, 0, 0, 0) for an empty mask."""
    rows, cols = torch.nonzero(mask.any(1)).flatten(), torch.nonzero(mask.any(0)).flatten()
    if rows.numel() == 0:
        return (0, 0, 0, 0)
    H, W = mask.shape
    top, left = int(rows[0]) // _MCU * _MCU, int(cols[0]) // _MCU * _MCU
    bottom = min(H, -(-(int(rows[-1]) + 1) // _MCU) * _MCU)
    right = min(W, -(-(int(cols[-1]) + 1) // _MCU) * _MCU)
    return (top, left, bottom - top, right - left)


def code_class_region(
    image: torch.Tensor, mask: torch.Tensor, rate_bpp: float, class_pixels: float, with_mask: bool = True
) -> CodedStream:
    """Class l of ``image`` (3, H, W) in [-1, 1], bool ``mask`` (H, W) = M_l, as JPEG of its box.

    ``with_mask`` (codec ``jpeg+mask``): the stream carries the class's outline too, the
    box's mask run-length coded losslessly (:func:`.labelmap.rle_encode`, 2 ids) behind a
    :data:`MASK_LENGTH_BITS` length field and before the JPEG scan data, so that a receiver
    places the class from the stream alone, as X_l = M_l * X of the paper carries its own
    support. The mask's bits count in the budget. Without it (codec ``jpeg``) the receiver
    needs the map to know which pixels of the box are the class.

    The payload plus :data:`REGION_BITS` fit ``rate_bpp * class_pixels`` when any quality does.
    """
    shape = tuple(image.shape[-2:])
    if tuple(mask.shape) != shape:
        raise ValueError(f"mask must be (H, W) = {shape}; got {tuple(mask.shape)}")
    region = class_region(mask)
    top, left, h, w = region
    codec = "jpeg+mask" if with_mask else "jpeg"
    if h == 0:
        return CodedStream(codec, np.zeros(0, dtype=np.uint8) if with_mask else b"", 0, 0, shape, region)
    crop, inside = image[:, top : top + h, left : left + w], mask[top : top + h, left : left + w]
    mean = crop[:, inside].mean(dim=1)
    filled = torch.where(inside, crop, mean[:, None, None])
    outline = _outline_bits(inside) if with_mask else np.zeros(0, dtype=np.uint8)
    budget = rate_bpp * class_pixels - REGION_BITS - outline.size
    data, q = _best_quality(lambda q: jpeg.payload(filled, q), budget)
    if not with_mask:
        return CodedStream("jpeg", data, len(data) * 8, q, shape, region)
    payload = np.concatenate([outline, np.unpackbits(np.frombuffer(data, dtype=np.uint8))])
    return CodedStream(codec, payload, int(payload.size), q, shape, region)


#: Width of the length field in front of a ``jpeg+mask`` stream's outline bits.
MASK_LENGTH_BITS = 20


def _outline_bits(inside: torch.Tensor) -> np.ndarray:
    """uint8 bits: the outline's length (:data:`MASK_LENGTH_BITS`) then the box mask's run-length code."""
    code = labelmap.rle_encode(inside.long(), 2)
    if code.size >= 2**MASK_LENGTH_BITS:
        raise ValueError(f"class outline of {code.size} bits does not fit the {MASK_LENGTH_BITS}-bit length field")
    length = np.array([(code.size >> i) & 1 for i in reversed(range(MASK_LENGTH_BITS))], dtype=np.uint8)
    return np.concatenate([length, code])


def decode_class_stream(stream: CodedStream) -> tuple[torch.Tensor, torch.Tensor]:
    """(float32 (3, H, W) the decoded box in place, mid-grey (0) elsewhere; bool (H, W) the class's
    pixels as the stream defines them: its own outline (``jpeg+mask``) or the whole box (``jpeg``))."""
    out = torch.zeros(3, *stream.shape)
    where = torch.zeros(stream.shape, dtype=torch.bool)
    top, left, h, w = stream.region
    if not h:
        return out, where
    if stream.codec == "jpeg+mask":
        bits = np.asarray(stream.payload, dtype=np.uint8)
        n = int("".join(map(str, bits[:MASK_LENGTH_BITS])), 2)
        inside = labelmap.rle_decode(bits[MASK_LENGTH_BITS : MASK_LENGTH_BITS + n], 2, h, w).bool()
        data = np.packbits(bits[MASK_LENGTH_BITS + n :]).tobytes()
    else:
        inside, data = torch.ones(h, w, dtype=torch.bool), stream.payload
    out[:, top : top + h, left : left + w] = jpeg.decode(data, stream.quality, h, w)
    where[top : top + h, left : left + w] = inside
    return out, where


def decode_class_region(stream: CodedStream) -> torch.Tensor:
    """float32 (3, H, W): the decoded box in place, mid-grey (0) elsewhere (:func:`decode_class_stream`)."""
    return decode_class_stream(stream)[0]


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
    """int64 (H, W) label map of a map stream (any of its codecs)."""
    if stream.codec == "rle":
        return labelmap.rle_decode(stream.payload, num_ids, *stream.shape)
    if stream.codec == "png":
        return labelmap.png_decode(stream.payload)
    return labelmap.jpeg_decode(stream.payload, num_ids, stream.quality, *stream.shape)
