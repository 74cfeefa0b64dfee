"""Scenario expansion and validation before any work (sims.scenario)."""


import pytest

from sims.config_io import ConfigError
from sims.scenario import scenario_from_dict

from .toy_sweeps import toy_config


def test_expansion_order_and_point_configs(tmp_path):
    scenario = scenario_from_dict(toy_config(tmp_path))
    tasks = scenario.tasks()
    assert len(tasks) == 3 * 2 * 2 * 2
    assert len({t.key for t in tasks}) == len(tasks)
    # x is innermost within a line (same method, seed, other axes)
    first_line = [t for t in tasks if t.line == tasks[0].line]
    assert [dict(t.axes)["x"] for t in first_line] == [0.0, 1.0, 2.0]
    for t in tasks:
        users = dict(t.axes)["link.grid.num_users"]
        assert scenario.config_for(t.axes).link.grid.num_users == users
    assert scenario.columns()[:5] == ["method", "kind", "seed", "x", "link.grid.num_users"]


BAD_SCENARIOS = [
    ({"methods": {"m": {"kind": "nope"}}}, "methods.m: unknown method kind 'nope'"),
    ({"methods": {"toy": {"scal": 1.0}}}, "methods.toy.scal: unknown key"),
    ({"methods": {"toy": {"samples": 0}}}, "methods.toy.samples: Input should be greater than 0"),
    ({"sweep": {"axes": {"ebno_db": [1.0]}}}, "sweep.axes.ebno_db: method 'toy' (toy) does not use this axis"),
    ({"sweep": {"axes": {"link.grid.num_userz": [1]}}}, "link.grid.num_userz: unknown key"),
    ({"sweep": {"axes": {"link.grid.num_users": [1, 0]}}}, "at sweep point link.grid.num_users = 0: link.grid.num_users: Input should be greater than 0"),
    ({"sweep": {"axes": {"seeds": [1]}}}, "does not use this axis"),
    ({"sweep": {"axes": {"device.x": [1]}}}, "only keys under link, source"),
    ({"sweep": {"axes": {"x": []}}}, "sweep.axes: axis 'x' has no values"),
    ({"sweep": {"axes": {"x": {"start": 2, "stop": 1, "step": 1}}}}, "stop (1.0) is below start (2.0)"),
    ({"seeds": [1, 1]}, "seeds: seeds repeat a value"),
    ({"plugins": ["no_such_module"]}, "plugins: cannot import 'no_such_module'"),
    ({"methods": {}}, "methods: Dictionary should have at least 1 item"),
]


@pytest.mark.parametrize("change,expected", BAD_SCENARIOS, ids=[b[1][:40] for b in BAD_SCENARIOS])
def test_bad_scenarios_fail_before_work_with_one_line(tmp_path, change, expected):
    base = {"plugins": ["toy_methods"], "output": str(tmp_path / "never"), "methods": {"toy": {}}}
    base.update(change)
    with pytest.raises(ConfigError) as err:
        scenario_from_dict(base, "s.toml")
    message = str(err.value)
    assert expected in message and "\n" not in message, message
    assert not (tmp_path / "never").exists()
