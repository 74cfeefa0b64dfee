"""`deepjscc` and `separation` methods at matched bandwidth, and `deepjscc_nm` under the N/M
studies' subcarrier loss, with models made here."""

import pytest
import torch

import sims.methods.deepjscc as deepjscc_method
from semantic.jscc import DeepJSCC, DeepJSCCOFDM
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
            "jpeg": {"kind": "separation", "mcs": "fixed"},
            "jpeg_adaptive": {"kind": "separation"},
            "analog": {"kind": "received", "fill": "nearest"},
        },
    }  # fmt: skip
    data.update(changes)
    return data


def test_matched_channel_uses_and_rows(tmp_path, random_jscc):
    rows = run_sweep(scenario_from_dict(config(tmp_path, random_jscc)), quiet=True)
    assert len(rows) == 2 * 4
    for r in rows:
        assert r["channel_uses"] == "256" and r["n_subcarriers"] == "16"  # 1/12 of 3 x 32 x 32
    by = {(r["method"], r["snr_db"]): r for r in rows}
    assert by[("jpeg", "30.0")]["delivered"] == "1.0" and float(by[("jpeg", "0.0")]["delivered"]) == 0.0
    assert 0 < float(by[("jpeg", "30.0")]["bpp"]) <= (512 - 24) / 1024
    assert float(by[("jpeg", "30.0")]["psnr"]) > float(by[("jpeg", "0.0")]["psnr"]) + 5  # the cliff
    assert float(by[("analog", "30.0")]["psnr"]) > float(by[("analog", "0.0")]["psnr"])
    # Link adaptation: at 30 dB a denser MCS carries more JPEG bits than the fixed 16-QAM 1/2.
    assert by[("jpeg_adaptive", "30.0")]["delivered"] == "1.0"
    assert float(by[("jpeg_adaptive", "30.0")]["bpp"]) > 2 * float(by[("jpeg", "30.0")]["bpp"])
    assert float(by[("jpeg_adaptive", "30.0")]["psnr"]) > float(by[("jpeg", "30.0")]["psnr"]) + 2


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


@pytest.fixture(scope="module")
def random_ofdm_jscc(tmp_path_factory):
    """Untrained DeepJSCC-OFDM-I and -E: 1/2 (the N/M studies' grid) and 1/12 (matched bandwidth)."""
    folders = {}
    for receiver in ("implicit", "explicit"):
        for channels in (48, 8):
            folder = tmp_path_factory.mktemp("ofdm") / f"{receiver}-{channels}"
            torch.manual_seed(0)
            save_model(DeepJSCCOFDM(channels, receiver), folder)
            folders[receiver, channels] = str(folder)
    return folders


def test_ofdm_variants_at_matched_bandwidth_pay_for_their_pilot(tmp_path, random_ofdm_jscc):
    data = config(tmp_path, None)
    data["methods"] = {
        name: {"kind": "deepjscc", "variant": variant, "model": random_ofdm_jscc[receiver, 8]}
        for name, variant, receiver in (("i", "ofdm-i", "implicit"), ("e", "ofdm-e", "explicit"))
    }
    rows = run_sweep(scenario_from_dict(data), quiet=True)
    assert len(rows) == 4
    assert all(r["channel_uses"] == str(17 * 16) for r in rows)  # 16 data + 1 pilot OFDM symbol x 16 subcarriers


def nm_config(tmp_path, models, channel="rayleigh_iid"):
    return {
        "output": str(tmp_path / "nm"),
        "source": {"dataset": "samples", "image_size": 32, "num_images": 4},
        "link": {"grid": {"num_users": 2, "num_ofdm_symbols": 16, "allocation": "greedy"},
                 "channel": {"kind": channel}},
        "sweep": {"axes": {"nm_ratio": [0.6]}},
        "methods": {
            "received": {"kind": "received", "snr_db": 5.0},
            "i": {"kind": "deepjscc_nm", "variant": "ofdm-i", "model": models.get(("implicit", 48)), "snr_db": 5.0},
            "e": {"kind": "deepjscc_nm", "variant": "ofdm-e", "model": models.get(("explicit", 48)), "snr_db": 5.0},
        },
    }  # fmt: skip


