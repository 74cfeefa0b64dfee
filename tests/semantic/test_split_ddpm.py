"""M-GSC's split sampler (seed 003, Section III-B2): the ends, the split, and the channel as diffusion noise."""

import pytest
import torch

from semantic.receivers.sdm import SemanticUNet
from semantic.receivers.split_ddpm import (
    box_condition,
    ddpm_scheduler,
    edge_step_count,
    resume_index,
    split_sample,
)


def tiny_model(seed: int) -> SemanticUNet:
    torch.manual_seed(seed)
    return SemanticUNet(4, (8, 8), concat_condition=True).eval()


@pytest.fixture(scope="module")
def models():
    return tiny_model(0), tiny_model(1)


def condition(batch: int = 2, size: int = 8) -> torch.Tensor:
    codes = [torch.tensor([[0, 0, 15, 15]]), torch.zeros(0, 4, dtype=torch.long)][:batch]
    reference = torch.rand(3, size, size, generator=torch.Generator().manual_seed(3)) * 2 - 1
    return box_condition(codes, reference)


@torch.no_grad()
def plain_ddpm(model, cond, seed, steps):
    """diffusers' DDPM loop, written out: what a model samples alone."""
    g = torch.Generator().manual_seed(seed)
    scheduler = ddpm_scheduler()
    scheduler.set_timesteps(steps)
    x = torch.randn((cond.shape[0], 3, *cond.shape[-2:]), generator=g)
    for t in scheduler.timesteps:
        x = scheduler.step(model(x, t, cond), t, x, generator=g).prev_sample
    return x.clamp(-1, 1)


def test_box_condition_has_the_mask_and_the_reference():
    cond = condition()
    assert cond.shape == (2, 4, 8, 8)
    assert cond[0, 0].sum() == 16 * 4 / 4 and cond[0, 0, :4, :4].all()  # cells 0..15 of 32 = left-top half
    assert cond[1, 0].sum() == 0
    torch.testing.assert_close(cond[0, 1:], cond[1, 1:])


def test_the_ends_of_the_split_are_each_model_alone(models):
    edge, local = models
    cond = condition()
    alone_local, alone_edge = plain_ddpm(local, cond, 7, 10), plain_ddpm(edge, cond, 7, 10)
    s0 = split_sample(edge, local, cond, torch.Generator().manual_seed(7), 0, 10)
    s1000 = split_sample(edge, local, cond, torch.Generator().manual_seed(7), 1000, 10, link=lambda x: (x, torch.zeros(len(x))))
    torch.testing.assert_close(s0.images, alone_local)
    torch.testing.assert_close(s1000.images, alone_edge)
    assert (s0.edge_steps, s0.sent) == (0, None) and s0.user_steps.tolist() == [10, 10]
    assert s1000.edge_steps == 10 and s1000.user_steps.tolist() == [0, 0]
    assert not torch.allclose(alone_local, alone_edge)


def test_a_split_runs_s_steps_at_the_edge(models):
    edge, local = models
    scheduler = ddpm_scheduler()
    scheduler.set_timesteps(100)
    assert edge_step_count(scheduler.timesteps, 350) == 35 and edge_step_count(scheduler.timesteps, 650) == 65
    scheduler.set_timesteps(1000)
    assert edge_step_count(scheduler.timesteps, 650) == 650
    with pytest.raises(ValueError, match="offload_steps"):
        edge_step_count(scheduler.timesteps, 1001)
    sent = []
    out = split_sample(edge, local, condition(), torch.Generator().manual_seed(0), 350, 20,
                       link=lambda x: (sent.append(x.clone()) or x, torch.zeros(len(x))))  # fmt: skip
    assert out.edge_steps == 7 and out.user_steps.tolist() == [13, 13]
    torch.testing.assert_close(sent[0], out.sent)


def test_per_user_models_route_each_image(models):
    edge, local = models
    cond = condition()
    both = split_sample(edge, [local, edge], cond, torch.Generator().manual_seed(5), 0, 10, owner=torch.tensor([1, 1]))
    torch.testing.assert_close(both.images, plain_ddpm(edge, cond, 5, 10))


def test_the_rescaled_received_sample_has_a_later_steps_marginal():
    """y = x_t + n, n ~ N(0, s2): y / sqrt(1 + s2) = sqrt(a') x0 + sqrt(1 - a') e with a' = a_t / (1 + s2)."""
    g = torch.Generator().manual_seed(0)
    scheduler = ddpm_scheduler()
    a = scheduler.alphas_cumprod
    x0 = torch.rand(200_000, generator=g) * 2 - 1
    for t, s2 in ((350, 0.1), (600, 1.0), (100, 3.16)):
        x_t = a[t].sqrt() * x0 + (1 - a[t]).sqrt() * torch.randn(x0.shape, generator=g)
        y = (x_t + s2**0.5 * torch.randn(x0.shape, generator=g)) / (1 + s2) ** 0.5
        a_new = a[t] / (1 + s2)
        residual = y - a_new.sqrt() * x0
        assert residual.mean().abs() < 0.01
        assert residual.var() == pytest.approx(float(1 - a_new), rel=0.01)
        # and the scheduled step it resumes at is the one with the nearest alpha-bar
        timesteps = torch.arange(999, -1, -1)
        k = int(resume_index(a, timesteps, 999 - t, torch.tensor([s2]))[0])
        assert abs(float(a[timesteps[k]] - a_new)) == pytest.approx(float((a - a_new).abs().min()))
        assert timesteps[k] > t  # a noisier step
        assert int(resume_index(a, timesteps, 999 - t, torch.tensor([0.0]))[0]) == 999 - t


def test_channel_aware_resumes_later_and_only_then(models):
    edge, local = models
    cond = condition()
    noisy = lambda x: (x + 0.5 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1)), torch.full((len(x),), 0.25))  # noqa: E731
    aware = split_sample(edge, local, cond, torch.Generator().manual_seed(0), 650, 40, link=noisy, channel_aware=True)
    naive = split_sample(edge, local, cond, torch.Generator().manual_seed(0), 650, 40, link=noisy, channel_aware=False)
    assert naive.user_steps.tolist() == [14, 14]
    assert (aware.user_steps > 14).all()  # the channel's noise is undone as diffusion noise: more steps
    clean = split_sample(edge, local, cond, torch.Generator().manual_seed(0), 650, 40,
                         link=lambda x: (x, torch.zeros(len(x))), channel_aware=True)  # fmt: skip
    assert clean.user_steps.tolist() == [14, 14]
