"""Channel code of the link: Sionna's 5G LDPC, or no code at all."""

from __future__ import annotations

import torch
from sionna.phy.fec.crc import CRCDecoder, CRCEncoder
from sionna.phy.fec.ldpc import LDPC5GDecoder, LDPC5GEncoder
from sionna.phy.utils import hard_decisions

from .config import CodeConfig

__all__ = ["ChannelCode", "Crc", "build_decoder"]


class Crc(torch.nn.Module):
    """A 5G CRC (Sionna's ``CRCEncoder``/``CRCDecoder``, TS 38.212), default CRC24A.

    ``attach``: float (..., k) -> (..., k + length); ``check``: (..., k + length) ->
    (float (..., k) bits, bool (...,) valid).
    """

    def __init__(self, degree: str = "CRC24A", device: str = "cpu"):
        super().__init__()
        self.encoder = CRCEncoder(degree, device=device)
        self.decoder = CRCDecoder(self.encoder, device=device)
        self.length = self.encoder.crc_length

    def attach(self, bits: torch.Tensor) -> torch.Tensor:
        """float32 (..., k) bits -> (..., k + 24) with the CRC appended."""
        return self.encoder(bits)

    def check(self, bits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(float32 (..., k) bits without the CRC, bool (...) CRC passed) of float32 (..., k + 24)."""
        info, valid = self.decoder(bits)
        return info, valid[..., 0]


def build_decoder(encoder: LDPC5GEncoder, config: CodeConfig, device: str = "cpu") -> torch.nn.Module:
    """The BP decoder ``config.decoder`` names, hard information bits out.

    ``auto`` takes the numba kernel on a CPU (about an order of magnitude faster than Sionna's
    gathers and scatters there; ``sims/bench/phy_throughput.py``) and Sionna's decoder on a GPU,
    where its batched torch ops are the fast path; both give the same hard decisions
    (``phy.ldpc_numba``). ``config.compile`` wraps Sionna's decoder in ``torch.compile``: on an
    H200 the issue measured 6.7x over eager (29.5 -> 199 Mbit/s), with the same BLER but not the
    same bits (float reassociation); ``tests/phy/test_ldpc_numba.py`` checks the BLER on CUDA.
    """
    kind = config.decoder
    if kind == "auto":
        kind = "sionna" if str(device).startswith("cuda") else "numba"
    if kind == "numba":
        from .ldpc_numba import NumbaLDPC5GDecoder

        return NumbaLDPC5GDecoder(encoder, config.cn_update, config.bp_iterations, schedule=config.schedule, early_stop=config.early_stop)
    if config.early_stop:
        raise ValueError("code.early_stop: Sionna's decoder has no early stop; use code.decoder = 'numba'")
    decoder = LDPC5GDecoder(
        encoder, cn_update=config.cn_update, num_iter=config.bp_iterations, cn_schedule=config.schedule,
        hard_out=True, device=device,
    )  # fmt: skip
    return torch.compile(decoder) if config.compile else decoder


class ChannelCode(torch.nn.Module):
    """Encoder and decoder for blocks of ``k`` information bits into ``n`` coded bits.

    ``encode``: float32 (..., k) in {0, 1} -> float32 (..., n).
    ``decode``: float32 LLRs (..., n), Sionna's sign convention log(P(1)/P(0)) ->
    float32 hard bits (..., k).

    With ``kind = "ldpc5g"`` the codeword is rate-matched and interleaved for
    ``bits_per_symbol`` as in TS 38.212 (Sionna's ``LDPC5GEncoder``).
    """

    def __init__(self, config: CodeConfig, bits_per_symbol: int, device: str = "cpu"):
        super().__init__()
        self.config = config
        self.k, self.n = config.k, config.n
        self.coded = config.kind == "ldpc5g"
        if self.coded:
            self.encoder = LDPC5GEncoder(
                config.k, config.n, num_bits_per_symbol=bits_per_symbol, device=device
            )
            self.decoder = build_decoder(self.encoder, config, device)

    @property
    def rate(self) -> float:
        """Code rate k / n."""
        return self.k / self.n

    def encode(self, bits: torch.Tensor) -> torch.Tensor:
        """float32 (..., k) information bits -> float32 (..., n) coded bits (identity when uncoded)."""
        return self.encoder(bits) if self.coded else bits

    def decode(self, llr: torch.Tensor) -> torch.Tensor:
        """float32 (..., n) LLRs (log P(1)/P(0)) -> float32 (..., k) hard-decided information bits."""
        return self.decoder(llr) if self.coded else hard_decisions(llr)
