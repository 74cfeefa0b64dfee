"""One weights convention and one resolver for every model gscsim trains or loads.

Every model is a diffusers ``ModelMixin`` + ``ConfigMixin`` (diffusers'
``UNet2DModel``, gscsim's :class:`~semantic.receivers.sdm.SemanticUNet` and
:class:`~semantic.jscc.DeepJSCC`), so it is saved with ``save_pretrained``
(``config.json`` naming its class + ``diffusion_pytorch_model.safetensors``)
and loaded with ``from_pretrained``. :func:`save_model` adds ``training.json``
(how it was made) beside them.

:func:`load_pretrained` turns a name into a model, in this order:

1. a shipped name: a folder of ``semantic/weights/`` (:func:`shipped_models`);
2. a local folder (``config.json`` in it, or in ``subfolder``);
3. a Hugging Face hub id: the local cache first, then the network unless
   ``HF_HUB_OFFLINE`` is set; offline, a one-line ``ConnectionError``.

A diffusion receiver's model is a pipeline folder (``unet/`` + ``scheduler/``) or
flat (both configs side by side, as ``google/ddpm-cifar10-32``):
:func:`load_diffusion` gives (UNet, scheduler). Weights load as safetensors, or
through diffusers' ``torch.load(weights_only=True)``: nothing is unpickled.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import diffusers
import huggingface_hub
import torch
from diffusers import DDPMScheduler, ModelMixin, UNet2DModel

__all__ = [
    "DEFAULT_DIFFUSION",
    "count_parameters",
    "load_diffusion",
    "load_pretrained",
    "model_class",
    "model_sample_size",
    "register_model_class",
    "resolve",
    "save_diffusion",
    "save_model",
    "shipped_models",
    "training_info",
]

#: The null-space receiver's default: the CamVid DDPM gscsim trained (``gscsim train ddpm``).
DEFAULT_DIFFUSION = "camvid-ddpm-32"

#: gscsim's own model classes by name (``_class_name`` in config.json); diffusers' are found in diffusers.
_MODEL_CLASSES: dict[str, type[ModelMixin]] = {}


def register_model_class(cls: type[ModelMixin]) -> type[ModelMixin]:
    """Class decorator: let :func:`load_pretrained` find ``cls`` by the ``_class_name`` of a config."""
    _MODEL_CLASSES[cls.__name__] = cls
    return cls


def _weights_root() -> Path:
    return Path(str(resources.files("semantic") / "weights"))


def shipped_models() -> list[str]:
    """Names of the checkpoints that ship with gscsim (folders of ``semantic/weights/``)."""
    return sorted(p.name for p in _weights_root().iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def resolve(name_or_path: str | Path) -> Path | str:
    """A shipped name or an existing folder -> its Path; anything else is returned as a hub id.

    :raises FileNotFoundError: a path-like name (``/``, ``.``, ``~`` or two slashes) that is no folder.
    """
    text = str(name_or_path)
    shipped = _weights_root() / text
    if text and "/" not in text and ((shipped / "config.json").exists() or (shipped / "unet").is_dir()):
        return shipped
    path = Path(text).expanduser()
    if path.is_dir():
        return path
    if text.startswith(("/", ".", "~")) or text.count("/") != 1:
        raise FileNotFoundError(
            f"{text}: no such model folder, not a shipped model ({', '.join(shipped_models())}) and not a hub id"
        )
    return text


def model_class(name_or_path: str | Path, subfolder: str | None = None) -> type[ModelMixin]:
    """The class a saved model's config.json names (gscsim's registered classes, then diffusers')."""
    where = resolve(name_or_path)
    if not isinstance(where, Path):
        raise ValueError(f"{name_or_path}: give the model class for a hub id")
    config = where / (subfolder or "") / "config.json"
    if not config.exists():
        raise FileNotFoundError(f"{config}: no model config")
    name = json.loads(config.read_text()).get("_class_name")
    cls = _MODEL_CLASSES.get(name) or getattr(diffusers, str(name), None)
    if cls is None:
        raise ValueError(f"{config}: unknown model class {name!r}")
    return cls


def _from_hub(load, name: str, what: str):
    """``load(local_files_only)`` from the cache, then the hub when allowed; ConnectionError otherwise."""
    error: Exception | None = None
    for local_only in (True, False):
        if not local_only and huggingface_hub.constants.is_offline_mode():
            break
        try:
            return load(local_only)
        except Exception as exc:  # noqa: BLE001 - diffusers raises OSError, HTTP and value errors
            error = exc
    offline = " (offline mode: HF_HUB_OFFLINE)" if huggingface_hub.constants.is_offline_mode() else ""
    raise ConnectionError(
        f"cannot load {what} {name!r}: not a shipped name ({', '.join(shipped_models())}), not a folder, "
        f"and not in the Hugging Face cache or reachable on the hub{offline} "
        f"({type(error).__name__}: {str(error).splitlines()[0][:160] if str(error) else ''})"
    )


