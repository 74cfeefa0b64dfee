"""Rate-distortion and rate-perception curves Phi(r), r in bits per pixel.

The intent-multicasting paper (Liu et al., eqs. 9-10) models both as
``Phi(r) = a exp(-b r) + c``: decreasing in the rate, with a floor ``c`` that no
rate gets below. Its fits are the defaults here:

- distortion of a JPEG-coded class image, 1 - MS-SSIM:  Phi_r(r) = 0.199 e^(-3.454 r) + 0.008
- perception of the synthesised image from the map:     Phi_s(r) = 0.214 e^(-5.14 r) + 0.566

The optimisers accept any object with the :class:`RateCurve` methods, so
measured curves (issue: the SDM pipeline) can replace these.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["PAPER_DISTORTION", "PAPER_PERCEPTION", "ExpCurve", "RateCurve", "fit_exp_curve", "min_rate"]


@runtime_checkable
class RateCurve(Protocol):
    """Phi(r) for r >= 0 with its first two derivatives (floats in, floats out)."""

    def __call__(self, r: float) -> float: ...

    def derivative(self, r: float) -> float:
        """d Phi / d r at ``r``."""

    def second_derivative(self, r: float) -> float:
        """d^2 Phi / d r^2 at ``r``."""


@dataclass(frozen=True)
class ExpCurve:
    """``Phi(r) = a exp(-b r) + c`` with a > 0, b > 0: strictly decreasing to the floor c."""

    a: float
    b: float
    c: float

    def __post_init__(self):
        if not (self.a > 0 and self.b > 0 and math.isfinite(self.c)):
            raise ValueError(f"ExpCurve needs a > 0, b > 0 and a finite c; got a={self.a}, b={self.b}, c={self.c}")

    def __call__(self, r):
        return self.a * np.exp(-self.b * np.asarray(r, dtype=np.float64)) + self.c

    def derivative(self, r):
        """d Phi / d r at ``r``."""
        return -self.a * self.b * np.exp(-self.b * np.asarray(r, dtype=np.float64))

    def second_derivative(self, r):
        """d^2 Phi / d r^2 at ``r``."""
        return self.a * self.b**2 * np.exp(-self.b * np.asarray(r, dtype=np.float64))

    def inverse(self, eps: float) -> float:
        """Smallest r >= 0 with Phi(r) <= eps (0 when eps >= Phi(0)).

        Raises ValueError when eps is at or below the floor c: no rate reaches it.
        """
        if not eps > self.c:
            raise ValueError(f"requirement {eps} is at or below the curve's floor {self.c}: no rate meets it")
        if eps >= self.a + self.c:
            return 0.0
        return float(-math.log((eps - self.c) / self.a) / self.b)


#: Liu et al.'s fit of 1 - MS-SSIM of JPEG-coded class images (eq. 9).
PAPER_DISTORTION = ExpCurve(0.199, 3.454, 0.008)
#: Liu et al.'s fit of the perception loss of SDM synthesis from a coded map (eq. 10).
PAPER_PERCEPTION = ExpCurve(0.214, 5.14, 0.566)


def min_rate(curve: RateCurve, eps: float, r_max: float = 64.0) -> float:
    """Smallest r in [0, r_max] with curve(r) <= eps, for any decreasing curve.

    Uses the closed form when the curve has one, bisection otherwise.
    """
    if hasattr(curve, "inverse"):
        return curve.inverse(eps)
    if float(curve(0.0)) <= eps:
        return 0.0
    if float(curve(r_max)) > eps:
        raise ValueError(f"requirement {eps} is not met by any rate up to {r_max} bpp (curve floor too high)")
    lo, hi = 0.0, r_max
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if float(curve(mid)) <= eps:
            hi = mid
        else:
            lo = mid
        if hi - lo <= 1e-15 * max(1.0, hi):
            break
    return hi


def fit_exp_curve(rates, values) -> ExpCurve:
    """Least-squares fit of ``a exp(-b r) + c`` (a, b > 0, floor c >= 0) to measured (rate, value) pairs."""
    from scipy.optimize import curve_fit

    r = np.asarray(rates, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if r.shape != v.shape or r.ndim != 1 or r.size < 3:
        raise ValueError(f"fit_exp_curve needs >= 3 matching 1-D points; got rates {r.shape}, values {v.shape}")
    c0 = max(float(v.min()) * 0.9, 0.0)
    a0 = max(float(v.max() - c0), 1e-6)
    (a, b, c), _ = curve_fit(
        lambda x, a, b, c: a * np.exp(-b * x) + c, r, v, p0=(a0, 1.0, c0), bounds=([1e-12, 1e-9, 0.0], np.inf)
    )
    return ExpCurve(float(a), float(b), float(c))
