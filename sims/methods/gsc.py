"""The `gsc` and `mu_gsc` methods: Swin-JSCC + SFT (Zhang et al., seed 002), at matched bandwidth.

Every user's image is encoded by Swin-JSCC into ``bandwidth_ratio * 3 H W / 2`` complex
symbols that ride the OFDMA link as DeepJSCC's do (:class:`bridges.jscc.SymbolLink`: the
same grid, so the same channel and noise draws as ``deepjscc`` at the point, perfect CSI),
are decoded and refined by the SFT module (:mod:`semantic.gsc`).

- ``gsc``: the single-user system of Fig. 4a-b, one request at a time; ``sft = false`` is the
  paper's NGF ablation (the Swin decoder's image as it is).
- ``mu_gsc``: MU-GSC (Fig. 4c-d, Table I): the point's K users' requests served together by
  :class:`semantic.gsc.MultiUserServer` (batching across users, decode/refine pipeline, cache).
  Its images are ``gsc``'s (bitwise with ``max_batch = 1``; to float32 rounding otherwise).

Both draw Z_T for each request from the same receiver stream, and record the receiver's wall
time per image (``receiver_ms_per_image``; a timing, not a result: ``sims/bench/gsc.py``
measures the MU-GSC / GSC ratio properly).
"""

from __future__ import annotations

import time
from fractions import Fraction

import torch
from pydantic import Field

from bridges.jscc import SymbolLink
from semantic.gsc import GscReceiver, MultiUserServer, Request
from semantic.jscc import jscc_name, load_jscc
from semantic.pretrained import load_pretrained
from semantic.receivers.sft import SemanticFineTuning

from ..registry import PointContext, register_method
from .common import (
    IMAGE_COLUMNS,
    IMAGE_METRICS,
    MatchedBandwidthOptions,
    check_matched_point,
    receiver_generator,
    score,
    user_images,
)

__all__ = ["GSC_CHANNELS", "GscOptions", "MuGscOptions", "gsc_models"]

#: Channel kind -> the channel the shipped Swin-JSCC and SFT were trained on.
GSC_CHANNELS = {"awgn": "awgn", "rayleigh_block": "rayleigh", "rayleigh_iid": "rayleigh"}


class GscOptions(MatchedBandwidthOptions):
    """The codec, the refiner, and whether it refines (NGF without)."""

    sft: bool = Field(True, description="refine with the SFT module; false = the paper's NGF ablation")
    codec: str | None = Field(None, description="Swin-JSCC name or folder (default swinjscc-<channel>-<ratio>)")
    refiner: str | None = Field(None, description="SFT name or folder (default sft-<channel>-<ratio>)")


class MuGscOptions(GscOptions):
    """MU-GSC's server settings."""

    max_batch: int = Field(16, ge=1, description="requests per network call, across users (1: no batching)")
    cache_size: int = Field(1024, ge=0, description="results the server keeps for repeated requests (0: none)")
    pipeline: bool = Field(False, description="decode the next batch in a worker thread while refining this one (slower on a 2-core CPU)")


def gsc_models(config, options: GscOptions) -> tuple[str, str | None]:
    """(codec name, refiner name or None) for the point's channel and bandwidth ratio."""
    ratio = Fraction(options.bandwidth_ratio).limit_denominator(1000)
    if options.codec is not None and (options.refiner is not None or not options.sft):
        return options.codec, options.refiner if options.sft else None
    kind = config.link.channel.kind
    if kind not in GSC_CHANNELS:
        raise ValueError(f"no shipped Swin-JSCC / SFT is trained on channel kind {kind!r}: set codec and refiner")
    channel = GSC_CHANNELS[kind]
    suffix = jscc_name(channel, ratio).removeprefix("deepjscc-")
    codec = options.codec or f"swinjscc-{suffix}"
    refiner = (options.refiner or f"sft-{suffix}") if options.sft else None
    return codec, refiner


