"""FAST's semantic-aware bandwidth allocation MDP (seed 001, Sec. IV-C, eqs. (12)-(14)).

Every slot the edge server splits the band among K users (:mod:`sims.fast.multiuser`):

- **state**: per user, its queued units per attribute (J values, over N), its slot SNR (dB / 50)
  and its importance (omega_k / max omega): K (J + 2) values;
- **action**: K real outputs; the shares are their softmax (ours: the issue allows a softmax
  or a Dirichlet policy), so they are non-negative and sum to 1;
- **transition**: user k sends floor(share_k x capacity_k) units of its FIFO queue (capacity
  from the PHY's MCS at the slot's SNR), the fraction carried to the next slot while it has a
  queue (a 256-bit unit may span slots; the issue's floor alone would never deliver a share
  below one unit per slot, and nothing is banked while the queue is empty); fresh Rayleigh gains next slot; units are extracted
  into the queues on each user's ordering schedule;
- **reward**: per slot sum_k sum_j (units of attribute j user k sent) x d_j (eq. (13); d_j: the
  semantic dependence, the normalised probability that the ordering agent sends attribute j
  first), and at the end sum_k omega_k x precision_k (eq. (12)), precision from the SCD
  receiver (:class:`sims.fast.precision.ScdPrecision`) on the units' arrival steps.
  Optionally (``potential_gamma``) the agent is paid gamma Phi(s') - Phi(s) on top, Phi = sum_k
  d_(head unit of k) x the bits already sent towards it (in units): potential-based shaping
  (Ng, Harada and Russell, ICML 1999), which leaves the optimal policy unchanged and pays a
  share when its bits go out rather than slots later when the unit completes (at 2 kHz a user
  with the whole band needs 2-6 slots per unit). Episode returns (``infos``) stay eq. (12)'s.

An episode ends when every user has passed its last segment boundary (or ``max_slots``).
Episodes are batched like the ordering MDP's: :class:`BandwidthEpisodes` steps E episodes as
arrays and asks the oracle once for all users of the episodes that end;
:class:`BandwidthVecEnv` is its stable-baselines3 ``VecEnv``. Allocation rules that need no
learning: :func:`random_shares`, :func:`importance_shares`.

Shapes: E episodes, K users, N unit slots, J attributes; per-user unit arrays are in FIFO
(extraction) order.
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np

from phy.rng import derive_seed
from semantic.units import UnitAttributes

from .multiuser import MultiUserSettings, SlotRates, arrival_steps, extraction_slots
from .vec_env import ArrayVecEnv

__all__ = ["BandwidthEpisodes", "BandwidthVecEnv", "importance_shares", "random_shares", "softmax"]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Shares (E, K) from policy outputs (E, K)."""
    z = np.exp(logits - logits.max(-1, keepdims=True))
    return z / z.sum(-1, keepdims=True)


