"""Large-scale path loss and link budget: physical parameters -> per-user SNR.

SNR_k [dB] = P_T [dBm] + eps0 [dB] - 10 phi log10(d_k / 1 m) - (N0 [dBm/Hz] + 10 log10 B)

with the transmit power spread evenly over the band, so the SNR per resource
element equals the SNR over the whole band B.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .config import LinkBudgetConfig

__all__ = ["LinkBudget", "received_snr_db"]


def received_snr_db(power_w, gain, bandwidth_hz: float, noise_psd_w_hz: float) -> np.ndarray:
    """SNR (dB) of a stream sent with ``power_w`` spread over ``bandwidth_hz``, received with
    power gain ``gain`` = |h|^2 (path loss and fading): 10 log10(p |h|^2 / (B N0)), float64, broadcast."""
    return 10 * np.log10(power_w * np.asarray(gain) / (bandwidth_hz * noise_psd_w_hz))


class LinkBudget:
    """Link budget of the downlink (defaults: Liu et al., Table II)."""

    def __init__(self, config: LinkBudgetConfig | None = None):
        self.config = config or LinkBudgetConfig()

    @property
    def noise_power_dbm(self) -> float:
        """N0 * B in dBm."""
        return self.config.noise_psd_dbm_hz + 10.0 * math.log10(self.config.bandwidth_hz)

    def path_gain_db(self, distance_m: torch.Tensor | float) -> torch.Tensor:
        """eps0 * (d / 1 m)^(-phi) in dB (negative), elementwise, float64 on d's device."""
        d = torch.as_tensor(distance_m).to(torch.float64)
        if torch.any(d < 1.0):
            raise ValueError("distance_m must be >= 1 m (the path-loss reference distance)")
        return self.config.path_loss_ref_db - 10.0 * self.config.path_loss_exponent * torch.log10(d)

    def snr_db(
        self, distance_m: torch.Tensor | float, tx_power_dbm: torch.Tensor | float | None = None
    ) -> torch.Tensor:
        """Average received SNR (before small-scale fading) at ``distance_m``, float64 on its device."""
        p = self.config.tx_power_dbm if tx_power_dbm is None else tx_power_dbm
        return torch.as_tensor(p, dtype=torch.float64) + self.path_gain_db(distance_m) - self.noise_power_dbm

    def sample_distances(
        self, shape: tuple[int, ...], generator: torch.Generator, device: str = "cpu"
    ) -> torch.Tensor:
        """User distances uniform in [distance_min_m, distance_max_m], float32 ``shape``."""
        lo, hi = self.config.distance_min_m, self.config.distance_max_m
        u = torch.rand(shape, generator=generator, device=device)
        return lo + (hi - lo) * u
