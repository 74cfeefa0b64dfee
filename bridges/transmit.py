"""Images of K users over the OFDMA link, analog or digital, to the receiver's view.

``ImageLink(link, bridge, image_shape)(images, snr_db, generator) -> Received``:

- analog: each user's normalised signal (S x M entries, see
  :mod:`bridges.signal`) has N entries per OFDM symbol placed straight on its N
  subcarriers (:meth:`phy.OFDMALink.send_symbols`); the equalised, noisy values
  come back; the other M - N entries never leave the transmitter.
- digital: the pixels of the same N entries per symbol are quantised
  (``bits_per_pixel``), coded, mapped and sent through the full chain
  (:meth:`phy.OFDMALink.forward`) over as many slots as they need (each slot
  an independent channel draw); the decoded pixels come back, bit errors
  included; the other pixels are missing.

Both return the measurement y, the :class:`~bridges.operator.MeasurementOperator`
A with y = A x + n, the per-pixel noise level and two values of sigma_r.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from pydantic import Field, ValidationError, model_validator

from phy import CodeConfig, LinkConfig, OFDMALink
from phy.config import StrictModel, format_validation_error
from phy.link import Reception
from semantic.restoration import fill_nearest, fill_zeros

from .digital import bits_to_levels, dequantize, levels_to_bits, quantize
from .operator import MeasurementOperator
from .signal import SignalLayout, sent_entries

__all__ = ["BridgeConfig", "ImageLink", "Received", "resolve_image_link"]


class BridgeConfig(StrictModel):
    """How images ride on the link."""

    path: Literal["analog", "digital"] = Field(
        "analog", description="analog: values straight onto subcarriers; digital: quantise, code, QAM"
    )
    nm_ratio: float | None = Field(
        None, gt=0, le=1, description="N / M: sets N = round(ratio * M) subcarriers per user and L = K N"
    )
    bandwidth_ratio: float | None = Field(
        None, gt=0, le=1,
        description="channel uses per source value k/n: sets N = round(ratio * C H W / S) and L = K N",
    )  # fmt: skip
    sent_pattern: Literal["contiguous", "interleaved"] = Field(
        "interleaved", description="which N of the M entries per symbol are sent"
    )
    interleaver_seed: int | None = Field(0, ge=0, description="pixel interleaver seed; None: no interleaver")
    bits_per_pixel: int = Field(8, ge=1, le=8, description="digital path quantisation")

    @model_validator(mode="after")
    def _one_ratio(self) -> "BridgeConfig":
        if self.nm_ratio is not None and self.bandwidth_ratio is not None:
            raise ValueError("give nm_ratio or bandwidth_ratio, not both")
        return self


@dataclass
class Received:
    """What K users received, as the receivers see it (tensors on the link's device).

    B batch, K users, (C, H, W) image, (S, M) signal entries.
    """

    images: torch.Tensor  #: float32 (B, K, C, H, W) the images that were sent
    y: torch.Tensor  #: complex64 (B, K, S, M) measurement; zero where nothing arrived
    operator: MeasurementOperator  #: y = A x + n
    noise_std: torch.Tensor  #: float32 (B, K, C, H, W) noise std per received pixel (0 elsewhere)
    sigma_r: torch.Tensor  #: float32 (B, K) RMS of noise_std over received pixels (known SNR, CSI)
    sigma_r_estimate: torch.Tensor  #: float32 (B, K) eq. (30) of Grassucci et al., re-derived (:meth:`ImageLink._sigma_estimate`)
    slots: int  #: slots each user occupied
    reception: Reception  #: the link's raw output (per slot for the digital path)
    bit_errors: torch.Tensor | None = None  #: int64 (B, K) digital path: wrong payload bits

    @property
    def pixel_mask(self) -> torch.Tensor:
        """bool (B, K, C, H, W): pixels that arrived."""
        return self.operator.pixel_mask

    def unrestored(self, fill: str = "zeros") -> torch.Tensor:
        """The received image without a generative receiver, clamped to [-1, 1].

        ``fill``: ``zeros`` (missing pixels mid-grey) or ``nearest`` (nearest received pixel).
        """
        received = self.operator.A_pinv(self.y)
        if fill == "zeros":
            image = fill_zeros(received, self.pixel_mask)
        elif fill == "nearest":
            image = fill_nearest(received, self.pixel_mask)
        else:
            raise ValueError(f"fill {fill!r}: expected 'zeros' or 'nearest'")
        return image.clamp(-1, 1)


def resolve_image_link(
    link: LinkConfig, bridge: BridgeConfig, image_shape: tuple[int, int, int]
) -> tuple[SignalLayout, LinkConfig, int, int]:
    """(layout, the link config actually used, M entries per symbol, N subcarriers per user).

    :raises ValueError: one line naming the key when the combination is impossible.
    """
    layout = SignalLayout(tuple(image_shape), link.grid.num_ofdm_symbols, bridge.interleaver_seed)
    M = layout.entries_per_symbol
    if bridge.nm_ratio is not None:
        N = max(1, round(bridge.nm_ratio * M))
    elif bridge.bandwidth_ratio is not None:
        N = max(1, round(bridge.bandwidth_ratio * layout.num_values / layout.num_ofdm_symbols))
    else:
        N = link.grid.n
    if N > M:
        raise ValueError(
            f"link.grid.subcarriers_per_user: N = {N} exceeds the M = {M} signal entries per OFDM "
            f"symbol of a {'x'.join(map(str, image_shape))} image over {link.grid.num_ofdm_symbols} symbols"
        )
    data = link.model_dump()
    if bridge.nm_ratio is not None or bridge.bandwidth_ratio is not None:
        data["grid"].update(subcarriers_per_user=N, num_subcarriers=link.grid.num_users * N)
    if bridge.path == "analog":  # values go straight on subcarriers: no code
        capacity = link.grid.num_ofdm_symbols * N * link.bits_per_symbol
        data["code"] = CodeConfig(kind="uncoded", k=capacity, n=capacity).model_dump()
    try:
        return layout, LinkConfig.model_validate(data), M, N
    except ValidationError as exc:
        raise ValueError(format_validation_error(exc, "link")) from None


class ImageLink:
    """Sends images of one shape to K users over one link configuration.

    :param link: the link; with ``bridge.nm_ratio`` its grid becomes N = round(ratio M)
        subcarriers per user and L = K N subcarriers.
    :param bridge: path, N/M, entry pattern, interleaver, quantisation.
    :param image_shape: (C, H, W).
    :raises ValueError: one line naming the key when the combination is impossible (N > M, ...).
    """

    def __init__(
        self, link: LinkConfig, bridge: BridgeConfig, image_shape: tuple[int, int, int], device: str = "cpu"
    ):
        self.bridge = bridge
        self.device = device
        self.layout, self.link_config, M, N = resolve_image_link(link, bridge, image_shape)
        self.link = OFDMALink(self.link_config, device=device)
        self.entries_per_symbol, self.subcarriers_per_user = M, N
        self.sent = sent_entries(M, N, bridge.sent_pattern).to(device)

    @property
    def nm_ratio(self) -> float:
        """N / M actually used."""
        return self.subcarriers_per_user / self.entries_per_symbol

    def _diagonal(self, B: int, K: int) -> torch.Tensor:
        S, M = self.layout.num_ofdm_symbols, self.entries_per_symbol
        d = torch.zeros(B, K, S, M, dtype=torch.complex64, device=self.device)
        d[..., self.sent] = 1
        d.view(B, K, S * M)[..., self.layout.num_complex :] = 0  # padding entries carry no pixel
        return d

    def __call__(self, images: torch.Tensor, snr_db: torch.Tensor | float, generator: torch.Generator) -> Received:
        """Send (B, K, C, H, W) images in [-1, 1]; ``snr_db`` a number or (B, K) tensor."""
        self.layout._check_images(images)
        if images.shape[1] != self.link.num_users:
            raise ValueError(f"images has {images.shape[1]} users; the link has {self.link.num_users}")
        images = images.to(self.device, torch.float32)
        if self.bridge.path == "analog":
            return self._analog(images, snr_db, generator)
        return self._digital(images, snr_db, generator)

    def _sigma_estimate(self, received: torch.Tensor, mask: torch.Tensor, noise_var: torch.Tensor) -> torch.Tensor:
        """Eq. (30) of Grassucci et al. (seed 004, Sec. IV-C), in the units of this link.

        Eq. (30) reads sigma_r* = (max r - min r) sigma_r: a noise level relative to the data
        range (as DDNM defines it) times the range of the received values. The link's SNR
        instead fixes the noise relative to the signal's *RMS*: each entry carries unit mean
        power, so a pixel's noise variance is v P, with v the entry's noise variance after
        equalisation (1 / SNR on AWGN; from the receiver's own CSI on fading) and P = mean x^2
        the image's mean square, which the receiver does not know. Its received pixels hold
        mean r^2 = P (1 + v) (zero-mean noise independent of x), hence the estimate

            sigma_r* = sqrt(v / (1 + v) * mean r^2),   v = mean of the received entries' v.

        The range form overestimates by 5x at +10 dB on AWGN to 51x at -10 dB on i.i.d.
        Rayleigh (the range of noisy values grows with the noise, and 10^(-SNR/20) is relative
        to the RMS, not the range); this one stays within a few percent of the measured error
        RMS (tests/bridges/test_bridge.py).

        :param received: float32 (B, K, C, H, W) A+ y; ``mask`` bool, the pixels that arrived.
        :param noise_var: float32 (B, K, S, M) noise variance per entry after equalisation
            (signal units), 0 where nothing was sent.
        """
        B, K = received.shape[:2]
        entries = (noise_var > 0).reshape(B, K, -1)
        v = noise_var.reshape(B, K, -1).sum(-1) / entries.sum(-1).clamp(min=1)
        count = mask.reshape(B, K, -1).sum(-1)
        mean_square = (received.square() * mask).reshape(B, K, -1).sum(-1) / count.clamp(min=1)
        return torch.where(count > 0, (v / (1 + v) * mean_square).sqrt(), torch.zeros_like(v))

    def _finish(self, images, y, scale, noise_var, slots, reception, bit_errors=None) -> Received:
        B, K = images.shape[:2]
        operator = MeasurementOperator(self.layout, scale, self._diagonal(B, K))
        mask = operator.pixel_mask
        # Noise variance per entry splits evenly over its real and imaginary pixel.
        half = (noise_var / 2).sqrt().to(torch.float32)
        noise_std = self.layout.to_images(torch.complex(half, half), scale).abs() * mask
        received = operator.A_pinv(y)
        count = mask.reshape(B, K, -1).sum(-1).clamp(min=1)
        sigma_r = (noise_std.square().reshape(B, K, -1).sum(-1) / count).sqrt()
        estimate = self._sigma_estimate(received, mask, noise_var) if self.bridge.path == "analog" else sigma_r
        return Received(images, y, operator, noise_std, sigma_r, estimate, slots, reception, bit_errors)

    def _analog(self, images, snr_db, generator) -> Received:
        signal, scale = self.layout.to_signal(images)
        rx = self.link.send_symbols(signal[..., self.sent], snr_db, generator)
        y = torch.zeros_like(signal)
        y[..., self.sent] = rx.x_hat
        noise_var = torch.zeros(signal.shape, device=self.device)
        noise_var[..., self.sent] = rx.no_eff
        return self._finish(images, y, scale, noise_var, 1, rx)

    def _digital(self, images, snr_db, generator) -> Received:
        B, K = images.shape[:2]
        b = self.bridge.bits_per_pixel
        levels = quantize(images, b).to(torch.float32)
        # The pixels of the sent entries, in entry order (real parts, then imaginary).
        entries, _ = self.layout.to_signal(levels, normalize=False)
        sent = entries[..., self.sent]
        payload = levels_to_bits(torch.cat([sent.real, sent.imag], -1).reshape(B, K, -1).to(torch.int64), b)
        per_slot = self.link.codewords_per_user * self.link_config.code.k
        slots = max(1, math.ceil(payload.shape[-1] / per_slot))
        bits = torch.nn.functional.pad(payload, (0, slots * per_slot - payload.shape[-1]))
        bits = bits.reshape(B, K, slots, self.link.codewords_per_user, -1).transpose(1, 2)
        snr = torch.as_tensor(snr_db, dtype=torch.float32, device=self.device)
        snr_slots = snr.expand(B, K).repeat_interleave(slots, dim=0) if snr.dim() else snr
        out = self.link(bits.reshape(B * slots, K, *bits.shape[3:]), snr_slots, generator)
        bits_hat = out.bits_hat.reshape(B, slots, K, -1).transpose(1, 2).reshape(B, K, -1)
        bits_hat = bits_hat[..., : payload.shape[-1]]
        bit_errors = (bits_hat != payload).sum(-1)
        N = self.sent.numel()
        values = dequantize(bits_to_levels(bits_hat, b), b).reshape(B, K, -1, 2 * N)  # (B, K, S, 2N)
        y = torch.zeros_like(entries)
        y[..., self.sent] = torch.complex(values[..., :N], values[..., N:])
        step = 2 / (2**b - 1)  # quantisation noise: uniform over one step
        noise_var = torch.zeros(entries.shape, device=self.device)
        noise_var[..., self.sent] = 2 * step**2 / 12
        scale = torch.ones(B, K, device=self.device)
        return self._finish(images, y, scale, noise_var, slots, out, bit_errors)
