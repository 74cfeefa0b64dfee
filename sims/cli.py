"""The `gscsim` command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .config_io import ConfigError, read_toml

__all__ = ["main"]


def _scenario(args: argparse.Namespace, default_methods: dict | None = None):
    from .scenario import scenario_from_dict

    data = read_toml(args.config)
    if args.device:
        data["device"] = args.device
    if default_methods is not None:
        data.setdefault("methods", default_methods)
    return scenario_from_dict(data, args.config)


def _run(args: argparse.Namespace, scenario) -> int:
    from .engine import run_sweep

    rows = run_sweep(
        scenario, args.output, resume=args.resume, force=args.force, quiet=args.quiet,
        backend=args.backend, address=args.address, workers=args.workers, gpus_per_task=args.gpus_per_task,
    )  # fmt: skip
    if not args.quiet:
        out = args.output or scenario.config.output
        print(f"{len(rows)} row(s) in {out}/results.csv; plots in {out}/plot_*.png")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    return _run(args, _scenario(args))


def _cmd_ber(args: argparse.Namespace) -> int:
    scenario = _scenario(args, default_methods={"ber": {}})
    others = [i.name for i in scenario.methods.values() if i.spec.kind != "ber"]
    if others:
        raise ConfigError(f"{args.config}: methods.{others[0]}: `gscsim ber` runs only methods of kind 'ber'")
    return _run(args, scenario)


def _cmd_plot(args: argparse.Namespace) -> int:
    from .plotting import plot_results
    from .results import read_table
    from .scenario import scenario_from_dict

    results = Path(args.results)
    if not results.exists():
        raise ConfigError(f"{results}: no such results file")
    _, rows = read_table(results)
    scenario, axes = None, None
    run_json = results.parent / "run.json"
    if run_json.exists():
        info = json.loads(run_json.read_text())
        axes = list(info["config"]["sweep"]["axes"])
        try:  # references (closed forms) need the methods; plot without them otherwise
            scenario = scenario_from_dict(info["config"], str(run_json))
        except ConfigError:
            scenario = None
    if axes is None and args.x is None:
        raise ConfigError(f"{results}: no run.json beside it; name the x axis with --x")
    out = Path(args.output or results.parent)
    out.mkdir(parents=True, exist_ok=True)
    try:
        paths = plot_results(
            rows, out, scenario=scenario, axes=axes, metrics=args.metric or None, x=args.x,
            facets=args.facet, confidence=args.confidence,
        )  # fmt: skip
    except ValueError as exc:
        raise ConfigError(f"{results}: {exc}") from None
    for path in paths:
        print(path)
    return 0


def _run_trainer(args: argparse.Namespace, config_cls, train, check=None, **train_kwargs) -> int:
    """Validate the CLI options into ``config_cls`` (one-line errors), train, print the folder."""
    from pydantic import ValidationError

    from phy.config import format_validation_error

    data = {k: v for k, v in vars(args).items() if k in config_cls.model_fields and v is not None}
    try:
        config = config_cls.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from None
    if check is not None:
        check(config)
    try:
        path = train(config, quiet=args.quiet, **train_kwargs)
    except (FileNotFoundError, ValueError) as exc:
        raise ConfigError(str(exc)) from None
    print(f"model written to {path}")
    return 0


def _cmd_train_ddpm(args: argparse.Namespace) -> int:
    from .train.ddpm import DdpmTrainConfig, train_ddpm

    return _run_trainer(args, DdpmTrainConfig, train_ddpm, resume=args.resume)


def _cmd_train_jscc(args: argparse.Namespace) -> int:
    from fractions import Fraction

    from semantic.jscc import channels_for_ratio

    from .train.jscc import JsccTrainConfig, train_jscc

    def check(config) -> None:
        try:
            channels_for_ratio(Fraction(config.ratio))
        except ValueError as exc:
            raise ConfigError(f"--ratio: {exc}") from None

    config_cls = JsccTrainConfig
    if args.model == "swinjscc":
        from .train.jscc import SwinJsccTrainConfig as config_cls
    return _run_trainer(args, config_cls, train_jscc, check)


def _cmd_train_sdm(args: argparse.Namespace) -> int:
    from .train.sdm import SdmTrainConfig, train_sdm

    return _run_trainer(args, SdmTrainConfig, train_sdm)


def _cmd_train_boxddpm(args: argparse.Namespace) -> int:
    from .train.boxddpm import BoxDdpmTrainConfig, train_boxddpm

    return _run_trainer(args, BoxDdpmTrainConfig, train_boxddpm)


def _cmd_train_fast_order(args: argparse.Namespace) -> int:
    from .train.fast_order import FastOrderTrainConfig, train_fast_order

    return _run_trainer(args, FastOrderTrainConfig, train_fast_order)


def _cmd_train_fast_bandwidth(args: argparse.Namespace) -> int:
    from .train.fast_bandwidth import FastBandwidthTrainConfig, train_fast_bandwidth

    return _run_trainer(args, FastBandwidthTrainConfig, train_fast_bandwidth)


def _cmd_train_sft(args: argparse.Namespace) -> int:
    from .train.sft import SftTrainConfig, train_sft

    return _run_trainer(args, SftTrainConfig, train_sft, resume=args.resume)


def _cmd_train_spadegan(args: argparse.Namespace) -> int:
    from .train.spadegan import SpadeGanTrainConfig, train_spadegan

    return _run_trainer(args, SpadeGanTrainConfig, train_spadegan, resume=args.resume)


def _cmd_train_segmenter(args: argparse.Namespace) -> int:
    from .train.segmenter import SegmenterTrainConfig, train_segmenter

    return _run_trainer(args, SegmenterTrainConfig, train_segmenter)


def _cmd_methods(args: argparse.Namespace) -> int:
    from .help import describe_methods

    print(describe_methods(args.kind or None))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    return _run_module("sims.reports", "report", args.name, args.args)


def _cmd_bench(args: argparse.Namespace) -> int:
    import importlib

    names = ["suite"] if args.name == "all" else [args.name]  # all: the suite runs every benchmark
    for name in names:
        _check_module("sims.bench", "bench", name)
        module = importlib.import_module(f"sims.bench.{name}")
        extra = list(args.args)
        if args.device and getattr(module, "USES_DEVICE", False):
            extra = ["--device", args.device, *extra]
        print(f"== gscsim bench {name} {' '.join(extra)}".rstrip(), flush=True)
        module.main(extra)
    return 0


def _modules(package: str) -> list[str]:
    import importlib
    import pkgutil

    pkg = importlib.import_module(package)
    return sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_"))


def _check_module(package: str, command: str, name: str | None) -> None:
    names = _modules(package)
    if name not in names:
        raise ConfigError(f"{command} {name!r}: expected one of {', '.join(names)}" if name else
                          f"name a {command}: {', '.join(names)}")  # fmt: skip


def _run_module(package: str, command: str, name: str | None, argv: list[str]) -> int:
    import importlib

    _check_module(package, command, name)
    importlib.import_module(f"{package}.{name}").main(list(argv))
    return 0


def _parse_bool(text: str) -> bool:
    """``true``/``false`` (also 1/0, yes/no) for a boolean flag's value."""
    value = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(text.lower())
    if value is None:
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return value


