"""The image-method framework: what every method that sends the scenario's images shares.

- the scenario's images, per worker and per user (:func:`source_images`,
  :func:`user_images`, :func:`source_pairs`);
- option bases: :class:`TransmissionOptions` (how images ride the link and the
  SNR), :class:`MatchedBandwidthOptions` (baselines at a channel-use budget),
  :class:`DiffusionOptions` (the diffusion receivers' model and steps). Every
  field is also a plain sweep axis of the same name (``snr_db``, ``nm_ratio``,
  ``bandwidth_ratio``, ...): the engine sets it per point;
- :func:`received_at_point`: the one transmission every analog method at a
  (point, seed) sees (same channel, noise, allocation);
- scoring: :func:`score` (PSNR, SSIM, MS-SSIM per image and, when the images
  have label maps, ``miou``, ``miou_reference`` and ``fd_seg`` from the scenario's
  segmenter: :mod:`semantic.scoring`) and :func:`image_metrics` (plus the link's columns);
- :func:`register_image_method`: register with the image metrics and columns.
"""

from __future__ import annotations

import torch
from pydantic import Field

from bridges.transmit import BridgeConfig, ImageLink, Received, resolve_image_link
from phy.config import LinkBudgetConfig, StrictModel
from phy.rng import derive_seed, make_generator
from semantic.data import (
    CAMVID_CLASSES,
    CAMVID_NUM_CLASSES,
    CAMVID_VOID_ID,
    DATA_DIR_ENV,
    camvid_pairs,
    load_camvid,
    resolve_data_dir,
    sample_images,
)
from semantic.metrics import ms_ssim, ms_ssim_name, ms_ssim_scales, psnr, ssim
from semantic.pretrained import (
    DEFAULT_DIFFUSION,
    load_diffusion,
    load_pretrained,
    model_sample_size,
    resolve,
)
from semantic.scoring import SemanticScorer
from semantic.segmentation import DualResolutionSegmenter, segmenter_name

from ..registry import Metric, PointContext, register_method
from ..scenario import is_method_axis

__all__ = [
    "IMAGE_COLUMNS",
    "IMAGE_METRICS",
    "MS_SSIM_METRICS",
    "DiffusionOptions",
    "MatchedBandwidthOptions",
    "TransmissionOptions",
    "bridge_for",
    "check_data",
    "check_matched_point",
    "check_source",
    "diffusion_model",
    "diffusion_reception",
    "image_metrics",
    "physical_point",
    "received_at_point",
    "receiver_generator",
    "register_diffusion_method",
    "register_image_method",
    "scenario_budget",
    "score",
    "segmenter_for",
    "semantic_scorer",
    "source_images",
    "source_pairs",
    "user_images",
    "user_labels",
    "validate_diffusion",
    "validate_transmission",
]

#: Pixel metrics, and the semantic ones (empty where the images have no label maps).
SEMANTIC_METRICS = [
    Metric("miou", label="mIoU of the segmenter on the output", optional=True),
    Metric("miou_reference", label="mIoU of the segmenter on the original", optional=True),
    Metric("fd_seg", label="Frechet distance, segmenter features (not FID)", optional=True),
    *(
        Metric(
            f"iou_{name.lower()}", label=f"IoU of {name} (segmenter on the output)", optional=True,
            applies=lambda config: config.scoring.per_class_iou,
        )  # fmt: skip
        for name in CAMVID_CLASSES[:CAMVID_NUM_CLASSES]
    ),
]


def _ms_ssim_metric(scales: int) -> Metric:
    """MS-SSIM under the name of what it computes at the scenario's image size (:func:`ms_ssim_name`)."""
    name = "ms_ssim" if scales == 5 else f"ms_ssim_{scales}"
    return Metric(
        name, label=f"MS-SSIM, {scales} of 5 scales" if scales < 5 else "MS-SSIM", optional=True,
        applies=lambda config: config.source is not None and ms_ssim_scales(config.source.image_size) == scales,
    )  # fmt: skip


