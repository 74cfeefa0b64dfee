"""Reference solver: ``scipy.optimize.minimize(method="SLSQP")`` on the same scaled problem.

Dense and generic: what the structured solvers are checked and benchmarked against.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from .allocation import MulticastAllocation
from .formulation import LN2, formulate
from .problem import MulticastProblem

__all__ = ["solve_slsqp"]


def solve_slsqp(problem: MulticastProblem, *, ftol: float = 1e-11, maxiter: int = 1000) -> MulticastAllocation:
    """Solve problem (8) over (p, r, T) with SLSQP; raises RuntimeError if it does not converge."""
    f = formulate(problem)
    J, K, R = f.J, f.K, f.rows_user.size
    n = f.n
    j, k = f.rows_stream, f.rows_user
    rows = np.arange(R)

    def objective(x):
        return float(x[2 * J :] @ f.weight)

    def objective_grad(x):
        g = np.zeros(n)
        g[2 * J :] = f.weight
        return g

    def constraints(x):  # scipy wants >= 0
        q, r, _ = f.split(x)
        return -np.concatenate([f.link_values(x), f.rate_values(r), [q.sum() - 1.0]])

    def constraints_jac(x):
        q, r, _ = f.split(x)
        L = np.log1p(f.sigma * q[j])
        u = 1.0 + f.sigma * q[j]
        jac = np.zeros((R + J + 1, n))
        jac[rows, j] = -f.kappa * LN2 * r[j] * f.sigma / (u * L * L)
        jac[rows, J + j] = f.kappa * LN2 / L
        jac[rows, 2 * J + k] = -1.0
        d1, _ = f.rate_derivatives(r)
        jac[R + np.arange(J), J + np.arange(J)] = d1
        jac[R + J, :J] = 1.0
        return -jac

    bounds = [(1e-12, 1.0)] * J + [(0.0, None)] * J + [(0.0, None)] * K
    # SLSQP's linearised constraints can turn incompatible far from the optimum
    # (deep fades); it is restarted from two more power splits before giving up.
    for map_share in (None, 0.5, 0.9):
        res = minimize(
            objective, f.start(map_share), jac=objective_grad, method="SLSQP", bounds=bounds,
            constraints=[{"type": "ineq", "fun": constraints, "jac": constraints_jac}],
            options={"ftol": ftol, "maxiter": maxiter},
        )  # fmt: skip
        # Mode 8 (positive directional derivative in the line search) is SLSQP
        # stalling at the optimum within rounding; accepted when the point is feasible.
        if res.success or (res.status == 8 and constraints(res.x).min() > -1e-8):
            break
    else:
        raise RuntimeError(f"SLSQP did not converge: {res.message}")
    return f.allocation(res.x, "slsqp", int(res.nit), {})
