"""The semantic diffusion model: SPADE conditioning, classifier-free guidance, save/load."""

import pytest
import torch

from semantic.intents import one_hot
from semantic.pretrained import load_pretrained, save_model, training_info
from semantic.receivers.sdm import (
    SemanticUNet,
    guided_eps,
    guided_sample,
    majority_downsample,
    synthesize,
)


def tiny(seed=0):
    torch.manual_seed(seed)
    model = SemanticUNet(label_channels=4, channels=(8, 16)).eval()
    # Random SPADE heads: the default init already makes gamma/beta depend on the map.
    return model


def maps(seed, B=2, S=8):
    lab = torch.randint(0, 4, (B, S, S), generator=torch.Generator().manual_seed(seed))
    return one_hot(lab, 3)


@torch.no_grad()
def test_spade_conditioning_changes_the_output():
    model = tiny()
    x, t = torch.randn(2, 3, 8, 8), torch.tensor([10, 500])
    a, b = model(x, t, maps(1)), model(x, t, maps(2))
    assert a.shape == (2, 3, 8, 8)
    assert (a - b).abs().max() > 1e-3
    assert torch.equal(model(x, t, maps(1)), a)  # deterministic


@torch.no_grad()
def test_guidance_scale_one_is_conditional_and_guidance_extrapolates():
    model = tiny()
    x, t, m = torch.randn(2, 3, 8, 8), torch.tensor([100, 100]), maps(3)
    cond, uncond = model(x, t, m), model(x, t, torch.zeros_like(m))
    assert torch.equal(guided_eps(model, x, t, m, 1.0), cond)
    torch.testing.assert_close(guided_eps(model, x, t, m, 3.0), uncond + 3.0 * (cond - uncond), rtol=1e-5, atol=1e-5)
    s1 = guided_sample(model, m, torch.Generator().manual_seed(0), scale=1.0, steps=4)
    s1b = guided_sample(model, m, torch.Generator().manual_seed(0), scale=1.0, steps=4)
    assert torch.equal(s1, s1b) and s1.abs().max() <= 1


def test_save_load_round_trip(tmp_path):
    model = tiny(1)
    save_model(model, tmp_path / "m", {"note": "test"})
    back = load_pretrained(tmp_path / "m", SemanticUNet)
    assert training_info(tmp_path / "m") == {"note": "test"}
    x, t, m = torch.randn(1, 3, 8, 8), torch.tensor([3]), maps(4, B=1)
    assert all(torch.equal(a, b) for a, b in zip(back.state_dict().values(), model.state_dict().values()))
    with torch.no_grad():  # same weights; diffusers' loading path may reorder float sums in the last bit
        torch.testing.assert_close(back(x, t, m), model.eval()(x, t, m), rtol=0, atol=1e-6)
    with pytest.raises(FileNotFoundError, match="no-such-model: no such model folder"):
        load_pretrained("no-such-model", SemanticUNet)


def test_wrong_map_shape_is_refused():
    with pytest.raises(ValueError, match="label_map"):
        tiny()(torch.randn(1, 3, 8, 8), torch.tensor([1]), torch.zeros(1, 5, 8, 8))


def test_one_training_step_reduces_the_loss_on_a_fixed_batch():
    model = tiny(2).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(0)
    x, noise, m = torch.rand(4, 3, 8, 8, generator=g) * 2 - 1, torch.randn(4, 3, 8, 8, generator=g), maps(5, B=4)
    t = torch.tensor([50, 200, 400, 800])
    losses = []
    for _ in range(5):
        loss = torch.nn.functional.mse_loss(model(x + 0.5 * noise, t, m), noise)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_shipped_sdm_loads_by_name_and_samples():

    model = load_pretrained("camvid-sdm-32", SemanticUNet)
    assert model.config["label_channels"] == 12
    info = training_info("camvid-sdm-32")
    assert info["final_loss"] < 0.06  # a fresh model starts near 1 (unit-variance noise)
    lab = torch.randint(0, 12, (2, 32, 32), generator=torch.Generator().manual_seed(0))
    out = guided_sample(model, one_hot(lab, 11), torch.Generator().manual_seed(1), scale=1.5, steps=3)
    assert out.shape == (2, 3, 32, 32) and torch.isfinite(out).all()


def test_majority_downsample_takes_the_most_frequent_id():
    lab = torch.tensor([[[1, 1, 2, 2], [1, 3, 2, 2], [0, 0, 3, 3], [0, 5, 3, 1]]])
    assert majority_downsample(lab, 6, (2, 2)).tolist() == [[[1, 2], [0, 3]]]


@torch.no_grad()
def test_synthesize_at_any_size_and_from_the_null_map():
    torch.manual_seed(0)
    model = SemanticUNet(label_channels=12, channels=(8, 8)).eval()
    lab = torch.randint(0, 12, (2, 32, 48), generator=torch.Generator().manual_seed(0))
    out = synthesize(model, lab, 11, torch.Generator().manual_seed(1), (32, 48), model_size=16, steps=2)
    assert out.shape == (2, 3, 32, 48) and out.abs().max() <= 1
    again = synthesize(model, lab, 11, torch.Generator().manual_seed(1), (32, 48), model_size=16, steps=2)
    assert torch.equal(out, again)
    null = synthesize(model, None, 11, torch.Generator().manual_seed(1), (32, 32), model_size=16, batch=3, steps=2)
    assert null.shape == (3, 3, 32, 32)


def test_training_continues_from_a_saved_model(tmp_path, fake_camvid):
    from sims.train.sdm import SdmTrainConfig, train_sdm

    first = train_sdm(SdmTrainConfig(data_dir=str(fake_camvid), output=str(tmp_path / "a"), image_size=16,
                                     channels=(8, 8), steps=2, batch_size=2, scales=(1.0,), device="cpu"), quiet=True)
    second = train_sdm(SdmTrainConfig(data_dir=str(fake_camvid), output=str(tmp_path / "b"), image_size=16,
                                      steps=1, batch_size=2, scales=(1.0,), device="cpu", init=str(first)), quiet=True)
    assert load_pretrained(second, SemanticUNet).config["channels"] == [8, 8]  # the saved widths win over the default
    save_model(SemanticUNet(label_channels=4, channels=(8, 8)), tmp_path / "other")
    with pytest.raises(ValueError, match="label channels"):
        train_sdm(SdmTrainConfig(data_dir=str(fake_camvid), output=str(tmp_path / "c"), image_size=16, steps=1,
                                 device="cpu", init=str(tmp_path / "other")), quiet=True)
