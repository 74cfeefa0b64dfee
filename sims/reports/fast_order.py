"""FAST (seed 001): the ordering agent's learning curves (Fig. 6), its statistics (Fig. 7) and the
intervention-factor study (Fig. 11), next to the paper's statements.

- ``--curves NAME_OR_FOLDER ...``: Fig. 6, the mean episode return per PPO rollout vs episodes of
  each trained folder (``gscsim train fast-order``; default the shipped MPPO, PPO and random),
  and each one's return over the last 20% of its episodes and at the episode count all reached.
- ``--stats NAME_OR_FOLDER``: Fig. 7, a trained policy run deterministically once on every map
  of a split (default CamVid val): (a) the share of each attribute's units sent in each round,
  normalised by the attribute's units present (the paper's footnote 5: shares may sum past
  100%); (b) the attributes of the discarded units; (c) units per round; the share of requests
  that end with units discarded (the paper: 7.3%, mostly OTHERS); with ``--precision``, the
  precision and residual latency of its schedule against the fixed orders (runs the SDM).
- ``--fig11 results.csv``: precision vs w for each tau_e and window (``sims/configs/fast_fig11.toml``).

``--figure PATH`` draws what was asked (curves, stats and Fig. 11 panels side by side).

Run: ``gscsim report fast_order --curves --stats fast-order-mppo --fig11 results/fast_fig11/results.csv --figure f.png``
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from semantic.data import CAMVID_CLASSES, CAMVID_NUM_CLASSES, load_camvid
from semantic.units import CAMVID_ATTRIBUTES, UnitAttributes, present_units

from .nullspace_tables import read_rows

#: Folder of the shipped ordering policies.
POLICIES = Path(__file__).resolve().parents[1] / "fast" / "policies"
SHIPPED_CURVES = ("fast-order-mppo", "fast-order-ppo", "fast-order-random")
#: The paper's statements (Sec. V-A, V-C).
PAPER = {
    "fig6": "MPPO converges faster and higher than PPO without masks; random is flat and lowest",
    "fig7": "NOUNs first, VERBs in round 2, STYLE/ADJECTIVE in round 3, OTHERS late; many units in round 1, "
    "then about 2 (tau_d / tau_e) per round; 7.3% of requests end early, discarding mostly OTHERS",
    "fig11": "longer extraction latency wants a larger w; w = 4 chosen",
}


def policy_folder(name: str) -> Path:
    """A shipped policy name (``fast-order-mppo``) or a folder."""
    folder = Path(name)
    if (folder / "training.json").exists():
        return folder
    if (POLICIES / name / "training.json").exists():
        return POLICIES / name
    raise FileNotFoundError(f"no trained ordering policy {name!r} (shipped: {', '.join(sorted(p.name for p in POLICIES.iterdir()))})")


def curve_summary(folder: Path) -> dict:
    """The learning curve of one folder and its summary numbers."""
    info = json.loads((folder / "training.json").read_text())
    rows = info["curve"]
    steps = np.diff([0] + [r["episodes"] for r in rows])
    if len(rows) > 2 and steps[-1] < 0.5 * np.median(steps):
        rows = rows[:-1]  # a rollout cut short by the time budget (the shipped curves' last row)
    episodes = np.array([r["episodes"] for r in rows])
    returns = np.array([r["return"] for r in rows])
    tail = episodes >= 0.8 * episodes[-1]
    return {"name": folder.name, "agent": info["settings"]["agent"], "w": info["settings"]["w"], "episodes": episodes,
            "returns": returns, "precision": np.array([r["precision"] for r in rows]),
            "tail_return": float(returns[tail].mean()), "device": info["device"],
            "episodes_per_second": info["episodes_per_second"]}  # fmt: skip


def _at(summary: dict, count: int, window: int = 2048) -> float:
    """Mean return of the rollouts within ``window`` episodes before ``count``."""
    e, r = summary["episodes"], summary["returns"]
    near = (e <= count) & (e > count - window)
    return float(r[near].mean()) if near.any() else float("nan")


def report_curves(names: list[str]) -> list[dict]:
    """Print Fig. 6's table for the named folders; return their summaries."""
    summaries = [curve_summary(policy_folder(n)) for n in names]
    common = min(int(s["episodes"][-1]) for s in summaries)
    print(f"Fig. 6 (learning curves; the paper: {PAPER['fig6']})")
    print(f"{'policy':<24}{'agent':<8}{'w':>4}{'episodes':>10}{'first':>8}{f'at {common}':>10}{'last 20%':>10}{'ep/s':>8}  device")
    for s in summaries:
        print(f"{s['name']:<24}{s['agent']:<8}{s['w']:>4g}{int(s['episodes'][-1]):>10}{s['returns'][0]:>8.4f}"
              f"{_at(s, common):>10.4f}{s['tail_return']:>10.4f}{s['episodes_per_second']:>8.1f}  {s['device']}")  # fmt: skip
    return summaries


