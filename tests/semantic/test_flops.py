"""FLOP counting and Table IV's generation-time model T_g = N^F / P^F (semantic.flops)."""

import pytest
import torch

from semantic.flops import (
    PAPER_MODEL_FLOPS,
    count_flops,
    generation_ms,
    model_generation_flops,
    sdm_synthesis_flops,
)
from semantic.receivers.sdm import SemanticUNet


def test_count_flops_of_a_matrix_product_by_hand():
    layer = torch.nn.Linear(8, 4, bias=False)
    assert count_flops(layer, torch.zeros(3, 8)) == 2 * 3 * 8 * 4


@pytest.mark.parametrize(
    ("model", "processor", "printed"),
    [("lightweight-diffusion", "a100", 9.2), ("lightweight-diffusion", "h100", 2.9),
     ("mobilediffusion-lite", "a18", 4.4), ("mobilediffusion-lite", "m4", 4.0)],
)  # fmt: skip
def test_table_iv_to_its_printed_digit(model, processor, printed):
    assert round(generation_ms(PAPER_MODEL_FLOPS[model], processor), 1) == printed
    assert model_generation_flops(model) == PAPER_MODEL_FLOPS[model]


def test_sdm_flops_count_steps_and_guidance():
    torch.manual_seed(0)
    model = SemanticUNet(label_channels=4, channels=(8, 8), image_channels=3)
    one = sdm_synthesis_flops(model, 8, steps=2, scale=1.0)
    assert one > 0
    assert sdm_synthesis_flops(model, 8, steps=4, scale=1.0) == 2 * one
    assert sdm_synthesis_flops(model, 8, steps=2, scale=1.5) == 2 * one  # guidance doubles the batch
    with pytest.raises(ValueError, match="processor 'tpu'"):
        generation_ms(one, "tpu")
    with pytest.raises(ValueError, match="not a Table IV model"):
        model_generation_flops("no-such-model")
