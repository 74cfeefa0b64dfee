"""Intent-aware generative multicasting of real images, end to end (Liu et al., "Communicate
Less, Synthesize the Rest"; seed 000).

Per image (one user drop: power gains |h_k|^2 from the link budget, optional fading):

1. the latency optimiser (:func:`phy.multicast.solve`, problem (8), or the NGM / FGM
   schemes) picks the map's power and rate (p0, r0) and each wanted class's (p_l, r_l),
   using rate curves measured on CamVid (``rate_curves.json`` beside the SDM's weights,
   written by ``gscsim report rate_curves``);
2. the label map is coded at r0 (JPEG of the map, or a lossless codec) and each
   wanted class at r_l (:func:`semantic.codecs.streams.code_class_region`);
3. every stream goes through the digital PHY (:class:`bridges.streams.StreamLink`:
   CRC, 5G LDPC, QAM, link adaptation) at the SNR its power gives each receiver,
   p |h_k|^2 / (B N0) (:func:`phy.link_budget.received_snr_db`); a lost stream is
   counted, never repaired;
4. user k decodes the map, synthesises the image from it with the SDM
   (:func:`semantic.receivers.sdm.synthesize`) and composes
   Y_k = M_I * (its decoded classes) + M_N * synthesis (:func:`semantic.intents.compose`),
   where M_I is the outlines its delivered class streams carry (a class whose stream was
   lost is synthesised; a user who lost the map shows the unconditional synthesis, with
   its delivered classes on top);
5. the latency measured on the air, T_k = max(T_g + air_k0, max_l air_kl), next to
   the optimiser's prediction.

The optimiser's latency model uses Shannon rates; the PHY reaches them only up
to its MCS table, the link adaptation's backoff, codeword granularity, the
frame header and CRC. ``planning_gap_db`` lets the optimiser plan with the
gap (rates B log2(1 + SNR / gap)) so that prediction and measurement can be
compared both ways.

NGM sends the whole image as one JPEG at r_NGM with all the power (no
synthesis); FGM sends only the map at r_FGM and every user shows the synthesis.

Scale: the images are |X| = H x W pixels (e.g. 128 x 128), not the paper's
512 x 256; with the paper's 1 MHz bands every transmission is |X| / (512 x 256)
as long, so T_g defaults to 2 ms scaled by the same factor, keeping the ratio of
synthesis to transmission time the paper's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from pydantic import Field

from phy.config import LinkBudgetConfig, StrictModel
from phy.link_budget import received_snr_db
from phy.multicast import (
    PAPER_DISTORTION,
    PAPER_PERCEPTION,
    ExpCurve,
    MulticastProblem,
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
from phy.multicast.link_aware import LinkModel, stream_options
from phy.multicast.link_aware import plan as plan_link
from semantic.codecs import streams
from semantic.data import CAMVID_LABEL_IDS, CAMVID_NUM_CLASSES
from semantic.intents import compose, intent_masks
from semantic.pretrained import load_pretrained, resolve
from semantic.receivers.sdm import SemanticUNet, synthesize
from semantic.receivers.spadegan import SpadeGenerator
from semantic.segmentation import DualResolutionSegmenter, segment

from .streams import StreamLink, frame_bits

__all__ = ["CLASS_ORDER", "IntentMulticastConfig", "IntentPipeline", "UserOutcome", "rate_curve_defaults"]

PAPER_PIXELS = 512 * 256
#: Intent column -> CamVid class: the objects a user is likeliest to ask for first
#: (car, pedestrian, road, sign, bicyclist, pavement, pole, fence, building, tree, sky).
CLASS_ORDER = (8, 9, 3, 6, 10, 4, 2, 7, 1, 5, 0)


def rate_curve_defaults(sdm: str) -> dict[str, list[float]]:
    """``{"distortion": [a, b, c], "perception": [a, b, c]}`` measured with ``sdm`` (its rate_curves.json).

    :raises ValueError: the SDM has no measured curves (then set ``distortion`` and ``perception``).
    """
    where = resolve(sdm)
    path = where / "rate_curves.json" if not isinstance(where, str) else None
    if path is None or not path.exists():
        raise ValueError(f"sdm {sdm!r} has no rate_curves.json: set distortion and perception")
    return json.loads(path.read_text())["defaults"]


class IntentMulticastConfig(StrictModel):
    """Defaults: curves measured with the SDM, the paper's budget and bands, |Xbar| = |X| / 10."""

    scheme: Literal["proposed", "ngm", "fgm"] = Field(
        "proposed", description="proposed = problem (8); ngm: the whole image as one JPEG; fgm: the map only"
    )
    users: int = Field(3, gt=0, le=CAMVID_NUM_CLASSES, description="K")
    power_mw: float = Field(100.0, gt=0, description="P_T (mW)")
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
    distortion: list[float] | None = Field(
        None, min_length=3, max_length=3, description="[a, b, c] of Phi_r = a exp(-b r) + c; default: the SDM's"
    )
    perception: list[float] | None = Field(
        None, min_length=3, max_length=3, description="[a, b, c] of Phi_s = a exp(-b r) + c; default: the SDM's"
    )
    generation_ms: float | None = Field(None, ge=0, description="T_g; default 2 ms x |X| / (512 x 256)")
    class_fraction: float = Field(0.1, gt=0, le=1, description="|Xbar| / |X|")
    map_codec: Literal["jpeg", "rle", "png"] = Field("jpeg", description="jpeg at r0, or lossless (r0 ignored)")
    fading: bool = Field(False, description="Rayleigh power gain on top of path loss")
    mcs_policy: Literal["per_user", "worst", "rateless"] = Field(
        "per_user",
        description="per_user: each user at its own MCS (the latency model's idealisation); worst: one MCS for "
        "all, the weakest's; rateless: one incremental-redundancy transmission each user decodes at its own time",
    )
    adaptation: Literal["thresholds", "backoff"] = Field(
        "thresholds", description="MCS choice: the measured BLER thresholds at target_bler, or a fixed backoff"
    )
    target_bler: float = Field(
        1e-3, gt=0, lt=1,
        description="codeword BLER of the thresholds: a stream of C codewords is lost with about C x this "
        "(no retransmission), so multicast streams plan for 1e-3",
    )  # fmt: skip
    backoff_db: float = Field(3.0, ge=0, description="link adaptation margin (dB) of adaptation = 'backoff'")
    planning: Literal["shannon", "link"] = Field(
        "shannon",
        description="shannon: the optimiser's Shannon rates (the paper's model); link: plan on the measured link "
        "(MCS thresholds or the IR curves, the coded frames' sizes): phy.multicast.link_aware",
    )
    planning_gap_db: float = Field(
        0.0, ge=0, description="the optimiser plans with B log2(1 + SNR / gap): 0 = the paper's Shannon rates"
    )
    sdm: str = Field("camvid-sdm-32", description="semantic diffusion model: shipped name or folder")
    synthesis: Literal["sdm", "gan", "none"] = Field(
        "sdm",
        description="what synthesises the rest: the SDM (diffusion), the SPADE GAN `gan` (Fig. 18), or none "
        "(mid-grey: latency studies, where the synthesis changes no air time)",
    )
    gan: str = Field("camvid-spadegan-32", description="SPADE GAN generator: shipped name or folder")
    segmentation: str = Field(
        "labels",
        description="the map at the transmitter: labels = the dataset's (error-free, as the paper assumes), or a "
        "segmenter (shipped name or folder) run on the image, as the paper's DDRNet (Section II-A-1)",
    )
    guidance: float = Field(1.5, ge=0, description="classifier-free guidance scale s")
    ddim_steps: int = Field(50, ge=1, le=1000, description="DDIM steps of the synthesis")


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
    #: T_k the paper's Shannon latency model promises for this drop (its optimum, or NGM / FGM's closed form)
    shannon_s: float = float("nan")


