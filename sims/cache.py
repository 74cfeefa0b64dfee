"""The worker cache: what a worker process builds once and reuses across rows.

Links, models, loaded images and pipelines are expensive to build and the same
for many rows; each is kept under its type and a key of the configs it was
built from (pydantic models are keyed by their JSON), so two methods that need
the same link share it and a changed config never gets a stale object::

    link = ctx.cache.get(OFDMALink, (config.link, device), lambda: OFDMALink(config.link, device))

One more slot holds the last *draw* shared between methods at one (point, seed):
methods that see the same reception (``received``, ``nullspace``, ``repaint``) get
the transmission computed by the first of them (:meth:`WorkerCache.shared_draw`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from pydantic import BaseModel

__all__ = ["WorkerCache"]

T = TypeVar("T")


def _freeze(part: Any) -> Hashable:
    """A hashable stand-in for a key part: models by their JSON, sequences as tuples."""
    if isinstance(part, BaseModel):
        return (type(part).__name__, part.model_dump_json())
    if isinstance(part, (list, tuple)):
        return tuple(_freeze(p) for p in part)
    if isinstance(part, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in part.items()))
    return part


class WorkerCache:
    """Objects keyed by (type, key) for the life of a worker, plus one shared-draw slot."""

    def __init__(self) -> None:
        self._objects: dict[tuple, Any] = {}
        self._draw: tuple[Hashable, Any] | None = None

    def get(self, kind: type[T], key: Any, build: Callable[[], T]) -> T:
        """The cached ``kind`` object for ``key``, built by ``build()`` the first time.

        :raises TypeError: ``build`` returned something that is not a ``kind``.
        """
        full = (kind, _freeze(key))
        if full not in self._objects:
            obj = build()
            if not isinstance(obj, kind):
                raise TypeError(f"cache: built a {type(obj).__name__} for a {kind.__name__} entry")
            self._objects[full] = obj
        return self._objects[full]

    def shared_draw(self, key: Any, compute: Callable[[], T]) -> T:
        """``compute()`` unless the last shared draw had the same ``key``: then that result.

        Only the last draw is kept: rows run point by point, methods of a point one after another.
        """
        frozen = _freeze(key)
        if self._draw is None or self._draw[0] != frozen:
            self._draw = (frozen, compute())
        return self._draw[1]

    def __len__(self) -> int:
        return len(self._objects)
