"""Separate source and channel coding: JPEG + CRC + 5G LDPC + QAM over the OFDMA link.

Each user's image gets the same channel-use budget as the other methods
(``channel_uses`` resource elements, one slot of S OFDM symbols x N
subcarriers). The payload bit budget is what the link's code carries in
that slot: C whole codewords of k information bits, less a 5G CRC24A and
23 bits of side information (7 bits for the JPEG quality, 16 for the payload
length in bytes). The JPEG quality is the highest that fits (headers are
agreed in advance, see :mod:`semantic.codecs.jpeg`).

At the receiver a failed CRC means the image is lost: it is shown as a blank
(mid-grey) image, never repaired. If not even quality 1 fits, nothing is sent
and the image is lost as well (``fits`` is False).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from pydantic import ValidationError

from phy import LinkConfig, OFDMALink
from phy.coding import Crc
from phy.config import format_validation_error
from semantic.codecs import jpeg

__all__ = ["LENGTH_BITS", "QUALITY_BITS", "SeparationLink", "SeparationResult"]

QUALITY_BITS, LENGTH_BITS = 7, 16


@dataclass
class SeparationResult:
    """What each user decoded (B, K leading dimensions)."""

    images: torch.Tensor  #: float32 (B, K, 3, H, W) decoded images; blank where lost
    source_bits: torch.Tensor  #: int64 (B, K) side information + JPEG payload bits sent
    quality: torch.Tensor  #: int64 (B, K) JPEG quality used (0: nothing fitted)
    fits: torch.Tensor  #: bool (B, K) some quality fitted the budget
    delivered: torch.Tensor  #: bool (B, K) CRC passed and the JPEG decoded


def _bits(data: bytes) -> torch.Tensor:
    array = torch.frombuffer(bytearray(data), dtype=torch.uint8).to(torch.int64) if data else torch.zeros(0, dtype=torch.int64)
    return ((array[:, None] >> torch.arange(7, -1, -1)) & 1).flatten().to(torch.float32)


def _int_bits(value: int, width: int) -> torch.Tensor:
    return ((torch.tensor(value) >> torch.arange(width - 1, -1, -1)) & 1).to(torch.float32)


def _to_int(bits: torch.Tensor) -> int:
    return int((bits.to(torch.int64) * (2 ** torch.arange(bits.numel() - 1, -1, -1))).sum())


def _to_bytes(bits: torch.Tensor) -> bytes:
    return bytes(((bits.reshape(-1, 8).to(torch.int64) * (2 ** torch.arange(7, -1, -1))).sum(-1)).tolist())


class SeparationLink:
    """JPEG images to K users over the digital path of the link.

    :param link: the scenario's link (modulation, code, channel, K, S); its grid gets
        N = channel_uses / S subcarriers per user and L = K N.
    :param channel_uses: resource elements per image and user.
    :raises ValueError: one line naming the key when the budget cannot hold a codeword.
    """

    def __init__(self, link: LinkConfig, channel_uses: int, device: str = "cpu"):
        S = link.grid.num_ofdm_symbols
        if channel_uses % S:
            raise ValueError(f"link.grid.num_ofdm_symbols = {S} must divide the {channel_uses} channel uses per image")
        N = channel_uses // S
        data = link.model_dump()
        data["grid"].update(subcarriers_per_user=N, num_subcarriers=link.grid.num_users * N)
        try:
            self.link_config = LinkConfig.model_validate(data)
        except ValidationError as exc:
            raise ValueError(format_validation_error(exc, "link")) from None
        self.link = OFDMALink(self.link_config, device=device)
        self.crc = Crc(device=device)
        self.device = device
        self.block_bits = self.link.codewords_per_user * self.link_config.code.k
        self.payload_bytes = (self.block_bits - self.crc.length - QUALITY_BITS - LENGTH_BITS) // 8
        if self.payload_bytes < 1:
            raise ValueError(f"link.code: {self.block_bits} information bits per image leave no room for a JPEG")

    def choose(self, image: torch.Tensor) -> tuple[int, bytes]:
        """(highest quality whose payload fits, payload); (0, b"") if none does."""
        for quality in range(95, 0, -1):
            data = jpeg.payload(image, quality)
            if len(data) <= self.payload_bytes:
                return quality, data
        return 0, b""

    def __call__(self, images: torch.Tensor, snr_db: torch.Tensor | float, generator: torch.Generator) -> SeparationResult:
        B, K, _, H, W = images.shape
        blocks, qualities, lengths = [], [], []
        for image in images.reshape(B * K, *images.shape[2:]).cpu():
            quality, data = self.choose(image)
            bits = torch.cat([_int_bits(quality, QUALITY_BITS), _int_bits(len(data), LENGTH_BITS), _bits(data)])
            blocks.append(torch.nn.functional.pad(bits, (0, self.block_bits - self.crc.length - bits.numel())))
            qualities.append(quality)
            lengths.append(len(data))
        info = torch.stack(blocks).to(self.device).reshape(B, K, -1)
        sent = self.crc.attach(info).reshape(B, K, self.link.codewords_per_user, -1)
        received = self.link(sent, snr_db, generator).bits_hat.reshape(B, K, -1)
        payload_bits, valid = self.crc.check(received)
        quality = torch.tensor(qualities).reshape(B, K)
        fits = quality > 0
        out = torch.zeros(B * K, 3, H, W)
        delivered = torch.zeros(B * K, dtype=torch.bool)
        for i, (ok, bits, q) in enumerate(zip(valid.reshape(-1).tolist(), payload_bits.reshape(B * K, -1).cpu(), qualities)):
            if not (ok and q):
                continue
            length = _to_int(bits[QUALITY_BITS : QUALITY_BITS + LENGTH_BITS])
            start = QUALITY_BITS + LENGTH_BITS
            try:
                out[i] = jpeg.decode(_to_bytes(bits[start : start + 8 * length]), _to_int(bits[:QUALITY_BITS]), H, W)
                delivered[i] = True
            except (OSError, ValueError):  # a corrupted stream that slipped through the CRC
                pass
        source_bits = (QUALITY_BITS + LENGTH_BITS + 8 * torch.tensor(lengths)).reshape(B, K)
        return SeparationResult(
            out.reshape(B, K, 3, H, W).to(self.device), source_bits, quality, fits, delivered.reshape(B, K)
        )
