"""Swin-Transformer deep JSCC, the codec of GSC (Zhang et al., "Semantic Successive Refinement",
seed 002, Section III-A, Fig. 2, eq. (2)).

Encoder: 4 x 4 patch partition and linear embedding to C channels (H/4 x W/4 tokens,
"stage 1": Swin blocks), 2 x 2 patch merging to 2C (H/8 x W/8 tokens, "stage 2":
Swin blocks), then a linear head to 4c real values per token, paired into complex
channel symbols and power-normalised (1/k ||f||^2 = P = 1 for every image, the
average power constraint of Section III-A met with equality). Decoder: the mirror
(linear, stage 2 blocks, 2 x 2 patch expanding, stage 1 blocks, 4 x 4 patch
reversal, tanh). Each stage's blocks come in pairs, a window block (W-MSA) then a
shifted-window block (SW-MSA), each ``x + MSA(LN(x))`` then ``x + MLP(LN(x))`` as
eq. (2); attention within windows of ``window`` x ``window`` tokens with Swin's
relative-position bias, the shifted one masked where the cyclic shift joins
non-neighbouring regions.

The paper gives C = 32, window 2, two stages, MSE, Adam 1e-4, batch 32, and ReLU in
the MLPs ("ReLU between the input layer and the two hidden layers"); it gives neither
depths nor heads: ours are ``depths = (2, 2)`` (one W-MSA / SW-MSA pair per stage)
and ``heads = (2, 4)``, chosen for a CPU at 32 x 32. The bandwidth ratio is
k / n = c / 96 as for :class:`semantic.jscc.DeepJSCC` (c = 16: 1/6), so the two
codecs compare at matched bandwidth: k = c H W / 32 complex symbols.

Why hand-written: timm's Swin does not import beside this machine's torch build, and
diffusers has no Swin blocks; the pieces are small.

Images float32 (B, 3, H, W) in [-1, 1], H and W multiples of 8 x window; symbols
complex64 (B, k).
"""

from __future__ import annotations

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from .jscc import _JsccCodec, power_normalize
from .pretrained import register_model_class

__all__ = ["SwinBlock", "SwinJSCC", "shifted_window_mask", "window_partition", "window_reverse"]


def window_partition(x: torch.Tensor, window: int) -> torch.Tensor:
    """(B, H, W, C) -> (B * H/w * W/w, w * w, C): non-overlapping windows, row-major."""
    B, H, W, C = x.shape
    x = x.reshape(B, H // window, window, W // window, window, C)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window * window, C)


def window_reverse(windows: torch.Tensor, window: int, H: int, W: int) -> torch.Tensor:
    """The inverse of :func:`window_partition`: (B * H/w * W/w, w * w, C) -> (B, H, W, C)."""
    C = windows.shape[-1]
    x = windows.reshape(-1, H // window, W // window, window, window, C)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, H, W, C)


def shifted_window_mask(H: int, W: int, window: int, shift: int) -> torch.Tensor:
    """bool (H/w * W/w, w * w, w * w): True where two tokens of a shifted window may not attend
    (they came from different regions of the cyclic shift)."""
    region = torch.zeros(H, W, dtype=torch.int64)
    cuts = ((0, -window), (-window, -shift), (-shift, None))
    label = 0
    for hs in cuts:
        for ws in cuts:
            region[slice(*hs), slice(*ws)] = label
            label += 1
    regions = window_partition(region[None, :, :, None], window)[..., 0]  # (nW, w*w)
    return regions[:, :, None] != regions[:, None, :]


class WindowAttention(nn.Module):
    """Multi-head self-attention within windows, with Swin's learned relative-position bias."""

    def __init__(self, dim: int, heads: int, window: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by heads {heads}")
        self.heads, self.window = heads, window
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        nn.init.trunc_normal_(self.bias_table, std=0.02)
        coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window - 1)
        self.register_buffer("bias_index", rel[..., 0] * (2 * window - 1) + rel[..., 1], persistent=False)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """x (nW B, N, dim); mask bool (nW, N, N) True = blocked."""
        Bw, N, C = x.shape
        qkv = self.qkv(x).reshape(Bw, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q * self.scale) @ k.transpose(-2, -1)  # (Bw, heads, N, N)
        attn = attn + self.bias_table[self.bias_index].permute(2, 0, 1)[None]
        if mask is not None:
            nW = mask.shape[0]
            attn = attn.reshape(Bw // nW, nW, self.heads, N, N).masked_fill(mask[None, :, None], float("-inf"))
            attn = attn.reshape(Bw, self.heads, N, N)
        out = attn.softmax(dim=-1) @ v
        return self.proj(out.transpose(1, 2).reshape(Bw, N, C))


class SwinBlock(nn.Module):
    """One Swin layer of eq. (2): (S)W-MSA and a two-layer ReLU MLP, each pre-normed with a residual.

    ``shift`` = 0: W-MSA; window // 2: SW-MSA (cyclic shift, masked attention).
    """

    def __init__(self, dim: int, heads: int, window: int, shift: int, mlp_ratio: int = 4):
        super().__init__()
        self.window, self.shift = window, shift
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, heads, window)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_ratio * dim), nn.ReLU(), nn.Linear(mlp_ratio * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x float (B, H, W, dim) -> the same shape."""
        B, H, W, C = x.shape
        if H % self.window or W % self.window:
            raise ValueError(f"a {H}x{W} token grid does not tile into {self.window}x{self.window} windows")
        h = self.norm1(x)
        mask = None
        if self.shift:
            h = torch.roll(h, (-self.shift, -self.shift), dims=(1, 2))
            mask = shifted_window_mask(H, W, self.window, self.shift).to(x.device)
        h = window_reverse(self.attn(window_partition(h, self.window), mask), self.window, H, W)
        if self.shift:
            h = torch.roll(h, (self.shift, self.shift), dims=(1, 2))
        x = x + h
        return x + self.mlp(self.norm2(x))


def _stage(dim: int, depth: int, heads: int, window: int) -> nn.Sequential:
    """``depth`` blocks alternating W-MSA and SW-MSA."""
    return nn.Sequential(*[SwinBlock(dim, heads, window, 0 if i % 2 == 0 else window // 2) for i in range(depth)])


class PatchMerging(nn.Module):
    """2 x 2 neighbouring tokens concatenated (4C), normalised, projected to 2C."""

    def __init__(self, dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(4 * dim)
        self.reduce = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, H, W, C) -> (B, H/2, W/2, 2C)."""
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], dim=-1)
        return self.reduce(self.norm(x))


