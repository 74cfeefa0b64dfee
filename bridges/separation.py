"""Separate source and channel coding: JPEG + CRC + 5G LDPC + QAM over the OFDMA link.

Each user's image gets the same channel-use budget as the other methods
(``channel_uses`` resource elements, one slot of S OFDM symbols x N
subcarriers). The payload bit budget is what the link's code carries in
that slot: C whole codewords of k information bits, less a 5G CRC24A and
23 bits of side information (7 bits for the JPEG quality, 16 for the payload
length in bytes: :data:`bridges.framing.IMAGE_FRAME`). The JPEG quality is the
highest that fits (:func:`semantic.codecs.jpeg.best_quality`; headers are agreed
in advance, see :mod:`semantic.codecs.jpeg`).

At the receiver a failed CRC means the image is lost: it is shown as a blank
(mid-grey) image, never repaired. If not even quality 1 fits, nothing is sent
and the image is lost as well (``fits`` is False).

:func:`mcs_link` gives the link of one MCS of :data:`bridges.streams.MCS_TABLE`
at a channel-use budget (its modulation and code rate, one codeword filling
the slot): link adaptation picks the MCS for the SNR
(:func:`bridges.streams.choose_mcs`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from pydantic import ValidationError

from phy import LinkConfig, OFDMALink
from phy.config import format_validation_error
from semantic.codecs import jpeg

from .framing import IMAGE_FRAME, Framer, bytes_to_bits
from .streams import Mcs

__all__ = ["MAX_K", "SeparationLink", "SeparationResult", "mcs_link"]

#: The most information bits one 5G LDPC codeword carries (base graph 1, TS 38.212).
MAX_K = 8448


def mcs_link(link: LinkConfig, channel_uses: int, mcs: Mcs) -> LinkConfig:
    """``link`` with the modulation and code rate of ``mcs``: N = channel_uses / S subcarriers per
    user, and the fewest 5G LDPC codewords (k <= 8448) that fill the channel_uses Q_m coded bits
    of an image at the MCS's rate (one, up to 8448 information bits)."""
    S = link.grid.num_ofdm_symbols
    if channel_uses % S:
        raise ValueError(f"link.grid.num_ofdm_symbols = {S} must divide the {channel_uses} channel uses per image")
    coded = channel_uses * mcs.bits_per_symbol
    codewords = math.ceil(coded * mcs.k / mcs.n / MAX_K)  # 5G LDPC carries at most 8448 bits a codeword
    n = coded // codewords
    data = link.model_dump()
    data["grid"].update(subcarriers_per_user=channel_uses // S, num_subcarriers=link.grid.num_users * channel_uses // S)
    data["modulation"] = mcs.modulation
    data["code"] = {**link.code.model_dump(), "k": round(n * mcs.k / mcs.n), "n": n}
    try:
        return LinkConfig.model_validate(data)
    except ValidationError as exc:
        raise ValueError(format_validation_error(exc, "link")) from None


@dataclass
class SeparationResult:
    """What each user decoded (B, K leading dimensions)."""

    images: torch.Tensor  #: float32 (B, K, 3, H, W) decoded images; blank where lost
    source_bits: torch.Tensor  #: int64 (B, K) side information + JPEG payload bits sent
    quality: torch.Tensor  #: int64 (B, K) JPEG quality used (0: nothing fitted)
    fits: torch.Tensor  #: bool (B, K) some quality fitted the budget
    delivered: torch.Tensor  #: bool (B, K) CRC passed and the JPEG decoded


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
        self.framer = Framer(device)
        self.device = device
        self.block_bits = self.link.codewords_per_user * self.link_config.code.k
        self.payload_bytes = (self.block_bits - self.framer.crc_bits - IMAGE_FRAME.header_bits) // 8
        if self.payload_bytes < 1:
            raise ValueError(f"link.code: {self.block_bits} information bits per image leave no room for a JPEG")

    def choose(self, image: torch.Tensor) -> tuple[int, bytes]:
        """(highest quality whose payload fits, payload) of float32 (3, H, W); (0, b"") if none does."""
        found = jpeg.best_quality(lambda q: jpeg.payload(image, q), 8 * self.payload_bytes)
        return (found[1], found[0]) if found is not None else (0, b"")

    def __call__(self, images: torch.Tensor, snr_db: torch.Tensor | float, generator: torch.Generator) -> SeparationResult:
        """Send float32 (B, K, 3, H, W) images, one slot each, at ``snr_db`` (a number or (B, K))."""
        B, K, _, H, W = images.shape
        frames, qualities, lengths = [], [], []
        for image in images.reshape(B * K, *images.shape[2:]).cpu():
            quality, data = self.choose(image)
            frames.append(IMAGE_FRAME.pack(quality, bytes_to_bits(data)))
            qualities.append(quality)
            lengths.append(len(data))
        sent = self.framer.to_blocks(frames, self.block_bits).reshape(B, K, self.link.codewords_per_user, -1)
        received = self.link(sent, snr_db, generator).bits_hat.reshape(B, K, -1)
        frame_bits, valid = self.framer.from_blocks(received)
        quality = torch.tensor(qualities).reshape(B, K)
        fits = quality > 0
        out = torch.zeros(B * K, 3, H, W)
        delivered = torch.zeros(B * K, dtype=torch.bool)
        rows = frame_bits.reshape(B * K, -1).cpu().numpy()
        for i, (ok, bits, q) in enumerate(zip(valid.reshape(-1).tolist(), rows, qualities)):
            if not (ok and q):
                continue
            try:
                got_quality, payload, _ = IMAGE_FRAME.unpack(bits)
                out[i] = jpeg.decode(np.packbits(payload).tobytes(), got_quality, H, W)
                delivered[i] = True
            except (OSError, ValueError):  # a corrupted stream that slipped through the CRC
                pass
        source_bits = (IMAGE_FRAME.header_bits + 8 * torch.tensor(lengths)).reshape(B, K)
        return SeparationResult(
            out.reshape(B, K, 3, H, W).to(self.device), source_bits, quality, fits, delivered.reshape(B, K)
        )
