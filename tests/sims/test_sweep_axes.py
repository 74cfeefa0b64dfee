"""Sweep axes that address method options, per-point validation, and a plugin channel kind."""

import math

import pytest

from sims.config_io import ConfigError
from sims.engine import run_sweep
from sims.scenario import scenario_from_dict


def _values(rows, method, axis):
    return {r[axis]: float(r["value"]) for r in rows if r["method"] == method}


def test_a_method_option_is_swept_for_that_method_only(tmp_path):
    config = {
        "plugins": ["toy_methods"], "device": "cpu", "output": str(tmp_path),
        "sweep": {"axes": {"x": [1.0, 2.0], "methods.a.scale": [1.0, 3.0]}},
        "methods": {"a": {"kind": "toy"}, "b": {"kind": "toy", "scale": 5.0}},
    }  # fmt: skip
    scenario = scenario_from_dict(config)
    assert scenario.options_for("a", (("x", 1.0), ("methods.a.scale", 3.0))).scale == 3.0
    assert scenario.options_for("b", (("x", 1.0), ("methods.a.scale", 3.0))).scale == 5.0
    rows = run_sweep(scenario, quiet=True, plot=False)
    assert len(rows) == 2 * 2 * 2
    by = {(r["method"], r["x"], r["methods.a.scale"]): r for r in rows}
    # Method a follows its swept scale; b does not, and the point's draws ignore the method axis.
    for x in ("1.0", "2.0"):
        a1, a3 = float(by[("a", x, "1.0")]["value"]), float(by[("a", x, "3.0")]["value"])
        noise = float(by[("a", x, "1.0")]["first_draw"])
        assert by[("a", x, "3.0")]["first_draw"] == by[("a", x, "1.0")]["first_draw"]
        assert a3 - a1 == pytest.approx(2.0 * float(x) * 2, abs=1.0)  # scale * x * users, users = 2
        assert by[("b", x, "1.0")]["value"] == by[("b", x, "3.0")]["value"]
        assert noise == float(by[("b", x, "1.0")]["first_draw"])


def test_a_plain_axis_sets_the_option_of_that_name(tmp_path):
    config = {
        "plugins": ["toy_methods"], "device": "cpu", "output": str(tmp_path),
        "sweep": {"axes": {"scale": [1.0, 2.0], "samples": {"start": 4, "stop": 8, "step": 4}}},
        "methods": {"toy": {}},
    }  # fmt: skip
    scenario = scenario_from_dict(config)
    options = scenario.options_for("toy", (("scale", 2.0), ("samples", 8.0)))
    assert options.scale == 2.0 and options.samples == 8 and isinstance(options.samples, int)
    rows = run_sweep(scenario, quiet=True, plot=False)
    assert sorted({r["value_n"] for r in rows}) == ["4", "8"]


@pytest.mark.parametrize(
    "axes, methods, expected",
    [
        ({"power_mw": [100.0, -5.0]}, {"proposed": {"kind": "multicast", "draws": 2}},
         "sweep.axes.power_mw = -5.0: methods.proposed.power_mw: Input should be greater than 0"),
        ({"users": [3, 2.5]}, {"proposed": {"kind": "multicast", "draws": 2}},
         "sweep.axes.users = 2.5: methods.proposed.users: Input should be a valid integer"),
        ({"methods.proposed.draws": [10, 0]}, {"proposed": {"kind": "multicast"}},
         "sweep.axes.methods.proposed.draws = 0: methods.proposed.draws: Input should be greater than 0"),
        ({"methods.nope.draws": [10]}, {"proposed": {"kind": "multicast"}},
         "sweep.axes.methods.nope.draws: expected methods.<name>.<option>"),
        ({"methods.proposed.drawz": [10]}, {"proposed": {"kind": "multicast"}},
         "methods.proposed.drawz: unknown key"),
        ({"snr_db": [1.0]}, {"proposed": {"kind": "multicast"}},
         "sweep.axes.snr_db: method 'proposed' (multicast) does not use this axis"),
    ],
)  # fmt: skip
def test_an_invalid_swept_value_fails_before_any_work_naming_the_axis(tmp_path, axes, methods, expected):
    config = {"output": str(tmp_path / "out"), "sweep": {"axes": axes}, "methods": methods}
    with pytest.raises(ConfigError) as info:
        scenario_from_dict(config, "study.toml")
    message = str(info.value)
    assert expected in message and "\n" not in message
    assert message.startswith("study.toml: ")
    assert not (tmp_path / "out").exists()


def test_a_channel_kind_from_a_plugin_module_is_swept_without_editing_gscsim(tmp_path):
    """`scaled_awgn` (tests/sims/channel_plugin.py) is registered by the plugin import; a BER sweep
    runs it next to AWGN, and a gain g shifts the BER curve by 20 log10(g) dB."""
    config = {
        "plugins": ["channel_plugin"], "device": "cpu", "seeds": [0], "output": str(tmp_path),
        "link": {
            "modulation": "qpsk", "demapping": "maxlog",
            "code": {"kind": "uncoded", "k": 64, "n": 64},
            "grid": {"num_subcarriers": 32, "num_users": 2, "num_ofdm_symbols": 2},
            "channel": {"kind": "scaled_awgn", "gain": 2.0},
        },
        "sweep": {"axes": {"snr_db": [0.0, 6.0], "link.channel.kind": ["scaled_awgn", "awgn"]}},
        "methods": {"ber": {"batch_size": 200, "max_batches": 2, "target_block_errors": None, "early_stop": False}},
    }  # fmt: skip
    with pytest.raises(ConfigError, match="link.channel.gain: unknown key"):
        scenario_from_dict(config)  # awgn takes no gain: a field of another kind is an error naming it
    del config["sweep"]["axes"]["link.channel.kind"]
    scenario = scenario_from_dict(config)
    assert type(scenario.config_for(()).link.channel).__name__ == "ScaledAwgnConfig"
    rows = run_sweep(scenario, quiet=True, plot=False)
    from phy.theory import qam_ber

    for row in rows:  # a gain of 2 is 6.02 dB more SNR: the closed form lies in the row's interval
        expected = float(qam_ber(float(row["snr_db"]) + 20 * math.log10(2.0), 2, "awgn"))
        assert float(row["ber_ci_low"]) <= expected <= float(row["ber_ci_high"]), (row["snr_db"], row["ber"], expected)


def test_channel_fields_of_another_kind_are_refused_with_the_key():
    from phy.config import channel_config

    with pytest.raises(Exception, match="tdl_model"):
        channel_config("awgn", tdl_model="A")
    with pytest.raises(Exception, match="Input should be 'awgn'"):
        channel_config("rician")
    with pytest.raises(Exception, match="fixed delay spread of 30 ns"):
        channel_config("tdl", tdl_model="A30", delay_spread_s=100e-9)