def test_deepjscc_nm_receives_exactly_what_the_image_methods_received(tmp_path, random_ofdm_jscc, monkeypatch):
    """Same allocation, the same N of M entries, the same channel coefficients and noise samples."""
    seen = []
    replay, decode = deepjscc_method.replay, DeepJSCCOFDM.decode_grid

    def spy_replay(reception, symbols, pilot_symbols, generator):
        grid = replay(reception, symbols, pilot_symbols, generator)
        seen.append({"reception": reception, "symbols": symbols, "grid": grid})
        return grid

    def spy_decode(self, y, pilots, no, received, height, width):
        seen[-1].update(y=y, pilots=pilots, received=received)
        return decode(self, y, pilots, no, received, height, width)

    monkeypatch.setattr(deepjscc_method, "replay", spy_replay)
    monkeypatch.setattr(DeepJSCCOFDM, "decode_grid", spy_decode)
    rows = run_sweep(scenario_from_dict(nm_config(tmp_path, random_ofdm_jscc)), quiet=True)
    assert len(rows) == 3 and len(seen) == 2
    for call in seen:
        rx = call["reception"]
        assert rx is seen[0]["reception"]  # one reception, shared with the image methods
        N, M = rx.symbols.shape[-1], 96
        assert N == round(0.6 * M)
        noise = rx.y - rx.channel * rx.symbols
        torch.testing.assert_close(call["grid"].y, rx.channel * call["symbols"] + noise, rtol=0, atol=1e-6)
        sent = torch.div(torch.arange(N) * M, N, rounding_mode="floor")  # the interleaved entries
        expected = torch.zeros(M, dtype=torch.bool)
        expected[sent] = True
        assert torch.equal(call["received"], expected.expand_as(call["received"]))
        y = call["y"].reshape(2, 2, 16, M)  # (B, K, S, M)
        assert torch.equal(y[..., ~expected], torch.zeros_like(y[..., ~expected]))
        torch.testing.assert_close(y[..., expected], call["grid"].y, rtol=0, atol=0)
    by = {r["method"]: r for r in rows}
    assert by["i"]["channel_uses"] == str(int(by["received"]["channel_uses"]) + N)  # plus the pilot symbol


def test_deepjscc_nm_refuses_models_that_do_not_fill_the_grid(tmp_path, random_ofdm_jscc):
    data = nm_config(tmp_path, random_ofdm_jscc)
    data["methods"]["i"]["model"] = random_ofdm_jscc["implicit", 8]
    with pytest.raises(ConfigError, match="the image methods' grid holds 1536"):
        scenario_from_dict(data)


@pytest.mark.camvid
def test_shipped_ofdm_i_and_e_beat_the_received_image(tmp_path, camvid_dir):
    """deepjscc-ofdm-{i,e}-1_2 load by name and beat the received image at 10 dB on CamVid val,
    in the paper's channel (AWGN per user)."""
    data = nm_config(tmp_path, {}, channel="awgn")
    data["source"] = {"dataset": "camvid", "data_dir": str(camvid_dir), "image_size": 32, "num_images": 8,
                      "selection": "spread"}  # fmt: skip
    data["sweep"]["axes"] = {"nm_ratio": [1.0]}
    for name in ("received", "i", "e"):
        data["methods"][name]["snr_db"] = 10.0
        data["methods"][name].pop("model", None)
    by = {r["method"]: float(r["psnr"]) for r in run_sweep(scenario_from_dict(data), quiet=True)}
    assert by["i"] > by["received"] + 1.0 and by["e"] > by["received"] + 1.0, by


def test_estimated_csi_counts_the_link_pilots_and_refuses_own_pilot_models(tmp_path, random_jscc, random_ofdm_jscc):
    """link.estimation as an axis: every matched-bandwidth method pays the link's 2 pilot symbols on
    its subcarriers; a DeepJSCC-OFDM model (its own pilot) is refused in one line before any work."""
    data = config(tmp_path, random_jscc)
    data["link"]["channel"] = {"kind": "tdl", "delay_spread_s": 300e-9}
    data["link"]["pilots"] = {"covariance_draws": 64}
    data["sweep"]["axes"] = {"snr_db": [10.0], "bandwidth_ratio": [0.08333333333333333], "link.estimation": ["perfect", "lmmse"]}
    del data["methods"]["jpeg_adaptive"]
    rows = run_sweep(scenario_from_dict(data), quiet=True)
    assert len(rows) == 2 * 3
    for r in rows:
        assert r["channel_uses"] == str(256 + (2 * 16 if r["link.estimation"] == "lmmse" else 0)), r
    data["methods"] = {"e": {"kind": "deepjscc", "variant": "ofdm-e", "model": random_ofdm_jscc["explicit", 8]}}
    with pytest.raises(ConfigError, match="estimates the channel from its own 1 pilot symbol"):
        scenario_from_dict(data)


def test_tdl_estimation_variant_picks_the_model_trained_with_the_points_estimator(tmp_path):
    data = config(tmp_path, None)
    data["link"]["channel"] = {"kind": "tdl", "delay_spread_s": 300e-9, "max_speed_mps": 30.0}
    data["sweep"]["axes"] = {"snr_db": [10.0], "bandwidth_ratio": [0.16666666666666666],
                             "link.estimation": ["perfect", "lmmse", "ls"]}  # fmt: skip
    data["methods"] = {"retrained": {"kind": "deepjscc", "variant": "tdl-estimation"}}
    scenario = scenario_from_dict(data)  # validation loads deepjscc-tdl{,-lmmse,-ls}-1_6
    names = {}
    for point in scenario.points():
        at = scenario.config_for(point)
        names[at.link.estimation] = deepjscc_method._model_name(at, scenario.options_for("retrained", point))
    assert names == {"perfect": "deepjscc-tdl-1_6", "lmmse": "deepjscc-tdl-lmmse-1_6", "ls": "deepjscc-tdl-ls-1_6"}
