"""The multi-user OFDMA downlink, assembled from Sionna blocks.

bits (B, K, C, k) -> 5G LDPC -> QAM -> each user's subcarriers of one grid ->
per-user channel + AWGN -> perfect-CSI equalisation -> soft demapping ->
BP decoding -> bits (B, K, C, k)  (:meth:`OFDMALink.forward`, the digital path).

:meth:`OFDMALink.send_symbols` is the part from "each user's subcarriers" to
"equalisation": any complex values (QAM symbols, or analog signal values)
in, equalised noisy values out.

B batch, K users, C codewords per user and slot, S OFDM symbols,
N subcarriers per user, L subcarriers in the grid. Symbols have unit average
energy (Es = 1), so the SNR per resource element is 1 / no.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from sionna.phy.channel import AWGN
from sionna.phy.mapping import BinarySource, Demapper, Mapper

from .allocation import allocate
from .channels import make_channel_sampler
from .coding import ChannelCode
from .config import LinkConfig
from .equalization import equalize
from .ofdma import OFDMAGrid
from .rng import WithGenerator

__all__ = ["LinkOutput", "OFDMALink", "Reception"]


class _SeededAWGN(WithGenerator, AWGN):
    pass


class _SeededBinarySource(WithGenerator, BinarySource):
    pass


@dataclass
class Reception:
    """What each user received on its subcarriers in one slot (on the link's device)."""

    symbols: torch.Tensor  #: complex64 (B, K, S, N) values each user was sent
    y: torch.Tensor  #: complex64 (B, K, S, N) what each user received (h x + n), before equalisation
    x_hat: torch.Tensor  #: complex64 (B, K, S, N) equalised values at each user
    no_eff: torch.Tensor  #: float32 (B, K, S, N) noise variance of x_hat - symbols
    channel: torch.Tensor  #: complex64 (B, K, S, N) each user's channel on its subcarriers
    no: torch.Tensor  #: float32 (B, K, 1, 1) noise variance per user (before equalisation)
    assignment: torch.Tensor  #: int64 (1 or B, K, N) subcarriers of each user
    #: complex64 (B, K, S, N) the receivers' estimate of ``channel`` (None: perfect CSI)
    channel_estimate: torch.Tensor | None = None
    #: float32 (B, K, S, N) the estimator's error variance of ``channel_estimate`` (None: perfect CSI)
    estimation_error_var: torch.Tensor | None = None


@dataclass
class LinkOutput(Reception):
    """A slot of the digital path: the reception plus the decoded bits."""

    bits_hat: torch.Tensor = None  #: float32 (B, K, C, k) decoded information bits


class OFDMALink(torch.nn.Module):
    """K users served over orthogonal subcarriers of one OFDM grid.

    :param config: validated :class:`~phy.config.LinkConfig`.
    :param device: ``"cpu"`` or ``"cuda:N"`` (see :func:`phy.rng.resolve_device`).
    """

    def __init__(self, config: LinkConfig, device: str = "cpu"):
        super().__init__()
        self.config = config
        self.device = device
        m = config.bits_per_symbol
        self.grid = OFDMAGrid(config.grid, device=device)
        self.code = ChannelCode(config.code, m, device=device)
        self.mapper = Mapper("qam", m, device=device)
        self.demapper = Demapper(config.demapping, "qam", m, device=device)
        self.channel = make_channel_sampler(config.channel, self.grid, device=device)
        self.estimator = None
        if config.estimation != "perfect":  # the channel spans the slot's S data + P pilot symbols
            from .estimation import PilotEstimator

            slot = config.grid.model_copy(update={"num_ofdm_symbols": config.grid.num_ofdm_symbols + config.pilot_symbols})
            self.channel = make_channel_sampler(config.channel, OFDMAGrid(slot, device=device), device=device)
            self.estimator = PilotEstimator(config, self.channel, device=device)
        self._awgn = _SeededAWGN(device=device)
        self._source = _SeededBinarySource(device=device)

        self.num_users = config.grid.num_users
        self.codewords_per_user = config.codewords_per_user
        self.coded_bits_per_user = config.coded_bits_per_user
        self.resource_elements_per_user = config.grid.num_ofdm_symbols * config.grid.n
        #: resource elements per user and slot that carry codeword symbols; the
        #: ``padding_res_per_user`` after them are null (zero energy), so they take no
        #: part in Es and the SNR / Eb/N0 conversion counts the data REs only
        self.data_res_per_user = config.data_res_per_user
        self.padding_res_per_user = config.padding_res_per_user
        #: information bits per resource element a user's energy goes to: its data symbols and,
        #: with estimated CSI, its share of the pilots (P N), which Eb/N0 therefore counts
        self.info_bits_per_re = self.codewords_per_user * config.code.k / (self.data_res_per_user + config.pilot_res_per_user)

    def info_shape(self, batch_size: int) -> tuple[int, int, int, int]:
        """Shape (B, K, C, k) of the information bits of one slot."""
        return (batch_size, self.num_users, self.codewords_per_user, self.config.code.k)

    def random_bits(self, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        """Uniform information bits, float32 (B, K, C, k), from Sionna's ``BinarySource``."""
        self._source.generator = generator
        return self._source(self.info_shape(batch_size))

    def snr_db_from_ebno_db(self, ebno_db: torch.Tensor | float) -> torch.Tensor | float:
        """SNR per data resource element (Es/N0) for a given Eb/N0 (Eb per information bit):
        Es/N0 = Eb/N0 + 10 log10(k m / n); null padding REs carry no energy and do not count,
        pilots (unit energy, P N per user with estimated CSI) do."""
        return ebno_db + 10.0 * math.log10(self.info_bits_per_re)

    def assignment_for(self, channel: torch.Tensor) -> torch.Tensor:
        """Subcarriers of each user for this slot: (K, N) fixed, or (B, K, N) by channel gain.

        :param channel: complex (B, K, S, L) responses of every user on every subcarrier.
        """
        if self.grid.default_assignment is not None:
            return self.grid.default_assignment
        gains = channel.real.square().mean(dim=2) + channel.imag.square().mean(dim=2)
        return allocate(gains, self.config.grid.n, self.config.grid.allocation)

    def send_symbols(
        self,
        symbols: torch.Tensor,
        snr_db: torch.Tensor | float,
        generator: torch.Generator,
        assignment: torch.Tensor | None = None,
    ) -> Reception:
        """Put values on each user's subcarriers, through channel and noise, and equalise.

        :param symbols: complex64 (B, K, S, N); unit average energy gives SNR = 1 / no.
        :param snr_db: SNR per resource element: a number, or a tensor broadcastable
            to (B, K) (e.g. per-user SNRs from a link budget).
        :param generator: torch.Generator on the link's device; channel and noise
            draws come from it.
        :param assignment: int (K, N) or (B, K, N) subcarrier indices, orthogonal across
            users; ``None``: the config's fixed pattern, or the allocation by channel
            gain (``grid.allocation = "greedy" | "optimal"``).
        """
        B, K, S, N = symbols.shape
        expected = (K, S, N) == (self.num_users, self.config.grid.num_ofdm_symbols, self.config.grid.n)
        if not expected:
            raise ValueError(
                f"symbols has shape {tuple(symbols.shape)}; expected (B, {self.num_users}, "
                f"{self.config.grid.num_ofdm_symbols}, {self.config.grid.n})"
            )
        h_full = self.channel(B, generator)
        if self.estimator is not None:
            return self._send_with_pilots(symbols, h_full, snr_db, generator, assignment)
        if assignment is None:
            assignment = self.assignment_for(h_full)
        else:
            self.grid.check_assignment(assignment)
        tx_grid = self.grid.place(symbols, assignment)
        h = self.grid.extract(h_full, assignment)
        rx_symbols = self.grid.extract(tx_grid, assignment)

        snr = torch.as_tensor(snr_db, dtype=torch.float32, device=self.device)
        no = torch.pow(10.0, -snr / 10.0).expand(B, K)[..., None, None]
        self._awgn.generator = generator
        y = self._awgn(h * rx_symbols, no)
        x_hat, no_eff = equalize(y, h, no, self.config.equalizer)
        a = assignment if assignment.dim() == 3 else assignment.unsqueeze(0)
        return Reception(symbols, y, x_hat, no_eff, h, no, a)

    def _noise_variance(self, snr_db: torch.Tensor | float, B: int) -> torch.Tensor:
        snr = torch.as_tensor(snr_db, dtype=torch.float32, device=self.device)
        return torch.pow(10.0, -snr / 10.0).expand(B, self.num_users)[..., None, None]

    def _send_with_pilots(self, symbols, h_full, snr_db, generator, assignment) -> Reception:
        """send_symbols with estimated CSI: every user receives the whole slot (pilots and all
        users' data), estimates its channel (:mod:`phy.estimation`) and equalises with the
        estimate, its error variance added to the noise. ``h_full``: complex (B, K, S + P, L)."""
        B, K = symbols.shape[:2]
        rows = self.estimator.data_rows
        if assignment is None:  # the base station allocates by the true gains of the data symbols
            assignment = self.assignment_for(h_full[:, :, rows])
        else:
            self.grid.check_assignment(assignment)
        slot = self.estimator.frame(self.grid.place(symbols, assignment))  # (B, S + P, L)
        no = self._noise_variance(snr_db, B)
        self._awgn.generator = generator
        y_full = self._awgn(h_full * slot.unsqueeze(1), no)
        h_hat, err_var = self.estimator.estimate(y_full, no)
        pick = lambda grid: self.grid.extract(grid[:, :, rows], assignment)  # noqa: E731
        y, h, h_hat, err_var = pick(y_full), pick(h_full), pick(h_hat), pick(err_var)
        x_hat, no_eff = equalize(y, h_hat, no + err_var, self.config.equalizer)
        a = assignment if assignment.dim() == 3 else assignment.unsqueeze(0)
        return Reception(symbols, y, x_hat, no_eff, h, no, a, h_hat, err_var)

    def forward(
        self,
        bits: torch.Tensor,
        snr_db: torch.Tensor | float,
        generator: torch.Generator,
        assignment: torch.Tensor | None = None,
    ) -> LinkOutput:
        """Send one slot of bits (the digital path); arguments as in :meth:`send_symbols`.

        :param bits: float32 (B, K, C, k) information bits in {0, 1}.
        """
        B = bits.shape[0]
        if tuple(bits.shape) != self.info_shape(B):
            raise ValueError(f"bits has shape {tuple(bits.shape)}; expected {self.info_shape(B)}")
        K, S, N = self.num_users, self.config.grid.num_ofdm_symbols, self.config.grid.n

        coded = self.code.encode(bits).reshape(B, K, -1)
        symbols = self.mapper(coded)
        if self.padding_res_per_user:  # null resource elements after the last codeword
            symbols = torch.nn.functional.pad(symbols, (0, self.padding_res_per_user))
        rx = self.send_symbols(symbols.reshape(B, K, S, N), snr_db, generator, assignment)

        llr = self.demapper(rx.x_hat.reshape(B, K, S * N), rx.no_eff.reshape(B, K, S * N))
        llr = llr[..., : self.codewords_per_user * self.config.code.n]
        bits_hat = self.code.decode(llr.reshape(B, K, self.codewords_per_user, self.config.code.n))
        return LinkOutput(**vars(rx), bits_hat=bits_hat)
