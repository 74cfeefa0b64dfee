"""Figures from a results table and pooling over seeds (sims.plotting)."""


import pytest

from sims.cli import main
from sims.engine import run_sweep
from sims.scenario import scenario_from_dict

from .toy_sweeps import toy_config


def test_plot_command_redraws_from_the_table(tmp_path, capsys):
    run_sweep(scenario_from_dict(toy_config(tmp_path / "o")), quiet=True)
    results = tmp_path / "o" / "results.csv"
    for png in (tmp_path / "o").glob("plot_*.png"):
        png.unlink()
    assert main(["plot", str(results), "--metric", "value", "--output", str(tmp_path / "p")]) == 0
    assert (tmp_path / "p" / "plot_value.png").stat().st_size > 10_000
    assert main(["plot", str(results), "--metric", "value", "--x", "link.grid.num_users", "--facet", "x",
                 "--output", str(tmp_path / "q")]) == 0  # fmt: skip
    assert (tmp_path / "q" / "plot_value.png").exists()
    capsys.readouterr()
    assert main(["plot", str(results), "--metric", "psnr"]) == 2
    assert "metric 'psnr' is not in the table" in capsys.readouterr().err


def test_pooling_over_seeds():
    from sims.plotting import pool

    rows = [
        {"v": "1.0", "v_sd": "1.0", "v_n": "4"},
        {"v": "3.0", "v_sd": "1.0", "v_n": "4"},
    ]
    mean, lo, hi = pool(rows, "v", "mean")
    # pooled: 8 samples, mean 2, variance (3*1 + 3*1 + 4*1 + 4*1) / 7 = 2
    from scipy.stats import t

    half = t.ppf(0.975, 7) * (2 / 7 / 8 * 7) ** 0.5
    assert mean == 2.0 and hi - mean == pytest.approx(half)
    rate_rows = [
        {"r": "0.1", "r_errors": "10", "r_trials": "100", "r_clusters": "10", "r_sum_sq": "10"},
        {"r": "0.3", "r_errors": "30", "r_trials": "100", "r_clusters": "10", "r_sum_sq": "90"},
    ]
    est, lo, hi = pool(rate_rows, "r", "rate")
    assert est == pytest.approx(0.2) and lo < 0.2 < hi
