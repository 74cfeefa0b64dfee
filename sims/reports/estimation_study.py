"""Who loses how much to channel estimation (issue 24's study): perfect CSI -> LMMSE -> LS.

Reads the results of ``sims/configs/estimation_camvid.toml`` (every method over TDL-A at every
SNR with ``link.estimation`` = perfect, lmmse, ls) and prints, for PSNR, SSIM and mIoU:

- a summary: per method, the loss from perfect CSI to LMMSE and to LS, averaged over the SNRs;
- per metric, a table with a row per method and estimator and a column per SNR: the value
  with perfect CSI, then the loss (perfect minus estimated; positive = worse) with LMMSE and
  with LS, each +- the half-width of its 95% interval. The points of one SNR draw their
  channels independently per estimator, so the interval is that of a difference of two
  independent means (images and seeds pooled).

``--figure PATH`` draws PSNR, SSIM and mIoU against SNR: a colour per method, a line style per
estimator (solid perfect, dashed LMMSE, dotted LS).

``--calibration`` adds why the receivers fare as they do: on the study's link (its TOML's
``[link]``, N = 32 subcarriers per user), how well the noise variance each receiver is told
(``no_eff``: N0 plus the estimation error variance, through the equaliser) describes its actual
error. Per estimator and SNR: the mean of z = |x_hat - x|^2 / no_eff (1 when calibrated) and
the share of entries with z > 9 (e^-9 = 0.0001 for the complex Gaussian error the receivers
assume).

Run: ``gscsim report estimation_study results/estimation_camvid/results.csv [--figure F] [--calibration]``
"""

from __future__ import annotations

import argparse
import math
from collections import defaultdict
from pathlib import Path

from scipy.stats import norm

from ..plotting import pooled_mean
from .nullspace_tables import _number, read_rows

#: Metric column -> (label, digits).
METRICS = {"psnr": ("PSNR (dB)", 2), "ssim": ("SSIM", 3), "miou": ("mIoU", 3)}
ESTIMATORS = ("perfect", "lmmse", "ls")
ESTIMATION = "link.estimation"
STYLES = {"perfect": "-", "lmmse": "--", "ls": ":"}


def cells(rows: list[dict]) -> dict[str, dict[tuple[str, float, str], tuple[float, float, int]]]:
    """metric -> (method, SNR, estimation) -> (mean, variance of the mean, images) over that
    point's seeds (:func:`sims.plotting.pooled_mean`)."""
    groups: dict = defaultdict(list)
    for row in rows:
        groups[(row["method"], _number(row["snr_db"]), row[ESTIMATION])].append(row)
    return {metric: {key: pooled_mean(group, metric) for key, group in groups.items()} for metric in METRICS}


def _check(rows: list[dict]) -> None:
    if not rows:
        raise ValueError("the results file holds no rows")
    missing = [c for c in ("method", "snr_db", ESTIMATION) if c not in rows[0]]
    if missing:
        raise ValueError(f"the results have no column {missing[0]!r}: sweep snr_db and {ESTIMATION}")


def loss(table: dict, method: str, snr: float, estimation: str) -> tuple[float, float]:
    """(perfect minus ``estimation``, half-width of its 95% interval) at one method and SNR."""
    p_mean, p_var, _ = table.get((method, snr, "perfect"), (math.nan, math.nan, 0))
    e_mean, e_var, _ = table.get((method, snr, estimation), (math.nan, math.nan, 0))
    return p_mean - e_mean, norm.ppf(0.975) * math.sqrt(p_var + e_var)


def _fmt(value: float, digits: int, signed: bool = False) -> str:
    if math.isnan(value):
        return "-"
    text = f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
    return text.replace("-0." + "0" * digits, "0." + "0" * digits).replace("+0." + "0" * digits, "0." + "0" * digits)


def summary(rows: list[dict]) -> str:
    """Per method: the mean over SNRs of the loss to LMMSE and to LS, in each metric."""
    _check(rows)
    table = cells(rows)
    methods = list(dict.fromkeys(r["method"] for r in rows))
    snrs = sorted({_number(r["snr_db"]) for r in rows})
    present = [m for m in METRICS if any(not math.isnan(v[0]) for v in table[m].values())]
    head = " | ".join(f"{METRICS[m][0]}: {e}" for m in present for e in ESTIMATORS[1:])
    lines = [f"| method | {head} |", "|" + " --- |" * (1 + len(present) * 2)]
    for method in methods:
        out = []
        for metric in present:
            for estimation in ESTIMATORS[1:]:
                values = [loss(table[metric], method, s, estimation)[0] for s in snrs]
                values = [v for v in values if not math.isnan(v)]
                out.append(_fmt(sum(values) / len(values), METRICS[metric][1], True) if values else "-")
        lines.append(f"| {method} | " + " | ".join(out) + " |")
    return "\n".join(lines)


