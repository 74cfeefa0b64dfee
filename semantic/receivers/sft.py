"""Semantic fine-tuning (SFT): GSC's diffusion refiner (Zhang et al., "Semantic Successive
Refinement", seed 002, Section III-D, Algs. 1-2, eqs. (8)-(14), Fig. 3), which is DiffIR
(Xia et al., ICCV 2023, the paper's [30]).

The decoded image I~ (what the Swin-JSCC decoder gave) is refined by three networks:

- **CPEN** (compact prior-extraction network, the paper's N_1): PixelUnshuffle by 4, a
  convolution, residual blocks, global average pooling and a two-layer MLP to a short
  vector, the image prior representation (IPR) Z in R^{4C'}. Stage 1's CPEN sees
  PixelUnshuffle(Concat(I~, I)) (eq. (8)); stage 2's sees PixelUnshuffle(I~) alone and
  gives the condition D (eq. (14)). The paper writes N_1 for both; as in DiffIR they are
  two networks (``cpen_s1``, ``cpen_s2``), since their inputs differ (6 vs 3 channels).
- **Denoiser** eps_theta(Concat(Z_t, t, D)): a residual MLP on the compact vector, added to
  Z_t / sqrt(1 - abar_t) (:class:`PriorDenoiser` says why).
- **DIRformer** (N_2, eq. (9)): a U-shaped transformer of dynamic transformer blocks, each
  ``x + DMTA(LN(x), Z)`` then ``x + DGFN(LN(x), Z)``. DMTA is Restormer's multi-head
  *transposed* attention (attention across channels, q and k L2-normalised over pixels,
  a learned temperature per head) and DGFN its gated depthwise feed-forward network; both
  first modulate their input by Z: ``x * a(Z) + b(Z)`` per channel (the "dynamic" part).
  The restored image is I~ plus the network's residual.

The diffusion runs on Z only, T = 4 steps, beta_t linear from 0.1 to 0.99 (Section IV-A).
Forward: q(Z_T | Z_0) = N(sqrt(abar_T) Z_0, (1 - abar_T) I) (eq. (11)); reverse, deterministic
(eq. (13)):

    Z_{t-1} = ( Z_t - (1 - alpha_t) / sqrt(1 - abar_t) * eps_theta(Z_t, t, D) ) / sqrt(alpha_t)

from Z_T (training: the noised stage-1 prior, Alg. 1; inference: Z_T ~ N(0, I), Alg. 2).

Sizes: the paper's DIRformer has four levels of [3, 5, 6, 6] blocks with [1, 2, 4, 8] heads
and C' = 96 (GPU-sized). gscsim's CPU-sized default has three levels of [1, 1, 2] blocks
with [1, 2, 4] heads, widths 16, 32, 64 (32 x 32 down to 8 x 8), one refinement block, and
C' = 16 (Z of 64 values): 0.8 M parameters; all are config keys.

Why hand-written: neither diffusers nor any library importable here has DiffIR's blocks; the
4-step schedule is too short for a diffusers scheduler to add anything.

Images float32 (B, 3, H, W) in [-1, 1] with H, W multiples of max(4, 2^(levels - 1))
(CPEN's unshuffle by 4, the U-Net's downsamplings); priors float32 (B, 4C').
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from semantic.pretrained import register_model_class

__all__ = [
    "CPEN",
    "DGFN",
    "DIRformer",
    "DMTA",
    "PriorDenoiser",
    "SemanticFineTuning",
    "linear_betas",
    "reverse_step",
]


def linear_betas(steps: int = 4, start: float = 0.1, end: float = 0.99) -> torch.Tensor:
    """float64 (steps,): beta_1..beta_T linear from ``start`` to ``end`` (Section IV-A)."""
    if not 0 < start <= end < 1:
        raise ValueError(f"betas must satisfy 0 < start <= end < 1, got {start}, {end}")
    return torch.linspace(start, end, steps, dtype=torch.float64)


def reverse_step(z_t: torch.Tensor, eps: torch.Tensor, alpha_t: float, alpha_bar_t: float) -> torch.Tensor:
    """Eq. (13): Z_{t-1} = (Z_t - (1 - alpha_t) / sqrt(1 - abar_t) eps) / sqrt(alpha_t)."""
    return (z_t - (1 - alpha_t) / (1 - alpha_bar_t) ** 0.5 * eps) / alpha_t**0.5


class _ChannelNorm(nn.Module):
    """LayerNorm over the channels of (B, C, H, W) at every pixel (Restormer's LayerNorm)."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> the same shape."""
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class _Modulation(nn.Module):
    """The dynamic part of DMTA / DGFN: x * (1 + a(Z)) + b(Z), one (a, b) per channel from the prior.

    DiffIR writes x * a(Z) + b(Z); the 1 + (as SPADE's 1 + gamma) only moves the start to the
    identity, so that a freshly built block passes its normalised input on instead of scaling it
    by a(Z) ~ 0: on this CPU's short schedules the blocks otherwise sat near zero for hundreds
    of steps.
    """

    def __init__(self, prior_dim: int, channels: int):
        super().__init__()
        self.linear = nn.Linear(prior_dim, 2 * channels)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """x (B, C, H, W), z (B, prior_dim) -> (B, C, H, W)."""
        a, b = self.linear(z)[:, :, None, None].chunk(2, dim=1)
        return x * (1 + a) + b


class DMTA(nn.Module):
    """Dynamic multi-head transposed attention: modulation by Z, then attention across channels
    (a (C/h x C/h) map per head, so its cost is linear in the pixels)."""

    def __init__(self, dim: int, heads: int, prior_dim: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"DIRformer width {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.modulation = _Modulation(prior_dim, dim)
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.qkv = nn.Conv2d(dim, 3 * dim, 1)
        self.qkv_dw = nn.Conv2d(3 * dim, 3 * dim, 3, padding=1, groups=3 * dim)
        self.project = nn.Conv2d(dim, dim, 1)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """x (B, C, H, W) normalised, z (B, prior_dim) -> (B, C, H, W)."""
        B, C, H, W = x.shape
        q, k, v = self.qkv_dw(self.qkv(self.modulation(x, z))).chunk(3, dim=1)
        q, k, v = (t.reshape(B, self.heads, C // self.heads, H * W) for t in (q, k, v))
        q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
        attn = ((q @ k.transpose(-2, -1)) * self.temperature).softmax(dim=-1)
        return self.project((attn @ v).reshape(B, C, H, W))


class DGFN(nn.Module):
    """Dynamic gated feed-forward network: modulation by Z, 1x1 expansion to two branches,
    depthwise 3x3, GELU(branch 1) * branch 2, 1x1 projection."""

    def __init__(self, dim: int, prior_dim: int, expansion: float = 2.0):
        super().__init__()
        hidden = int(dim * expansion)
        self.modulation = _Modulation(prior_dim, dim)
        self.expand = nn.Conv2d(dim, 2 * hidden, 1)
        self.dw = nn.Conv2d(2 * hidden, 2 * hidden, 3, padding=1, groups=2 * hidden)
        self.project = nn.Conv2d(hidden, dim, 1)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """x (B, C, H, W) normalised, z (B, prior_dim) -> (B, C, H, W)."""
        gate, value = self.dw(self.expand(self.modulation(x, z))).chunk(2, dim=1)
        return self.project(F.gelu(gate) * value)


class DynamicTransformerBlock(nn.Module):
    """``x + DMTA(LN(x), Z)``, then ``x + DGFN(LN(x), Z)``."""

    def __init__(self, dim: int, heads: int, prior_dim: int, expansion: float = 2.0):
        super().__init__()
        self.norm1, self.norm2 = _ChannelNorm(dim), _ChannelNorm(dim)
        self.attn = DMTA(dim, heads, prior_dim)
        self.ffn = DGFN(dim, prior_dim, expansion)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """x (B, C, H, W), z (B, prior_dim) -> (B, C, H, W)."""
        x = x + self.attn(self.norm1(x), z)
        return x + self.ffn(self.norm2(x), z)


class _Level(nn.ModuleList):
    """A run of dynamic transformer blocks sharing the prior."""

    def __init__(self, depth: int, dim: int, heads: int, prior_dim: int):
        super().__init__(DynamicTransformerBlock(dim, heads, prior_dim) for _ in range(depth))

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """x (B, C, H, W), z (B, prior_dim) -> (B, C, H, W)."""
        for block in self:
            x = block(x, z)
        return x


class DIRformer(nn.Module):
    """N_2 of eq. (9): a U-Net of dynamic transformer blocks (Restormer's layout).

    Level i (i = 0..L-1) has width ``dim * 2^i`` at resolution H / 2^i; downsampling is a 3x3
    convolution halving the width then PixelUnshuffle(2), upsampling a 3x3 convolution
    doubling it then PixelShuffle(2); skips are concatenated and reduced by a 1x1 convolution
    (except at level 0, which keeps the doubled width, as Restormer); ``refinement`` blocks
    follow; the output is the input image plus a 3x3 convolution of the features (zero at start).
    """

    def __init__(self, dim: int, blocks: tuple[int, ...], heads: tuple[int, ...], refinement: int, prior_dim: int):
        super().__init__()
        if len(blocks) != len(heads) or len(blocks) < 2:
            raise ValueError(f"DIRformer needs as many block counts as heads, >= 2 levels: {blocks}, {heads}")
        L = len(blocks)
        widths = [dim * 2**i for i in range(L)]
        self.embed = nn.Conv2d(3, dim, 3, padding=1)
        self.encoders = nn.ModuleList(_Level(blocks[i], widths[i], heads[i], prior_dim) for i in range(L - 1))
        self.downs = nn.ModuleList(
            nn.Sequential(nn.Conv2d(widths[i], widths[i] // 2, 3, padding=1, bias=False), nn.PixelUnshuffle(2))
            for i in range(L - 1)
        )
        self.latent = _Level(blocks[-1], widths[-1], heads[-1], prior_dim)
        self.ups = nn.ModuleList(
            nn.Sequential(nn.Conv2d(widths[i + 1], widths[i + 1] * 2, 3, padding=1, bias=False), nn.PixelShuffle(2))
            for i in range(L - 1)
        )
        self.reduces = nn.ModuleList(
            nn.Conv2d(2 * widths[i], widths[i], 1, bias=False) if i > 0 else nn.Identity() for i in range(L - 1)
        )
        self.decoders = nn.ModuleList(
            _Level(blocks[i], widths[i] if i > 0 else 2 * dim, heads[i], prior_dim) for i in range(L - 1)
        )
        self.refine = _Level(refinement, 2 * dim, heads[0], prior_dim)
        self.output = nn.Conv2d(2 * dim, 3, 3, padding=1)
        nn.init.zeros_(self.output.weight)  # start as the identity: I^ = I~
        nn.init.zeros_(self.output.bias)

    def forward(self, image: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """image float (B, 3, H, W), prior (B, prior_dim) -> restored (B, 3, H, W)."""
        x = self.embed(image)
        skips = []
        for encoder, down in zip(self.encoders, self.downs):
            x = encoder(x, z)
            skips.append(x)
            x = down(x)
        x = self.latent(x, z)
        for i in reversed(range(len(self.decoders))):
            x = self.reduces[i](torch.cat([self.ups[i](x), skips[i]], dim=1))
            x = self.decoders[i](x, z)
        return image + self.output(self.refine(x, z))


class _ResBlock(nn.Module):
    """conv-LeakyReLU-conv with a residual."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.LeakyReLU(0.1), nn.Conv2d(channels, channels, 3, padding=1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> the same shape."""
        return x + self.body(x)


class CPEN(nn.Module):
    """Compact prior extraction: PixelUnshuffle(4), 3x3 conv, residual blocks, average pool, MLP.

    float (B, in_channels, H, W) -> (B, prior_dim).
    """

    def __init__(self, in_channels: int, width: int, prior_dim: int, res_blocks: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.PixelUnshuffle(4),
            nn.Conv2d(16 * in_channels, width, 3, padding=1),
            nn.LeakyReLU(0.1),
            *[_ResBlock(width) for _ in range(res_blocks)],
            nn.Conv2d(width, width, 3, padding=1),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.mlp = nn.Sequential(nn.Linear(width, prior_dim), nn.LeakyReLU(0.1), nn.Linear(prior_dim, prior_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, H, W) -> (B, prior_dim)."""
        return self.mlp(self.features(x))


class _ResMLP(nn.Module):
    """x + LeakyReLU(Linear(x))."""

    def __init__(self, dim: int):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(dim, dim), nn.LeakyReLU(0.1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, dim) -> (B, dim)."""
        return x + self.body(x)


class PriorDenoiser(nn.Module):
    """eps_theta(Concat(Z_t, t, D)) of Alg. 1 line 10: Z_t / sqrt(1 - abar_t) plus a residual MLP.

    The first term is the noise a Z_t holds when Z_0 = 0; the MLP (last layer zero at start) learns
    the rest from (Z_t, t / T, D). Without that term an untrained eps_theta = 0 makes eq. (13)
    multiply Z_T by 1 / sqrt(prod alpha_t) ~ 24 over the four steps (alpha_4 = 0.01), and stage 2
    starts from priors so wild that the DIRformer's restoration is wrecked before the denoiser learns;
    with it the chain starts near Z^ = 0. It is a parameterisation of the network only: its output
    is still the predicted noise that eq. (13) uses.
    """

    def __init__(self, prior_dim: int, res_blocks: int, alpha_bars: list[float]):
        super().__init__()
        self.steps = len(alpha_bars)
        self.register_buffer("noise_scale", (1 - torch.tensor(alpha_bars)).rsqrt(), persistent=False)
        self.net = nn.Sequential(
            nn.Linear(2 * prior_dim + 1, prior_dim),
            nn.LeakyReLU(0.1),
            *[_ResMLP(prior_dim) for _ in range(res_blocks)],
            nn.Linear(prior_dim, prior_dim),
        )
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, z_t: torch.Tensor, t: int, d: torch.Tensor) -> torch.Tensor:
        """z_t, d float (B, prior_dim); t in 1..T -> the predicted noise (B, prior_dim)."""
        time = torch.full((z_t.shape[0], 1), t / self.steps, dtype=z_t.dtype, device=z_t.device)
        return z_t * self.noise_scale[t - 1] + self.net(torch.cat([z_t, time, d], dim=1))


@register_model_class
class SemanticFineTuning(ModelMixin, ConfigMixin):
    """The SFT module (module docstring): ``cpen_s1``, ``cpen_s2``, ``denoiser`` and ``dirformer``.

    - :meth:`prior` (stage 1, eq. (8)): Z_0 from the decoded and the original image;
    - :meth:`estimate_prior` (stage 2, Alg. 1 lines 7-12 / Alg. 2 lines 3-8): the T reverse
      steps of eq. (13) from Z_T, conditioned on D = CPEN_S2(I~) (eq. (14));
    - :meth:`restore` (eq. (9)): the DIRformer with a prior;
    - ``forward`` (Alg. 2): the refined image from the decoded one alone.
    """

    @register_to_config
    def __init__(
        self,
        dim: int = 16,
        blocks: tuple[int, ...] = (1, 1, 2),
        heads: tuple[int, ...] = (1, 2, 4),
        refinement: int = 1,
        prior_channels: int = 16,
        cpen_width: int = 64,
        cpen_blocks: int = 2,
        denoiser_blocks: int = 3,
        steps: int = 4,
        beta_start: float = 0.1,
        beta_end: float = 0.99,
    ):
        super().__init__()
        prior_dim = 4 * prior_channels  # Z in R^{4C'} (eq. (8))
        self.cpen_s1 = CPEN(6, cpen_width, prior_dim, cpen_blocks)
        self.cpen_s2 = CPEN(3, cpen_width, prior_dim, cpen_blocks)
        betas = linear_betas(steps, beta_start, beta_end)
        self._alphas = (1 - betas).tolist()
        self._alpha_bars = torch.cumprod(1 - betas, 0).tolist()
        self.denoiser = PriorDenoiser(prior_dim, denoiser_blocks, self._alpha_bars)
        self.dirformer = DIRformer(dim, tuple(blocks), tuple(heads), refinement, prior_dim)

    @property
    def prior_dim(self) -> int:
        """Length of Z (4 C')."""
        return 4 * self.config.prior_channels

    @property
    def alphas(self) -> list[float]:
        """alpha_t = 1 - beta_t for t = 1..T (index t - 1)."""
        return list(self._alphas)

    @property
    def alpha_bars(self) -> list[float]:
        """abar_t = prod_{i <= t} alpha_i for t = 1..T (index t - 1)."""
        return list(self._alpha_bars)

    def check_size(self, height: int, width: int) -> None:
        """ValueError unless H and W are multiples of max(4, 2^(levels - 1))."""
        m = 2 ** max(len(self.config.blocks) - 1, 2)
        if height % m or width % m:
            raise ValueError(f"SFT takes images (B, 3, H, W) with H, W multiples of {m}, got {height}x{width}")

    def _check(self, image: torch.Tensor) -> None:
        if image.ndim != 4 or image.shape[1] != 3:
            raise ValueError(f"SFT takes images (B, 3, H, W), got {tuple(image.shape)}")
        self.check_size(*image.shape[-2:])

    def prior(self, decoded: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
        """Eq. (8): Z_0 = CPEN_S1(PixelUnshuffle(Concat(I~, I))): (B, 3, H, W) x 2 -> (B, 4C')."""
        self._check(decoded)
        return self.cpen_s1(torch.cat([decoded, original], dim=1))

    def noised_prior(self, z0: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Eq. (11) at t = T: sqrt(abar_T) Z_0 + sqrt(1 - abar_T) noise."""
        abar = self._alpha_bars[-1]
        return abar**0.5 * z0 + (1 - abar) ** 0.5 * noise

    def estimate_prior(self, decoded: torch.Tensor, z_T: torch.Tensor) -> torch.Tensor:
        """The reverse chain of eq. (13) from Z_T, conditioned on D = CPEN_S2(I~) (eq. (14)).

        decoded (B, 3, H, W), z_T (B, 4C') -> Z^_0 (B, 4C').
        """
        self._check(decoded)
        d = self.cpen_s2(decoded)
        z = z_T
        for t in range(self.config.steps, 0, -1):
            z = reverse_step(z, self.denoiser(z, t, d), self._alphas[t - 1], self._alpha_bars[t - 1])
        return z

    def restore(self, decoded: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Eq. (9): I^ = N_2(I~, Z): (B, 3, H, W), (B, 4C') -> (B, 3, H, W) (not clamped)."""
        self._check(decoded)
        return self.dirformer(decoded, z)

    def forward(self, decoded: torch.Tensor, z_T: torch.Tensor) -> torch.Tensor:
        """Alg. 2: decoded (B, 3, H, W) in [-1, 1] and Z_T ~ N(0, I) (B, 4C') -> refined image in [-1, 1]."""
        return self.restore(decoded, self.estimate_prior(decoded, z_T)).clamp(-1, 1)
