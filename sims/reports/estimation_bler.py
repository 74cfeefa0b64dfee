"""Coded BLER with perfect, LMMSE and LS channel estimates over TDL-A (issue 24, first part).

16-QAM, 5G LDPC (1024, 512), 2 users on 32 subcarriers, 16 data OFDM symbols plus 2 pilot
symbols (Sionna's Kronecker pilots; ``link.estimation``), TDL-A at a short delay spread and low
speed and at a long one and high speed. Each point decodes ``--batches`` x 64 x 2 codewords with
the same seed for the three estimators. Printed as a Markdown table.

Run: ``gscsim report estimation_bler [--snr 8 11 14] [--batches 8]``
"""

from __future__ import annotations

import argparse

from phy import (
    CodeConfig,
    GridConfig,
    LinkConfig,
    OFDMALink,
    channel_config,
    make_generator,
)

CHANNELS = [(30e-9, 3.0), (300e-9, 30.0)]  # (delay spread s, max speed m/s)
ESTIMATORS = ("perfect", "lmmse", "ls")


def bler(estimation: str, spread: float, speed: float, snr_db: float, batches: int, seed: int = 7) -> tuple[float, int]:
    """(block error rate, codewords) of one point."""
    link = OFDMALink(LinkConfig(
        modulation="16qam", code=CodeConfig(k=512, n=1024), grid=GridConfig(num_subcarriers=32, num_users=2, num_ofdm_symbols=16),
        channel=channel_config("tdl", tdl_model="A", delay_spread_s=spread, max_speed_mps=speed), estimation=estimation,
    ))  # fmt: skip
    g = make_generator(seed)
    errors = total = 0
    for _ in range(batches):
        bits = link.random_bits(64, g)
        errors += (link(bits, snr_db, g).bits_hat != bits).any(-1).sum().item()
        total += bits[..., 0].numel()
    return errors / total, total


def main(argv: list[str] | None = None) -> None:
    """Command line (module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--snr", type=float, nargs="+", default=[8.0, 11.0, 14.0], help="SNR per RE, dB")
    parser.add_argument("--batches", type=int, default=8, help="batches of 64 slots (2 users) per point")
    args = parser.parse_args(argv)
    if args.batches < 1:
        raise SystemExit(f"--batches must be >= 1; got {args.batches}")
    print("| TDL-A | SNR | " + " | ".join(ESTIMATORS) + " | codewords |")
    print("|---|---|" + "---|" * len(ESTIMATORS) + "---|")
    for spread, speed in CHANNELS:
        for snr in args.snr:
            rates = [bler(e, spread, speed, snr, args.batches) for e in ESTIMATORS]
            cells = " | ".join(f"{r:.3f}" for r, _ in rates)
            print(f"| {spread * 1e9:.0f} ns, {speed:g} m/s | {snr:g} dB | {cells} | {rates[0][1]} |", flush=True)


if __name__ == "__main__":
    main()
