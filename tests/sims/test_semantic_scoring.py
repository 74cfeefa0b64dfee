"""miou, miou_reference and fd_seg in image-method rows; the data directory checked before work;
the CamVid test split; `gscsim train segmenter`."""

import json

import pytest
import torch

from semantic.data import load_camvid
from semantic.pretrained import load_pretrained, save_model
from semantic.segmentation import DualResolutionSegmenter
from sims.cli import main
from sims.config_io import ConfigError
from sims.engine import run_sweep
from sims.scenario import scenario_from_dict

from ..conftest import write_fake_camvid


@pytest.fixture(scope="module")
def tiny_segmenter(tmp_path_factory):
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("seg") / "tiny"
    save_model(DualResolutionSegmenter(11, 8, 32), folder)
    return str(folder)


def config(tmp_path, root, segmenter, **source):
    return {
        "output": str(tmp_path / "out"), "device": "cpu",
        "source": {"dataset": "camvid", "data_dir": str(root), "image_size": 32, "num_images": 4} | source,
        "scoring": {"segmenter": segmenter},
        "link": {"grid": {"num_users": 2, "num_ofdm_symbols": 16}, "code": {"k": 512, "n": 1024}},
        "sweep": {"axes": {"snr_db": [10.0]}},
        "methods": {"received": {"nm_ratio": 0.5}, "jpeg": {"kind": "separation", "bandwidth_ratio": 0.16666666666666666}},
    }  # fmt: skip


def test_rows_carry_miou_and_fd_seg_when_the_images_have_label_maps(tmp_path, fake_camvid, tiny_segmenter):
    rows = run_sweep(scenario_from_dict(config(tmp_path, fake_camvid, tiny_segmenter)), quiet=True, plot=False)
    for row in rows:
        assert 0 <= float(row["miou"]) <= 1 and row["miou_n"] == "4"
        assert 0 <= float(row["miou_reference"]) <= 1 and float(row["fd_seg"]) >= 0
    # the reference score does not depend on the method
    assert len({r["miou_reference"] for r in rows}) == 1
    none = run_sweep(scenario_from_dict(config(tmp_path / "none", fake_camvid, "none")), quiet=True, plot=False)
    assert all(r["miou"] == "" and r["fd_seg"] == "" for r in none)
    assert [r["psnr"] for r in none] == [r["psnr"] for r in rows]  # pixel scores untouched


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"data_dir": "/no/such/camvid"}, "methods.received: source.data_dir: /no/such/camvid: no such directory"),
        ({"split": "test"}, "source.data_dir: {root}/test: no such folder (CamVid split 'test' is missing)"),
        ({"num_images": 6}, "source.num_images = 6 but CamVid val has 4 images"),
    ],
)
def test_a_bad_data_directory_fails_before_any_work_naming_key_and_path(tmp_path, fake_camvid, tiny_segmenter, change, expected):
    data = config(tmp_path, fake_camvid, tiny_segmenter, **change)
    with pytest.raises(ConfigError) as info:
        scenario_from_dict(data, "study.toml")
    assert expected.format(root=fake_camvid) in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "out").exists()


def test_the_test_split_loads(tmp_path, tiny_segmenter):
    root = write_fake_camvid(tmp_path / "camvid", n_test=2)
    images, labels = load_camvid(root, "test", image_size=16, labels=True)
    assert images.shape == (2, 3, 16, 16) and labels.shape == (2, 16, 16)
    scenario_from_dict(config(tmp_path, root, tiny_segmenter, split="test", num_images=2))


def test_train_segmenter_from_the_command_line(tmp_path, fake_camvid):
    out = tmp_path / "seg"
    argv = ["train", "segmenter", "--size", "16", "--width", "8", "--data-dir", str(fake_camvid), "--output", str(out),
            "--steps", "30", "--batch-size", "8", "--warmup-steps", "0", "--scales", "1.0", "--log-every", "10",
            "--device", "cpu", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    info = json.loads((out / "training.json").read_text())
    assert info["losses"][-1][1] < info["losses"][0][1]
    assert 0 <= info["val"]["miou"] <= 1 and len(info["val"]["class_iou"]) == 11 and info["val"]["images"] == 4
    model = load_pretrained(str(out))
    assert type(model) is DualResolutionSegmenter and model.config.image_size == 16


def test_ms_ssim_is_named_by_its_scale_count_and_per_class_iou_is_optional(tmp_path, fake_camvid, tiny_segmenter):
    data = config(tmp_path, fake_camvid, tiny_segmenter)
    data["scoring"]["per_class_iou"] = True
    scenario = scenario_from_dict(data)
    columns = scenario.columns()
    # 32 px: 2 of MS-SSIM's 5 scales fit, and the column says so; no other scale count is in the table
    assert "ms_ssim_2" in columns and not {"ms_ssim", "ms_ssim_3", "ms_ssim_4"} & set(columns)
    rows = run_sweep(scenario, quiet=True, plot=False)
    for row in rows:
        assert 0 < float(row["ms_ssim_2"]) <= 1
        # each class's IoU over the images where it appears; their pooled mean is bounded by miou's range
        per_class = [float(row[f"iou_{c}"]) for c in ("sky", "road", "car") if row[f"iou_{c}"]]
        assert per_class and all(0 <= v <= 1 for v in per_class)
        assert 1 <= int(row["iou_sky_n"]) <= 4
    plain = scenario_from_dict(config(tmp_path / "plain", fake_camvid, tiny_segmenter)).columns()
    assert "iou_sky" not in plain and "ms_ssim_2" in plain
    # a 64 px scenario has the 3-scale column instead
    wide = scenario_from_dict(config(tmp_path / "wide", fake_camvid, tiny_segmenter, image_size=64)).columns()
    assert "ms_ssim_3" in wide and "ms_ssim_2" not in wide


def test_study_images_are_spread_over_the_split_unless_asked_for_the_first(tmp_path, tiny_segmenter):
    from semantic.data import select_frames
    from sims.methods.common import source_pairs
    from sims.registry import PointContext

    assert select_frames(10, 4, "first") == [0, 1, 2, 3]
    assert select_frames(10, 4, "spread") == [0, 2, 5, 7] and select_frames(5, 5, "spread") == list(range(5))
    with pytest.raises(ValueError, match="selection 'middle'"):
        select_frames(10, 4, "middle")
    root = write_fake_camvid(tmp_path / "camvid", n_val=8)
    everything = load_camvid(root, "val", image_size=16)
    for selection, expected in (("spread", [0, 2, 4, 6]), ("first", [0, 1, 2, 3])):
        data = config(tmp_path, root, tiny_segmenter, image_size=16, selection=selection)
        del data["methods"]["jpeg"]
        scenario = scenario_from_dict(data)
        assert scenario.config.source.selection == selection
        ctx = PointContext(scenario.config, None, {}, {}, 0, torch.Generator(), "cpu")
        images, _ = source_pairs(ctx)
        assert torch.equal(images, everything[expected])
    assert scenario_from_dict(config(tmp_path, root, tiny_segmenter)).config.source.selection == "spread"


def test_metrics_without_values_get_no_plot(tmp_path, fake_camvid):
    data = config(tmp_path, fake_camvid, "none")
    del data["methods"]["jpeg"]
    run_sweep(scenario_from_dict(data), quiet=True)
    plots = {p.name for p in (tmp_path / "out").glob("plot_*.png")}
    assert "plot_psnr.png" in plots and "plot_ms_ssim_2.png" in plots
    assert not {"plot_miou.png", "plot_fd_seg.png"} & plots  # empty columns: nothing to draw
