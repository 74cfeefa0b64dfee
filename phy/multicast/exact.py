"""Exact solution of problem (8) by its structure (derived here; the paper solves it with SQP).

1. The latency grows with every rate and Phi decreases, so each rate sits at
   its requirement: r0 = Phi_s^-1(min eps_s), r_l = Phi_r^-1(eps_r).
2. With rates fixed the problem is convex in the powers. Write a_k(p0) =
   T_g + T_k0(p0) and pi_kl(t) = (2^(c_l / t) - 1) / s_kl for the power class l
   needs to reach user k by latency t (c_l = |b_l| / B_l, s_kl = |h_k|^2 / (B_l N0)).
3. Common latency (any intents): if every class reaches each of its users exactly
   when that user's synthesis ends, p_l = max_{k wants l} pi_kl(a_k(p0)) and p0
   solves the scalar monotone equation
       p0 + sum_l max_{k wants l} pi_kl(a_k(p0)) = P_T      (bisection).
   With one binding user per class the KKT multipliers are then explicit:
   lambda = sum_k |a_k'| / (1 + sum_k |a_k'| B_k), mu_k = 1 - lambda B_k, where
   B_k sums |pi_kl'(a_k)| over the classes user k binds; the point is optimal
   iff every mu_k >= 0. This holds on the paper's settings (every drop tried);
   it is the fast path.
4. Otherwise, for disjoint intents (no class wanted twice), some users are
   class-limited (t_k > a_k, mu_k = 0, |P_k'(t_k)| = 1 / lambda with P_k the sum
   of user k's pi's). Parametrised by lambda: p0(lambda) solves the p0
   stationarity sum_k mu_k |a_k'(p0)| = lambda (monotone, bisection), each
   class-limited latency solves |P_k'(t)| = 1 / lambda (Newton), and lambda
   makes the budget active (the used power falls with lambda: bisection). Overlapping intents that fail the
   check of 3 are left to the SQP (:func:`solve_exact` returns None).

Why hand-written: no library solves this structure, and the generic route
(SQP/SLSQP) is orders of magnitude slower; numba compiles the scalar loops.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .allocation import MulticastAllocation
from .problem import MulticastProblem

__all__ = ["solve_exact"]

LN2 = math.log(2.0)


@numba.njit(cache=True)
def _map_latency(p0, s0, c0, tg):  # pragma: no cover (numba)
    if c0 == 0.0:
        return tg
    return tg + c0 * LN2 / math.log1p(p0 * s0)


@numba.njit(cache=True)
def _map_slope(p0, s0, c0):  # pragma: no cover (numba)
    """|d a_k / d p0|."""
    if c0 == 0.0:
        return 0.0
    L = math.log1p(p0 * s0)
    return c0 * LN2 * s0 / ((1.0 + p0 * s0) * L * L)


@numba.njit(cache=True)
def _user_power(k, t, ptr, c, s):  # pragma: no cover (numba)
    """P_k(t): power that brings all of user k's classes to latency t."""
    total = 0.0
    for j in range(ptr[k], ptr[k + 1]):
        total += math.expm1(c[j] * LN2 / t) / s[j]
    return total


@numba.njit(cache=True)
def _user_slope(k, t, ptr, c, s):  # pragma: no cover (numba)
    """|P_k'(t)|."""
    total = 0.0
    for j in range(ptr[k], ptr[k + 1]):
        total += LN2 * c[j] * math.exp(c[j] * LN2 / t) / (s[j] * t * t)
    return total


@numba.njit(cache=True)
def _class_limited_latency(k, lam, t_lo, ptr, c, s):  # pragma: no cover (numba)
    """tau_k(lambda) >= t_lo solving |P_k'(tau)| = 1 / lambda, by Newton in v = ln t.

    G(v) = ln |P_k'(e^v)| + ln lambda is decreasing and convex in v (a
    log-sum-exp of convex terms), and G(ln t_lo) >= 0, so Newton steps from
    t_lo increase monotonically to the root without overshooting.
    """
    v = math.log(t_lo)
    log_lam = math.log(lam)
    for _ in range(100):
        t = math.exp(v)
        # log-sum-exp of A_j = ln(ln2 c_j / s_j) + c_j ln2 / t - 2 ln t, and its v-derivative
        top = -np.inf
        for j in range(ptr[k], ptr[k + 1]):
            top = max(top, math.log(LN2 * c[j] / s[j]) + c[j] * LN2 / t - 2.0 * v)
        total = 0.0
        slope = 0.0
        for j in range(ptr[k], ptr[k + 1]):
            w = math.exp(math.log(LN2 * c[j] / s[j]) + c[j] * LN2 / t - 2.0 * v - top)
            total += w
            slope -= w * (c[j] * LN2 / t + 2.0)
        g = top + math.log(total) + log_lam
        step = -g / (slope / total)
        v += step
        if abs(step) <= 1e-14 * max(1.0, abs(v)):
            break
    return math.exp(v)