class IntentPipeline:
    """The end-to-end chain for fixed options (build once, run per drop).

    :param opts: the pipeline's options.
    :param budget: the link budget (bandwidth B, noise PSD N0).
    :param image_size: (H, W) of the images.
    :param device: where the SDM and the stream link run.
    :raises ValueError: intents and classes that do not fit, or an SDM without measured curves.
    """

    def __init__(self, opts: IntentMulticastConfig, budget: LinkBudgetConfig, image_size: tuple[int, int], device="cpu"):
        self.opts, self.budget = opts, budget
        self.H, self.W = image_size
        self.pixels = self.H * self.W
        self.intents = intent_matrix(opts.intents, opts.users)
        if self.intents.shape[1] > len(opts.classes):
            raise ValueError(f"intents: {self.intents.shape[1]} columns but `classes` names {len(opts.classes)}")
        if any(not 0 <= c < CAMVID_NUM_CLASSES for c in opts.classes) or len(set(opts.classes)) != len(opts.classes):
            raise ValueError(
                f"classes: distinct CamVid ids in [0, {CAMVID_NUM_CLASSES - 1}] expected; got {opts.classes}"
            )
        self.class_ids = list(opts.classes[: self.intents.shape[1]])
        curves = rate_curve_defaults(opts.sdm) if opts.distortion is None or opts.perception is None else {}
        self.distortion = ExpCurve(*(opts.distortion or curves["distortion"]))
        self.perception = ExpCurve(*(opts.perception or curves["perception"]))
        gen_ms = opts.generation_ms if opts.generation_ms is not None else 2.0 * self.pixels / PAPER_PIXELS
        self.generation_s = gen_ms * 1e-3
        self.n0 = noise_psd_w_hz(budget)
        self.bandwidth_hz = budget.bandwidth_hz
        self.device = device
        self._sdm: SemanticUNet | SpadeGenerator | None = None
        self._segmenter: DualResolutionSegmenter | None = None
        if opts.synthesis == "gan":
            try:
                resolve(opts.gan)
            except FileNotFoundError as exc:
                raise ValueError(f"gan: {exc}") from None
        if opts.segmentation != "labels":
            try:
                resolve(opts.segmentation)
            except FileNotFoundError as exc:
                raise ValueError(f"segmentation: {exc}") from None
        if opts.planning == "link" and opts.adaptation != "thresholds":
            raise ValueError("planning = 'link' plans on the measured thresholds: set adaptation = 'thresholds'")
        self.link = StreamLink(
            self.bandwidth_hz, opts.backoff_db, opts.mcs_policy, device=device,
            adaptation=opts.adaptation, target_bler=opts.target_bler,
        )  # fmt: skip
        self.model = None
        if opts.planning == "link":
            ir = self.link.ir_table if opts.mcs_policy == "rateless" else None
            probe = self.link.ir_for("qpsk") if ir is not None else None
            self.model = LinkModel(
                opts.mcs_policy, self.link.thresholds_db, ir, crc_bits=self.link.framer.crc_bits,
                ir_payload_bits=probe.payload_bits if probe else 1000,
                ir_step_symbols=probe.step_symbols if probe else 32,
            )  # fmt: skip

    def requirements(self) -> tuple[float, float]:
        """(eps_r, eps_s) on the measured curves: the options', or ``paper_eps`` translated."""
        o = self.opts
        eps_r = o.eps_r if o.eps_r is not None else float(self.distortion(min_rate(PAPER_DISTORTION, o.paper_eps[0])))
        eps_s = o.eps_s if o.eps_s is not None else float(self.perception(min_rate(PAPER_PERCEPTION, o.paper_eps[1])))
        return eps_r, eps_s

    def problem(self, gains: np.ndarray) -> MulticastProblem:
        """Problem (8) for one drop's gains float64 (K,); raises ValueError for infeasible requirements."""
        o = self.opts
        eps_r, eps_s = self.requirements()
        # A gap to capacity is the noise PSD scaled by it: the optimisers need no change.
        planning_n0 = self.n0 * 10 ** (o.planning_gap_db / 10)
        return MulticastProblem(
            gains, self.intents, total_power_w=o.power_mw * 1e-3, noise_psd_w_hz=planning_n0,
            map_bandwidth_hz=self.bandwidth_hz, class_bandwidth_hz=self.bandwidth_hz, image_pixels=self.pixels,
            class_pixels=self.pixels * o.class_fraction, generation_latency_s=self.generation_s,
            eps_r=eps_r, eps_s=eps_s, distortion=self.distortion, perception=self.perception,
        )  # fmt: skip

    @property
    def sdm(self) -> SemanticUNet | SpadeGenerator:
        """The synthesis model (``synthesis``: the SDM or the SPADE GAN), loaded on first use."""
        if self._sdm is None:
            if self.opts.synthesis == "gan":
                self._sdm = load_pretrained(self.opts.gan, SpadeGenerator, self.device)
            else:
                self._sdm = load_pretrained(self.opts.sdm, SemanticUNet, self.device)
        return self._sdm

    def transmitter_map(self, image: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """int64 (H, W): the map the transmitter works from: ``labels`` (the dataset's), or the
        segmenter's prediction on float32 (3, H, W) ``image`` (``segmentation`` option)."""
        if self.opts.segmentation == "labels":
            return labels
        if self._segmenter is None:
            self._segmenter = load_pretrained(self.opts.segmentation, DualResolutionSegmenter, self.device)
        return segment(self._segmenter, image[None].to(self.device))[0].cpu()

    def _snr_db(self, power_w: float, gains: np.ndarray) -> np.ndarray:
        return received_snr_db(power_w, gains, self.bandwidth_hz, self.n0)

    def _synthesize(self, maps: list[torch.Tensor | None], generator: torch.Generator) -> list[torch.Tensor]:
        """One synthesis per distinct decoded map (None: the null map), shared by the users who hold it
        (``synthesis = "none"``: mid-grey)."""
        if self.opts.synthesis == "none":
            return [torch.zeros(3, self.H, self.W) for _ in maps]
        distinct: dict[bytes | None, torch.Tensor | None] = {}
        for m in maps:
            distinct.setdefault(None if m is None else m.numpy().tobytes(), m)
        out = {}
        for key, m in distinct.items():
            labels = None if m is None else m[None].to(self.device)
            out[key] = synthesize(self.sdm, labels, CAMVID_NUM_CLASSES, generator, (self.H, self.W), batch=1,
                                  scale=self.opts.guidance, steps=self.opts.ddim_steps)[0].cpu()  # fmt: skip
        return [out[None if m is None else m.numpy().tobytes()] for m in maps]

    def _code_map(self, labels, rate):
        o = self.opts
        return streams.code_map(labels, CAMVID_LABEL_IDS, o.map_codec, rate if o.map_codec == "jpeg" else None)

    def _send_map(self, labels, rate, power_w, gains, generator, stream=None, mode=None):
        """The map stream to every user: (delivery, decoded map per user or None). ``mode``: a plan's
        MCS index or rateless modulation (None: the link adapts)."""
        stream = stream if stream is not None else self._code_map(labels, rate)
        delivery = self._send(stream, power_w, gains, generator, mode)
        return delivery, self._decode_once(delivery.received, lambda s: streams.decode_map(s, CAMVID_LABEL_IDS))

    def _send(self, stream, power_w, gains, generator, mode=None):
        """One stream at ``power_w`` to the users of ``gains``, in a planned ``mode`` or adapted."""
        snr = self._snr_db(power_w, gains)
        if mode is None:
            return self.link.send(stream, snr, generator)
        if isinstance(mode, str):
            return self.link.send(stream, snr, generator, modulation=mode)
        return self.link.send(stream, snr, generator, mcs=int(mode))

    def plan_streams(self, frames: list[int], users: list[np.ndarray], gains: np.ndarray, tg: float, budget_w: float):
        """The link-aware plan (:func:`phy.multicast.link_aware.plan`) of streams of ``frames`` bits
        (header + payload) to ``users`` (stream 0 to all); returns the LinkPlan."""
        opts = [
            stream_options(self.model, bits, u, gains, self.bandwidth_hz, self.n0, budget_w)
            for bits, u in zip(frames, users)
        ]
        return plan_link(opts, len(gains), tg, budget_w, self.model, gains, self.bandwidth_hz, self.n0)

    def _mode(self, label):
        """A plan's label as the link's mode: None for per_user (the link adapts per user)."""
        return None if self.opts.mcs_policy == "per_user" else label

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
        """One drop: image float32 (3, H, W), its true labels int64 (H, W), gains float64 (K,) ->
        ([UserOutcome] * K, frame bits sent). The map sent, the class images cut and the composition
        masks come from :meth:`transmitter_map` (the true labels unless a segmenter is set)."""
        problem = self.problem(gains)
        run = {"proposed": self._proposed, "ngm": self._ngm, "fgm": self._fgm}[self.opts.scheme]
        users, bits = run(problem, image, self.transmitter_map(image, labels), gains, generator)
        for u, t in zip(users, self.shannon_latencies(problem)):
            u.shannon_s = float(t)
        return users, bits

    def shannon_latencies(self, problem: MulticastProblem) -> np.ndarray:
        """float64 (K,): T_k of the Shannon latency model (problem (8)'s optimum, or NGM / FGM's closed form)."""
        if self.opts.scheme == "ngm":
            return ngm_latencies(problem)
        if self.opts.scheme == "fgm":
            return fgm_latencies(problem)
        return solve(problem).user_latency_s

    def _ngm(self, problem, image, labels, gains, generator):
        """The whole image as one JPEG at r_NGM, all power, no synthesis."""
        stream = streams.code_class_image(image, ngm_rate(problem), self.pixels)
        mode, predicted = None, ngm_latencies(problem)
        if self.model is not None:
            plan = self.plan_streams([frame_bits(stream)], [np.arange(len(gains))], gains, 0.0, problem.total_power_w)
            mode, predicted = self._mode(plan.labels[0]), plan.latency_s
        delivery = self._send(stream, problem.total_power_w, gains, generator, mode)
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
        stream = self._code_map(labels, fgm_rate(problem))
        mode, predicted = None, fgm_latencies(problem)
        if self.model is not None:
            plan = self.plan_streams(
                [frame_bits(stream)], [np.arange(len(gains))], gains, self.generation_s, problem.total_power_w
            )
            mode, predicted = self._mode(plan.labels[0]), plan.latency_s
        delivery, maps = self._send_map(labels, None, problem.total_power_w, gains, generator, stream, mode)
        synth = self._synthesize(maps, generator)
        out = []
        for k, m in enumerate(maps):
            gaps = [("map", delivery.airtime_s[k] / (predicted[k] - self.generation_s))] if m is not None else []
            out.append(UserOutcome(synth[k], self.generation_s + float(delivery.airtime_s[k]), float(predicted[k]),
                                   1, int(m is None), m, synth[k], gaps))  # fmt: skip
        return out, delivery.frame_bits

    def _proposed(self, problem, image, labels, gains, generator):
        """Problem (8)'s allocation: the map to all, each wanted class to its users, then compose.

        ``planning = "shannon"``: powers and rates from the optimiser (Shannon rates, the model's
        bits); ``"link"``: rates at the requirements (where the optimiser puts them too), the streams
        coded first, then powers and transmission modes planned on the measured link with the coded
        frames' sizes (:meth:`plan_streams`)."""
        K = len(gains)
        alloc = solve(problem) if self.model is None else None
        map_rate = alloc.map_rate if alloc is not None else problem.required_map_rate()
        class_rates = alloc.class_rates if alloc is not None else problem.required_class_rates()
        cols = [col for col in range(len(self.class_ids)) if self.intents[:, col].any()]
        col_users = {col: np.flatnonzero(self.intents[:, col]) for col in cols}
        map_stream = self._code_map(labels, map_rate)
        class_streams = {
            col: streams.code_class_region(image, labels == self.class_ids[col], float(class_rates[col]),
                                           problem.class_pixels)  # fmt: skip
            for col in cols
        }
        if alloc is not None:
            map_power, map_mode = alloc.map_power_w, None
            class_power = {col: float(alloc.class_power_w[col]) for col in cols}
            class_mode = dict.fromkeys(cols)
            planned_map = self._planned(problem, problem.image_pixels * map_rate, map_power, gains)
            planned_class = {
                col: self._planned(problem, problem.class_pixels * float(class_rates[col]), class_power[col],
                                   gains[col_users[col]])  # fmt: skip
                for col in cols
            }
            predicted = alloc.user_latency_s
        else:
            plan = self.plan_streams(
                [frame_bits(map_stream)] + [frame_bits(class_streams[c]) for c in cols],
                [np.arange(K)] + [col_users[c] for c in cols], gains, self.generation_s, problem.total_power_w,
            )  # fmt: skip
            map_power, map_mode = float(plan.power_w[0]), self._mode(plan.labels[0])
            class_power = {c: float(plan.power_w[i + 1]) for i, c in enumerate(cols)}
            class_mode = {c: self._mode(plan.labels[i + 1]) for i, c in enumerate(cols)}
            planned_map = plan.stream_latency_s[0]
            planned_class = {c: plan.stream_latency_s[i + 1] for i, c in enumerate(cols)}
            predicted = plan.latency_s
        delivery, maps = self._send_map(labels, map_rate, map_power, gains, generator, map_stream, map_mode)
        synth = self._synthesize(maps, generator)
        bits = delivery.frame_bits
        gaps = [[("map", delivery.airtime_s[k] / planned_map[k])] if maps[k] is not None else [] for k in range(K)]
        air = np.zeros((K, len(self.class_ids)))
        decoded: dict[tuple[int, int], tuple[torch.Tensor, torch.Tensor]] = {}  # (user, column) -> (pixels, box)
        for col in cols:
            users = col_users[col]
            d = self._send(class_streams[col], class_power[col], gains[users], generator, class_mode[col])
            bits += d.frame_bits
            air[users, col] = d.airtime_s
            classes = self._decode_once(d.received, streams.decode_class_stream)
            for i, (u, s) in enumerate(zip(users, d.received)):
                if s is not None:
                    decoded[(int(u), col)] = classes[i]
                    gaps[u].append(("class", d.airtime_s[i] / planned_class[col][i]))
        out = []
        for k in range(K):
            wanted = [int(c) for c in np.flatnonzero(self.intents[k])]
            lost = int(maps[k] is None) + sum((k, c) not in decoded for c in wanted)
            # Delivered classes are shown even when the map was lost (over the unconditional synthesis).
            y = self._compose([decoded[(k, c)] for c in wanted if (k, c) in decoded], synth[k])
            measured = max(self.generation_s + float(delivery.airtime_s[k]), float(air[k].max(initial=0.0)))
            out.append(UserOutcome(y, measured, float(predicted[k]), 1 + len(wanted), lost, maps[k], synth[k], gaps[k]))
        return out, bits

    @staticmethod
    def _compose(classes: list, synthesis: torch.Tensor) -> torch.Tensor:
        """Y = M_I * (decoded class pixels) + M_N * synthesis, float32 (3, H, W).

        M_I is the union of the user's delivered class streams' own outlines
        (:func:`semantic.codecs.streams.decode_class_stream`): the class streams place
        themselves, the map only conditions the synthesis. ``classes``: [(pixels (3, H, W),
        where bool (H, W))].
        """
        intended = torch.zeros(synthesis.shape[-2:], dtype=torch.bool)
        reconstructed = torch.zeros_like(synthesis)
        for pixels, where in classes:
            reconstructed = torch.where(where, pixels, reconstructed)
            intended |= where
        return compose(reconstructed[None, None], synthesis[None], intended[None, None])[0, 0]

    def intended_region(self, labels: torch.Tensor) -> torch.Tensor:
        """bool (K, H, W): each user's true intended pixels, from int64 labels (H, W)."""
        by_class = np.zeros((len(self.intents), CAMVID_NUM_CLASSES), dtype=bool)
        for col, cls in enumerate(self.class_ids):
            by_class[:, cls] = self.intents[:, col]
        return intent_masks(labels[None], torch.from_numpy(by_class))[0]
