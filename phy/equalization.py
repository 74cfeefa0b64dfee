"""Per-subcarrier equalisation with perfect CSI (one antenna at each end).

Sionna's ``zf_equalizer`` / ``lmmse_equalizer`` solve the general MIMO
problem with batched matrix inverses; for a 1x1 channel on every resource
element they reduce to the closed forms below, which cost one division
instead of a batched 1x1 inversion (the tests check both against Sionna).

For one receive antenna the unbiased LMMSE output (what a demapper needs,
and what Sionna's ``lmmse_equalizer`` returns) equals ZF; MMSE differs only
where the channel vanishes: ZF then returns an infinite noise variance (the
demapper gives zero LLRs), MMSE a zero estimate with the same variance.
"""

from __future__ import annotations

import torch

__all__ = ["equalize"]


def equalize(
    y: torch.Tensor, h: torch.Tensor, no: torch.Tensor | float, method: str = "zf"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Equalise y = h x + n, n ~ CN(0, no), per resource element.

    :param y: complex (..., ) received values.
    :param h: complex, broadcastable to ``y``, channel on each resource element.
    :param no: float noise variance, broadcastable to ``y``.
    :param method: ``"zf"`` or ``"mmse"``.
    :returns: ``x_hat`` complex like ``y`` with x_hat = x + e, and ``no_eff`` float,
        the variance of e (no / |h|^2), both broadcast to ``y``'s shape.
    """
    gain = h.real.square() + h.imag.square()
    no = torch.as_tensor(no, dtype=gain.dtype, device=gain.device)
    if method == "zf":
        x_hat = y / h
        no_eff = no / gain
    elif method == "mmse":
        # g = h* / (|h|^2 + no); unbiased x_hat = g y / (g h), e variance = 1/(g h) - 1.
        g = h.conj() / (gain + no)
        gh = gain / (gain + no)
        x_hat = torch.where(gh > 0, g * y / gh, torch.zeros_like(y))
        no_eff = no / gain
    else:
        raise ValueError(f"equalizer = {method!r}: expected 'zf' or 'mmse'")
    no_eff = no_eff.expand(x_hat.shape) if no_eff.shape != x_hat.shape else no_eff
    return x_hat, no_eff