def detail(rows: list[dict], metric: str) -> str:
    """One metric: per method, the value with perfect CSI and the losses to LMMSE and LS per SNR."""
    _check(rows)
    label, digits = METRICS[metric]
    table = cells(rows)[metric]
    methods = list(dict.fromkeys(r["method"] for r in rows))
    snrs = sorted({_number(r["snr_db"]) for r in rows})
    lines = [f"| {label} | CSI | " + " | ".join(f"{s:g} dB" for s in snrs) + " |", "|" + " --- |" * (2 + len(snrs))]
    for method in methods:
        values = [table.get((method, s, "perfect"), (math.nan,))[0] for s in snrs]
        lines.append(f"| {method} | perfect | " + " | ".join(_fmt(v, digits) for v in values) + " |")
        for estimation in ESTIMATORS[1:]:
            parts = []
            for s in snrs:
                value, half = loss(table, method, s, estimation)
                parts.append("-" if math.isnan(value) else f"{_fmt(value, digits, True)} ± {_fmt(half, digits)}")
            lines.append(f"| | loss, {estimation} | " + " | ".join(parts) + " |")
    return "\n".join(lines)


def figure(rows: list[dict], path: Path) -> Path:
    """PSNR / SSIM / mIoU against SNR, a colour per method and a line style per estimator."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _check(rows)
    table = cells(rows)
    methods = list(dict.fromkeys(r["method"] for r in rows))
    snrs = sorted({_number(r["snr_db"]) for r in rows})
    present = [m for m in METRICS if any(not math.isnan(v[0]) for v in table[m].values())]
    fig, axes = plt.subplots(1, len(present), figsize=(5.2 * len(present), 4.2), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, metric in zip(axes[0], present):
        for i, method in enumerate(methods):
            for estimation in ESTIMATORS:
                ys = [table[metric].get((method, s, estimation), (math.nan,))[0] for s in snrs]
                ax.plot(snrs, ys, STYLES[estimation], marker="o", markersize=3, color=colours[i % len(colours)],
                        label=method if estimation == "perfect" else None)  # fmt: skip
        ax.set_xlabel("SNR per resource element (dB)")
        ax.set_ylabel(METRICS[metric][0])
        ax.grid(True, alpha=0.3)
    for estimation in ESTIMATORS:
        axes[0][0].plot([], [], STYLES[estimation], color="k", label=f"CSI: {estimation}")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Estimated CSI over TDL-A: perfect (solid), LMMSE (dashed), LS (dotted)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


STUDY = Path(__file__).parents[1] / "configs" / "estimation_camvid.toml"


def calibration(snrs: tuple[float, ...] = (-5.0, 0.0, 10.0, 20.0), batch: int = 256, seed: int = 0) -> str:
    """The table of ``--calibration`` (module docstring): unit-power complex Gaussian values over
    the study's link, ``batch`` slots of K users per estimator and SNR."""
    import tomllib

    import torch

    from phy import LinkConfig, OFDMALink, make_generator

    data = tomllib.loads(STUDY.read_text())["link"]
    data["grid"].update(subcarriers_per_user=32, num_subcarriers=32 * data["grid"]["num_users"])
    lines = ["| CSI | SNR | mean z | share z > 9 | told no_eff (mean) | actual error (mean) |", "|" + " --- |" * 6]
    for estimation in ESTIMATORS:
        link = OFDMALink(LinkConfig.model_validate({**data, "estimation": estimation}))
        g = make_generator(seed)
        K, S, N = link.num_users, link.config.grid.num_ofdm_symbols, link.config.grid.n
        for snr in snrs:
            x = torch.complex(torch.randn(batch, K, S, N, generator=g), torch.randn(batch, K, S, N, generator=g)) / 2**0.5
            rx = link.send_symbols(x, snr, g)
            error = (rx.x_hat - x).abs().square()
            z = error / rx.no_eff
            lines.append(
                f"| {estimation} | {snr:g} dB | {z.mean().item():.2f} | {(z > 9).float().mean().item():.4f} "
                f"| {rx.no_eff.mean().item():.3g} | {error.mean().item():.3g} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Command line (module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", help="results.csv of an estimation_camvid sweep")
    parser.add_argument("--figure", type=Path, help="write the PSNR / SSIM / mIoU figure here (.png)")
    parser.add_argument("--calibration", action="store_true", help="also: is the told noise variance the actual error?")
    args = parser.parse_args(argv)
    rows = read_rows(args.results)
    try:
        print("Mean loss from perfect CSI over the SNRs (positive = worse):\n")
        print(summary(rows))
        for metric in METRICS:
            if any(r.get(metric, "") != "" for r in rows):
                print(f"\n{detail(rows, metric)}")
        if args.figure:
            print(f"\nfigure: {figure(rows, args.figure)}")
        if args.calibration:
            print(f"\nCalibration of the told noise variance on the study's link:\n\n{calibration()}")
    except ValueError as exc:
        raise SystemExit(f"{args.results}: {exc}") from None


if __name__ == "__main__":
    main()
