"""Decoding offloading: a DDPM chain split in time between an edge server and a user (M-GSC).

Seed 003 (Yang et al., Section III-B2 and the case study of Section IV, Figs. 4-6):
the first ``s`` of the T = 1000 denoising steps run at the edge with one
*cluster-wide* model shared by users with similar tasks; the intermediate noisy
image x_{T-s} goes to the user over an analog link (one pixel per channel
value); the user runs the remaining T - s steps with its own *personalised*
model. Both are box-conditioned DDPMs (:class:`~semantic.receivers.sdm.SemanticUNet`
with the condition below), classic ancestral DDPM sampling on the linear
1000-step schedule (the paper's footnote 4), through diffusers'
``DDPMScheduler``; ``num_inference_steps`` < 1000 strides the same chain
(diffusers' "leading" spacing) and the split keeps its meaning: the edge runs
every scheduled timestep t >= T - s.

The channel as diffusion noise (``channel_aware``). The user receives
y = x_t + n with n ~ N(0, sigma^2) per value (sigma^2 in x's scale). With
x_t = sqrt(a_t) x_0 + sqrt(1 - a_t) eps (a = alpha-bar),

    y / sqrt(1 + sigma^2) = sqrt(a_t / (1 + sigma^2)) x_0 + sqrt((1 - a_t + sigma^2) / (1 + sigma^2)) eps',

which is the forward marginal of a later step t' with a_t' = a_t / (1 + sigma^2)
(1 - a_t' = (1 + sigma^2 - a_t) / (1 + sigma^2)), t' >= t: the user rescales and
resumes at the scheduled timestep whose alpha-bar is nearest a_t' (one the edge
already ran), so the channel noise is denoised as diffusion noise, at the price
of the extra steps from t' down to t. Without it (the paper's setting) the user
resumes at t with y as if it were x_t.

Condition (the paper's Fig. 5: boxes plus "static scene backgrounds serve as
personalised reference images"): float32 (B, 4, S, S) = [the union mask of the
decoded 5-bit boxes, the scene's reference image in [-1, 1]].

Shapes: images float32 (B, 3, S, S) in [-1, 1]; timesteps int64.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from diffusers import DDPMScheduler

from ..boxes import box_mask, dequantize_boxes

__all__ = [
    "BOX_CONDITION_CHANNELS",
    "SplitResult",
    "box_condition",
    "ddpm_scheduler",
    "edge_step_count",
    "resume_index",
    "split_sample",
]

#: box mask (1) + reference image (3).
BOX_CONDITION_CHANNELS = 4

#: y, noise variance per image = link(x): float32 (B, 3, S, S) -> ((B, 3, S, S), (B,)), y = x + n in x's scale.
AnalogLink = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def ddpm_scheduler(num_train_timesteps: int = 1000) -> DDPMScheduler:
    """The linear-schedule DDPM every box model trains and samples with (beta 1e-4 .. 0.02)."""
    return DDPMScheduler(num_train_timesteps=num_train_timesteps, beta_schedule="linear", clip_sample=True)


def box_condition(codes: list[torch.Tensor], reference: torch.Tensor, size: int | None = None) -> torch.Tensor:
    """Condition float32 (B, 4, S, S) from B frames' box codes (M_i, 4) and references (B or 1, 3, S, S)."""
    if reference.dim() == 3:
        reference = reference[None]
    S = size or reference.shape[-1]
    masks = torch.stack([box_mask(dequantize_boxes(c), S, S) for c in codes])[:, None]
    return torch.cat([masks.to(reference.device), reference.expand(len(codes), -1, -1, -1)], dim=1)


def edge_step_count(timesteps: torch.Tensor, offload_steps: int, num_train_timesteps: int = 1000) -> int:
    """How many of the scheduled ``timesteps`` (descending) the edge runs: those t >= T - s."""
    if not 0 <= offload_steps <= num_train_timesteps:
        raise ValueError(f"offload_steps must be in [0, {num_train_timesteps}]; got {offload_steps}")
    return int((timesteps >= num_train_timesteps - offload_steps).sum())