class PatchExpanding(nn.Module):
    """The decoder's mirror of :class:`PatchMerging`: 2C -> 4C, each token spread to 2 x 2 tokens of C."""

    def __init__(self, dim: int):
        super().__init__()
        self.expand = nn.Linear(dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(dim // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, H, W, 2C) -> (B, 2H, 2W, C)."""
        B, H, W, D = x.shape
        x = self.expand(x).reshape(B, H, W, 2, 2, D // 2).permute(0, 1, 3, 2, 4, 5).reshape(B, 2 * H, 2 * W, D // 2)
        return self.norm(x)


@register_model_class
class SwinJSCC(_JsccCodec, ModelMixin, ConfigMixin):
    """Swin-Transformer JSCC (module docstring); the interface of :class:`semantic.jscc.DeepJSCC`:
    ``encode`` (B, 3, H, W) -> complex (B, k), ``decode(symbols, H, W)``, ``num_symbols``; ``channels``
    and ``ratio`` (c / 96) come from the shared codec base. The symbols' real values are 4c per
    H/8 x W/8 token: c H W / 16 per image, as DeepJSCC's."""

    @register_to_config
    def __init__(
        self,
        channels: int = 16,
        embed_dim: int = 32,
        depths: tuple[int, int] = (2, 2),
        heads: tuple[int, int] = (2, 4),
        window: int = 2,
        pilot_symbols: int = 0,
    ):
        super().__init__()
        C = embed_dim
        self.embed = nn.Conv2d(3, C, 4, stride=4)  # patch partition + linear embedding
        self.enc1 = _stage(C, depths[0], heads[0], window)
        self.merge = PatchMerging(C)
        self.enc2 = _stage(2 * C, depths[1], heads[1], window)
        self.head = nn.Sequential(nn.LayerNorm(2 * C), nn.Linear(2 * C, 4 * channels))
        self.unhead = nn.Sequential(nn.Linear(4 * channels, 2 * C), nn.ReLU())
        self.dec2 = _stage(2 * C, depths[1], heads[1], window)
        self.expand = PatchExpanding(2 * C)
        self.dec1 = _stage(C, depths[0], heads[0], window)
        self.out = nn.Sequential(nn.LayerNorm(C), nn.Linear(C, 4 * 4 * 3))

    def _check(self, height: int, width: int) -> None:
        m = 8 * self.config.window
        if height % m or width % m:
            raise ValueError(f"image size {height}x{width} must be divisible by {m} (8 x window)")

    def num_symbols(self, height: int, width: int) -> int:
        """k complex channel symbols per image of height x width."""
        self._check(height, width)
        return self.channels * height * width // 32

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """float (B, 3, H, W) in [-1, 1] -> complex64 (B, k), mean power 1 per image."""
        self._check(*images.shape[-2:])
        x = self.embed(images).permute(0, 2, 3, 1)  # (B, H/4, W/4, C)
        x = self.enc2(self.merge(self.enc1(x)))
        feats = self.head(x).flatten(1)  # (B, H/8 W/8 4c)
        half = feats.shape[1] // 2
        return power_normalize(torch.complex(feats[:, :half], feats[:, half:]))

    def decode(self, symbols: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """complex (B, k) -> float (B, 3, height, width) in [-1, 1]."""
        self._check(height, width)
        B = symbols.shape[0]
        feats = torch.cat([symbols.real, symbols.imag], dim=1).float()
        x = self.unhead(feats.reshape(B, height // 8, width // 8, 4 * self.channels))
        x = self.dec1(self.expand(self.dec2(x)))  # (B, H/4, W/4, C)
        x = self.out(x).permute(0, 3, 1, 2)  # (B, 48, H/4, W/4)
        return torch.tanh(nn.functional.pixel_shuffle(x, 4))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Noiseless round trip (B, 3, H, W) -> (B, 3, H, W)."""
        return self.decode(self.encode(images), *images.shape[-2:])