def _validate(config, options: GscOptions, point: dict) -> None:
    ratio = check_matched_point(config, options)
    codec_name, refiner_name = gsc_models(config, options)
    try:
        codec = load_jscc(codec_name)
        sft = load_pretrained(refiner_name, SemanticFineTuning) if refiner_name else None
    except FileNotFoundError as exc:
        raise ValueError(str(exc)) from None
    if abs(float(codec.ratio) - ratio) > 1e-9:
        raise ValueError(f"codec {codec_name!r} has bandwidth ratio {codec.ratio}, the point asks for {ratio}")
    size = config.source.image_size
    if sft is not None:
        sft.check_size(size, size)
    SymbolLink(config.link, codec.num_symbols(size, size), codec.config.pilot_symbols)


def _receiver(ctx: PointContext) -> GscReceiver:
    codec_name, refiner_name = gsc_models(ctx.config, ctx.options)
    codec = ctx.cache.get(torch.nn.Module, (codec_name, ctx.device), lambda: load_jscc(codec_name, ctx.device))
    sft = None
    if refiner_name is not None:
        sft = ctx.cache.get(
            SemanticFineTuning, (refiner_name, ctx.device),
            lambda: load_pretrained(refiner_name, SemanticFineTuning, ctx.device),
        )  # fmt: skip
    size = ctx.config.source.image_size
    return GscReceiver(codec, sft, size, size)


def _received(ctx: PointContext, receiver: GscReceiver) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, SymbolLink]:
    """(images (B, K, 3, H, W), received symbols (B K, k), Z_T (B K, 4C'), link) at the point."""
    images = user_images(ctx)
    B, K, _, H, W = images.shape
    codec = receiver.codec
    k = codec.num_symbols(H, W)
    link = ctx.cache.get(
        SymbolLink, (ctx.config.link, k, 0, ctx.device), lambda: SymbolLink(ctx.config.link, k, 0, ctx.device)
    )
    with torch.no_grad():
        z = codec.encode(images.flatten(0, 1)).reshape(B, K, k)
        z_hat, _, _ = link(z, float(ctx.options.snr_db), ctx.generator)
    g = receiver_generator(ctx, "gsc-prior")
    z_T = torch.randn(B * K, receiver.prior_dim, generator=g, device=g.device).to(ctx.device)
    return images, z_hat.flatten(0, 1), z_T, link


def _result(ctx: PointContext, estimate: torch.Tensor, images: torch.Tensor, link: SymbolLink, seconds: float) -> dict:
    out = score(ctx, estimate, images.flatten(0, 1))
    out.update(
        channel_uses=link.channel_uses, n_subcarriers=link.subcarriers, slots=1,
        receiver_ms_per_image=1e3 * seconds / estimate.shape[0],
    )  # fmt: skip
    return out


@register_method(
    "gsc", metrics=IMAGE_METRICS, options=GscOptions, extra_columns=(*IMAGE_COLUMNS, "receiver_ms_per_image"),
    validate=_validate,
)  # fmt: skip
def gsc(ctx: PointContext) -> dict:
    """GSC: Swin-JSCC through the link, then the SFT refiner (NGF with ``sft = false``), one request at a time."""
    receiver = _receiver(ctx)
    images, symbols, z_T, link = _received(ctx, receiver)
    start = time.perf_counter()
    estimate = torch.cat([receiver(symbols[i : i + 1], z_T[i : i + 1]) for i in range(symbols.shape[0])])
    return _result(ctx, estimate, images, link, time.perf_counter() - start)


@register_method(
    "mu_gsc", metrics=IMAGE_METRICS, options=MuGscOptions,
    extra_columns=(*IMAGE_COLUMNS, "receiver_ms_per_image", "cache_hits", "batches"), validate=_validate,
)  # fmt: skip
def mu_gsc(ctx: PointContext) -> dict:
    """MU-GSC: the point's requests (every user's) served together by the multi-user server."""
    receiver = _receiver(ctx)
    images, symbols, z_T, link = _received(ctx, receiver)
    K = images.shape[1]
    server = MultiUserServer(receiver, ctx.options.max_batch, ctx.options.cache_size, ctx.options.pipeline)
    requests = [Request(i % K, symbols[i], z_T[i]) for i in range(symbols.shape[0])]
    estimate = torch.stack(server.serve(requests))
    out = _result(ctx, estimate, images, link, server.stats.wall_s)
    out.update(cache_hits=server.stats.cache_hits, batches=server.stats.batches)
    return out
