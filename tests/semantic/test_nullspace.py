"""Null-space sampling: exactness with an oracle, consistency with the measurement,
DDNM+ coefficients, time travel, determinism; model loading; RePaint."""

import shutil
from types import SimpleNamespace

import pytest
import torch
from diffusers import DDPMScheduler, UNet2DModel

from semantic.pretrained import load_diffusion, model_sample_size, save_diffusion
from semantic.receivers.nullspace import (
    NullSpaceConfig,
    ddnm_coefficients,
    null_space_sample,
    travel_schedule,
)
from semantic.receivers.repaint import repaint


class MaskOperator:
    """A = diag(mask) on images: the inpainting operator."""

    def __init__(self, mask):
        self.mask = mask.float()

    def A(self, x):
        return x * self.mask

    def A_pinv(self, y):
        return y * self.mask


class Oracle(torch.nn.Module):
    """Predicts the noise that takes x_t back to the true image exactly."""

    def __init__(self, x, alphas_cumprod):
        super().__init__()
        self.x, self.abar = x, alphas_cumprod

    def forward(self, x_t, t):
        ab = self.abar[t]
        return SimpleNamespace(sample=(x_t - ab.sqrt() * self.x.reshape(x_t.shape)) / (1 - ab).sqrt())


def tiny_unet(size=16, seed=0):
    torch.manual_seed(seed)
    return UNet2DModel(
        sample_size=size, block_out_channels=(16, 32), layers_per_block=1, norm_num_groups=8,
        down_block_types=("DownBlock2D",) * 2, up_block_types=("UpBlock2D",) * 2,
    ).eval()  # fmt: skip


@pytest.fixture
def problem():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 3, 16, 16, generator=g) * 2 - 1  # (B, K, C, H, W)
    mask = torch.rand(x.shape, generator=g) < 0.6
    scheduler = DDPMScheduler(num_train_timesteps=1000)
    scheduler.set_timesteps(25)
    return x, MaskOperator(mask), scheduler


@pytest.mark.parametrize("sampler", ["ddim", "ddpm"])
@pytest.mark.parametrize("travel", [0, 5])
def test_oracle_denoiser_recovers_the_image_exactly(problem, sampler, travel):
    x, op, sched = problem
    config = NullSpaceConfig(steps=25, sampler=sampler, travel_length=travel, travel_repeat=2)
    out = null_space_sample(Oracle(x, sched.alphas_cumprod), sched.alphas_cumprod, sched.timesteps, op, op.A(x),
                            torch.Generator().manual_seed(1), config)  # fmt: skip
    torch.testing.assert_close(out, x, rtol=0, atol=1e-5)


@pytest.mark.parametrize("sampler", ["ddim", "ddpm"])
def test_random_unet_keeps_the_received_entries_exactly(problem, sampler):
    x, op, sched = problem
    out = null_space_sample(tiny_unet(), sched.alphas_cumprod, sched.timesteps, op, op.A(x),
                            torch.Generator().manual_seed(2), NullSpaceConfig(steps=25, sampler=sampler))  # fmt: skip
    assert out.shape == x.shape
    torch.testing.assert_close(op.A(out), op.A(x), rtol=0, atol=1e-6)
    assert (out - x)[~op.mask.bool()].abs().mean() > 0.1  # the rest is generated, not copied


@pytest.mark.parametrize("per_entry", [False, True])
def test_noisy_measurement_is_denoised_but_stays_consistent(problem, per_entry):
    x, op, sched = problem
    g = torch.Generator().manual_seed(3)
    sigma = torch.full(x.shape, 0.1) if per_entry else 0.1
    if per_entry:
        sigma = sigma * (1 + torch.rand(x.shape, generator=g))  # 0.1 .. 0.2 per entry
    y = op.A(x + sigma * torch.randn(x.shape, generator=g))
    out = null_space_sample(Oracle(x, sched.alphas_cumprod), sched.alphas_cumprod, sched.timesteps, op, y,
                            torch.Generator().manual_seed(4), NullSpaceConfig(steps=25), sigma_y=sigma)  # fmt: skip
    received = op.mask.bool()
    noise_rms = (y - x)[received].square().mean().sqrt()
    error_rms = (out - x)[received].square().mean().sqrt()
    assert error_rms < 0.2 * noise_rms  # DDNM+ does not copy the noise into the output
    # while the noiseless correction would copy it exactly:
    copied = null_space_sample(Oracle(x, sched.alphas_cumprod), sched.alphas_cumprod, sched.timesteps, op, y,
                               torch.Generator().manual_seed(4), NullSpaceConfig(steps=25))  # fmt: skip
    torch.testing.assert_close(op.A(copied), y, rtol=0, atol=1e-6)


@pytest.mark.parametrize("sampler", ["ddim", "ddpm"])
def test_a_nearly_noiseless_measurement_is_kept(problem, sampler):
    """At 60 dB-like noise the last step keeps y (eq. 19 alone would drop it: sigma_t = 0 there)."""
    x, op, sched = problem
    sigma = 1e-3
    y = op.A(x + sigma * torch.randn(x.shape, generator=torch.Generator().manual_seed(5)))
    out = null_space_sample(tiny_unet(), sched.alphas_cumprod, sched.timesteps, op, y,
                            torch.Generator().manual_seed(2), NullSpaceConfig(steps=25, sampler=sampler), sigma_y=sigma)  # fmt: skip
    assert (op.A(out) - y).abs().max() < 5 * sigma


