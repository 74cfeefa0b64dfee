"""The stable-baselines3 ``VecEnv`` plumbing shared by FAST's batched environments.

FAST's environments (:mod:`sims.fast.order_env`, :mod:`sims.fast.bandwidth_env`) keep all their
episodes in one array-based object whose ``step`` returns (rewards, done, infos) for every
episode at once, so that the diffusion receiver runs once per step for all of them. This base
turns such an object into a ``VecEnv``: auto-reset with ``terminal_observation``, and the
attribute plumbing a single shared bookkeeping needs. A subclass supplies :meth:`_step` (the
actions -> (rewards, done, infos)), :meth:`_observations` and :meth:`_reset`.
"""

from __future__ import annotations

import numpy as np
from stable_baselines3.common.vec_env import VecEnv

__all__ = ["ArrayVecEnv"]


class ArrayVecEnv(VecEnv):
    """``num_envs`` episodes stepped together by one array-based bookkeeping (module docstring)."""

    def __init__(self, num_envs: int, observation_space, action_space):
        self.render_mode = None
        super().__init__(num_envs, observation_space, action_space)
        self._actions = None

    def _step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[dict]]:
        raise NotImplementedError

    def _observations(self) -> np.ndarray:
        raise NotImplementedError

    def _reset(self, which: np.ndarray) -> None:
        raise NotImplementedError

    def reset(self):
        """New episodes everywhere -> observations (num_envs, ...)."""
        self._reset(np.ones(self.num_envs, dtype=bool))
        return self._observations()

    def step_async(self, actions: np.ndarray) -> None:
        """Keep ``actions`` for :meth:`step_wait`."""
        self._actions = actions

    def step_wait(self):
        """Step every episode; ended ones restart (``terminal_observation`` kept) -> (obs, rewards, dones, infos)."""
        rewards, done, infos = self._step(self._actions)
        if done.any():
            terminal = self._observations()
            for b in np.flatnonzero(done):
                infos[b]["terminal_observation"] = terminal[b]
            self._reset(done)
        return self._observations(), rewards, done, infos

    def close(self) -> None:
        """Nothing to release."""

    def get_attr(self, attr_name: str, indices=None) -> list:
        """The vector env's attribute, once per index (the environments share one bookkeeping)."""
        if not hasattr(self, attr_name):
            raise AttributeError(attr_name)
        return [getattr(self, attr_name)] * len(self._indices(indices))

    def set_attr(self, attr_name: str, value, indices=None) -> None:
        """Set the vector env's attribute."""
        setattr(self, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list:
        """Only ``action_masks`` where the subclass has it: each index's mask (what MaskablePPO asks for)."""
        if method_name == "action_masks" and hasattr(self, "action_masks"):
            return list(self.action_masks()[self._indices(indices)])
        raise AttributeError(f"{type(self).__name__} has no per-env method {method_name!r}")

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        """No environment is wrapped."""
        return [False] * len(self._indices(indices))

    def _indices(self, indices) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        return [indices] if isinstance(indices, int) else list(indices)
