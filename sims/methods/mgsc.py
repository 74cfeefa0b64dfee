"""The `mgsc` and `mgsc_swinjscc` methods: M-GSC's decoding offloading vs Swin-JSCC (seed 003, Fig. 6).

The three users are CamVid's three train sequences (:mod:`semantic.scenes`); each point
scores ``frames_per_scene`` held-out frames of every scene (spread over the held-out tail),
frames of all users side by side as the link's K = 3 users.

- ``mgsc``: each frame's vehicles go as 5-bit boxes (20 bits each, error-free); the edge runs
  the first ``offload_steps`` of T = 1000 DDPM steps with the cluster-wide model, sends x_{T-s}
  analog over the scenario's link (:class:`bridges.split_denoising.AnalogHop`; noiseless when
  ``snr_db`` is unset), and the user finishes with its scene's local model
  (:func:`semantic.receivers.split_ddpm.split_sample`; ``channel_aware`` resumes at the step
  the channel noise corresponds to). ``inference_steps`` strides the chain (100 by default on
  this CPU; 1000 is the paper's).
- ``mgsc_swinjscc``: the benchmark: Swin-JSCC (trained on AWGN, 1/6) sends the frame itself;
  ``repetitions`` r sends its symbols r times with maximum-ratio combining, so r = 3 occupies
  the 3 S^2 / 2 resource elements the analog intermediate image does (matched channel uses).

Scores (per frame): ``psnr``, ``ssim``, MS-SSIM at the scales 32 px allows, the segmenter's
``miou`` / ``miou_reference`` / ``fd_seg`` (the LPIPS substitute: no LPIPS weights here),
and the YOLO substitute: ``box_iou``, the mean over the sent boxes of the best IoU with
the boxes of the segmenter's ``Car`` components on the decoded image, and ``mask_iou``, the
IoU of its car mask with the sent boxes' mask; ``*_reference`` on the original frame.
Frames without vehicles have no box scores. ``mgsc`` also reports its latency
(:class:`~bridges.split_denoising.OffloadLatency`: each user's local model and the cluster model
timed here per image-step at batch 1 unless ``t_user_ms`` is set, the edge ``edge_speedup``
times faster than this machine) and its bits.
"""

from __future__ import annotations

import time

import torch
from pydantic import Field

from bridges.jscc import SymbolLink
from bridges.split_denoising import POWER_BITS, AnalogHop, OffloadLatency, send_repeated
from phy.config import StrictModel
from phy.rng import derive_seed, make_generator
from semantic.boxes import (
    box_bits,
    box_mask,
    boxes_from_labels,
    dequantize_boxes,
    matched_box_iou,
)
from semantic.data import (
    CAMVID_LABEL_IDS,
    camvid_pairs,
    resolve_data_dir,
    select_frames,
)
from semantic.jscc import load_jscc
from semantic.metrics import ms_ssim, ms_ssim_name, psnr, ssim
from semantic.pretrained import load_pretrained
from semantic.receivers.sdm import SemanticUNet, majority_downsample
from semantic.receivers.split_ddpm import box_condition, split_sample
from semantic.scenes import CAMVID_CAR_ID, CAMVID_SEQUENCES, load_scenes
from semantic.segmentation import segment

from ..registry import Metric, PointContext, register_method
from .common import IMAGE_METRICS, semantic_scorer

__all__ = ["MgscOptions", "MgscSwinOptions", "scene_frames"]

BOX_METRICS = [
    Metric("box_iou", label="box IoU (segmenter's car components vs the sent boxes)", optional=True),
    Metric("box_iou_reference", label="box IoU on the original frames", optional=True),
    Metric("mask_iou", label="IoU of the segmenter's car mask with the sent boxes", optional=True),
    Metric("mask_iou_reference", label="car-mask IoU on the original frames", optional=True),
]
LATENCY_METRICS = [Metric("latency_s", label="decoding latency (s)"), Metric("user_steps", label="steps at the user")]


