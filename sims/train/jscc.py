"""`gscsim train jscc`: the DeepJSCC baselines, trained through gscsim's own PHY.

The encoder's symbols go through :class:`bridges.jscc.SymbolLink` (the same
OFDMA link, channel models and equalisation the evaluation uses; it is
differentiable), one user per image, at an SNR drawn per image uniformly
from ``snr_db`` (a range of SNRs, so one model serves the whole sweep).
Variants: ``awgn``; ``rayleigh`` (slow/block Rayleigh fading, perfect-CSI
equalisation); ``ofdm`` (DeepJSCC-OFDM: a 3GPP TDL-A multipath channel over
the grid, one pilot OFDM symbol, least-squares channel estimate, ZF with the
estimate, the equalised symbols into the decoder); ``ofdm-i`` / ``ofdm-e``
(DeepJSCC-OFDM-I / -E of Yang et al. 2021, :class:`semantic.jscc.DeepJSCCOFDM`:
the same TDL-A grid and pilot symbol, the raw received grid into the decoder); ``tdl`` (the same TDL-A, 0..30 m/s, equalised
with perfect CSI), ``tdl-lmmse`` / ``tdl-ls`` (that channel equalised with the link's
own estimate: ``link.estimation`` = ``lmmse`` / ``ls`` with its pilot symbols, the
estimator's error variance added to the noise; the estimated-CSI study).
``erasure_nm`` trains the decoder for the N/M studies: per image a ratio is
drawn from it and only N = round(ratio M) of the M grid columns (subcarriers)
arrive, in the studies' interleaved pattern (:func:`bridges.signal.sent_entries`);
the rest are zeros and the OFDM variants are told which. Loss: MSE on [0, 1]
pixels (as in the paper), Adam, optionally cosine-annealed; ``init`` continues
from a model (fine-tuning). CamVid train crops at the shipped DDPM's 32x32.

Output folder: ``model.safetensors`` + ``config.json`` (channels, variant,
ratio, training settings, time, device, losses).
"""

from __future__ import annotations

import time
from fractions import Fraction
from pathlib import Path
from typing import Literal

import torch
from pydantic import Field
from tqdm import tqdm

from bridges.jscc import SymbolLink
from bridges.signal import sent_entries
from phy import CodeConfig, GridConfig, LinkConfig, channel_config
from phy.config import StrictModel
from phy.rng import make_generator, resolve_device
from semantic.jscc import (
    OFDM_RECEIVERS,
    DeepJSCC,
    DeepJSCCOFDM,
    channels_for_ratio,
    jscc_name,
    load_jscc,
)
from semantic.pretrained import save_model, training_info
from semantic.swinjscc import SwinJSCC

from .data import random_crops, training_images

__all__ = [
    "SwinJsccTrainConfig",
    "PILOT_SYMBOLS",
    "TRAINING_CHANNELS",
    "TRAINING_ESTIMATION",
    "JsccTrainConfig",
    "erasure_masks",
    "new_model",
    "train_jscc",
    "training_link",
    "transmit",
]

#: Variant -> the channel it is trained through (keyed like the matched models of `deepjscc`).
TRAINING_CHANNELS = {
    "awgn": {"kind": "awgn"},
    "rayleigh": {"kind": "rayleigh_block"},
    "ofdm": {"kind": "tdl", "tdl_model": "A", "delay_spread_s": 300e-9},
    "ofdm-i": {"kind": "tdl", "tdl_model": "A", "delay_spread_s": 300e-9},
    "ofdm-e": {"kind": "tdl", "tdl_model": "A", "delay_spread_s": 300e-9},
    "tdl": {"kind": "tdl", "tdl_model": "A", "delay_spread_s": 300e-9, "max_speed_mps": 30.0},
    "tdl-lmmse": {"kind": "tdl", "tdl_model": "A", "delay_spread_s": 300e-9, "max_speed_mps": 30.0},
    "tdl-ls": {"kind": "tdl", "tdl_model": "A", "delay_spread_s": 300e-9, "max_speed_mps": 30.0},
}
#: Variant -> the link's channel estimation (``link.estimation``) it is trained with.
TRAINING_ESTIMATION = {"tdl-lmmse": "lmmse", "tdl-ls": "ls"}
#: Variant -> pilot OFDM symbols of its link (DeepJSCC-OFDM: one).
PILOT_SYMBOLS = {"awgn": 0, "rayleigh": 0, "ofdm": 1, "ofdm-i": 1, "ofdm-e": 1, "tdl": 0, "tdl-lmmse": 0, "tdl-ls": 0}
#: OFDM symbols of the training grid (k / 16 subcarriers).
TRAINING_OFDM_SYMBOLS = 16