#: One column family per scale count; a scenario's table holds those its image sizes use.
MS_SSIM_METRICS = [_ms_ssim_metric(scales) for scales in range(1, 6)]
IMAGE_METRICS = [Metric("psnr"), Metric("ssim"), *MS_SSIM_METRICS, *SEMANTIC_METRICS]
IMAGE_COLUMNS = ("n_subcarriers", "m_entries", "slots", "channel_uses", "bpp", "bit_error_rate", "delivered")


# --- the scenario's images ---------------------------------------------------------------


def source_images(ctx: PointContext) -> torch.Tensor:
    """The scenario's images, float32 (num_images, 3, S, S) in [-1, 1], loaded once per worker."""
    source = ctx.config.source
    if source.dataset == "camvid":
        return source_pairs(ctx)[0]
    return ctx.cache.get(
        torch.Tensor, ("source-images", source), lambda: sample_images(source.image_size, source.num_images, source.transform)
    )


def user_labels(ctx: PointContext) -> torch.Tensor | None:
    """The label maps int64 (num_images, S, S) in the order of ``user_images(ctx).flatten(0, 1)``,
    or None when the source has none."""
    return source_pairs(ctx)[1] if ctx.config.source.dataset == "camvid" else None


def source_pairs(ctx: PointContext) -> tuple[torch.Tensor, torch.Tensor]:
    """The scenario's CamVid images with their label maps: float32 (N, 3, S, S), int64 (N, S, S)."""
    source = ctx.config.source
    return ctx.cache.get(
        tuple,
        ("source-pairs", source),
        lambda: load_camvid(
            source.data_dir, source.split, source.image_size, source.num_images, source.transform, labels=True,
            selection=source.selection,
        ),
    )


