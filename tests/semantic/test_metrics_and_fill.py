"""Metrics against hand values; the nearest-pixel fill."""

import math

import pytest
import torch

from semantic.metrics import (
    PSNR_CAP_DB,
    ms_ssim,
    ms_ssim_name,
    ms_ssim_scales,
    psnr,
    ssim,
)
from semantic.restoration import fill_nearest, fill_zeros


def test_psnr_hand_values():
    x = torch.zeros(2, 3, 8, 8)
    y = x.clone()
    y[1] += 0.2  # [-1, 1] range: error 0.1 on [0, 1] -> MSE 0.01 -> 20 dB
    values = psnr(y, x)
    assert values[0] == PSNR_CAP_DB
    assert values[1].item() == pytest.approx(20.0, abs=1e-4)


@pytest.mark.parametrize("size", [16, 32, 64])
def test_ssim_family_identity_and_monotonicity(size):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 3, size, size, generator=g) * 2 - 1
    x = torch.nn.functional.avg_pool2d(x, 3, 1, 1)  # some structure
    small = (x + 0.05 * torch.randn(x.shape, generator=g)).clamp(-1, 1)
    large = (x + 0.5 * torch.randn(x.shape, generator=g)).clamp(-1, 1)
    for metric in (ssim, ms_ssim):
        same = metric(x, x)
        assert torch.allclose(same, torch.ones(3), atol=1e-4)
        assert torch.all(metric(small, x) > metric(large, x))


def test_ms_ssim_names_the_scales_it_uses():
    assert [ms_ssim_scales(s) for s in (16, 32, 64, 128, 176, 256)] == [1, 2, 3, 4, 5, 5]
    assert [ms_ssim_name(s) for s in (32, 64, 128, 256)] == ["ms_ssim_2", "ms_ssim_3", "ms_ssim_4", "ms_ssim"]


def test_fill_nearest_copies_the_closest_received_pixel():
    image = torch.tensor([[[1.0, 0.0, 0.0, -1.0]]])
    mask = torch.tensor([[[True, False, False, True]]])
    assert fill_nearest(image, mask).tolist() == [[[1.0, 1.0, -1.0, -1.0]]]
    assert fill_zeros(torch.ones(1, 1, 4), mask).tolist() == [[[1.0, 0.0, 0.0, 1.0]]]
    nothing = fill_nearest(torch.ones(2, 3, 3), torch.zeros(2, 3, 3, dtype=torch.bool))
    assert torch.equal(nothing, torch.zeros(2, 3, 3))


def test_fill_nearest_is_a_better_guess_than_zeros_on_smooth_images():
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 32), torch.linspace(-1, 1, 32), indexing="ij")
    image = (0.8 * torch.sin(2 * math.pi * xx) * yy).expand(1, 3, 32, 32)
    mask = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(1)) < 0.5
    assert psnr(fill_nearest(image, mask), image) > psnr(fill_zeros(image, mask), image) + 5
