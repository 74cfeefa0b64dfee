"""The local backend: rows one after another in this process, with a progress bar per row."""

from __future__ import annotations

from tqdm import tqdm

from ..rows import format_value
from .work import PendingRows

__all__ = ["run_local"]


def run_local(work: PendingRows) -> None:
    """Run the pending rows in order; rows that are the same computation as one already run here
    (methods not addressed by a ``methods.*`` axis) are copied, not recomputed."""
    from ..engine import WORKER_CACHE, execute_task

    inner = tqdm(total=0, position=1, leave=False, disable=work.quiet, desc="  in point")

    def progress(done: int, total: int) -> None:
        inner.total = total
        inner.n = done
        inner.refresh()

    twins: dict[tuple, dict] = {}
    try:
        for task in work.tasks:
            if work.is_stopped(task):
                work.on_row(task, None)
                continue
            twin = twins.get(task.twin_key())
            if twin is not None:
                work.on_row(task, {**twin, **{name: format_value(value) for name, value in task.axes}})
                continue
            inner.reset()
            row = execute_task(work.scenario, task, work.device, None if work.quiet else progress, WORKER_CACHE)
            twins[task.twin_key()] = row
            work.on_row(task, row)
    finally:
        inner.close()