class SceneOptions(StrictModel):
    """Which held-out frames of the three scenes, and how boxes are taken."""

    frames_per_scene: int = Field(8, ge=1, description="held-out frames per scene (users = the 3 CamVid sequences)")
    holdout: float = Field(0.2, gt=0, lt=1, description="held-out tail of each sequence (as the models were trained)")
    label_size: int = Field(128, ge=8, description="side of the label maps the boxes are taken from")
    min_area: float = Field(0.004, ge=0, lt=1, description="smallest vehicle component, fraction of the frame")
    snr_db: float | None = Field(None, description="SNR per resource element (dB) of the analog link; unset: noiseless")


class MgscOptions(SceneOptions):
    """The split: how many steps the edge runs, with which models, and the latency model."""

    offload_steps: int = Field(650, ge=0, le=1000, description="s: steps of T = 1000 run at the edge (the paper: 350, 650)")
    channel_aware: bool = Field(False, description="resume at the step whose noise level matches the received image")
    inference_steps: int = Field(100, ge=1, le=1000, description="scheduled DDPM steps (1000: the paper's full chain)")
    cluster_model: str = Field("camvid-boxddpm-cluster-32", description="the edge's cluster-wide model (name or folder)")
    local_model: str = Field("camvid-boxddpm-{scene}-32", description="each user's model; {scene} = the lower-case sequence")
    edge_speedup: float = Field(2.0, gt=0, description="the edge's speed over the user's: edge step time = time here / edge_speedup")
    t_user_ms: float | None = Field(None, gt=0, description="user time per image-step (ms); unset: measured here")
    symbol_rate: float = Field(1e6, gt=0, description="resource elements per second of the edge-user link")


class MgscSwinOptions(SceneOptions):
    """The Swin-JSCC benchmark at a channel-use budget."""

    codec: str = Field("swinjscc-awgn-1_6", description="Swin-JSCC name or folder")
    repetitions: int = Field(3, ge=1, description="sends of the codec's symbols, combined (3 at 1/6 = the analog image's uses)")


def scene_frames(ctx: PointContext) -> dict:
    """The point's frames, on the run's device, cached per worker: ``images`` (F, 3, 3, S, S)
    (frame f of user k), ``labels`` (F 3, L, L), ``codes`` (F 3 box codes), ``references`` (F 3, 3, S, S)."""
    o, source = ctx.options, ctx.config.source

    def build():
        scenes = load_scenes(source.data_dir, image_size=source.image_size, label_size=o.label_size, holdout=o.holdout, min_area=o.min_area)
        picks = [[s.test_index[i] for i in select_frames(len(s.test_index), o.frames_per_scene, "spread")] for s in scenes]
        F = o.frames_per_scene
        order = [(k, picks[k][f]) for f in range(F) for k in range(len(scenes))]  # frame-major: index f K + k
        return {
            "images": torch.stack([scenes[k].images[i] for k, i in order]).reshape(F, len(scenes), 3, source.image_size, source.image_size),
            "labels": torch.stack([scenes[k].labels[i] for k, i in order]),
            "codes": [scenes[k].codes[i] for k, i in order],
            "references": torch.stack([scenes[k].reference for k, _ in order]),
            "owner": torch.tensor([k for k, _ in order]),
        }

    key = ("mgsc-frames", source.data_dir, source.image_size, o.frames_per_scene, o.holdout, o.label_size, o.min_area)
    return ctx.cache.get(dict, key, build)


def _validate(config, options: SceneOptions, point: dict) -> None:
    if config.source is None or config.source.dataset != "camvid":
        raise ValueError("source.dataset must be camvid (the scenes are CamVid's train sequences)")
    try:
        camvid_pairs(resolve_data_dir(config.source.data_dir), "train")
    except FileNotFoundError as exc:
        raise ValueError(f"source.data_dir: {exc}") from None
    if config.link.grid.num_users != len(CAMVID_SEQUENCES):
        raise ValueError(f"link.grid.num_users must be {len(CAMVID_SEQUENCES)} (one user per CamVid sequence)")
    size = config.source.image_size
    if isinstance(options, MgscOptions):
        AnalogHop(config.link, size)
        for name in [options.cluster_model, *(options.local_model.format(scene=s.lower()) for s in CAMVID_SEQUENCES)]:
            try:
                model = load_pretrained(name, SemanticUNet)
            except FileNotFoundError as exc:
                raise ValueError(str(exc)) from None
            if model.config["label_channels"] != 4:
                raise ValueError(f"{name}: not a box-conditioned model (label_channels {model.config['label_channels']})")
    else:
        codec = load_jscc(options.codec)
        SymbolLink(config.link, codec.num_symbols(size, size) * options.repetitions)


