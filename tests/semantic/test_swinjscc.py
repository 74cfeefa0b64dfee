"""Swin-JSCC (GSC's codec, seed 002 Section III-A): windows, the shifted mask, shapes, power, training, weights."""

import pytest
import torch

from semantic.jscc import load_jscc
from semantic.swinjscc import (
    SwinBlock,
    SwinJSCC,
    shifted_window_mask,
    window_partition,
    window_reverse,
)


def test_window_partition_round_trip_and_order():
    x = torch.arange(2 * 4 * 6 * 3, dtype=torch.float32).reshape(2, 4, 6, 3)
    w = window_partition(x, 2)
    assert w.shape == (2 * 2 * 3, 4, 3)
    assert torch.equal(w[1, :, 0], x[0, 0:2, 2:4, 0].reshape(-1))  # second window of the first image, row-major
    assert torch.equal(window_reverse(w, 2, 4, 6), x)


def test_shifted_window_mask_blocks_exactly_the_wrapped_tokens():
    """4 x 4 tokens, window 2, shift 1: after the cyclic shift, only the top-left window holds tokens
    that were neighbours; the others mix the wrapped row / column with the rest."""
    mask = shifted_window_mask(4, 4, 2, 1)
    assert mask.shape == (4, 4, 4)
    assert not mask[0].any()  # window (0, 0): rows 1-2, cols 1-2 of the original grid
    # Window (0, 1) holds original columns 3 and 0 (wrapped): tokens 0, 2 (col 3) vs 1, 3 (col 0).
    expected = torch.tensor([[0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0]], dtype=torch.bool)
    assert torch.equal(mask[1], expected)
    # Window (1, 0) holds original rows 3 and 0: tokens 0, 1 (row 3) vs 2, 3 (row 0).
    rows = torch.tensor([[0, 0, 1, 1], [0, 0, 1, 1], [1, 1, 0, 0], [1, 1, 0, 0]], dtype=torch.bool)
    assert torch.equal(mask[2], rows)
    assert mask[3].sum() == 12  # four regions, one token each: only self-attention allowed
    assert torch.equal(mask[3], ~torch.eye(4, dtype=torch.bool))


def test_a_shifted_block_keeps_the_shape_and_stays_finite():
    torch.manual_seed(0)
    block = SwinBlock(8, 2, 2, shift=1)
    x = torch.randn(1, 4, 4, 8)
    y = block(x)
    assert y.shape == x.shape and torch.isfinite(y).all()


@pytest.mark.parametrize("ratio,channels", [("1/6", 16), ("1/12", 8)])
def test_symbols_shape_and_exact_power(ratio, channels):
    model = SwinJSCC(channels)
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    z = model.encode(x)
    assert z.shape == (3, model.num_symbols(32, 32)) and str(model.ratio) == ratio
    assert model.num_symbols(32, 32) * 2 == 2 * 3 * 32 * 32 * channels // 96
    assert torch.allclose(z.abs().square().mean(dim=1), torch.ones(3), atol=1e-6)  # 1/k ||f||^2 = P = 1
    assert model.decode(z, 32, 32).shape == x.shape
    with pytest.raises(ValueError, match="divisible by 16"):
        model.encode(torch.zeros(1, 3, 24, 24))


def test_a_training_step_lowers_the_loss():
    torch.manual_seed(0)
    model = SwinJSCC(16)
    x = torch.rand(8, 3, 32, 32) * 2 - 1
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    first = None
    for _ in range(8):
        loss = (model(x) - x).square().mean()
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.8 * first


@pytest.mark.parametrize("name", ["swinjscc-awgn-1_6", "swinjscc-rayleigh-1_6"])
def test_shipped_weights_load_by_name_and_reconstruct(name):
    model = load_jscc(name)
    assert isinstance(model, SwinJSCC) and not model.training
    torch.manual_seed(0)
    coarse = torch.rand(4, 3, 4, 4) * 2 - 1
    x = torch.nn.functional.interpolate(coarse, size=32, mode="bilinear", align_corners=False)  # smooth images
    with torch.no_grad():
        trained, untrained = (model(x) - x).square().mean(), (SwinJSCC(16)(x) - x).square().mean()
    assert trained < 0.5 * untrained  # (0.10 and 0.13 here, against 0.40; DeepJSCC-rayleigh: 0.11)
