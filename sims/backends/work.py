"""What every backend is handed: the rows to run and where their results go."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..scenario import Scenario, Task

__all__ = ["PendingRows"]


@dataclass
class PendingRows:
    """The pending rows of a sweep and the engine's callbacks.

    ``on_row(task, row)`` receives each finished row (``None`` for a row skipped
    because ``is_stopped(task)``: its line stopped early), in x order within a line.
    """

    scenario: Scenario
    tasks: list[Task]
    device: str
    on_row: Callable[[Task, dict | None], None]
    is_stopped: Callable[[Task], bool]
    quiet: bool = False
