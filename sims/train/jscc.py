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
from phy import ChannelConfig, GridConfig, LinkConfig
from phy.config import StrictModel
from phy.rng import make_generator, resolve_device
from semantic.jscc import DeepJSCC, channels_for_ratio, jscc_name, save_jscc

from .data import random_crops, training_images

__all__ = ["JsccTrainConfig", "train_jscc", "training_link"]


class JsccTrainConfig(StrictModel):
    variant: Literal["awgn", "rayleigh", "ofdm"] = "awgn"
    ratio: str = Field("1/6", description="bandwidth ratio k/n, c/96 (1/6, 1/12, ...)")
    snr_db: tuple[float, float] = (0.0, 20.0)
    data_dir: str | None = None
    output: str | None = Field(None, description="default: results/train/<model name>")
    image_size: int = Field(32, ge=8, le=256)
    steps: int = Field(4000, ge=1)
    batch_size: int = Field(64, ge=1)
    lr: float = Field(1e-3, gt=0)
    scales: tuple[float, ...] = (1.0, 1.15, 1.3, 1.4)
    seed: int = Field(0, ge=0)
    device: str = Field("auto", pattern=r"^(cpu|auto|cuda(:\d+)?)$")
    log_every: int = Field(100, ge=1)

    @property
    def name(self) -> str:
        return jscc_name(self.variant, Fraction(self.ratio))


def training_link(variant: str, num_symbols: int, device: str) -> SymbolLink:
    """One user, 16 OFDM symbols of k / 16 subcarriers; the channel of the variant."""
    channel = {
        "awgn": ChannelConfig(kind="awgn"),
        "rayleigh": ChannelConfig(kind="rayleigh_block"),
        "ofdm": ChannelConfig(kind="tdl", tdl_model="A", delay_spread_s=300e-9),
    }[variant]
    S = 16
    link = LinkConfig(
        grid=GridConfig(num_users=1, num_ofdm_symbols=S, num_subcarriers=num_symbols // S), channel=channel
    )
    return SymbolLink(link, num_symbols, pilot_symbols=1 if variant == "ofdm" else 0, device=device)


def train_jscc(config: JsccTrainConfig, quiet: bool = False) -> Path:
    """Train one DeepJSCC model; return its folder."""
    device = resolve_device(config.device)
    out = Path(config.output or f"results/train/{config.name}")
    torch.manual_seed(config.seed)
    model = DeepJSCC(channels_for_ratio(Fraction(config.ratio))).to(device)
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
    return save_jscc(model, out, info)
