"""The `intent_images` method: intent-aware generative multicasting of real images, end to end.

Per image (one user drop: distances from the link budget, optional fading):

1. the latency optimiser (:func:`phy.multicast.solve`, or the NGM / FGM schemes)
   picks the map's power and rate (p0, r0) and each wanted class's (p_l, r_l),
   using rate curves measured on CamVid (:mod:`sims.reports.rate_curves`);
2. the label map is coded at r0 (JPEG of the map, or a lossless codec) and each
   wanted class at r_l (:func:`semantic.codecs.streams.code_class_region`);
3. every stream goes through the digital PHY (:class:`bridges.streams.StreamLink`:
   CRC, 5G LDPC, QAM, link adaptation) at the SNR its power gives each receiver,
   p g_k / (B N0); a lost stream is counted, never repaired;
4. user k decodes the map, synthesises the image from it with the SDM
   (:func:`semantic.receivers.sdm.synthesize`) and composes
   Y_k = M_I * (its decoded classes) + M_N * synthesis, with the masks of its
   *decoded* map, inside the class stream's box (a class whose stream was lost
   is synthesised; a user who lost the map shows the unconditional synthesis);
5. metrics against the original: distortion on the user's true intended region
   (PSNR, 1 - MS-SSIM with mid-grey outside), the perception proxy on the whole
   image (1 - MS-SSIM), the latency measured on the air
   T_k = max(T_g + air_k0, max_l air_kl) next to the optimiser's prediction.

The optimiser's latency model uses Shannon rates; the PHY reaches them only up
to its MCS table, the link adaptation's backoff, codeword granularity, the
frame header and CRC. ``planning_gap_db`` lets the optimiser plan with the
gap (rates B log2(1 + SNR / gap)) so that prediction and measurement can be
compared both ways.

NGM sends the whole image as one JPEG at r_NGM with all the power (no
synthesis); FGM sends only the map at r_FGM and every user shows the synthesis.

Scale: the images are |X| = S x S pixels (e.g. 128 x 128), not the paper's
512 x 256; with the paper's 1 MHz bands every transmission is |X| / (512 x 256)
as long, so T_g defaults to 2 ms scaled by the same factor, keeping the ratio of
synthesis to transmission time (and the plotted T / T_g) the paper's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from pydantic import Field

from bridges.streams import StreamLink
from phy.config import LinkBudgetConfig, StrictModel
from phy.multicast import (
    PAPER_DISTORTION,
    PAPER_PERCEPTION,
    ExpCurve,
    MulticastProblem,
    channel_gains,
    fgm_latencies,
    fgm_rate,
    intent_matrix,
    min_rate,
    ngm_latencies,
    ngm_rate,
    noise_psd_w_hz,
    solve,
    stream_latency,
)
from semantic.codecs import streams
from semantic.metrics import masked_psnr, ms_ssim, psnr
from semantic.receivers.sdm import load_sdm, synthesize

from ..registry import Metric, PointContext, register_method
from .images import source_pairs
from .multicast import scenario_budget, with_axes

__all__ = ["CAMVID_DISTORTION", "CAMVID_PERCEPTION", "IntentImagesOptions", "IntentPipeline", "UserOutcome"]

CAMVID_CLASSES = 11
MAP_IDS = CAMVID_CLASSES + 1
PAPER_PIXELS = 512 * 256
#: Intent column -> CamVid class: the objects a user is likeliest to ask for first
#: (car, pedestrian, road, sign, bicyclist, pavement, pole, fence, building, tree, sky).
CLASS_ORDER = (8, 9, 3, 6, 10, 4, 2, 7, 1, 5, 0)

#: Fits (a, b, c) measured by ``python -m sims.reports.rate_curves`` (CamVid val, 32 images
#: at 128 x 128, |Xbar| = |X| / 10, camvid-sdm-32 with s = 1.5 and 50 DDIM steps).
CAMVID_DISTORTION = (0.03060, 1.1087, 0.000646)
CAMVID_PERCEPTION = (0.51522, 12.2579, 0.52701)

INTENT_AXES = ("users", "power_mw", "eps_r", "eps_s")


class IntentImagesOptions(StrictModel):
    """Defaults: measured CamVid curves, the paper's budget and bands, |Xbar| = |X| / 10."""

    scheme: Literal["proposed", "ngm", "fgm"] = "proposed"
    users: int = Field(3, gt=0, le=CAMVID_CLASSES)
    power_mw: float = Field(100.0, gt=0, description="P_T")
    intents: str | list[list[int]] = Field("disjoint", description="disjoint | shared | chain | K x L 0/1 list")
    classes: list[int] = Field(list(CLASS_ORDER), description="CamVid class of each intent column")
    eps_r: float | None = Field(None, gt=0, description="distortion requirement on `distortion`; default from paper_eps")
    eps_s: float | None = Field(None, gt=0, description="perception requirement on `perception`; default from paper_eps")
    paper_eps: list[float] = Field(
        [0.02850, 0.58705],
        min_length=2,
        max_length=2,
        description="(eps_r, eps_s) on the paper's curves, used where eps_r / eps_s are unset: translated to "
        "the measured curves at the rates they imply on the paper's (the same bits per pixel)",
    )
    distortion: list[float] = Field(
        list(CAMVID_DISTORTION), min_length=3, max_length=3, description="[a, b, c] of Phi_r = a exp(-b r) + c"
    )
    perception: list[float] = Field(
        list(CAMVID_PERCEPTION), min_length=3, max_length=3, description="[a, b, c] of Phi_s = a exp(-b r) + c"
    )
    generation_ms: float | None = Field(None, ge=0, description="T_g; default 2 ms x |X| / (512 x 256)")
    class_fraction: float = Field(0.1, gt=0, le=1, description="|Xbar| / |X|")
    map_codec: Literal["jpeg", "rle", "png"] = Field("jpeg", description="jpeg at r0, or lossless (r0 ignored)")
    fading: bool = False
    mcs_policy: Literal["per_user", "worst"] = "per_user"
    backoff_db: float = Field(3.0, ge=0, description="link adaptation margin (dB)")
    planning_gap_db: float = Field(
        0.0, ge=0, description="the optimiser plans with B log2(1 + SNR / gap): 0 = the paper's Shannon rates"
    )
    sdm: str = "camvid-sdm-32"
    guidance: float = Field(1.5, ge=0)
    ddim_steps: int = Field(50, ge=1, le=1000)


