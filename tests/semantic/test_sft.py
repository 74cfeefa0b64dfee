"""The SFT refiner (GSC, seed 002 Sec. III-D; DiffIR): the schedule, the reverse chain of eq. (13)
by hand, shapes and errors, a training step of each stage lowering its loss, the shipped weights."""

import pytest
import torch

from semantic.pretrained import load_pretrained
from semantic.receivers.sft import DMTA, SemanticFineTuning, linear_betas, reverse_step

TINY = dict(dim=8, blocks=(1, 1, 1), heads=(1, 2, 2), prior_channels=4, cpen_width=16, cpen_blocks=1, denoiser_blocks=1)


def test_linear_betas_of_the_paper():
    betas = linear_betas(4, 0.1, 0.99)
    assert torch.allclose(betas, torch.tensor([0.1, 0.1 + 0.89 / 3, 0.1 + 2 * 0.89 / 3, 0.99], dtype=torch.float64))
    with pytest.raises(ValueError, match="0 < start <= end < 1"):
        linear_betas(4, 0.1, 1.0)


class _AffineNoise(torch.nn.Module):
    """A stand-in eps_theta: 0.5 Z_t + 0.1 t + 0.2 D (known, so the chain can be done by hand)."""

    def forward(self, z_t, t, d):
        return 0.5 * z_t + 0.1 * t + 0.2 * d


def test_four_step_reverse_chain_matches_a_hand_computation():
    model = SemanticFineTuning(**TINY).eval()
    model.denoiser = _AffineNoise()
    decoded = torch.rand(2, 3, 16, 16) * 2 - 1
    z_T = torch.randn(2, model.prior_dim)
    with torch.no_grad():
        d = model.cpen_s2(decoded)
        got = model.estimate_prior(decoded, z_T)
    # By hand, in float64 per entry: beta = 0.1, 0.39667, 0.69333, 0.99; alpha = 1 - beta; abar = cumprod.
    betas = [0.1, 0.1 + 0.89 / 3, 0.1 + 2 * 0.89 / 3, 0.99]
    alphas = [1 - b for b in betas]
    abars = [alphas[0], alphas[0] * alphas[1], alphas[0] * alphas[1] * alphas[2], alphas[0] * alphas[1] * alphas[2] * alphas[3]]
    z, dd = z_T.double(), d.double()
    for t in (4, 3, 2, 1):
        eps = 0.5 * z + 0.1 * t + 0.2 * dd
        z = (z - (1 - alphas[t - 1]) / (1 - abars[t - 1]) ** 0.5 * eps) / alphas[t - 1] ** 0.5
    assert torch.allclose(got.double(), z, rtol=1e-5, atol=1e-5)
    assert model.alpha_bars[-1] == pytest.approx(abars[-1])
    # one step of eq. (13) by itself
    assert torch.allclose(reverse_step(torch.ones(3), torch.zeros(3), 0.25, 0.5), torch.full((3,), 2.0))


def test_shapes_modulation_and_bad_sizes():
    torch.manual_seed(0)
    model = SemanticFineTuning(**TINY).eval()
    x = torch.rand(3, 3, 16, 16) * 2 - 1
    z = torch.randn(3, model.prior_dim)
    with torch.no_grad():
        assert model.prior(x, x).shape == (3, 16)
        out = model(x, z)
    assert out.shape == x.shape and out.abs().max() <= 1
    attn = DMTA(8, 2, 16)
    h = torch.randn(2, 8, 4, 4)
    # The prior modulates: a different Z changes the attention's output.
    assert not torch.allclose(attn(h, torch.zeros(2, 16)), attn(h, torch.ones(2, 16)))
    with pytest.raises(ValueError, match="multiples of 4"):
        model(torch.zeros(1, 3, 18, 18), torch.zeros(1, 16))
    with pytest.raises(ValueError, match="not divisible by 3 heads"):
        DMTA(8, 3, 16)


@pytest.mark.parametrize("stage", [1, 2])
def test_a_training_step_lowers_each_stage_loss(stage):
    from sims.train.sft import sft_losses, stage_parameters

    torch.manual_seed(1)
    model = SemanticFineTuning(**TINY)
    x = torch.rand(8, 3, 16, 16) * 2 - 1
    decoded = (x + 0.3 * torch.randn_like(x)).clamp(-1, 1)
    opt = torch.optim.Adam(stage_parameters(model, stage), lr=1e-3)

    def loss_now():
        g = torch.Generator().manual_seed(5)  # the same Z_T noise each time
        return sft_losses(model, decoded, x, stage, g)[0]

    before = loss_now().item()
    for _ in range(25):
        loss = loss_now()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss_now().item() < 0.95 * before  # it starts as the identity (stage 1), so the drop is modest


@pytest.mark.parametrize("name", ["sft-awgn-1_6", "sft-rayleigh-1_6"])
def test_shipped_refiners_load_by_name(name):
    model = load_pretrained(name)
    assert isinstance(model, SemanticFineTuning) and not model.training
    x = torch.linspace(-0.5, 0.5, 32).expand(1, 3, 32, 32) + 0.1 * torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = model(x, torch.zeros(1, model.prior_dim))
    assert torch.isfinite(out).all() and 0 < (out - x).abs().mean() < 0.1  # trained: no longer the identity
