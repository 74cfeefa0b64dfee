"""Monte-Carlo channel draws from the link budget, and the paper's intent patterns."""

from __future__ import annotations

import numpy as np

from ..config import LinkBudgetConfig

__all__ = ["channel_gains", "intent_matrix", "noise_psd_w_hz"]


def noise_psd_w_hz(budget: LinkBudgetConfig) -> float:
    """N0 in W/Hz from the budget's dBm/Hz."""
    return 10.0 ** (budget.noise_psd_dbm_hz / 10.0) * 1e-3


def channel_gains(
    budget: LinkBudgetConfig, shape: tuple[int, ...], rng: np.random.Generator, fading: bool = False
) -> np.ndarray:
    """|h|^2 (shape) float64: path gain eps0 (d / 1 m)^-phi at distances uniform in
    [distance_min_m, distance_max_m], times an Exp(1) Rayleigh power gain when ``fading``."""
    d = rng.uniform(budget.distance_min_m, budget.distance_max_m, size=shape)
    g = 10.0 ** (budget.path_loss_ref_db / 10.0) * d ** (-budget.path_loss_exponent)
    if fading:
        g = g * rng.exponential(1.0, size=shape)
    return g


def intent_matrix(pattern, num_users: int, num_classes: int | None = None, per_user: int = 1) -> np.ndarray:
    """(K, L) bool intents.

    ``pattern``: ``"disjoint"`` (user k wants classes k c .. k c + c - 1 for c = ``per_user``:
    no class wanted twice; L = c K unless given), ``"ring"`` (user k wants classes
    k .. k + c - 1 modulo L = K: each class wanted by c neighbours, so K classes are sent;
    Liu et al.'s Fig. 13 (b) is c = 2), ``"shared"`` (every user wants class 0),
    ``"chain"`` (user k wants classes k and k+1: neighbours overlap; L = K + 1), or an
    explicit K x L 0/1 nested list.
    """
    if per_user < 1:
        raise ValueError(f"per_user must be >= 1; got {per_user}")
    if isinstance(pattern, str):
        K, c = num_users, per_user
        if pattern == "disjoint":
            L = num_classes or c * K
            if L < c * K:
                raise ValueError(f"disjoint intents need num_classes >= users x per_user = {c * K}; got {L}")
            out = np.zeros((K, L), dtype=bool)
            out[np.repeat(np.arange(K), c), np.arange(c * K)] = True
            return out
        if pattern == "ring":
            L = num_classes or K
            if not c <= L <= K:
                raise ValueError(f"ring intents need per_user <= num_classes <= users; got L = {L}, per_user = {c}")
            out = np.zeros((K, L), dtype=bool)
            for j in range(c):
                out[np.arange(K), (np.arange(K) + j) % L] = True
            return out
        if c != 1:
            raise ValueError(f"per_user applies to 'disjoint' and 'ring' intents, not {pattern!r}")
        if pattern == "shared":
            out = np.zeros((K, num_classes or 1), dtype=bool)
            out[:, 0] = True
            return out
        if pattern == "chain":
            L = num_classes or K + 1
            if L < K + 1:
                raise ValueError(f"chain intents need num_classes >= users + 1; got {L}")
            out = np.zeros((K, L), dtype=bool)
            out[np.arange(K), np.arange(K)] = True
            out[np.arange(K), np.arange(K) + 1] = True
            return out
        raise ValueError(
            f"intents must be 'disjoint', 'ring', 'shared', 'chain' or a K x L 0/1 list; got {pattern!r}"
        )
    arr = np.asarray(pattern)
    if arr.ndim != 2 or arr.shape[0] != num_users or not np.isin(arr, (0, 1)).all():
        raise ValueError(f"explicit intents must be a {num_users} x L list of 0/1; got shape {arr.shape}")
    return arr.astype(bool)
