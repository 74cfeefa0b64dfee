"""GSC (Zhang et al., "Semantic Successive Refinement", seed 002): the paper's comparisons beside gscsim's.

From the results of ``sims/configs/gsc_fig4.toml`` (CamVid train frames) and, with
``--holdout``, ``gsc_fig4_val.toml`` (CamVid val, which no model saw), prints per channel
(AWGN, block Rayleigh):

- PSNR, SSIM and MS-SSIM vs SNR 0..15 dB of GSC, NGF, MU-GSC, DeepJSCC and JPEG + LDPC + 4-QAM
  (Fig. 4a-d), means with 95% confidence half-widths;
- the headline: GSC's relative PSNR gain over DeepJSCC at 15 dB (the paper: +17.75% AWGN,
  +20.86% Rayleigh), with its spread (the two means' half-widths combined);
- 0 dB: SSIM, MS-SSIM, mIoU and fd_seg, in place of Fig. 5's LPIPS (no LPIPS weights offline;
  the paper: LPIPS -68.65% AWGN, -28.18% Rayleigh vs DeepJSCC at 0 dB; not the same metric);
- the NGF ablation (Fig. 6 in numbers: what the SFT adds, per SNR), MU-GSC vs GSC (largest PSNR
  difference; receiver time per image in the sweep), and where JPEG + LDPC + 4-QAM fails and
  saturates (the paper: fails below 3 dB, saturates above 6 dB near 20 dB).

``--figure PATH``: Fig. 4's PSNR-vs-SNR panels; ``--grid PATH``: Fig. 6, NGF and GSC images of
one CamVid val frame at 0..15 dB over AWGN (runs the shipped models); ``--training PATH``: Fig. 7,
the shipped SFT models' loss per epoch (stage 1 and stage 2).

Run: ``gscsim report gsc results/gsc_fig4/results.csv [--holdout results/gsc_fig4_val/results.csv]
[--figure F.png] [--grid G.png] [--training T.png]``
"""

from __future__ import annotations

import argparse
import math

from .nullspace_tables import read_rows

#: The paper's printed numbers (Section IV-B, Table I).
PAPER = {
    "gain_15db": {"awgn": 17.75, "rayleigh_block": 20.86},
    "lpips_0db": {"awgn": -68.65, "rayleigh_block": -28.18},
    "runtime_ratio": 8.87 / 15.66,
}
METHODS = ("gsc", "ngf", "mu_gsc", "deepjscc", "jpeg_ldpc_qpsk", "jpeg_ldpc_adaptive")
LABELS = {
    "gsc": "GSC", "ngf": "NGF", "mu_gsc": "MU-GSC", "deepjscc": "DeepJSCC",
    "jpeg_ldpc_qpsk": "JPEG+LDPC+4QAM", "jpeg_ldpc_adaptive": "JPEG+LDPC adaptive",
}  # fmt: skip
CHANNELS = {"awgn": "AWGN", "rayleigh_block": "Rayleigh (block, perfect CSI)"}


def _stat(row: dict | None, metric: str) -> tuple[float, float]:
    """(mean, 95% half-width) of a metric in a results row; NaN where absent."""
    if row is None or not row.get(metric):
        return math.nan, math.nan
    mean = float(row[metric])
    sd, n = row.get(f"{metric}_sd"), row.get(f"{metric}_n")
    half = 1.96 * float(sd) / math.sqrt(float(n)) if sd and n and float(n) > 1 and sd != "nan" else math.nan
    return mean, half


def table_by(rows: list[dict]) -> dict[tuple[str, str, float], dict]:
    """(channel, method, snr) -> row."""
    return {(r["link.channel.kind"], r["method"], float(r["snr_db"])): r for r in rows}


def _snrs(rows: list[dict]) -> list[float]:
    return sorted({float(r["snr_db"]) for r in rows})