def _box_scores(segmenter, images: torch.Tensor, sent: list[torch.Tensor], min_area: float) -> tuple[list, list]:
    """(box IoU per frame with vehicles, car-mask IoU per such frame) of images (N, 3, S, S)
    against the sent boxes: the segmenter's ``Car`` components stand for YOLO's detections."""
    S = images.shape[-1]
    box, mask = [], []
    for pred, boxes in zip(segment(segmenter, images).cpu(), sent):
        if not len(boxes):
            continue
        box.append(matched_box_iou(boxes, boxes_from_labels(pred, CAMVID_CAR_ID, min_area)))
        target, car = box_mask(boxes, S, S).bool(), pred == CAMVID_CAR_ID
        mask.append(float((target & car).sum() / (target | car).sum()))
    return box, mask


def _score(ctx: PointContext, estimate: torch.Tensor, frames: dict) -> dict:
    """Per-frame pixel, segmentation and box scores of estimates (N, 3, S, S) in frame order."""
    reference = frames["images"].flatten(0, 1).to(estimate.device)
    S = estimate.shape[-1]
    out = {"psnr": psnr(estimate, reference), "ssim": ssim(estimate, reference), ms_ssim_name(S): ms_ssim(estimate, reference)}
    scorer = semantic_scorer(ctx)
    labels = majority_downsample(frames["labels"], CAMVID_LABEL_IDS, (S, S)).to(estimate.device)
    out.update(scorer(estimate, reference, labels))
    sent = [dequantize_boxes(c) for c in frames["codes"]]
    box, mask = _box_scores(scorer.model, estimate, sent, ctx.options.min_area)
    # the originals' scores depend only on the frames: computed once per worker
    key = ("mgsc-reference-boxes", id(frames), ctx.options.min_area)
    box_ref, mask_ref = ctx.cache.get(tuple, key, lambda: _box_scores(scorer.model, reference, sent, ctx.options.min_area))
    if box:
        out.update(box_iou=box, mask_iou=mask, box_iou_reference=box_ref, mask_iou_reference=mask_ref)
    return out


def _step_time(ctx: PointContext, name: str, model: SemanticUNet, condition: torch.Tensor) -> float:
    """Seconds per image-step of a model at batch 1 on the run's device (median of 30 after
    warm-up), measured once per worker: a measurement, so it moves with the machine's load."""

    def measure():
        x, t = torch.zeros(1, 3, *condition.shape[-2:], device=ctx.device), torch.tensor(500, device=ctx.device)
        times = []
        with torch.no_grad():
            for i in range(32):
                if ctx.device.startswith("cuda"):
                    torch.cuda.synchronize()
                start = time.perf_counter()
                model(x, t, condition[:1])
                if ctx.device.startswith("cuda"):
                    torch.cuda.synchronize()
                times.append(time.perf_counter() - start)
        return sorted(times[2:])[15]

    return ctx.cache.get(float, ("mgsc-step-time", name, ctx.device), measure)


