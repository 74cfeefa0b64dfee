"""Loading diffusion models: the shipped checkpoints, a local folder, or a hub id.

A model is a diffusers noise-prediction ``UNet2DModel`` and its scheduler,
stored either as a pipeline folder (``unet/`` and ``scheduler/``) or flat
(``config.json`` and ``scheduler_config.json`` side by side, as in
``google/ddpm-cifar10-32``). Weights load as safetensors, or through
diffusers' ``torch.load(weights_only=True)``: nothing is unpickled.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import huggingface_hub
import torch
from diffusers import DDPMScheduler, UNet2DModel

__all__ = ["DEFAULT_MODEL", "SHIPPED_MODELS", "load_diffusion", "model_sample_size", "save_diffusion"]

#: Checkpoints that ship with gscsim (trained by ``gscsim train ddpm``), by name.
SHIPPED_MODELS = {"camvid-ddpm-32": "camvid-ddpm-32"}
DEFAULT_MODEL = "camvid-ddpm-32"


def _shipped_path(name: str) -> Path:
    return Path(str(resources.files("semantic") / "weights" / SHIPPED_MODELS[name]))


def _from_folder(root: Path, device: str) -> tuple[UNet2DModel, DDPMScheduler]:
    unet_dir = root / "unet" if (root / "unet" / "config.json").exists() else root
    sched_dir = root / "scheduler" if (root / "scheduler").is_dir() else root
    if not (unet_dir / "config.json").exists():
        raise FileNotFoundError(f"{root} holds no diffusers UNet (config.json in it or in unet/)")
    unet = UNet2DModel.from_pretrained(unet_dir, low_cpu_mem_usage=False)
    scheduler = DDPMScheduler.from_pretrained(sched_dir)
    return unet.to(device).eval(), scheduler


def load_diffusion(name_or_path: str = DEFAULT_MODEL, device: str = "cpu") -> tuple[UNet2DModel, DDPMScheduler]:
    """(UNet in eval mode on ``device``, scheduler) for a shipped name, a folder or a hub id.

    :raises FileNotFoundError: a shipped name whose files are missing, or a bad folder.
    :raises ConnectionError: a hub id that is neither cached nor reachable (offline).
    """
    if name_or_path in SHIPPED_MODELS:
        path = _shipped_path(name_or_path)
        if not path.exists():
            raise FileNotFoundError(f"shipped model {name_or_path!r} is missing at {path}")
        return _from_folder(path, device)
    path = Path(name_or_path).expanduser()
    if path.exists():
        return _from_folder(path, device)
    if name_or_path.startswith(("/", ".", "~")) or name_or_path.count("/") > 1:
        raise FileNotFoundError(f"{name_or_path}: no such model folder (and not a hub id)")
    for local_only in (True, False):  # the local cache first; the network only when allowed
        if not local_only and huggingface_hub.constants.is_offline_mode():
            break
        for unet_sub, sched_sub in ((None, None), ("unet", "scheduler")):  # flat or pipeline layout
            try:
                unet = UNet2DModel.from_pretrained(name_or_path, subfolder=unet_sub, local_files_only=local_only)
                scheduler = DDPMScheduler.from_pretrained(name_or_path, subfolder=sched_sub, local_files_only=local_only)
                return unet.to(device).eval(), scheduler
            except Exception as exc:  # noqa: BLE001 - diffusers raises OSError, HTTP and value errors
                error = exc
    offline = " (offline mode: HF_HUB_OFFLINE)" if huggingface_hub.constants.is_offline_mode() else ""
    raise ConnectionError(
        f"cannot load diffusion model {name_or_path!r}: not a shipped name ({', '.join(SHIPPED_MODELS)}), "
        f"not a folder, and not in the Hugging Face cache or reachable on the hub{offline} "
        f"({type(error).__name__}: {str(error).splitlines()[0][:160]})"
    )


def model_sample_size(name_or_path: str = DEFAULT_MODEL) -> int:
    """The image size a model generates, from its config alone (no weights loaded)."""
    path = _shipped_path(name_or_path) if name_or_path in SHIPPED_MODELS else Path(name_or_path).expanduser()
    for candidate in (path / "unet" / "config.json", path / "config.json"):
        if candidate.exists():
            size = UNet2DModel.load_config(candidate.parent)["sample_size"]
            return size if isinstance(size, int) else size[0]
    unet, _ = load_diffusion(name_or_path)  # a hub id: needs the files anyway
    size = unet.config.sample_size
    return size if isinstance(size, int) else size[0]


def save_diffusion(unet: UNet2DModel, scheduler: DDPMScheduler, folder: str | Path) -> Path:
    """Write ``folder/unet`` (safetensors + config) and ``folder/scheduler``."""
    folder = Path(folder)
    unet.save_pretrained(folder / "unet", safe_serialization=True)
    scheduler.save_pretrained(folder / "scheduler")
    return folder


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