def user_images(ctx: PointContext) -> torch.Tensor:
    """The images as float32 (num_images / K, K, 3, S, S) on the run's device: each user gets its own."""
    images = source_images(ctx)
    K = ctx.config.link.grid.num_users
    return images.reshape(images.shape[0] // K, K, *images.shape[1:]).to(ctx.device)


def check_source(config) -> None:
    """ValueError unless the scenario has images that split evenly over the users and a usable segmenter."""
    if config.source is None:
        raise ValueError("needs a [source] table (the images to send)")
    K = config.link.grid.num_users
    if config.source.num_images % K:
        raise ValueError(
            f"source.num_images = {config.source.num_images} must be a multiple of link.grid.num_users = {K}"
        )
    check_data(config.source)
    name = segmenter_for(config)
    if name is not None and config.scoring.segmenter != "auto":
        try:
            resolve(name)
        except FileNotFoundError as exc:
            raise ValueError(f"scoring.segmenter: {exc}") from None
        if config.source.image_size % 8:
            raise ValueError(f"scoring.segmenter needs source.image_size a multiple of 8; got {config.source.image_size}")


def check_data(source) -> None:
    """ValueError (one line naming the key and the path) unless a CamVid source's folder, split and
    image count are there; nothing to check for the built-in sample photographs."""
    if source.dataset != "camvid":
        return
    key = "source.data_dir" if source.data_dir else f"source.data_dir (${DATA_DIR_ENV})"
    try:
        pairs = camvid_pairs(resolve_data_dir(source.data_dir), source.split)
    except FileNotFoundError as exc:
        raise ValueError(f"{key}: {exc}") from None
    if source.num_images > len(pairs):
        raise ValueError(f"source.num_images = {source.num_images} but CamVid {source.split} has {len(pairs)} images")


def segmenter_for(config) -> str | None:
    """The segmenter that scores the scenario's images: ``scoring.segmenter``, where ``auto`` is the
    shipped ``camvid-seg-<image size>`` for CamVid images when it exists; None: no semantic metrics."""
    name = config.scoring.segmenter
    if name in (None, "none") or config.source is None or config.source.dataset != "camvid":
        return None
    if name == "auto":
        name = segmenter_name(config.source.image_size)
        try:
            resolve(name)
        except FileNotFoundError:
            return None
    return name


def semantic_scorer(ctx: PointContext) -> SemanticScorer | None:
    """The scenario's :class:`~semantic.scoring.SemanticScorer` on the run's device (once per worker), or None."""
    name = segmenter_for(ctx.config)
    if name is None:
        return None
    return ctx.cache.get(
        SemanticScorer,
        ("segmenter", name, ctx.device),
        lambda: SemanticScorer(
            load_pretrained(name, DualResolutionSegmenter, ctx.device), CAMVID_NUM_CLASSES, CAMVID_VOID_ID, CAMVID_CLASSES
        ),
    )


def scenario_budget(config) -> LinkBudgetConfig:
    """The scenario's [link.budget], or the paper's Table II defaults (Liu et al.)."""
    return config.link.budget or LinkBudgetConfig()


# --- option bases ------------------------------------------------------------------------


class TransmissionOptions(BridgeConfig):
    """How the images ride the link (:class:`bridges.transmit.BridgeConfig`) and the SNR."""

    snr_db: float | None = Field(None, description="SNR per resource element (dB); or sweep snr_db")


class MatchedBandwidthOptions(StrictModel):
    """A baseline at a channel-use budget: k/n channel uses per source value and the SNR."""

    bandwidth_ratio: float | None = Field(
        None, gt=0, le=1, description="channel uses per source value k/n; or sweep bandwidth_ratio"
    )
    snr_db: float | None = Field(None, description="SNR per resource element (dB); or sweep snr_db")


class DiffusionOptions(TransmissionOptions):
    """A diffusion receiver: its model and number of sampling steps."""

    model: str = Field(DEFAULT_DIFFUSION, description="shipped name, diffusers folder, or hub id")
    steps: int = Field(50, ge=1, le=1000, description="sampling steps")


def bridge_for(options: BridgeConfig) -> BridgeConfig:
    """The bridge part of image-method options (their other fields dropped)."""
    return BridgeConfig.model_validate({k: getattr(options, k) for k in BridgeConfig.model_fields})


# --- validation ---------------------------------------------------------------------------


def validate_transmission(config, options: TransmissionOptions, point: dict) -> None:
    """ValueError for a point whose images cannot go over the link."""
    check_source(config)
    if options.snr_db is None:
        raise ValueError("set snr_db, or sweep it")
    shape = (3, config.source.image_size, config.source.image_size)
    resolve_image_link(config.link, bridge_for(options), shape)


def validate_diffusion(config, options: DiffusionOptions, point: dict) -> None:
    """:func:`validate_transmission`, and the model exists and generates the source's size."""
    validate_transmission(config, options, point)
    try:
        size = model_sample_size(options.model)
    except (FileNotFoundError, ConnectionError, OSError) as exc:
        raise ValueError(f"model: {exc}") from None
    if size != config.source.image_size:
        raise ValueError(
            f"model {options.model!r} generates {size}x{size} images but source.image_size = {config.source.image_size}"
        )


def check_matched_point(config, options: MatchedBandwidthOptions) -> float:
    """The bandwidth ratio of a matched-bandwidth point; ValueError when unset or not whole uses."""
    check_source(config)
    if options.bandwidth_ratio is None:
        raise ValueError("set bandwidth_ratio, or sweep it")
    if options.snr_db is None:
        raise ValueError("set snr_db, or sweep it")
    uses = options.bandwidth_ratio * 3 * config.source.image_size**2
    if abs(uses - round(uses)) > 1e-6:
        raise ValueError(
            f"bandwidth_ratio {options.bandwidth_ratio} gives {uses:g} channel uses per image, not a whole number"
        )
    return options.bandwidth_ratio


# --- the shared transmission ------------------------------------------------------------------


def physical_point(ctx: PointContext) -> tuple:
    """The point's axes that change what is drawn (all but ``methods.*``), as sorted (name, repr)."""
    return tuple(sorted((k, repr(v)) for k, v in ctx.axes.items() if not is_method_axis(k)))


def received_at_point(ctx: PointContext) -> tuple[ImageLink, Received]:
    """Send the scenario's images at this point with the method's bridge options.

    Methods at one (point, seed) draw the same channel and noise, so the
    transmission is computed once and shared (:meth:`sims.cache.WorkerCache.shared_draw`).
    """
    images = user_images(ctx)
    bridge = bridge_for(ctx.options)
    key = (ctx.config.link, bridge, tuple(images.shape[2:]), ctx.device)
    link = ctx.cache.get(ImageLink, key, lambda: ImageLink(ctx.config.link, bridge, tuple(images.shape[2:]), ctx.device))
    snr_db = float(ctx.options.snr_db)
    rx = ctx.cache.shared_draw(
        ("image-transmission", key, ctx.seed, physical_point(ctx), snr_db), lambda: link(images, snr_db, ctx.generator)
    )
    return link, rx


def diffusion_model(ctx: PointContext) -> tuple:
    """(UNet, scheduler) of ``ctx.options.model`` on the run's device, loaded once per worker."""
    return ctx.cache.get(tuple, ("diffusion", ctx.options.model, ctx.device), lambda: load_diffusion(ctx.options.model, ctx.device))


def receiver_generator(ctx: PointContext, name: str) -> torch.Generator:
    """The receiver's own stream: the link's draws stay those of every other method."""
    return make_generator(derive_seed(ctx.seed, name, *sorted((k, repr(v)) for k, v in ctx.axes.items())), ctx.device)


def diffusion_reception(ctx: PointContext, name: str) -> tuple[ImageLink, Received, tuple, torch.Generator]:
    """What a diffusion receiver starts from: (link, the shared reception, (UNet, scheduler),
    the receiver's own generator named ``name``)."""
    link, rx = received_at_point(ctx)
    return link, rx, diffusion_model(ctx), receiver_generator(ctx, name)


# --- scoring and registration -------------------------------------------------------------------


def register_image_method(kind: str, options: type[StrictModel], validate=validate_transmission):
    """Register a method that sends the scenario's images and scores what a user gets."""
    return register_method(kind, metrics=IMAGE_METRICS, options=options, extra_columns=IMAGE_COLUMNS, validate=validate)


def register_diffusion_method(kind: str, options: type[DiffusionOptions]):
    """Register a diffusion receiver: an image method whose model must exist and fit the source."""
    return register_image_method(kind, options, validate_diffusion)


def score(ctx: PointContext, estimate: torch.Tensor, reference: torch.Tensor) -> dict:
    """PSNR, SSIM and MS-SSIM (named by its scale count, :func:`ms_ssim_name`) per image of float32
    (N, C, H, W) estimates against the scenario's images (N, C, H, W, in :func:`user_images` order),
    and ``miou``, ``miou_reference``, ``fd_seg`` when they have label maps and a segmenter
    (:func:`segmenter_for`)."""
    out = {
        "psnr": psnr(estimate, reference), "ssim": ssim(estimate, reference),
        ms_ssim_name(min(estimate.shape[-2:])): ms_ssim(estimate, reference),
    }  # fmt: skip
    scorer, labels = semantic_scorer(ctx), user_labels(ctx)
    if scorer is not None and labels is not None:
        out.update(scorer(estimate, reference, labels, per_class=ctx.config.scoring.per_class_iou))
    return out


def image_metrics(ctx: PointContext, estimate: torch.Tensor, link: ImageLink, rx: Received) -> dict:
    """Per-image scores (:func:`score`) of ``estimate`` float32 (B, K, C, H, W) and the link's columns."""
    estimate, reference = estimate.flatten(0, 1), rx.images.flatten(0, 1)
    out = score(ctx, estimate, reference)
    out.update(
        n_subcarriers=link.subcarriers_per_user, m_entries=link.entries_per_symbol, slots=rx.slots,
        channel_uses=rx.slots * (link.layout.num_ofdm_symbols * link.subcarriers_per_user + link.link_config.pilot_res_per_user),
    )  # fmt: skip  (with estimated CSI the link's pilot symbols count)
    if rx.bit_errors is not None:
        payload_bits = 2 * rx.y.shape[-2] * link.subcarriers_per_user * link.bridge.bits_per_pixel
        out["bit_error_rate"] = rx.bit_errors.sum().item() / (payload_bits * rx.bit_errors.numel())
    return out
