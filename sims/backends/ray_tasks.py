"""The Ray backend: rows as Ray tasks, locally (``--workers N``) or on an existing cluster.

Workers rebuild the scenario from its payload (once per process) and keep
their own :class:`~sims.cache.WorkerCache`; rows of a line are released in x
order so that early stopping matches the local backend.
"""

from __future__ import annotations

import sys
from collections import defaultdict, deque
from pathlib import Path

from ..config_io import ConfigError
from ..scenario import Scenario, Task, scenario_from_dict
from .work import PendingRows

__all__ = ["run_ray"]

#: Per-process scenarios rebuilt from payloads (a Ray worker runs many rows).
_WORKER_SCENARIOS: dict[str, Scenario] = {}


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


def run_ray(work: PendingRows, address: str | None, workers: int | None, gpus_per_task: float) -> None:
    """Run the pending rows as Ray tasks (at most one in flight per CPU of the cluster)."""
    scenario, device, on_row, is_stopped = work.scenario, work.device, work.on_row, work.is_stopped
    try:
        import ray
    except ImportError:
        raise ConfigError("--backend ray needs Ray: pip install 'gscsim[ray]'") from None

    started_here = not ray.is_initialized()
    if started_here:
        kwargs = {"include_dashboard": False, "log_to_driver": not work.quiet}
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
            from sims.engine import WORKER_CACHE, execute_task

            return execute_task(_worker_scenario(payload), task, device, None, WORKER_CACHE)

        payload_ref = ray.put(payload)
        # Rows of a line are released in x order, so that early stopping skips the
        # same rows as the local backend whatever order the workers finish in.
        lines: dict[tuple, list[Task]] = defaultdict(list)
        for task in work.tasks:
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
