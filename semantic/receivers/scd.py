"""Sequential conditional denoising (SCD): the FAST receiver (seed 001, Sections III-IV, eq. (11)).

Semantic units arrive while the receiver denoises. gscsim's units are the classes of a label
map (FAST's prompt words have no offline substitute): the condition at a step is the partial
map of the classes received so far (:func:`semantic.intents.partial_one_hot`), and the SDM
(:class:`semantic.receivers.sdm.SemanticUNet`, trained with class dropout so partial maps are
in distribution) denoises with DDIM over ``steps`` = T_d steps.

Guidance at step i, reconstructed from the prose (the text copy lost eq. (11)'s body):

    eps = eps(z, null) + s [eps(z, C_all) - eps(z, null)] + w Delta_i
    Delta_i = eps(z, C_all) - eps(z, C_prev)            (``delta = "all_minus_prev"``)
          or  eps(z, C_new) - eps(z, C_prev)            (``delta = "new_minus_prev"``, the second reading)

C_all: the classes arrived at or before step i; C_prev: those arrived before the latest
arrival; C_new: those of the latest arrival; s the guidance scale, w the intervention factor
(FAST: w = 4). The w term acts from an arrival until the next one (``window = "until_next"``)
or at the arrival step only (``"arrival_step"``), and is zero when the latest arrival covers no
pixel (nothing new arrived) or while the latest arrival is the first one (C_prev shows nothing:
the units that start the denoising have nothing to differ from, and their effect is CFG's; so
one arrival at step 0 is ordinary CFG for every w; a reconstruction: with Delta = eps(C_all) -
eps(null) there, w would only add to s, and w = 4 on top of s = 1.5 wrecks the SDM's images:
shipped SDM, 24 train maps, mIoU 0.41 -> 0.35 with every class at step 0). Before the first
arrival the model runs on the null map. w = 0 is conventional sequential guidance. Arrivals are per image: ``arrival``
int (B, C) holds the DDIM step index (0 = first) at which each class channel arrives, or
:data:`NEVER`.

Shapes: labels int64 (B, H, W); images float32 (B, 3, H, W) in [-1, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from diffusers import DDIMScheduler

from semantic.intents import one_hot

from .sdm import SemanticUNet

__all__ = ["NEVER", "ScdConfig", "ScdResult", "conditions_at", "sequential_conditional_denoising"]

#: ``arrival`` value of a class that never arrives.
NEVER = 1 << 30


@dataclass(frozen=True)
class ScdConfig:
    """SCD's knobs: T_d, s, w, the reading of Delta and its window, DDIM's eta."""

    steps: int = 60
    scale: float = 1.5
    w: float = 4.0
    delta: Literal["all_minus_prev", "new_minus_prev"] = "all_minus_prev"
    window: Literal["until_next", "arrival_step"] = "until_next"
    eta: float = 0.0

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")
        if self.delta not in ("all_minus_prev", "new_minus_prev"):
            raise ValueError(f"delta must be 'all_minus_prev' or 'new_minus_prev', got {self.delta!r}")
        if self.window not in ("until_next", "arrival_step"):
            raise ValueError(f"window must be 'until_next' or 'arrival_step', got {self.window!r}")


@dataclass
class ScdResult:
    """The images and, when asked, the Delta maps (Fig. 8)."""

    images: torch.Tensor  #: float32 (B, 3, H, W) in [-1, 1]
    deltas: dict[int, torch.Tensor]  #: step -> float32 (B, 3, H, W) w-free Delta (zero where inactive)
    state: torch.Tensor | None = None  #: float32 (B, 3, H, W), the unclamped x after the last step run


def conditions_at(arrival: torch.Tensor, step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(C_all, C_prev, C_new, latest arrival step) at ``step`` for ``arrival`` int (B, C).

    C_* are bool (B, C); the latest arrival step is int (B,), -1 where nothing has arrived.
    """
    arrived = arrival <= step
    latest = torch.where(arrived, arrival, torch.full_like(arrival, -1)).amax(dim=1)
    prev = arrival < latest[:, None]
    new = arrived & (arrival == latest[:, None])
    return arrived, prev, new, latest


