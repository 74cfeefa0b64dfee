"""Subcarrier allocation: numba greedy kernel vs scipy's optimum vs NumPy greedy.

For K users and L subcarriers (N = L / K each), over a batch of Monte-Carlo
draws of i.i.d. Rayleigh gains, prints the time per batch of each method and
the speed ratios, all measured in this run. The kernel runs the whole batch;
the references, being far slower, run on the first draws of the same batch
until ``--reference-seconds`` is spent and their per-draw time is scaled to
the batch (the number of draws they ran is printed). Target: the kernel is
>= 20x faster than scipy at K = 8, L = 1024 over the batch.

Run: ``python sims/bench/allocation.py [--batch 1000] [--reference-seconds 20]``
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np

from phy.allocation import allocate_greedy, allocate_numpy, allocate_optimal, total_gain


def per_draw_seconds(fn, gains: np.ndarray, n: int, budget: float) -> tuple[float, int]:
    """Mean seconds per draw of ``fn`` over as many leading draws as fit in ``budget``."""
    start, draws = time.perf_counter(), 0
    while draws < len(gains) and (draws == 0 or time.perf_counter() - start < budget):
        fn(gains[draws : draws + 1], n)
        draws += 1
    return (time.perf_counter() - start) / draws, draws


def main(argv: list[str] | None = None) -> None:
    """Command line: time the allocation kernels against SciPy and NumPy and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=1000, help="Monte-Carlo draws per batch")
    parser.add_argument("--reference-seconds", type=float, default=20.0, help="time budget per reference and case")
    parser.add_argument("--users", type=int, nargs="+", default=[2, 8, 32])
    parser.add_argument("--subcarriers", type=int, nargs="+", default=[256, 1024, 4096])
    parser.add_argument(
        "--scipy-max-subcarriers", type=int, default=1024,
        help="skip scipy above this L (one draw at L = 4096 takes minutes)",
    )  # fmt: skip
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    allocate_greedy(rng.exponential(size=(2, 2, 4)), 2)  # compile outside the timings
    print(f"batch of {args.batch} draws, i.i.d. Rayleigh gains, numba threads: {numba.get_num_threads()}")
    header = f"{'K':>3} {'L':>5} {'N':>5} | {'numba [s]':>9} {'scipy [s]':>10} {'(draws)':>8} {'numpy [s]':>10} {'(draws)':>8} | {'vs scipy':>9} {'vs numpy':>9} {'gap':>6}"
    print(header)
    print("-" * len(header))
    for K in args.users:
        for L in args.subcarriers:
            N = L // K
            if N < 1:
                continue
            gains = rng.exponential(size=(args.batch, K, L))
            start = time.perf_counter()
            greedy = allocate_greedy(gains, N)
            t_numba = time.perf_counter() - start
            t_numpy, n_numpy = per_draw_seconds(allocate_numpy, gains, N, args.reference_seconds)
            t_numpy *= args.batch
            scipy_cols = f"{'-':>10} {'-':>8}"
            ratio_scipy, gap_text = f"{'-':>9}", f"{'-':>6}"
            if L <= args.scipy_max_subcarriers:
                t_scipy, n_scipy = per_draw_seconds(allocate_optimal, gains, N, args.reference_seconds)
                t_scipy *= args.batch
                opt = total_gain(gains[:n_scipy], allocate_optimal(gains[:n_scipy], N)).sum()
                gap = 1 - total_gain(gains[:n_scipy], greedy[:n_scipy]).sum() / opt
                scipy_cols = f"{t_scipy:>10.2f} {n_scipy:>8}"
                ratio_scipy, gap_text = f"{t_scipy / t_numba:>8.0f}x", f"{gap:>6.2%}"
            print(
                f"{K:>3} {L:>5} {N:>5} | {t_numba:>9.3f} {scipy_cols} {t_numpy:>10.2f} {n_numpy:>8} | "
                f"{ratio_scipy} {t_numpy / t_numba:>8.0f}x {gap_text}",
                flush=True,
            )


if __name__ == "__main__":
    main()
