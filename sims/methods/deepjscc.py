"""The `deepjscc` methods: DeepJSCC and DeepJSCC-OFDM.

- ``deepjscc``, at matched bandwidth. Axes ``snr_db`` and ``bandwidth_ratio``
  (channel uses per source value, k/n): every method at a point spends the same
  resource elements per image (the OFDM variants add one pilot OFDM symbol).
  With the same grid, DeepJSCC and the analog image methods see the same
  channel and noise draws. With ``link.estimation`` = ``ls`` / ``lmmse`` a model
  without pilots of its own decodes the symbols equalised with the link's
  estimate (the link's pilot symbols count in ``channel_uses``); ``variant =
  "tdl-estimation"`` picks the TDL model trained with that same estimator.
  DeepJSCC-OFDM models estimate from their own pilot and are refused there.
- ``deepjscc_nm``, under the subcarrier loss of the N/M studies: a DeepJSCC-OFDM
  model whose k symbols fill the image's S x M grid (k = 3 H W / 2, bandwidth
  ratio 1/2) gets exactly the reception the analog image methods got at the point
  (same allocation, the same N of M entries per symbol, the same channel
  coefficients and noise samples: :func:`bridges.jscc.replay`), plus one pilot OFDM
  symbol on the user's N subcarriers. The other M - N entries are zeros and the
  decoder is told which (it was trained with such erasures: ``gscsim train jscc
  --erasure-nm``).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

import torch
from pydantic import Field

from bridges.jscc import SymbolLink, replay
from semantic.jscc import DeepJSCCOFDM, jscc_name, load_jscc

from ..registry import PointContext
from .common import (
    MatchedBandwidthOptions,
    TransmissionOptions,
    check_matched_point,
    image_metrics,
    received_at_point,
    receiver_generator,
    register_image_method,
    score,
    user_images,
    validate_transmission,
)

__all__ = ["ESTIMATION_VARIANT", "MATCHED_VARIANT", "JsccOptions", "JsccSubcarrierOptions"]

#: Channel kind -> the shipped DeepJSCC trained on it (``variant = "matched"``).
MATCHED_VARIANT = {"awgn": "awgn", "rayleigh_block": "rayleigh", "rayleigh_iid": "rayleigh", "tdl": "ofdm"}
#: link.estimation -> the shipped TDL DeepJSCC trained with it (``variant = "tdl-estimation"``).
ESTIMATION_VARIANT = {"perfect": "tdl", "lmmse": "tdl-lmmse", "ls": "tdl-ls"}


class JsccOptions(MatchedBandwidthOptions):
    """Which DeepJSCC model decodes."""

    variant: Literal[
        "matched", "awgn", "rayleigh", "ofdm", "ofdm-i", "ofdm-e", "tdl", "tdl-lmmse", "tdl-ls", "tdl-estimation"
    ] = Field(
        "matched",
        description="model trained on: matched = the point's channel kind (MATCHED_VARIANT); "
        "ofdm-i / ofdm-e = DeepJSCC-OFDM-I / -E; tdl = TDL-A with perfect CSI; tdl-lmmse / tdl-ls = TDL-A "
        "with the link's LMMSE / LS estimate; tdl-estimation = the tdl model trained with the point's "
        "link.estimation (ESTIMATION_VARIANT)",
    )
    model: str | None = Field(None, description="a model name or folder instead of the shipped one")


def _variant(config, options: JsccOptions) -> str:
    if options.variant == "tdl-estimation":
        return ESTIMATION_VARIANT[config.link.estimation]
    if options.variant != "matched":
        return options.variant
    kind = config.link.channel.kind
    if kind not in MATCHED_VARIANT:
        raise ValueError(f"no shipped DeepJSCC is trained on channel kind {kind!r}: set variant or model")
    return MATCHED_VARIANT[kind]


def _model_name(config, options: JsccOptions) -> str:
    return options.model or jscc_name(_variant(config, options), Fraction(options.bandwidth_ratio).limit_denominator(1000))


def _validate(config, options: JsccOptions, point: dict) -> None:
    ratio = check_matched_point(config, options)
    name = _model_name(config, options)
    try:
        model = load_jscc(name)
    except FileNotFoundError as exc:
        raise ValueError(str(exc)) from None
    if abs(float(model.ratio) - ratio) > 1e-9:
        raise ValueError(f"model {name!r} has bandwidth ratio {model.ratio}, the point asks for {ratio}")
    k = model.num_symbols(config.source.image_size, config.source.image_size)
    SymbolLink(config.link, k, model.config.pilot_symbols)  # checks the grid


@register_image_method("deepjscc", JsccOptions, _validate)
def deepjscc(ctx: PointContext) -> dict:
    """DeepJSCC (Bourtsoulatze et al.) through the OFDMA link at the point's bandwidth ratio."""
    name = _model_name(ctx.config, ctx.options)
    model = ctx.cache.get(torch.nn.Module, (name, ctx.device), lambda: load_jscc(name, ctx.device))
    images = user_images(ctx)
    B, K, _, H, W = images.shape
    k = model.num_symbols(H, W)
    pilots = model.config.pilot_symbols
    link = ctx.cache.get(
        SymbolLink, (ctx.config.link, k, pilots, ctx.device), lambda: SymbolLink(ctx.config.link, k, pilots, ctx.device)
    )
    with torch.no_grad():
        z = model.encode(images.flatten(0, 1)).reshape(B, K, k)
        if isinstance(model, DeepJSCCOFDM):
            grid = link.raw(z, float(ctx.options.snr_db), ctx.generator)
            everything = torch.ones(B * K, link.subcarriers, dtype=torch.bool, device=ctx.device)
            estimate = model.decode_grid(
                grid.y.flatten(0, 1), grid.pilots.flatten(0, 1), grid.no.flatten(), everything, H, W
            )
        else:
            z_hat, _, _ = link(z, float(ctx.options.snr_db), ctx.generator)
            estimate = model.decode(z_hat.flatten(0, 1), H, W)
    out = score(ctx, estimate, images.flatten(0, 1))
    out.update(channel_uses=link.channel_uses, n_subcarriers=link.subcarriers, slots=1)
    return out