@torch.no_grad()
def sequential_conditional_denoising(
    model: SemanticUNet,
    labels: torch.Tensor,
    arrival: torch.Tensor,
    num_classes: int,
    generator: torch.Generator,
    config: ScdConfig = ScdConfig(),
    num_train_timesteps: int = 1000,
    return_deltas: bool = False,
    noise: torch.Tensor | None = None,
    start_step: int = 0,
    stop_step: int | None = None,
) -> ScdResult:
    """Denoise from noise while the classes arrive (module docstring).

    :param labels: int64 (B, H, W), the full map (only received classes are shown to the model).
    :param arrival: int (B, num_classes + 1): DDIM step at which each class channel (void last) arrives.
    :param noise: float32 (B, 3, H, W), x_T; default drawn from ``generator``. With DDIM's
        ``eta = 0`` the image is then a function of (x_T, map, arrival) alone: FAST's reward
        oracle gives each image its own x_T, so an episode's result does not depend on the batch.
    :param start_step, stop_step: run DDIM steps ``start_step <= i < stop_step`` only (default all
        ``config.steps``); ``noise`` is then the x entering step ``start_step`` and ``state`` the x
        leaving the last step run. DDIM's step is stateless, so with ``eta = 0`` a chain cut at any
        steps and resumed from ``state`` gives the images of the whole chain (FAST's oracle shares
        the common prefixes of its schedules this way).
    """
    B, H, W = labels.shape
    if arrival.shape != (B, num_classes + 1):
        raise ValueError(f"arrival has shape {tuple(arrival.shape)}; expected ({B}, {num_classes + 1})")
    stop_step = config.steps if stop_step is None else stop_step
    if not 0 <= start_step <= stop_step <= config.steps:
        raise ValueError(f"need 0 <= start_step ({start_step}) <= stop_step ({stop_step}) <= steps ({config.steps})")
    device = labels.device
    full = one_hot(labels, num_classes).to(device)
    arrival = arrival.to(device)
    scheduler = DDIMScheduler(num_train_timesteps=num_train_timesteps, beta_schedule="linear", clip_sample=True)
    scheduler.set_timesteps(config.steps)
    if noise is None:
        x = torch.randn((B, model.config["image_channels"], H, W), generator=generator, device=device)
    elif noise.shape != (B, model.config["image_channels"], H, W):
        raise ValueError(f"noise has shape {tuple(noise.shape)}; expected {(B, model.config['image_channels'], H, W)}")
    else:
        x = noise.to(device)
    deltas = {}
    for i, t in enumerate(scheduler.timesteps):
        if not start_step <= i < stop_step:
            continue
        c_all, c_prev, c_new, latest = conditions_at(arrival, i)
        active = latest >= 0 if config.window == "until_next" else latest == i
        # Nothing new (the latest arrival's classes cover no pixel), or nothing before it (the first
        # arrival, which starts the denoising: its effect is CFG's): Delta is exactly 0, not the
        # float32 difference of two rows of one batched call, which oneDNN need not make equal.
        shows = lambda chosen: (full * chosen[..., None, None]).flatten(1).any(dim=1)  # noqa: E731
        active = active & shows(c_new) & shows(c_prev)
        maps = [torch.zeros_like(full), full * c_all[..., None, None]]
        use_delta = config.w != 0 and bool(active.any())
        need_delta = use_delta or (return_deltas and bool(active.any()))
        if need_delta:
            maps.append(full * c_prev[..., None, None])
            if config.delta == "new_minus_prev":
                maps.append(full * c_new[..., None, None])
        n = len(maps)
        eps = model(torch.cat([x] * n), t.to(device), torch.cat(maps)).chunk(n)
        guided = eps[0] + config.scale * (eps[1] - eps[0])
        delta = torch.zeros_like(guided)
        if need_delta:
            delta = (eps[3] if config.delta == "new_minus_prev" else eps[1]) - eps[2]
            delta = torch.where(active[:, None, None, None], delta, torch.zeros_like(delta))
            guided = guided + config.w * delta
        if return_deltas:
            deltas[i] = delta.cpu()
        x = scheduler.step(guided, t, x, eta=config.eta, generator=generator).prev_sample
    return ScdResult(x.clamp(-1, 1), deltas, x)