@register_method(
    "mgsc", metrics=[*IMAGE_METRICS, *BOX_METRICS, *LATENCY_METRICS], options=MgscOptions,
    extra_columns=("edge_steps", "channel_uses", "box_bits", "analog_values", "t_user_ms", "t_edge_ms"), validate=_validate,
)  # fmt: skip
def mgsc(ctx: PointContext) -> dict:
    """M-GSC: boxes error-free, the first s DDPM steps at the edge, x_{T-s} analog, the rest at the user."""
    o = ctx.options
    frames = scene_frames(ctx)
    load = lambda name: ctx.cache.get(SemanticUNet, (name, ctx.device), lambda: load_pretrained(name, SemanticUNet, ctx.device))  # noqa: E731
    edge = load(o.cluster_model)
    locals_ = [load(o.local_model.format(scene=s.lower())) for s in CAMVID_SEQUENCES]
    condition = box_condition(frames["codes"], frames["references"]).to(ctx.device)
    F, K, _, S, _ = frames["images"].shape
    hop = ctx.cache.get(AnalogHop, (ctx.config.link, S, ctx.device), lambda: AnalogHop(ctx.config.link, S, ctx.device))

    def link(x):
        y, noise_var = hop(x.reshape(F, K, *x.shape[1:]), o.snr_db, ctx.generator)
        return y.reshape(x.shape), noise_var.reshape(-1)

    g = make_generator(derive_seed(ctx.seed, "mgsc-sampler"), ctx.device)  # x_T and ancestral draws: seed only
    result = split_sample(
        edge, locals_, condition, g, o.offload_steps, o.inference_steps,
        link=None if o.snr_db is None else link, channel_aware=o.channel_aware, owner=frames["owner"].to(ctx.device),
    )  # fmt: skip
    out = _score(ctx, result.images, frames)
    names = [o.local_model.format(scene=s.lower()) for s in CAMVID_SEQUENCES]
    if o.t_user_ms is not None:
        t_users, t_edge = [o.t_user_ms / 1e3] * len(names), o.t_user_ms / 1e3 / o.edge_speedup
    else:
        t_users = [_step_time(ctx, name, model, condition) for name, model in zip(names, locals_)]
        t_edge = _step_time(ctx, o.cluster_model, edge, condition) / o.edge_speedup
    counts = [len(c) for c in frames["codes"]]
    uses = hop.channel_uses if result.edge_steps else 0
    owner = frames["owner"].tolist()
    latency = [
        OffloadLatency(t_users[k], t_edge, o.symbol_rate)(result.edge_steps, float(u), hop.channel_uses, m)
        for k, u, m in zip(owner, result.user_steps.tolist(), counts)
    ]
    out.update(
        latency_s=latency, user_steps=result.user_steps.float(), edge_steps=result.edge_steps, channel_uses=uses,
        box_bits=sum(box_bits(m) for m in counts) / len(counts) + (POWER_BITS if result.edge_steps else 0),
        analog_values=2 * uses, t_user_ms=1e3 * sum(t_users) / len(t_users), t_edge_ms=1e3 * t_edge,
    )  # fmt: skip
    return out


@register_method(
    "mgsc_swinjscc", metrics=[*IMAGE_METRICS, *BOX_METRICS], options=MgscSwinOptions,
    extra_columns=("channel_uses",), validate=_validate,
)  # fmt: skip
def mgsc_swinjscc(ctx: PointContext) -> dict:
    """Swin-JSCC on the scenes' frames, its symbols sent ``repetitions`` times (matched channel uses)."""
    o = ctx.options
    frames = scene_frames(ctx)
    codec = ctx.cache.get(torch.nn.Module, (o.codec, ctx.device), lambda: load_jscc(o.codec, ctx.device))
    images = frames["images"].to(ctx.device)
    F, K, _, S, _ = images.shape
    k = codec.num_symbols(S, S)
    link = ctx.cache.get(
        SymbolLink, (ctx.config.link, k * o.repetitions, ctx.device),
        lambda: SymbolLink(ctx.config.link, k * o.repetitions, 0, ctx.device),
    )  # fmt: skip
    with torch.no_grad():
        z = codec.encode(images.flatten(0, 1)).reshape(F, K, k)
        if o.snr_db is not None:
            z = send_repeated(link, z, o.repetitions, o.snr_db, ctx.generator)
        estimate = codec.decode(z.flatten(0, 1), S, S).clamp(-1, 1)
    out = _score(ctx, estimate, frames)
    out["channel_uses"] = link.channel_uses
    return out
