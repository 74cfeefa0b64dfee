"""A compact CamVid segmenter: the offline stand-in for the pretrained networks the seed papers
use to judge meaning (DDRNet at the multicasting paper's transmitter, YOLO / CLIP / LPIPS
elsewhere), none of which can be downloaded here.

Architecture: a two-branch, DDRNet-style network (Hong et al., "Deep Dual-resolution
Networks for Real-time and Accurate Semantic Segmentation of Road Scenes", 2021),
scaled down for 32-128 px inputs. A high-resolution branch keeps 1/2 of the input
size for boundaries and thin classes (pole, sign, pedestrian); a low-resolution
branch goes to 1/8 for context; the two exchange features twice (bilateral
fusion: the low branch upsampled into the high one, the high one strided into the
low one), the low branch ends in a small pyramid pooling (DAPPM-like: the 1/8 map,
two average pools and the global mean), and the head classifies the sum at 1/2
resolution, upsampled bilinearly to the input. Why DDRNet rather than BiSeNet: its
high branch is never downsampled below 1/2, which matters when the input itself
is only 32 px wide; BiSeNet's spatial path stops at 1/8 (4 px at 32 px).

Why hand-written: no well-kept library ships a segmentation model that builds
without torchvision/timm (which do not import beside this torch build); the
model is a diffusers ``ModelMixin`` + ``ConfigMixin`` so it follows the project's
weights convention (:func:`semantic.pretrained.load_pretrained`).

Shapes: images float32 (B, 3, H, W) in [-1, 1] (H, W multiples of 8); logits float32
(B, num_classes, H, W); label maps int64 (B, H, W), void (= num_classes) never predicted.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from .pretrained import register_model_class

__all__ = ["DualResolutionSegmenter", "segment", "segmenter_name"]


def segmenter_name(size: int) -> str:
    """Name of the shipped segmenter for ``size`` x ``size`` images, e.g. ``camvid-seg-64``."""
    return f"camvid-seg-{size}"


def _conv_bn(cin: int, cout: int, stride: int = 1, relu: bool = True) -> nn.Sequential:
    layers = [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, nn.ReLU(inplace=True)) if relu else nn.Sequential(*layers)


class _Residual(nn.Module):
    """Basic residual block (two 3x3 convolutions), optionally strided."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.body = nn.Sequential(_conv_bn(cin, cout, stride), _conv_bn(cout, cout, relu=False))
        self.skip = (
            nn.Identity()
            if cin == cout and stride == 1
            else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """float32 (B, cout, H / stride, W / stride) of (B, cin, H, W)."""
        return F.relu(self.body(x) + self.skip(x))


class _PyramidPooling(nn.Module):
    """The low branch's context: the map, two average pools and the global mean, fused by 1x1 convs."""

    def __init__(self, channels: int, out: int):
        super().__init__()
        self.scales = nn.ModuleList(
            [nn.Sequential(nn.Conv2d(channels, out, 1, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True)) for _ in range(4)]
        )
        self.fuse = nn.Sequential(nn.Conv2d(4 * out, out, 1, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """float32 (B, out, h, w) context of the low branch's (B, channels, h, w)."""
        size = x.shape[-2:]
        pooled = [
            x,
            F.avg_pool2d(x, 3, 2, 1),
            F.avg_pool2d(x, 5, 4, 2) if min(size) >= 4 else x.mean((2, 3), keepdim=True),
            x.mean((2, 3), keepdim=True),
        ]
        parts = [F.interpolate(conv(p), size=size, mode="bilinear", align_corners=False) for conv, p in zip(self.scales, pooled)]
        return self.fuse(torch.cat(parts, dim=1))


@register_model_class
class DualResolutionSegmenter(ModelMixin, ConfigMixin):
    """DDRNet-style segmenter (see the module docstring).

    :param num_classes: classes predicted (CamVid: 11; void is ignored in training).
    :param width: channels of the high branch (the low branch has 2x, then 4x).
    :param image_size: the size it was trained at (informative: any multiple of 8 runs).
    """

    @register_to_config
    def __init__(self, num_classes: int = 11, width: int = 32, image_size: int = 64):
        super().__init__()
        c = width
        self.stem = nn.Sequential(_conv_bn(3, c, 2), _Residual(c, c))  # 1/2
        self.high1 = _Residual(c, c)  # 1/2
        self.low1 = nn.Sequential(_Residual(c, 2 * c, 2), _Residual(2 * c, 2 * c))  # 1/4
        self.down1 = nn.Sequential(nn.Conv2d(c, 2 * c, 3, 2, 1, bias=False), nn.BatchNorm2d(2 * c))
        self.up1 = nn.Sequential(nn.Conv2d(2 * c, c, 1, bias=False), nn.BatchNorm2d(c))
        self.high2 = _Residual(c, c)
        self.low2 = nn.Sequential(_Residual(2 * c, 4 * c, 2), _Residual(4 * c, 4 * c))  # 1/8
        self.down2 = nn.Sequential(_conv_bn(c, 2 * c, 2), nn.Conv2d(2 * c, 4 * c, 3, 2, 1, bias=False), nn.BatchNorm2d(4 * c))
        self.up2 = nn.Sequential(nn.Conv2d(4 * c, c, 1, bias=False), nn.BatchNorm2d(c))
        self.context = _PyramidPooling(4 * c, c)
        self.head = nn.Sequential(_conv_bn(c, c), nn.Conv2d(c, num_classes, 1))

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """float32 (B, width, H/2, W/2): the fused features the head classifies (also the feature
        space of :func:`semantic.metrics.frechet_distance` in ``fd_seg``)."""
        if images.shape[-1] % 8 or images.shape[-2] % 8:
            raise ValueError(f"image size {tuple(images.shape[-2:])} must be a multiple of 8")
        x = self.stem(images)
        high, low = self.high1(x), self.low1(x)
        high, low = high + F.interpolate(self.up1(low), size=high.shape[-2:], mode="bilinear", align_corners=False), low + self.down1(high)
        high, low = self.high2(F.relu(high)), self.low2(F.relu(low))
        high, low = high + F.interpolate(self.up2(low), size=high.shape[-2:], mode="bilinear", align_corners=False), low + self.down2(high)
        context = F.interpolate(self.context(F.relu(low)), size=high.shape[-2:], mode="bilinear", align_corners=False)
        return F.relu(high) + context

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Logits float32 (B, num_classes, H, W) of images float32 (B, 3, H, W) in [-1, 1]."""
        logits = self.head(self.features(images))
        return F.interpolate(logits, size=images.shape[-2:], mode="bilinear", align_corners=False)


@torch.no_grad()
def segment(model: DualResolutionSegmenter, images: torch.Tensor, batch: int = 64) -> torch.Tensor:
    """int64 (B, H, W) predicted label maps of float32 (B, 3, H, W) images in [-1, 1], in eval
    mode, ``batch`` images at a time, on the model's device (the result on the images' device)."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        out = [model(images[i : i + batch].to(device)).argmax(1) for i in range(0, len(images), batch)]
    finally:
        model.train(was_training)
    return torch.cat(out).to(images.device)
