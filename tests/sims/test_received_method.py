"""The `received` method: images over the link without a generative receiver."""

import pytest

from sims.config_io import ConfigError
from sims.engine import run_sweep
from sims.scenario import load_scenario, scenario_from_dict


def scenario(tmp_path, **changes):
    config = {
        "output": str(tmp_path / "out"),
        "source": {"dataset": "samples", "image_size": 16, "num_images": 4},
        "link": {"grid": {"num_users": 2, "num_ofdm_symbols": 4, "allocation": "greedy"},
                 "channel": {"kind": "rayleigh_iid"}, "code": {"k": 256, "n": 512}},
        "sweep": {"axes": {"snr_db": [0.0, 30.0], "nm_ratio": [1.0, 0.5]}},
        "methods": {
            "a0": {"kind": "received", "path": "analog"},
            "an": {"kind": "received", "path": "analog", "fill": "nearest"},
            "d0": {"kind": "received", "path": "digital"},
        },
    }  # fmt: skip
    for key, value in changes.items():
        config[key] = value
    return config


def test_rows_and_physics(tmp_path):
    rows = run_sweep(scenario_from_dict(scenario(tmp_path)), quiet=True)
    assert len(rows) == 2 * 2 * 3
    by = {(r["method"], r["snr_db"], r["nm_ratio"]): r for r in rows}
    for r in rows:
        assert int(r["psnr_n"]) == 4 and r["m_entries"] == "96"
    assert by[("a0", "30.0", "0.5")]["n_subcarriers"] == "48"
    # More SNR and more subcarriers help; nothing missing means the fills agree.
    assert float(by[("a0", "30.0", "1.0")]["psnr"]) > float(by[("a0", "0.0", "1.0")]["psnr"]) + 10
    assert float(by[("a0", "30.0", "1.0")]["psnr"]) > float(by[("a0", "30.0", "0.5")]["psnr"]) + 5
    assert by[("a0", "30.0", "1.0")]["psnr"] == by[("an", "30.0", "1.0")]["psnr"]
    assert float(by[("an", "30.0", "0.5")]["psnr"]) > float(by[("a0", "30.0", "0.5")]["psnr"])
    # Digital at 30 dB is error-free: the received pixels are exact 8-bit values.
    assert float(by[("d0", "30.0", "1.0")]["bit_error_rate"]) == 0.0
    assert float(by[("d0", "30.0", "1.0")]["psnr"]) == 100.0
    assert int(by[("d0", "30.0", "1.0")]["slots"]) > 1 and by[("a0", "30.0", "1.0")]["slots"] == "1"
    assert float(by[("d0", "0.0", "1.0")]["bit_error_rate"]) > 0.01


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"source": None}, "methods.a0: needs a [source] table"),
        ({"source": {"dataset": "samples", "num_images": 3}}, "source.num_images = 3 must be a multiple of"),
        ({"sweep": {"axes": {"nm_ratio": [0.5]}}}, "methods.a0: set snr_db, or sweep it"),
        ({"sweep": {"axes": {"snr_db": [1.0], "nm_ratio": [1.5]}}}, "sweep.axes.snr_db = 1.0, nm_ratio = 1.5: methods.a0.nm_ratio: Input should be less than or equal to 1"),
        ({"sweep": {"axes": {"snr_db": [1.0], "nm_ratio": [0.05]}}}, "methods.d0: link: code.n = 512 does not fit"),
    ],
)
def test_bad_image_scenarios(tmp_path, changes, message):
    with pytest.raises(ConfigError) as err:
        scenario_from_dict(scenario(tmp_path, **changes))
    assert message in str(err.value) and "\n" not in str(err.value), str(err.value)


def test_example_config_on_camvid(camvid_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("GSCSIM_DATA_DIR", str(camvid_dir))
    example = load_scenario("sims/configs/unrestored_camvid.toml")
    data = example.config.model_dump(mode="json")
    data["output"] = str(tmp_path / "cv")
    data["source"]["image_size"] = 32
    data["sweep"]["axes"] = {"snr_db": [10.0], "nm_ratio": [0.6]}
    data["methods"] = {k: v for k, v in data["methods"].items() if k.startswith("analog")}
    rows = run_sweep(scenario_from_dict(data), quiet=True)
    assert len(rows) == 2 and float(rows[1]["psnr"]) > float(rows[0]["psnr"])  # nearest beats zeros
