"""FAST's unit-ordering MDP (seed 001, Sec. IV-A, Fig. 3, eqs. (3), (7)), for class units of label maps.

The edge server extracts one semantic unit at a time (tau_e denoising-step durations each);
the receiver starts denoising when the first units arrive and takes in later units at the
boundaries of segments of tau_d steps, over T_d steps in all. An episode is one request:

- **state** (Sec. IV-A-1): O, the N x J one-hot attribute matrix of the requested units (zero
  rows for padding, i.e. classes absent from the map); k, the denoising step from which units
  chosen now can guide (observed as k / T_d); I, the N still-needed flags (0 once sent or for
  padding). Flattened into one float32 vector of N J + 1 + N values.
- **action**: extract-and-send now, a binary choice per unit, plus one *lead* unit (see
  below): ``MultiDiscrete([2] * N + [N])``.
- **phases**: phase 1 has no denoising: its n_1 units take n_1 tau_e and all guide from step 0.
  Phase t >= 2 extracts n_t units while the receiver denoises one segment: latency
  max(n_t tau_e, tau_d); its units join at k = (t - 1) tau_d. The episode ends when k reaches
  T_d; units not sent by then are discarded.
- **reward** (eq. (3), reconstructed: the text copy lost its body): per phase
  -lambda n_1 tau_e (phase 1) or -lambda max(0, n_t tau_e - tau_d), plus, at the end,
  ``precision_weight`` x the precision of the final image (:class:`sims.fast.precision.ScdPrecision`).
  The sum of the latency terms over lambda is the residual latency (time beyond T_d) in steps.
- **masks** (eq. (7)): a unit's "send" is masked for padding units and units already sent
  (the paper's two kinds of non-contributory actions). The issue also masks an empty first
  phase; a factorised (per-unit Bernoulli) policy cannot mask one joint choice, so the action
  carries a lead unit, masked to the valid units in phase 1 (and to slot 0, ignored, later):
  the phase-1 set is the picks plus the lead, never empty. Without masks (plain PPO) invalid
  picks have no effect; an empty phase 1 then idles one extraction (-lambda tau_e, residual
  latency tau_e) and repeats, and after ``max_phases`` phases the episode ends with what
  arrived (nothing: the null-map image).

Episodes are batched: :class:`OrderEpisodes` holds B episodes as arrays and asks the precision
oracle once for every episode that ends in a step, so a vector env (:class:`FastOrderVecEnv`,
stable-baselines3's ``VecEnv``) runs one batched denoising for all its environments;
:class:`FastOrderEnv` is the same bookkeeping for one episode (gymnasium ``Env``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np

from phy.rng import derive_seed
from semantic.receivers.scd import NEVER
from semantic.units import UnitAttributes

from .settings import OrderSettings
from .vec_env import ArrayVecEnv

__all__ = ["FastOrderEnv", "FastOrderVecEnv", "OrderEpisodes", "OrderSettings", "PrecisionOracle"]

#: (pool indices int (M,), arrival steps int (M, N)) -> precision float (M,)
PrecisionOracle = Callable[[np.ndarray, np.ndarray], np.ndarray]


class OrderEpisodes:
    """B episodes of the ordering MDP as arrays (the bookkeeping of the module docstring).

    :param units: bool (P, N): the units present in each pool map (``semantic.units.present_units``).
    :param attributes: the attribute of each slot.
    :param oracle: the precision of finished episodes, one call per :meth:`step`.
    :param rngs: one ``numpy`` generator per episode slot; slot b draws its maps from ``rngs[b]``.
    """

    def __init__(
        self,
        units: np.ndarray,
        attributes: UnitAttributes,
        oracle: PrecisionOracle,
        settings: OrderSettings,
        rngs: list[np.random.Generator],
    ):
        if units.ndim != 2 or units.shape[1] != attributes.num_slots:
            raise ValueError(f"units has shape {units.shape}; expected (P, {attributes.num_slots})")
        if not units.any(axis=1).all():
            raise ValueError("every pool map needs at least one unit")
        self.units, self.oracle, self.settings, self.rngs = units.astype(bool), oracle, settings, rngs
        self.N, self.J = attributes.num_slots, attributes.num_attributes
        self.attribute_rows = np.eye(self.J, dtype=np.float32)[list(attributes.of_slot)]  # (N, J)
        B = len(rngs)
        self.image = np.zeros(B, dtype=np.int64)
        self.present = np.zeros((B, self.N), dtype=bool)
        self.sent = np.zeros((B, self.N), dtype=bool)
        self.round = np.zeros((B, self.N), dtype=np.int64)  # 1.. the round a unit was sent in; 0 unsent
        self.arrival = np.full((B, self.N), NEVER, dtype=np.int64)
        self.started = np.zeros(B, dtype=bool)
        self.k = np.zeros(B, dtype=np.int64)
        self.phases = np.zeros(B, dtype=np.int64)
        self.rounds = np.zeros(B, dtype=np.int64)
        self.residual = np.zeros(B)  # residual latency so far, in steps
        self.returns = np.zeros(B)
        self.invalid_picks = np.zeros(B, dtype=np.int64)
        self.started_at = np.zeros(B)

    @property
    def num_episodes(self) -> int:
        """B, the episode slots."""
        return len(self.rngs)

    @property
    def observation_size(self) -> int:
        """N J + 1 + N."""
        return self.N * self.J + 1 + self.N

    @property
    def action_nvec(self) -> list[int]:
        """The ``MultiDiscrete`` sizes: [2] * N (send now or not) + [N] (the lead unit)."""
        return [2] * self.N + [self.N]

    def reset(self, which: np.ndarray) -> None:
        """Start new episodes in slots ``which`` (bool (B,) or indices), each on a map drawn from its rng."""
        for b in np.arange(self.num_episodes)[which]:
            self.image[b] = self.rngs[b].integers(len(self.units))
        self.present[which] = self.units[self.image[which]]
        for array, value in ((self.sent, False), (self.round, 0), (self.arrival, NEVER), (self.started, False),
                             (self.k, 0), (self.phases, 0), (self.rounds, 0), (self.residual, 0.0),
                             (self.returns, 0.0), (self.invalid_picks, 0)):  # fmt: skip
            array[which] = value
        self.started_at[which] = time.perf_counter()

    def valid(self) -> np.ndarray:
        """bool (B, N): the units that may be sent now (present, not sent)."""
        return self.present & ~self.sent

    def observations(self) -> np.ndarray:
        """float32 (B, N J + 1 + N): (O, k / T_d, I)."""
        O = self.present[..., None] * self.attribute_rows  # (B, N, J)
        k = (self.k / self.settings.steps)[:, None]
        return np.concatenate([O.reshape(len(O), -1), k, self.valid()], axis=1).astype(np.float32)

    def action_masks(self) -> np.ndarray:
        """bool (B, 2 N + N): per unit [no, send] (send only if valid), then the lead unit's N choices
        (the valid units before denoising starts, else slot 0 only)."""
        valid = self.valid()
        B = len(valid)
        send = np.stack([np.ones_like(valid), valid], axis=2).reshape(B, 2 * self.N)
        lead = np.where(self.started[:, None], np.eye(self.N, dtype=bool)[0], valid)
        return np.concatenate([send, lead], axis=1)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[dict]]:
        """Apply ``actions`` int (B, N + 1) -> (rewards float (B,), done bool (B,), infos); the
        precision of every episode that ends comes from one oracle call."""
        s = self.settings
        actions = np.asarray(actions).reshape(self.num_episodes, self.N + 1)
        valid = self.valid()
        picks = actions[:, : self.N].astype(bool)
        lead = np.clip(actions[:, self.N].astype(np.int64), 0, self.N - 1)
        rows = np.arange(len(lead))
        lead_pick = np.zeros_like(picks)
        lead_pick[rows, lead] = ~self.started
        chosen = (picks | lead_pick) & valid
        self.invalid_picks += ((picks & ~valid).sum(1) + (lead_pick & ~valid).any(1)).astype(np.int64)
        n = chosen.sum(1)
        # Phase 1 (not started): n tau_e, or an idle tau_e when nothing valid was picked. Later: the
        # extraction beyond the segment it overlaps.
        extra = np.where(self.started, np.maximum(0.0, n * s.tau_e - s.tau_d), np.maximum(n, 1) * s.tau_e)
        starts = ~self.started & (n > 0)
        self.arrival[chosen] = np.broadcast_to(self.k[:, None], chosen.shape)[chosen]
        self.rounds += (n > 0) | self.started
        self.round[chosen] = np.broadcast_to(self.rounds[:, None], chosen.shape)[chosen]
        self.sent |= chosen
        self.k = np.where(self.started | starts, self.k + s.tau_d, self.k)
        self.started |= starts
        self.phases += 1
        self.residual += extra
        rewards = -s.latency_weight * extra
        done = (self.started & (self.k >= s.steps)) | (~self.started & (self.phases >= s.phase_limit))
        precision = np.zeros(self.num_episodes)
        if done.any():
            precision[done] = self.oracle(self.image[done], self.arrival[done])
        rewards = rewards + s.precision_weight * precision * done
        self.returns += rewards
        infos = [{} for _ in range(self.num_episodes)]
        for b in np.flatnonzero(done):
            infos[b] = {
                "precision": float(precision[b]), "residual_latency": float(self.residual[b]),
                "image": int(self.image[b]), "present": self.present[b].copy(), "round": self.round[b].copy(),
                "phases": int(self.phases[b]), "invalid_picks": int(self.invalid_picks[b]),
                "episode": {"r": float(self.returns[b]), "l": int(self.phases[b]),
                            "t": round(time.perf_counter() - self.started_at[b], 6)},
            }  # fmt: skip
        return rewards.astype(np.float32), done, infos


def episode_rngs(seed: int, count: int) -> list[np.random.Generator]:
    """Slot b's map stream: seeded by (seed, b), so env b of a vector env and a single env built
    with ``slot = b`` draw the same maps."""
    return [np.random.default_rng(derive_seed(seed, "fast-order-env", b)) for b in range(count)]


def _spaces(episodes: OrderEpisodes) -> tuple[gym.Space, gym.Space]:
    observation = gym.spaces.Box(0.0, 1.0, (episodes.observation_size,), np.float32)
    return observation, gym.spaces.MultiDiscrete(episodes.action_nvec)


class FastOrderEnv(gym.Env):
    """One episode at a time (gymnasium ``Env``); ``action_masks()`` for sb3-contrib's MaskablePPO.

    :param slot: which map stream of ``seed`` it draws from (env ``slot`` of a :class:`FastOrderVecEnv`).
    """

    metadata = {"render_modes": []}

    def __init__(self, units, attributes, oracle, settings=OrderSettings(), seed: int = 0, slot: int = 0):
        self.episodes = OrderEpisodes(units, attributes, oracle, settings, episode_rngs(seed, slot + 1)[slot:])
        self.observation_space, self.action_space = _spaces(self.episodes)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """A new episode on a map drawn from the slot's stream (or from ``seed``) -> (observation, {})."""
        super().reset(seed=seed)
        if seed is not None:
            self.episodes.rngs[0] = np.random.default_rng(seed)
        self.episodes.reset(np.array([True]))
        return self.episodes.observations()[0], {}

    def step(self, action):
        """gymnasium's (observation, reward, terminated, truncated = False, info) for action int (N + 1,)."""
        rewards, done, infos = self.episodes.step(np.asarray(action)[None])
        return self.episodes.observations()[0], float(rewards[0]), bool(done[0]), False, infos[0]

    def action_masks(self) -> np.ndarray:
        """bool (3 N,): :meth:`OrderEpisodes.action_masks` of the episode."""
        return self.episodes.action_masks()[0]


class FastOrderVecEnv(ArrayVecEnv):
    """``num_envs`` episodes stepped together (stable-baselines3 ``VecEnv``, auto-reset): the episodes
    that end in a step are denoised in one batched oracle call. ``env_method("action_masks")``
    serves MaskablePPO."""

    def __init__(self, units, attributes, oracle, settings=OrderSettings(), num_envs: int = 16, seed: int = 0):
        self.episodes = OrderEpisodes(units, attributes, oracle, settings, episode_rngs(seed, num_envs))
        super().__init__(num_envs, *_spaces(self.episodes))

    def _step(self, actions):
        return self.episodes.step(actions)

    def _observations(self):
        return self.episodes.observations()

    def _reset(self, which):
        self.episodes.reset(which)

    def action_masks(self) -> np.ndarray:
        """bool (num_envs, 3 N)."""
        return self.episodes.action_masks()
