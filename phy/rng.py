"""Explicit random number generators for Sionna blocks.

Sionna blocks draw from a process-wide generator (``sionna.phy.config``),
whose seed setter also reseeds ``torch.default_generator``. A simulator that
runs several links in one process, resumes sweeps point by point, or hands
points to Ray workers needs each draw to depend only on (seed, point), so
gscsim gives every block its own ``torch.Generator`` instead.
"""

from __future__ import annotations

import hashlib
from typing import Any

import torch

__all__ = ["WithGenerator", "derive_seed", "make_generator", "resolve_device"]


class WithGenerator:
    """Mixin for a Sionna block: draw from a given generator, not the global one.

    Sionna blocks take their randomness from the ``torch_rng`` property; this
    mixin overrides that property. Put it first in the bases::

        class SeededAWGN(WithGenerator, sionna.phy.channel.AWGN): ...

        awgn = SeededAWGN(device="cpu")
        awgn.generator = make_generator(seed=1, device="cpu")
    """

    def __init__(self, *args: Any, generator: torch.Generator | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._generator = generator

    @property
    def generator(self) -> torch.Generator | None:
        """The generator the block draws from (None until set)."""
        return self._generator

    @generator.setter
    def generator(self, generator: torch.Generator | None) -> None:
        """The generator the block draws from (None until set)."""
        self._generator = generator

    @property
    def torch_rng(self) -> torch.Generator:
        """Sionna's hook for its random draws: the block's own generator."""
        if self._generator is None:
            raise RuntimeError(
                f"{type(self).__name__} has no generator: set .generator = "
                "phy.rng.make_generator(seed, device) before calling it"
            )
        return self._generator


def derive_seed(seed: int, *keys: object) -> int:
    """A 63-bit seed that depends only on ``seed`` and ``keys`` (stable across runs).

    Used to give each sweep point, user or Monte-Carlo stream its own
    independent stream, so that resuming or reordering points reproduces them.
    """
    text = repr((int(seed),) + tuple(keys)).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little") >> 1


def resolve_device(device: str) -> str:
    """Map a device option to a concrete torch device string.

    ``"auto"`` picks ``"cuda:0"`` when CUDA is available, else ``"cpu"``;
    ``"cuda"`` means ``"cuda:0"`` (Sionna blocks want an indexed device).
    """
    if device == "auto":
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        device = "cuda:0"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device = {device!r} but CUDA is not available on this machine")
    if device != "cpu" and not device.startswith("cuda:"):
        raise ValueError(f"device = {device!r}: expected 'cpu', 'cuda', 'cuda:N' or 'auto'")
    return device


def make_generator(seed: int, device: str = "cpu") -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded with ``seed``."""
    generator = torch.Generator(device=device)
    generator.manual_seed(int(seed))
    return generator
