"""The link abstraction: the shipped BLER tables, their thresholds, and a fresh simulation against them."""

import math

import numpy as np
import pytest
import torch

from phy.ber import simulate_link
from phy.link import OFDMALink
from phy.link_abstraction import (
    BlerCurve,
    BlerTable,
    load_ir_table,
    load_table,
    mcs_link_config,
)
from phy.mcs import MCS_TABLE, choose_mcs_thresholds, shannon_snr_db
from phy.stats import clopper_pearson


@pytest.fixture(scope="module")
def awgn():
    return load_table("awgn")


@pytest.fixture(scope="module")
def rayleigh():
    return load_table("rayleigh_block")


@pytest.mark.parametrize("channel", ["awgn", "rayleigh_block"])
def test_each_curve_falls_with_snr_within_its_interval(channel):
    table = load_table(channel)
    assert [c.name for c in table.curves] == [m.name for m in MCS_TABLE]
    for c in table.curves:
        bler, low, high = map(np.asarray, (c.bler, c.low, c.high))
        assert np.all(np.diff(c.snr_db) > 0)
        assert np.all(bler[1:] <= high[:-1] + 1e-12), c.name  # monotone up to Monte-Carlo noise
        assert bler[0] > 0.5 and bler[-1] < 0.02, c.name  # the walk spans the waterfall
        assert np.all((low <= bler) & (bler <= high))


def test_thresholds_grow_with_efficiency_and_sit_above_shannon(awgn, rayleigh):
    for target in (0.1, 0.01, 1e-3):
        thr = awgn.thresholds_db(target)
        assert np.all(np.isfinite(thr)) and np.all(np.diff(thr) > 0)
        gap = thr - shannon_snr_db(awgn.efficiencies())
        assert np.all(gap > 0.5) and np.all(gap < 4.0)  # a 1536-bit code: 1-3 dB from capacity
    # Block fading at the same BLER needs far more average SNR than AWGN.
    assert np.all(rayleigh.thresholds_db(0.1) - awgn.thresholds_db(0.1) > 5.0)
    assert np.all(awgn.thresholds_db(1e-3) > awgn.thresholds_db(0.1))


def test_rayleigh_table_is_the_awgn_table_averaged_over_the_fading(awgn, rayleigh):
    """BLER_ray(s) = E[BLER_awgn(s |h|^2)]: two independent measurements agree."""
    for index in (0, 5, 12):
        curve = rayleigh.curves[index]
        predicted = awgn.fading_average(index, np.asarray(curve.snr_db))
        for p, b, n in zip(predicted, curve.bler, curve.blocks):
            lo, hi = clopper_pearson(b * n, n, 0.999)
            assert lo - 0.02 <= p <= hi + 0.02, (curve.name, p, b)


def test_threshold_interpolates_in_log_bler_and_reports_never():
    c = BlerCurve("x", "qpsk", 312, 1536, snr_db=[0.0, 1.0, 2.0], bler=[1.0, 0.1, 0.001])
    assert c.threshold_db(0.1) == pytest.approx(1.0)
    assert c.threshold_db(0.01) == pytest.approx(1.5)
    assert c.threshold_db(1e-4) == math.inf
    bumpy = BlerCurve("y", "qpsk", 312, 1536, snr_db=[0.0, 1.0, 2.0], bler=[0.05, 0.2, 0.01])
    assert bumpy.threshold_db(0.1) == 0.0  # the running minimum: a noisy later point cannot move it up
    with pytest.raises(ValueError, match="target_bler"):
        c.threshold_db(1.0)
    table = BlerTable("awgn", [c])
    assert BlerTable.from_json(table.to_json()).curves[0] == c
    with pytest.raises(ValueError, match="not a BLER table"):
        BlerTable.from_json({"curves": []})


def test_choose_by_thresholds():
    thr = np.array([0.0, 2.0, math.inf, 5.0])
    assert choose_mcs_thresholds([-1.0, 0.0, 3.0, 6.0], thr).tolist() == [0, 0, 1, 3]
    with pytest.raises(ValueError, match="thresholds_db"):
        choose_mcs_thresholds(1.0, [])


def test_a_fresh_simulation_agrees_with_the_shipped_table(awgn):
    """Two points of 16-QAM 1/2 re-simulated here (CPU, another seed) fall in the shipped intervals."""
    index = 5
    curve = awgn.curves[index]
    link = OFDMALink(mcs_link_config(MCS_TABLE[index]))
    g = torch.Generator().manual_seed(123)
    checked = 0
    for snr, b, n in zip(curve.snr_db, curve.bler, curve.blocks):
        if not 0.03 < b < 0.6:
            continue
        fresh = simulate_link(link, snr, g, 128, 3)  # 384 codewords
        lo, hi = clopper_pearson(fresh.blocks.errors, fresh.blocks.trials, 0.999)
        slo, shi = clopper_pearson(b * n, n, 0.999)
        assert lo <= shi and slo <= hi, (snr, fresh.bler, b)  # the two intervals overlap
        checked += 1
        if checked == 2:
            break
    assert checked == 2


def test_ir_table_needs_fewer_steps_at_higher_snr():
    table = load_ir_table()
    for mod, curve in table.curves.items():
        cdf = np.asarray(curve.cdf)
        assert np.all(np.diff(cdf, axis=1) >= -1e-12)  # a CDF over steps
        assert np.all(cdf[1:, -1] >= cdf[:-1, -1] - 0.02)  # more SNR, more blocks decoded by the end
        steps = curve.expected_steps(np.asarray(curve.snr_db[len(curve.snr_db) // 4 :]))
        finite = steps[np.isfinite(steps)]
        assert finite.size > 5 and np.all(np.diff(finite) <= 0.05), mod
        assert np.all(curve.expected_steps(np.array([curve.snr_db[-1]]), 8) >= curve.expected_steps(np.array([curve.snr_db[-1]]), 1))
