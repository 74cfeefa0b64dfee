"""`gscsim train jscc`: the DeepJSCC baselines, trained through gscsim's own PHY.

The encoder's symbols go through :class:`bridges.jscc.SymbolLink` (the same
OFDMA link, channel models and equalisation the evaluation uses; it is
differentiable), one user per image, at an SNR drawn per image uniformly
from ``snr_db`` (a range of SNRs, so one model serves the whole sweep).
Variants: ``awgn``; ``rayleigh`` (slow/block Rayleigh fading, perfect-CSI
equalisation); ``ofdm`` (DeepJSCC-OFDM: a 3GPP TDL-A multipath channel over
the grid, one pilot OFDM symbol, least-squares channel estimate, ZF with the
estimate, the equalised symbols into the decoder). Loss: MSE on [0, 1] pixels
(as in the paper), Adam. CamVid train crops at the shipped DDPM's 32x32.

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
from phy import CodeConfig, GridConfig, LinkConfig, channel_config
from phy.config import StrictModel
from phy.rng import make_generator, resolve_device
from semantic.jscc import DeepJSCC, channels_for_ratio, jscc_name
from semantic.pretrained import save_model

from .data import random_crops, training_images

__all__ = ["PILOT_SYMBOLS", "TRAINING_CHANNELS", "JsccTrainConfig", "train_jscc", "training_link"]

#: Variant -> the channel it is trained through (keyed like the matched models of `deepjscc`).
TRAINING_CHANNELS = {
    "awgn": {"kind": "awgn"},
    "rayleigh": {"kind": "rayleigh_block"},
    "ofdm": {"kind": "tdl", "tdl_model": "A", "delay_spread_s": 300e-9},
}
#: Variant -> pilot OFDM symbols of its link (DeepJSCC-OFDM: one, LS estimation).
PILOT_SYMBOLS = {"awgn": 0, "rayleigh": 0, "ofdm": 1}


class JsccTrainConfig(StrictModel):
    """`gscsim train jscc` options (each is a command-line flag)."""
    variant: Literal["awgn", "rayleigh", "ofdm"] = Field("awgn", description="the channel it is trained through: awgn, rayleigh (block), ofdm (TDL-A, one pilot symbol)")
    ratio: str = Field("1/6", description="bandwidth ratio k/n, c/96 (1/6, 1/12, ...)")
    snr_db: tuple[float, float] = Field((0.0, 20.0), description="training SNR range (dB), LOW,HIGH: one SNR per image, uniform")
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


def training_link(variant: str, num_symbols: int, device: str) -> SymbolLink:
    """One user, 16 OFDM symbols of k / 16 subcarriers; the channel of the variant."""
    channel = channel_config(**TRAINING_CHANNELS[variant])
    S = 16
    analog = CodeConfig(kind="uncoded", k=num_symbols * 4, n=num_symbols * 4)  # analog: the code is not used
    link = LinkConfig(
        grid=GridConfig(num_users=1, num_ofdm_symbols=S, num_subcarriers=num_symbols // S), channel=channel, code=analog
    )
    return SymbolLink(link, num_symbols, pilot_symbols=PILOT_SYMBOLS[variant], device=device)


def train_jscc(config: JsccTrainConfig, quiet: bool = False) -> Path:
    """Train one DeepJSCC model; return its folder."""
    device = resolve_device(config.device)
    out = Path(config.output or f"results/train/{config.name}")
    torch.manual_seed(config.seed)
    model = DeepJSCC(channels_for_ratio(Fraction(config.ratio)), PILOT_SYMBOLS[config.variant]).to(device)
    k = model.num_symbols(config.image_size, config.image_size)
    link = training_link(config.variant, k, device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    images = training_images(config.data_dir, config.image_size, config.scales)
    data_g, channel_g = make_generator(config.seed + 1), make_generator(config.seed + 2, device)
    lo, hi = config.snr_db
    losses, window, start = [], [], time.perf_counter()
    for step in tqdm(range(config.steps), disable=quiet, desc=config.name):
        x = random_crops(images, config.image_size, config.batch_size, data_g).to(device)
        snr = lo + (hi - lo) * torch.rand(x.shape[0], 1, generator=channel_g, device=device)
        z_hat, _, _ = link(model.encode(x)[:, None], snr, channel_g)
        x_hat = model.decode(z_hat[:, 0], config.image_size, config.image_size)
        loss = torch.nn.functional.mse_loss((x_hat + 1) / 2, (x + 1) / 2)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        window.append(loss.item())
        if (step + 1) % config.log_every == 0:
            losses.append([step + 1, sum(window) / len(window)])
            window = []
    info = {
        "variant": config.variant, "ratio": config.ratio, "channel_symbols": k,
        "pilot_symbols": link.pilot_symbols, "train": config.model_dump(mode="json"), "device": device,
        "seconds": round(time.perf_counter() - start, 1), "torch_threads": torch.get_num_threads(), "losses": losses,
    }  # fmt: skip
    return save_model(model, out, info)
