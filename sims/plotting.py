"""Figures written by the command line (PNG, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from phy.theory import qam_ber  # noqa: E402

__all__ = ["plot_ber"]

_AXIS_LABELS = {"ebno_db": "$E_b/N_0$ [dB]", "snr_db": "SNR per RE [dB]", "tx_power_dbm": "$P_T$ [dBm]"}


def _theory_channel(config) -> str | None:
    """Which closed form of uncoded QAM applies to this link, if any (flat marginals, no budget)."""
    if config.sweep.axis == "tx_power_dbm":
        return None
    return {"awgn": "awgn", "rayleigh_block": "rayleigh", "rayleigh_iid": "rayleigh"}.get(
        config.link.channel.kind
    )


def plot_ber(rows: list[dict], config, path: Path) -> None:
    """BER and BLER against the swept axis, with confidence bars; closed form when known."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    x = np.array([r["value"] for r in rows], dtype=float)
    for ax, metric in zip(axes, ("ber", "bler")):
        y = np.array([r[metric] for r in rows], dtype=float)
        lo = np.array([r[f"{metric}_ci_low"] for r in rows], dtype=float)
        hi = np.array([r[f"{metric}_ci_high"] for r in rows], dtype=float)
        shown = y > 0
        ax.errorbar(
            x[shown], y[shown], yerr=[y[shown] - lo[shown], hi[shown] - y[shown]],
            marker="o", capsize=3, label=f"simulated ({config.monte_carlo.confidence:.0%} CI)",
        )  # fmt: skip
        channel = _theory_channel(config)
        if metric == "ber" and channel and len(rows):
            uncoded = config.link.code.kind == "uncoded"
            if uncoded or config.sweep.axis == "snr_db":
                offset = rows[0]["snr_db"] - rows[0]["value"]  # axis -> SNR per RE of this link
            else:  # uncoded reference at the same Eb/N0
                offset = 10 * np.log10(config.link.bits_per_symbol)
            xs = np.linspace(x.min(), x.max(), 200)
            label = "closed form" if uncoded else "uncoded, closed form"
            ax.plot(xs, qam_ber(xs + offset, config.link.bits_per_symbol, channel), "k--", label=label)
        ax.set_yscale("log")
        ax.set_xlabel(_AXIS_LABELS[config.sweep.axis])
        ax.set_ylabel(metric.upper())
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    link = config.link
    code = "uncoded" if link.code.kind == "uncoded" else f"LDPC ({link.code.n},{link.code.k})"
    fig.suptitle(
        f"{link.modulation.upper()}, {code}, {link.channel.kind}, K={link.grid.num_users} users"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
