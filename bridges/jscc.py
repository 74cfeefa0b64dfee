"""Channel symbols of a learned encoder (DeepJSCC) over the OFDMA link, analog.

Each user's k complex symbols fill S OFDM symbols of N = k / S subcarriers
(so DeepJSCC at k channel uses per image meets the analog image path at the
same grid). Without pilots of its own the receiver equalises as the rest of
the link does: with perfect CSI, or with the link's estimate (``link.estimation``
= ``ls`` / ``lmmse``: the link's pilot symbols, its estimator, the error variance
added to the noise); with ``pilot_symbols`` P >= 1 (the DeepJSCC-OFDM
setting), P known OFDM symbols lead the slot, the receiver estimates each
subcarrier's channel by least squares from them and equalises the data with
that estimate (ZF). Differentiable end to end, so encoders train through it.
:meth:`SymbolLink.raw` returns the received grid before any equalisation, for
DeepJSCC-OFDM-I / -E (:class:`semantic.jscc.DeepJSCCOFDM`).

:func:`replay` puts other symbols through a reception that already happened:
the same subcarriers, channel coefficients and noise samples. The N/M studies
use it so that DeepJSCC-OFDM gets exactly what the analog image methods got.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from pydantic import ValidationError

from phy import CodeConfig, LinkConfig, OFDMALink
from phy.config import format_validation_error
from phy.link import Reception
from semantic.jscc import PILOT

__all__ = ["RawGrid", "SymbolLink", "replay"]


@dataclass
class RawGrid:
    """What K users received before equalisation (B batch, K users, S data and P pilot OFDM
    symbols, N subcarriers)."""

    y: torch.Tensor  #: complex64 (B, K, S, N) received data h x + n
    pilots: torch.Tensor  #: complex64 (B, K, P, N) received pilots h p + n
    no: torch.Tensor  #: float32 (B, K) noise variance per resource element


def replay(
    reception: Reception, symbols: torch.Tensor, pilot_symbols: int, generator: torch.Generator
) -> RawGrid:
    """``symbols`` through the very reception ``reception`` recorded, plus pilots.

    Data: y = h s + n with the recorded channel h and noise n = y_rec - h x_rec on each entry
    (the same subcarriers, fading and noise samples). Pilots: P extra OFDM symbols of
    :data:`~semantic.jscc.PILOT` on the same subcarriers, seeing the channel of the slot's first
    OFDM symbol (exact for block fading and AWGN; with Doppler, the pilot sits next to it) and
    fresh noise of the same variance from ``generator``.

    :param symbols: complex (B, K, S, N), the shape of ``reception.symbols``.
    """
    if symbols.shape != reception.symbols.shape:
        raise ValueError(f"symbols has shape {tuple(symbols.shape)}; the reception carried {tuple(reception.symbols.shape)}")
    h = reception.channel
    noise = reception.y - h * reception.symbols
    y = h * symbols.to(h.dtype) + noise
    B, K, _, N = symbols.shape
    shape = (B, K, pilot_symbols, N)
    std = (reception.no / 2).sqrt()
    pilot_noise = torch.complex(
        torch.randn(shape, generator=generator, device=h.device), torch.randn(shape, generator=generator, device=h.device)
    ) * std
    pilots = h[:, :, :1] * PILOT + pilot_noise
    return RawGrid(y, pilots, reception.no.reshape(B, K).expand(B, K).clone())


class SymbolLink:
    """Sends (B, K, k) complex symbols to K users; returns the equalised (B, K, k).

    :param link: the scenario's link; its grid keeps K users and S OFDM symbols, and gets
        N = k / S subcarriers per user (L = K N) plus ``pilot_symbols`` extra OFDM symbols.
    :raises ValueError: one line naming the key when k is not a multiple of S.
    """

    def __init__(self, link: LinkConfig, num_symbols: int, pilot_symbols: int = 0, device: str = "cpu"):
        S = link.grid.num_ofdm_symbols
        if pilot_symbols and link.estimation != "perfect":
            raise ValueError(
                f"link.estimation = {link.estimation!r}: this model estimates the channel from its own "
                f"{pilot_symbols} pilot symbol(s); use a model without pilots or estimation = 'perfect'"
            )
        if num_symbols % S:
            raise ValueError(
                f"link.grid.num_ofdm_symbols = {S} must divide the {num_symbols} channel symbols per image"
            )
        N = num_symbols // S
        data = link.model_dump()
        data["grid"].update(
            num_ofdm_symbols=S + pilot_symbols, subcarriers_per_user=N, num_subcarriers=link.grid.num_users * N
        )
        capacity = (S + pilot_symbols) * N * link.bits_per_symbol
        data["code"] = CodeConfig(kind="uncoded", k=capacity, n=capacity).model_dump()
        try:
            self.link_config = LinkConfig.model_validate(data)
        except ValidationError as exc:
            raise ValueError(format_validation_error(exc, "link")) from None
        self.link = OFDMALink(self.link_config, device=device)
        self.num_symbols, self.pilot_symbols, self.data_symbols, self.subcarriers = num_symbols, pilot_symbols, S, N

    @property
    def channel_uses(self) -> int:
        """Resource elements one user occupies per image, pilots included (the model's own, or
        the link's with estimated CSI)."""
        return (self.data_symbols + self.pilot_symbols) * self.subcarriers + self.link_config.pilot_res_per_user

    def __call__(
        self, symbols: torch.Tensor, snr_db: torch.Tensor | float, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, Reception]:
        """complex (B, K, k) -> (equalised complex (B, K, k), noise variance (B, K, k), reception)."""
        B, K, k = symbols.shape
        P, S, N = self.pilot_symbols, self.data_symbols, self.subcarriers
        grid = symbols.reshape(B, K, S, N)
        if P:
            pilots = torch.full((B, K, P, N), PILOT, dtype=grid.dtype, device=grid.device)
            grid = torch.cat([pilots, grid], dim=2)
        rx = self.link.send_symbols(grid, snr_db, generator)
        if not P:
            return rx.x_hat.reshape(B, K, k), rx.no_eff.reshape(B, K, k), rx
        h_hat = (rx.y[:, :, :P] / PILOT).mean(dim=2, keepdim=True)  # least squares per subcarrier
        x_hat = rx.y[:, :, P:] / h_hat
        no_eff = (rx.no / h_hat.abs().square()).expand(B, K, S, N)
        return x_hat.reshape(B, K, k), no_eff.reshape(B, K, k), rx

    def raw(self, symbols: torch.Tensor, snr_db: torch.Tensor | float, generator: torch.Generator) -> RawGrid:
        """complex (B, K, k) -> the received grid before equalisation (data and pilots)."""
        B, K, k = symbols.shape
        P, S, N = self.pilot_symbols, self.data_symbols, self.subcarriers
        grid = symbols.reshape(B, K, S, N)
        pilots = torch.full((B, K, P, N), PILOT, dtype=grid.dtype, device=grid.device)
        rx = self.link.send_symbols(torch.cat([pilots, grid], dim=2), snr_db, generator)
        return RawGrid(rx.y[:, :, P:], rx.y[:, :, :P], rx.no.reshape(B, K).expand(B, K).clone())
