"""M-GSC (seed 003): the box-DDPM trainer (pooled, FedAvg), the scenes, and the `mgsc` methods' rows."""

import json

import pytest
import torch

from semantic.pretrained import load_pretrained, save_model
from semantic.receivers.sdm import SemanticUNet
from semantic.scenes import CAMVID_SEQUENCES, load_scene
from sims.config_io import ConfigError
from sims.engine import run_sweep
from sims.scenario import scenario_from_dict
from sims.train.boxddpm import BoxDdpmTrainConfig, federated_average, train_boxddpm

from ..conftest import write_fake_camvid


@pytest.fixture(scope="module")
def scenes_dir(tmp_path_factory):
    """A fake CamVid whose train frames belong to the three sequences (10 each)."""
    return write_fake_camvid(tmp_path_factory.mktemp("mgsc") / "camvid", n_train=30, n_val=2, sequences=CAMVID_SEQUENCES)


def test_federated_average_of_identical_clients_is_any_client():
    torch.manual_seed(0)
    state = SemanticUNet(4, (8, 8)).state_dict()
    for key, value in federated_average([state, state, state], [10.0, 24.0, 49.0]).items():
        torch.testing.assert_close(value, state[key])
    a, b = {"w": torch.zeros(3)}, {"w": torch.ones(3)}
    torch.testing.assert_close(federated_average([a, b], [1.0, 3.0])["w"], torch.full((3,), 0.75))


def test_scene_split_reference_and_boxes(scenes_dir):
    scene = load_scene(scenes_dir, "0006R0", image_size=16, label_size=32, holdout=0.2, cluster_fraction=0.3)
    assert len(scene.images) == 10 and scene.test_index == [8, 9] and scene.train_index == list(range(8))
    assert scene.cluster_index == [0, 2, 5] or len(scene.cluster_index) == round(0.3 * 8)
    assert set(scene.cluster_index) <= set(scene.train_index)
    torch.testing.assert_close(scene.reference, scene.images[:8].median(0).values)
    assert all(c.shape[-1] == 4 and c.dtype == torch.long for c in scene.codes)
    with pytest.raises(ValueError, match="sequence"):
        load_scene(scenes_dir, "0002XX")


def test_real_camvid_sequences(camvid_dir):
    scene = load_scene(camvid_dir, "0001TP")
    assert len(scene.images) == 62 and len(scene.test_index) == 12 and len(scene.cluster_index) == 15
    assert sum(len(c) for c in scene.codes) > 0  # it has vehicles


def tiny_config(scenes_dir, tmp_path, **changes) -> BoxDdpmTrainConfig:
    data = dict(
        data_dir=str(scenes_dir), output=str(tmp_path / "model"), channels=(8, 8), steps=6, batch_size=2,
        image_size=16, label_size=32, log_every=1, eval_draws=1, warmup_steps=1,
    )  # fmt: skip
    return BoxDdpmTrainConfig(**(data | changes))


@pytest.mark.parametrize("fedavg", [False, True])
def test_cluster_model_trains_only_on_the_edges_steps(scenes_dir, tmp_path, fedavg):
    folder = train_boxddpm(tiny_config(scenes_dir, tmp_path, scope="cluster", fedavg=fedavg, rounds=2), quiet=True)
    info = json.loads((folder / "training.json").read_text())
    assert info["min_timestep"] == 350 and len(info["losses"]) == 6
    for _, loss, loss_high in info["losses"]:  # every sampled t is an edge step: both logs agree
        assert loss == pytest.approx(loss_high)
    assert set(info["held_out_loss"]) == set(CAMVID_SEQUENCES)
    assert info["frames"] == 3 * round(0.3 * 8)
    assert load_pretrained(folder, SemanticUNet).config["label_channels"] == 4


