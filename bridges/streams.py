"""Coded source streams to several users over the digital path, with link adaptation.

A stream (:class:`semantic.codecs.streams.CodedStream`) is framed as
``quality (7 bits) | payload length (24 bits) | box (32 bits, region streams) |
payload`` (:mod:`bridges.framing`), gets one CRC24A over the frame, and is cut into codewords of one
modulation-and-coding scheme (MCS) of :data:`MCS_TABLE` (5G LDPC, n = 1536, and
QAM). Each receiving user gets it over an AWGN link at that user's SNR (the
SNR already holds path loss and fading: :mod:`phy.multicast` gives it from the
stream's power). A user whose CRC fails, or whose frame does not decode, has
lost the stream: it is reported, never repaired.

Link adaptation picks, per receiver, the highest-efficiency MCS whose SNR threshold
at the target BLER the receiver meets (``adaptation = "thresholds"``: the BLER table
measured on this PHY, :mod:`phy.link_abstraction`), or whose efficiency is at most
``log2(1 + SNR / backoff)`` (``"backoff"``: a fixed gap to capacity, the older rule).
The multicast policies:

- ``worst``: one transmission at one MCS for all receivers, the weakest's (a plain
  broadcast);
- ``rateless``: one transmission by incremental redundancy
  (:class:`phy.incremental.IncrementalRedundancy`): every receiver decodes after a
  time set by its own channel;
- ``per_user``: each receiver at its own MCS, as the Shannon latency model assumes
  (an idealisation: physically that is one transmission per MCS, i.e. per user).

Air time of a stream at a user is its channel uses over the band: C n / (Q_m B) seconds for
C codewords of n bits on Q_m-bit symbols (rateless: the steps that user heard, times
the C blocks' increments).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import torch

from phy import CodeConfig, GridConfig, LinkConfig, OFDMALink, channel_config
from phy.incremental import IncrementalRedundancy
from phy.link_abstraction import IrTable, load_ir_table, load_table
from phy.mcs import MCS_TABLE, Mcs, choose_mcs_backoff, choose_mcs_thresholds
from semantic.codecs.streams import CodedStream

from .framing import REGION_FRAME, STREAM_FRAME, FrameFormat, Framer, bytes_to_bits

__all__ = ["MCS_TABLE", "POLICIES", "Mcs", "StreamDelivery", "StreamLink", "choose_mcs", "frame_bits", "frame_format"]

POLICIES = ("per_user", "worst", "rateless")


#: The backoff rule under its older name (the separation baseline's adaptive MCS).
choose_mcs = choose_mcs_backoff


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
    modulation: str | None = None  #: rateless: the QAM order of the IR transmission
    steps: np.ndarray | None = None  #: rateless: int (U,) IR steps each user needed (A + 1: never decoded)


class StreamLink:
    """Sends coded streams to users at given SNRs (see the module docstring).

    :param bandwidth_hz: the stream's band B (one channel use per Hz and second).
    :param backoff_db: SNR margin of ``adaptation = "backoff"`` (a gap to capacity).
    :param policy: ``per_user``, ``worst`` or ``rateless``.
    :param adaptation: ``thresholds`` (measured BLER table at ``target_bler``) or ``backoff``.
    :param target_bler: codeword BLER the thresholds are taken at.
    :param ir_table: the rateless multicast's measured curves (default: the shipped table), used to
        pick its modulation when the caller does not.
    """

    def __init__(
        self,
        bandwidth_hz: float,
        backoff_db: float = 3.0,
        policy: Literal["per_user", "worst", "rateless"] = "per_user",
        bp_iterations: int = 20,
        device: str = "cpu",
        adaptation: Literal["thresholds", "backoff"] = "thresholds",
        target_bler: float = 0.1,
        ir_table: IrTable | None = None,
    ):
        if not (math.isfinite(bandwidth_hz) and bandwidth_hz > 0):
            raise ValueError(f"bandwidth_hz must be > 0; got {bandwidth_hz}")
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {', '.join(POLICIES)}; got {policy!r}")
        if adaptation not in ("thresholds", "backoff"):
            raise ValueError(f"adaptation must be 'thresholds' or 'backoff'; got {adaptation!r}")
        if not 0 < target_bler < 1:
            raise ValueError(f"target_bler must be in (0, 1); got {target_bler}")
        self.bandwidth_hz, self.backoff_db, self.policy = bandwidth_hz, backoff_db, policy
        self.adaptation, self.target_bler = adaptation, target_bler
        self.thresholds_db = load_table("awgn").thresholds_db(target_bler) if adaptation == "thresholds" else None
        self.bp_iterations, self.device = bp_iterations, device
        self.framer = Framer(device)
        self._links: dict[tuple[int, int], OFDMALink] = {}
        self._ir: dict[str, IncrementalRedundancy] = {}
        self._ir_table = ir_table

    @property
    def ir_table(self) -> IrTable:
        """The rateless multicast's measured curves (loaded on first use)."""
        if self._ir_table is None:
            self._ir_table = load_ir_table()
        return self._ir_table

    def choose_per_user(self, snr_db: np.ndarray) -> np.ndarray:
        """int (U,) each receiver's own MCS under the adaptation rule (0 when even the lowest falls short)."""
        snr_db = np.atleast_1d(np.asarray(snr_db, dtype=np.float64))
        if self.thresholds_db is not None:
            return choose_mcs_thresholds(snr_db, self.thresholds_db)
        return choose_mcs_backoff(snr_db, self.backoff_db)

    def choose(self, snr_db: np.ndarray) -> np.ndarray:
        """int (U,) MCS index per receiver under the policy (``worst``: the weakest's for all)."""
        snr_db = np.atleast_1d(np.asarray(snr_db, dtype=np.float64))
        if self.policy == "worst":
            snr_db = np.full_like(snr_db, snr_db.min())
        return self.choose_per_user(snr_db)

    def choose_modulation(self, frame_bits: int, snr_db: np.ndarray) -> str:
        """The rateless stream's QAM order: the one of least summed expected air time over its
        receivers (the latency model's objective) among those every receiver can decode."""
        ir = self.ir_for("qpsk")
        blocks = self.framer.codewords(frame_bits, ir.payload_bits)
        best, best_time = "qpsk", math.inf
        for mod, curve in self.ir_table.curves.items():
            total = float(np.sum(curve.expected_steps(np.asarray(snr_db, dtype=np.float64), blocks)))
            if total < best_time:
                best, best_time = mod, total
        return best

    def ir_for(self, modulation: str) -> IncrementalRedundancy:
        """The rateless link of one QAM order (built once, with the IR table's settings)."""
        if modulation not in self._ir:
            t = self._ir_table
            settings = {} if t is None else {"k": t.k, "increment_symbols": t.increment_symbols, "max_rounds": t.max_rounds}
            self._ir[modulation] = IncrementalRedundancy(
                modulation=modulation, bp_iterations=self.bp_iterations, device=self.device, **settings
            )
        return self._ir[modulation]

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

    def send(
        self,
        stream: CodedStream,
        snr_db: np.ndarray,
        generator: torch.Generator,
        mcs: int | None = None,
        modulation: str | None = None,
    ) -> StreamDelivery:
        """Send ``stream`` to U users with SNRs ``snr_db`` (U,) dB per channel use.

        ``mcs``: send at this MCS index to every user (a planner's choice) instead of adapting;
        ``modulation``: the rateless stream's QAM order instead of :meth:`choose_modulation`.
        """
        snr_db = np.atleast_1d(np.asarray(snr_db, dtype=np.float64))
        frame = _serialise(stream)
        if self.policy == "rateless" and mcs is None:
            return self._send_rateless(stream, frame, snr_db, generator, modulation)
        if mcs is not None and not 0 <= mcs < len(MCS_TABLE):
            raise ValueError(f"mcs must index MCS_TABLE (0 .. {len(MCS_TABLE) - 1}); got {mcs}")
        choice = np.full(snr_db.size, mcs) if mcs is not None else self.choose(snr_db)
        U = snr_db.size
        received: list[CodedStream | None] = [None] * U
        delivered = np.zeros(U, dtype=bool)
        airtime = np.zeros(U)
        for index in np.unique(choice):
            users = np.flatnonzero(choice == index)
            m = MCS_TABLE[index]
            codewords = self.framer.codewords(frame.size, m.k)
            airtime[users] = codewords * m.n / m.bits_per_symbol / self.bandwidth_hz
            block = self.framer.to_blocks([frame], codewords * m.k)
            block = block.reshape(codewords, 1, 1, m.k).expand(codewords, users.size, 1, m.k)
            snr = torch.as_tensor(snr_db[users], dtype=torch.float32, device=self.device)[None]
            bits_hat = self._link(index, users.size)(block.contiguous(), snr, generator).bits_hat
            payload, valid = self.framer.from_blocks(bits_hat.permute(1, 0, 2, 3).reshape(users.size, -1))
            self._collect(stream, frame, users, valid, payload, received, delivered)
        effs = np.array([MCS_TABLE[i].efficiency for i in choice])
        return StreamDelivery(received, delivered, airtime, effs, int(frame.size))

    def _send_rateless(self, stream, frame, snr_db, generator, modulation) -> StreamDelivery:
        """One IR transmission to all users; each user's air time is the steps it heard."""
        modulation = modulation or self.choose_modulation(frame.size, snr_db)
        ir = self.ir_for(modulation)
        blocks = self.framer.codewords(frame.size, ir.payload_bits)
        info = self.framer.to_blocks([frame], blocks * ir.payload_bits).reshape(blocks, ir.payload_bits)
        curve = self.ir_table.curves.get(modulation) if self.ir_table.k == ir.k else None
        bracket = None
        if curve is not None:  # where the measured curve says blocks decode: fewer decodes, the same answer
            bracket = (curve.step_quantile(snr_db, 0.02) - 1, curve.step_quantile(snr_db, 0.98))
            bracket = tuple(torch.as_tensor(np.asarray(b), dtype=torch.int64) for b in bracket)
        rx = ir(info, snr_db, generator, bracket)
        U = snr_db.size
        steps = rx.steps.cpu().numpy()
        heard = np.minimum(steps, ir.steps)  # a user never decoding heard every step the transmitter sent
        airtime = ir.airtime_s(heard, blocks, self.bandwidth_hz)
        received: list[CodedStream | None] = [None] * U
        delivered = np.zeros(U, dtype=bool)
        payload, valid = self.framer.from_blocks(rx.payload.reshape(U, -1))
        valid = valid & rx.decoded
        self._collect(stream, frame, np.arange(U), valid, payload, received, delivered)
        effs = frame.size / np.maximum(heard * blocks * ir.step_symbols, 1)
        return StreamDelivery(received, delivered, airtime, effs, int(frame.size), modulation=modulation,
                              steps=steps)  # fmt: skip

    @staticmethod
    def _collect(stream, frame, users, valid, payload, received, delivered) -> None:
        """Parse each CRC-valid user's frame into ``received`` / ``delivered`` (in place)."""
        for u, ok, bits in zip(users, valid.tolist(), payload.cpu().numpy()):
            if not ok:
                continue
            try:
                received[u] = _deserialise(bits[: frame.size], stream)
                delivered[u] = True
            except ValueError:  # a corrupted frame that slipped through the CRC
                pass