METRICS = [
    Metric("latency_ms", label="per-user latency, measured (ms)"),
    Metric("predicted_ms", label="per-user latency, optimiser (ms)"),
    Metric("latency_gap", label="measured / predicted latency"),
    Metric("latency_ratio", label="measured latency / T_g"),
    Metric("intended_psnr", label="PSNR on the intended region (dB)"),
    Metric("intended_distortion", label="1 - MS-SSIM on the intended region"),
    Metric("perception", label="1 - MS-SSIM, whole image (perception proxy)"),
    Metric("psnr", label="PSNR, whole image (dB)"),
    Metric("map_gap", label="map stream: measured / planned air time"),
    Metric("class_gap", label="class streams: measured / planned air time"),
    Metric("streams_lost", label="fraction of a user's streams lost"),
    Metric("map_accuracy", label="decoded map pixel accuracy"),
    Metric("source_rate", label="bits sent / |X| (bpp)"),
]


@dataclass
class UserOutcome:
    """One user's image and timing at one drop."""

    image: torch.Tensor  #: float32 (3, H, W) what the user shows
    measured_s: float  #: T_k from the air times (and T_g where the user synthesises)
    predicted_s: float  #: T_k of the optimiser's (or the scheme's) latency model
    streams_sent: int
    streams_lost: int
    decoded_map: torch.Tensor | None  #: int64 (H, W), None when the scheme sends none or it was lost
    synthesis: torch.Tensor | None = None  #: float32 (3, H, W) the SDM's image behind the composition
    #: measured / planned air time of each of the user's delivered streams: ("map" | "class", ratio)
    stream_gaps: list[tuple[str, float]] = field(default_factory=list)


def _settings(options: IntentImagesOptions, point: dict) -> IntentImagesOptions:
    return with_axes(options, point, INTENT_AXES)