def policy_statistics(name: str, data_dir: str | None, split: str, count: int | None) -> dict:
    """Fig. 7's numbers of one policy on a split's maps (module docstring)."""
    from ..fast.schedules import policy_schedule
    from ..train.fast_order import load_order_policy

    policy, trained = load_order_policy(policy_folder(name))
    _, labels = load_camvid(data_dir, split, image_size=trained.image_size, num_images=count, labels=True)
    units = present_units(labels, CAMVID_NUM_CLASSES).numpy()
    attributes = UnitAttributes.from_groups(CAMVID_ATTRIBUTES, CAMVID_CLASSES)
    settings = trained.settings()
    out = policy_schedule(policy, units, attributes, settings, masked=trained.agent == "mppo")
    slot_attr = np.array(attributes.of_slot)
    rounds = settings.segments
    present_per_attr = np.array([(units & (slot_attr == j)).sum() for j in range(attributes.num_attributes)])
    share = np.zeros((rounds, attributes.num_attributes))
    per_round = np.zeros(rounds)
    for r in range(1, rounds + 1):
        sent = out["round"] == r
        per_round[r - 1] = sent.sum() / len(units)
        for j in range(attributes.num_attributes):
            share[r - 1, j] = (sent & (slot_attr == j)).sum() / max(present_per_attr[j], 1)
    discarded = units & (out["round"] == 0)
    discarded_attr = np.array([(discarded & (slot_attr == j)).sum() for j in range(attributes.num_attributes)])
    return {
        "names": attributes.names, "share": share, "units_per_round": per_round, "labels": labels, "units": units,
        "discarded_share": float(discarded.any(1).mean()), "discarded_by_attribute": discarded_attr,
        "residual": out["residual"], "arrival": out["arrival"], "settings": settings, "trained": trained,
        "units_per_map": float(units.sum(1).mean()),
    }  # fmt: skip


def report_stats(stats: dict) -> None:
    """Print Fig. 7's numbers (:func:`policy_statistics`)."""
    names = stats["names"]
    print(f"\nFig. 7 (policy statistics on {len(stats['units'])} maps, {stats['units_per_map']:.2f} units each; "
          f"the paper: {PAPER['fig7']})")  # fmt: skip
    print("(a) share of each attribute's units sent in round r")
    print(f"{'round':<7}" + "".join(f"{n:>9}" for n in names) + f"{'units':>8}")
    for r, row in enumerate(stats["share"], start=1):
        print(f"{r:<7}" + "".join(f"{v:>9.1%}" for v in row) + f"{stats['units_per_round'][r - 1]:>8.2f}")
    total = stats["discarded_by_attribute"].sum()
    print(f"(b) requests ending with units discarded: {stats['discarded_share']:.1%}; discarded units by attribute: "
          + ", ".join(f"{n} {c} ({c / max(total, 1):.0%})" for n, c in zip(names, stats["discarded_by_attribute"])))  # fmt: skip
    print(f"(c) residual latency: mean {stats['residual'].mean():.1f} steps (T_d = {stats['settings'].steps})")


