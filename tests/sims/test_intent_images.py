"""The `intent_images` method: optimiser -> coded streams -> PHY -> SDM -> composition -> metrics."""

from pathlib import Path

import numpy as np
import pytest
import torch

from bridges.intent_multicast import IntentPipeline
from phy.config import LinkBudgetConfig
from phy.multicast import solve
from semantic.codecs import streams
from semantic.pretrained import save_model
from sims.config_io import ConfigError
from sims.engine import run_sweep
from sims.methods.intent_images import IntentImagesOptions
from sims.scenario import load_scenario, scenario_from_dict

# The paper's curves with requirements a little above their floors: feasible, quick.
CURVES = {"distortion": [0.199, 3.454, 0.008], "perception": [0.214, 5.14, 0.566], "eps_r": 0.03, "eps_s": 0.6}


def options(tiny_sdm, **changes):
    return IntentImagesOptions(**({"users": 3, "sdm": tiny_sdm, "ddim_steps": 2} | CURVES | changes))


def scene(seed=0, S=32):
    g = torch.Generator().manual_seed(seed)
    lab = torch.randint(0, 12, (S // 8, S // 8), generator=g).repeat_interleave(8, 0).repeat_interleave(8, 1)
    lab[:8, :8], lab[8:16, :8], lab[16:24, :8] = 8, 9, 3  # every wanted class is present
    image = (torch.rand(3, S // 4, S // 4, generator=g) * 2 - 1).repeat_interleave(4, 1).repeat_interleave(4, 2)
    return image, lab


def test_proposed_composes_decoded_classes_exactly_and_times_the_air(tiny_sdm):
    pipeline = IntentPipeline(options(tiny_sdm, power_mw=2000.0), LinkBudgetConfig(), (32, 32))
    image, lab = scene()
    gains = np.array([3e-11, 1e-11, 5e-12])
    users, bits = pipeline.run(image, lab, gains, torch.Generator().manual_seed(0))
    alloc_latency = pipeline.problem(gains)
    assert len(users) == 3 and bits > 0
    for k, u in enumerate(users):
        assert u.streams_lost == 0 and u.streams_sent == 2
        assert u.decoded_map.shape == lab.shape
        cls = pipeline.class_ids[k]
        # Intended pixels are the class stream's own outline, filled from the stream exactly.
        alloc = solve(alloc_latency)
        coded = streams.code_class_region(image, lab == cls, float(alloc.class_rates[k]), 0.1 * 32 * 32)
        pixels, region = streams.decode_class_stream(coded)
        assert torch.equal(region, lab == cls) and region.any()
        assert torch.equal(u.image[:, region], pixels[:, region])
        assert u.measured_s >= pipeline.generation_s
        assert sorted(kind for kind, _ in u.stream_gaps) == ["class", "map"]
        assert all(gap > 0 for _, gap in u.stream_gaps)
        assert u.predicted_s == pytest.approx(alloc.user_latency_s[k])
    # Users decoding the same map share one synthesis: non-intended pixels agree.
    outside = ~torch.isin(users[0].decoded_map, torch.tensor(pipeline.class_ids[:3]))
    assert torch.equal(users[0].image[:, outside], users[1].image[:, outside])


def test_lost_streams_are_reported_and_the_receiver_falls_back(tiny_sdm):
    pipeline = IntentPipeline(options(tiny_sdm, power_mw=1e-3), LinkBudgetConfig(), (32, 32))
    image, lab = scene(1)
    users, _ = pipeline.run(image, lab, np.array([1e-12, 1e-12, 1e-12]), torch.Generator().manual_seed(0))
    for u in users:  # -20 dB and below: nothing gets through
        assert u.streams_lost == u.streams_sent == 2 and u.decoded_map is None
        assert u.image.shape == image.shape and u.image.abs().max() <= 1


@pytest.mark.parametrize("scheme", ["ngm", "fgm"])
def test_benchmark_schemes(tiny_sdm, scheme):
    pipeline = IntentPipeline(options(tiny_sdm, scheme=scheme, power_mw=500.0), LinkBudgetConfig(), (32, 32))
    image, lab = scene(2)
    users, bits = pipeline.run(image, lab, np.array([3e-11, 1e-11, 5e-12]), torch.Generator().manual_seed(0))
    assert bits > 0
    for u in users:
        assert u.streams_sent == 1 and u.streams_lost == 0
        if scheme == "ngm":  # the whole image as one JPEG: no synthesis, no T_g
            assert u.decoded_map is None and (u.image - image).abs().mean() < 0.5
        else:
            assert u.measured_s > pipeline.generation_s


def test_sweep_rows_and_validation(tmp_path, fake_camvid, tiny_sdm):
    method = {"kind": "intent_images", "sdm": tiny_sdm, "ddim_steps": 2, "users": 2} | CURVES
    cfg = {
        "output": str(tmp_path / "out"),
        "source": {"dataset": "camvid", "data_dir": str(fake_camvid), "image_size": 32, "num_images": 2},
        "sweep": {"axes": {"power_mw": [100.0, 400.0]}},
        "methods": {"proposed": method, "ngm": method | {"scheme": "ngm"}, "fgm": method | {"scheme": "fgm"}},
    }
    rows = run_sweep(scenario_from_dict(cfg), quiet=True)
    assert len(rows) == 6
    for row in rows:
        assert float(row["latency_ms"]) > 0 and float(row["predicted_ms"]) > 0
        assert 0 <= float(row["streams_lost"]) <= 1 and float(row["source_rate"]) > 0
        assert int(row["latency_ms_n"]) == 2 * 2  # images x users
    again = run_sweep(scenario_from_dict(cfg | {"output": str(tmp_path / "again")}), quiet=True)
    assert [r["latency_ms"] for r in again] == [r["latency_ms"] for r in rows]  # same seed, same rows
    bad = cfg | {"methods": {"p": method | {"eps_s": 0.5}}}
    with pytest.raises((ConfigError, ValueError), match="eps_s"):
        run_sweep(scenario_from_dict(bad), quiet=True)
    no_labels = cfg | {"source": {"dataset": "samples", "image_size": 32, "num_images": 2}}
    with pytest.raises((ConfigError, ValueError), match="camvid"):
        run_sweep(scenario_from_dict(no_labels), quiet=True)


def test_figure_shows_original_map_synthesis_and_three_users(tmp_path, fake_camvid, tiny_sdm):
    from sims.reports.intent_figure import render

    out = tmp_path / "fig.png"
    summary = render(0, [8, 9, 3] + [c for c in range(11) if c not in (8, 9, 3)],
                     {"sdm": tiny_sdm, "ddim_steps": 2, "power_mw": 500.0} | CURVES, fake_camvid, 32, 0, out)  # fmt: skip
    assert out.stat().st_size > 0
    users = [summary[f"user{k}"] for k in (1, 2, 3)]
    assert [v["class"] for v in users] == ["car", "pedestrian", "road"]
    assert all(v["measured_ms"] > 0 for v in users) and summary["mean_measured_ms"] > 0


def test_paper_figures_14_to_18(tmp_path, fake_camvid, tiny_sdm):
    from semantic.pretrained import save_model
    from semantic.receivers.spadegan import SpadeGenerator
    from sims.reports.intent_figure import paper_figures

    gan = save_model(SpadeGenerator(12, (8, 8, 8), z_dim=8), tmp_path / "gan")
    options = {"sdm": tiny_sdm, "gan": str(gan), "ddim_steps": 2, "power_mw": 500.0, "users": 3} | CURVES
    numbers = paper_figures((0, 1), [1, 8, 3] + [c for c in range(11) if c not in (1, 8, 3)], options, fake_camvid,
                            32, 0, tmp_path / "figs")  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "figs").glob("*.png")) == [f"fig{n}.png" for n in range(14, 19)]
    assert set(numbers) == {"fig14", "fig15", "fig16", "fig17", "fig18_sdm", "fig18_gan"}
    assert numbers["fig14"]["user1"]["class"] == "building"


CONFIGS = Path(__file__).resolve().parents[2] / "sims" / "configs"


@pytest.mark.parametrize("name", sorted(p.name for p in CONFIGS.glob("intent_images*.toml")))
def test_study_configs_validate(name, study_data_dir):
    load_scenario(CONFIGS / name)


def test_default_curves_are_what_camvid_measures(camvid_dir):
    """The shipped Phi_r fit (32 CamVid train frames) against a fresh measurement on 8 val frames it never
    saw, at the bits the streams spent."""
    from bridges.intent_multicast import rate_curve_defaults
    from phy.multicast import ExpCurve
    from semantic.data import load_camvid
    from sims.reports.rate_curves import distortion_points

    images, labels = load_camvid(camvid_dir, "val", image_size=128, num_images=8, labels=True, selection="spread")
    points = distortion_points(images, labels, (1.5, 2.0, 3.0), class_fraction=0.1)
    fit = ExpCurve(*rate_curve_defaults("camvid-sdm-32")["distortion"])
    for rate, value in zip(points["spent_bpp"], points["values"]):
        assert value == pytest.approx(float(fit(rate)), rel=0.35), rate


def test_segmentation_at_the_transmitter(tmp_path, tiny_sdm):
    """With a segmenter the transmitter sends its prediction, not the true map; scoring stays on the truth."""
    from semantic.segmentation import DualResolutionSegmenter, segment

    torch.manual_seed(0)
    save_model(DualResolutionSegmenter(11, 8, 32), tmp_path / "seg")
    pipeline = IntentPipeline(
        options(tiny_sdm, power_mw=2000.0, map_codec="rle", segmentation=str(tmp_path / "seg")),
        LinkBudgetConfig(), (32, 32),
    )
    image, lab = scene()
    predicted = pipeline.transmitter_map(image, lab)
    assert torch.equal(predicted, segment(pipeline._segmenter, image[None])[0]) and not torch.equal(predicted, lab)
    users, _ = pipeline.run(image, lab, np.array([3e-11, 1e-11, 5e-12]), torch.Generator().manual_seed(0))
    for u in users:  # the map sent (losslessly here) is the prediction
        assert u.decoded_map is not None and torch.equal(u.decoded_map, predicted)
    assert IntentPipeline(options(tiny_sdm), LinkBudgetConfig(), (32, 32)).transmitter_map(image, lab) is lab
    with pytest.raises(ValueError, match="segmentation: /no/such/seg: no such model folder"):
        IntentPipeline(options(tiny_sdm, segmentation="/no/such/seg"), LinkBudgetConfig(), (32, 32))


def test_a_user_who_lost_the_map_keeps_its_delivered_classes(tiny_sdm, monkeypatch):
    pipeline = IntentPipeline(options(tiny_sdm, power_mw=2000.0), LinkBudgetConfig(), (32, 32))
    image, lab = scene()
    gains = np.array([3e-11, 1e-11, 5e-12])
    send_map = pipeline._send_map

    def lose_every_map(*args):
        delivery, maps = send_map(*args)
        return delivery, [None] * len(maps)

    monkeypatch.setattr(pipeline, "_send_map", lose_every_map)
    users, _ = pipeline.run(image, lab, gains, torch.Generator().manual_seed(0))
    alloc = solve(pipeline.problem(gains))
    for k, u in enumerate(users):
        assert u.decoded_map is None and u.streams_lost == 1
        mask = lab == pipeline.class_ids[k]
        pixels, _ = streams.decode_class_stream(
            streams.code_class_region(image, mask, float(alloc.class_rates[k]), 0.1 * 32 * 32)
        )
        assert torch.equal(u.image[:, mask], pixels[:, mask])  # shown over the unconditional synthesis
        assert torch.equal(u.image[:, ~mask], u.synthesis[:, ~mask])


@pytest.mark.parametrize("scheme", ["proposed", "ngm", "fgm"])
def test_link_aware_planning_predicts_what_the_air_measures(tiny_sdm, scheme):
    """planning = "link", one MCS per stream: the plan's air times are the link's, exactly."""
    opts = options(tiny_sdm, scheme=scheme, power_mw=100.0, planning="link", mcs_policy="worst", synthesis="none")
    pipeline = IntentPipeline(opts, LinkBudgetConfig(), (32, 32))
    image, lab = scene(3)
    gains = np.array([3e-11, 1e-11, 5e-12])
    users, _ = pipeline.run(image, lab, gains, torch.Generator().manual_seed(0))
    for u in users:
        assert u.streams_lost == 0
        assert u.measured_s == pytest.approx(u.predicted_s, rel=1e-9)
        assert all(gap == pytest.approx(1.0) for _, gap in u.stream_gaps)
        assert u.synthesis is None or u.synthesis.abs().max() == 0  # synthesis = "none": mid-grey


def test_link_aware_rateless_planning(tiny_sdm):
    opts = options(tiny_sdm, power_mw=50.0, planning="link", mcs_policy="rateless", synthesis="none")
    pipeline = IntentPipeline(opts, LinkBudgetConfig(), (32, 32))
    image, lab = scene(4)
    gains = np.array([3e-12, 1e-12, 5e-13])
    users, _ = pipeline.run(image, lab, gains, torch.Generator().manual_seed(0))
    gaps = [gap for u in users for _, gap in u.stream_gaps]
    assert all(u.streams_lost == 0 for u in users) and len(gaps) == 6
    assert 0.7 < np.mean(gaps) < 1.3  # expected IR steps against one draw of them
    with pytest.raises(ValueError, match="adaptation = 'thresholds'"):
        IntentPipeline(options(tiny_sdm, planning="link", adaptation="backoff"), LinkBudgetConfig(), (32, 32))
