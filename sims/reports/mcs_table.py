"""Measure the stream link's link abstraction: BLER vs SNR of every MCS, and the IR multicast's curves.

Writes ``mcs_bler_<channel>.json`` (:class:`phy.link_abstraction.BlerTable`) for each
channel asked for, and with ``--ir`` the rateless multicast's table ``ir_awgn.json``
(:class:`phy.link_abstraction.IrTable`), into ``--out`` (default: the shipped
``phy/data``), then prints each MCS's thresholds at the target BLER next to Shannon's
SNR for its efficiency. ``--print-only`` prints the thresholds of existing tables.

Run: ``gscsim report mcs_table [--channel awgn rayleigh_block] [--ir] [--device cuda]``
(the shipped tables came from a GPU run: see their ``settings``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from phy.link_abstraction import (
    TABLE_DIR,
    WalkSettings,
    load_ir_table,
    load_table,
    measure_bler_table,
    measure_ir_table,
)
from phy.mcs import MCS_TABLE, shannon_snr_db
from phy.rng import resolve_device


def thresholds_markdown(channels: list[str], target: float, folder: Path | None = None) -> str:
    """A Markdown table: MCS, efficiency, Shannon SNR, and each channel's threshold at ``target``."""
    tables = {c: load_table(c, None if folder is None else folder / f"mcs_bler_{c}.json") for c in channels}
    head = "| MCS | bit/s/Hz | Shannon (dB) | " + " | ".join(f"{c} @ BLER {target:g} (dB)" for c in channels) + " |"
    lines = [head, "| --- " * (3 + len(channels)) + "|"]
    thr = {c: t.thresholds_db(target) for c, t in tables.items()}
    for i, m in enumerate(MCS_TABLE):
        cells = " | ".join(f"{thr[c][i]:.2f}" for c in channels)
        lines.append(f"| {m.name} | {m.efficiency:.3f} | {float(shannon_snr_db(m.efficiency)):.2f} | {cells} |")
    return "\n".join(lines)


def ir_markdown(folder: Path | None = None, blocks=(1, 8)) -> str:
    """A Markdown table: the IR multicast's efficiency (payload bits per channel use) per modulation and SNR."""
    table = load_ir_table(None if folder is None else folder / "ir_awgn.json")
    from phy.incremental import IncrementalRedundancy

    payload = IncrementalRedundancy(table.k, "qpsk", table.increment_symbols, table.max_rounds).payload_bits
    snrs = np.arange(-8, 29, 4.0)
    lines = ["| modulation, blocks | " + " | ".join(f"{s:g} dB" for s in snrs) + " |", "| --- " * (1 + snrs.size) + "|"]
    for mod, curve in table.curves.items():
        for c in blocks:
            steps = curve.expected_steps(snrs, c)
            eff = payload / (steps * table.increment_symbols)  # payload bits per channel use
            lines.append(f"| {mod}, {c} | " + " | ".join("-" if not np.isfinite(e) or e == 0 else f"{e:.2f}" for e in eff) + " |")
    return "\n".join(lines)


def overhead_markdown(folder: Path | None = None, target: float = 1e-3, blocks: int = 8) -> str:
    """A Markdown table: bits per channel use at each SNR of Shannon, of the per-user MCS (the highest
    whose threshold at ``target`` holds: the latency model's "each user at its own rate" on this
    link) and of the rateless IR multicast (its best modulation, ``blocks`` blocks: E[max] steps),
    and the IR's overhead: channel uses it needs over those of the per-user MCS."""
    table = load_table("awgn", None if folder is None else folder / "mcs_bler_awgn.json")
    ir = load_ir_table(None if folder is None else folder / "ir_awgn.json")
    from phy.incremental import IncrementalRedundancy

    payload = IncrementalRedundancy(ir.k, "qpsk", ir.increment_symbols, ir.max_rounds).payload_bits
    thr, effs = table.thresholds_db(target), table.efficiencies()
    snrs = np.arange(-4, 25, 4.0)
    lines = [f"| SNR (dB) | Shannon | per-user MCS @ BLER {target:g} | IR, {blocks} blocks | IR overhead vs per-user MCS |",
             "| --- | --- | --- | --- | --- |"]  # fmt: skip
    for snr in snrs:
        met = np.flatnonzero(snr >= thr)
        mcs = effs[met.max()] if met.size else float("nan")
        steps = min(float(c.expected_steps(np.array([snr]), blocks)[0]) for c in ir.curves.values())
        eff_ir = payload / (steps * ir.increment_symbols) if np.isfinite(steps) else float("nan")
        cells = [f"{v:.2f}" if np.isfinite(v) else "-" for v in (np.log2(1 + 10 ** (snr / 10)), mcs, eff_ir, mcs / eff_ir)]
        lines.append(f"| {snr:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Command line (module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--channel", nargs="*", default=["awgn", "rayleigh_block"], choices=["awgn", "rayleigh_block"])
    parser.add_argument("--ir", action="store_true", help="also measure the IR multicast's table")
    parser.add_argument("--out", type=Path, default=TABLE_DIR, help="folder of the tables (default: phy/data)")
    parser.add_argument("--target-bler", type=float, default=0.1, help="BLER of the printed thresholds")
    parser.add_argument("--device", default="auto", help="cpu, cuda, auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=None, help="codewords per batch (default: the walk's)")
    parser.add_argument("--max-blocks", type=int, default=None, help="codewords per SNR point at most")
    parser.add_argument("--ir-blocks", type=int, default=1000, help="IR blocks per SNR")
    parser.add_argument("--ir-modulations", nargs="+", default=["qpsk", "16qam", "64qam", "256qam"])
    parser.add_argument("--mcs", type=int, nargs="*", default=None, help="MCS indices (default: all)")
    parser.add_argument("--print-only", action="store_true", help="print the thresholds of the tables in --out")
    args = parser.parse_args(argv)
    if not 0 < args.target_bler < 1:
        parser.error(f"--target-bler must be in (0, 1); got {args.target_bler}")
    if not args.print_only:
        device = resolve_device(args.device)
        for channel in args.channel:
            overrides = {k: v for k, v in (("batch", args.batch), ("max_blocks", args.max_blocks)) if v is not None}
            table = measure_bler_table(
                channel, WalkSettings.for_channel(channel, **overrides), args.seed, device,
                indices=args.mcs, progress=lambda s, c=channel: print(f"{c} {s}", flush=True),
            )  # fmt: skip
            print("wrote", table.save(args.out / f"mcs_bler_{channel}.json"), flush=True)
        if args.ir:
            ir = measure_ir_table(args.ir_modulations, blocks=args.ir_blocks, batch=min(args.ir_blocks, 1000), seed=args.seed, device=device,
                                  progress=print)
            print("wrote", ir.save(args.out / "ir_awgn.json"), flush=True)
    if args.mcs is None and args.channel:
        print(thresholds_markdown(args.channel, args.target_bler, args.out))
    if args.ir or (args.out / "ir_awgn.json").exists():
        print()
        print(ir_markdown(args.out))
        if (args.out / "mcs_bler_awgn.json").exists():
            print()
            print(overhead_markdown(args.out))
