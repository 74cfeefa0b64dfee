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

:class:`DeepJSCCOFDM` is DeepJSCC-OFDM of Yang, Bian, Chen, Kim, Kurka,
Gunduz (2021), the baselines of Grassucci et al. (seed 004, Sec. V-B): the
same encoder, whose symbols ride S OFDM symbols x M subcarriers after
``pilot_symbols`` known pilot symbols; the decoder gets the *raw* received
grid (before any equalisation) and either feeds pilots and data jointly to the
decoder (``receiver = "implicit"``, DeepJSCC-OFDM-I) or first estimates the
channel by least squares and equalises by MMSE, each step corrected by a
small residual sub-network (``receiver = "explicit"``, DeepJSCC-OFDM-E).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from .pretrained import load_pretrained, register_model_class, resolve

__all__ = [
    "JSCC_VARIANTS",
    "OFDM_RECEIVERS",
    "PILOT",
    "DeepJSCC",
    "DeepJSCCOFDM",
    "channels_for_ratio",
    "jscc_name",
    "load_jscc",
    "power_normalize",
]

#: Variants gscsim ships: the channel each was trained through (``ofdm``: LS + ZF, equalised
#: symbols in; ``ofdm-i`` / ``ofdm-e``: :class:`DeepJSCCOFDM`, raw grid in).
JSCC_VARIANTS = ("awgn", "rayleigh", "ofdm", "ofdm-i", "ofdm-e")
#: DeepJSCC-OFDM variant -> its receiver (:class:`DeepJSCCOFDM`).
OFDM_RECEIVERS = {"ofdm-i": "implicit", "ofdm-e": "explicit"}
#: The known pilot value on every pilot resource element: a unit-power QPSK point.
PILOT = complex(2**-0.5, 2**-0.5)


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


def _encoder(channels: int) -> nn.Sequential:
    return nn.Sequential(
        _conv(3, 16, 2), _conv(16, 32, 2), _conv(32, 32, 1), _conv(32, 32, 1), _conv(32, channels, 1)
    )  # fmt: skip


def _decoder(inputs: int) -> nn.Sequential:
    return nn.Sequential(
        _deconv(inputs, 32, 1), nn.PReLU(32), _deconv(32, 32, 1), nn.PReLU(32),
        _deconv(32, 32, 1), nn.PReLU(32), _deconv(32, 16, 2), nn.PReLU(16),
        _deconv(16, 3, 2), nn.Sigmoid(),
    )  # fmt: skip


