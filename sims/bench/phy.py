"""The 5G LDPC decoder on CPU: gscsim's numba kernel against Sionna's decoder, alone and in the chain.

Code (1024, 512), 16-QAM rate matching, 20 flooding iterations, boxplus-phi (the link's
defaults); LLRs of one 16-QAM AWGN transmission at Eb/N0 = 3 dB, decoded again and again.
Per batch size and thread count (numba's and torch's threads set alike), information bits
per second of

- the decoder alone: Sionna's ``LDPC5GDecoder`` vs ``phy.ldpc_numba.NumbaLDPC5GDecoder``
  (rate recovery included in both), and the hard-decision agreement;
- the whole coded chain (``OFDMALink``: QAM, grid, AWGN, app demapping, decoding) with
  ``code.decoder = sionna`` vs ``numba``;

and, for the kernel, the messages it passes per second (2 x edges x iterations x codewords
/ s: a check-to-variable and a variable-to-check message per edge and iteration). Last, how far
one core's kernel is from its limits: phi evaluations per second in L1 (two per edge update)
and the bytes the updates move against a streaming copy.
Targets of the issue: decoder >= 10x, chain >= 5x on this CPU.

Run: ``gscsim bench phy [--batches 64,256,1024] [--threads 1,2]``.
"""

from __future__ import annotations

import argparse

import numba
import torch

from .phy_throughput import gscsim_chain, time_per_call

K_INFO, N_CODED, BITS_PER_SYMBOL, ITERATIONS, EBNO_DB = 512, 1024, 4, 20, 3.0


def _llrs(codewords: int):
    """(the encoder, LLRs float32 (codewords, n)) of one 16-QAM AWGN transmission."""
    from sionna.phy.channel import AWGN
    from sionna.phy.fec.ldpc import LDPC5GEncoder
    from sionna.phy.mapping import Demapper, Mapper
    from sionna.phy.utils import ebnodb2no

    encoder = LDPC5GEncoder(K_INFO, N_CODED, num_bits_per_symbol=BITS_PER_SYMBOL)
    mapper, demapper = Mapper("qam", BITS_PER_SYMBOL), Demapper("app", "qam", BITS_PER_SYMBOL)
    no = ebnodb2no(EBNO_DB, BITS_PER_SYMBOL, K_INFO / N_CODED)
    bits = torch.randint(0, 2, (codewords, K_INFO), generator=torch.Generator().manual_seed(0)).float()
    with torch.no_grad():
        y = AWGN()(mapper(encoder(bits)), no)
        return encoder, demapper(y, no)


def _set_threads(threads: int) -> None:
    """torch's and numba's threads alike."""
    torch.set_num_threads(threads)
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))


