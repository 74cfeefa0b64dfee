"""Deep joint source-channel coding (DeepJSCC; Bourtsoulatze, Kurka, Gunduz, IEEE TCCN 2019).

Encoder (Fig. 2 of the paper): five 5x5 convolutions (16, 32, 32, 32, c filters,
the first two with stride 2), each followed by a PReLU, then average power
normalisation; the c x H/4 x W/4 real outputs are paired into
k = c H W / 32 complex channel symbols. Decoder: the mirror image with
transposed convolutions and a final sigmoid. The bandwidth ratio is
k / n with n = 3 H W real source values: c = 16 gives 1/6, c = 8 gives 1/12
(for any image size divisible by 4).

Images are float (B, 3, H, W) in [-1, 1]; channel symbols complex64 (B, k)
with mean |z|^2 = 1 exactly for every image.
"""

from __future__ import annotations

import json
from fractions import Fraction
from importlib import resources
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

__all__ = ["DeepJSCC", "channels_for_ratio", "jscc_name", "load_jscc", "power_normalize", "save_jscc"]

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


class DeepJSCC(nn.Module):
    """DeepJSCC autoencoder; ``channels`` = c sets the bandwidth ratio c / 96."""

    def __init__(self, channels: int = 16):
        super().__init__()
        self.channels = channels
        self.encoder = nn.Sequential(
            _conv(3, 16, 2), _conv(16, 32, 2), _conv(32, 32, 1), _conv(32, 32, 1), _conv(32, channels, 1)
        )
        self.decoder = nn.Sequential(
            _deconv(channels, 32, 1), nn.PReLU(32), _deconv(32, 32, 1), nn.PReLU(32),
            _deconv(32, 32, 1), nn.PReLU(32), _deconv(32, 16, 2), nn.PReLU(16),
            _deconv(16, 3, 2), nn.Sigmoid(),
        )  # fmt: skip

    @property
    def ratio(self) -> Fraction:
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


def save_jscc(model: DeepJSCC, folder: str | Path, info: dict | None = None) -> Path:
    """Write ``model.safetensors`` and ``config.json`` (channels and ``info``)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, folder / "model.safetensors")
    (folder / "config.json").write_text(json.dumps({"channels": model.channels, **(info or {})}, indent=2))
    return folder


def load_jscc(name_or_path: str, device: str = "cpu") -> tuple[DeepJSCC, dict]:
    """(model in eval mode, its config) from a shipped name or a folder written by :func:`save_jscc`."""
    shipped = Path(str(resources.files("semantic") / "weights" / name_or_path))
    folder = shipped if (shipped / "config.json").exists() else Path(name_or_path).expanduser()
    if not (folder / "config.json").exists():
        raise FileNotFoundError(f"{name_or_path}: no DeepJSCC model (not shipped, no config.json in that folder)")
    config = json.loads((folder / "config.json").read_text())
    model = DeepJSCC(config["channels"])
    model.load_state_dict(load_file(folder / "model.safetensors"))
    return model.to(device).eval(), config