class _JsccCodec:
    """What every DeepJSCC shares: the encoder, the symbol count, the symbols <-> features map."""

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

    def _features(self, symbols: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """complex (B, k) -> float (B, c, H/4, W/4), the inverse of the encoder's pairing."""
        feats = torch.cat([symbols.real, symbols.imag], dim=1).float()
        return feats.reshape(symbols.shape[0], self.channels, height // 4, width // 4)


@register_model_class
class DeepJSCC(_JsccCodec, ModelMixin, ConfigMixin):
    """DeepJSCC autoencoder.

    :param channels: c, the encoder's output channels; sets the bandwidth ratio c / 96.
    :param pilot_symbols: pilot OFDM symbols of the link it was trained through
        (1 for the ``ofdm`` variant: the decoder expects LS + ZF equalised symbols).
    """

    @register_to_config
    def __init__(self, channels: int = 16, pilot_symbols: int = 0):
        super().__init__()
        self.encoder = _encoder(channels)
        self.decoder = _decoder(channels)

    def decode(self, symbols: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """complex (B, k) -> float (B, 3, H, W) in [-1, 1]."""
        return self.decoder(self._features(symbols, height, width)) * 2 - 1


@register_model_class
class DeepJSCCOFDM(_JsccCodec, ModelMixin, ConfigMixin):
    """DeepJSCC-OFDM-I / -E (Yang et al. 2021): the decoder takes the raw received OFDM grid.

    The k symbols of an image ride S OFDM symbols x M subcarriers (row-major: symbol s,
    subcarrier m is entry s M + m), after P pilot OFDM symbols carrying :data:`PILOT`.
    Entries a user never received (subcarriers it was not given) are zeros in ``y`` and in
    ``pilots``, and False in ``received``: the decoder is told which were lost.

    - ``implicit`` (-I): the decoder's input is the received data *and*, per entry, the
      received pilot of its subcarrier (2c feature channels); it learns estimation and
      equalisation itself.
    - ``explicit`` (-E): least-squares estimate h_ls = mean of pilots / PILOT per subcarrier,
      corrected by a residual 1-D convolution over subcarriers (the estimation subnet);
      MMSE equalisation y conj(h) / (|h|^2 + no), corrected by a residual 2-D convolution
      over the (S, M) grid that also sees y, h and the noise level (the equalisation
      subnet); then the DeepJSCC decoder. The subnets' widths are ours (the paper calls
      them light-weight and gives no sizes): ``subnet_width`` channels, three layers each.

    :param channels: c; the bandwidth ratio is c / 96 (pilots not counted).
    :param receiver: ``implicit`` or ``explicit``.
    :param pilot_symbols: P pilot OFDM symbols before the data.
    :param subnet_width: hidden channels of the -E subnets.
    :param snr_range_db: the training SNRs; the -E subnets are told the noise level clipped to
        them (at 60 dB they see 20 dB: a level they never saw would be extrapolated).
    """

    @register_to_config
    def __init__(
        self, channels: int = 16, receiver: str = "implicit", pilot_symbols: int = 1, subnet_width: int = 32,
        snr_range_db: tuple[float, float] = (-10.0, 20.0),
    ):  # fmt: skip
        super().__init__()
        if receiver not in ("implicit", "explicit"):
            raise ValueError(f"receiver {receiver!r}: expected 'implicit' or 'explicit'")
        if pilot_symbols < 1:
            raise ValueError(f"pilot_symbols = {pilot_symbols}: DeepJSCC-OFDM needs at least one")
        self.encoder = _encoder(channels)
        self.decoder = _decoder(2 * channels if receiver == "implicit" else channels)
        if receiver == "explicit":
            w = subnet_width
            self.estimation_net = nn.Sequential(
                nn.Conv1d(3, w, 5, padding=2), nn.PReLU(w), nn.Conv1d(w, w, 5, padding=2), nn.PReLU(w),
                nn.Conv1d(w, 2, 5, padding=2),
            )  # fmt: skip
            self.equalization_net = nn.Sequential(
                nn.Conv2d(7, w, 3, padding=1), nn.PReLU(w), nn.Conv2d(w, w, 3, padding=1), nn.PReLU(w),
                nn.Conv2d(w, 2, 3, padding=1),
            )  # fmt: skip
            for net in (self.estimation_net, self.equalization_net):  # start as plain LS / MMSE
                nn.init.zeros_(net[-1].weight)
                nn.init.zeros_(net[-1].bias)

    @property
    def receiver(self) -> str:
        """``implicit`` (-I) or ``explicit`` (-E)."""
        return self.config.receiver

    def decode_grid(
        self, y: torch.Tensor, pilots: torch.Tensor, no: torch.Tensor, received: torch.Tensor, height: int, width: int
    ) -> torch.Tensor:
        """The image from the raw received grid.

        :param y: complex (B, S, M) received data, S M = k; zeros where not received.
        :param pilots: complex (B, P, M) received pilots; zeros where not received.
        :param no: float (B,) noise variance per resource element (the nominal SNR, known).
        :param received: bool (B, M) subcarriers (grid columns) the user received.
        :returns: float32 (B, 3, H, W) in [-1, 1].
        """
        B, S, M = y.shape
        mask = received[:, None, :].to(y.real.dtype)
        if self.receiver == "implicit":
            pilot = pilots.mean(1, keepdim=True).expand(B, S, M).reshape(B, -1)
            feats = torch.cat(
                [self._features(y.reshape(B, -1), height, width), self._features(pilot, height, width)], dim=1
            )
            return self.decoder(feats) * 2 - 1
        lo, hi = self.config.snr_range_db
        level = (torch.log10(no.float().clamp_min(1e-12)).clamp(-hi / 10, -lo / 10)).reshape(B, 1, 1)
        h_ls = pilots.mean(1) / PILOT  # (B, M), least squares per subcarrier
        h_in = torch.stack([h_ls.real, h_ls.imag, level.expand(B, 1, M)[:, 0]], 1).float()
        dh = self.estimation_net(h_in) * mask
        h = h_ls + torch.complex(dh[:, 0], dh[:, 1])  # (B, M)
        h = h[:, None, :]
        x = y * h.conj() / (h.abs().square() + no.reshape(B, 1, 1))
        x_in = torch.stack(
            [x.real, x.imag, y.real, y.imag, h.real.expand(B, S, M), h.imag.expand(B, S, M), level.expand(B, S, M)], 1
        ).float()
        dx = self.equalization_net(x_in) * mask[:, None]
        x = (x + torch.complex(dx[:, 0], dx[:, 1])) * mask
        return self.decoder(self._features(x.reshape(B, -1), height, width)) * 2 - 1


def jscc_name(variant: str, ratio: Fraction | float) -> str:
    """Name of a shipped model, e.g. ``deepjscc-awgn-1_6``."""
    r = Fraction(ratio).limit_denominator(1000)
    return f"deepjscc-{variant}-{r.numerator}_{r.denominator}"


def load_jscc(name_or_path: str | Path, device: str = "cpu") -> DeepJSCC | DeepJSCCOFDM:
    """A DeepJSCC, DeepJSCC-OFDM or Swin-JSCC (the class its config names) in eval mode, from a
    shipped name (:func:`jscc_name`, ``swinjscc-...``), a folder or a hub id."""
    from .swinjscc import SwinJSCC  # registers the class; it imports this module

    local = isinstance(resolve(name_or_path), Path)  # a folder names its class; a hub id: DeepJSCC
    model = load_pretrained(name_or_path, None if local else DeepJSCC, device)
    if not isinstance(model, (DeepJSCC, DeepJSCCOFDM, SwinJSCC)):
        raise ValueError(f"{name_or_path}: a {type(model).__name__}, not a DeepJSCC model")
    return model