def main(argv: list[str] | None = None) -> None:
    """Command line (module docstring)."""
    from sionna.phy.fec.ldpc import LDPC5GDecoder

    from phy.ldpc_numba import NumbaLDPC5GDecoder

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", default="64,256,1024", help="codewords per call, comma-separated")
    parser.add_argument("--threads", default="1,2", help="thread counts, comma-separated")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per point (median)")
    parser.add_argument("--device", default="cpu", help="cpu only: the kernel is a CPU decoder")
    args = parser.parse_args(argv)
    batches = [int(b) for b in args.batches.split(",")]
    threads = [int(t) for t in args.threads.split(",")]
    encoder, llr_all = _llrs(max(batches))
    sionna = LDPC5GDecoder(encoder, num_iter=ITERATIONS, hard_out=True)
    kernel = NumbaLDPC5GDecoder(encoder, num_iter=ITERATIONS)
    edges = len(kernel.edge_vn)
    kernel(llr_all[:2])  # compile
    print(f"decoder alone, ({N_CODED}, {K_INFO}), {ITERATIONS} flooding iterations, boxplus-phi; Mbit/s of information bits")
    print("| threads | codewords | Sionna | numba | ratio | same decisions | messages / s (numba) |")
    print("|---|---|---|---|---|---|---|")
    for t in threads:
        _set_threads(t)
        for b in batches:
            llr = llr_all[:b]
            ts = time_per_call(lambda: sionna(llr), args.repeats, "cpu")
            tn = time_per_call(lambda: kernel(llr), args.repeats, "cpu")
            same = float((sionna(llr) == kernel(llr)).all(1).float().mean())
            rate = lambda s: b * K_INFO / s / 1e6  # noqa: E731
            print(f"| {t} | {b} | {rate(ts):.3f} | {rate(tn):.3f} | {ts / tn:.1f}x | {same:.4f} | "
                  f"{2 * edges * ITERATIONS * b / tn / 1e6:.0f} M |")  # fmt: skip
    print()
    print("coded chain (OFDMALink, 16-QAM, app demapping); Mbit/s of information bits")
    print("| threads | codewords | decoder = sionna | decoder = numba | ratio |")
    print("|---|---|---|---|---|")
    for t in threads:
        _set_threads(t)
        for b in batches:
            (run_s, bits), (run_n, _) = gscsim_chain(b, "cpu", "sionna"), gscsim_chain(b, "cpu", "numba")
            ts, tn = time_per_call(run_s, args.repeats, "cpu"), time_per_call(run_n, args.repeats, "cpu")
            print(f"| {t} | {b} | {bits / ts / 1e6:.3f} | {bits / tn / 1e6:.3f} | {ts / tn:.1f}x |")
    print(f"\n(the kernel passes {2 * edges} messages per iteration and codeword; edges = {edges})")
    _limits(edges)


def _limits(edges: int) -> None:
    """How far one core's kernel is from its compute and memory limits (printed)."""
    import time

    import numpy as np

    from phy import fastmath32

    @numba.njit(error_model="numpy")
    def phi_sweep(x, out, rounds):
        for _ in range(rounds):
            for i in range(len(x)):
                out[i] = fastmath32.phi(x[i])

    x = np.random.default_rng(0).uniform(0, 10, 4096).astype(np.float32)  # stays in L1
    out, rounds = np.empty_like(x), 2000
    phi_sweep(x, out, 1)
    start = time.perf_counter()
    phi_sweep(x, out, rounds)
    phis = len(x) * rounds / (time.perf_counter() - start)
    big, copy = np.ones(2**25, dtype=np.float32), np.zeros(2**25, dtype=np.float32)  # 128 MiB: beyond the caches
    np.copyto(copy, big)  # touch every page first: a fresh array's page faults are not bandwidth
    start = time.perf_counter()
    np.copyto(copy, big)
    stream = 2 * big.nbytes / (time.perf_counter() - start)
    _set_threads(1)
    encoder, llr = _llrs(1024)
    from phy.ldpc_numba import NumbaLDPC5GDecoder

    kernel = NumbaLDPC5GDecoder(encoder, num_iter=ITERATIONS)
    kernel(llr[:16])
    start = time.perf_counter()
    kernel(llr)
    edge_updates = 1024 * ITERATIONS * edges / (time.perf_counter() - start)
    print("limits of one core (boxplus-phi):")
    print(f"  phi in L1: {phis / 1e6:.0f} M/s; the kernel evaluates 2 per edge update, so phi alone caps it at "
          f"{phis / 2 / 1e6:.0f} M edge updates/s; it runs {edge_updates / 1e6:.0f} M/s "
          f"({edge_updates / (phis / 2):.0%} of that cap)")  # fmt: skip
    print(f"  memory: the updates touch about 24 bytes each (v2c and c2v read and written, the VN pass), "
          f"{24 * edge_updates / 1e9:.1f} GB/s, against {stream / 1e9:.1f} GB/s of a streaming copy "
          f"({24 * edge_updates / stream:.0%}); the working set of a group (16 codewords) is "
          f"{2 * edges * 16 * 4 / 2**10:.0f} KiB of messages")  # fmt: skip


if __name__ == "__main__":
    main()