class JsccSubcarrierOptions(TransmissionOptions):
    """The image methods' reception (N/M, entry pattern, SNR) and the DeepJSCC-OFDM model."""

    variant: Literal["ofdm-i", "ofdm-e"] = Field("ofdm-i", description="DeepJSCC-OFDM-I or -E")
    model: str | None = Field(None, description="a model name or folder instead of deepjscc-<variant>-1_2")


def _subcarrier_model(options: JsccSubcarrierOptions) -> str:
    return options.model or jscc_name(options.variant, Fraction(1, 2))


def _validate_subcarriers(config, options: JsccSubcarrierOptions, point: dict) -> None:
    validate_transmission(config, options, point)
    if options.path != "analog":
        raise ValueError("path: deepjscc_nm replays the analog reception; set path = 'analog'")
    if options.sent_pattern != "interleaved":
        raise ValueError("sent_pattern: deepjscc_nm models are trained on the interleaved pattern")
    name = _subcarrier_model(options)
    try:
        model = load_jscc(name)
    except FileNotFoundError as exc:
        raise ValueError(str(exc)) from None
    if not isinstance(model, DeepJSCCOFDM):
        raise ValueError(f"model {name!r} is no DeepJSCC-OFDM-I/-E (it decodes equalised symbols)")
    size = config.source.image_size
    entries = 3 * size * size // 2
    if model.num_symbols(size, size) != entries:
        raise ValueError(
            f"model {name!r} sends {model.num_symbols(size, size)} symbols per {size}x{size} image; "
            f"the image methods' grid holds {entries} (bandwidth ratio 1/2)"
        )
    if entries % config.link.grid.num_ofdm_symbols:
        raise ValueError(f"link.grid.num_ofdm_symbols = {config.link.grid.num_ofdm_symbols} must divide {entries}")


@register_image_method("deepjscc_nm", JsccSubcarrierOptions, _validate_subcarriers)
def deepjscc_nm(ctx: PointContext) -> dict:
    """DeepJSCC-OFDM-I/-E receiving exactly what the analog image methods received at the point."""
    name = _subcarrier_model(ctx.options)
    model = ctx.cache.get(DeepJSCCOFDM, (name, ctx.device), lambda: load_jscc(name, ctx.device))
    link, rx = received_at_point(ctx)
    images = rx.images
    B, K, _, H, W = images.shape
    S, M = rx.y.shape[-2:]
    sent = link.sent
    with torch.no_grad():
        z = model.encode(images.flatten(0, 1)).reshape(B, K, S, M)
        pilot_generator = receiver_generator(ctx, "deepjscc-pilots")
        grid = replay(rx.reception, z[..., sent], model.config.pilot_symbols, pilot_generator)
        y = torch.zeros_like(z)
        y[..., sent] = grid.y
        pilots = torch.zeros(B, K, grid.pilots.shape[2], M, dtype=z.dtype, device=z.device)
        pilots[..., sent] = grid.pilots
        received = torch.zeros(B * K, M, dtype=torch.bool, device=z.device)
        received[:, sent] = True
        estimate = model.decode_grid(y.flatten(0, 1), pilots.flatten(0, 1), grid.no.flatten(), received, H, W)
    out = image_metrics(ctx, estimate.reshape(images.shape), link, rx)
    out["channel_uses"] += model.config.pilot_symbols * link.subcarriers_per_user  # the pilot symbol
    return out