def test_local_model_and_config_errors(scenes_dir, tmp_path):
    folder = train_boxddpm(tiny_config(scenes_dir, tmp_path, sequence="0016E5", steps=3), quiet=True)
    info = json.loads((folder / "training.json").read_text())
    assert info["min_timestep"] == 0 and info["frames"] == 8
    with pytest.raises(ValueError, match="sequence: a local model needs"):
        BoxDdpmTrainConfig(scope="local")
    with pytest.raises(ValueError, match="fedavg: only a cluster model"):
        BoxDdpmTrainConfig(sequence="0001TP", fedavg=True)


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("boxddpm")
    torch.manual_seed(0)
    save_model(SemanticUNet(4, (8, 8), concat_condition=True), root / "cluster")
    for scene in CAMVID_SEQUENCES:
        save_model(SemanticUNet(4, (8, 8), concat_condition=True), root / f"local-{scene.lower()}")
    return root


def mgsc_scenario(scenes_dir, tiny_models, tmp_path, **methods):
    common = {"frames_per_scene": 2, "label_size": 32}
    split = common | {
        "kind": "mgsc", "inference_steps": 10, "cluster_model": str(tiny_models / "cluster"),
        "local_model": str(tiny_models / "local-{scene}"), "t_user_ms": 10.0,
    }  # fmt: skip
    return {
        "output": str(tmp_path / "out"),
        "source": {"dataset": "camvid", "data_dir": str(scenes_dir), "image_size": 32},
        "link": {"grid": {"num_users": 3, "num_subcarriers": 96, "num_ofdm_symbols": 16}},
        "sweep": {"axes": {"snr_db": [5.0]}},
        "methods": methods or {
            "s650": split, "s350": split | {"offload_steps": 350},
            "aware": split | {"channel_aware": True},
            "swin": common | {"kind": "mgsc_swinjscc"},
        },
    }  # fmt: skip


def test_mgsc_rows_latency_and_matched_channel_uses(scenes_dir, tiny_models, tmp_path):
    rows = {r["method"]: r for r in run_sweep(scenario_from_dict(mgsc_scenario(scenes_dir, tiny_models, tmp_path)), quiet=True)}
    assert rows["s650"]["channel_uses"] == rows["swin"]["channel_uses"] == str(3 * 32 * 32 // 2)
    assert (rows["s650"]["edge_steps"], rows["s350"]["edge_steps"]) == ("6", "3")  # of 10 scheduled steps 900, 800, ..., 0
    assert float(rows["s650"]["user_steps"]) == 4 and float(rows["aware"]["user_steps"]) > 4
    # the edge is twice as fast: offloading more steps is quicker
    assert float(rows["s650"]["latency_s"]) < float(rows["s350"]["latency_s"]) < float(rows["aware"]["latency_s"]) + 1
    for row in rows.values():
        for metric in ("psnr", "ssim", "miou", "fd_seg"):
            assert row[metric] != ""
        assert row["box_iou_reference"] == "" or 0 <= float(row["box_iou_reference"]) <= 1


def test_mgsc_refuses_a_wrong_user_count(scenes_dir, tiny_models, tmp_path):
    data = mgsc_scenario(scenes_dir, tiny_models, tmp_path, swin={"kind": "mgsc_swinjscc", "label_size": 32})
    data["link"]["grid"] |= {"num_users": 2, "num_subcarriers": 64}
    with pytest.raises(ConfigError, match="num_users must be 3"):
        run_sweep(scenario_from_dict(data), quiet=True)


def test_shipped_box_models_are_personalised_and_the_cluster_model_covers_the_edges_steps():
    from semantic.pretrained import training_info

    held = {}
    for scene in CAMVID_SEQUENCES:
        name = f"camvid-boxddpm-{scene.lower()}-32"
        model = load_pretrained(name, SemanticUNet)
        assert model.config["label_channels"] == 4 and model.config["concat_condition"]
        info = training_info(name)
        assert info["min_timestep"] == 0 and info["train"]["sequence"] == scene
        held[scene] = info["held_out_loss"]
    for scene in CAMVID_SEQUENCES:  # on each scene's held-out frames, its own model predicts the noise best
        assert held[scene][scene]["all"] == min(held[other][scene]["all"] for other in CAMVID_SEQUENCES)
    for name in ("camvid-boxddpm-cluster-32", "camvid-boxddpm-cluster-fedavg-32"):
        info = training_info(name)
        assert info["min_timestep"] == 350 and info["train"]["fedavg"] == name.endswith("fedavg-32")
        assert load_pretrained(name, SemanticUNet).config["concat_condition"]
