"""The output folder's life: refuse or back up earlier results, resume, and keep run.json.

``run.json`` holds the resolved config and its hash, the source file and one
entry per session (start, end, backend, status, rows written and skipped,
versions, device, git commit). A config that changed since the first run is
refused on ``--resume`` (its rows would not be comparable) unless ``--force``,
which moves the old results to ``previous-<time>/``.
"""

from __future__ import annotations

import json
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path

from .config_io import ConfigError
from .results import provenance, utc_now, write_json

__all__ = ["RESULTS", "RUN_JSON", "RunRecord", "backup_previous", "prepare_output"]

RESULTS, RUN_JSON = "results.csv", "run.json"


def backup_previous(out: Path) -> Path:
    """Move results.csv, run.json and the plots of ``out`` into a new ``previous-<time>/``."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    backup = out / f"previous-{stamp}"
    backup.mkdir()
    for path in [out / RESULTS, out / RUN_JSON, *out.glob("plot_*.png")]:
        if path.exists():
            shutil.move(str(path), backup / path.name)
    return backup


def prepare_output(out: Path, config_hash: str, resume: bool, force: bool) -> dict | None:
    """Check an existing output folder; return its run.json when resuming, None to start afresh.

    :raises ConfigError: results exist and neither ``resume`` nor ``force``, or the config changed.
    """
    results = out / RESULTS
    if not results.exists():
        return None
    previous = json.loads((out / RUN_JSON).read_text()) if (out / RUN_JSON).exists() else None
    if force:
        backup = backup_previous(out)
        print(f"--force: previous results moved to {backup}", file=sys.stderr)
        return None
    if not resume:
        raise ConfigError(
            f"{results} exists: pass --resume to complete it, or --force to start over "
            "(the old results are kept in a previous-* folder)"
        )
    if previous is None or previous.get("config_hash") != config_hash:
        old = previous.get("config_hash") if previous else "unknown"
        raise ConfigError(
            f"{out}: the config changed since the first run (hash {old} -> {config_hash}); "
            "resume with the same config, or pass --force to start over (old results are kept)"
        )
    return previous


class RunRecord:
    """run.json of one output folder: the run's identity plus one entry per session.

    :param path: the run.json file.
    :param previous: the resumed run's record, or None for a new run.
    :param identity: ``config``, ``config_hash`` and ``source`` of a new run.
    """

    def __init__(self, path: Path, previous: dict | None, identity: dict):
        self.path = path
        self.info = previous or {**identity, "sessions": []}

    def start_session(self, backend: str, device: str) -> dict:
        """Append a running session (with provenance) and write the file."""
        session = {"start": utc_now(), "end": None, "backend": backend, "status": "running", **provenance(device)}
        self.info["sessions"].append(session)
        write_json(self.path, self.info)
        return session

    def end_session(self, session: dict, status: str, written: int, skipped: int) -> None:
        """Close ``session`` with its status and row counts and write the file."""
        session.update(end=utc_now(), status=status, rows_written=written, rows_skipped=skipped)
        write_json(self.path, self.info)
