"""Semantic diffusion model (SDM): a U-Net denoiser whose decoder is modulated by the label map.

After Wang et al., "Semantic image synthesis via diffusion models" (2022): the
encoder sees only the noisy image; every decoder residual block normalises its
features with SPADE (Park et al. 2019), i.e. GroupNorm without affine
parameters followed by a per-pixel scale and shift predicted from the one-hot
label map resized to the block's resolution. Classifier-free guidance
(Ho & Salimans 2022): trained with the map replaced by the null (all-zero) map
with probability ``p_uncond``; sampled with

    eps = eps(x_t, null) + s * (eps(x_t, map) - eps(x_t, null))

so s = 1 is plain conditional sampling and s > 1 follows the map harder.
Sampling uses diffusers' DDIM scheduler.

Why hand-written: diffusers has no SPADE-conditioned U-Net; the timestep
embedding comes from diffusers (``Timesteps``, ``TimestepEmbedding``), and the
model is a diffusers ``ModelMixin`` + ``ConfigMixin`` (``save_pretrained`` /
``from_pretrained``; load a shipped or saved one with
:func:`semantic.pretrained.load_pretrained`).

Shapes: images float32 (B, 3, S, S) in [-1, 1]; label maps one-hot float32
(B, C, S, S) with C = classes + 1 (:func:`semantic.intents.one_hot`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, DDIMScheduler, ModelMixin
from diffusers.configuration_utils import register_to_config
from diffusers.models.embeddings import TimestepEmbedding, Timesteps
from torch import nn

from semantic.intents import one_hot
from semantic.pretrained import register_model_class

__all__ = ["SPADE", "SemanticUNet", "guided_eps", "guided_sample", "majority_downsample", "synthesize"]


class SPADE(nn.Module):
    """x -> GroupNorm(x) * (1 + gamma(map)) + beta(map), map resized (nearest) to x."""

    def __init__(self, channels: int, label_channels: int, hidden: int = 32, groups: int = 8):
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels, affine=False)
        self.shared = nn.Sequential(nn.Conv2d(label_channels, hidden, 3, padding=1), nn.SiLU())
        self.gamma = nn.Conv2d(hidden, channels, 3, padding=1)
        self.beta = nn.Conv2d(hidden, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, label_map: torch.Tensor) -> torch.Tensor:
        """SPADE-normalised features, the same shape as ``x``."""
        a = self.shared(F.interpolate(label_map, size=x.shape[-2:], mode="nearest"))
        return self.norm(x) * (1 + self.gamma(a)) + self.beta(a)


class ResBlock(nn.Module):
    """Residual block with a timestep shift; SPADE norms when ``label_channels`` is set (decoder)."""

    def __init__(self, cin: int, cout: int, temb: int, label_channels: int | None = None, groups: int = 8):
        super().__init__()
        self.spade = label_channels is not None
        if self.spade:
            self.norm1 = SPADE(cin, label_channels, groups=groups)
            self.norm2 = SPADE(cout, label_channels, groups=groups)
        else:
            self.norm1 = nn.GroupNorm(groups, cin)
            self.norm2 = nn.GroupNorm(groups, cout)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.time = nn.Linear(temb, cout)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def _norm(self, norm, x, label_map):
        return norm(x, label_map) if self.spade else norm(x)

    def forward(self, x, temb, label_map=None):
        """SPADE-normalised features, the same shape as ``x``."""
        h = self.conv1(F.silu(self._norm(self.norm1, x, label_map)))
        h = h + self.time(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self._norm(self.norm2, h, label_map)))
        return h + self.skip(x)


@register_model_class
class SemanticUNet(ModelMixin, ConfigMixin):
    """Encoder (plain residual blocks) -> middle and decoder (SPADE residual blocks).

    :param label_channels: C of the one-hot maps (classes + the void/null channel).
    :param channels: widths per resolution (each level after the first halves the size).
    :param image_channels: channels of the images (3).
    :param concat_condition: also concatenate the condition to x_t at the input, so the encoder
        sees it too (as SR3 / Palette condition on an image); M-GSC's box models use it for their
        reference image. False: SPADE only (the SDM of Wang et al.).
    """

    @register_to_config
    def __init__(
        self, label_channels: int, channels: tuple[int, ...] = (32, 64, 64), image_channels: int = 3,
        concat_condition: bool = False,
    ):  # fmt: skip
        super().__init__()
        channels = tuple(channels)
        temb = channels[0] * 4
        self.time_proj = Timesteps(channels[0], flip_sin_to_cos=True, downscale_freq_shift=0)
        self.time_embed = TimestepEmbedding(channels[0], temb)
        stem_in = image_channels + (label_channels if concat_condition else 0)
        self.stem = nn.Conv2d(stem_in, channels[0], 3, padding=1)
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        prev = channels[0]
        for i, c in enumerate(channels):
            self.down.append(ResBlock(prev, c, temb))
            self.downsample.append(nn.Conv2d(c, c, 3, stride=2, padding=1) if i < len(channels) - 1 else nn.Identity())
            prev = c
        self.mid = ResBlock(prev, prev, temb, label_channels)
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for i, c in reversed(list(enumerate(channels))):
            self.up.append(ResBlock(prev + c, c, temb, label_channels))
            self.upsample.append(nn.Upsample(scale_factor=2, mode="nearest") if i > 0 else nn.Identity())
            prev = c
        self.out_norm = SPADE(prev, label_channels)
        self.out = nn.Conv2d(prev, image_channels, 3, padding=1)

    def forward(self, x: torch.Tensor, t: torch.Tensor, label_map: torch.Tensor) -> torch.Tensor:
        """Predicted noise (B, 3, S, S) from x_t (B, 3, S, S), timesteps (B,) and the one-hot map."""
        if label_map.shape[1] != self.config["label_channels"] or label_map.shape[-2:] != x.shape[-2:]:
            raise ValueError(
                f"label_map must be (B, {self.config['label_channels']}, {x.shape[-2]}, {x.shape[-1]}); "
                f"got {tuple(label_map.shape)}"
            )
        t = t.expand(x.shape[0]) if t.dim() == 0 else t
        temb = self.time_embed(self.time_proj(t).to(x.dtype))
        h = self.stem(torch.cat([x, label_map], dim=1) if self.config.get("concat_condition") else x)
        skips = []
        for block, down in zip(self.down, self.downsample):
            h = block(h, temb)
            skips.append(h)
            h = down(h)
        h = self.mid(h, temb, label_map)
        for block, up in zip(self.up, self.upsample):
            h = block(torch.cat([h, skips.pop()], dim=1), temb, label_map)
            h = up(h)
        return self.out(F.silu(self.out_norm(h, label_map)))


def guided_eps(model: SemanticUNet, x: torch.Tensor, t: torch.Tensor, label_map: torch.Tensor, scale: float):
    """Classifier-free guided noise estimate float32 (B, 3, S, S); s = 1 evaluates the conditional model only.

    :param x: float32 (B, 3, S, S) noisy images x_t; ``t``: timesteps, scalar or (B,);
        ``label_map``: one-hot float32 (B, C, S, S).
    """
    if scale == 1.0:
        return model(x, t, label_map)
    tt = torch.cat([t, t]) if t.dim() == 1 else t
    both = model(torch.cat([x, x]), tt, torch.cat([torch.zeros_like(label_map), label_map]))
    uncond, cond = both.chunk(2)
    return uncond + scale * (cond - uncond)


@torch.no_grad()
def guided_sample(
    model: SemanticUNet,
    label_map: torch.Tensor,
    generator: torch.Generator,
    scale: float = 1.5,
    steps: int = 50,
    num_train_timesteps: int = 1000,
    eta: float = 0.0,
) -> torch.Tensor:
    """Images (B, 3, S, S) in [-1, 1] synthesised from one-hot maps (B, C, S, S) by guided DDIM."""
    scheduler = DDIMScheduler(num_train_timesteps=num_train_timesteps, beta_schedule="linear", clip_sample=True)
    scheduler.set_timesteps(steps)
    B, _, H, W = label_map.shape
    x = torch.randn((B, model.config["image_channels"], H, W), generator=generator, device=label_map.device)
    for t in scheduler.timesteps:
        eps = guided_eps(model, x, t.to(label_map.device), label_map, scale)
        x = scheduler.step(eps, t, x, eta=eta, generator=generator).prev_sample
    return x.clamp(-1, 1)


def majority_downsample(labels: torch.Tensor, num_ids: int, size: tuple[int, int]) -> torch.Tensor:
    """int64 (B, H, W) -> (B, h, w): each output pixel takes the most frequent id of its area."""
    votes = F.one_hot(labels.clamp(0, num_ids - 1), num_ids).permute(0, 3, 1, 2).float()
    return F.adaptive_avg_pool2d(votes, size).argmax(1)


@torch.no_grad()
def synthesize(
    model: SemanticUNet,
    labels: torch.Tensor | None,
    num_classes: int,
    generator: torch.Generator,
    image_size: tuple[int, int],
    model_size: int = 32,
    batch: int | None = None,
    scale: float = 1.5,
    steps: int = 50,
) -> torch.Tensor:
    """Images float32 (B, 3, H, W) in [-1, 1] from label maps int64 (B, H, W) at any size.

    The SDM draws at its training scale (shorter side ``model_size``: the map is
    majority-downsampled to it) and the draw is upsampled (bilinear) to (H, W).
    ``labels=None`` draws ``batch`` images from the null map (unconditional).
    ``model`` may also be a :class:`~semantic.receivers.spadegan.SpadeGenerator` (one
    forward pass; ``scale`` and ``steps`` do not apply, ``model_size`` is its output size).
    """
    from .spadegan import SpadeGenerator, gan_sample

    if isinstance(model, SpadeGenerator):
        model_size = model.image_size
    H, W = image_size
    small = (model_size, round(model_size * W / H)) if H <= W else (round(model_size * H / W), model_size)
    if labels is None:
        device = next(model.parameters()).device
        label_map = torch.zeros(batch, model.config["label_channels"], *small, device=device)
    else:
        label_map = one_hot(majority_downsample(labels, num_classes + 1, small), num_classes)
    if isinstance(model, SpadeGenerator):
        x = gan_sample(model, label_map, generator)
    else:
        x = guided_sample(model, label_map, generator, scale=scale, steps=steps)
    return F.interpolate(x, size=(H, W), mode="bilinear", align_corners=False).clamp(-1, 1)
