"""The `intent_images` method: intent-aware generative multicasting of CamVid images, scored.

The chain (optimiser -> streams -> digital PHY -> SDM -> composition) is
:class:`bridges.intent_multicast.IntentPipeline`; this method draws the user drops,
runs it per image and scores what each user shows against the original:
distortion on the user's true intended region (PSNR, 1 - MS-SSIM with mid-grey
outside), the perception proxy on the whole image (1 - MS-SSIM: LPIPS weights are
not on this machine), the latency measured on the air next to the optimiser's
prediction, and the stream losses.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from bridges.intent_multicast import IntentMulticastConfig, IntentPipeline
from phy.multicast import channel_gains
from semantic.metrics import masked_psnr, ms_ssim, psnr

from ..registry import Metric, PointContext, register_method
from .common import (
    SEMANTIC_METRICS,
    check_data,
    scenario_budget,
    semantic_scorer,
    source_pairs,
)

__all__ = ["IntentImagesOptions"]


class IntentImagesOptions(IntentMulticastConfig):
    """The pipeline's options (:class:`bridges.intent_multicast.IntentMulticastConfig`); users,
    power_mw, eps_r, eps_s, ... are also sweep axes."""


METRICS = [
    Metric("latency_ms", label="per-user latency, measured (ms)"),
    Metric("predicted_ms", label="per-user latency, planned (ms): the optimiser's, or the link-aware plan's"),
    Metric("shannon_ms", label="per-user latency the Shannon model promises for the drop (ms)"),
    Metric("latency_gap", label="measured / predicted latency"),
    Metric("latency_ratio", label="measured latency / T_g"),
    Metric("intended_psnr", label="PSNR on the intended region (dB)"),
    # The paper's Phi_r and Phi_s (1 - MS-SSIM), with as many scales as fit (4 at 128 px).
    Metric("intended_distortion", label="1 - MS-SSIM on the intended region"),
    Metric("perception", label="1 - MS-SSIM, whole image (perception proxy)"),
    Metric("distortion_met", label="share of users whose intended_distortion <= eps_r (the planned requirement)"),
    Metric("perception_met", label="share of users whose synthesis meets eps_s (1 - MS-SSIM to the real image)"),
    Metric("psnr", label="PSNR, whole image (dB)"),
    Metric("map_gap", label="map stream: measured / planned air time"),
    Metric("class_gap", label="class streams: measured / planned air time"),
    Metric("streams_lost", label="fraction of a user's streams lost"),
    Metric("map_accuracy", label="decoded map pixel accuracy"),
    Metric("source_rate", label="bits sent / |X| (bpp)"),
    *SEMANTIC_METRICS,
]


def _validate(config, opts: IntentImagesOptions, point: dict) -> None:
    if config.source is None or config.source.dataset != "camvid":
        raise ValueError("intent_images needs [source] dataset = 'camvid' (images with label maps)")
    check_data(config.source)
    size = config.source.image_size
    pipeline = IntentPipeline(opts, scenario_budget(config), (size, size))
    pipeline.problem(np.ones(opts.users))  # requirements below a curve's floor fail here


@register_method("intent_images", metrics=METRICS, options=IntentImagesOptions, validate=_validate)
def intent_images(ctx: PointContext) -> dict:
    """Intent-aware generative multicasting of real images over the digital PHY (Liu et al.), scored."""
    opts: IntentImagesOptions = ctx.options
    images, labels = source_pairs(ctx)
    size = tuple(images.shape[-2:])
    budget = scenario_budget(ctx.config)
    pipeline = ctx.cache.get(
        IntentPipeline, (opts, budget, size, ctx.device), lambda: IntentPipeline(opts, budget, size, ctx.device)
    )
    seed = int(torch.randint(0, 2**62, (1,), generator=ctx.generator))
    gains = channel_gains(pipeline.budget, (len(images), opts.users), np.random.default_rng(seed), opts.fading)
    values: dict[str, list[float]] = {m.name: [] for m in METRICS if not m.optional}
    eps_r, eps_s = pipeline.requirements()
    shown_all, truth_all, labels_all = [], [], []
    for n in range(len(images)):
        users, bits = pipeline.run(images[n], labels[n], gains[n], ctx.generator)
        shown = torch.stack([u.image for u in users])
        truth = images[n].expand_as(shown)
        region = pipeline.intended_region(labels[n])
        grey = torch.zeros_like(shown)
        inside = region.unsqueeze(1).expand_as(shown)
        distortion = 1 - ms_ssim(torch.where(inside, shown, grey), torch.where(inside, truth, grey))
        intended_psnr = masked_psnr(shown, truth, region)
        for k, u in enumerate(users):
            values["latency_ms"].append(u.measured_s * 1e3)
            values["predicted_ms"].append(u.predicted_s * 1e3)
            values["shannon_ms"].append(u.shannon_s * 1e3)
            values["latency_gap"].append(u.measured_s / u.predicted_s)
            values["latency_ratio"].append(u.measured_s / pipeline.generation_s if pipeline.generation_s else math.nan)
            values["streams_lost"].append(u.streams_lost / u.streams_sent)
            for kind, gap in u.stream_gaps:
                values[f"{kind}_gap"].append(float(gap))
            if region[k].any():  # a user whose classes are absent from this image has no intended region
                values["intended_psnr"].append(float(intended_psnr[k]))
                values["intended_distortion"].append(float(distortion[k]))
                values["distortion_met"].append(float(distortion[k] <= eps_r))
            if u.decoded_map is not None:
                values["map_accuracy"].append(float((u.decoded_map == labels[n]).float().mean()))
        values["perception"] += (1 - ms_ssim(shown, truth)).tolist()
        synthesis = torch.stack([u.synthesis if u.synthesis is not None else u.image for u in users])
        values["perception_met"] += ((1 - ms_ssim(synthesis, truth)) <= eps_s).float().tolist()
        values["psnr"] += psnr(shown, truth).tolist()
        values["source_rate"].append(bits / pipeline.pixels)
        shown_all.append(shown)
        truth_all.append(truth)
        labels_all.append(labels[n].expand(len(users), *labels[n].shape))
        ctx.progress(n + 1, len(images))
    out = {k: v if v else math.nan for k, v in values.items()}
    scorer = semantic_scorer(ctx)
    if scorer is not None:  # what every user shows, segmented, against the true map
        out.update(
            scorer(
                torch.cat(shown_all), torch.cat(truth_all), torch.cat(labels_all),
                per_class=ctx.config.scoring.per_class_iou,
            )  # fmt: skip
        )
    return out
