"""SQP for problem (8) with general rate curves and overlapping intents.

Variables and constraints: :mod:`.formulation` (scaled powers q, rates r,
latencies tau). Each iteration

1. evaluates the link rows, their gradients and Hessians in numba (``_link_rows``);
2. builds the Lagrangian Hessian on each stream's (q_j, r_j) pair with the
   current multipliers (the link rows are not jointly convex in (q, r), so each
   2x2 block's eigenvalues are clipped to a small positive floor);
3. solves the QP subproblem with :func:`.qp.solve_structured_qp` (linear in K);
4. takes a backtracking step on the l1 merit function, then resets every
   tau_k to the smallest feasible value given (q, r) (exact: tau only has
   lower bounds and a positive cost).

Converges when the step and the KKT residual are below ``tol``. The returned
allocation carries the multipliers so callers can check the KKT conditions
(:func:`kkt_residuals`).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .allocation import MulticastAllocation
from .formulation import LN2, Formulation, formulate
from .problem import MulticastProblem
from .qp import solve_structured_qp

__all__ = ["kkt_residuals", "solve_sqp"]

STEP_SHARE = 0.9  # a step may take at most this share of any stream's power


@numba.njit(cache=True)
def _link_rows(q, r, tau, kappa, offset, sigma, rows_user, rows_stream):  # pragma: no cover (numba)
    """Values, gradients (q, r) and Hessian entries (qq, qr) of every link row."""
    R = sigma.size
    val = np.empty(R)
    gq = np.empty(R)
    gr = np.empty(R)
    hqq = np.empty(R)
    hqr = np.empty(R)
    for i in range(R):
        j = rows_stream[i]
        u = 1.0 + sigma[i] * q[j]
        L = math.log1p(sigma[i] * q[j])
        a = kappa[i] * LN2
        val[i] = offset[i] + a * r[j] / L - tau[rows_user[i]]
        gq[i] = -a * r[j] * sigma[i] / (u * L * L)
        gr[i] = a / L
        hqq[i] = a * r[j] * sigma[i] * sigma[i] * (L + 2.0) / (u * u * L * L * L)
        hqr[i] = -a * sigma[i] / (u * L * L)
    return val, gq, gr, hqq, hqr


@numba.njit(cache=True)
def _tightest_latencies(q, r, kappa, offset, sigma, rows_user, rows_stream, K):  # pragma: no cover (numba)
    tau = np.zeros(K)
    for i in range(sigma.size):
        j = rows_stream[i]
        v = offset[i] + kappa[i] * LN2 * r[j] / math.log1p(sigma[i] * q[j])
        tau[rows_user[i]] = max(tau[rows_user[i]], v)
    return tau


@numba.njit(cache=True)
def _hessian(lam_link, hqq, hqr, rows_stream, lam_rate, d2_rate, J, floor):  # pragma: no cover (numba)
    """Lagrangian Hessian on z = (q, r), block-diagonal in streams, each block clipped to eigenvalues >= floor."""
    a = np.zeros(J)
    b = np.zeros(J)
    d = lam_rate * d2_rate
    for i in range(lam_link.size):
        j = rows_stream[i]
        a[j] += lam_link[i] * hqq[i]
        b[j] += lam_link[i] * hqr[i]
    H = np.zeros((2 * J, 2 * J))
    for j in range(J):
        m = 0.5 * (a[j] + d[j])
        rad = math.sqrt(0.25 * (a[j] - d[j]) ** 2 + b[j] ** 2)
        l1 = m + rad
        l2 = m - rad
        if rad == 0.0:
            v1x, v1y = 1.0, 0.0
        elif b[j] != 0.0:
            v1x, v1y = b[j], l1 - a[j]
            nrm = math.hypot(v1x, v1y)
            v1x /= nrm
            v1y /= nrm
        elif a[j] >= d[j]:
            v1x, v1y = 1.0, 0.0
        else:
            v1x, v1y = 0.0, 1.0
        v2x, v2y = -v1y, v1x
        l1 = max(l1, floor)
        l2 = max(l2, floor)
        H[j, j] = l1 * v1x * v1x + l2 * v2x * v2x
        H[j, J + j] = l1 * v1x * v1y + l2 * v2x * v2y
        H[J + j, j] = H[j, J + j]
        H[J + j, J + j] = l1 * v1y * v1y + l2 * v2y * v2y
    return H


def _correct_rates(f: Formulation, r: np.ndarray) -> None:
    """Second-order correction of the rate rows, in place: Newton steps on each violated
    Phi_j(r_j) <= eps_j. A full SQP step violates these curved rows at second order,
    which the l1 merit would punish with short steps (the Maratos effect)."""
    for _ in range(3):
        c = f.rate_values(r)
        bad = c > 0
        if not bad.any():
            return
        d1, _ = f.rate_derivatives(r)
        ok = bad & (d1 < 0)
        r[ok] -= c[ok] / d1[ok]


def _violation(f: Formulation, x: np.ndarray) -> float:
    q, r, _ = f.split(x)
    return float(
        np.maximum(f.link_values(x), 0).sum()
        + np.maximum(f.rate_values(r), 0).sum()
        + max(q.sum() - 1.0, 0.0)
        + np.maximum(-r, 0).sum()
    )


def solve_sqp(
    problem: MulticastProblem, *, tol: float = 1e-9, max_iter: int = 200, formulation: Formulation | None = None
) -> MulticastAllocation:
    """Minimise the sum of user latencies (problem (8)) by SQP; raises RuntimeError if it does not converge."""
    f = formulation or formulate(problem)
    J, K = f.J, f.K
    R = f.rows_user.size
    total_weight = float(f.weight.mean())
    g_t = f.weight / total_weight  # objective sum_k w_k tau_k / mean_k w_k: O(1) gradient entries
    x = f.start()
    lam_link = np.zeros(R)
    lam_rate = np.zeros(J)
    penalty = 1.0
    mz = 3 * J + 1
    Gz = np.zeros((mz, 2 * J))
    Gz[J, :J] = 1.0  # budget
    Gz[J + 1 + np.arange(J), np.arange(J)] = -1.0  # power step rule: dq >= -STEP_SHARE q
    Gz[2 * J + 1 + np.arange(J), J + np.arange(J)] = -1.0  # r + dr >= 0
    converged = False
    lam_z = np.zeros(mz)
    it = 0
    for it in range(1, max_iter + 1):
        q, r, tau = f.split(x)
        val, gq, gr, hqq, hqr = _link_rows(q, r, tau, f.kappa, f.offset, f.sigma, f.rows_user, f.rows_stream)
        c_rate = f.rate_values(r)
        d1, d2 = f.rate_derivatives(r)
        Hz = _hessian(lam_link, hqq, hqr, f.rows_stream, lam_rate, d2, J, 1e-8)
        Gz[np.arange(J), J + np.arange(J)] = d1
        h_z = np.concatenate([-c_rate, [1.0 - q.sum()], STEP_SHARE * q, r])
        dz, dt, lam_l_qp, lam_z_qp, _, qp_residual = solve_structured_qp(
            Hz, 1e-12, np.zeros(2 * J), g_t, gq, gr, -val, f.rows_user, f.rows_stream, f.user_ptr, Gz, h_z, 1e-10, 200
        )  # fmt: skip
        # Rounding can stall the interior point just above 1e-10; 1e-7 still gives a usable step.
        if not qp_residual <= 1e-7:
            raise RuntimeError(f"SQP subproblem did not converge at iteration {it}")
        d = np.concatenate([dz, dt])
        # Penalty above the largest multiplier keeps the l1 merit exact.
        penalty = max(penalty, 1.5 * max(lam_l_qp.max(initial=0.0), lam_z_qp[: J + 1].max(initial=0.0)))
        viol = _violation(f, x)
        merit = g_t @ tau + penalty * viol
        slope = g_t @ dt - penalty * viol
        step = 1.0
        for _ in range(60):
            trial = x + step * d
            qt, rt, _ = f.split(trial)
            _correct_rates(f, rt)
            trial[2 * J :] = _tightest_latencies(qt, rt, f.kappa, f.offset, f.sigma, f.rows_user, f.rows_stream, K)
            if g_t @ trial[2 * J :] + penalty * _violation(f, trial) <= merit + 1e-4 * step * min(slope, 0.0):
                break
            step *= 0.5
        x = trial
        lam_link = lam_l_qp
        lam_rate = lam_z_qp[:J]
        lam_z = lam_z_qp
        # Converged when the QP step vanishes, or when it is tiny and no longer
        # lowers the merit (the QP's own rounding, ~1e-11, bounds how small it gets).
        small = np.abs(dz).max()
        if _violation(f, x) <= tol and (small <= tol or (small <= 1e-6 and step < 1e-3)):
            converged = True
            break
    if not converged:
        raise RuntimeError(f"SQP did not converge in {max_iter} iterations")
    multipliers = {
        "link": lam_link * total_weight,  # seconds per unit of a scaled link row
        "rate": lam_rate * total_weight,
        "power": float(lam_z[J]) * total_weight,
        "rate_bound": lam_z[2 * J + 1 :] * total_weight,
    }
    return f.allocation(x, "sqp", it, multipliers)


def kkt_residuals(allocation: MulticastAllocation, formulation: Formulation | None = None) -> dict:
    """KKT residuals of an SQP allocation in the scaled problem (all should be ~0).

    ``stationarity``: max |grad f + sum lambda grad c| over (q, r, tau), relative
    to the objective gradient; ``feasibility``: max constraint violation;
    ``complementarity``: max |lambda_i c_i|; ``dual``: most negative multiplier.
    """
    f = formulation or formulate(allocation.problem)
    p = allocation.problem
    J = f.J
    classes = p.streams.classes
    q = np.concatenate([[allocation.map_power_w], allocation.class_power_w[classes]]) / p.total_power_w
    r = np.concatenate([[allocation.map_rate], allocation.class_rates[classes]])
    tau = _tightest_latencies(q, r, f.kappa, f.offset, f.sigma, f.rows_user, f.rows_stream, f.K)
    m = allocation.multipliers
    W = float(f.weight.mean())
    lam_l, lam_r, lam_p, lam_b = m["link"] / W, m["rate"] / W, m["power"] / W, m["rate_bound"] / W
    val, gq, gr, _, _ = _link_rows(q, r, tau, f.kappa, f.offset, f.sigma, f.rows_user, f.rows_stream)
    d1, _ = f.rate_derivatives(r)
    grad = np.zeros(f.n)
    grad[2 * J :] = f.weight / W
    np.add.at(grad, f.rows_stream, lam_l * gq)
    np.add.at(grad, J + f.rows_stream, lam_l * gr)
    np.add.at(grad, 2 * J + f.rows_user, -lam_l)
    grad[J : 2 * J] += lam_r * d1 - lam_b
    grad[:J] += lam_p
    cons = np.concatenate([val, f.rate_values(r), [q.sum() - 1.0], -r])
    lams = np.concatenate([lam_l, lam_r, [lam_p], lam_b])
    return {
        "stationarity": float(np.abs(grad).max() / np.abs(f.weight / W).max()),
        "feasibility": float(max(cons.max(), 0.0)),
        "complementarity": float(np.abs(lams * cons).max()),
        "dual": float(min(lams.min(), 0.0)),
    }