class IntentPipeline:
    """The end-to-end chain for fixed options (build once, run per drop)."""

    def __init__(self, opts: IntentImagesOptions, budget: LinkBudgetConfig, image_size: tuple[int, int], device="cpu"):
        self.opts, self.budget = opts, budget
        self.H, self.W = image_size
        self.pixels = self.H * self.W
        self.intents = intent_matrix(opts.intents, opts.users)
        if self.intents.shape[1] > len(opts.classes):
            raise ValueError(f"intents: {self.intents.shape[1]} columns but `classes` names {len(opts.classes)}")
        if any(not 0 <= c < CAMVID_CLASSES for c in opts.classes) or len(set(opts.classes)) != len(opts.classes):
            raise ValueError(f"classes: distinct CamVid ids in [0, {CAMVID_CLASSES - 1}] expected; got {opts.classes}")
        self.class_ids = list(opts.classes[: self.intents.shape[1]])
        gen_ms = opts.generation_ms if opts.generation_ms is not None else 2.0 * self.pixels / PAPER_PIXELS
        self.generation_s = gen_ms * 1e-3
        self.n0 = noise_psd_w_hz(budget)
        self.bandwidth_hz = budget.bandwidth_hz
        self.device = device
        self._sdm = None
        self.link = StreamLink(self.bandwidth_hz, opts.backoff_db, opts.mcs_policy, device=device)

    def requirements(self) -> tuple[float, float]:
        """(eps_r, eps_s) on the measured curves: the options', or ``paper_eps`` translated."""
        o = self.opts
        distortion, perception = ExpCurve(*o.distortion), ExpCurve(*o.perception)
        eps_r = o.eps_r if o.eps_r is not None else float(distortion(min_rate(PAPER_DISTORTION, o.paper_eps[0])))
        eps_s = o.eps_s if o.eps_s is not None else float(perception(min_rate(PAPER_PERCEPTION, o.paper_eps[1])))
        return eps_r, eps_s

    def problem(self, gains: np.ndarray) -> MulticastProblem:
        """Problem (8) for one drop's gains (K,); raises ValueError for infeasible requirements."""
        o = self.opts
        eps_r, eps_s = self.requirements()
        # A gap to capacity is the noise PSD scaled by it: the optimisers need no change.
        planning_n0 = self.n0 * 10 ** (o.planning_gap_db / 10)
        return MulticastProblem(
            gains, self.intents, total_power_w=o.power_mw * 1e-3, noise_psd_w_hz=planning_n0,
            map_bandwidth_hz=self.bandwidth_hz, class_bandwidth_hz=self.bandwidth_hz, image_pixels=self.pixels,
            class_pixels=self.pixels * o.class_fraction, generation_latency_s=self.generation_s,
            eps_r=eps_r, eps_s=eps_s, distortion=ExpCurve(*o.distortion), perception=ExpCurve(*o.perception),
        )  # fmt: skip

    @property
    def sdm(self):
        if self._sdm is None:
            self._sdm = load_sdm(self.opts.sdm, self.device)
        return self._sdm

    def _snr_db(self, power_w: float, gains: np.ndarray) -> np.ndarray:
        return 10 * np.log10(power_w * gains / (self.bandwidth_hz * self.n0))

    def _synthesize(self, maps: list[torch.Tensor | None], generator: torch.Generator) -> list[torch.Tensor]:
        """One synthesis per distinct decoded map (None: the null map), shared by the users who hold it."""
        distinct: dict[bytes | None, torch.Tensor | None] = {}
        for m in maps:
            distinct.setdefault(None if m is None else m.numpy().tobytes(), m)
        out = {}
        for key, m in distinct.items():
            labels = None if m is None else m[None].to(self.device)
            out[key] = synthesize(self.sdm, labels, CAMVID_CLASSES, generator, (self.H, self.W), batch=1,
                                  scale=self.opts.guidance, steps=self.opts.ddim_steps)[0].cpu()  # fmt: skip
        return [out[None if m is None else m.numpy().tobytes()] for m in maps]

    def _send_map(self, labels, rate, power_w, gains, generator):
        """The map stream to every user: (delivery, decoded map per user or None)."""
        o = self.opts
        stream = streams.code_map(labels, MAP_IDS, o.map_codec, rate if o.map_codec == "jpeg" else None)
        delivery = self.link.send(stream, self._snr_db(power_w, gains), generator)
        return delivery, self._decode_once(delivery.received, lambda s: streams.decode_map(s, MAP_IDS))

    @staticmethod
    def _decode_once(received: list, decode) -> list:
        """``decode`` of each user's received stream (None stays None), once per distinct stream:
        every user whose CRC passed holds the same frame."""
        done: dict[tuple, object] = {}
        out = []
        for s in received:
            if s is None:
                out.append(None)
                continue
            key = (np.asarray(s.payload).tobytes() if isinstance(s.payload, np.ndarray) else s.payload, s.quality, s.region)
            if key not in done:
                done[key] = decode(s)
            out.append(done[key])
        return out

    @staticmethod
    def _planned(problem: MulticastProblem, bits: float, power_w: float, gains: np.ndarray) -> np.ndarray:
        """Air time (s) the latency model plans for ``bits`` at ``power_w`` to each gain."""
        return stream_latency(bits, power_w, problem.map_bandwidth_hz, gains, problem.noise_psd_w_hz)

    def run(self, image: torch.Tensor, labels: torch.Tensor, gains: np.ndarray, generator: torch.Generator):
        """One drop: image float32 (3, H, W), labels int64 (H, W), gains (K,) -> ([UserOutcome] * K, bits sent)."""
        problem = self.problem(gains)
        run = {"proposed": self._proposed, "ngm": self._ngm, "fgm": self._fgm}[self.opts.scheme]
        return run(problem, image, labels, gains, generator)

    def _ngm(self, problem, image, labels, gains, generator):
        """The whole image as one JPEG at r_NGM, all power, no synthesis."""
        stream = streams.code_class_image(image, ngm_rate(problem), self.pixels)
        delivery = self.link.send(stream, self._snr_db(problem.total_power_w, gains), generator)
        predicted = ngm_latencies(problem)
        decoded = self._decode_once(delivery.received, streams.decode_class_image)
        out = []
        for k, s in enumerate(delivery.received):
            shown = decoded[k] if s is not None else torch.zeros_like(image)  # lost: mid-grey
            gaps = [("map", delivery.airtime_s[k] / predicted[k])] if s is not None else []
            out.append(UserOutcome(shown, float(delivery.airtime_s[k]), float(predicted[k]), 1, int(s is None),
                                   None, stream_gaps=gaps))  # fmt: skip
        return out, delivery.frame_bits

    def _fgm(self, problem, image, labels, gains, generator):
        """The map only at r_FGM with all power; every user shows the synthesis."""
        delivery, maps = self._send_map(labels, fgm_rate(problem), problem.total_power_w, gains, generator)
        synth = self._synthesize(maps, generator)
        predicted = fgm_latencies(problem)
        out = []
        for k, m in enumerate(maps):
            gaps = [("map", delivery.airtime_s[k] / (predicted[k] - self.generation_s))] if m is not None else []
            out.append(UserOutcome(synth[k], self.generation_s + float(delivery.airtime_s[k]), float(predicted[k]),
                                   1, int(m is None), m, synth[k], gaps))  # fmt: skip
        return out, delivery.frame_bits

    def _proposed(self, problem, image, labels, gains, generator):
        """Problem (8)'s allocation: the map to all, each wanted class to its users, then compose."""
        alloc = solve(problem)
        K = len(gains)
        delivery, maps = self._send_map(labels, alloc.map_rate, alloc.map_power_w, gains, generator)
        synth = self._synthesize(maps, generator)
        bits = delivery.frame_bits
        planned_map = self._planned(problem, problem.image_pixels * alloc.map_rate, alloc.map_power_w, gains)
        gaps = [[("map", delivery.airtime_s[k] / planned_map[k])] if maps[k] is not None else [] for k in range(K)]
        air = np.zeros((K, len(self.class_ids)))
        decoded: dict[tuple[int, int], tuple[torch.Tensor, torch.Tensor]] = {}  # (user, column) -> (pixels, box)
        for col, cls in enumerate(self.class_ids):
            users = np.flatnonzero(self.intents[:, col])
            if users.size == 0:
                continue
            rate, power = float(alloc.class_rates[col]), float(alloc.class_power_w[col])
            stream = streams.code_class_region(image, labels == cls, rate, problem.class_pixels)
            d = self.link.send(stream, self._snr_db(power, gains[users]), generator)
            bits += d.frame_bits
            air[users, col] = d.airtime_s
            planned = self._planned(problem, problem.class_pixels * rate, power, gains[users])
            pixels = self._decode_once(d.received, streams.decode_class_region)
            for i, (u, s) in enumerate(zip(users, d.received)):
                if s is not None:
                    top, left, h, w = s.region
                    box = torch.zeros(self.H, self.W, dtype=torch.bool)
                    box[top : top + h, left : left + w] = True
                    decoded[(int(u), col)] = (pixels[i], box)
                    gaps[u].append(("class", d.airtime_s[i] / planned[i]))
        predicted = alloc.user_latency_s
        out = []
        for k in range(K):
            wanted = [int(c) for c in np.flatnonzero(self.intents[k])]
            lost = int(maps[k] is None) + sum((k, c) not in decoded for c in wanted)
            y = synth[k]
            if maps[k] is not None:
                for col in wanted:
                    if (k, col) in decoded:
                        # Map pixels of the class outside the stream's box are map errors: keep the synthesis.
                        pixels, box = decoded[(k, col)]
                        y = torch.where((maps[k] == self.class_ids[col]) & box, pixels, y)
            measured = max(self.generation_s + float(delivery.airtime_s[k]), float(air[k].max(initial=0.0)))
            out.append(UserOutcome(y, measured, float(predicted[k]), 1 + len(wanted), lost, maps[k], synth[k], gaps[k]))
        return out, bits

    def intended_region(self, labels: torch.Tensor) -> torch.Tensor:
        """bool (K, H, W): each user's true intended pixels."""
        ids = [torch.tensor([self.class_ids[c] for c in np.flatnonzero(row)], dtype=labels.dtype) for row in self.intents]
        return torch.stack([torch.isin(labels, i) for i in ids])


