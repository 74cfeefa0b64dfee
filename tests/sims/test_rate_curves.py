"""Measured rate curves: what the pipeline sends, scored as the optimiser's Phi_r / Phi_s."""

import pytest
import torch

from semantic.data import load_camvid
from semantic.receivers.sdm import SemanticUNet
from sims.reports.rate_curves import distortion_points, perception_points


@pytest.fixture
def pairs(fake_camvid):
    return load_camvid(fake_camvid, "val", image_size=32, num_images=2, labels=True)


def test_distortion_falls_with_the_class_budget(pairs):
    images, labels = pairs
    points = distortion_points(images, labels, (1.0, 4.0, 32.0), class_fraction=0.1)
    assert points["pairs"] > 0
    v = points["values"]
    assert v[0] >= v[1] >= v[2] >= 0 and v[0] > v[2]
    assert points["spent_bpp"][2] <= 32.0  # fits its budget at the top rate


@torch.no_grad()
def test_perception_uses_common_noise_so_an_exact_map_scores_as_the_lossless_one(pairs):
    images, _ = pairs
    g = torch.Generator().manual_seed(0)  # blocky maps, like real ones (the fake data's are per-pixel noise)
    labels = torch.randint(0, 12, (2, 8, 8), generator=g).repeat_interleave(4, 1).repeat_interleave(4, 2)
    torch.manual_seed(0)
    model = SemanticUNet(label_channels=12, channels=(8, 8)).eval()
    points = perception_points(model, images, labels, (0.5, 64.0), seed=0, scale=1.0, steps=2)
    assert points["map_accuracy"][1] == 1.0  # JPEG at 64 bpp returns the map exactly
    assert points["values"][1] == points["lossless"]["value"]
    assert points["map_accuracy"][0] < 1.0
