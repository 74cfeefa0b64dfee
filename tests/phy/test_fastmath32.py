"""The vectorisable float32 exp / log / phi / tanh / atanh of the LDPC kernel against numpy in float64."""

import numba
import numpy as np
import pytest

from phy import fastmath32


def elementwise(function):
    @numba.njit(error_model="numpy")
    def apply(x):
        out = np.empty_like(x)
        for i in range(len(x)):
            out[i] = function(x[i])
        return out

    return apply


def test_exp_and_log_within_their_bounds():
    x = np.linspace(0, 87, 200_001, dtype=np.float32)
    exact = np.exp(-x.astype(np.float64))
    assert np.max(np.abs(elementwise(fastmath32.exp_neg)(x) / exact - 1)) < 5e-6
    r = np.exp(np.linspace(0, 63 * np.log(2), 200_001)).astype(np.float32)
    assert np.max(np.abs(elementwise(fastmath32.log_ge1)(r) - np.log(r.astype(np.float64)))) < 5e-6


def test_phi_closer_to_exact_than_sionnas_float32_form():
    x = np.concatenate([np.geomspace(8.5e-8, 16.63, 200_000), np.linspace(0, 20, 20_001)]).astype(np.float32)
    clamped = np.clip(x.astype(np.float64), 8.5e-8, 16.635532)
    exact = np.minimum(-np.log(np.tanh(clamped / 2)), 16.635532)
    ours = elementwise(fastmath32.phi)(x)
    e = np.exp(clamped.astype(np.float32))
    sionna = np.log(e + 1) - np.log(e - 1)
    assert np.max(np.abs(ours - exact)) < 2e-6
    assert np.max(np.abs(sionna - exact)) > 0.1  # the float32 cancellation ours avoids
    assert ours.dtype == np.float32 and np.all(np.diff(ours[:200_000]) <= 1e-6)  # decreasing


@pytest.mark.parametrize("sign", [1, -1])
def test_tanh_half_and_two_atanh(sign):
    x = sign * np.concatenate([np.geomspace(1e-9, 30, 100_000), np.linspace(0, 100, 10_001)]).astype(np.float32)
    assert np.max(np.abs(elementwise(fastmath32.tanh_half)(x) - np.tanh(x.astype(np.float64) / 2))) < 2e-7
    m = sign * np.geomspace(1e-8, 1 - 1e-7, 100_000).astype(np.float32)
    exact = 2 * np.arctanh(m.astype(np.float64))
    assert np.max(np.abs(elementwise(fastmath32.two_atanh)(m) / exact - 1)) < 1e-6