def _cell(mean: float, half: float, digits: int) -> str:
    if math.isnan(mean):
        return "-"
    return f"{mean:.{digits}f}" + (f" ± {half:.{digits}f}" if not math.isnan(half) else "")


def metric_table(rows: list[dict], channel: str, metric: str, digits: int) -> str:
    """A Markdown table: a row per SNR, a column per method."""
    by = table_by(rows)
    methods = [m for m in METHODS if any(k[1] == m for k in by)]
    out = ["| SNR (dB) | " + " | ".join(LABELS[m] for m in methods) + " |", "|---" * (len(methods) + 1) + "|"]
    for snr in _snrs(rows):
        out.append(f"| {snr:g} | " + " | ".join(_cell(*_stat(by.get((channel, m, snr)), metric), digits) for m in methods) + " |")
    return "\n".join(out)


def gain_at(rows: list[dict], channel: str, snr: float, method: str = "gsc", reference: str = "deepjscc") -> tuple[float, float]:
    """Relative PSNR gain (%) of ``method`` over ``reference`` at ``snr`` and its spread (95%, independent means)."""
    by = table_by(rows)
    (a, ha), (b, hb) = _stat(by.get((channel, method, snr)), "psnr"), _stat(by.get((channel, reference, snr)), "psnr")
    gain = 100 * (a / b - 1)
    spread = 100 * math.sqrt((ha / b) ** 2 + (a * hb / b**2) ** 2) if not (math.isnan(ha) or math.isnan(hb)) else math.nan
    return gain, spread


def headline(rows: list[dict], channel: str) -> str:
    """GSC vs DeepJSCC at 15 dB (the paper's headline), and NGF vs DeepJSCC."""
    gain, spread = gain_at(rows, channel, 15.0)
    ngf, ngf_spread = gain_at(rows, channel, 15.0, "ngf")
    return (
        f"GSC vs DeepJSCC at 15 dB: {gain:+.2f}% ± {spread:.2f}% PSNR (the paper: +{PAPER['gain_15db'][channel]}%); "
        f"NGF (Swin-JSCC alone) vs DeepJSCC: {ngf:+.2f}% ± {ngf_spread:.2f}%"
    )


def zero_db_table(rows: list[dict], channel: str) -> str:
    """SSIM, MS-SSIM, mIoU, fd_seg at 0 dB per method (Fig. 5's substitute)."""
    by = table_by(rows)
    metrics = [("ssim", 3), ("ms_ssim_2", 3), ("miou", 3), ("fd_seg", 1)]
    out = ["| method | SSIM | MS-SSIM (2 scales) | mIoU | fd_seg (lower is better) |", "|---|---|---|---|---|"]
    for m in METHODS:
        row = by.get((channel, m, 0.0))
        if row is not None:
            out.append(f"| {LABELS[m]} | " + " | ".join(_cell(*_stat(row, k), d) for k, d in metrics) + " |")
    return "\n".join(out)


def ablation(rows: list[dict], channel: str) -> str:
    """What the SFT adds over NGF per SNR (PSNR dB, SSIM), and MU-GSC's largest difference from GSC."""
    by = table_by(rows)
    cells, worst = [], 0.0
    for snr in _snrs(rows):
        g, n = by.get((channel, "gsc", snr)), by.get((channel, "ngf", snr))
        if g and n:
            cells.append(f"{snr:g} dB: {float(g['psnr']) - float(n['psnr']):+.2f} dB / {float(g['ssim']) - float(n['ssim']):+.3f}")
        mu = by.get((channel, "mu_gsc", snr))
        if g and mu:
            worst = max(worst, abs(float(mu["psnr"]) - float(g["psnr"])))
    times = [
        (float(by[(channel, "gsc", s)]["receiver_ms_per_image"]), float(by[(channel, "mu_gsc", s)]["receiver_ms_per_image"]))
        for s in _snrs(rows) if (channel, "gsc", s) in by and (channel, "mu_gsc", s) in by
    ]  # fmt: skip
    ratio = sum(b for _, b in times) / sum(a for a, _ in times) if times else math.nan
    return (
        f"SFT over NGF (PSNR / SSIM): {'; '.join(cells)}\n\n"
        f"MU-GSC vs GSC: largest PSNR difference {worst:.2e} dB; receiver time per image in the sweep "
        f"MU-GSC / GSC = {ratio:.2f} (the paper's Table I: {PAPER['runtime_ratio']:.2f}; `gscsim bench gsc` times it properly)"
    )


