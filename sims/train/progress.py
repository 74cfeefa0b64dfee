"""Training progress kept in a checkpoint folder, shared by the trainers that resume.

``state.pt`` holds the step, the elapsed seconds, both random generators' states and
the trainer's optimiser (and similar) state dicts; it is read back with
``weights_only=True`` (tensors and plain containers only). ``losses.json`` holds the
logged losses. The networks' weights are saved by each trainer (safetensors).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

__all__ = ["load_progress", "save_progress"]


def save_progress(
    folder: Path, step: int, elapsed: float, losses: list, data_g: torch.Generator, noise_g: torch.Generator,
    **states: dict,
) -> None:  # fmt: skip
    """Write ``state.pt`` (step, elapsed, generator states, ``states``) and ``losses.json`` to ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    progress = {"step": step, "elapsed": elapsed, "data_rng": data_g.get_state(), "noise_rng": noise_g.get_state().cpu()}
    torch.save(progress | states, folder / "state.pt")
    (folder / "losses.json").write_text(json.dumps(losses))


def load_progress(
    folder: Path, device: str, data_g: torch.Generator, noise_g: torch.Generator
) -> tuple[int, float, list, dict] | None:
    """(step, elapsed, losses, the saved state dict) from ``folder``, with both generators restored;
    None when the folder holds no progress."""
    if not (folder / "state.pt").exists():
        return None
    state = torch.load(folder / "state.pt", map_location=device, weights_only=True)
    data_g.set_state(state["data_rng"])
    noise_g.set_state(state["noise_rng"].to(noise_g.get_state().device))
    losses = json.loads((folder / "losses.json").read_text())
    return int(state["step"]), float(state["elapsed"]), losses, state
