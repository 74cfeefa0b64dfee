"""Channel symbols of a learned encoder (DeepJSCC) over the OFDMA link, analog.

Each user's k complex symbols fill S OFDM symbols of N = k / S subcarriers
(so DeepJSCC at k channel uses per image meets the analog image path at the
same grid). Without pilots the receiver equalises with perfect CSI, as the
rest of the link does; with ``pilot_symbols`` P >= 1 (the DeepJSCC-OFDM
setting), P known OFDM symbols lead the slot, the receiver estimates each
subcarrier's channel by least squares from them and equalises the data with
that estimate (ZF). Differentiable end to end, so encoders train through it.
"""

from __future__ import annotations

import cmath

import torch
from pydantic import ValidationError

from phy import CodeConfig, LinkConfig, OFDMALink
from phy.config import format_validation_error
from phy.link import Reception

__all__ = ["SymbolLink"]

PILOT = cmath.exp(1j * cmath.pi / 4)  # a unit-power QPSK point


class SymbolLink:
    """Sends (B, K, k) complex symbols to K users; returns the equalised (B, K, k).

    :param link: the scenario's link; its grid keeps K users and S OFDM symbols, and gets
        N = k / S subcarriers per user (L = K N) plus ``pilot_symbols`` extra OFDM symbols.
    :raises ValueError: one line naming the key when k is not a multiple of S.
    """

    def __init__(self, link: LinkConfig, num_symbols: int, pilot_symbols: int = 0, device: str = "cpu"):
        S = link.grid.num_ofdm_symbols
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
        """Resource elements one user occupies per image, pilots included."""
        return (self.data_symbols + self.pilot_symbols) * self.subcarriers

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
