"""Throughput of the coded chain: gscsim's OFDMA link against two references.

Chain: 16-QAM, rate-1/2 LDPC of length about 1024, 20 BP iterations, AWGN,
app demapping. Information bits per second, measured in one run:

  (a) gscsim's ``OFDMALink`` (K users on an OFDMA grid, equalisation included)
      against the same chain written here directly with Sionna's blocks
      (no grid): the assembly may cost at most 10%;
  (b) a NumPy + pyldpc implementation of the chain (regular (3, 6) LDPC,
      n = 1020), reporting the speed ratio. pyldpc's decoder stops as soon as
      every codeword of the batch satisfies the parity checks, an advantage
      the Sionna decoders (fixed 20 iterations) do not take.

Run: ``python sims/bench/phy_throughput.py [--device auto] [--codewords 512]``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch

#: Takes `--device` (`gscsim bench all --device cuda` passes it on).
USES_DEVICE = True

EBNO_DB = 3.0
K_INFO, N_CODED, BITS_PER_SYMBOL, BP_ITERATIONS = 512, 1024, 4, 20


def sync(device: str) -> None:
    """Wait for the device's queued work (timings need it on CUDA)."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_per_call(fn, repeats: int, device: str) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls, after one warm-up call."""
    fn()
    sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def gscsim_chain(codewords: int, device: str, decoder: str = "sionna", compile: bool = False):
    """Callable running gscsim's coded OFDMA chain on ``codewords`` codewords (``code.decoder``:
    sionna by default, the assembly's cost against the Sionna-direct chain; ``code.compile``)."""
    from phy import CodeConfig, GridConfig, LinkConfig, OFDMALink, make_generator

    num_users = 4
    config = LinkConfig(
        modulation="16qam",
        demapping="app",
        code=CodeConfig(k=K_INFO, n=N_CODED, bp_iterations=BP_ITERATIONS, decoder=decoder, compile=compile),
        # 8 OFDM symbols x 32 subcarriers x 4 bits = one 1024-bit codeword per user and slot
        grid=GridConfig(num_subcarriers=32 * num_users, num_users=num_users, num_ofdm_symbols=8),
    )
    link = OFDMALink(config, device=device)
    batch = max(1, codewords // (num_users * link.codewords_per_user))
    generator = make_generator(0, device)
    snr_db = link.snr_db_from_ebno_db(EBNO_DB)

    def run():
        with torch.no_grad():
            bits = link.random_bits(batch, generator)
            return bits, link(bits, snr_db, generator).bits_hat

    return run, batch * num_users * link.codewords_per_user * K_INFO


def sionna_chain(codewords: int, device: str):
    """The same chain written directly with Sionna blocks (one codeword per row)."""
    from sionna.phy import config
    from sionna.phy.channel import AWGN
    from sionna.phy.fec.ldpc import LDPC5GDecoder, LDPC5GEncoder
    from sionna.phy.mapping import BinarySource, Demapper, Mapper
    from sionna.phy.utils import ebnodb2no

    config.seed = 0
    source = BinarySource(device=device)
    encoder = LDPC5GEncoder(K_INFO, N_CODED, num_bits_per_symbol=BITS_PER_SYMBOL, device=device)
    decoder = LDPC5GDecoder(encoder, num_iter=BP_ITERATIONS, hard_out=True, device=device)
    mapper = Mapper("qam", BITS_PER_SYMBOL, device=device)
    demapper = Demapper("app", "qam", BITS_PER_SYMBOL, device=device)
    awgn = AWGN(device=device)
    no = ebnodb2no(EBNO_DB, BITS_PER_SYMBOL, K_INFO / N_CODED, device=device)

    def run():
        with torch.no_grad():
            bits = source([codewords, K_INFO])
            y = awgn(mapper(encoder(bits)), no)
            return bits, decoder(demapper(y, no))

    return run, codewords * K_INFO


# --- NumPy + pyldpc reference -------------------------------------------------


def _qam16_gray() -> tuple[np.ndarray, np.ndarray]:
    """Gray 16-QAM of TS 38.211 5.1.3: points (16,) and their labels (16, 4)."""
    labels = np.array([[(i >> (3 - j)) & 1 for j in range(4)] for i in range(16)])
    b = 1 - 2 * labels
    points = (b[:, 0] * (2 - b[:, 2]) + 1j * b[:, 1] * (2 - b[:, 3])) / np.sqrt(10)
    return points, labels


def numpy_pyldpc_chain(codewords: int):
    """Callable running the NumPy + pyldpc reference chain."""
    import pyldpc

    n, d_v, d_c = 1020, 3, 6
    H, G = pyldpc.make_ldpc(n, d_v, d_c, systematic=True, sparse=True, seed=0)
    k = G.shape[1]
    points, labels = _qam16_gray()
    rng = np.random.default_rng(0)
    no = 1.0 / (10 ** (EBNO_DB / 10) * (k / n) * 4)

    def run():
        msg = rng.integers(0, 2, size=(k, codewords))
        code = (G @ msg) % 2  # (n, codewords), systematic: message = code[:k]
        sym_bits = code.T.reshape(codewords, n // 4, 4)
        index = sym_bits @ np.array([8, 4, 2, 1])
        x = points[index]
        y = x + np.sqrt(no / 2) * (rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape))
        # app LLRs log(P(b=0)/P(b=1)) (pyldpc's sign), via log-sum-exp over the 16 points
        metric = -np.abs(y[..., None] - points) ** 2 / no  # (codewords, n/4, 16)
        llr = np.empty((codewords, n // 4, 4))
        for j in range(4):
            zero, one = metric[..., labels[:, j] == 0], metric[..., labels[:, j] == 1]
            llr[..., j] = np.logaddexp.reduce(zero, axis=-1) - np.logaddexp.reduce(one, axis=-1)
        llr = llr.reshape(codewords, n).T
        # pyldpc takes BPSK-like observations y with Lc = 2 y / var; snr = 0 dB gives var = 1.
        with warnings.catch_warnings():  # "stopped before convergence": expected for failed words
            warnings.simplefilter("ignore", UserWarning)
            decoded = pyldpc.decode(H, llr / 2.0, snr=0.0, maxiter=BP_ITERATIONS)
        return msg, decoded[:k]

    return run, codewords * k


def main(argv: list[str] | None = None) -> None:
    """Command line: time the chains and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto", help="cpu, cuda, auto (default)")
    parser.add_argument("--codewords", type=int, default=512, help="codewords per call (gscsim, Sionna)")
    parser.add_argument("--pyldpc-codewords", type=int, default=32, help="codewords per pyldpc call")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    from phy.rng import resolve_device

    device = resolve_device(args.device)
    print(f"device: {device} ({torch.cuda.get_device_name(0) if device != 'cpu' else f'{torch.get_num_threads()} CPU threads'})")
    print(f"chain: 16-QAM, LDPC rate 1/2, {BP_ITERATIONS} BP iterations, app demapping, Eb/N0 = {EBNO_DB} dB")

    results = {}
    for name, (fn, info_bits) in {
        "gscsim OFDMALink": gscsim_chain(args.codewords, device),
        "Sionna blocks directly": sionna_chain(args.codewords, device),
    }.items():
        seconds = time_per_call(fn, args.repeats, device)
        results[name] = info_bits / seconds
        bits, bits_hat = fn()
        ber = (bits != bits_hat).float().mean().item()
        print(f"  {name:<24} {info_bits / seconds / 1e6:8.3f} Mbit/s  ({info_bits} info bits in {seconds:.3f} s, BER {ber:.2e})")

    try:
        fn, info_bits = numpy_pyldpc_chain(args.pyldpc_codewords)
    except ImportError:
        print("  pyldpc not installed: `make install` adds it (pip install --no-build-isolation pyldpc)")
        fn = None
    if fn is not None:
        seconds = time_per_call(fn, max(1, args.repeats // 2), "cpu")
        results["NumPy + pyldpc"] = info_bits / seconds
        msg, dec = fn()
        print(
            f"  {'NumPy + pyldpc (n=1020)':<24} {info_bits / seconds / 1e6:8.3f} Mbit/s  "
            f"({info_bits} info bits in {seconds:.3f} s, BER {np.mean(msg != dec):.2e})"
        )

    overhead = results["Sionna blocks directly"] / results["gscsim OFDMALink"] - 1
    print(f"ratio gscsim / Sionna-direct throughput: {1 / (1 + overhead):.3f}  "
          f"(assembly overhead {overhead:+.1%}, target <= +10%)")
    if "NumPy + pyldpc" in results:
        print(f"ratio gscsim / NumPy+pyldpc throughput: {results['gscsim OFDMALink'] / results['NumPy + pyldpc']:.1f}x")


if __name__ == "__main__":
    main()