@numba.njit(cache=True)
def _common_latency(budget, s0, c0, tg, sptr, c, su, ss, t_out):  # pragma: no cover (numba)
    """Common-latency point for any intents; returns (p0, lambda, optimal).

    Class stream j (rows sptr[j]:sptr[j+1], users su, s = ss) gets the power that
    brings it to every wanting user by that user's map time a_k(p0):
    p_j(p0) = max_k pi(a_k(p0)). p0 solves p0 + sum_j p_j(p0) = P_T. Optimal
    when KKT multipliers exist with the single binding user of each class.
    """
    K = s0.size
    lo, hi = 0.0, budget
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        used = mid
        for j in range(sptr.size - 1):
            need = 0.0
            for i in range(sptr[j], sptr[j + 1]):
                a = _map_latency(mid, s0[su[i]], c0, tg)
                need = max(need, math.expm1(c[j] * LN2 / a) / ss[i])
            used += need
        if used > budget:
            hi = mid
        else:
            lo = mid
        if hi - lo <= 1e-16 * budget:
            break
    p0 = lo
    for k in range(K):
        t_out[k] = _map_latency(p0, s0[k], c0, tg)
    # The binding user of each class, and sum over the classes it binds of |pi'(a_k)|.
    bound_slope = np.zeros(K)
    for j in range(sptr.size - 1):
        best = -1.0
        arg = -1
        for i in range(sptr[j], sptr[j + 1]):
            need = math.expm1(c[j] * LN2 / t_out[su[i]]) / ss[i]
            if need > best:
                best = need
                arg = i
        t = t_out[su[arg]]
        bound_slope[su[arg]] += LN2 * c[j] * math.exp(c[j] * LN2 / t) / (ss[arg] * t * t)
    num = 0.0
    den = 1.0
    for k in range(K):
        ms = _map_slope(p0, s0[k], c0)
        num += ms
        den += ms * bound_slope[k]
    lam = num / den
    optimal = True
    for k in range(K):
        if 1.0 - lam * bound_slope[k] < -1e-12:
            optimal = False
    return p0, lam, optimal


@numba.njit(cache=True)
def _map_power_for(lam, p_lo, p_hi, s0, c0, tg, ptr, c, s):  # pragma: no cover (numba)
    """p0(lambda) in [p_lo, p_hi]: the root of sum_k mu_k(p0) |a_k'(p0)| = lambda (the left
    side falls with p0), mu_k = max(0, 1 - lambda |P_k'(a_k(p0))|); bisection in log p0."""
    lo = math.log(p_lo)
    hi = math.log(p_hi)
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        p0 = math.exp(mid)
        h = -lam
        for k in range(s0.size):
            mu = 1.0
            if ptr[k + 1] > ptr[k]:
                mu = max(0.0, 1.0 - lam * _user_slope(k, _map_latency(p0, s0[k], c0, tg), ptr, c, s))
            h += mu * _map_slope(p0, s0[k], c0)
        if h > 0.0:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12:
            break
    return math.exp(hi)


@numba.njit(cache=True)
def _excess_power(theta, p_lo, p_hi, budget, s0, c0, tg, ptr, c, s, t_out):  # pragma: no cover (numba)
    """Power used minus P_T at lambda = e^theta (falls with lambda), with p0(lambda) known to lie
    in [p_lo, p_hi]; returns (excess, p0), latencies in t_out."""
    lam = math.exp(theta)
    p0 = _map_power_for(lam, p_lo, p_hi, s0, c0, tg, ptr, c, s)
    used = p0
    for k in range(s0.size):
        t = _map_latency(p0, s0[k], c0, tg)
        if ptr[k + 1] > ptr[k]:
            if lam * _user_slope(k, t, ptr, c, s) > 1.0:
                t = _class_limited_latency(k, lam, t, ptr, c, s)
            used += _user_power(k, t, ptr, c, s)
        t_out[k] = t
    return used - budget, p0


