"""The SPADE GAN (semantic.receivers.spadegan) and `gscsim train spadegan`."""

import json

import pytest
import torch

from semantic.pretrained import load_pretrained
from semantic.receivers.spadegan import (
    MultiScaleDiscriminator,
    SpadeGenerator,
    gan_sample,
)
from sims.cli import main
from sims.train.spadegan import generator_loss, hinge_discriminator_loss


def test_generator_and_discriminator_shapes_and_reproducible_draws():
    torch.manual_seed(0)
    gen = SpadeGenerator(label_channels=5, channels=(16, 8, 8), z_dim=8, base=4).eval()
    maps = torch.nn.functional.one_hot(torch.randint(0, 5, (3, 32, 32)), 5).permute(0, 3, 1, 2).float()
    a = gan_sample(gen, maps, torch.Generator().manual_seed(1))
    assert a.shape == (3, 3, 32, 32) and a.abs().max() <= 1
    assert torch.equal(a, gan_sample(gen, maps, torch.Generator().manual_seed(1)))
    assert not torch.equal(a, gan_sample(gen, maps, torch.Generator().manual_seed(2)))
    with pytest.raises(ValueError, match="label_map must be"):
        gen(torch.zeros(1, 8), maps[:1, :4])
    scales = MultiScaleDiscriminator(label_channels=5, width=8, num_scales=2)(a, maps)
    assert len(scales) == 2 and scales[0][-1].shape[:2] == (3, 1) and scales[1][-1].shape[-1] < scales[0][-1].shape[-1]


def test_hinge_and_feature_matching_losses_by_hand():
    real = [[torch.full((1, 2), 3.0), torch.tensor([[2.0]])]]  # features, logits
    fake = [[torch.full((1, 2), 1.0), torch.tensor([[-0.5]])]]
    # D: relu(1 - 2) + relu(1 - 0.5) = 0.5; G: -(-0.5) + 10 * |1 - 3| = 20.5
    assert float(hinge_discriminator_loss(real, fake)) == pytest.approx(0.5)
    assert float(generator_loss(fake, real, 10.0)) == pytest.approx(20.5)


def test_train_spadegan_from_the_command_line_and_resume(tmp_path, fake_camvid):
    out = tmp_path / "gan"
    argv = ["train", "spadegan", "--data-dir", str(fake_camvid), "--output", str(out), "--image-size", "32",
            "--channels", "8,8,8", "--z-dim", "8", "--disc-width", "8", "--batch-size", "4", "--log-every", "2",
            "--checkpoint-every", "3", "--device", "cpu", "--quiet"]  # fmt: skip
    assert main([*argv, "--steps", "4"]) == 0
    first = json.loads((out / "training.json").read_text())["losses_d_g"]
    assert main([*argv, "--steps", "6", "--resume"]) == 0
    info = json.loads((out / "training.json").read_text())
    assert info["losses_d_g"][: len(first)] == first and info["losses_d_g"][-1][0] == 6
    model = load_pretrained(str(out))
    assert type(model) is SpadeGenerator and model.image_size == 32 and (out / "samples.png").exists()
