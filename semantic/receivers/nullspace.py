"""Null-space diffusion sampling (DDNM / DDNM+) for any linear measurement y = A x + n.

Wang, Yu, Zhang, "Zero-shot image restoration using denoising diffusion
null-space model", ICLR 2023; as used for multi-user OFDMA by Grassucci et
al. (2024). At every step the model's clean estimate x0|t is corrected in the
range space of A and kept in its null space:

    x0|t_hat = x0|t - Sigma_t A+ (A x0|t - y)

and the next sample is drawn around x0|t_hat. Without noise Sigma_t = I
(the received entries are kept exactly). With noise of standard deviation
sigma_y (DDNM+, eqs. 17-19 of Wang et al.), for a step whose next sample is
x_{t-1} = a_t x0|t_hat + (terms in x_t, eps) + (noise of std sigma_t):

    lambda_t = 1 if sigma_t >= a_t sigma_y else sigma_t / (a_t sigma_y)
    gamma_t  = sigma_t^2 - (a_t lambda_t sigma_y)^2

Sigma_t = lambda_t and the injected noise has variance gamma_t, so the noise
that y carries into x_{t-1} never exceeds the step's own noise budget.
sigma_y may differ per entry (e.g. sigma / |h| after equalisation); lambda_t
and gamma_t are then elementwise on the received entries, and gamma_t =
sigma_t^2 elsewhere.

How this differs from the official DDNM code (github.com/wyhuai/DDNM), for
readers comparing numbers: ``eta`` here is DDIM's eta (the share of fresh
noise in sigma_t, 0.85 by default), whereas DDNM's ``eta`` scales its own
noise term; and ``travel_repeat = r`` makes r jumps back per jump point, where
DDNM's ``repeat_step = r`` makes r - 1 (it counts the first pass).

Two samplers over the scheduler's ``alphas_cumprod``:
- ``ddpm``: ancestral steps; a_t = sqrt(abar_{t-1}) beta_t / (1 - abar_t),
  sigma_t^2 = (1 - abar_{t-1}) / (1 - abar_t) beta_t (beta_t for skipped steps
  is 1 - abar_t / abar_{t-1});
- ``ddim``: a_t = sqrt(abar_{t-1}), sigma_t^2 = 1 - abar_{t-1} (all the noise of
  x_{t-1}); gamma_t is split into fresh noise (share eta) and the model's eps.

The last step (into the clean state) has sigma_t = 0, so eq. 19 gives
lambda = 0 wherever sigma_y > 0: the received entries would be replaced by the
model's x0 even at 60 dB (they drifted by up to 0.048). There the correction
instead weighs the two estimates by their variances, lambda = s^2 / (s^2 +
sigma_y^2) with s^2 = (1 - abar_t) / abar_t the noise variance of x_t in x0
units (what the model's estimate is at most uncertain by): y is kept where its
noise is negligible (lambda -> 1) and the denoised estimate where it is not.

Optional time travel (DDNM, Sec. 3.4): every ``travel_length`` steps, jump
back ``travel_length`` steps by re-noising (q(x_{t+l} | x_t)) and denoise
again, ``travel_repeat`` times.

The update equations are written here rather than taken from a diffusers
scheduler's ``step`` because DDNM+ changes the injected noise variance,
which ``step`` does not expose; the scheduler supplies the noise schedule
and the timesteps, so any diffusers noise-prediction model and DDPM-family
scheduler works.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch

__all__ = ["LinearOperator", "NullSpaceConfig", "ddnm_coefficients", "null_space_sample", "travel_schedule"]


class LinearOperator(Protocol):
    """y = A x: images (..., C, H, W) <-> measurements; A_pinv(y) has the image shape."""

    def A(self, images: torch.Tensor) -> torch.Tensor:
        """y = A x."""

    def A_pinv(self, y: torch.Tensor) -> torch.Tensor:
        """x = A+ y."""


@dataclass(frozen=True)
class NullSpaceConfig:
    """Sampler settings.

    :param steps: denoising steps (timesteps spread over the training schedule).
    :param sampler: ``"ddim"`` or ``"ddpm"`` (ancestral).
    :param eta: DDIM's share of fresh noise (0: deterministic given x_T).
    :param travel_length: time-travel jump in steps (0: none).
    :param travel_repeat: how many times each jump is repeated.
    :param clip: clamp x0|t to [-1, 1] before the correction.
    :param compile: run each step's elementwise update (DDNM+'s coefficients, the correction and the
        sampler's step) as one ``torch.compile`` kernel: worth it on a GPU, where these dozen
        elementwise operations are a launch each; the eager update gives the same numbers to
        float32 rounding.
    """

    steps: int = 50
    sampler: str = "ddim"
    eta: float = 0.85
    travel_length: int = 0
    travel_repeat: int = 1
    clip: bool = True
    compile: bool = False

    def __post_init__(self):
        if self.sampler not in ("ddim", "ddpm"):
            raise ValueError(f"sampler {self.sampler!r}: expected 'ddim' or 'ddpm'")
        if self.steps < 1 or not 0 <= self.eta <= 1 or self.travel_length < 0 or self.travel_repeat < 1:
            raise ValueError("steps >= 1, 0 <= eta <= 1, travel_length >= 0, travel_repeat >= 1")


def ddnm_coefficients(a_t, sigma_t, sigma_y) -> tuple[torch.Tensor, torch.Tensor]:
    """(lambda_t, gamma_t) of DDNM+ (Wang et al., eq. 19), elementwise in sigma_y >= 0.

    ``a_t``, ``sigma_t``: Python floats (the sampler passes float32 values, so the float32
    arithmetic is that of 0-dim float32 tensors) or 0-dim tensors; ``sigma_y``: float or tensor.
    """
    sigma_y = torch.as_tensor(sigma_y, dtype=torch.float32)
    scaled = a_t * sigma_y
    # torch.div, not ``sigma_t / scaled``: a float's ``/`` by a tensor is reciprocal-then-multiply
    lam = torch.where(sigma_t >= scaled, 1.0, torch.div(sigma_t, scaled))
    # a_t lambda_t sigma_y = min(a_t sigma_y, sigma_t): no inf * 0 when sigma_y is infinite
    gamma = (sigma_t * sigma_t - scaled.clamp(max=sigma_t).square()).clamp_min(0.0)
    return lam, gamma


def travel_schedule(steps: int, travel_length: int, travel_repeat: int) -> list[tuple[int, int]]:
    """Transitions (from_index, to_index) over states 0 (pure noise) .. steps (clean).

    to = from + 1 is a denoising step; to < from a jump back in time (re-noising).
    Jumps happen only at the frontier (the furthest state reached), every
    ``travel_length`` steps, ``travel_repeat`` times each, never nested.
    """
    moves, i, reached, jumps = [], 0, 0, {}
    while i < steps:
        moves.append((i, i + 1))
        i += 1
        reached = max(reached, i)
        if travel_length and i == reached and i < steps and i % travel_length == 0:
            if jumps.get(i, 0) < travel_repeat:
                jumps[i] = jumps.get(i, 0) + 1
                moves.append((i, i - travel_length))
                i -= travel_length
    return moves


@torch.no_grad()
def null_space_sample(
    unet: torch.nn.Module,
    alphas_cumprod: torch.Tensor,
    timesteps: torch.Tensor,
    operator: LinearOperator,
    y: torch.Tensor,
    generator: torch.Generator,
    config: NullSpaceConfig = NullSpaceConfig(),
    sigma_y: torch.Tensor | float = 0.0,
    progress: Callable[[int, int], None] | None = None,
) -> torch.Tensor:
    """Sample x with A x ~ y.

    :param unet: noise predictor, ``unet(x (N, C, H, W), t).sample`` (a diffusers UNet2DModel).
    :param alphas_cumprod: float (T,) of the scheduler.
    :param timesteps: int (steps,) decreasing timesteps (``scheduler.set_timesteps``).
    :param operator: A, A_pinv on images of shape (..., C, H, W).
    :param y: the measurement.
    :param sigma_y: noise std of A+ y per image entry, broadcastable to the image shape
        (0: noiseless; DDNM's range-space correction is then exact).
    :returns: float32 images, shape of ``A_pinv(y)``.
    """
    known = operator.A_pinv(y)
    shape = known.shape
    device = known.device
    c, h, w = shape[-3:]
    ts = [int(t) for t in timesteps]
    if config.travel_length and config.travel_length >= len(ts):
        raise ValueError(f"travel_length ({config.travel_length}) must be below steps ({len(ts)})")

    sigma_y = torch.broadcast_to(torch.as_tensor(sigma_y, dtype=torch.float32, device=device), shape)
    measured = operator.A_pinv(operator.A(torch.ones(shape, device=device))) != 0  # received entries
    x = torch.randn(shape, generator=generator, device=device)
    moves = travel_schedule(len(ts), config.travel_length, config.travel_repeat)
    # every scalar of every move, computed once and in float32 on the CPU: the loop then launches
    # no scalar kernels on a GPU (each is a kernel launch there), and the numbers are unchanged
    abar = alphas_cumprod.detach().to("cpu", torch.float32)
    plan = [_move_scalars(abar, ts, i, j, config) for i, j in moves]
    update = _step_update
    if config.compile:
        update = torch.compile(_step_update, dynamic=False)
        plan = [{k: torch.tensor(v, device=device) if isinstance(v, float) else v for k, v in p.items()} for p in plan]
    for n, ((i, j), scalars) in enumerate(zip(moves, plan)):
        if j < i:  # time travel: re-noise from step i back to step j
            noise = torch.randn(shape, generator=generator, device=device)
            x = scalars["keep"] * x + scalars["fresh"] * noise
            continue
        eps = unet(x.reshape(-1, c, h, w), ts[i]).sample.reshape(shape).float()
        x0 = (x - scalars["sqrt_one_minus_abar"] * eps) / scalars["sqrt_abar"]
        if config.clip:
            x0 = x0.clamp(-1, 1)
        residual = operator.A_pinv(operator.A(x0) - y)
        noise = torch.randn(shape, generator=generator, device=device)
        x = update(x, x0, residual, eps, noise, sigma_y, measured, **scalars)
        if progress is not None:
            progress(n + 1, len(moves))
    return x


def _move_scalars(abar: torch.Tensor, ts: list[int], i: int, j: int, config: NullSpaceConfig) -> dict:
    """The scalars of the move from state i to state j (module docstring), as Python floats of
    float32 values (what 0-dim float32 tensors would give), plus the two flags of the update.
    ``abar``: float32 (T,) alphas_cumprod on the CPU."""

    def abar_at(index: int) -> torch.Tensor:  # index into ts; len(ts) means "clean"
        return abar[ts[index]] if index < len(ts) else torch.ones(())

    if j < i:
        ratio = abar_at(i) / abar_at(j)
        return {"keep": (1 / ratio).sqrt().item(), "fresh": (1 - 1 / ratio).sqrt().item()}
    ab_t, ab_prev = abar_at(i), abar_at(j)
    out = {"sqrt_abar": ab_t.sqrt().item(), "sqrt_one_minus_abar": (1 - ab_t).sqrt().item()}
    if config.sampler == "ddpm":
        beta = 1 - ab_t / ab_prev
        a_t = ab_prev.sqrt() * beta / (1 - ab_t)
        sigma_t = ((1 - ab_prev) / (1 - ab_t) * beta).sqrt()
        out |= {"c_t": ((1 - beta).sqrt() * (1 - ab_prev) / (1 - ab_t)).item(), "share": 1.0, "keep_eps": 0.0}
    else:
        a_t, sigma_t = ab_prev.sqrt(), (1 - ab_prev).sqrt()
        fresh = config.eta * ((1 - ab_prev) / (1 - ab_t) * (1 - ab_t / ab_prev)).sqrt()
        share = torch.where(sigma_t > 0, (fresh / sigma_t.clamp_min(1e-12)).clamp(max=1), 0.0)
        out |= {"c_t": 0.0, "share": share.item(), "keep_eps": (1 - share.square()).sqrt().item()}
    s2 = (1 - ab_t) / ab_t  # the last step weighs y against x0 by their variances (module docstring)
    out |= {"a_t": a_t.item(), "sigma_t": sigma_t.item(), "sigma_t_sq": sigma_t.square().item(), "s2": s2.item()}
    out |= {"last": j == len(ts), "ancestral": config.sampler == "ddpm"}
    return out


def _step_update(x, x0, residual, eps, noise, sigma_y, measured, *, sqrt_abar, sqrt_one_minus_abar, a_t, sigma_t,
                 sigma_t_sq, c_t, share, keep_eps, s2, last: bool, ancestral: bool):  # fmt: skip
    """x_{t-1} from x_t, x0|t, A+ (A x0|t - y), eps and fresh noise (all float32 of the image shape):
    DDNM+'s corrected x0 and noise variance, then the sampler's step. Scalars are floats (eager)
    or 0-dim tensors (``config.compile``: one fused kernel on a GPU, no recompilation per step)."""
    lam, gamma = ddnm_coefficients(a_t, sigma_t, sigma_y)
    if last:
        lam = torch.div(s2, s2 + sigma_y.square())
    gamma = torch.where(measured, gamma, sigma_t_sq)  # null space: the full noise
    x0_hat = x0 - lam * residual
    if ancestral:
        return a_t * x0_hat + c_t * x + gamma.sqrt() * noise
    return a_t * x0_hat + gamma.sqrt() * (share * noise + keep_eps * eps)
