"""Null-space sampling vs plain DDIM sampling: images per second, same U-Net and steps.

Plain DDIM is diffusers' ``DDIMScheduler.step`` loop; null-space sampling is
gscsim's DDNM+ sampler with the bridge's measurement operator of a real
OFDMA reception (K = 2 users, N/M = 0.6, per-pixel noise levels), so its
extra cost is the range-space correction (A, A+, the DDNM+ coefficients) at
every step. Target: overhead <= 5%. Both measured in this run.

Run: ``python sims/bench/nullspace.py [--device auto] [--images 16] [--steps 50]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from diffusers import DDIMScheduler

from bridges.transmit import BridgeConfig, ImageLink
from phy import GridConfig, LinkConfig, channel_config, make_generator
from phy.rng import resolve_device
from semantic.data import sample_images
from semantic.pretrained import DEFAULT_DIFFUSION, load_diffusion

#: Takes `--device` (`gscsim bench all --device cuda` passes it on).
USES_DEVICE = True
from semantic.receivers.nullspace import NullSpaceConfig, null_space_sample


def sync(device: str) -> None:
    """Wait for the device's queued work (timings need it on CUDA)."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def main(argv: list[str] | None = None) -> None:
    """Command line: time null-space sampling against plain DDIM and print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--model", default=DEFAULT_DIFFUSION)
    parser.add_argument("--images", type=int, default=16, help="images per call (K = 2 users)")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    device = resolve_device(args.device)
    unet, scheduler = load_diffusion(args.model, device)
    size = unet.config.sample_size
    images = sample_images(size, args.images).reshape(args.images // 2, 2, 3, size, size)
    link = LinkConfig(grid=GridConfig(num_users=2, num_ofdm_symbols=16), channel=channel_config("rayleigh_iid"))
    rx = ImageLink(link, BridgeConfig(nm_ratio=0.6), (3, size, size), device)(images, 10.0, make_generator(0, device))
    scheduler.set_timesteps(args.steps)
    ddim = DDIMScheduler.from_config(scheduler.config)
    ddim.set_timesteps(args.steps)
    config = NullSpaceConfig(steps=args.steps, sampler="ddim", eta=0.85)

    @torch.no_grad()
    def plain():
        g = make_generator(1, device)
        x = torch.randn(args.images, 3, size, size, generator=g, device=device)
        for t in ddim.timesteps:
            x = ddim.step(unet(x, t).sample, t, x, eta=0.85, generator=g).prev_sample
        return x

    def nullspace():
        return null_space_sample(unet, scheduler.alphas_cumprod, scheduler.timesteps, rx.operator, rx.y,
                                 make_generator(1, device), config, rx.noise_std)  # fmt: skip

    def images_per_second(fn) -> float:
        fn()
        sync(device)
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            fn()
            sync(device)
            times.append(time.perf_counter() - start)
        return args.images / float(np.median(times))

    name = torch.cuda.get_device_name(device) if device != "cpu" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {device} ({name}); model {args.model} ({size}x{size}); {args.images} images, {args.steps} steps")
    rates = {}
    for label, fn in (("plain DDIM (diffusers)", plain), ("null-space DDNM+ (gscsim)", nullspace)):
        rates[label] = images_per_second(fn)
        print(f"  {label:<28} {rates[label]:8.2f} images/s")
    a, b = rates.values()
    print(f"null-space overhead vs plain DDIM: {a / b - 1:+.1%} (target <= +5%)")


if __name__ == "__main__":
    main()
