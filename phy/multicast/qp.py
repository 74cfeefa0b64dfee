"""The SQP's quadratic subproblem, solved by a primal-dual interior-point method in numba.

    min_d  1/2 d' H d + g' d   s.t.   G d <= h,     d = [dz (nz), dt (K)]

Structure used: H is dense on the stream variables z = (q, r) (nz = 2J, small:
one pair per stream) and diagonal (``delta_t``) on the K latencies t; the link
rows (i = (k, j)) touch only (q_j, r_j, t_k) with coefficient -1 on t_k; the
other rows (``Gz``: rate, budget, step bounds) touch only z. Every Newton system
is reduced onto z by eliminating the diagonal t block (a Schur complement
built from one small rank-|rows of k| update per user), so an iteration costs
O(R + sum_k rows_k^2 + nz^3) instead of O((nz + K)^3): linear in K.

Mehrotra predictor-corrector with a common primal-dual step. Why hand-written:
no library QP solver is callable from numba, and calling one from Python per
SQP iteration would dominate the solve time at the sizes of this problem.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["solve_structured_qp"]


@numba.njit(cache=True)
def _cholesky(S):  # pragma: no cover (numba)
    """Lower Cholesky factor and whether S was numerically positive definite."""
    n = S.shape[0]
    Lc = np.zeros_like(S)
    for i in range(n):
        for m in range(i + 1):
            acc = S[i, m]
            for p in range(m):
                acc -= Lc[i, p] * Lc[m, p]
            if i == m:
                if acc <= 0.0:
                    return Lc, False
                Lc[i, i] = np.sqrt(acc)
            else:
                Lc[i, m] = acc / Lc[m, m]
    return Lc, True


@numba.njit(cache=True)
def _cholesky_solve(Lc, b):  # pragma: no cover (numba)
    n = b.size
    y = np.empty(n)
    for i in range(n):
        acc = b[i]
        for m in range(i):
            acc -= Lc[i, m] * y[m]
        y[i] = acc / Lc[i, i]
    x = np.empty(n)
    for i in range(n - 1, -1, -1):
        acc = y[i]
        for m in range(i + 1, n):
            acc -= Lc[m, i] * x[m]
        x[i] = acc / Lc[i, i]
    return x


@numba.njit(cache=True)
def _newton_direction(Lc, Mtt, W, v_link, v_z, rd_z, rd_t, gq, gr, Gz, rows_stream, user_ptr, J):  # pragma: no cover
    """Solve (H + G'WG) dd = -rd - G'v on the reduced system; returns (dz, dt)."""
    K = rd_t.size
    rhs_z = -rd_z.copy()
    for i in range(v_link.size):
        j = rows_stream[i]
        rhs_z[j] -= v_link[i] * gq[i]
        rhs_z[J + j] -= v_link[i] * gr[i]
    rhs_z -= Gz.T @ v_z
    rhs_t = -rd_t.copy()
    for k in range(K):
        for i in range(user_ptr[k], user_ptr[k + 1]):
            rhs_t[k] += v_link[i]
    # Reduce: rhs_z - sum_k b_k rhs_t[k] / Mtt[k], with b_k = -sum_{i in k} W_i a_i.
    red = rhs_z.copy()
    for k in range(K):
        f = rhs_t[k] / Mtt[k]
        for i in range(user_ptr[k], user_ptr[k + 1]):
            j = rows_stream[i]
            red[j] += W[i] * gq[i] * f
            red[J + j] += W[i] * gr[i] * f
    dz = _cholesky_solve(Lc, red)
    dt = np.empty(K)
    for k in range(K):
        acc = rhs_t[k]
        for i in range(user_ptr[k], user_ptr[k + 1]):
            j = rows_stream[i]
            acc += W[i] * (gq[i] * dz[j] + gr[i] * dz[J + j])
        dt[k] = acc / Mtt[k]
    return dz, dt


@numba.njit(cache=True)
def _max_step(x, dx):  # pragma: no cover (numba)
    alpha = 1.0
    for i in range(x.size):
        if dx[i] < 0.0:
            alpha = min(alpha, -x[i] / dx[i])
    return alpha


@numba.njit(cache=True)
def solve_structured_qp(
    Hz, delta_t, g_z, g_t, gq, gr, h_link, rows_user, rows_stream, user_ptr, Gz, h_z, tol, max_iter
):  # pragma: no cover (numba)
    """Returns (dz (nz,), dt (K,), lam_link (R,), lam_z (mz,), iterations, residual).

    ``residual``: max of the scaled dual and primal residuals and the duality
    measure of the returned (best) iterate; <= tol when it converged.
    """
    nz = g_z.size
    J = nz // 2
    K = g_t.size
    R = h_link.size
    mz = h_z.size
    m = R + mz
    dz = np.zeros(nz)
    dt = np.zeros(K)
    s = np.empty(m)
    lam = np.ones(m)
    # Start the latency rows' multipliers where the t-part of the dual residual vanishes.
    for k in range(K):
        for i in range(user_ptr[k], user_ptr[k + 1]):
            lam[i] = g_t[k] / (user_ptr[k + 1] - user_ptr[k])
    for i in range(R):
        s[i] = max(h_link[i], 0.0) + 1.0
    for i in range(mz):
        s[R + i] = max(h_z[i], 0.0) + 1.0
    scale_d = 1.0 + max(np.abs(g_z).max() if nz else 0.0, np.abs(g_t).max() if K else 0.0)
    scale_p = 1.0 + max(np.abs(h_link).max() if R else 0.0, np.abs(h_z).max() if mz else 0.0)
    # Near 1e-10 rounding makes the iterates wander; the best one is kept and
    # the loop stops when it has not improved for a few iterations.
    best = np.inf
    best_it = 0
    best_dz = dz.copy()
    best_dt = dt.copy()
    best_lam = lam.copy()
    it = 0
    for it in range(1, max_iter + 1):
        lam_l = lam[:R]
        lam_z = lam[R:]
        # Residuals.
        rd_z = Hz @ dz + g_z + Gz.T @ lam_z
        for i in range(R):
            j = rows_stream[i]
            rd_z[j] += lam_l[i] * gq[i]
            rd_z[J + j] += lam_l[i] * gr[i]
        rd_t = delta_t * dt + g_t
        for i in range(R):
            rd_t[rows_user[i]] -= lam_l[i]
        rp = np.empty(m)
        for i in range(R):
            j = rows_stream[i]
            rp[i] = gq[i] * dz[j] + gr[i] * dz[J + j] - dt[rows_user[i]] + s[i] - h_link[i]
        rp[R:] = Gz @ dz + s[R:] - h_z
        mu = (s @ lam) / m
        res_d = max(np.abs(rd_z).max() if nz else 0.0, np.abs(rd_t).max() if K else 0.0)
        residual = max(res_d / scale_d, np.abs(rp).max() / scale_p, mu)
        if residual < best:
            best = residual
            best_it = it
            best_dz[:] = dz
            best_dt[:] = dt
            best_lam[:] = lam
        if residual <= tol or it - best_it > 8:
            break
        W = lam / s
        # Reduced (Schur) matrix on z.
        S = Hz + Gz.T @ (W[R:].reshape(-1, 1) * Gz)
        Mtt = np.full(K, delta_t)
        for i in range(R):
            j = rows_stream[i]
            w = W[i]
            S[j, j] += w * gq[i] * gq[i]
            S[j, J + j] += w * gq[i] * gr[i]
            S[J + j, j] += w * gq[i] * gr[i]
            S[J + j, J + j] += w * gr[i] * gr[i]
            Mtt[rows_user[i]] += w
        for k in range(K):
            inv = 1.0 / Mtt[k]
            for i1 in range(user_ptr[k], user_ptr[k + 1]):
                j1 = rows_stream[i1]
                bq1 = W[i1] * gq[i1]
                br1 = W[i1] * gr[i1]
                for i2 in range(user_ptr[k], user_ptr[k + 1]):
                    j2 = rows_stream[i2]
                    bq2 = W[i2] * gq[i2]
                    br2 = W[i2] * gr[i2]
                    S[j1, j2] -= bq1 * bq2 * inv
                    S[j1, J + j2] -= bq1 * br2 * inv
                    S[J + j1, j2] -= br1 * bq2 * inv
                    S[J + j1, J + j2] -= br1 * br2 * inv
        # The Schur complement subtracts nearly equal terms when a row is almost
        # active; a relative diagonal shift restores definiteness when rounding breaks it.
        Lc, ok = _cholesky(S)
        shift = 1e-14
        while not ok:
            for a in range(nz):
                S[a, a] += shift * (1.0 + abs(S[a, a]))
            shift *= 10.0
            Lc, ok = _cholesky(S)
        ds_aff = np.empty(m)
        dl_aff = np.empty(m)
        for corrector in range(2):
            if corrector == 0:
                rc = s * lam
            else:
                alpha = min(_max_step(s, ds_aff), _max_step(lam, dl_aff))
                mu_aff = ((s + alpha * ds_aff) @ (lam + alpha * dl_aff)) / m
                sigma = (mu_aff / mu) ** 3
                rc = s * lam + ds_aff * dl_aff - sigma * mu
            v = W * rp - rc / s
            ddz, ddt = _newton_direction(Lc, Mtt, W, v[:R], v[R:], rd_z, rd_t, gq, gr, Gz, rows_stream, user_ptr, J)
            Gd = np.empty(m)
            for i in range(R):
                j = rows_stream[i]
                Gd[i] = gq[i] * ddz[j] + gr[i] * ddz[J + j] - ddt[rows_user[i]]
            Gd[R:] = Gz @ ddz
            dl = W * (Gd + rp) - rc / s
            ds = -(rc + s * dl) / lam
            if corrector == 0:
                ds_aff[:] = ds
                dl_aff[:] = dl
        alpha = min(1.0, 0.995 * min(_max_step(s, ds), _max_step(lam, dl)))
        dz += alpha * ddz
        dt += alpha * ddt
        s += alpha * ds
        lam += alpha * dl
    return best_dz, best_dt, best_lam[:R].copy(), best_lam[R:].copy(), it, best
