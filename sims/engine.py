"""The sweep engine: expand a scenario, run its rows locally or on Ray, keep results safe.

Output folder:
  results.csv   one row per (point, method, seed), appended as rows finish
  run.json      resolved config and its hash, versions, device, git commit, sessions
  plot_<metric>.png   each metric against the first axis, one curve per method

Rows are independent: each draws from a generator seeded by (seed, point), so
any subset runs in any order, on any worker, with the same numbers. That is
what makes ``--resume`` (skip the rows already in results.csv) and the Ray
backend (rows as tasks) give the rows of one uninterrupted local run.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections import defaultdict, deque
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from phy.rng import derive_seed, make_generator, resolve_device
from phy.stats import ClusteredCount

from .config_io import ConfigError
from .registry import PointContext
from .results import ResultsTable, provenance, utc_now, write_json
from .scenario import MethodInstance, Scenario, Task, format_value, scenario_from_dict

__all__ = ["execute_task", "run_sweep"]

RESULTS, RUN_JSON = "results.csv", "run.json"

#: Per-process state of a worker: rebuilt scenarios and the methods' cache.
_WORKER_SCENARIOS: dict[str, Scenario] = {}
_WORKER_CACHE: dict = {}


def _point_seed(task: Task) -> int:
    return derive_seed(task.seed, *((name, format_value(v)) for name, v in task.axes))


def _format_number(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return str(value)


def _mean_columns(name: str, value) -> dict[str, str]:
    samples = np.asarray(value.detach().cpu() if isinstance(value, torch.Tensor) else value, dtype=np.float64)
    samples = samples.reshape(-1)
    if samples.size == 0:
        raise ValueError(f"metric {name!r} has no samples")
    sd = float(samples.std(ddof=1)) if samples.size > 1 else float("nan")
    return {name: _format_number(float(samples.mean())), f"{name}_sd": _format_number(sd), f"{name}_n": str(samples.size)}


def _rate_columns(name: str, count: ClusteredCount, confidence: float) -> dict[str, str]:
    if not isinstance(count, ClusteredCount):
        raise TypeError(f"rate metric {name!r} must be a phy.stats.ClusteredCount, got {type(count).__name__}")
    lo, hi = count.interval(confidence)
    return {
        name: _format_number(count.rate), f"{name}_ci_low": _format_number(lo), f"{name}_ci_high": _format_number(hi),
        f"{name}_errors": str(count.errors), f"{name}_trials": str(count.trials),
        f"{name}_clusters": str(count.clusters), f"{name}_sum_sq": str(count.sum_sq),
    }  # fmt: skip


def make_row(scenario: Scenario, inst: MethodInstance, task: Task, output: dict, seconds: float) -> dict[str, str]:
    """A results row (all values as text) from what a method returned."""
    output = dict(output)
    row = {"method": inst.name, "kind": inst.spec.kind, "seed": str(task.seed)}
    row.update({name: format_value(v) for name, v in task.axes})
    for metric in inst.spec.metrics:
        if metric.name not in output:
            raise ValueError(f"method {inst.name!r} did not return metric {metric.name!r}")
        value = output.pop(metric.name)
        if metric.kind == "rate":
            row.update(_rate_columns(metric.name, value, scenario.config.confidence))
        else:
            row.update(_mean_columns(metric.name, value))
    for column in inst.spec.extra_columns:
        if column in output:
            value = output.pop(column)
            if column not in row:  # an extra that is also a sweep axis keeps the axis value
                row[column] = _format_number(value)
    if output:
        raise ValueError(f"method {inst.name!r} returned keys it did not declare: {sorted(output)}")
    row["seconds"] = f"{seconds:.4f}"
    return row


def execute_task(
    scenario: Scenario, task: Task, device: str, progress: Callable[[int, int], None] | None = None
) -> dict[str, str]:
    """Run one row: the method at the point, seeded by (seed, point)."""
    inst = scenario.methods[task.method]
    ctx = PointContext(
        config=scenario.config_for(task.axes),
        options=inst.options,
        point={k: v for k, v in task.axes if "." not in k},
        axes=dict(task.axes),
        seed=task.seed,
        generator=make_generator(_point_seed(task), device),
        device=device,
        cache=_WORKER_CACHE,
        progress=progress or (lambda done, total: None),
    )
    start = time.perf_counter()
    output = inst.spec.run(ctx)
    return make_row(scenario, inst, task, output, time.perf_counter() - start)


def _stops_line(scenario: Scenario, row: dict[str, str]) -> bool:
    inst = scenario.methods.get(row["method"])
    return bool(inst and inst.spec.stops_line and inst.spec.stops_line(row, inst.options))


def _row_line(scenario: Scenario, row: dict[str, str]) -> tuple:
    return (row["method"], int(row["seed"]), tuple(row[a] for a in scenario.axis_names[1:]))


def _row_key(scenario: Scenario, row: dict[str, str]) -> tuple:
    return (row["method"], row["seed"], tuple(row[a] for a in scenario.axis_names))


# --- output folder -------------------------------------------------------------------


def _backup_previous(out: Path) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    backup = out / f"previous-{stamp}"
    backup.mkdir()
    for path in [out / RESULTS, out / RUN_JSON, *out.glob("plot_*.png")]:
        if path.exists():
            shutil.move(str(path), backup / path.name)
    return backup


def _prepare_output(scenario: Scenario, out: Path, resume: bool, force: bool) -> dict | None:
    """Check an existing output folder; return its run.json when resuming."""
    results = out / RESULTS
    if not results.exists():
        return None
    previous = None
    if (out / RUN_JSON).exists():
        import json

        previous = json.loads((out / RUN_JSON).read_text())
    if force:
        backup = _backup_previous(out)
        print(f"--force: previous results moved to {backup}", file=sys.stderr)
        return None
    if not resume:
        raise ConfigError(
            f"{results} exists: pass --resume to complete it, or --force to start over "
            "(the old results are kept in a previous-* folder)"
        )
    if previous is None or previous.get("config_hash") != scenario.config_hash:
        old = previous.get("config_hash") if previous else "unknown"
        raise ConfigError(
            f"{out}: the config changed since the first run (hash {old} -> {scenario.config_hash}); "
            "resume with the same config, or pass --force to start over (old results are kept)"
        )
    return previous


# --- backends ------------------------------------------------------------------------


def _run_local(scenario, pending, device, on_row, is_stopped, quiet):
    inner = tqdm(total=0, position=1, leave=False, disable=quiet, desc="  in point")

    def progress(done: int, total: int) -> None:
        inner.total = total
        inner.n = done
        inner.refresh()

    try:
        for task in pending:
            if is_stopped(task):
                on_row(task, None)
                continue
            inner.reset()
            on_row(task, execute_task(scenario, task, device, None if quiet else progress))
    finally:
        inner.close()


def _worker_scenario(payload: dict) -> Scenario:
    key = repr(sorted(payload["config"].items(), key=lambda kv: kv[0]))
    if key not in _WORKER_SCENARIOS:
        _WORKER_SCENARIOS[key] = scenario_from_dict(payload["config"], payload["source"])
    return _WORKER_SCENARIOS[key]


def _plugin_paths(scenario: Scenario) -> list[str]:
    """Folders that make the scenario's plugin modules importable on a local worker."""
    paths = []
    for name in scenario.config.plugins:
        module = sys.modules.get(name)
        file = getattr(module, "__file__", None)
        if file:
            root = Path(file).resolve().parent
            for _ in range(name.count(".")):
                root = root.parent
            paths.append(str(root))
    return paths


