"""FAST's ordering MDP (seed 001): episodes per second, batched vector env vs one episode at a time.

The diffusion cost dominates an episode (T_d DDIM steps of the SDM, 2-3 U-Net calls each), so
:class:`sims.fast.order_env.FastOrderVecEnv` denoises every episode that ends in a step in one
batched call. Workload: ``--envs`` episodes on CamVid-like label maps (the shipped SDM and
segmenter at 32 x 32; the maps of ``semantic.data.sample_images`` segmented by the shipped
segmenter, so no dataset is needed) with a random valid policy; the same episodes (same maps,
x_T, actions) run once in the vector env and once as ``--envs`` single envs stepped one after
another; the rewards are checked equal. Printed: episodes per second of each and the ratio.

Run: ``gscsim bench fast_order [--device auto] [--envs 16] [--steps 60]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from phy.rng import resolve_device
from semantic.data import CAMVID_CLASSES, CAMVID_NUM_CLASSES, sample_images
from semantic.pretrained import load_pretrained
from semantic.receivers.scd import ScdConfig
from semantic.receivers.sdm import SemanticUNet
from semantic.segmentation import DualResolutionSegmenter, segment
from semantic.units import CAMVID_ATTRIBUTES, UnitAttributes, present_units

#: Takes `--device` (`gscsim bench all --device cuda` passes it on).
USES_DEVICE = True


def main(argv: list[str] | None = None) -> None:
    """Command line: time the same episodes batched and one at a time; print episodes/s and the ratio."""
    from ..fast.order_env import FastOrderEnv, FastOrderVecEnv
    from ..fast.precision import ScdPrecision
    from ..fast.settings import OrderSettings
    from ..train.fast_order import RandomValidPolicy

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--envs", type=int, default=16)
    parser.add_argument("--steps", type=int, default=60, help="T_d (tau_d = T_d / 6, tau_e = tau_d / 2)")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    sdm = load_pretrained("camvid-sdm-partial-32", SemanticUNet, device)
    segmenter = load_pretrained("camvid-seg-32", DualResolutionSegmenter, device)
    labels = segment(segmenter, sample_images(32, 4).to(device)).cpu()
    units = present_units(labels, CAMVID_NUM_CLASSES).numpy()
    attributes = UnitAttributes.from_groups(CAMVID_ATTRIBUTES, CAMVID_CLASSES)
    tau_d = max(1, args.steps // 6)
    settings = OrderSettings(steps=tau_d * 6, tau_d=tau_d, tau_e=tau_d / 2)

    def oracle():
        return ScdPrecision(sdm, segmenter, labels, CAMVID_NUM_CLASSES, ScdConfig(steps=settings.steps), device=device, cache_size=0)

    def sync():
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    vec = FastOrderVecEnv(units, attributes, oracle(), settings, num_envs=args.envs, seed=0)
    policy = RandomValidPolicy(0)
    vec.reset()
    actions, rewards = [], []
    sync()
    start = time.perf_counter()
    for _ in range(settings.segments):  # MPPO-style episodes start in phase 1: all end together
        actions.append(policy.predict(vec.action_masks(), vec.episodes.N))
        vec.step_async(actions[-1])
        rewards.append(vec.step_wait()[1])
    sync()
    batched = time.perf_counter() - start
    singles = [FastOrderEnv(units, attributes, oracle(), settings, seed=0, slot=b) for b in range(args.envs)]
    single_rewards = np.zeros((settings.segments, args.envs))
    sync()
    start = time.perf_counter()
    for b, env in enumerate(singles):
        env.reset()
        for phase in range(settings.segments):
            single_rewards[phase, b] = env.step(actions[phase][b])[1]
    sync()
    alone = time.perf_counter() - start
    name = torch.cuda.get_device_name(device) if device != "cpu" else f"CPU, {torch.get_num_threads()} threads"
    gap = float(np.abs(np.array(rewards) - single_rewards).max())
    print(f"device: {device} ({name}); {args.envs} episodes, T_d = {settings.steps}, tau_d = {tau_d}")
    print(f"  one at a time: {args.envs / alone:.2f} episodes/s; batched vector env: {args.envs / batched:.2f} episodes/s; "
          f"ratio {alone / batched:.2f}x (max reward difference {gap:.1e})")  # fmt: skip


if __name__ == "__main__":
    main()
