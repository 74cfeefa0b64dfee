"""`deepjscc` and `separation` methods at matched bandwidth, with a model made here."""

import pytest

from semantic.jscc import DeepJSCC
from semantic.pretrained import save_model
from sims.config_io import ConfigError
from sims.engine import run_sweep
from sims.scenario import scenario_from_dict


@pytest.fixture(scope="module")
def random_jscc(tmp_path_factory):
    folder = tmp_path_factory.mktemp("jscc") / "m"
    save_model(DeepJSCC(8), folder, {"variant": "awgn"})
    return str(folder)


def config(tmp_path, model, **changes):
    data = {
        "output": str(tmp_path / "out"),
        "source": {"dataset": "samples", "image_size": 32, "num_images": 4},
        "link": {"grid": {"num_users": 2, "num_ofdm_symbols": 16}, "code": {"k": 512, "n": 1024}},
        "sweep": {"axes": {"snr_db": [0.0, 30.0], "bandwidth_ratio": [0.08333333333333333]}},
        "methods": {
            "jscc": {"kind": "deepjscc", "model": model},
            "jpeg": {"kind": "separation"},
            "analog": {"kind": "received", "fill": "nearest"},
        },
    }  # fmt: skip
    data.update(changes)
    return data


def test_matched_channel_uses_and_rows(tmp_path, random_jscc):
    rows = run_sweep(scenario_from_dict(config(tmp_path, random_jscc)), quiet=True)
    assert len(rows) == 2 * 3
    for r in rows:
        assert r["channel_uses"] == "256" and r["n_subcarriers"] == "16"  # 1/12 of 3 x 32 x 32
    by = {(r["method"], r["snr_db"]): r for r in rows}
    assert by[("jpeg", "30.0")]["delivered"] == "1.0" and float(by[("jpeg", "0.0")]["delivered"]) == 0.0
    assert 0 < float(by[("jpeg", "30.0")]["bpp"]) <= (512 - 24) / 1024
    assert float(by[("jpeg", "30.0")]["psnr"]) > float(by[("jpeg", "0.0")]["psnr"]) + 5  # the cliff
    assert float(by[("analog", "30.0")]["psnr"]) > float(by[("analog", "0.0")]["psnr"])


@pytest.mark.parametrize(
    "change,message",
    [
        ({"sweep": {"axes": {"snr_db": [0.0], "nm_ratio": [0.5]}}}, "sweep.axes.nm_ratio: method 'jscc' (deepjscc) does not use this axis"),
        ({"sweep": {"axes": {"snr_db": [0.0], "bandwidth_ratio": [0.1]}}}, "307.2 channel uses per image"),
        ({"sweep": {"axes": {"snr_db": [0.0], "bandwidth_ratio": [0.16666666666666666]}}}, "has bandwidth ratio 1/12"),
        ({"sweep": {"axes": {"snr_db": [0.0]}}}, "set bandwidth_ratio, or sweep it"),
    ],
)
def test_bad_baseline_configs(tmp_path, random_jscc, change, message):
    with pytest.raises(ConfigError) as err:
        scenario_from_dict(config(tmp_path, random_jscc, **change))
    assert message in str(err.value), str(err.value)


def test_shipped_models_are_found_by_variant_and_ratio(tmp_path):
    data = config(tmp_path, None)
    data["methods"] = {"jscc": {"kind": "deepjscc"}, "ofdm": {"kind": "deepjscc", "variant": "ofdm"}}
    data["sweep"]["axes"]["link.channel.kind"] = ["awgn", "rayleigh_block"]
    scenario_from_dict(data)  # validation loads deepjscc-{awgn,rayleigh,ofdm}-1_12


@pytest.mark.camvid
def test_shipped_deepjscc_on_camvid_val_degrades_gracefully(tmp_path, camvid_dir):
    """The shipped AWGN and OFDM models at 1/6 on CamVid val: PSNR rises with SNR, no cliff, well above the raw image."""
    data = config(tmp_path, None)
    data["source"] = {"dataset": "camvid", "data_dir": str(camvid_dir), "image_size": 32, "num_images": 4}
    data["sweep"]["axes"] = {"snr_db": [0.0, 20.0], "bandwidth_ratio": [0.16666666666666666]}
    data["methods"] = {
        "jscc": {"kind": "deepjscc"},
        "ofdm": {"kind": "deepjscc", "variant": "ofdm"},
        "analog": {"kind": "received", "fill": "nearest"},
    }
    by = {(r["method"], r["snr_db"]): float(r["psnr"]) for r in run_sweep(scenario_from_dict(data), quiet=True)}
    for method in ("jscc", "ofdm"):
        assert by[(method, "0.0")] > 19.0 and by[(method, "20.0")] > 24.0
        assert by[(method, "20.0")] - by[(method, "0.0")] < 8.0  # graceful, not a cliff
        assert by[(method, "0.0")] > by[("analog", "0.0")] + 6.0
