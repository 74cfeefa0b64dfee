"""Where rows run: this process (:mod:`.local`) or Ray tasks (:mod:`.ray_tasks`).

A backend takes the pending tasks and calls ``on_row(task, row)`` for each, in
x order within every line of the grid (``row`` None for a row skipped because
its line stopped early), so that early stopping skips the same rows whatever
the backend.
"""

from .local import run_local
from .ray_tasks import run_ray
from .work import PendingRows

__all__ = ["PendingRows", "run_local", "run_ray"]
