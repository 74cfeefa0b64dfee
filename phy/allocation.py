"""Subcarrier allocation: each of K users gets N of L subcarriers, chosen by channel gain.

Given per-user, per-subcarrier gains g (B, K, L) (e.g. |h|^2 averaged over a
slot), assign every user exactly N subcarriers, no subcarrier to two users,
maximising the total gain of the assigned (user, subcarrier) pairs.

- :func:`allocate_greedy`: a numba kernel, parallel over the B Monte-Carlo
  draws. Per draw it walks the K*L pairs by decreasing gain and takes a pair
  when the subcarrier is free and the user still needs subcarriers. Ties go to
  the lower user index, then the lower subcarrier index (a stable sort), so
  the result is deterministic. Measured gap to the optimum in total gain
  (i.i.d. Rayleigh gains g ~ Exp(1), 200 draws per case, K in {2, 4, 8},
  N in {1, 4, 16, 32}, L = K N and 2 K N; ``python -m phy.allocation``): the
  mean gap is 0.1-2.5% in every case (largest at N = 1); single draws of tiny
  instances can be far off (42% at K = 2, N = 1, L = 2, where taking the best
  pair forces the worst one), but for N >= 16 the worst draw is 3.4%. The
  tests assert a mean gap below 3% and, for N >= 16, every draw below 5%.
- :func:`allocate_optimal`: the exact optimum, ``scipy.optimize.linear_sum_assignment``
  on the users replicated N times (the reference; O((KN)^2 L) per draw).
- :func:`allocate_numpy`: the greedy rule in NumPy with a Python loop over
  pairs (the plain reference the kernel is benchmarked against).

Why a hand-written kernel: the greedy rule is a sequential scan with state
(taken subcarriers, users' counts) that does not vectorise, and no library
offers a batched b-matching; numba compiles the scan and runs draws in parallel.
"""

from __future__ import annotations

import numba
import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

__all__ = ["allocate", "allocate_greedy", "allocate_numpy", "allocate_optimal", "total_gain"]


@numba.njit(parallel=True, cache=True)
def _greedy_kernel(gains: np.ndarray, n_per_user: int, out: np.ndarray) -> None:  # pragma: no cover (numba)
    B, K, L = gains.shape
    for b in numba.prange(B):
        order = np.argsort(-gains[b].ravel(), kind="mergesort")
        taken = np.zeros(L, dtype=np.bool_)
        count = np.zeros(K, dtype=np.int64)
        filled = 0
        for idx in order:
            k = idx // L
            sc = idx - k * L
            if taken[sc] or count[k] == n_per_user:
                continue
            out[b, k, count[k]] = sc
            count[k] += 1
            taken[sc] = True
            filled += 1
            if filled == K * n_per_user:
                break
        for k in range(K):
            out[b, k] = np.sort(out[b, k])


def _check(gains: np.ndarray, n_per_user: int) -> None:
    if gains.ndim != 3:
        raise ValueError(f"gains has shape {gains.shape}; expected (batch, users, subcarriers)")
    B, K, L = gains.shape
    if n_per_user < 1:
        raise ValueError(f"n_per_user = {n_per_user} must be >= 1")
    if K * n_per_user > L:
        raise ValueError(f"K * N = {K} * {n_per_user} exceeds the {L} subcarriers")
    if gains.size and not np.all(np.isfinite(gains)):
        raise ValueError("gains must be finite")


def _as_numpy(gains) -> np.ndarray:
    if isinstance(gains, torch.Tensor):
        gains = gains.detach().cpu().numpy()
    return np.ascontiguousarray(gains, dtype=np.float64)


def allocate_greedy(gains, n_per_user: int) -> np.ndarray:
    """Greedy allocation (numba). ``gains`` (B, K, L) -> int64 (B, K, N), rows sorted."""
    g = _as_numpy(gains)
    _check(g, n_per_user)
    out = np.zeros((g.shape[0], g.shape[1], n_per_user), dtype=np.int64)
    if out.size:
        _greedy_kernel(g, n_per_user, out)
    return out


def allocate_numpy(gains, n_per_user: int) -> np.ndarray:
    """The greedy rule with NumPy sorting and a Python scan (same output as the kernel)."""
    g = _as_numpy(gains)
    _check(g, n_per_user)
    B, K, L = g.shape
    out = np.zeros((B, K, n_per_user), dtype=np.int64)
    orders = np.argsort(-g.reshape(B, K * L), axis=1, kind="stable")
    for b in range(B):
        taken = np.zeros(L, dtype=bool)
        count = np.zeros(K, dtype=np.int64)
        users, subcarriers = np.divmod(orders[b], L)
        filled = 0
        for k, sc in zip(users, subcarriers):
            if taken[sc] or count[k] == n_per_user:
                continue
            out[b, k, count[k]] = sc
            count[k] += 1
            taken[sc] = True
            filled += 1
            if filled == K * n_per_user:
                break
    out.sort(axis=-1)
    return out


def allocate_optimal(gains, n_per_user: int) -> np.ndarray:
    """Maximum total gain via ``linear_sum_assignment`` (users replicated N times)."""
    g = _as_numpy(gains)
    _check(g, n_per_user)
    B, K, L = g.shape
    out = np.zeros((B, K, n_per_user), dtype=np.int64)
    for b in range(B):
        rows, cols = linear_sum_assignment(np.repeat(g[b], n_per_user, axis=0), maximize=True)
        out[b] = cols[np.argsort(rows)].reshape(K, n_per_user)
    out.sort(axis=-1)
    return out


def total_gain(gains, assignment: np.ndarray) -> np.ndarray:
    """Sum of the assigned gains per draw: (B,) float64."""
    g = _as_numpy(gains)
    return np.take_along_axis(g, np.asarray(assignment), axis=2).sum(axis=(1, 2))


_METHODS = {"greedy": allocate_greedy, "optimal": allocate_optimal, "numpy": allocate_numpy}


def allocate(gains: torch.Tensor, n_per_user: int, method: str = "greedy") -> torch.Tensor:
    """Allocation for torch gains (B, K, L): int64 (B, K, N) on the gains' device."""
    if method not in _METHODS:
        raise ValueError(f"allocation method {method!r}: expected one of {sorted(_METHODS)}")
    return torch.from_numpy(_METHODS[method](gains, n_per_user)).to(gains.device)


def _measure_gap(draws: int = 200, seed: int = 0) -> None:
    """Print greedy's gap to the optimum on i.i.d. Rayleigh gains (the docstring's numbers)."""
    rng = np.random.default_rng(seed)
    for K in (2, 4, 8):
        for N in (1, 4, 16, 32):
            for L in (K * N, 2 * K * N):
                g = rng.exponential(size=(draws, K, L))
                opt = total_gain(g, allocate_optimal(g, N))
                gap = 1 - total_gain(g, allocate_greedy(g, N)) / opt
                print(f"K={K:2d} N={N:3d} L={L:4d}: mean gap {gap.mean():.4f}, worst {gap.max():.4f}")


if __name__ == "__main__":
    _measure_gap()