def load_pretrained(
    name_or_path: str | Path,
    cls: type[ModelMixin] | None = None,
    device: str = "cpu",
    subfolder: str | None = None,
) -> ModelMixin:
    """A model in eval mode on ``device`` from a shipped name, a folder or a hub id.

    :param cls: the model class; None: the class its config.json names.
    :raises FileNotFoundError: a path-like name that is no model folder.
    :raises ConnectionError: a hub id neither cached nor reachable.
    """
    where = resolve(name_or_path)
    if isinstance(where, Path):
        cls = cls or model_class(where, subfolder)
        if not (where / (subfolder or "") / "config.json").exists():
            raise FileNotFoundError(f"{where}: no model config.json{f' in {subfolder}/' if subfolder else ''}")
        model = cls.from_pretrained(where, subfolder=subfolder, low_cpu_mem_usage=False)
    else:
        if cls is None:
            raise ValueError(f"{name_or_path}: give the model class for a hub id")
        model = _from_hub(
            lambda local: cls.from_pretrained(where, subfolder=subfolder, local_files_only=local, low_cpu_mem_usage=False),
            where, f"{cls.__name__}",
        )  # fmt: skip
    return model.to(device).eval()


def save_model(model: ModelMixin, folder: str | Path, training: dict[str, Any] | None = None) -> Path:
    """``model.save_pretrained(folder)`` (safetensors + config.json) and ``training.json`` if given."""
    folder = Path(folder)
    model.save_pretrained(folder, safe_serialization=True)
    config = folder / "config.json"
    data = json.loads(config.read_text())
    if data.pop("_name_or_path", None) is not None:  # where a fine-tuned model was loaded from: a local path
        config.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    if training is not None:
        (folder / "training.json").write_text(json.dumps(training, indent=2))
    return folder


def training_info(name_or_path: str | Path) -> dict:
    """The ``training.json`` of a shipped or local model ({} when it has none)."""
    where = resolve(name_or_path)
    path = where / "training.json" if isinstance(where, Path) else None
    return json.loads(path.read_text()) if path is not None and path.exists() else {}


def load_diffusion(name_or_path: str = DEFAULT_DIFFUSION, device: str = "cpu") -> tuple[UNet2DModel, DDPMScheduler]:
    """(UNet in eval mode on ``device``, scheduler) of a diffusion receiver's model.

    :raises FileNotFoundError: a shipped name whose files are missing, or a bad folder.
    :raises ConnectionError: a hub id that is neither cached nor reachable (offline).
    """
    where = resolve(name_or_path)
    if isinstance(where, Path):
        unet_sub = "unet" if (where / "unet" / "config.json").exists() else None
        if not (where / (unet_sub or "") / "config.json").exists():
            raise FileNotFoundError(f"{where} holds no diffusers UNet (config.json in it or in unet/)")
        sched = where / "scheduler" if (where / "scheduler").is_dir() else where
        unet = load_pretrained(where, UNet2DModel, device, unet_sub)
        return unet, DDPMScheduler.from_pretrained(sched)

    def from_hub(local: bool):
        last: Exception | None = None
        for unet_sub, sched_sub in ((None, None), ("unet", "scheduler")):  # flat or pipeline layout
            try:
                unet = UNet2DModel.from_pretrained(where, subfolder=unet_sub, local_files_only=local)
                return unet.to(device).eval(), DDPMScheduler.from_pretrained(
                    where, subfolder=sched_sub, local_files_only=local
                )
            except Exception as exc:  # noqa: BLE001
                last = exc
        raise last

    return _from_hub(from_hub, where, "diffusion model")


def model_sample_size(name_or_path: str = DEFAULT_DIFFUSION) -> int:
    """The image size a diffusion model generates, from its config alone (no weights loaded)."""
    where = resolve(name_or_path)
    if isinstance(where, Path):
        for candidate in (where / "unet" / "config.json", where / "config.json"):
            if candidate.exists():
                size = UNet2DModel.load_config(candidate.parent)["sample_size"]
                return size if isinstance(size, int) else size[0]
    unet, _ = load_diffusion(str(name_or_path))  # a hub id: needs the files anyway
    size = unet.config.sample_size
    return size if isinstance(size, int) else size[0]


def save_diffusion(unet: UNet2DModel, scheduler: DDPMScheduler, folder: str | Path) -> Path:
    """Write ``folder/unet`` (safetensors + config) and ``folder/scheduler``."""
    folder = Path(folder)
    unet.save_pretrained(folder / "unet", safe_serialization=True)
    scheduler.save_pretrained(folder / "scheduler")
    return folder


def count_parameters(model: torch.nn.Module) -> int:
    """Number of parameters of ``model``."""
    return sum(p.numel() for p in model.parameters())
