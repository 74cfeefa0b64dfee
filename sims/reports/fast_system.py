"""FAST (seed 001) part 2: Fig. 10 (allocation learning curves) and Fig. 12 (the system comparison).

- ``--curves FOLDER ...``: folders of ``gscsim train fast-bandwidth`` (PPO seeds and the two
  baselines, at each bandwidth): per bandwidth and agent, the mean return over the last 20% of
  episodes (mean and spread over the seeds given), and whether the paper's ordering holds
  (PPO > importance > random; the paper: 15-16 vs < 12 vs < 6 in (a), 18-19 vs ~15 vs ~13 in (b)).
- ``--fig12``: the five schemes on the same ``--episodes`` drops of K users requesting CamVid
  val maps at ``--bandwidth``: conventional GSC (everything extracted, sent, then denoised),
  the sequential baseline (largest class first, floor(tau_d / tau_e) per phase, importance
  allocation, w = 0), + ordering (the shipped MPPO), + allocation (each ``--allocation`` PPO
  folder), + SCD (w = ``--w``, window ``--window``): importance-weighted precision (mIoU),
  residual latency (steps and ms) and efficiency (per user precision / residual latency,
  weighted), next to the paper's: ordering + allocation -21% residual latency and +29% precision
  vs the sequential baseline, SCD +8% precision, FAST's efficiency about 1.6x conventional GSC.

- ``--plot PATH`` (with ``--curves``): Fig. 10 as a figure (mean and range over the seeds).
- ``--breakdown --allocation DIR ...``: per user, the units that made it into the condition and
  the residual latency, importance rule vs each PPO folder (:func:`unit_breakdown`; no SDM).
- ``--load 2000,32000``: how binding each bandwidth is (:func:`load_check`).

Run: ``gscsim report fast_system --curves results/train/fast-bandwidth-* --fig12 --allocation DIR [DIR ...]``
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

PAPER = {"residual": -21.0, "precision": 29.0, "scd_precision": 8.0, "efficiency_vs_conventional": 1.6,
         "fig10": "(a) PPO 15-16 > importance < 12 > random < 6; (b) PPO 18-19 > importance ~15 > random ~13"}  # fmt: skip


def curves_table(folders: list[str]) -> dict:
    """{(bandwidth, agent): [last-20% mean return per run]} and a printed table."""
    runs: dict[tuple[float, str], list[float]] = {}
    for folder in folders:
        info = json.loads((Path(folder) / "training.json").read_text())
        rows = info["curve"]
        if not rows:
            continue
        last = rows[-1]["episodes"]
        tail = [r["return"] for r in rows if r["episodes"] >= 0.8 * last]
        runs.setdefault((info["settings"]["bandwidth_hz"], info["settings"]["agent"]), []).append(float(np.mean(tail)))
    print(f"Fig. 10 (mean return, last 20% of episodes; the paper: {PAPER['fig10']})")
    for bandwidth in sorted({b for b, _ in runs}):
        cells = {a: runs[(bandwidth, a)] for b, a in runs if b == bandwidth}
        text = ", ".join(f"{a} {np.mean(v):.2f}" + (f" +- {np.std(v, ddof=1):.2f} ({len(v)} seeds)" if len(v) > 1 else "")
                         for a, v in sorted(cells.items(), key=lambda kv: -np.mean(kv[1])))  # fmt: skip
        order = [a for a, _ in sorted(cells.items(), key=lambda kv: -np.mean(kv[1]))]
        print(f"  B = {bandwidth:g} Hz: {text}; ordering {' > '.join(order)}")
    return runs


def plot_curves(folders: list[str], path: str) -> None:
    """Fig. 10: return per episode (rollout means) of each agent, one panel per bandwidth; a
    learning agent's line is the mean over the seeds given (on a common episode grid), the band
    their range; a fixed rule's is its mean return, dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs: dict[tuple[float, str], list[list[dict]]] = {}
    for folder in folders:
        info = json.loads((Path(folder) / "training.json").read_text())
        if info["curve"]:
            runs.setdefault((info["settings"]["bandwidth_hz"], info["settings"]["agent"]), []).append(info["curve"])
    bandwidths = sorted({b for b, _ in runs})
    fig, axes = plt.subplots(1, len(bandwidths), figsize=(5 * len(bandwidths), 3.6), squeeze=False)
    for ax, bandwidth, panel in zip(axes[0], bandwidths, "abcdef"):
        for (b, agent), curves in sorted(runs.items()):
            if b != bandwidth:
                continue
            if agent != "ppo":  # a fixed rule does not learn: its mean return over all its episodes, across the panel
                mean = np.mean([r["return"] for c in curves for r in c])
                episodes = sum(c[-1]["episodes"] for c in curves)
                ax.axhline(mean, ls="--", color="tab:gray" if agent == "random" else "tab:orange",
                           label=f"{agent} (mean of {episodes} episodes)")  # fmt: skip
                continue
            grid = np.linspace(max(c[0]["episodes"] for c in curves), min(c[-1]["episodes"] for c in curves), 60)
            values = np.stack([np.interp(grid, [r["episodes"] for r in c], [r["return"] for r in c]) for c in curves])
            line = ax.plot(grid, values.mean(0), label=f"{agent} ({len(curves)} seeds)")[0]
            ax.fill_between(grid, values.min(0), values.max(0), color=line.get_color(), alpha=0.2)
        ax.set(title=f"({panel}) B = {bandwidth / 1e3:g} kHz", xlabel="episodes", ylabel="return (eqs. (12)-(14))")
        ax.legend(fontsize=8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


def load_check(bandwidths: list[float], data_dir, drops: int = 64, num_maps: int = 367) -> dict[float, tuple[float, float]]:
    """How binding each bandwidth is (the issue's criterion for Fig. 10's two): under the importance
    baseline, the mean over slots with a queue of units delivered / units queued, and the share of
    those slots that empty every queue. Shaping reward only (no SDM)."""
    from ..fast.bandwidth_env import importance_shares
    from ..train.fast_bandwidth import FastBandwidthTrainConfig, build_episodes

    out = {}
    for bandwidth in bandwidths:
        config = FastBandwidthTrainConfig(agent="importance", bandwidth_hz=bandwidth, reward="shaping", data_dir=data_dir,
                                          num_maps=num_maps)  # fmt: skip
        episodes = build_episodes(config, "cpu", num_envs=drops)
        episodes.reset(np.ones(drops, bool))
        ratios, finished = [], np.zeros(drops, bool)
        while not finished.all():
            queued = (episodes.queued() & episodes.active()[..., None]).sum((1, 2))
            before = episodes.sent.sum(-1)
            _, done, _ = episodes.step(importance_shares(episodes))
            live = (queued > 0) & ~finished
            ratios.extend((episodes.sent.sum(-1) - before)[live] / queued[live])
            finished |= done
        out[bandwidth] = (float(np.mean(ratios)), float(np.mean(np.array(ratios) >= 1)))
        print(f"B = {bandwidth:g} Hz: the importance baseline delivers {out[bandwidth][0]:.0%} of the queued units "
              f"per slot; {out[bandwidth][1]:.0%} of the slots empty every queue ({drops} drops)")  # fmt: skip
    return out


def run_drops(episodes, allocation) -> list[dict]:
    """The first episode of each of ``episodes.E`` slots (one drop each) under ``allocation`` (a
    loaded PPO policy, deterministic; None: the importance rule) -> their end-of-episode infos."""
    from ..fast.bandwidth_env import importance_shares, softmax

    episodes.reset(np.ones(episodes.E, bool))
    results: list[dict | None] = [None] * episodes.E
    while any(r is None for r in results):
        if allocation is None:
            shares = importance_shares(episodes)
        else:
            actions, _ = allocation.predict(episodes.observations(), deterministic=True)
            shares = softmax(np.clip(actions, -5, 5))
        _, done, infos = episodes.step(shares)
        for e in np.flatnonzero(done):
            if results[e] is None:
                results[e] = infos[e]
        episodes.reset(done)
    return results


def unit_breakdown(allocations: list[str], bandwidth: float, data_dir, drops: int = 64, num_maps: int = 101) -> dict:
    """Per user (omega order): units in the receiver's condition (delivered before the last segment
    boundary), units extracted, residual latency (steps), under the importance rule and each PPO
    folder, on ``drops`` drops of CamVid val (no SDM: the schedule alone) -> {name: (in, extracted, residual)}."""
    from semantic.receivers.scd import NEVER

    from ..train.fast_bandwidth import (
        FastBandwidthTrainConfig,
        build_episodes,
        load_bandwidth_policy,
    )

    base = FastBandwidthTrainConfig(agent="importance", bandwidth_hz=bandwidth, split="val", num_maps=num_maps,
                                    reward="shaping", data_dir=data_dir, seed=12345)  # fmt: skip
    out = {}
    for name in ["importance", *allocations]:
        policy = None if name == "importance" else load_bandwidth_policy(name)[0]
        results = run_drops(build_episodes(base, "cpu", num_envs=drops), policy)
        used = np.stack([(r["arrival"] < NEVER).sum(-1) for r in results]).mean(0)
        extracted = np.stack([r["extracted"] for r in results]).mean(0)
        residual = np.stack([r["residual_steps"] for r in results]).mean(0)
        out[name] = (used, extracted, residual)
        print(f"{Path(name).name}: units in the condition {np.round(used, 1).tolist()} of {np.round(extracted, 1).tolist()} "
              f"extracted; residual steps {np.round(residual, 1).tolist()} (users by omega {base.importance})")  # fmt: skip
    return out


def evaluate(config, allocation, count: int, device: str, oracles: dict | None = None) -> dict:
    """One scheme on ``count`` drops -> per-episode weighted precision, residual (steps), efficiency.
    ``oracles``: shared precision oracles (:func:`sims.train.fast_bandwidth.build_episodes`)."""
    from ..train.fast_bandwidth import build_episodes

    episodes = build_episodes(config, device, num_envs=count, oracles=oracles)
    results = run_drops(episodes, allocation)
    omega = episodes.importance / episodes.importance.sum()
    precision = np.array([(omega * r["precision"]).sum() for r in results])
    residual = np.array([(omega * r["residual_steps"]).sum() for r in results])
    efficiency = np.array([(omega * r["precision"] / np.maximum(r["residual_steps"], 1e-9)).sum() for r in results])
    return {"precision": precision, "residual": residual, "efficiency": efficiency, "step_ms": config.step_ms}


def fig12(allocations: list[str], count: int, bandwidth: float, w: float, window: str, data_dir, device: str,
          num_maps: int = 101, model: str = "camvid-sdm-partial-32") -> dict:  # fmt: skip
    """The five schemes (module docstring) -> {scheme: evaluate(...)}; printed with the paper's numbers."""
    from ..train.fast_bandwidth import FastBandwidthTrainConfig, load_bandwidth_policy

    base = FastBandwidthTrainConfig(agent="importance", bandwidth_hz=bandwidth, split="val", num_maps=num_maps,
                                    data_dir=data_dir, seed=12345, device=device, w=0.0, model=model)  # fmt: skip
    schemes = {"conventional GSC": (base.model_copy(update={"ordering": "conventional"}), None),
               "sequential baseline": (base.model_copy(update={"ordering": "area"}), None),
               "+ ordering": (base, None)}  # fmt: skip
    for folder in allocations:
        policy, trained = load_bandwidth_policy(folder)
        if trained.bandwidth_hz != bandwidth:
            raise ValueError(f"{folder} was trained at B = {trained.bandwidth_hz:g} Hz, not {bandwidth:g}")
        schemes[f"+ allocation (seed {trained.seed})"] = (base, policy)
        schemes[f"+ SCD (seed {trained.seed})"] = (base.model_copy(update={"w": w, "window": window}), policy)
    if not allocations:  # no trained allocation yet: SCD on top of the ordering, importance allocation
        schemes["+ SCD (importance allocation)"] = (base.model_copy(update={"w": w, "window": window}), None)
    oracles: dict = {}  # schemes with the same receiver share its chain prefixes (the same drops and x_T)
    out = {name: evaluate(config, policy, count, device, oracles) for name, (config, policy) in schemes.items()}
    step_ms = base.step_ms
    print(f"\nFig. 12 ({count} drops of K = {len(base.importance)} users, CamVid val, B = {bandwidth:g} Hz; importance-weighted)")
    print(f"{'scheme':<28}{'precision':>11}{'residual (steps)':>18}{'(ms)':>8}{'efficiency':>12}")
    for name, r in out.items():
        half = 1.96 * r["precision"].std(ddof=1) / np.sqrt(count) if count > 1 else float("nan")
        print(f"{name:<28}{r['precision'].mean():>8.4f}+-{half:.3f}{r['residual'].mean():>12.1f}"
              f"{r['residual'].mean() * step_ms:>12.0f}{r['efficiency'].mean():>12.4f}")  # fmt: skip

    def mean_of(prefix):
        rows = [r for n, r in out.items() if n.startswith(prefix)]
        return {k: float(np.mean([r[k].mean() for r in rows])) for k in ("precision", "residual", "efficiency")} if rows else None

    seq, alloc, scd, conv = mean_of("sequential"), mean_of("+ allocation"), mean_of("+ SCD"), mean_of("conventional")
    ordering = mean_of("+ ordering")
    print(f"ordering alone vs the sequential baseline: residual {100 * (ordering['residual'] / seq['residual'] - 1):+.0f}%, "
          f"precision {100 * (ordering['precision'] / seq['precision'] - 1):+.1f}%; conventional GSC: residual "
          f"{conv['residual']:.1f} steps, precision {conv['precision']:.4f}")  # fmt: skip
    if scd and not alloc:
        print(f"SCD (w = {w:g}, {window}) on the ordering with importance allocation: precision "
              f"{100 * (scd['precision'] / ordering['precision'] - 1):+.1f}% (paper {PAPER['scd_precision']:+.0f}%)")  # fmt: skip
    if alloc and scd:
        print(f"ordering + allocation vs the sequential baseline: residual {100 * (alloc['residual'] / seq['residual'] - 1):+.0f}% "
              f"(paper {PAPER['residual']:+.0f}%), precision {100 * (alloc['precision'] / seq['precision'] - 1):+.0f}% "
              f"(paper {PAPER['precision']:+.0f}%); SCD adds {100 * (scd['precision'] / alloc['precision'] - 1):+.1f}% precision "
              f"(paper {PAPER['scd_precision']:+.0f}%); FAST efficiency / conventional {scd['efficiency'] / conv['efficiency']:.2f}x "
              f"(paper ~{PAPER['efficiency_vs_conventional']}x)")  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> None:
    """Command line (module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--curves", nargs="*", default=None, help="fast-bandwidth training folders")
    parser.add_argument("--plot", default=None, help="with --curves: write Fig. 10 here (PNG)")
    parser.add_argument("--load", default=None, help="bandwidths (Hz, comma-separated) to check how binding they are")
    parser.add_argument("--fig12", action="store_true")
    parser.add_argument("--allocation", nargs="*", default=[], help="trained PPO allocation folders (seeds)")
    parser.add_argument("--breakdown", action="store_true", help="per-user units and latency of each --allocation vs importance")
    parser.add_argument("--episodes", type=int, default=8, help="drops per scheme")
    parser.add_argument("--bandwidth", type=float, default=2000.0)
    parser.add_argument("--w", type=float, default=2.0, help="FAST's SCD intervention factor")
    parser.add_argument("--window", default="arrival_step", choices=["until_next", "arrival_step"])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--num-maps", type=int, default=101, help="val maps the users request")
    parser.add_argument("--model", default="camvid-sdm-partial-32")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    if args.load:
        load_check([float(b) for b in args.load.split(",")], args.data_dir)
    if args.curves:
        curves_table(args.curves)
        if args.plot:
            plot_curves(args.curves, args.plot)
    if args.breakdown:
        unit_breakdown(args.allocation, args.bandwidth, args.data_dir)
    if args.fig12:
        fig12(args.allocation, args.episodes, args.bandwidth, args.w, args.window, args.data_dir, args.device,
              args.num_maps, args.model)


if __name__ == "__main__":
    main()
