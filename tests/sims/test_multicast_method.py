"""The `multicast` method and the paper-reproduction configs."""

from pathlib import Path

import pytest

from sims.config_io import ConfigError
from sims.engine import run_sweep
from sims.scenario import load_scenario, scenario_from_dict

CONFIGS = Path(__file__).resolve().parents[2] / "sims" / "configs"


def scenario(tmp_path, **method_changes):
    return {
        "output": str(tmp_path / "out"),
        "sweep": {"axes": {"power_mw": [50.0, 150.0], "users": [3, 6]}},
        "methods": {
            "proposed": {"kind": "multicast", "draws": 40} | method_changes,
            "ngm": {"kind": "multicast", "scheme": "ngm", "draws": 40},
            "fgm": {"kind": "multicast", "scheme": "fgm", "draws": 40},
        },
    }


def test_rows_compare_the_schemes(tmp_path):
    rows = run_sweep(scenario_from_dict(scenario(tmp_path)), quiet=True)
    assert len(rows) == 2 * 2 * 3
    by = {(r["method"], r["power_mw"], r["users"]): r for r in rows}
    for K in ("3", "6"):
        for P in ("50.0", "150.0"):
            lat = {m: float(by[(m, P, K)]["latency_ms"]) for m in ("proposed", "ngm", "fgm")}
            # Same drops for every scheme at a point: FGM < proposed < NGM at the paper's defaults.
            assert lat["fgm"] < lat["proposed"] < lat["ngm"]
            assert 0 < float(by[("proposed", P, K)]["power_ratio"]) < 1
            assert float(by[("ngm", P, K)]["power_ratio"]) == 1
        assert float(by[("proposed", "150.0", K)]["latency_ms"]) < float(by[("proposed", "50.0", K)]["latency_ms"])
    assert float(by[("proposed", "50.0", "6")]["average_rate"]) > float(by[("proposed", "50.0", "3")]["average_rate"])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"eps_r": 0.005}, "floor"),
        ({"intents": "ring"}, "intents"),
        ({"draws": 0}, "draws"),
        ({"intents": [[1, 0], [0, 1]]}, "intents"),  # 2 rows for 3 and 6 users
    ],
)
def test_bad_multicast_scenarios(tmp_path, changes, message):
    with pytest.raises(ConfigError, match=message):
        scenario_from_dict(scenario(tmp_path, **changes))


@pytest.mark.parametrize("name", sorted(p.name for p in CONFIGS.glob("multicast_*.toml")))
def test_reproduction_configs_validate(name):
    load_scenario(CONFIGS / name)
