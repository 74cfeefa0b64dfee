"""Problem (8) in scaled variables, shared by the SQP solver and the SLSQP reference.

Variables x = [q (J), r (J), tau (K)]: q_j = p_j / P_T the power share of
stream j (0 = map), r_j its rate in bpp, tau_k = T_k / w_k the latency of
user k in units of w_k = its latency at an equal power split, so every
variable is O(1) even when fading spreads the latencies over decades.

Constraints, all ``<= 0``:

- link rows i = (k, j): off_i + kappa_i ln2 r_j / ln(1 + sigma_i q_j) - tau_k
  with kappa_i = |X_j| / (w_k B_j), sigma_i = P_T |h_k|^2 / (B_j N0),
  off_i = T_g / w_k for map rows and 0 for class rows;
- rate rows j: (Phi_j(r_j) - eps_j) / eps_j   (Phi_s for the map, Phi_r for classes);
- the budget: sum_j q_j - 1;
- bounds r_j >= 0 (and q_j > 0, which the SQP keeps by its step rule).

Objective: sum_k w_k tau_k (seconds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .allocation import MulticastAllocation
from .curves import RateCurve
from .problem import MulticastProblem

__all__ = ["Formulation", "formulate"]

LN2 = math.log(2.0)


@dataclass
class Formulation:
    """Problem (8) as a smooth program in x = (log powers, rates) for the SQP and SLSQP solvers."""
    problem: MulticastProblem
    J: int
    K: int
    kappa: np.ndarray  # (R,)
    offset: np.ndarray  # (R,)
    sigma: np.ndarray  # (R,)
    weight: np.ndarray  # (K,) w_k, seconds
    rows_user: np.ndarray  # (R,) sorted by user
    rows_stream: np.ndarray  # (R,)
    user_ptr: np.ndarray  # (K+1,) rows of user k: user_ptr[k]:user_ptr[k+1]
    curves: list  # (J,) RateCurve per stream
    eps: np.ndarray  # (J,)
    min_rates: np.ndarray  # (J,) Phi_j^-1(eps_j), for starting points

    @property
    def n(self) -> int:
        """Number of variables."""
        return 2 * self.J + self.K

    def link_values(self, x: np.ndarray) -> np.ndarray:
        """(R,) link-row constraint values at x."""
        q, r, tau = self.split(x)
        j, k = self.rows_stream, self.rows_user
        return self.offset + self.kappa * LN2 * r[j] / np.log1p(self.sigma * q[j]) - tau[k]

    def rate_values(self, r: np.ndarray) -> np.ndarray:
        """Rate-curve values of the streams at rates ``r`` float64 (J,)."""
        return np.array([(float(self.curves[j](r[j])) - self.eps[j]) / self.eps[j] for j in range(self.J)])

    def rate_derivatives(self, r: np.ndarray):
        """First and second derivatives of the rate curves at ``r`` float64 (J,)."""
        d1 = np.array([float(self.curves[j].derivative(r[j])) / self.eps[j] for j in range(self.J)])
        d2 = np.array([float(self.curves[j].second_derivative(r[j])) / self.eps[j] for j in range(self.J)])
        return d1, d2

    def split(self, x: np.ndarray):
        """The variable vector x split into its parts (powers, rates, latency)."""
        return x[: self.J], x[self.J : 2 * self.J], x[2 * self.J :]

    def start(self, map_share: float | None = None) -> np.ndarray:
        """A strictly feasible point: power shares summing to 0.9 (equal, or ``map_share`` of it
        to the map and the rest split), rates 10% above their minima, latencies just above their bounds."""
        if map_share is None or self.J == 1:
            q = np.full(self.J, 0.9 / self.J)
        else:
            q = np.concatenate([[0.9 * map_share], np.full(self.J - 1, 0.9 * (1 - map_share) / (self.J - 1))])
        r = self.min_rates * 1.1 + 1e-3
        tau = np.zeros(self.K)
        x = np.concatenate([q, r, tau])
        vals = self.link_values(x)
        np.maximum.at(tau, self.rows_user, vals)
        x[2 * self.J :] = tau * (1 + 1e-3) + 1e-6
        return x

    def allocation(self, x: np.ndarray, method: str, iterations: int, multipliers: dict) -> MulticastAllocation:
        """The :class:`Allocation` a solution vector x stands for."""
        p = self.problem
        q, r, _ = self.split(x)
        L = p.num_classes
        class_power = np.zeros(L)
        class_rates = np.zeros(L)
        classes = p.streams.classes
        class_power[classes] = q[1:] * p.total_power_w
        class_rates[classes] = r[1:]
        return MulticastAllocation(p, float(q[0] * p.total_power_w), class_power, float(r[0]), class_rates,
                                   method=method, iterations=iterations, multipliers=multipliers)  # fmt: skip


def formulate(problem: MulticastProblem) -> Formulation:
    """The smooth formulation of ``problem`` for the SQP / SLSQP solvers."""
    st = problem.streams
    J, K = st.count, problem.num_users
    order = np.lexsort((st.rows_stream, st.rows_user))
    rows_user = st.rows_user[order]
    rows_stream = st.rows_stream[order]
    sigma = problem.total_power_w * problem.gains[rows_user] / (st.bandwidth_hz[rows_stream] * problem.noise_psd_w_hz)
    seconds = st.pixels[rows_stream] / st.bandwidth_hz[rows_stream]  # latency = seconds * r / log2(1 + sigma q)
    offset_s = np.where(rows_stream == 0, problem.generation_latency_s, 0.0)
    min_rates = np.concatenate([[problem.required_map_rate()], problem.required_class_rates()[st.classes]])
    equal = offset_s + seconds * min_rates[rows_stream] / np.log2(1.0 + sigma / J)
    weight = np.zeros(K)
    np.maximum.at(weight, rows_user, equal)
    kappa = seconds / weight[rows_user]
    offset = offset_s / weight[rows_user]
    user_ptr = np.zeros(K + 1, dtype=np.int64)
    np.add.at(user_ptr, rows_user + 1, 1)
    user_ptr = np.cumsum(user_ptr)
    curves: list[RateCurve] = [problem.perception] + [problem.distortion] * (J - 1)
    eps = np.concatenate([[problem.eps_s.min()], problem.eps_r[st.classes]])
    return Formulation(problem, J, K, kappa, offset, sigma, weight, rows_user, rows_stream, user_ptr, curves, eps, min_rates)
