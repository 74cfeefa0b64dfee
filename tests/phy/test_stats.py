"""Confidence intervals of error rates."""

import pytest

from phy.stats import ClusteredCount, clopper_pearson


def test_clopper_pearson_known_values():
    lo, hi = clopper_pearson(0, 10, 0.95)
    assert lo == 0.0
    assert hi == pytest.approx(1 - 0.025 ** (1 / 10), rel=1e-9)
    lo, hi = clopper_pearson(10, 10, 0.95)
    assert hi == 1.0 and lo == pytest.approx(0.025 ** (1 / 10), rel=1e-9)
    lo, hi = clopper_pearson(50, 100, 0.95)
    assert lo == pytest.approx(0.3983, abs=1e-4) and hi == pytest.approx(0.6017, abs=1e-4)


def test_design_effect_is_one_for_binomial_like_clusters():
    # 1000 clusters of 100 trials, errors spread evenly (variance below binomial)
    c = ClusteredCount()
    c.add(errors=1000, trials=100_000, clusters=1000, sum_sq=1000 * 1**2)
    assert c.design_effect() == 1.0
    assert c.interval() == pytest.approx(clopper_pearson(1000, 100_000))


def test_design_effect_of_all_or_nothing_clusters_is_cluster_size():
    # 10 of 1000 clusters fail completely (all 100 trials), the rest have no error.
    c = ClusteredCount()
    c.add(errors=10 * 100, trials=1000 * 100, clusters=1000, sum_sq=10 * 100**2)
    assert c.design_effect() == pytest.approx(100 * 1000 / 999, rel=1e-6)
    lo, hi = c.interval()
    # As wide as a binomial interval over the 1000 clusters.
    assert (lo, hi) == pytest.approx(clopper_pearson(10 * 999 / 1000, 1000 * 999 / 1000), rel=1e-6)
    assert hi - lo > 5 * (clopper_pearson(1000, 100_000)[1] - clopper_pearson(1000, 100_000)[0])
