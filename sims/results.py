"""The results table (CSV, appended row by row, crash-safe) and run.json (provenance).

Each row is one ``os.write`` of a complete, newline-terminated CSV line on a
file opened with O_APPEND, followed by fsync. A process killed at any moment
therefore leaves whole rows plus, at worst, a partial last line without its
newline; :func:`read_table` drops such a tail (and :class:`ResultsTable`
truncates it before appending), so a half-written row is never read.
"""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import subprocess
import tempfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

__all__ = ["ResultsTable", "atomic_write_text", "provenance", "read_table", "utc_now"]


def utc_now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file in the same folder, fsync, rename over ``path``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _csv_line(values: list) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()


def read_table(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Header and complete rows of a results table (a partial last line is ignored)."""
    data = path.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    reader = csv.reader(io.StringIO(complete.decode()))
    try:
        header = next(reader)
    except StopIteration:
        return [], []
    rows = []
    for line_no, values in enumerate(reader, start=2):
        if len(values) != len(header):
            raise ValueError(f"{path}:{line_no}: {len(values)} fields, the header has {len(header)}")
        rows.append(dict(zip(header, values)))
    return header, rows


class ResultsTable:
    """An append-only CSV with a fixed header.

    :param path: the CSV file; created (header written atomically) if missing.
    :param columns: the schema; an existing file must have exactly this header.
    """

    def __init__(self, path: Path, columns: list[str]):
        self.path = path
        self.columns = columns
        if not path.exists():
            atomic_write_text(path, _csv_line(columns))
        header, self.rows = read_table(path)
        if header != columns:
            raise ValueError(
                f"{path} has columns {header}, this run writes {columns}: "
                "use another output folder or --force to start over"
            )
        self._drop_partial_tail()

    def _drop_partial_tail(self) -> None:
        size = self.path.stat().st_size
        with self.path.open("rb") as f:
            data = f.read()
        keep = data.rfind(b"\n") + 1
        if keep != size:
            os.truncate(self.path, keep)

    def append(self, row: dict) -> None:
        """Append one complete row (missing columns are left empty) and fsync."""
        unknown = set(row) - set(self.columns)
        if unknown:
            raise ValueError(f"row has columns not in the table: {sorted(unknown)}")
        line = _csv_line([row.get(c, "") for c in self.columns]).encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            written = 0
            while written < len(line):
                written += os.write(fd, line[written:])
            os.fsync(fd)
        finally:
            os.close(fd)
        self.rows.append({c: str(row.get(c, "")) for c in self.columns})


def _git_commit() -> dict | None:
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=here, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(dirty)}


def provenance(device: str) -> dict:
    """Package versions, device, machine and git commit of this run."""
    versions = {}
    for dist in ("gscsim", "torch", "sionna-no-rt", "numpy", "scipy", "numba", "diffusers", "pydantic", "ray"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    device_info = {"device": device}
    if device.startswith("cuda"):
        import torch

        device_info["name"] = torch.cuda.get_device_name(torch.device(device))
    else:
        device_info["name"] = platform.processor() or platform.machine()
    return {
        "versions": versions,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": device_info,
        "git": _git_commit(),
    }


def write_json(path: Path, data: dict) -> None:
    """Write ``data`` as indented JSON, atomically."""
    atomic_write_text(path, json.dumps(data, indent=2, default=str) + "\n")
