"""Rate curves Phi(r): inverse, floor, the fit (phy.multicast.curves)."""

import numpy as np
import pytest

from phy.multicast import (
    PAPER_DISTORTION,
    PAPER_PERCEPTION,
    fit_exp_curve,
)


def test_curve_inverse_and_floor():
    r = PAPER_DISTORTION.inverse(0.0285)
    assert float(PAPER_DISTORTION(r)) == pytest.approx(0.0285, rel=1e-12)
    assert PAPER_DISTORTION.inverse(0.5) == 0.0  # above Phi(0): no bits needed
    with pytest.raises(ValueError, match="floor"):
        PAPER_PERCEPTION.inverse(0.566)


def test_fit_recovers_the_paper_curve():
    r = np.linspace(0.05, 1.5, 12)
    fit = fit_exp_curve(r, PAPER_DISTORTION(r))
    assert (fit.a, fit.b, fit.c) == pytest.approx((0.199, 3.454, 0.008), rel=1e-5)