class BandwidthEpisodes:
    """E episodes of the allocation MDP (module docstring).

    :param units: bool (P, N), the units of each pool map.
    :param rounds: int (P, N), each unit's round in its map's ordering schedule (0: never extracted).
    :param dependence: float (J,), d_j (normalised to sum 1 here).
    :param oracle: precision of (pool indices (M,), arrival steps (M, N)).
    :param potential_gamma: the agent's discount, to add the potential-based shaping term
        (module docstring); None: the rewards are eq. (12)'s alone.
    """

    def __init__(self, units: np.ndarray, rounds: np.ndarray, attributes: UnitAttributes, dependence: np.ndarray,
                 oracle: Callable[[np.ndarray, np.ndarray], np.ndarray], settings: MultiUserSettings,
                 num_episodes: int, seed: int = 0, potential_gamma: float | None = None):  # fmt: skip
        if rounds.shape != units.shape:
            raise ValueError(f"rounds has shape {rounds.shape}; units {units.shape}")
        self.settings, self.oracle, self.rates = settings, oracle, SlotRates(settings)
        self.potential_gamma = potential_gamma
        self.E, self.K, self.N, self.J = num_episodes, settings.users, units.shape[1], attributes.num_attributes
        self.dependence = np.asarray(dependence, dtype=np.float64) / np.sum(dependence)
        self.importance = np.asarray(settings.importance, dtype=np.float64)
        rounds = np.where(units, rounds, 0)
        ext = extraction_slots(rounds, settings)  # (P, N)
        self.pool_order = np.argsort(ext, axis=1, kind="stable")  # FIFO order of each map's units
        self.pool_ext = np.take_along_axis(ext, self.pool_order, 1)
        self.pool_first = np.take_along_axis(rounds == 1, self.pool_order, 1)
        self.pool_attr = np.array(attributes.of_slot)[self.pool_order]
        self.rngs = [np.random.default_rng(derive_seed(seed, "fast-bandwidth-env", e)) for e in range(num_episodes)]
        shape = (self.E, self.K)
        self.image = np.zeros(shape, np.int64)
        self.mean_snr = np.zeros(shape)
        self.snr = np.zeros(shape)
        self.sent = np.zeros(shape, np.int64)
        self.credit = np.zeros(shape)  # units' worth of bits sent towards the head unit (carried over slots)
        self.delivered = np.full((*shape, self.N), np.inf)
        self.t = np.zeros(self.E, np.int64)
        self.returns = np.zeros(self.E)
        self.last_boundary = (settings.order.segments - 1) * settings.order.tau_d * settings.slots_per_step

    @property
    def ext(self) -> np.ndarray:
        """float (E, K, N): extraction slot of each user's units in FIFO order (inf: never)."""
        return self.pool_ext[self.image]

    def reset(self, which: np.ndarray) -> None:
        """New episodes in slots ``which`` (bool (E,)): K maps, distances, a first SNR draw."""
        for e in np.flatnonzero(which):
            rng = self.rngs[e]
            self.image[e] = rng.integers(len(self.pool_ext), size=self.K)
            self.mean_snr[e] = self.rates.mean_snr_db(self.rates.draw_distances(rng, (self.K,)))
            self.snr[e] = self.rates.draw_snr_db(rng, self.mean_snr[e])
        self.sent[which] = 0
        self.credit[which] = 0.0
        self.delivered[which] = np.inf
        self.t[which] = 0
        self.returns[which] = 0.0

    def queued(self) -> np.ndarray:
        """bool (E, K, N): units extracted and not yet sent (FIFO positions)."""
        idx = np.arange(self.N)
        extracted = self.ext <= self.t[:, None, None]
        return extracted & (idx >= self.sent[..., None])

    def t0(self) -> np.ndarray:
        """float (E, K): when each user's phase-1 units were all delivered (inf: not yet)."""
        first = self.pool_first[self.image]
        return np.where(first, self.delivered, -np.inf).max(-1)

    def active(self) -> np.ndarray:
        """bool (E, K): users whose condition can still change (before their last segment boundary)."""
        return ~(self.t0() + self.last_boundary <= self.t[:, None])

    def observations(self) -> np.ndarray:
        """float32 (E, K (J + 2))."""
        q = self.queued() & self.active()[..., None]
        per_attr = (q[..., None] & (self.pool_attr[self.image][..., None] == np.arange(self.J))).sum(2) / self.N
        snr = self.snr[..., None] / 50.0
        imp = np.broadcast_to(self.importance / self.importance.max(), (self.E, self.K))[..., None]
        return np.concatenate([per_attr, snr, imp], -1).reshape(self.E, -1).astype(np.float32)

    def potential(self) -> np.ndarray:
        """float (E,): Phi = sum_k d_(attribute of k's head unit) x credit_k (units' worth of bits sent towards it)."""
        head = np.minimum(self.sent, self.N - 1)
        d = self.dependence[np.take_along_axis(self.pool_attr[self.image], head[..., None], -1)[..., 0]]
        return (np.where(self.sent < self.N, d, 0.0) * self.credit).sum(-1)

    def capacity(self) -> np.ndarray:
        """float (E, K): units each user could send this slot with the whole band."""
        return self.rates.capacity(self.snr)

    def step(self, shares: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[dict]]:
        """Send with ``shares`` float (E, K) (non-negative, rows summing to 1) -> (rewards, done, infos)."""
        shares = np.asarray(shares, dtype=np.float64)
        if shares.shape != (self.E, self.K) or (shares < -1e-9).any() or not np.allclose(shares.sum(-1), 1, atol=1e-6):
            raise ValueError(f"shares must be (E, K) = {(self.E, self.K)}, non-negative, rows summing to 1")
        phi = self.potential() if self.potential_gamma is not None else None
        active = self.active()
        queue = self.queued().sum(-1) * active
        # A unit may span slots: the bits sent towards it are carried while the user has a queue
        # (floor(share x capacity) alone would never deliver at a share below one unit per slot).
        self.credit = np.where(queue > 0, self.credit + shares * self.capacity(), 0.0)
        n = np.minimum(np.floor(self.credit + 1e-9).astype(np.int64), queue)
        self.credit = np.where(n < queue, self.credit - n, 0.0)
        idx = np.arange(self.N)
        newly = (idx >= self.sent[..., None]) & (idx < (self.sent + n)[..., None])  # (E, K, N)
        self.delivered[newly] = np.broadcast_to((self.t + 1)[:, None, None], newly.shape)[newly]
        self.sent += n
        attrs = self.pool_attr[self.image]
        rewards = (newly * self.dependence[attrs]).sum((1, 2))
        self.t += 1
        for e in range(self.E):
            self.snr[e] = self.rates.draw_snr_db(self.rngs[e], self.mean_snr[e])
        done = ~self.active().any(1) | (self.t >= self.settings.max_slots)
        infos = [{} for _ in range(self.E)]
        if done.any():
            rewards = rewards + self._finish(done, infos)
        self.returns += rewards
        for e in np.flatnonzero(done):
            infos[e]["episode"] = {"r": float(self.returns[e]), "l": int(self.t[e]), "t": 0.0}
        if phi is not None:
            rewards = rewards + self.potential_gamma * np.where(done, 0.0, self.potential()) - phi
        return rewards.astype(np.float32), done, infos

    def _finish(self, done: np.ndarray, infos: list[dict]) -> np.ndarray:
        """Score the users of the ended episodes (one oracle call) -> the final rewards (E,)."""
        s = self.settings
        e_done = np.flatnonzero(done)
        order = self.pool_order[self.image[e_done]]  # (M, K, N): FIFO position -> unit slot
        delivered = np.full(order.shape, np.inf)
        np.put_along_axis(delivered, order, self.delivered[e_done], axis=-1)  # back to slot order
        first = np.zeros(order.shape, bool)
        np.put_along_axis(first, order, self.pool_first[self.image[e_done]], axis=-1)
        arrival, t0 = arrival_steps(delivered, first, s)
        precision = self.oracle(self.image[e_done].reshape(-1), arrival.reshape(-1, self.N)).reshape(len(e_done), self.K)
        final = np.zeros(self.E)
        final[e_done] = (self.importance * precision).sum(1)
        residual = np.minimum(t0, s.max_slots) / s.slots_per_step  # steps beyond T_d
        extracted = np.isfinite(self.pool_ext[self.image[e_done]]).sum(-1)
        for i, e in enumerate(e_done):
            infos[e].update(
                precision=precision[i], residual_steps=residual[i], delivered=self.sent[e].copy(),
                extracted=extracted[i], arrival=arrival[i], images=self.image[e].copy(),
                weighted_precision=float((self.importance * precision[i]).sum() / self.importance.sum()),
                weighted_residual_steps=float((self.importance * residual[i]).sum() / self.importance.sum()),
            )  # fmt: skip
        return final


