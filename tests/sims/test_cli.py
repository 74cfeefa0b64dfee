"""`gscsim methods`, `gscsim report` and `gscsim bench`: everything from the command line."""

import numpy as np
import pytest

from sims.cli import main
from sims.registry import get_method, registered_kinds


def test_every_option_of_every_method_has_a_description():
    """The option models are the reference of the TOML keys (`gscsim methods` prints them)."""
    builtin = [k for k in registered_kinds() if get_method(k).run.__module__.startswith("sims.methods.")]
    assert len(builtin) == 15
    missing = [
        f"{kind}.{name}"
        for kind in builtin
        for name, info in get_method(kind).options.model_fields.items()
        if not info.description
    ]
    assert missing == []


def test_methods_lists_kinds_options_types_and_defaults(capsys):
    assert main(["methods"]) == 0
    text = capsys.readouterr().out
    for kind in ("ber", "received", "ldpc_image", "nullspace", "repaint", "deepjscc", "deepjscc_nm", "separation", "multicast", "intent_images", "fast_scd"):
        assert f"\n{kind}: " in f"\n{text}"
    assert main(["methods", "nullspace"]) == 0
    one = capsys.readouterr().out
    assert "    steps: int = 50\n        sampling steps" in one
    assert "sigma: 'known' | 'estimate' | 'none' = 'known'" in one
    assert "(no description)" not in one


def test_report_and_bench_name_the_choices_on_a_wrong_name(capsys):
    assert main(["report", "nope"]) == 2
    err = capsys.readouterr().err
    assert "report 'nope': expected one of" in err and "rate_curves" in err
    assert main(["bench", "nope"]) == 2
    assert "phy_throughput" in capsys.readouterr().err


def test_report_runs_a_report_with_its_arguments(tmp_path, capsys):
    from sims.engine import run_sweep
    from sims.scenario import scenario_from_dict

    config = {
        "output": str(tmp_path / "power"), "seeds": [0],
        "sweep": {"axes": {"power_mw": [50.0, 200.0], "users": [5]}},
        "methods": {"proposed": {"kind": "multicast", "draws": 20}, "ngm": {"kind": "multicast", "scheme": "ngm", "draws": 20},
                    "fgm": {"kind": "multicast", "scheme": "fgm", "draws": 20}},
    }  # fmt: skip
    run_sweep(scenario_from_dict(config), quiet=True, plot=False)
    assert main(["report", "multicast_headlines", str(tmp_path / "power" / "results.csv")]) == 0
    assert capsys.readouterr().out.strip()


@pytest.mark.slow
def test_bench_runs_a_benchmark(capsys):
    assert main(["bench", "latency_opt", "--users", "10", "--repeats", "1", "--scaling-users", "10"]) == 0
    assert "gscsim bench latency_opt" in capsys.readouterr().out


def test_power_for_target_three_readings():
    """The paper's savings read the crossing rounded down to the grid (Section III-D: 80 vs 180 mW -> 55.6%)."""
    from sims.reports.multicast_headlines import power_for_target

    power = np.array([60.0, 70.0, 80.0, 90.0, 100.0])
    latency = np.array([15.0, 14.0, 13.4, 12.6, 12.0])  # crosses 13 ms half-way between 80 and 90 mW
    assert power_for_target(power, latency, 13.0) == (90.0, 85.0, 80.0)
    assert power_for_target(power, latency, 16.0) == (60.0, 60.0, 60.0)
    assert all(np.isnan(power_for_target(power, latency, 11.0)))
