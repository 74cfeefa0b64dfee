"""SPADE GAN: a semantic image synthesis GAN, the comparison of Liu et al.'s Fig. 18.

After Park et al., "Semantic image synthesis with spatially-adaptive
normalization" (CVPR 2019), the multicasting paper's [47], at the SDM's scale:

- generator (:class:`SpadeGenerator`): a noise vector z ~ N(0, I) mapped to a
  coarse feature map, then SPADE residual blocks (SPADE -> LeakyReLU -> conv,
  twice, with a learned SPADE shortcut where the width changes), each followed by
  2x nearest upsampling, and a tanh image. SPADE is :class:`semantic.receivers.sdm.SPADE`
  (parameter-free GroupNorm; the paper's generator uses synchronised BatchNorm,
  which small CPU batches make noisy). Spectral norm on every convolution.
- discriminator (:class:`MultiScaleDiscriminator`): PatchGAN discriminators on the
  image concatenated with its one-hot map at ``num_scales`` resolutions (each half
  the previous), spectral norm, returning every layer's features.
- losses (``sims.train.spadegan``): hinge adversarial loss and the discriminator
  feature-matching loss (weight 10, as the paper); the paper's VGG perceptual loss
  is left out (no ImageNet weights offline).

The map can be replaced by the null (all-zero) map in training with a small
probability, so a user whose map was lost still gets an (unconditional) image, as
with the SDM. Why hand-written: no well-kept library ships a SPADE GAN without
torchvision (which does not import beside the local torch build).

Shapes: images float32 (B, 3, S, S) in [-1, 1]; one-hot maps float32 (B, C, S, S).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn
from torch.nn.utils import spectral_norm

from semantic.pretrained import register_model_class

from .sdm import SPADE

__all__ = ["MultiScaleDiscriminator", "SpadeGenerator", "SpadeResBlock", "gan_sample"]


class SpadeResBlock(nn.Module):
    """SPADE -> LeakyReLU -> conv, twice, plus a (SPADE -> conv) shortcut when the width changes."""

    def __init__(self, cin: int, cout: int, label_channels: int):
        super().__init__()
        middle = min(cin, cout)
        self.norm1, self.conv1 = SPADE(cin, label_channels), spectral_norm(nn.Conv2d(cin, middle, 3, padding=1))
        self.norm2, self.conv2 = SPADE(middle, label_channels), spectral_norm(nn.Conv2d(middle, cout, 3, padding=1))
        self.learned_skip = cin != cout
        if self.learned_skip:
            self.norm_skip = SPADE(cin, label_channels)
            self.conv_skip = spectral_norm(nn.Conv2d(cin, cout, 1, bias=False))

    def forward(self, x: torch.Tensor, label_map: torch.Tensor) -> torch.Tensor:
        """Features (B, cout, h, w) from (B, cin, h, w) and the one-hot map (any size: resized)."""
        skip = self.conv_skip(self.norm_skip(x, label_map)) if self.learned_skip else x
        h = self.conv1(F.leaky_relu(self.norm1(x, label_map), 0.2))
        h = self.conv2(F.leaky_relu(self.norm2(h, label_map), 0.2))
        return skip + h


@register_model_class
class SpadeGenerator(ModelMixin, ConfigMixin):
    """z (B, z_dim) + one-hot map (B, C, S, S) -> image (B, 3, S, S) with S = base x 2^(len(channels)).

    :param label_channels: C of the one-hot maps (classes + the void/null channel).
    :param channels: widths of the SPADE blocks, coarsest first; each block is followed by 2x upsampling.
    :param z_dim: length of the noise vector.
    :param base: side of the coarsest feature map.
    """

    @register_to_config
    def __init__(
        self, label_channels: int, channels: tuple[int, ...] = (128, 128, 64), z_dim: int = 64, base: int = 4,
        image_channels: int = 3,
    ):  # fmt: skip
        super().__init__()
        channels = tuple(channels)
        self.fc = nn.Linear(z_dim, channels[0] * base * base)
        widths = (*channels, channels[-1])
        self.blocks = nn.ModuleList(SpadeResBlock(widths[i], widths[i + 1], label_channels) for i in range(len(channels)))
        self.out = spectral_norm(nn.Conv2d(widths[-1], image_channels, 3, padding=1))

    @property
    def image_size(self) -> int:
        """Side S of the images it draws."""
        return self.config["base"] * 2 ** len(self.config["channels"])

    def forward(self, z: torch.Tensor, label_map: torch.Tensor) -> torch.Tensor:
        """Images float32 (B, 3, S, S) in [-1, 1]."""
        if label_map.shape[1] != self.config["label_channels"] or label_map.shape[-1] != self.image_size:
            raise ValueError(
                f"label_map must be (B, {self.config['label_channels']}, {self.image_size}, {self.image_size}); "
                f"got {tuple(label_map.shape)}"
            )
        base = self.config["base"]
        h = self.fc(z).view(z.shape[0], -1, base, base)
        for block in self.blocks:
            h = F.interpolate(block(h, label_map), scale_factor=2, mode="nearest")
        return torch.tanh(self.out(F.leaky_relu(h, 0.2)))


class PatchDiscriminator(nn.Module):
    """PatchGAN: 4x4 convolutions (stride 2, then 1), LeakyReLU; returns every layer's output."""

    def __init__(self, in_channels: int, width: int = 64, layers: int = 3):
        super().__init__()
        blocks, prev = [], in_channels
        for i in range(layers):
            out = width * 2 ** min(i, 3)
            stride = 2 if i < layers - 1 else 1
            blocks.append(nn.Sequential(spectral_norm(nn.Conv2d(prev, out, 4, stride, 1)), nn.LeakyReLU(0.2)))
            prev = out
        blocks.append(nn.Sequential(spectral_norm(nn.Conv2d(prev, 1, 4, 1, 1))))
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Features of every layer; the last is the patch logits (B, 1, h, w)."""
        out = []
        for block in self.blocks:
            x = block(x)
            out.append(x)
        return out


class MultiScaleDiscriminator(nn.Module):
    """``num_scales`` PatchGANs on (image, map) at full, 1/2, ... resolution (average pooling)."""

    def __init__(self, label_channels: int, image_channels: int = 3, width: int = 64, num_scales: int = 2):
        super().__init__()
        self.scales = nn.ModuleList(
            PatchDiscriminator(image_channels + label_channels, width) for _ in range(num_scales)
        )

    def forward(self, image: torch.Tensor, label_map: torch.Tensor) -> list[list[torch.Tensor]]:
        """Per scale, the features of every layer (last: logits)."""
        x = torch.cat([image, label_map], dim=1)
        out = []
        for i, disc in enumerate(self.scales):
            out.append(disc(x))
            if i < len(self.scales) - 1:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
        return out


@torch.no_grad()
def gan_sample(model: SpadeGenerator, label_map: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Images float32 (B, 3, S, S) in [-1, 1] drawn from one-hot maps (B, C, S, S), z from ``generator``."""
    z = torch.randn((label_map.shape[0], model.config["z_dim"]), generator=generator, device=label_map.device)
    return model(z, label_map).clamp(-1, 1)
