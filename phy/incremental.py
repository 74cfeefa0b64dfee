"""A rateless multicast: incremental redundancy (IR) over one 5G LDPC mother code.

Why this design. A multicast stream is one transmission; its receivers have different
SNRs. With one MCS (``worst``) every receiver waits as long as the weakest. Here the
transmitter encodes each code block once with the lowest-rate 5G LDPC code (base
graph 2, rate 1/5: ``n_mother = 5 k``, Sionna's ``LDPC5GEncoder``) and sends the
codeword's bits as a stream of increments (``increment_symbols`` QAM symbols of every
block per step, one QAM order, wrapping round the codeword for up to
``max_rounds`` passes, as 5G's redundancy versions walk its circular buffer). Each
receiver accumulates the LLRs of every copy of a bit it has heard (chase combining on
repeats, erasures, LLR 0, on bits not yet sent), tries to decode after each step and
stops, acknowledging with one bit, once the CRC24B of every block passes; the
transmitter stops when the last receiver has acknowledged. A receiver's decoding time
is therefore set by its own channel: a strong user decodes at a high rate after few
steps, a weak one waits for more redundancy: the physical counterpart of the latency
model's "each user decodes at its own rate". Compared with an LT/Raptor fountain over
LDPC-protected packets, IR needs no outer code and no packet-erasure overhead
(a fountain's inner packets run at one rate and lose packets below it, so its rate
tracks the SNR only through the erasure rate), and it is what 5G's HARQ does.

Simplifications (said here, measured in the overhead): blocks advance in lockstep
(each step carries an increment of every block, so a receiver waits for its slowest
block); no bit interleaver before higher-order QAM (5G puts systematic bits on the
reliable positions: a fraction of a dB for 16-QAM and up); receivers try to decode
only where needed, by bisection over the steps heard, which finds the first success
when success is monotone in the bits heard (true of accumulated LLRs up to BP's rare
non-monotone failures).

Shapes: U receivers, C code blocks of ``k`` bits (``k - 24`` payload bits and the
CRC24B), A = ``max_rounds * n_mother / increment_bits`` steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from sionna.phy.channel import AWGN
from sionna.phy.fec.ldpc import LDPC5GDecoder, LDPC5GEncoder
from sionna.phy.mapping import Demapper, Mapper

from .coding import Crc
from .config import BITS_PER_SYMBOL
from .rng import WithGenerator

__all__ = ["IncrementalRedundancy", "IrReception"]


class _SeededAWGN(WithGenerator, AWGN):
    pass


@dataclass
class IrReception:
    """What each receiver of one IR transmission got."""

    steps: torch.Tensor  #: int64 (U,) steps each receiver heard before all its blocks decoded (A + 1: never)
    block_steps: torch.Tensor  #: int64 (U, C) the same per block
    payload: torch.Tensor  #: float32 (U, C, k - 24) decoded payload bits (valid where decoded)
    decoded: torch.Tensor  #: bool (U,) every block's CRC passed within the A steps


class IncrementalRedundancy(torch.nn.Module):
    """Send code blocks to U receivers by incremental redundancy (module docstring).

    :param k: bits per code block, CRC24B included (5G base graph 2: 40 .. 3840).
    :param modulation: QAM of every increment.
    :param increment_symbols: channel uses of one block per step (its coded bits: that times the bits per symbol).
    :param max_rounds: passes over the mother codeword before the transmitter gives up.
    """

    RATE = 0.2  # 5G LDPC's lowest rate (base graph 2)

    def __init__(
        self,
        k: int = 1024,
        modulation: str = "qpsk",
        increment_symbols: int = 32,
        max_rounds: int = 4,
        bp_iterations: int = 20,
        device: str = "cpu",
    ):
        super().__init__()
        if modulation not in BITS_PER_SYMBOL:
            raise ValueError(f"modulation must be one of {sorted(BITS_PER_SYMBOL)}; got {modulation!r}")
        if not 64 <= k <= 3840:
            raise ValueError(f"k must lie in [64, 3840] (5G base graph 2 with a CRC24B); got {k}")
        self.q = BITS_PER_SYMBOL[modulation]
        self.k, self.n = k, int(round(k / self.RATE))
        if increment_symbols <= 0:
            raise ValueError(f"increment_symbols must be > 0; got {increment_symbols}")
        increment_bits = increment_symbols * self.q
        if max_rounds < 1:
            raise ValueError(f"max_rounds must be >= 1; got {max_rounds}")
        self.modulation, self.increment_bits, self.max_rounds = modulation, increment_bits, max_rounds
        self.device = device
        self.steps = max_rounds * self.n // increment_bits  # A: the last step may wrap less than a full pass
        self.crc = Crc("CRC24B", device=device)
        self.payload_bits = k - self.crc.length
        self.encoder = LDPC5GEncoder(k, self.n, device=device)
        self.decoder = LDPC5GDecoder(self.encoder, num_iter=bp_iterations, hard_out=True, device=device)
        self.mapper = Mapper("qam", self.q, device=device)
        self.demapper = Demapper("app", "qam", self.q, device=device)
        self.awgn = _SeededAWGN(device=device)

    @property
    def step_symbols(self) -> int:
        """Channel uses of one step for one block."""
        return self.increment_bits // self.q  # == increment_symbols

    def rate_after(self, steps) -> float:
        """Code rate of a block after ``steps`` steps (payload bits over coded bits heard)."""
        return self.payload_bits / (steps * self.increment_bits)

    def llrs(self, payload: torch.Tensor, snr_db: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """float32 (U, C, max_rounds, n) LLRs of every transmitted copy of every coded bit.

        :param payload: float32 (C, k - 24) payload bits.
        :param snr_db: float32 (U,) SNR per channel use of each receiver.
        """
        C = payload.shape[0]
        code = self.encoder(self.crc.attach(payload.to(self.device)))  # (C, n)
        sent = code.repeat(1, self.max_rounds)[:, : self.steps * self.increment_bits]  # the circular buffer, wrapped
        x = self.mapper(sent)  # (C, A increment_symbols)
        U = snr_db.numel()
        no = torch.pow(10.0, -snr_db.to(self.device, torch.float32) / 10).reshape(U, 1, 1)
        self.awgn.generator = generator
        y = self.awgn(x.unsqueeze(0).expand(U, *x.shape), no)
        llr = self.demapper(y, no.expand(U, C, x.shape[-1]))
        llr = torch.nn.functional.pad(llr, (0, self.max_rounds * self.n - llr.shape[-1]))  # never sent: erasures
        return llr.reshape(U, C, self.max_rounds, self.n)

    def _accumulated(self, llr: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
        """float32 (P, n) LLRs after ``steps`` (P,) steps of the (P, R, n) copies: each bit's heard copies summed."""
        R, n = llr.shape[-2:]
        heard = (torch.arange(R * n, device=llr.device)[None] < (steps * self.increment_bits)[:, None]).reshape(-1, R, n)
        return (llr * heard).sum(dim=1)

    def _decodes(self, llr: torch.Tensor, steps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(bool (P,) CRC passed, float32 (P, k - 24) payload) after ``steps`` (P,) steps."""
        bits = self.decoder(self._accumulated(llr, steps))
        payload, valid = self.crc.check(bits)
        return valid, payload

    def receive(self, llr: torch.Tensor, bracket: tuple[torch.Tensor, torch.Tensor] | None = None) -> IrReception:
        """Each receiver's first decoding step per block, by bisection (module docstring).

        ``bracket``: int64 (U,) (low, high) steps where each receiver's blocks likely first decode (e.g.
        quantiles of the measured IR curve): the search checks that a block fails at ``low`` and decodes
        at ``high`` and widens to the full range where not, so the answer is the same, in fewer decodes.
        """
        U, C = llr.shape[:2]
        flat = llr.reshape(U * C, self.max_rounds, self.n)
        P = flat.shape[0]
        A = self.steps
        floor = max(0, math.ceil(self.payload_bits / self.increment_bits) - 1)  # rate >= 1: cannot decode
        lo = torch.full((P,), floor, device=self.device)
        hi = torch.full((P,), A + 1, device=self.device)  # first success lies in (lo, hi]; A + 1: never
        payload = torch.zeros(P, self.payload_bits, device=self.device)
        if bracket is not None:
            b_lo, b_hi = (torch.as_tensor(b, device=self.device).reshape(U, 1).expand(U, C).reshape(-1) for b in bracket)
            b_lo = b_lo.clamp(floor, A)
            b_hi = torch.maximum(b_hi.clamp(1, A), b_lo + 1).clamp(max=A)
            ok, bits = self._decodes(flat, b_hi)
            hi = torch.where(ok, b_hi, hi)
            lo = torch.where(ok, lo, b_hi)
            payload[ok] = bits[ok]
            check = ok & (b_lo > floor)
            idx = torch.nonzero(check).flatten()
            if idx.numel():
                good, bits = self._decodes(flat[idx], b_lo[idx])
                hi[idx] = torch.where(good, b_lo[idx], hi[idx])
                lo[idx] = torch.where(good, lo[idx], b_lo[idx])
                payload[idx[good]] = bits[good]
        undecided = (hi == A + 1) & (lo < A)  # not yet known to decode at all: try the last step
        idx = torch.nonzero(undecided).flatten()
        if idx.numel():
            good, bits = self._decodes(flat[idx], torch.full((idx.numel(),), A, device=self.device))
            hi[idx] = torch.where(good, A, hi[idx])
            lo[idx] = torch.where(good, lo[idx], A)
            payload[idx[good]] = bits[good]
        while True:
            idx = torch.nonzero((hi - lo > 1) & (hi <= A)).flatten()
            if idx.numel() == 0:
                break
            mid = (lo[idx] + hi[idx]) // 2
            good, bits = self._decodes(flat[idx], mid)
            hi[idx] = torch.where(good, mid, hi[idx])
            lo[idx] = torch.where(good, lo[idx], mid)
            payload[idx[good]] = bits[good]
        block_steps = hi.reshape(U, C)
        steps = block_steps.max(dim=1).values
        return IrReception(steps, block_steps, payload.reshape(U, C, -1), steps <= A)

    def forward(self, payload: torch.Tensor, snr_db, generator: torch.Generator, bracket=None) -> IrReception:
        """Send float32 (C, k - 24) payload bits to receivers at ``snr_db`` (U,) dB (``bracket``: :meth:`receive`)."""
        if payload.dim() != 2 or payload.shape[1] != self.payload_bits:
            raise ValueError(f"payload must be (C, {self.payload_bits}); got {tuple(payload.shape)}")
        snr = torch.as_tensor(snr_db, dtype=torch.float32, device=self.device).reshape(-1)
        return self.receive(self.llrs(payload, snr, generator), bracket)

    def airtime_s(self, steps, blocks: int, bandwidth_hz: float):
        """Seconds to send ``steps`` steps of ``blocks`` blocks over ``bandwidth_hz`` (one channel use per Hz and s)."""
        return steps * blocks * self.step_symbols / bandwidth_hz
