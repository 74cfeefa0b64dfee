"""The shipped CamVid DDPM: loads by name, samples, and inpaints CamVid better than a blank."""

import torch

from semantic.metrics import psnr
from semantic.pretrained import (
    DEFAULT_DIFFUSION,
    load_diffusion,
    model_sample_size,
    shipped_models,
)
from semantic.receivers.nullspace import NullSpaceConfig, null_space_sample
from semantic.restoration import fill_zeros


def test_shipped_model_loads_and_samples():
    assert DEFAULT_DIFFUSION in shipped_models() and model_sample_size() == 32
    unet, scheduler = load_diffusion()
    assert scheduler.config.num_train_timesteps == 1000 and scheduler.config.beta_schedule == "linear"
    assert sum(p.numel() for p in unet.parameters()) < 20e6 / 4  # < 20 MB of float32

    class Nothing:  # no measurement: plain generation
        def A(self, x):
            return torch.zeros_like(x)

        def A_pinv(self, y):
            return torch.zeros_like(y)

    scheduler.set_timesteps(10)
    samples = null_space_sample(unet, scheduler.alphas_cumprod, scheduler.timesteps, Nothing(),
                                torch.zeros(4, 3, 32, 32), torch.Generator().manual_seed(0), NullSpaceConfig(steps=10))  # fmt: skip
    assert samples.shape == (4, 3, 32, 32) and torch.isfinite(samples).all()
    assert 0.1 < samples.clamp(-1, 1).std() < 1.0


def test_shipped_model_inpaints_camvid(camvid_dir):
    from semantic.data import load_camvid

    x = load_camvid(camvid_dir, "val", 32, num_images=8)
    mask = torch.rand(x.shape, generator=torch.Generator().manual_seed(1)) < 0.6

    class Mask:
        def A(self, v):
            return v * mask

        def A_pinv(self, y):
            return y * mask

    unet, scheduler = load_diffusion()
    scheduler.set_timesteps(20)
    out = null_space_sample(unet, scheduler.alphas_cumprod, scheduler.timesteps, Mask(), x * mask,
                            torch.Generator().manual_seed(2), NullSpaceConfig(steps=20))  # fmt: skip
    assert psnr(out.clamp(-1, 1), x).mean() > psnr(fill_zeros(x, mask), x).mean() + 8