def _add_model_flags(parser: argparse.ArgumentParser, model_cls, skip: tuple[str, ...] = ()) -> None:
    """One ``--flag`` per field of a pydantic config (help from its description), so that the
    command line and the config model cannot drift apart. Tuples are comma-separated."""
    import typing

    for name, info in model_cls.model_fields.items():
        if name in skip:
            continue
        annotation = info.annotation
        args = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
        base = args[0] if len(args) == 1 else annotation
        kwargs: dict = {"dest": name, "default": None}
        origin = typing.get_origin(base)
        if origin is tuple:
            item = next(a for a in typing.get_args(base) if a is not Ellipsis)
            kwargs["type"] = lambda text, item=item: tuple(item(v) for v in text.split(","))
            kwargs["metavar"] = "V1,V2,..."
        elif origin is typing.Literal:
            kwargs["choices"] = list(typing.get_args(base))
        elif base in (int, float, str):
            kwargs["type"] = base
        elif base is bool:  # a bare --flag means true; --flag false also parses
            kwargs.update(nargs="?", const=True, metavar="BOOL", type=_parse_bool)
        default = info.default if info.default is not None else "unset"
        if isinstance(default, tuple):
            default = ",".join(map(str, default))
        kwargs["help"] = f"{info.description or name} (default: {default})"
        parser.add_argument(f"--{name.replace('_', '-')}", **kwargs)


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="scenario TOML file (see sims/configs/)")
    parser.add_argument("--output", help="output folder (default: the config's `output`)")
    parser.add_argument("--device", help="override the config's device: cpu, cuda, cuda:N, auto")
    parser.add_argument("--resume", action="store_true", help="complete an interrupted run: skip rows already in results.csv")
    parser.add_argument("--force", action="store_true", help="start over; earlier results move to previous-<time>/")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--backend", choices=["local", "ray"], default="local", help="where rows run (default: local)")
    parser.add_argument("--address", help="Ray cluster address (default: start Ray on this machine)")
    parser.add_argument("--workers", type=int, help="Ray worker processes when starting Ray locally")
    parser.add_argument("--gpus-per-task", type=float, default=1.0, help="GPUs per Ray task when the device is cuda")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser of every `gscsim` command.

    The training flags come from the training config models, which import torch and
    diffusers; they are added only when ``argv`` is a `train` command, so that every
    other command (and ``--help``) starts fast.
    """
    with_training_flags = argv is None or argv[:1] == ["train"]
    parser = argparse.ArgumentParser(
        prog="gscsim",
        description="Link-level simulator for multi-user generative semantic communication.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    sweep = sub.add_parser(
        "sweep",
        help="run a grid study (points x methods x seeds) from a scenario file",
        description=(
            "Expand the scenario's grid and run every (point, method, seed); write results.csv "
            "(one row each, appended as they finish), run.json and plot_<metric>.png."
        ),
    )
    _add_run_options(sweep)
    sweep.set_defaults(func=_cmd_sweep)

    ber = sub.add_parser(
        "ber",
        help="BER/BLER sweep of the multi-user OFDMA link",
        description=(
            "A sweep whose methods are all BER simulations (a [methods] table is optional; "
            "options: batch_size, max_batches, target_block_errors, target_bit_errors, early_stop). "
            "Sweep exactly one of ebno_db, snr_db or tx_power_dbm."
        ),
    )
    _add_run_options(ber)
    ber.set_defaults(func=_cmd_ber)

    plot = sub.add_parser(
        "plot",
        help="redraw the figures of a results.csv",
        description="Redraw plot_<metric>.png from a results table (run.json beside it names the axes).",
    )
    plot.add_argument("results", help="a results.csv written by `gscsim sweep` or `gscsim ber`")
    plot.add_argument("--metric", action="append", help="metric to plot (repeatable; default: all)")
    plot.add_argument("--x", help="x axis (default: the first sweep axis)")
    plot.add_argument("--facet", action="append", help="axis with one subplot per value (repeatable)")
    plot.add_argument("--confidence", type=float, help="confidence level of the bands (default: the run's)")
    plot.add_argument("--output", help="folder for the PNGs (default: beside the results)")
    plot.set_defaults(func=_cmd_plot)

    def training_flags(parser: argparse.ArgumentParser, module: str, name: str) -> None:
        if with_training_flags:
            import importlib

            _add_model_flags(parser, getattr(importlib.import_module(f"sims.train.{module}"), name))

    train = sub.add_parser("train", help="train the shipped models", description="Train a model gscsim ships.")
    models = train.add_subparsers(dest="model", metavar="MODEL", required=True)
    trainers = [  # (model, module, config class, run, help, description)
        ("ddpm", "ddpm", "DdpmTrainConfig", _cmd_train_ddpm, "the unconditional CamVid DDPM of the null-space receiver",
         "Train a diffusers UNet2DModel (linear 1000-step DDPM) on CamVid train crops; GPU when available. "
         "Writes OUTPUT/model (safetensors), checkpoint/, training.json, samples.png."),
        ("jscc", "jscc", "JsccTrainConfig", _cmd_train_jscc, "a DeepJSCC baseline (AWGN, slow Rayleigh, or OFDM with pilots)",
         "Train DeepJSCC through gscsim's PHY on CamVid train crops; GPU when available. "
         "Writes OUTPUT/config.json, diffusion_pytorch_model.safetensors and training.json."),
        ("swinjscc", "jscc", "SwinJsccTrainConfig", _cmd_train_jscc,
         "Swin-JSCC, the codec of GSC (Zhang et al., seed 002)",
         "Train Swin-JSCC through gscsim's PHY on CamVid train crops (the paper's CIFAR-10 is not here); GPU when "
         "available. Writes OUTPUT/config.json, diffusion_pytorch_model.safetensors and training.json."),
        ("sft", "sft", "SftTrainConfig", _cmd_train_sft,
         "GSC's semantic fine-tuning module (DiffIR) on a trained Swin-JSCC's outputs",
         "Train the SFT refiner in its two stages on (decoded, original) CamVid train pairs made through the "
         "Swin-JSCC and its channel at random SNRs; GPU when available. Writes OUTPUT/config.json, "
         "diffusion_pytorch_model.safetensors, training.json and checkpoint/."),
        ("sdm", "sdm", "SdmTrainConfig", _cmd_train_sdm,
         "the semantic diffusion model (SPADE U-Net, classifier-free guidance) on CamVid train",
         "Train the SDM on CamVid train crops with their label maps; GPU when present, CPU otherwise."),
        ("boxddpm", "boxddpm", "BoxDdpmTrainConfig", _cmd_train_boxddpm,
         "M-GSC's box-conditioned DDPMs (seed 003): a scene's local model or the edge's cluster-wide model",
         "Train a box-conditioned DDPM (SPADE U-Net, linear 1000-step schedule) on CamVid's train sequences as "
         "M-GSC's scenes: --scope local --sequence NAME (one scene, every timestep) or --scope cluster (the "
         "pooled subsets, only the timesteps the edge runs; --fedavg --rounds R for federated averaging). "
         "Writes OUTPUT/config.json, diffusion_pytorch_model.safetensors and training.json."),
        ("spadegan", "spadegan", "SpadeGanTrainConfig", _cmd_train_spadegan,
         "the SPADE GAN that Fig. 18 of the multicasting paper compares with the SDM",
         "Train a SPADE generator with a multi-scale PatchGAN (hinge loss, feature matching) on CamVid train "
         "crops with their label maps; GPU when present. Writes OUTPUT/config.json, "
         "diffusion_pytorch_model.safetensors, training.json, samples.png and checkpoint/."),
        ("fast-order", "fast_order", "FastOrderTrainConfig", _cmd_train_fast_order,
         "FAST's unit-ordering agent (seed 001): masked PPO, PPO, or a random valid policy",
         "Train the policy that orders a label map's class units on the sequential-extraction MDP, rewarded by "
         "the segmenter's mIoU of the SCD receiver's image; GPU for the receiver when present. Writes "
         "OUTPUT/policy.safetensors and training.json (the learning curve)."),
        ("fast-bandwidth", "fast_bandwidth", "FastBandwidthTrainConfig", _cmd_train_fast_bandwidth,
         "FAST's bandwidth allocation among K users (seed 001): PPO, or the importance / random baselines",
         "Train the per-slot bandwidth split among K users whose units an ordering policy extracts, rewarded by "
         "the units' semantic dependence and the users' importance-weighted mIoU; GPU for the receivers when "
         "present. Writes OUTPUT/policy.safetensors and training.json (the learning curve)."),
        ("segmenter", "segmenter", "SegmenterTrainConfig", _cmd_train_segmenter,
         "the CamVid segmenter that scores meaning (mIoU) in sweeps",
         "Train the DDRNet-style segmenter on CamVid train at --size (32, 64, 128) and evaluate it on val. "
         "Writes OUTPUT/config.json, diffusion_pytorch_model.safetensors and training.json."),
    ]  # fmt: skip
    for name, module, config_name, run, help_text, description in trainers:
        trainer = models.add_parser(name, help=help_text, description=description)
        training_flags(trainer, module, config_name)
        if name in ("ddpm", "spadegan", "sft"):
            trainer.add_argument("--resume", action="store_true", help="continue from OUTPUT/checkpoint")
        if name == "swinjscc":
            trainer.add_argument("--channel", dest="variant", choices=["awgn", "rayleigh"], help="= --variant")
        trainer.add_argument("--quiet", action="store_true")
        trainer.set_defaults(func=run)

    methods = sub.add_parser(
        "methods",
        help="list the registered methods and their options (the keys of [methods.<name>])",
        description="Every registered method kind with its metrics and options: type, default, description. "
        "Each option is also a sweep axis (plain for every method, or methods.<name>.<option>).",
    )
    methods.add_argument("kind", nargs="?", help="one method kind (default: all)")
    methods.set_defaults(func=_cmd_methods)

    report = sub.add_parser(
        "report",
        help="run a report of sims/reports (figures and tables from results or models)",
        description="gscsim report NAME [ARGS...]: run sims/reports/NAME.py; ARGS go to it (try NAME --help).",
    )
    report.add_argument("name", nargs="?", help="report name")
    report.add_argument("args", nargs=argparse.REMAINDER, help="the report's own arguments")
    report.set_defaults(func=_cmd_report)

    bench = sub.add_parser(
        "bench",
        help="run the benchmarks of sims/bench (ratios against a reference in the same run)",
        description="gscsim bench [NAME|all] [--device D] [ARGS...]: one benchmark in detail, or all of them "
        "(the suite, sims/bench/suite.py: --json, --plot, --smoke).",
    )
    bench.add_argument("name", nargs="?", default="all", help="benchmark name, or all (default)")
    bench.add_argument("--device", help="passed to the benchmarks that take one (cpu, cuda, auto)")
    bench.add_argument("args", nargs=argparse.REMAINDER, help="the benchmark's own arguments")
    bench.set_defaults(func=_cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status (2 with a one-line error for a bad config)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv).parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"gscsim {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
