"""Confidence intervals for error rates estimated by Monte-Carlo simulation.

Bit errors are independent over AWGN, but not under block fading: every bit
of a slot sees the same channel draw, so the plain binomial interval would be
far too narrow. The simulation therefore records errors per *cluster* (one
independent channel draw: one user in one batch element), and the interval is
the Clopper-Pearson interval at the effective sample size n / deff, where the
design effect deff compares the between-cluster variance with the binomial
one (Korn and Graubard, "Confidence intervals for proportions with small
expected number of positive counts estimated from survey data", Survey
Methodology 24(2), 1998). With deff clipped at 1 it is exactly Clopper-Pearson
when errors are independent, and it stays valid with zero errors.
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy.stats import beta

__all__ = ["ClusteredCount", "clopper_pearson", "rate_interval"]


def clopper_pearson(successes: float, trials: float, confidence: float = 0.95) -> tuple[float, float]:
    """Exact binomial interval; accepts non-integer (effective) counts."""
    if trials <= 0:
        return 0.0, 1.0
    alpha = 1.0 - confidence
    lo = 0.0 if successes <= 0 else float(beta.ppf(alpha / 2, successes, trials - successes + 1))
    hi = 1.0 if successes >= trials else float(beta.ppf(1 - alpha / 2, successes + 1, trials - successes))
    return lo, hi


@dataclass
class ClusteredCount:
    """Running error count over equally sized clusters of trials.

    ``errors`` / ``trials`` totals, ``clusters`` how many independent clusters they
    came from, ``sum_sq`` the sum over clusters of (errors in the cluster)^2.
    """

    errors: int = 0
    trials: int = 0
    clusters: int = 0
    sum_sq: int = 0

    def add(self, errors: int, trials: int, clusters: int, sum_sq: int) -> None:
        """Add one batch: errors, trials, clusters and the sum of squared per-cluster errors."""
        self.errors += errors
        self.trials += trials
        self.clusters += clusters
        self.sum_sq += sum_sq

    @property
    def rate(self) -> float:
        """errors / trials (NaN before any trial)."""
        return self.errors / self.trials if self.trials else float("nan")

    def design_effect(self) -> float:
        """Between-cluster variance of the rate over its binomial variance, at least 1."""
        n_c, p = self.clusters, self.rate
        if n_c < 2 or self.errors == 0 or p >= 1.0:
            return 1.0
        m = self.trials / n_c  # trials per cluster
        mean_sq = self.sum_sq / m**2 / n_c  # mean of squared per-cluster rates
        var_cluster_rates = (mean_sq - p * p) * n_c / (n_c - 1)
        var_rate_clustered = var_cluster_rates / n_c
        var_rate_binomial = p * (1 - p) / self.trials
        return max(1.0, var_rate_clustered / var_rate_binomial)

    def interval(self, confidence: float = 0.95) -> tuple[float, float]:
        """(low, high) confidence interval of the rate, widened by the design effect (:func:`rate_interval`)."""
        return rate_interval(self, confidence)


def rate_interval(count: ClusteredCount, confidence: float = 0.95) -> tuple[float, float]:
    """Korn-Graubard interval of ``count.rate`` (Clopper-Pearson at n / deff)."""
    if count.trials == 0:
        return 0.0, 1.0
    deff = count.design_effect()
    n_eff = count.trials / deff
    return clopper_pearson(count.rate * n_eff, n_eff, confidence)
