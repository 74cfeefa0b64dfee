"""Deep joint source-channel coding (DeepJSCC; Bourtsoulatze, Kurka, Gunduz, IEEE TCCN 2019).

Encoder (Fig. 2 of the paper): five 5x5 convolutions (16, 32, 32, 32, c filters,
the first two with stride 2), each followed by a PReLU, then average power
normalisation; the c x H/4 x W/4 real outputs are paired into
k = c H W / 32 complex channel symbols. Decoder: the mirror image with
transposed convolutions and a final sigmoid. The bandwidth ratio is
k / n with n = 3 H W real source values: c = 16 gives 1/6, c = 8 gives 1/12
(for any image size divisible by 4).

Images are float (B, 3, H, W) in [-1, 1]; channel symbols complex64 (B, k)
with mean |z|^2 = 1 exactly for every image. The model is a diffusers
``ModelMixin`` + ``ConfigMixin``: shipped ones load by name with
:func:`load_jscc` (:func:`semantic.pretrained.load_pretrained`).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from .pretrained import load_pretrained, register_model_class

__all__ = ["JSCC_VARIANTS", "DeepJSCC", "channels_for_ratio", "jscc_name", "load_jscc", "power_normalize"]

#: Variants gscsim ships: the channel each was trained through.
JSCC_VARIANTS = ("awgn", "rayleigh", "ofdm")


def channels_for_ratio(ratio: Fraction | float) -> int:
    """Encoder output channels c for bandwidth ratio k/n = c / 96."""
    c = Fraction(ratio).limit_denominator(1000) * 96
    if c.denominator != 1 or c < 1:
        raise ValueError(f"bandwidth ratio {ratio} is not c/96 for a whole c >= 1 (e.g. 1/6, 1/12)")
    return int(c)


def power_normalize(z: torch.Tensor) -> torch.Tensor:
    """Scale each row of complex (B, k) to mean power 1: z sqrt(k) / ||z||."""
    k = z.shape[-1]
    norm = z.abs().square().sum(-1, keepdim=True).sqrt().clamp_min(1e-12)
    return z * (k**0.5) / norm


def _conv(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 5, stride, 2), nn.PReLU(cout))


def _deconv(cin: int, cout: int, stride: int) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(cin, cout, 5, stride, 2, output_padding=stride - 1)


@register_model_class
class DeepJSCC(ModelMixin, ConfigMixin):
    """DeepJSCC autoencoder.

    :param channels: c, the encoder's output channels; sets the bandwidth ratio c / 96.
    :param pilot_symbols: pilot OFDM symbols of the link it was trained through
        (1 for DeepJSCC-OFDM: the decoder expects LS-equalised symbols).
    """

    @register_to_config
    def __init__(self, channels: int = 16, pilot_symbols: int = 0):
        super().__init__()
        self.encoder = nn.Sequential(
            _conv(3, 16, 2), _conv(16, 32, 2), _conv(32, 32, 1), _conv(32, 32, 1), _conv(32, channels, 1)
        )
        self.decoder = nn.Sequential(
            _deconv(channels, 32, 1), nn.PReLU(32), _deconv(32, 32, 1), nn.PReLU(32),
            _deconv(32, 32, 1), nn.PReLU(32), _deconv(32, 16, 2), nn.PReLU(16),
            _deconv(16, 3, 2), nn.Sigmoid(),
        )  # fmt: skip

    @property
    def channels(self) -> int:
        """c, the encoder's output channels."""
        return self.config.channels

    @property
    def ratio(self) -> Fraction:
        """Bandwidth ratio k / n = c / 96."""
        return Fraction(self.channels, 96)

    def num_symbols(self, height: int, width: int) -> int:
        """k complex channel symbols per image of height x width."""
        if height % 4 or width % 4:
            raise ValueError(f"image size {height}x{width} must be divisible by 4")
        return self.channels * (height // 4) * (width // 4) // 2

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """float (B, 3, H, W) in [-1, 1] -> complex64 (B, k), unit mean power per image."""
        feats = self.encoder(images).flatten(1)
        half = feats.shape[1] // 2
        return power_normalize(torch.complex(feats[:, :half], feats[:, half:]))

    def decode(self, symbols: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """complex (B, k) -> float (B, 3, H, W) in [-1, 1]."""
        feats = torch.cat([symbols.real, symbols.imag], dim=1).float()
        feats = feats.reshape(symbols.shape[0], self.channels, height // 4, width // 4)
        return self.decoder(feats) * 2 - 1


def jscc_name(variant: str, ratio: Fraction | float) -> str:
    """Name of a shipped model, e.g. ``deepjscc-awgn-1_6``."""
    r = Fraction(ratio).limit_denominator(1000)
    return f"deepjscc-{variant}-{r.numerator}_{r.denominator}"


def load_jscc(name_or_path: str | Path, device: str = "cpu") -> DeepJSCC:
    """A DeepJSCC in eval mode from a shipped name (:func:`jscc_name`), a folder or a hub id."""
    return load_pretrained(name_or_path, DeepJSCC, device)