def schedule_precision(stats: dict, data_dir: str | None, device: str) -> dict[str, tuple[float, float, float]]:
    """{schedule: (precision mean, its 95% half-width, residual latency)} of the policy and the fixed orders."""
    from ..fast.precision import ScdPrecision
    from ..fast.schedules import fixed_order_schedule
    from ..train.fast_order import build_env

    trained, labels, units, settings = stats["trained"], stats["labels"], stats["units"], stats["settings"]
    oracle = build_env(trained.model_copy(update={"device": device}), labels, device, num_envs=1).episodes.oracle
    assert isinstance(oracle, ScdPrecision)
    area = np.stack([(labels.clamp(max=CAMVID_NUM_CLASSES) == c).flatten(1).sum(1).numpy() for c in range(units.shape[1])], 1)
    per = max(1, int(settings.tau_d // settings.tau_e))
    schedules = {"policy": (stats["arrival"], stats["residual"]),
                 "largest first, 2/phase": fixed_order_schedule(units, area.astype(float), settings, per, per),
                 "smallest first, 2/phase": fixed_order_schedule(units, -area.astype(float), settings, per, per),
                 "conventional (all, then denoise)": (np.where(units, 0, 1 << 30), units.sum(1) * settings.tau_e)}  # fmt: skip
    out = {}
    index = np.arange(len(labels))
    for name, (arrival, residual) in schedules.items():
        p = oracle(index, arrival)
        out[name] = (float(p.mean()), float(1.96 * p.std(ddof=1) / np.sqrt(len(p))), float(np.mean(residual)))
    return out


def report_fig11(path: str) -> dict:
    """Print Fig. 11's table from a results.csv -> {(method, tau_e): {w: (mIoU, 95% half-width)}}."""
    rows = read_rows(path)
    table: dict[tuple[str, float], dict[float, tuple[float, float]]] = {}
    for r in rows:
        n = float(r["miou_n"])
        table.setdefault((r["method"], float(r["tau_e"])), {})[float(r["w"])] = (
            float(r["miou"]), 1.96 * float(r["miou_sd"]) / np.sqrt(n))  # fmt: skip
    print(f"\nFig. 11 (precision = mIoU vs w; the paper: {PAPER['fig11']})")
    ws = sorted({w for v in table.values() for w in v})
    print(f"{'window':<20}{'tau_e':>6}" + "".join(f"{f'w={w:g}':>9}" for w in ws) + f"{'best w':>8}")
    for (method, tau), values in sorted(table.items()):
        best = max(values, key=lambda w: values[w][0])
        print(f"{method:<20}{tau:>6g}" + "".join(f"{values[w][0]:>9.4f}" for w in ws) + f"{best:>8g}")
    half = max(h for v in table.values() for _, h in v.values())
    print(f"(95% half-widths up to {half:.4f}; every point shares x_T per map, so differences are paired)")
    return table


def draw(path: str, curves: list[dict] | None, stats: dict | None, fig11: dict | None) -> None:
    """One PNG with a panel per part asked for (Fig. 6, Fig. 7a and 7c, Fig. 11)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [p for p in (curves, stats, stats, fig11) if p is not None]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.6), squeeze=False)
    axes = list(axes[0])
    if curves is not None:
        ax = axes.pop(0)
        for s in curves:
            ax.plot(s["episodes"], s["returns"], label=f"{s['agent'].upper()}" + (f" (w={s['w']:g})" if s["w"] else ""))
        ax.set(xlabel="episodes", ylabel="mean episode return", title="Fig. 6: learning curves")
        ax.legend(fontsize=8)
    if stats is not None:
        ax = axes.pop(0)
        rounds = np.arange(1, len(stats["share"]) + 1)
        width = 0.8 / len(stats["names"])
        for j, name in enumerate(stats["names"]):
            ax.bar(rounds + (j - len(stats["names"]) / 2 + 0.5) * width, 100 * stats["share"][:, j], width, label=name)
        ax.set(xlabel="round", ylabel="% of the attribute's units", title="Fig. 7a: attribute share per round")
        ax.legend(fontsize=7)
        ax = axes.pop(0)
        ax.bar(rounds, stats["units_per_round"])
        ax.set(xlabel="round", ylabel="units per request", title="Fig. 7c: units per round")
    if fig11 is not None:
        ax = axes.pop(0)
        for (method, tau), values in sorted(fig11.items()):
            ws = sorted(values)
            style = "-" if method == "scd" else "--"
            ax.errorbar(ws, [values[w][0] for w in ws], [values[w][1] for w in ws], ls=style, marker="o", ms=3,
                        capsize=2, label=f"tau_e={tau:g}, {'until next' if method == 'scd' else 'arrival step'}")  # fmt: skip
        ax.set(xlabel="intervention factor w", ylabel="precision (mIoU)", title="Fig. 11: precision vs w")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"figure written to {path}")


def main(argv: list[str] | None = None) -> None:
    """Command line (module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--curves", nargs="*", default=None, help="trained folders or shipped names (default: the shipped three)")
    parser.add_argument("--stats", default=None, help="a trained policy for Fig. 7 (e.g. fast-order-mppo)")
    parser.add_argument("--split", default="val", choices=["train", "val"])
    parser.add_argument("--count", type=int, default=None, help="maps of the split (default: all)")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--precision", action="store_true", help="also score the policy's schedule against fixed orders (runs the SDM)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--fig11", default=None, help="results.csv of sims/configs/fast_fig11.toml")
    parser.add_argument("--figure", default=None)
    args = parser.parse_args(argv)
    curves = report_curves(args.curves or list(SHIPPED_CURVES)) if args.curves is not None else None
    stats = None
    if args.stats:
        stats = policy_statistics(args.stats, args.data_dir, args.split, args.count)
        report_stats(stats)
        if args.precision:
            print("precision of the schedules (the policy's receiver; 95% half-widths):")
            for name, (mean, half, residual) in schedule_precision(stats, args.data_dir, args.device).items():
                print(f"  {name:<34} precision {mean:.4f} +- {half:.4f}, residual latency {residual:.1f} steps")
    fig11 = report_fig11(args.fig11) if args.fig11 else None
    if args.figure:
        draw(args.figure, curves, stats, fig11)


if __name__ == "__main__":
    main()
