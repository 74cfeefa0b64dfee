"""Baselines at matched bandwidth: `deepjscc` (DeepJSCC, DeepJSCC-OFDM) and `separation`
(JPEG + CRC + 5G LDPC + QAM).

Both take the axes ``snr_db`` and ``bandwidth_ratio`` (channel uses per
source value, k/n); ``bandwidth_ratio`` also sets the analog image methods'
N, so every method at a point spends the same resource elements per image
(DeepJSCC-OFDM adds one pilot OFDM symbol). With the same grid, DeepJSCC
and the analog image methods see the same channel and noise draws.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

import torch
from pydantic import Field

from bridges.jscc import SymbolLink
from bridges.separation import SeparationLink
from phy.config import StrictModel
from semantic.jscc import jscc_name, load_jscc

from ..registry import PointContext
from .images import check_source, user_images
from .received import register_image_method, score

__all__ = ["JsccOptions", "SeparationOptions"]


class _Point(StrictModel):
    bandwidth_ratio: float | None = Field(None, gt=0, le=1, description="when bandwidth_ratio is not swept")
    snr_db: float | None = Field(None, description="when snr_db is not swept")


class JsccOptions(_Point):
    variant: Literal["matched", "awgn", "rayleigh", "ofdm"] = Field(
        "matched", description="model trained on: matched = awgn for an AWGN link, rayleigh otherwise"
    )
    model: str | None = Field(None, description="a model name or folder instead of the shipped one")


class SeparationOptions(_Point):
    pass


def _operating_point(options: _Point, point: dict) -> tuple[float | None, float | None]:
    """(bandwidth ratio, SNR): the swept value, else the option."""
    return point.get("bandwidth_ratio", options.bandwidth_ratio), point.get("snr_db", options.snr_db)


def _check_point(config, options: _Point, point: dict) -> float:
    check_source(config)
    if "nm_ratio" in point:
        raise ValueError("sweep bandwidth_ratio, not nm_ratio (matched channel uses)")
    ratio, snr = _operating_point(options, point)
    if ratio is None:
        raise ValueError("set bandwidth_ratio, or sweep it")
    if snr is None:
        raise ValueError("set snr_db, or sweep it")
    uses = ratio * 3 * config.source.image_size**2
    if abs(uses - round(uses)) > 1e-6:
        raise ValueError(f"bandwidth_ratio {ratio} gives {uses:g} channel uses per image, not a whole number")
    return ratio


def _variant(config, options: JsccOptions) -> str:
    if options.variant != "matched":
        return options.variant
    return "awgn" if config.link.channel.kind == "awgn" else "rayleigh"


def _jscc_model_name(config, options: JsccOptions, ratio: float) -> str:
    return options.model or jscc_name(_variant(config, options), Fraction(ratio).limit_denominator(1000))


def _validate_jscc(config, options: JsccOptions, point: dict) -> None:
    ratio = _check_point(config, options, point)
    name = _jscc_model_name(config, options, ratio)
    model, info = load_jscc(name)  # raises FileNotFoundError naming the model
    if abs(float(model.ratio) - ratio) > 1e-9:
        raise ValueError(f"model {name!r} has bandwidth ratio {model.ratio}, the point asks for {ratio}")
    k = model.num_symbols(config.source.image_size, config.source.image_size)
    SymbolLink(config.link, k, info.get("pilot_symbols", 0))  # checks the grid


def _validate_separation(config, options: SeparationOptions, point: dict) -> None:
    ratio = _check_point(config, options, point)
    SeparationLink(config.link, round(ratio * 3 * config.source.image_size**2))


def _validate(check):
    def validate(config, options, point):
        try:
            check(config, options, point)
        except FileNotFoundError as exc:
            raise ValueError(str(exc)) from None

    return validate


@register_image_method("deepjscc", JsccOptions, _validate(_validate_jscc))
def deepjscc(ctx: PointContext) -> dict:
    ratio, snr = _operating_point(ctx.options, ctx.point)
    name = _jscc_model_name(ctx.config, ctx.options, ratio)
    key = ("jscc", name, ctx.device)
    if key not in ctx.cache:
        ctx.cache[key] = load_jscc(name, ctx.device)
    model, info = ctx.cache[key]
    images = user_images(ctx)
    B, K, _, H, W = images.shape
    k = model.num_symbols(H, W)
    link_key = ("jscc-link", ctx.config.link.model_dump_json(), k, info.get("pilot_symbols", 0), ctx.device)
    if link_key not in ctx.cache:
        ctx.cache[link_key] = SymbolLink(ctx.config.link, k, info.get("pilot_symbols", 0), ctx.device)
    link = ctx.cache[link_key]
    with torch.no_grad():
        z = model.encode(images.flatten(0, 1)).reshape(B, K, k)
        z_hat, _, _ = link(z, float(snr), ctx.generator)
        estimate = model.decode(z_hat.flatten(0, 1), H, W)
    out = score(estimate, images.flatten(0, 1))
    out.update(channel_uses=link.channel_uses, n_subcarriers=link.subcarriers, slots=1)
    return out


@register_image_method("separation", SeparationOptions, _validate(_validate_separation))
def separation(ctx: PointContext) -> dict:
    ratio, snr = _operating_point(ctx.options, ctx.point)
    images = user_images(ctx)
    _, _, _, H, W = images.shape
    uses = round(ratio * 3 * H * W)
    key = ("separation-link", ctx.config.link.model_dump_json(), uses, ctx.device)
    if key not in ctx.cache:
        ctx.cache[key] = SeparationLink(ctx.config.link, uses, ctx.device)
    result = ctx.cache[key](images, float(snr), ctx.generator)
    out = score(result.images.flatten(0, 1), images.flatten(0, 1))
    out.update(
        channel_uses=uses, n_subcarriers=uses // ctx.config.link.grid.num_ofdm_symbols, slots=1,
        bpp=result.source_bits.float().mean().item() / (H * W), delivered=result.delivered.float().mean().item(),
    )  # fmt: skip
    return out