def test_ddnm_plus_coefficients_hand_values():
    lam, gamma = ddnm_coefficients(0.5, 0.3, 0.4)  # a sigma_y = 0.2 <= sigma_t: full correction
    assert lam.item() == 1.0 and gamma.item() == pytest.approx(0.09 - 0.04)
    lam, gamma = ddnm_coefficients(0.9, 0.2, 0.5)  # a sigma_y = 0.45 > sigma_t: partial
    assert lam.item() == pytest.approx(0.2 / 0.45) and gamma.item() == pytest.approx(0.0, abs=1e-7)
    lam, gamma = ddnm_coefficients(0.7, 0.3, 0.0)  # noiseless
    assert lam.item() == 1.0 and gamma.item() == pytest.approx(0.09)
    lam, gamma = ddnm_coefficients(0.5, 0.3, torch.tensor([0.2, 1.2]))
    assert lam.tolist() == pytest.approx([1.0, 0.5]) and gamma.tolist() == pytest.approx([0.08, 0.0], abs=1e-7)


def test_travel_schedule():
    assert travel_schedule(3, 0, 1) == [(0, 1), (1, 2), (2, 3)]
    moves = travel_schedule(6, 2, 2)
    assert moves.count((2, 0)) == 2 and moves.count((4, 2)) == 2 and moves[-1] == (5, 6)
    assert sum(1 for i, j in moves if j == i + 1) == 6 + 2 * 2 * 2


def test_deterministic_under_a_generator(problem):
    x, op, sched = problem
    unet = tiny_unet()
    runs = [
        null_space_sample(unet, sched.alphas_cumprod, sched.timesteps, op, op.A(x), torch.Generator().manual_seed(s),
                          NullSpaceConfig(steps=5))  # fmt: skip
        for s in (7, 7, 8)
    ]
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])


def test_save_and_load_round_trip(tmp_path):
    unet = tiny_unet(seed=3)
    save_diffusion(unet, DDPMScheduler(num_train_timesteps=1000), tmp_path / "m")
    assert (tmp_path / "m" / "unet" / "diffusion_pytorch_model.safetensors").exists()
    loaded, scheduler = load_diffusion(str(tmp_path / "m"))
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, 10).sample, unet(x, 10).sample)
    assert scheduler.config.num_train_timesteps == 1000 and model_sample_size(str(tmp_path / "m")) == 16
    # flat layout (as google/ddpm-cifar10-32): config.json and scheduler_config.json side by side
    unet.save_pretrained(tmp_path / "flat")
    DDPMScheduler().save_pretrained(tmp_path / "flat")
    assert load_diffusion(str(tmp_path / "flat"))[0].config.sample_size == 16


def test_hub_id_offline_fails_clearly(monkeypatch):
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # as HF_HUB_OFFLINE=1 at start-up
    with pytest.raises(ConnectionError, match="'google/ddpm-cifar10-32'.*offline mode"):
        load_diffusion("google/ddpm-cifar10-32")
    with pytest.raises(FileNotFoundError, match="no diffusers UNet"):
        load_diffusion(str(__import__("pathlib").Path(__file__).parent))


def test_repaint_keeps_the_known_pixels():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 16, 16, generator=g) * 2 - 1
    mask = torch.rand(x.shape, generator=g) < 0.5
    out = repaint(tiny_unet(), DDPMScheduler(num_train_timesteps=1000).config, x, mask, torch.Generator().manual_seed(1),
                  steps=10, jump_length=2, jump_n_sample=2)  # fmt: skip
    assert out.shape == x.shape and out.min() >= -1 and out.max() <= 1
    assert (out - x)[mask].abs().max() < 2 / 255 + 1e-6  # RePaint outputs 8-bit-like [0, 1] floats


def _noisy_problem(problem, device="cpu"):
    x, op, sched = problem
    g = torch.Generator().manual_seed(6)
    sigma = 0.1 * (1 + torch.rand(x.shape, generator=g))
    y = op.A(x + sigma * torch.randn(x.shape, generator=g))
    op = MaskOperator(op.mask.to(device))
    return x.to(device), op, sched, y.to(device), sigma.to(device)


@pytest.mark.slow
@pytest.mark.skipif(not (shutil.which("g++") or shutil.which("c++")), reason="torch.compile on CPU needs a C++ compiler")
@pytest.mark.parametrize("sampler", ["ddim", "ddpm"])
def test_compiled_update_gives_the_eager_numbers(problem, sampler):
    """config.compile fuses each step's elementwise update; the numbers are eager's to float32 rounding."""
    x, op, sched, y, sigma = _noisy_problem(problem)
    run = lambda compile: null_space_sample(  # noqa: E731
        tiny_unet(), sched.alphas_cumprod, sched.timesteps, op, y, torch.Generator().manual_seed(2),
        NullSpaceConfig(steps=25, sampler=sampler, travel_length=5, compile=compile), sigma_y=sigma,
    )  # fmt: skip
    torch.testing.assert_close(run(True), run(False), rtol=0, atol=1e-4)


@pytest.mark.cuda
@pytest.mark.parametrize("compile", [False, True])
def test_oracle_recovery_and_denoising_on_cuda(problem, compile):
    x, op, sched, y, sigma = _noisy_problem(problem, "cuda:0")
    config = NullSpaceConfig(steps=25, travel_length=5, compile=compile)
    exact = null_space_sample(Oracle(x, sched.alphas_cumprod.cuda()), sched.alphas_cumprod, sched.timesteps, op,
                              op.A(x), torch.Generator("cuda:0").manual_seed(1), config)  # fmt: skip
    torch.testing.assert_close(exact, x, rtol=0, atol=1e-5)
    out = null_space_sample(Oracle(x, sched.alphas_cumprod.cuda()), sched.alphas_cumprod, sched.timesteps, op, y,
                            torch.Generator("cuda:0").manual_seed(4), config, sigma_y=sigma)  # fmt: skip
    received = op.mask.bool()
    assert (out - x)[received].square().mean() < 0.04 * (y - x)[received].square().mean()