class JsccTrainConfig(StrictModel):
    """`gscsim train jscc` options (each is a command-line flag)."""
    variant: Literal["awgn", "rayleigh", "ofdm", "ofdm-i", "ofdm-e", "tdl", "tdl-lmmse", "tdl-ls"] = Field("awgn", description="the channel it is trained through: awgn, rayleigh (block), ofdm (TDL-A, one pilot symbol, LS + ZF), ofdm-i / ofdm-e (DeepJSCC-OFDM-I / -E: TDL-A, raw grid), tdl (TDL-A 0..30 m/s, perfect CSI), tdl-lmmse / tdl-ls (the same, the link's LMMSE / LS estimate)")
    ratio: str = Field("1/6", description="bandwidth ratio k/n, c/96 (1/6, 1/12, 1/2 for the N/M studies, ...)")
    snr_db: tuple[float, float] = Field((-10.0, 20.0), description="training SNR range (dB), LOW,HIGH: one SNR per image, uniform")
    snr_step_db: float | None = Field(None, ge=0, description="draw each image's SNR from LOW, LOW + step, ..., HIGH; 0: continuous; default 0.5 for tdl-lmmse (its LMMSE filters are probed once per noise level), else 0")
    erasure_nm: tuple[float, ...] = Field((1.0,), description="N/M ratios drawn per image: only N of the M grid columns arrive (the N/M studies)")
    init: str | None = Field(None, description="start from this model (name or folder) instead of random weights")
    schedule: Literal["constant", "cosine"] = Field("constant", description="learning rate: constant, or cosine-annealed to lr / 20")
    data_dir: str | None = Field(None, description="CamVid folder; default $GSCSIM_DATA_DIR")
    output: str | None = Field(None, description="default: results/train/<model name>")
    image_size: int = Field(32, ge=8, le=256, description="side of the square training crops")
    steps: int = Field(4000, ge=1, description="optimiser steps")
    batch_size: int = Field(64, ge=1, description="images per step")
    lr: float = Field(1e-3, gt=0, description="learning rate")
    scales: tuple[float, ...] = Field((1.0, 1.15, 1.3, 1.4), description="shorter-side scales of the crops, relative to image_size")
    seed: int = Field(0, ge=0, description="seed of initialisation, data order and noise")
    device: str = Field("auto", pattern=r"^(cpu|auto|cuda(:\d+)?)$", description="cpu, cuda, cuda:N, auto")
    log_every: int = Field(100, ge=1, description="steps per logged mean loss")

    @property
    def name(self) -> str:
        """The shipped-model name this training writes (:func:`semantic.jscc.jscc_name`)."""
        return jscc_name(self.variant, Fraction(self.ratio))


class SwinJsccTrainConfig(JsccTrainConfig):
    """`gscsim train swinjscc` options: Swin-JSCC (:class:`semantic.swinjscc.SwinJSCC`) with the GSC
    paper's training settings as defaults (seed 002, Section IV-A: SNR uniform in [1, 13] dB, Adam
    1e-4, batch 32, MSE). ``--channel`` names the channel (``--variant`` is the same flag)."""

    variant: Literal["awgn", "rayleigh"] = Field("awgn", description="the channel it is trained through: awgn or rayleigh (block fading, perfect CSI)")
    snr_db: tuple[float, float] = Field((1.0, 13.0), description="training SNR range (dB), LOW,HIGH: one SNR per image, uniform")
    batch_size: int = Field(32, ge=1, description="images per step")
    lr: float = Field(1e-4, gt=0, description="learning rate")

    @property
    def name(self) -> str:
        """``swinjscc-<channel>-<ratio>``."""
        return jscc_name(self.variant, Fraction(self.ratio)).replace("deepjscc-", "swinjscc-", 1)


