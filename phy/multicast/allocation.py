"""The result of an optimiser: powers and rates of every stream, and what they give."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .problem import MulticastProblem, spectral_efficiency

__all__ = ["MulticastAllocation"]


@dataclass
class MulticastAllocation:
    """Powers (W) and rates (bpp) of the map and of every class ((L,) arrays, 0 for classes not sent).

    ``multipliers`` (when the solver provides them): ``power`` (scalar),
    ``map`` (K,) for T_k >= T_g + T_k0 and ``class`` (K, L) for T_k >= T_kl,
    in units of the objective per unit of the constraint (s/W, 1).
    """

    problem: MulticastProblem
    map_power_w: float
    class_power_w: np.ndarray
    map_rate: float
    class_rates: np.ndarray
    method: str
    iterations: int = 0
    multipliers: dict = field(default_factory=dict)

    @property
    def user_latency_s(self) -> np.ndarray:
        """T_k (K,) seconds."""
        return self.problem.user_latencies(self.map_power_w, self.class_power_w, self.map_rate, self.class_rates)

    @property
    def sum_latency_s(self) -> float:
        """Sum of the users' latencies (s)."""
        return float(self.user_latency_s.sum())

    @property
    def mean_latency_s(self) -> float:
        """The per-user latency the paper plots: sum_k T_k / K."""
        return float(self.user_latency_s.mean())

    @property
    def power_ratio(self) -> float:
        """gamma = p0 / P_T."""
        return self.map_power_w / self.problem.total_power_w

    @property
    def used_power_w(self) -> float:
        """Total power of the map and class streams (W)."""
        return float(self.map_power_w + np.sum(self.class_power_w))

    def spectral_efficiency(self) -> float:
        """The average spectral efficiency of eq. (11), bit/s/Hz (:meth:`MulticastProblem.spectral_efficiency`)."""
        return self.problem.spectral_efficiency(self.map_power_w, self.class_power_w)

    def map_spectral_efficiency(self) -> np.ndarray:
        """SE of the map stream at each user (K,), bit/s/Hz (not eq. (11): one stream only)."""
        p = self.problem
        return spectral_efficiency(self.map_power_w, p.map_bandwidth_hz, p.gains, p.noise_psd_w_hz)