def jpeg_summary(rows: list[dict], channel: str) -> str:
    """Where JPEG + LDPC + 4-QAM delivers (fraction of frames) and its PSNR when it does."""
    by = table_by(rows)
    cells = []
    for snr in _snrs(rows):
        r = by.get((channel, "jpeg_ldpc_qpsk", snr))
        if r:
            cells.append(f"{snr:g} dB: {float(r['delivered']):.2f} delivered, {float(r['psnr']):.1f} dB")
    return "JPEG + LDPC 1/2 + 4-QAM: " + "; ".join(cells) + " (the paper: fails below 3 dB, saturates above 6 dB near 20 dB)"


def report(rows: list[dict], title: str) -> str:
    """Every table of one results file."""
    parts = [f"## {title}"]
    for channel, name in CHANNELS.items():
        if not any(r["link.channel.kind"] == channel for r in rows):
            continue
        parts += [f"### {name}", headline(rows, channel)]
        for metric, label, digits in (("psnr", "PSNR (dB)", 2), ("ssim", "SSIM", 3), ("ms_ssim_2", "MS-SSIM (2 scales at 32 px)", 3)):
            parts += [f"{label}:", metric_table(rows, channel, metric, digits)]
        parts += [
            "At 0 dB, in place of LPIPS (Fig. 5; the paper: LPIPS "
            f"{PAPER['lpips_0db'][channel]:+.2f}% vs DeepJSCC, not comparable):",
            zero_db_table(rows, channel), ablation(rows, channel), jpeg_summary(rows, channel),
        ]  # fmt: skip
    return "\n\n".join(parts)


