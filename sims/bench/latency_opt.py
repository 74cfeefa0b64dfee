"""Latency optimiser: gscsim's solvers vs SciPy SLSQP on the same instances.

Two instance families (Table II budget, path loss only, T_g = 2 ms, paper's
requirements), for K = 10, 100, 1000 users:

- ``disjoint``: user k wants class k (L = K), the paper's setting. Solved by
  :func:`phy.multicast.solve` (exact structure) and by the SQP (up to
  ``--sqp-max-streams`` streams: its stream block is dense, O(J^3)).
- ``shared``: L = 10 classes, each user wants one at random (classes are
  shared, intents overlap): :func:`solve` (common-latency check, SQP when it
  fails) and the SQP itself.

Each solver is timed as the median over repeats (compiled beforehand); SLSQP
runs once per case, skipped above ``--slsqp-max-vars`` variables. Printed: the
times, the ratios to SLSQP, the objective gap to SLSQP, and the empirical
scaling exponent e of each solver's time in (L + K) (a log-log fit over
``--scaling-users``). Targets: >= 50x faster than SLSQP at K = 10, K = 1000
solved in under 100 ms.

Run: ``python sims/bench/latency_opt.py``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from phy.config import LinkBudgetConfig
from phy.multicast import (
    MulticastProblem,
    channel_gains,
    noise_psd_w_hz,
    solve,
    solve_slsqp,
    solve_sqp,
)


def instance(family: str, K: int, rng: np.random.Generator) -> MulticastProblem:
    """A problem (8) instance of K users at one drop of the paper's setting."""
    budget = LinkBudgetConfig()
    gains = channel_gains(budget, (K,), rng)
    if family == "disjoint":
        intents = np.eye(K, dtype=bool)
    else:
        intents = np.zeros((K, 10), dtype=bool)
        intents[np.arange(K), rng.integers(0, 10, K)] = True
    return MulticastProblem(gains, intents, noise_psd_w_hz=noise_psd_w_hz(budget))


def median_seconds(fn, problem: MulticastProblem, repeats: int) -> tuple[float, float]:
    """(median seconds, sum latency of the result)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn(problem)
        times.append(time.perf_counter() - start)
    return float(np.median(times)), result.sum_latency_s


def main(argv: list[str] | None = None) -> None:
    """Command line: time the optimisers against SciPy SLSQP and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--slsqp-max-vars", type=int, default=2100, help="skip SLSQP above this many variables")
    parser.add_argument(
        "--sqp-max-streams", type=int, default=200,
        help="skip the SQP above this many streams (its stream block is dense: O(J^3) per iteration)",
    )  # fmt: skip
    parser.add_argument("--scaling-users", type=int, nargs="+", default=[10, 30, 100, 300, 1000, 3000])
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    for family in ("disjoint", "shared"):  # compile every kernel outside the timings
        p = instance(family, 4, rng)
        solve(p), solve_sqp(p)

    print("median seconds per solve; ratio = SLSQP time / solver time; gap = relative objective difference to SLSQP")
    print(f"{'family':>8} {'K':>5} {'L':>5} {'vars':>5} | {'solve':>9} {'sqp':>9} {'slsqp':>9} | "
          f"{'solve x':>8} {'sqp x':>8} | {'gap solve':>9} {'gap sqp':>9}  solve path")  # fmt: skip
    for family in ("disjoint", "shared"):
        for K in args.users:
            p = instance(family, K, np.random.default_rng(K))
            n_vars = 2 * p.streams.count + K
            t_auto, f_auto = median_seconds(solve, p, args.repeats)
            if p.streams.count <= args.sqp_max_streams:
                t_sqp, f_sqp = median_seconds(solve_sqp, p, args.repeats)
            else:
                t_sqp, f_sqp = float("nan"), float("nan")
            path = solve(p).method
            if n_vars <= args.slsqp_max_vars:
                t_ref, f_ref = median_seconds(solve_slsqp, p, 1)
                cols = (f"{t_ref:9.4f} | {t_ref / t_auto:8.0f} {t_ref / t_sqp:8.0f} | "
                        f"{(f_auto - f_ref) / f_ref:9.1e} {(f_sqp - f_ref) / f_ref:9.1e}")  # fmt: skip
            else:
                cols = f"{'skipped':>9} | {'-':>8} {'-':>8} | {'-':>9} {'-':>9}"
            print(f"{family:>8} {K:5d} {p.num_classes:5d} {n_vars:5d} | {t_auto:9.5f} {t_sqp:9.5f} {cols}  {path}")

    print("\nscaling of the solve time in (L + K):")
    for family in ("disjoint", "shared"):
        for name, fn in (("solve", solve), ("sqp", solve_sqp)):
            sizes, times = [], []
            for K in args.scaling_users:
                p = instance(family, K, np.random.default_rng(K))
                if name == "sqp" and p.streams.count > args.sqp_max_streams:
                    continue
                sizes.append(K + p.num_classes)
                times.append(median_seconds(fn, p, args.repeats)[0])
            e = np.polyfit(np.log(sizes), np.log(times), 1)[0]
            detail = ", ".join(f"{s}: {t * 1e3:.2f} ms" for s, t in zip(sizes, times))
            print(f"  {family:>8} {name:>5}: e = {e:.2f}   ({detail})")


if __name__ == "__main__":
    main()
