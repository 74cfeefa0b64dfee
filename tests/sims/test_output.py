"""The output folder: refuse, resume or back up earlier results (sims.output)."""

import json
import textwrap

import pytest

from sims.cli import main
from sims.config_io import ConfigError
from sims.engine import run_sweep
from sims.results import read_table
from sims.scenario import scenario_from_dict

from .toy_sweeps import (
    toy_config,
)


def test_existing_results_need_resume_or_force(tmp_path):
    cfg = toy_config(tmp_path / "o")
    run_sweep(scenario_from_dict(cfg), quiet=True)
    with pytest.raises(ConfigError, match="--resume"):
        run_sweep(scenario_from_dict(cfg), quiet=True)
    # resume with nothing left to do: same rows, a second session in run.json
    rows = run_sweep(scenario_from_dict(cfg), quiet=True, resume=True)
    assert len(rows) == 24
    info = json.loads((tmp_path / "o" / "run.json").read_text())
    assert [s["status"] for s in info["sessions"]] == ["complete", "complete"]
    assert info["sessions"][1]["rows_written"] == 0
    assert info["sessions"][0]["versions"]["torch"]


def test_changed_config_is_refused_unless_forced(tmp_path, capsys):
    out = tmp_path / "o"
    path = tmp_path / "c.toml"
    path.write_text(
        textwrap.dedent(f"""
        plugins = ["toy_methods"]
        output = "{out}"
        [sweep.axes]
        x = [0.0, 1.0]
        [methods.toy]
        scale = 1.0
        """)
    )
    assert main(["sweep", str(path), "--quiet"]) == 0
    path.write_text(path.read_text().replace("scale = 1.0", "scale = 2.0"))
    capsys.readouterr()
    assert main(["sweep", str(path), "--quiet", "--resume"]) == 2
    err = capsys.readouterr().err
    assert "config changed since the first run" in err and err.count("\n") == 1
    assert main(["sweep", str(path), "--quiet", "--force"]) == 0
    backups = list(out.glob("previous-*/results.csv"))
    assert len(backups) == 1 and len(read_table(backups[0])[1]) == 2
    # value = scale * x * num_users (2 by default) + noise
    assert float(read_table(out / "results.csv")[1][1]["value"]) == pytest.approx(4.0, abs=1.5)
