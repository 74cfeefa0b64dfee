"""The `gscsim` command line."""

from __future__ import annotations

import argparse
import sys

from .config_io import ConfigError, load_config, validate_config

__all__ = ["main"]


def _cmd_ber(args: argparse.Namespace) -> int:
    from .ber import BerConfig, run_ber

    config = load_config(args.config, BerConfig)
    if args.device:
        config = validate_config(
            {**config.model_dump(), "device": args.device}, BerConfig, "--device"
        )
    rows = run_ber(config, output=args.output, quiet=args.quiet)
    out = args.output or config.output
    if not args.quiet:
        print(f"{len(rows)} point(s) -> {out}/ber.csv, {out}/ber.png")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gscsim",
        description="Link-level simulator for multi-user generative semantic communication.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    ber = sub.add_parser(
        "ber",
        help="BER/BLER sweep of the multi-user OFDMA link",
        description=(
            "Sweep Eb/N0, SNR or transmit power for one link (modulation, code, grid, channel); "
            "write ber.csv (one row per point with confidence intervals), ber.png and run.json."
        ),
    )
    ber.add_argument("config", help="TOML file (see sims/configs/ber_*.toml)")
    ber.add_argument("--output", help="output folder (default: the config's `output`)")
    ber.add_argument("--device", help="override the config's device: cpu, cuda, cuda:N, auto")
    ber.add_argument("--quiet", action="store_true", help="no progress bar")
    ber.set_defaults(func=_cmd_ber)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"gscsim {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