def figure(rows: list[dict], path: str, holdout: list[dict] | None = None) -> None:
    """Fig. 4 a-b: PSNR vs SNR per channel (dashed: the holdout, when given)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    styles = {"gsc": "tab:red", "ngf": "tab:orange", "deepjscc": "tab:blue", "jpeg_ldpc_qpsk": "tab:green"}
    for ax, (channel, name) in zip(axes, CHANNELS.items()):
        for data, dash, tag in ((rows, "-", ""), (holdout, "--", " (val)")):
            if not data:
                continue
            by, snrs = table_by(data), _snrs(data)
            for method, colour in styles.items():
                ys = [_stat(by.get((channel, method, s)), "psnr")[0] for s in snrs]
                ax.plot(snrs, ys, dash, marker="o", color=colour, label=LABELS[method] + tag, markersize=3)
        ax.set_title(name)
        ax.set_xlabel("SNR (dB)")
        ax.set_ylabel("PSNR (dB)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle("GSC (Swin-JSCC + SFT) vs its NGF ablation, DeepJSCC and JPEG+LDPC+4QAM, CamVid 32 px, ratio 1/6")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def image_grid(path: str, data_dir: str | None = None, frame: int = 50, seed: int = 0) -> None:
    """Fig. 6: one CamVid val frame, NGF (top) and GSC (bottom) at SNR 0, 3, ..., 15 dB over AWGN, the original
    last in each row; pixels shown 4x."""
    import torch

    from bridges.jscc import SymbolLink
    from phy import CodeConfig, GridConfig, LinkConfig, channel_config, make_generator
    from semantic.data import load_camvid, resolve_data_dir
    from semantic.gsc import GscReceiver
    from semantic.jscc import load_jscc
    from semantic.pretrained import load_pretrained
    from semantic.receivers.sft import SemanticFineTuning

    from ..train.ddpm import save_image_grid

    images = load_camvid(resolve_data_dir(data_dir), "val", image_size=32)
    x = images[frame : frame + 1]
    codec = load_jscc("swinjscc-awgn-1_6")
    receiver = GscReceiver(codec, load_pretrained("sft-awgn-1_6", SemanticFineTuning), 32, 32)
    link_config = LinkConfig(grid=GridConfig(num_users=1, num_ofdm_symbols=16), channel=channel_config("awgn"),
                             code=CodeConfig(k=512, n=1024))  # fmt: skip
    link = SymbolLink(link_config, codec.num_symbols(32, 32))
    ngf, gsc = [], []
    with torch.no_grad():
        z = codec.encode(x)[:, None]
        for snr in (0.0, 3.0, 6.0, 9.0, 12.0, 15.0):
            received = link(z, snr, make_generator(seed))[0][:, 0]
            decoded = receiver.decode(received)
            ngf.append(decoded[0])
            gsc.append(receiver.refine(decoded, torch.randn(1, receiver.prior_dim, generator=make_generator(seed + 1)))[0])
    grid = torch.nn.functional.interpolate(torch.stack([*ngf, x[0], *gsc, x[0]]), scale_factor=4, mode="nearest")
    save_image_grid(grid, path, columns=7)  # 32 px shown 4x (nearest: every pixel as it is)


def training_figure(path: str, names: tuple[str, ...] = ("sft-awgn-1_6", "sft-rayleigh-1_6")) -> str:
    """Fig. 7: the SFT's loss per epoch, both stages, of the shipped models; returns a text summary."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from semantic.pretrained import training_info

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    lines = []
    for name in names:
        losses = training_info(name).get("losses", {})
        for ax, stage in zip(axes, ("stage1", "stage2")):
            curve = losses.get(stage, [])
            if curve:
                ax.plot([c[0] for c in curve], [c[1] for c in curve], label=name)
                first, last = curve[0][1], curve[-1][1]
                tenth = curve[max(0, len(curve) - 1 - len(curve) // 10)][1]
                lines.append(f"{name} {stage}: {len(curve)} epochs, loss {first:.4f} -> {last:.4f} "
                             f"(last 10% of epochs: {100 * (last / tenth - 1):+.1f}%)")  # fmt: skip
    for ax, title in zip(axes, ("stage 1: L1 (eq. 10)", "stage 2: L1 + L_diff (Alg. 1)")):
        ax.set_title(title)
        ax.set_xlabel("epoch (CamVid train frames)")
        ax.set_ylabel("training loss")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Command line (module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", help="results.csv of gsc_fig4.toml")
    parser.add_argument("--holdout", default=None, help="results.csv of gsc_fig4_val.toml (CamVid val)")
    parser.add_argument("--figure", default=None, help="write Fig. 4's panels here (PNG)")
    parser.add_argument("--grid", default=None, help="write Fig. 6's NGF / GSC image grid here (PNG; needs CamVid)")
    parser.add_argument("--training", default=None, help="write Fig. 7's SFT loss curves here (PNG)")
    parser.add_argument("--data-dir", default=None, help="CamVid folder for --grid; default $GSCSIM_DATA_DIR")
    args = parser.parse_args(argv)
    rows = read_rows(args.results)
    print(report(rows, f"{args.results} (CamVid train frames)"))
    holdout = read_rows(args.holdout) if args.holdout else None
    if holdout:
        print()
        print(report(holdout, f"{args.holdout} (holdout: CamVid val)"))
    if args.figure:
        figure(rows, args.figure, holdout)
        print("wrote", args.figure)
    if args.grid:
        image_grid(args.grid, args.data_dir)
        print("wrote", args.grid)
    if args.training:
        print(training_figure(args.training))
        print("wrote", args.training)
