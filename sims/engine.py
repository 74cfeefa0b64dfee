"""The sweep engine: expand a scenario, run its rows on a backend, keep results safe.

Output folder (:mod:`sims.output`):
  results.csv   one row per (point, method, seed), appended as rows finish (:mod:`sims.rows`)
  run.json      resolved config and its hash, versions, device, git commit, sessions
  plot_<metric>.png   each metric against the first axis, one curve per method

Rows are independent: each draws from a generator seeded by (seed, point), so
any subset runs in any order, on any worker, with the same numbers. That is
what makes ``--resume`` (skip the rows already in results.csv) and the Ray
backend (rows as tasks, :mod:`sims.backends`) give the rows of one
uninterrupted local run.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

from phy.rng import derive_seed, make_generator, resolve_device

from .backends import PendingRows, run_local, run_ray
from .cache import WorkerCache
from .config_io import ConfigError
from .output import RESULTS, RUN_JSON, RunRecord, prepare_output
from .registry import PointContext
from .results import ResultsTable
from .rows import format_value, make_row
from .scenario import Scenario, Task

__all__ = ["WORKER_CACHE", "execute_task", "point_seed", "run_sweep"]

#: The cache of this process's rows (one per worker process).
WORKER_CACHE = WorkerCache()


def point_seed(task: Task) -> int:
    """The seed of a row's generator: (seed, physical point); ``methods.*`` axes do not change draws."""
    return derive_seed(task.seed, *((name, format_value(v)) for name, v in task.physical_axes))


def execute_task(
    scenario: Scenario,
    task: Task,
    device: str,
    progress: Callable[[int, int], None] | None = None,
    cache: WorkerCache | None = None,
) -> dict[str, str]:
    """Run one row: the method at the point with the point's options, seeded by (seed, point)."""
    inst = scenario.methods[task.method]
    ctx = PointContext(
        config=scenario.config_for(task.axes),
        options=scenario.options_for(task.method, task.axes),
        point={k: v for k, v in task.axes if "." not in k},
        axes=dict(task.axes),
        seed=task.seed,
        generator=make_generator(point_seed(task), device),
        device=device,
        cache=WORKER_CACHE if cache is None else cache,
        progress=progress or (lambda done, total: None),
    )
    start = time.perf_counter()
    output = inst.spec.run(ctx)
    return make_row(inst, task, output, time.perf_counter() - start, scenario.config.confidence)


def _stops_line(scenario: Scenario, row: dict[str, str]) -> bool:
    inst = scenario.methods.get(row["method"])
    if not (inst and inst.spec.stops_line):
        return False
    axes = tuple((a, scenario.axis_value(a, row[a])) for a in scenario.axis_names)
    return bool(inst.spec.stops_line(row, scenario.options_for(inst.name, axes)))


def _row_line(scenario: Scenario, row: dict[str, str]) -> tuple:
    return (row["method"], int(row["seed"]), tuple(row[a] for a in scenario.axis_names[1:]))


def _row_key(scenario: Scenario, row: dict[str, str]) -> tuple:
    return (row["method"], row["seed"], tuple(row[a] for a in scenario.axis_names))


def run_sweep(
    scenario: Scenario,
    output: str | Path | None = None,
    *,
    resume: bool = False,
    force: bool = False,
    quiet: bool = False,
    backend: str = "local",
    address: str | None = None,
    workers: int | None = None,
    gpus_per_task: float = 1.0,
    plot: bool = True,
) -> list[dict[str, str]]:
    """Run every row of ``scenario`` not yet in the results; return all rows."""
    if backend not in ("local", "ray"):
        raise ConfigError(f"backend = {backend!r}: expected 'local' or 'ray'")
    try:
        device = resolve_device(scenario.config.device)
    except ValueError as exc:
        raise ConfigError(f"device: {exc}") from None
    out = Path(output or scenario.config.output)
    out.mkdir(parents=True, exist_ok=True)
    previous = prepare_output(out, scenario.config_hash, resume, force)
    table = ResultsTable(out / RESULTS, scenario.columns())
    record = RunRecord(
        out / RUN_JSON,
        previous,
        {"config": scenario.config.model_dump(mode="json"), "config_hash": scenario.config_hash, "source": scenario.source},
    )
    session = record.start_session(backend, device)

    done_keys = {_row_key(scenario, r) for r in table.rows}
    stopped = {_row_line(scenario, r) for r in table.rows if _stops_line(scenario, r)}
    pending = [t for t in scenario.tasks() if t.key not in done_keys]

    def is_stopped(task: Task) -> bool:
        return task.line in stopped

    bar = tqdm(total=len(pending), desc="sweep", unit="row", disable=quiet, position=0)
    counts = {"written": 0, "skipped": 0}

    def on_row(task: Task, row: dict | None) -> None:
        if row is None:
            counts["skipped"] += 1
        else:
            table.append(row)
            counts["written"] += 1
            if _stops_line(scenario, row):
                stopped.add(task.line)
        bar.update(1)
        bar.set_postfix_str(f"{task.method} {', '.join(f'{k}={format_value(v)}' for k, v in task.axes)}")

    status = "failed"
    try:
        work = PendingRows(scenario, pending, device, on_row, is_stopped, quiet)
        if backend == "local":
            run_local(work)
        else:
            run_ray(work, address, workers, gpus_per_task)
        status = "complete"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        bar.close()
        record.end_session(session, status, counts["written"], counts["skipped"])
        if status == "interrupted" and not quiet:
            print(f"interrupted: {len(table.rows)} row(s) kept in {table.path}; rerun with --resume", file=sys.stderr)

    if plot and table.rows:
        from .plotting import plot_results

        plot_results(table.rows, out, scenario=scenario)
    return table.rows