def _validate(config, options: IntentImagesOptions, point: dict) -> None:
    if config.source is None or config.source.dataset != "camvid":
        raise ValueError("intent_images needs [source] dataset = 'camvid' (images with label maps)")
    opts = _settings(options, point)
    size = config.source.image_size
    pipeline = IntentPipeline(opts, scenario_budget(config), (size, size))
    pipeline.problem(np.ones(opts.users))  # requirements below a curve's floor fail here


@register_method("intent_images", metrics=METRICS, options=IntentImagesOptions, axes=set(INTENT_AXES),
                 validate=_validate)  # fmt: skip
def intent_images(ctx: PointContext) -> dict:
    opts = _settings(ctx.options, ctx.point)
    images, labels = source_pairs(ctx)
    key = ("intent-pipeline", opts.model_dump_json(), tuple(images.shape[-2:]))
    if key not in ctx.cache:
        ctx.cache[key] = IntentPipeline(opts, scenario_budget(ctx.config), tuple(images.shape[-2:]), ctx.device)
    pipeline: IntentPipeline = ctx.cache[key]
    seed = int(torch.randint(0, 2**62, (1,), generator=ctx.generator))
    gains = channel_gains(pipeline.budget, (len(images), opts.users), np.random.default_rng(seed), opts.fading)
    values: dict[str, list[float]] = {m.name: [] for m in METRICS}
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
            values["latency_gap"].append(u.measured_s / u.predicted_s)
            values["latency_ratio"].append(u.measured_s / pipeline.generation_s if pipeline.generation_s else math.nan)
            values["streams_lost"].append(u.streams_lost / u.streams_sent)
            for kind, gap in u.stream_gaps:
                values[f"{kind}_gap"].append(float(gap))
            if region[k].any():  # a user whose classes are absent from this image has no intended region
                values["intended_psnr"].append(float(intended_psnr[k]))
                values["intended_distortion"].append(float(distortion[k]))
            if u.decoded_map is not None:
                values["map_accuracy"].append(float((u.decoded_map == labels[n]).float().mean()))
        values["perception"] += (1 - ms_ssim(shown, truth)).tolist()
        values["psnr"] += psnr(shown, truth).tolist()
        values["source_rate"].append(bits / pipeline.pixels)
        ctx.progress(n + 1, len(images))
    return {k: v if v else math.nan for k, v in values.items()}
