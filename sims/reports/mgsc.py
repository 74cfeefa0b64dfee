"""M-GSC's decoding offloading (Yang et al., seed 003, Section IV, Fig. 6) beside the paper's claims.

- ``--models`` (default on): Fig. 6 left from the shipped box DDPMs' ``training.json``: each
  model's training loss as logged (the *naive* comparison: the cluster model only ever sees
  t >= 350, where epsilon-MSE is low for every model) and the local models' loss on those
  timesteps only (the *fair* one), and every model's held-out loss per scene on both ranges
  with the same noise draws.
- ``--offload CSV`` (``mgsc_fig6_offload.toml``): Fig. 6 middle: quality and latency per
  offloaded steps s (the paper: s = 350 gives better quality than 650 but longer latency).
- ``--snr CSV`` (``mgsc_fig6_snr.toml``): Fig. 6 right: box IoU and quality vs SNR, split
  scheme vs Swin-JSCC (the paper: generative SemCom has higher quality, and much higher
  IoU at low SNR), and the bits each sends.
- ``--plot DIR``: the three panels as PNGs.

Substitutes (no UA-DETRAC, YOLOv5 or LPIPS here): CamVid's train sequences are the scenes,
``box_iou`` / ``mask_iou`` from the shipped segmenter stand for YOLO's IoU, SSIM / MS-SSIM /
``fd_seg`` for LPIPS. Means are shown with 95% half-widths over frames (and seeds).

Run: ``gscsim report mgsc [--offload CSV] [--snr CSV] [--plot DIR]``
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from semantic.pretrained import training_info as _training_info
from semantic.scenes import CAMVID_SEQUENCES

from .gsc import _cell, _stat
from .nullspace_tables import read_rows

LOCAL_MODELS = tuple(f"camvid-boxddpm-{s.lower()}-32" for s in CAMVID_SEQUENCES)
CLUSTER_MODELS = ("camvid-boxddpm-cluster-32", "camvid-boxddpm-cluster-fedavg-32")
QUALITY = ("psnr", "ssim", "ms_ssim_2", "miou", "fd_seg", "box_iou", "mask_iou")


def training_info(name: str) -> dict:
    """A model's training.json, {} when the model is not there (not trained or shipped yet)."""
    try:
        return _training_info(name)
    except FileNotFoundError:
        return {}


def _last(losses: list, column: int, fraction: float = 0.1) -> float:
    tail = losses[-max(1, int(len(losses) * fraction)) :]
    return sum(row[column] for row in tail) / len(tail)


def models_report(names: tuple[str, ...] = LOCAL_MODELS + CLUSTER_MODELS) -> str:
    """Fig. 6 left in numbers: training losses (naive / fair) and held-out losses per scene."""
    lines = [
        "## Fig. 6 left: loss of the cluster-wide vs the local models",
        "",
        "| model | trained on t in | frames | steps | final train loss (own t range) | final train loss, t >= 350 | "
        + " | ".join(f"held-out {s} all t / t >= 350" for s in CAMVID_SEQUENCES) + " |",
        "|---" * (6 + len(CAMVID_SEQUENCES)) + "|",
    ]  # fmt: skip
    for name in names:
        info = training_info(name)
        if not info:
            lines.append(f"| {name} | (not found) |")
            continue
        losses, held = info["losses"], info["held_out_loss"]
        cells = [f"{held[s]['all']:.4f} / {held[s]['high']:.4f}" for s in CAMVID_SEQUENCES]
        lines.append(
            f"| {name} | [{info['min_timestep']}, 1000) | {info['frames']} | {info['train']['steps']} | "
            f"{_last(losses, 1):.4f} | {_last(losses, 2):.4f} | " + " | ".join(cells) + " |"
        )
    lines += ["", "Train losses: mean of the last 10% of the logged windows. Held-out: each scene's held-out tail, "
              "8 fixed (noise, t) draws per frame, the same for every model."]  # fmt: skip
    return "\n".join(lines)


def offload_report(rows: list[dict]) -> str:
    """Fig. 6 middle: one line per (method, s)."""
    lines = [
        "## Fig. 6 middle: offloaded steps s, noiseless hop",
        "",
        "| method | s | edge / user steps | " + " | ".join(QUALITY) + " | latency (s) |",
        "|---" * (4 + len(QUALITY)) + "|",
    ]
    keys = sorted({(r["method"], int(r["offload_steps"])) for r in rows})
    for method, s in keys:
        group = [r for r in rows if r["method"] == method and int(r["offload_steps"]) == s]
        row = _pool(group)
        cells = [_cell(*_stat(row, m), 3 if m not in ("psnr", "fd_seg") else 2) for m in QUALITY]
        user = float(row["user_steps"])
        lines.append(
            f"| {method} | {s} | {row['edge_steps']} / {user:g} | " + " | ".join(cells)
            + f" | {_cell(*_stat(row, 'latency_s'), 3)} |"
        )  # fmt: skip
    ref = _pool(rows)
    lines += ["", f"On the original frames: box_iou {_cell(*_stat(ref, 'box_iou_reference'), 3)}, "
              f"mask_iou {_cell(*_stat(ref, 'mask_iou_reference'), 3)}, miou {_cell(*_stat(ref, 'miou_reference'), 3)}; "
              f"user time per image-step {float(ref['t_user_ms']):.2f} ms (measured), edge twice as fast."]  # fmt: skip
    return "\n".join(lines)


