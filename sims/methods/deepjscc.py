"""The `deepjscc` method: DeepJSCC and DeepJSCC-OFDM at matched bandwidth.

Axes ``snr_db`` and ``bandwidth_ratio`` (channel uses per source value, k/n):
every method at a point spends the same resource elements per image
(DeepJSCC-OFDM adds one pilot OFDM symbol). With the same grid, DeepJSCC and
the analog image methods see the same channel and noise draws.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

import torch
from pydantic import Field

from bridges.jscc import SymbolLink
from semantic.jscc import DeepJSCC, jscc_name, load_jscc

from ..registry import PointContext
from .common import (
    MatchedBandwidthOptions,
    check_matched_point,
    register_image_method,
    score,
    user_images,
)

__all__ = ["MATCHED_VARIANT", "JsccOptions"]

#: Channel kind -> the shipped DeepJSCC trained on it (``variant = "matched"``).
MATCHED_VARIANT = {"awgn": "awgn", "rayleigh_block": "rayleigh", "rayleigh_iid": "rayleigh", "tdl": "ofdm"}


class JsccOptions(MatchedBandwidthOptions):
    """Which DeepJSCC model decodes."""

    variant: Literal["matched", "awgn", "rayleigh", "ofdm"] = Field(
        "matched", description="model trained on: matched = the point's channel kind (MATCHED_VARIANT)"
    )
    model: str | None = Field(None, description="a model name or folder instead of the shipped one")


def _variant(config, options: JsccOptions) -> str:
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
    model = ctx.cache.get(DeepJSCC, (name, ctx.device), lambda: load_jscc(name, ctx.device))
    images = user_images(ctx)
    B, K, _, H, W = images.shape
    k = model.num_symbols(H, W)
    pilots = model.config.pilot_symbols
    link = ctx.cache.get(
        SymbolLink, (ctx.config.link, k, pilots, ctx.device), lambda: SymbolLink(ctx.config.link, k, pilots, ctx.device)
    )
    with torch.no_grad():
        z = model.encode(images.flatten(0, 1)).reshape(B, K, k)
        z_hat, _, _ = link(z, float(ctx.options.snr_db), ctx.generator)
        estimate = model.decode(z_hat.flatten(0, 1), H, W)
    out = score(ctx, estimate, images.flatten(0, 1))
    out.update(channel_uses=link.channel_uses, n_subcarriers=link.subcarriers, slots=1)
    return out
