"""The sweep engine with toy methods: expansion, seeding, schema, resume, Ray."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sims.cli import main
from sims.config_io import ConfigError
from sims.engine import run_sweep
from sims.results import ResultsTable, read_table
from sims.scenario import scenario_from_dict

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


@pytest.fixture(autouse=True)
def toy_plugin(monkeypatch):
    monkeypatch.syspath_prepend(str(HERE))


def toy_config(out, **extra) -> dict:
    config = {
        "plugins": ["toy_methods"],
        "seeds": [0, 1],
        "device": "cpu",
        "output": str(out),
        "sweep": {"axes": {"x": [0.0, 1.0, 2.0], "link.grid.num_users": [1, 2]}},
        "methods": {"toy": {}, "toy_big": {"kind": "toy", "scale": 10.0}},
    }
    config.update(extra)
    return config


def strip_timing(rows):
    return sorted((tuple((k, v) for k, v in r.items() if k != "seconds") for r in rows))


def test_expansion_order_and_point_configs(tmp_path):
    scenario = scenario_from_dict(toy_config(tmp_path))
    tasks = scenario.tasks()
    assert len(tasks) == 3 * 2 * 2 * 2
    assert len({t.key for t in tasks}) == len(tasks)
    # x is innermost within a line (same method, seed, other axes)
    first_line = [t for t in tasks if t.line == tasks[0].line]
    assert [dict(t.axes)["x"] for t in first_line] == [0.0, 1.0, 2.0]
    for t in tasks:
        users = dict(t.axes)["link.grid.num_users"]
        assert scenario.config_for(t.axes).link.grid.num_users == users
    assert scenario.columns()[:5] == ["method", "kind", "seed", "x", "link.grid.num_users"]


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


def test_partial_last_line_is_dropped_and_header_checked(tmp_path):
    path = tmp_path / "results.csv"
    table = ResultsTable(path, ["a", "b"])
    table.append({"a": 1, "b": "x,y"})
    with path.open("ab") as f:
        f.write(b"2,half-writ")  # a crash in the middle of a row
    assert read_table(path)[1] == [{"a": "1", "b": "x,y"}]
    table = ResultsTable(path, ["a", "b"])
    table.append({"a": 3})
    assert path.read_text() == 'a,b\n1,"x,y"\n3,\n'
    with pytest.raises(ValueError, match="columns"):
        ResultsTable(path, ["a", "c"])
    with pytest.raises(ValueError, match="not in the table"):
        table.append({"z": 1})


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


def write_toy_toml(tmp_path, out, sleep_s):
    path = tmp_path / "slow.toml"
    path.write_text(
        textwrap.dedent(f"""
        plugins = ["toy_methods"]
        seeds = [0, 1, 2]
        output = "{out}"
        [sweep.axes]
        x = [0.0, 1.0, 2.0, 3.0]
        [methods.toy]
        sleep_s = {sleep_s}
        """)
    )
    return path


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
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)])}
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


def early_stop_config(out, early_stop=True):
    return {
        "plugins": ["toy_methods"],
        "seeds": [3],
        "output": str(out),
        "sweep": {"axes": {"snr_db": [0.0, 5.0, 10.0, 15.0, 20.0], "link.grid.num_users": [1, 2]}},
        "methods": {"toy_rate": {"early_stop": early_stop}},
    }


def test_early_stop_skips_the_rest_of_a_line_and_resume_respects_it(tmp_path):
    rows = run_sweep(scenario_from_dict(early_stop_config(tmp_path / "a")), quiet=True)
    assert sorted({r["snr_db"] for r in rows}, key=float) == ["0.0", "5.0", "10.0"]
    assert len(rows) == 6 and all(r["err_errors"] == "0" for r in rows if r["snr_db"] == "10.0")
    assert rows[0]["note"] == "p=0.30"
    again = run_sweep(scenario_from_dict(early_stop_config(tmp_path / "a")), quiet=True, resume=True)
    assert again == rows
    full = run_sweep(scenario_from_dict(early_stop_config(tmp_path / "b", early_stop=False)), quiet=True)
    assert len(full) == 10


@pytest.fixture(scope="module")
def ray_two_workers():
    ray = pytest.importorskip("ray", reason="the Ray backend is the optional extra gscsim[ray]")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_backend_gives_the_local_rows(tmp_path, ray_two_workers):
    local = run_sweep(scenario_from_dict(toy_config(tmp_path / "local")), quiet=True)
    remote = run_sweep(scenario_from_dict(toy_config(tmp_path / "ray")), quiet=True, backend="ray")
    assert strip_timing(remote) == strip_timing(local)
    info = json.loads((tmp_path / "ray" / "run.json").read_text())
    assert info["sessions"][0]["backend"] == "ray"
    # Early stopping releases rows in x order, so Ray skips the same rows.
    stop_local = run_sweep(scenario_from_dict(early_stop_config(tmp_path / "sl")), quiet=True)
    stop_ray = run_sweep(scenario_from_dict(early_stop_config(tmp_path / "sr")), quiet=True, backend="ray")
    assert strip_timing(stop_ray) == strip_timing(stop_local)


def test_ray_backend_gives_the_local_ber_rows(tmp_path, ray_two_workers):
    # The real method: coded 16-QAM over i.i.d. Rayleigh, two demappers as an override axis.
    def config(out):
        return {
            "seeds": [0, 1], "output": str(out),
            "link": {"code": {"k": 512, "n": 1024}, "channel": {"kind": "rayleigh_iid"},
                     "grid": {"num_subcarriers": 64, "num_ofdm_symbols": 8, "num_users": 2}},
            "sweep": {"axes": {"ebno_db": [2.0, 6.0, 10.0], "link.demapping": ["app", "maxlog"]}},
            "methods": {"ber": {"batch_size": 16, "max_batches": 2}},
        }  # fmt: skip

    local = run_sweep(scenario_from_dict(config(tmp_path / "local")), quiet=True)
    remote = run_sweep(scenario_from_dict(config(tmp_path / "ray")), quiet=True, backend="ray")
    assert len(local) == 12 and strip_timing(remote) == strip_timing(local)


BAD_SCENARIOS = [
    ({"methods": {"m": {"kind": "nope"}}}, "methods.m: unknown method kind 'nope'"),
    ({"methods": {"toy": {"scal": 1.0}}}, "methods.toy.scal: unknown key"),
    ({"methods": {"toy": {"samples": 0}}}, "methods.toy.samples: Input should be greater than 0"),
    ({"sweep": {"axes": {"ebno_db": [1.0]}}}, "sweep.axes.ebno_db: method 'toy' (toy) does not use this axis"),
    ({"sweep": {"axes": {"link.grid.num_userz": [1]}}}, "link.grid.num_userz: unknown key"),
    ({"sweep": {"axes": {"link.grid.num_users": [1, 0]}}}, "at sweep point link.grid.num_users = 0: link.grid.num_users: Input should be greater than 0"),
    ({"sweep": {"axes": {"seeds": [1]}}}, "does not use this axis"),
    ({"sweep": {"axes": {"device.x": [1]}}}, "only keys under link, source can be swept"),
    ({"sweep": {"axes": {"x": []}}}, "sweep.axes: axis 'x' has no values"),
    ({"sweep": {"axes": {"x": {"start": 2, "stop": 1, "step": 1}}}}, "stop (1.0) is below start (2.0)"),
    ({"seeds": [1, 1]}, "seeds: seeds repeat a value"),
    ({"plugins": ["no_such_module"]}, "plugins: cannot import 'no_such_module'"),
    ({"methods": {}}, "methods: Dictionary should have at least 1 item"),
]


@pytest.mark.parametrize("change,expected", BAD_SCENARIOS, ids=[b[1][:40] for b in BAD_SCENARIOS])
def test_bad_scenarios_fail_before_work_with_one_line(tmp_path, change, expected):
    base = {"plugins": ["toy_methods"], "output": str(tmp_path / "never"), "methods": {"toy": {}}}
    base.update(change)
    with pytest.raises(ConfigError) as err:
        scenario_from_dict(base, "s.toml")
    message = str(err.value)
    assert expected in message and "\n" not in message, message
    assert not (tmp_path / "never").exists()


def test_plot_command_redraws_from_the_table(tmp_path, capsys):
    run_sweep(scenario_from_dict(toy_config(tmp_path / "o")), quiet=True)
    results = tmp_path / "o" / "results.csv"
    for png in (tmp_path / "o").glob("plot_*.png"):
        png.unlink()
    assert main(["plot", str(results), "--metric", "value", "--output", str(tmp_path / "p")]) == 0
    assert (tmp_path / "p" / "plot_value.png").stat().st_size > 10_000
    assert main(["plot", str(results), "--metric", "value", "--x", "link.grid.num_users", "--facet", "x",
                 "--output", str(tmp_path / "q")]) == 0  # fmt: skip
    assert (tmp_path / "q" / "plot_value.png").exists()
    capsys.readouterr()
    assert main(["plot", str(results), "--metric", "psnr"]) == 2
    assert "metric 'psnr' is not in the table" in capsys.readouterr().err


def test_pooling_over_seeds():
    from sims.plotting import pool

    rows = [
        {"v": "1.0", "v_sd": "1.0", "v_n": "4"},
        {"v": "3.0", "v_sd": "1.0", "v_n": "4"},
    ]
    mean, lo, hi = pool(rows, "v", "mean")
    # pooled: 8 samples, mean 2, variance (3*1 + 3*1 + 4*1 + 4*1) / 7 = 2
    from scipy.stats import t

    half = t.ppf(0.975, 7) * (2 / 7 / 8 * 7) ** 0.5
    assert mean == 2.0 and hi - mean == pytest.approx(half)
    rate_rows = [
        {"r": "0.1", "r_errors": "10", "r_trials": "100", "r_clusters": "10", "r_sum_sq": "10"},
        {"r": "0.3", "r_errors": "30", "r_trials": "100", "r_clusters": "10", "r_sum_sq": "90"},
    ]
    est, lo, hi = pool(rate_rows, "r", "rate")
    assert est == pytest.approx(0.2) and lo < 0.2 < hi