def _pool(group: list[dict]) -> dict:
    """One row from several seeds' rows: means and SDs pooled by their counts."""
    if len(group) == 1:
        return group[0]
    out = dict(group[0])
    for key in group[0]:
        if not key.endswith("_n") or key[:-2] not in group[0]:
            continue
        m = key[:-2]
        parts = [(float(r[m]), float(r[f"{m}_sd"]) if r.get(f"{m}_sd") not in ("", "nan", None) else 0.0, int(r[key]))
                 for r in group if r.get(m)]  # fmt: skip
        n = sum(p[2] for p in parts)
        if not n:
            continue
        mean = sum(p[0] * p[2] for p in parts) / n
        ss = sum((p[2] - 1) * p[1] ** 2 + p[2] * (p[0] - mean) ** 2 for p in parts)
        out[m], out[f"{m}_sd"], out[key] = str(mean), str(math.sqrt(ss / max(1, n - 1))), str(n)
    return out


def snr_report(rows: list[dict]) -> str:
    """Fig. 6 right: box IoU, SSIM and fd_seg per method and SNR, and the bits."""
    snrs = sorted({float(r["snr_db"]) for r in rows})
    methods = list(dict.fromkeys(r["method"] for r in rows))
    by = {key: _pool([r for r in rows if (r["method"], float(r["snr_db"])) == key])
          for key in {(r["method"], float(r["snr_db"])) for r in rows}}  # fmt: skip
    lines = ["## Fig. 6 right: vs SNR of the edge-user hop (AWGN)"]
    for metric, digits in (("box_iou", 3), ("mask_iou", 3), ("ssim", 3), ("fd_seg", 1), ("user_steps", 1), ("latency_s", 3)):
        if not any(by[(m, s)].get(metric) for m in methods for s in snrs if (m, s) in by):
            continue
        lines += ["", f"{metric}:", "", "| method | " + " | ".join(f"{s:g} dB" for s in snrs) + " |", "|---" * (1 + len(snrs)) + "|"]
        for m in methods:
            lines.append(f"| {m} | " + " | ".join(_cell(*_stat(by.get((m, s)), metric), digits) for s in snrs) + " |")
    lines += ["", "What each sends per frame:", "", "| method | resource elements (complex) | digital bits |", "|---|---|---|"]
    for m in methods:
        row = by[(m, snrs[0])]
        bits = f"{float(row['box_bits']):.1f} (boxes + 16 power bits)" if row.get("box_bits") else "0"
        lines.append(f"| {m} | {row['channel_uses']} | {bits} |")
    return "\n".join(lines)


def plots(folder: str, offload: list[dict] | None, snr: list[dict] | None) -> list[str]:
    """Fig. 6's panels as PNGs in ``folder``; returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out, written = Path(folder), []
    out.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for name in LOCAL_MODELS + CLUSTER_MODELS:
        info = training_info(name)
        if not info:
            continue
        steps = [row[0] for row in info["losses"]]
        label = name.removeprefix("camvid-boxddpm-").removesuffix("-32")
        style = "-" if name in CLUSTER_MODELS else "--"
        axes[0].plot(steps, [row[1] for row in info["losses"]], style, label=label)
        axes[1].plot(steps, [row[2] for row in info["losses"]], style, label=label)
    axes[0].set_title("naive: each model's own t range")
    axes[1].set_title("fair: t >= 350 only")
    for ax in axes:
        ax.set_xlabel("optimiser step")
        ax.set_ylabel("epsilon-MSE (training)")
        ax.set_yscale("log")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    written.append(str(out / "mgsc_fig6_left.png"))
    fig.savefig(written[-1], dpi=120)
    plt.close(fig)
    if offload:
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
        for method in dict.fromkeys(r["method"] for r in offload):
            ss = sorted({int(r["offload_steps"]) for r in offload if r["method"] == method})
            pooled = [_pool([r for r in offload if r["method"] == method and int(r["offload_steps"]) == s]) for s in ss]
            for ax, metric in zip(axes, ("box_iou", "ssim", "latency_s")):
                stats = [_stat(p, metric) for p in pooled]
                ax.errorbar(ss, [m for m, _ in stats], yerr=[h for _, h in stats], marker="o", capsize=3, label=method)
                ax.set_xlabel("offloaded steps s")
                ax.set_ylabel(metric)
        axes[0].legend(fontsize=7)
        fig.tight_layout()
        written.append(str(out / "mgsc_fig6_middle.png"))
        fig.savefig(written[-1], dpi=120)
        plt.close(fig)
    if snr:
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
        for method in dict.fromkeys(r["method"] for r in snr):
            xs = sorted({float(r["snr_db"]) for r in snr if r["method"] == method})
            rows = [_pool([r for r in snr if r["method"] == method and float(r["snr_db"]) == x]) for x in xs]
            for ax, metric in zip(axes, ("box_iou", "ssim", "fd_seg")):
                stats = [_stat(r, metric) for r in rows]
                ax.errorbar(xs, [m for m, _ in stats], yerr=[h for _, h in stats],
                            marker="o", capsize=3, label=method)  # fmt: skip
                ax.set_xlabel("SNR (dB)")
                ax.set_ylabel(metric)
        axes[0].legend(fontsize=7)
        fig.tight_layout()
        written.append(str(out / "mgsc_fig6_right.png"))
        fig.savefig(written[-1], dpi=120)
        plt.close(fig)
    return written


def main(argv: list[str] | None = None) -> None:
    """Command line (module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--offload", default=None, help="results.csv of mgsc_fig6_offload.toml")
    parser.add_argument("--snr", default=None, help="results.csv of mgsc_fig6_snr.toml")
    parser.add_argument("--plot", default=None, help="folder for the Fig. 6 panels (PNG)")
    args = parser.parse_args(argv)
    offload = read_rows(args.offload) if args.offload else None
    snr = read_rows(args.snr) if args.snr else None
    print(models_report())
    if offload:
        print()
        print(offload_report(offload))
    if snr:
        print()
        print(snr_report(snr))
    if args.plot:
        for path in plots(args.plot, offload, snr):
            print("wrote", path)
