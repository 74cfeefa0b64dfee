"""Loss curves of the shipped DeepJSCC models: is each trained to convergence?

For every ``deepjscc-*`` model (or those named), prints the training loss (MSE on
[0, 1] pixels, the mean over each logging window) at a few steps, the SNR range
it was trained over, and the relative change of the mean loss over the last 10%
of its steps against the 10% before (a model still falling by more than a few
percent there was stopped early). A fine-tuned model (``--init``) lists the curve of the model it started
from first, then its own, with the steps counted on.

Run: ``gscsim report jscc_training [NAME ...]``
"""

from __future__ import annotations

import argparse

from semantic.pretrained import shipped_models, training_info


def curve(info: dict) -> list[tuple[int, float, str]]:
    """(step, loss, SNR range) over the whole history of a model, oldest first."""
    parts = []
    while info:
        parts.append(info)
        info = info.get("init_training") or {}
    points, offset = [], 0
    for part in reversed(parts):
        snr = "{:g}..{:g} dB".format(*part["train"]["snr_db"])
        for step, loss in part["losses"]:
            points.append((offset + int(step), float(loss), snr))
        offset += int(part["train"]["steps"])
    return points


def summary(name: str) -> str:
    """One Markdown row: name, steps, SNR ranges, loss at 25/50/75/100% of the steps, last-10% change."""
    points = curve(training_info(name))
    if not points:
        return f"| {name} | no training.json | | | |"
    total = points[-1][0]
    at = lambda share: min(points, key=lambda p: abs(p[0] - share * total))[1]  # noqa: E731
    tail = [p[1] for p in points if p[0] > 0.8 * total]  # mean of the last 10% against the 10% before
    half = len(tail) // 2
    change = (sum(tail[half:]) / (len(tail) - half)) / (sum(tail[:half]) / half) - 1 if half else float("nan")
    ranges = " then ".join(dict.fromkeys(p[2] for p in points))
    losses = " / ".join(f"{at(s):.5f}" for s in (0.25, 0.5, 0.75, 1.0))
    return f"| {name} | {total} | {ranges} | {losses} | {100 * change:+.1f}% |"


def main(argv: list[str] | None = None) -> None:
    """Command line: the table for the named or all shipped DeepJSCC models."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="model names or folders (default: every shipped deepjscc-*)")
    args = parser.parse_args(argv)
    names = args.names or [n for n in shipped_models() if n.startswith("deepjscc-")]
    print("| model | steps | SNR trained | loss at 25 / 50 / 75 / 100% | last 10% |")
    print("| --- | --- | --- | --- | --- |")
    for name in names:
        print(summary(name))


if __name__ == "__main__":
    main()
