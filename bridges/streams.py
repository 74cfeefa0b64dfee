"""Coded source streams to several users over the digital path, with link adaptation.

A stream (:class:`semantic.codecs.streams.CodedStream`) is framed as
``quality (7 bits) | payload length (24 bits) | box (32 bits, region streams) |
payload`` (:mod:`bridges.framing`), gets one CRC24A over the frame, and is cut into codewords of one
modulation-and-coding scheme (MCS) of :data:`MCS_TABLE` (5G LDPC, n = 1536, and
QAM). Each receiving user gets it over an AWGN link at that user's SNR (the
SNR already holds path loss and fading: :mod:`phy.multicast` gives it from the
stream's power). A user whose CRC fails, or whose frame does not decode, has
lost the stream: it is reported, never repaired.

Link adaptation picks the highest-efficiency MCS whose spectral efficiency is
at most ``log2(1 + SNR / backoff)``: per user (``policy = "per_user"``: each user
receives at its own rate, as the latency model assumes: a rateless or
per-user-repeated multicast) or one MCS for all receivers of the stream
(``"worst"``: the weakest receiver's, as a plain broadcast would). Air time of
a stream at a user is its channel uses over the band: C n / (Q_m B) seconds for
C codewords of n bits on Q_m-bit symbols.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import torch

from phy import CodeConfig, GridConfig, LinkConfig, OFDMALink, channel_config
from phy.config import BITS_PER_SYMBOL
from semantic.codecs.streams import CodedStream

from .framing import REGION_FRAME, STREAM_FRAME, FrameFormat, Framer, bytes_to_bits

__all__ = ["MCS_TABLE", "Mcs", "StreamDelivery", "StreamLink", "choose_mcs", "frame_bits", "frame_format"]


@dataclass(frozen=True)
class Mcs:
    """One modulation and 5G LDPC code rate; ``efficiency`` in information bits per channel use."""

    modulation: str
    k: int
    n: int

    @property
    def bits_per_symbol(self) -> int:
        """Q_m, bits per QAM symbol."""
        return BITS_PER_SYMBOL[self.modulation]

    @property
    def efficiency(self) -> float:
        """Information bits per channel use: Q_m k / n."""
        return self.bits_per_symbol * self.k / self.n

    @property
    def name(self) -> str:
        """``<modulation>-k/n``."""
        return f"{self.modulation}-{self.k}/{self.n}"


#: Ascending efficiency, 0.41 .. 7 bit/s/Hz: QPSK at code rate 0.2 (5G LDPC's lowest) up to
#: 256-QAM at 7/8, about the span of the 5G MCS tables.
MCS_TABLE = tuple(
    Mcs(m, k, 1536)
    for m, k in [
        ("qpsk", 312), ("qpsk", 384), ("qpsk", 512), ("qpsk", 768), ("qpsk", 1024), ("16qam", 768),
        ("16qam", 1024), ("16qam", 1152), ("64qam", 1024), ("64qam", 1152), ("64qam", 1280),
        ("256qam", 1152), ("256qam", 1344),
    ]
)  # fmt: skip


def choose_mcs(snr_db, backoff_db: float = 3.0) -> np.ndarray:
    """int MCS indices into :data:`MCS_TABLE`, shape of ``snr_db``: the highest efficiency at most
    log2(1 + SNR / backoff) (index 0 when even the lowest falls short)."""
    snr_db = np.asarray(snr_db, dtype=np.float64)
    target = np.log2(1 + 10 ** ((snr_db - backoff_db) / 10))
    effs = np.array([m.efficiency for m in MCS_TABLE])
    return np.maximum(np.searchsorted(effs, target, side="right") - 1, 0)


def frame_format(stream: CodedStream) -> FrameFormat:
    """The frame format of a stream: with a box for class-region streams."""
    return REGION_FRAME if stream.region is not None else STREAM_FRAME


def frame_bits(stream: CodedStream) -> int:
    """Bits framed for the air before the CRC: header and payload."""
    return frame_format(stream).header_bits + stream.bits


def _payload_bits(stream: CodedStream) -> np.ndarray:
    if isinstance(stream.payload, np.ndarray):
        return stream.payload.astype(np.uint8)
    return bytes_to_bits(stream.payload)


def _serialise(stream: CodedStream) -> np.ndarray:
    return frame_format(stream).pack(stream.quality, _payload_bits(stream), stream.region)


def _deserialise(bits: np.ndarray, template: CodedStream) -> CodedStream:
    """The stream the frame describes; codec and frame shape are agreed (taken from ``template``)."""
    quality, payload_bits, region = frame_format(template).unpack(bits)
    payload = payload_bits if isinstance(template.payload, np.ndarray) else np.packbits(payload_bits).tobytes()
    return replace(template, payload=payload, bits=payload_bits.size, quality=quality, region=region)


@dataclass
class StreamDelivery:
    """One stream at each of its U receivers."""

    received: list[CodedStream | None]  #: per user: the decoded stream, None when lost
    delivered: np.ndarray  #: bool (U,) CRC passed and the frame parsed
    airtime_s: np.ndarray  #: float64 (U,) seconds on air at the user's MCS
    efficiency: np.ndarray  #: float64 (U,) information bits per channel use of the user's MCS
    frame_bits: int  #: header + payload bits (before the CRC)


class StreamLink:
    """Sends coded streams to users at given SNRs (see the module docstring).

    :param bandwidth_hz: the stream's band B (one channel use per Hz and second).
    :param backoff_db: SNR margin of link adaptation (a gap to capacity).
    :param policy: ``per_user`` or ``worst`` MCS choice.
    """

    def __init__(
        self,
        bandwidth_hz: float,
        backoff_db: float = 3.0,
        policy: Literal["per_user", "worst"] = "per_user",
        bp_iterations: int = 20,
        device: str = "cpu",
    ):
        if not (math.isfinite(bandwidth_hz) and bandwidth_hz > 0):
            raise ValueError(f"bandwidth_hz must be > 0; got {bandwidth_hz}")
        if policy not in ("per_user", "worst"):
            raise ValueError(f"policy must be 'per_user' or 'worst'; got {policy!r}")
        self.bandwidth_hz, self.backoff_db, self.policy = bandwidth_hz, backoff_db, policy
        self.bp_iterations, self.device = bp_iterations, device
        self.framer = Framer(device)
        self._links: dict[tuple[int, int], OFDMALink] = {}

    def choose(self, snr_db: np.ndarray) -> np.ndarray:
        """int (U,) MCS index per receiver under the policy (0 when even the lowest falls short)."""
        snr_db = np.atleast_1d(np.asarray(snr_db, dtype=np.float64))
        if self.policy == "worst":
            snr_db = np.full_like(snr_db, snr_db.min())
        return choose_mcs(snr_db, self.backoff_db)

    def _link(self, index: int, users: int) -> OFDMALink:
        key = (index, users)
        if key not in self._links:
            mcs = MCS_TABLE[index]
            per_user = mcs.n // mcs.bits_per_symbol  # one codeword per user and "slot"; codewords ride the batch
            config = LinkConfig(
                modulation=mcs.modulation,
                code=CodeConfig(k=mcs.k, n=mcs.n, bp_iterations=self.bp_iterations),
                grid=GridConfig(num_subcarriers=users * per_user, num_users=users, num_ofdm_symbols=1),
                channel=channel_config("awgn"),
            )
            self._links[key] = OFDMALink(config, device=self.device)
        return self._links[key]

    def send(self, stream: CodedStream, snr_db: np.ndarray, generator: torch.Generator) -> StreamDelivery:
        """Send ``stream`` to U users with SNRs ``snr_db`` (U,) dB per channel use."""
        snr_db = np.atleast_1d(np.asarray(snr_db, dtype=np.float64))
        frame = _serialise(stream)
        choice = self.choose(snr_db)
        U = snr_db.size
        received: list[CodedStream | None] = [None] * U
        delivered = np.zeros(U, dtype=bool)
        airtime = np.zeros(U)
        for index in np.unique(choice):
            users = np.flatnonzero(choice == index)
            mcs = MCS_TABLE[index]
            codewords = self.framer.codewords(frame.size, mcs.k)
            airtime[users] = codewords * mcs.n / mcs.bits_per_symbol / self.bandwidth_hz
            block = self.framer.to_blocks([frame], codewords * mcs.k)
            block = block.reshape(codewords, 1, 1, mcs.k).expand(codewords, users.size, 1, mcs.k)
            snr = torch.as_tensor(snr_db[users], dtype=torch.float32, device=self.device)[None]
            bits_hat = self._link(index, users.size)(block.contiguous(), snr, generator).bits_hat
            payload, valid = self.framer.from_blocks(bits_hat.permute(1, 0, 2, 3).reshape(users.size, -1))
            for u, ok, bits in zip(users, valid.tolist(), payload.cpu().numpy()):
                if not ok:
                    continue
                try:
                    received[u] = _deserialise(bits[: frame.size], stream)
                    delivered[u] = True
                except ValueError:  # a corrupted frame that slipped through the CRC
                    pass
        effs = np.array([MCS_TABLE[i].efficiency for i in choice])
        return StreamDelivery(received, delivered, airtime, effs, int(frame.size))