def random_shares(episodes: BandwidthEpisodes, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random split (Dirichlet(1, ..., 1)) per episode: the paper's random policy."""
    return rng.dirichlet(np.ones(episodes.K), size=episodes.E)


def importance_shares(episodes: BandwidthEpisodes) -> np.ndarray:
    """Importance first (the paper's baseline): users in decreasing omega (ties: lower index)
    get the share that sends their whole queue this slot, while the band lasts; what is left
    goes to the most important active user (a share need not be used)."""
    order = np.argsort(-episodes.importance, kind="stable")
    queue = (episodes.queued() & episodes.active()[..., None]).sum(-1)
    cap = episodes.capacity()
    shares = np.zeros((episodes.E, episodes.K))
    left = np.ones(episodes.E)
    for k in order:
        need = np.where(cap[:, k] > 0, np.ceil(queue[:, k]) / np.maximum(cap[:, k], 1e-12), 0.0)
        give = np.minimum(need * (1 + 1e-9), left)
        shares[:, k] = give
        left -= give
    shares[np.arange(episodes.E), order[0]] += np.maximum(left, 0)
    return shares / shares.sum(-1, keepdims=True)


class BandwidthVecEnv(ArrayVecEnv):
    """``num_envs`` allocation episodes for stable-baselines3 (auto-reset); the action is K real
    outputs whose softmax is the split."""

    def __init__(self, episodes: BandwidthEpisodes):
        self.episodes = episodes
        observation = gym.spaces.Box(-np.inf, np.inf, (episodes.K * (episodes.J + 2),), np.float32)
        super().__init__(episodes.E, observation, gym.spaces.Box(-5.0, 5.0, (episodes.K,), np.float32))

    def _step(self, actions):
        return self.episodes.step(softmax(np.clip(actions, -5, 5)))

    def _observations(self):
        return self.episodes.observations()

    def _reset(self, which):
        self.episodes.reset(which)
