"""DeepJSCC: power constraint, shapes, high-SNR behaviour, training, storage."""

from fractions import Fraction

import pytest
import torch

from semantic.jscc import (
    DeepJSCC,
    channels_for_ratio,
    jscc_name,
    load_jscc,
    power_normalize,
)
from semantic.pretrained import load_pretrained, save_model, training_info


@pytest.mark.parametrize("ratio,channels", [(Fraction(1, 6), 16), (Fraction(1, 12), 8), (Fraction(1, 24), 4), (Fraction(1, 3), 32)])
@pytest.mark.parametrize("size", [32, 64])
def test_shapes_and_the_power_constraint(ratio, channels, size):
    assert channels_for_ratio(ratio) == channels
    model = DeepJSCC(channels)
    x = torch.rand(5, 3, size, size, generator=torch.Generator().manual_seed(0)) * 2 - 1
    z = model.encode(x)
    k = model.num_symbols(size, size)
    assert z.shape == (5, k) and z.dtype == torch.complex64
    assert Fraction(k, 3 * size * size) == ratio
    torch.testing.assert_close(z.abs().square().mean(-1), torch.ones(5), rtol=1e-6, atol=1e-6)
    out = model.decode(z, size, size)
    assert out.shape == x.shape and out.min() >= -1 and out.max() <= 1


def test_power_normalize_is_exact_for_any_input():
    z = torch.randn(7, 33, dtype=torch.complex64) * torch.logspace(-3, 3, 7)[:, None]
    torch.testing.assert_close(power_normalize(z).abs().square().mean(-1), torch.ones(7), rtol=1e-6, atol=1e-6)


def test_bad_ratios_and_sizes():
    with pytest.raises(ValueError, match="c/96"):
        channels_for_ratio(0.1)
    with pytest.raises(ValueError, match="divisible by 4"):
        DeepJSCC(8).num_symbols(30, 32)


def test_high_snr_decoding_approaches_the_noiseless_reconstruction():
    model = DeepJSCC(16).eval()
    x = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with torch.no_grad():
        z = model.encode(x)
        clean = model.decode(z, 32, 32)
        errors = []
        for snr_db in (0, 20, 40, 60):
            noise = torch.randn(z.shape, dtype=torch.complex64, generator=torch.Generator().manual_seed(2))
            noisy = model.decode(z + noise * 10 ** (-snr_db / 20), 32, 32)
            errors.append((noisy - clean).abs().max().item())
    assert errors == sorted(errors, reverse=True) and errors[-1] < 1e-3


def test_a_few_training_steps_reduce_the_loss_on_a_tiny_batch():
    torch.manual_seed(0)
    model = DeepJSCC(16)
    x = torch.rand(8, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    x = torch.nn.functional.avg_pool2d(x, 5, 1, 2) * 2 - 1  # images with some structure
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(30):
        z = model.encode(x)
        z = z + 0.1 * torch.randn(z.shape, dtype=torch.complex64, generator=torch.Generator().manual_seed(4))
        loss = torch.nn.functional.mse_loss(model.decode(z, 32, 32), x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[1] < losses[0] and losses[-1] < 0.5 * losses[0]


def test_save_load_round_trip(tmp_path):
    model = DeepJSCC(8)
    save_model(model, tmp_path / "m", {"variant": "awgn"})
    loaded = load_jscc(str(tmp_path / "m"))
    assert loaded.config.channels == 8 and loaded.config.pilot_symbols == 0
    assert training_info(str(tmp_path / "m")) == {"variant": "awgn"}
    assert load_pretrained(str(tmp_path / "m")).__class__ is DeepJSCC  # the class comes from config.json
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded.decode(loaded.encode(x), 32, 32), model.eval().decode(model.encode(x), 32, 32))
    with pytest.raises(FileNotFoundError, match="no such model folder"):
        load_jscc(str(tmp_path / "nothing"))


@pytest.mark.parametrize("variant", ["awgn", "rayleigh", "ofdm"])
@pytest.mark.parametrize("ratio", [Fraction(1, 6), Fraction(1, 12)])
def test_shipped_models_load_by_name(variant, ratio):
    model = load_jscc(jscc_name(variant, ratio))
    info = training_info(jscc_name(variant, ratio))
    assert model.ratio == ratio and info["variant"] == variant
    assert model.config.pilot_symbols == info["pilot_symbols"] == (1 if variant == "ofdm" else 0)
    assert info["losses"][-1][1] < info["losses"][0][1]