def _run_ray(scenario, pending, device, on_row, is_stopped, quiet, address, workers, gpus_per_task):
    try:
        import ray
    except ImportError:
        raise ConfigError("--backend ray needs Ray: pip install 'gscsim[ray]'") from None

    started_here = not ray.is_initialized()
    if started_here:
        kwargs = {"include_dashboard": False, "log_to_driver": not quiet}
        if address:
            kwargs["address"] = address
        elif workers:
            kwargs["num_cpus"] = workers
        ray.init(**kwargs)
    try:
        payload, paths = scenario.to_payload(), _plugin_paths(scenario)

        @ray.remote(num_cpus=1, num_gpus=gpus_per_task if device.startswith("cuda") else 0)
        def run_row(payload, paths, task, device):
            for path in paths:
                if path not in sys.path:
                    sys.path.insert(0, path)
            return execute_task(_worker_scenario(payload), task, device, None)

        payload_ref = ray.put(payload)
        # Rows of a line are released in x order, so that early stopping skips the
        # same rows as the local backend whatever order the workers finish in.
        lines: dict[tuple, list[Task]] = defaultdict(list)
        for task in pending:
            lines[task.line].append(task)
        # At most one row in flight per CPU of the cluster: rows of a stopped line are then
        # mostly not submitted at all. (Cancelling queued Ray tasks instead raced with their
        # completion and crashed the driver inside Ray: "Tried to complete task that was not pending".)
        window = max(1, int(ray.cluster_resources().get("CPU", 1)))
        queue = deque(task for line_tasks in lines.values() for task in line_tasks)
        refs: dict = {}
        done: dict[Task, dict] = {}
        cursor = {line: 0 for line in lines}

        def submit():
            while queue and len(refs) < window:
                task = queue.popleft()
                if not is_stopped(task):
                    refs[run_row.remote(payload_ref, paths, task, device)] = task

        def release(line):
            tasks = lines[line]
            while cursor[line] < len(tasks):
                task = tasks[cursor[line]]
                if is_stopped(task):
                    on_row(task, None)
                elif task in done:
                    on_row(task, done.pop(task))
                else:
                    return
                cursor[line] += 1

        for line in lines:
            release(line)
        submit()
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            task = refs.pop(ready[0])
            done[task] = ray.get(ready[0])
            release(task.line)
            submit()
        for line in lines:  # rows skipped at submission because their line had stopped
            release(line)
    finally:
        if started_here:
            ray.shutdown()


# --- the run -------------------------------------------------------------------------


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
    previous = _prepare_output(scenario, out, resume, force)
    table = ResultsTable(out / RESULTS, scenario.columns())

    run_info = previous or {
        "config": scenario.config.model_dump(mode="json"),
        "config_hash": scenario.config_hash,
        "source": scenario.source,
        "sessions": [],
    }
    session = {"start": utc_now(), "end": None, "backend": backend, "status": "running", **provenance(device)}
    run_info["sessions"].append(session)
    write_json(out / RUN_JSON, run_info)

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
        if backend == "local":
            _run_local(scenario, pending, device, on_row, is_stopped, quiet)
        else:
            _run_ray(scenario, pending, device, on_row, is_stopped, quiet, address, workers, gpus_per_task)
        status = "complete"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        bar.close()
        session.update(end=utc_now(), status=status, rows_written=counts["written"], rows_skipped=counts["skipped"])
        write_json(out / RUN_JSON, run_info)
        if status == "interrupted" and not quiet:
            print(f"interrupted: {len(table.rows)} row(s) kept in {table.path}; rerun with --resume", file=sys.stderr)

    if plot and table.rows:
        from .plotting import plot_results

        plot_results(table.rows, out, scenario=scenario)
    return table.rows

