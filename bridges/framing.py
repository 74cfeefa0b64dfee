"""One frame format for every coded source stream on the digital path.

A frame is ``quality | payload length | [box] | payload`` (MSB first), padded
with zeros to whole codewords and closed by one 5G CRC24A (Sionna's CRC,
:class:`phy.coding.Crc`) over the padded frame. :class:`FrameFormat` says how
wide the fields are; the users of this module choose theirs:

- :data:`IMAGE_FRAME` (:mod:`bridges.separation`): JPEG quality (7 bits) and the
  payload length in bytes (16 bits);
- :data:`STREAM_FRAME` / :data:`REGION_FRAME` (:mod:`bridges.streams`): quality
  (7 bits), the payload length in bits (24 bits) and, for class-region streams,
  the box (top, left, height, width) in 16-pixel macroblocks, 8 bits each.

The receiver knows the format (agreed in advance); a failed CRC or a length
field that runs past the frame means the frame is lost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from phy.coding import Crc

__all__ = ["IMAGE_FRAME", "REGION_FRAME", "STREAM_FRAME", "FrameFormat", "Framer", "bits_to_uint", "bytes_to_bits", "uint_to_bits"]

#: Box side information: 4 values in 16-pixel units, 8 bits each.
BOX_UNIT, BOX_FIELD_BITS = 16, 8


def uint_to_bits(value: int, width: int) -> np.ndarray:
    """uint8 (width,) MSB-first bits of ``value``; ValueError when it does not fit."""
    if not 0 <= value < 2**width:
        raise ValueError(f"value {value} does not fit {width} bits")
    return ((value >> np.arange(width - 1, -1, -1)) & 1).astype(np.uint8)


def bytes_to_bits(data: bytes) -> np.ndarray:
    """uint8 (8 len(data),) MSB-first bits of a byte string."""
    return np.unpackbits(np.frombuffer(data, dtype=np.uint8))


def bits_to_uint(bits: np.ndarray) -> int:
    """The unsigned integer of MSB-first bits (any integer or float 0/1 array)."""
    bits = np.asarray(bits).astype(np.int64)
    return int(bits @ (1 << np.arange(bits.size - 1, -1, -1, dtype=np.int64))) if bits.size else 0


@dataclass(frozen=True)
class FrameFormat:
    """Header fields of a frame: quality, payload length (in ``length_unit`` bits), optional box."""

    quality_bits: int = 7
    length_bits: int = 24
    length_unit: int = 1  #: bits per unit of the length field (8: bytes)
    box: bool = False

    @property
    def header_bits(self) -> int:
        """Bits before the payload."""
        return self.quality_bits + self.length_bits + (4 * BOX_FIELD_BITS if self.box else 0)

    def pack(self, quality: int, payload: np.ndarray, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """uint8 frame bits: header then ``payload`` (uint8 0/1 bits, a multiple of ``length_unit``)."""
        if payload.size % self.length_unit:
            raise ValueError(f"payload of {payload.size} bits is not a whole number of {self.length_unit}-bit units")
        fields = [uint_to_bits(quality, self.quality_bits), uint_to_bits(payload.size // self.length_unit, self.length_bits)]
        if self.box:
            if box is None:
                raise ValueError("this frame format carries a box: give one")
            fields += [uint_to_bits(v // BOX_UNIT, BOX_FIELD_BITS) for v in box]
        return np.concatenate([*fields, payload.astype(np.uint8)])

    def unpack(self, bits: np.ndarray) -> tuple[int, np.ndarray, tuple[int, int, int, int] | None]:
        """(quality, payload bits uint8, box or None) of a frame (trailing padding ignored).

        :raises ValueError: the length field runs past the frame (a corrupted frame).
        """
        bits = np.asarray(bits).round().astype(np.uint8)
        q, n = self.quality_bits, self.length_bits
        quality = bits_to_uint(bits[:q])
        length = bits_to_uint(bits[q : q + n]) * self.length_unit
        start, box = q + n, None
        if self.box:
            box = tuple(BOX_UNIT * bits_to_uint(bits[start + BOX_FIELD_BITS * i : start + BOX_FIELD_BITS * (i + 1)]) for i in range(4))
            start += 4 * BOX_FIELD_BITS
        payload = bits[start : start + length]
        if payload.size != length:
            raise ValueError("frame shorter than its length field")
        return quality, payload.copy(), box


IMAGE_FRAME = FrameFormat(quality_bits=7, length_bits=16, length_unit=8)
STREAM_FRAME = FrameFormat(quality_bits=7, length_bits=24)
REGION_FRAME = FrameFormat(quality_bits=7, length_bits=24, box=True)


class Framer:
    """Frames <-> CRC-protected blocks of whole codewords (float32 bits on ``device``).

    ``to_blocks``: frames padded with zeros to ``block_bits - 24`` bits, CRC24A appended.
    ``from_blocks``: the CRC checked and removed.
    """

    def __init__(self, device: str = "cpu"):
        self.crc = Crc(device=device)
        self.device = device

    @property
    def crc_bits(self) -> int:
        """Length of the CRC (24)."""
        return self.crc.length

    def codewords(self, frame_bits: int, k: int) -> int:
        """Codewords of k information bits that one frame of ``frame_bits`` and its CRC need."""
        return -(-(frame_bits + self.crc.length) // k)

    def to_blocks(self, frames: list[np.ndarray], block_bits: int) -> torch.Tensor:
        """float32 (F, block_bits): each frame, zero-padded, then its CRC.

        :raises ValueError: a frame longer than ``block_bits`` - 24.
        """
        room = block_bits - self.crc.length
        info = torch.zeros(len(frames), room, device=self.device)
        for i, frame in enumerate(frames):
            if frame.size > room:
                raise ValueError(f"frame of {frame.size} bits does not fit {room} bits before the CRC")
            info[i, : frame.size] = torch.from_numpy(frame.astype(np.float32)).to(self.device)
        return self.crc.attach(info)

    def from_blocks(self, blocks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(float32 (..., block_bits - 24) frame bits, bool (...) CRC passed) of received blocks."""
        return self.crc.check(blocks)