def training_link(variant: str, num_symbols: int, device: str) -> SymbolLink:
    """One user, 16 OFDM symbols of k / 16 subcarriers; the channel of the variant."""
    channel = channel_config(**TRAINING_CHANNELS[variant])
    S = TRAINING_OFDM_SYMBOLS
    analog = CodeConfig(kind="uncoded", k=num_symbols * 4, n=num_symbols * 4)  # analog: the code is not used
    link = LinkConfig(
        grid=GridConfig(num_users=1, num_ofdm_symbols=S, num_subcarriers=num_symbols // S), channel=channel, code=analog,
        estimation=TRAINING_ESTIMATION.get(variant, "perfect"),
    )
    return SymbolLink(link, num_symbols, pilot_symbols=PILOT_SYMBOLS[variant], device=device)


def new_model(config: JsccTrainConfig) -> DeepJSCC | DeepJSCCOFDM | SwinJSCC:
    """The untrained model of a variant and ratio (or the ``init`` model to fine-tune)."""
    if config.init is not None:
        return load_jscc(config.init).train()
    channels = channels_for_ratio(Fraction(config.ratio))
    if isinstance(config, SwinJsccTrainConfig):
        return SwinJSCC(channels)
    if config.variant in OFDM_RECEIVERS:
        receiver = OFDM_RECEIVERS[config.variant]
        return DeepJSCCOFDM(channels, receiver, PILOT_SYMBOLS[config.variant], snr_range_db=tuple(config.snr_db))
    return DeepJSCC(channels, PILOT_SYMBOLS[config.variant])


def erasure_masks(ratios: tuple[float, ...], columns: int, device: str) -> torch.Tensor:
    """bool (len(ratios), M): the grid columns a user receives at each N/M (interleaved pattern)."""
    masks = torch.zeros(len(ratios), columns, dtype=torch.bool, device=device)
    for i, ratio in enumerate(ratios):
        masks[i, sent_entries(columns, max(1, round(ratio * columns))).to(device)] = True
    return masks


def transmit(model, link: SymbolLink, x: torch.Tensor, snr: torch.Tensor, received: torch.Tensor, g) -> torch.Tensor:
    """One training pass through the link: float (B, 3, H, W) -> the decoded image.

    :param received: bool (B, M) grid columns that arrive; the others are zeroed.
    """
    H, W = x.shape[-2:]
    z = model.encode(x)[:, None]
    if isinstance(model, DeepJSCCOFDM):
        grid = link.raw(z, snr, g)
        keep = received[:, None, :]
        return model.decode_grid(grid.y[:, 0] * keep, grid.pilots[:, 0] * keep, grid.no[:, 0], received, H, W)
    z_hat, _, _ = link(z, snr, g)
    B = x.shape[0]
    z_hat = z_hat[:, 0].reshape(B, link.data_symbols, link.subcarriers) * received[:, None, :]
    return model.decode(z_hat.reshape(B, -1), H, W)


def train_jscc(config: JsccTrainConfig, quiet: bool = False) -> Path:
    """Train one DeepJSCC model; return its folder."""
    device = resolve_device(config.device)
    out = Path(config.output or f"results/train/{config.name}")
    torch.manual_seed(config.seed)
    model = new_model(config).to(device)
    k = model.num_symbols(config.image_size, config.image_size)
    link = training_link(config.variant, k, device)
    masks = erasure_masks(config.erasure_nm, link.subcarriers, device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    annealing = (
        torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, config.steps, eta_min=config.lr / 20)
        if config.schedule == "cosine" else None
    )  # fmt: skip
    images = training_images(config.data_dir, config.image_size, config.scales)
    data_g, channel_g = make_generator(config.seed + 1), make_generator(config.seed + 2, device)
    lo, hi = config.snr_db
    step_db = config.snr_step_db if config.snr_step_db is not None else (0.5 if config.variant == "tdl-lmmse" else 0.0)
    levels = int(round((hi - lo) / step_db)) + 1 if step_db else 0
    losses, window, start = [], [], time.perf_counter()
    for step in tqdm(range(config.steps), disable=quiet, desc=config.name):
        x = random_crops(images, config.image_size, config.batch_size, data_g).to(device)
        if levels:
            snr = lo + step_db * torch.randint(levels, (x.shape[0], 1), generator=channel_g, device=device).float()
        else:
            snr = lo + (hi - lo) * torch.rand(x.shape[0], 1, generator=channel_g, device=device)
        pick = (
            torch.randint(len(masks), (x.shape[0],), generator=channel_g, device=device)
            if len(masks) > 1 else torch.zeros(x.shape[0], dtype=torch.int64, device=device)
        )  # fmt: skip  (one ratio draws nothing: the streams of earlier trainings stay as they were)
        received = masks[pick]
        x_hat = transmit(model, link, x, snr, received, channel_g)
        loss = torch.nn.functional.mse_loss((x_hat + 1) / 2, (x + 1) / 2)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if annealing is not None:
            annealing.step()
        window.append(loss.item())
        if (step + 1) % config.log_every == 0:
            losses.append([step + 1, sum(window) / len(window)])
            window = []
    info = {
        "variant": config.variant, "ratio": config.ratio, "channel_symbols": k,
        "pilot_symbols": link.pilot_symbols, "train": config.model_dump(mode="json"), "device": device,
        "seconds": round(time.perf_counter() - start, 1), "torch_threads": torch.get_num_threads(), "losses": losses,
    }  # fmt: skip
    if config.init is not None:  # keep the history: the loss curve is the init model's, then this one
        info["init_training"] = training_info(config.init)
    return save_model(model, out, info)
