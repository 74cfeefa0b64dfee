"""`gscsim ber`: the BER method on the sweep engine, configs, one-line errors."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sims.cli import main
from sims.results import read_table
from sims.scenario import load_scenario

SMALL = """
seeds = [3]
device = "cpu"
output = "{out}"

[link]
modulation = "qpsk"
demapping = "maxlog"

[link.code]
kind = "uncoded"
k = 64
n = 64

[link.grid]
num_subcarriers = 16
num_users = 2
num_ofdm_symbols = 4

[sweep.axes]
ebno_db = [0.0, 4.0, 30.0, 40.0]

[methods.ber]
batch_size = 200
max_batches = 3
target_block_errors = 100
"""


def write(tmp_path, text, name="c.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def run_cli(capsys, *args):
    code = main(list(map(str, args)))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_small_sweep_writes_table_plots_and_run_json(tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "ber", write(tmp_path, SMALL.format(out=out)), "--quiet")
    assert code == 0, err
    header, rows = read_table(out / "results.csv")
    assert header[:4] == ["method", "kind", "seed", "ebno_db"]
    for column in ("ber", "ber_ci_low", "ber_ci_high", "ber_errors", "ber_trials", "bler", "snr_db", "seconds"):
        assert column in header
    # 30 dB gives no error in 3 batches: early stop skips 40 dB.
    assert [float(r["ebno_db"]) for r in rows] == [0.0, 4.0, 30.0]
    assert int(rows[-1]["ber_errors"]) == 0 and float(rows[-1]["ber_ci_high"]) > 0
    for r in rows:
        assert float(r["ber_ci_low"]) <= float(r["ber"]) <= float(r["ber_ci_high"])
        assert int(r["ber_trials"]) == int(r["batches"]) * 200 * 2 * 64
        assert int(r["ber_clusters"]) == int(r["batches"]) * 200 * 2
        assert float(r["snr_db"]) == pytest.approx(float(r["ebno_db"]) + 10 * 0.30103, abs=1e-4)
    assert float(rows[0]["ber"]) > float(rows[1]["ber"]) > 0
    assert (out / "plot_ber.png").stat().st_size > 10_000 and (out / "plot_bler.png").exists()
    assert '"config_hash"' in (out / "run.json").read_text()


def test_same_seed_reproduces_the_table(tmp_path, capsys):
    tables = []
    for name in ("a", "b"):
        out = tmp_path / name
        assert run_cli(capsys, "ber", write(tmp_path, SMALL.format(out=out), f"{name}.toml"), "--quiet")[0] == 0
        tables.append([{k: v for k, v in r.items() if k != "seconds"} for r in read_table(out / "results.csv")[1]])
    assert tables[0] == tables[1]


def test_ber_refuses_other_method_kinds(tmp_path, capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    text = SMALL.format(out=tmp_path / "o").replace("ebno_db", "snr_db") + '\n[methods.t]\nkind = "toy_rate"\n'
    text = 'plugins = ["toy_methods"]\n' + text
    code, _, err = run_cli(capsys, "ber", write(tmp_path, text))
    assert code == 2 and "methods.t: `gscsim ber` runs only methods of kind 'ber'" in err


BAD = [
    ('[link]\nmodulaton = "16qam"', "link.modulaton: unknown key"),
    ('[link.grid]\nnum_users = "two"', "link.grid.num_users: Input should be a valid integer"),
    ("[link.grid]\nnum_users = true", "link.grid.num_users: Input should be a valid integer"),
    ("[link.code]\nk = -5", "link.code.k: Input should be greater than 0"),
    ("[link.code]\nk = 1000\nn = 1024", "link.code: code rate k/n = 1000/1024"),
    (
        "[link.grid]\nnum_subcarriers = 16\nnum_users = 2\nsubcarriers_per_user = 12",
        "link.grid: num_users * subcarriers_per_user = 24 exceeds num_subcarriers (16)",
    ),
    ("[link.grid]\nnum_subcarriers = 8\nnum_ofdm_symbols = 1", "link: code.n = 1792 does not fit"),
    ('[link.channel]\nkind = "rician"', "link.channel.kind: Input should be"),
    ("[sweep.axes]\nebno_db = [1.0]\nsnr_db = [2.0]", "methods.ber: needs exactly one sweep axis among"),
    ("[sweep.axes]\ntx_power_dbm = [1.0]", "methods.ber: sweep axis tx_power_dbm needs a [link.budget] table"),
    ("[sweep.axes]\nebno_db = [1.0]\n[methods.ber]\nbatch_size = 0", "methods.ber.batch_size: Input should be greater than 0"),
    (
        "[link.budget]\ndistance_min_m = 500.0\ndistance_max_m = 100.0",
        "link.budget: distance_max_m (100.0) is below",
    ),
    ('device = "tpu"', "device: String should match pattern"),
    ("seeds = ", "invalid TOML"),
]


@pytest.mark.parametrize("text,expected", BAD, ids=[b[1][:30] for b in BAD])
def test_bad_config_is_one_line_naming_the_key(tmp_path, capsys, text, expected):
    out = tmp_path / "never"
    if "[sweep.axes]" not in text:
        text += "\n[sweep.axes]\nebno_db = [1.0]\n"
    path = write(tmp_path, f'output = "{out}"\n' + text)
    code, _, err = run_cli(capsys, "ber", path)
    assert code == 2
    assert err.count("\n") == 1, err
    assert expected in err, err
    assert not out.exists(), "no work may start on a bad config"


def test_missing_file(tmp_path, capsys):
    code, _, err = run_cli(capsys, "ber", tmp_path / "nope.toml")
    assert code == 2 and "no such config file" in err


def test_console_script_help():
    for args in (["--help"], ["ber", "--help"], ["sweep", "--help"], ["plot", "--help"]):
        done = subprocess.run([sys.executable, "-m", "sims.cli", *args], capture_output=True, text=True)
        assert done.returncode == 0 and "usage: gscsim" in done.stdout


def test_shipped_configs_validate(study_data_dir):
    configs = sorted((Path(__file__).parents[2] / "sims" / "configs").glob("*.toml"))
    assert len(configs) >= 5
    for path in configs:
        load_scenario(path)


def test_transmit_power_sweep_through_the_link_budget(tmp_path):
    from sims.engine import run_sweep
    from sims.scenario import scenario_from_dict

    config = {
        "output": str(tmp_path / "lb"),
        "link": {"modulation": "qpsk", "code": {"kind": "uncoded", "k": 128, "n": 128},
                 "grid": {"num_subcarriers": 16, "num_users": 2, "num_ofdm_symbols": 8},
                 "channel": {"kind": "rayleigh_block"}, "budget": {}},
        "sweep": {"axes": {"tx_power_dbm": [0.0, 20.0, 40.0]}},
        "methods": {"ber": {"batch_size": 400, "max_batches": 2, "early_stop": False}},
    }  # fmt: skip
    rows = run_sweep(scenario_from_dict(config), quiet=True)
    ber = [float(r["ber"]) for r in rows]
    assert ber[0] > ber[1] > ber[2] > 0  # more power, fewer errors; users at 150-550 m
    assert all(r["snr_db"] == "nan" for r in rows)  # per-user SNRs, drawn from distances