def resume_index(alphas_cumprod: torch.Tensor, timesteps: torch.Tensor, sent_at: int, noise_var: torch.Tensor) -> torch.Tensor:
    """int64 (B,): per image, the index into the scheduled ``timesteps`` (descending) whose
    alpha-bar is nearest a_t / (1 + sigma^2), t = ``timesteps[sent_at]`` the step x was sent at.

    a_t / (1 + sigma^2) < a_t, so the index is at most ``sent_at``: the user resumes at the same
    or a noisier step and runs more steps than s left it (the channel noise is denoised too).
    """
    a_t = alphas_cumprod[timesteps[sent_at]].double()
    target = a_t / (1 + noise_var.double())  # (B,)
    return (alphas_cumprod[timesteps].double()[None, :] - target[:, None]).abs().argmin(dim=1)


class _Routed:
    """One model per user: image i goes to ``models[owner[i]]``."""

    def __init__(self, models: list[torch.nn.Module]):
        self.models = models


def _eps(model, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor, owner: torch.Tensor) -> torch.Tensor:
    if not isinstance(model, _Routed):
        return model(x, t, cond)
    eps = torch.empty_like(x)
    for k in owner.unique().tolist():
        rows = owner == k
        eps[rows] = model.models[k](x[rows], t, cond[rows])
    return eps


@dataclass
class SplitResult:
    """One split-sampled batch."""

    images: torch.Tensor  #: float32 (B, 3, S, S) the user's decoded images, in [-1, 1]
    sent: torch.Tensor | None  #: float32 (B, 3, S, S) what the edge sent (None when s = 0)
    edge_steps: int  #: denoising steps run at the edge
    user_steps: torch.Tensor  #: int64 (B,) steps run by each user (more when channel-aware resumes at a noisier step)


@torch.no_grad()
def split_sample(
    edge_model: torch.nn.Module,
    local_model: torch.nn.Module | Sequence[torch.nn.Module],
    condition: torch.Tensor,
    generator: torch.Generator,
    offload_steps: int,
    num_inference_steps: int = 1000,
    link: AnalogLink | None = None,
    channel_aware: bool = False,
    num_train_timesteps: int = 1000,
    owner: torch.Tensor | None = None,
) -> SplitResult:
    """Ancestral DDPM sampling with the first ``offload_steps`` (of T) at the edge.

    :param edge_model: eps(x_t, t, condition) of the cluster-wide model; ``local_model``: the user's,
        or one model per user with ``owner`` int64 (B,) naming each image's user (its index).
    :param condition: float32 (B, 4, S, S), :func:`box_condition`.
    :param link: the analog hop between edge and user; None: noiseless. With s = T the edge
        finishes the image and sends x_0; with s = 0 nothing is sent.
    :param channel_aware: resume at the step whose marginal matches the received noise (module doc).
    """
    scheduler = ddpm_scheduler(num_train_timesteps)
    scheduler.set_timesteps(num_inference_steps)
    timesteps = scheduler.timesteps.to(condition.device)
    n_edge = edge_step_count(timesteps, offload_steps, num_train_timesteps)
    B, _, S, _ = condition.shape
    x = torch.randn((B, 3, S, S), generator=generator, device=condition.device)

    local = local_model if isinstance(local_model, torch.nn.Module) else _Routed(list(local_model))
    if owner is None:
        owner = torch.zeros(B, dtype=torch.long, device=condition.device)

    def run(eps_of, x, steps):
        for t in steps:
            x = scheduler.step(eps_of(x, t), t, x, generator=generator).prev_sample
        return x

    x = run(lambda x, t: edge_model(x, t, condition), x, timesteps[:n_edge])
    sent = x.clone() if n_edge else None
    start = torch.full((B,), n_edge, dtype=torch.long, device=x.device)  # index of each image's first user step
    if n_edge and link is not None:
        x, noise_var = link(x)
        if channel_aware and n_edge < len(timesteps):
            x = x / (1 + noise_var.to(x.dtype)).sqrt()[:, None, None, None]
            start = resume_index(scheduler.alphas_cumprod.to(x.device), timesteps, n_edge, noise_var).to(x.device)
    if bool((start == n_edge).all()):
        x = run(lambda x, t: _eps(local, x, t, condition, owner), x, timesteps[n_edge:])
    else:  # images resume at different steps: step each image from its own start on
        for k in range(int(start.min()), len(timesteps)):
            t, active = timesteps[k], start <= k
            eps = _eps(local, x[active], t, condition[active], owner[active])
            x[active] = scheduler.step(eps, t, x[active], generator=generator).prev_sample
    return SplitResult(x.clamp(-1, 1), sent, n_edge, len(timesteps) - start)
