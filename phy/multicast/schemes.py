"""The schemes compared in the paper (Section III-C) and the solver dispatch.

- proposed: problem (8), solved exactly where the structure allows (:mod:`.exact`),
  by SQP otherwise (:mod:`.sqp`);
- NGM (non-generative multicasting): the whole image multicast at
  r_NGM = Phi_r^-1(min eps_r) bpp with all the power on the map band B0;
- FGM (fully generative multicasting): only the map, at r_FGM = Phi_s^-1(min eps_s),
  with all the power, then every user synthesises the whole image (T_g).
"""

from __future__ import annotations

import numpy as np

from .allocation import MulticastAllocation
from .curves import min_rate
from .exact import solve_exact
from .problem import MulticastProblem, spectral_efficiency, stream_latency
from .sqp import solve_sqp

__all__ = ["fgm_latencies", "fgm_rate", "ngm_latencies", "ngm_rate", "single_stream_spectral_efficiency", "solve"]


def solve(problem: MulticastProblem, method: str = "auto") -> MulticastAllocation:
    """Optimal allocation of problem (8).

    ``method``: ``"auto"`` (exact structure when it applies, SQP otherwise),
    ``"exact"`` (raises ValueError where it does not apply), ``"sqp"``, or
    ``"slsqp"`` (the SciPy reference).
    """
    if method in ("auto", "exact"):
        result = solve_exact(problem)
        if result is not None:
            return result
        if method == "exact":
            raise ValueError("method='exact': the optimum is not a common-latency point and intents overlap; use 'sqp'")
        return solve_sqp(problem)
    if method == "sqp":
        return solve_sqp(problem)
    if method == "slsqp":
        from .reference import solve_slsqp

        return solve_slsqp(problem)
    raise ValueError(f"method must be 'auto', 'exact', 'sqp' or 'slsqp'; got {method!r}")


def ngm_rate(problem: MulticastProblem) -> float:
    """r_NGM = Phi_r^-1(min_l eps_r) bpp over the whole image."""
    return min_rate(problem.distortion, float(problem.eps_r.min()))


def fgm_rate(problem: MulticastProblem) -> float:
    """r_FGM = Phi_s^-1(min_k eps_s) bpp: the map only."""
    return min_rate(problem.perception, float(problem.eps_s.min()))


def ngm_latencies(problem: MulticastProblem, gains: np.ndarray | None = None) -> np.ndarray:
    """T_k seconds of NGM: |X| r_NGM bits at P_T over B0, no generation.

    ``gains``: any array of |h|^2 (e.g. (draws, K)) instead of the problem's (K,);
    these schemes have closed forms, so many drops are evaluated at once.
    """
    bits = problem.image_pixels * ngm_rate(problem)
    g = problem.gains if gains is None else gains
    return stream_latency(bits, problem.total_power_w, problem.map_bandwidth_hz, g, problem.noise_psd_w_hz)


def fgm_latencies(problem: MulticastProblem, gains: np.ndarray | None = None) -> np.ndarray:
    """T_k seconds of FGM: |X| r_FGM bits at P_T over B0, then T_g of synthesis (``gains`` as in NGM)."""
    bits = problem.image_pixels * fgm_rate(problem)
    g = problem.gains if gains is None else gains
    return problem.generation_latency_s + stream_latency(
        bits, problem.total_power_w, problem.map_bandwidth_hz, g, problem.noise_psd_w_hz
    )


def single_stream_spectral_efficiency(problem: MulticastProblem, gains: np.ndarray | None = None) -> np.ndarray:
    """SE of NGM's and FGM's single stream, all power on B0 (``gains`` as in NGM)."""
    g = problem.gains if gains is None else gains
    return spectral_efficiency(problem.total_power_w, problem.map_bandwidth_hz, g, problem.noise_psd_w_hz)
