"""`nullspace` and `repaint` methods on the engine, with a tiny model made here."""

import pytest
from diffusers import DDPMScheduler

from semantic.pretrained import save_diffusion
from sims.config_io import ConfigError
from sims.engine import run_sweep
from sims.scenario import scenario_from_dict

from ..semantic.test_nullspace import tiny_unet


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model") / "tiny"
    save_diffusion(tiny_unet(16), DDPMScheduler(num_train_timesteps=1000), folder)
    return str(folder)


def config(tmp_path, model, **changes):
    data = {
        "output": str(tmp_path / "out"),
        "source": {"dataset": "samples", "image_size": 16, "num_images": 4},
        "link": {"grid": {"num_users": 2, "num_ofdm_symbols": 4}, "channel": {"kind": "rayleigh_iid"},
                 "code": {"k": 128, "n": 256}},
        "sweep": {"axes": {"nm_ratio": [1.0, 0.5], "snr_db": [5.0, 40.0]}},
        "methods": {
            "near": {"kind": "received", "fill": "nearest"},
            "ddnm": {"kind": "nullspace", "model": model, "steps": 4, "sigma": "none"},
            "ddnm_known": {"kind": "nullspace", "model": model, "steps": 4, "travel_length": 2},
            "ddnm_est": {"kind": "nullspace", "model": model, "steps": 4, "sigma": "estimate", "sampler": "ddpm"},
            "rp": {"kind": "repaint", "model": model, "steps": 4, "jump_length": 2, "jump_n_sample": 2},
        },
    }  # fmt: skip
    data.update(changes)
    return data


def test_generative_rows(tmp_path, tiny_model):
    rows = run_sweep(scenario_from_dict(config(tmp_path, tiny_model)), quiet=True)
    assert len(rows) == 4 * 5
    for r in rows:
        assert int(r["psnr_n"]) == 4 and 0 < float(r["psnr"]) <= 100
    by = {(r["method"], r["nm_ratio"], r["snr_db"]): r for r in rows}
    # All methods at a point received the same thing: at N/M = 1 nothing is missing and
    # noiseless DDNM keeps every received pixel: exactly the plain received image.
    for snr in ("5.0", "40.0"):
        assert float(by[("ddnm", "1.0", snr)]["psnr"]) == pytest.approx(float(by[("near", "1.0", snr)]["psnr"]), rel=1e-5)
    # Rows are reproducible and independent of the other methods (own receiver stream).
    alone = config(tmp_path, tiny_model, output=str(tmp_path / "alone"))
    alone["methods"] = {"ddnm": alone["methods"]["ddnm"]}
    again = run_sweep(scenario_from_dict(alone), quiet=True)
    strip = lambda rs: sorted(tuple((k, v) for k, v in r.items() if k != "seconds") for r in rs)  # noqa: E731
    assert strip(again) == strip([r for r in rows if r["method"] == "ddnm"])


@pytest.mark.parametrize(
    "change,message",
    [
        ({"source": {"dataset": "samples", "image_size": 32, "num_images": 4}}, "generates 16x16 images but source.image_size = 32"),
        ({"methods": {"d": {"kind": "nullspace", "model": "/no/such/model"}}}, "methods.d: model: /no/such/model: no such model folder"),
        ({"methods": {"d": {"kind": "nullspace", "steps": 4, "travel_length": 4, "model": "MODEL"}}}, "travel_length (4) must be below steps (4)"),
    ],
)
def test_bad_generative_configs(tmp_path, tiny_model, change, message):
    data = config(tmp_path, tiny_model)
    for key, value in change.items():
        if key == "methods":
            value = {k: {**v, "model": tiny_model if v.get("model") == "MODEL" else v["model"]} for k, v in value.items()}
        data[key] = value
    with pytest.raises(ConfigError) as err:
        scenario_from_dict(data)
    assert message in str(err.value), str(err.value)
