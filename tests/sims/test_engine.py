"""The sweep engine with toy methods: row schema, seeding, resume, early stopping (sims.engine)."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from sims.cli import main
from sims.engine import run_sweep
from sims.results import read_table
from sims.scenario import scenario_from_dict

from .toy_sweeps import (
    HERE,
    ROOT,
    early_stop_config,
    strip_timing,
    toy_config,
    write_toy_toml,
)


def test_rows_schema_and_seeding(tmp_path):
    scenario = scenario_from_dict(toy_config(tmp_path / "a"))
    rows = run_sweep(scenario, quiet=True)
    header, on_disk = read_table(tmp_path / "a" / "results.csv")
    assert header == scenario.columns() and on_disk == rows and len(rows) == 24
    for r in rows:
        assert int(r["value_n"]) == 8 and float(r["value_sd"]) > 0
        assert float(r["first_draw_n"]) == 1 and r["first_draw_sd"] == "nan"
    by_key = {(r["method"], r["seed"], r["x"], r["link.grid.num_users"]): r for r in rows}
    # Both methods see the same random stream at the same (point, seed) ...
    for (method, seed, x, users), r in by_key.items():
        assert r["first_draw"] == by_key[("toy", seed, x, users)]["first_draw"]
    # ... and different seeds or points draw differently.
    draws = {r["first_draw"] for r in rows if r["method"] == "toy"}
    assert len(draws) == 12
    # value = scale * x * users + noise: the override axis reached the method
    r = by_key[("toy_big", "1", "2.0", "2")]
    assert float(r["value"]) == pytest.approx(40.0, abs=1.5)


def test_rows_do_not_depend_on_which_other_rows_run(tmp_path):
    full = run_sweep(scenario_from_dict(toy_config(tmp_path / "full")), quiet=True)
    subset_cfg = toy_config(tmp_path / "sub", seeds=[1])
    subset_cfg["sweep"]["axes"]["x"] = [2.0, 1.0]
    subset_cfg["methods"] = {"toy_big": {"kind": "toy", "scale": 10.0}}
    subset = run_sweep(scenario_from_dict(subset_cfg), quiet=True)
    full_rows = strip_timing(full)
    assert all(r in full_rows for r in strip_timing(subset))


def test_resume_after_kill_matches_an_uninterrupted_run(tmp_path):
    reference = run_sweep(
        scenario_from_dict(
            {"plugins": ["toy_methods"], "seeds": [0, 1, 2], "output": str(tmp_path / "ref"),
             "sweep": {"axes": {"x": [0.0, 1.0, 2.0, 3.0]}}, "methods": {"toy": {"sleep_s": 0.0}}}
        ),
        quiet=True,
    )  # fmt: skip
    out = tmp_path / "killed"
    config = write_toy_toml(tmp_path, out, sleep_s=0.25)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sims.cli", "sweep", str(config), "--quiet"], env=env, cwd=tmp_path
    )
    results = out / "results.csv"
    deadline = time.time() + 120
    while time.time() < deadline:
        if results.exists() and len(read_table(results)[1]) >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = read_table(results)[1]
    assert 3 <= len(partial) < 12, "the kill must land mid-run"

    # The toy's sleep_s is an option, so the resumed config must keep it; faster
    # rows come from the same seeds either way.
    assert main(["sweep", str(config), "--quiet", "--resume"]) == 0
    resumed = read_table(results)[1]
    assert len(resumed) == 12
    assert resumed[: len(partial)] == partial  # nothing written before the kill was touched
    drop = {"seconds"}
    key = lambda rows: sorted(tuple((k, v) for k, v in r.items() if k not in drop) for r in rows)  # noqa: E731
    ref_no_sleep = key(reference)
    assert key(resumed) == ref_no_sleep
    info = json.loads((out / "run.json").read_text())
    assert info["sessions"][0]["status"] == "running"  # killed: never finalised
    assert info["sessions"][1]["rows_written"] == 12 - len(partial)


def test_early_stop_skips_the_rest_of_a_line_and_resume_respects_it(tmp_path):
    rows = run_sweep(scenario_from_dict(early_stop_config(tmp_path / "a")), quiet=True)
    assert sorted({r["snr_db"] for r in rows}, key=float) == ["0.0", "5.0", "10.0"]
    assert len(rows) == 6 and all(r["err_errors"] == "0" for r in rows if r["snr_db"] == "10.0")
    assert rows[0]["note"] == "p=0.30"
    again = run_sweep(scenario_from_dict(early_stop_config(tmp_path / "a")), quiet=True, resume=True)
    assert again == rows
    full = run_sweep(scenario_from_dict(early_stop_config(tmp_path / "b", early_stop=False)), quiet=True)
    assert len(full) == 10
