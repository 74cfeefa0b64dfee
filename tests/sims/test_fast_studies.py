"""FAST (seed 001) studies: the `fast_scd` sweep method, `gscsim train fast-order`, the reports."""

import json

import numpy as np
import pytest
import torch

from semantic.receivers.scd import NEVER


def test_fast_scd_rows_schedules_and_validation(tmp_path, fake_camvid, tiny_sdm):
    from sims.engine import run_sweep
    from sims.methods.fast import FastScdOptions, schedule
    from sims.scenario import scenario_from_dict

    config = {
        "output": str(tmp_path / "f11"),
        "source": {"dataset": "camvid", "data_dir": str(fake_camvid), "split": "val", "image_size": 32, "num_images": 2},
        "sweep": {"axes": {"w": [0.0, 2.0], "tau_e": [1.0]}},
        "methods": {"scd": {"kind": "fast_scd", "steps": 4, "model": tiny_sdm},
                    "conventional": {"kind": "fast_scd", "steps": 4, "model": tiny_sdm, "order": "conventional"}},
    }  # fmt: skip
    rows = {(r["method"], r["w"]): r for r in run_sweep(scenario_from_dict(config), quiet=True)}
    assert len(rows) == 4
    seq, conv = rows[("scd", "0.0")], rows[("conventional", "0.0")]
    assert float(seq["residual_latency"]) == 2.0  # tau_d = 2 tau_e = 2: 2 units in phase 1, then 2 per segment
    assert float(conv["residual_latency"]) == pytest.approx(float(conv["units_sent"]))  # tau_e = 1 per unit
    assert float(conv["units_discarded"]) == 0 and 0 <= float(seq["miou"]) <= 1
    assert rows[("conventional", "0.0")]["miou"] == rows[("conventional", "2.0")]["miou"]  # one arrival: w is idle
    labels = torch.tensor([[[0, 0, 1, 1], [2, 2, 2, 3], [3, 3, 3, 3], [3, 3, 11, 11]]])
    units = np.zeros((1, 12), dtype=bool)
    units[0, [0, 1, 2, 3, 11]] = True
    arrival, residual = schedule(FastScdOptions(tau_e=2.0, steps=8), labels, units)
    assert arrival[0, [3, 2, 0]].tolist() == [0, 0, 4] and residual[0] == 4.0  # largest first, 2 per phase
    assert arrival[0, [1, 11]].tolist() == [4, NEVER]  # ties go in class order; the last is discarded
    with pytest.raises(ValueError, match="tau_d"):
        scenario_from_dict(config | {"methods": {"scd": {"kind": "fast_scd", "steps": 5, "tau_e": 1.0}}})
    with pytest.raises(ValueError, match="no trained policy"):
        scenario_from_dict(config | {"methods": {"scd": {"kind": "fast_scd", "order": "policy", "policy": str(tmp_path)}}})


def test_train_fast_order_writes_a_loadable_policy_and_its_curve(tmp_path, fake_camvid, tiny_sdm):
    from sims.cli import main
    from sims.train.fast_order import load_order_policy

    out = tmp_path / "fo"
    args = ["train", "fast-order", "--data-dir", str(fake_camvid), "--num-maps", "4", "--num-envs", "4", "--n-steps", "2",
            "--batch-size", "8", "--episodes", "8", "--steps", "2", "--tau-d", "1", "--tau-e", "1", "--model", tiny_sdm,
            "--device", "cpu", "--output", str(out), "--quiet"]  # fmt: skip
    assert main(args) == 0
    info = json.loads((out / "training.json").read_text())
    assert info["episodes"] >= 8 and info["curve"] and info["settings"]["agent"] == "mppo"
    policy, config = load_order_policy(out)
    assert config.tau_e == 1 and policy.action_space.nvec.tolist() == [2] * 12 + [12]
    assert main(args[:2] + ["--agent", "random"] + args[2:-3] + ["--output", str(tmp_path / "rnd"), "--quiet"]) == 0
    with pytest.raises(ValueError, match="no weights"):
        load_order_policy(tmp_path / "rnd")
    assert main(args + ["--tau-d", "7"]) == 2  # 7 does not divide T_d = 2: a one-line error, before any work


def test_fast_reports_run_on_small_data(tmp_path, fake_camvid, tiny_sdm, capsys):
    from sims.reports import fast_order, fast_scd

    fast_order.main(["--curves", "--stats", "fast-order-mppo", "--data-dir", str(fake_camvid), "--count", "4",
                     "--figure", str(tmp_path / "f.png")])  # fmt: skip
    text = capsys.readouterr().out
    assert "Fig. 6" in text and "Fig. 7" in text and "fast-order-random" in text and (tmp_path / "f.png").exists()
    fast_scd.main(["--model", tiny_sdm, "--data-dir", str(fake_camvid), "--count", "2", "--steps", "4", "--late", "2",
                   "--ws", "0,1", "--fig8", str(tmp_path / "f8.png"), "--fig9", str(tmp_path / "f9.png")])  # fmt: skip
    text = capsys.readouterr().out
    assert "Delta's energy" in text and "w = 1: precision" in text and (tmp_path / "f9.png").exists()