@numba.njit(cache=True)
def _class_limited(budget, s0, c0, tg, ptr, c, s, t_out):  # pragma: no cover (numba)
    """Disjoint intents with class-limited users: returns (p0, lambda), latencies in t_out.

    Parametrised by lambda: p0(lambda) from the p0-stationarity condition, each
    user's latency max(a_k(p0), tau_k(lambda)), and lambda from the active
    budget (the used power falls with lambda): bisection on ln lambda.
    """
    # p0(lambda) falls as lambda grows, so the bracket on lambda brackets p0 too:
    # each inner bisection starts from the p0 values at the bracket ends.
    floor = budget * 1e-16
    lo, hi = -50.0, 50.0  # ln lambda
    f_lo, p_at_lo = _excess_power(lo, floor, budget, budget, s0, c0, tg, ptr, c, s, t_out)
    while f_lo < 0.0:
        lo -= 50.0
        f_lo, p_at_lo = _excess_power(lo, floor, budget, budget, s0, c0, tg, ptr, c, s, t_out)
    f_hi, p_at_hi = _excess_power(hi, floor, budget, budget, s0, c0, tg, ptr, c, s, t_out)
    while f_hi > 0.0:
        hi += 50.0
        f_hi, p_at_hi = _excess_power(hi, floor, budget, budget, s0, c0, tg, ptr, c, s, t_out)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        f_mid, p_mid = _excess_power(mid, p_at_hi, p_at_lo, budget, s0, c0, tg, ptr, c, s, t_out)
        if f_mid > 0.0:
            lo, p_at_lo = mid, p_mid
        else:
            hi, p_at_hi = mid, p_mid
        if hi - lo <= 1e-11 * max(1.0, abs(hi)):
            break
    _, p0 = _excess_power(hi, p_at_hi, p_at_lo, budget, s0, c0, tg, ptr, c, s, t_out)
    return p0, math.exp(hi)


def _user_layout(problem: MulticastProblem):
    """Disjoint intents: CSR of each user's class streams, ptr (K+1,), c_j = |b_j| / B_j,
    s_j = |h_k|^2 / (B_j N0)."""
    st = problem.streams
    K = problem.num_users
    owner = np.array([int(np.flatnonzero(problem.intents[:, l])[0]) for l in st.classes], dtype=np.int64)
    order = np.argsort(owner, kind="stable")
    ptr = np.zeros(K + 1, dtype=np.int64)
    np.add.at(ptr, owner + 1, 1)
    ptr = np.cumsum(ptr)
    c = _class_seconds(problem)[order]
    s = (problem.gains[owner] / (st.bandwidth_hz[1:] * problem.noise_psd_w_hz))[order]
    return ptr, c, s


def _class_seconds(problem: MulticastProblem) -> np.ndarray:
    """c_j = |b_j| / B_j for every class stream (J-1,): latency = c_j / SE."""
    st = problem.streams
    rates = problem.required_class_rates()
    return problem.class_pixels * rates[st.classes] / st.bandwidth_hz[1:]


def _allocation(problem, p0, t, lam, method, sj, su, ss, c) -> MulticastAllocation:
    """Powers that bring every class stream j to all its users (rows su, snr ss) by their latency t (K,)."""
    st = problem.streams
    need = np.expm1(c[sj] * LN2 / t[su]) / ss
    stream_power = np.zeros(st.count - 1)
    np.maximum.at(stream_power, sj, need)
    class_power = np.zeros(problem.num_classes)
    class_power[st.classes] = stream_power
    class_rates = np.zeros(problem.num_classes)
    class_rates[st.classes] = problem.required_class_rates()[st.classes]
    return MulticastAllocation(
        problem, float(p0), class_power, problem.required_map_rate(), class_rates,
        method=method, multipliers={"power": float(lam)},
    )  # fmt: skip


def solve_exact(problem: MulticastProblem) -> MulticastAllocation | None:
    """The optimum by the structure of the module docstring, or None where it does not apply.

    Tries the common-latency point (any intents; optimal when its KKT check
    passes, method ``"exact-common"``); otherwise, for disjoint intents, the
    class-limited solution (``"exact"``). Returns None for overlapping intents
    whose optimum is not a common-latency point: use :func:`solve_sqp`.
    """
    st = problem.streams
    r0 = problem.required_map_rate()
    s0 = problem.gains / (problem.map_bandwidth_hz * problem.noise_psd_w_hz)
    c0 = float(problem.image_pixels * r0 / problem.map_bandwidth_hz)
    budget = float(problem.total_power_w)
    tg = float(problem.generation_latency_s)
    # CSR of class streams over the users that want them.
    class_rows = st.rows_stream > 0
    su = st.rows_user[class_rows]
    sj = st.rows_stream[class_rows] - 1
    sptr = np.searchsorted(sj, np.arange(st.count), side="left").astype(np.int64)
    ss = problem.gains[su] / (st.bandwidth_hz[1:][sj] * problem.noise_psd_w_hz)
    c = _class_seconds(problem)
    t = np.empty(problem.num_users)
    p0, lam, optimal = _common_latency(budget, s0, c0, tg, sptr, c, su, ss, t)
    if optimal:
        return _allocation(problem, p0, t, lam, "exact-common", sj, su, ss, c)
    if not problem.is_disjoint():
        return None
    ptr, cu, su_snr = _user_layout(problem)
    p0, lam = _class_limited(budget, s0, c0, tg, ptr, cu, su_snr, t)
    return _allocation(problem, p0, t, lam, "exact", sj, su, ss, c)
