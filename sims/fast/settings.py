"""The times and reward weights of FAST's ordering MDP (seed 001, Sec. IV-A, V), apart from the
environment so that schedules and sweep methods need no RL library."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OrderSettings"]


@dataclass(frozen=True)
class OrderSettings:
    """The MDP's times (in denoising-step durations) and reward weights (seed 001, Sec. V: T_d = 60,
    tau_d = 10, tau_e = 5; alternatives tau_e = 2.5 / tau_d = 5 and tau_e = 7.5 / tau_d = 15)."""

    steps: int = 60  #: T_d
    tau_d: int = 10  #: steps per denoising segment
    tau_e: float = 5.0  #: extraction time of one unit, in step durations
    latency_weight: float = 0.001  #: lambda, reward per step of extra latency
    precision_weight: float = 1.0  #: weight of the final precision
    max_phases: int | None = None  #: phases before an episode that never starts ends (default 2 x segments)

    def __post_init__(self) -> None:
        if self.tau_d < 1 or self.steps % self.tau_d:
            raise ValueError(f"tau_d = {self.tau_d} must divide steps = {self.steps}")
        if self.tau_e <= 0:
            raise ValueError(f"tau_e must be > 0, got {self.tau_e}")
        if self.latency_weight < 0:
            raise ValueError(f"latency_weight must be >= 0, got {self.latency_weight}")

    @property
    def segments(self) -> int:
        """T_d / tau_d, the phases of an episode that starts in phase 1."""
        return self.steps // self.tau_d

    @property
    def phase_limit(self) -> int:
        """Phases after which an episode that never started ends."""
        return self.max_phases or 2 * self.segments