def test_the_batching_benchmark_checks_its_rewards(capsys):
    from sims.cli import main

    assert main(["bench", "fast_order", "--device", "cpu", "--envs", "2", "--steps", "6"]) == 0
    text = capsys.readouterr().out
    assert "episodes/s" in text and "max reward difference 0.0e+00" in text


def test_train_fast_bandwidth_and_the_system_report(tmp_path, fake_camvid, tiny_sdm, capsys):
    from sims.cli import main
    from sims.reports import fast_system
    from sims.train.fast_bandwidth import NormalizedPolicy, load_bandwidth_policy

    common = ["--data-dir", str(fake_camvid), "--num-maps", "4", "--num-envs", "2", "--n-steps", "64", "--batch-size", "64",
              "--episodes", "2", "--model", tiny_sdm, "--device", "cpu", "--reward", "shaping", "--quiet"]  # fmt: skip
    assert main(["train", "fast-bandwidth", *common, "--output", str(tmp_path / "ppo")]) == 0
    assert main(["train", "fast-bandwidth", "--agent", "importance", *common, "--output", str(tmp_path / "imp")]) == 0
    info = json.loads((tmp_path / "ppo" / "training.json").read_text())
    assert info["episodes"] >= 2 and len(info["dependence"]) == 5 and abs(sum(info["dependence"]) - 1) < 1e-9
    policy, config = load_bandwidth_policy(tmp_path / "ppo")
    assert config.bandwidth_hz == 2e3 and policy.action_space.shape == (5,)
    assert isinstance(policy, NormalizedPolicy) and policy.std.shape == (info["observation_size"],)
    obs = np.ones((3, info["observation_size"]), np.float32)  # normalised as in training: not the raw policy's action
    normalised = np.clip((obs - policy.mean) / policy.std, -10, 10).astype(np.float32)
    assert np.allclose(policy.predict(obs)[0], policy.policy.predict(normalised, deterministic=True)[0])
    with pytest.raises(ValueError, match="no weights"):
        load_bandwidth_policy(tmp_path / "imp")
    assert main(["train", "fast-bandwidth", *common, "--importance", "5,0,1"]) == 2  # a one-line error
    more = list(common)  # continue the PPO run to 4 episodes in all
    more[more.index("--episodes") + 1] = "4"
    assert main(["train", "fast-bandwidth", *more, "--resume", str(tmp_path / "ppo"), "--output", str(tmp_path / "more")]) == 0
    resumed = json.loads((tmp_path / "more" / "training.json").read_text())
    assert resumed["episodes"] >= 4 and resumed["curve"][: len(info["curve"])] == info["curve"]
    assert main(["train", "fast-bandwidth", *more, "--resume", str(tmp_path / "ppo"), "--bandwidth-hz", "8000"]) == 2
    fast_system.main(["--curves", str(tmp_path / "ppo"), str(tmp_path / "imp"), "--plot", str(tmp_path / "fig10.png")])
    assert "Fig. 10" in capsys.readouterr().out and (tmp_path / "fig10.png").stat().st_size > 0
    load = fast_system.load_check([500.0, 64000.0], str(fake_camvid), drops=4, num_maps=4)
    assert 0 < load[500.0][0] < load[64000.0][0] <= 1  # more band, more of the queue per slot
    split = fast_system.unit_breakdown([str(tmp_path / "ppo")], 2e3, str(fake_camvid), drops=2, num_maps=4)
    for used, extracted, residual in split.values():
        assert used.shape == (5,) and (used <= extracted).all() and (residual >= 0).all()
    out = fast_system.fig12([str(tmp_path / "ppo")], 1, 2e3, 2.0, "arrival_step", str(fake_camvid), "cpu", 4, tiny_sdm)
    assert list(out) == ["conventional GSC", "sequential baseline", "+ ordering", "+ allocation (seed 0)", "+ SCD (seed 0)"]
    conventional, sequential = out["conventional GSC"], out["sequential baseline"]
    assert (conventional["residual"] > sequential["residual"]).all()  # everything extracted and sent first
    assert "efficiency / conventional" in capsys.readouterr().out
    with pytest.raises(ValueError, match="trained at B = 2000"):
        fast_system.fig12([str(tmp_path / "ppo")], 2, 8e3, 2.0, "arrival_step", str(fake_camvid), "cpu", 4, tiny_sdm)
